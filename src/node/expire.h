/* The TTL index: a wheel of 4096 slots of 64 ms, each an intrusive list of
 * volatile entries linked through their entry_ttl block.  The active expiry
 * cycle walks the slots whose time has passed, so reclaiming N expired keys
 * costs O(N) instead of random sampling; entries whose expiry lies a wheel
 * turn or more ahead are put back and seen again one turn later.  Deleting
 * an entry from the index is O(1) through its pprev link. */
#ifndef CACHELY_NODE_EXPIRE_H
#define CACHELY_NODE_EXPIRE_H

#include "node/entry.h"

#include <stddef.h>

#define EXPIRE_SLOT_SHIFT 6         /* 64 ms per slot */
#define EXPIRE_SLOTS 4096           /* one turn: about 262 s */

struct expire_index {
    struct entry **slots;           /* owned array of list heads */
    long long next_tick;            /* first tick not yet walked */
    struct entry *pending;          /* detached slot being walked */
};

void expire_index_init(struct expire_index *ei, long long now_ms);
void expire_index_free(struct expire_index *ei);
/* Forget every entry (the caller frees them): used by FLUSHDB. */
void expire_index_reset(struct expire_index *ei, long long now_ms);
/* Link a volatile entry whose expire_ms is set. */
void expire_index_add(struct expire_index *ei, struct entry *e);
/* Unlink a volatile entry. */
void expire_index_remove(struct entry *e);
/* The entry was reallocated: repoint its neighbours at the new address. */
void expire_index_moved(struct entry *e);

/* Walk due slots, calling expire_fn for each entry whose time has come
 * (expire_fn must delete it, which unlinks it).  Stops when caught up with
 * now_ms or when budget_us has been spent; returns 1 if work remains. */
typedef void (*expire_fn)(struct entry *e, void *arg);
int expire_index_cycle(struct expire_index *ei, long long now_ms,
                       long long budget_us, expire_fn fn, void *arg,
                       size_t *visited);

#endif
