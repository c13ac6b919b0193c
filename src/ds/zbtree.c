/* The sorted set's order-statistic B+tree (see zbtree.h).  Insertion and
 * deletion recurse from the root; every inner node keeps, per child, the
 * subtree's element count and smallest element, recomputed on the way back
 * up.  A node left with fewer than a quarter of its capacity merges with a
 * neighbour when both fit in one node, else takes elements from it, so only
 * the root can be empty or nearly so. */
#include "ds/zbtree.h"
#include "core/alloc.h"

#include <string.h>

#define LEAF_CAP ZBTREE_LEAF_CAP
#define INNER_CAP ZBTREE_INNER_CAP

static inline int
node_is_leaf(const void *n)
{
    return ((const struct zbtree_leaf *)n)->is_leaf != 0;
}

/* n sits at the same offset in both node kinds. */
static inline unsigned
node_n(const void *n)
{
    return ((const struct zbtree_leaf *)n)->n;
}

static inline struct strmap_node *
node_min(const void *n)
{
    if (node_is_leaf(n)) {
        return ((const struct zbtree_leaf *)n)->items[0];
    }
    return ((const struct zbtree_inner *)n)->s[0].min;
}

/* Point slot s at child and refresh its count and minimum. */
static size_t node_size(const void *n);
static inline void
slot_set(struct zbtree_slot *sl, void *child)
{
    sl->child = child;
    sl->count = node_size(child);
    sl->min = node_min(child);
    sl->minscore = strmap_node_score(sl->min);
}

/* Refresh the minimum of slot s (its child is not empty). */
static inline void
slot_min(struct zbtree_slot *sl)
{
    sl->min = node_min(sl->child);
    sl->minscore = strmap_node_score(sl->min);
}

static size_t
node_size(const void *n)
{
    if (node_is_leaf(n)) {
        return ((const struct zbtree_leaf *)n)->n;
    }
    const struct zbtree_inner *in = n;
    size_t s = 0;
    for (unsigned i = 0; i < in->n; i++) {
        s += in->s[i].count;
    }
    return s;
}

int
zbtree_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
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

static inline int
ele_cmp(const struct strmap_node *a, const struct strmap_node *b)
{
    if (a == b) {
        return 0;
    }
    return zbtree_cmp(strmap_node_score(a), strmap_node_key(a), strmap_node_keylen(a), strmap_node_score(b),
                      strmap_node_key(b), strmap_node_keylen(b));
}

static struct zbtree_leaf *
leaf_new(struct zbtree *t)
{
    struct zbtree_leaf *l = mem_calloc(sizeof(*l));
    l->is_leaf = 1;
    t->bytes += mem_usable(l);
    return l;
}

static struct zbtree_inner *
inner_new(struct zbtree *t)
{
    struct zbtree_inner *in = mem_calloc(sizeof(*in));
    t->bytes += mem_usable(in);
    return in;
}

static void
node_free(struct zbtree *t, void *n)
{
    t->bytes -= mem_usable(n);
    mem_free(n);
}

struct zbtree *
zbtree_create(void)
{
    struct zbtree *t = mem_calloc(sizeof(*t));
    struct zbtree_leaf *l = leaf_new(t);
    t->root = l;
    t->first = t->last = l;
    return t;
}

static void
free_subtree(void *n)
{
    if (!node_is_leaf(n)) {
        struct zbtree_inner *in = n;
        for (unsigned i = 0; i < in->n; i++) {
            free_subtree(in->s[i].child);
        }
    }
    mem_free(n);
}

void
zbtree_destroy(struct zbtree **tp)
{
    struct zbtree *t = *tp;
    if (t == NULL) {
        return;
    }
    free_subtree(t->root);
    mem_free(t);
    *tp = NULL;
}

size_t
zbtree_memory(const struct zbtree *t)
{
    return mem_usable(t) + t->bytes;
}

/* min <= e, looking at the stored score first. */
static inline int
slot_le(const struct zbtree_slot *sl, const struct strmap_node *e)
{
    if (sl->minscore != strmap_node_score(e)) {
        return sl->minscore < strmap_node_score(e);
    }
    return ele_cmp(sl->min, e) <= 0;
}

/* The child of in that holds e, or where e belongs: the last i such that
 * i == 0 or min[i] <= e. */
static unsigned
inner_find(const struct zbtree_inner *in, const struct strmap_node *e)
{
    unsigned lo = 1, hi = in->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (slot_le(&in->s[mid], e)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo - 1;
}

/* The first position in l whose element is not below e. */
static unsigned
leaf_lower(const struct zbtree_leaf *l, const struct strmap_node *e)
{
    unsigned lo = 0, hi = l->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (ele_cmp(l->items[mid], e) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* ---- insertion ----------------------------------------------------------- */

static void *
leaf_insert(struct zbtree *t, struct zbtree_leaf *l, struct strmap_node *e)
{
    unsigned pos = leaf_lower(l, e);
    if (l->n < LEAF_CAP) {
        memmove(&l->items[pos + 1], &l->items[pos], (l->n - pos) * sizeof(l->items[0]));
        l->items[pos] = e;
        l->n++;
        return NULL;
    }
    struct strmap_node *all[LEAF_CAP + 1];
    memcpy(all, l->items, pos * sizeof(all[0]));
    all[pos] = e;
    memcpy(&all[pos + 1], &l->items[pos], (LEAF_CAP - pos) * sizeof(all[0]));
    /* Appending past the maximum keeps the full leaf full. */
    unsigned nl = (pos == LEAF_CAP && l->next == NULL) ? LEAF_CAP : (LEAF_CAP + 1) / 2;
    struct zbtree_leaf *r = leaf_new(t);
    memcpy(l->items, all, nl * sizeof(all[0]));
    l->n = nl;
    r->n = LEAF_CAP + 1 - nl;
    memcpy(r->items, &all[nl], r->n * sizeof(all[0]));
    r->next = l->next;
    r->prev = l;
    if (l->next != NULL) {
        l->next->prev = r;
    } else {
        t->last = r;
    }
    l->next = r;
    return r;
}

/* Child i of in is a full leaf that e belongs in: rather than split it,
 * pass its largest element to the right neighbour or its smallest to the
 * left one when that has room (B*-tree style; leaves end up fuller).
 * Returns 1 when done. */
static int
leaf_spill(struct zbtree_inner *in, unsigned i, struct strmap_node *e)
{
    struct zbtree_leaf *l = in->s[i].child;
    struct zbtree_leaf *right = i + 1 < in->n ? in->s[i + 1].child : NULL;
    struct zbtree_leaf *left = i > 0 ? in->s[i - 1].child : NULL;
    int to_right = right != NULL && right->n < LEAF_CAP - 1;
    if (!to_right && (left == NULL || left->n >= LEAF_CAP - 1)) {
        return 0;
    }
    struct strmap_node *all[LEAF_CAP + 1];
    unsigned pos = leaf_lower(l, e);
    memcpy(all, l->items, pos * sizeof(all[0]));
    all[pos] = e;
    memcpy(&all[pos + 1], &l->items[pos], (LEAF_CAP - pos) * sizeof(all[0]));
    if (to_right) {
        memmove(&right->items[1], right->items, right->n * sizeof(right->items[0]));
        right->items[0] = all[LEAF_CAP];
        right->n++;
        memcpy(l->items, all, LEAF_CAP * sizeof(all[0]));
        in->s[i + 1].count++;
        slot_min(&in->s[i + 1]);
    } else {
        left->items[left->n++] = all[0];
        memcpy(l->items, &all[1], LEAF_CAP * sizeof(all[0]));
        in->s[i - 1].count++;
    }
    slot_min(&in->s[i]);
    return 1;
}

/* Insert e under node; returns the new right sibling when node split. */
static void *
node_insert(struct zbtree *t, void *node, struct strmap_node *e)
{
    if (node_is_leaf(node)) {
        return leaf_insert(t, node, e);
    }
    struct zbtree_inner *in = node;
    unsigned i = inner_find(in, e);
    if (node_is_leaf(in->s[i].child) && node_n(in->s[i].child) == LEAF_CAP
        && leaf_spill(in, i, e)) {
        return NULL;
    }
    void *split = node_insert(t, in->s[i].child, e);
    if (split == NULL) {
        in->s[i].count++;
        slot_min(&in->s[i]);
        return NULL;
    }
    slot_set(&in->s[i], in->s[i].child);
    struct zbtree_slot all[INNER_CAP + 1];
    unsigned n = in->n, at = i + 1;
    memcpy(all, in->s, at * sizeof(all[0]));
    slot_set(&all[at], split);
    memcpy(&all[at + 1], &in->s[at], (n - at) * sizeof(all[0]));
    n++;
    if (n <= INNER_CAP) {
        memcpy(in->s, all, n * sizeof(all[0]));
        in->n = n;
        return NULL;
    }
    /* Inner nodes always split in halves (a one-child inner node could not
     * rebalance its child), only leaves fill up on appends. */
    unsigned nl = (INNER_CAP + 1) / 2;
    struct zbtree_inner *r = inner_new(t);
    memcpy(in->s, all, nl * sizeof(all[0]));
    in->n = nl;
    r->n = n - nl;
    memcpy(r->s, &all[nl], r->n * sizeof(all[0]));
    return r;
}

void
zbtree_insert(struct zbtree *t, struct strmap_node *ele)
{
    void *r = node_insert(t, t->root, ele);
    if (r != NULL) {
        struct zbtree_inner *nr = inner_new(t);
        nr->n = 2;
        slot_set(&nr->s[0], t->root);
        slot_set(&nr->s[1], r);
        t->root = nr;
    }
    t->length++;
}

/* ---- deletion ------------------------------------------------------------ */

/* Move everything of R (the right neighbour of L) into L and free R. */
static void
merge(struct zbtree *t, void *lp, void *rp)
{
    if (node_is_leaf(lp)) {
        struct zbtree_leaf *l = lp, *r = rp;
        memcpy(&l->items[l->n], r->items, r->n * sizeof(r->items[0]));
        l->n += r->n;
        l->next = r->next;
        if (r->next != NULL) {
            r->next->prev = l;
        } else {
            t->last = l;
        }
    } else {
        struct zbtree_inner *l = lp, *r = rp;
        memcpy(&l->s[l->n], r->s, r->n * sizeof(r->s[0]));
        l->n += r->n;
    }
    node_free(t, rp);
}

/* Even out two neighbours L and R (which do not fit in one node). */
static void
redistribute(void *lp, void *rp)
{
    unsigned total = node_n(lp) + node_n(rp), nl = total / 2;
    if (node_is_leaf(lp)) {
        struct zbtree_leaf *l = lp, *r = rp;
        if (l->n > nl) {
            unsigned k = l->n - nl;
            memmove(&r->items[k], r->items, r->n * sizeof(r->items[0]));
            memcpy(r->items, &l->items[nl], k * sizeof(r->items[0]));
        } else {
            unsigned k = nl - l->n;
            memcpy(&l->items[l->n], r->items, k * sizeof(r->items[0]));
            memmove(r->items, &r->items[k], (r->n - k) * sizeof(r->items[0]));
        }
        r->n = total - nl;
        l->n = nl;
        return;
    }
    struct zbtree_inner *l = lp, *r = rp;
    if (l->n > nl) {
        unsigned k = l->n - nl;
        memmove(&r->s[k], r->s, r->n * sizeof(r->s[0]));
        memcpy(r->s, &l->s[nl], k * sizeof(r->s[0]));
    } else {
        unsigned k = nl - l->n;
        memcpy(&l->s[l->n], r->s, k * sizeof(r->s[0]));
        memmove(r->s, &r->s[k], (r->n - k) * sizeof(r->s[0]));
    }
    r->n = total - nl;
    l->n = nl;
}

/* child[i] of in has become small: merge it with a neighbour or even them. */
static void
rebalance(struct zbtree *t, struct zbtree_inner *in, unsigned i)
{
    unsigned a = i > 0 ? i - 1 : i;
    if (a + 1 >= in->n) {
        return;
    }
    void *l = in->s[a].child, *r = in->s[a + 1].child;
    unsigned cap = node_is_leaf(l) ? LEAF_CAP : INNER_CAP;
    if (node_n(l) + node_n(r) <= cap) {
        merge(t, l, r);
        in->s[a].count += in->s[a + 1].count;
        unsigned rest = in->n - (a + 2);
        memmove(&in->s[a + 1], &in->s[a + 2], rest * sizeof(in->s[0]));
        in->n--;
        slot_min(&in->s[a]);
        return;
    }
    redistribute(l, r);
    slot_set(&in->s[a], l);
    slot_set(&in->s[a + 1], r);
}

static int
node_delete(struct zbtree *t, void *node, const struct strmap_node *e)
{
    if (node_is_leaf(node)) {
        struct zbtree_leaf *l = node;
        unsigned pos = leaf_lower(l, e);
        if (pos >= l->n || l->items[pos] != e) {
            return 0;
        }
        memmove(&l->items[pos], &l->items[pos + 1], (l->n - pos - 1) * sizeof(l->items[0]));
        l->n--;
        return 1;
    }
    struct zbtree_inner *in = node;
    unsigned i = inner_find(in, e);
    void *ch = in->s[i].child;
    if (!node_delete(t, ch, e)) {
        return 0;
    }
    in->s[i].count--;
    if (node_n(ch) > 0) {
        slot_min(&in->s[i]);
    }
    unsigned cap = node_is_leaf(ch) ? LEAF_CAP : INNER_CAP;
    if (node_n(ch) < cap / 4) {
        rebalance(t, in, i);
    }
    return 1;
}

/* node_delete for the element at 0-based rank r below node (which holds
 * more than r): found by the counts, as zbtree_at finds it, without
 * comparing scores and members on the way.  Returns the element. */
static struct strmap_node *
node_delete_rank(struct zbtree *t, void *node, size_t r)
{
    if (node_is_leaf(node)) {
        struct zbtree_leaf *l = node;
        struct strmap_node *e = l->items[r];
        memmove(&l->items[r], &l->items[r + 1], (l->n - r - 1) * sizeof(l->items[0]));
        l->n--;
        return e;
    }
    struct zbtree_inner *in = node;
    unsigned i = 0;
    while (i + 1 < in->n && r >= in->s[i].count) {
        r -= in->s[i].count;
        i++;
    }
    void *ch = in->s[i].child;
    struct strmap_node *e = node_delete_rank(t, ch, r);
    in->s[i].count--;
    if (node_n(ch) > 0) {
        slot_min(&in->s[i]);
    }
    unsigned cap = node_is_leaf(ch) ? LEAF_CAP : INNER_CAP;
    if (node_n(ch) < cap / 4) {
        rebalance(t, in, i);
    }
    return e;
}

/* A root left with one child hands the root to it. */
static void
collapse_root(struct zbtree *t)
{
    while (!node_is_leaf(t->root) && node_n(t->root) == 1) {
        struct zbtree_inner *old = t->root;
        t->root = old->s[0].child;
        node_free(t, old);
    }
}

int
zbtree_delete(struct zbtree *t, struct strmap_node *ele)
{
    if (!node_delete(t, t->root, ele)) {
        return 0;
    }
    t->length--;
    collapse_root(t);
    return 1;
}

struct strmap_node *
zbtree_delete_rank(struct zbtree *t, size_t rank)
{
    if (rank == 0 || rank > t->length) {
        return NULL;
    }
    struct strmap_node *e = node_delete_rank(t, t->root, rank - 1);
    t->length--;
    collapse_root(t);
    return e;
}

/* ---- lookups ------------------------------------------------------------- */

/* Deepest tree: non-root inner nodes keep at least INNER_CAP / 4 children. */
#define MAX_DEPTH 64

void
zbtree_update(struct zbtree *t, struct strmap_node *ele, double newscore)
{
    /* One descent finds ele and remembers the path, so a move costs a
     * delete there plus one insert, and an in-place change nothing more. */
    struct zbtree_inner *pn[MAX_DEPTH];
    unsigned pi[MAX_DEPTH];
    int h = 0;
    void *n = t->root;
    while (!node_is_leaf(n)) {
        struct zbtree_inner *in = n;
        unsigned i = inner_find(in, ele);
        pn[h] = in;
        pi[h] = i;
        h++;
        n = in->s[i].child;
    }
    struct zbtree_leaf *l = n;
    unsigned pos = leaf_lower(l, ele);
    if (pos >= l->n || l->items[pos] != ele) {
        strmap_node_set_score(ele, newscore);
        return;
    }
    struct zbtree_pos p = {l, pos};
    const char *k = strmap_node_key(ele);
    size_t kl = strmap_node_keylen(ele);
    struct zbtree_pos pp = zbtree_pos_prev(p), np = zbtree_pos_next(p);
    struct strmap_node *prev = pp.leaf != NULL ? zbtree_pos_ele(pp) : NULL;
    struct strmap_node *next = np.leaf != NULL ? zbtree_pos_ele(np) : NULL;
    /* In place only when ele is not the first of its leaf: a first element
     * may be a separator whose score the inner nodes keep. */
    if (pos > 0
        && (prev == NULL
            || zbtree_cmp(strmap_node_score(prev), strmap_node_key(prev), strmap_node_keylen(prev), newscore, k, kl)
                   < 0)
        && (next == NULL
            || zbtree_cmp(strmap_node_score(next), strmap_node_key(next), strmap_node_keylen(next), newscore, k, kl)
                   > 0)) {
        strmap_node_set_score(ele, newscore);
        return;
    }
    /* Delete at the place found, then repair the path bottom-up exactly as
     * node_delete does on its way back. */
    memmove(&l->items[pos], &l->items[pos + 1], (l->n - pos - 1) * sizeof(l->items[0]));
    l->n--;
    for (int d = h - 1; d >= 0; d--) {
        struct zbtree_inner *in = pn[d];
        unsigned i = pi[d];
        void *ch = in->s[i].child;
        in->s[i].count--;
        if (node_n(ch) > 0) {
            slot_min(&in->s[i]);
        }
        unsigned cap = node_is_leaf(ch) ? LEAF_CAP : INNER_CAP;
        if (node_n(ch) < cap / 4) {
            rebalance(t, in, i);
        }
    }
    t->length--;
    collapse_root(t);
    strmap_node_set_score(ele, newscore);
    zbtree_insert(t, ele);
}

size_t
zbtree_rank(const struct zbtree *t, const struct strmap_node *ele)
{
    const void *n = t->root;
    size_t rank = 0;
    while (!node_is_leaf(n)) {
        const struct zbtree_inner *in = n;
        unsigned i = inner_find(in, ele);
        for (unsigned j = 0; j < i; j++) {
            rank += in->s[j].count;
        }
        n = in->s[i].child;
    }
    const struct zbtree_leaf *l = n;
    unsigned pos = leaf_lower(l, ele);
    if (pos < l->n && l->items[pos] == ele) {
        return rank + pos + 1;
    }
    return 0;
}

struct zbtree_pos
zbtree_at(const struct zbtree *t, size_t rank)
{
    struct zbtree_pos p = {NULL, 0};
    if (rank == 0 || rank > t->length) {
        return p;
    }
    size_t r = rank - 1;
    const void *n = t->root;
    while (!node_is_leaf(n)) {
        const struct zbtree_inner *in = n;
        unsigned i = 0;
        while (i + 1 < in->n && r >= in->s[i].count) {
            r -= in->s[i].count;
            i++;
        }
        n = in->s[i].child;
    }
    p.leaf = (struct zbtree_leaf *)n;
    p.pos = (unsigned)r;
    return p;
}

size_t
zbtree_count_prefix(const struct zbtree *t, zbtree_pred_fn pred, const void *arg)
{
    if (t->length == 0 || !pred(node_min(t->root), arg)) {
        return 0;
    }
    size_t acc = 0;
    const void *n = t->root;
    while (!node_is_leaf(n)) {
        const struct zbtree_inner *in = n;
        unsigned lo = 1, hi = in->n;
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (pred(in->s[mid].min, arg)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        unsigned i = lo - 1;
        for (unsigned j = 0; j < i; j++) {
            acc += in->s[j].count;
        }
        n = in->s[i].child;
    }
    const struct zbtree_leaf *l = n;
    unsigned lo = 0, hi = l->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (pred(l->items[mid], arg)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return acc + lo;
}

/* ---- invariants (tests) -------------------------------------------------- */

/* Check the subtree at n (depth levels above the leaves); returns its size
 * or (size_t)-1.  *prev walks the leaves in order. */
static size_t
check_node(const struct zbtree *t, const void *n, int depth, int is_root,
           const struct zbtree_leaf **prev_leaf, const struct strmap_node **prev)
{
    if (node_is_leaf(n) != (depth == 0)) {
        return (size_t)-1;
    }
    if (!is_root && node_n(n) == 0) {
        return (size_t)-1;
    }
    if (node_is_leaf(n)) {
        const struct zbtree_leaf *l = n;
        if (l->n > LEAF_CAP || l->prev != *prev_leaf) {
            return (size_t)-1;
        }
        if (*prev_leaf != NULL && (*prev_leaf)->next != l) {
            return (size_t)-1;
        }
        for (unsigned i = 0; i < l->n; i++) {
            if (*prev != NULL && ele_cmp(*prev, l->items[i]) >= 0) {
                return (size_t)-1;
            }
            *prev = l->items[i];
        }
        *prev_leaf = l;
        return l->n;
    }
    const struct zbtree_inner *in = n;
    if (in->n > INNER_CAP || (!is_root && in->n < 1) || (is_root && in->n < 2)) {
        return (size_t)-1;
    }
    size_t total = 0;
    for (unsigned i = 0; i < in->n; i++) {
        const struct zbtree_slot *sl = &in->s[i];
        size_t s = check_node(t, sl->child, depth - 1, 0, prev_leaf, prev);
        if (s == (size_t)-1 || s != sl->count || sl->min != node_min(sl->child)
            || sl->minscore != strmap_node_score(sl->min)) {
            return (size_t)-1;
        }
        total += s;
    }
    return total;
}

int
zbtree_check(const struct zbtree *t)
{
    int depth = 0;
    const void *n = t->root;
    while (!node_is_leaf(n)) {
        n = ((const struct zbtree_inner *)n)->s[0].child;
        depth++;
    }
    const struct zbtree_leaf *prev_leaf = NULL;
    const struct strmap_node *prev = NULL;
    size_t s = check_node(t, t->root, depth, 1, &prev_leaf, &prev);
    if (s == (size_t)-1 || s != t->length || prev_leaf != t->last || prev_leaf->next != NULL) {
        return -1;
    }
    return n == t->first ? 0 : -1;
}
