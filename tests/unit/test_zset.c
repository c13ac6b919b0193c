/* The sorted set type (node/t_zset) in both encodings against a
 * sorted-array model: random adds (plain and INCR), deletes, rank-range
 * deletes, walks both ways from random ranks, ranks, score ranges, and
 * conversions to the large encoding and back; NaN from INCR; score and
 * range parsing. */
#include <criterion/criterion.h>

#include "node/t_zset.h"
#include "zset_model.h"

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
