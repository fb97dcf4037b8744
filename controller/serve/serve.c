/*
 * serve.c - the controller of `roam serve` (see serve.h): setup, timers,
 * the work queue's handlers, the pass chain and shutdown.
 *
 * A queue key runs as a chain of callbacks: (sync, poll) read the source ->
 * (sync, res:) load the ledger -> reconcile pass -> record the outcome ->
 * wq_done.  The docset is replaced only after a successful source read, so
 * a failing Git server or bucket never looks like a source without apps.
 */
#include "serve_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/reconcile/load.h"
#include "controller/runtime/log.h"

#define SHUTDOWN_DEADLINE_MS 9000

static void start_pass(struct serve *s);

/* ---- timers ---- */

/* period +- 10 %, so that many instances do not resync in step. */
static uint64_t jittered(uint64_t period)
{
    uint64_t spread = period / 5;

    return spread == 0 ? period : period - period / 10 + (uint64_t)rand() % (spread + 1);
}

static void on_resync(uv_timer_t *t)
{
    struct serve *s = t->data;

    wq_add(s->wq, "sync", WQ_PERIODIC);
    uv_timer_start(&s->resync, on_resync, jittered(s->cfg.resync_ms), 0);
}

static void on_poll(uv_timer_t *t)
{
    struct serve *s = t->data;

    wq_add(s->wq, "poll", WQ_PERIODIC);
}

/* ---- the pass chain ---- */

static void item_done(struct serve *s, int err)
{
    struct wq_item *it = s->item;
    uint64_t retry;

    s->item = NULL;
    free(s->target);
    s->target = NULL;
    ledger_release(&s->ledger);
    ledger_init(&s->ledger);
    retry = wq_done(s->wq, it, err);
    if (err < 0 && retry > 0)
        log_info("will retry in %llus", (unsigned long long)((retry + 999) / 1000));
}

/* Keeps the last record (and status) of each app the pass wrote. */
static void keep_records(struct serve *s, const struct ledger *written, bool full)
{
    if (full) {
        /* A full pass saw every app: apps it did not write are gone. */
        ledger_release(&s->records);
        ledger_init(&s->records);
    }
    for (size_t i = 0; i < written->n; i++) {
        struct ledger_app *slot = ledger_app_get(&s->records, written->apps[i].app);
        char *name = slot->app;

        slot->app = NULL;
        ledger_app_release(slot);
        ledger_app_copy(slot, &written->apps[i]);
        free(name);
    }
}

static size_t count_action(const struct plan *p, enum plan_action a)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_changes; i++)
        n += p->changes[i].action == a;
    return n;
}

static int pass_result(const struct plan *p, const struct err_list *errs)
{
    if (errs->n > 0)
        return ERR_IO;
    for (size_t i = 0; i < p->n_apps; i++)
        if (p->apps[i].status == PLAN_APP_FAILED)
            return ERR_TRANSIENT; /* retried with backoff */
    return 0;
}

static void pass_done(struct rec *r, void *data)
{
    struct serve *s = data;
    struct plan *p = rec_plan(r);
    const struct rec_stats *st = rec_stats(r);
    const char *kind = s->target != NULL ? "resource" : "full";
    double secs = (double)(uv_now(&s->loop) - s->started_ms) / 1000.0;
    int err = pass_result(p, rec_errors(r));

    for (size_t i = 0; i < p->n_apps; i++)
        for (size_t j = 0; j < p->apps[i].errs.n; j++) {
            char *e = err_detail_format(&p->apps[i].errs.v[j]);
            log_warnx("app '%s' %s: %s", p->apps[i].name, plan_app_status_name(p->apps[i].status),
                      e);
            free(e);
        }
    log_info("%s pass at %s: %zu added, %zu removed, %u policy reads, %u writes, %u conflicts, "
             "%.3fs",
             kind, s->revision != NULL ? s->revision : "-", count_action(p, PLAN_ADD),
             count_action(p, PLAN_REMOVE), st->policy_reads, st->policy_writes, st->conflicts,
             secs);
    keep_records(s, rec_records(r), s->target == NULL);
    serve_metrics_pass(s, kind, err, p, st, secs);
    if (s->target == NULL && rec_errors(r)->n == 0) {
        s->ready = true;
        s->last_sync_s = (int64_t)time(NULL);
        free(s->last_error);
        s->last_error = NULL;
    }
    rec_free(r);
    s->rec = NULL;
    item_done(s, err);
}

static void ledger_loaded(struct lstore *store, int err, const char *errmsg, struct ledger *l,
                          void *data)
{
    struct serve *s = data;
    struct plan_request req = {0};
    struct rec_opts ro = {.write = true, .store = store, .only_resource = s->target};

    if (err < 0) {
        log_warnx("cannot read the ledger at '%s': %s, will retry", lstore_url(store),
                  errmsg != NULL ? errmsg : err_str(err));
        free(s->last_error);
        s->last_error = xstrdup(errmsg != NULL ? errmsg : err_str(err));
        item_done(s, err);
        return;
    }
    s->ledger = *l;
    ledger_init(l);
    req.source = s->cfg.source;
    req.revision = s->revision;
    req.docs = &s->docs;
    req.defs = &s->cfg.defs;
    req.ledger = &s->ledger;
    req.guard = s->cfg.guard;
    s->started_ms = uv_now(&s->loop);
    if (rec_run(&s->loop, &s->api, &req, &ro, pass_done, s, &s->rec) < 0) {
        log_warnx("cannot start a pass");
        item_done(s, ERR_IO);
    }
}

static void start_pass(struct serve *s)
{
    if (!s->have_docs) {
        /* Nothing read yet: a targeted pass needs the documents first. */
        wq_add(s->wq, "sync", WQ_EVENT);
        item_done(s, 0);
        return;
    }
    if (lstore_load(s->store, ledger_loaded, s) < 0) {
        log_warnx("cannot read the ledger at '%s'", lstore_url(s->store));
        item_done(s, ERR_IO);
    }
}

/* Parses a new snapshot into the docset the passes use. */
static void take_snapshot(struct serve *s, const struct src_snapshot *snap)
{
    oam_docset_release(&s->docs);
    oam_docset_init(&s->docs);
    load_snapshot(snap, &s->docs);
    for (size_t i = 0; i < s->docs.errs.n; i++) {
        char *e = err_detail_format(&s->docs.errs.v[i]);
        log_warnx("%s (the read is partial: no app counts as deleted)", e);
        free(e);
    }
    free(s->revision);
    s->revision = xstrdup_or_null(snap->revision);
    s->have_docs = true;
    metrics_set(s->m.revision, (const char *[]){s->revision != NULL ? s->revision : "-"}, 1);
}

static void source_read(struct src *src, int err, const char *errmsg,
                        const struct src_snapshot *snap, bool changed, void *data)
{
    struct serve *s = data;
    bool sync = strcmp(wq_item_key(s->item), "sync") == 0;

    if (err < 0) {
        log_warnx("cannot read source '%s': %s; keeping revision %s, will retry", src_url(src),
                  errmsg != NULL ? errmsg : err_str(err), s->revision != NULL ? s->revision : "-");
        free(s->last_error);
        s->last_error = xstrdup(errmsg != NULL ? errmsg : err_str(err));
        item_done(s, err);
        return;
    }
    if (changed || !s->have_docs) {
        log_info("source '%s' at revision %s", src_url(src),
                 snap != NULL && snap->revision != NULL ? snap->revision : "-");
        take_snapshot(s, snap);
        if (!sync)
            wq_add(s->wq, "sync", WQ_EVENT);
    }
    if (sync)
        start_pass(s);
    else
        item_done(s, 0);
}

static void handle(struct wq *q, const char *key, void *data, struct wq_item *it)
{
    struct serve *s = data;

    (void)q;
    s->item = it;
    if (s->stopping) {
        item_done(s, ERR_CANCELLED);
    } else if (strcmp(key, "sync") == 0 || strcmp(key, "poll") == 0) {
        if (src_read(s->src, source_read, s) < 0)
            item_done(s, ERR_IO);
    } else if (str_has_prefix(key, "res:")) {
        s->target = xstrdup(key + 4);
        start_pass(s);
    } else {
        item_done(s, 0);
    }
}

/* ---- shutdown ---- */

static void closed_handle(uv_handle_t *h)
{
    (void)h;
}

static void http_closed(struct gcp_http *h, void *data)
{
    (void)h;
    (void)data;
}

static void wq_closed(void *data)
{
    struct serve *s = data;

    s->wq = NULL;
    /* Nothing runs any more: release what the loop still holds. */
    oidc_free(s->oidc);
    s->oidc = NULL;
    gapi_release(&s->api);
    gcp_http_close(s->http, http_closed, NULL);
    uv_close((uv_handle_t *)&s->deadline, closed_handle);
    log_info("stopped");
}

static void httpd_closed(struct httpd *h, void *data)
{
    struct serve *s = data;

    (void)h;
    s->httpd = NULL;
    wq_close(s->wq, wq_closed, s);
}

static void on_deadline(uv_timer_t *t)
{
    struct serve *s = t->data;

    /* The pass in flight did not end in time.  Its IAM writes are atomic
     * and its intent records are written: abandoning it loses nothing. */
    log_warnx("shutdown deadline reached, abandoning the pass in flight");
    fflush(stdout);
    fflush(stderr);
    exit(s->exit_code);
}

static void stop(struct serve *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    log_info("%s: stopping intake, finishing the work in flight", why);
    uv_timer_stop(&s->resync);
    uv_timer_stop(&s->poll);
    uv_close((uv_handle_t *)&s->resync, closed_handle);
    uv_close((uv_handle_t *)&s->poll, closed_handle);
    uv_close((uv_handle_t *)&s->sigterm, closed_handle);
    uv_close((uv_handle_t *)&s->sigint, closed_handle);
    uv_timer_start(&s->deadline, on_deadline, SHUTDOWN_DEADLINE_MS, 0);
    uv_unref((uv_handle_t *)&s->deadline);
    httpd_close(s->httpd, httpd_closed, s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    stop(h->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- setup ---- */

static int setup_clients(struct serve *s)
{
    struct gcp_http_config hc = {0};
    struct src_env env = {&s->loop, NULL, NULL};
    struct oidc_config oc = {0};
    char *msg = NULL;

    hc.max_inflight = s->cfg.max_inflight;
    hc.qps = s->cfg.qps;
    hc.qps_burst = s->cfg.qps > 0 ? (unsigned)s->cfg.qps : 1;
    if (gcp_http_new(&s->loop, &hc, &s->http) < 0)
        return -1;
    if (gcp_auth_new(s->http, NULL, &s->auth, &msg) < 0) {
        log_warnx("%s", msg != NULL ? msg : "no credentials");
        free(msg);
        return -1;
    }
    gcp_http_set_auth(s->http, s->auth);
    gapi_init(&s->api, s->http);
    env.http = s->http;
    if (src_open(s->cfg.source, &env, &s->src, &msg) < 0 ||
        lstore_open(s->cfg.state, &s->loop, s->http, &s->store, &msg) < 0) {
        log_warnx("%s", msg != NULL ? msg : "bad source or state");
        free(msg);
        return -1;
    }
    if (s->cfg.push_auth_none) {
        log_warnx("push authentication is DISABLED (--push-auth none): any caller can trigger "
                  "reconciles through /pubsub; use this only with a local emulator");
    } else if (oidc_config_from_env(&oc) < 0 || oidc_new(s->http, &oc, &s->oidc) < 0) {
        log_warnx("push verification needs ROAM_PUSH_AUDIENCE and ROAM_PUSH_SERVICE_ACCOUNT "
                  "(or --push-auth none for a local emulator): /pubsub will answer 503");
    }
    return 0;
}

static int setup(struct serve *s)
{
    struct wq_config qc = {.workers = 1};

    if (setup_clients(s) < 0)
        return -1;
    if (wq_new(&s->loop, &qc, handle, s, &s->wq) < 0)
        return -1;
    serve_metrics_init(s);
    {
        struct httpd_config hc = serve_httpd_config(s);
        s->httpd = httpd_new(&s->loop, &hc);
    }
    serve_http_routes(s);
    if (httpd_listen(s->httpd, s->cfg.listen) < 0) {
        log_warnx("cannot listen on '%s'", s->cfg.listen != NULL ? s->cfg.listen : ":$PORT");
        return -1;
    }
    log_info("listening on port %d; source '%s', state '%s', resync %llus, poll %llus",
             httpd_port(s->httpd), s->cfg.source, s->cfg.state,
             (unsigned long long)(s->cfg.resync_ms / 1000),
             (unsigned long long)(s->cfg.poll_ms / 1000));
    uv_timer_init(&s->loop, &s->resync);
    uv_timer_init(&s->loop, &s->poll);
    uv_timer_init(&s->loop, &s->deadline);
    s->resync.data = s->poll.data = s->deadline.data = s;
    uv_timer_start(&s->resync, on_resync, jittered(s->cfg.resync_ms), 0);
    uv_timer_start(&s->poll, on_poll, s->cfg.poll_ms, s->cfg.poll_ms);
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    wq_add(s->wq, "sync", WQ_EVENT); /* the first sync makes /readyz ready */
    return 0;
}

/* Tears down what setup built when it failed part-way (nothing runs). */
static void teardown_failed(struct serve *s)
{
    if (s->httpd != NULL)
        httpd_close(s->httpd, NULL, NULL);
    if (s->wq != NULL)
        wq_close(s->wq, NULL, NULL);
    oidc_free(s->oidc);
    if (s->http != NULL) {
        gapi_release(&s->api);
        gcp_http_close(s->http, http_closed, NULL);
    }
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

static void release(struct serve *s)
{
    lstore_close(s->store);
    src_close(s->src);
    gcp_auth_free(s->auth);
    metrics_free(s->m.reg);
    oam_docset_release(&s->docs);
    ledger_release(&s->records);
    ledger_release(&s->ledger);
    free(s->revision);
    free(s->last_error);
    for (size_t i = 0; i < SERVE_SEEN_IDS; i++)
        free(s->seen[i]);
    if (uv_loop_close(&s->loop) != 0)
        log_warnx("event loop closed with handles still open");
}

int serve_run(const struct serve_config *cfg)
{
    struct serve *s = xcalloc(1, sizeof(*s));
    int rc;

    s->cfg = *cfg;
    if (s->cfg.resync_ms == 0)
        s->cfg.resync_ms = 600000;
    if (s->cfg.poll_ms == 0)
        s->cfg.poll_ms = 60000;
    oam_docset_init(&s->docs);
    ledger_init(&s->records);
    ledger_init(&s->ledger);
    uv_loop_init(&s->loop);
    if (setup(s) < 0) {
        teardown_failed(s);
        rc = 1;
    } else {
        uv_run(&s->loop, UV_RUN_DEFAULT);
        rc = s->exit_code;
    }
    release(s);
    free(s);
    return rc;
}
