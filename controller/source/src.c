/*
 * src.c - the asynchronous source facade (see src.h).
 *
 * Blocking reads run in uv_queue_work: the worker fills `next` (and nothing
 * shared), the after-work callback on the loop swaps it in.  The previous
 * snapshot stays untouched until a read succeeded, which is what keeps a
 * failing Git server or bucket from looking like a source without apps.
 */
#include "src.h"

#include <stdlib.h>
#include <string.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/source/source_bucket.h"
#include "controller/source/source_git.h"

struct src {
    enum src_kind kind;
    char *url;
    uv_loop_t *loop;
    struct src_snapshot snap; /* last good one */
    bool have_snap;
    /* git */
    struct src_git_url git;
    struct src_git_opts gopts;
    char *cache_dir;
    char *token;
    char *ssh_key;
    /* bucket */
    struct src_bucket *bucket;
    /* the read in flight */
    bool busy;
    src_read_cb *cb;
    void *data;
    uv_work_t work;
    struct src_snapshot next;
    int wrc;
    char *werr;
};

char *src_default_cache_dir(void)
{
    const char *v = getenv("ROAM_CACHE_DIR");

    if (v != NULL && v[0] != '\0')
        return xstrdup(v);
    v = getenv("XDG_CACHE_HOME");
    if (v != NULL && v[0] != '\0')
        return xasprintf("%s/roam", v);
    v = getenv("HOME");
    if (v != NULL && v[0] != '\0' && strcmp(v, "/") != 0)
        return xasprintf("%s/.cache/roam", v);
    return xstrdup("/tmp/roam-cache");
}

char *src_default_state(const char *url)
{
    if (str_has_prefix(url, "gs://")) {
        const char *b = url + strlen("gs://");
        size_t n = strcspn(b, "/");
        return xasprintf("gs://%.*s/.roam/state", (int)n, b);
    }
    return xstrdup("./.roam/state");
}

static char *env_dup(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? xstrdup(v) : NULL;
}

int src_open(const char *url, const struct src_env *env, struct src **ret, char **ret_errmsg)
{
    struct src *s = xcalloc(1, sizeof(*s));

    *ret_errmsg = NULL;
    s->url = xstrdup(url);
    s->loop = env->loop;
    src_snapshot_init(&s->snap);
    src_snapshot_init(&s->next);
    s->cache_dir = env->cache_dir != NULL ? xstrdup(env->cache_dir) : src_default_cache_dir();
    if (src_git_url_is_git(url)) {
        s->kind = SRC_GIT;
        if (src_git_url_parse(url, &s->git, ret_errmsg) < 0)
            goto out_fail;
        s->token = env_dup("ROAM_GIT_TOKEN");
        s->ssh_key = env_dup("ROAM_GIT_SSH_KEY");
        s->gopts.cache_dir = s->cache_dir;
        s->gopts.token = s->token;
        s->gopts.ssh_key = s->ssh_key;
        s->gopts.ssh_known_hosts = getenv("ROAM_GIT_SSH_KNOWN_HOSTS");
    } else if (str_has_prefix(url, "gs://")) {
        s->kind = SRC_BUCKET;
        if (env->http == NULL) {
            *ret_errmsg = xasprintf("source '%s': a bucket needs the HTTP client", url);
            goto out_fail;
        }
        if (src_bucket_new(env->http, url, s->cache_dir, &s->bucket, ret_errmsg) < 0)
            goto out_fail;
    } else if (strstr(url, "://") != NULL && !str_has_prefix(url, "file://")) {
        *ret_errmsg = xasprintf("source '%s': unknown scheme (a directory, file://, git+https://, "
                                "git+http://, git+ssh://, git+file://, git:// or gs://)",
                                url);
        goto out_fail;
    } else {
        s->kind = SRC_DIR;
    }
    *ret = s;
    return 0;
out_fail:
    src_close(s);
    *ret = NULL;
    return ERR_INVAL;
}

static void work_read(uv_work_t *w)
{
    struct src *s = w->data;

    src_snapshot_init(&s->next);
    if (s->kind == SRC_DIR) {
        s->wrc = src_dir_read(s->url, &s->next);
        /* Refused files make a partial snapshot, not a failed read; only an
         * unreadable root is a failure. */
        if (s->wrc == ERR_NOTFOUND || s->wrc == ERR_PERM) {
            s->werr = s->next.errs.n > 0 ? err_detail_format(&s->next.errs.v[0])
                                         : xstrdup("cannot read the source");
        } else {
            s->wrc = 0;
        }
        return;
    }
    s->wrc = src_git_sync(&s->git, &s->gopts, s->have_snap ? s->snap.revision : NULL, &s->next,
                          &s->werr);
}

static void finish(struct src *s, int err, const char *msg, bool changed)
{
    src_read_cb *cb = s->cb;

    s->busy = false;
    s->cb = NULL;
    cb(s, err, msg, src_last(s), changed, s->data);
}

static void work_done(uv_work_t *w, int status)
{
    struct src *s = w->data;
    bool changed = false;
    int rc = s->wrc;
    char *msg = s->werr;

    s->werr = NULL;
    if (status < 0 && rc == 0) {
        rc = ERR_CANCELLED;
        msg = xstrdup("the read was cancelled");
    }
    if (rc == 0) {
        changed = !s->have_snap || !str_eq0(s->snap.revision, s->next.revision);
        src_snapshot_release(&s->snap);
        s->snap = s->next;
        src_snapshot_init(&s->next);
        s->have_snap = true;
    } else {
        src_snapshot_release(&s->next);
    }
    finish(s, rc < 0 ? rc : 0, msg, changed); /* rc 1: unchanged (git) */
    free(msg);
}

static void bucket_done(struct src_bucket *b, int err, const char *errmsg,
                        const struct src_snapshot *snap, bool changed, void *data)
{
    struct src *s = data;

    (void)b;
    (void)snap; /* the bucket source keeps it: src_last() returns its own */
    finish(s, err, errmsg, err == 0 && changed);
}

int src_read(struct src *s, src_read_cb *cb, void *data)
{
    int r;

    if (s->busy)
        return ERR_CONFLICT;
    s->busy = true;
    s->cb = cb;
    s->data = data;
    if (s->kind == SRC_BUCKET) {
        r = src_bucket_read(s->bucket, bucket_done, s);
    } else {
        s->work.data = s;
        r = uv_queue_work(s->loop, &s->work, work_read, work_done) < 0 ? ERR_IO : 0;
    }
    if (r < 0) {
        s->busy = false;
        s->cb = NULL;
    }
    return r;
}

enum src_kind src_kind(const struct src *s)
{
    return s->kind;
}

const char *src_url(const struct src *s)
{
    return s->url;
}

const struct src_snapshot *src_last(const struct src *s)
{
    if (s->kind == SRC_BUCKET)
        return src_bucket_snapshot(s->bucket); /* not copied: documents held once */
    return s->have_snap ? &s->snap : NULL;
}

void src_close(struct src *s)
{
    if (s == NULL)
        return;
    src_snapshot_release(&s->snap);
    src_snapshot_release(&s->next);
    if (s->kind == SRC_GIT)
        src_git_url_release(&s->git);
    src_bucket_free(s->bucket);
    if (s->token != NULL)
        explicit_bzero(s->token, strlen(s->token));
    free(s->token);
    free(s->ssh_key);
    free(s->cache_dir);
    free(s->werr);
    free(s->url);
    free(s);
}
