/* The string command family (GET/SET and their variants, MGET/MSET, APPEND,
 * SETRANGE/GETRANGE, INCR*), with Redis 7.0's replies and error strings.
 * The handlers parse and check; the keyspace work is node/db.c's, reached
 * only through the few "effect" functions below. */
#include "node/handlers.h"
#include "node/notify.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/propagate.h"
#include "node/db.h"
#include "node/server.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- checks ------------------------------------------------------------ */

/* Only strings exist for now, but every handler that finds a key asks here,
 * so a new type only has to be added to enum entry_type.  Returns 1 when e
 * holds a string, else replies WRONGTYPE and returns 0. */
static inline int
string_type_ok(struct client *c, const struct entry *e)
{
    if (e->type != ENTRY_STRING) {
        reply_wrongtype(c);
        return 0;
    }
    return 1;
}

/* Redis's checkStringLength: may a value of size bytes grow by add bytes?
 * Our entries also store the length in 32 bits, which only matters when
 * proto-max-bulk-len is set above 4 GiB; that limit gets the same reply.
 * Returns 0, or -1 after replying. */
static int
string_check_length(struct client *c, unsigned long long size,
                     unsigned long long add)
{
    unsigned long long total = size + add;
    if (total > c->srv->cfg.proto_max_bulk_len || total > UINT32_MAX
        || total < size) {
        reply_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* ---- SET / GETEX options ------------------------------------------------
 * One table says which command takes which option and what it cannot be
 * combined with; a repeated option is allowed (the last time wins), as in
 * Redis's parseExtendedStringArgumentsOrReply. */

enum string_opt_bit {
    SOPT_NX = 1 << 0,
    SOPT_XX = 1 << 1,
    SOPT_GET = 1 << 2,
    SOPT_KEEPTTL = 1 << 3,
    SOPT_PERSIST = 1 << 4,
    SOPT_EX = 1 << 5,
    SOPT_PX = 1 << 6,
    SOPT_EXAT = 1 << 7,
    SOPT_PXAT = 1 << 8,
};
#define SOPT_EXPIRE (SOPT_EX | SOPT_PX | SOPT_EXAT | SOPT_PXAT)
#define SOPT_RELATIVE (SOPT_EX | SOPT_PX)
#define SOPT_SECONDS (SOPT_EX | SOPT_EXAT)

enum string_opt_cmd {
    SOPT_FOR_SET = 1 << 0,
    SOPT_FOR_GETEX = 1 << 1,
};

struct string_opt {
    const char *name;
    size_t namelen;
    unsigned bit;        /* enum string_opt_bit */
    unsigned excludes;   /* options it cannot be combined with */
    unsigned commands;   /* enum string_opt_cmd: who accepts it */
    int has_arg;         /* takes the next argument (a time) */
};

static const struct string_opt string_opts[] = {
    {"nx", 2, SOPT_NX, SOPT_XX, SOPT_FOR_SET, 0},
    {"xx", 2, SOPT_XX, SOPT_NX, SOPT_FOR_SET, 0},
    {"get", 3, SOPT_GET, 0, SOPT_FOR_SET, 0},
    {"keepttl", 7, SOPT_KEEPTTL, SOPT_PERSIST | SOPT_EXPIRE, SOPT_FOR_SET, 0},
    {"persist", 7, SOPT_PERSIST, SOPT_KEEPTTL | SOPT_EXPIRE, SOPT_FOR_GETEX, 0},
    {"ex", 2, SOPT_EX, SOPT_KEEPTTL | SOPT_PERSIST | (SOPT_EXPIRE & ~SOPT_EX),
     SOPT_FOR_SET | SOPT_FOR_GETEX, 1},
    {"px", 2, SOPT_PX, SOPT_KEEPTTL | SOPT_PERSIST | (SOPT_EXPIRE & ~SOPT_PX),
     SOPT_FOR_SET | SOPT_FOR_GETEX, 1},
    {"exat", 4, SOPT_EXAT, SOPT_KEEPTTL | SOPT_PERSIST | (SOPT_EXPIRE & ~SOPT_EXAT),
     SOPT_FOR_SET | SOPT_FOR_GETEX, 1},
    {"pxat", 4, SOPT_PXAT, SOPT_KEEPTTL | SOPT_PERSIST | (SOPT_EXPIRE & ~SOPT_PXAT),
     SOPT_FOR_SET | SOPT_FOR_GETEX, 1},
};

/* Redis compares option words as C strings, so an argument only counts up
 * to its first NUL byte ("nx\0junk" is NX there); we match the same way. */
static const struct string_opt *
string_opt_find(const struct resp_arg *a)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t len = nul ? (size_t)(nul - a->ptr) : a->len;

    for (size_t i = 0; i < sizeof(string_opts) / sizeof(string_opts[0]); i++) {
        const struct string_opt *o = &string_opts[i];
        if (len == o->namelen && strncasecmp(a->ptr, o->name, len) == 0) {
            return o;
        }
    }
    return NULL;
}

/* Parse the options from argv[first] on for command cmd (SOPT_FOR_*).
 * Sets *flags and *time_arg (the time argument or NULL).  Returns 0, or -1
 * after replying with a syntax error. */
static int
string_parse_opts(struct client *c, size_t first, unsigned cmd,
                  unsigned *flags, const struct resp_arg **time_arg)
{
    *flags = 0;
    *time_arg = NULL;
    for (size_t j = first; j < c->argc; j++) {
        const struct string_opt *o = string_opt_find(&c->argv[j]);
        if (o == NULL || !(o->commands & cmd) || (*flags & o->excludes)
            || (o->has_arg && j + 1 >= c->argc)) {
            reply_syntax_error(c);
            return -1;
        }
        *flags |= o->bit;
        if (o->has_arg) {
            *time_arg = &c->argv[++j];
        }
    }
    return 0;
}

/* The absolute Unix time in ms of an EX/PX/EXAT/PXAT argument (the unit
 * and base come from the one SOPT_* bit of unit).  As in Redis, the value
 * must be positive and neither seconds*1000 nor now+ms may overflow.
 * Returns 0, or -1 after replying. */
static int
string_expire_ms(struct client *c, const struct resp_arg *arg, unsigned unit,
                 long long *out)
{
    long long v;

    if (util_str2ll(arg->ptr, arg->len, &v) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (v <= 0 || ((unit & SOPT_SECONDS) && v > LLONG_MAX / 1000)) {
        goto invalid;
    }
    if (unit & SOPT_SECONDS) {
        v *= 1000;
    }
    if (unit & SOPT_RELATIVE) {
        long long now = c->srv->ks.now_ms;
        if (v > LLONG_MAX - now) {
            goto invalid;
        }
        v += now;
    }
    *out = v;
    return 0;

invalid:
    reply_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
    return -1;
}

/* ---- effects ------------------------------------------------------------
 * Every change a string command makes to the keyspace happens in one of
 * these, so replication can later record each write's effect in one place:
 *   string_store      SET key value [PXAT ms | KEEPTTL]
 *   string_splice     the command as sent (APPEND, SETRANGE, INCRBY...);
 *                     INCRBYFLOAT as SET key value KEEPTTL
 *   string_set_expire PEXPIREAT key ms, or PERSIST key
 *   string_delete     DEL key
 * Nothing here replies. */

/* A keyspace notification about key in the client's database. */
static inline void
string_notify(struct client *c, int type, const char *event, const struct resp_arg *key)
{
    notify_keyspace_event(c->srv, type, event, key->ptr, key->len, c->db->id);
}

/* Create or overwrite a key (one hash: db_set looks up and inserts). */
static inline void
string_store(struct client *c, const struct resp_arg *key,
             const struct resp_arg *val, long long expire_ms, int keepttl)
{
    db_set(c->db, key->ptr, key->len, val->ptr, val->len, expire_ms, keepttl);
    if (expire_ms >= 0 || keepttl) {
        /* A relative or kept TTL goes out as its absolute time. */
        propagate_key_state(c, key);
    }
    string_notify(c, NOTIFY_STRING, "set", key);
    if (expire_ms >= 0) {
        string_notify(c, NOTIFY_GENERIC, "expire", key);
    }
}

/* Edit a value in place: give it newlen bytes (keeping its first bytes and
 * its TTL), zero any new bytes before offset, and copy src at offset.  ref
 * is the key's link from a lookup, or NULL to create the key (no TTL).
 * offset + srclen <= newlen.  enc is the encoding Redis would report after
 * the command (enum entry_enc).  Returns the entry. */
static struct entry *
string_splice(struct client *c, struct entry **ref, const struct resp_arg *key,
              size_t newlen, size_t offset, const char *src, size_t srclen,
              enum entry_enc enc)
{
    struct entry *e;
    size_t oldlen = 0;

    if (ref == NULL) {
        e = db_add(c->db, key->ptr, key->len, newlen, -1);
    } else {
        oldlen = entry_vallen((*ref));
        e = db_resize_value(c->db, ref, newlen);
    }
    if (offset > oldlen) {
        memset(entry_val(e) + oldlen, 0, offset - oldlen);
    }
    memcpy(entry_val(e) + offset, src, srclen);
    e->enc = enc;
    return e;
}

/* Set (when_ms >= 0) or remove (when_ms < 0) the TTL of the key at ref. */
static inline void
string_set_expire(struct client *c, struct entry **ref, long long when_ms)
{
    db_set_expire(c->db, ref, when_ms);
}

static inline void
string_delete(struct client *c, struct entry **ref)
{
    db_delete_ref(c->db, ref);
}

/* ---- GET and SET --------------------------------------------------------- */

/* Reply with the string at ref, null when absent.  Returns 0, or -1 after a
 * WRONGTYPE reply (getGenericCommand in Redis). */
static int
string_reply_value(struct client *c, struct entry **ref)
{
    if (ref == NULL) {
        reply_null(c);
        return 0;
    }
    if (!string_type_ok(c, *ref)) {
        return -1;
    }
    reply_bulk(c, entry_val(*ref), entry_vallen((*ref)));
    return 0;
}

void
cmd_get(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e == NULL) {
        reply_null(c);
        return;
    }
    if (!string_type_ok(c, e)) {
        return;
    }
    reply_bulk(c, entry_val(e), entry_vallen(e));
}

void
cmd_set(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *time_arg;
    struct entry **ref;
    unsigned flags;
    long long when = -1;

    if (c->argc == 3) {
        /* The hot path: no options, so no lookup before db_set's own. */
        string_store(c, key, &c->argv[2], -1, 0);
        reply_ok(c);
        return;
    }
    if (string_parse_opts(c, 3, SOPT_FOR_SET, &flags, &time_arg) != 0) {
        return;
    }
    if (time_arg && string_expire_ms(c, time_arg, flags & SOPT_EXPIRE, &when) != 0) {
        return;
    }
    /* GET reads the old value as GET would (counted as a hit or miss). */
    ref = db_lookup_ref(c->db, key->ptr, key->len,
                        (flags & SOPT_GET) ? 0 : LOOKUP_WRITE);
    if ((flags & SOPT_GET) && string_reply_value(c, ref) != 0) {
        return;
    }
    if (((flags & SOPT_NX) && ref != NULL) || ((flags & SOPT_XX) && ref == NULL)) {
        if (!(flags & SOPT_GET)) {
            reply_null(c);
        }
        return;
    }
    /* A past EXAT/PXAT still stores the key, then it is logically expired
     * (Redis 7.0 replies OK too). */
    string_store(c, key, &c->argv[2], when, (flags & SOPT_KEEPTTL) != 0);
    if (!(flags & SOPT_GET)) {
        reply_ok(c);
    }
}

void
cmd_setnx(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];

    if (db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE) != NULL) {
        reply_int(c, 0);
        return;
    }
    string_store(c, key, &c->argv[2], -1, 0);
    reply_int(c, 1);
}

/* SETEX key seconds value / PSETEX key ms value. */
static void
string_setex(struct client *c, unsigned unit)
{
    long long when;

    if (string_expire_ms(c, &c->argv[2], unit, &when) != 0) {
        return;
    }
    string_store(c, &c->argv[1], &c->argv[3], when, 0);
    reply_ok(c);
}

void
cmd_setex(struct client *c)
{
    string_setex(c, SOPT_EX);
}

void
cmd_psetex(struct client *c)
{
    string_setex(c, SOPT_PX);
}

void
cmd_getset(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, 0);

    if (string_reply_value(c, ref) != 0) {
        return;
    }
    /* Like SET: the old TTL goes. */
    string_store(c, key, &c->argv[2], -1, 0);
}

void
cmd_getdel(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, 0);

    if (string_reply_value(c, ref) != 0 || ref == NULL) {
        return;
    }
    string_delete(c, ref);
    propagate_key_state(c, key);
    string_notify(c, NOTIFY_GENERIC, "del", key);
}

void
cmd_getex(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *time_arg;
    struct entry **ref;
    unsigned flags;
    long long when = -1;

    if (string_parse_opts(c, 2, SOPT_FOR_GETEX, &flags, &time_arg) != 0) {
        return;
    }
    /* Redis looks the key up before it checks the time, so a missing key
     * answers null even with a bad time. */
    ref = db_lookup_ref(c->db, key->ptr, key->len, 0);
    if (ref == NULL) {
        reply_null(c);
        return;
    }
    if (!string_type_ok(c, *ref)) {
        return;
    }
    if (time_arg && string_expire_ms(c, time_arg, flags & SOPT_EXPIRE, &when) != 0) {
        return;
    }
    /* Reply before the entry may move or go. */
    reply_bulk(c, entry_val(*ref), entry_vallen((*ref)));
    if ((flags & (SOPT_EXAT | SOPT_PXAT)) && when <= c->srv->ks.now_ms
        && !c->srv->ks.is_replica) {
        /* An absolute time already past deletes the key now; a replica
         * waits for the master's DEL instead. */
        string_delete(c, ref);
        propagate_expire_state(c, key);
        string_notify(c, NOTIFY_GENERIC, "del", key);
    } else if (time_arg) {
        string_set_expire(c, ref, when);
        propagate_expire_state(c, key);
        string_notify(c, NOTIFY_GENERIC, "expire", key);
    } else if (flags & SOPT_PERSIST) {
        string_set_expire(c, ref, -1);
        propagate_expire_state(c, key);
        string_notify(c, NOTIFY_GENERIC, "persist", key);
    }
}

/* ---- several keys --------------------------------------------------------- */

void
cmd_mget(struct client *c)
{
    reply_array_len(c, (long long)c->argc - 1);
    for (size_t j = 1; j < c->argc; j++) {
        struct entry *e = db_lookup(c->db, c->argv[j].ptr, c->argv[j].len, 0);
        /* MGET answers null for other types instead of failing. */
        if (e == NULL || e->type != ENTRY_STRING) {
            reply_null(c);
        } else {
            reply_bulk(c, entry_val(e), entry_vallen(e));
        }
    }
}

void
cmd_mset(struct client *c)
{
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    for (size_t j = 1; j < c->argc; j += 2) {
        string_store(c, &c->argv[j], &c->argv[j + 1], -1, 0);
    }
    reply_ok(c);
}

void
cmd_msetnx(struct client *c)
{
    if (c->argc % 2 == 0) {
        reply_arity_error(c);
        return;
    }
    for (size_t j = 1; j < c->argc; j += 2) {
        if (db_lookup_ref(c->db, c->argv[j].ptr, c->argv[j].len, LOOKUP_WRITE)
            != NULL) {
            reply_int(c, 0);
            return;
        }
    }
    /* A key named twice takes its last value, as in Redis. */
    for (size_t j = 1; j < c->argc; j += 2) {
        string_store(c, &c->argv[j], &c->argv[j + 1], -1, 0);
    }
    reply_int(c, 1);
}

/* ---- in-place edits and ranges ------------------------------------------- */

void
cmd_append(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *add = &c->argv[2];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    struct entry *e;

    if (ref == NULL) {
        /* A new key is no longer than the argument, which the protocol
         * limit already bounds. */
        e = string_splice(c, NULL, key, add->len, 0, add->ptr, add->len,
                          ENTRY_ENC_AUTO);
        string_notify(c, NOTIFY_STRING, "append", key);
        reply_int(c, (long long)entry_vallen(e));
        return;
    }
    if (!string_type_ok(c, *ref)) {
        return;
    }
    size_t oldlen = entry_vallen((*ref));
    if (string_check_length(c, oldlen, add->len) != 0) {
        return;
    }
    e = string_splice(c, ref, key, oldlen + add->len, oldlen, add->ptr, add->len,
                      ENTRY_ENC_RAW);
    string_notify(c, NOTIFY_STRING, "append", key);
    reply_int(c, (long long)entry_vallen(e));
}

void
cmd_strlen(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    if (!string_type_ok(c, e)) {
        return;
    }
    reply_int(c, (long long)entry_vallen(e));
}

/* GETRANGE and its old name SUBSTR. */
void
cmd_getrange(struct client *c)
{
    long long start, end;
    struct entry *e;

    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &start) != 0
        || util_str2ll(c->argv[3].ptr, c->argv[3].len, &end) != 0) {
        reply_not_integer(c);
        return;
    }
    e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e == NULL) {
        reply_bulk(c, "", 0);
        return;
    }
    if (!string_type_ok(c, e)) {
        return;
    }
    long long len = (long long)entry_vallen(e);
    /* Both negative and reversed: empty even for an empty string. */
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) {
        start = start < -len ? 0 : len + start;
    }
    if (end < 0) {
        end = end < -len ? 0 : len + end;
    }
    if (end >= len) {
        end = len - 1;
    }
    if (len == 0 || start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, entry_val(e) + start, (size_t)(end - start + 1));
}

void
cmd_setrange(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *val = &c->argv[3];
    struct entry **ref;
    struct entry *e;
    long long offset;
    size_t oldlen = 0;

    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &offset) != 0) {
        reply_not_integer(c);
        return;
    }
    if (offset < 0) {
        reply_error(c, "offset is out of range");
        return;
    }
    ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    if (ref != NULL) {
        if (!string_type_ok(c, *ref)) {
            return;
        }
        oldlen = entry_vallen((*ref));
    }
    /* Writing nothing creates nothing and changes nothing. */
    if (val->len == 0) {
        reply_int(c, (long long)oldlen);
        return;
    }
    if (string_check_length(c, (unsigned long long)offset, val->len) != 0) {
        return;
    }
    size_t end = (size_t)offset + val->len;
    e = string_splice(c, ref, key, end > oldlen ? end : oldlen, (size_t)offset,
                      val->ptr, val->len, ENTRY_ENC_RAW);
    string_notify(c, NOTIFY_STRING, "setrange", key);
    reply_int(c, (long long)entry_vallen(e));
}

/* ---- counters -------------------------------------------------------------- */

/* Add incr to the integer at key (0 when absent), keeping its TTL.  The value
 * is parsed where it lies and rewritten in place when the block fits. */
static void
string_incr(struct client *c, long long incr)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    long long value = 0;
    char buf[32];
    size_t n;

    if (ref != NULL) {
        if (!string_type_ok(c, *ref)) {
            return;
        }
        if (util_str2ll(entry_val(*ref), entry_vallen((*ref)), &value) != 0) {
            reply_not_integer(c);
            return;
        }
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value)
        || (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(c, "increment or decrement would overflow");
        return;
    }
    value += incr;
    n = util_ll2str(buf, value);
    string_splice(c, ref, key, n, 0, buf, n, ENTRY_ENC_AUTO);
    string_notify(c, NOTIFY_STRING, "incrby", key);
    reply_int(c, value);
}

void
cmd_incr(struct client *c)
{
    string_incr(c, 1);
}

void
cmd_decr(struct client *c)
{
    string_incr(c, -1);
}

void
cmd_incrby(struct client *c)
{
    long long incr;

    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &incr) != 0) {
        reply_not_integer(c);
        return;
    }
    string_incr(c, incr);
}

void
cmd_decrby(struct client *c)
{
    long long decr;

    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &decr) != 0) {
        reply_not_integer(c);
        return;
    }
    /* -LLONG_MIN does not exist. */
    if (decr == LLONG_MIN) {
        reply_error(c, "decrement would overflow");
        return;
    }
    string_incr(c, -decr);
}

void
cmd_incrbyfloat(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    long double value = 0, incr;
    char buf[UTIL_LD_CHARS];
    size_t n;

    if (ref != NULL) {
        if (!string_type_ok(c, *ref)) {
            return;
        }
        if (util_str2ld(entry_val(*ref), entry_vallen((*ref)), &value) != 0) {
            reply_error(c, "value is not a valid float");
            return;
        }
    }
    if (util_str2ld(c->argv[2].ptr, c->argv[2].len, &incr) != 0) {
        reply_error(c, "value is not a valid float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    n = util_ld2str(buf, sizeof(buf), value);
    string_splice(c, ref, key, n, 0, buf, n, ENTRY_ENC_STR);
    /* The result, not the increment: float rounding may differ elsewhere. */
    propagate_key_state(c, key);
    string_notify(c, NOTIFY_STRING, "incrbyfloat", key);
    reply_bulk(c, buf, n);
}
