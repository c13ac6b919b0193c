/* The set type: encoding choice and conversion by member and by count,
 * canonical integers, pops, random members with and without repeats, SSCAN,
 * set algebra, order-independent digests, copies, the rewrite as SADD
 * batches, and a randomized run against a simple model. */
#include <criterion/criterion.h>

#include "node/t_set.h"
#include "core/alloc.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
setup(void)
{
    uint8_t seed[16] = {1};
    util_hash_seed(seed);
}

TestSuite(t_set, .init = setup);

static int
add_s(struct set *s, const char *m, size_t max)
{
    return set_add(s, m, strlen(m), max);
}

static int
has(struct set *s, const char *m)
{
    return set_contains(s, m, strlen(m));
}

Test(t_set, canonical_integers_only)
{
    int64_t v;
    cr_assert(set_parse_int("0", 1, &v) && v == 0);
    cr_assert(set_parse_int("-9223372036854775808", 20, &v) && v == INT64_MIN);
    cr_assert(set_parse_int("9223372036854775807", 19, &v) && v == INT64_MAX);
    cr_assert_not(set_parse_int("9223372036854775808", 19, &v));
    cr_assert_not(set_parse_int("+1", 2, &v));
    cr_assert_not(set_parse_int("01", 2, &v));
    cr_assert_not(set_parse_int("-0", 2, &v));
    cr_assert_not(set_parse_int(" 1", 2, &v));
    cr_assert_not(set_parse_int("", 0, &v));
}

Test(t_set, integers_stay_an_intset_until_a_string_arrives)
{
    struct set *s = set_create(0, 0);
    cr_assert_eq(add_s(s, "3", 512), 1);
    cr_assert_eq(add_s(s, "-7", 512), 1);
    cr_assert_eq(add_s(s, "3", 512), 0);
    cr_assert_str_eq(set_encoding_name(s), "intset");
    cr_assert_eq(add_s(s, "01", 512), 1);
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    cr_assert(has(s, "3"));
    cr_assert(has(s, "-7"));
    cr_assert(has(s, "01"));
    cr_assert_not(has(s, "1"));
    cr_assert_eq(set_card(s), 3);
    set_destroy(&s);
    cr_assert_null(s);
}

Test(t_set, intset_converts_past_the_entry_limit)
{
    struct set *s = set_create(0, 0);
    char b[24];
    for (int i = 0; i < 4; i++) {
        snprintf(b, sizeof(b), "%d", i);
        add_s(s, b, 4);
    }
    cr_assert_str_eq(set_encoding_name(s), "intset");
    add_s(s, "4", 4);
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    cr_assert_eq(set_card(s), 5);
    /* Never back, even when it shrinks. */
    set_remove(s, "4", 1);
    set_remove(s, "3", 1);
    cr_assert_str_eq(set_encoding_name(s), "hashtable");
    cr_assert(has(s, "0"));
    set_destroy(&s);
}

Test(t_set, pop_removes_what_it_returns)
{
    for (int ht = 0; ht < 2; ht++) {
        struct set *s = set_create(ht, 0);
        char b[24];
        for (int i = 0; i < 50; i++) {
            snprintf(b, sizeof(b), "%d", i);
            add_s(s, b, 512);
        }
        struct set_vec v = {0};
        cr_assert_eq(set_pop(s, 20, &v), 20);
        cr_assert_eq(set_card(s), 30);
        for (size_t i = 0; i < v.n; i++) {
            cr_assert_not(set_contains(s, v.data + v.off[i], v.len[i]));
        }
        cr_assert_eq(set_pop(s, 100, &v), 30);
        cr_assert_eq(set_card(s), 0);
        cr_assert_eq(v.n, 50);
        set_vec_release(&v);
        set_destroy(&s);
    }
}

Test(t_set, random_members_unique_or_repeated)
{
    for (int ht = 0; ht < 2; ht++) {
        struct set *s = set_create(ht, 0);
        char b[24];
        for (int i = 0; i < 30; i++) {
            snprintf(b, sizeof(b), "%d", i);
            add_s(s, b, 512);
        }
        size_t counts[] = {1, 5, 15, 29, 30, 31, 1000};
        for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
            struct set_vec v = {0};
            set_random_members(s, counts[k], 1, &v);
            size_t want = counts[k] < 30 ? counts[k] : 30;
            cr_assert_eq(v.n, want);
            struct set *seen = set_create(1, 0);
            for (size_t i = 0; i < v.n; i++) {
                cr_assert(set_contains(s, v.data + v.off[i], v.len[i]));
                cr_assert(set_add(seen, v.data + v.off[i], v.len[i], 0), "repeat");
            }
            set_destroy(&seen);
            set_vec_release(&v);
        }
        struct set_vec v = {0};
        set_random_members(s, 500, 0, &v);
        cr_assert_eq(v.n, 500);
        set_vec_release(&v);
        cr_assert_eq(set_card(s), 30);
        set_destroy(&s);
    }
}

static void
collect(const char *p, size_t len, void *arg)
{
    set_add(arg, p, len, 0);
}

Test(t_set, scan_returns_every_member)
{
    struct set *s = set_create(0, 0);
    char b[24];
    for (int i = 0; i < 100; i++) {
        snprintf(b, sizeof(b), "%d", i);
        add_s(s, b, 512);
    }
    struct set *got = set_create(1, 0);
    cr_assert_eq(set_scan(s, 0, 1, collect, got), 0);
    cr_assert_eq(set_card(got), 100);
    set_destroy(&got);
    add_s(s, "x", 512);
    got = set_create(1, 0);
    unsigned long cur = 0;
    do {
        cur = set_scan(s, cur, 3, collect, got);
    } while (cur != 0);
    cr_assert_eq(set_card(got), 101);
    set_destroy(&got);
    set_destroy(&s);
}

Test(t_set, algebra_and_result_encoding)
{
    struct set *a = set_create(0, 0), *b = set_create(0, 0), *c = set_create(1, 0);
    const char *am[] = {"1", "2", "3", "4"}, *bm[] = {"3", "4", "5"}, *cm[] = {"x", "3"};
    for (int i = 0; i < 4; i++) {
        add_s(a, am[i], 512);
    }
    for (int i = 0; i < 3; i++) {
        add_s(b, bm[i], 512);
    }
    for (int i = 0; i < 2; i++) {
        add_s(c, cm[i], 512);
    }
    struct set *sets[] = {a, b, c};
    struct set *r = set_algebra(sets, 2, SET_OP_INTER, 512);
    cr_assert_eq(set_card(r), 2);
    cr_assert_str_eq(set_encoding_name(r), "intset");
    set_destroy(&r);
    r = set_algebra(sets, 3, SET_OP_INTER, 512);
    cr_assert_eq(set_card(r), 1);
    cr_assert(has(r, "3"));
    /* An intersection with a hashtable of integers is an intset again. */
    cr_assert_str_eq(set_encoding_name(r), "intset");
    set_destroy(&r);
    r = set_algebra(sets, 3, SET_OP_UNION, 512);
    cr_assert_eq(set_card(r), 6);
    cr_assert_str_eq(set_encoding_name(r), "hashtable");
    set_destroy(&r);
    r = set_algebra(sets, 3, SET_OP_DIFF, 512);
    cr_assert_eq(set_card(r), 2);
    cr_assert(has(r, "1") && has(r, "2"));
    set_destroy(&r);
    struct set *with_missing[] = {a, NULL};
    cr_assert_null(set_algebra(with_missing, 2, SET_OP_INTER, 512));
    r = set_algebra(with_missing, 2, SET_OP_DIFF, 512);
    cr_assert_eq(set_card(r), 4);
    set_destroy(&r);
    struct set *self[] = {a, a};
    cr_assert_null(set_algebra(self, 2, SET_OP_DIFF, 512));
    cr_assert_eq(set_inter_card(sets, 2, 0), 2);
    cr_assert_eq(set_inter_card(sets, 2, 1), 1);
    cr_assert_eq(set_inter_card(self, 2, 0), 4);
    cr_assert_eq(set_inter_card(with_missing, 2, 0), 0);
    set_destroy(&a);
    set_destroy(&b);
    set_destroy(&c);
}

Test(t_set, digest_ignores_encoding_and_order)
{
    struct set *a = set_create(0, 0), *b = set_create(1, 0);
    const char *m[] = {"10", "-3", "77777", "5"};
    for (int i = 0; i < 4; i++) {
        add_s(a, m[i], 512);
        add_s(b, m[3 - i], 512);
    }
    cr_assert_str_neq(set_encoding_name(a), set_encoding_name(b));
    uint64_t ha[3], hb[3];
    memcpy(ha, obj_digest_bases, sizeof(ha));
    memcpy(hb, obj_digest_bases, sizeof(hb));
    set_obj_type.digest(a, ha);
    set_obj_type.digest(b, hb);
    cr_assert_arr_eq(ha, hb, sizeof(ha));
    add_s(b, "6", 512);
    memcpy(hb, obj_digest_bases, sizeof(hb));
    set_obj_type.digest(b, hb);
    cr_assert(memcmp(ha, hb, sizeof(ha)) != 0);
    set_destroy(&a);
    set_destroy(&b);
}

Test(t_set, copy_and_memory)
{
    for (int ht = 0; ht < 2; ht++) {
        struct set *s = set_create(ht, 0);
        add_s(s, "1", 512);
        add_s(s, "2", 512);
        struct set *c = set_obj_type.copy(s);
        cr_assert_str_eq(set_encoding_name(c), set_encoding_name(s));
        add_s(s, "3", 512);
        cr_assert_eq(set_card(c), 2);
        cr_assert_gt(set_obj_type.memory(c), 0);
        set_obj_type.free(c);
        set_destroy(&s);
    }
}

/* The rewrite: SADD commands of at most OBJ_REWRITE_BATCH members. */
struct capture {
    char *buf;
    size_t len;
};

static void
capture_write(void *arg, const char *p, size_t len)
{
    struct capture *c = arg;
    c->buf = realloc(c->buf, c->len + len + 1);
    memcpy(c->buf + c->len, p, len);
    c->len += len;
    c->buf[c->len] = '\0';
}

Test(t_set, rewrite_is_bounded_sadd_batches)
{
    struct set *s = set_create(0, 0);
    char b[24];
    size_t n = OBJ_REWRITE_BATCH * 2 + 5;
    for (size_t i = 0; i < n; i++) {
        snprintf(b, sizeof(b), "%zu", i);
        add_s(s, b, 100000);
    }
    struct capture cap = {0};
    struct obj_emitter em;
    obj_emitter_init(&em, capture_write, &cap);
    set_obj_type.rewrite(s, "k", 1, &em);
    obj_emit_end(&em);
    obj_emitter_release(&em);
    size_t cmds = 0;
    for (char *p = cap.buf; (p = strstr(p, "$4\r\nSADD\r\n")) != NULL; p++) {
        cmds++;
    }
    cr_assert_eq(cmds, 3);
    char head[32];
    snprintf(head, sizeof(head), "*%d\r\n$4\r\nSADD", OBJ_REWRITE_BATCH + 2);
    cr_assert(strncmp(cap.buf, head, strlen(head)) == 0, "%.40s", cap.buf);
    free(cap.buf);
    set_destroy(&s);
}

Test(t_set, randomized_against_a_model)
{
    /* Model: presence flags over a small universe of members, half of them
     * integers, so conversions happen along the way. */
    enum { U = 300, OPS = 30000 };
    char names[U][24];
    int in[U] = {0};
    size_t card = 0;
    for (int i = 0; i < U; i++) {
        if (i % 2 == 0) {
            snprintf(names[i], sizeof(names[i]), "%d", (i - U / 2) * 1000003);
        } else {
            snprintf(names[i], sizeof(names[i]), "m%d", i);
        }
    }
    srandom(7);
    struct set *s = set_create(0, 0);
    for (int op = 0; op < OPS; op++) {
        int i = (int)(random() % U);
        /* Mostly integers at first, so the intset phase is exercised. */
        if (op < OPS / 3 && i % 2 == 1) {
            i--;
        }
        int r = (int)(random() % 10);
        if (r < 5) {
            cr_assert_eq(add_s(s, names[i], 64), !in[i]);
            card += !in[i];
            in[i] = 1;
        } else if (r < 8) {
            cr_assert_eq(set_remove(s, names[i], strlen(names[i])), in[i]);
            card -= in[i];
            in[i] = 0;
        } else if (r < 9) {
            cr_assert_eq(has(s, names[i]), in[i]);
        } else if (card > 0) {
            struct set_vec v = {0};
            set_pop(s, 1, &v);
            cr_assert_eq(v.n, 1);
            int found = -1;
            for (int k = 0; k < U; k++) {
                if (strlen(names[k]) == v.len[0] && memcmp(names[k], v.data, v.len[0]) == 0) {
                    found = k;
                }
            }
            cr_assert(found >= 0 && in[found]);
            in[found] = 0;
            card--;
            set_vec_release(&v);
        }
        cr_assert_eq(set_card(s), card);
    }
    set_destroy(&s);
}

/* Regression: hashtable sets were built on full strmap nodes (value length
 * and an 8-byte aux no set uses), 48 bytes a 16-byte member instead of 32.
 * Every way a hashtable set comes to be must give keys-only nodes. */
static void
assert_keys_only(struct set *s)
{
    struct strmap_iter it;
    struct strmap_node *n;
    size_t seen = 0;
    cr_assert_eq(s->enc, SET_ENC_HASHTABLE);
    strmap_iter_init(&it, s->u.map);
    while ((n = strmap_iter_next(&it)) != NULL) {
        cr_assert_eq(strmap_node_kind(n), STRMAP_KEYS);
        seen++;
    }
    strmap_iter_done(&it);
    cr_assert_eq(seen, set_card(s));
}

Test(t_set, hashtable_sets_use_keys_only_nodes)
{
    char m[32];
    struct set *direct = set_create(1, 0), *converted = set_create(0, 0);
    for (int i = 0; i < 200; i++) {
        snprintf(m, sizeof(m), "%016d", i);
        set_add(direct, m, 16, 512);
        snprintf(m, sizeof(m), "%d", i);
        set_add(converted, m, strlen(m), 512);
    }
    set_add(converted, "not-a-number", 12, 512);
    assert_keys_only(direct);
    assert_keys_only(converted);
    struct set *copy = set_copy(direct);
    assert_keys_only(copy);
    cr_assert(set_contains(copy, "0000000000000199", 16));
    set_destroy(&copy);
    set_destroy(&direct);
    set_destroy(&converted);
}
