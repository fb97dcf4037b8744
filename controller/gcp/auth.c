/*
 * auth.c - Application Default Credentials and the token cache (see
 * auth.h).
 *
 * The credential source is settled once, at construction, from the
 * environment and files; afterwards only the token changes.  A refresh is
 * one HTTP request through gcp_http (JWT grant, refresh-token grant or
 * metadata GET); the waiters registered meanwhile are called in order when
 * it ends.  Files are read whole into a capped buffer that is wiped after
 * parsing, and the secret members of the parsed JSON are wiped before
 * jansson frees them.
 */
#include "auth.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"
#include "controller/gcp/oauth.h"

#define REFRESH_AHEAD_MS 225000u /* 3 min 45 s, Google's libraries' threshold */
#define METADATA_DEFAULT_HOST "metadata.google.internal"
#define METADATA_TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define METADATA_CONNECT_TIMEOUT_MS 3000L
#define METADATA_TIMEOUT_MS 10000L
#define ADC_FILE "application_default_credentials.json"

struct waiter {
    struct waiter *next;
    gcp_auth_cb *cb;
    void *data;
};

struct gcp_auth {
    struct gcp_http *http;
    struct gcp_auth_config cfg;
    bool has_retry;
    struct backoff_policy retry;
    enum gcp_auth_source src;
    char *describe;
    char *token_uri;     /* service account, authorized user */
    char *project_id;    /* service account */
    char *quota_project; /* authorized user */
    /* service account */
    char *client_email;
    char *key_id;
    EVP_PKEY *key;
    /* authorized user (secrets) */
    char *client_id;
    char *client_secret;
    char *refresh_token;
    /* metadata server */
    char *md_host;
    char *md_url;
    char *tried; /* what was looked at before the metadata server */
    /* cache */
    char *token;
    uint64_t expiry_ms; /* monotonic */
    uint64_t lifetime_ms;
    unsigned generation;
    uint64_t fetch_start_ms;
    bool refreshing;
    struct waiter *waiters, **waiters_tail;
    char *errmsg;
};

/* -- small helpers ----------------------------------------------------------- */

static void free_secret(char **s)
{
    gcp_oauth_free_secret(*s);
    *s = NULL;
}

static void set_errmsg(struct gcp_auth *a, char *msg)
{
    free(a->errmsg);
    a->errmsg = msg;
}

/* A copy of a string member, or NULL when absent, not a string or empty. */
static char *member(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);

    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    if (strlen(json_string_value(v)) != json_string_length(v))
        return NULL; /* embedded NUL */
    return xstrdup(json_string_value(v));
}

/* Wipes the named string members of the parsed file before it is freed. */
static void wipe_members(json_t *o)
{
    static const char *const secret[] = {"private_key", "client_secret", "refresh_token"};

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        const json_t *v = json_object_get(o, secret[i]);

        if (json_is_string(v))
            OPENSSL_cleanse((char *)(uintptr_t)json_string_value(v), json_string_length(v));
    }
}

static bool is_http_url(const char *s)
{
    return s != NULL && (str_has_prefix(s, "https://") || str_has_prefix(s, "http://")) &&
           strpbrk(s, " \t\r\n") == NULL;
}

/* host, host:port or [v6]:port; no scheme, path or credentials. */
static bool host_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 255)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

/* Reads a whole file of at most CAP_CREDENTIALS_BYTES. */
static int read_file(const char *path, char **ret, size_t *ret_len, char **ret_why)
{
    struct stat st;
    char *p;
    size_t len = 0;
    int fd, err = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *ret_why = xstrdup(strerror(errno));
        return ERR_IO;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *ret_why = xstrdup("not a regular file");
        close(fd);
        return ERR_IO;
    }
    if (st.st_size > (off_t)CAP_CREDENTIALS_BYTES) {
        *ret_why = xasprintf("larger than %lu bytes", CAP_CREDENTIALS_BYTES);
        close(fd);
        return ERR_LIMIT;
    }
    p = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, p + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = ERR_IO;
            *ret_why = xstrdup(n < 0 ? strerror(errno) : "file shrank while read");
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (err < 0) {
        OPENSSL_cleanse(p, len);
        free(p);
        return err;
    }
    p[len] = '\0';
    *ret = p;
    *ret_len = len;
    return 0;
}

/* -- credential files ------------------------------------------------------------ */

static int load_service_account(struct gcp_auth *a, const json_t *o, const char *path,
                                char **ret_errmsg)
{
    const json_t *pk = json_object_get(o, "private_key");
    static const char *const need[] = {"client_email", "private_key", "token_uri"};
    int err;

    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        const json_t *v = json_object_get(o, need[i]);

        if (!json_is_string(v) || json_string_length(v) == 0) {
            *ret_errmsg =
                xasprintf("credentials file '%s': service_account key has no '%s'", path, need[i]);
            return ERR_AUTH;
        }
    }
    a->client_email = member(o, "client_email");
    a->token_uri = member(o, "token_uri");
    a->key_id = member(o, "private_key_id");
    a->project_id = member(o, "project_id");
    if (a->client_email == NULL || a->token_uri == NULL || !is_http_url(a->token_uri) ||
        !str_has_prefix(a->token_uri, "http")) {
        *ret_errmsg = xasprintf("credentials file '%s': token_uri is not an http(s) URL", path);
        return ERR_AUTH;
    }
    err = gcp_oauth_load_key(json_string_value(pk), json_string_length(pk), &a->key);
    if (err < 0) {
        *ret_errmsg = xasprintf("credentials file '%s': private_key is not a PEM %s", path,
                                err == ERR_UNSUPPORTED ? "RSA key" : "private key");
        return ERR_AUTH;
    }
    a->src = GCP_AUTH_SERVICE_ACCOUNT;
    a->describe = xasprintf("service account '%s' from '%s'", a->client_email, path);
    return 0;
}

static int load_authorized_user(struct gcp_auth *a, const json_t *o, const char *path,
                                char **ret_errmsg)
{
    static const char *const need[] = {"client_id", "client_secret", "refresh_token"};
    const char *endpoint = getenv("ROAM_TOKEN_ENDPOINT");

    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        const json_t *v = json_object_get(o, need[i]);

        if (!json_is_string(v) || json_string_length(v) == 0) {
            *ret_errmsg =
                xasprintf("credentials file '%s': authorized_user file has no '%s'", path, need[i]);
            return ERR_AUTH;
        }
    }
    if (endpoint != NULL && endpoint[0] != '\0' && !is_http_url(endpoint)) {
        *ret_errmsg = xstrdup("ROAM_TOKEN_ENDPOINT is not an http(s) URL");
        return ERR_AUTH;
    }
    a->client_id = member(o, "client_id");
    a->client_secret = member(o, "client_secret");
    a->refresh_token = member(o, "refresh_token");
    a->quota_project = member(o, "quota_project_id");
    if (a->client_id == NULL || a->client_secret == NULL || a->refresh_token == NULL) {
        *ret_errmsg = xasprintf("credentials file '%s': authorized_user fields are not text", path);
        return ERR_AUTH;
    }
    if (a->quota_project != NULL && !host_ok(a->quota_project)) {
        *ret_errmsg = xasprintf("credentials file '%s': invalid quota_project_id", path);
        return ERR_AUTH;
    }
    a->token_uri =
        xstrdup(endpoint != NULL && endpoint[0] != '\0' ? endpoint : GCP_OAUTH_TOKEN_URL);
    a->src = GCP_AUTH_AUTHORIZED_USER;
    a->describe = xasprintf("authorized user from '%s'", path);
    return 0;
}

static int load_json(struct gcp_auth *a, json_t *o, const char *path, char **ret_errmsg)
{
    const json_t *type = json_object_get(o, "type");
    const char *t;

    if (!json_is_string(type)) {
        *ret_errmsg = xasprintf("credentials file '%s' has no 'type'", path);
        return ERR_AUTH;
    }
    t = json_string_value(type);
    if (strcmp(t, "service_account") == 0)
        return load_service_account(a, o, path, ret_errmsg);
    if (strcmp(t, "authorized_user") == 0)
        return load_authorized_user(a, o, path, ret_errmsg);
    if (strlen(t) > 64 || strspn(t, "abcdefghijklmnopqrstuvwxyz_") != strlen(t))
        t = "?";
    *ret_errmsg = xasprintf("credentials file '%s' has unsupported type '%s' (expected "
                            "service_account or authorized_user)",
                            path, t);
    return ERR_AUTH;
}

static int load_file(struct gcp_auth *a, const char *path, const char *origin, char **ret_errmsg)
{
    char *text, *why = NULL;
    size_t len;
    json_t *o;
    int err;

    err = read_file(path, &text, &len, &why);
    if (err < 0) {
        *ret_errmsg = xasprintf("cannot read credentials file '%s'%s%s: %s", path,
                                origin != NULL ? " from " : "", origin != NULL ? origin : "", why);
        free(why);
        return ERR_AUTH;
    }
    o = json_loadb(text, len, 0, NULL);
    OPENSSL_cleanse(text, len);
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        *ret_errmsg = xasprintf("credentials file '%s' is not a JSON object", path);
        return ERR_AUTH;
    }
    err = load_json(a, o, path, ret_errmsg);
    wipe_members(o);
    json_decref(o);
    return err;
}

static char *adc_path(void)
{
    const char *dir = getenv("CLOUDSDK_CONFIG");
    const char *home = getenv("HOME");

    if (dir != NULL && dir[0] != '\0')
        return xasprintf("%s/%s", dir, ADC_FILE);
    if (home != NULL && home[0] != '\0')
        return xasprintf("%s/.config/gcloud/%s", home, ADC_FILE);
    return xstrdup("~/.config/gcloud/" ADC_FILE);
}

static int use_metadata(struct gcp_auth *a, const char *adc, char **ret_errmsg)
{
    const char *host = getenv("GCE_METADATA_HOST");

    if (host == NULL || host[0] == '\0')
        host = getenv("GCE_METADATA_ROOT");
    if (host == NULL || host[0] == '\0')
        host = METADATA_DEFAULT_HOST;
    if (!host_ok(host)) {
        *ret_errmsg = xstrdup("GCE_METADATA_HOST is not a host or host:port");
        return ERR_AUTH;
    }
    a->src = GCP_AUTH_METADATA;
    a->md_host = xstrdup(host);
    a->md_url = xasprintf("http://%s" METADATA_TOKEN_PATH, host);
    a->tried = xasprintf("GOOGLE_APPLICATION_CREDENTIALS not set, no gcloud ADC file at '%s'", adc);
    a->describe = xasprintf("metadata server at '%s'", host);
    return 0;
}

static int find_credentials(struct gcp_auth *a, char **ret_errmsg)
{
    const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    struct stat st;
    char *adc;
    int err;

    if (env != NULL && env[0] != '\0')
        return load_file(a, env, "GOOGLE_APPLICATION_CREDENTIALS", ret_errmsg);
    adc = adc_path();
    if (stat(adc, &st) == 0)
        err = load_file(a, adc, NULL, ret_errmsg);
    else
        err = use_metadata(a, adc, ret_errmsg);
    free(adc);
    return err;
}

/* -- lifecycle ----------------------------------------------------------------- */

void gcp_auth_free(struct gcp_auth *a)
{
    if (a == NULL)
        return;
    assert(!a->refreshing && a->waiters == NULL);
    free_secret(&a->token);
    free_secret(&a->client_secret);
    free_secret(&a->refresh_token);
    EVP_PKEY_free(a->key);
    free(a->describe);
    free(a->token_uri);
    free(a->project_id);
    free(a->quota_project);
    free(a->client_email);
    free(a->key_id);
    free(a->client_id);
    free(a->md_host);
    free(a->md_url);
    free(a->tried);
    free(a->errmsg);
    free(a);
}

int gcp_auth_new(struct gcp_http *h, const struct gcp_auth_config *cfg, struct gcp_auth **ret,
                 char **ret_errmsg)
{
    struct gcp_auth *a = xcalloc(1, sizeof(*a));
    char *msg = NULL;
    int err;

    a->http = h;
    if (cfg != NULL)
        a->cfg = *cfg;
    if (a->cfg.retry != NULL) {
        a->retry = *a->cfg.retry;
        a->has_retry = true;
    }
    a->cfg.retry = NULL;
    if (a->cfg.metadata_connect_timeout_ms <= 0)
        a->cfg.metadata_connect_timeout_ms = METADATA_CONNECT_TIMEOUT_MS;
    a->waiters_tail = &a->waiters;
    err = find_credentials(a, &msg);
    if (err < 0) {
        gcp_auth_free(a);
        *ret_errmsg = msg;
        return ERR_AUTH;
    }
    *ret = a;
    return 0;
}

enum gcp_auth_source gcp_auth_source(const struct gcp_auth *a)
{
    return a->src;
}

const char *gcp_auth_describe(const struct gcp_auth *a)
{
    return a->describe;
}

const char *gcp_auth_project_id(const struct gcp_auth *a)
{
    return a->project_id;
}

const char *gcp_auth_quota_project(const struct gcp_auth *a)
{
    return a->quota_project;
}

const char *gcp_auth_errmsg(const struct gcp_auth *a)
{
    return a->errmsg;
}

unsigned gcp_auth_generation(const struct gcp_auth *a)
{
    return a->generation;
}

/* -- the cache ------------------------------------------------------------------- */

const char *gcp_auth_token(struct gcp_auth *a)
{
    uint64_t ahead = REFRESH_AHEAD_MS;

    if (a->token == NULL)
        return NULL;
    /* A short-lived token would never count as fresh with the fixed margin. */
    if (a->lifetime_ms / 2 < ahead)
        ahead = a->lifetime_ms / 2;
    if (clock_mono_ms(a->cfg.clock) + ahead >= a->expiry_ms)
        return NULL;
    return a->token;
}

void gcp_auth_invalidate(struct gcp_auth *a, unsigned generation)
{
    if (a->token == NULL || generation != a->generation)
        return;
    free_secret(&a->token);
    a->generation++;
}

/* -- refresh --------------------------------------------------------------------- */

static void notify(struct gcp_auth *a, int err)
{
    struct waiter *w = a->waiters;

    /* Detach first: a waiter may start the next refresh. */
    a->waiters = NULL;
    a->waiters_tail = &a->waiters;
    while (w != NULL) {
        struct waiter *next = w->next;

        w->cb(a, err, w->data);
        free(w);
        w = next;
    }
}

static void store_token(struct gcp_auth *a, char *token, long long expires_in)
{
    free_secret(&a->token);
    a->token = token;
    a->lifetime_ms = (uint64_t)expires_in * 1000u;
    a->expiry_ms = a->fetch_start_ms + a->lifetime_ms;
    a->generation++;
    set_errmsg(a, NULL);
}

/* The message and code of a failed token request. */
static int explain_failure(struct gcp_auth *a, struct gcp_req *req, int err, long status)
{
    const struct gerr *g = gcp_req_gerr(req);
    const char *why = gcp_req_errmsg(req);

    if (err == ERR_CANCELLED) {
        set_errmsg(a, xstrdup("cannot get access token: cancelled"));
        return ERR_CANCELLED;
    }
    if (a->src == GCP_AUTH_METADATA && err != ERR_LIMIT) {
        const char *flavor = status != 0 ? gcp_req_header(req, "Metadata-Flavor") : NULL;

        if (status == 0 || flavor == NULL || strcmp(flavor, "Google") != 0) {
            set_errmsg(a, xasprintf("no credentials: %s, metadata server at '%s' %s", a->tried,
                                    a->md_host,
                                    status == 0 ? "not reachable"
                                                : "answered without Metadata-Flavor: Google"));
            return ERR_AUTH;
        }
        set_errmsg(a, g != NULL ? gerr_format(g, "get access token from metadata server at",
                                              a->md_host, true)
                                : xasprintf("cannot get access token: %s", why));
        return err == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_AUTH;
    }
    if (g != NULL)
        set_errmsg(a, gerr_format(g, "get access token from", a->token_uri, true));
    else
        set_errmsg(a, xasprintf("cannot get access token: %s", why != NULL ? why : err_str(err)));
    return err == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_AUTH;
}

static void on_token_response(struct gcp_req *req, int err, long status, const struct buf *body,
                              void *data)
{
    struct gcp_auth *a = data;
    char *token = NULL;
    long long expires_in = 0;
    const char *why = NULL;
    const char *flavor;

    a->refreshing = false;
    if (err < 0) {
        notify(a, explain_failure(a, req, err, status));
        return;
    }
    if (a->src == GCP_AUTH_METADATA) {
        flavor = gcp_req_header(req, "Metadata-Flavor");
        if (flavor == NULL || strcmp(flavor, "Google") != 0) {
            notify(a, explain_failure(a, req, ERR_AUTH, status));
            return;
        }
    }
    if (gcp_oauth_parse_token(body->p, body->len, &token, &expires_in, &why) < 0) {
        set_errmsg(a, xasprintf("cannot get access token from '%s': %s",
                                a->src == GCP_AUTH_METADATA ? a->md_host : a->token_uri, why));
        notify(a, ERR_AUTH);
        return;
    }
    store_token(a, token, expires_in);
    notify(a, 0);
}

/* The form body of a grant; a secret. */
static int grant_body(struct gcp_auth *a, struct buf *b)
{
    struct gcp_jwt_claims c = {
        .kid = a->key_id,
        .iss = a->client_email,
        .scope = GCP_OAUTH_SCOPE,
        .aud = GCP_OAUTH_TOKEN_URL,
        .iat = clock_wall_s(a->cfg.clock),
        .lifetime = GCP_OAUTH_JWT_LIFETIME,
    };
    char *jwt;
    int err;

    if (a->src == GCP_AUTH_AUTHORIZED_USER) {
        err = gcp_oauth_form_add(b, "grant_type", "refresh_token");
        if (err == 0)
            err = gcp_oauth_form_add(b, "client_id", a->client_id);
        if (err == 0)
            err = gcp_oauth_form_add(b, "client_secret", a->client_secret);
        if (err == 0)
            err = gcp_oauth_form_add(b, "refresh_token", a->refresh_token);
        return err;
    }
    err = gcp_oauth_jwt(a->key, &c, &jwt);
    if (err < 0)
        return err;
    err = gcp_oauth_form_add(b, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
    if (err == 0)
        err = gcp_oauth_form_add(b, "assertion", jwt);
    gcp_oauth_free_secret(jwt);
    return err;
}

static struct gcp_req *token_request(struct gcp_auth *a)
{
    static const struct backoff_policy md_retry = {100u, 1000u, 3u, 10000u};
    const unsigned flags = GCP_REQ_NO_AUTH | GCP_REQ_IDEMPOTENT | GCP_REQ_SENSITIVE;
    struct gcp_req *req;
    struct buf b;

    if (a->src == GCP_AUTH_METADATA) {
        req = gcp_req_new("metadata", "GET", a->md_url, flags);
        gcp_req_add_header(req, "Metadata-Flavor", "Google");
        gcp_req_set_timeouts(req, a->cfg.metadata_connect_timeout_ms, METADATA_TIMEOUT_MS);
        gcp_req_set_retry(req, a->has_retry ? &a->retry : &md_retry);
        return req;
    }
    buf_init(&b, CAP_CREDENTIALS_BYTES);
    if (grant_body(a, &b) < 0) {
        if (b.p != NULL)
            OPENSSL_cleanse(b.p, b.cap);
        buf_release(&b);
        return NULL;
    }
    req = gcp_req_new("oauth2", "POST", a->token_uri, flags);
    gcp_req_set_body(req, "application/x-www-form-urlencoded", b.p, b.len);
    gcp_req_add_header(req, "Accept", "application/json");
    OPENSSL_cleanse(b.p, b.cap);
    buf_release(&b);
    if (a->has_retry)
        gcp_req_set_retry(req, &a->retry);
    return req;
}

int gcp_auth_refresh(struct gcp_auth *a, gcp_auth_cb *cb, void *data)
{
    struct waiter *w;
    struct gcp_req *req;
    int err;

    if (!a->refreshing) {
        req = token_request(a);
        if (req == NULL) {
            set_errmsg(a, xstrdup("cannot get access token: cannot sign the token request"));
            return ERR_AUTH;
        }
        a->fetch_start_ms = clock_mono_ms(a->cfg.clock);
        err = gcp_http_submit(a->http, req, on_token_response, a);
        if (err < 0) {
            gcp_req_free(req);
            set_errmsg(a, xasprintf("cannot get access token: %s", err_str(err)));
            return err;
        }
        a->refreshing = true;
    }
    w = xmalloc(sizeof(*w));
    w->cb = cb;
    w->data = data;
    w->next = NULL;
    *a->waiters_tail = w;
    a->waiters_tail = &w->next;
    return 0;
}
