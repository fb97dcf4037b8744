/*
 * push.h - the Pub/Sub push envelope and what a pushed message means to
 * roam (CONTRACTS.md §6).
 *
 * push_decode() reads the wrapped push body: {"message": {"data",
 * "attributes", "messageId", "publishTime", "orderingKey"}, "subscription",
 * "deliveryAttempt"}.  Unknown fields are ignored; the snake_case
 * duplicates (message_id, publish_time) are read only when the camelCase
 * field is absent.  The unwrapped form (pushConfig.noWrapper) has no
 * "message" object and is rejected: roam requires the wrapper.
 *
 * push_classify() then sorts the message:
 *
 *   STORAGE  Cloud Storage notification attributes (eventType, bucketId,
 *            objectId, objectGeneration): refresh the bucket source.
 *   ASSET    a Cloud Asset feed TemporalAsset for a Cloud Run service or
 *            job, or a service account: reconcile that one resource.
 *   WELCOME  data that is not JSON, as the feed's first (plain text)
 *            message: ack and ignore (CONTRACTS.md §6.5: "ack and ignore
 *            anything that does not parse").
 *   OTHER    anything else: a full resync (always safe).
 *
 * Pure functions: no I/O, no logging.  Messages are hints; the caller
 * re-reads live state before acting.
 */
#ifndef ROAM_PUSH_H
#define ROAM_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/common/err.h"

struct push_attr {
    char *key;
    char *value;
};

/* One decoded push.  Strings owned, freed by push_message_release(). */
struct push_message {
    char *message_id;           /* required */
    char *publish_time;         /* NULL when absent */
    char *ordering_key;         /* NULL when absent */
    char *subscription;         /* NULL when absent */
    long long delivery_attempt; /* 0 when absent (no dead-letter policy) */
    bool has_data;              /* "data" was present (possibly empty) */
    unsigned char *data;        /* decoded payload, NUL-terminated (not counted) */
    size_t data_len;
    struct push_attr *attrs; /* in body order */
    size_t nattrs;
};

/*
 * Decodes a push body of len bytes.  Returns 0, or ERR_PARSE (not JSON, no
 * "message" object, a field of the wrong type, data not base64, no message
 * id) / ERR_LIMIT (more than CAP_PUSH_ATTRIBUTES attributes), with the
 * field path in err (may be NULL).  The caller answers 400 on error.  *ret
 * is zeroed first and left released on failure.
 */
int push_decode(const char *body, size_t len, struct push_message *ret, struct err_detail *err);
void push_message_release(struct push_message *m);

/* The value of an attribute, or NULL.  Valid while m is. */
const char *push_message_attr(const struct push_message *m, const char *key);

enum push_kind { PUSH_OTHER, PUSH_STORAGE, PUSH_ASSET, PUSH_WELCOME, PUSH_KIND_MAX };

enum push_storage_event {
    PUSH_OBJECT_FINALIZE,
    PUSH_OBJECT_DELETE,
    PUSH_OBJECT_METADATA_UPDATE,
    PUSH_OBJECT_ARCHIVE,
    PUSH_STORAGE_EVENT_MAX
};

enum push_asset_type {
    PUSH_ASSET_RUN_SERVICE,     /* run.googleapis.com/Service */
    PUSH_ASSET_RUN_JOB,         /* run.googleapis.com/Job */
    PUSH_ASSET_SERVICE_ACCOUNT, /* iam.googleapis.com/ServiceAccount */
    PUSH_ASSET_TYPE_MAX
};

/* What a message means.  Strings owned, freed by push_event_release(). */
struct push_event {
    enum push_kind kind;
    /* STORAGE */
    enum push_storage_event event;
    char *bucket;
    char *object;
    long long generation; /* 0 when the attribute is absent */
    bool overwritten;     /* DELETE/ARCHIVE caused by a newer generation */
    /* ASSET */
    enum push_asset_type asset_type;
    char *resource;  /* roam's form: projects/p/locations/r/services/s,
                      * projects/p/locations/r/jobs/j, projects/p/serviceAccounts/x */
    bool deleted;    /* the asset was deleted */
    bool numeric_id; /* service account named by its numeric unique id, not
                      * its e-mail: IAM accepts it, matching to apps cannot */
};

/*
 * Classifies m.  Returns 0 with *ret filled (kind OTHER when nothing more
 * specific applies: an unknown eventType, an asset type or name roam does
 * not manage, JSON that is not a TemporalAsset, no data), or ERR_PARSE for
 * a malformed message of a known kind (objectGeneration not a decimal
 * int64, a TemporalAsset whose asset.name / asset.assetType is not a
 * string or a resource name that does not fit its type), with the reason
 * in err (may be NULL).  *ret is zeroed first.
 */
int push_classify(const struct push_message *m, struct push_event *ret, struct err_detail *err);
void push_event_release(struct push_event *e);

/* "STORAGE", "OBJECT_FINALIZE", "run.googleapis.com/Service", ... */
const char *push_kind_name(enum push_kind k);
const char *push_storage_event_name(enum push_storage_event e);
const char *push_asset_type_name(enum push_asset_type t);

/*
 * Maps a full asset name of a type roam manages to roam's resource name:
 * //run.googleapis.com/projects/p/locations/r/services/s ->
 * projects/p/locations/r/services/s (jobs alike),
 * //iam.googleapis.com/projects/p/serviceAccounts/x ->
 * projects/p/serviceAccounts/x.  Every segment must be non-empty and free
 * of '/'.  Returns a new string, or NULL when name does not fit type.
 */
char *push_asset_resource(enum push_asset_type type, const char *name);

#endif
