/*
 * iam.c - the allow-policy model: lifecycle, conditions and editing.
 *
 * A policy is a plain array of bindings kept in the order they were read, so
 * that a policy roam writes back differs from the one it read only where roam
 * meant to change it.  Bindings are looked up by (role, condition) with a
 * linear scan: a policy holds at most CAP_POLICY_BINDINGS bindings and is
 * edited a handful of times per pass, so an index would cost more than it
 * saves.
 *
 * A policy read from elsewhere may hold the same (role, condition) twice or a
 * member twice (in two spellings of one e-mail).  The editing functions
 * therefore look at every matching binding and every matching member instead
 * of stopping at the first: a member reported absent is absent everywhere, and
 * a removed member is gone everywhere.
 *
 * Versions (CONTRACTS.md §3.4): any write touching a policy that holds a
 * condition must say version 3, so adding a conditional binding, or removing
 * a member from a policy that has conditions, raises `version` to 3.  Nothing
 * else touches `version` or `etag`.
 *
 * The unknown JSON fields (`raw`) are copied and freed through iam_raw.h so
 * that jansson stays in iam_json.c.
 */
#include "iam.h"

#include <stdlib.h>
#include <string.h>

#include "../common/str.h"
#include "../common/xalloc.h"
#include "iam_raw.h"

void iam_policy_init(struct iam_policy *p)
{
    memset(p, 0, sizeof(*p));
}

static void binding_release(struct iam_binding *b)
{
    free(b->role);
    iam_cond_free(b->cond);
    for (size_t i = 0; i < b->n_members; i++)
        free(b->members[i]);
    free(b->members);
    iam_raw_free(b->raw);
    memset(b, 0, sizeof(*b));
}

void iam_policy_release(struct iam_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_bindings; i++)
        binding_release(&p->bindings[i]);
    free(p->bindings);
    free(p->etag);
    iam_raw_free(p->raw);
    iam_policy_init(p);
}

static void binding_copy(struct iam_binding *ret, const struct iam_binding *src)
{
    memset(ret, 0, sizeof(*ret));
    ret->role = xstrdup_or_null(src->role);
    ret->cond = iam_cond_dup(src->cond);
    if (src->n_members > 0) {
        ret->members = xreallocarray(NULL, src->n_members, sizeof(*ret->members));
        ret->cap_members = src->n_members;
    }
    for (size_t i = 0; i < src->n_members; i++)
        ret->members[i] = xstrdup(src->members[i]);
    ret->n_members = src->n_members;
    ret->raw = iam_raw_copy(src->raw);
}

void iam_policy_copy(struct iam_policy *ret, const struct iam_policy *src)
{
    iam_policy_init(ret);
    ret->version = src->version;
    ret->has_version = src->has_version;
    ret->etag = xstrdup_or_null(src->etag);
    if (src->n_bindings > 0) {
        ret->bindings = xreallocarray(NULL, src->n_bindings, sizeof(*ret->bindings));
        ret->cap_bindings = src->n_bindings;
    }
    for (size_t i = 0; i < src->n_bindings; i++)
        binding_copy(&ret->bindings[i], &src->bindings[i]);
    ret->n_bindings = src->n_bindings;
    ret->raw = iam_raw_copy(src->raw);
}

/* ---- conditions ---- */

struct iam_cond *iam_cond_dup(const struct iam_cond *c)
{
    struct iam_cond *d;

    if (c == NULL)
        return NULL;
    d = xcalloc(1, sizeof(*d));
    d->title = xstrdup_or_null(c->title);
    d->description = xstrdup_or_null(c->description);
    d->expression = xstrdup_or_null(c->expression);
    d->location = xstrdup_or_null(c->location);
    return d;
}

void iam_cond_free(struct iam_cond *c)
{
    if (c == NULL)
        return;
    free(c->title);
    free(c->description);
    free(c->expression);
    free(c->location);
    free(c);
}

int iam_cond_cmp(const struct iam_cond *a, const struct iam_cond *b)
{
    int r;

    /* An unconditional binding sorts before every conditional one. */
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    r = str_cmp0(a->title, b->title);
    if (r != 0)
        return r;
    r = str_cmp0(a->description, b->description);
    if (r != 0)
        return r;
    return str_cmp0(a->expression, b->expression);
}

bool iam_cond_eq(const struct iam_cond *a, const struct iam_cond *b)
{
    return iam_cond_cmp(a, b) == 0;
}

/* ---- editing ---- */

static bool binding_matches(const struct iam_binding *b, const char *role,
                            const struct iam_cond *cond)
{
    return b->role != NULL && strcmp(b->role, role) == 0 && iam_cond_eq(b->cond, cond);
}

struct iam_binding *iam_policy_find(const struct iam_policy *p, const char *role,
                                    const struct iam_cond *cond)
{
    for (size_t i = 0; i < p->n_bindings; i++)
        if (binding_matches(&p->bindings[i], role, cond))
            return &p->bindings[i];
    return NULL;
}

static bool binding_has(const struct iam_binding *b, const char *member)
{
    for (size_t i = 0; i < b->n_members; i++)
        if (iam_member_eq(b->members[i], member))
            return true;
    return false;
}

bool iam_policy_has(const struct iam_policy *p, const char *role, const struct iam_cond *cond,
                    const char *member)
{
    for (size_t i = 0; i < p->n_bindings; i++)
        if (binding_matches(&p->bindings[i], role, cond) && binding_has(&p->bindings[i], member))
            return true;
    return false;
}

bool iam_policy_has_conditions(const struct iam_policy *p)
{
    for (size_t i = 0; i < p->n_bindings; i++)
        if (p->bindings[i].cond != NULL)
            return true;
    return false;
}

/* A write of a policy holding conditions must say version 3 (CONTRACTS §3.4). */
static void require_v3(struct iam_policy *p)
{
    if (!p->has_version || p->version < 3) {
        p->version = 3;
        p->has_version = true;
    }
}

static void binding_append_member(struct iam_binding *b, const char *member)
{
    XGROW(b->members, b->n_members + 1, b->cap_members);
    b->members[b->n_members++] = xstrdup(member);
}

int iam_policy_add_member(struct iam_policy *p, const char *role, const struct iam_cond *cond,
                          const char *member)
{
    struct iam_binding *b;

    if (iam_policy_has(p, role, cond, member))
        return 0;
    b = iam_policy_find(p, role, cond);
    if (b == NULL) {
        XGROW(p->bindings, p->n_bindings + 1, p->cap_bindings);
        b = &p->bindings[p->n_bindings++];
        memset(b, 0, sizeof(*b));
        b->role = xstrdup(role);
        b->cond = iam_cond_dup(cond);
    }
    binding_append_member(b, member);
    if (cond != NULL)
        require_v3(p);
    return 1;
}

/* Removes every spelling of member from b; returns how many were removed. */
static size_t binding_remove(struct iam_binding *b, const char *member)
{
    size_t kept = 0, removed = 0;

    for (size_t i = 0; i < b->n_members; i++) {
        if (iam_member_eq(b->members[i], member)) {
            free(b->members[i]);
            removed++;
        } else {
            b->members[kept++] = b->members[i];
        }
    }
    b->n_members = kept;
    return removed;
}

static void policy_drop_binding(struct iam_policy *p, size_t i)
{
    binding_release(&p->bindings[i]);
    memmove(&p->bindings[i], &p->bindings[i + 1], (p->n_bindings - i - 1) * sizeof(*p->bindings));
    p->n_bindings--;
}

int iam_policy_remove_member(struct iam_policy *p, const char *role, const struct iam_cond *cond,
                             const char *member)
{
    bool had_conditions = iam_policy_has_conditions(p);
    size_t i = 0;
    int removed = 0;

    while (i < p->n_bindings) {
        struct iam_binding *b = &p->bindings[i];

        /* A binding that was already empty is left alone: only a binding
         * this call empties is dropped. */
        if (binding_matches(b, role, cond) && binding_remove(b, member) > 0) {
            removed = 1;
            if (b->n_members == 0) {
                policy_drop_binding(p, i);
                continue;
            }
        }
        i++;
    }
    if (removed && had_conditions)
        require_v3(p);
    return removed;
}
