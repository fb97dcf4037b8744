/*
 * test_backoff.c - controller/runtime: full-jitter backoff, retry budget and
 * the fake clock.  Time only moves when a test advances it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "api/common/err.h"
#include "controller/runtime/backoff.h"
#include "controller/runtime/clock.h"

static void test_fake_clock(void **state)
{
    struct clock_fake f;

    (void)state;
    clock_fake_init(&f, 5000, 1700000000);
    assert_int_equal(clock_mono_ms(&f.base), 5000);
    assert_int_equal(clock_wall_s(&f.base), 1700000000);
    clock_fake_advance(&f, 1500);
    assert_int_equal(clock_mono_ms(&f.base), 6500);
    assert_int_equal(clock_wall_s(&f.base), 1700000001);
    clock_fake_advance(&f, 500);
    assert_int_equal(clock_wall_s(&f.base), 1700000002);
    /* The system clock moves forward and is not the fake. */
    assert_true(clock_wall_s(NULL) > 1600000000);
    assert_true(clock_mono_ms(clock_system()) <= clock_mono_ms(NULL));
}

static void test_ceiling(void **state)
{
    static const struct {
        uint64_t base, cap;
        unsigned n;
        uint64_t want;
    } rows[] = {
        {1000, 32000, 1, 1000},
        {1000, 32000, 2, 2000},
        {1000, 32000, 3, 4000},
        {1000, 32000, 6, 32000},
        {1000, 32000, 7, 32000},
        {1000, 32000, 1000, 32000},
        {0, 0, 1, 1000},
        {0, 0, 20, 32000},
        {10, 40, 3, 40},
        {10, 40, 2, 20},
        {100, 50, 1, 100},                        /* cap below base: base wins */
        {1, UINT64_MAX / 2, 200, UINT64_MAX / 2}, /* never overflows */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct backoff_policy p = {rows[i].base, rows[i].cap, 0, 0};

        assert_int_equal(backoff_ceiling(&p, rows[i].n), rows[i].want);
    }
}

/* Delays stay within [0, ceiling] and cover the range (full jitter). */
static void test_full_jitter(void **state)
{
    struct backoff_policy p = {100, 3200, 0, 0};
    struct clock_fake f;

    (void)state;
    clock_fake_init(&f, 0, 0);
    for (unsigned n = 1; n <= 8; n++) {
        uint64_t ceiling = backoff_ceiling(&p, n), lo = UINT64_MAX, hi = 0, sum = 0;

        for (uint64_t seed = 1; seed <= 400; seed++) {
            struct backoff b;
            uint64_t d = 0;

            backoff_init(&b, &p, &f.base, seed * 7919);
            for (unsigned k = 1; k < n; k++)
                assert_int_equal(backoff_next(&b, 0, &d), 0);
            assert_int_equal(backoff_next(&b, 0, &d), 0);
            assert_true(d <= ceiling);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
            sum += d;
        }
        /* Uniform over [0, ceiling]: extremes near the ends, mean near half. */
        assert_true(lo < ceiling / 10);
        assert_true(hi > ceiling - ceiling / 10);
        assert_true(sum / 400 > ceiling * 4 / 10 && sum / 400 < ceiling * 6 / 10);
    }
}

static void test_seed_repeats(void **state)
{
    struct backoff a, b;
    uint64_t da, db;

    (void)state;
    backoff_init(&a, NULL, NULL, 42);
    backoff_init(&b, NULL, NULL, 42);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(backoff_next(&a, 0, &da), 0);
        assert_int_equal(backoff_next(&b, 0, &db), 0);
        assert_int_equal(da, db);
    }
}

/* The server's minimum (Retry-After, retryDelay) wins over a shorter draw. */
static void test_min_delay(void **state)
{
    struct backoff_policy p = {10, 40, 0, 0};
    struct backoff b;
    uint64_t d = 0;

    (void)state;
    backoff_init(&b, &p, NULL, 3);
    assert_int_equal(backoff_next(&b, 5000, &d), 0);
    assert_int_equal(d, 5000);
    assert_int_equal(backoff_next(&b, 0, &d), 0);
    assert_true(d <= 20);
}

static void test_attempt_budget(void **state)
{
    static const struct {
        unsigned max_attempts, want_retries;
    } rows[] = {{1, 0}, {2, 1}, {3, 2}, {6, 5}};
    struct clock_fake f;

    (void)state;
    clock_fake_init(&f, 0, 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct backoff_policy p = {10, 100, rows[i].max_attempts, 0};
        struct backoff b;
        uint64_t d = 12345;
        unsigned retries = 0;

        backoff_init(&b, &p, &f.base, 9);
        while (backoff_next(&b, 0, &d) == 0) {
            retries++;
            assert_true(retries <= rows[i].want_retries);
        }
        assert_int_equal(retries, rows[i].want_retries);
        assert_int_equal(b.attempts, rows[i].max_attempts);
        assert_int_equal(backoff_next(&b, 0, &d), ERR_LIMIT);
    }
}

/* No retry may start after max_elapsed_ms from the first attempt. */
static void test_time_budget(void **state)
{
    struct backoff_policy p = {1000, 32000, 0, 10000};
    struct clock_fake f;
    struct backoff b;
    uint64_t d = 0;

    (void)state;
    clock_fake_init(&f, 1000000, 0);
    backoff_init(&b, &p, &f.base, 5);
    clock_fake_advance(&f, 9000);
    /* 1 s left: a server minimum of 2 s does not fit. */
    assert_int_equal(backoff_next(&b, 2000, &d), ERR_LIMIT);
    /* ... but a draw within the first ceiling (<= 1 s) does. */
    assert_int_equal(backoff_next(&b, 0, &d), 0);
    assert_true(d <= 1000);
    clock_fake_advance(&f, 1001);
    assert_int_equal(backoff_next(&b, 0, &d), ERR_LIMIT);
    /* A reset restarts both budgets at the current time. */
    backoff_reset(&b);
    assert_int_equal(b.attempts, 1);
    assert_int_equal(backoff_next(&b, 9000, &d), 0);
    assert_int_equal(d, 9000);
}

/* A long series with the defaults: every delay within the documented
 * schedule, and the default budget is 6 attempts. */
static void test_defaults(void **state)
{
    struct clock_fake f;
    struct backoff b;
    uint64_t d = 0;
    unsigned n = 0;

    (void)state;
    clock_fake_init(&f, 0, 0);
    backoff_init(&b, NULL, &f.base, 0);
    while (backoff_next(&b, 0, &d) == 0) {
        n++;
        assert_true(d <= (n < 6 ? 1000u << (n - 1) : 32000u));
        clock_fake_advance(&f, d);
    }
    assert_int_equal(n, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_clock),  cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_full_jitter), cmocka_unit_test(test_seed_repeats),
        cmocka_unit_test(test_min_delay),   cmocka_unit_test(test_attempt_budget),
        cmocka_unit_test(test_time_budget), cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
