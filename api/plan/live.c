/*
 * live.c - what plan_build takes from a live pass besides the policies:
 * reads that failed, and the service accounts services really run as.
 *
 * A policy that could not be read is not "missing": the diff must neither
 * prune nor adopt on it.  It is left out of the live set the diff sees (a
 * resource that was not read keeps its ledger records and gets no changes),
 * and every app with a stake in it fails with the read error.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "plan_int.h"

void plan_live_view(const struct plan_request *req, struct iam_live *view)
{
    const struct iam_live *l = req->live;

    *view = *l;
    if (req->read_errors == NULL)
        return;
    /* Shallow copies: the view owns only its arrays. */
    view->names = xcalloc(l->n + 1, sizeof(*view->names));
    view->policies = xcalloc(l->n + 1, sizeof(*view->policies));
    view->missing = xcalloc(l->n + 1, sizeof(*view->missing));
    view->n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (req->read_errors[i] != NULL)
            continue;
        view->names[view->n] = l->names[i];
        view->policies[view->n] = l->policies[i];
        view->missing[view->n] = l->missing[i];
        view->n++;
    }
}

void plan_live_view_release(const struct plan_request *req, struct iam_live *view)
{
    if (req->read_errors != NULL) {
        free(view->names);
        free(view->policies);
        free(view->missing);
    }
    memset(view, 0, sizeof(*view));
}

static void fail_app(struct plan *p, const char *app, const char *resource, const char *msg)
{
    struct plan_app *a = plan_app_get(p, app);

    if (a->status == PLAN_APP_REJECTED)
        return;
    a->status = PLAN_APP_FAILED;
    for (size_t i = 0; i < a->errs.n; i++)
        if (str_eq0(a->errs.v[i].path, resource) && str_eq0(a->errs.v[i].msg, msg))
            return;
    err_list_add(&a->errs, ERR_IO, NULL, 0, 0, resource, "%s", msg);
}

static void drop_pending(struct plan *p, const char *resource)
{
    size_t out = 0;

    for (size_t i = 0; i < p->n_pending; i++) {
        if (strcmp(p->pending[i], resource) == 0)
            free(p->pending[i]);
        else
            p->pending[out++] = p->pending[i];
    }
    p->n_pending = out;
}

void plan_fail_unread(struct plan *p, const struct desired *d, const struct ledger *l,
                      const struct plan_request *req)
{
    for (size_t i = 0; req->read_errors != NULL && i < req->live->n; i++) {
        const char *res = req->live->names[i], *msg = req->read_errors[i];

        if (msg == NULL)
            continue;
        drop_pending(p, res);
        for (size_t j = 0; j < d->n; j++)
            if (strcmp(d->v[j].resource, res) == 0)
                fail_app(p, d->v[j].app, res, msg);
        for (size_t j = 0; j < d->n_auth; j++)
            if (strcmp(d->auth[j].resource, res) == 0)
                fail_app(p, d->auth[j].app, res, msg);
        for (size_t j = 0; j < d->n_ident; j++)
            if (strcmp(d->ident[j].resource, res) == 0)
                fail_app(p, d->ident[j].app, res, msg);
        for (size_t a = 0; l != NULL && a < l->n; a++)
            for (size_t j = 0; j < l->apps[a].n; j++)
                if (strcmp(l->apps[a].v[j].resource, res) == 0)
                    fail_app(p, l->apps[a].app, res, msg);
    }
}

static const struct plan_run_identity *find_run(const struct plan_request *req, const char *res)
{
    for (size_t i = 0; i < req->n_run_identities; i++)
        if (strcmp(req->run_identities[i].resource, res) == 0)
            return &req->run_identities[i];
    return NULL;
}

static void add_identity(struct plan *p, const struct desired_identity *di, const char *have)
{
    struct plan_identity *id;

    XGROW(p->idents, p->n_idents + 1, p->cap_idents);
    id = &p->idents[p->n_idents++];
    memset(id, 0, sizeof(*id));
    id->resource = xstrdup(di->resource);
    id->app = xstrdup(di->app);
    id->origin = xstrdup(di->origin);
    id->want = xstrdup(di->service_account);
    id->have = xstrdup_or_null(have);
    id->mode = di->mode;
    plan_add_note(p, di->app, di->resource, di->origin, "runs as %s, declared %s%s",
                  have != NULL ? have : "the default service account", di->service_account,
                  di->mode == OAM_SI_ENFORCE ? " (enforce: updating the service)"
                                             : " (verify: reported, not changed)");
}

void plan_check_identities(struct plan *p, const struct desired *d, const struct plan_request *req)
{
    if (req->run_identities == NULL)
        return;
    for (size_t i = 0; i < d->n_ident; i++) {
        const struct desired_identity *di = &d->ident[i];
        const struct plan_run_identity *run = find_run(req, di->resource);
        const struct plan_app *a = plan_find_app(p, di->app);

        if (a != NULL && (a->status == PLAN_APP_REJECTED || a->status == PLAN_APP_FAILED))
            continue;
        if (run == NULL || !run->known) {
            if (run != NULL && run->error != NULL)
                fail_app(p, di->app, di->resource, run->error);
            continue;
        }
        if (!str_eq_ci(run->service_account, di->service_account))
            add_identity(p, di, run->service_account);
    }
}

void plan_identity_release(struct plan_identity *id)
{
    free(id->resource);
    free(id->app);
    free(id->origin);
    free(id->want);
    free(id->have);
    memset(id, 0, sizeof(*id));
}
