/*
 * shard.c - "I/N" parsing and the stable app-to-shard hash (see shard.h).
 */
#include "shard.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/common/err.h"
#include "api/common/str.h"

static int fail(const char **ret_why, int code, const char *why)
{
    if (ret_why != NULL)
        *ret_why = why;
    return code;
}

/* Digits only: str_to_ll would accept a sign. */
static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A plain decimal number; anything past 9 digits is out of range anyway. */
static int parse_number(const char *s, long long *ret)
{
    size_t n = strlen(s);

    if (!all_digits(s, n))
        return ERR_PARSE;
    if (n > 9)
        return ERR_LIMIT;
    return str_to_ll(s, 0, 999999999, ret);
}

static int check(long long index, long long count, struct shard *ret, const char **ret_why)
{
    if (count < 1)
        return fail(ret_why, ERR_LIMIT, "the shard count must be at least 1");
    if (count > SHARD_MAX_COUNT)
        return fail(ret_why, ERR_LIMIT, "the shard count must be at most 10000");
    if (index >= count)
        return fail(ret_why, ERR_LIMIT, "the shard index must be below the count");
    ret->index = (unsigned)index;
    ret->count = (unsigned)count;
    return 0;
}

int shard_parse(const char *s, struct shard *ret, const char **ret_why)
{
    char buf[24];
    const char *slash;
    long long index = 0, count = 0;
    int rc;

    if (s == NULL)
        return fail(ret_why, ERR_PARSE, "expected I/N");
    slash = strchr(s, '/');
    if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
        return fail(ret_why, ERR_PARSE, "expected I/N");
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    rc = parse_number(buf, &index);
    if (rc == 0)
        rc = parse_number(slash + 1, &count);
    if (rc == ERR_PARSE)
        return fail(ret_why, rc, "expected I/N with decimal numbers, such as 0/4");
    if (rc < 0)
        return fail(ret_why, rc, "the shard index and count must be at most 10000");
    return check(index, count, ret, ret_why);
}

int shard_resolve(const char *flag, const char *task_index, const char *task_count,
                  struct shard *ret, const char **ret_why)
{
    long long index = 0, count = 0;
    int rc;

    if (flag != NULL)
        return shard_parse(flag, ret, ret_why);
    if (task_index == NULL && task_count == NULL) {
        ret->index = 0;
        ret->count = 1;
        return 0;
    }
    if (task_index == NULL || task_count == NULL)
        return fail(ret_why, ERR_PARSE,
                    "CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT must be set together");
    rc = parse_number(task_index, &index);
    if (rc == 0)
        rc = parse_number(task_count, &count);
    if (rc == ERR_PARSE)
        return fail(ret_why, rc, "CLOUD_RUN_TASK_INDEX/COUNT: expected decimal numbers");
    if (rc < 0)
        return fail(ret_why, rc, "CLOUD_RUN_TASK_INDEX/COUNT: at most 10000");
    return check(index, count, ret, ret_why);
}

int shard_from_env(const char *flag, struct shard *ret, const char **ret_why)
{
    return shard_resolve(flag, getenv("CLOUD_RUN_TASK_INDEX"), getenv("CLOUD_RUN_TASK_COUNT"), ret,
                         ret_why);
}

uint64_t shard_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return h;
}

uint64_t shard_hash(const char *name)
{
    uint64_t x = shard_fnv1a64(name);

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return x;
}

bool shard_owns(const struct shard *s, const char *name)
{
    if (s == NULL || s->count <= 1)
        return true;
    return shard_hash(name) % s->count == s->index;
}
