/*
 * plan_fixtures.c - compact inputs and outputs for the plan tests (see
 * plan_fixtures.h for the notations).
 *
 * Inputs go through the real decoders where one exists (YAML through
 * oam_parse_file, live state through iam_live_decode), so that the tests
 * exercise the same paths as `roam plan`; the ledger is built directly
 * because its notation is richer than typing JSON by hand.
 */
#include "plan_fixtures.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/xalloc.h"

static char q3_title[] = PF_COND_Q3_TITLE, q3_expr[] = PF_COND_Q3_EXPR;
static char q4_title[] = PF_COND_Q4_TITLE, q4_expr[] = PF_COND_Q4_EXPR;
static const struct iam_cond cond_q3 = {q3_title, NULL, q3_expr, NULL};
static const struct iam_cond cond_q4 = {q4_title, NULL, q4_expr, NULL};

const struct iam_cond *pf_cond(const char *name)
{
    if (name != NULL && strcmp(name, "q3") == 0)
        return &cond_q3;
    if (name != NULL && strcmp(name, "q4") == 0)
        return &cond_q4;
    return NULL;
}

static const char *cond_name(const struct iam_cond *c)
{
    if (c == NULL)
        return NULL;
    if (iam_cond_eq(c, &cond_q3))
        return "q3";
    if (iam_cond_eq(c, &cond_q4))
        return "q4";
    return "?";
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "plan fixture: %s: %s\n", what, detail != NULL ? detail : "");
    abort();
}

void pf_docs(struct oam_docset *docs, const char *const *yaml, size_t n)
{
    oam_docset_init(docs);
    for (size_t i = 0; i < n; i++) {
        char file[32];

        if (yaml[i] == NULL)
            continue;
        snprintf(file, sizeof(file), "app%zu.yaml", i);
        oam_parse_file(docs, file, yaml[i], strlen(yaml[i]));
    }
}

/* ---- tokens ---- */

struct toks {
    char *copy;
    char *v[64];
    size_t n;
};

static void split(struct toks *t, const char *line)
{
    char *p;

    t->copy = xstrdup(line);
    t->n = 0;
    p = t->copy;
    while (*p != '\0' && t->n < 64) {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        t->v[t->n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
}

/* ---- live ---- */

static json_t *policy_for(json_t *root, const char *res)
{
    json_t *p = json_object_get(root, res);

    if (p == NULL) {
        p = json_pack("{s:i, s:s, s:[]}", "version", 1, "etag", "BwE=", "bindings");
        json_object_set_new(root, res, p);
    }
    return p;
}

static void live_line(json_t *root, const char *line)
{
    struct toks t;
    json_t *b, *members;
    size_t first = 2;
    const struct iam_cond *c = NULL;

    split(&t, line);
    if (t.n == 2 && strcmp(t.v[1], "null") == 0) {
        json_object_set_new(root, t.v[0], json_null());
    } else if (t.n == 2 && strcmp(t.v[1], "-") == 0) {
        policy_for(root, t.v[0]);
    } else {
        if (t.n < 3)
            die("bad live line", line);
        if (strncmp(t.v[2], "cond=", 5) == 0) {
            c = pf_cond(t.v[2] + 5);
            first = 3;
        }
        members = json_array();
        for (size_t i = first; i < t.n; i++)
            json_array_append_new(members, json_string(t.v[i]));
        b = json_pack("{s:s, s:o}", "role", t.v[1], "members", members);
        if (c != NULL) {
            json_object_set_new(
                b, "condition",
                json_pack("{s:s, s:s}", "title", c->title, "expression", c->expression));
            json_object_set_new(policy_for(root, t.v[0]), "version", json_integer(3));
        }
        json_array_append_new(json_object_get(policy_for(root, t.v[0]), "bindings"), b);
    }
    free(t.copy);
}

void pf_live(struct iam_live *live, const char *const *lines, size_t n, const char *json)
{
    struct err_detail err = {0};
    json_t *root;
    char *s;

    if (json == NULL) {
        root = json_object();
        for (size_t i = 0; i < n; i++)
            if (lines[i] != NULL)
                live_line(root, lines[i]);
        s = json_dumps(root, JSON_COMPACT);
        json_decref(root);
    } else {
        s = xstrdup(json);
    }
    if (iam_live_decode(s, strlen(s), live, &err) < 0)
        die("bad live state", err.msg);
    free(s);
}

/* ---- ledger ---- */

static void ledger_opt(struct ledger_entry *e, const char *opt)
{
    if (strncmp(opt, "cond=", 5) == 0)
        e->cond = iam_cond_dup(pf_cond(opt + 5));
    else if (strncmp(opt, "gc=", 3) == 0)
        e->gc = (enum oam_gc_strategy)oam_gc_strategy_from_name(opt + 3);
    else if (strcmp(opt, "shared") == 0)
        e->shared = true;
    else if (strncmp(opt, "origin=", 7) == 0) {
        free(e->origin);
        e->origin = xstrdup(opt + 7);
    } else
        die("bad ledger option", opt);
}

static void ledger_line(struct ledger *l, const char *line)
{
    struct toks t;
    struct ledger_app *a;
    struct ledger_entry *e;

    split(&t, line);
    if (t.n < 6)
        die("bad ledger line", line);
    a = ledger_app_get(l, t.v[0]);
    if (a->revision == NULL)
        a->revision = xstrdup(t.v[2]);
    a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
    a->cap = a->n + 1;
    e = &a->v[a->n++];
    memset(e, 0, sizeof(*e));
    e->owned = strcmp(t.v[1], "owned") == 0;
    e->revision = xstrdup(t.v[2]);
    e->resource = xstrdup(t.v[3]);
    e->role = xstrdup(t.v[4]);
    e->member = xstrdup(t.v[5]);
    e->gc = OAM_GC_ON_APP_UPDATE;
    e->origin = xstrdup("spec.components[0].traits[0]");
    e->comp_type = OAM_COMP_SERVICE;
    e->trait_type = OAM_TRAIT_INVOKER;
    for (size_t i = 6; i < t.n; i++)
        ledger_opt(e, t.v[i]);
    free(t.copy);
}

void pf_ledger(struct ledger *l, const char *const *lines, size_t n)
{
    ledger_init(l);
    for (size_t i = 0; i < n; i++)
        if (lines[i] != NULL)
            ledger_line(l, lines[i]);
}

struct oam_config *pf_config(struct oam_config *cfg, const char *yaml)
{
    oam_config_init(cfg);
    if (yaml == NULL)
        return NULL;
    if (oam_config_parse(cfg, "roam.yaml", yaml, strlen(yaml)) < 0 || cfg->errs.n > 0)
        die("bad config", cfg->errs.n > 0 ? cfg->errs.v[0].msg : "");
    return cfg;
}

/* ---- outputs ---- */

struct lines {
    char **v;
    size_t n, cap;
};

static void add_line(struct lines *ls, char *s)
{
    XGROW(ls->v, ls->n + 1, ls->cap);
    ls->v[ls->n++] = s;
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(struct lines *ls)
{
    struct buf b;

    buf_init(&b, (size_t)1 << 30);
    if (ls->n > 1)
        qsort(ls->v, ls->n, sizeof(*ls->v), line_cmp);
    for (size_t i = 0; i < ls->n; i++) {
        buf_printf(&b, "%s\n", ls->v[i]);
        free(ls->v[i]);
    }
    free(ls->v);
    return buf_detach(&b, NULL);
}

static char *cond_tok(const struct iam_cond *c)
{
    return c != NULL ? xasprintf(" cond=%s", cond_name(c)) : xstrdup("");
}

char *pf_changes(const struct plan *p)
{
    struct lines ls = {NULL, 0, 0};

    for (size_t i = 0; i < p->n_changes; i++) {
        const struct plan_change *c = &p->changes[i];
        char *cond = cond_tok(c->cond);

        add_line(&ls, xasprintf("%c %s %s %s%s %s %s", c->action == PLAN_ADD ? '+' : '-',
                                c->resource, c->role, c->member, cond, plan_reason_name(c->reason),
                                c->app != NULL ? c->app : "-"));
        free(cond);
    }
    return join(&ls);
}

char *pf_statuses(const struct plan *p)
{
    struct buf b;

    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < p->n_apps; i++)
        buf_printf(&b, "%s%s=%s", i > 0 ? " " : "", p->apps[i].name,
                   plan_app_status_name(p->apps[i].status));
    return buf_detach(&b, NULL);
}

char *pf_ledger_lines(const struct ledger *l)
{
    struct lines ls = {NULL, 0, 0};

    for (size_t i = 0; i < l->n; i++) {
        const struct ledger_app *a = &l->apps[i];

        for (size_t j = 0; j < a->n; j++) {
            const struct ledger_entry *e = &a->v[j];
            char *cond = cond_tok(e->cond);

            add_line(&ls,
                     xasprintf("%s %s %s %s %s %s%s%s%s%s", a->app, e->owned ? "owned" : "found",
                               e->revision != NULL ? e->revision : "-", e->resource, e->role,
                               e->member, cond, e->gc != OAM_GC_ON_APP_UPDATE ? " gc=" : "",
                               e->gc != OAM_GC_ON_APP_UPDATE ? oam_gc_strategy_name(e->gc) : "",
                               e->shared ? " shared" : ""));
            free(cond);
        }
    }
    return join(&ls);
}

char *pf_join_sorted(const char *const *lines, size_t n)
{
    struct lines ls = {NULL, 0, 0};

    for (size_t i = 0; i < n; i++)
        if (lines[i] != NULL)
            add_line(&ls, xstrdup(lines[i]));
    return join(&ls);
}

char *pf_messages(const struct plan *p)
{
    struct buf b;

    buf_init(&b, (size_t)1 << 30);
    for (size_t i = 0; i < p->n_apps; i++)
        for (size_t j = 0; j < p->apps[i].errs.n; j++) {
            char *s = err_detail_format(&p->apps[i].errs.v[j]);

            buf_printf(&b, "%s: %s\n", p->apps[i].name, s);
            free(s);
        }
    for (size_t i = 0; i < p->n_notes; i++)
        buf_printf(&b, "note: %s\n", p->notes[i].message);
    return buf_detach(&b, NULL);
}

void pf_apply(struct iam_live *live, const struct plan *p)
{
    for (size_t i = 0; i < live->n; i++)
        if (!live->missing[i])
            plan_apply_to_policy(p, live->names[i], &live->policies[i]);
}
