/*
 * test_ledger_gs.c - the gs:// ledger against the local emulator: put and
 * load round trip, conditional writes, two writers racing on one record
 * (both keep their owned bindings), deletes guarded by the generation,
 * loads that fail whole, and the conflict budget.
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

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/reconcile/ledger_gs.h"
#include "test/support/emu.h"
#include "test/support/gfx.h"
#include "test/support/plan_fixtures.h"

#define URL "gs://state-bkt/.roam/state"
#define OBJ "/storage/v1/b/state-bkt/o/.roam%2Fstate%2F"
#define IV "roles/run.invoker"
#define SEED "{\"buckets\":{\"state-bkt\":{\"objects\":{}}}}"

static struct emu emu;

static int group_setup(void **state)
{
    char host[64];

    (void)state;
    if (emu_start(&emu, SEED) != 0)
        return -1;
    snprintf(host, sizeof(host), "http://127.0.0.1:%d", emu.port);
    setenv("STORAGE_EMULATOR_HOST", host, 1);
    unsetenv("ROAM_STORAGE_ENDPOINT");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    emu_stop(&emu);
    return 0;
}

/* Every test starts from an empty state bucket, no faults, an empty log. */
static int reset(void **state)
{
    (void)state;
    if (emu_call(&emu, "POST", "/_emulator/state", SEED, NULL) != 200)
        return -1;
    return emu_reset(&emu);
}

/* ---- helpers ---- */

struct fixture {
    struct gfx fx;
    struct ledger_gs *a, *b;
};

static struct ledger_gs *new_ledger(struct fixture *f)
{
    struct ledger_gs *g = NULL;
    char *msg = NULL;
    const struct backoff_policy fast = {5, 20, 4, 5000};

    assert_int_equal(ledger_gs_new(&f->fx.loop, f->fx.h, URL, &g, &msg), 0);
    assert_null(msg);
    ledger_gs_set_retry(g, &fast);
    return g;
}

static void open_fixture(struct fixture *f)
{
    struct gcp_http_config cfg = {.retry = {10, 40, 3, 2000}};

    memset(f, 0, sizeof(*f));
    assert_int_equal(gfx_open(&f->fx, &cfg, false, NULL, NULL), 0);
    f->a = new_ledger(f);
    f->b = new_ledger(f);
}

static void close_fixture(struct fixture *f)
{
    ledger_gs_free(f->a);
    ledger_gs_free(f->b);
    assert_int_equal(gfx_close(&f->fx), 0);
}

/* App "pay"'s record from ledger lines (app name "pay" in each). */
static void record(struct ledger_app *ret, const char *const *lines, size_t n)
{
    struct ledger l;

    pf_ledger(&l, lines, n);
    assert_int_equal(l.n, 1);
    *ret = l.apps[0];
    memset(&l.apps[0], 0, sizeof(l.apps[0]));
    ledger_release(&l);
}

/* The record's bindings as sorted lines. */
static char *lines_of(const struct ledger_app *a)
{
    struct ledger l = {.apps = (struct ledger_app *)(uintptr_t)a, .n = 1, .cap = 1};

    return pf_ledger_lines(&l);
}

struct wrote {
    int calls;
    int err;
    char *msg;
    bool merged;
    char *stored; /* lines, or NULL */
    size_t n_stored;
};

static void on_write(struct ledger_gs *g, int err, const char *errmsg,
                     const struct ledger_app *stored, bool merged, void *data)
{
    struct wrote *w = data;

    (void)g;
    w->calls++;
    w->err = err;
    w->msg = errmsg != NULL ? xstrdup(errmsg) : NULL;
    w->merged = merged;
    w->stored = stored != NULL ? lines_of(stored) : NULL;
    w->n_stored = stored != NULL ? stored->n : 0;
}

static void wrote_release(struct wrote *w)
{
    free(w->msg);
    free(w->stored);
    memset(w, 0, sizeof(*w));
}

static void put(struct fixture *f, struct ledger_gs *g, const struct ledger_app *rec,
                struct wrote *w)
{
    assert_int_equal(ledger_gs_put(g, rec, on_write, w), 0);
    gfx_run(&f->fx);
    assert_int_equal(w->calls, 1);
}

static void del(struct fixture *f, struct ledger_gs *g, const char *app, struct wrote *w)
{
    assert_int_equal(ledger_gs_delete(g, app, on_write, w), 0);
    gfx_run(&f->fx);
    assert_int_equal(w->calls, 1);
}

struct loaded {
    int calls;
    int err;
    char *msg;
    struct ledger l;
};

static void on_load(struct ledger_gs *g, int err, const char *errmsg, struct ledger *l, void *data)
{
    struct loaded *ld = data;

    (void)g;
    ld->calls++;
    ld->err = err;
    ld->msg = errmsg != NULL ? xstrdup(errmsg) : NULL;
    ledger_init(&ld->l);
    if (l != NULL) {
        ld->l = *l; /* taken */
        ledger_init(l);
    }
}

static void load(struct fixture *f, struct ledger_gs *g, struct loaded *ld)
{
    memset(ld, 0, sizeof(*ld));
    assert_int_equal(ledger_gs_load(g, on_load, ld), 0);
    gfx_run(&f->fx);
    assert_int_equal(ld->calls, 1);
}

static void loaded_release(struct loaded *ld)
{
    free(ld->msg);
    ledger_release(&ld->l);
}

/* The stored record of app as lines, or NULL when there is no object. */
static char *stored_lines(const char *app)
{
    char *path = xasprintf("%s%s.json?alt=media", OBJ, app), *body = NULL, *ret = NULL;
    long st = emu_call(&emu, "GET", path, NULL, &body);
    struct ledger_app a;

    if (st == 200) {
        assert_int_equal(ledger_app_decode(body, strlen(body), &a, NULL), 0);
        ret = lines_of(&a);
        ledger_app_release(&a);
    } else {
        assert_int_equal(st, 404);
    }
    free(body);
    free(path);
    return ret;
}

static void put_raw(const char *name, const char *content)
{
    char *path = xasprintf("/upload/storage/v1/b/state-bkt/o?uploadType=media&name=%s", name);

    assert_int_equal(emu_call(&emu, "POST", path, content, NULL), 200);
    free(path);
}

/* Requests of method whose query has key=value (value NULL: any). */
static size_t count_query(const char *method, const char *key, const char *value, long status)
{
    json_t *log = emu_log(&emu), *e;
    size_t i, n = 0;

    json_array_foreach (log, i, e) {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *v = json_string_value(json_object_get(json_object_get(e, "query"), key));

        if (m == NULL || strcmp(m, method) != 0 || (key != NULL && v == NULL))
            continue;
        if (value != NULL && strcmp(v, value) != 0)
            continue;
        if (status != 0 && json_integer_value(json_object_get(e, "status")) != status)
            continue;
        n++;
    }
    json_decref(log);
    return n;
}

static const char *const base_l[] = {"pay owned r1 " S1 " " IV " user:x@x.example"};
static const char *const a_l[] = {"pay owned r2 " S1 " " IV " user:x@x.example",
                                  "pay owned r2 " S1 " " IV " user:a@x.example"};
static const char *const b_l[] = {"pay owned r3 " S1 " " IV " user:x@x.example",
                                  "pay owned r3 " S2 " " IV " user:b@x.example"};

/* ---- tests ---- */

static void test_round_trip(void **state)
{
    struct fixture f;
    struct ledger_app rec;
    struct wrote w = {0};
    struct loaded ld;
    char *want, *got, *body = NULL;
    long long gen;

    (void)state;
    open_fixture(&f);
    record(&rec, a_l, 2);
    put(&f, f.a, &rec, &w);
    assert_int_equal(w.err, 0);
    assert_false(w.merged);
    gen = ledger_gs_generation(f.a, "pay");
    assert_true(gen > 0);
    /* created with ifGenerationMatch=0, the name encoded, no Authorization */
    assert_int_equal(count_query("POST", "ifGenerationMatch", "0", 200), 1);
    assert_int_equal(count_query("POST", "name", ".roam/state/pay.json", 200), 1);
    assert_int_equal(emu_count(&emu, "POST", "/upload/storage/v1/b/state-bkt/o"), 1);
    /* the object holds exactly ledger_app_encode()'s output */
    want = ledger_app_encode(&rec);
    assert_int_equal(emu_call(&emu, "GET", OBJ "pay.json?alt=media", NULL, &body), 200);
    assert_string_equal(body, want);
    free(body);
    free(want);
    /* a second writer loads it */
    load(&f, f.b, &ld);
    assert_int_equal(ld.err, 0);
    assert_int_equal(ld.l.n, 1);
    assert_string_equal(ld.l.apps[0].app, "pay");
    assert_string_equal(ld.l.apps[0].revision, "r2");
    got = lines_of(&ld.l.apps[0]);
    want = lines_of(&rec);
    assert_string_equal(got, want);
    assert_true(ledger_gs_generation(f.b, "pay") == gen);
    assert_true(ledger_gs_generation(f.b, "other") == 0);
    free(got);
    free(want);
    loaded_release(&ld);
    /* a second put by the same writer is conditioned on its generation */
    wrote_release(&w);
    put(&f, f.a, &rec, &w);
    assert_int_equal(w.err, 0);
    {
        char g[32];
        snprintf(g, sizeof(g), "%lld", gen);
        assert_int_equal(count_query("POST", "ifGenerationMatch", g, 200), 1);
    }
    assert_true(ledger_gs_generation(f.a, "pay") > gen);
    wrote_release(&w);
    ledger_app_release(&rec);
    close_fixture(&f);
}

static void test_load_empty_and_ignored(void **state)
{
    struct fixture f;
    struct loaded ld;

    (void)state;
    open_fixture(&f);
    load(&f, f.a, &ld);
    assert_int_equal(ld.err, 0);
    assert_int_equal(ld.l.n, 0);
    loaded_release(&ld);
    /* objects that are no records are left alone */
    put_raw(".roam%2Fstate%2Freadme.txt", "x");
    put_raw(".roam%2Fstate%2Fsub%2Fx.json", "x");
    put_raw(".roam%2Fstate%2FBad%20Name.json", "x");
    put_raw(".roam%2Fstatex.json", "x");
    load(&f, f.a, &ld);
    assert_int_equal(ld.err, 0);
    assert_int_equal(ld.l.n, 0);
    assert_int_equal(count_query("GET", "alt", "media", 0), 0);
    loaded_release(&ld);
    close_fixture(&f);
}

/* Both writers read generation G; A writes; B's write meets 412, re-reads,
 * merges and writes: the object holds both writers' owned bindings. */
static void test_race_sequential(void **state)
{
    struct fixture f;
    struct ledger_app base, ra, rb;
    struct wrote w = {0};
    struct loaded ld;
    char *got;
    static const char *const want[] = {
        "pay owned r2 " S1 " " IV " user:a@x.example",
        "pay owned r3 " S1 " " IV " user:x@x.example",
        "pay owned r3 " S2 " " IV " user:b@x.example",
    };
    char *want_s = pf_join_sorted(want, 3);

    (void)state;
    open_fixture(&f);
    record(&base, base_l, 1);
    record(&ra, a_l, 2);
    record(&rb, b_l, 2);
    put(&f, f.a, &base, &w);
    wrote_release(&w);
    load(&f, f.a, &ld);
    loaded_release(&ld);
    load(&f, f.b, &ld);
    loaded_release(&ld);
    assert_true(ledger_gs_generation(f.a, "pay") == ledger_gs_generation(f.b, "pay"));
    assert_int_equal(emu_reset(&emu), 0);
    put(&f, f.a, &ra, &w);
    assert_int_equal(w.err, 0);
    assert_false(w.merged);
    wrote_release(&w);
    put(&f, f.b, &rb, &w);
    assert_int_equal(w.err, 0);
    assert_true(w.merged);
    assert_string_equal(w.stored, want_s);
    /* B: one 412, one re-read, one successful write */
    assert_int_equal(count_query("POST", "uploadType", "media", 412), 1);
    assert_int_equal(count_query("GET", "alt", "media", 200), 1);
    assert_int_equal(count_query("POST", "uploadType", "media", 200), 2);
    got = stored_lines("pay");
    assert_string_equal(got, want_s);
    free(got);
    /* the revision is the last writer's */
    load(&f, f.a, &ld);
    assert_string_equal(ld.l.apps[0].revision, "r3");
    assert_true(ledger_gs_generation(f.a, "pay") == ledger_gs_generation(f.b, "pay"));
    loaded_release(&ld);
    wrote_release(&w);
    ledger_app_release(&base);
    ledger_app_release(&ra);
    ledger_app_release(&rb);
    free(want_s);
    close_fixture(&f);
}

/* Both writes in flight at once: one wins, the other merges. */
static void test_race_concurrent(void **state)
{
    struct fixture f;
    struct ledger_app ra, rb;
    struct wrote wa = {0}, wb = {0};
    char *got;

    (void)state;
    open_fixture(&f);
    record(&ra, a_l, 2);
    record(&rb, b_l, 2);
    /* neither knows the record: both create with ifGenerationMatch=0 */
    assert_int_equal(ledger_gs_put(f.a, &ra, on_write, &wa), 0);
    assert_int_equal(ledger_gs_put(f.b, &rb, on_write, &wb), 0);
    gfx_run(&f.fx);
    assert_int_equal(wa.calls, 1);
    assert_int_equal(wb.calls, 1);
    assert_int_equal(wa.err, 0);
    assert_int_equal(wb.err, 0);
    assert_true(wa.merged != wb.merged);
    assert_int_equal((wa.merged ? wa.n_stored : wb.n_stored), 3);
    got = stored_lines("pay");
    assert_non_null(strstr(got, "user:a@x.example"));
    assert_non_null(strstr(got, "user:b@x.example"));
    assert_non_null(strstr(got, "user:x@x.example"));
    free(got);
    wrote_release(&wa);
    wrote_release(&wb);
    ledger_app_release(&ra);
    ledger_app_release(&rb);
    close_fixture(&f);
}

/* The object vanished between the 412 and the re-read: recreate. */
static void test_put_after_delete(void **state)
{
    struct fixture f;
    struct ledger_app ra;
    struct wrote w = {0};
    struct loaded ld;
    char *got, *want;

    (void)state;
    open_fixture(&f);
    record(&ra, a_l, 2);
    put(&f, f.a, &ra, &w);
    wrote_release(&w);
    load(&f, f.b, &ld);
    loaded_release(&ld);
    del(&f, f.a, "pay", &w);
    assert_int_equal(w.err, 0);
    wrote_release(&w);
    /* B still holds the old generation: 412, re-read 404, create */
    put(&f, f.b, &ra, &w);
    assert_int_equal(w.err, 0);
    got = stored_lines("pay");
    want = lines_of(&ra);
    assert_string_equal(got, want);
    free(got);
    free(want);
    wrote_release(&w);
    ledger_app_release(&ra);
    close_fixture(&f);
}

static void test_delete(void **state)
{
    struct fixture f;
    struct ledger_app base, rb;
    struct wrote w = {0};
    struct loaded ld;
    char *got;

    (void)state;
    open_fixture(&f);
    record(&base, base_l, 1);
    record(&rb, b_l, 2);
    /* a plain delete: conditioned on the generation, then forgotten */
    put(&f, f.a, &base, &w);
    wrote_release(&w);
    {
        char g[32];
        snprintf(g, sizeof(g), "%lld", ledger_gs_generation(f.a, "pay"));
        del(&f, f.a, "pay", &w);
        assert_int_equal(w.err, 0);
        assert_null(w.stored);
        assert_int_equal(count_query("DELETE", "ifGenerationMatch", g, 204), 1);
    }
    assert_true(ledger_gs_generation(f.a, "pay") == 0);
    assert_null(stored_lines("pay"));
    wrote_release(&w);
    /* deleting what is not there is fine */
    del(&f, f.a, "pay", &w);
    assert_int_equal(w.err, 0);
    wrote_release(&w);
    del(&f, f.a, "never", &w);
    assert_int_equal(w.err, 0);
    wrote_release(&w);
    /* another writer recorded owned bindings after A read it: kept */
    put(&f, f.a, &base, &w);
    wrote_release(&w);
    load(&f, f.b, &ld);
    loaded_release(&ld);
    put(&f, f.b, &rb, &w);
    wrote_release(&w);
    assert_int_equal(emu_reset(&emu), 0);
    del(&f, f.a, "pay", &w);
    assert_int_equal(w.err, ERR_CONFLICT);
    assert_non_null(strstr(w.msg, "not deleting 'gs://state-bkt/.roam/state/pay.json'"));
    assert_non_null(strstr(w.msg, "2 owned bindings"));
    assert_non_null(w.stored);
    assert_non_null(strstr(w.stored, "user:b@x.example"));
    assert_int_equal(count_query("DELETE", NULL, NULL, 412), 1);
    assert_int_equal(count_query("DELETE", NULL, NULL, 204), 0);
    got = stored_lines("pay");
    assert_non_null(strstr(got, "user:b@x.example"));
    free(got);
    /* A now knows the new generation; a second delete goes through */
    assert_true(ledger_gs_generation(f.a, "pay") == ledger_gs_generation(f.b, "pay"));
    wrote_release(&w);
    del(&f, f.a, "pay", &w);
    assert_int_equal(w.err, 0);
    assert_null(stored_lines("pay"));
    wrote_release(&w);
    ledger_app_release(&base);
    ledger_app_release(&rb);
    close_fixture(&f);
}

/* A changed record with nothing owned is deleted at its new generation. */
static void test_delete_nothing_owned(void **state)
{
    static const char *const found_l[] = {"pay found r4 " S1 " " IV " user:f@x.example"};
    struct fixture f;
    struct ledger_app base, found;
    struct wrote w = {0};
    struct loaded ld;

    (void)state;
    open_fixture(&f);
    record(&base, base_l, 1);
    record(&found, found_l, 1);
    put(&f, f.a, &base, &w);
    wrote_release(&w);
    load(&f, f.b, &ld);
    loaded_release(&ld);
    /* another writer's record that holds only a found binding (written
     * out of band: a put would merge A's owned one back in) */
    {
        char *json = ledger_app_encode(&found);
        put_raw(".roam%2Fstate%2Fpay.json", json);
        free(json);
    }
    del(&f, f.a, "pay", &w);
    assert_int_equal(w.err, 0);
    assert_null(stored_lines("pay"));
    wrote_release(&w);
    ledger_app_release(&base);
    ledger_app_release(&found);
    close_fixture(&f);
}

static void test_load_failures(void **state)
{
    static const struct {
        const char *name, *content, *fault, *msg;
        int err;
    } rows[] = {
        {".roam%2Fstate%2Fpay.json", "{not json", NULL, "bad ledger record", ERR_PARSE},
        {".roam%2Fstate%2Fpay.json", "{\"app\":\"pay\",\"bindings\":[{\"resource\":1}]}", NULL,
         "bindings[0].resource", ERR_PARSE},
        {".roam%2Fstate%2Fpay.json", "{\"app\":\"other\",\"bindings\":[]}", NULL,
         "the record is of app 'other'", ERR_PARSE},
        {NULL, NULL,
         "{\"match\":{\"method\":\"GET\",\"path_regex\":\"/o$\"},\"action\":{\"status\":403}}",
         "cannot list 'gs://state-bkt/.roam/state/'", ERR_PERM},
        {".roam%2Fstate%2Fpay.json", "{\"app\":\"pay\",\"bindings\":[]}",
         "{\"match\":{\"path_regex\":\"pay.json$\"},\"count\":-1,\"action\":{\"status\":503}}",
         "cannot read 'gs://state-bkt/.roam/state/pay.json'", ERR_TRANSIENT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fixture f;
        struct ledger_app rec;
        struct wrote w = {0};
        struct loaded ld;
        long long before;

        assert_int_equal(reset(NULL), 0);
        open_fixture(&f);
        /* A knows another record; a failed load keeps what A knew */
        record(&rec, base_l, 1);
        free(rec.app);
        rec.app = xstrdup("keep");
        put(&f, f.a, &rec, &w);
        wrote_release(&w);
        before = ledger_gs_generation(f.a, "keep");
        if (rows[i].name != NULL)
            put_raw(rows[i].name, rows[i].content);
        if (rows[i].fault != NULL)
            assert_int_equal(emu_fault(&emu, rows[i].fault), 0);
        load(&f, f.a, &ld);
        assert_int_equal(ld.err, rows[i].err);
        assert_int_equal(ld.l.n, 0);
        if (strstr(ld.msg, rows[i].msg) == NULL)
            fail_msg("row %zu: '%s' lacks '%s'", i, ld.msg, rows[i].msg);
        assert_true(ledger_gs_generation(f.a, "keep") == before);
        loaded_release(&ld);
        ledger_app_release(&rec);
        close_fixture(&f);
    }
}

/* A record that cannot be read is never overwritten by a merge. */
static void test_put_over_unreadable(void **state)
{
    struct fixture f;
    struct ledger_app ra;
    struct wrote w = {0};
    char *body = NULL;

    (void)state;
    open_fixture(&f);
    record(&ra, a_l, 2);
    put_raw(".roam%2Fstate%2Fpay.json", "{garbage");
    put(&f, f.a, &ra, &w);
    assert_int_equal(w.err, ERR_PARSE);
    assert_non_null(strstr(w.msg, "bad ledger record"));
    assert_int_equal(emu_call(&emu, "GET", OBJ "pay.json?alt=media", NULL, &body), 200);
    assert_string_equal(body, "{garbage");
    free(body);
    wrote_release(&w);
    ledger_app_release(&ra);
    close_fixture(&f);
}

static void test_conflict_budget(void **state)
{
    struct fixture f;
    struct ledger_app ra;
    struct wrote w = {0};

    (void)state;
    open_fixture(&f);
    record(&ra, a_l, 2);
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"method\":\"POST\"},\"count\":-1,"
                                     "\"action\":{\"status\":412}}"),
                     0);
    put(&f, f.a, &ra, &w);
    assert_int_equal(w.err, ERR_CONFLICT);
    assert_non_null(strstr(w.msg, "gave up after"));
    /* budget of 4: four writes, each followed by a re-read but the last */
    assert_int_equal(count_query("POST", "uploadType", "media", 412), 4);
    assert_int_equal(count_query("GET", "alt", "media", 404), 3);
    assert_true(ledger_gs_generation(f.a, "pay") == 0);
    wrote_release(&w);
    /* a 304 counts as a failed precondition too */
    assert_int_equal(emu_reset(&emu), 0);
    {
        struct ledger_app base;
        char *json;

        record(&base, base_l, 1);
        json = ledger_app_encode(&base);
        put_raw(".roam%2Fstate%2Fpay.json", json);
        free(json);
        ledger_app_release(&base);
    }
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"method\":\"POST\"},\"count\":1,"
                                     "\"action\":{\"status\":304}}"),
                     0);
    put(&f, f.a, &ra, &w);
    assert_int_equal(w.err, 0);
    assert_true(w.merged);
    assert_int_equal(w.n_stored, 2); /* x@ in both, a@ from A */
    assert_int_equal(count_query("POST", "uploadType", "media", 304), 1);
    assert_int_equal(count_query("POST", "uploadType", "media", 200), 1);
    wrote_release(&w);
    ledger_app_release(&ra);
    close_fixture(&f);
}

static void test_misuse(void **state)
{
    struct fixture f;
    struct ledger_app ra;
    struct wrote w = {0};
    struct loaded ld = {0};
    struct ledger_gs *g = NULL;
    char *msg = NULL;

    (void)state;
    open_fixture(&f);
    assert_int_equal(ledger_gs_new(&f.fx.loop, f.fx.h, "file:///x", &g, &msg), ERR_INVAL);
    assert_null(g);
    free(msg);
    record(&ra, a_l, 2);
    assert_int_equal(ledger_gs_put(f.a, &ra, on_write, &w), 0);
    /* one call per app at a time; no load during writes */
    assert_int_equal(ledger_gs_put(f.a, &ra, on_write, &w), ERR_INVAL);
    assert_int_equal(ledger_gs_delete(f.a, "pay", on_write, &w), ERR_INVAL);
    assert_int_equal(ledger_gs_load(f.a, on_load, &ld), ERR_INVAL);
    gfx_run(&f.fx);
    assert_int_equal(w.calls, 1);
    assert_int_equal(ld.calls, 0);
    wrote_release(&w);
    /* names that cannot be object names of records */
    free(ra.app);
    ra.app = xstrdup("../x");
    assert_int_equal(ledger_gs_put(f.a, &ra, on_write, &w), ERR_INVAL);
    assert_int_equal(ledger_gs_delete(f.a, "A B", on_write, &w), ERR_INVAL);
    assert_int_equal(ledger_gs_delete(f.a, "", on_write, &w), ERR_INVAL);
    assert_int_equal(w.calls, 0);
    ledger_gs_free(NULL);
    ledger_app_release(&ra);
    close_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_round_trip, reset),
        cmocka_unit_test_setup(test_load_empty_and_ignored, reset),
        cmocka_unit_test_setup(test_race_sequential, reset),
        cmocka_unit_test_setup(test_race_concurrent, reset),
        cmocka_unit_test_setup(test_put_after_delete, reset),
        cmocka_unit_test_setup(test_delete, reset),
        cmocka_unit_test_setup(test_delete_nothing_owned, reset),
        cmocka_unit_test_setup(test_load_failures, reset),
        cmocka_unit_test_setup(test_put_over_unreadable, reset),
        cmocka_unit_test_setup(test_conflict_budget, reset),
        cmocka_unit_test_setup(test_misuse, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
