/*
 * log.h - the log API (OpenBSD log.c): log_info, log_warnx, log_warn (adds
 * errno text), log_debug, fatal, fatalx.
 *
 * Lines go to stderr.  With the json format each line is one JSON object with
 * `severity` and `message`, as Cloud Logging reads them (CONTRACTS.md §8.3);
 * the text format is for people.  Messages never carry secrets: callers pass
 * no tokens or keys, and nothing here formats them.
 */
#ifndef ROAM_LOG_H
#define ROAM_LOG_H

#include <stdbool.h>

enum log_format { LOG_TEXT, LOG_JSON };

void log_init(enum log_format fmt, int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup only: log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
