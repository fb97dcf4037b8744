/*
 * gfx.c - loop + client fixture for the gcp tests (see gfx.h).
 */
#include "gfx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/xalloc.h"

uint64_t gfx_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    fail_msg("the loop ran longer than %d ms", GFX_WATCHDOG_MS);
}

int gfx_open(struct gfx *f, const struct gcp_http_config *cfg, bool with_auth,
             const struct gcp_auth_config *acfg, char **ret_errmsg)
{
    char *msg = NULL;

    memset(f, 0, sizeof(*f));
    if (uv_loop_init(&f->loop) != 0)
        return -1;
    if (gcp_http_new(&f->loop, cfg, &f->h) != 0) {
        uv_loop_close(&f->loop);
        return -1;
    }
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_start(&f->watchdog, on_watchdog, GFX_WATCHDOG_MS, 0);
    uv_unref((uv_handle_t *)&f->watchdog);
    if (with_auth) {
        if (gcp_auth_new(f->h, acfg, &f->a, &msg) != 0) {
            if (ret_errmsg != NULL)
                *ret_errmsg = msg;
            else
                free(msg);
            gfx_close(f);
            return -1;
        }
        gcp_http_set_auth(f->h, f->a);
    }
    return 0;
}

void gfx_run(struct gfx *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void on_closed(struct gcp_http *h, void *data)
{
    struct gfx *f = data;

    (void)h;
    f->closed = true;
}

int gfx_close(struct gfx *f)
{
    gcp_http_close(f->h, on_closed, f);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->closed);
    gcp_auth_free(f->a);
    f->a = NULL;
    f->h = NULL;
    return uv_loop_close(&f->loop);
}

static void on_done(struct gcp_req *req, int err, long status, const struct buf *body, void *data)
{
    struct gfx_result *r = data;
    const char *msg = gcp_req_errmsg(req);

    r->calls++;
    r->err = err;
    r->status = status;
    free(r->body);
    r->body = xstrdup(buf_str(body));
    free(r->errmsg);
    r->errmsg = msg != NULL ? xstrdup(msg) : NULL;
    r->attempts = gcp_req_attempts(req);
    r->done_ms = gfx_now_ms();
    if (r->then != NULL)
        r->then(r);
}

int gfx_submit(struct gfx *f, struct gcp_req *req, struct gfx_result *res)
{
    res->fx = f;
    return gcp_http_submit(f->h, req, on_done, res);
}

int gfx_request(struct gfx *f, const char *api, const char *method, const char *url, unsigned flags,
                struct gfx_result *res)
{
    struct gcp_req *req = gcp_req_new(api, method, url, flags);
    int err;

    if (strcmp(method, "GET") != 0)
        gcp_req_set_body(req, "application/json", "{}", 2);
    err = gfx_submit(f, req, res);
    if (err < 0)
        gcp_req_free(req);
    return err;
}

void gfx_result_release(struct gfx_result *r)
{
    free(r->body);
    free(r->errmsg);
    r->body = NULL;
    r->errmsg = NULL;
}
