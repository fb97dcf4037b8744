/*
 * source.h - where declarations come from.
 *
 * A source yields a snapshot: the set of document files (path relative to
 * the source root, bytes) and a revision that changes whenever the content
 * does (a content digest for a directory; later the commit SHA for Git and a
 * digest of (name, generation) for a bucket).  A listing that fails or is
 * incomplete is an error recorded in the snapshot (complete = false), never
 * an empty source: the reconciler must not mistake it for "every app was
 * deleted".
 *
 * Untrusted input rules (STYLE.md §6): only *.yaml / *.yml, caps on file
 * count, file size and total bytes (caps.h), symlinks that leave the root
 * refused, `..` and absolute paths refused; each problem names the file and
 * rejects only that file.
 */
#ifndef ROAM_SOURCE_H
#define ROAM_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/common/err.h"

struct src_file {
    char *path; /* relative to the root, '/'-separated; owned */
    char *data; /* owned; NUL-terminated for convenience */
    size_t len;
};

struct src_snapshot {
    char *root;             /* as given; owned */
    struct src_file *files; /* sorted by path */
    size_t n, cap;
    char *revision;       /* owned; NULL until computed */
    bool complete;        /* false: something could not be read (see errs) */
    struct err_list errs; /* file-level problems, file = path */
};

void src_snapshot_init(struct src_snapshot *s);
void src_snapshot_release(struct src_snapshot *s);
/* Deep copy into *ret (initialised by the call). */
void src_snapshot_copy(struct src_snapshot *ret, const struct src_snapshot *src);

/*
 * Reads a directory tree (or a single file, taken whatever its name) into
 * *s (initialised by the call).  Directories whose name starts with '.' are
 * skipped.  Returns 0 when the snapshot is complete, or a negative code when
 * the root itself cannot be read or some file was refused (problems in
 * s->errs, s->complete false).  The revision is `dir:` followed by the first
 * 16 hex digits of a SHA-256 over every (path, bytes) pair in path order.
 */
int src_dir_read(const char *root, struct src_snapshot *s);

/* Strips a file:// prefix; returns a pointer into url. */
const char *src_dir_path(const char *url);

#endif
