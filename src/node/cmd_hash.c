/* The hash commands of Redis 7.0 (HSET ... HSCAN) with their replies and
 * error strings; the field-expiry commands of Redis 7.4/8.0 are in
 * cmd_hash_expire.c.  The handlers parse, call node/t_hash, reply and
 * state their effects. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/cmd_hash_int.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hash.h"
#include "ds/strmap.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- HSET family ----------------------------------------------------------- */

static void
hset_generic(struct client *c, int reply_ok_instead)
{
    if (c->argc % 2 != 0) {
        reply_arity_error(c);
        return;
    }
    struct entry **ref;
    void *h = cmd_hash_lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    struct hash_limits lim = cmd_hash_limits(c);
    long long added = 0;
    for (size_t i = 2; i < c->argc; i += 2) {
        added += hash_set(&h, c->argv[i].ptr, c->argv[i].len, c->argv[i + 1].ptr,
                          c->argv[i + 1].len, 0, &lim);
    }
    cmd_hash_store(c, &c->argv[1], ref, h, 1, "hset");
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
    void *h = cmd_hash_lookup_write(c, &c->argv[1], &ref);
    struct hash_field f;
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, cmd_hash_now(c), &f)) {
        reply_int(c, 0);
        return;
    }
    struct hash_limits lim = cmd_hash_limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, c->argv[3].ptr, c->argv[3].len, 0, &lim);
    cmd_hash_store(c, &c->argv[1], ref, h, 1, "hset");
    reply_int(c, 1);
}

/* ---- reads ------------------------------------------------------------------ */

void
cmd_hget(struct client *c)
{
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
    struct hash_field f;
    if (wrong) {
        return;
    }
    if (h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, cmd_hash_now(c), &f)) {
        reply_bulk(c, f.value, f.vlen);
    } else {
        reply_null(c);
    }
}

void
cmd_hmget(struct client *c)
{
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    reply_array_len(c, (long long)(c->argc - 2));
    for (size_t i = 2; i < c->argc; i++) {
        struct hash_field f;
        if (h != NULL && hash_get(h, c->argv[i].ptr, c->argv[i].len, cmd_hash_now(c), &f)) {
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
    void *h = cmd_hash_lookup_read(c, &wrong);
    if (!wrong) {
        reply_int(c, h != NULL ? (long long)hash_length(h) : 0);
    }
}

void
cmd_hstrlen(struct client *c)
{
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
    struct hash_field f;
    if (wrong) {
        return;
    }
    if (h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, cmd_hash_now(c), &f)) {
        reply_int(c, (long long)f.vlen);
    } else {
        reply_int(c, 0);
    }
}

void
cmd_hexists(struct client *c)
{
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
    struct hash_field f;
    if (!wrong) {
        reply_int(c, h != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len,
                                           cmd_hash_now(c), &f));
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
    void *h = cmd_hash_lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long n = h != NULL ? (long long)live_count(h, cmd_hash_now(c)) : 0;
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
    hash_iter_init(&it, h, cmd_hash_now(c));
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
    struct entry **ref = cmd_hash_lookup(c, &c->argv[1], LOOKUP_WRITE, &wrong);
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
        cmd_hash_store(c, &c->argv[1], ref, h, 1, "hdel");
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
    void *h = cmd_hash_lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, cmd_hash_now(c), &f)) {
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
    struct hash_limits lim = cmd_hash_limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, buf, n, HASH_SET_KEEPTTL, &lim);
    cmd_hash_store(c, &c->argv[1], ref, h, 1, "hincrby");
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
    void *h = cmd_hash_lookup_write(c, &c->argv[1], &ref);
    if (h == NULL) {
        return;
    }
    if (ref != NULL && hash_get(h, c->argv[2].ptr, c->argv[2].len, cmd_hash_now(c), &f)) {
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
    struct hash_limits lim = cmd_hash_limits(c);
    hash_set(&h, c->argv[2].ptr, c->argv[2].len, buf, n, HASH_SET_KEEPTTL, &lim);
    cmd_hash_store(c, &c->argv[1], ref, h, 1, "hincrbyfloat");
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
    long long now = cmd_hash_now(c);
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
        if (c->argc > 4 || (c->argc == 4 && !cmd_hash_arg_is(&c->argv[3], "withvalues"))) {
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
    void *h = cmd_hash_lookup_read(c, &wrong);
    if (wrong) {
        return;
    }
    long long now = cmd_hash_now(c);
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
    if (util_scan_cursor(c->argv[2].ptr, c->argv[2].len, &cursor) != 0) {
        reply_error(c, "invalid cursor");
        return;
    }
    int wrong;
    void *h = cmd_hash_lookup_read(c, &wrong);
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
        if (cmd_hash_arg_is(&c->argv[i], "novalues")) {
            sc.novalues = 1;
            i++;
            continue;
        }
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        if (cmd_hash_arg_is(&c->argv[i], "count")) {
            if (util_str2ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &count) != 0) {
                reply_not_integer(c);
                return;
            }
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (cmd_hash_arg_is(&c->argv[i], "match")) {
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
    long long now = cmd_hash_now(c);
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
