/*
 * fuzz_gcs_list.c - libFuzzer target for the Cloud Storage listing and
 * Object decoders (api/gcp/gcs).
 *
 * The bytes go through gcs_list_decode (twice into one list, as pages
 * append), gcs_object_decode, and, as a string, gcs_decode and
 * gcs_parse_generation.  Every kept object must have a name and a positive
 * generation; an encoded name must decode back to itself.  Not built by
 * default (BUILD_FUZZERS, clang -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/xalloc.h"
#include "api/gcp/gcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool keep_odd(const char *name, void *arg)
{
    (void)arg;
    return strlen(name) % 2 == 1;
}

static void check_list(const char *text, size_t size)
{
    struct gcs_objects l;
    char *next = NULL;

    gcs_objects_init(&l);
    for (int page = 0; page < 2; page++) {
        int rc = gcs_list_decode(text, size, page == 0 ? NULL : keep_odd, NULL, &l, &next, NULL);

        if (rc < 0 && next != NULL)
            abort();
        free(next);
        next = NULL;
    }
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].name == NULL || l.v[i].generation <= 0 || l.v[i].size < -1)
            abort();
    gcs_objects_release(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size), *dec = NULL, *enc;
    struct gcs_object o;
    long long g;

    check_list((const char *)data, size);
    if (gcs_object_decode((const char *)data, size, &o, NULL) == 0)
        gcs_object_release(&o);
    if (gcs_decode(text, &dec) == 0) {
        enc = gcs_encode(dec);
        free(dec);
        dec = NULL;
        if (gcs_decode(enc, &dec) != 0)
            abort();
        free(enc);
        free(dec);
    }
    enc = gcs_encode(text);
    if (gcs_decode(enc, &dec) != 0 || strcmp(dec, text) != 0)
        abort();
    free(dec);
    free(enc);
    (void)gcs_parse_generation(text, &g);
    free(text);
    return 0;
}
