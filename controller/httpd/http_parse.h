/*
 * http_parse.h - incremental HTTP/1.1 request parsing with caps.
 *
 * A struct http_parse wraps one http_parser (nodejs/http-parser) for one
 * connection.  Bytes are fed as they arrive; the callbacks collect the
 * method, the request target, the header fields and the body into a struct
 * http_request, counting every byte against the caps in caps.h (header
 * bytes, header count, target length, body bytes; chunked bodies are
 * decoded and capped alike).  The parser stops at the end of each request
 * (http_parser_pause in on_message_complete), so pipelined requests come
 * out one at a time and the caller decides when to read the next.
 *
 * Errors carry the status the server should answer with: 400 (malformed,
 * truncated, request smuggling shapes that http_parser rejects: both
 * Content-Length and chunked, duplicate Content-Length, unknown
 * Transfer-Encoding), 413 (body), 414 (target), 431 (header bytes or
 * count), 505 (HTTP major version other than 1).
 *
 * Header values are trimmed of surrounding whitespace; fields received
 * after a chunked body (trailers) are counted against the caps but not
 * kept, so nothing can be added to the headers after the body.
 *
 * Pure apart from memory: no I/O, no clock, no globals (the library's
 * global header limit is left alone; ours is checked in the callbacks), so
 * it can be fuzzed (test/fuzz/fuzz_http_request.c).  Not thread-safe per
 * object; separate objects are independent.
 */
#ifndef ROAM_HTTP_PARSE_H
#define ROAM_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

struct http_header {
    char *name;  /* as received */
    char *value; /* trimmed */
};

/* One request.  Everything owned; http_request_free() releases it. */
struct http_request {
    char *method; /* "GET", "POST", ... */
    char *target; /* the request target as received ("/pubsub?x=1") */
    char *path;   /* target up to '?' or '#' */
    char *query;  /* after '?' (up to '#'), or NULL */
    unsigned version_major, version_minor;
    struct http_header *headers; /* in order received */
    size_t nheaders;
    size_t cap_headers;
    char *body; /* NUL-terminated (not counted); "" when empty */
    size_t body_len;
    bool keep_alive;      /* the connection may carry another request */
    bool chunked;         /* the body came chunked */
    bool expect_continue; /* "Expect: 100-continue" was sent */
};

void http_request_free(struct http_request *r);
/* The first header with this name (ASCII case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);
/* How many headers have this name. */
size_t http_request_header_count(const struct http_request *r, const char *name);

/* Caps; a zero member means the caps.h default. */
struct http_parse_limits {
    size_t header_bytes; /* CAP_HTTP_HEADER_BYTES: target + names + values */
    size_t headers;      /* CAP_HTTP_HEADERS */
    size_t url_bytes;    /* CAP_HTTP_URL_BYTES */
    size_t body_bytes;   /* CAP_HTTP_BODY_BYTES */
};

enum http_parse_result {
    HTTP_PARSE_MORE = 0, /* every byte consumed; the request is not complete */
    HTTP_PARSE_DONE = 1, /* a request is complete: take it */
};

struct http_parse;

/* A parser for requests; lim may be NULL (defaults) and is copied. */
struct http_parse *http_parse_new(const struct http_parse_limits *lim);
void http_parse_free(struct http_parse *ps); /* NULL-safe */

/*
 * Feeds len bytes.  Returns HTTP_PARSE_MORE (all consumed), HTTP_PARSE_DONE
 * (a request ended after *ret_used bytes: take it with http_parse_take()
 * before feeding the rest), or an error: ERR_PARSE (400, 505), ERR_LIMIT
 * (413, 414, 431); http_parse_status() and http_parse_errmsg() say which.
 * After an error the parser stays failed and the connection must close.
 * Feeding while a completed request waits to be taken is ERR_INVAL.
 * Zero bytes are a no-op (end of input is http_parse_finish()).
 */
int http_parse_feed(struct http_parse *ps, const char *data, size_t len, size_t *ret_used);

/* Takes the completed request (the caller frees it) and readies the parser
 * for the next one; NULL when none is complete. */
struct http_request *http_parse_take(struct http_parse *ps);

/*
 * The peer closed its side.  Returns 0 when no request was in progress, or
 * ERR_PARSE (status 400) for a truncated request.
 */
int http_parse_finish(struct http_parse *ps);

/* True when no byte of a next request has been seen (between requests). */
bool http_parse_idle(const struct http_parse *ps);
/* True once the current request's header section is complete. */
bool http_parse_headers_done(const struct http_parse *ps);
/* The current request asked for "100 Continue" and its body is still due. */
bool http_parse_wants_continue(const struct http_parse *ps);

/* After an error: the status to answer (400, 413, 414, 431, 505), else 0;
 * and a static description ("header section too large"). */
int http_parse_status(const struct http_parse *ps);
const char *http_parse_errmsg(const struct http_parse *ps);

/*
 * One-shot: parses the first request in data.  Returns 0 with *ret (free
 * it) and *ret_used, ERR_PARSE when the data ends before the request does
 * (*ret_status 400), or the feed error (*ret_status set).  ret_status may
 * be NULL.
 */
int http_parse_request(const char *data, size_t len, const struct http_parse_limits *lim,
                       struct http_request **ret, size_t *ret_used, int *ret_status);

/*
 * The max-age of a Cache-Control value in seconds: "max-age=N" (N capped at
 * 10 years); "no-cache" / "no-store" give 0.  Returns 0 with *ret_s, or
 * ERR_NOTFOUND when the value says nothing about freshness, or ERR_PARSE
 * for a malformed max-age.
 */
int http_cache_max_age(const char *cache_control, long long *ret_s);

#endif
