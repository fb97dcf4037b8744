/*
 * plan.h - from declarations to a plan: desired state, ledger, diff, guard,
 * rendering.  Pure: no I/O, no clock, no logging (DESIGN.md §4).
 *
 *   desired_compile()  one valid app -> desired bindings per resource, each
 *                      with its provenance (app, component, trait or policy
 *                      path) and the lifecycle flags its app's policies give it.
 *   guard_guardrails() guardrail policies (the app's and the platform's) on
 *                      an app's desired bindings -> every violation, each with
 *                      every path that declares it.
 *   plan_diff()        desired x live policies x ledger -> changes per
 *                      resource with reasons, per-app status, and the ledger
 *                      to record once the writes succeed (DESIGN.md §2).
 *   guard_plan()       --max-removals, protected members, lockout
 *                      protection, emptying an authoritative role: refuses
 *                      an app's changes (all or nothing) or drops removals of
 *                      protected members.
 *   plan_build()       the whole pipeline, shared by the offline `roam plan`,
 *                      `roam apply` and `roam serve`.
 *   plan_render_text() / plan_render_json()  DESIGN.md §3 outputs.
 *
 * Resource names: `projects/P/locations/R/services/S`,
 * `projects/P/locations/R/jobs/J`, `projects/P/serviceAccounts/EMAIL`.
 *
 * Ownership: every char * and array is owned by its struct and freed by the
 * matching _release.  Borrowed inputs are marked const.
 */
#ifndef ROAM_PLAN_H
#define ROAM_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"
#include "../iam/iam.h"
#include "../oam/oam.h"

enum res_kind {
    RES_SERVICE,         /* Cloud Run service (conditions allowed) */
    RES_JOB,             /* Cloud Run job (no conditions) */
    RES_SERVICE_ACCOUNT, /* IAM service account (conditions allowed) */
    RES_KIND_MAX
};

const char *res_kind_name(enum res_kind k); /* "service", "job", "serviceAccount" */
/* Kind of a resource name from its shape; -1 when it is none of the three. */
int res_kind_of(const char *resource);

/* ---- desired state ---- */

struct desired_binding {
    char *resource;
    enum res_kind kind;
    char *role;
    struct iam_cond *cond; /* NULL: unconditional */
    char *member;
    /* provenance */
    char *app;
    char *origin;    /* field path: spec.components[0].traits[1] or spec.policies[2] */
    char *comp_name; /* the component the binding is for */
    enum oam_comp_type comp_type;
    int trait_type; /* enum oam_trait_type, or -1 when it came from a policy */
    struct oam_pos pos;
    /* lifecycle, resolved from the app's policies (first matching rule wins) */
    enum oam_gc_strategy gc;
    bool take_over;
    bool read_only;
    bool shared;
    bool apply_once;
};

/* An authoritative-bindings rule resolved onto one resource. */
struct desired_auth {
    char *resource;
    char *app;
    char *origin;   /* spec.policies[k].properties.rules[i] */
    bool all_roles; /* no roles listed: every unconditional role on the resource */
    char **roles;
    size_t n_roles;
};

/* A service-identity trait resolved onto one Cloud Run resource. */
struct desired_identity {
    char *resource;
    char *app;
    char *origin;
    char *service_account;
    enum oam_si_mode mode;
};

struct desired {
    struct desired_binding *v;
    size_t n, cap;
    struct desired_auth *auth;
    size_t n_auth, cap_auth;
    struct desired_identity *ident;
    size_t n_ident, cap_ident;
};

void desired_init(struct desired *d);
void desired_release(struct desired *d);
/*
 * Appends the bindings of one app (which must have passed validation) to d.
 * A member declared twice for one (resource, role, condition) within the app
 * yields one binding (the first origin).  Returns the number of bindings
 * added, or a negative code (the reason appended to app_errs).
 */
int desired_compile(struct desired *d, const struct oam_app *app, const struct oam_defaults *defs,
                    struct err_list *app_errs);

/* ---- ledger (the data type; persistence is the controller's) ---- */

struct ledger_entry {
    char *resource;
    char *role;
    struct iam_cond *cond;
    char *member;
    bool owned;              /* true: roam added it (or adopted it); false: found, foreign */
    char *revision;          /* source revision that last declared it */
    enum oam_gc_strategy gc; /* strategy when last declared */
    bool shared;
    char *origin; /* provenance when last declared */
    char *comp_name;
    int comp_type;  /* enum oam_comp_type */
    int trait_type; /* enum oam_trait_type or -1 */
};

struct ledger_app {
    char *app;
    char *revision; /* last revision applied for this app */
    char *status;   /* the app's status as compact JSON (plan_status_json), or NULL */
    struct ledger_entry *v;
    size_t n, cap;
};

struct ledger {
    struct ledger_app *apps;
    size_t n, cap;
};

void ledger_init(struct ledger *l);
void ledger_release(struct ledger *l);
void ledger_copy(struct ledger *ret, const struct ledger *src);
struct ledger_app *ledger_find_app(const struct ledger *l, const char *app);
/* Finds or creates the app's record. */
struct ledger_app *ledger_app_get(struct ledger *l, const char *app);
/* JSON codec: {"apps": {"NAME": {"revision": "...", "bindings": [{...}]}}}.
 * Decoding checks every field's type; problems fill *err and return ERR_PARSE. */
int ledger_decode(const char *json, size_t len, struct ledger *ret, struct err_detail *err);
char *ledger_encode(const struct ledger *l);
/* One app's record alone ({"app": ..., "revision": ..., "bindings": [...]})
 * for per-app storage objects. */
char *ledger_app_encode(const struct ledger_app *a);
int ledger_app_decode(const char *json, size_t len, struct ledger_app *ret, struct err_detail *err);
void ledger_app_release(struct ledger_app *a);
/* Deep copy into *ret (initialised by the call). */
void ledger_app_copy(struct ledger_app *ret, const struct ledger_app *src);

/* ---- plan ---- */

enum plan_action { PLAN_ADD, PLAN_REMOVE, PLAN_ACTION_MAX };
enum plan_reason {
    PLAN_DECLARED,      /* declared and absent: add */
    PLAN_AUTHORITATIVE, /* not declared under an authoritative rule: remove */
    PLAN_PRUNED,        /* owned, no longer declared: remove */
    PLAN_RESTORED,      /* owned (or found) and removed by hand: add back */
    PLAN_REASON_MAX
};
enum plan_app_status {
    PLAN_APP_OK,
    PLAN_APP_REJECTED, /* documents invalid, guardrail violated, ownership conflict */
    PLAN_APP_FAILED,   /* refused by guard (max removals, lockout) or a write failed */
    PLAN_APP_PENDING,  /* some resource does not exist yet */
    PLAN_APP_STATUS_MAX
};

const char *plan_action_name(enum plan_action a);         /* "add", "remove" */
const char *plan_reason_name(enum plan_reason r);         /* "declared", ... */
const char *plan_app_status_name(enum plan_app_status s); /* "ok", "rejected", ... */

struct plan_change {
    char *resource;
    enum res_kind kind;
    enum plan_action action;
    char *role;
    struct iam_cond *cond;
    char *member;
    char *app;
    char *origin;
    enum plan_reason reason;
    /* For the text plan: the component the binding is for (NULL when it
     * cannot be told, e.g. an authoritative removal), the trait type
     * (enum oam_trait_type, -1 for a policy), and for a prune the
     * garbage-collect strategy that decided it (-1 otherwise). */
    char *comp_name;
    int trait_type;
    int gc;
};

/* Something observed but not changed: drift under read-only or apply-once,
 * a service-identity mismatch, a protected member kept. */
struct plan_note {
    char *app;
    char *resource;
    char *origin;
    char *message;
};

struct plan_app {
    char *name;
    enum plan_app_status status;
    struct err_list errs; /* why rejected / failed; path = field path or resource */
    size_t adds, removes;
    char **pending; /* resources it declares that do not exist yet */
    size_t n_pending, cap_pending;
};

/* A service-identity trait compared with the service's live account. */
struct plan_identity {
    char *resource;
    char *app;
    char *origin;
    char *want;            /* declared serviceAccount */
    char *have;            /* live template.serviceAccount; NULL: the default account */
    enum oam_si_mode mode; /* verify: reported; enforce: the service is updated */
    bool written;          /* enforce: the update succeeded (set by the writer) */
};

struct plan {
    char *source;
    char *revision;
    bool applied;          /* the changes were written (apply): rendered as done */
    struct plan_app *apps; /* sorted by name */
    size_t n_apps, cap_apps;
    struct plan_change *changes; /* sorted by resource, then role, cond, member, action */
    size_t n_changes, cap_changes;
    struct plan_note *notes;
    size_t n_notes, cap_notes;
    char **pending; /* resources declared but missing live (sorted) */
    size_t n_pending, cap_pending;
    size_t resources_changed;
    size_t resources_unchanged;
    /* Service-identity mismatches of accepted apps (sorted by resource). */
    struct plan_identity *idents;
    size_t n_idents, cap_idents;
    /* The ledger to record once every change of an app has been written.
     * Apps rejected or failed keep their previous record unchanged. */
    struct ledger ledger;
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);
struct plan_app *plan_find_app(const struct plan *p, const char *name);

/* Safety settings (DESIGN.md §2 "Safety"). */
struct guard_opts {
    long long max_removals;          /* default 50; negative: config maxRemovals, else 50 */
    bool allow_mass_removal;         /* --allow-mass-removal */
    const struct oam_config *config; /* platform guardrails, protect, identity; may be NULL */
};

/* Defaults: max_removals -1 (config, else 50), no override, no config. */
void guard_opts_init(struct guard_opts *o);

/*
 * Guardrails of one app (its own no-public-access / allowed-roles /
 * allowed-members policies plus the platform ones in config) over the desired
 * bindings whose app is app->name.  Every violation is appended to
 * app->errs-like list `errs` with the binding's origin path and position; a
 * binding declared in several places is reported at each.  Returns the number
 * of violations.
 */
int guard_guardrails(const struct oam_app *app, const struct desired *d,
                     const struct oam_config *config, struct err_list *errs);

/* Inputs of the diff.  All borrowed. */
struct diff_input {
    const struct desired *desired;   /* bindings of the apps accepted this pass */
    const struct iam_live *live;     /* live policy per resource (missing: pending) */
    const struct ledger *ledger;     /* ownership before this pass */
    const char *revision;            /* source revision of this pass */
    bool listing_complete;           /* false: no app counts as deleted */
    const char *const *present_apps; /* every app name in the source, rejected included */
    size_t n_present_apps;
    const char *const *rejected_apps; /* apps rejected this pass: keep their ledger */
    size_t n_rejected_apps;
};

/*
 * The diff of DESIGN.md §2 (precise rules 1-9).  Fills *ret (initialised by
 * the call): changes, notes, pending resources, per-app status for every app
 * that is accepted or has ledger entries, and the successor ledger.  Does not
 * apply safety limits (guard_plan does).  Returns 0 or a negative code.
 */
int plan_diff(struct plan *ret, const struct diff_input *in);

/*
 * Safety: per app, more removals than opts->max_removals, removing a member
 * named in config identity from any resource, or emptying an authoritative
 * role that held live members (not counting `deleted:` ones) refuses the app
 * unless allow_mass_removal: its changes leave the plan, its status becomes
 * failed with the reason, its ledger record stays as before.  Removals of
 * protected members (config protect) leave the plan with a note, always.
 * Recomputes the summary counts.
 */
void guard_plan(struct plan *p, const struct ledger *before, const struct iam_live *live,
                const struct guard_opts *opts);

/* Everything a pass needs, all borrowed. */
/* What a services.get / jobs.get said about a resource's identity. */
struct plan_run_identity {
    const char *resource;
    const char *service_account; /* NULL: the project's default account */
    bool known;                  /* false: not read (missing, or the read failed) */
    const char *error;           /* why the read failed, or NULL */
};

struct plan_request {
    const char *source;
    const char *revision;
    struct oam_docset *docs; /* parsed; validated by plan_build */
    const struct oam_defaults *defs;
    const struct iam_live *live;
    const struct ledger *ledger; /* may be NULL: empty */
    struct guard_opts guard;
    /* Optional (live passes): per live->names[i], why its policy could not
     * be read (NULL: read fine).  Apps with bindings or ledger records on
     * such a resource fail with that message and change nothing. */
    const char *const *read_errors;
    /* Optional: the live service accounts of resources with a
     * service-identity trait.  Without them identities are not checked. */
    const struct plan_run_identity *run_identities;
    size_t n_run_identities;
};

/*
 * The whole pipeline: validate documents (rejecting apps), compile desired
 * state, check guardrails (rejecting apps), detect ownership conflicts, diff,
 * guard.  Rejected apps appear in the plan with status rejected and their
 * errors; a docset with file-level errors makes the listing partial.
 */
int plan_build(struct plan *ret, const struct plan_request *req);

/*
 * What a live pass must read before plan_build: the policies
 * (plan_resources over the accepted apps' desired state and the ledger) and
 * the Cloud Run resources whose service account a service-identity trait
 * declares.  Validates the documents (idempotent).  Strings owned by the
 * arrays, which the caller frees.
 */
int plan_read_set(const struct plan_request *req, char ***ret_policies, size_t *ret_n,
                  char ***ret_runs, size_t *ret_n_runs);

/* Does the plan change resource? */
bool plan_has_changes(const struct plan *p, const char *resource);

/* Keeps only the changes whose keep[i] is true (apply reports what it
 * wrote), then recounts the per-app and summary counts. */
void plan_keep_changes(struct plan *p, const bool *keep);

/*
 * One app's record after a pass in which only some writes succeeded: the
 * entries of `after` on the resources listed in ok (written, or unchanged
 * and read; sorted by strcmp), the entries of `before` on every other
 * resource.  before and
 * after may be NULL (no record).  *ret is initialised by the call and named
 * app, with after's revision (else before's).
 */
void ledger_app_merge(struct ledger_app *ret, const char *app, const struct ledger_app *before,
                      const struct ledger_app *after, const char *const *ok, size_t n_ok);

/*
 * Two writers' records of one app, joined (ledger_merge.c): every binding of
 * mine, plus every binding of theirs whose key (resource, role, condition,
 * member; plan_key_cmp) mine lacks.  For a key in both, mine's entry wins;
 * the revision is mine's (theirs' when mine has none).  Used when a
 * conditional write of the record met another writer's newer one: no owned
 * binding the other writer recorded is lost.  theirs may be NULL.  *ret is
 * initialised by the call, named after mine, and released by the caller.
 */
void ledger_app_union(struct ledger_app *ret, const struct ledger_app *mine,
                      const struct ledger_app *theirs);

/*
 * An app's status after a pass (status.c), as compact JSON: Ready and Synced
 * conditions with reason and message, the revision observed and the last one
 * applied, the first error, pending resources, counts of owned and found
 * bindings in rec (the record written; may be NULL).  now is an RFC 3339
 * time; prev_status (may be NULL) the previous status, whose
 * lastTransitionTime and lastAppliedRevision carry over.  Caller frees.
 */
char *plan_status_json(const struct plan_app *a, const struct ledger_app *rec, const char *revision,
                       const char *now, const char *prev_status);

/* Same status apart from lastSyncTime?  (NULL equals only NULL.)  A record
 * whose bindings and status did not change is not written again. */
bool plan_status_same(const char *a, const char *b);

/* Resources a pass must read: every resource of every accepted app, plus
 * every resource in the ledger (sorted, unique).  Strings owned by *ret. */
int plan_resources(const struct desired *d, const struct ledger *l, char ***ret, size_t *ret_n);

/*
 * Text plan: one block per resource, each added/removed member with the app,
 * component and trait (or policy) that implied it and the revision; rejected
 * apps with their errors; notes; a closing `N to add, M to remove` line.
 * JSON: exactly DESIGN.md §3.  Both return a string the caller frees.
 */
char *plan_render_text(const struct plan *p);
char *plan_render_json(const struct plan *p);

/*
 * Applies the plan's changes for `resource` to p (the live policy as read,
 * edited in place: iam_policy_add_member / iam_policy_remove_member, so
 * unmanaged roles, foreign conditional bindings, auditConfigs and unknown
 * fields stay as they were); sets version 3 when the result holds a
 * condition.  The plan's changes must be in their sorted order (as
 * plan_diff, guard_plan and plan_build leave them).  Returns the number of
 * changes that altered p.
 */
int plan_apply_to_policy(const struct plan *plan, const char *resource, struct iam_policy *p);

#endif
