/* The string commands through a real server: SET options and expiry, the
 * GET-and-change variants, multi-key commands, in-place edits (APPEND,
 * SETRANGE, INCR...), binary safety and the size and overflow limits.
 * Exact byte-for-byte replies against Redis live in tests/compat/strings.cmds;
 * these pin behaviour that needs time or big values. */
#include <criterion/criterion.h>
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct harness_server srv;
static redisContext *rc;

static void
start_with(const char *const *args)
{
    cr_assert_eq(harness_start(&srv, args), 0, "server did not start");
    rc = harness_connect(&srv);
    cr_assert_not_null(rc, "could not connect");
}

static void
start_plain(void)
{
    start_with(NULL);
}

static void
stop_server(void)
{
    if (rc) {
        redisFree(rc);
        rc = NULL;
    }
    harness_stop(&srv);
}

/* proto-max-bulk-len has a 1mb floor: the smallest limit to run into.
 * Criterion runs the suite's init before a test's own, so this replaces the
 * server the suite started. */
static void
start_small_bulk_limit(void)
{
    static const char *const args[] = {"--proto-max-bulk-len", "1mb", NULL};
    stop_server();
    start_with(args);
}

/* ---- reply checks: each runs a command and frees its reply ------------ */

static redisReply *
vcmd(const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(rc, fmt, ap);
    cr_assert_not_null(r, "I/O error running %s", fmt);
    return r;
}

static void
expect_status(const char *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s: reply type %d (%s)", fmt,
                 r->type, r->str ? r->str : "");
    cr_assert_str_eq(r->str, status, "%s", fmt);
    freeReplyObject(r);
}

static void
expect_bulk(const char *val, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s: reply type %d (%s)", fmt,
                 r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
    cr_assert_eq((size_t)r->len, len, "%s: length %zu, wanted %zu", fmt,
                 (size_t)r->len, len);
    cr_assert(memcmp(r->str, val, len) == 0, "%s: wrong bytes", fmt);
    freeReplyObject(r);
}

static void
expect_str(const char *val, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s: reply type %d (%s)", fmt,
                 r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
    cr_assert_str_eq(r->str, val, "%s", fmt);
    freeReplyObject(r);
}

static void
expect_nil(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_NIL, "%s: reply type %d (%s)", fmt,
                 r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void
expect_int(long long v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: reply type %d (%s)", fmt,
                 r->type, r->str ? r->str : "");
    cr_assert_eq(r->integer, v, "%s: %lld, wanted %lld", fmt, r->integer, v);
    freeReplyObject(r);
}

static void
expect_error(const char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(fmt, ap);
    va_end(ap);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR, "%s: reply type %d", fmt, r->type);
    cr_assert_str_eq(r->str, msg, "%s", fmt);
    freeReplyObject(r);
}

/* ---- waiting for a key to go ------------------------------------------- */

static int
key_gone(void *arg)
{
    redisReply *r = redisCommand(rc, "GET %s", (const char *)arg);
    int gone = r != NULL && r->type == REDIS_REPLY_NIL;
    freeReplyObject(r);
    return gone;
}

static void
expect_key_expires_within(const char *key, int ms)
{
    cr_assert(harness_wait_for(key_gone, (void *)key, ms),
              "%s still there after %d ms", key, ms);
}

/* Showing that a key does NOT expire needs waiting past the time it would
 * have; keep these waits short. */
static void
expect_key_survives(const char *key, int ms)
{
    usleep((useconds_t)ms * 1000);
    cr_assert_not(key_gone((void *)key), "%s expired", key);
}

#define EXPIRE_ERR(cmd) "ERR invalid expire time in '" cmd "' command"
#define NOT_INT "ERR value is not an integer or out of range"
#define NOT_FLOAT "ERR value is not a valid float"
#define TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

TestSuite(strings, .init = start_plain, .fini = stop_server, .timeout = 30);

/* ---- GET / SET ------------------------------------------------------------ */

Test(strings, set_then_get_returns_the_value)
{
    expect_status("OK", "SET k hello");
    expect_str("hello", "GET k");
    expect_status("OK", "SET k world");
    expect_str("world", "GET k");
}

Test(strings, get_of_a_missing_key_is_nil)
{
    expect_nil("GET nosuchkey");
}

Test(strings, keys_and_values_with_nul_bytes_are_binary_safe)
{
    static const char key[] = "k\0ey";
    static const char val[] = "\0va\0lue\r\n\0";
    size_t klen = sizeof(key) - 1, vlen = sizeof(val) - 1;

    expect_status("OK", "SET %b %b", key, klen, val, vlen);
    expect_bulk(val, vlen, "GET %b", key, klen);
    expect_nil("GET k");  /* the key is not cut at its NUL */
    expect_int((long long)vlen, "STRLEN %b", key, klen);
    expect_int((long long)vlen + 2, "APPEND %b %b", key, klen, "\0x", (size_t)2);
    expect_bulk("\0\0x", 3, "GETRANGE %b -3 -1", key, klen);
    expect_int((long long)vlen + 2, "SETRANGE %b 1 %b", key, klen, "\0", (size_t)1);
    expect_bulk("\0\0a\0", 4, "GETRANGE %b 0 3", key, klen);
    expect_bulk("\0\0a\0lue\r\n\0\0x", vlen + 2, "GETDEL %b", key, klen);
    expect_nil("GET %b", key, klen);
}

Test(strings, set_nx_only_creates_an_absent_key)
{
    expect_status("OK", "SET k a NX");
    expect_nil("SET k b NX");
    expect_str("a", "GET k");
}

Test(strings, set_xx_only_overwrites_a_present_key)
{
    expect_nil("SET k a XX");
    expect_nil("GET k");
    expect_status("OK", "SET k a");
    expect_status("OK", "SET k b XX");
    expect_str("b", "GET k");
}

Test(strings, set_rejects_conflicting_options_as_syntax_errors)
{
    expect_error("ERR syntax error", "SET k v NX XX");
    expect_error("ERR syntax error", "SET k v EX 10 PX 10");
    expect_error("ERR syntax error", "SET k v EXAT 10 PXAT 10");
    expect_error("ERR syntax error", "SET k v KEEPTTL EX 10");
    expect_error("ERR syntax error", "SET k v PX 10 KEEPTTL");
    expect_error("ERR syntax error", "SET k v PERSIST");
    expect_error("ERR syntax error", "SET k v EX");
    expect_error("ERR syntax error", "SET k v BOGUS");
    expect_nil("GET k");
}

Test(strings, set_get_replies_the_old_value_and_stores_the_new)
{
    expect_nil("SET k a GET");
    expect_str("a", "SET k b GET");
    expect_str("b", "GET k");
}

Test(strings, set_nx_get_on_a_present_key_replies_old_value_and_keeps_it)
{
    expect_status("OK", "SET k old");
    expect_str("old", "SET k new NX GET");
    expect_str("old", "GET k");
}

Test(strings, set_rejects_bad_expire_times)
{
    expect_error(EXPIRE_ERR("set"), "SET k v EX 0");
    expect_error(EXPIRE_ERR("set"), "SET k v PX -1");
    expect_error(EXPIRE_ERR("set"), "SET k v EXAT 0");
    /* seconds * 1000 would overflow */
    expect_error(EXPIRE_ERR("set"), "SET k v EX 9223372036854776");
    /* now + ms would overflow */
    expect_error(EXPIRE_ERR("set"), "SET k v PX 9223372036854775807");
    expect_error(NOT_INT, "SET k v EX abc");
    expect_error(NOT_INT, "SET k v EX 1.5");
    expect_nil("GET k");
}

/* ---- expiry ---------------------------------------------------------------- */

Test(strings, set_px_key_expires)
{
    expect_status("OK", "SET k v PX 100");
    expect_str("v", "GET k");
    expect_key_expires_within("k", 3000);
}

Test(strings, set_ex_key_survives_well_before_its_time)
{
    expect_status("OK", "SET k v EX 100");
    expect_key_survives("k", 200);
}

Test(strings, set_with_a_past_exat_replies_ok_and_the_key_is_gone)
{
    expect_status("OK", "SET k v EXAT 1");
    expect_nil("GET k");
    expect_status("OK", "SET k v PXAT 1");
    expect_nil("SET k w PXAT 1 GET");
    expect_nil("GET k");
}

Test(strings, set_keepttl_keeps_the_expiry)
{
    expect_status("OK", "SET k v PX 300");
    expect_status("OK", "SET k w KEEPTTL");
    expect_str("w", "GET k");
    expect_key_expires_within("k", 3000);
}

Test(strings, plain_set_clears_the_expiry)
{
    expect_status("OK", "SET k v PX 100");
    expect_status("OK", "SET k w");
    expect_key_survives("k", 300);
}

Test(strings, set_pxat_absolute_time_expires)
{
    char when[32];
    snprintf(when, sizeof(when), "%lld",
             (long long)time(NULL) * 1000 + 1200);
    expect_status("OK", "SET k v PXAT %s", when);
    expect_str("v", "GET k");
    expect_key_expires_within("k", 5000);
}

Test(strings, setex_and_psetex_store_with_a_ttl)
{
    expect_status("OK", "SETEX k 100 v");
    expect_str("v", "GET k");
    expect_status("OK", "PSETEX p 100 v");
    expect_str("v", "GET p");
    expect_key_expires_within("p", 3000);
    expect_str("v", "GET k");
}

Test(strings, setex_and_psetex_name_themselves_in_expire_errors)
{
    expect_error(EXPIRE_ERR("setex"), "SETEX k 0 v");
    expect_error(EXPIRE_ERR("psetex"), "PSETEX k -5 v");
    expect_error(NOT_INT, "SETEX k ten v");
    expect_nil("GET k");
}

Test(strings, setnx_replies_1_then_0)
{
    expect_int(1, "SETNX k a");
    expect_int(0, "SETNX k b");
    expect_str("a", "GET k");
}

Test(strings, getset_replies_old_value_and_clears_the_ttl)
{
    expect_nil("GETSET k a");
    expect_status("OK", "SET k b PX 100");
    expect_str("b", "GETSET k c");
    expect_key_survives("k", 300);
    expect_str("c", "GET k");
}

Test(strings, getdel_replies_the_value_and_deletes_the_key)
{
    expect_nil("GETDEL k");
    expect_status("OK", "SET k v");
    expect_str("v", "GETDEL k");
    expect_nil("GET k");
    expect_nil("GETDEL k");
}

Test(strings, getex_px_sets_an_expiry)
{
    expect_status("OK", "SET k v");
    expect_str("v", "GETEX k PX 100");
    expect_key_expires_within("k", 3000);
}

Test(strings, getex_persist_removes_the_expiry)
{
    expect_status("OK", "SET k v PX 100");
    expect_str("v", "GETEX k PERSIST");
    expect_key_survives("k", 300);
}

Test(strings, getex_without_options_leaves_the_expiry)
{
    expect_status("OK", "SET k v PX 200");
    expect_str("v", "GETEX k");
    expect_key_expires_within("k", 3000);
}

Test(strings, getex_with_a_past_absolute_time_replies_then_deletes)
{
    expect_status("OK", "SET k v");
    expect_str("v", "GETEX k PXAT 1");
    expect_nil("GET k");
    expect_status("OK", "SET k v");
    expect_str("v", "GETEX k EXAT 1");
    expect_nil("GETEX k");
}

Test(strings, getex_rejects_set_only_options_and_bad_times)
{
    expect_status("OK", "SET k v");
    expect_error("ERR syntax error", "GETEX k NX");
    expect_error("ERR syntax error", "GETEX k KEEPTTL");
    expect_error("ERR syntax error", "GETEX k GET");
    expect_error("ERR syntax error", "GETEX k EX 10 PERSIST");
    expect_error(EXPIRE_ERR("getex"), "GETEX k EX 0");
    expect_error(NOT_INT, "GETEX k PX soon");
    /* A missing key answers nil before the time is looked at. */
    expect_nil("GETEX nokey PX soon");
}

/* ---- several keys ---------------------------------------------------------- */

Test(strings, mget_replies_values_and_nils_in_order)
{
    expect_status("OK", "MSET a 1 b 2");
    redisReply *r = redisCommand(rc, "MGET a nokey b a");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 4);
    cr_assert_str_eq(r->element[0]->str, "1");
    cr_assert_eq(r->element[1]->type, REDIS_REPLY_NIL);
    cr_assert_str_eq(r->element[2]->str, "2");
    cr_assert_str_eq(r->element[3]->str, "1");
    freeReplyObject(r);
}

Test(strings, mset_with_a_value_missing_is_an_arity_error)
{
    expect_error("ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    expect_nil("GET a");
    expect_error("ERR wrong number of arguments for 'msetnx' command", "MSETNX a 1 b");
}

Test(strings, mset_overwrites_and_clears_ttls)
{
    expect_status("OK", "SET a old PX 100");
    expect_status("OK", "MSET a new b 2 a newer");
    expect_str("newer", "GET a");
    expect_key_survives("a", 300);
}

Test(strings, msetnx_sets_nothing_when_any_key_exists)
{
    expect_int(1, "MSETNX a 1 b 2");
    expect_int(0, "MSETNX c 3 b 9");
    expect_nil("GET c");
    expect_str("2", "GET b");
    /* A key named twice takes its last value. */
    expect_int(1, "MSETNX d 1 d 2");
    expect_str("2", "GET d");
}

/* ---- APPEND / SETRANGE / GETRANGE ---------------------------------------- */

Test(strings, append_creates_then_extends)
{
    expect_int(5, "APPEND k hello");
    expect_int(11, "APPEND k %s", " world");
    expect_int(11, "APPEND k %s", "");
    expect_str("hello world", "GET k");
    expect_int(0, "APPEND e %s", "");
    expect_str("", "GET e");
}

Test(strings, append_keeps_the_ttl)
{
    expect_status("OK", "SET k v PX 200");
    expect_int(2, "APPEND k w");
    expect_key_expires_within("k", 3000);
}

Test(strings, many_appends_build_a_large_value)
{
    char chunk[1024];
    const int n = 2048;   /* 2 MiB in all */
    for (int i = 0; i < n; i++) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        redisAppendCommand(rc, "APPEND big %b", chunk, sizeof(chunk));
    }
    for (int i = 0; i < n; i++) {
        redisReply *r;
        cr_assert_eq(redisGetReply(rc, (void **)&r), REDIS_OK);
        cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
        cr_assert_eq(r->integer, (long long)(i + 1) * 1024);
        freeReplyObject(r);
    }
    expect_int((long long)n * 1024, "STRLEN big");
    /* Spot-check chunk boundaries. */
    expect_bulk("za", 2, "GETRANGE big %d %d", 26 * 1024 - 1, 26 * 1024);
    memset(chunk, 'a' + (n - 1) % 26, sizeof(chunk));
    expect_bulk(chunk, sizeof(chunk), "GETRANGE big -1024 -1");
}

Test(strings, append_past_proto_max_bulk_len_is_refused,
     .init = start_small_bulk_limit)
{
    size_t limit = 1024 * 1024;
    char *val = malloc(limit);
    cr_assert_not_null(val);
    memset(val, 'x', limit);
    expect_status("OK", "SET k %b", val, limit - 10);
    expect_int((long long)limit, "APPEND k %b", val, (size_t)10);
    expect_error(TOO_BIG, "APPEND k x");
    expect_int((long long)limit, "STRLEN k");
    free(val);
}

Test(strings, setrange_past_proto_max_bulk_len_is_refused,
     .init = start_small_bulk_limit)
{
    expect_error(TOO_BIG, "SETRANGE k 1048576 x");
    expect_nil("GET k");
    expect_int(1048576, "SETRANGE k 1048575 x");
    expect_error(TOO_BIG, "SETRANGE k 1048575 xy");
    expect_error(TOO_BIG, "SETRANGE k 9223372036854775807 x");
}

Test(strings, setrange_overwrites_and_pads_with_zero_bytes)
{
    expect_status("OK", "SET k %s", "Hello World");
    expect_int(11, "SETRANGE k 6 Redis");
    expect_str("Hello Redis", "GET k");
    expect_int(16, "SETRANGE k 14 !!");
    expect_bulk("Hello Redis\0\0\0!!", 16, "GET k");
    expect_int(4, "SETRANGE n 2 ab");
    expect_bulk("\0\0ab", 4, "GET n");
}

Test(strings, setrange_with_an_empty_value_creates_nothing)
{
    expect_int(0, "SETRANGE k 5 %s", "");
    expect_nil("GET k");
    expect_status("OK", "SET k abc");
    expect_int(3, "SETRANGE k 10 %s", "");
    expect_str("abc", "GET k");
}

Test(strings, setrange_rejects_a_negative_offset)
{
    expect_error("ERR offset is out of range", "SETRANGE k -1 x");
    expect_error(NOT_INT, "SETRANGE k one x");
}

Test(strings, getrange_handles_negative_and_out_of_range_indexes)
{
    expect_status("OK", "SET k %s", "This is a string");
    expect_str("This", "GETRANGE k 0 3");
    expect_str("ing", "GETRANGE k -3 -1");
    expect_str("This is a string", "GETRANGE k 0 -1");
    expect_str("string", "GETRANGE k 10 100");
    expect_str("", "GETRANGE k 5 3");
    expect_str("", "GETRANGE k -1 -5");
    expect_str("This is a string", "GETRANGE k -100 100");
    expect_str("", "GETRANGE nokey 0 -1");
    expect_str("This", "SUBSTR k 0 3");
    expect_error(NOT_INT, "GETRANGE k a 1");
}

Test(strings, strlen_counts_bytes_and_is_zero_for_a_missing_key)
{
    expect_int(0, "STRLEN k");
    expect_status("OK", "SET k %b", "a\0b", (size_t)3);
    expect_int(3, "STRLEN k");
}

/* ---- counters -------------------------------------------------------------- */

Test(strings, incr_and_decr_count_from_zero)
{
    expect_int(1, "INCR c");
    expect_int(2, "INCR c");
    expect_int(1, "DECR c");
    expect_int(-1, "DECR d");
    expect_int(10, "INCRBY c 9");
    expect_int(-5, "INCRBY c -15");
    expect_int(0, "DECRBY c -5");
    expect_str("0", "GET c");
}

Test(strings, incr_rewrites_values_that_change_length)
{
    expect_status("OK", "SET c 99");
    expect_int(100, "INCR c");
    expect_str("100", "GET c");
    expect_int(99, "DECR c");
    expect_str("99", "GET c");
    expect_int(-1, "INCRBY c -100");
    expect_str("-1", "GET c");
    expect_int(9223372036854775806LL, "INCRBY c 9223372036854775807");
    expect_str("9223372036854775806", "GET c");
}

Test(strings, incr_overflow_is_refused_and_leaves_the_value)
{
    expect_status("OK", "SET c 9223372036854775807");
    expect_error("ERR increment or decrement would overflow", "INCR c");
    expect_error("ERR increment or decrement would overflow", "INCRBY c 1");
    expect_str("9223372036854775807", "GET c");
    expect_status("OK", "SET c -9223372036854775808");
    expect_error("ERR increment or decrement would overflow", "DECR c");
    expect_error("ERR increment or decrement would overflow", "DECRBY c 1");
    expect_str("-9223372036854775808", "GET c");
    expect_error("ERR decrement would overflow", "DECRBY c -9223372036854775808");
}

Test(strings, incr_of_a_non_integer_is_refused)
{
    static const char *const bad[] = {"abc", " 1", "1 ", "+1", "01", "-0",
                                      "1.0", "", "9223372036854775808"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_status("OK", "SET c %s", bad[i]);
        expect_error(NOT_INT, "INCR c");
        expect_str(bad[i], "GET c");
    }
    expect_error(NOT_INT, "INCRBY c x");
    expect_error(NOT_INT, "DECRBY c 1.5");
}

Test(strings, incr_keeps_the_ttl)
{
    expect_status("OK", "SET c 1 PX 200");
    expect_int(2, "INCR c");
    expect_key_expires_within("c", 3000);
}

Test(strings, incrbyfloat_prints_like_redis)
{
    expect_str("10.5", "INCRBYFLOAT f 10.5");
    expect_str("10.6", "INCRBYFLOAT f 0.1");
    expect_str("5.6", "INCRBYFLOAT f -5");
    expect_status("OK", "SET f 5.0e3");
    expect_str("5200", "INCRBYFLOAT f 2.0e2");
    expect_status("OK", "SET f 3");
    expect_str("0", "INCRBYFLOAT f -3");
    expect_str("16", "INCRBYFLOAT h 0x10");
    expect_str("16", "GET h");
}

Test(strings, incrbyfloat_can_reread_its_own_long_output)
{
    /* 1e300 prints as 301 digits: longer than a 256-byte parse buffer. */
    redisReply *r = redisCommand(rc, "INCRBYFLOAT f 1e300");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_eq(r->len, 301);
    freeReplyObject(r);
    r = redisCommand(rc, "INCRBYFLOAT f -1e300");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s", r->str);
    freeReplyObject(r);
}

Test(strings, incrbyfloat_refuses_bad_floats_nan_and_infinity)
{
    expect_error(NOT_FLOAT, "INCRBYFLOAT f abc");
    expect_error(NOT_FLOAT, "INCRBYFLOAT f %s", " 1");
    expect_error(NOT_FLOAT, "INCRBYFLOAT f nan");
    expect_error(NOT_FLOAT, "INCRBYFLOAT f 1e5000");
    expect_error("ERR increment would produce NaN or Infinity", "INCRBYFLOAT f inf");
    expect_nil("GET f");
    expect_status("OK", "SET f notanumber");
    expect_error(NOT_FLOAT, "INCRBYFLOAT f 1");
}

Test(strings, incrbyfloat_keeps_the_ttl)
{
    expect_status("OK", "SET f 1 PX 200");
    expect_str("2.5", "INCRBYFLOAT f 1.5");
    expect_key_expires_within("f", 3000);
}

/* Regression (issue 9 item 8): SET k "1.5\0" then INCRBYFLOAT k 1 answered
 * 2.5 where Redis answers "value is not a valid float"; the same for an
 * increment with an embedded NUL. */
Test(strings, incrbyfloat_rejects_a_value_with_an_embedded_nul)
{
    expect_status("OK", "SET f %b", "1.5\0", (size_t)4);
    expect_error(NOT_FLOAT, "INCRBYFLOAT f 1");
    expect_bulk("1.5\0", 4, "GET f");
    expect_status("OK", "SET g 1");
    expect_error(NOT_FLOAT, "INCRBYFLOAT g %b", "1\0", (size_t)2);
    expect_status("OK", "SET i %b", "12\0", (size_t)3);
    expect_error("ERR value is not an integer or out of range", "INCR i");
}

/* Regression (issue 9 item 9): OBJECT ENCODING stayed int/embstr after
 * APPEND or SETRANGE, where Redis 7.0 reports raw; INCRBYFLOAT's "2" is an
 * embstr there, not an int. */
Test(strings, object_encoding_is_raw_after_append_or_setrange)
{
    expect_status("OK", "SET a 123");
    expect_str("int", "OBJECT ENCODING a");
    expect_int(4, "APPEND a 4");
    expect_str("raw", "OBJECT ENCODING a");
    expect_status("OK", "SET b abc");
    expect_int(3, "SETRANGE b 0 x");
    expect_str("raw", "OBJECT ENCODING b");
    expect_int(3, "APPEND c abc");
    expect_str("embstr", "OBJECT ENCODING c");
    expect_int(1235, "INCR a");
    expect_str("int", "OBJECT ENCODING a");
    expect_str("2", "INCRBYFLOAT f 2");
    expect_str("embstr", "OBJECT ENCODING f");
    expect_status("OK", "SET b abc");
    expect_str("embstr", "OBJECT ENCODING b");
}
