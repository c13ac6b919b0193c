/* The proxy's small RESP client for its control links (peer proxies, and
 * one-shot commands to nodes during a failover): one connection through
 * core/conn, requests in order, each reply decoded and handed to the
 * request's callback.  It replaced hiredis's async API, which has no TLS. */
#include "proxy/peerlink.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/rbuf.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Replies nest at most this deep here (peers answer flat arrays). */
#define PEERLINK_MAX_DEPTH 8

struct peerlink_req {
    peerlink_reply_fn cb;        /* may be NULL */
    void *arg;                   /* borrowed: cb's */
    struct peerlink_req *next;
};

struct peerlink {
    struct event_base *base;     /* borrowed */
    int fd;                      /* -1 once closed */
    struct conn *conn;           /* owned over fd */
    struct event *ev;            /* owned: read, and write while wanted */
    int write_armed;
    enum peerlink_state state;
    int tcp_done;                /* the TCP connect finished */
    int read_wants_write;        /* a TLS read waits for writability */
    int tls_refused;
    int got_reply;               /* a reply arrived (so TLS was accepted) */
    struct rbuf out;             /* encoded requests not yet written */
    size_t out_sent;
    char *in;                    /* owned: reply bytes not yet consumed */
    size_t in_len, in_cap;
    struct resp_scan scan;
    struct peerlink_req *head, *tail; /* owned: awaiting replies, oldest first */
    size_t pending;
    int busy;                    /* inside the event handler or a failure */
    int destroyed;               /* peerlink_destroy ran while busy */
    char what[340];              /* for logs */
};

static void peerlink_on_event(evutil_socket_t fd, short what, void *arg);

/* ---- decoding ---------------------------------------------------------------- */

void
peerlink_reply_free(struct peerlink_reply *r)
{
    if (r == NULL || r->element == NULL) {
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        peerlink_reply_free(&r->element[i]);
    }
    mem_free(r->element);
    r->element = NULL;
    r->elements = 0;
}

size_t
peerlink_decode(const char *p, size_t len, struct peerlink_reply *r, int depth)
{
    memset(r, 0, sizeof(*r));
    if (len < 3 || depth > PEERLINK_MAX_DEPTH) {
        return 0;
    }
    const char *cr = memchr(p, '\r', len);
    if (cr == NULL || (size_t)(cr - p) + 2 > len || cr[1] != '\n') {
        return 0;
    }
    const char *line = p + 1;
    size_t llen = (size_t)(cr - line);
    size_t used = llen + 3;
    long long n;
    r->type = p[0];
    switch (p[0]) {
    case '+':
    case '-':
    case '_':
    case '#':
    case ',':
    case '(':
        r->str = line;
        r->len = llen;
        return used;
    case ':':
        if (util_str2ll(line, llen, &r->integer) != 0) {
            return 0;
        }
        return used;
    case '$':
        if (util_str2ll(line, llen, &n) != 0) {
            return 0;
        }
        if (n < 0) {
            r->type = '_';
            return used;
        }
        if ((unsigned long long)n > len - used || len - used - (size_t)n < 2) {
            return 0;
        }
        r->str = p + used;
        r->len = (size_t)n;
        return used + (size_t)n + 2;
    case '*':
        if (util_str2ll(line, llen, &n) != 0) {
            return 0;
        }
        if (n < 0) {
            r->type = '_';
            return used;
        }
        /* Each element takes 3 bytes at least: a bound before allocating. */
        if ((unsigned long long)n > (len - used) / 3) {
            return 0;
        }
        r->elements = (size_t)n;
        r->element = n > 0 ? mem_calloc((size_t)n * sizeof(*r->element)) : NULL;
        for (size_t i = 0; i < r->elements; i++) {
            size_t k = peerlink_decode(p + used, len - used, &r->element[i], depth + 1);
            if (k == 0) {
                peerlink_reply_free(r);
                return 0;
            }
            used += k;
        }
        return used;
    default:
        return 0;
    }
}

/* ---- the connection ---------------------------------------------------------- */

static void
arm(struct peerlink *l)
{
    int want = 0;
    if (l->fd < 0) {
        return;
    }
    if (!l->tcp_done || l->read_wants_write) {
        want = 1;
    } else if (l->state == PEERLINK_CONNECTING) {
        want = conn_wants(l->conn) == CONN_WANT_WRITE;
    } else {
        want = l->out_sent < l->out.len && conn_wants(l->conn) != CONN_WANT_READ;
    }
    if (want == l->write_armed) {
        return;
    }
    event_del(l->ev);
    event_assign(l->ev, l->base, l->fd, EV_READ | EV_PERSIST | (want ? EV_WRITE : 0),
                 peerlink_on_event, l);
    event_add(l->ev, NULL);
    l->write_armed = want;
}

static void
close_socket(struct peerlink *l)
{
    if (l->ev != NULL) {
        event_free(l->ev);
        l->ev = NULL;
    }
    if (l->conn != NULL) {
        conn_destroy(&l->conn); /* closes fd */
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = -1;
}

/* Run every pending callback with NULL. */
static void
fail_pending(struct peerlink *l)
{
    l->busy++;
    while (l->head != NULL) {
        struct peerlink_req *q = l->head;
        l->head = q->next;
        l->pending--;
        if (q->cb != NULL) {
            q->cb(q->arg, NULL);
        }
        mem_free(q);
    }
    l->tail = NULL;
    l->busy--;
}

static void
fail(struct peerlink *l, const char *why)
{
    if (l->state == PEERLINK_FAILED) {
        return;
    }
    log_debug("%s: %s", l->what, why);
    l->state = PEERLINK_FAILED;
    close_socket(l);
    fail_pending(l);
}

static void
free_link(struct peerlink *l)
{
    close_socket(l);
    rbuf_free(&l->out);
    mem_free(l->in);
    mem_free(l);
}

struct peerlink *
peerlink_create(struct event_base *base, const char *host, int port, struct conn_tls_ctx *ctx,
                const char *what)
{
    int one = 1;
    char peer[300];
    int fd = util_connect_nonblock(host, port);
    if (fd < 0) {
        log_debug("%s: cannot connect: %s", what, strerror(errno));
        return NULL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    snprintf(peer, sizeof(peer), "%s:%d", host, port);
    struct conn *c = ctx != NULL ? conn_tls_create(fd, ctx, 0, peer)
                                 : conn_plain_create(fd, peer);
    if (c == NULL) {
        log_warn("%s: cannot make a TLS session", what);
        close(fd);
        return NULL;
    }
    struct peerlink *l = mem_calloc(sizeof(*l));
    l->base = base;
    l->fd = fd;
    l->conn = c;
    l->state = PEERLINK_CONNECTING;
    resp_scan_init(&l->scan);
    snprintf(l->what, sizeof(l->what), "%s", what);
    /* Writability says when the connect finished. */
    l->ev = event_new(base, fd, EV_READ | EV_PERSIST | EV_WRITE, peerlink_on_event, l);
    event_add(l->ev, NULL);
    l->write_armed = 1;
    return l;
}

int
peerlink_send(struct peerlink *l, int argc, const char **argv, peerlink_reply_fn cb, void *arg)
{
    if (l == NULL || l->state == PEERLINK_FAILED || l->destroyed) {
        return -1;
    }
    if (argc <= 0 || argc > 16) {
        return -1;
    }
    rbuf_hdr(&l->out, '*', argc);
    for (int i = 0; i < argc; i++) {
        rbuf_bulk(&l->out, argv[i], strlen(argv[i]));
    }
    struct peerlink_req *q = mem_calloc(sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    if (l->tail != NULL) {
        l->tail->next = q;
    } else {
        l->head = q;
    }
    l->tail = q;
    l->pending++;
    /* Written from the event loop, never from here: a failure then runs
     * callbacks outside the caller's stack. */
    arm(l);
    return 0;
}

enum peerlink_state
peerlink_state(const struct peerlink *l)
{
    return l->state;
}

int
peerlink_tls_refused(const struct peerlink *l)
{
    return l->tls_refused;
}

int
peerlink_replied(const struct peerlink *l)
{
    return l->got_reply;
}

size_t
peerlink_pending(const struct peerlink *l)
{
    return l->pending;
}

void
peerlink_destroy(struct peerlink **lp)
{
    struct peerlink *l = *lp;
    *lp = NULL;
    if (l == NULL || l->destroyed) {
        return;
    }
    l->destroyed = 1;
    l->state = PEERLINK_FAILED;
    close_socket(l);
    fail_pending(l);
    if (l->busy == 0) {
        free_link(l);
    }
}

static void
write_some(struct peerlink *l)
{
    while (l->out_sent < l->out.len) {
        ssize_t n = conn_write(l->conn, l->out.p + l->out_sent, l->out.len - l->out_sent);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            fail(l, strerror(errno));
            return;
        }
        l->out_sent += (size_t)n;
    }
    if (l->out_sent == l->out.len) {
        l->out_sent = l->out.len = 0;
    }
}

/* Deliver every complete reply in the input buffer. */
static void
deliver(struct peerlink *l)
{
    size_t off = 0;
    while (l->state != PEERLINK_FAILED && !l->destroyed) {
        int rc = resp_scan_next(&l->scan, l->in + off, l->in_len - off);
        if (rc == 0) {
            break;
        }
        struct peerlink_reply r;
        if (rc < 0 || l->head == NULL
            || peerlink_decode(l->in + off, l->scan.pos, &r, 0) != l->scan.pos) {
            if (rc > 0 && l->head != NULL) {
                peerlink_reply_free(&r);
            }
            fail(l, rc < 0 || l->head != NULL ? "protocol error in a reply" : "unexpected reply");
            return;
        }
        struct peerlink_req *q = l->head;
        l->head = q->next;
        if (l->head == NULL) {
            l->tail = NULL;
        }
        l->pending--;
        l->got_reply = 1;
        if (q->cb != NULL) {
            q->cb(q->arg, &r);
        }
        mem_free(q);
        peerlink_reply_free(&r);
        off += l->scan.pos;
        resp_scan_init(&l->scan);
    }
    if (off > 0 && l->in != NULL) {
        memmove(l->in, l->in + off, l->in_len - off);
        l->in_len -= off;
    }
}

static void
read_some(struct peerlink *l)
{
    if (l->in_cap - l->in_len < 4096) {
        size_t cap = l->in_cap ? l->in_cap * 2 : 16384;
        l->in = mem_realloc(l->in, cap);
        l->in_cap = cap;
    }
    ssize_t n = conn_read(l->conn, l->in + l->in_len, l->in_cap - l->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        l->read_wants_write = conn_wants(l->conn) == CONN_WANT_WRITE;
        return;
    }
    if (n <= 0) {
        /* In TLS 1.3 the client's handshake ends before the server checked
         * its certificate: a refusal arrives as the first read's alert. */
        if (n < 0 && errno == EPROTO && !l->got_reply) {
            l->tls_refused = 1;
        }
        fail(l, n == 0 ? "closed by the other side" : strerror(errno));
        return;
    }
    l->in_len += (size_t)n;
    deliver(l);
}

static void
peerlink_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct peerlink *l = arg;
    (void)fd;
    l->busy++;
    if (!l->tcp_done) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            fail(l, strerror(err));
            goto out;
        }
        if (!(what & EV_WRITE)) {
            goto out;
        }
        l->tcp_done = 1;
    }
    if (l->state == PEERLINK_CONNECTING) {
        if (conn_handshake(l->conn) != 0) {
            if (errno != EAGAIN) {
                l->tls_refused = errno == EPROTO;
                fail(l, "TLS handshake failed");
            }
            goto out;
        }
        l->state = PEERLINK_UP;
        what |= EV_WRITE;
    }
    if ((what & EV_READ) || (l->read_wants_write && (what & EV_WRITE))) {
        l->read_wants_write = 0;
        /* Bytes TLS already decrypted do not make the socket readable. */
        do {
            read_some(l);
        } while (l->state == PEERLINK_UP && !l->destroyed && conn_pending(l->conn) > 0);
    }
    if (l->state == PEERLINK_UP && !l->destroyed) {
        write_some(l);
    }
out:
    if (l->state != PEERLINK_FAILED && !l->destroyed) {
        arm(l);
    }
    l->busy--;
    if (l->destroyed && l->busy == 0) {
        free_link(l);
    }
}
