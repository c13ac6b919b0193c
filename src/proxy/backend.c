/* Pooled backend connections.  Requests are appended as the client sent
 * them; replies are split with the reply scanner and handed back in order.
 * A connection that fails answers every request in flight on it with an
 * error: nothing is ever sent twice. */
#include "proxy/backend.h"
#include "proxy/sockio.h"
#include "proxy/blockmux.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/http.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/tlsctx.h"
#include "proxy/topology.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void backend_on_event(evutil_socket_t fd, short what, void *arg);
static void queue_request(struct proxy *px, struct backend *b, struct preq *r,
                          const char *frame, size_t len);

/* Our SELECT on a connection: when a node refuses it, the requests queued
 * behind it would run in the wrong database, so the connection is closed
 * (they fail with "may or may not have been executed") once this reply is
 * handled. */
static void
on_select_reply(struct preq *r, const char *reply, size_t len)
{
    if (len > 0 && reply[0] == '-' && r->backend != NULL && r->backend->fd >= 0) {
        log_warn("Node %s refused SELECT (check the databases option): %.*s",
                 r->backend->node->name, (int)(len > 2 ? len - 2 : 0), reply + 1);
        r->backend->select_failed = 1;
    }
}

static void
on_hello_reply(struct preq *r, const char *reply, size_t len)
{
    if (len > 0 && reply[0] == '-' && r->backend != NULL && r->backend->fd >= 0) {
        /* Replies would come in RESP2 to sessions that asked for RESP3. */
        log_warn("Node %s refused HELLO 3: %.*s", r->backend->node->name,
                 (int)(len > 2 ? len - 2 : 0), reply + 1);
        r->backend->select_failed = 1;
    }
}

static void
on_auth_reply(struct preq *r, const char *reply, size_t len)
{
    (void)r;
    if (len > 0 && reply[0] == '-') {
        log_warn("A node refused the proxy's AUTH (check backend-password): %.*s",
                 (int)(len > 2 ? len - 2 : 0), reply + 1);
    }
}

void
backend_init(struct backend *b, struct node *n)
{
    memset(b, 0, sizeof(*b));
    b->node = n;
    b->fd = -1;
    resp_scan_init(&b->scan);
}

/* Fails the requests queued on b.  On a connection that never opened
 * (sent == 0: refused, timed out while connecting) nothing reached the node,
 * so the client is told so and may retry a non-idempotent write safely. */
size_t
backend_lost_error(const struct backend *b, const char *why, int sent, char *err, size_t cap)
{
    int n = sent ? snprintf(err, cap, "-ERR cachely-proxy: connection to %s lost (%s); "
                            "the request may or may not have been executed\r\n",
                            b->node->name, why)
                 : snprintf(err, cap, "-ERR cachely-proxy: could not connect to %s "
                            "(%s); the request was not executed\r\n", b->node->name, why);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void
fail_inflight(struct backend *b, const char *why, int sent)
{
    char err[512];
    size_t n = backend_lost_error(b, why, sent, err, sizeof(err));
    while (b->head) {
        struct preq *r = b->head;
        b->head = r->bnext;
        r->bnext = NULL;
        /* A run's requests each get the error (r goes with the last). */
        for (unsigned k = r->more + 1; k > 0; k--) {
            b->node->errors++;
            session_deliver(r, err, n);
        }
    }
    b->tail = NULL;
    b->inflight = 0;
}

void
backend_close(struct backend *b, const char *why)
{
    if (b->fd >= 0 && why) {
        log_warn("Backend %s: %s", b->node->name, why);
    }
    if (b->ev) {
        event_free(b->ev);
        b->ev = NULL;
    }
    sockio_forget(b->node->px, b); /* its buffers go below */
    b->pending_read = 0;
    if (b->conn != NULL) {
        conn_destroy(&b->conn); /* closes fd */
    } else if (b->fd >= 0) {
        close(b->fd);
    }
    int sent = b->connected;
    b->fd = -1;
    b->tls_wants_write = 0;
    b->connected = 0;
    b->write_armed = 0;
    fail_inflight(b, why ? why : "closed", sent);
    blockmux_backend_closed(b, why ? why : "closed", sent);
    backend_release_blocking(b);
    b->db = 0;                   /* a new connection starts in database 0 */
    b->node_client_id = 0;       /* ... with another client id */
    b->select_failed = 0;
    mem_free(b->name);           /* ... and with no name */
    b->name = NULL;
    mem_free(b->out);
    mem_free(b->in);
    b->out = b->in = NULL;
    b->out_len = b->out_cap = b->out_sent = 0;
    b->in_len = b->in_cap = 0;
    resp_scan_init(&b->scan);
    /* Reconnect with backoff: 50 ms doubling to 1 s. */
    b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : 50;
    if (b->backoff_ms > 1000) {
        b->backoff_ms = 1000;
    }
    b->retry_at_ms = util_mstime() + b->backoff_ms;
}

static int
backend_connect(struct proxy *px, struct backend *b)
{
    int one = 1;
    b->fd = util_connect_nonblock(b->node->host, b->node->port);
    if (b->fd < 0) {
        b->retry_at_ms = util_mstime() + 100;
        return -1;
    }
    setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    b->conn = tlsctx_connect(px, b->fd, b->node->name);
    if (b->conn == NULL) {
        close(b->fd);
        b->fd = -1;
        b->retry_at_ms = util_mstime() + 100;
        return -1;
    }
    b->connected = 0;
    b->ev = event_new(px->base, b->fd, EV_READ | EV_PERSIST, backend_on_event, b);
    event_add(b->ev, NULL);
    /* AUTH goes first on the connection; its reply is checked, not
     * forwarded.  Requests queued behind it run authenticated. */
    size_t alen;
    char *auth = topology_auth_frame(px, &alen);
    if (auth != NULL) {
        struct preq *r = mem_calloc(sizeof(*r));
        r->on_reply = on_auth_reply;
        queue_request(px, b, r, auth, alen);
        mem_free(auth);
    }
    if (b->resp3) {
        static const char hello[] = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
        struct preq *r = mem_calloc(sizeof(*r));
        r->on_reply = on_hello_reply;
        queue_request(px, b, r, hello, sizeof(hello) - 1);
    }
    /* Writability tells when the connect finished. */
    b->write_armed = 0;
    return 0;
}

static void
arm_write(struct proxy *px, struct backend *b, int on)
{
    if (on == b->write_armed) {
        return;
    }
    event_del(b->ev);
    event_assign(b->ev, px->base, b->fd, EV_READ | EV_PERSIST | (on ? EV_WRITE : 0),
                 backend_on_event, b);
    event_add(b->ev, NULL);
    b->write_armed = on;
}

/* After a write: arm the write event while output or a connect waits. */
static void
write_finish(struct proxy *px, struct backend *b)
{
    if (b->out_sent == b->out_len) {
        b->out_len = b->out_sent = 0;
    }
    arm_write(px, b, b->out_len > b->out_sent || !b->connected || b->tls_wants_write);
}

static void
backend_write(struct proxy *px, struct backend *b)
{
    while (b->out_sent < b->out_len) {
        ssize_t n = conn_write(b->conn, b->out + b->out_sent, b->out_len - b->out_sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (conn_wants(b->conn) == CONN_WANT_READ) {
                    /* TLS handshake: the read event brings us back. */
                    arm_write(px, b, b->tls_wants_write || !b->connected);
                    return;
                }
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            backend_close(b, strerror(errno));
            return;
        }
        b->out_sent += (size_t)n;
    }
    write_finish(px, b);
}

void
backend_write_plain(struct proxy *px, struct backend *b)
{
    backend_write(px, b);
}

void
backend_write_done(struct proxy *px, struct backend *b, int res)
{
    if (res == -EINTR) {
        backend_write(px, b);
        return;
    }
    if (res < 0 && res != -EAGAIN && res != -EWOULDBLOCK) {
        backend_close(b, strerror(-res));
        return;
    }
    if (res > 0) {
        b->out_sent += (size_t)res;
    }
    /* A short send filled the socket: the write event goes on. */
    write_finish(px, b);
}

char *
backend_read_buf(struct backend *b, size_t *room)
{
    if (b->in_cap - b->in_len < 16384) {
        size_t cap = b->in_cap ? b->in_cap : 16384;
        while (cap - b->in_len < 16384) {
            cap *= 2;
        }
        b->in = mem_realloc(b->in, cap);
        b->in_cap = cap;
    }
    *room = b->in_cap - b->in_len;
    if (*room > (size_t)1 << 30) {
        *room = (size_t)1 << 30; /* a read's result fits an int */
    }
    return b->in + b->in_len;
}

static void
backend_read(struct backend *b)
{
    size_t room;
    char *buf = backend_read_buf(b, &room);
    ssize_t n = conn_read(b->conn, buf, room);
    backend_read_done(b, n < 0 ? -errno : (int)n);
}

void
backend_read_done(struct backend *b, int res)
{
    if (res <= 0) {
        if (res == -EAGAIN || res == -EWOULDBLOCK || res == -EINTR) {
            if (conn_wants(b->conn) == CONN_WANT_WRITE) {
                b->tls_wants_write = 1;
                arm_write(b->node->px, b, 1);
            }
            return;
        }
        backend_close(b, res == 0 ? "closed by the node" : strerror(-res));
        return;
    }
    b->in_len += (size_t)res;
    if (!b->node->up) {
        /* A node marked down by the probes' silence (busy for a while: a
         * FUNCTION LOAD cut at 500 ms, a long command) is answering again:
         * up now, not at the next probe's reply, which its pooled
         * connections' replies can overtake.  Nothing is learnt from it. */
        topology_node_alive(b->node->px, b->node, util_mstime());
    }
    size_t off = 0;
    long long now = proxy_turn_us(b->node->px);
    /* The requests of one loop turn share a send time: their replies, read
     * together, share a latency and its bucket. */
    long long last_lat = -1;
    int last_k = 0;
    for (;;) {
        if (b->scan.pos == 0 && off < b->in_len && b->in[off] == '>' && b->mux_ready) {
            /* A CACHELY.BLOCK's outcome, its envelope known by heart. */
            size_t took = blockmux_take_push(b, b->in + off, b->in_len - off);
            if (took > 0) {
                off += took;
                continue;
            }
        }
        int rc = resp_scan_next(&b->scan, b->in + off, b->in_len - off);
        if (rc == 0) {
            break;
        }
        if (rc > 0 && b->scan.type == '>' && blockmux_push(b, b->in + off, b->scan.pos)) {
            off += b->scan.pos; /* a CACHELY.BLOCK's outcome: no in-order reply */
            resp_scan_init(&b->scan);
            continue;
        }
        if (rc < 0 || b->head == NULL) {
            backend_close(b, rc < 0 ? "protocol error in a reply" : "unexpected reply");
            return;
        }
        struct preq *r = b->head;
        size_t span = b->scan.pos;
        unsigned n = 1;
        int whole = 1; /* b->scan is done with the frames counted */
        if (b->scan.type == '-') {
            b->node->errors++;
            if (r->run_kept && r->s != NULL && span >= 9
                && memcmp(b->in + off, "-READONLY", 9) == 0) {
                /* A write of a run refused by a demoted master: each of the
                 * run's writes left is redirected or answered alone. */
                r = session_run_split(r);
            }
        }
        if (r->more > 0) {
            /* A run (session_request.c): its replies read here go to the
             * session together, as one span. */
            resp_scan_init(&b->scan);
            while (n <= r->more) {
                rc = resp_scan_next(&b->scan, b->in + off + span, b->in_len - off - span);
                if (rc <= 0) {
                    whole = 0; /* judged again at the top of the loop */
                    break;
                }
                if ((b->scan.type == '-' && r->run_kept) || b->scan.type == '>') {
                    /* A write run's error is judged alone (-READONLY), a
                     * push frame is no request's reply. */
                    resp_scan_init(&b->scan);
                    break;
                }
                if (b->scan.type == '-') {
                    b->node->errors++;
                }
                span += b->scan.pos;
                n++;
                resp_scan_init(&b->scan);
            }
        }
        if (n > r->more) { /* its last reply: r leaves the connection */
            b->head = r->bnext;
            if (b->head == NULL) {
                b->tail = NULL;
            }
            r->bnext = NULL;
        }
        b->inflight -= n;
        long long lat = now - r->sent_us;
        b->node->latency_us_sum += lat * (long long)n;
        unsigned counted = 0;
        if (lat != last_lat) {
            last_k = http_observe_latency(b->node, lat);
            last_lat = lat;
            counted = 1;
        }
        b->node->latency_buckets[last_k] += n - counted;
        if (n == 1) {
            session_deliver(r, b->in + off, span);
        } else {
            session_deliver_run(r, b->in + off, span, n);
        }
        off += span;
        if (whole) {
            resp_scan_init(&b->scan);
        }
        if (b->dedicated && b->head == NULL) {
            backend_release_blocking(b); /* its command completed */
        }
        if (b->select_failed) {
            backend_close(b, "the node refused SELECT");
            return;
        }
    }
    if (off > 0) {
        memmove(b->in, b->in + off, b->in_len - off);
        b->in_len -= off;
    }
}

static void
backend_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct backend *b = arg;
    struct proxy *px = b->node->px;
    (void)fd;
    if (!b->connected && (what & EV_WRITE)) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            if (b->node->up) {
                log_warn("Node %s refused a connection: marking it down", b->node->name);
                b->node->up = 0;
            }
            backend_close(b, strerror(err));
            return;
        }
        b->connected = 1;
        b->backoff_ms = 0;
    }
    if ((what & EV_WRITE) && b->tls_wants_write) {
        b->tls_wants_write = 0;
        what |= EV_READ;
    }
    if ((what & EV_READ) && !sockio_backend_read_later(b)) {
        /* Bytes TLS already decrypted do not make the socket readable. */
        do {
            backend_read(b);
        } while (b->fd >= 0 && conn_pending(b->conn) > 0);
        if (b->fd < 0) {
            return;
        }
        /* A TLS write that waited for the handshake's bytes goes on. */
        if (conn_is_tls(b->conn) && b->connected && b->out_sent < b->out_len) {
            what |= EV_WRITE;
        }
    }
    if (what & EV_WRITE) {
        backend_write(px, b);
    }
}

/* A session always uses the same pooled connection of a node (chosen by
 * its id): the node then runs the session's requests in the order sent,
 * which a pipeline spread over two connections would not guarantee.  A
 * connection that cannot be opened marks the node down at once, so reads
 * stop going to it before the probes notice. */
static __attribute__((noinline)) struct backend *
reconnect(struct proxy *px, struct node *n, struct backend *b)
{
    if (util_mstime() < b->retry_at_ms || backend_connect(px, b) != 0) {
        if (n->up) {
            log_warn("Node %s refused a connection: marking it down", n->name);
            n->up = 0;
        }
        return NULL;
    }
    arm_write(px, b, 1);
    return b;
}

static inline struct backend *
pick_connection(struct proxy *px, struct node *n, uint64_t affinity, int resp3)
{
    struct backend *b = &n->pool[affinity % (uint64_t)px->cfg.pool_size
                                 + (resp3 ? (uint64_t)px->cfg.pool_size : 0)];
    /* (The reconnection apart: this runs for every request.) */
    return b->fd >= 0 ? b : reconnect(px, n, b);
}

struct backend *
backend_pick(struct proxy *px, struct node *n, uint64_t affinity, int resp3)
{
    return pick_connection(px, n, affinity, resp3);
}

struct backend *
backend_open(struct proxy *px, struct backend *b)
{
    if (b->fd < 0) {
        if (util_mstime() < b->retry_at_ms || backend_connect(px, b) != 0) {
            return NULL;
        }
        arm_write(px, b, 1);
    }
    return b;
}

/* A dedicated connection to n for s's blocking command: an idle open one
 * first, else one to open, at most blocking-pool-size per node.  NULL when
 * all are in use (*exhausted set) or the node cannot be reached. */
struct backend *
backend_pick_idle(struct backend *pool, long long n, int resp3,
                  int (*busy)(const struct backend *b))
{
    struct backend *spare = NULL, *other = NULL;
    for (long long i = 0; i < n; i++) {
        struct backend *b = &pool[i];
        if (busy(b)) {
            continue;
        }
        if (b->fd >= 0 && b->resp3 == resp3) {
            return b;
        }
        if (b->fd < 0 && spare == NULL) {
            spare = b;
        }
        if (b->fd >= 0 && other == NULL) {
            other = b;
        }
    }
    if (spare == NULL && other != NULL) {
        backend_close(other, NULL); /* idle, in the other protocol: reopened */
        spare = other;
    }
    return spare;
}

/* The reply to the CLIENT ID a dedicated connection asks when it opens. */
static void
on_client_id(struct preq *r, const char *reply, size_t len)
{
    struct backend *b = r->ctx;
    if (r->backend == b && b->fd >= 0 && len > 3 && reply[0] == ':') {
        b->node_client_id = atoll(reply + 1);
    }
    if (r->backend == b) {
        blockmux_dedicated_id_known(b);
    }
}

static int
blocking_busy(const struct backend *b)
{
    return b->blocked != NULL;
}

struct backend *
backend_take_blocking(struct proxy *px, struct node *n, struct session *s, int *exhausted)
{
    int resp3 = s->resp == 3;
    *exhausted = 0;
    struct backend *spare = backend_pick_idle(n->blocking, px->cfg.blocking_pool_size, resp3,
                                              blocking_busy);
    if (spare == NULL) {
        *exhausted = 1;
        return NULL;
    }
    if (spare->fd < 0) {
        spare->resp3 = resp3;
        spare->retry_at_ms = 0; /* a fresh attempt for every command */
        if (backend_open(px, spare) == NULL) {
            return NULL;
        }
        /* Its id on the node, for CLIENT UNBLOCK (blockmux.c), ahead of
         * the command. */
        static const char id[] = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";
        struct preq *q = mem_calloc(sizeof(*q));
        q->on_reply = on_client_id;
        q->ctx = spare;
        queue_request(px, spare, q, id, sizeof(id) - 1);
    }
    spare->blocked = s;
    s->blocked_on = spare;
    n->blocking_busy++;
    return spare;
}

/* The blocking command on b completed (or b closed): b is idle again, and
 * its session reads on (session_resume). */
void
backend_release_blocking(struct backend *b)
{
    struct session *s = b->blocked;
    if (s == NULL) {
        return;
    }
    b->blocked = NULL;
    blockmux_dedicated_id_known(b); /* a waiting CLIENT UNBLOCK now answers :0 */
    b->node->blocking_busy--;
    if (s->blocked_on == b) {
        s->blocked_on = NULL;
        session_resume(s);
    }
}

int
backend_send(struct proxy *px, struct node *n, struct backend *on, struct preq *r,
             const char *frame, size_t len)
{
    /* The proxy's own requests (on_reply) and fan-out parts parse or merge
     * RESP2 replies; a RESP3 session's own requests get RESP3 ones. */
    int resp3 = r->resp3 && r->on_reply == NULL && r->fan == NULL;
    struct backend *b = on != NULL ? on : pick_connection(px, n, r->affinity, resp3);
    if (b == NULL || b->fd < 0) {
        return -1;
    }
    if (r->select_db != 0 && r->select_db - 1 != b->db) {
        /* The connection is shared (or private to a session that changed
         * database): select the request's database on it first. */
        char sel[64], num[24];
        size_t nl = util_ll2str(num, r->select_db - 1);
        int sl = snprintf(sel, sizeof(sel), "*2\r\n$6\r\nSELECT\r\n$%zu\r\n%s\r\n", nl, num);
        struct preq *sr = mem_calloc(sizeof(*sr));
        sr->on_reply = on_select_reply;
        sr->affinity = r->affinity;
        queue_request(px, b, sr, sel, (size_t)sl);
        b->db = r->select_db - 1;
    }
    queue_request(px, b, r, frame, len);
    return 0;
}

/* Append a request's bytes to b's output, written at the end of the turn. */
static inline void
append_out(struct proxy *px, struct backend *b, const char *frame, size_t len)
{
    if (b->out_cap - b->out_len < len) {
        size_t cap = b->out_cap ? b->out_cap : 16384;
        while (cap - b->out_len < len) {
            cap *= 2;
        }
        b->out = mem_realloc(b->out, cap);
        b->out_cap = cap;
    }
    memcpy(b->out + b->out_len, frame, len);
    b->out_len += len;
    b->inflight++;
    b->node->requests++;
    if (!b->pending && b->connected) {
        if (px->npending_backends == px->pending_backends_cap) {
            px->pending_backends_cap = px->pending_backends_cap ? px->pending_backends_cap * 2 : 16;
            px->pending_backends = mem_realloc(px->pending_backends,
                                               px->pending_backends_cap * sizeof(struct backend *));
        }
        px->pending_backends[px->npending_backends++] = b;
        b->pending = 1;
    }
}

/* Append a request to b and remember r for its reply. */
static void
queue_request(struct proxy *px, struct backend *b, struct preq *r, const char *frame,
              size_t len)
{
    append_out(px, b, frame, len);
    r->node = b->node;
    r->backend = b;
    r->sent_us = proxy_turn_us(px);
    r->bnext = NULL;
    if (b->tail) {
        b->tail->bnext = r;
    } else {
        b->head = r;
    }
    b->tail = r;
}

void
backend_extend(struct proxy *px, struct backend *b, struct preq *r, const char *frame,
               size_t len)
{
    append_out(px, b, frame, len);
    r->more++;
}

void
backend_flush_pending(struct proxy *px)
{
    for (size_t i = 0; i < px->npending_backends; i++) {
        struct backend *b = px->pending_backends[i];
        b->pending = 0;
        if (b->fd >= 0 && b->connected) {
            backend_write(px, b);
        }
    }
    px->npending_backends = 0;
}

void
backend_cron(struct proxy *px, struct backend *b)
{
    if (b->head != NULL && px->cfg.backend_timeout_ms > 0
        && util_ustime() - b->head->sent_us > px->cfg.backend_timeout_ms * 1000) {
        /* Replies match requests by order only: after a timeout nothing
         * later on this connection can be matched, so it is replaced. */
        backend_close(b, "request timed out");
    }
}

void
backend_forget_pending(struct proxy *px, struct backend *b)
{
    for (size_t i = 0; i < px->npending_backends; i++) {
        if (px->pending_backends[i] == b) {
            px->pending_backends[i] = px->pending_backends[--px->npending_backends];
            break;
        }
    }
    b->pending = 0;
}
