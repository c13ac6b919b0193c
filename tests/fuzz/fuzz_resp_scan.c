/* libFuzzer target for the RESP reply scanner (core/resp_scan.c), which the
 * proxy runs over every byte a node sends back.
 *
 * Each input is a reply stream.  It is split into replies three ways: whole,
 * in pieces of sizes derived from the input, and one byte at a time (small
 * inputs), the way the proxy's backend reads (the same buffer growing, the
 * scan resuming; each call sees an exactly sized copy so ASan catches any
 * read past len).  The reply boundaries and the error must not depend on
 * the split; a complete reply rescanned alone ends at the same place, and
 * any proper prefix of it is only incomplete (never an error, never a
 * reply).  Built by "make fuzz" with clang; the corpus in
 * tests/fuzz/corpus_resp_scan is replayed under "make check" through
 * replay_main.c. */
#include "core/resp_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_resp_scan: invariant failed: %s (%s:%d)\n", \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define FUZZ_BYTEWISE_MAX 400
#define FUZZ_MAX_REPLIES 4096

/* What a split saw: reply lengths in order, then how it ended (1: every
 * byte was a whole reply or still incomplete, -1: a protocol error). */
struct outcome {
    size_t lens[FUZZ_MAX_REPLIES];
    size_t n;
    int end;
};

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Scan data[0..len) as one call on an exactly sized copy. */
static int
scan_copy(struct resp_scan *sc, const uint8_t *data, size_t len)
{
    char *buf = malloc(len ? len : 1);
    FUZZ_CHECK(buf != NULL);
    if (len > 0) {
        memcpy(buf, data, len);
    }
    int rc = resp_scan_next(sc, buf, len);
    free(buf);
    return rc;
}

/* A whole reply r of len bytes: alone it scans to len, every proper prefix
 * is incomplete. */
static void
check_reply(const uint8_t *r, size_t len)
{
    struct resp_scan sc;
    resp_scan_init(&sc);
    FUZZ_CHECK(scan_copy(&sc, r, len) == 1);
    FUZZ_CHECK(sc.pos == len);
    FUZZ_CHECK(sc.type == (char)r[0]);
    FUZZ_CHECK(sc.left == 0);
    if (len <= FUZZ_BYTEWISE_MAX) {
        for (size_t k = 0; k < len; k++) {
            resp_scan_init(&sc);
            FUZZ_CHECK(scan_copy(&sc, r, k) == 0);
        }
    }
}

/* piece == 0: deliver everything at once; else pieces of 1..piece bytes
 * (1: one byte at a time). */
static void
run(const uint8_t *data, size_t size, size_t span, uint64_t seed, struct outcome *o)
{
    struct resp_scan sc;
    size_t start = 0, fed = 0;
    resp_scan_init(&sc);
    o->n = 0;
    o->end = 1;
    seed |= 1;
    while (fed < size) {
        size_t piece = span == 0 ? size : 1 + (size_t)(rng_next(&seed) % span);
        fed += piece < size - fed ? piece : size - fed;
        for (;;) {
            int rc = scan_copy(&sc, data + start, fed - start);
            if (rc == 0) {
                FUZZ_CHECK(!sc.error);
                break;
            }
            if (rc < 0) {
                FUZZ_CHECK(sc.error);
                /* the error sticks */
                FUZZ_CHECK(scan_copy(&sc, data + start, fed - start) == -1);
                o->end = -1;
                return;
            }
            FUZZ_CHECK(sc.pos > 0 && sc.pos <= fed - start);
            if (o->n < FUZZ_MAX_REPLIES) {
                o->lens[o->n++] = sc.pos;
            }
            start += sc.pos;
            resp_scan_init(&sc);
        }
    }
}

static struct outcome whole, pieces, bytes;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
    }
    run(data, size, 0, seed, &whole);
    run(data, size, 1 + (size_t)(seed % 64), seed, &pieces);
    FUZZ_CHECK(whole.n == pieces.n && whole.end == pieces.end);
    FUZZ_CHECK(memcmp(whole.lens, pieces.lens, whole.n * sizeof(size_t)) == 0);
    if (size <= FUZZ_BYTEWISE_MAX) {
        run(data, size, 1, seed, &bytes);
        FUZZ_CHECK(whole.n == bytes.n && whole.end == bytes.end);
        FUZZ_CHECK(memcmp(whole.lens, bytes.lens, whole.n * sizeof(size_t)) == 0);
    }
    size_t off = 0;
    for (size_t i = 0; i < whole.n; i++) {
        check_reply(data + off, whole.lens[i]);
        off += whole.lens[i];
    }
    return 0;
}
