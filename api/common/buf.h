/*
 * buf.h - a growable byte buffer with a ceiling set at birth.
 *
 * Every buffer that holds untrusted or unbounded data gets a maximum when it
 * is initialised (curl's dynbuf).  An append that would pass the maximum frees
 * the contents and returns ERR_LIMIT, so a caller cannot forget the cap.  The
 * contents are always NUL-terminated for convenience (the NUL is not counted).
 */
#ifndef ROAM_BUF_H
#define ROAM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* ceiling for len */
};

/* Sets up an empty buffer that may grow to max bytes.  Cannot fail. */
void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer may be reused after buf_init. */
void buf_release(struct buf *b);
/* Empties the buffer but keeps its maximum and allocation. */
void buf_reset(struct buf *b);

/* Appends n bytes.  Returns 0, or ERR_LIMIT after releasing the contents. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* The contents as a C string ("" when empty); valid until the next change. */
const char *buf_str(const struct buf *b);
/* Hands the contents to the caller (free() them) and re-initialises b. */
char *buf_detach(struct buf *b, size_t *ret_len);

#endif
