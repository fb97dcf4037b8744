/*
 * desired.c - one validated Application -> the bindings it wants, per
 * resource, each with its provenance and lifecycle flags.
 *
 * The compiler walks the app once per source of bindings (invoker and
 * iam-bindings traits, impersonation traits, access-scope policies) and
 * resolves every binding's lifecycle from the app's policies right away, so
 * that the diff never has to look at the document again: it sees plain
 * tuples (resource, role, condition, member) with flags.  Lifecycle rules are
 * resolved per binding rather than per component because garbage-collect
 * selectors may name trait types.
 *
 * A member declared twice for one (resource, role, condition) within the app
 * yields one binding, the first in document order (components, then
 * access-scope policies): the app's bindings are sorted by key with their
 * position as a tie-break, later duplicates dropped, and the original order
 * restored.  On failure the desired set is left as it was before the call.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "plan_int.h"

#define ROLE_INVOKER "roles/run.invoker"
#define ROLE_SA_USER "roles/iam.serviceAccountUser"
#define ROLE_SA_TOKEN_CREATOR "roles/iam.serviceAccountTokenCreator"
#define SA_DOMAIN_SUFFIX ".iam.gserviceaccount.com"

void desired_init(struct desired *d)
{
    memset(d, 0, sizeof(*d));
}

static void binding_release(struct desired_binding *b)
{
    free(b->resource);
    free(b->role);
    iam_cond_free(b->cond);
    free(b->member);
    free(b->app);
    free(b->origin);
    free(b->comp_name);
}

static void auth_release(struct desired_auth *a)
{
    free(a->resource);
    free(a->app);
    free(a->origin);
    for (size_t i = 0; i < a->n_roles; i++)
        free(a->roles[i]);
    free(a->roles);
}

static void ident_release(struct desired_identity *id)
{
    free(id->resource);
    free(id->app);
    free(id->origin);
    free(id->service_account);
}

/* Drops everything past the given counts (rollback of a failed compile). */
static void desired_truncate(struct desired *d, size_t n, size_t n_auth, size_t n_ident)
{
    while (d->n > n)
        binding_release(&d->v[--d->n]);
    while (d->n_auth > n_auth)
        auth_release(&d->auth[--d->n_auth]);
    while (d->n_ident > n_ident)
        ident_release(&d->ident[--d->n_ident]);
}

void desired_release(struct desired *d)
{
    desired_truncate(d, 0, 0, 0);
    free(d->v);
    free(d->auth);
    free(d->ident);
    desired_init(d);
}

/* ---- lifecycle flags from the app's policies ---- */

/* A lifecycle flag policy: present without rules = every binding;
 * with rules = those a rule selects; `rules: []` = none. */
static bool flag_policy(const struct oam_app *app, enum oam_policy_type type,
                        const struct oam_component *c, int trait_type)
{
    for (size_t i = 0; i < app->n_policies; i++) {
        const struct oam_policy *pol = &app->policies[i];

        if (pol->type != type)
            continue;
        if (!pol->has_rules)
            return true;
        for (size_t j = 0; j < pol->n_rules; j++)
            if (oam_selector_match(&pol->rules[j].selector, c, trait_type, true))
                return true;
    }
    return false;
}

/* garbage-collect: the first matching rule of the first policy wins. */
static enum oam_gc_strategy gc_strategy(const struct oam_app *app, const struct oam_component *c,
                                        int trait_type)
{
    for (size_t i = 0; i < app->n_policies; i++) {
        const struct oam_policy *pol = &app->policies[i];

        if (pol->type != OAM_POL_GARBAGE_COLLECT)
            continue;
        for (size_t j = 0; j < pol->n_rules; j++)
            if (oam_selector_match(&pol->rules[j].selector, c, trait_type, true))
                return pol->rules[j].strategy;
    }
    return OAM_GC_ON_APP_UPDATE;
}

/* ---- building blocks ---- */

/* What every binding of one (component, trait or policy) shares. */
struct origin {
    const struct oam_app *app;
    const struct oam_component *comp;
    const char *resource;
    enum res_kind kind;
    const char *path; /* trait or policy path */
    int trait_type;
};

static struct iam_cond *cond_from_oam(const struct oam_cond *c)
{
    struct iam_cond *ic;

    if (c == NULL)
        return NULL;
    ic = xcalloc(1, sizeof(*ic));
    ic->title = xstrdup_or_null(c->title);
    ic->description = xstrdup_or_null(c->description);
    ic->expression = xstrdup_or_null(c->expression);
    return ic;
}

static void add_binding(struct desired *d, const struct origin *o, const char *role,
                        const struct oam_cond *cond, const char *member, struct oam_pos pos)
{
    struct desired_binding *b;

    XGROW(d->v, d->n + 1, d->cap);
    b = &d->v[d->n++];
    memset(b, 0, sizeof(*b));
    b->resource = xstrdup(o->resource);
    b->kind = o->kind;
    b->role = xstrdup(role);
    b->cond = cond_from_oam(cond);
    b->member = xstrdup(member);
    b->app = xstrdup(o->app->name);
    b->origin = xstrdup(o->path);
    b->comp_name = xstrdup(o->comp->name);
    b->comp_type = o->comp->type;
    b->trait_type = o->trait_type;
    b->pos = pos;
    b->gc = gc_strategy(o->app, o->comp, o->trait_type);
    b->take_over = flag_policy(o->app, OAM_POL_TAKE_OVER, o->comp, o->trait_type);
    b->read_only = flag_policy(o->app, OAM_POL_READ_ONLY, o->comp, o->trait_type);
    b->shared = flag_policy(o->app, OAM_POL_SHARED_RESOURCE, o->comp, o->trait_type);
    b->apply_once = flag_policy(o->app, OAM_POL_APPLY_ONCE, o->comp, o->trait_type);
}

static void add_members(struct desired *d, const struct origin *o, const char *role,
                        const struct oam_cond *cond, const struct oam_strs *members)
{
    for (size_t k = 0; k < members->n; k++) {
        struct oam_pos pos = members->pos != NULL ? members->pos[k] : o->comp->pos;

        add_binding(d, o, role, cond, members->v[k], pos);
    }
}

static void add_oam_bindings(struct desired *d, const struct origin *o, const struct oam_binding *v,
                             size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *role = v[i].role != NULL ? v[i].role : ROLE_INVOKER;

        add_members(d, o, role, v[i].cond, &v[i].members);
    }
}

/* projects/P/locations/R/services/NAME (or jobs/NAME); NULL after an error. */
static char *component_resource(const struct oam_app *app, const struct oam_component *c,
                                const struct oam_defaults *defs, struct err_list *errs)
{
    const char *project = oam_component_project(app, c, defs);
    const char *region = oam_component_region(app, c, defs);

    if (project == NULL || region == NULL) {
        err_list_add(errs, ERR_INVAL, c->pos.file, c->pos.line, c->pos.col, c->path,
                     "cannot tell the %s of component '%s': set properties.%s, the "
                     "roam.dev/%s annotation or --%s",
                     project == NULL ? "project" : "region", c->name,
                     project == NULL ? "project" : "region", project == NULL ? "project" : "region",
                     project == NULL ? "project" : "region");
        return NULL;
    }
    return xasprintf("projects/%s/locations/%s/%s/%s", project, region,
                     c->type == OAM_COMP_JOB ? "jobs" : "services", oam_component_resource(c));
}

/*
 * projects/P/serviceAccounts/EMAIL for NAME@P.iam.gserviceaccount.com (the
 * e-mail lower-cased: IAM compares it case-insensitively, resource names
 * compare exactly).  NULL when the project cannot be told from the e-mail.
 */
static char *sa_resource(const char *email)
{
    const char *at = strchr(email, '@');
    size_t len = strlen(email), suf = strlen(SA_DOMAIN_SUFFIX);
    char *low, *res, *project;

    if (at == NULL || at == email || len <= suf ||
        strcasecmp(email + len - suf, SA_DOMAIN_SUFFIX) != 0)
        return NULL;
    if ((size_t)(at - email) + 1 >= len - suf)
        return NULL;
    low = xstrdup(email);
    str_lower(low);
    project = xstrndup(low + (at - email) + 1, len - suf - (size_t)(at - email) - 1);
    if (strchr(project, '@') != NULL || strchr(project, '/') != NULL) {
        free(project);
        free(low);
        return NULL;
    }
    res = xasprintf("projects/%s/serviceAccounts/%s", project, low);
    free(project);
    free(low);
    return res;
}

static const char *component_identity(const struct oam_component *c)
{
    for (size_t i = 0; i < c->n_traits; i++)
        if (c->traits[i].type == OAM_TRAIT_SERVICE_IDENTITY)
            return c->traits[i].service_account;
    return NULL;
}

/* ---- per trait ---- */

static int compile_impersonation(struct desired *d, const struct origin *co,
                                 const struct oam_trait *t, struct err_list *errs)
{
    const char *sa = t->service_account != NULL ? t->service_account : component_identity(co->comp);
    struct origin o = *co;
    char *res;

    if (t->act_as.n == 0 && t->token_creators.n == 0)
        return 0;
    if (sa == NULL) {
        err_list_add(errs, ERR_INVAL, t->pos.file, t->pos.line, t->pos.col, t->path,
                     "impersonation on component '%s' names no serviceAccount and the "
                     "component has no service-identity trait",
                     co->comp->name);
        return ERR_INVAL;
    }
    res = sa_resource(sa);
    if (res == NULL) {
        err_list_add(errs, ERR_INVAL, t->pos.file, t->pos.line, t->pos.col, t->path,
                     "cannot tell the project of service account '%s' (expected "
                     "NAME@PROJECT.iam.gserviceaccount.com)",
                     sa);
        return ERR_INVAL;
    }
    o.resource = res;
    o.kind = RES_SERVICE_ACCOUNT;
    add_members(d, &o, ROLE_SA_USER, t->cond, &t->act_as);
    add_members(d, &o, ROLE_SA_TOKEN_CREATOR, t->cond, &t->token_creators);
    free(res);
    return 0;
}

static void add_identity(struct desired *d, const struct origin *o, const struct oam_trait *t)
{
    struct desired_identity *id;

    XGROW(d->ident, d->n_ident + 1, d->cap_ident);
    id = &d->ident[d->n_ident++];
    id->resource = xstrdup(o->resource);
    id->app = xstrdup(o->app->name);
    id->origin = xstrdup(o->path);
    id->service_account = xstrdup(t->service_account != NULL ? t->service_account : "");
    id->mode = t->mode;
}

static int compile_trait(struct desired *d, const struct origin *co, const struct oam_trait *t,
                         struct err_list *errs)
{
    struct origin o = *co;

    o.path = t->path;
    o.trait_type = (int)t->type;
    switch (t->type) {
    case OAM_TRAIT_INVOKER:
    case OAM_TRAIT_IAM_BINDINGS:
        add_oam_bindings(d, &o, t->bindings, t->n_bindings);
        return 0;
    case OAM_TRAIT_SERVICE_IDENTITY:
        add_identity(d, &o, t);
        return 0;
    case OAM_TRAIT_IMPERSONATION:
        return compile_impersonation(d, &o, t, errs);
    default:
        err_list_add(errs, ERR_UNSUPPORTED, t->pos.file, t->pos.line, t->pos.col, t->path,
                     "trait type %d is not supported", (int)t->type);
        return ERR_UNSUPPORTED;
    }
}

/* ---- policies ---- */

static bool names_scope(const struct oam_component *c, const char *policy)
{
    for (size_t i = 0; policy != NULL && i < c->scopes.n; i++)
        if (strcmp(c->scopes.v[i], policy) == 0)
            return true;
    return false;
}

static void compile_access_scope(struct desired *d, const struct oam_app *app,
                                 const struct oam_policy *pol, char *const *res,
                                 const enum res_kind *kinds)
{
    for (size_t i = 0; i < app->n_comps; i++) {
        const struct oam_component *c = &app->comps[i];
        struct origin o = {app, c, res[i], kinds[i], pol->path, -1};

        if (!oam_selector_match(&pol->selector, c, -1, false) && !names_scope(c, pol->name))
            continue;
        add_oam_bindings(d, &o, pol->bindings, pol->n_bindings);
    }
}

/* Authoritative rules select components (validation refuses traitTypes in
 * their selectors: a rule governs a whole resource, not a trait). */
static bool rule_selects(const struct oam_selector *sel, const struct oam_component *c)
{
    return oam_selector_match(sel, c, -1, true);
}

static void add_auth(struct desired *d, const char *app, const char *resource,
                     const struct oam_policy *pol, size_t rule_idx)
{
    const struct oam_rule *r = &pol->rules[rule_idx];
    struct desired_auth *a;

    XGROW(d->auth, d->n_auth + 1, d->cap_auth);
    a = &d->auth[d->n_auth++];
    memset(a, 0, sizeof(*a));
    a->resource = xstrdup(resource);
    a->app = xstrdup(app);
    a->origin = r->path != NULL ? xstrdup(r->path)
                                : xasprintf("%s.properties.rules[%zu]", pol->path, rule_idx);
    a->all_roles = !r->roles.present;
    if (r->roles.n > 0)
        a->roles = xreallocarray(NULL, r->roles.n, sizeof(*a->roles));
    for (size_t i = 0; i < r->roles.n; i++)
        a->roles[i] = xstrdup(r->roles.v[i]);
    a->n_roles = r->roles.n;
}

static void compile_authoritative(struct desired *d, const struct oam_app *app,
                                  const struct oam_policy *pol, char *const *res)
{
    for (size_t j = 0; j < pol->n_rules; j++) {
        const struct oam_rule *r = &pol->rules[j];

        /* `roles: []` governs no role at all. */
        if (r->roles.present && r->roles.n == 0)
            continue;
        for (size_t i = 0; i < app->n_comps; i++)
            if (rule_selects(&r->selector, &app->comps[i]))
                add_auth(d, app->name, res[i], pol, j);
    }
}

/* ---- de-duplication ---- */

static int dedup_cmp(const void *a, const void *b)
{
    const struct desired_binding *x = *(const struct desired_binding *const *)a;
    const struct desired_binding *y = *(const struct desired_binding *const *)b;
    int r;

    r = plan_key_cmp(x->resource, x->role, x->cond, x->member, y->resource, y->role, y->cond,
                     y->member);
    if (r != 0)
        return r;
    return (x > y) - (x < y);
}

/* Drops later duplicates among d->v[start..], keeping document order. */
static void dedup(struct desired *d, size_t start)
{
    size_t n = d->n - start, out = start;
    struct desired_binding **idx;
    bool *drop;

    if (n < 2)
        return;
    idx = xreallocarray(NULL, n, PLAN_PTR_SIZE);
    drop = xcalloc(n, sizeof(*drop));
    for (size_t i = 0; i < n; i++)
        idx[i] = &d->v[start + i];
    qsort(idx, n, PLAN_PTR_SIZE, dedup_cmp);
    for (size_t i = 1; i < n; i++)
        if (plan_key_cmp(idx[i - 1]->resource, idx[i - 1]->role, idx[i - 1]->cond,
                         idx[i - 1]->member, idx[i]->resource, idx[i]->role, idx[i]->cond,
                         idx[i]->member) == 0)
            drop[idx[i] - &d->v[start]] = true;
    free(idx);
    for (size_t i = start; i < d->n; i++) {
        if (drop[i - start])
            binding_release(&d->v[i]);
        else
            d->v[out++] = d->v[i];
    }
    d->n = out;
    free(drop);
}

/* ---- the app ---- */

static void free_resources(char **res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(res[i]);
    free(res);
}

static int compile_components(struct desired *d, const struct oam_app *app, char *const *res,
                              const enum res_kind *kinds, struct err_list *errs)
{
    int rc = 0;

    for (size_t i = 0; i < app->n_comps; i++) {
        const struct oam_component *c = &app->comps[i];
        struct origin o = {app, c, res[i], kinds[i], c->path, -1};

        for (size_t j = 0; j < c->n_traits; j++) {
            int r = compile_trait(d, &o, &c->traits[j], errs);

            if (r < 0)
                rc = r;
        }
    }
    return rc;
}

int desired_compile(struct desired *d, const struct oam_app *app, const struct oam_defaults *defs,
                    struct err_list *app_errs)
{
    size_t n0 = d->n, a0 = d->n_auth, i0 = d->n_ident;
    char **res;
    enum res_kind *kinds;
    int rc = 0;

    res = xcalloc(app->n_comps + 1, sizeof(*res));
    kinds = xcalloc(app->n_comps + 1, sizeof(*kinds));
    for (size_t i = 0; i < app->n_comps; i++) {
        res[i] = component_resource(app, &app->comps[i], defs, app_errs);
        kinds[i] = app->comps[i].type == OAM_COMP_JOB ? RES_JOB : RES_SERVICE;
        if (res[i] == NULL)
            rc = ERR_INVAL;
    }
    if (rc < 0)
        goto out_free_resources;
    rc = compile_components(d, app, res, kinds, app_errs);
    for (size_t k = 0; k < app->n_policies; k++) {
        const struct oam_policy *pol = &app->policies[k];

        if (pol->type == OAM_POL_ACCESS_SCOPE)
            compile_access_scope(d, app, pol, res, kinds);
        else if (pol->type == OAM_POL_AUTHORITATIVE)
            compile_authoritative(d, app, pol, res);
    }
    if (rc == 0) {
        dedup(d, n0);
        rc = (int)(d->n - n0);
    }
out_free_resources:
    if (rc < 0)
        desired_truncate(d, n0, a0, i0);
    free_resources(res, app->n_comps);
    free(kinds);
    return rc;
}
