/*
 * oam_node.c - typed access to YAML nodes with located problems.
 *
 * Every helper reports its own problem (file:line:col, field path, message)
 * and returns false or NULL, so a decoder reads as a list of fields and goes
 * on after a problem: the user sees every problem at once.  Where a string is
 * expected any non-null scalar is taken as written (`members: [123]` is the
 * text "123"; its syntax check rejects it), as Kubernetes' YAML to JSON step
 * would make a string of it.
 */
#include "oam_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/caps.h"
#include "../common/xalloc.h"

/* ---- paths and messages ---- */

static bool is_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static size_t clip_len(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    /* Back up to the start of a UTF-8 character (never 10xxxxxx). */
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *oam_clip(const char *s)
{
    size_t n = clip_len(s, OAM_MSG_VALUE_MAX);

    if (s[n] == '\0')
        return xstrdup(s);
    return xasprintf("%.*s...", (int)n, s);
}

char *oam_path_key(const char *parent, const char *key)
{
    struct buf b;
    size_t n = clip_len(key, OAM_MSG_VALUE_MAX);

    if (is_ident(key))
        return parent[0] == '\0' ? xstrdup(key) : xasprintf("%s.%s", parent, key);
    /* Paths are at most CAP_YAML_DEPTH clipped keys long. */
    buf_init(&b, (size_t)CAP_YAML_SCALAR_BYTES);
    if (buf_printf(&b, "%s[\"", parent) < 0)
        return xasprintf("%s[...]", parent);
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if ((unsigned char)c < 0x20)
            c = '?';
        if (c == '"' || c == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, c);
    }
    buf_puts(&b, key[n] != '\0' ? "...\"]" : "\"]");
    return buf_detach(&b, NULL);
}

char *oam_path_idx(const char *parent, size_t i)
{
    return xasprintf("%s[%zu]", parent, i);
}

struct oam_pos oam_dec_pos(const struct oam_dec *d, const struct oam_ynode *n)
{
    struct oam_pos p = {d->file, n != NULL ? n->line : 0, n != NULL ? n->col : 0};

    return p;
}

/* Every problem of an app goes through here: past CAP_ERRORS_PER_APP, one
 * last entry says so and the rest are dropped (a hostile document could
 * otherwise make a problem of every one of its nodes). */
static void vadd(struct err_list *errs, int code, const char *file, unsigned line, unsigned col,
                 const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

static void vadd(struct err_list *errs, int code, const char *file, unsigned line, unsigned col,
                 const char *path, const char *fmt, va_list ap)
{
    if (errs->n > CAP_ERRORS_PER_APP)
        return;
    if (errs->n == CAP_ERRORS_PER_APP) {
        err_list_add(errs, ERR_LIMIT, file, line, col, NULL,
                     "more than %u problems; the rest are not listed", CAP_ERRORS_PER_APP);
        return;
    }
    err_list_vadd(errs, code, file, line, col, path, fmt, ap);
}

void oam_dec_err(struct oam_dec *d, int code, const struct oam_ynode *n, const char *path,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(d->errs, code, d->file, n != NULL ? n->line : 0, n != NULL ? n->col : 0, path, fmt, ap);
    va_end(ap);
}

void oam_pos_err(struct err_list *errs, int code, const struct oam_pos *pos, const char *path,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(errs, code, pos->file, pos->line, pos->col, path, fmt, ap);
    va_end(ap);
}

/* ---- the document walk ---- */

#define CORE_TAG "tag:yaml.org,2002:"

static bool tag_ok(const struct oam_ynode *n)
{
    static const char *const scalar_tags[] = {"str", "int", "float", "bool", "null", NULL};
    const char *t = n->tag;

    if (t == NULL || strcmp(t, "!") == 0)
        return true;
    if (strncmp(t, CORE_TAG, strlen(CORE_TAG)) != 0)
        return false;
    t += strlen(CORE_TAG);
    if (n->kind == OAM_YNODE_MAP)
        return strcmp(t, "map") == 0;
    if (n->kind == OAM_YNODE_SEQ)
        return strcmp(t, "seq") == 0;
    for (size_t i = 0; scalar_tags[i] != NULL; i++)
        if (strcmp(t, scalar_tags[i]) == 0)
            return true;
    return false;
}

struct keyref {
    const struct oam_ynode *key;
    size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->key->text, y->key->text);

    if (c != 0)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Duplicate keys: sorted, so a mapping of many keys costs n log n. */
static void check_dup_keys(struct oam_dec *d, const struct oam_ynode *map, const char *path)
{
    size_t n = 0;
    struct keyref *refs = xcalloc(map->n_kids / 2 + 1, sizeof(*refs));

    for (size_t i = 0; i + 1 < map->n_kids; i += 2)
        if (map->kids[i]->kind == OAM_YNODE_SCALAR)
            refs[n++] = (struct keyref){map->kids[i], i};
    qsort(refs, n, sizeof(*refs), keyref_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i].key->text, refs[i - 1].key->text) != 0)
            continue;
        char *p = oam_path_key(path, refs[i].key->text);
        oam_dec_err(d, ERR_PARSE, refs[i].key, p, "duplicate key");
        free(p);
    }
    free(refs);
}

static void check_map(struct oam_dec *d, const struct oam_ynode *map, const char *path)
{
    check_dup_keys(d, map, path);
    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        struct oam_ynode *k = map->kids[i];
        char *p;

        if (k->kind != OAM_YNODE_SCALAR) {
            oam_dec_err(d, ERR_PARSE, k, path, "mapping key is not a string");
            continue;
        }
        p = oam_path_key(path, k->text);
        if (k->plain && strcmp(k->text, "<<") == 0)
            oam_dec_err(d, ERR_UNSUPPORTED, k, p, "merge keys are not supported");
        oam_dec_check_tree(d, k, p);
        oam_dec_check_tree(d, map->kids[i + 1], p);
        free(p);
    }
}

void oam_dec_check_tree(struct oam_dec *d, struct oam_ynode *n, const char *path)
{
    if (n->seen)
        return;
    n->seen = true;
    if (!tag_ok(n)) {
        /* Show core tags as written: !!binary, not tag:yaml.org,2002:binary. */
        bool core = strncmp(n->tag, CORE_TAG, strlen(CORE_TAG)) == 0;
        char *t = oam_clip(core ? n->tag + strlen(CORE_TAG) : n->tag);
        oam_dec_err(d, ERR_UNSUPPORTED, n, path, "unsupported tag '%s%s'", core ? "!!" : "", t);
        free(t);
    }
    if (n->kind == OAM_YNODE_MAP) {
        check_map(d, n, path);
    } else if (n->kind == OAM_YNODE_SEQ) {
        for (size_t i = 0; i < n->n_kids; i++) {
            char *p = oam_path_idx(path, i);
            oam_dec_check_tree(d, n->kids[i], p);
            free(p);
        }
    }
}

/* ---- typed access ---- */

static const char *kind_name(const struct oam_ynode *n)
{
    if (n->kind == OAM_YNODE_MAP)
        return "a mapping";
    if (n->kind == OAM_YNODE_SEQ)
        return "a list";
    return oam_ynode_is_null(n) ? "null" : "a string";
}

static bool expect(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                   enum oam_ynode_kind kind, const char *want)
{
    if (n->kind == kind && !oam_ynode_is_null(n))
        return true;
    oam_dec_err(d, ERR_PARSE, n, path, "expected %s, got %s", want, kind_name(n));
    return false;
}

bool oam_dec_map(struct oam_dec *d, const struct oam_ynode *n, const char *path)
{
    return expect(d, n, path, OAM_YNODE_MAP, "a mapping");
}

bool oam_dec_seq(struct oam_dec *d, const struct oam_ynode *n, const char *path)
{
    return expect(d, n, path, OAM_YNODE_SEQ, "a list");
}

char *oam_dec_text(struct oam_dec *d, const struct oam_ynode *n, const char *path, size_t max)
{
    if (!expect(d, n, path, OAM_YNODE_SCALAR, "a string"))
        return NULL;
    if (n->len > max) {
        oam_dec_err(d, ERR_LIMIT, n, path, "string longer than %zu bytes", max);
        return NULL;
    }
    return xstrdup(n->text);
}

char *oam_dec_str(struct oam_dec *d, const struct oam_ynode *n, const char *path)
{
    return oam_dec_text(d, n, path, CAP_NAME_BYTES);
}

bool oam_dec_bool(struct oam_dec *d, const struct oam_ynode *n, const char *path, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE", NULL};
    static const char *const no[] = {"false", "False", "FALSE", NULL};

    if (n->kind == OAM_YNODE_SCALAR && n->plain) {
        for (size_t i = 0; yes[i] != NULL; i++) {
            if (strcmp(n->text, yes[i]) == 0) {
                *ret = true;
                return true;
            }
            if (strcmp(n->text, no[i]) == 0) {
                *ret = false;
                return true;
            }
        }
    }
    oam_dec_err(d, ERR_PARSE, n, path, "expected true or false");
    return false;
}

void oam_dec_strs(struct oam_dec *d, const struct oam_ynode *n, const char *path,
                  struct oam_strs *out, size_t cap)
{
    out->present = true;
    if (!oam_dec_seq(d, n, path))
        return;
    if (n->n_kids > cap) {
        oam_dec_err(d, ERR_LIMIT, n, path, "more than %zu entries", cap);
        return;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        char *p = oam_path_idx(path, i);
        char *s = oam_dec_str(d, n->kids[i], p);
        if (s != NULL)
            oam_strs_push(out, s, oam_dec_pos(d, n->kids[i]));
        free(p);
    }
}

void oam_dec_keys(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                  const char *const *known, const char *what)
{
    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        const struct oam_ynode *k = map->kids[i];
        size_t j;
        char *p, *v;

        /* Non-string keys and merge keys are reported by the document walk. */
        if (k->kind != OAM_YNODE_SCALAR || (k->plain && strcmp(k->text, "<<") == 0))
            continue;
        for (j = 0; known[j] != NULL; j++)
            if (strcmp(known[j], k->text) == 0)
                break;
        if (known[j] != NULL)
            continue;
        p = oam_path_key(path, k->text);
        v = oam_clip(k->text);
        oam_dec_err(d, ERR_PARSE, k, p, "unknown %s '%s'", what, v);
        free(v);
        free(p);
    }
}

struct oam_ynode *oam_dec_need(struct oam_dec *d, const struct oam_ynode *map, const char *path,
                               const char *key)
{
    struct oam_ynode *v = oam_ynode_get(map, key);

    if (v == NULL)
        oam_dec_err(d, ERR_PARSE, map, path, "missing required field '%s'", key);
    return v;
}

const struct oam_ynode *oam_dec_key_of(const struct oam_ynode *map, const struct oam_ynode *value)
{
    for (size_t i = 0; i + 1 < map->n_kids; i += 2)
        if (map->kids[i + 1] == value)
            return map->kids[i];
    return NULL;
}
