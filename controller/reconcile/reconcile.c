/*
 * reconcile.c - one reconcile pass on the loop (see reconcile.h).
 *
 * The pass is a small state machine driven by callbacks: READ (all reads in
 * flight; the transport queues them behind --max-inflight and --qps), then
 * DECIDE (pure, synchronous), then INTENT (for every app about to change
 * IAM, a ledger record that already owns what it is about to grant: the
 * union of its old and new records), then WRITE (one write per changed
 * resource, all in flight together; a 409 sends that resource back through a
 * jittered timer and a re-read), then RECORD (each app's final record).
 * `outstanding` counts the callbacks still due; when it reaches zero the
 * phase ends.
 *
 * Why the intent record: a crash between an IAM write and the ledger write
 * would otherwise leave a binding roam granted but does not know it owns;
 * the next pass would take it for someone else's and never revoke it.  With
 * the intent written first, the next pass finds every such binding owned
 * (present: kept or pruned as the source says; absent: re-added or dropped).
 *
 * On a 409 the resource's planned changes are re-applied to the freshly read
 * policy (CONTRACTS.md §1.2: "re-apply the desired change") instead of
 * re-running the whole diff: the ledger the plan was computed from does not
 * yet know what this pass wrote elsewhere, so a full recompute would
 * mistake roam's own fresh grants for foreign ones.  Adding a member that
 * appeared meanwhile and removing one that went meanwhile are no-ops.
 */
#include "reconcile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/common/xalloc.h"
#include "controller/reconcile/lstore.h"
#include "controller/runtime/log.h"
#include "controller/runtime/backoff.h"

enum wstate { W_IDLE, W_WRITING, W_WAITING, W_REREADING, W_DONE, W_FAILED };

struct rwrite {
    struct rec *rec;
    size_t res; /* index in live */
    enum wstate state;
    struct backoff bo;
    uv_timer_t timer;
    bool timer_open;
    char *err;
};

struct ident_read {
    struct rec *rec;
    char *resource;
    char *service_account;
    bool ok;
    char *err;
};

struct rec {
    uv_loop_t *loop;
    struct gapi *api;
    struct plan_request req;
    struct rec_opts opts;
    rec_done_cb *cb;
    void *data;

    struct iam_live live;
    char **read_err; /* per live entry: message, or NULL */
    struct ident_read *idr;
    size_t n_idr;
    struct plan_run_identity *idents;
    struct idw *idw;      /* identity write contexts, per plan.idents */
    struct app_ctx *actx; /* ledger write contexts, per plan.apps */
    bool *no_intent;      /* per plan.apps: the intent failed, nothing written */

    struct plan plan;
    bool planned;
    struct rwrite *w; /* per live entry */
    size_t outstanding;
    unsigned timers_open;
    bool finishing;

    struct rec_stats stats;
    struct err_list errs;
    struct ledger written; /* copies of the records written, for status views */
};

struct idw;
static void phase_decide(struct rec *r);
static void phase_intent(struct rec *r);
static void phase_write(struct rec *r);
static void phase_record(struct rec *r);
static void start_write(struct rwrite *w);
static void start_reread(struct rwrite *w);

/* ---- completion ---- */

static void timer_closed(uv_handle_t *h)
{
    struct rwrite *w = h->data;

    w->rec->timers_open--;
    if (w->rec->timers_open == 0 && w->rec->finishing)
        w->rec->cb(w->rec, w->rec->data);
}

/* Closes the retry timers, then calls the completion callback. */
static void finish(struct rec *r)
{
    r->finishing = true;
    for (size_t i = 0; r->w != NULL && i < r->live.n; i++) {
        if (r->w[i].timer_open) {
            r->w[i].timer_open = false;
            uv_close((uv_handle_t *)&r->w[i].timer, timer_closed);
        }
    }
    if (r->timers_open == 0)
        r->cb(r, r->data);
}

/* ---- reads ---- */

struct read_ctx {
    struct rec *rec;
    size_t i;
};

static void read_done(void *data, int err, long status, const char *errmsg,
                      struct iam_policy *policy)
{
    struct read_ctx *c = data;
    struct rec *r = c->rec;
    size_t i = c->i;

    (void)status;
    free(c);
    if (err == 0) {
        iam_policy_release(&r->live.policies[i]);
        r->live.policies[i] = *policy;
        iam_policy_init(policy);
        r->live.missing[i] = false;
    } else if (err == ERR_NOTFOUND) {
        r->live.missing[i] = true;
    } else {
        r->live.missing[i] = true;
        r->read_err[i] = xstrdup(errmsg != NULL ? errmsg : err_str(err));
    }
    if (--r->outstanding == 0)
        phase_decide(r);
}

static void ident_done(void *data, int err, long status, const char *errmsg, struct gres_run *run)
{
    struct ident_read *d = data;
    struct rec *r = d->rec;

    (void)status;
    if (err == 0 && run != NULL) {
        d->ok = true;
        d->service_account = xstrdup_or_null(run->service_account);
    } else if (err != ERR_NOTFOUND) {
        d->err = xstrdup(errmsg != NULL ? errmsg : err_str(err));
    }
    if (--r->outstanding == 0)
        phase_decide(r);
}

static int start_policy_read(struct rec *r, size_t i)
{
    struct read_ctx *c = xmalloc(sizeof(*c));
    int rc;

    c->rec = r;
    c->i = i;
    rc = gapi_get_policy(r->api, r->live.names[i], read_done, c);
    if (rc < 0) {
        free(c);
        return rc;
    }
    r->stats.policy_reads++;
    r->outstanding++;
    return 0;
}

/* Service and job reads for the service-identity traits (unique). */
static void start_ident_reads(struct rec *r, char **res, size_t n)
{
    r->idr = xcalloc(n + 1, sizeof(*r->idr));
    for (size_t i = 0; i < n; i++) {
        struct ident_read *d = &r->idr[r->n_idr];

        d->rec = r;
        d->resource = res[i];
        res[i] = NULL;
        r->n_idr++;
        if (gapi_get_run(r->api, d->resource, ident_done, d) == 0) {
            r->stats.run_reads++;
            r->outstanding++;
        } else {
            d->err = xasprintf("cannot read '%s': bad resource name", d->resource);
        }
    }
}

/* A targeted pass reads one resource (if roam manages it at all). */
static size_t keep_only(char **v, size_t n, const char *name)
{
    size_t out = 0;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], name) == 0)
            v[out++] = v[i];
        else
            free(v[i]);
    }
    return out;
}

static int phase_read(struct rec *r)
{
    char **res = NULL, **ident_res = NULL;
    size_t n = 0, n_ident = 0;

    plan_read_set(&r->req, &res, &n, &ident_res, &n_ident);
    if (r->opts.only_resource != NULL) {
        n = keep_only(res, n, r->opts.only_resource);
        n_ident = keep_only(ident_res, n_ident, r->opts.only_resource);
    }
    r->live.names = res;
    r->live.n = n;
    r->live.policies = xcalloc(n + 1, sizeof(*r->live.policies));
    r->live.missing = xcalloc(n + 1, sizeof(*r->live.missing));
    r->read_err = xcalloc(n + 1, sizeof(*r->read_err));
    for (size_t i = 0; i < n; i++) {
        iam_policy_init(&r->live.policies[i]);
        r->live.missing[i] = true;
        if (start_policy_read(r, i) < 0)
            r->read_err[i] = xasprintf("cannot read '%s': bad resource name", res[i]);
    }
    start_ident_reads(r, ident_res, n_ident);
    for (size_t i = 0; i < n_ident; i++)
        free(ident_res[i]);
    free(ident_res);
    if (r->outstanding == 0)
        phase_decide(r);
    return 0;
}

/* ---- decide ---- */

static void start_identity_writes(struct rec *r);
struct app_ctx;

static void phase_decide(struct rec *r)
{
    struct plan_request req = r->req;

    r->idents = xcalloc(r->n_idr + 1, sizeof(*r->idents));
    for (size_t i = 0; i < r->n_idr; i++)
        r->idents[i] = (struct plan_run_identity){r->idr[i].resource, r->idr[i].service_account,
                                                  r->idr[i].ok, r->idr[i].err};
    req.live = &r->live;
    req.read_errors = (const char *const *)r->read_err;
    req.run_identities = r->idents;
    req.n_run_identities = r->n_idr;
    if (plan_build(&r->plan, &req) < 0) {
        err_list_add(&r->errs, ERR_INVAL, NULL, 0, 0, NULL, "cannot compute the plan");
        finish(r);
        return;
    }
    r->planned = true;
    if (!r->opts.write) {
        finish(r);
        return;
    }
    phase_intent(r);
}

/* ---- intent ---- */

/* Does the app have changes in the plan (or an identity to enforce)? */
static bool app_changes(const struct rec *r, const char *app)
{
    for (size_t i = 0; i < r->plan.n_changes; i++)
        if (r->plan.changes[i].app != NULL && strcmp(r->plan.changes[i].app, app) == 0)
            return true;
    return false;
}

struct app_ctx {
    struct rec *rec;
    size_t i; /* in plan.apps */
};

static void intent_done(struct lstore *s, int err, const char *errmsg, void *data)
{
    struct app_ctx *c = data;
    struct rec *r = c->rec;

    (void)s;
    if (err < 0) {
        /* Without the intent recorded, writing could lose ownership. */
        struct plan_app *a = &r->plan.apps[c->i];
        a->status = PLAN_APP_FAILED;
        r->no_intent[c->i] = true;
        err_list_add(&a->errs, err, NULL, 0, 0, NULL,
                     "cannot record intent in the ledger, nothing written: %s",
                     errmsg != NULL ? errmsg : err_str(err));
    } else {
        r->stats.ledger_writes++;
    }
    if (--r->outstanding == 0)
        phase_write(r);
}

static void phase_intent(struct rec *r)
{
    const struct ledger *before = r->req.ledger;

    r->actx = xcalloc(r->plan.n_apps + 1, sizeof(*r->actx));
    r->no_intent = xcalloc(r->plan.n_apps + 1, sizeof(*r->no_intent));
    for (size_t i = 0; i < r->plan.n_apps; i++) {
        const struct plan_app *a = &r->plan.apps[i];
        const struct ledger_app *b = before != NULL ? ledger_find_app(before, a->name) : NULL;
        const struct ledger_app *after = ledger_find_app(&r->plan.ledger, a->name);
        struct ledger_app intent;

        r->actx[i] = (struct app_ctx){r, i};
        if (a->status == PLAN_APP_REJECTED || a->status == PLAN_APP_FAILED || after == NULL ||
            !app_changes(r, a->name))
            continue;
        ledger_app_union(&intent, after, b);
        if (lstore_put(r->opts.store, &intent, intent_done, &r->actx[i]) == 0)
            r->outstanding++;
        ledger_app_release(&intent);
    }
    if (r->outstanding == 0)
        phase_write(r);
}

/* ---- writes ---- */

/* Changes of apps that failed (intent not recorded, read errors) are not
 * written. */
static void drop_failed_changes(struct rec *r)
{
    bool *keep = xcalloc(r->plan.n_changes + 1, sizeof(*keep));
    bool any = false;

    for (size_t i = 0; i < r->plan.n_changes; i++) {
        const struct plan_app *a = plan_find_app(&r->plan, r->plan.changes[i].app);
        keep[i] = a == NULL || a->status != PLAN_APP_FAILED;
        any = any || !keep[i];
    }
    if (any)
        plan_keep_changes(&r->plan, keep);
    free(keep);
}

static void phase_write(struct rec *r)
{
    drop_failed_changes(r);
    r->w = xcalloc(r->live.n + 1, sizeof(*r->w));
    for (size_t i = 0; i < r->live.n; i++) {
        struct rwrite *w = &r->w[i];
        struct backoff_policy pol = {r->opts.conflict_base_ms, 5000,
                                     r->opts.max_conflict_retries + 1, 60000};

        w->rec = r;
        w->res = i;
        w->state = W_IDLE;
        if (!plan_has_changes(&r->plan, r->live.names[i]))
            continue;
        backoff_init(&w->bo, &pol, NULL, (uint64_t)(uintptr_t)w | 1u);
        start_write(w);
    }
    start_identity_writes(r);
    if (r->outstanding == 0)
        phase_record(r);
}

/* ---- writes ---- */

static void audit(struct rec *r, const char *resource, const char *etag_before,
                  const char *etag_after, const char *error);

static void write_failed(struct rwrite *w, const char *msg)
{
    audit(w->rec, w->rec->live.names[w->res], w->rec->live.policies[w->res].etag, NULL, msg);
    w->state = W_FAILED;
    w->err = xstrdup(msg);
    w->rec->stats.resources_failed++;
}

static void write_settled(struct rec *r)
{
    if (--r->outstanding == 0)
        phase_record(r);
}

static void retry_timer(uv_timer_t *t)
{
    start_reread(t->data);
}

/* The audit trail: one entry per binding written (or that failed). */
static void audit(struct rec *r, const char *resource, const char *etag_before,
                  const char *etag_after, const char *error)
{
    for (size_t i = 0; i < r->plan.n_changes; i++) {
        const struct plan_change *c = &r->plan.changes[i];
        struct log_audit a = {0};

        if (strcmp(c->resource, resource) != 0)
            continue;
        a.app = c->app;
        a.resource = c->resource;
        a.role = c->role;
        a.member = c->member;
        a.condition = c->cond != NULL
                          ? (c->cond->title != NULL ? c->cond->title : c->cond->expression)
                          : NULL;
        a.action = plan_action_name(c->action);
        a.revision = r->req.revision;
        a.etag_before = etag_before;
        a.etag_after = etag_after;
        a.error = error;
        log_audit(&a);
    }
}

static void write_done(void *data, int err, long status, const char *errmsg,
                       struct iam_policy *policy)
{
    struct rwrite *w = data;
    struct rec *r = w->rec;
    uint64_t delay;

    (void)status;
    if (err == 0) {
        audit(r, r->live.names[w->res], r->live.policies[w->res].etag, policy->etag, NULL);
        /* Keep the answer: its etag is the current one (no re-read). */
        iam_policy_release(&r->live.policies[w->res]);
        r->live.policies[w->res] = *policy;
        iam_policy_init(policy);
        w->state = W_DONE;
        r->stats.resources_written++;
    } else if (err == ERR_CONFLICT) {
        r->stats.conflicts++;
        if (backoff_next(&w->bo, 0, &delay) == 0) {
            w->state = W_WAITING;
            if (!w->timer_open) {
                uv_timer_init(r->loop, &w->timer);
                w->timer.data = w;
                w->timer_open = true;
                r->timers_open++;
            }
            uv_timer_start(&w->timer, retry_timer, delay, 0);
            return; /* still outstanding */
        }
        write_failed(w, errmsg != NULL ? errmsg : "concurrent changes kept winning");
    } else {
        write_failed(w, errmsg != NULL ? errmsg : err_str(err));
    }
    write_settled(r);
}

/* Applies the resource's planned changes to the policy last read and
 * writes it under that policy's etag. */
static void start_write(struct rwrite *w)
{
    struct rec *r = w->rec;
    const char *res = r->live.names[w->res];
    struct iam_policy p;
    int rc;

    iam_policy_copy(&p, &r->live.policies[w->res]);
    plan_apply_to_policy(&r->plan, res, &p);
    rc = gapi_set_policy(r->api, res, &p, write_done, w);
    iam_policy_release(&p);
    if (rc < 0) {
        char *msg = xasprintf("cannot set IAM policy for '%s': %s", res,
                              rc == ERR_INVAL ? "no etag was read" : err_str(rc));
        if (w->state != W_IDLE) {
            /* A retry: the write was outstanding already. */
            write_failed(w, msg);
            free(msg);
            write_settled(r);
            return;
        }
        write_failed(w, msg);
        free(msg);
        return;
    }
    if (w->state == W_IDLE)
        r->outstanding++;
    w->state = W_WRITING;
    r->stats.policy_writes++;
}

static void reread_done(void *data, int err, long status, const char *errmsg,
                        struct iam_policy *policy)
{
    struct rwrite *w = data;
    struct rec *r = w->rec;

    (void)status;
    if (err != 0) {
        write_failed(w, errmsg != NULL ? errmsg : err_str(err));
        write_settled(r);
        return;
    }
    iam_policy_release(&r->live.policies[w->res]);
    r->live.policies[w->res] = *policy;
    iam_policy_init(policy);
    start_write(w);
}

static void start_reread(struct rwrite *w)
{
    struct rec *r = w->rec;

    w->state = W_REREADING;
    r->stats.policy_reads++;
    if (gapi_get_policy(r->api, r->live.names[w->res], reread_done, w) < 0) {
        write_failed(w, "cannot re-read the policy");
        write_settled(r);
    }
}

/* ---- service identity (enforce) ---- */

struct idw {
    struct rec *rec;
    size_t i; /* in plan.idents */
};

static void identity_failed(struct rec *r, const struct plan_identity *id, int err, const char *msg)
{
    struct plan_app *a = plan_find_app(&r->plan, id->app);

    if (a != NULL) {
        a->status = PLAN_APP_FAILED;
        err_list_add(&a->errs, err, NULL, 0, 0, id->resource, "%s", msg);
    }
}

static void identity_done(void *data, int err, long status, const char *errmsg,
                          struct gres_run *run)
{
    struct idw *c = data;
    struct rec *r = c->rec;
    struct plan_identity *id = &r->plan.idents[c->i];

    (void)status;
    (void)run;
    log_audit(&(struct log_audit){.app = id->app,
                                  .resource = id->resource,
                                  .member = id->want,
                                  .action = "set-identity",
                                  .revision = r->req.revision,
                                  .error = err == 0 ? NULL : errmsg});
    if (err == 0)
        id->written = true;
    else
        identity_failed(r, id, err, errmsg != NULL ? errmsg : err_str(err));
    if (--r->outstanding == 0)
        phase_record(r);
}

/* The account must exist and be enabled before a service is made to run as
 * it: Cloud Run would accept the update and fail every new revision. */
static void identity_checked(void *data, int err, long status, const char *errmsg,
                             struct gres_sa *sa)
{
    struct idw *c = data;
    struct rec *r = c->rec;
    struct plan_identity *id = &r->plan.idents[c->i];
    char *msg = NULL;

    (void)status;
    if (err == 0 && sa->disabled)
        msg = xasprintf("not updating '%s': service account '%s' is disabled", id->resource,
                        id->want);
    else if (err == ERR_NOTFOUND)
        msg = xasprintf("not updating '%s': service account '%s' does not exist", id->resource,
                        id->want);
    else if (err < 0)
        msg = xstrdup(errmsg != NULL ? errmsg : err_str(err));
    if (msg == NULL && gapi_set_identity(r->api, id->resource, id->want, identity_done, c) == 0) {
        r->stats.identity_writes++;
        return; /* still outstanding */
    }
    identity_failed(r, id, err < 0 ? err : ERR_INVAL, msg != NULL ? msg : "cannot update");
    free(msg);
    if (--r->outstanding == 0)
        phase_record(r);
}

static void start_identity_writes(struct rec *r)
{
    r->idw = xcalloc(r->plan.n_idents + 1, sizeof(*r->idw));
    for (size_t i = 0; i < r->plan.n_idents; i++) {
        struct plan_identity *id = &r->plan.idents[i];
        struct plan_app *a = plan_find_app(&r->plan, id->app);

        if (id->mode != OAM_SI_ENFORCE || a == NULL || a->status == PLAN_APP_REJECTED ||
            a->status == PLAN_APP_FAILED)
            continue;
        r->idw[i] = (struct idw){r, i};
        if (gapi_get_service_account(r->api, id->want, identity_checked, &r->idw[i]) == 0)
            r->outstanding++;
    }
}

/* ---- record ---- */

/* Marks apps with a failed write as failed, and reports which changes were
 * written. */
static bool *mark_written(struct rec *r)
{
    bool *keep = xcalloc(r->plan.n_changes + 1, sizeof(*keep));

    for (size_t i = 0; i < r->plan.n_changes; i++) {
        const struct plan_change *c = &r->plan.changes[i];
        long j = iam_live_find(&r->live, c->resource);
        const struct rwrite *w = j >= 0 ? &r->w[j] : NULL;

        if (w != NULL && w->state == W_DONE) {
            keep[i] = true;
        } else {
            struct plan_app *a = plan_find_app(&r->plan, c->app);
            if (a != NULL && a->status != PLAN_APP_FAILED) {
                a->status = PLAN_APP_FAILED;
            }
            if (a != NULL && w != NULL && w->err != NULL &&
                (a->errs.n == 0 || strcmp(a->errs.v[a->errs.n - 1].msg, w->err) != 0))
                err_list_add(&a->errs, ERR_IO, NULL, 0, 0, c->resource, "%s", w->err);
        }
    }
    return keep;
}

static void record_done(struct lstore *s, int err, const char *errmsg, void *data)
{
    struct app_ctx *c = data;
    struct rec *r = c->rec;

    (void)s;
    if (err < 0)
        err_list_add(&r->errs, err, NULL, 0, 0, r->plan.apps[c->i].name,
                     "cannot write the ledger record: %s", errmsg != NULL ? errmsg : err_str(err));
    else
        r->stats.ledger_writes++;
    if (--r->outstanding == 0)
        finish(r);
}

/* Resources an app's writes succeeded on (its record's entries there are
 * the plan's); every other resource keeps the old entries. */
static void now_rfc3339(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Same bindings, revision and status (apart from the time of the pass)? */
static bool record_unchanged(const struct ledger_app *before, const struct ledger_app *merged)
{
    struct ledger_app a, b;
    char *x, *y;
    bool same;

    if (before == NULL || !plan_status_same(before->status, merged->status))
        return false;
    a = *before;
    b = *merged;
    a.status = b.status = NULL; /* shallow: only for encoding */
    x = ledger_app_encode(&a);
    y = ledger_app_encode(&b);
    same = strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static void record_app(struct rec *r, size_t ai, const struct ledger_app *before,
                       const struct ledger_app *after, const char **ok, size_t n_ok)
{
    const struct plan_app *a = &r->plan.apps[ai];
    struct ledger_app merged;
    char now[32];
    int rc;

    ledger_app_merge(&merged, a->name, before, after, ok, n_ok);
    if (r->opts.only_resource != NULL) {
        /* A targeted pass saw one resource: the status of the last full
         * pass stands. */
        merged.status = before != NULL ? xstrdup_or_null(before->status) : NULL;
    } else {
        now_rfc3339(now, sizeof(now));
        merged.status = plan_status_json(a, &merged, r->req.revision, now,
                                         before != NULL ? before->status : NULL);
    }
    if (record_unchanged(before, &merged)) {
        /* A converged pass writes nothing, not even the ledger. */
        XGROW(r->written.apps, r->written.n + 1, r->written.cap);
        ledger_app_copy(&r->written.apps[r->written.n++], before);
        ledger_app_release(&merged);
        return;
    }
    if (after == NULL && merged.n == 0 && a->status != PLAN_APP_REJECTED)
        /* The app left the source and every prune went through. */
        rc = before != NULL ? lstore_delete(r->opts.store, a->name, record_done, &r->actx[ai]) : 1;
    else
        rc = lstore_put(r->opts.store, &merged, record_done, &r->actx[ai]);
    if (rc == 0) {
        r->outstanding++;
        XGROW(r->written.apps, r->written.n + 1, r->written.cap);
        ledger_app_copy(&r->written.apps[r->written.n++], &merged);
    } else if (rc < 0) {
        err_list_add(&r->errs, rc, NULL, 0, 0, a->name, "cannot write the ledger record");
    }
    ledger_app_release(&merged);
}

static void phase_record(struct rec *r)
{
    const struct ledger *before = r->req.ledger;
    bool *keep = mark_written(r);
    const char **ok = xcalloc(r->live.n + 1, sizeof(*ok));
    size_t n_ok = 0;

    for (size_t i = 0; i < r->live.n; i++)
        if (r->w[i].state == W_DONE || (r->w[i].state == W_IDLE && r->read_err[i] == NULL))
            ok[n_ok++] = r->live.names[i];
    for (size_t i = 0; i < r->plan.n_apps; i++) {
        const struct plan_app *a = &r->plan.apps[i];
        const struct ledger_app *b = before != NULL ? ledger_find_app(before, a->name) : NULL;

        if (r->opts.only_resource != NULL && !app_changes(r, a->name))
            continue;
        /* A rejected app keeps its record (only its status changes); one
         * that could not record its intent wrote nothing, so its old record
         * stands as it was. */
        record_app(r, i, b, ledger_find_app(&r->plan.ledger, a->name), ok,
                   r->no_intent[i] || a->status == PLAN_APP_REJECTED ? 0 : n_ok);
    }
    free(ok);
    plan_keep_changes(&r->plan, keep);
    free(keep);
    if (r->outstanding == 0)
        finish(r);
}

/* ---- public ---- */

int rec_run(uv_loop_t *loop, struct gapi *api, const struct plan_request *req,
            const struct rec_opts *opts, rec_done_cb *cb, void *data, struct rec **ret)
{
    struct rec *r = xcalloc(1, sizeof(*r));

    r->loop = loop;
    r->api = api;
    r->req = *req;
    r->opts = *opts;
    if (r->opts.max_conflict_retries == 0)
        r->opts.max_conflict_retries = 5;
    if (r->opts.conflict_base_ms == 0)
        r->opts.conflict_base_ms = 200;
    r->cb = cb;
    r->data = data;
    iam_live_init(&r->live);
    ledger_init(&r->written);
    err_list_init(&r->errs);
    plan_init(&r->plan);
    *ret = r;
    return phase_read(r);
}

struct plan *rec_plan(struct rec *r)
{
    return &r->plan;
}

const struct rec_stats *rec_stats(const struct rec *r)
{
    return &r->stats;
}

const struct err_list *rec_errors(const struct rec *r)
{
    return &r->errs;
}

const struct ledger *rec_records(const struct rec *r)
{
    return &r->written;
}

void rec_free(struct rec *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->live.n; i++)
        free(r->read_err != NULL ? r->read_err[i] : NULL);
    free(r->read_err);
    for (size_t i = 0; r->w != NULL && i < r->live.n; i++)
        free(r->w[i].err);
    free(r->w);
    for (size_t i = 0; i < r->n_idr; i++) {
        free(r->idr[i].resource);
        free(r->idr[i].service_account);
        free(r->idr[i].err);
    }
    free(r->idr);
    free(r->idents);
    free(r->idw);
    free(r->actx);
    free(r->no_intent);
    iam_live_release(&r->live);
    ledger_release(&r->written);
    plan_release(&r->plan);
    err_list_release(&r->errs);
    free(r);
}
