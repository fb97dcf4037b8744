/*
 * test_log.c - controller/runtime/log: the JSON line shape Cloud Logging
 * reads (severity, message, RFC 3339 time, labels, trace, sourceLocation),
 * structured fields, the audit line, redaction of secret-looking fields,
 * text quoting, bad UTF-8, long lines, the default sinks (JSON on stdout,
 * text on stderr) and fatalx's exit.  Output is captured through
 * log_set_sink_fn; time comes from a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/common/xalloc.h"
#include "controller/runtime/clock.h"
#include "controller/runtime/log.h"

struct capture {
    char *lines[32];
    size_t n;
};

static struct capture cap;
static struct clock_fake fake;

static void sink(void *data, const char *line, size_t len)
{
    struct capture *c = data;

    assert_int_equal(strlen(line), len);
    assert_null(memchr(line, '\n', len)); /* one line, newline not included */
    assert_true(c->n < 32);
    c->lines[c->n++] = xstrdup(line);
}

static void cap_reset(void)
{
    for (size_t i = 0; i < cap.n; i++)
        free(cap.lines[i]);
    cap.n = 0;
}

static int setup(void **state)
{
    (void)state;
    cap_reset();
    clock_fake_init(&fake, 0, 1700000000); /* 2023-11-14T22:13:20Z */
    log_set_clock(&fake.base);
    log_set_sink_fn(sink, &cap);
    log_clear_labels();
    log_init(LOG_JSON, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cap_reset();
    log_set_sink(NULL);
    log_set_clock(NULL);
    log_clear_labels();
    log_init(LOG_TEXT, 0);
    return 0;
}

/* The one captured line as JSON (the caller decrefs). */
static json_t *only_json(void)
{
    json_error_t je;
    json_t *o;

    assert_int_equal(cap.n, 1);
    o = json_loads(cap.lines[0], 0, &je);
    if (o == NULL)
        fail_msg("not JSON: %s: %s", je.text, cap.lines[0]);
    assert_true(json_is_object(o));
    return o;
}

static const char *sget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

static void test_json_shape(void **state)
{
    json_t *o;
    const char *keys[3];
    size_t i = 0;
    const char *k;
    json_t *v;

    (void)state;
    log_info("reconciled '%s' in %d ms", "payments", 12);
    o = only_json();
    assert_string_equal(sget(o, "severity"), "INFO");
    assert_string_equal(sget(o, "message"), "reconciled 'payments' in 12 ms");
    assert_string_equal(sget(o, "time"), "2023-11-14T22:13:20.000Z");
    assert_null(json_object_get(o, "logging.googleapis.com/labels"));
    assert_null(json_object_get(o, "logging.googleapis.com/sourceLocation"));
    /* severity, message, time come first, in that order. */
    json_object_foreach (o, k, v) {
        (void)v;
        if (i < 3)
            keys[i++] = k;
    }
    assert_string_equal(keys[0], "severity");
    assert_string_equal(keys[1], "message");
    assert_string_equal(keys[2], "time");
    json_decref(o);
}

static void test_system_time(void **state)
{
    json_t *o;
    const char *t;

    (void)state;
    log_set_clock(NULL);
    log_info("now");
    o = only_json();
    t = sget(o, "time");
    /* 2025-01-02T03:04:05.678Z */
    assert_int_equal(strlen(t), 24);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
                t[19] == '.' && t[23] == 'Z');
    assert_true(strncmp(t, "20", 2) == 0);
    json_decref(o);
}

static void test_severities(void **state)
{
    static const struct {
        enum log_severity sev;
        const char *json;
        const char *text;
    } rows[] = {
        {LOG_SEV_INFO, "INFO", "roam: m"},
        {LOG_SEV_NOTICE, "NOTICE", "roam: m"},
        {LOG_SEV_WARNING, "WARNING", "roam: warning: m"},
        {LOG_SEV_ERROR, "ERROR", "roam: error: m"},
        {LOG_SEV_CRITICAL, "CRITICAL", "roam: fatal: m"},
    };
    json_t *o;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cap_reset();
        log_init(LOG_JSON, 0);
        log_event(rows[i].sev, "m", NULL, 0);
        o = only_json();
        assert_string_equal(sget(o, "severity"), rows[i].json);
        json_decref(o);
        cap_reset();
        log_init(LOG_TEXT, 0);
        log_event(rows[i].sev, "m", NULL, 0);
        assert_int_equal(cap.n, 1);
        assert_string_equal(cap.lines[0], rows[i].text);
    }
    /* The printf API. */
    cap_reset();
    log_init(LOG_TEXT, 0);
    log_warnx("x %d", 1);
    errno = ENOENT;
    log_warn("cannot open '%s'", "f");
    log_debug("hidden");
    log_event(LOG_SEV_DEBUG, "hidden too", NULL, 0);
    log_init(LOG_TEXT, 2);
    log_debug("shown %s", "now");
    log_event(LOG_SEV_DEBUG, "event", NULL, 0);
    assert_int_equal(cap.n, 4);
    assert_string_equal(cap.lines[0], "roam: warning: x 1");
    assert_string_equal(cap.lines[1], "roam: warning: cannot open 'f': No such file or directory");
    assert_string_equal(cap.lines[2], "roam: debug: shown now");
    assert_string_equal(cap.lines[3], "roam: debug: event");
    cap_reset();
    log_init(LOG_JSON, 2);
    log_debug("d");
    {
        json_t *d = only_json();

        assert_string_equal(sget(d, "severity"), "DEBUG");
        json_decref(d);
    }
}

static void test_fields_labels_trace(void **state)
{
    const struct log_field f[] = {
        LOG_STR("app", "payments"),
        LOG_INT("changes", 3),
        LOG_INT("big", -9007199254740993LL),
        LOG_BOOL("dry_run", true),
        LOG_STR("missing", NULL),
        LOG_STR("message", "not the message"),
        LOG_STR(LOG_KEY_TRACE, "projects/p/traces/0123456789abcdef0123456789abcdef"),
        LOG_STR(LOG_KEY_SPAN, "000000000000004a"),
        LOG_STR("", "ignored"),
    };
    json_t *o, *labels, *loc;
    char want_line[16];
    int line;

    (void)state;
    log_set_label("component", "reconciler");
    log_set_label("revision", "r1");
    log_set_label("revision", "r2");
    log_set_label("gone", "x");
    log_set_label("gone", NULL);
    line = __LINE__ + 1;
    LOG_EVENT(LOG_SEV_NOTICE, "pass done", f, sizeof(f) / sizeof(f[0]));
    o = only_json();
    assert_string_equal(sget(o, "message"), "pass done");
    assert_string_equal(sget(o, "app"), "payments");
    assert_int_equal(json_integer_value(json_object_get(o, "changes")), 3);
    assert_true(json_integer_value(json_object_get(o, "big")) == -9007199254740993LL);
    assert_true(json_is_true(json_object_get(o, "dry_run")));
    assert_true(json_is_null(json_object_get(o, "missing")));
    assert_string_equal(sget(o, "field.message"), "not the message");
    assert_string_equal(sget(o, "logging.googleapis.com/trace"),
                        "projects/p/traces/0123456789abcdef0123456789abcdef");
    assert_string_equal(sget(o, "logging.googleapis.com/spanId"), "000000000000004a");
    assert_null(json_object_get(o, ""));
    labels = json_object_get(o, "logging.googleapis.com/labels");
    assert_true(json_is_object(labels));
    assert_int_equal(json_object_size(labels), 2);
    assert_string_equal(sget(labels, "component"), "reconciler");
    assert_string_equal(sget(labels, "revision"), "r2");
    loc = json_object_get(o, "logging.googleapis.com/sourceLocation");
    assert_true(json_is_object(loc));
    assert_string_equal(sget(loc, "file"), "test/unit/test_log.c");
    snprintf(want_line, sizeof(want_line), "%d", line);
    assert_string_equal(sget(loc, "line"), want_line);
    assert_string_equal(sget(loc, "function"), "test_fields_labels_trace");
    json_decref(o);

    /* Text: key=value, strings quoted, NULL strings and labels left out. */
    cap_reset();
    log_init(LOG_TEXT, 0);
    log_event(LOG_SEV_INFO, "pass done", f, 5);
    assert_int_equal(cap.n, 1);
    assert_string_equal(cap.lines[0], "roam: pass done app=\"payments\" changes=3 "
                                      "big=-9007199254740993 dry_run=true");
}

static void test_redaction(void **state)
{
    static const char *const secret_keys[] = {
        "token",         "access_token", "refresh_token",  "id_token",
        "Authorization", "X-Secret",     "webhook_secret", "private_key",
        "privateKey",    "password",     "db_passwd",      "credentials",
        "api_key",       "apiKey",       "Cookie",         "proxy-authorization",
    };
    static const char *const plain_keys[] = {
        "app",         "resource",   "role",      "member", "action",      "revision",
        "etag_before", "etag_after", "condition", "error",  LOG_KEY_TRACE,
    };
    const char *value = "ya29.SECRET-VALUE-123";

    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        log_init(fmt == 0 ? LOG_JSON : LOG_TEXT, 0);
        for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
            const struct log_field f[] = {
                LOG_STR("app", "a"),
                LOG_STR(secret_keys[i], value),
            };
            const struct log_field g[] = {LOG_INT(secret_keys[i], 424242)};

            assert_true(log_key_is_secret(secret_keys[i]));
            cap_reset();
            log_event(LOG_SEV_INFO, "m", f, 2);
            log_event(LOG_SEV_INFO, "m", g, 1);
            assert_int_equal(cap.n, 2);
            for (size_t k = 0; k < 2; k++) {
                if (strstr(cap.lines[k], "SECRET-VALUE") != NULL ||
                    strstr(cap.lines[k], "424242") != NULL)
                    fail_msg("'%s' leaked: %s", secret_keys[i], cap.lines[k]);
                assert_non_null(strstr(cap.lines[k], "[REDACTED]"));
            }
        }
        for (size_t i = 0; i < sizeof(plain_keys) / sizeof(plain_keys[0]); i++) {
            const struct log_field f[] = {LOG_STR(plain_keys[i], "visible-value")};

            assert_false(log_key_is_secret(plain_keys[i]));
            cap_reset();
            log_event(LOG_SEV_INFO, "m", f, 1);
            assert_non_null(strstr(cap.lines[0], "visible-value"));
        }
    }
    /* Labels too. */
    cap_reset();
    log_init(LOG_JSON, 0);
    log_set_label("auth_token", value);
    log_info("m");
    assert_null(strstr(cap.lines[0], "SECRET-VALUE"));
    assert_non_null(strstr(cap.lines[0], "[REDACTED]"));
    assert_false(log_key_is_secret(NULL));
}

static void test_audit(void **state)
{
    const struct log_audit a = {
        .app = "payments",
        .resource = "projects/p/locations/europe-west1/services/api",
        .role = "roles/run.invoker",
        .member = "group:web@acme.example",
        .action = "add",
        .revision = "3f2a9c1",
        .etag_before = "BwX1",
        .etag_after = "BwX2",
    };
    struct log_audit failed = a;
    json_t *o;

    (void)state;
    log_audit(&a);
    o = only_json();
    assert_string_equal(sget(o, "severity"), "NOTICE");
    assert_string_equal(sget(o, "message"), "iam add: 'group:web@acme.example' to "
                                            "'roles/run.invoker' on "
                                            "'projects/p/locations/europe-west1/services/api'");
    assert_true(json_is_true(json_object_get(o, "audit")));
    assert_string_equal(sget(o, "app"), "payments");
    assert_string_equal(sget(o, "resource"), "projects/p/locations/europe-west1/services/api");
    assert_string_equal(sget(o, "role"), "roles/run.invoker");
    assert_string_equal(sget(o, "member"), "group:web@acme.example");
    assert_string_equal(sget(o, "action"), "add");
    assert_string_equal(sget(o, "revision"), "3f2a9c1");
    assert_string_equal(sget(o, "etag_before"), "BwX1");
    assert_string_equal(sget(o, "etag_after"), "BwX2");
    assert_true(json_is_null(json_object_get(o, "condition")));
    assert_true(json_is_null(json_object_get(o, "error")));
    json_decref(o);

    cap_reset();
    failed.action = "remove";
    failed.etag_after = NULL;
    failed.error = "permission denied";
    log_audit(&failed);
    o = only_json();
    assert_string_equal(sget(o, "severity"), "WARNING");
    assert_string_equal(sget(o, "message"), "cannot remove 'group:web@acme.example' from "
                                            "'roles/run.invoker' on "
                                            "'projects/p/locations/europe-west1/services/api': "
                                            "permission denied");
    assert_string_equal(sget(o, "error"), "permission denied");
    assert_true(json_is_null(json_object_get(o, "etag_after")));
    json_decref(o);

    cap_reset();
    log_init(LOG_TEXT, 0);
    log_audit(&a);
    assert_int_equal(cap.n, 1);
    /* Text: the message and the etags, for people. */
    assert_string_equal(cap.lines[0],
                        "roam: iam add: 'group:web@acme.example' to 'roles/run.invoker' on "
                        "'projects/p/locations/europe-west1/services/api' app=\"payments\" "
                        "etag_before=\"BwX1\" etag_after=\"BwX2\"");
}

static void test_text_quoting(void **state)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"plain", "\"plain\""},
        {"a \"quoted\" word", "\"a \\\"quoted\\\" word\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"two\nlines", "\"two\\nlines\""},
        {"tab\there", "\"tab\\there\""},
        {"bell\a", "\"bell\\x07\""},
        {"", "\"\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    };
    (void)state;
    log_init(LOG_TEXT, 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct log_field f[] = {LOG_STR("v", rows[i].in)};
        char *want = xasprintf("roam: m v=%s", rows[i].want);

        cap_reset();
        log_event(LOG_SEV_INFO, "m", f, 1);
        assert_string_equal(cap.lines[0], want);
        free(want);
    }
}

static void test_bad_utf8_and_long(void **state)
{
    const struct log_field f[] = {LOG_STR("file", "bad\xff\xfename.yaml")};
    char *big = xmalloc(200 * 1024 + 1);
    json_t *o;

    (void)state;
    log_event(LOG_SEV_WARNING, "cannot read 'x\xc3(y'", f, 1);
    o = only_json();
    assert_string_equal(sget(o, "message"), "cannot read 'x?(y'");
    assert_string_equal(sget(o, "file"), "bad??name.yaml");
    json_decref(o);

    memset(big, 'a', 200 * 1024);
    big[200 * 1024] = '\0';
    {
        const struct log_field g[] = {LOG_STR("blob", big)};

        cap_reset();
        log_event(LOG_SEV_INFO, "m", g, 1);
        o = only_json();
        assert_int_equal(strlen(sget(o, "blob")), 16 * 1024);
        json_decref(o);

        cap_reset();
        log_init(LOG_TEXT, 0);
        log_event(LOG_SEV_INFO, "m", g, 1);
        assert_int_equal(cap.n, 1);
        assert_int_equal(strlen(cap.lines[0]), 128 * 1024);
        assert_non_null(strstr(cap.lines[0], "(truncated)"));
    }
    free(big);
}

/* Runs fn with stdout and stderr pointed at temporary files; returns what
 * was written to each (the caller frees both). */
static void capture_std(void (*fn)(void), char **ret_out, char **ret_err)
{
    FILE *tmp[2] = {tmpfile(), tmpfile()};
    FILE *streams[2] = {stdout, stderr};
    int fds[2] = {STDOUT_FILENO, STDERR_FILENO}, saved[2];
    char **ret[2] = {ret_out, ret_err};

    for (int i = 0; i < 2; i++) {
        assert_non_null(tmp[i]);
        fflush(streams[i]);
        saved[i] = dup(fds[i]);
        assert_true(saved[i] >= 0);
        assert_true(dup2(fileno(tmp[i]), fds[i]) >= 0);
    }
    fn();
    for (int i = 0; i < 2; i++) {
        long n;

        fflush(streams[i]);
        assert_true(dup2(saved[i], fds[i]) >= 0);
        close(saved[i]);
        n = ftell(tmp[i]);
        assert_true(n >= 0);
        *ret[i] = xcalloc(1, (size_t)n + 1);
        rewind(tmp[i]);
        assert_int_equal(fread(*ret[i], 1, (size_t)n, tmp[i]), (size_t)n);
        fclose(tmp[i]);
    }
}

static void say_hello(void)
{
    log_info("hello");
}

static void test_default_sinks(void **state)
{
    char *out, *err;
    FILE *f;
    char line[256];

    (void)state;
    log_set_sink(NULL);
    log_init(LOG_JSON, 0);
    capture_std(say_hello, &out, &err);
    assert_string_equal(out, "{\"severity\":\"INFO\",\"message\":\"hello\","
                             "\"time\":\"2023-11-14T22:13:20.000Z\"}\n");
    assert_string_equal(err, "");
    free(out);
    free(err);
    log_init(LOG_TEXT, 0);
    capture_std(say_hello, &out, &err);
    assert_string_equal(out, "");
    assert_string_equal(err, "roam: hello\n");
    free(out);
    free(err);

    /* A FILE sink. */
    f = tmpfile();
    assert_non_null(f);
    log_set_sink(f);
    log_info("one");
    log_warnx("two");
    rewind(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "roam: one\n");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "roam: warning: two\n");
    fclose(f);
    log_set_sink_fn(sink, &cap);
}

static void test_fatalx_exits(void **state)
{
    int fds[2], status;
    pid_t pid;
    char buf[256] = {0};
    ssize_t n;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *w = fdopen(fds[1], "w");

        close(fds[0]);
        log_set_sink(w);
        log_init(LOG_JSON, 0);
        fatalx("cannot start: %s", "bad flag");
    }
    close(fds[1]);
    n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(buf, "\"severity\":\"CRITICAL\""));
    assert_non_null(strstr(buf, "\"message\":\"cannot start: bad flag\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_severities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_labels_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_utf8_and_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_sinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatalx_exits, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
