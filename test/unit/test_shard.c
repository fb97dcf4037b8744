/*
 * test_shard.c - controller/runtime/shard: "I/N" parsing, the environment
 * fallback, pinned hash values (the split must never change between
 * versions), and coverage and balance over 10,000 app names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/err.h"
#include "controller/runtime/shard.h"

static void test_parse(void **state)
{
    static const struct {
        const char *in;
        int rc;
        unsigned index, count;
    } rows[] = {
        {"0/1", 0, 0, 1},
        {"0/2", 0, 0, 2},
        {"1/2", 0, 1, 2},
        {"6/7", 0, 6, 7},
        {"9999/10000", 0, 9999, 10000},
        {"007/8", 0, 7, 8}, /* leading zeros are still decimal */
        {"3/2", ERR_LIMIT, 0, 0},
        {"2/2", ERR_LIMIT, 0, 0},
        {"0/0", ERR_LIMIT, 0, 0},
        {"0/10001", ERR_LIMIT, 0, 0},
        {"0/99999999999999999999", ERR_LIMIT, 0, 0},
        {"-1/2", ERR_PARSE, 0, 0},
        {"+1/2", ERR_PARSE, 0, 0},
        {"1/-2", ERR_PARSE, 0, 0},
        {"a/b", ERR_PARSE, 0, 0},
        {"1/b", ERR_PARSE, 0, 0},
        {"1", ERR_PARSE, 0, 0},
        {"", ERR_PARSE, 0, 0},
        {"/", ERR_PARSE, 0, 0},
        {"1/", ERR_PARSE, 0, 0},
        {"/2", ERR_PARSE, 0, 0},
        {"1/2/3", ERR_PARSE, 0, 0},
        {" 1/2", ERR_PARSE, 0, 0},
        {"1/2 ", ERR_PARSE, 0, 0},
        {"0x1/2", ERR_PARSE, 0, 0},
        {"1.0/2", ERR_PARSE, 0, 0},
        {"11111111111111111111111111111111/2", ERR_PARSE, 0, 0}, /* longer than the buffer */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct shard s = {77, 88};
        const char *why = NULL;
        int rc = shard_parse(rows[i].in, &s, &why);

        if (rc != rows[i].rc)
            fail_msg("'%s': got %d, want %d", rows[i].in, rc, rows[i].rc);
        if (rc == 0) {
            assert_int_equal(s.index, rows[i].index);
            assert_int_equal(s.count, rows[i].count);
        } else {
            assert_non_null(why);
            assert_int_equal(s.index, 77); /* untouched on failure */
            assert_int_equal(s.count, 88);
        }
    }
    assert_int_equal(shard_parse(NULL, &(struct shard){0, 1}, NULL), ERR_PARSE);
}

static void test_resolve(void **state)
{
    static const struct {
        const char *flag, *index, *count;
        int rc;
        unsigned want_index, want_count;
    } rows[] = {
        {NULL, NULL, NULL, 0, 0, 1},      /* nothing: own everything */
        {NULL, "2", "5", 0, 2, 5},        /* a Cloud Run job task */
        {"1/3", "2", "5", 0, 1, 3},       /* --shard wins */
        {"x", "2", "5", ERR_PARSE, 0, 0}, /* a bad flag is not replaced by the env */
        {NULL, "5", "5", ERR_LIMIT, 0, 0},
        {NULL, "0", "0", ERR_LIMIT, 0, 0},
        {NULL, "1", NULL, ERR_PARSE, 0, 0},
        {NULL, NULL, "4", ERR_PARSE, 0, 0},
        {NULL, "-1", "4", ERR_PARSE, 0, 0},
        {NULL, "a", "4", ERR_PARSE, 0, 0},
        {NULL, "0", "20000", ERR_LIMIT, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct shard s = {0, 0};
        const char *why = NULL;
        int rc = shard_resolve(rows[i].flag, rows[i].index, rows[i].count, &s, &why);

        if (rc != rows[i].rc)
            fail_msg("row %zu: got %d, want %d", i, rc, rows[i].rc);
        if (rc == 0) {
            assert_int_equal(s.index, rows[i].want_index);
            assert_int_equal(s.count, rows[i].want_count);
        } else {
            assert_non_null(why);
        }
    }
    /* The process environment. */
    {
        struct shard s;

        setenv("CLOUD_RUN_TASK_INDEX", "3", 1);
        setenv("CLOUD_RUN_TASK_COUNT", "4", 1);
        assert_int_equal(shard_from_env(NULL, &s, NULL), 0);
        assert_int_equal(s.index, 3);
        assert_int_equal(s.count, 4);
        assert_int_equal(shard_from_env("0/2", &s, NULL), 0);
        assert_int_equal(s.count, 2);
        unsetenv("CLOUD_RUN_TASK_INDEX");
        unsetenv("CLOUD_RUN_TASK_COUNT");
        assert_int_equal(shard_from_env(NULL, &s, NULL), 0);
        assert_int_equal(s.index, 0);
        assert_int_equal(s.count, 1);
    }
}

/* Pinned values: changing the hash moves apps between the tasks of a job. */
static void test_hash_vectors(void **state)
{
    static const struct {
        const char *in;
        uint64_t fnv;
    } fnv[] = {
        /* Published FNV-1a 64 test vectors. */
        {"", 0xcbf29ce484222325u},
        {"a", 0xaf63dc4c8601ec8cu},
        {"foobar", 0x85944171f73967e8u},
    };
    static const struct {
        const char *app;
        unsigned n;
        unsigned shard;
    } pinned[] = {
        /* Computed independently (Python) from the formula in shard.h. */
        {"payments", 2, 0}, {"payments", 7, 0}, {"storefront", 2, 1},      {"storefront", 7, 6},
        {"hello", 3, 0},    {"hello", 16, 4},   {"nightly-export", 16, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(fnv) / sizeof(fnv[0]); i++)
        assert_int_equal(shard_fnv1a64(fnv[i].in), fnv[i].fnv);
    /* The finaliser of 0 is 0; anything else moves. */
    assert_int_equal(shard_hash("payments") != shard_fnv1a64("payments"), 1);
    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
        struct shard s = {pinned[i].shard, pinned[i].n};

        if (shard_hash(pinned[i].app) % pinned[i].n != pinned[i].shard)
            fail_msg("'%s' mod %u: got %u, want %u", pinned[i].app, pinned[i].n,
                     (unsigned)(shard_hash(pinned[i].app) % pinned[i].n), pinned[i].shard);
        assert_true(shard_owns(&s, pinned[i].app));
    }
    assert_true(shard_owns(NULL, "anything"));
}

#define NAMES 10000u

/* Every app is owned by exactly one of N shards, and each shard's share is
 * within 15% of NAMES / N. */
static void test_cover_and_balance(void **state)
{
    static const unsigned counts[] = {1, 2, 3, 7, 16};
    char name[64];

    (void)state;
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        unsigned n = counts[c];
        unsigned per[16] = {0};
        double mean = (double)NAMES / n;

        for (unsigned i = 0; i < NAMES; i++) {
            unsigned owners = 0;

            /* Names like real ones: a shared prefix and a counter. */
            snprintf(name, sizeof(name), "%s-%u", i % 3 == 0 ? "team-app" : "svc", i);
            for (unsigned k = 0; k < n; k++) {
                struct shard s = {k, n};

                if (shard_owns(&s, name)) {
                    owners++;
                    per[k]++;
                }
            }
            if (owners != 1)
                fail_msg("'%s' has %u owners among %u shards", name, owners, n);
        }
        for (unsigned k = 0; k < n; k++)
            if (per[k] < mean * 0.85 || per[k] > mean * 1.15)
                fail_msg("shard %u/%u owns %u apps, expected about %.0f", k, n, per[k], mean);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_cover_and_balance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
