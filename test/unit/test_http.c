/*
 * test_http.c - controller/gcp/http: requests over real HTTP to the local
 * emulator (test/emulator/emulator.py): tokens, retries and their budget,
 * Retry-After and RetryInfo, truncated and dropped answers, the size cap,
 * max_inflight, the qps limiter, connection reuse, counters, cancellation
 * on close.  Every test closes every handle and checks uv_loop_close().
 *
 * Credentials: an authorized_user file whose token endpoint is the
 * emulator's (ROAM_TOKEN_ENDPOINT), so every API request carries a real
 * token the emulator checks.  Backoffs are milliseconds long.
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

#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"
#include "controller/gcp/auth.h"
#include "controller/gcp/http.h"
#include "test/support/emu.h"
#include "test/support/gfx.h"

#define SVC "/v2/projects/p/locations/europe-west1/services/api"
#define SVC_RE "services/api$"

static struct emu emu;

static const char seed[] = "{\"services\":[{\"name\":\"projects/p/locations/europe-west1/"
                           "services/api\",\"policy\":{\"bindings\":[{\"role\":"
                           "\"roles/run.invoker\",\"members\":[\"allUsers\"]}]}}]}";

static int group_setup(void **state)
{
    char *creds, *tok, *cfgdir;

    (void)state;
    if (emu_start(&emu, seed) != 0)
        return -1;
    creds = emu_write_file(&emu, "user.json",
                           "{\"type\":\"authorized_user\",\"client_id\":\"cid\","
                           "\"client_secret\":\"csecret\",\"refresh_token\":\"rt\"}");
    tok = emu_url(&emu, "/token");
    cfgdir = emu_path(&emu, "");
    setenv("GOOGLE_APPLICATION_CREDENTIALS", creds, 1);
    setenv("ROAM_TOKEN_ENDPOINT", tok, 1);
    setenv("CLOUDSDK_CONFIG", cfgdir, 1);
    free(creds);
    free(tok);
    free(cfgdir);
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

/* Fast retries: 10 ms base, 40 ms cap, 5 attempts, 5 s. */
static struct gcp_http_config fast_config(void)
{
    struct gcp_http_config c = {0};

    c.retry.base_ms = 10;
    c.retry.cap_ms = 40;
    c.retry.max_attempts = 5;
    c.retry.max_elapsed_ms = 5000;
    c.connect_timeout_ms = 2000;
    c.timeout_ms = 5000;
    return c;
}

static void open_fx(struct gfx *f, const struct gcp_http_config *cfg)
{
    char *msg = NULL;

    if (gfx_open(f, cfg, true, NULL, &msg) != 0)
        fail_msg("gfx_open: %s", msg != NULL ? msg : "?");
}

static void get(struct gfx *f, const char *path, unsigned flags, struct gfx_result *r)
{
    char *url = emu_url(&emu, path);

    assert_int_equal(gfx_request(f, "run", "GET", url, flags | GCP_REQ_IDEMPOTENT, r), 0);
    free(url);
}

static void post(struct gfx *f, const char *path, unsigned flags, struct gfx_result *r)
{
    char *url = emu_url(&emu, path);

    assert_int_equal(gfx_request(f, "run", "POST", url, flags, r), 0);
    free(url);
}

static void fault(const char *rules)
{
    assert_int_equal(emu_fault(&emu, rules), 0);
}

/* A GET with a token from the token endpoint; the emulator checked it. */
static void test_get_with_token(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    json_t *log, *e;
    json_t *body;

    (void)state;
    open_fx(&f, &cfg);
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_null(r.errmsg);
    body = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "name")),
                        "projects/p/locations/europe-west1/services/api");
    json_decref(body);
    assert_int_equal(gfx_close(&f), 0);

    log = emu_log(&emu);
    assert_int_equal(json_array_size(log), 2);
    e = json_array_get(log, 0);
    assert_string_equal(json_string_value(json_object_get(e, "path")), "/token");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "body"), "grant_type")),
        "refresh_token");
    e = json_array_get(log, 1);
    assert_string_equal(json_string_value(json_object_get(e, "path")), SVC);
    assert_true(json_is_true(json_object_get(e, "auth_valid")));
    json_decref(log);
    gfx_result_release(&r);
}

/* Many requests, one token: concurrent ones wait for the same refresh
 * (single flight), later ones use the cache. */
static void then_get_again(struct gfx_result *r)
{
    int *left = r->data;

    if (--*left > 0)
        get(r->fx, SVC, 0, r);
}

static void test_token_cached(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r[8] = {{0}}, seq = {0};
    int left = 5;

    (void)state;
    open_fx(&f, &cfg);
    for (int i = 0; i < 8; i++)
        get(&f, SVC, 0, &r[i]);
    gfx_run(&f);
    seq.then = then_get_again;
    seq.data = &left;
    get(&f, SVC, 0, &seq);
    gfx_run(&f);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].err, 0);
        gfx_result_release(&r[i]);
    }
    assert_int_equal(seq.calls, 5);
    assert_int_equal(seq.err, 0);
    gfx_result_release(&seq);
    assert_int_equal(gfx_close(&f), 0);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 1);
    assert_int_equal(emu_count(&emu, "GET", SVC), 13);
}

/* A 401 drops the token, one refresh, one resend; a second 401 fails. */
static void test_refresh_on_401(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result a = {0}, b = {0}, c = {0};

    (void)state;
    open_fx(&f, &cfg);
    get(&f, SVC, 0, &a);
    gfx_run(&f);
    assert_int_equal(a.err, 0);
    assert_int_equal(emu_call(&emu, "POST", "/_emulator/tokens/revoke", "{}", NULL), 200);
    get(&f, SVC, 0, &b);
    gfx_run(&f);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.attempts, 2);
    assert_int_equal(emu_count(&emu, "POST", "/token"), 2);

    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"status\":401},\"count\":-1}");
    get(&f, SVC, 0, &c);
    gfx_run(&f);
    assert_int_equal(c.err, ERR_AUTH);
    assert_int_equal(c.status, 401);
    assert_int_equal(c.attempts, 2);
    assert_non_null(strstr(c.errmsg, "(UNAUTHENTICATED)"));
    assert_int_equal(emu_count(&emu, "POST", "/token"), 3);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&a);
    gfx_result_release(&b);
    gfx_result_release(&c);
}

/* GCP_REQ_NO_AUTH sends no Authorization and never refreshes. */
static void test_no_auth_flag(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    json_t *log;

    (void)state;
    open_fx(&f, &cfg);
    get(&f, SVC, GCP_REQ_NO_AUTH, &r);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_AUTH);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(gfx_close(&f), 0);
    log = emu_log(&emu);
    assert_int_equal(json_array_size(log), 1);
    assert_true(json_is_false(json_object_get(json_array_get(log, 0), "auth")));
    json_decref(log);
    gfx_result_release(&r);
}

/* 429 with Retry-After: 1 -> the retry waits at least a second. */
static void test_retry_after(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    uint64_t t0;
    json_t *log;
    const char *t1, *t2;

    (void)state;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"status\":429,"
          "\"retry_after\":1},\"count\":1}");
    t0 = gfx_now_ms();
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.attempts, 2);
    assert_true(r.done_ms - t0 >= 1000);
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 429), 1);
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 200), 1);
    assert_int_equal(gfx_close(&f), 0);
    /* The server saw the two attempts at least a second apart. */
    log = emu_log(&emu);
    assert_int_equal(json_array_size(log), 3);
    t1 = json_string_value(json_object_get(json_array_get(log, 1), "time"));
    t2 = json_string_value(json_object_get(json_array_get(log, 2), "time"));
    assert_true(strcmp(t1, t2) < 0);
    json_decref(log);
    gfx_result_release(&r);
}

/* RetryInfo.retryDelay in the body is a minimum delay too. */
static void test_retry_info(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    uint64_t t0;

    (void)state;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"count\":1,\"action\":{\"status\":429,"
          "\"body\":{\"error\":{\"code\":429,\"message\":\"q\",\"status\":"
          "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
          "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"0.400s\"}]}}}}");
    t0 = gfx_now_ms();
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.attempts, 2);
    assert_true(r.done_ms - t0 >= 400);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&r);
}

/* A burst of 503s, then success; counters per (api, method, status). */
static void test_503_burst(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    struct gcp_http_stats st;
    const struct gcp_http_counter *c;
    size_t n;
    uint64_t total = 0;

    (void)state;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"status\":503},\"count\":3}");
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 4);
    gcp_http_stats(f.h, &st);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.completed, 2); /* the token request and ours */
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 503), 3);
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 200), 1);
    assert_int_equal(gcp_http_count(f.h, "oauth2", "POST", 200), 1);
    c = gcp_http_counters(f.h, &n);
    for (size_t i = 0; i < n; i++)
        total += c[i].count;
    assert_int_equal(total, 5);
    assert_int_equal(gfx_close(&f), 0);
    assert_int_equal(emu_count(&emu, "GET", SVC), 4);
    gfx_result_release(&r);
}

/* The budget ends the retries: by attempts, and by time. */
static void test_budget_exhausted(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0}, t = {0};
    uint64_t t0;

    (void)state;
    cfg.retry.max_attempts = 3;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"status\":503},\"count\":-1}");
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_TRANSIENT);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(r.errmsg, "service unavailable (UNAVAILABLE)"));
    assert_non_null(strstr(r.errmsg, "gave up after 3 attempts"));
    assert_int_equal(emu_count(&emu, "GET", SVC), 3);
    assert_int_equal(gfx_close(&f), 0);

    cfg.retry = (struct backoff_policy){50, 100, 0, 300};
    open_fx(&f, &cfg);
    t0 = gfx_now_ms();
    get(&f, SVC, 0, &t);
    gfx_run(&f);
    assert_int_equal(t.err, ERR_TRANSIENT);
    assert_true(t.attempts >= 2);
    assert_true(t.done_ms - t0 < 2000);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&r);
    gfx_result_release(&t);
}

/* Broken answers are retried for idempotent requests only. */
static void test_broken_answers(void **state)
{
    /* A drop on a reused connection is resent by curl itself (it looks like
     * a stale keep-alive), so the drop rule fires twice to reach our retry;
     * the server then sees three requests. */
    static const char *const actions[] = {"\"truncate\":true", "\"drop\":true",
                                          "\"reset_mid_body\":true"};
    static const int counts[] = {1, 2, 1};
    static const size_t rows_sent[] = {2, 3, 2};
    struct gcp_http_config cfg = fast_config();

    (void)state;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        struct gfx f;
        struct gfx_result g = {0}, p = {0};
        char *rule;

        assert_int_equal(emu_reset(&emu), 0);
        open_fx(&f, &cfg);
        rule = xasprintf("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{%s},"
                         "\"count\":%d}",
                         actions[i], counts[i]);
        fault(rule);
        free(rule);
        get(&f, SVC, 0, &g);
        gfx_run(&f);
        assert_int_equal(g.err, 0);
        assert_int_equal(g.status, 200);
        assert_true(g.attempts >= 2);
        assert_true(gcp_http_count(f.h, "run", "GET", 0) >= 1);
        assert_int_equal(emu_count(&emu, "GET", SVC), rows_sent[i]);

        rule = xasprintf("{\"match\":{\"path_regex\":\":testIamPermissions$\"},"
                         "\"action\":{%s},\"count\":1}",
                         actions[i]);
        fault(rule);
        free(rule);
        post(&f, SVC ":testIamPermissions", 0, &p);
        gfx_run(&f);
        assert_int_equal(p.err, ERR_TRANSIENT);
        assert_int_equal(p.status, 0);
        assert_int_equal(p.attempts, 1);
        assert_non_null(p.errmsg);
        assert_int_equal(emu_count(&emu, "POST", ":testIamPermissions"), 1);
        assert_int_equal(gfx_close(&f), 0);
        gfx_result_release(&g);
        gfx_result_release(&p);
    }
}

/* Non-idempotent requests are not retried on 503; 409 never is. */
static void test_not_retried(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result p = {0}, s = {0};
    char *url;

    (void)state;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\":testIamPermissions$\"},\"action\":{\"status\":503}}");
    post(&f, SVC ":testIamPermissions", 0, &p);
    fault("{\"match\":{\"path_regex\":\":setIamPolicy$\"},\"action\":{\"status\":409},"
          "\"count\":-1}");
    url = emu_url(&emu, SVC ":setIamPolicy");
    assert_int_equal(gfx_request(&f, "run", "POST", url, GCP_REQ_IDEMPOTENT, &s), 0);
    free(url);
    gfx_run(&f);
    assert_int_equal(p.err, ERR_TRANSIENT);
    assert_int_equal(p.status, 503);
    assert_int_equal(p.attempts, 1);
    assert_int_equal(s.err, ERR_CONFLICT);
    assert_int_equal(s.status, 409);
    assert_int_equal(s.attempts, 1);
    assert_non_null(strstr(s.errmsg, "(ABORTED)"));
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&p);
    gfx_result_release(&s);
}

/* An answer over the size cap is ERR_LIMIT and not retried. */
static void test_response_cap(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0}, ok = {0};

    (void)state;
    cfg.max_response_bytes = 4096;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"oversize_bytes\":5000}}");
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_LIMIT);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.errmsg, "larger than 4096 bytes"));
    /* Just under the cap passes. */
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"oversize_bytes\":4096}}");
    get(&f, SVC, 0, &ok);
    gfx_run(&f);
    assert_int_equal(ok.err, 0);
    assert_int_equal(strlen(ok.body), 4096);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&r);
    gfx_result_release(&ok);
}

/* The server's view of concurrency: the most requests open at once. */
static int server_concurrency(const char *path)
{
    json_t *log = emu_log(&emu), *e;
    double start[64], end[64];
    size_t i, n = 0;
    int most = 0;

    json_array_foreach (log, i, e) {
        const char *t = json_string_value(json_object_get(e, "time"));
        int h, m;
        double s;

        if (strcmp(json_string_value(json_object_get(e, "path")), path) != 0 || n == 64)
            continue;
        assert_int_equal(sscanf(t + 11, "%d:%d:%lf", &h, &m, &s), 3);
        start[n] = h * 3600.0 + m * 60.0 + s;
        end[n] = start[n] + json_number_value(json_object_get(e, "duration_ms")) / 1000.0;
        n++;
    }
    for (size_t a = 0; a < n; a++) {
        int open = 0;

        for (size_t b = 0; b < n; b++)
            if (start[b] <= start[a] && end[b] > start[a])
                open++;
        most = open > most ? open : most;
    }
    json_decref(log);
    return most;
}

static void test_max_inflight(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r[6] = {{0}};
    struct gcp_http_stats st;
    uint64_t t0;

    (void)state;
    cfg.max_inflight = 2;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"latency_ms\":150},"
          "\"count\":-1}");
    t0 = gfx_now_ms();
    for (int i = 0; i < 6; i++)
        get(&f, SVC, 0, &r[i]);
    gfx_run(&f);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r[i].err, 0);
        gfx_result_release(&r[i]);
    }
    gcp_http_stats(f.h, &st);
    assert_int_equal(st.max_inflight_seen, 2);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.queued, 0);
    /* Three waves of two. */
    assert_true(gfx_now_ms() - t0 >= 450);
    assert_int_equal(gfx_close(&f), 0);
    assert_int_equal(server_concurrency(SVC), 2);
}

/* qps 20 with a burst of 1: requests of one API start >= 50 ms apart. */
static void test_qps_spacing(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r[6] = {{0}}, other = {0};
    uint64_t t0, last = 0;
    char *url;

    (void)state;
    cfg.qps = 20;
    open_fx(&f, &cfg);
    /* A separate API keeps its own bucket. */
    gcp_http_set_qps(f.h, "iam", 0, 0);
    t0 = gfx_now_ms();
    for (int i = 0; i < 6; i++)
        get(&f, SVC, 0, &r[i]);
    url = emu_url(&emu, SVC);
    assert_int_equal(gfx_request(&f, "iam", "GET", url, GCP_REQ_IDEMPOTENT, &other), 0);
    free(url);
    gfx_run(&f);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r[i].err, 0);
        last = r[i].done_ms > last ? r[i].done_ms : last;
        gfx_result_release(&r[i]);
    }
    assert_int_equal(other.err, 0);
    /* Five gaps of 50 ms between six requests: the last cannot have been
     * sent (let alone answered) before 250 ms. */
    assert_true(last - t0 >= 250);
    /* The unlimited API did not queue behind them. */
    assert_true(other.done_ms < last);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&other);
}

/* Sequential requests to one host share one connection (the token request
 * included). */
static void test_connection_reuse(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result seq = {0};
    struct gcp_http_stats st;
    int left = 5;

    (void)state;
    open_fx(&f, &cfg);
    seq.then = then_get_again;
    seq.data = &left;
    get(&f, SVC, 0, &seq);
    gfx_run(&f);
    assert_int_equal(seq.calls, 5);
    assert_int_equal(seq.err, 0);
    gcp_http_stats(f.h, &st);
    assert_int_equal(st.attempts, 6);
    assert_int_equal(st.connects, 1);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&seq);
}

/* Closing cancels requests in flight, queued and waiting for a token; a
 * submission from a cancelled callback is refused. */
struct cancel_probe {
    struct gfx_result r;
    int resubmit;
};

static void then_resubmit(struct gfx_result *r)
{
    struct cancel_probe *p = (struct cancel_probe *)r;
    struct gcp_req *req = gcp_req_new("run", "GET", "http://127.0.0.1:1/", 0);

    p->resubmit = gfx_submit(r->fx, req, r);
    if (p->resubmit != 0)
        gcp_req_free(req);
}

static void on_close_timer(uv_timer_t *t)
{
    struct gfx *f = t->data;

    uv_close((uv_handle_t *)t, NULL);
    gcp_http_close(f->h, NULL, NULL);
}

static void test_close_cancels(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct cancel_probe p[3];
    uv_timer_t timer;
    uv_loop_t *loop;
    uint64_t t0;

    (void)state;
    memset(p, 0, sizeof(p));
    cfg.max_inflight = 1;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"stall_ms\":3000},"
          "\"count\":-1}");
    for (int i = 0; i < 3; i++) {
        p[i].r.then = then_resubmit;
        get(&f, SVC, 0, &p[i].r);
    }
    uv_timer_init(&f.loop, &timer);
    timer.data = &f;
    uv_timer_start(&timer, on_close_timer, 300, 0);
    t0 = gfx_now_ms();
    gfx_run(&f);
    assert_true(gfx_now_ms() - t0 < 2000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].r.calls, 1);
        assert_int_equal(p[i].r.err, ERR_CANCELLED);
        assert_int_equal(p[i].resubmit, ERR_CANCELLED);
        assert_non_null(strstr(p[i].r.errmsg, "cancelled"));
        gfx_result_release(&p[i].r);
    }
    /* gcp_http_close ran from the timer: only the loop is left. */
    gcp_auth_free(f.a);
    loop = &f.loop;
    uv_close((uv_handle_t *)&f.watchdog, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* Cancelling while requests wait for a token that is still being fetched. */
static void test_close_while_waiting_for_token(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r[2] = {{0}};
    uv_timer_t timer;

    (void)state;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"^/token$\"},\"action\":{\"stall_ms\":3000}}");
    get(&f, SVC, 0, &r[0]);
    get(&f, SVC, 0, &r[1]);
    uv_timer_init(&f.loop, &timer);
    timer.data = &f;
    uv_timer_start(&timer, on_close_timer, 200, 0);
    gfx_run(&f);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].err, ERR_CANCELLED);
        gfx_result_release(&r[i]);
    }
    gcp_auth_free(f.a);
    uv_close((uv_handle_t *)&f.watchdog, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* Bad requests are refused at submit, and then no callback runs. */
static void test_submit_refused(void **state)
{
    static const struct {
        const char *method, *url, *hname, *hvalue;
    } rows[] = {
        {"GET", "ftp://127.0.0.1/x", NULL, NULL},
        {"GET", "http://127.0.0.1/a b", NULL, NULL},
        {"get", "http://127.0.0.1/", NULL, NULL},
        {"", "http://127.0.0.1/", NULL, NULL},
        {"GET", "http://127.0.0.1/", "X-Evil", "a\r\nInjected: 1"},
        {"GET", "http://127.0.0.1/", "Bad:Name", "v"},
    };
    struct gcp_http_config cfg = fast_config();
    struct gfx f;

    (void)state;
    open_fx(&f, &cfg);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gfx_result r = {0};
        struct gcp_req *req = gcp_req_new("run", rows[i].method, rows[i].url, 0);

        if (rows[i].hname != NULL)
            gcp_req_add_header(req, rows[i].hname, rows[i].hvalue);
        assert_int_equal(gfx_submit(&f, req, &r), ERR_INVAL);
        gcp_req_free(req);
        gfx_run(&f);
        assert_int_equal(r.calls, 0);
    }
    assert_int_equal(gfx_close(&f), 0);
    assert_int_equal(emu_count(&emu, NULL, ""), 0);
}

/* A stalled answer hits the per-attempt timeout; a GET is retried once
 * more, then fails as transient. */
static void test_timeout(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};
    uint64_t t0;

    (void)state;
    cfg.timeout_ms = 200;
    cfg.retry.max_attempts = 2;
    open_fx(&f, &cfg);
    fault("{\"match\":{\"path_regex\":\"" SVC_RE "\"},\"action\":{\"stall_ms\":1500},"
          "\"count\":-1}");
    t0 = gfx_now_ms();
    get(&f, SVC, 0, &r);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_TRANSIENT);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.attempts, 2);
    assert_true(r.done_ms - t0 >= 400);
    assert_true(r.done_ms - t0 < 1500);
    assert_non_null(strstr(r.errmsg, "gave up after 2 attempts"));
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 0), 2);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&r);
}

/* Transport failure: nothing listens; an idempotent GET is retried, then
 * fails as transient with curl's reason. */
static void test_connection_refused(void **state)
{
    struct gcp_http_config cfg = fast_config();
    struct gfx f;
    struct gfx_result r = {0};

    (void)state;
    cfg.retry.max_attempts = 3;
    assert_int_equal(gfx_open(&f, &cfg, false, NULL, NULL), 0);
    assert_int_equal(gfx_request(&f, "run", "GET", "http://127.0.0.1:1/x", GCP_REQ_IDEMPOTENT, &r),
                     0);
    gfx_run(&f);
    assert_int_equal(r.err, ERR_TRANSIENT);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(r.errmsg, "cannot GET 'http://127.0.0.1:1/x': "));
    assert_int_equal(gcp_http_count(f.h, "run", "GET", 0), 3);
    assert_int_equal(gfx_close(&f), 0);
    gfx_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_get_with_token, reset),
        cmocka_unit_test_setup(test_token_cached, reset),
        cmocka_unit_test_setup(test_refresh_on_401, reset),
        cmocka_unit_test_setup(test_no_auth_flag, reset),
        cmocka_unit_test_setup(test_retry_after, reset),
        cmocka_unit_test_setup(test_retry_info, reset),
        cmocka_unit_test_setup(test_503_burst, reset),
        cmocka_unit_test_setup(test_budget_exhausted, reset),
        cmocka_unit_test_setup(test_broken_answers, reset),
        cmocka_unit_test_setup(test_not_retried, reset),
        cmocka_unit_test_setup(test_response_cap, reset),
        cmocka_unit_test_setup(test_max_inflight, reset),
        cmocka_unit_test_setup(test_qps_spacing, reset),
        cmocka_unit_test_setup(test_connection_reuse, reset),
        cmocka_unit_test_setup(test_close_cancels, reset),
        cmocka_unit_test_setup(test_close_while_waiting_for_token, reset),
        cmocka_unit_test_setup(test_submit_refused, reset),
        cmocka_unit_test_setup(test_timeout, reset),
        cmocka_unit_test_setup(test_connection_refused, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
