/*
 * oam_int.h - what the files of api/oam/ share (private; not for other modules).
 *
 * The decoders (oam_parse.c, oam_trait.c, oam_policy.c, oam_config.c) walk
 * the YAML tree of yaml_tree.h with a field path in hand and report every
 * problem into one err_list through a struct oam_dec.  The helpers below
 * check a node's YAML type, copy strings and string lists, and report
 * unknown and missing keys, always with the file, line, column and path.
 * The syntax checks (members, roles, names, project ids) are shared by the
 * validator and the config parser, so there is one definition of each.
 *
 * Paths: `spec.components[0].traits[1]`; a key that is not a plain
 * identifier is written `metadata.annotations["roam.dev/project"]`.
 */
#ifndef ROAM_OAM_INT_H
#define ROAM_OAM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "oam.h"
#include "yaml_tree.h"

/* Longest user value quoted in a message (longer ones are cut, with "...").*/
#define OAM_MSG_VALUE_MAX 80u

/* Decoding context: where problems go and the file they are about. */
struct oam_dec {
    struct err_list *errs;
    const char *file; /* borrowed */
};

/* ---- paths and messages ---- */

/* "parent.key" or `parent["key"]` ("key" when parent is ""); caller frees. */
char *oam_path_key(const char *parent, const char *key);
/* "parent[i]"; caller frees. */
char *oam_path_idx(const char *parent, size_t i);
/* A copy of s fit for a message: at most OAM_MSG_VALUE_MAX bytes, cut at a
 * UTF-8 character boundary and marked with "..."; caller frees. */
char *oam_clip(const char *s);

struct oam_pos oam_dec_pos(const struct oam_dec *d, const struct oam_ynode *n);
void oam_dec_err(struct oam_dec *d, int code, const struct oam_ynode *n, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Reports at a stored position (validation has positions, not nodes).
 * Both stop adding at CAP_ERRORS_PER_APP problems, with a last entry saying so. */
void oam_pos_err(struct err_list *errs, int code, const struct oam_pos *pos, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- node checks (each reports its own problem and returns false/NULL) ---- */

/*
 * Walks a whole document once: tags outside YAML's core schema, mapping keys
 * that are not scalars, duplicate keys and merge keys are reported with
 * their paths.  Marks nodes seen.
 */
void oam_dec_check_tree(struct oam_dec *d, struct oam_ynode *n, const char *path);

bool oam_dec_map(struct oam_dec *d, const struct oam_ynode *n, const char *path);
bool oam_dec_seq(struct oam_dec *d, const struct oam_ynode *n, const char *path);
/* A string: any non-null scalar, as written, of at most max bytes.  Returns a
 * copy or NULL. */
char *oam_dec_text(struct oam_dec *d, const struct oam_ynode *n, const char *path, size_t max);
/* oam_dec_text() for names, roles and members (CAP_NAME_BYTES). */
char *oam_dec_str(struct oam_dec *d, const struct oam_ynode *n, const char *path);
/* A boolean (true/false in any of YAML's three spellings, unquoted). */
bool oam_dec_bool(struct oam_dec *d, const struct oam_ynode *n, const char *path, bool *ret);
/* A list of at most cap strings into *out (present set; out must be empty). */
void oam_dec_strs(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                  struct oam_strs *out, size_t cap);
/* Reports every key of map that is not in known[] (NULL-terminated) as
 * "unknown <what> 'key'". */
void oam_dec_keys(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                  const char *const *known, const char *what);
/* The value of a required key, or NULL after "missing required field". */
struct oam_ynode *oam_dec_need(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                               const char *key);
/* The key node whose value is `value` in map (for positions of keys). */
const struct oam_ynode *oam_dec_key_of(const struct oam_ynode *map, const struct oam_ynode *value);

/* ---- shared decoders ---- */

/* condition: {title, description, expression}.  NULL after a problem. */
struct oam_cond *oam_dec_cond(struct oam_dec *d, const struct oam_ynode *n, const char *path);
/* {role, members, condition}; allow_cond false rejects a condition. */
void oam_dec_binding(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                     bool allow_cond, struct oam_binding *out);
/* One trait entry into *out; false when it is dropped (unknown type). */
bool oam_dec_trait(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                   struct oam_trait *out);
/* One policy entry into *out; false when it is dropped (unknown type). */
bool oam_dec_policy(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                    struct oam_policy *out);
/* The properties of an allowed-members guardrail (app policy or config). */
void oam_dec_allowed_members(struct oam_dec *d, const struct oam_ynode *props, const char *path,
                             struct oam_policy *p);

/* ---- syntax shared by validation and the config ---- */

/* Member syntax through iam_member_parse; deleted: members are refused. */
bool oam_check_member(struct err_list *errs, const struct oam_pos *pos, const char *path,
                      const char *member);
bool oam_check_role(struct err_list *errs, const struct oam_pos *pos, const char *path,
                    const char *role);
/* Every entry of a list of members / roles (paths path[i]). */
void oam_check_members(struct err_list *errs, const struct oam_strs *s, const char *path);
void oam_check_roles(struct err_list *errs, const struct oam_strs *s, const char *path);
/* The allowed-members lists: domains, serviceAccountProjects, memberTypes
 * (paths under props_path). */
void oam_check_allowed_members(struct err_list *errs, const struct oam_policy *p,
                               const char *props_path);

bool oam_name_ok(const char *s);          /* metadata.name: DNS-1123 subdomain */
bool oam_project_ok(const char *s);       /* Google Cloud project id */
bool oam_region_ok(const char *s);        /* lowercase letters, digits, hyphens */
bool oam_resource_name_ok(const char *s); /* Cloud Run service / job name */
bool oam_domain_ok(const char *s);        /* a DNS domain name */
/* A service-account e-mail (no `serviceAccount:` prefix); *ret_why on error. */
bool oam_sa_email_ok(const char *s, const char **ret_why);

/* ---- lifecycle of the parts (oam_types.c) ---- */

void oam_strs_release(struct oam_strs *s);
void oam_strs_push(struct oam_strs *s, char *v, struct oam_pos pos); /* takes v */
bool oam_strs_has(const struct oam_strs *s, const char *v);
void oam_cond_free(struct oam_cond *c);
void oam_binding_release(struct oam_binding *b);
void oam_trait_release(struct oam_trait *t);
void oam_selector_release(struct oam_selector *s);
void oam_policy_release(struct oam_policy *p);
void oam_component_release(struct oam_component *c);

#endif
