/*
 * pass.c - what a live pass needs around plan_build(): the read set before
 * it, and after the writes the changes that were made and the ledger
 * records that may be kept.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "plan_int.h"

static int cstr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and de-duplicates an array of owned strings in place. */
static size_t uniq(char **v, size_t n)
{
    size_t out = 0;

    if (n > 1)
        qsort(v, n, sizeof(*v), cstr_cmp);
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && strcmp(v[i], v[out - 1]) == 0)
            free(v[i]);
        else
            v[out++] = v[i];
    }
    return out;
}

int plan_read_set(const struct plan_request *req, char ***ret_policies, size_t *ret_n,
                  char ***ret_runs, size_t *ret_n_runs)
{
    struct desired d;
    struct err_list ignored;
    char **runs;

    desired_init(&d);
    err_list_init(&ignored);
    oam_validate_set(req->docs, req->defs);
    for (size_t i = 0; i < req->docs->n_apps; i++) {
        const struct oam_app *app = &req->docs->apps[i];

        /* A rejected app writes nothing; what it would read does not matter.
         * Its ledger records are read below all the same. */
        if (app->errs.n == 0 && app->name != NULL)
            desired_compile(&d, app, req->defs, &ignored);
    }
    plan_resources(&d, req->ledger, ret_policies, ret_n);
    runs = xcalloc(d.n_ident + 1, sizeof(*runs));
    for (size_t i = 0; i < d.n_ident; i++)
        runs[i] = xstrdup(d.ident[i].resource);
    *ret_n_runs = uniq(runs, d.n_ident);
    *ret_runs = runs;
    err_list_release(&ignored);
    desired_release(&d);
    return 0;
}

bool plan_has_changes(const struct plan *p, const char *resource)
{
    size_t lo = 0, hi = p->n_changes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(p->changes[mid].resource, resource) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n_changes && strcmp(p->changes[lo].resource, resource) == 0;
}

void plan_keep_changes(struct plan *p, const bool *keep)
{
    size_t out = 0;

    for (size_t i = 0; i < p->n_changes; i++) {
        if (keep[i])
            p->changes[out++] = p->changes[i];
        else
            plan_change_release(&p->changes[i]);
    }
    p->n_changes = out;
    plan_recount(p);
}

/* ok is sorted (the read set is). */
static bool listed(const char *resource, const char *const *ok, size_t n_ok)
{
    size_t lo = 0, hi = n_ok;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ok[mid], resource);

        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void ledger_app_merge(struct ledger_app *ret, const char *app, const struct ledger_app *before,
                      const struct ledger_app *after, const char *const *ok, size_t n_ok)
{
    memset(ret, 0, sizeof(*ret));
    ret->app = xstrdup(app);
    if (after != NULL && after->revision != NULL)
        ret->revision = xstrdup(after->revision);
    else if (before != NULL && before->revision != NULL)
        ret->revision = xstrdup(before->revision);
    for (size_t i = 0; after != NULL && i < after->n; i++)
        if (listed(after->v[i].resource, ok, n_ok))
            ledger_app_push_copy(ret, &after->v[i]);
    for (size_t i = 0; before != NULL && i < before->n; i++)
        if (!listed(before->v[i].resource, ok, n_ok))
            ledger_app_push_copy(ret, &before->v[i]);
}
