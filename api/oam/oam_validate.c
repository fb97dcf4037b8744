/*
 * oam_validate.c - semantic checks of decoded apps (a pass of its own).
 *
 * The decoder has already reported what is wrong with the YAML shape; this
 * pass looks at what the fields mean together: member and role syntax,
 * traits on a component type they do not apply to, two traits of one type,
 * conditions where the resource takes none, names that must resolve
 * (selectors, scopes, dependsOn), dependency cycles, project and region
 * resolution.  Every problem is appended to app->errs; nothing stops early.
 * The structs may be half-filled (a rejected decode), so every pointer is
 * checked before use.
 */
#include "oam.h"

#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/caps.h"
#include "../common/xalloc.h"
#include "oam_int.h"

/* Which trait applies to which component type.  Every trait applies to both
 * today (conditions are checked separately); a service-only trait such as
 * the planned iap-access gets `false` for jobs here. */
static const bool trait_applies[OAM_TRAIT_TYPE_MAX][OAM_COMP_TYPE_MAX] = {
    [OAM_TRAIT_INVOKER] = {true, true},
    [OAM_TRAIT_IAM_BINDINGS] = {true, true},
    [OAM_TRAIT_SERVICE_IDENTITY] = {true, true},
    [OAM_TRAIT_IMPERSONATION] = {true, true},
};

static long find_comp(const struct oam_app *app, const char *name)
{
    for (size_t i = 0; i < app->n_comps; i++)
        if (app->comps[i].name != NULL && strcmp(app->comps[i].name, name) == 0)
            return (long)i;
    return -1;
}

static const struct oam_policy *find_policy(const struct oam_app *app, const char *name)
{
    for (size_t i = 0; i < app->n_policies; i++)
        if (app->policies[i].name != NULL && strcmp(app->policies[i].name, name) == 0)
            return &app->policies[i];
    return NULL;
}

/* Reports "<before>'<value>'<after>" at list_path[i]. */
static void err_value(struct err_list *errs, const struct oam_pos *pos, const char *list_path,
                      size_t i, const char *before, const char *value, const char *after)
{
    char *p = oam_path_idx(list_path, i), *c = oam_clip(value);

    oam_pos_err(errs, ERR_INVAL, pos, p, "%s'%s'%s", before, c, after);
    free(c);
    free(p);
}

/* ---- bindings ---- */

static void check_binding(struct err_list *errs, const struct oam_binding *b,
                          enum oam_comp_type comp_type)
{
    char *p;

    if (b->role != NULL) {
        p = oam_path_key(b->path, "role");
        oam_check_role(errs, &b->role_pos, p, b->role);
        free(p);
    }
    p = oam_path_key(b->path, "members");
    oam_check_members(errs, &b->members, p);
    free(p);
    if (b->cond != NULL && comp_type == OAM_COMP_JOB)
        oam_pos_err(errs, ERR_INVAL, &b->cond->pos, b->cond->path,
                    "conditions are not supported on cloud-run-job (only on cloud-run-service "
                    "and on service accounts)");
}

static bool has_trait(const struct oam_component *c, enum oam_trait_type t)
{
    for (size_t i = 0; i < c->n_traits; i++)
        if (c->traits[i].type == t)
            return true;
    return false;
}

static void check_impersonation(struct err_list *errs, const struct oam_component *c,
                                const struct oam_trait *t)
{
    char *props = oam_path_key(t->path, "properties"), *p;

    if (t->act_as.n == 0 && t->token_creators.n == 0)
        oam_pos_err(errs, ERR_INVAL, &t->pos, props,
                    "impersonation grants nothing: set actAs or tokenCreators");
    if (t->service_account == NULL && !has_trait(c, OAM_TRAIT_SERVICE_IDENTITY))
        oam_pos_err(errs, ERR_INVAL, &t->pos, props,
                    "no serviceAccount, and the component has no service-identity trait");
    p = oam_path_key(props, "actAs");
    oam_check_members(errs, &t->act_as, p);
    free(p);
    p = oam_path_key(props, "tokenCreators");
    oam_check_members(errs, &t->token_creators, p);
    free(p);
    free(props);
}

static void check_traits(struct err_list *errs, const struct oam_component *c)
{
    for (size_t i = 0; i < c->n_traits; i++) {
        const struct oam_trait *t = &c->traits[i];
        const char *name = oam_trait_type_name(t->type);

        if (!trait_applies[t->type][c->type])
            oam_pos_err(errs, ERR_INVAL, &t->pos, t->path, "trait '%s' does not apply to %s", name,
                        oam_comp_type_name(c->type));
        for (size_t j = 0; j < i; j++) {
            if (c->traits[j].type == t->type) {
                oam_pos_err(errs, ERR_INVAL, &t->pos, t->path, "duplicate trait '%s' (also at %s)",
                            name, c->traits[j].path);
                break;
            }
        }
        for (size_t j = 0; j < t->n_bindings; j++)
            check_binding(errs, &t->bindings[j], c->type);
        if (t->type == OAM_TRAIT_IMPERSONATION)
            check_impersonation(errs, c, t);
    }
}

/* ---- components ---- */

/* Document values were checked by the decoder; a value from --project or
 * --region is checked here, at the component that takes it. */
static void check_one_location(struct oam_app *app, const struct oam_component *c,
                               const char *value, bool from_flag, bool (*ok)(const char *),
                               const char *what)
{
    if (value == NULL)
        oam_pos_err(&app->errs, ERR_INVAL, &c->pos, c->path,
                    "no %s: set properties.%s, the roam.dev/%s annotation or --%s", what, what,
                    what, what);
    else if (from_flag && !ok(value))
        oam_pos_err(&app->errs, ERR_INVAL, &c->pos, c->path, "invalid %s '%s' (from --%s)", what,
                    value, what);
}

static void check_location(struct oam_app *app, const struct oam_component *c,
                           const struct oam_defaults *defs)
{
    check_one_location(app, c, oam_component_project(app, c, defs),
                       c->project == NULL && app->project == NULL, oam_project_ok, "project");
    check_one_location(app, c, oam_component_region(app, c, defs),
                       c->region == NULL && app->region == NULL, oam_region_ok, "region");
}

static void check_scopes(struct oam_app *app, const struct oam_component *c)
{
    char *path = oam_path_key(c->path, "scopes"), *list = oam_path_key(path, "access-scope");

    for (size_t i = 0; i < c->scopes.n; i++) {
        const struct oam_policy *p = find_policy(app, c->scopes.v[i]);
        if (p == NULL)
            err_value(&app->errs, &c->scopes.pos[i], list, i, "no policy named ", c->scopes.v[i],
                      "");
        else if (p->type != OAM_POL_ACCESS_SCOPE)
            err_value(&app->errs, &c->scopes.pos[i], list, i, "policy ", c->scopes.v[i],
                      " is not an access-scope policy");
    }
    free(list);
    free(path);
}

static void check_component(struct oam_app *app, size_t idx, const struct oam_defaults *defs)
{
    const struct oam_component *c = &app->comps[idx];

    if (c->name != NULL) {
        long first = find_comp(app, c->name);
        if (first >= 0 && (size_t)first != idx)
            oam_pos_err(&app->errs, ERR_INVAL, &c->pos, c->path,
                        "duplicate component name '%s' (also %s)", c->name, app->comps[first].path);
    }
    check_scopes(app, c);
    /* The rest depends on the type, which was reported if unknown. */
    if (c->type >= OAM_COMP_TYPE_MAX)
        return;
    check_location(app, c, defs);
    check_traits(&app->errs, c);
}

/* ---- dependsOn ---- */

struct dep_walk {
    struct oam_app *app;
    unsigned char *state; /* 0 unvisited, 1 on the stack, 2 done */
    size_t *stack;
    size_t depth;
};

/* Names on a cycle shown in full; a longer cycle shows its ends. */
#define CYCLE_SHOWN 8u

static void report_cycle(struct dep_walk *w, size_t from, size_t dep, size_t to)
{
    const struct oam_component *c = &w->app->comps[from];
    char *deps = oam_path_key(c->path, "dependsOn");
    char *p = oam_path_idx(deps, dep);
    size_t start = 0, len;
    struct buf b;

    while (w->stack[start] != to)
        start++;
    len = w->depth - start;
    buf_init(&b, (size_t)CAP_NAME_BYTES * (CYCLE_SHOWN + 2));
    for (size_t i = start; i < w->depth; i++) {
        size_t k = i - start;
        if (len > CYCLE_SHOWN && k == CYCLE_SHOWN / 2)
            buf_puts(&b, "... -> ");
        if (len > CYCLE_SHOWN && k >= CYCLE_SHOWN / 2 && k < len - CYCLE_SHOWN / 2)
            continue;
        buf_printf(&b, "%s -> ", w->app->comps[w->stack[i]].name);
    }
    oam_pos_err(&w->app->errs, ERR_INVAL, &c->depends_on.pos[dep], p, "dependency cycle: %s%s",
                buf_str(&b), w->app->comps[to].name);
    buf_release(&b);
    free(p);
    free(deps);
}

/* Depth-first; an edge back onto the stack closes a cycle.  One cycle is
 * reported per component, so that a dense graph does not list them all. */
static void dep_visit(struct dep_walk *w, size_t i)
{
    const struct oam_component *c = &w->app->comps[i];
    bool reported = false;

    w->state[i] = 1;
    w->stack[w->depth++] = i;
    for (size_t j = 0; j < c->depends_on.n; j++) {
        long k = find_comp(w->app, c->depends_on.v[j]);
        if (k < 0 || (size_t)k == i)
            continue; /* reported by check_depends */
        if (w->state[k] == 1 && !reported) {
            report_cycle(w, i, j, (size_t)k);
            reported = true;
        } else if (w->state[k] == 0) {
            dep_visit(w, (size_t)k);
        }
    }
    w->depth--;
    w->state[i] = 2;
}

static void check_depends(struct oam_app *app)
{
    struct dep_walk w = {app, NULL, NULL, 0};

    for (size_t i = 0; i < app->n_comps; i++) {
        const struct oam_component *c = &app->comps[i];
        char *deps = oam_path_key(c->path, "dependsOn");
        for (size_t j = 0; j < c->depends_on.n; j++) {
            long k = find_comp(app, c->depends_on.v[j]);
            if (k < 0)
                err_value(&app->errs, &c->depends_on.pos[j], deps, j, "no component named ",
                          c->depends_on.v[j], "");
            else if ((size_t)k == i)
                err_value(&app->errs, &c->depends_on.pos[j], deps, j, "", c->depends_on.v[j],
                          " cannot depend on itself");
        }
        free(deps);
    }
    w.state = xcalloc(app->n_comps + 1, 1);
    w.stack = xcalloc(app->n_comps + 1, sizeof(*w.stack));
    /* Components of one name share the first one's index: unique names only
     * (duplicates are reported) walk well. */
    for (size_t i = 0; i < app->n_comps; i++)
        if (w.state[i] == 0 && app->comps[i].name != NULL &&
            find_comp(app, app->comps[i].name) == (long)i)
            dep_visit(&w, i);
    free(w.stack);
    free(w.state);
}

/* ---- policies ---- */

static void check_selector(struct oam_app *app, const struct oam_selector *s, const char *path)
{
    char *p;

    if (!s->present)
        return;
    p = oam_path_key(path, "componentNames");
    for (size_t i = 0; i < s->component_names.n; i++)
        if (find_comp(app, s->component_names.v[i]) < 0)
            err_value(&app->errs, &s->component_names.pos[i], p, i, "no component named ",
                      s->component_names.v[i], " in this application");
    free(p);
    p = oam_path_key(path, "componentTypes");
    for (size_t i = 0; i < s->component_types.n; i++)
        if (oam_comp_type_from_name(s->component_types.v[i]) < 0)
            err_value(&app->errs, &s->component_types.pos[i], p, i, "unknown component type ",
                      s->component_types.v[i], "");
    free(p);
    p = oam_path_key(path, "traitTypes");
    for (size_t i = 0; i < s->trait_types.n; i++)
        if (oam_trait_type_from_name(s->trait_types.v[i]) < 0)
            err_value(&app->errs, &s->trait_types.pos[i], p, i, "unknown trait type ",
                      s->trait_types.v[i], "");
    free(p);
}

static void check_rules(struct oam_app *app, const struct oam_policy *pol)
{
    for (size_t i = 0; i < pol->n_rules; i++) {
        const struct oam_rule *r = &pol->rules[i];
        char *p = oam_path_key(r->path, "selector");
        check_selector(app, &r->selector, p);
        free(p);
        p = oam_path_key(r->path, "roles");
        oam_check_roles(&app->errs, &r->roles, p);
        free(p);
    }
}

static void check_policy(struct oam_app *app, size_t idx)
{
    const struct oam_policy *pol = &app->policies[idx];
    char *props = oam_path_key(pol->path, "properties"), *p;

    if (pol->name != NULL && find_policy(app, pol->name) != pol)
        oam_pos_err(&app->errs, ERR_INVAL, &pol->pos, pol->path,
                    "duplicate policy name '%s' (also %s)", pol->name,
                    find_policy(app, pol->name)->path);
    p = oam_path_key(props, "selector");
    check_selector(app, &pol->selector, p);
    free(p);
    for (size_t i = 0; i < pol->n_bindings; i++)
        check_binding(&app->errs, &pol->bindings[i], OAM_COMP_SERVICE);
    p = oam_path_key(props, "roles");
    oam_check_roles(&app->errs, &pol->roles, p);
    free(p);
    oam_check_allowed_members(&app->errs, pol, props);
    check_rules(app, pol);
    free(props);
}

int oam_validate(struct oam_app *app, const struct oam_defaults *defs)
{
    for (size_t i = 0; i < app->n_comps; i++)
        check_component(app, i, defs);
    check_depends(app);
    for (size_t i = 0; i < app->n_policies; i++)
        check_policy(app, i);
    return (int)app->errs.n;
}

/* ---- across apps ---- */

static int app_cmp(const void *a, const void *b)
{
    const struct oam_app *x = *(const struct oam_app *const *)a;
    const struct oam_app *y = *(const struct oam_app *const *)b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    return x < y ? -1 : x > y;
}

static void report_same_name(struct oam_app **v, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct oam_app *other = v[i == from ? from + 1 : from];
        err_list_add(&v[i]->errs, ERR_CONFLICT, v[i]->pos.file, v[i]->pos.line, v[i]->pos.col,
                     "metadata.name", "application name '%s' is also used at %s:%u:%u", v[i]->name,
                     other->pos.file != NULL ? other->pos.file : "-", other->pos.line,
                     other->pos.col);
    }
}

int oam_validate_set(struct oam_docset *set, const struct oam_defaults *defs)
{
    struct oam_app **v;
    size_t n = 0;
    int rejected = 0;

    if (set->validated) {
        for (size_t i = 0; i < set->n_apps; i++)
            rejected += set->apps[i].errs.n > 0;
        return rejected;
    }
    set->validated = true;
    v = xcalloc(set->n_apps + 1, sizeof(struct oam_app *));
    for (size_t i = 0; i < set->n_apps; i++) {
        oam_validate(&set->apps[i], defs);
        if (set->apps[i].name != NULL)
            v[n++] = &set->apps[i];
    }
    qsort(v, n, sizeof(struct oam_app *), app_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(v[j]->name, v[i]->name) == 0)
            j++;
        if (j - i > 1)
            report_same_name(v, i, j);
        i = j;
    }
    free(v);
    for (size_t i = 0; i < set->n_apps; i++)
        if (set->apps[i].errs.n > 0)
            rejected++;
    return rejected;
}
