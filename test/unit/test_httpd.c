/*
 * test_httpd.c - controller/httpd/httpd over real TCP on 127.0.0.1:0.
 *
 * The server runs on a libuv loop in the test's main thread; each scenario
 * is a plain blocking-socket client in a second thread (receive timeouts
 * keep a broken server from hanging the test).  The client asks the loop
 * to do things (close the server, answer a held request) through a
 * uv_async command queue, and stops the loop when it is done.  Every test
 * then closes the server and checks uv_loop_close() == 0.
 *
 * Covered: keep-alive, pipelining, HEAD, 404/405 + Allow, 400/413/431/505,
 * 100-continue, chunked bodies, HTTP/1.0 and Connection: close, the
 * header/request/idle timeouts (slowloris), max connections (503), async
 * handlers, shutdown with a request in a handler (answered, and cut at the
 * drain deadline), the access log, and listen-address parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "api/common/err.h"
#include "api/common/xalloc.h"
#include "controller/httpd/httpd.h"

#define WATCHDOG_MS 20000

enum cmd { CMD_STOP = 1, CMD_CLOSE, CMD_RESPOND_HELD };

struct fx;
typedef void scenario_fn(struct fx *f);

struct fx {
    uv_loop_t loop;
    struct httpd *h;
    uv_async_t async;
    uv_timer_t watchdog;
    pthread_t thread;
    pthread_mutex_t mu;
    int cmds[16];
    int ncmds;
    int port;
    scenario_fn *scenario;
    struct httpd_req *held; /* a request a handler keeps for later */
    int closed_cbs;
    bool close_called; /* httpd_close ran (its callback may still be due) */
    int log_n;
    int log_status[64];
    bool log_completed[64];
    char log_path[64][32];
    uv_timer_t later; /* answers /slow */
    struct httpd_req *slow;
};

/* ---- handlers ---- */

static void h_hello(struct httpd_req *req, void *data)
{
    (void)data;
    httpd_req_add_header(req, "X-Test", "1");
    httpd_respond(req, 200, "text/plain", "hello", 5);
}

static void h_echo(struct httpd_req *req, void *data)
{
    size_t n;
    const char *b = httpd_req_body(req, &n);

    (void)data;
    httpd_respond(req, 200, "application/octet-stream", b, n);
}

static void on_later(uv_timer_t *t)
{
    struct fx *f = t->data;

    httpd_respond_text(f->slow, 202, "later\n");
    f->slow = NULL;
}

static void h_slow(struct httpd_req *req, void *data)
{
    struct fx *f = data;

    f->slow = req;
    uv_timer_start(&f->later, on_later, 50, 0);
}

static void h_hold(struct httpd_req *req, void *data)
{
    struct fx *f = data;

    f->held = req;
}

static void h_nocontent(struct httpd_req *req, void *data)
{
    (void)data;
    httpd_respond(req, 204, NULL, "ignored", 7);
}

static void access_log(const struct httpd_access *a, void *data)
{
    struct fx *f = data;

    if (f->log_n < 64) {
        f->log_status[f->log_n] = a->status;
        f->log_completed[f->log_n] = a->completed;
        snprintf(f->log_path[f->log_n], sizeof(f->log_path[0]), "%s", a->path);
        f->log_n++;
    }
}

/* ---- loop side ---- */

static void on_closed(struct httpd *h, void *data)
{
    struct fx *f = data;

    (void)h;
    f->closed_cbs++;
    f->h = NULL;
}

static void on_async(uv_async_t *a)
{
    struct fx *f = a->data;
    int cmds[16], n, i;

    pthread_mutex_lock(&f->mu);
    n = f->ncmds;
    memcpy(cmds, f->cmds, sizeof(cmds));
    f->ncmds = 0;
    pthread_mutex_unlock(&f->mu);
    for (i = 0; i < n; i++) {
        if (cmds[i] == CMD_STOP) {
            uv_stop(&f->loop);
        } else if (cmds[i] == CMD_CLOSE) {
            f->close_called = true;
            httpd_close(f->h, on_closed, f);
        } else if (cmds[i] == CMD_RESPOND_HELD && f->held != NULL) {
            httpd_respond_text(f->held, 200, "held\n");
            f->held = NULL;
        }
    }
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    fail_msg("watchdog: test took longer than %d ms", WATCHDOG_MS);
}

static void post(struct fx *f, int cmd)
{
    pthread_mutex_lock(&f->mu);
    f->cmds[f->ncmds++] = cmd;
    pthread_mutex_unlock(&f->mu);
    uv_async_send(&f->async);
}

static void *client_main(void *arg)
{
    struct fx *f = arg;

    f->scenario(f);
    post(f, CMD_STOP);
    return NULL;
}

static struct fx *fx_open(const struct httpd_config *cfg_in)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    struct httpd_config cfg = {0};

    if (cfg_in != NULL)
        cfg = *cfg_in;
    cfg.log = access_log;
    cfg.log_data = f;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pthread_mutex_init(&f->mu, NULL);
    uv_async_init(&f->loop, &f->async, on_async);
    f->async.data = f;
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_init(&f->loop, &f->later);
    f->later.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
    f->h = httpd_new(&f->loop, &cfg);
    httpd_route(f->h, "GET", "/hello", h_hello, f);
    httpd_route(f->h, "POST", "/echo", h_echo, f);
    httpd_route(f->h, "PUT", "/echo", h_echo, f);
    httpd_route(f->h, "GET", "/slow", h_slow, f);
    httpd_route(f->h, "GET", "/hold", h_hold, f);
    httpd_route(f->h, "POST", "/nocontent", h_nocontent, f);
    assert_int_equal(httpd_listen(f->h, "127.0.0.1:0"), 0);
    f->port = httpd_port(f->h);
    assert_true(f->port > 0);
    return f;
}

/* Runs the scenario in a thread until it finishes, then closes the server
 * (unless the scenario did) and checks that the loop ends clean. */
static void fx_run(struct fx *f, scenario_fn *fn)
{
    f->scenario = fn;
    assert_int_equal(pthread_create(&f->thread, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->thread, NULL);
}

/* Runs the loop until the server has no connection left (bounded). */
static void fx_settle(struct fx *f)
{
    struct httpd_stats st;
    int i;

    for (i = 0; i < 200; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        httpd_stats(f->h, &st);
        if (st.connections == 0)
            return;
        usleep(10 * 1000);
    }
}

static void fx_close(struct fx *f)
{
    if (f->h != NULL && !f->close_called) {
        struct httpd_stats st;
        httpd_stats(f->h, &st);
        httpd_close(f->h, on_closed, f);
    }
    uv_close((uv_handle_t *)&f->async, NULL);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_close((uv_handle_t *)&f->later, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed_cbs, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- client side (runs in the thread; cmocka asserts are not thread-safe
 * to longjmp from, so failures are recorded and checked afterwards) ---- */

static int g_failures;
static char g_fail_msg[512];

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (g_failures++ == 0)                                                                 \
                snprintf(g_fail_msg, sizeof(g_fail_msg), "%s:%d: %s", __FILE__, __LINE__, #cond);  \
        }                                                                                          \
    } while (0)

static int cconnect(int port)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool csend(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool csends(int fd, const char *s)
{
    return csend(fd, s, strlen(s));
}

/* A connection's unread bytes, for pipelined responses. */
struct cconn {
    int fd;
    char buf[256 * 1024];
    size_t len;
};

struct resp {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

/* Reads more; returns false on EOF, error or timeout. */
static bool cfill(struct cconn *c)
{
    ssize_t r;

    if (c->len >= sizeof(c->buf))
        return false;
    r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (r <= 0)
        return false;
    c->len += (size_t)r;
    return true;
}

static const char *find_header(const char *head, const char *name)
{
    static char value[512];
    const char *p = head;
    size_t n = strlen(name);

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)(e - v), v);
            return value;
        }
    }
    return NULL;
}

static char *find_blank_line(char *p, size_t n)
{
    size_t i;

    for (i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return p + i;
    return NULL;
}

/* Reads one response; head_only for answers to HEAD. */
static bool cread(struct cconn *c, struct resp *r, bool head_only)
{
    char *end;
    size_t hlen, blen = 0;
    const char *cl;

    memset(r, 0, sizeof(*r));
    while ((end = find_blank_line(c->buf, c->len)) == NULL)
        if (!cfill(c))
            return false;
    hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof(r->head))
        return false;
    memcpy(r->head, c->buf, hlen);
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return false;
    cl = find_header(r->head, "Content-Length");
    if (cl != NULL && !head_only)
        blen = (size_t)strtoul(cl, NULL, 10);
    if (blen >= sizeof(r->body))
        return false;
    while (c->len < hlen + blen)
        if (!cfill(c))
            return false;
    memcpy(r->body, c->buf + hlen, blen);
    r->body_len = blen;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return true;
}

/* True when the server closed (EOF or reset) with no more bytes. */
static bool cclosed(struct cconn *c)
{
    char b[64];
    ssize_t r;

    if (c->len > 0)
        return false;
    r = recv(c->fd, b, sizeof(b), 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

static struct cconn *copen(struct fx *f)
{
    struct cconn *c = xcalloc(1, sizeof(*c));

    c->fd = cconnect(f->port);
    CHECK(c->fd >= 0);
    return c;
}

static void cfree(struct cconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void check_clean(void)
{
    int n = g_failures;

    g_failures = 0;
    if (n != 0)
        fail_msg("%d client check(s) failed; first: %s", n, g_fail_msg);
}

#define REQ(m, p) m " " p " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- scenarios ---- */

static void sc_keepalive(struct fx *f)
{
    struct cconn *c = copen(f);
    struct resp r;

    CHECK(csends(c->fd, REQ("GET", "/hello")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200);
    CHECK(r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
    CHECK(find_header(r.head, "Date") != NULL);
    CHECK(find_header(r.head, "X-Test") != NULL);
    CHECK(find_header(r.head, "Connection") == NULL);
    CHECK(csends(c->fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && r.body_len == 3 && memcmp(r.body, "abc", 3) == 0);
    CHECK(strcmp(find_header(r.head, "Content-Type"), "application/octet-stream") == 0);
    cfree(c);
}

static void test_keepalive(void **state)
{
    struct fx *f = fx_open(NULL);
    struct httpd_stats st;

    (void)state;
    fx_run(f, sc_keepalive);
    check_clean();
    httpd_stats(f->h, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.requests, 2);
    assert_int_equal(f->log_n, 2);
    assert_string_equal(f->log_path[0], "/hello");
    assert_int_equal(f->log_status[1], 200);
    assert_true(f->log_completed[1]);
    fx_close(f);
}

static void sc_pipelined(struct fx *f)
{
    struct cconn *c = copen(f);
    struct resp r;

    CHECK(csends(c->fd, REQ("GET", "/slow") "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\n"
                                            "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" REQ("GET", "/nope")
                                                REQ("HEAD", "/hello") REQ("GET", "/hello")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 202 && r.body_len == 6);
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && r.body_len == 5 && memcmp(r.body, "abcde", 5) == 0);
    CHECK(cread(c, &r, false));
    CHECK(r.status == 404);
    CHECK(cread(c, &r, true));
    CHECK(r.status == 200 && strcmp(find_header(r.head, "Content-Length"), "5") == 0);
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
    cfree(c);
}

static void test_pipelined(void **state)
{
    struct fx *f = fx_open(NULL);

    (void)state;
    fx_run(f, sc_pipelined);
    check_clean();
    fx_close(f);
}

static void sc_routes(struct fx *f)
{
    struct cconn *c = copen(f);
    struct resp r;

    CHECK(csends(c->fd, REQ("DELETE", "/hello")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 405);
    CHECK(strcmp(find_header(r.head, "Allow"), "GET, HEAD") == 0);
    CHECK(csends(c->fd, REQ("GET", "/echo")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 405);
    CHECK(strcmp(find_header(r.head, "Allow"), "POST, PUT") == 0);
    CHECK(csends(c->fd, REQ("GET", "/hello/")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 404);
    CHECK(csends(c->fd, REQ("GET", "/hello?x=1")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200);
    CHECK(csends(c->fd, "POST /nocontent HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 204 && find_header(r.head, "Content-Length") == NULL && r.body_len == 0);
    /* Still in step after the 204: no stray body bytes. */
    CHECK(csends(c->fd, REQ("GET", "/hello")));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200);
    cfree(c);
}

static void test_routes(void **state)
{
    struct fx *f = fx_open(NULL);

    (void)state;
    fx_run(f, sc_routes);
    check_clean();
    fx_close(f);
}

/* Errors from the parser: answered, then the connection ends. */
static const struct {
    const char *in;
    int status;
} bad_rows[] = {
    {"GARBAGE\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\n\r\n", 400}, /* no Host */
    {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
    {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413},
    {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
     400},
};

static void sc_errors(struct fx *f)
{
    struct resp r;
    size_t i;

    for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        struct cconn *c = copen(f);
        CHECK(csends(c->fd, bad_rows[i].in));
        CHECK(cread(c, &r, false));
        CHECK(r.status == bad_rows[i].status);
        CHECK(strcmp(find_header(r.head, "Connection"), "close") == 0);
        CHECK(cclosed(c));
        cfree(c);
    }
    {
        /* 431: a header section over the 1 KiB cap of this server. */
        struct cconn *c = copen(f);
        char big[4096];
        memset(big, 'a', sizeof(big));
        CHECK(csends(c->fd, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: "));
        CHECK(csend(c->fd, big, sizeof(big)));
        CHECK(cread(c, &r, false));
        CHECK(r.status == 431);
        CHECK(cclosed(c));
        cfree(c);
    }
    {
        /* 413 while the client is still sending a body it was told to. */
        struct cconn *c = copen(f);
        char body[3000];
        memset(body, 'b', sizeof(body));
        CHECK(csends(c->fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "BB8\r\n"));
        CHECK(csend(c->fd, body, sizeof(body)));
        CHECK(cread(c, &r, false));
        CHECK(r.status == 413);
        CHECK(cclosed(c));
        cfree(c);
    }
}

static void test_errors(void **state)
{
    struct httpd_config cfg = {.max_body_bytes = 2048, .max_header_bytes = 1024};
    struct fx *f = fx_open(&cfg);
    struct httpd_stats st;

    (void)state;
    fx_run(f, sc_errors);
    check_clean();
    httpd_stats(f->h, &st);
    assert_int_equal(st.parse_errors, 7);
    fx_close(f);
}

static void sc_continue_and_versions(struct fx *f)
{
    struct cconn *c = copen(f);
    struct resp r;

    CHECK(csends(c->fd, "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                        "Content-Length: 4\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 100);
    CHECK(csends(c->fd, "data"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && r.body_len == 4);
    CHECK(csends(c->fd, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && strcmp(find_header(r.head, "Connection"), "close") == 0);
    CHECK(cclosed(c));
    cfree(c);

    c = copen(f);
    CHECK(csends(c->fd, "GET /hello HTTP/1.0\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && strcmp(find_header(r.head, "Connection"), "close") == 0);
    CHECK(cclosed(c));
    cfree(c);

    c = copen(f);
    CHECK(csends(c->fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(strcmp(find_header(r.head, "Connection"), "keep-alive") == 0);
    CHECK(csends(c->fd, "GET /hello HTTP/1.0\r\n\r\n"));
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200);
    CHECK(cclosed(c));
    cfree(c);
}

static void test_continue_and_versions(void **state)
{
    struct fx *f = fx_open(NULL);

    (void)state;
    fx_run(f, sc_continue_and_versions);
    check_clean();
    fx_close(f);
}

/* Slowloris: headers trickling in are cut at the header timeout with 408;
 * a silent connection and an idle kept-alive one are closed quietly; a
 * body trickling in is cut at the request timeout. */
static void sc_timeouts(struct fx *f)
{
    struct cconn *slow = copen(f), *silent = copen(f), *idle = copen(f), *body = copen(f);
    struct resp r;
    uint64_t t0 = now_ms(), dt;
    int i;

    CHECK(csends(idle->fd, REQ("GET", "/hello")));
    CHECK(cread(idle, &r, false));
    CHECK(csends(body->fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
    CHECK(csends(slow->fd, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: "));
    for (i = 0; i < 4; i++) {
        CHECK(csends(slow->fd, "x"));
        CHECK(csends(body->fd, "y"));
        usleep(50 * 1000);
    }
    CHECK(cread(slow, &r, false));
    dt = now_ms() - t0;
    CHECK(r.status == 408);
    CHECK(dt >= 250 && dt < 3000);
    CHECK(cclosed(slow));
    CHECK(cclosed(silent));
    CHECK(cclosed(idle));
    CHECK(cread(body, &r, false));
    CHECK(r.status == 408);
    CHECK(cclosed(body));
    cfree(slow);
    cfree(silent);
    cfree(idle);
    cfree(body);
}

static void test_timeouts(void **state)
{
    struct httpd_config cfg = {
        .header_timeout_ms = 300, .request_timeout_ms = 600, .idle_timeout_ms = 300};
    struct fx *f = fx_open(&cfg);
    struct httpd_stats st;

    (void)state;
    fx_run(f, sc_timeouts);
    check_clean();
    fx_settle(f);
    httpd_stats(f->h, &st);
    assert_true(st.timeouts >= 4);
    assert_int_equal(st.connections, 0);
    fx_close(f);
}

static void sc_max_connections(struct fx *f)
{
    struct cconn *a = copen(f), *b = copen(f), *c;
    struct resp r;
    bool ok = false;
    int i;

    /* Both are accepted once they have been answered. */
    CHECK(csends(a->fd, REQ("GET", "/hello")));
    CHECK(cread(a, &r, false));
    CHECK(csends(b->fd, REQ("GET", "/hello")));
    CHECK(cread(b, &r, false));
    c = copen(f);
    CHECK(cread(c, &r, false));
    CHECK(r.status == 503);
    CHECK(find_header(r.head, "Retry-After") != NULL);
    CHECK(cclosed(c));
    cfree(c);
    /* A slot frees when a connection goes (once the server has seen it). */
    cfree(a);
    for (i = 0; i < 40; i++) {
        c = copen(f);
        CHECK(csends(c->fd, REQ("GET", "/hello")));
        ok = cread(c, &r, false) && r.status == 200;
        cfree(c);
        if (ok)
            break;
        usleep(50 * 1000);
    }
    CHECK(ok);
    cfree(b);
}

static void test_max_connections(void **state)
{
    struct httpd_config cfg = {.max_connections = 2};
    struct fx *f = fx_open(&cfg);
    struct httpd_stats st;

    (void)state;
    fx_run(f, sc_max_connections);
    check_clean();
    httpd_stats(f->h, &st);
    assert_true(st.rejected >= 1);
    assert_true(st.accepted >= 3);
    fx_close(f);
}

/* Shutdown with a request in a handler: the listener closes at once, the
 * handler still answers (Connection: close), then everything closes. */
static void sc_close_inflight(struct fx *f)
{
    struct cconn *c = copen(f), *idle = copen(f);
    struct resp r;

    CHECK(csends(idle->fd, REQ("GET", "/hello")));
    CHECK(cread(idle, &r, false));
    CHECK(csends(c->fd, REQ("GET", "/hold")));
    usleep(100 * 1000);
    post(f, CMD_CLOSE);
    CHECK(cclosed(idle));
    CHECK(cconnect(f->port) < 0); /* no longer listening */
    post(f, CMD_RESPOND_HELD);
    CHECK(cread(c, &r, false));
    CHECK(r.status == 200 && strcmp(find_header(r.head, "Connection"), "close") == 0);
    CHECK(cclosed(c));
    cfree(c);
    cfree(idle);
}

static void test_close_inflight(void **state)
{
    struct fx *f = fx_open(NULL);

    (void)state;
    fx_run(f, sc_close_inflight);
    check_clean();
    fx_close(f);
}

/* The drain deadline cuts a handler that does not answer; its late answer
 * is dropped and the close callback waits for it. */
static void sc_drain_deadline(struct fx *f)
{
    struct cconn *c = copen(f);

    CHECK(csends(c->fd, REQ("GET", "/hold")));
    usleep(100 * 1000);
    post(f, CMD_CLOSE);
    CHECK(cclosed(c)); /* cut after drain_timeout_ms */
    cfree(c);
}

static void test_drain_deadline(void **state)
{
    struct httpd_config cfg = {.drain_timeout_ms = 200};
    struct fx *f = fx_open(&cfg);

    (void)state;
    fx_run(f, sc_drain_deadline);
    check_clean();
    /* Everything is closed but the request is still owed an answer. */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->closed_cbs, 0);
    assert_non_null(f->held);
    httpd_respond_text(f->held, 200, "too late\n");
    f->held = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->closed_cbs, 1);
    assert_int_equal(f->log_status[f->log_n - 1], 200);
    assert_false(f->log_completed[f->log_n - 1]);
    fx_close(f);
}

/* A client that disappears halfway through a request. */
static void sc_client_gone(struct fx *f)
{
    struct cconn *c = copen(f);

    CHECK(csends(c->fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
    cfree(c);
    c = copen(f);
    CHECK(csends(c->fd, REQ("GET", "/hold")));
    usleep(100 * 1000);
    cfree(c); /* gone while the handler holds the request */
    usleep(100 * 1000);
    post(f, CMD_RESPOND_HELD);
    usleep(100 * 1000);
}

static void test_client_gone(void **state)
{
    struct fx *f = fx_open(NULL);
    struct httpd_stats st;

    (void)state;
    fx_run(f, sc_client_gone);
    check_clean();
    fx_settle(f);
    httpd_stats(f->h, &st);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.in_handler, 0);
    fx_close(f);
}

static void test_parse_listen(void **state)
{
    static const struct {
        const char *spec;
        int rc;
        int family;
        int port;
    } t[] = {
        {"8080", 0, AF_INET, 8080},
        {":8080", 0, AF_INET, 8080},
        {"0.0.0.0:8080", 0, AF_INET, 8080},
        {"127.0.0.1:0", 0, AF_INET, 0},
        {"localhost:9", 0, AF_INET, 9},
        {"[::1]:8080", 0, AF_INET6, 8080},
        {"[::]:1", 0, AF_INET6, 1},
        {":65535", 0, AF_INET, 65535},
        {":65536", ERR_INVAL, 0, 0},
        {":-1", ERR_INVAL, 0, 0},
        {":", ERR_INVAL, 0, 0},
        {"", ERR_INVAL, 0, 0},
        {"example.com:80", ERR_INVAL, 0, 0},
        {"1.2.3:80", ERR_INVAL, 0, 0},
        {"::1:80", ERR_INVAL, 0, 0},
        {"[::1]", ERR_INVAL, 0, 0},
        {"[::1]80", ERR_INVAL, 0, 0},
        {"127.0.0.1:80x", ERR_INVAL, 0, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sockaddr_storage ss;
        int rc = httpd_parse_listen(t[i].spec, &ss);

        print_message("listen '%s'\n", t[i].spec);
        assert_int_equal(rc, t[i].rc);
        if (rc != 0)
            continue;
        assert_int_equal(ss.ss_family, t[i].family);
        if (t[i].family == AF_INET)
            assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), t[i].port);
        else
            assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), t[i].port);
    }
}

/* $PORT when no address is given; a taken port is ERR_IO. */
static void test_listen_env(void **state)
{
    uv_loop_t loop;
    struct httpd *a, *b, *c, *d;
    char spec[32];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    a = httpd_new(&loop, NULL);
    assert_int_equal(httpd_port(a), 0);
    assert_int_equal(httpd_listen(a, "127.0.0.1:0"), 0);
    assert_int_equal(httpd_listen(a, "127.0.0.1:0"), ERR_INVAL);
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", httpd_port(a));
    b = httpd_new(&loop, NULL);
    assert_int_equal(httpd_listen(b, spec), ERR_IO);
    assert_int_equal(httpd_port(b), 0);
    c = httpd_new(&loop, NULL);
    setenv("PORT", "notaport", 1);
    assert_int_equal(httpd_listen(c, NULL), ERR_INVAL);
    d = httpd_new(&loop, NULL);
    setenv("PORT", "0", 1);
    assert_int_equal(httpd_listen(d, NULL), 0);
    assert_true(httpd_port(d) > 0);
    unsetenv("PORT");
    httpd_close(a, NULL, NULL);
    httpd_close(b, NULL, NULL);
    httpd_close(c, NULL, NULL);
    httpd_close(d, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_continue_and_versions),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_close_inflight),
        cmocka_unit_test(test_drain_deadline),
        cmocka_unit_test(test_client_gone),
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_listen_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
