/*
 * log.c - text or JSON log lines, structured events, audit lines (see
 * log.h).
 *
 * JSON lines are built with jansson (JSON_PRESERVE_ORDER keeps severity,
 * message and time first, which makes raw lines readable) and written with
 * one fwrite; text lines are built in a struct buf.  Strings that are not
 * valid UTF-8 (a file name from a source, say) would make jansson refuse
 * the value, so they are written with every byte >= 0x80 replaced by '?'
 * instead of being lost.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/common/buf.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/runtime/clock.h"

/* Cloud Logging takes entries up to 256 KiB; keep well under it. */
#define LOG_MAX_LINE_BYTES ((size_t)128 * 1024)
#define LOG_MAX_VALUE_BYTES ((size_t)16 * 1024)
#define LOG_REDACTED "[REDACTED]"

static enum log_format log_fmt = LOG_TEXT;
static int log_verbose;
static FILE *log_file;      /* NULL: the format's default */
static log_sink_fn *log_fn; /* when set, wins over log_file */
static void *log_fn_data;
static json_t *log_labels; /* object of strings, or NULL */
static const struct clock *log_clock;

static const char *const sev_names[LOG_SEV_MAX] = {
    "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL",
};

/* Text prefixes, after "roam: ". */
static const char *const sev_tags[LOG_SEV_MAX] = {
    "debug: ", "", "", "warning: ", "error: ", "fatal: ",
};

void log_init(enum log_format fmt, int verbose)
{
    log_fmt = fmt;
    log_verbose = verbose;
}

void log_set_sink(FILE *f)
{
    log_file = f;
    log_fn = NULL;
    log_fn_data = NULL;
}

void log_set_sink_fn(log_sink_fn *fn, void *data)
{
    log_fn = fn;
    log_fn_data = data;
}

void log_set_clock(const struct clock *c)
{
    log_clock = c;
}

bool log_key_is_secret(const char *key)
{
    static const char *const words[] = {
        "token",  "authorization", "secret",  "private_key", "privatekey", "password",
        "passwd", "credential",    "api_key", "apikey",      "cookie",
    };
    char *lower;
    bool hit = false;

    if (key == NULL)
        return false;
    lower = xstrdup(key);
    str_lower(lower);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !hit; i++)
        hit = strstr(lower, words[i]) != NULL;
    free(lower);
    return hit;
}

void log_set_label(const char *key, const char *value)
{
    if (key == NULL)
        return;
    if (value == NULL) {
        if (log_labels != NULL)
            json_object_del(log_labels, key);
        return;
    }
    if (log_labels == NULL)
        log_labels = json_object();
    if (log_key_is_secret(key))
        value = LOG_REDACTED;
    json_object_set_new(log_labels, key, json_string(value));
}

void log_clear_labels(void)
{
    json_decref(log_labels);
    log_labels = NULL;
}

/* ---- output ---- */

static void sink_write(const char *line, size_t len)
{
    FILE *f;

    if (log_fn != NULL) {
        log_fn(log_fn_data, line, len);
        return;
    }
    f = log_file != NULL ? log_file : log_fmt == LOG_JSON ? stdout : stderr;
    /* One write per line (with its newline) keeps lines whole. */
    {
        char *full = xmalloc(len + 1);

        memcpy(full, line, len);
        full[len] = '\n';
        fwrite(full, 1, len + 1, f);
        free(full);
    }
    fflush(f);
}

/* RFC 3339 UTC with milliseconds: 2025-01-02T03:04:05.678Z. */
static void format_time(char out[96])
{
    struct timespec ts;
    struct tm tm;
    time_t secs;
    long ms;

    if (log_clock != NULL) {
        secs = (time_t)clock_wall_s(log_clock);
        ms = 0;
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        secs = ts.tv_sec;
        ms = ts.tv_nsec / 1000000;
    }
    gmtime_r(&secs, &tm);
    snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* A JSON string for s, never NULL: invalid UTF-8 bytes become '?'; long
 * values are cut. */
static json_t *jstr(const char *s)
{
    size_t n = strlen(s);
    json_t *v;
    char *copy;

    if (n > LOG_MAX_VALUE_BYTES)
        n = LOG_MAX_VALUE_BYTES;
    v = json_stringn(s, n);
    if (v != NULL)
        return v;
    copy = xstrndup(s, n);
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v != NULL ? v : json_string("");
}

static bool reserved_key(const char *key)
{
    return strcmp(key, "severity") == 0 || strcmp(key, "message") == 0 || strcmp(key, "time") == 0;
}

static json_t *field_value(const struct log_field *f)
{
    if (log_key_is_secret(f->key))
        return json_string(LOG_REDACTED);
    switch (f->type) {
    case LOG_FIELD_STR:
        return f->s != NULL ? jstr(f->s) : json_null();
    case LOG_FIELD_INT:
        return json_integer(f->i);
    case LOG_FIELD_BOOL:
        return json_boolean(f->b);
    }
    return json_null();
}

static void add_fields(json_t *o, const struct log_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = fields[i].key;

        if (key == NULL || key[0] == '\0')
            continue;
        if (reserved_key(key)) {
            char *k = xasprintf("field.%s", key);

            json_object_set_new(o, k, field_value(&fields[i]));
            free(k);
        } else {
            json_object_set_new(o, key, field_value(&fields[i]));
        }
    }
}

/* The project-relative part of a compiler path (".../controller/x.c"). */
static const char *short_path(const char *file)
{
    const char *roots[] = {"/controller/", "/api/", "/test/"};
    const char *best = NULL;

    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        const char *p = strstr(file, roots[i]);

        if (p != NULL && (best == NULL || p < best))
            best = p;
    }
    return best != NULL ? best + 1 : file;
}

static void emit_json(enum log_severity sev, const char *message, const char *file, int line,
                      const char *func, const struct log_field *fields, size_t n)
{
    json_t *o = json_object();
    char when[96], *out;

    format_time(when);
    json_object_set_new(o, "severity", json_string(sev_names[sev]));
    json_object_set_new(o, "message", jstr(message));
    json_object_set_new(o, "time", json_string(when));
    if (log_labels != NULL && json_object_size(log_labels) > 0)
        json_object_set(o, "logging.googleapis.com/labels", log_labels);
    if (file != NULL) {
        char lineno[16];

        /* LogEntrySourceLocation.line is an int64: a string in JSON. */
        snprintf(lineno, sizeof(lineno), "%d", line);
        json_object_set_new(o, "logging.googleapis.com/sourceLocation",
                            json_pack("{s:s,s:s,s:s}", "file", short_path(file), "line", lineno,
                                      "function", func != NULL ? func : ""));
    }
    add_fields(o, fields, n);
    out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out != NULL)
        sink_write(out, strlen(out));
    free(out);
    json_decref(o);
}

/* A quoted text value: "..." with \" \\ \n \t and \xHH for other controls. */
static void put_quoted(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
        } else if (c == '\n') {
            buf_puts(b, "\\n");
        } else if (c == '\t') {
            buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\x%02x", c);
        } else {
            buf_putc(b, (char)c);
        }
    }
    buf_putc(b, '"');
}

static void put_text_field(struct buf *b, const struct log_field *f)
{
    if (f->key == NULL || f->key[0] == '\0' || (f->type == LOG_FIELD_STR && f->s == NULL))
        return;
    buf_printf(b, " %s=", f->key);
    if (log_key_is_secret(f->key)) {
        buf_puts(b, LOG_REDACTED);
        return;
    }
    switch (f->type) {
    case LOG_FIELD_STR:
        put_quoted(b, f->s);
        break;
    case LOG_FIELD_INT:
        buf_printf(b, "%lld", f->i);
        break;
    case LOG_FIELD_BOOL:
        buf_puts(b, f->b ? "true" : "false");
        break;
    }
}

static void emit_text(enum log_severity sev, const char *message, const struct log_field *fields,
                      size_t n)
{
    struct buf b;

    /* Built without a ceiling that could fail half-way, then cut. */
    buf_init(&b, (size_t)-1 / 2);
    buf_printf(&b, "roam: %s%s", sev_tags[sev], message);
    for (size_t i = 0; i < n; i++)
        put_text_field(&b, &fields[i]);
    if (b.len > LOG_MAX_LINE_BYTES) {
        static const char cut[] = " (truncated)";

        memcpy(b.p + LOG_MAX_LINE_BYTES - (sizeof(cut) - 1), cut, sizeof(cut) - 1);
        b.len = LOG_MAX_LINE_BYTES;
        b.p[b.len] = '\0';
    }
    sink_write(buf_str(&b), b.len);
    buf_release(&b);
}

static void emit(enum log_severity sev, const char *message, const char *file, int line,
                 const char *func, const struct log_field *fields, size_t n)
{
    if ((unsigned)sev >= LOG_SEV_MAX)
        sev = LOG_SEV_ERROR;
    if (sev == LOG_SEV_DEBUG && log_verbose < 2)
        return;
    if (log_fmt == LOG_JSON)
        emit_json(sev, message, file, line, func, fields, n);
    else
        emit_text(sev, message, fields, n);
}

void log_event(enum log_severity sev, const char *message, const struct log_field *fields, size_t n)
{
    emit(sev, message != NULL ? message : "", NULL, 0, NULL, fields, n);
}

void log_event_at(const char *file, int line, const char *func, enum log_severity sev,
                  const char *message, const struct log_field *fields, size_t n)
{
    emit(sev, message != NULL ? message : "", file, line, func, fields, n);
}

void log_audit(const struct log_audit *a)
{
    const struct log_field f[] = {
        LOG_BOOL("audit", true),
        LOG_STR("app", a->app),
        LOG_STR("resource", a->resource),
        LOG_STR("role", a->role),
        LOG_STR("member", a->member),
        LOG_STR("condition", a->condition),
        LOG_STR("action", a->action),
        LOG_STR("revision", a->revision),
        LOG_STR("etag_before", a->etag_before),
        LOG_STR("etag_after", a->etag_after),
        LOG_STR("error", a->error),
    };
    const char *action = a->action != NULL ? a->action : "change";
    char *msg;

    if (a->error == NULL)
        msg = xasprintf("iam %s: '%s' %s '%s' on '%s'", action, a->member != NULL ? a->member : "",
                        strcmp(action, "remove") == 0 ? "from" : "to",
                        a->role != NULL ? a->role : "", a->resource != NULL ? a->resource : "");
    else
        msg = xasprintf(
            "cannot %s '%s' %s '%s' on '%s': %s", action, a->member != NULL ? a->member : "",
            strcmp(action, "remove") == 0 ? "from" : "to", a->role != NULL ? a->role : "",
            a->resource != NULL ? a->resource : "", a->error);
    if (log_fmt == LOG_JSON) {
        emit(a->error == NULL ? LOG_SEV_NOTICE : LOG_SEV_WARNING, msg, NULL, 0, NULL, f,
             sizeof(f) / sizeof(f[0]));
    } else {
        /* People read the message; the etags make the line an audit record. */
        const struct log_field t[] = {LOG_STR("app", a->app),
                                      LOG_STR("etag_before", a->etag_before),
                                      LOG_STR("etag_after", a->etag_after)};
        emit(a->error == NULL ? LOG_SEV_NOTICE : LOG_SEV_WARNING, msg, NULL, 0, NULL, t,
             sizeof(t) / sizeof(t[0]));
    }
    free(msg);
}

/* ---- the printf-style API ---- */

__attribute__((format(printf, 2, 0))) static void vlog(enum log_severity sev, const char *fmt,
                                                       va_list ap, const char *suffix)
{
    char *msg = xvasprintf(fmt, ap);

    if (suffix != NULL) {
        char *full = xasprintf("%s: %s", msg, suffix);

        free(msg);
        msg = full;
    }
    emit(sev, msg, NULL, 0, NULL, NULL, 0);
    free(msg);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_SEV_INFO, fmt, ap, NULL);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    vlog(LOG_SEV_WARNING, fmt, ap, strerror(saved));
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_SEV_WARNING, fmt, ap, NULL);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_verbose < 2)
        return;
    va_start(ap, fmt);
    vlog(LOG_SEV_DEBUG, fmt, ap, NULL);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    vlog(LOG_SEV_CRITICAL, fmt, ap, strerror(saved));
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_SEV_CRITICAL, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
