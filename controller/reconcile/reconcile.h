/*
 * reconcile.h - one pass: read live state, decide, write the corrections.
 *
 *   1. read set: every resource an accepted app declares or the ledger
 *      holds (plan_read_set), one getIamPolicy each at version 3, all in
 *      parallel (the transport caps concurrency and rate); a Cloud Run
 *      service or job with a service-identity trait is also read once;
 *   2. decide: plan_build() over the documents, the live policies and the
 *      ledger: the same code as the offline plan;
 *   3. write (apply only): per changed resource, read-modify-write under the
 *      etag just read, `version: 3` when a condition is present; on 409
 *      ABORTED re-read, re-apply the resource's planned changes to the fresh
 *      policy and retry with jittered backoff within a budget; no
 *      verification reads.  A failure on one resource fails the apps that
 *      had changes there and nothing else;
 *   3a. before writing, every app about to change IAM records its intent: a
 *      ledger record owning both what it owned and what it is granting, so
 *      a crash between the IAM write and the ledger write loses nothing;
 *   4. record: every app whose writes all succeeded gets the plan's ledger
 *      record; an app with a failed write keeps its old record except for
 *      the resources written successfully, so ownership of what was written
 *      is never lost.
 *
 * Everything runs on one libuv loop; rec_run() returns at once and calls
 * the completion callback exactly once, from the loop.
 */
#ifndef ROAM_RECONCILE_H
#define ROAM_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "api/plan/plan.h"
#include "controller/gcp/gapi.h"

struct rec;

/* What a pass did, for logs, the summary and tests. */
struct rec_stats {
    unsigned policy_reads;  /* getIamPolicy calls, 409 re-reads included */
    unsigned run_reads;     /* services.get / jobs.get */
    unsigned policy_writes; /* setIamPolicy calls (each attempt) */
    unsigned conflicts;     /* 409 ABORTED answers */
    unsigned identity_writes;
    unsigned resources_written;
    unsigned resources_failed;
    unsigned ledger_writes;
};

typedef void rec_done_cb(struct rec *r, void *data);

struct lstore;

struct rec_opts {
    bool write;                    /* apply: write the corrections; false: plan only */
    struct lstore *store;          /* the ledger, for writes; borrowed */
    const char *only_resource;     /* a targeted pass (a push about one resource): read
                                    * and correct only it; NULL: everything */
    unsigned max_conflict_retries; /* 409 rounds per resource; 0 means 5 */
    uint64_t conflict_base_ms;     /* first backoff ceiling; 0 means 200 */
};

/*
 * Starts a pass.  req (and everything it points to) and api are borrowed
 * and must outlive the completion callback; req->live is ignored (the pass
 * reads its own).  Returns 0 and calls cb exactly once, or an error and
 * never calls it.
 */
int rec_run(uv_loop_t *loop, struct gapi *api, const struct plan_request *req,
            const struct rec_opts *opts, rec_done_cb *cb, void *data, struct rec **ret);

/* After completion: the plan, with only the changes that were written when
 * opts->write (apply), or every planned change (plan).  Valid until rec_free. */
struct plan *rec_plan(struct rec *r);
const struct rec_stats *rec_stats(const struct rec *r);
/* Problems outside any app (ledger writes). */
const struct err_list *rec_errors(const struct rec *r);
/* The ledger records the pass wrote (with each app's status), as written;
 * deleted records are absent.  Valid until rec_free. */
const struct ledger *rec_records(const struct rec *r);
void rec_free(struct rec *r);

#endif
