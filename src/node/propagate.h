/* Propagation by effects: what a command changed, as commands for the
 * replication stream, the backlog and the append-only file.
 *
 * A handler states its effects with propagate_effect() and friends when
 * what it did is not its own command line: SPOP becomes SREM of the popped
 * members, HINCRBYFLOAT becomes HSET of the result, a served BLPOP becomes
 * LPOP, SET ... EX becomes SET ... PXAT.  A write command that changed the
 * keyspace and stated nothing propagates verbatim (the usual case for
 * deterministic commands).  A call() that produced more than one effect
 * (EXEC, scripts, nested calls) goes out wrapped in MULTI ... EXEC, so a
 * replica or an AOF load applies it all or nothing. */
#ifndef CACHELY_NODE_PROPAGATE_H
#define CACHELY_NODE_PROPAGATE_H

#include "core/rbuf.h"
#include "core/resp.h"

#include <stddef.h>

struct client;
struct server;

struct prop_op {
    int dbid;
    size_t off;                  /* RESP-encoded command in prop.buf.p */
    size_t len;                  /* 0: a marker that the call prevented
                                    propagation (propagate_prevent) */
};

/* Per-server state of the effects being collected (one frame per outermost
 * call; nested calls add to it). */
struct propagate {
    int depth;                   /* call() nesting */
    struct rbuf buf;             /* the encoded commands */
    struct prop_op *ops;         /* owned */
    size_t nops, opscap;
};

/* call() brackets every command with these.  begin returns a mark the end
 * needs; end adds the verbatim command when the call changed the keyspace
 * (dirty_before) and stated nothing, and at the outermost level writes the
 * collected effects to the stream. */
size_t propagate_call_begin(struct server *srv);
void propagate_call_end(struct client *c, size_t mark, long long dirty_before);

/* State one effect of the running command, in c's current database. */
void propagate_effect(struct client *c, size_t argc, const struct resp_arg *argv);
/* The same in database dbid (MOVE, COPY ... DB). */
void propagate_effect_db(struct server *srv, int dbid, size_t argc,
                         const struct resp_arg *argv);
/* State that the running command propagates nothing even though it
 * changed the keyspace. */
void propagate_prevent(struct client *c);
/* The key's resulting state: SET key value [PXAT t], or DEL key when it is
 * gone.  For string commands whose own line is not deterministic (SET EX,
 * GETEX, INCRBYFLOAT, ...). */
void propagate_key_state(struct client *c, const struct resp_arg *key);
/* The key's resulting expiry: PEXPIREAT key t, PERSIST key, or DEL key. */
void propagate_expire_state(struct client *c, const struct resp_arg *key);

void propagate_teardown(struct server *srv);

#endif
