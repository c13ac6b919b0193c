/* The latency histogram: bucket geometry, and percentiles and rows equal
 * to what redis-server 7.0 reports for the same durations. */
#include "ds/lathist.h"

#include <criterion/criterion.h>

Test(lathist, buckets_tile_the_range_without_gaps)
{
    size_t last = lathist_index(LATHIST_MAX_NS);
    for (size_t i = 1; i <= last; i++) {
        cr_assert_eq(lathist_lowest(i), lathist_highest(i - 1) + 1, "bucket %zu", i);
        cr_assert_eq(lathist_index(lathist_lowest(i)), i);
        cr_assert_eq(lathist_index(lathist_highest(i)), i);
    }
    cr_assert_lt(lathist_index(LATHIST_MAX_NS), LATHIST_SLOTS);
    cr_assert_eq(lathist_index(0), 1, "clamped to 1 ns");
    cr_assert_eq(lathist_index(LATHIST_MAX_NS * 5), lathist_index(LATHIST_MAX_NS));
}

Test(lathist, the_fast_table_is_the_formula)
{
    cr_assert_eq(lathist_fast_index[0], lathist_index(1), "0 us is 1 ns, as in Redis");
    for (long long us = 1; us < LATHIST_FAST_US; us++) {
        cr_assert_eq(lathist_fast_index[us], lathist_index(us * 1000), "%lld us", us);
    }
    /* Both paths of lathist_record_us agree around the switch. */
    for (long long us = 0; us < 4 * LATHIST_FAST_US; us++) {
        struct lathist *h = lathist_create();
        lathist_record_us(h, us);
        cr_assert_eq(h->counts[lathist_index(us ? us * 1000 : 1)], 1, "%lld us", us);
        lathist_destroy(&h);
    }
}

Test(lathist, a_bucket_is_at_most_one_128th_of_its_values)
{
    for (size_t i = 256; i < LATHIST_SLOTS; i++) {
        long long w = lathist_highest(i) - lathist_lowest(i) + 1;
        cr_assert_leq(w * 128, lathist_lowest(i), "bucket %zu", i);
    }
}

/* Pairs (usec recorded, p50 in ns) read from redis-server 7.0's INFO
 * latencystats after one call of that duration. */
Test(lathist, percentiles_are_redis_values)
{
    static const long long cases[][2] = {
        {1, 1003}, {3, 3007}, {18, 18047}, {47, 47103}, {52, 52223},
        {68, 68095}, {77, 77311}, {116, 116223}, {171, 171007}, {2162, 2162687},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct lathist *h = lathist_create();
        lathist_record_us(h, cases[k][0]);
        cr_assert_eq(lathist_percentile(h, 50), cases[k][1], "%lld us", cases[k][0]);
        cr_assert_eq(lathist_percentile(h, 100), cases[k][1]);
        lathist_destroy(&h);
        cr_assert_null(h);
    }
    struct lathist *h = lathist_create();
    lathist_record_us(h, 2162);
    cr_assert_eq(lathist_percentile(h, 0), 2146304, "p0 is the bucket's lowest value");
    lathist_destroy(&h);
}

Test(lathist, percentile_ranks_round_as_hdr)
{
    struct lathist *h = lathist_create();
    for (int i = 0; i < 99; i++) {
        lathist_record_us(h, 1);
    }
    lathist_record_us(h, 1000);
    cr_assert_eq(lathist_percentile(h, 50), 1003);
    cr_assert_eq(lathist_percentile(h, 99), 1003);
    cr_assert_eq(lathist_percentile(h, 99.9), lathist_highest(lathist_index(1000000)));
    cr_assert_eq(lathist_percentile(h, 0), 1000);
    lathist_destroy(&h);
    h = lathist_create();
    cr_assert_eq(lathist_percentile(h, 50), 0, "empty");
    lathist_destroy(&h);
}

/* Redis's LATENCY HISTOGRAM after one call of 3, 18 and 2162 usec: rows
 * 4, 33 and 4227 (each with a count of 1). */
Test(lathist, rows_are_redis_rows)
{
    long long us[40];
    uint64_t cum[40];
    struct lathist *h = lathist_create();
    lathist_record_us(h, 3);
    lathist_record_us(h, 18);
    lathist_record_us(h, 18);
    lathist_record_us(h, 2162);
    size_t n = lathist_rows(h, us, cum, 40);
    cr_assert_eq(n, 3);
    cr_assert_eq(us[0], 4);
    cr_assert_eq(cum[0], 1);
    cr_assert_eq(us[1], 33);
    cr_assert_eq(cum[1], 3);
    cr_assert_eq(us[2], 4227);
    cr_assert_eq(cum[2], 4);
    lathist_destroy(&h);
}

Test(lathist, a_duration_past_the_last_row_is_in_no_row)
{
    long long us[40];
    uint64_t cum[40];
    struct lathist *h = lathist_create();
    lathist_record_us(h, 900000); /* 0.9 s: past 2^29 ns and its bucket */
    cr_assert_eq(lathist_total(h), 1);
    cr_assert_eq(lathist_rows(h, us, cum, 40), 0);
    lathist_destroy(&h);
}
