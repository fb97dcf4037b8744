/*
 * bucket_cache.h - the (object name, generation, bytes) cache of a bucket
 * source (source_bucket.h), in memory and optionally on disk.
 *
 * Memory: an array sorted by object name, one entry per name (a newer
 * generation replaces the older).  Disk (when a directory is given): one
 * file per object, `<SHA-256 of the object name, 64 hex>.obj`, and `index`:
 *
 *   roam-bucket-cache 1 <percent-encoded source URL>
 *   <generation> <length> <SHA-256 of the bytes, 64 hex> <percent-encoded object name>
 *   ...
 *
 * The index is read once, at init; an index of another source or one with
 * a malformed line is ignored whole.  A disk entry is used only when its
 * file has the recorded length and digest.  src_bcache_sync() makes the
 * disk match memory: new or changed object files first (temporary file and
 * rename), then the index (the same way), then the files of objects no
 * longer cached.  Nothing is fsync'ed: a crash may leave a torn or stale
 * file, but every entry is checked against its digest before use and a torn
 * index fails to parse, so the worst case is a download.
 *
 * Alternatives rejected: a JSON index (jansson stays in api/ decoders; the
 * line format needs no quoting once names are percent-encoded); files named
 * by the content digest (a changed object would leave its old file behind
 * until a scan).  Everything is synchronous; the caller runs it on the loop
 * thread between network steps.
 */
#ifndef ROAM_SOURCE_BUCKET_CACHE_H
#define ROAM_SOURCE_BUCKET_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct src_bcache_entry {
    char *name; /* owned */
    long long generation;
    char *data; /* owned, NUL-terminated */
    size_t len;
    char sha[65]; /* hex digest of data; "" until needed */
};

struct src_bcache_disk; /* an index line */

struct src_bcache {
    struct src_bcache_entry *v; /* sorted by name */
    size_t n, cap;
    char *dir;                    /* NULL: memory only */
    char *source;                 /* the source URL the index belongs to */
    struct src_bcache_disk *disk; /* the index as last read or written */
    size_t n_disk, cap_disk;
    bool dirty; /* memory differs from the disk */
};

/* Sets up an empty cache and, when dir is not NULL, reads dir/index (a
 * missing or unusable index is an empty one).  Cannot fail. */
void src_bcache_init(struct src_bcache *c, const char *source, const char *dir);
void src_bcache_release(struct src_bcache *c);

/*
 * The bytes of (name, generation): from memory, else from disk (then kept
 * in memory too; *ret_from_disk set).  Returns a borrowed entry, valid
 * until the next change of the cache, or NULL.
 */
const struct src_bcache_entry *src_bcache_get(struct src_bcache *c, const char *name,
                                              long long generation, bool *ret_from_disk);

/* Stores (name, generation, data) in memory, replacing the entry of that
 * name; takes data (malloc'ed, NUL-terminated, len bytes). */
void src_bcache_put(struct src_bcache *c, const char *name, long long generation, char *data,
                    size_t len);

/* Drops every entry whose name is not in names (sorted by strcmp). */
void src_bcache_retain(struct src_bcache *c, const char *const *names, size_t n);

/* Writes the disk cache when memory changed (no-op without a directory).
 * Returns the number of files that could not be written or removed. */
unsigned src_bcache_sync(struct src_bcache *c);

#endif
