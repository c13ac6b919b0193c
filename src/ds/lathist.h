/* A latency histogram with the geometry of the HDR histogram Redis 7.0
 * keeps per command (1 ns to 1 s, two significant digits): values below
 * 256 ns have a bucket each, and each power of two above is cut into 128
 * equal buckets, so a bucket is never wider than 1/128 of its values.
 * Recording is a count-leading-zeros, two shifts and an increment; the
 * percentiles and the power-of-two rows LATENCY HISTOGRAM prints read the
 * buckets as Redis's library does, so both report the same numbers for
 * the same durations. */
#ifndef CACHELY_DS_LATHIST_H
#define CACHELY_DS_LATHIST_H

#include <stddef.h>
#include <stdint.h>

#define LATHIST_MIN_NS 1LL
#define LATHIST_MAX_NS 1000000000LL
/* Buckets: 256 below 256 ns, then 128 per power of two up to 2^30 ns. */
#define LATHIST_SLOTS (24 * 128)

struct lathist {
    uint64_t counts[LATHIST_SLOTS]; /* values recorded, by bucket; their sum
                                       is the count (lathist_total) */
};

/* A new, empty histogram (owned by the caller: lathist_destroy). */
struct lathist *lathist_create(void);
void lathist_destroy(struct lathist **hp);

/* The bucket of a value in nanoseconds, clamped to 1 ns .. 1 s. */
static inline size_t
lathist_index(long long ns)
{
    uint64_t v = ns < LATHIST_MIN_NS ? (uint64_t)LATHIST_MIN_NS
                 : ns > LATHIST_MAX_NS ? (uint64_t)LATHIST_MAX_NS : (uint64_t)ns;
    int magnitude = 63 - __builtin_clzll(v);
    int shift = magnitude > 7 ? magnitude - 7 : 0;
    return ((size_t)shift << 7) + (size_t)(v >> shift);
}

/* lathist_index(us * 1000) for us below LATHIST_FAST_US (0 us: 1 ns). */
#define LATHIST_FAST_US 32
extern const uint16_t lathist_fast_index[LATHIST_FAST_US];

/* Record one duration given in microseconds (as the node measures them;
 * stored in nanoseconds, as Redis stores them).  It runs once per command:
 * a fast command is a table lookup and an increment.  The "| 1" stands for
 * Redis's clamp of 0 to 1 ns and moves no value of whole microseconds
 * (multiples of 8 ns) out of its bucket. */
static inline void
lathist_record_us(struct lathist *h, long long us)
{
    size_t i;
    if ((unsigned long long)us < LATHIST_FAST_US) {
        i = lathist_fast_index[us];
    } else {
        uint64_t ns = us < LATHIST_MAX_NS / 1000 ? (uint64_t)us * 1000 : (uint64_t)LATHIST_MAX_NS;
        int shift = 56 - __builtin_clzll(ns); /* ns >= 32000: magnitude > 7 */
        i = ((size_t)shift << 7) + (size_t)(ns >> shift);
    }
    h->counts[i]++;
}

/* How many values were recorded. */
uint64_t lathist_total(const struct lathist *h);

/* The smallest and the largest value (ns) that fall in bucket i. */
long long lathist_lowest(size_t i);
long long lathist_highest(size_t i);

/* The value (ns) at a percentile (0..100) as HDR reports it: the largest
 * value of the bucket holding that rank (the smallest for 0); 0 when empty. */
long long lathist_percentile(const struct lathist *h, double percentile);

/* LATENCY HISTOGRAM's rows: for each power of two from 1024 ns up (the
 * last one the histogram covers), its bucket's largest value in whole
 * microseconds and how many values are at most that, keeping only the
 * rows where that count grew.  Writes up to cap rows into us[] and cum[]
 * and returns how many. */
size_t lathist_rows(const struct lathist *h, long long *us, uint64_t *cum, size_t cap);

#endif
