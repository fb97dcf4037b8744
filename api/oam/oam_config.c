/*
 * oam_config.c - the platform configuration (`--config FILE`, see oam.h).
 *
 * The file goes through the same capped tree, document walk (tags,
 * duplicate keys) and typed helpers as Application documents, so the same
 * caps and the same `file:line:col: path: message` reports apply.  The
 * guardrails become oam_policy values of the app-level guardrail types, so
 * the guard code treats platform and app guardrails alike; their paths are
 * the config's (`guardrails.allowedRoles`) and their names the config keys.
 */
#include "oam.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../common/caps.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "oam_int.h"
#include "yaml_tree.h"

void oam_config_init(struct oam_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_removals = -1;
    err_list_init(&cfg->errs);
}

void oam_config_release(struct oam_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_guardrails; i++)
        oam_policy_release(&cfg->guardrails[i]);
    free(cfg->guardrails);
    oam_strs_release(&cfg->protect);
    oam_strs_release(&cfg->identity);
    err_list_release(&cfg->errs);
    free(cfg->file);
    oam_config_init(cfg);
}

/* A key given no value (`protect:` with its list commented out) counts as
 * absent: for allowedMembers, absent and {} differ (no guardrail, and a
 * guardrail that allows no member of any kind). */
static const struct oam_ynode *get(const struct oam_ynode *map, const char *key)
{
    const struct oam_ynode *v = oam_ynode_get(map, key);

    return v != NULL && oam_ynode_is_null(v) ? NULL : v;
}

static struct oam_policy *add_guardrail(struct oam_config *cfg, struct oam_dec *d,
                                        const struct oam_ynode *n, enum oam_policy_type type,
                                        const char *name)
{
    struct oam_policy *p;

    cfg->guardrails = xreallocarray(cfg->guardrails, cfg->n_guardrails + 1, sizeof(*p));
    p = &cfg->guardrails[cfg->n_guardrails++];
    memset(p, 0, sizeof(*p));
    p->type = type;
    p->name = xstrdup(name);
    p->path = oam_path_key("guardrails", name);
    p->pos = oam_dec_pos(d, n);
    return p;
}

static void decode_guardrails(struct oam_config *cfg, struct oam_dec *d, const struct oam_ynode *n)
{
    static const char *const keys[] = {"noPublicAccess", "allowedRoles", "allowedMembers", NULL};
    const struct oam_ynode *v;
    struct oam_policy *p;
    bool on = false;

    if (!oam_dec_map(d, n, "guardrails"))
        return;
    oam_dec_keys(d, n, "guardrails", keys, "field");
    v = get(n, "noPublicAccess");
    if (v != NULL && oam_dec_bool(d, v, "guardrails.noPublicAccess", &on) && on)
        add_guardrail(cfg, d, v, OAM_POL_NO_PUBLIC_ACCESS, "noPublicAccess");
    v = get(n, "allowedRoles");
    if (v != NULL) {
        p = add_guardrail(cfg, d, v, OAM_POL_ALLOWED_ROLES, "allowedRoles");
        oam_dec_strs(d, v, p->path, &p->roles, CAP_POLICY_BINDINGS);
        oam_check_roles(d->errs, &p->roles, p->path);
    }
    v = get(n, "allowedMembers");
    if (v != NULL) {
        p = add_guardrail(cfg, d, v, OAM_POL_ALLOWED_MEMBERS, "allowedMembers");
        if (oam_dec_map(d, v, p->path))
            oam_dec_allowed_members(d, v, p->path, p);
        oam_check_allowed_members(d->errs, p, p->path);
    }
}

static void decode_members(struct oam_dec *d, const struct oam_ynode *root, const char *key,
                           struct oam_strs *out)
{
    const struct oam_ynode *v = get(root, key);

    if (v == NULL)
        return;
    oam_dec_strs(d, v, key, out, CAP_POLICY_BINDINGS);
    oam_check_members(d->errs, out, key);
}

static void decode_max_removals(struct oam_config *cfg, struct oam_dec *d,
                                const struct oam_ynode *root)
{
    const struct oam_ynode *v = get(root, "maxRemovals");
    long long n;

    if (v == NULL)
        return;
    if (v->kind != OAM_YNODE_SCALAR || !v->plain || str_to_ll(v->text, 0, INT_MAX, &n) < 0) {
        oam_dec_err(d, ERR_PARSE, v, "maxRemovals", "expected a number from 0 to %d", INT_MAX);
        return;
    }
    cfg->max_removals = n;
}

static void decode_config(struct oam_config *cfg, struct oam_dec *d, struct oam_ynode *root)
{
    static const char *const keys[] = {"guardrails", "protect", "identity", "maxRemovals", NULL};
    const struct oam_ynode *v;

    if (!oam_dec_map(d, root, ""))
        return;
    oam_dec_check_tree(d, root, "");
    oam_dec_keys(d, root, "", keys, "field");
    v = get(root, "guardrails");
    if (v != NULL)
        decode_guardrails(cfg, d, v);
    decode_members(d, root, "protect", &cfg->protect);
    decode_members(d, root, "identity", &cfg->identity);
    decode_max_removals(cfg, d, root);
}

int oam_config_parse(struct oam_config *cfg, const char *file, const char *data, size_t len)
{
    struct oam_ytree t;
    struct oam_dec d;
    struct oam_ynode *root = NULL;
    int r;

    free(cfg->file);
    cfg->file = xstrdup(file != NULL ? file : "-");
    d.errs = &cfg->errs;
    d.file = cfg->file;
    oam_ytree_init(&t);
    if (len > (size_t)CAP_CONFIG_BYTES) {
        err_list_add(&cfg->errs, ERR_LIMIT, cfg->file, 0, 0, NULL, "file larger than %u bytes",
                     CAP_CONFIG_BYTES);
        return ERR_LIMIT;
    }
    r = oam_ytree_parse(&t, data != NULL ? data : "", data != NULL ? len : 0);
    if (r < 0) {
        err_list_add(&cfg->errs, r, cfg->file, t.err_line, t.err_col, NULL, "%s", t.err_msg);
        goto out_release_tree;
    }
    for (size_t i = 0; i < t.n_docs; i++) {
        if (oam_ynode_is_null(t.docs[i]))
            continue;
        if (root != NULL) {
            oam_dec_err(&d, ERR_PARSE, t.docs[i], NULL, "the configuration must be one document");
            break;
        }
        root = t.docs[i];
    }
    if (root != NULL)
        decode_config(cfg, &d, root);
    r = cfg->errs.n > 0 ? ERR_PARSE : 0;
out_release_tree:
    oam_ytree_release(&t);
    return r;
}
