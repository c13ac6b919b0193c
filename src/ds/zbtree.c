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

typedef struct zbtree_leaf leaf_t;
typedef struct zbtree_inner inner_t;

static inline int
node_is_leaf(const void *n)
{
    return ((const leaf_t *)n)->is_leaf != 0;
}

/* n sits at the same offset in both node kinds. */
static inline unsigned
node_n(const void *n)
{
    return ((const leaf_t *)n)->n;
}

static inline struct strmap_node *
node_min(const void *n)
{
    return node_is_leaf(n) ? ((const leaf_t *)n)->items[0] : ((const inner_t *)n)->min[0];
}

static size_t
node_size(const void *n)
{
    if (node_is_leaf(n)) {
        return ((const leaf_t *)n)->n;
    }
    const inner_t *in = n;
    size_t s = 0;
    for (unsigned i = 0; i < in->n; i++) {
        s += in->count[i];
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
    return zbtree_cmp(a->aux.score, strmap_node_key(a), a->keylen, b->aux.score,
                      strmap_node_key(b), b->keylen);
}

static leaf_t *
leaf_new(struct zbtree *t)
{
    leaf_t *l = mem_calloc(sizeof(*l));
    l->is_leaf = 1;
    t->bytes += mem_usable(l);
    return l;
}

static inner_t *
inner_new(struct zbtree *t)
{
    inner_t *in = mem_calloc(sizeof(*in));
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
    leaf_t *l = leaf_new(t);
    t->root = l;
    t->first = t->last = l;
    return t;
}

static void
free_subtree(void *n)
{
    if (!node_is_leaf(n)) {
        inner_t *in = n;
        for (unsigned i = 0; i < in->n; i++) {
            free_subtree(in->child[i]);
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

/* The child of in that holds e, or where e belongs: the last i such that
 * i == 0 or min[i] <= e. */
static unsigned
inner_find(const inner_t *in, const struct strmap_node *e)
{
    unsigned lo = 1, hi = in->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (ele_cmp(in->min[mid], e) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo - 1;
}

/* The first position in l whose element is not below e. */
static unsigned
leaf_lower(const leaf_t *l, const struct strmap_node *e)
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
leaf_insert(struct zbtree *t, leaf_t *l, struct strmap_node *e)
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
    leaf_t *r = leaf_new(t);
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
leaf_spill(inner_t *in, unsigned i, struct strmap_node *e)
{
    leaf_t *l = in->child[i];
    leaf_t *right = i + 1 < in->n ? in->child[i + 1] : NULL;
    leaf_t *left = i > 0 ? in->child[i - 1] : NULL;
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
        in->count[i + 1]++;
        in->min[i + 1] = right->items[0];
    } else {
        left->items[left->n++] = all[0];
        memcpy(l->items, &all[1], LEAF_CAP * sizeof(all[0]));
        in->count[i - 1]++;
    }
    in->min[i] = l->items[0];
    return 1;
}

/* Insert e under node; returns the new right sibling when node split. */
static void *
node_insert(struct zbtree *t, void *node, struct strmap_node *e)
{
    if (node_is_leaf(node)) {
        return leaf_insert(t, node, e);
    }
    inner_t *in = node;
    unsigned i = inner_find(in, e);
    if (node_is_leaf(in->child[i]) && node_n(in->child[i]) == LEAF_CAP && leaf_spill(in, i, e)) {
        return NULL;
    }
    void *split = node_insert(t, in->child[i], e);
    if (split == NULL) {
        in->count[i]++;
        in->min[i] = node_min(in->child[i]);
        return NULL;
    }
    in->count[i] = node_size(in->child[i]);
    in->min[i] = node_min(in->child[i]);
    void *child[INNER_CAP + 1];
    size_t count[INNER_CAP + 1];
    struct strmap_node *min[INNER_CAP + 1];
    unsigned n = in->n, at = i + 1;
    memcpy(child, in->child, at * sizeof(child[0]));
    memcpy(count, in->count, at * sizeof(count[0]));
    memcpy(min, in->min, at * sizeof(min[0]));
    child[at] = split;
    count[at] = node_size(split);
    min[at] = node_min(split);
    memcpy(&child[at + 1], &in->child[at], (n - at) * sizeof(child[0]));
    memcpy(&count[at + 1], &in->count[at], (n - at) * sizeof(count[0]));
    memcpy(&min[at + 1], &in->min[at], (n - at) * sizeof(min[0]));
    n++;
    if (n <= INNER_CAP) {
        memcpy(in->child, child, n * sizeof(child[0]));
        memcpy(in->count, count, n * sizeof(count[0]));
        memcpy(in->min, min, n * sizeof(min[0]));
        in->n = n;
        return NULL;
    }
    /* Inner nodes always split in halves (a one-child inner node could not
     * rebalance its child), only leaves fill up on appends. */
    unsigned nl = (INNER_CAP + 1) / 2;
    inner_t *r = inner_new(t);
    memcpy(in->child, child, nl * sizeof(child[0]));
    memcpy(in->count, count, nl * sizeof(count[0]));
    memcpy(in->min, min, nl * sizeof(min[0]));
    in->n = nl;
    r->n = n - nl;
    memcpy(r->child, &child[nl], r->n * sizeof(child[0]));
    memcpy(r->count, &count[nl], r->n * sizeof(count[0]));
    memcpy(r->min, &min[nl], r->n * sizeof(min[0]));
    return r;
}

void
zbtree_insert(struct zbtree *t, struct strmap_node *ele)
{
    void *r = node_insert(t, t->root, ele);
    if (r != NULL) {
        inner_t *nr = inner_new(t);
        nr->n = 2;
        nr->child[0] = t->root;
        nr->child[1] = r;
        nr->count[0] = node_size(t->root);
        nr->count[1] = node_size(r);
        nr->min[0] = node_min(t->root);
        nr->min[1] = node_min(r);
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
        leaf_t *l = lp, *r = rp;
        memcpy(&l->items[l->n], r->items, r->n * sizeof(r->items[0]));
        l->n += r->n;
        l->next = r->next;
        if (r->next != NULL) {
            r->next->prev = l;
        } else {
            t->last = l;
        }
    } else {
        inner_t *l = lp, *r = rp;
        memcpy(&l->child[l->n], r->child, r->n * sizeof(r->child[0]));
        memcpy(&l->count[l->n], r->count, r->n * sizeof(r->count[0]));
        memcpy(&l->min[l->n], r->min, r->n * sizeof(r->min[0]));
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
        leaf_t *l = lp, *r = rp;
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
    inner_t *l = lp, *r = rp;
    if (l->n > nl) {
        unsigned k = l->n - nl;
        memmove(&r->child[k], r->child, r->n * sizeof(r->child[0]));
        memmove(&r->count[k], r->count, r->n * sizeof(r->count[0]));
        memmove(&r->min[k], r->min, r->n * sizeof(r->min[0]));
        memcpy(r->child, &l->child[nl], k * sizeof(r->child[0]));
        memcpy(r->count, &l->count[nl], k * sizeof(r->count[0]));
        memcpy(r->min, &l->min[nl], k * sizeof(r->min[0]));
    } else {
        unsigned k = nl - l->n;
        memcpy(&l->child[l->n], r->child, k * sizeof(r->child[0]));
        memcpy(&l->count[l->n], r->count, k * sizeof(r->count[0]));
        memcpy(&l->min[l->n], r->min, k * sizeof(r->min[0]));
        memmove(r->child, &r->child[k], (r->n - k) * sizeof(r->child[0]));
        memmove(r->count, &r->count[k], (r->n - k) * sizeof(r->count[0]));
        memmove(r->min, &r->min[k], (r->n - k) * sizeof(r->min[0]));
    }
    r->n = total - nl;
    l->n = nl;
}

/* child[i] of in has become small: merge it with a neighbour or even them. */
static void
rebalance(struct zbtree *t, inner_t *in, unsigned i)
{
    unsigned a = i > 0 ? i - 1 : i;
    if (a + 1 >= in->n) {
        return;
    }
    void *l = in->child[a], *r = in->child[a + 1];
    unsigned cap = node_is_leaf(l) ? LEAF_CAP : INNER_CAP;
    if (node_n(l) + node_n(r) <= cap) {
        merge(t, l, r);
        in->count[a] += in->count[a + 1];
        unsigned rest = in->n - (a + 2);
        memmove(&in->child[a + 1], &in->child[a + 2], rest * sizeof(in->child[0]));
        memmove(&in->count[a + 1], &in->count[a + 2], rest * sizeof(in->count[0]));
        memmove(&in->min[a + 1], &in->min[a + 2], rest * sizeof(in->min[0]));
        in->n--;
        in->min[a] = node_min(l);
        return;
    }
    redistribute(l, r);
    in->count[a] = node_size(l);
    in->count[a + 1] = node_size(r);
    in->min[a] = node_min(l);
    in->min[a + 1] = node_min(r);
}

static int
node_delete(struct zbtree *t, void *node, const struct strmap_node *e)
{
    if (node_is_leaf(node)) {
        leaf_t *l = node;
        unsigned pos = leaf_lower(l, e);
        if (pos >= l->n || l->items[pos] != e) {
            return 0;
        }
        memmove(&l->items[pos], &l->items[pos + 1], (l->n - pos - 1) * sizeof(l->items[0]));
        l->n--;
        return 1;
    }
    inner_t *in = node;
    unsigned i = inner_find(in, e);
    void *ch = in->child[i];
    if (!node_delete(t, ch, e)) {
        return 0;
    }
    in->count[i]--;
    if (node_n(ch) > 0) {
        in->min[i] = node_min(ch);
    }
    unsigned cap = node_is_leaf(ch) ? LEAF_CAP : INNER_CAP;
    if (node_n(ch) < cap / 4) {
        rebalance(t, in, i);
    }
    return 1;
}

int
zbtree_delete(struct zbtree *t, struct strmap_node *ele)
{
    if (!node_delete(t, t->root, ele)) {
        return 0;
    }
    t->length--;
    while (!node_is_leaf(t->root) && node_n(t->root) == 1) {
        inner_t *old = t->root;
        t->root = old->child[0];
        node_free(t, old);
    }
    return 1;
}

/* ---- lookups ------------------------------------------------------------- */

/* The position of ele (leaf NULL when absent). */
static struct zbtree_pos
find_pos(const struct zbtree *t, const struct strmap_node *e)
{
    const void *n = t->root;
    while (!node_is_leaf(n)) {
        const inner_t *in = n;
        n = in->child[inner_find(in, e)];
    }
    const leaf_t *l = n;
    unsigned pos = leaf_lower(l, e);
    struct zbtree_pos p = {NULL, 0};
    if (pos < l->n && l->items[pos] == e) {
        p.leaf = (leaf_t *)l;
        p.pos = pos;
    }
    return p;
}

void
zbtree_update(struct zbtree *t, struct strmap_node *ele, double newscore)
{
    struct zbtree_pos p = find_pos(t, ele);
    if (p.leaf == NULL) {
        ele->aux.score = newscore;
        return;
    }
    const char *k = strmap_node_key(ele);
    size_t kl = ele->keylen;
    struct zbtree_pos pp = zbtree_pos_prev(p), np = zbtree_pos_next(p);
    struct strmap_node *prev = pp.leaf != NULL ? zbtree_pos_ele(pp) : NULL;
    struct strmap_node *next = np.leaf != NULL ? zbtree_pos_ele(np) : NULL;
    if ((prev == NULL
         || zbtree_cmp(prev->aux.score, strmap_node_key(prev), prev->keylen, newscore, k, kl) < 0)
        && (next == NULL
            || zbtree_cmp(next->aux.score, strmap_node_key(next), next->keylen, newscore, k, kl)
                   > 0)) {
        /* Same place: the separators pointing at ele stay right. */
        ele->aux.score = newscore;
        return;
    }
    zbtree_delete(t, ele);
    ele->aux.score = newscore;
    zbtree_insert(t, ele);
}

size_t
zbtree_rank(const struct zbtree *t, const struct strmap_node *ele)
{
    const void *n = t->root;
    size_t rank = 0;
    while (!node_is_leaf(n)) {
        const inner_t *in = n;
        unsigned i = inner_find(in, ele);
        for (unsigned j = 0; j < i; j++) {
            rank += in->count[j];
        }
        n = in->child[i];
    }
    const leaf_t *l = n;
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
        const inner_t *in = n;
        unsigned i = 0;
        while (i + 1 < in->n && r >= in->count[i]) {
            r -= in->count[i];
            i++;
        }
        n = in->child[i];
    }
    p.leaf = (leaf_t *)n;
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
        const inner_t *in = n;
        unsigned lo = 1, hi = in->n;
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (pred(in->min[mid], arg)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        unsigned i = lo - 1;
        for (unsigned j = 0; j < i; j++) {
            acc += in->count[j];
        }
        n = in->child[i];
    }
    const leaf_t *l = n;
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
           const leaf_t **prev_leaf, const struct strmap_node **prev)
{
    if (node_is_leaf(n) != (depth == 0)) {
        return (size_t)-1;
    }
    if (!is_root && node_n(n) == 0) {
        return (size_t)-1;
    }
    if (node_is_leaf(n)) {
        const leaf_t *l = n;
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
    const inner_t *in = n;
    if (in->n > INNER_CAP || (!is_root && in->n < 1) || (is_root && in->n < 2)) {
        return (size_t)-1;
    }
    size_t total = 0;
    for (unsigned i = 0; i < in->n; i++) {
        size_t s = check_node(t, in->child[i], depth - 1, 0, prev_leaf, prev);
        if (s == (size_t)-1 || s != in->count[i] || in->min[i] != node_min(in->child[i])) {
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
    for (const void *n = t->root; !node_is_leaf(n); n = ((const inner_t *)n)->child[0]) {
        depth++;
    }
    const leaf_t *prev_leaf = NULL;
    const struct strmap_node *prev = NULL;
    size_t s = check_node(t, t->root, depth, 1, &prev_leaf, &prev);
    if (s == (size_t)-1 || s != t->length || prev_leaf != t->last || prev_leaf->next != NULL) {
        return -1;
    }
    const void *n = t->root;
    while (!node_is_leaf(n)) {
        n = ((const inner_t *)n)->child[0];
    }
    return n == t->first ? 0 : -1;
}
