/* maxmemory enforcement.  Like Redis, eviction is approximated: each round
 * samples a few keys per database and feeds them to a small pool of the best
 * candidates seen so far, which survives between calls, so the key evicted
 * is close to the one an exact LRU/LFU/TTL order would pick at a fraction
 * of the cost.  The random policies need no pool. */
#include "node/evict.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/dict.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/server.h"

#include <stdlib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* Redis's sizes: 16 candidates, keys up to 255 bytes copied inline so that
 * filling the pool does not allocate. */
#define EVICT_POOL_SIZE 16
#define EVICT_KEY_CACHE 255
#define EVICT_MAX_SAMPLES 64
/* Work one call may do before letting the command run (Redis spends 500 us
 * at the default maxmemory-eviction-tenacity).  The next command continues
 * where this one stopped. */

struct evict_candidate {
    unsigned long long score;       /* higher = better to evict; 0 = empty */
    int dbid;
    size_t keylen;
    char *key;                      /* cached, or owned heap copy */
    char cached[EVICT_KEY_CACHE];
};

/* The pool is sorted by ascending score: the best candidate is the last
 * used slot.  Scores of different policies do not compare, so the pool is
 * emptied when the policy changes. */
struct evict_pool {
    struct evict_candidate c[EVICT_POOL_SIZE];
    int used;
    int policy;                     /* enum maxmemory_policy of the scores */
};

static struct evict_pool pool = {.policy = -1};
static int next_random_db;

static int
policy_is_volatile(int policy)
{
    return policy == MAXMEMORY_VOLATILE_LRU || policy == MAXMEMORY_VOLATILE_LFU
           || policy == MAXMEMORY_VOLATILE_RANDOM || policy == MAXMEMORY_VOLATILE_TTL;
}

static int
policy_is_random(int policy)
{
    return policy == MAXMEMORY_ALLKEYS_RANDOM || policy == MAXMEMORY_VOLATILE_RANDOM;
}

/* The buffers that carry writes elsewhere are left out of what maxmemory
 * compares, as Redis leaves them out (freeMemoryGetNotCountedMemory): a
 * stalled replica's output, or the AOF buffer, grows with the DELs each
 * eviction propagates, so counting them would feed more eviction until
 * the dataset is empty.  The backlog is left out too: it is allocated whole
 * at its configured size when the first replica attaches, and a dataset
 * sized to maxmemory should not lose keys for it (Redis 7.0 counts the
 * backlog up to repl-backlog-size; its buffers are shared with replicas). */
void
evict_uncounted(const struct server *srv, struct evict_uncounted *u)
{
    const struct repl *r = &srv->repl;
    const struct persist *ps = &srv->persist;

    memset(u, 0, sizeof(*u));
    for (size_t i = 0; i < r->nreplicas; i++) {
        u->replica_buffers += r->replicas[i]->reply_alloc;
    }
    if (r->backlog != NULL) {
        u->backlog = mem_usable(r->backlog);
    }
    if (ps->aof_buf != NULL) {
        u->aof_buffers += mem_usable(ps->aof_buf);
    }
    if (ps->rw_buf != NULL) {
        u->aof_buffers += mem_usable(ps->rw_buf);
    }
    u->total = u->replica_buffers + u->backlog + u->aof_buffers;
}

unsigned long long
evict_used_memory(const struct server *srv)
{
    struct evict_uncounted u;
    size_t used = mem_used();
    evict_uncounted(srv, &u);
    return used > u.total ? used - u.total : 0;
}

int
evict_dict_expand_allowed(size_t more_bytes, size_t count, size_t size, void *arg)
{
    const struct server *srv = arg;
    unsigned long long limit = srv->cfg.maxmemory;
    if (limit == 0 || (double)count / (double)size > 1.618) {
        return 1;
    }
    return evict_used_memory(srv) + more_bytes <= limit;
}

/* ---- the candidate pool ------------------------------------------------ */

static void
candidate_clear(struct evict_candidate *cand)
{
    if (cand->key != NULL && cand->key != cand->cached) {
        mem_free(cand->key);
    }
    cand->key = NULL;
    cand->keylen = 0;
    cand->score = 0;
}

static void
pool_reset(int policy)
{
    for (int i = 0; i < pool.used; i++) {
        candidate_clear(&pool.c[i]);
    }
    pool.used = 0;
    pool.policy = policy;
}

/* Remove the candidate at i, closing the gap. */
static void
pool_remove(int i)
{
    candidate_clear(&pool.c[i]);
    /* The cached buffer moves with the struct, so re-point key after the
     * shift for candidates that use it. */
    for (int j = i; j < pool.used - 1; j++) {
        int cached = pool.c[j + 1].key == pool.c[j + 1].cached;
        pool.c[j] = pool.c[j + 1];
        if (cached) {
            pool.c[j].key = pool.c[j].cached;
        }
    }
    pool.used--;
    pool.c[pool.used].key = NULL;
    pool.c[pool.used].score = 0;
}

static int
pool_contains(int dbid, const char *key, size_t len)
{
    for (int i = 0; i < pool.used; i++) {
        if (pool.c[i].dbid == dbid && pool.c[i].keylen == len
            && memcmp(pool.c[i].key, key, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Offer a sampled entry: it goes in when the pool has room or when it beats
 * the worst candidate, which then drops out. */
static void
pool_offer(int dbid, struct entry *e, unsigned long long score)
{
    int pos;
    const char *key = entry_key(e);

    if (pool.used == EVICT_POOL_SIZE && score <= pool.c[0].score) {
        return;
    }
    if (pool_contains(dbid, key, entry_keylen(e))) {
        return;
    }
    /* First slot whose score is >= ours: we go just before it. */
    for (pos = 0; pos < pool.used && pool.c[pos].score < score; pos++) {
    }
    if (pool.used == EVICT_POOL_SIZE) {
        /* Full: drop the worst (slot 0) and shift left what precedes us. */
        pool_remove(0);
        pos--;
    }
    for (int j = pool.used; j > pos; j--) {
        int cached = pool.c[j - 1].key == pool.c[j - 1].cached;
        pool.c[j] = pool.c[j - 1];
        if (cached) {
            pool.c[j].key = pool.c[j].cached;
        }
    }
    struct evict_candidate *cand = &pool.c[pos];
    cand->score = score;
    cand->dbid = dbid;
    cand->keylen = entry_keylen(e);
    cand->key = entry_keylen(e) <= EVICT_KEY_CACHE ? cand->cached : mem_alloc(entry_keylen(e));
    memcpy(cand->key, key, entry_keylen(e));
    pool.used++;
}

/* Higher is a better victim.  Never 0, which marks an empty slot. */
static unsigned long long
entry_score(const struct keyspace *ks, int policy, struct entry *e)
{
    switch (policy) {
    case MAXMEMORY_ALLKEYS_LFU:
    case MAXMEMORY_VOLATILE_LFU:
        return 256 - db_lfu_counter(ks, e);
    case MAXMEMORY_VOLATILE_TTL:
        /* Sooner expiry, higher score. */
        return ~0ULL - (unsigned long long)entry_expire(e);
    default:
        return (unsigned long long)db_idle_ms(ks, e) + 1;
    }
}

/* ---- sampling ---------------------------------------------------------- */

/* Up to n volatile entries from the TTL wheel, starting at a random slot.
 * Used when volatile keys are too sparse for dict sampling to find them. */
static size_t
sample_wheel(struct db *db, struct entry **out, size_t n)
{
    size_t got = 0;
    size_t start = (size_t)random() & (EXPIRE_SLOTS - 1);
    for (size_t i = 0; i < EXPIRE_SLOTS && got < n; i++) {
        struct entry *e = db->ttl.slots[(start + i) & (EXPIRE_SLOTS - 1)];
        for (; e != NULL && got < n; e = entry_ttl(e)->ttl_next) {
            out[got++] = e;
        }
    }
    /* The slot the expiry cycle is walking is detached from the wheel. */
    for (struct entry *e = db->ttl.pending; e != NULL && got < n;
         e = entry_ttl(e)->ttl_next) {
        out[got++] = e;
    }
    return got;
}

struct scan_ctx {
    struct entry **out;
    size_t got, cap;
};

static void
scan_collect(struct entry *e, void *arg)
{
    struct scan_ctx *ctx = arg;
    if (ctx->got < ctx->cap) {
        ctx->out[ctx->got++] = e;
    }
}

/* dict_sample gives up after a bounded number of empty buckets, so a table
 * left nearly empty by a mass deletion (until the cron shrinks it) could
 * look empty and turn into a false OOM: walk it with SCAN instead. */
static size_t
sample_dict(struct dict *d, struct entry **out, size_t n)
{
    size_t got = dict_sample(d, out, n);
    if (got == 0 && dict_size(d) > 0) {
        struct scan_ctx ctx = {out, 0, n};
        unsigned long cursor = 0;
        do {
            cursor = dict_scan(d, cursor, scan_collect, &ctx);
        } while (cursor != 0 && ctx.got == 0);
        got = ctx.got;
    }
    return got;
}

/* Sample up to n entries the policy may evict. */
static size_t
sample_db(struct db *db, int is_volatile, struct entry **out, size_t n)
{
    if (!is_volatile) {
        return sample_dict(&db->dict, out, n);
    }
    if (db->volatile_count == 0) {
        return 0;
    }
    /* Mostly volatile: sample the dict (uniform) and keep the volatile
     * ones.  Sparse: the wheel, so a few volatile keys among millions of
     * persistent ones are still found. */
    if (db->volatile_count * 2 >= dict_size(&db->dict)) {
        size_t got = sample_dict(&db->dict, out, n), kept = 0;
        for (size_t i = 0; i < got; i++) {
            if (out[i]->volatile_) {
                out[kept++] = out[i];
            }
        }
        if (kept > 0) {
            return kept;
        }
    }
    return sample_wheel(db, out, n);
}

static void
pool_populate(struct server *srv, int policy)
{
    struct entry *samples[EVICT_MAX_SAMPLES];
    size_t n = (size_t)srv->cfg.maxmemory_samples;
    int is_volatile = policy_is_volatile(policy);

    if (n > EVICT_MAX_SAMPLES) {
        n = EVICT_MAX_SAMPLES;
    }
    for (int i = 0; i < srv->ks.ndb; i++) {
        struct db *db = &srv->ks.dbs[i];
        size_t got = sample_db(db, is_volatile, samples, n);
        for (size_t k = 0; k < got; k++) {
            pool_offer(i, samples[k], entry_score(&srv->ks, policy, samples[k]));
        }
    }
}

/* ---- choosing and evicting a victim ------------------------------------ */

static size_t
evictable_keys(const struct keyspace *ks, int is_volatile)
{
    size_t n = 0;
    for (int i = 0; i < ks->ndb; i++) {
        n += is_volatile ? ks->dbs[i].volatile_count : dict_size(&ks->dbs[i].dict);
    }
    return n;
}

/* Find the link to the entry a pool candidate names, if it still exists
 * and is still evictable under the policy. */
static struct entry **
candidate_ref(struct server *srv, const struct evict_candidate *cand,
              int is_volatile)
{
    if (cand->dbid >= srv->ks.ndb) {
        return NULL;
    }
    struct db *db = &srv->ks.dbs[cand->dbid];
    struct entry **ref = dict_find_ref(&db->dict, cand->key, cand->keylen,
                                       dict_hash(cand->key, cand->keylen));
    if (ref == NULL || (is_volatile && !(*ref)->volatile_)) {
        return NULL;
    }
    return ref;
}

/* Pick a victim: sets *dbp and returns the link to it, or NULL when the
 * policy has nothing left to evict. */
static struct entry **
evict_choose(struct server *srv, int policy, struct db **dbp)
{
    struct keyspace *ks = &srv->ks;
    int is_volatile = policy_is_volatile(policy);

    if (evictable_keys(ks, is_volatile) == 0) {
        return NULL;
    }
    if (policy_is_random(policy)) {
        /* Rotate over the databases so none is emptied before the others
         * are touched, as Redis does. */
        for (int i = 0; i < ks->ndb; i++) {
            struct entry *e;
            struct db *db;
            next_random_db = (next_random_db + 1) % ks->ndb;
            db = &ks->dbs[next_random_db];
            if (sample_db(db, is_volatile, &e, 1) == 1) {
                *dbp = db;
                return dict_find_ref(&db->dict, entry_key(e), entry_keylen(e),
                                     dict_hash(entry_key(e), entry_keylen(e)));
            }
        }
        return NULL;
    }
    if (pool.policy != policy) {
        pool_reset(policy);
    }
    /* Keys in the pool may have been deleted (or persisted) since they were
     * sampled: skip those.  Every round adds live samples, so this ends. */
    for (int round = 0; round < 16; round++) {
        pool_populate(srv, policy);
        while (pool.used > 0) {
            int best = pool.used - 1;
            struct entry **ref = candidate_ref(srv, &pool.c[best], is_volatile);
            int dbid = pool.c[best].dbid;
            pool_remove(best);
            if (ref != NULL) {
                *dbp = &ks->dbs[dbid];
                return ref;
            }
        }
    }
    return NULL;
}

/* Evicts the key at ref; returns the memory its deletion gave back, which
 * is not what used memory moved by: the key's events queue invalidation
 * messages to tracking clients and notifications to subscribers first. */
static long long
evict_entry(struct server *srv, struct db *db, struct entry **ref)
{
    struct keyspace *ks = &srv->ks;
    struct entry *e = *ref;
    int saved = ks->free_async;
    ks->evicted_keys++;
    db_event(db, entry_key(e), entry_keylen(e), KEYSPACE_EV_EVICTED);
    if (ks->on_delete) {
        ks->on_delete(ks->on_delete_ctx, db, entry_key(e), entry_keylen(e));
    }
    ks->free_async = ks->lazy_evict;
    /* The key's bytes outlive the entry for the signal sent after it. */
    char small[128];
    size_t len = entry_keylen(e);
    char *key = len <= sizeof(small) ? small : mem_alloc(len);
    memcpy(key, entry_key(e), len);
    long long before = (long long)mem_used();
    db_delete_ref_unsignalled(db, ref);
    long long freed = before - (long long)mem_used();
    ks->free_async = saved;
    if (keyspace_listening(ks)) {
        db_signal(db, key, len, KEYSPACE_DELETED);
    }
    if (key != small) {
        mem_free(key);
    }
    return freed;
}

/* How long one eviction loop may run, from maxmemory-eviction-tenacity,
 * by Redis's scale: 50 us a step up to 10 (the default, 500 us), 15 % more
 * each step above, no limit at 100. */
static long long
evict_time_limit_us(long long tenacity)
{
    if (tenacity <= 10) {
        return 50 * (tenacity < 0 ? 0 : tenacity);
    }
    if (tenacity < 100) {
        return (long long)(500.0 * pow(1.15, (double)(tenacity - 10)));
    }
    return LLONG_MAX;
}

int
evict_perform(struct server *srv)
{
    unsigned long long limit = srv->cfg.maxmemory;
    int policy = srv->cfg.maxmemory_policy;
    long long start;
    long long evicted = 0;

    if (limit == 0 || evict_used_memory(srv) <= limit) {
        return 0;
    }
    if (srv->ks.is_replica && srv->cfg.replica_ignore_maxmemory) {
        /* replica-ignore-maxmemory (default yes, as Redis): a replica
         * mirrors its master's dataset, and the master's evictions arrive
         * as DELs.  With no, it evicts by its own maxmemory, and its
         * dataset may then differ from its master's. */
        return 0;
    }
    if (pause_active(srv)) {
        /* As Redis: during a client pause the dataset stays as it is; the
         * writes that would need room are held anyway. */
        return 0;
    }
    if (policy == MAXMEMORY_NOEVICTION) {
        return -1;
    }
    start = util_monotonic_us();
    keyspace_tick(&srv->ks);
    /* As Redis: the amount over the limit is fixed before the first key
     * goes, and each key counts what its deletion freed.  Re-reading used
     * memory after each key counted the invalidation messages the keys'
     * tracking clients were just sent, which made room for more evictions:
     * a feedback loop (Redis's unit/maxmemory, "client tracking don't cause
     * eviction feedback loop": 96 of 300 keys evicted where 10-50 should). */
    long long tofree = (long long)(evict_used_memory(srv) - limit), freed = 0;
    while (freed < tofree) {
        struct db *db = NULL;
        struct entry **ref = evict_choose(srv, policy, &db);
        if (ref == NULL) {
            /* Nothing left that the policy may evict. */
            return -1;
        }
        freed += evict_entry(srv, db, ref);
        evicted++;
        /* A lazily freed value gives its memory back on the background
         * thread, later than its delete: look at the total from time to
         * time, and stop once under the limit. */
        if ((evicted & 15) == 0 && evict_used_memory(srv) <= limit) {
            break;
        }
        if ((evicted & 15) == 0
            && util_monotonic_us() - start
                   >= evict_time_limit_us(srv->cfg.maxmemory_eviction_tenacity)) {
            /* Progress was made: let this command run and continue before
             * the next one, so no single command stalls the loop. */
            log_debug("Eviction time limit reached after %lld keys", evicted);
            return 0;
        }
    }
    return 0;
}
