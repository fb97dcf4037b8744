/*
 * oidc.c - push token verification with cjose (see oidc.h).
 *
 * The key cache is a small array of {kid, cjose_jwk_t *}; a fetch replaces
 * it as a whole.  Verifications that need the fetch wait on a FIFO list and
 * are finished, in order, by the fetch callback.  Claims are read from the
 * payload cjose verified (cjose_jws_get_plaintext), never from the
 * unverified token.
 */
#include "oidc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/push/jwt.h"
#include "controller/gcp/http.h"
#include "controller/httpd/http_parse.h"

struct key {
    char *kid;
    cjose_jwk_t *jwk;
};

struct waiter {
    struct waiter *next;
    char *token;
    char *kid;
    oidc_verify_cb *cb;
    void *data;
};

struct oidc {
    struct gcp_http *http;
    struct oidc_config cfg; /* strings owned */
    struct key *keys;
    size_t nkeys;
    bool have_keys;      /* a fetch succeeded at least once */
    uint64_t expires_ms; /* cache freshness (clock_mono_ms) */
    uint64_t last_fetch_ms;
    bool fetched_once;
    bool fetching;
    bool freeing;
    unsigned settling; /* settle() frames on the stack: destroy waits for them */
    struct waiter *head, **tail;
    struct oidc_stats st;
};

int oidc_config_from_env(struct oidc_config *cfg)
{
    const char *url = getenv("ROAM_OIDC_JWKS_URL");

    cfg->jwks_url = url != NULL && url[0] != '\0' ? url : NULL;
    cfg->audience = getenv("ROAM_PUSH_AUDIENCE");
    cfg->service_account = getenv("ROAM_PUSH_SERVICE_ACCOUNT");
    if (cfg->audience == NULL || cfg->audience[0] == '\0' || cfg->service_account == NULL ||
        cfg->service_account[0] == '\0')
        return ERR_INVAL;
    return 0;
}

int oidc_new(struct gcp_http *http, const struct oidc_config *cfg, struct oidc **ret)
{
    struct oidc *o;

    if (cfg->audience == NULL || cfg->audience[0] == '\0' || cfg->service_account == NULL ||
        cfg->service_account[0] == '\0')
        return ERR_INVAL;
    o = xcalloc(1, sizeof(*o));
    o->http = http;
    o->cfg = *cfg;
    o->cfg.jwks_url = xstrdup(cfg->jwks_url != NULL ? cfg->jwks_url : OIDC_DEFAULT_JWKS_URL);
    o->cfg.audience = xstrdup(cfg->audience);
    o->cfg.service_account = xstrdup(cfg->service_account);
    if (o->cfg.refetch_interval_ms == 0)
        o->cfg.refetch_interval_ms = 30000;
    if (o->cfg.max_cache_ms == 0)
        o->cfg.max_cache_ms = 24ull * 3600ull * 1000ull;
    if (o->cfg.default_cache_ms == 0)
        o->cfg.default_cache_ms = 3600ull * 1000ull;
    if (o->cfg.skew_s == 0)
        o->cfg.skew_s = 60;
    o->tail = &o->head;
    *ret = o;
    return 0;
}

static void keys_release(struct key *keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(keys[i].kid);
        cjose_jwk_release(keys[i].jwk);
    }
    free(keys);
}

static void destroy(struct oidc *o)
{
    keys_release(o->keys, o->nkeys);
    free((char *)(uintptr_t)o->cfg.jwks_url);
    free((char *)(uintptr_t)o->cfg.audience);
    free((char *)(uintptr_t)o->cfg.service_account);
    free(o);
}

static void waiter_free(struct waiter *w)
{
    /* The token is a credential: do not leave it in freed memory. */
    explicit_bzero(w->token, strlen(w->token));
    free(w->token);
    free(w->kid);
    free(w);
}

/* Takes the waiting list. */
static struct waiter *take_waiters(struct oidc *o)
{
    struct waiter *w = o->head;

    o->head = NULL;
    o->tail = &o->head;
    return w;
}

void oidc_free(struct oidc *o)
{
    struct waiter *w, *next;

    if (o == NULL)
        return;
    o->freeing = true;
    for (w = take_waiters(o); w != NULL; w = next) {
        next = w->next;
        w->cb(w->data, ERR_CANCELLED, "push verification cancelled");
        waiter_free(w);
    }
    if (!o->fetching && o->settling == 0)
        destroy(o);
}

void oidc_stats(const struct oidc *o, struct oidc_stats *ret)
{
    *ret = o->st;
    ret->keys = (unsigned)o->nkeys;
}

static const struct key *find_key(const struct oidc *o, const char *kid)
{
    size_t i;

    for (i = 0; i < o->nkeys; i++)
        if (strcmp(o->keys[i].kid, kid) == 0)
            return &o->keys[i];
    return NULL;
}

/* ---- checking one token against one key ---- */

static int check_times(const struct oidc *o, const struct jwt_claims *c, const char **why)
{
    int64_t now = clock_wall_s(o->cfg.clock), skew = o->cfg.skew_s;

    if (!c->has_exp || !c->has_iat) {
        *why = "token without exp or iat";
        return ERR_AUTH;
    }
    if (c->exp + skew <= now) {
        *why = "token expired";
        return ERR_AUTH;
    }
    if (c->iat - skew > now || (c->has_nbf && c->nbf - skew > now)) {
        *why = "token not yet valid";
        return ERR_AUTH;
    }
    return 0;
}

static int check_identity(const struct oidc *o, const struct jwt_claims *c, const char **why)
{
    if (c->iss == NULL || (strcmp(c->iss, "accounts.google.com") != 0 &&
                           strcmp(c->iss, "https://accounts.google.com") != 0)) {
        *why = "token not issued by Google";
        return ERR_PERM;
    }
    if (!jwt_claims_has_aud(c, o->cfg.audience)) {
        *why = "token for another audience";
        return ERR_PERM;
    }
    if (!c->email_verified) {
        *why = "token e-mail not verified";
        return ERR_PERM;
    }
    if (c->email == NULL || !str_eq_ci(c->email, o->cfg.service_account)) {
        *why = "token for another service account";
        return ERR_PERM;
    }
    return 0;
}

static int check_claims(const struct oidc *o, const uint8_t *payload, size_t len, const char **why)
{
    struct jwt_claims c;
    int rc;

    if (jwt_claims_decode((const char *)payload, len, &c, NULL) != 0) {
        *why = "malformed token claims";
        return ERR_AUTH;
    }
    rc = check_times(o, &c, why);
    if (rc == 0)
        rc = check_identity(o, &c, why);
    jwt_claims_release(&c);
    return rc;
}

static int verify_with(const struct oidc *o, const char *token, const struct key *k,
                       const char **why)
{
    cjose_err cerr;
    cjose_jws_t *jws;
    cjose_header_t *hdr;
    const char *alg;
    uint8_t *payload = NULL;
    size_t len = 0;
    int rc = ERR_AUTH;

    jws = cjose_jws_import(token, strlen(token), &cerr);
    if (jws == NULL) {
        *why = "malformed token";
        return ERR_AUTH;
    }
    /* Checked before (jwt_decode), and again on what cjose parsed. */
    hdr = cjose_jws_get_protected(jws);
    alg = hdr != NULL ? cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr) : NULL;
    if (alg == NULL || strcmp(alg, CJOSE_HDR_ALG_RS256) != 0) {
        *why = "token not signed with RS256";
        goto out_release;
    }
    if (!cjose_jws_verify(jws, k->jwk, &cerr)) {
        *why = "bad token signature";
        goto out_release;
    }
    if (!cjose_jws_get_plaintext(jws, &payload, &len, &cerr)) {
        *why = "malformed token";
        goto out_release;
    }
    rc = check_claims(o, payload, len, why);
out_release:
    cjose_jws_release(jws);
    return rc;
}

static void finish(struct oidc *o, int rc, const char *why, oidc_verify_cb *cb, void *data)
{
    if (rc == 0) {
        o->st.accepted++;
        why = "ok";
    } else if (rc == ERR_AUTH || rc == ERR_PERM) {
        o->st.rejected++;
    }
    cb(data, rc, why);
}

/* Decides a token once the cache has had its chance. */
static void decide(struct oidc *o, const char *token, const char *kid, oidc_verify_cb *cb,
                   void *data)
{
    const struct key *k = find_key(o, kid);
    const char *why = "";
    int rc;

    if (k != NULL)
        rc = verify_with(o, token, k, &why);
    else if (!o->have_keys) {
        rc = ERR_TRANSIENT;
        why = "push signing keys unavailable";
    } else {
        rc = ERR_AUTH;
        why = "token signed with an unknown key";
    }
    finish(o, rc, why, cb, data);
}

/* ---- the key set ---- */

/* One JWK of the set, or NULL when it is not an RSA signing key with a kid. */
static cjose_jwk_t *import_key(json_t *k, const char **ret_kid)
{
    json_t *kid = json_object_get(k, "kid"), *use = json_object_get(k, "use");
    json_t *alg = json_object_get(k, "alg"), *kty = json_object_get(k, "kty");
    cjose_jwk_t *jwk;
    cjose_err cerr;
    char *text;

    if (!json_is_string(kid) || !json_is_string(kty) ||
        strcmp(json_string_value(kty), "RSA") != 0 ||
        (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) ||
        (alg != NULL && (!json_is_string(alg) || strcmp(json_string_value(alg), "RS256") != 0)) ||
        json_object_get(k, "d") != NULL) /* never a private key */
        return NULL;
    text = json_dumps(k, JSON_COMPACT);
    if (text == NULL)
        return NULL;
    jwk = cjose_jwk_import(text, strlen(text), &cerr);
    free(text);
    if (jwk != NULL && cjose_jwk_get_kty(jwk, &cerr) != CJOSE_JWK_KTY_RSA) {
        cjose_jwk_release(jwk);
        return NULL;
    }
    *ret_kid = json_string_value(kid);
    return jwk;
}

/* Parses {"keys": [...]}; 0 with the usable keys (maybe none), or an error. */
static int parse_jwks(const char *body, size_t len, struct key **ret, size_t *ret_n)
{
    json_error_t je;
    json_t *root, *arr, *k;
    struct key *keys;
    size_t i, n = 0;

    if (len > CAP_JWKS_BYTES)
        return ERR_LIMIT;
    root = json_loadb(body, len, 0, &je);
    arr = root != NULL ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(arr) || json_array_size(arr) > CAP_JWKS_KEYS) {
        json_decref(root);
        return ERR_PARSE;
    }
    keys = xcalloc(json_array_size(arr) + 1, sizeof(*keys));
    json_array_foreach (arr, i, k) {
        const char *kid = NULL;
        cjose_jwk_t *jwk = json_is_object(k) ? import_key(k, &kid) : NULL;

        if (jwk == NULL)
            continue;
        keys[n].kid = xstrdup(kid);
        keys[n].jwk = jwk;
        n++;
    }
    json_decref(root);
    *ret = keys;
    *ret_n = n;
    return 0;
}

/* How long the fetched set stays fresh. */
static uint64_t cache_ms(const struct oidc *o, struct gcp_req *req)
{
    const char *cc = gcp_req_header(req, "Cache-Control");
    long long s;
    uint64_t ms = o->cfg.default_cache_ms;

    if (cc != NULL && http_cache_max_age(cc, &s) == 0)
        ms = (uint64_t)s * 1000u;
    if (ms > o->cfg.max_cache_ms)
        ms = o->cfg.max_cache_ms;
    if (ms < o->cfg.refetch_interval_ms)
        ms = o->cfg.refetch_interval_ms;
    return ms;
}

/*
 * Decides every waiting verification.  A callback may call oidc_free(): the
 * rest are then cancelled and o is destroyed here, so callers must not
 * touch o after settle().
 */
static void settle(struct oidc *o)
{
    struct waiter *w, *next;

    o->settling++;
    for (w = take_waiters(o); w != NULL; w = next) {
        next = w->next;
        if (o->freeing)
            w->cb(w->data, ERR_CANCELLED, "push verification cancelled");
        else
            decide(o, w->token, w->kid, w->cb, w->data);
        waiter_free(w);
    }
    o->settling--;
    if (o->freeing && o->settling == 0 && !o->fetching)
        destroy(o);
}

static void on_fetched(struct gcp_req *req, int err, long status, const struct buf *body,
                       void *data)
{
    struct oidc *o = data;
    struct key *keys;
    size_t n;
    uint64_t now = clock_mono_ms(o->cfg.clock);

    (void)status;
    o->fetching = false;
    if (o->freeing) {
        if (o->settling == 0)
            destroy(o);
        return;
    }
    if (err == 0 && parse_jwks(body->p, body->len, &keys, &n) == 0) {
        keys_release(o->keys, o->nkeys);
        o->keys = keys;
        o->nkeys = n;
        o->have_keys = true;
        o->expires_ms = now + cache_ms(o, req);
    } else {
        /* Keep what we had; try again after the refetch interval. */
        o->st.fetch_failures++;
        o->expires_ms = now + o->cfg.refetch_interval_ms;
    }
    settle(o);
}

static int start_fetch(struct oidc *o)
{
    struct gcp_req *req =
        gcp_req_new("oidc", "GET", o->cfg.jwks_url, GCP_REQ_NO_AUTH | GCP_REQ_IDEMPOTENT);
    struct backoff_policy retry = {200, 2000, 3, 10000};
    int rc;

    gcp_req_set_timeouts(req, 5000, 10000);
    gcp_req_set_retry(req, &retry);
    rc = gcp_http_submit(o->http, req, on_fetched, o);
    if (rc != 0) {
        gcp_req_free(req);
        return rc;
    }
    o->fetching = true;
    o->fetched_once = true;
    o->last_fetch_ms = clock_mono_ms(o->cfg.clock);
    o->st.fetches++;
    return 0;
}

/* ---- verification ---- */

/* The token of "Bearer <token>", or NULL. */
static const char *bearer_token(const char *h)
{
    if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    return *h != '\0' ? h : NULL;
}

/* Structural checks before any key is involved.  On success *ret_kid is
 * the token's kid (free it). */
static int precheck(const char *token, char **ret_kid, const char **why)
{
    struct jwt j;
    int rc;

    if (strlen(token) > CAP_JWT_BYTES || jwt_decode(token, strlen(token), &j, NULL) != 0) {
        *why = "malformed token";
        return ERR_AUTH;
    }
    rc = ERR_AUTH;
    if (strcmp(j.alg, "RS256") != 0)
        *why = "token not signed with RS256";
    else if (j.kid == NULL || j.kid[0] == '\0')
        *why = "token without a key id";
    else {
        *ret_kid = xstrdup(j.kid);
        rc = 0;
    }
    jwt_release(&j);
    return rc;
}

static void enqueue(struct oidc *o, const char *token, char *kid, oidc_verify_cb *cb, void *data)
{
    struct waiter *w = xcalloc(1, sizeof(*w));

    w->token = xstrdup(token);
    w->kid = kid;
    w->cb = cb;
    w->data = data;
    *o->tail = w;
    o->tail = &w->next;
}

int oidc_verify(struct oidc *o, const char *authorization, oidc_verify_cb *cb, void *data)
{
    const char *token = bearer_token(authorization), *why = "";
    uint64_t now = clock_mono_ms(o->cfg.clock);
    bool fresh, known, can_fetch;
    char *kid = NULL;

    if (cb == NULL)
        return ERR_INVAL;
    if (o->freeing)
        return ERR_CANCELLED;
    if (token == NULL) {
        finish(o, ERR_AUTH, "no bearer token", cb, data);
        return 0;
    }
    if (precheck(token, &kid, &why) != 0) {
        finish(o, ERR_AUTH, why, cb, data);
        return 0;
    }
    fresh = o->have_keys && now < o->expires_ms;
    known = find_key(o, kid) != NULL;
    can_fetch = !o->fetched_once || now - o->last_fetch_ms >= o->cfg.refetch_interval_ms;
    if ((known && fresh) || (!o->fetching && !can_fetch)) {
        decide(o, token, kid, cb, data);
        free(kid);
        return 0;
    }
    enqueue(o, token, kid, cb, data);
    if (!o->fetching && start_fetch(o) != 0)
        settle(o); /* the client is closing: decide with what we have */
    return 0;
}
