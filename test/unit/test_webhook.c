/*
 * test_webhook.c - controller/httpd/webhook: X-Hub-Signature-256 (GitHub's
 * documented vector, tampering, malformed headers, the legacy sha1 form,
 * empty secrets) and event decoding (push, ping, others, malformed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/common/err.h"
#include "controller/httpd/webhook.h"

#define SECRET "It's a Secret to Everybody"
#define GOOD "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

static void test_verify(void **state)
{
    static const struct {
        const char *secret;
        const char *header;
        const char *body;
        int rc;
    } t[] = {
        {SECRET, GOOD, "Hello, World!", 0},
        {SECRET, "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
         "Hello, World!", 0},
        {SECRET, GOOD, "Hello, World?", ERR_AUTH},
        {SECRET, GOOD, "Hello, World! ", ERR_AUTH},
        {SECRET, GOOD, "", ERR_AUTH},
        {"It's a Secret to Everybody!", GOOD, "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
         "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
         "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 ",
         "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17aa",
         "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
         "Hello, World!", ERR_AUTH},
        {SECRET, "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
         "Hello, World!", ERR_AUTH},
        {SECRET, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
         "Hello, World!", ERR_AUTH},
        {SECRET, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", "Hello, World!", ERR_AUTH},
        {SECRET, "sha256=", "Hello, World!", ERR_AUTH},
        {SECRET, "", "Hello, World!", ERR_AUTH},
        {SECRET, NULL, "Hello, World!", ERR_AUTH},
        {"", GOOD, "Hello, World!", ERR_INVAL},
        {NULL, GOOD, "Hello, World!", ERR_INVAL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t slen = t[i].secret != NULL ? strlen(t[i].secret) : 0;

        print_message("verify %zu\n", i);
        assert_int_equal(
            webhook_verify(t[i].secret, slen, t[i].header, t[i].body, strlen(t[i].body)), t[i].rc);
    }
    /* Binary bodies with NULs are signed byte for byte. */
    {
        const char body[] = {'a', 0, 'b'};
        assert_int_equal(webhook_verify(SECRET, strlen(SECRET), GOOD, body, sizeof(body)),
                         ERR_AUTH);
        assert_int_equal(webhook_verify(SECRET, strlen(SECRET), GOOD, NULL, 0), ERR_AUTH);
    }
}

#define SHA_A "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
#define SHA_B "76ae82f9b2d8a5b3d7c4d5e0f1a2b3c4d5e6f7a8"
#define ZERO "0000000000000000000000000000000000000000"
#define PUSH(ref, before, after, extra)                                                            \
    "{\"ref\":\"" ref "\",\"before\":\"" before "\",\"after\":\"" after "\",\"created\":false,"    \
    "\"deleted\":false,\"forced\":false,\"repository\":{\"id\":1,\"name\":\"cfg\","                \
    "\"full_name\":\"acme/cfg\",\"clone_url\":\"https://github.com/acme/cfg.git\","                \
    "\"default_branch\":\"main\"},\"pusher\":{\"name\":\"x\"},\"commits\":[]" extra "}"

static void test_decode(void **state)
{
    struct webhook_event e;
    struct err_detail err = {0};
    const char *body = PUSH("refs/heads/main", SHA_A, SHA_B, "");

    (void)state;
    assert_int_equal(webhook_decode("push", body, strlen(body), &e, &err), 0);
    assert_int_equal(e.kind, WEBHOOK_PUSH);
    assert_string_equal(e.event, "push");
    assert_string_equal(e.ref, "refs/heads/main");
    assert_string_equal(e.before, SHA_A);
    assert_string_equal(e.after, SHA_B);
    assert_string_equal(e.repo_full_name, "acme/cfg");
    assert_string_equal(e.clone_url, "https://github.com/acme/cfg.git");
    assert_string_equal(e.default_branch, "main");
    assert_false(e.deleted);
    assert_string_equal(webhook_branch(e.ref), "main");
    webhook_event_release(&e);

    body = "{\"ref\":\"refs/heads/old\",\"before\":\"" SHA_A "\",\"after\":\"" ZERO
           "\",\"deleted\":true,\"repository\":{\"full_name\":\"acme/cfg\"}}";
    assert_int_equal(webhook_decode("push", body, strlen(body), &e, &err), 0);
    assert_true(e.deleted);
    assert_string_equal(e.after, ZERO);
    assert_null(e.clone_url);
    webhook_event_release(&e);

    body = "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1,\"hook\":{}}";
    assert_int_equal(webhook_decode("ping", body, strlen(body), &e, &err), 0);
    assert_int_equal(e.kind, WEBHOOK_PING);
    assert_string_equal(e.zen, "Keep it logically awesome.");
    webhook_event_release(&e);

    body = "{\"action\":\"opened\"}";
    assert_int_equal(webhook_decode("pull_request", body, strlen(body), &e, &err), 0);
    assert_int_equal(e.kind, WEBHOOK_OTHER);
    assert_string_equal(e.event, "pull_request");
    webhook_event_release(&e);
    err_detail_release(&err);
}

static void test_decode_bad(void **state)
{
    static const struct {
        const char *event;
        const char *body;
        const char *path;
    } t[] = {
        {NULL, "{}", ""},
        {"", "{}", ""},
        {"push", "payload=%7B%7D", ""},
        {"push", "[]", ""},
        {"push", "{\"ref\":\"refs/heads/m\"", ""},
        {"ping", "", ""},
        {"push", "{\"after\":\"" SHA_B "\",\"repository\":{\"full_name\":\"a/b\"}}", "ref"},
        {"push", "{\"ref\":1,\"after\":\"" SHA_B "\"}", "ref"},
        {"push", "{\"ref\":\"r\",\"repository\":{\"full_name\":\"a/b\"}}", "after"},
        {"push", "{\"ref\":\"r\",\"after\":\"abc\",\"repository\":{\"full_name\":\"a/b\"}}",
         "after"},
        {"push", "{\"ref\":\"r\",\"after\":\"" SHA_B "x\",\"repository\":{\"full_name\":\"a/b\"}}",
         "after"},
        {"push", "{\"ref\":\"r\",\"after\":\"" SHA_B "\"}", "repository"},
        {"push", "{\"ref\":\"r\",\"after\":\"" SHA_B "\",\"repository\":\"a/b\"}", "repository"},
        {"push", "{\"ref\":\"r\",\"after\":\"" SHA_B "\",\"repository\":{}}",
         "repository.full_name"},
        {"push",
         "{\"ref\":\"r\",\"after\":\"" SHA_B "\",\"repository\":{\"full_name\":\"a/b\","
         "\"clone_url\":7}}",
         "repository.clone_url"},
        {"push",
         "{\"ref\":\"r\",\"after\":\"" SHA_B "\",\"deleted\":\"no\",\"repository\":"
         "{\"full_name\":\"a/b\"}}",
         "deleted"},
        {"ping", "{\"zen\":[]}", "zen"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct webhook_event e;
        struct err_detail err = {0};

        print_message("bad %zu\n", i);
        assert_int_equal(webhook_decode(t[i].event, t[i].body, strlen(t[i].body), &e, &err),
                         ERR_PARSE);
        assert_string_equal(err.path, t[i].path);
        assert_null(e.event);
        assert_null(e.ref);
        err_detail_release(&err);
    }
}

static void test_branch(void **state)
{
    (void)state;
    assert_string_equal(webhook_branch("refs/heads/main"), "main");
    assert_string_equal(webhook_branch("refs/heads/feature/x"), "feature/x");
    assert_null(webhook_branch("refs/tags/v1"));
    assert_null(webhook_branch("refs/heads/"));
    assert_null(webhook_branch("main"));
    assert_null(webhook_branch(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_bad),
        cmocka_unit_test(test_branch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
