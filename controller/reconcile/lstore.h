/*
 * lstore.h - the ledger store, whatever its kind, asynchronously.
 *
 *   file:///dir or a path   one JSON record per app (ledger_store.c); the
 *                           blocking file work (fsync, rename, flock) runs on
 *                           the libuv thread pool
 *   gs://bucket/prefix      one object per app written with ifGenerationMatch;
 *                           a lost race re-reads and merges (ledger_gs.c)
 *
 * Every call follows the libuv contract: an error and no callback, or 0 and
 * exactly one callback later, from the loop.  Calls for one app must not
 * overlap (the reconciler writes an app's intent, then its confirmation).
 */
#ifndef ROAM_LSTORE_H
#define ROAM_LSTORE_H

#include <uv.h>

#include "api/plan/plan.h"

struct gcp_http;
struct lstore;

int lstore_open(const char *url, uv_loop_t *loop, struct gcp_http *http, struct lstore **ret,
                char **ret_errmsg);
/* No call may be in flight. */
void lstore_close(struct lstore *s);
const char *lstore_url(const struct lstore *s);

/* err 0 and every record (the callee may take *l: struct copy then
 * ledger_init), or err < 0 with a message naming what failed. */
typedef void lstore_load_cb(struct lstore *s, int err, const char *errmsg, struct ledger *l,
                            void *data);
int lstore_load(struct lstore *s, lstore_load_cb *cb, void *data);

typedef void lstore_done_cb(struct lstore *s, int err, const char *errmsg, void *data);
/* Writes one app's record (copied). */
int lstore_put(struct lstore *s, const struct ledger_app *rec, lstore_done_cb *cb, void *data);
/* Removes one app's record; a missing record is fine. */
int lstore_delete(struct lstore *s, const char *app, lstore_done_cb *cb, void *data);

#endif
