/* TTL wheel; see expire.h. */
#include "node/expire.h"
#include "core/alloc.h"
#include "core/util.h"

#include <string.h>

static inline long long
tick_of(long long ms)
{
    return ms >> EXPIRE_SLOT_SHIFT;
}

void
expire_index_init(struct expire_index *ei, long long now_ms)
{
    ei->slots = mem_calloc(EXPIRE_SLOTS * sizeof(struct entry *));
    ei->next_tick = tick_of(now_ms);
    ei->pending = NULL;
}

void
expire_index_free(struct expire_index *ei)
{
    mem_free(ei->slots);
    ei->slots = NULL;
    ei->pending = NULL;
}

void
expire_index_reset(struct expire_index *ei, long long now_ms)
{
    memset(ei->slots, 0, EXPIRE_SLOTS * sizeof(struct entry *));
    ei->pending = NULL;
    ei->next_tick = tick_of(now_ms);
}

static void
list_push(struct entry **head, struct entry *e)
{
    struct entry_ttl *t = entry_ttl(e);
    t->ttl_next = *head;
    t->ttl_pprev = head;
    if (*head) {
        entry_ttl(*head)->ttl_pprev = &t->ttl_next;
    }
    *head = e;
}

void
expire_index_add(struct expire_index *ei, struct entry *e)
{
    long long tick = tick_of(entry_expire(e));
    /* A time already walked past goes to the next slot to be walked, or it
     * would wait a whole turn. */
    if (tick < ei->next_tick) {
        tick = ei->next_tick;
    }
    list_push(&ei->slots[tick & (EXPIRE_SLOTS - 1)], e);
}

void
expire_index_remove(struct entry *e)
{
    struct entry_ttl *t = entry_ttl(e);
    *t->ttl_pprev = t->ttl_next;
    if (t->ttl_next) {
        entry_ttl(t->ttl_next)->ttl_pprev = t->ttl_pprev;
    }
    t->ttl_next = NULL;
    t->ttl_pprev = NULL;
}

void
expire_index_moved(struct entry *e)
{
    struct entry_ttl *t = entry_ttl(e);
    *t->ttl_pprev = e;
    if (t->ttl_next) {
        entry_ttl(t->ttl_next)->ttl_pprev = &t->ttl_next;
    }
}

int
expire_index_cycle(struct expire_index *ei, long long now_ms,
                   long long budget_us, expire_fn fn, void *arg,
                   size_t *visited)
{
    long long start = util_monotonic_us();
    long long now_tick = tick_of(now_ms);
    size_t n = 0;

    /* After a long stall, one turn covers every slot. */
    if (now_tick - ei->next_tick > EXPIRE_SLOTS) {
        ei->next_tick = now_tick - EXPIRE_SLOTS;
    }
    for (;;) {
        if (ei->pending == NULL) {
            /* Walk a slot only once its 64 ms window has fully passed. */
            if (ei->next_tick >= now_tick) {
                break;
            }
            struct entry **slot = &ei->slots[ei->next_tick & (EXPIRE_SLOTS - 1)];
            ei->pending = *slot;
            *slot = NULL;
            if (ei->pending) {
                entry_ttl(ei->pending)->ttl_pprev = &ei->pending;
            }
            ei->next_tick++;
            continue;
        }
        struct entry *e = ei->pending;
        n++;
        if (entry_expire(e) <= now_ms) {
            fn(e, arg);
        } else {
            expire_index_remove(e);
            expire_index_add(ei, e);
        }
        if ((n & 31) == 0 && util_monotonic_us() - start >= budget_us) {
            break;
        }
    }
    if (visited) {
        *visited = n;
    }
    return ei->pending != NULL || ei->next_tick < now_tick;
}
