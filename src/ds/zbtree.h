/* zbtree: the ordered index of a large sorted set, an order-statistic
 * B+tree.  Leaves hold pointers to the sorted set's strmap nodes (member in
 * the key, score in aux.score) ordered by (score, member bytes) and are
 * chained both ways for range walks; inner nodes hold, per child, the
 * subtree's element count (O(log n) ranks) and its smallest element and
 * score (the separator).  A leaf of 512 bytes holds 61 elements, so an element costs
 * 8-16 bytes here against ~37 in a skiplist node.
 *
 * The tree does not own the strmap nodes, and a node's score must
 * not change while it is in the tree except through zbtree_update.
 * Appending past the current maximum (a rewrite or snapshot load, in order)
 * fills leaves completely instead of splitting them in halves. */
#ifndef CACHELY_DS_ZBTREE_H
#define CACHELY_DS_ZBTREE_H

#include "ds/strmap.h"

#include <stddef.h>
#include <stdint.h>

#define ZBTREE_LEAF_CAP 61
#define ZBTREE_INNER_CAP 15

struct zbtree_leaf {
    uint32_t n;
    uint32_t is_leaf;                      /* 1 */
    struct zbtree_leaf *prev, *next;       /* borrowed: neighbouring leaves */
    struct strmap_node *items[ZBTREE_LEAF_CAP]; /* borrowed */
};

/* One child of an inner node.  The smallest element's score is kept here
 * too, so a descent compares scores without touching the elements (one
 * cache miss each) unless they tie. */
struct zbtree_slot {
    void *child;                           /* owned: a leaf or inner node */
    size_t count;                          /* elements under child */
    struct strmap_node *min;               /* borrowed: smallest under child */
    double minscore;                       /* min->aux.score */
};

struct zbtree_inner {
    uint32_t n;
    uint32_t is_leaf;                      /* 0 */
    struct zbtree_slot s[ZBTREE_INNER_CAP];
};

struct zbtree {
    void *root;                            /* owned: a leaf (maybe empty) or inner */
    struct zbtree_leaf *first, *last;      /* borrowed */
    size_t length;
    size_t bytes;                          /* mem_usable of every node */
};

/* A position: element pos of leaf (leaf NULL past either end). */
struct zbtree_pos {
    struct zbtree_leaf *leaf;
    unsigned pos;
};

struct zbtree *zbtree_create(void);
void zbtree_destroy(struct zbtree **tp);
size_t zbtree_memory(const struct zbtree *t);

/* Order: score, then member bytes (shorter first on a common prefix). */
int zbtree_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2);

/* Add ele (absent) at its place by ele->aux.score. */
void zbtree_insert(struct zbtree *t, struct strmap_node *ele);
/* Remove ele; returns 1 when it was there. */
int zbtree_delete(struct zbtree *t, struct strmap_node *ele);
/* Remove the element at 1-based rank (found by the counts, no comparing:
 * ZPOPMIN, ZREMRANGEBYRANK); returns it, or NULL when out of range. */
struct strmap_node *zbtree_delete_rank(struct zbtree *t, size_t rank);
/* Set ele's score (ele->aux.score is written here), moving it as needed. */
void zbtree_update(struct zbtree *t, struct strmap_node *ele, double newscore);
/* 1-based rank of ele, 0 when absent. */
size_t zbtree_rank(const struct zbtree *t, const struct strmap_node *ele);
/* The position of 1-based rank (leaf NULL when out of range). */
struct zbtree_pos zbtree_at(const struct zbtree *t, size_t rank);
/* How many leading elements satisfy pred (true on a prefix of the order). */
typedef int (*zbtree_pred_fn)(const struct strmap_node *ele, const void *arg);
size_t zbtree_count_prefix(const struct zbtree *t, zbtree_pred_fn pred, const void *arg);

static inline struct strmap_node *
zbtree_pos_ele(struct zbtree_pos p)
{
    return p.leaf->items[p.pos];
}
static inline struct zbtree_pos
zbtree_pos_next(struct zbtree_pos p)
{
    if (p.pos + 1 < p.leaf->n) {
        p.pos++;
        return p;
    }
    p.leaf = p.leaf->next;
    p.pos = 0;
    return p;
}
static inline struct zbtree_pos
zbtree_pos_prev(struct zbtree_pos p)
{
    if (p.pos > 0) {
        p.pos--;
        return p;
    }
    p.leaf = p.leaf->prev;
    p.pos = p.leaf != NULL ? p.leaf->n - 1 : 0;
    return p;
}

/* Check every invariant (order, counts, separators, links); returns 0 or
 * -1 (unit tests). */
int zbtree_check(const struct zbtree *t);

#endif
