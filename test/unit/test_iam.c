/*
 * test_iam.c - the policy model: member syntax and identity, role syntax,
 * conditions, and editing.  The JSON codec is in test_iam_json.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/caps.h"
#include "api/common/err.h"
#include "api/iam/iam.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- member parsing ---- */

struct member_row {
    const char *in;
    int kind; /* enum iam_member_kind, or -1: rejected */
    bool deleted;
    const char *value; /* accepted: the value part; rejected: a word of the reason */
};

static const struct member_row member_rows[] = {
    /* standalone */
    {"allUsers", IAM_MEMBER_ALL_USERS, false, ""},
    {"allAuthenticatedUsers", IAM_MEMBER_ALL_AUTHENTICATED_USERS, false, ""},
    {"allusers", -1, false, "case-sensitive"},
    {"AllUsers", -1, false, "case-sensitive"},
    {"allAuthenticatedusers", -1, false, "case-sensitive"},
    {"allUsers:x", -1, false, "unknown member type"},
    {"allUsersX", -1, false, "unknown member type"},
    /* e-mail kinds */
    {"user:eve@example.com", IAM_MEMBER_USER, false, "eve@example.com"},
    {"user:Eve.Smith+tag@Example.COM", IAM_MEMBER_USER, false, "Eve.Smith+tag@Example.COM"},
    {"group:web@acme.example", IAM_MEMBER_GROUP, false, "web@acme.example"},
    {"serviceAccount:pusher@my-proj.iam.gserviceaccount.com", IAM_MEMBER_SERVICE_ACCOUNT, false,
     "pusher@my-proj.iam.gserviceaccount.com"},
    {"serviceAccount:123-compute@developer.gserviceaccount.com", IAM_MEMBER_SERVICE_ACCOUNT, false,
     "123-compute@developer.gserviceaccount.com"},
    {"serviceAccount:my-proj.svc.id.goog[default/ksa]", IAM_MEMBER_SERVICE_ACCOUNT, false,
     "my-proj.svc.id.goog[default/ksa]"},
    {"serviceAccount:my-proj.svc.id.goog[ns-1/my.ksa_2]", IAM_MEMBER_SERVICE_ACCOUNT, false,
     "my-proj.svc.id.goog[ns-1/my.ksa_2]"},
    {"serviceAccount:my-proj.svc.id.goog[default]", -1, false, "serviceAccount:"},
    {"serviceAccount:my-proj.svc.id.goog[/ksa]", -1, false, "serviceAccount:"},
    {"serviceAccount:my-proj.svc.id.goog[ns/]", -1, false, "serviceAccount:"},
    {"serviceAccount:.svc.id.goog[ns/ksa]", -1, false, "serviceAccount:"},
    {"serviceAccount:my-proj.svc.id.goog[ns/ksa", -1, false, "serviceAccount:"},
    {"user:", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve", -1, false, "expected an e-mail after 'user:'"},
    {"user:@example.com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@localhost", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@@example.com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@a@example.com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@example..com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@.example.com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@example.com.", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve@exa_mple.com", -1, false, "expected an e-mail after 'user:'"},
    {"user:eve smith@example.com", -1, false, "space"},
    {"user:eve@example.com ", -1, false, "space"},
    {" user:eve@example.com", -1, false, "space"},
    {"user:eve\t@example.com", -1, false, "space"},
    {"user:eve\x7f@example.com", -1, false, "space"},
    {"group:", -1, false, "expected an e-mail after 'group:'"},
    {"group:devs", -1, false, "expected an e-mail after 'group:'"},
    {"serviceAccount:", -1, false, "serviceAccount:"},
    {"serviceAccount:pusher", -1, false, "serviceAccount:"},
    /* prefixes are case-sensitive, and there is no plural */
    {"User:eve@example.com", -1, false, "case-sensitive"},
    {"serviceaccount:sa@p.iam.gserviceaccount.com", -1, false, "case-sensitive"},
    {"users:eve@example.com", -1, false, "unknown member type"},
    {"eve@example.com", -1, false, "unknown member type"},
    {"projectOwner:my-proj", -1, false, "unknown member type"},
    {"", -1, false, "empty"},
    /* domain */
    {"domain:acme.example", IAM_MEMBER_DOMAIN, false, "acme.example"},
    {"domain:Sub.Acme-Corp.example", IAM_MEMBER_DOMAIN, false, "Sub.Acme-Corp.example"},
    {"domain:", -1, false, "domain name"},
    {"domain:localhost", -1, false, "domain name"},
    {"domain:eve@acme.example", -1, false, "domain name"},
    /* principal URIs */
    {"principal://iam.googleapis.com/locations/global/workforcePools/p1/subject/s@x",
     IAM_MEMBER_PRINCIPAL, false,
     "iam.googleapis.com/locations/global/workforcePools/p1/subject/s@x"},
    {"principalSet://iam.googleapis.com/locations/global/workforcePools/p1/group/g1",
     IAM_MEMBER_PRINCIPAL_SET, false,
     "iam.googleapis.com/locations/global/workforcePools/p1/group/g1"},
    {"principalSet://iam.googleapis.com/locations/global/workforcePools/p1/attribute.dept/eng",
     IAM_MEMBER_PRINCIPAL_SET, false,
     "iam.googleapis.com/locations/global/workforcePools/p1/attribute.dept/eng"},
    {"principalSet://iam.googleapis.com/locations/global/workforcePools/p1/*",
     IAM_MEMBER_PRINCIPAL_SET, false, "iam.googleapis.com/locations/global/workforcePools/p1/*"},
    {"principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/"
     "subject/repo:acme/app:ref:refs/heads/main",
     IAM_MEMBER_PRINCIPAL, false,
     "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/subject/"
     "repo:acme/app:ref:refs/heads/main"},
    {"principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/"
     "group/g",
     IAM_MEMBER_PRINCIPAL_SET, false,
     "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/group/g"},
    {"principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/"
     "attribute.repository/acme/app",
     IAM_MEMBER_PRINCIPAL_SET, false,
     "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/attribute."
     "repository/acme/app"},
    {"principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/*",
     IAM_MEMBER_PRINCIPAL_SET, false,
     "iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/w/*"},
    {"principal://iam.googleapis.com/", -1, false, "principal://iam.googleapis.com/"},
    {"principal://example.com/subject/x", -1, false, "principal://iam.googleapis.com/"},
    {"principalSet://goog/public:all", -1, false, "principalSet://iam.googleapis.com/"},
    {"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/a b", -1, false,
     "space"},
    {"Principal://iam.googleapis.com/x", -1, false, "case-sensitive"},
    /* deleted members */
    {"deleted:user:eve@example.com?uid=123456789012345678901", IAM_MEMBER_USER, true,
     "eve@example.com"},
    {"deleted:user:eve@example.com", IAM_MEMBER_USER, true, "eve@example.com"},
    {"deleted:group:devs@example.com?uid=42", IAM_MEMBER_GROUP, true, "devs@example.com"},
    {"deleted:serviceAccount:sa@p.iam.gserviceaccount.com?uid=1", IAM_MEMBER_SERVICE_ACCOUNT, true,
     "sa@p.iam.gserviceaccount.com"},
    {"deleted:principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s",
     IAM_MEMBER_PRINCIPAL, true, "iam.googleapis.com/locations/global/workforcePools/p/subject/s"},
    {"deleted:user:eve@example.com?uid=", -1, false, "?uid="},
    {"deleted:user:eve@example.com?uid=12a", -1, false, "?uid="},
    {"deleted:user:eve?uid=1", -1, false, "expected an e-mail after 'user:'"},
    {"deleted:", -1, false, "must wrap"},
    {"deleted:allUsers", -1, false, "must wrap"},
    {"deleted:domain:acme.example", -1, false, "must wrap"},
    {"deleted:principalSet://iam.googleapis.com/locations/global/workforcePools/p/*", -1, false,
     "must wrap"},
    {"deleted:deleted:user:eve@example.com", -1, false, "must wrap"},
    {"Deleted:user:eve@example.com", -1, false, "unknown member type"},
    {"user:eve@example.com?uid=1", -1, false, "expected an e-mail after 'user:'"},
};

static void test_member_parse(void **state)
{
    (void)state;
    assert_true(N_ELEMS(member_rows) >= 40);
    for (size_t i = 0; i < N_ELEMS(member_rows); i++) {
        const struct member_row *row = &member_rows[i];
        struct iam_member m;
        const char *why = NULL;
        int r = iam_member_parse(row->in, &m, &why);

        print_message("row %zu: '%s'\n", i, row->in);
        if (row->kind < 0) {
            assert_int_equal(r, ERR_PARSE);
            assert_non_null(why);
            assert_non_null(strstr(why, row->value));
            continue;
        }
        assert_int_equal(r, 0);
        assert_int_equal(m.kind, row->kind);
        assert_int_equal(m.deleted, row->deleted);
        assert_int_equal(m.value_len, strlen(row->value));
        assert_memory_equal(m.value, row->value, m.value_len);
    }
}

/* "user:aaa...a@example.com", n bytes long (caller frees). */
static char *long_member(size_t n)
{
    char *s = malloc(n + 1);

    memcpy(s, "user:", 5);
    memset(s + 5, 'a', n - 5 - 12);
    memcpy(s + n - 12, "@example.com", 12);
    s[n] = '\0';
    return s;
}

static void test_member_parse_cap(void **state)
{
    char *at_cap = long_member(CAP_NAME_BYTES), *over = long_member(CAP_NAME_BYTES + 1);
    const char *why = NULL;

    (void)state;
    assert_int_equal(iam_member_parse(at_cap, NULL, NULL), 0);
    assert_int_equal(iam_member_parse(over, NULL, &why), ERR_PARSE);
    assert_non_null(strstr(why, "longer"));
    assert_int_equal(iam_member_parse(NULL, NULL, &why), ERR_PARSE);
    free(at_cap);
    free(over);
}

/* ---- member identity ---- */

struct eq_row {
    const char *a;
    const char *b;
    bool eq;
};

static const struct eq_row eq_rows[] = {
    {"user:eve@example.com", "user:eve@example.com", true},
    {"user:Eve@Example.COM", "user:eve@example.com", true},
    {"group:Web@Acme.Example", "group:web@acme.example", true},
    {"serviceAccount:SA@P.iam.gserviceaccount.com", "serviceAccount:sa@p.iam.gserviceaccount.com",
     true},
    {"serviceAccount:P.svc.id.goog[NS/KSA]", "serviceAccount:p.svc.id.goog[ns/ksa]", true},
    {"domain:ACME.example", "domain:acme.example", true},
    {"user:eve@example.com", "group:eve@example.com", false},
    {"user:eve@example.com", "serviceAccount:eve@example.com", false},
    {"user:eve@example.com", "user:eve@example.org", false},
    {"user:eve@example.com", "User:eve@example.com", false},
    {"allUsers", "allUsers", true},
    {"allUsers", "allusers", false},
    {"allUsers", "allAuthenticatedUsers", false},
    {"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/Eve",
     "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/Eve", true},
    {"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/Eve",
     "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/eve", false},
    {"principalSet://iam.googleapis.com/locations/global/workforcePools/p/*",
     "principal://iam.googleapis.com/locations/global/workforcePools/p/*", false},
    {"deleted:user:eve@example.com?uid=1", "deleted:user:eve@example.com?uid=1", true},
    {"deleted:user:Eve@example.com?uid=1", "deleted:user:eve@example.com?uid=1", true},
    {"deleted:user:eve@example.com?uid=1", "deleted:user:eve@example.com?uid=2", false},
    {"deleted:user:eve@example.com?uid=1", "deleted:user:eve@example.com", false},
    {"deleted:user:eve@example.com?uid=1", "user:eve@example.com", false},
    {"deleted:user:eve@example.com", "user:eve@example.com", false},
    {"deleted:principal://iam.googleapis.com/locations/global/workforcePools/p/subject/A",
     "deleted:principal://iam.googleapis.com/locations/global/workforcePools/p/subject/a", false},
    /* strings that do not parse compare exactly */
    {"projectOwner:My-Proj", "projectOwner:My-Proj", true},
    {"projectOwner:My-Proj", "projectOwner:my-proj", false},
    {"user:EVE", "user:eve", false},
    {"", "", true},
};

static void test_member_eq(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(eq_rows); i++) {
        const struct eq_row *row = &eq_rows[i];

        print_message("row %zu: '%s' vs '%s'\n", i, row->a, row->b);
        assert_int_equal(iam_member_eq(row->a, row->b), row->eq);
        assert_int_equal(iam_member_eq(row->b, row->a), row->eq);
        assert_int_equal(iam_member_cmp(row->a, row->b) == 0, row->eq);
        /* antisymmetric */
        assert_true((iam_member_cmp(row->a, row->b) < 0) == (iam_member_cmp(row->b, row->a) > 0));
    }
}

static int cmp_members(const void *a, const void *b)
{
    return iam_member_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_member_cmp_sorts(void **state)
{
    const char *v[] = {"user:b@x.com", "user:A@x.com", "group:z@x.com",
                       "user:a@x.com", "allUsers",     "user:B@X.com"};

    (void)state;
    qsort(v, N_ELEMS(v), sizeof(v[0]), cmp_members);
    assert_string_equal(v[0], "allUsers");
    assert_string_equal(v[1], "group:z@x.com");
    /* equal members end up next to each other */
    assert_true(iam_member_eq(v[2], "user:a@x.com") && iam_member_eq(v[3], "user:a@x.com"));
    assert_true(iam_member_eq(v[4], "user:b@x.com") && iam_member_eq(v[5], "user:b@x.com"));
    for (size_t i = 0; i + 1 < N_ELEMS(v); i++)
        assert_true(iam_member_cmp(v[i], v[i + 1]) <= 0);
}

struct domain_row {
    const char *member;
    const char *domain;  /* NULL: none */
    const char *project; /* NULL: none */
};

static const struct domain_row domain_rows[] = {
    {"user:eve@Example.COM", "example.com", NULL},
    {"group:web@acme.example", "acme.example", NULL},
    {"serviceAccount:api@Acme-Payments.iam.gserviceaccount.com",
     "acme-payments.iam.gserviceaccount.com", "acme-payments"},
    {"serviceAccount:123-compute@developer.gserviceaccount.com", "developer.gserviceaccount.com",
     NULL},
    {"serviceAccount:x@a.b.iam.gserviceaccount.com", "a.b.iam.gserviceaccount.com", NULL},
    {"serviceAccount:x@iam.gserviceaccount.com", "iam.gserviceaccount.com", NULL},
    {"serviceAccount:p.svc.id.goog[ns/ksa]", NULL, NULL},
    {"deleted:serviceAccount:a@p.iam.gserviceaccount.com?uid=7", "p.iam.gserviceaccount.com", "p"},
    {"domain:acme.example", NULL, NULL},
    {"allUsers", NULL, NULL},
    {"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/a@b.com", NULL,
     NULL},
    {"user:not-an-email", NULL, NULL},
};

static void test_member_domain_project(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(domain_rows); i++) {
        const struct domain_row *row = &domain_rows[i];
        char *d = iam_member_email_domain(row->member);
        char *p = iam_member_sa_project(row->member);

        print_message("row %zu: '%s'\n", i, row->member);
        if (row->domain == NULL)
            assert_null(d);
        else
            assert_string_equal(d, row->domain);
        if (row->project == NULL)
            assert_null(p);
        else
            assert_string_equal(p, row->project);
        free(d);
        free(p);
    }
}

/* ---- roles ---- */

struct role_row {
    const char *role;
    const char *why; /* NULL: accepted; else a word of the reason */
};

static const struct role_row role_rows[] = {
    {"roles/run.invoker", NULL},
    {"roles/iam.serviceAccountUser", NULL},
    {"roles/viewer", NULL},
    {"roles/a_b.c9", NULL},
    {"projects/my-proj/roles/customInvoker", NULL},
    {"projects/example.com:my-proj/roles/custom.role_1", NULL},
    {"organizations/123456789/roles/orgRole", NULL},
    {"roles/iam.serviceAccountAdmin_withcond_2b17cc25d2cd9e2c54d8", "_withcond_"},
    {"projects/p/roles/x_withcond_abc", "_withcond_"},
    {"", "empty"},
    {"roles/", "letters, digits"},
    {"roles/run-invoker", "letters, digits"},
    {"roles/run invoker", "letters, digits"},
    {"roles/run/invoker", "letters, digits"},
    {"run.invoker", "expected roles/NAME"},
    {"Roles/viewer", "expected roles/NAME"},
    {"projects//roles/x", "expected roles/NAME"},
    {"projects/p/role/x", "expected roles/NAME"},
    {"projects/p", "expected roles/NAME"},
    {"projects/p/roles/", "letters, digits"},
    {"projects/p q/roles/x", "expected roles/NAME"},
    {"organizations/acme/roles/x", "expected roles/NAME"},
    {"organizations/123/roles/x-y", "letters, digits"},
    {"folders/123/roles/x", "expected roles/NAME"},
};

static void test_role_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(role_rows); i++) {
        const struct role_row *row = &role_rows[i];
        const char *why = NULL;
        int r = iam_role_check(row->role, &why);

        print_message("row %zu: '%s'\n", i, row->role);
        if (row->why == NULL) {
            assert_int_equal(r, 0);
        } else {
            assert_int_equal(r, ERR_PARSE);
            assert_non_null(why);
            assert_non_null(strstr(why, row->why));
        }
    }
    assert_int_equal(iam_role_check(NULL, NULL), ERR_PARSE);
}

/* ---- conditions ---- */

/* struct iam_cond holds char *, so the test strings are arrays. */
static char s_expires[] = "expires", s_Expires[] = "Expires", s_other[] = "other";
static char s_x[] = "request.time < x", s_y[] = "request.time < y", s_true[] = "true";
static char s_empty[] = "", s_d[] = "d", s_l[] = "l", s_somewhere[] = "somewhere";
static char s_2030[] = "request.time < timestamp('2030-01-01T00:00:00Z')";

static void test_cond_eq(void **state)
{
    struct iam_cond a = {.title = s_expires, .expression = s_x};
    struct iam_cond b = {.title = s_expires, .expression = s_x, .location = s_l};
    struct iam_cond c = {.title = s_expires, .description = s_empty, .expression = s_x};
    struct iam_cond d = {.title = s_expires, .expression = s_y};
    struct iam_cond e = {.title = s_Expires, .expression = s_x};
    struct iam_cond f = {.title = s_expires, .description = s_d, .expression = s_x};
    struct iam_cond empty = {0};
    struct iam_cond *dup;

    (void)state;
    assert_true(iam_cond_eq(NULL, NULL));
    assert_false(iam_cond_eq(&a, NULL));
    assert_false(iam_cond_eq(NULL, &empty));
    assert_true(iam_cond_cmp(NULL, &empty) < 0);
    assert_true(iam_cond_eq(&a, &b)); /* location is not part of the identity */
    assert_true(iam_cond_eq(&a, &c)); /* absent == empty */
    assert_false(iam_cond_eq(&a, &d));
    assert_false(iam_cond_eq(&a, &e));
    assert_false(iam_cond_eq(&a, &f));
    assert_true(iam_cond_cmp(&a, &d) < 0 && iam_cond_cmp(&d, &a) > 0);

    dup = iam_cond_dup(&b);
    assert_non_null(dup);
    assert_ptr_not_equal(dup->title, b.title);
    assert_string_equal(dup->title, "expires");
    assert_null(dup->description);
    assert_string_equal(dup->location, "l");
    assert_true(iam_cond_eq(dup, &b));
    iam_cond_free(dup);
    assert_null(iam_cond_dup(NULL));
    iam_cond_free(NULL);
}

/* ---- editing ---- */

static const struct iam_cond cond_expires = {.title = s_expires, .expression = s_2030};
static const struct iam_cond cond_expires_loc = {
    .title = s_expires, .expression = s_2030, .location = s_somewhere};
static const struct iam_cond cond_other = {.title = s_other, .expression = s_true};

static void test_edit_add(void **state)
{
    struct iam_policy p;
    struct iam_binding *b;

    (void)state;
    iam_policy_init(&p);
    /* add creates a binding */
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:a@x.com"), 1);
    assert_int_equal(p.n_bindings, 1);
    assert_false(p.has_version); /* unconditional: version untouched */
    /* add to the existing binding; a case variant is the same member */
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:b@x.com"), 1);
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:A@X.COM"), 0);
    assert_int_equal(p.n_bindings, 1);
    assert_int_equal(p.bindings[0].n_members, 2);
    assert_string_equal(p.bindings[0].members[1], "user:b@x.com");
    /* another role is another binding */
    assert_int_equal(iam_policy_add_member(&p, "roles/viewer", NULL, "user:a@x.com"), 1);
    assert_int_equal(p.n_bindings, 2);
    /* same role with a condition is a different binding, and raises the version */
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", &cond_expires, "user:a@x.com"),
                     1);
    assert_int_equal(p.n_bindings, 3);
    assert_true(p.has_version);
    assert_int_equal(p.version, 3);
    assert_non_null(p.bindings[2].cond);
    assert_ptr_not_equal(p.bindings[2].cond, &cond_expires);
    /* location does not split bindings */
    assert_int_equal(
        iam_policy_add_member(&p, "roles/run.invoker", &cond_expires_loc, "user:a@x.com"), 0);
    assert_int_equal(iam_policy_add_member(&p, "roles/run.invoker", &cond_other, "user:a@x.com"),
                     1);
    assert_int_equal(p.n_bindings, 4);

    b = iam_policy_find(&p, "roles/run.invoker", NULL);
    assert_ptr_equal(b, &p.bindings[0]);
    b = iam_policy_find(&p, "roles/run.invoker", &cond_expires);
    assert_ptr_equal(b, &p.bindings[2]);
    assert_null(iam_policy_find(&p, "roles/run.Invoker", NULL)); /* roles compare exactly */
    assert_null(iam_policy_find(&p, "roles/viewer", &cond_expires));

    assert_true(iam_policy_has(&p, "roles/run.invoker", NULL, "user:B@x.com"));
    assert_true(iam_policy_has(&p, "roles/run.invoker", &cond_expires, "user:a@x.com"));
    assert_false(iam_policy_has(&p, "roles/run.invoker", &cond_expires, "user:b@x.com"));
    assert_false(iam_policy_has(&p, "roles/viewer", NULL, "user:b@x.com"));
    assert_true(iam_policy_has_conditions(&p));
    iam_policy_release(&p);
    assert_int_equal(p.n_bindings, 0);
    assert_null(p.bindings);
}

static void test_edit_remove(void **state)
{
    struct iam_policy p;

    (void)state;
    iam_policy_init(&p);
    iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:a@x.com");
    iam_policy_add_member(&p, "roles/run.invoker", NULL, "user:b@x.com");
    iam_policy_add_member(&p, "roles/run.invoker", &cond_expires, "user:a@x.com");
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:a@x.com");
    p.version = 1; /* as if read before the condition was added elsewhere */

    /* removing from the unconditional binding leaves the conditional one */
    assert_int_equal(iam_policy_remove_member(&p, "roles/run.invoker", NULL, "user:A@x.com"), 1);
    assert_int_equal(p.version, 3); /* the policy holds a condition */
    assert_int_equal(p.n_bindings, 3);
    assert_false(iam_policy_has(&p, "roles/run.invoker", NULL, "user:a@x.com"));
    assert_true(iam_policy_has(&p, "roles/run.invoker", &cond_expires, "user:a@x.com"));
    assert_int_equal(iam_policy_remove_member(&p, "roles/run.invoker", NULL, "user:a@x.com"), 0);
    assert_int_equal(iam_policy_remove_member(&p, "roles/nope", NULL, "user:a@x.com"), 0);
    /* removing the last member drops the binding, keeping the order of the rest */
    assert_int_equal(
        iam_policy_remove_member(&p, "roles/run.invoker", &cond_expires, "user:a@x.com"), 1);
    assert_int_equal(p.n_bindings, 2);
    assert_string_equal(p.bindings[0].role, "roles/run.invoker");
    assert_null(p.bindings[0].cond);
    assert_string_equal(p.bindings[1].role, "roles/viewer");
    assert_false(iam_policy_has_conditions(&p));
    assert_int_equal(iam_policy_remove_member(&p, "roles/viewer", NULL, "user:a@x.com"), 1);
    assert_int_equal(iam_policy_remove_member(&p, "roles/run.invoker", NULL, "user:b@x.com"), 1);
    assert_int_equal(p.n_bindings, 0);
    iam_policy_release(&p);
}

static void test_edit_remove_unconditional_keeps_version(void **state)
{
    struct iam_policy p;

    (void)state;
    iam_policy_init(&p);
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:a@x.com");
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:b@x.com");
    p.version = 1;
    p.has_version = true;
    assert_int_equal(iam_policy_remove_member(&p, "roles/viewer", NULL, "user:a@x.com"), 1);
    assert_int_equal(p.version, 1); /* no condition anywhere: version as read */
    iam_policy_release(&p);
}

/* A policy read from elsewhere may repeat a (role, condition) or a member. */
static void test_edit_duplicates(void **state)
{
    struct iam_policy p;
    struct iam_binding *b;

    (void)state;
    iam_policy_init(&p);
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:a@x.com");
    iam_policy_add_member(&p, "roles/editor", NULL, "user:a@x.com");
    /* forge a second roles/viewer binding holding two spellings of b */
    b = &p.bindings[1];
    free(b->role);
    b->role = strdup("roles/viewer");
    free(b->members[0]);
    b->members[0] = strdup("user:b@x.com");
    iam_policy_add_member(&p, "roles/editor", NULL, "user:c@x.com");
    free(p.bindings[2].role);
    p.bindings[2].role = strdup("roles/viewer");
    free(p.bindings[2].members[0]);
    p.bindings[2].members[0] = strdup("user:B@x.com");

    assert_true(iam_policy_has(&p, "roles/viewer", NULL, "user:b@x.com"));
    assert_int_equal(iam_policy_add_member(&p, "roles/viewer", NULL, "user:b@X.com"), 0);
    assert_int_equal(iam_policy_remove_member(&p, "roles/viewer", NULL, "user:b@x.com"), 1);
    assert_false(iam_policy_has(&p, "roles/viewer", NULL, "user:B@x.com"));
    assert_int_equal(p.n_bindings, 1);
    assert_string_equal(p.bindings[0].members[0], "user:a@x.com");
    iam_policy_release(&p);
}

static void test_copy(void **state)
{
    struct iam_policy p, q;

    (void)state;
    iam_policy_init(&p);
    iam_policy_add_member(&p, "roles/viewer", NULL, "user:a@x.com");
    iam_policy_add_member(&p, "roles/viewer", &cond_expires_loc, "user:b@x.com");
    p.etag = strdup("BwX=");
    iam_policy_copy(&q, &p);
    assert_int_equal(q.n_bindings, 2);
    assert_true(q.has_version);
    assert_int_equal(q.version, 3);
    assert_string_equal(q.etag, "BwX=");
    assert_ptr_not_equal(q.etag, p.etag);
    assert_ptr_not_equal(q.bindings[1].cond, p.bindings[1].cond);
    assert_string_equal(q.bindings[1].cond->location, "somewhere");
    assert_ptr_not_equal(q.bindings[0].members[0], p.bindings[0].members[0]);
    iam_policy_release(&p);
    /* the copy stands alone */
    assert_int_equal(iam_policy_add_member(&q, "roles/viewer", NULL, "user:c@x.com"), 1);
    assert_true(iam_policy_has(&q, "roles/viewer", &cond_expires, "user:b@x.com"));
    iam_policy_release(&q);
    iam_policy_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_parse),
        cmocka_unit_test(test_member_parse_cap),
        cmocka_unit_test(test_member_eq),
        cmocka_unit_test(test_member_cmp_sorts),
        cmocka_unit_test(test_member_domain_project),
        cmocka_unit_test(test_role_check),
        cmocka_unit_test(test_cond_eq),
        cmocka_unit_test(test_edit_add),
        cmocka_unit_test(test_edit_remove),
        cmocka_unit_test(test_edit_remove_unconditional_keeps_version),
        cmocka_unit_test(test_edit_duplicates),
        cmocka_unit_test(test_copy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
