/*
 * err.h - the one error vocabulary of roam.
 *
 * Every function that can fail returns 0 (or a documented count >= 0) on
 * success and a negative ERR_* code on failure.  The codes are listed once, in
 * ERR_MAP, in the manner of libuv's UV_ERRNO_MAP; they are never renumbered or
 * reused.  Human context (file, line, column, field path, message) travels
 * beside the code in struct err_detail, so that the CLI and the status API can
 * both print `app.yaml:14:7: spec.components[2].traits[0]: unknown trait`.
 *
 * struct err_list collects every problem a pass finds, because validation
 * reports all problems rather than the first.
 */
#ifndef ROAM_ERR_H
#define ROAM_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define ERR_MAP(X)                                                                                 \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(PARSE, -3, "parse error")                                                                    \
    X(LIMIT, -4, "limit exceeded")                                                                 \
    X(NOTFOUND, -5, "not found")                                                                   \
    X(CONFLICT, -6, "conflict")                                                                    \
    X(PERM, -7, "permission denied")                                                               \
    X(AUTH, -8, "authentication failed")                                                           \
    X(TRANSIENT, -9, "transient failure")                                                          \
    X(IO, -10, "i/o error")                                                                        \
    X(REJECTED, -11, "rejected")                                                                   \
    X(REFUSED, -12, "refused by guard")                                                            \
    X(UNSUPPORTED, -13, "unsupported")                                                             \
    X(CANCELLED, -14, "cancelled")

enum err_code {
    ERR_OK = 0,
#define ERR_ENUM(name, val, text) ERR_##name = (val),
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
};

/* Symbolic name ("ERR_PARSE") and text ("parse error") of a code; never NULL. */
const char *err_name(int code);
const char *err_str(int code);

/*
 * One located problem.  All strings are owned by the detail and freed by
 * err_detail_release().  file may be NULL (not from a file), line/col 0 when
 * unknown, path NULL or "" when the problem is not about a field.
 */
struct err_detail {
    int code;
    char *file;
    unsigned line;
    unsigned col;
    char *path;
    char *msg;
};

void err_detail_release(struct err_detail *d);

/* Formats `file:line:col: path: msg` (parts omitted when absent) into a new
 * string the caller frees. */
char *err_detail_format(const struct err_detail *d);

/* A growable list of problems.  err_list_init cannot fail. */
struct err_list {
    struct err_detail *v;
    size_t n;
    size_t cap;
};

void err_list_init(struct err_list *l);
void err_list_release(struct err_list *l);

/* Appends a problem; strings are copied.  fmt is printf-style. */
void err_list_add(struct err_list *l, int code, const char *file, unsigned line, unsigned col,
                  const char *path, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void err_list_vadd(struct err_list *l, int code, const char *file, unsigned line, unsigned col,
                   const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

/* Appends copies of every entry of src to dst. */
void err_list_extend(struct err_list *dst, const struct err_list *src);

#endif
