/*
 * auth.h - Google access tokens (Application Default Credentials).
 *
 * gcp_auth_new() looks for credentials in the order of Google's libraries
 * (CONTRACTS.md §7.4):
 *
 *   1. GOOGLE_APPLICATION_CREDENTIALS names a JSON file: a `service_account`
 *      key (an RS256-signed JWT is exchanged at the key's token_uri, §7.1) or
 *      an `authorized_user` file (refresh-token grant, §7.2);
 *   2. the gcloud ADC file, $CLOUDSDK_CONFIG/application_default_credentials.json
 *      or ~/.config/gcloud/application_default_credentials.json (same types);
 *   3. the metadata server (§7.3): `http://{host}/computeMetadata/v1/instance/
 *      service-accounts/default/token` with `Metadata-Flavor: Google` sent and
 *      required on the answer; host is GCE_METADATA_HOST (host or host:port),
 *      else GCE_METADATA_ROOT, else metadata.google.internal.
 *
 * ROAM_TOKEN_ENDPOINT, when set, replaces https://oauth2.googleapis.com/token
 * for `authorized_user` credentials (their files carry no token_uri), so
 * tests and local emulators can serve the refresh-token grant.  Service
 * account keys always use their own token_uri.
 *
 * Files are read once, by gcp_auth_new().  Whether the metadata server
 * exists is learnt on the first refresh; if it cannot be reached the error
 * names everything tried: `no credentials: GOOGLE_APPLICATION_CREDENTIALS
 * not set, no gcloud ADC file at '...', metadata server at '...' not
 * reachable`.
 *
 * The token is cached and counts as fresh until less than 3 min 45 s of its
 * life remain (half its life for tokens shorter than 7.5 min), as in
 * Google's libraries.  Refreshes are single-flight: every caller that asks
 * while one is running waits for the same answer.  gcp_http drives this: it
 * asks gcp_auth_token() before each authorised request, calls
 * gcp_auth_refresh() when that returns NULL, and gcp_auth_invalidate() on a
 * 401.  Token requests go through the same gcp_http, flagged
 * GCP_REQ_NO_AUTH | GCP_REQ_IDEMPOTENT | GCP_REQ_SENSITIVE.
 *
 * Secrets (token, key, refresh token, client secret) stay in this module,
 * never enter a message, and are wiped when freed.  Loop thread only.
 */
#ifndef ROAM_GCP_AUTH_H
#define ROAM_GCP_AUTH_H

#include "controller/gcp/http.h"
#include "controller/runtime/backoff.h"
#include "controller/runtime/clock.h"

struct gcp_auth;

enum gcp_auth_source {
    GCP_AUTH_SERVICE_ACCOUNT,
    GCP_AUTH_AUTHORIZED_USER,
    GCP_AUTH_METADATA,
    GCP_AUTH_SOURCE_MAX
};

struct gcp_auth_config {
    const struct clock *clock;          /* expiry and JWT iat; NULL = system; borrowed */
    const struct backoff_policy *retry; /* token requests; NULL = the client's policy
                                         * (metadata: 3 attempts, 100 ms base) */
    long metadata_connect_timeout_ms;   /* 0 means 3 s */
};

/*
 * Finds credentials (see above) and returns 0 and *ret, or ERR_AUTH with a
 * message in *ret_errmsg (the caller frees it) when a credential file is
 * named or present but unreadable or invalid, or GCE_METADATA_HOST is not a
 * host[:port].  h is borrowed and must outlive the object; cfg may be NULL
 * and is copied.  Reads the environment and files; call at startup.
 */
int gcp_auth_new(struct gcp_http *h, const struct gcp_auth_config *cfg, struct gcp_auth **ret,
                 char **ret_errmsg);

/* Frees a; NULL-safe.  No refresh may be running: close the gcp_http (which
 * cancels it) first. */
void gcp_auth_free(struct gcp_auth *a);

enum gcp_auth_source gcp_auth_source(const struct gcp_auth *a);
/* What is used, for a startup log line: `service account 'x@p.iam.gserviceaccount.com'
 * from '/path/key.json'`, `authorized user from '...'`, `metadata server at
 * 'metadata.google.internal'`.  No secrets. */
const char *gcp_auth_describe(const struct gcp_auth *a);
/* project_id of a service-account key, or NULL. */
const char *gcp_auth_project_id(const struct gcp_auth *a);
/* quota_project_id of an authorized_user file (sent as x-goog-user-project),
 * or NULL. */
const char *gcp_auth_quota_project(const struct gcp_auth *a);

/*
 * The cached token if it is fresh, else NULL.  The string is a secret: copy
 * it only into a request header, never into a message.  Valid until the
 * next call into this module.
 */
const char *gcp_auth_token(struct gcp_auth *a);
/* A number that changes whenever the cached token does. */
unsigned gcp_auth_generation(const struct gcp_auth *a);

/*
 * Called exactly once with the outcome of a refresh: 0 (gcp_auth_token() now
 * returns the new token), ERR_AUTH (no credentials, rejected grant, bad
 * answer), ERR_TRANSIENT (the token service failed past the retry budget)
 * or ERR_CANCELLED (the gcp_http closed).  gcp_auth_errmsg() explains
 * failures.
 */
typedef void gcp_auth_cb(struct gcp_auth *a, int err, void *data);

/*
 * Fetches a new token, or joins the fetch already running.  Returns 0 and
 * calls cb exactly once later (never from within this call), or returns an
 * error (the token request could not be built or queued; see
 * gcp_auth_errmsg()) and never calls cb.
 */
int gcp_auth_refresh(struct gcp_auth *a, gcp_auth_cb *cb, void *data);

/* Drops the cached token if it is still the one of `generation` (a 401 came
 * back for it); later callers then refresh.  Concurrent 401s for the same
 * token thus cause one refresh. */
void gcp_auth_invalidate(struct gcp_auth *a, unsigned generation);

/* Why the last refresh failed, or NULL after a success.  No secrets. */
const char *gcp_auth_errmsg(const struct gcp_auth *a);

#endif
