/* skiplist: the ordered index of a large sorted set.  Nodes are ordered by
 * (score, member bytes); every link carries a span (how many level-0 steps
 * it jumps), so ranks and the element at a rank are O(log n).
 *
 * A node does not own its member: it points at the sorted set's strmap node
 * (strmap.h), whose key is the member and whose aux.score is the score, so
 * each member is stored once and ZSCORE stays an O(1) hash lookup.  The
 * strmap node's score must not change while the node is linked, except
 * through skiplist_update.  Nodes are mem_alloc'd (accounted); the strmap
 * nodes stay the map's to free. */
#ifndef CACHELY_DS_SKIPLIST_H
#define CACHELY_DS_SKIPLIST_H

#include "ds/strmap.h"

#include <stddef.h>

#define SKIPLIST_MAXLEVEL 32

struct skiplist_node {
    struct strmap_node *ele;          /* borrowed: member (key) and score (aux) */
    struct skiplist_node *backward;   /* borrowed: previous node at level 0 */
    struct skiplist_level {
        struct skiplist_node *forward; /* borrowed */
        unsigned long span;
    } level[];
};

struct skiplist {
    struct skiplist_node *header;     /* owned, like every node */
    struct skiplist_node *tail;       /* borrowed */
    unsigned long length;
    int level;
    size_t bytes;                     /* mem_usable of every node */
};

struct skiplist *skiplist_create(void);
/* Free every node (not the members) and the list; *slp = NULL. */
void skiplist_destroy(struct skiplist **slp);
/* Bytes of the list and its nodes. */
size_t skiplist_memory(const struct skiplist *sl);

/* Order of two elements: score, then member bytes (shorter first on a
 * common prefix).  <0, 0, >0. */
int skiplist_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2,
                 size_t l2);

/* Link ele (not yet in the list) at its place by ele->aux.score. */
struct skiplist_node *skiplist_insert(struct skiplist *sl, struct strmap_node *ele);
/* Unlink ele; returns 1 when it was in the list. */
int skiplist_delete(struct skiplist *sl, struct strmap_node *ele);
/* Change ele's score (ele->aux.score is set here), moving its node when its
 * place changes. */
void skiplist_update(struct skiplist *sl, struct strmap_node *ele, double newscore);
/* 1-based rank of ele, 0 when absent. */
unsigned long skiplist_rank(const struct skiplist *sl, const struct strmap_node *ele);
/* The node at 1-based rank, NULL when out of range. */
struct skiplist_node *skiplist_at(const struct skiplist *sl, unsigned long rank);
/* How many leading nodes satisfy pred, a predicate that holds for a
 * prefix of the order and never after it fails (e.g. "score < min"). */
typedef int (*skiplist_pred_fn)(const struct strmap_node *ele, const void *arg);
unsigned long skiplist_count_prefix(const struct skiplist *sl, skiplist_pred_fn pred,
                                    const void *arg);
/* First and last node (NULL when empty). */
static inline struct skiplist_node *
skiplist_first(const struct skiplist *sl)
{
    return sl->header->level[0].forward;
}
static inline struct skiplist_node *
skiplist_last(const struct skiplist *sl)
{
    return sl->tail;
}

#endif
