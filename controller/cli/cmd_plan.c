/*
 * cmd_plan.c - `roam plan`: what roam would change, without changing it.
 *
 * The offline form, `roam plan --source DIR --live-state FILE`, takes the
 * live policies from a JSON export (resource name -> the Policy getIamPolicy
 * returns) instead of the APIs, so users can ask "what would roam change
 * against this export".  The ledger comes from --state (default
 * ./.roam/state), the platform guardrails from --config.  The decisions are
 * the ones apply takes: plan_build() is shared.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "controller/reconcile/ledger_store.h"
#include "controller/reconcile/load.h"
#include "controller/source/source.h"

char *cli_read_file(const char *cmd, const char *path, size_t max, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[65536];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "roam %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            fprintf(stderr, "roam %s: '%s' is larger than %zu bytes\n", cmd, path, max);
            fclose(f);
            return NULL;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "roam %s: cannot read '%s'\n", cmd, path);
        buf_release(&b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return buf_detach(&b, ret_len);
}

static int load_live(const char *path, struct iam_live *live)
{
    struct err_detail ed = {0};
    size_t len;
    char *data = cli_read_file("plan", path, CAP_LIVE_STATE_BYTES, &len);
    int r;

    iam_live_init(live);
    if (data == NULL)
        return -1;
    r = iam_live_decode(data, len, live, &ed);
    if (r < 0) {
        fprintf(stderr, "roam plan: %s: %s%s%s\n", path, ed.path != NULL ? ed.path : "",
                ed.path != NULL ? ": " : "", ed.msg != NULL ? ed.msg : err_str(r));
        err_detail_release(&ed);
    }
    free(data);
    return r < 0 ? -1 : 0;
}

int cli_load_config(const char *cmd, const char *path, struct oam_config *cfg)
{
    size_t len;
    char *data;

    oam_config_init(cfg);
    if (path == NULL)
        return 0;
    data = cli_read_file(cmd, path, CAP_CONFIG_BYTES, &len);
    if (data == NULL)
        return -1;
    oam_config_parse(cfg, path, data, len);
    free(data);
    if (cfg->errs.n > 0) {
        fprintf(stderr, "roam %s: invalid config '%s':\n", cmd, path);
        cli_print_errs(stderr, &cfg->errs, "  ");
        return -1;
    }
    return 0;
}

void cli_guard_opts(const struct cli_opts *o, const struct oam_config *cfg, struct guard_opts *ret)
{
    guard_opts_init(ret);
    ret->max_removals = o->max_removals >= 0     ? o->max_removals
                        : cfg->max_removals >= 0 ? cfg->max_removals
                                                 : 50;
    ret->allow_mass_removal = o->allow_mass_removal;
    ret->config = cfg;
}

static int load_ledger(const char *state, struct ledger *l)
{
    struct err_list errs;
    int r;

    err_list_init(&errs);
    r = ledger_store_load(state, l, &errs);
    if (r < 0) {
        fprintf(stderr, "roam plan: cannot use the ledger at '%s':\n", state);
        cli_print_errs(stderr, &errs, "  ");
    }
    err_list_release(&errs);
    return r < 0 ? -1 : 0;
}

static int exit_code(const struct plan *p, const struct cli_opts *o)
{
    for (size_t i = 0; i < p->n_apps; i++)
        if (p->apps[i].status == PLAN_APP_REJECTED || p->apps[i].status == PLAN_APP_FAILED)
            return CLI_EXIT_ERROR;
    if (o->detailed_exitcode && p->n_changes > 0)
        return CLI_EXIT_CHANGES;
    return CLI_EXIT_OK;
}

static int run_plan(struct cli_opts *o, struct oam_docset *docs, const char *revision,
                    const struct iam_live *live, const struct ledger *ledger,
                    const struct oam_config *cfg)
{
    struct oam_defaults defs = {o->project, o->region};
    struct plan_request req = {
        .source = o->source,
        .revision = revision,
        .docs = docs,
        .defs = &defs,
        .live = live,
        .ledger = ledger,
    };
    struct plan p;
    char *out;
    int rc;

    cli_guard_opts(o, cfg, &req.guard);
    if (plan_build(&p, &req) < 0) {
        fprintf(stderr, "roam plan: cannot compute the plan\n");
        plan_release(&p);
        return CLI_EXIT_ERROR;
    }
    out = o->output == CLI_OUTPUT_JSON ? plan_render_json(&p) : plan_render_text(&p);
    fputs(out, stdout);
    free(out);
    rc = exit_code(&p, o);
    plan_release(&p);
    return rc;
}

int cmd_plan(struct cli_opts *o)
{
    struct src_snapshot snap;
    struct oam_docset docs;
    struct iam_live live;
    struct ledger ledger;
    struct oam_config cfg;
    int rc = CLI_EXIT_ERROR;

    if (o->source == NULL) {
        fprintf(stderr, "roam plan: no source: pass --source DIR (or set ROAM_SOURCE)\n");
        return CLI_EXIT_ERROR;
    }
    if (o->live_state == NULL)
        return cli_live_pass(o, false);
    oam_docset_init(&docs);
    iam_live_init(&live);
    ledger_init(&ledger);
    src_dir_read(o->source, &snap);
    load_snapshot(&snap, &docs);
    cli_print_errs(stderr, &docs.notices, "notice: ");
    cli_print_errs(stderr, &docs.errs, "");
    if (cli_load_config("plan", o->config, &cfg) < 0 || load_live(o->live_state, &live) < 0 ||
        load_ledger(o->state != NULL ? o->state : CLI_DEFAULT_STATE, &ledger) < 0)
        goto out_release;
    rc = run_plan(o, &docs, snap.revision, &live, &ledger, &cfg);
    if (docs.errs.n > 0)
        rc = CLI_EXIT_ERROR;
out_release:
    oam_config_release(&cfg);
    ledger_release(&ledger);
    iam_live_release(&live);
    oam_docset_release(&docs);
    src_snapshot_release(&snap);
    return rc;
}
