/* The proxy's HTTP interface (http.c). */
#ifndef CACHELY_PROXY_HTTP_H
#define CACHELY_PROXY_HTTP_H

struct proxy;
struct node;

/* Listen for HTTP on bind:http-port when http-port is not 0 (/cache/get,
 * /cache/set, /cache/del, /health, /metrics, /topology).  Returns 0 or -1
 * (logged).  Teardown before topology_teardown; safe when not set up. */
int http_setup(struct proxy *px);
void http_teardown(struct proxy *px);
/* Count one reply of node n that took us microseconds (backend.c); returns
 * the index of the bucket counted in (n->latency_buckets), so that replies
 * of the same latency can be counted there directly. */
int http_observe_latency(struct node *n, long long us);

#endif
