/*
 * cli.h - the command line: options shared by every subcommand, and the
 * subcommands themselves (git's git.c + builtin/ table).
 *
 * Every flag has an environment variable (ROAM_SOURCE, ROAM_STATE, ...) so
 * that Cloud Run can configure roam without arguments; a flag given on the
 * command line wins over its variable.  Subcommand functions return the
 * process exit code: 0 success (for plan --detailed-exitcode: no changes),
 * 1 error or any app rejected/failed, 2 changes pending (plan
 * --detailed-exitcode only).  main() is the only place that exits.
 */
#ifndef ROAM_CLI_H
#define ROAM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "api/common/err.h"

enum cli_output { CLI_OUTPUT_TEXT, CLI_OUTPUT_JSON };

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_CHANGES = 2,
};

struct cli_opts {
    const char *source;     /* --source / ROAM_SOURCE */
    const char *state;      /* --state / ROAM_STATE */
    const char *config;     /* --config / ROAM_CONFIG */
    const char *project;    /* --project / ROAM_PROJECT */
    const char *region;     /* --region / ROAM_REGION */
    const char *live_state; /* --live-state / ROAM_LIVE_STATE (offline plan) */
    const char *shard;      /* --shard I/N */
    const char *listen;     /* --listen */
    const char *resync;     /* --resync */
    const char *poll;       /* --poll */
    const char *push_auth;  /* --push-auth */
    long long max_inflight; /* --max-inflight, default 16 */
    long long qps;          /* --qps, default 20 */
    long long max_removals; /* --max-removals, -1: from config or 50 */
    bool allow_mass_removal;
    bool detailed_exitcode;
    bool dry_run;
    enum cli_output output;
    int log_json; /* --log-format json */
    int verbose;  /* -v, repeatable */
    /* Positional arguments after the options. */
    int argc;
    char **argv;
};

/*
 * Parses options for subcommand `cmd` (argv[0] is the subcommand name).
 * Returns 0, or -1 after printing a usage error on stderr.
 */
int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *ret);

/* Prints a problem list sorted by file and place, one per line, each after
 * prefix. */
void cli_print_errs(FILE *out, const struct err_list *l, const char *prefix);
/* Reads a whole file of at most max bytes; NULL with a message on stderr. */
char *cli_read_file(const char *cmd, const char *path, size_t max, size_t *ret_len);

struct oam_config;
struct guard_opts;
/* Loads --config (NULL: an empty config); prints problems.  cfg is
 * initialised either way. */
int cli_load_config(const char *cmd, const char *path, struct oam_config *cfg);
/* Safety options from the flags and the config. */
void cli_guard_opts(const struct cli_opts *o, const struct oam_config *cfg, struct guard_opts *ret);
/* One pass: `plan` (apply false; offline with --live-state) or `apply`. */
int cli_pass(struct cli_opts *o, bool apply);
struct iam_live;
/* Reads a --live-state export; prints problems.  live is initialised either
 * way. */
int cli_load_live(const char *cmd, const char *path, struct iam_live *live);

int cmd_validate(struct cli_opts *o);
int cmd_apply(struct cli_opts *o);
int cmd_status(struct cli_opts *o);
int cmd_serve(struct cli_opts *o);
int cmd_plan(struct cli_opts *o);
int cmd_version(struct cli_opts *o);

#endif
