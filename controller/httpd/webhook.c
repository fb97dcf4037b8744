/*
 * webhook.c - GitHub webhook signature check and event decoding (see
 * webhook.h).
 *
 * The header's hex is decoded to bytes and compared with the computed MAC
 * with CRYPTO_memcmp, so the comparison takes the same time wherever the
 * first difference is.  The lengths are public (always 32 bytes).
 */
#include "webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"

#define SHA256_LEN 32

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly n bytes of hex; false on any other length or character. */
static bool unhex(const char *s, unsigned char *out, size_t n)
{
    size_t i;

    if (strlen(s) != 2 * n)
        return false;
    for (i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

int webhook_verify(const void *secret, size_t secret_len, const char *signature_header,
                   const void *body, size_t len)
{
    unsigned char want[SHA256_LEN], got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    int rc;

    if (secret == NULL || secret_len == 0 || secret_len > INT32_MAX)
        return ERR_INVAL;
    if (signature_header == NULL || strncmp(signature_header, "sha256=", 7) != 0 ||
        !unhex(signature_header + 7, want, sizeof(want)))
        return ERR_AUTH;
    if (HMAC(EVP_sha256(), secret, (int)secret_len, body != NULL ? body : "", len, got, &got_len) ==
            NULL ||
        got_len != SHA256_LEN)
        return ERR_AUTH;
    rc = CRYPTO_memcmp(want, got, SHA256_LEN) == 0 ? 0 : ERR_AUTH;
    OPENSSL_cleanse(got, sizeof(got));
    return rc;
}

static int fail(struct err_detail *err, const char *path, const char *msg)
{
    if (err != NULL) {
        err_detail_release(err);
        err->code = ERR_PARSE;
        err->path = xstrdup(path);
        err->msg = xstrdup(msg);
    }
    return ERR_PARSE;
}

static int get_str(json_t *o, const char *key, const char *path, bool required, char **ret,
                   struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return required ? fail(err, path, "missing") : 0;
    if (!json_is_string(v))
        return fail(err, path, "expected a string");
    *ret = xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(json_t *o, const char *key, bool *ret, struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return fail(err, key, "expected a boolean");
    *ret = json_is_true(v);
    return 0;
}

static bool is_sha(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (hexval(s[i]) < 0)
            return false;
    return i == 40;
}

static int decode_push(json_t *root, struct webhook_event *e, struct err_detail *err)
{
    json_t *repo = json_object_get(root, "repository");
    int rc;

    rc = get_str(root, "ref", "ref", true, &e->ref, err);
    if (rc == 0)
        rc = get_str(root, "after", "after", true, &e->after, err);
    if (rc == 0 && !is_sha(e->after))
        rc = fail(err, "after", "expected a 40-digit hex commit id");
    if (rc == 0)
        rc = get_str(root, "before", "before", false, &e->before, err);
    if (rc == 0)
        rc = get_bool(root, "deleted", &e->deleted, err);
    if (rc == 0)
        rc = get_bool(root, "created", &e->created, err);
    if (rc == 0 && !json_is_object(repo))
        rc = fail(err, "repository", "expected an object");
    if (rc == 0)
        rc = get_str(repo, "full_name", "repository.full_name", true, &e->repo_full_name, err);
    if (rc == 0)
        rc = get_str(repo, "clone_url", "repository.clone_url", false, &e->clone_url, err);
    if (rc == 0)
        rc = get_str(repo, "default_branch", "repository.default_branch", false, &e->default_branch,
                     err);
    return rc;
}

int webhook_decode(const char *event_header, const char *body, size_t len,
                   struct webhook_event *ret, struct err_detail *err)
{
    json_error_t je;
    json_t *root;
    int rc = 0;

    memset(ret, 0, sizeof(*ret));
    if (event_header == NULL || event_header[0] == '\0')
        return fail(err, "", "no X-GitHub-Event header");
    root = json_loadb(body, len, 0, &je);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return fail(err, "", "not a JSON object");
    }
    ret->event = xstrdup(event_header);
    if (strcmp(event_header, "ping") == 0) {
        ret->kind = WEBHOOK_PING;
        rc = get_str(root, "zen", "zen", false, &ret->zen, err);
    } else if (strcmp(event_header, "push") == 0) {
        ret->kind = WEBHOOK_PUSH;
        rc = decode_push(root, ret, err);
    }
    json_decref(root);
    if (rc != 0)
        webhook_event_release(ret);
    return rc;
}

void webhook_event_release(struct webhook_event *e)
{
    free(e->event);
    free(e->ref);
    free(e->before);
    free(e->after);
    free(e->repo_full_name);
    free(e->clone_url);
    free(e->default_branch);
    free(e->zen);
    memset(e, 0, sizeof(*e));
}

const char *webhook_branch(const char *ref)
{
    if (ref == NULL || !str_has_prefix(ref, "refs/heads/") || ref[11] == '\0')
        return NULL;
    return ref + 11;
}
