/*
 * http_req.c - the request object of controller/gcp/http: construction,
 * headers and body, the curl easy handle, response accessors; plus the
 * per-(api, method, status) counters and the per-API token buckets (see
 * http.h and http_int.h).
 *
 * Every string a request carries that may hold a secret (the header lines,
 * one of which is the Authorization of an attempt, the body and, for
 * GCP_REQ_SENSITIVE, the response) is wiped before its memory is freed.
 */
#include "http_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

/* -- lists ---------------------------------------------------------------- */

void gcp_reqlist_push(struct req_list *l, struct gcp_req *r, bool front)
{
    assert(r->on == NULL);
    r->on = l;
    if (front) {
        r->prev = NULL;
        r->next = l->first;
        if (l->first != NULL)
            l->first->prev = r;
        else
            l->last = r;
        l->first = r;
    } else {
        r->next = NULL;
        r->prev = l->last;
        if (l->last != NULL)
            l->last->next = r;
        else
            l->first = r;
        l->last = r;
    }
    l->n++;
}

/* Takes the first request off l (written against l itself, so that
 * analysers see the head move before the request is freed). */
struct gcp_req *gcp_reqlist_pop(struct req_list *l)
{
    struct gcp_req *r = l->first;

    if (r == NULL)
        return NULL;
    l->first = r->next;
    if (l->first != NULL)
        l->first->prev = NULL;
    else
        l->last = NULL;
    l->n--;
    r->prev = r->next = NULL;
    r->on = NULL;
    return r;
}

void gcp_reqlist_remove(struct gcp_req *r)
{
    struct req_list *l = r->on;

    if (l == NULL)
        return;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        l->first = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        l->last = r->prev;
    r->prev = r->next = NULL;
    r->on = NULL;
    l->n--;
}

/* -- requests ------------------------------------------------------------- */

static bool header_text_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

struct gcp_req *gcp_req_new(const char *api, const char *method, const char *url, unsigned flags)
{
    struct gcp_req *r = xcalloc(1, sizeof(*r));

    r->api = xstrdup(api != NULL ? api : "other");
    r->method = xstrdup(method != NULL ? method : "");
    r->url = xstrdup(url != NULL ? url : "");
    r->flags = flags;
    buf_init(&r->resp, CAP_RESPONSE_BYTES);
    gerr_init(&r->gerr);
    return r;
}

void gcp_req_add_header(struct gcp_req *r, const char *name, const char *value)
{
    char *line;
    struct curl_slist *l;

    if (name[0] == '\0' || strchr(name, ':') != NULL || !header_text_ok(name) ||
        !header_text_ok(value)) {
        r->invalid = true;
        return;
    }
    line = xasprintf("%s: %s", name, value);
    l = curl_slist_append(r->headers, line);
    free(line);
    if (l == NULL) {
        r->invalid = true;
        return;
    }
    r->headers = l;
}

void gcp_req_set_body(struct gcp_req *r, const char *content_type, const void *body, size_t len)
{
    if (r->body != NULL) {
        OPENSSL_cleanse(r->body, r->body_len);
        free(r->body);
    }
    r->body = xmalloc(len + 1);
    if (len > 0)
        memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    r->has_body = true;
    if (content_type != NULL)
        gcp_req_add_header(r, "Content-Type", content_type);
}

void gcp_req_set_timeouts(struct gcp_req *r, long connect_timeout_ms, long timeout_ms)
{
    r->connect_timeout_ms = connect_timeout_ms;
    r->timeout_ms = timeout_ms;
}

void gcp_req_set_retry(struct gcp_req *r, const struct backoff_policy *policy)
{
    r->retry = *policy;
    r->has_retry = true;
}

/* Wipes every header line (one of them carries the token) and frees them. */
void gcp_req_wipe_headers(struct curl_slist **l)
{
    for (struct curl_slist *p = *l; p != NULL; p = p->next)
        OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(*l);
    *l = NULL;
}

void gcp_req_release_response(struct gcp_req *r)
{
    if ((r->flags & GCP_REQ_SENSITIVE) != 0 && r->resp.p != NULL)
        OPENSSL_cleanse(r->resp.p, r->resp.cap);
    buf_release(&r->resp);
}

void gcp_req_free(struct gcp_req *r)
{
    if (r == NULL)
        return;
    assert(r->on == NULL);
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    gcp_req_wipe_headers(&r->headers);
    gcp_req_wipe_headers(&r->sent);
    if (r->body != NULL) {
        OPENSSL_cleanse(r->body, r->body_len);
        free(r->body);
    }
    gcp_req_release_response(r);
    gerr_release(&r->gerr);
    free(r->errmsg);
    free(r->api);
    free(r->method);
    free(r->url);
    free(r);
}

const char *gcp_req_header(struct gcp_req *r, const char *name)
{
    struct curl_header *hh;

    if (r->easy == NULL)
        return NULL;
    if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
        return NULL;
    return hh->value;
}

const struct gerr *gcp_req_gerr(const struct gcp_req *r)
{
    return r->has_gerr ? &r->gerr : NULL;
}

const char *gcp_req_errmsg(const struct gcp_req *r)
{
    return r->errmsg;
}

unsigned gcp_req_attempts(const struct gcp_req *r)
{
    return r->attempts;
}

const char *gcp_req_url(const struct gcp_req *r)
{
    return r->url;
}

const char *gcp_req_method(const struct gcp_req *r)
{
    return r->method;
}

bool gcp_req_valid(const struct gcp_req *r)
{
    if (r->invalid || r->method[0] == '\0' ||
        strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method))
        return false;
    if (!str_has_prefix(r->url, "http://") && !str_has_prefix(r->url, "https://"))
        return false;
    return header_text_ok(r->url) && strpbrk(r->url, " \t") == NULL;
}

/* -- the easy handle ------------------------------------------------------- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct gcp_req *r = userdata;
    size_t n = size * nmemb;

    if (buf_append(&r->resp, ptr, n) < 0) {
        r->too_big = true;
        return 0;
    }
    return n;
}

static int setup_method(struct gcp_req *r)
{
    CURL *e = r->easy;
    int bad = 0;

    if (strcmp(r->method, "GET") == 0 && !r->has_body)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    if (strcmp(r->method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
    if (r->has_body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
        strcmp(r->method, "PATCH") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "") != CURLE_OK;
        bad |=
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) != CURLE_OK;
    }
    if (strcmp(r->method, "POST") != 0)
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method) != CURLE_OK;
    return bad;
}

int gcp_req_setup_easy(struct gcp_req *r)
{
    struct gcp_http *h = r->h;
    CURL *e;
    long cto = r->connect_timeout_ms > 0 ? r->connect_timeout_ms : h->cfg.connect_timeout_ms;
    long to = r->timeout_ms > 0 ? r->timeout_ms : h->cfg.timeout_ms;
    int bad = 0;

    e = curl_easy_init();
    if (e == NULL)
        return ERR_IO;
    r->easy = e;
    bad |= curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->resp.max) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    /* On a reused connection that dies before any answer, curl silently
     * sends the request again.  Only idempotent requests may be resent, so
     * the others get a connection of their own. */
    if ((r->flags & GCP_REQ_IDEMPOTENT) == 0)
        bad |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK;
    bad |= setup_method(r);
    if (bad) {
        curl_easy_cleanup(e);
        r->easy = NULL;
        return ERR_INVAL;
    }
    return 0;
}

/* -- counters --------------------------------------------------------------- */

void gcp_http_count_attempt(struct gcp_http *h, const struct gcp_req *r, long status)
{
    struct gcp_http_counter *c;

    for (size_t i = 0; i < h->ncounters; i++) {
        c = &h->counters[i];
        if (c->status == status && strcmp(c->api, r->api) == 0 &&
            strcmp(c->method, r->method) == 0) {
            c->count++;
            return;
        }
    }
    XGROW(h->counters, h->ncounters + 1, h->capcounters);
    c = &h->counters[h->ncounters++];
    c->api = xstrdup(r->api);
    c->method = xstrdup(r->method);
    c->status = status;
    c->count = 1;
}

const struct gcp_http_counter *gcp_http_counters(const struct gcp_http *h, size_t *ret_n)
{
    *ret_n = h->ncounters;
    return h->counters;
}

uint64_t gcp_http_count(const struct gcp_http *h, const char *api, const char *method, long status)
{
    for (size_t i = 0; i < h->ncounters; i++) {
        const struct gcp_http_counter *c = &h->counters[i];

        if (c->status == status && strcmp(c->api, api) == 0 && strcmp(c->method, method) == 0)
            return c->count;
    }
    return 0;
}

void gcp_http_stats(const struct gcp_http *h, struct gcp_http_stats *ret)
{
    *ret = h->stats;
    ret->inflight = h->running.n;
    ret->queued = h->queue.n;
    ret->waiting_auth = h->auth_wait.n;
}

/* -- rate limits ------------------------------------------------------------ */

struct limiter *gcp_limiter_find(struct gcp_http *h, const char *api, bool create)
{
    struct limiter *l;

    for (l = h->limiters; l != NULL; l = l->next)
        if (strcmp(l->api, api) == 0)
            return l;
    if (!create)
        return NULL;
    l = xcalloc(1, sizeof(*l));
    l->api = xstrdup(api);
    l->rate = h->cfg.qps;
    l->burst = h->cfg.qps_burst;
    l->tokens = l->burst;
    l->last_ms = uv_now(h->loop);
    l->next = h->limiters;
    h->limiters = l;
    return l;
}

void gcp_http_set_qps(struct gcp_http *h, const char *api, double qps, unsigned burst)
{
    struct limiter *l = gcp_limiter_find(h, api, true);

    l->rate = qps > 0 ? qps : 0;
    l->burst = burst > 0 ? burst : 1;
    l->tokens = l->burst;
    l->last_ms = uv_now(h->loop);
}

/* Takes a token, or tells (in *ret_when) when one will be there. */
bool gcp_limiter_take(struct limiter *l, uint64_t now, uint64_t *ret_when)
{
    double need;

    if (l->rate <= 0)
        return true;
    if (now > l->last_ms) {
        l->tokens += (double)(now - l->last_ms) * l->rate / 1000.0;
        if (l->tokens > l->burst)
            l->tokens = l->burst;
        l->last_ms = now;
    }
    if (l->tokens >= 1.0) {
        l->tokens -= 1.0;
        return true;
    }
    need = (1.0 - l->tokens) * 1000.0 / l->rate;
    *ret_when = now + (uint64_t)need + 1;
    return false;
}

void gcp_http_free_tables(struct gcp_http *h)
{
    while (h->limiters != NULL) {
        struct limiter *l = h->limiters;

        h->limiters = l->next;
        free(l->api);
        free(l);
    }
    for (size_t i = 0; i < h->ncounters; i++) {
        free(h->counters[i].api);
        free(h->counters[i].method);
    }
    free(h->counters);
    h->counters = NULL;
    h->ncounters = h->capcounters = 0;
}
