/*
 * log.c - text or JSON log lines on stderr (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/common/xalloc.h"

static enum log_format log_fmt = LOG_TEXT;
static int log_verbose;

void log_init(enum log_format fmt, int verbose)
{
    log_fmt = fmt;
    log_verbose = verbose;
}

static void emit(const char *severity, const char *fmt, va_list ap, const char *suffix)
{
    char *msg = xvasprintf(fmt, ap);

    if (log_fmt == LOG_JSON) {
        json_t *o = json_object();
        char *line;
        char *full = suffix != NULL ? xasprintf("%s: %s", msg, suffix) : xstrdup(msg);

        json_object_set_new(o, "severity", json_string(severity));
        json_object_set_new(o, "message", json_string(full));
        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line != NULL)
            fprintf(stderr, "%s\n", line);
        free(line);
        free(full);
        json_decref(o);
    } else {
        const char *tag = strcmp(severity, "WARNING") == 0    ? "warning: "
                          : strcmp(severity, "DEBUG") == 0    ? "debug: "
                          : strcmp(severity, "CRITICAL") == 0 ? "fatal: "
                                                              : "";
        fprintf(stderr, "roam: %s%s%s%s\n", tag, msg, suffix != NULL ? ": " : "",
                suffix != NULL ? suffix : "");
    }
    free(msg);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("INFO", fmt, ap, NULL);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    emit("WARNING", fmt, ap, strerror(saved));
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("WARNING", fmt, ap, NULL);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_verbose < 2)
        return;
    va_start(ap, fmt);
    emit("DEBUG", fmt, ap, NULL);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    emit("CRITICAL", fmt, ap, strerror(saved));
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("CRITICAL", fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
