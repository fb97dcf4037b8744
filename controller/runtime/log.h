/*
 * log.h - the log API (OpenBSD log.c): log_info, log_warnx, log_warn (adds
 * errno text), log_debug, fatal, fatalx; plus structured events
 * (log_event) and the audit line of every IAM write (log_audit).
 *
 * Two formats.  Text, for people, on stderr: `roam: warning: message
 * key="value" n=3`.  JSON, for Cloud Logging, on stdout: one object per
 * line (CONTRACTS.md §8.3) with `severity`, `message`, `time` (RFC 3339,
 * UTC, milliseconds), `logging.googleapis.com/labels` when labels are set,
 * `logging.googleapis.com/sourceLocation` for LOG_EVENT, then the event's
 * fields as top-level keys (strings, integers, booleans).  Fields whose key
 * starts with `logging.googleapis.com/` (LOG_KEY_TRACE, LOG_KEY_SPAN) pass
 * through, so Cloud Logging moves them into the LogEntry.  A field named
 * severity, message or time is written as `field.<key>` so that it cannot
 * replace the entry's own.
 *
 * Secrets: messages never carry tokens or keys (callers pass none, and
 * nothing here formats them).  As a second line of defence, the value of
 * any field or label whose key contains token, authorization, secret,
 * private_key, privatekey, password, passwd, credential, api_key, apikey
 * or cookie (case-insensitive) is written as "[REDACTED]".
 *
 * Output goes to a sink: by default stdout for JSON and stderr for text;
 * log_set_sink() picks a FILE, log_set_sink_fn() a callback (tests).  Each
 * line is written with one call and flushed, so lines from one process do
 * not interleave.  The configuration (format, sink, labels, clock) is
 * process-wide and set at startup from the loop thread; the log functions
 * themselves may be called from any thread once it is set.
 */
#ifndef ROAM_LOG_H
#define ROAM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct clock;

enum log_format { LOG_TEXT, LOG_JSON };

/* Cloud Logging severities (a subset). */
enum log_severity {
    LOG_SEV_DEBUG,
    LOG_SEV_INFO,
    LOG_SEV_NOTICE,
    LOG_SEV_WARNING,
    LOG_SEV_ERROR,
    LOG_SEV_CRITICAL,
    LOG_SEV_MAX
};

/* Sets the format and verbosity (log_debug and LOG_SEV_DEBUG events print
 * from -vv).  Leaves sink, labels and clock alone. */
void log_init(enum log_format fmt, int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup only: log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- structured events ---- */

enum log_field_type { LOG_FIELD_STR, LOG_FIELD_INT, LOG_FIELD_BOOL };

/* One key/value pair; strings are borrowed for the call.  A NULL string is
 * written as JSON null and left out of text lines. */
struct log_field {
    const char *key;
    const char *s; /* LOG_FIELD_STR */
    long long i;   /* LOG_FIELD_INT */
    enum log_field_type type;
    bool b; /* LOG_FIELD_BOOL */
};

/* Initialisers: const struct log_field f[] = {LOG_STR("app", name), ...}; */
#define LOG_STR(k, v)                                                                              \
    {                                                                                              \
        .key = (k), .s = (v), .type = LOG_FIELD_STR                                                \
    }
#define LOG_INT(k, v)                                                                              \
    {                                                                                              \
        .key = (k), .i = (long long)(v), .type = LOG_FIELD_INT                                     \
    }
#define LOG_BOOL(k, v)                                                                             \
    {                                                                                              \
        .key = (k), .type = LOG_FIELD_BOOL, .b = (v)                                               \
    }

#define LOG_KEY_TRACE "logging.googleapis.com/trace" /* projects/P/traces/ID */
#define LOG_KEY_SPAN "logging.googleapis.com/spanId"

/*
 * Writes one event: message (a plain string, not a format) and n fields.
 * DEBUG events print only from -vv.
 */
void log_event(enum log_severity sev, const char *message, const struct log_field *fields,
               size_t n);
/* The same with a source location (file, line, function) for JSON lines;
 * file may be NULL (no location).  Use LOG_EVENT. */
void log_event_at(const char *file, int line, const char *func, enum log_severity sev,
                  const char *message, const struct log_field *fields, size_t n);
#define LOG_EVENT(sev, msg, fields, n)                                                             \
    log_event_at(__FILE__, __LINE__, __func__, sev, msg, fields, n)

/*
 * The audit line of one IAM change (DESIGN §5): every write logs app,
 * resource, role, member, action, revision and the etags before and after.
 * All strings borrowed; NULL ones are written as null (JSON) or left out
 * (text).  error NULL: the write succeeded (NOTICE); else it failed
 * (WARNING) and error says why.  The line carries `audit: true`.
 */
struct log_audit {
    const char *app;
    const char *resource; /* projects/p/locations/r/services/s, projects/p/serviceAccounts/e */
    const char *role;
    const char *member;
    const char *condition; /* title or expression of the binding's condition, or NULL */
    const char *action;    /* "add", "remove", "set-identity" */
    const char *revision;  /* source revision that declared it */
    const char *etag_before;
    const char *etag_after;
    const char *error;
};
void log_audit(const struct log_audit *a);

/* ---- configuration ---- */

/* Where lines go: f, or NULL for the format's default (JSON: stdout, text:
 * stderr).  Clears a callback sink. */
void log_set_sink(FILE *f);
/* Lines go to fn(data, line, len) instead: line is NUL-terminated, without
 * the newline, valid during the call.  NULL fn: back to the FILE sink. */
typedef void log_sink_fn(void *data, const char *line, size_t len);
void log_set_sink_fn(log_sink_fn *fn, void *data);

/* Adds (or replaces) a label sent with every JSON line as
 * `logging.googleapis.com/labels`; value NULL removes it.  Copied. */
void log_set_label(const char *key, const char *value);
/* Removes every label. */
void log_clear_labels(void);

/* The clock for `time` (NULL: the system clock, with milliseconds; a fake
 * clock gives whole seconds, written as .000).  Borrowed. */
void log_set_clock(const struct clock *c);

/* Whether a field with this key would be redacted (exposed for tests). */
bool log_key_is_secret(const char *key);

#endif
