/*
 * push.c - Pub/Sub push envelope decoding and message classification (see
 * push.h).
 *
 * jansson reads the envelope and any TemporalAsset; everything is copied
 * into our structs before the JSON is released, so no json_t escapes.
 */
#include "push.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "api/push/b64.h"

static int fail(struct err_detail *err, int code, const char *path, const char *msg)
{
    if (err != NULL) {
        err_detail_release(err);
        err->code = code;
        err->path = xstrdup(path);
        err->msg = xstrdup(msg);
    }
    return code;
}

/* An optional string member; null counts as absent. */
static int opt_str(json_t *o, const char *key, const char *path, char **ret, struct err_detail *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, ERR_PARSE, path, "expected a string");
    *ret = xstrdup(json_string_value(v));
    return 0;
}

static int decode_data(json_t *msg, struct push_message *m, struct err_detail *err)
{
    json_t *v = json_object_get(msg, "data");

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, ERR_PARSE, "message.data", "expected a string");
    if (b64_decode(json_string_value(v), json_string_length(v), B64_ANY, &m->data, &m->data_len) !=
        0)
        return fail(err, ERR_PARSE, "message.data", "not base64");
    m->has_data = true;
    return 0;
}

static int decode_attrs(json_t *msg, struct push_message *m, struct err_detail *err)
{
    json_t *v = json_object_get(msg, "attributes"), *e;
    const char *key;

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, ERR_PARSE, "message.attributes", "expected an object");
    if (json_object_size(v) > CAP_PUSH_ATTRIBUTES)
        return fail(err, ERR_LIMIT, "message.attributes", "too many attributes");
    m->attrs = xcalloc(json_object_size(v) + 1, sizeof(*m->attrs));
    json_object_foreach (v, key, e) {
        if (!json_is_string(e))
            return fail(err, ERR_PARSE, "message.attributes", "expected string values");
        m->attrs[m->nattrs].key = xstrdup(key);
        m->attrs[m->nattrs].value = xstrdup(json_string_value(e));
        m->nattrs++;
    }
    return 0;
}

/* int32 in proto3 JSON: a number, or a decimal string. */
static int decode_attempt(json_t *root, struct push_message *m, struct err_detail *err)
{
    json_t *v = json_object_get(root, "deliveryAttempt");

    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT32_MAX) {
        m->delivery_attempt = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) &&
        str_to_ll(json_string_value(v), 0, INT32_MAX, &m->delivery_attempt) == 0)
        return 0;
    return fail(err, ERR_PARSE, "deliveryAttempt", "expected a non-negative integer");
}

/* camelCase first, snake_case as a fallback. */
static int opt_str2(json_t *o, const char *camel, const char *snake, const char *path, char **ret,
                    struct err_detail *err)
{
    int rc = opt_str(o, camel, path, ret, err);

    if (rc == 0 && *ret == NULL)
        rc = opt_str(o, snake, path, ret, err);
    return rc;
}

static int decode_message(json_t *msg, struct push_message *m, struct err_detail *err)
{
    int rc;

    rc = opt_str2(msg, "messageId", "message_id", "message.messageId", &m->message_id, err);
    if (rc == 0 && (m->message_id == NULL || m->message_id[0] == '\0'))
        rc = fail(err, ERR_PARSE, "message.messageId", "missing");
    if (rc == 0)
        rc = opt_str2(msg, "publishTime", "publish_time", "message.publishTime", &m->publish_time,
                      err);
    if (rc == 0)
        rc = opt_str2(msg, "orderingKey", "ordering_key", "message.orderingKey", &m->ordering_key,
                      err);
    if (rc == 0)
        rc = decode_data(msg, m, err);
    if (rc == 0)
        rc = decode_attrs(msg, m, err);
    return rc;
}

int push_decode(const char *body, size_t len, struct push_message *ret, struct err_detail *err)
{
    json_error_t je;
    json_t *root, *msg;
    int rc;

    memset(ret, 0, sizeof(*ret));
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return fail(err, ERR_PARSE, "", "not a JSON object");
    }
    msg = json_object_get(root, "message");
    if (msg == NULL || !json_is_object(msg)) {
        rc = fail(err, ERR_PARSE, "message", "expected an object (wrapped push)");
        goto out_decref;
    }
    rc = decode_message(msg, ret, err);
    if (rc == 0)
        rc = opt_str(root, "subscription", "subscription", &ret->subscription, err);
    if (rc == 0)
        rc = decode_attempt(root, ret, err);
out_decref:
    json_decref(root);
    if (rc != 0)
        push_message_release(ret);
    return rc;
}

void push_message_release(struct push_message *m)
{
    size_t i;

    free(m->message_id);
    free(m->publish_time);
    free(m->ordering_key);
    free(m->subscription);
    free(m->data);
    for (i = 0; i < m->nattrs; i++) {
        free(m->attrs[i].key);
        free(m->attrs[i].value);
    }
    free(m->attrs);
    memset(m, 0, sizeof(*m));
}

const char *push_message_attr(const struct push_message *m, const char *key)
{
    size_t i;

    for (i = 0; i < m->nattrs; i++)
        if (strcmp(m->attrs[i].key, key) == 0)
            return m->attrs[i].value;
    return NULL;
}

static const char *const kind_names[PUSH_KIND_MAX] = {"OTHER", "STORAGE", "ASSET", "WELCOME"};
static const char *const event_names[PUSH_STORAGE_EVENT_MAX] = {
    "OBJECT_FINALIZE", "OBJECT_DELETE", "OBJECT_METADATA_UPDATE", "OBJECT_ARCHIVE"};
static const char *const asset_names[PUSH_ASSET_TYPE_MAX] = {
    "run.googleapis.com/Service", "run.googleapis.com/Job", "iam.googleapis.com/ServiceAccount"};

const char *push_kind_name(enum push_kind k)
{
    return (unsigned)k < PUSH_KIND_MAX ? kind_names[k] : "?";
}

const char *push_storage_event_name(enum push_storage_event e)
{
    return (unsigned)e < PUSH_STORAGE_EVENT_MAX ? event_names[e] : "?";
}

const char *push_asset_type_name(enum push_asset_type t)
{
    return (unsigned)t < PUSH_ASSET_TYPE_MAX ? asset_names[t] : "?";
}

/* Checks that s is "k0/v0/k1/v1/..." with the given keys and non-empty
 * values free of '/'. */
static bool segments_fit(const char *s, const char *const *keys, size_t nkeys)
{
    size_t i, n;

    for (i = 0; i < nkeys; i++) {
        n = strlen(keys[i]);
        if (strncmp(s, keys[i], n) != 0 || s[n] != '/')
            return false;
        s += n + 1;
        n = strcspn(s, "/");
        if (n == 0)
            return false;
        s += n;
        if (i + 1 < nkeys) {
            if (*s != '/')
                return false;
            s++;
        }
    }
    return *s == '\0';
}

char *push_asset_resource(enum push_asset_type type, const char *name)
{
    static const char *const run_svc[] = {"projects", "locations", "services"};
    static const char *const run_job[] = {"projects", "locations", "jobs"};
    static const char *const sa[] = {"projects", "serviceAccounts"};
    const char *prefix =
        type == PUSH_ASSET_SERVICE_ACCOUNT ? "//iam.googleapis.com/" : "//run.googleapis.com/";
    const char *rest;
    bool ok;

    if (!str_has_prefix(name, prefix) || strlen(name) > CAP_NAME_BYTES)
        return NULL;
    rest = name + strlen(prefix);
    switch (type) {
    case PUSH_ASSET_RUN_SERVICE:
        ok = segments_fit(rest, run_svc, 3);
        break;
    case PUSH_ASSET_RUN_JOB:
        ok = segments_fit(rest, run_job, 3);
        break;
    case PUSH_ASSET_SERVICE_ACCOUNT:
        ok = segments_fit(rest, sa, 2);
        break;
    default:
        ok = false;
        break;
    }
    return ok ? xstrdup(rest) : NULL;
}

static int classify_storage(const struct push_message *m, const char *type, struct push_event *e,
                            struct err_detail *err)
{
    const char *gen = push_message_attr(m, "objectGeneration");
    const char *object = push_message_attr(m, "objectId");
    int i;

    for (i = 0; i < PUSH_STORAGE_EVENT_MAX; i++)
        if (strcmp(type, event_names[i]) == 0)
            break;
    if (i == PUSH_STORAGE_EVENT_MAX)
        return 0; /* an event type we do not know: OTHER, resync */
    if (object == NULL || object[0] == '\0')
        return fail(err, ERR_PARSE, "message.attributes.objectId", "missing");
    if (gen != NULL && str_to_ll(gen, 0, INT64_MAX, &e->generation) != 0)
        return fail(err, ERR_PARSE, "message.attributes.objectGeneration",
                    "expected a decimal generation");
    e->kind = PUSH_STORAGE;
    e->event = (enum push_storage_event)i;
    e->bucket = xstrdup(push_message_attr(m, "bucketId"));
    e->object = xstrdup(object);
    e->overwritten = (e->event == PUSH_OBJECT_DELETE || e->event == PUSH_OBJECT_ARCHIVE) &&
                     push_message_attr(m, "overwrittenByGeneration") != NULL;
    return 0;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int classify_asset_object(json_t *asset, bool deleted, struct push_event *e,
                                 struct err_detail *err)
{
    json_t *name = json_object_get(asset, "name"), *type = json_object_get(asset, "assetType");
    int i;

    if (!json_is_string(name) || !json_is_string(type))
        return fail(err, ERR_PARSE, "data.asset", "expected string name and assetType");
    for (i = 0; i < PUSH_ASSET_TYPE_MAX; i++)
        if (strcmp(json_string_value(type), asset_names[i]) == 0)
            break;
    if (i == PUSH_ASSET_TYPE_MAX)
        return 0; /* not ours: OTHER */
    e->resource = push_asset_resource((enum push_asset_type)i, json_string_value(name));
    if (e->resource == NULL)
        return fail(err, ERR_PARSE, "data.asset.name", "not a resource name of its assetType");
    e->kind = PUSH_ASSET;
    e->asset_type = (enum push_asset_type)i;
    e->deleted = deleted;
    if (e->asset_type == PUSH_ASSET_SERVICE_ACCOUNT)
        e->numeric_id = all_digits(strrchr(e->resource, '/') + 1);
    return 0;
}

static int classify_data(const struct push_message *m, struct push_event *e, struct err_detail *err)
{
    json_error_t je;
    json_t *root, *asset, *del;
    int rc = 0;

    root = json_loadb((const char *)m->data, m->data_len, JSON_DECODE_ANY, &je);
    if (root == NULL) {
        e->kind = PUSH_WELCOME;
        return 0;
    }
    if (!json_is_object(root))
        goto out_decref;
    asset = json_object_get(root, "asset");
    if (asset == NULL || json_is_null(asset))
        asset = json_object_get(root, "priorAsset");
    if (asset == NULL || json_is_null(asset))
        goto out_decref; /* JSON, but not a TemporalAsset: OTHER */
    del = json_object_get(root, "deleted");
    if (!json_is_object(asset) || (del != NULL && !json_is_boolean(del))) {
        rc = fail(err, ERR_PARSE, "data", "malformed TemporalAsset");
        goto out_decref;
    }
    rc = classify_asset_object(asset, json_is_true(del), e, err);
out_decref:
    json_decref(root);
    return rc;
}

int push_classify(const struct push_message *m, struct push_event *ret, struct err_detail *err)
{
    const char *type = push_message_attr(m, "eventType");
    int rc;

    memset(ret, 0, sizeof(*ret));
    ret->kind = PUSH_OTHER;
    if (type != NULL && push_message_attr(m, "bucketId") != NULL)
        rc = classify_storage(m, type, ret, err);
    else if (m->has_data && m->data_len > 0)
        rc = classify_data(m, ret, err);
    else
        rc = 0;
    if (rc != 0)
        push_event_release(ret);
    return rc;
}

void push_event_release(struct push_event *e)
{
    free(e->bucket);
    free(e->object);
    free(e->resource);
    memset(e, 0, sizeof(*e));
    e->kind = PUSH_OTHER;
}
