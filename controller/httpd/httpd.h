/*
 * httpd.h - the HTTP/1.1 server of `roam serve` on a libuv loop.
 *
 * One listening TCP socket; connections parsed by http_parse (caps from
 * caps.h) and answered one request at a time, in order, so pipelined
 * requests get their answers in sequence and reading pauses while a
 * handler works (back-pressure instead of buffering).  Keep-alive follows
 * the request (HTTP/1.1 default on, HTTP/1.0 only when asked) and ends
 * after any error, an Upgrade request, or when the server is closing.
 *
 * Routing is a table of {method, exact path, handler}: an unknown path gets
 * 404, a known path with another method 405 with `Allow`, and a GET route
 * also answers HEAD (the handler runs, the body is not sent).  A handler
 * may answer at once or later (after a GCP call): it calls httpd_respond()
 * exactly once, and the request stays valid until then.
 *
 * Limits against slow or greedy clients (slowloris): the header section
 * must arrive within header_timeout_ms of the request's first byte (of the
 * connection, for the first request), the whole request within
 * request_timeout_ms; a kept-alive connection idle for idle_timeout_ms is
 * closed; a response the client does not read within request_timeout_ms is
 * abandoned.  A late request gets 408.  Beyond max_connections a new
 * connection gets 503 and is closed.  Every response carries
 * Content-Length; error responses end the connection (after a short
 * lingering close, so the client can read the answer while its unread
 * body is drained).
 *
 * Alternatives rejected: libuv's stream buffering per request (unbounded
 * while a handler is slow); a thread per connection (the loop already
 * multiplexes); a routing trie (a handful of exact paths).
 *
 * Nothing is logged here: each response is reported to an access-log hook.
 * Everything runs on the loop's thread.
 */
#ifndef ROAM_HTTPD_H
#define ROAM_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct httpd;
struct httpd_req;

/* A handler; req is valid until httpd_respond(req, ...). */
typedef void httpd_handler_fn(struct httpd_req *req, void *data);
typedef void httpd_close_cb(struct httpd *h, void *data);

/* One answered (or abandoned) request, for the access log.  Strings are
 * valid during the call only; method and path are "-" when the request did
 * not parse. */
struct httpd_access {
    const char *method;
    const char *path;
    const char *peer;       /* "127.0.0.1:54321" */
    const char *user_agent; /* NULL when absent */
    int status;
    size_t request_bytes;  /* body */
    size_t response_bytes; /* body, as announced in Content-Length */
    uint64_t duration_ms;  /* from the request's first byte to the answer written */
    bool completed;        /* false: the connection closed before the answer was written */
};
typedef void httpd_log_fn(const struct httpd_access *a, void *data);

struct httpd_config {
    unsigned max_connections;    /* 0: CAP_HTTP_CONNECTIONS */
    size_t max_body_bytes;       /* 0: CAP_HTTP_BODY_BYTES */
    size_t max_header_bytes;     /* 0: CAP_HTTP_HEADER_BYTES */
    size_t max_headers;          /* 0: CAP_HTTP_HEADERS */
    size_t max_url_bytes;        /* 0: CAP_HTTP_URL_BYTES */
    uint64_t header_timeout_ms;  /* 0: 10 s */
    uint64_t request_timeout_ms; /* 0: 30 s */
    uint64_t idle_timeout_ms;    /* 0: 75 s */
    uint64_t linger_ms;          /* 0: 2 s: draining a closing connection */
    uint64_t drain_timeout_ms;   /* 0: 8 s: httpd_close waits this long for handlers */
    httpd_log_fn *log;           /* NULL: no access log */
    void *log_data;
};

/* Counters for /metrics. */
struct httpd_stats {
    unsigned connections;  /* open now */
    unsigned in_handler;   /* requests a handler has not answered yet */
    uint64_t accepted;     /* connections accepted */
    uint64_t rejected;     /* connections refused with 503 (max_connections) */
    uint64_t requests;     /* requests answered (any status) */
    uint64_t timeouts;     /* connections cut by a timeout */
    uint64_t parse_errors; /* 4xx/5xx answered by the parser */
};

/* Creates a server on loop (cfg may be NULL; copied).  Cannot fail.  Close
 * it with httpd_close() before uv_loop_close(). */
struct httpd *httpd_new(uv_loop_t *loop, const struct httpd_config *cfg);

/*
 * Adds a route: method ("GET", "POST", ...) and an exact path ("/pubsub");
 * strings copied, data borrowed.  A second route for the same method and
 * path replaces the first.  Routes may be added at any time.
 */
void httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn *fn,
                 void *data);

/*
 * Parses a listen address: "8080", ":8080" and "0.0.0.0:8080" (all IPv4
 * interfaces), "127.0.0.1:0", "localhost:8080", "[::1]:8080", "[::]:8080".
 * Returns 0 with *ret filled, or ERR_INVAL.
 */
int httpd_parse_listen(const char *spec, struct sockaddr_storage *ret);

/*
 * Binds and listens.  spec as above; NULL means ":$PORT", or ":8080"
 * without PORT (the Cloud Run contract: 0.0.0.0).  Returns 0, ERR_INVAL
 * (bad spec or PORT; called before; closing) or ERR_IO (bind or listen
 * failed, e.g. the port is taken).  Only one attempt is allowed: after
 * ERR_IO close the server.
 */
int httpd_listen(struct httpd *h, const char *spec);
/* The bound port (useful after ":0"), or 0 when not listening. */
int httpd_port(const struct httpd *h);

/*
 * Stops accepting, closes idle and half-read connections, lets requests
 * in handlers answer (with Connection: close), then closes everything.
 * After drain_timeout_ms the remaining connections are cut; a handler that
 * answers after that has its answer dropped.  cb (may be NULL) runs once
 * every handle is closed and every handler has answered; h is freed right
 * after cb returns.  May be called from a handler.  Twice is a programming
 * error.
 */
void httpd_close(struct httpd *h, httpd_close_cb *cb, void *data);

void httpd_stats(const struct httpd *h, struct httpd_stats *ret);

/* Request accessors; results valid until httpd_respond(). */
const char *httpd_req_method(const struct httpd_req *req);
const char *httpd_req_path(const struct httpd_req *req);
const char *httpd_req_query(const struct httpd_req *req); /* NULL when none */
/* First header of that name (case-insensitive), or NULL. */
const char *httpd_req_header(const struct httpd_req *req, const char *name);
/* How many headers of that name were sent. */
size_t httpd_req_header_count(const struct httpd_req *req, const char *name);
/* The body (NUL-terminated, the NUL not counted). */
const char *httpd_req_body(const struct httpd_req *req, size_t *ret_len);
const char *httpd_req_peer(const struct httpd_req *req);
struct httpd *httpd_req_server(const struct httpd_req *req);

/*
 * Adds a response header (copied) for the coming httpd_respond().  Names
 * and values with CR, LF or NUL, and the headers the server owns
 * (Content-Length, Connection, Transfer-Encoding, Date), are ignored with
 * a false return.
 */
bool httpd_req_add_header(struct httpd_req *req, const char *name, const char *value);

/*
 * Answers req: status 200..599 (interim 1xx answers are the server's
 * business), an optional Content-Type, and len bytes of body (copied).
 * Every answer carries Content-Length, except 204 and 304, which carry no
 * body.  Must be called exactly once per request, from the loop thread;
 * req is freed by it (at once or after the write).  If the connection is
 * gone (peer closed, drain deadline), the answer is dropped and reported
 * to the access log with completed = false.
 */
void httpd_respond(struct httpd_req *req, int status, const char *content_type, const void *body,
                   size_t len);
/* httpd_respond with a text/plain body. */
void httpd_respond_text(struct httpd_req *req, int status, const char *text);

#endif
