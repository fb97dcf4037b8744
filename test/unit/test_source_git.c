/*
 * test_source_git.c - the Git source against real servers: repositories
 * built with the git CLI in a temporary directory, served on free ports of
 * 127.0.0.1 by `git daemon` (git://), by `git http-backend` behind basic
 * auth (http:// and https://, with a test CA), by OpenSSH's sshd (ssh://),
 * and read directly (git+file://).
 *
 * Covered: URL parsing, first clone, unchanged poll, incremental fetch
 * (the cache's first pack survives, the second is small), force-push, bad
 * and ambiguous refs, tags and commit SHAs, subdirectories, refused
 * entries (symlink, big file, submodule), an unreachable and a stalled
 * server, a corrupt cache, tokens over HTTP and HTTPS, TLS certificates,
 * SSH keys and host keys against OpenSSH's sshd, concurrent syncs, and
 * timings for a 1,000-file repository (printed, not asserted).
 * Without `git daemon`, sshd, openssl or python3 the tests that need them
 * print a notice and skip.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <git2.h>
#include <openssl/evp.h>

#include "api/common/caps.h"
#include "api/common/xalloc.h"
#include "controller/source/source_git.h"
#include "controller/source/source_git_int.h"
#include "test/support/gitd.h"

#define TOKEN "s3cr3t-t0ken-value"

static char root[64];
static char cache[128];
static struct gitd daemon_;
static bool have_daemon;
static bool have_tls; /* a test CA, a server certificate it signed, a rogue one */

/*
 * LeakSanitizer (make asan): libgit2 1.5.1's SSH transport leaks a few dozen
 * bytes per connection inside git_remote_connect_ext() (its known_hosts
 * list and path, libssh2's auth-method list).  Those allocations are not
 * ours to free; everything else is still checked.  Unused without ASan.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

/* libgit2 is built without frame pointers: only the slow unwinder records
 * allocation stacks deep enough to reach the frames named below. */
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:libssh2_knownhost_init\nleak:libssh2_userauth_list\n"
           "leak:git_remote_connect_ext\n";
}

/* -- helpers ----------------------------------------------------------------------- */

#define NEED_DAEMON()                                                                              \
    do {                                                                                           \
        if (!have_daemon) {                                                                        \
            print_message("skipped: git daemon is not available\n");                               \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void put(const char *rel, const char *content)
{
    char *p = xasprintf("%s/%s", root, rel);
    char *dir = xstrdup(p);
    FILE *f;

    *strrchr(dir, '/') = '\0';
    assert_int_equal(gitd_sh("mkdir -p '%s'", dir), 0);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(dir);
    free(p);
}

static void git(const char *name, const char *args)
{
    assert_int_equal(gitd_sh("cd '%s/work/%s' && git %s >/dev/null 2>&1", root, name, args), 0);
}

static void commit_all(const char *name, const char *msg)
{
    char *args = xasprintf("add -A && git commit -q -m '%s'", msg);

    git(name, args);
    free(args);
}

static void push(const char *name, bool force)
{
    char *args = xasprintf("push -q %s ../../srv/%s.git 'refs/heads/*:refs/heads/*' "
                           "'refs/tags/*:refs/tags/*'",
                           force ? "--force" : "", name);

    git(name, args);
    free(args);
}

/* A working repository work/NAME with a few documents, pushed to the bare
 * srv/NAME.git that the servers export. */
static void repo_new(const char *name)
{
    char *p;

    assert_int_equal(gitd_sh("cd '%s' && git init -q -b main work/%s && "
                             "git init -q --bare -b main srv/%s.git",
                             root, name, name),
                     0);
#define PUT(rel, text)                                                                             \
    do {                                                                                           \
        p = xasprintf("work/%s/%s", name, rel);                                                    \
        put(p, text);                                                                              \
        free(p);                                                                                   \
    } while (0)
    PUT("apps/a.yaml", "a: 1\n");
    PUT("apps/team/b.yml", "b: 2\n");
    PUT("apps/readme.md", "not a document\n");
    PUT("apps/.hidden/h.yaml", "hidden: true\n");
    PUT("root.yaml", "root: true\n");
#undef PUT
    commit_all(name, "initial");
    push(name, false);
}

static char *rev(const char *name, const char *what)
{
    char *r = gitd_sh_out("git -C '%s/work/%s' rev-parse '%s'", root, name, what);

    assert_non_null(r);
    return r;
}

static char *url_of(const char *name, const char *query)
{
    return xasprintf("git+%s/%s.git%s%s", daemon_.base, name, query != NULL ? "?" : "",
                     query != NULL ? query : "");
}

static int sync_url_opts(const char *url, const struct src_git_opts *o, const char *known,
                         struct src_snapshot *s, char **msg)
{
    struct src_git_url u;
    char *perr = NULL;
    int r;

    *msg = NULL;
    r = src_git_url_parse(url, &u, &perr);
    if (r < 0) {
        print_message("parse '%s': %s\n", url, perr);
        free(perr);
        return r;
    }
    r = src_git_sync(&u, o, known, s, msg);
    if (r < 0)
        print_message("sync '%s': %s (%s)\n", url, *msg, err_name(r));
    src_git_url_release(&u);
    return r;
}

static int sync_url(const char *url, const char *known, struct src_snapshot *s, char **msg)
{
    struct src_git_opts o = {.cache_dir = cache, .timeout_ms = 20000};

    return sync_url_opts(url, &o, known, s, msg);
}

/* A failed or unchanged sync must not write the snapshot at all. */
static void poison(struct src_snapshot *s)
{
    memset(s, 0x5a, sizeof(*s));
}

static void assert_poisoned(const struct src_snapshot *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < sizeof(*s); i++)
        assert_int_equal(p[i], 0x5a);
}

static char *cache_of(const char *url)
{
    struct src_git_url u;
    char *perr = NULL, *path;

    assert_int_equal(src_git_url_parse(url, &u, &perr), 0);
    path = src_git_cache_path(cache, &u);
    src_git_url_release(&u);
    return path;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -- setup ------------------------------------------------------------------------- */

/* A CA, a certificate for localhost it signed, and a self-signed one for
 * localhost.  libgit2 reads SSL_CERT_FILE on its first use in this process,
 * so the CA is the only one this test process trusts. */
static void make_certs(void)
{
    have_tls = gitd_sh("cd '%s' && command -v openssl >/dev/null && "
                       "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
                       "-days 2 -subj /CN=roam-test-ca && "
                       "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
                       "-subj /CN=localhost && "
                       "printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' "
                       "> ext.cnf && "
                       "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                       "-out srv.crt -days 2 -extfile ext.cnf && "
                       "openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key "
                       "-out rogue.crt -days 2 -subj /CN=localhost "
                       "-addext subjectAltName=DNS:localhost",
                       root) == 0;
    if (have_tls) {
        char *ca = xasprintf("%s/ca.crt", root);

        setenv("SSL_CERT_FILE", ca, 1);
        unsetenv("SSL_CERT_DIR");
        free(ca);
    }
}

static int setup(void **state)
{
    char *srv;

    (void)state;
    snprintf(root, sizeof(root), "/tmp/roam-git-test-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(cache, sizeof(cache), "%s/cache", root);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_AUTHOR_NAME", "Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@example.org", 1);
    srv = xasprintf("%s/srv", root);
    mkdir(srv, 0755);
    make_certs();
    have_daemon = gitd_available() && gitd_start(&daemon_, srv) == 0;
    if (!have_daemon)
        fprintf(stderr, "notice: git daemon not available; server tests are skipped\n");
    free(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gitd_stop(&daemon_);
    return gitd_sh("rm -rf '%s'", root) == 0 ? 0 : -1;
}

/* -- URLs -------------------------------------------------------------------------- */

static const struct {
    const char *url;
    const char *remote; /* NULL: refused */
    const char *ref;
    const char *path;
    const char *display_or_error; /* display when accepted, a message fragment otherwise */
} url_cases[] = {
    {"git+https://host/org/repo.git?ref=main&path=apps", "https://host/org/repo.git", "main",
     "apps", "git+https://host/org/repo.git?ref=main&path=apps"},
    {"git+http://10.0.0.1:8080/r.git", "http://10.0.0.1:8080/r.git", NULL, "",
     "git+http://10.0.0.1:8080/r.git"},
    {"git+ssh://git@github.com/org/repo.git?ref=v1.2.0", "ssh://git@github.com/org/repo.git",
     "v1.2.0", "", "git+ssh://github.com/org/repo.git?ref=v1.2.0"},
    {"git+file:///srv/repo.git?path=./a//b/", "file:///srv/repo.git", NULL, "a/b",
     "git+file:///srv/repo.git?path=./a//b/"},
    {"git://127.0.0.1:9418/r.git?ref=feature/x", "git://127.0.0.1:9418/r.git", "feature/x", "",
     "git://127.0.0.1:9418/r.git?ref=feature/x"},
    {"git+git://h/r?ref=HEAD", "git://h/r", NULL, "", "git+git://h/r?ref=HEAD"},
    {"git+https://h/r?ref=0123456789ABCDEF0123456789abcdef01234567", "https://h/r",
     "0123456789abcdef0123456789abcdef01234567", "", NULL},
    {"git+https://h/r?path=my%20dir", "https://h/r", NULL, "my dir", NULL},
    {"git+https://h/r?ref=refs/heads/main", "https://h/r", "refs/heads/main", "", NULL},
    {"git+https://[::1]:8443/r", "https://[::1]:8443/r", NULL, "", NULL},
    {"git+https://user@h/r", "https://user@h/r", NULL, "", "git+https://h/r"},
    /* refused */
    {"https://h/r", NULL, NULL, NULL, "not a git source URL"},
    {"git+ftp://h/r", NULL, NULL, NULL, "unsupported git URL scheme"},
    {"git+https://user:pw@h/r", NULL, NULL, NULL, "password"},
    {"git+https://h/r?ref=main&token=x", NULL, NULL, NULL, "unknown query parameter 'token'"},
    {"git+https://h/r?ref=a&ref=b", NULL, NULL, NULL, "given twice"},
    {"git+https://h/r?path=../etc", NULL, NULL, NULL, "may not contain '..'"},
    {"git+https://h/r?path=a/../../b", NULL, NULL, NULL, "may not contain '..'"},
    {"git+https://h/r?path=/etc", NULL, NULL, NULL, "relative"},
    {"git+https://h/r?path=%2Fetc", NULL, NULL, NULL, "relative"},
    {"git+https://h/r?ref=a..b", NULL, NULL, NULL, "not a valid"},
    {"git+https://h/r?ref=-x", NULL, NULL, NULL, "not a valid"},
    {"git+https://h/r?ref=a.lock", NULL, NULL, NULL, "not a valid"},
    {"git+https://h/r?ref=%00", NULL, NULL, NULL, "%-escape"},
    {"git+https://h/r?ref", NULL, NULL, NULL, "no value"},
    {"git+https://h/r#main", NULL, NULL, NULL, "fragment"},
    {"git+https:///r", NULL, NULL, NULL, "host"},
    {"git+https://h", NULL, NULL, NULL, "repository path"},
    {"git+https://h:0/r", NULL, NULL, NULL, "bad port"},
    {"git+https://h:99999/r", NULL, NULL, NULL, "bad port"},
    {"git+https://h a/r", NULL, NULL, NULL, "control characters or spaces"},
    {"git+file://host/srv/r", NULL, NULL, NULL, "no host"},
};

static void test_url_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        struct src_git_url u;
        char *err = NULL;
        int r = src_git_url_parse(url_cases[i].url, &u, &err);

        print_message("%s\n", url_cases[i].url);
        if (url_cases[i].remote == NULL) {
            assert_int_equal(r, ERR_INVAL);
            assert_non_null(err);
            assert_non_null(strstr(err, url_cases[i].display_or_error));
            assert_null(strstr(err, "pw@"));
            free(err);
            continue;
        }
        assert_int_equal(r, 0);
        assert_string_equal(u.remote, url_cases[i].remote);
        if (url_cases[i].ref == NULL)
            assert_null(u.ref);
        else
            assert_string_equal(u.ref, url_cases[i].ref);
        assert_string_equal(u.path, url_cases[i].path);
        if (url_cases[i].display_or_error != NULL)
            assert_string_equal(u.display, url_cases[i].display_or_error);
        src_git_url_release(&u);
    }
    assert_true(src_git_url_is_git("git+https://h/r"));
    assert_true(src_git_url_is_git("git://h/r"));
    assert_false(src_git_url_is_git("gs://b/p"));
    assert_false(src_git_url_is_git("/srv/apps"));
}

static void test_scrub_userinfo(void **state)
{
    char msg[] = "cannot fetch 'https://tok@h/r.git' and ssh://git@h:22/x, not a@b";

    (void)state;
    src_git_scrub_userinfo(msg);
    assert_string_equal(msg, "cannot fetch 'https://h/r.git' and ssh://h:22/x, not a@b");
}

/* -- SSH host keys ----------------------------------------------------------------- */

/* Generates an ed25519 key; returns "ssh-ed25519 BASE64" of its public half. */
static char *keygen(const char *name)
{
    char *line;

    assert_int_equal(gitd_sh("ssh-keygen -q -t ed25519 -N '' -f '%s/%s' >/dev/null", root, name),
                     0);
    line = gitd_sh_out("cut -d' ' -f1,2 '%s/%s.pub'", root, name);
    assert_non_null(line);
    return line;
}

static size_t b64_raw(const char *pub_line, unsigned char *raw, size_t cap)
{
    const char *b64 = strchr(pub_line, ' ') + 1;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
    size_t len = strlen(b64);

    assert_true(n > 0 && (size_t)n <= cap);
    /* EVP_DecodeBlock counts padding as zero bytes. */
    while (len > 0 && b64[len - 1] == '=') {
        n--;
        len--;
    }
    return (size_t)n;
}

static void test_hostkey_check(void **state)
{
    unsigned char raw[256], other_raw[256];
    size_t len, other_len;
    char *key, *other, *kh, *why = NULL;

    (void)state;
    if (gitd_sh("command -v ssh-keygen >/dev/null") != 0) {
        print_message("skipped: ssh-keygen is not available\n");
        skip();
    }
    key = keygen("hostkey");
    other = keygen("otherkey");
    len = b64_raw(key, raw, sizeof(raw));
    other_len = b64_raw(other, other_raw, sizeof(other_raw));
    kh = xasprintf("%s/known_hosts", root);
    {
        char *text = xasprintf("# comment\n@cert-authority *.example ssh-ed25519 AAAA\n"
                               "git.example.org,10.0.0.2 %s\n[127.0.0.1]:2222 %s\n",
                               key, key);

        put("known_hosts", text);
        free(text);
    }
    assert_int_equal(src_git_hostkey_check(kh, "git.example.org", 22, (const char *)raw, len,
                                           GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     0);
    assert_int_equal(src_git_hostkey_check(kh, "127.0.0.1", 2222, (const char *)raw, len,
                                           GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     0);
    /* A different key for a known host: refused, loudly. */
    assert_int_equal(src_git_hostkey_check(kh, "git.example.org", 22, (const char *)other_raw,
                                           other_len, GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     ERR_AUTH);
    assert_non_null(strstr(why, "does not match"));
    free(why);
    /* An unknown host, or a known host on another port: refused. */
    assert_int_equal(src_git_hostkey_check(kh, "evil.example.org", 22, (const char *)raw, len,
                                           GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     ERR_AUTH);
    assert_non_null(strstr(why, "not in the known hosts file"));
    free(why);
    assert_int_equal(src_git_hostkey_check(kh, "127.0.0.1", 22, (const char *)raw, len,
                                           GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     ERR_AUTH);
    free(why);
    free(kh);
    kh = xasprintf("%s/no-such-known-hosts", root);
    assert_int_equal(src_git_hostkey_check(kh, "git.example.org", 22, (const char *)raw, len,
                                           GIT_CERT_SSH_RAW_TYPE_KEY_ED25519, &why),
                     ERR_IO);
    free(why);
    free(kh);
    free(key);
    free(other);
}

/* -- against git daemon ------------------------------------------------------------ */

static void test_first_clone_and_poll(void **state)
{
    struct src_snapshot s, again;
    char *url, *url_head, *msg, *main_rev, *path;
    struct stat st;

    (void)state;
    NEED_DAEMON();
    repo_new("basic");
    main_rev = rev("basic", "main");
    url = url_of("basic", "ref=main&path=apps");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_true(s.complete);
    assert_int_equal(s.errs.n, 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.files[0].path, "a.yaml");
    assert_string_equal(s.files[0].data, "a: 1\n");
    assert_int_equal(s.files[0].len, 5);
    assert_string_equal(s.files[1].path, "team/b.yml");
    assert_string_equal(s.revision, main_rev);
    assert_string_equal(s.root, url + 0);
    path = cache_of(url);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* Unchanged: 1, and the snapshot is not touched. */
    poison(&again);
    assert_int_equal(sync_url(url, s.revision, &again, &msg), 1);
    assert_null(msg);
    assert_poisoned(&again);

    /* No ref: the remote's HEAD, which is main. */
    url_head = url_of("basic", "path=apps");
    assert_int_equal(sync_url(url_head, NULL, &again, &msg), 0);
    assert_string_equal(again.revision, main_rev);
    src_snapshot_release(&again);

    /* The whole repository: hidden directories skipped, non-documents ignored. */
    free(url_head);
    url_head = url_of("basic", NULL);
    assert_int_equal(sync_url(url_head, NULL, &again, &msg), 0);
    assert_true(again.complete);
    assert_int_equal(again.n, 3);
    assert_string_equal(again.files[0].path, "apps/a.yaml");
    assert_string_equal(again.files[1].path, "apps/team/b.yml");
    assert_string_equal(again.files[2].path, "root.yaml");
    src_snapshot_release(&again);
    src_snapshot_release(&s);
    free(url_head);
    free(url);
    free(path);
    free(main_rev);
}

struct packinfo {
    char name[128];
    ino_t ino;
    uint32_t objects;
};

/* Object count of a version-2 pack index: the last fan-out entry. */
static uint32_t idx_objects(const char *idx)
{
    unsigned char hdr[8 + 256 * 4];
    FILE *f = fopen(idx, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(hdr, 1, sizeof(hdr), f);
    fclose(f);
    assert_int_equal(n, sizeof(hdr));
    assert_int_equal(memcmp(hdr, "\377tOc", 4), 0);
    return (uint32_t)hdr[sizeof(hdr) - 4] << 24 | (uint32_t)hdr[sizeof(hdr) - 3] << 16 |
           (uint32_t)hdr[sizeof(hdr) - 2] << 8 | hdr[sizeof(hdr) - 1];
}

static size_t list_packs(const char *repo, struct packinfo *out, size_t cap)
{
    char *dir = xasprintf("%s/objects/pack", repo);
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL && n < cap) {
        char *p, *idx;
        struct stat st;
        size_t len = strlen(de->d_name);

        if (len < 6 || strcmp(de->d_name + len - 5, ".pack") != 0)
            continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        idx = xasprintf("%.*s.idx", (int)(strlen(p) - 5), p);
        assert_int_equal(stat(p, &st), 0);
        snprintf(out[n].name, sizeof(out[n].name), "%.127s", de->d_name);
        out[n].ino = st.st_ino;
        out[n].objects = idx_objects(idx);
        n++;
        free(p);
        free(idx);
    }
    closedir(d);
    free(dir);
    return n;
}

static void test_incremental_fetch(void **state)
{
    struct src_snapshot s1, s2;
    struct packinfo before[16], after[16];
    size_t nb, na, kept = 0;
    uint32_t new_objects = 0;
    char *url, *msg, *repo, *r2;

    (void)state;
    NEED_DAEMON();
    repo_new("incr");
    /* Enough history that a second clone would be obvious. */
    for (int i = 0; i < 40; i++) {
        char rel[64], text[32];

        snprintf(rel, sizeof(rel), "work/incr/apps/many/m%02d.yaml", i);
        snprintf(text, sizeof(text), "m: %d\n", i);
        put(rel, text);
    }
    commit_all("incr", "many");
    push("incr", false);
    url = url_of("incr", "ref=main&path=apps");
    assert_int_equal(sync_url(url, NULL, &s1, &msg), 0);
    repo = cache_of(url);
    nb = list_packs(repo, before, 16);
    assert_true(nb >= 1);

    put("work/incr/apps/c.yaml", "c: 3\n");
    commit_all("incr", "add c");
    push("incr", false);
    r2 = rev("incr", "main");
    assert_int_equal(sync_url(url, s1.revision, &s2, &msg), 0);
    assert_string_equal(s2.revision, r2);
    assert_int_equal(s2.n, 43);
    assert_string_equal(s2.files[1].path, "c.yaml");

    /* The first pack is still there, same inode: fetched, not cloned again;
     * what came over the wire is the new commit, its trees and one blob. */
    na = list_packs(repo, after, 16);
    for (size_t i = 0; i < na; i++) {
        bool old = false;

        for (size_t j = 0; j < nb; j++)
            if (strcmp(after[i].name, before[j].name) == 0 && after[i].ino == before[j].ino)
                old = true;
        if (old)
            kept++;
        else
            new_objects += after[i].objects;
    }
    print_message("incremental fetch: %zu pack(s) kept, %u new object(s) (first pack: %u)\n", kept,
                  new_objects, before[0].objects);
    assert_int_equal(kept, nb);
    assert_true(na > nb);
    /* The commit, two trees and the blob, plus any delta bases libgit2
     * copies in to complete the thin pack. */
    assert_true(new_objects >= 4 && new_objects <= 8);
    assert_true(before[0].objects > 40);
    src_snapshot_release(&s1);
    src_snapshot_release(&s2);
    free(url);
    free(repo);
    free(r2);
}

static void test_force_push(void **state)
{
    struct src_snapshot s1, s2;
    char *url, *msg, *rb, *rc;

    (void)state;
    NEED_DAEMON();
    repo_new("force");
    put("work/force/apps/x.yaml", "x: 1\n");
    commit_all("force", "add x");
    push("force", false);
    rb = rev("force", "main");
    url = url_of("force", "ref=main&path=apps");
    assert_int_equal(sync_url(url, NULL, &s1, &msg), 0);
    assert_string_equal(s1.revision, rb);

    /* Rewrite history: drop x, add y, force-push. */
    git("force", "reset -q --hard HEAD~1");
    put("work/force/apps/y.yaml", "y: 1\n");
    commit_all("force", "add y instead");
    push("force", true);
    rc = rev("force", "main");
    assert_string_not_equal(rb, rc);
    assert_int_equal(sync_url(url, s1.revision, &s2, &msg), 0);
    assert_string_equal(s2.revision, rc);
    assert_int_equal(s2.n, 3);
    assert_string_equal(s2.files[2].path, "y.yaml");
    for (size_t i = 0; i < s2.n; i++)
        assert_string_not_equal(s2.files[i].path, "x.yaml");
    src_snapshot_release(&s1);
    src_snapshot_release(&s2);
    free(url);
    free(rb);
    free(rc);
}

static void test_bad_and_ambiguous_ref(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *want, *remote;

    (void)state;
    NEED_DAEMON();
    repo_new("refs");
    url = url_of("refs", "ref=nope");
    poison(&s);
    assert_int_equal(sync_url(url, NULL, &s, &msg), ERR_NOTFOUND);
    assert_poisoned(&s);
    remote = xasprintf("%s/refs.git", daemon_.base);
    want = xasprintf("ref 'nope' not found in '%s'", remote);
    assert_string_equal(msg, want);
    free(msg);
    free(want);
    free(url);

    git("refs", "branch dup");
    git("refs", "tag dup");
    push("refs", false);
    url = url_of("refs", "ref=dup");
    assert_int_equal(sync_url(url, NULL, &s, &msg), ERR_CONFLICT);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "both a branch and a tag"));
    free(msg);
    free(url);
    url = url_of("refs", "ref=refs/heads/dup");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    src_snapshot_release(&s);
    free(url);
    free(remote);
}

static void test_tags_and_commits(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *first, *side, *q;

    (void)state;
    NEED_DAEMON();
    repo_new("tags");
    first = rev("tags", "main");
    git("tags", "tag -a v1 -m 'release 1'");
    git("tags", "tag light");
    git("tags", "checkout -q -b side");
    put("work/tags/apps/side.yaml", "side: 1\n");
    commit_all("tags", "side");
    side = rev("tags", "side");
    git("tags", "checkout -q main");
    put("work/tags/apps/later.yaml", "later: 1\n");
    commit_all("tags", "later");
    push("tags", false);

    /* Annotated and lightweight tags resolve to the tagged commit. */
    url = url_of("tags", "ref=v1&path=apps");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, first);
    assert_int_equal(s.n, 2);
    src_snapshot_release(&s);
    free(url);
    url = url_of("tags", "ref=light");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, first);
    src_snapshot_release(&s);
    assert_int_equal(sync_url(url, first, &s, &msg), 1);
    free(url);

    /* A commit only on another branch: every branch is fetched to find it. */
    q = xasprintf("ref=%s&path=apps", side);
    url = url_of("tags", q);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, side);
    assert_int_equal(s.n, 3);
    src_snapshot_release(&s);
    /* A pinned commit equal to the known revision needs no work at all. */
    assert_int_equal(sync_url(url, side, &s, &msg), 1);
    free(url);
    free(q);

    url = url_of("tags", "ref=00000000000000000000000000000000000000aa");
    poison(&s);
    assert_int_equal(sync_url(url, NULL, &s, &msg), ERR_NOTFOUND);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "commit 00000000000000000000000000000000000000aa not found"));
    free(msg);
    free(url);
    free(first);
    free(side);
}

static void test_paths(void **state)
{
    struct src_snapshot s;
    char *url, *msg;

    (void)state;
    NEED_DAEMON();
    repo_new("paths");
    url = url_of("paths", "path=apps/team");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.files[0].path, "b.yml");
    src_snapshot_release(&s);
    free(url);

    /* A single file is taken, under its own name. */
    url = url_of("paths", "path=root.yaml");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.files[0].path, "root.yaml");
    src_snapshot_release(&s);
    free(url);

    url = url_of("paths", "path=missing/dir");
    poison(&s);
    assert_int_equal(sync_url(url, NULL, &s, &msg), ERR_NOTFOUND);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "path 'missing/dir' not found at commit"));
    free(msg);
    free(url);
}

static void test_refused_entries(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *big, *cmd, *head, *link;
    bool seen_link = false, seen_big = false, seen_sub = false;

    (void)state;
    NEED_DAEMON();
    repo_new("bad");
    put("work/bad/bad/ok.yaml", "ok: 1\n");
    link = xasprintf("%s/work/bad/bad/link.yaml", root);
    assert_int_equal(symlink("../../../../../etc/hostname", link), 0);
    big = xmalloc(CAP_MANIFEST_BYTES + 2);
    memset(big, '#', CAP_MANIFEST_BYTES + 1);
    big[CAP_MANIFEST_BYTES + 1] = '\0';
    put("work/bad/bad/big.yaml", big);
    put("work/bad/bad/notes.txt", "not a document\n");
    head = rev("bad", "HEAD");
    commit_all("bad", "hostile entries");
    /* A gitlink without a directory: staged by hand, committed without add. */
    cmd =
        xasprintf("update-index --add --cacheinfo 160000,%s,bad/sub && git commit -q -m sub", head);
    git("bad", cmd);
    push("bad", false);

    url = url_of("bad", "path=bad");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_false(s.complete);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.files[0].path, "ok.yaml");
    for (size_t i = 0; i < s.errs.n; i++) {
        print_message("refused: %s: %s\n", s.errs.v[i].file, s.errs.v[i].msg);
        if (strcmp(s.errs.v[i].file, "link.yaml") == 0)
            seen_link = strstr(s.errs.v[i].msg, "symbolic link") != NULL;
        if (strcmp(s.errs.v[i].file, "big.yaml") == 0)
            seen_big =
                strstr(s.errs.v[i].msg, "1 MiB cap") != NULL && s.errs.v[i].code == ERR_LIMIT;
        if (strcmp(s.errs.v[i].file, "sub") == 0)
            seen_sub = strstr(s.errs.v[i].msg, "submodule") != NULL;
    }
    assert_int_equal(s.errs.n, 3);
    assert_true(seen_link && seen_big && seen_sub);
    src_snapshot_release(&s);
    free(url);
    free(big);
    free(cmd);
    free(head);
    free(link);
}

/* Ten entries per level, seven levels deep, each level the same tree: a
 * few hundred bytes of objects describing ten million paths. */
static void test_tree_bomb_capped(void **state)
{
    struct src_snapshot s;
    char *url, *msg;
    double t0, took;

    (void)state;
    NEED_DAEMON();
    repo_new("bomb");
    assert_int_equal(
        gitd_sh("cd '%s/work/bomb' && set -e && "
                "b=$(echo 'not: yaml' | git hash-object -w --stdin) && "
                "t=$(for i in 0 1 2 3 4 5 6 7 8 9; do printf '100644 blob %%s\tf%%s.txt\n' $b $i; "
                "done | git mktree) && "
                "for l in 1 2 3 4 5 6 7; do "
                "t=$(for i in 0 1 2 3 4 5 6 7 8 9; do printf '040000 tree %%s\td%%s\n' $t $i; "
                "done | git mktree); done && "
                "c=$(git commit-tree -p HEAD -m bomb $t) && git update-ref refs/heads/main $c",
                root),
        0);
    push("bomb", false);
    url = url_of("bomb", NULL);
    t0 = now_s();
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    took = now_s() - t0;
    print_message("tree bomb: stopped after %.3f s\n", took);
    assert_false(s.complete);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.errs.n, 1);
    assert_int_equal(s.errs.v[0].code, ERR_LIMIT);
    assert_non_null(strstr(s.errs.v[0].msg, "tree entries; reading stopped"));
    src_snapshot_release(&s);
    free(url);
}

static void test_unreachable_server(void **state)
{
    struct gitd second;
    struct src_snapshot s, t;
    char *srv = xasprintf("%s/srv", root);
    char *url, *msg;
    int port;

    (void)state;
    NEED_DAEMON();
    repo_new("gone");
    /* A daemon of its own, stopped after a first good sync. */
    assert_int_equal(gitd_start(&second, srv), 0);
    url = xasprintf("git+%s/gone.git?path=apps", second.base);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    gitd_stop(&second);
    poison(&t);
    assert_int_equal(sync_url(url, NULL, &t, &msg), ERR_TRANSIENT);
    assert_poisoned(&t);
    assert_non_null(strstr(msg, "cannot connect to '127.0.0.1' port"));
    assert_null(strstr(msg, "(while"));
    assert_non_null(strstr(msg, "refused"));
    free(msg);
    /* The cache of that remote is intact: still a repository with the commit. */
    {
        char *repo = cache_of(url);

        assert_int_equal(gitd_sh("git --git-dir='%s' cat-file -e %s^{commit}", repo, s.revision),
                         0);
        free(repo);
    }
    free(url);

    /* A port nothing ever listened on. */
    port = gitd_free_port();
    url = xasprintf("git://127.0.0.1:%d/none.git", port);
    assert_int_equal(sync_url(url, NULL, &t, &msg), ERR_TRANSIENT);
    assert_poisoned(&t);
    free(msg);
    free(url);
    src_snapshot_release(&s);
    free(srv);
}

static void test_stalled_server_times_out(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct src_git_opts o = {.cache_dir = cache, .timeout_ms = 400};
    struct src_snapshot s;
    char *url, *msg;
    double t0, took;
    int fd;

    (void)state;
    /* Listens, never accepts: connect succeeds, nothing is ever answered. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    /* The same silence over git://, HTTP, TLS and SSH (the handshakes never
     * start; for SSH the watchdog has to break libssh2's blocking read). */
    for (int i = 0; i < 4; i++) {
        static const char *const base[] = {"git://127.0.0.1", "git+http://127.0.0.1",
                                           "git+https://localhost", "git+ssh://git@127.0.0.1"};

        url = xasprintf("%s:%d/stall.git", base[i], ntohs(sa.sin_port));
        poison(&s);
        t0 = now_s();
        assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), ERR_TRANSIENT);
        took = now_s() - t0;
        assert_poisoned(&s);
        print_message("stalled server: gave up after %.3f s: %s\n", took, msg);
        assert_non_null(strstr(msg, "timed out"));
        assert_true(took >= 0.35 && took < 3.0);
        free(msg);
        free(url);
    }
    close(fd);
}

static void test_corrupt_cache_rebuilt(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *repo, *want;
    struct packinfo packs[16];
    size_t n;

    (void)state;
    NEED_DAEMON();
    repo_new("corrupt");
    want = rev("corrupt", "main");
    url = url_of("corrupt", "path=apps");
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    src_snapshot_release(&s);
    repo = cache_of(url);

    /* 1. Not a repository any more: HEAD garbage, objects gone. */
    assert_int_equal(gitd_sh("printf 'garbage' > '%s/HEAD' && rm -rf '%s/objects'", repo, repo), 0);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_int_equal(s.n, 2);
    src_snapshot_release(&s);

    /* 2. Opens fine, but every pack is truncated: reading fails, rebuilt. */
    n = list_packs(repo, packs, 16);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(gitd_sh("truncate -s 64 '%s/objects/pack/%s'", repo, packs[i].name), 0);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_string_equal(s.files[0].data, "a: 1\n");
    src_snapshot_release(&s);

    /* 3. A plain file where the repository was. */
    assert_int_equal(gitd_sh("rm -rf '%s' && echo x > '%s'", repo, repo), 0);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    src_snapshot_release(&s);

    /* 4. Another remote's repository under this name. */
    assert_int_equal(gitd_sh("git --git-dir='%s' config roam.url https://elsewhere/r.git", repo),
                     0);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    src_snapshot_release(&s);
    assert_int_equal(gitd_sh("test \"$(git --git-dir='%s' config roam.url)\" = '%s/corrupt.git'",
                             repo, daemon_.base),
                     0);
    free(url);
    free(repo);
    free(want);
}

static void test_file_url(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *want;

    (void)state;
    repo_new("local");
    want = rev("local", "main");
    url = xasprintf("git+file://%s/srv/local.git?ref=main&path=apps", root);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_int_equal(s.n, 2);
    src_snapshot_release(&s);
    assert_int_equal(sync_url(url, want, &s, &msg), 1);
    free(url);
    /* The remote's HEAD over the local transport too. */
    url = xasprintf("git+file://%s/srv/local.git", root);
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_int_equal(s.n, 3);
    src_snapshot_release(&s);
    free(url);
    free(want);
}

struct worker {
    const char *url;
    int rc;
    char *revision;
};

static void *sync_thread(void *arg)
{
    struct worker *w = arg;
    struct src_git_url u;
    struct src_git_opts o = {.cache_dir = cache, .timeout_ms = 20000};
    struct src_snapshot s;
    char *msg = NULL;

    if (src_git_url_parse(w->url, &u, &msg) < 0) {
        w->rc = -100;
        free(msg);
        return NULL;
    }
    w->rc = src_git_sync(&u, &o, NULL, &s, &msg);
    if (w->rc == 0) {
        w->revision = xstrdup(s.revision);
        src_snapshot_release(&s);
    }
    free(msg);
    src_git_url_release(&u);
    return NULL;
}

static void test_concurrent_syncs(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    char *url, *want;

    (void)state;
    NEED_DAEMON();
    repo_new("conc");
    want = rev("conc", "main");
    url = url_of("conc", "path=apps");
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.url = url};
        assert_int_equal(pthread_create(&t[i], NULL, sync_thread, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, 0);
        assert_string_equal(w[i].revision, want);
        free(w[i].revision);
    }
    free(url);
    free(want);
}

/* -- over HTTP with a token -------------------------------------------------------- */

static void test_http_token(void **state)
{
    struct gitd http;
    struct src_git_opts none = {.cache_dir = cache, .timeout_ms = 20000};
    struct src_git_opts wrong = none, right = none;
    struct src_snapshot s;
    char *srv = xasprintf("%s/srv", root);
    char *url, *url_user, *msg, *want;

    (void)state;
    if (!gitd_http_available()) {
        print_message("skipped: git http-backend or python3 is not available\n");
        skip();
    }
    repo_new("private");
    want = rev("private", "main");
    assert_int_equal(gitd_http_start(&http, srv, TOKEN, NULL, NULL), 0);
    url = xasprintf("git+%s/private.git?path=apps", http.base);
    wrong.token = "not-the-" TOKEN;
    right.token = TOKEN;

    poison(&s);
    assert_int_equal(sync_url_opts(url, &none, NULL, &s, &msg), ERR_AUTH);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "ROAM_GIT_TOKEN"));
    free(msg);

    assert_int_equal(sync_url_opts(url, &wrong, NULL, &s, &msg), ERR_AUTH);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "refused"));
    assert_null(strstr(msg, TOKEN));
    free(msg);

    assert_int_equal(sync_url_opts(url, &right, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_int_equal(s.n, 2);
    src_snapshot_release(&s);
    assert_int_equal(sync_url_opts(url, &right, want, &s, &msg), 1);

    /* A user name in the URL is used, and kept out of the display form. */
    url_user = xasprintf("git+http://oauth2@127.0.0.1:%d/private.git?path=apps", http.port);
    assert_int_equal(sync_url_opts(url_user, &right, NULL, &s, &msg), 0);
    assert_null(strstr(s.root, "oauth2"));
    src_snapshot_release(&s);
    {
        char *repo = cache_of(url_user);

        assert_int_equal(gitd_sh("! grep -r oauth2 '%s/config'", repo), 0);
        free(repo);
    }

    gitd_stop(&http);
    free(url);
    free(url_user);
    free(want);
    free(srv);
}

static void test_https_token_and_certificates(void **state)
{
    struct gitd good, rogue;
    struct src_git_opts o = {.cache_dir = cache, .timeout_ms = 20000, .token = TOKEN};
    struct src_snapshot s;
    char *srv = xasprintf("%s/srv", root);
    char *crt = xasprintf("%s/srv.crt", root), *key = xasprintf("%s/srv.key", root);
    char *rcrt = xasprintf("%s/rogue.crt", root), *rkey = xasprintf("%s/rogue.key", root);
    char *url, *msg, *want;

    (void)state;
    if (!have_tls || !gitd_http_available()) {
        print_message("skipped: openssl, git http-backend or python3 is not available\n");
        skip();
    }
    repo_new("tls");
    want = rev("tls", "main");

    /* Signed by the trusted CA: the token goes over TLS and the sync works. */
    assert_int_equal(gitd_http_start(&good, srv, TOKEN, crt, key), 0);
    url = xasprintf("git+https://localhost:%d/tls.git?path=apps", good.port);
    assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    src_snapshot_release(&s);
    gitd_stop(&good);
    free(url);

    /* A self-signed certificate: refused before any credential is sent. */
    assert_int_equal(gitd_http_start(&rogue, srv, TOKEN, rcrt, rkey), 0);
    url = xasprintf("git+https://localhost:%d/tls.git?path=apps", rogue.port);
    poison(&s);
    assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), ERR_AUTH);
    assert_poisoned(&s);
    assert_non_null(strstr(msg, "certificate"));
    free(msg);
    gitd_stop(&rogue);
    free(url);
    free(want);
    free(srv);
    free(crt);
    free(key);
    free(rcrt);
    free(rkey);
}

/* -- over SSH ---------------------------------------------------------------------- */

static void write_known_hosts(const char *file, int port, const char *pubfile)
{
    char *line = gitd_sh_out("cut -d' ' -f1,2 '%s'", pubfile);
    FILE *f = fopen(file, "w");

    assert_non_null(line);
    assert_non_null(f);
    fprintf(f, "[127.0.0.1]:%d %s\n", port, line);
    fclose(f);
    free(line);
}

static void test_ssh_key_and_host_key(void **state)
{
    struct gitd sshd;
    struct src_snapshot s;
    char *dir = xasprintf("%s/sshd", root);
    char *kh = xasprintf("%s/known_hosts", dir), *key = xasprintf("%s/client", dir);
    char *stranger = xasprintf("%s/stranger", dir), *hostpub, *otherpub;
    struct src_git_opts o = {
        .cache_dir = cache, .timeout_ms = 20000, .ssh_key = key, .ssh_known_hosts = kh};
    struct src_git_opts no_key = o, wrong_key = o;
    char *url, *msg, *want, *user;

    (void)state;
    if (!gitd_sshd_available()) {
        print_message("skipped: sshd is not available\n");
        skip();
    }
    repo_new("viassh");
    want = rev("viassh", "main");
    user = gitd_sh_out("id -un");
    assert_non_null(user);
    assert_int_equal(gitd_sh("mkdir -p '%s' && cd '%s' && "
                             "ssh-keygen -q -t ed25519 -N '' -f client && "
                             "ssh-keygen -q -t ed25519 -N '' -f stranger && "
                             "ssh-keygen -q -t ed25519 -N '' -f otherhost && "
                             "cp client.pub authorized_keys",
                             dir, dir),
                     0);
    assert_int_equal(gitd_sshd_start(&sshd, dir), 0);
    hostpub = xasprintf("%s/ssh_host_ed25519_key.pub", dir);
    otherpub = xasprintf("%s/otherhost.pub", dir);
    write_known_hosts(kh, sshd.port, hostpub);
    url = xasprintf("git+ssh://%s@127.0.0.1:%d%s/srv/viassh.git?path=apps", user, sshd.port, root);
    no_key.ssh_key = NULL;
    wrong_key.ssh_key = stranger;

    assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), 0);
    assert_string_equal(s.revision, want);
    assert_int_equal(s.n, 2);
    assert_null(strstr(s.root, user));
    src_snapshot_release(&s);
    assert_int_equal(sync_url_opts(url, &o, want, &s, &msg), 1);

    poison(&s);
    assert_int_equal(sync_url_opts(url, &no_key, NULL, &s, &msg), ERR_AUTH);
    assert_non_null(strstr(msg, "ROAM_GIT_SSH_KEY"));
    free(msg);
    assert_int_equal(sync_url_opts(url, &wrong_key, NULL, &s, &msg), ERR_AUTH);
    assert_non_null(strstr(msg, "refused"));
    free(msg);

    /* The server's key is not the one known for it: refused before any
     * credential is offered. */
    write_known_hosts(kh, sshd.port, otherpub);
    assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), ERR_AUTH);
    assert_non_null(strstr(msg, "does not match"));
    free(msg);
    assert_int_equal(gitd_sh(": > '%s'", kh), 0);
    assert_int_equal(sync_url_opts(url, &o, NULL, &s, &msg), ERR_AUTH);
    assert_non_null(strstr(msg, "not in the known hosts file"));
    free(msg);
    assert_poisoned(&s);

    gitd_stop(&sshd);
    free(url);
    free(want);
    free(user);
    free(dir);
    free(kh);
    free(key);
    free(stranger);
    free(hostpub);
    free(otherpub);
}

/* -- timings ----------------------------------------------------------------------- */

static void test_bench_1000_files(void **state)
{
    struct src_snapshot s;
    char *url, *msg, *want;
    double t0, clone_s, read_s, poll_s;
    const int polls = 20;

    (void)state;
    NEED_DAEMON();
    assert_int_equal(gitd_sh("cd '%s' && git init -q -b main work/bench && "
                             "git init -q --bare -b main srv/bench.git",
                             root),
                     0);
    for (int i = 0; i < 1000; i++) {
        char rel[96], text[256];

        snprintf(rel, sizeof(rel), "work/bench/apps/team-%02d/app-%04d.yaml", i % 50, i);
        snprintf(text, sizeof(text),
                 "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n"
                 "  name: app-%04d\nspec:\n  components: []\n",
                 i);
        put(rel, text);
    }
    commit_all("bench", "1000 apps");
    push("bench", false);
    want = rev("bench", "main");
    url = url_of("bench", "path=apps");

    t0 = now_s();
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    clone_s = now_s() - t0;
    assert_int_equal(s.n, 1000);
    assert_string_equal(s.revision, want);
    src_snapshot_release(&s);

    t0 = now_s();
    assert_int_equal(sync_url(url, NULL, &s, &msg), 0);
    read_s = now_s() - t0;
    assert_int_equal(s.n, 1000);
    src_snapshot_release(&s);

    t0 = now_s();
    for (int i = 0; i < polls; i++)
        assert_int_equal(sync_url(url, want, &s, &msg), 1);
    poll_s = (now_s() - t0) / polls;

    fprintf(stderr,
            "bench: 1000-file repository over git daemon on loopback: first sync (clone + read) "
            "%.1f ms, full read (fetch nothing, read all) %.1f ms, no-change poll %.2f ms "
            "(mean of %d)\n",
            clone_s * 1e3, read_s * 1e3, poll_s * 1e3, polls);
    free(url);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_scrub_userinfo),
        cmocka_unit_test(test_hostkey_check),
        cmocka_unit_test(test_first_clone_and_poll),
        cmocka_unit_test(test_incremental_fetch),
        cmocka_unit_test(test_force_push),
        cmocka_unit_test(test_bad_and_ambiguous_ref),
        cmocka_unit_test(test_tags_and_commits),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_refused_entries),
        cmocka_unit_test(test_tree_bomb_capped),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_stalled_server_times_out),
        cmocka_unit_test(test_corrupt_cache_rebuilt),
        cmocka_unit_test(test_file_url),
        cmocka_unit_test(test_concurrent_syncs),
        cmocka_unit_test(test_http_token),
        cmocka_unit_test(test_https_token_and_certificates),
        cmocka_unit_test(test_ssh_key_and_host_key),
        cmocka_unit_test(test_bench_1000_files),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
