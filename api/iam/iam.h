/*
 * iam.h - the IAM allow-policy model (Policy, Binding, Expr, members).
 *
 * The shapes are identical in the Cloud Run Admin API v2 and the IAM API v1
 * (CONTRACTS.md §3.2).  roam must never lose what it does not understand: a
 * decoded policy keeps every field the model does not name (auditConfigs,
 * unknown fields, a binding's unknown fields) in an opaque `raw` value that
 * only iam_json.c reads, and iam_policy_encode() writes them back unchanged.
 * `version` and `etag` are kept as read.
 *
 * Members (CONTRACTS.md §3.3): `user:`, `group:`, `serviceAccount:`,
 * `domain:` compare case-insensitively; `principal://` / `principalSet://`
 * are opaque URIs compared exactly; `deleted:` wraps another member and keeps
 * its `?uid=` suffix; `allUsers` / `allAuthenticatedUsers` stand alone.  A
 * role containing `_withcond_` means the policy was read below version 3:
 * decoding rejects it.
 *
 * A binding's identity is (role, condition, member); the condition is part of
 * the key.  Two conditions are equal when title, description and expression
 * are equal (absent == empty).
 *
 * Ownership: every pointer is owned by its struct; iam_policy_release()
 * frees all.  Pure: no I/O.
 */
#ifndef ROAM_IAM_H
#define ROAM_IAM_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"

struct iam_cond {
    char *title;       /* NULL when absent */
    char *description; /* NULL when absent */
    char *expression;  /* NULL when absent (invalid, but kept) */
    char *location;    /* NULL when absent; not part of the identity */
};

struct iam_binding {
    char *role;
    struct iam_cond *cond; /* NULL: unconditional */
    char **members;
    size_t n_members;
    size_t cap_members;
    void *raw; /* opaque (json_t *): unknown fields of the binding; may be NULL */
};

struct iam_policy {
    int version;      /* as read; 0 when absent */
    bool has_version; /* `version` was present */
    char *etag;       /* NULL when absent */
    struct iam_binding *bindings;
    size_t n_bindings;
    size_t cap_bindings;
    void *raw; /* opaque (json_t *): every other top-level field; may be NULL */
};

void iam_policy_init(struct iam_policy *p);
void iam_policy_release(struct iam_policy *p);
/* Deep copy (raw values included) into *ret (initialised by the call). */
void iam_policy_copy(struct iam_policy *ret, const struct iam_policy *src);

struct iam_cond *iam_cond_dup(const struct iam_cond *c); /* NULL-safe */
void iam_cond_free(struct iam_cond *c);                  /* NULL-safe */
/* Identity comparison (title, description, expression); NULL == NULL. */
bool iam_cond_eq(const struct iam_cond *a, const struct iam_cond *b);
int iam_cond_cmp(const struct iam_cond *a, const struct iam_cond *b);

/* ---- members ---- */

enum iam_member_kind {
    IAM_MEMBER_USER,
    IAM_MEMBER_GROUP,
    IAM_MEMBER_SERVICE_ACCOUNT,
    IAM_MEMBER_DOMAIN,
    IAM_MEMBER_PRINCIPAL,     /* principal://... */
    IAM_MEMBER_PRINCIPAL_SET, /* principalSet://... */
    IAM_MEMBER_ALL_USERS,
    IAM_MEMBER_ALL_AUTHENTICATED_USERS,
    IAM_MEMBER_KIND_MAX
};

struct iam_member {
    enum iam_member_kind kind;
    bool deleted;      /* deleted:<member>?uid=... */
    const char *value; /* borrowed: the part after the kind prefix (e-mail, domain, URI rest) */
    size_t value_len;  /* length of value, without a deleted member's ?uid= suffix */
};

/*
 * Parses member syntax.  Returns 0 and fills *ret (pointing into s), or
 * ERR_PARSE with a short reason in *ret_why (static string) when s is not a
 * member IAM accepts (unknown prefix, empty value, malformed e-mail, ...).
 */
int iam_member_parse(const char *s, struct iam_member *ret, const char **ret_why);
/* Same member?  Case-insensitive on e-mails and domains, exact on URIs. */
bool iam_member_eq(const char *a, const char *b);
/* Total order consistent with iam_member_eq (for sorting). */
int iam_member_cmp(const char *a, const char *b);
/* e-mail domain of user:/group:/serviceAccount: members (lower-cased copy the
 * caller frees), NULL for other kinds. */
char *iam_member_email_domain(const char *member);
/* Project of serviceAccount:NAME@PROJECT.iam.gserviceaccount.com (copy), else NULL. */
char *iam_member_sa_project(const char *member);

/*
 * Role syntax: roles/NAME, projects/P/roles/NAME or organizations/O/roles/NAME.
 * Returns 0 or ERR_PARSE (with reason); `_withcond_` roles are ERR_PARSE.
 */
int iam_role_check(const char *role, const char **ret_why);

/* ---- policy editing (used to build what apply writes) ---- */

/* Finds the binding (role, cond); NULL when absent. */
struct iam_binding *iam_policy_find(const struct iam_policy *p, const char *role,
                                    const struct iam_cond *cond);
/* Is member in binding (role, cond)? */
bool iam_policy_has(const struct iam_policy *p, const char *role, const struct iam_cond *cond,
                    const char *member);
/* Adds member to (role, cond), creating the binding at the end if needed.
 * Returns 1 when added, 0 when already there. */
int iam_policy_add_member(struct iam_policy *p, const char *role, const struct iam_cond *cond,
                          const char *member);
/* Removes member from (role, cond); a binding left empty is dropped.
 * Returns 1 when removed, 0 when absent. */
int iam_policy_remove_member(struct iam_policy *p, const char *role, const struct iam_cond *cond,
                             const char *member);
/* Does any binding carry a condition? (then a write must say version 3) */
bool iam_policy_has_conditions(const struct iam_policy *p);

/* ---- JSON codec (iam_json.c) ---- */

/*
 * Decodes a Policy JSON object (the body getIamPolicy returns).  Every field
 * is type-checked; a problem fills *err (may be NULL) with a field path such
 * as `bindings[2].members[0]` and returns ERR_PARSE (ERR_LIMIT for caps).
 * Roles containing `_withcond_` are rejected with ERR_PARSE.  On success
 * *ret is filled (it is initialised by the call either way).
 */
int iam_policy_decode(const char *json, size_t len, struct iam_policy *ret, struct err_detail *err);

/*
 * Encodes a policy as compact JSON: unknown fields and auditConfigs as read,
 * `version` and `etag` as stored, bindings in model order with their unknown
 * fields.  Returns a string the caller frees.
 */
char *iam_policy_encode(const struct iam_policy *p);

/*
 * A set of live policies keyed by resource name: the offline `roam plan
 * --live-state FILE` input, a JSON object {"projects/p/locations/r/services/s":
 * Policy, ...}.  A value of null means "the resource does not exist".
 */
struct iam_live {
    char **names;
    struct iam_policy *policies; /* policies[i] belongs to names[i] */
    bool *missing;               /* missing[i]: value was null */
    size_t n;
};

void iam_live_init(struct iam_live *l);
void iam_live_release(struct iam_live *l);
int iam_live_decode(const char *json, size_t len, struct iam_live *ret, struct err_detail *err);
/* Index of name, or -1.  Resource names compare exactly. */
long iam_live_find(const struct iam_live *l, const char *name);

#endif
