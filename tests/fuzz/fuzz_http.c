/* libFuzzer target for HTTP query-string decoding (core/http_util.c), as
 * the node's and the proxy's HTTP endpoints use it.
 *
 * Each input (up to its first NUL: evhttp hands queries over as C strings)
 * is taken as a raw query string, alone and as libevent parses it out of a
 * request URI "/cache/get?<input>".  The decoder and the parameter lookup
 * are checked against a small independent reference: measuring and
 * decoding agree; a decoded value is never longer than its text; a query is
 * malformed for every parameter or for none; each parameter found is the
 * first pair of that name, byte for byte (NULs included); re-encoding a
 * decoded value decodes back to it; nothing allocated outlives the call.
 * Built by "make fuzz" with clang; the corpus (tests/fuzz/corpus/fuzz_http)
 * replays under "make check" through replay_main.c. */
#include "core/http_util.h"
#include "core/alloc.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_http: invariant failed: %s (%s:%d)\n",      \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- reference: percent-decoding and pairs, written plainly ------------- */

static int
ref_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode s[0..n) into out (n bytes of room); returns the length or -1. */
static long
ref_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3) {
                return -1;
            }
            int hi = ref_hex((unsigned char)s[i + 1]);
            int lo = ref_hex((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

struct ref_pair {
    char *name, *value; /* decoded, libc malloc */
    long namelen, valuelen;
};

/* Split raw into decoded pairs (empty pairs skipped), *nalloc of them
 * allocated.  Returns the count, or -1 when a pair is malformed. */
static long
ref_pairs(const char *raw, struct ref_pair **out, size_t *nalloc)
{
    size_t len = strlen(raw), start = 0;
    long n = 0;
    struct ref_pair *pairs = calloc(len / 2 + 2, sizeof(*pairs));
    FUZZ_CHECK(pairs != NULL);
    *out = pairs;
    while (start <= len) {
        size_t stop = start;
        while (stop < len && raw[stop] != '&') {
            stop++;
        }
        if (stop > start) {
            size_t eq = start;
            while (eq < stop && raw[eq] != '=') {
                eq++;
            }
            struct ref_pair *p = &pairs[n];
            p->name = malloc(eq - start + 1);
            p->value = malloc(stop - eq + 1);
            FUZZ_CHECK(p->name != NULL && p->value != NULL);
            p->namelen = ref_decode(raw + start, eq - start, p->name);
            p->valuelen = eq < stop ? ref_decode(raw + eq + 1, stop - eq - 1, p->value) : 0;
            n++;
            *nalloc = (size_t)n;
            if (p->namelen < 0 || p->valuelen < 0) {
                return -1;
            }
        }
        start = stop + 1;
    }
    return n;
}

static void
ref_free(struct ref_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
}

/* ---- checks -------------------------------------------------------------- */

static void
check_decode(const char *s, size_t n)
{
    char *out = malloc(n ? n : 1), *ref = malloc(n ? n : 1);
    long measured, got, want;
    FUZZ_CHECK(out != NULL && ref != NULL);
    measured = http_util_decode(s, n, NULL);
    got = http_util_decode(s, n, out);
    want = ref_decode(s, n, ref);
    FUZZ_CHECK(measured == got);
    FUZZ_CHECK(got == want);
    FUZZ_CHECK(got <= (long)n);
    if (got > 0) {
        FUZZ_CHECK(memcmp(out, ref, (size_t)got) == 0);
        /* Every byte escaped: decodes back to the same bytes. */
        char *enc = malloc((size_t)got * 3 + 1), *back = malloc((size_t)got);
        FUZZ_CHECK(enc != NULL && back != NULL);
        for (long i = 0; i < got; i++) {
            snprintf(enc + i * 3, 4, "%%%02X", (unsigned char)out[i]);
        }
        FUZZ_CHECK(http_util_decode(enc, (size_t)got * 3, back) == got);
        FUZZ_CHECK(memcmp(back, out, (size_t)got) == 0);
        free(enc);
        free(back);
    }
    free(out);
    free(ref);
}

/* Look up name in raw and compare with the reference's first pair so
 * named.  Returns what http_util_query_arg returned. */
static int
check_lookup(const char *raw, const char *name, size_t namelen,
             const struct ref_pair *pairs, long npairs)
{
    struct http_util_arg a;
    int rc = http_util_query_arg(raw, name, &a);
    const struct ref_pair *first = NULL;

    for (long i = 0; npairs > 0 && i < npairs; i++) {
        if ((size_t)pairs[i].namelen == namelen
            && memcmp(pairs[i].name, name, namelen) == 0) {
            first = &pairs[i];
            break;
        }
    }
    if (npairs < 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(!a.present && a.val == NULL && a.len == 0);
        return rc;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(a.present == (first != NULL));
    if (first != NULL) {
        FUZZ_CHECK(a.val != NULL && a.len == (size_t)first->valuelen);
        FUZZ_CHECK(a.val[a.len] == '\0');
        FUZZ_CHECK(a.len == 0 || memcmp(a.val, first->value, a.len) == 0);
    }
    http_util_arg_free(&a);
    FUZZ_CHECK(a.val == NULL && !a.present);
    http_util_arg_free(&a); /* may be freed again */
    return rc;
}

static void
check_query(const char *raw)
{
    struct ref_pair *pairs;
    size_t nalloc = 0;
    long n = ref_pairs(raw, &pairs, &nalloc);
    long count = http_util_query_count(raw);
    static const char *const names[] = {"key", "value", "ttl", "", "k", "a b", NULL};

    FUZZ_CHECK(count == (n < 0 ? -1 : n));
    for (int i = 0; names[i] != NULL; i++) {
        check_lookup(raw, names[i], strlen(names[i]), pairs, n);
    }
    /* Every decoded name of the query (up to its first NUL, the length a
     * C-string name can have) is found. */
    for (long i = 0; n > 0 && i < n && i < 16; i++) {
        size_t nl = strnlen(pairs[i].name, (size_t)pairs[i].namelen);
        char *name = malloc(nl + 1);
        FUZZ_CHECK(name != NULL);
        memcpy(name, pairs[i].name, nl);
        name[nl] = '\0';
        check_lookup(raw, name, nl, pairs, n);
        free(name);
    }
    ref_free(pairs, nalloc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = strnlen((const char *)data, size);
    char *raw = malloc(len + 1);
    size_t used = mem_used();

    FUZZ_CHECK(raw != NULL);
    memcpy(raw, data, len);
    raw[len] = '\0';

    check_decode((const char *)data, size); /* the decoder is binary-safe */
    check_query(raw);
    FUZZ_CHECK(http_util_query_count(NULL) == 0);

    /* The query as evhttp hands it to a route. */
    char *uri = malloc(len + 16);
    FUZZ_CHECK(uri != NULL);
    memcpy(uri, "/cache/get?", 11);
    memcpy(uri + 11, raw, len + 1);
    struct evhttp_uri *u = evhttp_uri_parse(uri);
    if (u != NULL) {
        const char *q = evhttp_uri_get_query(u);
        if (q != NULL) {
            check_query(q);
        }
        evhttp_uri_free(u);
    }
    free(uri);
    free(raw);
    FUZZ_CHECK(mem_used() == used);
    return 0;
}
