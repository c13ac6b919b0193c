/* Groups (shards) and their nodes (topology.c): the slot map, the probes
 * that learn each node's role, offset and health, and where a read goes. */
#ifndef CACHELY_PROXY_TOPOLOGY_H
#define CACHELY_PROXY_TOPOLOGY_H

#include "proxy/detect.h"

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct backend;
struct conn;
struct event;

/* A shard: a master and its replicas, owning a set of hash slots. */
struct group {
    char name[64];
    struct node *master;         /* borrowed, or NULL until known */
    size_t rr;                   /* round-robin position over the nodes */
    /* master offset samples, for "caught up within max-replica-lag-ms" */
    long long off_time[64];
    long long off_value[64];
    int off_idx;
    long long slots;             /* how many slots it owns */
    /* failover (failover.c) */
    long long config_epoch;      /* the epoch the current master was set in */
    long long sdown_since_ms;    /* the master is subjectively down since (0: up) */
    long long odown_since_ms;    /* ... objectively down since (0: not) */
    long long asked_ms;          /* last is-master-down round sent to the peers */
    long long leader_epoch;      /* the epoch of our vote (Sentinel's leader_epoch) */
    char leader[41];             /* who we voted for in leader_epoch */
    int fo_state;                /* FAILOVER_* */
    long long fo_epoch;          /* the epoch of our attempt */
    long long fo_start_ms;
    long long fo_next_try_ms;    /* no attempt of ours before this */
    long long fo_wait_until_ms;  /* odown seen: our turn to try comes at */
    uint64_t fo_voters;          /* peers (by index) that voted for us in fo_epoch */
    struct node *fo_promoted;    /* borrowed: the replica being promoted */
    struct node *fo_old_master;  /* borrowed */
    int fo_switchover;           /* planned (SENTINEL FAILOVER): the master is paused */
    long long fo_pause_offset;   /* switchover: the paused master's offset (-1: not yet) */
    int fo_pause_offset_polling; /* switchover: an INFO to the replica is in flight */
    long long switch_count;      /* failovers this proxy saw (led or adopted) */
};

#define NODE_ROLE_UNKNOWN 0
#define NODE_ROLE_MASTER 1
#define NODE_ROLE_REPLICA 2

/* Buckets of a node's reply-latency histogram, the last one +Inf. */
#define NODE_LATENCY_BUCKETS 11

/* A cache node as the probes see it. */
struct node {
    struct proxy *px;            /* borrowed: owner */
    struct group *group;         /* borrowed: the group it belongs to */
    char host[256];
    int port;
    char name[300];              /* "host:port" */
    int role;                    /* NODE_ROLE_* */
    int up;                      /* answered a probe within its detector's
                                    bound (at most down-after-ms) */
    int link_up;                 /* a replica's master_link_status:up */
    int sync_in_progress;
    long long offset;            /* master_repl_offset / slave_repl_offset */
    long long last_ok_ms;        /* last valid probe reply */
    struct detect detect;        /* the gaps between its valid replies */
    long long epoch;             /* the node's config_epoch (INFO) */
    char run_id[41];             /* INFO server's run_id */
    long long priority;          /* slave_priority (INFO; 100 when not told) */
    char master_host[256];       /* a replica's master as its INFO says */
    int master_port;
    long long reconf_sent_ms;    /* when we last sent it REPLICAOF */
    int sdown_event;             /* +sdown was published for it */
    unsigned incarnation;        /* bumped when it comes back up, restarts or
                                    resyncs: cursors from before are refused */
    struct backend *pool;        /* owned array of 2 * pool_size: RESP2, then RESP3 */
    struct backend *blocking;    /* owned array of blocking_pool_size: each carries one
                                    session's blocking command at a time */
    long long blocking_busy;     /* how many of them carry one now */
    int mux_ok;                  /* its INFO shows tagged_waits: it has CACHELY.BLOCK
                                    (blockmux.c; each connection still asks) */
    int mux_refused;             /* a connection's probe was refused (ACL?): only
                                    confirmed connections carry CACHELY.BLOCK */
    long long mux_waits;         /* CACHELY.BLOCK waits on it now (blockmux.c) */
    struct backend *txn;         /* owned (txn.c): blocking_pool_size connections, each
                                    pinned to one session's transaction at a time */
    long long txn_busy;          /* how many of them are pinned now */
    /* probe connection */
    int probe_fd;
    struct conn *probe_conn;     /* owned over probe_fd once connected */
    struct event *probe_ev;      /* owned */
    char *probe_in;              /* owned */
    size_t probe_len, probe_cap;
    int probe_waiting;           /* replies still expected */
    int probe_auth_pending;      /* the next reply is AUTH's */
    long long probe_sent_ms;
    int probe_connected;
    /* statistics */
    long long requests, errors, latency_us_sum;
    long long latency_buckets[NODE_LATENCY_BUCKETS]; /* replies per latency bucket (http.c) */
};

#define TOPOLOGY_MAX_GROUPS 255
/* Create the groups (group lines, or one group of cfg.nodes owning every
 * slot) and their nodes; -1 (with a log line) when malformed or when a
 * slot has no group. */
int topology_setup(struct proxy *px);
/* Apply a topology (SIGHUP reload): add groups and nodes, reassign slots
 * when the new map covers every slot.  Returns 0 or -1 (logged). */
int topology_apply(struct proxy *px, const char *groups_spec, const char *nodes_spec);
/* The group owning a key. */
struct group *topology_group_of_key(struct proxy *px, const char *key, size_t len);
void topology_teardown(struct proxy *px);
/* Run probes and timeouts; called from the cron. */
void topology_cron(struct proxy *px);
/* The least silence that marks a node down (3 probe intervals); the most is
 * down-after-ms. */
long long topology_detect_floor(const struct proxy *px);
/* A probe found n alive at now: it is up, and the gap is learned. */
void topology_node_alive(struct proxy *px, struct node *n, long long now);
/* Mark n down (subjectively: this proxy's view) when its detector says its
 * silence at now is past its bound.  Returns 1 when it marked it. */
int topology_check_down(struct proxy *px, struct node *n, long long now);
/* Add a node to group g (configured, or discovered as a replica) unless
 * known; returns it. */
struct node *topology_add(struct proxy *px, struct group *g, const char *host, int port);
/* A replica of g that is up, linked, not syncing, caught up within
 * max-replica-lag-ms and holding at least min_offset, chosen round robin;
 * NULL when none is. */
struct node *topology_pick_replica(struct proxy *px, struct group *g, long long min_offset);
/* Split "host:port" in place (tok becomes the host); -1 when malformed. */
int topology_parse_addr(char *tok, int *port);
/* The value of "field:" in an INFO text, into out (truncated to outlen);
 * 0 when absent. */
int topology_info_field(const char *text, size_t len, const char *field, char *out,
                        size_t outlen);
/* Make n the master of g in the configuration of epoch (publishes
 * +switch-master when the master changes). */
void topology_set_master(struct proxy *px, struct group *g, struct node *n, long long epoch);
/* Where a read for group g goes: a replica as topology_pick_replica picks
 * it (when replica_ok), else the master; counts the decision in the
 * routing statistics. */
struct node *topology_read_target(struct proxy *px, struct group *g, int replica_ok,
                                  long long min_offset);
/* Consume the probe replies n->probe_in holds (probe_len bytes; the AUTH
 * reply first when probe_auth_pending, then probe_waiting replies: +PONG,
 * then INFO's bulk), updating n's health and role and g's master.  Returns
 * 0, or -1 on a malformed reply (the probe connection is then closed). */
int topology_probe_consume(struct proxy *px, struct node *n);

/* The AUTH command for the nodes (backend-password), RESP-encoded into a
 * mem_alloc'd buffer; NULL when no password is configured. */
char *topology_auth_frame(const struct proxy *px, size_t *len);

#endif
