/* cachely-proxy's process-wide state: its configuration (the option
 * table's values, options.c) and struct proxy, which main.c owns and every
 * module reaches through a session, node or group.  What each module offers
 * is in its own header (session.h, backend.h, topology.h, ...). */
#ifndef CACHELY_PROXY_PROXY_H
#define CACHELY_PROXY_PROXY_H

#include "core/option.h"
#include "core/util.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct session;
struct backend;
struct node;
struct group;
struct http_port;
struct peer;
struct admin;
struct blockmux;
struct conn_tls_ctx;
struct acl_state;
struct preq;
struct script_cache;
struct sockio;

enum read_policy { READ_MASTER = 0, READ_REPLICAS, READ_SESSION };

/* client-output-buffer-limit classes (Redis's).  The proxy has no replica
 * clients; the class is accepted so Redis's lines load unchanged. */
enum proxy_cob_class { PROXY_COB_NORMAL = 0, PROXY_COB_REPLICA, PROXY_COB_PUBSUB,
                       PROXY_COB__COUNT };

struct proxy_config {
    long long port;
    char *bind;                  /* owned */
    char *nodes;                 /* owned: "host:port,host:port,..." */
    char *groups;                /* owned: "name slots nodes;..." from group lines */
    char *requirepass;           /* owned */
    /* ACL (access.c): the proxy's own users, with the node's option names */
    char *acl_users;             /* owned: "user ..." lines, newline-separated */
    char *aclfile;               /* owned; "" = none */
    long long acllog_max_len;
    int acl_pubsub_default;      /* 0 allchannels, 1 resetchannels (as the node) */
    int protected_mode;          /* refuse non-loopback clients while the default
                                    user needs no password */
    char *backend_user;          /* owned; "" = AUTH <password> */
    char *backend_password;      /* owned; "" = nodes need no AUTH */
    long long pool_size;         /* backend connections per node */
    long long blocking_pool_size; /* dedicated connections per node for blocking commands */
    int blocking_mux;            /* blocking commands as CACHELY.BLOCK on the pooled
                                    connections (blockmux.c) where nodes know it */
    int read_policy;             /* enum read_policy */
    int write_ack;               /* 0: master only; N: N replicas; -1: all */
    long long write_ack_timeout_ms;
    long long max_replica_lag_ms;
    long long probe_interval_ms;
    long long down_after_ms;
    long long backend_timeout_ms;
    long long maxclients;
    long long databases;         /* SELECT's range, as the nodes' databases */
    int io_uring;                /* batch socket I/O (sockio.c) */
    /* TLS on the client port (tlsctx.c): the node's tls-* names; strings
     * owned, "" = not set */
    long long tls_port;          /* 0 = none */
    char *tls_cert_file, *tls_key_file, *tls_key_file_pass;
    char *tls_ca_cert_file, *tls_ca_cert_dir;
    int tls_auth_clients;        /* index into tlsctx_auth_names */
    char *tls_protocols, *tls_ciphers, *tls_ciphersuites;
    int tls_prefer_server_ciphers;
    int tls_session_caching;
    long long tls_session_cache_size, tls_session_cache_timeout;
    int tls_backend;             /* connect to the nodes with TLS */
    char *tls_client_cert_file, *tls_client_key_file; /* for the nodes
                                    (default tls-cert-file / tls-key-file) */
    /* client limits, with Redis's names and defaults */
    long long timeout;           /* close clients idle this many seconds; 0 = never */
    unsigned long long maxmemory_clients; /* evict clients past this many bytes
                                    together; 0 = never (session.c) */
    unsigned long long client_query_buffer_limit;
    unsigned long long proto_max_bulk_len;
    struct proxy_cob {
        unsigned long long hard, soft;
        long long soft_seconds;
    } cob[PROXY_COB__COUNT];     /* client-output-buffer-limit per class */
    int loglevel;
    char *logfile;               /* owned */
    char *pidfile;               /* owned */
    int daemonize;
    long long http_port;         /* 0 = no HTTP interface */
    int http_tls;                /* HTTPS on http-port with tls_ctx */
    /* failover (failover.c) */
    char *name;                  /* owned: master name of the default group */
    char *peers;                 /* owned: "host:port,..." of the other proxies */
    long long quorum;            /* proxies that must see a master down; 0 = majority */
    int failover;                /* run automatic failover */
    long long failover_timeout_ms;
    /* peer links (failover.c, peerlink.c) */
    int tls_peers;               /* connect to peers with TLS: list their tls-ports */
    char *peer_auth;             /* owned: shared secret peers prove; "" = none */
    char *peer_user;             /* owned: ACL user peers authenticate as; "" = none */
    char *peer_pass;             /* owned: peer_user's password, for our links */
};

struct proxy {
    struct proxy_config cfg;
    struct option_table opts;
    struct acl_state *acl;       /* owned (access.c): the proxy's users and ACL LOG */
    struct event_base *base;     /* owned */
    int listen_fd;
    struct event *listen_ev;     /* owned */
    int tls_listen_fd;           /* -1 without tls-port */
    struct event *tls_listen_ev; /* owned */
    struct conn_tls_ctx *tls_ctx; /* owned reference (tlsctx.c): client port */
    struct conn_tls_ctx *tls_backend_ctx; /* owned reference: to the nodes */
    struct event *cron;          /* owned */
    struct event *sig_events[3]; /* owned: TERM, INT, HUP */
    struct node **nodes;         /* owned array of owned nodes */
    size_t nnodes;
    struct group *groups;        /* owned array of ngroups */
    size_t ngroups;
    unsigned char *slot_group;   /* owned: SLOT_COUNT group indexes */
    long long fanouts, crossslot_errors;
    long long writes_acked, writes_not_acked;
    struct session *sessions;    /* owned list */
    size_t nsessions;
    struct session *pending_writes; /* sessions with output to flush */
    struct backend **pending_backends; /* owned array: backends to flush */
    size_t npending_backends, pending_backends_cap;
    struct session *close_list;
    struct sockio *sockio;       /* owned (sockio.c): batched socket I/O */
    struct preq *preq_pool;      /* owned: freed requests kept for reuse (next) */
    size_t npreq_pool;
    uint64_t next_session_id;
    long long start_ms;
    /* The clock of this loop turn (proxy_turn_us): -1 until the turn reads
     * it; 0 where no main loop runs (the unit tests' rig), so that every
     * read there is a fresh one. */
    long long turn_us;
    /* statistics */
    long long total_connections, total_commands, local_commands;
    long long routed_master, routed_replica, routed_fallback, route_errors;
    long long session_offset_probes;
    long long writes_redirected; /* -READONLY writes re-sent to a new master */
    long long rejected_connections; /* over maxclients */
    long long qbuf_limit_kills, obuf_limit_kills, timeout_kills; /* clients closed by limits */
    long long evicted_clients;   /* closed by maxmemory-clients */
    size_t clients_mem;          /* the sessions' counted memory (maxmemory-clients on) */
    size_t clients_mem_evictable; /* the part of it not NO-EVICT sessions' */
    int clients_over_logged;     /* "over, nothing to evict" was logged */
    size_t mem_peak;             /* used_memory's peak as INFO saw it */
    long long sessions_cron_ms;  /* session_cron's last run */
    int shutdown_asap;
    struct http_port *http;      /* owned: NULL when http-port is 0 */
    /* what the process was started with, re-read on SIGHUP */
    char *config_path;           /* owned, or NULL */
    int argc;
    char **argv;                 /* borrowed from main */
    long long reloads;
    /* failover (failover.c) */
    char runid[41];              /* this proxy's id among its peers */
    long long current_epoch;
    struct peer *peers;          /* owned array of npeers */
    size_t npeers;
    struct admin *admins;        /* owned list of node command connections */
    long long last_cron_ms;
    /* transactions and scripts (txn.c, script.c) */
    struct script_cache *scripts; /* owned (script.c): sha -> body, for NOSCRIPT repair */
    long long txn_execs, txn_aborted, scripts_repaired;
    struct blockmux *bmux;       /* owned (blockmux.c): multiplexed waits by tag */
};

/* The wall clock (util_ustime) as this loop turn first read it: the
 * requests a turn reads, sends and answers carry one time, at one clock
 * read per turn instead of two or three per request.  main.c sets turn_us
 * to -1 before the loop sleeps, so the time is never older than the turn. */
static inline long long
proxy_turn_us(struct proxy *px)
{
    if (px->turn_us > 0) {
        return px->turn_us;
    }
    long long now = util_ustime();
    if (px->turn_us < 0) {
        px->turn_us = now;
    }
    return now;
}

/* options.c: the option table, and read-policy's names (INFO prints them) */
extern const struct option_def proxy_options[];
extern const char *const proxy_read_policy_names[];

#endif
