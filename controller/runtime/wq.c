/*
 * wq.c - the keyed work queue (see wq.h).
 *
 * Every key the queue knows has one struct wq_item in a chained hash table.
 * An item is in exactly one state: QUEUED (in the FIFO list of its
 * priority), RUNNING (its handler has not called wq_done yet), WAITING (in a
 * binary min-heap ordered by due time, waiting out its backoff) or IDLE.  An
 * IDLE item with no failures to remember is freed at once, so memory follows
 * the keys in flight plus the keys that are failing.
 *
 * One uv timer does all the waking: it is armed for 0 ms when a key can
 * start now, for the time until the next token when only the rate limit
 * holds work back, or for the earliest backoff due time; it is stopped when
 * there is nothing to wait for, so an idle queue does not keep the loop
 * alive.  All starts happen in the timer callback (dispatch()).
 */
#include "wq.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/err.h"
#include "api/common/xalloc.h"

enum item_state { ST_IDLE, ST_QUEUED, ST_RUNNING, ST_WAITING };

struct wq_item {
    char *key;
    uint64_t hash;
    struct wq_item *hnext;       /* hash chain */
    struct wq_item *prev, *next; /* priority list, when QUEUED */
    size_t heap_idx;             /* when WAITING */
    uint64_t due_ms;             /* when WAITING: clock reading to requeue at */
    unsigned failures;           /* consecutive, reset on success */
    unsigned char state;
    unsigned char prio;       /* QUEUED: its list; WAITING/RUNNING: the list it goes back to */
    bool dirty;               /* added again while RUNNING */
    unsigned char dirty_prio; /* the best priority of those adds */
};

struct wq_list {
    struct wq_item *head, *tail;
    size_t n;
};

struct wq {
    uv_loop_t *loop;
    uv_timer_t timer;
    struct wq_config cfg;
    wq_handler_fn *handler;
    void *data;

    struct wq_item **table; /* hash buckets, a power of two */
    size_t table_size;
    size_t nitems;

    struct wq_list lists[WQ_PRIO_MAX];
    struct wq_item **heap;
    size_t heap_n, heap_cap;

    struct wq_bucket bucket;
    uint64_t rng;
    size_t running;
    struct wq_stats st; /* counters only; gauges are computed */

    bool dispatching; /* inside dispatch(): it arms the timer when it ends */
    bool closing;
    bool close_started;
    wq_close_fn *close_cb;
    void *close_data;
};

/* ---- pure helpers ---- */

uint64_t wq_backoff_delay(uint64_t base_ms, uint64_t cap_ms, unsigned n, uint64_t rnd)
{
    uint64_t c, lo;

    if (base_ms == 0)
        base_ms = WQ_DEFAULT_BACKOFF_BASE_MS;
    if (cap_ms == 0)
        cap_ms = WQ_DEFAULT_BACKOFF_CAP_MS;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    c = base_ms;
    /* Doubling stops at the cap, so it cannot overflow. */
    for (unsigned i = 1; i < n && c < cap_ms; i++)
        c = c > cap_ms / 2 ? cap_ms : c * 2;
    if (c > cap_ms)
        c = cap_ms;
    lo = c / 2;
    return lo + rnd % (c - lo + 1);
}

void wq_bucket_init(struct wq_bucket *b, double rate, unsigned burst, uint64_t now_ms)
{
    b->rate = rate;
    b->burst = burst == 0 ? 1.0 : (double)burst;
    b->tokens = b->burst;
    b->last_ms = now_ms;
}

static void bucket_refill(struct wq_bucket *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ms = now_ms;
}

/* 0 when a token is there now, else the milliseconds until one is. */
static uint64_t bucket_wait(struct wq_bucket *b, uint64_t now_ms)
{
    /* Tolerate rounding: 20 ms at 50/s must give a whole token. */
    const double one = 1.0 - 1e-9;

    if (b->rate <= 0)
        return 0;
    bucket_refill(b, now_ms);
    if (b->tokens >= one)
        return 0;
    /* Truncation plus one: never early, at most a millisecond late. */
    return (uint64_t)((one - b->tokens) * 1000.0 / b->rate) + 1;
}

bool wq_bucket_take(struct wq_bucket *b, uint64_t now_ms, uint64_t *ret_wait_ms)
{
    uint64_t wait = bucket_wait(b, now_ms);

    if (wait != 0) {
        *ret_wait_ms = wait;
        return false;
    }
    if (b->rate > 0)
        b->tokens = b->tokens >= 1.0 ? b->tokens - 1.0 : 0.0;
    return true;
}

/* ---- randomness, hashing ---- */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t next_random(struct wq *q)
{
    uint64_t x = q->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    q->rng = x;
    return x;
}

static uint64_t hash_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return splitmix(h);
}

/* ---- the item table ---- */

static struct wq_item *table_find(const struct wq *q, const char *key, uint64_t h)
{
    struct wq_item *it = q->table[h & (q->table_size - 1)];

    for (; it != NULL; it = it->hnext)
        if (it->hash == h && strcmp(it->key, key) == 0)
            return it;
    return NULL;
}

static void table_grow(struct wq *q)
{
    size_t n = q->table_size * 2;
    struct wq_item **t = xcalloc(n, sizeof(struct wq_item *));

    for (size_t i = 0; i < q->table_size; i++) {
        struct wq_item *it = q->table[i], *next;

        for (; it != NULL; it = next) {
            next = it->hnext;
            it->hnext = t[it->hash & (n - 1)];
            t[it->hash & (n - 1)] = it;
        }
    }
    free(q->table);
    q->table = t;
    q->table_size = n;
}

static struct wq_item *item_get(struct wq *q, const char *key)
{
    uint64_t h = hash_key(key);
    struct wq_item *it = table_find(q, key, h);
    size_t slot;

    if (it != NULL)
        return it;
    if (q->nitems >= q->table_size)
        table_grow(q);
    it = xcalloc(1, sizeof(*it));
    it->key = xstrdup(key);
    it->hash = h;
    it->state = ST_IDLE;
    it->prio = WQ_PERIODIC;
    slot = h & (q->table_size - 1);
    it->hnext = q->table[slot];
    q->table[slot] = it;
    q->nitems++;
    return it;
}

/* Unlinks it from the table and frees it; it must be IDLE. */
static void item_free(struct wq *q, struct wq_item *it)
{
    struct wq_item **pp = &q->table[it->hash & (q->table_size - 1)];

    assert(it->state == ST_IDLE);
    while (*pp != it)
        pp = &(*pp)->hnext;
    *pp = it->hnext;
    q->nitems--;
    free(it->key);
    free(it);
}

static void item_drop_if_idle(struct wq *q, struct wq_item *it)
{
    if (it->state == ST_IDLE && it->failures == 0)
        item_free(q, it);
}

/* ---- priority lists ---- */

static void list_push(struct wq_list *l, struct wq_item *it)
{
    it->next = NULL;
    it->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->n++;
}

static void list_remove(struct wq_list *l, struct wq_item *it)
{
    if (it->prev != NULL)
        it->prev->next = it->next;
    else
        l->head = it->next;
    if (it->next != NULL)
        it->next->prev = it->prev;
    else
        l->tail = it->prev;
    it->prev = it->next = NULL;
    l->n--;
}

/* ---- the backoff heap (min by due_ms) ---- */

static void heap_set(struct wq *q, size_t i, struct wq_item *it)
{
    q->heap[i] = it;
    it->heap_idx = i;
}

static void heap_sift_up(struct wq *q, size_t i)
{
    struct wq_item *it = q->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (q->heap[parent]->due_ms <= it->due_ms)
            break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, it);
}

static void heap_sift_down(struct wq *q, size_t i)
{
    struct wq_item *it = q->heap[i];

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t best = it->due_ms;

        if (l < q->heap_n && q->heap[l]->due_ms < best) {
            m = l;
            best = q->heap[l]->due_ms;
        }
        if (r < q->heap_n && q->heap[r]->due_ms < best)
            m = r;
        if (m == i)
            break;
        heap_set(q, i, q->heap[m]);
        i = m;
    }
    heap_set(q, i, it);
}

static void heap_push(struct wq *q, struct wq_item *it)
{
    if (q->heap_n == q->heap_cap) {
        q->heap_cap = q->heap_cap == 0 ? 64 : q->heap_cap * 2;
        q->heap = xreallocarray(q->heap, q->heap_cap, sizeof(struct wq_item *));
    }
    heap_set(q, q->heap_n, it);
    q->heap_n++;
    heap_sift_up(q, q->heap_n - 1);
}

static void heap_remove(struct wq *q, struct wq_item *it)
{
    size_t i = it->heap_idx;
    struct wq_item *last;

    assert(i < q->heap_n && q->heap[i] == it);
    q->heap_n--;
    if (i == q->heap_n)
        return;
    last = q->heap[q->heap_n];
    heap_set(q, i, last);
    if (i > 0 && q->heap[(i - 1) / 2]->due_ms > last->due_ms)
        heap_sift_up(q, i);
    else
        heap_sift_down(q, i);
}

/* ---- state changes ---- */

static uint64_t now_ms(const struct wq *q)
{
    return clock_mono_ms(q->cfg.clock);
}

static void enqueue(struct wq *q, struct wq_item *it, unsigned prio)
{
    it->state = ST_QUEUED;
    it->prio = (unsigned char)prio;
    list_push(&q->lists[prio], it);
}

/* Applies one add of prio to it, whatever its state (see wq.h). */
static void add_to(struct wq *q, struct wq_item *it, unsigned prio)
{
    switch (it->state) {
    case ST_IDLE:
        enqueue(q, it, prio);
        break;
    case ST_QUEUED:
        if (prio < it->prio) {
            list_remove(&q->lists[it->prio], it);
            enqueue(q, it, prio);
        }
        break;
    case ST_RUNNING:
        it->dirty_prio = it->dirty ? (unsigned char)(prio < it->dirty_prio ? prio : it->dirty_prio)
                                   : (unsigned char)prio;
        it->dirty = true;
        break;
    case ST_WAITING:
        if (prio == WQ_EVENT) {
            heap_remove(q, it);
            enqueue(q, it, prio);
        } else if (prio < it->prio) {
            it->prio = (unsigned char)prio;
        }
        break;
    default:
        assert(!"bad item state");
    }
}

static size_t queued_total(const struct wq *q)
{
    size_t n = 0;

    for (unsigned p = 0; p < WQ_PRIO_MAX; p++)
        n += q->lists[p].n;
    return n;
}

static void on_timer(uv_timer_t *t);

/* Arms the timer for the next thing to do, or stops it. */
static void arm(struct wq *q)
{
    uint64_t now, delay = UINT64_MAX;

    if (q->dispatching || q->close_started)
        return;
    if (q->closing) {
        uv_timer_stop(&q->timer);
        return;
    }
    now = now_ms(q);
    if (queued_total(q) > 0 && q->running < q->cfg.workers)
        delay = bucket_wait(&q->bucket, now);
    if (q->heap_n > 0) {
        uint64_t due = q->heap[0]->due_ms;
        uint64_t d = due > now ? due - now : 0;

        if (d < delay)
            delay = d;
    }
    if (delay == UINT64_MAX)
        uv_timer_stop(&q->timer);
    else
        uv_timer_start(&q->timer, on_timer, delay, 0);
}

static void promote_due(struct wq *q, uint64_t now)
{
    while (q->heap_n > 0 && q->heap[0]->due_ms <= now) {
        struct wq_item *it = q->heap[0];

        heap_remove(q, it);
        enqueue(q, it, it->prio);
    }
}

static struct wq_item *pop_next(struct wq *q)
{
    for (unsigned p = 0; p < WQ_PRIO_MAX; p++) {
        struct wq_item *it = q->lists[p].head;

        if (it != NULL) {
            list_remove(&q->lists[p], it);
            return it;
        }
    }
    return NULL;
}

static void dispatch(struct wq *q)
{
    uint64_t wait;

    q->dispatching = true;
    promote_due(q, now_ms(q));
    while (!q->closing && q->running < q->cfg.workers && queued_total(q) > 0) {
        struct wq_item *it;

        if (!wq_bucket_take(&q->bucket, now_ms(q), &wait))
            break;
        it = pop_next(q);
        it->state = ST_RUNNING;
        it->dirty = false;
        q->running++;
        q->st.started++;
        q->handler(q, it->key, q->data, it);
    }
    q->dispatching = false;
    arm(q);
}

static void on_timer(uv_timer_t *t)
{
    dispatch(t->data);
}

/* ---- public API ---- */

int wq_new(uv_loop_t *loop, const struct wq_config *cfg, wq_handler_fn *handler, void *data,
           struct wq **ret)
{
    struct wq *q;
    int rc;

    if (loop == NULL || handler == NULL || (cfg != NULL && !(cfg->rate >= 0)))
        return ERR_INVAL;
    q = xcalloc(1, sizeof(*q));
    if (cfg != NULL)
        q->cfg = *cfg;
    if (q->cfg.workers == 0)
        q->cfg.workers = WQ_DEFAULT_WORKERS;
    rc = uv_timer_init(loop, &q->timer);
    if (rc < 0) {
        free(q);
        return ERR_IO;
    }
    q->timer.data = q;
    q->loop = loop;
    q->handler = handler;
    q->data = data;
    q->table_size = 64;
    q->table = xcalloc(q->table_size, sizeof(struct wq_item *));
    q->rng = splitmix(q->cfg.seed != 0 ? q->cfg.seed : uv_hrtime());
    if (q->rng == 0)
        q->rng = 0x9e3779b97f4a7c15u;
    wq_bucket_init(&q->bucket, q->cfg.rate, q->cfg.burst, now_ms(q));
    *ret = q;
    return 0;
}

int wq_add(struct wq *q, const char *key, enum wq_prio prio)
{
    struct wq_item *it;

    if (key == NULL || key[0] == '\0' || (unsigned)prio >= WQ_PRIO_MAX)
        return ERR_INVAL;
    if (q->closing)
        return ERR_CANCELLED;
    it = item_get(q, key);
    q->st.added++;
    if (it->state != ST_IDLE)
        q->st.deduped++;
    add_to(q, it, prio);
    arm(q);
    return 0;
}

static void on_timer_closed(uv_handle_t *h);

/* Closing: once no handler runs, closes the timer; its close callback frees
 * q, so q stays valid until the loop runs close callbacks. */
static void finish_close(struct wq *q)
{
    if (q->running > 0 || q->close_started)
        return;
    q->close_started = true;
    uv_close((uv_handle_t *)&q->timer, on_timer_closed);
}

uint64_t wq_done(struct wq *q, struct wq_item *it, int err)
{
    uint64_t delay = 0;

    assert(it->state == ST_RUNNING);
    assert(q->running > 0);
    q->running--;
    it->state = ST_IDLE;
    if (q->closing) {
        it->failures = 0;
        item_free(q, it);
        finish_close(q);
        return 0;
    }
    if (err >= 0) {
        it->failures = 0;
    } else {
        it->failures++;
        delay = wq_backoff_delay(q->cfg.backoff_base_ms, q->cfg.backoff_cap_ms, it->failures,
                                 next_random(q));
        it->due_ms = now_ms(q) + delay;
        it->state = ST_WAITING;
        heap_push(q, it);
        q->st.retries++;
    }
    if (it->dirty) {
        it->dirty = false;
        add_to(q, it, it->dirty_prio);
    }
    item_drop_if_idle(q, it);
    arm(q);
    return delay;
}

void wq_forget(struct wq *q, const char *key)
{
    struct wq_item *it;

    if (key == NULL)
        return;
    it = table_find(q, key, hash_key(key));
    if (it == NULL)
        return;
    it->failures = 0;
    if (it->state == ST_WAITING) {
        heap_remove(q, it);
        it->state = ST_IDLE;
    }
    item_drop_if_idle(q, it);
    arm(q);
}

const char *wq_item_key(const struct wq_item *it)
{
    return it->key;
}

unsigned wq_item_failures(const struct wq_item *it)
{
    return it->failures;
}

void wq_stats(const struct wq *q, struct wq_stats *ret)
{
    *ret = q->st;
    for (unsigned p = 0; p < WQ_PRIO_MAX; p++)
        ret->queued[p] = q->lists[p].n;
    ret->running = q->running;
    ret->waiting = q->heap_n;
}

static void free_all(struct wq *q)
{
    for (size_t i = 0; i < q->table_size; i++) {
        struct wq_item *it = q->table[i], *next;

        for (; it != NULL; it = next) {
            next = it->hnext;
            free(it->key);
            free(it);
        }
    }
    free(q->table);
    free(q->heap);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct wq *q = h->data;
    wq_close_fn *cb = q->close_cb;
    void *data = q->close_data;

    free_all(q);
    free(q);
    if (cb != NULL)
        cb(data);
}

/* Drops every key that is not running. */
static void cancel_pending(struct wq *q)
{
    for (size_t i = 0; i < q->table_size; i++) {
        struct wq_item *it = q->table[i], *next;

        for (; it != NULL; it = next) {
            next = it->hnext;
            if (it->state == ST_RUNNING) {
                it->dirty = false;
                continue;
            }
            if (it->state == ST_QUEUED) {
                list_remove(&q->lists[it->prio], it);
                q->st.cancelled++;
            } else if (it->state == ST_WAITING) {
                heap_remove(q, it);
                q->st.cancelled++;
            }
            it->state = ST_IDLE;
            item_free(q, it);
        }
    }
}

void wq_close(struct wq *q, wq_close_fn *cb, void *data)
{
    assert(!q->closing);
    q->closing = true;
    q->close_cb = cb;
    q->close_data = data;
    cancel_pending(q);
    uv_timer_stop(&q->timer);
    finish_close(q);
}
