/*
 * source_git_url.c - Git source URLs: parsing, validation, display.
 *
 * The URL is split by hand into scheme, authority, path and query rather
 * than by a general URL library: the grammar accepted is small, every part
 * is checked against a whitelist, and what is refused gets a precise
 * message.  The remote handed to libgit2 is rebuilt from the checked parts;
 * the display form drops the userinfo so that a user name that is really a
 * token (GitHub accepts those) never reaches a log line.
 */
#include "source_git.h"
#include "source_git_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"

#define MAX_REF_BYTES 255u
#define MAX_URL_BYTES 4096u

static const char *const schemes[] = {"https", "http", "ssh", "file", "git"};

bool src_git_url_is_git(const char *url)
{
    return str_has_prefix(url, "git+") || str_has_prefix(url, "git://");
}

void src_git_url_release(struct src_git_url *u)
{
    free(u->remote);
    free(u->ref);
    free(u->path);
    free(u->display);
    memset(u, 0, sizeof(*u));
}

void src_git_scrub_userinfo(char *msg)
{
    char *p = msg;

    while ((p = strstr(p, "://")) != NULL) {
        char *host = p + 3;
        size_t span = strcspn(host, "/@ \t\n'\"?#");

        if (host[span] == '@')
            memmove(host, host + span + 1, strlen(host + span + 1) + 1);
        p = host;
    }
}

static int fail(char **ret_errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **ret_errmsg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *ret_errmsg = xvasprintf(fmt, ap);
    va_end(ap);
    return ERR_INVAL;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == ' ')
            return true;
    return false;
}

static bool is_hex40(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (!isxdigit((unsigned char)s[n]))
            return false;
    return n == 40;
}

/* A subset of git check-ref-format: what a branch or tag name may be. */
static bool ref_valid(const char *r)
{
    const char *c = r;

    if (r[0] == '\0' || strlen(r) > MAX_REF_BYTES || r[0] == '-' || r[0] == '/' ||
        str_has_suffix(r, "/") || str_has_suffix(r, ".") || strcmp(r, "@") == 0)
        return false;
    if (strstr(r, "..") != NULL || strstr(r, "@{") != NULL || strstr(r, "//") != NULL ||
        strpbrk(r, "~^:?*[\\") != NULL || has_control(r))
        return false;
    /* No component starts with '.' or ends with ".lock". */
    while (c != NULL) {
        const char *end = strchr(c, '/');
        size_t len = end != NULL ? (size_t)(end - c) : strlen(c);

        if (c[0] == '.' || (len >= 5 && strncmp(c + len - 5, ".lock", 5) == 0))
            return false;
        c = end != NULL ? end + 1 : NULL;
    }
    return true;
}

/* Decodes %XX escapes of a query value into a new string, or NULL ('+' stays
 * a plus: it is a legal character in paths and refs). */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            char hex[3] = {0};
            char *end;
            long v;

            if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                goto out_bad;
            hex[0] = s[i + 1];
            hex[1] = s[i + 2];
            v = strtol(hex, &end, 16);
            if (v == 0)
                goto out_bad;
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
out_bad:
    free(out);
    return NULL;
}

/* Normalises a subdirectory: drops empty and "." components, refuses ".."
 * and absolute paths.  Returns a new string or NULL (message set). */
static char *norm_path(const char *p, char **ret_errmsg)
{
    char *out = xcalloc(strlen(p) + 1, 1);
    size_t o = 0;
    const char *c = p;

    if (p[0] == '/') {
        *ret_errmsg = xasprintf("path '%s' must be relative to the repository root", p);
        goto out_free;
    }
    for (const char *q = p; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            *ret_errmsg = xstrdup("path contains control characters");
            goto out_free;
        }
    }
    while (*c != '\0') {
        size_t len = strcspn(c, "/");

        if (len == 2 && strncmp(c, "..", 2) == 0) {
            *ret_errmsg = xasprintf("path '%s' may not contain '..'", p);
            goto out_free;
        }
        if (len > 0 && !(len == 1 && c[0] == '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, c, len);
            o += len;
        }
        c += len;
        if (*c == '/')
            c++;
    }
    return out;
out_free:
    free(out);
    return NULL;
}

static int parse_query_pair(const char *kv, size_t n, struct src_git_url *u, char **ret_errmsg)
{
    const char *eq = memchr(kv, '=', n);
    size_t klen = eq != NULL ? (size_t)(eq - kv) : n;
    char *val;
    char **slot;

    if (eq == NULL) {
        char *key = xstrndup(kv, n);
        int r = fail(ret_errmsg, "query parameter '%s' has no value", key);

        free(key);
        return r;
    }
    if (klen == 3 && strncmp(kv, "ref", 3) == 0) {
        slot = &u->ref;
    } else if (klen == 4 && strncmp(kv, "path", 4) == 0) {
        slot = &u->path;
    } else {
        char *key = xstrndup(kv, klen);
        int r = fail(ret_errmsg, "unknown query parameter '%s' (known: ref, path)", key);

        free(key);
        return r;
    }
    if (*slot != NULL)
        return fail(ret_errmsg, "query parameter '%s' given twice",
                    slot == &u->ref ? "ref" : "path");
    val = pct_decode(eq + 1, n - klen - 1);
    if (val == NULL)
        return fail(ret_errmsg, "query parameter '%s' has a bad %%-escape",
                    slot == &u->ref ? "ref" : "path");
    *slot = val;
    return 0;
}

static int parse_query(const char *q, struct src_git_url *u, char **ret_errmsg)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        int r;

        if (n > 0) {
            r = parse_query_pair(q, n, u, ret_errmsg);
            if (r < 0)
                return r;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

static int check_ref(struct src_git_url *u, char **ret_errmsg)
{
    if (u->ref == NULL)
        return 0;
    if (strcmp(u->ref, "HEAD") == 0) {
        free(u->ref);
        u->ref = NULL;
        return 0;
    }
    if (is_hex40(u->ref)) {
        str_lower(u->ref);
        return 0;
    }
    if (!ref_valid(u->ref))
        return fail(ret_errmsg, "ref '%s' is not a valid branch, tag or commit", u->ref);
    return 0;
}

/* Host: letters, digits, '-', '.', '_', or a bracketed IPv6 literal. */
static bool host_valid(const char *h, size_t n)
{
    if (n == 0)
        return false;
    if (h[0] == '[')
        return h[n - 1] == ']' && n > 2 && strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return false;
    return true;
}

/* Checks [userinfo@]host[:port]; sets *ret_ui_len to the span "userinfo@". */
static int check_authority(const char *a, size_t n, bool is_file, size_t *ret_ui_len,
                           char **ret_errmsg)
{
    const char *at = memchr(a, '@', n);
    size_t ui = at != NULL ? (size_t)(at - a) + 1 : 0;
    const char *host = a + ui;
    size_t hn = n - ui;
    const char *colon;

    *ret_ui_len = ui;
    if (at != NULL && memchr(a, ':', ui) != NULL) {
        *ret_errmsg = xstrdup("a password in a git source URL is refused; put the token in "
                              "ROAM_GIT_TOKEN");
        return ERR_INVAL;
    }
    if (is_file) {
        if (n != 0 && !(n == 9 && strncmp(a, "localhost", 9) == 0))
            return fail(ret_errmsg, "%s", "a git+file:// URL takes no host (git+file:///path)");
        return 0;
    }
    colon = host[0] == '[' ? memchr(host, ']', hn) : host;
    colon = colon != NULL ? memchr(colon, ':', hn - (size_t)(colon - host)) : NULL;
    if (colon != NULL) {
        char port[8] = {0};
        long long v;
        size_t pn = hn - (size_t)(colon - host) - 1;

        if (pn == 0 || pn >= sizeof(port))
            return fail(ret_errmsg, "%s", "bad port in git source URL");
        memcpy(port, colon + 1, pn);
        if (str_to_ll(port, 1, 65535, &v) < 0)
            return fail(ret_errmsg, "bad port '%s' in git source URL", port);
        hn = (size_t)(colon - host);
    }
    if (!host_valid(host, hn))
        return fail(ret_errmsg, "%s", "missing or bad host in git source URL");
    return 0;
}

/* s without the n bytes at offset off (the display form drops "userinfo@"):
 * a new string. */
static char *drop_span(const char *s, size_t off, size_t n)
{
    size_t len = strlen(s);
    char *d = xmalloc(len - n + 1);

    memcpy(d, s, off);
    memcpy(d + off, s + off + n, len - off - n + 1);
    return d;
}

/* Splits "scheme://authority/path" (after any "git+"); fills remote and display. */
static int parse_base(const char *url, const char *base, size_t blen, struct src_git_url *u,
                      char **ret_errmsg)
{
    const char *sep = strstr(base, "://");
    const char *auth, *slash;
    size_t slen, alen, ui;
    bool known = false;
    int r;

    if (sep == NULL || (size_t)(sep - base) > blen)
        return fail(ret_errmsg, "%s", "a git source URL needs a scheme (git+https://...)");
    slen = (size_t)(sep - base);
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strlen(schemes[i]) == slen && strncmp(base, schemes[i], slen) == 0)
            known = true;
    if (!known)
        return fail(ret_errmsg, "%s",
                    "unsupported git URL scheme (git+https, git+http, git+ssh, git+file, git://)");
    auth = sep + 3;
    slash = memchr(auth, '/', blen - (size_t)(auth - base));
    if (slash == NULL || (size_t)(base + blen - slash) < 2)
        return fail(ret_errmsg, "%s", "a git source URL needs a repository path");
    alen = (size_t)(slash - auth);
    r = check_authority(auth, alen, slen == 4 && strncmp(base, "file", 4) == 0, &ui, ret_errmsg);
    if (r < 0)
        return r;
    u->remote = xstrndup(base, blen);
    u->display = drop_span(url, (size_t)(auth - url), ui);
    return 0;
}

int src_git_url_parse(const char *url, struct src_git_url *ret, char **ret_errmsg)
{
    struct src_git_url u = {0};
    const char *base, *q;
    size_t blen;
    int r;

    *ret_errmsg = NULL;
    if (strlen(url) > MAX_URL_BYTES)
        return fail(ret_errmsg, "%s", "git source URL longer than 4096 bytes");
    if (has_control(url))
        return fail(ret_errmsg, "%s", "git source URL contains control characters or spaces");
    if (str_has_prefix(url, "git+"))
        base = url + 4;
    else if (str_has_prefix(url, "git://"))
        base = url;
    else
        return fail(ret_errmsg, "%s", "not a git source URL (git+https://..., git://...)");
    if (strchr(url, '#') != NULL)
        return fail(ret_errmsg, "%s", "a git source URL takes no fragment; use ?ref=");
    q = strchr(base, '?');
    blen = q != NULL ? (size_t)(q - base) : strlen(base);
    r = parse_base(url, base, blen, &u, ret_errmsg);
    if (r == 0 && q != NULL)
        r = parse_query(q + 1, &u, ret_errmsg);
    if (r == 0)
        r = check_ref(&u, ret_errmsg);
    if (r == 0) {
        char *p = norm_path(u.path != NULL ? u.path : "", ret_errmsg);

        r = p != NULL ? 0 : ERR_INVAL;
        free(u.path);
        u.path = p;
    }
    if (r < 0) {
        src_git_url_release(&u);
        return r;
    }
    *ret = u;
    return 0;
}
