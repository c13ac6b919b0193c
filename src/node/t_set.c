/* The set type (see t_set.h): encodings, conversion, random members, pops,
 * SSCAN, set algebra, and the object layer's table (free, memory, copy,
 * encoding, digest, rewrite as SADD batches). */
#include "node/t_set.h"
#include "core/alloc.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- members ----------------------------------------------------------- */

int
set_parse_int(const char *p, size_t len, int64_t *v)
{
    long long x;
    /* util_str2ll is Redis's string2ll: exactly the canonical spellings. */
    if (len == 0 || len > 20 || util_str2ll(p, len, &x) != 0) {
        return 0;
    }
    *v = x;
    return 1;
}

static void
elem_from_int(struct set_elem *e, int64_t v)
{
    e->v = v;
    e->is_int = 1;
    e->len = util_ll2str(e->buf, v);
    e->p = e->buf;
}

static void
elem_from_node(struct set_elem *e, const struct strmap_node *n)
{
    e->p = strmap_node_key(n);
    e->len = strmap_node_keylen(n);
    e->is_int = 0;
}

/* ---- life cycle ---------------------------------------------------------- */

struct set *
set_create(int ht, size_t hint)
{
    struct set *s = mem_alloc(sizeof(*s));
    if (ht) {
        s->enc = SET_ENC_HASHTABLE;
        s->u.map = strmap_create_keys_only();
        if (hint > 0) {
            strmap_expand(s->u.map, hint);
        }
    } else {
        s->enc = SET_ENC_INTSET;
        s->u.is = intset_create();
    }
    return s;
}

void
set_destroy(struct set **sp)
{
    struct set *s = *sp;
    if (s == NULL) {
        return;
    }
    if (s->enc == SET_ENC_INTSET) {
        intset_destroy(&s->u.is);
    } else {
        strmap_destroy(&s->u.map);
    }
    mem_free(s);
    *sp = NULL;
}

struct set *
set_copy(const struct set *src)
{
    struct set *s;
    if (src->enc == SET_ENC_INTSET) {
        s = mem_alloc(sizeof(*s));
        s->enc = SET_ENC_INTSET;
        s->u.is = intset_copy(src->u.is);
        return s;
    }
    s = set_create(1, set_card(src));
    struct set_iter it;
    struct set_elem e;
    set_iter_init(&it, (struct set *)src);
    while (set_iter_next(&it, &e)) {
        strmap_add(s->u.map, e.p, e.len, NULL, 0);
    }
    set_iter_done(&it);
    return s;
}

const char *
set_encoding_name(const struct set *s)
{
    return s->enc == SET_ENC_INTSET ? "intset" : "hashtable";
}

void
set_convert_to_hashtable(struct set *s)
{
    if (s->enc != SET_ENC_INTSET) {
        return;
    }
    struct intset *is = s->u.is;
    struct strmap *m = strmap_create_keys_only();
    char buf[24];
    strmap_expand(m, intset_len(is) + 1);
    for (size_t i = 0; i < intset_len(is); i++) {
        size_t n = util_ll2str(buf, intset_get(is, i));
        strmap_add(m, buf, n, NULL, 0);
    }
    intset_destroy(&is);
    s->enc = SET_ENC_HASHTABLE;
    s->u.map = m;
}

/* ---- membership ----------------------------------------------------------- */

int
set_add(struct set *s, const char *p, size_t len, size_t max_intset)
{
    int64_t v;
    int added;

    if (s->enc == SET_ENC_INTSET) {
        if (set_parse_int(p, len, &v)) {
            if (!intset_add(&s->u.is, v)) {
                return 0;
            }
            if (intset_len(s->u.is) > max_intset) {
                set_convert_to_hashtable(s);
            }
            return 1;
        }
        set_convert_to_hashtable(s);
    }
    strmap_add_or_find(s->u.map, p, len, NULL, 0, &added);
    return added;
}

int
set_remove(struct set *s, const char *p, size_t len)
{
    int64_t v;
    if (s->enc == SET_ENC_INTSET) {
        return set_parse_int(p, len, &v) && intset_remove(&s->u.is, v);
    }
    return strmap_delete(s->u.map, p, len);
}

int
set_contains(struct set *s, const char *p, size_t len)
{
    int64_t v;
    if (s->enc == SET_ENC_INTSET) {
        return set_parse_int(p, len, &v) && intset_contains(s->u.is, v);
    }
    return strmap_find(s->u.map, p, len) != NULL;
}

int
set_contains_elem(struct set *s, const struct set_elem *e)
{
    if (e->is_int && s->enc == SET_ENC_INTSET) {
        return intset_contains(s->u.is, e->v);
    }
    return set_contains(s, e->p, e->len);
}

/* ---- iteration ------------------------------------------------------------- */

void
set_iter_init(struct set_iter *it, struct set *s)
{
    it->s = s;
    it->pos = 0;
    if (s->enc == SET_ENC_HASHTABLE) {
        strmap_iter_init(&it->mi, s->u.map);
    }
}

int
set_iter_next(struct set_iter *it, struct set_elem *e)
{
    if (it->s->enc == SET_ENC_INTSET) {
        if (it->pos >= intset_len(it->s->u.is)) {
            return 0;
        }
        elem_from_int(e, intset_get(it->s->u.is, it->pos++));
        return 1;
    }
    struct strmap_node *n = strmap_iter_next(&it->mi);
    if (n == NULL) {
        return 0;
    }
    elem_from_node(e, n);
    return 1;
}

void
set_iter_done(struct set_iter *it)
{
    if (it->s->enc == SET_ENC_HASHTABLE) {
        strmap_iter_done(&it->mi);
    }
}

/* ---- random members and pops ----------------------------------------------- */

static size_t
rand_below(size_t n)
{
    size_t r = (size_t)random() << 31 ^ (size_t)random();
    return r % n;
}

void
set_random(struct set *s, struct set_elem *e)
{
    if (s->enc == SET_ENC_INTSET) {
        elem_from_int(e, intset_get(s->u.is, rand_below(intset_len(s->u.is))));
    } else {
        elem_from_node(e, strmap_random(s->u.map));
    }
}

void
set_vec_push(struct set_vec *v, const char *p, size_t len)
{
    if (v->n == v->ncap) {
        v->ncap = v->ncap ? v->ncap * 2 : 16;
        v->off = mem_realloc(v->off, v->ncap * sizeof(*v->off));
        v->len = mem_realloc(v->len, v->ncap * sizeof(*v->len));
    }
    if (v->cap - v->used < len) {
        size_t cap = v->cap ? v->cap : 256;
        while (cap - v->used < len) {
            cap *= 2;
        }
        v->data = mem_realloc(v->data, cap);
        v->cap = cap;
    }
    if (len > 0) {
        memcpy(v->data + v->used, p, len);
    }
    v->off[v->n] = v->used;
    v->len[v->n] = len;
    v->used += len;
    v->n++;
}

void
set_vec_release(struct set_vec *v)
{
    mem_free(v->data);
    mem_free(v->off);
    mem_free(v->len);
    memset(v, 0, sizeof(*v));
}

size_t
set_pop(struct set *s, size_t count, struct set_vec *out)
{
    size_t popped = 0;
    struct set_elem e;

    while (popped < count && set_card(s) > 0) {
        if (s->enc == SET_ENC_INTSET) {
            set_random(s, &e);
            set_vec_push(out, e.p, e.len);
            intset_remove(&s->u.is, e.v);
        } else {
            struct strmap_node *n = strmap_random(s->u.map);
            set_vec_push(out, strmap_node_key(n), strmap_node_keylen(n));
            strmap_unlink_node(s->u.map, n);
        }
        popped++;
    }
    return popped;
}

void
set_pop_one(struct set *s, set_scan_fn fn, void *arg)
{
    if (s->enc == SET_ENC_INTSET) {
        struct set_elem e;
        set_random(s, &e);
        fn(e.p, e.len, arg);
        intset_remove(&s->u.is, e.v);
    } else {
        struct strmap_node *n = strmap_random(s->u.map);
        fn(strmap_node_key(n), strmap_node_keylen(n), arg);
        strmap_unlink_node(s->u.map, n);
    }
}

void
set_random_members(struct set *s, size_t count, int uniq, struct set_vec *out)
{
    size_t card = set_card(s);
    struct set_elem e;

    if (card == 0 || count == 0) {
        return;
    }
    if (!uniq || count == 1) {
        while (count-- > 0) {
            set_random(s, &e);
            set_vec_push(out, e.p, e.len);
        }
        return;
    }
    if (count >= card) {
        struct set_iter it;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &e)) {
            set_vec_push(out, e.p, e.len);
        }
        set_iter_done(&it);
        return;
    }
    if (count * 3 > card) {
        /* Many of them: take all, keep a random count (partial shuffle). */
        struct set_vec all = {0};
        struct set_iter it;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &e)) {
            set_vec_push(&all, e.p, e.len);
        }
        set_iter_done(&it);
        for (size_t i = 0; i < count; i++) {
            size_t j = i + rand_below(all.n - i);
            size_t o = all.off[i], l = all.len[i];
            all.off[i] = all.off[j];
            all.len[i] = all.len[j];
            all.off[j] = o;
            all.len[j] = l;
            set_vec_push(out, all.data + all.off[i], all.len[i]);
        }
        set_vec_release(&all);
        return;
    }
    /* Few of them: random picks, repeats dropped through a scratch map. */
    struct strmap *seen = strmap_create_keys_only();
    while (strmap_size(seen) < count) {
        int added;
        set_random(s, &e);
        strmap_add_or_find(seen, e.p, e.len, NULL, 0, &added);
        if (added) {
            set_vec_push(out, e.p, e.len);
        }
    }
    strmap_destroy(&seen);
}

/* ---- SSCAN ----------------------------------------------------------------- */

struct scan_ctx {
    set_scan_fn fn;
    void *arg;
    size_t seen;
};

static void
scan_node(const struct strmap_node *n, void *arg)
{
    struct scan_ctx *sc = arg;
    sc->fn(strmap_node_key(n), strmap_node_keylen(n), sc->arg);
    sc->seen++;
}

unsigned long
set_scan(struct set *s, unsigned long cursor, size_t count, set_scan_fn fn, void *arg)
{
    if (s->enc == SET_ENC_INTSET) {
        char buf[24];
        for (size_t i = 0; i < intset_len(s->u.is); i++) {
            size_t n = util_ll2str(buf, intset_get(s->u.is, i));
            fn(buf, n, arg);
        }
        return 0;
    }
    /* As Redis: at most count*10 buckets per call, so a sparse table
     * cannot make one call walk all of it. */
    struct scan_ctx sc = {fn, arg, 0};
    size_t budget = count > SIZE_MAX / 10 ? SIZE_MAX : count * 10;
    do {
        cursor = strmap_scan(s->u.map, cursor, scan_node, &sc);
    } while (cursor != 0 && budget-- > 0 && sc.seen < count);
    return cursor;
}

/* ---- set algebra ------------------------------------------------------------ */

static int
cmp_card(const void *a, const void *b)
{
    size_t x = set_card(*(struct set *const *)a), y = set_card(*(struct set *const *)b);
    return x < y ? -1 : x > y;
}

/* The sets of an intersection, smallest first; 0 when one is missing or
 * empty (the result is empty). */
static int
inter_prepare(struct set **sets, size_t n, struct set **sorted)
{
    for (size_t i = 0; i < n; i++) {
        if (sets[i] == NULL || set_card(sets[i]) == 0) {
            return 0;
        }
        sorted[i] = sets[i];
    }
    qsort(sorted, n, sizeof(*sorted), cmp_card);
    return 1;
}

/* Members of sorted[0] found in every other set: each goes to fn; stops
 * when fn returns 0. */
static void
inter_walk(struct set **sorted, size_t n, int (*fn)(const struct set_elem *, void *),
           void *arg)
{
    struct set_iter it;
    struct set_elem e;
    set_iter_init(&it, sorted[0]);
    while (set_iter_next(&it, &e)) {
        size_t j = 1;
        while (j < n && (sorted[j] == sorted[0] || set_contains_elem(sorted[j], &e))) {
            j++;
        }
        if (j == n && !fn(&e, arg)) {
            break;
        }
    }
    set_iter_done(&it);
}

struct build_ctx {
    struct set *dst;
    size_t max_intset;
    size_t count, limit;
};

static int
build_add(const struct set_elem *e, void *arg)
{
    struct build_ctx *b = arg;
    set_add(b->dst, e->p, e->len, b->max_intset);
    return 1;
}

static int
count_one(const struct set_elem *e, void *arg)
{
    struct build_ctx *b = arg;
    (void)e;
    b->count++;
    return b->limit == 0 || b->count < b->limit;
}

size_t
set_inter_card(struct set **sets, size_t n, size_t limit)
{
    struct set **sorted = mem_alloc(n * sizeof(*sorted));
    struct build_ctx b = {NULL, 0, 0, limit};
    if (inter_prepare(sets, n, sorted)) {
        inter_walk(sorted, n, count_one, &b);
    }
    mem_free(sorted);
    return b.count;
}

struct set *
set_algebra(struct set **sets, size_t n, enum set_op op, size_t max_intset)
{
    struct build_ctx b = {set_create(0, 0), max_intset, 0, 0};
    struct set_iter it;
    struct set_elem e;

    if (op == SET_OP_INTER) {
        struct set **sorted = mem_alloc(n * sizeof(*sorted));
        if (inter_prepare(sets, n, sorted)) {
            inter_walk(sorted, n, build_add, &b);
        }
        mem_free(sorted);
    } else if (op == SET_OP_UNION) {
        for (size_t i = 0; i < n; i++) {
            if (sets[i] == NULL) {
                continue;
            }
            set_iter_init(&it, sets[i]);
            while (set_iter_next(&it, &e)) {
                set_add(b.dst, e.p, e.len, max_intset);
            }
            set_iter_done(&it);
        }
    } else if (sets[0] != NULL) {
        /* Members of the first set in none of the others. */
        set_iter_init(&it, sets[0]);
        while (set_iter_next(&it, &e)) {
            size_t j = 1;
            while (j < n && (sets[j] == NULL
                             || (sets[j] != sets[0] && !set_contains_elem(sets[j], &e)))) {
                j++;
            }
            if (j == n) {
                set_add(b.dst, e.p, e.len, max_intset);
            }
        }
        set_iter_done(&it);
    }
    if (set_card(b.dst) == 0) {
        set_destroy(&b.dst);
    }
    return b.dst;
}

/* ---- the object layer's table ---------------------------------------------- */

static void
set_obj_free(void *obj)
{
    struct set *s = obj;
    set_destroy(&s);
}

static size_t
set_obj_memory(const void *obj)
{
    const struct set *s = obj;
    return mem_usable(s) + (s->enc == SET_ENC_INTSET ? intset_memory(s->u.is)
                                                     : strmap_memory(s->u.map));
}

static void *
set_obj_copy(const void *obj)
{
    return set_copy(obj);
}

static const char *
set_obj_encoding(const void *obj)
{
    return set_encoding_name(obj);
}

static size_t
set_obj_length(const void *obj)
{
    return set_card(obj);
}

static void
set_obj_digest(const void *obj, uint64_t h[3])
{
    struct set_iter it;
    struct set_elem e;
    set_iter_init(&it, (struct set *)obj);
    while (set_iter_next(&it, &e)) {
        obj_digest_unordered(h, e.p, e.len, NULL, 0);
    }
    set_iter_done(&it);
}

static void
set_obj_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    struct set_iter it;
    struct set_elem e;
    obj_emit_begin(em, "SADD", key, keylen);
    set_iter_init(&it, (struct set *)obj);
    while (set_iter_next(&it, &e)) {
        obj_emit_arg(em, e.p, e.len);
        obj_emit_item_end(em);
    }
    set_iter_done(&it);
}

const struct obj_type set_obj_type = {
    .name = "set",
    .free = set_obj_free,
    .memory = set_obj_memory,
    .copy = set_obj_copy,
    .encoding = set_obj_encoding,
    .length = set_obj_length,
    .digest = set_obj_digest,
    .rewrite = set_obj_rewrite,
};
