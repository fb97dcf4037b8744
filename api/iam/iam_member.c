/*
 * iam_member.c - member and role syntax, member identity.
 *
 * Members (CONTRACTS.md §3.3) are split at a known prefix, never at "the
 * first colon", because `principal://` and `principalSet://` URIs carry
 * colons of their own and are opaque.  Prefixes are case-sensitive, as in
 * IAM: `User:x@example.com` is not a member.  `deleted:` wraps a user, group,
 * service account or principal member and may end with `?uid=DIGITS`.
 *
 * Identity: two members are the same when their strings are equal once the
 * e-mail or domain part of user:, group:, serviceAccount: and domain:
 * members is lower-cased (IAM may return e-mails lower-cased).  Everything
 * else - prefixes, URIs, a uid suffix, and any string that does not parse -
 * compares exactly.  Equality and order are computed on the fly, byte by
 * byte, over that folded view; nothing is allocated.
 *
 * The syntax checked here is what documents may declare.  A policy read from
 * Google is not held to it (iam_json.c only checks types), so that a member
 * form roam does not know never blocks reconciling the others.
 */
#include "iam.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/caps.h"
#include "../common/str.h"
#include "../common/xalloc.h"

#define DELETED_PREFIX "deleted:"
#define UID_MARK "?uid="
#define GKE_MARK ".svc.id.goog["
#define SA_DOMAIN_SUFFIX ".iam.gserviceaccount.com"
#define PRINCIPAL_HOST "iam.googleapis.com/"

static const char why_empty[] = "empty member";
static const char why_long[] = "member longer than the name cap";
static const char why_space[] = "member contains a space or a control character";
static const char why_unknown[] = "unknown member type (expected user:, group:, serviceAccount:, "
                                  "domain:, principal://, principalSet://, deleted:, allUsers "
                                  "or allAuthenticatedUsers)";
static const char why_case[] = "member types are case-sensitive (user:, group:, serviceAccount:, "
                               "domain:, principal://, principalSet://, allUsers, "
                               "allAuthenticatedUsers)";
static const char why_deleted[] =
    "'deleted:' must wrap a user:, group:, serviceAccount: or principal:// member";
static const char why_uid[] = "expected digits after '?uid='";

struct kind_def {
    const char *prefix;
    enum iam_member_kind kind;
    const char *why; /* reason when the value after the prefix is malformed */
};

/* Standalone members are matched whole; the others by prefix. */
static const struct kind_def kinds[] = {
    {"allUsers", IAM_MEMBER_ALL_USERS, NULL},
    {"allAuthenticatedUsers", IAM_MEMBER_ALL_AUTHENTICATED_USERS, NULL},
    {"user:", IAM_MEMBER_USER, "expected an e-mail after 'user:'"},
    {"group:", IAM_MEMBER_GROUP, "expected an e-mail after 'group:'"},
    {"serviceAccount:", IAM_MEMBER_SERVICE_ACCOUNT,
     "expected an e-mail or PROJECT.svc.id.goog[NAMESPACE/NAME] after 'serviceAccount:'"},
    {"domain:", IAM_MEMBER_DOMAIN, "expected a domain name after 'domain:'"},
    {"principal://", IAM_MEMBER_PRINCIPAL,
     "expected principal://iam.googleapis.com/ followed by a path"},
    {"principalSet://", IAM_MEMBER_PRINCIPAL_SET,
     "expected principalSet://iam.googleapis.com/ followed by a path"},
};

static bool is_standalone(enum iam_member_kind k)
{
    return k == IAM_MEMBER_ALL_USERS || k == IAM_MEMBER_ALL_AUTHENTICATED_USERS;
}

static bool is_folded(enum iam_member_kind k)
{
    return k == IAM_MEMBER_USER || k == IAM_MEMBER_GROUP || k == IAM_MEMBER_SERVICE_ACCOUNT ||
           k == IAM_MEMBER_DOMAIN;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool all_chars(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && (s[i] == '\0' || strchr(extra, s[i]) == NULL))
            return false;
    return true;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* A DNS name with at least one dot: `example.com`, `a.b-c.example`. */
static bool domain_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || memchr(s, '.', n) == NULL)
        return false;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
    return all_chars(s, n, "-.");
}

/* local@domain with exactly one '@'.  Spaces and control characters were
 * refused before (iam_member_parse checks the whole string). */
static bool email_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t local;

    if (at == NULL)
        return false;
    local = (size_t)(at - s);
    if (local == 0 || memchr(at + 1, '@', n - local - 1) != NULL)
        return false;
    return domain_ok(at + 1, n - local - 1);
}

/* GKE workload identity: PROJECT.svc.id.goog[NAMESPACE/KSA]. */
static bool gke_ok(const char *s, size_t n)
{
    const char *mark = NULL, *slash;
    size_t plen, inner;

    for (size_t i = 0; i + strlen(GKE_MARK) <= n; i++)
        if (memcmp(s + i, GKE_MARK, strlen(GKE_MARK)) == 0) {
            mark = s + i;
            break;
        }
    if (mark == NULL || n == 0 || s[n - 1] != ']')
        return false;
    plen = (size_t)(mark - s);
    if (plen == 0 || !all_chars(s, plen, "-.:"))
        return false;
    s = mark + strlen(GKE_MARK);
    inner = n - plen - strlen(GKE_MARK) - 1;
    slash = memchr(s, '/', inner);
    if (slash == NULL || slash == s || slash == s + inner - 1)
        return false;
    return all_chars(s, (size_t)(slash - s), "-._") &&
           all_chars(slash + 1, inner - (size_t)(slash - s) - 1, "-._");
}

static bool principal_ok(const char *s, size_t n)
{
    size_t hlen = strlen(PRINCIPAL_HOST);

    return n > hlen && memcmp(s, PRINCIPAL_HOST, hlen) == 0;
}

static bool value_ok(enum iam_member_kind k, const char *s, size_t n)
{
    switch (k) {
    case IAM_MEMBER_USER:
    case IAM_MEMBER_GROUP:
        return email_ok(s, n);
    case IAM_MEMBER_SERVICE_ACCOUNT:
        return email_ok(s, n) || gke_ok(s, n);
    case IAM_MEMBER_DOMAIN:
        return domain_ok(s, n);
    case IAM_MEMBER_PRINCIPAL:
    case IAM_MEMBER_PRINCIPAL_SET:
        return principal_ok(s, n);
    default:
        return n == 0;
    }
}

/* Does s[0..n) start with (or, for standalone kinds, equal) the prefix,
 * compared with or without case? */
static bool kind_matches(const struct kind_def *d, const char *s, size_t n, bool ci)
{
    size_t plen = strlen(d->prefix);

    if (is_standalone(d->kind) ? n != plen : n < plen)
        return false;
    return ci ? strncasecmp(s, d->prefix, plen) == 0 : memcmp(s, d->prefix, plen) == 0;
}

/* Parses a member without `deleted:` from s[0..n). */
static const char *parse_plain(const char *s, size_t n, struct iam_member *m)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const struct kind_def *d = &kinds[i];
        size_t plen = strlen(d->prefix);

        if (!kind_matches(d, s, n, false))
            continue;
        if (!value_ok(d->kind, s + plen, n - plen))
            return d->why;
        m->kind = d->kind;
        m->value = s + plen;
        m->value_len = n - plen;
        return NULL;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kind_matches(&kinds[i], s, n, true))
            return why_case;
    return why_unknown;
}

/* s points after `deleted:`; strips an optional ?uid=DIGITS suffix. */
static const char *parse_deleted(const char *s, struct iam_member *m)
{
    size_t n = strlen(s);
    const char *uid = NULL, *why;

    for (const char *q = strstr(s, UID_MARK); q != NULL; q = strstr(q + 1, UID_MARK))
        uid = q;
    if (uid != NULL) {
        const char *digits = uid + strlen(UID_MARK);

        if (!is_digits(digits, strlen(digits)))
            return why_uid;
        n = (size_t)(uid - s);
    }
    why = parse_plain(s, n, m);
    if (why == why_unknown || why == why_case)
        return why_deleted;
    if (why != NULL)
        return why;
    switch (m->kind) {
    case IAM_MEMBER_USER:
    case IAM_MEMBER_GROUP:
    case IAM_MEMBER_SERVICE_ACCOUNT:
    case IAM_MEMBER_PRINCIPAL:
        m->deleted = true;
        return NULL;
    default:
        return why_deleted;
    }
}

int iam_member_parse(const char *s, struct iam_member *ret, const char **ret_why)
{
    struct iam_member m = {0};
    const char *why = NULL;
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0) {
        why = why_empty;
    } else if (n > CAP_NAME_BYTES) {
        why = why_long;
    } else {
        for (size_t i = 0; i < n && why == NULL; i++)
            if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
                why = why_space;
    }
    if (why == NULL && str_has_prefix(s, DELETED_PREFIX))
        why = parse_deleted(s + strlen(DELETED_PREFIX), &m);
    else if (why == NULL)
        why = parse_plain(s, n, &m);
    if (why != NULL) {
        if (ret_why != NULL)
            *ret_why = why;
        return ERR_PARSE;
    }
    if (ret != NULL)
        *ret = m;
    return 0;
}

/* ---- identity ---- */

/* The folded view of a member string: bytes [fold_from, fold_to) compare
 * without case. */
struct folded {
    const unsigned char *s;
    size_t fold_from;
    size_t fold_to;
};

static void fold_init(struct folded *f, const char *s)
{
    struct iam_member m;

    /* NULL compares as the empty string rather than crashing a sort. */
    if (s == NULL)
        s = "";
    f->s = (const unsigned char *)s;
    f->fold_from = 0;
    f->fold_to = 0;
    if (iam_member_parse(s, &m, NULL) == 0 && is_folded(m.kind)) {
        f->fold_from = (size_t)(m.value - s);
        f->fold_to = f->fold_from + m.value_len;
    }
}

static int fold_at(const struct folded *f, size_t i)
{
    int c = f->s[i];

    if (i >= f->fold_from && i < f->fold_to && c >= 'A' && c <= 'Z')
        c = c - 'A' + 'a';
    return c;
}

int iam_member_cmp(const char *a, const char *b)
{
    struct folded fa, fb;

    fold_init(&fa, a);
    fold_init(&fb, b);
    for (size_t i = 0;; i++) {
        int ca = fold_at(&fa, i), cb = fold_at(&fb, i);

        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (ca == 0)
            return 0;
    }
}

bool iam_member_eq(const char *a, const char *b)
{
    return iam_member_cmp(a, b) == 0;
}

/* ---- e-mail helpers ---- */

/* Lower-cased copy of the e-mail domain of an e-mail member, else NULL.  A
 * deleted member still names its e-mail; the caller decides what that is
 * worth. */
char *iam_member_email_domain(const char *member)
{
    struct iam_member m;
    const char *at;
    char *d;

    if (iam_member_parse(member, &m, NULL) != 0)
        return NULL;
    if (m.kind != IAM_MEMBER_USER && m.kind != IAM_MEMBER_GROUP &&
        m.kind != IAM_MEMBER_SERVICE_ACCOUNT)
        return NULL;
    at = memchr(m.value, '@', m.value_len);
    if (at == NULL) /* GKE workload identity */
        return NULL;
    d = xstrndup(at + 1, m.value_len - (size_t)(at + 1 - m.value));
    str_lower(d);
    return d;
}

char *iam_member_sa_project(const char *member)
{
    struct iam_member m;
    char *domain, *project = NULL;
    size_t n, slen = strlen(SA_DOMAIN_SUFFIX);

    if (iam_member_parse(member, &m, NULL) != 0 || m.kind != IAM_MEMBER_SERVICE_ACCOUNT)
        return NULL;
    domain = iam_member_email_domain(member);
    if (domain == NULL)
        return NULL;
    n = strlen(domain);
    if (n > slen && str_has_suffix(domain, SA_DOMAIN_SUFFIX) &&
        memchr(domain, '.', n - slen) == NULL)
        project = xstrndup(domain, n - slen);
    free(domain);
    return project;
}

/* ---- roles ---- */

static const char why_role_empty[] = "empty role";
static const char why_role_long[] = "role longer than the name cap";
static const char why_role_withcond[] =
    "role contains '_withcond_': the policy was read below version 3";
static const char why_role_shape[] =
    "expected roles/NAME, projects/PROJECT/roles/NAME or organizations/ORG/roles/NAME";
static const char why_role_name[] = "role name may contain only letters, digits, '.' and '_'";

static const char *check_role_name(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && all_chars(name, n, "._") ? NULL : why_role_name;
}

/* `projects/P/roles/NAME` or `organizations/O/roles/NAME`, s after the
 * first slash. */
static const char *check_custom_role(const char *s, bool numeric_id)
{
    const char *slash = strchr(s, '/');
    size_t idlen;
    bool id_ok;

    if (slash == NULL)
        return why_role_shape;
    idlen = (size_t)(slash - s);
    /* Organization ids are numbers.  Project ids are letters, digits and
     * '-'; domain-scoped ones (example.com:proj) add '.' and ':'. */
    id_ok = numeric_id ? is_digits(s, idlen) : idlen > 0 && all_chars(s, idlen, "-.:");
    if (!id_ok || !str_has_prefix(slash, "/roles/"))
        return why_role_shape;
    return check_role_name(slash + strlen("/roles/"));
}

int iam_role_check(const char *role, const char **ret_why)
{
    const char *why;

    if (role == NULL || role[0] == '\0')
        why = why_role_empty;
    else if (strlen(role) > CAP_NAME_BYTES)
        why = why_role_long;
    else if (strstr(role, "_withcond_") != NULL)
        why = why_role_withcond;
    else if (str_has_prefix(role, "roles/"))
        why = check_role_name(role + strlen("roles/"));
    else if (str_has_prefix(role, "projects/"))
        why = check_custom_role(role + strlen("projects/"), false);
    else if (str_has_prefix(role, "organizations/"))
        why = check_custom_role(role + strlen("organizations/"), true);
    else
        why = why_role_shape;
    if (why != NULL) {
        if (ret_why != NULL)
            *ret_why = why;
        return ERR_PARSE;
    }
    return 0;
}
