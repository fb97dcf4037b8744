/*
 * bucket_cache.c - memory and disk cache of a bucket source (see
 * bucket_cache.h).
 */
#include "bucket_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/gcp/gcs.h"

#define INDEX_MAGIC "roam-bucket-cache 1 "
/* Index lines: a number, a number, a digest, a name of at most 3 x 1,024
 * encoded bytes; the index of CAP_SOURCE_FILES such lines. */
#define INDEX_MAX_BYTES ((size_t)CAP_SOURCE_FILES * (3u * CAP_NAME_BYTES + 128u))

struct src_bcache_disk {
    char *name;
    long long generation;
    size_t len;
    char sha[65];
};

/* ---- helpers ---- */

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        out[0] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

static char *object_path(const struct src_bcache *c, const char *name)
{
    char hex[65];

    sha256_hex(name, strlen(name), hex);
    return xasprintf("%s/%s.obj", c->dir, hex);
}

static void disk_release(struct src_bcache *c)
{
    for (size_t i = 0; i < c->n_disk; i++)
        free(c->disk[i].name);
    free(c->disk);
    c->disk = NULL;
    c->n_disk = c->cap_disk = 0;
}

static int disk_cmp(const void *a, const void *b)
{
    return strcmp(((const struct src_bcache_disk *)a)->name,
                  ((const struct src_bcache_disk *)b)->name);
}

static struct src_bcache_disk *disk_find(const struct src_bcache *c, const char *name)
{
    struct src_bcache_disk key = {.name = (char *)(uintptr_t)name};

    if (c->n_disk == 0)
        return NULL;
    return bsearch(&key, c->disk, c->n_disk, sizeof(*c->disk), disk_cmp);
}

/* Reads a whole file of at most max bytes; NULL when it cannot. */
static char *read_file(const char *path, size_t max, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *data;
    size_t got = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return NULL;
    }
    data = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(data);
        return NULL;
    }
    data[got] = '\0';
    *ret_len = got;
    return data;
}

/* ---- reading the index ---- */

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* `<gen> <len> <sha> <name>`; fills d (name owned) or returns -1. */
static int parse_line(char *line, struct src_bcache_disk *d)
{
    char *f[4], *p = line;
    long long len;

    for (int i = 0; i < 4; i++) {
        f[i] = p;
        p = i < 3 ? strchr(p, ' ') : NULL;
        if (i < 3 && p == NULL)
            return -1;
        if (p != NULL)
            *p++ = '\0';
    }
    if (gcs_parse_generation(f[0], &d->generation) < 0 ||
        str_to_ll(f[1], 0, (long long)CAP_MANIFEST_BYTES, &len) < 0 ||
        !is_hex64(f[2], strlen(f[2])) || gcs_decode(f[3], &d->name) < 0)
        return -1;
    if (d->name[0] == '\0') {
        free(d->name);
        return -1;
    }
    d->len = (size_t)len;
    memcpy(d->sha, f[2], 65);
    return 0;
}

/* Parses the index text; false when any part of it is wrong. */
static bool parse_index(struct src_bcache *c, char *text)
{
    char *magic = xasprintf(INDEX_MAGIC "%s\n", c->source);
    char *line, *nl;
    bool ok = str_has_prefix(text, magic);

    line = text + strlen(magic);
    free(magic);
    while (ok && *line != '\0') {
        struct src_bcache_disk d;

        nl = strchr(line, '\n');
        if (nl == NULL)
            return false; /* torn: the last line lacks its newline */
        *nl = '\0';
        if (parse_line(line, &d) < 0)
            return false;
        XGROW(c->disk, c->n_disk + 1, c->cap_disk);
        c->disk[c->n_disk++] = d;
        line = nl + 1;
    }
    if (!ok)
        return false;
    if (c->n_disk > 1)
        qsort(c->disk, c->n_disk, sizeof(*c->disk), disk_cmp);
    for (size_t i = 1; i < c->n_disk; i++)
        if (strcmp(c->disk[i - 1].name, c->disk[i].name) == 0)
            return false;
    return true;
}

static void load_index(struct src_bcache *c)
{
    char *path = xasprintf("%s/index", c->dir);
    size_t len = 0;
    char *text = read_file(path, INDEX_MAX_BYTES, &len);

    free(path);
    if (text == NULL) {
        c->dirty = true;
        return;
    }
    if (strlen(text) != len || !parse_index(c, text)) {
        disk_release(c);
        c->dirty = true;
    }
    free(text);
}

void src_bcache_init(struct src_bcache *c, const char *source, const char *dir)
{
    char *enc;

    memset(c, 0, sizeof(*c));
    enc = gcs_encode(source);
    c->source = enc;
    if (dir != NULL) {
        c->dir = xstrdup(dir);
        load_index(c);
    }
}

void src_bcache_release(struct src_bcache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].data);
    }
    free(c->v);
    disk_release(c);
    free(c->dir);
    free(c->source);
    memset(c, 0, sizeof(*c));
}

/* ---- memory ---- */

/* Index of name in v, or of where it would go (*found false). */
static size_t mem_find(const struct src_bcache *c, const char *name, bool *found)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->v[mid].name, name);

        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct src_bcache_entry *mem_put(struct src_bcache *c, const char *name,
                                        long long generation, char *data, size_t len)
{
    bool found;
    size_t i = mem_find(c, name, &found);
    struct src_bcache_entry *e;

    if (found) {
        e = &c->v[i];
        free(e->data);
    } else {
        XGROW(c->v, c->n + 1, c->cap);
        memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*c->v));
        c->n++;
        e = &c->v[i];
        e->name = xstrdup(name);
    }
    e->generation = generation;
    e->data = data;
    e->len = len;
    e->sha[0] = '\0';
    return e;
}

void src_bcache_put(struct src_bcache *c, const char *name, long long generation, char *data,
                    size_t len)
{
    mem_put(c, name, generation, data, len);
    c->dirty = true;
}

/* The disk entry of (name, generation), checked against its digest. */
static const struct src_bcache_entry *disk_get(struct src_bcache *c, const char *name,
                                               long long generation)
{
    struct src_bcache_disk *d = disk_find(c, name);
    struct src_bcache_entry *e;
    char *path, *data, sha[65];
    size_t len = 0;

    if (d == NULL || d->generation != generation)
        return NULL;
    path = object_path(c, name);
    data = read_file(path, (size_t)CAP_MANIFEST_BYTES, &len);
    free(path);
    if (data != NULL && len == d->len)
        sha256_hex(data, len, sha);
    if (data == NULL || len != d->len || strcmp(sha, d->sha) != 0) {
        free(data);
        d->generation = 0; /* never matches: the index is rewritten at the next sync */
        c->dirty = true;
        return NULL;
    }
    e = mem_put(c, name, generation, data, len);
    memcpy(e->sha, d->sha, sizeof(e->sha));
    return e;
}

const struct src_bcache_entry *src_bcache_get(struct src_bcache *c, const char *name,
                                              long long generation, bool *ret_from_disk)
{
    const struct src_bcache_entry *e;
    bool found;
    size_t i = mem_find(c, name, &found);

    *ret_from_disk = false;
    if (found && c->v[i].generation == generation)
        return &c->v[i];
    if (c->dir == NULL)
        return NULL;
    e = disk_get(c, name, generation);
    *ret_from_disk = e != NULL;
    return e;
}

static bool listed(const char *name, const char *const *names, size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(names[mid], name);

        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void src_bcache_retain(struct src_bcache *c, const char *const *names, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < c->n; i++) {
        if (listed(c->v[i].name, names, n)) {
            c->v[j++] = c->v[i];
            continue;
        }
        free(c->v[i].name);
        free(c->v[i].data);
        c->dirty = true;
    }
    c->n = j;
}

/* ---- writing ---- */

static int mkdirs(const char *dir)
{
    char *p = xstrdup(dir);
    int rc = 0;

    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        rc = -1;
    free(p);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes path atomically (a temporary file beside it, then rename). */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 0;

    if (fd < 0) {
        free(tmp);
        return -1;
    }
    if (write_all(fd, data, len) < 0)
        rc = -1;
    if (close(fd) < 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Writes the object files that the index does not already describe;
 * marks the failed ones (ok[i] false). */
static unsigned write_objects(struct src_bcache *c, bool *ok)
{
    unsigned failed = 0;

    for (size_t i = 0; i < c->n; i++) {
        struct src_bcache_entry *e = &c->v[i];
        const struct src_bcache_disk *d;
        char *path;

        if (e->sha[0] == '\0')
            sha256_hex(e->data, e->len, e->sha);
        d = disk_find(c, e->name);
        ok[i] = true;
        if (d != NULL && d->generation == e->generation && d->len == e->len &&
            strcmp(d->sha, e->sha) == 0)
            continue;
        path = object_path(c, e->name);
        if (write_atomic(path, e->data, e->len) < 0) {
            ok[i] = false;
            failed++;
        }
        free(path);
    }
    return failed;
}

static char *index_text(const struct src_bcache *c, const bool *ok)
{
    struct buf b;

    buf_init(&b, SIZE_MAX / 4);
    buf_printf(&b, INDEX_MAGIC "%s\n", c->source);
    for (size_t i = 0; i < c->n; i++) {
        char *enc;

        if (!ok[i])
            continue;
        enc = gcs_encode(c->v[i].name);
        buf_printf(&b, "%lld %zu %s %s\n", c->v[i].generation, c->v[i].len, c->v[i].sha, enc);
        free(enc);
    }
    return buf_detach(&b, NULL);
}

/* Makes the remembered index the one just written. */
static void remember_index(struct src_bcache *c, const bool *ok)
{
    disk_release(c);
    for (size_t i = 0; i < c->n; i++) {
        struct src_bcache_disk *d;

        if (!ok[i])
            continue;
        XGROW(c->disk, c->n_disk + 1, c->cap_disk);
        d = &c->disk[c->n_disk++];
        d->name = xstrdup(c->v[i].name);
        d->generation = c->v[i].generation;
        d->len = c->v[i].len;
        memcpy(d->sha, c->v[i].sha, sizeof(d->sha));
    }
}

/* Removes the files of objects the old index had and memory has not. */
static unsigned remove_stale(struct src_bcache *c, struct src_bcache_disk *old, size_t n_old)
{
    unsigned failed = 0;

    for (size_t i = 0; i < n_old; i++) {
        bool found;
        char *path;

        mem_find(c, old[i].name, &found);
        if (found)
            continue;
        path = object_path(c, old[i].name);
        if (unlink(path) < 0 && errno != ENOENT)
            failed++;
        free(path);
    }
    return failed;
}

unsigned src_bcache_sync(struct src_bcache *c)
{
    struct src_bcache_disk *old;
    size_t n_old;
    bool *ok;
    char *text, *path;
    unsigned failed;

    if (c->dir == NULL || !c->dirty)
        return 0;
    if (mkdirs(c->dir) < 0)
        return 1;
    ok = xcalloc(c->n + 1, sizeof(*ok));
    failed = write_objects(c, ok);
    text = index_text(c, ok);
    path = xasprintf("%s/index", c->dir);
    if (write_atomic(path, text, strlen(text)) < 0) {
        free(path);
        free(text);
        free(ok);
        return failed + 1;
    }
    free(path);
    free(text);
    old = c->disk;
    n_old = c->n_disk;
    c->disk = NULL;
    c->n_disk = c->cap_disk = 0;
    remember_index(c, ok);
    failed += remove_stale(c, old, n_old);
    for (size_t i = 0; i < n_old; i++)
        free(old[i].name);
    free(old);
    free(ok);
    c->dirty = failed > 0;
    return failed;
}
