/*
 * gcs.c - Cloud Storage URLs and decoders (see gcs.h).
 *
 * The fields of a listing are checked one by one: a name that is not a
 * string, too long or carries an escaped NUL, or a generation that is not a
 * positive int64, makes the page an error rather than an object roam would
 * half understand.  The decision to drop a document (bad path, too large)
 * belongs to the source, not here.
 */
#include "gcs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

/* ---- endpoint ---- */

static char *with_slash(const char *url)
{
    size_t n = strlen(url);

    if (n > 0 && url[n - 1] == '/')
        return xstrdup(url);
    return xasprintf("%s/", url);
}

void gcs_endpoint_init(struct gcs_endpoint *ep, const char *emulator_host, const char *endpoint)
{
    memset(ep, 0, sizeof(*ep));
    if (emulator_host != NULL && emulator_host[0] != '\0') {
        char *url = strstr(emulator_host, "://") != NULL ? xstrdup(emulator_host)
                                                         : xasprintf("http://%s", emulator_host);
        ep->base = with_slash(url);
        ep->no_auth = true;
        free(url);
    } else if (endpoint != NULL && endpoint[0] != '\0') {
        ep->base = with_slash(endpoint);
    } else {
        ep->base = xstrdup(GCS_DEFAULT_BASE);
    }
}

void gcs_endpoint_release(struct gcs_endpoint *ep)
{
    free(ep->base);
    memset(ep, 0, sizeof(*ep));
}

/* ---- locations ---- */

static bool bucket_ok(const char *b, size_t n)
{
    if (n < 3 || n > 222)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static int bad_location(char **ret_errmsg, const char *url, const char *why)
{
    if (ret_errmsg != NULL)
        *ret_errmsg = xasprintf("'%s': %s", url, why);
    return ERR_INVAL;
}

int gcs_location_parse(const char *url, struct gcs_location *ret, char **ret_errmsg)
{
    const char *b, *slash;
    size_t n;

    memset(ret, 0, sizeof(*ret));
    if (!str_has_prefix(url, "gs://"))
        return bad_location(ret_errmsg, url, "not a gs://bucket/prefix URL");
    if (has_control(url))
        return bad_location(ret_errmsg, url, "control characters in a gs:// URL");
    b = url + strlen("gs://");
    slash = strchr(b, '/');
    n = slash != NULL ? (size_t)(slash - b) : strlen(b);
    if (!bucket_ok(b, n))
        return bad_location(ret_errmsg, url,
                            "the bucket name must be 3 to 222 characters of a-z, 0-9, '-', '_' "
                            "and '.'");
    ret->bucket = xstrndup(b, n);
    if (slash == NULL || slash[1] == '\0')
        ret->prefix = xstrdup("");
    else
        ret->prefix = with_slash(slash + 1);
    return 0;
}

void gcs_location_release(struct gcs_location *loc)
{
    free(loc->bucket);
    free(loc->prefix);
    memset(loc, 0, sizeof(*loc));
}

/* ---- percent-encoding ---- */

char *gcs_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;

    buf_init(&b, SIZE_MAX / 4);
    buf_puts(&b, "");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            buf_putc(&b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(&b, e, 3);
        }
    }
    return buf_detach(&b, NULL);
}

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

int gcs_decode(const char *s, char **ret)
{
    size_t n = strlen(s), j = 0;
    char *out = xmalloc(n + 1);

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] != '%') {
            out[j++] = s[i];
            continue;
        }
        hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return ERR_PARSE;
        }
        out[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[j] = '\0';
    *ret = out;
    return 0;
}

/* ---- URLs ---- */

char *gcs_list_url(const struct gcs_endpoint *ep, const char *bucket, const char *prefix,
                   const char *page_token, unsigned max_results)
{
    char *b = gcs_encode(bucket);
    char *p = prefix != NULL && prefix[0] != '\0' ? gcs_encode(prefix) : NULL;
    char *t = page_token != NULL ? gcs_encode(page_token) : NULL;
    char *fields = gcs_encode("nextPageToken,items(name,generation,size)");
    char *url;

    url =
        xasprintf("%sstorage/v1/b/%s/o?%s%s%smaxResults=%u&fields=%s&prettyPrint=false%s%s",
                  ep->base, b, p != NULL ? "prefix=" : "", p != NULL ? p : "", p != NULL ? "&" : "",
                  max_results, fields, t != NULL ? "&pageToken=" : "", t != NULL ? t : "");
    free(fields);
    free(t);
    free(p);
    free(b);
    return url;
}

char *gcs_media_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                    long long generation)
{
    char *b = gcs_encode(bucket), *o = gcs_encode(name), *url;

    if (generation > 0)
        url = xasprintf("%sstorage/v1/b/%s/o/%s?alt=media&generation=%lld", ep->base, b, o,
                        generation);
    else
        url = xasprintf("%sstorage/v1/b/%s/o/%s?alt=media", ep->base, b, o);
    free(o);
    free(b);
    return url;
}

char *gcs_upload_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                     long long if_generation_match)
{
    char *b = gcs_encode(bucket), *o = gcs_encode(name), *url;

    if (if_generation_match >= 0)
        url =
            xasprintf("%supload/storage/v1/b/%s/o?uploadType=media&name=%s&ifGenerationMatch=%lld",
                      ep->base, b, o, if_generation_match);
    else
        url = xasprintf("%supload/storage/v1/b/%s/o?uploadType=media&name=%s", ep->base, b, o);
    free(o);
    free(b);
    return url;
}

char *gcs_object_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                     long long if_generation_match)
{
    char *b = gcs_encode(bucket), *o = gcs_encode(name), *url;

    if (if_generation_match >= 0)
        url = xasprintf("%sstorage/v1/b/%s/o/%s?ifGenerationMatch=%lld", ep->base, b, o,
                        if_generation_match);
    else
        url = xasprintf("%sstorage/v1/b/%s/o/%s", ep->base, b, o);
    free(o);
    free(b);
    return url;
}

/* ---- decoding ---- */

void gcs_object_release(struct gcs_object *o)
{
    free(o->name);
    memset(o, 0, sizeof(*o));
}

void gcs_objects_init(struct gcs_objects *l)
{
    memset(l, 0, sizeof(*l));
}

void gcs_objects_release(struct gcs_objects *l)
{
    for (size_t i = 0; i < l->n; i++)
        gcs_object_release(&l->v[i]);
    free(l->v);
    gcs_objects_init(l);
}

int gcs_parse_generation(const char *s, long long *ret)
{
    if (s == NULL)
        return ERR_PARSE;
    return str_to_ll(s, 1, INT64_MAX, ret);
}

static int set_err(struct err_detail *err, const char *path, const char *msg)
{
    if (err != NULL) {
        err_detail_release(err);
        err->code = ERR_PARSE;
        err->path = xstrdup(path);
        err->msg = xstrdup(msg);
    }
    return ERR_PARSE;
}

/* An int64 field given as a decimal string or a JSON integer, >= min. */
static int int64_field(json_t *o, const char *key, long long min, long long *ret)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v)) {
        if (json_integer_value(v) < min)
            return ERR_PARSE;
        *ret = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))
        return ERR_PARSE;
    return str_to_ll(json_string_value(v), min, INT64_MAX, ret) < 0 ? ERR_PARSE : 0;
}

/* The fields of one Object; path names it in messages ("items[3]"). */
static int object_fields(json_t *o, const char *path, struct gcs_object *ret,
                         struct err_detail *err)
{
    json_t *name = json_object_get(o, "name");
    char *where;
    int rc = 0;

    memset(ret, 0, sizeof(*ret));
    ret->size = -1;
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        json_string_length(name) > CAP_NAME_BYTES ||
        json_string_length(name) != strlen(json_string_value(name))) {
        where = xasprintf("%s%sname", path, path[0] != '\0' ? "." : "");
        rc = set_err(err, where, "expected a non-empty string of at most 1024 bytes");
    } else if (int64_field(o, "generation", 1, &ret->generation) < 0) {
        where = xasprintf("%s%sgeneration", path, path[0] != '\0' ? "." : "");
        rc = set_err(err, where, "expected a positive int64 (a decimal string)");
    } else if (json_object_get(o, "size") != NULL && int64_field(o, "size", 0, &ret->size) < 0) {
        where = xasprintf("%s%ssize", path, path[0] != '\0' ? "." : "");
        rc = set_err(err, where, "expected a non-negative int64 (a decimal string)");
    } else {
        ret->name = xstrdup(json_string_value(name));
        return 0;
    }
    free(where);
    return rc;
}

static json_t *load_object(const char *json, size_t len, struct err_detail *err)
{
    json_error_t je;
    json_t *root;

    root = json_loadb(json != NULL ? json : "", len, 0, &je);
    if (root == NULL || !json_is_object(root)) {
        set_err(err, "", root == NULL ? je.text : "expected a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

static int list_items(json_t *items, gcs_keep_fn *keep, void *keep_data, struct gcs_objects *ret,
                      struct err_detail *err)
{
    json_t *item;
    size_t i;

    if (!json_is_array(items))
        return set_err(err, "items", "expected an array");
    json_array_foreach (items, i, item) {
        struct gcs_object o;
        char path[32];
        int rc;

        snprintf(path, sizeof(path), "items[%zu]", i);
        if (!json_is_object(item))
            return set_err(err, path, "expected an object");
        rc = object_fields(item, path, &o, err);
        if (rc < 0)
            return rc;
        if (keep != NULL && !keep(o.name, keep_data)) {
            gcs_object_release(&o);
            continue;
        }
        XGROW(ret->v, ret->n + 1, ret->cap);
        ret->v[ret->n++] = o;
    }
    return (int)json_array_size(items);
}

int gcs_list_decode(const char *json, size_t len, gcs_keep_fn *keep, void *keep_data,
                    struct gcs_objects *ret, char **ret_next, struct err_detail *err)
{
    json_t *root, *items, *next;
    int rc = 0;

    *ret_next = NULL;
    root = load_object(json, len, err);
    if (root == NULL)
        return ERR_PARSE;
    next = json_object_get(root, "nextPageToken");
    if (next != NULL && !json_is_null(next) &&
        (!json_is_string(next) || json_string_length(next) > CAP_NAME_BYTES)) {
        rc = set_err(err, "nextPageToken", "expected a string");
        goto out_decref;
    }
    items = json_object_get(root, "items");
    if (items != NULL && !json_is_null(items))
        rc = list_items(items, keep, keep_data, ret, err);
    if (rc >= 0 && json_is_string(next) && json_string_length(next) > 0)
        *ret_next = xstrdup(json_string_value(next));
out_decref:
    json_decref(root);
    return rc;
}

int gcs_object_decode(const char *json, size_t len, struct gcs_object *ret, struct err_detail *err)
{
    json_t *root;
    int rc;

    memset(ret, 0, sizeof(*ret));
    root = load_object(json, len, err);
    if (root == NULL)
        return ERR_PARSE;
    rc = object_fields(root, "", ret, err);
    json_decref(root);
    return rc;
}
