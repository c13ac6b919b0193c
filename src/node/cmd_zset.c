/* The sorted set commands (ZADD ... ZSCAN, BZPOPMIN/BZPOPMAX/BZMPOP), with
 * Redis 7.0's replies and error strings.  The handlers parse, look keys up
 * and reply; the encodings and ranges are t_zset.c's. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_zset.h"
#include "node/cmd_zset.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- helpers --------------------------------------------------------------- */

int
zarg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

struct zset_limits
zset_limits_of(const struct client *c)
{
    long long entries = c->srv->cfg.zset_max_listpack_entries;
    long long value = c->srv->cfg.zset_max_listpack_value;
    struct zset_limits lim = {
        (size_t)(entries < 0 ? 0 : entries),
        (size_t)(value < 0 ? 0 : value),
    };
    return lim;
}

/* Redis's getLongFromObjectOrReply. */
int
zparse_long(struct client *c, const struct resp_arg *a, long long *out)
{
    if (util_str2ll(a->ptr, a->len, out) != 0) {
        reply_not_integer(c);
        return -1;
    }
    return 0;
}

/* Look key up for reading: *zp is NULL when absent.  Returns -1 after
 * replying WRONGTYPE. */
int
zlookup_read(struct client *c, const struct resp_arg *key, struct zset **zp)
{
    struct entry *e = db_lookup(c->db, key->ptr, key->len, 0);
    *zp = NULL;
    if (e == NULL) {
        return 0;
    }
    if (e->type != ENTRY_ZSET) {
        reply_wrongtype(c);
        return -1;
    }
    *zp = entry_obj(e);
    return 0;
}

/* The same for writing: returns the link (NULL when absent), sets *err. */
static struct entry **
zlookup_write(struct client *c, const struct resp_arg *key, struct zset **zp, int *err)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    *zp = NULL;
    *err = 0;
    if (ref == NULL) {
        return NULL;
    }
    if ((*ref)->type != ENTRY_ZSET) {
        reply_wrongtype(c);
        *err = 1;
        return NULL;
    }
    *zp = entry_obj(*ref);
    return ref;
}

/* After removing members from the set at ref: publish event, then delete
 * the key when empty (publishing del), else signal the change. */
static void
zset_after_remove(struct client *c, struct entry **ref, struct zset *z,
                  const struct resp_arg *key, const char *event)
{
    notify_key(c, NOTIFY_ZSET, event, key);
    if (zset_length(z) == 0) {
        db_delete_ref(c->db, ref);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    } else {
        db_signal_modified(c->db, key->ptr, key->len);
    }
}

/* Store z (owned) under dst, replacing any value; an empty z deletes dst.
 * Replies the resulting cardinality. */
void
zset_store(struct client *c, const struct resp_arg *dst, struct zset *z, const char *event)
{
    size_t n = zset_length(z);
    if (n == 0) {
        zset_free(z);
        if (db_delete(c->db, dst->ptr, dst->len)) {
            notify_key(c, NOTIFY_GENERIC, "del", dst);
        }
        reply_int(c, 0);
        return;
    }
    struct zset_limits lim = zset_limits_of(c);
    zset_convert_if_fits(z, &lim);
    /* The lookup reclaims dst when it expired (so "new" follows). */
    db_lookup_ref(c->db, dst->ptr, dst->len, LOOKUP_WRITE | LOOKUP_NOTOUCH);
    db_store_object(c->db, dst->ptr, dst->len, ENTRY_ZSET, z);
    notify_key(c, NOTIFY_ZSET, event, dst);
    reply_int(c, (long long)n);
}

void
reply_score_pair(struct client *c, const char *m, size_t len, double score, int withscores)
{
    if (withscores && c->resp >= 3) {
        reply_array_len(c, 2);
    }
    reply_bulk(c, m, len);
    if (withscores) {
        reply_double(c, score);
    }
}

/* ---- ZADD / ZINCRBY -------------------------------------------------------- */

static void
zadd_generic(struct client *c, unsigned flags)
{
    const struct resp_arg *key = &c->argv[1];
    size_t scoreidx = 2;
    int ch = 0;
    for (; scoreidx < c->argc; scoreidx++) {
        const struct resp_arg *a = &c->argv[scoreidx];
        if (zarg_is(a, "nx")) {
            flags |= ZSET_ADD_NX;
        } else if (zarg_is(a, "xx")) {
            flags |= ZSET_ADD_XX;
        } else if (zarg_is(a, "ch")) {
            ch = 1;
        } else if (zarg_is(a, "incr")) {
            flags |= ZSET_ADD_INCR;
        } else if (zarg_is(a, "gt")) {
            flags |= ZSET_ADD_GT;
        } else if (zarg_is(a, "lt")) {
            flags |= ZSET_ADD_LT;
        } else {
            break;
        }
    }
    size_t elements = c->argc - scoreidx;
    if (elements % 2 != 0 || elements == 0) {
        reply_syntax_error(c);
        return;
    }
    elements /= 2;
    if ((flags & ZSET_ADD_NX) && (flags & ZSET_ADD_XX)) {
        reply_error(c, "XX and NX options at the same time are not compatible");
        return;
    }
    if (((flags & ZSET_ADD_GT) && (flags & ZSET_ADD_NX))
        || ((flags & ZSET_ADD_LT) && (flags & ZSET_ADD_NX))
        || ((flags & ZSET_ADD_GT) && (flags & ZSET_ADD_LT))) {
        reply_error(c, "GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((flags & ZSET_ADD_INCR) && elements > 1) {
        reply_error(c, "INCR option supports a single increment-element pair");
        return;
    }
    double one;
    double *scores = elements == 1 ? &one : mem_alloc(elements * sizeof(*scores));
    for (size_t j = 0; j < elements; j++) {
        const struct resp_arg *s = &c->argv[scoreidx + 2 * j];
        if (zset_parse_score(s->ptr, s->len, &scores[j]) != 0) {
            reply_error(c, "value is not a valid float");
            goto done;
        }
    }
    struct zset *z;
    int err;
    zlookup_write(c, key, &z, &err);
    if (err) {
        goto done;
    }
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    struct zset_limits lim = zset_limits_of(c);
    int created = 0;
    if (z == NULL) {
        if (flags & ZSET_ADD_XX) {
            goto reply;
        }
        /* Redis 7.0 picks the encoding from the first member alone. */
        z = zset_create(&lim, 1, c->argv[scoreidx + 1].len);
        created = 1;
    }
    for (size_t j = 0; j < elements; j++) {
        const struct resp_arg *m = &c->argv[scoreidx + 2 * j + 1];
        unsigned out;
        double newscore;
        if (zset_add(z, &lim, m->ptr, m->len, scores[j], flags, &out, &newscore) != 0) {
            reply_error(c, "resulting score is not a number (NaN)");
            if (created) {
                zset_free(z);
            }
            goto done;
        }
        if (out & ZSET_OUT_ADDED) {
            added++;
        }
        if (out & ZSET_OUT_UPDATED) {
            updated++;
        }
        if (!(out & ZSET_OUT_NOP)) {
            processed++;
        }
        score = newscore;
    }
    if (created) {
        if (zset_length(z) > 0) {
            db_add_object(c->db, key->ptr, key->len, ENTRY_ZSET, z, -1);
        } else {
            zset_free(z);
        }
    } else if (added + updated > 0) {
        db_signal_modified(c->db, key->ptr, key->len);
    }
    if (added + updated > 0) {
        notify_key(c, NOTIFY_ZSET, (flags & ZSET_ADD_INCR) ? "zincr" : "zadd", key);
    }
reply:
    if (flags & ZSET_ADD_INCR) {
        if (processed) {
            reply_double(c, score);
        } else {
            reply_null(c);
        }
    } else {
        reply_int(c, ch ? added + updated : added);
    }
done:
    if (scores != &one) {
        mem_free(scores);
    }
}

void
cmd_zadd(struct client *c)
{
    zadd_generic(c, 0);
}

void
cmd_zincrby(struct client *c)
{
    /* ZINCRBY key increment member is ZADD key INCR increment member. */
    zadd_generic(c, ZSET_ADD_INCR);
}

/* ---- reads of members ------------------------------------------------------ */

void
cmd_zscore(struct client *c)
{
    struct zset *z;
    double score;
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    if (z == NULL || !zset_score(z, c->argv[2].ptr, c->argv[2].len, &score)) {
        reply_null(c);
        return;
    }
    reply_double(c, score);
}

void
cmd_zmscore(struct client *c)
{
    struct zset *z;
    double score;
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t j = 2; j < c->argc; j++) {
        if (z != NULL && zset_score(z, c->argv[j].ptr, c->argv[j].len, &score)) {
            reply_double(c, score);
        } else {
            reply_null(c);
        }
    }
}

void
cmd_zcard(struct client *c)
{
    struct zset *z;
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    reply_int(c, z != NULL ? (long long)zset_length(z) : 0);
}

static void
zrank_generic(struct client *c, int reverse)
{
    struct zset *z;
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    long long r = z != NULL ? zset_rank(z, c->argv[2].ptr, c->argv[2].len, reverse) : -1;
    if (r < 0) {
        reply_null(c);
    } else {
        reply_int(c, r);
    }
}

void
cmd_zrank(struct client *c)
{
    zrank_generic(c, 0);
}

void
cmd_zrevrank(struct client *c)
{
    zrank_generic(c, 1);
}

static int
zparse_range_or_reply(struct client *c, int lex, const struct resp_arg *min,
                      const struct resp_arg *max, struct zset_range *r)
{
    if (lex) {
        if (zset_parse_lex_range(min->ptr, min->len, max->ptr, max->len, r) != 0) {
            reply_error(c, "min or max not valid string range item");
            return -1;
        }
    } else if (zset_parse_score_range(min->ptr, min->len, max->ptr, max->len, r) != 0) {
        reply_error(c, "min or max is not a float");
        return -1;
    }
    return 0;
}

static void
zcount_generic(struct client *c, int lex)
{
    struct zset_range r;
    struct zset *z;
    size_t first, count;
    if (zparse_range_or_reply(c, lex, &c->argv[2], &c->argv[3], &r) != 0
        || zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    if (z == NULL) {
        reply_int(c, 0);
        return;
    }
    zset_range_ranks(z, &r, &first, &count);
    reply_int(c, (long long)count);
}

void
cmd_zcount(struct client *c)
{
    zcount_generic(c, 0);
}

void
cmd_zlexcount(struct client *c)
{
    zcount_generic(c, 1);
}

/* ---- ZRANGE and its family ------------------------------------------------- */

enum zrange_type { ZRANGE_AUTO, ZRANGE_RANK, ZRANGE_SCORE, ZRANGE_LEX };
enum zrange_dir { ZRANGE_DIR_AUTO, ZRANGE_DIR_FORWARD, ZRANGE_DIR_REVERSE };

/* Sanitise rank indexes start..end over llen members as Redis does; returns
 * the count (0 for an empty range) and sets *first. */
static size_t
zrank_span(long long start, long long end, size_t llen, size_t *first)
{
    long long n = (long long)llen;
    if (start < 0) {
        start = n + start;
    }
    if (end < 0) {
        end = n + end;
    }
    if (start < 0) {
        start = 0;
    }
    if (start > end || start >= n) {
        return 0;
    }
    if (end >= n) {
        end = n - 1;
    }
    *first = (size_t)start;
    return (size_t)(end - start + 1);
}

/* ZRANGE, ZRANGESTORE (dst != NULL; the source key is argv[2]) and the
 * older commands (type and dir preset). */
static void
zrange_generic(struct client *c, const struct resp_arg *dst, enum zrange_type type,
               enum zrange_dir dir)
{
    size_t base = dst != NULL ? 2 : 1;
    const struct resp_arg *key = &c->argv[base];
    size_t minidx = base + 1, maxidx = base + 2;
    int withscores = 0;
    long long offset = 0, limit = -1;
    int have_limit = 0;
    for (size_t j = base + 3; j < c->argc; j++) {
        size_t left = c->argc - j - 1;
        const struct resp_arg *a = &c->argv[j];
        if (dst == NULL && zarg_is(a, "withscores")) {
            withscores = 1;
        } else if (zarg_is(a, "limit") && left >= 2) {
            if (zparse_long(c, &c->argv[j + 1], &offset) != 0
                || zparse_long(c, &c->argv[j + 2], &limit) != 0) {
                return;
            }
            have_limit = 1;
            j += 2;
        } else if (dir == ZRANGE_DIR_AUTO && zarg_is(a, "rev")) {
            dir = ZRANGE_DIR_REVERSE;
        } else if (type == ZRANGE_AUTO && zarg_is(a, "bylex")) {
            type = ZRANGE_LEX;
        } else if (type == ZRANGE_AUTO && zarg_is(a, "byscore")) {
            type = ZRANGE_SCORE;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (dir == ZRANGE_DIR_AUTO) {
        dir = ZRANGE_DIR_FORWARD;
    }
    if (type == ZRANGE_AUTO) {
        type = ZRANGE_RANK;
    }
    if (have_limit && limit != -1 && type == ZRANGE_RANK) {
        reply_error(c, "syntax error, LIMIT is only supported in combination with either "
                       "BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == ZRANGE_LEX) {
        reply_error(c, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int reverse = dir == ZRANGE_DIR_REVERSE;
    if (reverse && type != ZRANGE_RANK) {
        size_t t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    long long start = 0, end = 0;
    struct zset_range r;
    if (type == ZRANGE_RANK) {
        if (zparse_long(c, &c->argv[minidx], &start) != 0
            || zparse_long(c, &c->argv[maxidx], &end) != 0) {
            return;
        }
    } else if (zparse_range_or_reply(c, type == ZRANGE_LEX, &c->argv[minidx],
                                     &c->argv[maxidx], &r)
               != 0) {
        return;
    }
    struct zset *z;
    if (zlookup_read(c, key, &z) != 0) {
        return;
    }
    /* The run of ranks to emit: n members from rank `from`, walking down
     * when reverse. */
    size_t from = 0, n = 0;
    if (z != NULL) {
        size_t llen = zset_length(z);
        if (type == ZRANGE_RANK) {
            size_t first;
            n = zrank_span(start, end, llen, &first);
            if (n > 0) {
                from = reverse ? llen - 1 - first : first;
            }
        } else {
            size_t first, count;
            zset_range_ranks(z, &r, &first, &count);
            if (offset < 0 || (unsigned long long)offset >= count) {
                n = 0;
            } else {
                n = count - (size_t)offset;
                if (limit >= 0 && (unsigned long long)limit < n) {
                    n = (size_t)limit;
                }
                from = reverse ? first + count - 1 - (size_t)offset : first + (size_t)offset;
            }
        }
    }
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    if (dst != NULL) {
        struct zset_limits lim = zset_limits_of(c);
        struct zset *out = zset_create(&lim, n, 0);
        if (n > 0) {
            zset_iter_init(&it, z, from, reverse);
            for (size_t i = 0; i < n && zset_iter_next(&it, &m, &len, &score); i++) {
                unsigned o;
                double ns;
                zset_add(out, &lim, m, len, score, 0, &o, &ns);
            }
        }
        zset_store(c, dst, out, "zrangestore");
        return;
    }
    reply_array_len(c, (long long)(withscores && c->resp < 3 ? 2 * n : n));
    if (n > 0) {
        zset_iter_init(&it, z, from, reverse);
        for (size_t i = 0; i < n && zset_iter_next(&it, &m, &len, &score); i++) {
            reply_score_pair(c, m, len, score, withscores);
        }
    }
}

void
cmd_zrange(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_AUTO, ZRANGE_DIR_AUTO);
}

void
cmd_zrangestore(struct client *c)
{
    zrange_generic(c, &c->argv[1], ZRANGE_AUTO, ZRANGE_DIR_AUTO);
}

void
cmd_zrevrange(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_RANK, ZRANGE_DIR_REVERSE);
}

void
cmd_zrangebyscore(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_SCORE, ZRANGE_DIR_FORWARD);
}

void
cmd_zrevrangebyscore(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_SCORE, ZRANGE_DIR_REVERSE);
}

void
cmd_zrangebylex(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_LEX, ZRANGE_DIR_FORWARD);
}

void
cmd_zrevrangebylex(struct client *c)
{
    zrange_generic(c, NULL, ZRANGE_LEX, ZRANGE_DIR_REVERSE);
}

/* ---- removal --------------------------------------------------------------- */

void
cmd_zrem(struct client *c)
{
    struct zset *z;
    int err;
    struct entry **ref = zlookup_write(c, &c->argv[1], &z, &err);
    if (err) {
        return;
    }
    if (z == NULL) {
        reply_int(c, 0);
        return;
    }
    long long deleted = 0;
    for (size_t j = 2; j < c->argc && zset_length(z) > 0; j++) {
        deleted += zset_delete(z, c->argv[j].ptr, c->argv[j].len);
    }
    if (deleted > 0) {
        zset_after_remove(c, ref, z, &c->argv[1], "zrem");
    }
    reply_int(c, deleted);
}

static void
zremrange_generic(struct client *c, enum zrange_type type)
{
    long long start = 0, end = 0;
    struct zset_range r;
    if (type == ZRANGE_RANK) {
        if (zparse_long(c, &c->argv[2], &start) != 0 || zparse_long(c, &c->argv[3], &end) != 0) {
            return;
        }
    } else if (zparse_range_or_reply(c, type == ZRANGE_LEX, &c->argv[2], &c->argv[3], &r)
               != 0) {
        return;
    }
    struct zset *z;
    int err;
    struct entry **ref = zlookup_write(c, &c->argv[1], &z, &err);
    if (err) {
        return;
    }
    if (z == NULL) {
        reply_int(c, 0);
        return;
    }
    size_t first = 0, count;
    if (type == ZRANGE_RANK) {
        count = zrank_span(start, end, zset_length(z), &first);
    } else {
        zset_range_ranks(z, &r, &first, &count);
    }
    if (count > 0) {
        zset_delete_ranks(z, first, count);
        zset_after_remove(c, ref, z, &c->argv[1],
                          type == ZRANGE_RANK    ? "zremrangebyrank"
                          : type == ZRANGE_SCORE ? "zremrangebyscore"
                                                 : "zremrangebylex");
    }
    reply_int(c, (long long)count);
}

void
cmd_zremrangebyrank(struct client *c)
{
    zremrange_generic(c, ZRANGE_RANK);
}

void
cmd_zremrangebyscore(struct client *c)
{
    zremrange_generic(c, ZRANGE_SCORE);
}

void
cmd_zremrangebylex(struct client *c)
{
    zremrange_generic(c, ZRANGE_LEX);
}

/* ---- pops ------------------------------------------------------------------ */

enum zpop_shape {
    ZPOP_FLAT,        /* ZPOPMIN/MAX: member, score, ... */
    ZPOP_NESTED,      /* ZPOPMIN/MAX count in RESP3: [member, score], ... */
    ZPOP_KEY_FLAT,    /* BZPOPMIN/MAX: key, member, score */
    ZPOP_KEY_NESTED,  /* ZMPOP/BZMPOP: key, [[member, score], ...] */
};

struct zpop_reply_ctx {
    struct client *c;  /* borrowed */
    int nested;        /* each member and score as an array of two */
};

static void
zpop_reply_fn(void *arg, const char *m, size_t len, double score)
{
    struct zpop_reply_ctx *rc = arg;
    if (rc->nested) {
        reply_array_len(rc->c, 2);
    }
    reply_bulk(rc->c, m, len);
    reply_double(rc->c, score);
}

/* Pop up to count members from the set at ref (not empty) and reply in
 * shape; returns how many were popped. */
static size_t
zpop_from(struct client *c, struct entry **ref, struct zset *z, const struct resp_arg *key,
          int max, size_t count, enum zpop_shape shape)
{
    size_t llen = zset_length(z);
    size_t n = count > llen ? llen : count;
    switch (shape) {
    case ZPOP_FLAT:
        reply_array_len(c, (long long)(2 * n));
        break;
    case ZPOP_NESTED:
        reply_array_len(c, (long long)n);
        break;
    case ZPOP_KEY_FLAT:
        reply_array_len(c, (long long)(2 * n + 1));
        reply_bulk(c, key->ptr, key->len);
        break;
    case ZPOP_KEY_NESTED:
        reply_array_len(c, 2);
        reply_bulk(c, key->ptr, key->len);
        reply_array_len(c, (long long)n);
        break;
    }
    int nested = shape == ZPOP_NESTED || shape == ZPOP_KEY_NESTED;
    struct zpop_reply_ctx rc = {c, nested};
    if (zset_pop_tree(z, max, n, zpop_reply_fn, &rc)) {
        zset_after_remove(c, ref, z, key, max ? "zpopmax" : "zpopmin");
        return n;
    }
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, z, max ? llen - 1 : 0, max);
    for (size_t i = 0; i < n && zset_iter_next(&it, &m, &len, &score); i++) {
        zpop_reply_fn(&rc, m, len, score);
    }
    zset_delete_ranks(z, max ? llen - n : 0, n);
    zset_after_remove(c, ref, z, key, max ? "zpopmax" : "zpopmin");
    return n;
}

/* The first non-empty sorted set among keys: 1 with *refp, *zp and *idx set,
 * 0 when none, -1 after replying WRONGTYPE. */
static int
zpop_candidate(struct client *c, const struct resp_arg *keys, size_t nkeys,
               struct entry ***refp, struct zset **zp, size_t *idx)
{
    for (size_t i = 0; i < nkeys; i++) {
        int err;
        struct entry **ref = zlookup_write(c, &keys[i], zp, &err);
        if (err) {
            return -1;
        }
        if (ref != NULL) {
            *refp = ref;
            *idx = i;
            return 1;
        }
    }
    return 0;
}

/* Propagate a served pop as ZPOPMIN/ZPOPMAX key [count]. */
static void
zpop_propagate(struct client *c, const struct resp_arg *key, int max, size_t count,
               int with_count)
{
    char buf[24];
    struct resp_arg argv[3] = {{max ? "ZPOPMAX" : "ZPOPMIN", 7}, *key, {buf, 0}};
    argv[2].len = util_ll2str(buf, (long long)count);
    propagate_effect(c, with_count ? 3 : 2, argv);
}

static void
zpopminmax(struct client *c, int max)
{
    long long count = -1;
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 3) {
        if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) != 0 || count < 0) {
            reply_error(c, "value is out of range, must be positive");
            return;
        }
    }
    struct entry **ref;
    struct zset *z;
    size_t idx;
    int r = zpop_candidate(c, &c->argv[1], 1, &ref, &z, &idx);
    if (r < 0) {
        return;
    }
    if (r == 0 || count == 0) {
        reply_array_len(c, 0);
        return;
    }
    enum zpop_shape shape = c->resp >= 3 && count != -1 ? ZPOP_NESTED : ZPOP_FLAT;
    zpop_from(c, ref, z, &c->argv[1], max, count == -1 ? 1 : (size_t)count, shape);
}

void
cmd_zpopmin(struct client *c)
{
    zpopminmax(c, 0);
}

void
cmd_zpopmax(struct client *c)
{
    zpopminmax(c, 1);
}

static void
bzpopminmax(struct client *c, int max)
{
    long long timeout;
    if (block_parse_timeout(c, &c->argv[c->argc - 1], &timeout) != 0) {
        return;
    }
    const struct resp_arg *keys = &c->argv[1];
    size_t nkeys = c->argc - 2;
    struct entry **ref;
    struct zset *z;
    size_t idx;
    int r = zpop_candidate(c, keys, nkeys, &ref, &z, &idx);
    if (r < 0) {
        return;
    }
    if (r == 0) {
        block_on_keys(c, keys, nkeys, timeout, BLOCK_REPLY_NULL_ARRAY);
        return;
    }
    struct resp_arg key = keys[idx];
    zpop_from(c, ref, z, &key, max, 1, ZPOP_KEY_FLAT);
    zpop_propagate(c, &key, max, 1, 0);
}

void
cmd_bzpopmin(struct client *c)
{
    bzpopminmax(c, 0);
}

void
cmd_bzpopmax(struct client *c)
{
    bzpopminmax(c, 1);
}

/* ZMPOP numkeys key... MIN|MAX [COUNT n]; BZMPOP timeout numkeys ... */
static void
zmpop_generic(struct client *c, int blocking)
{
    size_t numkeys_idx = blocking ? 2 : 1;
    long long timeout = 0;
    if (blocking && block_parse_timeout(c, &c->argv[1], &timeout) != 0) {
        return;
    }
    long long numkeys;
    if (util_str2ll(c->argv[numkeys_idx].ptr, c->argv[numkeys_idx].len, &numkeys) != 0
        || numkeys < 1) {
        reply_error(c, "numkeys should be greater than 0");
        return;
    }
    /* MIN|MAX must follow the keys. */
    if ((unsigned long long)numkeys >= c->argc - numkeys_idx - 1) {
        reply_syntax_error(c);
        return;
    }
    size_t where_idx = numkeys_idx + (size_t)numkeys + 1;
    int max;
    if (zarg_is(&c->argv[where_idx], "min")) {
        max = 0;
    } else if (zarg_is(&c->argv[where_idx], "max")) {
        max = 1;
    } else {
        reply_syntax_error(c);
        return;
    }
    long long count = -1;
    for (size_t j = where_idx + 1; j < c->argc; j++) {
        size_t more = c->argc - 1 - j;
        if (count == -1 && zarg_is(&c->argv[j], "count") && more > 0) {
            j++;
            if (util_str2ll(c->argv[j].ptr, c->argv[j].len, &count) != 0 || count < 1) {
                reply_error(c, "count should be greater than 0");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (count == -1) {
        count = 1;
    }
    const struct resp_arg *keys = &c->argv[numkeys_idx + 1];
    struct entry **ref;
    struct zset *z;
    size_t idx;
    int r = zpop_candidate(c, keys, (size_t)numkeys, &ref, &z, &idx);
    if (r < 0) {
        return;
    }
    if (r == 0) {
        if (blocking) {
            block_on_keys(c, keys, (size_t)numkeys, timeout, BLOCK_REPLY_NULL_ARRAY);
        } else {
            reply_null_array(c);
        }
        return;
    }
    struct resp_arg key = keys[idx];
    /* Propagated with the number popped, as Redis 7.0 does. */
    size_t len = zset_length(z), popped = (size_t)count < len ? (size_t)count : len;
    zpop_from(c, ref, z, &key, max, (size_t)count, ZPOP_KEY_NESTED);
    zpop_propagate(c, &key, max, popped, 1);
}

void
cmd_zmpop(struct client *c)
{
    zmpop_generic(c, 0);
}

void
cmd_bzmpop(struct client *c)
{
    zmpop_generic(c, 1);
}
