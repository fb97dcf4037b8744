/*
 * gfx.h - a libuv loop with a gcp_http client (and optionally gcp_auth) for
 * tests that talk to the emulator, and a result record per request.
 *
 * gfx_open() sets up the loop and the client; gfx_run() runs the loop until
 * nothing is left to do (a watchdog fails the test after GFX_WATCHDOG_MS);
 * gfx_close() closes the client, runs the loop dry, frees the auth object
 * and checks that uv_loop_close() succeeds, i.e. that every handle was
 * closed.
 */
#ifndef ROAM_TEST_GFX_H
#define ROAM_TEST_GFX_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "controller/gcp/auth.h"
#include "controller/gcp/http.h"

#define GFX_WATCHDOG_MS 20000

struct gfx {
    uv_loop_t loop;
    struct gcp_http *h;
    struct gcp_auth *a; /* NULL when opened without auth */
    uv_timer_t watchdog;
    bool closed;
};

struct gfx_result;
typedef void gfx_then_fn(struct gfx_result *r);

/* What a request's callback saw; strings owned, freed by gfx_result_release. */
struct gfx_result {
    struct gfx *fx;
    int calls; /* callbacks made: must end at 1 */
    int err;
    long status;
    char *body;
    char *errmsg;
    unsigned attempts;
    uint64_t done_ms;  /* gfx_now_ms() at the callback */
    gfx_then_fn *then; /* optional: runs inside the callback */
    void *data;        /* for then */
};

/* Monotonic milliseconds (uv_hrtime). */
uint64_t gfx_now_ms(void);

/*
 * Opens the loop and a client with cfg (NULL: defaults).  with_auth: also
 * gcp_auth_new(acfg) from the environment; on failure returns -1 with the
 * message in *ret_errmsg (when not NULL) and leaves nothing open.
 */
int gfx_open(struct gfx *f, const struct gcp_http_config *cfg, bool with_auth,
             const struct gcp_auth_config *acfg, char **ret_errmsg);
void gfx_run(struct gfx *f);
/* Closes everything; returns uv_loop_close()'s result (0 = clean). */
int gfx_close(struct gfx *f);

/* Submits req with a callback filling res; returns gcp_http_submit's
 * result. */
int gfx_submit(struct gfx *f, struct gcp_req *req, struct gfx_result *res);
/* A GET (or other body-less method) of base + path. */
int gfx_request(struct gfx *f, const char *api, const char *method, const char *url, unsigned flags,
                struct gfx_result *res);
void gfx_result_release(struct gfx_result *r);

#endif
