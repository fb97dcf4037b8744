/*
 * cmd_apply.c - `roam apply` and the live `roam plan`: one reconcile pass
 * against Google's APIs.
 *
 * Both run the same pass (reconcile.h); plan stops before the writes.  The
 * loop, the HTTP client and the credentials are set up here and torn down
 * before returning, so the process leaves nothing open: the transport is
 * closed, the loop run dry and closed.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/gapi.h"
#include "controller/reconcile/ledger_store.h"
#include "controller/reconcile/load.h"
#include "controller/reconcile/reconcile.h"
#include "controller/runtime/log.h"
#include "controller/source/source.h"

struct run_ctx {
    struct cli_opts *o;
    bool apply;
    int rc;
};

static int exit_code(const struct plan *p, const struct cli_opts *o, bool apply)
{
    for (size_t i = 0; i < p->n_apps; i++)
        if (p->apps[i].status == PLAN_APP_REJECTED || p->apps[i].status == PLAN_APP_FAILED)
            return CLI_EXIT_ERROR;
    if (!apply && o->detailed_exitcode) {
        bool enforce = false;
        for (size_t i = 0; i < p->n_idents; i++)
            enforce = enforce || p->idents[i].mode == OAM_SI_ENFORCE;
        if (p->n_changes > 0 || enforce)
            return CLI_EXIT_CHANGES;
    }
    return CLI_EXIT_OK;
}

static void pass_done(struct rec *r, void *data)
{
    struct run_ctx *c = data;
    struct plan *p = rec_plan(r);
    const struct rec_stats *st = rec_stats(r);
    const struct err_list *errs = rec_errors(r);
    char *out;

    p->applied = c->apply;
    out = c->o->output == CLI_OUTPUT_JSON ? plan_render_json(p) : plan_render_text(p);
    fputs(out, stdout);
    fflush(stdout);
    free(out);
    cli_print_errs(stderr, errs, "");
    log_info("%s: %u policy reads, %u service reads, %u policy writes, %u conflicts retried, "
             "%u resources written, %u failed, %u ledger records written",
             c->apply ? "apply" : "plan", st->policy_reads, st->run_reads, st->policy_writes,
             st->conflicts, st->resources_written, st->resources_failed, st->ledger_writes);
    c->rc = exit_code(p, c->o, c->apply);
    if (errs->n > 0)
        c->rc = CLI_EXIT_ERROR;
}

static void http_closed(struct gcp_http *h, void *data)
{
    (void)h;
    (void)data;
}

/* Sets up the loop, transport and credentials, runs one pass, tears down. */
static int run_pass(struct cli_opts *o, bool apply, struct plan_request *req, const char *state)
{
    uv_loop_t loop;
    struct gcp_http *http = NULL;
    struct gcp_auth *auth = NULL;
    struct gapi api;
    struct gcp_http_config hc = {0};
    struct rec_opts ro = {.write = apply && !o->dry_run, .state = state};
    struct run_ctx ctx = {o, apply && !o->dry_run, CLI_EXIT_ERROR};
    struct rec *r = NULL;
    char *msg = NULL;

    hc.max_inflight = (unsigned)o->max_inflight;
    hc.qps = (double)o->qps;
    hc.qps_burst = (unsigned)(o->qps > 0 ? o->qps : 1);
    uv_loop_init(&loop);
    if (gcp_http_new(&loop, &hc, &http) < 0) {
        fprintf(stderr, "roam %s: cannot set up HTTP\n", apply ? "apply" : "plan");
        goto out_loop;
    }
    if (gcp_auth_new(http, NULL, &auth, &msg) < 0) {
        fprintf(stderr, "roam %s: %s\n", apply ? "apply" : "plan",
                msg != NULL ? msg : "no credentials");
        free(msg);
        goto out_http;
    }
    gcp_http_set_auth(http, auth);
    gapi_init(&api, http);
    if (rec_run(&loop, &api, req, &ro, pass_done, &ctx, &r) < 0)
        fprintf(stderr, "roam %s: cannot start the pass\n", apply ? "apply" : "plan");
    else
        uv_run(&loop, UV_RUN_DEFAULT);
    rec_free(r);
    gapi_release(&api);
out_http:
    gcp_http_close(http, http_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    gcp_auth_free(auth);
out_loop:
    if (uv_loop_close(&loop) != 0)
        log_warnx("event loop closed with handles still open");
    return ctx.rc;
}

static int load_inputs(struct cli_opts *o, const char *cmd, struct src_snapshot *snap,
                       struct oam_docset *docs, struct oam_config *cfg, struct ledger *ledger,
                       const char *state)
{
    struct err_list errs;
    int rc = 0;

    err_list_init(&errs);
    src_dir_read(o->source, snap);
    load_snapshot(snap, docs);
    cli_print_errs(stderr, &docs->notices, "notice: ");
    cli_print_errs(stderr, &docs->errs, "");
    if (cli_load_config(cmd, o->config, cfg) < 0)
        rc = -1;
    if (rc == 0 && ledger_store_load(state, ledger, &errs) < 0) {
        fprintf(stderr, "roam %s: cannot use the ledger at '%s':\n", cmd, state);
        cli_print_errs(stderr, &errs, "  ");
        rc = -1;
    }
    err_list_release(&errs);
    return rc;
}

int cli_live_pass(struct cli_opts *o, bool apply)
{
    const char *cmd = apply ? "apply" : "plan";
    const char *state = o->state != NULL ? o->state : CLI_DEFAULT_STATE;
    struct src_snapshot snap;
    struct oam_docset docs;
    struct oam_config cfg;
    struct ledger ledger;
    struct oam_defaults defs = {o->project, o->region};
    struct plan_request req = {0};
    int rc = CLI_EXIT_ERROR;

    if (o->source == NULL) {
        fprintf(stderr, "roam %s: no source: pass --source DIR (or set ROAM_SOURCE)\n", cmd);
        return CLI_EXIT_ERROR;
    }
    if (apply && o->state == NULL && getenv("CLOUD_RUN_JOB") != NULL)
        log_warnx("no durable --state on a Cloud Run job: the ledger in '%s' is lost with the "
                  "container, so whole-role revocation cannot be tracked",
                  state);
    oam_docset_init(&docs);
    ledger_init(&ledger);
    if (load_inputs(o, cmd, &snap, &docs, &cfg, &ledger, state) == 0) {
        req.source = o->source;
        req.revision = snap.revision;
        req.docs = &docs;
        req.defs = &defs;
        req.ledger = &ledger;
        cli_guard_opts(o, &cfg, &req.guard);
        rc = run_pass(o, apply, &req, state);
        if (docs.errs.n > 0)
            rc = CLI_EXIT_ERROR;
    }
    oam_config_release(&cfg);
    ledger_release(&ledger);
    oam_docset_release(&docs);
    src_snapshot_release(&snap);
    return rc;
}

int cmd_apply(struct cli_opts *o)
{
    return cli_live_pass(o, true);
}
