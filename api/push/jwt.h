/*
 * jwt.h - splitting and decoding a compact JWS (a JWT) to inspect it.
 *
 * This does NOT verify the signature: controller/httpd/oidc.c does that
 * with cjose before trusting any claim decoded here.  The split is strict
 * (exactly three base64url parts without padding, a JSON object for header
 * and payload, duplicate keys rejected so that two parsers cannot read two
 * different claims) so that whatever is inspected here is what cjose
 * verifies.
 *
 * Pure functions: no I/O, clock or globals.  The time checks take "now" as
 * an argument.
 */
#ifndef ROAM_JWT_H
#define ROAM_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/common/err.h"

/* A split token.  All strings are owned and freed by jwt_release(). */
struct jwt {
    char *alg;          /* header "alg" (required) */
    char *kid;          /* header "kid", or NULL */
    char *typ;          /* header "typ", or NULL */
    char *header_json;  /* the decoded header */
    char *payload_json; /* the decoded payload (NUL-terminated) */
    size_t payload_len;
    unsigned char *sig; /* the decoded signature */
    size_t sig_len;
};

/*
 * Splits and decodes token (len bytes, at most CAP_JWT_BYTES).  Returns 0,
 * ERR_LIMIT (too long) or ERR_PARSE (not three base64url parts, header or
 * payload not a JSON object, no "alg"), with the reason in err (may be NULL;
 * path "header" / "payload" / "").  *ret is zeroed first and released on
 * failure.
 */
int jwt_decode(const char *token, size_t len, struct jwt *ret, struct err_detail *err);
void jwt_release(struct jwt *j);

/* Claims of an ID token.  Strings owned, freed by jwt_claims_release(). */
struct jwt_claims {
    char *iss;
    char **aud; /* "aud" as a string or an array of strings */
    size_t naud;
    char *sub;
    char *azp;
    char *email;
    bool email_verified; /* JSON true or the string "true" */
    bool has_exp, has_iat, has_nbf;
    int64_t exp, iat, nbf; /* seconds since the epoch (fractions dropped) */
};

/*
 * Decodes the claims in a payload.  Every named claim is optional here
 * (the verifier decides what is required), but one present with the wrong
 * type is ERR_PARSE with the claim's name in err->path; times must be
 * numbers within +-2^53.
 */
int jwt_claims_decode(const char *json, size_t len, struct jwt_claims *ret, struct err_detail *err);
void jwt_claims_release(struct jwt_claims *c);

/* True when aud is one of the token's audiences (exact comparison). */
bool jwt_claims_has_aud(const struct jwt_claims *c, const char *aud);

#endif
