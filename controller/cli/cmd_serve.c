/*
 * cmd_serve.c - `roam serve`: flags to the controller's configuration.
 *
 * Durations are `10m`, `90s`, `1h` or a number of seconds.  The controller
 * itself is controller/serve/.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/serve/serve.h"
#include "controller/source/src.h"

/* "10m" -> 600000; 0 on a bad value. */
static uint64_t duration_ms(const char *s)
{
    long long n;
    size_t len = strlen(s);
    uint64_t unit = 1000;
    char *num;

    if (len == 0)
        return 0;
    if (s[len - 1] == 's' || s[len - 1] == 'm' || s[len - 1] == 'h') {
        unit = s[len - 1] == 's' ? 1000 : s[len - 1] == 'm' ? 60000 : 3600000;
        len--;
    }
    num = xstrndup(s, len);
    if (str_to_ll(num, 1, 1000000, &n) < 0)
        n = 0;
    free(num);
    return (uint64_t)n * unit;
}

int cmd_serve(struct cli_opts *o)
{
    struct serve_config c = {0};
    struct oam_config cfg;
    char *state;
    int rc;

    if (o->source == NULL) {
        fprintf(stderr, "roam serve: no source: pass --source URL (or set ROAM_SOURCE)\n");
        return CLI_EXIT_ERROR;
    }
    if (o->push_auth != NULL && strcmp(o->push_auth, "none") != 0 &&
        strcmp(o->push_auth, "oidc") != 0) {
        fprintf(stderr, "roam serve: --push-auth: expected 'oidc' or 'none', got '%s'\n",
                o->push_auth);
        return CLI_EXIT_ERROR;
    }
    c.resync_ms = o->resync != NULL ? duration_ms(o->resync) : 600000;
    c.poll_ms = o->poll != NULL ? duration_ms(o->poll) : 60000;
    if (c.resync_ms == 0 || c.poll_ms == 0) {
        fprintf(stderr, "roam serve: --resync and --poll take a duration such as 10m, 90s or "
                        "1h\n");
        return CLI_EXIT_ERROR;
    }
    if (cli_load_config("serve", o->config, &cfg) < 0) {
        oam_config_release(&cfg);
        return CLI_EXIT_ERROR;
    }
    state = o->state != NULL ? xstrdup(o->state) : src_default_state(o->source);
    c.source = o->source;
    c.state = state;
    c.listen = o->listen;
    c.push_auth_none = o->push_auth != NULL && strcmp(o->push_auth, "none") == 0;
    c.webhook_secret = getenv("ROAM_WEBHOOK_SECRET");
    c.defs = (struct oam_defaults){o->project, o->region};
    cli_guard_opts(o, &cfg, &c.guard);
    c.max_inflight = (unsigned)o->max_inflight;
    c.qps = (double)o->qps;
    rc = serve_run(&c);
    free(state);
    oam_config_release(&cfg);
    return rc;
}
