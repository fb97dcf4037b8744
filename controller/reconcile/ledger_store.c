/*
 * ledger_store.c - file:// ledger records, read side (see ledger_store.h).
 */
#include "ledger_store.h"

#include <dirent.h>
#include <errno.h>
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

int ledger_store_load(const char *state_url, struct ledger *ret, struct err_list *errs)
{
    const char *dir = src_dir_path(state_url);
    DIR *d;
    struct dirent *de;
    int rc = 0;

    ledger_init(ret);
    if (str_has_prefix(state_url, "gs://")) {
        err_list_add(errs, ERR_UNSUPPORTED, NULL, 0, 0, NULL,
                     "state '%s': gs:// ledgers are not supported by this command yet",
                     state_url);
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
    return rc;
}
