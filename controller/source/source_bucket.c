/*
 * source_bucket.c - a Cloud Storage bucket as a source (see
 * source_bucket.h).
 *
 * A read runs in three steps on the loop: list (storage.h, every page),
 * sort out the listing (names, caps, what the cache already holds, the
 * revision), then download what is missing, all at once (the gcp_http
 * queue bounds how many run together).  The snapshot is assembled only
 * when every download succeeded; until then the previous snapshot stays
 * current.  Downloads go into the cache as they arrive, so a read that
 * fails half-way still saves the next one those downloads.
 *
 * The revision is computed from the listing alone (names and generations),
 * before any download, which is what makes a no-change poll one request:
 * a generation changes whenever an object's bytes do.
 *
 * Alternative rejected: a conditional download per object
 * (ifGenerationNotMatch, 304 when unchanged) instead of a cache keyed by
 * generation: one request per object per poll instead of one per 1,000.
 */
#include "source_bucket.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/gcp/gcs.h"
#include "controller/gcp/storage.h"
#include "controller/source/bucket_cache.h"

struct read;

/* One document of the listing that the snapshot will hold. */
struct want {
    struct read *rd;
    const char *name; /* borrowed from rd->objs */
    const char *rel;  /* name without the prefix */
    long long generation;
    bool refused; /* refused after download (larger than listed) */
};

struct read {
    struct src_bucket *b;
    struct gcs_objects objs; /* the listed documents, sorted by name */
    struct want *w;
    size_t n, cap;
    struct err_list errs;
    bool complete;
    char *revision;
    size_t pending; /* downloads in flight */
    int err;        /* first failure */
    char *errmsg;
    src_bucket_cb *cb;
    void *data;
};

struct src_bucket {
    struct gstorage st;
    struct gcs_location loc;
    char *url;
    struct src_bcache cache;
    struct src_snapshot snap;
    bool have_snap;
    struct read *rd; /* the read in flight, or NULL */
    struct src_bucket_stats stats;
};

char *src_bucket_cache_dir(const char *cache_dir, const char *url)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[17];

    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1)
        abort(); /* OpenSSL fails here only on allocation */
    for (size_t i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return xasprintf("%s/gs-%s", cache_dir, hex);
}

int src_bucket_new(struct gcp_http *h, const char *url, const char *cache_dir,
                   struct src_bucket **ret, char **ret_errmsg)
{
    struct src_bucket *b = xcalloc(1, sizeof(*b));
    char *dir;
    int r;

    r = gcs_location_parse(url, &b->loc, ret_errmsg);
    if (r < 0) {
        free(b);
        return r;
    }
    b->url = xstrdup(url);
    gstorage_init(&b->st, h);
    dir = cache_dir != NULL ? src_bucket_cache_dir(cache_dir, url) : NULL;
    src_bcache_init(&b->cache, url, dir);
    free(dir);
    src_snapshot_init(&b->snap);
    *ret = b;
    return 0;
}

void src_bucket_free(struct src_bucket *b)
{
    if (b == NULL)
        return;
    src_snapshot_release(&b->snap);
    src_bcache_release(&b->cache);
    gstorage_release(&b->st);
    gcs_location_release(&b->loc);
    free(b->url);
    free(b);
}

const struct src_snapshot *src_bucket_snapshot(const struct src_bucket *b)
{
    return b->have_snap ? &b->snap : NULL;
}

void src_bucket_stats(const struct src_bucket *b, struct src_bucket_stats *ret)
{
    *ret = b->stats;
}

/* ---- finishing ---- */

static void read_free(struct read *rd)
{
    gcs_objects_release(&rd->objs);
    free(rd->w);
    err_list_release(&rd->errs);
    free(rd->revision);
    free(rd->errmsg);
    free(rd);
}

/* Ends the read; the callback may free b, so b is not touched after it. */
static void finish(struct read *rd, int err, const char *msg, bool changed)
{
    struct src_bucket *b = rd->b;

    b->rd = NULL;
    b->stats.reads++;
    rd->cb(b, err, msg, err == 0 ? &b->snap : NULL, changed, rd->data);
    read_free(rd);
}

static void fail(struct read *rd, int err, const char *msg)
{
    finish(rd, err, msg, false);
}

/* Builds the snapshot from the cache and makes it current. */
static void assemble(struct read *rd)
{
    struct src_bucket *b = rd->b;
    struct src_snapshot s;
    const char **keep = xcalloc(rd->n + 1, sizeof(*keep));
    size_t n_keep = 0;
    bool changed;

    src_snapshot_init(&s);
    s.root = xstrdup(b->url);
    for (size_t i = 0; i < rd->n; i++) {
        const struct src_bcache_entry *e;
        bool from_disk;
        char *copy;

        if (rd->w[i].refused)
            continue;
        e = src_bcache_get(&b->cache, rd->w[i].name, rd->w[i].generation, &from_disk);
        if (e == NULL) {
            /* Cannot happen: every want was found or downloaded. */
            free(keep);
            src_snapshot_release(&s);
            fail(rd, ERR_IO, "bucket cache lost a document during the read");
            return;
        }
        keep[n_keep++] = rd->w[i].name;
        copy = xmalloc(e->len + 1);
        memcpy(copy, e->data, e->len + 1);
        XGROW(s.files, s.n + 1, s.cap);
        s.files[s.n++] = (struct src_file){xstrdup(rd->w[i].rel), copy, e->len};
    }
    src_bcache_retain(&b->cache, keep, n_keep);
    free(keep);
    b->stats.cache_errors += src_bcache_sync(&b->cache);
    s.revision = rd->revision;
    rd->revision = NULL;
    s.complete = rd->complete;
    s.errs = rd->errs;
    err_list_init(&rd->errs);
    changed = !b->have_snap || strcmp(b->snap.revision, s.revision) != 0;
    src_snapshot_release(&b->snap);
    b->snap = s;
    b->have_snap = true;
    finish(rd, 0, NULL, changed);
}

static void conclude(struct read *rd)
{
    if (rd->err < 0)
        fail(rd, rd->err, rd->errmsg);
    else
        assemble(rd);
}

/* ---- downloads ---- */

static void refuse(struct read *rd, int code, const char *name, const char *why);

static void downloaded(void *data, int err, long status, const char *errmsg, const char *body,
                       size_t len, long long generation)
{
    struct want *w = data;
    struct read *rd = w->rd;
    struct src_bucket *b = rd->b;

    (void)status;
    (void)generation;
    b->stats.downloads++;
    b->stats.last_downloads++;
    if (err < 0 && rd->err == 0) {
        rd->err = err;
        rd->errmsg = xstrdup(errmsg != NULL ? errmsg : err_str(err));
    } else if (err == 0 && len > (size_t)CAP_MANIFEST_BYTES) {
        refuse(rd, ERR_LIMIT, w->name, "object larger than the 1 MiB cap; refused");
        w->refused = true;
    } else if (err == 0) {
        char *copy = xmalloc(len + 1);

        memcpy(copy, body, len);
        copy[len] = '\0';
        src_bcache_put(&b->cache, w->name, w->generation, copy, len);
    }
    if (--rd->pending == 0)
        conclude(rd);
}

static void start_downloads(struct read *rd)
{
    struct src_bucket *b = rd->b;

    for (size_t i = 0; i < rd->n; i++) {
        struct want *w = &rd->w[i];
        bool from_disk;
        int r;

        if (src_bcache_get(&b->cache, w->name, w->generation, &from_disk) != NULL) {
            if (from_disk)
                b->stats.last_from_disk++;
            else
                b->stats.last_from_memory++;
            continue;
        }
        r = gstorage_get_media(&b->st, b->loc.bucket, w->name, w->generation, downloaded, w);
        if (r < 0) {
            if (rd->err == 0) {
                rd->err = r;
                rd->errmsg =
                    xasprintf("cannot read 'gs://%s/%s': %s", b->loc.bucket, w->name, err_str(r));
            }
            break;
        }
        rd->pending++;
    }
    if (rd->pending == 0)
        conclude(rd);
}

/* ---- the listing ---- */

static bool is_document(const char *name, void *data)
{
    (void)data;
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Why a relative name is refused (NULL: fine); *ret_skip for names below a
 * dot-directory. */
static const char *name_problem(const char *rel, bool *ret_skip)
{
    const char *seg = rel;

    *ret_skip = false;
    if (rel[0] == '/')
        return "object name starts with '/'; refused";
    if (has_control(rel))
        return "object name contains control characters; refused";
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);

        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return "object name has a '..' segment; refused";
        if (end == NULL)
            break;
        if (n > 0 && seg[0] == '.')
            *ret_skip = true;
        seg = end + 1;
    }
    return NULL;
}

/* name for messages: when it holds control characters, which must not
 * reach a log line raw, they (and '%') are percent-encoded.  A new string. */
static char *printable(const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;

    if (!has_control(name))
        return xstrdup(name);
    buf_init(&b, SIZE_MAX / 4);
    for (; *name != '\0'; name++) {
        unsigned char c = (unsigned char)*name;

        if (c < 0x20 || c == 0x7f || c == '%') {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(&b, e, 3);
        } else {
            buf_putc(&b, (char)c);
        }
    }
    return buf_detach(&b, NULL);
}

/* Refuses one object: snap->errs names it as gs://bucket/name. */
static void refuse(struct read *rd, int code, const char *name, const char *why)
{
    const struct src_bucket *b = rd->b;
    char *shown = printable(name);
    char *file = xasprintf("gs://%s/%s", b->loc.bucket, shown);

    err_list_add(&rd->errs, code, file, 0, 0, NULL, "%s", why);
    free(file);
    free(shown);
    rd->complete = false;
}

/* Length-prefixed (name, generation) into the revision digest. */
static void digest_add(EVP_MD_CTX *ctx, const struct gcs_object *o)
{
    char hdr[64];
    int n = snprintf(hdr, sizeof(hdr), "%zu:", strlen(o->name));

    EVP_DigestUpdate(ctx, hdr, (size_t)n);
    EVP_DigestUpdate(ctx, o->name, strlen(o->name));
    n = snprintf(hdr, sizeof(hdr), ":%lld\n", o->generation);
    EVP_DigestUpdate(ctx, hdr, (size_t)n);
}

static char *digest_end(EVP_MD_CTX *ctx)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[17];

    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (int i = 0; i < 8; i++)
        snprintf(hex + (size_t)2 * i, 3, "%02x", md[i]);
    return xasprintf("gs:%s", hex);
}

/* Caps, checked by the listed size before any download. */
static bool within_caps(struct read *rd, const struct gcs_object *o, size_t *total)
{
    if (rd->n >= CAP_SOURCE_FILES) {
        refuse(rd, ERR_LIMIT, o->name, "source exceeds the cap of 10000 files; refused");
        return false;
    }
    if (o->size > (long long)CAP_MANIFEST_BYTES) {
        refuse(rd, ERR_LIMIT, o->name, "object larger than the 1 MiB cap; refused");
        return false;
    }
    if (o->size > 0 && *total + (size_t)o->size > (size_t)CAP_SOURCE_BYTES) {
        refuse(rd, ERR_LIMIT, o->name, "source exceeds the total size cap of 64 MiB; refused");
        return false;
    }
    if (o->size > 0)
        *total += (size_t)o->size;
    return true;
}

static int obj_cmp(const void *a, const void *b)
{
    return strcmp(((const struct gcs_object *)a)->name, ((const struct gcs_object *)b)->name);
}

/* Sorts out the listing into wants, refusals and the revision. */
static void plan_read(struct read *rd)
{
    const char *prefix = rd->b->loc.prefix;
    size_t plen = strlen(prefix), total = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL)
        abort(); /* OpenSSL fails here only on allocation */
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    if (rd->objs.n > 1)
        qsort(rd->objs.v, rd->objs.n, sizeof(*rd->objs.v), obj_cmp);
    for (size_t i = 0; i < rd->objs.n; i++) {
        const struct gcs_object *o = &rd->objs.v[i];
        const char *why;
        bool skip;

        if (strncmp(o->name, prefix, plen) != 0 || o->name[plen] == '\0')
            continue;
        why = name_problem(o->name + plen, &skip);
        if (skip && why == NULL)
            continue;
        digest_add(ctx, o);
        if (why != NULL) {
            refuse(rd, ERR_PERM, o->name, why);
            continue;
        }
        if (!within_caps(rd, o, &total))
            continue;
        XGROW(rd->w, rd->n + 1, rd->cap);
        rd->w[rd->n++] = (struct want){rd, o->name, o->name + plen, o->generation, false};
    }
    rd->revision = digest_end(ctx);
    EVP_MD_CTX_free(ctx);
}

static void listed(void *data, int err, const char *errmsg, struct gcs_objects *objs)
{
    struct read *rd = data;

    if (err < 0) {
        fail(rd, err, errmsg);
        return;
    }
    rd->b->stats.listings++;
    rd->objs = *objs;
    gcs_objects_init(objs);
    plan_read(rd);
    start_downloads(rd);
}

int src_bucket_read(struct src_bucket *b, src_bucket_cb *cb, void *data)
{
    struct read *rd;
    int r;

    if (b->rd != NULL || cb == NULL)
        return ERR_INVAL;
    rd = xcalloc(1, sizeof(*rd));
    rd->b = b;
    rd->cb = cb;
    rd->data = data;
    rd->complete = true;
    err_list_init(&rd->errs);
    gcs_objects_init(&rd->objs);
    r = gstorage_list(&b->st, b->loc.bucket, b->loc.prefix, is_document, NULL, listed, rd);
    if (r < 0) {
        read_free(rd);
        return r;
    }
    b->rd = rd;
    b->stats.last_downloads = 0;
    b->stats.last_from_memory = 0;
    b->stats.last_from_disk = 0;
    return 0;
}
