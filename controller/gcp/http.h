/*
 * http.h - HTTP requests to Google APIs on the libuv loop.
 *
 * One struct gcp_http owns a libcurl multi handle driven by one libuv loop
 * through curl's socket and timer callbacks (the pattern of curl's
 * docs/examples/multi-uv.c): no thread, no blocking call.  Connections to a
 * host are reused, and HTTP/2 streams share one connection where the server
 * offers h2 (CURLPIPE_MULTIPLEX, CURL_HTTP_VERSION_2TLS, CURLOPT_PIPEWAIT).
 *
 * In front of curl sits a queue: at most max_inflight requests are handed to
 * curl at once, and a token bucket per API name (`qps`, burst `qps_burst`)
 * spaces them out; a single uv timer wakes the queue when a bucket refills
 * or a retry falls due.  Before a request that needs authorisation is sent,
 * gcp_auth supplies a bearer token; requests wait (without holding an
 * in-flight slot) while a token is fetched, so the token request itself can
 * always run.
 *
 * Retries (CONTRACTS.md §1.2): 408, 429, 500, 502, 503, 504, a 403 rate
 * limit, and transport failures (refused, reset, timed out, truncated body,
 * nothing received) are retried with full-jitter exponential backoff
 * (backoff.h) within a budget, honouring Retry-After (seconds) and
 * RetryInfo.retryDelay as minimum delays, but only for requests flagged
 * GCP_REQ_IDEMPOTENT.  Requests without that flag also get a connection of
 * their own (CURLOPT_FRESH_CONNECT), because curl silently resends a request
 * whose reused connection died before any answer.  409 ABORTED is never
 * retried here: the caller redoes its read-modify-write.  A 401 on an authorised request drops the
 * token, fetches a new one and resends once (the server rejected the request before acting on it,
 * so this is safe for any method); a second 401 fails.
 *
 * Alternatives rejected: a thread running curl_multi_perform (two event
 * loops, locking); an easy handle per attempt (loses nothing but costs
 * allocations: the handle is reused across attempts); a uv timer per
 * request (one timer and a scan of the queue suffices at our sizes).
 *
 * Everything here runs on the loop's thread.  Nothing is logged; failures
 * come back as ERR_* codes with a message (gcp_req_errmsg).  Tokens never
 * appear in messages.
 */
#ifndef ROAM_GCP_HTTP_H
#define ROAM_GCP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "api/common/buf.h"
#include "controller/runtime/backoff.h"
#include "controller/runtime/clock.h"

struct gcp_http;
struct gcp_req;
struct gcp_auth;
struct gerr;

/*
 * Called exactly once per submitted request, on the loop thread.  err is 0
 * for a 2xx answer, else an ERR_* code: the code of the decoded Google error
 * for other statuses (gerr.h: ERR_NOTFOUND, ERR_PERM, ERR_CONFLICT,
 * ERR_TRANSIENT after the retry budget, ...); ERR_AUTH when no token could
 * be had or a 401 persisted; ERR_LIMIT when the response passed the size
 * cap; ERR_TRANSIENT for transport failures (refused, reset, timeout,
 * truncated); ERR_IO for other transport failures; ERR_CANCELLED when
 * gcp_http_close() ended it.  status is the HTTP status of the last
 * complete answer (0 after a transport failure, cancellation or ERR_LIMIT).
 * body holds the last response body (also for errors), is NUL-terminated,
 * and is valid only during the call.  The request is freed after the
 * callback returns; the callback may submit new requests.
 */
typedef void gcp_req_cb(struct gcp_req *req, int err, long status, const struct buf *body,
                        void *data);
typedef void gcp_http_close_cb(struct gcp_http *h, void *data);

enum gcp_req_flag {
    GCP_REQ_IDEMPOTENT = 1u << 0, /* safe to resend after a transient failure */
    GCP_REQ_NO_AUTH = 1u << 1,    /* send no Authorization (token, metadata, emulators) */
    GCP_REQ_SENSITIVE = 1u << 2,  /* body and response carry secrets: wipe them */
};

struct gcp_http_config {
    unsigned max_inflight;       /* requests in curl at once; 0 means 16 */
    double qps;                  /* default per-API rate; 0 = no limit */
    unsigned qps_burst;          /* bucket size; 0 means 1 (strict spacing) */
    long connect_timeout_ms;     /* per attempt; 0 means 10 s */
    long timeout_ms;             /* whole attempt; 0 means 60 s */
    size_t max_response_bytes;   /* 0 means CAP_RESPONSE_BYTES */
    struct backoff_policy retry; /* all zero: BACKOFF_POLICY_DEFAULT; else
                                  * used as given (backoff.h) */
    const struct clock *clock;   /* retry budgets; NULL = system clock; borrowed */
    const char *user_agent;      /* NULL = "roam/<version>"; copied */
};

/* Metrics: one row per (api, method, HTTP status) seen; status 0 counts
 * attempts that got no HTTP answer.  Every attempt counts, retries too. */
struct gcp_http_counter {
    char *api;
    char *method;
    long status;
    uint64_t count;
};

struct gcp_http_stats {
    unsigned inflight;          /* in curl now */
    unsigned queued;            /* waiting for a slot, a rate token or a retry time */
    unsigned waiting_auth;      /* waiting for an access token */
    unsigned max_inflight_seen; /* high-water mark of inflight */
    uint64_t attempts;          /* transfers handed to curl */
    uint64_t retries;           /* attempts that were retries (incl. after 401) */
    uint64_t completed;         /* callbacks made */
    uint64_t connects;          /* new connections opened (CURLINFO_NUM_CONNECTS) */
};

/*
 * Creates a client on loop.  cfg may be NULL (all defaults) and is copied.
 * Returns 0 and *ret, or ERR_IO when curl or libuv cannot be set up (with
 * nothing left open).  The caller must call gcp_http_close() and run the
 * loop until the close callback before uv_loop_close().
 */
int gcp_http_new(uv_loop_t *loop, const struct gcp_http_config *cfg, struct gcp_http **ret);

/*
 * Sets the token source for requests without GCP_REQ_NO_AUTH (borrowed; NULL
 * sends such requests without Authorization, e.g. against an emulator).
 * auth must outlive h's close callback.
 */
void gcp_http_set_auth(struct gcp_http *h, struct gcp_auth *auth);

/* Sets the rate of one API (by the name given to gcp_req_new) to qps
 * requests per second with the given burst (0 = 1); qps 0 removes the limit.
 * Takes effect for requests not yet sent. */
void gcp_http_set_qps(struct gcp_http *h, const char *api, double qps, unsigned burst);

/*
 * Cancels every request (their callbacks run, from within this call, with
 * ERR_CANCELLED; submissions made meanwhile fail with ERR_CANCELLED), then
 * closes all handles.  cb (may be NULL) runs from the loop once everything
 * is closed; h is freed right after cb returns.  May be called from a
 * request callback.  Calling it twice is a programming error.
 */
void gcp_http_close(struct gcp_http *h, gcp_http_close_cb *cb, void *data);

void gcp_http_stats(const struct gcp_http *h, struct gcp_http_stats *ret);
/* The counter rows; valid until the next request completes or h closes. */
const struct gcp_http_counter *gcp_http_counters(const struct gcp_http *h, size_t *ret_n);
/* The count of one (api, method, status) row; 0 when absent. */
uint64_t gcp_http_count(const struct gcp_http *h, const char *api, const char *method, long status);

/*
 * A request.  api names the rate limiter and the counters ("run", "iam",
 * "storage", "oauth2", "metadata"; NULL means "other").  method is an HTTP
 * method in upper case.  All strings are copied.  The request belongs to the
 * caller until gcp_http_submit() succeeds, then to h (freed after its
 * callback).  gcp_req_free() frees an unsubmitted request (NULL-safe).
 */
struct gcp_req *gcp_req_new(const char *api, const char *method, const char *url, unsigned flags);
void gcp_req_free(struct gcp_req *req);

/* Adds a request header ("Content-Type", "application/json"). */
void gcp_req_add_header(struct gcp_req *req, const char *name, const char *value);
/* Sets the body (copied) and its Content-Type (NULL for none). */
void gcp_req_set_body(struct gcp_req *req, const char *content_type, const void *body, size_t len);
/* Overrides the client's timeouts for this request (0 keeps a default). */
void gcp_req_set_timeouts(struct gcp_req *req, long connect_timeout_ms, long timeout_ms);
/* Overrides the client's retry policy for this request (copied). */
void gcp_req_set_retry(struct gcp_req *req, const struct backoff_policy *policy);

/*
 * Queues req; returns 0 and calls cb exactly once later (never from within
 * this call), or returns an error and never calls cb: ERR_INVAL (bad
 * method, URL or header; NULL cb; req already submitted), ERR_CANCELLED (h
 * is closing).  On error req still belongs to the caller.  The curl handle
 * is made when the request leaves the queue; when curl cannot make one, cb
 * gets ERR_IO.
 */
int gcp_http_submit(struct gcp_http *h, struct gcp_req *req, gcp_req_cb *cb, void *data);

/* Valid during the callback only: */
/* A response header of the last attempt (first occurrence, any case), or
 * NULL. */
const char *gcp_req_header(struct gcp_req *req, const char *name);
/* The decoded Google error of a non-2xx answer, or NULL. */
const struct gerr *gcp_req_gerr(const struct gcp_req *req);
/* A one-line description of the failure, e.g. `cannot GET
 * 'https://run.googleapis.com/v2/...': permission denied (PERMISSION_DENIED):
 * <server message>[, gave up after N attempts]` (the URL without its query);
 * NULL on success.  Never contains a token.  Callers that know what the
 * request was for build their own with gerr_format(gcp_req_gerr(req), ...). */
const char *gcp_req_errmsg(const struct gcp_req *req);
/* Attempts made (1 when the first succeeded). */
unsigned gcp_req_attempts(const struct gcp_req *req);
const char *gcp_req_url(const struct gcp_req *req);
const char *gcp_req_method(const struct gcp_req *req);

#endif
