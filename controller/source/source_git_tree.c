/*
 * source_git_tree.c - the documents of one commit, read from the object
 * database.
 *
 * The tree below the source path is walked recursively in memory; blobs are
 * never written to disk, so a hostile name or link in the repository can do
 * nothing to the file system.  The size of each candidate blob is read from
 * its object header before the blob itself, so an oversized file is refused
 * without being inflated.  Every tree entry counts against
 * CAP_GIT_TREE_ENTRIES whatever its kind: trees are shared by hash, and a
 * few kilobytes of objects can describe billions of paths (a "git bomb").
 *
 * Symbolic links are refused whatever their name, rather than followed or
 * skipped: following one could read outside the path, and skipping one
 * that points at a directory of documents would make those apps look
 * deleted.  Submodules are refused for the same reason.  Refused entries
 * make the snapshot incomplete, which stops deletions for that pass.
 */
#include "source_git_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#define MAX_TREE_DEPTH 32

struct walk {
    git_repository *repo;
    git_odb *odb;
    struct src_snapshot *s;
    size_t total;   /* document bytes taken */
    size_t entries; /* tree entries seen */
    bool stopped;   /* a source-wide cap was reached */
    char *fail;     /* an object database failure: abort the walk */
};

static void refuse(struct walk *w, const char *path, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void refuse(struct walk *w, const char *path, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_list_vadd(&w->s->errs, code, path, 0, 0, NULL, fmt, ap);
    va_end(ap);
    w->s->complete = false;
}

static void odb_fail(struct walk *w, const char *what, const git_oid *id)
{
    const git_error *e = git_error_last();
    char hex[GIT_OID_HEXSZ + 1];

    git_oid_tostr(hex, sizeof(hex), id);
    free(w->fail);
    w->fail = xasprintf("cannot read %s %s from the cache: %s", what, hex,
                        e != NULL && e->message != NULL ? e->message : "unknown error");
}

static bool is_document(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

static bool name_ok(const char *name)
{
    for (const char *p = name; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Copies one blob into the snapshot, within the caps. */
static void take_blob(struct walk *w, const git_oid *id, const char *path)
{
    size_t len = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    git_blob *blob;
    char *data;

    if (git_odb_read_header(&len, &type, w->odb, id) < 0) {
        odb_fail(w, "blob", id);
        return;
    }
    if (type != GIT_OBJECT_BLOB) {
        refuse(w, path, ERR_IO, "tree entry is not a blob");
        return;
    }
    if (len > (size_t)CAP_MANIFEST_BYTES) {
        refuse(w, path, ERR_LIMIT, "file larger than the 1 MiB cap (%zu bytes); refused", len);
        return;
    }
    if (w->s->n >= CAP_SOURCE_FILES || w->total + len > (size_t)CAP_SOURCE_BYTES) {
        refuse(w, path, ERR_LIMIT,
               "source exceeds the cap of %u files or %u MiB; this file and the rest not read",
               CAP_SOURCE_FILES, CAP_SOURCE_BYTES >> 20);
        w->stopped = true;
        return;
    }
    if (git_blob_lookup(&blob, w->repo, id) < 0) {
        odb_fail(w, "blob", id);
        return;
    }
    len = (size_t)git_blob_rawsize(blob);
    data = xmalloc(len + 1);
    memcpy(data, git_blob_rawcontent(blob), len);
    data[len] = '\0';
    git_blob_free(blob);
    XGROW(w->s->files, w->s->n + 1, w->s->cap);
    w->s->files[w->s->n++] = (struct src_file){xstrdup(path), data, len};
    w->total += len;
}

static void walk_tree(struct walk *w, const git_tree *t, const char *prefix, int depth);

static void walk_subtree(struct walk *w, const git_oid *id, const char *path, int depth)
{
    git_tree *sub;

    if (depth >= MAX_TREE_DEPTH) {
        refuse(w, path, ERR_LIMIT, "directory nesting deeper than %d; not read", MAX_TREE_DEPTH);
        return;
    }
    if (git_tree_lookup(&sub, w->repo, id) < 0) {
        odb_fail(w, "tree", id);
        return;
    }
    walk_tree(w, sub, path, depth + 1);
    git_tree_free(sub);
}

static void walk_entry(struct walk *w, const git_tree_entry *e, const char *prefix, int depth)
{
    const char *name = git_tree_entry_name(e);
    char *path;

    if (!name_ok(name)) {
        refuse(w, prefix[0] != '\0' ? prefix : ".", ERR_INVAL,
               "entry with a control character or reserved name in its name; refused");
        return;
    }
    path = prefix[0] != '\0' ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
    switch (git_tree_entry_filemode(e)) {
    case GIT_FILEMODE_TREE:
        if (name[0] != '.')
            walk_subtree(w, git_tree_entry_id(e), path, depth);
        break;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
        if (is_document(name))
            take_blob(w, git_tree_entry_id(e), path);
        break;
    case GIT_FILEMODE_LINK:
        refuse(w, path, ERR_PERM,
               "symbolic link; refused (links are not followed in a git source)");
        break;
    case GIT_FILEMODE_COMMIT:
        refuse(w, path, ERR_UNSUPPORTED, "submodule; refused (submodules are not read)");
        break;
    default:
        refuse(w, path, ERR_UNSUPPORTED, "tree entry of unknown mode %o; refused",
               (unsigned)git_tree_entry_filemode(e));
        break;
    }
    free(path);
}

static void walk_tree(struct walk *w, const git_tree *t, const char *prefix, int depth)
{
    size_t n = git_tree_entrycount(t);

    for (size_t i = 0; i < n && !w->stopped && w->fail == NULL; i++) {
        if (++w->entries > CAP_GIT_TREE_ENTRIES) {
            refuse(w, prefix[0] != '\0' ? prefix : ".", ERR_LIMIT,
                   "more than %u tree entries; reading stopped", CAP_GIT_TREE_ENTRIES);
            w->stopped = true;
            return;
        }
        walk_entry(w, git_tree_entry_byindex(t, i), prefix, depth);
    }
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct src_file *)a)->path, ((const struct src_file *)b)->path);
}

/* The source path names one entry: a directory is walked, a file taken
 * whatever its name (as a single-file directory source is). */
static void read_entry(struct walk *w, const git_tree_entry *e, const char *path)
{
    const char *base = strrchr(path, '/');

    base = base != NULL ? base + 1 : path;
    switch (git_tree_entry_filemode(e)) {
    case GIT_FILEMODE_TREE:
        walk_subtree(w, git_tree_entry_id(e), "", 0);
        break;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
        take_blob(w, git_tree_entry_id(e), base);
        break;
    case GIT_FILEMODE_LINK:
        refuse(w, path, ERR_PERM,
               "symbolic link; refused (links are not followed in a git source)");
        break;
    default:
        refuse(w, path, ERR_UNSUPPORTED, "submodule or unknown entry; refused");
        break;
    }
}

int src_git_tree_read(git_repository *repo, const git_commit *commit, const char *path,
                      struct src_snapshot *snap, char **ret_errmsg)
{
    struct walk w = {.repo = repo, .s = snap};
    git_tree *root = NULL;
    git_tree_entry *e = NULL;
    int r = 0, gr;

    if (git_repository_odb(&w.odb, repo) < 0 || git_commit_tree(&root, commit) < 0) {
        odb_fail(&w, "tree of commit", git_commit_id(commit));
        goto out_free;
    }
    if (path[0] == '\0') {
        walk_tree(&w, root, "", 0);
        goto out_free;
    }
    gr = git_tree_entry_bypath(&e, root, path);
    if (gr == GIT_ENOTFOUND) {
        char hex[GIT_OID_HEXSZ + 1];

        git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
        *ret_errmsg = xasprintf("path '%s' not found at commit %s", path, hex);
        r = ERR_NOTFOUND;
    } else if (gr < 0) {
        odb_fail(&w, "tree of commit", git_commit_id(commit));
    } else {
        read_entry(&w, e, path);
    }
out_free:
    if (r == 0 && w.fail != NULL) {
        *ret_errmsg = w.fail;
        w.fail = NULL;
        r = ERR_IO;
    }
    free(w.fail);
    git_tree_entry_free(e);
    git_tree_free(root);
    git_odb_free(w.odb);
    if (r == 0 && snap->n > 1)
        qsort(snap->files, snap->n, sizeof(*snap->files), cmp_file);
    return r;
}
