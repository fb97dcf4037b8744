/*
 * ledger_gs.h - the ledger in Cloud Storage (`--state gs://bucket/prefix`).
 *
 * One object per app, `PREFIX/APP.json`, holding exactly what
 * ledger_app_encode() gives (plan.h).  Every write is conditional on the
 * object's generation (ifGenerationMatch; 0 = "must not exist"), so two
 * writers of one app's record cannot silently overwrite each other:
 *
 *   - load lists PREFIX (direct children named `APP.json`, APP a safe app
 *     name: lowercase letters, digits, '-' and '.'; other objects are not
 *     records and are ignored), downloads each at its listed generation and
 *     remembers that generation per app.  Any failure fails the load (a
 *     ledger not fully known must not decide removals).
 *   - put writes the record with ifGenerationMatch = the remembered
 *     generation (0 when the app has none).  On 412 (or 304) it re-reads the
 *     object and writes the union of the two records (ledger_app_union:
 *     every binding of either, this writer's entry for a key both hold, this
 *     writer's revision) with ifGenerationMatch = the generation just read;
 *     if the object vanished meanwhile, this writer's record with
 *     ifGenerationMatch=0.  No owned binding another writer recorded is
 *     lost.  The first re-read is immediate; further conflicts back off
 *     (full jitter, backoff.h) within a budget, after which the put fails
 *     with ERR_CONFLICT.
 *   - delete removes the object with ifGenerationMatch = the remembered
 *     generation (a missing object is success).  On 412 it re-reads: an
 *     object that now holds owned bindings (another writer recorded some)
 *     is kept, and the delete fails with ERR_CONFLICT naming how many; an
 *     object without owned bindings is deleted at its new generation.  With
 *     no remembered generation the delete starts with that re-read.
 *
 * Writes are retried by the transport (storage.h: conditional writes are
 * idempotent); a write whose answer was lost and that is resent meets 412
 * and resolves as a race with itself (the union of a record with itself).
 *
 * Lifecycle and threading: everything runs on the loop of the gcp_http
 * client.  Several puts and deletes may run at once for different apps;
 * one app has at most one call in flight (a second is ERR_INVAL), and a
 * load may not overlap a write.  ledger_gs_free() and gcp_http_close() may
 * only be called when no call is in flight (a put or delete may be waiting
 * on a timer between rounds).  Nothing is logged.
 */
#ifndef ROAM_LEDGER_GS_H
#define ROAM_LEDGER_GS_H

#include <stdbool.h>

#include <uv.h>

#include "api/plan/plan.h"
#include "controller/gcp/http.h"
#include "controller/runtime/backoff.h"

struct ledger_gs;

/*
 * A gs:// ledger at url (`gs://bucket[/prefix]`) on client h (borrowed; it
 * and loop must outlive g).  The endpoint comes from the environment
 * (storage.h).  Returns 0 and *ret, or ERR_INVAL with a message in
 * *ret_errmsg (caller frees; may be NULL).
 */
int ledger_gs_new(uv_loop_t *loop, struct gcp_http *h, const char *url, struct ledger_gs **ret,
                  char **ret_errmsg);
/* NULL-safe; no call may be in flight. */
void ledger_gs_free(struct ledger_gs *g);

/* The budget of conflict rounds for puts and deletes (copied).  Default:
 * 100 ms base, 5 s cap, 8 attempts, 60 s. */
void ledger_gs_set_retry(struct ledger_gs *g, const struct backoff_policy *policy);

/* The generation remembered for app's record: > 0 as loaded or written,
 * 0 when the record is not known to exist. */
long long ledger_gs_generation(const struct ledger_gs *g, const char *app);

/*
 * Completion of a load: err 0 and *l every record (apps sorted by name;
 * the callee may take it: struct copy, then ledger_init on the original),
 * or err < 0, l NULL and errmsg naming what failed (`cannot read
 * 'gs://b/.roam/state/payments.json': permission denied (PERMISSION_DENIED)`,
 * `... bad ledger record: bindings[0].owned: missing required field`).  On
 * error the remembered generations stay as they were.
 */
typedef void ledger_gs_load_cb(struct ledger_gs *g, int err, const char *errmsg, struct ledger *l,
                               void *data);
/* The async contract: 0 and exactly one callback later, or an error
 * (ERR_INVAL: a write is in flight) and none. */
int ledger_gs_load(struct ledger_gs *g, ledger_gs_load_cb *cb, void *data);

/*
 * Completion of a put or a delete.  err 0: stored is the record now in the
 * bucket (put: what was written, which includes another writer's bindings
 * when merged is true; delete: NULL).  err < 0: errmsg says why; ERR_CONFLICT
 * when the conflict budget ran out or (delete) another writer's owned
 * bindings kept the record, then stored is that writer's record.  stored is
 * valid during the call only.
 */
typedef void ledger_gs_write_cb(struct ledger_gs *g, int err, const char *errmsg,
                                const struct ledger_app *stored, bool merged, void *data);

/* Writes rec (copied) as its app's record.  ERR_INVAL: not a safe app
 * name, or a call for that app is in flight. */
int ledger_gs_put(struct ledger_gs *g, const struct ledger_app *rec, ledger_gs_write_cb *cb,
                  void *data);
/* Removes app's record (its app was deleted and every prune succeeded). */
int ledger_gs_delete(struct ledger_gs *g, const char *app, ledger_gs_write_cb *cb, void *data);

#endif
