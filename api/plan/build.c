/*
 * build.c - plan_build(): the pipeline every command shares (offline
 * `roam plan`, `roam apply`, `roam serve`).
 *
 *   validate the documents -> per app: compile the desired state, check the
 *   guardrails -> diff the accepted apps together -> guard the plan.
 *
 * Each app is compiled into its own desired set first, so that an app
 * rejected by a compile error or a guardrail contributes nothing; accepted
 * sets are then moved into one.  Apps are rejected as a whole and keep their
 * ledger records (DESIGN.md §2 rule 6).  A docset with file-level problems
 * was read partially: the diff then treats no absent app as deleted.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "plan_int.h"

/* Moves every entry of src to the end of dst; src is left empty. */
static void desired_move(struct desired *dst, struct desired *src)
{
    XGROW(dst->v, dst->n + src->n, dst->cap);
    if (src->n > 0)
        memcpy(&dst->v[dst->n], src->v, src->n * sizeof(*src->v));
    dst->n += src->n;
    XGROW(dst->auth, dst->n_auth + src->n_auth, dst->cap_auth);
    if (src->n_auth > 0)
        memcpy(&dst->auth[dst->n_auth], src->auth, src->n_auth * sizeof(*src->auth));
    dst->n_auth += src->n_auth;
    XGROW(dst->ident, dst->n_ident + src->n_ident, dst->cap_ident);
    if (src->n_ident > 0)
        memcpy(&dst->ident[dst->n_ident], src->ident, src->n_ident * sizeof(*src->ident));
    dst->n_ident += src->n_ident;
    free(src->v);
    free(src->auth);
    free(src->ident);
    desired_init(src);
}

/* What the pipeline decided about each app of the docset. */
struct verdict {
    char *name; /* metadata.name, or a label for an unnamed document */
    bool rejected;
    struct err_list errs; /* validation, compile and guardrail problems */
};

static void verdict_compile(struct verdict *v, const struct oam_app *app,
                            const struct plan_request *req, struct desired *merged)
{
    struct desired one;
    int rc;

    err_list_extend(&v->errs, &app->errs);
    if (app->errs.n > 0 || app->name == NULL) {
        v->rejected = true;
        return;
    }
    desired_init(&one);
    rc = desired_compile(&one, app, req->defs, &v->errs);
    if (rc >= 0 && guard_guardrails(app, &one, req->guard.config, &v->errs) > 0)
        rc = ERR_REJECTED;
    if (rc < 0)
        v->rejected = true;
    else
        desired_move(merged, &one);
    desired_release(&one);
}

static void verdicts_release(struct verdict *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        err_list_release(&v[i].errs);
    }
    free(v);
}

/* Names for the diff: every app in the source, and the rejected ones. */
static void name_lists(const struct verdict *v, size_t n, const char ***present,
                       const char ***rejected, size_t *n_rejected)
{
    *present = xcalloc(n + 1, sizeof(**present));
    *rejected = xcalloc(n + 1, sizeof(**rejected));
    *n_rejected = 0;
    for (size_t i = 0; i < n; i++) {
        (*present)[i] = v[i].name;
        if (v[i].rejected)
            (*rejected)[(*n_rejected)++] = v[i].name;
    }
}

static void report_verdicts(struct plan *p, const struct verdict *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct plan_app *a;

        if (!v[i].rejected)
            continue;
        a = plan_app_get(p, v[i].name);
        a->status = PLAN_APP_REJECTED;
        err_list_extend(&a->errs, &v[i].errs);
    }
}

static void report_partial(struct plan *p, const struct oam_docset *docs)
{
    for (size_t i = 0; i < docs->errs.n; i++) {
        char *s = err_detail_format(&docs->errs.v[i]);

        plan_add_note(p, NULL, NULL, NULL, "source read partially, no app counts as deleted: %s",
                      s);
        free(s);
    }
}

int plan_build(struct plan *ret, const struct plan_request *req)
{
    struct oam_docset *docs = req->docs;
    struct ledger empty;
    struct desired merged;
    struct verdict *v;
    const char **present, **rejected;
    size_t n = docs->n_apps, n_rejected;
    struct diff_input in;
    struct iam_live view;
    int rc;

    plan_init(ret);
    ledger_init(&empty);
    desired_init(&merged);
    oam_validate_set(docs, req->defs);
    v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const struct oam_app *app = &docs->apps[i];

        v[i].name = app->name != NULL
                        ? xstrdup(app->name)
                        : xasprintf("(unnamed: %s document %u)",
                                    app->file != NULL ? app->file : "?", app->doc_index + 1);
        err_list_init(&v[i].errs);
        verdict_compile(&v[i], app, req, &merged);
    }
    name_lists(v, n, &present, &rejected, &n_rejected);
    plan_live_view(req, &view);
    in = (struct diff_input){&merged,
                             &view,
                             req->ledger != NULL ? req->ledger : &empty,
                             req->revision,
                             docs->errs.n == 0,
                             present,
                             n,
                             rejected,
                             n_rejected};
    rc = plan_diff(ret, &in);
    if (rc == 0) {
        ret->source = xstrdup_or_null(req->source);
        report_verdicts(ret, v, n);
        report_partial(ret, docs);
        guard_plan(ret, in.ledger, &view, &req->guard);
        plan_fail_unread(ret, &merged, in.ledger, req);
        plan_check_identities(ret, &merged, req);
        plan_sort(ret);
    }
    plan_live_view_release(req, &view);
    free(rejected);
    free(present);
    verdicts_release(v, n);
    desired_release(&merged);
    return rc;
}
