/*
 * gcs.h - Cloud Storage JSON API v1 objects as roam names and reads them.
 *
 * Pure helpers for the Storage client (controller/gcp/storage.h): where the
 * API lives (STORAGE_EMULATOR_HOST, ROAM_STORAGE_ENDPOINT or Google's host),
 * `gs://bucket/prefix` locations, the URLs of objects.list, objects.get
 * (alt=media), the simple media upload and objects.delete, and the decoders
 * of a listing page and of an Object.  Bytes in, structs out; jansson stays
 * inside gcs.c.
 *
 * Object and bucket names are "simple" path parameters (CONTRACTS.md §5):
 * every byte outside the unreserved set (A-Z a-z 0-9 - . _ ~) is
 * percent-encoded, '/' included (`a/b.yaml` -> `a%2Fb.yaml`) and space as
 * `%20`, never `+`.  Query values are encoded the same way, so a '+' in a
 * name (which a form decoder would turn into a space) travels as `%2B`.
 * Unicode names are encoded byte by byte in UTF-8.
 *
 * Storage answers int64 fields as JSON strings (`"generation":
 * "1718031500123456"`); the decoders also accept JSON integers, as the
 * contract asks.  `items` is absent when nothing matched and
 * `nextPageToken` is absent on the last page.  Errors use the legacy format,
 * which gerr.h already decodes.
 */
#ifndef ROAM_GCS_H
#define ROAM_GCS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/common/err.h"

#define GCS_DEFAULT_BASE "https://storage.googleapis.com/"
/* Objects per listing page: the API's default and maximum. */
#define GCS_LIST_PAGE_MAX 1000u

/* Where the API lives.  base ends with '/'; the JSON API is under
 * `{base}storage/v1/`, uploads under `{base}upload/storage/v1/`. */
struct gcs_endpoint {
    char *base;   /* owned */
    bool no_auth; /* an emulator named by STORAGE_EMULATOR_HOST: requests
                   * carry no Authorization (Google's libraries do the same) */
};

/*
 * Sets up *ep from the two environment values (either may be NULL or
 * empty): emulator_host (STORAGE_EMULATOR_HOST: `host:port` or
 * `scheme://host:port`; without a scheme `http://` is assumed; no_auth is
 * set) wins over endpoint (ROAM_STORAGE_ENDPOINT: a base URL, with or
 * without a trailing slash; authorised), else GCS_DEFAULT_BASE.  Cannot
 * fail.
 */
void gcs_endpoint_init(struct gcs_endpoint *ep, const char *emulator_host, const char *endpoint);
void gcs_endpoint_release(struct gcs_endpoint *ep);

/* A `gs://bucket/prefix` location.  prefix is "" (the whole bucket) or ends
 * with '/': `gs://b/apps` and `gs://b/apps/` both list `apps/...` and not
 * `apps-old/...`. */
struct gcs_location {
    char *bucket; /* owned */
    char *prefix; /* owned */
};

/*
 * Parses url into *ret (initialised by the call).  The bucket must be 3 to
 * 222 characters of a-z 0-9 - _ . (Storage's rule, loosely); the prefix may
 * hold any bytes but control characters.  Returns 0, or ERR_INVAL with a
 * message in *ret_errmsg (caller frees; may be NULL to discard).
 */
int gcs_location_parse(const char *url, struct gcs_location *ret, char **ret_errmsg);
void gcs_location_release(struct gcs_location *loc);

/* Percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (uppercase hex).
 * Returns a new string. */
char *gcs_encode(const char *s);
/*
 * Reverses gcs_encode (any %XX, either case; other bytes are taken as they
 * are).  Returns 0 and a new string in *ret, or ERR_PARSE for a malformed
 * escape or an escaped NUL (*ret untouched).
 */
int gcs_decode(const char *s, char **ret);

/*
 * URLs (new strings).  Generations and preconditions are decimal int64.
 *
 *   gcs_list_url    GET {base}storage/v1/b/B/o?prefix=P&maxResults=N&fields=
 *                   nextPageToken,items(name,generation,size)&prettyPrint=false
 *                   [&pageToken=T]   (prefix "" and page_token NULL omitted)
 *   gcs_media_url   GET {base}storage/v1/b/B/o/NAME?alt=media[&generation=G]
 *                   (generation <= 0: the live one)
 *   gcs_upload_url  POST {base}upload/storage/v1/b/B/o?uploadType=media&name=NAME
 *                   [&ifGenerationMatch=G]  (G < 0: no precondition; 0: must
 *                   not exist)
 *   gcs_object_url  {base}storage/v1/b/B/o/NAME[?ifGenerationMatch=G]
 *                   (metadata GET, DELETE; G < 0: no precondition)
 */
char *gcs_list_url(const struct gcs_endpoint *ep, const char *bucket, const char *prefix,
                   const char *page_token, unsigned max_results);
char *gcs_media_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                    long long generation);
char *gcs_upload_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                     long long if_generation_match);
char *gcs_object_url(const struct gcs_endpoint *ep, const char *bucket, const char *name,
                     long long if_generation_match);

/* What roam reads of an Object. */
struct gcs_object {
    char *name;           /* owned */
    long long generation; /* > 0 */
    long long size;       /* bytes; -1 when the answer did not say */
};

struct gcs_objects {
    struct gcs_object *v;
    size_t n, cap;
};

void gcs_object_release(struct gcs_object *o);
void gcs_objects_init(struct gcs_objects *l);
void gcs_objects_release(struct gcs_objects *l);

/* Which listed names to keep (a filter, so that a listing of many objects
 * does not keep the ones the caller ignores anyway). */
typedef bool gcs_keep_fn(const char *name, void *data);

/*
 * Decodes one objects.list page: appends the items keep() accepts (keep
 * NULL: all) to *ret and sets *ret_next to a new string with nextPageToken,
 * or NULL on the last page (absent or empty token).  Every item needs a
 * string `name` (at most CAP_NAME_BYTES, no NUL) and a `generation` > 0;
 * `size` may be absent (-1).  Returns the number of items on the page
 * (kept or not), or ERR_PARSE with a path in *err (may be NULL); on error
 * *ret may have gained entries of the page and *ret_next is NULL.
 */
int gcs_list_decode(const char *json, size_t len, gcs_keep_fn *keep, void *keep_data,
                    struct gcs_objects *ret, char **ret_next, struct err_detail *err);

/* Decodes an Object (the answer of an upload or a metadata GET) into *ret
 * (initialised by the call).  Returns 0 or ERR_PARSE with a path in *err. */
int gcs_object_decode(const char *json, size_t len, struct gcs_object *ret, struct err_detail *err);

/* Parses a generation (a decimal int64 > 0, e.g. an `x-goog-generation`
 * header).  Returns 0, ERR_PARSE or ERR_LIMIT (*ret untouched on error). */
int gcs_parse_generation(const char *s, long long *ret);

#endif
