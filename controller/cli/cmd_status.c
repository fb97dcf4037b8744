/*
 * cmd_status.c - `roam status [--state URL] [APP]`: per-app conditions,
 * revision and last error, read from the ledger records, without a running
 * controller.
 *
 * Every pass stores each app's status (api/plan/status.c) in the app's
 * ledger record, next to the bindings it owns, so this command is a ledger
 * load and a rendering.  Text is a table (or one app's details); --output
 * json prints {"apps": [status, ...]}.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/http.h"
#include "controller/reconcile/lstore.h"
#include "controller/source/src.h"

struct status_ctx {
    struct cli_opts *o;
    const char *app; /* one app, or NULL */
    int rc;
};

static const char *cond(json_t *st, const char *type, const char *field)
{
    size_t i;
    json_t *c;

    json_array_foreach (json_object_get(st, "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t != NULL && strcmp(t, type) == 0)
            return json_string_value(json_object_get(c, field));
    }
    return NULL;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : dflt;
}

static void print_details(json_t *st)
{
    size_t i;
    json_t *c, *p;

    printf("app %s\n", str_or(st, "app", "?"));
    json_array_foreach (json_object_get(st, "conditions"), i, c)
        printf("  %-7s %-5s %-9s since %s%s%s\n", str_or(c, "type", "?"), str_or(c, "status", "?"),
               str_or(c, "reason", ""), str_or(c, "lastTransitionTime", "?"),
               str_or(c, "message", "")[0] != '\0' ? ": " : "", str_or(c, "message", ""));
    printf("  observed revision      %s\n", str_or(st, "observedRevision", "-"));
    printf("  last applied revision  %s\n", str_or(st, "lastAppliedRevision", "-"));
    printf("  last sync              %s\n", str_or(st, "lastSyncTime", "-"));
    printf("  owned bindings         %lld\n",
           (long long)json_integer_value(json_object_get(st, "ownedBindings")));
    printf("  found bindings         %lld\n",
           (long long)json_integer_value(json_object_get(st, "foundBindings")));
    printf("  last error             %s\n", str_or(st, "lastError", "-"));
    json_array_foreach (json_object_get(st, "pendingResources"), i, p)
        printf("  pending                %s\n", json_string_value(p));
}

static void print_row(json_t *st)
{
    printf("%-24s %-6s %-6s %-26s %6lld %6lld  %s\n", str_or(st, "app", "?"),
           cond(st, "Ready", "status") != NULL ? cond(st, "Ready", "status") : "?",
           cond(st, "Synced", "status") != NULL ? cond(st, "Synced", "status") : "?",
           str_or(st, "lastAppliedRevision", "-"),
           (long long)json_integer_value(json_object_get(st, "ownedBindings")),
           (long long)json_integer_value(json_object_get(st, "foundBindings")),
           str_or(st, "lastError", "-"));
}

static void loaded(struct lstore *s, int err, const char *errmsg, struct ledger *l, void *data)
{
    struct status_ctx *c = data;
    json_t *all = json_array();
    char *out;

    if (err < 0) {
        fprintf(stderr, "roam status: cannot read the ledger at '%s': %s\n", lstore_url(s),
                errmsg != NULL ? errmsg : err_str(err));
        json_decref(all);
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        json_t *st = l->apps[i].status != NULL ? json_loads(l->apps[i].status, 0, NULL) : NULL;

        if (c->app != NULL && strcmp(l->apps[i].app, c->app) != 0) {
            json_decref(st);
            continue;
        }
        if (st == NULL) /* a record written before statuses were kept */
            st = json_pack("{s:s, s:[]}", "app", l->apps[i].app, "conditions");
        json_array_append_new(all, st);
    }
    c->rc = CLI_EXIT_OK;
    if (c->app != NULL && json_array_size(all) == 0) {
        fprintf(stderr, "roam status: no app '%s' in the ledger at '%s'\n", c->app, lstore_url(s));
        c->rc = CLI_EXIT_ERROR;
    } else if (c->o->output == CLI_OUTPUT_JSON) {
        json_t *root = json_pack("{s:O}", "apps", all);
        out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", out != NULL ? out : "{}");
        free(out);
        json_decref(root);
    } else if (c->app != NULL) {
        print_details(json_array_get(all, 0));
    } else {
        size_t i;
        json_t *st;

        printf("%-24s %-6s %-6s %-26s %6s %6s  %s\n", "APP", "READY", "SYNCED", "APPLIED", "OWNED",
               "FOUND", "LAST ERROR");
        json_array_foreach (all, i, st)
            print_row(st);
    }
    json_decref(all);
}

static void http_closed(struct gcp_http *h, void *data)
{
    (void)h;
    (void)data;
}

int cmd_status(struct cli_opts *o)
{
    struct status_ctx c = {o, o->argc > 0 ? o->argv[0] : NULL, CLI_EXIT_ERROR};
    char *state = o->state != NULL    ? xstrdup(o->state)
                  : o->source != NULL ? src_default_state(o->source)
                                      : xstrdup("./.roam/state");
    uv_loop_t loop;
    struct gcp_http *http = NULL;
    struct gcp_auth *auth = NULL;
    struct lstore *store = NULL;
    char *msg = NULL;

    uv_loop_init(&loop);
    if (gcp_http_new(&loop, NULL, &http) < 0)
        goto out;
    if (str_has_prefix(state, "gs://") && getenv("STORAGE_EMULATOR_HOST") == NULL &&
        gcp_auth_new(http, NULL, &auth, &msg) == 0)
        gcp_http_set_auth(http, auth);
    if (lstore_open(state, &loop, http, &store, &msg) < 0) {
        fprintf(stderr, "roam status: %s\n", msg != NULL ? msg : "bad --state");
        goto out;
    }
    if (lstore_load(store, loaded, &c) == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
out:
    free(msg);
    lstore_close(store);
    if (http != NULL) {
        gcp_http_close(http, http_closed, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    gcp_auth_free(auth);
    uv_loop_close(&loop);
    free(state);
    return c.rc;
}
