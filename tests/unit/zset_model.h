/* A sorted-array reference model of a sorted set for the randomized unit
 * tests of the B+tree (test_zbtree.c) and the zset type (test_zset.c):
 * members ordered by (score, bytes), random members from a small pool and
 * scores with many ties and infinities. */
#ifndef CACHELY_TESTS_UNIT_ZSET_MODEL_H
#define CACHELY_TESTS_UNIT_ZSET_MODEL_H

#include "ds/strmap.h"
#include "ds/zbtree.h"

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

static inline int
model_cmp(const void *a, const void *b)
{
    const struct model_item *x = a, *y = b;
    return zbtree_cmp(x->score, x->m, x->len, y->score, y->m, y->len);
}

static inline long
model_find(const struct model *md, const char *m, size_t len)
{
    for (size_t i = 0; i < md->n; i++) {
        if (md->v[i].len == len && memcmp(md->v[i].m, m, len) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static inline void
model_del(struct model *md, long i);

/* Set m's score: remove its old place, then insert by binary search. */
static inline void
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

static inline void
model_del(struct model *md, long i)
{
    memmove(&md->v[i], &md->v[i + 1], (md->n - (size_t)i - 1) * sizeof(*md->v));
    md->n--;
}

static int member_pool = 300;

static inline void
random_member(char *buf, size_t *len, int longer)
{
    /* Few distinct members so updates and deletes hit; sometimes a long one. */
    int k = rand() % member_pool;
    *len = (size_t)snprintf(buf, 32, longer ? "long-member-%03d" : "m%d", k);
}

static inline double
random_score(void)
{
    /* Many ties, so member order matters. */
    static const double special[] = {-INFINITY, INFINITY, 0.0, -1.5, 2.25};
    if (rand() % 10 == 0) {
        return special[rand() % 5];
    }
    return (double)(rand() % 20) / 2.0;
}

static inline int
score_below(const struct strmap_node *n, const void *arg)
{
    return strmap_node_score(n) < *(const double *)arg;
}

#endif
