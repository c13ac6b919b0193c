/* The proxy's use of core/rbuf.h: a reply built in an rbuf goes to a
 * session with rbuf_reply (rbuf_writer.c). */
#ifndef CACHELY_PROXY_RBUF_H
#define CACHELY_PROXY_RBUF_H

#include "core/rbuf.h"

struct session;

/* Send what b holds to s (session_reply) and empty it (capacity kept). */
void rbuf_reply(struct session *s, struct rbuf *b);

#endif
