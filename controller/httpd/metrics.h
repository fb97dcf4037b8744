/*
 * metrics.h - a small Prometheus registry for GET /metrics.
 *
 * Counters, gauges and histograms (fixed buckets), each with a fixed list
 * of label names; a series per distinct list of label values, created on
 * first use.  metrics_render() writes the text exposition format (version
 * 0.0.4): `# HELP` and `# TYPE` per metric, one line per series, label
 * values escaped (backslash, double quote, newline), histograms as
 * cumulative `_bucket{le="..."}` lines ending with le="+Inf", then `_sum`
 * and `_count`.  Metrics and series come out in the order they were
 * created, so the output is stable.
 *
 * At most CAP_METRIC_SERIES series per metric: updates for more are
 * dropped (and counted by metrics_dropped()), so a label fed from input
 * cannot exhaust memory.  Label values should still come from small sets
 * (method, status, kind), never from paths or ids.
 *
 * Alternatives rejected: a hash map per metric (a handful of series; a
 * linear scan is simpler), a client library (none in Debian for C that
 * fits the loop).
 *
 * Single-threaded: call from the loop thread only.  No I/O.
 */
#ifndef ROAM_METRICS_H
#define ROAM_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric;

/* The registry; metrics_free() frees it and every metric (NULL-safe). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Registers a metric.  name matches [a-zA-Z_:][a-zA-Z0-9_:]*; labels is a
 * NULL-terminated array of names matching [a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__" (NULL or empty: no labels; "le" is reserved for
 * histograms); help is free text.  Strings are copied.  Returns the metric
 * (owned by m, valid until metrics_free), or NULL for an invalid or
 * duplicate name.  A metric without labels has its one series from the
 * start, so it renders as 0 before any update.
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *const *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *const *labels);
/* bounds: n finite upper bounds in increasing order (+Inf is implicit). */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *const *labels, const double *bounds, size_t n);

/*
 * Updates the series with these label values (one per label name, in
 * order; NULL for a metric without labels).  metrics_add: counters (delta
 * >= 0, else ignored) and gauges; metrics_set: gauges; metrics_observe:
 * histograms.  The wrong kind of metric is a programming error (assert).
 */
void metrics_add(struct metric *mt, const char *const *values, double delta);
void metrics_set(struct metric *mt, const char *const *values, double v);
void metrics_observe(struct metric *mt, const char *const *values, double v);

/* The value of a counter or gauge series (0 when it does not exist). */
double metrics_value(const struct metric *mt, const char *const *values);
/* Updates dropped for passing CAP_METRIC_SERIES, over all metrics. */
uint64_t metrics_dropped(const struct metrics *m);

/* The exposition text, a new string the caller frees (*ret_len may be
 * NULL).  Served as `text/plain; version=0.0.4; charset=utf-8`. */
char *metrics_render(const struct metrics *m, size_t *ret_len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
