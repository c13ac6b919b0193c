/* Pooled connections to the nodes (backend.c): request frames are appended
 * as received, replies come back in order and go to their requests. */
#ifndef CACHELY_PROXY_BACKEND_H
#define CACHELY_PROXY_BACKEND_H

#include "core/resp_scan.h"

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct node;
struct preq;
struct session;
struct conn;
struct event;

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
    int mux_ready;               /* a pooled one whose node took our CACHELY.BLOCK
                                    probe: it carries CACHELY.BLOCK (blockmux.c) */
    int mux_probing;             /* that probe's answer is on the way */
    struct session *blocked;     /* borrowed: the session whose blocking command it
                                    carries, NULL when idle (dedicated only) */
    long long node_client_id;    /* dedicated: the node's CLIENT ID for it (asked
                                    when it opens), 0 while unknown (CLIENT UNBLOCK) */
    struct preq *unblock_pending; /* owned: a CLIENT UNBLOCK of its session that came
                                    while node_client_id was unknown; sent (or
                                    answered :0) once the id is in (blockmux.c) */
    int unblock_error;           /* that UNBLOCK's reason was ERROR */
    struct session *txn_owner;   /* borrowed (txn.c): the session whose transaction is
                                    pinned to it, NULL when idle (transaction pool) */
    char *name;                  /* owned (txn.c): the name CLIENT SETNAME gave this
                                    connection on the node, NULL for none; forgotten
                                    by backend_close */
};

/* Make b an unconnected connection of n (b's memory is the caller's). */
void backend_init(struct backend *b, struct node *n);
/* Close b's socket (logging why at warn when it was open; NULL: quietly),
 * fail the requests in flight on it, release a blocking session and free
 * its buffers; b stays n's, to reconnect after a backoff (50 ms doubling
 * to 1 s). */
void backend_close(struct backend *b, const char *why);
/* The error a request lost with b gets (sent: it may have reached the
 * node; else it was not executed), written into err[cap]; its length. */
size_t backend_lost_error(const struct backend *b, const char *why, int sent, char *err,
                          size_t cap);
/* Queue a request frame on one of node's connections (on, when not NULL:
 * requests that must follow another one in order); the reply will be
 * delivered to r.  Returns 0, or -1 when the node cannot be reached now (r
 * is then untouched). */
int backend_send(struct proxy *px, struct node *n, struct backend *on, struct preq *r,
                 const char *frame, size_t len);
/* Add a request frame to r, the last request queued on b (b->tail), as one
 * more of its run (r->more): its reply follows r's on b.  The caller checks
 * that r is a run's request (session_request.c). */
void backend_extend(struct proxy *px, struct backend *b, struct preq *r, const char *frame,
                    size_t len);
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

#endif
