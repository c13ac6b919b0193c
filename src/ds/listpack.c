/* listpack: elements packed into one allocation.  This file owns the byte
 * layout described in listpack.h: element encodings, backlens, the header,
 * and the structural validator for untrusted bytes. */
#include "ds/listpack.h"

#include "core/alloc.h"
#include "core/util.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* ==== Layout ==== */

#define LP_HDR 8            /* u32 total bytes, u32 count */
#define LP_END 0xFF

/* Encoding byte patterns. */
#define LP_UINT7_MASK 0x80  /* 0xxxxxxx: 0..127 */
#define LP_STR6 0x80        /* 10xxxxxx: string of 0..63 bytes */
#define LP_INT13 0xC0       /* 110xxxxx xxxxxxxx: -4096..4095 */
#define LP_STR12 0xE0       /* 1110xxxx xxxxxxxx: string of 0..4095 bytes */
#define LP_STR32 0xF0       /* + u32 length */
#define LP_INT16 0xF1
#define LP_INT24 0xF2
#define LP_INT32 0xF3
#define LP_INT64 0xF4

/* Longest encoding header for an integer element or a string header. */
#define LP_MAX_HDR 9
/* Longest backlen (an entry size below 2^35 needs at most 5 bytes). */
#define LP_MAX_BACKLEN 5

static inline uint32_t
rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
           | (uint32_t)p[3] << 24;
}

static inline void
wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline size_t
hdr_total(const unsigned char *lp)
{
    return rd32(lp);
}

static inline size_t
hdr_count(const unsigned char *lp)
{
    return rd32(lp + 4);
}

static inline void
hdr_set(unsigned char *lp, size_t total, size_t count)
{
    assert(total <= UINT32_MAX && count <= UINT32_MAX);
    wr32(lp, (uint32_t)total);
    wr32(lp + 4, (uint32_t)count);
}

/* Bytes the backlen of an entry of size l (encoding + payload) takes. */
static inline size_t
backlen_size(size_t l)
{
    if (l < (1UL << 7)) {
        return 1;
    }
    if (l < (1UL << 14)) {
        return 2;
    }
    if (l < (1UL << 21)) {
        return 3;
    }
    if (l < (1UL << 28)) {
        return 4;
    }
    return 5;
}

/* The byte nearest the following element holds the low 7 bits; a set high
 * bit says more significant bytes precede it. */
static void
backlen_write(unsigned char *dst, size_t l)
{
    size_t k = backlen_size(l);
    for (size_t i = 0; i < k; i++) {
        unsigned char b = (unsigned char)((l >> (7 * i)) & 127);
        if (i + 1 < k) {
            b |= 128;
        }
        dst[k - 1 - i] = b;
    }
}

/* Decode the backlen whose last byte is at q; *k receives its size. */
static inline size_t
backlen_read(const unsigned char *q, size_t *k)
{
    size_t v = 0;
    size_t i = 0;
    for (;;) {
        v |= (size_t)(q[-(long)i] & 127) << (7 * i);
        if (!(q[-(long)i] & 128)) {
            break;
        }
        i++;
    }
    *k = i + 1;
    return v;
}

/* Encoding header size and payload size of the element at p. */
static inline void
entry_parts(const unsigned char *p, size_t *hdr, size_t *payload)
{
    unsigned char b = p[0];
    if (!(b & LP_UINT7_MASK)) {
        *hdr = 1;
        *payload = 0;
    } else if ((b & 0xC0) == LP_STR6) {
        *hdr = 1;
        *payload = b & 0x3F;
    } else if ((b & 0xE0) == LP_INT13) {
        *hdr = 2;
        *payload = 0;
    } else if ((b & 0xF0) == LP_STR12) {
        *hdr = 2;
        *payload = (size_t)(b & 0x0F) << 8 | p[1];
    } else if (b == LP_STR32) {
        *hdr = 5;
        *payload = rd32(p + 1);
    } else {
        static const unsigned char intsz[] = {0, 2, 3, 4, 8};
        assert(b >= LP_INT16 && b <= LP_INT64);
        *hdr = 1;
        *payload = intsz[b - LP_STR32];
    }
}

/* Size of encoding + payload. */
static inline size_t
entry_len(const unsigned char *p)
{
    size_t hdr, payload;
    entry_parts(p, &hdr, &payload);
    return hdr + payload;
}

/* Size of the whole element, backlen included. */
static inline size_t
entry_size(const unsigned char *p)
{
    size_t l = entry_len(p);
    return l + backlen_size(l);
}

static inline int
entry_is_int(unsigned char b)
{
    return !(b & LP_UINT7_MASK) || (b & 0xE0) == LP_INT13
           || (b >= LP_INT16 && b <= LP_INT64);
}

/* Sign-extend the low bits of u. */
static inline long long
sext(uint64_t u, unsigned bits)
{
    uint64_t m = 1ULL << (bits - 1);
    u &= (bits == 64) ? ~0ULL : ((1ULL << bits) - 1);
    return (long long)((u ^ m) - m);
}

static long long
entry_int(const unsigned char *p)
{
    unsigned char b = p[0];
    uint64_t u = 0;
    if (!(b & LP_UINT7_MASK)) {
        return b;
    }
    if ((b & 0xE0) == LP_INT13) {
        return sext((uint64_t)(b & 0x1F) << 8 | p[1], 13);
    }
    unsigned n = (b == LP_INT16) ? 2 : (b == LP_INT24) ? 3
                 : (b == LP_INT32) ? 4 : 8;
    for (unsigned i = 0; i < n; i++) {
        u |= (uint64_t)p[1 + i] << (8 * i);
    }
    return sext(u, 8 * n);
}

/* Write the encoding of an integer into dst (LP_MAX_HDR bytes); returns
 * its size. */
static size_t
encode_int(unsigned char *dst, long long v)
{
    unsigned n;
    if (v >= 0 && v <= 127) {
        dst[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        uint64_t u = (uint64_t)v & 0x1FFF;
        dst[0] = (unsigned char)(LP_INT13 | (u >> 8));
        dst[1] = (unsigned char)u;
        return 2;
    }
    if (v >= INT16_MIN && v <= INT16_MAX) {
        dst[0] = LP_INT16;
        n = 2;
    } else if (v >= -(1LL << 23) && v < (1LL << 23)) {
        dst[0] = LP_INT24;
        n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        dst[0] = LP_INT32;
        n = 4;
    } else {
        dst[0] = LP_INT64;
        n = 8;
    }
    for (unsigned i = 0; i < n; i++) {
        dst[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
    }
    return 1 + n;
}

/* Write a string header for len bytes into dst; returns its size. */
static size_t
encode_str_hdr(unsigned char *dst, size_t len)
{
    if (len < 64) {
        dst[0] = (unsigned char)(LP_STR6 | len);
        return 1;
    }
    if (len < 4096) {
        dst[0] = (unsigned char)(LP_STR12 | (len >> 8));
        dst[1] = (unsigned char)len;
        return 2;
    }
    assert(len <= UINT32_MAX);
    dst[0] = LP_STR32;
    wr32(dst + 1, (uint32_t)len);
    return 5;
}

/* An element about to be written: its encoding header (the whole element
 * for an integer), the string payload if any, and the total size. */
struct lp_enc {
    unsigned char hdr[LP_MAX_HDR];
    size_t hdrlen;
    const char *str;    /* borrowed from the caller; NULL for integers */
    size_t len;
    size_t size;        /* hdrlen + len + backlen */
};

static void
enc_int(struct lp_enc *e, long long v)
{
    e->hdrlen = encode_int(e->hdr, v);
    e->str = NULL;
    e->len = 0;
    e->size = e->hdrlen + backlen_size(e->hdrlen);
}

static void
enc_str(struct lp_enc *e, const char *s, size_t len)
{
    long long v;
    if (util_str2ll(s, len, &v) == 0) {
        enc_int(e, v);
        return;
    }
    e->hdrlen = encode_str_hdr(e->hdr, len);
    e->str = s;
    e->len = len;
    e->size = e->hdrlen + len + backlen_size(e->hdrlen + len);
}

static void
enc_write(unsigned char *dst, const struct lp_enc *e)
{
    memcpy(dst, e->hdr, e->hdrlen);
    if (e->len) {
        memcpy(dst + e->hdrlen, e->str, e->len);
    }
    backlen_write(dst + e->hdrlen + e->len, e->hdrlen + e->len);
}

/* ==== Life cycle and size ==== */

unsigned char *
listpack_new(void)
{
    unsigned char *lp = mem_alloc(LP_HDR + 1);
    hdr_set(lp, LP_HDR + 1, 0);
    lp[LP_HDR] = LP_END;
    return lp;
}

void
listpack_free(unsigned char *lp)
{
    mem_free(lp);
}

size_t
listpack_bytes(const unsigned char *lp)
{
    return mem_usable(lp);
}

size_t
listpack_used_bytes(const unsigned char *lp)
{
    return hdr_total(lp);
}

size_t
listpack_length(const unsigned char *lp)
{
    return hdr_count(lp);
}

int
listpack_safe_to_add(const unsigned char *lp, size_t add)
{
    size_t total = lp ? hdr_total(lp) : 0;
    return add <= LISTPACK_MAX_SAFE && total + add <= LISTPACK_MAX_SAFE;
}

/* ==== Navigation ==== */

unsigned char *
listpack_first(const unsigned char *lp)
{
    if (lp[LP_HDR] == LP_END) {
        return NULL;
    }
    return (unsigned char *)lp + LP_HDR;
}

unsigned char *
listpack_next(const unsigned char *lp, const unsigned char *p)
{
    (void)lp;
    p += entry_size(p);
    return p[0] == LP_END ? NULL : (unsigned char *)p;
}

unsigned char *
listpack_prev(const unsigned char *lp, const unsigned char *p)
{
    size_t k;
    if (p == lp + LP_HDR) {
        return NULL;
    }
    size_t l = backlen_read(p - 1, &k);
    return (unsigned char *)p - k - l;
}

unsigned char *
listpack_last(const unsigned char *lp)
{
    if (hdr_count(lp) == 0) {
        return NULL;
    }
    return listpack_prev(lp, lp + hdr_total(lp) - 1);
}

unsigned char *
listpack_seek(const unsigned char *lp, long index)
{
    size_t count = hdr_count(lp);
    unsigned char *p;
    size_t i;

    if (index < 0) {
        if ((unsigned long)-(index + 1) >= count) {
            return NULL;
        }
        i = count - (size_t)-(index + 1) - 1;
    } else {
        if ((unsigned long)index >= count) {
            return NULL;
        }
        i = (size_t)index;
    }
    if (i < count / 2) {
        p = (unsigned char *)lp + LP_HDR;
        while (i--) {
            p += entry_size(p);
        }
    } else {
        p = listpack_last(lp);
        for (size_t j = count - 1; j > i; j--) {
            p = listpack_prev(lp, p);
        }
    }
    return p;
}

/* ==== Reading ==== */

void
listpack_get(const unsigned char *p, struct listpack_value *v)
{
    if (entry_is_int(p[0])) {
        v->is_int = 1;
        v->ll = entry_int(p);
        v->str = NULL;
        v->len = 0;
        return;
    }
    size_t hdr, payload;
    entry_parts(p, &hdr, &payload);
    v->is_int = 0;
    v->ll = 0;
    v->str = p + hdr;
    v->len = payload;
}

const char *
listpack_get_str(const unsigned char *p, char buf[LISTPACK_INT_BUF],
                 size_t *len)
{
    struct listpack_value v;
    listpack_get(p, &v);
    if (v.is_int) {
        *len = util_ll2str(buf, v.ll);
        return buf;
    }
    *len = v.len;
    return (const char *)v.str;
}

/* A search key parsed once: canonical integers only ever match integer
 * elements (the encoder never stores them as strings), everything else
 * only string elements. */
struct lp_key {
    const char *s;
    size_t len;
    long long ll;
    int is_int;
};

static void
key_init(struct lp_key *k, const char *s, size_t len)
{
    k->s = s;
    k->len = len;
    k->is_int = util_str2ll(s, len, &k->ll) == 0;
}

static int
key_match(const unsigned char *p, const struct lp_key *k)
{
    if (entry_is_int(p[0])) {
        return k->is_int && entry_int(p) == k->ll;
    }
    if (k->is_int) {
        return 0;
    }
    size_t hdr, payload;
    entry_parts(p, &hdr, &payload);
    return payload == k->len && memcmp(p + hdr, k->s, payload) == 0;
}

int
listpack_compare(const unsigned char *p, const char *s, size_t len)
{
    struct lp_key k;
    key_init(&k, s, len);
    return key_match(p, &k);
}

unsigned char *
listpack_find(const unsigned char *lp, unsigned char *p, const char *s,
              size_t len, unsigned skip)
{
    struct lp_key k;
    (void)lp;
    if (p == NULL) {
        return NULL;
    }
    key_init(&k, s, len);
    while (p[0] != LP_END) {
        if (key_match(p, &k)) {
            return p;
        }
        p += entry_size(p);
        for (unsigned i = 0; i < skip && p[0] != LP_END; i++) {
            p += entry_size(p);
        }
    }
    return NULL;
}

/* ==== Mutation ==== */

/* Insert the encoded element at byte offset off. */
static unsigned char *
insert_at(unsigned char *lp, size_t off, const struct lp_enc *e,
          unsigned char **newp)
{
    size_t total = hdr_total(lp);
    size_t count = hdr_count(lp);
    assert(total + e->size <= UINT32_MAX && count < UINT32_MAX);
    lp = mem_realloc(lp, total + e->size);
    memmove(lp + off + e->size, lp + off, total - off);
    enc_write(lp + off, e);
    hdr_set(lp, total + e->size, count + 1);
    if (newp) {
        *newp = lp + off;
    }
    return lp;
}

static unsigned char *
insert_enc(unsigned char *lp, unsigned char *p, const struct lp_enc *e,
           int where, unsigned char **newp)
{
    size_t off;
    if (p == NULL) {
        off = (where == LISTPACK_AFTER) ? hdr_total(lp) - 1 : LP_HDR;
    } else if (where == LISTPACK_AFTER) {
        off = (size_t)(p - lp) + entry_size(p);
    } else {
        off = (size_t)(p - lp);
    }
    return insert_at(lp, off, e, newp);
}

/* s may point into lp itself (moving an element within one listpack): the
 * realloc and memmove would pull it away, so such a string is copied. */
static int
aliases(const unsigned char *lp, const char *s)
{
    uintptr_t a = (uintptr_t)s, b = (uintptr_t)lp;
    return s != NULL && a >= b && a < b + hdr_total(lp);
}

unsigned char *
listpack_insert(unsigned char *lp, unsigned char *p, const char *s,
                size_t len, int where, unsigned char **newp)
{
    struct lp_enc e;
    if (aliases(lp, s)) {
        char *copy = mem_alloc(len);
        memcpy(copy, s, len);
        lp = listpack_insert(lp, p, copy, len, where, newp);
        mem_free(copy);
        return lp;
    }
    enc_str(&e, s, len);
    return insert_enc(lp, p, &e, where, newp);
}

unsigned char *
listpack_append(unsigned char *lp, const char *s, size_t len)
{
    return listpack_insert(lp, NULL, s, len, LISTPACK_AFTER, NULL);
}

unsigned char *
listpack_prepend(unsigned char *lp, const char *s, size_t len)
{
    return listpack_insert(lp, NULL, s, len, LISTPACK_BEFORE, NULL);
}

unsigned char *
listpack_append_int(unsigned char *lp, long long v)
{
    struct lp_enc e;
    enc_int(&e, v);
    return insert_enc(lp, NULL, &e, LISTPACK_AFTER, NULL);
}

unsigned char *
listpack_prepend_int(unsigned char *lp, long long v)
{
    struct lp_enc e;
    enc_int(&e, v);
    return insert_enc(lp, NULL, &e, LISTPACK_BEFORE, NULL);
}

/* Replace the element at *p with e, moving the tail once. */
static unsigned char *
replace_enc(unsigned char *lp, unsigned char **p, const struct lp_enc *e)
{
    size_t total = hdr_total(lp);
    size_t off = (size_t)(*p - lp);
    size_t old = entry_size(*p);
    size_t tail = total - off - old;

    if (e->size > old) {
        assert(total - old + e->size <= UINT32_MAX);
        lp = mem_realloc(lp, total - old + e->size);
        memmove(lp + off + e->size, lp + off + old, tail);
    } else if (e->size < old) {
        memmove(lp + off + e->size, lp + off + old, tail);
        lp = mem_realloc(lp, total - old + e->size);
    }
    enc_write(lp + off, e);
    hdr_set(lp, total - old + e->size, hdr_count(lp));
    *p = lp + off;
    return lp;
}

unsigned char *
listpack_replace(unsigned char *lp, unsigned char **p, const char *s,
                 size_t len)
{
    struct lp_enc e;
    if (aliases(lp, s)) {
        char *copy = mem_alloc(len);
        memcpy(copy, s, len);
        lp = listpack_replace(lp, p, copy, len);
        mem_free(copy);
        return lp;
    }
    enc_str(&e, s, len);
    return replace_enc(lp, p, &e);
}

unsigned char *
listpack_replace_int(unsigned char *lp, unsigned char **p, long long v)
{
    struct lp_enc e;
    enc_int(&e, v);
    return replace_enc(lp, p, &e);
}

unsigned char *
listpack_delete_n(unsigned char *lp, unsigned char **p, size_t n)
{
    size_t total = hdr_total(lp);
    unsigned char *q = *p;
    size_t deleted = 0;

    if (q == NULL) {
        return lp;
    }
    size_t off = (size_t)(q - lp);
    while (deleted < n && q[0] != LP_END) {
        q += entry_size(q);
        deleted++;
    }
    size_t gap = (size_t)(q - *p);
    memmove(lp + off, q, total - off - gap);
    lp = mem_realloc(lp, total - gap);
    hdr_set(lp, total - gap, hdr_count(lp) - deleted);
    *p = lp[off] == LP_END ? NULL : lp + off;
    return lp;
}

unsigned char *
listpack_delete(unsigned char *lp, unsigned char **p)
{
    return listpack_delete_n(lp, p, 1);
}

unsigned char *
listpack_delete_range(unsigned char *lp, long index, size_t count)
{
    unsigned char *p = listpack_seek(lp, index);
    if (p == NULL || count == 0) {
        return lp;
    }
    return listpack_delete_n(lp, &p, count);
}

/* ==== Validation ==== */

int
listpack_validate(const unsigned char *buf, size_t size, size_t *count)
{
    size_t n = 0;
    size_t off = LP_HDR;

    if (buf == NULL || size < LP_HDR + 1 || size > UINT32_MAX
        || hdr_total(buf) != size || buf[size - 1] != LP_END) {
        return -1;
    }
    /* Every element lies in [off, size - 1): the terminator is excluded. */
    while (off < size - 1) {
        const unsigned char *p = buf + off;
        size_t avail = size - 1 - off;
        size_t hdr, payload;
        unsigned char b = p[0];

        if (b >= LP_INT64 + 1) {   /* 0xF5..0xFF: unused or the end */
            return -1;
        }
        /* Multi-byte headers must fit before their length is read. */
        if ((((b & 0xE0) == LP_INT13 || (b & 0xF0) == LP_STR12) && avail < 2)
            || (b == LP_STR32 && avail < 5)) {
            return -1;
        }
        entry_parts(p, &hdr, &payload);
        if (hdr > avail || payload > avail - hdr) {
            return -1;
        }
        size_t l = hdr + payload;
        size_t k = backlen_size(l);
        if (k > avail - l) {
            return -1;
        }
        unsigned char expect[LP_MAX_BACKLEN];
        backlen_write(expect, l);
        if (memcmp(p + l, expect, k) != 0) {
            return -1;
        }
        if (!entry_is_int(b) && payload <= 20) {
            long long v;
            if (util_str2ll((const char *)p + hdr, payload, &v) == 0) {
                return -1;
            }
        }
        off += l + k;
        n++;
    }
    if (off != size - 1 || n != hdr_count(buf)) {
        return -1;
    }
    if (count) {
        *count = n;
    }
    return 0;
}

/* ==== Sizes of single elements ==== */

size_t
listpack_element_size(const unsigned char *p)
{
    return entry_size(p);
}

size_t
listpack_encoded_size(const char *s, size_t len)
{
    struct lp_enc e;
    enc_str(&e, s, len);
    return e.size;
}
