/*
 * test_gapi.c - the Cloud Run v2 and IAM v1 client against the local
 * emulator: policy reads in the right shape per API, etag-guarded writes,
 * 409 surfaced to the caller, paginated listing, service-account reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/common/xalloc.h"
#include "controller/gcp/gapi.h"
#include "test/support/emu.h"
#include "test/support/gfx.h"

#define SVC "projects/p/locations/europe-west1/services/api"
#define SA "projects/p/serviceAccounts/run@p.iam.gserviceaccount.com"

static struct emu emu;

static int group_setup(void **state)
{
    struct buf seed;

    (void)state;
    /* 250 services in one region: three pages of 100. */
    buf_init(&seed, 1 << 20);
    buf_puts(&seed, "{\"page_size_max\":100,\"services\":[");
    for (int i = 0; i < 250; i++)
        buf_printf(&seed, "%s{\"name\":\"projects/p/locations/europe-west1/services/s%03d\"}",
                   i == 0 ? "" : ",", i);
    buf_puts(&seed, ",{\"name\":\"" SVC "\",\"template\":{\"serviceAccount\":"
                    "\"run@p.iam.gserviceaccount.com\"},\"policy\":{\"bindings\":[{\"role\":"
                    "\"roles/run.invoker\",\"members\":[\"allUsers\"]}],\"auditConfigs\":[{"
                    "\"service\":\"allServices\"}]}}],\"jobs\":[{\"name\":\"projects/p/locations/"
                    "europe-west1/jobs/j\"}],\"serviceAccounts\":[{\"email\":"
                    "\"run@p.iam.gserviceaccount.com\",\"disabled\":true}]}");
    if (emu_start(&emu, buf_str(&seed)) != 0) {
        buf_release(&seed);
        return -1;
    }
    buf_release(&seed);
    setenv("ROAM_RUN_ENDPOINT", emu.base, 1);
    setenv("ROAM_IAM_ENDPOINT", emu.base, 1);
    {
        char host[64];
        snprintf(host, sizeof(host), "127.0.0.1:%d", emu.port);
        setenv("GCE_METADATA_HOST", host, 1);
    }
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("CLOUDSDK_CONFIG", emu.dir, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    emu_stop(&emu);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    return emu_reset(&emu);
}

struct got {
    int calls;
    int err;
    char *msg;
    struct iam_policy p;
    char **names;
    size_t n;
    struct gres_sa sa;
};

static void got_release(struct got *g)
{
    free(g->msg);
    iam_policy_release(&g->p);
    for (size_t i = 0; i < g->n; i++)
        free(g->names[i]);
    free(g->names);
    gres_sa_release(&g->sa);
}

static void on_policy(void *data, int err, long status, const char *msg, struct iam_policy *p)
{
    struct got *g = data;

    (void)status;
    g->calls++;
    g->err = err;
    g->msg = xstrdup_or_null(msg);
    if (p != NULL) {
        g->p = *p;
        iam_policy_init(p);
    }
}

static void on_list(void *data, int err, const char *msg, char **names, size_t n)
{
    struct got *g = data;

    g->calls++;
    g->err = err;
    g->msg = xstrdup_or_null(msg);
    g->names = xcalloc(n + 1, sizeof(*g->names));
    for (size_t i = 0; i < n; i++)
        g->names[i] = xstrdup(names[i]);
    g->n = n;
}

static void on_sa(void *data, int err, long status, const char *msg, struct gres_sa *sa)
{
    struct got *g = data;

    (void)status;
    g->calls++;
    g->err = err;
    g->msg = xstrdup_or_null(msg);
    if (sa != NULL) {
        g->sa = *sa;
        memset(sa, 0, sizeof(*sa));
    }
}

static void open_api(struct gfx *f, struct gapi *api)
{
    char *msg = NULL;

    if (gfx_open(f, NULL, true, NULL, &msg) != 0)
        fail_msg("gfx_open: %s", msg != NULL ? msg : "?");
    gapi_init(api, f->h);
}

static void close_api(struct gfx *f, struct gapi *api)
{
    gapi_release(api);
    assert_int_equal(gfx_close(f), 0);
}

static void test_policy_read_shapes(void **state)
{
    struct gfx f;
    struct gapi api;
    struct got a = {0}, b = {0};
    json_t *log;
    size_t i;
    json_t *e;
    int seen = 0;

    (void)state;
    open_api(&f, &api);
    iam_policy_init(&a.p);
    iam_policy_init(&b.p);
    assert_int_equal(gapi_get_policy(&api, SVC, on_policy, &a), 0);
    assert_int_equal(gapi_get_policy(&api, SA, on_policy, &b), 0);
    gfx_run(&f);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, 0);
    assert_non_null(a.p.etag);
    assert_true(iam_policy_has(&a.p, "roles/run.invoker", NULL, "allUsers"));
    assert_int_equal(b.err, 0);
    log = emu_log(&emu);
    json_array_foreach (log, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *method = json_string_value(json_object_get(e, "method"));
        json_t *q = json_object_get(e, "query");
        if (path == NULL || strstr(path, ":getIamPolicy") == NULL)
            continue;
        seen++;
        assert_string_equal(json_string_value(json_object_get(q, "options.requestedPolicyVersion")),
                            "3");
        /* Cloud Run reads with GET; service accounts with POST. */
        assert_string_equal(method, strstr(path, "/serviceAccounts/") != NULL ? "POST" : "GET");
    }
    assert_int_equal(seen, 2);
    json_decref(log);
    got_release(&a);
    got_release(&b);
    close_api(&f, &api);
}

static void test_write_with_etag_and_conflict(void **state)
{
    struct gfx f;
    struct gapi api;
    struct got r = {0}, w = {0}, stale = {0};
    struct iam_policy p, none;
    char *body = NULL;

    (void)state;
    open_api(&f, &api);
    iam_policy_init(&r.p);
    iam_policy_init(&w.p);
    iam_policy_init(&stale.p);
    gapi_get_policy(&api, SVC, on_policy, &r);
    gfx_run(&f);
    assert_int_equal(r.err, 0);
    iam_policy_copy(&p, &r.p);
    iam_policy_add_member(&p, "roles/run.invoker", NULL, "group:a@acme.example");
    assert_int_equal(gapi_set_policy(&api, SVC, &p, on_policy, &w), 0);
    gfx_run(&f);
    assert_int_equal(w.err, 0);
    assert_string_not_equal(w.p.etag, r.p.etag); /* the answer carries the new etag */
    assert_true(iam_policy_has(&w.p, "roles/run.invoker", NULL, "group:a@acme.example"));
    /* auditConfigs survived the write (default updateMask). */
    assert_int_equal(emu_call(&emu, "GET", "/_emulator/state", NULL, &body), 200);
    assert_non_null(strstr(body, "allServices"));
    free(body);
    /* Writing again with the old etag: 409 ABORTED reaches the caller. */
    assert_int_equal(gapi_set_policy(&api, SVC, &p, on_policy, &stale), 0);
    gfx_run(&f);
    assert_int_equal(stale.err, ERR_CONFLICT);
    assert_non_null(strstr(stale.msg, "cannot set IAM policy for '" SVC "'"));
    assert_non_null(strstr(stale.msg, "ABORTED"));
    /* Never without an etag. */
    iam_policy_init(&none);
    assert_int_equal(gapi_set_policy(&api, SVC, &none, on_policy, &stale), ERR_INVAL);
    assert_int_equal(emu_count(&emu, "POST", ":setIamPolicy"), 2);
    iam_policy_release(&none);
    iam_policy_release(&p);
    got_release(&r);
    got_release(&w);
    got_release(&stale);
    close_api(&f, &api);
}

static void test_not_found(void **state)
{
    struct gfx f;
    struct gapi api;
    struct got g = {0};

    (void)state;
    open_api(&f, &api);
    iam_policy_init(&g.p);
    gapi_get_policy(&api, "projects/p/locations/europe-west1/services/nope", on_policy, &g);
    gfx_run(&f);
    assert_int_equal(g.err, ERR_NOTFOUND);
    assert_non_null(strstr(g.msg, "(NOT_FOUND)"));
    got_release(&g);
    close_api(&f, &api);
}

static void test_list_paginates(void **state)
{
    struct gfx f;
    struct gapi api;
    struct got g = {0}, j = {0};

    (void)state;
    open_api(&f, &api);
    iam_policy_init(&g.p);
    iam_policy_init(&j.p);
    assert_int_equal(gapi_list(&api, "projects/p/locations/europe-west1", false, on_list, &g), 0);
    assert_int_equal(gapi_list(&api, "projects/p/locations/europe-west1", true, on_list, &j), 0);
    gfx_run(&f);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.n, 251);
    assert_int_equal(emu_count(&emu, "GET", "/services"), 3);
    assert_int_equal(j.n, 1);
    assert_string_equal(j.names[0], "projects/p/locations/europe-west1/jobs/j");
    assert_int_equal(gapi_list(&api, "projects/p", false, on_list, &g), ERR_INVAL);
    got_release(&g);
    got_release(&j);
    close_api(&f, &api);
}

static void test_service_account_and_identity(void **state)
{
    struct gfx f;
    struct gapi api;
    struct got s = {0}, m = {0};

    (void)state;
    open_api(&f, &api);
    iam_policy_init(&s.p);
    iam_policy_init(&m.p);
    gapi_get_service_account(&api, "run@p.iam.gserviceaccount.com", on_sa, &s);
    gapi_get_service_account(&api, "ghost@p.iam.gserviceaccount.com", on_sa, &m);
    gfx_run(&f);
    assert_int_equal(s.err, 0);
    assert_true(s.sa.disabled);
    assert_string_equal(s.sa.email, "run@p.iam.gserviceaccount.com");
    assert_int_equal(m.err, ERR_NOTFOUND);
    got_release(&s);
    got_release(&m);
    close_api(&f, &api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_policy_read_shapes, reset),
        cmocka_unit_test_setup(test_write_with_etag_and_conflict, reset),
        cmocka_unit_test_setup(test_not_found, reset),
        cmocka_unit_test_setup(test_list_paginates, reset),
        cmocka_unit_test_setup(test_service_account_and_identity, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
