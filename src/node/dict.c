/* Chained hash table with incremental rehash.  Entries carry no hash (4
 * bytes an entry that would often push it into the next jemalloc class):
 * chain walks compare the key's length, then its bytes, which for a short
 * key sit in the cache line the length was read from, and a rehash hashes
 * each key it moves again: about one more hash per key a growing table
 * holds, since each doubling moves the keys inserted before it. */
#include "node/dict.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/lazyfree.h"

#include <stdlib.h>
#include <string.h>

#define DICT_INITIAL_SIZE 4
#define DICT_FORCE_RATIO 5

void
dict_init(struct dict *d)
{
    memset(d, 0, sizeof(*d));
    d->rehash_idx = -1;
    d->resize_allowed = 1;
}

/* The bucket arrays come from mem_calloc_large, so a table a resize
 * leaves behind goes back to the kernel instead of staying resident. */
static void
table_free(struct dict_table *t)
{
    mem_free_large(t->buckets, t->size * sizeof(struct entry *));
    memset(t, 0, sizeof(*t));
}

void
dict_clear(struct dict *d, void (*free_fn)(struct entry *e, void *arg),
           void *arg)
{
    for (int i = 0; i < 2; i++) {
        struct dict_table *t = &d->t[i];
        for (size_t b = 0; b < t->size && d->count > 0; b++) {
            struct entry *e = t->buckets[b];
            while (e) {
                struct entry *next = e->next;
                if (free_fn) {
                    free_fn(e, arg);
                } else {
                    mem_free(e);
                }
                d->count--;
                e = next;
            }
        }
        table_free(t);
    }
    d->rehash_idx = -1;
}

static inline int
dict_is_rehashing(const struct dict *d)
{
    return d->rehash_idx != -1;
}

int
dict_rehash(struct dict *d, int n)
{
    int empty_visits = n * 10;
    if (!dict_is_rehashing(d)) {
        return 0;
    }
    while (n-- && (size_t)d->rehash_idx < d->t[0].size) {
        while ((size_t)d->rehash_idx < d->t[0].size
               && d->t[0].buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0) {
                return 1;
            }
        }
        if ((size_t)d->rehash_idx == d->t[0].size) {
            break;
        }
        struct entry *e = d->t[0].buckets[d->rehash_idx];
        while (e) {
            struct entry *next = e->next;
            size_t idx = dict_hash(entry_key(e), entry_keylen(e)) & d->t[1].mask;
            e->next = d->t[1].buckets[idx];
            d->t[1].buckets[idx] = e;
            e = next;
        }
        d->t[0].buckets[d->rehash_idx] = NULL;
        d->rehash_idx++;
    }
    if ((size_t)d->rehash_idx >= d->t[0].size) {
        /* Unmapping a big table takes milliseconds: not inside a command. */
        lazyfree_large(d->t[0].buckets, d->t[0].size * sizeof(struct entry *));
        d->t[0] = d->t[1];
        memset(&d->t[1], 0, sizeof(d->t[1]));
        d->rehash_idx = -1;
        return 0;
    }
    return 1;
}

int
dict_rehash_ms(struct dict *d, int ms)
{
    long long start = util_monotonic_us();
    if (d->pause_rehash > 0) {
        return dict_is_rehashing(d);
    }
    while (dict_rehash(d, 100)) {
        if (util_monotonic_us() - start > ms * 1000LL) {
            return 1;
        }
    }
    return 0;
}

static void
rehash_step(struct dict *d)
{
    if (d->pause_rehash == 0) {
        dict_rehash(d, 1);
    }
}

static void
dict_resize_to(struct dict *d, size_t want)
{
    size_t size = DICT_INITIAL_SIZE;
    struct dict_table n;
    while (size < want && size < ((size_t)1 << 32)) {
        size <<= 1;
    }
    if (dict_is_rehashing(d) || size == d->t[0].size) {
        return;
    }
    n.size = size;
    n.mask = size - 1;
    n.buckets = mem_calloc_large(size * sizeof(struct entry *));
    if (d->t[0].buckets == NULL) {
        d->t[0] = n;
        return;
    }
    d->t[1] = n;
    d->rehash_idx = 0;
}

static void
dict_expand_if_needed(struct dict *d)
{
    if (dict_is_rehashing(d)) {
        return;
    }
    if (d->t[0].size == 0) {
        dict_resize_to(d, DICT_INITIAL_SIZE);
        return;
    }
    if (d->count >= d->t[0].size
        && (d->resize_allowed || d->count / d->t[0].size > DICT_FORCE_RATIO)) {
        if (d->expand_allowed != NULL
            && !d->expand_allowed(d->t[0].size * 2 * sizeof(struct entry *), d->count,
                                  d->t[0].size, d->expand_arg)) {
            return;
        }
        dict_resize_to(d, d->count + 1);
    }
}

void
dict_maybe_shrink(struct dict *d)
{
    size_t used = dict_size(d);
    if (dict_is_rehashing(d) || !d->resize_allowed
        || d->t[0].size <= DICT_INITIAL_SIZE) {
        return;
    }
    if (used * 10 < d->t[0].size) {
        dict_resize_to(d, used < DICT_INITIAL_SIZE ? DICT_INITIAL_SIZE : used);
    }
}

static inline uint64_t
load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Key bytes equal, for two keys of length len.  From 8 to 32 bytes (most
 * keys) overlapping word loads decide it without a call: a chain's other
 * entries are rejected here now that entries keep no hash to compare. */
static inline int
key_equal(const char *a, const char *b, size_t len)
{
    if (len >= 8 && len <= 16) {
        return ((load64(a) ^ load64(b)) | (load64(a + len - 8) ^ load64(b + len - 8))) == 0;
    }
    if (len > 16 && len <= 32) {
        return ((load64(a) ^ load64(b)) | (load64(a + 8) ^ load64(b + 8))
                | (load64(a + len - 16) ^ load64(b + len - 16))
                | (load64(a + len - 8) ^ load64(b + len - 8)))
               == 0;
    }
    return memcmp(a, b, len) == 0;
}

struct entry **
dict_find_ref(struct dict *d, const char *key, size_t len, uint64_t hash)
{
    if (dict_size(d) == 0) {
        return NULL;
    }
    if (dict_is_rehashing(d)) {
        rehash_step(d);
    }
    for (int i = 0; i < 2; i++) {
        struct dict_table *t = &d->t[i];
        if (t->size == 0) {
            break;
        }
        struct entry **ref = &t->buckets[hash & t->mask];
        while (*ref) {
            struct entry *e = *ref;
            if (entry_keylen(e) == len && key_equal(entry_key(e), key, len)) {
                return ref;
            }
            ref = &e->next;
        }
        if (!dict_is_rehashing(d)) {
            break;
        }
    }
    return NULL;
}

void
dict_prefetch_bucket(const struct dict *d, uint64_t hash)
{
    const struct dict_table *t = &d->t[0];
    if (t->size > 0 && !dict_is_rehashing(d)) {
        __builtin_prefetch(&t->buckets[hash & t->mask]);
    }
}

void
dict_prefetch_entry(const struct dict *d, uint64_t hash)
{
    const struct dict_table *t = &d->t[0];
    if (t->size > 0 && !dict_is_rehashing(d)) {
        const struct entry *e = t->buckets[hash & t->mask];
        if (e != NULL) {
            /* The lengths and the key's first bytes: what the lookup
             * compares first. */
            __builtin_prefetch(e);
        }
    }
}

void
dict_insert(struct dict *d, struct entry *e, uint64_t hash)
{
    struct dict_table *t;
    if (dict_is_rehashing(d)) {
        rehash_step(d);
    }
    dict_expand_if_needed(d);
    t = dict_is_rehashing(d) ? &d->t[1] : &d->t[0];
    size_t idx = hash & t->mask;
    e->next = t->buckets[idx];
    t->buckets[idx] = e;
    d->count++;
}

struct entry *
dict_unlink(struct dict *d, struct entry **ref)
{
    struct entry *e = *ref;
    *ref = e->next;
    e->next = NULL;
    d->count--;
    return e;
}

static unsigned long
rev(unsigned long v)
{
    unsigned long s = 8 * sizeof(v);
    unsigned long mask = ~0UL;
    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

static void
scan_bucket(struct entry *e, dict_scan_fn fn, void *arg)
{
    while (e) {
        struct entry *next = e->next;
        fn(e, arg);
        e = next;
    }
}

unsigned long
dict_scan(struct dict *d, unsigned long v, dict_scan_fn fn, void *arg)
{
    struct dict_table *t0, *t1;
    unsigned long m0, m1;

    if (dict_size(d) == 0) {
        return 0;
    }
    d->pause_rehash++;
    if (!dict_is_rehashing(d)) {
        t0 = &d->t[0];
        m0 = t0->mask;
        scan_bucket(t0->buckets[v & m0], fn, arg);
        /* Set the unmasked bits so incrementing the reversed cursor
         * operates on the masked bits only. */
        v |= ~m0;
        v = rev(v);
        v++;
        v = rev(v);
    } else {
        t0 = &d->t[0];
        t1 = &d->t[1];
        if (t0->size > t1->size) {
            struct dict_table *tmp = t0;
            t0 = t1;
            t1 = tmp;
        }
        m0 = t0->mask;
        m1 = t1->mask;
        scan_bucket(t0->buckets[v & m0], fn, arg);
        /* Visit every bucket of the larger table that expands from the
         * smaller table's bucket. */
        do {
            scan_bucket(t1->buckets[v & m1], fn, arg);
            v |= ~m1;
            v = rev(v);
            v++;
            v = rev(v);
        } while (v & (m0 ^ m1));
    }
    d->pause_rehash--;
    return v;
}

struct entry *
dict_random(struct dict *d)
{
    struct entry *out;
    if (dict_sample(d, &out, 1) == 0) {
        return NULL;
    }
    return out;
}

size_t
dict_sample(struct dict *d, struct entry **out, size_t count)
{
    size_t got = 0, tries = 0;
    if (dict_size(d) == 0 || count == 0) {
        return 0;
    }
    if (dict_is_rehashing(d)) {
        rehash_step(d);
    }
    while (got < count && tries < count * 20 + 100) {
        tries++;
        int ti = dict_is_rehashing(d) && (random() & 1) ? 1 : 0;
        struct dict_table *t = &d->t[ti];
        if (t->size == 0) {
            continue;
        }
        size_t idx = ((size_t)random() << 16 ^ (size_t)random()) & t->mask;
        if (ti == 0 && dict_is_rehashing(d) && idx < (size_t)d->rehash_idx) {
            continue;
        }
        struct entry *e = t->buckets[idx];
        if (e == NULL) {
            continue;
        }
        /* Pick one element of the chain at random so long chains are not
         * biased toward their heads. */
        size_t len = 0;
        for (struct entry *p = e; p; p = p->next) {
            len++;
        }
        size_t k = (size_t)random() % len;
        while (k--) {
            e = e->next;
        }
        out[got++] = e;
    }
    return got;
}

void
dict_foreach(struct dict *d, void (*fn)(struct entry *e, void *arg), void *arg)
{
    d->pause_rehash++;
    for (int i = 0; i < 2; i++) {
        struct dict_table *t = &d->t[i];
        for (size_t b = 0; b < t->size; b++) {
            scan_bucket(t->buckets[b], fn, arg);
        }
    }
    d->pause_rehash--;
}
