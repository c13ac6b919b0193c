/* A quicklist: a doubly linked list of listpack nodes, the list type's one
 * encoding.  Pushing and popping at either end touch one node (O(1));
 * indexing walks nodes, not elements, from whichever end is nearer.
 *
 * A node holds at most `fill` elements when fill > 0, or at most 4/8/16/32/
 * 64 KiB of listpack when fill is -1..-5 (Redis's list-max-listpack-size).
 * Whatever fill says, a count-limited node stops growing at 8 KiB, and a
 * single element larger than the size limit gets a node of its own.  Nodes
 * never stay empty: a node whose last element goes is freed at once.
 *
 * Element values are read as struct listpack_value (ds/listpack.h); string
 * values point into a node and are valid until the next mutation. */
#ifndef CACHELY_DS_QUICKLIST_H
#define CACHELY_DS_QUICKLIST_H

#include "ds/listpack.h"

#include <stddef.h>

#define QUICKLIST_HEAD 0
#define QUICKLIST_TAIL 1

struct quicklist_node {
    struct quicklist_node *prev;  /* borrowed: towards the head */
    struct quicklist_node *next;  /* owned by the list: towards the tail */
    unsigned char *lp;            /* owned: the node's elements, never empty */
};

struct quicklist {
    struct quicklist_node *head;  /* owned (with every node after it) */
    struct quicklist_node *tail;  /* borrowed */
    size_t count;                 /* elements in every node */
    unsigned nnodes;              /* 32 bits: keeps the header at 32 bytes */
    int fill;                     /* list-max-listpack-size at creation */
};

/* An iterator over the elements, in one direction, that can delete,
 * replace and insert at the element it last returned. */
struct quicklist_iter {
    struct quicklist *ql;         /* borrowed */
    struct quicklist_node *node;  /* borrowed: node of p, NULL when done */
    unsigned char *p;             /* element last returned (or to return) */
    int dir;                      /* QUICKLIST_HEAD: forward, TAIL: backward */
    int pending;                  /* p is the next element to return (or
                                     NULL: the node is done) */
};

/* A new empty list whose nodes follow fill (values below -5 act as -5,
 * 0 as 1).  Never NULL. */
struct quicklist *quicklist_create(int fill);
/* Free a list and every node; sets *qlp to NULL (NULL is fine). */
void quicklist_destroy(struct quicklist **qlp);
/* A deep copy (same node layout). */
struct quicklist *quicklist_dup(const struct quicklist *ql);

static inline size_t
quicklist_count(const struct quicklist *ql)
{
    return ql->count;
}
/* Bytes owned (list header, nodes and listpacks by usable size). */
size_t quicklist_bytes(const struct quicklist *ql);

/* Add s at the head or tail. */
void quicklist_push(struct quicklist *ql, const char *s, size_t len, int where);
/* The element at the head or tail; returns 0, or -1 when empty. */
int quicklist_peek(const struct quicklist *ql, int where,
                   struct listpack_value *v);
/* Remove the head or tail element (the list must not be empty). */
void quicklist_pop(struct quicklist *ql, int where);

/* Position it on element index (0 first, -1 last) to walk towards the tail
 * (dir QUICKLIST_HEAD) or the head (QUICKLIST_TAIL); the first
 * quicklist_next returns that element.  Returns 0, or -1 when index is out
 * of range (the iterator then returns nothing). */
int quicklist_iter_at(struct quicklist *ql, long index, int dir,
                      struct quicklist_iter *it);
/* The next element into v; returns 1, or 0 at the end. */
int quicklist_next(struct quicklist_iter *it, struct listpack_value *v);
/* Delete the element last returned; the walk goes on with the element
 * after it (in the iterator's direction). */
void quicklist_iter_delete(struct quicklist_iter *it);
/* Replace the element last returned with s. */
void quicklist_iter_replace(struct quicklist_iter *it, const char *s, size_t len);
/* Insert s before (towards the head) or after the element last returned;
 * where is LISTPACK_BEFORE or LISTPACK_AFTER.  The iterator is invalid
 * afterwards. */
void quicklist_iter_insert(struct quicklist_iter *it, const char *s, size_t len,
                           int where);

/* Delete count elements from index start (0 <= start < count). */
void quicklist_delete_range(struct quicklist *ql, size_t start, size_t count);

/* Check the list's invariants (counts, links, no empty node); 0 when they
 * hold, -1 otherwise.  For tests. */
int quicklist_check(const struct quicklist *ql);

#endif
