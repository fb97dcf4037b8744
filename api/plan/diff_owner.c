/*
 * diff_owner.c - who owns a binding key this pass (DESIGN.md §2 rules 1
 * and 8), and the ownership conflicts that reject apps.
 *
 * For one key, every app's slot gets a role:
 *   - a holder owned the key per the ledger and still holds it: it declares
 *     the key this pass, or its record is frozen (rejected app, or an app
 *     missing from a partial listing: we cannot tell it dropped the key);
 *   - with a holder, every other app that declares the key (with write
 *     intent) either shares it (shared-resource in it and in every holder) or
 *     loses to the first holder;
 *   - without a holder, an app claims the key when it will own it after this
 *     pass: it is absent live (roam adds it), take-over adopts it, or its
 *     previous owner let go of it (transfer).  The best claimant (one that
 *     had recorded the key as found first, then the first app by name) takes
 *     it; the others share it or lose;
 *   - without a claimant, declaring apps merely record the key as found.
 * An app that declares a key somebody else will own is in conflict even if
 * it would only have recorded it as found: the next pass would reject it
 * anyway (the key is then owned per the ledger), and a plan must not flip.
 * read-only declarations never conflict: they write nothing.
 *
 * Conflicts are settled in rounds: an app is rejected when it loses to an
 * app that loses nowhere; rejecting it removes its declarations, which may
 * settle other keys differently, so the rounds go on until no conflict is
 * left.  When every winner is itself a loser (a cycle), all losers go.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "diff_int.h"
#include "plan_int.h"

size_t diff_app_find(const struct diff *df, const char *name)
{
    size_t lo = 0, hi = df->n_apps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(df->apps[mid].name, name);

        if (r == 0)
            return mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

bool diff_app_active(const struct diff *df, size_t app)
{
    return app < df->n_apps && df->apps[app].state == DAPP_ACCEPTED && !df->apps[app].conflict;
}

bool diff_frozen(const struct diff *df, size_t app)
{
    const struct dapp *a = &df->apps[app];

    return a->state == DAPP_REJECTED || a->state == DAPP_UNKNOWN || a->conflict;
}

size_t diff_key_end(const struct diff *df, size_t lo, size_t hi)
{
    const struct dref *k = &df->refs[lo];
    size_t i = lo + 1;

    while (i < hi && plan_key_cmp(k->resource, k->role, k->cond, k->member, df->refs[i].resource,
                                  df->refs[i].role, df->refs[i].cond, df->refs[i].member) == 0)
        i++;
    return i;
}

size_t diff_slots(const struct diff *df, size_t lo, size_t hi, struct slot *slots)
{
    size_t n = 0;

    for (size_t i = lo; i < hi; i++) {
        const struct dref *r = &df->refs[i];
        struct slot *s;

        if (n == 0 || slots[n - 1].app != r->app) {
            slots[n] = (struct slot){.app = r->app};
            n++;
        }
        s = &slots[n - 1];
        if (r->d != NULL && s->d == NULL && diff_app_active(df, r->app))
            s->d = r->d;
        if (r->e != NULL && s->e == NULL)
            s->e = r->e;
    }
    return n;
}

static bool slot_shared(const struct slot *s)
{
    return s->d != NULL ? s->d->shared : s->e != NULL && s->e->shared;
}

static bool writes(const struct slot *s)
{
    return s->d != NULL && !s->d->read_only;
}

/* Marks holders; returns the first one (n when none). */
static size_t mark_holders(const struct diff *df, struct slot *s, size_t n, bool *all_shared,
                           bool *leaving)
{
    size_t first = n;

    *all_shared = true;
    *leaving = false;
    for (size_t i = 0; i < n; i++) {
        s[i].role = SLOT_NONE;
        if (s[i].e == NULL || !s[i].e->owned)
            continue;
        if (s[i].d != NULL || diff_frozen(df, s[i].app)) {
            s[i].role = SLOT_HOLDER;
            if (first == n)
                first = i;
            *all_shared = *all_shared && slot_shared(&s[i]);
        } else {
            *leaving = true;
        }
    }
    return first;
}

/* The best claimant: one with a found record first, then by name. */
static size_t best_claimant(const struct slot *s, size_t n, bool live, bool leaving)
{
    size_t best = n;

    for (size_t i = 0; i < n; i++) {
        if (s[i].d == NULL || s[i].d->read_only || !(!live || s[i].d->take_over || leaving))
            continue;
        if (best == n || (s[i].e != NULL && s[best].e == NULL))
            best = i;
    }
    return best;
}

void diff_classify(const struct diff *df, struct slot *s, size_t n, bool live)
{
    bool all_shared, leaving;
    size_t holder = mark_holders(df, s, n, &all_shared, &leaving);
    size_t winner = holder;

    if (holder == n) {
        winner = best_claimant(s, n, live, leaving);
        all_shared = winner < n && s[winner].d != NULL && s[winner].d->shared;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i].role == SLOT_HOLDER || !writes(&s[i]))
            continue;
        if (winner == n)
            s[i].role = SLOT_FOUND;
        else if (i == winner)
            s[i].role = SLOT_CLAIM;
        else if (s[i].d->shared && all_shared)
            s[i].role = SLOT_COOWN;
        else {
            s[i].role = SLOT_LOSER;
            s[i].winner = winner;
            s[i].vs_holder = holder < n;
        }
    }
}

/* ---- conflicts ---- */

struct dconf {
    size_t loser, winner;
    const struct desired_binding *d;
    bool vs_holder;
};

struct dconfs {
    struct dconf *v;
    size_t n, cap;
};

static void gather_key(struct diff *df, size_t lo, size_t hi, const struct iam_policy *pol,
                       struct slot *slots, struct dconfs *out)
{
    const struct dref *k = &df->refs[lo];
    size_t n = diff_slots(df, lo, hi, slots);
    bool live = pol != NULL && iam_policy_has(pol, k->role, k->cond, k->member);

    diff_classify(df, slots, n, live);
    for (size_t i = 0; i < n; i++) {
        if (slots[i].role != SLOT_LOSER)
            continue;
        XGROW(out->v, out->n + 1, out->cap);
        out->v[out->n++] = (struct dconf){slots[i].app, slots[slots[i].winner].app, slots[i].d,
                                          slots[i].vs_holder};
    }
}

static void gather(struct diff *df, const enum dres_state *state, const struct drange *rr,
                   const struct iam_policy *const *pols, struct slot *slots, struct dconfs *out)
{
    out->n = 0;
    for (size_t r = 0; r < df->n_res; r++) {
        size_t lo = rr[r].lo, hi;

        if (state[r] != DRES_READ)
            continue;
        for (; lo < rr[r].hi; lo = hi) {
            hi = diff_key_end(df, lo, rr[r].hi);
            gather_key(df, lo, hi, pols[r], slots, out);
        }
    }
}

static void conflict_err(struct diff *df, const struct dconf *c)
{
    const struct desired_binding *d = c->d;
    const char *winner = df->apps[c->winner].name;
    char *cond = plan_cond_label(d->cond);

    if (c->vs_holder)
        err_list_add(&df->apps[c->loser].errs, ERR_CONFLICT, d->pos.file, d->pos.line, d->pos.col,
                     d->origin, "binding (%s, %s%s) on %s is owned by app '%s'", d->role, d->member,
                     cond, d->resource, winner);
    else
        err_list_add(&df->apps[c->loser].errs, ERR_CONFLICT, d->pos.file, d->pos.line, d->pos.col,
                     d->origin,
                     "binding (%s, %s%s) on %s is also declared by app '%s', which takes it; "
                     "declare shared-resource in both apps to share it",
                     d->role, d->member, cond, d->resource, winner);
    free(cond);
}

/* One round: decides who is rejected; false when there was no conflict. */
static bool settle(struct diff *df, const struct dconfs *cs)
{
    bool *loses, *reject, any = false;

    if (cs->n == 0)
        return false;
    loses = xcalloc(df->n_apps, sizeof(*loses));
    reject = xcalloc(df->n_apps, sizeof(*reject));
    for (size_t i = 0; i < cs->n; i++)
        loses[cs->v[i].loser] = true;
    for (size_t i = 0; i < cs->n; i++)
        if (!loses[cs->v[i].winner])
            any = reject[cs->v[i].loser] = true;
    for (size_t i = 0; !any && i < cs->n; i++)
        reject[cs->v[i].loser] = true;
    for (size_t i = 0; i < cs->n; i++)
        if (reject[cs->v[i].loser] && (!any || !loses[cs->v[i].winner]))
            conflict_err(df, &cs->v[i]);
    for (size_t a = 0; a < df->n_apps; a++)
        if (reject[a])
            df->apps[a].conflict = true;
    free(reject);
    free(loses);
    return true;
}

void diff_conflicts(struct diff *df, const enum dres_state *state, const struct drange *rr,
                    const struct iam_policy *const *pols)
{
    struct slot *slots = xcalloc(df->n_apps + 1, sizeof(*slots));
    struct dconfs cs = {NULL, 0, 0};

    do
        gather(df, state, rr, pols, slots, &cs);
    while (settle(df, &cs));
    free(cs.v);
    free(slots);
}
