/* The hash type (see t_hash.h): the tagged-pointer object over a listpack
 * or a strmap, field expiry, the object-layer table, and the keyspace side
 * of field expiry (lazy reclaim, the tracked-keys registry and the active
 * cycle, HDEL propagation). */
#include "node/t_hash.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/repl.h"
#include "node/server.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the tagged pointer ---------------------------------------------------- */

#define TAG_LP 0u
#define TAG_LPEX 1u
#define TAG_HT 2u
#define TAG_INLINE OBJ_INLINE_TAG   /* pairs held in the entry itself */
#define TAG_MASK 3u

/* A listpack of pairs up to this many bytes is held inline in the key's
 * entry (one allocation, no pointer): a small hash then costs one block
 * instead of an entry plus a listpack, 320 bytes where Redis spends about
 * 390 (dictEntry, key sds, robj and the listpack) for 10 fields of 8-byte
 * names and 16-byte values.  A write to an inline hash works on a heap copy
 * (own()) that hash_store() puts back, so the bound also bounds the bytes
 * copied per write. */
#define HASH_INLINE_MAX 1024

_Static_assert(TAG_INLINE == 3, "the inline tag is the one tag left");

struct hash_ht {
    struct strmap *map;           /* owned */
    size_t nvolatile;             /* fields with an expiry */
    long long min_expire;         /* lower bound of their expiries; 0 when none */
};

static inline unsigned
tag_of(const void *h)
{
    return (unsigned)((uintptr_t)h & TAG_MASK);
}

static inline void *
make(void *p, unsigned tag)
{
    return (void *)((uintptr_t)p | tag);
}

/* The encoding proper: an inline hash is a listpack of pairs. */
static inline unsigned
kind_of(const void *h)
{
    unsigned tag = tag_of(h);
    return tag == TAG_INLINE ? TAG_LP : tag;
}

static inline unsigned char *
lp_of(const void *h)
{
    if (tag_of(h) == TAG_INLINE) {
        return (unsigned char *)entry_val(obj_inline_entry(h));
    }
    return (unsigned char *)((uintptr_t)h & ~(uintptr_t)TAG_MASK);
}

/* Free the listpack behind h unless the entry holds it. */
static void
lp_drop(const void *h)
{
    if (tag_of(h) != TAG_INLINE) {
        listpack_free(lp_of(h));
    }
}

/* Make *hp's listpack one that may be reallocated: an inline hash's is
 * copied to the heap (tag TAG_LP; hash_store() puts it back).  *p, when
 * not NULL, is an element of the old listpack and follows it to the copy.
 * Returns the listpack. */
static unsigned char *
own(void **hp, unsigned char **p)
{
    unsigned char *lp = lp_of(*hp);
    if (tag_of(*hp) != TAG_INLINE) {
        return lp;
    }
    size_t used = listpack_used_bytes(lp);
    unsigned char *copy = mem_alloc(used);
    memcpy(copy, lp, used);
    if (p != NULL && *p != NULL) {
        *p = copy + (*p - lp);
    }
    *hp = make(copy, TAG_LP);
    return copy;
}

static inline struct hash_ht *
ht_of(const void *h)
{
    return (struct hash_ht *)((uintptr_t)h & ~(uintptr_t)TAG_MASK);
}

/* Elements per field in a listpack encoding. */
static inline unsigned
stride_of(unsigned tag)
{
    return tag == TAG_LPEX ? 3 : 2;
}

static inline int
expired(long long exp, long long now)
{
    return exp != 0 && now != 0 && exp <= now;
}

static long long
lp_int(const unsigned char *p)
{
    struct listpack_value v;
    listpack_get(p, &v);
    return v.is_int ? v.ll : 0;
}

/* ---- objects ------------------------------------------------------------- */

void *
hash_new(void)
{
    return make(listpack_new(), TAG_LP);
}

void
hash_free(void *h)
{
    if (h == NULL || tag_of(h) == TAG_INLINE) {
        return;   /* an inline hash goes with its entry */
    }
    if (tag_of(h) == TAG_HT) {
        struct hash_ht *ht = ht_of(h);
        strmap_destroy(&ht->map);
        mem_free(ht);
    } else {
        listpack_free(lp_of(h));
    }
}

int
hash_encoding(const void *h)
{
    return (int)kind_of(h);
}

size_t
hash_length(const void *h)
{
    if (tag_of(h) == TAG_HT) {
        return strmap_size(ht_of(h)->map);
    }
    return listpack_length(lp_of(h)) / stride_of(kind_of(h));
}

int
hash_has_expiry(const void *h)
{
    return hash_min_expire(h) != 0;
}

long long
hash_min_expire(const void *h)
{
    unsigned tag = kind_of(h);
    if (tag == TAG_HT) {
        struct hash_ht *ht = ht_of(h);
        return ht->nvolatile > 0 ? ht->min_expire : 0;
    }
    if (tag == TAG_LP) {
        return 0;
    }
    unsigned char *lp = lp_of(h);
    long long min = 0;
    for (unsigned char *p = listpack_first(lp); p != NULL;) {
        unsigned char *e = listpack_next(lp, listpack_next(lp, p));
        long long exp = lp_int(e);
        if (exp != 0 && (min == 0 || exp < min)) {
            min = exp;
        }
        p = listpack_next(lp, e);
    }
    return min;
}

/* Decode the field and value at p (and the expiry for triplets). */
static void
lp_read(unsigned char *lp, unsigned char *p, unsigned tag, struct hash_field *out)
{
    unsigned char *v = listpack_next(lp, p);
    out->field = listpack_get_str(p, out->fbuf, &out->flen);
    out->value = listpack_get_str(v, out->vbuf, &out->vlen);
    out->expire_ms = tag == TAG_LPEX ? lp_int(listpack_next(lp, v)) : 0;
}

static void
node_read(const struct strmap_node *n, struct hash_field *out)
{
    out->field = strmap_node_key(n);
    out->flen = strmap_node_keylen(n);
    out->value = strmap_node_val(n);
    out->vlen = n->vallen;
    out->expire_ms = n->aux.expire_ms > 0 ? n->aux.expire_ms : 0;
}

static unsigned char *
lp_find(unsigned char *lp, unsigned tag, const char *field, size_t flen)
{
    return listpack_find(lp, listpack_first(lp), field, flen, stride_of(tag) - 1);
}

/* ---- conversions ---------------------------------------------------------- */

void
hash_convert_ht(void **hp)
{
    unsigned tag = kind_of(*hp);
    if (tag == TAG_HT) {
        return;
    }
    unsigned char *lp = lp_of(*hp);
    struct hash_ht *ht = mem_alloc(sizeof(*ht));
    ht->map = strmap_create();
    ht->nvolatile = 0;
    ht->min_expire = 0;
    strmap_expand(ht->map, listpack_length(lp) / stride_of(tag));
    for (unsigned char *p = listpack_first(lp); p != NULL;) {
        struct hash_field f;
        lp_read(lp, p, tag, &f);
        struct strmap_node *n = strmap_add(ht->map, f.field, f.flen, f.value, f.vlen);
        if (f.expire_ms != 0) {
            n->aux.expire_ms = f.expire_ms;
            if (ht->nvolatile++ == 0 || f.expire_ms < ht->min_expire) {
                ht->min_expire = f.expire_ms;
            }
        }
        for (unsigned i = 0; i < stride_of(tag); i++) {
            p = listpack_next(lp, p);
        }
    }
    lp_drop(*hp);
    *hp = make(ht, TAG_HT);
}

/* Pairs to triplets (every expiry 0), the first time a listpack hash gets a
 * field expiry. */
static void
convert_lpex(void **hp)
{
    unsigned char *lp = lp_of(*hp);
    unsigned char *n = listpack_new();
    for (unsigned char *p = listpack_first(lp); p != NULL;) {
        struct hash_field f;
        lp_read(lp, p, TAG_LP, &f);
        n = listpack_append(n, f.field, f.flen);
        n = listpack_append(n, f.value, f.vlen);
        n = listpack_append_int(n, 0);
        p = listpack_next(lp, listpack_next(lp, p));
    }
    lp_drop(*hp);
    *hp = make(n, TAG_LPEX);
}

int
hash_too_long(const struct hash_limits *lim, size_t len)
{
    return len > lim->max_value;
}

/* ---- fields ---------------------------------------------------------------- */

int
hash_get(const void *h, const char *field, size_t flen, long long now,
         struct hash_field *out)
{
    unsigned tag = kind_of(h);
    if (tag == TAG_HT) {
        struct strmap_node *n = strmap_find(ht_of(h)->map, field, flen);
        if (n == NULL) {
            return 0;
        }
        node_read(n, out);
    } else {
        unsigned char *lp = lp_of(h);
        unsigned char *p = lp_find(lp, tag, field, flen);
        if (p == NULL) {
            return 0;
        }
        lp_read(lp, p, tag, out);
    }
    return !expired(out->expire_ms, now);
}

static void
ht_drop_expiry(struct hash_ht *ht, struct strmap_node *n)
{
    if (n->aux.expire_ms > 0) {
        n->aux.expire_ms = -1;
        if (--ht->nvolatile == 0) {
            ht->min_expire = 0;
        }
    }
}

int
hash_set(void **hp, const char *field, size_t flen, const char *val, size_t vlen,
         int flags, const struct hash_limits *lim)
{
    unsigned tag = kind_of(*hp);
    if (tag != TAG_HT) {
        unsigned char *lp = lp_of(*hp);
        if (hash_too_long(lim, flen) || hash_too_long(lim, vlen)
            || !listpack_safe_to_add(lp, flen + vlen)) {
            hash_convert_ht(hp);
            tag = TAG_HT;
        }
    }
    if (tag == TAG_HT) {
        struct hash_ht *ht = ht_of(*hp);
        int added;
        struct strmap_node *n = strmap_add_or_find(ht->map, field, flen, val, vlen, &added);
        if (!added) {
            if (!(flags & HASH_SET_KEEPTTL)) {
                ht_drop_expiry(ht, n);
            }
            strmap_set_value(ht->map, n, val, vlen);
        }
        return added;
    }
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_find(lp, tag, field, flen);
    if (p != NULL) {
        unsigned char *v = listpack_next(lp, p);
        if (tag_of(*hp) == TAG_INLINE
            && listpack_encoded_size(val, vlen) == listpack_element_size(v)) {
            /* Same size: rewritten in place, no copy (a counter, a
             * timestamp, a same-length value). */
            lp = listpack_replace(lp, &v, val, vlen);
            return 0;
        }
        lp = own(hp, &v);
        lp = listpack_replace(lp, &v, val, vlen);
        if (tag == TAG_LPEX && !(flags & HASH_SET_KEEPTTL)) {
            unsigned char *e = listpack_next(lp, v);
            lp = listpack_replace_int(lp, &e, 0);
        }
        *hp = make(lp, tag);
        return 0;
    }
    lp = own(hp, NULL);
    lp = listpack_append(lp, field, flen);
    lp = listpack_append(lp, val, vlen);
    if (tag == TAG_LPEX) {
        lp = listpack_append_int(lp, 0);
    }
    *hp = make(lp, tag);
    if (listpack_length(lp) / stride_of(tag) > lim->max_entries) {
        hash_convert_ht(hp);
    }
    return 1;
}

int
hash_delete(void **hp, const char *field, size_t flen)
{
    unsigned tag = kind_of(*hp);
    if (tag == TAG_HT) {
        struct hash_ht *ht = ht_of(*hp);
        struct strmap_node *n = strmap_find(ht->map, field, flen);
        if (n == NULL) {
            return 0;
        }
        ht_drop_expiry(ht, n);
        strmap_unlink_node(ht->map, n);
        return 1;
    }
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_find(lp, tag, field, flen);
    if (p == NULL) {
        return 0;
    }
    lp = own(hp, &p);
    lp = listpack_delete_n(lp, &p, stride_of(tag));
    *hp = make(lp, tag);
    return 1;
}

/* ---- field expiry ------------------------------------------------------------ */

static int
cond_allows(enum hash_expire_cond cond, long long cur, long long when)
{
    switch (cond) {
    case HASH_COND_NX: return cur == 0;
    case HASH_COND_XX: return cur != 0;
    /* No expiry counts as infinite: GT never applies, LT always does. */
    case HASH_COND_GT: return cur != 0 && when > cur;
    case HASH_COND_LT: return cur == 0 || when < cur;
    default: return 1;
    }
}

int
hash_set_expire(void **hp, const char *field, size_t flen, long long when_ms,
                enum hash_expire_cond cond, long long now)
{
    unsigned tag = kind_of(*hp);
    if (tag == TAG_HT) {
        struct hash_ht *ht = ht_of(*hp);
        struct strmap_node *n = strmap_find(ht->map, field, flen);
        if (n == NULL) {
            return -2;
        }
        long long cur = n->aux.expire_ms > 0 ? n->aux.expire_ms : 0;
        if (expired(cur, now)) {
            return -2;
        }
        if (!cond_allows(cond, cur, when_ms)) {
            return 0;
        }
        if (cur == 0) {
            ht->nvolatile++;
        }
        n->aux.expire_ms = when_ms;
        if (ht->nvolatile == 1 || ht->min_expire == 0 || when_ms < ht->min_expire) {
            ht->min_expire = when_ms;
        }
        return 1;
    }
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_find(lp, tag, field, flen);
    if (p == NULL) {
        return -2;
    }
    long long cur = tag == TAG_LPEX ? lp_int(listpack_next(lp, listpack_next(lp, p))) : 0;
    if (expired(cur, now)) {
        return -2;
    }
    if (!cond_allows(cond, cur, when_ms)) {
        return 0;
    }
    if (tag == TAG_LP) {
        convert_lpex(hp);
        tag = TAG_LPEX;
        lp = lp_of(*hp);
        p = lp_find(lp, tag, field, flen);
    }
    unsigned char *e = listpack_next(lp, listpack_next(lp, p));
    lp = listpack_replace_int(lp, &e, when_ms);
    *hp = make(lp, tag);
    return 1;
}

int
hash_persist(void **hp, const char *field, size_t flen, long long now)
{
    unsigned tag = kind_of(*hp);
    if (tag == TAG_HT) {
        struct hash_ht *ht = ht_of(*hp);
        struct strmap_node *n = strmap_find(ht->map, field, flen);
        if (n == NULL || expired(n->aux.expire_ms > 0 ? n->aux.expire_ms : 0, now)) {
            return -2;
        }
        if (n->aux.expire_ms <= 0) {
            return -1;
        }
        ht_drop_expiry(ht, n);
        return 1;
    }
    unsigned char *lp = lp_of(*hp);
    unsigned char *p = lp_find(lp, tag, field, flen);
    if (p == NULL) {
        return -2;
    }
    if (tag == TAG_LP) {
        return -1;
    }
    unsigned char *e = listpack_next(lp, listpack_next(lp, p));
    long long cur = lp_int(e);
    if (expired(cur, now)) {
        return -2;
    }
    if (cur == 0) {
        return -1;
    }
    lp = listpack_replace_int(lp, &e, 0);
    *hp = make(lp, tag);
    return 1;
}

long long
hash_field_expire(const void *h, const char *field, size_t flen, long long now)
{
    struct hash_field f;
    if (!hash_get(h, field, flen, now, &f)) {
        return -2;
    }
    return f.expire_ms != 0 ? f.expire_ms : -1;
}

size_t
hash_reclaim(void **hp, long long now, size_t max, hash_expired_fn fn, void *arg)
{
    unsigned tag = kind_of(*hp);
    size_t done = 0;
    if (now <= 0 || tag == TAG_LP) {
        return 0;
    }
    if (tag == TAG_LPEX) {
        unsigned char *lp = lp_of(*hp);
        unsigned char *p = listpack_first(lp);
        while (p != NULL && (max == 0 || done < max)) {
            struct hash_field f;
            lp_read(lp, p, tag, &f);
            if (expired(f.expire_ms, now)) {
                if (fn != NULL) {
                    fn(arg, f.field, f.flen);
                }
                lp = listpack_delete_n(lp, &p, 3);
                done++;
            } else {
                p = listpack_next(lp, listpack_next(lp, listpack_next(lp, p)));
            }
        }
        *hp = make(lp, tag);
        return done;
    }
    struct hash_ht *ht = ht_of(*hp);
    if (ht->nvolatile == 0 || ht->min_expire > now) {
        return 0;
    }
    struct strmap_iter it;
    struct strmap_node *n;
    long long min = 0;
    int stopped = 0;
    strmap_iter_init(&it, ht->map);
    while ((n = strmap_iter_next(&it)) != NULL) {
        long long exp = n->aux.expire_ms > 0 ? n->aux.expire_ms : 0;
        if (exp == 0) {
            continue;
        }
        if (exp <= now) {
            if (max != 0 && done >= max) {
                stopped = 1;
                break;
            }
            if (fn != NULL) {
                fn(arg, strmap_node_key(n), strmap_node_keylen(n));
            }
            ht_drop_expiry(ht, n);
            strmap_unlink_node(ht->map, n);
            done++;
        } else if (min == 0 || exp < min) {
            min = exp;
        }
    }
    strmap_iter_done(&it);
    if (!stopped) {
        ht->min_expire = ht->nvolatile > 0 ? min : 0;
    }
    return done;
}

/* ---- iteration -------------------------------------------------------------- */

void
hash_iter_init(struct hash_iter *it, const void *h, long long now)
{
    it->h = h;
    it->p = NULL;
    it->now = now;
    it->started = 0;
    if (kind_of(h) == TAG_HT) {
        strmap_iter_init(&it->mi, ht_of(h)->map);
    }
}

int
hash_iter_next(struct hash_iter *it, struct hash_field *out)
{
    unsigned tag = kind_of(it->h);
    if (tag == TAG_HT) {
        struct strmap_node *n;
        while ((n = strmap_iter_next(&it->mi)) != NULL) {
            node_read(n, out);
            if (!expired(out->expire_ms, it->now)) {
                return 1;
            }
        }
        return 0;
    }
    unsigned char *lp = lp_of(it->h);
    for (;;) {
        if (!it->started) {
            it->p = listpack_first(lp);
            it->started = 1;
        } else if (it->p != NULL) {
            for (unsigned i = 0; i < stride_of(tag); i++) {
                it->p = listpack_next(lp, it->p);
            }
        }
        if (it->p == NULL) {
            return 0;
        }
        lp_read(lp, it->p, tag, out);
        if (!expired(out->expire_ms, it->now)) {
            return 1;
        }
    }
}

void
hash_iter_done(struct hash_iter *it)
{
    if (kind_of(it->h) == TAG_HT) {
        strmap_iter_done(&it->mi);
    }
}

/* ---- random and scan ---------------------------------------------------------- */

size_t
hash_random_fields(const void *h, long long now, struct hash_field *out, size_t n)
{
    unsigned tag = kind_of(h);
    size_t len = hash_length(h);
    size_t got = 0;
    if (len == 0 || n == 0) {
        return 0;
    }
    if (tag == TAG_HT) {
        struct strmap *m = ht_of(h)->map;
        size_t misses = 0;
        while (got < n) {
            struct strmap_node *x = strmap_random(m);
            node_read(x, &out[got]);
            if (!expired(out[got].expire_ms, now)) {
                got++;
                misses = 0;
            } else if (++misses > 100) {
                /* Mostly expired: settle for the first live field, if any. */
                struct hash_iter it;
                hash_iter_init(&it, h, now);
                int any = hash_iter_next(&it, &out[got]);
                hash_iter_done(&it);
                if (!any) {
                    return got;
                }
                got++;
                misses = 0;
            }
        }
        return got;
    }
    unsigned char *lp = lp_of(h);
    size_t misses = 0;
    while (got < n) {
        long idx = (long)((size_t)random() % len) * (long)stride_of(tag);
        lp_read(lp, listpack_seek(lp, idx), tag, &out[got]);
        if (!expired(out[got].expire_ms, now)) {
            got++;
            misses = 0;
        } else if (++misses > 100) {
            struct hash_iter it;
            hash_iter_init(&it, h, now);
            int any = hash_iter_next(&it, &out[got]);
            hash_iter_done(&it);
            if (!any) {
                return got;
            }
            got++;
            misses = 0;
        }
    }
    return got;
}

struct scan_ctx {
    hash_scan_fn fn;
    void *arg;
    long long now;
};

static void
scan_node(const struct strmap_node *n, void *arg)
{
    struct scan_ctx *sc = arg;
    struct hash_field f;
    node_read(n, &f);
    if (!expired(f.expire_ms, sc->now)) {
        sc->fn(sc->arg, &f);
    }
}

unsigned long
hash_scan(void *h, unsigned long cursor, long long now, hash_scan_fn fn, void *arg)
{
    if (tag_of(h) == TAG_HT) {
        struct scan_ctx sc = {fn, arg, now};
        return strmap_scan(ht_of(h)->map, cursor, scan_node, &sc);
    }
    struct hash_iter it;
    struct hash_field f;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &f)) {
        fn(arg, &f);
    }
    hash_iter_done(&it);
    return 0;
}

/* ---- keeping a hash in its entry ------------------------------------------------ */

/* Whether h is a listpack of pairs small enough to live in its entry. */
static int
fits_inline(const void *h)
{
    return tag_of(h) == TAG_LP && listpack_used_bytes(lp_of(h)) <= HASH_INLINE_MAX;
}

struct entry *
hash_add(struct db *db, const char *key, size_t keylen, void *h)
{
    if (!fits_inline(h)) {
        return db_add_object(db, key, keylen, ENTRY_HASH, h, -1);
    }
    unsigned char *lp = lp_of(h);
    struct entry *e = db_add_value(db, key, keylen, ENTRY_HASH, ENTRY_ENC_INLINE, lp,
                                   listpack_used_bytes(lp));
    listpack_free(lp);
    return e;
}

struct entry *
hash_store(struct db *db, struct entry **ref, void *h)
{
    struct entry *e = *ref;
    if (tag_of(h) == TAG_INLINE) {
        /* Unchanged, or changed in place. */
        assert(obj_inline_entry(h) == e);
        return e;
    }
    if (fits_inline(h)) {
        unsigned char *lp = lp_of(h);
        e = db_set_value(db, ref, ENTRY_ENC_INLINE, lp, listpack_used_bytes(lp));
        listpack_free(lp);
        return e;
    }
    if (e->enc == ENTRY_ENC_INLINE) {
        return db_set_value(db, ref, ENTRY_ENC_AUTO, &h, sizeof(h));
    }
    entry_set_obj(e, h);
    return e;
}

/* ---- the type table ------------------------------------------------------------ */

static void
type_free(void *h)
{
    hash_free(h);
}

static size_t
type_memory(const void *h)
{
    if (tag_of(h) == TAG_INLINE) {
        return 0;   /* counted with the entry's block */
    }
    if (tag_of(h) == TAG_HT) {
        return mem_usable(ht_of(h)) + strmap_memory(ht_of(h)->map);
    }
    return listpack_bytes(lp_of(h));
}

static void track_copy(const void *h);

static void *
type_copy(const void *h)
{
    track_copy(h);
    if (kind_of(h) != TAG_HT) {
        const unsigned char *lp = lp_of(h);
        size_t used = listpack_used_bytes(lp);
        unsigned char *n = mem_alloc(used);
        memcpy(n, lp, used);
        return make(n, kind_of(h));
    }
    const struct hash_ht *src = ht_of(h);
    struct hash_ht *ht = mem_alloc(sizeof(*ht));
    ht->map = strmap_create();
    ht->nvolatile = src->nvolatile;
    ht->min_expire = src->min_expire;
    strmap_expand(ht->map, strmap_size(src->map));
    struct strmap_iter it;
    struct strmap_node *n;
    strmap_iter_init(&it, src->map);
    while ((n = strmap_iter_next(&it)) != NULL) {
        struct strmap_node *c = strmap_add(ht->map, strmap_node_key(n), strmap_node_keylen(n),
                                           strmap_node_val(n), n->vallen);
        c->aux = n->aux;
    }
    strmap_iter_done(&it);
    return make(ht, TAG_HT);
}

static const char *
type_encoding(const void *h)
{
    static const char *const names[] = {"listpack", "listpackex", "hashtable"};
    return names[kind_of(h)];
}

static size_t
type_length(const void *h)
{
    return hash_length(h);
}

/* Expired fields not yet reclaimed count too: master and replica hold the
 * same fields until the master's HDEL arrives. */
static void
type_digest(const void *h, uint64_t d[3])
{
    struct hash_iter it;
    struct hash_field f;
    hash_iter_init(&it, h, 0);
    while (hash_iter_next(&it, &f)) {
        obj_digest_unordered(d, f.field, f.flen, f.value, f.vlen);
        if (f.expire_ms != 0) {
            char buf[24];
            size_t n = util_ll2str(buf, f.expire_ms);
            obj_digest_unordered(d, f.field, f.flen, buf, n);
        }
    }
    hash_iter_done(&it);
}

/* HSET key f v ... in bounded batches, then one HPEXPIREAT per field that
 * has an expiry (expired ones too: the loader's HPEXPIREAT in the past
 * deletes them, as the master would have). */
static void
type_rewrite(const void *h, const char *key, size_t keylen, struct obj_emitter *em)
{
    struct hash_iter it;
    struct hash_field f;
    size_t nvol = 0;
    obj_emit_begin(em, "HSET", key, keylen);
    hash_iter_init(&it, h, 0);
    while (hash_iter_next(&it, &f)) {
        obj_emit_arg(em, f.field, f.flen);
        obj_emit_arg(em, f.value, f.vlen);
        obj_emit_item_end(em);
        nvol += f.expire_ms != 0;
    }
    hash_iter_done(&it);
    if (nvol == 0) {
        return;
    }
    hash_iter_init(&it, h, 0);
    while (hash_iter_next(&it, &f)) {
        if (f.expire_ms == 0) {
            continue;
        }
        char when[24];
        const char *argv[6] = {"HPEXPIREAT", key, when, "FIELDS", "1", f.field};
        size_t lens[6] = {10, keylen, util_ll2str(when, f.expire_ms), 6, 1, f.flen};
        obj_emit_command(em, 6, argv, lens);
    }
    hash_iter_done(&it);
}

const struct obj_type hash_type = {
    .name = "hash",
    .free = type_free,
    .memory = type_memory,
    .copy = type_copy,
    .encoding = type_encoding,
    .length = type_length,
    .digest = type_digest,
    .rewrite = type_rewrite,
};

/* ---- keyspace side ---------------------------------------------------------------
 * The registry of keys holding hashes with field expiries, one strmap of
 * key names per database.  A registered key may since have been deleted,
 * overwritten or renamed: the active cycle checks each one and forgets the
 * stale ones.  Keys that become such hashes by RENAME, MOVE or COPY are
 * caught by the change signal (checked only while the registry is in use). */

static struct strmap **tracked;   /* owned: per database, NULL until used */
static int tracked_ndb;
static size_t tracked_total;      /* registered keys over all databases */
static int tracked_db_next;       /* the active cycle's database and cursor */
static unsigned long tracked_cursor;

long long
hash_now(const struct db *db)
{
    return db->ks->from_master ? 0 : db->ks->now_ms;
}

void
hash_track(struct db *db, const char *key, size_t keylen, long long min_expire)
{
    if (tracked == NULL) {
        tracked_ndb = db->ks->ndb;
        tracked = mem_alloc((size_t)tracked_ndb * sizeof(*tracked));
        memset(tracked, 0, (size_t)tracked_ndb * sizeof(*tracked));
    }
    if (db->id < 0 || db->id >= tracked_ndb) {
        return;
    }
    if (tracked[db->id] == NULL) {
        tracked[db->id] = strmap_create();
    }
    int added;
    struct strmap_node *n = strmap_add_or_find(tracked[db->id], key, keylen, NULL, 0, &added);
    tracked_total += (size_t)added;
    /* aux holds a lower bound of the hash's earliest field expiry, so the
     * active cycle skips hashes with nothing due without a lookup. */
    if (added || min_expire < n->aux.expire_ms) {
        n->aux.expire_ms = min_expire;
    }
}

/* The last key written while the registry is in use: COPY signals its new
 * key before the copied object is in place, so type_copy registers this
 * one when the copy has field expiries. */
static struct db *last_db;        /* borrowed */
static char last_key[256];
static size_t last_len;           /* > sizeof(last_key): none */

static void
on_change(void *ctx, struct db *db, const char *key, size_t len,
          enum keyspace_change what)
{
    (void)ctx;
    if (tracked_total == 0 || what != KEYSPACE_WRITTEN || key == NULL) {
        return;
    }
    last_db = db;
    last_len = len <= sizeof(last_key) ? len : sizeof(last_key) + 1;
    if (len <= sizeof(last_key)) {
        memcpy(last_key, key, len);
    }
    /* A read-only peek (no expiry, stats or access bits). */
    struct entry *e = db_lookup(db, key, len,
                                LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_NOEXPIRE);
    if (e != NULL && e->type == ENTRY_HASH && hash_has_expiry(entry_obj(e))) {
        hash_track(db, key, len, hash_min_expire(entry_obj(e)));
    }
}

static void
track_copy(const void *h)
{
    if (last_db != NULL && last_len <= sizeof(last_key) && hash_has_expiry(h)) {
        hash_track(last_db, last_key, last_len, hash_min_expire(h));
    }
}

void
hash_setup(struct server *srv)
{
    keyspace_listen(&srv->ks, on_change, srv, &tracked_total);
}

struct reclaim_ctx {
    struct server *srv;
    struct db *db;
    const char *key;
    size_t keylen;
};

static void
feed_hdel(void *arg, const char *field, size_t flen)
{
    struct reclaim_ctx *rc = arg;
    struct resp_arg argv[3] = {{"HDEL", 4}, {rc->key, rc->keylen}, {field, flen}};
    repl_feed_command(rc->srv, rc->db->id, 3, argv);
}

/* Reclaim up to max expired fields of the hash at *ref; returns the ref,
 * NULL when the key went away. */
static struct entry **
reclaim_ref(struct server *srv, struct db *db, struct entry **ref, size_t max,
            size_t *count)
{
    struct entry *e = *ref;
    void *h = entry_obj(e);
    long long now = db->ks->now_ms;
    long long min = hash_min_expire(h);
    if (min == 0 || min > now) {
        return ref;
    }
    struct reclaim_ctx rc = {srv, db, entry_key(e), entry_keylen(e)};
    size_t n = hash_reclaim(&h, now, max, feed_hdel, &rc);
    e = hash_store(db, ref, h);
    if (count != NULL) {
        *count += n;
    }
    if (n == 0) {
        return ref;
    }
    /* One hexpired per key and pass, then del when it emptied (Redis 7.4's
     * events for field expiry, on access and in the active cycle alike). */
    notify_keyspace_event(srv, NOTIFY_HASH, "hexpired", entry_key(e), entry_keylen(e), db->id);
    if (hash_length(h) == 0) {
        char small[256];
        size_t len = entry_keylen(e);
        char *key = len <= sizeof(small) ? small : mem_alloc(len);
        memcpy(key, entry_key(e), len);
        db_delete_ref(db, ref);
        notify_keyspace_event(srv, NOTIFY_GENERIC, "del", key, len, db->id);
        if (key != small) {
            mem_free(key);
        }
        return NULL;
    }
    db_signal_modified(db, entry_key(e), entry_keylen(e));
    return ref;
}

struct entry **
hash_reclaim_entry(struct server *srv, struct db *db, struct entry **ref)
{
    if (ref == NULL || (*ref)->type != ENTRY_HASH || db->ks->from_master
        || !keyspace_deletes_expired(db->ks)) {
        return ref;
    }
    return reclaim_ref(srv, db, ref, 0, NULL);
}

struct active_ctx {
    char (*keys)[256];
    size_t *lens;
    size_t n, cap;
    long long now;
    size_t scanned;
};

/* Copy out the registered key names of a SCAN step whose earliest expiry
 * has come (the map cannot change under strmap_scan).  Keys over 256 bytes
 * are not collected: such a hash is reclaimed lazily only. */
static void
collect_key(const struct strmap_node *n, void *arg)
{
    struct active_ctx *ac = arg;
    ac->scanned++;
    if (ac->n < ac->cap && strmap_node_keylen(n) <= 256 && n->aux.expire_ms <= ac->now) {
        memcpy(ac->keys[ac->n], strmap_node_key(n), strmap_node_keylen(n));
        ac->lens[ac->n++] = strmap_node_keylen(n);
    }
}

/* Fields reclaimed from one hash per visit, so one huge hash cannot hold
 * the loop; the rest wait for the next visit. */
#define ACTIVE_FIELDS_PER_VISIT 10000

int
hash_active_expire(struct server *srv, long long budget_us)
{
    struct keyspace *ks = &srv->ks;
    if (tracked_total == 0 || !ks->active_expire || !keyspace_deletes_expired(ks)) {
        return 0;
    }
    long long start = util_monotonic_us();
    static char keys[64][256];
    static size_t lens[64];
    int reclaimed = 0;
    keyspace_tick(ks);
    /* At most one pass over every database's registry per call, resumed
     * from the saved cursor.  Only when the budget runs out while fields
     * were being reclaimed does the caller come back at once; scanning
     * registered hashes with nothing due just continues next tick. */
    for (int visited = 0; visited < tracked_ndb; visited++) {
        int dbid = tracked_db_next;
        struct strmap *m = tracked[dbid];
        struct db *db = &ks->dbs[dbid];
        while (m != NULL && strmap_size(m) > 0) {
            if (util_monotonic_us() - start >= budget_us) {
                return reclaimed;
            }
            struct active_ctx ac = {keys, lens, 0, 64, ks->now_ms, 0};
            unsigned long next = tracked_cursor;
            do {
                next = strmap_scan(m, next, collect_key, &ac);
            } while (next != 0 && ac.n < 32 && ac.scanned < 1024);
            for (size_t i = 0; i < ac.n; i++) {
                struct entry **ref = db_lookup_ref(db, keys[i], lens[i],
                                                   LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
                size_t count = 0;
                if (ref != NULL && (*ref)->type == ENTRY_HASH) {
                    ref = reclaim_ref(srv, db, ref, ACTIVE_FIELDS_PER_VISIT, &count);
                }
                reclaimed |= count > 0;
                long long min = ref != NULL && (*ref)->type == ENTRY_HASH
                                    ? hash_min_expire(entry_obj(*ref)) : 0;
                if (min == 0) {
                    tracked_total -= (size_t)strmap_delete(m, keys[i], lens[i]);
                } else {
                    struct strmap_node *n = strmap_find(m, keys[i], lens[i]);
                    if (n != NULL) {
                        n->aux.expire_ms = min;
                    }
                }
            }
            tracked_cursor = next;
            if (next == 0) {
                break;
            }
        }
        tracked_cursor = 0;
        tracked_db_next = (dbid + 1) % tracked_ndb;
    }
    return 0;
}
