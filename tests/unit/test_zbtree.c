/* The order-statistic B+tree (ds/zbtree) against a sorted-array model:
 * random inserts, score updates and deletes checking every invariant
 * (order, counts, separators and their scores, leaf links), ranks, the
 * element at a rank, prefix counts, walks both ways, deleting everything
 * (by element and by rank), and full leaves on in-order appends. */
#include <criterion/criterion.h>

#include "ds/zbtree.h"
#include "zset_model.h"

static void
check_zbtree(struct zbtree *t, const struct model *md)
{
    cr_assert_eq(zbtree_check(t), 0, "B+tree invariants broken");
    cr_assert_eq(t->length, md->n);
    struct zbtree_pos p = zbtree_at(t, 1);
    for (size_t i = 0; i < md->n; i++, p = zbtree_pos_next(p)) {
        cr_assert_not_null(p.leaf, "walk ended at %zu of %zu", i, md->n);
        struct strmap_node *e = zbtree_pos_ele(p);
        cr_assert_eq(strmap_node_keylen(e), md->v[i].len);
        cr_assert(memcmp(strmap_node_key(e), md->v[i].m, md->v[i].len) == 0);
        cr_assert(strmap_node_score(e) == md->v[i].score);
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
    struct strmap *map = strmap_create_scored();
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
            strmap_node_set_score(n, s);
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
        if (k % 2 == 0) {
            cr_assert_eq(zbtree_delete(t, n), 1);
        } else {
            /* Half of them by rank, as ZPOPMIN and ZREMRANGEBYRANK do. */
            cr_assert_eq(zbtree_delete_rank(t, (size_t)i + 1), n);
        }
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
    struct strmap *map = strmap_create_scored();
    enum { N = 61 * 1000 };
    for (int i = 0; i < N; i++) {
        char k[32];
        int len = snprintf(k, sizeof(k), "m%08d", i);
        struct strmap_node *n = strmap_add(map, k, (size_t)len, NULL, 0);
        strmap_node_set_score(n, (double)i);
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
