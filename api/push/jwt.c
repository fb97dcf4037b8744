/*
 * jwt.c - compact JWS splitting and claim decoding (see jwt.h).
 */
#include "jwt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "api/push/b64.h"

static int fail(struct err_detail *err, int code, const char *path, const char *msg)
{
    if (err != NULL) {
        err_detail_release(err);
        err->code = code;
        err->path = xstrdup(path);
        err->msg = xstrdup(msg);
    }
    return code;
}

/* Decodes one base64url part into a JSON object. */
static int part_object(const char *p, size_t n, const char *what, char **ret_text, size_t *ret_len,
                       json_t **ret, struct err_detail *err)
{
    unsigned char *text;
    size_t len;
    json_error_t je;
    json_t *o;

    /* JWS compact serialisation never pads (RFC 7515 §2). */
    if (n == 0 || memchr(p, '=', n) != NULL || b64_decode(p, n, B64_URL, &text, &len) != 0)
        return fail(err, ERR_PARSE, what, "not base64url");
    o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        free(text);
        return fail(err, ERR_PARSE, what, "not a JSON object");
    }
    *ret_text = (char *)text;
    *ret_len = len;
    *ret = o;
    return 0;
}

static int opt_str(json_t *o, const char *key, char **ret, struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, ERR_PARSE, key, "expected a string");
    *ret = xstrdup(json_string_value(v));
    return 0;
}

static int decode_header(struct jwt *j, const char *p, size_t n, struct err_detail *err)
{
    size_t len;
    json_t *h;
    int rc;

    rc = part_object(p, n, "header", &j->header_json, &len, &h, err);
    if (rc != 0)
        return rc;
    rc = opt_str(h, "alg", &j->alg, err);
    if (rc == 0)
        rc = opt_str(h, "kid", &j->kid, err);
    if (rc == 0)
        rc = opt_str(h, "typ", &j->typ, err);
    if (rc == 0 && j->alg == NULL)
        rc = fail(err, ERR_PARSE, "header.alg", "missing");
    json_decref(h);
    return rc;
}

int jwt_decode(const char *token, size_t len, struct jwt *ret, struct err_detail *err)
{
    const char *d1, *d2;
    json_t *payload;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if (len > CAP_JWT_BYTES)
        return fail(err, ERR_LIMIT, "", "token too long");
    d1 = memchr(token, '.', len);
    d2 = d1 == NULL ? NULL : memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return fail(err, ERR_PARSE, "", "not three dot-separated parts");
    rc = decode_header(ret, token, (size_t)(d1 - token), err);
    if (rc == 0)
        rc = part_object(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &ret->payload_json,
                         &ret->payload_len, &payload, err);
    if (rc != 0)
        goto out_release;
    json_decref(payload);
    if (memchr(d2 + 1, '=', len - (size_t)(d2 + 1 - token)) != NULL ||
        b64_decode(d2 + 1, len - (size_t)(d2 + 1 - token), B64_URL, &ret->sig, &ret->sig_len) !=
            0) {
        rc = fail(err, ERR_PARSE, "signature", "not base64url");
        goto out_release;
    }
    return 0;

out_release:
    jwt_release(ret);
    return rc;
}

void jwt_release(struct jwt *j)
{
    free(j->alg);
    free(j->kid);
    free(j->typ);
    free(j->header_json);
    free(j->payload_json);
    free(j->sig);
    memset(j, 0, sizeof(*j));
}

/* A NumericDate: a JSON number within the range a double holds exactly. */
static int opt_time(json_t *o, const char *key, bool *ret_has, int64_t *ret, struct err_detail *err)
{
    json_t *v = json_object_get(o, key);
    double d;

    if (v == NULL)
        return 0;
    if (!json_is_number(v))
        return fail(err, ERR_PARSE, key, "expected a number");
    d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 9007199254740992.0)
        return fail(err, ERR_PARSE, key, "number out of range");
    *ret = (int64_t)d;
    *ret_has = true;
    return 0;
}

static int decode_aud(json_t *o, struct jwt_claims *c, struct err_detail *err)
{
    json_t *v = json_object_get(o, "aud"), *e;
    size_t i;

    if (v == NULL)
        return 0;
    if (json_is_string(v)) {
        c->aud = xcalloc(1, sizeof(*c->aud));
        c->aud[c->naud++] = xstrdup(json_string_value(v));
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > 64)
        return fail(err, ERR_PARSE, "aud", "expected a string or an array of strings");
    c->aud = xcalloc(json_array_size(v) + 1, sizeof(*c->aud));
    json_array_foreach (v, i, e) {
        if (!json_is_string(e))
            return fail(err, ERR_PARSE, "aud", "expected a string or an array of strings");
        c->aud[c->naud++] = xstrdup(json_string_value(e));
    }
    return 0;
}

static int decode_email_verified(json_t *o, struct jwt_claims *c, struct err_detail *err)
{
    json_t *v = json_object_get(o, "email_verified");

    if (v == NULL)
        return 0;
    if (json_is_boolean(v))
        c->email_verified = json_is_true(v);
    else if (json_is_string(v))
        c->email_verified = strcmp(json_string_value(v), "true") == 0;
    else
        return fail(err, ERR_PARSE, "email_verified", "expected a boolean");
    return 0;
}

int jwt_claims_decode(const char *json, size_t len, struct jwt_claims *ret, struct err_detail *err)
{
    json_error_t je;
    json_t *o;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if (len > CAP_JWT_BYTES)
        return fail(err, ERR_LIMIT, "", "claims too long");
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return fail(err, ERR_PARSE, "", "claims are not a JSON object");
    }
    rc = opt_str(o, "iss", &ret->iss, err);
    if (rc == 0)
        rc = opt_str(o, "sub", &ret->sub, err);
    if (rc == 0)
        rc = opt_str(o, "azp", &ret->azp, err);
    if (rc == 0)
        rc = opt_str(o, "email", &ret->email, err);
    if (rc == 0)
        rc = decode_aud(o, ret, err);
    if (rc == 0)
        rc = decode_email_verified(o, ret, err);
    if (rc == 0)
        rc = opt_time(o, "exp", &ret->has_exp, &ret->exp, err);
    if (rc == 0)
        rc = opt_time(o, "iat", &ret->has_iat, &ret->iat, err);
    if (rc == 0)
        rc = opt_time(o, "nbf", &ret->has_nbf, &ret->nbf, err);
    json_decref(o);
    if (rc != 0)
        jwt_claims_release(ret);
    return rc;
}

void jwt_claims_release(struct jwt_claims *c)
{
    size_t i;

    free(c->iss);
    for (i = 0; i < c->naud; i++)
        free(c->aud[i]);
    free(c->aud);
    free(c->sub);
    free(c->azp);
    free(c->email);
    memset(c, 0, sizeof(*c));
}

bool jwt_claims_has_aud(const struct jwt_claims *c, const char *aud)
{
    size_t i;

    for (i = 0; i < c->naud; i++)
        if (strcmp(c->aud[i], aud) == 0)
            return true;
    return false;
}
