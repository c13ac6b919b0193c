/* maxmemory and the eviction policies, against a real server with a small
 * limit: noeviction's exact OOM error, every policy holding used_memory at
 * the limit under a write load of several MB, volatile policies with nothing
 * volatile, and which keys the TTL and LRU policies choose. */
#include <criterion/criterion.h>
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."
#define VALUE_SIZE 1000
#define BATCH 50
/* used_memory may exceed maxmemory by what the last command and the INFO
 * reply itself allocated: eviction runs before each command, not after. */
#define SLACK (64 * 1024)

static char value[VALUE_SIZE];

struct evict_server {
    struct harness_server hs;
    redisContext *c;
    long long maxmemory;
};

static void
start(struct evict_server *s, const char *maxmemory, const char *policy,
      const char *const *more)
{
    const char *args[16] = {"--maxmemory", maxmemory, "--maxmemory-policy", policy};
    int n = 4;
    for (; more && *more && n < 14; more++) {
        args[n++] = *more;
    }
    args[n] = NULL;
    memset(value, 'v', sizeof(value));
    cr_assert_eq(harness_start(&s->hs, args), 0, "server did not start");
    s->c = harness_connect(&s->hs);
    cr_assert_not_null(s->c);
    s->maxmemory = atoll(maxmemory) * 1024 * 1024;   /* "<n>mb" */
}

static void
stop(struct evict_server *s)
{
    redisFree(s->c);
    cr_assert_eq(harness_stop(&s->hs), 0, "server did not exit cleanly");
}

/* Write keys prefix:first .. prefix:first+n-1 with VALUE_SIZE bytes each, in
 * pipelined batches; ex > 0 gives each an EX of ex + (i if spread).  Stops at
 * the first error reply, copying it to err.  Returns the keys written. */
static long
fill(redisContext *c, const char *prefix, long first, long n, long ex, int spread,
     char *err, size_t errlen)
{
    long done = 0;
    if (err) {
        err[0] = '\0';
    }
    while (done < n) {
        long batch = n - done < BATCH ? n - done : BATCH;
        for (long i = 0; i < batch; i++) {
            char key[64];
            long idx = first + done + i;
            snprintf(key, sizeof(key), "%s:%ld", prefix, idx);
            if (ex > 0) {
                redisAppendCommand(c, "SET %s %b EX %ld", key, value, sizeof(value),
                                   ex + (spread ? idx : 0));
            } else {
                redisAppendCommand(c, "SET %s %b", key, value, sizeof(value));
            }
        }
        long ok = 0;
        int failed = 0;
        for (long i = 0; i < batch; i++) {
            redisReply *r = NULL;
            cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK, "connection lost");
            if (r->type == REDIS_REPLY_ERROR && !failed) {
                failed = 1;
                if (err) {
                    snprintf(err, errlen, "%s", r->str);
                }
            } else if (!failed) {
                ok++;
            }
            freeReplyObject(r);
        }
        done += ok;
        if (failed) {
            break;
        }
    }
    return done;
}

/* How many of prefix:0 .. prefix:n-1 exist. */
static long
survivors(redisContext *c, const char *prefix, long n)
{
    long alive = 0;
    for (long i = 0; i < n; i++) {
        redisAppendCommand(c, "EXISTS %s:%ld", prefix, i);
    }
    for (long i = 0; i < n; i++) {
        redisReply *r = NULL;
        cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK);
        cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
        alive += r->integer;
        freeReplyObject(r);
    }
    return alive;
}

static long long
evicted_keys(redisContext *c)
{
    return harness_info_field(c, "stats", "evicted_keys");
}

Test(eviction, noeviction_refuses_writes_with_the_oom_error_but_serves_reads,
     .timeout = 30)
{
    struct evict_server s;
    char err[256];
    start(&s, "2mb", "noeviction", NULL);
    cr_assert_eq(harness_info_field(s.c, "memory", "maxmemory"), 2 * 1024 * 1024);
    cr_assert(harness_cmd_equals(s.c, "OK", "SET keep me"));
    long n = fill(s.c, "k", 0, 10000, 0, 0, err, sizeof(err));
    cr_assert_lt(n, 10000, "2 MB never filled up");
    cr_assert_str_eq(err, OOM_ERROR);
    /* Once refused, writes stay refused; reads and deletes still work. */
    cr_assert(harness_cmd_equals(s.c, OOM_ERROR, "SET another v"));
    cr_assert(harness_cmd_equals(s.c, "me", "GET keep"));
    cr_assert(harness_cmd_equals(s.c, "PONG", "PING"));
    cr_assert_eq(survivors(s.c, "k", n), n, "noeviction lost keys");
    cr_assert_eq(evicted_keys(s.c), 0);
    redisReply *r = harness_cmd(s.c, "DEL k:0 k:1 k:2");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    cr_assert_eq(r->integer, 3);
    freeReplyObject(r);
    stop(&s);
}

/* Write 6 MB through a 2 MB limit, checking after every batch that
 * used_memory is held at the limit, that keys are evicted and that the
 * dataset is not simply emptied. */
static void
check_policy_holds_the_limit(const char *policy, int is_volatile)
{
    struct evict_server s;
    char err[256];
    long total = 6000;
    start(&s, "2mb", policy, NULL);
    for (long first = 0; first < total; first += 500) {
        long n = fill(s.c, "key", first, 500, is_volatile ? 10000 : 0, 1, err,
                      sizeof(err));
        cr_assert_eq(n, 500, "%s: write refused: %s", policy, err);
        long long used = harness_info_field(s.c, "memory", "used_memory");
        cr_assert_gt(used, 0);
        cr_assert_leq(used, s.maxmemory + SLACK, "%s: used_memory %lld over the limit",
                      policy, used);
    }
    long long evicted = evicted_keys(s.c);
    cr_assert_gt(evicted, 0, "%s: nothing evicted", policy);
    /* About 1,300 keys of 1 KB fit beside the server's own 0.5-1 MB. */
    redisReply *r = harness_cmd(s.c, "DBSIZE");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    cr_assert_gt(r->integer, 300, "%s: only %lld keys left", policy, r->integer);
    cr_assert_eq(r->integer + evicted, total, "%s: keys + evicted != written", policy);
    freeReplyObject(r);
    /* More writes keep evicting. */
    fill(s.c, "more", 0, 200, is_volatile ? 10000 : 0, 0, err, sizeof(err));
    cr_assert_gt(evicted_keys(s.c), evicted, "%s", policy);
    stop(&s);
}

Test(eviction, allkeys_lru_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("allkeys-lru", 0);
}

Test(eviction, allkeys_lfu_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("allkeys-lfu", 0);
}

Test(eviction, allkeys_random_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("allkeys-random", 0);
}

Test(eviction, volatile_lru_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("volatile-lru", 1);
}

Test(eviction, volatile_lfu_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("volatile-lfu", 1);
}

Test(eviction, volatile_random_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("volatile-random", 1);
}

Test(eviction, volatile_ttl_holds_used_memory_at_the_limit, .timeout = 60)
{
    check_policy_holds_the_limit("volatile-ttl", 1);
}

Test(eviction, volatile_policies_without_volatile_keys_answer_oom, .timeout = 60)
{
    static const char *const policies[] = {"volatile-lru", "volatile-lfu",
                                           "volatile-random", "volatile-ttl"};
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        struct evict_server s;
        char err[256];
        start(&s, "2mb", policies[i], NULL);
        long n = fill(s.c, "k", 0, 10000, 0, 0, err, sizeof(err));
        cr_assert_lt(n, 10000, "%s: never refused a write", policies[i]);
        cr_assert_str_eq(err, OOM_ERROR, "%s", policies[i]);
        cr_assert_eq(evicted_keys(s.c), 0, "%s evicted a persistent key", policies[i]);
        cr_assert_eq(survivors(s.c, "k", n), n);
        stop(&s);
    }
}

Test(eviction, volatile_ttl_evicts_the_shortest_ttls_first, .timeout = 60)
{
    struct evict_server s;
    char err[256];
    start(&s, "2mb", "volatile-ttl", NULL);
    /* 200 keys expiring in 100-300 s, 200 in more than a day; then
     * persistent keys until 100 volatile ones have been evicted. */
    cr_assert_eq(fill(s.c, "short", 0, 200, 100, 1, err, sizeof(err)), 200, "%s", err);
    cr_assert_eq(fill(s.c, "long", 0, 200, 100000, 1, err, sizeof(err)), 200, "%s", err);
    cr_assert_eq(evicted_keys(s.c), 0, "evicting before the filler");
    long filler = 0;
    while (evicted_keys(s.c) < 100 && filler < 5000) {
        long n = fill(s.c, "filler", filler, 10, 0, 0, err, sizeof(err));
        cr_assert_eq(n, 10, "refused: %s", err);
        filler += n;
    }
    cr_assert_geq(evicted_keys(s.c), 100);
    long short_alive = survivors(s.c, "short", 200);
    long long_alive = survivors(s.c, "long", 200);
    /* Sampling is approximate, as in Redis, so allow a few mistakes. */
    cr_assert_geq(long_alive, 190, "long-TTL survivors %ld, short %ld", long_alive,
                  short_alive);
    cr_assert_leq(short_alive, 110, "short-TTL survivors %ld", short_alive);
    stop(&s);
}

static int
second_passed(void *arg)
{
    return time(NULL) >= *(time_t *)arg;
}

Test(eviction, allkeys_lru_keeps_recently_read_keys, .timeout = 60)
{
    struct evict_server s;
    char err[256];
    start(&s, "4mb", "allkeys-lru", NULL);
    cr_assert_eq(fill(s.c, "cold", 0, 1000, 0, 0, err, sizeof(err)), 1000, "%s", err);
    cr_assert_eq(fill(s.c, "hot", 0, 1000, 0, 0, err, sizeof(err)), 1000, "%s", err);
    cr_assert_eq(evicted_keys(s.c), 0, "evicting before the filler");
    /* The LRU clock counts seconds: let two ticks pass, then read the hot
     * half so its idle time drops back to zero. */
    time_t target = time(NULL) + 2;
    cr_assert(harness_wait_for(second_passed, &target, 5000));
    /* In pipelines of BATCH: 1,000 replies of 1 KB held at once would
     * count against the 4 MB (as in Redis) and could evict hot keys not
     * read yet, which are as idle as the cold ones. */
    for (long first = 0; first < 1000; first += BATCH) {
        for (long i = first; i < first + BATCH; i++) {
            redisAppendCommand(s.c, "GET hot:%ld", i);
        }
        for (long i = first; i < first + BATCH; i++) {
            redisReply *r = NULL;
            cr_assert_eq(redisGetReply(s.c, (void **)&r), REDIS_OK);
            cr_assert_eq(r->type, REDIS_REPLY_STRING, "hot:%ld: reply type %d", i, r->type);
            freeReplyObject(r);
        }
    }
    long filler = 0;
    while (evicted_keys(s.c) < 600 && filler < 5000) {
        long n = fill(s.c, "filler", filler, 10, 0, 0, err, sizeof(err));
        cr_assert_eq(n, 10, "refused: %s", err);
        filler += n;
    }
    cr_assert_geq(evicted_keys(s.c), 600);
    long hot = survivors(s.c, "hot", 1000);
    long cold = survivors(s.c, "cold", 1000);
    cr_assert_geq(hot, 900, "hot survivors %ld, cold %ld", hot, cold);
    cr_assert_leq(cold, 600, "cold survivors %ld, hot %ld", cold, hot);
    stop(&s);
}
