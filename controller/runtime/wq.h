/*
 * wq.h - a keyed work queue on a libuv loop (controller-runtime's
 * workqueue, in C).
 *
 * Work is named by a string key: `app:payments`, `res:projects/p/locations/r/
 * services/s`, `sync:all`.  The queue guarantees:
 *
 *   - Dedupe.  A key waiting in the queue is there once; adding it again
 *     does not add a second run (the higher priority of the two wins).
 *   - No key runs twice at once.  A key added while its handler runs is
 *     marked dirty and runs once more after wq_done(), however many times it
 *     was added meanwhile.
 *   - Two priorities.  WQ_EVENT items (a push, a webhook, a drift event)
 *     start before any WQ_PERIODIC item (resync sweeps), so an event runs at
 *     once even behind a 10,000-item sweep.  Within a priority, first in,
 *     first out.  Events can starve the sweep only while distinct event keys
 *     keep arriving, which dedupe bounds.
 *   - Bounded concurrency: at most `workers` keys are being handled at once.
 *   - Per-key exponential backoff: wq_done(err < 0) requeues the key after a
 *     delay drawn from [c/2, c] with c = min(cap, base * 2^(failures-1))
 *     ("equal jitter": keys that failed together spread out, and the delay
 *     never collapses to zero the way full jitter can, which matters for a
 *     key that may fail for hours).  Success resets the count; so does
 *     wq_forget().
 *   - A global rate limiter: a token bucket of `burst` tokens refilled at
 *     `rate` per second; each start takes one token (0 = no limit).
 *
 * Backoff waits and event adds: a key waiting out its backoff stays waiting
 * when a periodic add arrives (a sweep must not defeat the backoff), but an
 * event add moves it to the event queue at once (new information deserves a
 * prompt look, and dedupe bounds the cost), as controller-runtime's Add does.
 *
 * Handlers never run inside wq_add() or wq_done(): starts happen from the
 * queue's own uv timer, so callers need not expect re-entrance.  A handler
 * may call wq_done() before returning, and may call wq_add().
 *
 * Time: decisions (backoff due times, token refills) read an injectable
 * clock (clock.h); waking up uses one real uv timer.  With a fake clock the
 * timer still fires after the real wait, re-reads the clock and sleeps again
 * if the fake has not moved.  The pure helpers wq_backoff_delay() and
 * struct wq_bucket are exposed so tests can check sequences against a fake
 * clock without a loop.
 *
 * Alternatives rejected: one uv timer per waiting key (10,000 handles to
 * close at shutdown; a heap here does the same with one handle); starting
 * handlers synchronously from wq_add() (re-entrance into caller state).
 *
 * Threads: one loop thread only.
 */
#ifndef ROAM_WQ_H
#define ROAM_WQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "controller/runtime/clock.h"

enum wq_prio {
    WQ_EVENT = 0,    /* push, webhook, drift: starts first */
    WQ_PERIODIC = 1, /* resync and poll sweeps */
    WQ_PRIO_MAX
};

#define WQ_DEFAULT_WORKERS 8u
#define WQ_DEFAULT_BACKOFF_BASE_MS 1000u
#define WQ_DEFAULT_BACKOFF_CAP_MS 300000u /* 5 minutes: half the default resync */

struct wq_config {
    unsigned workers;          /* keys handled at once; 0 = WQ_DEFAULT_WORKERS */
    double rate;               /* starts per second; 0 = no limit */
    unsigned burst;            /* token bucket size; 0 = 1 (strict spacing) */
    uint64_t backoff_base_ms;  /* ceiling of the first retry delay; 0 = default */
    uint64_t backoff_cap_ms;   /* largest ceiling; 0 = default (raised to base) */
    const struct clock *clock; /* borrowed, must outlive the queue; NULL = system */
    uint64_t seed;             /* jitter; 0 = from uv_hrtime() */
};

struct wq;
/* One key's record while it is queued, running or waiting; opaque. */
struct wq_item;

/*
 * Called to process `key` (valid until wq_done()); data is the pointer given
 * to wq_new().  The handler must call wq_done(q, it, err) exactly once, now
 * or later from the same loop.
 */
typedef void wq_handler_fn(struct wq *q, const char *key, void *data, struct wq_item *it);
/* Called once after wq_close(), when every handle is closed and the queue
 * is freed. */
typedef void wq_close_fn(void *data);

/*
 * Creates a queue on loop.  cfg is copied (NULL: defaults).  Returns 0 and
 * the queue in *ret, or ERR_INVAL (NULL loop or handler, negative rate) or
 * an error from uv_timer_init.  Destroy with wq_close().
 */
int wq_new(uv_loop_t *loop, const struct wq_config *cfg, wq_handler_fn *handler, void *data,
           struct wq **ret);

/*
 * Queues key (copied) at prio.  Returns 0, ERR_INVAL (NULL or empty key, bad
 * prio) or ERR_CANCELLED once the queue is closing.  Adding a queued key
 * dedupes; adding a running key marks it dirty (see above).
 */
int wq_add(struct wq *q, const char *key, enum wq_prio prio);

/*
 * Ends the run of it.  err >= 0: success, the key's failure count resets.
 * err < 0: the key is retried after its backoff delay.  Pass err < 0 only
 * for failures worth retrying (ERR_TRANSIENT, a 409 conflict); a permanent
 * failure is a status, not a retry, and should be reported with 0.  If the
 * key was added while running it is queued again (for an event add, at
 * once even after a failure).  Returns the retry delay in milliseconds (0
 * when none was scheduled), for a log line such as `..., will retry in 8s`.
 * it, and the key pointer the handler got, are invalid afterwards.
 */
uint64_t wq_done(struct wq *q, struct wq_item *it, int err);

/*
 * Forgets key's failures and cancels its pending backoff retry (for an app
 * deleted from the source).  A queued or running key stays queued or
 * running.  Unknown keys are ignored.
 */
void wq_forget(struct wq *q, const char *key);

/* The key of an item and the failures it has had before this run. */
const char *wq_item_key(const struct wq_item *it);
unsigned wq_item_failures(const struct wq_item *it);

/* Gauges and counters for /metrics. */
struct wq_stats {
    size_t queued[WQ_PRIO_MAX]; /* waiting to start, per priority */
    size_t running;             /* handlers not yet done */
    size_t waiting;             /* waiting out a backoff delay */
    uint64_t added;             /* wq_add calls accepted */
    uint64_t deduped;           /* of which merged into a queued, waiting or running key */
    uint64_t started;           /* handler calls */
    uint64_t retries;           /* failures requeued with backoff */
    uint64_t cancelled;         /* queued or waiting keys dropped by wq_close */
};
void wq_stats(const struct wq *q, struct wq_stats *ret);

/*
 * Stops intake (wq_add returns ERR_CANCELLED), drops queued and waiting keys
 * (their handlers never run), waits for running handlers to call wq_done
 * (dirty re-runs are dropped), closes the timer, frees the queue, then calls
 * cb(data) (cb may be NULL).  The queue must not be used after wq_close
 * except for wq_done() of items still running.  Calling it twice is a
 * programmer error.
 */
void wq_close(struct wq *q, wq_close_fn *cb, void *data);

/* ---- pure helpers, exposed for tests ---- */

/*
 * The backoff delay after the n-th consecutive failure (n >= 1): with
 * c = min(cap, base * 2^(n-1)) (base/cap 0 = defaults, cap raised to base),
 * c/2 + rnd % (c - c/2 + 1), i.e. uniform in [c/2, c] for random rnd.
 */
uint64_t wq_backoff_delay(uint64_t base_ms, uint64_t cap_ms, unsigned n, uint64_t rnd);

/* A token bucket: `burst` tokens, refilled at `rate` per second. */
struct wq_bucket {
    double rate;      /* tokens per second; <= 0 = unlimited */
    double burst;     /* capacity, >= 1 */
    double tokens;    /* available now */
    uint64_t last_ms; /* clock reading of the last refill */
};

/* Starts full at now_ms.  burst 0 means 1.  Cannot fail. */
void wq_bucket_init(struct wq_bucket *b, double rate, unsigned burst, uint64_t now_ms);
/*
 * Takes one token at now_ms: returns true, or false with the milliseconds
 * until a token will be there in *ret_wait_ms (at least 1).  An unlimited
 * bucket always returns true.  now_ms earlier than the last reading counts
 * as no time passed.
 */
bool wq_bucket_take(struct wq_bucket *b, uint64_t now_ms, uint64_t *ret_wait_ms);

#endif
