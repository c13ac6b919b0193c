/* Replication: the write stream, the backlog, the master's replicas, and
 * this node's link to its own master.
 *
 * The stream is plain RESP: every effective write, as the command that
 * reproduces its effect (relative TTLs as PXAT, SET-like commands as the
 * key's resulting state, expiries and evictions as DEL), with SELECT when the
 * database changes.  A full sync forks a child that streams the keyspace as
 * commands between "$EOF:<mark>" markers while the parent keeps serving and
 * queues the live stream behind it; a replica applies both through the same
 * dispatch path clients use and relays the raw bytes to its own replicas, so
 * offsets are the same along a chain. */
#ifndef CACHELY_NODE_REPL_H
#define CACHELY_NODE_REPL_H

#include "core/resp.h"

#include <stddef.h>
#include <sys/types.h>

struct server;
struct client;
struct conn;
struct db;
struct event;

#define REPL_ID_LEN 40
#define REPL_EOF_MARK_LEN 40

/* This node's link to its master (replica side). */
#define REPL_LINK_STATES(X)                                                 \
    X(NONE, "none")               /* a master */                            \
    X(CONNECT, "connect")         /* must (re)connect */                    \
    X(CONNECTING, "connecting")   /* TCP connect in progress */             \
    X(HANDSHAKE, "handshake")     /* PING/AUTH/REPLCONF/PSYNC exchange */   \
    X(TRANSFER, "sync")           /* receiving the snapshot */              \
    X(CONNECTED, "connected")     /* applying the live stream */

enum repl_link_state {
#define REPL_LINK_ENUM(sym, name) REPL_LINK_##sym,
    REPL_LINK_STATES(REPL_LINK_ENUM)
#undef REPL_LINK_ENUM
};

/* A replica attached to us (master side), kept in struct client. */
enum replica_state {
    REPLICA_NONE = 0,
    REPLICA_WAIT_SNAPSHOT,  /* a child writes the snapshot; the stream queues */
    REPLICA_ONLINE,
};

struct repl {
    /* identity and position of the stream this node serves */
    char replid[REPL_ID_LEN + 1];
    char replid2[REPL_ID_LEN + 1];
    long long offset;             /* master_repl_offset: bytes ever streamed */
    long long second_replid_offset; /* replid2 valid up to here; -1 none */
    int stream_db;                /* db of the last SELECT streamed; -1 none */

    /* the backlog: the last backlog_size bytes of the stream */
    char *backlog;                /* owned; NULL until first needed */
    size_t backlog_size;
    size_t backlog_idx;           /* next write position */
    size_t backlog_histlen;       /* bytes held */
    long long no_replicas_since;  /* ms; for repl-backlog-ttl */

    /* master side */
    struct client **replicas;     /* owned array of borrowed clients */
    size_t nreplicas;
    size_t replicas_cap;
    long long sync_full, sync_partial_ok, sync_partial_err;
    int getack_pending;           /* ask replicas for an ACK before sleeping */
    long long last_ping_ms;

    /* replica side */
    int link_state;               /* enum repl_link_state */
    char *master_host;            /* owned; NULL when a master */
    int master_port;
    int link_fd;                  /* during connect/handshake */
    struct conn *link_conn;       /* owned, over link_fd once connected
                                     (TLS with tls-replication) */
    struct event *link_event;     /* owned; connect/handshake I/O */
    int handshake_step;
    int hs_extra;                 /* an extra reply (ip-address) to read */
    char hs_buf[512];             /* a handshake reply line being read */
    size_t hs_len;
    struct client *master;        /* borrowed: the link once streaming */
    int psync_known;              /* replid/offset name data we hold: PSYNC
                                     may ask to continue them */
    int master_db;                /* db the master's stream is in, kept
                                     across links so a resume applies there */
    char eof_mark[REPL_EOF_MARK_LEN];
    long long transfer_start_ms;
    long long transfer_bytes;
    long long link_down_since_ms; /* 0 while connected */
    long long last_io_ms;         /* last byte from the master */
    long long last_connect_ms;
    int connect_backoff_ms;
    struct event *cron;           /* owned; every 100 ms */

    /* the config epoch (see repl_config_epoch_adopt) */
    long long config_epoch;       /* 0 until an order names one */
};

/* Setup after the keyspace exists; teardown frees everything. */
void repl_setup(struct server *srv);
void repl_teardown(struct server *srv);

/* ---- the stream ---------------------------------------------------------- */
/* Propagate one command (a write the keyspace made by itself, e.g. DEL for
 * an expired or evicted key), preceded by SELECT when the stream is in
 * another database (dbid -1: whatever database the stream is in).
 * Commands' own effects go through node/propagate.h. */
void repl_feed_command(struct server *srv, int dbid, size_t argc,
                       const struct resp_arg *argv);
/* The same for a command already RESP-encoded. */
void repl_feed_encoded(struct server *srv, int dbid, const char *cmd, size_t len);
/* Append bytes received from our master to our backlog and replicas. */
void repl_feed_raw(struct server *srv, const char *buf, size_t len);
/* True when something reads the stream (a backlog, i.e. replicas were
 * attached, or the AOF): otherwise feeding it does nothing. */
int repl_stream_active(const struct server *srv);
/* True when this node follows a master. */
int repl_is_replica(const struct server *srv);

/* ---- master side ---------------------------------------------------------- */
/* A client that was a replica is going away. */
void repl_client_gone(struct client *c);
/* Replicas whose last ACK is at most max_lag seconds old. */
int repl_good_replicas(struct server *srv);
/* Replicas that acknowledged at least offset. */
int repl_replicas_acked(struct server *srv, long long offset);
/* Called once per event-loop iteration before sleeping: send GETACK when a
 * WAIT needs it. */
void repl_before_sleep(struct server *srv);

/* PSYNC/SYNC from a replica: partial resync from the backlog, or a full
 * sync (the reply and snapshot are written here). */
/* A replica's full sync ended (the snapshot is out when ok): put it online
 * with the stream that queued meanwhile, or close it. */
void repl_master_sync_done(struct client *c, int ok);
void repl_master_psync(struct client *c, const char *replid, size_t idlen,
                       long long from, int is_sync);
/* REPLCONF ACK from a replica. */
void repl_master_ack(struct client *c, long long offset);
/* Block c (WAIT) until numreplicas acked offset or timeout_ms (0: never). */
void repl_block_wait(struct client *c, long long offset, long long numreplicas,
                     long long timeout_ms);

/* ---- replica side --------------------------------------------------------- */
/* REPLCONF GETACK from our master: answer with our offset. */
void repl_replica_getack(struct client *c);
/* Follow host:port (NULL host: become a master, keeping the history). */
void repl_set_master(struct server *srv, const char *host, int port);
/* The master client's input: called by the client layer for a client with
 * CLIENT_MASTER before parsing; returns bytes of snapshot framing consumed
 * (the EOF marks), or -1 when the link must be dropped. */
long repl_master_input(struct client *c, const char *buf, size_t len);
/* A frame from the master was applied: advance the processed offset. */
void repl_master_applied(struct client *c, const char *frame, size_t len);

/* ---- the config epoch -----------------------------------------------------
 * A fencing token for role changes: the proxies that run failover give every
 * REPLICAOF an EPOCH, and a node refuses an order older than the newest it
 * obeyed, so a late or replayed order of a superseded failover cannot undo a
 * newer one.  It is kept in the snapshot header and the append-only file. */

/* Adopt epoch for an order about to be obeyed: returns STATUS_RANGE, changing
 * nothing, when epoch is older than the node's; else STATUS_OK with the
 * epoch recorded (logged, written to the append-only file, and counted as a
 * change for the save schedule when it grew). */
int repl_config_epoch_adopt(struct server *srv, long long epoch);
/* Set the epoch read from a file at boot (no logging, no recording). */
void repl_config_epoch_load(struct server *srv, long long epoch);

/* The database the stream this node follows or serves is in right now
 * (recorded in snapshots so a restarted replica resumes in it). */
int repl_stream_db(const struct server *srv);
/* DEBUG CHANGE-REPL-ID: a new random replication id, and no second one, as
 * Redis's changeReplicationId() + clearReplicationId2() do: replicas that
 * reconnect must then resync fully. */
void repl_change_replid(struct server *srv);
/* The human name of a link state, for INFO and logs. */
const char *repl_link_state_name(int state);

#endif
