/*
 * test_iam_json.c - the policy JSON codec: round trips that keep every field
 * the model does not name, type errors with their exact paths, caps, and the
 * live-state file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/iam/iam.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static bool str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool raw_same(void *a, void *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && json_equal(a, b));
}

static bool cond_same(const struct iam_cond *a, const struct iam_cond *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return str_same(a->title, b->title) && str_same(a->description, b->description) &&
           str_same(a->expression, b->expression) && str_same(a->location, b->location);
}

/* Every field, exactly (stricter than the model's identity rules). */
static bool policy_same(const struct iam_policy *a, const struct iam_policy *b)
{
    if (a->version != b->version || a->has_version != b->has_version ||
        !str_same(a->etag, b->etag) || a->n_bindings != b->n_bindings || !raw_same(a->raw, b->raw))
        return false;
    for (size_t i = 0; i < a->n_bindings; i++) {
        const struct iam_binding *x = &a->bindings[i], *y = &b->bindings[i];

        if (!str_same(x->role, y->role) || !cond_same(x->cond, y->cond) ||
            x->n_members != y->n_members || !raw_same(x->raw, y->raw))
            return false;
        for (size_t j = 0; j < x->n_members; j++)
            if (strcmp(x->members[j], y->members[j]) != 0)
                return false;
    }
    return true;
}

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);

    if (v == NULL)
        fail_msg("test JSON does not parse: %s: %s", je.text, s);
    return v;
}

static void assert_json_equal(const char *got, const char *want)
{
    json_t *g = load(got), *w = load(want);

    if (!json_equal(g, w))
        fail_msg("JSON differs:\n got: %s\nwant: %s", got, want);
    json_decref(g);
    json_decref(w);
}

static void decode_ok(const char *json, struct iam_policy *p)
{
    struct err_detail err = {0};
    int r = iam_policy_decode(json, strlen(json), p, &err);

    if (r != 0)
        fail_msg("decode failed: %s: %s", err.path != NULL ? err.path : "", err.msg);
}

/* ---- round trips ---- */

static const char *const roundtrip_rows[] = {
    "{}",
    /* CONTRACTS.md §3.2 */
    "{\"version\":3,\"etag\":\"BwWWja0YfJA=\",\"bindings\":["
    "{\"role\":\"roles/run.invoker\","
    "\"members\":[\"serviceAccount:pusher@my-proj.iam.gserviceaccount.com\"]},"
    "{\"role\":\"roles/iam.serviceAccountUser\",\"members\":[\"user:eve@example.com\"],"
    "\"condition\":{\"title\":\"expires\",\"description\":\"optional\","
    "\"expression\":\"request.time < timestamp('2030-01-01T00:00:00Z')\","
    "\"location\":\"optional\"}}],"
    "\"auditConfigs\":[{\"service\":\"allServices\",\"auditLogConfigs\":[{\"logType\":"
    "\"DATA_READ\",\"exemptedMembers\":[\"user:x@example.com\"]}]}]}",
    /* unknown top-level fields of every JSON type */
    "{\"etag\":\"x\",\"kind\":\"iam#policy\",\"real\":1.5,\"big\":9007199254740993,"
    "\"neg\":-7,\"nested\":{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\n\"},\"flag\":false,"
    "\"on\":true,\"nothing\":null,\"empty\":{},\"list\":[],"
    "\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[\"user:a@x.com\"]}]}",
    /* unknown binding fields */
    "{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[\"user:a@x.com\"],"
    "\"bindingId\":\"abc\",\"extra\":{\"x\":[1,2]}},"
    "{\"role\":\"roles/editor\",\"members\":[\"group:g@x.com\"],\"n\":0}]}",
    /* unknown condition fields, with and without unknown binding fields */
    "{\"version\":3,\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[\"user:a@x.com\"],"
    "\"condition\":{\"expression\":\"true\",\"future\":{\"a\":1},\"title\":\"t\"},"
    "\"other\":\"o\"},"
    "{\"role\":\"roles/viewer\",\"members\":[\"user:b@x.com\"],"
    "\"condition\":{\"expression\":\"false\",\"z\":[null]}}]}",
    /* a condition holding only unknown fields, and an empty one */
    "{\"bindings\":[{\"role\":\"roles/x\",\"members\":[\"user:a@b.co\"],"
    "\"condition\":{\"zzz\":1}},"
    "{\"role\":\"roles/y\",\"members\":[\"user:a@b.co\"],\"condition\":{}}]}",
    /* empty binding kept on decode */
    "{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[]}]}",
    "{\"version\":0}",
    "{\"version\":1,\"etag\":\"\"}",
    /* member strings the syntax check would reject are kept as read */
    "{\"bindings\":[{\"role\":\"roles/storage.legacyBucketOwner\","
    "\"members\":[\"projectOwner:p\",\"deleted:user:a@b.com?uid=1\",\"User:X@Y.COM\","
    "\"user:\\u00fc@x.com\",\"principalSet://goog/public:all\"]}]}",
    /* duplicate (role, condition) kept as read */
    "{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[\"user:a@x.com\"]},"
    "{\"role\":\"roles/viewer\",\"members\":[\"user:a@x.com\",\"user:A@x.com\"]}]}",
    /* a custom role and a role the syntax check would reject */
    "{\"bindings\":[{\"role\":\"projects/p/roles/custom\",\"members\":[\"allUsers\"]},"
    "{\"role\":\"weird role\",\"members\":[\"allAuthenticatedUsers\"]}]}",
};

static void test_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(roundtrip_rows); i++) {
        const char *in = roundtrip_rows[i];
        struct iam_policy a, b;
        char *out, *out2;

        print_message("row %zu\n", i);
        decode_ok(in, &a);
        out = iam_policy_encode(&a);
        assert_json_equal(out, in);
        decode_ok(out, &b);
        assert_true(policy_same(&a, &b));
        out2 = iam_policy_encode(&b);
        assert_string_equal(out, out2);
        free(out);
        free(out2);
        iam_policy_release(&a);
        iam_policy_release(&b);
    }
}

/* The decoded model itself, for the CONTRACTS.md example. */
static void test_decode_model(void **state)
{
    struct iam_policy p;
    const struct iam_binding *b;

    (void)state;
    decode_ok(roundtrip_rows[1], &p);
    assert_true(p.has_version);
    assert_int_equal(p.version, 3);
    assert_string_equal(p.etag, "BwWWja0YfJA=");
    assert_int_equal(p.n_bindings, 2);
    assert_non_null(p.raw); /* auditConfigs */
    assert_non_null(json_object_get(p.raw, "auditConfigs"));
    assert_null(json_object_get(p.raw, "bindings"));
    b = &p.bindings[0];
    assert_string_equal(b->role, "roles/run.invoker");
    assert_null(b->cond);
    assert_null(b->raw);
    assert_int_equal(b->n_members, 1);
    assert_string_equal(b->members[0], "serviceAccount:pusher@my-proj.iam.gserviceaccount.com");
    b = &p.bindings[1];
    assert_non_null(b->cond);
    assert_string_equal(b->cond->title, "expires");
    assert_string_equal(b->cond->description, "optional");
    assert_string_equal(b->cond->expression, "request.time < timestamp('2030-01-01T00:00:00Z')");
    assert_string_equal(b->cond->location, "optional");
    assert_true(iam_policy_has_conditions(&p));
    iam_policy_release(&p);

    decode_ok("{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":{}}]}", &p);
    assert_false(p.has_version);
    assert_null(p.etag);
    assert_null(p.raw);
    assert_non_null(p.bindings[0].cond);
    assert_null(p.bindings[0].cond->expression);
    iam_policy_release(&p);
}

struct encode_row {
    const char *in;
    const char *out; /* exact compact output */
};

static const struct encode_row encode_rows[] = {
    {"{}", "{}"},
    /* model fields first, in a fixed order, then the rest as read */
    {"{\"auditConfigs\":[],\"bindings\":[{\"members\":[\"user:a@x.com\"],\"x\":1,"
     "\"condition\":{\"expression\":\"e\",\"q\":2,\"title\":\"t\"},\"role\":\"roles/viewer\"}],"
     "\"etag\":\"e\",\"version\":1,\"zz\":null}",
     "{\"version\":1,\"etag\":\"e\",\"bindings\":[{\"role\":\"roles/viewer\",\"members\":"
     "[\"user:a@x.com\"],\"condition\":{\"title\":\"t\",\"expression\":\"e\",\"q\":2},\"x\":1}],"
     "\"auditConfigs\":[],\"zz\":null}"},
    /* a decimal-string version is accepted and written as a number */
    {"{\"version\":\"3\"}", "{\"version\":3}"},
    /* empty bindings are not written, as the API does */
    {"{\"bindings\":[],\"etag\":\"e\"}", "{\"etag\":\"e\"}"},
    /* a binding without members gets an explicit empty list */
    {"{\"bindings\":[{\"role\":\"roles/viewer\"}]}",
     "{\"bindings\":[{\"role\":\"roles/viewer\",\"members\":[]}]}"},
    /* non-ASCII stays UTF-8 */
    {"{\"etag\":\"\\u00e9\"}", "{\"etag\":\"\xc3\xa9\"}"},
};

static void test_encode_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(encode_rows); i++) {
        struct iam_policy p;
        char *out;

        print_message("row %zu\n", i);
        decode_ok(encode_rows[i].in, &p);
        out = iam_policy_encode(&p);
        assert_string_equal(out, encode_rows[i].out);
        free(out);
        iam_policy_release(&p);
    }
}

/* Read, edit, write: what roam did not touch comes back unchanged. */
static void test_edit_roundtrip(void **state)
{
    struct iam_policy p;
    char *out;

    (void)state;
    decode_ok("{\"version\":3,\"etag\":\"BwX=\",\"kind\":\"k\",\"bindings\":["
              "{\"role\":\"roles/run.invoker\",\"members\":[\"user:a@x.com\"],\"id\":7},"
              "{\"role\":\"roles/viewer\",\"members\":[\"user:eve@example.com\"],"
              "\"condition\":{\"title\":\"t\",\"expression\":\"true\",\"f\":1}},"
              "{\"role\":\"roles/editor\",\"members\":[\"user:eve@example.com\"]}],"
              "\"auditConfigs\":[{\"service\":\"allServices\"}]}",
              &p);
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:b@x.com"), 1);
    assert_int_equal(iam_policy_add_member(&p, "roles/viewer", p.bindings[1].cond, "user:c@x.com"),
                     1);
    assert_int_equal(iam_policy_remove_member(&p, "roles/editor", NULL, "user:EVE@example.com"), 1);
    out = iam_policy_encode(&p);
    assert_json_equal(out, "{\"version\":3,\"etag\":\"BwX=\",\"kind\":\"k\",\"bindings\":["
                           "{\"role\":\"roles/run.invoker\","
                           "\"members\":[\"user:a@x.com\",\"user:b@x.com\"],\"id\":7},"
                           "{\"role\":\"roles/viewer\","
                           "\"members\":[\"user:eve@example.com\",\"user:c@x.com\"],"
                           "\"condition\":{\"title\":\"t\",\"expression\":\"true\",\"f\":1}}],"
                           "\"auditConfigs\":[{\"service\":\"allServices\"}]}");
    free(out);

    /* a condition dropped from the model takes its unknown fields along */
    iam_cond_free(p.bindings[1].cond);
    p.bindings[1].cond = NULL;
    out = iam_policy_encode(&p);
    assert_null(strstr(out, "\"f\""));
    assert_null(strstr(out, "condition"));
    free(out);
    iam_policy_release(&p);
}

static char s_role[] = "roles/run.invoker", s_title[] = "t", s_expr[] = "a && b";

/* A policy built by hand, and strings that are not valid UTF-8. */
static void test_encode_built(void **state)
{
    struct iam_cond c = {.title = s_title, .expression = s_expr};
    struct iam_policy p, q;
    char *out;
    json_t *v;

    (void)state;
    iam_policy_init(&p);
    out = iam_policy_encode(&p);
    assert_string_equal(out, "{}");
    free(out);
    iam_policy_add_member(&p, s_role, &c, "user:a@x.com");
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:\xff@x.com");
    out = iam_policy_encode(&p);
    assert_string_equal(out,
                        "{\"version\":3,\"bindings\":[{\"role\":\"roles/run.invoker\","
                        "\"members\":[\"user:a@x.com\"],"
                        "\"condition\":{\"title\":\"t\",\"expression\":\"a && b\"}},"
                        "{\"role\":\"roles/viewer\",\"members\":[\"user:\xef\xbf\xbd@x.com\"]}]}");
    v = load(out);
    assert_non_null(v);
    json_decref(v);
    decode_ok(out, &q);
    assert_true(iam_policy_has(&q, s_role, &c, "user:A@x.com"));
    free(out);
    iam_policy_release(&p);
    iam_policy_release(&q);
}

/* ---- errors ---- */

struct error_row {
    const char *in;
    int code;
    const char *path; /* NULL: no path */
    const char *msg;  /* exact message, or a prefix when it ends with '*' */
};

static const struct error_row error_rows[] = {
    {"[]", ERR_PARSE, NULL, "expected a JSON object"},
    {"\"x\"", ERR_PARSE, NULL, "expected a JSON object"},
    {"null", ERR_PARSE, NULL, "expected a JSON object"},
    {"3", ERR_PARSE, NULL, "expected a JSON object"},
    {"", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{\"a\":1} x", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{\"a\":\"\\u0000\"}", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{\"a\":\"\xff\"}", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{\"version\":\"x\"}", ERR_PARSE, "version", "expected an integer"},
    {"{\"version\":1.5}", ERR_PARSE, "version", "expected an integer"},
    {"{\"version\":true}", ERR_PARSE, "version", "expected an integer"},
    {"{\"version\":null}", ERR_PARSE, "version", "expected an integer"},
    {"{\"version\":\"99999999999\"}", ERR_PARSE, "version", "expected an integer"},
    {"{\"version\":-1}", ERR_PARSE, "version", "version -1 out of range"},
    {"{\"version\":2147483648}", ERR_PARSE, "version", "version 2147483648 out of range"},
    {"{\"etag\":1}", ERR_PARSE, "etag", "expected a string"},
    {"{\"etag\":null}", ERR_PARSE, "etag", "expected a string"},
    {"{\"bindings\":{}}", ERR_PARSE, "bindings", "expected an array"},
    {"{\"bindings\":null}", ERR_PARSE, "bindings", "expected an array"},
    {"{\"bindings\":[1]}", ERR_PARSE, "bindings[0]", "expected an object"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"]},[]]}", ERR_PARSE, "bindings[1]",
     "expected an object"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"]},{\"members\":[\"m\"]}]}", ERR_PARSE,
     "bindings[1].role", "missing role"},
    {"{\"bindings\":[{\"role\":1}]}", ERR_PARSE, "bindings[0].role", "expected a string"},
    {"{\"bindings\":[{\"role\":null}]}", ERR_PARSE, "bindings[0].role", "expected a string"},
    {"{\"bindings\":[{\"role\":\"\"}]}", ERR_PARSE, "bindings[0].role",
     "expected a non-empty string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":\"m\"}]}", ERR_PARSE, "bindings[0].members",
     "expected an array"},
    {"{\"bindings\":[{\"role\":\"a\",\"members\":[]},{\"role\":\"b\",\"members\":[]},"
     "{\"role\":\"c\",\"members\":[1]}]}",
     ERR_PARSE, "bindings[2].members[0]", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"a\",null]}]}", ERR_PARSE,
     "bindings[0].members[1]", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"a\",[\"b\"]]}]}", ERR_PARSE,
     "bindings[0].members[1]", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"\"]}]}", ERR_PARSE, "bindings[0].members[0]",
     "expected a non-empty string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":\"x\"}]}", ERR_PARSE,
     "bindings[0].condition", "expected an object"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":null}]}", ERR_PARSE,
     "bindings[0].condition", "expected an object"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":{\"expression\":1}}]}",
     ERR_PARSE, "bindings[0].condition.expression", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":{\"title\":null}}]}",
     ERR_PARSE, "bindings[0].condition.title", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],"
     "\"condition\":{\"expression\":\"e\",\"description\":[]}}]}",
     ERR_PARSE, "bindings[0].condition.description", "expected a string"},
    {"{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\"],\"condition\":{\"location\":{}}}]}",
     ERR_PARSE, "bindings[0].condition.location", "expected a string"},
    {"{\"bindings\":[{\"role\":\"a\",\"members\":[\"m\"]},{\"role\":\"b\",\"members\":[\"m\"]},"
     "{\"role\":\"c\",\"members\":[\"m\"]},"
     "{\"role\":\"roles/x_withcond_abc\",\"members\":[\"user:a@x.com\"]}]}",
     ERR_PARSE, "bindings[3].role",
     "role 'roles/x_withcond_abc' was read below policy version 3; re-read with "
     "requestedPolicyVersion=3"},
    {"{\"version\":1,\"bindings\":[{\"role\":\"roles/iam.serviceAccountAdmin_withcond_"
     "2b17cc25d2cd9e2c54d8\",\"members\":[\"user:a@x.com\"]}]}",
     ERR_PARSE, "bindings[0].role",
     "role 'roles/iam.serviceAccountAdmin_withcond_2b17cc25d2cd9e2c54d8' was read below policy "
     "version 3; re-read with requestedPolicyVersion=3"},
};

static void assert_err(const struct err_detail *err, int code, const char *path, const char *msg)
{
    size_t n = strlen(msg);

    assert_int_equal(err->code, code);
    if (path == NULL)
        assert_true(err->path == NULL || err->path[0] == '\0');
    else
        assert_string_equal(err->path, path);
    assert_non_null(err->msg);
    if (n > 0 && msg[n - 1] == '*')
        assert_memory_equal(err->msg, msg, n - 1);
    else
        assert_string_equal(err->msg, msg);
}

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(error_rows); i++) {
        const struct error_row *row = &error_rows[i];
        struct err_detail err = {0};
        struct iam_policy p;
        int r;

        print_message("row %zu: %s\n", i, row->in);
        r = iam_policy_decode(row->in, strlen(row->in), &p, &err);
        assert_int_equal(r, row->code);
        assert_err(&err, row->code, row->path, row->msg);
        /* *ret is initialised and empty after a failure */
        assert_int_equal(p.n_bindings, 0);
        assert_null(p.bindings);
        assert_null(p.etag);
        assert_null(p.raw);
        iam_policy_release(&p);
        err_detail_release(&err);
        /* err may be NULL */
        assert_int_equal(iam_policy_decode(row->in, strlen(row->in), &p, NULL), row->code);
        iam_policy_release(&p);
    }
}

static void test_error_location(void **state)
{
    const char *in = "{\n  \"etag\": \"x\",\n  \"bindings\": [}\n";
    struct err_detail err = {0};
    struct iam_policy p;

    (void)state;
    assert_int_equal(iam_policy_decode(in, strlen(in), &p, &err), ERR_PARSE);
    assert_int_equal(err.line, 3);
    assert_true(err.col > 0);
    assert_non_null(strstr(err.msg, "line 3"));
    err_detail_release(&err);
}

/* Builds {"bindings":[B x nb]} where B has nm members; caller frees. */
static char *big_policy(size_t nb, size_t nm)
{
    json_t *root = json_object(), *bindings = json_array();
    char *s;

    for (size_t i = 0; i < nb; i++) {
        json_t *b = json_object(), *members = json_array();

        for (size_t j = 0; j < nm; j++) {
            char *m = xasprintf("user:u%zu@x.com", j);

            json_array_append_new(members, json_string(m));
            free(m);
        }
        json_object_set_new(b, "role", json_string("roles/viewer"));
        json_object_set_new(b, "members", members);
        json_array_append_new(bindings, b);
    }
    json_object_set_new(root, "bindings", bindings);
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static void test_caps(void **state)
{
    struct err_detail err = {0};
    struct iam_policy p;
    char *s, *role;
    size_t n;

    (void)state;
    s = big_policy(1, CAP_MEMBERS_PER_BINDING);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), 0);
    assert_int_equal(p.bindings[0].n_members, CAP_MEMBERS_PER_BINDING);
    iam_policy_release(&p);
    free(s);

    s = big_policy(1, CAP_MEMBERS_PER_BINDING + 1);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), ERR_LIMIT);
    assert_string_equal(err.path, "bindings[0].members");
    err_detail_release(&err);
    free(s);

    s = big_policy(CAP_POLICY_BINDINGS, 1);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), 0);
    assert_int_equal(p.n_bindings, CAP_POLICY_BINDINGS);
    iam_policy_release(&p);
    free(s);

    s = big_policy(CAP_POLICY_BINDINGS + 1, 1);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), ERR_LIMIT);
    assert_string_equal(err.path, "bindings");
    err_detail_release(&err);
    free(s);

    /* the byte cap is checked before parsing */
    n = CAP_POLICY_JSON_BYTES + 1;
    s = xmalloc(n);
    memset(s, ' ', n);
    s[0] = '{';
    s[n - 1] = '}';
    assert_int_equal(iam_policy_decode(s, n, &p, &err), ERR_LIMIT);
    err_detail_release(&err);
    assert_int_equal(iam_policy_decode(s, n - 1, &p, &err), ERR_PARSE); /* unterminated */
    err_detail_release(&err);
    s[n - 2] = '}';
    assert_int_equal(iam_policy_decode(s, n - 1, &p, &err), 0);
    iam_policy_release(&p);
    free(s);

    /* role and member strings are capped at CAP_NAME_BYTES */
    role = xmalloc(CAP_NAME_BYTES + 2);
    memset(role, 'r', CAP_NAME_BYTES + 1);
    role[CAP_NAME_BYTES + 1] = '\0';
    s = xasprintf("{\"bindings\":[{\"role\":\"%s\",\"members\":[\"m\"]}]}", role);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), ERR_LIMIT);
    assert_string_equal(err.path, "bindings[0].role");
    err_detail_release(&err);
    free(s);
    s = xasprintf("{\"bindings\":[{\"role\":\"r\",\"members\":[\"m\",\"%s\"]}]}", role);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), ERR_LIMIT);
    assert_string_equal(err.path, "bindings[0].members[1]");
    err_detail_release(&err);
    free(s);
    role[CAP_NAME_BYTES] = '\0';
    s = xasprintf("{\"bindings\":[{\"role\":\"%s\",\"members\":[\"%s\"]}]}", role, role);
    assert_int_equal(iam_policy_decode(s, strlen(s), &p, &err), 0);
    iam_policy_release(&p);
    free(s);
    free(role);
}

/* ---- live state ---- */

static void test_live(void **state)
{
    const char *in = "{\"projects/p/locations/r/services/s\":{\"etag\":\"e1\",\"bindings\":["
                     "{\"role\":\"roles/run.invoker\",\"members\":[\"user:a@x.com\"]}],"
                     "\"auditConfigs\":[{\"service\":\"allServices\"}]},"
                     "\"projects/p/serviceAccounts/a@p.iam.gserviceaccount.com\":null,"
                     "\"projects/p/locations/r/jobs/j\":{}}";
    struct err_detail err = {0};
    struct iam_live l;
    long i;
    char *out;

    (void)state;
    assert_int_equal(iam_live_decode(in, strlen(in), &l, &err), 0);
    assert_int_equal(l.n, 3);
    i = iam_live_find(&l, "projects/p/locations/r/services/s");
    assert_true(i >= 0);
    assert_false(l.missing[i]);
    assert_string_equal(l.policies[i].etag, "e1");
    assert_true(iam_policy_has(&l.policies[i], "roles/run.invoker", NULL, "user:A@x.com"));
    out = iam_policy_encode(&l.policies[i]);
    assert_json_equal(out, "{\"etag\":\"e1\",\"bindings\":[{\"role\":\"roles/run.invoker\","
                           "\"members\":[\"user:a@x.com\"]}],"
                           "\"auditConfigs\":[{\"service\":\"allServices\"}]}");
    free(out);
    i = iam_live_find(&l, "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com");
    assert_true(i >= 0);
    assert_true(l.missing[i]);
    assert_int_equal(l.policies[i].n_bindings, 0);
    i = iam_live_find(&l, "projects/p/locations/r/jobs/j");
    assert_true(i >= 0);
    assert_false(l.missing[i]);
    assert_int_equal(l.policies[i].n_bindings, 0);
    assert_int_equal(iam_live_find(&l, "projects/p/locations/r/services/S"), -1);
    assert_int_equal(iam_live_find(&l, "projects/p/locations/r/services"), -1);
    iam_live_release(&l);
    assert_int_equal(l.n, 0);
    iam_live_release(NULL);

    assert_int_equal(iam_live_decode("{}", 2, &l, &err), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(iam_live_find(&l, "x"), -1);
    iam_live_release(&l);
}

static const struct error_row live_error_rows[] = {
    {"[]", ERR_PARSE, NULL, "expected a JSON object"},
    {"{\"a\":null", ERR_PARSE, NULL, "invalid JSON: *"},
    {"{\"projects/p/locations/r/services/s\":{\"bindings\":[{\"role\":1}]}}", ERR_PARSE,
     "\"projects/p/locations/r/services/s\".bindings[0].role", "expected a string"},
    {"{\"a\":null,\"projects/p/locations/r/services/s\":{\"bindings\":[{\"role\":\"r\","
     "\"members\":[\"m\"]},{\"role\":\"roles/x_withcond_1\",\"members\":[\"m\"]}]}}",
     ERR_PARSE, "\"projects/p/locations/r/services/s\".bindings[1].role",
     "role 'roles/x_withcond_1' was read below policy version 3; re-read with "
     "requestedPolicyVersion=3"},
    {"{\"s\":{\"version\":\"v\"}}", ERR_PARSE, "\"s\".version", "expected an integer"},
    {"{\"s\":{\"etag\":\"e\"},\"x\":3}", ERR_PARSE, "\"x\"", "expected a policy object or null"},
    {"{\"x\":[]}", ERR_PARSE, "\"x\"", "expected a policy object or null"},
    {"{\"x\":\"policy\"}", ERR_PARSE, "\"x\"", "expected a policy object or null"},
    {"{\"\":null}", ERR_PARSE, "\"\"", "empty resource name"},
};

static void test_live_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(live_error_rows); i++) {
        const struct error_row *row = &live_error_rows[i];
        struct err_detail err = {0};
        struct iam_live l;
        int r;

        print_message("row %zu: %s\n", i, row->in);
        r = iam_live_decode(row->in, strlen(row->in), &l, &err);
        assert_int_equal(r, row->code);
        assert_err(&err, row->code, row->path, row->msg);
        assert_int_equal(l.n, 0);
        assert_null(l.names);
        iam_live_release(&l);
        err_detail_release(&err);
        assert_int_equal(iam_live_decode(row->in, strlen(row->in), &l, NULL), row->code);
        iam_live_release(&l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_decode_model),
        cmocka_unit_test(test_encode_exact),   cmocka_unit_test(test_edit_roundtrip),
        cmocka_unit_test(test_encode_built),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_location), cmocka_unit_test(test_caps),
        cmocka_unit_test(test_live),           cmocka_unit_test(test_live_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
