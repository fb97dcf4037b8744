/*
 * xalloc.h - allocation wrappers that abort with a message on exhaustion.
 *
 * roam is a supervised process: when memory runs out it is restarted, and
 * every input is capped (caps.h) so that an attacker cannot drive it there.
 * Error paths therefore stay about real errors (git's xmalloc, h2o's
 * h2o_mem_alloc).  All results are freed with free().
 */
#ifndef ROAM_XALLOC_H
#define ROAM_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Reallocates p to nmemb * size bytes, aborting on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* NULL-preserving strdup. */
char *xstrdup_or_null(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * XGROW(arr, need, cap): makes the array `arr` (with capacity `cap`, in
 * elements) hold at least `need` elements, doubling as it grows.
 */
#define XGROW(arr, need, cap)                                                                      \
    do {                                                                                           \
        if ((need) > (cap)) {                                                                      \
            size_t xg_new_ = (cap) < 4 ? 4 : (cap)*2;                                              \
            while (xg_new_ < (need))                                                               \
                xg_new_ *= 2;                                                                      \
            (arr) = xreallocarray((arr), xg_new_, sizeof(*(arr)));                                 \
            (cap) = xg_new_;                                                                       \
        }                                                                                          \
    } while (0)

#endif
