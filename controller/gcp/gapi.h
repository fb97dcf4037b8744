/*
 * gapi.h - the Cloud Run Admin API v2 and IAM API v1 calls roam makes.
 *
 * Read a resource's IAM policy at version 3 (Cloud Run: GET + query;
 * service accounts: POST + the same query and an empty body), write it back
 * with the etag just read, read a service or job (its service account), and
 * set that service account.  URLs and bodies come from api/gcp/gres.h,
 * transport and retries from http.h; this file only glues them and decodes.
 *
 * Reads are idempotent and retried by the transport.  setIamPolicy carries
 * the etag, so it is idempotent too (a resend after a lost answer either
 * succeeds or meets 409 ABORTED), and is flagged so.  A 409 is returned to
 * the caller, which must re-read and recompute (CONTRACTS.md §1.2).
 *
 * Endpoints: ROAM_RUN_ENDPOINT and ROAM_IAM_ENDPOINT (base URLs, with or
 * without a trailing slash) override Google's hosts, for local emulators.
 */
#ifndef ROAM_GAPI_H
#define ROAM_GAPI_H

#include "api/gcp/gres.h"
#include "api/iam/iam.h"
#include "controller/gcp/http.h"

struct gapi {
    struct gcp_http *http;    /* borrowed */
    struct gres_endpoints ep; /* strings owned */
};

/* Endpoints from the environment or Google's defaults.  Cannot fail. */
void gapi_init(struct gapi *g, struct gcp_http *http);
void gapi_release(struct gapi *g);

/*
 * Completion of a policy call: err 0 and *policy filled, or err < 0 and
 * errmsg a one-line message (`cannot get IAM policy for 'R': permission
 * denied (PERMISSION_DENIED)`); ERR_NOTFOUND when the resource does not
 * exist, ERR_CONFLICT for 409 ABORTED on a write.  policy is valid during
 * the call; the callee may take it (struct copy, then iam_policy_init on the
 * original).  status is the HTTP status (0 when none).
 */
typedef void gapi_policy_cb(void *data, int err, long status, const char *errmsg,
                            struct iam_policy *policy);
typedef void gapi_run_cb(void *data, int err, long status, const char *errmsg,
                         struct gres_run *run);

/* The async contract: 0 and exactly one callback later, or an error and
 * none. */
int gapi_get_policy(struct gapi *g, const char *resource, gapi_policy_cb *cb, void *data);
/* Writes p (which must carry the etag read) to resource. */
int gapi_set_policy(struct gapi *g, const char *resource, const struct iam_policy *p,
                    gapi_policy_cb *cb, void *data);
int gapi_get_run(struct gapi *g, const char *resource, gapi_run_cb *cb, void *data);
/* Sets template.serviceAccount (jobs: template.template.serviceAccount);
 * the callback's run is NULL (the answer is a long-running operation). */
int gapi_set_identity(struct gapi *g, const char *resource, const char *service_account,
                      gapi_run_cb *cb, void *data);

/*
 * Lists every service (jobs: every job) of parent `projects/P/locations/R`,
 * following nextPageToken with the same parameters until the last page.
 * The callback gets the full names (owned by the call; valid during it).
 */
typedef void gapi_list_cb(void *data, int err, const char *errmsg, char **names, size_t n);
int gapi_list(struct gapi *g, const char *parent, bool jobs, gapi_list_cb *cb, void *data);

/* Reads an IAM service account (does it exist, is it disabled). */
typedef void gapi_sa_cb(void *data, int err, long status, const char *errmsg, struct gres_sa *sa);
int gapi_get_service_account(struct gapi *g, const char *email, gapi_sa_cb *cb, void *data);

#endif
