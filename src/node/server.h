/* The node's process-wide state: configuration values, the keyspace, the
 * client list, statistics, and the libevent base.  One instance lives in
 * main.c; handlers reach it through their client's srv pointer. */
#ifndef CACHELY_NODE_SERVER_H
#define CACHELY_NODE_SERVER_H

#include "core/command.h"
#include "core/option.h"
#include "node/block.h"
#include "node/clientmem.h"
#include "node/db.h"
#include "node/multi.h"
#include "node/pubsub.h"
#include "node/tracking.h"
#include "node/monitor.h"
#include "node/latency.h"
#include "node/pause.h"
#include "node/propagate.h"
#include "node/persist.h"
#include "node/repl.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct evhttp;
struct client;
struct scripting;
struct iobatch;
struct migrate_cache;
struct lathist;

/* The smallest backlog CONFIG SET repl-backlog-size gives: smaller values
 * are raised to it, as Redis does (a config file's value is kept, as in
 * Redis, whose resize runs on CONFIG SET only). */
#define REPL_BACKLOG_MIN_SIZE (16 * 1024)

/* Redis's maxmemory-policy names, in option order. */
#define MAXMEMORY_POLICY_LIST(X)                                            \
    X(NOEVICTION, "noeviction")                                             \
    X(ALLKEYS_LRU, "allkeys-lru")                                           \
    X(VOLATILE_LRU, "volatile-lru")                                         \
    X(ALLKEYS_LFU, "allkeys-lfu")                                           \
    X(VOLATILE_LFU, "volatile-lfu")                                         \
    X(ALLKEYS_RANDOM, "allkeys-random")                                     \
    X(VOLATILE_RANDOM, "volatile-random")                                   \
    X(VOLATILE_TTL, "volatile-ttl")

enum maxmemory_policy {
#define MM_ENUM(sym, name) MAXMEMORY_##sym,
    MAXMEMORY_POLICY_LIST(MM_ENUM)
#undef MM_ENUM
};
extern const char *const maxmemory_policy_names[];

/* client-output-buffer-limit for one class of client. */
struct cob_limit {
    unsigned long long hard;
    unsigned long long soft;
    long long soft_seconds;
};
enum cob_class { COB_NORMAL = 0, COB_REPLICA, COB_PUBSUB, COB__COUNT };

/* Option values; the table in options.c describes each field. */
/* Who may run a protected action (DEBUG, CONFIG SET of a protected
 * option), as Redis 7's enable-debug-command & co. say: nobody, everybody,
 * or clients connected from the loopback address. */
enum protected_action {
    PROTECTED_NO = 0,
    PROTECTED_YES = 1,
    PROTECTED_LOCAL = 2,
};
extern const char *const protected_action_names[];

struct node_config {
    long long port;
    char *bind;                    /* owned: space-separated addresses */
    char *requirepass;             /* owned; "" when none */
    char *aclfile;                 /* owned; "" when none */
    char *acl_users;               /* owned: the config file's "user" lines
                                    * (without "user "), one per line */
    long long acllog_max_len;
    int acl_pubsub_default;        /* 0 allchannels, 1 resetchannels */
    int protected_mode;            /* refuse non-loopback clients while the
                                    * default user needs no password */
    unsigned long long maxmemory;
    int maxmemory_policy;          /* enum maxmemory_policy */
    long long maxmemory_samples;
    int loglevel;                  /* index into the loglevel names */
    char *logfile;                 /* owned; "" is stderr */
    char *pidfile;                 /* owned; "" is none */
    int daemonize;
    long long databases;
    long long maxclients;
    long long timeout;             /* idle client timeout, seconds, 0 = none */
    long long tcp_keepalive;
    long long tcp_backlog;
    long long hz;
    unsigned long long proto_max_bulk_len;
    unsigned long long client_query_buffer_limit;
    struct cob_limit cob[COB__COUNT];
    long long slowlog_log_slower_than;
    long long slowlog_max_len;
    long long http_port;           /* 0 = off */
    int http_tls;                  /* HTTPS on http-port (tls.c's server context) */
    long long lfu_log_factor;
    long long lfu_decay_time;
    char *dir;                     /* owned */
    long long active_expire_effort;
    int enable_debug_command;      /* enum protected_action */
    int enable_protected_configs;  /* enum protected_action */
    int enable_module_command;     /* enum protected_action; no modules here */
    int sanitize_dump_payload;     /* no/yes/clients: accepted; RESTORE always
                                      validates the whole payload */
    /* replication */
    char *replicaof;               /* owned; "host port" or "" */
    char *masterauth;              /* owned */
    char *masteruser;              /* owned */
    int replica_read_only;
    int replica_serve_stale_data;
    long long replica_priority;
    char *replica_announce_ip;     /* owned */
    long long replica_announce_port;
    unsigned long long repl_backlog_size; /* CONFIG SET raises it to REPL_BACKLOG_MIN_SIZE */
    long long repl_backlog_ttl;
    long long rdb_key_save_delay; /* testing aid: us slept per key saved */
    long long repl_timeout;
    long long repl_ping_replica_period;
    long long min_replicas_to_write;
    long long min_replicas_max_lag;
    /* persistence (see persist.h) */
    char *dbfilename;              /* owned */
    struct save_point save[PERSIST_MAX_SAVE_POINTS];
    int nsave;                     /* 0: no schedule */
    int appendonly;
    char *appendfilename;          /* owned */
    int appendfsync;               /* enum appendfsync */
    int aof_load_truncated;
    long long auto_aof_rewrite_percentage;
    unsigned long long auto_aof_rewrite_min_size;
    /* collections: small encodings (Redis's thresholds and names) */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long list_max_listpack_size;   /* > 0 entries, < 0 -1..-5 = 4..64 KiB */
    long long list_compress_depth;
    long long set_max_intset_entries;
    unsigned long long hll_sparse_max_bytes;  /* sparse HLLs up to this size */
    long long stream_node_max_entries;         /* per stream node; 0 = no limit */
    unsigned long long stream_node_max_bytes;  /* per stream node; 0 = 1 GB */
    long long set_max_listpack_entries;
    long long set_max_listpack_value;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    /* lazy free: free big values off the event loop */
    int lazyfree_lazy_eviction;
    int lazyfree_lazy_expire;
    int lazyfree_lazy_server_del;
    int lazyfree_lazy_user_del;
    int lazyfree_lazy_user_flush;
    int io_uring;                     /* batched socket I/O (core/iobatch) */
    /* scripts */
    long long busy_reply_threshold; /* ms before -BUSY (alias lua-time-limit) */
    int notify_keyspace_events;    /* enum notify_class bits */
    long long latency_monitor_threshold; /* ms; 0 = off */
    int latency_tracking;          /* per-command histograms (INFO latencystats) */
    int latency_npercentiles;      /* latency-tracking-info-percentiles ... */
    double latency_percentiles[LATENCY_PERCENTILES_MAX]; /* ... 0..100 each */
    /* TLS (tls.c): Redis's tls-* options; strings owned, "" = not set */
    long long tls_port;            /* 0 = no TLS listener */
    char *tls_cert_file, *tls_key_file, *tls_key_file_pass;
    char *tls_client_cert_file, *tls_client_key_file;
    char *tls_ca_cert_file, *tls_ca_cert_dir;
    int tls_auth_clients;          /* index into tls_auth_clients_names */
    char *tls_protocols, *tls_ciphers, *tls_ciphersuites;
    int tls_prefer_server_ciphers;
    int tls_session_caching;
    long long tls_session_cache_size;
    long long tls_session_cache_timeout;
    int tls_replication;           /* dial our master with TLS */
    char *tls_client_key_file_pass;
    char *tls_dh_params_file;      /* accepted; OpenSSL 3's built-in groups serve */
    int tls_cluster;               /* accepted; there is no cluster bus */
    /* Redis 7.0 options with an effect here (README "Redis 7.0 options") */
    int replica_ignore_maxmemory;  /* a replica never evicts (else it does) */
    int shutdown_on_sigint;        /* enum shutdown_flag bits */
    int shutdown_on_sigterm;       /* enum shutdown_flag bits */
    long long tracking_table_max_keys; /* 0 = no limit */
    char *unixsocket;              /* owned; "" = no unix socket listener */
    long long unixsocketperm;      /* its file mode; 0 = as the umask leaves it */
    int rdbcompression;            /* DUMP payloads' strings LZF-compressed */
    /* Redis 7.0 options accepted with no effect (OPT_NO_EFFECT), or that
     * accept only their default (node_option_refusals); kept so that CONFIG
     * GET shows, and CONFIG REWRITE keeps, what was set.  Strings owned. */
    int always_show_logo, activerehashing, rdbchecksum;
    int rdb_save_incremental_fsync, aof_rewrite_incremental_fsync;
    int rdb_del_sync_files, stop_writes_on_bgsave_error;
    int jemalloc_bg_thread, dynamic_hz, disable_thp, activedefrag;
    char *server_cpulist, *bio_cpulist, *aof_rewrite_cpulist, *bgsave_cpulist;
    long long active_defrag_cycle_min, active_defrag_cycle_max;
    long long active_defrag_threshold_lower, active_defrag_threshold_upper;
    long long active_defrag_max_scan_fields;
    unsigned long long active_defrag_ignore_bytes;
    int oom_score_adj;             /* index into oom_score_adj_names */
    long long oom_score_adj_values[3];
    int syslog_enabled, syslog_facility, supervised;
    char *syslog_ident;
    int crash_log_enabled, crash_memcheck_enabled;
    char *ignore_warnings;
    char *appenddirname;
    int aof_timestamp_enabled, aof_use_rdb_preamble, aof_disable_auto_gc;
    int no_appendfsync_on_rewrite;
    int repl_disable_tcp_nodelay, propagation_error_behavior;
    int repl_diskless_sync, repl_diskless_load;
    long long repl_diskless_sync_delay, repl_diskless_sync_max_replicas;
    int replica_announced, replica_ignore_disk_write_errors, replica_lazy_flush;
    long long maxmemory_eviction_tenacity;
    int set_proc_title;
    char *proc_title_template;
    long long shutdown_timeout;
    long long socket_mark_id;
    char *bind_source_addr;
    long long io_threads;
    int io_threads_do_reads;
    long long maxmemory_clients;   /* bytes, or -percent (Redis's storage) */
    int cluster_enabled, cluster_replica_no_failover;
    int cluster_require_full_coverage, cluster_allow_reads_when_down;
    int cluster_allow_pubsubshard_when_down, cluster_allow_replica_migration;
    int cluster_preferred_endpoint_type;
    char *cluster_config_file, *cluster_announce_ip, *cluster_announce_hostname;
    long long cluster_port, cluster_node_timeout, cluster_migration_barrier;
    long long cluster_replica_validity_factor;
    long long cluster_announce_port, cluster_announce_bus_port;
    long long cluster_announce_tls_port;
    unsigned long long cluster_link_sendbuf_limit;
};

/* shutdown-on-sigint / shutdown-on-sigterm: SHUTDOWN's flags, as bits
 * (Redis's values: "default" is none of them). */
enum shutdown_flag {
    SHUTDOWN_FLAG_SAVE = 1,
    SHUTDOWN_FLAG_NOSAVE = 2,
    SHUTDOWN_FLAG_NOW = 4,
    SHUTDOWN_FLAG_FORCE = 8,
};

struct command_stats {
    long long calls;
    long long usec;
    long long rejected_calls;
    long long failed_calls;
    struct lathist *hist;  /* owned; NULL until a call is tracked
                              (latency-tracking: INFO latencystats,
                              LATENCY HISTOGRAM) */
};

struct slowlog_entry;
struct tls_state;

struct node_stats {
    long long start_ms;
    long long total_connections;
    long long rejected_connections;
    long long total_commands;
    long long net_input_bytes;
    long long net_output_bytes;
    long long total_reads;            /* reads of client input (INFO's
                                         total_reads_processed) */
    long long total_writes;           /* writes that sent client output */
    long long total_error_replies;
    long long unexpected_error_replies;
    long long client_qbuf_limit_disconnections;
    long long client_obuf_limit_disconnections;
    long long evicted_clients;
    /* instantaneous ops/sec: samples taken by the cron */
    long long ops_sample_time_ms;
    long long ops_sample_count;
    long long ops_samples[16];
    int ops_sample_idx;
    long long net_in_samples[16], net_out_samples[16];
    long long net_in_last, net_out_last;
    /* error replies by prefix ("ERR", "WRONGTYPE"...) for INFO errorstats */
    struct errorstat {
        char prefix[32];
        long long count;
    } errors[32];
    int nerrors;
};

struct server {
    struct node_config cfg;
    struct option_table opts;
    struct event_base *base;          /* owned */
    struct event **listen_events;     /* owned; one per bound address */
    int *listen_fds;                  /* owned */
    int nlisten;
    struct event *unix_event;         /* owned; NULL without unixsocket */
    int unix_fd;                      /* the unix socket listener, when unix_event */
    long long listen_port;            /* the port the listeners are bound to */
    char *listen_bind;                /* owned: the cfg.bind they were opened
                                         with (CONFIG SET bind falls back to it) */
    struct event *cron_event;         /* owned; runs hz times a second */
    struct event *expire_event;       /* owned; active expiry slices */
    struct event *close_event;        /* owned; frees clients marked to close */
    struct event *sig_events[3];      /* owned */
    struct evhttp *http;              /* owned; NULL when http-port is 0 */
    struct tls_state *tls;            /* owned by tls.c: contexts, tls-port */

    struct keyspace ks;
    struct repl repl;
    struct persist persist;           /* persist.c's state */
    struct pause pause;               /* pause.c's state (CLIENT PAUSE) */
    struct block block;               /* block.c's state (blocking on keys) */
    struct scripting *scripting;      /* owned by scripting.c: Lua, scripts, functions */
    struct acl_state *acl;            /* owned by acl.c: users and the ACL LOG */
    struct watch_table watch;         /* multi.c's watched keys */
    struct pubsub pubsub;             /* pubsub.c's channels and patterns */
    struct tracking tracking;         /* tracking.c's client-side caching state */
    struct monitors monitors;         /* monitor.c's MONITOR clients */
    struct clientmem cmem;            /* clientmem.c's counts (maxmemory-clients) */
    struct latency latency;           /* latency.c's events */
    struct propagate prop;            /* propagate.c's effects of the running call */
    long long call_clock_us;          /* dispatch_call: the monotonic reading that
                                         ended the last command of the input being
                                         processed, the next one's start (0: none;
                                         set from the read's reading, else
                                         cleared, when an input starts) */
    struct client *clients;           /* owned: doubly-linked list */
    size_t nclients;
    struct client *close_list;        /* clients to free (singly linked via close_next) */
    struct client *pending_writes;    /* clients with replies to write (pw_next list) */
    struct client *pending_reads;     /* readable clients to read in one batch
                                         (pr_next list) */
    struct migrate_cache *migrate;    /* owned by cmd_migrate.c: connections to
                                         MIGRATE targets (NULL: none yet) */
    struct iobatch *iobatch;          /* owned; NULL: a system call per read
                                         and per write (no io_uring) */
    uint64_t next_client_id;
    long long cronloops;
    int cron_paused;                  /* DEBUG PAUSE-CRON 1: the cron does nothing */

    struct command_stats cmdstats[CMD_ID__COUNT];
    struct node_stats stats;
    struct slowlog_entry *slowlog;    /* owned: newest first */
    long long slowlog_len;
    long long slowlog_next_id;

    char run_id[41];
    char executable[4096];
    long long maxmemory_reached_ms;
    size_t mem_peak;                  /* highest mem_used() seen (INFO used_memory_peak) */
    int shutdown_asap;
    int exit_code;
};

/* Apply options that the running process reads (loglevel, maxmemory policy,
 * LFU tunables...) after a config load or CONFIG SET. */
void server_apply_config(struct server *srv);
/* Uptime in seconds. */
long long server_uptime(const struct server *srv);
/* Record an error reply's prefix for INFO errorstats. */
void server_count_error(struct server *srv, const char *msg, size_t len);

#endif
