/* libFuzzer target for intset: untrusted bytes as a blob (what a snapshot
 * or a replication stream would hand the loader) must be validated without
 * reading out of bounds, and a blob that passes must behave as a set; the
 * same bytes read as a program of adds/removes must agree with a
 * sorted-array model.  The first byte picks the mode.
 * Build with `make fuzz`; the corpus replays under make check. */
#include "ds/intset.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_intset: invariant failed: %s (%s:%d)\n",   \
                    #cond, __FILE__, __LINE__);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)

static void
check_set(const struct intset *is)
{
    FUZZ_CHECK(intset_validate(is, intset_blob_len(is)));
    for (size_t i = 0; i < intset_len(is); i++) {
        FUZZ_CHECK(intset_contains(is, intset_get(is, i)));
        if (i > 0) {
            FUZZ_CHECK(intset_get(is, i - 1) < intset_get(is, i));
        }
    }
}

static void
fuzz_blob(const uint8_t *data, size_t size)
{
    /* An exact-size copy so that a sanitizer sees any overread. */
    uint8_t *copy = malloc(size ? size : 1);
    if (size > 0) {
        memcpy(copy, data, size);
    }
    struct intset *is = intset_from_blob(copy, size);
    FUZZ_CHECK((is != NULL) == intset_validate(copy, size));
    if (is != NULL) {
        check_set(is);
        size_t n = intset_len(is);
        if (n > 0) {
            int64_t v = intset_get(is, n / 2);
            FUZZ_CHECK(intset_add(&is, v) == 0);
            FUZZ_CHECK(intset_remove(&is, v) == 1);
            FUZZ_CHECK(!intset_contains(is, v));
            FUZZ_CHECK(intset_len(is) == n - 1);
            check_set(is);
        }
        intset_destroy(&is);
    }
    free(copy);
}

static size_t
model_find(const int64_t *m, size_t n, int64_t v, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < n && m[lo] == v;
    return lo;
}

/* Ops: one byte (low bit: add/remove; bits 1-2: value width 1, 2, 4 or 8
 * bytes), then the value's bytes, sign-extended. */
static void
fuzz_ops(const uint8_t *data, size_t size)
{
    int64_t *m = malloc((size + 1) * sizeof(*m));
    size_t n = 0;
    struct intset *is = intset_create();
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        size_t w = (size_t)1 << ((op >> 1) & 3);
        if (i + w > size) {
            break;
        }
        int64_t v = 0;
        if (w == 1) {
            v = (int8_t)data[i];
        } else if (w == 2) {
            int16_t x;
            memcpy(&x, data + i, 2);
            v = x;
        } else if (w == 4) {
            int32_t x;
            memcpy(&x, data + i, 4);
            v = x;
        } else {
            memcpy(&v, data + i, 8);
        }
        i += w;
        int found;
        size_t pos = model_find(m, n, v, &found);
        if ((op & 1) == 0) {
            FUZZ_CHECK(intset_add(&is, v) == !found);
            if (!found) {
                memmove(m + pos + 1, m + pos, (n - pos) * sizeof(*m));
                m[pos] = v;
                n++;
            }
        } else {
            FUZZ_CHECK(intset_remove(&is, v) == found);
            if (found) {
                memmove(m + pos, m + pos + 1, (n - pos - 1) * sizeof(*m));
                n--;
            }
        }
        FUZZ_CHECK(intset_len(is) == n);
    }
    for (size_t k = 0; k < n; k++) {
        FUZZ_CHECK(intset_get(is, k) == m[k]);
    }
    check_set(is);
    intset_destroy(&is);
    free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_ops(data + 1, size - 1);
    } else {
        fuzz_blob(data + 1, size - 1);
    }
    return 0;
}
