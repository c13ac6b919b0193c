/* maxmemory enforcement: before a command that may grow memory runs, evict
 * keys by the configured policy until used memory is under the limit. */
#ifndef CACHELY_NODE_EVICT_H
#define CACHELY_NODE_EVICT_H

#include <stddef.h>

struct server;

/* Returns 0 when memory is under maxmemory (evicting as needed), or -1 when
 * it is over and nothing more can be evicted (the command must get -OOM). */
int evict_perform(struct server *srv);
/* Memory maxmemory does not count (INFO memory's mem_not_counted_for_evict
 * and its parts), in bytes. */
struct evict_uncounted {
    size_t replica_buffers;     /* output queued for replicas */
    size_t backlog;             /* the replication backlog */
    size_t aof_buffers;         /* the AOF buffer and the rewrite buffer */
    size_t total;
};
void evict_uncounted(const struct server *srv, struct evict_uncounted *u);
/* Used memory as maxmemory counts it (bytes): mem_used() without the
 * replication and append-only buffers. */
unsigned long long evict_used_memory(const struct server *srv);
/* The keyspace dicts' veto on growing (arg: the server), as Redis 7.0's:
 * while a dict holds at most 1.618 entries a bucket, it does not grow
 * when its new bucket array would take memory past maxmemory (which would
 * evict keys only to make room for the table). */
int evict_dict_expand_allowed(size_t more_bytes, size_t count, size_t size, void *arg);

#endif
