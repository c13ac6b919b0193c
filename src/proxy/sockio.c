/* The proxy's batched socket I/O over core/iobatch: which connections a
 * loop turn reads and writes in one system call, and handing the results
 * back to session.c and backend.c.  See sockio.h for why. */
#include "proxy/sockio.h"
#include "proxy/backend.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/iobatch.h"
#include "core/log.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* Operations per io_uring_enter; a turn with more runs several. */
#define SOCKIO_BATCH 256

enum sockio_kind { SOCKIO_SESSION, SOCKIO_BACKEND };

/* One queued or running operation. */
struct sockio_op {
    void *p;          /* borrowed: the session or backend; NULL once forgotten */
    int kind;         /* enum sockio_kind */
    int res;          /* the result, once run */
    size_t off;       /* a session read: where in its qbuf it landed */
    struct iovec iov; /* a send: what it sends (borrowed from p's buffer) */
};

struct sockio {
    struct iobatch *ring;        /* owned; NULL: plain calls (io-uring no,
                                    or the kernel refused) */
    struct sockio_op *wait;      /* owned: reads queued by this turn's events */
    size_t nwait, wait_cap;
    struct sockio_op cur[SOCKIO_BATCH]; /* the batch running or handed out */
    size_t ncur;
};

int
sockio_setup(struct proxy *px)
{
    px->sockio = mem_calloc(sizeof(*px->sockio));
    if (!px->cfg.io_uring) {
        return 0;
    }
    px->sockio->ring = iobatch_create(SOCKIO_BATCH);
    if (px->sockio->ring == NULL) {
        log_info("io_uring unavailable (%s): one system call per socket read and write",
                 strerror(errno));
    }
    return 0;
}

void
sockio_teardown(struct proxy *px)
{
    if (px->sockio == NULL) {
        return;
    }
    iobatch_destroy(&px->sockio->ring);
    mem_free(px->sockio->wait);
    mem_free(px->sockio);
    px->sockio = NULL;
}

/* The kernel refused a submission: plain calls from now on. */
static void
ring_failed(struct sockio *io)
{
    log_warn("Batched socket I/O failed (%s): back to one system call per read and write",
             strerror(errno));
    iobatch_destroy(&io->ring);
}

/* An operation whose connection closed since it was queued: forgotten (a
 * backend closed, maybe freed) or a session marked closing (freed only
 * once the batch is over). */
static int
op_gone(const struct sockio_op *op)
{
    return op->p == NULL
           || (op->kind == SOCKIO_SESSION
               && (((const struct session *)op->p)->flags & SESSION_CLOSING));
}

/* ---- reads ---------------------------------------------------------------- */

static void
wait_push(struct sockio *io, int kind, void *p)
{
    if (io->nwait == io->wait_cap) {
        io->wait_cap = io->wait_cap ? io->wait_cap * 2 : 64;
        io->wait = mem_realloc(io->wait, io->wait_cap * sizeof(*io->wait));
    }
    struct sockio_op *op = &io->wait[io->nwait++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->p = p;
}

int
sockio_session_read_later(struct session *s)
{
    struct sockio *io = s->px->sockio;
    if (io == NULL || io->ring == NULL || conn_is_tls(s->conn)) {
        return 0;
    }
    if (!(s->flags & SESSION_PENDING_READ)) {
        s->flags |= SESSION_PENDING_READ;
        wait_push(io, SOCKIO_SESSION, s);
    }
    return 1;
}

int
sockio_backend_read_later(struct backend *b)
{
    struct sockio *io = b->node->px->sockio;
    /* Before the connection is up its read reports the connect's error:
     * that stays with the event. */
    if (io == NULL || io->ring == NULL || !b->connected || conn_is_tls(b->conn)) {
        return 0;
    }
    if (!b->pending_read) {
        b->pending_read = 1;
        wait_push(io, SOCKIO_BACKEND, b);
    }
    return 1;
}

static void
op_done(void *tag, int res, void *arg)
{
    struct sockio_op *op = tag;
    (void)arg;
    op->res = res;
}

/* A queued read the batch could not make (the ring failed): the plain way. */
static void
read_plain(struct sockio_op *op)
{
    size_t room;
    if (op->kind == SOCKIO_SESSION) {
        struct session *s = op->p;
        char *buf = session_read_buf(s, &room);
        ssize_t n = conn_read(s->conn, buf, room);
        session_read_done(s, n < 0 ? -errno : (int)n, s->qlen);
    } else {
        struct backend *b = op->p;
        char *buf = backend_read_buf(b, &room);
        ssize_t n = conn_read(b->conn, buf, room);
        backend_read_done(b, n < 0 ? -errno : (int)n);
    }
}

void
sockio_read_pending(struct proxy *px)
{
    struct sockio *io = px->sockio;
    size_t next = 0;
    while (io != NULL && next < io->nwait) {
        /* Queue up to a batch of reads, each into the tail of its buffer.
         * Nothing closes or frees a connection between here and the run. */
        io->ncur = 0;
        while (next < io->nwait && io->ncur < SOCKIO_BATCH) {
            struct sockio_op *op = &io->wait[next++];
            if (op->p == NULL) {
                continue; /* forgotten: closed since its event */
            }
            size_t room;
            char *buf;
            int fd;
            if (op->kind == SOCKIO_SESSION) {
                struct session *s = op->p;
                s->flags &= ~SESSION_PENDING_READ;
                if (s->flags & SESSION_CLOSING) {
                    continue;
                }
                buf = session_read_buf(s, &room);
                op->off = s->qlen;
                fd = s->fd;
            } else {
                struct backend *b = op->p;
                b->pending_read = 0;
                if (b->fd < 0) {
                    continue;
                }
                buf = backend_read_buf(b, &room);
                fd = b->fd;
            }
            struct sockio_op *cur = &io->cur[io->ncur++];
            *cur = *op;
            if (io->ring == NULL) {
                cur->res = -ECANCELED; /* read below, the plain way */
            } else {
                iobatch_recv(io->ring, fd, buf, room, cur);
            }
        }
        int failed = 0, saved = 0;
        if (io->ring != NULL && iobatch_run(io->ring, op_done, NULL) != 0) {
            saved = errno;
            failed = 1;
            ring_failed(io);
        }
        /* Hand the results out in queue order.  Handling one may close
         * another connection of the batch: sockio_forget then clears its
         * entry, and its bytes are dropped with it. */
        for (size_t i = 0; i < io->ncur; i++) {
            struct sockio_op *op = &io->cur[i];
            if (op_gone(op)) {
                continue;
            }
            if (op->res == -ECANCELED || (failed && op->res == -saved)) {
                read_plain(op); /* the kernel never took it */
            } else if (op->kind == SOCKIO_SESSION) {
                session_read_done(op->p, op->res, op->off);
            } else {
                backend_read_done(op->p, op->res);
            }
        }
        io->ncur = 0;
    }
    if (io != NULL) {
        io->nwait = 0;
    }
}

/* ---- writes --------------------------------------------------------------- */

void
sockio_flush(struct proxy *px)
{
    struct sockio *io = px->sockio;
    if (io == NULL || io->ring == NULL) {
        backend_flush_pending(px);
        session_flush_pending(px);
        return;
    }
    /* Handling a result may queue more (a failed node answers its
     * requests with errors; a reply lets held input run): round again
     * until nothing is left. */
    while (io->ring != NULL && (px->npending_backends > 0 || px->pending_writes != NULL)) {
        io->ncur = 0;
        while (px->npending_backends > 0 && io->ncur < SOCKIO_BATCH) {
            struct backend *b = px->pending_backends[--px->npending_backends];
            b->pending = 0;
            if (b->fd < 0 || !b->connected) {
                continue;
            }
            if (conn_is_tls(b->conn) || b->out_sent == b->out_len) {
                backend_write_plain(px, b);
                continue;
            }
            struct sockio_op *op = &io->cur[io->ncur++];
            memset(op, 0, sizeof(*op));
            op->kind = SOCKIO_BACKEND;
            op->p = b;
            op->iov.iov_base = b->out + b->out_sent;
            op->iov.iov_len = b->out_len - b->out_sent;
            iobatch_send(io->ring, b->fd, &op->iov, 1, op);
        }
        while (px->pending_writes != NULL && io->ncur < SOCKIO_BATCH) {
            struct session *s = px->pending_writes;
            px->pending_writes = s->pw_next;
            s->flags &= ~SESSION_PENDING_WRITE;
            if (s->flags & SESSION_CLOSING) {
                continue;
            }
            if (conn_is_tls(s->conn) || s->out_sent == s->out.len) {
                session_write_plain(s); /* (with nothing to send: no call) */
                continue;
            }
            struct sockio_op *op = &io->cur[io->ncur++];
            memset(op, 0, sizeof(*op));
            op->kind = SOCKIO_SESSION;
            op->p = s;
            op->iov.iov_base = s->out.p + s->out_sent;
            op->iov.iov_len = s->out.len - s->out_sent;
            iobatch_send(io->ring, s->fd, &op->iov, 1, op);
        }
        int failed = 0, saved = 0;
        if (iobatch_run(io->ring, op_done, NULL) != 0) {
            saved = errno;
            failed = 1;
            ring_failed(io);
        }
        for (size_t i = 0; i < io->ncur; i++) {
            struct sockio_op *op = &io->cur[i];
            if (op_gone(op)) {
                continue;
            }
            if (failed && op->res == -saved) {
                /* The kernel never took it: the plain way. */
                if (op->kind == SOCKIO_SESSION) {
                    session_write_plain(op->p);
                } else {
                    backend_write_plain(px, op->p);
                }
            } else if (op->kind == SOCKIO_SESSION) {
                session_write_done(op->p, op->res);
            } else {
                backend_write_done(px, op->p, op->res);
            }
        }
        io->ncur = 0;
    }
    /* Whatever is left after a ring failure goes the plain way. */
    backend_flush_pending(px);
    session_flush_pending(px);
}

void
sockio_forget(struct proxy *px, const void *p)
{
    struct sockio *io = px->sockio;
    if (io == NULL) {
        return;
    }
    for (size_t i = 0; i < io->nwait; i++) {
        if (io->wait[i].p == p) {
            io->wait[i].p = NULL;
        }
    }
    for (size_t i = 0; i < io->ncur; i++) {
        if (io->cur[i].p == p) {
            io->cur[i].p = NULL;
        }
    }
}
