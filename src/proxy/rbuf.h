/* A reply under construction (rbuf.c): a growable buffer with RESP helpers,
 * sent to a session with rbuf_reply. */
#ifndef CACHELY_PROXY_RBUF_H
#define CACHELY_PROXY_RBUF_H

#include <stddef.h>

struct session;

/* A reply under construction (pub/sub, SENTINEL): a growable buffer. */
struct rbuf {
    char *p;                     /* owned; rbuf_free releases it */
    size_t len, cap;
};

/* Append len raw bytes (p is copied), a C string, or printf output. */
void rbuf_add(struct rbuf *b, const void *p, size_t len);
void rbuf_str(struct rbuf *b, const char *s);
void rbuf_printf(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A RESP header: prefix ('*', '$', ':', '%', '>'...) and n. */
void rbuf_hdr(struct rbuf *b, char prefix, long long n);
void rbuf_bulk(struct rbuf *b, const char *p, size_t len);
/* Each of lines[0..n) as a status reply (+line), as HELP answers list them. */
void rbuf_status_lines(struct rbuf *b, const char *const *lines, size_t n);
/* Send what b holds to s (session_reply) and empty it (capacity kept). */
void rbuf_reply(struct session *s, struct rbuf *b);
void rbuf_free(struct rbuf *b);

#endif
