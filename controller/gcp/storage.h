/*
 * storage.h - the Cloud Storage JSON API v1 calls roam makes: list the
 * objects under a prefix (every page), download one object's bytes at a
 * generation, upload bytes with ifGenerationMatch, delete with
 * ifGenerationMatch.  URLs and decoders come from api/gcp/gcs.h, transport
 * and retries from http.h; this file glues them and words the failures.
 *
 * Endpoint (CONTRACTS.md §5.5): STORAGE_EMULATOR_HOST (host:port or
 * scheme://host:port; requests then carry no Authorization, flag
 * GCP_REQ_NO_AUTH), else ROAM_STORAGE_ENDPOINT (a base URL, authorised),
 * else https://storage.googleapis.com/.
 *
 * Retries: list and get are idempotent; uploads and deletes always carry
 * ifGenerationMatch here, which makes them idempotent too (§1.2: a resend
 * after a lost answer either succeeds or meets 412), so the transport
 * retries all four.  A failed precondition (412, or 304 which the test
 * bench answers for *NotMatch; both are treated alike, §5.3) comes back as
 * ERR_CONFLICT; a missing object or bucket as ERR_NOTFOUND.
 *
 * Messages name objects as `gs://bucket/name`: `cannot read
 * 'gs://b/apps/a.yaml': permission denied (PERMISSION_DENIED)`.
 * Everything runs on the loop of the gcp_http client; nothing is logged.
 */
#ifndef ROAM_GCP_STORAGE_H
#define ROAM_GCP_STORAGE_H

#include <stddef.h>

#include "api/gcp/gcs.h"
#include "controller/gcp/http.h"

struct gstorage {
    struct gcp_http *http; /* borrowed */
    struct gcs_endpoint ep;
};

/* The endpoint from the environment (see above).  Cannot fail. */
void gstorage_init(struct gstorage *s, struct gcp_http *http);
/* The endpoint given (the two values as gcs_endpoint_init takes them). */
void gstorage_init_with(struct gstorage *s, struct gcp_http *http, const char *emulator_host,
                        const char *endpoint);
void gstorage_release(struct gstorage *s);

/*
 * Every object whose name starts with prefix ("" for all) and that keep
 * accepts (NULL: all), following nextPageToken with the same parameters up
 * to CAP_STORAGE_LIST_PAGES pages (more is ERR_LIMIT: a listing that does
 * not end is not a listing).  objs is valid during the call; the callee may
 * take it (struct copy, then gcs_objects_init on the original).  On error
 * objs is NULL and errmsg says what failed.  keep_data must stay valid until
 * the callback.  The async contract: 0 and exactly one callback later, or
 * an error and none.
 */
typedef void gstorage_list_cb(void *data, int err, const char *errmsg, struct gcs_objects *objs);
int gstorage_list(struct gstorage *s, const char *bucket, const char *prefix, gcs_keep_fn *keep,
                  void *keep_data, gstorage_list_cb *cb, void *data);

/*
 * The bytes of an object (alt=media), of the given generation when > 0
 * (ERR_NOTFOUND once that generation is gone).  body (NUL-terminated, len
 * bytes) is valid during the call; generation is the x-goog-generation of
 * the answer (0 when absent or malformed).
 */
typedef void gstorage_media_cb(void *data, int err, long status, const char *errmsg,
                               const char *body, size_t len, long long generation);
int gstorage_get_media(struct gstorage *s, const char *bucket, const char *name,
                       long long generation, gstorage_media_cb *cb, void *data);

/*
 * Upload (uploadType=media) with ifGenerationMatch=if_generation_match
 * (0: only when no live object exists; must be >= 0); delete with
 * ifGenerationMatch (must be > 0).  generation is the new object's (upload)
 * or 0.  ERR_CONFLICT: the precondition failed.
 */
typedef void gstorage_write_cb(void *data, int err, long status, const char *errmsg,
                               long long generation);
int gstorage_upload(struct gstorage *s, const char *bucket, const char *name,
                    const char *content_type, const void *body, size_t len,
                    long long if_generation_match, gstorage_write_cb *cb, void *data);
int gstorage_delete(struct gstorage *s, const char *bucket, const char *name,
                    long long if_generation_match, gstorage_write_cb *cb, void *data);

#endif
