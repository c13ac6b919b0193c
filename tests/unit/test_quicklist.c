/* quicklist: node sizing under count and byte fills, push/pop at both ends,
 * indexing from both ends, iterator delete/replace/insert (with node
 * splits), range deletion, copying, and a randomized run of every
 * operation against an array-of-strings model, with and without a
 * compress depth. */
#include <criterion/criterion.h>

#include "ds/quicklist.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static size_t
value_str(const struct listpack_value *v, char *out, size_t cap)
{
    if (v->is_int) {
        return (size_t)snprintf(out, cap, "%lld", v->ll);
    }
    cr_assert_lt(v->len, cap);
    memcpy(out, v->str, v->len);
    out[v->len] = '\0';
    return v->len;
}

static void
push_cstr(struct quicklist *ql, const char *s, int where)
{
    quicklist_push(ql, s, strlen(s), where);
}

/* The element at index as a string in a static buffer, or NULL. */
static const char *
at(struct quicklist *ql, long index)
{
    static char out[70000];
    struct quicklist_iter it;
    struct listpack_value v;
    if (quicklist_iter_at(ql, index, QUICKLIST_HEAD, &it) != 0 || !quicklist_next(&it, &v)) {
        return NULL;
    }
    value_str(&v, out, sizeof(out));
    return out;
}

/* ---- the model: an array of malloc'd strings ---- */

struct model {
    char **items;
    size_t n, cap;
};

static void
model_insert(struct model *m, size_t i, const char *s)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->items = realloc(m->items, m->cap * sizeof(*m->items));
    }
    memmove(m->items + i + 1, m->items + i, (m->n - i) * sizeof(*m->items));
    m->items[i] = strdup(s);
    m->n++;
}

static void
model_delete(struct model *m, size_t i, size_t count)
{
    for (size_t k = i; k < i + count; k++) {
        free(m->items[k]);
    }
    memmove(m->items + i, m->items + i + count, (m->n - i - count) * sizeof(*m->items));
    m->n -= count;
}

static void
model_free(struct model *m)
{
    model_delete(m, 0, m->n);
    free(m->items);
}

static void
assert_equal(struct quicklist *ql, const struct model *m)
{
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_eq(quicklist_count(ql), m->n);
    struct quicklist_iter it;
    struct listpack_value v;
    char buf[70000];
    size_t i = 0;
    if (m->n > 0) {
        cr_assert_eq(quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it), 0);
        while (quicklist_next(&it, &v)) {
            cr_assert_lt(i, m->n);
            value_str(&v, buf, sizeof(buf));
            cr_assert_str_eq(buf, m->items[i], "element %zu", i);
            i++;
        }
    }
    cr_assert_eq(i, m->n);
    /* And backwards. */
    if (m->n > 0) {
        cr_assert_eq(quicklist_iter_at(ql, -1, QUICKLIST_TAIL, &it), 0);
        while (quicklist_next(&it, &v)) {
            cr_assert_gt(i, 0);
            i--;
            value_str(&v, buf, sizeof(buf));
            cr_assert_str_eq(buf, m->items[i]);
        }
    }
    cr_assert_eq(i, 0);
}

static void
random_value(char *buf, size_t cap, unsigned *seed)
{
    int kind = rand_r(seed) % 10;
    if (kind < 3) {
        snprintf(buf, cap, "%d", rand_r(seed) % 2000 - 1000);
    } else if (kind < 4) {
        size_t len = (size_t)(rand_r(seed) % 3000);
        memset(buf, 'a' + rand_r(seed) % 26, len);
        buf[len] = '\0';
    } else {
        snprintf(buf, cap, "v%d", rand_r(seed) % 50);
    }
}

/* ---- tests ---- */

Test(quicklist, new_list_is_empty)
{
    struct quicklist *ql = quicklist_create(-2);
    struct listpack_value v;
    cr_assert_eq(quicklist_count(ql), 0);
    cr_assert_eq(quicklist_peek(ql, QUICKLIST_HEAD, &v), -1);
    cr_assert_eq(quicklist_check(ql), 0);
    struct quicklist_iter it;
    cr_assert_eq(quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it), -1);
    cr_assert_eq(quicklist_next(&it, &v), 0);
    quicklist_destroy(&ql);
    cr_assert_null(ql);
}

Test(quicklist, count_fill_bounds_elements_per_node)
{
    struct quicklist *ql = quicklist_create(4);
    for (int i = 0; i < 10; i++) {
        char b[16];
        snprintf(b, sizeof(b), "%d", i);
        push_cstr(ql, b, QUICKLIST_TAIL);
    }
    cr_assert_eq(quicklist_nodes(ql), 3);
    cr_assert_eq(ql->head->count, 4);
    cr_assert_eq(quicklist_tail(ql)->count, 2);
    cr_assert_str_eq(at(ql, 0), "0");
    cr_assert_str_eq(at(ql, 9), "9");
    cr_assert_str_eq(at(ql, -3), "7");
    cr_assert_null(at(ql, 10));
    cr_assert_null(at(ql, -11));
    quicklist_destroy(&ql);
}

Test(quicklist, byte_fill_bounds_node_size)
{
    struct quicklist *ql = quicklist_create(-1);  /* 4 KiB */
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        push_cstr(ql, big, QUICKLIST_HEAD);
    }
    cr_assert_eq(quicklist_check(ql), 0);
    for (struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        cr_assert_leq(n->used, 4096);
    }
    cr_assert_geq(quicklist_nodes(ql), 5);
    quicklist_destroy(&ql);
}

Test(quicklist, oversized_element_gets_its_own_node)
{
    struct quicklist *ql = quicklist_create(-1);
    static char huge[10000];
    memset(huge, 'y', sizeof(huge) - 1);
    push_cstr(ql, "a", QUICKLIST_TAIL);
    push_cstr(ql, huge, QUICKLIST_TAIL);
    push_cstr(ql, "b", QUICKLIST_TAIL);
    cr_assert_eq(quicklist_nodes(ql), 3);
    cr_assert_eq(strlen(at(ql, 1)), sizeof(huge) - 1);
    quicklist_destroy(&ql);
}

Test(quicklist, count_fill_node_stops_at_8k)
{
    struct quicklist *ql = quicklist_create(1000);
    char val[500];
    memset(val, 'z', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        push_cstr(ql, val, QUICKLIST_TAIL);
    }
    for (struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        cr_assert_leq(n->used, 8192);
    }
    cr_assert_gt(quicklist_nodes(ql), 1);
    quicklist_destroy(&ql);
}

Test(quicklist, pop_frees_emptied_nodes)
{
    struct quicklist *ql = quicklist_create(2);
    push_cstr(ql, "a", QUICKLIST_TAIL);
    push_cstr(ql, "b", QUICKLIST_TAIL);
    push_cstr(ql, "c", QUICKLIST_TAIL);
    cr_assert_eq(quicklist_nodes(ql), 2);
    struct listpack_value v;
    cr_assert_eq(quicklist_peek(ql, QUICKLIST_TAIL, &v), 0);
    cr_assert_eq(v.len, 1);
    cr_assert_eq(v.str[0], 'c');
    quicklist_pop(ql, QUICKLIST_TAIL);
    cr_assert_eq(quicklist_nodes(ql), 1);
    quicklist_pop(ql, QUICKLIST_HEAD);
    quicklist_pop(ql, QUICKLIST_HEAD);
    cr_assert_eq(quicklist_nodes(ql), 0);
    cr_assert_null(ql->head);
    cr_assert_null(quicklist_tail(ql));
    cr_assert_eq(quicklist_check(ql), 0);
    quicklist_destroy(&ql);
}

Test(quicklist, insert_into_full_node_splits_it)
{
    struct quicklist *ql = quicklist_create(4);
    const char *items[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        push_cstr(ql, items[i], QUICKLIST_TAIL);
    }
    struct quicklist_iter it;
    struct listpack_value v;
    cr_assert_eq(quicklist_iter_at(ql, 1, QUICKLIST_HEAD, &it), 0);
    cr_assert(quicklist_next(&it, &v));
    quicklist_iter_insert(&it, "X", 1, LISTPACK_AFTER);
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_eq(quicklist_count(ql), 5);
    cr_assert_gt(quicklist_nodes(ql), 1);
    const char *want[] = {"a", "b", "X", "c", "d"};
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(at(ql, i), want[i]);
    }
    quicklist_destroy(&ql);
}

Test(quicklist, backward_delete_walks_on_towards_head)
{
    struct quicklist *ql = quicklist_create(2);
    const char *items[] = {"x", "a", "x", "x", "b", "x"};
    for (int i = 0; i < 6; i++) {
        push_cstr(ql, items[i], QUICKLIST_TAIL);
    }
    struct quicklist_iter it;
    struct listpack_value v;
    cr_assert_eq(quicklist_iter_at(ql, -1, QUICKLIST_TAIL, &it), 0);
    while (quicklist_next(&it, &v)) {
        if (!v.is_int && v.len == 1 && v.str[0] == 'x') {
            quicklist_iter_delete(&it);
        }
    }
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_eq(quicklist_count(ql), 2);
    cr_assert_str_eq(at(ql, 0), "a");
    cr_assert_str_eq(at(ql, 1), "b");
    quicklist_destroy(&ql);
}

Test(quicklist, delete_range_drops_whole_nodes)
{
    struct quicklist *ql = quicklist_create(3);
    for (int i = 0; i < 12; i++) {
        char b[8];
        snprintf(b, sizeof(b), "%d", i);
        push_cstr(ql, b, QUICKLIST_TAIL);
    }
    quicklist_delete_range(ql, 2, 8);
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_eq(quicklist_count(ql), 4);
    cr_assert_str_eq(at(ql, 0), "0");
    cr_assert_str_eq(at(ql, 1), "1");
    cr_assert_str_eq(at(ql, 2), "10");
    cr_assert_str_eq(at(ql, 3), "11");
    cr_assert_eq(quicklist_nodes(ql), 2);
    quicklist_destroy(&ql);
}

Test(quicklist, dup_is_deep_and_equal)
{
    struct quicklist *ql = quicklist_create(-2);
    for (int i = 0; i < 1000; i++) {
        char b[16];
        snprintf(b, sizeof(b), "e%d", i);
        push_cstr(ql, b, QUICKLIST_TAIL);
    }
    struct quicklist *copy = quicklist_dup(ql);
    quicklist_pop(ql, QUICKLIST_HEAD);
    cr_assert_eq(quicklist_check(copy), 0);
    cr_assert_eq(quicklist_count(copy), 1000);
    cr_assert_str_eq(at(copy, 0), "e0");
    cr_assert_str_eq(at(copy, 999), "e999");
    cr_assert_gt(quicklist_bytes(copy), 1000);
    quicklist_destroy(&ql);
    quicklist_destroy(&copy);
}

/* Every operation, at random, against the model, under several fills. */
/* With a depth, quicklist_check runs after every operation (it checks
 * every node's form for its place). */
static void
random_run_depth(int fill, unsigned depth, unsigned seed, int ops)
{
    struct quicklist *ql = quicklist_create_compressed(fill, depth);
    size_t most_compressed = 0;
    unsigned seed0 = seed;
    struct model m = {0};
    char val[4000];
    char buf[4000];
    /* A compressed run starts from a list of many nodes: the random
     * operations alone keep lists short. */
    for (int i = 0; depth > 0 && i < 600; i++) {
        snprintf(val, sizeof(val), "element-number-%d-padding", i);
        push_cstr(ql, val, QUICKLIST_TAIL);
        model_insert(&m, m.n, val);
    }
    for (int op = 0; op < ops; op++) {
        int kind = rand_r(&seed) % 100;
        random_value(val, sizeof(val), &seed);
        if (kind < 30) {
            int where = rand_r(&seed) % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL;
            push_cstr(ql, val, where);
            model_insert(&m, where == QUICKLIST_HEAD ? 0 : m.n, val);
        } else if (kind < 45) {
            int where = rand_r(&seed) % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL;
            struct listpack_value v;
            if (m.n == 0) {
                cr_assert_eq(quicklist_peek(ql, where, &v), -1);
                continue;
            }
            cr_assert_eq(quicklist_peek(ql, where, &v), 0);
            value_str(&v, buf, sizeof(buf));
            size_t i = where == QUICKLIST_HEAD ? 0 : m.n - 1;
            cr_assert_str_eq(buf, m.items[i]);
            quicklist_pop(ql, where);
            model_delete(&m, i, 1);
        } else if (kind < 60 && m.n > 0) {
            /* insert before/after a random element */
            size_t i = (size_t)rand_r(&seed) % m.n;
            int where = rand_r(&seed) % 2 ? LISTPACK_BEFORE : LISTPACK_AFTER;
            struct quicklist_iter it;
            struct listpack_value v;
            cr_assert_eq(quicklist_iter_at(ql, (long)i, QUICKLIST_HEAD, &it), 0);
            cr_assert(quicklist_next(&it, &v));
            quicklist_iter_insert(&it, val, strlen(val), where);
            model_insert(&m, i + (where == LISTPACK_AFTER), val);
        } else if (kind < 70 && m.n > 0) {
            /* set, indexed from either end */
            size_t i = (size_t)rand_r(&seed) % m.n;
            long idx = rand_r(&seed) % 2 ? (long)i : (long)i - (long)m.n;
            struct quicklist_iter it;
            struct listpack_value v;
            cr_assert_eq(quicklist_iter_at(ql, idx, QUICKLIST_HEAD, &it), 0);
            cr_assert(quicklist_next(&it, &v));
            quicklist_iter_replace(&it, val, strlen(val));
            free(m.items[i]);
            m.items[i] = strdup(val);
        } else if (kind < 80 && m.n > 0) {
            /* remove up to k occurrences of an existing value, either way */
            const char *target = m.items[(size_t)rand_r(&seed) % m.n];
            char t[4000];
            strcpy(t, target);
            int dir = rand_r(&seed) % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL;
            int limit = rand_r(&seed) % 3;  /* 0: all */
            int removed = 0;
            struct quicklist_iter it;
            struct listpack_value v;
            quicklist_iter_at(ql, dir == QUICKLIST_HEAD ? 0 : -1, dir, &it);
            while (quicklist_next(&it, &v)) {
                value_str(&v, buf, sizeof(buf));
                if (strcmp(buf, t) == 0) {
                    quicklist_iter_delete(&it);
                    if (++removed == limit) {
                        break;
                    }
                }
            }
            removed = 0;
            if (dir == QUICKLIST_HEAD) {
                for (size_t i = 0; i < m.n;) {
                    if (strcmp(m.items[i], t) == 0 && (limit == 0 || removed < limit)) {
                        model_delete(&m, i, 1);
                        removed++;
                    } else {
                        i++;
                    }
                }
            } else {
                for (size_t i = m.n; i-- > 0;) {
                    if (strcmp(m.items[i], t) == 0 && (limit == 0 || removed < limit)) {
                        model_delete(&m, i, 1);
                        removed++;
                    }
                }
            }
        } else if (kind < 85 && m.n > 0) {
            /* trim: delete a random range */
            size_t start = (size_t)rand_r(&seed) % m.n;
            size_t count = (size_t)rand_r(&seed) % (m.n - start) + 1;
            if (rand_r(&seed) % 4 != 0 && count > 8) {
                count = 8;  /* keep lists growing on the whole */
            }
            quicklist_delete_range(ql, start, count);
            model_delete(&m, start, count);
        } else if (m.n > 0) {
            /* range read from a random index */
            size_t i = (size_t)rand_r(&seed) % m.n;
            struct quicklist_iter it;
            struct listpack_value v;
            cr_assert_eq(quicklist_iter_at(ql, (long)i, QUICKLIST_HEAD, &it), 0);
            for (size_t k = i; k < m.n && k < i + 20; k++) {
                cr_assert(quicklist_next(&it, &v));
                value_str(&v, buf, sizeof(buf));
                cr_assert_str_eq(buf, m.items[k]);
            }
        }
        if (depth > 0) {
            cr_assert_eq(quicklist_check(ql), 0, "op %d", op);
            size_t z = quicklist_compressed_nodes(ql);
            most_compressed = z > most_compressed ? z : most_compressed;
        }
        if (op % 97 == 0) {
            assert_equal(ql, &m);
        }
    }
    assert_equal(ql, &m);
    cr_assert(depth == 0 || most_compressed > 0, "some node was compressed (fill %d, seed %u)",
              fill, seed0);
    struct quicklist *copy = quicklist_dup(ql);
    cr_assert_eq(quicklist_compressed_nodes(copy), quicklist_compressed_nodes(ql));
    assert_equal(copy, &m);
    quicklist_destroy(&copy);
    quicklist_destroy(&ql);
    model_free(&m);
}

static void
random_run(int fill, unsigned seed, int ops)
{
    random_run_depth(fill, 0, seed, ops);
}

Test(quicklist, random_operations_match_a_model_count_fill)
{
    random_run(5, 1, 6000);
    random_run(1, 2, 2000);
    random_run(128, 3, 6000);
}

Test(quicklist, random_operations_match_a_model_byte_fill)
{
    random_run(-1, 4, 6000);
    random_run(-2, 5, 6000);
    random_run(-5, 6, 4000);
}

Test(quicklist, hundred_16_byte_elements_fit_one_1792_byte_block)
{
    /* The bench-memory lists row: a listpack node took 2,048 + 32 bytes. */
    struct quicklist *ql = quicklist_create(-2);
    for (int i = 0; i < 100; i++) {
        char b[17];
        snprintf(b, sizeof(b), "element-%08d", i);
        push_cstr(ql, b, QUICKLIST_TAIL);
    }
    cr_assert_eq(quicklist_nodes(ql), 1);
    cr_assert_eq(ql->head->used, 1700);
    cr_assert_leq(mem_usable(ql->head), 1792);
    cr_assert_eq(quicklist_check(ql), 0);
    quicklist_destroy(&ql);
}

Test(quicklist, integers_round_trip_at_every_width)
{
    static const char *vals[] = {"0", "-1", "127", "-128", "128", "32767", "-32769",
                                 "8388607", "-2147483648", "4294967296",
                                 "-9223372036854775808", "9223372036854775807",
                                 "007", "-0", "+1", "1 ", "99999999999999999999"};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    struct quicklist *ql = quicklist_create(-2);
    for (size_t i = 0; i < n; i++) {
        push_cstr(ql, vals[i], QUICKLIST_TAIL);
    }
    cr_assert_eq(quicklist_check(ql), 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(at(ql, (long)i), vals[i]);
    }
    quicklist_destroy(&ql);
}

Test(quicklist, queue_at_both_ends_keeps_the_skip_index_exact)
{
    /* LPUSH + RPOP through one node: the skip entries shift with every
     * push and pop, and the tail is always found from the nearest one. */
    struct quicklist *ql = quicklist_create(-2);
    long next_in = 0, next_out = 0;
    for (int round = 0; round < 2000; round++) {
        int pushes = 1 + round % 7;
        for (int k = 0; k < pushes; k++) {
            char b[32];
            snprintf(b, sizeof(b), "job:%ld", next_in++);
            push_cstr(ql, b, QUICKLIST_HEAD);
        }
        int pops = round % 5 + (quicklist_count(ql) > 300 ? 6 : 0);
        for (int k = 0; k < pops && quicklist_count(ql) > 0; k++) {
            struct listpack_value v;
            char b[32], want[32];
            cr_assert_eq(quicklist_peek(ql, QUICKLIST_TAIL, &v), 0);
            value_str(&v, b, sizeof(b));
            snprintf(want, sizeof(want), "job:%ld", next_out++);
            cr_assert_str_eq(b, want);
            quicklist_pop(ql, QUICKLIST_TAIL);
        }
        cr_assert_eq(quicklist_check(ql), 0);
    }
    quicklist_destroy(&ql);
}

Test(quicklist, head_pushes_use_front_room_within_a_quarter_more_bytes)
{
    /* LPUSH writes into room kept at the node's front instead of moving
     * the node's elements each time; that room stays within about a
     * quarter of the elements' bytes, so the list is not much bigger than
     * the same elements pushed at the tail. */
    struct quicklist *head = quicklist_create(-2), *tail = quicklist_create(-2);
    for (int i = 0; i < 2000; i++) {
        char b[17];
        snprintf(b, sizeof(b), "element-%08d", i);
        push_cstr(head, b, QUICKLIST_HEAD);
        push_cstr(tail, b, QUICKLIST_TAIL);
        cr_assert_eq(quicklist_check(head), 0);
    }
    for (int i = 0; i < 2000; i++) {
        char b[17];
        snprintf(b, sizeof(b), "element-%08d", 1999 - i);
        cr_assert_str_eq(at(head, i), b);
    }
    cr_assert_leq(quicklist_bytes(head), quicklist_bytes(tail) * 5 / 4 + 2048);
    quicklist_destroy(&head);
    quicklist_destroy(&tail);
}

Test(quicklist, head_pops_give_the_room_back)
{
    /* LPOP leaves the popped bytes at the front; once that room is twice
     * the elements left, they move down and the block shrinks. */
    struct quicklist *ql = quicklist_create(-2);
    for (int i = 0; i < 200; i++) {
        char b[17];
        snprintf(b, sizeof(b), "element-%08d", i);
        push_cstr(ql, b, QUICKLIST_TAIL);
    }
    cr_assert_eq(quicklist_nodes(ql), 1);
    for (int i = 0; i < 190; i++) {
        char b[17];
        snprintf(b, sizeof(b), "element-%08d", i);
        cr_assert_str_eq(at(ql, 0), b);
        quicklist_pop(ql, QUICKLIST_HEAD);
        cr_assert_eq(quicklist_check(ql), 0);
    }
    cr_assert_eq(quicklist_count(ql), 10);
    cr_assert_str_eq(at(ql, 0), "element-00000190");
    cr_assert_str_eq(at(ql, 9), "element-00000199");
    /* 10 elements of 17 bytes: at most 2 * 170 + 64 bytes of room. */
    cr_assert_lt(mem_usable(ql->head), 1024);
    quicklist_destroy(&ql);
}

Test(quicklist, head_and_tail_mixed_keep_order)
{
    /* Pushes and pops at both ends on a small count fill (many nodes,
     * each with room at its front), against a deque of numbers. */
    struct quicklist *ql = quicklist_create(5);
    long lo = 0, hi = 0;  /* the list holds lo..hi-1, head first */
    unsigned r = 12345;
    for (int step = 0; step < 20000; step++) {
        r = r * 1103515245u + 12345u;
        unsigned op = (r >> 16) % 4;
        char b[24];
        if (op == 0) {
            snprintf(b, sizeof(b), "v%ld", --lo);
            push_cstr(ql, b, QUICKLIST_HEAD);
        } else if (op == 1) {
            snprintf(b, sizeof(b), "v%ld", hi++);
            push_cstr(ql, b, QUICKLIST_TAIL);
        } else if (hi > lo) {
            snprintf(b, sizeof(b), "v%ld", op == 2 ? lo : hi - 1);
            cr_assert_str_eq(at(ql, op == 2 ? 0 : -1), b);
            quicklist_pop(ql, op == 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL);
            if (op == 2) {
                lo++;
            } else {
                hi--;
            }
        }
        cr_assert_eq(quicklist_count(ql), (size_t)(hi - lo));
        if (step % 64 == 0) {
            cr_assert_eq(quicklist_check(ql), 0);
        }
    }
    cr_assert_eq(quicklist_check(ql), 0);
    quicklist_destroy(&ql);
}

Test(quicklist, full_nodes_fit_the_fill_byte_limit_at_either_end)
{
    /* A full node of a -2 list is one 8,192-byte block, header and skip
     * index included (bounding the elements alone made it 8,192 + ~100,
     * jemalloc's 10,240 class), whether it filled from the tail or from
     * the head. */
    for (int where = 0; where < 2; where++) {
        struct quicklist *ql = quicklist_create(-2);
        for (int i = 0; i < 5000; i++) {
            char b[40];
            snprintf(b, sizeof(b), "%032d", i);
            b[0] = 'x';
            push_cstr(ql, b, where == 0 ? QUICKLIST_TAIL : QUICKLIST_HEAD);
        }
        cr_assert_eq(quicklist_check(ql), 0);
        cr_assert_geq(quicklist_nodes(ql), 20);
        struct quicklist_node *open_end = where == 0 ? quicklist_tail(ql) : ql->head;
        for (struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
            cr_assert_leq(mem_usable(n), 8192);
            if (n != open_end) {
                cr_assert_geq(n->count, 200, "a full node of 33-byte elements holds %u",
                              n->count);
            }
        }
        quicklist_destroy(&ql);
    }
}

Test(quicklist, replace_with_a_huge_value_moves_it_out_of_a_shared_node)
{
    struct quicklist *ql = quicklist_create(-5);
    static char huge[70000];
    memset(huge, 'h', sizeof(huge) - 1);
    for (int i = 0; i < 50; i++) {
        push_cstr(ql, "small", QUICKLIST_TAIL);
    }
    struct quicklist_iter it;
    struct listpack_value v;
    cr_assert_eq(quicklist_iter_at(ql, 20, QUICKLIST_HEAD, &it), 0);
    cr_assert(quicklist_next(&it, &v));
    quicklist_iter_replace(&it, huge, sizeof(huge) - 1);
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_eq(quicklist_count(ql), 50);
    cr_assert_eq(strlen(at(ql, 20)), sizeof(huge) - 1);
    cr_assert_str_eq(at(ql, 19), "small");
    cr_assert_str_eq(at(ql, 21), "small");
    quicklist_destroy(&ql);
}

/* ---- compression (list-compress-depth) ---- */

/* n elements like the brief's queue payloads, pushed at the tail. */
static struct quicklist *
padded_list(int fill, unsigned depth, int n)
{
    struct quicklist *ql = quicklist_create_compressed(fill, depth);
    char buf[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "element-number-%d-padding", i);
        push_cstr(ql, buf, QUICKLIST_TAIL);
    }
    return ql;
}

Test(quicklist, random_operations_match_a_model_compressed)
{
    random_run_depth(4, 1, 7, 3000);
    random_run_depth(5, 2, 8, 3000);
    random_run_depth(-1, 1, 9, 3000);
    random_run_depth(-2, 3, 10, 2000);
    random_run_depth(1, 2, 11, 1500);
}

Test(quicklist, depth_keeps_end_nodes_raw_and_compresses_the_rest)
{
    for (unsigned depth = 1; depth <= 3; depth++) {
        struct quicklist *ql = padded_list(4, depth, 100);
        cr_assert_eq(quicklist_nodes(ql), 25);
        cr_assert_eq(quicklist_compressed_nodes(ql), 25 - 2 * depth);
        cr_assert_eq(quicklist_check(ql), 0);
        cr_assert_str_eq(at(ql, 50), "element-number-50-padding");
        cr_assert_eq(quicklist_compressed_nodes(ql), 25 - 2 * depth, "a read decompresses nothing");
        quicklist_destroy(&ql);
    }
}

Test(quicklist, depth_zero_and_short_lists_compress_nothing)
{
    struct quicklist *ql = padded_list(4, 0, 100);
    cr_assert_eq(quicklist_compressed_nodes(ql), 0);
    quicklist_destroy(&ql);
    ql = padded_list(4, 2, 16);  /* four nodes: all within depth of an end */
    cr_assert_eq(quicklist_compressed_nodes(ql), 0);
    quicklist_destroy(&ql);
    ql = padded_list(1, 1, 10);  /* one 26-byte element per node: under 48 */
    cr_assert_eq(quicklist_compressed_nodes(ql), 0);
    cr_assert_eq(quicklist_check(ql), 0);
    quicklist_destroy(&ql);
}

Test(quicklist, depth_is_capped_at_65535)
{
    struct quicklist *ql = quicklist_create_compressed(-2, 1000000);
    cr_assert_eq(quicklist_depth(ql), 65535);
    quicklist_destroy(&ql);
}

Test(quicklist, compressed_list_takes_less_memory)
{
    struct quicklist *raw = padded_list(-2, 0, 3000);
    struct quicklist *lzf = padded_list(-2, 1, 3000);
    size_t rb = quicklist_bytes(raw), zb = quicklist_bytes(lzf);
    cr_assert_lt(zb * 2, rb, "%zu bytes compressed, %zu raw", zb, rb);
    quicklist_destroy(&raw);
    quicklist_destroy(&lzf);
}

Test(quicklist, pops_and_pushes_move_the_window)
{
    struct quicklist *ql = padded_list(4, 1, 100);
    for (int i = 0; i < 60; i++) {
        quicklist_pop(ql, i % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL);
        cr_assert_eq(quicklist_check(ql), 0, "after pop %d", i);
    }
    cr_assert_eq(quicklist_compressed_nodes(ql), quicklist_nodes(ql) - 2);
    for (int i = 0; i < 60; i++) {
        push_cstr(ql, "element-number-pushed-padding", i % 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL);
        cr_assert_eq(quicklist_check(ql), 0, "after push %d", i);
    }
    cr_assert_eq(quicklist_compressed_nodes(ql), quicklist_nodes(ql) - 2);
    quicklist_destroy(&ql);
}

Test(quicklist, interior_changes_leave_the_node_compressed)
{
    struct quicklist *ql = padded_list(4, 1, 40);
    struct quicklist_iter it;
    struct listpack_value v;
    cr_assert_eq(quicklist_iter_at(ql, 21, QUICKLIST_HEAD, &it), 0);
    cr_assert(quicklist_next(&it, &v));
    quicklist_iter_replace(&it, "element-number-replaced-padding", 31);
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_str_eq(at(ql, 21), "element-number-replaced-padding");
    cr_assert_eq(quicklist_compressed_nodes(ql), quicklist_nodes(ql) - 2);
    quicklist_delete_range(ql, 10, 3);
    cr_assert_eq(quicklist_check(ql), 0);
    cr_assert_str_eq(at(ql, 10), "element-number-13-padding");
    quicklist_destroy(&ql);
}
