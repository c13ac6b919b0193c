/* libFuzzer target for the stream node decoder (ds/xstream.c): the input is
 * a node's bytes, the first byte its record count.  A buffer that
 * xstream_node_validate accepts must then iterate both ways without reading
 * out of bounds (ASan checks), yielding exactly that many entries when none
 * is flagged deleted.  Built by "make fuzz" with clang; the corpus
 * (tests/fuzz/corpus/xstream) is replayed under "make check" through
 * replay_main.c. */
#include "ds/xstream.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint32_t total = data[0] % (XSTREAM_NODE_ENTRIES + 1);
    data++;
    size--;
    if (xstream_node_validate(data, size, total) != 0 || total == 0) {
        return 0;
    }
    /* Wrap the bytes in a one-node stream and walk it. */
    struct xnode *n = mem_calloc(sizeof(*n));
    n->buf = mem_alloc(size ? size : 1);
    memcpy(n->buf, data, size);
    n->len = n->cap = (uint32_t)size;
    n->total = n->live = total;
    n->first.ms = 0;
    n->last.ms = UINT64_MAX;
    n->last.seq = UINT64_MAX;
    struct xstream *s = xstream_create();
    s->nodes = mem_alloc(sizeof(*s->nodes));
    s->nodes[0] = n;
    s->nnodes = s->cap = 1;
    s->length = total;
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    for (int rev = 0; rev < 2; rev++) {
        struct xstream_iter it;
        struct xentry e;
        size_t seen = 0;
        xstream_iter_init(&it, s, &lo, &hi, rev);
        while (xstream_iter_next(&it, &e) && seen <= total) {
            const unsigned char *fp = e.fields, *vp = e.values;
            for (size_t i = 0; i < e.nfields; i++) {
                const char *f, *v;
                size_t fl, vl;
                xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
            }
            seen++;
        }
        if (seen > total) {
            fprintf(stderr, "fuzz_xstream: more entries than records\n");
            abort();
        }
    }
    xstream_destroy(&s);
    return 0;
}
