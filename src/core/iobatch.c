/* Batched socket I/O over a minimal io_uring: the rings are mapped by
 * hand (linux/io_uring.h only), one submission queue entry per operation,
 * one io_uring_enter per run.  See iobatch.h for the contract. */
#include "core/iobatch.h"
#include "core/sysio.h"
#include "core/alloc.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

struct iobatch {
    int fd;                         /* the ring; owned */
    unsigned entries;               /* submission queue size */
    unsigned min_ring;              /* smaller batches run as plain calls */
    /* submission ring (mapped) */
    void *sq_map;                   /* owned mapping */
    size_t sq_map_len;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    struct io_uring_sqe *sqes;      /* owned mapping */
    size_t sqes_len;
    /* completion ring (mapped; the same mapping as sq_map when the kernel
     * has IORING_FEAT_SINGLE_MMAP) */
    void *cq_map;                   /* owned mapping unless == sq_map */
    size_t cq_map_len;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    /* the queued operations */
    unsigned queued;
    void **tags;                    /* owned; tag of operation i */
    int *res;                       /* owned; result of operation i */
    struct msghdr *msgs;            /* owned; sendmsg headers */
};

static int
sys_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int
sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags)
{
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags,
                        NULL, (size_t)0);
}

struct iobatch *
iobatch_create(unsigned entries)
{
    struct io_uring_params p;
    struct iobatch *b;
    int fd;

    if (RUNNING_ON_VALGRIND) {
        errno = ENOSYS;
        return NULL;
    }
    memset(&p, 0, sizeof(p));
    /* One thread submits, and it reaps in the same call: neither needs the
     * kernel to interrupt it for completions.  Older kernels lack the
     * flags: try without. */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
    fd = sys_setup(entries, &p);
    if (fd < 0 && errno == EINVAL) {
        memset(&p, 0, sizeof(p));
        fd = sys_setup(entries, &p);
    }
    if (fd < 0) {
        return NULL;
    }
    b = mem_calloc(sizeof(*b));
    b->fd = fd;
    b->entries = p.sq_entries;
    b->min_ring = IOBATCH_MIN_RING;
    b->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    b->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        if (b->cq_map_len > b->sq_map_len) {
            b->sq_map_len = b->cq_map_len;
        }
        b->cq_map_len = b->sq_map_len;
    }
    b->sq_map = mmap(NULL, b->sq_map_len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (b->sq_map == MAP_FAILED) {
        b->sq_map = NULL;
        goto fail;
    }
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        b->cq_map = b->sq_map;
    } else {
        b->cq_map = mmap(NULL, b->cq_map_len, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (b->cq_map == MAP_FAILED) {
            b->cq_map = NULL;
            goto fail;
        }
    }
    b->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    b->sqes = mmap(NULL, b->sqes_len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (b->sqes == MAP_FAILED) {
        b->sqes = NULL;
        goto fail;
    }
    char *sq = b->sq_map, *cq = b->cq_map;
    b->sq_head = (unsigned *)(sq + p.sq_off.head);
    b->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    b->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    b->sq_array = (unsigned *)(sq + p.sq_off.array);
    b->cq_head = (unsigned *)(cq + p.cq_off.head);
    b->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    b->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    b->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    b->tags = mem_calloc(b->entries * sizeof(*b->tags));
    b->res = mem_calloc(b->entries * sizeof(*b->res));
    b->msgs = mem_calloc(b->entries * sizeof(*b->msgs));
    return b;
fail: {
        int saved = errno;
        iobatch_destroy(&b);
        errno = saved;
        return NULL;
    }
}

void
iobatch_destroy(struct iobatch **bp)
{
    struct iobatch *b = *bp;
    if (b == NULL) {
        return;
    }
    if (b->sqes) {
        munmap(b->sqes, b->sqes_len);
    }
    if (b->cq_map && b->cq_map != b->sq_map) {
        munmap(b->cq_map, b->cq_map_len);
    }
    if (b->sq_map) {
        munmap(b->sq_map, b->sq_map_len);
    }
    close(b->fd);
    mem_free(b->tags);
    mem_free(b->res);
    mem_free(b->msgs);
    mem_free(b);
    *bp = NULL;
}

void
iobatch_set_min_ring(struct iobatch *b, unsigned n)
{
    b->min_ring = n;
}

unsigned
iobatch_queued(const struct iobatch *b)
{
    return b->queued;
}

unsigned
iobatch_room(const struct iobatch *b)
{
    return b->entries - b->queued;
}

/* The next free entry, zeroed, its index in *idx; NULL when full.  The
 * queue is empty between runs, so entry i of a run is ring slot
 * (tail + i) & mask. */
static struct io_uring_sqe *
next_sqe(struct iobatch *b, unsigned *idx)
{
    if (b->queued >= b->entries) {
        return NULL;
    }
    unsigned tail = *b->sq_tail + b->queued;
    unsigned slot = tail & *b->sq_mask;
    struct io_uring_sqe *sqe = &b->sqes[slot];
    memset(sqe, 0, sizeof(*sqe));
    b->sq_array[slot] = slot;
    *idx = b->queued++;
    sqe->user_data = *idx;
    return sqe;
}

int
iobatch_recv(struct iobatch *b, int fd, void *buf, size_t len, void *tag)
{
    unsigned i;
    struct io_uring_sqe *sqe = next_sqe(b, &i);
    if (sqe == NULL) {
        return -1;
    }
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)buf;
    sqe->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    sqe->msg_flags = MSG_DONTWAIT;
    b->tags[i] = tag;
    return 0;
}

int
iobatch_send(struct iobatch *b, int fd, const struct iovec *iov, int iovcnt, void *tag)
{
    unsigned i;
    struct io_uring_sqe *sqe = next_sqe(b, &i);
    if (sqe == NULL) {
        return -1;
    }
    sqe->fd = fd;
    sqe->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    if (iovcnt == 1) {
        sqe->opcode = IORING_OP_SEND;
        sqe->addr = (uint64_t)(uintptr_t)iov[0].iov_base;
        sqe->len = iov[0].iov_len > UINT32_MAX ? UINT32_MAX : (uint32_t)iov[0].iov_len;
    } else {
        struct msghdr *m = &b->msgs[i];
        memset(m, 0, sizeof(*m));
        m->msg_iov = (struct iovec *)iov;
        m->msg_iovlen = (size_t)iovcnt;
        sqe->opcode = IORING_OP_SENDMSG;
        sqe->addr = (uint64_t)(uintptr_t)m;
        sqe->len = 1;
    }
    b->tags[i] = tag;
    return 0;
}

/* Run queued entry i with the plain system call it stands for; the result
 * as a completion would give it. */
static int
run_plain(struct iobatch *b, unsigned i)
{
    const struct io_uring_sqe *sqe = &b->sqes[(*b->sq_tail + i) & *b->sq_mask];
    void *addr = (void *)(uintptr_t)sqe->addr;
    ssize_t r;

    do {
        switch (sqe->opcode) {
        case IORING_OP_RECV:
            r = sysio_recv(sqe->fd, addr, sqe->len, (int)sqe->msg_flags);
            break;
        case IORING_OP_SEND:
            r = sysio_send(sqe->fd, addr, sqe->len, (int)sqe->msg_flags);
            break;
        default:
            r = sysio_sendmsg(sqe->fd, addr, (int)sqe->msg_flags);
            break;
        }
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : (int)r;
}

int
iobatch_run(struct iobatch *b, iobatch_done_fn done, void *arg)
{
    unsigned n = b->queued, submitted = 0, reaped = 0;
    int rc = 0, saved = 0;

    if (n == 0) {
        return 0;
    }
    if (n < b->min_ring) {
        /* The entries stay unsubmitted (the tail does not move): the next
         * batch overwrites them. */
        for (unsigned i = 0; i < n; i++) {
            b->res[i] = run_plain(b, i);
        }
        goto hand_out;
    }
    for (unsigned i = 0; i < n; i++) {
        b->res[i] = -ECANCELED;
    }
    __atomic_store_n(b->sq_tail, *b->sq_tail + n, __ATOMIC_RELEASE);
    while (reaped < n) {
        /* Every operation completes while it is submitted (MSG_DONTWAIT),
         * so waiting for n completions never sleeps on a socket. */
        int r = submitted < n
                    ? sys_enter(b->fd, n - submitted, n - reaped, IORING_ENTER_GETEVENTS)
                    : sys_enter(b->fd, 0, n - reaped, IORING_ENTER_GETEVENTS);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -1;
            saved = errno;
        } else {
            submitted += (unsigned)r;
        }
        unsigned head = *b->cq_head;
        unsigned tail = __atomic_load_n(b->cq_tail, __ATOMIC_ACQUIRE);
        while (head != tail) {
            struct io_uring_cqe *cqe = &b->cqes[head & *b->cq_mask];
            if (cqe->user_data < n) {
                b->res[cqe->user_data] = cqe->res;
            }
            head++;
            reaped++;
        }
        __atomic_store_n(b->cq_head, head, __ATOMIC_RELEASE);
        if (rc < 0) {
            break;
        }
    }
    if (rc < 0) {
        /* Entries the kernel never took stay in the ring and would run at
         * the next submission: nothing of this batch may be reused. */
        for (unsigned i = 0; i < n; i++) {
            if (b->res[i] == -ECANCELED) {
                b->res[i] = -saved;
            }
        }
    }
    /* A callback may run another batch on this ring (a busy script serves
     * other clients from inside a command): hand out copies. */
hand_out:;
    void *tags[n];
    int res[n];
    memcpy(tags, b->tags, n * sizeof(*tags));
    memcpy(res, b->res, n * sizeof(*res));
    b->queued = 0;
    for (unsigned i = 0; i < n; i++) {
        done(tags[i], res[i], arg);
    }
    if (rc < 0) {
        errno = saved;
    }
    return rc;
}
