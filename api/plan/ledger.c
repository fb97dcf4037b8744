/*
 * ledger.c - the ledger (per app: the bindings roam owns or found, with the
 * revision and lifecycle they were last declared with) and its JSON codec.
 *
 * Format (one object, or one object per app for per-app storage):
 *
 *   {"apps": {"payments": {"revision": "3f2c9a1", "bindings": [
 *       {"resource": "projects/p/locations/r/services/s", "role": "roles/run.invoker",
 *        "condition": {"title": "...", "expression": "..."},      (absent: none)
 *        "member": "group:web@acme.example", "owned": true, "revision": "3f2c9a1",
 *        "gc": "onAppUpdate", "shared": false, "origin": "spec.components[0].traits[0]",
 *        "component": "payments-api", "componentType": "cloud-run-service",
 *        "traitType": "invoker"}]}}}                               (traitType null: policy)
 *
 * The ledger is read back by later passes, possibly by another version of
 * roam, so decoding checks every field it knows (type, enum spelling) and
 * reports the first problem with its path, but ignores fields it does not
 * know.  Encoding is deterministic: apps by name, bindings by key.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/caps.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "plan_int.h"

/* ---- data ---- */

void ledger_init(struct ledger *l)
{
    memset(l, 0, sizeof(*l));
}

void ledger_entry_release(struct ledger_entry *e)
{
    free(e->resource);
    free(e->role);
    iam_cond_free(e->cond);
    free(e->member);
    free(e->revision);
    free(e->origin);
    free(e->comp_name);
    memset(e, 0, sizeof(*e));
}

void ledger_entry_copy(struct ledger_entry *ret, const struct ledger_entry *src)
{
    *ret = *src;
    ret->resource = xstrdup_or_null(src->resource);
    ret->role = xstrdup_or_null(src->role);
    ret->cond = iam_cond_dup(src->cond);
    ret->member = xstrdup_or_null(src->member);
    ret->revision = xstrdup_or_null(src->revision);
    ret->origin = xstrdup_or_null(src->origin);
    ret->comp_name = xstrdup_or_null(src->comp_name);
}

void ledger_app_release(struct ledger_app *a)
{
    if (a == NULL)
        return;
    free(a->app);
    free(a->revision);
    free(a->status);
    for (size_t i = 0; i < a->n; i++)
        ledger_entry_release(&a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

void ledger_app_push_copy(struct ledger_app *a, const struct ledger_entry *e)
{
    XGROW(a->v, a->n + 1, a->cap);
    ledger_entry_copy(&a->v[a->n++], e);
}

void ledger_app_copy(struct ledger_app *ret, const struct ledger_app *src)
{
    memset(ret, 0, sizeof(*ret));
    ret->app = xstrdup_or_null(src->app);
    ret->revision = xstrdup_or_null(src->revision);
    ret->status = xstrdup_or_null(src->status);
    for (size_t i = 0; i < src->n; i++)
        ledger_app_push_copy(ret, &src->v[i]);
}

void ledger_release(struct ledger *l)
{
    for (size_t i = 0; i < l->n; i++)
        ledger_app_release(&l->apps[i]);
    free(l->apps);
    ledger_init(l);
}

void ledger_copy(struct ledger *ret, const struct ledger *src)
{
    ledger_init(ret);
    if (src == NULL)
        return;
    for (size_t i = 0; i < src->n; i++) {
        XGROW(ret->apps, ret->n + 1, ret->cap);
        ledger_app_copy(&ret->apps[ret->n++], &src->apps[i]);
    }
}

struct ledger_app *ledger_find_app(const struct ledger *l, const char *app)
{
    for (size_t i = 0; l != NULL && i < l->n; i++)
        if (str_eq0(l->apps[i].app, app))
            return &l->apps[i];
    return NULL;
}

struct ledger_app *ledger_app_get(struct ledger *l, const char *app)
{
    struct ledger_app *a = ledger_find_app(l, app);

    if (a != NULL)
        return a;
    XGROW(l->apps, l->n + 1, l->cap);
    a = &l->apps[l->n++];
    memset(a, 0, sizeof(*a));
    a->app = xstrdup(app);
    return a;
}

void ledger_remove_app(struct ledger *l, const char *app)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!str_eq0(l->apps[i].app, app))
            continue;
        ledger_app_release(&l->apps[i]);
        memmove(&l->apps[i], &l->apps[i + 1], (l->n - i - 1) * sizeof(*l->apps));
        l->n--;
        return;
    }
}

void ledger_put_app(struct ledger *l, const struct ledger_app *src)
{
    struct ledger_app *a = ledger_app_get(l, src->app);

    ledger_app_release(a);
    ledger_app_copy(a, src);
}

/* ---- encoding ---- */

static int entry_ptr_cmp(const void *a, const void *b)
{
    const struct ledger_entry *x = *(const struct ledger_entry *const *)a;
    const struct ledger_entry *y = *(const struct ledger_entry *const *)b;

    return plan_key_cmp(x->resource, x->role, x->cond, x->member, y->resource, y->role, y->cond,
                        y->member);
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v != NULL)
        json_object_set_new(o, key, json_string(v));
}

static json_t *cond_encode(const struct iam_cond *c)
{
    json_t *o = json_object();

    set_str(o, "title", c->title);
    set_str(o, "description", c->description);
    set_str(o, "expression", c->expression);
    return o;
}

static json_t *entry_encode(const struct ledger_entry *e)
{
    json_t *o = json_object();
    const char *gc = oam_gc_strategy_name(e->gc);

    set_str(o, "resource", e->resource);
    set_str(o, "role", e->role);
    if (e->cond != NULL)
        json_object_set_new(o, "condition", cond_encode(e->cond));
    set_str(o, "member", e->member);
    json_object_set_new(o, "owned", json_boolean(e->owned));
    set_str(o, "revision", e->revision);
    set_str(o, "gc", gc);
    json_object_set_new(o, "shared", json_boolean(e->shared));
    set_str(o, "origin", e->origin);
    set_str(o, "component", e->comp_name);
    if (e->comp_type >= 0 && e->comp_type < OAM_COMP_TYPE_MAX)
        set_str(o, "componentType", oam_comp_type_name((enum oam_comp_type)e->comp_type));
    if (e->trait_type >= 0 && e->trait_type < OAM_TRAIT_TYPE_MAX)
        set_str(o, "traitType", oam_trait_type_name((enum oam_trait_type)e->trait_type));
    else
        json_object_set_new(o, "traitType", json_null());
    return o;
}

static json_t *bindings_encode(const struct ledger_app *a)
{
    const struct ledger_entry **idx = NULL;
    json_t *arr = json_array();

    if (a->n > 0)
        idx = xreallocarray(NULL, a->n, PLAN_PTR_SIZE);
    for (size_t i = 0; i < a->n; i++)
        idx[i] = &a->v[i];
    if (a->n > 1)
        qsort(idx, a->n, PLAN_PTR_SIZE, entry_ptr_cmp);
    for (size_t i = 0; i < a->n; i++)
        json_array_append_new(arr, entry_encode(idx[i]));
    free(idx);
    return arr;
}

static json_t *app_body_encode(const struct ledger_app *a, bool with_name)
{
    json_t *o = json_object();

    if (with_name)
        set_str(o, "app", a->app);
    set_str(o, "revision", a->revision);
    if (a->status != NULL) {
        /* Opaque here: written by the reconciler, shown by `roam status`. */
        json_t *st = json_loads(a->status, 0, NULL);
        if (json_is_object(st))
            json_object_set_new(o, "status", st);
        else
            json_decref(st);
    }
    json_object_set_new(o, "bindings", bindings_encode(a));
    return o;
}

static char *dump(json_t *root)
{
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *ret;

    json_decref(root);
    if (s == NULL)
        abort(); /* jansson fails only on allocation */
    ret = xstrdup(s);
    free(s);
    return ret;
}

static int app_ptr_cmp(const void *a, const void *b)
{
    const struct ledger_app *x = *(const struct ledger_app *const *)a;
    const struct ledger_app *y = *(const struct ledger_app *const *)b;

    return str_cmp0(x->app, y->app);
}

char *ledger_encode(const struct ledger *l)
{
    const struct ledger_app **idx = NULL;
    json_t *root = json_object(), *apps = json_object();

    if (l->n > 0)
        idx = xreallocarray(NULL, l->n, PLAN_PTR_SIZE);
    for (size_t i = 0; i < l->n; i++)
        idx[i] = &l->apps[i];
    if (l->n > 1)
        qsort(idx, l->n, PLAN_PTR_SIZE, app_ptr_cmp);
    for (size_t i = 0; i < l->n; i++)
        if (idx[i]->app != NULL)
            json_object_set_new(apps, idx[i]->app, app_body_encode(idx[i], false));
    free(idx);
    json_object_set_new(root, "apps", apps);
    return dump(root);
}

char *ledger_app_encode(const struct ledger_app *a)
{
    return dump(app_body_encode(a, true));
}

/* ---- decoding ---- */

struct dec {
    struct err_detail *err;
    const char *path; /* of the value being decoded ("" at the top) */
};

static int fail(struct dec *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct dec *d, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (d->err == NULL)
        return ERR_PARSE;
    err_detail_release(d->err);
    d->err->code = ERR_PARSE;
    if (field == NULL || field[0] == '\0')
        d->err->path = xstrdup(d->path);
    else if (d->path[0] == '\0')
        d->err->path = xstrdup(field);
    else
        d->err->path = xasprintf("%s.%s", d->path, field);
    va_start(ap, fmt);
    d->err->msg = xvasprintf(fmt, ap);
    va_end(ap);
    return ERR_PARSE;
}

/* Optional string field: absent or null -> *ret NULL. */
static int get_str(struct dec *d, json_t *o, const char *key, bool required, char **ret)
{
    json_t *v = json_object_get(o, key);

    *ret = NULL;
    if (v == NULL || json_is_null(v))
        return required ? fail(d, key, "missing required field '%s'", key) : 0;
    if (!json_is_string(v))
        return fail(d, key, "'%s' must be a string", key);
    *ret = xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(struct dec *d, json_t *o, const char *key, bool required, bool *ret)
{
    json_t *v = json_object_get(o, key);

    *ret = false;
    if (v == NULL || json_is_null(v))
        return required ? fail(d, key, "missing required field '%s'", key) : 0;
    if (!json_is_boolean(v))
        return fail(d, key, "'%s' must be a boolean", key);
    *ret = json_is_true(v);
    return 0;
}

/* An enum spelled as in the documents; absent -> dflt. */
static int get_enum(struct dec *d, json_t *o, const char *key, int (*from_name)(const char *),
                    int dflt, int *ret)
{
    json_t *v = json_object_get(o, key);

    *ret = dflt;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(d, key, "'%s' must be a string", key);
    *ret = from_name(json_string_value(v));
    if (*ret < 0)
        return fail(d, key, "unknown value for '%s'", key);
    return 0;
}

static int cond_decode(struct dec *d, json_t *o, struct iam_cond **ret)
{
    json_t *v = json_object_get(o, "condition");
    struct iam_cond *c;
    const char *saved = d->path;
    char *path;
    int rc;

    *ret = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(d, "condition", "'%s' must be an object", "condition");
    c = xcalloc(1, sizeof(*c));
    path = xasprintf("%s.condition", saved);
    d->path = path;
    rc = get_str(d, v, "title", false, &c->title);
    if (rc == 0)
        rc = get_str(d, v, "description", false, &c->description);
    if (rc == 0)
        rc = get_str(d, v, "expression", false, &c->expression);
    d->path = saved;
    free(path);
    if (rc < 0) {
        iam_cond_free(c);
        return rc;
    }
    *ret = c;
    return 0;
}

static int entry_fields(struct dec *d, json_t *o, struct ledger_entry *e)
{
    int rc, gc = OAM_GC_ON_APP_UPDATE;

    rc = get_str(d, o, "resource", true, &e->resource);
    if (rc == 0)
        rc = get_str(d, o, "role", true, &e->role);
    if (rc == 0)
        rc = cond_decode(d, o, &e->cond);
    if (rc == 0)
        rc = get_str(d, o, "member", true, &e->member);
    if (rc == 0)
        rc = get_bool(d, o, "owned", true, &e->owned);
    if (rc == 0)
        rc = get_str(d, o, "revision", false, &e->revision);
    if (rc == 0)
        rc = get_enum(d, o, "gc", oam_gc_strategy_from_name, OAM_GC_ON_APP_UPDATE, &gc);
    e->gc = (enum oam_gc_strategy)gc;
    if (rc == 0)
        rc = get_bool(d, o, "shared", false, &e->shared);
    if (rc == 0)
        rc = get_str(d, o, "origin", false, &e->origin);
    if (rc == 0)
        rc = get_str(d, o, "component", false, &e->comp_name);
    if (rc == 0)
        rc = get_enum(d, o, "componentType", oam_comp_type_from_name, OAM_COMP_SERVICE,
                      &e->comp_type);
    if (rc == 0)
        rc = get_enum(d, o, "traitType", oam_trait_type_from_name, -1, &e->trait_type);
    return rc;
}

static int entry_decode(struct dec *d, json_t *o, struct ledger_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->trait_type = -1;
    if (!json_is_object(o))
        return fail(d, NULL, "%s", "a binding must be an object");
    if (entry_fields(d, o, e) < 0) {
        ledger_entry_release(e);
        return ERR_PARSE;
    }
    if (res_kind_of(e->resource) < 0) {
        ledger_entry_release(e);
        return fail(d, "resource", "'%s' is not a resource roam manages", "resource");
    }
    return 0;
}

static int bindings_decode(struct dec *d, json_t *o, struct ledger_app *a)
{
    json_t *arr = json_object_get(o, "bindings"), *v;
    const char *saved = d->path;
    char *path;
    size_t i;
    int rc = 0;

    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return fail(d, "bindings", "'%s' must be an array", "bindings");
    json_array_foreach (arr, i, v) {
        path = xasprintf("%s%sbindings[%zu]", saved, saved[0] != '\0' ? "." : "", i);
        d->path = path;
        XGROW(a->v, a->n + 1, a->cap);
        rc = entry_decode(d, v, &a->v[a->n]);
        d->path = saved;
        free(path);
        if (rc < 0)
            return rc;
        a->n++;
    }
    return 0;
}

static int app_body_decode(struct dec *d, json_t *o, struct ledger_app *a)
{
    int rc;

    if (!json_is_object(o))
        return fail(d, NULL, "%s", "an app record must be an object");
    rc = get_str(d, o, "revision", false, &a->revision);
    if (rc == 0 && json_object_get(o, "status") != NULL) {
        json_t *st = json_object_get(o, "status");
        if (!json_is_object(st))
            return fail(d, "status", "%s", "'status' must be an object");
        a->status = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    if (rc == 0)
        rc = bindings_decode(d, o, a);
    return rc;
}

static json_t *load(const char *json, size_t len, struct err_detail *err)
{
    json_error_t jerr;
    json_t *root;

    if (len > (size_t)CAP_LEDGER_BYTES) {
        if (err != NULL) {
            err_detail_release(err);
            err->code = ERR_LIMIT;
            err->msg =
                xasprintf("ledger of %zu bytes exceeds the cap of %u bytes", len, CAP_LEDGER_BYTES);
        }
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL && err != NULL) {
        err_detail_release(err);
        err->code = ERR_PARSE;
        err->line = (unsigned)(jerr.line > 0 ? jerr.line : 0);
        err->col = (unsigned)(jerr.column > 0 ? jerr.column : 0);
        err->msg = xasprintf("invalid JSON: %s", jerr.text);
    }
    return root;
}

static int load_code(size_t len)
{
    return len > (size_t)CAP_LEDGER_BYTES ? ERR_LIMIT : ERR_PARSE;
}

static int apps_decode(struct dec *d, json_t *apps, struct ledger *l)
{
    const char *name;
    json_t *v;

    json_object_foreach (apps, name, v) {
        struct ledger_app *a;
        char *path;
        int rc;

        XGROW(l->apps, l->n + 1, l->cap);
        a = &l->apps[l->n];
        memset(a, 0, sizeof(*a));
        a->app = xstrdup(name);
        path = xasprintf("apps[\"%s\"]", name);
        d->path = path;
        rc = app_body_decode(d, v, a);
        d->path = "";
        free(path);
        if (rc < 0) {
            ledger_app_release(a);
            return rc;
        }
        l->n++;
    }
    return 0;
}

int ledger_decode(const char *json, size_t len, struct ledger *ret, struct err_detail *err)
{
    struct dec d = {err, ""};
    json_t *root, *apps;
    int rc;

    ledger_init(ret);
    root = load(json, len, err);
    if (root == NULL)
        return load_code(len);
    rc = 0;
    if (!json_is_object(root)) {
        rc = fail(&d, NULL, "%s", "the ledger must be a JSON object");
        goto out_decref;
    }
    apps = json_object_get(root, "apps");
    if (apps == NULL || json_is_null(apps))
        goto out_decref;
    if (!json_is_object(apps)) {
        rc = fail(&d, "apps", "'%s' must be an object", "apps");
        goto out_decref;
    }
    rc = apps_decode(&d, apps, ret);
    if (rc < 0)
        ledger_release(ret);
out_decref:
    json_decref(root);
    return rc;
}

int ledger_app_decode(const char *json, size_t len, struct ledger_app *ret, struct err_detail *err)
{
    struct dec d = {err, ""};
    json_t *root;
    int rc;

    memset(ret, 0, sizeof(*ret));
    root = load(json, len, err);
    if (root == NULL)
        return load_code(len);
    if (!json_is_object(root)) {
        rc = fail(&d, NULL, "%s", "an app record must be a JSON object");
        goto out_decref;
    }
    rc = get_str(&d, root, "app", true, &ret->app);
    if (rc == 0)
        rc = app_body_decode(&d, root, ret);
    if (rc < 0)
        ledger_app_release(ret);
out_decref:
    json_decref(root);
    return rc;
}
