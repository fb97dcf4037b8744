/*
 * plan_int.h - what the files of api/plan/ share (private; not for other
 * modules).
 *
 * The binding key (resource, role, condition, member) is compared in one
 * place, plan_key_cmp(), so that the compiler's de-duplication, the diff's
 * grouping and the plan's sort order agree.  Members compare with
 * iam_member_cmp (case-insensitive on e-mails and domains), conditions with
 * iam_cond_cmp (title, description, expression).
 */
#ifndef ROAM_PLAN_INT_H
#define ROAM_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

/* Element size of the arrays of pointers to structs the module sorts
 * (spelled once, rather than sizeof(*p) on a pointer-to-pointer, which
 * clang-tidy's sizeof check cannot tell from a mistake). */
#define PLAN_PTR_SIZE sizeof(void *)

/* Total order on binding keys; resource and role compare exactly. */
int plan_key_cmp(const char *res_a, const char *role_a, const struct iam_cond *cond_a,
                 const char *member_a, const char *res_b, const char *role_b,
                 const struct iam_cond *cond_b, const char *member_b);

/* Appends a change; every string is copied (NULL stays NULL). */
struct plan_change_spec {
    const char *resource;
    enum plan_action action;
    const char *role;
    const struct iam_cond *cond;
    const char *member;
    const char *app;
    const char *origin;
    enum plan_reason reason;
    const char *comp_name;
    int trait_type;
    int gc;
};
void plan_add_change(struct plan *p, const struct plan_change_spec *c);
void plan_change_release(struct plan_change *c);

/* Appends a note (message printf-style); app, resource, origin may be NULL. */
void plan_add_note(struct plan *p, const char *app, const char *resource, const char *origin,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Finds or inserts (in name order) the app's entry; a new one is status ok. */
struct plan_app *plan_app_get(struct plan *p, const char *name);

/* Sorts changes (resource, role, cond, member, action), notes and pending. */
void plan_sort(struct plan *p);
/* Recomputes per-app adds/removes and summary add/remove from the changes;
 * resources_changed from the distinct resources of the changes, keeping
 * resources_changed + resources_unchanged as it was. */
void plan_recount(struct plan *p);

/* Number of changes with the given action. */
size_t plan_count(const struct plan *p, enum plan_action a);

/* Condition for messages: ` if "title"` or ` if EXPR` ("" when NULL);
 * caller frees. */
char *plan_cond_label(const struct iam_cond *c);

/* Ledger records. */
void ledger_entry_copy(struct ledger_entry *ret, const struct ledger_entry *src);
void ledger_entry_release(struct ledger_entry *e);
/* Appends a copy of e to a. */
void ledger_app_push_copy(struct ledger_app *a, const struct ledger_entry *e);
/* Removes the record of app from l (no-op when absent). */
void ledger_remove_app(struct ledger *l, const char *app);
/* Replaces (or adds) l's record of src->app with a copy of src. */
void ledger_put_app(struct ledger *l, const struct ledger_app *src);

/* Is member (by iam_member_eq) in the list? */
bool plan_member_in(const struct oam_strs *list, const char *member);

/* live.c: the live set the diff sees without the resources whose read
 * failed (shallow; release with plan_live_view_release), failing the apps
 * with a stake in those, and service-identity checks. */
void plan_live_view(const struct plan_request *req, struct iam_live *view);
void plan_live_view_release(const struct plan_request *req, struct iam_live *view);
void plan_fail_unread(struct plan *p, const struct desired *d, const struct ledger *l,
                      const struct plan_request *req);
void plan_check_identities(struct plan *p, const struct desired *d, const struct plan_request *req);
void plan_identity_release(struct plan_identity *id);

#endif
