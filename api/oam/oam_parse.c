/*
 * oam_parse.c - OAM Application documents -> struct oam_app.
 *
 * A file is first parsed into the capped tree of yaml_tree.h; a YAML syntax
 * error or a cap stops the tree there and becomes a problem of the file
 * (set->errs) and of every app the file already gave.  Each complete
 * document is then identified by its apiVersion and kind: a
 * core.oam.dev/v1beta1 Application is decoded, any other document is
 * skipped with a notice, an empty one is ignored, and one that cannot be
 * identified is a problem of the file.
 *
 * Decoding is structural only (YAML types, known keys, required fields,
 * enum spellings, the syntax of single names) and never stops at the first
 * problem; the semantic checks are oam_validate()'s.  Components, traits and
 * policies of a type roam does not implement are reported by their `type`
 * path and their properties are not looked at (they belong to that type).
 * Traits and policies of unknown types are dropped from the structs;
 * components are kept (type OAM_COMP_TYPE_MAX) so that names still resolve.
 */
#include "oam.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "../common/caps.h"
#include "../common/xalloc.h"
#include "oam_int.h"
#include "yaml_tree.h"

#define OAM_API_VERSION "core.oam.dev/v1beta1"
#define OAM_KIND "Application"
#define ANNOTATION_PREFIX "roam.dev/"
#define ANNOTATION_PROJECT "roam.dev/project"
#define ANNOTATION_REGION "roam.dev/region"

/* ---- metadata ---- */

static void check_value(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                        const char *s, bool (*ok)(const char *), const char *what, const char *hint)
{
    char *c;

    if (s == NULL || ok(s))
        return;
    c = oam_clip(s);
    oam_dec_err(d, ERR_PARSE, n, path, "invalid %s '%s'%s", what, c, hint);
    free(c);
}

/* One roam.dev annotation; the first of duplicate keys counts (the
 * duplicate itself is reported by the document walk). */
static void decode_annotation(struct oam_dec *d, const struct oam_ynode *v, const char *path,
                              char **slot, bool (*ok)(const char *), const char *what)
{
    if (*slot != NULL)
        return;
    *slot = oam_dec_str(d, v, path);
    check_value(d, v, path, *slot, ok, what, "");
}

static void decode_annotations(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                               struct oam_app *app)
{
    if (!oam_dec_map(d, n, path))
        return;
    for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
        const struct oam_ynode *k = n->kids[i], *v = n->kids[i + 1];
        char *p;

        /* Other annotations are someone else's business. */
        if (k->kind != OAM_YNODE_SCALAR ||
            strncmp(k->text, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0)
            continue;
        p = oam_path_key(path, k->text);
        if (strcmp(k->text, ANNOTATION_PROJECT) == 0) {
            decode_annotation(d, v, p, &app->project, oam_project_ok, "project id");
        } else if (strcmp(k->text, ANNOTATION_REGION) == 0) {
            decode_annotation(d, v, p, &app->region, oam_region_ok, "region");
        } else {
            char *c = oam_clip(k->text);
            oam_dec_err(d, ERR_PARSE, k, p, "unknown annotation '%s'", c);
            free(c);
        }
        free(p);
    }
}

static void decode_metadata(struct oam_dec *d, const struct oam_ynode *n, struct oam_app *app)
{
    const struct oam_ynode *v;

    if (!oam_dec_map(d, n, "metadata"))
        return;
    v = oam_dec_need(d, n, "metadata", "name");
    if (v != NULL) {
        app->name = oam_dec_str(d, v, "metadata.name");
        app->pos = oam_dec_pos(d, v);
        check_value(d, v, "metadata.name", app->name, oam_name_ok, "name",
                    " (lowercase letters, digits, '-' and '.', at most 253 characters, "
                    "starting and ending with a letter or digit)");
    }
    v = oam_ynode_get(n, "annotations");
    if (v != NULL && !oam_ynode_is_null(v))
        decode_annotations(d, v, "metadata.annotations", app);
}

/* ---- components ---- */

static char *decode_prop(struct oam_dec *d, const struct oam_ynode *props, const char *path,
                         const char *key, bool (*ok)(const char *), const char *what)
{
    const struct oam_ynode *v = oam_ynode_get(props, key);
    char *p, *s;

    if (v == NULL)
        return NULL;
    p = oam_path_key(path, key);
    s = oam_dec_str(d, v, p);
    check_value(d, v, p, s, ok, what, "");
    free(p);
    return s;
}

static void decode_comp_properties(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                                   struct oam_component *c)
{
    static const char *const keys[] = {"project", "region", "name", NULL};

    if (oam_ynode_is_null(n) || !oam_dec_map(d, n, path))
        return;
    oam_dec_keys(d, n, path, keys, "property");
    c->project = decode_prop(d, n, path, "project", oam_project_ok, "project id");
    c->region = decode_prop(d, n, path, "region", oam_region_ok, "region");
    c->resource_name = decode_prop(d, n, path, "name", oam_resource_name_ok, "Cloud Run name");
}

static void decode_scopes(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                          struct oam_component *c)
{
    const struct oam_ynode *v;
    char *p;

    if (!oam_dec_map(d, n, path))
        return;
    for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
        const struct oam_ynode *k = n->kids[i];
        if (k->kind != OAM_YNODE_SCALAR || strcmp(k->text, "access-scope") == 0)
            continue;
        p = oam_path_key(path, k->text);
        char *s = oam_clip(k->text);
        oam_dec_err(d, ERR_UNSUPPORTED, k, p, "unknown scope '%s' (only access-scope)", s);
        free(s);
        free(p);
    }
    v = oam_ynode_get(n, "access-scope");
    if (v == NULL)
        return;
    p = oam_path_key(path, "access-scope");
    if (v->kind == OAM_YNODE_SCALAR && !oam_ynode_is_null(v)) {
        /* One policy name, or a list of them. */
        c->scopes.present = true;
        oam_strs_push(&c->scopes, xstrdup(v->text), oam_dec_pos(d, v));
    } else {
        oam_dec_strs(d, v, p, &c->scopes, CAP_POLICIES_PER_APP);
    }
    free(p);
}

static void decode_traits(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                          struct oam_component *c)
{
    size_t cap = 0;

    if (!oam_dec_seq(d, n, path))
        return;
    if (n->n_kids > CAP_TRAITS_PER_COMPONENT) {
        oam_dec_err(d, ERR_LIMIT, n, path, "more than %u traits", CAP_TRAITS_PER_COMPONENT);
        return;
    }
    /* Exactly as many as listed: most components have one trait, and a
     * grown array would hold four (10,000 components: 4 MB). */
    if (c->traits == NULL && n->n_kids > 0) {
        c->traits = xreallocarray(NULL, n->n_kids, sizeof(c->traits[0]));
        cap = n->n_kids;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        char *p = oam_path_idx(path, i);
        XGROW(c->traits, c->n_traits + 1, cap);
        memset(&c->traits[c->n_traits], 0, sizeof(c->traits[0]));
        if (oam_dec_trait(d, n->kids[i], p, &c->traits[c->n_traits]))
            c->n_traits++;
        free(p);
    }
}

static void decode_comp_type(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                             struct oam_component *c)
{
    char *p = oam_path_key(path, "type");
    char *s = oam_dec_str(d, n, p);
    int t = oam_comp_type_from_name(s);

    c->type = OAM_COMP_TYPE_MAX;
    if (t >= 0) {
        c->type = (enum oam_comp_type)t;
    } else if (s != NULL) {
        char *v = oam_clip(s);
        oam_dec_err(d, ERR_UNSUPPORTED, n, p,
                    "unknown component type '%s' (cloud-run-service or cloud-run-job)", v);
        free(v);
    }
    free(s);
    free(p);
}

static void decode_comp_field(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                              const char *key, struct oam_component *c)
{
    const struct oam_ynode *v = oam_ynode_get(map, key);
    char *p;

    if (v == NULL)
        return;
    p = oam_path_key(path, key);
    if (strcmp(key, "properties") == 0) {
        if (c->type != OAM_COMP_TYPE_MAX)
            decode_comp_properties(d, v, p, c);
    } else if (strcmp(key, "traits") == 0) {
        decode_traits(d, v, p, c);
    } else if (strcmp(key, "scopes") == 0) {
        decode_scopes(d, v, p, c);
    } else if (strcmp(key, "dependsOn") == 0) {
        oam_dec_strs(d, v, p, &c->depends_on, CAP_COMPONENTS_PER_APP);
    } else {
        oam_dec_err(d, ERR_UNSUPPORTED, oam_dec_key_of(map, v), p, "component %s are not supported",
                    key);
    }
    free(p);
}

static void decode_component(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                             struct oam_component *c)
{
    static const char *const keys[] = {"name",      "type",   "properties", "traits", "scopes",
                                       "dependsOn", "inputs", "outputs",    NULL};
    static const char *const fields[] = {"properties", "traits", "scopes",
                                         "dependsOn",  "inputs", "outputs"};
    const struct oam_ynode *v;

    c->path = xstrdup(path);
    c->pos = oam_dec_pos(d, n);
    c->type = OAM_COMP_TYPE_MAX;
    if (!oam_dec_map(d, n, path))
        return;
    oam_dec_keys(d, n, path, keys, "field");
    v = oam_dec_need(d, n, path, "name");
    if (v != NULL) {
        char *p = oam_path_key(path, "name");
        c->name = oam_dec_str(d, v, p);
        free(p);
    }
    v = oam_dec_need(d, n, path, "type");
    if (v != NULL)
        decode_comp_type(d, v, path, c);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        decode_comp_field(d, n, path, fields[i], c);
    /* Without properties.name the component name is the Cloud Run name. */
    if (c->type != OAM_COMP_TYPE_MAX && c->resource_name == NULL && c->name != NULL) {
        char *p = oam_path_key(path, "name");
        check_value(d, oam_ynode_get(n, "name"), p, c->name, oam_resource_name_ok, "Cloud Run name",
                    " (lowercase letters, digits and '-'; or set properties.name)");
        free(p);
    }
}

static void decode_components(struct oam_dec *d, const struct oam_ynode *n, struct oam_app *app)
{
    const char *path = "spec.components";

    if (!oam_dec_seq(d, n, path))
        return;
    if (n->n_kids == 0) {
        oam_dec_err(d, ERR_PARSE, n, path, "an application needs at least one component");
        return;
    }
    if (n->n_kids > CAP_COMPONENTS_PER_APP) {
        oam_dec_err(d, ERR_LIMIT, n, path, "more than %u components", CAP_COMPONENTS_PER_APP);
        return;
    }
    app->comps = xcalloc(n->n_kids, sizeof(*app->comps));
    for (size_t i = 0; i < n->n_kids; i++) {
        char *p = oam_path_idx(path, i);
        decode_component(d, n->kids[i], p, &app->comps[app->n_comps++]);
        free(p);
    }
}

static void decode_policies(struct oam_dec *d, const struct oam_ynode *n, struct oam_app *app)
{
    const char *path = "spec.policies";

    if (!oam_dec_seq(d, n, path))
        return;
    if (n->n_kids > CAP_POLICIES_PER_APP) {
        oam_dec_err(d, ERR_LIMIT, n, path, "more than %u policies", CAP_POLICIES_PER_APP);
        return;
    }
    app->policies = xcalloc(n->n_kids + 1, sizeof(*app->policies));
    for (size_t i = 0; i < n->n_kids; i++) {
        char *p = oam_path_idx(path, i);
        if (oam_dec_policy(d, n->kids[i], p, &app->policies[app->n_policies]))
            app->n_policies++;
        free(p);
    }
}

static void decode_spec(struct oam_dec *d, const struct oam_ynode *n, struct oam_app *app)
{
    static const char *const keys[] = {"components", "policies", "workflow", NULL};
    const struct oam_ynode *v;

    if (!oam_dec_map(d, n, "spec"))
        return;
    oam_dec_keys(d, n, "spec", keys, "field");
    v = oam_ynode_get(n, "workflow");
    if (v != NULL)
        oam_dec_err(d, ERR_UNSUPPORTED, oam_dec_key_of(n, v), "spec.workflow",
                    "workflows are not supported");
    v = oam_dec_need(d, n, "spec", "components");
    if (v != NULL)
        decode_components(d, v, app);
    v = oam_ynode_get(n, "policies");
    if (v != NULL && !oam_ynode_is_null(v))
        decode_policies(d, v, app);
}

static void decode_app(struct oam_dec *d, struct oam_ynode *root, struct oam_app *app)
{
    static const char *const keys[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    const struct oam_ynode *v;

    app->pos = oam_dec_pos(d, root);
    oam_dec_check_tree(d, root, "");
    oam_dec_keys(d, root, "", keys, "field");
    v = oam_dec_need(d, root, "", "metadata");
    if (v != NULL)
        decode_metadata(d, v, app);
    v = oam_dec_need(d, root, "", "spec");
    if (v != NULL)
        decode_spec(d, v, app);
}

/* ---- documents and files ---- */

static const char *scalar_text(const struct oam_ynode *n)
{
    if (n == NULL || n->kind != OAM_YNODE_SCALAR || oam_ynode_is_null(n))
        return NULL;
    return n->text;
}

static void skip_notice(struct oam_docset *set, const char *file, const struct oam_ynode *root,
                        const char *api, const char *kind)
{
    const char *name = scalar_text(oam_ynode_get(oam_ynode_get(root, "metadata"), "name"));
    char *a = oam_clip(api), *k = oam_clip(kind), *nm = name != NULL ? oam_clip(name) : NULL;

    if (nm != NULL)
        err_list_add(&set->notices, 0, file, root->line, root->col, NULL, "skipping %s %s '%s'", a,
                     k, nm);
    else
        err_list_add(&set->notices, 0, file, root->line, root->col, NULL, "skipping %s %s", a, k);
    free(nm);
    free(k);
    free(a);
}

static void decode_document(struct oam_docset *set, const char *file, struct oam_ynode *root,
                            unsigned index)
{
    const char *api, *kind;
    struct oam_app *app;
    struct oam_dec d;

    if (oam_ynode_is_null(root))
        return; /* an empty document (only comments, or `---` twice) */
    /*
     * A source directory may hold other YAML (a Helm values file, a CI
     * config): a document that does not even claim to be an OAM Application
     * is skipped with a notice.  One that looks like an Application but is
     * incomplete is an error, which makes the read partial: it may be an app
     * whose deletion must not be inferred from a typo.
     */
    if (root->kind != OAM_YNODE_MAP) {
        err_list_add(&set->notices, 0, file, root->line, root->col, NULL,
                     "skipping a document that is not a mapping with apiVersion and kind");
        return;
    }
    api = scalar_text(oam_ynode_get(root, "apiVersion"));
    kind = scalar_text(oam_ynode_get(root, "kind"));
    if (api == NULL || kind == NULL) {
        bool oam_like = (kind != NULL && strcmp(kind, OAM_KIND) == 0) ||
                        (api != NULL && strncmp(api, "core.oam.dev/", 13) == 0);
        if (oam_like)
            err_list_add(&set->errs, ERR_PARSE, file, root->line, root->col, NULL,
                         "document has no apiVersion or kind string");
        else
            err_list_add(&set->notices, 0, file, root->line, root->col, NULL,
                         "skipping a document without apiVersion and kind");
        return;
    }
    if (strcmp(api, OAM_API_VERSION) != 0 || strcmp(kind, OAM_KIND) != 0) {
        skip_notice(set, file, root, api, kind);
        return;
    }
    XGROW(set->apps, set->n_apps + 1, set->cap_apps);
    app = &set->apps[set->n_apps++];
    memset(app, 0, sizeof(*app));
    err_list_init(&app->errs);
    app->file = file;
    app->doc_index = index;
    d.errs = &app->errs;
    d.file = file;
    decode_app(&d, root, app);
}

static const char *add_file(struct oam_docset *set, const char *file)
{
    for (size_t i = 0; i < set->n_files; i++)
        if (strcmp(set->files[i], file) == 0)
            return set->files[i];
    XGROW(set->files, set->n_files + 1, set->cap_files);
    set->files[set->n_files] = xstrdup(file);
    return set->files[set->n_files++];
}

int oam_parse_file(struct oam_docset *set, const char *file, const char *data, size_t len)
{
    struct oam_ytree t;
    const char *name = add_file(set, file != NULL ? file : "-");
    size_t first = set->n_apps;
    int r;

    set->validated = false; /* new apps need validating */
    oam_ytree_init(&t);
    r = oam_ytree_parse(&t, data != NULL ? data : "", data != NULL ? len : 0);
    for (size_t i = 0; i < t.n_docs; i++)
        decode_document(set, name, t.docs[i], (unsigned)i);
    if (r < 0) {
        err_list_add(&set->errs, r, name, t.err_line, t.err_col, NULL, "%s", t.err_msg);
        /* The file cannot be trusted: its apps are rejected with it. */
        for (size_t i = first; i < set->n_apps; i++)
            err_list_add(&set->apps[i].errs, r, name, t.err_line, t.err_col, NULL, "%s", t.err_msg);
    }
    oam_ytree_release(&t);
    return r;
}
