/* A full sync to a TLS replica: the forked snapshot writer cannot write
 * into the parent's TLS session, so it writes into a pipe and the parent
 * relays the bytes into the replica's connection, in order, before the
 * stream that queued meanwhile. */
#ifndef CACHELY_NODE_REPL_RELAY_H
#define CACHELY_NODE_REPL_RELAY_H

#include <stddef.h>

struct client;

/* Start relaying: head (the +FULLRESYNC line, may be empty) goes first,
 * then everything read from pipe_fd (the read end; taken) until its EOF.
 * Returns 0, or -1 (pipe_fd closed). */
int repl_relay_start(struct client *c, const char *head, size_t headlen, int pipe_fd);
/* The replica's socket became writable while relaying (client.c). */
void repl_relay_on_writable(struct client *c);
/* The snapshot child exited (ok nonzero for success).  Returns 1 when the
 * relay still has bytes to deliver: repl_master_sync_done will be called
 * once they are written.  Otherwise the relay is gone and the caller
 * finishes the sync itself: successfully on 0, as a failure on -1 (also
 * when no relay exists, 0 is returned and ok stands). */
int repl_relay_child_exited(struct client *c, int ok);
/* Drop a relay (the client is going away). */
void repl_relay_free(struct client *c);

#endif
