/*
 * caps.h - every cap on untrusted input, in one place (relayd RELAY_MAX*,
 * Redis PROTO_*).  Passing one gives ERR_LIMIT, a 4xx or a failed status,
 * never a crash.  (Named caps.h rather than limits.h so as not to shadow the
 * system header.)
 */
#ifndef ROAM_CAPS_H
#define ROAM_CAPS_H

/* Documents. */
#define CAP_MANIFEST_BYTES (1024u * 1024u)   /* one source file */
#define CAP_YAML_DEPTH 64u                   /* nesting of mappings/sequences */
#define CAP_YAML_NODES 100000u               /* nodes in one file, aliases expanded */
#define CAP_YAML_ALIAS_EXPANSION 10000u      /* nodes reachable through aliases, per file */
#define CAP_YAML_ALIAS_BYTES (1024u * 1024u) /* scalar bytes reachable through aliases */
#define CAP_YAML_SCALAR_BYTES (64u * 1024u)  /* one scalar */
#define CAP_DOCS_PER_FILE 1000u
#define CAP_COMPONENTS_PER_APP 1000u
#define CAP_TRAITS_PER_COMPONENT 64u
#define CAP_POLICIES_PER_APP 256u
#define CAP_BINDINGS_PER_TRAIT 256u
#define CAP_RULES_PER_POLICY 256u     /* rules[] of a lifecycle policy */
#define CAP_ERRORS_PER_APP 1000u      /* problems listed per app (or config) */
#define CAP_MEMBERS_PER_BINDING 1500u /* IAM: 1,500 principals per policy */
#define CAP_SOURCE_FILES 10000u
#define CAP_SOURCE_BYTES (64u * 1024u * 1024u)
#define CAP_GIT_TREE_ENTRIES 1000000u     /* tree entries walked in a git source, any kind */
#define CAP_GIT_FETCH_BYTES (4ull << 30)  /* bytes received by one git fetch */
#define CAP_NAME_BYTES 1024u              /* names, roles, members */
#define CAP_CONDITION_BYTES (16u * 1024u) /* an IAM condition's expression (and title...) */

/* IAM policies and other JSON from Google. */
#define CAP_POLICY_JSON_BYTES (1024u * 1024u)
#define CAP_POLICY_BINDINGS 1500u
#define CAP_LIVE_STATE_BYTES (256u * 1024u * 1024u)
#define CAP_CONFIG_BYTES (1024u * 1024u)

/* HTTP exchanges with Google (controller/gcp). */
#define CAP_RESPONSE_BYTES (8ul * 1024ul * 1024ul) /* one response body */
#define CAP_ERROR_MESSAGE_BYTES 512u               /* server error text kept for messages */
#define CAP_CREDENTIALS_BYTES (64ul * 1024ul)      /* one credential (key) file */
#define CAP_TOKEN_BYTES 4096u                      /* one access token */
#define CAP_STORAGE_LIST_PAGES 1000u               /* pages (of <= 1,000) of one listing */

/* State. */
#define CAP_LEDGER_BYTES (64u * 1024u * 1024u) /* one ledger object (all apps) */
#define CAP_LEDGER_APPS 100000u                /* app records in a gs:// ledger */

/* Inbound HTTP (controller/httpd): one request. */
#define CAP_HTTP_HEADER_BYTES (16ul * 1024ul) /* request line and header fields */
#define CAP_HTTP_HEADERS 100ul                /* header fields per request */
#define CAP_HTTP_URL_BYTES (8ul * 1024ul)     /* request target */
#define CAP_HTTP_BODY_BYTES (1024ul * 1024ul) /* default body cap (Pub/Sub allows 10 MB) */
#define CAP_HTTP_CONNECTIONS 256u             /* default open connections */

/* Push messages, tokens and metrics (api/push, controller/httpd). */
#define CAP_PUSH_ATTRIBUTES 100u        /* Pub/Sub allows 100 attributes */
#define CAP_JWT_BYTES (16ul * 1024ul)   /* one bearer token */
#define CAP_JWKS_BYTES (256ul * 1024ul) /* the signing key set */
#define CAP_JWKS_KEYS 64u               /* keys in the set */
#define CAP_METRIC_SERIES 10000u        /* label sets per metric; more are dropped */

/* Sharding (controller/runtime/shard): --shard I/N, CLOUD_RUN_TASK_COUNT. */
#define CAP_SHARD_COUNT 10000u /* Cloud Run runs at most 10,000 tasks per job */

#endif
