/* cachely-proxy's process-wide state and the objects the modules share:
 * client sessions, pending requests, backend connections, nodes and the
 * group they form.  One instance lives in main.c.
 *
 * The data path: a session parses each request frame, the router picks a
 * node from the command table's flags and the topology, and the frame's
 * bytes are appended as received to one of that node's pooled backend
 * connections.  Each backend connection answers its requests in order; the
 * reply's bytes go back to the session, which releases replies strictly in
 * request order even when requests went to different nodes. */
#ifndef CACHELY_PROXY_PROXY_H
#define CACHELY_PROXY_PROXY_H

#include "core/command.h"
#include "core/option.h"
#include "core/resp.h"
#include "core/resp_scan.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct session;
struct backend;
struct node;
struct group;
struct fanout;
struct http_port;

enum read_policy { READ_MASTER = 0, READ_REPLICAS, READ_SESSION };

struct proxy_config {
    long long port;
    char *bind;                  /* owned */
    char *nodes;                 /* owned: "host:port,host:port,..." */
    char *groups;                /* owned: "name slots nodes;..." from group lines */
    char *requirepass;           /* owned */
    char *backend_user;          /* owned; "" = AUTH <password> */
    char *backend_password;      /* owned; "" = nodes need no AUTH */
    long long pool_size;         /* backend connections per node */
    int read_policy;             /* enum read_policy */
    int write_ack;               /* 0: master only; N: N replicas; -1: all */
    long long write_ack_timeout_ms;
    long long max_replica_lag_ms;
    long long probe_interval_ms;
    long long down_after_ms;
    long long backend_timeout_ms;
    long long maxclients;
    int loglevel;
    char *logfile;               /* owned */
    char *pidfile;               /* owned */
    int daemonize;
    long long http_port;         /* 0 = no HTTP interface */
};

/* A client request waiting for its reply. */
struct preq {
    struct session *s;           /* borrowed; NULL once the session is gone */
    struct preq *next;           /* the session's FIFO (owned by the session) */
    struct preq *bnext;          /* the backend's in-flight FIFO */
    struct node *node;           /* borrowed: where it went */
    struct backend *backend;     /* borrowed: the connection it went on */
    uint64_t affinity;           /* the session's id: picks its pooled connection */
    char *reply;                 /* owned: reply bytes when done early */
    size_t reply_len;
    int done;
    long long sent_us;
    /* An internal request (the proxy's own, e.g. ROLE after a write in
     * session mode): its reply goes to on_reply instead of the client, and
     * it is not on the session's FIFO. */
    void (*on_reply)(struct preq *r, const char *reply, size_t len);
    struct preq *inext;          /* the session's internal list */
    /* A part of a request split over groups (MGET, DEL... across groups):
     * its reply goes to the fan-out, which answers the parent. */
    struct fanout *fan;          /* borrowed */
    int fan_idx;
    /* write-ack: the write's reply waits here for its WAIT's answer. */
    int ack_held;                /* the write's reply arrived and is held */
    int ack_waiting;             /* a WAIT for this write is in flight */
    struct preq *ack_parent;     /* on a WAIT: the write it acknowledges */
    long long ack_need;          /* replicas required */
};

/* One pooled connection to a node. */
struct backend {
    struct node *node;           /* borrowed: owner */
    int fd;                      /* -1 when disconnected */
    int connected;
    struct event *ev;            /* owned: read (and write while pending) */
    int write_armed;
    int pending;                 /* on the proxy's flush list */
    char *out;                   /* owned: request bytes not yet written */
    size_t out_len, out_cap, out_sent;
    char *in;                    /* owned: reply bytes not yet consumed */
    size_t in_len, in_cap;
    struct resp_scan scan;
    struct preq *head, *tail;    /* in flight, oldest first */
    size_t inflight;
    long long retry_at_ms;
    int backoff_ms;
};

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
    int up;                      /* answered a probe within down-after-ms */
    int link_up;                 /* a replica's master_link_status:up */
    int sync_in_progress;
    long long offset;            /* master_repl_offset / slave_repl_offset */
    long long last_ok_ms;        /* last valid probe reply */
    struct backend *pool;        /* owned array of pool_size */
    /* probe connection */
    int probe_fd;
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

struct proxy {
    struct proxy_config cfg;
    struct option_table opts;
    struct event_base *base;     /* owned */
    int listen_fd;
    struct event *listen_ev;     /* owned */
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
    uint64_t next_session_id;
    long long start_ms;
    /* statistics */
    long long total_connections, total_commands, local_commands;
    long long routed_master, routed_replica, routed_fallback, route_errors;
    long long session_offset_probes;
    int shutdown_asap;
    struct http_port *http;      /* owned: NULL when http-port is 0 */
    /* what the process was started with, re-read on SIGHUP */
    char *config_path;           /* owned, or NULL */
    int argc;
    char **argv;                 /* borrowed from main */
    long long reloads;
};

/* ---- topology.c ---------------------------------------------------------- */
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
/* Add a node to group g (configured, or discovered as a replica) unless
 * known; returns it. */
struct node *topology_add(struct proxy *px, struct group *g, const char *host, int port);
/* A replica of g that is up, linked, not syncing, caught up within
 * max-replica-lag-ms and holding at least min_offset, chosen round robin;
 * NULL when none is. */
struct node *topology_pick_replica(struct proxy *px, struct group *g, long long min_offset);
/* Where a read for group g goes: a replica as topology_pick_replica picks
 * it (when replica_ok), else the master; counts the decision in the
 * routing statistics. */
struct node *topology_read_target(struct proxy *px, struct group *g, int replica_ok,
                                  long long min_offset);

/* ---- backend.c ----------------------------------------------------------- */
void backend_init(struct backend *b, struct node *n);
void backend_close(struct backend *b, const char *why);
/* Queue a request frame on one of node's connections (on, when not NULL:
 * requests that must follow another one in order); the reply will be
 * delivered to r.  Returns 0, or -1 when the node cannot be reached now (r
 * is then untouched). */
int backend_send(struct proxy *px, struct node *n, struct backend *on, struct preq *r,
                 const char *frame, size_t len);
/* Reconnects and request timeouts; called from the cron. */
void backend_cron(struct proxy *px, struct backend *b);
/* Write what every backend queued during this loop iteration: requests from
 * many sessions leave in one write per connection. */
void backend_flush_pending(struct proxy *px);
/* Connect b when it is not (a private connection); NULL when it cannot. */
struct backend *backend_open(struct proxy *px, struct backend *b);
/* Forget b on the flush list (it is about to be freed). */
void backend_forget_pending(struct proxy *px, struct backend *b);
/* The AUTH command for the nodes (backend-password), RESP-encoded into a
 * mem_alloc'd buffer; NULL when no password is configured. */
char *topology_auth_frame(const struct proxy *px, size_t *len);

/* ---- session.c ------------------------------------------------------------ */
void session_accept(struct proxy *px, int fd);
/* A request finished: its reply bytes. */
void session_deliver(struct preq *r, const char *reply, size_t len);
void session_flush_pending(struct proxy *px);
void session_free_closed(struct proxy *px);
void session_destroy_all(struct proxy *px);

/* ---- fanout.c ------------------------------------------------------------- */
/* True when a multi-key command may be split over groups / a keyless one
 * is spread over every group. */
int fanout_can_split(const struct command *cmd);
int fanout_can_spread(const struct command *cmd);
/* Split parent's command (already on the session FIFO) by the group of each
 * key, or send it to every group; the merged reply answers parent. */
void fanout_split(struct proxy *px, struct preq *parent, const struct command *cmd,
                  size_t argc, const struct resp_arg *argv);
void fanout_spread(struct proxy *px, struct preq *parent, const struct command *cmd,
                   const char *frame, size_t len);
/* A part's reply arrived. */
void fanout_part_done(struct preq *r, const char *reply, size_t len);
/* Encode argv as a RESP multibulk frame (mem_alloc'd; *len set). */
char *proxy_encode(size_t argc, const struct resp_arg *argv, size_t *len);

/* ---- http.c --------------------------------------------------------------- */
/* Listen for HTTP on bind:http-port when http-port is not 0 (/cache/get,
 * /cache/set, /cache/del, /health, /metrics, /topology).  Returns 0 or -1
 * (logged).  Teardown before topology_teardown; safe when not set up. */
int http_setup(struct proxy *px);
void http_teardown(struct proxy *px);
/* Count one reply of node n that took us microseconds (backend.c). */
void http_observe_latency(struct node *n, long long us);

/* ---- route.c -------------------------------------------------------------- */
enum route_kind {
    ROUTE_LOCAL = 0,    /* answered by the proxy itself */
    ROUTE_MASTER,       /* the group's master */
    ROUTE_READ,         /* per read policy: a replica, else the master */
    ROUTE_REFUSE,       /* not available through the proxy */
};
/* Classify a command (a top-level row of the command table) for the proxy:
 * a pure function of its flags and name, so it can be unit-tested. */
enum route_kind route_classify(const struct command *cmd);

#endif
