/*
 * test_source_dir.c - the directory source on a real temporary tree:
 * recursion, extensions, hidden directories, symlinks inside and outside the
 * root, caps, revision stability and sensitivity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "controller/source/source.h"

static char root[256];

static void put(const char *rel, const char *content)
{
    char *p = xasprintf("%s/%s", root, rel);
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(p);
}

static void mkd(const char *rel)
{
    char *p = xasprintf("%s/%s", root, rel);

    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/roam-src-test-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    mkd("apps");
    mkd("apps/team-a");
    mkd(".git");
    put("apps/a.yaml", "a: 1\n");
    put("apps/team-a/b.yml", "b: 2\n");
    put("apps/readme.md", "not a document\n");
    put(".git/c.yaml", "hidden: true\n");
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", root);
    int rc;

    (void)state;
    rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void test_reads_documents_only(void **state)
{
    struct src_snapshot s;

    (void)state;
    assert_int_equal(src_dir_read(root, &s), 0);
    assert_true(s.complete);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.files[0].path, "apps/a.yaml");
    assert_string_equal(s.files[1].path, "apps/team-a/b.yml");
    assert_string_equal(s.files[1].data, "b: 2\n");
    assert_non_null(s.revision);
    assert_int_equal(strncmp(s.revision, "dir:", 4), 0);
    assert_int_equal(strlen(s.revision), 4 + 16);
    src_snapshot_release(&s);
}

static void test_revision_tracks_content(void **state)
{
    struct src_snapshot a, b, c;
    char *url = xasprintf("file://%s", root);

    (void)state;
    src_dir_read(root, &a);
    src_dir_read(url, &b); /* file:// form: same tree, same revision */
    assert_string_equal(a.revision, b.revision);
    put("apps/a.yaml", "a: 3\n");
    src_dir_read(root, &c);
    assert_string_not_equal(a.revision, c.revision);
    put("apps/a.yaml", "a: 1\n");
    src_snapshot_release(&a);
    src_snapshot_release(&b);
    src_snapshot_release(&c);
    free(url);
}

static void test_symlinks(void **state)
{
    struct src_snapshot s;
    char *inside = xasprintf("%s/apps/link-in.yaml", root);
    char *outside = xasprintf("%s/apps/link-out.yaml", root);

    (void)state;
    assert_int_equal(symlink("a.yaml", inside), 0);
    assert_int_equal(symlink("/etc/hostname", outside), 0);
    assert_true(src_dir_read(root, &s) < 0);
    assert_false(s.complete);
    /* The link inside is read, the one leaving the root is refused by name. */
    assert_int_equal(s.n, 3);
    assert_int_equal(s.errs.n, 1);
    assert_string_equal(s.errs.v[0].file, "apps/link-out.yaml");
    assert_non_null(strstr(s.errs.v[0].msg, "leaves the source root"));
    src_snapshot_release(&s);
    unlink(inside);
    unlink(outside);
    free(inside);
    free(outside);
}

static void test_file_cap(void **state)
{
    struct src_snapshot s;
    char *big = xmalloc(CAP_MANIFEST_BYTES + 2);

    (void)state;
    memset(big, 'x', CAP_MANIFEST_BYTES + 1);
    big[CAP_MANIFEST_BYTES + 1] = '\0';
    put("apps/big.yaml", big);
    assert_true(src_dir_read(root, &s) < 0);
    assert_false(s.complete);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.errs.v[0].file, "apps/big.yaml");
    assert_int_equal(s.errs.v[0].code, ERR_LIMIT);
    src_snapshot_release(&s);
    free(big);
    big = xasprintf("%s/apps/big.yaml", root);
    unlink(big);
    free(big);
}

static void test_missing_root(void **state)
{
    struct src_snapshot s;

    (void)state;
    assert_int_equal(src_dir_read("/nonexistent/roam/source", &s), ERR_NOTFOUND);
    assert_false(s.complete);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.errs.n, 1);
    src_snapshot_release(&s);
}

static void test_single_file(void **state)
{
    struct src_snapshot s;
    char *f = xasprintf("%s/apps/readme.md", root);

    (void)state;
    /* A file named explicitly is read whatever its extension. */
    assert_int_equal(src_dir_read(f, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.files[0].path, f);
    src_snapshot_release(&s);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_documents_only),
        cmocka_unit_test(test_revision_tracks_content),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_file_cap),
        cmocka_unit_test(test_missing_root),
        cmocka_unit_test(test_single_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
