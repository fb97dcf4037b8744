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
