/* Every cachely-server option: name, type, default, bounds, mutability and
 * the line --help prints.  conf/cachely.conf documents the same list. */
#include "node/options.h"
#include "core/alloc.h"
#include "node/acl.h"
#include "core/log.h"
#include "core/util.h"
#include "node/listen.h"
#include "node/notify.h"
#include "node/persist.h"
#include "node/server.h"
#include "node/tls.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *const maxmemory_policy_names[] = {
#define MM_NAME(sym, name) name,
    MAXMEMORY_POLICY_LIST(MM_NAME)
#undef MM_NAME
    NULL,
};


static const char *const cob_class_names[] = {"normal", "replica", "pubsub"};

const char *const protected_action_names[] = {"no", "yes", "local", NULL};

static const char *const acl_pubsub_names[] = {"allchannels", "resetchannels", NULL};

static const char *const sanitize_dump_names[] = {"no", "yes", "clients", NULL};

static int
apply_requirepass(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    (void)err;
    (void)errlen;
    acl_apply_requirepass(ctx);
    return 0;
}

static int
apply_acl_pubsub(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    (void)err;
    (void)errlen;
    acl_set_pubsub_default(srv->cfg.acl_pubsub_default == 0);
    return 0;
}

/* client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...] */
static int
cob_parse(const struct option_def *def, void *values, const char *value,
          char *err, size_t errlen)
{
    struct node_config *cfg = values;
    char *words[64];
    char scratch[1024];
    struct cob_limit tmp[COB__COUNT];
    int n;

    (void)def;
    if (strlen(value) >= sizeof(scratch)) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    n = option_split_line(value, scratch, words, 64);
    if (n <= 0 || n % 4 != 0) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    memcpy(tmp, cfg->cob, sizeof(tmp));
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        unsigned long long hard, soft;
        long long secs;
        for (int k = 0; k < COB__COUNT; k++) {
            if (!strcasecmp(words[i], cob_class_names[k])) {
                cls = k;
            }
        }
        if (!strcasecmp(words[i], "slave")) {
            cls = COB_REPLICA;
        }
        if (cls < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (util_memtoull(words[i + 1], &hard) != 0
            || util_memtoull(words[i + 2], &soft) != 0
            || util_str2ll(words[i + 3], strlen(words[i + 3]), &secs) != 0
            || secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        tmp[cls].hard = hard;
        tmp[cls].soft = soft;
        tmp[cls].soft_seconds = secs;
    }
    memcpy(cfg->cob, tmp, sizeof(tmp));
    return 0;
}

static void
cob_format(const struct option_def *def, const void *values, char *buf,
           size_t len)
{
    const struct node_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int k = 0; k < COB__COUNT && off < len; k++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%s %llu %llu %lld",
                                k ? " " : "", k == COB_REPLICA ? "slave" : cob_class_names[k],
                                cfg->cob[k].hard, cfg->cob[k].soft,
                                cfg->cob[k].soft_seconds);
    }
}

/* notify-keyspace-events: Redis's class letters. */
static int
notify_parse(const struct option_def *def, void *values, const char *value, char *err,
             size_t errlen)
{
    struct node_config *cfg = values;
    int classes = notify_parse_classes(value);
    (void)def;
    if (classes < 0) {
        snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    cfg->notify_keyspace_events = classes;
    return 0;
}

static void
notify_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    (void)def;
    notify_format_classes(cfg->notify_keyspace_events, buf, len);
}

static int
apply_runtime(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    (void)err;
    (void)errlen;
    server_apply_config(ctx);
    return 0;
}

/* A new backlog size takes effect by starting a fresh backlog: replicas
 * that disconnect afterwards resync fully once. */
static int
apply_backlog_size(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    (void)err;
    (void)errlen;
    if (srv->repl.backlog != NULL) {
        mem_free(srv->repl.backlog);
        srv->repl.backlog = mem_alloc((size_t)srv->cfg.repl_backlog_size);
        srv->repl.backlog_size = (size_t)srv->cfg.repl_backlog_size;
        srv->repl.backlog_idx = 0;
        srv->repl.backlog_histlen = 0;
    }
    return 0;
}

/* CONFIG SET port (and the port option at startup) moves the listeners. */
static int
apply_port(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return listen_rebind(ctx, err, errlen);
}

/* CONFIG SET bind moves the listeners to the new addresses. */
static int
apply_bind(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return listen_rebind_addresses(ctx, err, errlen);
}

/* CONFIG SET dir changes the working directory, where the snapshot and the
 * append-only file are written, as in Redis.  An append-only file already
 * open stays where it is until it is rewritten. */
static int
apply_dir(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    if (chdir(srv->cfg.dir) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

static int
apply_dbfilename(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    (void)def;
    if (strchr(srv->cfg.dbfilename, '/') != NULL) {
        snprintf(err, errlen, "dbfilename can't be a path, just a filename");
        return -1;
    }
    return 0;
}

/* Redis's old names for options; they work wherever the names do. */
const struct option_alias node_option_aliases[] = {
    {"slaveof", "replicaof"},
    {"slave-read-only", "replica-read-only"},
    {"slave-serve-stale-data", "replica-serve-stale-data"},
    {"slave-priority", "replica-priority"},
    {"slave-announce-ip", "replica-announce-ip"},
    {"slave-announce-port", "replica-announce-port"},
    {"repl-ping-slave-period", "repl-ping-replica-period"},
    {"min-slaves-to-write", "min-replicas-to-write"},
    {"min-slaves-max-lag", "min-replicas-max-lag"},
    {"lua-time-limit", "busy-reply-threshold"},
    {NULL, NULL},
};

/* ---- persistence options ---------------------------------------------- */

const char *const appendfsync_names[] = {
#define AFS_NAME(sym, name) name,
    APPENDFSYNC_LIST(AFS_NAME)
#undef AFS_NAME
    NULL,
};

/* save "<seconds> <changes> [...]"; "" turns snapshots off. */
static int
save_parse(const struct option_def *def, void *values, const char *value,
           char *err, size_t errlen)
{
    struct node_config *cfg = values;
    struct save_point pts[PERSIST_MAX_SAVE_POINTS];
    int n;
    (void)def;
    if (persist_parse_save(value, pts, &n) != 0) {
        snprintf(err, errlen, "Invalid save parameters");
        return -1;
    }
    memcpy(cfg->save, pts, sizeof(pts));
    cfg->nsave = n;
    return 0;
}

static void
save_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct node_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int i = 0; i < cfg->nsave && off < len; i++) {
        off += (size_t)snprintf(buf + off, len - off, "%s%lld %lld", i ? " " : "",
                                cfg->save[i].seconds, cfg->save[i].changes);
    }
}

static int
apply_appendonly(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    (void)def;
    return persist_apply_appendonly(ctx, err, errlen);
}

#define OFF(f) offsetof(struct node_config, f)
#define MUT OPT_MUTABLE
#define LL_MAX 0x7fffffffffffffffLL

const struct option_def node_options[] = {
    {"port", OPT_INT, MUT, "6379", 0, 65535, NULL, OFF(port), NULL, NULL, apply_port,
     "TCP port to listen on (0 = no TCP listener)"},
    {"bind", OPT_STRING, MUT, "127.0.0.1", 0, 0, NULL, OFF(bind), NULL, NULL, apply_bind,
     "addresses to listen on, space separated"},
    {"requirepass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(requirepass),
     NULL, NULL, apply_requirepass, "the default user's password (empty = nopass)"},
    {"aclfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(aclfile), NULL, NULL, NULL,
     "file of ACL users (ACL LOAD / ACL SAVE); exclusive with user lines"},
    {"user", OPT_SPECIAL, OPT_FILE_ONLY | OPT_SENSITIVE | OPT_HIDDEN | OPT_OWNS_STRING, "", 0, 0,
     NULL, OFF(acl_users), acl_option_user_parse,
     acl_option_user_format, NULL, "<name> <rules...>: an ACL user (repeatable)"},
    {"acllog-max-len", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(acllog_max_len), NULL,
     NULL, NULL, "ACL LOG entries kept"},
    {"protected-mode", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(protected_mode), NULL, NULL,
     NULL, "refuse clients from non-loopback addresses while the default user has no "
     "password"},
    {"acl-pubsub-default", OPT_ENUM, MUT, "resetchannels", 0, 0, acl_pubsub_names,
     OFF(acl_pubsub_default), NULL, NULL, apply_acl_pubsub,
     "channel rule new ACL users start with: resetchannels or allchannels"},
    {"maxmemory", OPT_MEMORY, MUT, "0", 0, 0, NULL, OFF(maxmemory), NULL, NULL,
     apply_runtime, "memory limit for data, with units (100mb, 1gb); 0 = none"},
    {"maxmemory-policy", OPT_ENUM, MUT, "noeviction", 0, 0, maxmemory_policy_names,
     OFF(maxmemory_policy), NULL, NULL, apply_runtime,
     "what to evict at the limit: noeviction, allkeys-lru, volatile-lru, "
     "allkeys-lfu, volatile-lfu, allkeys-random, volatile-random, volatile-ttl"},
    {"maxmemory-samples", OPT_INT, MUT, "5", 1, 64, NULL, OFF(maxmemory_samples),
     NULL, NULL, NULL, "keys sampled per eviction"},
    {"loglevel", OPT_ENUM, MUT, "notice", 0, 0, log_option_names, OFF(loglevel), NULL,
     NULL, apply_runtime, "debug, verbose, notice or warning"},
    {"logfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(logfile), NULL, NULL, NULL,
     "log file path (empty = standard error)"},
    {"pidfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(pidfile), NULL, NULL, NULL,
     "write the process id to this file"},
    {"daemonize", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(daemonize), NULL, NULL, NULL,
     "run in the background"},
    {"databases", OPT_INT, 0, "16", 1, 1024, NULL, OFF(databases), NULL, NULL, NULL,
     "number of databases (SELECT 0..n-1)"},
    {"maxclients", OPT_INT, MUT, "10000", 1, 1000000, NULL, OFF(maxclients), NULL,
     NULL, NULL, "maximum simultaneous client connections"},
    {"timeout", OPT_INT, MUT, "0", 0, 2147483647, NULL, OFF(timeout), NULL, NULL,
     NULL, "close clients idle for this many seconds (0 = never)"},
    {"tcp-keepalive", OPT_INT, MUT, "300", 0, 2147483647, NULL, OFF(tcp_keepalive),
     NULL, NULL, NULL, "TCP keepalive period in seconds (0 = off)"},
    {"tcp-backlog", OPT_INT, 0, "511", 0, 65535, NULL, OFF(tcp_backlog), NULL, NULL,
     NULL, "listen() backlog"},
    {"hz", OPT_INT, MUT, "10", 1, 500, NULL, OFF(hz), NULL, NULL, NULL,
     "background task frequency (timeouts, stats, rehashing)"},
    {"proto-max-bulk-len", OPT_MEMORY, MUT, "512mb", 1024 * 1024, LL_MAX, NULL,
     OFF(proto_max_bulk_len), NULL, NULL, NULL, "largest bulk string a client may send"},
    {"client-query-buffer-limit", OPT_MEMORY, MUT, "1gb", 1024 * 1024, LL_MAX, NULL,
     OFF(client_query_buffer_limit), NULL, NULL, NULL,
     "close a client whose unparsed input exceeds this"},
    {"client-output-buffer-limit", OPT_SPECIAL, MUT,
     "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, 0, cob_parse,
     cob_format, NULL,
     "<class> <hard> <soft> <soft-seconds>: close clients whose pending replies "
     "exceed hard, or soft for soft-seconds (0 = no limit)"},
    {"notify-keyspace-events", OPT_SPECIAL, MUT, "", 0, 0, NULL, 0, notify_parse,
     notify_format, NULL,
     "keyspace notifications to publish: K (__keyspace@<db>__), E (__keyevent@<db>__) "
     "and the classes g $ l s h z t x e n m d, A for g$lshzxetd; empty = off"},
    {"latency-monitor-threshold", OPT_INT, MUT, "0", 0, LL_MAX, NULL,
     OFF(latency_monitor_threshold), NULL, NULL, NULL,
     "record commands taking at least this many milliseconds for LATENCY (0 = off)"},
    {"latency-tracking", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(latency_tracking), NULL, NULL,
     NULL, "keep a latency histogram per command (INFO latencystats, LATENCY HISTOGRAM)"},
    {"latency-tracking-info-percentiles", OPT_SPECIAL, MUT, "50 99 99.9", 0, 0, NULL, 0,
     latency_percentiles_parse, latency_percentiles_format, NULL,
     "percentiles INFO latencystats reports, 0..100 separated by spaces (\"\" = none)"},
    {"slowlog-log-slower-than", OPT_INT, MUT, "10000", -1, LL_MAX, NULL,
     OFF(slowlog_log_slower_than), NULL, NULL, NULL,
     "log commands slower than this many microseconds (-1 = off)"},
    {"slowlog-max-len", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(slowlog_max_len),
     NULL, NULL, NULL, "slow log entries kept"},
    {"http-port", OPT_INT, 0, "0", 0, 65535, NULL, OFF(http_port), NULL, NULL, NULL,
     "port for the HTTP interface (/cache/*, /health, /metrics); 0 = off"},
    {"http-tls", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(http_tls), NULL, NULL, NULL,
     "serve HTTPS on http-port with the tls-* certificates (reloads reach new connections)"},
    {"lfu-log-factor", OPT_INT, MUT, "10", 0, 2147483647, NULL, OFF(lfu_log_factor),
     NULL, NULL, apply_runtime, "LFU counter logarithm factor"},
    {"lfu-decay-time", OPT_INT, MUT, "1", 0, 2147483647, NULL, OFF(lfu_decay_time),
     NULL, NULL, apply_runtime, "minutes for the LFU counter to decay by one"},
    {"dir", OPT_STRING, MUT | OPT_PROTECTED, ".", 0, 0, NULL, OFF(dir), NULL, NULL,
     apply_dir, "working directory (CONFIG SET as enable-protected-configs allows)"},
    {"enable-debug-command", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_debug_command), NULL, NULL, NULL,
     "who may run DEBUG: no, yes, or local (clients on the loopback address)"},
    {"enable-protected-configs", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_protected_configs), NULL, NULL, NULL,
     "who may CONFIG SET dir and dbfilename: no, yes, or local"},
    {"enable-module-command", OPT_ENUM, 0, "no", 0, 0, protected_action_names,
     OFF(enable_module_command), NULL, NULL, NULL,
     "accepted for Redis compatibility; there are no modules"},
    {"sanitize-dump-payload", OPT_ENUM, MUT, "no", 0, 0, sanitize_dump_names,
     OFF(sanitize_dump_payload), NULL, NULL, NULL,
     "accepted for Redis compatibility: RESTORE always validates a payload whole"},
    {"active-expire-effort", OPT_INT, MUT, "1", 1, 10, NULL, OFF(active_expire_effort),
     NULL, NULL, NULL, "share of each tick the active expiry may use (1-10)"},
    {"replicaof", OPT_STRING, 0, "", 0, 0, NULL, OFF(replicaof), NULL, NULL, NULL,
     "\"host port\": start as a replica of that master (REPLICAOF at run time)"},
    {"masterauth", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(masterauth),
     NULL, NULL, NULL, "password this replica sends to its master"},
    {"masteruser", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(masteruser), NULL, NULL, NULL,
     "user name this replica sends with masterauth (AUTH user pass)"},
    {"replica-read-only", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(replica_read_only),
     NULL, NULL, NULL, "refuse client writes on a replica (-READONLY)"},
    {"replica-serve-stale-data", OPT_BOOL, MUT, "yes", 0, 0, NULL,
     OFF(replica_serve_stale_data), NULL, NULL, NULL,
     "serve reads while the link to the master is down (else -MASTERDOWN)"},
    {"replica-priority", OPT_INT, MUT, "100", 0, 2147483647, NULL, OFF(replica_priority),
     NULL, NULL, NULL, "promotion preference for failover (lower first; 0 = never)"},
    {"replica-announce-ip", OPT_STRING, MUT, "", 0, 0, NULL, OFF(replica_announce_ip),
     NULL, NULL, NULL, "address this replica announces to its master"},
    {"replica-announce-port", OPT_INT, MUT, "0", 0, 65535, NULL,
     OFF(replica_announce_port), NULL, NULL, NULL,
     "port this replica announces to its master (0 = its own port)"},
    {"repl-backlog-size", OPT_MEMORY, MUT, "1mb", 16 * 1024, LL_MAX, NULL,
     OFF(repl_backlog_size), NULL, NULL, apply_backlog_size,
     "bytes of stream kept for partial resyncs"},
    {"repl-backlog-ttl", OPT_INT, MUT, "3600", 0, 2147483647, NULL, OFF(repl_backlog_ttl),
     NULL, NULL, NULL, "free the backlog after this many seconds without replicas (0 = never)"},
    {"repl-timeout", OPT_INT, MUT, "60", 1, 2147483647, NULL, OFF(repl_timeout), NULL,
     NULL, NULL, "seconds of silence after which a replication link is dropped"},
    {"repl-ping-replica-period", OPT_INT, MUT, "10", 1, 2147483647, NULL,
     OFF(repl_ping_replica_period), NULL, NULL, NULL,
     "seconds between PINGs the master streams to its replicas"},
    {"min-replicas-to-write", OPT_INT, MUT, "0", 0, 2147483647, NULL,
     OFF(min_replicas_to_write), NULL, NULL, NULL,
     "refuse writes (-NOREPLICAS) with fewer good replicas than this (0 = off)"},
    {"min-replicas-max-lag", OPT_INT, MUT, "10", 0, 2147483647, NULL,
     OFF(min_replicas_max_lag), NULL, NULL, NULL,
     "seconds since its last ACK for a replica to count as good"},
    /* persistence (persist.c) */
    {"dbfilename", OPT_STRING, MUT | OPT_PROTECTED, "dump.cachely", 0, 0, NULL,
     OFF(dbfilename), NULL, NULL, apply_dbfilename,
     "snapshot file name, in dir (CONFIG SET as enable-protected-configs allows)"},
    {"save", OPT_SPECIAL, MUT, "", 0, 0, NULL, 0, save_parse, save_format, NULL,
     "\"<seconds> <changes> [...]\": BGSAVE when that many changes are that old "
     "(\"\" = never)"},
    {"appendonly", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(appendonly), NULL, NULL,
     apply_appendonly, "log every write to the append-only file"},
    {"appendfilename", OPT_STRING, 0, "appendonly.cachely", 0, 0, NULL,
     OFF(appendfilename), NULL, NULL, NULL, "append-only file name, in dir"},
    {"appendfsync", OPT_ENUM, MUT, "everysec", 0, 0, appendfsync_names, OFF(appendfsync),
     NULL, NULL, NULL,
     "fsync the append-only file: always (before replies), everysec or no"},
    {"aof-load-truncated", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(aof_load_truncated),
     NULL, NULL, NULL, "at boot, cut an incomplete last command off the append-only "
     "file instead of refusing to start"},
    {"auto-aof-rewrite-percentage", OPT_INT, MUT, "100", 0, 2147483647, NULL,
     OFF(auto_aof_rewrite_percentage), NULL, NULL, NULL,
     "rewrite the append-only file when it grew by this percentage (0 = never)"},
    {"auto-aof-rewrite-min-size", OPT_MEMORY, MUT, "64mb", 0, LL_MAX, NULL,
     OFF(auto_aof_rewrite_min_size), NULL, NULL, NULL,
     "no automatic rewrite below this size"},
    /* collections (thresholds read by the type files) */
    {"hash-max-listpack-entries", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(hash_max_listpack_entries), NULL, NULL, NULL,
     "hashes with more fields use a hash table"},
    {"hash-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(hash_max_listpack_value), NULL, NULL, NULL,
     "hashes with a longer field or value use a hash table"},
    {"list-max-listpack-size", OPT_INT, MUT, "-2", INT_MIN, INT_MAX, NULL, OFF(list_max_listpack_size), NULL, NULL, NULL,
     "entries per list node (> 0), or -1..-5 for 4, 8, 16, 32, 64 KiB per node"},
    {"list-compress-depth", OPT_INT, MUT, "0", 0, INT_MAX, NULL, OFF(list_compress_depth), NULL, NULL, NULL,
     "list nodes at each end left uncompressed (0 = no compression)"},
    {"hll-sparse-max-bytes", OPT_MEMORY, MUT, "3000", 0, LL_MAX, NULL, OFF(hll_sparse_max_bytes), NULL, NULL, NULL,
     "a HyperLogLog's sparse form grows to at most this many bytes, then goes dense"},
    {"stream-node-max-entries", OPT_INT, MUT, "100", 0, LL_MAX, NULL, OFF(stream_node_max_entries), NULL, NULL,
     apply_runtime, "a stream node takes at most this many entries (0 = no limit)"},
    {"stream-node-max-bytes", OPT_MEMORY, MUT, "4096", 0, LL_MAX, NULL, OFF(stream_node_max_bytes), NULL, NULL,
     apply_runtime, "a stream node grows to about this many bytes (0 = 1 GB)"},
    {"set-max-intset-entries", OPT_INT, MUT, "512", 0, LL_MAX, NULL, OFF(set_max_intset_entries), NULL, NULL, NULL,
     "integer sets with more members use a hash table"},
    {"set-max-listpack-entries", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(set_max_listpack_entries), NULL, NULL, NULL,
     "small non-integer sets with more members use a hash table"},
    {"set-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(set_max_listpack_value), NULL, NULL, NULL,
     "small sets with a longer member use a hash table"},
    {"zset-max-listpack-entries", OPT_INT, MUT, "128", 0, LL_MAX, NULL, OFF(zset_max_listpack_entries), NULL, NULL, NULL,
     "sorted sets with more members use a skip list"},
    {"zset-max-listpack-value", OPT_INT, MUT, "64", 0, LL_MAX, NULL, OFF(zset_max_listpack_value), NULL, NULL, NULL,
     "sorted sets with a longer member use a skip list"},
    {"hash-max-ziplist-entries", OPT_INT, MUT | OPT_HIDDEN, "128", 0, LL_MAX, NULL, OFF(hash_max_listpack_entries), NULL, NULL, NULL,
     "old name of hash-max-listpack-entries"},
    {"hash-max-ziplist-value", OPT_INT, MUT | OPT_HIDDEN, "64", 0, LL_MAX, NULL, OFF(hash_max_listpack_value), NULL, NULL, NULL,
     "old name of hash-max-listpack-value"},
    {"list-max-ziplist-size", OPT_INT, MUT | OPT_HIDDEN, "-2", INT_MIN, INT_MAX, NULL, OFF(list_max_listpack_size), NULL, NULL, NULL,
     "old name of list-max-listpack-size"},
    {"zset-max-ziplist-entries", OPT_INT, MUT | OPT_HIDDEN, "128", 0, LL_MAX, NULL, OFF(zset_max_listpack_entries), NULL, NULL, NULL,
     "old name of zset-max-listpack-entries"},
    {"zset-max-ziplist-value", OPT_INT, MUT | OPT_HIDDEN, "64", 0, LL_MAX, NULL, OFF(zset_max_listpack_value), NULL, NULL, NULL,
     "old name of zset-max-listpack-value"},
    {"lazyfree-lazy-eviction", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_eviction), NULL, NULL, apply_runtime,
     "free evicted values in the background"},
    {"lazyfree-lazy-expire", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_expire), NULL, NULL, apply_runtime,
     "free expired values in the background"},
    {"lazyfree-lazy-server-del", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_server_del), NULL, NULL, apply_runtime,
     "free values the server deletes itself (overwrites, RENAME) in the background"},
    {"lazyfree-lazy-user-del", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_user_del), NULL, NULL, apply_runtime,
     "DEL frees in the background like UNLINK"},
    {"lazyfree-lazy-user-flush", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(lazyfree_lazy_user_flush), NULL, NULL, apply_runtime,
     "FLUSHDB/FLUSHALL without SYNC/ASYNC free in the background"},
    {"io-uring", OPT_BOOL, 0, "yes", 0, 0, NULL, OFF(io_uring), NULL, NULL, NULL,
     "batch the clients' socket reads and writes of a loop turn into one io_uring "
     "system call each when 16 or more are ready (plain connections; falls back "
     "when the kernel refuses)"},
    {"busy-reply-threshold", OPT_INT, MUT, "5000", 0, LL_MAX, NULL, OFF(busy_reply_threshold),
     NULL, NULL, NULL,
     "milliseconds a script may run before other clients get -BUSY (0 = at once)"},
    /* TLS (tls.c): every change rebuilds the contexts; open connections
     * keep the ones they were made with */
    {"tls-port", OPT_INT, MUT, "0", 0, 65535, NULL, OFF(tls_port), NULL, NULL,
     tls_apply_port, "TCP port for TLS clients (0 = none)"},
    {"tls-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_cert_file), NULL, NULL,
     tls_apply_config, "server certificate (PEM), also used as client certificate"},
    {"tls-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_key_file), NULL, NULL,
     tls_apply_config, "private key of tls-cert-file (PEM)"},
    {"tls-key-file-pass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL,
     OFF(tls_key_file_pass), NULL, NULL, tls_apply_config,
     "passphrase of tls-key-file"},
    {"tls-client-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_cert_file),
     NULL, NULL, tls_apply_config,
     "certificate presented when connecting to our master (default tls-cert-file)"},
    {"tls-client-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_key_file),
     NULL, NULL, tls_apply_config, "private key of tls-client-cert-file"},
    {"tls-ca-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_file), NULL,
     NULL, tls_apply_config, "CA bundle that verifies clients and our master"},
    {"tls-ca-cert-dir", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_dir), NULL,
     NULL, tls_apply_config, "directory of CA certificates (c_rehash layout)"},
    {"tls-auth-clients", OPT_ENUM, MUT, "yes", 0, 0, tls_auth_clients_names,
     OFF(tls_auth_clients), NULL, NULL, tls_apply_config,
     "client certificates: yes (required), no, optional (verified if sent)"},
    {"tls-protocols", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_protocols), NULL, NULL,
     tls_apply_config, "\"TLSv1.2 TLSv1.3\" (empty = TLSv1.2 and up)"},
    {"tls-ciphers", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphers), NULL, NULL,
     tls_apply_config, "TLSv1.2 cipher list (OpenSSL syntax)"},
    {"tls-ciphersuites", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphersuites), NULL,
     NULL, tls_apply_config, "TLSv1.3 cipher suites (OpenSSL syntax)"},
    {"tls-prefer-server-ciphers", OPT_BOOL, MUT, "no", 0, 0, NULL,
     OFF(tls_prefer_server_ciphers), NULL, NULL, tls_apply_config,
     "choose the cipher by the server's preference"},
    {"tls-session-caching", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(tls_session_caching),
     NULL, NULL, tls_apply_config, "let clients resume TLS sessions"},
    {"tls-session-cache-size", OPT_INT, MUT, "20480", 0, INT_MAX, NULL,
     OFF(tls_session_cache_size), NULL, NULL, tls_apply_config,
     "TLS sessions kept for resumption"},
    {"tls-session-cache-timeout", OPT_INT, MUT, "300", 0, INT_MAX, NULL,
     OFF(tls_session_cache_timeout), NULL, NULL, tls_apply_config,
     "seconds a cached TLS session stays resumable"},
    {"tls-replication", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(tls_replication), NULL,
     NULL, tls_apply_config, "connect to our master with TLS"},
    {"tls-client-key-file-pass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL,
     OFF(tls_client_key_file_pass), NULL, NULL, tls_apply_config,
     "passphrase of tls-client-key-file"},
    {"tls-dh-params-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_dh_params_file), NULL,
     NULL, NULL, "accepted for Redis compatibility (OpenSSL 3 picks DH groups itself)"},
    {"tls-cluster", OPT_BOOL, MUT, "no", 0, 0, NULL, OFF(tls_cluster), NULL, NULL,
     tls_apply_config, "accepted for Redis compatibility (no cluster bus); "
     "turns TLS on like tls-port"},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
