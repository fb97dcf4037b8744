/*
 * oauth.h - the pure pieces of OAuth2 for Google: the RS256-signed JWT of
 * the service-account grant (RFC 7523, CONTRACTS.md §7.1), form encoding of
 * token requests, and the token response.
 *
 * No I/O and no clock here: the caller passes `iat`, so the assertion can be
 * checked byte for byte in tests.  auth.c drives these over gcp_http.
 * Secrets handled here (the key, the assertion, the access token) are wiped
 * before their memory is freed.
 */
#ifndef ROAM_GCP_OAUTH_H
#define ROAM_GCP_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "api/common/buf.h"

/* The one scope roam asks for, and the audience Google's libraries always
 * put in the assertion (even when the key file names a legacy token_uri). */
#define GCP_OAUTH_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define GCP_OAUTH_TOKEN_URL "https://oauth2.googleapis.com/token"
#define GCP_OAUTH_JWT_LIFETIME 3600 /* seconds; Google's maximum */

struct gcp_jwt_claims {
    const char *kid;   /* private_key_id; NULL or "" omits the header field */
    const char *iss;   /* client_email */
    const char *scope; /* space-separated scopes */
    const char *aud;   /* GCP_OAUTH_TOKEN_URL */
    int64_t iat;       /* seconds since the epoch */
    int64_t lifetime;  /* exp - iat, 1..3600 */
};

/*
 * Reads an RSA private key from PEM text (PKCS#8 "PRIVATE KEY", or the older
 * "RSA PRIVATE KEY").  Returns 0 and a key the caller frees with
 * EVP_PKEY_free(), ERR_PARSE when the text is no PEM key, or ERR_UNSUPPORTED
 * when the key is not RSA.
 */
int gcp_oauth_load_key(const char *pem, size_t len, EVP_PKEY **ret);

/*
 * Builds `base64url(header).base64url(claims).base64url(signature)` with
 * header {"alg":"RS256","typ":"JWT","kid":...} and claims {iss, scope, aud,
 * iat, exp}, signed RSASSA-PKCS1-v1_5 SHA-256.  Returns 0 and a new string
 * (free it with gcp_oauth_free_secret), ERR_INVAL for missing claims or a
 * lifetime outside 1..3600, or ERR_IO when OpenSSL fails.
 */
int gcp_oauth_jwt(EVP_PKEY *key, const struct gcp_jwt_claims *c, char **ret);

/* base64url without padding of n bytes; a new string the caller frees. */
char *gcp_oauth_b64url(const void *data, size_t n);

/*
 * Appends `name=value` to an application/x-www-form-urlencoded body, with
 * '&' before it unless b is empty; value is percent-encoded (RFC 3986
 * unreserved characters are kept).  Returns 0 or ERR_LIMIT (b's cap).
 */
int gcp_oauth_form_add(struct buf *b, const char *name, const char *value);

/*
 * Parses a token response {"access_token", "expires_in" (number or decimal
 * string), "token_type"}.  A missing expires_in means 3600; token_type, when
 * present, must be Bearer (any case).  The token must be 1..CAP_TOKEN_BYTES
 * visible ASCII characters (it goes into a header).  Returns 0 with a new
 * token string (free it with gcp_oauth_free_secret) and the lifetime in
 * seconds (1..86400), or ERR_PARSE with *ret_why set to a static
 * explanation (never containing response text).
 */
int gcp_oauth_parse_token(const char *body, size_t len, char **ret_token, long long *ret_expires_in,
                          const char **ret_why);

/* Wipes a NUL-terminated secret and frees it; NULL-safe. */
void gcp_oauth_free_secret(char *s);

#endif
