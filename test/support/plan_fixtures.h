/*
 * plan_fixtures.h - compact inputs and outputs for the plan tests.
 *
 * The plan tests are tables; these helpers turn short strings into the
 * structs the plan module takes, and the plan back into short strings, so
 * that a row reads like the situation it describes.
 *
 * Resources are written in full; the S1.. macros spell the usual ones.
 * Conditions are named: `cond=q3` / `cond=q4` stand for PF_COND_Q3 /
 * PF_COND_Q4 (title and expression), which the YAML of a case spells with
 * PF_YAML_COND_Q3 / PF_YAML_COND_Q4.
 *
 * Live lines:   "RESOURCE ROLE [cond=NAME] MEMBER..."  one binding
 *               "RESOURCE null"                       the resource does not exist
 *               "RESOURCE -"                          exists, empty policy
 * Ledger lines: "APP owned|found REVISION RESOURCE ROLE MEMBER [cond=NAME]
 *                [gc=onAppDelete|never] [shared]"
 * Change lines: "+|- RESOURCE ROLE MEMBER [cond=NAME] REASON APP"
 */
#ifndef ROAM_TEST_PLAN_FIXTURES_H
#define ROAM_TEST_PLAN_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

#include "api/iam/iam.h"
#include "api/oam/oam.h"
#include "api/plan/plan.h"

#define PF_RES(s) "projects/p/locations/r/services/" s
#define S1 PF_RES("s1")
#define S2 PF_RES("s2")
#define S3 PF_RES("s3")
#define J1 "projects/p/locations/r/jobs/j1"
#define SA1 "projects/p/serviceAccounts/run-sa@p.iam.gserviceaccount.com"

#define PF_COND_Q3_TITLE "q3"
#define PF_COND_Q3_EXPR "request.time < timestamp('2026-10-01T00:00:00Z')"
#define PF_COND_Q4_TITLE "q4"
#define PF_COND_Q4_EXPR "request.time < timestamp('2027-01-01T00:00:00Z')"
#define PF_YAML_COND_Q3 "{title: q3, expression: \"" PF_COND_Q3_EXPR "\"}"
#define PF_YAML_COND_Q4 "{title: q4, expression: \"" PF_COND_Q4_EXPR "\"}"

/* The head of an Application in project p, region r. */
#define PF_APP(name)                                                                               \
    "apiVersion: core.oam.dev/v1beta1\n"                                                           \
    "kind: Application\n"                                                                          \
    "metadata:\n"                                                                                  \
    "  name: " name "\n"                                                                           \
    "  annotations: {roam.dev/project: p, roam.dev/region: r}\n"                                   \
    "spec:\n"                                                                                      \
    "  components:\n"
#define PF_SVC(name)                                                                               \
    "    - name: " name "\n"                                                                       \
    "      type: cloud-run-service\n"                                                              \
    "      traits:\n"
#define PF_JOB(name)                                                                               \
    "    - name: " name "\n"                                                                       \
    "      type: cloud-run-job\n"                                                                  \
    "      traits:\n"
#define PF_INVOKER(members)                                                                        \
    "        - type: invoker\n"                                                                    \
    "          properties: {members: [" members "]}\n"
#define PF_BINDINGS(list)                                                                          \
    "        - type: iam-bindings\n"                                                               \
    "          properties: {bindings: [" list "]}\n"
#define PF_POLICIES "  policies:\n"

struct iam_cond;

/* The named test condition ("q3", "q4"), or NULL. */
const struct iam_cond *pf_cond(const char *name);

/* Parses each YAML text as file "app<i>.yaml" into docs (initialised). */
void pf_docs(struct oam_docset *docs, const char *const *yaml, size_t n);
/* Builds live state from lines, or decodes json when non-NULL. */
void pf_live(struct iam_live *live, const char *const *lines, size_t n, const char *json);
/* Builds a ledger from lines. */
void pf_ledger(struct ledger *l, const char *const *lines, size_t n);
/* The platform config from YAML (NULL: none); returns cfg or NULL. */
struct oam_config *pf_config(struct oam_config *cfg, const char *yaml);

/* Results as text, one item per line, sorted; caller frees. */
char *pf_changes(const struct plan *p);
char *pf_statuses(const struct plan *p); /* "a=ok b=rejected" */
char *pf_ledger_lines(const struct ledger *l);
/* Joins expected lines (n of them, NULLs skipped) sorted, like the above. */
char *pf_join_sorted(const char *const *lines, size_t n);
/* Every app error and note joined (for substring checks). */
char *pf_messages(const struct plan *p);

/* Applies every change of the plan to the live state (as apply would). */
void pf_apply(struct iam_live *live, const struct plan *p);

#endif
