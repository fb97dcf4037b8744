/*
 * ledger_merge.c - joining two writers' records of one app (see
 * ledger_app_union in plan.h).
 *
 * Two roam processes may write the same app's record (a Cloud Run job with
 * several tasks during a reshard, a service and a manual `roam apply`).  The
 * gs:// store writes with ifGenerationMatch; the loser of a race re-reads the
 * winner's record and writes the union.  The union is deliberately
 * generous: a binding either writer recorded stays recorded, because a
 * ledger that forgets an owned binding can never revoke it, while a ledger
 * that remembers one too many only costs a no-op prune or a re-add on the
 * next pass.  For a key both recorded, this writer's entry wins: it carries
 * the revision and lifecycle of the pass that is writing.
 *
 * Alternative rejected: three-way merge against the record both writers
 * read.  It would let one writer's prune win over the other's claim, which
 * is exactly the race that loses bindings; it also needs the base kept.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "plan_int.h"

static int entry_cmp(const void *a, const void *b)
{
    const struct ledger_entry *x = *(const struct ledger_entry *const *)a;
    const struct ledger_entry *y = *(const struct ledger_entry *const *)b;

    return plan_key_cmp(x->resource, x->role, x->cond, x->member, y->resource, y->role, y->cond,
                        y->member);
}

void ledger_app_union(struct ledger_app *ret, const struct ledger_app *mine,
                      const struct ledger_app *theirs)
{
    const struct ledger_entry **idx = NULL;
    size_t n = mine->n;

    ledger_app_copy(ret, mine);
    if (ret->revision == NULL && theirs != NULL)
        ret->revision = xstrdup_or_null(theirs->revision);
    if (theirs == NULL || theirs->n == 0)
        return;
    if (n > 0)
        idx = xreallocarray(NULL, n, PLAN_PTR_SIZE);
    for (size_t i = 0; i < n; i++)
        idx[i] = &mine->v[i];
    if (n > 1)
        qsort(idx, n, PLAN_PTR_SIZE, entry_cmp);
    for (size_t i = 0; i < theirs->n; i++) {
        const struct ledger_entry *e = &theirs->v[i];

        if (n > 0 && bsearch(&e, idx, n, PLAN_PTR_SIZE, entry_cmp) != NULL)
            continue;
        ledger_app_push_copy(ret, e);
    }
    free(idx);
}
