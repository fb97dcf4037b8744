/*
 * str.c - bounded string helpers (see str.h).
 */
#include "str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

int str_to_ll(const char *s, long long min, long long max, long long *ret)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
        return ERR_PARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return ERR_PARSE;
    if (errno == ERANGE || v < min || v > max)
        return ERR_LIMIT;
    *ret = v;
    return 0;
}

bool str_eq_ci(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcasecmp(a, b) == 0;
}

int str_cmp0(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

bool str_eq0(const char *a, const char *b)
{
    return str_cmp0(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

void str_lower(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}
