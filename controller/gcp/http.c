/*
 * http.c - libcurl multi on the libuv loop, with a queue, rate limits,
 * retries and tokens in front (see http.h).
 *
 * Life of a request:
 *
 *   submit -> queue --(slot free, not_before passed, rate token, token
 *   fresh)--> running (in curl) --> done: 2xx or final error -> callback
 *                                       \-> retry: queue with not_before
 *   queue --(no fresh token)--> auth_wait --(refresh done)--> queue front
 *
 * dispatch() is the only place requests leave the queue.  It runs from loop
 * callbacks only (the wake timer, curl completions, token completions),
 * never from gcp_http_submit(), so a callback is never called from within
 * the call that submitted its request.  A dispatch that would start while
 * one is running (a callback submitting more work) just asks the running
 * one to go round again.
 *
 * Curl is never re-entered from its own callbacks: the socket and timer
 * callbacks only arm uv handles, and completions are read after
 * curl_multi_socket_action() returns (check_multi_info).  gcp_http_close()
 * may run from a request callback inside check_multi_info, which therefore
 * stops as soon as `closing` is set.  h itself is freed only from the last
 * uv close callback, when no frame of ours can still be on the stack.
 *
 * The request object (its easy handle, headers, body, accessors), the
 * counters and the rate buckets live in http_req.c; the structs both files
 * see are in http_int.h.
 */
#include "http.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/http_int.h"

#define DEFAULT_MAX_INFLIGHT 16u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 60000L

static void dispatch(struct gcp_http *h);

/* The URL without its query, for messages. */
static char *url_for_message(const char *url)
{
    return xstrndup(url, strcspn(url, "?#"));
}

/* -- completion -------------------------------------------------------------- */

/* Runs the callback and frees the request; msg (taken) explains a failure. */
static void complete(struct gcp_req *r, int err, long status, char *msg)
{
    struct gcp_http *h = r->h;

    gcp_reqlist_remove(r);
    free(r->errmsg);
    r->errmsg = msg;
    if (err < 0 && r->errmsg == NULL)
        r->errmsg = xstrdup(err_str(err));
    h->stats.completed++;
    r->cb(r, err, status, &r->resp, r->data);
    gcp_req_free(r);
}

static void complete_cancelled(struct gcp_req *r)
{
    char *u = url_for_message(r->url);
    char *msg = xasprintf("cannot %s '%s': cancelled", r->method, u);

    free(u);
    complete(r, ERR_CANCELLED, 0, msg);
}

/* Schedules another attempt after the backoff; ERR_LIMIT when the budget
 * is spent. */
static int retry_later(struct gcp_req *r, uint64_t min_ms)
{
    struct gcp_http *h = r->h;
    uint64_t delay;
    int err;

    if (h->closing)
        return ERR_CANCELLED;
    err = backoff_next(&r->bo, min_ms, &delay);
    if (err < 0)
        return err;
    uv_update_time(h->loop);
    r->not_before = uv_now(h->loop) + delay;
    h->stats.retries++;
    gcp_reqlist_push(&h->queue, r, true);
    return 0;
}

static bool curl_retryable(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static char *attempts_note(const struct gcp_req *r)
{
    if (r->attempts <= 1)
        return xstrdup("");
    return xasprintf(", gave up after %u attempts", r->attempts);
}

static void transport_failed(struct gcp_req *r, CURLcode res)
{
    char *u, *note, *msg;
    int err;

    if (r->too_big || res == CURLE_FILESIZE_EXCEEDED) {
        u = url_for_message(r->url);
        msg =
            xasprintf("cannot %s '%s': response larger than %zu bytes", r->method, u, r->resp.max);
        free(u);
        complete(r, ERR_LIMIT, 0, msg);
        return;
    }
    if (curl_retryable(res) && (r->flags & GCP_REQ_IDEMPOTENT) != 0 && retry_later(r, 0) == 0)
        return;
    err = curl_retryable(res) ? ERR_TRANSIENT : ERR_IO;
    u = url_for_message(r->url);
    note = attempts_note(r);
    msg = xasprintf("cannot %s '%s': %s%s", r->method, u,
                    r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(res), note);
    free(note);
    free(u);
    complete(r, err, 0, msg);
}

/* The largest server-requested delay: Retry-After or RetryInfo. */
static uint64_t server_delay(struct gcp_req *r)
{
    long long ms = 0, ra;

    if (r->gerr.retry_delay_ms > 0)
        ms = r->gerr.retry_delay_ms;
    if (gerr_parse_retry_after(gcp_req_header(r, "Retry-After"), &ra) == 0 && ra > ms)
        ms = ra;
    return (uint64_t)ms;
}

static void answered(struct gcp_req *r, long status)
{
    struct gcp_http *h = r->h;
    char *u, *what, *note, *msg;

    if (status >= 200 && status <= 299) {
        complete(r, 0, status, NULL);
        return;
    }
    if (status == 401 && r->sent_auth && !r->auth_retried && h->auth != NULL && !h->closing) {
        /* Refused before being acted on: safe to resend with a new token. */
        r->auth_retried = true;
        gcp_auth_invalidate(h->auth, r->token_gen);
        h->stats.retries++;
        r->not_before = 0;
        gcp_reqlist_push(&h->queue, r, true);
        return;
    }
    gerr_decode(status, r->resp.p, r->resp.len, &r->gerr);
    r->has_gerr = true;
    if (r->gerr.retryable && (r->flags & GCP_REQ_IDEMPOTENT) != 0 &&
        retry_later(r, server_delay(r)) == 0)
        return;
    u = url_for_message(r->url);
    what = gerr_format(&r->gerr, r->method, u, true);
    note = attempts_note(r);
    msg = xasprintf("%s%s", what, note);
    free(note);
    free(what);
    free(u);
    complete(r, r->gerr.code, status, msg);
}

static void transfer_done(struct gcp_req *r, CURLcode res)
{
    struct gcp_http *h = r->h;
    long status = 0, conns = 0;

    gcp_reqlist_remove(r);
    curl_multi_remove_handle(h->multi, r->easy);
    gcp_req_wipe_headers(&r->sent);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK && conns > 0)
        h->stats.connects += (uint64_t)conns;
    gcp_http_count_attempt(h, r, res == CURLE_OK ? status : 0);
    if (res != CURLE_OK)
        transport_failed(r, res);
    else
        answered(r, status);
}

static void check_multi_info(struct gcp_http *h)
{
    CURLMsg *msg;
    int pending;

    while (!h->closing) {
        char *priv = NULL;
        CURLcode res;

        msg = curl_multi_info_read(h->multi, &pending);
        if (msg == NULL)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        res = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv != NULL)
            transfer_done((struct gcp_req *)priv, res);
    }
    if (!h->closing)
        dispatch(h);
}

/* -- attempts ----------------------------------------------------------------- */

static bool needs_auth(const struct gcp_req *r)
{
    return (r->flags & GCP_REQ_NO_AUTH) == 0 && r->h->auth != NULL;
}

/* This attempt's header list: the caller's, Authorization, quota project. */
static int build_headers(struct gcp_req *r)
{
    struct gcp_http *h = r->h;
    struct curl_slist *l = NULL, *n;
    char *line;
    const char *qp;

    for (const struct curl_slist *p = r->headers; p != NULL; p = p->next) {
        n = curl_slist_append(l, p->data);
        if (n == NULL)
            goto out_wipe_list;
        l = n;
    }
    /* No "Expect: 100-continue" round trip before bodies. */
    n = curl_slist_append(l, "Expect:");
    if (n == NULL)
        goto out_wipe_list;
    l = n;
    r->sent_auth = false;
    if (needs_auth(r)) {
        const char *tok = gcp_auth_token(h->auth);

        if (tok == NULL)
            goto out_wipe_list;
        line = xasprintf("Authorization: Bearer %s", tok);
        n = curl_slist_append(l, line);
        OPENSSL_cleanse(line, strlen(line));
        free(line);
        if (n == NULL)
            goto out_wipe_list;
        l = n;
        r->token_gen = gcp_auth_generation(h->auth);
        r->sent_auth = true;
        qp = gcp_auth_quota_project(h->auth);
        if (qp != NULL) {
            line = xasprintf("x-goog-user-project: %s", qp);
            n = curl_slist_append(l, line);
            free(line);
            if (n == NULL)
                goto out_wipe_list;
            l = n;
        }
    }
    r->sent = l;
    return 0;
out_wipe_list:
    gcp_req_wipe_headers(&l);
    return ERR_IO;
}

static int start_attempt(struct gcp_req *r)
{
    struct gcp_http *h = r->h;
    int err;

    /* The easy handle (about 5 KiB in curl) is made when the request first
     * leaves the queue, so that thousands of queued requests cost little. */
    if (r->easy == NULL) {
        err = gcp_req_setup_easy(r);
        if (err < 0)
            return err;
    }
    err = build_headers(r);
    if (err < 0)
        return err;
    gcp_req_release_response(r);
    gerr_release(&r->gerr);
    r->has_gerr = false;
    r->too_big = false;
    r->errbuf[0] = '\0';
    if (curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->sent) != CURLE_OK ||
        curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
        gcp_req_wipe_headers(&r->sent);
        return ERR_IO;
    }
    /* The retry budget runs from the first attempt, not from submission:
     * time spent queued behind max_inflight or a rate limit is not a retry. */
    if (r->attempts == 0)
        backoff_reset(&r->bo);
    r->attempts++;
    h->stats.attempts++;
    gcp_reqlist_push(&h->running, r, false);
    if (h->running.n > h->stats.max_inflight_seen)
        h->stats.max_inflight_seen = h->running.n;
    return 0;
}

/* -- tokens ----------------------------------------------------------------- */

static void fail_auth_waiters(struct gcp_http *h, int err)
{
    const char *why = h->auth != NULL ? gcp_auth_errmsg(h->auth) : NULL;

    for (;;) {
        struct gcp_req *r = gcp_reqlist_pop(&h->auth_wait);

        if (r == NULL)
            break;
        if (err == ERR_CANCELLED) {
            complete_cancelled(r);
            continue;
        }
        complete(r, err, 0, xstrdup(why != NULL ? why : err_str(err)));
    }
}

static void on_token(struct gcp_auth *a, int err, void *data)
{
    struct gcp_http *h = data;

    (void)a;
    h->auth_pending = false;
    if (err < 0) {
        fail_auth_waiters(h, h->closing ? ERR_CANCELLED : err);
        if (!h->closing)
            dispatch(h);
        return;
    }
    while (h->auth_wait.last != NULL) {
        struct gcp_req *r = h->auth_wait.last;

        gcp_reqlist_remove(r);
        gcp_reqlist_push(&h->queue, r, true);
    }
    if (!h->closing)
        dispatch(h);
}

/* Starts a token refresh for the waiting requests; false if it failed at
 * once (the waiters have then been failed). */
static bool start_refresh(struct gcp_http *h)
{
    int err;

    h->auth_pending = true;
    err = gcp_auth_refresh(h->auth, on_token, h);
    if (err == 0)
        return true;
    h->auth_pending = false;
    fail_auth_waiters(h, err);
    return false;
}

/* -- dispatch ----------------------------------------------------------------- */

static void on_wake(uv_timer_t *t)
{
    dispatch(t->data);
}

static void arm_wake(struct gcp_http *h, uint64_t now, uint64_t when)
{
    if (when == UINT64_MAX)
        uv_timer_stop(&h->wake_timer);
    else
        uv_timer_start(&h->wake_timer, on_wake, when > now ? when - now : 0, 0);
}

/* One pass over the queue; returns the earliest time something blocked may
 * go (UINT64_MAX if nothing waits on time). */
static uint64_t dispatch_pass(struct gcp_http *h, uint64_t now, bool *ret_need_token)
{
    uint64_t wake = UINT64_MAX, when;
    struct gcp_req *r, *next;

    for (r = h->queue.first; r != NULL && h->running.n < h->cfg.max_inflight; r = next) {
        struct limiter *l;
        int err;

        next = r->next;
        if (r->not_before > now) {
            wake = r->not_before < wake ? r->not_before : wake;
            continue;
        }
        if (needs_auth(r) && gcp_auth_token(h->auth) == NULL) {
            gcp_reqlist_remove(r);
            gcp_reqlist_push(&h->auth_wait, r, false);
            *ret_need_token = true;
            continue;
        }
        l = gcp_limiter_find(h, r->api, true);
        if (!gcp_limiter_take(l, now, &when)) {
            wake = when < wake ? when : wake;
            continue;
        }
        gcp_reqlist_remove(r);
        err = start_attempt(r);
        if (err < 0) {
            char *u = url_for_message(r->url);

            complete(r, err, 0,
                     xasprintf("cannot %s '%s': cannot start the transfer", r->method, u));
            free(u);
            if (h->closing)
                break;
        }
    }
    return wake;
}

static void dispatch(struct gcp_http *h)
{
    uint64_t now, wake;

    if (h->closing)
        return;
    if (h->dispatching) {
        h->dispatch_again = true;
        return;
    }
    h->dispatching = true;
    do {
        bool need_token = false;

        h->dispatch_again = false;
        uv_update_time(h->loop);
        now = uv_now(h->loop);
        wake = dispatch_pass(h, now, &need_token);
        if (h->closing)
            break;
        if (h->auth_wait.n > 0 && !h->auth_pending) {
            if (start_refresh(h))
                h->dispatch_again = true; /* the token request is queued */
        }
    } while (h->dispatch_again && !h->closing);
    h->dispatching = false;
    if (!h->closing)
        arm_wake(h, now, wake);
}

int gcp_http_submit(struct gcp_http *h, struct gcp_req *r, gcp_req_cb *cb, void *data)
{
    uint64_t seed;

    if (h->closing)
        return ERR_CANCELLED;
    if (r == NULL || cb == NULL || r->on != NULL || r->easy != NULL || r->cb != NULL ||
        !gcp_req_valid(r))
        return ERR_INVAL;
    r->h = h;
    r->resp.max = h->cfg.max_response_bytes;
    r->cb = cb;
    r->data = data;
    seed = h->seed += 0x9e3779b97f4a7c15u;
    backoff_init(&r->bo, r->has_retry ? &r->retry : &h->cfg.retry, h->cfg.clock, seed);
    gcp_reqlist_push(&h->queue, r, false);
    /* Never start from here: the callback must not run within this call. */
    if (h->dispatching)
        h->dispatch_again = true;
    else
        uv_timer_start(&h->wake_timer, on_wake, 0, 0);
    return 0;
}

/* -- curl <-> uv glue -------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle);

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = p->data;
    struct gcp_http *h = s->h;
    int flags = 0, running;

    if (h->closing)
        return;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if ((events & UV_READABLE) != 0)
        flags |= CURL_CSELECT_IN;
    if ((events & UV_WRITABLE) != 0)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_multi_info(h);
}

static void sock_close(struct gcp_http *h, struct sock *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct gcp_http *h = userp;
    struct sock *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            sock_close(h, s);
            if (!h->closing)
                curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        h->open_handles++;
        s->poll.data = s;
        s->fd = fd;
        s->h = h;
        s->next = h->socks;
        if (h->socks != NULL)
            h->socks->prev = s;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    if ((what & CURL_POLL_IN) != 0)
        events |= UV_READABLE;
    if ((what & CURL_POLL_OUT) != 0)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct gcp_http *h = t->data;
    int running;

    if (h->closing)
        return;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(h);
}

static int on_curl_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    struct gcp_http *h = userp;

    (void)multi;
    if (h->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&h->curl_timer);
    else
        uv_timer_start(&h->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* -- lifecycle ----------------------------------------------------------------- */

static void apply_defaults(struct gcp_http_config *c)
{
    static const struct backoff_policy def = BACKOFF_POLICY_DEFAULT;

    if (c->max_inflight == 0)
        c->max_inflight = DEFAULT_MAX_INFLIGHT;
    if (c->qps < 0)
        c->qps = 0;
    if (c->qps_burst == 0)
        c->qps_burst = 1;
    if (c->connect_timeout_ms <= 0)
        c->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->timeout_ms <= 0)
        c->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (c->max_response_bytes == 0 || c->max_response_bytes > CAP_RESPONSE_BYTES)
        c->max_response_bytes = CAP_RESPONSE_BYTES;
    if (c->retry.base_ms == 0 && c->retry.cap_ms == 0 && c->retry.max_attempts == 0 &&
        c->retry.max_elapsed_ms == 0)
        c->retry = def;
}

int gcp_http_new(uv_loop_t *loop, const struct gcp_http_config *cfg, struct gcp_http **ret)
{
    static bool curl_ready;
    struct gcp_http *h;

    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return ERR_IO;
        curl_ready = true;
    }
    h = xcalloc(1, sizeof(*h));
    h->loop = loop;
    if (cfg != NULL)
        h->cfg = *cfg;
    apply_defaults(&h->cfg);
    h->user_agent =
        h->cfg.user_agent != NULL ? xstrdup(h->cfg.user_agent) : xstrdup("roam/" ROAM_VERSION);
    h->cfg.user_agent = h->user_agent;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h->user_agent);
        free(h);
        return ERR_IO;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    uv_timer_init(loop, &h->curl_timer);
    uv_timer_init(loop, &h->wake_timer);
    h->curl_timer.data = h;
    h->wake_timer.data = h;
    h->open_handles = 2;
    h->seed = uv_hrtime() ^ (uint64_t)(uintptr_t)h;
    *ret = h;
    return 0;
}

void gcp_http_set_auth(struct gcp_http *h, struct gcp_auth *auth)
{
    h->auth = auth;
}

static void http_free(struct gcp_http *h)
{
    gcp_http_free_tables(h);
    free(h->user_agent);
    free(h);
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct gcp_http *h;

    if (handle->type == UV_POLL) {
        struct sock *s = handle->data;

        h = s->h;
        free(s);
    } else {
        h = handle->data;
    }
    h->open_handles--;
    if (h->closing && h->open_handles == 0) {
        if (h->close_cb != NULL)
            h->close_cb(h, h->close_data);
        http_free(h);
    }
}

static void cancel_all(struct gcp_http *h)
{
    struct gcp_req *r;

    for (;;) {
        r = gcp_reqlist_pop(&h->running);
        if (r == NULL)
            break;
        curl_multi_remove_handle(h->multi, r->easy);
        gcp_req_wipe_headers(&r->sent);
        complete_cancelled(r);
    }
    /* Cancelling the token request fails the requests waiting for it. */
    for (;;) {
        r = gcp_reqlist_pop(&h->queue);
        if (r == NULL)
            r = gcp_reqlist_pop(&h->auth_wait);
        if (r == NULL)
            break;
        complete_cancelled(r);
    }
}

void gcp_http_close(struct gcp_http *h, gcp_http_close_cb *cb, void *data)
{
    assert(!h->closing);
    h->closing = true;
    h->close_cb = cb;
    h->close_data = data;
    cancel_all(h);
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks != NULL)
        sock_close(h, h->socks);
    uv_close((uv_handle_t *)&h->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&h->wake_timer, on_handle_closed);
}
