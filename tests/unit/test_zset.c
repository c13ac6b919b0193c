/* Sorted sets: the order-statistic B+tree (ranks, counts, separators,
 * merges, in-order fills) and the zset type in both encodings, each run
 * against a sorted-array reference model with random inserts, deletes, score updates, rank/score/lex ranges, rank-range
 * deletes and conversions in both directions. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "ds/zbtree.h"
#include "ds/strmap.h"
#include "node/t_zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct model_item {
    char m[32];
    size_t len;
    double score;
};

struct model {
    struct model_item *v;
    size_t n, cap;
};

static int
model_cmp(const void *a, const void *b)
{
    const struct model_item *x = a, *y = b;
    return zbtree_cmp(x->score, x->m, x->len, y->score, y->m, y->len);
}

static long
model_find(const struct model *md, const char *m, size_t len)
{
    for (size_t i = 0; i < md->n; i++) {
        if (md->v[i].len == len && memcmp(md->v[i].m, m, len) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void
model_del(struct model *md, long i);

/* Set m's score: remove its old place, then insert by binary search. */
static void
model_set(struct model *md, const char *m, size_t len, double score)
{
    long i = model_find(md, m, len);
    if (i >= 0) {
        model_del(md, i);
    }
    if (md->n == md->cap) {
        md->cap = md->cap ? md->cap * 2 : 64;
        md->v = realloc(md->v, md->cap * sizeof(*md->v));
    }
    struct model_item it;
    memcpy(it.m, m, len);
    it.len = len;
    it.score = score;
    size_t lo = 0, hi = md->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (model_cmp(&md->v[mid], &it) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    memmove(&md->v[lo + 1], &md->v[lo], (md->n - lo) * sizeof(*md->v));
    md->v[lo] = it;
    md->n++;
}

static void
model_del(struct model *md, long i)
{
    memmove(&md->v[i], &md->v[i + 1], (md->n - (size_t)i - 1) * sizeof(*md->v));
    md->n--;
}

static int member_pool = 300;

static void
random_member(char *buf, size_t *len, int longer)
{
    /* Few distinct members so updates and deletes hit; sometimes a long one. */
    int k = rand() % member_pool;
    *len = (size_t)snprintf(buf, 32, longer ? "long-member-%03d" : "m%d", k);
}

static double
random_score(void)
{
    /* Many ties, so member order matters. */
    static const double special[] = {-INFINITY, INFINITY, 0.0, -1.5, 2.25};
    if (rand() % 10 == 0) {
        return special[rand() % 5];
    }
    return (double)(rand() % 20) / 2.0;
}

static int
score_below(const struct strmap_node *n, const void *arg)
{
    return n->aux.score < *(const double *)arg;
}

/* ---- B+tree --------------------------------------------------------------- */

static void
check_zbtree(struct zbtree *t, const struct model *md)
{
    cr_assert_eq(zbtree_check(t), 0, "B+tree invariants broken");
    cr_assert_eq(t->length, md->n);
    struct zbtree_pos p = zbtree_at(t, 1);
    for (size_t i = 0; i < md->n; i++, p = zbtree_pos_next(p)) {
        cr_assert_not_null(p.leaf, "walk ended at %zu of %zu", i, md->n);
        struct strmap_node *e = zbtree_pos_ele(p);
        cr_assert_eq(e->keylen, md->v[i].len);
        cr_assert(memcmp(strmap_node_key(e), md->v[i].m, md->v[i].len) == 0);
        cr_assert(e->aux.score == md->v[i].score);
        cr_assert_eq(zbtree_rank(t, e), i + 1);
        struct zbtree_pos q = zbtree_at(t, i + 1);
        cr_assert(q.leaf == p.leaf && q.pos == p.pos);
    }
    cr_assert_null(p.leaf);
    if (md->n > 0) {
        /* Backwards from the end. */
        struct zbtree_pos b = zbtree_at(t, md->n);
        for (size_t i = md->n; i-- > 0; b = zbtree_pos_prev(b)) {
            cr_assert_not_null(b.leaf);
            cr_assert(memcmp(strmap_node_key(zbtree_pos_ele(b)), md->v[i].m, md->v[i].len) == 0);
        }
        cr_assert_null(b.leaf);
    }
}

static void
zbtree_random_run(unsigned seed, int pool, int steps)
{
    srand(seed);
    member_pool = pool;
    struct zbtree *t = zbtree_create();
    struct strmap *map = strmap_create();
    struct model md = {0};
    for (int step = 0; step < steps; step++) {
        char m[32];
        size_t len;
        random_member(m, &len, 0);
        struct strmap_node *n = strmap_find(map, m, len);
        int op = rand() % 3;
        double s = random_score();
        if (op == 0 && n == NULL) {
            n = strmap_add(map, m, len, NULL, 0);
            n->aux.score = s;
            zbtree_insert(t, n);
            model_set(&md, m, len, s);
        } else if (op == 1 && n != NULL) {
            zbtree_update(t, n, s);
            model_set(&md, m, len, s);
        } else if (op == 2 && n != NULL) {
            cr_assert_eq(zbtree_delete(t, n), 1);
            strmap_unlink_node(map, n);
            model_del(&md, model_find(&md, m, len));
        }
        if (step % 997 == 0) {
            check_zbtree(t, &md);
            double pivot = random_score();
            size_t want = 0;
            while (want < md.n && md.v[want].score < pivot) {
                want++;
            }
            cr_assert_eq(zbtree_count_prefix(t, score_below, &pivot), want);
        }
    }
    check_zbtree(t, &md);
    /* Delete everything, checking as the tree shrinks. */
    size_t k = 0;
    while (md.n > 0) {
        long i = rand() % (long)md.n;
        struct strmap_node *n = strmap_find(map, md.v[i].m, md.v[i].len);
        cr_assert_eq(zbtree_delete(t, n), 1);
        strmap_unlink_node(map, n);
        model_del(&md, i);
        if (++k % 101 == 0) {
            check_zbtree(t, &md);
        }
    }
    check_zbtree(t, &md);
    zbtree_destroy(&t);
    cr_assert_null(t);
    strmap_destroy(&map);
    free(md.v);
    member_pool = 300;
}

Test(zbtree, random_against_model_small)
{
    zbtree_random_run(99, 300, 30000);
}

Test(zbtree, random_against_model_deep)
{
    /* Enough members for three levels of inner nodes. */
    zbtree_random_run(5, 40000, 150000);
}

Test(zbtree, appends_fill_leaves)
{
    struct zbtree *t = zbtree_create();
    struct strmap *map = strmap_create();
    enum { N = 61 * 1000 };
    for (int i = 0; i < N; i++) {
        char k[32];
        int len = snprintf(k, sizeof(k), "m%08d", i);
        struct strmap_node *n = strmap_add(map, k, (size_t)len, NULL, 0);
        n->aux.score = (double)i;
        zbtree_insert(t, n);
    }
    cr_assert_eq(zbtree_check(t), 0);
    /* In-order appends fill every leaf: about 512 bytes per 61 members. */
    cr_assert_lt(zbtree_memory(t), (size_t)N * 10, "%zu bytes for %d members",
                 zbtree_memory(t), N);
    struct strmap_node *mid = strmap_find(map, "m00030000", 9);
    cr_assert_eq(zbtree_rank(t, mid), 30001);
    zbtree_update(t, mid, -1.0);
    cr_assert_eq(zbtree_rank(t, mid), 1);
    cr_assert_eq(zbtree_check(t), 0);
    zbtree_destroy(&t);
    strmap_destroy(&map);
}

/* ---- the zset type -------------------------------------------------------- */

static void
check_zset(struct zset *z, const struct model *md)
{
    cr_assert_eq(zset_length(z), md->n);
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    zset_iter_init(&it, z, 0, 0);
    for (size_t i = 0; i < md->n; i++) {
        cr_assert(zset_iter_next(&it, &m, &len, &score));
        cr_assert_eq(len, md->v[i].len, "rank %zu", i);
        cr_assert(memcmp(m, md->v[i].m, len) == 0);
        cr_assert(score == md->v[i].score);
    }
    cr_assert_not(zset_iter_next(&it, &m, &len, &score));
    if (md->n > 0) {
        size_t r = (size_t)rand() % md->n;
        zset_iter_init(&it, z, r, 1);
        for (size_t i = r + 1; i-- > 0;) {
            cr_assert(zset_iter_next(&it, &m, &len, &score));
            cr_assert(memcmp(m, md->v[i].m, len) == 0);
        }
        cr_assert_not(zset_iter_next(&it, &m, &len, &score));
        const struct model_item *mi = &md->v[r];
        cr_assert_eq(zset_rank(z, mi->m, mi->len, 0), (long long)r);
        cr_assert_eq(zset_rank(z, mi->m, mi->len, 1), (long long)(md->n - 1 - r));
        cr_assert(zset_score(z, mi->m, mi->len, &score));
        cr_assert(score == mi->score);
    }
}

static void
check_score_range(struct zset *z, const struct model *md)
{
    char a[32], b[32];
    double lo = random_score(), hi = random_score();
    int lex = rand() % 2, minex = rand() % 2, maxex = rand() % 2;
    struct zset_range r;
    if (lex) {
        size_t al, bl;
        random_member(a + 1, &al, 0);
        random_member(b + 1, &bl, 0);
        a[0] = minex ? '(' : '[';
        b[0] = maxex ? '(' : '[';
        cr_assert_eq(zset_parse_lex_range(a, al + 1, b, bl + 1, &r), 0);
    } else {
        int al = snprintf(a, sizeof(a), "%s%.17g", minex ? "(" : "", lo);
        int bl = snprintf(b, sizeof(b), "%s%.17g", maxex ? "(" : "", hi);
        cr_assert_eq(zset_parse_score_range(a, (size_t)al, b, (size_t)bl, &r), 0);
    }
    size_t first, count, want_first = 0, want_count = 0;
    int started = 0;
    for (size_t i = 0; i < md->n; i++) {
        const struct model_item *mi = &md->v[i];
        int in;
        if (lex) {
            int c1 = zbtree_cmp(0, mi->m, mi->len, 0, r.lmin, r.lminlen);
            int c2 = zbtree_cmp(0, mi->m, mi->len, 0, r.lmax, r.lmaxlen);
            in = (minex ? c1 > 0 : c1 >= 0) && (maxex ? c2 < 0 : c2 <= 0);
        } else {
            in = (minex ? mi->score > lo : mi->score >= lo)
                 && (maxex ? mi->score < hi : mi->score <= hi);
        }
        if (in) {
            if (!started) {
                want_first = i;
                started = 1;
            }
            want_count++;
        }
    }
    if (lex) {
        /* Lex ranges are only meaningful when every score is equal. */
        return;
    }
    zset_range_ranks(z, &r, &first, &count);
    cr_assert_eq(count, want_count, "range %s %s", a, b);
    if (count > 0) {
        cr_assert_eq(first, want_first);
    }
}

static void
zset_random_run(unsigned seed, int all_equal_scores)
{
    srand(seed);
    /* About twice the listpack limit, so the set crosses it both ways. */
    member_pool = 36;
    struct zset_limits lim = {16, 12};
    struct zset *z = zset_create(&lim, 0, 0);
    struct model md = {0};
    int saw_tree = 0, saw_back = 0;
    for (int step = 0; step < 6000; step++) {
        char m[32];
        size_t len;
        random_member(m, &len, rand() % 50 == 0);
        int op = rand() % 10;
        double s = all_equal_scores ? 0.0 : random_score();
        unsigned out;
        double ns;
        if (op < 5) {
            unsigned flags = 0;
            if (rand() % 4 == 0 && isfinite(s)) {
                flags |= ZSET_ADD_INCR;
            }
            long i = model_find(&md, m, len);
            double want = s;
            if (i >= 0 && (flags & ZSET_ADD_INCR)) {
                want = md.v[i].score + s;
            }
            int rc = zset_add(z, &lim, m, len, s, flags, &out, &ns);
            if (isnan(want)) {
                cr_assert_eq(rc, -1);
            } else {
                cr_assert_eq(rc, 0);
                model_set(&md, m, len, want);
                cr_assert(ns == want);
            }
        } else if (op < 8) {
            long i = model_find(&md, m, len);
            cr_assert_eq(zset_delete(z, m, len), i >= 0);
            if (i >= 0) {
                model_del(&md, i);
            }
        } else if (op == 8 && md.n > 0) {
            size_t first = (size_t)rand() % md.n;
            size_t count = (size_t)rand() % 4;
            if (first + count > md.n) {
                count = md.n - first;
            }
            zset_delete_ranks(z, first, count);
            for (size_t k = 0; k < count; k++) {
                model_del(&md, (long)first);
            }
        } else {
            int was = z->lp == NULL;
            zset_convert_if_fits(z, &lim);
            saw_back |= was && z->lp != NULL;
        }
        saw_tree |= z->lp == NULL;
        if (step % 50 == 0) {
            check_zset(z, &md);
            check_score_range(z, &md);
        }
    }
    check_zset(z, &md);
    cr_assert(saw_tree, "the run never converted to the large encoding");
    cr_assert(saw_back, "the run never converted back to a listpack");
    zset_free(z);
    free(md.v);
}

Test(zset, random_against_model)
{
    zset_random_run(42, 0);
}

Test(zset, random_equal_scores)
{
    zset_random_run(7, 1);
}

Test(zset, nan_from_incr_is_refused)
{
    struct zset_limits lim = {128, 64};
    struct zset *z = zset_create(&lim, 0, 0);
    unsigned out;
    double ns;
    cr_assert_eq(zset_add(z, &lim, "a", 1, INFINITY, 0, &out, &ns), 0);
    cr_assert_eq(zset_add(z, &lim, "a", 1, -INFINITY, ZSET_ADD_INCR, &out, &ns), -1);
    cr_assert_eq(out, ZSET_OUT_NAN);
    double s;
    cr_assert(zset_score(z, "a", 1, &s));
    cr_assert(isinf(s) && s > 0);
    zset_free(z);
}

Test(zset, score_parsing)
{
    double d;
    struct zset_range r;
    cr_assert_eq(zset_parse_score("1.5", 3, &d), 0);
    cr_assert_eq(zset_parse_score("-inf", 4, &d), 0);
    cr_assert(isinf(d) && d < 0);
    cr_assert_eq(zset_parse_score("nan", 3, &d), -1);
    cr_assert_eq(zset_parse_score(" 1", 2, &d), -1);
    cr_assert_eq(zset_parse_score("", 0, &d), -1);
    cr_assert_eq(zset_parse_score("1e400", 5, &d), -1);
    cr_assert_eq(zset_parse_score_range("(1", 2, "+inf", 4, &r), 0);
    cr_assert(r.minex && !r.maxex && r.min == 1.0 && isinf(r.max));
    cr_assert_eq(zset_parse_score_range("(nan", 4, "1", 1, &r), -1);
    cr_assert_eq(zset_parse_lex_range("[a", 2, "+", 1, &r), 0);
    cr_assert_eq(zset_parse_lex_range("a", 1, "+", 1, &r), -1);
    cr_assert_eq(zset_parse_lex_range("-", 1, "++", 2, &r), -1);
    char buf[32];
    cr_assert_eq(zset_score_text(buf, -0.0), 1);
    cr_assert_eq(buf[0], '0');
}
