/* A core/resp_writer.h writer over a node client's reply buffer, for the
 * reply code both binaries share (core/acl_reply.c...).  The node's own
 * handlers keep calling reply_* directly. */
#ifndef CACHELY_NODE_REPLY_WRITER_H
#define CACHELY_NODE_REPLY_WRITER_H

#include "core/resp_writer.h"

struct client;

/* Point w at c's replies in c's protocol (RESP2/3).  w borrows c: use it
 * while c lives, within the command being answered. */
void reply_writer_init(struct resp_writer *w, struct client *c);

#endif
