/*
 * test_common.c - api/common: error vocabulary, bounded buffers, strict
 * numbers, string helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/buf.h"
#include "api/common/err.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

static void test_err_names(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_PARSE), "ERR_PARSE");
    assert_string_equal(err_str(ERR_LIMIT), "limit exceeded");
    assert_string_equal(err_name(0), "OK");
    assert_string_equal(err_name(-999), "ERR_UNKNOWN");
}

static void test_err_format(void **state)
{
    static const struct {
        const char *file, *path, *msg;
        unsigned line, col;
        const char *want;
    } rows[] = {
        {"a.yaml", "spec.components[2]", "unknown trait", 14, 7,
         "a.yaml:14:7: spec.components[2]: unknown trait"},
        {"a.yaml", NULL, "bad yaml", 3, 1, "a.yaml:3:1: bad yaml"},
        {"a.yaml", NULL, "too big", 0, 0, "a.yaml: too big"},
        {NULL, "bindings[0].role", "expected a string", 0, 0,
         "bindings[0].role: expected a string"},
        {NULL, NULL, "plain", 0, 0, "plain"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct err_list l;
        char *s;

        err_list_init(&l);
        err_list_add(&l, ERR_PARSE, rows[i].file, rows[i].line, rows[i].col, rows[i].path, "%s",
                     rows[i].msg);
        s = err_detail_format(&l.v[0]);
        assert_string_equal(s, rows[i].want);
        free(s);
        err_list_release(&l);
    }
}

static void test_err_list_grows(void **state)
{
    struct err_list l, m;

    (void)state;
    err_list_init(&l);
    err_list_init(&m);
    for (int i = 0; i < 100; i++)
        err_list_add(&l, ERR_INVAL, "f", (unsigned)i, 1, "p", "problem %d", i);
    assert_int_equal(l.n, 100);
    assert_string_equal(l.v[99].msg, "problem 99");
    err_list_extend(&m, &l);
    assert_int_equal(m.n, 100);
    assert_string_equal(m.v[42].msg, "problem 42");
    err_list_release(&l);
    err_list_release(&m);
}

static void test_buf_cap(void **state)
{
    struct buf b;
    char *s;
    size_t n;

    (void)state;
    buf_init(&b, 8);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_puts(&b, "abcd"), 0);
    assert_int_equal(buf_printf(&b, "%d", 123), 0);
    assert_string_equal(buf_str(&b), "abcd123");
    assert_int_equal(buf_putc(&b, 'x'), 0); /* exactly at the cap */
    assert_int_equal(b.len, 8);
    assert_int_equal(buf_putc(&b, 'y'), ERR_LIMIT); /* past it: released */
    assert_int_equal(b.len, 0);
    assert_null(b.p);
    assert_int_equal(buf_printf(&b, "%s", "123456789"), ERR_LIMIT);
    assert_int_equal(buf_puts(&b, "ok"), 0);
    s = buf_detach(&b, &n);
    assert_string_equal(s, "ok");
    assert_int_equal(n, 2);
    assert_null(b.p);
    free(s);
}

static void test_str_to_ll(void **state)
{
    static const struct {
        const char *in;
        long long min, max;
        int rc;
        long long want;
    } rows[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 0, 10},
        {"11", 0, 10, ERR_LIMIT, 0},
        {"-1", 0, 10, ERR_LIMIT, 0},
        {"-5", -10, 10, 0, -5},
        {"", 0, 10, ERR_PARSE, 0},
        {"12abc", 0, 100, ERR_PARSE, 0},
        {" 1", 0, 10, ERR_PARSE, 0},
        {"+1", 0, 10, ERR_PARSE, 0},
        {"99999999999999999999", 0, 10, ERR_LIMIT, 0},
        {"0x10", 0, 100, ERR_PARSE, 0},
        {"50", 0, 1000000000LL, 0, 50},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        long long v = -12345;
        int rc = str_to_ll(rows[i].in, rows[i].min, rows[i].max, &v);
        assert_int_equal(rc, rows[i].rc);
        if (rc == 0)
            assert_int_equal(v, rows[i].want);
        else
            assert_int_equal(v, -12345); /* ret_ untouched on failure */
    }
}

static void test_str_helpers(void **state)
{
    char s[] = "User@ACME.Example";

    (void)state;
    assert_true(str_eq_ci("a@B.example", "A@b.EXAMPLE"));
    assert_false(str_eq_ci("a@b", "a@c"));
    assert_true(str_eq_ci(NULL, NULL));
    assert_false(str_eq_ci(NULL, ""));
    assert_true(str_eq0(NULL, ""));
    assert_true(str_cmp0("a", NULL) > 0);
    assert_true(str_has_prefix("roles/run.invoker", "roles/"));
    assert_false(str_has_prefix("role", "roles/"));
    assert_true(str_has_suffix("x.yaml", ".yaml"));
    assert_false(str_has_suffix("yaml", ".yaml"));
    str_lower(s);
    assert_string_equal(s, "user@acme.example");
}

static void test_xgrow(void **state)
{
    int *v = NULL;
    size_t n = 0, cap = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        XGROW(v, n + 1, cap);
        v[n++] = i;
    }
    assert_true(cap >= 1000);
    assert_int_equal(v[999], 999);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names),      cmocka_unit_test(test_err_format),
        cmocka_unit_test(test_err_list_grows), cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_str_to_ll),      cmocka_unit_test(test_str_helpers),
        cmocka_unit_test(test_xgrow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
