/*
 * oam_types.c - the plain data of oam.h: enum spellings, lifecycle,
 * effective project/region/resource name and selector matching.
 *
 * The spellings live in one table per enum, used both ways, so that the
 * parser, the validator and the printer cannot disagree on a name.
 */
#include "oam.h"

#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "oam_int.h"

static const char *const comp_type_names[OAM_COMP_TYPE_MAX] = {
    [OAM_COMP_SERVICE] = "cloud-run-service",
    [OAM_COMP_JOB] = "cloud-run-job",
};

static const char *const trait_type_names[OAM_TRAIT_TYPE_MAX] = {
    [OAM_TRAIT_INVOKER] = "invoker",
    [OAM_TRAIT_IAM_BINDINGS] = "iam-bindings",
    [OAM_TRAIT_SERVICE_IDENTITY] = "service-identity",
    [OAM_TRAIT_IMPERSONATION] = "impersonation",
};

static const char *const policy_type_names[OAM_POL_TYPE_MAX] = {
    [OAM_POL_ACCESS_SCOPE] = "access-scope",
    [OAM_POL_NO_PUBLIC_ACCESS] = "no-public-access",
    [OAM_POL_ALLOWED_ROLES] = "allowed-roles",
    [OAM_POL_ALLOWED_MEMBERS] = "allowed-members",
    [OAM_POL_GARBAGE_COLLECT] = "garbage-collect",
    [OAM_POL_TAKE_OVER] = "take-over",
    [OAM_POL_READ_ONLY] = "read-only",
    [OAM_POL_SHARED_RESOURCE] = "shared-resource",
    [OAM_POL_APPLY_ONCE] = "apply-once",
    [OAM_POL_AUTHORITATIVE] = "authoritative-bindings",
};

static const char *const gc_strategy_names[OAM_GC_STRATEGY_MAX] = {
    [OAM_GC_ON_APP_UPDATE] = "onAppUpdate",
    [OAM_GC_ON_APP_DELETE] = "onAppDelete",
    [OAM_GC_NEVER] = "never",
};

static const char *const si_mode_names[OAM_SI_MODE_MAX] = {
    [OAM_SI_VERIFY] = "verify",
    [OAM_SI_ENFORCE] = "enforce",
};

/* Out-of-range values (a component whose type was not understood) print as
 * "unknown" rather than crash a printer. */
static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

static int from_name(const char *const *names, int n, const char *s)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *oam_comp_type_name(enum oam_comp_type t)
{
    return name_of(comp_type_names, OAM_COMP_TYPE_MAX, (int)t);
}

const char *oam_trait_type_name(enum oam_trait_type t)
{
    return name_of(trait_type_names, OAM_TRAIT_TYPE_MAX, (int)t);
}

const char *oam_policy_type_name(enum oam_policy_type t)
{
    return name_of(policy_type_names, OAM_POL_TYPE_MAX, (int)t);
}

const char *oam_gc_strategy_name(enum oam_gc_strategy s)
{
    return name_of(gc_strategy_names, OAM_GC_STRATEGY_MAX, (int)s);
}

const char *oam_si_mode_name(enum oam_si_mode m)
{
    return name_of(si_mode_names, OAM_SI_MODE_MAX, (int)m);
}

int oam_comp_type_from_name(const char *s)
{
    return from_name(comp_type_names, OAM_COMP_TYPE_MAX, s);
}

int oam_trait_type_from_name(const char *s)
{
    return from_name(trait_type_names, OAM_TRAIT_TYPE_MAX, s);
}

int oam_policy_type_from_name(const char *s)
{
    return from_name(policy_type_names, OAM_POL_TYPE_MAX, s);
}

int oam_gc_strategy_from_name(const char *s)
{
    return from_name(gc_strategy_names, OAM_GC_STRATEGY_MAX, s);
}

/* ---- lifecycle ---- */

void oam_strs_release(struct oam_strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s->pos);
    memset(s, 0, sizeof(*s));
}

void oam_strs_push(struct oam_strs *s, char *v, struct oam_pos pos)
{
    /* The arrays hold 4, 8, 16, ... entries: they are full when n is 0 or a
     * power of two of at least 4 (oam_strs keeps no capacity of its own). */
    if (s->n == 0 || (s->n >= 4 && (s->n & (s->n - 1)) == 0)) {
        size_t cap = s->n == 0 ? 4 : s->n * 2;
        s->v = xreallocarray(s->v, cap, sizeof(*s->v));
        s->pos = xreallocarray(s->pos, cap, sizeof(*s->pos));
    }
    s->v[s->n] = v;
    s->pos[s->n] = pos;
    s->n++;
}

bool oam_strs_has(const struct oam_strs *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return true;
    return false;
}

void oam_cond_free(struct oam_cond *c)
{
    if (c == NULL)
        return;
    free(c->title);
    free(c->description);
    free(c->expression);
    free(c->path);
    free(c);
}

void oam_binding_release(struct oam_binding *b)
{
    free(b->role);
    oam_strs_release(&b->members);
    oam_cond_free(b->cond);
    free(b->path);
    memset(b, 0, sizeof(*b));
}

void oam_trait_release(struct oam_trait *t)
{
    free(t->path);
    for (size_t i = 0; i < t->n_bindings; i++)
        oam_binding_release(&t->bindings[i]);
    free(t->bindings);
    free(t->service_account);
    oam_strs_release(&t->act_as);
    oam_strs_release(&t->token_creators);
    oam_cond_free(t->cond);
    memset(t, 0, sizeof(*t));
}

void oam_selector_release(struct oam_selector *s)
{
    oam_strs_release(&s->component_names);
    oam_strs_release(&s->component_types);
    oam_strs_release(&s->trait_types);
    memset(s, 0, sizeof(*s));
}

static void rule_release(struct oam_rule *r)
{
    oam_selector_release(&r->selector);
    oam_strs_release(&r->roles);
    free(r->path);
}

void oam_policy_release(struct oam_policy *p)
{
    free(p->name);
    free(p->path);
    oam_selector_release(&p->selector);
    for (size_t i = 0; i < p->n_bindings; i++)
        oam_binding_release(&p->bindings[i]);
    free(p->bindings);
    oam_strs_release(&p->roles);
    oam_strs_release(&p->domains);
    oam_strs_release(&p->sa_projects);
    oam_strs_release(&p->member_types);
    for (size_t i = 0; i < p->n_rules; i++)
        rule_release(&p->rules[i]);
    free(p->rules);
    memset(p, 0, sizeof(*p));
}

void oam_component_release(struct oam_component *c)
{
    free(c->name);
    free(c->path);
    free(c->project);
    free(c->region);
    free(c->resource_name);
    oam_strs_release(&c->scopes);
    oam_strs_release(&c->depends_on);
    for (size_t i = 0; i < c->n_traits; i++)
        oam_trait_release(&c->traits[i]);
    free(c->traits);
    memset(c, 0, sizeof(*c));
}

void oam_app_release(struct oam_app *app)
{
    if (app == NULL)
        return;
    free(app->name);
    free(app->project);
    free(app->region);
    for (size_t i = 0; i < app->n_comps; i++)
        oam_component_release(&app->comps[i]);
    free(app->comps);
    for (size_t i = 0; i < app->n_policies; i++)
        oam_policy_release(&app->policies[i]);
    free(app->policies);
    err_list_release(&app->errs);
    memset(app, 0, sizeof(*app));
}

void oam_docset_init(struct oam_docset *set)
{
    memset(set, 0, sizeof(*set));
    err_list_init(&set->errs);
    err_list_init(&set->notices);
}

void oam_docset_release(struct oam_docset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n_apps; i++)
        oam_app_release(&set->apps[i]);
    free(set->apps);
    for (size_t i = 0; i < set->n_files; i++)
        free(set->files[i]);
    free(set->files);
    err_list_release(&set->errs);
    err_list_release(&set->notices);
    oam_docset_init(set);
}

/* ---- effective values ---- */

const char *oam_component_project(const struct oam_app *app, const struct oam_component *c,
                                  const struct oam_defaults *defs)
{
    if (c->project != NULL)
        return c->project;
    if (app->project != NULL)
        return app->project;
    return defs != NULL ? defs->project : NULL;
}

const char *oam_component_region(const struct oam_app *app, const struct oam_component *c,
                                 const struct oam_defaults *defs)
{
    if (c->region != NULL)
        return c->region;
    if (app->region != NULL)
        return app->region;
    return defs != NULL ? defs->region : NULL;
}

const char *oam_component_resource(const struct oam_component *c)
{
    return c->resource_name != NULL ? c->resource_name : c->name;
}

/* ---- selectors ---- */

bool oam_selector_match(const struct oam_selector *sel, const struct oam_component *c,
                        int trait_type, bool empty_matches_all)
{
    if (sel == NULL || !sel->present ||
        (!sel->component_names.present && !sel->component_types.present &&
         !sel->trait_types.present))
        return empty_matches_all;
    if (sel->component_names.present &&
        (c->name == NULL || !oam_strs_has(&sel->component_names, c->name)))
        return false;
    if (sel->component_types.present &&
        !oam_strs_has(&sel->component_types, oam_comp_type_name(c->type)))
        return false;
    if (sel->trait_types.present) {
        /* A binding from a policy (trait_type -1) came from no trait. */
        if (trait_type < 0 ||
            !oam_strs_has(&sel->trait_types, oam_trait_type_name((enum oam_trait_type)trait_type)))
            return false;
    }
    return true;
}
