/* Reflected CRC-64; see crc64.h. */
#include "core/crc64.h"

static void
fill(struct crc64_table *t)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ t->poly : c >> 1;
        }
        t->t[i] = c;
    }
    t->ready = 1;
}

uint64_t
crc64_update(struct crc64_table *t, uint64_t crc, const void *p, size_t len)
{
    const unsigned char *s = p;
    if (!t->ready) {
        fill(t);
    }
    for (size_t i = 0; i < len; i++) {
        crc = t->t[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
    }
    return crc;
}
