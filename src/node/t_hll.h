/* HyperLogLog values in Redis's own string format, byte for byte, so an HLL
 * moves between Redis and Cachely with GET/SET and counts the same:
 *   "HYLL", encoding byte (0 dense, 1 sparse), 3 zero bytes, 8-byte cached
 *   cardinality (little endian; the top bit of the last byte set means
 *   stale), then the registers: 16384 6-bit registers packed LSB first
 *   (dense), or ZERO/XZERO/VAL run opcodes (sparse).
 * Elements hash with MurmurHash64A (seed 0xadc83b19); the cardinality is
 * Ertl's improved estimator, as Redis computes it.  Every decoder here
 * bounds-checks: a corrupt value yields -1, never a read past its end. */
#ifndef CACHELY_NODE_T_HLL_H
#define CACHELY_NODE_T_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_Q (64 - HLL_P)
#define HLL_BITS 6
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_ENC_DENSE 0
#define HLL_ENC_SPARSE 1
#define HLL_SPARSE_VAL_MAX 32
#define HLL_SPARSE_MAX_BYTES_DEFAULT 3000

/* A value being edited: a heap buffer the caller frees with mem_free. */
struct hll {
    unsigned char *p;            /* owned */
    size_t len;
    size_t cap;
};

/* Is p[0..len) an HLL (magic, known encoding, dense of the exact size)? */
int hll_is_valid(const unsigned char *p, size_t len);
/* A new empty sparse HLL (cached cardinality 0, valid) in h. */
void hll_init_sparse(struct hll *h);
/* A copy of p[0..len) in h, with room to grow. */
void hll_init_copy(struct hll *h, const unsigned char *p, size_t len);

/* Add an element: 1 when a register changed, 0 when not, -1 when the value
 * is corrupt.  A sparse value past sparse_max bytes, or with a register
 * above 32, becomes dense. */
int hll_add(struct hll *h, const void *ele, size_t len, size_t sparse_max);
/* Raise register index to at least count (PFMERGE's per-register write):
 * 1 changed, 0 not, -1 corrupt. */
int hll_set(struct hll *h, long index, unsigned count, size_t sparse_max);
/* Convert a sparse value to dense: 0, or -1 when corrupt (h unchanged). */
int hll_to_dense(struct hll *h);

/* The estimate from the registers, ignoring the cache: 0 or -1 (corrupt). */
int hll_count(const unsigned char *p, size_t len, uint64_t *card);
/* max[i] = MAX(max[i], register i) for the HLL p: 0 or -1 (corrupt). */
int hll_merge_max(uint8_t *max, const unsigned char *p, size_t len);
/* The estimate from raw registers (one byte each). */
uint64_t hll_count_raw(const uint8_t *regs);

/* Cached cardinality of a valid HLL: 1 and *card when valid, else 0. */
int hll_cache_get(const unsigned char *p, uint64_t *card);
void hll_cache_set(unsigned char *p, uint64_t card);
void hll_cache_invalidate(unsigned char *p);

/* Dense register access (regs points past the header). */
unsigned hll_dense_get(const unsigned char *regs, long i);
void hll_dense_set(unsigned char *regs, long i, unsigned val);

/* The element's register index and run length of zeros + 1 (1..51). */
int hll_pattern(const void *ele, size_t len, long *index);
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);

/* PFDEBUG DECODE's text for a sparse value ("z:N Z:N v:V,N" tokens):
 * writes a NUL-terminated mem_alloc'd string to *out (caller frees). */
void hll_decode_sparse(const unsigned char *p, size_t len, char **out, size_t *outlen);

/* PFSELFTEST: 0, or -1 with a message in err. */
int hll_selftest(char *err, size_t errlen);

#endif
