/* Client sessions (session.c, session_request.c) and their requests.
 *
 * The data path: a session parses each request frame, the router picks a
 * node from the command table's flags and the topology, and the frame's
 * bytes are appended as received to one of that node's pooled backend
 * connections (backend.h).  Each backend connection answers its requests in
 * order; the reply's bytes go back to the session, which releases replies
 * strictly in request order even when requests went to different nodes. */
#ifndef CACHELY_PROXY_SESSION_H
#define CACHELY_PROXY_SESSION_H

#include "core/resp.h"
#include "proxy/cursor.h"
#include "proxy/rbuf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct proxy;
struct node;
struct group;
struct backend;
struct fanout;
struct txn;
struct txn_fx;
struct tr_client;
struct pubsub_client;
struct conn;
struct event;
struct acl_user;
struct command;
struct bmux_wait;
struct option_def;

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
    size_t probe_group;          /* a ROLE probe: its write's group index */
    int on_replica;              /* counted in its session's replica_reads */
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
    int block_ack;               /* a blocking write under write-ack (BLMOVE, BLPOP,
                                    XREADGROUP...): once its reply says it served,
                                    a WAIT follows it on its connection */
    int block_write;             /* a blocking write: once it served, the session's
                                    reads go where its effect is (read-your-writes) */
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
    /* A run: plain reads of one session that followed each other in its
     * input, went to the same connection with nothing between them there,
     * and share this one request (session_request.c: forward).  Its
     * replies come one by one; it leaves the connection's list with the
     * last one, and until then the session's output takes each as it comes
     * (or r->reply keeps them while an earlier request is unanswered). */
    unsigned more;               /* replies still due after the next one */
    int run_kept;                /* a run of writes: retry_frame holds all their
                                    frames, in an allocation of retry_cap bytes
                                    (a -READONLY splits it: session_run_split) */
    size_t retry_cap;
    int silent;                  /* CLIENT REPLY OFF/SKIP: its reply is dropped (kept
                                    in order, zero bytes) */
    /* A short write's retry_frame lives here instead of in an allocation
     * of its own (session.c: forward); preq_alloc does not clear it.  Keep
     * it last. */
    char retry_small[128];
};

/* Take an accepted socket as a new session (TLS when tls is nonzero). */
void session_accept(struct proxy *px, int fd, int tls);
/* A request finished: its reply bytes. */
void session_deliver(struct preq *r, const char *reply, size_t len);
/* n (> 1) replies of a run's request r (r->more + 1 at most) in one span
 * of bytes: as n calls of session_deliver, one append. */
void session_deliver_run(struct preq *r, const char *replies, size_t len, unsigned n);
/* r, first on its connection, is a run of writes whose next reply is
 * -READONLY: its unanswered writes become requests of their own in its
 * place (each with its frame, redirected or answered as a lone write is);
 * r ends with the replies it had.  Returns the request now first on the
 * connection. */
struct preq *session_run_split(struct preq *r);
void session_resume(struct session *s);
/* Stop (on 1) or restart (on 0) running s's input. */
void session_hold_input(struct session *s, int on);
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
    SESSION_NO_EVICT = 1 << 10,    /* CLIENT NO-EVICT on: maxmemory-clients spares it */
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
    /* Read-your-writes (read-policy session), per group: a master's
     * offsets say nothing of another group's replicas. */
    struct ryw {
        long long offset;          /* the master's offset after our last write
                                      there; -1 while its ROLE probe is out */
        uint64_t seq;              /* writes tracked there so far: each probe
                                      carries its write's number */
    } ryw;                         /* the first group's */
    struct ryw *ryw_more;          /* owned, NULL until a write in another group:
                                      TOPOLOGY_MAX_GROUPS entries, by group index */
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
    struct preq *run;              /* borrowed (on the FIFO): the read run the next
                                      plain read may join, NULL when none; cleared
                                      when the input read is handled */
    const struct command *seen_cmd; /* borrowed: the command seen_name named last
                                       (session_request.c), NULL before one */
    char seen_name[16];            /* its name as the client spelled it */
    size_t seen_len;
    int seen_kind;                 /* route_classify(seen_cmd) */
    const struct cursor_spec *seen_cspec; /* borrowed: cursor_spec_of(seen_cmd) */
    size_t held;                   /* bytes of replies held for order (in preqs) */
    size_t mem_counted;            /* its share of px->clients_mem (maxmemory-clients) */
    long long obuf_soft_since_ms;  /* over the soft output limit since (0: not) */
    int db;                        /* the database SELECT chose */
    int reply_off;                 /* CLIENT REPLY OFF: no replies until ON */
    int reply_skip;                /* CLIENT REPLY SKIP: the next command's dropped */
    int input_held;                /* its input waits (tracking.c: CLIENT TRACKING ON
                                      until the nodes track for the proxy) */
    int pushing;                   /* what is being sent is a push (pub/sub): never
                                      silenced by cur_silent */
    int cur_silent;                /* the request being handled answers nothing
                                      (pushes still go out, as on Redis) */
    struct backend *blocked_on;    /* borrowed: the dedicated connection its blocking
                                      command runs on; its input waits meanwhile */
    struct bmux_wait *mux_wait;    /* borrowed from blockmux.c's table: its blocking
                                      command's wait when multiplexed (blocked_on is
                                      then the pooled connection it went on) */
    struct txn *txn;               /* owned (txn.c): its WATCH/MULTI state, NULL when none */
    int txn_hold;                  /* txn.c held its input until replies arrive */
    unsigned replica_reads;        /* requests out on replicas: a write waits for
                                      them (read-policy session), or a replica could
                                      run one after the write overtook it */
    struct acl_user *user;         /* borrowed from px->acl (access.c): who it is */
};
/* Close s once the current callback unwinds (CLIENT KILL, limits). */
void session_close(struct session *s);

/* The session's protocol: 2 or 3 (HELLO). */
int session_protocol(const struct session *s);
struct proxy *session_proxy(const struct session *s);
/* Close the sessions' private connections (write-ack) to n, failing what
 * is in flight on them: n stopped being a master. */
void session_drop_node(struct proxy *px, struct node *n);

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
/* Is any request of s but skip not answered yet: on connection on (when
 * not NULL), or anywhere but on other (when not NULL)? */
int session_undone(const struct session *s, const struct backend *on,
                   const struct backend *other, const struct preq *skip);
/* What s takes (CLIENT LIST's tot-mem): the session, its input buffer, its
 * replies waiting to be written or held for order, a MULTI's queue. */
size_t session_memory(const struct session *s);
/* CLIENT NO-EVICT on/off: s is spared by maxmemory-clients, or not. */
void session_set_no_evict(struct session *s, int on);
/* maxmemory-clients' apply: count every session again (or forget the
 * counts when it is 0).  An option_apply_fn; ctx is the proxy. */
int session_count_all(const struct option_def *def, void *ctx, char *err, size_t errlen);
/* Close sessions, the largest first, while they take more than
 * maxmemory-clients together (once a turn, before closed sessions are
 * freed). */
void session_evict(struct proxy *px);
/* The connection s's requests to n go on to keep their order there: its
 * private one under write-ack once it has one, else NULL (any pooled). */
struct backend *session_ordered_connection(const struct session *s, const struct node *n);

#endif
