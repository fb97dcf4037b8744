/*
 * err.c - names and texts of the error codes, and the located-problem list.
 */
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const char *err_name(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define ERR_NAME(name, val, text)                                                                  \
    case (val):                                                                                    \
        return "ERR_" #name;
        ERR_MAP(ERR_NAME)
#undef ERR_NAME
    default:
        return "ERR_UNKNOWN";
    }
}

const char *err_str(int code)
{
    switch (code) {
    case 0:
        return "success";
#define ERR_TEXT(name, val, text)                                                                  \
    case (val):                                                                                    \
        return text;
        ERR_MAP(ERR_TEXT)
#undef ERR_TEXT
    default:
        return "unknown error";
    }
}

void err_detail_release(struct err_detail *d)
{
    if (d == NULL)
        return;
    free(d->file);
    free(d->path);
    free(d->msg);
    memset(d, 0, sizeof(*d));
}

char *err_detail_format(const struct err_detail *d)
{
    char loc[64] = "";
    const char *file = d->file != NULL ? d->file : "";
    const char *path = d->path != NULL ? d->path : "";

    if (d->file != NULL && d->line > 0)
        snprintf(loc, sizeof(loc), ":%u:%u", d->line, d->col);
    return xasprintf("%s%s%s%s%s%s", file, loc, d->file != NULL ? ": " : "", path,
                     path[0] != '\0' ? ": " : "", d->msg != NULL ? d->msg : err_str(d->code));
}

void err_list_init(struct err_list *l)
{
    l->v = NULL;
    l->n = 0;
    l->cap = 0;
}

void err_list_release(struct err_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        err_detail_release(&l->v[i]);
    free(l->v);
    err_list_init(l);
}

void err_list_vadd(struct err_list *l, int code, const char *file, unsigned line, unsigned col,
                   const char *path, const char *fmt, va_list ap)
{
    struct err_detail *d;

    XGROW(l->v, l->n + 1, l->cap);
    d = &l->v[l->n++];
    d->code = code;
    d->file = file != NULL ? xstrdup(file) : NULL;
    d->line = line;
    d->col = col;
    d->path = path != NULL ? xstrdup(path) : NULL;
    d->msg = xvasprintf(fmt, ap);
}

void err_list_add(struct err_list *l, int code, const char *file, unsigned line, unsigned col,
                  const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_list_vadd(l, code, file, line, col, path, fmt, ap);
    va_end(ap);
}

void err_list_extend(struct err_list *dst, const struct err_list *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct err_detail *s = &src->v[i];
        err_list_add(dst, s->code, s->file, s->line, s->col, s->path, "%s",
                     s->msg != NULL ? s->msg : "");
    }
}
