/*
 * test_gerr.c - api/gcp/gerr: Google error bodies (google.rpc.Status,
 * Storage legacy, OAuth2, garbage) -> code, status, reason, retry decision;
 * messages; durations and Retry-After.
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

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/gcp/gerr.h"

#define RPC(code, status, msg, extra)                                                              \
    "{\"error\":{\"code\":" #code ",\"message\":\"" msg "\",\"status\":\"" status "\"" extra "}}"
#define GCS(code, reason, msg)                                                                     \
    "{\"error\":{\"code\":" #code ",\"message\":\"" msg "\",\"errors\":[{\"domain\":\"global\","   \
    "\"reason\":\"" reason "\",\"message\":\"" msg "\"}]}}"
#define ERRINFO(reason)                                                                            \
    "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"" reason                 \
    "\",\"domain\":\"googleapis.com\",\"metadata\":{\"quota_metric\":\"m\"}}"
#define RETRYINFO(delay)                                                                           \
    "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":" delay "}"

static const struct row {
    long http;
    const char *body;
    int code;
    const char *status;
    const char *reason;
    const char *message;
    long long delay;
    bool retryable;
    enum gerr_format format;
} rows[] = {
    /* google.rpc.Status: decided by status. */
    {403, RPC(403, "PERMISSION_DENIED", "Permission 'run.services.setIamPolicy' denied", ""),
     ERR_PERM, "PERMISSION_DENIED", NULL, "Permission 'run.services.setIamPolicy' denied", -1,
     false, GERR_FORMAT_RPC},
    {409,
     RPC(409, "ABORTED", "There were concurrent policy changes.",
         ",\"errors\":[{\"domain\":\"global\",\"reason\":\"aborted\",\"message\":\"x\"}]"),
     ERR_CONFLICT, "ABORTED", "aborted", "There were concurrent policy changes.", -1, false,
     GERR_FORMAT_RPC},
    {429,
     RPC(429, "RESOURCE_EXHAUSTED", "Quota exceeded",
         ",\"details\":[" ERRINFO("RATE_LIMIT_EXCEEDED") "," RETRYINFO("\"2.5s\"") "]"),
     ERR_TRANSIENT, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED", "Quota exceeded", 2500, true,
     GERR_FORMAT_RPC},
    {503, RPC(503, "UNAVAILABLE", "The service is currently unavailable.", ""), ERR_TRANSIENT,
     "UNAVAILABLE", NULL, "The service is currently unavailable.", -1, true, GERR_FORMAT_RPC},
    {500, RPC(500, "INTERNAL", "oops", ""), ERR_TRANSIENT, "INTERNAL", NULL, "oops", -1, true,
     GERR_FORMAT_RPC},
    {504, RPC(504, "DEADLINE_EXCEEDED", "slow", ""), ERR_TRANSIENT, "DEADLINE_EXCEEDED", NULL,
     "slow", -1, true, GERR_FORMAT_RPC},
    {404, RPC(404, "NOT_FOUND", "Resource 'x' was not found", ""), ERR_NOTFOUND, "NOT_FOUND", NULL,
     "Resource 'x' was not found", -1, false, GERR_FORMAT_RPC},
    {400, RPC(400, "FAILED_PRECONDITION", "conditions unsupported", ""), ERR_INVAL,
     "FAILED_PRECONDITION", NULL, "conditions unsupported", -1, false, GERR_FORMAT_RPC},
    {412, RPC(412, "FAILED_PRECONDITION", "etag mismatch", ""), ERR_CONFLICT, "FAILED_PRECONDITION",
     NULL, "etag mismatch", -1, false, GERR_FORMAT_RPC},
    {400, RPC(400, "INVALID_ARGUMENT", "bad member", ""), ERR_INVAL, "INVALID_ARGUMENT", NULL,
     "bad member", -1, false, GERR_FORMAT_RPC},
    {409, RPC(409, "ALREADY_EXISTS", "exists", ""), ERR_CONFLICT, "ALREADY_EXISTS", NULL, "exists",
     -1, false, GERR_FORMAT_RPC},
    {401, RPC(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", ""),
     ERR_AUTH, "UNAUTHENTICATED", NULL, "Request had invalid authentication credentials.", -1,
     false, GERR_FORMAT_RPC},
    {499, RPC(499, "CANCELLED", "gone", ""), ERR_CANCELLED, "CANCELLED", NULL, "gone", -1, false,
     GERR_FORMAT_RPC},
    {501, RPC(501, "UNIMPLEMENTED", "no", ""), ERR_UNSUPPORTED, "UNIMPLEMENTED", NULL, "no", -1,
     false, GERR_FORMAT_RPC},
    {500, RPC(500, "DATA_LOSS", "lost", ""), ERR_IO, "DATA_LOSS", NULL, "lost", -1, false,
     GERR_FORMAT_RPC},
    {403,
     RPC(403, "PERMISSION_DENIED", "Cloud Run Admin API has not been used",
         ",\"details\":[" ERRINFO("SERVICE_DISABLED") "]"),
     ERR_PERM, "PERMISSION_DENIED", "SERVICE_DISABLED", "Cloud Run Admin API has not been used", -1,
     false, GERR_FORMAT_RPC},
    /* Status first, HTTP code second: the status wins when they disagree. */
    {400, RPC(400, "NOT_FOUND", "odd", ""), ERR_NOTFOUND, "NOT_FOUND", NULL, "odd", -1, false,
     GERR_FORMAT_RPC},
    {503, RPC(503, "INVALID_ARGUMENT", "odd", ""), ERR_INVAL, "INVALID_ARGUMENT", NULL, "odd", -1,
     false, GERR_FORMAT_RPC},
    /* ... and never the message. */
    {403, RPC(403, "PERMISSION_DENIED", "quota exceeded, rate limit, please retry", ""), ERR_PERM,
     "PERMISSION_DENIED", NULL, "quota exceeded, rate limit, please retry", -1, false,
     GERR_FORMAT_RPC},
    /* An unknown status string counts as absent. */
    {503, RPC(503, "TEAPOT", "brewing", ""), ERR_TRANSIENT, "UNAVAILABLE", NULL, "brewing", -1,
     true, GERR_FORMAT_LEGACY},
    /* 403 rate limits of older APIs are retryable. */
    {403,
     RPC(403, "PERMISSION_DENIED", "Rate Limit Exceeded",
         ",\"errors\":[{\"domain\":\"usageLimits\",\"reason\":\"rateLimitExceeded\"}]"),
     ERR_TRANSIENT, "PERMISSION_DENIED", "rateLimitExceeded", "Rate Limit Exceeded", -1, true,
     GERR_FORMAT_RPC},
    {403,
     RPC(403, "PERMISSION_DENIED", "slow down",
         ",\"details\":[" ERRINFO("RATE_LIMIT_EXCEEDED") "]"),
     ERR_TRANSIENT, "PERMISSION_DENIED", "RATE_LIMIT_EXCEEDED", "slow down", -1, true,
     GERR_FORMAT_RPC},
    /* Storage legacy: no status; HTTP code and errors[0].reason. */
    {412, GCS(412, "conditionNotMet", "Precondition Failed"), ERR_CONFLICT, "FAILED_PRECONDITION",
     "conditionNotMet", "Precondition Failed", -1, false, GERR_FORMAT_LEGACY},
    {404, GCS(404, "notFound", "No such object: b/o"), ERR_NOTFOUND, "NOT_FOUND", "notFound",
     "No such object: b/o", -1, false, GERR_FORMAT_LEGACY},
    {403, GCS(403, "forbidden", "denied"), ERR_PERM, "PERMISSION_DENIED", "forbidden", "denied", -1,
     false, GERR_FORMAT_LEGACY},
    {401, GCS(401, "required", "Login Required"), ERR_AUTH, "UNAUTHENTICATED", "required",
     "Login Required", -1, false, GERR_FORMAT_LEGACY},
    {429, GCS(429, "rateLimitExceeded", "slow"), ERR_TRANSIENT, "RESOURCE_EXHAUSTED",
     "rateLimitExceeded", "slow", -1, true, GERR_FORMAT_LEGACY},
    {403, GCS(403, "userRateLimitExceeded", "slow"), ERR_TRANSIENT, "RESOURCE_EXHAUSTED",
     "userRateLimitExceeded", "slow", -1, true, GERR_FORMAT_LEGACY},
    {500, GCS(500, "backendError", "Backend Error"), ERR_TRANSIENT, "INTERNAL", "backendError",
     "Backend Error", -1, true, GERR_FORMAT_LEGACY},
    {502, GCS(502, "backendError", "Bad Gateway"), ERR_TRANSIENT, "UNAVAILABLE", "backendError",
     "Bad Gateway", -1, true, GERR_FORMAT_LEGACY},
    /* OAuth2 token errors. */
    {400,
     "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or revoked.\"}",
     ERR_AUTH, "INVALID_ARGUMENT", "invalid_grant", "Token has been expired or revoked.", -1, false,
     GERR_FORMAT_OAUTH},
    {401,
     "{\"error\":\"invalid_client\",\"error_description\":\"The OAuth client was not found.\"}",
     ERR_AUTH, "UNAUTHENTICATED", "invalid_client", "The OAuth client was not found.", -1, false,
     GERR_FORMAT_OAUTH},
    {400, "{\"error\":\"temporarily_unavailable\"}", ERR_TRANSIENT, "INVALID_ARGUMENT",
     "temporarily_unavailable", NULL, -1, true, GERR_FORMAT_OAUTH},
    {503, "{\"error\":\"invalid_request\"}", ERR_TRANSIENT, "UNAVAILABLE", "invalid_request", NULL,
     -1, true, GERR_FORMAT_OAUTH},
    {400, "{\"error\":\"invalid_grant\",\"error_description\":7}", ERR_AUTH, "INVALID_ARGUMENT",
     "invalid_grant", NULL, -1, false, GERR_FORMAT_OAUTH},
    /* No JSON: the HTTP code decides; short plain text is kept. */
    {502, "<html><body>502 Bad Gateway</body></html>", ERR_TRANSIENT, "UNAVAILABLE", NULL, NULL, -1,
     true, GERR_FORMAT_NONE},
    {404, "Not Found\n", ERR_NOTFOUND, "NOT_FOUND", NULL, "Not Found", -1, false, GERR_FORMAT_NONE},
    {403, "Missing Metadata-Flavor:Google header.\nmore", ERR_PERM, "PERMISSION_DENIED", NULL,
     "Missing Metadata-Flavor:Google header.", -1, false, GERR_FORMAT_NONE},
    {504, "", ERR_TRANSIENT, "DEADLINE_EXCEEDED", NULL, NULL, -1, true, GERR_FORMAT_NONE},
    {408, NULL, ERR_TRANSIENT, "DEADLINE_EXCEEDED", NULL, NULL, -1, true, GERR_FORMAT_NONE},
    {429, "", ERR_TRANSIENT, "RESOURCE_EXHAUSTED", NULL, NULL, -1, true, GERR_FORMAT_NONE},
    {500, "[1,2]", ERR_TRANSIENT, "INTERNAL", NULL, NULL, -1, true, GERR_FORMAT_NONE},
    {418, "", ERR_INVAL, "UNKNOWN", NULL, NULL, -1, false, GERR_FORMAT_NONE},
    {505, "", ERR_TRANSIENT, "UNKNOWN", NULL, NULL, -1, false, GERR_FORMAT_NONE},
    {301, "", ERR_IO, "UNKNOWN", NULL, NULL, -1, false, GERR_FORMAT_NONE},
    {501, "", ERR_UNSUPPORTED, "UNIMPLEMENTED", NULL, NULL, -1, false, GERR_FORMAT_NONE},
    {400, "{\"error\":null}", ERR_INVAL, "INVALID_ARGUMENT", NULL, NULL, -1, false,
     GERR_FORMAT_NONE},
    {400, "{\"error\":\"x\"", ERR_INVAL, "INVALID_ARGUMENT", NULL, NULL, -1, false,
     GERR_FORMAT_NONE},
    /* Wrong types everywhere: ignored, never trusted. */
    {400,
     "{\"error\":{\"code\":\"x\",\"status\":5,\"message\":[],\"details\":\"no\",\"errors\":{}}}",
     ERR_INVAL, "INVALID_ARGUMENT", NULL, NULL, -1, false, GERR_FORMAT_LEGACY},
    {503,
     "{\"error\":{\"status\":\"UNAVAILABLE\",\"details\":[1,null,{\"@type\":5},"
     "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":[]}," RETRYINFO(
         "\"banana\"") "],\"errors\":[7,{\"reason\":{}}]}}",
     ERR_TRANSIENT, "UNAVAILABLE", NULL, NULL, -1, true, GERR_FORMAT_RPC},
    {429,
     RPC(429, "RESOURCE_EXHAUSTED", "q",
         ",\"details\":[" RETRYINFO("{\"seconds\":\"3\",\"nanos\":500000000}") "]"),
     ERR_TRANSIENT, "RESOURCE_EXHAUSTED", NULL, "q", 3500, true, GERR_FORMAT_RPC},
    {429, RPC(429, "RESOURCE_EXHAUSTED", "q", ",\"details\":[" RETRYINFO("{\"seconds\":-3}") "]"),
     ERR_TRANSIENT, "RESOURCE_EXHAUSTED", NULL, "q", -1, true, GERR_FORMAT_RPC},
    {429, RPC(429, "RESOURCE_EXHAUSTED", "q", ",\"details\":[" RETRYINFO("\"99999999s\"") "]"),
     ERR_TRANSIENT, "RESOURCE_EXHAUSTED", NULL, "q", -1, true, GERR_FORMAT_RPC},
    /* Control characters never survive into a message. */
    {400, RPC(400, "INVALID_ARGUMENT", "line1\\nline2\\u0007\\u001b[31m  ", ""), ERR_INVAL,
     "INVALID_ARGUMENT", NULL, "line1 line2  [31m", -1, false, GERR_FORMAT_RPC},
    {400, RPC(400, "INVALID_ARGUMENT", "a\\u0000b", ""), ERR_INVAL, "INVALID_ARGUMENT", NULL, "a b",
     -1, false, GERR_FORMAT_RPC},
    /* Success is not an error. */
    {200, "{}", 0, "OK", NULL, NULL, -1, false, GERR_FORMAT_NONE},
};

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("row %zu (http %ld): %s", i, r->http, #cond);                                 \
    } while (0)

static void check_row(const struct row *r, const struct gerr *g, size_t i)
{
    CHECK(g->code == r->code);
    CHECK(g->http_status == r->http);
    CHECK(same(g->status, r->status));
    CHECK(same(g->reason, r->reason));
    CHECK(same(g->message, r->message));
    CHECK(g->retry_delay_ms == r->delay);
    CHECK(g->retryable == r->retryable);
    CHECK(g->format == r->format);
}

static void test_decode_table(void **state)
{
    struct gerr g;

    (void)state;
    gerr_init(&g);
    /* One struct reused for every row: decode releases what it held. */
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *b = rows[i].body;
        int code = gerr_decode(rows[i].http, b, b != NULL ? strlen(b) : 0, &g);

        if (code != g.code)
            fail_msg("row %zu: returned %d, stored %d", i, code, g.code);
        check_row(&rows[i], &g, i);
    }
    gerr_release(&g);
}

static void test_domain(void **state)
{
    struct gerr g;
    const char *b =
        RPC(429, "RESOURCE_EXHAUSTED", "q", ",\"details\":[" ERRINFO("RATE_LIMIT_EXCEEDED") "]");

    (void)state;
    gerr_init(&g);
    gerr_decode(429, b, strlen(b), &g);
    assert_string_equal(g.domain, "googleapis.com");
    b = GCS(412, "conditionNotMet", "x");
    gerr_decode(412, b, strlen(b), &g);
    assert_string_equal(g.domain, "global");
    gerr_release(&g);
    assert_null(g.status);
    assert_int_equal(g.retry_delay_ms, -1);
}

static void test_format(void **state)
{
    static const struct {
        long http;
        const char *body, *verb, *resource;
        bool detail;
        const char *want;
    } fmt[] = {
        {403, RPC(403, "PERMISSION_DENIED", "Permission denied on resource", ""),
         "set IAM policy for", "projects/p/locations/r/services/s", false,
         "cannot set IAM policy for 'projects/p/locations/r/services/s': permission denied "
         "(PERMISSION_DENIED)"},
        {403, RPC(403, "PERMISSION_DENIED", "Permission denied on resource", ""),
         "set IAM policy for", "projects/p/locations/r/services/s", true,
         "cannot set IAM policy for 'projects/p/locations/r/services/s': permission denied "
         "(PERMISSION_DENIED): Permission denied on resource"},
        {400, "{\"error\":\"invalid_grant\",\"error_description\":\"Bad\"}",
         "get access token from", "https://oauth2.googleapis.com/token", false,
         "cannot get access token from 'https://oauth2.googleapis.com/token': invalid grant "
         "(invalid_grant)"},
        {429, GCS(429, "rateLimitExceeded", "x"), "list objects in", "gs://b", false,
         "cannot list objects in 'gs://b': rate limit exceeded (RESOURCE_EXHAUSTED)"},
        {403, RPC(403, "PERMISSION_DENIED", "x", ",\"details\":[" ERRINFO("SERVICE_DISABLED") "]"),
         "list services in", "projects/p", false,
         "cannot list services in 'projects/p': API not enabled (PERMISSION_DENIED)"},
        {409, RPC(409, "ABORTED", "x", ""), "set IAM policy for", "r", false,
         "cannot set IAM policy for 'r': aborted by a concurrent change (ABORTED)"},
        {502, "<html></html>", "GET", "https://run.googleapis.com/v2/x", true,
         "cannot GET 'https://run.googleapis.com/v2/x': service unavailable (UNAVAILABLE)"},
        {418, "", "GET", "u", false, "cannot GET 'u': unexpected HTTP status (UNKNOWN)"},
        {400, "{\"error\":\"weird\"}", "get access token from", "t", false,
         "cannot get access token from 't': token request failed (weird)"},
    };
    struct gerr g;

    (void)state;
    gerr_init(&g);
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        char *s;

        gerr_decode(fmt[i].http, fmt[i].body, strlen(fmt[i].body), &g);
        s = gerr_format(&g, fmt[i].verb, fmt[i].resource, fmt[i].detail);
        assert_string_equal(s, fmt[i].want);
        free(s);
    }
    gerr_release(&g);
}

/* Long messages are capped and cut on a UTF-8 character boundary. */
static void test_message_cap(void **state)
{
    size_t cap = CAP_ERROR_MESSAGE_BYTES;
    size_t n = cap + 100;
    char *msg = malloc(n + 1), *body;
    struct gerr g;
    size_t blen;

    (void)state;
    memset(msg, 'a', n);
    /* A two-byte character straddling the cap. */
    msg[cap - 1] = (char)0xc3;
    msg[cap] = (char)0xa9;
    msg[n] = '\0';
    blen = strlen(msg) + 64;
    body = malloc(blen);
    snprintf(body, blen, "{\"error\":{\"code\":400,\"message\":\"%s\"}}", msg);
    gerr_init(&g);
    gerr_decode(400, body, strlen(body), &g);
    assert_non_null(g.message);
    assert_int_equal(strlen(g.message), cap - 1);
    assert_int_equal(g.message[cap - 2], 'a');
    gerr_release(&g);
    free(body);
    free(msg);
}

/* Every truncation of real bodies, and bytes from a fixed generator: the
 * decoder never fails and the HTTP code still decides. */
static void test_garbage(void **state)
{
    static const char *const seeds[] = {
        RPC(429, "RESOURCE_EXHAUSTED", "q",
            ",\"details\":[" ERRINFO("RATE_LIMIT_EXCEEDED") "," RETRYINFO("\"2.5s\"") "]"),
        GCS(412, "conditionNotMet", "Precondition Failed"),
        "{\"error\":\"invalid_grant\",\"error_description\":\"x\"}",
    };
    struct gerr g;
    uint64_t x = 88172645463325252u;
    char junk[256];

    (void)state;
    gerr_init(&g);
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
        for (size_t len = 0; len <= strlen(seeds[s]); len++) {
            int code = gerr_decode(503, seeds[s], len, &g);

            assert_int_equal(code, ERR_TRANSIENT);
            assert_non_null(g.status);
        }
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(x % sizeof(junk));

        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            junk[i] = round % 2 == 0 ? (char)x : "{}[]\":,error status 0123"[x % 24];
        }
        assert_true(gerr_decode(400 + round % 200, junk, len, &g) < 0);
        assert_non_null(g.status);
    }
    gerr_release(&g);
}

static void test_duration(void **state)
{
    static const struct {
        const char *in;
        int ret;
        long long ms;
    } d[] = {
        {"3s", 0, 3000},
        {"0.250s", 0, 250},
        {"1.5s", 0, 1500},
        {"0.0001s", 0, 1},
        {"0s", 0, 0},
        {"2.000000001s", 0, 2001},
        {"86400s", 0, 86400000},
        {"86401s", ERR_LIMIT, 0},
        {"9999999999999s", ERR_LIMIT, 0},
        {"s", ERR_PARSE, 0},
        {"3", ERR_PARSE, 0},
        {"-1s", ERR_PARSE, 0},
        {"1.s", ERR_PARSE, 0},
        {"1.1234567891s", ERR_PARSE, 0},
        {"3 s", ERR_PARSE, 0},
        {"3sx", ERR_PARSE, 0},
        {"", ERR_PARSE, 0},
        {NULL, ERR_PARSE, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        long long ms = -7;

        assert_int_equal(gerr_parse_duration(d[i].in, &ms), d[i].ret);
        assert_int_equal(ms, d[i].ret == 0 ? d[i].ms : -7);
    }
}

static void test_retry_after(void **state)
{
    static const struct {
        const char *in;
        int ret;
        long long ms;
    } d[] = {
        {"120", 0, 120000},
        {" 5 ", 0, 5000},
        {"0", 0, 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", ERR_PARSE, 0},
        {"-1", ERR_PARSE, 0},
        {"1.5", ERR_PARSE, 0},
        {"", ERR_PARSE, 0},
        {"86401", ERR_LIMIT, 0},
        {"99999999999", ERR_LIMIT, 0},
        {NULL, ERR_PARSE, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        long long ms = -7;

        assert_int_equal(gerr_parse_retry_after(d[i].in, &ms), d[i].ret);
        assert_int_equal(ms, d[i].ret == 0 ? d[i].ms : -7);
    }
}

static void test_http_helpers(void **state)
{
    static const struct {
        long http;
        const char *status;
        bool retryable;
    } h[] = {
        {200, "OK", false},
        {204, "OK", false},
        {400, "INVALID_ARGUMENT", false},
        {401, "UNAUTHENTICATED", false},
        {403, "PERMISSION_DENIED", false},
        {404, "NOT_FOUND", false},
        {408, "DEADLINE_EXCEEDED", true},
        {409, "ABORTED", false},
        {412, "FAILED_PRECONDITION", false},
        {429, "RESOURCE_EXHAUSTED", true},
        {500, "INTERNAL", true},
        {501, "UNIMPLEMENTED", false},
        {502, "UNAVAILABLE", true},
        {503, "UNAVAILABLE", true},
        {504, "DEADLINE_EXCEEDED", true},
        {0, "UNKNOWN", false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        assert_string_equal(gerr_http_status(h[i].http), h[i].status);
        assert_int_equal(gerr_http_retryable(h[i].http), h[i].retryable);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table), cmocka_unit_test(test_domain),
        cmocka_unit_test(test_format),       cmocka_unit_test(test_message_cap),
        cmocka_unit_test(test_garbage),      cmocka_unit_test(test_duration),
        cmocka_unit_test(test_retry_after),  cmocka_unit_test(test_http_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
