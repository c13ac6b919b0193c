/* DEBUG: the subcommands client test suites call (OBJECT, SLEEP, DIGEST,
 * RELOAD, LOADAOF, PROTOCOL, CHANGE-REPL-ID, ERROR, POPULATE...), one table row each.  Who
 * may run DEBUG at all is dispatch's check (enable-debug-command). */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/dump.h"
#include "node/object.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int
arg_is(const struct client *c, size_t i, const char *word)
{
    return c->argv[i].len == strlen(word)
           && strncasecmp(c->argv[i].ptr, word, c->argv[i].len) == 0;
}

/* ---- OBJECT, SLEEP, SET-ACTIVE-EXPIRE, DIGEST ------------------------------ */

static void
debug_object(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[2].ptr, c->argv[2].len,
                                LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    char buf[256];
    if (e == NULL) {
        reply_error(c, "no such key");
        return;
    }
    const struct obj_type *t = obj_type_of(e->type);
    /* Redis's figure: the value's RDB bytes, compressed per rdbcompression.
     * A hash with field expirations has none: the memory it owns instead. */
    long long len = dump_serialized_length(e, c->srv->cfg.rdbcompression);
    snprintf(buf, sizeof(buf),
             "Value at:%p refcount:1 encoding:%s serializedlength:%lld lru:%u "
             "lru_seconds_idle:%lld",
             (void *)e, t ? t->encoding(entry_obj(e)) : entry_encoding(e),
             len >= 0 ? len : (long long)t->memory(entry_obj(e)),
             (unsigned)e->lru, c->srv->ks.lfu ? 0 : db_idle_ms(&c->srv->ks, e) / 1000);
    reply_status(c, buf);
}

/* Blocks the whole server on purpose: tests use it to simulate a slow
 * command (slow log, timeouts, client buffers). */
static void
debug_sleep(struct client *c)
{
    double secs;
    struct timespec ts;
    if (util_str2d(c->argv[2].ptr, c->argv[2].len, &secs) != 0 || secs < 0
        || secs > 1e6) {
        reply_error(c, "value is not a valid float");
        return;
    }
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    reply_ok(c);
}

static void
debug_set_active_expire(struct client *c)
{
    long long v;
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &v) != 0) {
        reply_not_integer(c);
        return;
    }
    c->srv->ks.active_expire = v != 0;
    log_info("DEBUG SET-ACTIVE-EXPIRE %d", c->srv->ks.active_expire);
    reply_ok(c);
}

/* DEBUG PAUSE-CRON <0|1>: Redis's test aid; 1 stops everything the cron
 * does (expiry ticks, client checks, the client-memory recount...). */
static void
debug_pause_cron(struct client *c)
{
    long long v;
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &v) != 0) {
        reply_not_integer(c);
        return;
    }
    c->srv->cron_paused = v != 0;
    reply_ok(c);
}

/* DEBUG REPLYBUFFER PEAK-RESET-TIME <never|reset|ms> | RESIZING <0|1>:
 * accepted for Redis's tests; a reply buffer here is a fixed 16 KiB,
 * never resized, so there is nothing to change. */
static void
debug_replybuffer(struct client *c)
{
    long long v;
    if (arg_is(c, 2, "resizing") && util_str2ll(c->argv[3].ptr, c->argv[3].len, &v) == 0) {
        reply_ok(c);
    } else if (arg_is(c, 2, "peak-reset-time")
               && (arg_is(c, 3, "never") || arg_is(c, 3, "reset")
                   || util_str2ll(c->argv[3].ptr, c->argv[3].len, &v) == 0)) {
        reply_ok(c);
    } else {
        reply_syntax_error(c);
    }
}

static void
debug_digest(struct client *c)
{
    char digest[41];
    snapshot_digest(c->srv, digest);
    reply_status(c, digest);
}

/* ---- POPULATE --------------------------------------------------------------- */

static void debug_syntax_error(struct client *c);

/* Redis's getPositiveLongFromObjectOrReply: one message for both a
 * non-integer and a negative value. */
static int
positive_arg(struct client *c, size_t i, long long *out)
{
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, out) != 0 || *out < 0) {
        reply_error(c, "value is out of range, must be positive");
        return -1;
    }
    return 0;
}

/* DEBUG POPULATE <count> [<prefix> [<size>]]: string keys <prefix>:0 ..
 * <prefix>:<count-1> ("key" by default) holding "value:<n>", or that text
 * in <size> bytes padded with zero bytes (cut when shorter); keys that exist
 * are left as they are.  As Redis: names and values are formatted into 128
 * bytes (a longer prefix is cut, a prefix stops at a NUL byte), and nothing
 * is propagated (DEBUG never is).  Test suites (redis-rb's SCAN tests) fill
 * a database this way. */
static void
debug_populate(struct client *c)
{
    long long count, size = 0;
    char prefix[128], key[128], val[128];
    if (c->argc > 5) {
        debug_syntax_error(c);
        return;
    }
    if (positive_arg(c, 2, &count) != 0 || (c->argc == 5 && positive_arg(c, 4, &size) != 0)) {
        return;
    }
    if ((unsigned long long)size > c->srv->cfg.proto_max_bulk_len) {
        /* Redis would try and run out of memory: no value can be longer. */
        reply_error(c, "size is larger than proto-max-bulk-len");
        return;
    }
    if (c->argc >= 4) {
        size_t n = c->argv[3].len < sizeof(prefix) - 1 ? c->argv[3].len : sizeof(prefix) - 1;
        memcpy(prefix, c->argv[3].ptr, n);
        prefix[n] = '\0';
    } else {
        strcpy(prefix, "key");
    }
    char *buf = size > 0 ? mem_calloc((size_t)size) : NULL;
    for (long long j = 0; j < count; j++) {
        int klen = snprintf(key, sizeof(key), "%s:%llu", prefix, (unsigned long long)j);
        klen = klen < (int)sizeof(key) ? klen : (int)sizeof(key) - 1;
        if (db_lookup(c->db, key, (size_t)klen, LOOKUP_WRITE) != NULL) {
            continue;
        }
        int vlen = snprintf(val, sizeof(val), "value:%llu", (unsigned long long)j);
        if (buf == NULL) {
            db_set(c->db, key, (size_t)klen, val, (size_t)vlen, -1, 0);
        } else {
            size_t n = (size_t)vlen < (size_t)size ? (size_t)vlen : (size_t)size;
            memcpy(buf, val, n);
            db_set(c->db, key, (size_t)klen, buf, (size_t)size, -1, 0);
        }
    }
    mem_free(buf);
    reply_ok(c);
}

/* ---- RELOAD, LOADAOF, CHANGE-REPL-ID ------------------------------------- */

/* DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the snapshot and load it
 * back in place.  NOFLUSH keeps the keys present (the file's win on a
 * conflict, which is MERGE's behaviour; Redis would stop on a conflict
 * without MERGE). */
static void
debug_reload(struct client *c)
{
    int save = 1, flush = 1;
    char err[256];
    for (size_t i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "merge")) {
            continue;
        } else if (arg_is(c, i, "noflush")) {
            flush = 0;
        } else if (arg_is(c, i, "nosave")) {
            save = 0;
        } else {
            reply_error(c, "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                           "options.");
            return;
        }
    }
    if (persist_debug_reload(c->srv, save, flush, err, sizeof(err)) != 0) {
        reply_error(c, err);
        return;
    }
    reply_ok(c);
}

static void
debug_loadaof(struct client *c)
{
    char err[256];
    if (persist_debug_loadaof(c->srv, err, sizeof(err)) != 0) {
        reply_error(c, err);
        return;
    }
    reply_ok(c);
}

static void
debug_change_repl_id(struct client *c)
{
    repl_change_replid(c->srv);
    reply_ok(c);
}

/* ERROR <message>: the message as an error reply, verbatim ("-<message>",
 * no ERR added, CR and LF as spaces), as Redis sends it: client suites
 * fake a LOADING or READONLY reply with it.  Like Redis, not counted in
 * the error statistics. */
static void
debug_error(struct client *c)
{
    const char *p = c->argv[2].ptr;
    size_t len = c->argv[2].len;
    char chunk[256];

    reply_raw(c, "-", 1);
    while (len > 0) {
        size_t n = len < sizeof(chunk) ? len : sizeof(chunk);
        for (size_t i = 0; i < n; i++) {
            chunk[i] = (p[i] == '\r' || p[i] == '\n') ? ' ' : p[i];
        }
        reply_raw(c, chunk, n);
        p += n;
        len -= n;
    }
    reply_raw(c, "\r\n", 2);
}

/* ---- PROTOCOL: one value of each RESP3 type, as Redis sends them --------- */

static void
proto_string(struct client *c)
{
    reply_bulk_cstr(c, "Hello World");
}

static void
proto_integer(struct client *c)
{
    reply_int(c, 12345);
}

static void
proto_double(struct client *c)
{
    reply_double(c, 3.141);
}

static void
proto_bignum(struct client *c)
{
    static const char digits[] = "1234567999999999999999999999999999999";
    reply_bignum(c, digits, sizeof(digits) - 1);
}

static void
proto_null(struct client *c)
{
    reply_null(c);
}

static void
proto_array(struct client *c)
{
    reply_array_len(c, 3);
    for (int i = 0; i < 3; i++) {
        reply_int(c, i);
    }
}

static void
proto_set(struct client *c)
{
    reply_set_len(c, 3);
    for (int i = 0; i < 3; i++) {
        reply_int(c, i);
    }
}

static void
proto_map(struct client *c)
{
    reply_map_len(c, 3);
    for (int i = 0; i < 3; i++) {
        reply_int(c, i);
        reply_bool(c, i == 1);
    }
}

static void
proto_attrib(struct client *c)
{
    if (reply_attribute_len(c, 1)) {
        reply_bulk_cstr(c, "key-popularity");
        reply_array_len(c, 2);
        reply_bulk_cstr(c, "key:123");
        reply_int(c, 90);
    }
    reply_bulk_cstr(c, "Some real reply following the attribute");
}

static void
proto_push(struct client *c)
{
    if (c->resp < 3) {
        reply_error(c, "RESP2 is not supported by this command");
        return;
    }
    reply_push_len(c, 2);
    reply_bulk_cstr(c, "server-cpu-usage");
    reply_int(c, 42);
    reply_bulk_cstr(c, "Some real reply following the push reply");
}

static void
proto_verbatim(struct client *c)
{
    static const char text[] = "This is a verbatim\nstring";
    reply_verbatim(c, text, sizeof(text) - 1, "txt");
}

static void
proto_true(struct client *c)
{
    reply_bool(c, 1);
}

static void
proto_false(struct client *c)
{
    reply_bool(c, 0);
}

/* In Redis's order: its error message lists them so. */
static const struct {
    const char *name;
    cmd_handler_fn fn;
} proto_types[] = {
    {"string", proto_string},     {"integer", proto_integer},
    {"double", proto_double},     {"bignum", proto_bignum},
    {"null", proto_null},         {"array", proto_array},
    {"set", proto_set},           {"map", proto_map},
    {"attrib", proto_attrib},     {"push", proto_push},
    {"verbatim", proto_verbatim}, {"true", proto_true},
    {"false", proto_false},
};

static void
debug_protocol(struct client *c)
{
    for (size_t i = 0; i < sizeof(proto_types) / sizeof(proto_types[0]); i++) {
        if (arg_is(c, 2, proto_types[i].name)) {
            proto_types[i].fn(c);
            return;
        }
    }
    reply_error(c, "Wrong protocol type name. Please use one of the following: "
                   "string|integer|double|bignum|null|array|set|map|attrib|push|"
                   "verbatim|true|false");
}

/* ---- the table ------------------------------------------------------------ */

static void debug_help(struct client *c);

/* argc counts DEBUG and the subcommand; negative means at least -argc. */
static const struct {
    const char *name;
    int argc;
    cmd_handler_fn fn;
} debug_subs[] = {
    {"OBJECT", 3, debug_object},
    {"SLEEP", 3, debug_sleep},
    {"SET-ACTIVE-EXPIRE", 3, debug_set_active_expire},
    {"DIGEST", 2, debug_digest},
    {"RELOAD", -2, debug_reload},
    {"LOADAOF", 2, debug_loadaof},
    {"PROTOCOL", 3, debug_protocol},
    {"CHANGE-REPL-ID", 2, debug_change_repl_id},
    {"ERROR", 3, debug_error},
    {"POPULATE", -3, debug_populate},
    {"PAUSE-CRON", 3, debug_pause_cron},
    {"REPLYBUFFER", 4, debug_replybuffer},
    {"HELP", 2, debug_help},
};

static void
debug_help(struct client *c)
{
    static const char *const lines[] = {
        "CHANGE-REPL-ID",
        "    Give the server a new replication id and forget the second one:",
        "    replicas that reconnect resync fully. For testing replication.",
        "DIGEST",
        "    A fingerprint of the whole dataset: equal on nodes holding the",
        "    same keys, values and expiry times.",
        "ERROR <string>",
        "    Reply with <string> as an error, as it is: client test suites fake",
        "    a LOADING or READONLY reply with it.",
        "LOADAOF",
        "    Write the append-only buffer to the file, then empty the server",
        "    and load the file back (needs appendonly yes).",
        "OBJECT <key>",
        "    Low-level facts about a key: address, encoding, serialized length",
        "    and LRU clock.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>, or <prefix>:<num>; with",
        "    <size>, each value is that many bytes. Existing keys are kept.",
        "PAUSE-CRON <0|1>",
        "    1 stops the server's periodic work (expiry ticks, client checks,",
        "    statistics); 0 resumes it.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
        "    Save the snapshot file and load it back in place. NOSAVE loads the",
        "    existing file; NOFLUSH keeps the keys present (the file's values win,",
        "    as with MERGE).",
        "REPLYBUFFER PEAK-RESET-TIME <never|reset|ms> | RESIZING <0|1>",
        "    Accepted: reply buffers are a fixed 16 KiB, never resized.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    0 stops expiring keys in the background (keys still expire when",
        "    accessed); 1 turns it back on.",
        "SLEEP <seconds>",
        "    Block the whole server for <seconds>; decimals are allowed.",
        NULL,
    };
    reply_help(c, "DEBUG", lines);
}

/* An unknown subcommand or a wrong number of arguments: Redis's wording
 * first, so scripts matching it still work, then what this server supports. */
static void
debug_syntax_error(struct client *c)
{
    char supported[512];
    size_t off = 0;
    for (size_t i = 0; i < sizeof(debug_subs) / sizeof(debug_subs[0]); i++) {
        int k = snprintf(supported + off, sizeof(supported) - off, "%s%s", i ? ", " : "",
                         debug_subs[i].name);
        if (k < 0 || (size_t)k >= sizeof(supported) - off) {
            break; /* the list is cut short rather than overrun */
        }
        off += (size_t)k;
    }
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. "
                 "Try DEBUG HELP. Supported: %s.",
                 (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr,
                 supported);
}

void
cmd_debug(struct client *c)
{
    int argc = (int)c->argc;

    for (size_t i = 0; i < sizeof(debug_subs) / sizeof(debug_subs[0]); i++) {
        int want = debug_subs[i].argc;
        if (arg_is(c, 1, debug_subs[i].name)
            && (want >= 0 ? argc == want : argc >= -want)) {
            debug_subs[i].fn(c);
            return;
        }
    }
    debug_syntax_error(c);
}
