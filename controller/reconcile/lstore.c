/*
 * lstore.c - dispatch of ledger calls to the file or gs:// store (see
 * lstore.h).  File calls are wrapped in uv_queue_work; each job owns a copy
 * of what it writes, so the caller's data may change meanwhile.
 */
#include "lstore.h"

#include <stdlib.h>
#include <string.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/reconcile/ledger_gs.h"
#include "controller/reconcile/ledger_store.h"

struct lstore {
    char *url;
    uv_loop_t *loop;
    struct ledger_gs *gs; /* NULL: file store */
};

struct job {
    uv_work_t work;
    struct lstore *s;
    enum { JOB_LOAD, JOB_PUT, JOB_DELETE } kind;
    struct ledger_app rec;
    char *app;
    struct ledger ledger;
    struct err_list errs;
    int rc;
    lstore_load_cb *load_cb;
    lstore_done_cb *done_cb;
    void *data;
};

int lstore_open(const char *url, uv_loop_t *loop, struct gcp_http *http, struct lstore **ret,
                char **ret_errmsg)
{
    struct lstore *s = xcalloc(1, sizeof(*s));

    s->url = xstrdup(url);
    s->loop = loop;
    if (str_has_prefix(url, "gs://")) {
        if (http == NULL || ledger_gs_new(loop, http, url, &s->gs, ret_errmsg) < 0) {
            if (http == NULL)
                *ret_errmsg = xasprintf("state '%s': a bucket needs the HTTP client", url);
            free(s->url);
            free(s);
            return ERR_INVAL;
        }
    } else if (strstr(url, "://") != NULL && !str_has_prefix(url, "file://")) {
        *ret_errmsg = xasprintf("state '%s': unknown scheme (file:///dir, a path, or gs://)", url);
        free(s->url);
        free(s);
        return ERR_INVAL;
    }
    *ret = s;
    return 0;
}

void lstore_close(struct lstore *s)
{
    if (s == NULL)
        return;
    ledger_gs_free(s->gs);
    free(s->url);
    free(s);
}

const char *lstore_url(const struct lstore *s)
{
    return s->url;
}

/* ---- file store, on the thread pool ---- */

static void job_run(uv_work_t *w)
{
    struct job *j = w->data;

    switch (j->kind) {
    case JOB_LOAD:
        j->rc = ledger_store_load(j->s->url, &j->ledger, &j->errs);
        break;
    case JOB_PUT:
        j->rc = ledger_store_put(j->s->url, &j->rec, &j->errs);
        break;
    case JOB_DELETE:
        j->rc = ledger_store_delete(j->s->url, j->app, &j->errs);
        break;
    }
}

static void job_after(uv_work_t *w, int status)
{
    struct job *j = w->data;
    char *msg = NULL;
    int rc = status < 0 && j->rc == 0 ? ERR_CANCELLED : j->rc;

    if (rc < 0)
        msg = j->errs.n > 0 ? err_detail_format(&j->errs.v[0]) : xstrdup(err_str(rc));
    if (j->kind == JOB_LOAD)
        j->load_cb(j->s, rc, msg, rc == 0 ? &j->ledger : NULL, j->data);
    else
        j->done_cb(j->s, rc, msg, j->data);
    free(msg);
    ledger_release(&j->ledger);
    ledger_app_release(&j->rec);
    err_list_release(&j->errs);
    free(j->app);
    free(j);
}

static int job_start(struct lstore *s, struct job *j)
{
    j->s = s;
    j->work.data = j;
    err_list_init(&j->errs);
    if (uv_queue_work(s->loop, &j->work, job_run, job_after) < 0) {
        ledger_release(&j->ledger);
        ledger_app_release(&j->rec);
        err_list_release(&j->errs);
        free(j->app);
        free(j);
        return ERR_IO;
    }
    return 0;
}

/* ---- gs:// store ---- */

struct gs_call {
    struct lstore *s;
    lstore_load_cb *load_cb;
    lstore_done_cb *done_cb;
    void *data;
};

static void gs_loaded(struct ledger_gs *g, int err, const char *errmsg, struct ledger *l,
                      void *data)
{
    struct gs_call *c = data;

    (void)g;
    c->load_cb(c->s, err, errmsg, l, c->data);
    free(c);
}

static void gs_written(struct ledger_gs *g, int err, const char *errmsg,
                       const struct ledger_app *stored, bool merged, void *data)
{
    struct gs_call *c = data;

    (void)g;
    (void)stored;
    (void)merged;
    c->done_cb(c->s, err, errmsg, c->data);
    free(c);
}

static struct gs_call *gs_call_new(struct lstore *s, lstore_load_cb *lcb, lstore_done_cb *dcb,
                                   void *data)
{
    struct gs_call *c = xcalloc(1, sizeof(*c));

    c->s = s;
    c->load_cb = lcb;
    c->done_cb = dcb;
    c->data = data;
    return c;
}

/* ---- public ---- */

int lstore_load(struct lstore *s, lstore_load_cb *cb, void *data)
{
    struct job *j;

    if (s->gs != NULL) {
        struct gs_call *c = gs_call_new(s, cb, NULL, data);
        int r = ledger_gs_load(s->gs, gs_loaded, c);
        if (r < 0)
            free(c);
        return r;
    }
    j = xcalloc(1, sizeof(*j));
    j->kind = JOB_LOAD;
    j->load_cb = cb;
    j->data = data;
    ledger_init(&j->ledger);
    return job_start(s, j);
}

int lstore_put(struct lstore *s, const struct ledger_app *rec, lstore_done_cb *cb, void *data)
{
    struct job *j;

    if (s->gs != NULL) {
        struct gs_call *c = gs_call_new(s, NULL, cb, data);
        int r = ledger_gs_put(s->gs, rec, gs_written, c);
        if (r < 0)
            free(c);
        return r;
    }
    j = xcalloc(1, sizeof(*j));
    j->kind = JOB_PUT;
    j->done_cb = cb;
    j->data = data;
    ledger_init(&j->ledger);
    ledger_app_copy(&j->rec, rec);
    return job_start(s, j);
}

int lstore_delete(struct lstore *s, const char *app, lstore_done_cb *cb, void *data)
{
    struct job *j;

    if (s->gs != NULL) {
        struct gs_call *c = gs_call_new(s, NULL, cb, data);
        int r = ledger_gs_delete(s->gs, app, gs_written, c);
        if (r < 0)
            free(c);
        return r;
    }
    j = xcalloc(1, sizeof(*j));
    j->kind = JOB_DELETE;
    j->done_cb = cb;
    j->data = data;
    ledger_init(&j->ledger);
    j->app = xstrdup(app);
    return job_start(s, j);
}
