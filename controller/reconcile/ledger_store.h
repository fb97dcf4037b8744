/*
 * ledger_store.h - persistence of the ledger (what roam owns).
 *
 * The ledger is one record per app (plan.h struct ledger_app).  A state URL
 * names where the records live: `file:///dir` or a plain path (one JSON file
 * per app, `<app>.json`).  This file currently reads the file:// store (the
 * offline `roam plan` uses it) and writes it; the gs:// store is not
 * implemented yet.
 */
#ifndef ROAM_LEDGER_STORE_H
#define ROAM_LEDGER_STORE_H

#include "api/common/err.h"
#include "api/plan/plan.h"

/*
 * Loads every `*.json` record under the state URL into *ret (initialised by
 * the call).  A missing directory is an empty ledger.  A record that cannot
 * be read or decoded is an error appended to errs (with its file name) and
 * makes the call return ERR_PARSE: a ledger that is not fully known must not
 * be used to decide removals.
 */
int ledger_store_load(const char *state_url, struct ledger *ret, struct err_list *errs);

/*
 * Writes one app's record (file:// store): encoded to `<dir>/.<app>.json.tmp`,
 * fsync'ed, renamed over `<dir>/<app>.json`, and the directory fsync'ed, so
 * a crash leaves either the old or the new record, never half of one.  The
 * directory is created when missing.  Writers hold an exclusive advisory
 * lock on `<dir>/.lock` for the duration.  Returns 0 or ERR_IO (message in
 * errs).
 */
int ledger_store_put(const char *state_url, const struct ledger_app *rec, struct err_list *errs);

/* Removes an app's record (its app was deleted and every prune succeeded).
 * A missing record is not an error. */
int ledger_store_delete(const char *state_url, const char *app, struct err_list *errs);

#endif
