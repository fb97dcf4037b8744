/*
 * serve.h - `roam serve`: the continuous controller.
 *
 * One libuv loop runs everything: a work queue (runtime/wq.h) of keys,
 *
 *   "poll"          read the source; when its revision moved, queue "sync"
 *   "sync"          read the source, load the ledger, one full reconcile pass
 *   "res:NAME"      a targeted pass over one resource (an IAM change seen by
 *                   a Cloud Asset feed)
 *
 * fed by timers (resync every --resync with +-10 % jitter, poll every
 * --poll) at the periodic priority, and by HTTP at the event priority
 * (Pub/Sub push, GitHub webhook), so an event goes before the sweep.  The
 * queue runs one key at a time: passes share the ledger, and a record must
 * not be written by two passes at once.  A failed key is retried with
 * per-key exponential backoff.
 *
 * HTTP (httpd/): GET /healthz, /readyz (after the first complete sync),
 * /metrics (Prometheus text), /status (per-app conditions from the last
 * pass), POST /pubsub (OIDC-verified push), POST /webhook/github
 * (X-Hub-Signature-256).  SIGTERM/SIGINT stop intake, let the pass in flight
 * finish (every write is atomic under its etag, and intent records protect
 * ownership if it cannot), and exit within 10 s.
 */
#ifndef ROAM_SERVE_H
#define ROAM_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "api/oam/oam.h"
#include "api/plan/plan.h"

struct serve_config {
    const char *source;         /* URL */
    const char *state;          /* ledger URL */
    const char *listen;         /* NULL: :$PORT or :8080 */
    uint64_t resync_ms;         /* full pass period; default 10 min */
    uint64_t poll_ms;           /* source poll period; default 1 min */
    bool push_auth_none;        /* --push-auth none: accept unauthenticated pushes */
    const char *webhook_secret; /* ROAM_WEBHOOK_SECRET; NULL: webhook refused */
    struct oam_defaults defs;
    struct guard_opts guard;
    unsigned max_inflight;
    double qps;
};

/* Runs the controller until SIGTERM or SIGINT.  Returns the exit code: 0
 * after a clean shutdown, 1 when it could not start. */
int serve_run(const struct serve_config *cfg);

#endif
