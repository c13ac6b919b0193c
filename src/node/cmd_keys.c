/* The keyspace command family: deletion and existence, renaming, expiry,
 * iteration (KEYS, SCAN, RANDOMKEY), database selection and movement, and
 * the OBJECT and MEMORY introspection commands, with Redis 7.0's replies and
 * error strings.  Keyspace changes go through node/db.h. */
#include "node/handlers.h"
#include "node/notify.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/evict.h"
#include "node/info.h"
#include "core/rbuf.h"
#include "node/server.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHARED_INTEGERS 10000   /* Redis shares the objects of 0..9999 */

/* ---- argument helpers ------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

/* Parse a database index as Redis's getIntFromObjectOrReply does: replies
 * and returns -1 when it is not an integer or does not fit an int. */
static int
parse_int_or_reply(struct client *c, const struct resp_arg *a, int *out)
{
    long long v;
    if (util_str2ll(a->ptr, a->len, &v) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(c, "value is out of range, value must between "
                       "-2147483648 and 2147483647");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static struct db *
db_by_index(struct client *c, int id)
{
    if (id < 0 || id >= c->srv->ks.ndb) {
        return NULL;
    }
    return &c->srv->ks.dbs[id];
}

/* A generic-class keyspace notification about key in database dbid. */
static void
keys_notify(struct client *c, const char *event, const struct resp_arg *key, int dbid)
{
    notify_keyspace_event(c->srv, NOTIFY_GENERIC, event, key->ptr, key->len, dbid);
}

/* ---- DEL, UNLINK, EXISTS, TOUCH, TYPE ---------------------------------- */

static void
delete_keys(struct client *c, int async)
{
    long long n = 0;
    int saved = c->srv->ks.free_async;
    c->srv->ks.free_async = async;
    for (size_t i = 1; i < c->argc; i++) {
        if (db_delete(c->db, c->argv[i].ptr, c->argv[i].len)) {
            keys_notify(c, "del", &c->argv[i], c->db->id);
            n++;
        }
    }
    c->srv->ks.free_async = saved;
    reply_int(c, n);
}

void
cmd_del(struct client *c)
{
    delete_keys(c, c->srv->cfg.lazyfree_lazy_user_del);
}

/* A string entry is one block, freed at once; a big collection goes to the
 * lazy-free thread. */
void
cmd_unlink(struct client *c)
{
    delete_keys(c, 1);
}

static void
count_keys(struct client *c, int flags)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++) {
        if (db_lookup(c->db, c->argv[i].ptr, c->argv[i].len, flags) != NULL) {
            n++;
        }
    }
    reply_int(c, n);
}

void
cmd_exists(struct client *c)
{
    count_keys(c, LOOKUP_NOTOUCH);
}

void
cmd_touch(struct client *c)
{
    count_keys(c, 0);
}

void
cmd_type(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len,
                                LOOKUP_NOTOUCH);
    reply_status(c, e == NULL ? "none" : obj_type_name(e));
}

/* ---- RENAME, RENAMENX ---------------------------------------------------- */

static void
rename_generic(struct client *c, int nx)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    if (db_lookup(c->db, src->ptr, src->len, LOOKUP_WRITE) == NULL) {
        reply_error(c, "no such key");
        return;
    }
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        if (nx) {
            reply_int(c, 0);
        } else {
            reply_ok(c);
        }
        return;
    }
    if (nx && db_lookup(c->db, dst->ptr, dst->len, LOOKUP_WRITE) != NULL) {
        reply_int(c, 0);
        return;
    }
    db_rename(c->db, src->ptr, src->len, dst->ptr, dst->len);
    keys_notify(c, "rename_from", src, c->db->id);
    keys_notify(c, "rename_to", dst, c->db->id);
    if (nx) {
        reply_int(c, 1);
    } else {
        reply_ok(c);
    }
}

void
cmd_rename(struct client *c)
{
    rename_generic(c, 0);
}

void
cmd_renamenx(struct client *c)
{
    rename_generic(c, 1);
}

/* ---- EXPIRE family ------------------------------------------------------ */

enum expire_flag {
    EXPIRE_NX = 1 << 0,
    EXPIRE_XX = 1 << 1,
    EXPIRE_GT = 1 << 2,
    EXPIRE_LT = 1 << 3,
};

static int
parse_expire_flags(struct client *c, int *flags)
{
    for (size_t i = 3; i < c->argc; i++) {
        const struct resp_arg *a = &c->argv[i];
        if (arg_is(a, "nx")) {
            *flags |= EXPIRE_NX;
        } else if (arg_is(a, "xx")) {
            *flags |= EXPIRE_XX;
        } else if (arg_is(a, "gt")) {
            *flags |= EXPIRE_GT;
        } else if (arg_is(a, "lt")) {
            *flags |= EXPIRE_LT;
        } else {
            /* Redis formats the option with %s: it stops at a NUL byte. */
            reply_errorf(c, "Unsupported option %.*s",
                         (int)strnlen(a->ptr, a->len), a->ptr);
            return -1;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c, "NX and XX, GT or LT options at the same time are not "
                       "compatible");
        return -1;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c, "GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Whether the NX/XX/GT/LT conditions let a key whose expiry is cur (-1 for
 * none, which counts as infinite) take the new time when. */
static int
expire_allowed(int flags, long long cur, long long when)
{
    if ((flags & EXPIRE_NX) && cur != -1) {
        return 0;
    }
    if ((flags & EXPIRE_XX) && cur == -1) {
        return 0;
    }
    if ((flags & EXPIRE_GT) && (cur == -1 || when <= cur)) {
        return 0;
    }
    if ((flags & EXPIRE_LT) && cur != -1 && when >= cur) {
        return 0;
    }
    return 1;
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: basetime is added to the argument
 * (now for the relative forms, 0 for the absolute ones). */
static void
expire_generic(struct client *c, long long basetime, int seconds)
{
    struct db *db = c->db;
    int flags = 0;
    long long when;

    if (parse_expire_flags(c, &flags) != 0) {
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &when) != 0) {
        reply_not_integer(c);
        return;
    }
    /* Negative times are allowed (they delete the key); only overflow of
     * the unit conversion or of the addition is refused. */
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_errorf(c, "invalid expire time in '%s' command", c->cmd->name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_errorf(c, "invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    when += basetime;

    struct entry **ref = db_lookup_ref(db, c->argv[1].ptr, c->argv[1].len,
                                       LOOKUP_WRITE);
    if (ref == NULL || !expire_allowed(flags, entry_expire(*ref), when)) {
        reply_int(c, 0);
        return;
    }
    /* A time already past deletes the key now, except on a replica, which
     * waits for its master's DEL. */
    if (when <= db->ks->now_ms && !db->ks->is_replica) {
        db_delete_ref(db, ref);
        keys_notify(c, "del", &c->argv[1], db->id);
    } else {
        db_set_expire(db, ref, when < 0 ? 0 : when);
        keys_notify(c, "expire", &c->argv[1], db->id);
    }
    /* Relative times go out absolute (PEXPIREAT), or as the DEL they did. */
    propagate_expire_state(c, &c->argv[1]);
    reply_int(c, 1);
}

void
cmd_expire(struct client *c)
{
    expire_generic(c, c->srv->ks.now_ms, 1);
}

void
cmd_pexpire(struct client *c)
{
    expire_generic(c, c->srv->ks.now_ms, 0);
}

void
cmd_expireat(struct client *c)
{
    expire_generic(c, 0, 1);
}

void
cmd_pexpireat(struct client *c)
{
    expire_generic(c, 0, 0);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 when the key is missing, -1 when
 * it has no expiry; seconds are rounded to the nearest. */
static void
ttl_generic(struct client *c, int ms, int absolute)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len,
                                LOOKUP_NOTOUCH);
    if (e == NULL) {
        reply_int(c, -2);
        return;
    }
    long long expire = entry_expire(e);
    if (expire == -1) {
        reply_int(c, -1);
        return;
    }
    long long t = absolute ? expire : expire - c->srv->ks.now_ms;
    if (t < 0) {
        t = 0;
    }
    /* Rounded to the nearest second as (t + 500) / 1000 in Redis, without
     * its overflow for a time within 500 ms of LLONG_MAX (UBSan). */
    reply_int(c, ms ? t : t / 1000 + (t % 1000 >= 500));
}

void
cmd_ttl(struct client *c)
{
    ttl_generic(c, 0, 0);
}

void
cmd_pttl(struct client *c)
{
    ttl_generic(c, 1, 0);
}

void
cmd_expiretime(struct client *c)
{
    ttl_generic(c, 0, 1);
}

void
cmd_pexpiretime(struct client *c)
{
    ttl_generic(c, 1, 1);
}

void
cmd_persist(struct client *c)
{
    struct entry **ref = db_lookup_ref(c->db, c->argv[1].ptr, c->argv[1].len,
                                       LOOKUP_WRITE);
    if (ref == NULL || !(*ref)->volatile_) {
        reply_int(c, 0);
        return;
    }
    db_set_expire(c->db, ref, -1);
    keys_notify(c, "persist", &c->argv[1], c->db->id);
    reply_int(c, 1);
}

/* ---- KEYS, SCAN, RANDOMKEY ---------------------------------------------- */

/* Entries gathered by an iteration.  They are borrowed: nothing may change
 * the keyspace between gathering and replying. */
struct key_filter {
    struct db *db;
    const char *pat;           /* borrowed from argv; NULL matches all */
    size_t patlen;
    int type;                  /* enum entry_type for TYPE, -1 any, -2 none */
    size_t visited;            /* entries seen before filtering */
    struct entry **out;        /* owned */
    size_t n, cap;
};

static void
key_filter_visit(struct entry *e, void *arg)
{
    struct key_filter *f = arg;
    f->visited++;
    /* Logically expired keys are hidden but not deleted: deleting here
     * would free entries the iteration still walks. */
    if ((f->type != -1 && f->type != (int)e->type) || db_entry_expired(f->db, e)) {
        return;
    }
    if (f->pat != NULL
        && !util_glob_match(f->pat, f->patlen, entry_key(e), entry_keylen(e), 0)) {
        return;
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->out = mem_realloc(f->out, f->cap * sizeof(*f->out));
    }
    f->out[f->n++] = e;
}

static void
key_filter_pattern(struct key_filter *f, const struct resp_arg *a)
{
    /* "*" matches everything: skip the matcher. */
    if (a->len == 1 && a->ptr[0] == '*') {
        f->pat = NULL;
    } else {
        f->pat = a->ptr;
        f->patlen = a->len;
    }
}

static void
reply_keys(struct client *c, struct key_filter *f)
{
    reply_array_len(c, (long long)f->n);
    for (size_t i = 0; i < f->n; i++) {
        reply_bulk(c, entry_key(f->out[i]), entry_keylen(f->out[i]));
    }
    mem_free(f->out);
    f->out = NULL;
}

void
cmd_keys(struct client *c)
{
    struct key_filter f = {.db = c->db, .type = -1};
    key_filter_pattern(&f, &c->argv[1]);
    dict_foreach(&c->db->dict, key_filter_visit, &f);
    reply_keys(c, &f);
}

void
cmd_scan(struct client *c)
{
    struct key_filter f = {.db = c->db, .type = -1};
    unsigned long cursor;
    unsigned long long count = 10;

    if (util_scan_cursor(c->argv[1].ptr, c->argv[1].len, &cursor) != 0) {
        reply_error(c, "invalid cursor");
        return;
    }
    for (size_t i = 2; i < c->argc; i += 2) {
        const struct resp_arg *opt = &c->argv[i];
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        const struct resp_arg *val = &c->argv[i + 1];
        if (arg_is(opt, "count")) {
            long long n;
            if (util_str2ll(val->ptr, val->len, &n) != 0) {
                reply_not_integer(c);
                return;
            }
            if (n < 1) {
                reply_syntax_error(c);
                return;
            }
            count = (unsigned long long)n;
        } else if (arg_is(opt, "match")) {
            key_filter_pattern(&f, val);
        } else if (arg_is(opt, "type")) {
            /* Redis 7.0 answers an unknown type name with no keys rather
             * than an error. */
            f.type = obj_type_by_name(val->ptr, val->len);
            if (f.type < 0) {
                f.type = -2;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    /* Bound the buckets visited per call so a sparse table cannot make one
     * SCAN walk it all. */
    unsigned long long budget = count > ULLONG_MAX / 10 ? ULLONG_MAX : count * 10;
    do {
        cursor = dict_scan(&c->db->dict, cursor, key_filter_visit, &f);
    } while (cursor != 0 && budget-- > 0 && f.visited < count);

    char buf[32];
    size_t n = util_ull2str(buf, cursor);
    reply_array_len(c, 2);
    reply_bulk(c, buf, n);
    reply_keys(c, &f);
}

void
cmd_randomkey(struct client *c)
{
    struct db *db = c->db;
    struct keyspace *ks = db->ks;
    int tries = 0;

    for (;;) {
        struct entry *e = dict_random(&db->dict);
        if (e == NULL) {
            reply_null(c);
            return;
        }
        /* A replica (or a paused node) may not delete, so after enough
         * expired samples it answers with one of them, as Redis does. */
        if (!db_entry_expired(db, e)
            || (!keyspace_deletes_expired(ks) && ++tries > 100)) {
            reply_bulk(c, entry_key(e), entry_keylen(e));
            return;
        }
        if (keyspace_deletes_expired(ks)) {
            /* Each expired sample is deleted, so this loop ends. */
            db_lookup_ref(db, entry_key(e), entry_keylen(e),
                          LOOKUP_NOSTATS | LOOKUP_NOTOUCH);
        }
    }
}

/* ---- databases ---------------------------------------------------------- */

void
cmd_dbsize(struct client *c)
{
    reply_int(c, (long long)dict_size(&c->db->dict));
}

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: ASYNC (or lazyfree-lazy-user-flush
 * without SYNC) hands the old tables to the lazy-free thread.  Returns 1
 * for async, 0 for sync, -1 after a syntax error. */
static int
parse_flush_args(struct client *c)
{
    if (c->argc > 2
        || (c->argc == 2 && !arg_is(&c->argv[1], "sync")
            && !arg_is(&c->argv[1], "async"))) {
        reply_syntax_error(c);
        return -1;
    }
    if (c->argc == 2) {
        return arg_is(&c->argv[1], "async");
    }
    return c->srv->cfg.lazyfree_lazy_user_flush != 0;
}

static void
flush_db(struct db *db, int async)
{
    if (async) {
        db_flush_async(db);
    } else {
        db_flush(db);
    }
}

void
cmd_flushdb(struct client *c)
{
    int async = parse_flush_args(c);
    if (async < 0) {
        return;
    }
    flush_db(c->db, async);
    reply_ok(c);
}

void
cmd_flushall(struct client *c)
{
    int async = parse_flush_args(c);
    if (async < 0) {
        return;
    }
    for (int i = 0; i < c->srv->ks.ndb; i++) {
        flush_db(&c->srv->ks.dbs[i], async);
    }
    reply_ok(c);
}

void
cmd_select(struct client *c)
{
    int id;
    if (parse_int_or_reply(c, &c->argv[1], &id) != 0) {
        return;
    }
    if (client_select(c, id) != 0) {
        reply_error(c, "DB index is out of range");
        return;
    }
    reply_ok(c);
}

void
cmd_swapdb(struct client *c)
{
    long long id1, id2;
    if (util_str2ll(c->argv[1].ptr, c->argv[1].len, &id1) != 0
        || id1 < INT_MIN || id1 > INT_MAX) {
        reply_error(c, "invalid first DB index");
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &id2) != 0
        || id2 < INT_MIN || id2 > INT_MAX) {
        reply_error(c, "invalid second DB index");
        return;
    }
    struct db *a = db_by_index(c, (int)id1);
    struct db *b = db_by_index(c, (int)id2);
    if (a == NULL || b == NULL) {
        reply_error(c, "DB index is out of range");
        return;
    }
    if (a != b) {
        db_swap(a, b);
    }
    reply_ok(c);
}

void
cmd_move(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct db *dst;
    int id;

    if (parse_int_or_reply(c, &c->argv[2], &id) != 0) {
        return;
    }
    if ((dst = db_by_index(c, id)) == NULL) {
        reply_error(c, "DB index is out of range");
        return;
    }
    if (dst == c->db) {
        reply_error(c, "source and destination objects are the same");
        return;
    }
    if (db_lookup(c->db, key->ptr, key->len, LOOKUP_WRITE) == NULL
        || db_lookup(dst, key->ptr, key->len, LOOKUP_WRITE) != NULL) {
        reply_int(c, 0);
        return;
    }
    db_move(c->db, dst, key->ptr, key->len);
    keys_notify(c, "move_from", key, c->db->id);
    keys_notify(c, "move_to", key, dst->id);
    reply_int(c, 1);
}

void
cmd_copy(struct client *c)
{
    const struct resp_arg *key = &c->argv[1], *newkey = &c->argv[2];
    struct db *dst = c->db;
    int replace = 0;

    for (size_t i = 3; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "replace")) {
            replace = 1;
        } else if (arg_is(&c->argv[i], "db") && i + 1 < c->argc) {
            int id;
            if (parse_int_or_reply(c, &c->argv[i + 1], &id) != 0) {
                return;
            }
            if ((dst = db_by_index(c, id)) == NULL) {
                reply_error(c, "DB index is out of range");
                return;
            }
            i++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (dst == c->db && key->len == newkey->len
        && memcmp(key->ptr, newkey->ptr, key->len) == 0) {
        reply_error(c, "source and destination objects are the same");
        return;
    }
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    if (db_lookup(dst, newkey->ptr, newkey->len, LOOKUP_WRITE) != NULL) {
        if (!replace) {
            reply_int(c, 0);
            return;
        }
        /* newkey differs from key or lives in another db, so deleting it
         * leaves e alone. */
        db_delete(dst, newkey->ptr, newkey->len);
    }
    db_copy(dst, e, newkey->ptr, newkey->len);
    keys_notify(c, "copy_to", newkey, dst->id);
    reply_int(c, 1);
}

/* ---- OBJECT ------------------------------------------------------------- */

/* The entry for OBJECT's key argument, or NULL after replying null. */
static struct entry *
object_lookup(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[2].ptr, c->argv[2].len,
                                LOOKUP_NOTOUCH);
    if (e == NULL) {
        reply_null(c);
    }
    return e;
}

/* Redis keeps a value that reads as a canonical long long as an integer. */
static int
value_as_int(struct entry *e, long long *v)
{
    return entry_vallen(e) <= 20 && util_str2ll(entry_val(e), entry_vallen(e), v) == 0;
}

static int
policy_is_lru_or_lfu(int policy)
{
    return policy == MAXMEMORY_ALLKEYS_LRU || policy == MAXMEMORY_VOLATILE_LRU
           || policy == MAXMEMORY_ALLKEYS_LFU || policy == MAXMEMORY_VOLATILE_LFU;
}

void
cmd_object_encoding(struct client *c)
{
    struct entry *e = object_lookup(c);
    if (e == NULL) {
        return;
    }
    const struct obj_type *t = obj_type_of(e->type);
    if (t != NULL) {
        reply_bulk_cstr(c, t->encoding(entry_obj(e)));
        return;
    }
    reply_bulk_cstr(c, entry_encoding(e));
}

void
cmd_object_freq(struct client *c)
{
    struct entry *e = object_lookup(c);
    if (e == NULL) {
        return;
    }
    if (!c->srv->ks.lfu) {
        reply_error(c, "An LFU maxmemory policy is not selected, access "
                       "frequency not tracked. Please note that when switching "
                       "between policies at runtime LRU and LFU data will take "
                       "some time to adjust.");
        return;
    }
    reply_int(c, db_lfu_counter(&c->srv->ks, e));
}

void
cmd_object_idletime(struct client *c)
{
    struct entry *e = object_lookup(c);
    if (e == NULL) {
        return;
    }
    if (c->srv->ks.lfu) {
        reply_error(c, "An LFU maxmemory policy is selected, idle time not "
                       "tracked. Please note that when switching between "
                       "policies at runtime LRU and LFU data will take some "
                       "time to adjust.");
        return;
    }
    reply_int(c, db_idle_ms(&c->srv->ks, e) / 1000);
}

/* Values are never shared here, but Redis shares the small integers 0..9999
 * (unless maxmemory with an LRU/LFU policy needs per-key access bits), and
 * those report INT_MAX: mirror that so clients see the same answer. */
void
cmd_object_refcount(struct client *c)
{
    const struct node_config *cfg = &c->srv->cfg;
    long long v;
    struct entry *e = object_lookup(c);
    if (e == NULL) {
        return;
    }
    int shared = cfg->maxmemory == 0 || !policy_is_lru_or_lfu(cfg->maxmemory_policy);
    if (shared && e->enc == ENTRY_ENC_AUTO && value_as_int(e, &v) && v >= 0
        && v < SHARED_INTEGERS) {
        reply_int(c, INT_MAX);
    } else {
        reply_int(c, 1);
    }
}

void
cmd_object_help(struct client *c)
{
    static const char *const lines[] = {
        "ENCODING <key>",
        "    Return how the value of <key> is held: int, embstr (up to 44",
        "    bytes) or raw.",
        "FREQ <key>",
        "    Return the logarithmic access counter of <key>. Needs an LFU",
        "    maxmemory-policy.",
        "IDLETIME <key>",
        "    Return the seconds since <key> was last read or written. Needs a",
        "    policy other than LFU.",
        "REFCOUNT <key>",
        "    Return how many references the value of <key> has.",
        NULL,
    };
    reply_help(c, "OBJECT", lines);
}

/* ---- MEMORY ------------------------------------------------------------- */

void
cmd_memory_usage(struct client *c)
{
    for (size_t i = 3; i < c->argc; i++) {
        long long samples;
        if (!arg_is(&c->argv[i], "samples") || i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        /* Values are flat strings: the sample count is checked, not used. */
        if (util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &samples) != 0) {
            reply_not_integer(c);
            return;
        }
        if (samples < 0) {
            reply_syntax_error(c);
            return;
        }
        i++;
    }
    /* Like Redis, report a key that is present even if logically expired. */
    struct entry *e = db_lookup(c->db, c->argv[2].ptr, c->argv[2].len,
                                LOOKUP_NOEXPIRE | LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    if (e == NULL) {
        reply_null(c);
        return;
    }
    reply_int(c, (long long)db_key_memory(c->db, e));
}

/* Redis reports its ratios as floats widened to double; do the same so the
 * figures read alike. */
static double
ratio(double num, double den)
{
    return den > 0 ? (double)(float)(num / den) : 0;
}

void
cmd_memory_stats(struct client *c)
{
    struct server *srv = c->srv;
    struct keyspace *ks = &srv->ks;
    struct mem_allocator_stats as;
    size_t total = mem_used();
    size_t startup = info_memory_startup(srv);
    size_t clients = info_memory_clients(srv);
    size_t overhead = startup + clients;
    size_t keys = 0;
    int used_dbs = 0;

    /* The same peak as INFO's used_memory_peak, brought up to date. */
    info_sample_peak(srv);
    size_t peak = srv->mem_peak;
    mem_allocator_stats(&as);
    for (int i = 0; i < ks->ndb; i++) {
        if (dict_size(&ks->dbs[i].dict) > 0) {
            used_dbs++;
        }
    }
    reply_map_len(c, 17 + used_dbs);
    reply_bulk_cstr(c, "peak.allocated");
    reply_int(c, (long long)peak);
    reply_bulk_cstr(c, "total.allocated");
    reply_int(c, (long long)total);
    reply_bulk_cstr(c, "startup.allocated");
    reply_int(c, (long long)startup);
    reply_bulk_cstr(c, "clients.normal");
    reply_int(c, (long long)clients);
    for (int i = 0; i < ks->ndb; i++) {
        struct db *db = &ks->dbs[i];
        size_t n = dict_size(&db->dict);
        if (n == 0) {
            continue;
        }
        /* The per-key headers are the compact entry's equivalent of Redis's
         * dictEntry; TTL blocks stand for its expires table. */
        size_t main_bytes, exp_bytes;
        info_db_overhead(db, &main_bytes, &exp_bytes);
        char name[32];
        snprintf(name, sizeof(name), "db.%d", i);
        reply_bulk_cstr(c, name);
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "overhead.hashtable.main");
        reply_int(c, (long long)main_bytes);
        reply_bulk_cstr(c, "overhead.hashtable.expires");
        reply_int(c, (long long)exp_bytes);
        overhead += main_bytes + exp_bytes;
        keys += n;
    }
    size_t net = total > startup ? total - startup : 0;
    size_t dataset = total > overhead ? total - overhead : 0;
    size_t rss = mem_rss();
    reply_bulk_cstr(c, "overhead.total");
    reply_int(c, (long long)overhead);
    reply_bulk_cstr(c, "keys.count");
    reply_int(c, (long long)keys);
    reply_bulk_cstr(c, "keys.bytes-per-key");
    reply_int(c, keys ? (long long)(net / keys) : 0);
    reply_bulk_cstr(c, "dataset.bytes");
    reply_int(c, (long long)dataset);
    reply_bulk_cstr(c, "dataset.percentage");
    reply_double(c, ratio((double)dataset * 100, (double)net));
    reply_bulk_cstr(c, "peak.percentage");
    reply_double(c, ratio((double)total * 100, (double)peak));
    reply_bulk_cstr(c, "allocator.allocated");
    reply_int(c, (long long)as.allocated);
    reply_bulk_cstr(c, "allocator.active");
    reply_int(c, (long long)as.active);
    reply_bulk_cstr(c, "allocator.resident");
    reply_int(c, (long long)as.resident);
    reply_bulk_cstr(c, "allocator-fragmentation.ratio");
    reply_double(c, ratio((double)as.active, (double)as.allocated));
    reply_bulk_cstr(c, "allocator-fragmentation.bytes");
    reply_int(c, (long long)as.active - (long long)as.allocated);
    reply_bulk_cstr(c, "fragmentation");
    reply_double(c, ratio((double)rss, (double)total));
    reply_bulk_cstr(c, "fragmentation.bytes");
    reply_int(c, (long long)rss - (long long)total);
}

static void
human_bytes(char *buf, size_t len, double n)
{
    static const char *const units[] = {"B", "K", "M", "G", "T"};
    int u = 0;
    while (n >= 1024 && u < 4) {
        n /= 1024;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f%s" : "%.2f%s", n, units[u]);
}

/* MEMORY DOCTOR's text: the node's memory figures, and a paragraph for each
 * thing in them that deserves a look.  Thresholds: 5 MB before anything is
 * judged, a peak over 1.5 times the current use, an RSS over 1.4 times it
 * (and 10 MB more), clients' buffers over 200 KB each on average, 90 % of
 * maxmemory. */
static void
memory_doctor_report(struct server *srv, struct rbuf *b)
{
    char used_h[32], peak_h[32], rss_h[32], max_h[32], cl_h[32];
    size_t used = mem_used(), rss = mem_rss(), clients = info_memory_clients(srv);
    size_t nclients = 0;
    struct mem_allocator_stats as;
    int findings = 0;

    info_sample_peak(srv);
    mem_allocator_stats(&as);
    for (const struct client *cl = srv->clients; cl; cl = cl->next) {
        nclients++;
    }
    human_bytes(used_h, sizeof(used_h), (double)used);
    human_bytes(peak_h, sizeof(peak_h), (double)srv->mem_peak);
    human_bytes(rss_h, sizeof(rss_h), (double)rss);
    human_bytes(max_h, sizeof(max_h), (double)srv->cfg.maxmemory);
    human_bytes(cl_h, sizeof(cl_h), (double)clients);
    rbuf_printf(b, "Cachely memory report: %s in use (peak %s), %s resident, "
                   "%zu client connection%s holding %s.\n",
                used_h, peak_h, rss_h, nclients, nclients == 1 ? "" : "s", cl_h);
    if (used < 5u << 20) {
        rbuf_printf(b, "\nThere is too little data here (under 5M) to say anything "
                       "useful about memory. Ask again once the node holds some keys.\n");
        return;
    }
    if ((double)srv->mem_peak > 1.5 * (double)used) {
        findings++;
        rbuf_printf(b, "\n* The peak (%s) is well above what is in use now: much was "
                       "freed since. The allocator may keep the freed pages resident; "
                       "MEMORY PURGE hands the unused ones back.\n", peak_h);
    }
    if ((double)rss > 1.4 * (double)used && rss - used > 10u << 20) {
        findings++;
        rbuf_printf(b, "\n* Fragmentation is high: the process holds %.2f times the "
                       "memory its data uses (%s resident for %s). MEMORY PURGE returns "
                       "the allocator's idle pages; only a restart (or a replica "
                       "promoted in its place) compacts the rest.\n",
                    (double)rss / (double)used, rss_h, used_h);
    } else if (as.allocated > 0 && (double)as.active > 1.1 * (double)as.allocated
               && as.active - as.allocated > 10u << 20) {
        findings++;
        rbuf_printf(b, "\n* The allocator's pages are %.2f times fuller than the "
                       "objects in them need (MEMORY STATS, allocator-fragmentation): "
                       "many small values were freed among live ones.\n",
                    (double)as.active / (double)as.allocated);
    }
    if (nclients > 0 && clients / nclients > 200u << 10) {
        findings++;
        rbuf_printf(b, "\n* Client connections hold %s, over 200K each on average: "
                       "big replies waiting to be read, or big pipelines. CLIENT LIST "
                       "shows each one's buffers (qbuf, omem); "
                       "client-output-buffer-limit bounds them.\n", cl_h);
    }
    if (srv->cfg.maxmemory > 0
        && (double)evict_used_memory(srv) >= 0.9 * (double)srv->cfg.maxmemory) {
        findings++;
        rbuf_printf(b, "\n* Memory is at %.0f%% of maxmemory (%s); with "
                       "maxmemory-policy %s %s.\n",
                    100.0 * (double)evict_used_memory(srv) / (double)srv->cfg.maxmemory,
                    max_h, maxmemory_policy_names[srv->cfg.maxmemory_policy],
                    srv->cfg.maxmemory_policy == MAXMEMORY_NOEVICTION
                        ? "writes will be refused with -OOM once it is reached"
                        : "keys are evicted to stay under it");
    }
    if (findings == 0) {
        rbuf_printf(b, "\nNothing here looks wrong: fragmentation %.2f, no peak far above "
                       "the current use, clients' buffers small%s.\n",
                    used > 0 ? (double)rss / (double)used : 0.0,
                    srv->cfg.maxmemory > 0 ? ", maxmemory not near" : "");
    }
}

void
cmd_memory_doctor(struct client *c)
{
    struct rbuf b = {0};
    memory_doctor_report(c->srv, &b);
    reply_verbatim(c, b.p, b.len, "txt");
    rbuf_free(&b);
}

void
cmd_memory_malloc_stats(struct client *c)
{
    size_t len;
    char *text = mem_allocator_report(&len);
    if (text == NULL) {
        reply_bulk_cstr(c, "Stats not supported for the current allocator");
        return;
    }
    reply_verbatim(c, text, len, "txt");
    mem_free(text);
}

void
cmd_memory_purge(struct client *c)
{
    if (mem_allocator_purge() != 0) {
        reply_error(c, "Error purging dirty pages");
        return;
    }
    reply_ok(c);
}

void
cmd_memory_help(struct client *c)
{
    static const char *const lines[] = {
        "DOCTOR",
        "    Return a short report on the node's memory, with advice.",
        "MALLOC-STATS",
        "    Return the allocator's statistics report (jemalloc's text).",
        "PURGE",
        "    Give the allocator's unused dirty pages back to the system.",
        "STATS",
        "    Return a map of memory figures: allocated and peak bytes, the",
        "    overhead of each database's tables, and the bytes held by data.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return the bytes <key> takes: its entry and its share of the hash",
        "    table. SAMPLES is accepted for compatibility; values are flat.",
        NULL,
    };
    reply_help(c, "MEMORY", lines);
}
