/*
 * test_auth.c - controller/gcp/auth and oauth: Application Default
 * Credentials in their order (key file, authorized user, gcloud ADC file,
 * metadata server), the signed JWT (checked with the public key), token
 * caching and refresh ahead of expiry on a fake clock, single-flight
 * refreshes, and the messages when nothing works.
 *
 * Token endpoints and the metadata server are the local emulator; two tests
 * use a small server on the test's own loop instead: one to capture the
 * exact assertion sent, one that answers without Metadata-Flavor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "api/common/buf.h"
#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/http.h"
#include "controller/gcp/oauth.h"
#include "controller/runtime/clock.h"
#include "test/support/emu.h"
#include "test/support/gfx.h"

#define SVC "/v2/projects/p/locations/europe-west1/services/api"
#define SA_EMAIL "roam@p.iam.gserviceaccount.com"
#define GRANT_PREFIX "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="

static struct emu emu;
static EVP_PKEY *rsa_key;
static char *rsa_pem; /* PKCS#8 */

static const struct backoff_policy fast_retry = {5, 20, 3, 2000};

/* -- helpers ------------------------------------------------------------------ */

static char *pem_of(EVP_PKEY *k, bool traditional)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    assert_non_null(b);
    if (traditional)
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(b, &p);
    p = xstrndup(p, (size_t)n);
    BIO_free(b);
    return p;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* base64url (no padding) of s[0..n) -> bytes; fails the test on bad input. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *ret_len)
{
    unsigned char *out = xmalloc(n * 3 / 4 + 3);
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);

        if (v < 0)
            fail_msg("not base64url: '%c'", s[i]);
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *ret_len = o;
    return out;
}

static json_t *b64url_json(const char *s, size_t n)
{
    size_t len;
    unsigned char *raw = b64url_decode(s, n, &len);
    json_t *j = json_loadb((const char *)raw, len, 0, NULL);

    free(raw);
    assert_non_null(j);
    return j;
}

/* Checks a JWT signed with rsa_key; returns its claims (json_decref them). */
static json_t *check_jwt(const char *jwt, const char *want_kid)
{
    const char *dot1 = strchr(jwt, '.'), *dot2;
    json_t *h, *claims;
    unsigned char *sig;
    size_t siglen;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    assert_non_null(dot1);
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(jwt, '=')); /* no padding */
    h = b64url_json(jwt, (size_t)(dot1 - jwt));
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    if (want_kid != NULL)
        assert_string_equal(json_string_value(json_object_get(h, "kid")), want_kid);
    else
        assert_null(json_object_get(h, "kid"));
    json_decref(h);
    claims = b64url_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    assert_int_equal(siglen, 256);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, rsa_key), 1);
    assert_int_equal(
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    EVP_MD_CTX_free(ctx);
    free(sig);
    return claims;
}

static char *sa_key_json(const char *token_uri, const char *pem)
{
    json_t *o = json_object();
    char *s;

    json_object_set_new(o, "type", json_string("service_account"));
    json_object_set_new(o, "project_id", json_string("p"));
    json_object_set_new(o, "private_key_id", json_string("kid-123"));
    json_object_set_new(o, "private_key", json_string(pem));
    json_object_set_new(o, "client_email", json_string(SA_EMAIL));
    json_object_set_new(o, "client_id", json_string("1234567890"));
    json_object_set_new(o, "token_uri", json_string(token_uri));
    s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    return s;
}

static const char user_json[] = "{\"type\":\"authorized_user\",\"client_id\":\"cid\","
                                "\"client_secret\":\"csecret-value\",\"refresh_token\":"
                                "\"rt-secret-value\",\"quota_project_id\":\"billing-proj\"}";

/* Each test sets its own credential environment. */
static void clear_env(void)
{
    char *empty = emu_path(&emu, "empty");

    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("ROAM_TOKEN_ENDPOINT");
    unsetenv("GCE_METADATA_HOST");
    unsetenv("GCE_METADATA_ROOT");
    setenv("CLOUDSDK_CONFIG", empty, 1);
    free(empty);
}

static void use_file(const char *name, const char *text)
{
    char *path = emu_write_file(&emu, name, text);
    char *tok = emu_url(&emu, "/token");

    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    setenv("ROAM_TOKEN_ENDPOINT", tok, 1);
    free(path);
    free(tok);
}

static int group_setup(void **state)
{
    char *dir;

    (void)state;
    if (emu_start(&emu, "{\"services\":[{\"name\":\"projects/p/locations/europe-west1/"
                        "services/api\"}],\"metadata\":{\"email\":\"md@p.iam."
                        "gserviceaccount.com\",\"project_id\":\"p\"}}") != 0)
        return -1;
    dir = emu_path(&emu, "empty");
    mkdir(dir, 0700);
    free(dir);
    rsa_key = EVP_RSA_gen(2048);
    if (rsa_key == NULL)
        return -1;
    rsa_pem = pem_of(rsa_key, false);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    emu_stop(&emu);
    EVP_PKEY_free(rsa_key);
    free(rsa_pem);
    clear_env();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    clear_env();
    if (emu_call(&emu, "POST", "/_emulator/config", "{\"refresh_tokens\":null}", NULL) != 200)
        return -1;
    return emu_reset(&emu);
}

static void open_fx(struct gfx *f, const struct gcp_auth_config *acfg)
{
    struct gcp_http_config cfg = {0};
    char *msg = NULL;

    cfg.retry = fast_retry;
    if (gfx_open(f, &cfg, true, acfg, &msg) != 0)
        fail_msg("gfx_open: %s", msg != NULL ? msg : "?");
}

static void get_svc(struct gfx *f, struct gfx_result *r)
{
    char *url = emu_url(&emu, SVC);

    assert_int_equal(gfx_request(f, "run", "GET", url, GCP_REQ_IDEMPOTENT, r), 0);
    free(url);
}

/* One GET of the service; returns its error. */
static int one_get(struct gfx *f, char **ret_errmsg)
{
    struct gfx_result r = {0};

    get_svc(f, &r);
    gfx_run(f);
    assert_int_equal(r.calls, 1);
    if (ret_errmsg != NULL)
        *ret_errmsg = r.errmsg != NULL ? xstrdup(r.errmsg) : NULL;
    gfx_result_release(&r);
    return r.err;
}

/* The n-th log entry whose path ends with suffix (borrowed from log). */
static json_t *log_entry(json_t *log, const char *suffix, size_t nth)
{
    size_t i;
    json_t *e;

    json_array_foreach (log, i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        size_t pl = strlen(p), sl = strlen(suffix);

        if (pl >= sl && strcmp(p + pl - sl, suffix) == 0 && nth-- == 0)
            return e;
    }
    fail_msg("no log entry for %s", suffix);
    return NULL;
}

/* Case-insensitive strstr. */
static const char *ci_find(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* -- a tiny HTTP server on the test loop ----------------------------------------- */

struct fake {
    uv_tcp_t tcp;
    int port;
    char *reply;     /* the whole response */
    struct buf last; /* the last request, headers and body */
    int hits;
};

struct fake_conn {
    uv_tcp_t tcp;
    struct fake *srv;
    struct buf in;
    uv_write_t w;
    bool replied;
};

static void fake_conn_closed(uv_handle_t *h)
{
    struct fake_conn *c = h->data;

    buf_release(&c->in);
    free(c);
}

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = xmalloc(suggested);
    b->len = suggested;
}

static void fake_written(uv_write_t *w, int status)
{
    struct fake_conn *c = w->data;

    (void)status;
    uv_close((uv_handle_t *)&c->tcp, fake_conn_closed);
}

/* Whether in holds a whole request (headers + Content-Length body). */
static bool request_complete(const struct buf *in)
{
    const char *s = buf_str(in), *end = strstr(s, "\r\n\r\n"), *cl;
    long long len = 0;

    if (end == NULL)
        return false;
    cl = ci_find(s, "\r\ncontent-length:");
    if (cl != NULL && cl < end)
        len = strtoll(cl + 17, NULL, 10);
    return (long long)(in->len - (size_t)(end + 4 - s)) >= len;
}

static void fake_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct fake_conn *c = st->data;

    if (n > 0)
        assert_int_equal(buf_append(&c->in, b->base, (size_t)n), 0);
    free(b->base);
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)st))
            uv_close((uv_handle_t *)st, fake_conn_closed);
        return;
    }
    if (!c->replied && request_complete(&c->in)) {
        uv_buf_t out =
            uv_buf_init((char *)(uintptr_t)c->srv->reply, (unsigned)strlen(c->srv->reply));

        c->replied = true;
        c->srv->hits++;
        buf_reset(&c->srv->last);
        assert_int_equal(buf_append(&c->srv->last, c->in.p, c->in.len), 0);
        uv_read_stop(st);
        c->w.data = c;
        uv_write(&c->w, st, &out, 1, fake_written);
    }
}

static void fake_accept(uv_stream_t *server, int status)
{
    struct fake_conn *c;

    assert_int_equal(status, 0);
    c = xcalloc(1, sizeof(*c));
    c->srv = server->data;
    buf_init(&c->in, 1024 * 1024);
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_read);
}

/* Answers every request with 200, the given extra header lines and body. */
static void fake_start(struct fake *f, uv_loop_t *loop, const char *headers, const char *body)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got);

    memset(f, 0, sizeof(*f));
    f->reply = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%s"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         headers, strlen(body), body);
    buf_init(&f->last, 1024 * 1024);
    uv_tcp_init(loop, &f->tcp);
    f->tcp.data = f;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&f->tcp, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f->tcp, 16, fake_accept), 0);
    uv_tcp_getsockname(&f->tcp, (struct sockaddr *)&got, &len);
    f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_unref((uv_handle_t *)&f->tcp);
}

static void fake_stop(struct fake *f)
{
    uv_close((uv_handle_t *)&f->tcp, NULL);
}

/* Frees what fake_start allocated, after the loop ran the close. */
static void fake_release(struct fake *f)
{
    buf_release(&f->last);
    free(f->reply);
}

/* -- refresh callbacks -------------------------------------------------------- */

struct refresh_probe {
    int order[4];
    int errs[4];
    int n;
    bool in_call; /* set while gcp_auth_refresh runs: no callback then */
};

struct refresh_slot {
    struct refresh_probe *p;
    int id;
};

static void on_refreshed(struct gcp_auth *a, int err, void *data)
{
    struct refresh_slot *s = data;

    (void)a;
    assert_false(s->p->in_call);
    assert_true(s->p->n < 4);
    s->p->errs[s->p->n] = err;
    s->p->order[s->p->n++] = s->id;
}

static int refresh(struct gcp_auth *a, struct refresh_slot *slot)
{
    int err;

    slot->p->in_call = true;
    err = gcp_auth_refresh(a, on_refreshed, slot);
    slot->p->in_call = false;
    return err;
}

/* -- pure pieces ---------------------------------------------------------------- */

static void test_b64url(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } rows[] = {
        {"", 0, ""},
        {"f", 1, "Zg"},
        {"fo", 2, "Zm8"},
        {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"},
        {"\xfb\xff", 2, "-_8"},
        {"\x00\x00\x00", 3, "AAAA"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *s = gcp_oauth_b64url(rows[i].in, rows[i].n);

        assert_string_equal(s, rows[i].want);
        free(s);
    }
}

static void test_form_encode(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(gcp_oauth_form_add(&b, "grant_type", "refresh_token"), 0);
    assert_int_equal(gcp_oauth_form_add(&b, "v", "a b&c=d/\xc3\xa9~._-+%"), 0);
    assert_int_equal(gcp_oauth_form_add(&b, "e", ""), 0);
    assert_string_equal(buf_str(&b),
                        "grant_type=refresh_token&v=a%20b%26c%3Dd%2F%C3%A9~._-%2B%25&e=");
    buf_release(&b);
    buf_init(&b, 8);
    assert_int_equal(gcp_oauth_form_add(&b, "name", "longer value"), ERR_LIMIT);
    buf_release(&b);
}

static void test_parse_token(void **state)
{
    static const struct {
        const char *body;
        int ret;
        const char *token;
        long long expires;
    } rows[] = {
        {"{\"access_token\":\"ya29.a\",\"expires_in\":3599,\"token_type\":\"Bearer\"}", 0, "ya29.a",
         3599},
        {"{\"access_token\":\"ya29.b\",\"expires_in\":\"3599\",\"token_type\":\"Bearer\"}", 0,
         "ya29.b", 3599},
        {"{\"access_token\":\"ya29.c\",\"token_type\":\"bearer\",\"id_token\":\"x\"}", 0, "ya29.c",
         3600},
        {"{\"access_token\":\"ya29.d\",\"expires_in\":1}", 0, "ya29.d", 1},
        {"{\"access_token\":\"ya29.e\",\"token_type\":\"mac\"}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"ya29 f\"}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"ya29\\r\\nX-Evil: 1\"}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"\"}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":7}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"expires_in\":0}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"expires_in\":-5}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"expires_in\":\"12x\"}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"expires_in\":1e3}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"expires_in\":99999999}", ERR_PARSE, NULL, 0},
        {"{\"access_token\":\"t\",\"token_type\":null}", ERR_PARSE, NULL, 0},
        {"[\"access_token\"]", ERR_PARSE, NULL, 0},
        {"not json", ERR_PARSE, NULL, 0},
        {"", ERR_PARSE, NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *tok = NULL;
        long long exp = -1;
        const char *why = NULL;
        int r = gcp_oauth_parse_token(rows[i].body, strlen(rows[i].body), &tok, &exp, &why);

        if (r != rows[i].ret)
            fail_msg("row %zu: %d", i, r);
        if (r == 0) {
            assert_string_equal(tok, rows[i].token);
            assert_int_equal(exp, rows[i].expires);
            gcp_oauth_free_secret(tok);
        } else {
            assert_null(tok);
            assert_non_null(why);
            /* The explanation never quotes the response. */
            assert_null(strstr(why, "ya29"));
        }
    }
}

static void test_jwt(void **state)
{
    struct gcp_jwt_claims c = {"kid-1",    SA_EMAIL, GCP_OAUTH_SCOPE, GCP_OAUTH_TOKEN_URL,
                               1700000000, 3600};
    char *jwt, *again;
    json_t *claims;

    (void)state;
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &jwt), 0);
    claims = check_jwt(jwt, "kid-1");
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), SA_EMAIL);
    assert_string_equal(json_string_value(json_object_get(claims, "scope")),
                        "https://www.googleapis.com/auth/cloud-platform");
    assert_string_equal(json_string_value(json_object_get(claims, "aud")),
                        "https://oauth2.googleapis.com/token");
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 1700003600);
    assert_int_equal(json_object_size(claims), 5);
    json_decref(claims);
    /* RSASSA-PKCS1-v1_5 is deterministic: same input, same bytes. */
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &again), 0);
    assert_string_equal(jwt, again);
    gcp_oauth_free_secret(again);
    gcp_oauth_free_secret(jwt);

    c.kid = NULL;
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &jwt), 0);
    json_decref(check_jwt(jwt, NULL));
    gcp_oauth_free_secret(jwt);

    c.lifetime = 3601;
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &jwt), ERR_INVAL);
    c.lifetime = 0;
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &jwt), ERR_INVAL);
    c.lifetime = 3600;
    c.iss = NULL;
    assert_int_equal(gcp_oauth_jwt(rsa_key, &c, &jwt), ERR_INVAL);
}

static void test_load_key(void **state)
{
    EVP_PKEY *k = NULL, *ec;
    char *trad, *ecpem;
    static const char junk[] =
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n";

    (void)state;
    assert_int_equal(gcp_oauth_load_key(rsa_pem, strlen(rsa_pem), &k), 0);
    assert_int_equal(EVP_PKEY_eq(k, rsa_key), 1);
    EVP_PKEY_free(k);
    trad = pem_of(rsa_key, true);
    assert_non_null(strstr(trad, "BEGIN RSA PRIVATE KEY"));
    assert_int_equal(gcp_oauth_load_key(trad, strlen(trad), &k), 0);
    EVP_PKEY_free(k);
    free(trad);
    ec = EVP_EC_gen("P-256");
    ecpem = pem_of(ec, false);
    assert_int_equal(gcp_oauth_load_key(ecpem, strlen(ecpem), &k), ERR_UNSUPPORTED);
    free(ecpem);
    EVP_PKEY_free(ec);
    assert_int_equal(gcp_oauth_load_key(junk, strlen(junk), &k), ERR_PARSE);
    assert_int_equal(gcp_oauth_load_key("", 0, &k), ERR_PARSE);
    assert_int_equal(gcp_oauth_load_key(rsa_pem, strlen(rsa_pem) / 2, &k), ERR_PARSE);
}

/* -- credential sources against the emulator ------------------------------------ */

static void test_service_account(void **state)
{
    char *tok = emu_url(&emu, "/token"), *key = sa_key_json(tok, rsa_pem), *path;
    char *want;
    struct gfx f;
    json_t *log, *body;

    (void)state;
    path = emu_write_file(&emu, "sa.json", key);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    open_fx(&f, NULL);
    assert_int_equal(gcp_auth_source(f.a), GCP_AUTH_SERVICE_ACCOUNT);
    want = xasprintf("service account '" SA_EMAIL "' from '%s'", path);
    assert_string_equal(gcp_auth_describe(f.a), want);
    assert_string_equal(gcp_auth_project_id(f.a), "p");
    assert_null(gcp_auth_quota_project(f.a));
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(gfx_close(&f), 0);
    /* The emulator checked the assertion (alg, aud, iat/exp, iss). */
    log = emu_log(&emu);
    body = json_object_get(log_entry(log, "/token", 0), "body");
    assert_string_equal(json_string_value(json_object_get(body, "grant_type")),
                        "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_string_equal(json_string_value(json_object_get(body, "assertion")), "<redacted>");
    assert_true(json_is_true(json_object_get(log_entry(log, SVC, 0), "auth_valid")));
    json_decref(log);
    free(want);
    free(path);
    free(key);
    free(tok);
}

/* The exact assertion auth sends, captured by our own server: signature,
 * header and claims, with iat from the injected clock. */
static void test_service_account_assertion(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct refresh_probe probe = {{0}, {0}, 0, false};
    struct refresh_slot slot = {&probe, 1};
    struct clock_fake clk;
    struct fake srv;
    struct gfx f;
    char *uri, *key, *path, *msg = NULL, *assertion;
    const char *body, *a;
    json_t *claims;
    (void)state;
    clock_fake_init(&clk, 1000, 1700000000);
    acfg.clock = &clk.base;
    acfg.retry = &fast_retry;
    assert_int_equal(gfx_open(&f, NULL, false, NULL, NULL), 0);
    fake_start(&srv, &f.loop, "", "{\"access_token\":\"tok-captured\",\"expires_in\":3600}");
    uri = xasprintf("http://127.0.0.1:%d/token", srv.port);
    key = sa_key_json(uri, rsa_pem);
    path = emu_write_file(&emu, "sa-capture.json", key);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    assert_int_equal(gcp_auth_new(f.h, &acfg, &f.a, &msg), 0);
    gcp_http_set_auth(f.h, f.a);
    assert_null(gcp_auth_token(f.a));
    assert_int_equal(refresh(f.a, &slot), 0);
    gfx_run(&f);
    assert_int_equal(probe.n, 1);
    assert_int_equal(probe.errs[0], 0);
    assert_int_equal(srv.hits, 1);
    assert_string_equal(gcp_auth_token(f.a), "tok-captured");
    body = buf_str(&srv.last);
    assert_non_null(strstr(body, "POST /token HTTP/1.1\r\n"));
    assert_non_null(ci_find(body, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_null(ci_find(body, "\r\nAuthorization:"));
    body = strstr(body, "\r\n\r\n") + 4;
    assert_true(strncmp(body, GRANT_PREFIX, strlen(GRANT_PREFIX)) == 0);
    a = body + strlen(GRANT_PREFIX);
    assertion = xstrndup(a, strcspn(a, "&"));
    claims = check_jwt(assertion, "kid-123");
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), SA_EMAIL);
    assert_string_equal(json_string_value(json_object_get(claims, "aud")),
                        "https://oauth2.googleapis.com/token");
    assert_string_equal(json_string_value(json_object_get(claims, "scope")), GCP_OAUTH_SCOPE);
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 1700003600);
    json_decref(claims);
    free(assertion);
    fake_stop(&srv);
    assert_int_equal(gfx_close(&f), 0);
    fake_release(&srv);
    free(path);
    free(key);
    free(uri);
}

static void test_authorized_user(void **state)
{
    struct gfx f;
    json_t *log, *e;

    (void)state;
    use_file("user.json", user_json);
    open_fx(&f, NULL);
    assert_int_equal(gcp_auth_source(f.a), GCP_AUTH_AUTHORIZED_USER);
    assert_string_equal(gcp_auth_quota_project(f.a), "billing-proj");
    assert_null(gcp_auth_project_id(f.a));
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(gfx_close(&f), 0);
    log = emu_log(&emu);
    e = json_object_get(log_entry(log, "/token", 0), "body");
    assert_string_equal(json_string_value(json_object_get(e, "grant_type")), "refresh_token");
    assert_string_equal(json_string_value(json_object_get(e, "client_id")), "cid");
    assert_string_equal(json_string_value(json_object_get(e, "refresh_token")), "<redacted>");
    e = json_object_get(log_entry(log, SVC, 0), "headers");
    assert_string_equal(json_string_value(json_object_get(e, "x-goog-user-project")),
                        "billing-proj");
    json_decref(log);
}

/* A revoked refresh token: a clear message without secrets, no API call. */
static void test_invalid_grant(void **state)
{
    struct gfx f;
    char *msg = NULL, *want;

    (void)state;
    use_file("user.json", user_json);
    assert_int_equal(
        emu_call(&emu, "POST", "/_emulator/config", "{\"refresh_tokens\":[\"another\"]}", NULL),
        200);
    open_fx(&f, NULL);
    assert_int_equal(one_get(&f, &msg), ERR_AUTH);
    want = xasprintf("cannot get access token from '%s/token': invalid grant (invalid_grant): "
                     "Token has been expired or revoked.",
                     emu.base);
    assert_string_equal(msg, want);
    assert_string_equal(gcp_auth_errmsg(f.a), want);
    assert_null(strstr(msg, "rt-secret-value"));
    assert_null(strstr(msg, "csecret-value"));
    assert_int_equal(gfx_close(&f), 0);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 1);
    assert_int_equal(emu_count(&emu, "GET", SVC), 0);
    free(want);
    free(msg);
}

/* No GOOGLE_APPLICATION_CREDENTIALS: the gcloud ADC file is next. */
static void test_gcloud_adc_file(void **state)
{
    struct gfx f;
    char *dir = emu_path(&emu, "gcloud"), *file, *want, *tok = emu_url(&emu, "/token");
    FILE *fp;

    (void)state;
    mkdir(dir, 0700);
    file = xasprintf("%s/application_default_credentials.json", dir);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fputs(user_json, fp);
    fclose(fp);
    setenv("CLOUDSDK_CONFIG", dir, 1);
    setenv("ROAM_TOKEN_ENDPOINT", tok, 1);
    open_fx(&f, NULL);
    want = xasprintf("authorized user from '%s'", file);
    assert_string_equal(gcp_auth_describe(f.a), want);
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(gfx_close(&f), 0);
    free(want);
    free(file);
    free(dir);
    free(tok);
}

/* Neither file: the metadata server, with Metadata-Flavor both ways. */
static void test_metadata(void **state)
{
    struct gfx f;
    char *host = xasprintf("127.0.0.1:%d", emu.port), *want;
    json_t *log, *e;

    (void)state;
    setenv("GCE_METADATA_HOST", host, 1);
    open_fx(&f, NULL);
    assert_int_equal(gcp_auth_source(f.a), GCP_AUTH_METADATA);
    want = xasprintf("metadata server at '%s'", host);
    assert_string_equal(gcp_auth_describe(f.a), want);
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(gfx_close(&f), 0);
    log = emu_log(&emu);
    e = log_entry(log, "/computeMetadata/v1/instance/service-accounts/default/token", 0);
    assert_string_equal(json_string_value(json_object_get(e, "method")), "GET");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "headers"), "metadata-flavor")),
        "Google");
    assert_true(json_is_false(json_object_get(json_object_get(e, "headers"), "authorization")));
    json_decref(log);
    assert_int_equal(emu_count(&emu, "GET", "/default/token"), 1);
    free(want);
    free(host);
}

/* A server at the metadata address that is not one. */
static void test_metadata_flavor_required(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct gfx f;
    struct fake srv;
    struct gfx_result r = {0};
    char *host, *want, *msg = NULL, *empty = emu_path(&emu, "empty");

    (void)state;
    acfg.retry = &fast_retry;
    assert_int_equal(gfx_open(&f, NULL, false, NULL, NULL), 0);
    fake_start(&srv, &f.loop, "", "{\"access_token\":\"fake\",\"expires_in\":3600}");
    host = xasprintf("127.0.0.1:%d", srv.port);
    setenv("GCE_METADATA_HOST", host, 1);
    assert_int_equal(gcp_auth_new(f.h, &acfg, &f.a, &msg), 0);
    gcp_http_set_auth(f.h, f.a);
    get_svc(&f, &r);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_AUTH);
    assert_int_equal(srv.hits, 1);
    assert_non_null(strstr(buf_str(&srv.last), "\r\nMetadata-Flavor: Google\r\n"));
    want = xasprintf("no credentials: GOOGLE_APPLICATION_CREDENTIALS not set, no gcloud ADC "
                     "file at '%s/application_default_credentials.json', metadata server at "
                     "'%s' answered without Metadata-Flavor: Google",
                     empty, host);
    assert_string_equal(r.errmsg, want);
    assert_null(gcp_auth_token(f.a));
    fake_stop(&srv);
    assert_int_equal(gfx_close(&f), 0);
    fake_release(&srv);
    gfx_result_release(&r);
    free(want);
    free(host);
    free(empty);
}

/* Nothing anywhere: the message names what was tried. */
static int closed_port(void)
{
    uv_loop_t loop;
    uv_tcp_t t;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got), port;

    uv_loop_init(&loop);
    uv_tcp_init(&loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&t, (const struct sockaddr *)&addr, 0);
    uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return port;
}

static void test_no_credentials(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct gfx f;
    char *host = xasprintf("127.0.0.1:%d", closed_port()), *msg = NULL, *want;
    char *empty = emu_path(&emu, "empty");

    (void)state;
    acfg.retry = &fast_retry;
    setenv("GCE_METADATA_HOST", host, 1);
    open_fx(&f, &acfg);
    assert_int_equal(one_get(&f, &msg), ERR_AUTH);
    want = xasprintf("no credentials: GOOGLE_APPLICATION_CREDENTIALS not set, no gcloud ADC "
                     "file at '%s/application_default_credentials.json', metadata server at "
                     "'%s' not reachable",
                     empty, host);
    assert_string_equal(msg, want);
    assert_int_equal(gcp_http_count(f.h, "metadata", "GET", 0), 3);
    assert_int_equal(gfx_close(&f), 0);
    free(want);
    free(msg);
    free(host);
    free(empty);
}

/* The metadata server answers, but with an error. */
static void test_metadata_error(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct gfx f;
    char *host = xasprintf("127.0.0.1:%d", emu.port), *msg = NULL, *want;

    (void)state;
    acfg.retry = &fast_retry;
    setenv("GCE_METADATA_HOST", host, 1);
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"path_regex\":\"^/computeMetadata/\"},"
                                     "\"action\":{\"status\":404}}"),
                     0);
    open_fx(&f, &acfg);
    assert_int_equal(one_get(&f, &msg), ERR_AUTH);
    want = xasprintf("cannot get access token from metadata server at '%s': not found "
                     "(NOT_FOUND): Injected fault (HTTP 404).",
                     host);
    assert_string_equal(msg, want);
    assert_int_equal(gfx_close(&f), 0);
    free(want);
    free(msg);
    free(host);
}

/* Files that are named or present but unusable stop gcp_auth_new. */
static void test_bad_files(void **state)
{
    static const struct {
        const char *text; /* NULL: the file does not exist */
        const char *want; /* after "'<path>'" */
    } rows[] = {
        {NULL, " from GOOGLE_APPLICATION_CREDENTIALS: No such file or directory"},
        {"not json", " is not a JSON object"},
        {"[]", " is not a JSON object"},
        {"{}", " has no 'type'"},
        {"{\"type\":\"external_account\"}",
         " has unsupported type 'external_account' (expected service_account or "
         "authorized_user)"},
        {"{\"type\":\"x\\u001b[2J\"}",
         " has unsupported type '?' (expected service_account or authorized_user)"},
        {"{\"type\":\"service_account\",\"client_email\":\"a@b\",\"token_uri\":\"http://t\"}",
         ": service_account key has no 'private_key'"},
        {"{\"type\":\"service_account\",\"client_email\":\"a@b\",\"token_uri\":\"http://t\","
         "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}",
         ": private_key is not a PEM private key"},
        {"{\"type\":\"service_account\",\"client_email\":\"a@b\",\"token_uri\":\"ftp://t\","
         "\"private_key\":\"x\"}",
         ": token_uri is not an http(s) URL"},
        {"{\"type\":\"authorized_user\",\"client_id\":\"c\",\"client_secret\":\"s\"}",
         ": authorized_user file has no 'refresh_token'"},
        {"{\"type\":\"authorized_user\",\"client_id\":\"c\",\"client_secret\":\"s\","
         "\"refresh_token\":5}",
         ": authorized_user file has no 'refresh_token'"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gfx f;
        char *path, *msg = NULL, *want;

        if (rows[i].text != NULL)
            path = emu_write_file(&emu, "bad.json", rows[i].text);
        else
            path = emu_path(&emu, "missing.json");
        setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
        assert_int_equal(gfx_open(&f, NULL, true, NULL, &msg), -1);
        if (i == 0)
            want = xasprintf("cannot read credentials file '%s'%s", path, rows[i].want);
        else
            want = xasprintf("credentials file '%s'%s", path, rows[i].want);
        if (msg == NULL || strcmp(msg, want) != 0)
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, msg != NULL ? msg : "(null)", want);
        free(want);
        free(msg);
        free(path);
    }
    {
        struct gfx f;
        char *big = xmalloc(70001), *path, *msg = NULL, *want;

        memset(big, ' ', 70000);
        big[70000] = '\0';
        path = emu_write_file(&emu, "big.json", big);
        setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
        assert_int_equal(gfx_open(&f, NULL, true, NULL, &msg), -1);
        want = xasprintf("cannot read credentials file '%s' from GOOGLE_APPLICATION_CREDENTIALS: "
                         "larger than 65536 bytes",
                         path);
        assert_string_equal(msg, want);
        free(want);
        free(msg);
        free(path);
        free(big);
    }
    clear_env();
    setenv("GCE_METADATA_HOST", "evil/path?x", 1);
    {
        struct gfx f;
        char *msg = NULL;

        assert_int_equal(gfx_open(&f, NULL, true, NULL, &msg), -1);
        assert_string_equal(msg, "GCE_METADATA_HOST is not a host or host:port");
        free(msg);
    }
}

/* -- the cache ------------------------------------------------------------------ */

/* Fresh until less than 3 min 45 s remain, then refreshed before use. */
static void test_refresh_ahead(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct clock_fake clk;
    struct gfx f;
    unsigned gen;

    (void)state;
    clock_fake_init(&clk, 1000000, 1700000000);
    acfg.clock = &clk.base;
    use_file("user.json", user_json);
    open_fx(&f, &acfg);
    assert_int_equal(one_get(&f, NULL), 0);
    gen = gcp_auth_generation(f.a);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 1);
    clock_fake_advance(&clk, 3000 * 1000);
    assert_non_null(gcp_auth_token(f.a));
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 1);
    /* 3599 s token, 3373 s later: 226 s left, still fresh. */
    clock_fake_advance(&clk, 373 * 1000);
    assert_non_null(gcp_auth_token(f.a));
    /* 2 s later: 224 s left, below the margin. */
    clock_fake_advance(&clk, 2 * 1000);
    assert_null(gcp_auth_token(f.a));
    assert_int_equal(one_get(&f, NULL), 0);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 2);
    assert_true(gcp_auth_generation(f.a) != gen);
    assert_int_equal(gfx_close(&f), 0);
}

/* expires_in as a string, and a short token: fresh for half its life. */
static void test_short_string_lifetime(void **state)
{
    struct gcp_auth_config acfg = {0};
    struct refresh_probe probe = {{0}, {0}, 0, false};
    struct refresh_slot slot = {&probe, 1};
    struct clock_fake clk;
    struct gfx f;

    (void)state;
    clock_fake_init(&clk, 5000, 1700000000);
    acfg.clock = &clk.base;
    use_file("user.json", user_json);
    assert_int_equal(
        emu_fault(&emu, "{\"match\":{\"path_regex\":\"^/token$\"},\"action\":{\"status\":200,"
                        "\"body\":{\"access_token\":\"tok-string\",\"expires_in\":\"120\","
                        "\"token_type\":\"Bearer\"}}}"),
        0);
    open_fx(&f, &acfg);
    assert_int_equal(refresh(f.a, &slot), 0);
    gfx_run(&f);
    assert_int_equal(probe.n, 1);
    assert_int_equal(probe.errs[0], 0);
    assert_string_equal(gcp_auth_token(f.a), "tok-string");
    clock_fake_advance(&clk, 59 * 1000);
    assert_string_equal(gcp_auth_token(f.a), "tok-string");
    clock_fake_advance(&clk, 2 * 1000);
    assert_null(gcp_auth_token(f.a));
    assert_int_equal(gfx_close(&f), 0);
}

/* Refreshes asked for while one runs join it: one request, callbacks in
 * order, none from within gcp_auth_refresh. */
static void test_single_flight(void **state)
{
    struct gfx f;
    struct refresh_probe probe = {{0}, {0}, 0, false};
    struct refresh_slot slots[3] = {{&probe, 1}, {&probe, 2}, {&probe, 3}};
    unsigned gen;

    (void)state;
    use_file("user.json", user_json);
    open_fx(&f, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(refresh(f.a, &slots[i]), 0);
    assert_int_equal(probe.n, 0);
    gfx_run(&f);
    assert_int_equal(probe.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(probe.order[i], i + 1);
        assert_int_equal(probe.errs[i], 0);
    }
    assert_int_equal(emu_count(&emu, "POST", "/token"), 1);
    assert_non_null(gcp_auth_token(f.a));
    /* A 401 for an older token does not drop the current one. */
    gen = gcp_auth_generation(f.a);
    gcp_auth_invalidate(f.a, gen - 1);
    assert_non_null(gcp_auth_token(f.a));
    gcp_auth_invalidate(f.a, gen);
    assert_null(gcp_auth_token(f.a));
    assert_int_equal(gfx_close(&f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_form_encode),
        cmocka_unit_test(test_parse_token),
        cmocka_unit_test(test_jwt),
        cmocka_unit_test(test_load_key),
        cmocka_unit_test_setup(test_service_account, reset),
        cmocka_unit_test_setup(test_service_account_assertion, reset),
        cmocka_unit_test_setup(test_authorized_user, reset),
        cmocka_unit_test_setup(test_invalid_grant, reset),
        cmocka_unit_test_setup(test_gcloud_adc_file, reset),
        cmocka_unit_test_setup(test_metadata, reset),
        cmocka_unit_test_setup(test_metadata_flavor_required, reset),
        cmocka_unit_test_setup(test_no_credentials, reset),
        cmocka_unit_test_setup(test_metadata_error, reset),
        cmocka_unit_test_setup(test_bad_files, reset),
        cmocka_unit_test_setup(test_refresh_ahead, reset),
        cmocka_unit_test_setup(test_short_string_lifetime, reset),
        cmocka_unit_test_setup(test_single_flight, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
