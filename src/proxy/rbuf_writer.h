/* A core/resp_writer.h writer over a proxy rbuf (the reply a session is
 * about to send), for the reply code both binaries share
 * (core/acl_reply.c...). */
#ifndef CACHELY_PROXY_RBUF_WRITER_H
#define CACHELY_PROXY_RBUF_WRITER_H

#include "core/resp_writer.h"

struct rbuf;

/* Point w at b, encoding for protocol proto (2 or 3).  w borrows b. */
void rbuf_writer_init(struct resp_writer *w, struct rbuf *b, int proto);

#endif
