/*
 * ledger_gs.c - the gs:// ledger: load, conditional put with merge on
 * conflict, conditional delete (see ledger_gs.h).
 *
 * A put or delete is a small state machine driven by Storage callbacks:
 *
 *   write --ok--> done
 *     | 412/304
 *     v
 *   (wait: 0 the first time, backoff after)  -> re-read --404--> write (gen 0)
 *                                                 | ok
 *                                                 v
 *                                           merge (put) / check owned (delete)
 *                                                 -> write (gen just read)
 *
 * The record to write is recomputed each round as the union of this
 * writer's record and the latest record read, so it never depends on a
 * record older than the generation it is conditioned on.
 */
#include "ledger_gs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/gcp/gcs.h"
#include "controller/gcp/storage.h"

#define LEDGER_GS_RETRY                                                                            \
    {                                                                                              \
        100u, 5000u, 8u, 60000u                                                                    \
    }

struct gen {
    char *app;
    long long generation; /* 0: not known to exist */
    bool busy;            /* a put or delete is in flight */
};

struct ledger_gs {
    uv_loop_t *loop;
    struct gstorage st;
    struct gcs_location loc;
    struct backoff_policy retry;
    struct gen *gens; /* sorted by app */
    size_t n_gens, cap_gens;
    bool loading;
};

/* ---- generations ---- */

static size_t gen_find(const struct ledger_gs *g, const char *app, bool *found)
{
    size_t lo = 0, hi = g->n_gens;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(g->gens[mid].app, app);

        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct gen *gen_get(struct ledger_gs *g, const char *app)
{
    bool found;
    size_t i = gen_find(g, app, &found);

    if (!found) {
        XGROW(g->gens, g->n_gens + 1, g->cap_gens);
        memmove(&g->gens[i + 1], &g->gens[i], (g->n_gens - i) * sizeof(*g->gens));
        g->n_gens++;
        g->gens[i] = (struct gen){xstrdup(app), 0, false};
    }
    return &g->gens[i];
}

static void gens_release(struct ledger_gs *g)
{
    for (size_t i = 0; i < g->n_gens; i++)
        free(g->gens[i].app);
    free(g->gens);
    g->gens = NULL;
    g->n_gens = g->cap_gens = 0;
}

long long ledger_gs_generation(const struct ledger_gs *g, const char *app)
{
    bool found;
    size_t i = gen_find(g, app, &found);

    return found ? g->gens[i].generation : 0;
}

static bool any_busy(const struct ledger_gs *g)
{
    for (size_t i = 0; i < g->n_gens; i++)
        if (g->gens[i].busy)
            return true;
    return false;
}

/* ---- lifecycle ---- */

int ledger_gs_new(uv_loop_t *loop, struct gcp_http *h, const char *url, struct ledger_gs **ret,
                  char **ret_errmsg)
{
    struct ledger_gs *g = xcalloc(1, sizeof(*g));
    const struct backoff_policy retry = LEDGER_GS_RETRY;
    int r;

    r = gcs_location_parse(url, &g->loc, ret_errmsg);
    if (r < 0) {
        free(g);
        return r;
    }
    g->loop = loop;
    g->retry = retry;
    gstorage_init(&g->st, h);
    *ret = g;
    return 0;
}

void ledger_gs_free(struct ledger_gs *g)
{
    if (g == NULL)
        return;
    gens_release(g);
    gstorage_release(&g->st);
    gcs_location_release(&g->loc);
    free(g);
}

void ledger_gs_set_retry(struct ledger_gs *g, const struct backoff_policy *policy)
{
    g->retry = *policy;
}

/* App names are DNS-1123 labels after validation; refuse anything else, as
 * the file:// store does. */
static bool safe_name(const char *app, size_t n)
{
    if (n == 0 || app[0] == '.' || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = app[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static char *object_name(const struct ledger_gs *g, const char *app)
{
    return xasprintf("%s%s.json", g->loc.prefix, app);
}

/* ---- load ---- */

struct load;

struct rec {
    struct load *ld;
    const struct gcs_object *o; /* borrowed from ld->objs */
    char *app;
    struct ledger_app a;
    bool have;
};

struct load {
    struct ledger_gs *g;
    struct gcs_objects objs;
    struct rec *recs;
    size_t pending;
    int err;
    char *errmsg;
    ledger_gs_load_cb *cb;
    void *data;
};

/* Is name `PREFIX/APP.json` with a safe APP? */
static bool is_record(const char *name, void *data)
{
    const struct ledger_gs *g = data;
    size_t plen = strlen(g->loc.prefix), n = strlen(name);

    if (strncmp(name, g->loc.prefix, plen) != 0 || !str_has_suffix(name, ".json"))
        return false;
    return safe_name(name + plen, n - plen - strlen(".json"));
}

static void load_free(struct load *ld)
{
    for (size_t i = 0; ld->recs != NULL && i < ld->objs.n; i++) {
        free(ld->recs[i].app);
        ledger_app_release(&ld->recs[i].a);
    }
    free(ld->recs);
    gcs_objects_release(&ld->objs);
    free(ld->errmsg);
    free(ld);
}

static int rec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rec *)a)->app, ((const struct rec *)b)->app);
}

static void load_finish(struct load *ld)
{
    struct ledger_gs *g = ld->g;
    struct ledger l;

    g->loading = false;
    if (ld->err < 0) {
        ld->cb(g, ld->err, ld->errmsg, NULL, ld->data);
        load_free(ld);
        return;
    }
    ledger_init(&l);
    gens_release(g);
    if (ld->objs.n > 1)
        qsort(ld->recs, ld->objs.n, sizeof(*ld->recs), rec_cmp);
    for (size_t i = 0; i < ld->objs.n; i++) {
        struct rec *r = &ld->recs[i];

        gen_get(g, r->app)->generation = r->o->generation;
        XGROW(l.apps, l.n + 1, l.cap);
        l.apps[l.n++] = r->a;
        memset(&r->a, 0, sizeof(r->a));
    }
    ld->cb(g, 0, NULL, &l, ld->data);
    ledger_release(&l);
    load_free(ld);
}

static void load_error(struct load *ld, int err, char *msg)
{
    if (ld->err == 0) {
        ld->err = err;
        ld->errmsg = msg;
    } else {
        free(msg);
    }
}

static void rec_read(void *data, int err, long status, const char *errmsg, const char *body,
                     size_t len, long long generation)
{
    struct rec *r = data;
    struct load *ld = r->ld;
    struct err_detail ed = {0};

    (void)status;
    (void)generation;
    if (err < 0) {
        load_error(ld, err, xstrdup(errmsg));
    } else if ((err = ledger_app_decode(body, len, &r->a, &ed)) < 0) {
        load_error(ld, err,
                   xasprintf("cannot read 'gs://%s/%s': bad ledger record: %s%s%s",
                             ld->g->loc.bucket, r->o->name, ed.path != NULL ? ed.path : "",
                             ed.path != NULL && ed.path[0] != '\0' ? ": " : "",
                             ed.msg != NULL ? ed.msg : err_str(err)));
    } else if (strcmp(r->a.app, r->app) != 0) {
        load_error(ld, ERR_PARSE,
                   xasprintf("cannot read 'gs://%s/%s': the record is of app '%s'",
                             ld->g->loc.bucket, r->o->name, r->a.app));
    } else {
        r->have = true;
    }
    err_detail_release(&ed);
    if (--ld->pending == 0)
        load_finish(ld);
}

static void load_listed(void *data, int err, const char *errmsg, struct gcs_objects *objs)
{
    struct load *ld = data;
    struct ledger_gs *g = ld->g;
    size_t plen = strlen(g->loc.prefix);

    if (err < 0) {
        load_error(ld, err, xstrdup(errmsg));
        load_finish(ld);
        return;
    }
    ld->objs = *objs;
    gcs_objects_init(objs);
    if (ld->objs.n > CAP_LEDGER_APPS) {
        load_error(ld, ERR_LIMIT,
                   xasprintf("cannot load the ledger 'gs://%s/%s': more than %u records",
                             g->loc.bucket, g->loc.prefix, CAP_LEDGER_APPS));
        load_finish(ld);
        return;
    }
    ld->recs = xcalloc(ld->objs.n + 1, sizeof(*ld->recs));
    for (size_t i = 0; i < ld->objs.n; i++) {
        const struct gcs_object *o = &ld->objs.v[i];
        struct rec *r = &ld->recs[i];

        r->ld = ld;
        r->o = o;
        r->app = xstrndup(o->name + plen, strlen(o->name) - plen - strlen(".json"));
    }
    for (size_t i = 0; i < ld->objs.n && ld->err == 0; i++) {
        const struct gcs_object *o = &ld->objs.v[i];
        int r = gstorage_get_media(&g->st, g->loc.bucket, o->name, o->generation, rec_read,
                                   &ld->recs[i]);
        if (r < 0)
            load_error(
                ld, r,
                xasprintf("cannot read 'gs://%s/%s': %s", g->loc.bucket, o->name, err_str(r)));
        else
            ld->pending++;
    }
    if (ld->pending == 0)
        load_finish(ld);
}

int ledger_gs_load(struct ledger_gs *g, ledger_gs_load_cb *cb, void *data)
{
    struct load *ld;
    int r;

    if (cb == NULL || g->loading || any_busy(g))
        return ERR_INVAL;
    ld = xcalloc(1, sizeof(*ld));
    ld->g = g;
    ld->cb = cb;
    ld->data = data;
    gcs_objects_init(&ld->objs);
    r = gstorage_list(&g->st, g->loc.bucket, g->loc.prefix, is_record, g, load_listed, ld);
    if (r < 0) {
        free(ld);
        return r;
    }
    g->loading = true;
    return 0;
}

/* ---- put and delete ---- */

struct op {
    struct ledger_gs *g;
    char *app;
    char *object;
    bool del;
    struct ledger_app mine;    /* put: this writer's record */
    struct ledger_app current; /* put: what the next write sends */
    struct ledger_app theirs;  /* the record last re-read (delete: kept) */
    long long expected;        /* ifGenerationMatch of the next write */
    bool merged;
    unsigned conflicts;
    struct backoff bo;
    ledger_gs_write_cb *cb;
    void *data;
};

static void op_free(struct op *op)
{
    ledger_app_release(&op->mine);
    ledger_app_release(&op->current);
    ledger_app_release(&op->theirs);
    free(op->app);
    free(op->object);
    free(op);
}

/* Ends the call: the generation is remembered (0 forgets it). */
static void op_finish(struct op *op, int err, const char *msg, const struct ledger_app *stored,
                      long long generation)
{
    struct gen *gen = gen_get(op->g, op->app);

    gen->busy = false;
    gen->generation = generation;
    op->cb(op->g, err, msg, stored, op->merged, op->data);
    op_free(op);
}

/* Ends the call with an error, keeping the remembered generation. */
static void op_fail(struct op *op, int err, const char *msg)
{
    op_finish(op, err, msg, NULL, ledger_gs_generation(op->g, op->app));
}

static int op_write(struct op *op);
static int op_reread(struct op *op);

static void op_step_failed(struct op *op, int r)
{
    char *msg = xasprintf("cannot %s 'gs://%s/%s': %s", op->del ? "delete" : "write",
                          op->g->loc.bucket, op->object, err_str(r));

    op_fail(op, r, msg);
    free(msg);
}

static void timer_closed(uv_handle_t *t)
{
    free(t);
}

static void timer_fired(uv_timer_t *t)
{
    struct op *op = t->data;
    int r;

    uv_close((uv_handle_t *)t, timer_closed);
    r = op_reread(op);
    if (r < 0)
        op_step_failed(op, r);
}

/* A conditional write failed: re-read now (first conflict) or after a
 * backoff delay, or give up when the budget is spent. */
static void op_conflict(struct op *op)
{
    uint64_t delay = 0;
    uv_timer_t *t;
    int r;

    op->conflicts++;
    if (backoff_next(&op->bo, 0, &delay) < 0) {
        char *msg =
            xasprintf("cannot %s 'gs://%s/%s': another writer kept changing it, gave up "
                      "after %u conflicts",
                      op->del ? "delete" : "write", op->g->loc.bucket, op->object, op->conflicts);
        op_fail(op, ERR_CONFLICT, msg);
        free(msg);
        return;
    }
    if (op->conflicts == 1)
        delay = 0; /* the usual race: the other writer is done, re-read now */
    if (delay == 0) {
        r = op_reread(op);
        if (r < 0)
            op_step_failed(op, r);
        return;
    }
    t = xcalloc(1, sizeof(*t));
    uv_timer_init(op->g->loop, t);
    t->data = op;
    uv_timer_start(t, timer_fired, delay, 0);
}

static void written(void *data, int err, long status, const char *errmsg, long long generation)
{
    struct op *op = data;

    (void)status;
    if (err == ERR_CONFLICT) {
        op_conflict(op);
    } else if (op->del && (err == 0 || err == ERR_NOTFOUND)) {
        op_finish(op, 0, NULL, NULL, 0);
    } else if (err < 0) {
        op_fail(op, err, errmsg);
    } else {
        op_finish(op, 0, NULL, &op->current, generation);
    }
}

static int op_write(struct op *op)
{
    struct ledger_gs *g = op->g;
    char *body;
    int r;

    if (op->del)
        return gstorage_delete(&g->st, g->loc.bucket, op->object, op->expected, written, op);
    body = ledger_app_encode(&op->current);
    r = gstorage_upload(&g->st, g->loc.bucket, op->object, "application/json", body, strlen(body),
                        op->expected, written, op);
    free(body);
    return r;
}

/* Delete after a re-read: keep a record that holds owned bindings. */
static void reread_delete(struct op *op, long long generation)
{
    size_t owned = 0;
    char *msg;
    int r;

    for (size_t i = 0; i < op->theirs.n; i++)
        if (op->theirs.v[i].owned)
            owned++;
    if (owned == 0) {
        op->expected = generation;
        r = op_write(op);
        if (r < 0)
            op_step_failed(op, r);
        return;
    }
    msg = xasprintf("not deleting 'gs://%s/%s': another writer recorded %zu owned binding%s in it",
                    op->g->loc.bucket, op->object, owned, owned == 1 ? "" : "s");
    op_finish(op, ERR_CONFLICT, msg, &op->theirs, generation);
    free(msg);
}

/* Put after a re-read: write the union at the generation just read. */
static void reread_put(struct op *op, long long generation)
{
    int r;

    ledger_app_release(&op->current);
    ledger_app_union(&op->current, &op->mine, &op->theirs);
    op->merged = true;
    op->expected = generation;
    r = op_write(op);
    if (r < 0)
        op_step_failed(op, r);
}

static void reread(void *data, int err, long status, const char *errmsg, const char *body,
                   size_t len, long long generation)
{
    struct op *op = data;
    struct err_detail ed = {0};
    char *msg;
    int r;

    (void)status;
    ledger_app_release(&op->theirs);
    if (err == ERR_NOTFOUND) {
        if (op->del) {
            op_finish(op, 0, NULL, NULL, 0);
            return;
        }
        /* Deleted meanwhile: nothing to merge; create it. */
        ledger_app_release(&op->current);
        ledger_app_copy(&op->current, &op->mine);
        op->expected = 0;
        r = op_write(op);
        if (r < 0)
            op_step_failed(op, r);
        return;
    }
    if (err < 0) {
        op_fail(op, err, errmsg);
        return;
    }
    if (generation <= 0) {
        msg = xasprintf("cannot read 'gs://%s/%s': the answer has no x-goog-generation",
                        op->g->loc.bucket, op->object);
        op_fail(op, ERR_PARSE, msg);
        free(msg);
        return;
    }
    err = ledger_app_decode(body, len, &op->theirs, &ed);
    if (err < 0) {
        /* Never overwrite a record that cannot be read: it may hold owned
         * bindings this writer would erase. */
        msg = xasprintf("cannot read 'gs://%s/%s': bad ledger record: %s%s%s", op->g->loc.bucket,
                        op->object, ed.path != NULL ? ed.path : "",
                        ed.path != NULL && ed.path[0] != '\0' ? ": " : "",
                        ed.msg != NULL ? ed.msg : err_str(err));
        err_detail_release(&ed);
        op_fail(op, err, msg);
        free(msg);
        return;
    }
    err_detail_release(&ed);
    if (op->del)
        reread_delete(op, generation);
    else
        reread_put(op, generation);
}

static int op_reread(struct op *op)
{
    return gstorage_get_media(&op->g->st, op->g->loc.bucket, op->object, 0, reread, op);
}

static struct op *op_new(struct ledger_gs *g, const char *app, bool del, ledger_gs_write_cb *cb,
                         void *data)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->g = g;
    op->app = xstrdup(app);
    op->object = object_name(g, app);
    op->del = del;
    op->expected = ledger_gs_generation(g, app);
    op->cb = cb;
    op->data = data;
    backoff_init(&op->bo, &g->retry, NULL, uv_hrtime() ^ (uint64_t)(uintptr_t)op);
    return op;
}

/* Starts op: the first step, and the app marked busy. */
static int op_start(struct op *op, bool reread_first)
{
    int r = reread_first ? op_reread(op) : op_write(op);

    if (r < 0) {
        op_free(op);
        return r;
    }
    gen_get(op->g, op->app)->busy = true;
    return 0;
}

static bool can_start(const struct ledger_gs *g, const char *app)
{
    bool found;
    size_t i;

    if (g->loading || !safe_name(app, strlen(app)))
        return false;
    i = gen_find(g, app, &found);
    return !found || !g->gens[i].busy;
}

int ledger_gs_put(struct ledger_gs *g, const struct ledger_app *rec, ledger_gs_write_cb *cb,
                  void *data)
{
    struct op *op;

    if (cb == NULL || rec->app == NULL || !can_start(g, rec->app))
        return ERR_INVAL;
    op = op_new(g, rec->app, false, cb, data);
    ledger_app_copy(&op->mine, rec);
    ledger_app_copy(&op->current, rec);
    return op_start(op, false);
}

int ledger_gs_delete(struct ledger_gs *g, const char *app, ledger_gs_write_cb *cb, void *data)
{
    struct op *op;

    if (cb == NULL || app == NULL || !can_start(g, app))
        return ERR_INVAL;
    op = op_new(g, app, true, cb, data);
    /* Without a known generation, first see what is there. */
    return op_start(op, op->expected == 0);
}
