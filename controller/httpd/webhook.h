/*
 * webhook.h - GitHub push webhooks (CONTRACTS.md §10).
 *
 * webhook_verify() checks X-Hub-Signature-256: "sha256=" and the lowercase
 * (upper case accepted) hex HMAC-SHA256 of the raw body keyed with the
 * shared secret, compared in constant time (CRYPTO_memcmp) before anything
 * else looks at the body.  The legacy sha1 header is not accepted, and an
 * empty secret verifies nothing.
 *
 * webhook_decode() then reads the event named by X-GitHub-Event: `ping`
 * (sent when the hook is created: answer 200 "pong"), `push` (ref, before,
 * after, repository full_name / clone_url / default_branch, deleted,
 * created), anything else OTHER (acknowledge and ignore).  Form-encoded
 * deliveries (payload=...) are not JSON and fail to decode: configure the
 * hook with content type application/json.
 *
 * Pure functions (OpenSSL's HMAC, jansson): no I/O.  The secret is never
 * copied or logged.
 */
#ifndef ROAM_WEBHOOK_H
#define ROAM_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "api/common/err.h"

/*
 * Returns 0 when signature_header is "sha256=<64 hex>" matching the body,
 * ERR_AUTH when it is missing, malformed or different, ERR_INVAL when the
 * secret is empty.
 */
int webhook_verify(const void *secret, size_t secret_len, const char *signature_header,
                   const void *body, size_t len);

enum webhook_kind { WEBHOOK_OTHER, WEBHOOK_PING, WEBHOOK_PUSH, WEBHOOK_KIND_MAX };

/* A decoded event.  Strings owned (NULL when absent), freed by
 * webhook_event_release(). */
struct webhook_event {
    enum webhook_kind kind;
    char *event; /* the X-GitHub-Event value */
    /* push */
    char *ref;            /* "refs/heads/main" (required) */
    char *before;         /* 40 hex */
    char *after;          /* 40 hex (required); all zeros when the ref was deleted */
    char *repo_full_name; /* repository.full_name (required) */
    char *clone_url;      /* repository.clone_url */
    char *default_branch; /* repository.default_branch */
    bool deleted;
    bool created;
    /* ping */
    char *zen;
};

/*
 * Decodes the body of an event (event_header is X-GitHub-Event; NULL is
 * ERR_PARSE).  Returns 0, or ERR_PARSE with the field path in err (may be
 * NULL): not a JSON object, a required push field missing, a field of the
 * wrong type, `after` not 40 hex digits.  *ret is zeroed first and released
 * on failure.
 */
int webhook_decode(const char *event_header, const char *body, size_t len,
                   struct webhook_event *ret, struct err_detail *err);
void webhook_event_release(struct webhook_event *e);

/* The branch of a "refs/heads/X" ref (a pointer into ref), or NULL for
 * tags and other refs. */
const char *webhook_branch(const char *ref);

#endif
