/* The sorted set commands that combine or sample sets: ZUNION, ZINTER,
 * ZDIFF and their STORE forms, ZINTERCARD, ZRANDMEMBER and ZSCAN (the rest
 * are in cmd_zset.c). */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/db.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_zset.h"
#include "node/cmd_zset.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- ZRANDMEMBER ----------------------------------------------------------- */

void
cmd_zrandmember(struct client *c)
{
    struct zset *z;
    const char *m;
    size_t len;
    double score;
    char buf[LISTPACK_INT_BUF];
    if (c->argc == 2) {
        if (zlookup_read(c, &c->argv[1], &z) != 0) {
            return;
        }
        if (z == NULL) {
            reply_null(c);
            return;
        }
        zset_random(z, &m, &len, &score, buf);
        reply_bulk(c, m, len);
        return;
    }
    /* Redis's order: the count, then the syntax, then the count's bound
     * with scores, then the key. */
    long long l;
    int withscores = 0;
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &l) != 0) {
        reply_not_integer(c);
        return;
    }
    if (l == LLONG_MIN) {
        reply_error(c, "value is out of range, value must between -9223372036854775807 and "
                       "9223372036854775807");
        return;
    }
    if (c->argc == 4 && zarg_is(&c->argv[3], "withscores")) {
        withscores = 1;
    } else if (c->argc >= 4) {
        reply_syntax_error(c);
        return;
    }
    if (withscores && l < 0 && (unsigned long long)(-l) > LLONG_MAX / 2) {
        reply_error(c, "value is out of range");
        return;
    }
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    if (z == NULL || l == 0) {
        reply_array_len(c, 0);
        return;
    }
    size_t size = zset_length(z);
    if (l < 0) {
        /* With repetitions: -l random picks. */
        unsigned long long n = (unsigned long long)(-l);
        reply_array_len(c, (long long)(withscores && c->resp < 3 ? 2 * n : n));
        for (unsigned long long i = 0; i < n; i++) {
            zset_random(z, &m, &len, &score, buf);
            reply_score_pair(c, m, len, score, withscores);
        }
        return;
    }
    struct zset_iter it;
    if ((unsigned long long)l >= size) {
        reply_array_len(c, (long long)(withscores && c->resp < 3 ? 2 * size : size));
        zset_iter_init(&it, z, 0, 0);
        while (zset_iter_next(&it, &m, &len, &score)) {
            reply_score_pair(c, m, len, score, withscores);
        }
        return;
    }
    size_t need = (size_t)l;
    reply_array_len(c, (long long)(withscores && c->resp < 3 ? 2 * need : need));
    if (need * 3 <= size) {
        /* Few of many: random picks until need distinct ones, so a large
         * set is not walked. */
        struct strmap *seen = strmap_create_keys_only();
        while (strmap_size(seen) < need) {
            int added;
            zset_random(z, &m, &len, &score, buf);
            strmap_add_or_find(seen, m, len, NULL, 0, &added);
            if (added) {
                reply_score_pair(c, m, len, score, withscores);
            }
        }
        strmap_destroy(&seen);
        return;
    }
    /* Most of them: selection sampling over the walk, in rank order. */
    zset_iter_init(&it, z, 0, 0);
    for (size_t seen = 0; need > 0 && zset_iter_next(&it, &m, &len, &score); seen++) {
        size_t left = size - seen;
        if ((size_t)random() % left < need) {
            reply_score_pair(c, m, len, score, withscores);
            need--;
        }
    }
}

/* ---- ZUNION / ZINTER / ZDIFF ----------------------------------------------- */

enum zsetop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zaggr { ZAGGR_SUM, ZAGGR_MIN, ZAGGR_MAX };

struct zsrc {
    struct zset *z;          /* borrowed; NULL when the key is absent */
    int is_set;              /* a plain set (scores 1) */
    void *set;               /* borrowed: the set object */
    double weight;
};

static size_t
zsrc_length(const struct zsrc *s)
{
    if (s->is_set) {
        return zset_set_reader != NULL ? zset_set_reader->length(s->set) : 0;
    }
    return s->z != NULL ? zset_length(s->z) : 0;
}

static int
zsrc_score(struct zsrc *s, const char *m, size_t len, double *score)
{
    if (s->is_set) {
        *score = 1.0;
        return zset_set_reader != NULL && zset_set_reader->contains(s->set, m, len);
    }
    return s->z != NULL && zset_score(s->z, m, len, score);
}

static void
zaggregate(double *target, double v, enum zaggr aggr)
{
    if (aggr == ZAGGR_SUM) {
        *target = *target + v;
        if (isnan(*target)) {
            *target = 0.0;
        }
    } else if (aggr == ZAGGR_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

/* Accumulating a union or intersection: a strmap member -> score. */
struct zacc {
    struct strmap *map;
    struct zsrc *src;
    size_t nsrc;
    size_t cur;              /* index of the source being walked */
    enum zsetop op;
    enum zaggr aggr;
};

static void
zacc_visit(struct zacc *a, const char *m, size_t len, double score)
{
    struct zsrc *s = &a->src[a->cur];
    double v = s->weight * score;
    if (isnan(v)) {
        v = 0;
    }
    if (a->op == ZOP_UNION) {
        int added;
        struct strmap_node *n = strmap_add_or_find(a->map, m, len, NULL, 0, &added);
        if (added) {
            strmap_node_set_score(n, v);
        } else {
            double cur = strmap_node_score(n);
            zaggregate(&cur, v, a->aggr);
            strmap_node_set_score(n, cur);
        }
        return;
    }
    if (a->op == ZOP_INTER) {
        for (size_t j = 1; j < a->nsrc; j++) {
            double sj;
            if (!zsrc_score(&a->src[j], m, len, &sj)) {
                return;
            }
            double vj = a->src[j].weight * sj;
            if (isnan(vj)) {
                vj = 0;
            }
            zaggregate(&v, vj, a->aggr);
        }
        struct strmap_node *n = strmap_add(a->map, m, len, NULL, 0);
        strmap_node_set_score(n, v);
        return;
    }
    /* ZOP_DIFF: members of the first source in none of the others. */
    for (size_t j = 1; j < a->nsrc; j++) {
        double sj;
        if (zsrc_score(&a->src[j], m, len, &sj)) {
            return;
        }
    }
    struct strmap_node *n = strmap_add(a->map, m, len, NULL, 0);
    strmap_node_set_score(n, score);
}

static void
zacc_set_member(const char *m, size_t len, void *arg)
{
    zacc_visit(arg, m, len, 1.0);
}

static void
zacc_walk(struct zacc *a, size_t i)
{
    struct zsrc *s = &a->src[i];
    a->cur = i;
    if (s->is_set) {
        if (zset_set_reader != NULL) {
            zset_set_reader->foreach(s->set, zacc_set_member, a);
        }
        return;
    }
    if (s->z == NULL) {
        return;
    }
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, s->z, 0, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        zacc_visit(a, m, len, score);
    }
}

/* Build the result of op over src as a sorted set. */
static struct zset *
zsetop_compute(struct client *c, struct zsrc *src, size_t nsrc, enum zsetop op,
               enum zaggr aggr)
{
    struct zacc a = {strmap_create_scored(), src, nsrc, 0, op, aggr};
    if (op != ZOP_DIFF) {
        /* Smallest first, as Redis orders them (it also decides the order
         * in which scores are summed).  Stable insertion sort. */
        for (size_t i = 1; i < nsrc; i++) {
            struct zsrc t = src[i];
            size_t j = i;
            while (j > 0 && zsrc_length(&src[j - 1]) > zsrc_length(&t)) {
                src[j] = src[j - 1];
                j--;
            }
            src[j] = t;
        }
    }
    if (op == ZOP_UNION) {
        for (size_t i = 0; i < nsrc; i++) {
            zacc_walk(&a, i);
        }
    } else if (zsrc_length(&src[0]) > 0) {
        zacc_walk(&a, 0);
    }
    struct zset_limits lim = zset_limits_of(c);
    size_t maxlen = 0;
    struct strmap_iter it;
    struct strmap_node *n;
    strmap_iter_init(&it, a.map);
    while ((n = strmap_iter_next(&it)) != NULL) {
        maxlen = strmap_node_keylen(n) > maxlen ? strmap_node_keylen(n) : maxlen;
    }
    strmap_iter_done(&it);
    struct zset *z = zset_create(&lim, strmap_size(a.map), maxlen);
    strmap_iter_init(&it, a.map);
    while ((n = strmap_iter_next(&it)) != NULL) {
        unsigned o;
        double ns;
        zset_add(z, &lim, strmap_node_key(n), strmap_node_keylen(n), strmap_node_score(n), 0, &o, &ns);
    }
    strmap_iter_done(&it);
    strmap_destroy(&a.map);
    return z;
}

/* Read the sources named at argv[numkeys_idx + 1 ...]; returns the count or
 * -1 after replying. */
static long long
zsetop_sources(struct client *c, size_t numkeys_idx, struct zsrc **out)
{
    long long setnum;
    if (zparse_long(c, &c->argv[numkeys_idx], &setnum) != 0) {
        return -1;
    }
    if (setnum < 1) {
        reply_errorf(c, "at least 1 input key is needed for '%s' command", c->cmd->fullname);
        return -1;
    }
    if ((unsigned long long)setnum > c->argc - (numkeys_idx + 1)) {
        reply_syntax_error(c);
        return -1;
    }
    struct zsrc *src = mem_calloc((size_t)setnum * sizeof(*src));
    for (long long i = 0; i < setnum; i++) {
        const struct resp_arg *k = &c->argv[numkeys_idx + 1 + (size_t)i];
        struct entry *e = db_lookup(c->db, k->ptr, k->len, 0);
        src[i].weight = 1.0;
        if (e == NULL) {
            continue;
        }
        if (e->type == ENTRY_ZSET) {
            src[i].z = entry_obj(e);
        } else if (e->type == ENTRY_SET && zset_set_reader != NULL) {
            src[i].is_set = 1;
            src[i].set = entry_obj(e);
        } else {
            mem_free(src);
            reply_wrongtype(c);
            return -1;
        }
    }
    *out = src;
    return setnum;
}

/* ZUNION/ZINTER/ZDIFF (dst NULL) and their STORE forms. */
static void
zsetop_generic(struct client *c, const struct resp_arg *dst, size_t numkeys_idx,
               enum zsetop op)
{
    struct zsrc *src;
    long long setnum = zsetop_sources(c, numkeys_idx, &src);
    if (setnum < 0) {
        return;
    }
    enum zaggr aggr = ZAGGR_SUM;
    int withscores = 0;
    size_t j = numkeys_idx + 1 + (size_t)setnum;
    while (j < c->argc) {
        size_t remaining = c->argc - j;
        if (op != ZOP_DIFF && remaining >= (size_t)setnum + 1 && zarg_is(&c->argv[j], "weights")) {
            j++;
            for (long long i = 0; i < setnum; i++, j++) {
                if (zset_parse_score(c->argv[j].ptr, c->argv[j].len, &src[i].weight) != 0) {
                    reply_error(c, "weight value is not a float");
                    mem_free(src);
                    return;
                }
            }
        } else if (op != ZOP_DIFF && remaining >= 2 && zarg_is(&c->argv[j], "aggregate")) {
            const struct resp_arg *v = &c->argv[j + 1];
            if (zarg_is(v, "sum")) {
                aggr = ZAGGR_SUM;
            } else if (zarg_is(v, "min")) {
                aggr = ZAGGR_MIN;
            } else if (zarg_is(v, "max")) {
                aggr = ZAGGR_MAX;
            } else {
                reply_syntax_error(c);
                mem_free(src);
                return;
            }
            j += 2;
        } else if (dst == NULL && zarg_is(&c->argv[j], "withscores")) {
            withscores = 1;
            j++;
        } else {
            reply_syntax_error(c);
            mem_free(src);
            return;
        }
    }
    struct zset *z = zsetop_compute(c, src, (size_t)setnum, op, aggr);
    mem_free(src);
    if (dst != NULL) {
        static const char *const events[] = {
            [ZOP_UNION] = "zunionstore", [ZOP_INTER] = "zinterstore", [ZOP_DIFF] = "zdiffstore",
        };
        zset_store(c, dst, z, events[op]);
        return;
    }
    size_t n = zset_length(z);
    reply_array_len(c, (long long)(withscores && c->resp < 3 ? 2 * n : n));
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, z, 0, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        reply_score_pair(c, m, len, score, withscores);
    }
    zset_free(z);
}

void
cmd_zunion(struct client *c)
{
    zsetop_generic(c, NULL, 1, ZOP_UNION);
}

void
cmd_zinter(struct client *c)
{
    zsetop_generic(c, NULL, 1, ZOP_INTER);
}

void
cmd_zdiff(struct client *c)
{
    zsetop_generic(c, NULL, 1, ZOP_DIFF);
}

void
cmd_zunionstore(struct client *c)
{
    zsetop_generic(c, &c->argv[1], 2, ZOP_UNION);
}

void
cmd_zinterstore(struct client *c)
{
    zsetop_generic(c, &c->argv[1], 2, ZOP_INTER);
}

void
cmd_zdiffstore(struct client *c)
{
    zsetop_generic(c, &c->argv[1], 2, ZOP_DIFF);
}

void
cmd_zintercard(struct client *c)
{
    struct zsrc *src;
    long long numkeys = zsetop_sources(c, 1, &src);
    if (numkeys < 0) {
        return;
    }
    long long limit = 0;
    for (size_t j = 2 + (size_t)numkeys; j < c->argc; j++) {
        size_t more = c->argc - 1 - j;
        if (zarg_is(&c->argv[j], "limit") && more > 0) {
            j++;
            if (util_str2ll(c->argv[j].ptr, c->argv[j].len, &limit) != 0 || limit < 0) {
                reply_error(c, "LIMIT can't be negative");
                mem_free(src);
                return;
            }
        } else {
            reply_syntax_error(c);
            mem_free(src);
            return;
        }
    }
    struct zset *z = zsetop_compute(c, src, (size_t)numkeys, ZOP_INTER, ZAGGR_SUM);
    mem_free(src);
    size_t n = zset_length(z);
    zset_free(z);
    reply_int(c, limit > 0 && (size_t)limit < n ? limit : (long long)n);
}

/* ---- ZSCAN ----------------------------------------------------------------- */

struct zscan_out {
    const char *pat;
    size_t patlen;
    char **items;            /* owned: member, then score text, each owned */
    size_t *lens;
    size_t n, cap;
};

static void
zscan_push(struct zscan_out *o, const char *m, size_t len, double score)
{
    if (o->pat != NULL && !util_glob_match(o->pat, o->patlen, m, len, 0)) {
        return;
    }
    if (o->n + 2 > o->cap) {
        o->cap = o->cap ? o->cap * 2 : 32;
        o->items = mem_realloc(o->items, o->cap * sizeof(*o->items));
        o->lens = mem_realloc(o->lens, o->cap * sizeof(*o->lens));
    }
    char buf[64];
    size_t sl = zset_score_text(buf, score);
    o->items[o->n] = mem_alloc(len + 1);
    memcpy(o->items[o->n], m, len);
    o->lens[o->n++] = len;
    o->items[o->n] = mem_alloc(sl + 1);
    memcpy(o->items[o->n], buf, sl);
    o->lens[o->n++] = sl;
}

static void
zscan_visit(const struct strmap_node *n, void *arg)
{
    zscan_push(arg, strmap_node_key(n), strmap_node_keylen(n), strmap_node_score(n));
}

void
cmd_zscan(struct client *c)
{
    unsigned long cursor;
    if (util_scan_cursor(c->argv[2].ptr, c->argv[2].len, &cursor) != 0) {
        reply_error(c, "invalid cursor");
        return;
    }
    struct zset *z;
    if (zlookup_read(c, &c->argv[1], &z) != 0) {
        return;
    }
    if (z == NULL) {
        reply_array_len(c, 2);
        reply_bulk(c, "0", 1);
        reply_array_len(c, 0);
        return;
    }
    struct zscan_out o = {0};
    long long count = 10;
    for (size_t i = 3; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        const struct resp_arg *v = &c->argv[i + 1];
        if (zarg_is(&c->argv[i], "count")) {
            if (zparse_long(c, v, &count) != 0) {
                return;
            }
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (zarg_is(&c->argv[i], "match")) {
            if (v->len == 1 && v->ptr[0] == '*') {
                o.pat = NULL;
            } else {
                o.pat = v->ptr;
                o.patlen = v->len;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (z->lp != NULL) {
        struct zset_iter it;
        const char *m;
        size_t len;
        double score;
        zset_iter_init(&it, z, 0, 0);
        while (zset_iter_next(&it, &m, &len, &score)) {
            zscan_push(&o, m, len, score);
        }
        cursor = 0;
    } else {
        long long budget = count * 10;
        do {
            cursor = zset_scan(z, cursor, zscan_visit, &o);
        } while (cursor != 0 && budget-- > 0 && o.n < (size_t)count);
    }
    char buf[32];
    reply_array_len(c, 2);
    reply_bulk(c, buf, util_ull2str(buf, cursor));
    reply_array_len(c, (long long)o.n);
    for (size_t i = 0; i < o.n; i++) {
        reply_bulk(c, o.items[i], o.lens[i]);
        mem_free(o.items[i]);
    }
    mem_free(o.items);
    mem_free(o.lens);
}
