/* What the session files share (session.c: the connection, its request
 * FIFO and output; session_request.c: what a request does, answered by
 * the proxy or forwarded); the rest of the proxy sees only the session
 * functions of its header. */
#ifndef CACHELY_PROXY_SESSION_INT_H
#define CACHELY_PROXY_SESSION_INT_H

#include <stddef.h>

struct session;
struct preq;

/* session.c: a reply the proxy makes itself, in request order */
void session_local_reply(struct session *s, const char *p, size_t len);
/* session.c: a new request at the end of s's FIFO */
struct preq *session_preq_new(struct session *s);

/* session_request.c: run one request frame of s (parsed in s->parser) */
void session_handle_request(struct session *s, const char *frame, size_t framelen);

#endif
