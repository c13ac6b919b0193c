/* Batched socket I/O: many non-blocking recv/send calls on different
 * sockets in one system call, through a minimal io_uring (no liburing).
 *
 * Why: at one request per round trip the node spends most of its CPU in
 * the kernel, one read(2) and one write(2) per request, and on this kind of
 * machine (a VM with page-table isolation) each system call's entry and exit
 * alone costs about a microsecond.  A loop turn that has N clients to read
 * (or to answer) queues N operations here and runs them with one
 * io_uring_enter(2).
 *
 * Every operation is issued with MSG_DONTWAIT, so the kernel completes it
 * during the submission, as the plain call would: a socket with no data (or
 * no room) gives -EAGAIN, never a deferred completion.  iobatch_run
 * therefore returns with every result known, and the caller handles them
 * exactly as it would handle read(2)/write(2) results.
 *
 * The ring is not free, though: on the kernel we measured (6.18, a VM
 * without page-table isolation) an io_uring_enter costs about 150 ns plus
 * 180 ns per operation, where a whole plain recv(2) costs 135 ns, so the
 * ring only breaks even at about 16 operations.  utils/bench-iobatch.c,
 * CPU per request and reply over loopback TCP, plain against ring: 1
 * client 2.77 against 3.20 us, 4: 2.78 / 2.84, 16: 2.88 / 2.90, 64:
 * 2.86 / 2.81.  A batch smaller than IOBATCH_MIN_RING therefore runs as
 * plain calls, one per operation. */
#ifndef CACHELY_CORE_IOBATCH_H
#define CACHELY_CORE_IOBATCH_H

#include <stddef.h>
#include <sys/uio.h>

struct iobatch;

/* Batches with fewer operations run as plain system calls (see above). */
#define IOBATCH_MIN_RING 16

/* Called by iobatch_run once per queued operation, in queue order: res is
 * the byte count (0: the peer closed, for a recv) or -errno. */
typedef void (*iobatch_done_fn)(void *tag, int res, void *arg);

/* A batch of at most entries operations between two runs.  Returns NULL
 * (errno set) when io_uring is unavailable (old kernel, a seccomp profile
 * that forbids it, io_uring_disabled, or running under valgrind, which
 * cannot see the kernel write into the buffers): the caller then does
 * plain read(2)/write(2). */
struct iobatch *iobatch_create(unsigned entries);
void iobatch_destroy(struct iobatch **bp);

/* Batches of fewer than n operations run as plain calls (default
 * IOBATCH_MIN_RING; 0 or 1: every batch goes through the ring).  For tests
 * and utils/bench-iobatch.c. */
void iobatch_set_min_ring(struct iobatch *b, unsigned n);

/* Operations queued and not run yet, and how many more fit. */
unsigned iobatch_queued(const struct iobatch *b);
unsigned iobatch_room(const struct iobatch *b);

/* Queue a recv of up to len bytes into buf (borrowed until the run ends).
 * Returns 0, or -1 when the batch is full. */
int iobatch_recv(struct iobatch *b, int fd, void *buf, size_t len, void *tag);
/* Queue a send of iov[0..iovcnt) (MSG_NOSIGNAL); iov and the bytes it
 * points to are borrowed until the run ends.  Returns 0, or -1 when the
 * batch is full. */
int iobatch_send(struct iobatch *b, int fd, const struct iovec *iov, int iovcnt,
                 void *tag);

/* Submit every queued operation in one system call (a batch smaller than
 * IOBATCH_MIN_RING: one plain call each), then call done for each, in
 * queue order (done may queue and run a new batch).  Returns 0, or -1
 * (errno set) when the kernel refused the submission: then done was called
 * with -errno for every operation the kernel did not take, so the caller
 * can fall back to plain calls for them. */
int iobatch_run(struct iobatch *b, iobatch_done_fn done, void *arg);

#endif
