/* Table-driven reflected CRC-64 for any polynomial, one lookup per byte.
 * Two users: the snapshot file's checksum (ECMA-182's polynomial, with the
 * usual inversion before and after: node/snapfile.c) and Redis's DUMP
 * payload footer (Jones's polynomial, no inversion: node/dump.c).  A table
 * fills itself on first use. */
#ifndef CACHELY_CORE_CRC64_H
#define CACHELY_CORE_CRC64_H

#include <stddef.h>
#include <stdint.h>

struct crc64_table {
    uint64_t poly;        /* reflected polynomial */
    int ready;
    uint64_t t[256];
};

/* A table for poly, filled on first use: struct crc64_table x = CRC64_TABLE(p); */
#define CRC64_TABLE(poly) {(poly), 0, {0}}

/* crc continued over p[0..len), no inversion: the caller inverts the
 * input and the result where its variant does. */
uint64_t crc64_update(struct crc64_table *t, uint64_t crc, const void *p, size_t len);

#endif
