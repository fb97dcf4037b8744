/*
 * pass.c - `roam plan` and `roam apply`: read the source and the ledger,
 * decide, and (apply) write, on one libuv loop.
 *
 * The steps are chained callbacks: source read (thread pool for directories
 * and Git, HTTP for buckets) -> documents parsed -> ledger loaded (file or
 * gs://) -> either the offline plan against a --live-state export, or a
 * reconcile pass against the APIs.  The loop, the HTTP client and the
 * credentials are set up first and torn down before returning, so the
 * process leaves nothing open.  Credentials are needed only when something
 * talks to Google: an offline plan of a directory needs none.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/gapi.h"
#include "controller/reconcile/load.h"
#include "controller/reconcile/lstore.h"
#include "controller/reconcile/reconcile.h"
#include "controller/runtime/log.h"
#include "controller/runtime/shard.h"
#include "controller/source/src.h"

struct pass {
    struct cli_opts *o;
    const char *cmd;
    bool apply;   /* write (apply without --dry-run) */
    bool offline; /* --live-state */
    int rc;
    uv_loop_t loop;
    struct gcp_http *http;
    struct gcp_auth *auth;
    struct gapi api;
    struct src *src;
    struct lstore *store;
    char *state;
    struct oam_docset docs;
    struct oam_config cfg;
    struct ledger ledger;
    struct oam_defaults defs;
    struct rec *rec;
    const struct src_snapshot *snap;
    struct shard shard; /* count 1: every app */
};

/*
 * Sharding (a Cloud Run job with several tasks, or --shard I/N): this
 * process takes the apps whose stable hash falls in its shard, and only
 * their ledger records, so an app of another shard is never mistaken for a
 * deleted one.
 */
static void shard_docs(struct pass *ps)
{
    size_t out = 0;

    for (size_t i = 0; i < ps->docs.n_apps; i++) {
        struct oam_app *a = &ps->docs.apps[i];

        if (a->name != NULL && !shard_owns(&ps->shard, a->name))
            oam_app_release(a);
        else
            ps->docs.apps[out++] = *a;
    }
    ps->docs.n_apps = out;
}

static void shard_ledger(struct pass *ps)
{
    size_t out = 0;

    for (size_t i = 0; i < ps->ledger.n; i++) {
        if (!shard_owns(&ps->shard, ps->ledger.apps[i].app))
            ledger_app_release(&ps->ledger.apps[i]);
        else
            ps->ledger.apps[out++] = ps->ledger.apps[i];
    }
    ps->ledger.n = out;
}

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

static void print_plan(struct pass *ps, struct plan *p)
{
    char *out;

    p->applied = ps->apply;
    out = ps->o->output == CLI_OUTPUT_JSON ? plan_render_json(p) : plan_render_text(p);
    fputs(out, stdout);
    fflush(stdout);
    free(out);
    ps->rc = exit_code(p, ps->o, ps->apply);
    if (ps->docs.errs.n > 0)
        ps->rc = CLI_EXIT_ERROR;
}

static void rec_done(struct rec *r, void *data)
{
    struct pass *ps = data;
    const struct rec_stats *st = rec_stats(r);
    const struct err_list *errs = rec_errors(r);

    print_plan(ps, rec_plan(r));
    cli_print_errs(stderr, errs, "");
    log_info("%s: %u policy reads, %u service reads, %u policy writes, %u conflicts retried, "
             "%u resources written, %u failed, %u ledger records written",
             ps->cmd, st->policy_reads, st->run_reads, st->policy_writes, st->conflicts,
             st->resources_written, st->resources_failed, st->ledger_writes);
    if (errs->n > 0)
        ps->rc = CLI_EXIT_ERROR;
}

static struct plan_request request(struct pass *ps)
{
    struct plan_request req = {0};

    req.source = ps->o->source;
    req.revision = ps->snap != NULL ? ps->snap->revision : NULL;
    req.docs = &ps->docs;
    req.defs = &ps->defs;
    req.ledger = &ps->ledger;
    cli_guard_opts(ps->o, &ps->cfg, &req.guard);
    return req;
}

/* The offline plan: live policies from a JSON export. */
static void decide_offline(struct pass *ps)
{
    struct plan_request req = request(ps);
    struct iam_live live;
    struct plan p;

    if (cli_load_live(ps->cmd, ps->o->live_state, &live) < 0)
        return;
    req.live = &live;
    if (plan_build(&p, &req) < 0)
        fprintf(stderr, "roam %s: cannot compute the plan\n", ps->cmd);
    else
        print_plan(ps, &p);
    plan_release(&p);
    iam_live_release(&live);
}

static void ledger_loaded(struct lstore *s, int err, const char *errmsg, struct ledger *l,
                          void *data)
{
    struct pass *ps = data;
    struct plan_request req;
    struct rec_opts ro = {.write = ps->apply, .store = s};

    if (err < 0) {
        fprintf(stderr, "roam %s: cannot use the ledger at '%s': %s\n", ps->cmd, lstore_url(s),
                errmsg != NULL ? errmsg : err_str(err));
        return;
    }
    ps->ledger = *l;
    ledger_init(l);
    if (ps->shard.count > 1)
        shard_ledger(ps);
    if (ps->offline) {
        decide_offline(ps);
        return;
    }
    req = request(ps);
    if (rec_run(&ps->loop, &ps->api, &req, &ro, rec_done, ps, &ps->rec) < 0)
        fprintf(stderr, "roam %s: cannot start the pass\n", ps->cmd);
}

static void source_read(struct src *s, int err, const char *errmsg, const struct src_snapshot *snap,
                        bool changed, void *data)
{
    struct pass *ps = data;
    char *msg = NULL;

    (void)changed;
    if (err < 0) {
        fprintf(stderr, "roam %s: cannot read source '%s': %s\n", ps->cmd, src_url(s),
                errmsg != NULL ? errmsg : err_str(err));
        return;
    }
    ps->snap = snap;
    load_snapshot(snap, &ps->docs);
    if (ps->shard.count > 1)
        shard_docs(ps);
    cli_print_errs(stderr, &ps->docs.notices, "notice: ");
    cli_print_errs(stderr, &ps->docs.errs, "");
    if (lstore_open(ps->state, &ps->loop, ps->http, &ps->store, &msg) < 0) {
        fprintf(stderr, "roam %s: %s\n", ps->cmd, msg != NULL ? msg : "bad --state");
        free(msg);
        return;
    }
    if (lstore_load(ps->store, ledger_loaded, ps) < 0)
        fprintf(stderr, "roam %s: cannot read the ledger at '%s'\n", ps->cmd, ps->state);
}

/* Credentials are needed when something talks to Google. */
static bool needs_google(const struct pass *ps)
{
    return !ps->offline || str_has_prefix(ps->o->source, "gs://") ||
           str_has_prefix(ps->state, "gs://");
}

/* ROAM_HTTP_TIMEOUT_MS: the time one attempt may take (default 60 s; the
 * fault tests shorten it).  0 or anything unparsable keeps the default. */
static long http_timeout_ms(void)
{
    const char *v = getenv("ROAM_HTTP_TIMEOUT_MS");
    long long ms;

    if (v == NULL || str_to_ll(v, 1, 3600000, &ms) < 0)
        return 0;
    return (long)ms;
}

static int setup(struct pass *ps)
{
    struct gcp_http_config hc = {0};
    struct src_env env = {&ps->loop, NULL, NULL};
    char *msg = NULL;

    hc.max_inflight = (unsigned)ps->o->max_inflight;
    hc.timeout_ms = http_timeout_ms();
    hc.qps = (double)ps->o->qps;
    hc.qps_burst = (unsigned)(ps->o->qps > 0 ? ps->o->qps : 1);
    if (gcp_http_new(&ps->loop, &hc, &ps->http) < 0) {
        fprintf(stderr, "roam %s: cannot set up HTTP\n", ps->cmd);
        return -1;
    }
    if (needs_google(ps)) {
        if (gcp_auth_new(ps->http, NULL, &ps->auth, &msg) < 0) {
            fprintf(stderr, "roam %s: %s\n", ps->cmd, msg != NULL ? msg : "no credentials");
            free(msg);
            return -1;
        }
        gcp_http_set_auth(ps->http, ps->auth);
    }
    gapi_init(&ps->api, ps->http);
    env.http = ps->http;
    if (src_open(ps->o->source, &env, &ps->src, &msg) < 0) {
        fprintf(stderr, "roam %s: %s\n", ps->cmd, msg != NULL ? msg : "bad --source");
        free(msg);
        return -1;
    }
    return 0;
}

static void http_closed(struct gcp_http *h, void *data)
{
    (void)h;
    (void)data;
}

static void teardown(struct pass *ps)
{
    rec_free(ps->rec);
    lstore_close(ps->store);
    src_close(ps->src);
    if (ps->http != NULL) {
        gapi_release(&ps->api);
        gcp_http_close(ps->http, http_closed, NULL);
        uv_run(&ps->loop, UV_RUN_DEFAULT);
    }
    gcp_auth_free(ps->auth);
    if (uv_loop_close(&ps->loop) != 0)
        log_warnx("event loop closed with handles still open");
    oam_config_release(&ps->cfg);
    ledger_release(&ps->ledger);
    oam_docset_release(&ps->docs);
    free(ps->state);
}

int cli_pass(struct cli_opts *o, bool apply)
{
    struct pass ps = {0};

    ps.o = o;
    ps.cmd = apply ? "apply" : "plan";
    ps.apply = apply && !o->dry_run;
    ps.offline = !apply && o->live_state != NULL;
    ps.rc = CLI_EXIT_ERROR;
    ps.defs = (struct oam_defaults){o->project, o->region};
    {
        const char *why = NULL;
        if (shard_from_env(o->shard, &ps.shard, &why) < 0) {
            fprintf(stderr, "roam %s: bad shard: %s\n", ps.cmd, why != NULL ? why : "?");
            return CLI_EXIT_ERROR;
        }
        if (ps.shard.count > 1)
            log_info("shard %u/%u: taking the apps whose name hashes to it", ps.shard.index,
                     ps.shard.count);
    }
    if (o->source == NULL) {
        fprintf(stderr, "roam %s: no source: pass --source URL (or set ROAM_SOURCE)\n", ps.cmd);
        return CLI_EXIT_ERROR;
    }
    ps.state = o->state != NULL ? xstrdup(o->state) : src_default_state(o->source);
    if (apply && o->state == NULL && getenv("CLOUD_RUN_JOB") != NULL &&
        !str_has_prefix(ps.state, "gs://"))
        log_warnx("no durable --state on a Cloud Run job: the ledger in '%s' is lost with the "
                  "container, so whole-role revocation cannot be tracked",
                  ps.state);
    oam_docset_init(&ps.docs);
    ledger_init(&ps.ledger);
    uv_loop_init(&ps.loop);
    if (cli_load_config(ps.cmd, o->config, &ps.cfg) == 0 && setup(&ps) == 0) {
        if (src_read(ps.src, source_read, &ps) < 0)
            fprintf(stderr, "roam %s: cannot read the source\n", ps.cmd);
        else
            uv_run(&ps.loop, UV_RUN_DEFAULT);
    }
    teardown(&ps);
    return ps.rc;
}

int cmd_apply(struct cli_opts *o)
{
    return cli_pass(o, true);
}
