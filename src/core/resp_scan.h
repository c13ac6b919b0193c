/* RESP reply scanner: finds where one complete reply (RESP2 or RESP3, any
 * nesting) ends in a buffer, without copying or decoding it, so a proxy can
 * forward replies as the bytes the server sent.  Resumable: progress inside
 * a large reply is kept, so a reply arriving in many reads is scanned once. */
#ifndef CACHELY_CORE_RESP_SCAN_H
#define CACHELY_CORE_RESP_SCAN_H

#include <stddef.h>

/* Nesting costs nothing here: the reply is complete when every element
 * announced so far has been read, so one count is all the state (an
 * aggregate of n swaps its own place for n places; an attribute adds its
 * pairs in front of the element it annotates).  A node may nest replies
 * as deep as it likes: a Lua script's self-referencing table comes back
 * nested to Lua's stack limit, far beyond any fixed depth. */
struct resp_scan {
    size_t pos;                           /* bytes of the reply scanned */
    long long left;                       /* elements still expected (1 at
                                             the start, 0 when complete) */
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
