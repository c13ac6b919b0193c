/* The hash commands (Redis 7.0's HSET ... HSCAN with their replies and
 * error strings) and the field-expiry commands of Redis 7.4/8.0 (HEXPIRE
 * family, HTTL family, HPERSIST, HGETEX, HSETEX, HGETDEL).  The handlers
 * parse, call node/t_hash, reply and state their effects. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hash.h"
#include "ds/strmap.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Field expiries are capped as Redis caps them (2^48 - 1 ms). */
#define HASH_MAX_EXPIRE_MS ((1LL << 48) - 1)

/* ---- lookups -------------------------------------------------------------- */

static struct hash_limits
limits(const struct client *c)
{
    struct hash_limits l = {(size_t)c->srv->cfg.hash_max_listpack_entries,
                            (size_t)c->srv->cfg.hash_max_listpack_value};
    return l;
}

static int
arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

/* Find the hash at key (after reclaiming its expired fields).  Returns the
 * ref, or NULL when absent; *wrong is set (and WRONGTYPE replied) when the
 * key holds another type. */
static struct entry **
lookup(struct client *c, const struct resp_arg *key, int flags, int *wrong)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, flags);
    *wrong = 0;
    if (ref != NULL && (*ref)->type != ENTRY_HASH) {
        reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }
    return hash_reclaim_entry(c->srv, c->db, ref);
}

/* The hash at key for a write, created empty (not yet in the keyspace: see
 * store) when absent.  Returns the object, NULL after WRONGTYPE. */
static void *
lookup_write(struct client *c, const struct resp_arg *key, struct entry ***refp)
{
    int wrong;
    struct entry **ref = lookup(c, key, LOOKUP_WRITE, &wrong);
    *refp = ref;
    if (wrong) {
        return NULL;
    }
    return ref != NULL ? entry_obj(*ref) : hash_new();
}

/* Put a changed hash back: into its entry (signalling the change), as a new
 * key, or delete the key when it emptied; event (NULL: none) is published
 * when the key is there to change, before a deletion's del (Redis's
 * order). */
static void
store(struct client *c, const struct resp_arg *key, struct entry **ref, void *h,
      int changed, const char *event)
{
    if (ref == NULL) {
        if (hash_length(h) == 0) {
            hash_free(h);
            return;
        }
        h = entry_obj(hash_add(c->db, key->ptr, key->len, h));
        if (event != NULL) {
            notify_key(c, NOTIFY_HASH, event, key);
        }
    } else {
        h = entry_obj(hash_store(c->db, ref, h));
        if (event != NULL) {
            notify_key(c, NOTIFY_HASH, event, key);
        }
        if (hash_length(h) == 0) {
            db_delete_ref(c->db, ref);
            notify_key(c, NOTIFY_GENERIC, "del", key);
            return;
        }
        if (changed) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
    }
    if (hash_has_expiry(h)) {
        hash_track(c->db, key->ptr, key->len, hash_min_expire(h));
    }
}

static long long
now_of(const struct client *c)
{
    return hash_now(c->db);
}

/* ---- HSET family ----------------------------------------------------------- */

static void
hset_generic(struct client *c, int reply_ok_instead)
{
    if (c->argc % 2 != 0) {
        reply_arity_error(c);
        return;
    }
    struct entry **ref;
    void *h = lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    struct hash_limits lim = limits(c);
    long long added = 0;
    for (size_t i = 2; i < c->argc; i += 2) {
        added += hash_set(&h, c->argv[i].ptr, c->argv[i].len, c->argv[i + 1].ptr,
                          c->argv[i + 1].len, 0, &lim);
    }
    store(c, &c->argv[1], ref, h, 1, "hset");
    if (reply_ok_instead) {
        reply_ok(c);
    } else {
        reply_int(c, added);
    }
}

void
cmd_hset(struct client *c)
{
    hset_generic(c, 0);
}

void
cmd_hmset(struct client *c)
{
    hset_generic(c, 1);
}

void
cmd_hsetnx(struct client *c)
{
    struct entry **ref;
    void *h = lookup_write(c, &c->argv[1], &ref);
    struct hash_field f;
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, now_of(c), &f)) {
        reply_int(c, 0);
        return;
    }
    struct hash_limits lim = limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, c->argv[3].ptr, c->argv[3].len, 0, &lim);
    store(c, &c->argv[1], ref, h, 1, "hset");
    reply_int(c, 1);
}

/* ---- reads ------------------------------------------------------------------ */

/* The hash for a read command, or NULL (replying nothing when absent, so
 * the caller answers its own empty reply; *wrong after WRONGTYPE). */
static void *
lookup_read(struct client *c, int *wrong)
{
    struct entry **ref = lookup(c, &c->argv[1], 0, wrong);
    return ref != NULL ? entry_obj(*ref) : NULL;
}

void
cmd_hget(struct client *c)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    struct hash_field f;
    if (wrong) {
        return;
    }
    if (h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, now_of(c), &f)) {
        reply_bulk(c, f.value, f.vlen);
    } else {
        reply_null(c);
    }
}

void
cmd_hmget(struct client *c)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, (long long)(c->argc - 2));
    for (size_t i = 2; i < c->argc; i++) {
        struct hash_field f;
        if (h != NULL && hash_get(h, c->argv[i].ptr, c->argv[i].len, now_of(c), &f)) {
            reply_bulk(c, f.value, f.vlen);
        } else {
            reply_null(c);
        }
    }
}

void
cmd_hlen(struct client *c)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (!wrong) {
        reply_int(c, h != NULL ? (long long)hash_length(h) : 0);
    }
}

void
cmd_hstrlen(struct client *c)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    struct hash_field f;
    if (wrong) {
        return;
    }
    if (h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, now_of(c), &f)) {
        reply_int(c, (long long)f.vlen);
    } else {
        reply_int(c, 0);
    }
}

void
cmd_hexists(struct client *c)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    struct hash_field f;
    if (!wrong) {
        reply_int(c, h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len,
                                           now_of(c), &f));
    }
}

enum getall_what { GETALL_KEYS = 1, GETALL_VALS = 2 };

/* Live fields, counted first (a replica may hold expired ones). */
static size_t
live_count(const void *h, long long now)
{
    if (!hash_has_expiry(h) || now == 0 || hash_min_expire(h) > now) {
        return hash_length(h);
    }
    struct hash_iter it;
    struct hash_field f;
    size_t n = 0;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &f)) {
        n++;
    }
    hash_iter_done(&it);
    return n;
}

static void
getall_generic(struct client *c, unsigned what)
{
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long n = h != NULL ? (long long)live_count(h, now_of(c)) : 0;
    if (what == (GETALL_KEYS | GETALL_VALS)) {
        reply_map_len(c, n);
    } else {
        reply_array_len(c, n);
    }
    if (h == NULL) {
        return;
    }
    struct hash_iter it;
    struct hash_field f;
    hash_iter_init(&it, h, now_of(c));
    while (hash_iter_next(&it, &f)) {
        if (what & GETALL_KEYS) {
            reply_bulk(c, f.field, f.flen);
        }
        if (what & GETALL_VALS) {
            reply_bulk(c, f.value, f.vlen);
        }
    }
    hash_iter_done(&it);
}

void
cmd_hgetall(struct client *c)
{
    getall_generic(c, GETALL_KEYS | GETALL_VALS);
}

void
cmd_hkeys(struct client *c)
{
    getall_generic(c, GETALL_KEYS);
}

void
cmd_hvals(struct client *c)
{
    getall_generic(c, GETALL_VALS);
}

/* ---- HDEL, HINCRBY, HINCRBYFLOAT ----------------------------------------------- */

void
cmd_hdel(struct client *c)
{
    int wrong;
    struct entry **ref = lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    if (ref == NULL) {
        reply_int(c, 0);
        return;
    }
    void *h = entry_obj(*ref);
    long long deleted = 0;
    for (size_t i = 2; i < c->argc && hash_length(h) > 0; i++) {
        deleted += hash_delete(&h, c->argv[i].ptr, c->argv[i].len);
    }
    if (deleted > 0) {
        store(c, &c->argv[1], ref, h, 1, "hdel");
    } else {
        hash_store(c->db, ref, h);
    }
    reply_int(c, deleted);
}

void
cmd_hincrby(struct client *c)
{
    long long incr, value = 0;
    struct hash_field f;
    if (util_str2ll(c->argv[3].ptr, c->argv[3].len, &incr) != 0) {
        reply_not_integer(c);
        return;
    }
    struct entry **ref;
    void *h = lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, now_of(c), &f)) {
        if (util_str2ll(f.value, f.vlen, &value) != 0) {
            reply_error(c, "hash value is not an integer");
            return;
        }
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value)
        || (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        if (ref == NULL) {
            hash_free(h);
        }
        reply_error(c, "increment or decrement would overflow");
        return;
    }
    value += incr;
    char buf[24];
    size_t n = util_ll2str(buf, value);
    struct hash_limits lim = limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, buf, n, HASH_SET_KEEPTTL, &lim);
    store(c, &c->argv[1], ref, h, 1, "hincrby");
    reply_int(c, value);
}

/* The effect of a field write that keeps the field's expiry: HSET, or
 * HSETEX ... KEEPTTL when the field has one (HSET would clear it). */
static void
propagate_field_value(struct client *c, const struct resp_arg *key,
                      const struct resp_arg *field, const char *val, size_t vlen,
                      int has_ttl)
{
    if (has_ttl) {
        struct resp_arg argv[7] = {{"HSETEX", 6}, *key, {"KEEPTTL", 7}, {"FIELDS", 6},
                                   {"1", 1}, *field, {val, vlen}};
        propagate_effect(c, 7, argv);
    } else {
        struct resp_arg argv[4] = {{"HSET", 4}, *key, *field, {val, vlen}};
        propagate_effect(c, 4, argv);
    }
}

void
cmd_hincrbyfloat(struct client *c)
{
    long double incr, value = 0;
    struct hash_field f;
    int has_ttl = 0;
    if (util_str2ld(c->argv[3].ptr, c->argv[3].len, &incr) != 0) {
        reply_error(c, "value is not a valid float");
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "value is NaN or Infinity");
        return;
    }
    struct entry **ref;
    void *h = lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, now_of(c), &f)) {
        if (util_str2ld(f.value, f.vlen, &value) != 0) {
            reply_error(c, "hash value is not a float");
            return;
        }
        has_ttl = f.expire_ms != 0;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        if (ref == NULL) {
            hash_free(h);
        }
        reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char buf[UTIL_LD_CHARS];
    size_t n = util_ld2str(buf, sizeof(buf), value);
    struct hash_limits lim = limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, buf, n, HASH_SET_KEEPTTL, &lim);
    store(c, &c->argv[1], ref, h, 1, "hincrbyfloat");
    /* The result, not the increment: float rounding may differ elsewhere. */
    propagate_field_value(c, &c->argv[1], &c->argv[2], buf, n, has_ttl);
    reply_bulk(c, buf, n);
}

/* ---- HRANDFIELD --------------------------------------------------------------- */

static void
reply_pair(struct client *c, const struct hash_field *f, int withvalues)
{
    if (withvalues && c->resp >= 3) {
        reply_array_len(c, 2);
    }
    reply_bulk(c, f->field, f->flen);
    if (withvalues) {
        reply_bulk(c, f->value, f->vlen);
    }
}

struct hscan_ctx {
    const struct resp_arg *pattern;  /* borrowed; NULL = every field */
    int novalues;
    struct hash_field *items;        /* owned */
    char **copies;                   /* owned: field/value copies */
    size_t n, cap;
};
static void hscan_collect(void *arg, const struct hash_field *f);

static struct hscan_ctx *
hscan_ctx_new(void)
{
    struct hscan_ctx *sc = mem_alloc(sizeof(*sc));
    memset(sc, 0, sizeof(*sc));
    return sc;
}

static struct hash_field *
hscan_ctx_items(struct hscan_ctx *sc)
{
    return sc->items;
}

static size_t
hscan_ctx_count(const struct hscan_ctx *sc)
{
    return sc->n;
}

static void
hscan_ctx_free(struct hscan_ctx *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        mem_free(sc->copies[i]);
    }
    mem_free(sc->items);
    mem_free(sc->copies);
    mem_free(sc);
}

/* Distinct fields for a positive count: the whole hash when count covers
 * it; random picks with a seen-set when count is small against a large
 * table; otherwise the live fields copied out and partially shuffled. */
static void
hrandfield_distinct(struct client *c, void *h, size_t count, int withvalues)
{
    long long now = now_of(c);
    size_t len = live_count(h, now);
    if (count >= len) {
        struct hash_iter it;
        struct hash_field f;
        reply_array_len(c, (long long)(withvalues && c->resp < 3 ? len * 2 : len));
        hash_iter_init(&it, h, now);
        while (hash_iter_next(&it, &f)) {
            reply_pair(c, &f, withvalues);
        }
        hash_iter_done(&it);
        return;
    }
    reply_array_len(c, (long long)(withvalues && c->resp < 3 ? count * 2 : count));
    if (hash_encoding(h) == HASH_ENC_HASHTABLE && count * 4 < len) {
        struct strmap *seen = strmap_create();
        size_t picked = 0;
        while (picked < count) {
            struct hash_field f;
            int added;
            if (hash_random_fields(h, now, &f, 1) == 0) {
                break;
            }
            strmap_add_or_find(seen, f.field, f.flen, NULL, 0, &added);
            if (added) {
                reply_pair(c, &f, withvalues);
                picked++;
            }
        }
        strmap_destroy(&seen);
        return;
    }
    struct hscan_ctx *sc = hscan_ctx_new();
    struct hash_iter it;
    struct hash_field f;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &f)) {
        hscan_collect(sc, &f);
    }
    hash_iter_done(&it);
    struct hash_field *all = hscan_ctx_items(sc);
    size_t n = hscan_ctx_count(sc);
    for (size_t i = 0; i < count && i < n; i++) {
        size_t j = i + (size_t)random() % (n - i);
        struct hash_field t = all[i];
        all[i] = all[j];
        all[j] = t;
        reply_pair(c, &all[i], withvalues);
    }
    hscan_ctx_free(sc);
}

void
cmd_hrandfield(struct client *c)
{
    long long l = 0;
    int withvalues = 0;
    if (c->argc >= 3) {
        if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &l) != 0) {
            reply_not_integer(c);
            return;
        }
        if (l < -LONG_MAX) {
            reply_error(c, "value is out of range, value must between "
                           "-9223372036854775807 and 9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3], "withvalues"))) {
            reply_syntax_error(c);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(c, "value is out of range");
                return;
            }
        }
    }
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long now = now_of(c);
    if (c->argc == 2) {
        struct hash_field f;
        if (h == NULL || hash_random_fields(h, now, &f, 1) == 0) {
            reply_null(c);
        } else {
            reply_bulk(c, f.field, f.flen);
        }
        return;
    }
    if (h == NULL || l == 0 || live_count(h, now) == 0) {
        reply_array_len(c, 0);
        return;
    }
    if (l < 0) {
        size_t count = (size_t)(-l);
        reply_array_len(c, (long long)(withvalues && c->resp < 3 ? count * 2 : count));
        while (count > 0) {
            struct hash_field batch[64];
            size_t want = count < 64 ? count : 64;
            size_t got = hash_random_fields(h, now, batch, want);
            for (size_t i = 0; i < got; i++) {
                reply_pair(c, &batch[i], withvalues);
            }
            count -= want;
        }
        return;
    }
    hrandfield_distinct(c, h, (size_t)l, withvalues);
}

/* ---- HSCAN ---------------------------------------------------------------------- */

static int
parse_cursor(const struct resp_arg *a, unsigned long *out)
{
    char buf[64];
    char *end;
    if (a->len == 0 || a->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) {
        return -1;
    }
    errno = 0;
    *out = strtoul(buf, &end, 10);
    return end == buf + a->len && errno != ERANGE ? 0 : -1;
}

static void
hscan_collect(void *arg, const struct hash_field *f)
{
    struct hscan_ctx *sc = arg;
    if (sc->pattern != NULL
        && !util_glob_match(sc->pattern->ptr, sc->pattern->len, f->field, f->flen, 0)) {
        return;
    }
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 16;
        sc->items = mem_realloc(sc->items, sc->cap * sizeof(*sc->items));
        sc->copies = mem_realloc(sc->copies, sc->cap * sizeof(*sc->copies));
    }
    /* Copy: a listpack integer's text lives in f's own buffers. */
    char *p = mem_alloc(f->flen + f->vlen + 1);
    memcpy(p, f->field, f->flen);
    memcpy(p + f->flen, f->value, f->vlen);
    struct hash_field *it = &sc->items[sc->n];
    it->field = p;
    it->flen = f->flen;
    it->value = p + f->flen;
    it->vlen = f->vlen;
    sc->copies[sc->n++] = p;
}

void
cmd_hscan(struct client *c)
{
    unsigned long cursor;
    long long count = 10;
    struct hscan_ctx sc = {0};
    if (parse_cursor(&c->argv[2], &cursor) != 0) {
        reply_error(c, "invalid cursor");
        return;
    }
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    if (h == NULL) {
        reply_array_len(c, 2);
        reply_bulk(c, "0", 1);
        reply_array_len(c, 0);
        return;
    }
    for (size_t i = 3; i < c->argc;) {
        if (arg_is(&c->argv[i], "novalues")) {
            sc.novalues = 1;
            i++;
            continue;
        }
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        if (arg_is(&c->argv[i], "count")) {
            if (util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &count) != 0) {
                reply_not_integer(c);
                return;
            }
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (arg_is(&c->argv[i], "match")) {
            sc.pattern = &c->argv[i + 1];
            if (sc.pattern->len == 1 && sc.pattern->ptr[0] == '*') {
                sc.pattern = NULL;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
        i += 2;
    }
    long long now = now_of(c);
    if (hash_encoding(h) != HASH_ENC_HASHTABLE) {
        cursor = hash_scan(h, cursor, now, hscan_collect, &sc);
    } else {
        long long budget = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = hash_scan(h, cursor, now, hscan_collect, &sc);
        } while (cursor != 0 && budget-- > 0 && (long long)sc.n < count);
    }
    char buf[32];
    reply_array_len(c, 2);
    reply_bulk(c, buf, util_ull2str(buf, cursor));
    reply_array_len(c, (long long)(sc.novalues ? sc.n : sc.n * 2));
    for (size_t i = 0; i < sc.n; i++) {
        reply_bulk(c, sc.items[i].field, sc.items[i].flen);
        if (!sc.novalues) {
            reply_bulk(c, sc.items[i].value, sc.items[i].vlen);
        }
        mem_free(sc.copies[i]);
    }
    mem_free(sc.items);
    mem_free(sc.copies);
}

/* ---- field expiry: argument parsing ------------------------------------------------ */

/* FIELDS numfields at argv[at - 1], argv[at]; the fields (times per) run
 * to the end.  Returns the number of fields, or -1 after replying. */
static long long
parse_fields(struct client *c, size_t at, size_t per)
{
    long long n;
    if (at >= c->argc || !arg_is(&c->argv[at - 1], "fields")) {
        reply_error(c, "Mandatory argument FIELDS is missing or not at the right position");
        return -1;
    }
    if (util_str2ll(c->argv[at].ptr, c->argv[at].len, &n) != 0 || n < 1) {
        reply_error(c, "Parameter `numFields` should be greater than 0");
        return -1;
    }
    if ((unsigned long long)n > (c->argc - at - 1) / per
        || (unsigned long long)n * per != c->argc - at - 1) {
        reply_error(c, "The `numfields` parameter must match the number of arguments");
        return -1;
    }
    return n;
}

enum time_unit { UNIT_S_REL, UNIT_MS_REL, UNIT_S_ABS, UNIT_MS_ABS };

/* A time argument to an absolute Unix time in ms (possibly in the past).
 * Returns 0, or -1 after replying. */
static int
parse_time(struct client *c, const struct resp_arg *a, enum time_unit unit,
           long long *out)
{
    long long v;
    if (util_str2ll(a->ptr, a->len, &v) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (v < 0 || v > HASH_MAX_EXPIRE_MS) {
        goto invalid;
    }
    if (unit == UNIT_S_REL || unit == UNIT_S_ABS) {
        v *= 1000;
    }
    if (unit == UNIT_S_REL || unit == UNIT_MS_REL) {
        v += c->srv->ks.now_ms;
    }
    if (v > HASH_MAX_EXPIRE_MS) {
        goto invalid;
    }
    *out = v;
    return 0;
invalid:
    reply_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
    return -1;
}

/* A growing argv for a stated effect. */
struct effect {
    struct resp_arg *argv;           /* owned */
    size_t argc, cap;
    char num[2][24];
};

static void
effect_push(struct effect *ef, const char *p, size_t len)
{
    if (ef->argc == ef->cap) {
        ef->cap = ef->cap ? ef->cap * 2 : 16;
        ef->argv = mem_realloc(ef->argv, ef->cap * sizeof(*ef->argv));
    }
    ef->argv[ef->argc].ptr = p;
    ef->argv[ef->argc++].len = len;
}

/* "CMD key [time] FIELDS <n>" followed by fields: the count is patched in
 * effect_emit. */
static void
effect_begin(struct effect *ef, const char *cmd, const struct resp_arg *key,
             long long when)
{
    ef->argc = 0;
    effect_push(ef, cmd, strlen(cmd));
    effect_push(ef, key->ptr, key->len);
    if (when >= 0) {
        effect_push(ef, ef->num[0], util_ll2str(ef->num[0], when));
    }
    effect_push(ef, "FIELDS", 6);
    effect_push(ef, ef->num[1], 0);
}

static int
effect_emit(struct client *c, struct effect *ef, size_t header)
{
    size_t n = ef->argc - header;
    if (n == 0) {
        return 0;
    }
    ef->argv[header - 1].len = util_ll2str(ef->num[1], (long long)n);
    propagate_effect(c, ef->argc, ef->argv);
    return 1;
}

static void
effect_hdel(struct client *c, struct effect *ef, const struct resp_arg *key,
            const struct resp_arg *fields, size_t n, const signed char *deleted)
{
    ef->argc = 0;
    effect_push(ef, "HDEL", 4);
    effect_push(ef, key->ptr, key->len);
    for (size_t i = 0; i < n; i++) {
        if (deleted[i]) {
            effect_push(ef, fields[i].ptr, fields[i].len);
        }
    }
    if (ef->argc > 2) {
        propagate_effect(c, ef->argc, ef->argv);
    }
}

/* ---- HEXPIRE family ------------------------------------------------------------------ */

static void
hexpire_generic(struct client *c, enum time_unit unit)
{
    long long when;
    enum hash_expire_cond cond = HASH_COND_NONE;
    size_t at = 4;
    if (parse_time(c, &c->argv[2], unit, &when) != 0) {
        return;
    }
    static const struct { const char *name; enum hash_expire_cond cond; } conds[] = {
        {"nx", HASH_COND_NX}, {"xx", HASH_COND_XX}, {"gt", HASH_COND_GT}, {"lt", HASH_COND_LT},
    };
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
        if (arg_is(&c->argv[3], conds[i].name)) {
            cond = conds[i].cond;
            at = 5;
        }
    }
    long long n = parse_fields(c, at, 1);
    if (n < 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[at + 1];
    int wrong;
    struct entry **ref = lookup(c, key, LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_int(c, -2);
        }
        propagate_prevent(c);
        return;
    }
    void *h = entry_obj(*ref);
    long long now = now_of(c);
    /* A time already come deletes the fields (not on a replica applying
     * its master's stream: there the master's HDEL follows). */
    int delete_now = when <= c->srv->ks.now_ms && now != 0;
    signed char *deleted = mem_alloc((size_t)n);
    struct effect ef = {0};
    size_t set = 0, ndel = 0;
    effect_begin(&ef, "HPEXPIREAT", key, when);
    size_t header = ef.argc;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &fields[i];
        int code;
        deleted[i] = 0;
        if (hash_length(h) == 0) {
            code = -2;
        } else if (delete_now) {
            struct hash_field hf;
            code = -2;
            if (hash_get(h, f->ptr, f->len, now, &hf)) {
                long long cur = hf.expire_ms;
                int ok = cond == HASH_COND_NONE || (cond == HASH_COND_NX && cur == 0)
                         || (cond == HASH_COND_XX && cur != 0)
                         || (cond == HASH_COND_GT && cur != 0 && when > cur)
                         || (cond == HASH_COND_LT && (cur == 0 || when < cur));
                code = ok ? 2 : 0;
                if (ok) {
                    hash_delete(&h, f->ptr, f->len);
                    deleted[i] = 1;
                    ndel++;
                }
            }
        } else {
            code = hash_set_expire(&h, f->ptr, f->len, when, cond, now);
            if (code == 1) {
                effect_push(&ef, f->ptr, f->len);
                set++;
            }
        }
        reply_int(c, code);
    }
    if (set + ndel > 0) {
        store(c, key, ref, h, 1, ndel > 0 ? "hdel" : "hexpire");
        effect_emit(c, &ef, header);
        effect_hdel(c, &ef, key, fields, (size_t)n, deleted);
    } else {
        hash_store(c->db, ref, h);
        propagate_prevent(c);
    }
    mem_free(ef.argv);
    mem_free(deleted);
}

void
cmd_hexpire(struct client *c)
{
    hexpire_generic(c, UNIT_S_REL);
}

void
cmd_hpexpire(struct client *c)
{
    hexpire_generic(c, UNIT_MS_REL);
}

void
cmd_hexpireat(struct client *c)
{
    hexpire_generic(c, UNIT_S_ABS);
}

void
cmd_hpexpireat(struct client *c)
{
    hexpire_generic(c, UNIT_MS_ABS);
}

/* ---- HTTL family, HPERSIST --------------------------------------------------------------- */

enum ttl_kind { TTL_S, TTL_MS, TIME_S, TIME_MS };

static void
httl_generic(struct client *c, enum ttl_kind kind)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    void *h = lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long now = now_of(c);
    reply_array_len(c, n);
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        long long exp = h != NULL ? hash_field_expire(h, f->ptr, f->len, now) : -2;
        if (exp < 0) {
            reply_int(c, exp);
            continue;
        }
        long long ttl = exp - c->srv->ks.now_ms;
        if (ttl < 0) {
            ttl = 0;
        }
        switch (kind) {
        case TTL_S: reply_int(c, (ttl + 500) / 1000); break;
        case TTL_MS: reply_int(c, ttl); break;
        case TIME_S: reply_int(c, exp / 1000); break;
        default: reply_int(c, exp); break;
        }
    }
}

void
cmd_httl(struct client *c)
{
    httl_generic(c, TTL_S);
}

void
cmd_hpttl(struct client *c)
{
    httl_generic(c, TTL_MS);
}

void
cmd_hexpiretime(struct client *c)
{
    httl_generic(c, TIME_S);
}

void
cmd_hpexpiretime(struct client *c)
{
    httl_generic(c, TIME_MS);
}

void
cmd_hpersist(struct client *c)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    struct entry **ref = lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_int(c, -2);
        }
        return;
    }
    void *h = entry_obj(*ref);
    long long now = now_of(c);
    int changed = 0;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        int code = hash_persist(&h, f->ptr, f->len, now);
        changed |= code == 1;
        reply_int(c, code);
    }
    hash_store(c->db, ref, h);
    if (changed) {
        db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
        notify_key(c, NOTIFY_HASH, "hpersist", &c->argv[1]);
    }
}

/* ---- HGETEX, HSETEX, HGETDEL --------------------------------------------------------------- */

/* Options before FIELDS: each word in words[] (with or without a time
 * argument).  Returns the index of FIELDS' count or 0 after replying. */
struct ex_opt {
    const char *name;
    int has_time;
    enum time_unit unit;
    int group;                       /* 0 = expiry choice, 1 = FNX/FXX */
};

static const struct ex_opt ex_opts[] = {
    {"ex", 1, UNIT_S_REL, 0}, {"px", 1, UNIT_MS_REL, 0},
    {"exat", 1, UNIT_S_ABS, 0}, {"pxat", 1, UNIT_MS_ABS, 0},
    {"persist", 0, 0, 0}, {"keepttl", 0, 0, 0},
    {"fnx", 0, 0, 1}, {"fxx", 0, 0, 1},
};

struct ex_args {
    const struct ex_opt *expiry;     /* borrowed; NULL = none */
    const struct ex_opt *cond;       /* borrowed; FNX/FXX or NULL */
    long long when;
    size_t at;                       /* index of numfields */
    long long n;
};

static int
parse_ex_args(struct client *c, int is_set, size_t per, struct ex_args *a)
{
    memset(a, 0, sizeof(*a));
    size_t i = 2;
    for (; i < c->argc && !arg_is(&c->argv[i], "fields"); i++) {
        const struct ex_opt *o = NULL;
        for (size_t k = 0; k < sizeof(ex_opts) / sizeof(ex_opts[0]); k++) {
            if (arg_is(&c->argv[i], ex_opts[k].name)) {
                o = &ex_opts[k];
            }
        }
        int allowed = o != NULL
                      && (is_set ? strcmp(o->name, "persist") != 0
                                 : (o->group == 0 && strcmp(o->name, "keepttl") != 0));
        if (!allowed) {
            reply_syntax_error(c);
            return -1;
        }
        if (o->group == 1) {
            if (a->cond != NULL) {
                reply_error(c, "Only one of FXX or FNX arguments can be specified");
                return -1;
            }
            a->cond = o;
            continue;
        }
        if (a->expiry != NULL) {
            reply_error(c, is_set ? "Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"
                                  : "Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified");
            return -1;
        }
        a->expiry = o;
        if (o->has_time) {
            if (i + 1 >= c->argc) {
                reply_syntax_error(c);
                return -1;
            }
            if (parse_time(c, &c->argv[++i], o->unit, &a->when) != 0) {
                return -1;
            }
        }
    }
    a->at = i + 1;
    a->n = parse_fields(c, a->at, per);
    return a->n < 0 ? -1 : 0;
}

void
cmd_hgetex(struct client *c)
{
    struct ex_args a;
    if (parse_ex_args(c, 0, 1, &a) != 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[a.at + 1];
    int wrong;
    struct entry **ref = lookup(c, key, LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, a.n);
    if (ref == NULL) {
        for (long long i = 0; i < a.n; i++) {
            reply_null(c);
        }
        propagate_prevent(c);
        return;
    }
    void *h = entry_obj(*ref);
    long long now = now_of(c);
    int persist = a.expiry != NULL && !a.expiry->has_time;
    int delete_now = a.expiry != NULL && a.expiry->has_time && a.when <= c->srv->ks.now_ms
                     && now != 0;
    signed char *deleted = mem_alloc((size_t)a.n);
    struct effect ef = {0};
    size_t changed = 0, ndel = 0;
    effect_begin(&ef, persist ? "HPERSIST" : "HPEXPIREAT", key, persist ? -1 : a.when);
    size_t header = ef.argc;
    for (long long i = 0; i < a.n; i++) {
        const struct resp_arg *f = &fields[i];
        struct hash_field hf;
        deleted[i] = 0;
        if (!hash_get(h, f->ptr, f->len, now, &hf)) {
            reply_null(c);
            continue;
        }
        reply_bulk(c, hf.value, hf.vlen);
        if (a.expiry == NULL) {
            continue;
        }
        if (delete_now) {
            hash_delete(&h, f->ptr, f->len);
            deleted[i] = 1;
            ndel++;
        } else if (persist) {
            if (hash_persist(&h, f->ptr, f->len, now) == 1) {
                effect_push(&ef, f->ptr, f->len);
                changed++;
            }
        } else if (hash_set_expire(&h, f->ptr, f->len, a.when, HASH_COND_NONE, now) == 1) {
            effect_push(&ef, f->ptr, f->len);
            changed++;
        }
    }
    if (changed + ndel > 0) {
        /* Redis 8's HGETEX: hdel for fields whose time had come, else
         * hpersist or hexpire. */
        const char *hgetex_event = ndel > 0 ? "hdel" : persist ? "hpersist" : "hexpire";
        store(c, key, ref, h, 1, hgetex_event);
        effect_emit(c, &ef, header);
        effect_hdel(c, &ef, key, fields, (size_t)a.n, deleted);
    } else {
        hash_store(c->db, ref, h);
        propagate_prevent(c);
    }
    mem_free(ef.argv);
    mem_free(deleted);
}

void
cmd_hsetex(struct client *c)
{
    struct ex_args a;
    if (parse_ex_args(c, 1, 2, &a) != 0) {
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct resp_arg *fields = &c->argv[a.at + 1];
    struct entry **ref;
    void *h = lookup_write(c, key, &ref);
    if (h == NULL) {
        return;
    }
    long long now = now_of(c);
    if (a.cond != NULL) {
        int want_exist = strcmp(a.cond->name, "fxx") == 0;
        for (long long i = 0; i < a.n; i++) {
            struct hash_field hf;
            int exists = ref != NULL && hash_get(h, fields[2 * i].ptr, fields[2 * i].len,
                                                 now, &hf);
            if (exists != want_exist) {
                if (ref == NULL) {
                    hash_free(h);
                }
                propagate_prevent(c);
                reply_int(c, 0);
                return;
            }
        }
    }
    int keepttl = a.expiry != NULL && strcmp(a.expiry->name, "keepttl") == 0;
    int timed = a.expiry != NULL && a.expiry->has_time;
    int delete_now = timed && a.when <= c->srv->ks.now_ms && now != 0;
    struct hash_limits lim = limits(c);
    for (long long i = 0; i < a.n; i++) {
        const struct resp_arg *f = &fields[2 * i], *v = &fields[2 * i + 1];
        if (delete_now) {
            hash_delete(&h, f->ptr, f->len);
            continue;
        }
        hash_set(&h, f->ptr, f->len, v->ptr, v->len, keepttl ? HASH_SET_KEEPTTL : 0, &lim);
        if (timed) {
            hash_set_expire(&h, f->ptr, f->len, a.when, HASH_COND_NONE, 0);
        }
    }
    store(c, key, ref, h, 1, delete_now ? "hdel" : "hset");
    if (timed && !delete_now) {
        notify_key(c, NOTIFY_HASH, "hexpire", key);
    }
    /* Relative times go out absolute; the condition has been met. */
    struct effect ef = {0};
    if (delete_now) {
        ef.argc = 0;
        effect_push(&ef, "HDEL", 4);
        effect_push(&ef, key->ptr, key->len);
        for (long long i = 0; i < a.n; i++) {
            effect_push(&ef, fields[2 * i].ptr, fields[2 * i].len);
        }
        propagate_effect(c, ef.argc, ef.argv);
    } else {
        effect_push(&ef, "HSETEX", 6);
        effect_push(&ef, key->ptr, key->len);
        if (keepttl) {
            effect_push(&ef, "KEEPTTL", 7);
        } else if (timed) {
            effect_push(&ef, "PXAT", 4);
            effect_push(&ef, ef.num[0], util_ll2str(ef.num[0], a.when));
        }
        effect_push(&ef, "FIELDS", 6);
        effect_push(&ef, ef.num[1], util_ll2str(ef.num[1], a.n));
        for (long long i = 0; i < 2 * a.n; i++) {
            effect_push(&ef, fields[i].ptr, fields[i].len);
        }
        propagate_effect(c, ef.argc, ef.argv);
    }
    mem_free(ef.argv);
    reply_int(c, 1);
}

void
cmd_hgetdel(struct client *c)
{
    long long n = parse_fields(c, 3, 1);
    if (n < 0) {
        return;
    }
    int wrong;
    struct entry **ref = lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, n);
    if (ref == NULL) {
        for (long long i = 0; i < n; i++) {
            reply_null(c);
        }
        return;
    }
    void *h = entry_obj(*ref);
    long long now = now_of(c);
    int changed = 0;
    for (long long i = 0; i < n; i++) {
        const struct resp_arg *f = &c->argv[4 + i];
        struct hash_field hf;
        if (hash_length(h) > 0 && hash_get(h, f->ptr, f->len, now, &hf)) {
            reply_bulk(c, hf.value, hf.vlen);
            hash_delete(&h, f->ptr, f->len);
            changed = 1;
        } else {
            reply_null(c);
        }
    }
    if (changed) {
        store(c, &c->argv[1], ref, h, 1, "hdel");
    } else {
        hash_store(c->db, ref, h);
    }
}
