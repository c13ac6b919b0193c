/* The one blocking module: every way a client waits.
 *
 * 1. On keys: BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN/MAX, BZMPOP,
 * XREAD/XREADGROUP BLOCK.
 *
 * A handler that finds nothing to serve calls block_on_keys().  The client
 * then stops reading; its command stays unconsumed in its query buffer.
 * When one of the keys is written (the keyspace change signal), the key is
 * put on a ready list; before the event loop sleeps, the waiters of each
 * ready key are re-run, longest-waiting first: each command runs again from
 * the top of the call path, so it serves itself exactly as if it had just
 * arrived (and propagates its effect, e.g. LPOP, as a non-blocking command
 * would), or blocks again keeping its place and its deadline.  At the
 * deadline, or on CLIENT UNBLOCK, the command runs once more and
 * block_on_keys answers the timeout reply (or the UNBLOCKED error) instead.
 *
 * 2. On replicas' acknowledgements: WAIT.  The command is over (consumed);
 * the client reads nothing more until enough replicas acknowledged its
 * offset, its deadline passes or CLIENT UNBLOCK releases it.  The reply, the
 * number of replicas that acknowledged (or -UNBLOCKED), is written then and
 * the client's pipelined commands resume, before the loop sleeps.
 *
 * 3. Held by CLIENT PAUSE: pause.c decides what a pause holds; a held
 * client's command stays in its query buffer and the held clients run it
 * again, in the order they were held, once no pause is in force.
 *
 * Deadlines are one timer per waiting client; the ready list (keys written),
 * the wake list (deadlines, CLIENT UNBLOCK, WAITs whose count is reached) and
 * the held list are processed by block_before_sleep.  A client that may not
 * block (inside MULTI or a script, a fake client) gets the timeout reply at
 * once.  A client that disconnects while waiting, in any of the three ways,
 * leaves nothing behind (block_client_gone). */
#ifndef CACHELY_NODE_BLOCK_H
#define CACHELY_NODE_BLOCK_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct client;
struct server;
struct block_key;
struct block_state;

/* What a blocked command answers when its time is up. */
enum block_timeout_reply {
    BLOCK_REPLY_NULL_ARRAY,      /* BLPOP, BZPOPMIN, BLMPOP, XREAD: *-1 (RESP3 _) */
    BLOCK_REPLY_NULL,            /* BLMOVE, BRPOPLPUSH: $-1 (RESP3 _) */
};

/* The module's per-server state. */
struct block {
    struct block_key **table;    /* owned: (db, key) -> waiters, chained */
    size_t size;                 /* buckets, power of two */
    size_t nkeys;                /* keys with waiters */
    size_t nblocked;             /* clients waiting on keys */
    size_t ntimed;               /* of which with a deadline */
    struct block_key **ready;    /* owned array of borrowed keys written
                                    since the last pass */
    size_t nready, readycap;
    struct client **wake;        /* owned array of borrowed clients to re-run
                                    or answer (deadline passed, CLIENT
                                    UNBLOCK, a WAIT's count reached) */
    size_t nwake, wakecap;
    struct client **answered;    /* owned array of borrowed tagged waiters
                                    answered outside a pass (REPLICAOF):
                                    their pushes go out in the next pass,
                                    never inside another command's reply */
    size_t nanswered, answeredcap;
    struct client *spare[32];    /* owned: answered waiters kept for the next
                                    CACHELY.BLOCK (creating and freeing one
                                    was a quarter of its cost) */
    size_t nspare;
    struct block_state *acks_head; /* borrowed (owned by the clients): WAITs,
                                      oldest first */
    struct block_state *acks_tail; /* borrowed */
    size_t nacks;                /* clients in WAIT */
    struct client *held_head;    /* borrowed: clients held by CLIENT PAUSE,
                                    oldest first, linked through
                                    client.pause_next/prev */
    struct client *held_tail;    /* borrowed */
    size_t nheld;
    int serving;                 /* inside block_serve_ready: no recursion */
    size_t ntagged;              /* CACHELY.BLOCK waits not yet answered */
};

void block_setup(struct server *srv);
void block_teardown(struct server *srv);

/* Parse a blocking command's timeout (seconds, a float with 0.01 s
 * resolution; 0 = forever) into milliseconds.  Replies Redis's errors and
 * returns -1 when it is not a valid timeout. */
int block_parse_timeout(struct client *c, const struct resp_arg *arg,
                        long long *timeout_ms);

/* Called by a handler that has nothing to serve: block c on the nkeys keys
 * in its current database until one of them is written or timeout_ms
 * (0 = forever) passes.  When c may not block, its deadline has passed, or
 * CLIENT UNBLOCK released it, this writes the matching reply instead.
 * Either way the handler returns right after the call. */
void block_on_keys(struct client *c, const struct resp_arg *keys, size_t nkeys,
                   long long timeout_ms, enum block_timeout_reply reply);
/* True when c's command may block (not in MULTI, a script or a fake
 * client).  A handler may use it to skip work only blocking needs. */
int block_allowed(const struct client *c);

/* The call path tells the module that c's command returned: a wait that it
 * did not renew is over. */
void block_call_done(struct client *c);
/* Re-run the waiters of keys written since the last pass and the clients
 * whose deadline passed, answer the WAITs whose count is reached, resume the
 * clients CLIENT PAUSE held once no pause is in force; the main loop calls
 * it before sleeping. */
void block_before_sleep(struct server *srv);
/* The same right after a top-level command, as Redis 7.0 serves blocked
 * clients after each command (a pipelined RPUSH k a, RPUSH k b, LLEN k
 * then answers 1, 1, 1 when a BLPOP waits on k).  Does nothing when called
 * from inside a pass (the pass loops until no key is ready). */
void block_serve_ready(struct server *srv);
/* c is going away. */
void block_client_gone(struct client *c);
/* CLIENT UNBLOCK: release c if it waits on keys or in WAIT, answering the
 * timeout reply (with_error 0: for WAIT, the count so far) or -UNBLOCKED (1).
 * A client held by CLIENT PAUSE is not released (Redis 7.0 crashes there).
 * Returns 1 when it was waiting. */
int block_unblock(struct client *c, int with_error);
/* WAIT: c waits until numreplicas replicas acknowledged offset, or for
 * timeout_ms (0 = forever).  When c may not block (MULTI, a script) it is
 * answered at once with the count so far.  The caller has checked that the
 * count is not already reached. */
void block_for_acks(struct client *c, long long offset, long long numreplicas,
                    long long timeout_ms);
/* Clients in WAIT (the test for whether acknowledgements matter). */
size_t block_ack_waiters(const struct server *srv);

/* CLIENT PAUSE holds c's current command: sets CLIENT_PAUSED and
 * CLIENT_BLOCKED; the client layer leaves the command in the query buffer.
 * It runs again, from the top of dispatch, once no pause is in force. */
void block_for_pause(struct client *c);
/* Clients held by CLIENT PAUSE. */
size_t block_held_clients(const struct server *srv);

/* Clients waiting on keys or in WAIT, and keys waited on (INFO). */
size_t block_blocked_clients(const struct server *srv);
size_t block_blocking_keys(const struct server *srv);
/* Clients waiting with a deadline (INFO clients_in_timeout_table). */
size_t block_timed_clients(const struct server *srv);

/* ---- tagged waits (CACHELY.BLOCK) ---------------------------------------- */

/* CACHELY.BLOCK for connection c, the envelope (arity, tag) already
 * checked: run the blocking command argv[0..argc) as the wait tagged tag.
 * Its outcome is one push on c, now (in order with c's replies) when it is
 * answered at once, or later when it is served, times out or is released. */
void block_tagged_start(struct client *c, uint64_t tag, size_t argc,
                        const struct resp_arg *argv);
/* CACHELY.UNBLOCK: how 0 drops the wait tagged tag silently; 1 (TIMEOUT)
 * and 2 (ERROR) release it as CLIENT UNBLOCK would, its push following.
 * Returns 1 when the wait was found (and, with 1 or 2, released), else 0. */
int block_tagged_unblock(struct client *c, uint64_t tag, int how);
/* c (a connection with waits, or a waiter) is being freed: a connection's
 * waits are dropped without popping anything. */
void block_tagged_gone(struct client *c);
/* CACHELY.BLOCK waits not yet answered (INFO tagged_waits). */
size_t block_tagged_waits(const struct server *srv);
/* Of which waiting on keys or held by CLIENT PAUSE (INFO blocked_clients
 * counts them with the connections in WAIT, on keys or held). */
size_t block_tagged_blocked(const struct server *srv);

/* REPLICAOF host port: as Redis 7.0, every client waiting on keys or in WAIT
 * is answered -UNBLOCKED (... instance state changed ...) and closed once
 * that is written; a tagged wait gets it as its push and its connection
 * stays.  Commands held by CLIENT PAUSE stay held (they are checked afresh
 * when they run). */
void block_unblock_all(struct server *srv);

#endif
