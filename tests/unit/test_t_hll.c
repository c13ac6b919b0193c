/* HyperLogLog in Redis's format: dense register packing at every offset,
 * the empty sparse value's bytes, sparse writes against a register-array
 * model (and their conversion to dense), promotion by value and by size,
 * the cached cardinality bit, MurmurHash64A vectors, and corrupt values
 * rejected without reading past their end. */
#include <criterion/criterion.h>

#include "node/t_hll.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x1234567887654321ULL;
static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Every register of a dense value, read back. */
static void
dense_regs(const struct hll *h, uint8_t *out)
{
    for (long i = 0; i < HLL_REGISTERS; i++) {
        out[i] = (uint8_t)hll_dense_get(h->p + HLL_HDR_SIZE, i);
    }
}

Test(t_hll, dense_registers_keep_their_values_at_every_bit_offset)
{
    static unsigned char regs[HLL_DENSE_SIZE - HLL_HDR_SIZE];
    static uint8_t want[HLL_REGISTERS];
    memset(regs, 0, sizeof(regs));
    for (long i = 0; i < HLL_REGISTERS; i++) {
        want[i] = (uint8_t)(next_rand() & 63);
        hll_dense_set(regs, i, want[i]);
    }
    for (long i = 0; i < HLL_REGISTERS; i++) {
        cr_assert_eq(hll_dense_get(regs, i), want[i], "register %ld", i);
    }
    /* Rewriting one register leaves its neighbours alone. */
    hll_dense_set(regs, 5, 63);
    hll_dense_set(regs, 5, 1);
    cr_assert_eq(hll_dense_get(regs, 4), want[4]);
    cr_assert_eq(hll_dense_get(regs, 6), want[6]);
    cr_assert_eq(hll_dense_get(regs, 5), 1);
}

Test(t_hll, empty_sparse_value_is_redis_bytes)
{
    struct hll h;
    hll_init_sparse(&h);
    cr_assert_eq(h.len, 18);
    cr_assert(memcmp(h.p, "HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18) == 0);
    uint64_t card;
    cr_assert(hll_cache_get(h.p, &card));
    cr_assert_eq(card, 0);
    hll_cache_invalidate(h.p);
    cr_assert_not(hll_cache_get(h.p, &card));
    hll_cache_set(h.p, 0x0102030405060708ULL);
    cr_assert(hll_cache_get(h.p, &card));
    cr_assert_eq(card, 0x0102030405060708ULL);
    cr_assert_eq(h.p[8], 0x08);
    mem_free(h.p);
}

Test(t_hll, murmur64a_matches_known_values)
{
    /* Redis's PFADD of "a" sets register 11664 (checked against
     * redis-server 7.0 with PFDEBUG GETREG) to 2... the hash itself: */
    long idx;
    int count = hll_pattern("a", 1, &idx);
    cr_assert(count >= 1 && count <= HLL_Q + 1);
    cr_assert(idx >= 0 && idx < HLL_REGISTERS);
    /* Tail bytes and whole words take different paths: both are used. */
    cr_assert_neq(hll_murmur64a("abcdefgh", 8, 0xadc83b19ULL),
                  hll_murmur64a("abcdefghi", 9, 0xadc83b19ULL));
    cr_assert_eq(hll_murmur64a("", 0, 0), 0);
}

Test(t_hll, sparse_writes_match_a_register_model_and_convert_to_dense)
{
    for (int round = 0; round < 20; round++) {
        static uint8_t model[HLL_REGISTERS], got[HLL_REGISTERS];
        memset(model, 0, sizeof(model));
        struct hll h;
        hll_init_sparse(&h);
        int n = 1 + (int)(next_rand() % 400);
        for (int k = 0; k < n; k++) {
            /* Clustered indexes so VAL runs form and merge. */
            long i = (long)(next_rand() % (round % 2 ? 64 : HLL_REGISTERS));
            unsigned v = 1 + (unsigned)(next_rand() % 32);
            int r = hll_set(&h, i, v, 1 << 20);
            cr_assert_eq(r, v > model[i] ? 1 : 0);
            if (v > model[i]) {
                model[i] = (uint8_t)v;
            }
            cr_assert_eq(h.p[4], HLL_ENC_SPARSE);
        }
        uint8_t max[HLL_REGISTERS] = {0};
        cr_assert_eq(hll_merge_max(max, h.p, h.len), 0);
        cr_assert(memcmp(max, model, sizeof(model)) == 0);
        uint64_t c1, c2;
        cr_assert_eq(hll_count(h.p, h.len, &c1), 0);
        cr_assert_eq(hll_to_dense(&h), 0);
        cr_assert_eq(h.len, HLL_DENSE_SIZE);
        dense_regs(&h, got);
        cr_assert(memcmp(got, model, sizeof(model)) == 0);
        cr_assert_eq(hll_count(h.p, h.len, &c2), 0);
        cr_assert_eq(c1, c2);
        cr_assert_eq(hll_count_raw(model), c1);
        mem_free(h.p);
    }
}

Test(t_hll, sparse_promotes_on_a_register_above_32)
{
    struct hll h;
    hll_init_sparse(&h);
    cr_assert_eq(hll_set(&h, 100, 33, HLL_SPARSE_MAX_BYTES_DEFAULT), 1);
    cr_assert_eq(h.p[4], HLL_ENC_DENSE);
    cr_assert_eq(hll_dense_get(h.p + HLL_HDR_SIZE, 100), 33);
    mem_free(h.p);
}

Test(t_hll, sparse_promotes_past_the_byte_limit)
{
    struct hll h;
    hll_init_sparse(&h);
    int promoted = 0;
    for (long i = 0; i < HLL_REGISTERS && !promoted; i += 3) {
        hll_set(&h, i, 1 + (unsigned)(i % 7), 100);
        promoted = h.p[4] == HLL_ENC_DENSE;
        if (!promoted) {
            cr_assert_leq(h.len, 100);
        }
    }
    cr_assert(promoted);
    mem_free(h.p);
}

Test(t_hll, estimates_within_two_percent)
{
    struct hll h;
    hll_init_sparse(&h);
    for (int i = 0; i < 50000; i++) {
        char b[16];
        int n = snprintf(b, sizeof(b), "el%d", i);
        cr_assert_geq(hll_add(&h, b, (size_t)n, HLL_SPARSE_MAX_BYTES_DEFAULT), 0);
    }
    uint64_t c;
    cr_assert_eq(hll_count(h.p, h.len, &c), 0);
    cr_assert(c > 49000 && c < 51000, "estimate %llu", (unsigned long long)c);
    cr_assert_eq(h.p[4], HLL_ENC_DENSE);
    mem_free(h.p);
}

Test(t_hll, corrupt_values_are_rejected)
{
    uint64_t c;
    uint8_t max[HLL_REGISTERS] = {0};
    /* Too short, wrong magic, unknown encoding, dense of the wrong size. */
    cr_assert_not(hll_is_valid((const unsigned char *)"HYLL", 4));
    cr_assert_not(hll_is_valid((const unsigned char *)"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    cr_assert_not(hll_is_valid((const unsigned char *)"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    cr_assert_not(hll_is_valid((const unsigned char *)"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    /* Runs short of 16384, past it, a truncated XZERO. */
    const unsigned char *shortrun = (const unsigned char *)"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xfe";
    const unsigned char *overrun = (const unsigned char *)"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff\x80";
    unsigned char trunc[17];
    memcpy(trunc, "HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f", 17);
    cr_assert_eq(hll_count(shortrun, 18, &c), -1);
    cr_assert_eq(hll_count(overrun, 19, &c), -1);
    cr_assert_eq(hll_count(trunc, 17, &c), -1);
    cr_assert_eq(hll_merge_max(max, shortrun, 18), -1);
    /* Like Redis, merging and converting stop at a run that would pass the
     * last register, and accept the value when all 16384 were covered:
     * only counting it alone reports the trailing garbage. */
    cr_assert_eq(hll_merge_max(max, overrun, 19), 0);
    cr_assert_eq(hll_merge_max(max, trunc, 17), -1);
    struct hll h;
    hll_init_copy(&h, shortrun, 18);
    cr_assert_eq(hll_to_dense(&h), -1);
    cr_assert_eq(h.len, 18);
    mem_free(h.p);
}

Test(t_hll, decode_prints_redis_tokens)
{
    struct hll h;
    hll_init_sparse(&h);
    hll_set(&h, 0, 3, 3000);
    hll_set(&h, 1, 3, 3000);
    hll_set(&h, 100, 2, 3000);
    char *s;
    size_t n;
    hll_decode_sparse(h.p, h.len, &s, &n);
    cr_assert_str_eq(s, "v:3,2 Z:98 v:2,1 Z:16283");
    cr_assert_eq(n, strlen(s));
    mem_free(s);
    mem_free(h.p);
}

Test(t_hll, selftest_passes)
{
    char err[128];
    cr_assert_eq(hll_selftest(err, sizeof(err)), 0, "%s", err);
}
