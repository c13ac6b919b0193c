/* RESP reply scanner: finds where one complete reply (RESP2 or RESP3, any
 * nesting) ends in a buffer, without copying or decoding it, so a proxy can
 * forward replies as the bytes the server sent.  Resumable: progress inside
 * a large reply is kept, so a reply arriving in many reads is scanned once. */
#ifndef CACHELY_CORE_RESP_SCAN_H
#define CACHELY_CORE_RESP_SCAN_H

#include <stddef.h>

#define RESP_SCAN_MAX_DEPTH 32

struct resp_scan {
    size_t pos;                           /* bytes of the reply scanned */
    int depth;                            /* open aggregates */
    long long left[RESP_SCAN_MAX_DEPTH];  /* elements still expected */
    unsigned char attr[RESP_SCAN_MAX_DEPTH]; /* aggregate is an attribute */
    char type;                            /* first byte of the reply */
    int error;                            /* sticky */
};

void resp_scan_init(struct resp_scan *s);
/* Scan buf[0..len), which starts at the reply being scanned (the same bytes
 * as in earlier calls, possibly more).  Returns 1 when the reply is complete
 * (its length is s->pos; call resp_scan_init before the next one), 0 when
 * more bytes are needed, -1 on a protocol error. */
int resp_scan_next(struct resp_scan *s, const char *buf, size_t len);

#endif
