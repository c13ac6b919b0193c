/* Bit-level operations on string values (SETBIT/GETBIT, BITCOUNT, BITPOS,
 * BITOP, BITFIELD): pure functions on byte buffers, word at a time where it
 * pays.  Bits are numbered from the most significant bit of byte 0, as in
 * Redis.  Nothing here touches the keyspace or replies. */
#ifndef CACHELY_NODE_T_BITS_H
#define CACHELY_NODE_T_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Number of set bits in p[0..len). */
uint64_t bits_popcount(const unsigned char *p, size_t len);

/* Position of the first bit equal to bit (0 or 1) in p[0..len), or -1 when
 * looking for a 1 and there is none; looking for a 0 in all-ones bytes
 * returns len * 8 (the first bit past the buffer, as Redis's redisBitpos). */
long long bits_pos(const unsigned char *p, size_t len, int bit);

enum bits_op {
    BITS_AND,
    BITS_OR,
    BITS_XOR,
    BITS_NOT,
};

/* dst[0..maxlen) = op over the n sources, each src[i] of len[i] bytes and
 * read as zero past its end (src[i] may be NULL when len[i] is 0).  NOT
 * takes one source. */
void bits_op(enum bits_op op, unsigned char *dst, size_t maxlen,
             const unsigned char *const *src, const size_t *len, size_t n);

/* BITFIELD integers: bits wide (1..64), big-endian bit order, at bit
 * offset.  The buffer must hold every bit read or written. */
uint64_t bits_get_unsigned(const unsigned char *p, uint64_t offset, int bits);
int64_t bits_get_signed(const unsigned char *p, uint64_t offset, int bits);
void bits_set_unsigned(unsigned char *p, uint64_t offset, int bits, uint64_t value);

enum bits_overflow {
    BITS_OVERFLOW_WRAP,
    BITS_OVERFLOW_SAT,
    BITS_OVERFLOW_FAIL,
};

/* Would value + incr overflow a bits-wide unsigned (bits <= 63) or signed
 * (bits <= 64) field?  Returns 0 when not, 1 on overflow, -1 on underflow,
 * and then stores in *limit the wrapped (WRAP) or saturated (SAT) result. */
int bits_overflow_unsigned(uint64_t value, int64_t incr, int bits,
                           enum bits_overflow ow, uint64_t *limit);
int bits_overflow_signed(int64_t value, int64_t incr, int bits,
                         enum bits_overflow ow, int64_t *limit);

#endif
