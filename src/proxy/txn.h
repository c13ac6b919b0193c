/* Transactions through the proxy (txn.c, txn_fx.c): MULTI/EXEC and WATCH
 * on a connection pinned to the group's master. */
#ifndef CACHELY_PROXY_TXN_H
#define CACHELY_PROXY_TXN_H

#include "core/command.h"
#include "core/resp.h"

#include <stddef.h>

struct proxy;
struct node;
struct session;
struct preq;
struct command;

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
/* Whether txn_hold, txn_early or txn_request can have anything to do with
 * a request (cmd, NULL when unknown) of a session whose transaction state
 * is t (its s->txn): 0 when it has none and cmd neither starts nor ends
 * one, and all three would return 0.  Inline, so that a plain request
 * skips the three calls. */
static inline int
txn_concerns(const struct txn *t, const struct command *cmd)
{
    return t != NULL
           || (cmd != NULL
               && (cmd->id == CMD_ID_MULTI || cmd->id == CMD_ID_WATCH || cmd->id == CMD_ID_EXEC
                   || cmd->id == CMD_ID_DISCARD || cmd->id == CMD_ID_UNWATCH));
}
/* The request must go to txn_request before session_handle_request's own checks
 * (s is in a transaction, or EXEC has a wrong arity: EXECABORT). */
int txn_early(const struct session *s, const struct command *cmd, size_t argc);
/* r is an EXEC carrying r->txn_fx: its reply (the node's, before write-ack
 * holds it) says which of the transaction's SELECT/HELLO/CLIENT SETNAME
 * ran; apply them to r's session (when still there) and connection, and
 * free r->txn_fx.  When it queued PUBLISH or SPUBLISH, returns the reply
 * to deliver instead (*outlen bytes, to free with mem_free): their counts
 * are this proxy's sessions, not its link; else NULL. */
char *txn_exec_replied(struct preq *r, const char *reply, size_t len, size_t *outlen);
/* s is between MULTI and EXEC (a refused command there aborts EXEC). */
int txn_in_multi(const struct session *s);
/* A command of s was refused (ACL) while in MULTI: EXEC will abort. */
void txn_refuse(struct session *s);
/* The input s sent so far is handled: a MULTI still unanswered gets +OK. */
void txn_drained(struct session *s);
/* s is being freed: release its pinned connection (closed: the node drops
 * the queued commands and the watches). */
void txn_session_gone(struct session *s);
/* Bytes t holds for its session (the queued commands); 0 for NULL. */
size_t txn_memory(const struct txn *t);

#endif
