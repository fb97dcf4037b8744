/*
 * httpd.c - connections, routing, timeouts and shutdown (see httpd.h).
 *
 * A connection is a small state machine:
 *
 *   READING  waiting for or receiving a request (one uv timer holds the
 *            idle, header or request deadline)
 *   HANDLER  a handler has the request; reading is stopped
 *   WRITING  the answer is being written (deadline: request_timeout_ms)
 *   LINGER   answered with Connection: close; our side is shut down and
 *            input is discarded until EOF or linger_ms, so the client can
 *            read the answer before the socket goes away
 *   CLOSED   the handles are closing; freed in the last close callback
 *
 * Bytes read go to conn->in and are fed to the parser from there; the
 * parser stops at the end of each request, leaving pipelined bytes in
 * conn->in until the answer has been written.  Reading is stopped while a
 * request is being handled or answered, so conn->in holds at most one read.
 *
 * A struct httpd_req outlives its connection when the connection dies
 * under a handler (peer reset, drain deadline): req->conn becomes NULL and
 * the eventual answer is dropped.  httpd_close completes only when every
 * request has been answered and every handle is closed.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/httpd/http_parse.h"

#include <http_parser.h>

#define READ_CHUNK (64ul * 1024ul)

enum conn_state { CONN_READING, CONN_HANDLER, CONN_WRITING, CONN_LINGER, CONN_CLOSED };

struct route {
    char *method;
    char *path;
    httpd_handler_fn *fn;
    void *data;
};

struct conn {
    struct httpd *h;
    struct conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    int open_handles;
    enum conn_state state;
    struct http_parse *ps;
    struct buf in;         /* received, not yet parsed */
    bool reading;          /* uv_read_start in effect */
    bool first;            /* no request answered yet */
    bool req_started;      /* a byte of the current request arrived */
    bool sent_continue;    /* 100 Continue sent for the current request */
    uint64_t start_ms;     /* first byte of the request (or accept / last answer) */
    struct httpd_req *req; /* in HANDLER and WRITING */
    char peer[64];
};

struct httpd_req {
    struct httpd *h;
    struct conn *conn;      /* NULL once the connection is gone */
    struct http_request *r; /* NULL for answers the server makes itself */
    struct buf headers;     /* extra response header lines */
    uint64_t start_ms;
    bool answered;
    bool head;        /* HEAD: no body on the wire */
    bool close_after; /* end the connection after this answer */
    bool in_handler;
    int status;
    size_t body_len;
    uv_write_t wr;
    char *out;
    char peer[64];
};

struct httpd {
    uv_loop_t *loop;
    struct httpd_config cfg;
    struct http_parse_limits lim;
    uv_tcp_t listener;
    bool listening;
    bool listened; /* httpd_listen was tried: once only */
    int port;
    uv_timer_t drain;
    struct route *routes;
    size_t nroutes, cap_routes;
    struct conn *conns;
    unsigned open;    /* listener, connections and refused sockets not yet closed */
    unsigned pending; /* requests not yet freed */
    bool closing, finishing;
    httpd_close_cb *close_cb;
    void *close_data;
    struct httpd_stats st;
};

static void process(struct conn *c);
static void close_conn(struct conn *c);
static void respond_error(struct conn *c, int status, const char *text);

/* ---- server lifecycle ---- */

struct httpd *httpd_new(uv_loop_t *loop, const struct httpd_config *cfg)
{
    struct httpd *h = xcalloc(1, sizeof(*h));
    struct httpd_config *c = &h->cfg;

    h->loop = loop;
    if (cfg != NULL)
        *c = *cfg;
    if (c->max_connections == 0)
        c->max_connections = CAP_HTTP_CONNECTIONS;
    if (c->header_timeout_ms == 0)
        c->header_timeout_ms = 10000;
    if (c->request_timeout_ms == 0)
        c->request_timeout_ms = 30000;
    if (c->idle_timeout_ms == 0)
        c->idle_timeout_ms = 75000;
    if (c->linger_ms == 0)
        c->linger_ms = 2000;
    if (c->drain_timeout_ms == 0)
        c->drain_timeout_ms = 8000;
    h->lim.body_bytes = c->max_body_bytes;
    h->lim.header_bytes = c->max_header_bytes;
    h->lim.headers = c->max_headers;
    h->lim.url_bytes = c->max_url_bytes;
    uv_timer_init(loop, &h->drain);
    h->drain.data = h;
    return h;
}

void httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn *fn,
                 void *data)
{
    struct route *r;
    size_t i;

    for (i = 0; i < h->nroutes; i++) {
        r = &h->routes[i];
        if (strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0) {
            r->fn = fn;
            r->data = data;
            return;
        }
    }
    XGROW(h->routes, h->nroutes + 1, h->cap_routes);
    r = &h->routes[h->nroutes++];
    r->method = xstrdup(method);
    r->path = xstrdup(path);
    r->fn = fn;
    r->data = data;
}

static void on_drain_closed(uv_handle_t *handle)
{
    struct httpd *h = handle->data;
    size_t i;

    if (h->close_cb != NULL)
        h->close_cb(h, h->close_data);
    for (i = 0; i < h->nroutes; i++) {
        free(h->routes[i].method);
        free(h->routes[i].path);
    }
    free(h->routes);
    free(h);
}

static void maybe_finish(struct httpd *h)
{
    if (!h->closing || h->finishing || h->open > 0 || h->pending > 0)
        return;
    h->finishing = true;
    uv_close((uv_handle_t *)&h->drain, on_drain_closed);
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct httpd *h = handle->data;

    h->open--;
    maybe_finish(h);
}

static void on_drain(uv_timer_t *t)
{
    struct httpd *h = t->data;
    struct conn *c, *next;

    for (c = h->conns; c != NULL; c = next) {
        next = c->next;
        close_conn(c);
    }
    maybe_finish(h);
}

void httpd_close(struct httpd *h, httpd_close_cb *cb, void *data)
{
    struct conn *c, *next;

    assert(!h->closing);
    h->closing = true;
    h->close_cb = cb;
    h->close_data = data;
    if (h->listening) {
        h->listening = false;
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
    }
    /* Idle and half-read connections go now; answers in progress finish. */
    for (c = h->conns; c != NULL; c = next) {
        next = c->next;
        if (c->state == CONN_READING)
            close_conn(c);
    }
    uv_timer_start(&h->drain, on_drain, h->cfg.drain_timeout_ms, 0);
    maybe_finish(h);
}

void httpd_stats(const struct httpd *h, struct httpd_stats *ret)
{
    *ret = h->st;
}

int httpd_port(const struct httpd *h)
{
    return h->listening ? h->port : 0;
}

/* ---- listening ---- */

static int parse_port(const char *s, int *ret)
{
    long long v;

    if (s[0] == '\0' || str_to_ll(s, 0, 65535, &v) != 0)
        return ERR_INVAL;
    *ret = (int)v;
    return 0;
}

int httpd_parse_listen(const char *spec, struct sockaddr_storage *ret)
{
    char host[64];
    const char *colon;
    size_t n;
    int port;

    memset(ret, 0, sizeof(*ret));
    if (spec[0] == '[') { /* [v6]:port */
        const char *end = strchr(spec, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
            return ERR_INVAL;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        if (parse_port(end + 2, &port) != 0 ||
            uv_ip6_addr(host, port, (struct sockaddr_in6 *)ret) != 0)
            return ERR_INVAL;
        return 0;
    }
    colon = strrchr(spec, ':');
    if (colon == NULL)
        return parse_port(spec, &port) != 0 ||
                       uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *)ret) != 0
                   ? ERR_INVAL
                   : 0;
    n = (size_t)(colon - spec);
    if (n >= sizeof(host) || memchr(spec, ':', n) != NULL)
        return ERR_INVAL;
    memcpy(host, spec, n);
    host[n] = '\0';
    if (n == 0)
        memcpy(host, "0.0.0.0", 8);
    else if (strcmp(host, "localhost") == 0)
        memcpy(host, "127.0.0.1", 10);
    if (parse_port(colon + 1, &port) != 0 ||
        uv_ip4_addr(host, port, (struct sockaddr_in *)ret) != 0)
        return ERR_INVAL;
    return 0;
}

static void on_connection(uv_stream_t *server, int status);

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int httpd_listen(struct httpd *h, const char *spec)
{
    struct sockaddr_storage ss;
    char def[32];
    const char *port;

    if (h->listened || h->closing)
        return ERR_INVAL;
    if (spec == NULL) {
        port = getenv("PORT");
        if (port == NULL || port[0] == '\0')
            port = "8080";
        if (strlen(port) > 8)
            return ERR_INVAL;
        snprintf(def, sizeof(def), ":%s", port);
        spec = def;
    }
    if (httpd_parse_listen(spec, &ss) != 0)
        return ERR_INVAL;
    h->listened = true;
    uv_tcp_init(h->loop, &h->listener);
    h->listener.data = h;
    h->open++;
    if (uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0) != 0 ||
        uv_listen((uv_stream_t *)&h->listener, 511, on_connection) != 0) {
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
        return ERR_IO;
    }
    h->listening = true;
    h->port = bound_port(&h->listener);
    return 0;
}

/* ---- refusing over the connection cap ---- */

struct refused {
    uv_tcp_t tcp;
    struct httpd *h;
};

static void on_refused_closed(uv_handle_t *handle)
{
    struct refused *r = handle->data;
    struct httpd *h = r->h;

    free(r);
    h->open--;
    maybe_finish(h);
}

static void refuse(struct httpd *h, uv_stream_t *server)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                              "too many connections";
    struct refused *r = xcalloc(1, sizeof(*r));
    struct httpd_access a = {"-", "-", "-", NULL, 503, 0, 20, 0, false};
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)msg, sizeof(msg) - 1);

    r->h = h;
    r->tcp.data = r;
    uv_tcp_init(h->loop, &r->tcp);
    h->open++;
    h->st.rejected++;
    if (uv_accept(server, (uv_stream_t *)&r->tcp) == 0)
        a.completed = uv_try_write((uv_stream_t *)&r->tcp, &b, 1) == (int)b.len;
    if (h->cfg.log != NULL)
        h->cfg.log(&a, h->cfg.log_data);
    uv_close((uv_handle_t *)&r->tcp, on_refused_closed);
}

/* ---- connections ---- */

static void peer_name(uv_tcp_t *t, char *out, size_t n)
{
    struct sockaddr_storage ss;
    char addr[INET6_ADDRSTRLEN];
    int len = sizeof(ss);

    snprintf(out, n, "-");
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (uv_ip6_name(s6, addr, sizeof(addr)) == 0)
            snprintf(out, n, "[%s]:%u", addr, (unsigned)ntohs(s6->sin6_port));
    } else if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (uv_ip4_name(s4, addr, sizeof(addr)) == 0)
            snprintf(out, n, "%s:%u", addr, (unsigned)ntohs(s4->sin_port));
    }
}

static void on_conn_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;
    struct httpd *h = c->h;

    if (--c->open_handles > 0)
        return;
    http_parse_free(c->ps);
    buf_release(&c->in);
    free(c);
    h->open--;
    h->st.connections--;
    maybe_finish(h);
}

static void unlink_conn(struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void close_conn(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    /* A request in a handler or being written lives on without us. */
    if (c->req != NULL)
        c->req->conn = NULL;
    c->req = NULL;
    c->state = CONN_CLOSED;
    unlink_conn(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_timer(uv_timer_t *t);

/* Sets the timer for the connection's current state. */
static void arm_timer(struct conn *c)
{
    const struct httpd_config *cfg = &c->h->cfg;
    uint64_t now = uv_now(c->h->loop), deadline;

    switch (c->state) {
    case CONN_READING:
        if (!c->req_started)
            deadline = c->start_ms + (c->first ? cfg->header_timeout_ms : cfg->idle_timeout_ms);
        else if (!http_parse_headers_done(c->ps))
            deadline = c->start_ms + (cfg->header_timeout_ms < cfg->request_timeout_ms
                                          ? cfg->header_timeout_ms
                                          : cfg->request_timeout_ms);
        else
            deadline = c->start_ms + cfg->request_timeout_ms;
        break;
    case CONN_WRITING:
        deadline = now + cfg->request_timeout_ms;
        break;
    case CONN_LINGER:
        deadline = now + cfg->linger_ms;
        break;
    default:
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;

    c->h->st.timeouts++;
    if (c->state == CONN_READING && c->req_started)
        respond_error(c, 408, "request timeout\n");
    else
        close_conn(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
    (void)handle;
    (void)suggested;
    b->base = xmalloc(READ_CHUNK);
    b->len = READ_CHUNK;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;

    if (nread < 0) {
        close_conn(c); /* EOF or error: a request in progress is abandoned */
    } else if (nread > 0 && c->state == CONN_LINGER) {
        /* Discard: we have answered and are waiting for the peer's EOF. */
    } else if (nread > 0 && c->state == CONN_READING) {
        if (!c->req_started) {
            c->req_started = true;
            c->start_ms = uv_now(c->h->loop);
        }
        if (buf_append(&c->in, b->base, (size_t)nread) != 0)
            close_conn(c);
        else
            process(c);
    }
    free(b->base);
}

static void start_reading(struct conn *c)
{
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

static void stop_reading(struct conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct httpd *h = server->data;
    struct conn *c;

    if (status < 0 || h->closing)
        return;
    if (h->st.connections >= h->cfg.max_connections) {
        refuse(h, server);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    c->tcp.data = c;
    c->timer.data = c;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->open_handles = 2;
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    h->open++;
    h->st.connections++;
    c->ps = http_parse_new(&h->lim);
    buf_init(&c->in, 4 * READ_CHUNK);
    c->state = CONN_READING;
    c->first = true;
    c->start_ms = uv_now(h->loop);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    h->st.accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(&c->tcp, c->peer, sizeof(c->peer));
    arm_timer(c);
    start_reading(c);
}

/* ---- requests ---- */

static struct httpd_req *req_new(struct conn *c, struct http_request *r)
{
    struct httpd_req *req = xcalloc(1, sizeof(*req));

    req->h = c->h;
    req->conn = c;
    req->r = r;
    req->start_ms = c->start_ms;
    buf_init(&req->headers, CAP_HTTP_HEADER_BYTES);
    snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
    req->wr.data = req;
    c->req = req;
    c->h->pending++;
    return req;
}

static void req_free(struct httpd_req *req)
{
    struct httpd *h = req->h;

    http_request_free(req->r);
    buf_release(&req->headers);
    free(req->out);
    free(req);
    h->pending--;
    maybe_finish(h);
}

static void consume(struct buf *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    if (b->p != NULL)
        b->p[b->len] = '\0';
}

static void on_continue_written(uv_write_t *wr, int status)
{
    (void)status;
    free(wr);
}

static void send_continue(struct conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_write_t *wr = xcalloc(1, sizeof(*wr));
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)msg, sizeof(msg) - 1);

    c->sent_continue = true;
    if (uv_write(wr, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0)
        free(wr);
}

static const struct route *find_route(const struct httpd *h, const char *method, const char *path)
{
    size_t i;

    for (i = 0; i < h->nroutes; i++)
        if (strcmp(h->routes[i].method, method) == 0 && strcmp(h->routes[i].path, path) == 0)
            return &h->routes[i];
    return NULL;
}

/* The Allow value for a path, or NULL when no route has it. */
static char *allowed_methods(const struct httpd *h, const char *path)
{
    struct buf b;
    bool get = false, head = false;
    size_t i;

    buf_init(&b, 1024);
    for (i = 0; i < h->nroutes; i++) {
        if (strcmp(h->routes[i].path, path) != 0)
            continue;
        get = get || strcmp(h->routes[i].method, "GET") == 0;
        head = head || strcmp(h->routes[i].method, "HEAD") == 0;
        buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", h->routes[i].method);
    }
    if (b.len == 0) {
        buf_release(&b);
        return NULL;
    }
    if (get && !head)
        buf_puts(&b, ", HEAD");
    return buf_detach(&b, NULL);
}

static void dispatch(struct conn *c, struct http_request *r)
{
    struct httpd *h = c->h;
    struct httpd_req *req;
    const struct route *rt;
    char *allow;

    stop_reading(c);
    uv_timer_stop(&c->timer);
    c->state = CONN_HANDLER;
    req = req_new(c, r);
    rt = find_route(h, r->method, r->path);
    if (rt == NULL && strcmp(r->method, "HEAD") == 0) {
        rt = find_route(h, "GET", r->path);
        req->head = rt != NULL;
    }
    if (rt != NULL) {
        req->in_handler = true;
        h->st.in_handler++;
        rt->fn(req, rt->data);
        return;
    }
    allow = allowed_methods(h, r->path);
    if (allow == NULL) {
        httpd_respond_text(req, 404, "not found\n");
    } else {
        httpd_req_add_header(req, "Allow", allow);
        httpd_respond_text(req, 405, "method not allowed\n");
    }
    free(allow);
}

/* Feeds buffered input to the parser until a request completes, an error
 * occurs or the input runs out. */
static void process(struct conn *c)
{
    size_t off = 0, used;
    int rc;

    while (c->state == CONN_READING && off < c->in.len) {
        if (!c->req_started) {
            c->req_started = true;
            c->start_ms = uv_now(c->h->loop);
        }
        rc = http_parse_feed(c->ps, c->in.p + off, c->in.len - off, &used);
        off += used;
        if (rc < 0) {
            c->h->st.parse_errors++;
            respond_error(c, http_parse_status(c->ps), http_parse_errmsg(c->ps));
            return;
        }
        if (http_parse_wants_continue(c->ps) && !c->sent_continue)
            send_continue(c);
        if (rc == HTTP_PARSE_DONE) {
            consume(&c->in, off);
            dispatch(c, http_parse_take(c->ps));
            return;
        }
    }
    consume(&c->in, off);
    if (c->state == CONN_READING) {
        arm_timer(c);
        start_reading(c);
    }
}

/* An answer the server makes itself (parse error, timeout): the
 * connection ends after it. */
static void respond_error(struct conn *c, int status, const char *text)
{
    struct httpd_req *req;
    char *body;

    stop_reading(c);
    c->state = CONN_HANDLER;
    req = req_new(c, NULL);
    req->close_after = true;
    body = xasprintf("%s\n", text);
    httpd_respond_text(req, status, strchr(text, '\n') != NULL ? text : body);
    free(body);
}

/* ---- answers ---- */

static bool header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

bool httpd_req_add_header(struct httpd_req *req, const char *name, const char *value)
{
    static const char *const owned[] = {"Content-Length", "Connection", "Transfer-Encoding",
                                        "Date"};
    size_t i;

    assert(!req->answered);
    if (name[0] == '\0' || !header_safe(name) || !header_safe(value) || strchr(name, ':'))
        return false;
    for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (str_eq_ci(name, owned[i]))
            return false;
    return buf_printf(&req->headers, "%s: %s\r\n", name, value) == 0;
}

static void log_access(struct httpd_req *req, bool completed)
{
    struct httpd *h = req->h;
    struct httpd_access a;

    if (h->cfg.log == NULL)
        return;
    a.method = req->r != NULL ? req->r->method : "-";
    a.path = req->r != NULL ? req->r->path : "-";
    a.peer = req->peer;
    a.user_agent = req->r != NULL ? http_request_header(req->r, "User-Agent") : NULL;
    a.status = req->status;
    a.request_bytes = req->r != NULL ? req->r->body_len : 0;
    a.response_bytes = req->body_len;
    a.duration_ms = uv_now(h->loop) - req->start_ms;
    a.completed = completed;
    h->cfg.log(&a, h->cfg.log_data);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    (void)sr;
    (void)status;
}

static void start_linger(struct conn *c)
{
    c->state = CONN_LINGER;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        close_conn(c);
        return;
    }
    arm_timer(c);
    start_reading(c);
}

static void on_written(uv_write_t *wr, int status)
{
    struct httpd_req *req = wr->data;
    struct conn *c = req->conn;
    bool keep = !req->close_after;

    req->h->st.requests++;
    log_access(req, status == 0);
    if (c != NULL)
        c->req = NULL;
    req_free(req);
    if (c == NULL)
        return;
    if (status < 0) {
        close_conn(c);
    } else if (!keep) {
        start_linger(c);
    } else {
        c->state = CONN_READING;
        c->first = false;
        c->req_started = false;
        c->sent_continue = false;
        c->start_ms = uv_now(c->h->loop);
        process(c);
    }
}

static void format_date(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        snprintf(out, n, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* The head of the answer. */
static void format_head(struct httpd_req *req, const char *ctype, bool keep, struct buf *out)
{
    const char *reason = http_status_str((enum http_status)req->status);
    bool no_body = req->status == 204 || req->status == 304;
    char date[64];

    format_date(date, sizeof(date));
    if (strcmp(reason, "<unknown>") == 0)
        reason = "Unknown";
    buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", req->status, reason, date);
    if (ctype != NULL && !no_body)
        buf_printf(out, "Content-Type: %s\r\n", ctype);
    if (!no_body)
        buf_printf(out, "Content-Length: %zu\r\n", req->body_len);
    if (!keep)
        buf_puts(out, "Connection: close\r\n");
    else if (req->r != NULL && req->r->version_minor == 0)
        buf_puts(out, "Connection: keep-alive\r\n");
    buf_append(out, req->headers.p, req->headers.len);
    buf_puts(out, "\r\n");
}

void httpd_respond(struct httpd_req *req, int status, const char *content_type, const void *body,
                   size_t len)
{
    struct conn *c = req->conn;
    struct httpd *h = req->h;
    struct buf out;
    bool keep;
    uv_buf_t b;

    assert(!req->answered);
    assert(status >= 200 && status <= 599);
    assert(content_type == NULL || header_safe(content_type));
    req->answered = true;
    req->status = status;
    req->body_len = status == 204 || status == 304 ? 0 : len;
    if (req->in_handler) {
        req->in_handler = false;
        h->st.in_handler--;
    }
    if (c == NULL) { /* the connection is gone */
        h->st.requests++;
        log_access(req, false);
        req_free(req);
        return;
    }
    keep = !req->close_after && req->r != NULL && req->r->keep_alive && !h->closing;
    req->close_after = !keep;
    buf_init(&out, (size_t)-1 / 2);
    format_head(req, content_type, keep, &out);
    if (!req->head && req->body_len > 0)
        buf_append(&out, body, req->body_len);
    b = uv_buf_init(out.p, (unsigned)out.len);
    req->out = buf_detach(&out, NULL);
    b.base = req->out;
    stop_reading(c);
    c->state = CONN_WRITING;
    if (uv_write(&req->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        close_conn(c);
        h->st.requests++;
        log_access(req, false);
        req_free(req);
        return;
    }
    arm_timer(c);
}

void httpd_respond_text(struct httpd_req *req, int status, const char *text)
{
    httpd_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* ---- request accessors ---- */

const char *httpd_req_method(const struct httpd_req *req)
{
    return req->r != NULL ? req->r->method : "-";
}

const char *httpd_req_path(const struct httpd_req *req)
{
    return req->r != NULL ? req->r->path : "-";
}

const char *httpd_req_query(const struct httpd_req *req)
{
    return req->r != NULL ? req->r->query : NULL;
}

const char *httpd_req_header(const struct httpd_req *req, const char *name)
{
    return req->r != NULL ? http_request_header(req->r, name) : NULL;
}

size_t httpd_req_header_count(const struct httpd_req *req, const char *name)
{
    return req->r != NULL ? http_request_header_count(req->r, name) : 0;
}

const char *httpd_req_body(const struct httpd_req *req, size_t *ret_len)
{
    *ret_len = req->r != NULL ? req->r->body_len : 0;
    return req->r != NULL ? req->r->body : "";
}

const char *httpd_req_peer(const struct httpd_req *req)
{
    return req->peer;
}

struct httpd *httpd_req_server(const struct httpd_req *req)
{
    return req->h;
}
