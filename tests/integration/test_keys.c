/* The keyspace commands against a real server: SCAN's guarantee while the
 * table grows, expiry through the EXPIRE family, databases seen by several
 * clients (SELECT, SWAPDB, MOVE, COPY, FLUSHALL), RANDOMKEY over expired
 * keys, and OBJECT/MEMORY under both LRU and LFU policies.  Exact reply
 * bytes are compared with Redis in tests/compat/keys.cmds. */
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct harness_server srv;
static redisContext *rc;

static void stop(void);

static void
start_with(const char *const *args)
{
    signal(SIGPIPE, SIG_IGN);
    /* A test's own .init may run after the suite's: replace that server. */
    if (rc != NULL) {
        stop();
    }
    cr_assert_eq(harness_start(&srv, args), 0, "server did not start");
    rc = harness_connect(&srv);
    cr_assert_not_null(rc);
}

static void
start_default(void)
{
    start_with(NULL);
}

static void
start_lfu(void)
{
    static const char *const args[] = {"--maxmemory-policy", "allkeys-lfu", NULL};
    start_with(args);
}

static void
stop(void)
{
    if (rc) {
        redisFree(rc);
        rc = NULL;
    }
    harness_stop(&srv);
}

TestSuite(keys, .init = start_default, .fini = stop, .timeout = 60);

/* ---- helpers ------------------------------------------------------------ */

static long long
cmd_int(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "I/O error");
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "not an integer reply: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "(other type)");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Run a command expecting an error reply that starts with prefix. */
static void
expect_error(redisContext *c, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR, "expected an error for %s", fmt);
    cr_assert(strncmp(r->str, prefix, strlen(prefix)) == 0, "got \"%s\"", r->str);
    freeReplyObject(r);
}

static void
ok(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r);
    cr_assert(r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0,
              "%s did not answer OK: %s", fmt,
              r->type == REDIS_REPLY_ERROR ? r->str : "(other reply)");
    freeReplyObject(r);
}

/* SET key:<from>..key:<to-1> in one pipeline. */
static void
set_many(const char *prefix, int from, int to, const char *extra)
{
    for (int i = from; i < to; i++) {
        if (extra) {
            redisAppendCommand(rc, "SET %s:%d v %s", prefix, i, extra);
        } else {
            redisAppendCommand(rc, "SET %s:%d v", prefix, i);
        }
    }
    for (int i = from; i < to; i++) {
        redisReply *r;
        cr_assert_eq(redisGetReply(rc, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
}

/* ---- SCAN, KEYS ------------------------------------------------------------ */

Test(keys, scan_returns_every_key_present_throughout_while_the_table_grows)
{
    enum { KEEP = 500 };
    static int seen[KEEP];
    unsigned long long cursor = 0;
    int added = 0, calls = 0;

    set_many("keep", 0, KEEP, NULL);
    do {
        redisReply *r = harness_cmd(rc, "SCAN %llu COUNT 7", cursor);
        cr_assert_not_null(r);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
        cr_assert_eq(r->elements, 2);
        cr_assert_eq(r->element[0]->type, REDIS_REPLY_STRING, "cursor is a bulk string");
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            int k;
            if (sscanf(r->element[1]->element[i]->str, "keep:%d", &k) == 1) {
                seen[k]++;
            }
        }
        freeReplyObject(r);
        /* Grow the keyspace between calls so the scan crosses resizes. */
        if (added < 4000) {
            set_many("grow", added, added + 50, NULL);
            added += 50;
        }
        calls++;
    } while (cursor != 0 && calls < 100000);
    cr_assert_eq(cursor, 0);
    for (int i = 0; i < KEEP; i++) {
        cr_assert_geq(seen[i], 1, "keep:%d was never returned", i);
    }
}

static int
key_gone(void *arg)
{
    const char *key = arg;
    redisContext *c = harness_connect(&srv);
    if (c == NULL) {
        return 0;
    }
    redisReply *r = harness_cmd(c, "EXISTS %s", key);
    int gone = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
    if (r) {
        freeReplyObject(r);
    }
    redisFree(c);
    return gone;
}

Test(keys, scan_keys_and_randomkey_skip_expired_keys)
{
    set_many("short", 0, 200, "PX 30");
    ok(rc, "SET keep v");
    usleep(60 * 1000);
    redisReply *r = harness_cmd(rc, "SCAN 0 COUNT 1000");
    cr_assert_not_null(r);
    cr_assert_eq(r->element[1]->elements, 1);
    cr_assert_str_eq(r->element[1]->element[0]->str, "keep");
    freeReplyObject(r);
    r = harness_cmd(rc, "KEYS *");
    cr_assert_eq(r->elements, 1);
    cr_assert_str_eq(r->element[0]->str, "keep");
    freeReplyObject(r);
    for (int i = 0; i < 20; i++) {
        cr_assert(harness_cmd_equals(rc, "keep", "RANDOMKEY"));
    }
}

Test(keys, scan_filters_by_match_and_type)
{
    set_many("user", 0, 30, NULL);
    set_many("item", 0, 30, NULL);
    unsigned long long cursor = 0;
    int users = 0;
    do {
        redisReply *r = harness_cmd(rc, "SCAN %llu MATCH user:* COUNT 5 TYPE string",
                                    cursor);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            cr_assert(strncmp(r->element[1]->element[i]->str, "user:", 5) == 0);
            users++;
        }
        freeReplyObject(r);
    } while (cursor != 0);
    cr_assert_eq(users, 30);
    redisReply *r = harness_cmd(rc, "SCAN 0 COUNT 1000 TYPE list");
    cr_assert_eq(r->element[1]->elements, 0);
    freeReplyObject(r);
}

/* ---- expiry ------------------------------------------------------------- */

Test(keys, expire_sets_a_ttl_that_counts_down_and_deletes)
{
    ok(rc, "SET k v");
    cr_assert_eq(cmd_int(rc, "PEXPIRE k 200"), 1);
    long long pttl = cmd_int(rc, "PTTL k");
    cr_assert(pttl > 0 && pttl <= 200, "pttl %lld", pttl);
    long long at = cmd_int(rc, "PEXPIRETIME k");
    cr_assert_gt(at, 0);
    cr_assert_eq(cmd_int(rc, "EXPIRETIME k"), (at + 500) / 1000);
    cr_assert_eq(harness_wait_for(key_gone, "k", 2000), 1, "key never expired");
    cr_assert_eq(cmd_int(rc, "TTL k"), -2);
}

Test(keys, expire_in_the_past_deletes_the_key_at_once)
{
    ok(rc, "SET k v");
    cr_assert_eq(cmd_int(rc, "EXPIRE k -10"), 1);
    cr_assert_eq(cmd_int(rc, "EXISTS k"), 0);
    ok(rc, "SET k v");
    cr_assert_eq(cmd_int(rc, "EXPIREAT k 1"), 1);
    cr_assert_eq(cmd_int(rc, "EXISTS k"), 0);
    cr_assert_eq(cmd_int(rc, "DBSIZE"), 0);
}

Test(keys, expire_options_compare_with_the_current_ttl)
{
    ok(rc, "SET k v");
    cr_assert_eq(cmd_int(rc, "EXPIRE k 100 XX"), 0, "XX needs a TTL");
    cr_assert_eq(cmd_int(rc, "EXPIRE k 100 GT"), 0, "no TTL counts as infinite");
    cr_assert_eq(cmd_int(rc, "EXPIRE k 100 LT"), 1);
    cr_assert_eq(cmd_int(rc, "EXPIRE k 200 NX"), 0);
    cr_assert_eq(cmd_int(rc, "EXPIRE k 200 GT"), 1);
    cr_assert_eq(cmd_int(rc, "EXPIRE k 150 XX GT"), 0);
    cr_assert_eq(cmd_int(rc, "EXPIRE k 150 XX LT"), 1);
    cr_assert_eq(cmd_int(rc, "TTL k"), 150);
    expect_error(rc, "ERR NX and XX, GT or LT options at the same time are not compatible",
                 "EXPIRE k 1 NX LT");
    expect_error(rc, "ERR GT and LT options at the same time are not compatible",
                 "EXPIRE k 1 GT LT");
    expect_error(rc, "ERR invalid expire time in 'expireat' command",
                 "EXPIREAT k 9223372036854775807 XX");
    cr_assert_eq(cmd_int(rc, "TTL k"), 150, "a refused EXPIRE changes nothing");
}

Test(keys, rename_carries_value_and_ttl)
{
    ok(rc, "SET src v PX 100000");
    ok(rc, "RENAME src dst");
    cr_assert_eq(cmd_int(rc, "EXISTS src"), 0);
    cr_assert(harness_cmd_equals(rc, "v", "GET dst"));
    long long pttl = cmd_int(rc, "PTTL dst");
    cr_assert(pttl > 90000 && pttl <= 100000, "pttl %lld", pttl);
    ok(rc, "SET other o");
    cr_assert_eq(cmd_int(rc, "RENAMENX dst other"), 0);
    ok(rc, "RENAME dst other");
    cr_assert(harness_cmd_equals(rc, "v", "GET other"));
    cr_assert_gt(cmd_int(rc, "PTTL other"), 0);
    expect_error(rc, "ERR no such key", "RENAME dst x");
}

/* ---- databases ---------------------------------------------------------- */

Test(keys, select_is_per_connection)
{
    redisContext *other = harness_connect(&srv);
    ok(rc, "SELECT 3");
    ok(rc, "SET k in3");
    cr_assert_eq(cmd_int(other, "EXISTS k"), 0);
    ok(other, "SELECT 3");
    cr_assert(harness_cmd_equals(other, "in3", "GET k"));
    expect_error(rc, "ERR DB index is out of range", "SELECT 16");
    redisFree(other);
}

Test(keys, swapdb_is_seen_by_every_client)
{
    redisContext *other = harness_connect(&srv);
    ok(rc, "SET k zero");
    ok(other, "SELECT 1");
    ok(other, "SET k one PX 100000");
    ok(rc, "SWAPDB 0 1");
    cr_assert(harness_cmd_equals(rc, "one", "GET k"));
    cr_assert_gt(cmd_int(rc, "PTTL k"), 0, "TTLs travel with the db");
    cr_assert(harness_cmd_equals(other, "zero", "GET k"));
    cr_assert_eq(cmd_int(other, "TTL k"), -1);
    redisFree(other);
}

Test(keys, move_and_copy_keep_the_ttl)
{
    ok(rc, "SET k v PX 100000");
    cr_assert_eq(cmd_int(rc, "COPY k k2 DB 2"), 1);
    cr_assert_eq(cmd_int(rc, "MOVE k 1"), 1);
    cr_assert_eq(cmd_int(rc, "EXISTS k"), 0);
    cr_assert_eq(cmd_int(rc, "MOVE k 1"), 0);
    ok(rc, "SELECT 1");
    cr_assert(harness_cmd_equals(rc, "v", "GET k"));
    cr_assert_gt(cmd_int(rc, "PTTL k"), 90000);
    ok(rc, "SELECT 2");
    cr_assert(harness_cmd_equals(rc, "v", "GET k2"));
    cr_assert_gt(cmd_int(rc, "PTTL k2"), 90000);
    /* COPY REPLACE overwrites, and the copy does not follow its source. */
    ok(rc, "SET k3 old");
    cr_assert_eq(cmd_int(rc, "COPY k2 k3"), 0);
    cr_assert_eq(cmd_int(rc, "COPY k2 k3 REPLACE"), 1);
    ok(rc, "SET k2 changed");
    cr_assert(harness_cmd_equals(rc, "v", "GET k3"));
}

Test(keys, flushall_empties_every_database)
{
    ok(rc, "SET a 1");
    ok(rc, "SELECT 5");
    ok(rc, "SET b 2 PX 100000");
    ok(rc, "FLUSHALL ASYNC");
    cr_assert_eq(cmd_int(rc, "DBSIZE"), 0);
    ok(rc, "SELECT 0");
    cr_assert_eq(cmd_int(rc, "DBSIZE"), 0);
    /* The databases work as new. */
    ok(rc, "SET c 3 PX 100000");
    cr_assert_gt(cmd_int(rc, "PTTL c"), 0);
}

/* ---- OBJECT, MEMORY ----------------------------------------------------- */

static int
idle_at_least_one_second(void *arg)
{
    (void)arg;
    redisContext *c = harness_connect(&srv);
    if (c == NULL) {
        return 0;
    }
    redisReply *r = harness_cmd(c, "OBJECT IDLETIME k");
    int done = r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1;
    if (r) {
        freeReplyObject(r);
    }
    redisFree(c);
    return done;
}

Test(keys, object_idletime_grows_and_access_resets_it)
{
    ok(rc, "SET k v");
    cr_assert_eq(cmd_int(rc, "OBJECT IDLETIME k"), 0);
    cr_assert_eq(harness_wait_for(idle_at_least_one_second, NULL, 3000), 1);
    cr_assert(harness_cmd_equals(rc, "v", "GET k"));
    cr_assert_eq(cmd_int(rc, "OBJECT IDLETIME k"), 0);
    expect_error(rc, "ERR An LFU maxmemory policy is not selected", "OBJECT FREQ k");
}

Test(keys, object_freq_counts_accesses_under_lfu, .init = start_lfu)
{
    ok(rc, "SET k v");
    long long before = cmd_int(rc, "OBJECT FREQ k");
    for (int i = 0; i < 200; i++) {
        redisAppendCommand(rc, "GET k");
    }
    for (int i = 0; i < 200; i++) {
        redisReply *r;
        cr_assert_eq(redisGetReply(rc, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
    cr_assert_gt(cmd_int(rc, "OBJECT FREQ k"), before);
    expect_error(rc, "ERR An LFU maxmemory policy is selected, idle time not tracked",
                 "OBJECT IDLETIME k");
}

Test(keys, memory_usage_follows_the_value_size)
{
    char big[4097];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ok(rc, "SET small v");
    ok(rc, "SET big %s", big);
    long long s = cmd_int(rc, "MEMORY USAGE small");
    long long b = cmd_int(rc, "MEMORY USAGE big SAMPLES 0");
    cr_assert_gt(s, 0);
    cr_assert_geq(b, s + 4000);
    redisReply *r = harness_cmd(rc, "MEMORY USAGE nosuch");
    cr_assert_eq(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

Test(keys, memory_stats_reports_the_key_count)
{
    set_many("m", 0, 100, NULL);
    ok(rc, "SELECT 2");
    set_many("m", 0, 10, NULL);
    redisReply *r = harness_cmd(rc, "MEMORY STATS");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    long long keys = -1, total = -1, peak = -1;
    int db2 = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *name = r->element[i]->str;
        redisReply *v = r->element[i + 1];
        if (strcmp(name, "keys.count") == 0) {
            keys = v->integer;
        } else if (strcmp(name, "total.allocated") == 0) {
            total = v->integer;
        } else if (strcmp(name, "peak.allocated") == 0) {
            peak = v->integer;
        } else if (strcmp(name, "db.2") == 0) {
            db2 = v->type == REDIS_REPLY_ARRAY && v->elements == 4;
        }
    }
    freeReplyObject(r);
    cr_assert_eq(keys, 110);
    cr_assert_gt(total, 0);
    cr_assert_geq(peak, total);
    cr_assert(db2, "db.2 is a map of its overheads");
}

Test(keys, help_subcommands_list_their_siblings)
{
    redisReply *r = harness_cmd(rc, "OBJECT HELP");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_gt(r->elements, 4);
    freeReplyObject(r);
    r = harness_cmd(rc, "MEMORY HELP");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_gt(r->elements, 4);
    freeReplyObject(r);
}
