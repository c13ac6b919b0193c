/* Bit-level operations on string values: population count and bit search a
 * 64-bit word at a time (the compiler turns __builtin_popcountll into
 * POPCNT where the target has it), BITOP a word at a time over the common
 * prefix of the sources, and BITFIELD's integer fields and overflow rules
 * (Redis's WRAP/SAT/FAIL semantics). */
#include "node/t_bits.h"

#include <string.h>

static inline uint64_t
bits_load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* On x86-64 the default target has no POPCNT instruction: build a POPCNT
 * (and an AVX2) clone too, picked at load time by the CPU it runs on.  Not
 * under ThreadSanitizer: the clone resolver runs during relocation, before
 * the TSan runtime exists, and its instrumented code crashes there. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) \
    && !defined(__SANITIZE_THREAD__)
#define BITS_CLONES __attribute__((target_clones("avx2", "popcnt", "default")))
#else
#define BITS_CLONES
#endif

BITS_CLONES uint64_t
bits_popcount(const unsigned char *p, size_t len)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;

    /* Four independent accumulators keep the POPCNT units busy. */
    for (; i + 32 <= len; i += 32) {
        a += (uint64_t)__builtin_popcountll(bits_load64(p + i));
        b += (uint64_t)__builtin_popcountll(bits_load64(p + i + 8));
        c += (uint64_t)__builtin_popcountll(bits_load64(p + i + 16));
        d += (uint64_t)__builtin_popcountll(bits_load64(p + i + 24));
    }
    for (; i + 8 <= len; i += 8) {
        a += (uint64_t)__builtin_popcountll(bits_load64(p + i));
    }
    for (; i < len; i++) {
        a += (uint64_t)__builtin_popcount(p[i]);
    }
    return a + b + c + d;
}

/* The length of the prefix of p made of whole 256-byte blocks whose bits are
 * all !bit.  A block is folded with OR (or AND) in a plain loop the
 * compiler vectorizes, and tested once: a long run of zeros is read at
 * memory speed, not one branch per word. */
BITS_CLONES static size_t
bits_skip_blocks(const unsigned char *p, size_t len, int bit)
{
    size_t i = 0;

    while (i + 256 <= len) {
        uint64_t any = 0, all = UINT64_MAX;
        for (size_t j = 0; j < 256; j += 8) {
            uint64_t w = bits_load64(p + i + j);
            any |= w;
            all &= w;
        }
        if (bit ? any != 0 : all != UINT64_MAX) {
            break;
        }
        i += 256;
    }
    return i;
}

long long
bits_pos(const unsigned char *p, size_t len, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;
    uint64_t skipw = bit ? 0 : UINT64_MAX;
    size_t i = bits_skip_blocks(p, len, bit);

    /* 32 bytes a time while all of them are to skip. */
    while (i + 32 <= len) {
        uint64_t a = bits_load64(p + i), b = bits_load64(p + i + 8);
        uint64_t c = bits_load64(p + i + 16), d = bits_load64(p + i + 24);
        if ((bit ? (a | b | c | d) : (a & b & c & d)) != skipw) {
            break;
        }
        i += 32;
    }
    while (i + 8 <= len && bits_load64(p + i) == skipw) {
        i += 8;
    }
    while (i < len && p[i] == skip) {
        i++;
    }
    if (i == len) {
        return bit ? -1 : (long long)len * 8;
    }
    unsigned char v = bit ? p[i] : (unsigned char)~p[i];
    /* v != 0: its highest set bit is the first wanted one. */
    return (long long)i * 8 + (__builtin_clz((unsigned)v) - 24);
}

/* The common two-source case over their common prefix: plain loops the
 * compiler vectorizes (the AVX2 clone 32 bytes at a time). */
BITS_CLONES static void
bits_op2(enum bits_op op, unsigned char *restrict dst, const unsigned char *restrict a,
         const unsigned char *restrict b, size_t n)
{
    switch (op) {
    case BITS_AND:
        for (size_t j = 0; j < n; j++) {
            dst[j] = a[j] & b[j];
        }
        break;
    case BITS_OR:
        for (size_t j = 0; j < n; j++) {
            dst[j] = a[j] | b[j];
        }
        break;
    case BITS_XOR:
        for (size_t j = 0; j < n; j++) {
            dst[j] = a[j] ^ b[j];
        }
        break;
    case BITS_NOT:
        for (size_t j = 0; j < n; j++) {
            dst[j] = (unsigned char)~a[j];
        }
        break;
    }
}

void
bits_op(enum bits_op op, unsigned char *dst, size_t maxlen,
        const unsigned char *const *src, const size_t *len, size_t n)
{
    size_t minlen = maxlen;
    for (size_t k = 0; k < n; k++) {
        if (len[k] < minlen) {
            minlen = len[k];
        }
    }
    size_t j = 0;
    if (op == BITS_NOT || n == 2) {
        bits_op2(op, dst, src[0], n == 2 ? src[1] : src[0], minlen);
        j = minlen;
    }
    /* Where every source has bytes, a word at a time. */
    if (op == BITS_NOT) {
        for (; j + 8 <= minlen; j += 8) {
            uint64_t w = ~bits_load64(src[0] + j);
            memcpy(dst + j, &w, 8);
        }
    } else {
        for (; j + 8 <= minlen; j += 8) {
            uint64_t w = bits_load64(src[0] + j);
            for (size_t k = 1; k < n; k++) {
                uint64_t x = bits_load64(src[k] + j);
                w = op == BITS_AND ? (w & x) : op == BITS_OR ? (w | x) : (w ^ x);
            }
            memcpy(dst + j, &w, 8);
        }
    }
    for (; j < maxlen; j++) {
        unsigned char out = len[0] > j ? src[0][j] : 0;
        if (op == BITS_NOT) {
            out = (unsigned char)~out;
        }
        for (size_t k = 1; k < n; k++) {
            unsigned char x = len[k] > j ? src[k][j] : 0;
            out = op == BITS_AND ? (out & x) : op == BITS_OR ? (out | x) : (out ^ x);
        }
        dst[j] = out;
    }
}

uint64_t
bits_get_unsigned(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++) {
        unsigned b = (p[offset >> 3] >> (7 - (offset & 7))) & 1;
        v = (v << 1) | b;
    }
    return v;
}

int64_t
bits_get_signed(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = bits_get_unsigned(p, offset, bits);
    if (bits < 64 && (v & ((uint64_t)1 << (bits - 1)))) {
        v |= UINT64_MAX << bits;
    }
    return (int64_t)v;
}

void
bits_set_unsigned(unsigned char *p, uint64_t offset, int bits, uint64_t value)
{
    for (int j = 0; j < bits; j++, offset++) {
        unsigned b = (unsigned)(value >> (bits - 1 - j)) & 1;
        unsigned char mask = (unsigned char)(1u << (7 - (offset & 7)));
        if (b) {
            p[offset >> 3] |= mask;
        } else {
            p[offset >> 3] &= (unsigned char)~mask;
        }
    }
}

int
bits_overflow_unsigned(uint64_t value, int64_t incr, int bits,
                       enum bits_overflow ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int r;

    if (value > max || (incr > 0 && incr > maxincr)) {
        r = 1;
        if (ow == BITS_OVERFLOW_SAT) {
            *limit = max;
            return r;
        }
    } else if (incr < 0 && incr < minincr) {
        r = -1;
        if (ow == BITS_OVERFLOW_SAT) {
            *limit = 0;
            return r;
        }
    } else {
        return 0;
    }
    if (ow == BITS_OVERFLOW_WRAP) {
        uint64_t res = value + (uint64_t)incr;
        if (bits < 64) {
            res &= ~(UINT64_MAX << bits);
        }
        *limit = res;
        /* Redis reports a wrap as an overflow whichever way it went. */
        return 1;
    }
    return r;
}

int
bits_overflow_signed(int64_t value, int64_t incr, int bits,
                     enum bits_overflow ow, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
    int64_t min = -max - 1;
    /* These may wrap; they are only used once value is known in range. */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r;

    if (value > max || (bits != 64 && incr > maxincr)
        || (value >= 0 && incr > 0 && incr > maxincr)) {
        r = 1;
        if (ow == BITS_OVERFLOW_SAT) {
            *limit = max;
            return r;
        }
    } else if (value < min || (bits != 64 && incr < minincr)
               || (value < 0 && incr < 0 && incr < minincr)) {
        r = -1;
        if (ow == BITS_OVERFLOW_SAT) {
            *limit = min;
            return r;
        }
    } else {
        return 0;
    }
    if (ow == BITS_OVERFLOW_WRAP) {
        uint64_t c = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            c = (c & ((uint64_t)1 << (bits - 1))) ? (c | mask) : (c & ~mask);
        }
        *limit = (int64_t)c;
        return 1;
    }
    return r;
}
