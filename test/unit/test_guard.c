/*
 * test_guard.c - guard_guardrails() (what an app may declare) and
 * guard_plan() (what a plan may remove).
 *
 * Guardrail rows list every expected violation as "PATH: MESSAGE", all of
 * them: a violation reported twice or not at all fails the row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define IV "roles/run.invoker"
#define DEV "roles/run.developer"
#define POLICY(name, type) "    - name: " name "\n      type: " type "\n"
#define POLICY_P(name, type, props)                                                                \
    "    - name: " name "\n      type: " type "\n      properties: " props "\n"
#define M0 "spec.components[0].traits[0].properties.members"

struct rail_case {
    const char *name;
    const char *yaml;
    const char *config;
    const char *want[8]; /* "PATH: MESSAGE" */
};

static struct rail_case rail_cases[] = {
    {.name = "no guardrails: anything goes",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("allUsers, user:e@evil.example")},
    {.name = "no-public-access: allUsers and allAuthenticatedUsers",
     .yaml =
         PF_APP("a") PF_SVC("s1") PF_INVOKER("allUsers, user:a@x.example, allAuthenticatedUsers")
             PF_POLICIES POLICY("np", "no-public-access"),
     .want = {M0 "[0]: member 'allUsers' is not allowed by policy 'np' (public access)",
              M0 "[2]: member 'allAuthenticatedUsers' is not allowed by policy 'np' (public "
                 "access)"}},
    {.name = "allowed-roles: every binding that declares the role",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
         PF_BINDINGS("{role: " DEV ", members: [user:a@x.example, user:b@x.example]}, {role: " DEV
                     ", members: [user:c@x.example]}")
             PF_POLICIES POLICY_P("roles", "allowed-roles", "{roles: [" IV "]}"),
     .want = {"spec.components[0].traits[1].properties.bindings[0].role: role '" DEV
              "' is not allowed by policy 'roles' (not in roles)",
              "spec.components[0].traits[1].properties.bindings[1].role: role '" DEV
              "' is not allowed by policy 'roles' (not in roles)"}},
    {.name = "allowed-members: domains are exact and case-insensitive",
     .yaml = PF_APP("a") PF_SVC("s1")
         PF_INVOKER("user:a@X.Example, group:g@x.example, user:s@sub.x.example, domain:x.example, "
                    "domain:y.example")
             PF_POLICIES POLICY_P("members", "allowed-members", "{domains: [x.example]}"),
     .want = {M0 "[2]: member 'user:s@sub.x.example' is not allowed by policy 'members' (domain "
                 "'sub.x.example' not in domains)",
              M0 "[4]: member 'domain:y.example' is not allowed by policy 'members' (domain "
                 "'y.example' not in domains)"}},
    {.name = "allowed-members: service accounts by project",
     .yaml = PF_APP("a") PF_SVC("s1")
         PF_INVOKER("serviceAccount:ok@p.iam.gserviceaccount.com, "
                    "serviceAccount:no@q.iam.gserviceaccount.com, "
                    "serviceAccount:1-compute@developer.gserviceaccount.com")
             PF_POLICIES POLICY_P("members", "allowed-members", "{serviceAccountProjects: [p]}"),
     .want = {M0 "[1]: member 'serviceAccount:no@q.iam.gserviceaccount.com' is not allowed by "
                 "policy 'members' (project 'q' not in serviceAccountProjects)",
              M0 "[2]: member 'serviceAccount:1-compute@developer.gserviceaccount.com' is not "
                 "allowed by policy 'members' (cannot tell the project of service account "
                 "'1-compute@developer.gserviceaccount.com')"}},
    {.name = "allowed-members: an absent list admits nothing of its kind",
     .yaml = PF_APP("a") PF_SVC("s1")
         PF_INVOKER("user:a@x.example, serviceAccount:ok@p.iam.gserviceaccount.com, allUsers")
             PF_POLICIES POLICY_P("members", "allowed-members", "{serviceAccountProjects: [p]}"),
     .want = {M0 "[0]: member 'user:a@x.example' is not allowed by policy 'members' (domain "
                 "'x.example' not in domains)",
              M0 "[2]: member 'allUsers' is not allowed by policy 'members' (public members are "
                 "never allowed)"}},
    {.name = "allowed-members: principals only when memberTypes names them",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER(
         "\"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s\", "
         "\"principalSet://iam.googleapis.com/locations/global/workforcePools/p/group/g\"")
         PF_POLICIES POLICY_P("members", "allowed-members", "{memberTypes: [principalSet]}"),
     .want = {M0 "[0]: member "
                 "'principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s' is "
                 "not allowed by policy 'members' (member type 'principal' not in memberTypes)"}},
    {.name = "impersonation members and roles are checked",
     .yaml = PF_APP("a")
         PF_SVC("s1") "        - type: impersonation\n"
                      "          properties: {serviceAccount: "
                      "sa@p.iam.gserviceaccount.com, actAs: [user:e@evil.example], "
                      "tokenCreators: [user:t@x.example]}\n" PF_POLICIES POLICY_P(
                          "roles", "allowed-roles",
                          "{roles: [" IV ", "
                          "roles/iam.serviceAccountUser]}")
                          POLICY_P("members", "allowed-members", "{domains: [x.example]}"),
     .want = {"spec.components[0].traits[0].properties.actAs[0]: member 'user:e@evil.example' is "
              "not allowed by policy 'members' (domain 'evil.example' not in domains)",
              "spec.components[0].traits[0].properties.tokenCreators: role "
              "'roles/iam.serviceAccountTokenCreator' is not allowed by policy 'roles' (not in "
              "roles)"}},
    {.name = "access-scope: checked once at its declaration when it grants something",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example") PF_SVC("s2")
         PF_INVOKER("user:a@x.example")
             PF_POLICIES POLICY_P("callers", "access-scope",
                                  "{selector: {componentNames: [s1, s2]}, bindings: [{role: " IV
                                  ", members: [allUsers]}]}")
                 POLICY_P("unused", "access-scope",
                          "{bindings: [{role: " IV ", members: [allAuthenticatedUsers]}]}")
                     POLICY("np", "no-public-access"),
     .want = {"spec.policies[0].properties.bindings[0].members[0]: member 'allUsers' is not "
              "allowed by policy 'np' (public access)"}},
    {.name = "platform guardrails apply beside the app's own",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example, user:b@y.example")
         PF_POLICIES POLICY_P("members", "allowed-members", "{domains: [x.example]}"),
     .config = "guardrails:\n"
               "  noPublicAccess: true\n"
               "  allowedMembers: {domains: [x.example, y.example]}\n"
               "  allowedRoles: [roles/run.developer]\n",
     .want = {"spec.components[0].traits[0].properties.role: role '" IV
              "' is not allowed by platform guardrail 'allowedRoles' (not in roles)",
              M0 "[1]: member 'user:b@y.example' is not allowed by policy 'members' (domain "
                 "'y.example' not in domains)"}},
};

static char *violations(const struct err_list *errs)
{
    char **v = xcalloc(errs->n + 1, sizeof(*v));
    char *s;

    for (size_t i = 0; i < errs->n; i++)
        v[i] = xasprintf("%s: %s", errs->v[i].path, errs->v[i].msg);
    s = pf_join_sorted((const char *const *)v, errs->n);
    for (size_t i = 0; i < errs->n; i++)
        free(v[i]);
    free(v);
    return s;
}

static void test_rails(void **state)
{
    const struct rail_case *c = *state;
    const char *yaml[1] = {c->yaml};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_config cfg;
    struct oam_docset docs;
    struct desired d;
    struct err_list errs;
    char *got, *want;
    int n;

    pf_docs(&docs, yaml, 1);
    assert_int_equal(docs.n_apps, 1);
    oam_validate(&docs.apps[0], &defs);
    if (docs.apps[0].errs.n > 0)
        print_error("%s: %s\n", c->name, docs.apps[0].errs.v[0].msg);
    assert_int_equal(docs.apps[0].errs.n, 0);
    desired_init(&d);
    err_list_init(&errs);
    assert_true(desired_compile(&d, &docs.apps[0], &defs, &errs) >= 0);
    n = guard_guardrails(&docs.apps[0], &d, pf_config(&cfg, c->config), &errs);
    got = violations(&errs);
    want = pf_join_sorted(c->want, N_ELEMS(c->want));
    if (strcmp(got, want) != 0)
        print_error("%s\n--- got:\n%s--- want:\n%s", c->name, got, want);
    assert_string_equal(got, want);
    assert_int_equal(n, (int)errs.n);
    /* Each violation points at the document. */
    for (size_t i = 0; i < errs.n; i++) {
        assert_string_equal(errs.v[i].file, "app0.yaml");
        assert_true(errs.v[i].line > 0);
        assert_int_equal(errs.v[i].code, ERR_REJECTED);
    }
    free(got);
    free(want);
    err_list_release(&errs);
    desired_release(&d);
    oam_config_release(&cfg);
    oam_docset_release(&docs);
}

/* ---- guard_plan through the pipeline ---- */

struct pass {
    struct oam_docset docs;
    struct oam_config cfg;
    struct iam_live live;
    struct ledger ledger;
    struct plan plan;
};

static void pass_run(struct pass *p, const char *yaml, const char *const *live, size_t n_live,
                     const char *const *ledger, size_t n_ledger, const char *config,
                     const struct guard_opts *opts)
{
    const char *files[1] = {yaml};
    struct oam_defaults defs = {NULL, NULL};
    struct plan_request req;

    pf_docs(&p->docs, files, 1);
    pf_live(&p->live, live, n_live, NULL);
    pf_ledger(&p->ledger, ledger, n_ledger);
    memset(&req, 0, sizeof(req));
    req.source = "src";
    req.revision = "r2";
    req.docs = &p->docs;
    req.defs = &defs;
    req.live = &p->live;
    req.ledger = &p->ledger;
    req.guard = *opts;
    req.guard.config = pf_config(&p->cfg, config);
    assert_int_equal(plan_build(&p->plan, &req), 0);
}

static void pass_release(struct pass *p)
{
    plan_release(&p->plan);
    ledger_release(&p->ledger);
    iam_live_release(&p->live);
    oam_config_release(&p->cfg);
    oam_docset_release(&p->docs);
}

#define BARE_A PF_APP("a") "    - name: s1\n      type: cloud-run-service\n"

static const char *const three_owned[] = {
    "a owned r1 " S1 " " IV " user:o1@x.example",
    "a owned r1 " S1 " " IV " user:o2@x.example",
    "a owned r1 " S1 " " IV " user:o3@x.example",
};
static const char *const three_live[] = {
    S1 " " IV " user:o1@x.example user:o2@x.example user:o3@x.example",
};

static void test_limit_is_inclusive(void **state)
{
    struct guard_opts o;
    struct pass p;

    (void)state;
    guard_opts_init(&o);
    o.max_removals = 3;
    pass_run(&p, BARE_A, three_live, 1, three_owned, 3, NULL, &o);
    assert_int_equal(p.plan.n_changes, 3);
    assert_int_equal(plan_find_app(&p.plan, "a")->status, PLAN_APP_OK);
    assert_int_equal(plan_find_app(&p.plan, "a")->removes, 3);
    pass_release(&p);
}

static void test_limit_from_config(void **state)
{
    struct guard_opts o;
    struct pass p;
    const struct plan_app *a;

    (void)state;
    guard_opts_init(&o);
    pass_run(&p, BARE_A, three_live, 1, three_owned, 3, "maxRemovals: 2\n", &o);
    a = plan_find_app(&p.plan, "a");
    assert_int_equal(a->status, PLAN_APP_FAILED);
    assert_int_equal(p.plan.n_changes, 0);
    assert_int_equal(a->removes, 0);
    assert_int_equal(p.plan.resources_changed, 0);
    assert_int_equal(p.plan.resources_unchanged, 1);
    assert_int_equal(a->errs.n, 1);
    assert_int_equal(a->errs.v[0].code, ERR_REFUSED);
    assert_string_equal(a->errs.v[0].msg, "refusing to remove 3 bindings (limit 2); pass "
                                          "--allow-mass-removal to proceed");
    pass_release(&p);
}

static void test_default_limit(void **state)
{
    struct guard_opts o;
    const char *ledger[60], *live[1];
    char *lines[60], *members, *live_line;
    struct pass p;
    size_t len = 0;

    (void)state;
    members = xcalloc(60, 32);
    for (size_t i = 0; i < 51; i++) {
        lines[i] = xasprintf("a owned r1 " S1 " " IV " user:u%zu@x.example", i);
        ledger[i] = lines[i];
        len += (size_t)snprintf(members + len, 60 * 32 - len, " user:u%zu@x.example", i);
    }
    live_line = xasprintf(S1 " " IV "%s", members);
    live[0] = live_line;
    guard_opts_init(&o);
    pass_run(&p, BARE_A, live, 1, ledger, 51, NULL, &o);
    assert_int_equal(plan_find_app(&p.plan, "a")->status, PLAN_APP_FAILED);
    assert_non_null(strstr(plan_find_app(&p.plan, "a")->errs.v[0].msg, "(limit 50)"));
    pass_release(&p);
    for (size_t i = 0; i < 51; i++)
        free(lines[i]);
    free(live_line);
    free(members);
}

static void test_failed_app_without_record(void **state)
{
    /* An app refused on its first pass leaves no record behind. */
    static const char *const live[] = {S1 " " IV " user:a@x.example",
                                       S1 " " DEV " user:z@x.example"};
    struct guard_opts o;
    struct pass p;

    (void)state;
    guard_opts_init(&o);
    pass_run(&p,
             PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example, user:b@x.example")
                 PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                      "{rules: [{roles: [" DEV "]}]}"),
             live, 2, NULL, 0, NULL, &o);
    assert_int_equal(plan_find_app(&p.plan, "a")->status, PLAN_APP_FAILED);
    assert_int_equal(p.plan.n_changes, 0);
    assert_null(ledger_find_app(&p.plan.ledger, "a"));
    pass_release(&p);
}

static void test_emptying_with_an_add_is_fine(void **state)
{
    /* The role keeps a member: the one the plan adds. */
    static const char *const live[] = {S1 " " DEV " user:z@x.example"};
    struct guard_opts o;
    struct pass p;

    (void)state;
    guard_opts_init(&o);
    pass_run(&p,
             PF_APP("a") PF_SVC("s1") PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}")
                 PF_POLICIES POLICY_P("exact", "authoritative-bindings",
                                      "{rules: [{roles: [" DEV "]}]}"),
             live, 1, NULL, 0, NULL, &o);
    assert_int_equal(plan_find_app(&p.plan, "a")->status, PLAN_APP_OK);
    assert_int_equal(p.plan.n_changes, 2);
    pass_release(&p);
}

static void test_protected_does_not_count(void **state)
{
    /* Three removals, one of a protected member: two count, under a limit of 2. */
    struct guard_opts o;
    struct pass p;
    const struct plan_app *a;

    (void)state;
    guard_opts_init(&o);
    o.max_removals = 2;
    pass_run(&p, BARE_A, three_live, 1, three_owned, 3, "protect: [user:o2@x.example]\n", &o);
    a = plan_find_app(&p.plan, "a");
    assert_int_equal(a->status, PLAN_APP_OK);
    assert_int_equal(a->removes, 2);
    assert_int_equal(p.plan.n_changes, 2);
    assert_int_equal(p.plan.n_notes, 1);
    assert_string_equal(p.plan.notes[0].resource, S1);
    pass_release(&p);
}

static void test_lockout_override(void **state)
{
    static const char *const live[] = {S1 " " IV " serviceAccount:roam@p.iam.gserviceaccount.com"};
    static const char *const ledger[] = {"a owned r1 " S1 " " IV
                                         " serviceAccount:roam@p.iam.gserviceaccount.com"};
    struct guard_opts o;
    struct pass p;

    (void)state;
    guard_opts_init(&o);
    o.allow_mass_removal = true;
    pass_run(&p, BARE_A, live, 1, ledger, 1,
             "identity: [serviceAccount:ROAM@p.iam.gserviceaccount.com]\n", &o);
    assert_int_equal(plan_find_app(&p.plan, "a")->status, PLAN_APP_OK);
    assert_int_equal(p.plan.n_changes, 1);
    pass_release(&p);
}

static void test_refusal_spares_other_apps(void **state)
{
    static const char *const live[] = {
        S1 " " IV " user:o1@x.example user:o2@x.example user:o3@x.example", S2 " -"};
    const char *files[2] = {BARE_A, PF_APP("b") PF_SVC("s2") PF_INVOKER("user:b@x.example")};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_docset docs;
    struct iam_live l;
    struct ledger led;
    struct plan plan;
    struct plan_request req;

    (void)state;
    pf_docs(&docs, files, 2);
    pf_live(&l, live, 2, NULL);
    pf_ledger(&led, three_owned, 3);
    memset(&req, 0, sizeof(req));
    req.revision = "r2";
    req.docs = &docs;
    req.defs = &defs;
    req.live = &l;
    req.ledger = &led;
    guard_opts_init(&req.guard);
    req.guard.max_removals = 1;
    assert_int_equal(plan_build(&plan, &req), 0);
    assert_int_equal(plan_find_app(&plan, "a")->status, PLAN_APP_FAILED);
    assert_int_equal(plan_find_app(&plan, "b")->status, PLAN_APP_OK);
    assert_int_equal(plan.n_changes, 1);
    assert_string_equal(plan.changes[0].app, "b");
    assert_int_equal(plan.resources_changed, 1);
    assert_int_equal(plan.resources_unchanged, 1);
    assert_int_equal(ledger_find_app(&plan.ledger, "a")->n, 3);
    assert_string_equal(ledger_find_app(&plan.ledger, "a")->v[0].revision, "r1");
    plan_release(&plan);
    ledger_release(&led);
    iam_live_release(&l);
    oam_docset_release(&docs);
}

int main(void)
{
    struct CMUnitTest tests[N_ELEMS(rail_cases) + 9];
    size_t n = 0;

    for (size_t i = 0; i < N_ELEMS(rail_cases); i++)
        tests[n++] =
            (struct CMUnitTest){rail_cases[i].name, test_rails, NULL, NULL, &rail_cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limit_is_inclusive);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limit_from_config);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_default_limit);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_failed_app_without_record);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_emptying_with_an_add_is_fine);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_protected_does_not_count);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lockout_override);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refusal_spares_other_apps);
    return _cmocka_run_group_tests("guard", tests, n, NULL, NULL);
}
