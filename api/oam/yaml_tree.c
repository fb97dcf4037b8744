/*
 * yaml_tree.c - libyaml events -> capped node tree (see yaml_tree.h).
 *
 * One loop pulls events with yaml_parser_parse() and deletes each event
 * before it asks for the next one.  Open collections sit on a stack whose
 * height is the nesting depth; a collection's weight is summed when it ends.
 * Anchors live in a small open-addressing table that is emptied at every
 * document start (anchors do not cross documents).
 */
#include "yaml_tree.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "../common/caps.h"
#include "../common/err.h"
#include "../common/xalloc.h"

struct anchor {
    char *name; /* owned; NULL: empty slot */
    struct oam_ynode *node;
};

struct anchors {
    struct anchor *v;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

/* Appends a node pointer to a growable array of them. */
static void push_node(struct oam_ynode ***arr, size_t *n, size_t *cap, struct oam_ynode *node)
{
    if (*n == *cap) {
        *cap = *cap < 4 ? 4 : *cap * 2;
        *arr = xreallocarray(*arr, *cap, sizeof(struct oam_ynode *));
    }
    (*arr)[(*n)++] = node;
}

struct builder {
    struct oam_ytree *t;
    struct oam_ynode *stack[CAP_YAML_DEPTH];
    char *stack_anchor[CAP_YAML_DEPTH]; /* owned anchor names of open collections */
    size_t depth;
    struct oam_ynode *root; /* root of the current document */
    struct anchors anchors;
    size_t expanded;       /* nodes reached through aliases so far */
    size_t expanded_bytes; /* scalar bytes reached through aliases so far */
};

void oam_ytree_init(struct oam_ytree *t)
{
    memset(t, 0, sizeof(*t));
}

void oam_ytree_release(struct oam_ytree *t)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct oam_ynode *n = t->nodes[i];
        free(n->tag);
        free(n->text);
        free(n->kids);
        free(n);
    }
    free(t->nodes);
    free(t->docs);
    free(t->err_msg);
    oam_ytree_init(t);
}

static size_t hash(const char *s)
{
    size_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void anchors_clear(struct anchors *a)
{
    for (size_t i = 0; i < a->cap; i++)
        free(a->v[i].name);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

static struct anchor *anchors_slot(const struct anchors *a, const char *name)
{
    size_t i = hash(name) & (a->cap - 1);

    while (a->v[i].name != NULL && strcmp(a->v[i].name, name) != 0)
        i = (i + 1) & (a->cap - 1);
    return &a->v[i];
}

static void anchors_grow(struct anchors *a)
{
    struct anchors old = *a;

    a->cap = old.cap == 0 ? 16 : old.cap * 2;
    a->v = xcalloc(a->cap, sizeof(*a->v));
    a->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.v[i].name == NULL)
            continue;
        *anchors_slot(a, old.v[i].name) = old.v[i];
        a->n++;
    }
    free(old.v);
}

/* Takes ownership of name; a later anchor of one name replaces the earlier. */
static void anchors_put(struct anchors *a, char *name, struct oam_ynode *node)
{
    struct anchor *s;

    if ((a->n + 1) * 2 > a->cap)
        anchors_grow(a);
    s = anchors_slot(a, name);
    if (s->name != NULL) {
        free(name);
    } else {
        s->name = name;
        a->n++;
    }
    s->node = node;
}

static struct oam_ynode *anchors_get(const struct anchors *a, const char *name)
{
    if (a->cap == 0)
        return NULL;
    return anchors_slot(a, name)->node;
}

static int fail(struct builder *b, int code, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, int code, const yaml_mark_t *mark, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    b->t->err = code;
    b->t->err_msg = xvasprintf(fmt, ap);
    va_end(ap);
    b->t->err_line = mark != NULL ? (unsigned)mark->line + 1 : 0;
    b->t->err_col = mark != NULL ? (unsigned)mark->column + 1 : 0;
    return code;
}

static int check_count(struct builder *b, const yaml_mark_t *mark)
{
    if (b->t->n_nodes + b->expanded > CAP_YAML_NODES)
        return fail(b, ERR_LIMIT, mark, "more than %u YAML nodes in one file", CAP_YAML_NODES);
    return 0;
}

static struct oam_ynode *node_new(struct builder *b, enum oam_ynode_kind kind,
                                  const yaml_mark_t *mark, const yaml_char_t *tag)
{
    struct oam_ytree *t = b->t;
    struct oam_ynode *n = xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->line = (unsigned)mark->line + 1;
    n->col = (unsigned)mark->column + 1;
    n->tag = tag != NULL ? xstrdup((const char *)tag) : NULL;
    n->weight = 1;
    push_node(&t->nodes, &t->n_nodes, &t->cap_nodes, n);
    return n;
}

/* Attaches a complete node to the open collection, or makes it the root. */
static void attach(struct builder *b, struct oam_ynode *n)
{
    struct oam_ynode *parent;

    if (b->depth == 0) {
        b->root = n;
        return;
    }
    parent = b->stack[b->depth - 1];
    assert(parent != NULL);
    push_node(&parent->kids, &parent->n_kids, &parent->cap_kids, n);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    size_t len = ev->data.scalar.length;
    struct oam_ynode *n;

    if (len > (size_t)CAP_YAML_SCALAR_BYTES)
        return fail(b, ERR_LIMIT, mark, "scalar longer than %u bytes", CAP_YAML_SCALAR_BYTES);
    if (memchr(ev->data.scalar.value, '\0', len) != NULL)
        return fail(b, ERR_PARSE, mark, "scalar contains a NUL character");
    n = node_new(b, OAM_YNODE_SCALAR, mark, ev->data.scalar.tag);
    n->text = xstrndup((const char *)ev->data.scalar.value, len);
    n->len = len;
    n->bytes = len;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (ev->data.scalar.anchor != NULL)
        anchors_put(&b->anchors, xstrdup((const char *)ev->data.scalar.anchor), n);
    attach(b, n);
    return check_count(b, mark);
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum oam_ynode_kind kind)
{
    const yaml_mark_t *mark = &ev->start_mark;
    const yaml_char_t *tag, *anchor;
    struct oam_ynode *n;

    if (b->depth >= CAP_YAML_DEPTH)
        return fail(b, ERR_LIMIT, mark, "YAML nested deeper than %u levels", CAP_YAML_DEPTH);
    if (kind == OAM_YNODE_MAP) {
        tag = ev->data.mapping_start.tag;
        anchor = ev->data.mapping_start.anchor;
    } else {
        tag = ev->data.sequence_start.tag;
        anchor = ev->data.sequence_start.anchor;
    }
    n = node_new(b, kind, mark, tag);
    b->stack[b->depth] = n;
    b->stack_anchor[b->depth] = anchor != NULL ? xstrdup((const char *)anchor) : NULL;
    b->depth++;
    return check_count(b, mark);
}

static void on_end(struct builder *b)
{
    struct oam_ynode *n;
    char *anchor;

    b->depth--;
    n = b->stack[b->depth];
    anchor = b->stack_anchor[b->depth];
    b->stack_anchor[b->depth] = NULL;
    /* Kids' weights are bounded by the node and alias caps: no overflow. */
    for (size_t i = 0; i < n->n_kids; i++) {
        n->weight += n->kids[i]->weight;
        n->bytes += n->kids[i]->bytes;
    }
    if (anchor != NULL)
        anchors_put(&b->anchors, anchor, n);
    attach(b, n);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    struct oam_ynode *n = anchors_get(&b->anchors, name);

    if (n == NULL)
        return fail(b, ERR_PARSE, mark, "unknown anchor '%s'", name);
    /* b->expanded never passes the cap, so the subtraction cannot wrap. */
    if (n->weight > CAP_YAML_ALIAS_EXPANSION - b->expanded)
        return fail(b, ERR_LIMIT, mark, "aliases expand to more than %u nodes",
                    CAP_YAML_ALIAS_EXPANSION);
    if (n->bytes > (size_t)CAP_YAML_ALIAS_BYTES - b->expanded_bytes)
        return fail(b, ERR_LIMIT, mark, "aliases expand to more than %u bytes",
                    CAP_YAML_ALIAS_BYTES);
    b->expanded += n->weight;
    b->expanded_bytes += n->bytes;
    attach(b, n);
    return check_count(b, mark);
}

static int on_document_start(struct builder *b, const yaml_event_t *ev)
{
    if (b->t->n_docs >= CAP_DOCS_PER_FILE)
        return fail(b, ERR_LIMIT, &ev->start_mark, "more than %u documents in one file",
                    CAP_DOCS_PER_FILE);
    anchors_clear(&b->anchors);
    b->root = NULL;
    return 0;
}

static void on_document_end(struct builder *b)
{
    struct oam_ytree *t = b->t;

    /* libyaml always produces a root node, an empty scalar at least. */
    if (b->root == NULL)
        return;
    push_node(&t->docs, &t->n_docs, &t->cap_docs, b->root);
    b->root = NULL;
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        return on_document_start(b, ev);
    case YAML_DOCUMENT_END_EVENT:
        on_document_end(b);
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, OAM_YNODE_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, OAM_YNODE_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(b);
        return 0;
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

static int syntax_error(struct builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR)
        return fail(b, ERR_NOMEM, NULL, "out of memory parsing YAML");
    if (p->context != NULL)
        return fail(b, ERR_PARSE, &p->problem_mark, "%s %s", problem, p->context);
    return fail(b, ERR_PARSE, &p->problem_mark, "%s", problem);
}

static void builder_release(struct builder *b)
{
    for (size_t i = 0; i < b->depth; i++)
        free(b->stack_anchor[i]);
    anchors_clear(&b->anchors);
}

int oam_ytree_parse(struct oam_ytree *t, const char *data, size_t len)
{
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    int r = 0;
    bool done = false;

    memset(&b, 0, sizeof(b));
    b.t = t;
    if (len > (size_t)CAP_MANIFEST_BYTES)
        return fail(&b, ERR_LIMIT, NULL, "file larger than %u bytes", CAP_MANIFEST_BYTES);
    if (!yaml_parser_initialize(&parser))
        return fail(&b, ERR_NOMEM, NULL, "out of memory parsing YAML");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            r = syntax_error(&b, &parser);
            break;
        }
        r = on_event(&b, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (r < 0)
            break;
    }
    yaml_parser_delete(&parser);
    builder_release(&b);
    return r;
}

bool oam_ynode_is_null(const struct oam_ynode *n)
{
    if (n->kind != OAM_YNODE_SCALAR)
        return false;
    if (n->tag != NULL)
        return strcmp(n->tag, YAML_NULL_TAG) == 0;
    if (!n->plain)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

struct oam_ynode *oam_ynode_get(const struct oam_ynode *map, const char *key)
{
    if (map == NULL || map->kind != OAM_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
        const struct oam_ynode *k = map->kids[i];
        if (k->kind == OAM_YNODE_SCALAR && strcmp(k->text, key) == 0)
            return map->kids[i + 1];
    }
    return NULL;
}
