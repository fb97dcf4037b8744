/*
 * guard.c - the two safety nets around the diff.
 *
 * guard_guardrails() runs before the diff, on what an app declares: the
 * app's own no-public-access / allowed-roles / allowed-members policies and
 * the platform ones from the config all apply (an app can only tighten).  It
 * walks the app's declarations rather than the compiled bindings so that a
 * member declared in several places is reported at each place, with the path
 * of the member itself (`...properties.members[1]`) and its position; an
 * access-scope policy is checked when it grants something to at least one
 * component (it then appears in the desired state).
 *
 * guard_plan() runs after the diff, on what a plan would remove (DESIGN.md
 * §2 "Safety", rule 9): protected members are never removed (their removals
 * are dropped with a note), and an app whose removals pass --max-removals,
 * take roam's own identity off a resource or empty an authoritative role is
 * refused as a whole unless --allow-mass-removal: its changes leave the plan
 * and its ledger record goes back to what it was.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "plan_int.h"

#define DEFAULT_MAX_REMOVALS 50
#define ROLE_SA_USER "roles/iam.serviceAccountUser"
#define ROLE_SA_TOKEN_CREATOR "roles/iam.serviceAccountTokenCreator"

void guard_opts_init(struct guard_opts *o)
{
    o->max_removals = -1;
    o->allow_mass_removal = false;
    o->config = NULL;
}

/* ---- guardrails ---- */

/* One guardrail with how to name it in messages. */
struct rail {
    const struct oam_policy *pol;
    bool platform;
};

struct gctx {
    struct rail *rails;
    size_t n_rails;
    struct err_list *errs;
    int count;
};

static bool is_rail(enum oam_policy_type t)
{
    return t == OAM_POL_NO_PUBLIC_ACCESS || t == OAM_POL_ALLOWED_ROLES ||
           t == OAM_POL_ALLOWED_MEMBERS;
}

static void collect_rails(const struct oam_app *app, const struct oam_config *config,
                          struct gctx *g)
{
    size_t max = app->n_policies + (config != NULL ? config->n_guardrails : 0);

    g->rails = xcalloc(max + 1, sizeof(*g->rails));
    g->n_rails = 0;
    for (size_t i = 0; config != NULL && i < config->n_guardrails; i++)
        if (is_rail(config->guardrails[i].type))
            g->rails[g->n_rails++] = (struct rail){&config->guardrails[i], true};
    for (size_t i = 0; i < app->n_policies; i++)
        if (is_rail(app->policies[i].type))
            g->rails[g->n_rails++] = (struct rail){&app->policies[i], false};
}

static char *rail_label(const struct rail *r)
{
    const char *name = r->pol->name != NULL ? r->pol->name : oam_policy_type_name(r->pol->type);

    return xasprintf(r->platform ? "platform guardrail '%s'" : "policy '%s'", name);
}

static bool strs_has_ci(const struct oam_strs *s, const char *v)
{
    for (size_t i = 0; v != NULL && i < s->n; i++)
        if (str_eq_ci(s->v[i], v))
            return true;
    return false;
}

static bool strs_has(const struct oam_strs *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return true;
    return false;
}

/* NULL when allowed-members admits the member, else why not (caller frees).
 * An absent list admits nothing of its kind. */
static char *members_why(const struct oam_policy *pol, const char *member)
{
    struct iam_member m;
    const char *why = NULL, *type;
    char *val = NULL, *ret = NULL;

    if (iam_member_parse(member, &m, &why) < 0)
        return xasprintf("not a valid member: %s", why != NULL ? why : "unknown form");
    switch (m.kind) {
    case IAM_MEMBER_USER:
    case IAM_MEMBER_GROUP:
    case IAM_MEMBER_DOMAIN:
        val = m.kind == IAM_MEMBER_DOMAIN ? xstrndup(m.value, m.value_len)
                                          : iam_member_email_domain(member);
        if (!strs_has_ci(&pol->domains, val))
            ret = xasprintf("domain '%s' not in domains", val != NULL ? val : "");
        break;
    case IAM_MEMBER_SERVICE_ACCOUNT:
        val = iam_member_sa_project(member);
        if (val == NULL)
            ret = xasprintf("cannot tell the project of service account '%.*s'", (int)m.value_len,
                            m.value);
        else if (!strs_has_ci(&pol->sa_projects, val))
            ret = xasprintf("project '%s' not in serviceAccountProjects", val);
        break;
    case IAM_MEMBER_PRINCIPAL:
    case IAM_MEMBER_PRINCIPAL_SET:
        type = m.kind == IAM_MEMBER_PRINCIPAL ? "principal" : "principalSet";
        if (!strs_has(&pol->member_types, type))
            ret = xasprintf("member type '%s' not in memberTypes", type);
        break;
    default:
        ret = xstrdup("public members are never allowed");
        break;
    }
    free(val);
    return ret;
}

static bool is_public(const char *member)
{
    struct iam_member m;
    const char *why;

    if (iam_member_parse(member, &m, &why) < 0)
        return false;
    return m.kind == IAM_MEMBER_ALL_USERS || m.kind == IAM_MEMBER_ALL_AUTHENTICATED_USERS;
}

static void violation(struct gctx *g, const struct rail *r, const char *what, const char *value,
                      const char *why, const char *path, const struct oam_pos *pos)
{
    char *label = rail_label(r);

    err_list_add(g->errs, ERR_REJECTED, pos->file, pos->line, pos->col, path,
                 "%s '%s' is not allowed by %s (%s)", what, value, label, why);
    free(label);
    g->count++;
}

static void check_member(struct gctx *g, const char *member, const char *path,
                         const struct oam_pos *pos)
{
    for (size_t i = 0; i < g->n_rails; i++) {
        const struct rail *r = &g->rails[i];
        char *why;

        if (r->pol->type == OAM_POL_NO_PUBLIC_ACCESS && is_public(member)) {
            violation(g, r, "member", member, "public access", path, pos);
        } else if (r->pol->type == OAM_POL_ALLOWED_MEMBERS) {
            why = members_why(r->pol, member);
            if (why != NULL)
                violation(g, r, "member", member, why, path, pos);
            free(why);
        }
    }
}

static void check_role(struct gctx *g, const char *role, const char *path,
                       const struct oam_pos *pos)
{
    for (size_t i = 0; i < g->n_rails; i++)
        if (g->rails[i].pol->type == OAM_POL_ALLOWED_ROLES &&
            !strs_has(&g->rails[i].pol->roles, role))
            violation(g, &g->rails[i], "role", role, "not in roles", path, pos);
}

/* A list of members under one role: the role once, each member at its
 * own path (base[k]). */
static void check_list(struct gctx *g, const char *role, const char *role_path,
                       const struct oam_pos *role_pos, const struct oam_strs *members,
                       const char *base)
{
    if (members->n == 0)
        return;
    check_role(g, role, role_path, role_pos);
    for (size_t k = 0; k < members->n; k++) {
        char *path = xasprintf("%s[%zu]", base, k);
        const struct oam_pos *pos = members->pos != NULL ? &members->pos[k] : role_pos;

        check_member(g, members->v[k], path, pos);
        free(path);
    }
}

static void check_bindings(struct gctx *g, const struct oam_binding *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *role = v[i].role != NULL ? v[i].role : "roles/run.invoker";
        char *role_path = xasprintf("%s.role", v[i].path != NULL ? v[i].path : "");
        char *base = xasprintf("%s.members", v[i].path != NULL ? v[i].path : "");

        check_list(g, role, role_path, &v[i].pos, &v[i].members, base);
        free(base);
        free(role_path);
    }
}

static void check_impersonation(struct gctx *g, const struct oam_trait *t)
{
    char *act = xasprintf("%s.properties.actAs", t->path);
    char *tok = xasprintf("%s.properties.tokenCreators", t->path);

    check_list(g, ROLE_SA_USER, act, &t->pos, &t->act_as, act);
    check_list(g, ROLE_SA_TOKEN_CREATOR, tok, &t->pos, &t->token_creators, tok);
    free(tok);
    free(act);
}

/* Does the access-scope policy grant anything (is it in the desired state)? */
static bool scope_applies(const struct desired *d, const struct oam_app *app,
                          const struct oam_policy *pol)
{
    if (d == NULL)
        return true;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].app, app->name) == 0 && d->v[i].trait_type < 0 &&
            str_eq0(d->v[i].origin, pol->path))
            return true;
    return false;
}

int guard_guardrails(const struct oam_app *app, const struct desired *d,
                     const struct oam_config *config, struct err_list *errs)
{
    struct gctx g = {NULL, 0, errs, 0};

    collect_rails(app, config, &g);
    if (g.n_rails == 0)
        goto out_free_rails;
    for (size_t i = 0; i < app->n_comps; i++) {
        const struct oam_component *c = &app->comps[i];

        for (size_t j = 0; j < c->n_traits; j++) {
            const struct oam_trait *t = &c->traits[j];

            if (t->type == OAM_TRAIT_IMPERSONATION)
                check_impersonation(&g, t);
            else
                check_bindings(&g, t->bindings, t->n_bindings);
        }
    }
    for (size_t k = 0; k < app->n_policies; k++) {
        const struct oam_policy *pol = &app->policies[k];

        if (pol->type == OAM_POL_ACCESS_SCOPE && scope_applies(d, app, pol))
            check_bindings(&g, pol->bindings, pol->n_bindings);
    }
out_free_rails:
    free(g.rails);
    return g.count;
}

/* ---- the plan ---- */

static long long removal_limit(const struct guard_opts *o)
{
    if (o->max_removals >= 0)
        return o->max_removals;
    if (o->config != NULL && o->config->max_removals >= 0)
        return o->config->max_removals;
    return DEFAULT_MAX_REMOVALS;
}

/* Removals of protected members leave the plan, always. */
static void drop_protected(struct plan *p, const struct oam_config *config)
{
    size_t out = 0;

    for (size_t i = 0; i < p->n_changes; i++) {
        struct plan_change *c = &p->changes[i];

        if (config != NULL && c->action == PLAN_REMOVE &&
            plan_member_in(&config->protect, c->member)) {
            plan_add_note(p, c->app, c->resource, c->origin,
                          "kept protected member %s in %s: protected members are never removed",
                          c->member, c->role);
            plan_change_release(c);
            continue;
        }
        p->changes[out++] = *c;
    }
    p->n_changes = out;
}

static const struct iam_policy *live_of(const struct iam_live *live, const char *resource)
{
    long i = live != NULL ? iam_live_find(live, resource) : -1;

    if (i < 0 || (live->missing != NULL && live->missing[i]))
        return NULL;
    return &live->policies[i];
}

static bool same_binding(const struct plan_change *a, const struct plan_change *b)
{
    return strcmp(a->resource, b->resource) == 0 && strcmp(a->role, b->role) == 0 &&
           iam_cond_eq(a->cond, b->cond);
}

static bool plan_removes(const struct plan *p, const struct plan_change *k, const char *member)
{
    for (size_t i = 0; i < p->n_changes; i++)
        if (p->changes[i].action == PLAN_REMOVE && same_binding(&p->changes[i], k) &&
            iam_member_eq(p->changes[i].member, member))
            return true;
    return false;
}

static bool plan_adds(const struct plan *p, const struct plan_change *k)
{
    for (size_t i = 0; i < p->n_changes; i++)
        if (p->changes[i].action == PLAN_ADD && same_binding(&p->changes[i], k))
            return true;
    return false;
}

/* Members of (role, cond) live that are not `deleted:` (held) and that
 * stay after the plan (left). */
static void binding_after(const struct plan *p, const struct iam_policy *pol,
                          const struct plan_change *k, size_t *held, size_t *left)
{
    *held = 0;
    *left = plan_adds(p, k) ? 1 : 0;
    for (size_t i = 0; i < pol->n_bindings; i++) {
        const struct iam_binding *b = &pol->bindings[i];

        if (b->role == NULL || strcmp(b->role, k->role) != 0 || !iam_cond_eq(b->cond, k->cond))
            continue;
        for (size_t m = 0; m < b->n_members; m++) {
            if (!str_has_prefix(b->members[m], "deleted:"))
                (*held)++;
            if (!plan_removes(p, k, b->members[m]))
                (*left)++;
        }
    }
}

static void refuse(struct plan_app *a, const char *path, const char *msg)
{
    err_list_add(&a->errs, ERR_REFUSED, NULL, 0, 0, path,
                 "%s; pass --allow-mass-removal to proceed", msg);
}

static void check_emptying(const struct plan *p, struct plan_app *a, const struct iam_live *live,
                           size_t i, bool *refused)
{
    const struct plan_change *c = &p->changes[i];
    const struct iam_policy *pol = live_of(live, c->resource);
    size_t held, left;
    char *cond, *msg;

    /* Once per binding: changes are sorted, so an earlier authoritative
     * removal by the same app of the same binding already checked it. */
    for (size_t j = i; j-- > 0 && same_binding(&p->changes[j], c);)
        if (p->changes[j].reason == PLAN_AUTHORITATIVE && str_eq0(p->changes[j].app, a->name))
            return;
    if (pol == NULL)
        return;
    binding_after(p, pol, c, &held, &left);
    if (left > 0 || held == 0)
        return;
    cond = plan_cond_label(c->cond);
    msg = xasprintf("refusing to empty authoritative role %s%s on %s (it holds %zu member%s)",
                    c->role, cond, c->resource, held, held == 1 ? "" : "s");
    refuse(a, c->resource, msg);
    *refused = true;
    free(msg);
    free(cond);
}

static bool check_app(const struct plan *p, struct plan_app *a, const struct iam_live *live,
                      const struct guard_opts *o)
{
    const struct oam_config *config = o->config;
    long long limit = removal_limit(o);
    bool refused = false;
    char *msg;

    if (o->allow_mass_removal || a->removes == 0)
        return false;
    if ((long long)a->removes > limit) {
        msg = xasprintf("refusing to remove %zu bindings (limit %lld)", a->removes, limit);
        refuse(a, NULL, msg);
        free(msg);
        refused = true;
    }
    for (size_t i = 0; i < p->n_changes; i++) {
        const struct plan_change *c = &p->changes[i];

        if (c->action != PLAN_REMOVE || !str_eq0(c->app, a->name))
            continue;
        if (config != NULL && plan_member_in(&config->identity, c->member)) {
            msg = xasprintf("refusing to remove roam's own identity '%s' (%s) from %s", c->member,
                            c->role, c->resource);
            refuse(a, c->resource, msg);
            free(msg);
            refused = true;
        }
        if (c->reason == PLAN_AUTHORITATIVE)
            check_emptying(p, a, live, i, &refused);
    }
    return refused;
}

static void drop_changes_of(struct plan *p, const char *app)
{
    size_t out = 0;

    for (size_t i = 0; i < p->n_changes; i++) {
        if (str_eq0(p->changes[i].app, app))
            plan_change_release(&p->changes[i]);
        else
            p->changes[out++] = p->changes[i];
    }
    p->n_changes = out;
}

static void revert_record(struct plan *p, const struct ledger *before, const char *app)
{
    const struct ledger_app *was = ledger_find_app(before, app);

    if (was != NULL)
        ledger_put_app(&p->ledger, was);
    else
        ledger_remove_app(&p->ledger, app);
}

void guard_plan(struct plan *p, const struct ledger *before, const struct iam_live *live,
                const struct guard_opts *opts)
{
    struct guard_opts dflt;
    bool *failed;

    if (opts == NULL) {
        guard_opts_init(&dflt);
        opts = &dflt;
    }
    drop_protected(p, opts->config);
    plan_recount(p);
    failed = xcalloc(p->n_apps + 1, sizeof(*failed));
    for (size_t i = 0; i < p->n_apps; i++)
        if (p->apps[i].status != PLAN_APP_REJECTED)
            failed[i] = check_app(p, &p->apps[i], live, opts);
    for (size_t i = 0; i < p->n_apps; i++) {
        if (!failed[i])
            continue;
        p->apps[i].status = PLAN_APP_FAILED;
        drop_changes_of(p, p->apps[i].name);
        revert_record(p, before, p->apps[i].name);
    }
    free(failed);
    plan_sort(p);
    plan_recount(p);
}
