/*
 * ledger_store.c - file:// ledger records, read side (see ledger_store.h).
 */
#include "ledger_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/caps.h"
#include "api/common/str.h"
#include "api/common/xalloc.h"
#include "controller/source/source.h"

static int load_record(struct ledger *l, const char *path, const struct src_file *f,
                       struct err_list *errs)
{
    struct ledger_app rec;
    struct err_detail ed = {0};
    struct ledger_app *slot;
    int r;

    memset(&rec, 0, sizeof(rec));
    r = ledger_app_decode(f->data, f->len, &rec, &ed);
    if (r < 0) {
        err_list_add(errs, r, path, 0, 0, ed.path, "cannot read ledger record: %s",
                     ed.msg != NULL ? ed.msg : err_str(r));
        err_detail_release(&ed);
        ledger_app_release(&rec);
        return r;
    }
    err_detail_release(&ed);
    if (ledger_find_app(l, rec.app) != NULL) {
        err_list_add(errs, ERR_CONFLICT, path, 0, 0, NULL, "duplicate ledger record for app '%s'",
                     rec.app);
        ledger_app_release(&rec);
        return ERR_CONFLICT;
    }
    XGROW(l->apps, l->n + 1, l->cap);
    slot = &l->apps[l->n++];
    *slot = rec;
    return 0;
}

static int app_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ledger_app *)a)->app, ((const struct ledger_app *)b)->app);
}

int ledger_store_load(const char *state_url, struct ledger *ret, struct err_list *errs)
{
    const char *dir = src_dir_path(state_url);
    DIR *d;
    struct dirent *de;
    int rc = 0;

    ledger_init(ret);
    if (str_has_prefix(state_url, "gs://")) {
        err_list_add(errs, ERR_UNSUPPORTED, NULL, 0, 0, NULL,
                     "state '%s': gs:// ledgers are not supported by this command yet", state_url);
        return ERR_UNSUPPORTED;
    }
    d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : ERR_IO;
    while ((de = readdir(d)) != NULL) {
        struct src_snapshot snap;
        char *path;

        if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
            continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        /* src_dir_read takes single files whatever their name, with the caps. */
        if (src_dir_read(path, &snap) < 0 || snap.n != 1) {
            err_list_add(errs, ERR_IO, path, 0, 0, NULL, "cannot read ledger record");
            rc = ERR_PARSE;
        } else if (load_record(ret, path, &snap.files[0], errs) < 0) {
            rc = ERR_PARSE;
        }
        src_snapshot_release(&snap);
        free(path);
    }
    closedir(d);
    /* Directory order is arbitrary; the ledger's is by name. */
    if (ret->n > 1)
        qsort(ret->apps, ret->n, sizeof(*ret->apps), app_cmp);
    return rc;
}

/* App names are DNS-1123 labels after validation; refuse anything that could
 * leave the directory anyway. */
static bool safe_name(const char *app)
{
    if (app[0] == '\0' || app[0] == '.' || strlen(app) > 253)
        return false;
    for (const char *p = app; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return false;
    return true;
}

static int lock_dir(const char *dir, struct err_list *errs)
{
    char *path = xasprintf("%s/.lock", dir);
    int fd;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        /* Create parents one level at a time (./.roam/state). */
        char *parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = '\0';
            mkdir(parent, 0755);
        }
        free(parent);
        mkdir(dir, 0755);
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        err_list_add(errs, ERR_IO, path, 0, 0, NULL, "cannot lock the ledger: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int ledger_store_put(const char *state_url, const struct ledger_app *rec, struct err_list *errs)
{
    const char *dir = src_dir_path(state_url);
    char *tmp, *final, *json;
    int lock, fd, rc = 0;

    if (!safe_name(rec->app)) {
        err_list_add(errs, ERR_INVAL, NULL, 0, 0, NULL, "refusing ledger record name '%s'",
                     rec->app);
        return ERR_INVAL;
    }
    lock = lock_dir(dir, errs);
    if (lock < 0)
        return ERR_IO;
    tmp = xasprintf("%s/.%s.json.tmp", dir, rec->app);
    final = xasprintf("%s/%s.json", dir, rec->app);
    json = ledger_app_encode(rec);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, json, strlen(json)) < 0 || write_all(fd, "\n", 1) < 0 ||
        fsync(fd) < 0 || close(fd) < 0 || rename(tmp, final) < 0) {
        err_list_add(errs, ERR_IO, final, 0, 0, NULL, "cannot write ledger record: %s",
                     strerror(errno));
        unlink(tmp);
        rc = ERR_IO;
    } else {
        sync_dir(dir);
    }
    free(json);
    free(tmp);
    free(final);
    close(lock);
    return rc;
}

int ledger_store_delete(const char *state_url, const char *app, struct err_list *errs)
{
    const char *dir = src_dir_path(state_url);
    char *final;
    int lock, rc = 0;

    if (!safe_name(app))
        return ERR_INVAL;
    lock = lock_dir(dir, errs);
    if (lock < 0)
        return ERR_IO;
    final = xasprintf("%s/%s.json", dir, app);
    if (unlink(final) < 0 && errno != ENOENT) {
        err_list_add(errs, ERR_IO, final, 0, 0, NULL, "cannot remove ledger record: %s",
                     strerror(errno));
        rc = ERR_IO;
    } else {
        sync_dir(dir);
    }
    free(final);
    close(lock);
    return rc;
}
