/*
 * oauth.c - JWT assertion, form encoding and token responses (see oauth.h).
 *
 * The JWT header and claims are built with jansson in a fixed member order
 * and dumped compactly, so the same inputs always give the same bytes.  The
 * signature uses the EVP one-shot digest-sign interface, which picks
 * PKCS#1 v1.5 padding for RSA keys by default.
 */
#include "oauth.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

void gcp_oauth_free_secret(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int gcp_oauth_load_key(const char *pem, size_t len, EVP_PKEY **ret)
{
    BIO *bio;
    EVP_PKEY *key;

    if (pem == NULL || len == 0 || len > CAP_CREDENTIALS_BYTES)
        return ERR_PARSE;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return ERR_PARSE;
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key == NULL)
        return ERR_PARSE;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        return ERR_UNSUPPORTED;
    }
    *ret = key;
    return 0;
}

char *gcp_oauth_b64url(const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    char *out = xmalloc(n / 3 * 4 + 5);
    size_t o = 0, i = 0;

    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static char *b64url_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    char *out;

    if (text == NULL)
        return NULL;
    out = gcp_oauth_b64url(text, strlen(text));
    free(text);
    return out;
}

/* "header.claims", the signing input. */
static char *signing_input(const struct gcp_jwt_claims *c)
{
    json_t *h = json_object(), *cl = json_object();
    char *h64 = NULL, *c64 = NULL, *out = NULL;

    json_object_set_new(h, "alg", json_string("RS256"));
    json_object_set_new(h, "typ", json_string("JWT"));
    if (c->kid != NULL && c->kid[0] != '\0')
        json_object_set_new(h, "kid", json_string(c->kid));
    json_object_set_new(cl, "iss", json_string(c->iss));
    json_object_set_new(cl, "scope", json_string(c->scope));
    json_object_set_new(cl, "aud", json_string(c->aud));
    json_object_set_new(cl, "iat", json_integer(c->iat));
    json_object_set_new(cl, "exp", json_integer(c->iat + c->lifetime));
    h64 = b64url_json(h);
    c64 = b64url_json(cl);
    if (h64 != NULL && c64 != NULL)
        out = xasprintf("%s.%s", h64, c64);
    free(h64);
    free(c64);
    json_decref(h);
    json_decref(cl);
    return out;
}

static int sign(EVP_PKEY *key, const char *input, unsigned char **ret_sig, size_t *ret_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    int r = ERR_IO;

    if (ctx == NULL)
        return ERR_IO;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto out_free_ctx;
    if (EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)input, strlen(input)) != 1)
        goto out_free_ctx;
    sig = xmalloc(len);
    if (EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) != 1) {
        free(sig);
        goto out_free_ctx;
    }
    *ret_sig = sig;
    *ret_len = len;
    r = 0;
out_free_ctx:
    EVP_MD_CTX_free(ctx);
    return r;
}

int gcp_oauth_jwt(EVP_PKEY *key, const struct gcp_jwt_claims *c, char **ret)
{
    char *input, *sig64;
    unsigned char *sig;
    size_t siglen;
    int r;

    if (key == NULL || c->iss == NULL || c->scope == NULL || c->aud == NULL || c->lifetime < 1 ||
        c->lifetime > GCP_OAUTH_JWT_LIFETIME)
        return ERR_INVAL;
    input = signing_input(c);
    if (input == NULL)
        return ERR_INVAL; /* a claim that is not UTF-8 */
    r = sign(key, input, &sig, &siglen);
    if (r < 0) {
        free(input);
        return r;
    }
    sig64 = gcp_oauth_b64url(sig, siglen);
    *ret = xasprintf("%s.%s", input, sig64);
    free(sig64);
    free(sig);
    free(input);
    return 0;
}

int gcp_oauth_form_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    int r = 0;

    if (b->len > 0)
        r = buf_putc(b, '&');
    if (r == 0)
        r = buf_puts(b, name);
    if (r == 0)
        r = buf_putc(b, '=');
    for (const char *p = value; r == 0 && *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            r = buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

            r = buf_append(b, esc, 3);
        }
    }
    return r;
}

static int parse_expires_in(const json_t *v, long long *ret)
{
    long long n;

    if (v == NULL) {
        *ret = 3600;
        return 0;
    }
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_string(v)) {
        if (str_to_ll(json_string_value(v), 1, 86400, &n) < 0)
            return ERR_PARSE;
    } else
        return ERR_PARSE;
    if (n < 1 || n > 86400)
        return ERR_PARSE;
    *ret = n;
    return 0;
}

static bool token_chars_ok(const char *t, size_t n)
{
    if (n == 0 || n > CAP_TOKEN_BYTES)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return false;
    return true;
}

int gcp_oauth_parse_token(const char *body, size_t len, char **ret_token, long long *ret_expires_in,
                          const char **ret_why)
{
    json_t *root;
    const json_t *tok = NULL, *type;
    long long exp;
    int r = ERR_PARSE;

    root = json_loadb(body != NULL ? body : "", len, 0, NULL);
    if (!json_is_object(root)) {
        *ret_why = "token response is not a JSON object";
        goto out_decref;
    }
    tok = json_object_get(root, "access_token");
    type = json_object_get(root, "token_type");
    if (!json_is_string(tok) || !token_chars_ok(json_string_value(tok), json_string_length(tok))) {
        *ret_why = "token response has no usable access_token";
        goto out_decref;
    }
    if (type != NULL && !(json_is_string(type) && str_eq_ci(json_string_value(type), "bearer"))) {
        *ret_why = "token response has a token_type other than Bearer";
        goto out_decref;
    }
    if (parse_expires_in(json_object_get(root, "expires_in"), &exp) < 0) {
        *ret_why = "token response has an invalid expires_in";
        goto out_decref;
    }
    *ret_token = xstrdup(json_string_value(tok));
    *ret_expires_in = exp;
    r = 0;
out_decref:
    /* The tree holds the token: wipe it before jansson frees it. */
    tok = json_object_get(root, "access_token");
    if (json_is_string(tok)) {
        char *p = (char *)(uintptr_t)json_string_value(tok);

        OPENSSL_cleanse(p, json_string_length(tok));
    }
    json_decref(root);
    return r;
}
