/* intset: widths and upgrades, ordering at the 64-bit limits, removal,
 * blob validation, and a randomized run against a sorted-array model. */
#include <criterion/criterion.h>

#include "ds/intset.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

static void
check_sorted(const struct intset *is)
{
    for (size_t i = 1; i < intset_len(is); i++) {
        cr_assert_lt(intset_get(is, i - 1), intset_get(is, i));
    }
    cr_assert(intset_validate(is, intset_blob_len(is)));
}

Test(intset, starts_empty_at_16_bits)
{
    struct intset *is = intset_create();
    cr_assert_eq(intset_len(is), 0);
    cr_assert_eq(is->width, 2);
    cr_assert_not(intset_contains(is, 0));
    cr_assert(intset_validate(is, intset_blob_len(is)));
    intset_destroy(&is);
    cr_assert_null(is);
}

Test(intset, add_keeps_members_sorted_and_distinct)
{
    struct intset *is = intset_create();
    int64_t vals[] = {5, -3, 100, 0, 5, -3, 7};
    int added = 0;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        added += intset_add(&is, vals[i]);
    }
    cr_assert_eq(added, 5);
    int64_t want[] = {-3, 0, 5, 7, 100};
    cr_assert_eq(intset_len(is), 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(intset_get(is, i), want[i]);
    }
    intset_destroy(&is);
}

Test(intset, upgrades_width_for_wider_values_at_either_end)
{
    struct intset *is = intset_create();
    intset_add(&is, 1);
    intset_add(&is, -1);
    cr_assert_eq(is->width, 2);
    intset_add(&is, 70000);
    cr_assert_eq(is->width, 4);
    cr_assert_eq(intset_max(is), 70000);
    intset_add(&is, INT64_MIN);
    cr_assert_eq(is->width, 8);
    cr_assert_eq(intset_min(is), INT64_MIN);
    intset_add(&is, INT64_MAX);
    cr_assert_eq(intset_max(is), INT64_MAX);
    cr_assert_eq(intset_len(is), 5);
    cr_assert(intset_contains(is, -1));
    cr_assert(intset_contains(is, 1));
    cr_assert(intset_contains(is, 70000));
    check_sorted(is);
    /* Never downgraded, as in Redis. */
    intset_remove(&is, INT64_MIN);
    intset_remove(&is, INT64_MAX);
    cr_assert_eq(is->width, 8);
    check_sorted(is);
    intset_destroy(&is);
}

Test(intset, contains_rejects_values_wider_than_the_set)
{
    struct intset *is = intset_create();
    intset_add(&is, 3);
    cr_assert_not(intset_contains(is, 3 + 65536));
    cr_assert_not(intset_contains(is, INT64_MAX));
    cr_assert_eq(intset_remove(&is, INT64_MAX), 0);
    intset_destroy(&is);
}

Test(intset, remove_reports_whether_present)
{
    struct intset *is = intset_create();
    for (int i = 0; i < 10; i++) {
        intset_add(&is, i * 2);
    }
    cr_assert_eq(intset_remove(&is, 3), 0);
    cr_assert_eq(intset_remove(&is, 4), 1);
    cr_assert_eq(intset_remove(&is, 4), 0);
    cr_assert_eq(intset_len(is), 9);
    for (int i = 0; i < 10; i++) {
        intset_remove(&is, i * 2);
    }
    cr_assert_eq(intset_len(is), 0);
    intset_destroy(&is);
}

Test(intset, copy_is_independent)
{
    struct intset *a = intset_create();
    intset_add(&a, 1);
    intset_add(&a, 1000000);
    struct intset *b = intset_copy(a);
    intset_add(&a, 2);
    cr_assert_eq(intset_len(b), 2);
    cr_assert_eq(intset_len(a), 3);
    intset_destroy(&a);
    intset_destroy(&b);
}

Test(intset, validate_rejects_bad_blobs)
{
    struct intset *is = intset_create();
    intset_add(&is, 1);
    intset_add(&is, 2);
    size_t n = intset_blob_len(is);
    unsigned char buf[64];
    memcpy(buf, is, n);
    cr_assert(intset_validate(buf, n));
    cr_assert_not(intset_validate(buf, n - 1));     /* truncated */
    cr_assert_not(intset_validate(buf, n + 2));     /* trailing bytes */
    cr_assert_not(intset_validate(buf, 3));         /* shorter than a header */
    struct intset hdr;
    memcpy(&hdr, buf, sizeof(hdr));
    hdr.width = 3;                                  /* unknown width */
    memcpy(buf, &hdr, sizeof(hdr));
    cr_assert_not(intset_validate(buf, n));
    hdr.width = 2;
    hdr.length = 3;                                 /* count does not match */
    memcpy(buf, &hdr, sizeof(hdr));
    cr_assert_not(intset_validate(buf, n));
    hdr.length = 2;
    memcpy(buf, &hdr, sizeof(hdr));
    int16_t two = 2;                                /* not ascending: 2, 2 */
    memcpy(buf + sizeof(hdr), &two, 2);
    cr_assert_not(intset_validate(buf, n));
    cr_assert_null(intset_from_blob(buf, n));
    intset_destroy(&is);
}

/* Model: a sorted array without duplicates. */
static size_t
model_find(const int64_t *m, size_t n, int64_t v, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < n && m[lo] == v;
    return lo;
}

static int64_t
random_value(void)
{
    switch (random() % 4) {
    case 0:
        return (int64_t)(random() % 200) - 100;
    case 1:
        return (int64_t)(random() % 200000) - 100000;
    case 2:
        return ((int64_t)random() << 32 | (int64_t)random()) * (random() & 1 ? 1 : -1);
    default:
        return random() & 1 ? INT64_MAX - random() % 3 : INT64_MIN + random() % 3;
    }
}

Test(intset, randomized_against_a_sorted_array_model)
{
    enum { OPS = 20000, CAP = 20000 };
    int64_t *m = malloc(CAP * sizeof(*m));
    size_t n = 0;
    struct intset *is = intset_create();
    srandom(11);
    for (int op = 0; op < OPS; op++) {
        int64_t v = random_value();
        int found;
        size_t pos = model_find(m, n, v, &found);
        int r = (int)(random() % 10);
        if (r < 6) {
            cr_assert_eq(intset_add(&is, v), !found);
            if (!found) {
                memmove(m + pos + 1, m + pos, (n - pos) * sizeof(*m));
                m[pos] = v;
                n++;
            }
        } else if (r < 9) {
            cr_assert_eq(intset_remove(&is, v), found);
            if (found) {
                memmove(m + pos, m + pos + 1, (n - pos - 1) * sizeof(*m));
                n--;
            }
        } else {
            cr_assert_eq(intset_contains(is, v), found);
        }
        cr_assert_eq(intset_len(is), n);
        if (op % 1000 == 0) {
            for (size_t i = 0; i < n; i++) {
                cr_assert_eq(intset_get(is, i), m[i]);
            }
            check_sorted(is);
        }
    }
    intset_destroy(&is);
    free(m);
}
