/* strmap: the string-keyed hash table behind large sets, hashes and sorted
 * sets.  Owns its tables and nodes; grows at load factor 1, shrinks below
 * 10% fill, and moves one bucket per operation while rehashing.  Nodes do
 * not store their hash (so a 16-byte set member fits a 32-byte allocation in
 * a keys-only map, a 14-byte zset member and its score a scored one), so a
 * rehash hashes each key once more. */
#include "ds/strmap.h"

#include "core/alloc.h"
#include "core/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_INITIAL_SIZE 4
/* Shrink when fewer than 1 in STRMAP_MIN_FILL buckets would be used. */
#define STRMAP_MIN_FILL 10
/* Empty buckets a rehash step may skip before giving up for this time. */
#define STRMAP_EMPTY_VISITS 10
/* Non-empty buckets an operation moves while rehashing.  A grow at count S
 * leaves about 0.63 S non-empty buckets to move; at one per operation (as
 * Redis) the old table lives until the count reaches about 1.63 S, so a
 * growing map spends most of its life holding both tables (a 5,000,000
 * member set: 32 MB of old table on top of 64 MB).  Eight per operation
 * does the same total work in an eighth of the time. */
#define STRMAP_REHASH_STEP 8

static inline uint64_t
key_hash(const char *key, size_t len)
{
    return util_hash(key, len);
}

static inline int
rehashing(const struct strmap *m)
{
    return m->rehash_idx != -1;
}

/* Bytes of a node of kind holding klen key bytes and vlen value bytes. */
static inline size_t
node_alloc_size(int kind, size_t klen, size_t vlen)
{
    size_t off = kind == STRMAP_KEYS     ? STRMAP_KEYS_KEY_OFF
                 : kind == STRMAP_SCORED ? STRMAP_SCORED_KEY_OFF
                                         : offsetof(struct strmap_node, data);
    if (klen >= STRMAP_KLEN_LONG) {
        off += sizeof(uint32_t);
    }
    return off + klen + vlen;
}

/* Write n's header and key (n of the given kind, allocated for klen). */
static void
node_set_key(struct strmap_node *n, int kind, const char *key, size_t klen)
{
    if (klen < STRMAP_KLEN_LONG) {
        n->hdr = (uint8_t)(kind | (klen << 2));
    } else {
        uint32_t len = (uint32_t)klen;
        n->hdr = (uint8_t)(kind | (STRMAP_KLEN_LONG << 2));
        memcpy((char *)n + strmap_node_key_field(n), &len, sizeof(len));
    }
    if (klen) {
        memcpy((char *)strmap_node_key(n), key, klen);
    }
}

static void
node_free(struct strmap *m, struct strmap_node *n)
{
    m->node_bytes -= mem_usable(n);
    mem_free(n);
}

/* ==== Life cycle ==== */

struct strmap *
strmap_create(void)
{
    struct strmap *m = mem_calloc(sizeof(*m));
    m->rehash_idx = -1;
    return m;
}

struct strmap *
strmap_create_keys_only(void)
{
    struct strmap *m = strmap_create();
    m->kind = STRMAP_KEYS;
    return m;
}

struct strmap *
strmap_create_scored(void)
{
    struct strmap *m = strmap_create();
    m->kind = STRMAP_SCORED;
    return m;
}

void
strmap_destroy(struct strmap **mp)
{
    struct strmap *m = *mp;
    if (m == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        struct strmap_table *t = &m->t[i];
        for (size_t b = 0; b < t->size; b++) {
            struct strmap_node *n = t->buckets[b];
            while (n) {
                struct strmap_node *next = n->next;
                mem_free(n);
                n = next;
            }
        }
        mem_free(t->buckets);
    }
    mem_free(m);
    *mp = NULL;
}

size_t
strmap_memory(const struct strmap *m)
{
    return mem_usable(m) + mem_usable(m->t[0].buckets)
           + mem_usable(m->t[1].buckets) + m->node_bytes;
}

/* ==== Rehashing ==== */

static void shrink_if_needed(struct strmap *m);

/* Move up to n non-empty buckets from t[0] to t[1]; returns 1 while more
 * remain. */
static int
rehash(struct strmap *m, int n)
{
    int empty = n * STRMAP_EMPTY_VISITS;
    if (!rehashing(m)) {
        return 0;
    }
    while (n-- > 0 && (size_t)m->rehash_idx < m->t[0].size) {
        struct strmap_node **b = m->t[0].buckets;
        while ((size_t)m->rehash_idx < m->t[0].size
               && b[m->rehash_idx] == NULL) {
            m->rehash_idx++;
            if (--empty == 0) {
                return 1;
            }
        }
        if ((size_t)m->rehash_idx == m->t[0].size) {
            break;
        }
        struct strmap_node *e = b[m->rehash_idx];
        while (e) {
            struct strmap_node *next = e->next;
            size_t idx = key_hash(strmap_node_key(e), strmap_node_keylen(e))
                         & m->t[1].mask;
            e->next = m->t[1].buckets[idx];
            m->t[1].buckets[idx] = e;
            e = next;
        }
        b[m->rehash_idx] = NULL;
        m->rehash_idx++;
    }
    if ((size_t)m->rehash_idx >= m->t[0].size) {
        mem_free(m->t[0].buckets);
        m->t[0] = m->t[1];
        memset(&m->t[1], 0, sizeof(m->t[1]));
        m->rehash_idx = -1;
        /* Deletes during a long shrink may have left this table sparse
         * too; nothing else would notice without a cron. */
        shrink_if_needed(m);
        return rehashing(m);
    }
    return 1;
}

static inline void
rehash_step(struct strmap *m)
{
    if (rehashing(m) && m->pause_rehash == 0) {
        rehash(m, STRMAP_REHASH_STEP);
    }
}

/* Start moving to a table of the smallest power of two >= want (at least
 * STRMAP_INITIAL_SIZE).  Not while a rehash is under way. */
static void
resize_to(struct strmap *m, size_t want)
{
    size_t size = STRMAP_INITIAL_SIZE;
    struct strmap_table t;

    while (size < want && size < ((size_t)1 << 40)) {
        size <<= 1;
    }
    if (rehashing(m) || size == m->t[0].size) {
        return;
    }
    t.size = size;
    t.mask = size - 1;
    t.buckets = mem_calloc(size * sizeof(*t.buckets));
    if (m->t[0].buckets == NULL) {
        m->t[0] = t;
        return;
    }
    if (m->count == 0 && m->pause_rehash == 0) {
        mem_free(m->t[0].buckets);
        m->t[0] = t;
        return;
    }
    m->t[1] = t;
    m->rehash_idx = 0;
}

static void
expand_if_needed(struct strmap *m)
{
    if (rehashing(m)) {
        return;
    }
    if (m->t[0].size == 0) {
        resize_to(m, STRMAP_INITIAL_SIZE);
    } else if (m->count >= m->t[0].size) {
        resize_to(m, m->count + 1);
    }
}

static void
shrink_if_needed(struct strmap *m)
{
    if (rehashing(m) || m->t[0].size <= STRMAP_INITIAL_SIZE) {
        return;
    }
    if (m->count * STRMAP_MIN_FILL < m->t[0].size) {
        resize_to(m, m->count);
    }
}

void
strmap_expand(struct strmap *m, size_t n)
{
    if (rehashing(m)) {
        if (m->pause_rehash > 0) {
            return;
        }
        while (rehash(m, 100)) {
        }
    }
    if (n > m->t[0].size) {
        resize_to(m, n);
    }
}

/* ==== Lookup and update ==== */

/* The link that points at key's node (in whichever table holds it), or
 * NULL.  *hp receives the hash. */
static struct strmap_node **
find_ref(struct strmap *m, const char *key, size_t len, uint64_t h)
{
    for (int i = 0; i < 2; i++) {
        struct strmap_table *t = &m->t[i];
        if (t->size == 0) {
            break;
        }
        struct strmap_node **ref = &t->buckets[h & t->mask];
        while (*ref) {
            struct strmap_node *n = *ref;
            if (strmap_node_keylen(n) == len
                && (len == 0
                    || memcmp(strmap_node_key(n), key, len) == 0)) {
                return ref;
            }
            ref = &n->next;
        }
        if (!rehashing(m)) {
            break;
        }
    }
    return NULL;
}

/* The link that points at node n itself. */
static struct strmap_node **
node_ref(struct strmap *m, const struct strmap_node *n)
{
    uint64_t h = key_hash(strmap_node_key(n), strmap_node_keylen(n));
    for (int i = 0; i < 2; i++) {
        struct strmap_table *t = &m->t[i];
        if (t->size == 0) {
            break;
        }
        struct strmap_node **ref = &t->buckets[h & t->mask];
        while (*ref) {
            if (*ref == n) {
                return ref;
            }
            ref = &(*ref)->next;
        }
    }
    return NULL;
}

struct strmap_node *
strmap_find(struct strmap *m, const char *key, size_t len)
{
    if (m->count == 0) {
        return NULL;
    }
    rehash_step(m);
    struct strmap_node **ref = find_ref(m, key, len, key_hash(key, len));
    return ref ? *ref : NULL;
}

static struct strmap_node *
insert_new(struct strmap *m, uint64_t h, const char *key, size_t klen,
           const char *val, size_t vlen)
{
    struct strmap_node *n;
    struct strmap_table *t;

    assert(klen <= UINT32_MAX && vlen <= UINT32_MAX);
    assert(m->kind == STRMAP_FULL || vlen == 0);
    n = mem_alloc(node_alloc_size(m->kind, klen, vlen));
    node_set_key(n, m->kind, key, klen);
    if (m->kind == STRMAP_FULL) {
        n->spare1 = 0;
        n->spare2 = 0;
        n->vallen = (uint32_t)vlen;
        n->aux.expire_ms = -1;
        if (vlen) {
            memcpy((char *)strmap_node_val(n), val, vlen);
        }
    } else if (m->kind == STRMAP_SCORED) {
        strmap_node_set_score(n, 0);
    }
    m->node_bytes += mem_usable(n);

    expand_if_needed(m);
    t = rehashing(m) ? &m->t[1] : &m->t[0];
    size_t idx = h & t->mask;
    n->next = t->buckets[idx];
    t->buckets[idx] = n;
    m->count++;
    return n;
}

struct strmap_node *
strmap_add(struct strmap *m, const char *key, size_t klen, const char *val,
           size_t vlen)
{
    rehash_step(m);
    return insert_new(m, key_hash(key, klen), key, klen, val, vlen);
}

struct strmap_node *
strmap_add_or_find(struct strmap *m, const char *key, size_t klen,
                   const char *val, size_t vlen, int *added)
{
    uint64_t h = key_hash(key, klen);
    rehash_step(m);
    if (m->count > 0) {
        struct strmap_node **ref = find_ref(m, key, klen, h);
        if (ref) {
            *added = 0;
            return *ref;
        }
    }
    *added = 1;
    return insert_new(m, h, key, klen, val, vlen);
}

struct strmap_node *
strmap_set_value(struct strmap *m, struct strmap_node *n, const char *val,
                 size_t vlen)
{
    assert(m->kind == STRMAP_FULL && vlen <= UINT32_MAX);
    size_t klen = strmap_node_keylen(n);
    /* The value's offset in the node does not change with its length. */
    size_t voff = (size_t)(strmap_node_val(n) - (const char *)n);
    if (vlen != n->vallen) {
        struct strmap_node **ref = node_ref(m, n);
        assert(ref != NULL);
        /* val may point into n's own value (a caller trimming it): move
         * the bytes before a shrinking realloc can drop them. */
        size_t need = node_alloc_size(STRMAP_FULL, klen, vlen);
        m->node_bytes -= mem_usable(n);
        if (vlen < n->vallen) {
            if (vlen) {
                memmove((char *)n + voff, val, vlen);
            }
            n = mem_realloc(n, need);
        } else {
            char *copy = NULL;
            const char *old = (const char *)n;
            if (val >= old && val < old + voff + n->vallen) {
                copy = mem_alloc(vlen);
                memcpy(copy, val, vlen);
                val = copy;
            }
            n = mem_realloc(n, need);
            memcpy((char *)n + voff, val, vlen);
            mem_free(copy);
        }
        m->node_bytes += mem_usable(n);
        n->vallen = (uint32_t)vlen;
        *ref = n;
    } else if (vlen) {
        memmove((char *)n + voff, val, vlen);
    }
    rehash_step(m);
    return n;
}

int
strmap_delete(struct strmap *m, const char *key, size_t len)
{
    if (m->count == 0) {
        return 0;
    }
    rehash_step(m);
    struct strmap_node **ref = find_ref(m, key, len, key_hash(key, len));
    if (ref == NULL) {
        return 0;
    }
    struct strmap_node *n = *ref;
    *ref = n->next;
    node_free(m, n);
    m->count--;
    shrink_if_needed(m);
    return 1;
}

void
strmap_unlink_node(struct strmap *m, struct strmap_node *n)
{
    struct strmap_node **ref = node_ref(m, n);
    assert(ref != NULL);
    *ref = n->next;
    node_free(m, n);
    m->count--;
    rehash_step(m);
    shrink_if_needed(m);
}

/* ==== Random access ==== */

/* Random bits for the probes (xorshift64*, seeded once from random(), so
 * from the process's srandom): glibc's random() takes a lock and was, at
 * three calls per pick, a seventh of a SPOP (utils/prof-node.sh --fill). */
static size_t
rand_index(void)
{
    static _Thread_local uint64_t x;
    if (x == 0) {
        x = ((uint64_t)random() << 31 ^ (uint64_t)random()) | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return (size_t)((x * 0x2545F4914F6CDD1DULL) >> 1);
}

/* The bucket at r of the two tables' buckets laid end to end. */
static inline struct strmap_node **
bucket_ref(struct strmap *m, size_t r)
{
    size_t s0 = m->t[0].size;
    return r < s0 ? &m->t[0].buckets[r] : &m->t[1].buckets[r - s0];
}

static inline struct strmap_node *
bucket_at(struct strmap *m, size_t r)
{
    return *bucket_ref(m, r);
}

/* The k-th node (k < count) in bucket order from bucket lo: exact, and
 * cheap while the tables are small. */
static struct strmap_node *
nth_node(struct strmap *m, size_t lo, size_t nbuckets, size_t k)
{
    for (size_t r = lo; r < nbuckets; r++) {
        for (struct strmap_node *p = bucket_at(m, r); p; p = p->next) {
            if (k-- == 0) {
                return p;
            }
        }
    }
    return NULL;
}

/* Uniform picks.  Picking a random non-empty bucket and then a node of its
 * chain favours nodes alone in their bucket: in a 10-member set, one alone
 * came up twice as often as one of a chain of two (Redis's own suite
 * measured a chi-square of 58-101 over 1,000 picks where it wants < 40).
 * Small tables are walked to a random index instead.  Large ones use
 * rejection: a random bucket and a random slot below a bound on the chain
 * length; the slot's node is taken if the chain reaches it, so every node
 * is equally likely as long as the bound holds.  The bound is learnt from
 * the chains probed (raised whenever a longer one is seen; never lowered),
 * so only nodes in chains longer than any probed yet come up less often,
 * by bound/length.  A probe costs one bucket read and a short chain walk;
 * a pick takes buckets * bound / count probes (about 4-12 at the usual fill
 * of 0.5-1). */
#define STRMAP_PICK_WALK 128    /* buckets at or below which to walk */
#define STRMAP_PICK_BOUND 4     /* a fresh map's chain bound */
#define STRMAP_PICK_TRIES 4096  /* then settle for a non-uniform pick */
#define STRMAP_PICK_AHEAD 8     /* probes whose buckets are read at once */

struct strmap_node *
strmap_random(struct strmap *m)
{
    if (m->count == 0) {
        return NULL;
    }
    rehash_step(m);
    size_t s0 = m->t[0].size, s1 = rehashing(m) ? m->t[1].size : 0;
    size_t lo = rehashing(m) ? (size_t)m->rehash_idx : 0;
    size_t nb = s0 + s1;
    if (nb - lo <= STRMAP_PICK_WALK) {
        return nth_node(m, lo, nb, rand_index() % m->count);
    }
    if (m->pick_bound == 0) {
        m->pick_bound = STRMAP_PICK_BOUND;
    }
    size_t span = nb - lo;
    for (int tries = 0; tries < STRMAP_PICK_TRIES; tries += STRMAP_PICK_AHEAD) {
        /* Each probe's bucket is random, so reading it missed the cache,
         * one probe after the other (SPOP -P 16 on a 1,000,000-member set:
         * half the node's CPU in this function).  A batch of probes asks
         * for its buckets, then their first nodes, at once, and is then
         * tried in order: the same independent draws, so the same uniform
         * pick. */
        struct strmap_node **ref[STRMAP_PICK_AHEAD];
        for (int j = 0; j < STRMAP_PICK_AHEAD; j++) {
            /* Multiply-shift instead of two divisions per probe: rand_index
             * gives 63 bits, and a pick takes several probes. */
            uint64_t r = rand_index();
            ref[j] = bucket_ref(m, lo + (size_t)(((unsigned __int128)r * span) >> 63));
            __builtin_prefetch(ref[j]);
        }
        for (int j = 0; j < STRMAP_PICK_AHEAD; j++) {
            if (*ref[j] != NULL) {
                __builtin_prefetch(*ref[j]);
            }
        }
        for (int j = 0; j < STRMAP_PICK_AHEAD; j++) {
            struct strmap_node *p = *ref[j];
            if (p == NULL) {
                continue;
            }
            size_t bound = m->pick_bound;
            size_t k = (size_t)(((rand_index() & 0xffffffffu) * bound) >> 32);
            /* Walk only to slot k; the chain's length matters only when
             * it may pass the bound. */
            size_t pos = 0;
            while (pos < k && p != NULL) {
                p = p->next;
                pos++;
            }
            if (p == NULL) {
                continue;
            }
            if (k == bound - 1 && p->next != NULL) {
                size_t len = bound;
                for (struct strmap_node *q = p->next; q; q = q->next) {
                    len++;
                }
                m->pick_bound = len > UINT8_MAX ? UINT8_MAX : (uint8_t)len;
                continue;   /* draw again against the new bound */
            }
            return p;
        }
    }
    /* Only a very sparse table (shrinking paused by an iterator) gets
     * here: walk it. */
    return nth_node(m, lo, nb, rand_index() % m->count);
}

size_t
strmap_sample(struct strmap *m, struct strmap_node **out, size_t n)
{
    size_t got = 0;
    if (m->count == 0 || n == 0) {
        return 0;
    }
    rehash_step(m);
    int tables = rehashing(m) ? 2 : 1;
    size_t big = m->t[0].size;
    if (tables == 2 && m->t[1].size > big) {
        big = m->t[1].size;
    }
    size_t start = rand_index() & (big - 1);
    /* Each bucket of each table is visited once, so nodes are distinct. */
    for (size_t i = 0; i < big && got < n; i++) {
        size_t idx = (start + i) & (big - 1);
        for (int ti = 0; ti < tables && got < n; ti++) {
            struct strmap_table *t = &m->t[ti];
            if (idx >= t->size) {
                continue;
            }
            for (struct strmap_node *p = t->buckets[idx]; p && got < n;
                 p = p->next) {
                out[got++] = p;
            }
        }
    }
    return got;
}

/* ==== SCAN ==== */

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

/* Increment the reversed cursor within the bits of mask. */
static inline unsigned long
cursor_next(unsigned long v, unsigned long mask)
{
    v |= ~mask;
    v = rev(v);
    v++;
    return rev(v);
}

static void
scan_bucket(const struct strmap_node *n, strmap_scan_fn fn, void *arg)
{
    while (n) {
        const struct strmap_node *next = n->next;
        fn(n, arg);
        n = next;
    }
}

unsigned long
strmap_scan(struct strmap *m, unsigned long v, strmap_scan_fn fn, void *arg)
{
    if (m->count == 0) {
        return 0;
    }
    m->pause_rehash++;
    if (!rehashing(m)) {
        const struct strmap_table *t0 = &m->t[0];
        scan_bucket(t0->buckets[v & t0->mask], fn, arg);
        v = cursor_next(v, t0->mask);
    } else {
        const struct strmap_table *t0 = &m->t[0], *t1 = &m->t[1];
        if (t0->size > t1->size) {
            const struct strmap_table *tmp = t0;
            t0 = t1;
            t1 = tmp;
        }
        unsigned long m0 = t0->mask, m1 = t1->mask;
        scan_bucket(t0->buckets[v & m0], fn, arg);
        /* Then every bucket of the larger table that the smaller table's
         * bucket expands to. */
        do {
            scan_bucket(t1->buckets[v & m1], fn, arg);
            v = cursor_next(v, m1);
        } while (v & (m0 ^ m1));
    }
    m->pause_rehash--;
    return v;
}

/* ==== Iteration ==== */

void
strmap_iter_init(struct strmap_iter *it, struct strmap *m)
{
    it->m = m;
    it->table = 0;
    it->index = 0;
    it->next = NULL;
    it->started = 1;
    m->pause_rehash++;
}

struct strmap_node *
strmap_iter_next(struct strmap_iter *it)
{
    struct strmap *m = it->m;
    if (!it->started) {
        return NULL;
    }
    for (;;) {
        if (it->next) {
            struct strmap_node *n = it->next;
            it->next = n->next;
            return n;
        }
        struct strmap_table *t = &m->t[it->table];
        if (it->index < t->size) {
            it->next = t->buckets[it->index++];
            continue;
        }
        /* A rehash may have started after init (an add grew the table):
         * nothing moves while paused, so t[1] holds only new nodes. */
        if (it->table == 0 && rehashing(m)) {
            it->table = 1;
            it->index = 0;
            continue;
        }
        return NULL;
    }
}

void
strmap_iter_done(struct strmap_iter *it)
{
    if (it->started) {
        it->started = 0;
        it->m->pause_rehash--;
    }
}
