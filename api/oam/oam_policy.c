/*
 * oam_policy.c - decoding of spec.policies[] (DESIGN.md §1 "Policy types").
 *
 * One decoder per policy family: access-scope (selector + bindings without
 * conditions), the three guardrails, the lifecycle policies with rules[] of
 * selectors (garbage-collect adds a strategy), and authoritative-bindings
 * (rules with optional roles).  A selector accepts only the keys its policy
 * understands: traitTypes makes no sense where whole resources are
 * selected.  KubeVela's own selector keys (resourceTypes, ...) are unknown.
 */
#include "oam.h"

#include <stdlib.h>
#include <string.h>

#include "../common/caps.h"
#include "../common/xalloc.h"
#include "oam_int.h"

/* ---- selectors and rules ---- */

static void decode_selector(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                            bool traits, struct oam_selector *out)
{
    static const char *const keys_all[] = {"componentNames", "componentTypes", "traitTypes", NULL};
    static const char *const keys_comp[] = {"componentNames", "componentTypes", NULL};
    static const char *const names[] = {"componentNames", "componentTypes", "traitTypes"};
    struct oam_strs *outs[] = {&out->component_names, &out->component_types, &out->trait_types};

    if (oam_ynode_is_null(n) || !oam_dec_map(d, n, path))
        return;
    out->present = true;
    oam_dec_keys(d, n, path, traits ? keys_all : keys_comp, "selector key");
    for (size_t i = 0; i < (traits ? 3u : 2u); i++) {
        const struct oam_ynode *v = oam_ynode_get(n, names[i]);
        if (v != NULL) {
            char *p = oam_path_key(path, names[i]);
            oam_dec_strs(d, v, p, outs[i], CAP_COMPONENTS_PER_APP);
            free(p);
        }
    }
}

static void decode_strategy(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                            struct oam_rule *r)
{
    char *s = oam_dec_str(d, n, path);
    int v = oam_gc_strategy_from_name(s);

    if (v >= 0) {
        r->strategy = (enum oam_gc_strategy)v;
    } else if (s != NULL) {
        char *c = oam_clip(s);
        oam_dec_err(d, ERR_PARSE, n, path,
                    "unknown strategy '%s' (onAppUpdate, onAppDelete or never)", c);
        free(c);
    }
    free(s);
}

static void decode_rule(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                        enum oam_policy_type type, struct oam_rule *r)
{
    static const char *const keys_gc[] = {"selector", "strategy", NULL};
    static const char *const keys_auth[] = {"selector", "roles", NULL};
    static const char *const keys_sel[] = {"selector", NULL};
    const struct oam_ynode *v;
    char *p;

    r->path = xstrdup(path);
    r->pos = oam_dec_pos(d, n);
    r->strategy = OAM_GC_ON_APP_UPDATE;
    if (!oam_dec_map(d, n, path))
        return;
    oam_dec_keys(d, n, path,
                 type == OAM_POL_GARBAGE_COLLECT ? keys_gc
                 : type == OAM_POL_AUTHORITATIVE ? keys_auth
                                                 : keys_sel,
                 "field");
    v = oam_ynode_get(n, "selector");
    if (v != NULL) {
        p = oam_path_key(path, "selector");
        decode_selector(d, v, p, type != OAM_POL_AUTHORITATIVE, &r->selector);
        free(p);
    }
    v = oam_ynode_get(n, "strategy");
    if (v != NULL && type == OAM_POL_GARBAGE_COLLECT) {
        p = oam_path_key(path, "strategy");
        decode_strategy(d, v, p, r);
        free(p);
    }
    v = oam_ynode_get(n, "roles");
    if (v != NULL && type == OAM_POL_AUTHORITATIVE) {
        p = oam_path_key(path, "roles");
        oam_dec_strs(d, v, p, &r->roles, CAP_BINDINGS_PER_TRAIT);
        free(p);
    }
}

static void decode_rules(struct oam_dec *d, const struct oam_ynode *props,
                         const struct oam_ynode *at, const char *path, struct oam_policy *pol)
{
    static const char *const keys[] = {"rules", NULL};
    const struct oam_ynode *v;
    char *p;

    if (props == NULL) {
        if (pol->type == OAM_POL_AUTHORITATIVE)
            oam_dec_err(d, ERR_PARSE, at, path, "missing required field 'rules'");
        return;
    }
    oam_dec_keys(d, props, path, keys, "property");
    v = pol->type == OAM_POL_AUTHORITATIVE ? oam_dec_need(d, props, path, "rules")
                                           : oam_ynode_get(props, "rules");
    if (v == NULL)
        return;
    pol->has_rules = true;
    p = oam_path_key(path, "rules");
    if (!oam_dec_seq(d, v, p)) {
        free(p);
        return;
    }
    if (v->n_kids > CAP_RULES_PER_POLICY) {
        oam_dec_err(d, ERR_LIMIT, v, p, "more than %u rules", CAP_RULES_PER_POLICY);
        free(p);
        return;
    }
    pol->rules = xcalloc(v->n_kids + 1, sizeof(*pol->rules));
    for (size_t i = 0; i < v->n_kids; i++) {
        char *rp = oam_path_idx(p, i);
        decode_rule(d, v->kids[i], rp, pol->type, &pol->rules[pol->n_rules++]);
        free(rp);
    }
    free(p);
}

/* ---- access-scope and guardrails ---- */

static void decode_access_scope(struct oam_dec *d, const struct oam_ynode *props,
                                const struct oam_ynode *at, const char *path,
                                struct oam_policy *pol)
{
    static const char *const keys[] = {"selector", "bindings", NULL};
    const struct oam_ynode *v;
    char *p;

    if (props == NULL) {
        oam_dec_err(d, ERR_PARSE, at, path, "missing required field 'bindings'");
        return;
    }
    oam_dec_keys(d, props, path, keys, "property");
    v = oam_ynode_get(props, "selector");
    if (v != NULL) {
        p = oam_path_key(path, "selector");
        decode_selector(d, v, p, false, &pol->selector);
        free(p);
    }
    v = oam_dec_need(d, props, path, "bindings");
    if (v == NULL)
        return;
    p = oam_path_key(path, "bindings");
    if (oam_dec_seq(d, v, p) && v->n_kids > CAP_BINDINGS_PER_TRAIT) {
        oam_dec_err(d, ERR_LIMIT, v, p, "more than %u bindings", CAP_BINDINGS_PER_TRAIT);
    } else if (v->kind == OAM_YNODE_SEQ) {
        pol->bindings = xcalloc(v->n_kids + 1, sizeof(*pol->bindings));
        for (size_t i = 0; i < v->n_kids; i++) {
            char *bp = oam_path_idx(p, i);
            oam_dec_binding(d, v->kids[i], bp, false, &pol->bindings[pol->n_bindings++]);
            free(bp);
        }
    }
    free(p);
}

void oam_dec_allowed_members(struct oam_dec *d, const struct oam_ynode *props, const char *path,
                             struct oam_policy *p)
{
    static const char *const keys[] = {"domains", "serviceAccountProjects", "memberTypes", NULL};
    struct oam_strs *outs[] = {&p->domains, &p->sa_projects, &p->member_types};

    if (props == NULL)
        return; /* nothing allowed but what another guardrail does not judge */
    oam_dec_keys(d, props, path, keys, "property");
    for (size_t i = 0; i < 3; i++) {
        const struct oam_ynode *v = oam_ynode_get(props, keys[i]);
        if (v != NULL) {
            char *kp = oam_path_key(path, keys[i]);
            oam_dec_strs(d, v, kp, outs[i], CAP_BINDINGS_PER_TRAIT);
            free(kp);
        }
    }
}

static void decode_guardrail(struct oam_dec *d, const struct oam_ynode *props,
                             const struct oam_ynode *at, const char *path, struct oam_policy *pol)
{
    static const char *const none[] = {NULL};
    static const char *const keys_roles[] = {"roles", NULL};
    const struct oam_ynode *v;

    if (pol->type == OAM_POL_NO_PUBLIC_ACCESS) {
        if (props != NULL)
            oam_dec_keys(d, props, path, none, "property");
    } else if (pol->type == OAM_POL_ALLOWED_MEMBERS) {
        oam_dec_allowed_members(d, props, path, pol);
    } else if (props == NULL) {
        oam_dec_err(d, ERR_PARSE, at, path, "missing required field 'roles'");
    } else {
        oam_dec_keys(d, props, path, keys_roles, "property");
        v = oam_dec_need(d, props, path, "roles");
        if (v != NULL) {
            char *p = oam_path_key(path, "roles");
            oam_dec_strs(d, v, p, &pol->roles, CAP_POLICY_BINDINGS);
            free(p);
        }
    }
}

/* ---- the entry ---- */

static int decode_policy_type(struct oam_dec *d, const struct oam_ynode *n, const char *path)
{
    const struct oam_ynode *v = oam_dec_need(d, n, path, "type");
    char *p, *s;
    int t;

    if (v == NULL)
        return -1;
    p = oam_path_key(path, "type");
    s = oam_dec_str(d, v, p);
    t = oam_policy_type_from_name(s);
    if (t < 0 && s != NULL) {
        char *c = oam_clip(s);
        oam_dec_err(d, ERR_UNSUPPORTED, v, p, "unknown policy type '%s'", c);
        free(c);
    }
    free(s);
    free(p);
    return t;
}

bool oam_dec_policy(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                    struct oam_policy *out)
{
    static const char *const keys[] = {"name", "type", "properties", NULL};
    const struct oam_ynode *v, *props;
    char *p;
    int t;

    if (!oam_dec_map(d, n, path))
        return false;
    oam_dec_keys(d, n, path, keys, "field");
    v = oam_dec_need(d, n, path, "name");
    if (v != NULL) {
        p = oam_path_key(path, "name");
        out->name = oam_dec_str(d, v, p);
        if (out->name != NULL && !oam_name_ok(out->name)) {
            char *c = oam_clip(out->name);
            oam_dec_err(d, ERR_PARSE, v, p, "invalid policy name '%s'", c);
            free(c);
        }
        free(p);
    }
    t = decode_policy_type(d, n, path);
    if (t < 0) {
        free(out->name);
        out->name = NULL;
        return false;
    }
    out->type = (enum oam_policy_type)t;
    out->pos = oam_dec_pos(d, n);
    out->path = xstrdup(path);
    props = oam_ynode_get(n, "properties");
    p = oam_path_key(path, "properties");
    if (props != NULL && (oam_ynode_is_null(props) || !oam_dec_map(d, props, p)))
        props = NULL;
    /* Problems about missing properties point at the policy itself. */
    switch (out->type) {
    case OAM_POL_ACCESS_SCOPE:
        decode_access_scope(d, props, n, p, out);
        break;
    case OAM_POL_NO_PUBLIC_ACCESS:
    case OAM_POL_ALLOWED_ROLES:
    case OAM_POL_ALLOWED_MEMBERS:
        decode_guardrail(d, props, n, p, out);
        break;
    default:
        decode_rules(d, props, n, p, out);
        break;
    }
    free(p);
    return true;
}
