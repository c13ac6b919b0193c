/* The sorted set's skiplist (see skiplist.h): Pugh's skiplist with spans,
 * p = 1/4, at most SKIPLIST_MAXLEVEL levels. */
#include "ds/skiplist.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

static struct skiplist_node *
skiplist_node_new(struct skiplist *sl, int level, struct strmap_node *ele)
{
    struct skiplist_node *n = mem_calloc(sizeof(*n) + (size_t)level * sizeof(n->level[0]));
    n->ele = ele;
    sl->bytes += mem_usable(n);
    return n;
}

static void
skiplist_node_free(struct skiplist *sl, struct skiplist_node *n)
{
    sl->bytes -= mem_usable(n);
    mem_free(n);
}

struct skiplist *
skiplist_create(void)
{
    struct skiplist *sl = mem_calloc(sizeof(*sl));
    sl->level = 1;
    sl->header = skiplist_node_new(sl, SKIPLIST_MAXLEVEL, NULL);
    return sl;
}

void
skiplist_destroy(struct skiplist **slp)
{
    struct skiplist *sl = *slp;
    if (sl == NULL) {
        return;
    }
    struct skiplist_node *n = sl->header;
    while (n != NULL) {
        struct skiplist_node *next = n->level[0].forward;
        mem_free(n);
        n = next;
    }
    mem_free(sl);
    *slp = NULL;
}

size_t
skiplist_memory(const struct skiplist *sl)
{
    return mem_usable(sl) + sl->bytes;
}

int
skiplist_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 < s2) {
        return -1;
    }
    if (s1 > s2) {
        return 1;
    }
    size_t l = l1 < l2 ? l1 : l2;
    int r = l > 0 ? memcmp(m1, m2, l) : 0;
    if (r != 0) {
        return r;
    }
    return l1 < l2 ? -1 : (l1 > l2 ? 1 : 0);
}

/* a < b in the list's order. */
static inline int
skiplist_before(const struct strmap_node *a, const struct strmap_node *b)
{
    return skiplist_cmp(a->aux.score, strmap_node_key(a), a->keylen, b->aux.score,
                        strmap_node_key(b), b->keylen)
           < 0;
}

static int
skiplist_random_level(void)
{
    int level = 1;
    /* p = 1/4: two random bits per level. */
    unsigned long r = (unsigned long)random();
    while ((r & 3) == 0 && level < SKIPLIST_MAXLEVEL) {
        level++;
        r >>= 2;
        if (r == 0) {
            r = (unsigned long)random() | (1UL << 31);
        }
    }
    return level;
}

/* Fill update[] with the last node before ele at each level, rank[] with
 * their ranks. */
static void
skiplist_find_update(const struct skiplist *sl, const struct strmap_node *ele,
                     struct skiplist_node **update, unsigned long *rank)
{
    struct skiplist_node *x = sl->header;
    for (int i = sl->level - 1; i >= 0; i--) {
        rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
        while (x->level[i].forward != NULL && skiplist_before(x->level[i].forward->ele, ele)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
}

static struct skiplist_node *
skiplist_link(struct skiplist *sl, struct skiplist_node *x, int level,
              struct skiplist_node **update, unsigned long *rank)
{
    if (level > sl->level) {
        for (int i = sl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = sl->header;
            update[i]->level[i].span = sl->length;
        }
        sl->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < sl->level; i++) {
        update[i]->level[i].span++;
    }
    x->backward = update[0] == sl->header ? NULL : update[0];
    if (x->level[0].forward != NULL) {
        x->level[0].forward->backward = x;
    } else {
        sl->tail = x;
    }
    sl->length++;
    return x;
}

struct skiplist_node *
skiplist_insert(struct skiplist *sl, struct strmap_node *ele)
{
    struct skiplist_node *update[SKIPLIST_MAXLEVEL];
    unsigned long rank[SKIPLIST_MAXLEVEL];
    skiplist_find_update(sl, ele, update, rank);
    int level = skiplist_random_level();
    struct skiplist_node *x = skiplist_node_new(sl, level, ele);
    return skiplist_link(sl, x, level, update, rank);
}

/* Unlink x given update[]; x stays allocated. */
static void
skiplist_unlink(struct skiplist *sl, struct skiplist_node *x, struct skiplist_node **update)
{
    for (int i = 0; i < sl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward != NULL) {
        x->level[0].forward->backward = x->backward;
    } else {
        sl->tail = x->backward;
    }
    while (sl->level > 1 && sl->header->level[sl->level - 1].forward == NULL) {
        sl->level--;
    }
    sl->length--;
}

int
skiplist_delete(struct skiplist *sl, struct strmap_node *ele)
{
    struct skiplist_node *update[SKIPLIST_MAXLEVEL];
    unsigned long rank[SKIPLIST_MAXLEVEL];
    skiplist_find_update(sl, ele, update, rank);
    struct skiplist_node *x = update[0]->level[0].forward;
    if (x == NULL || x->ele != ele) {
        return 0;
    }
    skiplist_unlink(sl, x, update);
    skiplist_node_free(sl, x);
    return 1;
}

void
skiplist_update(struct skiplist *sl, struct strmap_node *ele, double newscore)
{
    struct skiplist_node *update[SKIPLIST_MAXLEVEL];
    unsigned long rank[SKIPLIST_MAXLEVEL];
    skiplist_find_update(sl, ele, update, rank);
    struct skiplist_node *x = update[0]->level[0].forward;
    if (x == NULL || x->ele != ele) {
        ele->aux.score = newscore;
        return;
    }
    const char *k = strmap_node_key(ele);
    size_t kl = ele->keylen;
    struct skiplist_node *prev = x->backward, *next = x->level[0].forward;
    if ((prev == NULL
         || skiplist_cmp(prev->ele->aux.score, strmap_node_key(prev->ele), prev->ele->keylen,
                         newscore, k, kl) < 0)
        && (next == NULL
            || skiplist_cmp(next->ele->aux.score, strmap_node_key(next->ele),
                            next->ele->keylen, newscore, k, kl) > 0)) {
        ele->aux.score = newscore;
        return;
    }
    skiplist_unlink(sl, x, update);
    skiplist_node_free(sl, x);
    ele->aux.score = newscore;
    skiplist_insert(sl, ele);
}

unsigned long
skiplist_rank(const struct skiplist *sl, const struct strmap_node *ele)
{
    const struct skiplist_node *x = sl->header;
    unsigned long rank = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        /* Step while the next node is at or before ele. */
        while (x->level[i].forward != NULL
               && (x->level[i].forward->ele == ele
                   || skiplist_before(x->level[i].forward->ele, ele))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x->ele == ele) {
            return rank;
        }
    }
    return 0;
}

struct skiplist_node *
skiplist_at(const struct skiplist *sl, unsigned long rank)
{
    struct skiplist_node *x = sl->header;
    unsigned long traversed = 0;
    if (rank == 0 || rank > sl->length) {
        return NULL;
    }
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) {
            return x;
        }
    }
    return NULL;
}

unsigned long
skiplist_count_prefix(const struct skiplist *sl, skiplist_pred_fn pred, const void *arg)
{
    const struct skiplist_node *x = sl->header;
    unsigned long rank = 0;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL && pred(x->level[i].forward->ele, arg)) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    return rank;
}
