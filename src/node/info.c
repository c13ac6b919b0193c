/* INFO rendering: one function per section, each printing Redis 7.0's field
 * names in Redis's order so that exporters, dashboards and client libraries
 * written for Redis read us unchanged.  Fields Cachely has no subsystem for
 * (persistence, replication, pub/sub, defrag) print the values an idle Redis
 * without that feature prints, rather than disappearing. */
/* RUSAGE_THREAD (main-thread CPU) is a GNU extension. */
#define _GNU_SOURCE
#include "node/info.h"
#include "node/migrate.h"
#include "config.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/db.h"
#include "node/entry.h"
#include "node/evict.h"
#include "node/expire.h"
#include "node/function.h"
#include "node/lazyfree.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/scripting.h"
#include "node/server.h"

#include <event2/event.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>


void
info_bytes_human(char *buf, size_t len, unsigned long long n)
{
    static const char units[] = "KMGTPE";
    double d = (double)n;
    int u = -1;

    if (n < 1024) {
        snprintf(buf, len, "%lluB", n);
        return;
    }
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    snprintf(buf, len, "%.2f%c", d, units[u]);
}

void
info_sample_peak(struct server *srv)
{
    size_t used = mem_used();
    if (used > srv->mem_peak) {
        srv->mem_peak = used;
    }
}

void
info_reset_stats(struct server *srv)
{
    struct node_stats *st = &srv->stats;
    long long start = st->start_ms;

    lazyfree_reset_stats();
    memset(st, 0, sizeof(*st));
    st->start_ms = start;
    lazyfree_reset_stats();
    st->ops_sample_time_ms = util_mstime();
    latency_reset_histograms(srv);
    memset(srv->cmdstats, 0, sizeof(srv->cmdstats));
    srv->ks.hits = 0;
    srv->ks.misses = 0;
    srv->ks.expired_keys = 0;
    srv->ks.evicted_keys = 0;
    srv->ks.expire_cycle_us = 0;
    srv->mem_peak = 0;
    info_sample_peak(srv);
}

size_t
info_memory_startup(const struct server *srv)
{
    return (size_t)srv->ks.ndb * (sizeof(struct db) + EXPIRE_SLOTS * sizeof(struct entry *));
}

size_t
info_memory_clients(const struct server *srv)
{
    size_t n = 0;
    for (const struct client *cl = srv->clients; cl; cl = cl->next) {
        n += clientmem_usage(cl);
    }
    return n;
}

void
info_db_overhead(const struct db *db, size_t *main, size_t *expires)
{
    const struct dict *d = &db->dict;
    *main = (d->t[0].size + d->t[1].size) * sizeof(struct entry *)
            + dict_size(d) * ENTRY_HEADER_SIZE;
    *expires = db->volatile_count * ENTRY_TTL_SIZE;
}

size_t
info_memory_overhead(const struct server *srv)
{
    size_t total = info_memory_startup(srv) + info_memory_clients(srv);
    for (int i = 0; i < srv->ks.ndb; i++) {
        size_t main, expires;
        info_db_overhead(&srv->ks.dbs[i], &main, &expires);
        total += main + expires;
    }
    return total;
}

static long long
avg_samples(const long long *samples, int n)
{
    long long sum = 0;
    for (int i = 0; i < n; i++) {
        sum += samples[i];
    }
    return sum / n;
}

/* ---- sections --------------------------------------------------------- */

static void
section_server(struct server *srv, struct rbuf *b)
{
    struct utsname un;
    long long uptime = server_uptime(srv);
    long long now_us = util_ustime();

    if (uname(&un) != 0) {
        memset(&un, 0, sizeof(un));
    }
    rbuf_printf(b,
                "# Server\r\n"
                "redis_version:%s\r\n"
                "cachely_version:%s\r\n"
                "redis_git_sha1:00000000\r\n"
                "redis_git_dirty:0\r\n"
                "redis_build_id:0\r\n"
                "redis_mode:standalone\r\n"
                "os:%s %s %s\r\n"
                "arch_bits:%d\r\n"
                "monotonic_clock:POSIX clock_gettime\r\n"
                "multiplexing_api:%s\r\n"
                /* Redis's name for the memory counter's __atomic builtins */
                "atomicvar_api:atomic-builtin\r\n"
                "gcc_version:%d.%d.%d\r\n"
                "process_id:%d\r\n"
                "process_supervised:no\r\n"
                "run_id:%s\r\n"
                "tcp_port:%lld\r\n"
                "server_time_usec:%lld\r\n"
                "uptime_in_seconds:%lld\r\n"
                "uptime_in_days:%lld\r\n"
                "hz:%lld\r\n"
                "configured_hz:%lld\r\n"
                "lru_clock:%lld\r\n"
                "executable:%s\r\n"
                "config_file:%s\r\n"
                "io_threads_active:0\r\n",
                CACHELY_REDIS_VERSION, PACKAGE_VERSION, un.sysname, un.release,
                un.machine, (int)(sizeof(long) * 8),
                srv->base ? event_base_get_method(srv->base) : "",
#ifdef __GNUC__
                __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                0, 0, 0,
#endif
                (int)getpid(), srv->run_id, srv->cfg.port, now_us, uptime,
                uptime / 86400, srv->cfg.hz, srv->cfg.hz,
                (now_us / 1000000) & ((1 << 24) - 1), srv->executable,
                srv->opts.config_file ? srv->opts.config_file : "");
}

static void
section_clients(struct server *srv, struct rbuf *b)
{
    size_t max_in = 0, max_out = 0, blocked = 0;
    for (struct client *c = srv->clients; c; c = c->next) {
        size_t out = client_pending_output(c);
        /* As Redis: clients in WAIT and clients held by CLIENT PAUSE. */
        blocked += (c->flags & CLIENT_BLOCKED) != 0;
        if (c->qbuf_peak > max_in) {
            max_in = c->qbuf_peak;
        }
        if (out > max_out) {
            max_out = out;
        }
    }
    rbuf_printf(b,
                "# Clients\r\n"
                "connected_clients:%zu\r\n"
                "cluster_connections:0\r\n"
                "maxclients:%lld\r\n"
                "client_recent_max_input_buffer:%zu\r\n"
                "client_recent_max_output_buffer:%zu\r\n"
                "blocked_clients:%zu\r\n"
                "tracking_clients:%zu\r\n"
                "clients_in_timeout_table:%zu\r\n"
                "tagged_waits:%zu\r\n",
                srv->nclients, srv->cfg.maxclients, max_in, max_out,
                blocked + block_tagged_blocked(srv), srv->tracking.nclients,
                block_timed_clients(srv), block_tagged_waits(srv));
}

/* The scripts' lines of INFO memory, Redis 7.0's names and order: the two
 * Lua heaps, the EVAL cache, the libraries. */
static void
section_memory_scripts(struct server *srv, struct rbuf *b)
{
    struct scripting_mem m;
    size_t nfns, nlibs, fbytes;
    char h_lua[32], h_vm[32], h_scripts[32];
    scripting_memory(srv, &m);
    function_stats(&nfns, &nlibs, &fbytes);
    info_bytes_human(h_lua, sizeof(h_lua), m.lua_eval);
    info_bytes_human(h_vm, sizeof(h_vm), m.lua_eval + m.lua_functions);
    info_bytes_human(h_scripts, sizeof(h_scripts), m.scripts_eval + fbytes);
    rbuf_printf(b,
                "used_memory_lua:%zu\r\n"
                "used_memory_vm_eval:%zu\r\n"
                "used_memory_lua_human:%s\r\n"
                "used_memory_scripts_eval:%zu\r\n"
                "number_of_cached_scripts:%zu\r\n"
                "number_of_functions:%zu\r\n"
                "number_of_libraries:%zu\r\n"
                "used_memory_vm_functions:%zu\r\n"
                "used_memory_vm_total:%zu\r\n"
                "used_memory_vm_total_human:%s\r\n"
                "used_memory_functions:%zu\r\n"
                "used_memory_scripts:%zu\r\n"
                "used_memory_scripts_human:%s\r\n",
                m.lua_eval, m.lua_eval, h_lua, m.scripts_eval, m.cached_scripts, nfns, nlibs,
                m.lua_functions, m.lua_eval + m.lua_functions, h_vm, fbytes,
                m.scripts_eval + fbytes, h_scripts);
}

static void
section_memory(struct server *srv, struct rbuf *b)
{
    struct mem_allocator_stats as;
    size_t used = mem_used();
    size_t rss = mem_rss();
    size_t clients_mem = 0, replicas_mem = 0, lf_pending;
    long long lf_freed;
    struct evict_uncounted unc;
    lazyfree_object_counts(&lf_pending, &lf_freed);
    long pages = sysconf(_SC_PHYS_PAGES);
    long psize = sysconf(_SC_PAGESIZE);
    unsigned long long total_sys =
        pages > 0 && psize > 0 ? (unsigned long long)pages * (unsigned long long)psize : 0;
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32];

    info_sample_peak(srv);
    mem_allocator_stats(&as);
    size_t startup = info_memory_startup(srv);
    size_t overhead = info_memory_overhead(srv);
    size_t dataset = used > overhead ? used - overhead : 0;
    for (struct client *c = srv->clients; c; c = c->next) {
        /* What CLIENT LIST's tot-mem says, summed, as Redis does. */
        if (c->flags & CLIENT_REPLICA) {
            replicas_mem += clientmem_usage(c);
        } else {
            clients_mem += clientmem_usage(c);
        }
    }
    evict_uncounted(srv, &unc);
    info_bytes_human(h_used, sizeof(h_used), used);
    info_bytes_human(h_rss, sizeof(h_rss), rss);
    info_bytes_human(h_peak, sizeof(h_peak), srv->mem_peak);
    info_bytes_human(h_sys, sizeof(h_sys), total_sys);
    info_bytes_human(h_max, sizeof(h_max), srv->cfg.maxmemory);
    rbuf_printf(b,
                "# Memory\r\n"
                "used_memory:%zu\r\n"
                "used_memory_human:%s\r\n"
                "used_memory_rss:%zu\r\n"
                "used_memory_rss_human:%s\r\n"
                "used_memory_peak:%zu\r\n"
                "used_memory_peak_human:%s\r\n"
                "used_memory_peak_perc:%.2f%%\r\n"
                "used_memory_overhead:%zu\r\n"
                "used_memory_startup:%zu\r\n"
                "used_memory_dataset:%zu\r\n"
                "used_memory_dataset_perc:%.2f%%\r\n"
                "allocator_allocated:%zu\r\n"
                "allocator_active:%zu\r\n"
                "allocator_resident:%zu\r\n"
                "total_system_memory:%llu\r\n"
                "total_system_memory_human:%s\r\n",
                used, h_used, rss, h_rss, srv->mem_peak, h_peak,
                srv->mem_peak ? (double)used * 100 / (double)srv->mem_peak : 0.0,
                overhead, startup, dataset,
                used > startup ? (double)dataset * 100 / (double)(used - startup) : 0.0,
                as.allocated, as.active, as.resident, total_sys, h_sys);
    section_memory_scripts(srv, b);
    rbuf_printf(b,
                "maxmemory:%llu\r\n"
                "maxmemory_human:%s\r\n"
                "maxmemory_policy:%s\r\n"
                "allocator_frag_ratio:%.2f\r\n"
                "allocator_frag_bytes:%lld\r\n"
                "allocator_rss_ratio:%.2f\r\n"
                "allocator_rss_bytes:%lld\r\n"
                "rss_overhead_ratio:%.2f\r\n"
                "rss_overhead_bytes:%lld\r\n"
                "mem_fragmentation_ratio:%.2f\r\n"
                "mem_fragmentation_bytes:%lld\r\n"
                "mem_not_counted_for_evict:%zu\r\n"
                "mem_replication_backlog:%zu\r\n"
                "mem_total_replication_buffers:%zu\r\n"
                "mem_clients_slaves:%zu\r\n"
                "mem_clients_normal:%zu\r\n"
                "mem_cluster_links:0\r\n" /* no cluster bus */
                "mem_aof_buffer:%zu\r\n"
                "mem_allocator:%s\r\n"
                "active_defrag_running:0\r\n"
                "lazyfree_pending_objects:%zu\r\n"
                "lazyfreed_objects:%lld\r\n",
                srv->cfg.maxmemory, h_max,
                maxmemory_policy_names[srv->cfg.maxmemory_policy],
                as.allocated ? (double)as.active / (double)as.allocated : 0.0,
                (long long)as.active - (long long)as.allocated,
                as.active ? (double)as.resident / (double)as.active : 0.0,
                (long long)as.resident - (long long)as.active,
                as.resident ? (double)rss / (double)as.resident : 0.0,
                (long long)rss - (long long)as.resident,
                used ? (double)rss / (double)used : 0.0,
                (long long)rss - (long long)used, unc.total, unc.backlog,
                unc.backlog + unc.replica_buffers, replicas_mem, clients_mem,
                unc.aof_buffers, mem_allocator_name(), lf_pending, lf_freed);
}

/* Redis's field names and order; persist.c keeps the values (fields for
 * features Cachely does not have, such as copy-on-write sizes, stay 0). */
static void
section_persistence(struct server *srv, struct rbuf *b)
{
    const struct persist *ps = &srv->persist;
    long long now = util_mstime();
    int bgsave = ps->child_kind == PERSIST_CHILD_SAVE;
    int rewrite = ps->child_kind == PERSIST_CHILD_REWRITE;
    rbuf_printf(b,
                "# Persistence\r\n"
                "loading:0\r\n"
                "async_loading:0\r\n"
                "current_cow_peak:0\r\n"
                "current_cow_size:0\r\n"
                "current_cow_size_age:0\r\n"
                "current_fork_perc:0.00\r\n"
                "current_save_keys_processed:0\r\n"
                "current_save_keys_total:0\r\n"
                "rdb_changes_since_last_save:%lld\r\n"
                "rdb_bgsave_in_progress:%d\r\n"
                "rdb_last_save_time:%lld\r\n"
                "rdb_last_bgsave_status:%s\r\n"
                "rdb_last_bgsave_time_sec:%lld\r\n"
                "rdb_current_bgsave_time_sec:%lld\r\n"
                "rdb_saves:%lld\r\n"
                "rdb_last_cow_size:0\r\n"
                "rdb_last_load_keys_expired:0\r\n"
                "rdb_last_load_keys_loaded:%lld\r\n"
                "aof_enabled:%d\r\n"
                "aof_rewrite_in_progress:%d\r\n"
                "aof_rewrite_scheduled:%d\r\n"
                "aof_last_rewrite_time_sec:%lld\r\n"
                "aof_current_rewrite_time_sec:%lld\r\n"
                "aof_last_bgrewrite_status:%s\r\n"
                "aof_rewrites:%lld\r\n"
                "aof_rewrites_consecutive_failures:0\r\n"
                "aof_last_write_status:%s\r\n"
                "aof_last_cow_size:0\r\n"
                "module_fork_in_progress:0\r\n"
                "module_fork_last_cow_size:0\r\n",
                srv->ks.dirty - ps->dirty_at_save, bgsave, ps->lastsave,
                ps->last_bgsave_ok ? "ok" : "err", ps->last_bgsave_time_sec,
                bgsave ? (now - ps->child_start_ms) / 1000 : -1, ps->rdb_saves,
                ps->loaded_keys, ps->aof_state != AOF_OFF, rewrite,
                ps->aof_rewrite_scheduled, ps->aof_last_rewrite_time_sec,
                rewrite ? (now - ps->child_start_ms) / 1000 : -1,
                ps->aof_last_rewrite_ok ? "ok" : "err", ps->aof_rewrites,
                ps->aof_last_write_ok ? "ok" : "err");
    if (ps->aof_state != AOF_OFF) {
        rbuf_printf(b,
                    "aof_current_size:%lld\r\n"
                    "aof_base_size:%lld\r\n"
                    "aof_pending_rewrite:%d\r\n"
                    "aof_buffer_length:%zu\r\n"
                    "aof_pending_bio_fsync:0\r\n"
                    "aof_delayed_fsync:0\r\n",
                    ps->aof_size, ps->aof_base_size, ps->aof_rewrite_scheduled,
                    ps->aof_len);
    }
}

static void
section_stats(struct server *srv, struct rbuf *b)
{
    const struct node_stats *st = &srv->stats;
    const struct keyspace *ks = &srv->ks;
    long long lookups = ks->hits + ks->misses;
    long long exceeded = srv->maxmemory_reached_ms > 0
                             ? util_mstime() - srv->maxmemory_reached_ms : 0;
    long long ps_channels, ps_patterns, ps_shard, tr_clients, tr_keys, tr_items, tr_prefixes;
    pubsub_stats(srv, &ps_channels, &ps_patterns, &ps_shard);
    tracking_stats(srv, &tr_clients, &tr_keys, &tr_items, &tr_prefixes);

    rbuf_printf(b,
                "# Stats\r\n"
                "total_connections_received:%lld\r\n"
                "total_commands_processed:%lld\r\n"
                "instantaneous_ops_per_sec:%lld\r\n"
                "total_net_input_bytes:%lld\r\n"
                "total_net_output_bytes:%lld\r\n"
                "total_net_repl_input_bytes:0\r\n"
                "total_net_repl_output_bytes:0\r\n"
                "instantaneous_input_kbps:%.2f\r\n"
                "instantaneous_output_kbps:%.2f\r\n"
                "instantaneous_input_repl_kbps:0.00\r\n"
                "instantaneous_output_repl_kbps:0.00\r\n"
                "rejected_connections:%lld\r\n"
                "sync_full:%lld\r\n"
                "sync_partial_ok:%lld\r\n"
                "sync_partial_err:%lld\r\n"
                "expired_keys:%lld\r\n"
                "expired_stale_perc:0.00\r\n"
                "expired_time_cap_reached_count:0\r\n"
                "expire_cycle_cpu_milliseconds:%lld\r\n"
                "evicted_keys:%lld\r\n"
                "evicted_clients:%lld\r\n"
                "total_eviction_exceeded_time:0\r\n"
                "current_eviction_exceeded_time:%lld\r\n"
                "keyspace_hits:%lld\r\n"
                "keyspace_misses:%lld\r\n"
                /* Not a Redis field: the hit ratio every cache dashboard
                 * wants, computed here so nobody divides by zero. */
                "keyspace_hit_ratio:%.4f\r\n"
                "pubsub_channels:%lld\r\n"
                "pubsub_patterns:%lld\r\n"
                "pubsubshard_channels:%lld\r\n"
                "latest_fork_usec:0\r\n"
                "total_forks:0\r\n"
                "migrate_cached_sockets:%zu\r\n"
                "slave_expires_tracked_keys:0\r\n"
                "active_defrag_hits:0\r\n"
                "active_defrag_misses:0\r\n"
                "active_defrag_key_hits:0\r\n"
                "active_defrag_key_misses:0\r\n"
                "total_active_defrag_time:0\r\n"
                "current_active_defrag_time:0\r\n"
                "tracking_total_keys:%lld\r\n"
                "tracking_total_items:%lld\r\n"
                "tracking_total_prefixes:%lld\r\n"
                "unexpected_error_replies:%lld\r\n"
                "total_error_replies:%lld\r\n"
                "dump_payload_sanitizations:0\r\n"
                "total_reads_processed:%lld\r\n"
                "total_writes_processed:%lld\r\n"
                "io_threaded_reads_processed:0\r\n" /* no I/O threads */
                "io_threaded_writes_processed:0\r\n"
                "client_query_buffer_limit_disconnections:%lld\r\n"
                "client_output_buffer_limit_disconnections:%lld\r\n",
                st->total_connections, st->total_commands,
                avg_samples(st->ops_samples, 16), st->net_input_bytes,
                st->net_output_bytes,
                (double)avg_samples(st->net_in_samples, 16) / 1024,
                (double)avg_samples(st->net_out_samples, 16) / 1024,
                st->rejected_connections, srv->repl.sync_full,
                srv->repl.sync_partial_ok, srv->repl.sync_partial_err, ks->expired_keys,
                ks->expire_cycle_us / 1000, ks->evicted_keys, st->evicted_clients,
                exceeded, ks->hits, ks->misses,
                lookups ? (double)ks->hits / (double)lookups : 0.0,
                ps_channels, ps_patterns, ps_shard, migrate_cached_sockets(srv), tr_keys, tr_items, tr_prefixes,
                st->unexpected_error_replies, st->total_error_replies, st->total_reads,
                st->total_writes, st->client_qbuf_limit_disconnections,
                st->client_obuf_limit_disconnections);
}

/* Replication, with Redis's field names: the role, the attached replicas
 * (slaveN lines) or the link to our master, and the stream position. */
static void
section_replication(struct server *srv, struct rbuf *b)
{
    struct repl *r = &srv->repl;
    long long now = util_mstime();

    rbuf_printf(b, "# Replication\r\nrole:%s\r\n", repl_is_replica(srv) ? "slave" : "master");
    if (repl_is_replica(srv)) {
        int up = r->link_state == REPL_LINK_CONNECTED;
        rbuf_printf(b,
                    "master_host:%s\r\n"
                    "master_port:%d\r\n"
                    "master_link_status:%s\r\n"
                    "master_last_io_seconds_ago:%lld\r\n"
                    "master_sync_in_progress:%d\r\n"
                    "slave_read_repl_offset:%lld\r\n"
                    "slave_repl_offset:%lld\r\n",
                    r->master_host, r->master_port, up ? "up" : "down",
                    r->last_io_ms ? (now - r->last_io_ms) / 1000 : -1,
                    r->link_state == REPL_LINK_TRANSFER, r->offset, r->offset);
        if (r->link_state == REPL_LINK_TRANSFER) {
            rbuf_printf(b,
                        "master_sync_total_bytes:-1\r\n"
                        "master_sync_read_bytes:%lld\r\n"
                        "master_sync_left_bytes:-1\r\n"
                        "master_sync_perc:-1.00\r\n"
                        "master_sync_last_io_seconds_ago:%lld\r\n",
                        r->transfer_bytes,
                        r->last_io_ms ? (now - r->last_io_ms) / 1000 : -1);
        }
        if (!up) {
            rbuf_printf(b, "master_link_down_since_seconds:%lld\r\n",
                        r->link_down_since_ms ? (now - r->link_down_since_ms) / 1000 : -1);
        }
        rbuf_printf(b,
                    "slave_priority:%lld\r\n"
                    "slave_read_only:%d\r\n"
                    "replica_announced:1\r\n",
                    srv->cfg.replica_priority, srv->cfg.replica_read_only);
    }
    rbuf_printf(b, "connected_slaves:%zu\r\n", r->nreplicas);
    if (!repl_is_replica(srv) && srv->cfg.min_replicas_to_write > 0) {
        rbuf_printf(b, "min_slaves_good_slaves:%d\r\n", repl_good_replicas(srv));
    }
    for (size_t i = 0; i < r->nreplicas; i++) {
        struct client *c = r->replicas[i];
        char ip[64];
        const char *colon;
        if (c->repl_ip[0]) {
            snprintf(ip, sizeof(ip), "%s", c->repl_ip);
        } else {
            colon = strrchr(c->addr, ':');
            snprintf(ip, sizeof(ip), "%.*s", colon ? (int)(colon - c->addr) : 0, c->addr);
        }
        rbuf_printf(b, "slave%zu:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", i,
                    ip, c->repl_listening_port,
                    c->repl_state == REPLICA_ONLINE ? "online" : "wait_bgsave",
                    c->repl_ack_off,
                    c->repl_ack_ms ? (now - c->repl_ack_ms) / 1000 : 0);
    }
    rbuf_printf(b,
                "master_failover_state:no-failover\r\n"
                "master_replid:%s\r\n"
                "master_replid2:%s\r\n"
                "master_repl_offset:%lld\r\n"
                "second_repl_offset:%lld\r\n"
                "repl_backlog_active:%d\r\n"
                "repl_backlog_size:%llu\r\n"
                "repl_backlog_first_byte_offset:%lld\r\n"
                "repl_backlog_histlen:%zu\r\n"
                /* Ours, not Redis's: last, so Redis's fields keep their order. */
                "config_epoch:%lld\r\n",
                r->replid, r->replid2, r->offset, r->second_replid_offset,
                r->backlog != NULL, srv->cfg.repl_backlog_size,
                r->backlog ? r->offset - (long long)r->backlog_histlen + 1 : 0,
                r->backlog ? r->backlog_histlen : 0, r->config_epoch);
}

static void
section_cpu(struct server *srv, struct rbuf *b)
{
    char text[512];
    (void)srv;
    util_info_cpu(text, sizeof(text));
    rbuf_printf(b, "%s", text);
}

static void
section_modules(struct server *srv, struct rbuf *b)
{
    (void)srv;
    rbuf_printf(b, "# Modules\r\n");
}

/* Every command row, subcommands included, that has been called or refused,
 * under its Redis 7 full name ("config|get"). */
static void
section_commandstats(struct server *srv, struct rbuf *b)
{
    rbuf_printf(b, "# Commandstats\r\n");
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command_stats *cs = &srv->cmdstats[id];
        if (cs->calls == 0 && cs->rejected_calls == 0 && cs->failed_calls == 0) {
            continue;
        }
        rbuf_printf(b,
                    "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,"
                    "rejected_calls=%lld,failed_calls=%lld\r\n",
                    command_get((enum cmd_id)id)->fullname, cs->calls, cs->usec,
                    cs->calls ? (double)cs->usec / (double)cs->calls : 0.0,
                    cs->rejected_calls, cs->failed_calls);
    }
}

static void
section_errorstats(struct server *srv, struct rbuf *b)
{
    /* In byte order of the codes, as Redis lists them (from a radix
     * tree), whatever order they first happened in. */
    int order[sizeof(srv->stats.errors) / sizeof(srv->stats.errors[0])];
    int n = srv->stats.nerrors;
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && strcmp(srv->stats.errors[order[j - 1]].prefix,
                               srv->stats.errors[i].prefix) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    rbuf_printf(b, "# Errorstats\r\n");
    for (int k = 0; k < n; k++) {
        rbuf_printf(b, "errorstat_%s:count=%lld\r\n", srv->stats.errors[order[k]].prefix,
                    srv->stats.errors[order[k]].count);
    }
}

static void
section_cluster(struct server *srv, struct rbuf *b)
{
    (void)srv;
    rbuf_printf(b, "# Cluster\r\ncluster_enabled:0\r\n");
}

/* avg_ttl is exact here (Redis estimates it from samples): the mean of the
 * remaining milliseconds of the volatile keys, from the running sum. */
static void
section_keyspace(struct server *srv, struct rbuf *b)
{
    long long now = util_mstime();
    rbuf_printf(b, "# Keyspace\r\n");
    for (int i = 0; i < srv->ks.ndb; i++) {
        struct db *db = &srv->ks.dbs[i];
        size_t keys = dict_size(&db->dict);
        long long avg = 0;
        if (keys == 0) {
            continue;
        }
        if (db->volatile_count > 0) {
            long double mean = db->expire_sum / (long double)db->volatile_count;
            long double rest = mean - (long double)now;
            /* Clamped before the conversion: keys expiring near LLONG_MAX
             * ms would make it overflow (undefined). */
            avg = rest <= 0 ? 0 : rest >= (long double)LLONG_MAX ? LLONG_MAX
                                                                 : (long long)rest;
        }
        rbuf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i, keys,
                    db->volatile_count, avg);
    }
}

/* ---- selection -------------------------------------------------------- */

enum info_group {
    INFO_DEFAULT = 1 << 0,   /* INFO with no argument, INFO default */
    INFO_ALL = 1 << 1,       /* INFO all */
    INFO_EVERYTHING = 1 << 2 /* INFO everything */
};

#define INFO_D (INFO_DEFAULT | INFO_ALL | INFO_EVERYTHING)
#define INFO_A (INFO_ALL | INFO_EVERYTHING)

static const struct info_section {
    const char *name;
    unsigned groups;
    void (*render)(struct server *srv, struct rbuf *b);
} info_sections[] = {
    {"server", INFO_D, section_server},
    {"clients", INFO_D, section_clients},
    {"memory", INFO_D, section_memory},
    {"persistence", INFO_D, section_persistence},
    {"stats", INFO_D, section_stats},
    {"replication", INFO_D, section_replication},
    {"cpu", INFO_D, section_cpu},
    {"modules", INFO_D, section_modules},
    {"commandstats", INFO_A, section_commandstats},
    {"errorstats", INFO_D, section_errorstats},
    {"latencystats", INFO_A, latency_info_stats},
    {"cluster", INFO_D, section_cluster},
    {"keyspace", INFO_D, section_keyspace},
};

#define INFO_NSECTIONS (sizeof(info_sections) / sizeof(info_sections[0]))

static int
name_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

char *
info_render(struct server *srv, const char *const *sections, const size_t *lens,
            int nsections, size_t *len)
{
    struct rbuf b = {0};
    int want[INFO_NSECTIONS];
    int first = 1;

    memset(want, 0, sizeof(want));
    for (size_t k = 0; k < INFO_NSECTIONS; k++) {
        want[k] = nsections <= 0 && (info_sections[k].groups & INFO_DEFAULT);
    }
    for (int i = 0; i < nsections; i++) {
        unsigned group = 0;
        if (name_is(sections[i], lens[i], "default")) {
            group = INFO_DEFAULT;
        } else if (name_is(sections[i], lens[i], "all")) {
            group = INFO_ALL;
        } else if (name_is(sections[i], lens[i], "everything")) {
            group = INFO_EVERYTHING;
        }
        for (size_t k = 0; k < INFO_NSECTIONS; k++) {
            if ((info_sections[k].groups & group)
                || name_is(sections[i], lens[i], info_sections[k].name)) {
                want[k] = 1;
            }
        }
    }
    for (size_t k = 0; k < INFO_NSECTIONS; k++) {
        if (!want[k]) {
            continue;
        }
        if (!first) {
            rbuf_printf(&b, "\r\n");
        }
        first = 0;
        info_sections[k].render(srv, &b);
    }
    rbuf_nul(&b);              /* callers get a C string, even when empty */
    *len = b.len;
    return b.p;
}
