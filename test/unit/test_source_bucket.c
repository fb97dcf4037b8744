/*
 * test_source_bucket.c - the gs:// source against the local emulator:
 * snapshot paths and bytes, percent-encoded object names, only changed
 * objects downloaded, a no-change poll in one request, pagination past
 * 1,000 objects, failed listings and downloads keeping the previous
 * snapshot, refused names and sizes, and the disk cache across restarts
 * (including a corrupt one).  Also prints the cost of a no-change poll of a
 * 1,000-object bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/source/source_bucket.h"
#include "test/support/emu.h"
#include "test/support/gfx.h"

#define PAGE_OBJECTS 1205 /* more than one listing page of 1,000 */
#define BENCH_OBJECTS 1000

static struct emu emu;

static const char *const app_objects[][2] = {
    {"apps/a.yaml", "name: a\n"},
    {"apps/sub/b.yml", "name: b\n"},
    {"apps/dir with space/c d.yaml", "name: c\n"},
    {"apps/plus+sign.yaml", "name: plus\n"},
    {"apps/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.yaml", "name: unicode\n"},
    {"apps/readme.md", "not a document\n"},
    {"apps/.roam/state/x.yaml", "under a dot-directory\n"},
    {"apps-old/q.yaml", "outside the prefix\n"},
    {"other/z.yaml", "outside the prefix\n"},
};

static void seed_object(struct buf *b, const char *name, const char *content, bool *first)
{
    json_t *n = json_string(name), *c = json_string(content);
    char *ns = json_dumps(n, JSON_ENCODE_ANY), *cs = json_dumps(c, JSON_ENCODE_ANY);

    buf_printf(b, "%s%s:%s", *first ? "" : ",", ns, cs);
    *first = false;
    free(ns);
    free(cs);
    json_decref(n);
    json_decref(c);
}

static char *build_seed(void)
{
    struct buf b;
    bool first = true;
    char *big = xmalloc(CAP_MANIFEST_BYTES + 2);

    buf_init(&b, 64u << 20);
    buf_puts(&b, "{\"buckets\":{\"bkt\":{\"objects\":{");
    for (size_t i = 0; i < sizeof(app_objects) / sizeof(app_objects[0]); i++)
        seed_object(&b, app_objects[i][0], app_objects[i][1], &first);
    /* refused names and sizes */
    seed_object(&b, "refuse/ok.yaml", "name: ok\n", &first);
    seed_object(&b, "refuse/../escape.yaml", "x\n", &first);
    seed_object(&b, "refuse/a/../../escape2.yml", "x\n", &first);
    seed_object(&b, "refuse//lead.yaml", "x\n", &first);
    seed_object(&b, "refuse/ctl\x01name.yaml", "x\n", &first);
    memset(big, 'x', CAP_MANIFEST_BYTES + 1);
    big[CAP_MANIFEST_BYTES + 1] = '\0';
    seed_object(&b, "refuse/big.yaml", big, &first);
    /* pagination: mostly other files, documents on both pages */
    seed_object(&b, "page/0-first.yaml", "name: first\n", &first);
    for (int i = 0; i < PAGE_OBJECTS; i++) {
        char name[64];
        snprintf(name, sizeof(name), "page/data-%04d.txt", i);
        seed_object(&b, name, "d\n", &first);
    }
    seed_object(&b, "page/z-last.yaml", "name: last\n", &first);
    for (int i = 0; i < BENCH_OBJECTS; i++) {
        char name[64], content[64];
        snprintf(name, sizeof(name), "bench/app-%04d.yaml", i);
        snprintf(content, sizeof(content), "name: app-%04d\n", i);
        seed_object(&b, name, content, &first);
    }
    /* for the failure, change and cache tests */
    for (int i = 0; i < 3; i++) {
        static const char *const pfx[] = {"fail", "change", "cache"};
        char name[64];
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof(name), "%s/f%d.yaml", pfx[i], j);
            seed_object(&b, name, "name: f\n", &first);
        }
    }
    buf_puts(&b, "}}}}");
    free(big);
    return buf_detach(&b, NULL);
}

static int group_setup(void **state)
{
    char *seed = build_seed(), host[64];
    int r;

    (void)state;
    r = emu_start(&emu, seed);
    free(seed);
    if (r != 0)
        return -1;
    /* host:port without a scheme, as Google's libraries accept it */
    snprintf(host, sizeof(host), "127.0.0.1:%d", emu.port);
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

static int reset(void **state)
{
    (void)state;
    return emu_reset(&emu);
}

/* ---- helpers ---- */

struct got {
    int calls;
    int err;
    char *msg;
    bool changed;
    const struct src_snapshot *snap;
};

static void on_read(struct src_bucket *b, int err, const char *errmsg,
                    const struct src_snapshot *snap, bool changed, void *data)
{
    struct got *g = data;

    (void)b;
    g->calls++;
    g->err = err;
    free(g->msg);
    g->msg = errmsg != NULL ? xstrdup(errmsg) : NULL;
    g->changed = changed;
    g->snap = snap;
}

/* One read to completion. */
static void read_once(struct gfx *fx, struct src_bucket *b, struct got *g)
{
    g->calls = 0;
    assert_int_equal(src_bucket_read(b, on_read, g), 0);
    gfx_run(fx);
    assert_int_equal(g->calls, 1);
}

static void open_fx(struct gfx *fx)
{
    /* Short retries so that failures are quick. */
    struct gcp_http_config cfg = {.retry = {10, 40, 3, 2000}};

    assert_int_equal(gfx_open(fx, &cfg, false, NULL, NULL), 0);
}

static struct src_bucket *new_bucket(struct gfx *fx, const char *url, const char *cache)
{
    struct src_bucket *b = NULL;
    char *msg = NULL;

    assert_int_equal(src_bucket_new(fx->h, url, cache, &b, &msg), 0);
    assert_null(msg);
    return b;
}

static const struct src_file *find(const struct src_snapshot *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return &s->files[i];
    return NULL;
}

static const char *query_value(json_t *entry, const char *key)
{
    return json_string_value(json_object_get(json_object_get(entry, "query"), key));
}

/* Storage requests in the log: all, media downloads, listings. */
struct counts {
    size_t all, media, lists, with_auth;
};

static struct counts count_requests(void)
{
    json_t *log = emu_log(&emu), *e;
    struct counts c = {0};
    size_t i;

    assert_non_null(log);
    json_array_foreach (log, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *alt = query_value(e, "alt");

        c.all++;
        if (json_is_true(json_object_get(e, "auth")))
            c.with_auth++;
        if (alt != NULL && strcmp(alt, "media") == 0)
            c.media++;
        else if (path != NULL && str_has_suffix(path, "/o"))
            c.lists++;
    }
    json_decref(log);
    return c;
}

/* Was object path (raw, percent-encoded) downloaded with a generation? */
static bool downloaded(const char *encoded_suffix)
{
    json_t *log = emu_log(&emu), *e;
    bool found = false;
    size_t i;

    json_array_foreach (log, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *alt = query_value(e, "alt"), *gen = query_value(e, "generation");

        if (path != NULL && str_has_suffix(path, encoded_suffix) && alt != NULL &&
            strcmp(alt, "media") == 0 && gen != NULL && gen[0] != '\0')
            found = true;
    }
    json_decref(log);
    return found;
}

static bool has_error(const struct src_snapshot *s, const char *file, const char *text)
{
    for (size_t i = 0; i < s->errs.n; i++)
        if (str_eq0(s->errs.v[i].file, file) && strstr(s->errs.v[i].msg, text) != NULL)
            return true;
    return false;
}

static void upload(const char *encoded_name, const char *content)
{
    char *path = xasprintf("/upload/storage/v1/b/bkt/o?uploadType=media&name=%s", encoded_name);

    assert_int_equal(emu_call(&emu, "POST", path, content, NULL), 200);
    free(path);
}

static void delete_object(const char *encoded_name)
{
    char *path = xasprintf("/storage/v1/b/bkt/o/%s", encoded_name);

    assert_int_equal(emu_call(&emu, "DELETE", path, NULL, NULL), 204);
    free(path);
}

/* ---- tests ---- */

static void test_snapshot(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    const struct src_file *f;
    struct counts c;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/apps", NULL);
    assert_null(src_bucket_snapshot(b));
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_true(g.changed);
    assert_non_null(g.snap);
    assert_ptr_equal(g.snap, src_bucket_snapshot(b));
    assert_true(g.snap->complete);
    assert_int_equal(g.snap->errs.n, 0);
    assert_string_equal(g.snap->root, "gs://bkt/apps");
    assert_true(str_has_prefix(g.snap->revision, "gs:"));
    assert_int_equal(strlen(g.snap->revision), 3 + 16);
    /* paths relative to the prefix, sorted; other kinds, dot-directories
     * and names outside the prefix left out */
    assert_int_equal(g.snap->n, 5);
    for (size_t i = 1; i < g.snap->n; i++)
        assert_true(strcmp(g.snap->files[i - 1].path, g.snap->files[i].path) < 0);
    f = find(g.snap, "a.yaml");
    assert_non_null(f);
    assert_string_equal(f->data, "name: a\n");
    assert_int_equal(f->len, 8);
    assert_non_null(find(g.snap, "sub/b.yml"));
    assert_non_null(find(g.snap, "dir with space/c d.yaml"));
    assert_non_null(find(g.snap, "plus+sign.yaml"));
    f = find(g.snap, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.yaml");
    assert_non_null(f);
    assert_string_equal(f->data, "name: unicode\n");
    /* one listing, one download per document, names fully encoded, no
     * Authorization to an emulator named by STORAGE_EMULATOR_HOST */
    c = count_requests();
    assert_int_equal(c.lists, 1);
    assert_int_equal(c.media, 5);
    assert_int_equal(c.all, 6);
    assert_int_equal(c.with_auth, 0);
    assert_true(downloaded("/storage/v1/b/bkt/o/apps%2Fa.yaml"));
    assert_true(downloaded("/o/apps%2Fdir%20with%20space%2Fc%20d.yaml"));
    assert_true(downloaded("/o/apps%2Fplus%2Bsign.yaml"));
    assert_true(downloaded("/o/apps%2Fcaf%C3%A9%2F%E6%97%A5%E6%9C%AC.yaml"));
    assert_false(downloaded("readme.md"));
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_no_change_poll(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    struct src_bucket_stats st;
    char *rev;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/apps/", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    rev = xstrdup(g.snap->revision);
    assert_int_equal(emu_reset(&emu), 0);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_false(g.changed);
    assert_string_equal(g.snap->revision, rev);
    assert_int_equal(g.snap->n, 5);
    assert_string_equal(find(g.snap, "a.yaml")->data, "name: a\n");
    assert_int_equal(count_requests().all, 1);
    src_bucket_stats(b, &st);
    assert_int_equal(st.last_downloads, 0);
    assert_int_equal(st.last_from_memory, 5);
    assert_int_equal(st.reads, 2);
    free(rev);
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_changed_and_deleted(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    char *rev;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/change", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.snap->n, 3);
    rev = xstrdup(g.snap->revision);
    upload("change%2Ff0.yaml", "name: f0-v2\n");
    upload("change%2Fnew.yaml", "name: new\n");
    delete_object("change%2Ff2.yaml");
    assert_int_equal(emu_reset(&emu), 0);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_true(g.changed);
    assert_string_not_equal(g.snap->revision, rev);
    assert_int_equal(g.snap->n, 3);
    assert_string_equal(find(g.snap, "f0.yaml")->data, "name: f0-v2\n");
    assert_string_equal(find(g.snap, "f1.yaml")->data, "name: f\n");
    assert_string_equal(find(g.snap, "new.yaml")->data, "name: new\n");
    assert_null(find(g.snap, "f2.yaml"));
    /* only the changed and the new object were downloaded */
    assert_int_equal(count_requests().media, 2);
    assert_true(downloaded("change%2Ff0.yaml"));
    assert_true(downloaded("change%2Fnew.yaml"));
    /* the same content under a new generation is a change too */
    free(rev);
    rev = xstrdup(g.snap->revision);
    upload("change%2Ff1.yaml", "name: f\n");
    read_once(&fx, b, &g);
    assert_true(g.changed);
    assert_string_not_equal(g.snap->revision, rev);
    free(rev);
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_pagination(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    json_t *log, *e;
    size_t i, with_token = 0;
    struct counts c;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/page", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.snap->n, 2);
    assert_string_equal(g.snap->files[0].path, "0-first.yaml");
    assert_string_equal(g.snap->files[1].path, "z-last.yaml");
    assert_string_equal(g.snap->files[1].data, "name: last\n");
    c = count_requests();
    assert_int_equal(c.lists, 2);
    assert_int_equal(c.media, 2);
    log = emu_log(&emu);
    json_array_foreach (log, i, e) {
        const char *tok = query_value(e, "pageToken");
        const char *max = query_value(e, "maxResults");
        const char *fields = query_value(e, "fields");

        if (query_value(e, "alt") != NULL)
            continue;
        assert_string_equal(max, "1000");
        assert_string_equal(query_value(e, "prefix"), "page/");
        assert_string_equal(fields, "nextPageToken,items(name,generation,size)");
        if (tok != NULL)
            with_token++;
    }
    json_decref(log);
    assert_int_equal(with_token, 1);
    /* the no-change poll of a two-page listing: two requests */
    assert_int_equal(emu_reset(&emu), 0);
    read_once(&fx, b, &g);
    assert_false(g.changed);
    c = count_requests();
    assert_int_equal(c.all, 2);
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_failures_keep_snapshot(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    struct src_bucket_stats st;
    char *rev;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/fail", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    rev = xstrdup(g.snap->revision);
    /* 503 beyond the retry budget */
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"method\":\"GET\",\"path_regex\":\"/b/bkt/o$\"},"
                                     "\"count\":-1,\"action\":{\"status\":503}}"),
                     0);
    upload("fail%2Ff0.yaml", "name: changed\n");
    read_once(&fx, b, &g);
    assert_int_equal(g.err, ERR_TRANSIENT);
    assert_null(g.snap);
    assert_non_null(strstr(g.msg, "cannot list 'gs://bkt/fail/'"));
    assert_non_null(strstr(g.msg, "attempts"));
    assert_non_null(src_bucket_snapshot(b));
    assert_string_equal(src_bucket_snapshot(b)->revision, rev);
    assert_string_equal(find(src_bucket_snapshot(b), "f0.yaml")->data, "name: f\n");
    /* 403: not retried, permission denied */
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"path_regex\":\"/b/bkt/o$\"},\"count\":1,"
                                     "\"action\":{\"status\":403}}"),
                     0);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, ERR_PERM);
    assert_non_null(strstr(g.msg, "permission denied"));
    assert_int_equal(count_requests().all, 1);
    assert_string_equal(src_bucket_snapshot(b)->revision, rev);
    /* a download failing beyond retries fails the read too */
    assert_int_equal(emu_reset(&emu), 0);
    upload("fail%2Ff1.yaml", "name: changed too\n");
    assert_int_equal(emu_fault(&emu, "{\"match\":{\"path_regex\":\"fail%2Ff1.yaml$\"},"
                                     "\"count\":-1,\"action\":{\"status\":503}}"),
                     0);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, ERR_TRANSIENT);
    assert_non_null(strstr(g.msg, "cannot read 'gs://bkt/fail/f1.yaml'"));
    assert_string_equal(src_bucket_snapshot(b)->revision, rev);
    /* recovered: only the object that failed is fetched again */
    assert_int_equal(emu_reset(&emu), 0);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_true(g.changed);
    assert_string_equal(find(g.snap, "f0.yaml")->data, "name: changed\n");
    assert_string_equal(find(g.snap, "f1.yaml")->data, "name: changed too\n");
    assert_int_equal(count_requests().media, 1);
    src_bucket_stats(b, &st);
    assert_int_equal(st.last_downloads, 1);
    free(rev);
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_missing_bucket(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://no-such-bucket/x", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, ERR_NOTFOUND);
    assert_non_null(strstr(g.msg, "gs://no-such-bucket/x/"));
    assert_null(src_bucket_snapshot(b));
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_refused(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/refuse", NULL);
    read_once(&fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_false(g.snap->complete);
    assert_int_equal(g.snap->n, 1);
    assert_string_equal(g.snap->files[0].path, "ok.yaml");
    assert_int_equal(g.snap->errs.n, 5);
    assert_true(has_error(g.snap, "gs://bkt/refuse/../escape.yaml", "'..' segment"));
    assert_true(has_error(g.snap, "gs://bkt/refuse/a/../../escape2.yml", "'..' segment"));
    assert_true(has_error(g.snap, "gs://bkt/refuse//lead.yaml", "starts with '/'"));
    assert_true(has_error(g.snap, "gs://bkt/refuse/ctl%01name.yaml", "control characters"));
    assert_true(has_error(g.snap, "gs://bkt/refuse/big.yaml", "1 MiB"));
    /* refused objects are never downloaded; the big one by its listed size */
    assert_int_equal(count_requests().media, 1);
    assert_false(downloaded("big.yaml"));
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

static void test_api_misuse(void **state)
{
    struct gfx fx;
    struct got g = {0}, g2 = {0};
    struct src_bucket *b = NULL;
    char *msg = NULL;

    (void)state;
    open_fx(&fx);
    assert_int_equal(src_bucket_new(fx.h, "gs://B/x", NULL, &b, &msg), ERR_INVAL);
    assert_null(b);
    assert_non_null(strstr(msg, "bucket name"));
    free(msg);
    assert_int_equal(src_bucket_new(fx.h, "/local/dir", NULL, &b, NULL), ERR_INVAL);
    b = new_bucket(&fx, "gs://bkt/apps", NULL);
    assert_int_equal(src_bucket_read(b, on_read, &g), 0);
    assert_int_equal(src_bucket_read(b, on_read, &g2), ERR_INVAL);
    assert_int_equal(src_bucket_read(b, NULL, NULL), ERR_INVAL);
    gfx_run(&fx);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g2.calls, 0);
    src_bucket_free(b);
    src_bucket_free(NULL);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

/* The callback may free the source. */
static void free_in_callback(struct src_bucket *b, int err, const char *errmsg,
                             const struct src_snapshot *snap, bool changed, void *data)
{
    (void)errmsg;
    (void)changed;
    assert_int_equal(err, 0);
    assert_int_equal(snap->n, 5);
    (*(int *)data)++;
    src_bucket_free(b);
}

static void test_free_in_callback(void **state)
{
    struct gfx fx;
    struct src_bucket *b;
    int calls = 0;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/apps", NULL);
    assert_int_equal(src_bucket_read(b, free_in_callback, &calls), 0);
    gfx_run(&fx);
    assert_int_equal(calls, 1);
    assert_int_equal(gfx_close(&fx), 0);
}

static void corrupt(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The first .obj file of dir, or NULL. */
static char *some_object_file(const char *dir)
{
    char *cmd = xasprintf("ls %s/*.obj | head -1", dir), line[512];
    FILE *p = popen(cmd, "r");
    char *ret = NULL;

    free(cmd);
    if (p != NULL && fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        ret = xstrdup(line);
    }
    if (p != NULL)
        pclose(p);
    return ret;
}

static unsigned restart_and_read(struct gfx *fx, const char *dir, unsigned *from_disk)
{
    struct got g = {0};
    struct src_bucket *b = new_bucket(fx, "gs://bkt/cache", dir);
    struct src_bucket_stats st;

    read_once(fx, b, &g);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.snap->n, 3);
    assert_string_equal(find(g.snap, "f1.yaml")->data, "name: f\n");
    src_bucket_stats(b, &st);
    assert_int_equal(st.cache_errors, 0);
    src_bucket_free(b);
    free(g.msg);
    *from_disk = st.last_from_disk;
    return st.last_downloads;
}

static void test_disk_cache(void **state)
{
    struct gfx fx;
    char *dir = emu_path(&emu, "cache/root"), *own, *index, *obj;
    unsigned from_disk;

    (void)state;
    open_fx(&fx);
    /* cold: everything downloaded, the source's directory created */
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 3);
    assert_int_equal(from_disk, 0);
    own = src_bucket_cache_dir(dir, "gs://bkt/cache");
    assert_true(str_has_prefix(own, dir));
    assert_int_equal(strlen(own), strlen(dir) + strlen("/gs-") + 16);
    index = xasprintf("%s/index", own);
    assert_int_equal(access(index, R_OK), 0);
    /* a restart reads the disk cache: no download */
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 0);
    assert_int_equal(from_disk, 3);
    /* a corrupt object file costs that object only */
    obj = some_object_file(own);
    assert_non_null(obj);
    corrupt(obj, "name: tampered\n");
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 1);
    assert_int_equal(from_disk, 2);
    /* a corrupt index is ignored, then rebuilt */
    corrupt(index, "garbage\n");
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 3);
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 0);
    /* another source under the same root keeps to its own directory */
    {
        struct got g = {0};
        struct src_bucket *b = new_bucket(&fx, "gs://bkt/change", dir);
        read_once(&fx, b, &g);
        assert_int_equal(g.err, 0);
        src_bucket_free(b);
        free(g.msg);
    }
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 0);
    /* an index naming another source is not used (and is rewritten) */
    {
        char *other = src_bucket_cache_dir(dir, "gs://bkt/change"), *cmd;
        cmd = xasprintf("cp %s/index %s/index", other, own);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        free(other);
    }
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 3);
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 0);
    /* a changed object replaces its file */
    upload("cache%2Ff0.yaml", "name: f0-v2\n");
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 1);
    assert_int_equal(restart_and_read(&fx, dir, &from_disk), 0);
    free(obj);
    free(index);
    free(own);
    free(dir);
    assert_int_equal(gfx_close(&fx), 0);
}

/* Not an assertion on time: prints what a no-change poll of a 1,000-object
 * bucket costs against the emulator. */
static void test_bench_no_change_poll(void **state)
{
    struct gfx fx;
    struct got g = {0};
    struct src_bucket *b;
    uint64_t t0, t1, t2;
    struct counts c;

    (void)state;
    open_fx(&fx);
    b = new_bucket(&fx, "gs://bkt/bench", NULL);
    t0 = gfx_now_ms();
    read_once(&fx, b, &g);
    t1 = gfx_now_ms();
    assert_int_equal(g.err, 0);
    assert_int_equal(g.snap->n, BENCH_OBJECTS);
    assert_int_equal(emu_reset(&emu), 0);
    read_once(&fx, b, &g);
    t2 = gfx_now_ms();
    assert_false(g.changed);
    c = count_requests();
    assert_int_equal(c.all, 1);
    assert_int_equal(c.media, 0);
    printf("bench: bucket of %d documents: first read %llu ms (%d downloads); "
           "no-change poll %llu ms, %zu request(s), %zu downloads\n",
           BENCH_OBJECTS, (unsigned long long)(t1 - t0), BENCH_OBJECTS,
           (unsigned long long)(t2 - t1), c.all, c.media);
    src_bucket_free(b);
    free(g.msg);
    assert_int_equal(gfx_close(&fx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_snapshot, reset),
        cmocka_unit_test_setup(test_no_change_poll, reset),
        cmocka_unit_test_setup(test_changed_and_deleted, reset),
        cmocka_unit_test_setup(test_pagination, reset),
        cmocka_unit_test_setup(test_failures_keep_snapshot, reset),
        cmocka_unit_test_setup(test_missing_bucket, reset),
        cmocka_unit_test_setup(test_refused, reset),
        cmocka_unit_test_setup(test_api_misuse, reset),
        cmocka_unit_test_setup(test_free_in_callback, reset),
        cmocka_unit_test_setup(test_disk_cache, reset),
        cmocka_unit_test_setup(test_bench_no_change_poll, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
