/*
 * test_gres.c - URLs, bodies and decoders for Cloud Run and IAM resources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/gcp/gres.h"

static const struct gres_endpoints ep = {"https://run.example/", "https://iam.example/"};

static void test_policy_urls(void **state)
{
    static const struct {
        const char *res, *method, *get, *set;
    } rows[] = {
        {"projects/p/locations/r/services/s", "GET",
         "https://run.example/v2/projects/p/locations/r/services/s:getIamPolicy?options."
         "requestedPolicyVersion=3",
         "https://run.example/v2/projects/p/locations/r/services/s:setIamPolicy"},
        {"projects/p/locations/r/jobs/j", "GET",
         "https://run.example/v2/projects/p/locations/r/jobs/j:getIamPolicy?options."
         "requestedPolicyVersion=3",
         "https://run.example/v2/projects/p/locations/r/jobs/j:setIamPolicy"},
        /* service accounts: POST, the same query, the e-mail's @ kept */
        {"projects/p/serviceAccounts/a@p.iam.gserviceaccount.com", "POST",
         "https://iam.example/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:"
         "getIamPolicy?options.requestedPolicyVersion=3",
         "https://iam.example/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com:"
         "setIamPolicy"},
        /* other characters are percent-encoded, slashes kept */
        {"projects/p/locations/r/services/a b", "GET",
         "https://run.example/v2/projects/p/locations/r/services/a%20b:getIamPolicy?options."
         "requestedPolicyVersion=3",
         "https://run.example/v2/projects/p/locations/r/services/a%20b:setIamPolicy"},
        {"organizations/1/roles/x", NULL, NULL, NULL},
        {"projects/p", NULL, NULL, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *method = NULL;
        char *get = gres_get_policy_url(&ep, rows[i].res, &method);
        char *set = gres_set_policy_url(&ep, rows[i].res);

        if (rows[i].get == NULL) {
            assert_null(get);
            assert_null(set);
            continue;
        }
        assert_string_equal(method, rows[i].method);
        assert_string_equal(get, rows[i].get);
        assert_string_equal(set, rows[i].set);
        free(get);
        free(set);
    }
}

static void test_base_and_misc_urls(void **state)
{
    char *s;

    (void)state;
    s = gres_base_url("http://127.0.0.1:8085");
    assert_string_equal(s, "http://127.0.0.1:8085/");
    free(s);
    s = gres_base_url("http://127.0.0.1:8085/");
    assert_string_equal(s, "http://127.0.0.1:8085/");
    free(s);
    s = gres_get_url(&ep, "projects/p/locations/r/jobs/j");
    assert_string_equal(s, "https://run.example/v2/projects/p/locations/r/jobs/j");
    free(s);
    assert_null(gres_get_url(&ep, "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"));
    s = gres_patch_identity_url(&ep, "projects/p/locations/r/jobs/j");
    assert_string_equal(
        s, "https://run.example/v2/projects/p/locations/r/jobs/j?updateMask=template.template."
           "serviceAccount");
    free(s);
    s = gres_identity_body("projects/p/locations/r/jobs/j", "x@p.iam.gserviceaccount.com");
    assert_string_equal(s, "{\"template\":{\"template\":{\"serviceAccount\":\"x@p.iam."
                           "gserviceaccount.com\"}}}");
    free(s);
    s = gres_identity_body("projects/p/locations/r/services/s", "x@p.iam.gserviceaccount.com");
    assert_string_equal(s, "{\"template\":{\"serviceAccount\":\"x@p.iam.gserviceaccount.com\"}}");
    free(s);
    s = gres_list_url(&ep, "projects/p/locations/r", false, 100, "a+b/c=");
    assert_string_equal(s, "https://run.example/v2/projects/p/locations/r/services?pageSize=100&"
                           "pageToken=a%2Bb%2Fc%3D");
    free(s);
    s = gres_list_url(&ep, "projects/p/locations/r", true, 5, NULL);
    assert_string_equal(s, "https://run.example/v2/projects/p/locations/r/jobs?pageSize=5");
    free(s);
    assert_null(gres_list_url(&ep, "projects/p/locations/r/services/s", false, 5, NULL));
    assert_null(gres_list_url(&ep, "projects/p", false, 5, NULL));
    s = gres_service_account_url(&ep, "a@p.iam.gserviceaccount.com");
    assert_string_equal(s, "https://iam.example/v1/projects/p/serviceAccounts/a@p.iam."
                           "gserviceaccount.com");
    free(s);
    s = gres_service_account_url(&ep, "123-compute@developer.gserviceaccount.com");
    assert_string_equal(s, "https://iam.example/v1/projects/-/serviceAccounts/123-compute@"
                           "developer.gserviceaccount.com");
    free(s);
    assert_string_equal(gres_api("projects/p/locations/r/services/s"), "run");
    assert_string_equal(gres_api("projects/p/serviceAccounts/e"), "iam");
    assert_null(gres_api("folders/1"));
}

static void test_run_decode(void **state)
{
    static const struct {
        const char *json;
        int job, rc;
        const char *sa, *err_path;
    } rows[] = {
        {"{\"name\":\"n\",\"template\":{\"serviceAccount\":\"a@p.iam.gserviceaccount.com\"}}", 0, 0,
         "a@p.iam.gserviceaccount.com", NULL},
        {"{\"name\":\"n\",\"template\":{}}", 0, 0, NULL, NULL},
        {"{\"name\":\"n\"}", 0, 0, NULL, NULL},
        {"{\"name\":\"n\",\"template\":{\"template\":{\"serviceAccount\":\"j@p.iam.gserviceaccount."
         "com\"}}}",
         1, 0, "j@p.iam.gserviceaccount.com", NULL},
        /* a job's account is one level deeper: the service field is not it */
        {"{\"template\":{\"serviceAccount\":\"x\"}}", 1, 0, NULL, NULL},
        {"{\"template\":[]}", 0, ERR_PARSE, NULL, "template"},
        {"{\"template\":{\"serviceAccount\":7}}", 0, ERR_PARSE, NULL, "template.serviceAccount"},
        {"{\"template\":{\"template\":\"x\"}}", 1, ERR_PARSE, NULL, "template.template"},
        {"[]", 0, ERR_PARSE, NULL, ""},
        {"{", 0, ERR_PARSE, NULL, ""},
        {"{\"unknown\":{\"deep\":[1,2]},\"name\":\"n\"}", 0, 0, NULL, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gres_run r;
        struct err_detail ed = {0};
        int rc = gres_run_decode(rows[i].json, strlen(rows[i].json), rows[i].job, &r, &ed);

        assert_int_equal(rc, rows[i].rc);
        if (rc == 0) {
            if (rows[i].sa == NULL)
                assert_null(r.service_account);
            else
                assert_string_equal(r.service_account, rows[i].sa);
        } else {
            assert_string_equal(ed.path, rows[i].err_path);
        }
        gres_run_release(&r);
        err_detail_release(&ed);
    }
}

static void test_list_decode(void **state)
{
    char **names = NULL, *next = NULL;
    size_t n = 0, cap = 0;
    struct err_detail ed = {0};
    const char *p1 = "{\"services\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nextPageToken\":\"t2\"}";
    const char *p2 = "{\"services\":[{\"name\":\"c\"}]}";
    const char *empty = "{}";
    const char *bad = "{\"services\":[{\"name\":1}]}";

    (void)state;
    assert_int_equal(gres_list_decode(p1, strlen(p1), false, &names, &n, &cap, &next, &ed), 0);
    assert_string_equal(next, "t2");
    free(next);
    assert_int_equal(gres_list_decode(p2, strlen(p2), false, &names, &n, &cap, &next, &ed), 0);
    assert_null(next);
    assert_int_equal(gres_list_decode(empty, 2, false, &names, &n, &cap, &next, &ed), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[2], "c");
    assert_int_equal(gres_list_decode(bad, strlen(bad), false, &names, &n, &cap, &next, &ed),
                     ERR_PARSE);
    assert_string_equal(ed.path, "services[0].name");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    err_detail_release(&ed);
}

static void test_sa_decode(void **state)
{
    struct gres_sa sa;
    struct err_detail ed = {0};
    const char *ok = "{\"name\":\"projects/p/serviceAccounts/a@p\",\"email\":\"a@p\","
                     "\"uniqueId\":\"123\",\"disabled\":true}";
    const char *bad = "{\"disabled\":\"yes\"}";

    (void)state;
    assert_int_equal(gres_sa_decode(ok, strlen(ok), &sa, &ed), 0);
    assert_true(sa.disabled);
    assert_string_equal(sa.unique_id, "123");
    gres_sa_release(&sa);
    assert_int_equal(gres_sa_decode(bad, strlen(bad), &sa, &ed), ERR_PARSE);
    assert_string_equal(ed.path, "disabled");
    err_detail_release(&ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_urls), cmocka_unit_test(test_base_and_misc_urls),
        cmocka_unit_test(test_run_decode),  cmocka_unit_test(test_list_decode),
        cmocka_unit_test(test_sa_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
