/*
 * test_metrics.c - controller/httpd/metrics: the registry and the
 * Prometheus text format.
 *
 * The rendered text goes through a strict parser written here from the
 * exposition format rules (HELP/TYPE before samples, one TYPE per family,
 * metric and label name syntax, escaped label values, float values
 * including +Inf/-Inf/NaN, histogram buckets cumulative with increasing le
 * and a final +Inf equal to _count), and then values and escaping are
 * checked on the parsed samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "controller/httpd/metrics.h"

/* ---- a strict exposition parser ---- */

#define MAX_SAMPLES 512
#define MAX_FAMILIES 64

struct sample {
    char name[128];
    char labels[512]; /* unescaped, "k=v,k=v" in order */
    char le[64];      /* the le label, raw */
    double value;
};

struct family {
    char name[128];
    char type[16];
    bool help;
};

struct parsed {
    struct sample s[MAX_SAMPLES];
    size_t ns;
    struct family f[MAX_FAMILIES];
    size_t nf;
};

static bool name_ok(const char *s, size_t n, bool colon)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool value_ok(const char *s, double *ret)
{
    char *end;

    if (strcmp(s, "+Inf") == 0) {
        *ret = INFINITY;
        return true;
    }
    if (strcmp(s, "-Inf") == 0) {
        *ret = -INFINITY;
        return true;
    }
    if (strcmp(s, "NaN") == 0) {
        *ret = NAN;
        return true;
    }
    if (*s == '\0' || strchr(s, ' ') != NULL)
        return false;
    *ret = strtod(s, &end);
    return *end == '\0';
}

static struct family *find_family(struct parsed *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nf; i++)
        if (strcmp(p->f[i].name, name) == 0)
            return &p->f[i];
    return NULL;
}

/* Parses {k="v",...}; returns the position after '}' or NULL. */
static const char *parse_labels(const char *p, struct sample *s)
{
    size_t o = 0;

    p++; /* '{' */
    while (*p != '}') {
        const char *k = p;
        size_t kn;

        while (*p != '=' && *p != '\0')
            p++;
        kn = (size_t)(p - k);
        if (*p != '=' || p[1] != '"' || !name_ok(k, kn, false))
            return NULL;
        p += 2;
        o += (size_t)snprintf(s->labels + o, sizeof(s->labels) - o, "%s%.*s=", o > 0 ? "," : "",
                              (int)kn, k);
        if (kn == 2 && strncmp(k, "le", 2) == 0) {
            const char *v = p;
            while (*p != '"' && *p != '\0')
                p++;
            size_t vn = (size_t)(p - v);
            if (vn >= sizeof(s->le) || o + vn >= sizeof(s->labels))
                return NULL;
            memcpy(s->le, v, vn);
            s->le[vn] = '\0';
            memcpy(s->labels + o, v, vn);
            o += vn;
            s->labels[o] = '\0';
        } else {
            while (*p != '"') {
                char c = *p++;
                if (c == '\0' || c == '\n')
                    return NULL;
                if (c == '\\') {
                    c = *p++;
                    if (c == 'n')
                        c = '\n';
                    else if (c != '\\' && c != '"')
                        return NULL;
                }
                if (o + 1 < sizeof(s->labels))
                    s->labels[o++] = c;
            }
            s->labels[o] = '\0';
        }
        p++; /* closing quote */
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

static const char *family_of(struct parsed *p, const char *sample_name)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    static char base[128];
    size_t i, n = strlen(sample_name);

    if (find_family(p, sample_name) != NULL)
        return sample_name;
    for (i = 0; i < 3; i++) {
        size_t m = strlen(sfx[i]);
        if (n > m && strcmp(sample_name + n - m, sfx[i]) == 0) {
            snprintf(base, sizeof(base), "%.*s", (int)(n - m), sample_name);
            if (find_family(p, base) != NULL &&
                strcmp(find_family(p, base)->type, "histogram") == 0)
                return base;
        }
    }
    return NULL;
}

static bool parse_comment(struct parsed *p, const char *line)
{
    char name[128], rest[512];
    struct family *f;

    if (sscanf(line, "# HELP %127s %511[^\n]", name, rest) >= 1 &&
        strncmp(line, "# HELP ", 7) == 0) {
        f = find_family(p, name);
        if (f == NULL) {
            if (p->nf == MAX_FAMILIES)
                return false;
            f = &p->f[p->nf++];
            snprintf(f->name, sizeof(f->name), "%s", name);
        }
        if (f->help || f->type[0] != '\0' || !name_ok(name, strlen(name), true))
            return false; /* HELP once, before TYPE */
        f->help = true;
        return true;
    }
    if (sscanf(line, "# TYPE %127s %511s", name, rest) == 2) {
        f = find_family(p, name);
        if (f == NULL || f->type[0] != '\0')
            return false;
        if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 &&
            strcmp(rest, "histogram") != 0)
            return false;
        snprintf(f->type, sizeof(f->type), "%.15s", rest);
        return true;
    }
    return false;
}

static bool parse_sample(struct parsed *p, const char *line)
{
    struct sample *s;
    const char *q = line, *fam;
    size_t n;

    if (p->ns == MAX_SAMPLES)
        return false;
    s = &p->s[p->ns];
    memset(s, 0, sizeof(*s));
    while (*q != '{' && *q != ' ' && *q != '\0')
        q++;
    n = (size_t)(q - line);
    if (!name_ok(line, n, true) || n >= sizeof(s->name))
        return false;
    memcpy(s->name, line, n);
    if (*q == '{') {
        q = parse_labels(q, s);
        if (q == NULL)
            return false;
    }
    if (*q != ' ' || !value_ok(q + 1, &s->value))
        return false;
    fam = family_of(p, s->name);
    if (fam == NULL || find_family(p, fam)->type[0] == '\0')
        return false; /* sample before its TYPE */
    p->ns++;
    return true;
}

/* Histogram invariants: per label set, le increasing, counts cumulative,
 * ending with +Inf == _count. */
static bool check_histograms(const struct parsed *p)
{
    size_t i;

    for (i = 0; i < p->ns; i++) {
        const struct sample *s = &p->s[i];
        size_t n = strlen(s->name);

        if (n > 7 && strcmp(s->name + n - 7, "_bucket") == 0) {
            double le;
            if (s->le[0] == '\0' || !value_ok(s->le, &le))
                return false;
            if (i > 0 && strcmp(p->s[i - 1].name, s->name) == 0 && p->s[i - 1].le[0] != '\0' &&
                strcmp(p->s[i - 1].le, "+Inf") != 0) {
                double prev;
                value_ok(p->s[i - 1].le, &prev);
                if (!(le > prev) || s->value < p->s[i - 1].value)
                    return false;
            }
            if (strcmp(s->le, "+Inf") == 0) {
                /* Next-but-one line is _count with the same value. */
                if (i + 2 >= p->ns || p->s[i + 2].value != s->value)
                    return false;
            }
        }
    }
    return true;
}

/* Parses text strictly; false with the offending line in bad. */
static bool parse_text(const char *text, struct parsed *p, char *bad, size_t badn)
{
    const char *line = text;

    memset(p, 0, sizeof(*p));
    snprintf(bad, badn, "(end)");
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        char buf[1024];

        if (nl == NULL || (size_t)(nl - line) >= sizeof(buf))
            return false; /* every line ends with a newline */
        memcpy(buf, line, (size_t)(nl - line));
        buf[nl - line] = '\0';
        snprintf(bad, badn, "%s", buf);
        if (!(buf[0] == '#' ? parse_comment(p, buf) : parse_sample(p, buf)))
            return false;
        line = nl + 1;
    }
    snprintf(bad, badn, "(histogram invariants)");
    return check_histograms(p);
}

static void parse_or_fail(const char *text, struct parsed *p)
{
    char bad[1024];

    if (!parse_text(text, p, bad, sizeof(bad)))
        fail_msg("bad exposition text at: '%s'", bad);
}

static const struct sample *find(const struct parsed *p, const char *name, const char *labels)
{
    size_t i;

    for (i = 0; i < p->ns; i++)
        if (strcmp(p->s[i].name, name) == 0 && strcmp(p->s[i].labels, labels) == 0)
            return &p->s[i];
    return NULL;
}

static double value_of(const struct parsed *p, const char *name, const char *labels)
{
    const struct sample *s = find(p, name, labels);

    if (s == NULL)
        fail_msg("no sample %s{%s}", name, labels);
    return s->value;
}

/* ---- tests ---- */

static void test_render(void **state)
{
    static const char *const req_labels[] = {"route", "status", NULL};
    static const char *const kind_labels[] = {"kind", NULL};
    static const double bounds[] = {0.005, 0.1, 1, 10};
    struct metrics *m = metrics_new();
    struct metric *req, *up, *lat, *push, *odd;
    struct parsed *p = xcalloc(1, sizeof(*p));
    char *text;
    size_t len;

    (void)state;
    req = metrics_counter(m, "roam_http_requests_total", "HTTP requests answered.", req_labels);
    up = metrics_gauge(m, "roam_up", "1 when serving.", NULL);
    lat =
        metrics_histogram(m, "roam_reconcile_seconds", "Reconcile pass duration.", NULL, bounds, 4);
    push = metrics_counter(m, "roam_push_total", "Pushes\nby \\kind.", kind_labels);
    odd = metrics_gauge(m, "roam:odd_values", "Edge values.", kind_labels);
    assert_non_null(req);
    assert_non_null(up);
    assert_non_null(lat);
    assert_non_null(push);
    assert_non_null(odd);

    metrics_add(req, (const char *const[]){"/pubsub", "204"}, 1);
    metrics_add(req, (const char *const[]){"/pubsub", "204"}, 2);
    metrics_add(req, (const char *const[]){"/healthz", "200"}, 1);
    metrics_add(req, (const char *const[]){"/healthz", "200"}, -5); /* counters never go down */
    metrics_set(up, NULL, 1);
    metrics_observe(lat, NULL, 0.005);
    metrics_observe(lat, NULL, 0.05);
    metrics_observe(lat, NULL, 3);
    metrics_observe(lat, NULL, 100);
    metrics_add(push, (const char *const[]){"a \"quoted\"\\path\nnext"}, 1);
    metrics_set(odd, (const char *const[]){"inf"}, INFINITY);
    metrics_set(odd, (const char *const[]){"-inf"}, -INFINITY);
    metrics_set(odd, (const char *const[]){"nan"}, NAN);
    metrics_set(odd, (const char *const[]){"tenth"}, 0.1);
    metrics_set(odd, (const char *const[]){"big"}, 1e300);
    metrics_set(odd, (const char *const[]){"int"}, -42);
    metrics_set(odd, (const char *const[]){""}, 2.5);

    text = metrics_render(m, &len);
    assert_int_equal(strlen(text), len);
    parse_or_fail(text, p);

    assert_true(value_of(p, "roam_http_requests_total", "route=/pubsub,status=204") == 3);
    assert_true(value_of(p, "roam_http_requests_total", "route=/healthz,status=200") == 1);
    assert_true(value_of(p, "roam_up", "") == 1);
    assert_true(value_of(p, "roam_reconcile_seconds_bucket", "le=0.005") == 1);
    assert_true(value_of(p, "roam_reconcile_seconds_bucket", "le=0.1") == 2);
    assert_true(value_of(p, "roam_reconcile_seconds_bucket", "le=1") == 2);
    assert_true(value_of(p, "roam_reconcile_seconds_bucket", "le=10") == 3);
    assert_true(value_of(p, "roam_reconcile_seconds_bucket", "le=+Inf") == 4);
    assert_true(value_of(p, "roam_reconcile_seconds_count", "") == 4);
    assert_true(fabs(value_of(p, "roam_reconcile_seconds_sum", "") - 103.055) < 1e-9);
    assert_true(value_of(p, "roam_push_total", "kind=a \"quoted\"\\path\nnext") == 1);
    assert_true(isinf(value_of(p, "roam:odd_values", "kind=inf")));
    assert_true(value_of(p, "roam:odd_values", "kind=-inf") < 0);
    assert_true(isnan(value_of(p, "roam:odd_values", "kind=nan")));
    assert_true(value_of(p, "roam:odd_values", "kind=tenth") == 0.1);
    assert_true(value_of(p, "roam:odd_values", "kind=big") == 1e300);
    assert_true(value_of(p, "roam:odd_values", "kind=int") == -42);
    assert_true(value_of(p, "roam:odd_values", "kind=") == 2.5);

    /* Exact text of the parts whose format matters. */
    assert_non_null(strstr(text, "# HELP roam_push_total Pushes\\nby \\\\kind.\n"));
    assert_non_null(strstr(text, "# TYPE roam_reconcile_seconds histogram\n"));
    assert_non_null(strstr(text, "roam_push_total{kind=\"a \\\"quoted\\\"\\\\path\\nnext\"} 1\n"));
    assert_non_null(strstr(text, "roam_reconcile_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "roam_reconcile_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "roam:odd_values{kind=\"tenth\"} 0.1\n"));
    assert_non_null(strstr(text, "roam:odd_values{kind=\"nan\"} NaN\n"));
    assert_non_null(strstr(text, "roam_up 1\n"));
    /* Metrics in registration order, series in creation order. */
    assert_true(strstr(text, "roam_http_requests_total") < strstr(text, "roam_up"));
    assert_true(strstr(text, "route=\"/pubsub\"") < strstr(text, "route=\"/healthz\""));

    assert_true(metrics_value(req, (const char *const[]){"/pubsub", "204"}) == 3);
    assert_true(metrics_value(req, (const char *const[]){"/nope", "204"}) == 0);
    free(text);
    free(p);
    metrics_free(m);
}

static void test_labelled_histogram(void **state)
{
    static const char *const labels[] = {"api", NULL};
    static const double bounds[] = {1, 2, INFINITY};
    struct metrics *m = metrics_new();
    struct metric *h = metrics_histogram(m, "roam_gcp_seconds", "x", labels, bounds, 3);
    struct parsed *p = xcalloc(1, sizeof(*p));
    char *text;

    (void)state;
    assert_non_null(h);
    metrics_observe(h, (const char *const[]){"run"}, 0.5);
    metrics_observe(h, (const char *const[]){"iam"}, 5);
    metrics_observe(h, (const char *const[]){"run"}, 2);
    text = metrics_render(m, NULL);
    parse_or_fail(text, p);
    assert_true(value_of(p, "roam_gcp_seconds_bucket", "api=run,le=1") == 1);
    assert_true(value_of(p, "roam_gcp_seconds_bucket", "api=run,le=2") == 2);
    assert_true(value_of(p, "roam_gcp_seconds_bucket", "api=run,le=+Inf") == 2);
    assert_true(value_of(p, "roam_gcp_seconds_bucket", "api=iam,le=2") == 0);
    assert_true(value_of(p, "roam_gcp_seconds_bucket", "api=iam,le=+Inf") == 1);
    assert_true(value_of(p, "roam_gcp_seconds_sum", "api=run") == 2.5);
    assert_true(value_of(p, "roam_gcp_seconds_count", "api=iam") == 1);
    /* No duplicate +Inf bucket from the explicit bound. */
    assert_null(strstr(strstr(text, "le=\"+Inf\"") + 1, "api=\"run\",le=\"+Inf\""));
    free(text);
    free(p);
    metrics_free(m);
}

static void test_registration(void **state)
{
    static const char *const bad_label[] = {"1x", NULL};
    static const char *const reserved[] = {"__name", NULL};
    static const char *const le[] = {"le", NULL};
    static const char *const dup[] = {"a", "a", NULL};
    static const char *const colon[] = {"a:b", NULL};
    static const double unsorted[] = {1, 0.5};
    static const double nan_bound[] = {NAN};
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(metrics_counter(m, "ok_total", "", NULL));
    assert_null(metrics_counter(m, "ok_total", "", NULL)); /* duplicate */
    assert_null(metrics_gauge(m, "ok_total", "", NULL));
    assert_null(metrics_counter(m, "", "", NULL));
    assert_null(metrics_counter(m, "9lives", "", NULL));
    assert_null(metrics_counter(m, "has-dash", "", NULL));
    assert_null(metrics_counter(m, "has space", "", NULL));
    assert_null(metrics_counter(m, "x1", "", bad_label));
    assert_null(metrics_counter(m, "x2", "", reserved));
    assert_null(metrics_counter(m, "x3", "", dup));
    assert_null(metrics_counter(m, "x4", "", colon));
    assert_null(metrics_histogram(m, "x5", "", le, NULL, 0));
    assert_non_null(metrics_gauge(m, "x6", "", le)); /* only histograms reserve le */
    assert_null(metrics_histogram(m, "x7", "", NULL, unsorted, 2));
    assert_null(metrics_histogram(m, "x8", "", NULL, nan_bound, 1));
    assert_non_null(metrics_histogram(m, "x9", "", NULL, NULL, 0)); /* +Inf only */
    text = metrics_render(m, NULL);
    assert_non_null(strstr(text, "ok_total 0\n"));
    assert_non_null(strstr(text, "# TYPE x6 gauge\n"));
    assert_non_null(strstr(text, "x9_bucket{le=\"+Inf\"} 0\nx9_sum 0\nx9_count 0\n"));
    free(text);
    metrics_free(m);
}

/* The series cap: label values from input cannot grow memory without
 * bound. */
static void test_series_cap(void **state)
{
    static const char *const labels[] = {"id", NULL};
    struct metrics *m = metrics_new();
    struct metric *c = metrics_counter(m, "c_total", "", labels);
    char id[32];
    unsigned i;

    (void)state;
    for (i = 0; i < CAP_METRIC_SERIES + 10; i++) {
        snprintf(id, sizeof(id), "%u", i);
        metrics_add(c, (const char *const[]){id}, 1);
    }
    assert_int_equal(metrics_dropped(m), 10);
    metrics_add(c, (const char *const[]){"0"}, 1); /* existing series still count */
    assert_true(metrics_value(c, (const char *const[]){"0"}) == 2);
    metrics_free(m);
}

/* The checker itself must reject what Prometheus would. */
static void test_parser_rejects(void **state)
{
    static const char *const bad[] = {
        "x 1\n",                                               /* no TYPE */
        "# TYPE x counter\nx 1",                               /* no final newline */
        "# HELP x h\n# TYPE x counter\nx{a=\"b} 1\n",          /* unterminated value */
        "# HELP x h\n# TYPE x counter\nx{a=b} 1\n",            /* unquoted */
        "# HELP x h\n# TYPE x counter\nx{a=\"\\q\"} 1\n",      /* bad escape */
        "# HELP x h\n# TYPE x counter\nx 1 2 3\n",             /* bad value */
        "# HELP x h\n# TYPE x counter\nx one\n",               /* bad value */
        "# HELP x h\n# TYPE x counter\n# TYPE x gauge\nx 1\n", /* TYPE twice */
        "# HELP x h\n# TYPE x summary\nx 1\n",                 /* unsupported type */
        "# HELP 9x h\n# TYPE 9x counter\n9x 1\n",              /* bad name */
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n", /* not cumulative */
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 1\nh_count 3\n", /* +Inf != count */
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
        "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", /* le decreasing */
    };
    struct parsed *p = xcalloc(1, sizeof(*p));
    char why[1024];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("reject %zu\n", i);
        assert_false(parse_text(bad[i], p, why, sizeof(why)));
    }
    assert_true(parse_text("# HELP x h\n# TYPE x counter\nx{a=\"\\\\\\n\\\"\"} +Inf\n", p, why,
                           sizeof(why)));
    assert_string_equal(p->s[0].labels, "a=\\\n\"");
    free(p);
}

static void test_empty(void **state)
{
    struct metrics *m = metrics_new();
    size_t len = 7;
    char *text = metrics_render(m, &len);

    (void)state;
    assert_string_equal(text, "");
    assert_int_equal(len, 0);
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),       cmocka_unit_test(test_labelled_histogram),
        cmocka_unit_test(test_registration), cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_empty),        cmocka_unit_test(test_parser_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
