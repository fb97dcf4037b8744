/*
 * yaml_tree.h - a small capped YAML node tree (private to api/oam/).
 *
 * libyaml's event parser feeds a tree of mappings, sequences and scalars,
 * each with its 1-based line and column.  The decoders in oam_parse.c and
 * oam_config.c then walk the tree with paths, which the event stream alone
 * cannot give them (a problem needs its field path, and a required field is
 * only known to be missing once its mapping has ended).
 *
 * The tree is capped while it is built (caps.h): file bytes, nesting depth,
 * nodes, nodes reachable through aliases, scalar bytes and documents per
 * file.  An alias does not copy its anchor's subtree: the alias becomes a
 * second reference to the same node, so the tree is a DAG, and every node is
 * owned by the tree's flat node list.  An anchor is registered only when its
 * node is complete, so a node can never contain itself.  The "billion laughs"
 * is stopped by the weight of each node (its subtree size with aliases
 * expanded): every alias adds its target's weight to a per-file count, and
 * its scalar bytes to another, so that neither many nodes nor a few large
 * scalars can be multiplied.
 *
 * Alternatives rejected: libyaml's document API (yaml_parser_load) copies
 * nothing for aliases either but cannot be capped while it loads; decoding
 * straight from events would need a state machine per struct.
 *
 * Tags are kept as written (resolved by libyaml to full form); the checks on
 * tags, duplicate keys and non-scalar keys belong to the decoders, which
 * know the field path.
 */
#ifndef ROAM_OAM_YAML_TREE_H
#define ROAM_OAM_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

enum oam_ynode_kind { OAM_YNODE_SCALAR, OAM_YNODE_SEQ, OAM_YNODE_MAP, OAM_YNODE_KIND_MAX };

struct oam_ynode {
    enum oam_ynode_kind kind;
    unsigned line; /* 1-based */
    unsigned col;  /* 1-based */
    char *tag;     /* owned; NULL when the node has no explicit tag */
    char *text;    /* scalar: owned, NUL-terminated (never contains a NUL) */
    size_t len;    /* scalar: bytes of text */
    bool plain;    /* scalar: plain style (not quoted, not a block scalar) */
    /* Sequence: the items.  Mapping: key0, value0, key1, value1, ...
     * Borrowed pointers (an alias puts the same node in two places). */
    struct oam_ynode **kids;
    size_t n_kids;
    size_t cap_kids;
    size_t weight; /* nodes in this subtree, aliases expanded */
    size_t bytes;  /* scalar bytes in this subtree, aliases expanded */
    bool seen;     /* scratch flag for one walk over a document (documents
                    * share no nodes: anchors do not cross documents) */
};

struct oam_ytree {
    struct oam_ynode **nodes; /* every node, owned */
    size_t n_nodes;
    size_t cap_nodes;
    struct oam_ynode **docs; /* the root of each complete document, in order */
    size_t n_docs;
    size_t cap_docs;
    /* The first problem: parsing stops there.  err is 0, ERR_PARSE (YAML
     * syntax) or ERR_LIMIT (a cap); err_msg is owned. */
    int err;
    char *err_msg;
    unsigned err_line; /* 0 when the problem has no position (file size) */
    unsigned err_col;
};

void oam_ytree_init(struct oam_ytree *t);
void oam_ytree_release(struct oam_ytree *t);

/*
 * Parses len bytes of YAML (a stream of documents) into t, which must be
 * freshly initialised.  Returns 0, or ERR_PARSE / ERR_LIMIT with the problem
 * in t->err*; the documents completed before the problem stay in t->docs.
 */
int oam_ytree_parse(struct oam_ytree *t, const char *data, size_t len);

/* A null scalar: plain `null`, `Null`, `NULL`, `~` or empty, or tagged !!null
 * (and not tagged !!str). */
bool oam_ynode_is_null(const struct oam_ynode *n);

/* The value of the first key equal to `key` in a mapping, or NULL. */
struct oam_ynode *oam_ynode_get(const struct oam_ynode *map, const char *key);

#endif
