/*
 * fuzz_http_request.c - libFuzzer target for the request parser
 * (controller/httpd/http_parse).
 *
 * The input is parsed twice: in one piece (http_parse_request) and fed in
 * pieces whose sizes come from the first byte, taking every complete
 * request as it comes (pipelining).  The first request must come out the
 * same both ways, and a failure must fail both ways: splitting must never
 * change what a request means.  The status may differ only when a cap is
 * involved: fed in pieces, a cap can trip before the parser reaches a bad
 * byte that, in one piece, it rejects first (400 against 414).  The caps are small so that the
 * limit paths are reached.  The same bytes also go through the Cache-Control parser. Not built by
 * default (clang -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/xalloc.h"
#include "controller/httpd/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_parse_limits lim = {512, 16, 128, 1024};

static void same(const struct http_request *a, const struct http_request *b)
{
    size_t i;

    if (strcmp(a->method, b->method) != 0 || strcmp(a->target, b->target) != 0 ||
        a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0 ||
        a->nheaders != b->nheaders || a->keep_alive != b->keep_alive)
        abort();
    for (i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
            strcmp(a->headers[i].value, b->headers[i].value) != 0)
            abort();
}

static int is_cap(int status)
{
    return status == 413 || status == 414 || status == 431;
}

/* Feeds in pieces; returns the first request (or NULL) and its status. */
static struct http_request *pieces(const char *p, size_t n, size_t step, int *ret_status)
{
    struct http_parse *ps = http_parse_new(&lim);
    struct http_request *first = NULL, *r;
    size_t off = 0, used;
    int rc = HTTP_PARSE_MORE;

    *ret_status = 0;
    while (off < n) {
        size_t k = n - off < step ? n - off : step;

        rc = http_parse_feed(ps, p + off, k, &used);
        if (rc < 0)
            break;
        off += used;
        if (rc == HTTP_PARSE_DONE) {
            r = http_parse_take(ps);
            if (first == NULL)
                first = r;
            else
                http_request_free(r);
        }
    }
    if (rc >= 0 && first == NULL)
        http_parse_finish(ps);
    if (first == NULL)
        *ret_status = http_parse_status(ps) != 0 ? http_parse_status(ps) : 400;
    http_parse_free(ps);
    return first;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_request *one = NULL, *two;
    size_t used = 0, step = 1;
    int status = 0, status2 = 0, rc;
    char *text;
    long long age;

    if (size > 0) {
        step = 1 + data[0] % 17;
        data++;
        size--;
    }
    rc = http_parse_request((const char *)data, size, &lim, &one, &used, &status);
    two = pieces((const char *)data, size, step, &status2);
    if ((rc == 0) != (two != NULL))
        abort();
    if (rc == 0) {
        if (used == 0 || used > size)
            abort();
        same(one, two);
    } else if (status != status2 && !is_cap(status) && !is_cap(status2)) {
        abort();
    }
    http_request_free(one);
    http_request_free(two);

    text = xstrndup((const char *)data, size);
    (void)http_cache_max_age(text, &age);
    free(text);
    return 0;
}
