/*
 * gapi.c - Cloud Run v2 and IAM v1 calls (see gapi.h).
 */
#include "gapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"

struct call {
    char *resource;
    const char *verb; /* for messages: "get IAM policy for" */
    bool job;
    gapi_policy_cb *pcb;
    gapi_run_cb *rcb;
    void *data;
};

void gapi_init(struct gapi *g, struct gcp_http *http)
{
    const char *run = getenv("ROAM_RUN_ENDPOINT");
    const char *iam = getenv("ROAM_IAM_ENDPOINT");

    g->http = http;
    g->ep.run = gres_base_url(run != NULL && run[0] != '\0' ? run : GRES_RUN_DEFAULT);
    g->ep.iam = gres_base_url(iam != NULL && iam[0] != '\0' ? iam : GRES_IAM_DEFAULT);
}

void gapi_release(struct gapi *g)
{
    free((char *)(uintptr_t)g->ep.run);
    free((char *)(uintptr_t)g->ep.iam);
    memset(g, 0, sizeof(*g));
}

static struct call *call_new(const char *resource, const char *verb)
{
    struct call *c = xcalloc(1, sizeof(*c));

    c->resource = xstrdup(resource);
    c->verb = verb;
    c->job = strstr(resource, "/jobs/") != NULL;
    return c;
}

static void call_free(struct call *c)
{
    free(c->resource);
    free(c);
}

/* The message of a failed request, in roam's words. */
static char *failure(struct gcp_req *req, const struct call *c, int err)
{
    const struct gerr *g = gcp_req_gerr(req);

    if (g != NULL)
        return gerr_format(g, c->verb, c->resource, false);
    if (gcp_req_errmsg(req) != NULL)
        return xasprintf("cannot %s '%s': %s", c->verb, c->resource, gcp_req_errmsg(req));
    return xasprintf("cannot %s '%s': %s", c->verb, c->resource, err_str(err));
}

static void policy_done(struct gcp_req *req, int err, long status, const struct buf *body,
                        void *data)
{
    struct call *c = data;
    struct iam_policy p;
    struct err_detail ed = {0};
    char *msg = NULL;

    iam_policy_init(&p);
    if (err == 0) {
        err = iam_policy_decode(body->p != NULL ? body->p : "", body->len, &p, &ed);
        if (err < 0)
            msg = xasprintf("cannot %s '%s': bad policy in the answer: %s%s%s", c->verb,
                            c->resource, ed.path != NULL ? ed.path : "",
                            ed.path != NULL && ed.path[0] != '\0' ? ": " : "",
                            ed.msg != NULL ? ed.msg : err_str(err));
    } else {
        msg = failure(req, c, err);
    }
    c->pcb(c->data, err, status, msg, err == 0 ? &p : NULL);
    err_detail_release(&ed);
    iam_policy_release(&p);
    free(msg);
    call_free(c);
}

static void run_done(struct gcp_req *req, int err, long status, const struct buf *body, void *data)
{
    struct call *c = data;
    struct gres_run r = {0};
    struct err_detail ed = {0};
    char *msg = NULL;
    bool decode = strcmp(gcp_req_method(req), "GET") == 0;

    if (err == 0 && decode) {
        err = gres_run_decode(body->p != NULL ? body->p : "", body->len, c->job, &r, &ed);
        if (err < 0)
            msg = xasprintf("cannot %s '%s': bad answer: %s: %s", c->verb, c->resource,
                            ed.path != NULL ? ed.path : "", ed.msg != NULL ? ed.msg : "");
    } else if (err < 0) {
        msg = failure(req, c, err);
    }
    c->rcb(c->data, err, status, msg, err == 0 && decode ? &r : NULL);
    err_detail_release(&ed);
    gres_run_release(&r);
    free(msg);
    call_free(c);
}

static int submit(struct gapi *g, struct gcp_req *req, struct call *c, gcp_req_cb *done)
{
    int r = gcp_http_submit(g->http, req, done, c);

    if (r < 0) {
        gcp_req_free(req);
        call_free(c);
    }
    return r;
}

int gapi_get_policy(struct gapi *g, const char *resource, gapi_policy_cb *cb, void *data)
{
    const char *method;
    char *url = gres_get_policy_url(&g->ep, resource, &method);
    struct gcp_req *req;
    struct call *c;

    if (url == NULL)
        return ERR_INVAL;
    req = gcp_req_new(gres_api(resource), method, url, GCP_REQ_IDEMPOTENT);
    free(url);
    if (strcmp(method, "POST") == 0)
        gcp_req_set_body(req, NULL, "", 0); /* no body: Content-Length 0 */
    c = call_new(resource, "get IAM policy for");
    c->pcb = cb;
    c->data = data;
    return submit(g, req, c, policy_done);
}

int gapi_set_policy(struct gapi *g, const char *resource, const struct iam_policy *p,
                    gapi_policy_cb *cb, void *data)
{
    char *url = gres_set_policy_url(&g->ep, resource);
    char *pol, *body;
    struct gcp_req *req;
    struct call *c;

    if (url == NULL)
        return ERR_INVAL;
    if (p->etag == NULL) {
        /* Never write without an etag: last writer would win. */
        free(url);
        return ERR_INVAL;
    }
    req = gcp_req_new(gres_api(resource), "POST", url, GCP_REQ_IDEMPOTENT);
    free(url);
    pol = iam_policy_encode(p);
    body = gres_set_policy_body(pol);
    gcp_req_set_body(req, "application/json", body, strlen(body));
    free(pol);
    free(body);
    c = call_new(resource, "set IAM policy for");
    c->pcb = cb;
    c->data = data;
    return submit(g, req, c, policy_done);
}

int gapi_get_run(struct gapi *g, const char *resource, gapi_run_cb *cb, void *data)
{
    char *url = gres_get_url(&g->ep, resource);
    struct gcp_req *req;
    struct call *c;

    if (url == NULL)
        return ERR_INVAL;
    req = gcp_req_new("run", "GET", url, GCP_REQ_IDEMPOTENT);
    free(url);
    c = call_new(resource, "read");
    c->rcb = cb;
    c->data = data;
    return submit(g, req, c, run_done);
}

int gapi_set_identity(struct gapi *g, const char *resource, const char *service_account,
                      gapi_run_cb *cb, void *data)
{
    char *url = gres_patch_identity_url(&g->ep, resource);
    char *body;
    struct gcp_req *req;
    struct call *c;

    if (url == NULL)
        return ERR_INVAL;
    /* Setting a field to a value is idempotent. */
    req = gcp_req_new("run", "PATCH", url, GCP_REQ_IDEMPOTENT);
    free(url);
    body = gres_identity_body(resource, service_account);
    gcp_req_set_body(req, "application/json", body, strlen(body));
    free(body);
    c = call_new(resource, "set the service account of");
    c->rcb = cb;
    c->data = data;
    return submit(g, req, c, run_done);
}

/* ---- listing ---- */

#define LIST_PAGE_SIZE 100

struct list_call {
    struct gapi *g;
    char *parent;
    bool jobs;
    char **names;
    size_t n, cap;
    unsigned pages;
    gapi_list_cb *cb;
    void *data;
};

static void list_finish(struct list_call *c, int err, const char *msg)
{
    c->cb(c->data, err, msg, c->names, c->n);
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->parent);
    free(c);
}

static int list_page(struct list_call *c, const char *token);

static void list_done(struct gcp_req *req, int err, long status, const struct buf *body, void *data)
{
    struct list_call *c = data;
    struct err_detail ed = {0};
    char *next = NULL, *msg = NULL;
    struct call fake = {.resource = c->parent, .verb = "list"};

    (void)status;
    if (err < 0) {
        msg = failure(req, &fake, err);
        list_finish(c, err, msg);
        free(msg);
        return;
    }
    err = gres_list_decode(body->p != NULL ? body->p : "", body->len, c->jobs, &c->names, &c->n,
                           &c->cap, &next, &ed);
    if (err == 0 && next != NULL && ++c->pages >= 10000)
        err = ERR_LIMIT; /* a server that never ends its listing */
    if (err == 0 && next != NULL)
        err = list_page(c, next);
    if (err < 0) {
        msg = xasprintf("cannot list '%s': %s%s%s", c->parent, ed.path != NULL ? ed.path : "",
                        ed.path != NULL ? ": " : "", ed.msg != NULL ? ed.msg : err_str(err));
        list_finish(c, err, msg);
    } else if (next == NULL) {
        list_finish(c, 0, NULL);
    }
    free(msg);
    free(next);
    err_detail_release(&ed);
}

static int list_page(struct list_call *c, const char *token)
{
    char *url = gres_list_url(&c->g->ep, c->parent, c->jobs, LIST_PAGE_SIZE, token);
    struct gcp_req *req;
    int r;

    if (url == NULL)
        return ERR_INVAL;
    req = gcp_req_new("run", "GET", url, GCP_REQ_IDEMPOTENT);
    free(url);
    r = gcp_http_submit(c->g->http, req, list_done, c);
    if (r < 0)
        gcp_req_free(req);
    return r;
}

int gapi_list(struct gapi *g, const char *parent, bool jobs, gapi_list_cb *cb, void *data)
{
    struct list_call *c = xcalloc(1, sizeof(*c));
    int r;

    c->g = g;
    c->parent = xstrdup(parent);
    c->jobs = jobs;
    c->cb = cb;
    c->data = data;
    r = list_page(c, NULL);
    if (r < 0) {
        free(c->parent);
        free(c);
    }
    return r;
}

/* ---- service accounts ---- */

struct sa_call {
    char *email;
    gapi_sa_cb *cb;
    void *data;
};

static void sa_done(struct gcp_req *req, int err, long status, const struct buf *body, void *data)
{
    struct sa_call *c = data;
    struct gres_sa sa = {0};
    struct err_detail ed = {0};
    struct call fake = {.resource = c->email, .verb = "read service account"};
    char *msg = NULL;

    if (err == 0) {
        err = gres_sa_decode(body->p != NULL ? body->p : "", body->len, &sa, &ed);
        if (err < 0)
            msg = xasprintf("cannot read service account '%s': bad answer: %s", c->email,
                            ed.msg != NULL ? ed.msg : err_str(err));
    } else {
        msg = failure(req, &fake, err);
    }
    c->cb(c->data, err, status, msg, err == 0 ? &sa : NULL);
    gres_sa_release(&sa);
    err_detail_release(&ed);
    free(msg);
    free(c->email);
    free(c);
}

int gapi_get_service_account(struct gapi *g, const char *email, gapi_sa_cb *cb, void *data)
{
    char *url = gres_service_account_url(&g->ep, email);
    struct gcp_req *req;
    struct sa_call *c;
    int r;

    if (url == NULL)
        return ERR_INVAL;
    req = gcp_req_new("iam", "GET", url, GCP_REQ_IDEMPOTENT);
    free(url);
    c = xcalloc(1, sizeof(*c));
    c->email = xstrdup(email);
    c->cb = cb;
    c->data = data;
    r = gcp_http_submit(g->http, req, sa_done, c);
    if (r < 0) {
        gcp_req_free(req);
        free(c->email);
        free(c);
    }
    return r;
}
