/* listpack: element encodings at their boundaries, navigation both ways,
 * every mutator's contract (moved handles, updated element pointers), the
 * validator on good and damaged bytes, and a randomized run against an
 * array-of-strings model. */
#include <criterion/criterion.h>

#include "ds/listpack.h"
#include "core/alloc.h"
#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* The string form of the element at p, NUL-terminated in a static buffer
 * (strings with NULs compare by length in the model test). */
static const char *
str_of(const unsigned char *p)
{
    static char out[8192];
    char buf[LISTPACK_INT_BUF];
    size_t len;
    const char *s = listpack_get_str(p, buf, &len);
    cr_assert_lt(len, sizeof(out));
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static unsigned char *
from_strings(const char **items, size_t n)
{
    unsigned char *lp = listpack_new();
    for (size_t i = 0; i < n; i++) {
        lp = listpack_append(lp, items[i], strlen(items[i]));
    }
    return lp;
}

/* Assert the listpack holds exactly items, walking forward and backward,
 * and that it validates. */
static void
assert_items(const unsigned char *lp, const char **items, size_t n)
{
    size_t count = 0;
    cr_assert_eq(listpack_length(lp), n);
    cr_assert_eq(listpack_validate(lp, listpack_used_bytes(lp), &count), 0);
    cr_assert_eq(count, n);
    unsigned char *p = listpack_first(lp);
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(p, "forward walk ended early at %zu", i);
        cr_assert_str_eq(str_of(p), items[i], "element %zu", i);
        p = listpack_next(lp, p);
    }
    cr_assert_null(p);
    p = listpack_last(lp);
    for (size_t i = n; i-- > 0;) {
        cr_assert_not_null(p, "backward walk ended early at %zu", i);
        cr_assert_str_eq(str_of(p), items[i], "element %zu backward", i);
        p = listpack_prev(lp, p);
    }
    cr_assert_null(p);
}

/* ---- life cycle ---- */

Test(listpack, new_listpack_is_empty)
{
    unsigned char *lp = listpack_new();
    cr_assert_eq(listpack_length(lp), 0);
    cr_assert_null(listpack_first(lp));
    cr_assert_null(listpack_last(lp));
    cr_assert_null(listpack_seek(lp, 0));
    cr_assert_null(listpack_seek(lp, -1));
    cr_assert_eq(listpack_used_bytes(lp), 9);
    cr_assert_geq(listpack_bytes(lp), 9);
    cr_assert_eq(listpack_validate(lp, 9, NULL), 0);
    listpack_free(lp);
}

Test(listpack, bytes_are_accounted_by_the_allocator)
{
    size_t before = mem_used();
    unsigned char *lp = listpack_new();
    for (int i = 0; i < 100; i++) {
        lp = listpack_append(lp, "some element", 12);
    }
    cr_assert_eq(mem_used() - before, listpack_bytes(lp));
    listpack_free(lp);
    cr_assert_eq(mem_used(), before);
}

/* ---- encodings ---- */

Test(listpack, canonical_integer_strings_become_integers)
{
    const char *ints[] = {"0", "1", "-1", "127", "128", "-4096", "4095",
                          "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        unsigned char *lp = listpack_append(listpack_new(), ints[i],
                                            strlen(ints[i]));
        struct listpack_value v;
        listpack_get(listpack_first(lp), &v);
        cr_assert(v.is_int, "%s should be stored as an integer", ints[i]);
        cr_assert_eq(v.ll, strtoll(ints[i], NULL, 10));
        cr_assert_null(v.str);
        listpack_free(lp);
    }
}

Test(listpack, non_canonical_integer_strings_stay_strings)
{
    const char *strs[] = {"007", "+1", " 1", "1 ", "-0", "", "-",
                          "9223372036854775808", "-9223372036854775809",
                          "1.0", "0x10", "00"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        size_t len = strlen(strs[i]);
        unsigned char *lp = listpack_append(listpack_new(), strs[i], len);
        struct listpack_value v;
        listpack_get(listpack_first(lp), &v);
        cr_assert_not(v.is_int, "'%s' must stay a string", strs[i]);
        cr_assert_eq(v.len, len);
        cr_assert_eq(memcmp(v.str, strs[i], len), 0);
        listpack_free(lp);
    }
}

Test(listpack, small_values_are_compact)
{
    unsigned char *lp = listpack_new();
    size_t base = listpack_used_bytes(lp);
    lp = listpack_append_int(lp, 100);          /* 1 byte + backlen */
    cr_assert_eq(listpack_used_bytes(lp) - base, 2);
    base = listpack_used_bytes(lp);
    lp = listpack_append_int(lp, -1000);        /* 2 bytes + backlen */
    cr_assert_eq(listpack_used_bytes(lp) - base, 3);
    base = listpack_used_bytes(lp);
    lp = listpack_append(lp, "abcdefgh", 8);    /* 1 + 8 + 1 */
    cr_assert_eq(listpack_used_bytes(lp) - base, 10);
    listpack_free(lp);
}

Test(listpack, integers_round_trip_at_every_encoding_boundary)
{
    const long long vals[] = {
        0, 1, 127, 128, -1, -4096, -4097, 4095, 4096, INT16_MIN,
        INT16_MIN - 1, INT16_MAX, INT16_MAX + 1, -(1LL << 23),
        -(1LL << 23) - 1, (1LL << 23) - 1, 1LL << 23, INT32_MIN,
        (long long)INT32_MIN - 1, INT32_MAX, (long long)INT32_MAX + 1,
        LLONG_MIN, LLONG_MAX};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    unsigned char *lp = listpack_new();
    for (size_t i = 0; i < n; i++) {
        lp = listpack_append_int(lp, vals[i]);
    }
    unsigned char *p = listpack_last(lp);
    for (size_t i = n; i-- > 0;) {
        struct listpack_value v;
        listpack_get(p, &v);
        cr_assert(v.is_int);
        cr_assert_eq(v.ll, vals[i], "value %zu: %lld != %lld", i, v.ll,
                     vals[i]);
        p = listpack_prev(lp, p);
    }
    cr_assert_eq(listpack_validate(lp, listpack_used_bytes(lp), NULL), 0);
    listpack_free(lp);
}

Test(listpack, strings_round_trip_across_header_and_backlen_sizes)
{
    /* 63/64 and 4095/4096 switch the string header; entry sizes 127/128,
     * 16383/16384 and 2^21 switch the backlen size. */
    const size_t lens[] = {0, 1, 63, 64, 125, 126, 127, 128, 4095, 4096,
                           16377, 16378, 16379, 16380, 70000,
                           (1 << 21) - 5, (1 << 21)};
    size_t n = sizeof(lens) / sizeof(lens[0]);
    unsigned char *lp = listpack_new();
    char *buf = malloc(1 << 22);
    for (size_t i = 0; i < n; i++) {
        memset(buf, 'a' + (int)i, lens[i]);
        lp = listpack_append(lp, buf, lens[i]);
    }
    cr_assert_eq(listpack_validate(lp, listpack_used_bytes(lp), NULL), 0);
    unsigned char *p = listpack_last(lp);
    for (size_t i = n; i-- > 0;) {
        struct listpack_value v;
        cr_assert_not_null(p);
        listpack_get(p, &v);
        cr_assert_not(v.is_int);
        cr_assert_eq(v.len, lens[i], "element %zu length", i);
        for (size_t j = 0; j < v.len; j++) {
            if (v.str[j] != 'a' + (int)i) {
                cr_assert_fail("element %zu byte %zu", i, j);
            }
        }
        p = listpack_prev(lp, p);
    }
    cr_assert_null(p);
    free(buf);
    listpack_free(lp);
}

Test(listpack, binary_strings_keep_nul_bytes)
{
    const char bin[] = {'a', 0, 'b', 0};
    unsigned char *lp = listpack_append(listpack_new(), bin, sizeof(bin));
    struct listpack_value v;
    listpack_get(listpack_first(lp), &v);
    cr_assert_eq(v.len, sizeof(bin));
    cr_assert_eq(memcmp(v.str, bin, sizeof(bin)), 0);
    cr_assert(listpack_compare(listpack_first(lp), bin, sizeof(bin)));
    cr_assert_not(listpack_compare(listpack_first(lp), "a", 1));
    listpack_free(lp);
}

Test(listpack, get_str_formats_integers_into_the_buffer)
{
    unsigned char *lp = listpack_append_int(listpack_new(), LLONG_MIN);
    lp = listpack_append(lp, "str", 3);
    char buf[LISTPACK_INT_BUF];
    size_t len;
    const char *s = listpack_get_str(listpack_first(lp), buf, &len);
    cr_assert_eq(s, buf);
    cr_assert_eq(len, 20);
    cr_assert_eq(memcmp(s, "-9223372036854775808", 20), 0);
    s = listpack_get_str(listpack_last(lp), buf, &len);
    cr_assert_neq(s, buf);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(s, "str", 3), 0);
    listpack_free(lp);
}

/* ---- navigation ---- */

Test(listpack, seek_counts_from_either_end)
{
    const char *items[] = {"a", "b", "c", "d", "e"};
    unsigned char *lp = from_strings(items, 5);
    for (long i = 0; i < 5; i++) {
        cr_assert_str_eq(str_of(listpack_seek(lp, i)), items[i]);
        cr_assert_str_eq(str_of(listpack_seek(lp, -1 - i)), items[4 - i]);
    }
    cr_assert_null(listpack_seek(lp, 5));
    cr_assert_null(listpack_seek(lp, -6));
    cr_assert_null(listpack_seek(lp, LONG_MAX));
    cr_assert_null(listpack_seek(lp, LONG_MIN));
    listpack_free(lp);
}

/* ---- mutation ---- */

Test(listpack, insert_before_and_after_an_element)
{
    const char *items[] = {"a", "c"};
    unsigned char *lp = from_strings(items, 2);
    unsigned char *p = listpack_seek(lp, 1);
    unsigned char *np = NULL;
    lp = listpack_insert(lp, p, "b", 1, LISTPACK_BEFORE, &np);
    cr_assert_str_eq(str_of(np), "b");
    p = listpack_seek(lp, 2);
    lp = listpack_insert(lp, p, "42", 2, LISTPACK_AFTER, &np);
    cr_assert_str_eq(str_of(np), "42");
    lp = listpack_insert(lp, NULL, "first", 5, LISTPACK_BEFORE, NULL);
    lp = listpack_insert(lp, NULL, "last", 4, LISTPACK_AFTER, &np);
    cr_assert_str_eq(str_of(np), "last");
    const char *want[] = {"first", "a", "b", "c", "42", "last"};
    assert_items(lp, want, 6);
    listpack_free(lp);
}

Test(listpack, prepend_and_append_helpers)
{
    unsigned char *lp = listpack_new();
    lp = listpack_append(lp, "m", 1);
    lp = listpack_prepend(lp, "l", 1);
    lp = listpack_append_int(lp, 7);
    lp = listpack_prepend_int(lp, -7);
    const char *want[] = {"-7", "l", "m", "7"};
    assert_items(lp, want, 4);
    listpack_free(lp);
}

Test(listpack, insert_accepts_a_string_inside_the_same_listpack)
{
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *items[] = {"head", big};
    unsigned char *lp = from_strings(items, 2);
    /* Rotate the last element to the front, as RPOPLPUSH k k does. */
    for (int i = 0; i < 21; i++) {
        struct listpack_value v;
        unsigned char *last = listpack_last(lp);
        listpack_get(last, &v);
        lp = listpack_prepend(lp, (const char *)v.str, v.len);
        last = listpack_last(lp);
        lp = listpack_delete(lp, &last);
    }
    const char *rotated[] = {big, "head"};
    assert_items(lp, rotated, 2);
    /* Append a copy of the first element (the append may realloc). */
    struct listpack_value v;
    listpack_get(listpack_first(lp), &v);
    lp = listpack_append(lp, (const char *)v.str, v.len);
    const char *want[] = {big, "head", big};
    assert_items(lp, want, 3);
    listpack_free(lp);
}

Test(listpack, replace_updates_the_element_pointer)
{
    const char *items[] = {"a", "bb", "c"};
    unsigned char *lp = from_strings(items, 3);
    unsigned char *p = listpack_seek(lp, 1);
    char longer[200];
    memset(longer, 'z', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    lp = listpack_replace(lp, &p, longer, strlen(longer));    /* grows */
    cr_assert_str_eq(str_of(p), longer);
    lp = listpack_replace(lp, &p, "yy", 2);                   /* shrinks */
    cr_assert_str_eq(str_of(p), "yy");
    lp = listpack_replace(lp, &p, "xx", 2);                   /* same size */
    cr_assert_str_eq(str_of(p), "xx");
    lp = listpack_replace_int(lp, &p, 123456789);
    cr_assert_str_eq(str_of(p), "123456789");
    const char *want[] = {"a", "123456789", "c"};
    assert_items(lp, want, 3);
    listpack_free(lp);
}

Test(listpack, replace_with_a_substring_of_itself)
{
    char big[500];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *items[] = {big, "tail"};
    unsigned char *lp = from_strings(items, 2);
    unsigned char *p = listpack_first(lp);
    struct listpack_value v;
    listpack_get(p, &v);
    lp = listpack_replace(lp, &p, (const char *)v.str + 10, 100);
    listpack_get(p, &v);
    cr_assert_eq(v.len, 100);
    for (size_t i = 0; i < v.len; i++) {
        cr_assert_eq(v.str[i], 'q');
    }
    cr_assert_str_eq(str_of(listpack_last(lp)), "tail");
    listpack_free(lp);
}

Test(listpack, delete_moves_the_pointer_to_the_next_element)
{
    const char *items[] = {"a", "b", "c"};
    unsigned char *lp = from_strings(items, 3);
    unsigned char *p = listpack_seek(lp, 1);
    lp = listpack_delete(lp, &p);
    cr_assert_str_eq(str_of(p), "c");
    lp = listpack_delete(lp, &p);
    cr_assert_null(p, "deleting the last element leaves NULL");
    const char *want[] = {"a"};
    assert_items(lp, want, 1);
    p = listpack_first(lp);
    lp = listpack_delete(lp, &p);
    cr_assert_null(p);
    assert_items(lp, NULL, 0);
    listpack_free(lp);
}

Test(listpack, delete_n_removes_a_field_value_pair)
{
    const char *items[] = {"f1", "v1", "f2", "v2", "f3", "v3"};
    unsigned char *lp = from_strings(items, 6);
    unsigned char *p = listpack_seek(lp, 2);
    lp = listpack_delete_n(lp, &p, 2);
    cr_assert_str_eq(str_of(p), "f3");
    lp = listpack_delete_n(lp, &p, 10);   /* more than remain */
    cr_assert_null(p);
    const char *want[] = {"f1", "v1"};
    assert_items(lp, want, 2);
    listpack_free(lp);
}

Test(listpack, delete_range_by_index)
{
    const char *items[] = {"0", "1", "2", "3", "4", "5"};
    unsigned char *lp = from_strings(items, 6);
    lp = listpack_delete_range(lp, 1, 2);
    const char *w1[] = {"0", "3", "4", "5"};
    assert_items(lp, w1, 4);
    lp = listpack_delete_range(lp, -2, 100);
    const char *w2[] = {"0", "3"};
    assert_items(lp, w2, 2);
    lp = listpack_delete_range(lp, 5, 1);     /* out of range: nothing */
    lp = listpack_delete_range(lp, -3, 1);
    lp = listpack_delete_range(lp, 0, 0);
    assert_items(lp, w2, 2);
    listpack_free(lp);
}

/* ---- search ---- */

Test(listpack, find_compares_integers_by_value_and_strings_by_bytes)
{
    const char *items[] = {"007", "7", "x", "-0", "0"};
    unsigned char *lp = from_strings(items, 5);
    unsigned char *first = listpack_first(lp);
    cr_assert_eq(listpack_find(lp, first, "7", 1, 0), listpack_seek(lp, 1));
    cr_assert_eq(listpack_find(lp, first, "007", 3, 0), first);
    cr_assert_eq(listpack_find(lp, first, "-0", 2, 0), listpack_seek(lp, 3));
    cr_assert_eq(listpack_find(lp, first, "0", 1, 0), listpack_seek(lp, 4));
    cr_assert_null(listpack_find(lp, first, "07", 2, 0));
    cr_assert_null(listpack_find(lp, first, "+7", 2, 0));
    cr_assert_null(listpack_find(lp, NULL, "x", 1, 0));
    listpack_free(lp);
}

Test(listpack, find_with_skip_looks_at_fields_only)
{
    const char *items[] = {"f1", "f2", "f2", "v2", "v1", "x"};
    unsigned char *lp = from_strings(items, 6);
    unsigned char *first = listpack_first(lp);
    /* Fields are at 0, 2, 4: "f2" the value (index 1) is skipped. */
    cr_assert_eq(listpack_find(lp, first, "f2", 2, 1), listpack_seek(lp, 2));
    cr_assert_eq(listpack_find(lp, first, "v1", 2, 1), listpack_seek(lp, 4));
    cr_assert_null(listpack_find(lp, first, "v2", 2, 1));
    cr_assert_null(listpack_find(lp, first, "x", 1, 1));
    listpack_free(lp);
}

Test(listpack, compare_checks_equality)
{
    const char *items[] = {"12", "abc"};
    unsigned char *lp = from_strings(items, 2);
    cr_assert(listpack_compare(listpack_first(lp), "12", 2));
    cr_assert_not(listpack_compare(listpack_first(lp), "012", 3));
    cr_assert_not(listpack_compare(listpack_first(lp), "abc", 3));
    cr_assert(listpack_compare(listpack_last(lp), "abc", 3));
    cr_assert_not(listpack_compare(listpack_last(lp), "ab", 2));
    listpack_free(lp);
}

Test(listpack, safe_to_add_refuses_past_the_limit)
{
    unsigned char *lp = listpack_new();
    cr_assert(listpack_safe_to_add(lp, 1000));
    cr_assert_not(listpack_safe_to_add(lp, LISTPACK_MAX_SAFE));
    listpack_free(lp);
}

/* ---- validation ---- */

static unsigned char *
sample_listpack(void)
{
    char big[5000];
    memset(big, 'b', sizeof(big));
    unsigned char *lp = listpack_new();
    lp = listpack_append(lp, "hello", 5);
    lp = listpack_append_int(lp, 5);
    lp = listpack_append_int(lp, -3000);
    lp = listpack_append_int(lp, 100000);
    lp = listpack_append_int(lp, LLONG_MAX);
    lp = listpack_append(lp, big, 200);
    lp = listpack_append(lp, big, sizeof(big));
    lp = listpack_append(lp, "", 0);
    return lp;
}

/* Validate a copy of exactly size bytes, so ASan sees any overread. */
static int
validate_copy(const unsigned char *src, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    memcpy(b, src, size);
    int rc = listpack_validate(b, size, NULL);
    free(b);
    return rc;
}

Test(listpack, validate_accepts_what_the_encoder_writes)
{
    unsigned char *lp = sample_listpack();
    size_t count = 0;
    cr_assert_eq(listpack_validate(lp, listpack_used_bytes(lp), &count), 0);
    cr_assert_eq(count, 8);
    cr_assert_eq(validate_copy(lp, listpack_used_bytes(lp)), 0);
    listpack_free(lp);
}

Test(listpack, validate_rejects_every_truncation)
{
    unsigned char *lp = sample_listpack();
    size_t size = listpack_used_bytes(lp);
    for (size_t cut = 0; cut < size; cut++) {
        cr_assert_eq(validate_copy(lp, cut), -1, "cut at %zu accepted", cut);
    }
    cr_assert_eq(listpack_validate(NULL, 0, NULL), -1);
    listpack_free(lp);
}

Test(listpack, validate_rejects_a_wrong_count_or_total)
{
    unsigned char *lp = sample_listpack();
    size_t size = listpack_used_bytes(lp);
    unsigned char *b = malloc(size);
    memcpy(b, lp, size);
    b[4]++;                                      /* count */
    cr_assert_eq(listpack_validate(b, size, NULL), -1);
    memcpy(b, lp, size);
    b[0]--;                                      /* total */
    cr_assert_eq(listpack_validate(b, size, NULL), -1);
    memcpy(b, lp, size);
    b[size - 1] = 0;                             /* terminator */
    cr_assert_eq(listpack_validate(b, size, NULL), -1);
    free(b);
    listpack_free(lp);
}

Test(listpack, validate_rejects_a_bad_backlen)
{
    unsigned char *lp = listpack_append(listpack_new(), "abc", 3);
    size_t size = listpack_used_bytes(lp);
    lp[8 + 4] = 3;   /* backlen of "abc" is 4 (header + 3 bytes) */
    cr_assert_eq(listpack_validate(lp, size, NULL), -1);
    listpack_free(lp);
}

Test(listpack, validate_rejects_a_string_holding_a_canonical_integer)
{
    /* find("12") only compares integer elements, so a string "12" would be
     * unreachable: the loader must refuse it. */
    unsigned char *lp = listpack_append(listpack_new(), "ab", 2);
    size_t size = listpack_used_bytes(lp);
    lp[9] = '1';
    lp[10] = '2';
    cr_assert_eq(listpack_validate(lp, size, NULL), -1);
    listpack_free(lp);
}

Test(listpack, validate_survives_every_single_byte_corruption)
{
    unsigned char *lp = sample_listpack();
    size_t size = listpack_used_bytes(lp);
    unsigned char *b = malloc(size);
    const unsigned char vals[] = {0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xDF, 0xE0,
                                  0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    for (size_t i = 0; i < size; i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            memcpy(b, lp, size);
            b[i] = vals[v];
            size_t count;
            if (listpack_validate(b, size, &count) == 0) {
                /* Whatever it accepted must walk cleanly both ways. */
                size_t n = 0;
                for (unsigned char *p = listpack_first(b); p;
                     p = listpack_next(b, p)) {
                    n++;
                }
                cr_assert_eq(n, count);
                n = 0;
                for (unsigned char *p = listpack_last(b); p;
                     p = listpack_prev(b, p)) {
                    n++;
                }
                cr_assert_eq(n, count);
            }
        }
    }
    free(b);
    listpack_free(lp);
}

/* ---- randomized against a model ---- */

struct model {
    char **items;     /* owned NUL-terminated strings (no NULs inside) */
    size_t n;
    size_t cap;
};

static void
model_insert(struct model *m, size_t at, const char *s)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->items = realloc(m->items, m->cap * sizeof(char *));
    }
    memmove(m->items + at + 1, m->items + at, (m->n - at) * sizeof(char *));
    m->items[at] = strdup(s);
    m->n++;
}

static void
model_delete(struct model *m, size_t at, size_t count)
{
    if (at + count > m->n) {
        count = m->n - at;
    }
    for (size_t i = 0; i < count; i++) {
        free(m->items[at + i]);
    }
    memmove(m->items + at, m->items + at + count,
            (m->n - at - count) * sizeof(char *));
    m->n -= count;
}

/* Values that exercise every encoding, and non-canonical look-alikes. */
static void
random_value(char *buf, size_t cap)
{
    int kind = rand() % 10;
    long long v;
    switch (kind) {
    case 0:
        v = rand() % 128;
        break;
    case 1:
        v = rand() % 8192 - 4096;
        break;
    case 2:
        v = (long long)rand() - RAND_MAX / 2;
        break;
    case 3:
        v = (long long)(((unsigned long long)rand() << 33) ^ (unsigned)rand());
        v = rand() % 2 ? v : (long long)(0ULL - (unsigned long long)v);
        break;
    case 4:
        v = rand() % 2 ? LLONG_MAX - rand() % 3 : LLONG_MIN + rand() % 3;
        break;
    case 5: {
        const char *odd[] = {"007", "-0", "+5", " 9", "", "1e3", "a"};
        snprintf(buf, cap, "%s", odd[rand() % 7]);
        return;
    }
    default: {
        /* Strings of every header size, occasionally long ones. */
        size_t len = rand() % 8 == 0 ? (size_t)(rand() % 6000)
                                     : (size_t)(rand() % 70);
        if (len >= cap) {
            len = cap - 1;
        }
        for (size_t i = 0; i < len; i++) {
            buf[i] = (char)('a' + rand() % 26);
        }
        buf[len] = '\0';
        return;
    }
    }
    buf[util_ll2str(buf, v)] = '\0';
}

static void
check_against_model(const unsigned char *lp, const struct model *m)
{
    assert_items(lp, (const char **)m->items, m->n);
}

Test(listpack, random_operations_match_an_array_model)
{
    struct model m = {0};
    unsigned char *lp = listpack_new();
    char *val = malloc(8192);
    srand(12345);

    for (int batch = 0; batch < 200; batch++) {
        for (int op = 0; op < 40; op++) {
            int what = rand() % 100;
            random_value(val, 8192);
            size_t len = strlen(val);
            if (what < 20) {
                lp = listpack_append(lp, val, len);
                model_insert(&m, m.n, val);
            } else if (what < 30) {
                lp = listpack_prepend(lp, val, len);
                model_insert(&m, 0, val);
            } else if (what < 45 && m.n > 0) {
                size_t at = (size_t)rand() % m.n;
                int where = rand() % 2 ? LISTPACK_AFTER : LISTPACK_BEFORE;
                long idx = rand() % 2 ? (long)at : (long)at - (long)m.n;
                unsigned char *p = listpack_seek(lp, idx), *np;
                lp = listpack_insert(lp, p, val, len, where, &np);
                cr_assert_str_eq(str_of(np), val);
                model_insert(&m, where == LISTPACK_AFTER ? at + 1 : at, val);
            } else if (what < 60 && m.n > 0) {
                size_t at = (size_t)rand() % m.n;
                unsigned char *p = listpack_seek(lp, (long)at);
                lp = listpack_replace(lp, &p, val, len);
                cr_assert_str_eq(str_of(p), val);
                free(m.items[at]);
                m.items[at] = strdup(val);
            } else if (what < 75 && m.n > 0) {
                size_t at = (size_t)rand() % m.n;
                unsigned char *p = listpack_seek(lp, (long)at);
                lp = listpack_delete(lp, &p);
                model_delete(&m, at, 1);
                if (at < m.n) {
                    cr_assert_str_eq(str_of(p), m.items[at]);
                } else {
                    cr_assert_null(p);
                }
            } else if (what < 80 && m.n > 0) {
                size_t at = (size_t)rand() % m.n;
                size_t count = (size_t)rand() % 5;
                lp = listpack_delete_range(lp, (long)at - (long)m.n, count);
                model_delete(&m, at, count);
            } else if (what < 90 && m.n > 0) {
                /* find: the model's first match from a random start. */
                size_t from = (size_t)rand() % m.n;
                const char *needle = rand() % 2 ? val
                                     : m.items[(size_t)rand() % m.n];
                size_t want = m.n;
                for (size_t i = from; i < m.n; i++) {
                    if (strcmp(m.items[i], needle) == 0) {
                        want = i;
                        break;
                    }
                }
                unsigned char *got = listpack_find(
                    lp, listpack_seek(lp, (long)from), needle, strlen(needle),
                    0);
                if (want == m.n) {
                    cr_assert_null(got);
                } else {
                    cr_assert_eq(got, listpack_seek(lp, (long)want));
                }
            } else if (m.n > 0) {
                long idx = rand() % (2 * (long)m.n + 4) - (long)m.n - 2;
                unsigned char *p = listpack_seek(lp, idx);
                long norm = idx < 0 ? idx + (long)m.n : idx;
                if (norm < 0 || norm >= (long)m.n) {
                    cr_assert_null(p);
                } else {
                    cr_assert_str_eq(str_of(p), m.items[norm]);
                }
            }
            /* Keep it from growing without bound. */
            if (m.n > 300) {
                lp = listpack_delete_range(lp, 0, 100);
                model_delete(&m, 0, 100);
            }
        }
        check_against_model(lp, &m);
    }
    model_delete(&m, 0, m.n);
    free(m.items);
    free(val);
    listpack_free(lp);
}

Test(listpack, encoded_size_predicts_the_element_and_in_place_replace)
{
    /* Strings across the 6/12/32-bit headers and backlen widths, canonical
     * integers of every width, and non-canonical ones that stay strings. */
    static char big[5000];
    memset(big, 'x', sizeof(big));
    const char *samples[] = {"", "a", "0", "127", "128", "-4096", "4095", "32767",
                             "-8388608", "2147483647", "9223372036854775807",
                             "007", "+1", "0000000000000123"};
    size_t lens[] = {0, 63, 64, 126, 127, 4095, 4096, 5000};
    unsigned char *lp = listpack_new();
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        lp = listpack_append(lp, samples[i], strlen(samples[i]));
        cr_assert_eq(listpack_encoded_size(samples[i], strlen(samples[i])),
                     listpack_element_size(listpack_last(lp)), "%s", samples[i]);
    }
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        lp = listpack_append(lp, big, lens[i]);
        cr_assert_eq(listpack_encoded_size(big, lens[i]),
                     listpack_element_size(listpack_last(lp)), "%zu bytes", lens[i]);
    }
    /* Equal sizes: listpack_replace rewrites in place, the handle stays. */
    unsigned char *p = listpack_first(lp);
    p = listpack_next(lp, p);          /* "a" */
    cr_assert_eq(listpack_encoded_size("b", 1), listpack_element_size(p));
    unsigned char *same = listpack_replace(lp, &p, "b", 1);
    cr_assert_eq(same, lp);
    cr_assert_str_eq(str_of(listpack_next(lp, listpack_first(lp))), "b");
    listpack_free(lp);
}
