/* Bit operations on string values: popcount and bit search against a
 * bit-by-bit model at every alignment, BITOP over unequal lengths, and
 * BITFIELD's integer fields and WRAP/SAT/FAIL overflow arithmetic at the
 * limits of each width. */
#include <criterion/criterion.h>

#include "node/t_bits.h"

#include <stdint.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;
static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int
bit_at(const unsigned char *p, size_t i)
{
    return (p[i >> 3] >> (7 - (i & 7))) & 1;
}

Test(t_bits, popcount_and_pos_match_a_bit_model)
{
    unsigned char buf[300];
    for (int round = 0; round < 200; round++) {
        int density = round % 4;
        for (size_t i = 0; i < sizeof(buf); i++) {
            uint8_t r = (uint8_t)next_rand();
            buf[i] = density == 0 ? 0 : density == 1 ? 0xff : density == 2 ? r : (r & (uint8_t)next_rand() & (uint8_t)next_rand());
        }
        size_t off = next_rand() % 40, len = next_rand() % (sizeof(buf) - off);
        if (round % 17 == 0 && len > 0) {
            buf[off + len - 1] ^= 0x01;   /* a lone change at the end */
        }
        uint64_t want = 0;
        long long first1 = -1, first0 = -1;
        for (size_t i = 0; i < len * 8; i++) {
            int b = bit_at(buf + off, i);
            want += (uint64_t)b;
            if (b && first1 < 0) {
                first1 = (long long)i;
            }
            if (!b && first0 < 0) {
                first0 = (long long)i;
            }
        }
        cr_assert_eq(bits_popcount(buf + off, len), want);
        cr_assert_eq(bits_pos(buf + off, len, 1), first1);
        cr_assert_eq(bits_pos(buf + off, len, 0), first0 < 0 ? (long long)len * 8 : first0);
    }
}

/* Long runs are skipped 256 bytes at a time: one differing bit anywhere in
 * a long uniform buffer, at every alignment, is still found where it is. */
Test(t_bits, pos_finds_a_lone_bit_after_a_long_run)
{
    static unsigned char buf[4096];
    for (int round = 0; round < 400; round++) {
        int bit = round & 1;
        memset(buf, bit ? 0x00 : 0xff, sizeof(buf));
        size_t off = next_rand() % 64, len = 1 + next_rand() % (sizeof(buf) - off - 1);
        long long want = bit ? -1 : (long long)len * 8;
        if (round % 5 != 0) {   /* every fifth round: no such bit at all */
            size_t at = next_rand() % (len * 8);
            buf[off + at / 8] ^= (unsigned char)(0x80 >> (at % 8));
            want = (long long)at;
        }
        cr_assert_eq(bits_pos(buf + off, len, bit), want, "round %d", round);
    }
}

Test(t_bits, bitop_reads_short_sources_as_zeros)
{
    unsigned char a[37], b[20], out[37];
    for (size_t i = 0; i < sizeof(a); i++) {
        a[i] = (unsigned char)next_rand();
    }
    for (size_t i = 0; i < sizeof(b); i++) {
        b[i] = (unsigned char)next_rand();
    }
    const unsigned char *src[2] = {a, b};
    size_t len[2] = {sizeof(a), sizeof(b)};
    static const enum bits_op ops[] = {BITS_AND, BITS_OR, BITS_XOR};
    for (size_t k = 0; k < 3; k++) {
        bits_op(ops[k], out, sizeof(a), src, len, 2);
        for (size_t i = 0; i < sizeof(a); i++) {
            unsigned char y = i < sizeof(b) ? b[i] : 0;
            unsigned char want = ops[k] == BITS_AND ? (a[i] & y) : ops[k] == BITS_OR ? (a[i] | y) : (a[i] ^ y);
            cr_assert_eq(out[i], want, "op %zu byte %zu", k, i);
        }
    }
    bits_op(BITS_NOT, out, sizeof(a), src, len, 1);
    for (size_t i = 0; i < sizeof(a); i++) {
        cr_assert_eq(out[i], (unsigned char)~a[i]);
    }
}

Test(t_bits, fields_round_trip_at_every_width_and_offset)
{
    unsigned char buf[24];
    for (int bits = 1; bits <= 64; bits++) {
        for (uint64_t off = 0; off < 40; off += 3) {
            memset(buf, 0xa5, sizeof(buf));
            uint64_t v = next_rand();
            if (bits < 64) {
                v &= (UINT64_MAX >> (64 - bits));
            }
            bits_set_unsigned(buf, off, bits, v);
            cr_assert_eq(bits_get_unsigned(buf, off, bits), v);
            /* Bits outside the field are untouched. */
            if (off > 0) {
                cr_assert_eq(bit_at(buf, off - 1), bit_at((const unsigned char *)"\xa5\xa5\xa5\xa5\xa5\xa5", (off - 1) % 8));
            }
            int64_t s = bits_get_signed(buf, off, bits);
            if (bits < 64 && (v >> (bits - 1)) & 1) {
                cr_assert_lt(s, 0);
            }
        }
    }
}

Test(t_bits, unsigned_overflow_wraps_saturates_or_fails)
{
    uint64_t lim;
    cr_assert_eq(bits_overflow_unsigned(250, 10, 8, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, 4);
    cr_assert_eq(bits_overflow_unsigned(250, 10, 8, BITS_OVERFLOW_SAT, &lim), 1);
    cr_assert_eq(lim, 255);
    cr_assert_eq(bits_overflow_unsigned(5, -10, 8, BITS_OVERFLOW_SAT, &lim), -1);
    cr_assert_eq(lim, 0);
    cr_assert_eq(bits_overflow_unsigned(5, -10, 8, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, 251);
    cr_assert(bits_overflow_unsigned(5, -10, 8, BITS_OVERFLOW_FAIL, &lim) != 0);
    cr_assert_eq(bits_overflow_unsigned(5, 250, 8, BITS_OVERFLOW_FAIL, &lim), 0);
    /* u63 at its top. */
    uint64_t max63 = UINT64_MAX >> 1;
    cr_assert_eq(bits_overflow_unsigned(max63, 1, 63, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, 0);
    cr_assert_eq(bits_overflow_unsigned(max63 - 1, 1, 63, BITS_OVERFLOW_SAT, &lim), 0);
}

Test(t_bits, signed_overflow_wraps_saturates_or_fails)
{
    int64_t lim;
    cr_assert_eq(bits_overflow_signed(100, 100, 8, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, -56);
    cr_assert_eq(bits_overflow_signed(100, 100, 8, BITS_OVERFLOW_SAT, &lim), 1);
    cr_assert_eq(lim, 127);
    cr_assert_eq(bits_overflow_signed(-100, -100, 8, BITS_OVERFLOW_SAT, &lim), -1);
    cr_assert_eq(lim, -128);
    cr_assert_eq(bits_overflow_signed(-100, -100, 8, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, 56);
    cr_assert_eq(bits_overflow_signed(-128, 255, 8, BITS_OVERFLOW_FAIL, &lim), 0);
    /* i64 at both ends: no undefined arithmetic, Redis's results. */
    cr_assert_eq(bits_overflow_signed(INT64_MAX, 1, 64, BITS_OVERFLOW_WRAP, &lim), 1);
    cr_assert_eq(lim, INT64_MIN);
    cr_assert_eq(bits_overflow_signed(INT64_MIN, -1, 64, BITS_OVERFLOW_SAT, &lim), -1);
    cr_assert_eq(lim, INT64_MIN);
    cr_assert_eq(bits_overflow_signed(INT64_MIN, INT64_MAX, 64, BITS_OVERFLOW_FAIL, &lim), 0);
    cr_assert_eq(bits_overflow_signed(0, INT64_MIN, 64, BITS_OVERFLOW_FAIL, &lim), 0);
    cr_assert_eq(bits_overflow_signed(-1, INT64_MIN, 64, BITS_OVERFLOW_FAIL, &lim), -1);
    /* i1 holds -1 and 0. */
    cr_assert_eq(bits_overflow_signed(0, 1, 1, BITS_OVERFLOW_SAT, &lim), 1);
    cr_assert_eq(lim, 0);
}
