/* maxmemory enforcement: before a command that may grow memory runs, evict
 * keys by the configured policy until used memory is under the limit. */
#ifndef CACHELY_NODE_EVICT_H
#define CACHELY_NODE_EVICT_H

struct server;

/* Returns 0 when memory is under maxmemory (evicting as needed), or -1 when
 * it is over and nothing more can be evicted (the command must get -OOM). */
int evict_perform(struct server *srv);
/* Used memory as maxmemory counts it (bytes). */
unsigned long long evict_used_memory(const struct server *srv);

#endif
