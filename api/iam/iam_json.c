/*
 * iam_json.c - the JSON codec of the policy model (jansson <-> structs).
 *
 * Decoding type-checks every field the model names and keeps every other
 * field, unchanged, in an opaque `raw` jansson object: the policy's raw holds
 * all top-level members except `version`, `etag` and `bindings` (so
 * `auditConfigs` and fields Google adds later survive), and a binding's raw
 * holds all its members except `role`, `members` and `condition`.  A
 * condition's own unknown fields are kept inside the binding's raw under the
 * key "condition" - a key the binding's unknown fields can never use, because
 * the model owns it - so struct iam_cond stays plain strings that other
 * modules may build and compare without knowing about JSON.
 *
 * Encoding writes the model fields first (`version` when present, `etag`
 * when present, `bindings` when not empty; in a binding `role`, `members`,
 * `condition`), then the raw fields in the order they were read.  Field order
 * is not significant to Google; values are what must round-trip.
 *
 * Only types are checked here, plus the one thing that must never be written
 * back: a `_withcond_` role, the version-1 rendering of a conditional
 * binding (CONTRACTS.md §3.4).  Member and role syntax is not enforced on
 * what Google returns, so that one member form roam does not know cannot stop
 * it from reconciling the rest.
 *
 * Alternatives rejected: keeping the whole decoded document and patching it
 * on write (every edit would need two representations kept in step), and
 * dropping unknown fields (loses auditConfigs and future fields on write).
 */
#include "iam.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/caps.h"
#include "../common/str.h"
#include "../common/xalloc.h"
#include "iam_raw.h"

/* The key under which a binding's raw keeps its condition's unknown fields. */
#define RAW_COND_KEY "condition"

void *iam_raw_copy(const void *raw)
{
    json_t *copy;

    if (raw == NULL)
        return NULL;
    copy = json_deep_copy((const json_t *)raw);
    if (copy == NULL)
        abort(); /* jansson is out of memory; see xalloc.h */
    return copy;
}

void iam_raw_free(void *raw)
{
    json_decref((json_t *)raw);
}

/* ---- errors ---- */

/* Joins a field path: base "" gives `rel`, else `base.rel`. */
static char *path_join(const char *base, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *path_join(const char *base, const char *fmt, ...)
{
    va_list ap;
    char *rel, *path;

    va_start(ap, fmt);
    rel = xvasprintf(fmt, ap);
    va_end(ap);
    if (base[0] == '\0')
        return rel;
    path = xasprintf("%s.%s", base, rel);
    free(rel);
    return path;
}

/* Fills *err (when not NULL; the caller passes an empty detail) with code,
 * path (taken) and message. */
static int fail(struct err_detail *err, int code, char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct err_detail *err, int code, char *path, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        free(path);
        return code;
    }
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->path = path;
    va_start(ap, fmt);
    err->msg = xvasprintf(fmt, ap);
    va_end(ap);
    return code;
}

static int fail_json(struct err_detail *err, const json_error_t *je)
{
    int code = fail(err, ERR_PARSE, NULL, "invalid JSON: %s (line %d, column %d)", je->text,
                    je->line, je->column);

    if (err != NULL && je->line > 0 && je->column > 0) {
        err->line = (unsigned)je->line;
        err->col = (unsigned)je->column;
    }
    return code;
}

/* Parses a whole JSON document, which must be an object, into *ret. */
static int load_object(const char *json, size_t len, size_t cap, json_t **ret,
                       struct err_detail *err)
{
    json_error_t je;
    json_t *root;

    if (len > cap)
        return fail(err, ERR_LIMIT, NULL, "document larger than %zu bytes", cap);
    root = json_loadb(json, len, JSON_DECODE_ANY, &je);
    if (root == NULL)
        return fail_json(err, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, ERR_PARSE, NULL, "expected a JSON object");
    }
    *ret = root;
    return 0;
}

/* ---- decoding ---- */

static int decode_version(json_t *v, const char *base, struct iam_policy *p, struct err_detail *err)
{
    long long n;

    /* int32 in the discovery document, so a number; a string is accepted
     * too, as for every Google integer (CONTRACTS.md §0). */
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        if (n < 0 || n > INT_MAX)
            return fail(err, ERR_PARSE, path_join(base, "version"), "version %lld out of range", n);
    } else if (!json_is_string(v) || str_to_ll(json_string_value(v), 0, INT_MAX, &n) != 0) {
        return fail(err, ERR_PARSE, path_join(base, "version"), "expected an integer");
    }
    p->version = (int)n;
    p->has_version = true;
    return 0;
}

/* A string field of a condition, or the condition's unknown field. */
static int decode_cond_field(const char *key, json_t *v, const char *base, size_t bi,
                             struct iam_cond *c, json_t *cond_raw, struct err_detail *err)
{
    static const char *const names[] = {"title", "description", "expression", "location"};
    char **slots[] = {&c->title, &c->description, &c->expression, &c->location};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(key, names[i]) != 0)
            continue;
        if (!json_is_string(v))
            return fail(err, ERR_PARSE, path_join(base, "bindings[%zu].condition.%s", bi, key),
                        "expected a string");
        *slots[i] = xstrdup(json_string_value(v));
        return 0;
    }
    json_object_set(cond_raw, key, v);
    return 0;
}

static int decode_cond(json_t *v, const char *base, size_t bi, struct iam_binding *b,
                       struct err_detail *err)
{
    const char *key;
    json_t *val, *cond_raw;
    int r = 0;

    if (!json_is_object(v))
        return fail(err, ERR_PARSE, path_join(base, "bindings[%zu].condition", bi),
                    "expected an object");
    b->cond = xcalloc(1, sizeof(*b->cond));
    cond_raw = json_object();
    json_object_foreach (v, key, val) {
        r = decode_cond_field(key, val, base, bi, b->cond, cond_raw, err);
        if (r < 0)
            break;
    }
    if (r == 0 && json_object_size(cond_raw) > 0)
        json_object_set(b->raw, RAW_COND_KEY, cond_raw);
    json_decref(cond_raw);
    return r;
}

/* Checks a role or member string: non-empty and within CAP_NAME_BYTES. */
static int check_name(json_t *v, char *path, struct err_detail *err)
{
    if (!json_is_string(v))
        return fail(err, ERR_PARSE, path, "expected a string");
    if (json_string_length(v) == 0)
        return fail(err, ERR_PARSE, path, "expected a non-empty string");
    if (json_string_length(v) > CAP_NAME_BYTES)
        return fail(err, ERR_LIMIT, path, "longer than %u bytes", CAP_NAME_BYTES);
    free(path);
    return 0;
}

static int decode_role(json_t *v, const char *base, size_t bi, struct iam_binding *b,
                       struct err_detail *err)
{
    int r;

    r = check_name(v, path_join(base, "bindings[%zu].role", bi), err);
    if (r < 0)
        return r;
    if (strstr(json_string_value(v), "_withcond_") != NULL)
        return fail(err, ERR_PARSE, path_join(base, "bindings[%zu].role", bi),
                    "role '%s' was read below policy version 3; re-read with "
                    "requestedPolicyVersion=3",
                    json_string_value(v));
    b->role = xstrdup(json_string_value(v));
    return 0;
}

static int decode_members(json_t *v, const char *base, size_t bi, struct iam_binding *b,
                          struct err_detail *err)
{
    size_t n;
    int r;

    if (!json_is_array(v))
        return fail(err, ERR_PARSE, path_join(base, "bindings[%zu].members", bi),
                    "expected an array");
    n = json_array_size(v);
    if (n > CAP_MEMBERS_PER_BINDING)
        return fail(err, ERR_LIMIT, path_join(base, "bindings[%zu].members", bi),
                    "more than %u members", CAP_MEMBERS_PER_BINDING);
    if (n > 0) {
        b->members = xreallocarray(NULL, n, sizeof(*b->members));
        b->cap_members = n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(v, i);

        r = check_name(m, path_join(base, "bindings[%zu].members[%zu]", bi, i), err);
        if (r < 0)
            return r;
        b->members[b->n_members++] = xstrdup(json_string_value(m));
    }
    return 0;
}

static int decode_binding_field(const char *key, json_t *v, const char *base, size_t bi,
                                struct iam_binding *b, struct err_detail *err)
{
    if (strcmp(key, "role") == 0)
        return decode_role(v, base, bi, b, err);
    if (strcmp(key, "members") == 0)
        return decode_members(v, base, bi, b, err);
    if (strcmp(key, "condition") == 0)
        return decode_cond(v, base, bi, b, err);
    json_object_set(b->raw, key, v);
    return 0;
}

/* Decodes into *b, which the caller has zeroed and counts in the policy, so
 * that a failure half-way is released with the policy. */
static int decode_binding(json_t *v, const char *base, size_t bi, struct iam_binding *b,
                          struct err_detail *err)
{
    const char *key;
    json_t *val;
    int r;

    if (!json_is_object(v))
        return fail(err, ERR_PARSE, path_join(base, "bindings[%zu]", bi), "expected an object");
    b->raw = json_object();
    json_object_foreach (v, key, val) {
        r = decode_binding_field(key, val, base, bi, b, err);
        if (r < 0)
            return r;
    }
    if (b->role == NULL)
        return fail(err, ERR_PARSE, path_join(base, "bindings[%zu].role", bi), "missing role");
    if (json_object_size(b->raw) == 0) {
        json_decref(b->raw);
        b->raw = NULL;
    }
    return 0;
}

static int decode_bindings(json_t *v, const char *base, struct iam_policy *p,
                           struct err_detail *err)
{
    size_t n;
    int r;

    if (!json_is_array(v))
        return fail(err, ERR_PARSE, path_join(base, "bindings"), "expected an array");
    n = json_array_size(v);
    if (n > CAP_POLICY_BINDINGS)
        return fail(err, ERR_LIMIT, path_join(base, "bindings"), "more than %u bindings",
                    CAP_POLICY_BINDINGS);
    if (n > 0) {
        p->bindings = xcalloc(n, sizeof(*p->bindings));
        p->cap_bindings = n;
    }
    for (size_t i = 0; i < n; i++) {
        p->n_bindings++;
        r = decode_binding(json_array_get(v, i), base, i, &p->bindings[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int decode_policy_field(const char *key, json_t *v, const char *base, struct iam_policy *p,
                               struct err_detail *err)
{
    if (strcmp(key, "version") == 0)
        return decode_version(v, base, p, err);
    if (strcmp(key, "etag") == 0) {
        if (!json_is_string(v))
            return fail(err, ERR_PARSE, path_join(base, "etag"), "expected a string");
        p->etag = xstrdup(json_string_value(v));
        return 0;
    }
    if (strcmp(key, "bindings") == 0)
        return decode_bindings(v, base, p, err);
    json_object_set((json_t *)p->raw, key, v);
    return 0;
}

/* Decodes a policy object; base prefixes every error path ("" for none).
 * *p is initialised here and released again on failure. */
static int decode_policy(json_t *obj, const char *base, struct iam_policy *p,
                         struct err_detail *err)
{
    const char *key;
    json_t *val;
    int r;

    iam_policy_init(p);
    p->raw = json_object();
    json_object_foreach (obj, key, val) {
        r = decode_policy_field(key, val, base, p, err);
        if (r < 0) {
            iam_policy_release(p);
            return r;
        }
    }
    if (json_object_size(p->raw) == 0) {
        json_decref(p->raw);
        p->raw = NULL;
    }
    return 0;
}

int iam_policy_decode(const char *json, size_t len, struct iam_policy *ret, struct err_detail *err)
{
    json_t *root = NULL;
    int r;

    iam_policy_init(ret);
    r = load_object(json, len, (size_t)CAP_POLICY_JSON_BYTES, &root, err);
    if (r < 0)
        return r;
    r = decode_policy(root, "", ret, err);
    json_decref(root);
    return r;
}

/* ---- encoding ---- */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 (RFC 3629 table). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Copy of s with every invalid UTF-8 byte replaced by U+FFFD. */
static char *utf8_repair(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char *out = xmalloc(n * 3 + 1), *o = out;

    while (*p != '\0') {
        size_t k = utf8_seq(p);

        if (k == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        } else {
            memcpy(o, p, k);
            o += k;
            p += k;
        }
    }
    *o = '\0';
    return out;
}

static json_t *must(json_t *v)
{
    if (v == NULL)
        abort(); /* jansson is out of memory; see xalloc.h */
    return v;
}

/* A JSON string of s.  Strings decoded by jansson or libyaml are valid
 * UTF-8; anything else built by a caller is repaired rather than dropped. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s);
    char *fixed;

    if (v != NULL)
        return v;
    fixed = utf8_repair(s);
    v = json_string(fixed);
    free(fixed);
    return must(v);
}

/* Adds the raw fields the object does not already have, except skip. */
static void merge_raw(json_t *dst, json_t *raw, const char *skip)
{
    const char *key;
    json_t *val;

    if (!json_is_object(raw))
        return;
    json_object_foreach (raw, key, val) {
        if (skip != NULL && strcmp(key, skip) == 0)
            continue;
        if (json_object_get(dst, key) == NULL)
            json_object_set(dst, key, val);
    }
}

static void set_str(json_t *obj, const char *key, const char *s)
{
    if (s != NULL)
        json_object_set_new(obj, key, jstr(s));
}

static json_t *encode_cond(const struct iam_cond *c, json_t *binding_raw)
{
    json_t *o = must(json_object());

    set_str(o, "title", c->title);
    set_str(o, "description", c->description);
    set_str(o, "expression", c->expression);
    set_str(o, "location", c->location);
    if (json_is_object(binding_raw))
        merge_raw(o, json_object_get(binding_raw, RAW_COND_KEY), NULL);
    return o;
}

static json_t *encode_binding(const struct iam_binding *b)
{
    json_t *o = must(json_object()), *members = must(json_array());

    json_object_set_new(o, "role", jstr(b->role != NULL ? b->role : ""));
    for (size_t i = 0; i < b->n_members; i++)
        json_array_append_new(members, jstr(b->members[i]));
    json_object_set_new(o, "members", members);
    if (b->cond != NULL)
        json_object_set_new(o, "condition", encode_cond(b->cond, b->raw));
    /* Without a condition in the model, condition leftovers in raw go. */
    merge_raw(o, b->raw, RAW_COND_KEY);
    return o;
}

static json_t *encode_policy(const struct iam_policy *p)
{
    json_t *o = must(json_object());

    if (p->has_version)
        json_object_set_new(o, "version", must(json_integer(p->version)));
    set_str(o, "etag", p->etag);
    if (p->n_bindings > 0) {
        json_t *bindings = must(json_array());

        for (size_t i = 0; i < p->n_bindings; i++)
            json_array_append_new(bindings, encode_binding(&p->bindings[i]));
        json_object_set_new(o, "bindings", bindings);
    }
    merge_raw(o, p->raw, NULL);
    return o;
}

char *iam_policy_encode(const struct iam_policy *p)
{
    json_t *root = encode_policy(p);
    char *s;

    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (s == NULL)
        abort(); /* jansson is out of memory; see xalloc.h */
    return s;
}

/* ---- live policies ---- */

void iam_live_init(struct iam_live *l)
{
    memset(l, 0, sizeof(*l));
}

void iam_live_release(struct iam_live *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        iam_policy_release(&l->policies[i]);
    }
    free(l->names);
    free(l->policies);
    free(l->missing);
    iam_live_init(l);
}

static int decode_live_entry(const char *name, json_t *v, struct iam_live *l, size_t i,
                             struct err_detail *err)
{
    char *base = xasprintf("\"%s\"", name);
    int r = 0;

    if (name[0] == '\0') {
        r = fail(err, ERR_PARSE, base, "empty resource name");
        return r;
    }
    l->names[i] = xstrdup(name);
    if (json_is_null(v))
        l->missing[i] = true;
    else if (json_is_object(v))
        r = decode_policy(v, base, &l->policies[i], err);
    else
        r = fail(err, ERR_PARSE, xstrdup(base), "expected a policy object or null");
    free(base);
    return r;
}

int iam_live_decode(const char *json, size_t len, struct iam_live *ret, struct err_detail *err)
{
    json_t *root = NULL, *val;
    const char *key;
    size_t n;
    int r;

    iam_live_init(ret);
    r = load_object(json, len, (size_t)CAP_LIVE_STATE_BYTES, &root, err);
    if (r < 0)
        return r;
    n = json_object_size(root);
    ret->names = xcalloc(n, sizeof(*ret->names));
    ret->policies = xcalloc(n, sizeof(*ret->policies));
    ret->missing = xcalloc(n, sizeof(*ret->missing));
    json_object_foreach (root, key, val) {
        /* Counted first: a failed entry is all-zero, which release accepts. */
        ret->n++;
        r = decode_live_entry(key, val, ret, ret->n - 1, err);
        if (r < 0)
            break;
    }
    json_decref(root);
    if (r < 0)
        iam_live_release(ret);
    return r;
}

long iam_live_find(const struct iam_live *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return (long)i;
    return -1;
}
