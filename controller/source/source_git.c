/*
 * source_git.c - a Git repository as a source: the cache and the fetch.
 *
 * One bare repository per remote lives under the cache directory, named by
 * a hash of the remote URL, and is guarded by a lock file beside it (flock,
 * so that threads and processes sharing the cache take turns).  A sync
 * opens it (creating it on first use: that first fetch is the clone),
 * connects once, reads the refs the remote advertises and resolves the
 * wanted ref there.  If the commit is the caller's known revision, it stops:
 * one round trip, nothing downloaded.  Otherwise only the one ref is fetched
 * with a force refspec (+refs/heads/main:refs/remotes/origin/main), over the
 * same connection, and the commit's tree is read from the object database.
 *
 * A repository that will not open, is not bare, belongs to another remote
 * (the roam.url key in its config), or fails locally while fetching or
 * reading, is removed and cloned again, at most once per call.  Failures of
 * the network, of authentication or of the remote never touch the cache.
 *
 * Alternatives rejected: git_clone + checkout (a working tree is more disk,
 * more writes, and a place where a hostile name or link in the repository
 * acts on the file system); git_remote_fetch of every branch on each poll
 * (more traffic for one ref); a shallow fetch (libgit2 1.5 has none).
 */
#include "source_git.h"
#include "source_git_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"

#define MAX_RM_DEPTH 64
#define LOCK_POLL_MS 20

/* The refspecs that fetch every branch and tag (for a commit given by SHA);
 * arrays because git_strarray wants non-const strings. */
static char all_heads[] = "+refs/heads/*:refs/remotes/origin/*";
static char all_tags[] = "+refs/tags/*:refs/tags/*";

struct sync {
    const struct src_git_url *u;
    const struct src_git_opts *o;
    struct src_git_call call;
    char *cache; /* the repository's directory */
    git_repository *repo;
    git_remote *remote;
    bool local;   /* the failure was local: rebuilding the cache may cure it */
    char *errmsg; /* the failure */
};

/* The commit a ref resolves to, and what to fetch for it. */
struct target {
    git_oid oid;    /* advertised (tag object for an annotated tag) */
    git_oid commit; /* peeled, when advertised */
    bool peeled;
    char *spec; /* refspec fetching it; owned */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libgit2(void)
{
    const char *file = getenv("SSL_CERT_FILE"), *dir = getenv("SSL_CERT_DIR");

    init_rc = git_libgit2_init();
    if (init_rc < 0)
        return;
    /* The cache is ours: a cache directory created by another uid (a
     * mounted volume) must not make every open fail. */
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
    if (file != NULL || dir != NULL)
        git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir);
    init_rc = src_git_net_register();
}

/* -- cache location ---------------------------------------------------------------- */

char *src_git_default_cache_dir(void)
{
    const char *v = getenv("ROAM_CACHE_DIR");

    if (v != NULL && v[0] != '\0')
        return xasprintf("%s/git", v);
    v = getenv("XDG_CACHE_HOME");
    if (v != NULL && v[0] == '/')
        return xasprintf("%s/roam/git", v);
    v = getenv("HOME");
    if (v != NULL && v[0] == '/')
        return xasprintf("%s/.cache/roam/git", v);
    return xasprintf("/tmp/roam-cache-%u/git", (unsigned)getuid());
}

char *src_git_cache_path(const char *cache_dir, const struct src_git_url *u)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[33];

    EVP_Digest(u->remote, strlen(u->remote), md, &mdlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return xasprintf("%s/%s.git", cache_dir, hex);
}

/* mkdir -p, 0700 for what it creates. */
static int mkdirs(const char *dir)
{
    char *p;
    int r = 0;

    if (dir[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    p = xstrdup(dir);
    for (char *s = p + 1; r == 0; s++) {
        bool end = *s == '\0';

        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            r = -1;
        if (end)
            break;
        *s = '/';
    }
    free(p);
    return r;
}

/* Removes a tree without following symbolic links. */
static int rm_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0);
    if (depth > MAX_RM_DEPTH)
        return -1;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rm_at(fd, de->d_name, depth + 1);
    closedir(d);
    return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* -- messages ---------------------------------------------------------------------- */

static void set_err(struct sync *s, char *msg)
{
    const char *tok = s->o->token;

    src_git_scrub_userinfo(msg);
    /* libgit2 never echoes the password, but be certain. */
    if (tok != NULL && tok[0] != '\0') {
        char *hit = strstr(msg, tok);

        for (; hit != NULL; hit = strstr(hit, tok))
            memset(hit, '*', strlen(tok));
    }
    free(s->errmsg);
    s->errmsg = msg;
}

static char *remote_shown(const struct src_git_url *u)
{
    char *r = xstrdup(u->remote);

    src_git_scrub_userinfo(r);
    return r;
}

static const char *git_msg(void)
{
    const git_error *e = git_error_last();

    return e != NULL && e->message != NULL ? e->message : "unknown error";
}

static bool remote_class(int klass)
{
    return klass == GIT_ERROR_NET || klass == GIT_ERROR_SSL || klass == GIT_ERROR_SSH ||
           klass == GIT_ERROR_HTTP || klass == GIT_ERROR_CALLBACK;
}

/*
 * Turns a libgit2 failure while doing `what` (a gerund phrase, or NULL when
 * libgit2's own message says it all) into an ERR_* code and a message.
 * local_ok: a failure that is not clearly the network's may be cured by a
 * rebuild of the cache.
 */
static int git_fail(struct sync *s, int grc, const char *what, bool local_ok)
{
    const git_error *e = git_error_last();
    struct src_git_call *c = &s->call;

    if (c->timed_out) {
        set_err(s, xasprintf("timed out after %u ms%s%s", c->timeout_ms,
                             what != NULL ? " while " : "", what != NULL ? what : ""));
        return ERR_TRANSIENT;
    }
    if (c->too_big) {
        set_err(s, xasprintf("the download exceeds the cap of %llu MiB",
                             (unsigned long long)(CAP_GIT_FETCH_BYTES >> 20)));
        return ERR_LIMIT;
    }
    if (c->auth_why != NULL || c->hostkey_why != NULL) {
        set_err(s, xstrdup(c->auth_why != NULL ? c->auth_why : c->hostkey_why));
        return ERR_AUTH;
    }
    set_err(s, xasprintf("%s%s%s%s", git_msg(), what != NULL ? " (while " : "",
                         what != NULL ? what : "", what != NULL ? ")" : ""));
    if (grc == GIT_EAUTH || grc == GIT_ECERTIFICATE)
        return ERR_AUTH;
    if (e != NULL && remote_class(e->klass))
        return ERR_TRANSIENT;
    s->local = local_ok;
    return local_ok ? ERR_IO : ERR_TRANSIENT;
}

/* -- the cache repository ---------------------------------------------------------- */

static bool cache_valid(struct sync *s)
{
    git_config *cfg = NULL;
    git_buf url = GIT_BUF_INIT;
    bool ok = false;

    if (!git_repository_is_bare(s->repo) || git_repository_config_snapshot(&cfg, s->repo) < 0)
        return false;
    if (git_config_get_string_buf(&url, cfg, "roam.url") == 0) {
        char *shown = remote_shown(s->u);

        ok = strcmp(url.ptr, shown) == 0;
        free(shown);
    }
    git_buf_dispose(&url);
    git_config_free(cfg);
    return ok;
}

static int cache_create(struct sync *s)
{
    git_repository_init_options io;
    git_config *cfg = NULL;
    char *shown = remote_shown(s->u);
    int r;

    git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    r = git_repository_init_ext(&s->repo, s->cache, &io);
    if (r == 0)
        r = git_repository_config(&cfg, s->repo);
    /* Who the cache belongs to, for people and for cache_valid(); without
     * userinfo, which is sometimes a token. */
    if (r == 0)
        r = git_config_set_string(cfg, "roam.url", shown);
    git_config_free(cfg);
    free(shown);
    if (r < 0) {
        set_err(s, xasprintf("cannot create the cache repository '%s': %s", s->cache, git_msg()));
        return ERR_IO;
    }
    return 0;
}

static int cache_remove(struct sync *s)
{
    git_repository_free(s->repo);
    s->repo = NULL;
    if (rm_at(AT_FDCWD, s->cache, 0) < 0 && errno != ENOENT) {
        set_err(s, xasprintf("cannot remove the broken cache '%s': %s", s->cache, strerror(errno)));
        return ERR_IO;
    }
    return 0;
}

/* Opens the cache repository, or (re)creates it: fresh forces a rebuild. */
static int cache_open(struct sync *s, bool fresh)
{
    struct stat st;
    int r;

    if (fresh || lstat(s->cache, &st) < 0) {
        r = cache_remove(s);
        return r < 0 ? r : cache_create(s);
    }
    r = git_repository_open_ext(&s->repo, s->cache, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
    if (r == 0 && cache_valid(s))
        return 0;
    r = cache_remove(s);
    return r < 0 ? r : cache_create(s);
}

/* Takes the lock file beside the cache, waiting until the deadline. */
static int cache_lock(struct sync *s, int *ret_fd)
{
    char *path = xasprintf("%s.lock", s->cache);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int r;

    if (fd < 0) {
        set_err(s, xasprintf("cannot open the cache lock '%s': %s", path, strerror(errno)));
        free(path);
        return ERR_IO;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        struct timespec ts = {0, LOCK_POLL_MS * 1000000L};
        int e = errno;

        if (e == EWOULDBLOCK && src_git_now_ms() >= s->call.deadline_ms) {
            set_err(s, xasprintf("timed out waiting for the cache lock '%s'", path));
            r = ERR_TRANSIENT;
            goto out_close;
        }
        if (e != EWOULDBLOCK && e != EINTR) {
            set_err(s, xasprintf("cannot lock the cache '%s': %s", path, strerror(e)));
            r = ERR_IO;
            goto out_close;
        }
        nanosleep(&ts, NULL);
    }
    free(path);
    *ret_fd = fd;
    return 0;
out_close:
    close(fd);
    free(path);
    return r;
}

/* -- resolving the ref ------------------------------------------------------------- */

static const git_remote_head *find_head(const git_remote_head **heads, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(heads[i]->name, name) == 0)
            return heads[i];
    return NULL;
}

/* Where a fetched ref is kept: branches and HEAD under refs/remotes/origin/,
 * tags as tags, anything else under refs/roam/. */
static char *spec_for(const char *name)
{
    if (strcmp(name, "HEAD") == 0)
        return xstrdup("+HEAD:refs/remotes/origin/HEAD");
    if (str_has_prefix(name, "refs/heads/"))
        return xasprintf("+%s:refs/remotes/origin/%s", name, name + strlen("refs/heads/"));
    if (str_has_prefix(name, "refs/tags/"))
        return xasprintf("+%s:%s", name, name);
    return xasprintf("+%s:refs/roam/%s", name, name + strlen("refs/"));
}

static int not_found(struct sync *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "<what> not found in '<remote>'", what given printf-style. */
static int not_found(struct sync *s, const char *fmt, ...)
{
    char *shown = remote_shown(s->u);
    char *what;
    va_list ap;

    va_start(ap, fmt);
    what = xvasprintf(fmt, ap);
    va_end(ap);
    set_err(s, xasprintf("%s not found in '%s'", what, shown));
    free(what);
    free(shown);
    return ERR_NOTFOUND;
}

/* Picks the advertised ref the source's ref names. */
static int pick_ref(struct sync *s, const git_remote_head **heads, size_t n,
                    const git_remote_head **ret)
{
    const char *ref = s->u->ref;
    char *branch, *tag;
    const git_remote_head *hb, *ht;

    if (ref == NULL || str_has_prefix(ref, "refs/")) {
        *ret = find_head(heads, n, ref != NULL ? ref : "HEAD");
        if (*ret != NULL)
            return 0;
        return not_found(s, "ref '%s'", ref != NULL ? ref : "HEAD");
    }
    branch = xasprintf("refs/heads/%s", ref);
    tag = xasprintf("refs/tags/%s", ref);
    hb = find_head(heads, n, branch);
    ht = find_head(heads, n, tag);
    free(branch);
    free(tag);
    if (hb != NULL && ht != NULL) {
        set_err(s, xasprintf("ref '%s' is both a branch and a tag; use ref=refs/heads/%s or "
                             "ref=refs/tags/%s",
                             ref, ref, ref));
        return ERR_CONFLICT;
    }
    *ret = hb != NULL ? hb : ht;
    if (*ret != NULL)
        return 0;
    return not_found(s, "ref '%s'", ref);
}

static int resolve(struct sync *s, struct target *t)
{
    const git_remote_head **heads;
    const git_remote_head *h, *peeled;
    size_t n;
    char *pname;
    int r;

    r = git_remote_ls(&heads, &n, s->remote);
    if (r < 0)
        return git_fail(s, r, "listing the remote's refs", false);
    r = pick_ref(s, heads, n, &h);
    if (r < 0)
        return r;
    git_oid_cpy(&t->oid, &h->oid);
    pname = xasprintf("%s^{}", h->name);
    peeled = find_head(heads, n, pname);
    free(pname);
    t->peeled = peeled != NULL;
    git_oid_cpy(&t->commit, peeled != NULL ? &peeled->oid : &h->oid);
    t->spec = spec_for(h->name);
    return 0;
}

/* -- fetching ---------------------------------------------------------------------- */

static void connect_opts(struct sync *s, git_remote_callbacks *cb, git_proxy_options *proxy)
{
    src_git_net_callbacks(cb, &s->call);
    git_proxy_options_init(proxy, GIT_PROXY_OPTIONS_VERSION);
    /* http.proxy / https_proxy apply to HTTP(S) only. */
    if (str_has_prefix(s->u->remote, "http"))
        proxy->type = GIT_PROXY_AUTO;
}

static int remote_connect(struct sync *s)
{
    git_remote_create_options ro;
    git_remote_connect_options co;
    int r;

    git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    ro.repository = s->repo;
    ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    r = git_remote_create_with_opts(&s->remote, s->u->remote, &ro);
    if (r < 0)
        return git_fail(s, r, "setting up the remote", false);
    git_remote_connect_options_init(&co, GIT_REMOTE_CONNECT_OPTIONS_VERSION);
    connect_opts(s, &co.callbacks, &co.proxy_opts);
    co.follow_redirects = GIT_REMOTE_REDIRECT_INITIAL;
    r = git_remote_connect_ext(s->remote, GIT_DIRECTION_FETCH, &co);
    if (r < 0)
        return git_fail(s, r, NULL, false);
    return 0;
}

/* Downloads what the refspecs name, over the open connection, and records
 * the refs (they keep the objects reachable and make the next negotiation
 * incremental). */
static int download(struct sync *s, char **specs, size_t nspecs)
{
    git_strarray arr = {specs, nspecs};
    git_fetch_options fo;
    int r;

    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    connect_opts(s, &fo.callbacks, &fo.proxy_opts);
    fo.follow_redirects = GIT_REMOTE_REDIRECT_INITIAL;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    fo.prune = GIT_FETCH_NO_PRUNE;
    r = git_remote_download(s->remote, &arr, &fo);
    if (r < 0)
        return git_fail(s, r, "downloading", true);
    r = git_remote_update_tips(s->remote, &fo.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE,
                               "roam: fetch");
    if (r < 0)
        return git_fail(s, r, "updating the cache's refs", true);
    return 0;
}

static bool have_object(struct sync *s, const git_oid *id)
{
    git_odb *odb;
    bool yes;

    if (git_repository_odb(&odb, s->repo) < 0)
        return false;
    yes = git_odb_exists(odb, id) != 0;
    git_odb_free(odb);
    return yes;
}

/* The commit an oid peels to; ERR_NOTFOUND when it is not one. */
static int peel_commit(struct sync *s, const git_oid *id, git_commit **ret)
{
    git_object *obj = NULL, *peeled = NULL;
    char hex[GIT_OID_HEXSZ + 1];
    int r;

    r = git_object_lookup(&obj, s->repo, id, GIT_OBJECT_ANY);
    if (r == 0)
        r = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (r == GIT_EPEEL || r == GIT_EINVALIDSPEC) {
        git_oid_tostr(hex, sizeof(hex), id);
        set_err(s, xasprintf("ref '%s' names %s, which is not a commit",
                             s->u->ref != NULL ? s->u->ref : "HEAD", hex));
        return ERR_NOTFOUND;
    }
    if (r < 0)
        return git_fail(s, r, "reading the commit from the cache", true);
    *ret = (git_commit *)peeled;
    return 0;
}

static bool is_known(const git_oid *id, const char *known)
{
    char hex[GIT_OID_HEXSZ + 1];

    if (known == NULL)
        return false;
    git_oid_tostr(hex, sizeof(hex), id);
    return str_eq_ci(hex, known);
}

/* A ref name: resolve over the connection, fetch unless already present. */
static int fetch_ref(struct sync *s, const char *known, git_commit **ret)
{
    struct target t = {0};
    int r;

    r = remote_connect(s);
    if (r == 0)
        r = resolve(s, &t);
    if (r == 0 && is_known(&t.commit, known))
        r = 1;
    if (r == 0 && !have_object(s, &t.commit)) {
        char *specs[] = {t.spec};

        r = download(s, specs, 1);
    }
    if (r == 0)
        r = peel_commit(s, t.peeled ? &t.commit : &t.oid, ret);
    if (r == 0 && is_known(git_commit_id(*ret), known)) {
        git_commit_free(*ret);
        *ret = NULL;
        r = 1;
    }
    free(t.spec);
    return r;
}

/* A commit SHA: immutable, so the cache answers if it has it; otherwise
 * every branch and tag is fetched and the commit must be among them. */
static int fetch_sha(struct sync *s, git_commit **ret)
{
    git_oid id;
    int r;

    if (git_oid_fromstr(&id, s->u->ref) < 0)
        return not_found(s, "commit %s", s->u->ref);
    if (!have_object(s, &id)) {
        char *specs[] = {all_heads, all_tags};

        r = remote_connect(s);
        if (r == 0)
            r = download(s, specs, 2);
        if (r < 0)
            return r;
        if (!have_object(s, &id))
            return not_found(s, "commit %s", s->u->ref);
    }
    return peel_commit(s, &id, ret);
}

static bool is_sha(const char *ref)
{
    return ref != NULL && strlen(ref) == GIT_OID_HEXSZ &&
           strspn(ref, "0123456789abcdef") == GIT_OID_HEXSZ;
}

/* -- the sync ---------------------------------------------------------------------- */

static int read_snapshot(struct sync *s, git_commit *commit, struct src_snapshot *snap)
{
    char hex[GIT_OID_HEXSZ + 1];
    char *msg = NULL;
    int r;

    src_snapshot_init(snap);
    snap->root = xstrdup(s->u->display);
    r = src_git_tree_read(s->repo, commit, s->u->path, snap, &msg);
    if (r < 0) {
        src_snapshot_release(snap);
        set_err(s, msg);
        s->local = r == ERR_IO;
        return r;
    }
    git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
    snap->revision = xstrdup(hex);
    return 0;
}

static void close_repo(struct sync *s)
{
    if (s->remote != NULL) {
        git_remote_disconnect(s->remote);
        git_remote_free(s->remote);
        s->remote = NULL;
    }
    git_repository_free(s->repo);
    s->repo = NULL;
}

/* One attempt on an open cache. */
static int sync_once(struct sync *s, const char *known, struct src_snapshot *snap)
{
    git_commit *commit = NULL;
    int r;

    s->local = false;
    r = is_sha(s->u->ref) ? fetch_sha(s, &commit) : fetch_ref(s, known, &commit);
    if (r == 0)
        r = read_snapshot(s, commit, snap);
    git_commit_free(commit);
    close_repo(s);
    return r;
}

static int sync_locked(struct sync *s, const char *known, struct src_snapshot *snap)
{
    int r = ERR_IO;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = cache_open(s, attempt > 0);
        if (r < 0)
            break;
        r = sync_once(s, known, snap);
        if (r >= 0 || !s->local)
            break;
    }
    close_repo(s);
    return r;
}

static void call_init(struct sync *s, const struct src_git_url *u, const struct src_git_opts *o)
{
    unsigned ms = o->timeout_ms != 0 ? o->timeout_ms : SRC_GIT_DEFAULT_TIMEOUT_MS;

    memset(s, 0, sizeof(*s));
    s->u = u;
    s->o = o;
    s->call.u = u;
    s->call.o = o;
    s->call.timeout_ms = ms;
    s->call.deadline_ms = src_git_now_ms() + ms;
}

int src_git_sync(const struct src_git_url *u, const struct src_git_opts *o,
                 const char *known_revision, struct src_snapshot *snap, char **ret_errmsg)
{
    struct src_snapshot tmp;
    struct sync s;
    int lock = -1, r;

    *ret_errmsg = NULL;
    if (is_sha(u->ref) && known_revision != NULL && str_eq_ci(u->ref, known_revision))
        return 1;
    pthread_once(&init_once, init_libgit2);
    if (init_rc < 0) {
        *ret_errmsg = xstrdup("cannot initialise libgit2");
        return ERR_IO;
    }
    call_init(&s, u, o);
    if (o->cache_dir == NULL || mkdirs(o->cache_dir) < 0) {
        *ret_errmsg = xasprintf("cannot create the cache directory '%s': %s",
                                o->cache_dir != NULL ? o->cache_dir : "(none)", strerror(errno));
        return ERR_IO;
    }
    s.cache = src_git_cache_path(o->cache_dir, u);
    src_git_net_begin(&s.call);
    r = cache_lock(&s, &lock);
    if (r == 0) {
        r = sync_locked(&s, known_revision, &tmp);
        close(lock);
    }
    src_git_net_end(&s.call);
    if (r == 0)
        *snap = tmp;
    else if (r < 0)
        *ret_errmsg = s.errmsg != NULL ? s.errmsg : xstrdup("unknown failure");
    if (r >= 0)
        free(s.errmsg);
    free(s.call.auth_why);
    free(s.call.hostkey_why);
    free(s.cache);
    return r;
}
