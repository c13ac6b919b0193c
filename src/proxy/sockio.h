/* The proxy's batched socket I/O (io-uring yes): the reads of every plain
 * session and backend connection that became readable in one loop turn go
 * out in one io_uring_enter once the loop has run its callbacks, and the
 * writes the turn queued (requests to the nodes, replies to the clients)
 * in one more before the loop sleeps.  TLS connections, writes that wait
 * for writability and everything else keep their plain calls.
 *
 * Why: at one request per round trip a proxied request cost 2.45 system
 * calls (read the client, write the node, read the reply, write the
 * client, epoll_wait); batched, a loop turn makes three (epoll_wait and
 * two io_uring_enter) whatever number of connections it serves: about
 * 0.45 per request at -P 1 (utils/prof-proxy.sh).  What that saves in CPU
 * is small on this machine (a bare system call costs 0.075 us of CPU): a
 * request's CPU is mostly the TCP send to the client (on loopback it also
 * runs the receiving side) and sleeping and waking in epoll_wait.  Nothing
 * waits for a batch to fill: a turn sends what it has. */
#ifndef CACHELY_PROXY_SOCKIO_H
#define CACHELY_PROXY_SOCKIO_H

#include <stddef.h>

struct proxy;
struct session;
struct backend;

/* Opens the ring when the io-uring option is on; where the kernel refuses
 * io_uring, logs why and leaves the proxy on plain calls.  Always 0. */
int sockio_setup(struct proxy *px);
void sockio_teardown(struct proxy *px);

/* From a read event: queue the read for sockio_read_pending and return 1,
 * or return 0 when the caller must read now itself (no ring, or TLS). */
int sockio_session_read_later(struct session *s);
int sockio_backend_read_later(struct backend *b);

/* After the event loop returned: read every queued connection in one
 * system call, then hand each result to its owner in queue order. */
void sockio_read_pending(struct proxy *px);

/* Before the loop sleeps: write every backend and session with queued
 * output (backend_flush_pending and session_flush_pending, batched). */
void sockio_flush(struct proxy *px);

/* p (a session or a backend) is closing or about to be freed: drop its
 * queued read and its place in a batch being handed out. */
void sockio_forget(struct proxy *px, const void *p);

/* ---- implemented by session.c and backend.c, for sockio.c only ----------
 * res is what recv(2)/send(2) returned: a byte count (0: the peer closed,
 * for a read) or -errno. */

/* Where the next read of s goes (at least 16 KiB of room, in *room). */
char *session_read_buf(struct session *s, size_t *room);
/* A read of s landed at s->qbuf + off (off == s->qlen unless its input
 * was consumed meanwhile) and returned res: handle it as a read event
 * would have. */
void session_read_done(struct session *s, int res, size_t off);
/* A send of s's whole pending output returned res. */
void session_write_done(struct session *s, int res);
/* Write s's pending output with plain calls (TLS, or the ring failed). */
void session_write_plain(struct session *s);

/* The same for a backend connection: where its next read goes (room in
 * *room), a read that returned res (appended at the end of its input), a
 * send of its pending output that returned res, and a write with plain
 * calls. */
char *backend_read_buf(struct backend *b, size_t *room);
void backend_read_done(struct backend *b, int res);
void backend_write_done(struct proxy *px, struct backend *b, int res);
void backend_write_plain(struct proxy *px, struct backend *b);

#endif
