/* Transactions: MULTI's queue of checked commands, EXEC running them as one
 * call, and WATCH's optimistic locks, which the keyspace change signal
 * breaks.  The master link and the loaders use the same queue, so a
 * MULTI ... EXEC block of the stream or the AOF applies all or nothing. */
#ifndef CACHELY_NODE_MULTI_H
#define CACHELY_NODE_MULTI_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct client;
struct command;
struct server;
struct watch_key;

/* The server's watched keys, hashed by database and key. */
struct watch_table {
    struct watch_key **buckets;  /* owned array; the entries are owned by
                                    their clients' lists */
    size_t size;                 /* a power of two, or 0 */
    size_t count;
};

/* Register the change-signal listener; free the table. */
void multi_setup(struct server *srv);
void multi_teardown(struct server *srv);

/* Called by dispatch once c's command passed every check: inside MULTI,
 * queue it (a copy of its arguments) and answer +QUEUED.  Returns 1 when
 * queued, 0 when the command must run now (EXEC, DISCARD, MULTI, WATCH,
 * QUIT, RESET, or not in MULTI). */
int multi_queue(struct client *c, const struct command *cmd);
/* A queue-time error: EXEC will answer EXECABORT (no-op outside MULTI). */
void multi_flag_error(struct client *c);
/* EXEC refused by a check (OOM, READONLY, ...): answer
 * "-EXECABORT Transaction discarded because of: <msg>" and discard. */
void multi_exec_abort(struct client *c, const char *msg);
/* The union of the queued commands' flags (EXEC is checked as a write when
 * it holds one). */
uint32_t multi_queued_flags(const struct client *c);
/* The flags some queued command lacks (EXEC is refused on a stale replica
 * when one queued command may not run there). */
uint32_t multi_queued_lacking(const struct client *c);
/* Commands queued (CLIENT LIST's multi=), -1 outside MULTI. */
long long multi_queued_count(const struct client *c);
/* Bytes c's transaction state takes: the queue (the copies of the queued
 * commands, its array) and the watched keys (CLIENT LIST's multi-mem). */
size_t multi_client_mem(const struct client *c);
/* Forget the transaction and every watched key (DISCARD, RESET). */
void multi_discard(struct client *c);
/* Free a closing client's transaction state. */
void multi_client_gone(struct client *c);
/* The master link: bytes of a MULTI ... EXEC block are held and relayed
 * (to our replicas, backlog and offset) only once EXEC has applied them,
 * so a partial block is never acknowledged.  Returns 1 when it took the
 * frame (the caller must not relay it). */
int multi_master_applied(struct client *c, const char *frame, size_t len);

#endif
