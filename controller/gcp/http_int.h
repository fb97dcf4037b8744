/*
 * http_int.h - the insides of controller/gcp/http, shared by http.c (queue,
 * dispatch, retries, curl <-> uv glue, lifecycle) and http_req.c (the
 * request object and its easy handle, counters, rate buckets).  Not for use
 * outside those two files.
 */
#ifndef ROAM_GCP_HTTP_INT_H
#define ROAM_GCP_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "api/common/buf.h"
#include "api/gcp/gerr.h"
#include "controller/gcp/http.h"
#include "controller/runtime/backoff.h"

struct req_list {
    struct gcp_req *first;
    struct gcp_req *last;
    unsigned n;
};

struct gcp_req {
    struct gcp_http *h;
    struct gcp_req *prev, *next;
    struct req_list *on; /* the list holding the request, or NULL */
    CURL *easy;          /* created by submit */
    char *api, *method, *url;
    unsigned flags;
    bool invalid;               /* a header or argument was rejected: submit fails */
    struct curl_slist *headers; /* the caller's */
    struct curl_slist *sent;    /* this attempt's: the caller's + auth */
    char *body;
    size_t body_len;
    bool has_body;
    long connect_timeout_ms, timeout_ms;
    bool has_retry;
    struct backoff_policy retry;
    struct backoff bo;
    gcp_req_cb *cb;
    void *data;
    struct buf resp;
    uint64_t not_before; /* loop time before which it may not be sent */
    unsigned token_gen;
    bool sent_auth, auth_retried, too_big;
    unsigned attempts;
    bool has_gerr;
    struct gerr gerr;
    char *errmsg;
    char errbuf[CURL_ERROR_SIZE];
};

struct limiter {
    struct limiter *next;
    char *api;
    double rate; /* tokens per second; 0 = unlimited */
    double burst;
    double tokens;
    uint64_t last_ms;
};

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct gcp_http *h;
    struct sock *prev, *next;
};

struct gcp_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer; /* curl's own timeout */
    uv_timer_t wake_timer; /* retries due, rate buckets refilled, new work */
    struct gcp_http_config cfg;
    char *user_agent;
    struct gcp_auth *auth;
    struct req_list queue, auth_wait, running;
    struct limiter *limiters;
    struct sock *socks;
    struct gcp_http_counter *counters;
    size_t ncounters, capcounters;
    struct gcp_http_stats stats;
    uint64_t seed;
    unsigned open_handles;
    bool closing, dispatching, dispatch_again, auth_pending;
    gcp_http_close_cb *close_cb;
    void *close_data;
};

/* Intrusive lists of requests; a request is on at most one. */
void gcp_reqlist_push(struct req_list *l, struct gcp_req *r, bool front);
struct gcp_req *gcp_reqlist_pop(struct req_list *l);
/* Removes r from the list holding it (none: no-op). */
void gcp_reqlist_remove(struct gcp_req *r);

/* Whether a request may be submitted: no rejected header, an http(s) URL
 * without blanks or control characters, an upper-case method. */
bool gcp_req_valid(const struct gcp_req *r);
/* Creates r->easy and sets every option that does not change between
 * attempts.  Returns 0, ERR_IO (no handle) or ERR_INVAL (an option was
 * refused). */
int gcp_req_setup_easy(struct gcp_req *r);
/* Wipes every line of a header list (one may carry a token) and frees it. */
void gcp_req_wipe_headers(struct curl_slist **l);
/* Empties the response buffer, wiping it first for sensitive requests. */
void gcp_req_release_response(struct gcp_req *r);

/* Counts one attempt of r that ended with status (0: no answer). */
void gcp_http_count_attempt(struct gcp_http *h, const struct gcp_req *r, long status);
/* The bucket of an API, created with the client's default rate when absent
 * and create is set. */
struct limiter *gcp_limiter_find(struct gcp_http *h, const char *api, bool create);
/* Takes a token, or tells (in *ret_when, loop time) when one will be there. */
bool gcp_limiter_take(struct limiter *l, uint64_t now, uint64_t *ret_when);
/* Frees the buckets and the counters. */
void gcp_http_free_tables(struct gcp_http *h);

#endif
