/*
 * cmd_validate.c - `roam validate PATH...`: parse and check documents
 * offline (ntpd/bgpd -n).
 *
 * Every problem is printed, not only the first, as
 * `file:line:col: field.path: message` on stderr.  With -v the canonical
 * form of every valid app goes to stdout (golden tests are built on it).
 * Exit 0 when every app is valid and every file was read, 1 otherwise.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/xalloc.h"
#include "api/oam/oam.h"
#include "controller/reconcile/load.h"
#include "controller/source/source.h"

static int cmp_detail(const void *a, const void *b)
{
    const struct err_detail *x = a, *y = b;
    int c = strcmp(x->file != NULL ? x->file : "", y->file != NULL ? y->file : "");

    if (c != 0)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    /* Keep the validator's order for problems at one place. */
    return x < y ? -1 : (x > y ? 1 : 0);
}

void cli_print_errs(FILE *out, const struct err_list *l, const char *prefix)
{
    struct err_detail *v;

    if (l->n == 0)
        return;
    /* Sort a shallow copy: the details' strings stay owned by l. */
    v = xmalloc(l->n * sizeof(*v));
    memcpy(v, l->v, l->n * sizeof(*v));
    qsort(v, l->n, sizeof(*v), cmp_detail);
    for (size_t i = 0; i < l->n; i++) {
        char *s = err_detail_format(&v[i]);
        fprintf(out, "%s%s\n", prefix, s);
        free(s);
    }
    free(v);
}

static int read_paths(struct cli_opts *o, struct oam_docset *set, size_t *ret_files)
{
    int rc = 0;

    for (int i = 0; i < o->argc; i++) {
        struct src_snapshot snap;

        if (src_dir_read(o->argv[i], &snap) < 0)
            rc = -1;
        *ret_files += (size_t)load_snapshot(&snap, set);
        src_snapshot_release(&snap);
    }
    return rc;
}

static void print_valid(const struct oam_docset *set, const struct oam_app *app)
{
    char *s = oam_app_print(app);

    (void)set;
    printf("---\n%s", s);
    free(s);
}

int cmd_validate(struct cli_opts *o)
{
    struct oam_docset set;
    struct oam_defaults defs = {o->project, o->region};
    size_t files = 0, rejected = 0;
    int rc;

    if (o->argc == 0) {
        fprintf(stderr, "roam validate: no PATH given\nusage: roam validate [-v] PATH...\n");
        return CLI_EXIT_ERROR;
    }
    oam_docset_init(&set);
    rc = read_paths(o, &set, &files);
    oam_validate_set(&set, &defs);
    cli_print_errs(stderr, &set.notices, "notice: ");
    cli_print_errs(stderr, &set.errs, "");
    for (size_t i = 0; i < set.n_apps; i++) {
        const struct oam_app *app = &set.apps[i];
        if (app->errs.n > 0) {
            rejected++;
            fprintf(stderr, "app '%s' rejected:\n", app->name != NULL ? app->name : "?");
            cli_print_errs(stderr, &app->errs, "  ");
        } else if (o->verbose > 0) {
            print_valid(&set, app);
        }
    }
    printf("%zu file%s, %zu app%s valid, %zu rejected%s\n", files, files == 1 ? "" : "s",
           set.n_apps - rejected, set.n_apps - rejected == 1 ? "" : "s", rejected,
           set.errs.n > 0 ? ", some files could not be read or parsed" : "");
    if (rc < 0 || rejected > 0 || set.errs.n > 0)
        rc = CLI_EXIT_ERROR;
    else
        rc = CLI_EXIT_OK;
    oam_docset_release(&set);
    return rc;
}
