/* strmap: a hash table of binary-safe string keys, each with an optional
 * string value and hash-field expiry (FULL), a score (SCORED) or nothing
 * else (KEYS), for the
 * large encodings of sets, hashes and sorted sets.  Chained buckets in
 * power-of-two tables, incremental rehash (one bucket step per operation,
 * paused while an iterator is active), shrink when sparse, and Redis's
 * reverse-binary SCAN cursor so a full SCAN returns every element present
 * throughout, even across resizes.  Keys are hashed with util_hash (seeded
 * at startup).  Every node and table is mem_alloc'd, so it is accounted.
 *
 * A node is ONE allocation holding the key and value bytes.  Node addresses
 * are stable for the node's life EXCEPT across strmap_set_value, which may
 * move it (it returns the new address); the zset B+tree may therefore point
 * at SCORED nodes. */
#ifndef CACHELY_DS_STRMAP_H
#define CACHELY_DS_STRMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Nodes come in three kinds, one per map (strmap_create*), each ONE
 * allocation whose size depends on the kind:
 *   FULL    (hashes)     next | hdr | vallen | aux.expire_ms | key | value:
 *                        24 bytes + key + value;
 *   KEYS    (sets)       next | hdr | key: 9 bytes + key, so a 7-digit
 *                        integer member fits a 16-byte block and a 16-byte
 *                        string a 32-byte one (a full node: 32 and 48);
 *   SCORED  (sorted sets) next | hdr | score | key: 17 bytes + key, so a
 *                        15-byte member and its score fit 32 bytes (a full
 *                        node would take 48).
 * hdr holds the kind and the key length; a key of STRMAP_KLEN_LONG bytes or
 * more has its length as a u32 just before its bytes.  Only FULL nodes have
 * the vallen and aux fields; read keys with strmap_node_key/_keylen (every
 * kind) and scores with strmap_node_score (SCORED nodes). */
enum strmap_kind {
    STRMAP_FULL = 0,
    STRMAP_KEYS = 1,
    STRMAP_SCORED = 2,
};

#define STRMAP_KLEN_LONG 0x3Fu      /* hdr's key length field is 6 bits */

struct strmap_node {
    struct strmap_node *next;   /* borrowed: bucket chain (owned by the map) */
    uint8_t hdr;                /* kind | key length << 2 (or LONG << 2) */
    /* ---- FULL nodes only from here on (KEYS / SCORED ones end above) */
    uint8_t spare1;
    uint16_t spare2;
    uint32_t vallen;
    union {
        long long expire_ms;    /* hash field expiry, -1 = none */
    } aux;                      /* strmap_add sets expire_ms = -1 */
    char data[];                /* key bytes, then value bytes (no NULs added) */
};

#define STRMAP_KEYS_KEY_OFF 9       /* where a KEYS node's key (or u32 length) starts */
#define STRMAP_SCORE_OFF 9          /* a SCORED node's score (unaligned) */
#define STRMAP_SCORED_KEY_OFF 17

struct strmap_table {
    struct strmap_node **buckets; /* owned array; nodes owned by the map */
    size_t size;                  /* power of two, or 0 */
    size_t mask;
};

/* Fields are private to strmap.c; they are visible only so that iterators
 * live on the stack and strmap_size inlines. */
struct strmap {
    struct strmap_table t[2];   /* t[1] in use only while rehashing */
    size_t count;               /* nodes in both tables */
    size_t node_bytes;          /* sum of mem_usable over nodes */
    long rehash_idx;            /* next t[0] bucket to move; -1 when not */
    int pause_rehash;           /* > 0 while iterators are active */
    uint8_t kind;               /* enum strmap_kind of every node */
    uint8_t pick_bound;         /* strmap_random's chain length bound */
};

/* An iterator over every node.  While one is active (between
 * strmap_iter_init and strmap_iter_done) rehashing is paused, so the caller
 * may delete the node it was just given (strmap_unlink_node) or add nodes
 * (which may or may not be returned); it may not delete other nodes or call
 * strmap_set_value.  Every node present throughout is returned exactly once. */
struct strmap_iter {
    struct strmap *m;           /* borrowed */
    int table;
    size_t index;
    struct strmap_node *next;   /* borrowed: the node after the returned one */
    int started;
};

/* ---- Life cycle and size ---- */

/* An empty map (no table until the first add).  Never NULL. */
struct strmap *strmap_create(void);
/* An empty map of KEYS nodes, for sets: no value, no aux (a 16-byte member
 * fits a 32-byte allocation, not 48).  strmap_add / strmap_add_or_find take
 * val NULL and vlen 0; strmap_set_value may not be called; n->vallen and
 * n->aux do not exist. */
struct strmap *strmap_create_keys_only(void);
/* An empty map of SCORED nodes, for sorted sets: a key and a double (set
 * it with strmap_node_set_score; a new node's score is 0), no value; same
 * restrictions as keys-only maps. */
struct strmap *strmap_create_scored(void);
/* Free every node and the map; sets *mp = NULL.  NULL *mp is fine. */
void strmap_destroy(struct strmap **mp);
/* Number of nodes, O(1). */
static inline size_t
strmap_size(const struct strmap *m)
{
    return m->count;
}
/* Bytes allocated: the map, its tables and every node (allocator-usable
 * sizes), O(1). */
size_t strmap_memory(const struct strmap *m);
/* Presize so that n nodes fit without a further grow (starts an incremental
 * rehash when the map is not empty).  No-op when already large enough. */
void strmap_expand(struct strmap *m, size_t n);

/* ---- Node accessors ---- */

static inline enum strmap_kind
strmap_node_kind(const struct strmap_node *n)
{
    return (enum strmap_kind)(n->hdr & 3u);
}
/* Offset of the key length field (long keys) or the key (short ones). */
static inline size_t
strmap_node_key_field(const struct strmap_node *n)
{
    switch (strmap_node_kind(n)) {
    case STRMAP_KEYS:
        return STRMAP_KEYS_KEY_OFF;
    case STRMAP_SCORED:
        return STRMAP_SCORED_KEY_OFF;
    default:
        return offsetof(struct strmap_node, data);
    }
}
static inline size_t
strmap_node_keylen(const struct strmap_node *n)
{
    unsigned k = (unsigned)(n->hdr >> 2);
    uint32_t len;
    if (k < STRMAP_KLEN_LONG) {
        return k;
    }
    memcpy(&len, (const char *)n + strmap_node_key_field(n), sizeof(len));
    return len;
}
static inline const char *
strmap_node_key(const struct strmap_node *n)
{
    size_t off = strmap_node_key_field(n);
    if ((n->hdr >> 2) == STRMAP_KLEN_LONG) {
        off += sizeof(uint32_t);
    }
    return (const char *)n + off;
}
/* The value bytes (n->vallen of them; FULL nodes only). */
static inline const char *
strmap_node_val(const struct strmap_node *n)
{
    return strmap_node_key(n) + strmap_node_keylen(n);
}
/* A SCORED node's score. */
static inline double
strmap_node_score(const struct strmap_node *n)
{
    double d;
    memcpy(&d, (const char *)n + STRMAP_SCORE_OFF, sizeof(d));
    return d;
}
static inline void
strmap_node_set_score(struct strmap_node *n, double d)
{
    memcpy((char *)n + STRMAP_SCORE_OFF, &d, sizeof(d));
}

/* ---- Lookup and update (each performs a rehash step unless paused) ---- */

/* The node for key, or NULL. */
struct strmap_node *strmap_find(struct strmap *m, const char *key,
                                size_t len);
/* Add key (which must be absent) with value val/vlen (vlen 0 and val NULL
 * for no value); returns the new node, owned by the map.  aux.expire_ms is
 * -1. */
struct strmap_node *strmap_add(struct strmap *m, const char *key, size_t klen,
                               const char *val, size_t vlen);
/* One hash and one chain walk for SADD / HSET: when key is present return
 * its node unchanged with *added = 0; otherwise add it as strmap_add does
 * and set *added = 1. */
struct strmap_node *strmap_add_or_find(struct strmap *m, const char *key,
                                       size_t klen, const char *val,
                                       size_t vlen, int *added);
/* Give node n (in m) the value val/vlen; returns the node, which may have
 * moved (the old pointer is then invalid).  aux is kept. */
struct strmap_node *strmap_set_value(struct strmap *m, struct strmap_node *n,
                                     const char *val, size_t vlen);
/* Delete and free the node for key; returns 1 when it existed, else 0. */
int strmap_delete(struct strmap *m, const char *key, size_t len);
/* Delete and free node n, which must be in m. */
void strmap_unlink_node(struct strmap *m, struct strmap_node *n);

/* ---- Random access and SCAN ---- */

/* A random node, NULL when empty.  Every node is equally likely (exactly
 * in tables of up to 128 buckets; in larger ones, except nodes in chains
 * longer than any strmap_random has probed yet, which come up a little
 * less often): for SRANDMEMBER / SPOP / HRANDFIELD / ZRANDMEMBER. */
struct strmap_node *strmap_random(struct strmap *m);
/* Fill out with up to n distinct nodes read from consecutive buckets from a
 * random position; returns how many (min(n, size)). */
size_t strmap_sample(struct strmap *m, struct strmap_node **out, size_t n);

/* SCAN: call fn for every node in the bucket(s) the cursor names and return
 * the next cursor; 0 when the iteration is complete.  Start with 0.  Every
 * node present from the first call to the last is returned at least once;
 * some may be returned twice after a resize.  fn must not modify the map. */
typedef void (*strmap_scan_fn)(const struct strmap_node *n, void *arg);
unsigned long strmap_scan(struct strmap *m, unsigned long cursor,
                          strmap_scan_fn fn, void *arg);

/* ---- Iteration (see struct strmap_iter) ---- */

void strmap_iter_init(struct strmap_iter *it, struct strmap *m);
/* The next node, or NULL when done. */
struct strmap_node *strmap_iter_next(struct strmap_iter *it);
/* End the iteration (resumes rehashing).  Must be called, also when the
 * caller stops early; calling it twice is harmless. */
void strmap_iter_done(struct strmap_iter *it);

#endif
