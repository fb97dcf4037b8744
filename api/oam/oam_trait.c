/*
 * oam_trait.c - decoding of traits, bindings and IAM conditions.
 *
 * Each trait type has one decoder that knows its properties (DESIGN.md §1);
 * anything else under `properties` is an unknown property.  The invoker
 * trait becomes one binding whose path is the trait's `properties`, so that
 * later stages see invoker and iam-bindings alike.  A trait without
 * `properties` is decoded as if they were empty, which reports its required
 * fields as missing.
 */
#include "oam.h"

#include <stdlib.h>
#include <string.h>

#include "../common/caps.h"
#include "../common/xalloc.h"
#include "oam_int.h"

#define INVOKER_ROLE "roles/run.invoker"

/* A present, non-empty list of members. */
static void decode_members(struct oam_dec *d, const struct oam_ynode *map,
                           const struct oam_ynode *at, const char *path, const char *key,
                           struct oam_strs *out)
{
    const struct oam_ynode *v = map != NULL ? oam_ynode_get(map, key) : NULL;
    char *p;

    if (v == NULL) {
        oam_dec_err(d, ERR_PARSE, at, path, "missing required field '%s'", key);
        return;
    }
    p = oam_path_key(path, key);
    oam_dec_strs(d, v, p, out, CAP_MEMBERS_PER_BINDING);
    if (v->kind == OAM_YNODE_SEQ && v->n_kids == 0)
        oam_dec_err(d, ERR_PARSE, v, p, "at least one member is required");
    free(p);
}

static char *decode_opt_str(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                            const char *key, size_t max, struct oam_pos *ret_pos)
{
    const struct oam_ynode *v = map != NULL ? oam_ynode_get(map, key) : NULL;
    char *p, *s;

    if (v == NULL)
        return NULL;
    p = oam_path_key(path, key);
    s = oam_dec_text(d, v, p, max);
    if (ret_pos != NULL)
        *ret_pos = oam_dec_pos(d, v);
    free(p);
    return s;
}

struct oam_cond *oam_dec_cond(struct oam_dec *d, const struct oam_ynode *n, const char *path)
{
    static const char *const keys[] = {"title", "description", "expression", NULL};
    const struct oam_ynode *v;
    struct oam_cond *c;
    char *p;

    if (!oam_dec_map(d, n, path))
        return NULL;
    oam_dec_keys(d, n, path, keys, "field");
    c = xcalloc(1, sizeof(*c));
    c->pos = oam_dec_pos(d, n);
    c->path = xstrdup(path);
    c->title = decode_opt_str(d, n, path, "title", (size_t)CAP_CONDITION_BYTES, NULL);
    c->description = decode_opt_str(d, n, path, "description", (size_t)CAP_CONDITION_BYTES, NULL);
    v = oam_dec_need(d, n, path, "expression");
    if (v == NULL)
        return c;
    p = oam_path_key(path, "expression");
    c->expression = oam_dec_text(d, v, p, (size_t)CAP_CONDITION_BYTES);
    if (c->expression != NULL && c->expression[strspn(c->expression, " \t\r\n")] == '\0')
        oam_dec_err(d, ERR_PARSE, v, p, "the expression is empty");
    free(p);
    return c;
}

static void decode_binding_cond(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                                bool allow, struct oam_cond **ret)
{
    const struct oam_ynode *v = oam_ynode_get(map, "condition");
    char *p;

    if (v == NULL)
        return;
    p = oam_path_key(path, "condition");
    if (!allow)
        oam_dec_err(d, ERR_PARSE, oam_dec_key_of(map, v), p,
                    "access-scope bindings take no condition");
    else
        *ret = oam_dec_cond(d, v, p);
    free(p);
}

void oam_dec_binding(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                     bool allow_cond, struct oam_binding *out)
{
    static const char *const keys[] = {"role", "members", "condition", NULL};
    const struct oam_ynode *v;

    out->path = xstrdup(path);
    out->pos = oam_dec_pos(d, n);
    if (!oam_dec_map(d, n, path))
        return;
    /* A condition where none is allowed gets its own message below. */
    oam_dec_keys(d, n, path, keys, "field");
    v = oam_dec_need(d, n, path, "role");
    if (v != NULL) {
        char *p = oam_path_key(path, "role");
        out->role = oam_dec_str(d, v, p);
        out->role_pos = oam_dec_pos(d, v);
        free(p);
    }
    decode_members(d, n, n, path, "members", &out->members);
    decode_binding_cond(d, n, path, allow_cond, &out->cond);
}

/* ---- the four trait types ---- */

static void decode_invoker(struct oam_dec *d, const struct oam_ynode *props,
                           const struct oam_ynode *at, const char *path, struct oam_trait *t)
{
    static const char *const keys[] = {"members", "role", "condition", NULL};
    struct oam_binding *b;

    t->bindings = xcalloc(1, sizeof(*t->bindings));
    t->n_bindings = 1;
    b = &t->bindings[0];
    b->path = xstrdup(path);
    b->pos = oam_dec_pos(d, props != NULL ? props : at);
    if (props != NULL)
        oam_dec_keys(d, props, path, keys, "property");
    b->role = decode_opt_str(d, props, path, "role", CAP_NAME_BYTES, &b->role_pos);
    if (b->role == NULL) {
        b->role = xstrdup(INVOKER_ROLE);
        b->role_pos = b->pos;
    }
    decode_members(d, props, at, path, "members", &b->members);
    if (props != NULL)
        decode_binding_cond(d, props, path, true, &b->cond);
}

static void decode_iam_bindings(struct oam_dec *d, const struct oam_ynode *props,
                                const struct oam_ynode *at, const char *path, struct oam_trait *t)
{
    static const char *const keys[] = {"bindings", NULL};
    const struct oam_ynode *v;
    char *p;

    if (props == NULL) {
        oam_dec_err(d, ERR_PARSE, at, path, "missing required field 'bindings'");
        return;
    }
    oam_dec_keys(d, props, path, keys, "property");
    v = oam_dec_need(d, props, path, "bindings");
    if (v == NULL)
        return;
    p = oam_path_key(path, "bindings");
    if (!oam_dec_seq(d, v, p)) {
        free(p);
        return;
    }
    if (v->n_kids > CAP_BINDINGS_PER_TRAIT) {
        oam_dec_err(d, ERR_LIMIT, v, p, "more than %u bindings", CAP_BINDINGS_PER_TRAIT);
        free(p);
        return;
    }
    t->bindings = xcalloc(v->n_kids + 1, sizeof(*t->bindings));
    for (size_t i = 0; i < v->n_kids; i++) {
        char *bp = oam_path_idx(p, i);
        oam_dec_binding(d, v->kids[i], bp, true, &t->bindings[t->n_bindings++]);
        free(bp);
    }
    free(p);
}

static char *decode_sa(struct oam_dec *d, const struct oam_ynode *props, const char *path)
{
    const struct oam_ynode *v = oam_ynode_get(props, "serviceAccount");
    const char *why = NULL;
    char *p, *s;

    if (v == NULL)
        return NULL;
    p = oam_path_key(path, "serviceAccount");
    s = oam_dec_str(d, v, p);
    if (s != NULL && !oam_sa_email_ok(s, &why)) {
        char *c = oam_clip(s);
        oam_dec_err(d, ERR_PARSE, v, p, "invalid service account '%s': %s", c, why);
        free(c);
    }
    free(p);
    return s;
}

static void decode_service_identity(struct oam_dec *d, const struct oam_ynode *props,
                                    const struct oam_ynode *at, const char *path,
                                    struct oam_trait *t)
{
    static const char *const keys[] = {"serviceAccount", "mode", NULL};
    const struct oam_ynode *v;

    t->mode = OAM_SI_VERIFY;
    if (props == NULL) {
        oam_dec_err(d, ERR_PARSE, at, path, "missing required field 'serviceAccount'");
        return;
    }
    oam_dec_keys(d, props, path, keys, "property");
    if (oam_dec_need(d, props, path, "serviceAccount") != NULL)
        t->service_account = decode_sa(d, props, path);
    v = oam_ynode_get(props, "mode");
    if (v != NULL) {
        char *p = oam_path_key(path, "mode");
        char *s = oam_dec_str(d, v, p);
        if (s != NULL && strcmp(s, "enforce") == 0) {
            t->mode = OAM_SI_ENFORCE;
        } else if (s != NULL && strcmp(s, "verify") != 0) {
            char *c = oam_clip(s);
            oam_dec_err(d, ERR_PARSE, v, p, "unknown mode '%s' (verify or enforce)", c);
            free(c);
        }
        free(s);
        free(p);
    }
}

static void decode_impersonation(struct oam_dec *d, const struct oam_ynode *props,
                                 const struct oam_ynode *at, const char *path, struct oam_trait *t)
{
    static const char *const keys[] = {"serviceAccount", "actAs", "tokenCreators", "condition",
                                       NULL};
    static const char *const lists[] = {"actAs", "tokenCreators"};
    struct oam_strs *outs[] = {&t->act_as, &t->token_creators};
    const struct oam_ynode *v;

    (void)at;
    if (props == NULL)
        return; /* validation reports that nothing is granted */
    oam_dec_keys(d, props, path, keys, "property");
    t->service_account = decode_sa(d, props, path);
    for (size_t i = 0; i < 2; i++) {
        v = oam_ynode_get(props, lists[i]);
        if (v != NULL) {
            char *p = oam_path_key(path, lists[i]);
            oam_dec_strs(d, v, p, outs[i], CAP_MEMBERS_PER_BINDING);
            free(p);
        }
    }
    v = oam_ynode_get(props, "condition");
    if (v != NULL) {
        char *p = oam_path_key(path, "condition");
        t->cond = oam_dec_cond(d, v, p);
        free(p);
    }
}

bool oam_dec_trait(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                   struct oam_trait *out)
{
    static const char *const keys[] = {"type", "properties", NULL};
    const struct oam_ynode *v, *props;
    char *p, *s;
    int tt;

    if (!oam_dec_map(d, n, path))
        return false;
    oam_dec_keys(d, n, path, keys, "field");
    v = oam_dec_need(d, n, path, "type");
    if (v == NULL)
        return false;
    p = oam_path_key(path, "type");
    s = oam_dec_str(d, v, p);
    tt = oam_trait_type_from_name(s);
    if (tt < 0 && s != NULL) {
        char *c = oam_clip(s);
        oam_dec_err(d, ERR_UNSUPPORTED, v, p,
                    "unknown trait type '%s' (invoker, iam-bindings, service-identity or "
                    "impersonation)",
                    c);
        free(c);
    }
    free(s);
    free(p);
    if (tt < 0)
        return false;
    out->type = (enum oam_trait_type)tt;
    out->pos = oam_dec_pos(d, n);
    out->path = xstrdup(path);
    props = oam_ynode_get(n, "properties");
    p = oam_path_key(path, "properties");
    if (props != NULL && (oam_ynode_is_null(props) || !oam_dec_map(d, props, p)))
        props = NULL;
    switch (out->type) {
    case OAM_TRAIT_INVOKER:
        decode_invoker(d, props, n, p, out);
        break;
    case OAM_TRAIT_IAM_BINDINGS:
        decode_iam_bindings(d, props, n, p, out);
        break;
    case OAM_TRAIT_SERVICE_IDENTITY:
        decode_service_identity(d, props, n, p, out);
        break;
    case OAM_TRAIT_IMPERSONATION:
    default:
        decode_impersonation(d, props, n, p, out);
        break;
    }
    free(p);
    return true;
}
