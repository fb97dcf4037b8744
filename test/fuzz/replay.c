/*
 * replay.c - a main() for the fuzz targets in builds without libFuzzer.
 *
 * Linked with one fuzz_*.c file, it feeds every regular file of every
 * directory (or file) named on the command line to LLVMFuzzerTestOneInput,
 * once each, in name order, so that a normal gcc build runs the whole corpus
 * (seeds and every input that once crashed) under ctest.  A crash or an
 * abort() in the target fails the test; the name of the input being run is
 * printed first so the failure points at it.  Exit 0 when every input ran,
 * 1 on a usage or I/O problem.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into *ret (malloc'd, owned by the caller). */
static int read_all(const char *path, uint8_t **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL)
        return -1;
    do {
        if (cap - len < 4096) {
            cap = cap * 2 + 4096;
            buf = xrealloc(buf, cap);
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *ret = buf;
    *ret_len = len;
    return 0;
}

static int run_file(const char *path)
{
    uint8_t *data, *exact;
    size_t len;

    if (read_all(path, &data, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* An exact-size copy, so that ASan sees a read one byte past the end. */
    exact = xmalloc(len > 0 ? len : 1);
    memcpy(exact, data, len);
    free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, sorted; counts them in *n. */
static int run_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (cnt == cap) {
            cap = cap * 2 + 16;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[cnt++] = xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (cnt > 0)
        qsort(names, cnt, sizeof(*names), cmp_names);
    for (size_t i = 0; i < cnt; i++) {
        struct stat st;

        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[i]);
            (*n)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &n) != 0 : run_file(argv[i]) != 0)
            return 1;
        if (!S_ISDIR(st.st_mode))
            n++;
    }
    printf("replay: %zu inputs, no crash\n", n);
    return 0;
}
