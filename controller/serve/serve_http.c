/*
 * serve_http.c - the HTTP side of `roam serve`: health, readiness, metrics,
 * status, Pub/Sub push and GitHub webhooks.
 *
 * Push (CONTRACTS.md §6): the OIDC token is verified first (401/403 and
 * nothing queued when it fails), then the envelope is decoded (400 when it
 * is malformed), a message id already seen is acknowledged without queueing
 * it again, and the message is dispatched: a Storage notification polls the
 * source, a Cloud Asset IAM change reconciles that one resource, the feed's
 * welcome message is acknowledged, anything else queues a full resync.  The
 * answer is 204 (ack) only once the work is queued.
 */
#include "serve_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/push/push.h"
#include "controller/httpd/webhook.h"
#include "controller/runtime/log.h"

/* ---- metrics ---- */

void serve_metrics_init(struct serve *s)
{
    static const double secs[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    struct serve_metrics *m = &s->m;

    m->reg = metrics_new();
    m->reconciles = metrics_counter(m->reg, "roam_reconciles_total", "Reconcile passes by result",
                                    (const char *[]){"kind", "result", NULL});
    m->duration =
        metrics_histogram(m->reg, "roam_reconcile_duration_seconds", "Duration of reconcile passes",
                          (const char *[]){"kind", NULL}, secs, 13);
    m->api = metrics_counter(m->reg, "roam_api_requests_total",
                             "Google API requests by API, method and HTTP code (0: no answer)",
                             (const char *[]){"api", "method", "code", NULL});
    m->corrections =
        metrics_counter(m->reg, "roam_drift_corrections_total", "IAM bindings added or removed",
                        (const char *[]){"action", NULL});
    m->queue = metrics_gauge(m->reg, "roam_queue_depth", "Work items queued", NULL);
    m->revision = metrics_gauge(m->reg, "roam_source_revision_info", "The source revision in use",
                                (const char *[]){"revision", NULL});
    m->last_sync = metrics_gauge(m->reg, "roam_last_successful_sync_timestamp_seconds",
                                 "Unix time of the last complete full pass", NULL);
    m->ledger = metrics_counter(m->reg, "roam_ledger_writes_total", "Ledger records written", NULL);
    m->push = metrics_counter(m->reg, "roam_push_messages_total",
                              "Pub/Sub push messages by kind and result",
                              (const char *[]){"kind", "result", NULL});
    m->http =
        metrics_counter(m->reg, "roam_http_requests_total", "HTTP requests served by path and code",
                        (const char *[]){"path", "code", NULL});
    m->apps = metrics_gauge(m->reg, "roam_apps", "Apps by status after the last full pass",
                            (const char *[]){"status", NULL});
}

void serve_metrics_pass(struct serve *s, const char *kind, int err, const struct plan *p,
                        const struct rec_stats *st, double seconds)
{
    size_t adds = 0, removes = 0;

    metrics_add(s->m.reconciles, (const char *[]){kind, err == 0 ? "success" : "failure"}, 1);
    metrics_observe(s->m.duration, (const char *[]){kind}, seconds);
    for (size_t i = 0; i < p->n_changes; i++)
        p->changes[i].action == PLAN_ADD ? adds++ : removes++;
    metrics_add(s->m.corrections, (const char *[]){"add"}, (double)adds);
    metrics_add(s->m.corrections, (const char *[]){"remove"}, (double)removes);
    metrics_add(s->m.ledger, NULL, st->ledger_writes);
    if (strcmp(kind, "full") == 0) {
        size_t by[PLAN_APP_STATUS_MAX] = {0};
        for (size_t i = 0; i < p->n_apps; i++)
            by[p->apps[i].status]++;
        for (int i = 0; i < PLAN_APP_STATUS_MAX; i++)
            metrics_set(s->m.apps, (const char *[]){plan_app_status_name(i)}, (double)by[i]);
        if (err == 0)
            metrics_set(s->m.last_sync, NULL, (double)time(NULL));
    }
}

/* Counters that live elsewhere are brought up to date when scraped. */
static void refresh_metrics(struct serve *s)
{
    struct wq_stats ws;
    size_t n;
    const struct gcp_http_counter *c = gcp_http_counters(s->http, &n);

    for (size_t i = 0; i < n; i++) {
        char code[16];
        const char *labels[3] = {c[i].api != NULL ? c[i].api : "other", c[i].method, code};
        double have;

        snprintf(code, sizeof(code), "%ld", c[i].status);
        have = metrics_value(s->m.api, labels);
        if ((double)c[i].count > have)
            metrics_add(s->m.api, labels, (double)c[i].count - have);
    }
    wq_stats(s->wq, &ws);
    metrics_set(s->m.queue, NULL, (double)(ws.queued[WQ_EVENT] + ws.queued[WQ_PERIODIC]));
}

/* ---- simple endpoints ---- */

static void get_healthz(struct httpd_req *req, void *data)
{
    (void)data;
    httpd_respond_text(req, 200, "ok\n");
}

static void get_readyz(struct httpd_req *req, void *data)
{
    struct serve *s = data;
    const char *warn = s->cfg.push_auth_none ? " (push authentication disabled)" : "";
    char *body;

    if (!s->ready) {
        body = xasprintf("not ready: the first sync has not completed%s\n", warn);
        httpd_respond_text(req, 503, body);
    } else {
        body = xasprintf("ready%s\n", warn);
        httpd_respond_text(req, 200, body);
    }
    free(body);
}

static void get_metrics(struct httpd_req *req, void *data)
{
    struct serve *s = data;
    size_t len;
    char *text;

    refresh_metrics(s);
    text = metrics_render(s->m.reg, &len);
    httpd_respond(req, 200, METRICS_CONTENT_TYPE, text, len);
    free(text);
}

static void get_status(struct httpd_req *req, void *data)
{
    struct serve *s = data;
    json_t *root = json_object(), *apps = json_array();
    char *out;

    for (size_t i = 0; i < s->records.n; i++) {
        json_t *st = s->records.apps[i].status != NULL
                         ? json_loads(s->records.apps[i].status, 0, NULL)
                         : NULL;
        if (st != NULL)
            json_array_append_new(apps, st);
    }
    json_object_set_new(root, "ready", json_boolean(s->ready));
    json_object_set_new(root, "source", json_string(s->cfg.source));
    json_object_set_new(root, "revision",
                        s->revision != NULL ? json_string(s->revision) : json_null());
    json_object_set_new(root, "lastSyncTime",
                        s->last_sync_s > 0 ? json_integer(s->last_sync_s) : json_null());
    json_object_set_new(root, "lastError",
                        s->last_error != NULL ? json_string(s->last_error) : json_null());
    json_object_set_new(root, "pushAuthentication",
                        json_string(s->cfg.push_auth_none ? "none" : "oidc"));
    json_object_set_new(root, "apps", apps);
    out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    httpd_respond(req, 200, "application/json", out, out != NULL ? strlen(out) : 0);
    free(out);
    json_decref(root);
}

/* ---- Pub/Sub push ---- */

static bool seen_before(struct serve *s, const char *id)
{
    for (size_t i = 0; i < SERVE_SEEN_IDS; i++)
        if (s->seen[i] != NULL && strcmp(s->seen[i], id) == 0)
            return true;
    free(s->seen[s->seen_next]);
    s->seen[s->seen_next] = xstrdup(id);
    s->seen_next = (s->seen_next + 1) % SERVE_SEEN_IDS;
    return false;
}

static int dispatch(struct serve *s, const struct push_event *ev)
{
    char *key;
    int r;

    switch (ev->kind) {
    case PUSH_WELCOME:
        return 0;
    case PUSH_STORAGE:
        /* Stale or overwrite-side events change nothing a poll would not see. */
        return wq_add(s->wq, "poll", WQ_EVENT);
    case PUSH_ASSET:
        key = xasprintf("res:%s", ev->resource);
        r = wq_add(s->wq, key, WQ_EVENT);
        free(key);
        return r;
    default:
        return wq_add(s->wq, "sync", WQ_EVENT);
    }
}

static void push_accepted(struct serve *s, struct httpd_req *req)
{
    struct push_message msg;
    struct push_event ev;
    struct err_detail ed = {0};
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const char *kind = "invalid";

    if (push_decode(body, len, &msg, &ed) < 0 || push_classify(&msg, &ev, &ed) < 0) {
        char *why = xasprintf("bad push message: %s%s%s\n", ed.path != NULL ? ed.path : "",
                              ed.path != NULL ? ": " : "", ed.msg != NULL ? ed.msg : "");
        metrics_add(s->m.push, (const char *[]){kind, "rejected"}, 1);
        httpd_respond_text(req, 400, why);
        free(why);
        err_detail_release(&ed);
        push_message_release(&msg);
        return;
    }
    kind = push_kind_name(ev.kind);
    if (seen_before(s, msg.message_id)) {
        metrics_add(s->m.push, (const char *[]){kind, "duplicate"}, 1);
        httpd_respond(req, 204, NULL, NULL, 0);
    } else if (dispatch(s, &ev) < 0) {
        /* Not queued: let Pub/Sub redeliver. */
        free(s->seen[(s->seen_next + SERVE_SEEN_IDS - 1) % SERVE_SEEN_IDS]);
        s->seen[(s->seen_next + SERVE_SEEN_IDS - 1) % SERVE_SEEN_IDS] = NULL;
        metrics_add(s->m.push, (const char *[]){kind, "unavailable"}, 1);
        httpd_respond_text(req, 503, "shutting down\n");
    } else {
        metrics_add(s->m.push, (const char *[]){kind, "queued"}, 1);
        log_debug("push %s (%s) queued", msg.message_id, kind);
        httpd_respond(req, 204, NULL, NULL, 0);
    }
    push_event_release(&ev);
    push_message_release(&msg);
    err_detail_release(&ed);
}

struct push_ctx {
    struct serve *s;
    struct httpd_req *req;
};

static void push_verified(void *data, int result, const char *why)
{
    struct push_ctx *c = data;

    if (result == 0) {
        push_accepted(c->s, c->req);
    } else {
        int status = result == ERR_PERM ? 403 : result == ERR_AUTH ? 401 : 503;
        char *body = xasprintf("push rejected: %s\n", why != NULL ? why : err_str(result));
        log_warnx("push from %s rejected: %s", httpd_req_peer(c->req), why != NULL ? why : "");
        metrics_add(c->s->m.push, (const char *[]){"unverified", "rejected"}, 1);
        httpd_respond_text(c->req, status, body);
        free(body);
    }
    free(c);
}

static void post_pubsub(struct httpd_req *req, void *data)
{
    struct serve *s = data;
    struct push_ctx *c;

    if (s->cfg.push_auth_none) {
        push_accepted(s, req);
        return;
    }
    if (s->oidc == NULL) {
        httpd_respond_text(req, 503, "push verification is not configured\n");
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->req = req;
    if (oidc_verify(s->oidc, httpd_req_header(req, "Authorization"), push_verified, c) < 0) {
        free(c);
        httpd_respond_text(req, 503, "shutting down\n");
    }
}

/* ---- GitHub webhook ---- */

static void post_webhook(struct httpd_req *req, void *data)
{
    struct serve *s = data;
    struct webhook_event ev;
    struct err_detail ed = {0};
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const char *secret = s->cfg.webhook_secret;

    if (secret == NULL || secret[0] == '\0') {
        httpd_respond_text(req, 403, "webhooks are not configured (ROAM_WEBHOOK_SECRET)\n");
        return;
    }
    if (webhook_verify(secret, strlen(secret), httpd_req_header(req, "X-Hub-Signature-256"), body,
                       len) < 0) {
        log_warnx("webhook from %s: bad or missing signature", httpd_req_peer(req));
        httpd_respond_text(req, 401, "bad signature\n");
        return;
    }
    if (webhook_decode(httpd_req_header(req, "X-GitHub-Event"), body, len, &ev, &ed) < 0) {
        httpd_respond_text(req, 400, "bad event\n");
        err_detail_release(&ed);
        return;
    }
    if (ev.kind == WEBHOOK_PING) {
        httpd_respond_text(req, 200, "pong\n");
    } else if (ev.kind == WEBHOOK_PUSH && src_kind(s->src) == SRC_GIT) {
        /* A fetch tells whether the tracked ref moved; other refs cost one
         * cheap fetch, which is simpler than matching URLs and ref names. */
        if (wq_add(s->wq, "poll", WQ_EVENT) < 0)
            httpd_respond_text(req, 503, "shutting down\n");
        else
            httpd_respond_text(req, 202, "queued\n");
    } else {
        httpd_respond_text(req, 202, "ignored\n");
    }
    webhook_event_release(&ev);
}

/* ---- wiring ---- */

static void access_log(const struct httpd_access *a, void *data)
{
    struct serve *s = data;
    char code[8];
    const char *path = a->path;

    snprintf(code, sizeof(code), "%d", a->status);
    /* Only the known paths become label values: unknown ones would let
     * any caller create series. */
    if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0 &&
        strcmp(path, "/metrics") != 0 && strcmp(path, "/status") != 0 &&
        strcmp(path, "/pubsub") != 0 && strcmp(path, "/webhook/github") != 0)
        path = "other";
    metrics_add(s->m.http, (const char *[]){path, code}, 1);
    log_debug("%s %s %d %llums", a->method, a->path, a->status, (unsigned long long)a->duration_ms);
}

void serve_http_routes(struct serve *s)
{
    httpd_route(s->httpd, "GET", "/healthz", get_healthz, s);
    httpd_route(s->httpd, "GET", "/readyz", get_readyz, s);
    httpd_route(s->httpd, "GET", "/metrics", get_metrics, s);
    httpd_route(s->httpd, "GET", "/status", get_status, s);
    httpd_route(s->httpd, "POST", "/pubsub", post_pubsub, s);
    httpd_route(s->httpd, "POST", "/webhook/github", post_webhook, s);
}

struct httpd_config serve_httpd_config(struct serve *s)
{
    struct httpd_config c = {0};

    c.log = access_log;
    c.log_data = s;
    return c;
}
