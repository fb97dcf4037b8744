/*
 * oam.h - OAM Application documents as plain C data.
 *
 * roam reads KubeVela `core.oam.dev/v1beta1` `Application` documents and puts
 * everything Cloud Run-specific in type names and properties (DESIGN.md §1).
 * This header is the parsed form: plain structs, every node with the file,
 * line and column it came from and its field path
 * (`spec.components[2].traits[0].properties.members[1]`), so that the CLI and
 * the status API can point at the exact place of a problem.
 *
 * Three passes, all pure (bytes in, structs and problems out; no I/O):
 *   oam_parse_file()  YAML text -> struct oam_app per Application document.
 *                     libyaml's event parser builds a small capped node tree
 *                     (depth, node count, alias expansion, scalar size,
 *                     duplicate keys rejected), which is then decoded into the
 *                     structs.  Structural problems (wrong YAML type, unknown
 *                     property, missing required field, unknown trait or
 *                     policy type) are recorded in the app's own err_list;
 *                     parsing goes on so that every problem is reported.
 *   oam_validate()    semantic checks on one app (member and role syntax,
 *                     traits on the wrong component type, duplicate traits,
 *                     conditions on jobs, selectors, dependsOn, project and
 *                     region resolution, ...).  Appends to app->errs.
 *   oam_validate_set() checks across apps (duplicate metadata.name).
 * An app with a non-empty errs list is rejected as a whole.
 *
 * Ownership: every char * and array below is owned by its struct and freed by
 * oam_app_release() / oam_docset_release().  `file` pointers in struct
 * oam_pos are owned by the docset (one copy per file) and stay valid as long
 * as the docset.
 */
#ifndef ROAM_OAM_H
#define ROAM_OAM_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"

struct oam_pos {
    const char *file; /* borrowed from the docset */
    unsigned line;    /* 1-based; 0 when unknown */
    unsigned col;     /* 1-based */
};

/* A list of strings from the document, each with its position. */
struct oam_strs {
    char **v;
    struct oam_pos *pos;
    size_t n;
    bool present; /* the key was present in the document (even if empty) */
};

/* An IAM condition as declared (CEL expression plus optional title/description). */
struct oam_cond {
    char *title;       /* NULL when absent */
    char *description; /* NULL when absent */
    char *expression;  /* required */
    struct oam_pos pos;
    char *path;
};

/* A role granted to members, optionally under a condition. */
struct oam_binding {
    char *role;
    struct oam_strs members;
    struct oam_cond *cond; /* NULL: unconditional */
    struct oam_pos pos;
    char *path;              /* e.g. spec.components[0].traits[1].properties.bindings[0] */
    struct oam_pos role_pos; /* where role is written; the binding's pos when defaulted */
};

enum oam_comp_type {
    OAM_COMP_SERVICE, /* cloud-run-service */
    OAM_COMP_JOB,     /* cloud-run-job */
    OAM_COMP_TYPE_MAX
};

enum oam_trait_type {
    OAM_TRAIT_INVOKER,          /* invoker */
    OAM_TRAIT_IAM_BINDINGS,     /* iam-bindings */
    OAM_TRAIT_SERVICE_IDENTITY, /* service-identity */
    OAM_TRAIT_IMPERSONATION,    /* impersonation */
    OAM_TRAIT_TYPE_MAX
};

enum oam_si_mode {
    OAM_SI_VERIFY,  /* report a mismatch of template.serviceAccount (default) */
    OAM_SI_ENFORCE, /* update the service */
    OAM_SI_MODE_MAX
};

struct oam_trait {
    enum oam_trait_type type;
    struct oam_pos pos;
    char *path; /* spec.components[i].traits[j] */
    /*
     * invoker: exactly one binding (role defaulted to roles/run.invoker,
     * members, optional condition), path of the binding = the trait's
     * `properties`.  iam-bindings: one per `bindings[]` entry.
     */
    struct oam_binding *bindings;
    size_t n_bindings;
    /* service-identity: required.  impersonation: optional `serviceAccount`
     * (NULL: the component's service-identity account). */
    char *service_account;
    enum oam_si_mode mode;          /* service-identity */
    struct oam_strs act_as;         /* impersonation -> roles/iam.serviceAccountUser */
    struct oam_strs token_creators; /* -> roles/iam.serviceAccountTokenCreator */
    struct oam_cond *cond;          /* impersonation condition, NULL if none */
};

/* selector: componentNames, componentTypes, traitTypes (keys ANDed). */
struct oam_selector {
    bool present;
    struct oam_strs component_names;
    struct oam_strs component_types;
    struct oam_strs trait_types;
};

enum oam_gc_strategy {
    OAM_GC_ON_APP_UPDATE, /* onAppUpdate (default) */
    OAM_GC_ON_APP_DELETE, /* onAppDelete */
    OAM_GC_NEVER,         /* never */
    OAM_GC_STRATEGY_MAX
};

/* One entry of a lifecycle or authoritative-bindings policy's rules[]. */
struct oam_rule {
    struct oam_selector selector;
    struct oam_strs roles;         /* authoritative-bindings: roles (optional) */
    enum oam_gc_strategy strategy; /* garbage-collect */
    struct oam_pos pos;
    char *path;
};

enum oam_policy_type {
    OAM_POL_ACCESS_SCOPE,     /* access-scope */
    OAM_POL_NO_PUBLIC_ACCESS, /* no-public-access */
    OAM_POL_ALLOWED_ROLES,    /* allowed-roles */
    OAM_POL_ALLOWED_MEMBERS,  /* allowed-members */
    OAM_POL_GARBAGE_COLLECT,  /* garbage-collect */
    OAM_POL_TAKE_OVER,        /* take-over */
    OAM_POL_READ_ONLY,        /* read-only */
    OAM_POL_SHARED_RESOURCE,  /* shared-resource */
    OAM_POL_APPLY_ONCE,       /* apply-once */
    OAM_POL_AUTHORITATIVE,    /* authoritative-bindings */
    OAM_POL_TYPE_MAX
};

struct oam_policy {
    enum oam_policy_type type;
    char *name;
    struct oam_pos pos;
    char *path; /* spec.policies[k] */
    /* access-scope */
    struct oam_selector selector;
    struct oam_binding *bindings;
    size_t n_bindings;
    /* allowed-roles */
    struct oam_strs roles;
    /* allowed-members (present flags tell "absent" from "empty") */
    struct oam_strs domains;
    struct oam_strs sa_projects;  /* serviceAccountProjects */
    struct oam_strs member_types; /* memberTypes: principal, principalSet */
    /* lifecycle policies and authoritative-bindings */
    bool has_rules; /* rules key present (take-over: absent = adopt all) */
    struct oam_rule *rules;
    size_t n_rules;
};

struct oam_component {
    char *name;
    enum oam_comp_type type;
    struct oam_pos pos;
    char *path;                 /* spec.components[i] */
    char *project;              /* from properties; NULL if absent (see oam_app.project) */
    char *region;               /* from properties; NULL if absent */
    char *resource_name;        /* properties.name; NULL: the component name */
    struct oam_strs scopes;     /* access-scope policy names named under scopes: */
    struct oam_strs depends_on; /* dependsOn */
    struct oam_trait *traits;
    size_t n_traits;
};

struct oam_app {
    char *name; /* metadata.name */
    struct oam_pos pos;
    const char *file;   /* borrowed from the docset */
    unsigned doc_index; /* 0-based index of the document in its file */
    char *project;      /* roam.dev/project annotation, NULL if absent */
    char *region;       /* roam.dev/region annotation, NULL if absent */
    struct oam_component *comps;
    size_t n_comps;
    struct oam_policy *policies;
    size_t n_policies;
    struct err_list errs; /* non-empty: the app is rejected */
};

/* Every Application read from a set of files. */
struct oam_docset {
    struct oam_app *apps;
    size_t n_apps;
    size_t cap_apps;
    char **files; /* owned file names, referenced by oam_pos.file */
    size_t n_files;
    size_t cap_files;
    /*
     * Problems that belong to no app (YAML syntax errors, caps, a document
     * that cannot even be identified).  Non-empty means the read was partial:
     * no app may be treated as deleted in this pass (DESIGN.md §2 rule 9).
     */
    struct err_list errs;
    /* Informational: documents of other kinds skipped, with the reason. */
    struct err_list notices;
    bool validated; /* oam_validate_set ran: running it again changes nothing */
};

/* Defaults for project and region from the command line. */
struct oam_defaults {
    const char *project; /* --project, NULL if not given */
    const char *region;  /* --region, NULL if not given */
};

void oam_docset_init(struct oam_docset *set);
void oam_docset_release(struct oam_docset *set);
void oam_app_release(struct oam_app *app);

/*
 * Parses one file's bytes (len bytes, not necessarily NUL-terminated) and
 * appends every core.oam.dev/v1beta1 Application in it to set->apps.  Other
 * documents are recorded in set->notices.  File-level problems (YAML syntax,
 * a cap) go to set->errs, and every app already taken from that file gets the
 * problem too (it is rejected: the file cannot be trusted).  Returns 0, or a
 * negative code when the file as a whole was unusable (the problem is in
 * set->errs either way).  `file` is copied.
 */
int oam_parse_file(struct oam_docset *set, const char *file, const char *data, size_t len);

/* Semantic checks of one app; appends to app->errs.  Returns the number of
 * problems found (0: valid). */
int oam_validate(struct oam_app *app, const struct oam_defaults *defs);

/* Runs oam_validate on every app, then cross-app checks (two apps with one
 * name are both rejected).  Returns the number of rejected apps.  Idempotent:
 * a second call only counts (defs must be the same). */
int oam_validate_set(struct oam_docset *set, const struct oam_defaults *defs);

/*
 * Effective project / region of a component: its properties, then the app's
 * roam.dev annotations, then defs.  NULL when none (validation rejects that).
 */
const char *oam_component_project(const struct oam_app *app, const struct oam_component *c,
                                  const struct oam_defaults *defs);
const char *oam_component_region(const struct oam_app *app, const struct oam_component *c,
                                 const struct oam_defaults *defs);
/* The Cloud Run resource name: properties.name, else the component name. */
const char *oam_component_resource(const struct oam_component *c);

/* Document spellings of the enums ("cloud-run-service", "invoker",
 * "access-scope", "onAppUpdate", "verify"), and back (-1 when unknown). */
const char *oam_comp_type_name(enum oam_comp_type t);
const char *oam_trait_type_name(enum oam_trait_type t);
const char *oam_policy_type_name(enum oam_policy_type t);
const char *oam_gc_strategy_name(enum oam_gc_strategy s);
const char *oam_si_mode_name(enum oam_si_mode m);
int oam_comp_type_from_name(const char *s);
int oam_trait_type_from_name(const char *s);
int oam_policy_type_from_name(const char *s);
int oam_gc_strategy_from_name(const char *s);

/*
 * Selector matching: does the selector match component c (and, when
 * trait_type >= 0, a binding that came from a trait of that type; -1 for a
 * binding from a policy such as access-scope)?  Keys are ANDed; a key that is
 * absent matches everything.  `empty_matches_all` decides what a selector
 * with no keys at all (or no selector) means: true for garbage-collect,
 * take-over and authoritative-bindings, false for access-scope
 * (DESIGN.md §2 rule 4).
 */
bool oam_selector_match(const struct oam_selector *sel, const struct oam_component *c,
                        int trait_type, bool empty_matches_all);

/*
 * Canonical printer (used by `roam validate -v` and golden tests): a stable
 * YAML rendering of the parsed app with every default made explicit.  The
 * output re-parses to the same structs.  Returns a string the caller frees.
 */
char *oam_app_print(const struct oam_app *app);

/* ---- platform configuration (--config FILE) ---- */

/*
 * The platform-wide roam configuration:
 *
 *   guardrails:
 *     noPublicAccess: true
 *     allowedRoles: [roles/run.invoker, ...]
 *     allowedMembers: {domains: [...], serviceAccountProjects: [...], memberTypes: [...]}
 *   protect: [user:breakglass@acme.example, ...]   # never removed
 *   identity: [serviceAccount:roam@p.iam.gserviceaccount.com]  # lockout protection
 *   maxRemovals: 50
 *
 * Guardrails here are expressed as oam_policy values (types no-public-access,
 * allowed-roles, allowed-members) so that guard code treats app-level and
 * platform-level ones alike; an app can only tighten them (both apply).
 */
struct oam_config {
    struct oam_policy *guardrails;
    size_t n_guardrails;
    struct oam_strs protect;
    struct oam_strs identity;
    long long max_removals; /* -1: not set */
    struct err_list errs;
    char *file;
};

void oam_config_init(struct oam_config *cfg);
void oam_config_release(struct oam_config *cfg);
/* Parses a config file; problems go to cfg->errs.  Returns 0 or a negative
 * code (problems recorded). */
int oam_config_parse(struct oam_config *cfg, const char *file, const char *data, size_t len);

#endif
