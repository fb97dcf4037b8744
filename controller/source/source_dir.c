/*
 * source_dir.c - a directory tree as a source of declarations.
 *
 * The tree is walked with openat()/fdopendir() relative to directory file
 * descriptors, so that a path is never re-resolved from a string built out
 * of untrusted names.  Symbolic links are followed only when their target,
 * resolved with realpath(), stays below the root's real path; otherwise the
 * file is refused with a message naming it.  Walking stops at the caps of
 * caps.h (file count, file size, total bytes), which makes the snapshot
 * incomplete rather than silently truncated.
 *
 * Alternative rejected: nftw(), which follows or reports links but gives no
 * directory fd to open relative to, and no clean way to stop at a cap.
 */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#define MAX_DIR_DEPTH 32

struct walk {
    struct src_snapshot *s;
    char root_real[PATH_MAX];
    size_t total;
};

void src_snapshot_init(struct src_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->complete = true;
    err_list_init(&s->errs);
}

void src_snapshot_release(struct src_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].path);
        free(s->files[i].data);
    }
    free(s->files);
    free(s->root);
    free(s->revision);
    err_list_release(&s->errs);
    src_snapshot_init(s);
}

void src_snapshot_copy(struct src_snapshot *ret, const struct src_snapshot *src)
{
    src_snapshot_init(ret);
    ret->root = xstrdup_or_null(src->root);
    ret->revision = xstrdup_or_null(src->revision);
    ret->complete = src->complete;
    err_list_extend(&ret->errs, &src->errs);
    ret->files = xcalloc(src->n + 1, sizeof(*ret->files));
    ret->cap = src->n + 1;
    for (size_t i = 0; i < src->n; i++) {
        const struct src_file *f = &src->files[i];
        char *data = xmalloc(f->len + 1);

        memcpy(data, f->data, f->len);
        data[f->len] = '\0';
        ret->files[i] = (struct src_file){xstrdup(f->path), data, f->len};
    }
    ret->n = src->n;
}

const char *src_dir_path(const char *url)
{
    if (str_has_prefix(url, "file://"))
        return url + strlen("file://");
    return url;
}

static void refuse(struct walk *w, const char *path, int code, const char *why)
{
    err_list_add(&w->s->errs, code, path, 0, 0, NULL, "%s", why);
    w->s->complete = false;
}

static bool is_document(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

/* Reads an open regular file into the snapshot under `path`; takes fd. */
static void take_file(struct walk *w, int fd, const char *path)
{
    struct stat st;
    char *data;
    size_t got = 0;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        refuse(w, path, ERR_IO, "not a regular file");
        goto out_close;
    }
    if (st.st_size > (off_t)CAP_MANIFEST_BYTES) {
        refuse(w, path, ERR_LIMIT, "file larger than the 1 MiB cap");
        goto out_close;
    }
    if (w->s->n >= CAP_SOURCE_FILES || w->total + (size_t)st.st_size > CAP_SOURCE_BYTES) {
        refuse(w, path, ERR_LIMIT, "source exceeds the file count or total size cap");
        goto out_close;
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
    if (got != (size_t)st.st_size) {
        free(data);
        refuse(w, path, ERR_IO, "cannot read file");
        goto out_close;
    }
    data[got] = '\0';
    XGROW(w->s->files, w->s->n + 1, w->s->cap);
    w->s->files[w->s->n++] = (struct src_file){xstrdup(path), data, got};
    w->total += got;
out_close:
    close(fd);
}

/* A symlink is acceptable when its target stays below the root. */
static bool link_inside(struct walk *w, int dirfd, const char *name)
{
    char proc[64], dirpath[PATH_MAX], full[PATH_MAX + NAME_MAX + 2], real[PATH_MAX];
    ssize_t n;
    size_t rl = strlen(w->root_real);

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
    n = readlink(proc, dirpath, sizeof(dirpath) - 1);
    if (n < 0)
        return false;
    dirpath[n] = '\0';
    snprintf(full, sizeof(full), "%s/%s", dirpath, name);
    if (realpath(full, real) == NULL)
        return false;
    return strncmp(real, w->root_real, rl) == 0 && (real[rl] == '/' || real[rl] == '\0');
}

static void walk_dir(struct walk *w, int dirfd, const char *prefix, int depth);

static void walk_entry(struct walk *w, int dirfd, const char *prefix, const char *name, int depth)
{
    char *path = prefix[0] != '\0' ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
    struct stat st;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        refuse(w, path, ERR_IO, "cannot stat");
        goto out_free;
    }
    if (S_ISLNK(st.st_mode)) {
        if (!link_inside(w, dirfd, name)) {
            refuse(w, path, ERR_PERM, "symbolic link leaves the source root; refused");
            goto out_free;
        }
        if (fstatat(dirfd, name, &st, 0) < 0) {
            refuse(w, path, ERR_IO, "dangling symbolic link");
            goto out_free;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        if (name[0] == '.')
            goto out_free;
        if (depth >= MAX_DIR_DEPTH) {
            refuse(w, path, ERR_LIMIT, "directory nesting deeper than 32");
            goto out_free;
        }
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            refuse(w, path, ERR_IO, "cannot open directory");
        else
            walk_dir(w, fd, path, depth + 1);
    } else if (S_ISREG(st.st_mode) && is_document(name)) {
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            refuse(w, path, ERR_IO, "cannot open file");
        else
            take_file(w, fd, path);
    }
out_free:
    free(path);
}

/* Walks the directory open on dirfd (taken). */
static void walk_dir(struct walk *w, int dirfd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *de;

    if (d == NULL) {
        close(dirfd);
        refuse(w, prefix[0] != '\0' ? prefix : ".", ERR_IO, "cannot list directory");
        return;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        walk_entry(w, dirfd, prefix, de->d_name, depth);
    }
    closedir(d);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct src_file *)a)->path, ((const struct src_file *)b)->path);
}

static char *digest(const struct src_snapshot *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[17];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL)
        return xstrdup("dir:unknown");
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < s->n; i++) {
        /* Length-prefix both parts so that (a, bc) and (ab, c) differ. */
        char hdr[48];
        int n = snprintf(hdr, sizeof(hdr), "%zu:%zu:", strlen(s->files[i].path), s->files[i].len);
        EVP_DigestUpdate(ctx, hdr, (size_t)n);
        EVP_DigestUpdate(ctx, s->files[i].path, strlen(s->files[i].path));
        EVP_DigestUpdate(ctx, s->files[i].data, s->files[i].len);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return xasprintf("dir:%s", hex);
}

int src_dir_read(const char *root, struct src_snapshot *s)
{
    struct walk w = {.s = s};
    const char *path = src_dir_path(root);
    struct stat st;
    int fd;

    src_snapshot_init(s);
    s->root = xstrdup(root);
    if (realpath(path, w.root_real) == NULL || stat(w.root_real, &st) < 0) {
        err_list_add(&s->errs, ERR_NOTFOUND, path, 0, 0, NULL, "cannot read source: %s",
                     strerror(errno));
        s->complete = false;
        return ERR_NOTFOUND;
    }
    if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(path, '/');
        /* The root of a single file is its directory, for the revision. */
        fd = open(w.root_real, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            refuse(&w, path, ERR_IO, "cannot open file");
        } else {
            take_file(&w, fd, base != NULL ? base + 1 : path);
            if (s->n == 1) {
                free(s->files[0].path);
                s->files[0].path = xstrdup(path);
            }
        }
    } else {
        fd = open(w.root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            refuse(&w, path, ERR_IO, "cannot open directory");
        else
            walk_dir(&w, fd, "", 0);
    }
    if (s->n > 1) /* an empty directory has no array at all */
        qsort(s->files, s->n, sizeof(*s->files), cmp_file);
    s->revision = digest(s);
    return s->complete ? 0 : ERR_IO;
}
