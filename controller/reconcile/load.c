/*
 * load.c - parse a snapshot's files into a docset (see load.h).
 */
#include "load.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/common/str.h"
#include "api/common/xalloc.h"

char *load_display_name(const struct src_snapshot *snap, const struct src_file *f)
{
    const char *root = src_dir_path(snap->root);
    size_t n = strlen(root);
    struct stat st;

    if (str_has_prefix(root, "gs://")) {
        /* gs://bucket/prefix/ + name */
        n = strlen(root);
        return xasprintf("%s%s%s", root, n > 0 && root[n - 1] == '/' ? "" : "/", f->path);
    }
    if (strstr(root, "://") != NULL) /* Git: the path inside the source */
        return xstrdup(f->path);
    /* A single-file source already carries its own path. */
    if (stat(root, &st) == 0 && S_ISREG(st.st_mode))
        return xstrdup(f->path);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n == 1 && root[0] == '.')
        return xstrdup(f->path);
    return xasprintf("%.*s/%s", (int)n, root, f->path);
}

int load_snapshot(const struct src_snapshot *snap, struct oam_docset *set)
{
    int parsed = 0;

    err_list_extend(&set->errs, &snap->errs);
    for (size_t i = 0; i < snap->n; i++) {
        char *name = load_display_name(snap, &snap->files[i]);

        oam_parse_file(set, name, snap->files[i].data, snap->files[i].len);
        free(name);
        parsed++;
    }
    return parsed;
}
