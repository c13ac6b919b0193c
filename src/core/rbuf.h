/* A growable byte buffer with RESP helpers (rbuf.c), for every place that
 * builds bytes of unknown length: replies the proxy answers itself, INFO
 * text, a transaction's queued commands, the propagation and replication
 * encoders, the snapshot writer's argument lists, ACL rule text.  A zeroed
 * struct rbuf is empty; rbuf_free releases it. */
#ifndef CACHELY_CORE_RBUF_H
#define CACHELY_CORE_RBUF_H

#include <stddef.h>

struct rbuf {
    char *p;                     /* owned; rbuf_free releases it */
    size_t len, cap;
};

/* Grow b so that n more bytes fit (capacity doubles from 256); returns
 * where they go.  Callers write there and add n to b->len themselves. */
char *rbuf_grow(struct rbuf *b, size_t n);
/* rbuf_grow without the call when the bytes already fit: the hot paths
 * (propagation, the replication stream) reserve through this. */
static inline char *
rbuf_room(struct rbuf *b, size_t n)
{
    return b->cap - b->len >= n ? b->p + b->len : rbuf_grow(b, n);
}

/* Append len raw bytes (p is copied), a C string, or printf output. */
void rbuf_add(struct rbuf *b, const void *p, size_t len);
void rbuf_str(struct rbuf *b, const char *s);
void rbuf_printf(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A RESP header: prefix ('*', '$', ':', '%', '>'...) and n. */
void rbuf_hdr(struct rbuf *b, char prefix, long long n);
void rbuf_bulk(struct rbuf *b, const char *p, size_t len);
/* Each of lines[0..n) as a status reply (+line), as HELP answers list them. */
void rbuf_status_lines(struct rbuf *b, const char *const *lines, size_t n);
/* Keep a NUL after the bytes (not counted in len), for text used as a C
 * string. */
void rbuf_nul(struct rbuf *b);
void rbuf_free(struct rbuf *b);

#endif
