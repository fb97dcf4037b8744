/*
 * gerr.c - decoding of Google error bodies (see gerr.h).
 *
 * One table lists the canonical codes of google/rpc/code.proto with our
 * code, retry decision and text; every path through the decoder ends in
 * finish(), which looks the status up there.  The body is only ever read
 * through type-checked jansson accessors, and everything kept is copied
 * through keep() (capped and sanitised), so a hostile body can neither crash
 * the decoder nor smuggle control characters into a terminal or a log.
 */
#include "gerr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#define REASON_BYTES 128u   /* reason, domain and OAuth error names */
#define MAX_DELAY_S 86400LL /* one day: longer server hints are nonsense */

struct status_row {
    const char *name;
    int code;
    bool retryable;
    const char *text;
};

static const struct status_row status_rows[] = {
    {"INVALID_ARGUMENT", ERR_INVAL, false, "invalid argument"},
    {"FAILED_PRECONDITION", ERR_INVAL, false, "failed precondition"},
    {"OUT_OF_RANGE", ERR_INVAL, false, "out of range"},
    {"UNAUTHENTICATED", ERR_AUTH, false, "not authenticated"},
    {"PERMISSION_DENIED", ERR_PERM, false, "permission denied"},
    {"NOT_FOUND", ERR_NOTFOUND, false, "not found"},
    {"ALREADY_EXISTS", ERR_CONFLICT, false, "already exists"},
    {"ABORTED", ERR_CONFLICT, false, "aborted by a concurrent change"},
    {"RESOURCE_EXHAUSTED", ERR_TRANSIENT, true, "quota exceeded"},
    {"CANCELLED", ERR_CANCELLED, false, "cancelled"},
    {"UNKNOWN", ERR_TRANSIENT, true, "unknown server error"},
    {"INTERNAL", ERR_TRANSIENT, true, "internal server error"},
    {"DATA_LOSS", ERR_IO, false, "data loss"},
    {"UNIMPLEMENTED", ERR_UNSUPPORTED, false, "not implemented"},
    {"UNAVAILABLE", ERR_TRANSIENT, true, "service unavailable"},
    {"DEADLINE_EXCEEDED", ERR_TRANSIENT, true, "deadline exceeded"},
};

static const struct {
    long http;
    const char *status;
} http_rows[] = {
    {400, "INVALID_ARGUMENT"},    {401, "UNAUTHENTICATED"},   {403, "PERMISSION_DENIED"},
    {404, "NOT_FOUND"},           {408, "DEADLINE_EXCEEDED"}, {409, "ABORTED"},
    {412, "FAILED_PRECONDITION"}, {416, "OUT_OF_RANGE"},      {429, "RESOURCE_EXHAUSTED"},
    {499, "CANCELLED"},           {500, "INTERNAL"},          {501, "UNIMPLEMENTED"},
    {502, "UNAVAILABLE"},         {503, "UNAVAILABLE"},       {504, "DEADLINE_EXCEEDED"},
};

static const struct {
    const char *error;
    const char *text;
} oauth_rows[] = {
    {"invalid_grant", "invalid grant"},
    {"invalid_client", "invalid client"},
    {"unauthorized_client", "unauthorized client"},
    {"invalid_scope", "invalid scope"},
    {"invalid_request", "invalid request"},
    {"unsupported_grant_type", "unsupported grant type"},
    {"access_denied", "access denied"},
    {"internal_failure", "token service failure"},
    {"server_error", "token service failure"},
    {"temporarily_unavailable", "token service unavailable"},
};

static const char *const oauth_retryable[] = {"internal_failure", "server_error",
                                              "temporarily_unavailable"};

/* ErrorInfo reasons (new style) and errors[].reason values (legacy style)
 * that mean "slow down" whatever the status says. */
static const char *const rate_reasons[] = {"rateLimitExceeded", "userRateLimitExceeded",
                                           "RATE_LIMIT_EXCEEDED"};
static const char *const disabled_reasons[] = {"SERVICE_DISABLED", "accessNotConfigured"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *s, const char *const *list, size_t n)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const struct status_row *find_status(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NELEM(status_rows); i++)
        if (strcmp(status_rows[i].name, name) == 0)
            return &status_rows[i];
    return NULL;
}

void gerr_init(struct gerr *g)
{
    memset(g, 0, sizeof(*g));
    g->retry_delay_ms = -1;
    g->format = GERR_FORMAT_NONE;
}

void gerr_release(struct gerr *g)
{
    free(g->status);
    free(g->reason);
    free(g->domain);
    free(g->message);
    gerr_init(g);
}

const char *gerr_http_status(long http_status)
{
    if (http_status >= 200 && http_status <= 299)
        return "OK";
    for (size_t i = 0; i < NELEM(http_rows); i++)
        if (http_rows[i].http == http_status)
            return http_rows[i].status;
    return "UNKNOWN";
}

bool gerr_http_retryable(long http_status)
{
    switch (http_status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        return true;
    default:
        return false;
    }
}

/*
 * Copies at most cap bytes of s (length n), replacing control characters by
 * spaces and, when ascii_only, bytes above 0x7e by '?'.  A cut falls on a
 * UTF-8 character boundary.  Trailing blanks go; NULL when nothing is left.
 */
static char *keep(const char *s, size_t n, size_t cap, bool ascii_only)
{
    char *out;
    size_t len = n;

    if (s == NULL)
        return NULL;
    if (len > cap) {
        len = cap;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    out = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            c = ' ';
        else if (c > 0x7e && ascii_only)
            c = '?';
        out[i] = (char)c;
    }
    while (len > 0 && out[len - 1] == ' ')
        len--;
    out[len] = '\0';
    if (len == 0) {
        free(out);
        return NULL;
    }
    return out;
}

static char *keep_json(const json_t *v, size_t cap)
{
    if (!json_is_string(v))
        return NULL;
    return keep(json_string_value(v), json_string_length(v), cap, false);
}

/* Reads "seconds"/"nanos" of a Duration written as an object (proto3 JSON
 * uses the string form, but a liberal reader costs little). */
static int duration_object(const json_t *d, long long *ret_ms)
{
    const json_t *sec = json_object_get(d, "seconds");
    const json_t *nanos = json_object_get(d, "nanos");
    long long s = 0, ns = 0;

    if (json_is_integer(sec))
        s = json_integer_value(sec);
    else if (json_is_string(sec)) {
        if (str_to_ll(json_string_value(sec), 0, MAX_DELAY_S, &s) < 0)
            return ERR_PARSE;
    } else
        return ERR_PARSE;
    if (json_is_integer(nanos))
        ns = json_integer_value(nanos);
    else if (nanos != NULL)
        return ERR_PARSE;
    if (s < 0 || s > MAX_DELAY_S || ns < 0 || ns > 999999999)
        return ERR_LIMIT;
    *ret_ms = s * 1000 + (ns + 999999) / 1000000;
    return 0;
}

static void decode_detail(const json_t *d, struct gerr *g)
{
    const json_t *type = json_object_get(d, "@type");
    const char *t;
    long long ms;

    if (!json_is_string(type))
        return;
    t = json_string_value(type);
    if (str_has_suffix(t, "google.rpc.ErrorInfo") && g->reason == NULL) {
        /* An earlier ErrorInfo without a reason may have left a domain. */
        free(g->domain);
        g->reason = keep_json(json_object_get(d, "reason"), REASON_BYTES);
        g->domain = keep_json(json_object_get(d, "domain"), REASON_BYTES);
    } else if (str_has_suffix(t, "google.rpc.RetryInfo")) {
        const json_t *rd = json_object_get(d, "retryDelay");
        int r = ERR_PARSE;

        if (json_is_string(rd))
            r = gerr_parse_duration(json_string_value(rd), &ms);
        else if (json_is_object(rd))
            r = duration_object(rd, &ms);
        if (r == 0)
            g->retry_delay_ms = ms;
    }
}

/* The legacy errors[0]: fills reason/domain/message left empty, and tells
 * whether any entry names a rate limit. */
static bool decode_legacy_errors(const json_t *errors, struct gerr *g)
{
    const json_t *first = json_array_get(errors, 0);
    bool rate = false;
    size_t i;
    const json_t *e;

    if (!json_is_array(errors))
        return false;
    json_array_foreach (errors, i, e) {
        const json_t *reason = json_object_get(e, "reason");

        if (json_is_string(reason) &&
            in_list(json_string_value(reason), rate_reasons, NELEM(rate_reasons)))
            rate = true;
    }
    if (json_is_object(first)) {
        if (g->reason == NULL)
            g->reason = keep_json(json_object_get(first, "reason"), REASON_BYTES);
        if (g->domain == NULL)
            g->domain = keep_json(json_object_get(first, "domain"), REASON_BYTES);
        if (g->message == NULL)
            g->message = keep_json(json_object_get(first, "message"), CAP_ERROR_MESSAGE_BYTES);
    }
    return rate;
}

/* {"error":{...}}: returns whether a rate-limit reason was seen. */
static bool decode_status_object(const json_t *e, struct gerr *g)
{
    const json_t *status = json_object_get(e, "status");
    const json_t *details = json_object_get(e, "details");
    const json_t *d;
    size_t i;

    g->format = GERR_FORMAT_LEGACY;
    if (json_is_string(status) && find_status(json_string_value(status)) != NULL) {
        g->status = xstrdup(json_string_value(status));
        g->format = GERR_FORMAT_RPC;
    }
    g->message = keep_json(json_object_get(e, "message"), CAP_ERROR_MESSAGE_BYTES);
    if (json_is_array(details))
        json_array_foreach (details, i, d)
            decode_detail(d, g);
    if (decode_legacy_errors(json_object_get(e, "errors"), g))
        return true;
    return in_list(g->reason, rate_reasons, NELEM(rate_reasons));
}

static void decode_oauth(const json_t *root, struct gerr *g)
{
    g->format = GERR_FORMAT_OAUTH;
    g->reason = keep_json(json_object_get(root, "error"), REASON_BYTES);
    g->message = keep_json(json_object_get(root, "error_description"), CAP_ERROR_MESSAGE_BYTES);
}

/* A body that is not JSON: keep a short plain-text answer (the metadata
 * server's "Not Found"), but not an HTML page. */
static void decode_text(const char *body, size_t len, struct gerr *g)
{
    size_t i = 0, end;

    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len || body[i] == '<' || body[i] == '{' || body[i] == '[')
        return;
    for (end = i; end < len && body[end] != '\n' && body[end] != '\r'; end++)
        ;
    g->message = keep(body + i, end - i, CAP_ERROR_MESSAGE_BYTES, true);
}

static void finish_oauth(struct gerr *g)
{
    g->status = xstrdup(gerr_http_status(g->http_status));
    g->retryable = gerr_http_retryable(g->http_status) || g->http_status >= 500 ||
                   in_list(g->reason, oauth_retryable, NELEM(oauth_retryable));
    g->code = g->retryable ? ERR_TRANSIENT : ERR_AUTH;
}

static void finish(struct gerr *g, bool rate_limited)
{
    const struct status_row *row;
    bool given = g->status != NULL;

    if (g->http_status >= 200 && g->http_status <= 299) {
        if (!given)
            g->status = xstrdup("OK");
        g->code = 0;
        g->retryable = false;
        return;
    }
    if (g->format == GERR_FORMAT_OAUTH) {
        finish_oauth(g);
        return;
    }
    if (!given)
        g->status = xstrdup(rate_limited ? "RESOURCE_EXHAUSTED" : gerr_http_status(g->http_status));
    row = find_status(g->status);
    if (given || rate_limited) {
        g->code = row->code;
        g->retryable = row->retryable;
    } else if (strcmp(g->status, "UNKNOWN") == 0) {
        /* An HTTP code without a canonical status. */
        g->code = g->http_status >= 500   ? ERR_TRANSIENT
                  : g->http_status >= 400 ? ERR_INVAL
                                          : ERR_IO;
        g->retryable = gerr_http_retryable(g->http_status);
    } else {
        g->code = row->code;
        g->retryable = gerr_http_retryable(g->http_status);
    }
    if (strcmp(g->status, "FAILED_PRECONDITION") == 0 && g->http_status == 412)
        g->code = ERR_CONFLICT;
    if (rate_limited) {
        g->code = ERR_TRANSIENT;
        g->retryable = true;
    }
}

int gerr_decode(long http_status, const char *body, size_t len, struct gerr *ret)
{
    json_t *root = NULL;
    const json_t *e;
    bool rate_limited = false;

    gerr_release(ret);
    ret->http_status = http_status;
    if (body != NULL && len > 0 && len <= CAP_RESPONSE_BYTES)
        root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    if (json_is_object(root)) {
        e = json_object_get(root, "error");
        if (json_is_object(e))
            rate_limited = decode_status_object(e, ret);
        else if (json_is_string(e))
            decode_oauth(root, ret);
    } else if (root == NULL && body != NULL && len > 0) {
        decode_text(body, len, ret);
    }
    json_decref(root);
    finish(ret, rate_limited);
    return ret->code;
}

const char *gerr_text(const struct gerr *g)
{
    const struct status_row *row;

    if (g->format == GERR_FORMAT_OAUTH) {
        for (size_t i = 0; i < NELEM(oauth_rows); i++)
            if (g->reason != NULL && strcmp(g->reason, oauth_rows[i].error) == 0)
                return oauth_rows[i].text;
        return "token request failed";
    }
    if (in_list(g->reason, rate_reasons, NELEM(rate_reasons)))
        return "rate limit exceeded";
    if (in_list(g->reason, disabled_reasons, NELEM(disabled_reasons)))
        return "API not enabled";
    if (str_eq0(g->status, "UNKNOWN") && g->http_status < 500)
        return "unexpected HTTP status";
    row = find_status(g->status);
    if (row != NULL)
        return row->text;
    if (g->status != NULL && strcmp(g->status, "OK") == 0)
        return "success";
    return "error";
}

char *gerr_format(const struct gerr *g, const char *verb, const char *resource, bool detail)
{
    const char *label = g->status != NULL ? g->status : "UNKNOWN";

    if (g->format == GERR_FORMAT_OAUTH && g->reason != NULL)
        label = g->reason;
    if (detail && g->message != NULL)
        return xasprintf("cannot %s '%s': %s (%s): %s", verb, resource, gerr_text(g), label,
                         g->message);
    return xasprintf("cannot %s '%s': %s (%s)", verb, resource, gerr_text(g), label);
}

/* Reads 1..max decimal digits from *sp into *ret, advancing *sp. */
static int digits(const char **sp, unsigned max, long long *ret, unsigned *ret_n)
{
    const char *s = *sp;
    long long v = 0;
    unsigned n = 0;

    while (*s >= '0' && *s <= '9') {
        if (n == max)
            return ERR_LIMIT;
        v = v * 10 + (*s - '0');
        n++;
        s++;
    }
    if (n == 0)
        return ERR_PARSE;
    *sp = s;
    *ret = v;
    *ret_n = n;
    return 0;
}

int gerr_parse_duration(const char *s, long long *ret_ms)
{
    long long sec, frac = 0, ms;
    unsigned n, fn = 0;
    int r;

    if (s == NULL)
        return ERR_PARSE;
    r = digits(&s, 12, &sec, &n);
    if (r < 0)
        return r;
    if (*s == '.') {
        s++;
        r = digits(&s, 9, &frac, &fn);
        if (r < 0)
            return ERR_PARSE;
    }
    if (s[0] != 's' || s[1] != '\0')
        return ERR_PARSE;
    if (sec > MAX_DELAY_S)
        return ERR_LIMIT;
    /* frac has fn digits: scale to nanoseconds, then round up to ms. */
    for (; fn < 9; fn++)
        frac *= 10;
    ms = sec * 1000 + (frac + 999999) / 1000000;
    if (ms > MAX_DELAY_S * 1000)
        return ERR_LIMIT;
    *ret_ms = ms;
    return 0;
}

int gerr_parse_retry_after(const char *value, long long *ret_ms)
{
    long long sec;
    unsigned n;
    int r;

    if (value == NULL)
        return ERR_PARSE;
    while (*value == ' ' || *value == '\t')
        value++;
    r = digits(&value, 10, &sec, &n);
    if (r < 0)
        return r == ERR_LIMIT ? ERR_LIMIT : ERR_PARSE;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value != '\0')
        return ERR_PARSE;
    if (sec > MAX_DELAY_S)
        return ERR_LIMIT;
    *ret_ms = sec * 1000;
    return 0;
}
