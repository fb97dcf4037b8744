/*
 * src.h - a source of declarations, whatever its kind, read asynchronously.
 *
 * The URL picks the kind (DESIGN.md §3):
 *   PATH or file:///dir                     a directory tree (source_dir.c)
 *   git+https://host/repo.git?ref=&path=   Git, also git+http, git+ssh,
 *                                           git+file, git:// (source_git.c)
 *   gs://bucket/prefix                      a Cloud Storage bucket
 *                                           (source_bucket.c, the JSON API)
 *
 * A read yields a snapshot (files + revision).  Directory and Git reads are
 * blocking work and run on the libuv thread pool, so the loop never blocks;
 * the bucket source is asynchronous HTTP on the loop.  A source keeps its last
 * good snapshot: a read that fails (server unreachable, listing incomplete,
 * bad ref) reports the error and leaves that snapshot in place, so a failed
 * read is never mistaken for an empty source.  `changed` says whether the
 * revision moved, which makes a no-change poll cheap for the caller too.
 */
#ifndef ROAM_SRC_H
#define ROAM_SRC_H

#include <stdbool.h>

#include <uv.h>

#include "controller/source/source.h"

struct gcp_http;
struct src;

enum src_kind { SRC_DIR, SRC_GIT, SRC_BUCKET, SRC_KIND_MAX };

struct src_env {
    uv_loop_t *loop;
    struct gcp_http *http; /* for gs:// sources; borrowed */
    const char *cache_dir; /* NULL: src_default_cache_dir() */
};

/*
 * Completion of a read: err 0 and the new snapshot, or err < 0 with a
 * message and the previous snapshot (NULL when there has never been one).
 * snap is owned by the source and valid until the next read or close.
 */
typedef void src_read_cb(struct src *s, int err, const char *errmsg,
                         const struct src_snapshot *snap, bool changed, void *data);

/* Parses the URL and prepares the source (no I/O yet).  Returns 0, or
 * ERR_INVAL with *ret_errmsg (caller frees). */
int src_open(const char *url, const struct src_env *env, struct src **ret, char **ret_errmsg);
/* Reads (fetches, lists) the source.  One read at a time: ERR_CONFLICT while
 * one is running.  The callback runs exactly once, from the loop. */
int src_read(struct src *s, src_read_cb *cb, void *data);
enum src_kind src_kind(const struct src *s);
const char *src_url(const struct src *s);
/* The last good snapshot, or NULL. */
const struct src_snapshot *src_last(const struct src *s);
/* Frees the source; no read may be running. */
void src_close(struct src *s);

/* $ROAM_CACHE_DIR, else $XDG_CACHE_HOME/roam, else $HOME/.cache/roam, else
 * /tmp/roam-cache.  A new string. */
char *src_default_cache_dir(void);

/* The default ledger location for a source URL (DESIGN.md §2): for a bucket
 * source gs://BUCKET/.roam/state, else ./.roam/state.  A new string. */
char *src_default_state(const char *url);

#endif
