/*
 * diff.c - plan_diff(): desired x live x ledger -> changes, notes, pending
 * resources, per-app status and the successor ledger (DESIGN.md §2).
 *
 * The driver works in sorted order throughout, so that a pass over 10,000
 * resources costs a few sorts rather than a lookup per binding:
 *   1. the app table: every app named by the source, the desired state or
 *      the ledger, sorted, each with its state (accepted, rejected, deleted,
 *      unknown);
 *   2. refs: one per declared binding and per ledger entry, sorted by key;
 *      authoritative rules sorted by resource; the resource list;
 *   3. per resource: pending (declared but missing live), unread (only in
 *      the ledger and not read: left alone) or read;
 *   4. ownership conflicts over the read resources (diff_owner.c), which may
 *      reject apps;
 *   5. per read resource, the outcome (diff_key.c); pending and unread
 *      resources keep every ledger record as it was;
 *   6. statuses, notes and the successor ledger.
 */
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "diff_int.h"
#include "plan_int.h"

/* ---- the app table ---- */

static int cstr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void push(const char ***v, size_t *n, size_t *cap, const char *s)
{
    if (s == NULL)
        return;
    XGROW(*v, *n + 1, *cap);
    (*v)[(*n)++] = s;
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != NULL && strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* An app name and whether it came from the desired state. */
struct aname {
    const char *name;
    bool declares;
};

struct anames {
    struct aname *v;
    size_t n, cap;
};

static void push_name(struct anames *a, const char *name, bool declares)
{
    if (name == NULL)
        return;
    XGROW(a->v, a->n + 1, a->cap);
    a->v[a->n++] = (struct aname){name, declares};
}

static int aname_cmp(const void *x, const void *y)
{
    const struct aname *a = x, *b = y;
    int r = strcmp(a->name, b->name);

    return r != 0 ? r : (int)b->declares - (int)a->declares;
}

static void collect_app_names(const struct diff_input *in, struct anames *a)
{
    const struct desired *d = in->desired;

    for (size_t i = 0; i < in->n_present_apps; i++)
        push_name(a, in->present_apps[i], false);
    for (size_t i = 0; i < in->n_rejected_apps; i++)
        push_name(a, in->rejected_apps[i], false);
    for (size_t i = 0; d != NULL && i < d->n; i++)
        push_name(a, d->v[i].app, true);
    for (size_t i = 0; d != NULL && i < d->n_auth; i++)
        push_name(a, d->auth[i].app, true);
    for (size_t i = 0; d != NULL && i < d->n_ident; i++)
        push_name(a, d->ident[i].app, true);
    for (size_t i = 0; in->ledger != NULL && i < in->ledger->n; i++)
        push_name(a, in->ledger->apps[i].app, false);
    if (a->n > 1)
        qsort(a->v, a->n, sizeof(*a->v), aname_cmp);
}

static enum dapp_state app_state(const struct diff_input *in, const char *name, bool declares)
{
    if (in_list(in->rejected_apps, in->n_rejected_apps, name))
        return DAPP_REJECTED;
    if (declares || in_list(in->present_apps, in->n_present_apps, name))
        return DAPP_ACCEPTED;
    return in->listing_complete ? DAPP_DELETED : DAPP_UNKNOWN;
}

static void build_apps(struct diff *df)
{
    const struct diff_input *in = df->in;
    struct anames names = {NULL, 0, 0};

    collect_app_names(in, &names);
    df->apps = xcalloc(names.n + 1, sizeof(*df->apps));
    for (size_t i = 0; i < names.n; i++) {
        const struct aname *nm = &names.v[i];
        struct dapp *a;

        /* Sorted with the declaring entry first: the rest are repeats. */
        if (i > 0 && strcmp(nm->name, names.v[i - 1].name) == 0)
            continue;
        a = &df->apps[df->n_apps++];
        a->name = nm->name;
        a->before = ledger_find_app(in->ledger, nm->name);
        a->state = app_state(in, nm->name, nm->declares);
        err_list_init(&a->errs);
        a->next.app = xstrdup(nm->name);
        a->next.revision = xstrdup_or_null(
            a->state == DAPP_ACCEPTED || a->before == NULL ? in->revision : a->before->revision);
    }
    free(names.v);
}

/* ---- refs, rules, resources ---- */

static int ref_cmp(const void *x, const void *y)
{
    const struct dref *a = x, *b = y;
    int r = plan_key_cmp(a->resource, a->role, a->cond, a->member, b->resource, b->role, b->cond,
                         b->member);

    if (r != 0)
        return r;
    if (a->app != b->app)
        return a->app < b->app ? -1 : 1;
    if ((a->d != NULL) != (b->d != NULL))
        return a->d != NULL ? -1 : 1;
    /* Keep the order of the input among equals (qsort is not stable). */
    if (a->d != NULL)
        return (a->d > b->d) - (a->d < b->d);
    return (a->e > b->e) - (a->e < b->e);
}

static void add_ref(struct diff *df, size_t *cap, const struct dref *r)
{
    XGROW(df->refs, df->n_refs + 1, *cap);
    df->refs[df->n_refs++] = *r;
}

static void build_refs(struct diff *df)
{
    const struct desired *d = df->in->desired;
    const struct ledger *l = df->in->ledger;
    size_t cap = 0;

    for (size_t i = 0; d != NULL && i < d->n; i++) {
        const struct desired_binding *b = &d->v[i];
        struct dref r = {
            b->resource, b->role, b->cond, b->member, b, NULL, diff_app_find(df, b->app)};

        if (df->apps[r.app].state == DAPP_ACCEPTED)
            add_ref(df, &cap, &r);
    }
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        size_t app = diff_app_find(df, l->apps[i].app);

        for (size_t j = 0; app != (size_t)-1 && j < l->apps[i].n; j++) {
            const struct ledger_entry *e = &l->apps[i].v[j];
            struct dref r = {e->resource, e->role, e->cond, e->member, NULL, e, app};

            if (e->resource != NULL && e->role != NULL && e->member != NULL)
                add_ref(df, &cap, &r);
        }
    }
    if (df->n_refs > 1)
        qsort(df->refs, df->n_refs, sizeof(*df->refs), ref_cmp);
}

static int auth_cmp(const void *x, const void *y)
{
    const struct desired_auth *a = *(const struct desired_auth *const *)x;
    const struct desired_auth *b = *(const struct desired_auth *const *)y;
    int r = strcmp(a->resource, b->resource);

    if (r == 0)
        r = strcmp(a->app, b->app);
    if (r == 0)
        r = str_cmp0(a->origin, b->origin);
    return r;
}

static int ident_cmp(const void *x, const void *y)
{
    const struct desired_identity *a = *(const struct desired_identity *const *)x;
    const struct desired_identity *b = *(const struct desired_identity *const *)y;

    return strcmp(a->resource, b->resource);
}

static void build_rules(struct diff *df)
{
    const struct desired *d = df->in->desired;

    if (d == NULL)
        return;
    if (d->n_auth > 0) {
        df->auth = xreallocarray(NULL, d->n_auth, PLAN_PTR_SIZE);
        for (size_t i = 0; i < d->n_auth; i++)
            df->auth[df->n_auth++] = &d->auth[i];
        qsort(df->auth, df->n_auth, PLAN_PTR_SIZE, auth_cmp);
    }
    if (d->n_ident > 0) {
        df->ident = xreallocarray(NULL, d->n_ident, PLAN_PTR_SIZE);
        for (size_t i = 0; i < d->n_ident; i++)
            df->ident[df->n_ident++] = &d->ident[i];
        qsort(df->ident, df->n_ident, PLAN_PTR_SIZE, ident_cmp);
    }
}

static void build_resources(struct diff *df)
{
    const char **v = NULL;
    size_t n = 0, cap = 0;

    for (size_t i = 0; i < df->n_refs; i++)
        push(&v, &n, &cap, df->refs[i].resource);
    for (size_t i = 0; i < df->n_auth; i++)
        push(&v, &n, &cap, df->auth[i]->resource);
    for (size_t i = 0; i < df->n_ident; i++)
        push(&v, &n, &cap, df->ident[i]->resource);
    if (n > 1)
        qsort(v, n, sizeof(*v), cstr_cmp);
    df->res = xcalloc(n + 1, sizeof(*df->res));
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            df->res[df->n_res++] = v[i];
    free(v);
}

/* Ranges of refs, authoritative rules and identities per resource (all
 * sorted by resource first). */
static void ranges(const struct diff *df, struct drange *rr, struct drange *ar, struct drange *ir)
{
    size_t ri = 0, ai = 0, ii = 0;

    for (size_t r = 0; r < df->n_res; r++) {
        const char *name = df->res[r];

        rr[r].lo = ri;
        while (ri < df->n_refs && strcmp(df->refs[ri].resource, name) == 0)
            ri++;
        rr[r].hi = ri;
        ar[r].lo = ai;
        while (ai < df->n_auth && strcmp(df->auth[ai]->resource, name) == 0)
            ai++;
        ar[r].hi = ai;
        ir[r].lo = ii;
        while (ii < df->n_ident && strcmp(df->ident[ii]->resource, name) == 0)
            ii++;
        ir[r].hi = ii;
    }
}

/* ---- pending ---- */

/* One resource's ranges. */
struct dres {
    struct drange refs, auth, ident;
};

static bool declarer(struct diff *df, size_t app, const char *mark)
{
    struct dapp *a;

    if (app >= df->n_apps || df->apps[app].state != DAPP_ACCEPTED)
        return false;
    a = &df->apps[app];
    if (mark != NULL) {
        a->pending = true;
        if (a->n_pending_res == 0 || a->pending_res[a->n_pending_res - 1] != mark) {
            XGROW(a->pending_res, a->n_pending_res + 1, a->cap_pending_res);
            a->pending_res[a->n_pending_res++] = (char *)(uintptr_t)mark;
        }
    }
    return true;
}

/* Tells whether an accepted app declares the resource (and marks such apps
 * pending on resource mark when not NULL). */
static bool declarers(struct diff *df, const struct dres *x, const char *mark)
{
    bool any = false;

    for (size_t i = x->refs.lo; i < x->refs.hi; i++)
        if (df->refs[i].d != NULL)
            any = declarer(df, df->refs[i].app, mark) || any;
    for (size_t i = x->auth.lo; i < x->auth.hi; i++)
        any = declarer(df, diff_app_find(df, df->auth[i]->app), mark) || any;
    for (size_t i = x->ident.lo; i < x->ident.hi; i++)
        any = declarer(df, diff_app_find(df, df->ident[i]->app), mark) || any;
    return any;
}

/* The live state is looked up once per resource: an index sorted by name
 * keeps a pass over many resources from being quadratic. */
static int dlive_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dlive *)a)->name, ((const struct dlive *)b)->name);
}

static void build_live_index(struct diff *df)
{
    const struct iam_live *live = df->in->live;

    if (live == NULL || live->n == 0)
        return;
    df->live_idx = xreallocarray(NULL, live->n, sizeof(*df->live_idx));
    for (size_t i = 0; i < live->n; i++)
        df->live_idx[i] = (struct dlive){live->names[i], i};
    qsort(df->live_idx, live->n, sizeof(*df->live_idx), dlive_cmp);
}

static long live_find(const struct diff *df, const char *resource)
{
    const struct iam_live *live = df->in->live;
    size_t lo = 0, hi = live != NULL && df->live_idx != NULL ? live->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(df->live_idx[mid].name, resource);

        if (r == 0)
            return (long)df->live_idx[mid].i;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const struct iam_policy *live_policy(const struct diff *df, const char *resource,
                                            bool *ret_read)
{
    const struct iam_live *live = df->in->live;
    long i = live_find(df, resource);

    *ret_read = i >= 0;
    if (i < 0 || (live->missing != NULL && live->missing[i]))
        return NULL;
    return &live->policies[i];
}

static enum dres_state resource_state(struct diff *df, size_t r, const struct dres *x,
                                      const struct iam_policy **ret_pol)
{
    bool read;

    *ret_pol = live_policy(df, df->res[r], &read);
    if (declarers(df, x, NULL)) {
        if (*ret_pol != NULL)
            return DRES_READ;
        declarers(df, x, df->res[r]);
        XGROW(df->p->pending, df->p->n_pending + 1, df->p->cap_pending);
        df->p->pending[df->p->n_pending++] = xstrdup(df->res[r]);
        return DRES_PENDING;
    }
    /* Only in the ledger: a resource that is gone has no bindings left;
     * one that was not read is left alone. */
    return read ? DRES_READ : DRES_UNREAD;
}

/* Pending and unread resources keep every record as it was. */
static void keep_records(struct diff *df, struct drange rr)
{
    for (size_t i = rr.lo; i < rr.hi; i++) {
        const struct dref *r = &df->refs[i];

        if (r->e != NULL && !diff_frozen(df, r->app))
            ledger_app_push_copy(&df->apps[r->app].next, r->e);
    }
}

/* ---- results ---- */

static void app_results(struct diff *df)
{
    for (size_t i = 0; i < df->n_apps; i++) {
        struct dapp *a = &df->apps[i];
        struct plan_app *pa;

        if (a->state != DAPP_ACCEPTED && a->state != DAPP_REJECTED && a->before == NULL)
            continue;
        pa = plan_app_get(df->p, a->name);
        if (a->state == DAPP_REJECTED || a->conflict)
            pa->status = PLAN_APP_REJECTED;
        else if (a->pending)
            pa->status = PLAN_APP_PENDING;
        for (size_t j = 0; j < a->n_pending_res; j++) {
            XGROW(pa->pending, pa->n_pending + 1, pa->cap_pending);
            pa->pending[pa->n_pending++] = xstrdup(a->pending_res[j]);
        }
        free(a->pending_res);
        a->pending_res = NULL;
        a->n_pending_res = 0;
        err_list_extend(&pa->errs, &a->errs);
        if (a->state == DAPP_DELETED)
            plan_add_note(df->p, a->name, NULL, NULL,
                          "app '%s' is no longer in the source: its bindings are pruned as "
                          "their garbage-collect strategy says",
                          a->name);
        else if (a->state == DAPP_UNKNOWN)
            plan_add_note(df->p, a->name, NULL, NULL,
                          "app '%s' is missing from a partially read source: its bindings "
                          "are kept",
                          a->name);
    }
}

static void move_record(struct ledger *l, struct ledger_app *a)
{
    XGROW(l->apps, l->n + 1, l->cap);
    l->apps[l->n++] = *a;
    memset(a, 0, sizeof(*a));
}

static void successor_ledger(struct diff *df)
{
    struct ledger *l = &df->p->ledger;

    for (size_t i = 0; i < df->n_apps; i++) {
        struct dapp *a = &df->apps[i];

        if (diff_frozen(df, i)) {
            if (a->before != NULL)
                ledger_put_app(l, a->before);
        } else if (a->state == DAPP_ACCEPTED || a->next.n > 0) {
            move_record(l, &a->next);
        }
    }
}

static void diff_release(struct diff *df)
{
    for (size_t i = 0; i < df->n_apps; i++) {
        ledger_app_release(&df->apps[i].next);
        err_list_release(&df->apps[i].errs);
        free(df->apps[i].pending_res); /* apps app_results skipped */
    }
    free(df->apps);
    free(df->refs);
    free(df->auth);
    free(df->ident);
    free(df->res);
    free(df->live_idx);
}

static void resolve(struct diff *df, struct drange *rr, struct drange *ar, struct drange *ir,
                    enum dres_state *state, const struct iam_policy **pols)
{
    size_t changed = 0, unchanged = 0;

    for (size_t r = 0; r < df->n_res; r++) {
        struct dres x = {rr[r], ar[r], ir[r]};

        state[r] = resource_state(df, r, &x, &pols[r]);
    }
    diff_conflicts(df, state, rr, pols);
    for (size_t r = 0; r < df->n_res; r++) {
        size_t before = df->p->n_changes;

        if (state[r] != DRES_READ) {
            keep_records(df, rr[r]);
            unchanged += state[r] == DRES_UNREAD;
            continue;
        }
        diff_resource(df, df->res[r], pols[r], rr[r], ar[r]);
        if (df->p->n_changes > before)
            changed++;
        else
            unchanged++;
    }
    df->p->resources_changed = changed;
    df->p->resources_unchanged = unchanged;
}

int plan_diff(struct plan *ret, const struct diff_input *in)
{
    struct diff df;
    struct drange *rr, *ar, *ir;
    enum dres_state *state;
    const struct iam_policy **pols;

    plan_init(ret);
    memset(&df, 0, sizeof(df));
    df.in = in;
    df.p = ret;
    ret->revision = xstrdup_or_null(in->revision);
    build_apps(&df);
    build_refs(&df);
    build_rules(&df);
    build_resources(&df);
    build_live_index(&df);
    rr = xcalloc(df.n_res + 1, sizeof(*rr));
    ar = xcalloc(df.n_res + 1, sizeof(*ar));
    ir = xcalloc(df.n_res + 1, sizeof(*ir));
    state = xcalloc(df.n_res + 1, sizeof(*state));
    pols = xcalloc(df.n_res + 1, PLAN_PTR_SIZE);
    ranges(&df, rr, ar, ir);
    resolve(&df, rr, ar, ir, state, pols);
    app_results(&df);
    successor_ledger(&df);
    plan_sort(ret);
    plan_recount(ret);
    free(pols);
    free(state);
    free(ir);
    free(ar);
    free(rr);
    diff_release(&df);
    return 0;
}
