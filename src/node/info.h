/* INFO: the sections Redis prints, with Redis's field names, so exporters
 * and dashboards built for Redis parse them. */
#ifndef CACHELY_NODE_INFO_H
#define CACHELY_NODE_INFO_H

#include <stddef.h>

struct db;
struct server;

/* Render INFO for the given section names (NULL/0 = default sections).
 * Names are matched case-insensitively; "default", "all" and "everything"
 * select groups of sections as in Redis 7.0 and unknown names select nothing.
 * Sections always come out in Redis's order, whatever order they were asked
 * in.  Returns a mem_alloc'd NUL-terminated string the caller frees; *len is
 * set. */
char *info_render(struct server *srv, const char *const *sections,
                  const size_t *lens, int nsections, size_t *len);

/* Raise srv->mem_peak to the current used memory.  Called by the cron and by
 * INFO so the peak stays close to the truth between samples. */
void info_sample_peak(struct server *srv);

/* Zero every statistic CONFIG RESETSTAT resets: server counters, per-command
 * and per-error statistics, keyspace hits/misses/expired/evicted, and the
 * memory peak (restarted from current usage). */
void info_reset_stats(struct server *srv);

/* The memory figures INFO's used_memory_overhead/_startup/_dataset and
 * MEMORY STATS share (Redis takes both from one function): */
/* what the keyspace held before any key was written (the database array
 * and each database's TTL wheel; Redis's startup.allocated), */
size_t info_memory_startup(const struct server *srv);
/* the clients' structures, query buffers and queued replies, */
size_t info_memory_clients(const struct server *srv);
/* a database's table: its bucket arrays and per-key headers (Redis's
 * dictEntry) in *main, its TTL blocks (Redis's expires table) in *expires, */
void info_db_overhead(const struct db *db, size_t *main, size_t *expires);
/* and their sum, startup and clients included: used_memory_overhead. */
size_t info_memory_overhead(const struct server *srv);

/* Format bytes the way Redis's *_human fields do ("1.09M", "0B"); buf needs
 * 32 bytes. */
void info_bytes_human(char *buf, size_t len, unsigned long long n);

#endif
