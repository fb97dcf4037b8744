/*
 * test_desired.c - desired_compile(): one Application -> bindings with
 * provenance and lifecycle flags, authoritative rules, service identities;
 * plus plan_resources() and the resource-name helpers.
 *
 * Rows give the YAML of one app and the compiled result, one line per item:
 *   "RESOURCE ROLE MEMBER [cond=NAME] ORIGIN TRAIT COMPONENT [gc=X] [flags]"
 *   "auth RESOURCE ORIGIN all|ROLE,ROLE"
 *   "ident RESOURCE SERVICE_ACCOUNT MODE"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/buf.h"
#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define IV "roles/run.invoker"
#define DEV "roles/run.developer"
#define SAU "roles/iam.serviceAccountUser"
#define STC "roles/iam.serviceAccountTokenCreator"
#define T0 "spec.components[0].traits[0]"
#define T1 "spec.components[0].traits[1]"
#define POLICY(name, type) "    - name: " name "\n      type: " type "\n"
#define POLICY_P(name, type, props)                                                                \
    "    - name: " name "\n      type: " type "\n      properties: " props "\n"

struct dcase {
    const char *name;
    const char *yaml;
    const char *project; /* --project */
    const char *region;  /* --region */
    const char *want[10];
    const char *error; /* substring of the compile error; NULL: must compile */
};

static struct dcase cases[] = {
    {.name = "invoker: default role, provenance",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example, group:g@x.example"),
     .want = {S1 " " IV " user:a@x.example " T0 " invoker s1",
              S1 " " IV " group:g@x.example " T0 " invoker s1"}},
    {.name = "iam-bindings with a condition",
     .yaml = PF_APP("a") PF_SVC("s1") PF_BINDINGS(
         "{role: " DEV ", members: [user:d@x.example], condition: " PF_YAML_COND_Q3 "}"),
     .want = {S1 " " DEV " user:d@x.example cond=q3 " T0 " iam-bindings s1"}},
    {.name = "job resource and properties.name",
     .yaml = PF_APP("a") "    - name: j\n"
                         "      type: cloud-run-job\n"
                         "      properties: {name: j1}\n"
                         "      traits:\n" PF_INVOKER("user:a@x.example"),
     .want = {J1 " " IV " user:a@x.example " T0 " invoker j"}},
    {.name = "component project and region win over the annotations",
     .yaml = PF_APP("a") "    - name: s1\n"
                         "      type: cloud-run-service\n"
                         "      properties: {project: q, region: europe-west1}\n"
                         "      traits:\n" PF_INVOKER("user:a@x.example"),
     .want = {"projects/q/locations/europe-west1/services/s1 " IV " user:a@x.example " T0
              " invoker s1"}},
    {.name = "--project and --region when nothing else says",
     .yaml = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\n"
             "spec:\n  components:\n" PF_SVC("s1") PF_INVOKER("user:a@x.example"),
     .project = "cli-p",
     .region = "cli-r",
     .want = {"projects/cli-p/locations/cli-r/services/s1 " IV " user:a@x.example " T0
              " invoker s1"}},
    {.name = "a member declared twice is one binding, the first origin",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
         PF_BINDINGS("{role: " IV ", members: [user:A@X.example, user:b@x.example]}"),
     .want = {S1 " " IV " user:a@x.example " T0 " invoker s1",
              S1 " " IV " user:b@x.example " T1 " iam-bindings s1"}},
    {.name = "service identity and impersonation through it",
     .yaml = PF_APP("a") PF_SVC("s1") "        - type: service-identity\n"
                                      "          properties: {serviceAccount: "
                                      "Run-SA@p.iam.gserviceaccount.com, mode: enforce}\n"
                                      "        - type: impersonation\n"
                                      "          properties: {actAs: [group:d@x.example], "
                                      "tokenCreators: [user:t@x.example]}\n",
     .want = {"ident " S1 " Run-SA@p.iam.gserviceaccount.com enforce",
              SA1 " " SAU " group:d@x.example " T1 " impersonation s1",
              SA1 " " STC " user:t@x.example " T1 " impersonation s1"}},
    {.name = "impersonation of a named account in another project",
     .yaml = PF_APP("a") PF_SVC("s1") "        - type: impersonation\n"
                                      "          properties: {serviceAccount: "
                                      "ci@tools.iam.gserviceaccount.com, actAs: "
                                      "[group:d@x.example]}\n",
     .want = {"projects/tools/serviceAccounts/ci@tools.iam.gserviceaccount.com " SAU
              " group:d@x.example " T0 " impersonation s1"}},
    {.name = "impersonation of a default compute account is refused",
     .yaml = PF_APP("a") PF_SVC("s1") "        - type: impersonation\n"
                                      "          properties: {serviceAccount: "
                                      "1-compute@developer.gserviceaccount.com, actAs: "
                                      "[group:d@x.example]}\n",
     .error = "cannot tell the project of service account '1-compute@developer"},
    {.name = "access-scope: selector by component type, and scopes:",
     .yaml = PF_APP("a") "    - name: s1\n"
                         "      type: cloud-run-service\n"
                         "      scopes: {access-scope: callers}\n"
                         "    - name: j1\n"
                         "      type: cloud-run-job\n"
                         "    - name: s2\n"
                         "      type: cloud-run-service\n" PF_POLICIES POLICY_P(
                             "callers", "access-scope",
                             "{selector: {componentTypes: [cloud-run-job]}, bindings: "
                             "[{role: " IV ", members: [group:f@x.example]}]}"),
     .want = {S1 " " IV " group:f@x.example spec.policies[0] - s1",
              J1 " " IV " group:f@x.example spec.policies[0] - j1"}},
    {.name = "lifecycle flags: presence without rules means every binding",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
         PF_POLICIES POLICY("t", "take-over") POLICY("r", "read-only")
             POLICY("s", "shared-resource") POLICY("o", "apply-once"),
     .want = {S1 " " IV " user:a@x.example " T0
                 " invoker s1 take-over read-only shared apply-once"}},
    {.name = "lifecycle flags: rules select, rules: [] selects nothing",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
         PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}") PF_POLICIES POLICY_P(
             "t", "take-over", "{rules: [{selector: {traitTypes: [iam-bindings]}}]}")
             POLICY_P("s", "shared-resource", "{rules: []}")
                 POLICY_P("o", "apply-once", "{rules: [{selector: {componentNames: [s1]}}]}"),
     .want = {S1 " " IV " user:a@x.example " T0 " invoker s1 apply-once",
              S1 " " DEV " user:d@x.example " T1 " iam-bindings s1 take-over apply-once"}},
    {.name = "garbage-collect: the first matching rule wins",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")
         PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}") PF_POLICIES POLICY_P(
             "gc", "garbage-collect",
             "{rules: [{selector: {traitTypes: [iam-bindings]}, strategy: never}, {strategy: "
             "onAppDelete}, {strategy: onAppUpdate}]}"),
     .want = {S1 " " IV " user:a@x.example " T0 " invoker s1 gc=onAppDelete",
              S1 " " DEV " user:d@x.example " T1 " iam-bindings s1 gc=never"}},
    {.name = "a traitTypes selector never matches a policy's bindings",
     .yaml = PF_APP("a") "    - name: s1\n      type: cloud-run-service\n" PF_POLICIES POLICY_P(
         "callers", "access-scope",
         "{selector: {componentNames: [s1]}, bindings: [{role: " IV
         ", members: [group:f@x.example]}]}")
         POLICY_P("gc", "garbage-collect",
                  "{rules: [{selector: {traitTypes: [invoker]}, strategy: never}]}")
             POLICY_P("t", "take-over", "{rules: [{selector: {traitTypes: [invoker]}}]}"),
     .want = {S1 " " IV " group:f@x.example spec.policies[0] - s1"}},
    {.name = "authoritative rules: roles, all roles, none",
     .yaml = PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example") PF_SVC("s2")
         PF_BINDINGS("{role: " DEV ", members: [user:d@x.example]}") PF_POLICIES POLICY_P(
             "exact", "authoritative-bindings",
             "{rules: [{selector: {componentNames: [s1]}, roles: [" IV ", " DEV "]}, "
             "{selector: {componentNames: [s2]}}, {roles: []}]}"),
     .want = {S1 " " IV " user:a@x.example " T0 " invoker s1",
              S2 " " DEV " user:d@x.example spec.components[1].traits[0] iam-bindings s2",
              "auth " S1 " spec.policies[0].properties.rules[0] " IV "," DEV,
              "auth " S2 " spec.policies[0].properties.rules[1] all"}},
};

static char *flags(const struct desired_binding *b)
{
    return xasprintf("%s%s%s%s%s%s", b->gc != OAM_GC_ON_APP_UPDATE ? " gc=" : "",
                     b->gc != OAM_GC_ON_APP_UPDATE ? oam_gc_strategy_name(b->gc) : "",
                     b->take_over ? " take-over" : "", b->read_only ? " read-only" : "",
                     b->shared ? " shared" : "", b->apply_once ? " apply-once" : "");
}

static char *binding_line(const struct desired_binding *b)
{
    char *f = flags(b), *s;
    const char *cond = b->cond == NULL                       ? ""
                       : iam_cond_eq(b->cond, pf_cond("q3")) ? " cond=q3"
                                                             : " cond=?";

    s = xasprintf("%s %s %s%s %s %s %s%s", b->resource, b->role, b->member, cond, b->origin,
                  b->trait_type >= 0 ? oam_trait_type_name((enum oam_trait_type)b->trait_type)
                                     : "-",
                  b->comp_name, f);
    free(f);
    return s;
}

static char *auth_line(const struct desired_auth *a)
{
    struct buf roles;
    char *s;

    buf_init(&roles, 1 << 16);
    for (size_t i = 0; i < a->n_roles; i++)
        buf_printf(&roles, "%s%s", i > 0 ? "," : "", a->roles[i]);
    s = xasprintf("auth %s %s %s", a->resource, a->origin, a->all_roles ? "all" : buf_str(&roles));
    buf_release(&roles);
    return s;
}

static char *lines_of(const struct desired *d)
{
    char **v = xcalloc(d->n + d->n_auth + d->n_ident + 1, sizeof(*v));
    size_t n = 0;
    char *s;

    for (size_t i = 0; i < d->n; i++)
        v[n++] = binding_line(&d->v[i]);
    for (size_t i = 0; i < d->n_auth; i++)
        v[n++] = auth_line(&d->auth[i]);
    for (size_t i = 0; i < d->n_ident; i++)
        v[n++] = xasprintf("ident %s %s %s", d->ident[i].resource, d->ident[i].service_account,
                           oam_si_mode_name(d->ident[i].mode));
    s = pf_join_sorted((const char *const *)v, n);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return s;
}

static void test_case(void **state)
{
    const struct dcase *c = *state;
    const char *yaml[1] = {c->yaml};
    struct oam_defaults defs = {c->project, c->region};
    struct oam_docset docs;
    struct desired d;
    struct err_list errs;
    char *got, *want;
    int rc;

    pf_docs(&docs, yaml, 1);
    assert_int_equal(docs.n_apps, 1);
    oam_validate(&docs.apps[0], &defs);
    if (docs.apps[0].errs.n > 0)
        print_error("%s: %s\n", c->name, docs.apps[0].errs.v[0].msg);
    assert_int_equal(docs.apps[0].errs.n, 0);
    desired_init(&d);
    err_list_init(&errs);
    rc = desired_compile(&d, &docs.apps[0], &defs, &errs);
    if (c->error != NULL) {
        assert_true(rc < 0);
        assert_true(errs.n > 0);
        assert_non_null(strstr(errs.v[0].msg, c->error));
        assert_int_equal(d.n + d.n_auth + d.n_ident, 0);
    } else {
        assert_int_equal(errs.n, 0);
        assert_int_equal(rc, (int)d.n);
        got = lines_of(&d);
        want = pf_join_sorted(c->want, N_ELEMS(c->want));
        if (strcmp(got, want) != 0)
            print_error("%s\n--- got:\n%s--- want:\n%s", c->name, got, want);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    err_list_release(&errs);
    desired_release(&d);
    oam_docset_release(&docs);
}

/* A failed compile leaves what earlier apps compiled untouched. */
static void test_failure_rolls_back(void **state)
{
    const char *yaml[2] = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example"),
                           PF_APP("b") PF_SVC("s1") PF_INVOKER(
                               "user:b@x.example") "        - type: impersonation\n"
                                                   "          properties: {serviceAccount: "
                                                   "1-compute@developer.gserviceaccount.com, "
                                                   "actAs: [user:c@x.example]}\n"};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_docset docs;
    struct desired d;
    struct err_list errs;

    (void)state;
    pf_docs(&docs, yaml, 2);
    assert_int_equal(docs.n_apps, 2);
    desired_init(&d);
    err_list_init(&errs);
    assert_int_equal(desired_compile(&d, &docs.apps[0], &defs, &errs), 1);
    assert_true(desired_compile(&d, &docs.apps[1], &defs, &errs) < 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].app, "a");
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.v[0].path, "spec.components[0].traits[1]");
    assert_string_equal(errs.v[0].file, "app1.yaml");
    assert_true(errs.v[0].line > 0);
    err_list_release(&errs);
    desired_release(&d);
    oam_docset_release(&docs);
}

static void test_positions(void **state)
{
    const char *yaml[1] = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_docset docs;
    struct desired d;
    struct err_list errs;

    (void)state;
    pf_docs(&docs, yaml, 1);
    desired_init(&d);
    err_list_init(&errs);
    assert_int_equal(desired_compile(&d, &docs.apps[0], &defs, &errs), 1);
    /* The member's own position: line 12 of the document above. */
    assert_string_equal(d.v[0].pos.file, "app0.yaml");
    assert_int_equal(d.v[0].pos.line, 12);
    assert_int_equal(d.v[0].kind, RES_SERVICE);
    assert_int_equal(d.v[0].comp_type, OAM_COMP_SERVICE);
    err_list_release(&errs);
    desired_release(&d);
    oam_docset_release(&docs);
}

static void test_resources(void **state)
{
    const char *yaml[1] = {PF_APP("a") PF_SVC("s2") PF_INVOKER("user:a@x.example, user:b@x.example")
                               PF_SVC("s1") PF_INVOKER("user:a@x.example")};
    const char *lines[2] = {"z owned r1 " S3 " "
                            "roles/run.invoker user:z@x.example",
                            "z owned r1 " S1 " "
                            "roles/run.invoker user:z@x.example"};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_docset docs;
    struct desired d;
    struct ledger l;
    struct err_list errs;
    char **res;
    size_t n;

    (void)state;
    pf_docs(&docs, yaml, 1);
    pf_ledger(&l, lines, 2);
    desired_init(&d);
    err_list_init(&errs);
    assert_int_equal(desired_compile(&d, &docs.apps[0], &defs, &errs), 3);
    assert_int_equal(plan_resources(&d, &l, &res, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(res[0], S1);
    assert_string_equal(res[1], S2);
    assert_string_equal(res[2], S3);
    for (size_t i = 0; i < n; i++)
        free(res[i]);
    free(res);
    err_list_release(&errs);
    ledger_release(&l);
    desired_release(&d);
    oam_docset_release(&docs);
}

static void test_res_kind(void **state)
{
    static const struct {
        const char *name;
        int kind;
    } rows[] = {
        {S1, RES_SERVICE},
        {J1, RES_JOB},
        {SA1, RES_SERVICE_ACCOUNT},
        {"projects/p/locations/r/services/", -1},
        {"projects/p/locations/r/workers/w", -1},
        {"projects//serviceAccounts/x@p.iam.gserviceaccount.com", -1},
        {"projects/p/serviceAccounts/x/extra", -1},
        {"folders/p/locations/r/services/s", -1},
        {"", -1},
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMS(rows); i++)
        assert_int_equal(res_kind_of(rows[i].name), rows[i].kind);
    assert_string_equal(res_kind_name(RES_SERVICE_ACCOUNT), "serviceAccount");
    assert_string_equal(res_kind_name(RES_JOB), "job");
}

int main(void)
{
    struct CMUnitTest tests[N_ELEMS(cases) + 4];
    size_t n = 0;

    for (size_t i = 0; i < N_ELEMS(cases); i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, &cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_failure_rolls_back);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_positions);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_resources);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_res_kind);
    return _cmocka_run_group_tests("desired", tests, n, NULL, NULL);
}
