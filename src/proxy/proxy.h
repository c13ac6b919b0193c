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
#include "proxy/detect.h"

#include <stdarg.h>
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
struct peer;
struct admin;
struct sockio;
struct peerlink;
struct tr_client;
struct conn;
struct conn_tls_ctx;
struct acl_state;
struct acl_user;

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
};

/* A proxy cursor, decoded (cursor.c explains the encoding). */
struct cursor {
    unsigned long long node_cursor;  /* the node's own cursor */
    unsigned gen;                /* the node's incarnation mod 16 */
    size_t group;                /* group index */
    size_t node;                 /* node index within the group + 1; 0 = not chosen */
};

/* A command that iterates with a cursor. */
struct cursor_spec {
    const char *name;
    int arg;                     /* argv index of the cursor */
    int keyspace;                /* 1: the whole keyspace (SCAN) goes through
                                    every group; 0: the key (argv[1]) routes */
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
    uint64_t probe_seq;          /* a ROLE probe: the number of its write */
    void *ctx;                   /* borrowed: on_reply's context (info.c) */
    int resp3;                   /* from a RESP3 session: goes on a RESP3 connection */
    int select_db;               /* the database it must run in, + 1; 0: any (the
                                    proxy's own ROLE, WAIT, INFO...) */
    /* A part of a request split over groups (MGET, DEL... across groups):
     * its reply goes to the fan-out, which answers the parent. */
    struct fanout *fan;          /* borrowed */
    int fan_idx;
    /* write-ack: the write's reply waits here for its WAIT's answer. */
    int ack_held;                /* the write's reply arrived and is held */
    int ack_waiting;             /* a WAIT for this write is in flight */
    struct preq *ack_parent;     /* on a WAIT: the write it acknowledges */
    long long ack_need;          /* replicas required */
    /* A write sent to a master: its frame, kept until the reply, so that a
     * -READONLY from a master demoted meanwhile (a switchover: the write
     * was held by CLIENT PAUSE and never ran) is sent to the new master. */
    char *retry_frame;           /* owned, or retry_small, or NULL */
    size_t retry_len;
    /* A cursor command: the reply's cursor is re-encoded (cursor.c). */
    int cursor_cmd;
    int cursor_keyspace;
    struct cursor cursor;        /* where this call of the iteration went */
    /* An EVALSHA (script.c): a -NOSCRIPT reply is repaired once by loading
     * the body on the node and sending the call again (retry_frame). */
    int script_retry;
    /* An EXEC whose transaction queued SELECT, HELLO or CLIENT SETNAME
     * (txn.c): applied to the session and the connection once the reply
     * says they ran. */
    struct txn_fx *txn_fx;       /* owned */
    int txn_own;                 /* a request of the transaction in MULTI (txn.c) */
    /* A short write's retry_frame lives here instead of in an allocation
     * of its own (session.c: forward); preq_alloc does not clear it.  Keep
     * it last. */
    char retry_small[128];
};

/* One pooled connection to a node. */
struct backend {
    struct node *node;           /* borrowed: owner */
    int fd;                      /* -1 when disconnected */
    struct conn *conn;           /* owned over fd (TLS with tls-backend) */
    int tls_wants_write;         /* a TLS read waits for writability */
    int connected;
    struct event *ev;            /* owned: read (and write while pending) */
    int write_armed;
    int pending;                 /* on the proxy's flush list */
    int pending_read;            /* its read waits for the turn's batch (sockio.c) */
    char *out;                   /* owned: request bytes not yet written */
    size_t out_len, out_cap, out_sent;
    char *in;                    /* owned: reply bytes not yet consumed */
    size_t in_len, in_cap;
    struct resp_scan scan;
    struct preq *head, *tail;    /* in flight, oldest first */
    size_t inflight;
    int db;                      /* the database the connection has selected (as
                                    queued: a SELECT in flight counts) */
    int select_failed;           /* a node refused our SELECT: close after the reply */
    long long retry_at_ms;
    int backoff_ms;
    int dedicated;               /* one of a node's blocking connections */
    int resp3;                   /* speaks RESP3 (HELLO 3 sent first) */
    struct session *blocked;     /* borrowed: the session whose blocking command it
                                    carries, NULL when idle (dedicated only) */
    struct session *txn_owner;   /* borrowed (txn.c): the session whose transaction is
                                    pinned to it, NULL when idle (transaction pool) */
    char *name;                  /* owned (txn.c): the name CLIENT SETNAME gave this
                                    connection on the node, NULL for none; forgotten
                                    by backend_close */
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
    /* statistics */
    long long total_connections, total_commands, local_commands;
    long long routed_master, routed_replica, routed_fallback, route_errors;
    long long session_offset_probes;
    long long writes_redirected; /* -READONLY writes re-sent to a new master */
    long long rejected_connections; /* over maxclients */
    long long qbuf_limit_kills, obuf_limit_kills, timeout_kills; /* clients closed by limits */
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
/* The least silence that marks a node down (3 probe intervals); the most is
 * down-after-ms. */
long long topology_detect_floor(const struct proxy *px);
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

/* ---- failover.c ---------------------------------------------------------- */
enum failover_state {
    FAILOVER_NONE = 0,
    FAILOVER_ELECTION,           /* asked the peers for votes */
    FAILOVER_PAUSING,            /* switchover: pausing the master, waiting for the replica */
    FAILOVER_PROMOTING,          /* REPLICAOF NO ONE sent */
};

/* Another proxy (a peer) as this one sees it. */
struct peer {
    struct proxy *px;            /* borrowed */
    char host[256];
    int port;
    char name[300];              /* host:port */
    char runid[41];              /* from its HELLO reply; "" until known */
    long long epoch;             /* its current epoch, as it last said */
    struct peerlink *link;       /* owned (peerlink.c), NULL between attempts */
    int connected;               /* the link is up (TCP, and TLS with tls-peers) */
    int announced;               /* it answered: "connected" was logged */
    int tls_refused_logged;      /* a refused TLS handshake was logged */
    long long tls_backoff_ms;    /* retry delay after refused handshakes (0: none) */
    int auth_refused_logged;     /* its refusal of our peer-auth was logged */
    int refusal_logged;          /* an error reply to our request was logged */
    long long connect_ms;        /* when the connection attempt started */
    long long retry_ms;
    int pending;                 /* requests without a reply */
    long long pending_since_ms;
    long long last_reply_ms;
    long long hello_ms;          /* last HELLO sent */
    long long *down_at;          /* owned, per group: when it last said "master down" */
    unsigned char *asking;       /* owned, per group: a down query is in flight */
};

/* Parse peers, set the run id and the events; -1 (logged) on bad options. */
int failover_setup(struct proxy *px);
void failover_teardown(struct proxy *px);
/* Detection, agreement, elections, promotions, reconfiguration; from the
 * cron after topology_cron. */
void failover_cron(struct proxy *px);
/* The peer answered lately (usable for quorum and votes). */
int failover_peer_alive(const struct peer *p, long long now);
/* The quorum and the votes a leader needs. */
long long failover_quorum(const struct proxy *px);
long long failover_votes_needed(const struct proxy *px);
/* The master of g is subjectively / objectively down (as this proxy sees it). */
int failover_sdown(const struct proxy *px, const struct group *g);
int failover_odown(const struct proxy *px, const struct group *g);
/* A peer's "SENTINEL is-master-down-by-addr ip port epoch runid|*": sets
 * *down, and the leader we voted for (or "*") and its epoch. */
void failover_vote_request(struct proxy *px, const char *ip, int port, long long epoch,
                           const char *runid, int *down, const char **leader,
                           long long *leader_epoch);
/* A peer's hello: its epoch and what it holds as g's master.  Adopts a
 * newer configuration. */
void failover_hello(struct proxy *px, long long epoch, const char *group,
                    const char *master_ip, int master_port, long long config_epoch);
/* SENTINEL FAILOVER: a planned switchover of g (to target when not NULL).
 * NULL when started, else an error reply line. */
const char *failover_start_switchover(struct proxy *px, struct group *g, struct node *target);
/* The replica a failover of g would promote, or NULL. */
struct node *failover_select_replica(struct proxy *px, struct group *g);
/* Publish a Sentinel event ("+sdown", "master mymaster 127.0.0.1 6379"). */
void failover_event(struct proxy *px, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The group whose master name is name (its Sentinel name), or NULL. */
struct group *failover_group_by_name(struct proxy *px, const char *name, size_t len);
/* g's Sentinel name: the name option for the one group of --nodes, else
 * the group's own name. */
const char *failover_group_name(const struct proxy *px, const struct group *g);

/* ---- sentinel.c ---------------------------------------------------------- */
struct session;
/* The SENTINEL command on a client session. */
void sentinel_command(struct session *s, size_t argc, const struct resp_arg *argv);

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
/* An idle connection of pool[0..n) (busy() says which are not), preferring
 * an open one in the wanted protocol, then a closed one, then an idle one in
 * the other protocol (closed, to reopen); NULL when all are busy. */
struct backend *backend_pick_idle(struct backend *pool, long long n, int resp3,
                                  int (*busy)(const struct backend *b));
/* The pooled connection of n that requests with this affinity and protocol
 * use (opened when needed); NULL when n cannot be reached now. */
struct backend *backend_pick(struct proxy *px, struct node *n, uint64_t affinity, int resp3);
struct backend *backend_take_blocking(struct proxy *px, struct node *n, struct session *s,
                                      int *exhausted);
void backend_release_blocking(struct backend *b);
/* Forget b on the flush list (it is about to be freed). */
void backend_forget_pending(struct proxy *px, struct backend *b);
/* The AUTH command for the nodes (backend-password), RESP-encoded into a
 * mem_alloc'd buffer; NULL when no password is configured. */
char *topology_auth_frame(const struct proxy *px, size_t *len);

/* ---- session.c ------------------------------------------------------------ */
/* Take an accepted socket as a new session (TLS when tls is nonzero). */
void session_accept(struct proxy *px, int fd, int tls);
/* A request finished: its reply bytes. */
void session_deliver(struct preq *r, const char *reply, size_t len);
void session_resume(struct session *s);
void session_flush_pending(struct proxy *px);
/* Idle timeouts and output soft limits; from the cron. */
void session_cron(struct proxy *px);
void session_free_closed(struct proxy *px);
void session_destroy_all(struct proxy *px);

/* A reply the proxy makes itself (RESP bytes), in request order. */
void session_reply(struct session *s, const char *p, size_t len);
/* A new request at the end of s's FIFO, answered later with
 * session_deliver (a reply assembled from several nodes). */
struct preq *session_new_request(struct session *s);

/* An error reply whose text may carry client bytes: fmt formats the text
 * after '-' ("ERR unknown ..."), without CRLF; CR and LF in the result
 * become spaces, as the node and Redis do, so the reply stays one line. */
void session_error(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same into buf ("-...\r\n", NUL-terminated, truncated to cap); returns
 * its length without the NUL. */
size_t session_error_line(char *buf, size_t cap, const char *fmt, va_list ap);

/* A reply under construction (pub/sub, SENTINEL): a growable buffer. */
struct rbuf {
    char *p;                     /* owned; rbuf_free releases it */
    size_t len, cap;
};

enum session_flag {
    SESSION_AUTHENTICATED = 1 << 0,
    SESSION_CLOSE_AFTER_REPLY = 1 << 1,
    SESSION_CLOSING = 1 << 2,
    SESSION_PENDING_WRITE = 1 << 3,
    SESSION_WRITE_ARMED = 1 << 4,
    SESSION_READ_OFF = 1 << 5,
    SESSION_EOF = 1 << 6,          /* the client half-closed: input held for a
                                      transaction (txn.c) still runs */
    SESSION_PEER = 1 << 7,         /* proved peer-auth (sentinel.c) */
    SESSION_PEER_REFUSED = 1 << 8, /* a peer request without it was logged */
    SESSION_PENDING_READ = 1 << 9, /* its read waits for the turn's batch (sockio.c) */
};

/* A client connection.  session.c owns its life; client_cmd.c (CLIENT) and
 * info.c read it. */
struct session {
    uint64_t id;
    int fd;                        /* conn's socket */
    struct conn *conn;             /* owned: plain or TLS */
    int read_wants_write;          /* a TLS read waits for writability */
    unsigned flags;
    struct proxy *px;              /* borrowed */
    struct event *ev;              /* owned */
    char *qbuf;                    /* owned */
    size_t qlen, qcap, qpos;
    struct resp_parser parser;
    struct preq *head, *tail;      /* owned FIFO of requests */
    size_t pending;                /* requests not yet answered */
    struct rbuf out;               /* owned: reply bytes not yet written */
    size_t out_sent;
    int resp;
    long long write_offset;        /* master offset after our last write; -1
                                      while that write's ROLE probe is out */
    uint64_t write_seq;            /* writes tracked so far: each probe
                                      carries its write's number */
    struct preq *internal;         /* owned list (via inext) of our internal requests */
    struct backend **own;          /* owned: per group, a private connection to its
                                      master for write-ack writes (WAIT is per
                                      connection and blocks it) */
    char *name;                    /* owned */
    char *lib_name, *lib_ver;      /* owned (CLIENT SETINFO), or NULL */
    struct tr_client *tracking;    /* owned (tracking.c): CLIENT TRACKING state;
                                      NULL when off */
    struct pubsub_client *pubsub;  /* owned (pubsub.c): channels and patterns
                                      subscribed to; NULL when none */
    struct session *prev, *next;   /* the proxy's list */
    struct session *pw_next;       /* pending-write list */
    struct session *close_next;    /* close list */
    char addr[64];                 /* the client's ip:port */
    char laddr[64];                /* ours */
    long long ctime_ms;            /* connected at */
    long long last_ms;             /* last command at (CLIENT LIST idle, timeout) */
    const struct command *lastcmd; /* borrowed from the command table; NULL before one */
    size_t held;                   /* bytes of replies held for order (in preqs) */
    long long obuf_soft_since_ms;  /* over the soft output limit since (0: not) */
    int db;                        /* the database SELECT chose */
    struct backend *blocked_on;    /* borrowed: the dedicated connection its blocking
                                      command runs on; its input waits meanwhile */
    struct txn *txn;               /* owned (txn.c): its WATCH/MULTI state, NULL when none */
    int txn_hold;                  /* txn.c held its input until replies arrive */
    struct acl_user *user;         /* borrowed from px->acl (access.c): who it is */
};
/* Close s once the current callback unwinds (CLIENT KILL, limits). */
void session_close(struct session *s);
void rbuf_add(struct rbuf *b, const void *p, size_t len);
void rbuf_str(struct rbuf *b, const char *s);
void rbuf_printf(struct rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A RESP header: prefix ('*', '$', ':', '%', '>'...) and n. */
void rbuf_hdr(struct rbuf *b, char prefix, long long n);
void rbuf_bulk(struct rbuf *b, const char *p, size_t len);
/* Each of lines[0..n) as a status reply (+line), as HELP answers list them. */
void rbuf_status_lines(struct rbuf *b, const char *const *lines, size_t n);
/* Send what b holds to s (session_reply) and empty it (capacity kept). */
void rbuf_reply(struct session *s, struct rbuf *b);
void rbuf_free(struct rbuf *b);
/* The session's protocol: 2 or 3 (HELLO). */
int session_protocol(const struct session *s);
struct proxy *session_proxy(const struct session *s);
/* Close the sessions' private connections (write-ack) to n, failing what
 * is in flight on them: n stopped being a master. */
void session_drop_node(struct proxy *px, struct node *n);

/* ---- pubsub.c ------------------------------------------------------------- */
/* The proxy's own pub/sub: clients SUBSCRIBE/PSUBSCRIBE to its event
 * channels (Sentinel's +switch-master, +sdown, ...).  Deliver msg on channel
 * to every subscriber (pattern subscribers too); returns how many got it
 * (0 when held back while a subscriber link re-subscribes after a
 * failover: nodesub_defer_event). */
long long pubsub_publish(struct proxy *px, const char *channel, const char *msg, size_t len);

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

/* ---- tlsctx.c: TLS on the client port and to the nodes --------------------- */
extern const char *const tlsctx_auth_names[];  /* no, yes, optional */
/* Build the contexts the tls-* options ask for (tls-port: the client
 * port's; tls-backend: the nodes').  Returns 0, or -1 after logging why
 * (the proxy must not start). */
int tlsctx_setup(struct proxy *px);
void tlsctx_teardown(struct proxy *px);
/* Option apply hook (ctx: the proxy): rebuild the contexts from the current
 * tls-* values, swapped in only when all build; open connections keep the
 * old ones.  Returns 0, or -1 with Redis's message in err. */
int tlsctx_apply(const struct option_def *def, void *ctx, char *err, size_t errlen);
/* A TLS server session over an accepted socket (takes fd), or NULL. */
struct conn *tlsctx_accept(struct proxy *px, int fd);
/* The connection for a socket connecting to a node (takes fd): TLS with
 * tls-backend, else plain.  NULL when OpenSSL fails (fd left open). */
struct conn *tlsctx_connect(struct proxy *px, int fd, const char *peer);

/* ---- info.c ----------------------------------------------------------------- */
/* INFO [section ...] for session s (see info.c for the sections). */
void info_command(struct session *s, size_t argc, const struct resp_arg *argv);
extern const char *const proxy_read_policy_names[];

/* ---- client_cmd.c --------------------------------------------------------- */
/* CLIENT <subcommand> for session s (argc >= 2). */
void client_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv);
/* Append s's CLIENT LIST line (with its newline) to b. */
void client_cmd_describe(struct rbuf *b, const struct session *s);
/* s is subscribed to something: Redis's pubsub client class. */
int client_cmd_is_pubsub(const struct session *s);

/* ---- config_cmd.c --------------------------------------------------------- */
/* CONFIG <subcommand> for session s (argc >= 2): the proxy's own options. */
void config_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv);

/* ---- cursor.c ------------------------------------------------------------- */
#define CURSOR_MAX_NODE_INDEX 511    /* nodes per group a cursor can name */
/* The cursor spec of cmd (SCAN, SSCAN...), or NULL when it has no cursor. */
const struct cursor_spec *cursor_spec_of(const struct command *cmd);
/* Decode a client's cursor; -1 when it is not one (Redis's "invalid cursor"). */
int cursor_decode(const char *p, size_t len, struct cursor *c);
unsigned long long cursor_encode(const struct cursor *c);
/* n's index within its group + 1 (what a cursor holds), and back (NULL when
 * the group has no such node). */
size_t cursor_node_index(const struct proxy *px, const struct node *n);
struct node *cursor_node_at(const struct proxy *px, const struct group *g, size_t index);
/* The reply of one call of an iteration made on r's node, with the node's
 * cursor replaced by the proxy's (an error reply is copied as it is).
 * Returns a mem_alloc'd reply of *outlen bytes. */
char *cursor_reply(const struct proxy *px, const struct preq *r, const char *reply, size_t len,
                   size_t *outlen);

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

/* ---- txn.c ---------------------------------------------------------------- */
struct txn;
/* Allocate / close node n's transaction connections (topology.c). */
void txn_node_setup(struct proxy *px, struct node *n);
void txn_node_teardown(struct proxy *px, struct node *n);
/* n stopped being its group's master: its pinned connections close, so the
 * transactions on them fail at EXEC (never half-applied, never re-sent). */
void txn_drop_node(struct proxy *px, struct node *n);
/* Request timeouts on n's transaction connections (topology cron): a hung
 * master fails the EXEC instead of holding the session for ever. */
void txn_cron(struct proxy *px, struct node *n);
/* Before a request of s is handled: 1 when it must wait (in the query
 * buffer) until s's earlier replies arrived, so that a transaction never
 * overtakes or is overtaken by the session's other requests. */
int txn_hold(struct session *s, const struct command *cmd);
/* r, a request of s, is answered: resume held input, give back the
 * connection of an ended transaction whose replies are all in. */
void txn_progress(struct session *s, const struct preq *r);
/* Handle a request of s that belongs to its transaction (MULTI, EXEC,
 * DISCARD, WATCH, UNWATCH, RESET, or anything while in MULTI or, for its
 * group, while watching).  Returns 1 when handled (answered or sent). */
int txn_request(struct session *s, const struct command *cmd, size_t argc,
                struct resp_arg *argv, const char *frame, size_t len);
/* The request must go to txn_request before handle_request's own checks
 * (s is in a transaction, or EXEC has a wrong arity: EXECABORT). */
int txn_early(const struct session *s, const struct command *cmd, size_t argc);
/* r is an EXEC carrying r->txn_fx: its reply (the node's, before write-ack
 * holds it) says which of the transaction's SELECT/HELLO/CLIENT SETNAME
 * ran; apply them to r's session (when still there) and connection, and
 * free r->txn_fx. */
void txn_exec_replied(struct preq *r, const char *reply, size_t len);
/* s is between MULTI and EXEC (a refused command there aborts EXEC). */
int txn_in_multi(const struct session *s);
/* A command of s was refused (ACL) while in MULTI: EXEC will abort. */
void txn_refuse(struct session *s);
/* The input s sent so far is handled: a MULTI still unanswered gets +OK. */
void txn_drained(struct session *s);
/* s is being freed: release its pinned connection (closed: the node drops
 * the queued commands and the watches). */
void txn_session_gone(struct session *s);

/* ---- access.c ------------------------------------------------------------- */
/* The users from requirepass, "user" lines or aclfile; -1 (logged) when
 * they are malformed. */
int access_setup(struct proxy *px);
void access_teardown(struct proxy *px);
/* The configuration was reloaded (SIGHUP): rebuild the users; users kept by
 * name keep their sessions.  -1 (logged) leaves the old users. */
int access_reload(struct proxy *px);
/* A new or RESET session: the default user, authenticated when nopass. */
void access_session_start(struct session *s);
/* The default user needs no password (protected-mode applies). */
int access_no_password(const struct proxy *px);
/* AUTH / HELLO AUTH: on success s becomes the user (returned); NULL after
 * an ACL LOG "auth" entry. */
struct acl_user *access_authenticate(struct session *s, const struct resp_arg *user,
                                     const struct resp_arg *pass);
/* May s's user run this command?  0, or -1 after the NOPERM reply and the
 * ACL LOG entry. */
int access_check(struct session *s, const struct command *cmd, size_t argc,
                 const struct resp_arg *argv);
/* ACL <subcommand> for the proxy's own users. */
void access_acl_command(struct session *s, size_t argc, const struct resp_arg *argv);

/* ---- script.c ------------------------------------------------------------- */
/* Free the sha -> body cache (made on first use). */
void script_teardown(struct proxy *px);
/* SCRIPT LOAD/FLUSH/EXISTS/KILL and FUNCTION LOAD/DELETE/FLUSH/RESTORE/KILL
 * on every node; returns 1 when cmd was one of them (answered later). */
int script_command(struct session *s, const struct command *cmd, size_t argc,
                   const struct resp_arg *argv);
/* r (the request just forwarded for s) is an EVAL, EVALSHA or FCALL: learn
 * the body, or arm the NOSCRIPT / missing-function repair. */
void script_forwarded(struct session *s, const struct command *cmd, size_t argc,
                      const struct resp_arg *argv, struct preq *r, const char *frame,
                      size_t len);
/* EVALSHA/EVALSHA_RO whose body the proxy knows, as the EVAL/EVAL_RO frame
 * that runs the same script (mem_alloc'd, *len set); NULL otherwise.  A
 * transaction's EVALSHA goes this way: a NOSCRIPT inside EXEC cannot be
 * repaired by sending the call again. */
char *script_as_eval(struct proxy *px, const struct command *cmd, size_t argc,
                     const struct resp_arg *argv, size_t *len);
/* EVAL, EVALSHA or FCALL: it may write, so write-ack applies. */
int script_may_write(const struct command *cmd);
/* r's reply: 1 when it was a -NOSCRIPT, or a FCALL's "Function not found",
 * that script.c repaired (r re-sent behind the script or libraries). */
int script_deliver(struct preq *r, const char *reply, size_t len);
/* Does the proxy know any function library (FUNCTION LOAD / RESTORE
 * through it)? */
int script_libs_known(const struct proxy *px);
/* Queue FUNCTION LOAD (without REPLACE: a library the node has stays as it
 * is) of every library the proxy knows on n (on connection b, any when
 * NULL), each an internal request of s whose reply goes to on_reply with
 * ctx in r->ctx.  Returns how many went out. */
int script_load_libs(struct session *s, struct node *n, struct backend *b,
                     void (*on_reply)(struct preq *r, const char *reply, size_t len),
                     void *ctx);
/* After write-ack's rules: send WAIT behind wr (already sent on b to g's
 * master) and hold wr's reply until WAIT answers (session.c). */
void session_ack_after(struct session *s, struct group *g, struct preq *wr);
/* s's private connection to g's master for write-ack writes (WAIT blocks
 * it), opened when needed; NULL when there is no master or it cannot be
 * reached.  Owned by s. */
struct backend *session_own_connection(struct session *s, struct group *g);
/* In read-policy session: s wrote on master through connection on (a
 * transaction's), so its reads wait for a replica holding that write. */
void session_track_write(struct session *s, struct node *master, struct backend *on);

#endif
