/*
 * plan.c - the plan as data: lifecycle, names, ordering, counts, the list of
 * resources a pass must read, and applying a resource's changes to a policy.
 *
 * Changes, notes and pending resources are appended in whatever order the
 * diff and the guard produce them and sorted once (plan_sort), so that the
 * rendering is deterministic without every producer having to care.  The
 * per-app list is kept sorted on insertion instead: it is short and looked
 * up often.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "plan_int.h"

const char *res_kind_name(enum res_kind k)
{
    switch (k) {
    case RES_SERVICE:
        return "service";
    case RES_JOB:
        return "job";
    case RES_SERVICE_ACCOUNT:
        return "serviceAccount";
    default:
        return "unknown";
    }
}

/* Counts '/'-separated segments, refusing empty ones. */
static size_t segments(const char *s, const char **seg, size_t max)
{
    size_t n = 0;
    const char *p = s;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (len == 0 || n == max)
            return 0;
        seg[n++] = p;
        if (slash == NULL)
            return n;
        p = slash + 1;
    }
}

static bool seg_is(const char *seg, const char *word)
{
    size_t n = strlen(word);

    return strncmp(seg, word, n) == 0 && (seg[n] == '/' || seg[n] == '\0');
}

int res_kind_of(const char *resource)
{
    const char *seg[8];
    size_t n;

    if (resource == NULL)
        return -1;
    n = segments(resource, seg, 8);
    if (n == 4 && seg_is(seg[0], "projects") && seg_is(seg[2], "serviceAccounts"))
        return RES_SERVICE_ACCOUNT;
    if (n != 6 || !seg_is(seg[0], "projects") || !seg_is(seg[2], "locations"))
        return -1;
    if (seg_is(seg[4], "services"))
        return RES_SERVICE;
    if (seg_is(seg[4], "jobs"))
        return RES_JOB;
    return -1;
}

const char *plan_action_name(enum plan_action a)
{
    return a == PLAN_ADD ? "add" : a == PLAN_REMOVE ? "remove" : "unknown";
}

const char *plan_reason_name(enum plan_reason r)
{
    static const char *const names[PLAN_REASON_MAX] = {"declared", "authoritative", "pruned",
                                                       "restored"};

    return (unsigned)r < PLAN_REASON_MAX ? names[r] : "unknown";
}

const char *plan_app_status_name(enum plan_app_status s)
{
    static const char *const names[PLAN_APP_STATUS_MAX] = {"ok", "rejected", "failed", "pending"};

    return (unsigned)s < PLAN_APP_STATUS_MAX ? names[s] : "unknown";
}

int plan_key_cmp(const char *res_a, const char *role_a, const struct iam_cond *cond_a,
                 const char *member_a, const char *res_b, const char *role_b,
                 const struct iam_cond *cond_b, const char *member_b)
{
    int r;

    r = str_cmp0(res_a, res_b);
    if (r != 0)
        return r;
    r = str_cmp0(role_a, role_b);
    if (r != 0)
        return r;
    r = iam_cond_cmp(cond_a, cond_b);
    if (r != 0)
        return r;
    return iam_member_cmp(member_a, member_b);
}

/* ---- lifecycle ---- */

void plan_init(struct plan *p)
{
    memset(p, 0, sizeof(*p));
    ledger_init(&p->ledger);
}

void plan_change_release(struct plan_change *c)
{
    free(c->resource);
    free(c->role);
    iam_cond_free(c->cond);
    free(c->member);
    free(c->app);
    free(c->origin);
    free(c->comp_name);
    memset(c, 0, sizeof(*c));
}

static void note_release(struct plan_note *n)
{
    free(n->app);
    free(n->resource);
    free(n->origin);
    free(n->message);
}

void plan_release(struct plan *p)
{
    free(p->source);
    free(p->revision);
    for (size_t i = 0; i < p->n_apps; i++) {
        free(p->apps[i].name);
        err_list_release(&p->apps[i].errs);
        for (size_t j = 0; j < p->apps[i].n_pending; j++)
            free(p->apps[i].pending[j]);
        free(p->apps[i].pending);
    }
    free(p->apps);
    for (size_t i = 0; i < p->n_changes; i++)
        plan_change_release(&p->changes[i]);
    free(p->changes);
    for (size_t i = 0; i < p->n_notes; i++)
        note_release(&p->notes[i]);
    free(p->notes);
    for (size_t i = 0; i < p->n_pending; i++)
        free(p->pending[i]);
    free(p->pending);
    for (size_t i = 0; i < p->n_idents; i++)
        plan_identity_release(&p->idents[i]);
    free(p->idents);
    ledger_release(&p->ledger);
    plan_init(p);
}

struct plan_app *plan_find_app(const struct plan *p, const char *name)
{
    size_t lo = 0, hi = p->n_apps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(p->apps[mid].name, name);

        if (r == 0)
            return &p->apps[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct plan_app *plan_app_get(struct plan *p, const char *name)
{
    struct plan_app *a;
    size_t at = 0;

    a = plan_find_app(p, name);
    if (a != NULL)
        return a;
    while (at < p->n_apps && strcmp(p->apps[at].name, name) < 0)
        at++;
    XGROW(p->apps, p->n_apps + 1, p->cap_apps);
    memmove(&p->apps[at + 1], &p->apps[at], (p->n_apps - at) * sizeof(*p->apps));
    p->n_apps++;
    a = &p->apps[at];
    memset(a, 0, sizeof(*a));
    a->name = xstrdup(name);
    a->status = PLAN_APP_OK;
    err_list_init(&a->errs);
    return a;
}

void plan_add_change(struct plan *p, const struct plan_change_spec *s)
{
    struct plan_change *c;

    XGROW(p->changes, p->n_changes + 1, p->cap_changes);
    c = &p->changes[p->n_changes++];
    c->resource = xstrdup(s->resource);
    c->kind = (enum res_kind)res_kind_of(s->resource);
    c->action = s->action;
    c->role = xstrdup(s->role);
    c->cond = iam_cond_dup(s->cond);
    c->member = xstrdup(s->member);
    c->app = xstrdup_or_null(s->app);
    c->origin = xstrdup_or_null(s->origin);
    c->reason = s->reason;
    c->comp_name = xstrdup_or_null(s->comp_name);
    c->trait_type = s->trait_type;
    c->gc = s->gc;
}

void plan_add_note(struct plan *p, const char *app, const char *resource, const char *origin,
                   const char *fmt, ...)
{
    struct plan_note *n;
    va_list ap;

    XGROW(p->notes, p->n_notes + 1, p->cap_notes);
    n = &p->notes[p->n_notes++];
    n->app = xstrdup_or_null(app);
    n->resource = xstrdup_or_null(resource);
    n->origin = xstrdup_or_null(origin);
    va_start(ap, fmt);
    n->message = xvasprintf(fmt, ap);
    va_end(ap);
}

size_t plan_count(const struct plan *p, enum plan_action a)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_changes; i++)
        n += p->changes[i].action == a;
    return n;
}

char *plan_cond_label(const struct iam_cond *c)
{
    if (c == NULL)
        return xstrdup("");
    if (c->title != NULL && c->title[0] != '\0')
        return xasprintf(" if \"%s\"", c->title);
    return xasprintf(" if %s", c->expression != NULL ? c->expression : "");
}

bool plan_member_in(const struct oam_strs *list, const char *member)
{
    if (list == NULL)
        return false;
    for (size_t i = 0; i < list->n; i++)
        if (iam_member_eq(list->v[i], member))
            return true;
    return false;
}

/* ---- ordering and counts ---- */

static int change_cmp(const void *a, const void *b)
{
    const struct plan_change *x = a, *y = b;
    int r;

    r = plan_key_cmp(x->resource, x->role, x->cond, x->member, y->resource, y->role, y->cond,
                     y->member);
    if (r != 0)
        return r;
    /* Removals before additions of the same key (a member re-spelled). */
    if (x->action != y->action)
        return x->action == PLAN_REMOVE ? -1 : 1;
    return str_cmp0(x->app, y->app);
}

static int note_cmp(const void *a, const void *b)
{
    const struct plan_note *x = a, *y = b;
    int r;

    r = str_cmp0(x->resource, y->resource);
    if (r == 0)
        r = str_cmp0(x->app, y->app);
    if (r == 0)
        r = str_cmp0(x->origin, y->origin);
    if (r == 0)
        r = str_cmp0(x->message, y->message);
    return r;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void plan_sort(struct plan *p)
{
    if (p->n_changes > 1)
        qsort(p->changes, p->n_changes, sizeof(*p->changes), change_cmp);
    if (p->n_notes > 1)
        qsort(p->notes, p->n_notes, sizeof(*p->notes), note_cmp);
    if (p->n_pending > 1)
        qsort(p->pending, p->n_pending, sizeof(*p->pending), str_ptr_cmp);
}

void plan_recount(struct plan *p)
{
    size_t total = p->resources_changed + p->resources_unchanged;
    size_t changed = 0;

    for (size_t i = 0; i < p->n_apps; i++) {
        p->apps[i].adds = 0;
        p->apps[i].removes = 0;
    }
    for (size_t i = 0; i < p->n_changes; i++) {
        const struct plan_change *c = &p->changes[i];
        struct plan_app *a = c->app != NULL ? plan_find_app(p, c->app) : NULL;

        if (i == 0 || strcmp(c->resource, p->changes[i - 1].resource) != 0)
            changed++;
        if (a == NULL)
            continue;
        if (c->action == PLAN_ADD)
            a->adds++;
        else
            a->removes++;
    }
    if (changed > total)
        total = changed;
    p->resources_changed = changed;
    p->resources_unchanged = total - changed;
}

/* ---- resources ---- */

static void push_name(const char ***v, size_t *n, size_t *cap, const char *s)
{
    XGROW(*v, *n + 1, *cap);
    (*v)[(*n)++] = s;
}

static int cstr_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int plan_resources(const struct desired *d, const struct ledger *l, char ***ret, size_t *ret_n)
{
    const char **v = NULL;
    size_t n = 0, cap = 0, out = 0;
    char **res;

    for (size_t i = 0; d != NULL && i < d->n; i++)
        push_name(&v, &n, &cap, d->v[i].resource);
    for (size_t i = 0; d != NULL && i < d->n_auth; i++)
        push_name(&v, &n, &cap, d->auth[i].resource);
    for (size_t i = 0; d != NULL && i < d->n_ident; i++)
        push_name(&v, &n, &cap, d->ident[i].resource);
    for (size_t i = 0; l != NULL && i < l->n; i++)
        for (size_t j = 0; j < l->apps[i].n; j++)
            push_name(&v, &n, &cap, l->apps[i].v[j].resource);
    if (n > 1)
        qsort(v, n, sizeof(*v), cstr_ptr_cmp);
    res = n > 0 ? xreallocarray(NULL, n, sizeof(*res)) : NULL;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            res[out++] = xstrdup(v[i]);
    free(v);
    *ret = res;
    *ret_n = out;
    return 0;
}

/* First change of the resource (changes are sorted by resource first). */
static size_t first_change(const struct plan *plan, const char *resource)
{
    size_t lo = 0, hi = plan->n_changes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(plan->changes[mid].resource, resource) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int plan_apply_to_policy(const struct plan *plan, const char *resource, struct iam_policy *p)
{
    int applied = 0;

    for (size_t i = first_change(plan, resource); i < plan->n_changes; i++) {
        const struct plan_change *c = &plan->changes[i];

        if (strcmp(c->resource, resource) != 0)
            break;
        if (c->action == PLAN_ADD)
            applied += iam_policy_add_member(p, c->role, c->cond, c->member);
        else
            applied += iam_policy_remove_member(p, c->role, c->cond, c->member);
    }
    if (iam_policy_has_conditions(p) && (!p->has_version || p->version < 3)) {
        p->version = 3;
        p->has_version = true;
    }
    return applied;
}
