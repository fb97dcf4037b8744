/*
 * fuzz_gerr.c - libFuzzer target for the Google error decoder (api/gcp/gerr).
 *
 * The first two bytes choose the HTTP status (100..599), the rest is the
 * body.  Every decode must end with a status string and a negative code for
 * 4xx/5xx, and formatting the result must work.  The same bytes also go
 * through the duration and Retry-After parsers.  Not built by default
 * (BUILD_FUZZERS, clang -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/xalloc.h"
#include "api/gcp/gerr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gerr g;
    long http = 400;
    char *text, *msg;
    long long ms;

    if (size >= 2) {
        http = 100 + ((long)data[0] << 8 | data[1]) % 500;
        data += 2;
        size -= 2;
    }
    gerr_init(&g);
    gerr_decode(http, (const char *)data, size, &g);
    if (g.status == NULL || (http >= 400 && g.code >= 0))
        abort();
    msg = gerr_format(&g, "fuzz", "resource", true);
    free(msg);
    gerr_release(&g);

    text = xstrndup((const char *)data, size);
    (void)gerr_parse_duration(text, &ms);
    (void)gerr_parse_retry_after(text, &ms);
    free(text);
    return 0;
}
