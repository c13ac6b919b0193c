/* Snapshots: the keyspace written as a RESP command stream (SELECT n, then
 * SET key value [PXAT t] per key), the same format a replica applies and the
 * replication stream uses.  Meant to run in a forked child, which sees the
 * keyspace as it was at fork time. */
#ifndef CACHELY_NODE_SNAPSHOT_H
#define CACHELY_NODE_SNAPSHOT_H

#include <stddef.h>

struct server;

/* Write "$EOF:<mark>\r\n", every live key as commands, then the 40-byte
 * mark, to fd (blocking or not; waits with poll).  Returns 0, or -1 on a
 * write error. */
int snapshot_write_stream(struct server *srv, int fd, const char *mark);

/* Called with each chunk of the commands just before it is written (for
 * a checksum); the bytes live only during the call. */
typedef void (*snapshot_chunk_fn)(void *arg, const char *buf, size_t len);
/* Write only the commands (no EOF marks) to fd, as snapshot_write_stream
 * does between its marks: the body of a snapshot file or of a rewritten
 * append-only file.  fn may be NULL.  Returns 0, or -1 on a write error. */
int snapshot_write_commands(struct server *srv, int fd, snapshot_chunk_fn fn,
                            void *arg);

/* DEBUG DIGEST: 40 hex characters fingerprinting every live key (database,
 * key, value, expiry), independent of order; all zeros when empty. */
void snapshot_digest(struct server *srv, char out[41]);

#endif
