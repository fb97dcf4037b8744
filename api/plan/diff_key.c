/*
 * diff_key.c - the outcome for one read resource: authoritative removals,
 * then for every binding key what is added, what is pruned and what each
 * app's successor ledger records (DESIGN.md §2 rules 1-3).
 *
 * For one key, once the ownership roles are settled (diff_owner.c):
 *   - a frozen app (rejected, or missing from a partial listing) keeps its
 *     record as it was; any record of it is a stake that prevents pruning;
 *   - a read-only declaration writes nothing and keeps the record as it
 *     was; a missing binding becomes a note;
 *   - a declaration that owns (holder, co-owner, claimant) is recorded as
 *     owned at this revision and added when absent live, except under
 *     apply-once when this revision already applied it;
 *   - a declaration that merely finds the binding records it as found;
 *   - an owner that no longer declares the key follows its garbage-collect
 *     strategy (onAppUpdate: prune; onAppDelete: keep while the app exists;
 *     never: release), except that a key somebody else declares passes to
 *     them and a deleted app prunes everything but `never`;
 *   - a prune removes the binding only when nobody else keeps a stake in it
 *     (shared-resource reference counting).
 * Authoritative roles are settled first, per resource, so that a member the
 * rule removes is removed once, as authoritative (the guard needs to see
 * which removals empty an authoritative role).
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "diff_int.h"
#include "plan_int.h"

/* ---- authoritative roles ---- */

/* A live member an authoritative rule removes (pointers borrowed). */
struct arm {
    const char *role;
    const struct iam_cond *cond;
    const char *member;
    const struct desired_auth *a;
    size_t seq;
};

struct arms {
    struct arm *v;
    size_t n, cap;
};

/* Does an active app declare (resource, role, cond, member)?  refs is the
 * resource's range, sorted by key. */
static bool declared(const struct diff *df, struct drange rr, const char *resource,
                     const char *role, const struct iam_cond *cond, const char *member)
{
    size_t lo = rr.lo, hi = rr.hi;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dref *r = &df->refs[mid];

        if (plan_key_cmp(r->resource, r->role, r->cond, r->member, resource, role, cond, member) <
            0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < rr.hi; lo++) {
        const struct dref *r = &df->refs[lo];

        if (plan_key_cmp(r->resource, r->role, r->cond, r->member, resource, role, cond, member) !=
            0)
            return false;
        if (r->d != NULL && diff_app_active(df, r->app))
            return true;
    }
    return false;
}

/* Does the rule's app declare a binding (role, cond) on the resource? */
static bool app_declares_cond(const struct diff *df, struct drange rr, const char *app,
                              const char *role, const struct iam_cond *cond)
{
    for (size_t i = rr.lo; i < rr.hi; i++) {
        const struct dref *r = &df->refs[i];

        if (r->d != NULL && r->cond != NULL && strcmp(r->d->app, app) == 0 &&
            strcmp(r->role, role) == 0 && iam_cond_eq(r->cond, cond))
            return true;
    }
    return false;
}

static bool rule_governs(const struct diff *df, struct drange rr, const struct desired_auth *a,
                         const struct iam_binding *b)
{
    if (b->role == NULL)
        return false;
    if (a->all_roles)
        return b->cond == NULL;
    for (size_t i = 0; i < a->n_roles; i++) {
        if (strcmp(a->roles[i], b->role) != 0)
            continue;
        return b->cond == NULL || app_declares_cond(df, rr, a->app, b->role, b->cond);
    }
    return false;
}

static void govern(const struct diff *df, struct drange rr, const char *resource,
                   const struct desired_auth *a, const struct iam_binding *b, struct arms *out)
{
    for (size_t m = 0; m < b->n_members; m++) {
        if (declared(df, rr, resource, b->role, b->cond, b->members[m]))
            continue;
        XGROW(out->v, out->n + 1, out->cap);
        out->v[out->n] = (struct arm){b->role, b->cond, b->members[m], a, out->n};
        out->n++;
    }
}

static int arm_cmp(const void *x, const void *y)
{
    const struct arm *a = x, *b = y;
    int r = plan_key_cmp(NULL, a->role, a->cond, a->member, NULL, b->role, b->cond, b->member);

    return r != 0 ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Every live member the active apps' rules remove, sorted and unique (the
 * first rule, in app-name order, takes the attribution). */
static void auth_removals(const struct diff *df, const char *resource, const struct iam_policy *pol,
                          struct drange rr, struct drange ar, struct arms *out)
{
    size_t n = 0;

    for (size_t i = ar.lo; i < ar.hi; i++) {
        const struct desired_auth *a = df->auth[i];

        if (!diff_app_active(df, diff_app_find(df, a->app)))
            continue;
        for (size_t j = 0; j < pol->n_bindings; j++)
            if (rule_governs(df, rr, a, &pol->bindings[j]))
                govern(df, rr, resource, a, &pol->bindings[j], out);
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), arm_cmp);
    for (size_t i = 0; i < out->n; i++)
        if (n == 0 ||
            plan_key_cmp(NULL, out->v[n - 1].role, out->v[n - 1].cond, out->v[n - 1].member, NULL,
                         out->v[i].role, out->v[i].cond, out->v[i].member) != 0)
            out->v[n++] = out->v[i];
    out->n = n;
}

static bool arm_has(const struct arms *rm, const struct dref *k)
{
    size_t lo = 0, hi = rm->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct arm *a = &rm->v[mid];
        int r = plan_key_cmp(NULL, a->role, a->cond, a->member, NULL, k->role, k->cond, k->member);

        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void emit_auth(struct diff *df, const char *resource, const struct arms *rm)
{
    for (size_t i = 0; i < rm->n; i++) {
        const struct arm *a = &rm->v[i];
        struct plan_change_spec c = {
            resource,     PLAN_REMOVE,        a->role, a->cond, a->member, a->a->app,
            a->a->origin, PLAN_AUTHORITATIVE, NULL,    -1,      -1};

        plan_add_change(df->p, &c);
    }
}

/* ---- one key ---- */

/* What one key's slots decided, beyond the ledger records. */
struct kout {
    const struct slot *add;   /* the slot the add is attributed to */
    const struct slot *prune; /* the first owner that prunes */
    bool stake;               /* somebody keeps a stake: no removal */
};

static void push_declared(struct ledger_app *a, const struct desired_binding *d, bool owned,
                          const char *revision)
{
    struct ledger_entry *e;

    XGROW(a->v, a->n + 1, a->cap);
    e = &a->v[a->n++];
    memset(e, 0, sizeof(*e));
    e->resource = xstrdup(d->resource);
    e->role = xstrdup(d->role);
    e->cond = iam_cond_dup(d->cond);
    e->member = xstrdup(d->member);
    e->owned = owned;
    e->revision = xstrdup_or_null(revision);
    e->gc = d->gc;
    e->shared = d->shared;
    e->origin = xstrdup_or_null(d->origin);
    e->comp_name = xstrdup_or_null(d->comp_name);
    e->comp_type = (int)d->comp_type;
    e->trait_type = d->trait_type;
}

static void note_drift(struct diff *df, const struct desired_binding *d, const char *why)
{
    char *cond = plan_cond_label(d->cond);

    plan_add_note(df->p, d->app, d->resource, d->origin, "drift: %s %s%s is missing live; %s",
                  d->role, d->member, cond, why);
    free(cond);
}

/* A declaring slot. */
static void key_declared(struct diff *df, const struct slot *s, bool live, struct kout *o)
{
    struct ledger_app *next = &df->apps[s->app].next;
    const char *rev = df->in->revision;

    o->stake = true;
    if (s->d->read_only) {
        if (s->e != NULL)
            ledger_app_push_copy(next, s->e);
        if (!live)
            note_drift(df, s->d, "not applied (read-only)");
        return;
    }
    if (s->role == SLOT_FOUND) {
        push_declared(next, s->d, false, rev);
        return;
    }
    if (!live && s->d->apply_once && s->e != NULL && s->e->revision != NULL &&
        str_eq0(s->e->revision, rev)) {
        ledger_app_push_copy(next, s->e);
        note_drift(df, s->d, "not reverted until the source revision changes (apply-once)");
        return;
    }
    push_declared(next, s->d, true, rev);
    if (!live && o->add == NULL)
        o->add = s;
}

/* A slot with a ledger record but no declaration. */
static void key_undeclared(struct diff *df, const struct slot *s, bool someone_writes, bool auth_rm,
                           struct kout *o)
{
    const struct dapp *a = &df->apps[s->app];

    if (!s->e->owned || someone_writes || s->e->gc == OAM_GC_NEVER)
        return; /* found records drop; ownership passes; never releases */
    if (a->state == DAPP_ACCEPTED && s->e->gc == OAM_GC_ON_APP_DELETE) {
        if (!auth_rm) {
            ledger_app_push_copy(&df->apps[s->app].next, s->e);
            o->stake = true;
        }
        return;
    }
    if (o->prune == NULL)
        o->prune = s;
}

static void emit_add(struct diff *df, const struct slot *s)
{
    const struct desired_binding *d = s->d;
    struct plan_change_spec c = {
        d->resource,  PLAN_ADD,      d->role,   d->cond,
        d->member,    d->app,        d->origin, s->e != NULL ? PLAN_RESTORED : PLAN_DECLARED,
        d->comp_name, d->trait_type, -1};

    plan_add_change(df->p, &c);
}

static void emit_prune(struct diff *df, const struct slot *s)
{
    const struct ledger_entry *e = s->e;
    struct plan_change_spec c = {e->resource,  PLAN_REMOVE,           e->role,   e->cond,
                                 e->member,    df->apps[s->app].name, e->origin, PLAN_PRUNED,
                                 e->comp_name, e->trait_type,         (int)e->gc};

    plan_add_change(df->p, &c);
}

static void key_outcome(struct diff *df, const struct slot *slots, size_t n, bool live,
                        bool auth_rm)
{
    struct kout o = {NULL, NULL, false};
    bool someone_writes = false;

    for (size_t i = 0; i < n; i++)
        someone_writes = someone_writes || (slots[i].d != NULL && !slots[i].d->read_only);
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &slots[i];

        if (diff_frozen(df, s->app))
            o.stake = o.stake || s->e != NULL;
        else if (s->d != NULL)
            key_declared(df, s, live, &o);
        else if (s->e != NULL)
            key_undeclared(df, s, someone_writes, auth_rm, &o);
    }
    if (o.add != NULL)
        emit_add(df, o.add);
    if (o.prune != NULL && live && !o.stake && !auth_rm)
        emit_prune(df, o.prune);
}

void diff_resource(struct diff *df, const char *resource, const struct iam_policy *pol,
                   struct drange refs, struct drange auth)
{
    struct arms rm = {NULL, 0, 0};
    struct slot *slots = xcalloc(df->n_apps + 1, sizeof(*slots));
    size_t hi;

    if (pol != NULL)
        auth_removals(df, resource, pol, refs, auth, &rm);
    for (size_t lo = refs.lo; lo < refs.hi; lo = hi) {
        const struct dref *k = &df->refs[lo];
        size_t n;
        bool live;

        hi = diff_key_end(df, lo, refs.hi);
        n = diff_slots(df, lo, hi, slots);
        live = pol != NULL && iam_policy_has(pol, k->role, k->cond, k->member);
        diff_classify(df, slots, n, live);
        key_outcome(df, slots, n, live, live && arm_has(&rm, k));
    }
    emit_auth(df, resource, &rm);
    free(rm.v);
    free(slots);
}
