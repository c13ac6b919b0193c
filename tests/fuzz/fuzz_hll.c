/* libFuzzer target for the HyperLogLog decoder: any bytes a client can SET
 * reach PFCOUNT, PFMERGE, PFADD and PFDEBUG (Redis has had CVEs here), so
 * every decoder must stay inside the value, and what decodes must agree:
 * a sparse value that counts converts to dense with the same count, and
 * adds never leave an invalid value.  The first byte picks a prefix (none,
 * a sparse header, a dense header) so most inputs get past the magic.
 * Build with `make fuzz`; the corpus replays under make check. */
#include "node/t_hll.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_hll: invariant failed: %s (%s:%d)\n",      \
                    #cond, __FILE__, __LINE__);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    int mode = data[0] % 3;
    data++;
    size--;
    size_t pre = mode == 0 ? 0 : 5;
    /* An exact-size copy: ASan catches any read past the value. */
    unsigned char *v = mem_alloc(pre + size + 1);
    if (pre) {
        memcpy(v, "HYLL", 4);
        v[4] = mode == 1 ? HLL_ENC_SPARSE : HLL_ENC_DENSE;
    }
    memcpy(v + pre, data, size);
    size_t len = pre + size;
    v = mem_realloc(v, len ? len : 1);

    if (!hll_is_valid(v, len)) {
        mem_free(v);
        return 0;
    }
    uint64_t c1 = 0, c2 = 0, cached;
    int ok = hll_count(v, len, &c1) == 0;
    (void)hll_cache_get(v, &cached);
    uint8_t *max = mem_calloc(HLL_REGISTERS);
    /* Merging (and converting) stop at a run past the last register and
     * accept what covered all of them, as Redis does; counting one value
     * alone is stricter.  So a value that counts always merges. */
    int merge_ok = hll_merge_max(max, v, len) == 0;
    FUZZ_CHECK(merge_ok || !ok);
    if (ok) {
        FUZZ_CHECK(hll_count_raw(max) == c1);
    }
    mem_free(max);
    if (v[4] == HLL_ENC_SPARSE) {
        char *text;
        size_t tlen;
        hll_decode_sparse(v, len, &text, &tlen);
        FUZZ_CHECK(strlen(text) == tlen);
        mem_free(text);
    }

    struct hll h;
    hll_init_copy(&h, v, len);
    int dense_ok = hll_to_dense(&h) == 0;
    FUZZ_CHECK(dense_ok == merge_ok);
    if (dense_ok) {
        FUZZ_CHECK(h.len == HLL_DENSE_SIZE);
        FUZZ_CHECK(hll_count(h.p, h.len, &c2) == 0);
        FUZZ_CHECK(!ok || c2 == c1);
    }
    mem_free(h.p);

    /* Adds on the value as it is: a valid value stays valid. */
    hll_init_copy(&h, v, len);
    for (size_t i = 0; i < 64 && i < size; i++) {
        int r = hll_add(&h, data + i, size - i, 300);
        if (r < 0) {
            FUZZ_CHECK(!ok);
            break;
        }
        FUZZ_CHECK(hll_is_valid(h.p, h.len));
        if (ok) {
            FUZZ_CHECK(hll_count(h.p, h.len, &c2) == 0);
        }
    }
    mem_free(h.p);
    mem_free(v);
    return 0;
}
