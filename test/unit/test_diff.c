/*
 * test_diff.c - the semantics of DESIGN.md §2 end to end: documents (YAML),
 * live policies and a ledger in, changes, per-app statuses and the successor
 * ledger out, through plan_build() exactly as `roam plan` runs it.
 *
 * Every row is also run a second time against the live state with the
 * plan's changes applied and the plan's ledger: a second pass must find
 * nothing left to change (the plan converges; nothing flip-flops).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define IV "roles/run.invoker"
#define DEV "roles/run.developer"
#define ADMIN "roles/run.admin"
#define SAU "roles/iam.serviceAccountUser"
#define STC "roles/iam.serviceAccountTokenCreator"

/* Frequent apps. */
#define APP_A_INV(members) PF_APP("a") PF_SVC("s1") PF_INVOKER(members)
#define APP_B_INV(members) PF_APP("b") PF_SVC("s1") PF_INVOKER(members)
/* An app whose component s1 declares nothing. */
#define BARE(app) PF_APP(app) "    - name: s1\n      type: cloud-run-service\n"
#define POLICY(name, type) "    - name: " name "\n      type: " type "\n"
#define POLICY_P(name, type, props)                                                                \
    "    - name: " name "\n      type: " type "\n      properties: " props "\n"
#define SHARED PF_POLICIES POLICY("share", "shared-resource")
#define IDENTITY_AND_IMPERSONATION(imp)                                                            \
    "        - type: service-identity\n"                                                           \
    "          properties: {serviceAccount: run-sa@p.iam.gserviceaccount.com}\n"                   \
    "        - type: impersonation\n"                                                              \
    "          properties: " imp "\n"

struct dcase {
    const char *name;
    const char *yaml[3];
    const char *live[8];
    const char *live_json;
    const char *ledger[8];
    const char *revision; /* NULL: r2 */
    const char *config;
    long long max_rm; /* 0: default */
    bool allow;
    bool partial; /* add a file that does not parse */
    const char *changes[10];
    const char *statuses;
    const char *after[10]; /* ledger after the pass; checked when after[0] != NULL */
    const char *msg[3];    /* substrings of the app errors and notes */
    const char *pending;   /* a resource expected in plan.pending */
};

static struct dcase cases[] = {
    /* ---- adding and recording ---- */
    {.name = "declared and absent: added and owned",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:a@x.example declared a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "declared and present: found, not owned",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a found r2 " S1 " " IV " user:a@x.example"}},
    {.name = "owned and present: stays owned at the new revision",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "owned and removed by hand: restored",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " -"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example"},
     .changes = {"+ " S1 " " IV " user:a@x.example restored a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "found and removed by hand: restored and owned from then on",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " ADMIN " user:z@x.example"},
     .ledger = {"a found r1 " S1 " " IV " user:a@x.example"},
     .changes = {"+ " S1 " " IV " user:a@x.example restored a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "e-mails compare case-insensitively",
     .yaml = {APP_A_INV("user:Alice@X.Example")},
     .live = {S1 " " IV " user:alice@x.example"},
     .statuses = "a=ok",
     .after = {"a found r2 " S1 " " IV " user:Alice@X.Example"}},
    {.name = "only the missing member is added",
     .yaml = {APP_A_INV("user:a@x.example, group:g@x.example")},
     .live = {S1 " " IV " user:a@x.example"},
     .changes = {"+ " S1 " " IV " group:g@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "a member declared twice in one app is one binding",
     .yaml = {APP_A_INV("user:a@x.example, user:A@x.example")
                  PF_BINDINGS("{role: " IV ", members: [user:a@x.example]}")},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:a@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "iam-bindings: any role",
     .yaml = {PF_APP("a") PF_SVC("s1")
                  PF_BINDINGS("{role: " DEV ", members: [group:d@x.example]}")},
     .live = {S1 " " IV " user:z@x.example"},
     .changes = {"+ " S1 " " DEV " group:d@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "a job is a resource of its own",
     .yaml = {PF_APP("a") PF_JOB("j1") PF_INVOKER("user:a@x.example")},
     .live = {J1 " -"},
     .changes = {"+ " J1 " " IV " user:a@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "invoker role can be overridden",
     .yaml = {PF_APP("a") PF_SVC("s1") "        - type: invoker\n"
                                       "          properties: {role: " DEV
                                       ", members: [user:a@x.example]}\n"},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " DEV " user:a@x.example declared a"},
     .statuses = "a=ok"},

    /* ---- conditions and unmanaged bindings ---- */
    {.name = "a condition keeps a binding apart from the unconditional one",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS(
         "{role: " DEV ", members: [user:a@x.example], condition: " PF_YAML_COND_Q3 "}")},
     .live = {S1 " " DEV " user:a@x.example"},
     .changes = {"+ " S1 " " DEV " user:a@x.example cond=q3 declared a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " DEV " user:a@x.example cond=q3"}},
    {.name = "an unconditional declaration ignores a conditional live binding",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS("{role: " DEV ", members: [user:a@x.example]}")},
     .live = {S1 " " DEV " cond=q3 user:a@x.example"},
     .changes = {"+ " S1 " " DEV " user:a@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "two conditions are two bindings",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS(
         "{role: " DEV ", members: [user:a@x.example], condition: " PF_YAML_COND_Q4 "}")},
     .live = {S1 " " DEV " cond=q3 user:a@x.example"},
     .ledger = {"a owned r1 " S1 " " DEV " user:a@x.example cond=q3"},
     .changes = {"+ " S1 " " DEV " user:a@x.example cond=q4 declared a",
                 "- " S1 " " DEV " user:a@x.example cond=q3 pruned a"},
     .statuses = "a=ok"},
    {.name = "unmanaged roles and members are left alone",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " ADMIN " user:z@x.example", S1 " " IV " user:a@x.example user:other@x.example"},
     .statuses = "a=ok"},
    {.name = "the policy of a resource nobody declares is not touched",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example", S2 " " IV " allUsers"},
     .statuses = "a=ok"},

    /* ---- service accounts ---- */
    {.name = "impersonation: actAs and tokenCreators on the service account",
     .yaml = {PF_APP("a") PF_SVC("s1") IDENTITY_AND_IMPERSONATION(
         "{actAs: [group:deployers@x.example], tokenCreators: [user:t@x.example]}")},
     .live = {S1 " -", SA1 " -"},
     .changes = {"+ " SA1 " " SAU " group:deployers@x.example declared a",
                 "+ " SA1 " " STC " user:t@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "impersonation with a condition",
     .yaml = {PF_APP("a") PF_SVC("s1") IDENTITY_AND_IMPERSONATION(
         "{actAs: [group:deployers@x.example], condition: " PF_YAML_COND_Q3 "}")},
     .live = {S1 " -", SA1 " " SAU " group:deployers@x.example"},
     .changes = {"+ " SA1 " " SAU " group:deployers@x.example cond=q3 declared a"},
     .statuses = "a=ok"},
    {.name = "impersonation of an account whose project cannot be told: rejected",
     .yaml = {PF_APP("a") PF_SVC("s1") "        - type: impersonation\n"
                                       "          properties: {serviceAccount: "
                                       "123-compute@developer.gserviceaccount.com, actAs: "
                                       "[group:deployers@x.example]}\n"},
     .live = {S1 " -"},
     .statuses = "a=rejected",
     .msg = {"cannot tell the project of service account"}},

    /* ---- access-scope ---- */
    {.name = "access-scope: granted to the components its selector matches",
     .yaml = {BARE("a") "    - name: s2\n      type: cloud-run-service\n" PF_POLICIES POLICY_P(
         "internal", "access-scope",
         "{selector: {componentNames: [s2]}, bindings: [{role: " IV
         ", members: [group:f@x.example]}]}")},
     .live = {S1 " -", S2 " -"},
     .changes = {"+ " S2 " " IV " group:f@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "access-scope: granted to components that name it under scopes",
     .yaml = {PF_APP("a") "    - name: s1\n"
                          "      type: cloud-run-service\n"
                          "      scopes: {access-scope: internal}\n"
                          "    - name: s2\n"
                          "      type: cloud-run-service\n" PF_POLICIES POLICY_P(
                              "internal", "access-scope",
                              "{bindings: [{role: " IV ", members: [group:f@x.example]}]}")},
     .live = {S1 " -", S2 " -"},
     .changes = {"+ " S1 " " IV " group:f@x.example declared a"},
     .statuses = "a=ok"},
    {.name = "access-scope: an empty selector matches no component",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example") PF_POLICIES POLICY_P(
         "internal", "access-scope",
         "{selector: {}, bindings: [{role: " IV ", members: [group:f@x.example]}]}")},
     .live = {S1 " " IV " user:a@x.example"},
     .statuses = "a=ok"},

    /* ---- revocation through the ledger ---- */
    {.name = "a member removed from the source is pruned",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example user:old@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:old@x.example"},
     .changes = {"- " S1 " " IV " user:old@x.example pruned a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "a trait removed from the source is pruned",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}")},
     .live = {S1 " " IV " user:a@x.example", S1 " " DEV " user:d@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " DEV " user:d@x.example"},
     .changes = {"- " S1 " " IV " user:a@x.example pruned a"},
     .statuses = "a=ok"},
    {.name = "a component removed from the source is pruned",
     .yaml = {PF_APP("a") PF_SVC("s2") PF_INVOKER("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example", S2 " " IV " user:a@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S2 " " IV " user:a@x.example"},
     .changes = {"- " S1 " " IV " user:a@x.example pruned a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S2 " " IV " user:a@x.example"}},
    {.name = "an app deleted from a complete listing is pruned",
     .yaml = {APP_B_INV("user:b@x.example")},
     .live = {S1 " " IV " user:a@x.example user:b@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "b owned r1 " S1 " " IV " user:b@x.example"},
     .changes = {"- " S1 " " IV " user:a@x.example pruned a"},
     .statuses = "a=ok b=ok",
     .after = {"b owned r2 " S1 " " IV " user:b@x.example"},
     .msg = {"app 'a' is no longer in the source"}},
    {.name = "a partial listing keeps an absent app's bindings",
     .yaml = {APP_B_INV("user:b@x.example")},
     .partial = true,
     .live = {S1 " " IV " user:a@x.example user:b@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "b owned r1 " S1 " " IV " user:b@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"a owned r1 " S1 " " IV " user:a@x.example",
               "b owned r2 " S1 " " IV " user:b@x.example"},
     .msg = {"partially read source", "source read partially"}},
    {.name = "a found binding no longer declared is forgotten, never removed",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example user:f@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a found r1 " S1 " " IV " user:f@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "a pruned binding already gone is just dropped from the ledger",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:gone@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "a resource deleted with its app leaves nothing to prune",
     .yaml = {APP_B_INV("user:b@x.example")},
     .live = {S1 " " IV " user:b@x.example", S2 " null"},
     .ledger = {"a owned r1 " S2 " " IV " user:a@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"b found r2 " S1 " " IV " user:b@x.example"}},

    /* ---- garbage-collect strategies ---- */
    {.name = "gc onAppDelete: kept while the app exists",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example user:k@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:k@x.example gc=onAppDelete"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example",
               "a owned r1 " S1 " " IV " user:k@x.example gc=onAppDelete"}},
    {.name = "gc onAppDelete: pruned when the app is deleted",
     .yaml = {APP_B_INV("user:b@x.example")},
     .live = {S1 " " IV " user:b@x.example user:k@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:k@x.example gc=onAppDelete"},
     .changes = {"- " S1 " " IV " user:k@x.example pruned a"},
     .statuses = "a=ok b=ok"},
    {.name = "gc never: released, left in place",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example user:n@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:n@x.example gc=never"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "gc never: a deleted app's binding stays too",
     .yaml = {APP_B_INV("user:b@x.example")},
     .live = {S1 " " IV " user:b@x.example user:n@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:n@x.example gc=never"},
     .statuses = "a=ok b=ok",
     .after = {"b found r2 " S1 " " IV " user:b@x.example"}},
    {.name = "gc rules: the first matching rule decides the recorded strategy",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
                  PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}") PF_POLICIES POLICY_P(
                      "gc", "garbage-collect",
                      "{rules: [{selector: {traitTypes: [iam-bindings]}, strategy: never}, "
                      "{selector: {}, strategy: onAppDelete}]}")},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:a@x.example declared a",
                 "+ " S1 " " DEV " user:d@x.example declared a"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example gc=onAppDelete",
               "a owned r2 " S1 " " DEV " user:d@x.example gc=never"}},

    /* ---- rejected apps ---- */
    {.name = "a rejected app writes nothing and keeps its ledger",
     .yaml = {PF_APP("a") PF_SVC("s1") "        - type: scaler\n"
                                       "          properties: {}\n"},
     .live = {S1 " -"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example"},
     .statuses = "a=rejected",
     .after = {"a owned r1 " S1 " " IV " user:a@x.example"}},
    {.name = "two apps with one name are both rejected",
     .yaml = {APP_A_INV("user:a@x.example"), APP_A_INV("user:b@x.example")},
     .live = {S1 " -"},
     .statuses = "a=rejected"},

    /* ---- take-over ---- */
    {.name = "take-over adopts an existing binding",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("adopt", "take-over")},
     .live = {S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "take-over with rules adopts what they select",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
                  PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}") PF_POLICIES POLICY_P(
                      "adopt", "take-over", "{rules: [{selector: {traitTypes: [invoker]}}]}")},
     .live = {S1 " " IV " user:a@x.example", S1 " " DEV " user:d@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example",
               "a found r2 " S1 " " DEV " user:d@x.example"}},
    {.name = "take-over with rules: [] adopts nothing",
     .yaml = {APP_A_INV("user:a@x.example")
                  PF_POLICIES POLICY_P("adopt", "take-over", "{rules: []}")},
     .live = {S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a found r2 " S1 " " IV " user:a@x.example"}},
    {.name = "an adopted binding is pruned once no longer declared",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("adopt", "take-over")},
     .live = {S1 " " IV " user:a@x.example user:t@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:t@x.example"},
     .changes = {"- " S1 " " IV " user:t@x.example pruned a"},
     .statuses = "a=ok"},

    /* ---- shared-resource ---- */
    {.name = "shared: two apps declare a new binding, one add, both own it",
     .yaml = {APP_A_INV("user:x@x.example") SHARED, APP_B_INV("user:x@x.example") SHARED},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:x@x.example declared a"},
     .statuses = "a=ok b=ok",
     .after = {"a owned r2 " S1 " " IV " user:x@x.example shared",
               "b owned r2 " S1 " " IV " user:x@x.example shared"}},
    {.name = "shared: kept while another owner declares it",
     .yaml = {BARE("a") SHARED, APP_B_INV("user:x@x.example") SHARED},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example shared",
                "b owned r1 " S1 " " IV " user:x@x.example shared"},
     .statuses = "a=ok b=ok",
     .after = {"b owned r2 " S1 " " IV " user:x@x.example shared"}},
    {.name = "shared: pruned when the last owner drops it",
     .yaml = {BARE("a") SHARED, APP_B_INV("user:b@x.example") SHARED},
     .live = {S1 " " IV " user:x@x.example user:b@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example shared"},
     .changes = {"- " S1 " " IV " user:x@x.example pruned a"},
     .statuses = "a=ok b=ok"},
    {.name = "shared: both owners drop it in one pass, removed once",
     .yaml = {BARE("a") SHARED, BARE("b") SHARED},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example shared",
                "b owned r1 " S1 " " IV " user:x@x.example shared"},
     .changes = {"- " S1 " " IV " user:x@x.example pruned a"},
     .statuses = "a=ok b=ok"},
    {.name = "shared: an owner kept by onAppDelete still counts",
     .yaml = {BARE("a") SHARED, BARE("b") SHARED},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example shared",
                "b owned r1 " S1 " " IV " user:x@x.example shared gc=onAppDelete"},
     .statuses = "a=ok b=ok",
     .after = {"b owned r1 " S1 " " IV " user:x@x.example gc=onAppDelete shared"}},

    /* ---- one owner per binding ---- */
    {.name = "conflict: two apps declare a new binding, the first by name takes it",
     .yaml = {APP_B_INV("user:x@x.example"), APP_A_INV("user:x@x.example")},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:x@x.example declared a"},
     .statuses = "a=ok b=rejected",
     .after = {"a owned r2 " S1 " " IV " user:x@x.example"},
     .msg = {"is also declared by app 'a'"}},
    {.name = "conflict: the ledger owner wins over name order",
     .yaml = {APP_A_INV("user:x@x.example"), APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"b owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=rejected b=ok",
     .after = {"b owned r2 " S1 " " IV " user:x@x.example"},
     .msg = {"binding (" IV ", user:x@x.example) on " S1 " is owned by app 'b'"}},
    {.name = "conflict: nothing of the rejected app is written",
     .yaml = {APP_A_INV("user:x@x.example"), PF_APP("b") PF_SVC("s1") PF_INVOKER("user:x@x.example")
                                                 PF_SVC("s2") PF_INVOKER("user:y@x.example")},
     .live = {S1 " " IV " user:x@x.example", S2 " -"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=ok b=rejected"},
    {.name = "conflict: the owner of a rejected app still holds its binding",
     .yaml = {PF_APP("a") PF_SVC("s1") "        - type: scaler\n", APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=rejected b=rejected",
     .msg = {"is owned by app 'a'"}},
    {.name = "transfer: an owner that stops declaring hands over without a removal",
     .yaml = {APP_A_INV("user:a@x.example"), APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:a@x.example user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example",
               "b owned r2 " S1 " " IV " user:x@x.example"}},
    {.name = "transfer: an owner kept by onAppDelete hands over to a new declarer",
     .yaml = {APP_A_INV("user:a@x.example"), APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:a@x.example user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:x@x.example gc=onAppDelete"},
     .statuses = "a=ok b=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example",
               "b owned r2 " S1 " " IV " user:x@x.example"}},
    {.name = "transfer: a deleted owner hands over without a removal",
     .yaml = {APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"b owned r2 " S1 " " IV " user:x@x.example"}},
    {.name = "apps that only find a binding do not conflict",
     .yaml = {APP_A_INV("user:x@x.example"), APP_B_INV("user:x@x.example")},
     .live = {S1 " " IV " user:x@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"a found r2 " S1 " " IV " user:x@x.example",
               "b found r2 " S1 " " IV " user:x@x.example"}},

    {.name = "conflict: a binding recorded as found goes to its finder",
     .yaml = {APP_A_INV("user:x@x.example"), APP_B_INV("user:x@x.example")},
     .live = {S1 " -"},
     .ledger = {"b found r1 " S1 " " IV " user:x@x.example"},
     .changes = {"+ " S1 " " IV " user:x@x.example restored b"},
     .statuses = "a=rejected b=ok",
     .after = {"b owned r2 " S1 " " IV " user:x@x.example"}},
    {.name = "conflict: settled in rounds, a loser's claims do not reject others",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:k1@x.example, user:k2@x.example"),
              APP_B_INV("user:k2@x.example"),
              PF_APP("c") PF_SVC("s1") PF_INVOKER("user:k1@x.example")},
     .live = {S1 " " IV " user:k1@x.example"},
     .ledger = {"c owned r1 " S1 " " IV " user:k1@x.example"},
     .changes = {"+ " S1 " " IV " user:k2@x.example declared b"},
     .statuses = "a=rejected b=ok c=ok",
     .msg = {"is owned by app 'c'"}},
    {.name = "conflict: two apps owning what the other declares are both rejected",
     .yaml = {APP_A_INV("user:k1@x.example, user:k2@x.example"),
              APP_B_INV("user:k1@x.example, user:k2@x.example")},
     .live = {S1 " " IV " user:k1@x.example user:k2@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:k1@x.example",
                "b owned r1 " S1 " " IV " user:k2@x.example"},
     .statuses = "a=rejected b=rejected",
     .after = {"a owned r1 " S1 " " IV " user:k1@x.example",
               "b owned r1 " S1 " " IV " user:k2@x.example"}},
    {.name = "a read-only declaration elsewhere prevents a prune",
     .yaml = {APP_A_INV("user:a@x.example"),
              APP_B_INV("user:x@x.example") PF_POLICIES POLICY("observe", "read-only")},
     .live = {S1 " " IV " user:a@x.example user:x@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example",
                "a owned r1 " S1 " " IV " user:x@x.example"},
     .statuses = "a=ok b=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"}},
    {.name = "a resource only in the ledger and not read is left alone",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " " IV " user:a@x.example"},
     .ledger = {"a owned r1 " S2 " " IV " user:old@x.example"},
     .statuses = "a=ok",
     .after = {"a found r2 " S1 " " IV " user:a@x.example",
               "a owned r1 " S2 " " IV " user:old@x.example"}},
    {.name = "a guardrail rejection is not a deletion",
     .yaml = {APP_A_INV("allUsers") PF_POLICIES POLICY("np", "no-public-access")},
     .live = {S1 " " IV " user:old@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:old@x.example"},
     .statuses = "a=rejected",
     .after = {"a owned r1 " S1 " " IV " user:old@x.example"}},

    /* ---- read-only and apply-once ---- */
    {.name = "read-only: a missing binding is reported, not written",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("observe", "read-only")},
     .live = {S1 " -"},
     .statuses = "a=ok",
     .msg = {"not applied (read-only)"}},
    {.name = "read-only: the ledger record stays as it was",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("observe", "read-only")},
     .live = {S1 " -"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r1 " S1 " " IV " user:a@x.example"}},
    {.name = "apply-once: drift at the same revision is not reverted",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("once", "apply-once")},
     .live = {S1 " -"},
     .ledger = {"a owned r2 " S1 " " IV " user:a@x.example"},
     .statuses = "a=ok",
     .after = {"a owned r2 " S1 " " IV " user:a@x.example"},
     .msg = {"(apply-once)"}},
    {.name = "apply-once: a new revision writes again",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY("once", "apply-once")},
     .live = {S1 " -"},
     .ledger = {"a owned r1 " S1 " " IV " user:a@x.example"},
     .changes = {"+ " S1 " " IV " user:a@x.example restored a"},
     .statuses = "a=ok"},

    /* ---- authoritative-bindings ---- */
    {.name = "authoritative roles: undeclared and deleted: members go",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P(
         "exact", "authoritative-bindings",
         "{rules: [{selector: {componentNames: [s1]}, roles: [" IV "]}]}")},
     .live = {S1 " " IV " user:a@x.example user:z@x.example deleted:user:q@x.example?uid=1",
              S1 " " ADMIN " user:y@x.example"},
     .changes = {"- " S1 " " IV " user:z@x.example authoritative a",
                 "- " S1 " " IV " deleted:user:q@x.example?uid=1 authoritative a"},
     .statuses = "a=ok"},
    {.name = "authoritative without roles: every unconditional role",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P(
         "exact", "authoritative-bindings", "{rules: [{selector: {componentNames: [s1]}}]}")},
     .live = {S1 " " IV " user:a@x.example user:z@x.example", S1 " " ADMIN " user:y@x.example",
              S1 " " DEV " cond=q3 user:c@x.example"},
     .allow = true,
     .changes = {"- " S1 " " IV " user:z@x.example authoritative a",
                 "- " S1 " " ADMIN " user:y@x.example authoritative a"},
     .statuses = "a=ok"},
    {.name = "authoritative: conditional bindings the app does not declare are kept",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS("{role: " DEV ", members: [user:a@x.example]}")
                  PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                       "{rules: [{roles: [" DEV "]}]}")},
     .live = {S1 " " DEV " user:a@x.example user:z@x.example",
              S1 " " DEV " cond=q3 user:c@x.example"},
     .changes = {"- " S1 " " DEV " user:z@x.example authoritative a"},
     .statuses = "a=ok"},
    {.name = "authoritative: a conditional binding the app declares is governed",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS(
         "{role: " DEV ", members: [user:a@x.example], condition: " PF_YAML_COND_Q3 "}")
                  PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                       "{rules: [{roles: [" DEV "]}]}")},
     .live = {S1 " " DEV " cond=q3 user:a@x.example user:z@x.example",
              S1 " " DEV " cond=q4 user:w@x.example"},
     .changes = {"- " S1 " " DEV " user:z@x.example cond=q3 authoritative a"},
     .statuses = "a=ok"},
    {.name = "authoritative: members other apps declare stay",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                                                 "{rules: [{roles: [" IV "]}]}"),
              APP_B_INV("user:b@x.example")},
     .live = {S1 " " IV " user:a@x.example user:b@x.example user:z@x.example"},
     .changes = {"- " S1 " " IV " user:z@x.example authoritative a"},
     .statuses = "a=ok b=ok"},
    {.name = "authoritative wins over garbage-collect never",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                                                 "{rules: [{roles: [" IV "]}]}")},
     .live = {S1 " " IV " user:a@x.example user:n@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:n@x.example gc=never"},
     .changes = {"- " S1 " " IV " user:n@x.example authoritative a"},
     .statuses = "a=ok",
     .after = {"a found r2 " S1 " " IV " user:a@x.example"}},
    {.name = "authoritative governs the component, not its service account",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
                  IDENTITY_AND_IMPERSONATION("{actAs: [group:deployers@x.example]}")
                      PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                           "{rules: [{roles: [" SAU "]}]}")},
     .live = {S1 " " IV " user:a@x.example",
              SA1 " " SAU " group:deployers@x.example user:z@x.example"},
     .statuses = "a=ok"},

    /* ---- safety ---- */
    {.name = "max removals: over the limit the app is refused",
     .yaml = {BARE("a")},
     .max_rm = 1,
     .live = {S1 " " IV " user:o1@x.example user:o2@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:o1@x.example",
                "a owned r1 " S1 " " IV " user:o2@x.example"},
     .statuses = "a=failed",
     .after = {"a owned r1 " S1 " " IV " user:o1@x.example",
               "a owned r1 " S1 " " IV " user:o2@x.example"},
     .msg = {"refusing to remove 2 bindings (limit 1); pass --allow-mass-removal"}},
    {.name = "max removals: --allow-mass-removal proceeds",
     .yaml = {BARE("a")},
     .max_rm = 1,
     .allow = true,
     .live = {S1 " " IV " user:o1@x.example user:o2@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:o1@x.example",
                "a owned r1 " S1 " " IV " user:o2@x.example"},
     .changes = {"- " S1 " " IV " user:o1@x.example pruned a",
                 "- " S1 " " IV " user:o2@x.example pruned a"},
     .statuses = "a=ok"},
    {.name = "max removals: a deleted app's prunes count, the deletion is refused",
     .yaml = {APP_B_INV("user:b@x.example")},
     .max_rm = 1,
     .live = {S1 " " IV " user:b@x.example user:o1@x.example user:o2@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:o1@x.example",
                "a owned r1 " S1 " " IV " user:o2@x.example"},
     .statuses = "a=failed b=ok",
     .after = {"a owned r1 " S1 " " IV " user:o1@x.example",
               "a owned r1 " S1 " " IV " user:o2@x.example",
               "b found r2 " S1 " " IV " user:b@x.example"}},
    {.name = "lockout: removing roam's own identity is refused",
     .yaml = {BARE("a")},
     .config = "identity: [serviceAccount:roam@p.iam.gserviceaccount.com]\n",
     .live = {S1 " " IV " serviceAccount:roam@p.iam.gserviceaccount.com"},
     .ledger = {"a owned r1 " S1 " " IV " serviceAccount:roam@p.iam.gserviceaccount.com"},
     .statuses = "a=failed",
     .msg = {"refusing to remove roam's own identity"}},
    {.name = "emptying an authoritative role is refused",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                                                 "{rules: [{roles: [" DEV "]}]}")},
     .live = {S1 " " IV " user:a@x.example", S1 " " DEV " user:z@x.example"},
     .statuses = "a=failed",
     .msg = {"refusing to empty authoritative role " DEV " on " S1}},
    {.name = "emptying a role of deleted: members only is allowed",
     .yaml = {APP_A_INV("user:a@x.example") PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                                                 "{rules: [{roles: [" DEV "]}]}")},
     .live = {S1 " " IV " user:a@x.example", S1 " " DEV " deleted:user:z@x.example?uid=7"},
     .changes = {"- " S1 " " DEV " deleted:user:z@x.example?uid=7 authoritative a"},
     .statuses = "a=ok"},
    {.name = "protected members are never removed",
     .yaml = {APP_A_INV("user:a@x.example")},
     .config = "protect: [user:breakglass@x.example]\n",
     .live = {S1 " " IV " user:a@x.example user:breakglass@x.example user:o@x.example"},
     .ledger = {"a owned r1 " S1 " " IV " user:breakglass@x.example",
                "a owned r1 " S1 " " IV " user:o@x.example"},
     .changes = {"- " S1 " " IV " user:o@x.example pruned a"},
     .statuses = "a=ok",
     .msg = {"kept protected member user:breakglass@x.example"}},

    /* ---- guardrails ---- */
    {.name = "guardrails: every violation at once, the app rejected",
     .yaml = {PF_APP("a") PF_SVC("s1")
                  PF_INVOKER("allUsers, user:eve@evil.example, user:ok@x.example")
                      PF_BINDINGS("{role: " ADMIN ", members: [user:ok@x.example]}")
                          PF_POLICIES POLICY("no-public", "no-public-access")
                              POLICY_P("roles", "allowed-roles", "{roles: [" IV "]}")
                                  POLICY_P("members", "allowed-members", "{domains: [x.example]}")},
     .live = {S1 " -"},
     .statuses = "a=rejected",
     .msg = {"member 'allUsers' is not allowed by policy 'no-public'",
             "member 'user:eve@evil.example' is not allowed by policy 'members' (domain "
             "'evil.example' not in domains)",
             "role '" ADMIN "' is not allowed by policy 'roles'"}},
    {.name = "guardrails: the platform's apply as well",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_BINDINGS("{role: " DEV ", members: [user:a@x.example]}")},
     .config = "guardrails: {allowedRoles: [" IV "]}\n",
     .live = {S1 " -"},
     .statuses = "a=rejected",
     .msg = {"not allowed by platform guardrail 'allowedRoles'"}},
    {.name = "guardrails: impersonation members are checked",
     .yaml = {PF_APP("a") PF_SVC("s1") IDENTITY_AND_IMPERSONATION(
         "{actAs: [serviceAccount:ci@other.iam.gserviceaccount.com]}")
                  PF_POLICIES POLICY_P("members", "allowed-members",
                                       "{domains: [x.example], serviceAccountProjects: [p]}")},
     .live = {S1 " -", SA1 " -"},
     .statuses = "a=rejected",
     .msg = {"project 'other' not in serviceAccountProjects"}},

    /* ---- pending ---- */
    {.name = "pending: a resource that does not exist yet",
     .yaml = {APP_A_INV("user:a@x.example")},
     .live = {S1 " null"},
     .ledger = {"a owned r1 " S1 " " IV " user:old@x.example"},
     .statuses = "a=pending",
     .pending = S1,
     .after = {"a owned r1 " S1 " " IV " user:old@x.example"}},
    {.name = "pending: a resource missing from the live state",
     .yaml = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example") PF_SVC("s2")
                  PF_INVOKER("user:a@x.example")},
     .live = {S1 " -"},
     .changes = {"+ " S1 " " IV " user:a@x.example declared a"},
     .statuses = "a=pending",
     .pending = S2},
};

/* ---- runner ---- */

struct run {
    struct oam_docset docs;
    struct oam_config cfg;
    struct ledger ledger;
    struct plan plan;
};

static int build(const struct dcase *c, struct run *r, struct iam_live *live,
                 const struct ledger *ledger)
{
    static const char broken[] = "apiVersion: core.oam.dev/v1beta1\nkind: [\n";
    const char *yaml[4] = {c->yaml[0], c->yaml[1], c->yaml[2], c->partial ? broken : NULL};
    struct oam_defaults defs = {NULL, NULL};
    struct plan_request req;

    pf_docs(&r->docs, yaml, 4);
    memset(&req, 0, sizeof(req));
    req.source = "test";
    req.revision = c->revision != NULL ? c->revision : "r2";
    req.docs = &r->docs;
    req.defs = &defs;
    req.live = live;
    req.ledger = ledger;
    guard_opts_init(&req.guard);
    if (c->max_rm > 0)
        req.guard.max_removals = c->max_rm;
    req.guard.allow_mass_removal = c->allow;
    req.guard.config = pf_config(&r->cfg, c->config);
    return plan_build(&r->plan, &req);
}

static void run_release(struct run *r)
{
    plan_release(&r->plan);
    oam_config_release(&r->cfg);
    oam_docset_release(&r->docs);
}

/* The plan of the failing row, for its messages. */
static const struct plan *current;

static void expect_str(const char *what, const char *name, const char *got, const char *want)
{
    char *msgs;

    if (strcmp(got, want) == 0)
        return;
    msgs = current != NULL ? pf_messages(current) : NULL;
    print_error("%s: %s\n--- got:\n%s\n--- want:\n%s\n--- messages:\n%s", name, what, got, want,
                msgs != NULL ? msgs : "");
    free(msgs);
    fail();
}

static void check_result(const struct dcase *c, const struct plan *p)
{
    char *got, *want, *msgs;

    current = p;
    got = pf_changes(p);
    want = pf_join_sorted(c->changes, N_ELEMS(c->changes));
    expect_str("changes", c->name, got, want);
    free(got);
    free(want);
    got = pf_statuses(p);
    expect_str("statuses", c->name, got, c->statuses != NULL ? c->statuses : "");
    free(got);
    if (c->after[0] != NULL) {
        got = pf_ledger_lines(&p->ledger);
        want = pf_join_sorted(c->after, N_ELEMS(c->after));
        expect_str("ledger", c->name, got, want);
        free(got);
        free(want);
    }
    msgs = pf_messages(p);
    for (size_t i = 0; i < N_ELEMS(c->msg) && c->msg[i] != NULL; i++)
        if (strstr(msgs, c->msg[i]) == NULL) {
            print_error("%s: no message contains '%s' in:\n%s\n", c->name, c->msg[i], msgs);
            fail();
        }
    free(msgs);
    if (c->pending != NULL) {
        bool found = false;

        for (size_t i = 0; i < p->n_pending; i++)
            found = found || strcmp(p->pending[i], c->pending) == 0;
        if (!found) {
            print_error("%s: %s is not pending\n", c->name, c->pending);
            fail();
        }
    }
}

static void test_case(void **state)
{
    const struct dcase *c = *state;
    struct iam_live live;
    struct ledger ledger;
    struct run r1, r2;
    char *again;

    pf_live(&live, c->live, N_ELEMS(c->live), c->live_json);
    pf_ledger(&ledger, c->ledger, N_ELEMS(c->ledger));
    assert_int_equal(build(c, &r1, &live, &ledger), 0);
    check_result(c, &r1.plan);

    /* The next pass, after the writes, has nothing left to do. */
    pf_apply(&live, &r1.plan);
    assert_int_equal(build(c, &r2, &live, &r1.plan.ledger), 0);
    current = &r2.plan;
    again = pf_changes(&r2.plan);
    expect_str("second pass", c->name, again, "");
    free(again);

    run_release(&r2);
    run_release(&r1);
    ledger_release(&ledger);
    iam_live_release(&live);
}

/*
 * What apply writes: the live policy with the plan's changes, everything
 * else (auditConfigs, unknown fields, the etag, bindings roam does not
 * manage, conditional bindings it did not declare) byte for byte.
 */
static void test_policy_preserved(void **state)
{
    static const char live_json[] =
        "{\"" S1 "\":{\"version\":1,\"etag\":\"BwWWja0YfJA=\",\"bindings\":["
        "{\"role\":\"" ADMIN "\",\"members\":[\"user:z@x.example\"],\"x-extra\":1},"
        "{\"role\":\"" IV "\",\"members\":[\"user:old@x.example\",\"user:keep@x.example\"]}],"
        "\"auditConfigs\":[{\"service\":\"allServices\",\"auditLogConfigs\":[{\"logType\":"
        "\"DATA_READ\",\"exemptedMembers\":[\"user:x@example.com\"]}]}],\"unknownField\":"
        "{\"a\":[1,2]}}}";
    const char *yaml[1] = {PF_APP("a") PF_SVC("s1") PF_BINDINGS(
        "{role: " DEV ", members: [user:d@x.example], condition: " PF_YAML_COND_Q3 "}")};
    const char *ledger_lines[1] = {"a owned r1 " S1 " " IV " user:old@x.example"};
    struct dcase c = {.name = "preserved"};
    struct iam_live live;
    struct ledger ledger;
    struct run r;
    char *out;

    (void)state;
    c.yaml[0] = yaml[0];
    pf_live(&live, NULL, 0, live_json);
    pf_ledger(&ledger, ledger_lines, 1);
    assert_int_equal(build(&c, &r, &live, &ledger), 0);
    assert_int_equal(r.plan.n_changes, 2);
    assert_int_equal(plan_apply_to_policy(&r.plan, S1, &live.policies[0]), 2);
    out = iam_policy_encode(&live.policies[0]);
    assert_non_null(strstr(out, "\"version\":3"));
    assert_non_null(strstr(out, "\"etag\":\"BwWWja0YfJA=\""));
    assert_non_null(strstr(
        out, "\"auditConfigs\":[{\"service\":\"allServices\",\"auditLogConfigs\":"
             "[{\"logType\":\"DATA_READ\",\"exemptedMembers\":[\"user:x@example.com\"]}]}]"));
    assert_non_null(strstr(out, "\"unknownField\":{\"a\":[1,2]}"));
    assert_non_null(strstr(out, "\"x-extra\":1"));
    assert_non_null(strstr(out, "\"members\":[\"user:keep@x.example\"]"));
    assert_null(strstr(out, "user:old@x.example"));
    assert_non_null(strstr(out, "\"title\":\"q3\""));
    assert_non_null(strstr(out, "user:d@x.example"));
    /* Nothing for a resource the plan does not touch. */
    assert_int_equal(plan_apply_to_policy(&r.plan, S2, &live.policies[0]), 0);
    free(out);
    run_release(&r);
    ledger_release(&ledger);
    iam_live_release(&live);
}

/* A plan without a condition leaves the version as read. */
static void test_version_kept(void **state)
{
    const char *yaml[1] = {APP_A_INV("user:a@x.example")};
    const char *live_lines[1] = {S1 " -"};
    struct dcase c = {.name = "version"};
    struct iam_live live;
    struct ledger ledger;
    struct run r;

    (void)state;
    c.yaml[0] = yaml[0];
    pf_live(&live, live_lines, 1, NULL);
    pf_ledger(&ledger, NULL, 0);
    assert_int_equal(build(&c, &r, &live, &ledger), 0);
    assert_int_equal(plan_apply_to_policy(&r.plan, S1, &live.policies[0]), 1);
    assert_int_equal(live.policies[0].version, 1);
    run_release(&r);
    ledger_release(&ledger);
    iam_live_release(&live);
}

int main(void)
{
    struct CMUnitTest tests[N_ELEMS(cases) + 2];
    size_t n = 0;

    for (size_t i = 0; i < N_ELEMS(cases); i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, &cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_policy_preserved);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_version_kept);
    return _cmocka_run_group_tests("diff", tests, n, NULL, NULL);
}
