/*
 * options.c - option parsing shared by the subcommands (see cli.h).
 *
 * One getopt_long table for every subcommand keeps the flags' spelling and
 * meaning identical everywhere; a flag that makes no sense for a subcommand
 * is simply unused by it.  Environment variables are read first, then the
 * command line overrides them.  Numbers go through str_to_ll (strict,
 * range-checked).
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/str.h"

enum {
    OPT_SOURCE = 256,
    OPT_STATE,
    OPT_CONFIG,
    OPT_PROJECT,
    OPT_REGION,
    OPT_LIVE_STATE,
    OPT_SHARD,
    OPT_LISTEN,
    OPT_RESYNC,
    OPT_POLL,
    OPT_PUSH_AUTH,
    OPT_MAX_INFLIGHT,
    OPT_QPS,
    OPT_MAX_REMOVALS,
    OPT_ALLOW_MASS_REMOVAL,
    OPT_DETAILED_EXITCODE,
    OPT_DRY_RUN,
    OPT_OUTPUT,
    OPT_LOG_FORMAT,
};

static const struct option long_opts[] = {
    {"source", required_argument, NULL, OPT_SOURCE},
    {"state", required_argument, NULL, OPT_STATE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"region", required_argument, NULL, OPT_REGION},
    {"live-state", required_argument, NULL, OPT_LIVE_STATE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"resync", required_argument, NULL, OPT_RESYNC},
    {"poll", required_argument, NULL, OPT_POLL},
    {"push-auth", required_argument, NULL, OPT_PUSH_AUTH},
    {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
    {"qps", required_argument, NULL, OPT_QPS},
    {"max-removals", required_argument, NULL, OPT_MAX_REMOVALS},
    {"allow-mass-removal", no_argument, NULL, OPT_ALLOW_MASS_REMOVAL},
    {"detailed-exitcode", no_argument, NULL, OPT_DETAILED_EXITCODE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "roam %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nrun 'roam help' for usage\n");
    return -1;
}

static int set_number(const char *cmd, const char *flag, const char *v, long long min,
                      long long *ret)
{
    if (str_to_ll(v, min, 1000000000LL, ret) < 0) {
        fprintf(stderr, "roam %s: %s: expected a whole number >= %lld, got '%s'\n", cmd, flag, min,
                v);
        return -1;
    }
    return 0;
}

static int set_output(const char *cmd, const char *v, enum cli_output *ret)
{
    if (strcmp(v, "text") == 0)
        *ret = CLI_OUTPUT_TEXT;
    else if (strcmp(v, "json") == 0)
        *ret = CLI_OUTPUT_JSON;
    else
        return usage_error(cmd, "--output: expected 'text' or 'json', got '%s'", v);
    return 0;
}

static int set_log_format(const char *cmd, const char *v, int *ret)
{
    if (strcmp(v, "text") == 0)
        *ret = 0;
    else if (strcmp(v, "json") == 0)
        *ret = 1;
    else
        return usage_error(cmd, "--log-format: expected 'json' or 'text', got '%s'", v);
    return 0;
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* Defaults, then environment variables. */
static int from_env(const char *cmd, struct cli_opts *o)
{
    const char *v;

    memset(o, 0, sizeof(*o));
    o->max_inflight = 16;
    o->qps = 20;
    o->max_removals = -1;
    o->source = getenv("ROAM_SOURCE");
    o->state = getenv("ROAM_STATE");
    o->config = getenv("ROAM_CONFIG");
    o->project = getenv("ROAM_PROJECT");
    o->region = getenv("ROAM_REGION");
    o->live_state = getenv("ROAM_LIVE_STATE");
    o->shard = getenv("ROAM_SHARD");
    o->listen = getenv("ROAM_LISTEN");
    o->resync = getenv("ROAM_RESYNC");
    o->poll = getenv("ROAM_POLL");
    o->push_auth = getenv("ROAM_PUSH_AUTH");
    o->allow_mass_removal = env_true("ROAM_ALLOW_MASS_REMOVAL");
    o->detailed_exitcode = env_true("ROAM_DETAILED_EXITCODE");
    o->dry_run = env_true("ROAM_DRY_RUN");
    if ((v = getenv("ROAM_MAX_INFLIGHT")) != NULL &&
        set_number(cmd, "ROAM_MAX_INFLIGHT", v, 1, &o->max_inflight) < 0)
        return -1;
    if ((v = getenv("ROAM_QPS")) != NULL && set_number(cmd, "ROAM_QPS", v, 0, &o->qps) < 0)
        return -1;
    if ((v = getenv("ROAM_MAX_REMOVALS")) != NULL &&
        set_number(cmd, "ROAM_MAX_REMOVALS", v, 0, &o->max_removals) < 0)
        return -1;
    if ((v = getenv("ROAM_OUTPUT")) != NULL && set_output(cmd, v, &o->output) < 0)
        return -1;
    if ((v = getenv("ROAM_LOG_FORMAT")) != NULL && set_log_format(cmd, v, &o->log_json) < 0)
        return -1;
    return 0;
}

static int apply_opt(const char *cmd, int c, struct cli_opts *o)
{
    switch (c) {
    case OPT_SOURCE:
        o->source = optarg;
        break;
    case OPT_STATE:
        o->state = optarg;
        break;
    case OPT_CONFIG:
        o->config = optarg;
        break;
    case OPT_PROJECT:
        o->project = optarg;
        break;
    case OPT_REGION:
        o->region = optarg;
        break;
    case OPT_LIVE_STATE:
        o->live_state = optarg;
        break;
    case OPT_SHARD:
        o->shard = optarg;
        break;
    case OPT_LISTEN:
        o->listen = optarg;
        break;
    case OPT_RESYNC:
        o->resync = optarg;
        break;
    case OPT_POLL:
        o->poll = optarg;
        break;
    case OPT_PUSH_AUTH:
        o->push_auth = optarg;
        break;
    case OPT_MAX_INFLIGHT:
        return set_number(cmd, "--max-inflight", optarg, 1, &o->max_inflight);
    case OPT_QPS:
        return set_number(cmd, "--qps", optarg, 0, &o->qps);
    case OPT_MAX_REMOVALS:
        return set_number(cmd, "--max-removals", optarg, 0, &o->max_removals);
    case OPT_ALLOW_MASS_REMOVAL:
        o->allow_mass_removal = true;
        break;
    case OPT_DETAILED_EXITCODE:
        o->detailed_exitcode = true;
        break;
    case OPT_DRY_RUN:
        o->dry_run = true;
        break;
    case OPT_OUTPUT:
        return set_output(cmd, optarg, &o->output);
    case OPT_LOG_FORMAT:
        return set_log_format(cmd, optarg, &o->log_json);
    case 'v':
        o->verbose++;
        break;
    default:
        return -1;
    }
    return 0;
}

int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *ret)
{
    int c;

    if (from_env(cmd, ret) < 0)
        return -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+vh", long_opts, NULL)) != -1) {
        if (c == '?') {
            const char *bad = argv[optind - 1];
            return usage_error(cmd, "unknown or incomplete option '%s'", bad);
        }
        if (c == 'h')
            return usage_error(cmd, "%s", "help is 'roam help'");
        if (apply_opt(cmd, c, ret) < 0)
            return -1;
    }
    ret->argc = argc - optind;
    ret->argv = argv + optind;
    return 0;
}
