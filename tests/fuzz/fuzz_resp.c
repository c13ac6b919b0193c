/* libFuzzer target for the RESP request parser (core/resp.c).
 *
 * Each input is parsed as a client stream several times: whole, in pieces of
 * sizes derived from the input, and one byte at a time (small inputs), each
 * piece handed over the way the node's client does it (unconsumed bytes kept
 * at the start of a fresh, exactly sized buffer, so ASan sees any read past
 * len and any pointer kept across calls).  The frames and the error must not
 * depend on how the bytes were split.  It runs with Redis's default limits
 * and with small ones (pre-AUTH, tiny max_bulk_len), and feeds the raw input
 * to resp_split_inline as one line.  The proxy's resp_parser_next_quick
 * parses every stream too, whole and in pieces, and must see exactly what
 * resp_parser_next sees (frames, errors, what the error leaves).  Built by "make fuzz" with clang; the
 * corpus is replayed under "make check" through replay_main.c. */
#include "core/resp.h"
#include "core/alloc.h"
#include "core/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_resp: invariant failed: %s (%s:%d)\n",      \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Inputs at most this long are also fed one byte at a time (quadratic). */
#define FUZZ_BYTEWISE_MAX 300

/* ---- transcript: what a run saw, to compare runs ----------------------- */

struct transcript {
    unsigned char *buf; /* owned (libc malloc, outside mem_used) */
    size_t len;
    size_t cap;
};

static void
transcript_put(struct transcript *t, const void *src, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n) {
            cap *= 2;
        }
        t->buf = realloc(t->buf, cap);
        FUZZ_CHECK(t->buf != NULL);
        t->cap = cap;
    }
    if (n > 0) {
        memcpy(t->buf + t->len, src, n);
    }
    t->len += n;
}

static void
transcript_frame(struct transcript *t, const struct resp_parser *p)
{
    transcript_put(t, "F", 1);
    transcript_put(t, &p->argc, sizeof(p->argc));
    transcript_put(t, &p->consumed, sizeof(p->consumed));
    for (size_t i = 0; i < p->argc; i++) {
        transcript_put(t, &p->argv[i].len, sizeof(p->argv[i].len));
        transcript_put(t, p->argv[i].ptr, p->argv[i].len);
    }
}

/* ---- limits ------------------------------------------------------------- */

struct limits {
    long long max_bulk_len;
    long long max_multibulk_len;
    int unauthenticated;
};

static void
limits_apply(struct resp_parser *p, const struct limits *lim)
{
    p->max_bulk_len = lim->max_bulk_len;
    p->max_multibulk_len = lim->max_multibulk_len;
    p->unauthenticated = lim->unauthenticated;
}

/* ---- invariants --------------------------------------------------------- */

static int
within(const char *ptr, size_t len, const char *lo, size_t lolen)
{
    return ptr >= lo && ptr <= lo + lolen && len <= (size_t)(lo + lolen - ptr);
}

static void
check_frame(const struct resp_parser *p, const struct limits *lim,
            const char *buf, size_t len)
{
    FUZZ_CHECK(p->consumed > 0);
    FUZZ_CHECK(p->consumed <= len);
    FUZZ_CHECK(p->argc <= p->consumed);
    FUZZ_CHECK(p->argc == 0 || p->argc <= p->argv_cap);
    FUZZ_CHECK(p->error == 0);
    if (buf[0] == '*') {
        /* Multibulk arguments point into the frame, each followed by two
         * bytes (the CRLF Redis skips without checking). */
        FUZZ_CHECK((long long)p->argc <= lim->max_multibulk_len);
        if (lim->unauthenticated) {
            FUZZ_CHECK(p->argc <= RESP_UNAUTH_MAX_MULTIBULK);
        }
        for (size_t i = 0; i < p->argc; i++) {
            FUZZ_CHECK(within(p->argv[i].ptr, p->argv[i].len + 2, buf,
                              p->consumed));
            FUZZ_CHECK((long long)p->argv[i].len <= lim->max_bulk_len);
            if (lim->unauthenticated) {
                FUZZ_CHECK(p->argv[i].len <= RESP_UNAUTH_MAX_BULK);
            }
        }
    } else {
        /* Inline arguments live in the parser's scratch, unescaped; each is
         * no longer than the line. */
        size_t total = 0;
        for (size_t i = 0; i < p->argc; i++) {
            FUZZ_CHECK(within(p->argv[i].ptr, p->argv[i].len, p->scratch,
                              p->scratch_cap));
            total += p->argv[i].len;
        }
        FUZZ_CHECK(total <= p->consumed);
        FUZZ_CHECK(buf[p->consumed - 1] == '\n');
    }
}

/* After an error: it sticks (same status and text), and a reset parser can
 * parse a valid frame again. */
static void
check_error_sticks(struct resp_parser *p, const char *buf, size_t len)
{
    char saved[sizeof(p->errstr)];
    /* Valid under every limit set (an empty bulk, one argument). */
    static const char valid[] = "*1\r\n$0\r\n\r\n";

    FUZZ_CHECK(p->error != 0);
    FUZZ_CHECK(strncmp(p->errstr, "Protocol error: ", 16) == 0);
    memcpy(saved, p->errstr, sizeof(saved));
    FUZZ_CHECK(resp_parser_next(p, buf, len) == STATUS_ERR);
    FUZZ_CHECK(resp_parser_next(p, valid, sizeof(valid) - 1) == STATUS_ERR);
    FUZZ_CHECK(memcmp(saved, p->errstr, sizeof(saved)) == 0);

    resp_parser_reset(p);
    FUZZ_CHECK(resp_parser_next(p, valid, sizeof(valid) - 1) == STATUS_OK);
    FUZZ_CHECK(p->argc == 1 && p->argv[0].len == 0);
    FUZZ_CHECK(p->consumed == sizeof(valid) - 1);
}

/* A multibulk frame re-encoded from the parsed arguments parses back to the
 * same arguments in one call. */
static void
check_roundtrip(const struct resp_parser *p)
{
    struct transcript enc = {0};
    struct resp_parser q;
    char hdr[RESP_HDR_MAX];

    transcript_put(&enc, hdr, resp_fmt_prefixed(hdr, '*', (long long)p->argc));
    for (size_t i = 0; i < p->argc; i++) {
        transcript_put(&enc, hdr,
                       resp_fmt_prefixed(hdr, '$', (long long)p->argv[i].len));
        transcript_put(&enc, p->argv[i].ptr, p->argv[i].len);
        transcript_put(&enc, "\r\n", 2);
    }
    resp_parser_init(&q);
    FUZZ_CHECK(resp_parser_next(&q, (const char *)enc.buf, enc.len) == STATUS_OK);
    FUZZ_CHECK(q.consumed == enc.len);
    FUZZ_CHECK(q.argc == p->argc);
    for (size_t i = 0; i < p->argc; i++) {
        FUZZ_CHECK(q.argv[i].len == p->argv[i].len);
        FUZZ_CHECK(memcmp(q.argv[i].ptr, p->argv[i].ptr, p->argv[i].len) == 0);
    }
    resp_parser_free(&q);
    free(enc.buf);
}

/* ---- one run: the stream delivered in pieces ----------------------------- */

/* Small deterministic generator for piece sizes, seeded from the input. */
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

enum feed_mode { FEED_WHOLE, FEED_PIECES, FEED_BYTES };

/* The parser a run calls: the node's or the proxy's. */
typedef int (*parse_fn)(struct resp_parser *p, const char *buf, size_t len);

/* Parse data[0..size) delivered per mode, appending frames and the final
 * error (if any) to t. */
static void
run_stream(const uint8_t *data, size_t size, const struct limits *lim,
           enum feed_mode mode, uint64_t seed, int roundtrip,
           struct transcript *t, parse_fn parse)
{
    struct resp_parser p;
    size_t start = 0; /* stream offset of the unconsumed bytes */
    size_t fed = 0;   /* stream bytes delivered so far */
    size_t span = 1 + (seed % 3 == 0 ? 3 : seed % 3 == 1 ? 40 : 700);
    size_t used_before = mem_used();

    resp_parser_init(&p);
    limits_apply(&p, lim);
    seed |= 1;
    for (;;) {
        /* Deliver the next piece. */
        size_t piece;
        switch (mode) {
        case FEED_WHOLE: piece = size; break;
        case FEED_BYTES: piece = 1; break;
        default: piece = 1 + (size_t)(rng_next(&seed) % span); break;
        }
        if (piece > size - fed) {
            piece = size - fed;
        }
        fed += piece;

        /* Parse every whole frame in start..fed; each call gets a fresh
         * buffer of exactly the unconsumed bytes, as after a compaction. */
        int rc;
        do {
            size_t len = fed - start;
            char *buf = malloc(len ? len : 1);
            FUZZ_CHECK(buf != NULL);
            if (len > 0) {
                memcpy(buf, data + start, len);
            }
            rc = parse(&p, buf, len);
            if (rc == STATUS_OK) {
                check_frame(&p, lim, buf, len);
                transcript_frame(t, &p);
                if (roundtrip && buf[0] == '*' && p.argc > 0) {
                    check_roundtrip(&p);
                }
                start += p.consumed;
            } else if (rc == STATUS_AGAIN) {
                FUZZ_CHECK(p.need > len);
                FUZZ_CHECK(p.error == 0);
            } else {
                FUZZ_CHECK(rc == STATUS_ERR);
                transcript_put(t, "E", 1);
                transcript_put(t, p.errstr, strlen(p.errstr));
                check_error_sticks(&p, buf, len);
            }
            free(buf);
        } while (rc == STATUS_OK);
        if (rc == STATUS_ERR || fed == size) {
            break;
        }
    }
    resp_parser_free(&p);
    FUZZ_CHECK(p.argv == NULL && p.scratch == NULL);
    /* Nothing the parser allocated outlives it. */
    FUZZ_CHECK(mem_used() == used_before);
}

static void
run_limits(const uint8_t *data, size_t size, const struct limits *lim,
           uint64_t seed, int roundtrip)
{
    struct transcript whole = {0}, pieces = {0}, bytes = {0};
    struct transcript qwhole = {0}, qpieces = {0};

    run_stream(data, size, lim, FEED_WHOLE, seed, roundtrip, &whole, resp_parser_next);
    run_stream(data, size, lim, FEED_PIECES, seed, 0, &pieces, resp_parser_next);
    /* The proxy's parser: the same frames and errors, however split. */
    run_stream(data, size, lim, FEED_WHOLE, seed, 0, &qwhole, resp_parser_next_quick);
    run_stream(data, size, lim, FEED_PIECES, seed, 0, &qpieces, resp_parser_next_quick);
    FUZZ_CHECK(whole.len == qwhole.len);
    FUZZ_CHECK(whole.len == 0 || memcmp(whole.buf, qwhole.buf, whole.len) == 0);
    FUZZ_CHECK(pieces.len == qpieces.len);
    FUZZ_CHECK(pieces.len == 0 || memcmp(pieces.buf, qpieces.buf, pieces.len) == 0);
    free(qwhole.buf);
    free(qpieces.buf);
    if (size > RESP_MAX_INLINE) {
        /* The "too big ... request/count string" errors depend on how much
         * is buffered when a line is still open (as in Redis), so only
         * shorter streams must parse the same whatever the split. */
        free(whole.buf);
        free(pieces.buf);
        return;
    }
    FUZZ_CHECK(whole.len == pieces.len);
    FUZZ_CHECK(whole.len == 0 || memcmp(whole.buf, pieces.buf, whole.len) == 0);
    if (size <= FUZZ_BYTEWISE_MAX) {
        run_stream(data, size, lim, FEED_BYTES, seed, 0, &bytes, resp_parser_next);
        FUZZ_CHECK(whole.len == bytes.len);
        FUZZ_CHECK(whole.len == 0 || memcmp(whole.buf, bytes.buf, whole.len) == 0);
    }
    free(whole.buf);
    free(pieces.buf);
    free(bytes.buf);
}

/* ---- resp_split_inline on the raw input -------------------------------- */

static void
run_split(const uint8_t *data, size_t size)
{
    /* Exactly the documented capacities, so ASan sees any overrun. */
    char *line = malloc(size ? size : 1);
    char *out = malloc(size ? size : 1);
    size_t maxargs = size / 2 + 1;
    struct resp_arg *args = malloc(maxargs * sizeof(*args));
    long n;

    FUZZ_CHECK(line != NULL && out != NULL && args != NULL);
    if (size > 0) {
        memcpy(line, data, size);
    }
    n = resp_split_inline(line, size, out, args);
    FUZZ_CHECK(n >= -1);
    if (n >= 0) {
        size_t total = 0;
        FUZZ_CHECK((size_t)n <= maxargs);
        for (long i = 0; i < n; i++) {
            FUZZ_CHECK(within(args[i].ptr, args[i].len, out, size));
            /* Arguments are laid out in order, without overlap. */
            if (i > 0) {
                FUZZ_CHECK(args[i].ptr == args[i - 1].ptr + args[i - 1].len);
            }
            total += args[i].len;
        }
        FUZZ_CHECK(total <= size);
    }
    free(line);
    free(out);
    free(args);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct limits deflt = {RESP_DEFAULT_MAX_BULK, 2147483647LL, 0};
    struct limits small;
    uint64_t seed = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
    }
    /* Small limits vary with the input so each boundary gets exercised. */
    small.max_bulk_len = (long long)(seed >> 8) % 24;
    small.max_multibulk_len = 1 + (long long)(seed >> 16) % 16;
    small.unauthenticated = (seed >> 24) & 1 ? 1 : (size & 1);

    run_limits(data, size, &deflt, seed, 1);
    run_limits(data, size, &small, seed >> 32, 0);
    run_split(data, size);
    return 0;
}
