/*
 * main.c - the roam command: a table of subcommands (git's git.c), the only
 * place that exits.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "controller/cli/cli.h"
#include "controller/runtime/log.h"

struct cmd {
    const char *name;
    int (*fn)(struct cli_opts *o);
    const char *usage;
};

static const struct cmd cmds[] = {
    {"validate", cmd_validate,
     "roam validate [-v] [--project P] [--region R] PATH...\n"
     "    check documents offline; -v prints the canonical form"},
    {"plan", cmd_plan,
     "roam plan --source DIR [--live-state FILE] [--state URL] [--config FILE]\n"
     "          [--output text|json] [--detailed-exitcode] [--max-removals N]\n"
     "    what roam would change: against the live APIs, or a JSON export of policies"},
    {"apply", cmd_apply,
     "roam apply --source DIR [--state URL] [--config FILE] [--output text|json] [--dry-run]\n"
     "          [--max-inflight N] [--qps N] [--max-removals N] [--allow-mass-removal]\n"
     "    one reconcile pass: read live IAM, write the corrections, record the ledger"},
    {"serve", cmd_serve,
     "roam serve --source URL [--state URL] [--listen :PORT] [--resync 10m] [--poll 1m]\n"
     "          [--push-auth oidc|none]\n"
     "    the continuous controller: resync, poll, Pub/Sub push, webhooks, metrics"},
    {"status", cmd_status,
     "roam status [--state URL] [--output text|json] [APP]\n"
     "    per-app conditions, revisions and last error, from the ledger"},
    {"version", cmd_version, "roam version"},
};

int cmd_version(struct cli_opts *o)
{
    (void)o;
    printf("roam %s\n", ROAM_VERSION);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: roam COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(out, "  %s\n", cmds[i].usage);
    fprintf(out, "\ncommon options: [--state URL] [--config FILE] [--project P] [--region R]\n"
                 "  [--max-removals N] [--allow-mass-removal] [--log-format json|text] [-v]\n"
                 "every option also reads an environment variable: --live-state is "
                 "ROAM_LIVE_STATE\n\n"
                 "exit codes: 0 success (plan --detailed-exitcode: no changes), 1 error or an\n"
                 "app rejected or failed, 2 changes pending (plan --detailed-exitcode)\n");
}

int main(int argc, char **argv)
{
    struct cli_opts o;

    /* A peer closing a socket must be an error on that write, not the end
     * of the process (libssh2 writes without MSG_NOSIGNAL). */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(NULL);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (cli_parse(cmds[i].name, argc - 1, argv + 1, &o) < 0)
            return 1;
        log_init(o.log_json ? LOG_JSON : LOG_TEXT, o.verbose);
        /* Commands print their result on stdout; logs stay on stderr so the
         * result can be piped.  `serve` logs to stdout (Cloud Logging). */
        if (strcmp(cmds[i].name, "serve") != 0)
            log_set_sink(stderr);
        return cmds[i].fn(&o);
    }
    fprintf(stderr, "roam: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 1;
}
