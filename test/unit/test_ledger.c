/*
 * test_ledger.c - the ledger data type and its JSON codec: round trips
 * (whole ledger and one app's record), deterministic output, defaults for
 * optional fields, and every bad type reported with its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define IV "roles/run.invoker"

static const char *const sample[] = {
    "b owned r1 " S1 " " IV " user:b@x.example shared",
    "a owned r2 " S1 " roles/run.developer user:d@x.example cond=q3 gc=never",
    "a found r1 " S2 " " IV " group:g@x.example gc=onAppDelete",
    "a owned r2 " SA1 " roles/iam.serviceAccountUser user:u@x.example",
};

static void test_round_trip(void **state)
{
    struct ledger l, back;
    struct err_detail err = {0};
    char *json, *again, *want, *got;

    (void)state;
    pf_ledger(&l, sample, N_ELEMS(sample));
    json = ledger_encode(&l);
    assert_int_equal(ledger_decode(json, strlen(json), &back, &err), 0);
    want = pf_ledger_lines(&l);
    got = pf_ledger_lines(&back);
    assert_string_equal(got, want);
    /* Encoding is canonical: the decoded ledger encodes to the same bytes. */
    again = ledger_encode(&back);
    assert_string_equal(again, json);
    /* Apps by name, bindings by key. */
    assert_true(strstr(json, "\"a\":") < strstr(json, "\"b\":"));
    assert_true(strstr(json, S1) < strstr(json, S2));
    free(again);
    free(got);
    free(want);
    free(json);
    ledger_release(&back);
    ledger_release(&l);
}

static void test_fields_survive(void **state)
{
    struct ledger l, back;
    struct err_detail err = {0};
    const struct ledger_entry *e;
    char *json;

    (void)state;
    pf_ledger(&l, sample, 1);
    l.apps[0].v[0].comp_name = xstrdup("api");
    l.apps[0].v[0].comp_type = OAM_COMP_JOB;
    l.apps[0].v[0].trait_type = -1;
    json = ledger_encode(&l);
    assert_int_equal(ledger_decode(json, strlen(json), &back, &err), 0);
    assert_int_equal(back.n, 1);
    assert_string_equal(back.apps[0].app, "b");
    assert_string_equal(back.apps[0].revision, "r1");
    e = &back.apps[0].v[0];
    assert_true(e->owned);
    assert_true(e->shared);
    assert_string_equal(e->revision, "r1");
    assert_string_equal(e->origin, "spec.components[0].traits[0]");
    assert_string_equal(e->comp_name, "api");
    assert_int_equal(e->comp_type, OAM_COMP_JOB);
    assert_int_equal(e->trait_type, -1);
    assert_int_equal(e->gc, OAM_GC_ON_APP_UPDATE);
    assert_null(e->cond);
    free(json);
    ledger_release(&back);
    ledger_release(&l);
}

static void test_app_record(void **state)
{
    struct ledger l;
    struct ledger_app back;
    struct err_detail err = {0};
    char *json, *again;

    (void)state;
    pf_ledger(&l, sample, N_ELEMS(sample));
    json = ledger_app_encode(ledger_find_app(&l, "a"));
    assert_non_null(strstr(json, "\"app\":\"a\""));
    assert_int_equal(ledger_app_decode(json, strlen(json), &back, &err), 0);
    assert_string_equal(back.app, "a");
    assert_int_equal(back.n, 3);
    again = ledger_app_encode(&back);
    assert_string_equal(again, json);
    free(again);
    free(json);
    ledger_app_release(&back);
    ledger_release(&l);
}

static void test_minimal_and_unknown_fields(void **state)
{
    static const char json[] =
        "{\"apps\":{\"a\":{\"bindings\":[{\"resource\":\"" S1 "\",\"role\":\"" IV
        "\",\"member\":\"user:a@x.example\",\"owned\":false,\"future\":[1,2]}]}},\"v\":2}";
    struct ledger l;
    struct err_detail err = {0};

    (void)state;
    assert_int_equal(ledger_decode(json, strlen(json), &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_null(l.apps[0].revision);
    assert_int_equal(l.apps[0].n, 1);
    assert_false(l.apps[0].v[0].owned);
    assert_int_equal(l.apps[0].v[0].gc, OAM_GC_ON_APP_UPDATE);
    assert_int_equal(l.apps[0].v[0].trait_type, -1);
    ledger_release(&l);
    assert_int_equal(ledger_decode("{}", 2, &l, &err), 0);
    assert_int_equal(l.n, 0);
    ledger_release(&l);
}

#define ENTRY(fields) "{\"apps\":{\"a\":{\"bindings\":[{" fields "}]}}}"
#define OK_KEY "\"resource\":\"" S1 "\",\"role\":\"" IV "\",\"member\":\"user:a@x.example\""

static const struct bad_row {
    const char *json;
    int code;
    const char *path; /* NULL: no path */
    const char *msg;  /* substring */
} bad_rows[] = {
    {"", ERR_PARSE, NULL, "invalid JSON"},
    {"{\"apps\":", ERR_PARSE, NULL, "invalid JSON"},
    {"[]", ERR_PARSE, "", "must be a JSON object"},
    {"{\"apps\":[]}", ERR_PARSE, "apps", "must be an object"},
    {"{\"apps\":{\"a\":1}}", ERR_PARSE, "apps[\"a\"]", "must be an object"},
    {"{\"apps\":{\"a\":{\"revision\":3}}}", ERR_PARSE, "apps[\"a\"].revision", "string"},
    {"{\"apps\":{\"a\":{\"bindings\":{}}}}", ERR_PARSE, "apps[\"a\"].bindings", "array"},
    {"{\"apps\":{\"a\":{\"bindings\":[7]}}}", ERR_PARSE, "apps[\"a\"].bindings[0]", "object"},
    {ENTRY("\"role\":\"" IV "\",\"member\":\"user:a@x.example\",\"owned\":true"), ERR_PARSE,
     "apps[\"a\"].bindings[0].resource", "missing required field 'resource'"},
    {ENTRY(OK_KEY), ERR_PARSE, "apps[\"a\"].bindings[0].owned", "missing required field 'owned'"},
    {ENTRY(OK_KEY ",\"owned\":\"yes\""), ERR_PARSE, "apps[\"a\"].bindings[0].owned", "boolean"},
    {ENTRY(OK_KEY ",\"owned\":true,\"shared\":1"), ERR_PARSE, "apps[\"a\"].bindings[0].shared",
     "boolean"},
    {ENTRY(OK_KEY ",\"owned\":true,\"gc\":\"sometimes\""), ERR_PARSE, "apps[\"a\"].bindings[0].gc",
     "unknown value"},
    {ENTRY(OK_KEY ",\"owned\":true,\"traitType\":\"scaler\""), ERR_PARSE,
     "apps[\"a\"].bindings[0].traitType", "unknown value"},
    {ENTRY(OK_KEY ",\"owned\":true,\"componentType\":5"), ERR_PARSE,
     "apps[\"a\"].bindings[0].componentType", "string"},
    {ENTRY(OK_KEY ",\"owned\":true,\"condition\":\"x\""), ERR_PARSE,
     "apps[\"a\"].bindings[0].condition", "object"},
    {ENTRY(OK_KEY ",\"owned\":true,\"condition\":{\"title\":false}"), ERR_PARSE,
     "apps[\"a\"].bindings[0].condition.title", "string"},
    {ENTRY("\"resource\":\"buckets/b\",\"role\":\"" IV
           "\",\"member\":\"user:a@x.example\",\"owned\":true"),
     ERR_PARSE, "apps[\"a\"].bindings[0].resource", "not a resource roam manages"},
    {"{\"apps\":{\"a\":{},\"a\":{}}}", ERR_PARSE, NULL, "invalid JSON"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad_rows); i++) {
        const struct bad_row *r = &bad_rows[i];
        struct err_detail err = {0};
        struct ledger l;
        int rc = ledger_decode(r->json, strlen(r->json), &l, &err);

        if (rc != r->code || strstr(err.msg != NULL ? err.msg : "", r->msg) == NULL)
            print_error("row %zu: rc %d msg '%s'\n", i, rc, err.msg != NULL ? err.msg : "");
        assert_int_equal(rc, r->code);
        assert_non_null(strstr(err.msg, r->msg));
        if (r->path != NULL) {
            assert_non_null(err.path);
            assert_string_equal(err.path, r->path);
        }
        assert_int_equal(l.n, 0);
        err_detail_release(&err);
    }
}

static void test_bad_app_record(void **state)
{
    static const char *const rows[] = {
        "{\"revision\":\"r1\"}",
        "{\"app\":1}",
        "{\"app\":\"a\",\"bindings\":[{\"owned\":true}]}",
        "[1]",
    };

    (void)state;
    for (size_t i = 0; i < N_ELEMS(rows); i++) {
        struct err_detail err = {0};
        struct ledger_app a;

        assert_int_equal(ledger_app_decode(rows[i], strlen(rows[i]), &a, &err), ERR_PARSE);
        assert_non_null(err.msg);
        assert_null(a.app);
        assert_int_equal(a.n, 0);
        err_detail_release(&err);
    }
}

static void test_cap(void **state)
{
    struct err_detail err = {0};
    struct ledger l;

    (void)state;
    /* The length alone is checked before anything is read. */
    assert_int_equal(ledger_decode("{}", (size_t)CAP_LEDGER_BYTES + 1, &l, &err), ERR_LIMIT);
    assert_non_null(strstr(err.msg, "exceeds"));
    err_detail_release(&err);
}

static void test_data(void **state)
{
    struct ledger l, copy;
    struct ledger_app *a;

    (void)state;
    pf_ledger(&l, sample, N_ELEMS(sample));
    assert_int_equal(l.n, 2);
    assert_null(ledger_find_app(&l, "c"));
    a = ledger_app_get(&l, "c");
    assert_string_equal(a->app, "c");
    assert_int_equal(l.n, 3);
    assert_ptr_equal(ledger_app_get(&l, "c"), ledger_find_app(&l, "c"));
    ledger_copy(&copy, &l);
    assert_int_equal(copy.n, 3);
    assert_int_equal(ledger_find_app(&copy, "a")->n, 3);
    assert_ptr_not_equal(ledger_find_app(&copy, "a")->v, ledger_find_app(&l, "a")->v);
    ledger_release(&copy);
    ledger_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_fields_survive),
        cmocka_unit_test(test_app_record), cmocka_unit_test(test_minimal_and_unknown_fields),
        cmocka_unit_test(test_bad),        cmocka_unit_test(test_bad_app_record),
        cmocka_unit_test(test_cap),        cmocka_unit_test(test_data),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
