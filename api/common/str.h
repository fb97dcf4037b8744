/*
 * str.h - small bounded string helpers.
 *
 * Numbers are parsed strictly (range-checked, whole string, OpenBSD strtonum);
 * never atoi.  Comparisons that IAM treats case-insensitively live here so
 * there is one definition of "the same e-mail".
 */
#ifndef ROAM_STR_H
#define ROAM_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Parses all of s as a decimal integer in [min, max] into *ret.
 * Returns 0, ERR_PARSE (not a number) or ERR_LIMIT (out of range). */
int str_to_ll(const char *s, long long min, long long max, long long *ret);

/* ASCII case-insensitive equality; NULL equals only NULL. */
bool str_eq_ci(const char *a, const char *b);
/* strcmp treating NULL as "". */
int str_cmp0(const char *a, const char *b);
/* Equality treating NULL as "". */
bool str_eq0(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Lower-cases ASCII letters in place. */
void str_lower(char *s);

#endif
