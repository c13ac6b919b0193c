/* The sorted set type (see t_zset.h): encodings, conversions, ranges and
 * the object layer's table. */
#include "node/t_zset.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/object.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Plain sets as ZUNION/ZINTER/ZDIFF inputs, read through this table. */
#include "node/t_set.h"

static size_t
zset_set_length(const void *set)
{
    return set_card(set);
}

static int
zset_set_contains(const void *set, const char *m, size_t len)
{
    return set_contains((struct set *)set, m, len);
}

static void
zset_set_foreach(const void *set, void (*fn)(const char *m, size_t len, void *arg), void *arg)
{
    struct set_iter it;
    struct set_elem e;
    set_iter_init(&it, (struct set *)set);
    while (set_iter_next(&it, &e)) {
        fn(e.p, e.len, arg);
    }
    set_iter_done(&it);
}

static const struct zset_set_reader zset_sets = {
    zset_set_length,
    zset_set_contains,
    zset_set_foreach,
};
const struct zset_set_reader *zset_set_reader = &zset_sets;

/* ---- scores ------------------------------------------------------------ */

int
zset_parse_score(const char *s, size_t len, double *out)
{
    char small[256];
    char *end;
    /* Redis's getDoubleFromObject: strtod over the whole argument, no
     * leading space, no NaN, no overflow, and no length limit (DBL_MAX
     * written out in full takes 309 digits). */
    if (len == 0 || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) {
        return -1;
    }
    char *buf = len < sizeof(small) ? small : mem_alloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double d = strtod(buf, &end);
    int bad = (size_t)(end - buf) != len || isnan(d)
              || (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0.0));
    if (buf != small) {
        mem_free(buf);
    }
    if (bad) {
        return -1;
    }
    *out = d;
    return 0;
}

/* The text a listpack keeps for a score (an integer one becomes an
 * integer element). */
size_t
zset_score_text(char *buf, double d)
{
    /* As Redis's d2string: an integral score within +-2^52 is written as
     * an integer (so -0 becomes 0), anything else with %.17g. */
    if (d > -4503599627370495.0 && d < 4503599627370496.0 && d == (double)(long long)d) {
        return util_ll2str(buf, (long long)d);
    }
    return util_d2str(buf, 32, d);
}

static double
zset_lp_score(const unsigned char *p)
{
    struct listpack_value v;
    listpack_get(p, &v);
    if (v.is_int) {
        return (double)v.ll;
    }
    char buf[64];
    size_t n = v.len < sizeof(buf) - 1 ? v.len : sizeof(buf) - 1;
    memcpy(buf, v.str, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

/* ---- life cycle ---------------------------------------------------------- */

struct zset *
zset_create(const struct zset_limits *lim, size_t size_hint, size_t max_len)
{
    struct zset *z = mem_calloc(sizeof(*z));
    if (size_hint <= lim->max_entries && max_len <= lim->max_value) {
        z->lp = listpack_new();
    } else {
        z->map = strmap_create_scored();
        z->bt = zbtree_create();
    }
    return z;
}

void
zset_free(void *obj)
{
    struct zset *z = obj;
    listpack_free(z->lp);
    zbtree_destroy(&z->bt);
    strmap_destroy(&z->map);
    mem_free(z);
}

size_t
zset_length(const struct zset *z)
{
    return z->lp != NULL ? listpack_length(z->lp) / 2 : z->bt->length;
}

const char *
zset_encoding(const struct zset *z)
{
    return z->lp != NULL ? "listpack" : "skiplist";
}

void
zset_convert_to_tree(struct zset *z)
{
    if (z->lp == NULL) {
        return;
    }
    struct strmap *map = strmap_create_scored();
    struct zbtree *bt = zbtree_create();
    strmap_expand(map, listpack_length(z->lp) / 2);
    char buf[LISTPACK_INT_BUF];
    for (unsigned char *p = listpack_first(z->lp); p != NULL;) {
        size_t len;
        const char *m = listpack_get_str(p, buf, &len);
        unsigned char *sp = listpack_next(z->lp, p);
        struct strmap_node *n = strmap_add(map, m, len, NULL, 0);
        strmap_node_set_score(n, zset_lp_score(sp));
        zbtree_insert(bt, n);
        p = listpack_next(z->lp, sp);
    }
    listpack_free(z->lp);
    z->lp = NULL;
    z->map = map;
    z->bt = bt;
}

void
zset_convert_if_fits(struct zset *z, const struct zset_limits *lim)
{
    if (z->lp != NULL || z->bt->length > lim->max_entries) {
        return;
    }
    for (struct zbtree_pos p = zbtree_at(z->bt, 1); p.leaf != NULL; p = zbtree_pos_next(p)) {
        if (strmap_node_keylen(zbtree_pos_ele(p)) > lim->max_value) {
            return;
        }
    }
    unsigned char *lp = listpack_new();
    char sbuf[32];
    for (struct zbtree_pos p = zbtree_at(z->bt, 1); p.leaf != NULL; p = zbtree_pos_next(p)) {
        struct strmap_node *e = zbtree_pos_ele(p);
        lp = listpack_append(lp, strmap_node_key(e), strmap_node_keylen(e));
        lp = listpack_append(lp, sbuf, zset_score_text(sbuf, strmap_node_score(e)));
    }
    zbtree_destroy(&z->bt);
    strmap_destroy(&z->map);
    z->lp = lp;
}

/* ---- listpack helpers ---------------------------------------------------- */

static unsigned char *
zset_lp_find(struct zset *z, const char *m, size_t len, double *score)
{
    unsigned char *p = listpack_find(z->lp, listpack_first(z->lp), m, len, 1);
    if (p != NULL && score != NULL) {
        *score = zset_lp_score(listpack_next(z->lp, p));
    }
    return p;
}

static void
zset_lp_insert(struct zset *z, const char *m, size_t len, double score)
{
    char buf[LISTPACK_INT_BUF], sbuf[32];
    unsigned char *p = listpack_first(z->lp);
    while (p != NULL) {
        unsigned char *sp = listpack_next(z->lp, p);
        double s = zset_lp_score(sp);
        size_t mlen;
        const char *pm = listpack_get_str(p, buf, &mlen);
        if (zbtree_cmp(s, pm, mlen, score, m, len) > 0) {
            break;
        }
        p = listpack_next(z->lp, sp);
    }
    size_t slen = zset_score_text(sbuf, score);
    if (p == NULL) {
        z->lp = listpack_append(z->lp, m, len);
        z->lp = listpack_append(z->lp, sbuf, slen);
    } else {
        unsigned char *np;
        z->lp = listpack_insert(z->lp, p, m, len, LISTPACK_BEFORE, &np);
        z->lp = listpack_insert(z->lp, np, sbuf, slen, LISTPACK_AFTER, NULL);
    }
}

/* ---- members ------------------------------------------------------------- */

int
zset_score(struct zset *z, const char *m, size_t len, double *score)
{
    if (z->lp != NULL) {
        return zset_lp_find(z, m, len, score) != NULL;
    }
    struct strmap_node *n = strmap_find(z->map, m, len);
    if (n == NULL) {
        return 0;
    }
    *score = strmap_node_score(n);
    return 1;
}

int
zset_add(struct zset *z, const struct zset_limits *lim, const char *m, size_t len,
         double score, unsigned in, unsigned *out, double *newscore)
{
    double cur;
    *out = 0;
    if (isnan(score)) {
        *out = ZSET_OUT_NAN;
        return -1;
    }
    /* One lookup: the member's listpack entry or map node. */
    unsigned char *lpp = NULL;
    struct strmap_node *node = NULL;
    int found;
    if (z->lp != NULL) {
        lpp = zset_lp_find(z, m, len, &cur);
        found = lpp != NULL;
    } else if (!(in & ZSET_ADD_XX)) {
        int added;
        node = strmap_add_or_find(z->map, m, len, NULL, 0, &added);
        if (added) {
            strmap_node_set_score(node, score);
            zbtree_insert(z->bt, node);
            *newscore = score;
            *out = ZSET_OUT_ADDED;
            return 0;
        }
        found = 1;
        cur = strmap_node_score(node);
    } else {
        node = strmap_find(z->map, m, len);
        found = node != NULL;
        cur = found ? strmap_node_score(node) : 0;
    }
    if (found) {
        if (in & ZSET_ADD_NX) {
            *out = ZSET_OUT_NOP;
            return 0;
        }
        if (in & ZSET_ADD_INCR) {
            score += cur;
            if (isnan(score)) {
                *out = ZSET_OUT_NAN;
                return -1;
            }
        }
        if (((in & ZSET_ADD_LT) && score >= cur) || ((in & ZSET_ADD_GT) && score <= cur)) {
            *out = ZSET_OUT_NOP;
            return 0;
        }
        *newscore = score;
        if (score != cur) {
            if (z->lp != NULL) {
                z->lp = listpack_delete_n(z->lp, &lpp, 2);
                zset_lp_insert(z, m, len, score);
            } else {
                zbtree_update(z->bt, node, score);
            }
            *out = ZSET_OUT_UPDATED;
        }
        return 0;
    }
    if (in & ZSET_ADD_XX) {
        *out = ZSET_OUT_NOP;
        return 0;
    }
    if (z->lp != NULL
        && (zset_length(z) + 1 > lim->max_entries || len > lim->max_value
            || !listpack_safe_to_add(z->lp, len))) {
        zset_convert_to_tree(z);
    }
    if (z->lp != NULL) {
        zset_lp_insert(z, m, len, score);
    } else {
        struct strmap_node *n = strmap_add(z->map, m, len, NULL, 0);
        strmap_node_set_score(n, score);
        zbtree_insert(z->bt, n);
    }
    *newscore = score;
    *out = ZSET_OUT_ADDED;
    return 0;
}

int
zset_delete(struct zset *z, const char *m, size_t len)
{
    if (z->lp != NULL) {
        unsigned char *p = zset_lp_find(z, m, len, NULL);
        if (p == NULL) {
            return 0;
        }
        z->lp = listpack_delete_n(z->lp, &p, 2);
        return 1;
    }
    struct strmap_node *n = strmap_find(z->map, m, len);
    if (n == NULL) {
        return 0;
    }
    zbtree_delete(z->bt, n);
    strmap_unlink_node(z->map, n);
    return 1;
}

long long
zset_rank(struct zset *z, const char *m, size_t len, int reverse)
{
    size_t n = zset_length(z);
    long long rank = -1;
    if (z->lp != NULL) {
        long long i = 0;
        for (unsigned char *p = listpack_first(z->lp); p != NULL; i++) {
            if (listpack_compare(p, m, len)) {
                rank = i;
                break;
            }
            p = listpack_next(z->lp, listpack_next(z->lp, p));
        }
    } else {
        struct strmap_node *node = strmap_find(z->map, m, len);
        if (node != NULL) {
            rank = (long long)zbtree_rank(z->bt, node) - 1;
        }
    }
    if (rank >= 0 && reverse) {
        rank = (long long)n - 1 - rank;
    }
    return rank;
}

/* ---- ranges -------------------------------------------------------------- */

static int
zset_parse_score_end(const char *s, size_t len, double *v, int *ex)
{
    char small[256];
    char *end;
    *ex = 0;
    if (len > 0 && s[0] == '(') {
        *ex = 1;
        s++;
        len--;
    }
    /* Redis reads the end as a C string: strtod up to the first NUL (of
     * any length). */
    char *buf = len < sizeof(small) ? small : mem_alloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v = strtod(buf, &end);
    int bad = *end != '\0' || isnan(*v);
    if (buf != small) {
        mem_free(buf);
    }
    return bad ? -1 : 0;
}

int
zset_parse_score_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                       struct zset_range *r)
{
    memset(r, 0, sizeof(*r));
    if (zset_parse_score_end(min, minlen, &r->min, &r->minex) != 0
        || zset_parse_score_end(max, maxlen, &r->max, &r->maxex) != 0) {
        return -1;
    }
    return 0;
}

static int
zset_parse_lex_end(const char *s, size_t len, int *kind, const char **p, size_t *plen,
                   int *ex)
{
    if (len == 0) {
        return -1;
    }
    *p = NULL;
    *plen = 0;
    *ex = 0;
    switch (s[0]) {
    case '+':
        if (len != 1) {
            return -1;
        }
        *kind = 1;
        return 0;
    case '-':
        if (len != 1) {
            return -1;
        }
        *kind = -1;
        return 0;
    case '(':
    case '[':
        *kind = 0;
        *ex = s[0] == '(';
        *p = s + 1;
        *plen = len - 1;
        return 0;
    default:
        return -1;
    }
}

int
zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                     struct zset_range *r)
{
    memset(r, 0, sizeof(*r));
    r->lex = 1;
    if (zset_parse_lex_end(min, minlen, &r->minkind, &r->lmin, &r->lminlen, &r->minex) != 0
        || zset_parse_lex_end(max, maxlen, &r->maxkind, &r->lmax, &r->lmaxlen, &r->maxex)
               != 0) {
        return -1;
    }
    return 0;
}

static int
zset_bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t l = al < bl ? al : bl;
    int c = l > 0 ? memcmp(a, b, l) : 0;
    if (c != 0) {
        return c;
    }
    return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* Is the element below the range's lower end? */
static int
zset_below_min(const struct zset_range *r, const char *m, size_t len, double score)
{
    if (!r->lex) {
        return r->minex ? score <= r->min : score < r->min;
    }
    if (r->minkind != 0) {
        return r->minkind > 0;
    }
    int c = zset_bytes_cmp(m, len, r->lmin, r->lminlen);
    return r->minex ? c <= 0 : c < 0;
}

/* Is the element at or below the range's upper end? */
static int
zset_not_above_max(const struct zset_range *r, const char *m, size_t len, double score)
{
    if (!r->lex) {
        return r->maxex ? score < r->max : score <= r->max;
    }
    if (r->maxkind != 0) {
        return r->maxkind > 0;
    }
    int c = zset_bytes_cmp(m, len, r->lmax, r->lmaxlen);
    return r->maxex ? c < 0 : c <= 0;
}

struct zset_pred {
    const struct zset_range *r;
    int upper;
};

static int
zset_tree_pred(const struct strmap_node *n, const void *arg)
{
    const struct zset_pred *pr = arg;
    return pr->upper ? zset_not_above_max(pr->r, strmap_node_key(n), strmap_node_keylen(n), strmap_node_score(n))
                     : zset_below_min(pr->r, strmap_node_key(n), strmap_node_keylen(n), strmap_node_score(n));
}

void
zset_range_ranks(struct zset *z, const struct zset_range *r, size_t *first, size_t *count)
{
    size_t lo = 0, hi = 0;
    if (z->lp != NULL) {
        char buf[LISTPACK_INT_BUF];
        int lo_done = 0;
        for (unsigned char *p = listpack_first(z->lp); p != NULL;) {
            unsigned char *sp = listpack_next(z->lp, p);
            size_t len;
            const char *m = listpack_get_str(p, buf, &len);
            double s = zset_lp_score(sp);
            if (!lo_done && zset_below_min(r, m, len, s)) {
                lo++;
            } else {
                lo_done = 1;
            }
            if (zset_not_above_max(r, m, len, s)) {
                hi++;
            } else if (lo_done) {
                break;
            }
            p = listpack_next(z->lp, sp);
        }
    } else {
        struct zset_pred a = {r, 0}, b = {r, 1};
        lo = zbtree_count_prefix(z->bt, zset_tree_pred, &a);
        hi = zbtree_count_prefix(z->bt, zset_tree_pred, &b);
    }
    *first = lo;
    *count = hi > lo ? hi - lo : 0;
}

void
zset_delete_ranks(struct zset *z, size_t first, size_t count)
{
    if (count == 0) {
        return;
    }
    if (z->lp != NULL) {
        z->lp = listpack_delete_range(z->lp, (long)(2 * first), 2 * count);
        return;
    }
    if (first == 0 && count >= z->bt->length) {
        /* Everything: drop the structures rather than unlink one by one. */
        zbtree_destroy(&z->bt);
        strmap_destroy(&z->map);
        z->map = strmap_create_scored();
        z->bt = zbtree_create();
        return;
    }
    /* Each delete may reshape the tree: take the member at rank first+1
     * again every time, by the counts. */
    while (count-- > 0) {
        struct strmap_node *ele = zbtree_delete_rank(z->bt, first + 1);
        if (ele == NULL) {
            break;
        }
        strmap_unlink_node(z->map, ele);
    }
}

int
zset_pop_tree(struct zset *z, int max, size_t n, zset_member_fn fn, void *arg)
{
    if (z->lp != NULL || n >= z->bt->length) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct strmap_node *ele = zbtree_delete_rank(z->bt, max ? z->bt->length : 1);
        fn(arg, strmap_node_key(ele), strmap_node_keylen(ele), strmap_node_score(ele));
        strmap_unlink_node(z->map, ele);
    }
    return 1;
}

/* ---- iteration ----------------------------------------------------------- */

void
zset_iter_init(struct zset_iter *it, struct zset *z, size_t rank, int reverse)
{
    it->z = z;
    it->reverse = reverse;
    it->p = NULL;
    it->pos.leaf = NULL;
    it->pos.pos = 0;
    if (rank >= zset_length(z)) {
        return;
    }
    if (z->lp != NULL) {
        it->p = listpack_seek(z->lp, (long)(2 * rank));
    } else {
        it->pos = zbtree_at(z->bt, rank + 1);
    }
}

int
zset_iter_next(struct zset_iter *it, const char **m, size_t *len, double *score)
{
    struct zset *z = it->z;
    if (z->lp != NULL) {
        unsigned char *p = it->p;
        if (p == NULL) {
            return 0;
        }
        unsigned char *sp = listpack_next(z->lp, p);
        *m = listpack_get_str(p, it->buf, len);
        *score = zset_lp_score(sp);
        if (it->reverse) {
            unsigned char *q = listpack_prev(z->lp, p);
            it->p = q != NULL ? listpack_prev(z->lp, q) : NULL;
        } else {
            it->p = listpack_next(z->lp, sp);
        }
        return 1;
    }
    if (it->pos.leaf == NULL) {
        return 0;
    }
    struct strmap_node *e = zbtree_pos_ele(it->pos);
    /* The elements are separate allocations in no useful order: ask for
     * one a few steps ahead so long walks (ZRANGEBYSCORE, geo cells) wait
     * for several misses at once instead of one after another. */
    {
        const struct zbtree_leaf *l = it->pos.leaf;
        unsigned ahead = it->reverse ? it->pos.pos - 6 : it->pos.pos + 6;
        if (ahead < l->n) {
            __builtin_prefetch(l->items[ahead]);
        }
    }
    *m = strmap_node_key(e);
    *len = strmap_node_keylen(e);
    *score = strmap_node_score(e);
    it->pos = it->reverse ? zbtree_pos_prev(it->pos) : zbtree_pos_next(it->pos);
    return 1;
}

void
zset_random(struct zset *z, const char **m, size_t *len, double *score,
            char buf[LISTPACK_INT_BUF])
{
    if (z->lp != NULL) {
        size_t i = (size_t)random() % zset_length(z);
        unsigned char *p = listpack_seek(z->lp, (long)(2 * i));
        *m = listpack_get_str(p, buf, len);
        *score = zset_lp_score(listpack_next(z->lp, p));
        return;
    }
    struct strmap_node *n = strmap_random(z->map);
    *m = strmap_node_key(n);
    *len = strmap_node_keylen(n);
    *score = strmap_node_score(n);
}

unsigned long
zset_scan(struct zset *z, unsigned long cursor, strmap_scan_fn fn, void *arg)
{
    return strmap_scan(z->map, cursor, fn, arg);
}

/* ---- the object layer's table -------------------------------------------- */

static size_t
zset_memory(const void *obj)
{
    const struct zset *z = obj;
    size_t n = mem_usable(z);
    if (z->lp != NULL) {
        return n + listpack_bytes(z->lp);
    }
    return n + strmap_memory(z->map) + zbtree_memory(z->bt);
}

static void *
zset_copy(const void *obj)
{
    const struct zset *z = obj;
    struct zset *c = mem_calloc(sizeof(*c));
    if (z->lp != NULL) {
        size_t used = listpack_used_bytes(z->lp);
        c->lp = mem_alloc(used);
        memcpy(c->lp, z->lp, used);
        return c;
    }
    c->map = strmap_create_scored();
    c->bt = zbtree_create();
    strmap_expand(c->map, z->bt->length);
    for (struct zbtree_pos p = zbtree_at(z->bt, 1); p.leaf != NULL; p = zbtree_pos_next(p)) {
        struct strmap_node *src = zbtree_pos_ele(p);
        struct strmap_node *e = strmap_add(c->map, strmap_node_key(src), strmap_node_keylen(src), NULL, 0);
        strmap_node_set_score(e, strmap_node_score(src));
        zbtree_insert(c->bt, e);
    }
    return c;
}

static const char *
zset_encoding_of(const void *obj)
{
    return zset_encoding(obj);
}

static size_t
zset_length_of(const void *obj)
{
    return zset_length(obj);
}

static void
zset_digest(const void *obj, uint64_t h[3])
{
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    char sbuf[64];
    zset_iter_init(&it, (struct zset *)obj, 0, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        obj_digest_ordered(h, m, len, sbuf, zset_score_text(sbuf, score));
    }
}

static void
zset_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    obj_emit_begin(em, "ZADD", key, keylen);
    zset_iter_init(&it, (struct zset *)obj, 0, 0);
    while (zset_iter_next(&it, &m, &len, &score)) {
        obj_emit_arg_double(em, score);
        obj_emit_arg(em, m, len);
        obj_emit_item_end(em);
    }
}

const struct obj_type zset_type = {
    .name = "zset",
    .free = zset_free,
    .memory = zset_memory,
    .copy = zset_copy,
    .encoding = zset_encoding_of,
    .length = zset_length_of,
    .digest = zset_digest,
    .rewrite = zset_rewrite,
};
