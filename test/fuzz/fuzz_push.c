/*
 * fuzz_push.c - libFuzzer target for the push decoders (api/push): the
 * Pub/Sub envelope and its classification, the JWT splitter and claim
 * decoder, and base64.  Decoded data must round-trip through the encoder;
 * a classified event must carry what its kind promises.  Not built by
 * default (clang -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/push/b64.h"
#include "api/push/jwt.h"
#include "api/push/push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void classify(const struct push_message *m)
{
    struct push_event e;
    struct err_detail err = {0};

    if (push_classify(m, &e, &err) == 0) {
        if (e.kind == PUSH_STORAGE && (e.bucket == NULL || e.object == NULL))
            abort();
        if (e.kind == PUSH_ASSET && (e.resource == NULL || strncmp(e.resource, "projects/", 9)))
            abort();
    } else if (err.msg == NULL || e.resource != NULL || e.bucket != NULL) {
        abort();
    }
    push_event_release(&e);
    err_detail_release(&err);
}

static void b64_roundtrip(const char *p, size_t n)
{
    unsigned char *out;
    size_t len;
    char *again;

    if (b64_decode(p, n, B64_ANY, &out, &len) != 0)
        return;
    again = b64_encode(out, len, B64_STD, 0);
    /* Strict decoding: one text per byte string (up to alphabet and pad). */
    if (strlen(again) > n)
        abort();
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct push_message m;
    struct jwt j;
    struct jwt_claims c;

    if (push_decode(p, size, &m, NULL) == 0) {
        if (m.message_id == NULL || (m.has_data && m.data == NULL))
            abort();
        classify(&m);
        push_message_release(&m);
    }
    if (jwt_decode(p, size, &j, NULL) == 0) {
        if (j.alg == NULL || j.payload_json == NULL)
            abort();
        if (jwt_claims_decode(j.payload_json, j.payload_len, &c, NULL) == 0)
            jwt_claims_release(&c);
        jwt_release(&j);
    }
    if (jwt_claims_decode(p, size, &c, NULL) == 0)
        jwt_claims_release(&c);
    b64_roundtrip(p, size);
    return 0;
}
