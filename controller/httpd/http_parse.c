/*
 * http_parse.c - incremental request parsing on http-parser (see
 * http_parse.h).
 *
 * The callbacks append into bounded buffers; a callback that finds a cap
 * exceeded records the status and returns non-zero, which makes
 * http_parser_execute stop with HPE_CB_*.  on_message_complete pauses the
 * parser, so execute returns exactly at the end of each request.
 */
#include "http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

struct http_parse {
    http_parser p;
    struct http_parse_limits lim;
    struct http_request *cur; /* request in progress or complete */
    struct buf url, field, value, body;
    size_t header_bytes; /* target + names + values of the current request */
    bool in_value;       /* the last header callback was for a value */
    bool started;        /* a byte of the current request was seen */
    bool headers_done;
    bool done;  /* cur is complete and waits for http_parse_take() */
    int status; /* after an error */
    const char *errmsg;
    int err;
};

static int fail(struct http_parse *ps, int status, int err, const char *msg)
{
    if (ps->status == 0) {
        ps->status = status;
        ps->err = err;
        ps->errmsg = msg;
    }
    return 1;
}

void http_request_free(struct http_request *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->method);
    free(r->target);
    free(r->path);
    free(r->query);
    for (i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r);
}

const char *http_request_header(const struct http_request *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nheaders; i++)
        if (str_eq_ci(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

size_t http_request_header_count(const struct http_request *r, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < r->nheaders; i++)
        if (str_eq_ci(r->headers[i].name, name))
            n++;
    return n;
}

static struct http_parse *of(http_parser *p)
{
    return p->data;
}

/* Counts n more bytes of the header section. */
static int count_header_bytes(struct http_parse *ps, size_t n)
{
    ps->header_bytes += n;
    if (ps->header_bytes > ps->lim.header_bytes)
        return fail(ps, 431, ERR_LIMIT, "header section too large");
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_parse *ps = of(p);

    ps->cur = xcalloc(1, sizeof(*ps->cur));
    ps->started = true;
    ps->headers_done = false;
    ps->in_value = false;
    ps->header_bytes = 0;
    buf_reset(&ps->url);
    buf_reset(&ps->field);
    buf_reset(&ps->value);
    buf_init(&ps->body, ps->lim.body_bytes);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http_parse *ps = of(p);

    if (count_header_bytes(ps, n) != 0)
        return 1;
    if (ps->url.len + n > ps->lim.url_bytes || buf_append(&ps->url, at, n) != 0)
        return fail(ps, 414, ERR_LIMIT, "request target too long");
    return 0;
}

static char *trimmed(const struct buf *b)
{
    const char *s = buf_str(b);
    size_t n = b->len;

    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return xstrndup(s, n);
}

/* RFC 9110 token characters.  http_parser outside strict mode lets spaces
 * into field names ("Content-Length : 5"), a request smuggling shape. */
static bool is_token(const char *s, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != 0 && strchr(extra, c) != NULL)))
            return false;
    }
    return true;
}

/* Stores the header collected in field/value (trailers are dropped). */
static int commit_header(struct http_parse *ps)
{
    struct http_request *r = ps->cur;
    struct http_header *h;

    if (ps->field.len == 0)
        return 0;
    if (!is_token(buf_str(&ps->field), ps->field.len))
        return fail(ps, 400, ERR_PARSE, "invalid header field name");
    if (memchr(buf_str(&ps->value), '\0', ps->value.len) != NULL)
        return fail(ps, 400, ERR_PARSE, "NUL in a header value");
    if (!ps->headers_done) {
        if (r->nheaders >= ps->lim.headers)
            return fail(ps, 431, ERR_LIMIT, "too many header fields");
        XGROW(r->headers, r->nheaders + 1, r->cap_headers);
        h = &r->headers[r->nheaders++];
        h->name = xstrndup(buf_str(&ps->field), ps->field.len);
        h->value = trimmed(&ps->value);
    }
    buf_reset(&ps->field);
    buf_reset(&ps->value);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_parse *ps = of(p);

    if (count_header_bytes(ps, n) != 0)
        return 1;
    if (ps->in_value && commit_header(ps) != 0)
        return 1;
    ps->in_value = false;
    if (buf_append(&ps->field, at, n) != 0)
        return fail(ps, 431, ERR_LIMIT, "header field too large");
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_parse *ps = of(p);

    if (count_header_bytes(ps, n) != 0)
        return 1;
    ps->in_value = true;
    if (buf_append(&ps->value, at, n) != 0)
        return fail(ps, 431, ERR_LIMIT, "header field too large");
    return 0;
}

/* Splits the target into path and query. */
static int split_target(struct http_parse *ps)
{
    struct http_request *r = ps->cur;
    const char *t = buf_str(&ps->url);
    size_t plen = strcspn(t, "?#");

    if (t[0] != '/')
        return fail(ps, 400, ERR_PARSE, "request target is not a path");
    if (memchr(t, '\0', ps->url.len) != NULL)
        return fail(ps, 400, ERR_PARSE, "NUL in the request target");
    r->target = xstrndup(t, ps->url.len);
    r->path = xstrndup(t, plen);
    if (t[plen] == '?')
        r->query = xstrndup(t + plen + 1, strcspn(t + plen + 1, "#"));
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_parse *ps = of(p);
    struct http_request *r = ps->cur;
    const char *expect;

    if (ps->in_value && commit_header(ps) != 0)
        return -1;
    ps->in_value = false;
    ps->headers_done = true;
    if (p->http_major != 1) {
        fail(ps, 505, ERR_PARSE, "HTTP version not supported");
        return -1;
    }
    if (split_target(ps) != 0)
        return -1;
    r->method = xstrdup(http_method_str((enum http_method)p->method));
    r->version_major = p->http_major;
    r->version_minor = p->http_minor;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    if (p->http_minor >= 1 && http_request_header_count(r, "Host") != 1) {
        fail(ps, 400, ERR_PARSE, "HTTP/1.1 request without exactly one Host");
        return -1;
    }
    expect = http_request_header(r, "Expect");
    r->expect_continue = expect != NULL && str_eq_ci(expect, "100-continue");
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > ps->lim.body_bytes) {
        fail(ps, 413, ERR_LIMIT, "request body too large");
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_parse *ps = of(p);

    if (buf_append(&ps->body, at, n) != 0)
        return fail(ps, 413, ERR_LIMIT, "request body too large");
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_parse *ps = of(p);
    struct http_request *r = ps->cur;

    if (ps->in_value && commit_header(ps) != 0) /* a trailer */
        return 1;
    r->keep_alive = http_should_keep_alive(p) != 0 && !p->upgrade;
    r->body = buf_detach(&ps->body, &r->body_len);
    if (r->body == NULL)
        r->body = xstrdup("");
    ps->done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

struct http_parse *http_parse_new(const struct http_parse_limits *lim)
{
    struct http_parse *ps = xcalloc(1, sizeof(*ps));

    if (lim != NULL)
        ps->lim = *lim;
    if (ps->lim.header_bytes == 0)
        ps->lim.header_bytes = CAP_HTTP_HEADER_BYTES;
    if (ps->lim.headers == 0)
        ps->lim.headers = CAP_HTTP_HEADERS;
    if (ps->lim.url_bytes == 0)
        ps->lim.url_bytes = CAP_HTTP_URL_BYTES;
    if (ps->lim.body_bytes == 0)
        ps->lim.body_bytes = CAP_HTTP_BODY_BYTES;
    buf_init(&ps->url, ps->lim.url_bytes);
    buf_init(&ps->field, ps->lim.header_bytes);
    buf_init(&ps->value, ps->lim.header_bytes);
    buf_init(&ps->body, ps->lim.body_bytes);
    http_parser_init(&ps->p, HTTP_REQUEST);
    ps->p.data = ps;
    return ps;
}

void http_parse_free(struct http_parse *ps)
{
    if (ps == NULL)
        return;
    http_request_free(ps->cur);
    buf_release(&ps->url);
    buf_release(&ps->field);
    buf_release(&ps->value);
    buf_release(&ps->body);
    free(ps);
}

/* The status for a parser error we did not raise ourselves. */
static void map_errno(struct http_parse *ps, enum http_errno e)
{
    switch (e) {
    case HPE_HEADER_OVERFLOW:
        fail(ps, 431, ERR_LIMIT, "header section too large");
        break;
    default:
        fail(ps, 400, ERR_PARSE, http_errno_description(e));
        break;
    }
}

int http_parse_feed(struct http_parse *ps, const char *data, size_t len, size_t *ret_used)
{
    enum http_errno e;
    size_t n;

    *ret_used = 0;
    if (ps->status != 0)
        return ps->err;
    if (ps->done)
        return ERR_INVAL;
    if (len == 0)
        return HTTP_PARSE_MORE;
    n = http_parser_execute(&ps->p, &settings, data, len);
    e = HTTP_PARSER_ERRNO(&ps->p);
    if (e == HPE_PAUSED) {
        http_parser_pause(&ps->p, 0);
        *ret_used = n;
        return HTTP_PARSE_DONE;
    }
    if (e != HPE_OK || n != len) {
        /* Our callbacks recorded their own status; map the rest. */
        map_errno(ps, e == HPE_OK ? HPE_UNKNOWN : e);
        *ret_used = n;
        return ps->err;
    }
    *ret_used = n;
    return HTTP_PARSE_MORE;
}

struct http_request *http_parse_take(struct http_parse *ps)
{
    struct http_request *r;

    if (!ps->done)
        return NULL;
    r = ps->cur;
    ps->cur = NULL;
    ps->done = false;
    ps->started = false;
    ps->headers_done = false;
    return r;
}

int http_parse_finish(struct http_parse *ps)
{
    if (ps->status != 0)
        return ps->err;
    if (!ps->started || ps->done)
        return 0;
    fail(ps, 400, ERR_PARSE, "request truncated");
    return ps->err;
}

bool http_parse_idle(const struct http_parse *ps)
{
    return !ps->started;
}

bool http_parse_headers_done(const struct http_parse *ps)
{
    return ps->started && ps->headers_done;
}

bool http_parse_wants_continue(const struct http_parse *ps)
{
    return ps->started && ps->headers_done && !ps->done && ps->status == 0 &&
           ps->cur->expect_continue;
}

int http_parse_status(const struct http_parse *ps)
{
    return ps->status;
}

const char *http_parse_errmsg(const struct http_parse *ps)
{
    return ps->errmsg != NULL ? ps->errmsg : "";
}

int http_parse_request(const char *data, size_t len, const struct http_parse_limits *lim,
                       struct http_request **ret, size_t *ret_used, int *ret_status)
{
    struct http_parse *ps = http_parse_new(lim);
    size_t used;
    int rc;

    rc = http_parse_feed(ps, data, len, &used);
    if (rc == HTTP_PARSE_MORE)
        rc = http_parse_finish(ps);
    if (ret_status != NULL)
        *ret_status = ps->status;
    if (rc == HTTP_PARSE_DONE) {
        *ret = http_parse_take(ps);
        *ret_used = used;
        rc = 0;
    } else if (rc == 0) {
        /* Nothing but blank lines: no request at all. */
        if (ret_status != NULL)
            *ret_status = 400;
        rc = ERR_PARSE;
    }
    http_parse_free(ps);
    return rc;
}

/* Parses the digits of a max-age value, capping instead of overflowing. */
static int max_age_value(const char *p, size_t n, long long *ret)
{
    const long long cap = 315360000; /* ten years */
    long long v = 0;
    size_t i;

    if (n == 0)
        return ERR_PARSE;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return ERR_PARSE;
        if (v < cap)
            v = v * 10 + (p[i] - '0');
    }
    *ret = v > cap ? cap : v;
    return 0;
}

int http_cache_max_age(const char *cc, long long *ret_s)
{
    const char *p = cc;
    int found = ERR_NOTFOUND;

    while (*p != '\0') {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n >= 8 && strncasecmp(p, "max-age=", 8) == 0) {
            if (max_age_value(p + 8, n - 8, ret_s) != 0)
                return ERR_PARSE;
            found = 0;
        } else if (n == 8 &&
                   (strncasecmp(p, "no-cache", 8) == 0 || strncasecmp(p, "no-store", 8) == 0)) {
            *ret_s = 0;
            return 0;
        }
        p += strcspn(p, ",");
    }
    return found;
}
