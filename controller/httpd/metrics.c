/*
 * metrics.c - the Prometheus registry and text rendering (see metrics.h).
 */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/buf.h"
#include "api/common/caps.h"
#include "api/common/xalloc.h"

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct series {
    char **values;     /* one per label */
    double value;      /* counter, gauge */
    uint64_t *buckets; /* histogram: observations <= bounds[i] and > bounds[i-1] */
    uint64_t count;    /* histogram */
    double sum;        /* histogram */
};

struct metric {
    struct metric *next; /* registration order */
    struct metrics *reg;
    enum kind kind;
    char *name;
    char *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    struct series *series;
    size_t nseries, cap_series;
};

struct metrics {
    struct metric *head, **tail;
    uint64_t dropped;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    m->tail = &m->head;
    return m;
}

static void series_release(struct series *s, size_t nlabels)
{
    size_t i;

    for (i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
}

static void metric_free(struct metric *mt)
{
    size_t i;

    for (i = 0; i < mt->nseries; i++)
        series_release(&mt->series[i], mt->nlabels);
    free(mt->series);
    for (i = 0; i < mt->nlabels; i++)
        free(mt->labels[i]);
    free(mt->labels);
    free(mt->bounds);
    free(mt->name);
    free(mt->help);
    free(mt);
}

void metrics_free(struct metrics *m)
{
    struct metric *mt, *next;

    if (m == NULL)
        return;
    for (mt = m->head; mt != NULL; mt = next) {
        next = mt->next;
        metric_free(mt);
    }
    free(m);
}

uint64_t metrics_dropped(const struct metrics *m)
{
    return m->dropped;
}

static bool name_char(char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

static bool valid_name(const char *s, bool colon)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        return false;
    for (i = 0; s[i] != '\0'; i++)
        if (!name_char(s[i], i == 0, colon))
            return false;
    return true;
}

static bool valid_labels(const char *const *labels, enum kind kind)
{
    size_t i, j;

    for (i = 0; labels != NULL && labels[i] != NULL; i++) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
            (kind == KIND_HISTOGRAM && strcmp(labels[i], "le") == 0))
            return false;
        for (j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return false;
    }
    return true;
}

static struct series *series_new(struct metric *mt, const char *const *values)
{
    struct series *s;
    size_t i;

    if (mt->nseries >= CAP_METRIC_SERIES) {
        mt->reg->dropped++;
        return NULL;
    }
    XGROW(mt->series, mt->nseries + 1, mt->cap_series);
    s = &mt->series[mt->nseries++];
    memset(s, 0, sizeof(*s));
    s->values = xcalloc(mt->nlabels + 1, sizeof(*s->values));
    for (i = 0; i < mt->nlabels; i++)
        s->values[i] = xstrdup(values != NULL && values[i] != NULL ? values[i] : "");
    if (mt->kind == KIND_HISTOGRAM)
        s->buckets = xcalloc(mt->nbounds + 1, sizeof(*s->buckets));
    return s;
}

static struct metric *add_metric(struct metrics *m, enum kind kind, const char *name,
                                 const char *help, const char *const *labels)
{
    struct metric *mt;
    size_t i;

    if (!valid_name(name, true) || !valid_labels(labels, kind))
        return NULL;
    for (mt = m->head; mt != NULL; mt = mt->next)
        if (strcmp(mt->name, name) == 0)
            return NULL;
    mt = xcalloc(1, sizeof(*mt));
    mt->reg = m;
    mt->kind = kind;
    mt->name = xstrdup(name);
    mt->help = xstrdup(help != NULL ? help : "");
    for (i = 0; labels != NULL && labels[i] != NULL; i++)
        ;
    mt->nlabels = i;
    mt->labels = xcalloc(i + 1, sizeof(*mt->labels));
    for (i = 0; i < mt->nlabels; i++)
        mt->labels[i] = xstrdup(labels[i]);
    *m->tail = mt;
    m->tail = &mt->next;
    return mt;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *const *labels)
{
    struct metric *mt = add_metric(m, KIND_COUNTER, name, help, labels);

    if (mt != NULL && mt->nlabels == 0)
        series_new(mt, NULL);
    return mt;
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *const *labels)
{
    struct metric *mt = add_metric(m, KIND_GAUGE, name, help, labels);

    if (mt != NULL && mt->nlabels == 0)
        series_new(mt, NULL);
    return mt;
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *const *labels, const double *bounds, size_t n)
{
    struct metric *mt;
    size_t i;

    /* A trailing +Inf is implicit; other bounds must be finite, increasing. */
    if (n > 0 && isinf(bounds[n - 1]) && bounds[n - 1] > 0)
        n--;
    for (i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return NULL;
    mt = add_metric(m, KIND_HISTOGRAM, name, help, labels);
    if (mt == NULL)
        return NULL;
    mt->bounds = xcalloc(n + 1, sizeof(*mt->bounds));
    if (n > 0)
        memcpy(mt->bounds, bounds, n * sizeof(*bounds));
    mt->nbounds = n;
    if (mt->nlabels == 0)
        series_new(mt, NULL);
    return mt;
}

static struct series *find_series(const struct metric *mt, const char *const *values)
{
    size_t i, j;

    for (i = 0; i < mt->nseries; i++) {
        for (j = 0; j < mt->nlabels; j++)
            if (strcmp(mt->series[i].values[j],
                       values != NULL && values[j] != NULL ? values[j] : "") != 0)
                break;
        if (j == mt->nlabels)
            return &mt->series[i];
    }
    return NULL;
}

static struct series *get_series(struct metric *mt, const char *const *values)
{
    struct series *s = find_series(mt, values);

    return s != NULL ? s : series_new(mt, values);
}

void metrics_add(struct metric *mt, const char *const *values, double delta)
{
    struct series *s;

    assert(mt->kind == KIND_COUNTER || mt->kind == KIND_GAUGE);
    if (mt->kind == KIND_COUNTER && !(delta >= 0))
        return;
    s = get_series(mt, values);
    if (s != NULL)
        s->value += delta;
}

void metrics_set(struct metric *mt, const char *const *values, double v)
{
    struct series *s;

    assert(mt->kind == KIND_GAUGE);
    s = get_series(mt, values);
    if (s != NULL)
        s->value = v;
}

void metrics_observe(struct metric *mt, const char *const *values, double v)
{
    struct series *s;
    size_t i;

    assert(mt->kind == KIND_HISTOGRAM);
    s = get_series(mt, values);
    if (s == NULL)
        return;
    for (i = 0; i < mt->nbounds && !(v <= mt->bounds[i]); i++)
        ;
    s->buckets[i]++; /* i == nbounds: only the +Inf bucket */
    s->count++;
    s->sum += v;
}

double metrics_value(const struct metric *mt, const char *const *values)
{
    const struct series *s = find_series(mt, values);

    return s != NULL ? s->value : 0;
}

/* ---- rendering ---- */

/* Go's ParseFloat reads what this writes: integers plainly, other values
 * with the fewest digits that read back exactly. */
static void put_number(struct buf *b, double v)
{
    char s[64];
    int prec;

    if (isnan(v)) {
        buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        buf_printf(b, "%.0f", v);
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof(s), "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    buf_puts(b, s);
}

/* HELP text escapes backslash and newline; label values also '"'. */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            buf_puts(b, "\\\\");
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else if (quote && *s == '"')
            buf_puts(b, "\\\"");
        else
            buf_putc(b, *s);
    }
}

/* {a="x",b="y"[,le="..."]}, or nothing when there are no labels. */
static void put_labels(struct buf *b, const struct metric *mt, const struct series *s,
                       const double *le)
{
    size_t i;

    if (mt->nlabels == 0 && le == NULL)
        return;
    buf_putc(b, '{');
    for (i = 0; i < mt->nlabels; i++) {
        buf_printf(b, "%s%s=\"", i > 0 ? "," : "", mt->labels[i]);
        put_escaped(b, s->values[i], true);
        buf_putc(b, '"');
    }
    if (le != NULL) {
        buf_printf(b, "%sle=\"", mt->nlabels > 0 ? "," : "");
        put_number(b, *le);
        buf_putc(b, '"');
    }
    buf_putc(b, '}');
}

static void put_histogram(struct buf *b, const struct metric *mt, const struct series *s)
{
    const double inf = INFINITY;
    uint64_t cum = 0;
    size_t i;

    for (i = 0; i <= mt->nbounds; i++) {
        cum += s->buckets[i];
        buf_printf(b, "%s_bucket", mt->name);
        put_labels(b, mt, s, i < mt->nbounds ? &mt->bounds[i] : &inf);
        buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    buf_printf(b, "%s_sum", mt->name);
    put_labels(b, mt, s, NULL);
    buf_putc(b, ' ');
    put_number(b, s->sum);
    buf_printf(b, "\n%s_count", mt->name);
    put_labels(b, mt, s, NULL);
    buf_printf(b, " %llu\n", (unsigned long long)s->count);
}

static void put_metric(struct buf *b, const struct metric *mt)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    size_t i;

    buf_printf(b, "# HELP %s ", mt->name);
    put_escaped(b, mt->help, false);
    buf_printf(b, "\n# TYPE %s %s\n", mt->name, types[mt->kind]);
    for (i = 0; i < mt->nseries; i++) {
        const struct series *s = &mt->series[i];

        if (mt->kind == KIND_HISTOGRAM) {
            put_histogram(b, mt, s);
            continue;
        }
        buf_puts(b, mt->name);
        put_labels(b, mt, s, NULL);
        buf_putc(b, ' ');
        put_number(b, s->value);
        buf_putc(b, '\n');
    }
}

char *metrics_render(const struct metrics *m, size_t *ret_len)
{
    const struct metric *mt;
    struct buf b;

    buf_init(&b, (size_t)-1 / 2);
    for (mt = m->head; mt != NULL; mt = mt->next)
        put_metric(&b, mt);
    return buf_detach(&b, ret_len);
}
