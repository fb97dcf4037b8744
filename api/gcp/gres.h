/*
 * gres.h - Cloud Run and IAM resources as the APIs name and return them.
 *
 * Pure helpers for the clients: which URL and method read or write a
 * resource's IAM policy (the three shapes differ: CONTRACTS.md §11.3),
 * request bodies, and decoders for the service / job / list responses.
 * Everything is bytes in, structs out; jansson stays inside gres.c.
 *
 * Paths use discovery "reserved expansion" ({+name}): the slashes of a
 * resource name are kept, and every other character outside the unreserved
 * set is percent-encoded (an e-mail's '@' is allowed in a path segment and
 * kept, as Google's clients do).
 */
#ifndef ROAM_GRES_H
#define ROAM_GRES_H

#include <stdbool.h>
#include <stddef.h>

#include "api/common/err.h"

/* API base URLs, each ending with '/', e.g. "https://run.googleapis.com/". */
struct gres_endpoints {
    const char *run;
    const char *iam;
};

#define GRES_RUN_DEFAULT "https://run.googleapis.com/"
#define GRES_IAM_DEFAULT "https://iam.googleapis.com/"

/* Normalises a base URL from the environment: adds the trailing '/'.
 * Returns a new string the caller frees. */
char *gres_base_url(const char *url);

/* The API a resource belongs to: "run" for services and jobs, "iam" for
 * service accounts, NULL when the name has none of the three shapes. */
const char *gres_api(const char *resource);

/*
 * The request that reads a resource's IAM policy at version 3:
 *   services/jobs:     GET  {run}v2/{+resource}:getIamPolicy?options.requestedPolicyVersion=3
 *   service accounts:  POST {iam}v1/{+resource}:getIamPolicy?options.requestedPolicyVersion=3
 *                      (empty body)
 * *ret_method is a static string; the URL is a new string.  NULL for an
 * unknown resource shape.
 */
char *gres_get_policy_url(const struct gres_endpoints *ep, const char *resource,
                          const char **ret_method);
/* POST {run}v2/{+resource}:setIamPolicy or {iam}v1/{+resource}:setIamPolicy. */
char *gres_set_policy_url(const struct gres_endpoints *ep, const char *resource);
/* GET {run}v2/{+resource} (services and jobs only; NULL otherwise). */
char *gres_get_url(const struct gres_endpoints *ep, const char *resource);
/* PATCH {run}v2/{+resource}?updateMask=template.serviceAccount (services) or
 * template.template.serviceAccount (jobs). */
char *gres_patch_identity_url(const struct gres_endpoints *ep, const char *resource);

/* {"policy": <policy_json>} — the setIamPolicy body (the server's default
 * updateMask, "bindings,etag", leaves auditConfigs alone). */
char *gres_set_policy_body(const char *policy_json);
/* The PATCH body that sets the service account of a service or job. */
char *gres_identity_body(const char *resource, const char *service_account);

/* What roam reads of a Cloud Run service or job. */
struct gres_run {
    char *name;
    char *service_account; /* template.serviceAccount (jobs:
                            * template.template.serviceAccount); NULL: default */
};

void gres_run_release(struct gres_run *r);
/*
 * Decodes a GoogleCloudRunV2Service (job == false) or GoogleCloudRunV2Job.
 * Unknown fields are ignored; wrong types are ERR_PARSE with a path in *err
 * (may be NULL).  *ret is initialised by the call.
 */
int gres_run_decode(const char *json, size_t len, bool job, struct gres_run *ret,
                    struct err_detail *err);

/* ---- listing Cloud Run services and jobs (paginated) ---- */

/*
 * GET {run}v2/{parent}/services?pageSize=N[&pageToken=T] (jobs: /jobs).
 * parent is `projects/P/locations/R` (one real region: `-` is refused by the
 * API for services).  page_token may be NULL.  NULL when parent is not of
 * that shape.
 */
char *gres_list_url(const struct gres_endpoints *ep, const char *parent, bool jobs,
                    unsigned page_size, const char *page_token);

/*
 * Decodes a ListServicesResponse / ListJobsResponse: appends each item's
 * `name` to (*names, *n) (owned strings; the array grows with XGROW
 * semantics, capacity in *cap) and sets *ret_next to a new string with
 * `nextPageToken`, or NULL on the last page.  `services`/`jobs` may be
 * absent.  Wrong types are ERR_PARSE with a path in *err.
 */
int gres_list_decode(const char *json, size_t len, bool jobs, char ***names, size_t *n, size_t *cap,
                     char **ret_next, struct err_detail *err);

/* ---- IAM service accounts ---- */

/* GET {iam}v1/projects/P/serviceAccounts/EMAIL, P from the e-mail
 * (NAME@P.iam.gserviceaccount.com), else `-`. */
char *gres_service_account_url(const struct gres_endpoints *ep, const char *email);

struct gres_sa {
    char *name;
    char *email;
    char *unique_id;
    bool disabled;
};

void gres_sa_release(struct gres_sa *sa);
int gres_sa_decode(const char *json, size_t len, struct gres_sa *ret, struct err_detail *err);

#endif
