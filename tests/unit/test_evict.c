/* evict_perform against a real keyspace, without a server process: each
 * test fills keys, sets maxmemory below what they take, and checks which
 * keys the policy gave up.  Access bits and TTLs are set by hand so the
 * preferred victims are unambiguous; sampling then only decides the order
 * among equals.  Options go through the option table as CONFIG SET would. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "node/db.h"
#include "node/evict.h"
#include "node/options.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>

#define LRU_CLOCK_MASK ((1 << 24) - 1)

static struct server srv;

static void
setup(void)
{
    memset(&srv, 0, sizeof(srv));
    srv.opts.defs = node_options;
    srv.opts.values = &srv.cfg;
    cr_assert_eq(option_defaults(&srv.opts), 0);
    keyspace_init(&srv.ks, (int)srv.cfg.databases);
    srv.opts.ctx = &srv;
    server_apply_config(&srv);
    log_current_level = LOG_LEVEL_ERROR;
}

static void
teardown(void)
{
    /* The candidate pool in evict.c copies keys of up to 255 bytes inline,
     * so with the short keys used here it holds no memory of its own. */
    keyspace_destroy(&srv.ks);
    option_free_values(&srv.opts);
}

TestSuite(evict, .init = setup, .fini = teardown);

/* ---- helpers ----------------------------------------------------------- */

static void
set_option(const char *name, const char *value)
{
    char err[256];
    const struct option_def *def = option_find(&srv.opts, name);
    cr_assert_not_null(def, "no option %s", name);
    cr_assert_eq(option_set(&srv.opts, def, value, err, sizeof(err)), 0,
                 "%s %s: %s", name, value, err);
}

/* Add n keys "<prefix>:<i>" to db; ttl_ms > 0 makes them volatile, expiring
 * ttl_ms + i ms from now.  Returns the memory their entries take. */
static size_t
fill(int dbid, const char *prefix, int n, long long ttl_ms)
{
    static const char val[] = "0123456789abcdef0123456789abcdef";
    struct db *db = &srv.ks.dbs[dbid];
    long long now = util_mstime();
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        char key[64];
        int len = snprintf(key, sizeof(key), "%s:%d", prefix, i);
        struct entry *e = db_set(db, key, (size_t)len, val, sizeof(val) - 1,
                                 ttl_ms > 0 ? now + ttl_ms + i : -1, 0);
        bytes += db_entry_memory(e);
    }
    return bytes;
}

static struct entry *
find(int dbid, const char *prefix, int i)
{
    char key[64];
    int len = snprintf(key, sizeof(key), "%s:%d", prefix, i);
    return db_lookup(&srv.ks.dbs[dbid], key, (size_t)len, LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
}

static int
count_left(int dbid, const char *prefix, int n)
{
    int left = 0;
    for (int i = 0; i < n; i++) {
        left += find(dbid, prefix, i) != NULL;
    }
    return left;
}

/* Set maxmemory so that `over` bytes must go. */
static void
limit_below_used(size_t over)
{
    srv.cfg.maxmemory = mem_used() - over;
}

/* evict_perform stops after about a millisecond of work (the next command
 * continues), so call it as the server would until it is done. */
static int
evict_until_under(void)
{
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0 && mem_used() > srv.cfg.maxmemory; i++) {
        rc = evict_perform(&srv);
    }
    return rc;
}

static void
assert_evicted_under_limit(size_t keys_before)
{
    cr_assert_eq(evict_until_under(), 0);
    cr_assert_leq(mem_used(), srv.cfg.maxmemory);
    cr_assert_gt(srv.ks.evicted_keys, 0);
    cr_assert_eq((size_t)srv.ks.evicted_keys, keys_before - keyspace_size(&srv.ks),
                 "evicted_keys does not count what went");
}

/* ---- the limit itself -------------------------------------------------- */

Test(evict, nothing_happens_under_the_limit_or_without_one)
{
    fill(0, "k", 500, 0);
    set_option("maxmemory-policy", "allkeys-random");
    srv.cfg.maxmemory = 0;
    cr_assert_eq(evict_perform(&srv), 0);
    srv.cfg.maxmemory = mem_used() + 1;
    cr_assert_eq(evict_perform(&srv), 0);
    cr_assert_eq(keyspace_size(&srv.ks), 500);
    cr_assert_eq(srv.ks.evicted_keys, 0);
}

Test(evict, noeviction_refuses_and_evicts_nothing)
{
    fill(0, "k", 500, 0);
    fill(1, "v", 500, 3600 * 1000);
    set_option("maxmemory-policy", "noeviction");
    limit_below_used(1);
    cr_assert_eq(evict_perform(&srv), -1);
    cr_assert_eq(keyspace_size(&srv.ks), 1000);
    cr_assert_eq(srv.ks.evicted_keys, 0);
}

Test(evict, replica_never_evicts)
{
    size_t bytes = fill(0, "k", 500, 0);
    set_option("maxmemory-policy", "allkeys-random");
    srv.ks.is_replica = 1;
    limit_below_used(bytes / 2);
    cr_assert_eq(evict_perform(&srv), 0);
    cr_assert_eq(keyspace_size(&srv.ks), 500);
}

static long long deletions;

static void
count_deletion(void *ctx, struct db *db, const char *key, size_t len)
{
    (void)ctx;
    (void)key;
    cr_assert_not_null(db);
    cr_assert_gt(len, 0);
    deletions++;
}

Test(evict, every_eviction_goes_through_the_delete_hook)
{
    size_t bytes = fill(0, "k", 1000, 0);
    set_option("maxmemory-policy", "allkeys-random");
    srv.ks.on_delete = count_deletion;
    limit_below_used(bytes / 3);
    assert_evicted_under_limit(1000);
    cr_assert_eq(deletions, srv.ks.evicted_keys);
}

/* ---- allkeys ----------------------------------------------------------- */

Test(evict, allkeys_random_brings_memory_under_the_limit)
{
    size_t bytes = fill(0, "k", 2000, 0);
    set_option("maxmemory-policy", "allkeys-random");
    limit_below_used(bytes / 4);
    assert_evicted_under_limit(2000);
    cr_assert_lt(keyspace_size(&srv.ks), 2000);
}

Test(evict, allkeys_random_takes_from_every_database)
{
    size_t bytes = fill(0, "a", 1000, 0) + fill(3, "b", 1000, 0);
    set_option("maxmemory-policy", "allkeys-random");
    limit_below_used(bytes / 4);
    assert_evicted_under_limit(2000);
    cr_assert_lt(count_left(0, "a", 1000), 1000);
    cr_assert_lt(count_left(3, "b", 1000), 1000);
}

Test(evict, allkeys_lru_brings_memory_under_the_limit)
{
    size_t bytes = fill(0, "k", 2000, 0);
    set_option("maxmemory-policy", "allkeys-lru");
    limit_below_used(bytes / 4);
    assert_evicted_under_limit(2000);
}

Test(evict, allkeys_lru_prefers_keys_not_touched_recently)
{
    /* "old" keys were last touched ~3 hours ago, "new" ones just now. */
    size_t old_bytes = fill(0, "old", 1000, 0);
    unsigned clock = (unsigned)(util_mstime() / 1000);
    for (int i = 0; i < 1000; i++) {
        find(0, "old", i)->lru = (clock - 10000) & LRU_CLOCK_MASK;
    }
    fill(0, "new", 100, 0);
    set_option("maxmemory-policy", "allkeys-lru");
    limit_below_used(old_bytes / 2);
    assert_evicted_under_limit(1100);
    cr_assert_eq(count_left(0, "new", 100), 100, "a recently used key was evicted");
    cr_assert_lt(count_left(0, "old", 1000), 1000);
}

Test(evict, allkeys_lfu_prefers_keys_with_low_counters)
{
    /* Counters are set with the current minute, so no decay applies. */
    set_option("maxmemory-policy", "allkeys-lfu");
    cr_assert(srv.ks.lfu, "the LFU policy did not switch the access bits");
    size_t cold_bytes = fill(0, "cold", 1000, 0);
    fill(0, "hot", 100, 0);
    unsigned minutes = (unsigned)((util_mstime() / 60000) & 0xFFFF);
    for (int i = 0; i < 1000; i++) {
        find(0, "cold", i)->lru = (minutes << 8) | 1;
    }
    for (int i = 0; i < 100; i++) {
        find(0, "hot", i)->lru = (minutes << 8) | 200;
    }
    limit_below_used(cold_bytes / 2);
    assert_evicted_under_limit(1100);
    cr_assert_eq(count_left(0, "hot", 100), 100, "a frequently used key was evicted");
    cr_assert_lt(count_left(0, "cold", 1000), 1000);
}

/* ---- volatile ---------------------------------------------------------- */

/* Half persistent, half volatile keys; enough memory must go that about
 * half the volatile ones are evicted, and no persistent one may be. */
static void
assert_volatile_only(const char *policy)
{
    fill(0, "keep", 1000, 0);
    size_t vbytes = fill(0, "vol", 1000, 3600 * 1000);
    set_option("maxmemory-policy", policy);
    limit_below_used(vbytes / 2);
    assert_evicted_under_limit(2000);
    cr_assert_eq(count_left(0, "keep", 1000), 1000, "%s evicted a persistent key", policy);
    cr_assert_lt(count_left(0, "vol", 1000), 1000);
}

Test(evict, volatile_random_evicts_only_volatile_keys)
{
    assert_volatile_only("volatile-random");
}

Test(evict, volatile_lru_evicts_only_volatile_keys)
{
    assert_volatile_only("volatile-lru");
}

Test(evict, volatile_lfu_evicts_only_volatile_keys)
{
    assert_volatile_only("volatile-lfu");
}

Test(evict, volatile_ttl_evicts_only_volatile_keys)
{
    assert_volatile_only("volatile-ttl");
}

/* A few volatile keys among many persistent ones are found through the TTL
 * index, not by luck of dict sampling. */
Test(evict, volatile_policy_finds_sparse_volatile_keys)
{
    fill(0, "keep", 5000, 0);
    size_t vbytes = fill(0, "vol", 20, 3600 * 1000);
    set_option("maxmemory-policy", "volatile-lru");
    limit_below_used(vbytes / 2);
    assert_evicted_under_limit(5020);
    cr_assert_eq(count_left(0, "keep", 5000), 5000);
}

/* Over the limit with only persistent keys: the command must get -OOM. */
static void
assert_refuses_without_volatile_keys(const char *policy)
{
    fill(0, "keep", 500, 0);
    fill(2, "keep", 500, 0);
    set_option("maxmemory-policy", policy);
    limit_below_used(1);
    cr_assert_eq(evict_perform(&srv), -1, "%s did not refuse", policy);
    cr_assert_eq(keyspace_size(&srv.ks), 1000);
    cr_assert_eq(srv.ks.evicted_keys, 0);
}

Test(evict, volatile_random_without_volatile_keys_refuses)
{
    assert_refuses_without_volatile_keys("volatile-random");
}

Test(evict, volatile_lru_without_volatile_keys_refuses)
{
    assert_refuses_without_volatile_keys("volatile-lru");
}

Test(evict, volatile_lfu_without_volatile_keys_refuses)
{
    assert_refuses_without_volatile_keys("volatile-lfu");
}

Test(evict, volatile_ttl_without_volatile_keys_refuses)
{
    assert_refuses_without_volatile_keys("volatile-ttl");
}

Test(evict, volatile_policy_refuses_once_the_volatile_keys_are_gone)
{
    fill(0, "keep", 1000, 0);
    fill(0, "vol", 50, 3600 * 1000);
    set_option("maxmemory-policy", "volatile-ttl");
    /* Far more than the volatile keys take. */
    limit_below_used(mem_used() / 2);
    cr_assert_eq(evict_until_under(), -1);
    cr_assert_eq(count_left(0, "vol", 50), 0);
    cr_assert_eq(count_left(0, "keep", 1000), 1000);
    cr_assert_eq(srv.ks.evicted_keys, 50);
}

Test(evict, volatile_ttl_prefers_the_shortest_ttl)
{
    /* "near" keys expire within the next minute or two, "far" ones in ten
     * days. */
    fill(0, "far", 10, 10LL * 24 * 3600 * 1000);
    size_t near_bytes = fill(0, "near", 1000, 60 * 1000);
    set_option("maxmemory-policy", "volatile-ttl");
    limit_below_used(near_bytes / 2);
    assert_evicted_under_limit(1010);
    cr_assert_eq(count_left(0, "far", 10), 10, "a key with a far TTL was evicted");
    cr_assert_lt(count_left(0, "near", 1000), 1000);
}

/* Regression (issue 9 item 12): the replication backlog and the append-only
 * buffers counted against maxmemory, so a growing AOF buffer could make the
 * node evict keys.  (The replica output buffers: test_replication.py p.) */
Test(evict, backlog_and_append_only_buffers_are_not_counted)
{
    struct evict_uncounted u;
    unsigned long long before = evict_used_memory(&srv);
    size_t used = mem_used();

    srv.persist.aof_buf = mem_alloc(1 << 20);
    srv.persist.rw_buf = mem_alloc(1 << 19);
    srv.repl.backlog = mem_alloc(1 << 20);
    cr_assert_gt(mem_used(), used + (5u << 19) - 1);
    cr_assert_eq(evict_used_memory(&srv), before);
    evict_uncounted(&srv, &u);
    cr_assert_geq(u.aof_buffers, 3u << 19);
    cr_assert_geq(u.backlog, 1u << 20);
    cr_assert_eq(u.total, u.aof_buffers + u.backlog + u.replica_buffers);
    mem_free(srv.persist.aof_buf);
    mem_free(srv.persist.rw_buf);
    mem_free(srv.repl.backlog);
    srv.persist.aof_buf = srv.persist.rw_buf = srv.repl.backlog = NULL;
}
