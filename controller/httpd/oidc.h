/*
 * oidc.h - verifying the OIDC token on Pub/Sub push requests
 * (CONTRACTS.md §6.3).
 *
 * Pub/Sub sends `Authorization: Bearer <JWT>` signed by Google (RS256).
 * oidc_verify() checks, in this order: the header is a bearer token; the
 * token splits into a JWS with alg RS256 and a kid (api/push/jwt.h); the
 * signature verifies with cjose against the key of that kid from Google's
 * JWK set; then the claims: exp in the future and iat (and nbf) not in the
 * future, both with a skew allowance; iss is accounts.google.com or
 * https://accounts.google.com; aud equals the configured audience exactly;
 * email_verified is true and email is the configured push service account.
 *
 * The key set comes from ROAM_OIDC_JWKS_URL (default Google's v3 certs URL)
 * through gcp_http without credentials, and is cached for the response's
 * Cache-Control max-age (clamped between refetch_interval_ms and
 * max_cache_ms).  A token with a kid not in the cache triggers a refetch,
 * at most one per refetch_interval_ms, so forged kids cannot make us hammer
 * Google.  Verifications that need keys wait for the one fetch in flight.
 * When a refresh fails, keys already known keep working.
 *
 * Only RS256 is accepted, whatever the token's header claims: "none", HS256
 * (an HMAC keyed with the public key), ES256 and the rest are refused
 * before any key is used, and keys that are not RSA signing keys are
 * skipped when the set is loaded.
 *
 * Results: 0 (accept), ERR_AUTH (answer 401: no or malformed token, bad
 * signature, unknown key, expired or not yet valid), ERR_PERM (answer 403:
 * a genuine Google token for someone else: issuer, audience, email,
 * email_verified), ERR_TRANSIENT (answer 503 so Pub/Sub redelivers: the key
 * set could not be fetched and none is cached), ERR_CANCELLED (oidc_free
 * while waiting).  `why` is a short reason for the log; it never contains
 * the token.
 *
 * Everything runs on the loop thread of the gcp_http client.
 */
#ifndef ROAM_OIDC_H
#define ROAM_OIDC_H

#include <stdint.h>

#include "controller/runtime/clock.h"

#define OIDC_DEFAULT_JWKS_URL "https://www.googleapis.com/oauth2/v3/certs"

struct gcp_http;
struct oidc;

struct oidc_config {
    const char *jwks_url;         /* NULL: OIDC_DEFAULT_JWKS_URL */
    const char *audience;         /* required: the subscription's oidcToken.audience */
    const char *service_account;  /* required: oidcToken.serviceAccountEmail */
    const struct clock *clock;    /* NULL: system clock; borrowed */
    uint64_t refetch_interval_ms; /* least time between key fetches; 0: 30 s */
    uint64_t max_cache_ms;        /* cap on max-age; 0: 24 h */
    uint64_t default_cache_ms;    /* without max-age; 0: 1 h */
    int64_t skew_s;               /* clock skew allowed; 0: 60 s */
};

/* Fills the strings of cfg from ROAM_OIDC_JWKS_URL, ROAM_PUSH_AUDIENCE and
 * ROAM_PUSH_SERVICE_ACCOUNT (borrowed from the environment; other members
 * untouched).  Returns 0, or ERR_INVAL when the audience or the account is
 * unset or empty. */
int oidc_config_from_env(struct oidc_config *cfg);

/*
 * Creates a verifier fetching keys through http (borrowed; it must outlive
 * the verifier, see oidc_free).  cfg is copied.  Returns 0 and *ret, or
 * ERR_INVAL (no audience or service account).
 */
int oidc_new(struct gcp_http *http, const struct oidc_config *cfg, struct oidc **ret);

/*
 * Ends waiting verifications with ERR_CANCELLED and frees o.  A key fetch
 * in flight keeps the memory until its callback (gcp_http_close() ends it),
 * so the gcp_http client must be closed after, or not before, this call.
 * NULL-safe.
 */
void oidc_free(struct oidc *o);

typedef void oidc_verify_cb(void *data, int result, const char *why);

/*
 * Verifies an Authorization header value (NULL when the header is absent).
 * Returns ERR_INVAL (cb NULL) or ERR_CANCELLED (being freed) without
 * calling cb; otherwise returns 0 and calls cb exactly once, either before
 * returning (keys cached, or the token is rejected outright) or later,
 * after a key fetch.  Callers must not touch state that cb may free after
 * the call.  The header is copied.
 */
int oidc_verify(struct oidc *o, const char *authorization, oidc_verify_cb *cb, void *data);

struct oidc_stats {
    uint64_t fetches;        /* key set requests made */
    uint64_t fetch_failures; /* of which failed (transport, status, bad JSON) */
    uint64_t accepted;
    uint64_t rejected; /* ERR_AUTH and ERR_PERM */
    unsigned keys;     /* keys cached now */
};
void oidc_stats(const struct oidc *o, struct oidc_stats *ret);

#endif
