/* The optional HTTP interface (http-port): /cache/get, /cache/set,
 * /cache/del, /health and Prometheus /metrics, served by evhttp on the
 * node's event loop. */
#ifndef CACHELY_NODE_HTTP_H
#define CACHELY_NODE_HTTP_H

struct server;

/* Start listening on http-port when it is non-zero.  Returns 0 or -1. */
int http_setup(struct server *srv);
void http_teardown(struct server *srv);

#endif
