/*
 * test_oidc.c - controller/httpd/oidc: push token verification.
 *
 * RSA keys are generated in the test (cjose over OpenSSL), tokens signed
 * with cjose, and the JWK set served by an httpd on 127.0.0.1:0 on the same
 * loop, fetched through a real gcp_http client.  A fake clock drives token
 * times, cache expiry and the refetch interval, so nothing sleeps.
 *
 * Cases: a valid token; both accepted issuers; audience as an array;
 * wrong audience, issuer, email, email_verified (403); expired, not yet
 * valid (iat, nbf), the 60 s skew both ways, missing exp (401); a token
 * signed by another key under a known kid; an unknown kid (one refetch,
 * then rate-limited); key rotation; alg none, HS256 keyed with the public
 * key, a missing kid, garbage and missing headers; the cache honouring
 * Cache-Control max-age; the key server failing (503 path) and stale keys
 * surviving a failed refresh; oidc_free with a verification waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <uv.h>

#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/push/b64.h"
#include "controller/gcp/http.h"
#include "controller/httpd/httpd.h"
#include "controller/httpd/oidc.h"
#include "controller/runtime/clock.h"

#define AUD "https://roam.example.run.app/pubsub"
#define SA "push@p1.iam.gserviceaccount.com"
#define T0 1800000000

static cjose_jwk_t *g_key_a, *g_key_b, *g_key_c; /* generated once: slow-ish */

struct fx {
    uv_loop_t loop;
    struct gcp_http *http;
    struct httpd *srv;
    struct oidc *o;
    struct clock_fake clock;
    char *jwks;                /* served body */
    const char *cache_control; /* served header */
    int status;                /* served status */
    int hits;
    int done;
    int result;
    char why[128];
};

static void h_certs(struct httpd_req *req, void *data)
{
    struct fx *f = data;

    f->hits++;
    if (f->cache_control != NULL)
        httpd_req_add_header(req, "Cache-Control", f->cache_control);
    httpd_respond(req, f->status, "application/json", f->jwks, strlen(f->jwks));
}

/* {"keys": [public JWKs...]} */
static char *jwks_of(cjose_jwk_t *const *keys, size_t n)
{
    json_t *arr = json_array(), *o;
    cjose_err cerr;
    char *s;
    size_t i;

    for (i = 0; i < n; i++) {
        char *pub = cjose_jwk_to_json(keys[i], false, &cerr);
        json_t *k = json_loads(pub, 0, NULL);
        json_object_set_new(k, "use", json_string("sig"));
        json_object_set_new(k, "alg", json_string("RS256"));
        json_array_append_new(arr, k);
        free(pub);
    }
    o = json_pack("{s:o}", "keys", arr);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void set_jwks(struct fx *f, cjose_jwk_t *const *keys, size_t n)
{
    free(f->jwks);
    f->jwks = jwks_of(keys, n);
}

static cjose_jwk_t *new_key(const char *kid)
{
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &cerr);

    assert_non_null(k);
    assert_true(cjose_jwk_set_kid(k, kid, strlen(kid), &cerr));
    return k;
}

static int group_setup(void **state)
{
    (void)state;
    g_key_a = new_key("key-a");
    g_key_b = new_key("key-b");
    g_key_c = new_key("key-a"); /* same kid as a, another key */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cjose_jwk_release(g_key_a);
    cjose_jwk_release(g_key_b);
    cjose_jwk_release(g_key_c);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    struct oidc_config cfg = {0};
    char *url;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(gcp_http_new(&f->loop, NULL, &f->http), 0);
    f->srv = httpd_new(&f->loop, NULL);
    httpd_route(f->srv, "GET", "/oauth2/v3/certs", h_certs, f);
    assert_int_equal(httpd_listen(f->srv, "127.0.0.1:0"), 0);
    clock_fake_init(&f->clock, 1000000, T0);
    f->status = 200;
    f->cache_control = "public, max-age=3600, must-revalidate, no-transform";
    set_jwks(f, &g_key_a, 1);
    url = xasprintf("http://127.0.0.1:%d/oauth2/v3/certs", httpd_port(f->srv));
    cfg.jwks_url = url;
    cfg.audience = AUD;
    cfg.service_account = SA;
    cfg.clock = &f->clock.base;
    assert_int_equal(oidc_new(f->http, &cfg, &f->o), 0);
    free(url);
    *state = f;
    return 0;
}

static int count_closed;

static void on_http_closed(struct gcp_http *h, void *data)
{
    (void)h;
    (void)data;
    count_closed++;
}

static void on_srv_closed(struct httpd *h, void *data)
{
    (void)h;
    (void)data;
    count_closed++;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    count_closed = 0;
    oidc_free(f->o);
    gcp_http_close(f->http, on_http_closed, NULL);
    httpd_close(f->srv, on_srv_closed, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(count_closed, 2);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f->jwks);
    free(f);
    return 0;
}

/* ---- tokens ---- */

static char *sign_with(cjose_jwk_t *key, const char *kid, const char *alg, json_t *claims)
{
    cjose_err cerr;
    cjose_header_t *hdr = cjose_header_new(&cerr);
    char *payload = json_dumps(claims, JSON_COMPACT);
    cjose_jws_t *jws;
    const char *compact;
    char *out;

    cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &cerr);
    if (kid != NULL)
        cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr);
    cjose_header_set(hdr, "typ", "JWT", &cerr);
    jws = cjose_jws_sign(key, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    assert_non_null(jws);
    assert_true(cjose_jws_export(jws, &compact, &cerr));
    out = xasprintf("Bearer %s", compact);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    json_decref(claims);
    return out;
}

/* Google's claims at time t, with overrides merged in (JSON null deletes). */
static json_t *claims_at(int64_t t, const char *overrides)
{
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:I,s:s}", "aud", AUD, "azp", "1234567890", "email", SA,
                  "email_verified", 1, "sub", "1234567890", "iat", (json_int_t)t, "exp",
                  (json_int_t)(t + 3600), "iss", "https://accounts.google.com");
    json_t *o, *v;
    const char *k;

    if (overrides != NULL) {
        o = json_loads(overrides, 0, NULL);
        assert_non_null(o);
        json_object_foreach (o, k, v) {
            if (json_is_null(v))
                json_object_del(c, k);
            else
                json_object_set(c, k, v);
        }
        json_decref(o);
    }
    return c;
}

static char *token(cjose_jwk_t *key, const char *overrides)
{
    const char *kid = cjose_jwk_get_kid(key, NULL);

    return sign_with(key, kid, CJOSE_HDR_ALG_RS256, claims_at(T0, overrides));
}

/* A token with a hand-made header and signature part. */
static char *forge(const char *header_json, const char *sig)
{
    json_t *c = claims_at(T0, NULL);
    char *payload = json_dumps(c, JSON_COMPACT);
    char *h64 = b64_encode(header_json, strlen(header_json), B64_URL, 0);
    char *p64 = b64_encode(payload, strlen(payload), B64_URL, 0);
    char *out = xasprintf("Bearer %s.%s.%s", h64, p64, sig);

    free(h64);
    free(p64);
    free(payload);
    json_decref(c);
    return out;
}

/* HS256 over header.payload keyed with the RSA public key's n: the classic
 * algorithm-confusion forgery. */
static char *forge_hs256(void)
{
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"key-a\",\"typ\":\"JWT\"}";
    json_t *c = claims_at(T0, NULL);
    char *payload = json_dumps(c, JSON_COMPACT), *pub;
    char *h64 = b64_encode(hdr, strlen(hdr), B64_URL, 0);
    char *p64 = b64_encode(payload, strlen(payload), B64_URL, 0);
    char *input = xasprintf("%s.%s", h64, p64), *s64, *out;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    cjose_err cerr;

    pub = cjose_jwk_to_json(g_key_a, false, &cerr);
    HMAC(EVP_sha256(), pub, (int)strlen(pub), (const unsigned char *)input, strlen(input), mac,
         &maclen);
    s64 = b64_encode(mac, maclen, B64_URL, 0);
    out = xasprintf("Bearer %s.%s", input, s64);
    free(pub);
    free(h64);
    free(p64);
    free(input);
    free(s64);
    free(payload);
    json_decref(c);
    return out;
}

/* ---- running a verification ---- */

static void on_verified(void *data, int result, const char *why)
{
    struct fx *f = data;

    f->done++;
    f->result = result;
    snprintf(f->why, sizeof(f->why), "%s", why);
}

static int verify(struct fx *f, const char *header)
{
    uint64_t start = uv_hrtime();

    f->done = 0;
    assert_int_equal(oidc_verify(f->o, header, on_verified, f), 0);
    while (f->done == 0) {
        uv_run(&f->loop, UV_RUN_ONCE);
        assert_true(uv_hrtime() - start < 20000000000ull);
    }
    assert_int_equal(f->done, 1);
    return f->result;
}

static int verify_free(struct fx *f, char *header)
{
    int rc = verify(f, header);

    free(header);
    return rc;
}

/* ---- cases ---- */

static void test_valid(void **state)
{
    struct fx *f = *state;
    struct oidc_stats st;

    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_string_equal(f->why, "ok");
    assert_int_equal(f->hits, 1);
    /* Cached: no second fetch, and an answer before oidc_verify returns. */
    assert_int_equal(verify_free(f, token(g_key_a, "{\"iss\":\"accounts.google.com\"}")), 0);
    assert_int_equal(verify_free(f, token(g_key_a, "{\"aud\":[\"other\",\"" AUD "\"]}")), 0);
    assert_int_equal(
        verify_free(f, token(g_key_a, "{\"email\":\"PUSH@p1.iam.gserviceaccount.com\"}")), 0);
    assert_int_equal(verify_free(f, token(g_key_a, "{\"email_verified\":\"true\"}")), 0);
    assert_int_equal(f->hits, 1);
    oidc_stats(f->o, &st);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.accepted, 5);
    assert_int_equal(st.keys, 1);
}

static const struct claim_row {
    const char *overrides;
    int rc;
} claim_rows[] = {
    {"{\"aud\":\"https://other.example/pubsub\"}", ERR_PERM},
    {"{\"aud\":[\"a\",\"b\"]}", ERR_PERM},
    {"{\"aud\":null}", ERR_PERM},
    {"{\"aud\":\"" AUD "/\"}", ERR_PERM},
    {"{\"iss\":\"https://evil.example\"}", ERR_PERM},
    {"{\"iss\":\"http://accounts.google.com\"}", ERR_PERM},
    {"{\"iss\":null}", ERR_PERM},
    {"{\"email\":\"other@p1.iam.gserviceaccount.com\"}", ERR_PERM},
    {"{\"email\":null}", ERR_PERM},
    {"{\"email_verified\":false}", ERR_PERM},
    {"{\"email_verified\":null}", ERR_PERM},
    {"{\"email_verified\":\"yes\"}", ERR_PERM},
    {"{\"exp\":1799999879}", ERR_AUTH}, /* T0 - 121: past the skew */
    {"{\"exp\":1799999940}", ERR_AUTH}, /* T0 - 60: exactly the skew */
    {"{\"exp\":1799999970}", 0},        /* T0 - 30: within the skew */
    {"{\"exp\":null}", ERR_AUTH},
    {"{\"exp\":\"1800003600\"}", ERR_AUTH}, /* a string is not a NumericDate */
    {"{\"exp\":1e300}", ERR_AUTH},
    {"{\"iat\":1800000120}", ERR_AUTH}, /* T0 + 120: issued in the future */
    {"{\"iat\":1800000050}", 0},        /* T0 + 50: within the skew */
    {"{\"iat\":null}", ERR_AUTH},
    {"{\"nbf\":1800000500}", ERR_AUTH},
    {"{\"nbf\":1799999000}", 0},
};

static void test_claims(void **state)
{
    struct fx *f = *state;
    size_t i;

    for (i = 0; i < sizeof(claim_rows) / sizeof(claim_rows[0]); i++) {
        print_message("claims %s\n", claim_rows[i].overrides);
        assert_int_equal(verify_free(f, token(g_key_a, claim_rows[i].overrides)), claim_rows[i].rc);
    }
    assert_int_equal(f->hits, 1);
}

static void test_expiry_moves_with_clock(void **state)
{
    struct fx *f = *state;
    char *t = token(g_key_a, NULL);

    assert_int_equal(verify(f, t), 0);
    clock_fake_advance(&f->clock, 3600u * 1000u + 59u * 1000u); /* exp + 59 s */
    assert_int_equal(verify(f, t), 0);
    clock_fake_advance(&f->clock, 2000u);
    assert_int_equal(verify(f, t), ERR_AUTH);
    assert_string_equal(f->why, "token expired");
    free(t);
}

static void test_bad_tokens(void **state)
{
    struct fx *f = *state;
    char *t;

    assert_int_equal(verify(f, NULL), ERR_AUTH);
    assert_int_equal(verify(f, ""), ERR_AUTH);
    assert_int_equal(verify(f, "Bearer"), ERR_AUTH);
    assert_int_equal(verify(f, "Bearer "), ERR_AUTH);
    assert_int_equal(verify(f, "Basic dXNlcjpwYXNz"), ERR_AUTH);
    assert_int_equal(verify(f, "Bearer not.a.jwt"), ERR_AUTH);
    assert_int_equal(verify(f, "Bearer a.b"), ERR_AUTH);
    assert_int_equal(verify(f, "Bearer ...."), ERR_AUTH);
    /* alg none, with and without a signature part. */
    assert_int_equal(verify_free(f, forge("{\"alg\":\"none\",\"kid\":\"key-a\"}", "")), ERR_AUTH);
    assert_string_equal(f->why, "token not signed with RS256");
    assert_int_equal(verify_free(f, forge("{\"alg\":\"none\",\"kid\":\"key-a\"}", "AAAA")),
                     ERR_AUTH);
    assert_int_equal(verify_free(f, forge("{\"alg\":\"RS256\"}", "AAAA")), ERR_AUTH);
    assert_string_equal(f->why, "token without a key id");
    assert_int_equal(verify_free(f, forge("{\"alg\":\"RS256\",\"kid\":\"key-a\"}", "AAAA")),
                     ERR_AUTH);
    assert_string_equal(f->why, "bad token signature");
    assert_int_equal(
        verify_free(f, forge("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"key-a\"}", "AAAA")),
        ERR_AUTH);
    assert_int_equal(verify_free(f, forge_hs256()), ERR_AUTH);
    assert_string_equal(f->why, "token not signed with RS256");
    /* A valid token with its signature cut or one payload byte changed. */
    t = token(g_key_a, NULL);
    t[strlen(t) - 5] = '\0';
    assert_int_equal(verify_free(f, t), ERR_AUTH);
    t = token(g_key_a, NULL);
    {
        char *dot = strchr(t, '.');
        dot[3] = dot[3] == 'A' ? 'B' : 'A';
    }
    assert_int_equal(verify_free(f, t), ERR_AUTH);
    /* Lower-case scheme and extra spaces are fine. */
    t = token(g_key_a, NULL);
    memcpy(t, "bearer", 6);
    assert_int_equal(verify_free(f, t), 0);
}

/* Signed by another key under a known kid: 401, and no refetch since the
 * kid is known and the cache fresh. */
static void test_wrong_signer(void **state)
{
    struct fx *f = *state;

    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(verify_free(f, token(g_key_c, NULL)), ERR_AUTH);
    assert_string_equal(f->why, "bad token signature");
    assert_int_equal(f->hits, 1);
}

/* An unknown kid refetches once; another within the interval does not;
 * after the interval it may again; a rotated-in key then works. */
static void test_unknown_kid(void **state)
{
    struct fx *f = *state;

    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    clock_fake_advance(&f->clock, 30000);
    assert_int_equal(verify_free(f, token(g_key_b, NULL)), ERR_AUTH);
    assert_string_equal(f->why, "token signed with an unknown key");
    assert_int_equal(f->hits, 2);
    assert_int_equal(verify_free(f, token(g_key_b, NULL)), ERR_AUTH);
    assert_int_equal(f->hits, 2);
    clock_fake_advance(&f->clock, 29000);
    assert_int_equal(verify_free(f, token(g_key_b, NULL)), ERR_AUTH);
    assert_int_equal(f->hits, 2);
    /* Google rotates b in. */
    {
        cjose_jwk_t *both[] = {g_key_a, g_key_b};
        set_jwks(f, both, 2);
    }
    clock_fake_advance(&f->clock, 1000);
    assert_int_equal(verify_free(f, token(g_key_b, NULL)), 0);
    assert_int_equal(f->hits, 3);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(f->hits, 3);
}

/* max-age is honoured, clamped below by the refetch interval. */
static void test_cache_control(void **state)
{
    struct fx *f = *state;

    f->cache_control = "max-age=120";
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    clock_fake_advance(&f->clock, 119000);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(f->hits, 1);
    clock_fake_advance(&f->clock, 1000);
    f->cache_control = "no-cache";
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(f->hits, 2);
    /* no-cache: fresh for the refetch interval (30 s) only. */
    clock_fake_advance(&f->clock, 29000);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(f->hits, 2);
    clock_fake_advance(&f->clock, 1000);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    assert_int_equal(f->hits, 3);
}

/* No keys and the key server failing: ERR_TRANSIENT (the push is
 * redelivered); once keys are known a failed refresh keeps them. */
static void test_key_server_down(void **state)
{
    struct fx *f = *state;
    struct oidc_stats st;

    f->status = 404;
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), ERR_TRANSIENT);
    /* Within the interval: no new fetch, same answer. */
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), ERR_TRANSIENT);
    assert_int_equal(f->hits, 1);
    f->status = 200;
    clock_fake_advance(&f->clock, 30000);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), 0);
    free(f->jwks);
    f->jwks = xstrdup("{\"keys\": not json");
    clock_fake_advance(&f->clock, 3700u * 1000u);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), ERR_AUTH);
    assert_string_equal(f->why, "token expired");
    /* A current token still verifies with the stale key. */
    {
        int64_t now = clock_wall_s(&f->clock.base);
        char *t = sign_with(g_key_a, "key-a", CJOSE_HDR_ALG_RS256, claims_at(now, NULL));
        assert_int_equal(verify_free(f, t), 0);
    }
    assert_int_equal(f->hits, 3);
    oidc_stats(f->o, &st);
    assert_int_equal(st.fetch_failures, 2);
    assert_int_equal(st.keys, 1);
}

/* Keys that must be skipped: not RSA, not for signing, another alg, a
 * private key, no kid. */
static void test_jwks_filter(void **state)
{
    struct fx *f = *state;
    cjose_err cerr;
    char *pub = cjose_jwk_to_json(g_key_a, false, &cerr);
    char *priv = cjose_jwk_to_json(g_key_b, true, &cerr);
    json_t *a = json_loads(pub, 0, NULL), *keys = json_array(), *k;

    k = json_deep_copy(a);
    json_object_set_new(k, "use", json_string("enc"));
    json_array_append_new(keys, k);
    k = json_deep_copy(a);
    json_object_set_new(k, "alg", json_string("RS512"));
    json_array_append_new(keys, k);
    k = json_deep_copy(a);
    json_object_del(k, "kid");
    json_array_append_new(keys, k);
    json_array_append_new(keys, json_loads(priv, 0, NULL));
    json_array_append_new(
        keys, json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "key-a", "k", "c2VjcmV0"));
    json_array_append_new(keys, json_string("junk"));
    free(f->jwks);
    k = json_pack("{s:o}", "keys", keys);
    f->jwks = json_dumps(k, JSON_COMPACT);
    json_decref(k);
    assert_int_equal(verify_free(f, token(g_key_a, NULL)), ERR_AUTH);
    assert_int_equal(verify_free(f, token(g_key_b, NULL)), ERR_AUTH);
    json_decref(a);
    free(pub);
    free(priv);
}

static int g_cancelled;

static void on_cancelled(void *data, int result, const char *why)
{
    (void)data;
    (void)why;
    if (result == ERR_CANCELLED)
        g_cancelled++;
}

/* oidc_free while a verification waits for the key fetch. */
static void test_free_while_fetching(void **state)
{
    struct fx *f = *state;
    char *t = token(g_key_a, NULL);

    g_cancelled = 0;
    assert_int_equal(oidc_verify(f->o, t, on_cancelled, NULL), 0);
    assert_int_equal(g_cancelled, 0);
    oidc_free(f->o);
    assert_int_equal(g_cancelled, 1);
    /* The fetch still completes (or is cancelled by the client) later. */
    f->o = NULL;
    free(t);
}

static void test_config(void **state)
{
    struct oidc_config cfg = {0};
    struct oidc *o = NULL;

    (void)state;
    assert_int_equal(oidc_new(NULL, &cfg, &o), ERR_INVAL);
    cfg.audience = AUD;
    assert_int_equal(oidc_new(NULL, &cfg, &o), ERR_INVAL);
    unsetenv("ROAM_OIDC_JWKS_URL");
    setenv("ROAM_PUSH_AUDIENCE", AUD, 1);
    unsetenv("ROAM_PUSH_SERVICE_ACCOUNT");
    assert_int_equal(oidc_config_from_env(&cfg), ERR_INVAL);
    setenv("ROAM_PUSH_SERVICE_ACCOUNT", SA, 1);
    assert_int_equal(oidc_config_from_env(&cfg), 0);
    assert_null(cfg.jwks_url);
    assert_string_equal(cfg.audience, AUD);
    assert_string_equal(cfg.service_account, SA);
    assert_int_equal(oidc_new(NULL, &cfg, &o), 0);
    oidc_free(o);
    unsetenv("ROAM_PUSH_AUDIENCE");
    unsetenv("ROAM_PUSH_SERVICE_ACCOUNT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_moves_with_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_signer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_server_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_fetching, setup, teardown),
        cmocka_unit_test(test_config),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
