/*
 * test_render.c - the plan as JSON (DESIGN.md §3: keys, order, types, one
 * line) and as text (an exact example, and the no-change form).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define IV "roles/run.invoker"
#define DEV "roles/run.developer"

struct fixture {
    struct oam_docset docs;
    struct iam_live live;
    struct ledger ledger;
    struct plan plan;
};

/* payments: adds on s1 (one conditional), a prune, a pending s2;
 * broken: rejected with a located error. */
static void build(struct fixture *f)
{
    const char *files[2] = {
        PF_APP("payments") PF_SVC("s1") PF_INVOKER("group:web@x.example") PF_BINDINGS(
            "{role: " DEV ", members: [group:devs@x.example], condition: " PF_YAML_COND_Q3 "}")
            PF_SVC("s2") PF_INVOKER("user:a@x.example"),
        PF_APP("broken") PF_SVC("s3") PF_INVOKER("user:a@x.example, bogus"),
    };
    const char *live[] = {S1 " " IV " user:old@x.example", S2 " null", S3 " -"};
    const char *led[] = {"payments owned r1 " S1 " " IV " user:old@x.example"};
    struct oam_defaults defs = {NULL, NULL};
    struct plan_request req;

    pf_docs(&f->docs, files, 2);
    pf_live(&f->live, live, N_ELEMS(live), NULL);
    pf_ledger(&f->ledger, led, N_ELEMS(led));
    f->ledger.apps[0].v[0].comp_name = strdup("s1");
    memset(&req, 0, sizeof(req));
    req.source = "manifests/examples";
    req.revision = "3f2c9a1";
    req.docs = &f->docs;
    req.defs = &defs;
    req.live = &f->live;
    req.ledger = &f->ledger;
    guard_opts_init(&req.guard);
    assert_int_equal(plan_build(&f->plan, &req), 0);
}

static void release(struct fixture *f)
{
    plan_release(&f->plan);
    ledger_release(&f->ledger);
    iam_live_release(&f->live);
    oam_docset_release(&f->docs);
}

/* The object's keys, comma-separated, in order. */
static void expect_keys(json_t *o, const char *want)
{
    char got[512] = "";
    const char *k;
    json_t *v;
    size_t len = 0;

    assert_true(json_is_object(o));
    json_object_foreach (o, k, v) {
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", len > 0 ? "," : "", k);
        (void)v;
    }
    assert_string_equal(got, want);
}

static void test_json_shape(void **state)
{
    struct fixture f;
    json_error_t jerr;
    json_t *root, *apps, *changes, *c, *e, *sum;
    char *s;

    (void)state;
    build(&f);
    s = plan_render_json(&f.plan);
    /* One line, newline-terminated. */
    assert_non_null(strchr(s, '\n'));
    assert_true(strchr(s, '\n') == s + strlen(s) - 1);
    root = json_loads(s, JSON_PRESERVE_ORDER, &jerr);
    assert_non_null(root);
    expect_keys(root, "source,revision,apps,changes,summary,notes,pending,identities");
    assert_string_equal(json_string_value(json_object_get(root, "source")), "manifests/examples");
    assert_string_equal(json_string_value(json_object_get(root, "revision")), "3f2c9a1");

    apps = json_object_get(root, "apps");
    assert_int_equal(json_array_size(apps), 2);
    expect_keys(json_array_get(apps, 0), "name,status,errors");
    assert_string_equal(json_string_value(json_object_get(json_array_get(apps, 0), "name")),
                        "broken");
    assert_string_equal(json_string_value(json_object_get(json_array_get(apps, 0), "status")),
                        "rejected");
    e = json_array_get(json_object_get(json_array_get(apps, 0), "errors"), 0);
    expect_keys(e, "path,message,file,line,col");
    assert_string_equal(json_string_value(json_object_get(e, "path")),
                        "spec.components[0].traits[0].properties.members[1]");
    assert_string_equal(json_string_value(json_object_get(e, "file")), "app1.yaml");
    assert_int_equal(json_integer_value(json_object_get(e, "line")), 12);
    assert_string_equal(json_string_value(json_object_get(json_array_get(apps, 1), "status")),
                        "pending");
    assert_int_equal(json_array_size(json_object_get(json_array_get(apps, 1), "errors")), 0);

    changes = json_object_get(root, "changes");
    assert_int_equal(json_array_size(changes), 3);
    c = json_array_get(changes, 0);
    expect_keys(c, "resource,action,role,member,condition,app,origin,reason");
    assert_string_equal(json_string_value(json_object_get(c, "role")), DEV);
    expect_keys(json_object_get(c, "condition"), "title,expression");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "condition"), "expression")),
        PF_COND_Q3_EXPR);
    c = json_array_get(changes, 2);
    assert_true(json_is_null(json_object_get(c, "condition")));
    assert_string_equal(json_string_value(json_object_get(c, "action")), "remove");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "pruned");
    assert_string_equal(json_string_value(json_object_get(c, "app")), "payments");
    assert_string_equal(json_string_value(json_object_get(c, "origin")),
                        "spec.components[0].traits[0]");

    sum = json_object_get(root, "summary");
    expect_keys(sum, "add,remove,resources_changed,resources_unchanged");
    assert_int_equal(json_integer_value(json_object_get(sum, "add")), 2);
    assert_int_equal(json_integer_value(json_object_get(sum, "remove")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "resources_changed")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "resources_unchanged")), 0);
    assert_int_equal(json_array_size(json_object_get(root, "pending")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(root, "pending"), 0)), S2);

    json_decref(root);
    free(s);
    release(&f);
}

static const char text_want[] =
    "roam plan: source manifests/examples @ 3f2c9a1\n"
    "\n" S1 "\n"
    "  + " DEV "  group:devs@x.example  if \"q3\"\n"
    "      declared by payments / s1 / spec.components[0].traits[1] (iam-bindings)\n"
    "  + " IV "  group:web@x.example\n"
    "      declared by payments / s1 / spec.components[0].traits[0] (invoker)\n"
    "  - " IV "  user:old@x.example\n"
    "      pruned: no longer declared by payments (s1 / spec.components[0].traits[0], "
    "onAppUpdate)\n"
    "\n"
    "app broken: rejected\n"
    "  app1.yaml:12:52: spec.components[0].traits[0].properties.members[1]: invalid member "
    "'bogus': unknown member type (expected user:, group:, serviceAccount:, domain:, "
    "principal://, principalSet://, deleted:, allUsers or allAuthenticatedUsers)\n"
    "app payments: pending (2 to add, 1 to remove)\n"
    "pending: " S2 " (does not exist yet)\n"
    "\n"
    "2 to add, 1 to remove (1 resource changed, 0 unchanged)\n";

static void test_text(void **state)
{
    struct fixture f;
    char *s;

    (void)state;
    build(&f);
    s = plan_render_text(&f.plan);
    if (strcmp(s, text_want) != 0)
        print_error("--- got:\n%s--- want:\n%s", s, text_want);
    assert_string_equal(s, text_want);
    free(s);
    release(&f);
}

static void test_text_no_changes(void **state)
{
    const char *files[1] = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example")};
    const char *live[] = {S1 " " IV " user:a@x.example"};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_docset docs;
    struct iam_live l;
    struct plan p;
    struct plan_request req;
    char *s;

    (void)state;
    pf_docs(&docs, files, 1);
    pf_live(&l, live, 1, NULL);
    memset(&req, 0, sizeof(req));
    req.source = "src";
    req.revision = "r1";
    req.docs = &docs;
    req.defs = &defs;
    req.live = &l;
    guard_opts_init(&req.guard);
    assert_int_equal(plan_build(&p, &req), 0);
    s = plan_render_text(&p);
    assert_string_equal(s, "roam plan: source src @ r1\n\n"
                           "No changes. Live IAM matches the declarations.\n\n"
                           "app a: ok (0 to add, 0 to remove)\n\n"
                           "0 to add, 0 to remove (0 resources changed, 1 unchanged)\n");
    free(s);
    s = plan_render_json(&p);
    assert_non_null(strstr(s, "\"changes\":[]"));
    assert_non_null(strstr(s, "\"summary\":{\"add\":0,\"remove\":0,\"resources_changed\":0,"
                              "\"resources_unchanged\":1}"));
    free(s);
    plan_release(&p);
    iam_live_release(&l);
    oam_docset_release(&docs);
}

/* The other reasons, notes and failures, as a newcomer reads them. */
static void test_text_reasons(void **state)
{
    const char *files[1] = {PF_APP("a") PF_SVC("s1") PF_INVOKER("user:a@x.example") PF_POLICIES
                            "    - name: exact\n      type: authoritative-bindings\n"
                            "      properties: {rules: [{roles: [" IV "]}]}\n"};
    const char *live[] = {S1 " " IV " user:z@x.example user:keep@x.example"};
    struct oam_defaults defs = {NULL, NULL};
    struct oam_config cfg;
    struct oam_docset docs;
    struct iam_live l;
    struct plan p;
    struct plan_request req;
    char *s;

    (void)state;
    pf_docs(&docs, files, 1);
    pf_live(&l, live, 1, NULL);
    memset(&req, 0, sizeof(req));
    req.revision = "r1";
    req.docs = &docs;
    req.defs = &defs;
    req.live = &l;
    guard_opts_init(&req.guard);
    req.guard.config = pf_config(&cfg, "protect: [user:keep@x.example]\n");
    assert_int_equal(plan_build(&p, &req), 0);
    s = plan_render_text(&p);
    assert_non_null(strstr(s, "  + " IV "  user:a@x.example\n      declared by a / s1 / "
                              "spec.components[0].traits[0] (invoker)\n"));
    assert_non_null(strstr(s, "  - " IV "  user:z@x.example\n      authoritative: not declared "
                              "by any app; rule spec.policies[0].properties.rules[0] of a\n"));
    assert_non_null(strstr(s, "note: " S1 ": kept protected member user:keep@x.example"));
    free(s);
    plan_release(&p);
    oam_config_release(&cfg);
    iam_live_release(&l);
    oam_docset_release(&docs);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(plan_action_name(PLAN_ADD), "add");
    assert_string_equal(plan_action_name(PLAN_REMOVE), "remove");
    assert_string_equal(plan_reason_name(PLAN_DECLARED), "declared");
    assert_string_equal(plan_reason_name(PLAN_AUTHORITATIVE), "authoritative");
    assert_string_equal(plan_reason_name(PLAN_PRUNED), "pruned");
    assert_string_equal(plan_reason_name(PLAN_RESTORED), "restored");
    assert_string_equal(plan_app_status_name(PLAN_APP_OK), "ok");
    assert_string_equal(plan_app_status_name(PLAN_APP_REJECTED), "rejected");
    assert_string_equal(plan_app_status_name(PLAN_APP_FAILED), "failed");
    assert_string_equal(plan_app_status_name(PLAN_APP_PENDING), "pending");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_shape),      cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_no_changes), cmocka_unit_test(test_text_reasons),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
