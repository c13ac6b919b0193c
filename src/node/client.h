/* Client connections: reading and parsing requests, the reply buffer, output
 * limits, and closing.  Replies are appended to a 16 KiB inline buffer, then
 * to a list of blocks; after a read has been processed the client writes what
 * it can at once and arms a write event only for what the socket refused. */
#ifndef CACHELY_NODE_CLIENT_H
#define CACHELY_NODE_CLIENT_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

struct server;
struct db;
struct command;
struct event;
struct block_state;
struct block_tagset;
struct multi_state;
struct watch_key;
struct pubsub_client;
struct tracking_client;
struct conn;
struct sync_relay;

#define CLIENT_BUF_SIZE (16 * 1024)
/* Reads or writes batched in one system call (see core/iobatch.h). */
#define CLIENT_IO_BATCH 256

enum client_flag {
    CLIENT_AUTHENTICATED = 1 << 0,
    CLIENT_CLOSE_AFTER_REPLY = 1 << 1,  /* stop reading; close once flushed */
    CLIENT_CLOSE_ASAP = 1 << 2,         /* queued on the server's close list */
    CLIENT_NO_EVICT = 1 << 3,
    CLIENT_IN_CALLBACK = 1 << 4,        /* a callback of ours is on the stack */
    CLIENT_WRITE_ARMED = 1 << 5,
    CLIENT_PENDING_WRITE = 1 << 6,      /* on the server's pending-write list */
    CLIENT_MASTER = 1 << 7,             /* our master's link: apply, don't reply */
    CLIENT_REPLICA = 1 << 8,            /* a replica of ours (after PSYNC/SYNC) */
    CLIENT_BLOCKED = 1 << 9,            /* in WAIT or held by CLIENT PAUSE: input
                                           waits, no commands run */
    CLIENT_FORCE_REPLY = 1 << 10,       /* let a reply through to the master */
    CLIENT_UNBLOCKED = 1 << 11,         /* queued to resume its input */
    CLIENT_PAUSED = 1 << 12,            /* held by CLIENT PAUSE (with BLOCKED): its
                                           command stays in the query buffer */
    CLIENT_KEYWAIT = 1 << 13,           /* blocked on keys (with BLOCKED): its
                                           command stays in the query buffer */
    CLIENT_DENY_BLOCKING = 1 << 14,     /* in MULTI or a script: blocking
                                           commands answer at once */
    CLIENT_FAKE = 1 << 15,              /* no socket (loaders, HTTP): replies
                                           stay in the buffer for the caller */
    CLIENT_MULTI = 1 << 16,             /* in MULTI: commands are queued */
    CLIENT_DIRTY_CAS = 1 << 17,         /* a watched key changed: EXEC fails */
    CLIENT_DIRTY_EXEC = 1 << 18,        /* a queue-time error: EXECABORT */
    CLIENT_PUBSUB = 1 << 19,            /* has subscriptions (RESP2: subscribed
                                           mode) */
    CLIENT_TRACKING = 1 << 20,          /* CLIENT TRACKING on */
    CLIENT_MONITOR = 1 << 21,           /* receives MONITOR lines */
    CLIENT_REPLY_OFF = 1 << 22,         /* CLIENT REPLY OFF */
    CLIENT_REPLY_SKIP_NEXT = 1 << 23,   /* CLIENT REPLY SKIP: skip the next */
    CLIENT_REPLY_SKIP = 1 << 24,        /* this command's reply is skipped */
    CLIENT_PUSHING = 1 << 25,           /* writing a push (message, invalidation):
                                           CLIENT REPLY OFF/SKIP let it through */
    CLIENT_NO_TOUCH = 1 << 26,          /* CLIENT NO-TOUCH: reads leave LRU/LFU alone */
    CLIENT_PENDING_READ = 1 << 27,      /* readable: on the server's pending-read
                                           list (batched reads) */
    CLIENT_TAGWAIT = 1 << 28,           /* a CACHELY.BLOCK wait (fake, block.c):
                                           its reply goes to its connection */
    CLIENT_SCRIPT = 1 << 29,            /* the fake client scripts' commands run
                                           on (XREAD BLOCK refuses it) */
    CLIENT_UNIX_SOCKET = 1 << 30,       /* connected through unixsocket */
};

struct reply_block {
    struct reply_block *next;  /* owned */
    size_t size;
    size_t used;
    char data[];
};

struct client {
    uint64_t id;
    int fd;                         /* conn's socket, -1 for fake clients */
    struct conn *conn;              /* owned; NULL for fake clients */
    int read_wants_write;           /* a TLS read waits for the socket to
                                     * be writable (the write event is armed) */
    unsigned flags;                 /* enum client_flag */
    struct server *srv;             /* borrowed */
    struct event *ev_read;          /* owned */
    struct event *ev_write;         /* owned */

    char *qbuf;                     /* owned; unconsumed input from qpos */
    size_t qlen, qcap, qpos;
    size_t qbuf_peak;
    unsigned prefetch_skip;         /* pipelined requests to run without
                                     * looking their keys up ahead (client.c,
                                     * pipeline_prefetch) */
    struct resp_parser parser;
    size_t argc;                    /* the command being executed */
    struct resp_arg *argv;          /* borrowed from parser/qbuf */
    const struct command *cmd;      /* borrowed from the command table */
    const struct command *lastcmd;  /* borrowed */

    struct db *db;                  /* borrowed from the keyspace */
    struct acl_user *user;          /* borrowed from acl.c; NULL: no checks
                                     * (our master's link, loaders) */
    int resp;                       /* 2 or 3 */
    char *name;                     /* owned or NULL */
    char *lib_name;                 /* owned or NULL */
    char *lib_ver;                  /* owned or NULL */
    char addr[128];                /* "ip:port"; "<unixsocket>:0" (sun_path
                                    * is at most 107 bytes) */
    char laddr[128];
    long long ctime_ms;
    long long last_interaction_ms;
    long long cmd_errors;           /* errors replied during this command */
    uint32_t redact;                /* bit i: argv[i] of this command is a
                                     * secret, shown as "(redacted)" */

    size_t bufpos;                  /* bytes in buf */
    size_t sentlen;                 /* bytes of buf/first block already sent */
    struct reply_block *reply;      /* owned list */
    struct reply_block *reply_tail; /* borrowed */
    size_t reply_bytes;             /* bytes held in blocks */
    size_t reply_alloc;             /* bytes the blocks take (mem_usable) */
    long long obuf_soft_since_ms;   /* when the soft limit was first exceeded */
    size_t mem_counted;             /* clientmem.c: the size this client is
                                     * counted at in srv->cmem.total (0: not) */
    int mem_evictable;              /* clientmem.c: counted as evictable too */
    int mem_evicted;                /* clientmem.c closed it (CLIENT LIST no
                                     * longer shows it) */
    long long tot_net_out;

    struct client *prev, *next;     /* borrowed: the server's list */
    struct client *close_next;      /* borrowed: the server's close list */
    struct client *pw_prev, *pw_next; /* borrowed: the pending-write list */
    struct client *pr_next;         /* borrowed: the pending-read list */
    struct client *pause_prev, *pause_next; /* borrowed: block.c's held list */

    /* replication (master side: this client is a replica of ours) */
    int repl_state;                 /* enum replica_state */
    pid_t repl_child;               /* snapshot writer, while WAIT_SNAPSHOT */
    long long repl_ack_off;         /* last REPLCONF ACK offset */
    long long repl_ack_ms;          /* when it arrived */
    long long repl_sync_start_ms;
    int repl_listening_port;
    int repl_capa_eof;              /* REPLCONF capa eof: takes the $EOF:
                                     * framed snapshot (else $<length>) */
    char repl_ip[64];               /* announced or peer address */
    long long woff;                 /* stream offset after this client's last write */
    struct block_state *bstate;     /* owned by block.c; NULL unless waiting on keys */
    struct block_tagset *tagset;    /* owned by block.c: the CACHELY.BLOCK waits
                                     * of this connection; NULL before one */
    struct multi_state *mstate;     /* owned by multi.c; NULL before a MULTI */
    struct watch_key *watched;      /* owned by multi.c: WATCHed keys */
    struct pubsub_client *pubsub;   /* owned by pubsub.c; NULL before a subscription */
    struct tracking_client *tracking; /* owned by tracking.c; NULL before CLIENT TRACKING */
    struct sync_relay *relay;       /* owned by repl_relay.c: a TLS replica's
                                     * snapshot on its way from the child */
    /* fake clients: called after each command ran (not while it is held) */
    void (*on_done)(struct client *c, void *arg);
    void *done_arg;                 /* borrowed: on_done's argument */
    char buf[CLIENT_BUF_SIZE];
};

/* Accept handler helpers: create a client for a connection (takes conn);
 * returns NULL after replying with an error when over maxclients. */
struct client *client_create(struct server *srv, struct conn *conn);
/* Free a client now.  Never call from inside its own callbacks: use
 * client_close_async. */
void client_destroy(struct client **cp);
/* Mark the client for closing; it is freed once the stack unwinds. */
void client_close_async(struct client *c);
/* Free every client on the close list (called from an event). */
void client_free_pending(struct server *srv);
/* While held (calls nest), client_free_pending frees nothing: a busy
 * script serving other clients holds pointers to them (and its caller is on
 * the stack); the close event frees them once the script is over. */
void client_hold_frees(int hold);

/* Try to write pending output now; arms the write event if the socket is
 * full.  Returns 0, or -1 when the connection failed (client is then closing). */
int client_flush(struct client *c);
/* Queue the client's output for the next client_flush_pending. */
void client_queue_write(struct client *c);
/* Parse and run the commands waiting in the client's query buffer (after a
 * block ends, or for the master link's first bytes). */
void client_process_input(struct client *c);
/* A client with no socket (fd -1) for commands that do not come from the
 * network: the persistence loaders (with CLIENT_MASTER: replies dropped,
 * nothing propagated) and the HTTP API (replies kept in its buffer for the
 * caller; on_done is told after each command).  It is not listed by CLIENT
 * LIST nor counted against maxclients.  Free it with client_destroy, or
 * client_close_async from inside on_done. */
struct client *client_create_fake(struct server *srv, unsigned flags);
/* The same without the 16 KiB inline reply buffer, for a fake client that
 * waits long and answers once (CACHELY.BLOCK's waiters): its replies are
 * all in reply blocks (c->buf must not be read). */
struct client *client_create_fake_unbuffered(struct server *srv, unsigned flags);
/* Wrap a connection as a client that is not counted against maxclients
 * (the link to our master; takes conn).  Returns NULL on failure. */
struct client *client_create_link(struct server *srv, struct conn *conn, unsigned flags);
/* Write the output of every client that produced some since the last call.
 * The main loop calls it before waiting for events again, so the replies to
 * all requests read in one loop iteration leave in one burst (as Redis does
 * before sleeping), which also lets pipelining clients batch their reads. */
void client_flush_pending(struct server *srv);
/* Read every socket queued readable during the loop's callbacks, in one
 * system call when srv->iobatch is set, and run the commands that arrived;
 * then free the clients marked for closing.  The main loop calls it after
 * each turn of the event loop. */
void client_read_pending(struct server *srv);
/* Drop the output a fake client has collected (scripts read it first). */
void client_discard_reply(struct client *c);
/* Output bytes not yet written. */
size_t client_pending_output(const struct client *c);
/* Apply client-output-buffer-limit to output already queued: the cron
 * calls it, so a soft limit held for its seconds closes a client that
 * gets no more replies (as Redis's clientsCron does). */
void client_check_output_limits(struct client *c);
/* Mark argument i of the current command as a secret (a password): the
 * slow log shows "(redacted)" in its place, as Redis does.  The slow log
 * keeps at most 32 arguments, so indexes past 31 need no mark.  The marks
 * are cleared before each command runs. */
/* Called about once a second: a connection idle for more than 2 s with no
 * unread input frees its query buffer and parser arrays (16 KiB and more
 * each), so idle connections hold next to nothing. */
void client_trim_idle(struct client *c, long long now_ms);
void client_redact_arg(struct client *c, size_t i);
/* Nonzero when mode (enum protected_action: no, yes, local) lets c run a
 * protected action, "local" meaning a connection from 127.0.0.1 or ::1. */
int client_protected_allowed(const struct client *c, int mode);
/* Nonzero when argument i of the current command was marked secret. */
int client_arg_redacted(const struct client *c, size_t i);
/* Fill a CLIENT LIST line describing c (no newline).  Returns its length. */
size_t client_describe(const struct client *c, char *buf, size_t len);
/* Select a database; returns -1 when the index is out of range. */
int client_select(struct client *c, long long id);
/* Update the parser's pre-authentication limits after AUTH/HELLO/RESET. */
void client_update_auth(struct client *c);

/* ---- replies ------------------------------------------------------------
 * All append to the client's output; the protocol version decides how nulls,
 * maps, sets, doubles and verbatim strings look. */
void reply_raw(struct client *c, const char *s, size_t len);
/* Contiguous room for at least want bytes of reply, *room of them in all,
 * written in place and then counted by reply_commit(c, n) with
 * 0 < n <= *room and no other reply in between: lets a long reply format
 * many elements straight into the output and count them once.  NULL when
 * this client's replies are dropped (write nothing).  The output limits
 * are checked when a commit starts a new block (every 16 KiB or so). */
char *reply_reserve(struct client *c, size_t want, size_t *room);
void reply_commit(struct client *c, size_t n);
static inline void
reply_cstr_raw(struct client *c, const char *s)
{
    reply_raw(c, s, strlen(s));
}
void reply_ok(struct client *c);
void reply_status(struct client *c, const char *s);
/* Error reply: a message that does not start with '-' gets "-ERR " before
 * it, as Redis's addReplyError does. */
void reply_error(struct client *c, const char *msg);
void reply_errorf(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, long long v);
void reply_bulk(struct client *c, const char *p, size_t len);
void reply_bulk_cstr(struct client *c, const char *s);
void reply_bulk_ll(struct client *c, long long v);
void reply_null(struct client *c);
void reply_null_array(struct client *c);
void reply_array_len(struct client *c, long long n);
void reply_map_len(struct client *c, long long n);
void reply_set_len(struct client *c, long long n);
void reply_double(struct client *c, double d);
void reply_bool(struct client *c, int b);
void reply_verbatim(struct client *c, const char *p, size_t len, const char *ext);
/* A big number: RESP3 "(digits", a bulk string in RESP2. */
void reply_bignum(struct client *c, const char *digits, size_t len);
/* A RESP3 attribute of n key/value pairs, to be followed by the pairs and
 * then the reply it decorates.  RESP2 has no attributes: nothing is
 * written and 0 returned, and the caller must skip the pairs (1 otherwise). */
int reply_attribute_len(struct client *c, long long n);
/* A RESP3 push of n elements (RESP3 clients only). */
void reply_push_len(struct client *c, long long n);
/* Standard errors. */
void reply_syntax_error(struct client *c);
void reply_wrongtype(struct client *c);
void reply_not_integer(struct client *c);
void reply_arity_error(struct client *c);
void reply_help(struct client *c, const char *container, const char *const *lines);
void reply_subcommand_error(struct client *c);

#endif
