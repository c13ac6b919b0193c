/* What the client files share (client.c, reply.c); the rest of the node
 * sees only client.h. */
#ifndef CACHELY_NODE_CLIENT_INT_H
#define CACHELY_NODE_CLIENT_INT_H

#include "node/client.h"

/* Queue c for writing when its first reply byte of this round arrives, as
 * Redis does: replies then leave newest queued first in Redis's order (a
 * client served or messaged by another's command before that command's
 * own reply, which Node's readiness-ordered reads depend on: issue 13). */
static inline void
client_queue_at_first_byte(struct client *c)
{
    if (c->bufpos == 0 && c->reply == NULL
        && !(c->flags & (CLIENT_PENDING_WRITE | CLIENT_WRITE_ARMED))) {
        client_queue_write(c);
    }
}

#endif
