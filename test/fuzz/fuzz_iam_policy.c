/*
 * fuzz_iam_policy.c - libFuzzer target for the IAM policy codec.
 *
 * Decodes the input as a policy; when that succeeds, the encoding must decode
 * again to a policy that encodes to the same bytes (what roam writes it can
 * read back), and every member must equal itself.  The same bytes are also
 * fed to the live-state decoder.
 *
 * Build with clang from the top of the tree, with the sources of api/iam and
 * api/common:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_POSIX_C_SOURCE=200809L
 *       -D_DEFAULT_SOURCE test/fuzz/fuzz_iam_policy.c (api/iam, api/common .c files)
 *       $(pkg-config --cflags --libs jansson)
 *
 * Seeds are in corpus/iam_policy/, tokens in iam_policy.dict.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/err.h"
#include "api/iam/iam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct iam_policy *p)
{
    struct iam_policy again, copy;
    char *out, *out2, *out3;

    out = iam_policy_encode(p);
    if (iam_policy_decode(out, strlen(out), &again, NULL) != 0)
        abort();
    out2 = iam_policy_encode(&again);
    if (strcmp(out, out2) != 0)
        abort();
    iam_policy_copy(&copy, p);
    out3 = iam_policy_encode(&copy);
    if (strcmp(out, out3) != 0)
        abort();
    for (size_t i = 0; i < p->n_bindings; i++)
        for (size_t j = 0; j < p->bindings[i].n_members; j++) {
            const char *m = p->bindings[i].members[j];
            struct iam_member parsed;
            const char *why;

            if (!iam_member_eq(m, m) ||
                !iam_policy_has(p, p->bindings[i].role, p->bindings[i].cond, m))
                abort();
            (void)iam_member_parse(m, &parsed, &why);
            free(iam_member_email_domain(m));
            free(iam_member_sa_project(m));
        }
    free(out);
    free(out2);
    free(out3);
    iam_policy_release(&again);
    iam_policy_release(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err_detail err = {0};
    struct iam_policy p;
    struct iam_live l;

    if (iam_policy_decode((const char *)data, size, &p, &err) == 0)
        check_roundtrip(&p);
    iam_policy_release(&p);
    err_detail_release(&err);

    if (iam_live_decode((const char *)data, size, &l, &err) == 0)
        for (size_t i = 0; i < l.n; i++)
            if (iam_live_find(&l, l.names[i]) != (long)i)
                abort();
    iam_live_release(&l);
    err_detail_release(&err);
    return 0;
}
