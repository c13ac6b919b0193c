/* The keyspace hash table: chained buckets of struct entry, two tables during
 * an incremental rehash (a step per operation plus time-bounded steps from
 * the cron), and Redis's reverse-binary SCAN cursor so a full iteration
 * returns every entry present throughout, even across a resize. */
#ifndef CACHELY_NODE_DICT_H
#define CACHELY_NODE_DICT_H

#include "core/util.h"
#include "node/entry.h"

#include <stddef.h>
#include <stdint.h>

struct dict_table {
    struct entry **buckets;    /* owned array; entries are owned by the dict */
    size_t size;               /* power of two, or 0 */
    size_t mask;
};

/* May a dict holding count entries in size buckets grow by a bucket array
 * of more_bytes?  Nonzero: yes. */
typedef int (*dict_expand_allowed_fn)(size_t more_bytes, size_t count, size_t size,
                                      void *arg);

struct dict {
    struct dict_table t[2];
    size_t count;              /* entries in both tables */
    long rehash_idx;           /* -1 when not rehashing */
    int pause_rehash;          /* > 0 while a safe iteration runs */
    int resize_allowed;
    dict_expand_allowed_fn expand_allowed; /* NULL: growing is always allowed */
    void *expand_arg;          /* borrowed, for expand_allowed */
};

void dict_init(struct dict *d);
/* Free every entry (via free_fn when not NULL) and the tables. */
void dict_clear(struct dict *d, void (*free_fn)(struct entry *e, void *arg),
                void *arg);

static inline size_t
dict_size(const struct dict *d)
{
    return d->count;
}

/* Hash of a key as the dict uses it (inline: every lookup and every entry
 * a rehash moves computes one). */
static inline uint64_t
dict_hash(const char *key, size_t len)
{
    return util_hash(key, len);
}
/* Find the link that points to the entry for key (so the caller can unlink
 * or replace it); NULL when absent.  Performs a rehash step. */
struct entry **dict_find_ref(struct dict *d, const char *key, size_t len,
                             uint64_t hash);
static inline struct entry *
dict_find(struct dict *d, const char *key, size_t len, uint64_t hash)
{
    struct entry **ref = dict_find_ref(d, key, len, hash);
    return ref ? *ref : NULL;
}
/* Hints for a lookup that comes soon, so that the cache misses of many
 * lookups overlap (a loop turn's reads, before their commands run): the
 * first asks for the bucket of hash, the second, called later, reads that
 * bucket and asks for the first entry in it.  Neither changes anything;
 * while the dict rehashes they do nothing. */
void dict_prefetch_bucket(const struct dict *d, uint64_t hash);
void dict_prefetch_entry(const struct dict *d, uint64_t hash);
/* Insert an entry whose key is known to be absent; hash is dict_hash() of
 * its key. */
void dict_insert(struct dict *d, struct entry *e, uint64_t hash);
/* Remove the entry at ref (from dict_find_ref) and return it. */
struct entry *dict_unlink(struct dict *d, struct entry **ref);
/* The entry at ref moved (realloc): make the table point to repl. */
static inline void
dict_replace_at(struct entry **ref, struct entry *repl)
{
    *ref = repl;
}
/* Do up to n bucket moves of an incremental rehash; returns 1 while more
 * remain.  dict_rehash_ms spends at most ms milliseconds. */
int dict_rehash(struct dict *d, int n);
int dict_rehash_ms(struct dict *d, int ms);
/* Shrink when the table is much larger than needed. */
void dict_maybe_shrink(struct dict *d);

/* SCAN: call fn for every entry in the bucket(s) the cursor names and return
 * the next cursor (0 when the iteration is complete). */
typedef void (*dict_scan_fn)(struct entry *e, void *arg);
unsigned long dict_scan(struct dict *d, unsigned long cursor, dict_scan_fn fn,
                        void *arg);
/* A random entry (fair enough for sampling); NULL when empty. */
struct entry *dict_random(struct dict *d);
/* Fill out with up to count entries found near a random position; returns
 * how many.  Used by eviction sampling. */
size_t dict_sample(struct dict *d, struct entry **out, size_t count);

/* Iterate every entry; fn may not modify the dict. */
void dict_foreach(struct dict *d, void (*fn)(struct entry *e, void *arg),
                  void *arg);

#endif
