/* The quicklist (see quicklist.h): nodes of packed elements in a doubly
 * linked list, node sizes bounded as Redis's list-max-listpack-size says,
 * and each node's skip index, which stands in for per-element backward
 * lengths. */
#include "ds/quicklist.h"
#include "core/alloc.h"
#include "core/util.h"

#include <lzf.h>
#include <string.h>

_Static_assert(sizeof(struct quicklist) == 16, "the list header is jemalloc's 16 class");
_Static_assert(sizeof(struct quicklist_node) == 32, "a node header is 32 bytes");

/* Packed bytes per node for fill -1..-5. */
static const size_t size_levels[] = {4096, 8192, 16384, 32768, 65536};
/* A count-limited node stops growing here whatever its count. */
#define QUICKLIST_SAFETY_BYTES 8192
/* Skip entries hold 16-bit offsets, so a node of several elements keeps
 * its elements within this many bytes (a lone element may be any size). */
#define NODE_MULTI_MAX 65535

/* Where n's elements start: after the free room at its front.  (Takes a
 * const node for the readers; the writers own the node they pass.) */
static inline unsigned char *
node_elems(const struct quicklist_node *n)
{
    return (unsigned char *)n->data + n->front;
}

/* ---- element encoding ------------------------------------------------------
 *   0x00..0x7F  a string of 0..127 bytes follows
 *   0x80..0xBF  a string of up to 16383 bytes: 6 high bits of its length
 *               here, the low 8 in the next byte
 *   0xC1..0xC8  an integer: 1..8 bytes of little-endian two's complement
 *   0xF0        a string whose 32-bit little-endian length follows
 * A string that is a canonical integer is always stored as an integer, so
 * a string element never equals an integer one. */
#define ENC_STR14 0x80
#define ENC_INT 0xC0
#define ENC_STR32 0xF0

/* An element ready to be written. */
struct elem {
    const char *s;     /* borrowed: the caller's bytes (strings) */
    size_t len;
    long long ll;
    int is_int;
    unsigned ibytes;   /* integer bytes */
    size_t size;       /* encoded bytes */
};

static void
elem_prepare(struct elem *e, const char *s, size_t len)
{
    e->s = s;
    e->len = len;
    e->is_int = len <= 20 && util_str2ll(s, len, &e->ll) == 0;
    if (e->is_int) {
        unsigned k = 1;
        while (k < 8 && (e->ll < -(1LL << (8 * k - 1)) || e->ll >= (1LL << (8 * k - 1)))) {
            k++;
        }
        e->ibytes = k;
        e->size = 1 + k;
    } else if (len < 128) {
        e->size = 1 + len;
    } else if (len < 16384) {
        e->size = 2 + len;
    } else {
        e->size = 5 + len;
    }
}

static void
elem_write(unsigned char *p, const struct elem *e)
{
    if (e->is_int) {
        uint64_t u = (uint64_t)e->ll;
        *p++ = (unsigned char)(ENC_INT + e->ibytes);
        for (unsigned i = 0; i < e->ibytes; i++) {
            p[i] = (unsigned char)(u >> (8 * i));
        }
        return;
    }
    size_t len = e->len;
    if (len < 128) {
        *p++ = (unsigned char)len;
    } else if (len < 16384) {
        *p++ = (unsigned char)(ENC_STR14 | (len >> 8));
        *p++ = (unsigned char)(len & 0xff);
    } else {
        *p++ = ENC_STR32;
        for (int i = 0; i < 4; i++) {
            *p++ = (unsigned char)(len >> (8 * i));
        }
    }
    memcpy(p, e->s, len);
}

/* Encoded size of the element at p. */
static inline size_t
elem_size(const unsigned char *p)
{
    unsigned b = p[0];
    if (b < ENC_STR14) {
        return 1 + b;
    }
    if (b < ENC_INT) {
        return 2 + (((size_t)(b & 0x3f) << 8) | p[1]);
    }
    if (b != ENC_STR32) {
        return 1 + (b - ENC_INT);
    }
    return 5 + ((size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24);
}

static void
elem_get(const unsigned char *p, struct listpack_value *v)
{
    unsigned b = p[0];
    v->ll = 0;
    v->is_int = 0;
    if (b < ENC_STR14) {
        v->str = p + 1;
        v->len = b;
    } else if (b < ENC_INT) {
        v->str = p + 2;
        v->len = ((size_t)(b & 0x3f) << 8) | p[1];
    } else if (b != ENC_STR32) {
        unsigned k = b - ENC_INT;
        uint64_t u = 0;
        for (unsigned i = 0; i < k; i++) {
            u |= (uint64_t)p[1 + i] << (8 * i);
        }
        if (k < 8 && (u >> (8 * k - 1)) & 1) {
            u |= ~0ULL << (8 * k);  /* sign-extend */
        }
        v->str = NULL;
        v->len = 0;
        v->ll = (long long)u;
        v->is_int = 1;
    } else {
        v->str = p + 5;
        v->len = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
    }
}

/* ---- the skip index ----------------------------------------------------------
 * After a node's elements, when it has entries: a 4-byte bias (16-bit index
 * and offset), then nskip entries (16-bit element index, 16-bit offset),
 * indexes strictly increasing within 1..count-1.  An entry's real index
 * and offset are its stored ones plus the bias, modulo 2^16 (both fit 16
 * bits in a node of several elements), so a push or pop at the head
 * shifts every entry by changing the bias alone.  Element 0 at offset 0 is
 * an implicit entry, the node's end (count) an implicit bound.
 * Invariant: no two neighbouring anchors are more than 2 * SKIP_STRIDE
 * elements apart, so any element is at most that many steps from one.
 * Pushes at the tail add an entry every SKIP_STRIDE elements; an insert
 * elsewhere shifts the entries after it and splits a gap grown too wide;
 * a delete shifts them back and drops entries that became redundant. */
#define SKIP_STRIDE 16
#define SKIP_ENTRY 4
#define SKIP_BIAS 4

/* Bytes of a skip index of nskip entries. */
static inline size_t
skip_bytes(size_t nskip)
{
    return nskip > 0 ? SKIP_BIAS + nskip * SKIP_ENTRY : 0;
}

static inline unsigned char *
skip_base(struct quicklist_node *n)
{
    return node_elems(n) + n->used;
}

static inline unsigned
rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static inline void
wr16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline unsigned
skip_idx(const struct quicklist_node *n, unsigned j)
{
    const unsigned char *b = node_elems(n) + n->used;
    return (rd16(b + SKIP_BIAS + (size_t)j * SKIP_ENTRY) + rd16(b)) & 0xffff;
}

static inline unsigned
skip_off(const struct quicklist_node *n, unsigned j)
{
    const unsigned char *b = node_elems(n) + n->used;
    return (rd16(b + SKIP_BIAS + (size_t)j * SKIP_ENTRY + 2) + rd16(b + 2)) & 0xffff;
}

static inline void
skip_set(struct quicklist_node *n, unsigned j, unsigned idx, unsigned off)
{
    unsigned char *b = skip_base(n);
    wr16(b + SKIP_BIAS + (size_t)j * SKIP_ENTRY, (idx - rd16(b)) & 0xffff);
    wr16(b + SKIP_BIAS + (size_t)j * SKIP_ENTRY + 2, (off - rd16(b + 2)) & 0xffff);
}

/* Shift every entry by di elements and doff bytes (either may be
 * "negative", modulo 2^16). */
static inline void
skip_shift_all(struct quicklist_node *n, unsigned di, unsigned doff)
{
    unsigned char *b = skip_base(n);
    wr16(b, (rd16(b) + di) & 0xffff);
    wr16(b + 2, (rd16(b + 2) + doff) & 0xffff);
}

/* The first skip entry whose index is above i (nskip when none). */
static unsigned
skip_after(const struct quicklist_node *n, unsigned i)
{
    unsigned lo = 0, hi = n->nskip;
    if (hi == 0 || skip_idx(n, hi - 1) <= i) {
        return hi;  /* the tail: RPUSH, RPOP */
    }
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (skip_idx(n, mid) <= i) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The first skip entry whose index is i or above (nskip when none),
 * without a search at either end. */
static unsigned
skip_from(const struct quicklist_node *n, unsigned i)
{
    unsigned k = n->nskip;
    if (i == 0 || k == 0) {
        return 0;  /* every entry is above 0 */
    }
    unsigned last = skip_idx(n, k - 1);
    if (last < i) {
        return k;
    }
    if (last == i && (k == 1 || skip_idx(n, k - 2) < i)) {
        return k - 1;
    }
    return skip_after(n, i - 1);
}

/* Offset of element i (< count) of n. */
static size_t
node_seek(const struct quicklist_node *n, unsigned i)
{
    unsigned j = skip_after(n, i);
    unsigned at = 0;
    size_t off = 0;
    if (j > 0) {
        at = skip_idx(n, j - 1);
        off = skip_off(n, j - 1);
    }
    while (at < i) {
        off += elem_size(node_elems(n) + off);
        at++;
    }
    return off;
}

/* ---- nodes ---------------------------------------------------------------- */

static inline size_t
node_alloc_size(size_t front, size_t used, size_t nskip)
{
    return sizeof(struct quicklist_node) + front + used + skip_bytes(nskip);
}

/* What the allocator gave n, kept in the node so that a push asks it only
 * when the node outgrows its block (malloc_usable_size at every push was
 * a twentieth of RPUSH's instructions).  A block past 4 GiB records less
 * than it has: it only reallocates sooner. */
static inline void
node_set_cap(struct quicklist_node *n)
{
    size_t cap = mem_usable(n);
    n->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

/* Resize n's block to hold front free bytes, used bytes of elements and
 * nskip entries (the caller moves the bytes); links the moved node back into the list.  ql
 * may be NULL for a node not yet linked.  The block stays while it fits
 * with at most 1/2^slack_shift of it to spare (slack_shift 0: whatever
 * it has to spare). */
static struct quicklist_node *
node_fit_front(struct quicklist *ql, struct quicklist_node *n, size_t front, size_t used,
               size_t nskip, unsigned slack_shift)
{
    size_t want = node_alloc_size(front, used, nskip);
    size_t have = n->cap;
    if (want <= have && (slack_shift == 0 || (have - want) << slack_shift <= have)) {
        return n;
    }
    int is_head = ql != NULL && ql->head == n;
    struct quicklist_node *m = mem_realloc(n, want);
    node_set_cap(m);
    if (m != n && ql != NULL) {
        if (is_head) {
            ql->head = m;
        } else {
            m->prev->next = m;
        }
        if (m->next != NULL) {
            m->next->prev = m;
        } else {
            ql->head->prev = m;  /* m is the tail */
        }
    }
    return m;
}

/* node_fit_front with the front n has. */
static inline struct quicklist_node *
node_fit(struct quicklist *ql, struct quicklist_node *n, size_t used, size_t nskip,
         unsigned slack_shift)
{
    return node_fit_front(ql, n, n->front, used, nskip, slack_shift);
}

/* node_fit for a node that shrank or whose size is set anew: a push or pop
 * changes a node by a few bytes, so while the block it has fits with at
 * most 1/8 to spare it stays (one size lookup where a realloc took two
 * and the call; the allocator's own classes are spaced wider than that,
 * so this keeps no more than it would). */
static struct quicklist_node *
node_resize(struct quicklist *ql, struct quicklist_node *n, size_t used, size_t nskip)
{
    return node_fit(ql, n, used, nskip, 3);
}

/* node_fit for a node that grew: whatever the block has to spare is kept.
 * The 1/8 rule asked the allocator again at every push while a node grew
 * through the low part of a size class (jemalloc's classes are 1/8 to 1/4
 * apart), each time for the block it had. */
static struct quicklist_node *
node_grow(struct quicklist *ql, struct quicklist_node *n, size_t used, size_t nskip)
{
    return node_fit(ql, n, used, nskip, 0);
}

/* A node with a block of size bytes (at least its header). */
static struct quicklist_node *
node_new(size_t size)
{
    struct quicklist_node *n = mem_alloc(size > sizeof(*n) ? size : sizeof(*n));
    n->prev = n->next = NULL;
    n->used = 0;
    n->count = 0;
    n->nskip = 0;
    n->front = 0;
    node_set_cap(n);
    return n;
}

static void
node_free(struct quicklist_node *n)
{
    mem_free(n);
}

/* Recompute n's whole skip index (after a bulk change). */
static struct quicklist_node *
node_reindex(struct quicklist *ql, struct quicklist_node *n)
{
    size_t want = n->count > 1 ? (size_t)(n->count - 1) / SKIP_STRIDE : 0;
    if (want != n->nskip) {
        n = node_resize(ql, n, n->used, want);
        n->nskip = (uint16_t)want;
    }
    if (want > 0) {
        memset(skip_base(n), 0, SKIP_BIAS);
    }
    size_t off = 0;
    unsigned j = 0;
    for (unsigned i = 0; j < want; i++) {
        if (i > 0 && i % SKIP_STRIDE == 0) {
            skip_set(n, j++, i, (unsigned)off);
        }
        off += elem_size(node_elems(n) + off);
    }
    return n;
}

/* Add a skip entry at position j for element idx at offset off. */
static struct quicklist_node *
skip_insert(struct quicklist *ql, struct quicklist_node *n, unsigned j, unsigned idx,
            unsigned off)
{
    n = node_grow(ql, n, n->used, (size_t)n->nskip + 1);
    if (n->nskip == 0) {
        memset(skip_base(n), 0, SKIP_BIAS);
    }
    unsigned char *s = skip_base(n) + SKIP_BIAS + (size_t)j * SKIP_ENTRY;
    memmove(s + SKIP_ENTRY, s, (size_t)(n->nskip - j) * SKIP_ENTRY);
    n->nskip++;
    skip_set(n, j, idx, off);
    return n;
}

/* Drop skip entry j (the block keeps its size until the next resize). */
static void
skip_remove(struct quicklist_node *n, unsigned j)
{
    unsigned char *s = skip_base(n) + SKIP_BIAS + (size_t)j * SKIP_ENTRY;
    memmove(s, s + SKIP_ENTRY, (size_t)(n->nskip - j - 1) * SKIP_ENTRY);
    n->nskip--;
}

/* The byte limit of one node of ql (as node_allows applies it). */
static inline size_t
node_limit(const struct quicklist *ql)
{
    return ql->fill < 0 ? size_levels[-ql->fill - 1] : QUICKLIST_SAFETY_BYTES;
}

/* Give n at least need free bytes at its front: the elements and the skip
 * index move up once, leaving room for about a quarter of the node's
 * bytes more (within what the node may still take), so that a run of
 * head pushes moves each byte about four times in all where an insert at
 * offset 0 moved the whole node at every push.  The block stays within the
 * node's byte limit as node_allows counts it.  Returns the (moved) node. */
static struct quicklist_node *
node_open_front(struct quicklist *ql, struct quicklist_node *n, size_t need)
{
    size_t used = n->used, limit = node_limit(ql);
    size_t full = node_alloc_size(0, used + need, (size_t)n->nskip + 1);
    size_t room = limit > full ? limit - full : 0;
    /* Less what the skip index will add while the room fills. */
    size_t grow = SKIP_ENTRY * (room / (need * SKIP_STRIDE) + 1);
    room = room > grow ? room - grow : 0;
    size_t extra = used / 4 + need;
    size_t front = need + (extra < room ? extra : room);
    n = node_fit_front(ql, n, front, used, n->nskip, 0);
    memmove(n->data + front, node_elems(n), used + skip_bytes(n->nskip));
    n->front = (uint32_t)front;
    return n;
}

/* Insert e as element i (0..count) of n at offset off (node_seek(i), or
 * used when i == count); returns the (moved) node. */
static struct quicklist_node *
node_insert(struct quicklist *ql, struct quicklist_node *n, unsigned i, size_t off,
            const struct elem *e)
{
    size_t used = n->used;
    unsigned count = n->count;
    if (i == count) {
        /* At the tail (RPUSH, a snapshot's load): nothing after it moves,
         * and a skip entry every SKIP_STRIDE elements comes in the same
         * resize. */
        size_t nskip = n->nskip;
        unsigned a = nskip > 0 ? skip_idx(n, (unsigned)nskip - 1) : 0;
        int add = i - a >= SKIP_STRIDE;
        n = node_grow(ql, n, used + e->size, nskip + (size_t)add);
        memmove(node_elems(n) + used + e->size, node_elems(n) + used, skip_bytes(nskip));
        elem_write(node_elems(n) + used, e);
        n->used = (uint32_t)(used + e->size);
        n->count = (uint16_t)(count + 1);
        if (add) {
            if (nskip == 0) {
                memset(skip_base(n), 0, SKIP_BIAS);
            }
            n->nskip++;
            skip_set(n, (unsigned)nskip, i, (unsigned)used);
        }
        return n;
    }
    if (i == 0) {
        /* At the head (LPUSH): into the room at the front, where the
         * elements and the skip index stay put. */
        if (n->front < e->size) {
            n = node_open_front(ql, n, e->size);
        }
        n->front -= (uint32_t)e->size;
    } else {
        n = node_grow(ql, n, used + e->size, n->nskip);
        /* The skip index moves up by the element's size, then the
         * elements after it. */
        memmove(node_elems(n) + used + e->size, node_elems(n) + used, skip_bytes(n->nskip));
        memmove(node_elems(n) + off + e->size, node_elems(n) + off, used - off);
    }
    elem_write(node_elems(n) + off, e);
    n->used = (uint32_t)(used + e->size);
    n->count = (uint16_t)(count + 1);
    unsigned j = skip_from(n, i);
    /* Entries at i or above now name the element after. */
    if (j == 0 && n->nskip > 0) {
        skip_shift_all(n, 1, (unsigned)e->size);
    } else {
        for (unsigned k = j; k < n->nskip; k++) {
            skip_set(n, k, skip_idx(n, k) + 1, skip_off(n, k) + (unsigned)e->size);
        }
    }
    unsigned a = j > 0 ? skip_idx(n, j - 1) : 0;
    unsigned b = j < n->nskip ? skip_idx(n, j) : n->count;
    if (b - a > 2 * SKIP_STRIDE) {
        size_t aoff = j > 0 ? skip_off(n, j - 1) : 0;
        for (unsigned k = 0; k < SKIP_STRIDE; k++) {
            aoff += elem_size(node_elems(n) + aoff);
        }
        n = skip_insert(ql, n, j, a + SKIP_STRIDE, (unsigned)aoff);
    }
    return n;
}

/* Delete element i at offset off from n (the node may become empty; the
 * caller frees it); returns the (moved) node.  The block is shrunk as
 * node_fit says with slack_shift; with 0 it is kept as it is, front room
 * included. */
static struct quicklist_node *
node_delete(struct quicklist *ql, struct quicklist_node *n, unsigned i, size_t off,
            unsigned slack_shift)
{
    size_t sz = elem_size(node_elems(n) + off);
    size_t used = n->used;
    if (off == 0) {
        /* The first element (LPOP): its bytes join the room at the front,
         * and the rest, skip index included, stay where they are. */
        n->front += (uint32_t)sz;
    } else {
        memmove(node_elems(n) + off, node_elems(n) + off + sz, used - off - sz);
        memmove(node_elems(n) + used - sz, node_elems(n) + used, skip_bytes(n->nskip));
    }
    n->used = (uint32_t)(used - sz);
    n->count--;
    unsigned j = skip_from(n, i);
    /* Entry at i now names the element that followed, at the same offset;
     * entries above i shift down. */
    unsigned k = j;
    if (k < n->nskip && skip_idx(n, k) == i) {
        k++;
    }
    if (k == 0 && n->nskip > 0) {
        skip_shift_all(n, 0xffff, (unsigned)(0x10000 - sz));
    } else {
        for (; k < n->nskip; k++) {
            skip_set(n, k, skip_idx(n, k) - 1, skip_off(n, k) - (unsigned)sz);
        }
    }
    /* Drop an entry that became index 0, the end, or a duplicate. */
    if (j < n->nskip) {
        unsigned idx = skip_idx(n, j);
        if (idx == 0 || idx >= n->count || (j > 0 && skip_idx(n, j - 1) == idx)) {
            skip_remove(n, j);
        } else if (j + 1 < n->nskip && skip_idx(n, j + 1) == idx) {
            skip_remove(n, j + 1);
        }
    }
    /* Merge a gap that became narrow. */
    if (j < n->nskip) {
        unsigned a = j > 0 ? skip_idx(n, j - 1) : 0;
        unsigned b = j + 1 < n->nskip ? skip_idx(n, j + 1) : n->count;
        if (b - a <= SKIP_STRIDE) {
            skip_remove(n, j);
        }
    }
    /* Room left at the front by pops is given back once it is twice the
     * elements' bytes: each byte moves about once in all, and a push at the
     * head right after a pop finds the room it needs. */
    if (slack_shift == 0) {
        return n;
    }
    if (n->front > 2 * (size_t)n->used + 64) {
        memmove(n->data, node_elems(n), (size_t)n->used + skip_bytes(n->nskip));
        n->front = 0;
    }
    return node_fit(ql, n, n->used, n->nskip, slack_shift);
}

/* Encoded size of an element of len bytes at most (an integer is smaller). */
static inline size_t
elem_bound(size_t len)
{
    return len + (len < 128 ? 1 : len < 16384 ? 2 : 5);
}

/* May node take one more element of size bytes under the list's fill?
 * The byte limit bounds the whole block without its front room (header,
 * elements and a skip index one entry longer), as Redis's counts a
 * listpack's header and end byte: a full node is then one allocator class
 * (8,192 bytes at -2), where bounding the elements alone made it 8,192
 * plus about 100 bytes, i.e. jemalloc's 10,240 class. */
static int
node_allows(const struct quicklist *ql, const struct quicklist_node *n, size_t size)
{
    size_t sz = (size_t)n->used + size;
    if (sz > NODE_MULTI_MAX || n->count >= UINT16_MAX) {
        return 0;
    }
    size_t block = node_alloc_size(0, sz, (size_t)n->nskip + 1);
    if (ql->fill < 0) {
        return block <= size_levels[-ql->fill - 1];
    }
    if (block > QUICKLIST_SAFETY_BYTES) {
        return 0;
    }
    return n->count < (size_t)ql->fill;
}

/* Link n before (where LISTPACK_BEFORE) or after at; at NULL means the head
 * (BEFORE) or the tail (AFTER) of the list. */
static void
node_link(struct quicklist *ql, struct quicklist_node *at, struct quicklist_node *n,
          int where)
{
    if (at == NULL) {
        at = where == LISTPACK_BEFORE ? ql->head : quicklist_tail(ql);
    }
    if (at == NULL) {
        ql->head = n;
        n->prev = n;
        n->next = NULL;
    } else if (where == LISTPACK_BEFORE) {
        n->next = at;
        n->prev = at->prev;  /* the tail when at is the head */
        if (at == ql->head) {
            ql->head = n;
        } else {
            at->prev->next = n;
        }
        at->prev = n;
    } else {
        n->prev = at;
        n->next = at->next;
        if (at->next != NULL) {
            at->next->prev = n;
        } else {
            ql->head->prev = n;  /* the new tail */
        }
        at->next = n;
    }
}

/* The node towards the head, or NULL at the head. */
static inline struct quicklist_node *
node_prev(const struct quicklist *ql, const struct quicklist_node *n)
{
    return n == ql->head ? NULL : n->prev;
}

/* Redis's rule: a node under 48 bytes is left alone, and so is one that
 * LZF shrinks by fewer than 8 bytes. */
#define LZF_MIN_BYTES 48
#define LZF_MIN_GAIN 8
/* Redis keeps the depth in 16 bits. */
#define DEPTH_MAX 65535

/* The header of a list made with a compress depth. */
struct quicklist_lzf {
    struct quicklist ql;               /* first: the list's pointer is ours */
    unsigned depth;                    /* raw nodes at each end, > 0 */
};

/* Where readers see a compressed node decoded: one per thread (the lists
 * are the main thread's; a lazy free only frees), grown to the largest
 * node decoded.  Owned by the thread. */
static _Thread_local struct quicklist_node *view_scratch;

static inline struct quicklist_lzf *
lzf_of(const struct quicklist *ql)
{
    return (struct quicklist_lzf *)(uintptr_t)ql;
}

static inline int
node_is_lzf(const struct quicklist_node *n)
{
    return n->nskip == QUICKLIST_NODE_LZF;
}

static void
node_unlink_free(struct quicklist *ql, struct quicklist_node *n)
{
    struct quicklist_node *prev = n->prev, *next = n->next;
    if (n == ql->head) {
        ql->head = next;
    } else {
        prev->next = next;
    }
    if (next != NULL) {
        next->prev = prev;
    } else if (ql->head != NULL) {
        ql->head->prev = prev;  /* the new tail */
    }
    node_free(n);
}

/* A new end node for a push of e at where, the node there being full: the
 * list grows at that end, so the node starts at half the block a full
 * node fills (byte fills only), where growing it a size class at a time
 * from nothing took a realloc, with a copy of the node, every nine 32-byte
 * pushes; four more take it to the full block.  (The whole block at once
 * saved another 1 % of an RPUSH's instructions but held up to a full
 * node's bytes unused at the end of a list just past one node.)  A node
 * for head pushes has its room at the front, keeping at the end what the
 * skip index of that many elements of e's size takes. */
static struct quicklist_node *
node_new_end(const struct quicklist *ql, const struct elem *e, int where)
{
    if (ql->fill >= 0) {
        return node_new(0);
    }
    size_t limit = size_levels[-ql->fill - 1];
    if (node_alloc_size(0, e->size, 1) > limit) {
        return node_new(0);  /* an element of its own */
    }
    size_t block = limit / 2;
    if (node_alloc_size(0, e->size, 1) > block) {
        block = limit;
    }
    struct quicklist_node *n = node_new(block);
    if (where == QUICKLIST_HEAD) {
        size_t elems = (block - sizeof(*n)) / e->size;
        size_t front = block - node_alloc_size(0, e->size, elems / SKIP_STRIDE + 1);
        n->front = (uint32_t)front;
    }
    return n;
}

/* ---- compression ------------------------------------------------------------
 * A compressed node is the raw node's header with nskip QUICKLIST_NODE_LZF
 * and front the LZF byte count, then those bytes: the elements alone, the
 * skip index being rebuilt when the node is decoded.  Nodes change form by
 * replacement (a new block in the old one's place), so a caller holding a
 * node across a settle passes its pointer as track. */

/* 1 when n is among the depth nodes at either end of ql. */
static int
node_in_window(const struct quicklist *ql, const struct quicklist_node *n)
{
    const struct quicklist_node *a = n, *b = n;
    for (unsigned i = lzf_of(ql)->depth; i > 0; i--) {
        if (a == ql->head || b->next == NULL) {
            return 1;
        }
        a = a->prev;
        b = b->next;
    }
    return 0;
}

/* Put m (unlinked) in n's place and free n; *track follows when it was n. */
static void
node_replace(struct quicklist *ql, struct quicklist_node *n, struct quicklist_node *m,
             struct quicklist_node **track)
{
    m->next = n->next;
    if (n == ql->head) {
        m->prev = n->prev == n ? m : n->prev;
        ql->head = m;
    } else {
        m->prev = n->prev;
        n->prev->next = m;
    }
    if (m->next != NULL) {
        m->next->prev = m;
    } else {
        ql->head->prev = m;  /* m is the tail */
    }
    if (track != NULL && *track == n) {
        *track = m;
    }
    node_free(n);
}

/* LZF bytes of n's elements into out (room bytes); their count, or 0 when
 * the node is too small or they would not save LZF_MIN_GAIN bytes. */
static size_t
node_pack(const struct quicklist_node *n, unsigned char *out, size_t room)
{
    if (n->used < LZF_MIN_BYTES) {
        return 0;
    }
    return lzf_compress(node_elems(n), n->used, out, (unsigned)room);
}

/* Bytes of output node_pack may use for n: less than that did not pay. */
static inline size_t
node_pack_room(const struct quicklist_node *n)
{
    return n->used > LZF_MIN_GAIN ? n->used - LZF_MIN_GAIN - 1 : 0;
}

/* n compressed in its place when LZF pays, else n. */
static struct quicklist_node *
node_compress(struct quicklist *ql, struct quicklist_node *n, struct quicklist_node **track)
{
    size_t room = node_pack_room(n);
    if (n->used < LZF_MIN_BYTES) {
        return n;
    }
    struct quicklist_node *m = mem_alloc(sizeof(*m) + room);
    size_t lz = node_pack(n, m->data, room);
    if (lz == 0) {
        mem_free(m);
        return n;
    }
    m = mem_realloc(m, sizeof(*m) + lz);
    m->used = n->used;
    m->count = n->count;
    m->nskip = QUICKLIST_NODE_LZF;
    m->front = (uint32_t)lz;
    node_set_cap(m);
    node_replace(ql, n, m, track);
    return m;
}

/* Compressed n decoded into a raw node, unlinked, with its skip index:
 * into m's block when m is not NULL (the scratch node), else a new one.
 * Its used is what LZF gave back (n's when the node is sound). */
static struct quicklist_node *
node_decode(const struct quicklist_node *n, struct quicklist_node *m)
{
    size_t nskip = n->count > 1 ? (size_t)(n->count - 1) / SKIP_STRIDE : 0;
    size_t want = node_alloc_size(0, n->used, nskip);
    if (m == NULL || m->cap < want) {
        m = mem_realloc(m, want);
        node_set_cap(m);
    }
    m->prev = m->next = NULL;
    m->front = 0;
    m->nskip = 0;
    m->count = n->count;
    m->used = lzf_decompress(n->data, n->front, m->data, n->used);
    return node_reindex(NULL, m);
}

/* Compressed n decoded in its place. */
static struct quicklist_node *
node_decompress(struct quicklist *ql, struct quicklist_node *n, struct quicklist_node **track)
{
    struct quicklist_node *m = node_decode(n, NULL);
    node_replace(ql, n, m, track);
    return m;
}

/* n in the form its place asks: raw within depth nodes of an end,
 * compressed elsewhere when LZF pays.  Returns the node now there. */
static struct quicklist_node *
node_settle(struct quicklist *ql, struct quicklist_node *n, struct quicklist_node **track)
{
    int in = node_in_window(ql, n);
    if (node_is_lzf(n)) {
        return in ? node_decompress(ql, n, track) : n;
    }
    return in ? n : node_compress(ql, n, track);
}

/* After nodes came or went: the depth nodes at each end raw, and the two
 * beyond them in the form their place asks.  Two suffice: an insert adds
 * at most two nodes (a split), so a node leaves the window by at most two
 * places; removals only bring nodes into it. */
static void
window_settle(struct quicklist *ql, struct quicklist_node **track)
{
    unsigned depth = lzf_of(ql)->depth;
    struct quicklist_node *n = ql->head;
    for (unsigned i = 0; n != NULL && i < depth + 2; i++) {
        if (i >= depth) {
            n = node_settle(ql, n, track);
        } else if (node_is_lzf(n)) {
            n = node_decompress(ql, n, track);
        }
        n = n->next;
    }
    n = quicklist_tail(ql);
    for (unsigned i = 0; n != NULL && i < depth + 2; i++) {
        if (i >= depth) {
            n = node_settle(ql, n, track);
        } else if (node_is_lzf(n)) {
            n = node_decompress(ql, n, track);
        }
        n = node_prev(ql, n);
    }
}

/* n itself, or n decoded into the thread's scratch node when n is
 * compressed (valid until the next decode). */
static const struct quicklist_node *
node_view(const struct quicklist_node *n)
{
    if (!node_is_lzf(n)) {
        return n;
    }
    view_scratch = node_decode(n, view_scratch);
    return view_scratch;
}

/* ---- life cycle ------------------------------------------------------------ */

static void
list_set_fill(struct quicklist *ql, int fill)
{
    if (fill < -5) {
        fill = -5;
    } else if (fill == 0) {
        fill = 1;
    }
    ql->fill = fill;
}

struct quicklist *
quicklist_create(int fill)
{
    struct quicklist *ql = mem_calloc(sizeof(*ql));
    list_set_fill(ql, fill);
    return ql;
}

struct quicklist *
quicklist_create_compressed(int fill, unsigned long depth)
{
    if (depth == 0) {
        return quicklist_create(fill);
    }
    struct quicklist_lzf *z = mem_calloc(sizeof(*z));
    list_set_fill(&z->ql, fill);
    z->ql.lzf = 1;
    z->depth = depth > DEPTH_MAX ? DEPTH_MAX : (unsigned)depth;
    return &z->ql;
}

unsigned
quicklist_depth(const struct quicklist *ql)
{
    return ql->lzf ? lzf_of(ql)->depth : 0;
}

size_t
quicklist_compressed_nodes(const struct quicklist *ql)
{
    size_t nodes = 0;
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        nodes += node_is_lzf(n);
    }
    return nodes;
}

void
quicklist_destroy(struct quicklist **qlp)
{
    struct quicklist *ql = *qlp;
    if (ql == NULL) {
        return;
    }
    struct quicklist_node *n = ql->head;
    while (n != NULL) {
        struct quicklist_node *next = n->next;
        node_free(n);
        n = next;
    }
    mem_free(ql);
    *qlp = NULL;
}

struct quicklist *
quicklist_dup(const struct quicklist *ql)
{
    struct quicklist *copy = quicklist_create_compressed(ql->fill, quicklist_depth(ql));
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        /* The copy has no room at its front; a compressed node's bytes
         * are copied as they are. */
        int lzf = node_is_lzf(n);
        size_t size = lzf ? sizeof(*n) + n->front : node_alloc_size(0, n->used, n->nskip);
        struct quicklist_node *c = mem_alloc(size);
        memcpy(c, n, sizeof(*c));
        memcpy(c->data, lzf ? n->data : node_elems(n), size - sizeof(*c));
        c->front = lzf ? n->front : 0;
        node_set_cap(c);
        c->prev = c->next = NULL;
        node_link(copy, NULL, c, LISTPACK_AFTER);
    }
    copy->count = ql->count;
    return copy;
}

size_t
quicklist_nodes(const struct quicklist *ql)
{
    size_t nodes = 0;
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        nodes++;
    }
    return nodes;
}

size_t
quicklist_bytes(const struct quicklist *ql)
{
    size_t total = mem_usable(ql);
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        total += mem_usable(n);
    }
    return total;
}

/* ---- values ------------------------------------------------------------------ */

int
quicklist_value_equals(const struct listpack_value *v, const char *s, size_t len)
{
    if (v->is_int) {
        char buf[LISTPACK_INT_BUF];
        size_t l = util_ll2str(buf, v->ll);
        return l == len && memcmp(buf, s, len) == 0;
    }
    return v->len == len && (len == 0 || memcmp(v->str, s, len) == 0);
}

const char *
quicklist_value_str(const struct listpack_value *v, char buf[LISTPACK_INT_BUF], size_t *len)
{
    if (v->is_int) {
        *len = util_ll2str(buf, v->ll);
        return buf;
    }
    *len = v->len;
    return (const char *)v->str;
}

/* ---- ends ------------------------------------------------------------------ */

void
quicklist_push(struct quicklist *ql, const char *s, size_t len, int where)
{
    struct elem e;
    elem_prepare(&e, s, len);
    struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : quicklist_tail(ql);
    if (n == NULL || !node_allows(ql, n, e.size)) {
        n = n == NULL ? node_new(0) : node_new_end(ql, &e, where);
        node_link(ql, NULL, n, where == QUICKLIST_HEAD ? LISTPACK_BEFORE : LISTPACK_AFTER);
        if (ql->lzf) {
            window_settle(ql, NULL);  /* n, at an end, stays */
        }
    }
    if (where == QUICKLIST_HEAD) {
        node_insert(ql, n, 0, 0, &e);
    } else {
        node_insert(ql, n, n->count, n->used, &e);
    }
    ql->count++;
}

int
quicklist_peek(const struct quicklist *ql, int where, struct listpack_value *v)
{
    const struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : quicklist_tail(ql);
    if (n == NULL) {
        return -1;
    }
    size_t off = where == QUICKLIST_HEAD ? 0 : node_seek(n, n->count - 1u);
    elem_get(node_elems(n) + off, v);
    return 0;
}

void
quicklist_pop_visit(struct quicklist *ql, int where, quicklist_value_fn fn, void *arg)
{
    struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : quicklist_tail(ql);
    if (n == NULL) {
        return;
    }
    unsigned i = where == QUICKLIST_HEAD ? 0 : n->count - 1u;
    size_t off = i == 0 ? 0 : node_seek(n, i);
    if (fn != NULL) {
        struct listpack_value v;
        elem_get(node_elems(n) + off, &v);
        fn(arg, &v);
    }
    ql->count--;
    if (n->count == 1) {
        node_unlink_free(ql, n);
        if (ql->lzf) {
            window_settle(ql, NULL);
        }
    } else if (ql->head->prev != ql->head) {
        /* An end node of a list of several nodes keeps its block until it
         * empties: the list is draining there, and shrinking it a size
         * class at a time took a realloc, with a copy of the node, every
         * nine 32-byte pops.  It holds no more than one full node. */
        node_delete(ql, n, i, off, 0);
    } else {
        /* A list's only node keeps up to 1/4 to spare: below that a
         * shrink always lands in a smaller size class, where at 1/8 it
         * asked jemalloc again at every pop for the class it had until
         * the node fell a whole class.  (Other deletes keep 1/8.) */
        node_delete(ql, n, i, off, 2);
    }
}

void
quicklist_pop(struct quicklist *ql, int where)
{
    quicklist_pop_visit(ql, where, NULL, NULL);
}

/* ---- iteration -------------------------------------------------------------- */

int
quicklist_iter_at(struct quicklist *ql, long index, int dir, struct quicklist_iter *it)
{
    memset(it, 0, sizeof(*it));
    it->ql = ql;
    it->dir = dir;
    size_t count = ql->count;
    if (index < 0) {
        index += (long)count;
    }
    if (index < 0 || (size_t)index >= count) {
        return -1;
    }
    size_t i = (size_t)index;
    struct quicklist_node *n;
    size_t off;
    if (i < count / 2) {
        n = ql->head;
        while (i >= n->count) {
            i -= n->count;
            n = n->next;
        }
        off = i;
    } else {
        /* Count from the tail: r elements after the one wanted. */
        size_t r = count - 1 - i;
        n = quicklist_tail(ql);
        while (r >= n->count) {
            r -= n->count;
            n = n->prev;
        }
        off = n->count - 1 - r;
    }
    it->node = n;
    it->view = node_view(n);
    it->idx = (long)off;
    it->off = node_seek(it->view, (unsigned)off);
    it->pending = 1;
    return 0;
}

int
quicklist_next(struct quicklist_iter *it, struct listpack_value *v)
{
    for (;;) {
        struct quicklist_node *n = it->node;
        if (n == NULL) {
            return 0;
        }
        const struct quicklist_node *w = it->view;
        if (it->pending) {
            it->pending = 0;
        } else if (it->dir == QUICKLIST_HEAD) {
            if (it->idx < n->count) {
                it->off += elem_size(node_elems(w) + it->off);
                it->idx++;
            }
        } else if (it->idx >= 0) {
            it->idx--;
            if (it->idx >= 0) {
                it->off = node_seek(w, (unsigned)it->idx);
            }
        }
        if (it->idx >= 0 && it->idx < n->count) {
            elem_get(node_elems(w) + it->off, v);
            return 1;
        }
        n = it->dir == QUICKLIST_HEAD ? n->next : node_prev(it->ql, n);
        it->node = n;
        if (n == NULL) {
            return 0;
        }
        it->view = node_view(n);
        it->idx = it->dir == QUICKLIST_HEAD ? 0 : n->count - 1;
        it->off = it->dir == QUICKLIST_HEAD ? 0 : node_seek(it->view, n->count - 1u);
        it->pending = 1;
    }
}

void
quicklist_iter_delete(struct quicklist_iter *it)
{
    struct quicklist_node *n = it->node;
    struct quicklist *ql = it->ql;
    if (node_is_lzf(n)) {
        n = node_decompress(ql, n, NULL);
    }
    ql->count--;
    if (n->count == 1) {
        it->node = it->dir == QUICKLIST_HEAD ? n->next : node_prev(ql, n);
        node_unlink_free(ql, n);
        if (ql->lzf) {
            window_settle(ql, &it->node);
        }
        struct quicklist_node *to = it->node;
        if (to != NULL) {
            it->view = node_view(to);
            it->idx = it->dir == QUICKLIST_HEAD ? 0 : to->count - 1;
            it->off = it->dir == QUICKLIST_HEAD ? 0 : node_seek(it->view, to->count - 1u);
        }
        it->pending = 1;
        return;
    }
    n = node_delete(ql, n, (unsigned)it->idx, it->off, 3);
    if (ql->lzf) {
        n = node_settle(ql, n, NULL);
    }
    it->node = n;
    it->view = node_view(n);
    if (it->dir == QUICKLIST_HEAD) {
        /* The element that followed is now at idx, at the same offset (or
         * idx is the count: the node is done). */
        it->pending = 1;
    } else {
        /* Go on with the element before: let next() step back from here. */
        it->pending = 0;
    }
}

void
quicklist_iter_replace(struct quicklist_iter *it, const char *s, size_t len)
{
    struct quicklist *ql = it->ql;
    struct quicklist_node *n = it->node;
    unsigned i = (unsigned)it->idx;
    struct elem e;
    elem_prepare(&e, s, len);
    if (node_is_lzf(n)) {
        n = node_decompress(ql, n, NULL);
    }
    size_t old = elem_size(node_elems(n) + it->off);
    if (n->count == 1 || (size_t)n->used - old + e.size <= NODE_MULTI_MAX) {
        n = node_delete(ql, n, i, it->off, 3);
        n = node_insert(ql, n, i, it->off, &e);
        if (ql->lzf) {
            node_settle(ql, n, NULL);
        }
    } else {
        /* Too big to share the node: it goes where an insert would put it. */
        n = node_delete(ql, n, i, it->off, 3);
        ql->count--;
        it->node = n;
        it->idx = i;
        it->off = i < n->count ? it->off : n->used;
        quicklist_iter_insert(it, s, len, LISTPACK_BEFORE);
    }
    it->node = NULL;
}

/* Insert s so that it becomes element k (0..count) of raw node n.  Returns
 * the first of the at most three neighbouring nodes it changed or made
 * (n among them), which a compressed list settles. */
static struct quicklist_node *
insert_at(struct quicklist *ql, struct quicklist_node *n, unsigned k, const char *s,
          size_t len)
{
    struct elem e;
    elem_prepare(&e, s, len);
    unsigned count = n->count;
    ql->count++;
    if (node_allows(ql, n, e.size)) {
        return node_insert(ql, n, k, k < count ? node_seek(n, k) : n->used, &e);
    }
    /* A compressed neighbour takes nothing: decoding it for one element
     * would cost more than the node this may make. */
    struct quicklist_node *prev = node_prev(ql, n);
    if (k == 0 && prev != NULL && !node_is_lzf(prev) && node_allows(ql, prev, e.size)) {
        return node_insert(ql, prev, prev->count, prev->used, &e);
    }
    struct quicklist_node *next = n->next;
    if (k == count && next != NULL && !node_is_lzf(next) && node_allows(ql, next, e.size)) {
        node_insert(ql, next, 0, 0, &e);
        return n;
    }
    struct quicklist_node *c = node_new(0);
    if (k == 0 || k == count) {
        node_link(ql, n, c, k == 0 ? LISTPACK_BEFORE : LISTPACK_AFTER);
        c = node_insert(ql, c, 0, 0, &e);
        return k == 0 ? c : n;
    }
    /* Split n at k: elements k.. move to a new node b after it. */
    size_t off = node_seek(n, k);
    size_t tail = n->used - off;
    struct quicklist_node *b = node_new(0);
    b = node_resize(NULL, b, tail, 0);
    memcpy(node_elems(b), node_elems(n) + off, tail);
    b->used = (uint32_t)tail;
    b->count = (uint16_t)(count - k);
    node_link(ql, n, b, LISTPACK_AFTER);
    b = node_reindex(ql, b);
    /* n keeps elements ..k-1 and the skip entries below k. */
    unsigned keep = skip_after(n, k - 1);
    memmove(node_elems(n) + off, skip_base(n), skip_bytes(keep));
    n->used = (uint32_t)off;
    n->count = (uint16_t)k;
    n->nskip = (uint16_t)keep;
    n = node_resize(ql, n, n->used, keep);
    if (node_allows(ql, n, e.size)) {
        node_free(c);
        n = node_insert(ql, n, n->count, n->used, &e);
    } else if (node_allows(ql, b, e.size)) {
        node_free(c);
        node_insert(ql, b, 0, 0, &e);
    } else {
        node_link(ql, n, c, LISTPACK_AFTER);
        node_insert(ql, c, 0, 0, &e);
    }
    return n;
}

void
quicklist_iter_insert(struct quicklist_iter *it, const char *s, size_t len, int where)
{
    struct quicklist *ql = it->ql;
    struct quicklist_node *n = it->node;
    if (node_is_lzf(n)) {
        n = node_decompress(ql, n, NULL);
    }
    n = insert_at(ql, n, (unsigned)it->idx + (where == LISTPACK_AFTER ? 1u : 0u), s, len);
    if (ql->lzf) {
        for (int i = 0; i < 3 && n != NULL; i++) {
            n = node_settle(ql, n, NULL)->next;
        }
        window_settle(ql, NULL);
    }
    it->node = NULL;
}

void
quicklist_delete_range(struct quicklist *ql, size_t start, size_t count)
{
    struct quicklist_node *n = ql->head;
    while (n != NULL && start >= n->count) {
        start -= n->count;
        n = n->next;
    }
    while (n != NULL && count > 0) {
        struct quicklist_node *next = n->next;
        size_t len = n->count;
        size_t del = len - start < count ? len - start : count;
        if (start == 0 && del == len) {
            node_unlink_free(ql, n);
        } else {
            if (node_is_lzf(n)) {
                n = node_decompress(ql, n, NULL);
            }
            size_t from = node_seek(n, (unsigned)start);
            size_t to = start + del < len ? node_seek(n, (unsigned)(start + del)) : n->used;
            /* The elements after the range close up; the skip index is
             * rebuilt (dropping it first keeps it out of the way). */
            memmove(node_elems(n) + from, node_elems(n) + to, n->used - to);
            n->used = (uint32_t)(n->used - (to - from));
            n->count = (uint16_t)(len - del);
            n->nskip = 0;
            n = node_resize(ql, n, n->used, 0);
            n = node_reindex(ql, n);
            if (ql->lzf) {
                node_settle(ql, n, NULL);
            }
        }
        ql->count -= del;
        count -= del;
        start = 0;
        n = next;
    }
    if (ql->lzf) {
        window_settle(ql, NULL);  /* nodes that came within depth of an end */
    }
}

/* Check one node's elements and skip index. */
static int
node_check(const struct quicklist_node *n)
{
    if (n->count == 0 || (n->count > 1 && n->used > NODE_MULTI_MAX)) {
        return -1;
    }
    if (node_alloc_size(n->front, n->used, n->nskip) > n->cap || n->cap > mem_usable(n)) {
        return -1;
    }
    size_t off = 0;
    unsigned j = 0, last = 0;
    for (unsigned i = 0; i < n->count; i++) {
        if (off >= n->used) {
            return -1;
        }
        if (j < n->nskip && skip_idx(n, j) == i) {
            if (skip_off(n, j) != off || i - last > 2 * SKIP_STRIDE) {
                return -1;
            }
            last = i;
            j++;
        }
        unsigned b = node_elems(n)[off];
        if (b >= ENC_INT && b != ENC_STR32 && (b == ENC_INT || b > ENC_INT + 8)) {
            return -1;
        }
        size_t sz = elem_size(node_elems(n) + off);
        if (sz > n->used - off) {
            return -1;
        }
        struct listpack_value v;
        long long ll;
        elem_get(node_elems(n) + off, &v);
        if (!v.is_int && util_str2ll((const char *)v.str, v.len, &ll) == 0) {
            return -1;  /* a canonical integer stored as a string */
        }
        off += sz;
    }
    if (off != n->used || j != n->nskip || n->count - last > 2 * SKIP_STRIDE) {
        return -1;
    }
    return 0;
}

/* Check compressed n: it decodes to a sound node of its count and bytes,
 * and LZF paid. */
static int
node_check_lzf(const struct quicklist_node *n)
{
    if (sizeof(*n) + (size_t)n->front > n->cap || n->cap > mem_usable(n)
        || n->front + LZF_MIN_GAIN >= n->used || n->used < LZF_MIN_BYTES) {
        return -1;
    }
    struct quicklist_node *m = node_decode(n, NULL);
    int rc = m->used == n->used && m->count == n->count ? node_check(m) : -1;
    mem_free(m);
    return rc;
}

/* 1 when raw n would be compressed: LZF pays. */
static int
node_packs(const struct quicklist_node *n)
{
    size_t room = node_pack_room(n);
    unsigned char *out = mem_alloc(room + 1);
    size_t lz = node_pack(n, out, room);
    mem_free(out);
    return lz > 0;
}

/* Each node's form for its place: raw within depth nodes of an end, else
 * compressed unless LZF would not pay. */
static int
list_check_forms(const struct quicklist *ql)
{
    size_t depth = quicklist_depth(ql), nodes = quicklist_nodes(ql), i = 0;
    if (depth == 0) {
        return 0;
    }
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next, i++) {
        int in = i < depth || nodes - 1 - i < depth;
        if (node_is_lzf(n) ? in : !in && node_packs(n)) {
            return -1;
        }
    }
    return 0;
}

int
quicklist_check(const struct quicklist *ql)
{
    size_t count = 0;
    const struct quicklist_node *prev = NULL;
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        if (n != ql->head && n->prev != prev) {
            return -1;
        }
        if (node_is_lzf(n) ? !ql->lzf || node_check_lzf(n) != 0 : node_check(n) != 0) {
            return -1;
        }
        count += n->count;
        prev = n;
    }
    if (list_check_forms(ql) != 0) {
        return -1;
    }
    if ((ql->head != NULL && ql->head->prev != prev) || count != ql->count) {
        return -1;
    }
    return 0;
}
