/*
 * test_ledger_merge.c - ledger_app_union: two writers' records of one app
 * joined by binding key, this writer's entry winning on a shared key, the
 * condition part of the key, and nothing another writer recorded lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/xalloc.h"
#include "api/plan/plan.h"
#include "test/support/plan_fixtures.h"

#define IV "roles/run.invoker"
#define DEV "roles/run.developer"
#define MAXL 6

struct row {
    const char *name;
    const char *mine[MAXL];   /* ledger lines of app "a" (NULL-terminated) */
    const char *theirs[MAXL]; /* NULL first: no record at all */
    const char *want[MAXL];
    const char *revision;
};

static const struct row rows[] = {
    {"disjoint keys: both kept",
     {"a owned r2 " S1 " " IV " user:m@x.example"},
     {"a owned r1 " S1 " " IV " user:t@x.example", "a owned r1 " S2 " " DEV " group:g@x.example"},
     {"a owned r2 " S1 " " IV " user:m@x.example", "a owned r1 " S1 " " IV " user:t@x.example",
      "a owned r1 " S2 " " DEV " group:g@x.example"},
     "r2"},
    {"same key: this writer's entry wins",
     {"a owned r2 " S1 " " IV " user:m@x.example gc=never"},
     {"a found r1 " S1 " " IV " user:m@x.example shared"},
     {"a owned r2 " S1 " " IV " user:m@x.example gc=never"},
     "r2"},
    {"e-mails compare case-insensitively",
     {"a owned r2 " S1 " " IV " user:M@X.example"},
     {"a owned r1 " S1 " " IV " user:m@x.example"},
     {"a owned r2 " S1 " " IV " user:M@X.example"},
     "r2"},
    {"the condition is part of the key",
     {"a owned r2 " S1 " " DEV " user:m@x.example cond=q3"},
     {"a owned r1 " S1 " " DEV " user:m@x.example cond=q4",
      "a owned r1 " S1 " " DEV " user:m@x.example"},
     {"a owned r2 " S1 " " DEV " user:m@x.example cond=q3",
      "a owned r1 " S1 " " DEV " user:m@x.example cond=q4",
      "a owned r1 " S1 " " DEV " user:m@x.example"},
     "r2"},
    {"role and resource are part of the key",
     {"a owned r2 " S1 " " IV " user:m@x.example"},
     {"a owned r1 " S2 " " IV " user:m@x.example", "a owned r1 " S1 " " DEV " user:m@x.example"},
     {"a owned r2 " S1 " " IV " user:m@x.example", "a owned r1 " S2 " " IV " user:m@x.example",
      "a owned r1 " S1 " " DEV " user:m@x.example"},
     "r2"},
    {"found bindings of the other writer are kept too",
     {"a owned r2 " S1 " " IV " user:m@x.example"},
     {"a found r1 " SA1 " roles/iam.serviceAccountUser user:u@x.example"},
     {"a owned r2 " S1 " " IV " user:m@x.example",
      "a found r1 " SA1 " roles/iam.serviceAccountUser user:u@x.example"},
     "r2"},
    {"no record to merge",
     {"a owned r2 " S1 " " IV " user:m@x.example"},
     {NULL},
     {"a owned r2 " S1 " " IV " user:m@x.example"},
     "r2"},
    {"this writer pruned everything: the other's bindings survive",
     {NULL},
     {"a owned r1 " S1 " " IV " user:t@x.example"},
     {"a owned r1 " S1 " " IV " user:t@x.example"},
     "r1"},
};

static size_t count(const char *const *v)
{
    size_t n = 0;

    while (n < MAXL && v[n] != NULL)
        n++;
    return n;
}

/* App "a"'s record from lines (an empty one named "a" when there are none). */
static void record(struct ledger *l, const char *const *lines)
{
    pf_ledger(l, lines, count(lines));
    if (l->n == 0)
        ledger_app_get(l, "a");
}

static void test_union_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct ledger mine, theirs, out;
        char *got, *want;

        record(&mine, r->mine);
        record(&theirs, r->theirs);
        ledger_init(&out);
        XGROW(out.apps, 1, out.cap);
        ledger_app_union(&out.apps[0], &mine.apps[0],
                         r->theirs[0] != NULL ? &theirs.apps[0] : NULL);
        out.n = 1;
        got = pf_ledger_lines(&out);
        want = pf_join_sorted(r->want, count(r->want));
        if (strcmp(got, want) != 0)
            fail_msg("%s:\ngot:\n%s\nwant:\n%s", r->name, got, want);
        assert_string_equal(out.apps[0].app, "a");
        assert_string_equal(out.apps[0].revision, r->revision);
        free(got);
        free(want);
        ledger_release(&out);
        ledger_release(&theirs);
        ledger_release(&mine);
    }
}

/* The union is a superset of both key sets, and merging the result with
 * either input again changes nothing (a resent write merges with itself). */
static void test_union_idempotent(void **state)
{
    const char *mine_l[] = {"a owned r2 " S1 " " IV " user:m@x.example",
                            "a owned r2 " S2 " " IV " user:both@x.example"};
    const char *theirs_l[] = {"a owned r1 " S2 " " IV " user:both@x.example",
                              "a owned r1 " S3 " " IV " user:t@x.example"};
    struct ledger mine, theirs, out;
    struct ledger_app again;
    char *a, *b, *json1, *json2;

    (void)state;
    pf_ledger(&mine, mine_l, 2);
    pf_ledger(&theirs, theirs_l, 2);
    ledger_init(&out);
    XGROW(out.apps, 1, out.cap);
    ledger_app_union(&out.apps[0], &mine.apps[0], &theirs.apps[0]);
    out.n = 1;
    assert_int_equal(out.apps[0].n, 3);
    ledger_app_union(&again, &out.apps[0], &theirs.apps[0]);
    json1 = ledger_app_encode(&out.apps[0]);
    json2 = ledger_app_encode(&again);
    assert_string_equal(json1, json2);
    ledger_app_release(&again);
    ledger_app_union(&again, &out.apps[0], &out.apps[0]);
    a = ledger_app_encode(&again);
    assert_string_equal(a, json1);
    ledger_app_release(&again);
    b = ledger_app_encode(&mine.apps[0]);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    free(json1);
    free(json2);
    ledger_release(&out);
    ledger_release(&theirs);
    ledger_release(&mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_union_table),
        cmocka_unit_test(test_union_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
