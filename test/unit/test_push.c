/*
 * test_push.c - api/push: base64, the Pub/Sub push envelope (the body
 * captured from Google's emulator, the documented example, malformed
 * envelopes), classification (Storage notifications, Asset feed
 * TemporalAssets, the welcome text, everything else), asset names, and the
 * JWT splitter and claim decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/push/b64.h"
#include "api/push/jwt.h"
#include "api/push/push.h"

/* ---- base64 ---- */

static void test_b64_table(void **state)
{
    static const struct {
        const char *in;
        enum b64_alphabet alpha;
        int rc;
        const char *out;
    } t[] = {
        {"", B64_STD, 0, ""},
        {"aGVsbG8=", B64_STD, 0, "hello"},
        {"aGVsbG8", B64_STD, 0, "hello"},
        {"aGVsbG8h", B64_STD, 0, "hello!"},
        {"YQ==", B64_STD, 0, "a"},
        {"YQ", B64_STD, 0, "a"},
        {"YWI=", B64_STD, 0, "ab"},
        {"-_8=", B64_URL, 0, "\xfb\xff"},
        {"+/8=", B64_STD, 0, "\xfb\xff"},
        {"+/8=", B64_ANY, 0, "\xfb\xff"},
        {"-_8", B64_ANY, 0, "\xfb\xff"},
        {"+/8=", B64_URL, ERR_PARSE, NULL},
        {"-_8=", B64_STD, ERR_PARSE, NULL},
        {"+_8=", B64_ANY, ERR_PARSE, NULL}, /* mixed alphabets */
        {"YQ=", B64_STD, ERR_PARSE, NULL},  /* short padding */
        {"YQ===", B64_STD, ERR_PARSE, NULL},
        {"YWI==", B64_STD, ERR_PARSE, NULL},
        {"YR==", B64_STD, ERR_PARSE, NULL}, /* non-zero leftover bits */
        {"YWJ=", B64_STD, ERR_PARSE, NULL},
        {"Y", B64_STD, ERR_PARSE, NULL},
        {"YWJjZ", B64_STD, ERR_PARSE, NULL},
        {"=", B64_STD, ERR_PARSE, NULL},
        {"====", B64_STD, ERR_PARSE, NULL},
        {"YQ==YQ==", B64_STD, ERR_PARSE, NULL},
        {"aGVs bG8=", B64_STD, ERR_PARSE, NULL},
        {"aGVsbG8=\n", B64_STD, ERR_PARSE, NULL},
        {"aGVsbG8*", B64_STD, ERR_PARSE, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        unsigned char *out = NULL;
        size_t n = 0;
        int rc = b64_decode(t[i].in, strlen(t[i].in), t[i].alpha, &out, &n);

        print_message("b64 '%s'\n", t[i].in);
        assert_int_equal(rc, t[i].rc);
        if (rc == 0) {
            assert_int_equal(n, strlen(t[i].out));
            assert_memory_equal(out, t[i].out, n);
            assert_int_equal(out[n], '\0');
        } else {
            assert_null(out);
        }
        free(out);
    }
}

static void test_b64_roundtrip(void **state)
{
    unsigned char data[300];
    size_t n, i;
    int a, pad;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 131 + 7);
    for (n = 0; n < sizeof(data); n += 7)
        for (a = B64_STD; a <= B64_URL; a++)
            for (pad = 0; pad <= 1; pad++) {
                char *s = b64_encode(data, n, (enum b64_alphabet)a, pad);
                unsigned char *out;
                size_t len;

                assert_int_equal(b64_decode(s, strlen(s), (enum b64_alphabet)a, &out, &len), 0);
                assert_int_equal(len, n);
                assert_memory_equal(out, data, n);
                free(out);
                free(s);
            }
}

/* ---- the envelope ---- */

/* Exactly what Google's Pub/Sub emulator POSTed (shared/api/samples). */
static const char emulator_sample[] =
    "{\"subscription\":\"projects\\/p1\\/subscriptions\\/roam-push\",\"message\":{\"publishTime\":"
    "\"2026-11-28T20:29:27.446Z\",\"data\":\"aGVsbG8=\",\"publish_time\":\"2026-11-28T20:29:27."
    "446Z\",\"messageId\":\"1\",\"attributes\":{\"bucketId\":\"b\",\"eventType\":\"OBJECT_"
    "FINALIZE\",\"objectId\":\"a.yaml\"},\"message_id\":\"1\"}}";

/* The documented example (CONTRACTS.md §6.1). */
static const char documented[] =
    "{\"message\":{\"attributes\":{\"key\":\"value\"},"
    "\"data\":\"SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==\","
    "\"messageId\":\"2070443601311540\",\"message_id\":\"2070443601311540\","
    "\"publishTime\":\"2021-02-26T19:13:55.749Z\",\"publish_time\":\"2021-02-26T19:13:55.749Z\","
    "\"orderingKey\":\"only-if-ordering-is-used\"},"
    "\"subscription\":\"projects/myproject/subscriptions/mysubscription\",\"deliveryAttempt\":5}";

static void test_decode_samples(void **state)
{
    struct push_message m;
    struct err_detail err = {0};

    (void)state;
    assert_int_equal(push_decode(emulator_sample, strlen(emulator_sample), &m, &err), 0);
    assert_string_equal(m.message_id, "1");
    assert_string_equal(m.publish_time, "2026-11-28T20:29:27.446Z");
    assert_string_equal(m.subscription, "projects/p1/subscriptions/roam-push");
    assert_true(m.has_data);
    assert_int_equal(m.data_len, 5);
    assert_memory_equal(m.data, "hello", 5);
    assert_int_equal(m.nattrs, 3);
    assert_string_equal(push_message_attr(&m, "objectId"), "a.yaml");
    assert_null(push_message_attr(&m, "objectGeneration"));
    assert_int_equal(m.delivery_attempt, 0);
    assert_null(m.ordering_key);
    push_message_release(&m);

    assert_int_equal(push_decode(documented, strlen(documented), &m, &err), 0);
    assert_string_equal(m.message_id, "2070443601311540");
    assert_string_equal((const char *)m.data, "Hello Cloud Pub/Sub! Here is my message!");
    assert_string_equal(m.ordering_key, "only-if-ordering-is-used");
    assert_int_equal(m.delivery_attempt, 5);
    assert_string_equal(push_message_attr(&m, "key"), "value");
    push_message_release(&m);
    err_detail_release(&err);
}

static const struct env_row {
    const char *name;
    const char *body;
    int rc;
    const char *path;       /* err path on failure */
    const char *message_id; /* on success */
} env_rows[] = {
    {"minimal", "{\"message\":{\"messageId\":\"9\",\"attributes\":{\"a\":\"b\"}}}", 0, NULL, "9"},
    {"snake only", "{\"message\":{\"message_id\":\"7\",\"publish_time\":\"t\"}}", 0, NULL, "7"},
    {"camel wins", "{\"message\":{\"message_id\":\"7\",\"messageId\":\"8\"}}", 0, NULL, "8"},
    {"nulls",
     "{\"message\":{\"messageId\":\"1\",\"data\":null,\"attributes\":null},"
     "\"subscription\":null,\"deliveryAttempt\":null}",
     0, NULL, "1"},
    {"attempt as string", "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":\"3\"}", 0, NULL,
     "1"},
    {"unknown fields", "{\"message\":{\"messageId\":\"1\",\"x\":[1,{}]},\"y\":true}", 0, NULL, "1"},
    {"url-safe data", "{\"message\":{\"messageId\":\"1\",\"data\":\"-_8\"}}", 0, NULL, "1"},

    {"not json", "{\"message\":", ERR_PARSE, "", NULL},
    {"empty", "", ERR_PARSE, "", NULL},
    {"array", "[]", ERR_PARSE, "", NULL},
    {"unwrapped", "{\"data\":\"aGk=\"}", ERR_PARSE, "message", NULL},
    {"message string", "{\"message\":\"x\"}", ERR_PARSE, "message", NULL},
    {"no id", "{\"message\":{\"data\":\"aGk=\"}}", ERR_PARSE, "message.messageId", NULL},
    {"empty id", "{\"message\":{\"messageId\":\"\"}}", ERR_PARSE, "message.messageId", NULL},
    {"numeric id", "{\"message\":{\"messageId\":7}}", ERR_PARSE, "message.messageId", NULL},
    {"data number", "{\"message\":{\"messageId\":\"1\",\"data\":5}}", ERR_PARSE, "message.data",
     NULL},
    {"data bad b64", "{\"message\":{\"messageId\":\"1\",\"data\":\"a$==\"}}", ERR_PARSE,
     "message.data", NULL},
    {"data truncated b64", "{\"message\":{\"messageId\":\"1\",\"data\":\"aGVsb\"}}", ERR_PARSE,
     "message.data", NULL},
    {"attrs array", "{\"message\":{\"messageId\":\"1\",\"attributes\":[]}}", ERR_PARSE,
     "message.attributes", NULL},
    {"attr number", "{\"message\":{\"messageId\":\"1\",\"attributes\":{\"a\":1}}}", ERR_PARSE,
     "message.attributes", NULL},
    {"attempt negative", "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":-1}", ERR_PARSE,
     "deliveryAttempt", NULL},
    {"attempt real", "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":5.5}", ERR_PARSE,
     "deliveryAttempt", NULL},
    {"attempt huge", "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":4294967296}",
     ERR_PARSE, "deliveryAttempt", NULL},
    {"attempt overflow",
     "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":"
     "99999999999999999999999}",
     ERR_PARSE, "", NULL},
    {"attempt bad string", "{\"message\":{\"messageId\":\"1\"},\"deliveryAttempt\":\"5x\"}",
     ERR_PARSE, "deliveryAttempt", NULL},
    {"duplicate key", "{\"message\":{\"messageId\":\"1\",\"messageId\":\"2\"}}", ERR_PARSE, "",
     NULL},
    {"subscription number", "{\"message\":{\"messageId\":\"1\"},\"subscription\":1}", ERR_PARSE,
     "subscription", NULL},
    {"nul in string", "{\"message\":{\"messageId\":\"1\\u0000\"}}", ERR_PARSE, "", NULL},
};

static void test_decode_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(env_rows) / sizeof(env_rows[0]); i++) {
        const struct env_row *r = &env_rows[i];
        struct push_message m;
        struct err_detail err = {0};
        int rc;

        print_message("envelope '%s'\n", r->name);
        rc = push_decode(r->body, strlen(r->body), &m, &err);
        assert_int_equal(rc, r->rc);
        if (rc == 0) {
            assert_string_equal(m.message_id, r->message_id);
        } else {
            assert_non_null(err.msg);
            assert_string_equal(err.path, r->path);
            assert_null(m.message_id);
            assert_null(m.attrs);
        }
        push_message_release(&m);
        err_detail_release(&err);
    }
}

static void test_decode_attr_cap(void **state)
{
    struct buf b;
    struct push_message m;
    int i;

    (void)state;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "{\"message\":{\"messageId\":\"1\",\"attributes\":{");
    for (i = 0; i < (int)CAP_PUSH_ATTRIBUTES; i++)
        buf_printf(&b, "%s\"k%d\":\"v\"", i > 0 ? "," : "", i);
    assert_int_equal(push_decode(b.p, b.len, &m, NULL), ERR_PARSE); /* unterminated */
    buf_puts(&b, "}}}");
    assert_int_equal(push_decode(b.p, b.len, &m, NULL), 0);
    assert_int_equal(m.nattrs, CAP_PUSH_ATTRIBUTES);
    push_message_release(&m);
    b.len -= 3;
    buf_puts(&b, ",\"one-more\":\"v\"}}}");
    assert_int_equal(push_decode(b.p, b.len, &m, NULL), ERR_LIMIT);
    buf_release(&b);
}

/* ---- classification ---- */

/* A push body with these attributes (JSON object text or NULL) and data
 * (raw text or NULL). */
static char *envelope(const char *attrs, const char *data)
{
    char *d64 = data != NULL ? b64_encode(data, strlen(data), B64_STD, 1) : NULL;
    char *s = xasprintf("{\"message\":{\"messageId\":\"42\"%s%s%s%s%s}}",
                        attrs != NULL ? ",\"attributes\":" : "", attrs != NULL ? attrs : "",
                        d64 != NULL ? ",\"data\":\"" : "", d64 != NULL ? d64 : "",
                        d64 != NULL ? "\"" : "");

    free(d64);
    return s;
}

#define GCS(type, extra)                                                                           \
    "{\"eventType\":\"" type "\",\"bucketId\":\"cfg\",\"objectId\":\"apps/a.yaml\","               \
    "\"payloadFormat\":\"JSON_API_V1\",\"notificationConfig\":"                                    \
    "\"projects/_/buckets/cfg/notificationConfigs/1\"" extra "}"
#define TA(type, name, extra)                                                                      \
    "{\"asset\":{\"name\":\"" name "\",\"assetType\":\"" type "\",\"ancestors\":[\"projects/1\"]," \
    "\"iamPolicy\":{\"bindings\":[],\"etag\":\"BwX\"}},\"priorAssetState\":\"PRESENT\","           \
    "\"window\":{\"startTime\":\"2024-01-30T00:00:00Z\"}" extra "}"
#define RUN_SVC "//run.googleapis.com/projects/p1/locations/europe-west1/services/api"

static const struct cls_row {
    const char *name;
    const char *attrs;
    const char *data;
    int rc;
    enum push_kind kind;
    const char *a; /* bucket or resource */
    const char *b; /* object */
    long long generation;
    int event; /* storage event or asset type */
    bool flag; /* overwritten or deleted */
    bool numeric;
} cls_rows[] = {
    {"finalize", GCS("OBJECT_FINALIZE", ",\"objectGeneration\":\"1700000000000001\""),
     "{\"kind\":\"storage#object\"}", 0, PUSH_STORAGE, "cfg", "apps/a.yaml", 1700000000000001,
     PUSH_OBJECT_FINALIZE, false, false},
    {"delete overwritten",
     GCS("OBJECT_DELETE", ",\"objectGeneration\":\"5\",\"overwrittenByGeneration\":\"6\""), NULL, 0,
     PUSH_STORAGE, "cfg", "apps/a.yaml", 5, PUSH_OBJECT_DELETE, true, false},
    {"delete", GCS("OBJECT_DELETE", ""), NULL, 0, PUSH_STORAGE, "cfg", "apps/a.yaml", 0,
     PUSH_OBJECT_DELETE, false, false},
    {"metadata", GCS("OBJECT_METADATA_UPDATE", ""), NULL, 0, PUSH_STORAGE, "cfg", "apps/a.yaml", 0,
     PUSH_OBJECT_METADATA_UPDATE, false, false},
    {"archive", GCS("OBJECT_ARCHIVE", ",\"overwrittenByGeneration\":\"9\""), NULL, 0, PUSH_STORAGE,
     "cfg", "apps/a.yaml", 0, PUSH_OBJECT_ARCHIVE, true, false},
    {"emulator sample attrs",
     "{\"bucketId\":\"b\",\"eventType\":\"OBJECT_FINALIZE\",\"objectId\":\"a.yaml\"}", "hello", 0,
     PUSH_STORAGE, "b", "a.yaml", 0, PUSH_OBJECT_FINALIZE, false, false},
    {.name = "unknown event",
     .attrs = GCS("OBJECT_RESTORE", ""),
     .data = NULL,
     .rc = 0,
     .kind = PUSH_OTHER},
    {.name = "no object",
     .attrs = "{\"eventType\":\"OBJECT_FINALIZE\",\"bucketId\":\"b\"}",
     .data = NULL,
     .rc = ERR_PARSE},
    {.name = "bad generation",
     .attrs = GCS("OBJECT_FINALIZE", ",\"objectGeneration\":\"12x\""),
     .data = NULL,
     .rc = ERR_PARSE},
    {.name = "negative generation",
     .attrs = GCS("OBJECT_FINALIZE", ",\"objectGeneration\":\"-1\""),
     .data = NULL,
     .rc = ERR_PARSE},
    {.name = "huge generation",
     .attrs = GCS("OBJECT_FINALIZE", ",\"objectGeneration\":\"99999999999999999999\""),
     .data = NULL,
     .rc = ERR_PARSE},
    {.name = "eventType without bucket",
     .attrs = "{\"eventType\":\"OBJECT_FINALIZE\"}",
     .data = NULL,
     .rc = 0,
     .kind = PUSH_OTHER},

    {"run service", NULL, TA("run.googleapis.com/Service", RUN_SVC, ",\"deleted\":false"), 0,
     PUSH_ASSET, "projects/p1/locations/europe-west1/services/api", NULL, 0, PUSH_ASSET_RUN_SERVICE,
     false, false},
    {"run job deleted", NULL,
     TA("run.googleapis.com/Job", "//run.googleapis.com/projects/p1/locations/r/jobs/nightly",
        ",\"deleted\":true"),
     0, PUSH_ASSET, "projects/p1/locations/r/jobs/nightly", NULL, 0, PUSH_ASSET_RUN_JOB, true,
     false},
    {"service account", NULL,
     TA("iam.googleapis.com/ServiceAccount",
        "//iam.googleapis.com/projects/p1/serviceAccounts/api@p1.iam.gserviceaccount.com", ""),
     0, PUSH_ASSET, "projects/p1/serviceAccounts/api@p1.iam.gserviceaccount.com", NULL, 0,
     PUSH_ASSET_SERVICE_ACCOUNT, false, false},
    {"service account by id", NULL,
     TA("iam.googleapis.com/ServiceAccount",
        "//iam.googleapis.com/projects/p1/serviceAccounts/112233445566778899", ""),
     0, PUSH_ASSET, "projects/p1/serviceAccounts/112233445566778899", NULL, 0,
     PUSH_ASSET_SERVICE_ACCOUNT, false, true},
    {"prior asset only", NULL,
     "{\"priorAsset\":{\"name\":\"" RUN_SVC "\",\"assetType\":\"run.googleapis.com/Service\"},"
     "\"deleted\":true}",
     0, PUSH_ASSET, "projects/p1/locations/europe-west1/services/api", NULL, 0,
     PUSH_ASSET_RUN_SERVICE, true, false},
    {.name = "bucket asset",
     .attrs = NULL,
     .data = TA("storage.googleapis.com/Bucket", "//storage.googleapis.com/b", ""),
     .rc = 0,
     .kind = PUSH_OTHER},
    {.name = "welcome",
     .attrs = NULL,
     .data = "You have successfully configured real time feed 'feed-1' on 'projects/123'.",
     .rc = 0,
     .kind = PUSH_WELCOME},
    {.name = "json not asset", .attrs = NULL, .data = "{\"hello\":1}", .rc = 0, .kind = PUSH_OTHER},
    {.name = "json array", .attrs = NULL, .data = "[1,2]", .rc = 0, .kind = PUSH_OTHER},
    {.name = "json string", .attrs = NULL, .data = "\"x\"", .rc = 0, .kind = PUSH_OTHER},
    {.name = "no data", .attrs = "{\"x\":\"y\"}", .data = NULL, .rc = 0, .kind = PUSH_OTHER},
    {.name = "empty data", .attrs = NULL, .data = "", .rc = 0, .kind = PUSH_OTHER},
    {.name = "asset not object", .attrs = NULL, .data = "{\"asset\":5}", .rc = ERR_PARSE},
    {.name = "deleted not bool",
     .attrs = NULL,
     .data = TA("run.googleapis.com/Service", RUN_SVC, ",\"deleted\":\"yes\""),
     .rc = ERR_PARSE},
    {.name = "name not string",
     .attrs = NULL,
     .data = "{\"asset\":{\"name\":5,\"assetType\":\"run.googleapis.com/Job\"}}",
     .rc = ERR_PARSE},
    {.name = "type missing",
     .attrs = NULL,
     .data = "{\"asset\":{\"name\":\"" RUN_SVC "\"}}",
     .rc = ERR_PARSE},
    {.name = "name of another type",
     .attrs = NULL,
     .data = TA("run.googleapis.com/Job", RUN_SVC, ""),
     .rc = ERR_PARSE},
    {.name = "name extra segment",
     .attrs = NULL,
     .data = TA("run.googleapis.com/Service", RUN_SVC "/revisions/r1", ""),
     .rc = ERR_PARSE},
    {.name = "name other host",
     .attrs = NULL,
     .data = TA("run.googleapis.com/Service",
                "//evil.example/projects/p1/locations/europe-west1/services/api", ""),
     .rc = ERR_PARSE},
};

static void test_classify_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cls_rows) / sizeof(cls_rows[0]); i++) {
        const struct cls_row *r = &cls_rows[i];
        char *body = envelope(r->attrs, r->data);
        struct push_message m;
        struct push_event e;
        struct err_detail err = {0};
        int rc;

        print_message("classify '%s'\n", r->name);
        assert_int_equal(push_decode(body, strlen(body), &m, NULL), 0);
        rc = push_classify(&m, &e, &err);
        assert_int_equal(rc, r->rc);
        if (rc != 0) {
            assert_non_null(err.msg);
            assert_int_equal(e.kind, PUSH_OTHER);
            assert_null(e.resource);
            assert_null(e.bucket);
        } else {
            assert_int_equal(e.kind, r->kind);
        }
        if (rc == 0 && r->kind == PUSH_STORAGE) {
            assert_string_equal(e.bucket, r->a);
            assert_string_equal(e.object, r->b);
            assert_int_equal(e.generation, r->generation);
            assert_int_equal(e.event, r->event);
            assert_int_equal(e.overwritten, r->flag);
        } else if (rc == 0 && r->kind == PUSH_ASSET) {
            assert_string_equal(e.resource, r->a);
            assert_int_equal(e.asset_type, r->event);
            assert_int_equal(e.deleted, r->flag);
            assert_int_equal(e.numeric_id, r->numeric);
        } else if (rc == 0) {
            assert_null(e.resource);
            assert_null(e.bucket);
        }
        push_event_release(&e);
        push_message_release(&m);
        err_detail_release(&err);
        free(body);
    }
}

static void test_asset_names(void **state)
{
    static const struct {
        enum push_asset_type type;
        const char *name;
        const char *want;
    } t[] = {
        {PUSH_ASSET_RUN_SERVICE, RUN_SVC, "projects/p1/locations/europe-west1/services/api"},
        {PUSH_ASSET_RUN_JOB, "//run.googleapis.com/projects/p/locations/r/jobs/j",
         "projects/p/locations/r/jobs/j"},
        {PUSH_ASSET_SERVICE_ACCOUNT, "//iam.googleapis.com/projects/p/serviceAccounts/a@b.c",
         "projects/p/serviceAccounts/a@b.c"},
        {PUSH_ASSET_RUN_SERVICE, "//run.googleapis.com/projects/p/locations/r/jobs/j", NULL},
        {PUSH_ASSET_RUN_SERVICE, "//run.googleapis.com/projects//locations/r/services/s", NULL},
        {PUSH_ASSET_RUN_SERVICE, "//run.googleapis.com/projects/p/locations/r/services/", NULL},
        {PUSH_ASSET_RUN_SERVICE, "//run.googleapis.com/projects/p/locations/r/services", NULL},
        {PUSH_ASSET_RUN_SERVICE, "run.googleapis.com/projects/p/locations/r/services/s", NULL},
        {PUSH_ASSET_RUN_SERVICE, "//run.googleapis.com/projects/p/locations/r/services/s/", NULL},
        {PUSH_ASSET_SERVICE_ACCOUNT, "//iam.googleapis.com/projects/p/serviceAccounts/a/keys/k",
         NULL},
        {PUSH_ASSET_SERVICE_ACCOUNT, "//run.googleapis.com/projects/p/serviceAccounts/a", NULL},
        {PUSH_ASSET_TYPE_MAX, RUN_SVC, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *got = push_asset_resource(t[i].type, t[i].name);

        print_message("asset '%s'\n", t[i].name);
        if (t[i].want == NULL)
            assert_null(got);
        else
            assert_string_equal(got, t[i].want);
        free(got);
    }
    assert_string_equal(push_kind_name(PUSH_WELCOME), "WELCOME");
    assert_string_equal(push_storage_event_name(PUSH_OBJECT_ARCHIVE), "OBJECT_ARCHIVE");
    assert_string_equal(push_asset_type_name(PUSH_ASSET_RUN_JOB), "run.googleapis.com/Job");
    assert_string_equal(push_kind_name(PUSH_KIND_MAX), "?");
}

/* ---- JWT ---- */

static char *jwt_of(const char *header, const char *payload, const char *sig)
{
    char *h = b64_encode(header, strlen(header), B64_URL, 0);
    char *p = b64_encode(payload, strlen(payload), B64_URL, 0);
    char *s = b64_encode(sig, strlen(sig), B64_URL, 0);
    char *t = xasprintf("%s.%s.%s", h, p, s);

    free(h);
    free(p);
    free(s);
    return t;
}

static void test_jwt_decode(void **state)
{
    static const struct {
        const char *header, *payload;
        int rc;
        const char *path;
    } t[] = {
        {"{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", "{\"a\":1}", 0, NULL},
        {"{\"alg\":\"none\"}", "{}", 0, NULL},
        {"{\"kid\":\"k1\"}", "{}", ERR_PARSE, "header.alg"},
        {"{\"alg\":5}", "{}", ERR_PARSE, "alg"},
        {"{\"alg\":\"RS256\",\"kid\":[]}", "{}", ERR_PARSE, "kid"},
        {"{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", ERR_PARSE, "header"},
        {"[1]", "{}", ERR_PARSE, "header"},
        {"{\"alg\":\"RS256\"}", "[]", ERR_PARSE, "payload"},
        {"{\"alg\":\"RS256\"}", "not json", ERR_PARSE, "payload"},
        {"{\"alg\":\"RS256\"}", "{\"a\":1,\"a\":2}", ERR_PARSE, "payload"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *tok = jwt_of(t[i].header, t[i].payload, "sig");
        struct jwt j;
        struct err_detail err = {0};
        int rc = jwt_decode(tok, strlen(tok), &j, &err);

        print_message("jwt %s.%s\n", t[i].header, t[i].payload);
        assert_int_equal(rc, t[i].rc);
        if (rc == 0) {
            assert_string_equal(j.payload_json, t[i].payload);
            assert_int_equal(j.sig_len, 3);
            assert_memory_equal(j.sig, "sig", 3);
        } else {
            assert_string_equal(err.path, t[i].path);
            assert_null(j.alg);
        }
        jwt_release(&j);
        err_detail_release(&err);
        free(tok);
    }
}

static void test_jwt_split(void **state)
{
    static const char *const bad[] = {
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "..",
        "eyJhbGciOiJSUzI1NiJ9..",
        "eyJhbGciOiJSUzI1NiJ9.e30.***",
        "eyJhbGciOiJSUzI1NiJ9.e30=.",
        "eyJhbGciOiJSUzI1NiJ9 .e30.",
        ".e30.",
    };
    struct jwt j;
    char *big;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("split '%s'\n", bad[i]);
        assert_int_equal(jwt_decode(bad[i], strlen(bad[i]), &j, NULL), ERR_PARSE);
    }
    /* eyJhbGciOiJSUzI1NiJ9 = {"alg":"RS256"}, e30 = {}, empty signature. */
    assert_int_equal(jwt_decode("eyJhbGciOiJSUzI1NiJ9.e30.", 25, &j, NULL), 0);
    assert_string_equal(j.alg, "RS256");
    assert_null(j.kid);
    assert_int_equal(j.sig_len, 0);
    jwt_release(&j);
    big = xmalloc(CAP_JWT_BYTES + 2);
    memset(big, 'a', CAP_JWT_BYTES + 1);
    big[CAP_JWT_BYTES + 1] = '\0';
    assert_int_equal(jwt_decode(big, strlen(big), &j, NULL), ERR_LIMIT);
    free(big);
}

static void test_jwt_claims(void **state)
{
    struct jwt_claims c;
    struct err_detail err = {0};
    const char *ok = "{\"iss\":\"https://accounts.google.com\",\"aud\":\"https://x/pubsub\","
                     "\"azp\":\"1\",\"sub\":\"2\",\"email\":\"a@b\",\"email_verified\":true,"
                     "\"iat\":1700000000,\"exp\":1700003600.9,\"nbf\":1699999999}";
    static const struct {
        const char *json;
        const char *path;
    } bad[] = {
        {"{\"iss\":1}", "iss"},
        {"{\"aud\":1}", "aud"},
        {"{\"aud\":[\"a\",1]}", "aud"},
        {"{\"email_verified\":1}", "email_verified"},
        {"{\"exp\":\"1\"}", "exp"},
        {"{\"exp\":1e20}", "exp"},
        {"{\"iat\":-1e17}", "iat"},
        {"{\"nbf\":null}", "nbf"},
        {"[]", ""},
        {"{", ""},
    };
    size_t i;

    (void)state;
    assert_int_equal(jwt_claims_decode(ok, strlen(ok), &c, &err), 0);
    assert_string_equal(c.iss, "https://accounts.google.com");
    assert_int_equal(c.naud, 1);
    assert_true(jwt_claims_has_aud(&c, "https://x/pubsub"));
    assert_false(jwt_claims_has_aud(&c, "https://x/pubsub/"));
    assert_true(c.email_verified);
    assert_true(c.has_exp && c.has_iat && c.has_nbf);
    assert_int_equal(c.exp, 1700003600);
    assert_int_equal(c.iat, 1700000000);
    jwt_claims_release(&c);

    {
        const char *two = "{\"aud\":[\"a\",\"b\"],\"email_verified\":\"false\"}";
        assert_int_equal(jwt_claims_decode(two, strlen(two), &c, NULL), 0);
    }
    assert_int_equal(c.naud, 2);
    assert_true(jwt_claims_has_aud(&c, "b"));
    assert_false(c.email_verified);
    assert_false(c.has_exp);
    jwt_claims_release(&c);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("claims %s\n", bad[i].json);
        assert_int_equal(jwt_claims_decode(bad[i].json, strlen(bad[i].json), &c, &err), ERR_PARSE);
        assert_string_equal(err.path, bad[i].path);
        assert_null(c.iss);
        assert_null(c.aud);
    }
    err_detail_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_table),       cmocka_unit_test(test_b64_roundtrip),
        cmocka_unit_test(test_decode_samples),  cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_decode_attr_cap), cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_asset_names),     cmocka_unit_test(test_jwt_decode),
        cmocka_unit_test(test_jwt_split),       cmocka_unit_test(test_jwt_claims),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
