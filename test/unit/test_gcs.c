/*
 * test_gcs.c - Cloud Storage endpoints, gs:// locations, percent-encoding,
 * URLs and the listing / object decoders.
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
#include "api/gcp/gcs.h"

static void test_endpoint(void **state)
{
    static const struct {
        const char *emu, *endpoint, *base;
        bool no_auth;
    } rows[] = {
        {NULL, NULL, "https://storage.googleapis.com/", false},
        {"", "", "https://storage.googleapis.com/", false},
        {"127.0.0.1:9023", NULL, "http://127.0.0.1:9023/", true},
        {"localhost:9023", "http://ignored:1", "http://localhost:9023/", true},
        {"http://127.0.0.1:9023", NULL, "http://127.0.0.1:9023/", true},
        {"https://gcs.local:443/", NULL, "https://gcs.local:443/", true},
        {NULL, "http://127.0.0.1:8085", "http://127.0.0.1:8085/", false},
        {"", "http://127.0.0.1:8085/", "http://127.0.0.1:8085/", false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gcs_endpoint ep;

        gcs_endpoint_init(&ep, rows[i].emu, rows[i].endpoint);
        assert_string_equal(ep.base, rows[i].base);
        assert_int_equal(ep.no_auth, rows[i].no_auth);
        gcs_endpoint_release(&ep);
    }
}

static void test_location(void **state)
{
    static const struct {
        const char *url, *bucket, *prefix;
    } rows[] = {
        {"gs://bucket", "bucket", ""},
        {"gs://bucket/", "bucket", ""},
        {"gs://bucket/apps", "bucket", "apps/"},
        {"gs://bucket/apps/", "bucket", "apps/"},
        {"gs://my-bucket.example.com/a/b c/", "my-bucket.example.com", "a/b c/"},
        {"gs://b_1/.roam/state/", "b_1", ".roam/state/"},
        /* refused */
        {"gs://", NULL, NULL},
        {"gs://ab", NULL, NULL},
        {"gs://Bucket/x", NULL, NULL},
        {"gs://bu cket/x", NULL, NULL},
        {"gs:///x", NULL, NULL},
        {"s3://bucket/x", NULL, NULL},
        {"bucket/x", NULL, NULL},
        {"gs://bucket/a\nb", NULL, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gcs_location loc;
        char *msg = NULL;
        int r = gcs_location_parse(rows[i].url, &loc, &msg);

        if (rows[i].bucket == NULL) {
            assert_int_equal(r, ERR_INVAL);
            assert_non_null(msg);
            assert_non_null(strstr(msg, rows[i].url));
            free(msg);
            continue;
        }
        assert_int_equal(r, 0);
        assert_null(msg);
        assert_string_equal(loc.bucket, rows[i].bucket);
        assert_string_equal(loc.prefix, rows[i].prefix);
        gcs_location_release(&loc);
    }
    assert_int_equal(gcs_location_parse("gs://x", &(struct gcs_location){0}, NULL), ERR_INVAL);
}

static void test_encode(void **state)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"", ""},
        {"a/b.yaml", "a%2Fb.yaml"},
        {"apps/my file.yaml", "apps%2Fmy%20file.yaml"},
        {"a+b=c&d?e#f", "a%2Bb%3Dc%26d%3Fe%23f"},
        {"AZaz09-._~", "AZaz09-._~"},
        {"caf\xc3\xa9/\xe6\x97\xa5.yml", "caf%C3%A9%2F%E6%97%A5.yml"},
        {"%41", "%2541"},
        {"a:b@c", "a%3Ab%40c"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *e = gcs_encode(rows[i].in), *d = NULL;

        assert_string_equal(e, rows[i].out);
        assert_int_equal(gcs_decode(e, &d), 0);
        assert_string_equal(d, rows[i].in);
        free(d);
        free(e);
    }
}

static void test_decode_bad(void **state)
{
    static const char *const bad[] = {"%", "%4", "abc%zz", "%00", "a%0", "%g0"};
    char *d = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(gcs_decode(bad[i], &d), ERR_PARSE);
    assert_null(d);
    assert_int_equal(gcs_decode("a%2fb+c", &d), 0);
    assert_string_equal(d, "a/b+c"); /* '+' is no space: this is not a form */
    free(d);
}

static char ep_base[] = "https://gcs.example/";
static const struct gcs_endpoint ep = {ep_base, false};

static void test_urls(void **state)
{
    char *u;

    (void)state;
    u = gcs_list_url(&ep, "b", "apps/", NULL, 1000);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o?prefix=apps%2F&maxResults=1000"
                           "&fields=nextPageToken%2Citems%28name%2Cgeneration%2Csize%29"
                           "&prettyPrint=false");
    free(u);
    u = gcs_list_url(&ep, "b", "", "tok/+=", 10);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o?maxResults=10"
                           "&fields=nextPageToken%2Citems%28name%2Cgeneration%2Csize%29"
                           "&prettyPrint=false&pageToken=tok%2F%2B%3D");
    free(u);
    u = gcs_media_url(&ep, "b", "apps/a b+c.yaml", 1718031500123456LL);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o/apps%2Fa%20b%2Bc.yaml"
                           "?alt=media&generation=1718031500123456");
    free(u);
    u = gcs_media_url(&ep, "b", "x", 0);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o/x?alt=media");
    free(u);
    u = gcs_upload_url(&ep, "b", ".roam/state/pay.json", 0);
    assert_string_equal(u, "https://gcs.example/upload/storage/v1/b/b/o?uploadType=media"
                           "&name=.roam%2Fstate%2Fpay.json&ifGenerationMatch=0");
    free(u);
    u = gcs_upload_url(&ep, "b", "x", -1);
    assert_string_equal(u, "https://gcs.example/upload/storage/v1/b/b/o?uploadType=media&name=x");
    free(u);
    u = gcs_object_url(&ep, "b", "s/p.json", 42);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o/s%2Fp.json?ifGenerationMatch=42");
    free(u);
    u = gcs_object_url(&ep, "b", "s/p.json", -1);
    assert_string_equal(u, "https://gcs.example/storage/v1/b/b/o/s%2Fp.json");
    free(u);
}

static bool keep_yaml(const char *name, void *data)
{
    (*(int *)data)++;
    return strstr(name, ".yaml") != NULL;
}

static void test_list_decode(void **state)
{
    static const struct {
        const char *json;
        int rc;   /* items on the page, or the error */
        size_t n; /* kept */
        const char *next;
        const char *err_path;
    } rows[] = {
        {"{\"kind\":\"storage#objects\"}", 0, 0, NULL, NULL},
        {"{\"kind\":\"storage#objects\",\"nextPageToken\":\"\"}", 0, 0, NULL, NULL},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"1718031500123456\",\"size\":\"12\"},"
         "{\"name\":\"b.txt\",\"generation\":\"7\",\"size\":\"1\"}],\"nextPageToken\":\"T1\"}",
         2, 1, "T1", NULL},
        /* int64 as JSON numbers are accepted too; size may be absent */
        {"{\"items\":[{\"name\":\"c.yaml\",\"generation\":9}]}", 1, 1, NULL, NULL},
        {"{\"items\":null,\"prefixes\":[\"x/\"]}", 0, 0, NULL, NULL},
        /* errors */
        {"[]", ERR_PARSE, 0, NULL, ""},
        {"{", ERR_PARSE, 0, NULL, ""},
        {"{\"items\":{}}", ERR_PARSE, 0, NULL, "items"},
        {"{\"items\":[1]}", ERR_PARSE, 0, NULL, "items[0]"},
        {"{\"items\":[{\"generation\":\"1\"}]}", ERR_PARSE, 0, NULL, "items[0].name"},
        {"{\"items\":[{\"name\":\"\",\"generation\":\"1\"}]}", ERR_PARSE, 0, NULL, "items[0].name"},
        /* jansson refuses an escaped NUL outright */
        {"{\"items\":[{\"name\":\"a\\u0000b.yaml\",\"generation\":\"1\"}]}", ERR_PARSE, 0, NULL,
         ""},
        {"{\"items\":[{\"name\":\"a.yaml\"}]}", ERR_PARSE, 0, NULL, "items[0].generation"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"0\"}]}", ERR_PARSE, 0, NULL,
         "items[0].generation"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"12x\"}]}", ERR_PARSE, 0, NULL,
         "items[0].generation"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"99999999999999999999\"}]}", ERR_PARSE,
         0, NULL, "items[0].generation"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":1.5}]}", ERR_PARSE, 0, NULL,
         "items[0].generation"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"1\",\"size\":\"-1\"}]}", ERR_PARSE, 0,
         NULL, "items[0].size"},
        {"{\"items\":[{\"name\":\"a.yaml\",\"generation\":\"1\",\"size\":true}]}", ERR_PARSE, 0,
         NULL, "items[0].size"},
        {"{\"nextPageToken\":5}", ERR_PARSE, 0, NULL, "nextPageToken"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gcs_objects l;
        struct err_detail ed = {0};
        char unset[] = "unset", *next = unset;
        int seen = 0;
        int rc;

        gcs_objects_init(&l);
        rc = gcs_list_decode(rows[i].json, strlen(rows[i].json), keep_yaml, &seen, &l, &next, &ed);
        assert_int_equal(rc, rows[i].rc);
        if (rc < 0) {
            assert_null(next);
            assert_non_null(ed.msg);
            assert_string_equal(ed.path, rows[i].err_path);
        } else {
            assert_int_equal(l.n, rows[i].n);
            assert_int_equal(seen, rc);
            if (rows[i].next == NULL)
                assert_null(next);
            else
                assert_string_equal(next, rows[i].next);
        }
        free(next);
        err_detail_release(&ed);
        gcs_objects_release(&l);
    }
}

static void test_list_values(void **state)
{
    const char *json = "{\"items\":[{\"name\":\"apps/caf\xc3\xa9 1.yaml\",\"generation\":"
                       "\"1718031500123456\",\"size\":\"1048576\",\"bucket\":\"b\"},"
                       "{\"name\":\"z.yml\",\"generation\":\"9223372036854775807\"}]}";
    struct gcs_objects l;
    char *next = NULL;

    (void)state;
    gcs_objects_init(&l);
    assert_int_equal(gcs_list_decode(json, strlen(json), NULL, NULL, &l, &next, NULL), 2);
    assert_null(next);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "apps/caf\xc3\xa9 1.yaml");
    assert_true(l.v[0].generation == 1718031500123456LL);
    assert_true(l.v[0].size == 1048576);
    assert_string_equal(l.v[1].name, "z.yml");
    assert_true(l.v[1].generation == INT64_MAX);
    assert_true(l.v[1].size == -1);
    /* a second page appends */
    assert_int_equal(gcs_list_decode(json, strlen(json), NULL, NULL, &l, &next, NULL), 2);
    assert_int_equal(l.n, 4);
    gcs_objects_release(&l);
}

static void test_object_decode(void **state)
{
    const char *ok = "{\"kind\":\"storage#object\",\"name\":\"s/a.json\",\"generation\":"
                     "\"1718031500123457\",\"metageneration\":\"1\",\"size\":\"3\"}";
    struct gcs_object o;
    struct err_detail ed = {0};

    (void)state;
    assert_int_equal(gcs_object_decode(ok, strlen(ok), &o, &ed), 0);
    assert_string_equal(o.name, "s/a.json");
    assert_true(o.generation == 1718031500123457LL);
    assert_true(o.size == 3);
    gcs_object_release(&o);
    assert_int_equal(gcs_object_decode("{\"name\":\"x\"}", 12, &o, &ed), ERR_PARSE);
    assert_string_equal(ed.path, "generation");
    assert_null(o.name);
    err_detail_release(&ed);
    assert_int_equal(gcs_object_decode("nope", 4, &o, NULL), ERR_PARSE);
}

static void test_parse_generation(void **state)
{
    long long g = 7;

    (void)state;
    assert_int_equal(gcs_parse_generation("1718031500123456", &g), 0);
    assert_true(g == 1718031500123456LL);
    assert_int_equal(gcs_parse_generation(NULL, &g), ERR_PARSE);
    assert_true(gcs_parse_generation("0", &g) < 0);
    assert_true(gcs_parse_generation("-5", &g) < 0);
    assert_true(gcs_parse_generation("", &g) < 0);
    assert_true(gcs_parse_generation("12 ", &g) < 0);
    assert_true(g == 1718031500123456LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_location),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode_bad),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_list_decode),
        cmocka_unit_test(test_list_values),
        cmocka_unit_test(test_object_decode),
        cmocka_unit_test(test_parse_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
