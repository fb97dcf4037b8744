/*
 * fuzz_oam.c - libFuzzer target for the document parser (api/oam).
 *
 * The bytes are one file: oam_parse_file, then oam_validate_set, then the
 * canonical printer for every valid app.  The printer promises that its
 * output parses back to the same app, so every printed app is parsed and
 * validated again and must come out valid and print to the same bytes.  The
 * same bytes also go through the platform configuration parser.  A file
 * that the parser rejects must leave a problem behind (no silent drop).
 * Not built by default (BUILD_FUZZERS, clang -fsanitize=fuzzer); normal
 * builds replay the corpus through it (replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/oam/oam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct oam_defaults defs = {"fuzz-project", "europe-west1"};

/* Printing `app` and parsing the result must give the same print. */
static void check_reprint(const struct oam_app *app)
{
    struct oam_docset again;
    char *text = oam_app_print(app), *text2;

    if (text == NULL)
        abort();
    oam_docset_init(&again);
    if (oam_parse_file(&again, "reprint.yaml", text, strlen(text)) != 0 || again.n_apps != 1 ||
        again.errs.n != 0)
        abort();
    if (oam_validate_set(&again, &defs) != 0)
        abort();
    text2 = oam_app_print(&again.apps[0]);
    if (text2 == NULL || strcmp(text, text2) != 0)
        abort();
    free(text2);
    free(text);
    oam_docset_release(&again);
}

static void check_config(const char *data, size_t size)
{
    struct oam_config cfg;

    oam_config_init(&cfg);
    if (oam_config_parse(&cfg, "config.yaml", data, size) < 0 && cfg.errs.n == 0)
        abort();
    oam_config_release(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oam_docset set;
    int rc;

    oam_docset_init(&set);
    rc = oam_parse_file(&set, "fuzz.yaml", (const char *)data, size);
    if (rc < 0 && set.errs.n == 0)
        abort();
    (void)oam_validate_set(&set, &defs);
    if (set.errs.n == 0)
        for (size_t i = 0; i < set.n_apps; i++)
            if (set.apps[i].errs.n == 0)
                check_reprint(&set.apps[i]);
    oam_docset_release(&set);
    check_config((const char *)data, size);
    return 0;
}
