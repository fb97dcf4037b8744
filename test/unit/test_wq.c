/*
 * test_wq.c - controller/runtime/wq: dedupe, dirty re-runs, priorities under
 * a 10,000-item sweep, the concurrency bound, backoff (pure sequence and
 * live), the rate limiter (pure bucket on a fake clock, live spacing),
 * forget, and close with handlers in flight.  Every test ends with
 * uv_loop_close() == 0.
 *
 * Handlers either finish at once (sync), are finished by a 0 ms completer
 * timer in batches (async), or are finished by the test itself (manual).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "controller/runtime/clock.h"
#include "controller/runtime/wq.h"

#define WATCHDOG_MS 20000

enum mode { MODE_SYNC, MODE_ASYNC, MODE_MANUAL };

struct fx;
typedef int result_fn(struct fx *f, const char *key, unsigned failures);
typedef void start_fn(struct fx *f, const char *key, struct wq_item *it);

struct fx {
    uv_loop_t loop;
    struct wq *q;
    uv_timer_t completer;
    uv_timer_t watchdog;
    enum mode mode;
    size_t per_tick; /* async completions per tick; 0 = all pending */
    result_fn *result;
    start_fn *on_start;
    char **started;
    uint64_t *start_ms;
    unsigned *start_failures;
    size_t nstarted, cap;
    struct wq_item **pending;
    size_t npending, pcap;
    size_t running, max_running;
    uint64_t last_delay;
    int closed;
};

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    fail_msg("the loop ran longer than %d ms", WATCHDOG_MS);
}

static int finish(struct fx *f, struct wq_item *it)
{
    const char *key = wq_item_key(it);
    int err = f->result != NULL ? f->result(f, key, wq_item_failures(it)) : 0;

    f->running--;
    f->last_delay = wq_done(f->q, it, err);
    return err;
}

static void on_complete(uv_timer_t *t)
{
    struct fx *f = t->data;
    size_t n = f->per_tick == 0 || f->per_tick > f->npending ? f->npending : f->per_tick;
    struct wq_item **batch = xcalloc(n + 1, sizeof(*batch));

    /* Take the batch first: completions may start handlers that append. */
    memcpy(batch, f->pending, n * sizeof(*batch));
    memmove(f->pending, f->pending + n, (f->npending - n) * sizeof(*batch));
    f->npending -= n;
    for (size_t i = 0; i < n; i++)
        finish(f, batch[i]);
    free(batch);
    if (f->npending > 0)
        uv_timer_start(&f->completer, on_complete, 0, 0);
}

static void handler(struct wq *q, const char *key, void *data, struct wq_item *it)
{
    struct fx *f = data;

    assert_ptr_equal(q, f->q);
    assert_string_equal(key, wq_item_key(it));
    if (f->nstarted == f->cap) {
        f->cap = f->cap == 0 ? 64 : f->cap * 2;
        f->started = xreallocarray(f->started, f->cap, sizeof(*f->started));
        f->start_ms = xreallocarray(f->start_ms, f->cap, sizeof(*f->start_ms));
        f->start_failures = xreallocarray(f->start_failures, f->cap, sizeof(unsigned));
    }
    f->started[f->nstarted] = xstrdup(key);
    f->start_ms[f->nstarted] = clock_mono_ms(NULL);
    f->start_failures[f->nstarted] = wq_item_failures(it);
    f->nstarted++;
    f->running++;
    if (f->running > f->max_running)
        f->max_running = f->running;
    if (f->on_start != NULL)
        f->on_start(f, key, it);
    if (f->mode == MODE_SYNC) {
        finish(f, it);
        return;
    }
    XGROW(f->pending, f->npending + 1, f->pcap);
    f->pending[f->npending++] = it;
    if (f->mode == MODE_ASYNC)
        uv_timer_start(&f->completer, on_complete, 0, 0);
}

static void fx_open(struct fx *f, const struct wq_config *cfg, enum mode mode)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->mode = mode;
    uv_timer_init(&f->loop, &f->completer);
    f->completer.data = f;
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
    uv_unref((uv_handle_t *)&f->watchdog);
    assert_int_equal(wq_new(&f->loop, cfg, handler, f, &f->q), 0);
}

static void on_closed(void *data)
{
    struct fx *f = data;

    f->closed++;
}

static void fx_close(struct fx *f)
{
    if (f->q != NULL)
        wq_close(f->q, on_closed, f);
    uv_close((uv_handle_t *)&f->completer, NULL);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (size_t i = 0; i < f->nstarted; i++)
        free(f->started[i]);
    free(f->started);
    free(f->start_ms);
    free(f->start_failures);
    free(f->pending);
}

static void run(struct fx *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static size_t count_started(const struct fx *f, const char *key)
{
    size_t n = 0;

    for (size_t i = 0; i < f->nstarted; i++)
        n += strcmp(f->started[i], key) == 0;
    return n;
}

/* ---- dedupe and dirty ---- */

static void test_dedupe(void **state)
{
    struct fx f;
    struct wq_stats st;

    (void)state;
    fx_open(&f, NULL, MODE_ASYNC);
    assert_int_equal(wq_add(f.q, "app:a", WQ_PERIODIC), 0);
    assert_int_equal(wq_add(f.q, "app:b", WQ_PERIODIC), 0);
    assert_int_equal(wq_add(f.q, "app:a", WQ_PERIODIC), 0);
    assert_int_equal(wq_add(f.q, "app:a", WQ_PERIODIC), 0);
    /* An event add of a queued periodic key moves it ahead: higher wins. */
    assert_int_equal(wq_add(f.q, "app:a", WQ_EVENT), 0);
    /* A periodic add of a queued event key keeps it an event. */
    assert_int_equal(wq_add(f.q, "app:c", WQ_EVENT), 0);
    assert_int_equal(wq_add(f.q, "app:c", WQ_PERIODIC), 0);
    wq_stats(f.q, &st);
    assert_int_equal(st.queued[WQ_EVENT], 2);
    assert_int_equal(st.queued[WQ_PERIODIC], 1);
    assert_int_equal(st.added, 7);
    assert_int_equal(st.deduped, 4);
    assert_int_equal(f.nstarted, 0); /* handlers never run inside wq_add */
    run(&f);
    assert_int_equal(f.nstarted, 3);
    assert_string_equal(f.started[0], "app:a");
    assert_string_equal(f.started[1], "app:c");
    assert_string_equal(f.started[2], "app:b");
    wq_stats(f.q, &st);
    assert_int_equal(st.started, 3);
    assert_int_equal(st.queued[WQ_EVENT] + st.queued[WQ_PERIODIC] + st.running + st.waiting, 0);
    fx_close(&f);
}

static void readd_on_first_start(struct fx *f, const char *key, struct wq_item *it)
{
    struct wq_stats st;

    (void)it;
    if (strcmp(key, "app:a") != 0 || count_started(f, "app:a") != 1)
        return;
    /* Running: these make it dirty, once, whatever the count. */
    assert_int_equal(wq_add(f->q, "app:a", WQ_PERIODIC), 0);
    assert_int_equal(wq_add(f->q, "app:a", WQ_PERIODIC), 0);
    assert_int_equal(wq_add(f->q, "app:a", WQ_EVENT), 0);
    wq_stats(f->q, &st);
    assert_int_equal(st.running, 1);
    assert_int_equal(st.queued[WQ_EVENT] + st.queued[WQ_PERIODIC], 0);
}

static void test_dirty_rerun(void **state)
{
    struct fx f;
    struct wq_config cfg = {.workers = 4};

    (void)state;
    fx_open(&f, &cfg, MODE_ASYNC);
    f.on_start = readd_on_first_start;
    assert_int_equal(wq_add(f.q, "app:a", WQ_PERIODIC), 0);
    run(&f);
    /* Never twice at once, and exactly one re-run. */
    assert_int_equal(count_started(&f, "app:a"), 2);
    assert_int_equal(f.max_running, 1);
    fx_close(&f);
}

/* ---- priorities ---- */

#define BACKLOG 10000u

static void urgent_at_100(struct fx *f, const char *key, struct wq_item *it)
{
    (void)key;
    (void)it;
    if (f->nstarted == 100)
        assert_int_equal(wq_add(f->q, "ev:urgent", WQ_EVENT), 0);
}

static void test_priority_backlog(void **state)
{
    struct fx f;
    struct wq_config cfg = {.workers = 4};
    char key[32];
    size_t urgent = SIZE_MAX;

    (void)state;
    fx_open(&f, &cfg, MODE_ASYNC);
    f.on_start = urgent_at_100;
    for (unsigned i = 0; i < BACKLOG; i++) {
        snprintf(key, sizeof(key), "p:%05u", i);
        assert_int_equal(wq_add(f.q, key, WQ_PERIODIC), 0);
    }
    run(&f);
    assert_int_equal(f.nstarted, BACKLOG + 1);
    for (size_t i = 0; i < f.nstarted; i++)
        if (strcmp(f.started[i], "ev:urgent") == 0)
            urgent = i;
    /* Added during the 100th start: the very next start, ahead of 9,900. */
    assert_int_equal(urgent, 100);
    /* The sweep itself stays first in, first out. */
    for (unsigned i = 0, j = 0; i < f.nstarted; i++) {
        if (i == urgent)
            continue;
        snprintf(key, sizeof(key), "p:%05u", j++);
        assert_string_equal(f.started[i], key);
    }
    assert_true(f.max_running <= 4);
    fx_close(&f);
}

/* ---- concurrency ---- */

static void test_concurrency_bound(void **state)
{
    static const unsigned workers[] = {1, 3, 8};

    (void)state;
    for (size_t w = 0; w < sizeof(workers) / sizeof(workers[0]); w++) {
        struct fx f;
        struct wq_config cfg = {.workers = workers[w]};
        char key[32];

        fx_open(&f, &cfg, MODE_ASYNC);
        f.per_tick = 1; /* one completion per loop turn: slots refill one by one */
        for (unsigned i = 0; i < 50; i++) {
            snprintf(key, sizeof(key), "app:%u", i);
            assert_int_equal(wq_add(f.q, key, i % 2 ? WQ_EVENT : WQ_PERIODIC), 0);
        }
        run(&f);
        assert_int_equal(f.nstarted, 50);
        assert_int_equal(f.max_running, workers[w]);
        fx_close(&f);
    }
}

/* Handlers that finish inside the handler: 10,000 of them, no recursion. */
static void test_sync_completion(void **state)
{
    struct fx f;
    struct wq_config cfg = {.workers = 1};
    char key[32];

    (void)state;
    fx_open(&f, &cfg, MODE_SYNC);
    for (unsigned i = 0; i < BACKLOG; i++) {
        snprintf(key, sizeof(key), "k%u", i);
        assert_int_equal(wq_add(f.q, key, WQ_PERIODIC), 0);
    }
    run(&f);
    assert_int_equal(f.nstarted, BACKLOG);
    assert_int_equal(f.max_running, 1);
    fx_close(&f);
}

/* ---- backoff ---- */

static void test_backoff_delay_table(void **state)
{
    static const struct {
        uint64_t base, cap;
        unsigned n;
        uint64_t rnd, want;
    } rows[] = {
        /* rnd 0 gives the floor c/2; rnd = c - c/2 gives the ceiling c. */
        {100, 1000, 1, 0, 50},
        {100, 1000, 1, 50, 100},
        {100, 1000, 2, 0, 100},
        {100, 1000, 2, 100, 200},
        {100, 1000, 3, 0, 200},
        {100, 1000, 4, 0, 400},
        {100, 1000, 5, 0, 500},
        {100, 1000, 5, 500, 1000},
        {100, 1000, 6, 0, 500},
        {100, 1000, 60, 500, 1000},
        {100, 1000, 1, 51, 50}, /* wraps modulo 51 */
        {0, 0, 1, 0, 500},
        {0, 0, 1, 500, 1000},
        {0, 0, 30, 150000, 300000},
        {1000, 10, 1, 0, 500},                   /* cap below base: base */
        {1, UINT64_MAX, 200, 0, UINT64_MAX / 2}, /* no overflow */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(wq_backoff_delay(rows[i].base, rows[i].cap, rows[i].n, rows[i].rnd),
                         rows[i].want);
    /* Random draws stay within [c/2, c] and reach both ends. */
    for (unsigned n = 1; n <= 6; n++) {
        uint64_t c = n >= 5 ? 1000 : 100u << (n - 1), lo = UINT64_MAX, hi = 0;
        uint64_t x = 88172645463325252u;

        for (int k = 0; k < 5000; k++) {
            uint64_t d;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d = wq_backoff_delay(100, 1000, n, x);
            assert_true(d >= c / 2 && d <= c);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        assert_int_equal(lo, c / 2);
        assert_int_equal(hi, c);
    }
}

/* app:x fails three times, then succeeds. */
static int fail_three(struct fx *f, const char *key, unsigned failures)
{
    (void)f;
    return strcmp(key, "app:x") == 0 && failures < 3 ? ERR_TRANSIENT : 0;
}

static void test_backoff_live(void **state)
{
    struct fx f;
    struct wq_config cfg = {.backoff_base_ms = 20, .backoff_cap_ms = 80, .seed = 7};
    struct wq_stats st;
    static const uint64_t ceil_ms[] = {20, 40, 80};

    (void)state;
    fx_open(&f, &cfg, MODE_ASYNC);
    f.result = fail_three;
    assert_int_equal(wq_add(f.q, "app:x", WQ_PERIODIC), 0);
    run(&f);
    assert_int_equal(f.nstarted, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(f.start_failures[i], i);
    for (unsigned i = 1; i < 4; i++) {
        uint64_t gap = f.start_ms[i] - f.start_ms[i - 1];

        /* At least the floor of [c/2, c]; generous slack above for a busy
         * machine. */
        assert_true(gap >= ceil_ms[i - 1] / 2);
        assert_true(gap <= ceil_ms[i - 1] + 1000);
    }
    assert_int_equal(f.last_delay, 0); /* the success scheduled nothing */
    wq_stats(f.q, &st);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.waiting, 0);
    fx_close(&f);
}

static int always_fail(struct fx *f, const char *key, unsigned failures)
{
    (void)f;
    (void)key;
    (void)failures;
    return ERR_TRANSIENT;
}

/*
 * A key waiting out a long backoff: a periodic add leaves it waiting, an
 * event add runs it at once, wq_forget cancels the wait (and the loop then
 * has nothing to wait for).
 */
static void test_backoff_adds_and_forget(void **state)
{
    struct fx f;
    struct wq_config cfg = {.backoff_base_ms = 60000, .backoff_cap_ms = 60000};
    struct wq_stats st;
    uint64_t t0;

    (void)state;
    fx_open(&f, &cfg, MODE_MANUAL);
    f.result = always_fail;
    assert_int_equal(wq_add(f.q, "app:z", WQ_PERIODIC), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.nstarted, 1);
    f.npending = 0;
    f.running--;
    assert_true(wq_done(f.q, f.pending[0], ERR_TRANSIENT) >= 30000);
    wq_stats(f.q, &st);
    assert_int_equal(st.waiting, 1);

    assert_int_equal(wq_add(f.q, "app:z", WQ_PERIODIC), 0);
    wq_stats(f.q, &st);
    assert_int_equal(st.waiting, 1);
    assert_int_equal(st.queued[WQ_PERIODIC], 0);

    t0 = clock_mono_ms(NULL);
    assert_int_equal(wq_add(f.q, "app:z", WQ_EVENT), 0);
    wq_stats(f.q, &st);
    assert_int_equal(st.waiting, 0);
    assert_int_equal(st.queued[WQ_EVENT], 1);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.nstarted, 2);
    assert_true(clock_mono_ms(NULL) - t0 < 5000);
    assert_int_equal(f.start_failures[1], 1);
    f.npending = 0;
    f.running--;
    wq_done(f.q, f.pending[0], ERR_TRANSIENT);
    wq_stats(f.q, &st);
    assert_int_equal(st.waiting, 1);

    wq_forget(f.q, "app:z");
    wq_forget(f.q, "app:unknown");
    wq_stats(f.q, &st);
    assert_int_equal(st.waiting, 0);
    t0 = clock_mono_ms(NULL);
    run(&f); /* returns at once: the timer is stopped */
    assert_true(clock_mono_ms(NULL) - t0 < 5000);
    assert_int_equal(f.nstarted, 2);

    /* After forget the failure count starts again. */
    assert_int_equal(wq_add(f.q, "app:z", WQ_EVENT), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.nstarted, 3);
    assert_int_equal(f.start_failures[2], 0);
    f.npending = 0;
    f.running--;
    assert_int_equal(wq_done(f.q, f.pending[0], 0), 0);
    fx_close(&f);
}

/* ---- rate limit ---- */

static void test_bucket_fake_clock(void **state)
{
    struct clock_fake c;
    struct wq_bucket b;
    uint64_t wait = 0;

    (void)state;
    clock_fake_init(&c, 1000, 0);
    wq_bucket_init(&b, 10.0, 2, clock_mono_ms(&c.base));
    /* A full bucket: the burst goes at once. */
    assert_true(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_true(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_false(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_true(wait >= 100 && wait <= 101);
    clock_fake_advance(&c, 50);
    assert_false(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_true(wait >= 50 && wait <= 51);
    clock_fake_advance(&c, 50);
    assert_true(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_false(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    /* A long pause refills to the burst, not beyond. */
    clock_fake_advance(&c, 10000);
    assert_true(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_true(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    assert_false(wq_bucket_take(&b, clock_mono_ms(&c.base), &wait));
    /* A clock reading from the past counts as no time passed. */
    assert_false(wq_bucket_take(&b, 0, &wait));
    /* Strict spacing (burst 0 = 1), 50 per second: one per 20 ms. */
    wq_bucket_init(&b, 50.0, 0, 0);
    for (uint64_t t = 0; t < 1000; t += 20) {
        assert_true(wq_bucket_take(&b, t, &wait));
        assert_false(wq_bucket_take(&b, t + 19, &wait));
        assert_int_equal(wait, 1);
    }
    /* Unlimited. */
    wq_bucket_init(&b, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(wq_bucket_take(&b, 0, &wait));
}

static void test_rate_limit_spacing(void **state)
{
    struct fx f;
    struct wq_config cfg = {.workers = 8, .rate = 50.0, .burst = 1};
    char key[16];

    (void)state;
    fx_open(&f, &cfg, MODE_SYNC);
    for (unsigned i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "app:%u", i);
        assert_int_equal(wq_add(f.q, key, WQ_PERIODIC), 0);
    }
    run(&f);
    assert_int_equal(f.nstarted, 10);
    for (unsigned i = 1; i < 10; i++)
        assert_true(f.start_ms[i] - f.start_ms[i - 1] >= 19);
    assert_true(f.start_ms[9] - f.start_ms[0] >= 9 * 19);
    fx_close(&f);
}

/* ---- close ---- */

static void test_close_in_flight(void **state)
{
    struct fx f;
    struct wq_config cfg = {.workers = 2};
    struct wq_stats st;
    struct wq *q;
    char key[16];

    (void)state;
    fx_open(&f, &cfg, MODE_MANUAL);
    for (unsigned i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "app:%u", i);
        assert_int_equal(wq_add(f.q, key, WQ_PERIODIC), 0);
    }
    assert_int_equal(wq_add(f.q, "app:late", WQ_EVENT), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.nstarted, 2);
    /* Dirty while running: dropped by the close. */
    assert_int_equal(wq_add(f.q, f.started[0], WQ_EVENT), 0);
    q = f.q;
    wq_close(q, on_closed, &f);
    f.q = q; /* still valid for wq_done of running items */
    wq_stats(q, &st);
    assert_int_equal(st.cancelled, 4);
    assert_int_equal(st.running, 2);
    assert_int_equal(wq_add(q, "app:new", WQ_EVENT), ERR_CANCELLED);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.closed, 0); /* two handlers still running */
    f.running -= 2;
    assert_int_equal(wq_done(q, f.pending[0], ERR_TRANSIENT), 0); /* no retry when closing */
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.closed, 0);
    wq_done(q, f.pending[1], 0);
    f.npending = 0;
    f.q = NULL;
    fx_close(&f); /* runs the loop: the close callback comes */
    assert_int_equal(f.nstarted, 2);
}

static void close_from_handler(struct fx *f, const char *key, struct wq_item *it)
{
    (void)key;
    (void)it;
    if (f->nstarted == 1) {
        wq_close(f->q, on_closed, f);
        assert_int_equal(wq_add(f->q, "x", WQ_EVENT), ERR_CANCELLED);
    }
}

/* A handler that closes the queue and then finishes at once: the rest is
 * dropped and the queue closes cleanly. */
static void test_close_from_handler(void **state)
{
    struct fx f;
    char key[16];

    (void)state;
    fx_open(&f, NULL, MODE_SYNC);
    f.on_start = close_from_handler;
    for (unsigned i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "app:%u", i);
        assert_int_equal(wq_add(f.q, key, WQ_PERIODIC), 0);
    }
    run(&f);
    assert_int_equal(f.nstarted, 1);
    assert_int_equal(f.closed, 1);
    f.q = NULL; /* closed already */
    fx_close(&f);
}

static void test_close_idle_and_invalid(void **state)
{
    struct fx f;
    struct wq *q = NULL;
    struct wq_config bad = {.rate = -1};

    (void)state;
    fx_open(&f, NULL, MODE_SYNC);
    assert_int_equal(wq_new(&f.loop, NULL, NULL, NULL, &q), ERR_INVAL);
    assert_int_equal(wq_new(NULL, NULL, handler, NULL, &q), ERR_INVAL);
    assert_int_equal(wq_new(&f.loop, &bad, handler, NULL, &q), ERR_INVAL);
    assert_null(q);
    assert_int_equal(wq_add(f.q, "", WQ_EVENT), ERR_INVAL);
    assert_int_equal(wq_add(f.q, NULL, WQ_EVENT), ERR_INVAL);
    assert_int_equal(wq_add(f.q, "k", (enum wq_prio)WQ_PRIO_MAX), ERR_INVAL);
    /* Queued but never started: cancelled by the close. */
    assert_int_equal(wq_add(f.q, "k", WQ_EVENT), 0);
    fx_close(&f);
    assert_int_equal(f.nstarted, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedupe),
        cmocka_unit_test(test_dirty_rerun),
        cmocka_unit_test(test_priority_backlog),
        cmocka_unit_test(test_concurrency_bound),
        cmocka_unit_test(test_sync_completion),
        cmocka_unit_test(test_backoff_delay_table),
        cmocka_unit_test(test_backoff_live),
        cmocka_unit_test(test_backoff_adds_and_forget),
        cmocka_unit_test(test_bucket_fake_clock),
        cmocka_unit_test(test_rate_limit_spacing),
        cmocka_unit_test(test_close_in_flight),
        cmocka_unit_test(test_close_from_handler),
        cmocka_unit_test(test_close_idle_and_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
