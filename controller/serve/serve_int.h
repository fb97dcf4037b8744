/*
 * serve_int.h - what serve.c (the controller) and serve_http.c (its HTTP
 * handlers) share.  Private to controller/serve/.
 */
#ifndef ROAM_SERVE_INT_H
#define ROAM_SERVE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "api/oam/oam.h"
#include "api/plan/plan.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/gapi.h"
#include "controller/gcp/http.h"
#include "controller/httpd/httpd.h"
#include "controller/httpd/metrics.h"
#include "controller/httpd/oidc.h"
#include "controller/reconcile/lstore.h"
#include "controller/reconcile/reconcile.h"
#include "controller/runtime/wq.h"
#include "controller/serve/serve.h"
#include "controller/source/src.h"

#define SERVE_SEEN_IDS 4096 /* Pub/Sub message ids remembered for dedupe */

struct serve_metrics {
    struct metrics *reg;
    struct metric *reconciles;  /* {kind, result} */
    struct metric *duration;    /* {kind} histogram, seconds */
    struct metric *api;         /* {api, method, code} */
    struct metric *corrections; /* {action} */
    struct metric *queue;       /* gauge */
    struct metric *revision;    /* {revision} gauge = 1 */
    struct metric *last_sync;   /* gauge, unix seconds */
    struct metric *ledger;      /* ledger writes */
    struct metric *push;        /* {kind, result} */
    struct metric *http;        /* {path, code} */
    struct metric *apps;        /* {status} gauge */
};

struct serve {
    struct serve_config cfg;
    uv_loop_t loop;
    struct gcp_http *http;
    struct gcp_auth *auth;
    struct gapi api;
    struct src *src;
    struct lstore *store;
    struct wq *wq;
    struct httpd *httpd;
    struct oidc *oidc;
    struct serve_metrics m;
    uv_timer_t resync, poll, deadline;
    uv_signal_t sigterm, sigint;
    bool stopping;
    int exit_code;

    /* what the source said last */
    struct oam_docset docs;
    bool have_docs;
    char *revision;

    /* the pass in flight */
    struct wq_item *item;
    struct rec *rec;
    struct ledger ledger;
    char *target; /* targeted pass resource, or NULL */
    uint64_t started_ms;

    /* the view served on /status and /readyz */
    bool ready;
    struct ledger records; /* last written record per app (with status) */
    char *last_error;      /* last pass-level failure, or NULL */
    int64_t last_sync_s;

    /* Pub/Sub message ids already queued (ring) */
    char *seen[SERVE_SEEN_IDS];
    size_t seen_next;
};

/* serve_http.c */
void serve_http_routes(struct serve *s);
void serve_metrics_init(struct serve *s);
/* The server's configuration: limits by default, the access log into the
 * metrics. */
struct httpd_config serve_httpd_config(struct serve *s);
/* Records a pass's outcome in the metrics. */
void serve_metrics_pass(struct serve *s, const char *kind, int err, const struct plan *p,
                        const struct rec_stats *st, double seconds);

#endif
