/*
 * cmd_plan.c - `roam plan`, and the helpers the pass commands share:
 * reading whole files with a cap, the platform config, the safety options,
 * a live-state export.
 *
 * `roam plan --source URL` reads live policies from the APIs; with
 * `--live-state FILE` it plans against a JSON export instead (resource name ->
 * the Policy getIamPolicy returns), so users can ask "what would roam change
 * against this export" without credentials.  Both run pass.c, which shares
 * its decisions with apply (plan_build).
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

int cli_load_live(const char *cmd, const char *path, struct iam_live *live)
{
    struct err_detail ed = {0};
    size_t len;
    char *data = cli_read_file(cmd, path, CAP_LIVE_STATE_BYTES, &len);
    int r;

    iam_live_init(live);
    if (data == NULL)
        return -1;
    r = iam_live_decode(data, len, live, &ed);
    if (r < 0) {
        fprintf(stderr, "roam %s: %s: %s%s%s\n", cmd, path, ed.path != NULL ? ed.path : "",
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

int cmd_plan(struct cli_opts *o)
{
    return cli_pass(o, false);
}
