/* The set command family (SADD ... SSCAN) with Redis 7.0's replies and
 * error strings.  Handlers parse, look keys up and reply; the set logic is
 * node/t_set.c's.  SPOP propagates as SREM of what it popped (DEL when it
 * took the whole set, as Redis does); SRANDMEMBER writes nothing. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/t_set.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Members per SREM that a SPOP propagates (Redis batches 1024 too). */
#define SET_POP_PROPAGATE_BATCH 1024
/* SRANDMEMBER with a negative count may repeat members, so its reply is
 * not bounded by the set: Redis 7.0 tries to build any size and dies of
 * it.  Above this many picks we refuse with Redis's range error. */
#define SET_RANDOM_MAX_REPEAT (1LL << 27)

/* ---- helpers -------------------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

static size_t
max_intset(const struct client *c)
{
    long long v = c->srv->cfg.set_max_intset_entries;
    return v < 0 ? 0 : (size_t)v;
}

/* The set at key for reading: NULL when absent (*err = 0) or of another
 * type (*err = 1, after replying WRONGTYPE). */
static struct set *
set_lookup_read(struct client *c, const struct resp_arg *key, int *err)
{
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    *err = 0;
    if (e == NULL) {
        return NULL;
    }
    if (e->type != ENTRY_SET) {
        reply_wrongtype(c);
        *err = 1;
        return NULL;
    }
    return entry_obj(e);
}

/* The same for writing: the link of the key, NULL when absent. */
static struct entry **
set_lookup_write(struct client *c, const struct resp_arg *key, int *err)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    *err = 0;
    if (ref != NULL && (*ref)->type != ENTRY_SET) {
        reply_wrongtype(c);
        *err = 1;
        return NULL;
    }
    return ref;
}

static void
reply_vec(struct client *c, const struct set_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        reply_bulk(c, v->data + v->off[i], v->len[i]);
    }
}

/* Every member of s as a RESP3 set (an array in RESP2). */
static void
reply_members(struct client *c, struct set *s)
{
    struct set_iter it;
    struct set_elem e;
    reply_set_len(c, (long long)set_card(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &e)) {
        reply_bulk(c, e.p, e.len);
    }
    set_iter_done(&it);
}

/* ---- single-key commands ---------------------------------------------------- */

void
cmd_sadd(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    int err;
    struct entry **ref = set_lookup_write(c, key, &err);
    struct set *s;
    long long added = 0;

    if (err) {
        return;
    }
    if (ref == NULL) {
        /* As Redis 7.0: an intset when the first member is an integer. */
        int64_t v;
        s = set_create(!set_parse_int(c->argv[2].ptr, c->argv[2].len, &v), 0);
        for (size_t i = 2; i < c->argc; i++) {
            added += set_add(s, c->argv[i].ptr, c->argv[i].len, max_intset(c));
        }
        db_add_object(c->db, key->ptr, key->len, ENTRY_SET, s, -1);
    } else {
        s = entry_obj(*ref);
        for (size_t i = 2; i < c->argc; i++) {
            added += set_add(s, c->argv[i].ptr, c->argv[i].len, max_intset(c));
        }
        if (added > 0) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
    }
    if (added > 0) {
        notify_key(c, NOTIFY_SET, "sadd", key);
    }
    reply_int(c, added);
}

void
cmd_srem(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    int err;
    struct entry **ref = set_lookup_write(c, key, &err);
    long long removed = 0;

    if (err) {
        return;
    }
    if (ref != NULL) {
        struct set *s = entry_obj(*ref);
        for (size_t i = 2; i < c->argc && set_card(s) > 0; i++) {
            removed += set_remove(s, c->argv[i].ptr, c->argv[i].len);
        }
        if (removed > 0) {
            notify_key(c, NOTIFY_SET, "srem", key);
        }
        if (set_card(s) == 0) {
            db_delete_ref(c->db, ref);
            notify_key(c, NOTIFY_GENERIC, "del", key);
        } else if (removed > 0) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
    }
    reply_int(c, removed);
}

void
cmd_smembers(struct client *c)
{
    int err;
    struct set *s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    if (s == NULL) {
        reply_set_len(c, 0);
        return;
    }
    reply_members(c, s);
}

void
cmd_sismember(struct client *c)
{
    int err;
    struct set *s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    reply_int(c, s != NULL && set_contains(s, c->argv[2].ptr, c->argv[2].len));
}

void
cmd_smismember(struct client *c)
{
    int err;
    struct set *s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        reply_int(c, s != NULL && set_contains(s, c->argv[i].ptr, c->argv[i].len));
    }
}

void
cmd_scard(struct client *c)
{
    int err;
    struct set *s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    reply_int(c, s != NULL ? (long long)set_card(s) : 0);
}

/* ---- SPOP / SRANDMEMBER ------------------------------------------------------ */

/* State the popped members as SREM key m... in bounded batches. */
static void
propagate_srem(struct client *c, const struct resp_arg *key, const struct set_vec *v)
{
    if (!repl_stream_active(c->srv)) {
        return;  /* propagate_effect would drop them: skip the batch array */
    }
    size_t cap = SET_POP_PROPAGATE_BATCH + 2;
    struct resp_arg *argv = mem_alloc(cap * sizeof(*argv));
    argv[0].ptr = "SREM";
    argv[0].len = 4;
    argv[1] = *key;
    for (size_t i = 0; i < v->n;) {
        size_t n = 2;
        while (i < v->n && n < cap) {
            argv[n].ptr = v->data + v->off[i];
            argv[n].len = v->len[i];
            n++;
            i++;
        }
        propagate_effect(c, n, argv);
    }
    mem_free(argv);
}

/* SPOP without count: reply the member and state it as SREM. */
static void
spop_one_fn(const char *p, size_t len, void *arg)
{
    struct client *c = arg;
    reply_bulk(c, p, len);
    struct resp_arg argv[3] = {{"SREM", 4}, c->argv[1], {p, len}};
    propagate_effect(c, 3, argv);
}

void
cmd_spop(struct client *c)
{
    const struct resp_arg *key = &c->argv[1];
    long long count = 1;
    int with_count = c->argc == 3;
    struct entry **ref;
    int err;

    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (with_count
        && (util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) != 0 || count < 0)) {
        reply_error(c, "value is out of range, must be positive");
        return;
    }
    ref = set_lookup_write(c, key, &err);
    if (err) {
        return;
    }
    if (ref == NULL) {
        if (with_count) {
            reply_set_len(c, 0);
        } else {
            reply_null(c);
        }
        return;
    }
    if (with_count && count == 0) {
        reply_set_len(c, 0);
        return;
    }
    struct set *s = entry_obj(*ref);
    if (with_count && (unsigned long long)count >= set_card(s)) {
        /* The whole set: reply with it and delete the key, which goes out
         * as DEL (as in Redis 7.0). */
        reply_members(c, s);
        struct resp_arg del[2] = {{"DEL", 3}, *key};
        notify_key(c, NOTIFY_SET, "spop", key);
        db_delete_ref(c->db, ref);
        notify_key(c, NOTIFY_GENERIC, "del", key);
        propagate_effect(c, 2, del);
        return;
    }
    if (!with_count) {
        set_pop_one(s, spop_one_fn, c);
        notify_key(c, NOTIFY_SET, "spop", key);
        if (set_card(s) == 0) {
            db_delete_ref(c->db, ref);
            notify_key(c, NOTIFY_GENERIC, "del", key);
        } else {
            db_signal_modified(c->db, key->ptr, key->len);
        }
        return;
    }
    struct set_vec v = {0};
    set_pop(s, (size_t)count, &v);
    if (with_count) {
        reply_set_len(c, (long long)v.n);
    }
    reply_vec(c, &v);
    propagate_srem(c, key, &v);
    notify_key(c, NOTIFY_SET, "spop", key);
    if (set_card(s) == 0) {
        db_delete_ref(c->db, ref);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    } else {
        db_signal_modified(c->db, key->ptr, key->len);
    }
    set_vec_release(&v);
}

void
cmd_srandmember(struct client *c)
{
    long long l = 0;
    int err;
    struct set *s;

    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 3) {
        if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &l) != 0) {
            reply_not_integer(c);
            return;
        }
        if (l < -SET_RANDOM_MAX_REPEAT) {
            reply_errorf(c, "value is out of range, value must between %lld and %lld",
                         -SET_RANDOM_MAX_REPEAT, LLONG_MAX);
            return;
        }
    }
    s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    if (c->argc == 2) {
        struct set_elem e;
        if (s == NULL) {
            reply_null(c);
            return;
        }
        set_random(s, &e);
        reply_bulk(c, e.p, e.len);
        return;
    }
    if (s == NULL || l == 0) {
        reply_array_len(c, 0);
        return;
    }
    struct set_vec v = {0};
    set_random_members(s, l < 0 ? (size_t)-l : (size_t)l, l > 0, &v);
    reply_array_len(c, (long long)v.n);
    reply_vec(c, &v);
    set_vec_release(&v);
}

/* ---- SMOVE --------------------------------------------------------------------- */

void
cmd_smove(struct client *c)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    struct entry *se = db_lookup(c->db, src->ptr, src->len, LOOKUP_WRITE);
    struct entry *de = db_lookup(c->db, dst->ptr, dst->len, LOOKUP_WRITE);
    struct set *ss, *ds;

    if (se == NULL) {
        reply_int(c, 0);
        return;
    }
    if (se->type != ENTRY_SET || (de != NULL && de->type != ENTRY_SET)) {
        reply_wrongtype(c);
        return;
    }
    ss = entry_obj(se);
    ds = de != NULL ? entry_obj(de) : NULL;
    if (ss == ds) {
        reply_int(c, set_contains(ss, m->ptr, m->len));
        return;
    }
    if (!set_remove(ss, m->ptr, m->len)) {
        reply_int(c, 0);
        return;
    }
    /* Redis's order: srem on the source (and its del), then sadd. */
    notify_key(c, NOTIFY_SET, "srem", src);
    if (set_card(ss) == 0) {
        db_delete(c->db, src->ptr, src->len);
        notify_key(c, NOTIFY_GENERIC, "del", src);
    } else {
        db_signal_modified(c->db, src->ptr, src->len);
    }
    if (ds == NULL) {
        int64_t v;
        ds = set_create(!set_parse_int(m->ptr, m->len, &v), 0);
        set_add(ds, m->ptr, m->len, max_intset(c));
        db_add_object(c->db, dst->ptr, dst->len, ENTRY_SET, ds, -1);
        notify_key(c, NOTIFY_SET, "sadd", dst);
    } else if (set_add(ds, m->ptr, m->len, max_intset(c))) {
        db_signal_modified(c->db, dst->ptr, dst->len);
        notify_key(c, NOTIFY_SET, "sadd", dst);
    }
    reply_int(c, 1);
}

/* ---- set algebra ------------------------------------------------------------------ */

/* Look up n keys for set algebra: sets[i] is NULL for a missing key.
 * Every key is checked, a missing one does not stop the checks (Redis
 * 7.0).  Returns 0, or -1 after replying WRONGTYPE. */
static int
set_lookup_many(struct client *c, const struct resp_arg *keys, size_t n, int write,
                struct set **sets)
{
    for (size_t i = 0; i < n; i++) {
        struct entry *e = db_lookup(c->db, keys[i].ptr, keys[i].len,
                                    write ? LOOKUP_WRITE : 0);
        sets[i] = NULL;
        if (e == NULL) {
            continue;
        }
        if (e->type != ENTRY_SET) {
            reply_wrongtype(c);
            return -1;
        }
        sets[i] = entry_obj(e);
    }
    return 0;
}

/* SINTER/SUNION/SDIFF and their STORE forms: keys from argv[first]. */
static void
set_algebra_command(struct client *c, enum set_op op, int store)
{
    size_t first = store ? 2 : 1, n = c->argc - first;
    struct set **sets = mem_alloc(n * sizeof(*sets));
    struct set *res;

    if (set_lookup_many(c, &c->argv[first], n, store, sets) != 0) {
        mem_free(sets);
        return;
    }
    res = set_algebra(sets, n, op, max_intset(c));
    mem_free(sets);
    if (!store) {
        if (res == NULL) {
            reply_set_len(c, 0);
        } else {
            reply_members(c, res);
            set_destroy(&res);
        }
        return;
    }
    const struct resp_arg *dst = &c->argv[1];
    if (res == NULL) {
        if (db_delete(c->db, dst->ptr, dst->len)) {
            notify_key(c, NOTIFY_GENERIC, "del", dst);
        }
        reply_int(c, 0);
        return;
    }
    static const char *const events[] = {
        [SET_OP_INTER] = "sinterstore", [SET_OP_UNION] = "sunionstore",
        [SET_OP_DIFF] = "sdiffstore",
    };
    long long card = (long long)set_card(res);
    db_store_object(c->db, dst->ptr, dst->len, ENTRY_SET, res);
    notify_key(c, NOTIFY_SET, events[op], dst);
    reply_int(c, card);
}

void
cmd_sinter(struct client *c)
{
    set_algebra_command(c, SET_OP_INTER, 0);
}

void
cmd_sinterstore(struct client *c)
{
    set_algebra_command(c, SET_OP_INTER, 1);
}

void
cmd_sunion(struct client *c)
{
    set_algebra_command(c, SET_OP_UNION, 0);
}

void
cmd_sunionstore(struct client *c)
{
    set_algebra_command(c, SET_OP_UNION, 1);
}

void
cmd_sdiff(struct client *c)
{
    set_algebra_command(c, SET_OP_DIFF, 0);
}

void
cmd_sdiffstore(struct client *c)
{
    set_algebra_command(c, SET_OP_DIFF, 1);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void
cmd_sintercard(struct client *c)
{
    long long numkeys, limit = 0;

    if (util_str2ll(c->argv[1].ptr, c->argv[1].len, &numkeys) != 0 || numkeys < 1) {
        reply_error(c, "numkeys should be greater than 0");
        return;
    }
    if ((unsigned long long)numkeys > c->argc - 2) {
        reply_error(c, "Number of keys can't be greater than number of args");
        return;
    }
    for (size_t i = 2 + (size_t)numkeys; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "limit") && i + 1 < c->argc) {
            i++;
            if (util_str2ll(c->argv[i].ptr, c->argv[i].len, &limit) != 0 || limit < 0) {
                reply_error(c, "LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    struct set **sets = mem_alloc((size_t)numkeys * sizeof(*sets));
    if (set_lookup_many(c, &c->argv[2], (size_t)numkeys, 0, sets) == 0) {
        reply_int(c, (long long)set_inter_card(sets, (size_t)numkeys, (size_t)limit));
    }
    mem_free(sets);
}

/* ---- SSCAN ------------------------------------------------------------------------- */

struct sscan_ctx {
    struct set_vec found;
    const struct resp_arg *match;   /* borrowed; NULL for every member */
};

static void
sscan_visit(const char *p, size_t len, void *arg)
{
    struct sscan_ctx *sc = arg;
    if (sc->match == NULL
        || util_glob_match(sc->match->ptr, sc->match->len, p, len, 0)) {
        set_vec_push(&sc->found, p, len);
    }
}

void
cmd_sscan(struct client *c)
{
    unsigned long cursor;
    long long count = 10;
    struct sscan_ctx sc = {{0}, NULL};
    int err;
    struct set *s;

    if (util_scan_cursor(c->argv[2].ptr, c->argv[2].len, &cursor) != 0) {
        reply_error(c, "invalid cursor");
        return;
    }
    s = set_lookup_read(c, &c->argv[1], &err);
    if (err) {
        return;
    }
    if (s == NULL) {
        reply_array_len(c, 2);
        reply_bulk(c, "0", 1);
        reply_array_len(c, 0);
        return;
    }
    for (size_t i = 3; i < c->argc; i += 2) {
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
            sc.match = &c->argv[i + 1];
            if (sc.match->len == 1 && sc.match->ptr[0] == '*') {
                sc.match = NULL;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    cursor = set_scan(s, cursor, (size_t)count, sscan_visit, &sc);
    char buf[32];
    reply_array_len(c, 2);
    reply_bulk(c, buf, util_ull2str(buf, cursor));
    reply_array_len(c, (long long)sc.found.n);
    reply_vec(c, &sc.found);
    set_vec_release(&sc.found);
}
