/*
 * source_bucket.h - a Cloud Storage bucket (`gs://bucket/prefix`) as a
 * source of declarations, read asynchronously on the gcp_http loop.
 *
 * A read lists every object under the prefix (objects.list, every page,
 * `fields=nextPageToken,items(name,generation,size)`), keeps `*.yaml` and
 * `*.yml`, and downloads (alt=media&generation=G, so the bytes are those of
 * the generation listed) only the objects whose generation it does not
 * already hold.  The struct is long-lived: it keeps a cache of (object
 * name, generation, bytes) between reads, in memory and, when a cache
 * directory is given, on disk, so that a restart does not download the
 * bucket again.  A poll of an unchanged bucket costs one list request per
 * 1,000 objects and no download.
 *
 * The snapshot (source.h) has paths relative to the prefix, sorted, and the
 * revision `gs:` + the first 16 hex digits of a SHA-256 over every (object
 * name, generation) of the listed documents in name order.  Untrusted input
 * rules as for directories: an object name with a `..` segment, a leading
 * '/' (relative to the prefix) or control characters is refused, as is a
 * document passing CAP_MANIFEST_BYTES (by the listed size, before any
 * download), CAP_SOURCE_FILES or CAP_SOURCE_BYTES; each refusal names the
 * object (`gs://bucket/name`) in snap->errs, refuses only that object and
 * makes the snapshot incomplete (complete = false).  Objects below a
 * "directory" whose name starts with '.' are skipped, as the directory
 * source skips dot-directories (the default gs:// ledger lives under
 * `.roam/state/` of the source bucket).
 *
 * A listing that fails or is cut short, or a download that fails, fails the
 * read: the callback gets err < 0 and a message, and the previous snapshot
 * stays the current one (a failed read is never an empty source).  Objects
 * downloaded before the failure are kept in the cache, so the next read
 * does not fetch them again.
 *
 * Disk cache: cache_dir is a cache root that other sources may share; a
 * bucket source keeps its files in a directory of its own below it,
 * `<cache_dir>/gs-<16 hex of the SHA-256 of the URL>` (src_bucket_cache_dir):
 * one file per object, named by the SHA-256 of its object name
 * (`<64 hex>.obj`), plus `index`, a text file whose first line names the
 * source and whose other lines hold generation, length, SHA-256 of the
 * bytes and the percent-encoded object name (bucket_cache.h).  Both are
 * replaced atomically (temporary file and rename).  An index of another
 * source, an unreadable or malformed index, or an object file whose length
 * or digest does not match is ignored (those objects are downloaded again)
 * and the cache is rewritten after the next successful read.  Cache files
 * are read and written synchronously on the loop thread after the listing;
 * they are the size of the documents, which the caps keep small.  A cache
 * that cannot be written costs downloads after a restart, nothing else
 * (counted in the stats).
 *
 * Endpoint: storage.h (STORAGE_EMULATOR_HOST, ROAM_STORAGE_ENDPOINT).
 * Everything runs on the loop of the gcp_http client; nothing is logged.
 */
#ifndef ROAM_SOURCE_BUCKET_H
#define ROAM_SOURCE_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/gcp/http.h"
#include "controller/source/source.h"

struct src_bucket;

/*
 * Creates a bucket source for url (`gs://bucket[/prefix]`) on client h
 * (borrowed; it must outlive b).  cache_dir (a cache root) may be NULL:
 * memory only; the source's directory below it is created when missing, at
 * the first write.  Returns 0 and *ret, or ERR_INVAL with a message in
 * *ret_errmsg (caller frees; may be NULL).
 */
int src_bucket_new(struct gcp_http *h, const char *url, const char *cache_dir,
                   struct src_bucket **ret, char **ret_errmsg);

/*
 * Completion of a read.  err 0: snap is the new current snapshot (valid
 * until the next read or src_bucket_free; complete == false when objects
 * were refused, listed in snap->errs), changed tells whether its revision
 * differs from the previous successful read's (true on the first).  err < 0:
 * errmsg says what failed (`cannot list 'gs://b/apps/': permission denied
 * (PERMISSION_DENIED)`), snap is NULL and the previous snapshot is kept
 * (src_bucket_snapshot).  The callback may start the next read.
 */
typedef void src_bucket_cb(struct src_bucket *b, int err, const char *errmsg,
                           const struct src_snapshot *snap, bool changed, void *data);

/* Starts a read.  The async contract: 0 and exactly one callback later, or
 * an error (ERR_INVAL: a read is already in flight; a submission error) and
 * none. */
int src_bucket_read(struct src_bucket *b, src_bucket_cb *cb, void *data);

/* The directory below the cache root that holds url's cache (a new
 * string). */
char *src_bucket_cache_dir(const char *cache_dir, const char *url);

/* The current snapshot (the last successful read's), or NULL before one. */
const struct src_snapshot *src_bucket_snapshot(const struct src_bucket *b);

/* Counters, for metrics and tests. */
struct src_bucket_stats {
    uint64_t reads;            /* reads completed, failed ones included */
    uint64_t listings;         /* listings completed (all pages) */
    uint64_t downloads;        /* object downloads answered (all reads) */
    unsigned last_downloads;   /* downloads of the last read */
    unsigned last_from_memory; /* documents of the last read taken from memory */
    unsigned last_from_disk;   /* ... from the disk cache */
    uint64_t cache_errors;     /* disk cache files that could not be written */
};
void src_bucket_stats(const struct src_bucket *b, struct src_bucket_stats *ret);

/* Frees b and its cache (NULL-safe).  Not while a read is in flight: call it
 * from the callback or after it. */
void src_bucket_free(struct src_bucket *b);

#endif
