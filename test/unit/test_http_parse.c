/*
 * test_http_parse.c - controller/httpd/http_parse: request tables (methods,
 * targets, keep-alive, chunked bodies, trailers, smuggling shapes, caps and
 * the status each failure maps to), incremental feeding byte by byte,
 * pipelining, sticky errors, and Cache-Control max-age.
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
#include "api/common/xalloc.h"
#include "controller/httpd/http_parse.h"

#define H "Host: x\r\n"

static const struct http_parse_limits small = {256, 4, 64, 16};

#define BAD(n, i, l, r, s)                                                                         \
    {                                                                                              \
        .name = n, .in = i, .lim = l, .rc = r, .status = s                                         \
    }

static const struct row {
    const char *name;
    const char *in;
    const struct http_parse_limits *lim;
    int rc;     /* 0 or the error */
    int status; /* expected http_parse_status on error */
    const char *method, *path, *query, *body;
    size_t nheaders;
    bool keep_alive;
    bool chunked;
} rows[] = {
    {"get", "GET /healthz HTTP/1.1\r\n" H "\r\n", NULL, 0, 0, "GET", "/healthz", NULL, "", 1, true,
     false},
    {"http10", "GET / HTTP/1.0\r\n\r\n", NULL, 0, 0, "GET", "/", NULL, "", 0, false, false},
    {"http10 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL, 0, 0, "GET",
     "/", NULL, "", 1, true, false},
    {"close", "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", NULL, 0, 0, "GET", "/", NULL, "",
     2, false, false},
    {"post", "POST /pubsub HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", NULL, 0, 0, "POST",
     "/pubsub", NULL, "hello", 2, true, false},
    {"chunked",
     "POST /p HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
     NULL, 0, 0, "POST", "/p", NULL, "Wikipedia", 2, true, true},
    {"trailer dropped",
     "POST /p HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nAuthorization: x\r\n\r\n",
     NULL, 0, 0, "POST", "/p", NULL, "a", 2, true, true},
    {"query", "GET /a/b?x=1&y=2#frag HTTP/1.1\r\n" H "\r\n", NULL, 0, 0, "GET", "/a/b", "x=1&y=2",
     "", 1, true, false},
    {"empty query", "GET /a? HTTP/1.1\r\n" H "\r\n", NULL, 0, 0, "GET", "/a", "", "", 1, true,
     false},
    {"leading blank lines", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", NULL, 0, 0, "GET", "/", NULL, "",
     1, true, false},
    {"minor version 9", "GET / HTTP/1.9\r\n" H "\r\n", NULL, 0, 0, "GET", "/", NULL, "", 1, true,
     false},
    {"upgrade ignored, closes",
     "GET / HTTP/1.1\r\n" H "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n", NULL, 0, 0, "GET", "/",
     NULL, "", 3, false, false},
    {"body exactly at cap", "POST / HTTP/1.1\r\n" H "Content-Length: 16\r\n\r\n0123456789abcdef",
     &small, 0, 0, "POST", "/", NULL, "0123456789abcdef", 2, true, false},

    BAD("no host", "GET / HTTP/1.1\r\n\r\n", NULL, ERR_PARSE, 400),
    BAD("two hosts", "GET / HTTP/1.1\r\n" H H "\r\n", NULL, ERR_PARSE, 400),
    BAD("cl and chunked",
        "POST / HTTP/1.1\r\n" H "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        NULL, ERR_PARSE, 400),
    BAD("two content-lengths",
        "POST / HTTP/1.1\r\n" H "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", NULL, ERR_PARSE,
        400),
    BAD("gzip te", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\nxx", NULL, ERR_PARSE,
        400),
    BAD("negative cl", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", NULL, ERR_PARSE, 400),
    BAD("huge cl", "POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999\r\n\r\n", NULL,
        ERR_PARSE, 400),
    BAD("bad chunk size", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\nzz\r\n", NULL,
        ERR_PARSE, 400),
    BAD("http2", "GET / HTTP/2.0\r\n" H "\r\n", NULL, ERR_PARSE, 505),
    BAD("http0", "GET / HTTP/0.9\r\n" H "\r\n", NULL, ERR_PARSE, 505),
    BAD("bad version", "GET / HTTP/1.x\r\n" H "\r\n", NULL, ERR_PARSE, 400),
    BAD("garbage", "\x01\x02\x03 / HTTP/1.1\r\n\r\n", NULL, ERR_PARSE, 400),
    BAD("lowercase method", "get / HTTP/1.1\r\n" H "\r\n", NULL, ERR_PARSE, 400),
    BAD("absolute form", "GET http://x/ HTTP/1.1\r\n" H "\r\n", NULL, ERR_PARSE, 400),
    BAD("asterisk", "OPTIONS * HTTP/1.1\r\n" H "\r\n", NULL, ERR_PARSE, 400),
    BAD("ctl in value",
        "GET / HTTP/1.1\r\n" H "X: a\x01"
        "b\r\n\r\n",
        NULL, ERR_PARSE, 400),
    BAD("space before colon", "POST / HTTP/1.1\r\n" H "Content-Length : 1\r\n\r\nx", NULL,
        ERR_PARSE, 400),
    BAD("space in name", "GET / HTTP/1.1\r\n" H "X Y: a\r\n\r\n", NULL, ERR_PARSE, 400),
    BAD("truncated headers", "GET / HTTP/1.1\r\nHost: x\r\n", NULL, ERR_PARSE, 400),
    BAD("truncated body", "POST / HTTP/1.1\r\n" H "Content-Length: 10\r\n\r\nabc", NULL, ERR_PARSE,
        400),
    BAD("truncated chunk", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n5\r\nab",
        NULL, ERR_PARSE, 400),
    BAD("empty", "", NULL, ERR_PARSE, 400),
    BAD("url too long",
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
        "HTTP/1.1\r\n" H "\r\n",
        &small, ERR_LIMIT, 414),
    BAD("header bytes",
        "GET / HTTP/1.1\r\n" H "X: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaa"
        "\r\n\r\n",
        &small, ERR_LIMIT, 431),
    BAD("header count", "GET / HTTP/1.1\r\n" H "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &small,
        ERR_LIMIT, 431),
    BAD("content-length over cap", "POST / HTTP/1.1\r\n" H "Content-Length: 17\r\n\r\n", &small,
        ERR_LIMIT, 413),
    BAD("chunked over cap",
        "POST / HTTP/1.1\r\n" H
        "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
        &small, ERR_LIMIT, 413),
    BAD("trailers count too",
        "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0\r\n"
        "T: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "\r\n\r\n",
        &small, ERR_LIMIT, 431),
};

static void check_row(const struct row *r, struct http_request *req, int rc, int status)
{
    if (r->rc != 0) {
        assert_int_equal(rc, r->rc);
        assert_int_equal(status, r->status);
        assert_null(req);
        return;
    }
    assert_int_equal(rc, 0);
    assert_non_null(req);
    assert_string_equal(req->method, r->method);
    assert_string_equal(req->path, r->path);
    if (r->query == NULL)
        assert_null(req->query);
    else
        assert_string_equal(req->query, r->query);
    assert_int_equal(req->body_len, strlen(r->body));
    assert_memory_equal(req->body, r->body, req->body_len);
    assert_int_equal(req->body[req->body_len], '\0');
    assert_int_equal(req->nheaders, r->nheaders);
    assert_int_equal(req->keep_alive, r->keep_alive);
    assert_int_equal(req->chunked, r->chunked);
}

static void test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct http_request *req = NULL;
        size_t used = 0;
        int status = -1, rc;

        print_message("case '%s'\n", r->name);
        rc = http_parse_request(r->in, strlen(r->in), r->lim, &req, &used, &status);
        check_row(r, req, rc, status);
        if (rc == 0)
            assert_int_equal(used, strlen(r->in));
        http_request_free(req);
    }
}

/* The same table fed one byte at a time. */
static void test_table_bytewise(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct http_parse *ps = http_parse_new(r->lim);
        struct http_request *req = NULL;
        size_t n = strlen(r->in), used;
        int rc = HTTP_PARSE_MORE;

        print_message("case '%s' bytewise\n", r->name);
        for (j = 0; j < n && rc == HTTP_PARSE_MORE; j++) {
            rc = http_parse_feed(ps, r->in + j, 1, &used);
            if (rc >= 0)
                assert_int_equal(used, 1);
        }
        if (rc == HTTP_PARSE_MORE)
            rc = http_parse_finish(ps);
        if (rc == 0 && http_parse_status(ps) == 0)
            rc = ERR_PARSE; /* nothing at all */
        if (rc == HTTP_PARSE_DONE) {
            assert_int_equal(j, n);
            req = http_parse_take(ps);
            rc = 0;
        }
        check_row(r, req, rc, http_parse_status(ps) != 0 ? http_parse_status(ps) : 400);
        http_request_free(req);
        http_parse_free(ps);
    }
}

static void test_pipelined(void **state)
{
    const char *in =
        "POST /a HTTP/1.1\r\n" H "Content-Length: 3\r\n\r\nabc"
        "GET /b HTTP/1.1\r\n" H "\r\n"
        "POST /c HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
        "GET /d HT";
    const char *paths[] = {"/a", "/b", "/c"};
    struct http_parse *ps = http_parse_new(NULL);
    struct http_request *req;
    size_t off = 0, n = strlen(in), used;
    int i, rc;

    (void)state;
    for (i = 0; i < 3; i++) {
        assert_true(http_parse_idle(ps));
        rc = http_parse_feed(ps, in + off, n - off, &used);
        assert_int_equal(rc, HTTP_PARSE_DONE);
        off += used;
        /* A completed request must be taken before more is fed. */
        assert_int_equal(http_parse_feed(ps, in + off, n - off, &used), ERR_INVAL);
        req = http_parse_take(ps);
        assert_string_equal(req->path, paths[i]);
        assert_true(req->keep_alive);
        http_request_free(req);
    }
    rc = http_parse_feed(ps, in + off, n - off, &used);
    assert_int_equal(rc, HTTP_PARSE_MORE);
    assert_int_equal(off + used, n);
    assert_false(http_parse_idle(ps));
    assert_false(http_parse_headers_done(ps));
    assert_int_equal(http_parse_finish(ps), ERR_PARSE);
    assert_int_equal(http_parse_status(ps), 400);
    http_parse_free(ps);
}

static void test_sticky_error(void **state)
{
    struct http_parse *ps = http_parse_new(NULL);
    const char *bad = "BAD\x01 / HTTP/1.1\r\n\r\n", *good = "GET / HTTP/1.1\r\n" H "\r\n";
    size_t used;

    (void)state;
    assert_int_equal(http_parse_feed(ps, bad, strlen(bad), &used), ERR_PARSE);
    assert_int_equal(http_parse_status(ps), 400);
    assert_true(strlen(http_parse_errmsg(ps)) > 0);
    assert_int_equal(http_parse_feed(ps, good, strlen(good), &used), ERR_PARSE);
    assert_int_equal(used, 0);
    assert_null(http_parse_take(ps));
    http_parse_free(ps);
}

static void test_headers_and_continue(void **state)
{
    const char *in = "POST /x HTTP/1.1\r\nHost: h\r\nX-Hub-Signature-256:   sha256=ab  \r\n"
                     "Expect: 100-Continue\r\nx-dup: 1\r\nX-Dup: 2\r\nContent-Length: 2\r\n\r\n";
    struct http_parse *ps = http_parse_new(NULL);
    struct http_request *req;
    size_t used;

    (void)state;
    assert_int_equal(http_parse_feed(ps, in, strlen(in), &used), HTTP_PARSE_MORE);
    assert_true(http_parse_headers_done(ps));
    assert_true(http_parse_wants_continue(ps));
    assert_int_equal(http_parse_feed(ps, "ok", 2, &used), HTTP_PARSE_DONE);
    assert_false(http_parse_wants_continue(ps));
    req = http_parse_take(ps);
    assert_string_equal(http_request_header(req, "x-hub-signature-256"), "sha256=ab");
    assert_string_equal(http_request_header(req, "X-DUP"), "1");
    assert_int_equal(http_request_header_count(req, "x-dup"), 2);
    assert_null(http_request_header(req, "missing"));
    assert_true(req->expect_continue);
    assert_string_equal(req->target, "/x");
    assert_int_equal(req->version_major, 1);
    assert_int_equal(req->version_minor, 1);
    http_request_free(req);
    assert_true(http_parse_idle(ps));
    assert_int_equal(http_parse_finish(ps), 0);
    http_parse_free(ps);
}

/* Default caps: a header section just over 16 KiB gets 431; a body of
 * exactly 1 MiB passes. */
static void test_default_caps(void **state)
{
    struct http_request *req = NULL;
    size_t used, n;
    int status;
    char *big, *hdr;

    (void)state;
    hdr = xmalloc(CAP_HTTP_HEADER_BYTES + 1);
    memset(hdr, 'a', CAP_HTTP_HEADER_BYTES);
    hdr[CAP_HTTP_HEADER_BYTES] = '\0';
    big = xasprintf("GET / HTTP/1.1\r\nHost: x\r\nX: %s\r\n\r\n", hdr);
    assert_int_equal(http_parse_request(big, strlen(big), NULL, &req, &used, &status), ERR_LIMIT);
    assert_int_equal(status, 431);
    free(big);
    free(hdr);

    n = CAP_HTTP_BODY_BYTES;
    hdr = xasprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    big = xmalloc(strlen(hdr) + n);
    memcpy(big, hdr, strlen(hdr));
    memset(big + strlen(hdr), 'b', n);
    assert_int_equal(http_parse_request(big, strlen(hdr) + n, NULL, &req, &used, &status), 0);
    assert_int_equal(req->body_len, n);
    http_request_free(req);
    free(big);
    free(hdr);
}

static void test_max_age(void **state)
{
    static const struct {
        const char *in;
        int rc;
        long long v;
    } t[] = {
        {"public, max-age=19836, must-revalidate, no-transform", 0, 19836},
        {"max-age=0", 0, 0},
        {"MAX-AGE=60", 0, 60},
        {"private,max-age=5 ", 0, 5},
        {"no-cache", 0, 0},
        {"no-store, max-age=100", 0, 0},
        {"max-age=99999999999999999999999999", 0, 315360000},
        {"max-age=", ERR_PARSE, 0},
        {"max-age=1x", ERR_PARSE, 0},
        {"max-age=-1", ERR_PARSE, 0},
        {"public", ERR_NOTFOUND, 0},
        {"", ERR_NOTFOUND, 0},
        {"s-maxage=10", ERR_NOTFOUND, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        long long v = -7;
        int rc = http_cache_max_age(t[i].in, &v);

        print_message("max-age '%s'\n", t[i].in);
        assert_int_equal(rc, t[i].rc);
        if (rc == 0)
            assert_int_equal(v, t[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_bytewise),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_headers_and_continue),
        cmocka_unit_test(test_default_caps),
        cmocka_unit_test(test_max_age),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
