/*
 * gerr.h - Google API error bodies -> roam error codes.
 *
 * Three formats reach us (CONTRACTS.md §1.1, §5.6, §7.1):
 *
 *   google.rpc.Status  {"error":{"code":403,"message":"...","status":
 *                       "PERMISSION_DENIED","details":[{"@type":...}]}}
 *                      (Run, IAM, Pub/Sub, Asset, Resource Manager; a legacy
 *                      "errors":[...] array may sit beside it)
 *   Storage legacy     {"error":{"code":412,"message":"...","errors":
 *                       [{"domain":"global","reason":"conditionNotMet"}]}}
 *   OAuth2             {"error":"invalid_grant","error_description":"..."}
 *
 * plus bodies that are no JSON at all (an HTML page from a proxy, the
 * metadata server's plain text).  The decision follows the contract: the
 * canonical `status` string first, the HTTP code second, never the message.
 * A 403 whose reason is rateLimitExceeded/userRateLimitExceeded is a rate
 * limit, not a permission problem.
 *
 * The decoder is pure (bytes in, struct out), checks the type of every
 * field, caps what it keeps, and never fails on garbage: whatever the body,
 * the result is at least what the HTTP code says.  It is fuzzed
 * (test/fuzz/fuzz_gerr.c).  jansson stays inside gerr.c.
 */
#ifndef ROAM_GERR_H
#define ROAM_GERR_H

#include <stdbool.h>
#include <stddef.h>

enum gerr_format {
    GERR_FORMAT_NONE,   /* no usable JSON error object: decided by HTTP code */
    GERR_FORMAT_RPC,    /* google.rpc.Status (has a known "status") */
    GERR_FORMAT_LEGACY, /* {"error":{"code",...}} without a known status */
    GERR_FORMAT_OAUTH,  /* {"error":"invalid_grant",...} */
    GERR_FORMAT_MAX
};

/*
 * A decoded error.  Strings are owned and freed by gerr_release(); message
 * is sanitised (control characters replaced by spaces, at most
 * CAP_ERROR_MESSAGE_BYTES bytes, cut on a UTF-8 boundary) and may be shown to
 * people; it is never used for decisions.
 */
struct gerr {
    int code;                 /* ERR_* (negative); 0 only for a 2xx status */
    long http_status;         /* as given to gerr_decode */
    char *status;             /* canonical status name, never NULL after decode */
    char *reason;             /* ErrorInfo.reason, else errors[0].reason, else the
                               * OAuth "error" value; NULL when absent */
    char *domain;             /* ErrorInfo.domain or errors[0].domain; NULL */
    char *message;            /* server text (OAuth: error_description); NULL */
    long long retry_delay_ms; /* RetryInfo.retryDelay; -1 when absent */
    enum gerr_format format;
    bool retryable; /* transient: the same call may be retried (if the
                     * call is idempotent; see §1.2) */
};

/* Empty error (code 0, everything NULL, retry_delay_ms -1).  Cannot fail. */
void gerr_init(struct gerr *g);
/* Frees the strings and re-initialises g. */
void gerr_release(struct gerr *g);

/*
 * Decodes the body of a response with HTTP status http_status into *ret
 * (which is released first, so it may be reused).  body need not be
 * NUL-terminated and may be NULL when len is 0.  Always succeeds and returns
 * ret->code: ERR_INVAL, ERR_AUTH, ERR_PERM, ERR_NOTFOUND, ERR_CONFLICT,
 * ERR_TRANSIENT, ERR_UNSUPPORTED, ERR_IO or ERR_CANCELLED (0 for 2xx).
 *
 *   status                 code               retryable
 *   INVALID_ARGUMENT       ERR_INVAL          no
 *   OUT_OF_RANGE           ERR_INVAL          no
 *   FAILED_PRECONDITION    ERR_CONFLICT (412) / ERR_INVAL (other)   no
 *   UNAUTHENTICATED        ERR_AUTH           no (the caller refreshes once)
 *   PERMISSION_DENIED      ERR_PERM           no, unless the reason is a rate limit
 *   NOT_FOUND              ERR_NOTFOUND       no
 *   ALREADY_EXISTS         ERR_CONFLICT       no
 *   ABORTED                ERR_CONFLICT       no (redo read-modify-write)
 *   RESOURCE_EXHAUSTED     ERR_TRANSIENT      yes
 *   UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED  ERR_TRANSIENT  yes
 *   CANCELLED              ERR_CANCELLED      no
 *   DATA_LOSS              ERR_IO             no
 *   UNIMPLEMENTED          ERR_UNSUPPORTED    no
 *
 * Without a known status the HTTP code gives the status (gerr_http_status)
 * and 408, 429, 500, 502, 503 and 504 are retryable.  OAuth errors are
 * ERR_AUTH unless the HTTP code is retryable or the error is
 * internal_failure, server_error or temporarily_unavailable (ERR_TRANSIENT,
 * retryable).
 */
int gerr_decode(long http_status, const char *body, size_t len, struct gerr *ret);

/* The canonical status name for an HTTP code ("NOT_FOUND" for 404, "OK" for
 * 2xx, "UNKNOWN" when there is none); a static string. */
const char *gerr_http_status(long http_status);

/* Whether an HTTP code alone marks a retryable failure (408, 429, 500, 502,
 * 503, 504). */
bool gerr_http_retryable(long http_status);

/*
 * A short lower-case description of the error for messages ("permission
 * denied", "API not enabled", "rate limit exceeded"); a static string.
 */
const char *gerr_text(const struct gerr *g);

/*
 * Formats `cannot <verb> '<resource>': <text> (<STATUS>)`, e.g.
 * `cannot set IAM policy for 'projects/p/locations/r/services/s': permission
 * denied (PERMISSION_DENIED)`.  OAuth errors show the OAuth error instead of
 * the status: `... invalid grant (invalid_grant)`.  With detail, the server's
 * message follows as `: <message>` when there is one.  Returns a new string
 * the caller frees.
 */
char *gerr_format(const struct gerr *g, const char *verb, const char *resource, bool detail);

/*
 * Parses a google-duration string ("3s", "0.250s", "1.5s") into whole
 * milliseconds (rounded up), at most one day.  Returns 0, ERR_PARSE or
 * ERR_LIMIT; *ret_ms is written only on success.
 */
int gerr_parse_duration(const char *s, long long *ret_ms);

/*
 * Parses a Retry-After header value given in seconds ("120") into
 * milliseconds, at most one day.  The HTTP-date form is not used by Google
 * and gives ERR_PARSE.  Returns 0, ERR_PARSE or ERR_LIMIT.
 */
int gerr_parse_retry_after(const char *value, long long *ret_ms);

#endif
