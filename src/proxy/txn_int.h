/* What the transaction files share (txn.c: the pinned connections, the
 * buffered block and the requests; txn_fx.c: the state changes a MULTI
 * queued, applied once EXEC ran them); the rest of the proxy sees only
 * the txn functions of its header. */
#ifndef CACHELY_PROXY_TXN_INT_H
#define CACHELY_PROXY_TXN_INT_H

#include "core/resp.h"
#include "proxy/nodesub.h"
#include "proxy/rbuf.h"

#include <stddef.h>

struct command;
struct proxy;
struct session;
struct group;
struct node;
struct backend;
struct preq;

/* A command inside MULTI that changes the connection's state: queued on
 * the pinned connection like any other (the node runs it at EXEC, so the
 * commands after it run in its database / protocol), and applied to the
 * session once EXEC's reply says it ran. */
enum txn_fx_kind {
    FX_NONE = 0,
    FX_SELECT,                   /* SELECT value */
    FX_SETNAME,                  /* CLIENT SETNAME name */
    FX_HELLO,                    /* HELLO [value] [SETNAME name] */
    FX_PUBLISH,                  /* PUBLISH channel message: nothing changes, but its
                                    count is corrected as a PUBLISH's alone is */
    FX_SPUBLISH,                 /* SPUBLISH: the same */
};

struct txn_fx_item {
    size_t index;                /* its element in EXEC's array */
    int kind;                    /* enum txn_fx_kind */
    long long value;             /* SELECT's database, HELLO's protocol (0: none) */
    char *name;                  /* owned: the name set, NULL when none */
    int has_name;                /* a name is set ("" clears it) */
    /* FX_(S)PUBLISH: the channel (owned) and what this proxy's
     * subscribers were when EXEC went (txn_fx_sent) */
    char *channel;
    size_t channel_len;
    struct nodesub_count count;
};

struct txn_fx {
    struct txn_fx_item *items;   /* owned */
    size_t n;
};

enum txn_state {
    TXN_WATCHING = 1,            /* WATCH sent, no MULTI yet */
    TXN_MULTI,                   /* MULTI seen: commands are queued */
    TXN_DONE,                    /* ended; its replies may still be in flight on last */
};

struct txn {
    int state;                   /* enum txn_state */
    int dirty;                   /* the proxy refused a queued command: EXEC aborts */
    int wrote;                   /* a queued command may write: WAIT after EXEC */
    int lost;                    /* the pinned connection failed, or its node stopped
                                    being the master: EXEC aborts */
    struct group *g;             /* borrowed: the group, NULL until a key picks it */
    struct node *node;           /* borrowed: the master the connection goes to */
    struct backend *b;           /* borrowed from node->txn: NULL until pinned */
    struct backend *kept;        /* borrowed from node->txn, still pinned to s: the
                                    connection of an ended transaction whose replies
                                    are awaited; the next transaction of a pipeline
                                    takes it again, so that it runs after */
    struct rbuf early;           /* owned: the commands queued while not pinned, sent
                                    at EXEC (one block) or when pinned */
    size_t *early_end;           /* owned: where each of them ends in early */
    struct preq **early_req;     /* owned array of borrowed requests (on s's FIFO):
                                    each one's reply, NULL once answered here */
    size_t nearly;
    int want_pin;                /* a command queued needs the pinned connection
                                    (HELLO, CLIENT, SELECT, WAIT) */
    int pin_deferred;            /* pin once s's earlier requests are answered */
    size_t nqueued;              /* commands queued so far (EXEC's array) */
    struct rbuf mon;             /* owned: MONITOR's lines of the queued commands,
                                    shown when EXEC goes (monitor_defer) */
    struct txn_fx *fx;           /* owned: the state changes queued, NULL when none;
                                    handed to the EXEC request */
    int fx_pending;              /* an EXEC carrying state changes was sent and has
                                    not answered: what follows waits for it */
    struct preq *multi_reply;    /* borrowed (on s's FIFO): MULTI's reply, not given
                                    yet; the node's own +OK when the MULTI reaches it
                                    in the same input, else the proxy's (txn_drained),
                                    so a pipelined transaction's replies leave in one
                                    write */
    /* A FCALL queued: the proxy's libraries are loaded on the master (a
     * node that lost one would fail the FCALL inside EXEC, the rest of the
     * transaction applied), once per transaction. */
    int libs_asked;              /* the loads are decided */
    int libs_before_multi;       /* not pinned yet: they go ahead of MULTI */
    int libs_pending;            /* sent on another connection (MULTI is out):
                                    replies awaited, EXEC waits for them */
    unsigned long long serial;   /* tells this transaction's loads from older ones */
    struct preq *fn_wait;        /* borrowed (on s's FIFO): a FCALL sent while
                                    watching of a function no library the proxy
                                    knows defines; the session's next requests
                                    wait for its reply (a lookup may send it
                                    again on the pinned connection) */
};

/* txn_fx.c: free *fxp and its names (NULL is fine); sets *fxp = NULL. */
void txn_fx_free(struct txn_fx **fxp);
/* txn_fx.c: which state change a local command inside MULTI is: FX_* (FX_NONE
 * when it changes nothing), or -1 when the proxy keeps refusing it. */
int txn_fx_kind_of(const struct command *cmd, size_t argc, const struct resp_arg *argv);
/* txn_fx.c: record a change of the given kind, queued as element t->nqueued of
 * EXEC's array, in t->fx (created when NULL, owned by t).  An argument the
 * node will reject records nothing. */
void txn_fx_add(struct txn *t, int kind, size_t argc, const struct resp_arg *argv);
/* txn_fx.c: the EXEC carrying fx goes to g's master now: each queued
 * PUBLISH takes its count of this proxy's subscribers.  Returns 1 when fx
 * changes the session's or connection's state (what follows waits for the
 * reply), 0 when it holds only PUBLISH and SPUBLISH. */
int txn_fx_sent(struct txn_fx *fx, struct proxy *px, const struct group *g);

#endif
