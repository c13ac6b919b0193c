/* A quicklist: a doubly linked list of nodes of packed elements, the list
 * type's one encoding.  Pushing and popping at either end touch one node
 * (O(1)); indexing walks nodes, not elements, from whichever end is nearer.
 *
 * A node holds at most `fill` elements when fill > 0, or at most 4/8/16/32/
 * 64 KiB of packed elements when fill is -1..-5 (Redis's
 * list-max-listpack-size).  Whatever fill says, a count-limited node stops
 * growing at 8 KiB, and a single element larger than the size limit gets a
 * node of its own.  Nodes never stay empty: a node whose last element goes
 * is freed at once.
 *
 * A node is ONE allocation: a 32-byte header, free room for pushes at the
 * head (so that LPUSH and LPOP move no elements), the elements, then a small
 * skip index.  An element is a length byte (two for 128..16383 bytes, five
 * beyond) and its bytes, or a tag byte and a 1..8-byte integer for strings
 * that are canonical integers (as listpack stores them).  There is no
 * backward length: the skip index records the offset of about every 16th
 * element, so reaching element i (the tail for RPOP, the previous one when
 * walking backwards) walks at most 32 elements from the nearest entry.  For
 * 100 elements of 16 bytes a node is 1,756 bytes (jemalloc's 1,792 class)
 * where a listpack node took 1,809 bytes plus a 24-byte node (2,048 + 32).
 *
 * With a compress depth d > 0 (Redis's list-compress-depth) the d nodes at
 * each end stay as above and every node between holds the LZF bytes of its
 * elements instead (a compressed node: nskip is QUICKLIST_NODE_LZF, front
 * the LZF byte count, used and count those of the elements), unless it is
 * under 48 bytes or LZF saves less than 8 of them.  Pushes and pops touch
 * only the raw end nodes; when a node is made or freed at an end, the node
 * leaving (entering) the window is compressed (decompressed): a walk of
 * d links, once per node.  A compressed list's header is followed by its
 * depth (struct quicklist_lzf in quicklist.c), so a list made with depth
 * 0 keeps its 16 bytes and pays only a branch on the flag.
 *
 * Element values are read as struct listpack_value (ds/listpack.h); string
 * values point into a node and are valid until the next mutation.  An
 * iterator reads a compressed node decoded into a scratch node, one per
 * thread: its values are valid until the iterator moves to another node,
 * any iterator (over any list) reads a compressed node, or the next
 * mutation.  A mutation through an
 * iterator decompresses its node in place, changes it and compresses it
 * again at once (so an LREM that deletes many elements of one interior
 * node decompresses and compresses it once per deletion).  No release
 * call is needed: the list is back in shape after every call. */
#ifndef CACHELY_DS_QUICKLIST_H
#define CACHELY_DS_QUICKLIST_H

#include "ds/listpack.h"

#include <stddef.h>
#include <stdint.h>

#define QUICKLIST_HEAD 0
#define QUICKLIST_TAIL 1

/* One node: header, front free bytes, `used` bytes of elements, then nskip
 * skip entries (see quicklist.c).  Nodes move when they grow or shrink (realloc); the list
 * fixes its links, and iterators hold the node they are on. */
struct quicklist_node {
    struct quicklist_node *prev;  /* borrowed: towards the head; the head's
                                     prev is the tail */
    struct quicklist_node *next;  /* owned by the list: towards the tail */
    uint32_t used;                /* bytes of packed elements */
    uint16_t count;               /* elements, never 0 */
    uint16_t nskip;               /* skip index entries after the elements;
                                     QUICKLIST_NODE_LZF: compressed */
    uint32_t front;               /* free bytes before the elements: room
                                     for pushes at the head, left by pops;
                                     compressed: the LZF bytes in data */
    uint32_t cap;                 /* usable bytes of the block, header
                                     included, as the allocator said */
    unsigned char data[];         /* front bytes free, the elements, then
                                     the skip index */
};

/* nskip of a compressed node: a real index has at most 65535 / 16. */
#define QUICKLIST_NODE_LZF 0xFFFF

/* 16 bytes (jemalloc's 16 class): the tail is head->prev and the count
 * shares a word with the fill. */
struct quicklist {
    struct quicklist_node *head;  /* owned (with every node after it) */
    unsigned long long count : 47;  /* elements in every node */
    unsigned long long lzf : 1;   /* made with a compress depth: the
                                     header is a struct quicklist_lzf's */
    int fill : 16;                /* list-max-listpack-size at creation */
};

/* The tail node (NULL when empty). */
static inline struct quicklist_node *
quicklist_tail(const struct quicklist *ql)
{
    return ql->head != NULL ? ql->head->prev : NULL;
}

/* An iterator over the elements, in one direction, that can delete,
 * replace and insert at the element it last returned. */
struct quicklist_iter {
    struct quicklist *ql;         /* borrowed */
    struct quicklist_node *node;  /* borrowed: node of idx, NULL when done */
    long idx;                     /* element last returned (or to return) in
                                     node; -1 or node->count: node done */
    const struct quicklist_node *view;  /* borrowed: node, or the thread's
                                     scratch copy of it when compressed */
    size_t off;                   /* its offset in view's elements */
    int dir;                      /* QUICKLIST_HEAD: forward, TAIL: backward */
    int pending;                  /* idx is the next element to return */
};

/* A new empty list whose nodes follow fill (values below -5 act as -5,
 * 0 as 1).  Never NULL. */
struct quicklist *quicklist_create(int fill);
/* The same with compress depth depth (capped at 65535, as Redis's; 0 is
 * quicklist_create). */
struct quicklist *quicklist_create_compressed(int fill, unsigned long depth);
/* The compress depth the list was made with (0: none). */
unsigned quicklist_depth(const struct quicklist *ql);
/* Compressed nodes, O(nodes).  For tests and DEBUG. */
size_t quicklist_compressed_nodes(const struct quicklist *ql);
/* Free a list and every node; sets *qlp to NULL (NULL is fine). */
void quicklist_destroy(struct quicklist **qlp);
/* A deep copy (same node layout, compressed nodes copied as they are). */
struct quicklist *quicklist_dup(const struct quicklist *ql);

static inline size_t
quicklist_count(const struct quicklist *ql)
{
    return ql->count;
}
/* Number of nodes, O(nodes).  For tests and DEBUG. */
size_t quicklist_nodes(const struct quicklist *ql);
/* Bytes owned (list header, nodes by usable size: compressed ones as
 * compressed). */
size_t quicklist_bytes(const struct quicklist *ql);

/* Add s at the head or tail. */
void quicklist_push(struct quicklist *ql, const char *s, size_t len, int where);
/* The element at the head or tail; returns 0, or -1 when empty. */
int quicklist_peek(const struct quicklist *ql, int where,
                   struct listpack_value *v);
/* Remove the head or tail element (the list must not be empty). */
void quicklist_pop(struct quicklist *ql, int where);
/* Called with an element about to be removed; v is valid during the call. */
typedef void (*quicklist_value_fn)(void *arg, const struct listpack_value *v);
/* Remove the head or tail element, first passing it to fn (NULL: none):
 * one walk where quicklist_peek then quicklist_pop take two.  Nothing
 * happens on an empty list. */
void quicklist_pop_visit(struct quicklist *ql, int where, quicklist_value_fn fn,
                         void *arg);

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
/* Replace the element last returned with s.  The iterator is invalid
 * afterwards. */
void quicklist_iter_replace(struct quicklist_iter *it, const char *s, size_t len);
/* Insert s before (towards the head) or after the element last returned;
 * where is LISTPACK_BEFORE or LISTPACK_AFTER.  The iterator is invalid
 * afterwards. */
void quicklist_iter_insert(struct quicklist_iter *it, const char *s, size_t len,
                           int where);

/* 1 when v (an element read from the list) equals the string s: integers
 * compare by their canonical decimal form, as listpack_compare. */
int quicklist_value_equals(const struct listpack_value *v, const char *s,
                           size_t len);
/* The string form of v: a string's bytes, or an integer formatted into
 * buf; sets *len.  Not NUL-terminated. */
const char *quicklist_value_str(const struct listpack_value *v,
                                char buf[LISTPACK_INT_BUF], size_t *len);

/* Delete count elements from index start (0 <= start < count). */
void quicklist_delete_range(struct quicklist *ql, size_t start, size_t count);

/* Check the list's invariants (counts, links, no empty node, every element
 * decodes within its node, the skip index is sorted, exact and no gap is
 * wider than 32; with a depth, the end nodes raw and every other node
 * compressed unless LZF would not pay, compressed nodes decoding to such
 * nodes); 0 when they hold, -1 otherwise.  For tests. */
int quicklist_check(const struct quicklist *ql);

#endif
