/* What the replication files share (repl.c, repl_stream.c, repl_master.c,
 * repl_replica.c); the rest of the node sees only repl.h. */
#ifndef CACHELY_NODE_REPL_INT_H
#define CACHELY_NODE_REPL_INT_H

#include "core/rbuf.h"
#include "core/resp.h"

#include <stddef.h>

struct server;
struct repl;
struct client;
struct db;

/* repl_stream.c: the backlog */
void repl_backlog_create(struct server *srv);
void repl_backlog_free(struct repl *r);
long long repl_backlog_first_offset(const struct repl *r);
void repl_backlog_send_from(struct repl *r, struct client *c, long long from);

/* repl_stream.c: commands encoded into repl_enc (callers empty it with
 * repl_enc.len = 0 before a frame; the memory is reused), and bytes written
 * to the stream */
extern struct rbuf repl_enc;
void repl_enc_command(size_t argc, const struct resp_arg *argv);
void repl_stream_write(struct server *srv, const char *p, size_t len);
void repl_on_keyspace_delete(void *ctx, struct db *db, const char *key, size_t len);

/* repl_master.c */
void repl_replicas_remove(struct repl *r, struct client *c);

/* repl_replica.c */
void repl_link_close_socket(struct repl *r);
void repl_link_drop(struct server *srv, const char *why);
void repl_link_start_connect(struct server *srv);
void repl_transfer_failed(struct server *srv);
void repl_send_ack(struct server *srv);

#endif
