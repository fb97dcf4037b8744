/*
 * ledger_store.h - persistence of the ledger (what roam owns).
 *
 * The ledger is one record per app (plan.h struct ledger_app).  A state URL
 * names where the records live: `file:///dir` or a plain path (one JSON file
 * per app, `<app>.json`).  This file currently reads the file:// store (the
 * offline `roam plan` uses it); writing, and the gs:// store, come with the
 * reconciler.
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

#endif
