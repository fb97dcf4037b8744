/*
 * storage.c - Cloud Storage objects: list, get media, upload, delete (see
 * storage.h).
 *
 * Each call is a small heap record carried through gcp_http as the
 * request's data and freed after the caller's callback; a listing resubmits
 * its record for the next page from the previous page's callback, so pages
 * are strictly sequential (a page token only exists once the previous page
 * arrived).
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"

struct call {
    struct gstorage *s;
    char *bucket;
    char *name;     /* object name or listing prefix */
    char *resource; /* gs://bucket/name, for messages */
    const char *verb;
    /* listing */
    gcs_keep_fn *keep;
    void *keep_data;
    struct gcs_objects objs;
    unsigned pages;
    gstorage_list_cb *list_cb;
    gstorage_media_cb *media_cb;
    gstorage_write_cb *write_cb;
    void *data;
};

void gstorage_init_with(struct gstorage *s, struct gcp_http *http, const char *emulator_host,
                        const char *endpoint)
{
    s->http = http;
    gcs_endpoint_init(&s->ep, emulator_host, endpoint);
}

void gstorage_init(struct gstorage *s, struct gcp_http *http)
{
    gstorage_init_with(s, http, getenv("STORAGE_EMULATOR_HOST"), getenv("ROAM_STORAGE_ENDPOINT"));
}

void gstorage_release(struct gstorage *s)
{
    gcs_endpoint_release(&s->ep);
    s->http = NULL;
}

static struct call *call_new(struct gstorage *s, const char *bucket, const char *name,
                             const char *verb)
{
    struct call *c = xcalloc(1, sizeof(*c));

    c->s = s;
    c->bucket = xstrdup(bucket);
    c->name = xstrdup(name);
    c->resource = xasprintf("gs://%s/%s", bucket, name);
    c->verb = verb;
    gcs_objects_init(&c->objs);
    return c;
}

static void call_free(struct call *c)
{
    gcs_objects_release(&c->objs);
    free(c->bucket);
    free(c->name);
    free(c->resource);
    free(c);
}

static bool precondition_failed(long status)
{
    return status == 412 || status == 304;
}

/* The message of a failed request, in roam's words. */
static char *failure(struct gcp_req *req, const struct call *c, int err, long status)
{
    const struct gerr *g = gcp_req_gerr(req);
    unsigned attempts = gcp_req_attempts(req);
    char *what, *msg;

    if (precondition_failed(status))
        return xasprintf("cannot %s '%s': the object changed meanwhile (precondition failed)",
                         c->verb, c->resource);
    if (g == NULL)
        return xasprintf("cannot %s '%s': %s", c->verb, c->resource,
                         gcp_req_errmsg(req) != NULL ? gcp_req_errmsg(req) : err_str(err));
    what = gerr_format(g, c->verb, c->resource, true);
    if (attempts <= 1)
        return what;
    msg = xasprintf("%s, gave up after %u attempts", what, attempts);
    free(what);
    return msg;
}

static unsigned flags(const struct gstorage *s)
{
    return GCP_REQ_IDEMPOTENT | (s->ep.no_auth ? GCP_REQ_NO_AUTH : 0u);
}

static int submit(struct call *c, struct gcp_req *req, gcp_req_cb *done)
{
    int r = gcp_http_submit(c->s->http, req, done, c);

    if (r < 0)
        gcp_req_free(req);
    return r;
}

/* ---- listing ---- */

static int list_page(struct call *c, const char *token);

static void list_finish(struct call *c, int err, const char *msg)
{
    c->list_cb(c->data, err, msg, err == 0 ? &c->objs : NULL);
    call_free(c);
}

static void list_done(struct gcp_req *req, int err, long status, const struct buf *body, void *data)
{
    struct call *c = data;
    struct err_detail ed = {0};
    char *next = NULL, *msg = NULL;

    if (err < 0) {
        msg = failure(req, c, err, status);
        list_finish(c, err, msg);
        free(msg);
        return;
    }
    err = gcs_list_decode(body->p, body->len, c->keep, c->keep_data, &c->objs, &next, &ed);
    if (err >= 0)
        err = 0;
    if (err == 0 && next != NULL && ++c->pages >= CAP_STORAGE_LIST_PAGES)
        err = ERR_LIMIT;
    if (err == 0 && next != NULL)
        err = list_page(c, next);
    if (err == ERR_LIMIT) {
        msg = xasprintf("cannot list '%s': the listing did not end after %u pages", c->resource,
                        CAP_STORAGE_LIST_PAGES);
        list_finish(c, err, msg);
    } else if (err < 0) {
        msg = xasprintf("cannot list '%s': bad answer: %s%s%s", c->resource,
                        ed.path != NULL ? ed.path : "",
                        ed.path != NULL && ed.path[0] != '\0' ? ": " : "",
                        ed.msg != NULL ? ed.msg : err_str(err));
        list_finish(c, err, msg);
    } else if (next == NULL) {
        list_finish(c, 0, NULL);
    }
    free(msg);
    free(next);
    err_detail_release(&ed);
}

static int list_page(struct call *c, const char *token)
{
    char *url = gcs_list_url(&c->s->ep, c->bucket, c->name, token, GCS_LIST_PAGE_MAX);
    struct gcp_req *req = gcp_req_new("storage", "GET", url, flags(c->s));

    free(url);
    return submit(c, req, list_done);
}

int gstorage_list(struct gstorage *s, const char *bucket, const char *prefix, gcs_keep_fn *keep,
                  void *keep_data, gstorage_list_cb *cb, void *data)
{
    struct call *c;
    int r;

    if (cb == NULL)
        return ERR_INVAL;
    c = call_new(s, bucket, prefix, "list");
    c->keep = keep;
    c->keep_data = keep_data;
    c->list_cb = cb;
    c->data = data;
    r = list_page(c, NULL);
    if (r < 0)
        call_free(c);
    return r;
}

/* ---- media ---- */

static void media_done(struct gcp_req *req, int err, long status, const struct buf *body,
                       void *data)
{
    struct call *c = data;
    long long gen = 0;
    char *msg = NULL;

    if (err == 0) {
        if (gcs_parse_generation(gcp_req_header(req, "x-goog-generation"), &gen) < 0)
            gen = 0;
    } else {
        msg = failure(req, c, err, status);
    }
    c->media_cb(c->data, err, status, msg, err == 0 ? buf_str(body) : NULL,
                err == 0 ? body->len : 0, gen);
    free(msg);
    call_free(c);
}

int gstorage_get_media(struct gstorage *s, const char *bucket, const char *name,
                       long long generation, gstorage_media_cb *cb, void *data)
{
    char *url;
    struct gcp_req *req;
    struct call *c;
    int r;

    if (cb == NULL)
        return ERR_INVAL;
    url = gcs_media_url(&s->ep, bucket, name, generation);
    req = gcp_req_new("storage", "GET", url, flags(s));
    free(url);
    c = call_new(s, bucket, name, "read");
    c->media_cb = cb;
    c->data = data;
    r = submit(c, req, media_done);
    if (r < 0)
        call_free(c);
    return r;
}

/* ---- writes ---- */

static void write_done(struct gcp_req *req, int err, long status, const struct buf *body,
                       void *data)
{
    struct call *c = data;
    struct gcs_object o = {0};
    struct err_detail ed = {0};
    char *msg = NULL;

    if (err == 0 && strcmp(gcp_req_method(req), "POST") == 0) {
        err = gcs_object_decode(body->p, body->len, &o, &ed);
        if (err < 0)
            msg = xasprintf("cannot %s '%s': bad answer: %s", c->verb, c->resource,
                            ed.msg != NULL ? ed.msg : err_str(err));
    } else if (err < 0) {
        /* gerr has no code for a 304 (it is no 4xx): say what it means. */
        if (precondition_failed(status))
            err = ERR_CONFLICT;
        msg = failure(req, c, err, status);
    }
    c->write_cb(c->data, err, status, msg, err == 0 ? o.generation : 0);
    gcs_object_release(&o);
    err_detail_release(&ed);
    free(msg);
    call_free(c);
}

int gstorage_upload(struct gstorage *s, const char *bucket, const char *name,
                    const char *content_type, const void *body, size_t len,
                    long long if_generation_match, gstorage_write_cb *cb, void *data)
{
    char *url;
    struct gcp_req *req;
    struct call *c;
    int r;

    if (cb == NULL || if_generation_match < 0)
        return ERR_INVAL;
    url = gcs_upload_url(&s->ep, bucket, name, if_generation_match);
    req = gcp_req_new("storage", "POST", url, flags(s));
    free(url);
    gcp_req_set_body(req, content_type != NULL ? content_type : "application/octet-stream", body,
                     len);
    c = call_new(s, bucket, name, "write");
    c->write_cb = cb;
    c->data = data;
    r = submit(c, req, write_done);
    if (r < 0)
        call_free(c);
    return r;
}

int gstorage_delete(struct gstorage *s, const char *bucket, const char *name,
                    long long if_generation_match, gstorage_write_cb *cb, void *data)
{
    char *url;
    struct gcp_req *req;
    struct call *c;
    int r;

    if (cb == NULL || if_generation_match <= 0)
        return ERR_INVAL;
    url = gcs_object_url(&s->ep, bucket, name, if_generation_match);
    req = gcp_req_new("storage", "DELETE", url, flags(s));
    free(url);
    c = call_new(s, bucket, name, "delete");
    c->write_cb = cb;
    c->data = data;
    r = submit(c, req, write_done);
    if (r < 0)
        call_free(c);
    return r;
}
