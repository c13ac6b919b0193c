/* Client I/O on libevent events through the connection layer (plain or
 * TLS): read into a contiguous query buffer, parse and execute every
 * complete command, write replies at once.  The reply writers the handlers
 * call (reply_ok, reply_bulk...) are in reply.c. */
#include "node/acl.h"
#include "node/client.h"
#include "node/client_int.h"
#include "node/block.h"
#include "node/clientmem.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/conn.h"
#include "core/iobatch.h"
#include "core/log.h"
#include "core/status.h"
#include "core/util.h"
#include "node/db.h"
#include "node/dispatch.h"
#include "node/multi.h"
#include "node/pubsub.h"
#include "node/tracking.h"
#include "node/monitor.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/repl_relay.h"
#include "node/server.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)
/* Argument slots a connection keeps between commands (24 bytes each). */
#define PARSER_KEEP_ARGS 1024
/* Seconds after which an idle connection gives back its query buffer. */
#define IDLE_TRIM_S 2
#define BIG_ARG_READ (1024 * 1024)
/* An argument this big is a big argument (Redis's PROTO_MBULK_BIG_ARG). */
#define BIG_ARG_MIN (32 * 1024)
#define REPLY_BLOCK_MIN (16 * 1024)

static void client_on_read(evutil_socket_t fd, short what, void *arg);
static void client_on_write(evutil_socket_t fd, short what, void *arg);
static void pending_read_unlink(struct client *c);
/* Read batches being handed out (they nest when a busy script serves other
 * clients): clients are not freed meanwhile, one of them may still be
 * waiting for its bytes. */
static int reads_running;
/* client_hold_frees: a busy script serves other clients (scripting.c) */
static int frees_held;

static void
format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
        snprintf(buf, len, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
        snprintf(buf, len, "%s:%d", ip, port);
    } else {
        snprintf(buf, len, "?:0");
    }
}

static struct client *
client_init(struct server *srv, struct conn *conn, unsigned flags)
{
    int fd = conn_fd(conn);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct client *c;
    int one = 1;

    evutil_make_socket_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srv->cfg.tcp_keepalive > 0) {
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
    c = mem_alloc(sizeof(*c));
    memset(c, 0, offsetof(struct client, buf));
    c->id = ++srv->next_client_id;
    c->fd = fd;
    c->conn = conn;
    c->flags = flags;
    c->srv = srv;
    c->resp = 2;
    c->db = &srv->ks.dbs[0];
    c->ctime_ms = util_mstime();
    c->last_interaction_ms = c->ctime_ms;
    c->repl_child = -1;
    int peer_ok = getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;
    if (peer_ok && ss.ss_family == AF_UNIX) {
        /* As Redis shows a unix socket client: the socket's path, port 0,
         * on both ends, and flag U. */
        c->flags |= CLIENT_UNIX_SOCKET;
        snprintf(c->addr, sizeof(c->addr), "%s:0", srv->cfg.unixsocket);
        snprintf(c->laddr, sizeof(c->laddr), "%s:0", srv->cfg.unixsocket);
    } else {
        if (peer_ok) {
            format_addr(&ss, c->addr, sizeof(c->addr));
        }
        sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            format_addr(&ss, c->laddr, sizeof(c->laddr));
        }
    }
    resp_parser_init(&c->parser);
    c->parser.max_bulk_len = (long long)srv->cfg.proto_max_bulk_len;
    c->user = (flags & CLIENT_AUTHENTICATED) ? NULL : acl_default_user(srv);
    client_update_auth(c);
    c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, client_on_read, c);
    c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, client_on_write, c);
    event_add(c->ev_read, NULL);
    c->next = srv->clients;
    if (srv->clients) {
        srv->clients->prev = c;
    }
    srv->clients = c;
    srv->nclients++;
    return c;
}

struct client *
client_create(struct server *srv, struct conn *conn)
{
    if ((long long)srv->nclients >= srv->cfg.maxclients) {
        /* Best effort: a TLS client is still in its handshake. */
        static const char err[] = "-ERR max number of clients reached\r\n";
        ssize_t ignored = conn_write(conn, err, sizeof(err) - 1);
        (void)ignored;
        conn_destroy(&conn);
        srv->stats.rejected_connections++;
        return NULL;
    }
    srv->stats.total_connections++;
    if (acl_protected_refuses_fd(srv->cfg.protected_mode,
                                 acl_user_nopass(acl_default_user(srv)), conn_fd(conn))) {
        /* Best effort, as above; Redis counts it as rejected too. */
        ssize_t ignored = conn_write(conn, acl_protected_mode_denied,
                                     strlen(acl_protected_mode_denied));
        (void)ignored;
        conn_destroy(&conn);
        srv->stats.rejected_connections++;
        return NULL;
    }
    return client_init(srv, conn, 0);
}

/* A fake client in c (zeroed up to buf). */
static struct client *
fake_init(struct client *c, struct server *srv, unsigned flags)
{
    c->id = ++srv->next_client_id;
    c->fd = -1;
    c->flags = flags | CLIENT_FAKE;
    c->srv = srv;
    c->resp = 2;
    c->db = &srv->ks.dbs[0];
    c->ctime_ms = util_mstime();
    c->last_interaction_ms = c->ctime_ms;
    c->repl_child = -1;
    snprintf(c->addr, sizeof(c->addr), "fake");
    resp_parser_init(&c->parser);
    c->parser.max_bulk_len = (long long)srv->cfg.proto_max_bulk_len;
    return c;
}

struct client *
client_create_fake(struct server *srv, unsigned flags)
{
    struct client *c = mem_alloc(sizeof(*c));
    memset(c, 0, offsetof(struct client, buf));
    return fake_init(c, srv, flags);
}

struct client *
client_create_fake_unbuffered(struct server *srv, unsigned flags)
{
    struct client *c = mem_alloc(offsetof(struct client, buf));
    memset(c, 0, offsetof(struct client, buf));
    /* A small first block: every writer appends to blocks once there is
     * one, and never touches buf (which is not there).  Only the output
     * limits free the blocks, and they close the client, which stops every
     * writer. */
    struct reply_block *b = mem_alloc(sizeof(*b) + 232);
    c->reply_alloc = mem_usable(b);
    b->next = NULL;
    b->size = mem_usable(b) - sizeof(*b);
    b->used = 0;
    c->reply = c->reply_tail = b;
    return fake_init(c, srv, flags);
}

struct client *
client_create_link(struct server *srv, struct conn *conn, unsigned flags)
{
    struct client *c = client_init(srv, conn, flags | CLIENT_AUTHENTICATED);
    /* The handshake's reads may have left decrypted bytes inside the TLS
     * session: the socket will not signal them. */
    if (conn_pending(conn) > 0) {
        event_active(c->ev_read, EV_READ, 0);
    }
    return c;
}

void
client_update_auth(struct client *c)
{
    /* A connection starts as the default user, authenticated at once when
     * that user is on and needs no password (no requirepass). */
    if (c->srv->acl == NULL) {
        const char *pass = c->srv->cfg.requirepass;
        if (pass == NULL || pass[0] == '\0') {
            c->flags |= CLIENT_AUTHENTICATED;
        }
    } else if (!(c->flags & CLIENT_AUTHENTICATED)
               && acl_user_nopass(acl_default_user(c->srv))) {
        c->user = acl_default_user(c->srv);
        c->flags |= CLIENT_AUTHENTICATED;
    }
    c->parser.unauthenticated = !(c->flags & CLIENT_AUTHENTICATED);
}

static void
reply_blocks_free(struct client *c)
{
    struct reply_block *b = c->reply;
    while (b) {
        struct reply_block *next = b->next;
        mem_free(b);
        b = next;
    }
    c->reply = c->reply_tail = NULL;
    c->reply_bytes = 0;
    c->reply_alloc = 0;
    if (c->bufpos == 0) {
        c->sentlen = 0;
    }
}

void
client_discard_reply(struct client *c)
{
    c->bufpos = 0;
    reply_blocks_free(c);
    c->sentlen = 0;
}

static void
pending_unlink(struct client *c)
{
    if (c->pw_prev) {
        c->pw_prev->pw_next = c->pw_next;
    } else {
        c->srv->pending_writes = c->pw_next;
    }
    if (c->pw_next) {
        c->pw_next->pw_prev = c->pw_prev;
    }
    c->pw_prev = c->pw_next = NULL;
    c->flags &= ~CLIENT_PENDING_WRITE;
}

void
client_queue_write(struct client *c)
{
    struct server *srv = c->srv;
    if (c->flags & (CLIENT_PENDING_WRITE | CLIENT_CLOSE_ASAP | CLIENT_FAKE)) {
        return;
    }
    c->flags |= CLIENT_PENDING_WRITE;
    c->pw_prev = NULL;
    c->pw_next = srv->pending_writes;
    if (srv->pending_writes) {
        srv->pending_writes->pw_prev = c;
    }
    srv->pending_writes = c;
}

void
client_destroy(struct client **cp)
{
    struct client *c = *cp;
    struct server *srv;
    if (c == NULL) {
        return;
    }
    srv = c->srv;
    if (c->mem_counted != 0) {
        clientmem_forget(c);
    }
    if (c->tagset != NULL || (c->flags & CLIENT_TAGWAIT)) {
        block_tagged_gone(c);
    }
    if (c->bstate != NULL || (c->flags & CLIENT_PAUSED)) {
        block_client_gone(c);
    }
    multi_client_gone(c);
    pubsub_client_gone(c);
    tracking_client_gone(c);
    monitor_client_gone(c);
    if (c->flags & (CLIENT_MASTER | CLIENT_REPLICA | CLIENT_BLOCKED | CLIENT_UNBLOCKED)) {
        repl_client_gone(c);
    }
    repl_relay_free(c);
    if (c->flags & CLIENT_FAKE) {
        /* Never listed, counted, watched or connected. */
    } else {
        if (c->prev) {
            c->prev->next = c->next;
        } else if (srv->clients == c) {
            srv->clients = c->next;
        }
        if (c->next) {
            c->next->prev = c->prev;
        }
        srv->nclients--;
        if (c->flags & CLIENT_PENDING_WRITE) {
            pending_unlink(c);
        }
        if (c->flags & CLIENT_PENDING_READ) {
            pending_read_unlink(c);
        }
        event_free(c->ev_read);
        event_free(c->ev_write);
        conn_destroy(&c->conn);
    }
    resp_parser_free(&c->parser);
    mem_free(c->qbuf);
    reply_blocks_free(c);
    mem_free(c->name);
    mem_free(c->lib_name);
    mem_free(c->lib_ver);
    mem_free(c);
    *cp = NULL;
}

void
client_close_async(struct client *c)
{
    struct server *srv = c->srv;
    if (c->flags & CLIENT_CLOSE_ASAP) {
        return;
    }
    c->flags |= CLIENT_CLOSE_ASAP;
    if (c->mem_counted != 0) {
        clientmem_forget(c);
    }
    if (!(c->flags & CLIENT_FAKE)) {
        event_del(c->ev_read);
        event_del(c->ev_write);
    }
    c->close_next = srv->close_list;
    srv->close_list = c;
    event_active(srv->close_event, EV_TIMEOUT, 0);
}

void
client_hold_frees(int hold)
{
    frees_held += hold ? 1 : -1;
}

void
client_free_pending(struct server *srv)
{
    if (reads_running > 0 || frees_held > 0) {
        /* client_read_pending frees them once its batch is done; a busy
         * script's nested serving leaves them to the close event. */
        return;
    }
    while (srv->close_list) {
        struct client *c = srv->close_list;
        srv->close_list = c->close_next;
        client_destroy(&c);
    }
}

size_t
client_pending_output(const struct client *c)
{
    /* sentlen counts into buf while it holds bytes, else into the first
     * reply block. */
    return c->bufpos + c->reply_bytes - c->sentlen;
}

/* ---- output ------------------------------------------------------------ */

/* The output counted against client-output-buffer-limit is, as in Redis,
 * the memory the reply blocks take (not the bytes they hold so far), the
 * 16 KiB buffer aside: a reply just over the limit in bytes is over it. */
static void
check_output_limits(struct client *c)
{
    const struct cob_limit *lim =
        &c->srv->cfg.cob[(c->flags & CLIENT_REPLICA)  ? COB_REPLICA
                         : (c->flags & CLIENT_PUBSUB) ? COB_PUBSUB
                                                      : COB_NORMAL];
    size_t used = c->reply_alloc;
    if (lim->hard == 0 && lim->soft == 0) {
        return;
    }
    int over = 0;
    if (lim->hard && used >= lim->hard) {
        over = 1;
    } else if (lim->soft && used >= lim->soft) {
        long long now = c->srv->ks.now_ms;
        if (c->obuf_soft_since_ms == 0) {
            c->obuf_soft_since_ms = now;
        } else if (now - c->obuf_soft_since_ms >= lim->soft_seconds * 1000) {
            over = 1;
        }
    } else {
        c->obuf_soft_since_ms = 0;
    }
    if (over && !(c->flags & CLIENT_CLOSE_ASAP)) {
        log_warn("Client id=%llu addr=%s scheduled to be closed ASAP for "
                 "overcoming of output buffer limits.",
                 (unsigned long long)c->id, c->addr);
        c->srv->stats.client_obuf_limit_disconnections++;
        reply_blocks_free(c);
        client_close_async(c);
    }
}

void
client_check_output_limits(struct client *c)
{
    if (c->reply != NULL && !(c->flags & CLIENT_CLOSE_ASAP)) {
        check_output_limits(c);
    }
}

void
reply_raw(struct client *c, const char *s, size_t len)
{
    /* Our master never reads replies, except to REPLCONF GETACK. */
    if ((c->flags & CLIENT_CLOSE_ASAP)
        || ((c->flags & CLIENT_MASTER) && !(c->flags & CLIENT_FORCE_REPLY))) {
        return;
    }
    /* CLIENT REPLY OFF/SKIP silence replies, not pushes. */
    if ((c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) && !(c->flags & CLIENT_PUSHING)) {
        return;
    }
    client_queue_at_first_byte(c);
    if (c->reply == NULL) {
        size_t room = CLIENT_BUF_SIZE - c->bufpos;
        size_t n = len < room ? len : room;
        memcpy(c->buf + c->bufpos, s, n);
        c->bufpos += n;
        s += n;
        len -= n;
        if (len == 0) {
            return;
        }
    }
    struct reply_block *t = c->reply_tail;
    if (t && t->size > t->used) {
        size_t n = t->size - t->used;
        if (n > len) {
            n = len;
        }
        memcpy(t->data + t->used, s, n);
        t->used += n;
        c->reply_bytes += n;
        s += n;
        len -= n;
    }
    if (len > 0) {
        size_t size = len > REPLY_BLOCK_MIN ? len : REPLY_BLOCK_MIN;
        struct reply_block *b = mem_alloc(sizeof(*b) + size);
        c->reply_alloc += mem_usable(b);
        b->next = NULL;
        b->size = mem_usable(b) - sizeof(*b);
        b->used = len;
        memcpy(b->data, s, len);
        if (c->reply_tail) {
            c->reply_tail->next = b;
        } else {
            c->reply = b;
        }
        c->reply_tail = b;
        c->reply_bytes += len;
        CLIENTMEM_TOUCH(c);
    }
    check_output_limits(c);
}

char *
reply_reserve(struct client *c, size_t want, size_t *room)
{
    if ((c->flags & CLIENT_CLOSE_ASAP)
        || ((c->flags & CLIENT_MASTER) && !(c->flags & CLIENT_FORCE_REPLY))) {
        return NULL;
    }
    if ((c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) && !(c->flags & CLIENT_PUSHING)) {
        return NULL;
    }
    client_queue_at_first_byte(c);
    if (c->reply == NULL && CLIENT_BUF_SIZE - c->bufpos >= want) {
        *room = CLIENT_BUF_SIZE - c->bufpos;
        return c->buf + c->bufpos;
    }
    /* The rest of buf (if any) stays unused: the output is buf up to
     * bufpos, then the blocks. */
    struct reply_block *t = c->reply_tail;
    if (t != NULL && t->size - t->used >= want) {
        *room = t->size - t->used;
        return t->data + t->used;
    }
    size_t size = want > REPLY_BLOCK_MIN ? want : REPLY_BLOCK_MIN;
    struct reply_block *b = mem_alloc(sizeof(*b) + size);
    c->reply_alloc += mem_usable(b);
    b->next = NULL;
    b->size = mem_usable(b) - sizeof(*b);
    b->used = 0;
    if (t != NULL) {
        t->next = b;
    } else {
        c->reply = b;
    }
    c->reply_tail = b;
    CLIENTMEM_TOUCH(c);
    *room = b->size;
    return b->data;
}

void
reply_commit(struct client *c, size_t n)
{
    if (c->reply == NULL) {
        c->bufpos += n;
        return;
    }
    struct reply_block *t = c->reply_tail;
    int fresh = t->used == 0;
    t->used += n;
    c->reply_bytes += n;
    if (fresh) {
        check_output_limits(c);
    }
}

/* The output still to send as at most max segments (buf first, then the
 * blocks), their byte total in *total.  Returns the segment count. */
static int
output_iov(const struct client *c, struct iovec *iov, int max, size_t *total)
{
    int n = 0;
    size_t skip = c->sentlen;
    *total = 0;
    if (c->bufpos > 0) {
        iov[n].iov_base = (char *)c->buf + c->sentlen;
        iov[n].iov_len = c->bufpos - c->sentlen;
        *total += iov[n].iov_len;
        n++;
        skip = 0;
    }
    for (struct reply_block *b = c->reply; b && n < max; b = b->next) {
        iov[n].iov_base = b->data + skip;
        iov[n].iov_len = b->used - skip;
        *total += iov[n].iov_len;
        skip = 0;
        n++;
    }
    return n;
}

/* w bytes of the output were written: drop them. */
static void
output_sent(struct client *c, size_t w)
{
    c->srv->stats.net_output_bytes += w;
    c->srv->stats.total_writes++;
    c->tot_net_out += w;
    size_t left = w;
    if (c->bufpos > 0) {
        size_t avail = c->bufpos - c->sentlen;
        if (left >= avail) {
            left -= avail;
            c->bufpos = 0;
            c->sentlen = 0;
        } else {
            c->sentlen += left;
            left = 0;
        }
    }
    while (left > 0 && c->reply) {
        struct reply_block *b = c->reply;
        size_t avail = b->used - c->sentlen;
        if (left >= avail) {
            left -= avail;
            c->sentlen = 0;
            c->reply_bytes -= b->used;
            c->reply = b->next;
            if (c->reply == NULL) {
                c->reply_tail = NULL;
            }
            c->reply_alloc -= mem_usable(b);
            mem_free(b);
        } else {
            c->sentlen += left;
            left = 0;
        }
    }
}

/* After writing: watch the socket for room while output is left, stop
 * watching once it is all out, and close a client that asked for it. */
static int
output_done(struct client *c)
{
    int pending = c->bufpos > 0 || c->reply != NULL;
    CLIENTMEM_TOUCH(c);
    if (pending && !(c->flags & CLIENT_WRITE_ARMED)) {
        event_add(c->ev_write, NULL);
        c->flags |= CLIENT_WRITE_ARMED;
    } else if (!pending && (c->flags & CLIENT_WRITE_ARMED) && !c->read_wants_write) {
        event_del(c->ev_write);
        c->flags &= ~CLIENT_WRITE_ARMED;
    }
    if (!pending && (c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
        client_close_async(c);
        return -1;
    }
    return 0;
}

int
client_flush(struct client *c)
{
    struct iovec iov[16];
    /* While a child writes the snapshot to this replica's socket, the live
     * stream waits in the output buffer: it must follow the snapshot. */
    if (c->repl_state == REPLICA_WAIT_SNAPSHOT) {
        return 0;
    }
    /* Whatever path writes replies, the writes they acknowledge reach the
     * append-only file first. */
    persist_before_reply(c->srv);
    for (;;) {
        size_t total;
        int n = output_iov(c, iov, 16, &total);
        if (total == 0) {
            break;
        }
        /* One segment (the common case): write() costs less in the kernel
         * than writev(), which must import an iovec array. */
        ssize_t w = n == 1 ? conn_write(c->conn, iov[0].iov_base, iov[0].iov_len)
                           : conn_writev(c->conn, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* A TLS write that waits for the peer's bytes (a handshake
                 * still running) resumes from the next read: after_input
                 * queues the output again. */
                if (conn_wants(c->conn) == CONN_WANT_READ) {
                    return 0;
                }
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            log_debug("Error writing to client: %s", strerror(errno));
            client_close_async(c);
            return -1;
        }
        output_sent(c, (size_t)w);
        if ((size_t)w < total) {
            break;
        }
    }
    return output_done(c);
}

/* ---- batched writes (io_uring) -------------------------------------------
 * client_flush_pending sends the first segments of every plain client's
 * output in one system call; a client with more left than one send took
 * (a reply longer than the segments, or a socket short of room) goes on
 * with client_flush, which writes on or arms the write event. */

#define BATCH_IOV 16
static struct iovec batch_iov[CLIENT_IO_BATCH][BATCH_IOV];
static size_t batch_total[CLIENT_IO_BATCH];

static int
write_batchable(const struct client *c)
{
    return c->srv->iobatch != NULL && c->conn != NULL && !conn_is_tls(c->conn)
           && c->repl_state != REPLICA_WAIT_SNAPSHOT;
}

static void
batch_write_done(void *tag, int res, void *arg)
{
    struct client *c = tag;
    size_t *slot = arg;
    size_t total = batch_total[(*slot)++];
    if (c->flags & CLIENT_CLOSE_ASAP) {
        return;
    }
    if (res == -EAGAIN || res == -EWOULDBLOCK) {
        output_done(c);
        return;
    }
    if (res < 0) {
        log_debug("Error writing to client: %s", strerror(-res));
        client_close_async(c);
        return;
    }
    output_sent(c, (size_t)res);
    if ((size_t)res == total && (c->bufpos > 0 || c->reply != NULL)) {
        /* More output than one send carried: on with plain writes. */
        client_flush(c);
        return;
    }
    output_done(c);
}

static void
flush_pending_batched(struct server *srv)
{
    persist_before_reply(srv);
    while (srv->pending_writes && srv->iobatch != NULL) {
        unsigned k = 0;
        while (srv->pending_writes && k < CLIENT_IO_BATCH
               && iobatch_room(srv->iobatch) > 0) {
            struct client *c = srv->pending_writes;
            pending_unlink(c);
            if (!write_batchable(c)) {
                client_flush(c);
                continue;
            }
            int n = output_iov(c, batch_iov[k], BATCH_IOV, &batch_total[k]);
            if (batch_total[k] == 0) {
                output_done(c);
                continue;
            }
            iobatch_send(srv->iobatch, c->fd, batch_iov[k], n, c);
            k++;
        }
        size_t slot = 0;
        if (iobatch_run(srv->iobatch, batch_write_done, &slot) != 0) {
            log_warn("Batched socket I/O failed (%s): back to one system call "
                     "per read and write", strerror(errno));
            iobatch_destroy(&srv->iobatch);
        }
    }
}

void
client_flush_pending(struct server *srv)
{
    tracking_before_sleep(srv);
    if (srv->iobatch != NULL) {
        flush_pending_batched(srv);
    }
    while (srv->pending_writes) {
        struct client *c = srv->pending_writes;
        pending_unlink(c);
        client_flush(c);
    }
    client_free_pending(srv);
}

static void client_read(struct client *c);

static void
client_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    (void)fd;
    (void)what;
    if (c->relay != NULL) {
        repl_relay_on_writable(c);
        return;
    }
    if (c->read_wants_write) {
        c->read_wants_write = 0;
        client_read(c);
        if (c->flags & CLIENT_CLOSE_ASAP) {
            return;
        }
    }
    client_flush(c);
}

/* ---- input ------------------------------------------------------------- */

static const char *frame_bulk(const char *b, size_t n, size_t *pos, size_t *len);

/* A pipeline's next requests, whose keys process_input asked the cache for
 * ahead of running them (see pipeline_prefetch). */
#define PREFETCH_WINDOW 16
struct prefetch_window {
    size_t end;                         /* qbuf offset the window reaches */
    unsigned n, next;                   /* requests in it; the next to run */
    size_t off[PREFETCH_WINDOW];        /* where each request starts */
    const char *key[PREFETCH_WINDOW];   /* its first argument (NULL: none) */
    size_t klen[PREFETCH_WINDOW];
    uint64_t hash[PREFETCH_WINDOW];
};

/* The request at the start of b[0..n) ("*<argc>\r\n" and argc bulk
 * strings): *key and *klen, its first argument after the command name (a
 * guess at its key; NULL: none).  With whole, returns the request's
 * length, or 0 when it is not all there (or is inline); without, the
 * offset just past the key, or 0 (only the key need have arrived). */
static size_t
frame_scan(const char *b, size_t n, int whole, const char **key, size_t *klen)
{
    size_t i = 1, argc = 0, len;
    *key = NULL;
    if (n < 4 || b[0] != '*') {
        return 0;
    }
    for (; i < n && b[i] >= '0' && b[i] <= '9' && argc < (1u << 20); i++) {
        argc = argc * 10 + (size_t)(b[i] - '0');
    }
    if (i + 2 > n || b[i] != '\r' || argc == 0) {
        return 0;
    }
    i += 2;
    for (size_t a = 0; a < argc; a++) {
        const char *p = frame_bulk(b, n, &i, &len);
        if (p == NULL) {
            return 0;
        }
        if (a == 1) {
            *key = p;
            *klen = len;
            if (!whole) {
                return i;
            }
        }
    }
    return whole ? i : 0;
}

/* Pipelined requests: ask for the keyspace buckets, then the entries, that
 * the next PREFETCH_WINDOW requests in the buffer (from offset from) will
 * likely look up, as batch_prefetch does across clients, so that their
 * cache misses overlap.  With 16 requests in one read, each request's two
 * misses stalled it in turn: a third of the node's CPU at SET -P 16 over
 * 100,000 keys went to dict_find_ref.  The hashes are kept for the
 * lookups (keyspace hint_key).  Only a hint: nothing is changed. */
static void
pipeline_prefetch(struct client *c, struct prefetch_window *w)
{
    const char *b = c->qbuf;
    size_t pos = c->qpos, n = c->qlen;
    w->n = w->next = 0;
    int one_key = 1;
    while (w->n < PREFETCH_WINDOW) {
        unsigned i = w->n;
        size_t len = frame_scan(b + pos, n - pos, 1, &w->key[i], &w->klen[i]);
        if (len == 0) {
            break;
        }
        w->n++;
        w->off[i] = pos;
        if (one_key && w->key[i] != NULL && i > 0
            && (w->key[0] == NULL || w->klen[i] != w->klen[0]
                || memcmp(w->key[i], w->key[0], w->klen[0]) != 0)) {
            one_key = 0;
        }
        if (w->key[i] != NULL) {
            w->hash[i] = dict_hash(w->key[i], w->klen[i]);
            dict_prefetch_bucket(&c->db->dict, w->hash[i]);
        }
        pos += len;
    }
    w->end = pos > c->qpos ? pos : c->qpos + 1;
    /* A pipeline on one key (LPUSH after LPUSH) finds it in the cache after
     * the first lookup, and the framing would be all the prefetch costs
     * (about 300 instructions a request): the next 32 windows' worth of
     * its requests run without it, then it looks again. */
    if (one_key && w->n >= PREFETCH_WINDOW / 2) {
        c->prefetch_skip = 32 * PREFETCH_WINDOW;
    }
    for (unsigned i = 0; i < w->n; i++) {
        if (w->key[i] != NULL) {
            dict_prefetch_entry(&c->db->dict, w->hash[i]);
        }
    }
}

static void
process_input(struct client *c)
{
    struct server *srv = c->srv;
    /* The first request was prefetched with the read batch (if any): a
     * window starts at the second. */
    size_t first = c->qpos;
    struct prefetch_window w;   /* only end, n and next set: no clearing */
    w.end = c->qpos + 1;
    w.n = w.next = 0;
    while (!(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY | CLIENT_BLOCKED))) {
        const char *frame = c->qbuf + c->qpos;
        size_t avail = c->qlen - c->qpos;
        int hinted = -1;
        if (c->qpos > first && c->db != NULL && !(c->flags & CLIENT_MASTER)) {
            if (c->prefetch_skip > 0) {
                c->prefetch_skip--;
            } else if (c->qpos >= w.end && c->qlen - c->qpos >= 4) {
                pipeline_prefetch(c, &w);
            }
            if (w.next < w.n && w.off[w.next] == c->qpos) {
                hinted = (int)w.next++;
            }
        }
        if (c->flags & CLIENT_MASTER) {
            /* Snapshot framing (the EOF marks) lives between frames. */
            long k = repl_master_input(c, frame, avail);
            if (k == -1) {
                break;
            }
            if (k == -2) {
                client_close_async(c);
                break;
            }
            if (k > 0) {
                c->qpos += (size_t)k;
                continue;
            }
        }
        int rc = resp_parser_next(&c->parser, frame, avail);
        if (rc == STATUS_AGAIN) {
            break;
        }
        if (rc == STATUS_ERR) {
            log_debug("Protocol error (%s) from client: id=%llu addr=%s",
                      c->parser.errstr, (unsigned long long)c->id, c->addr);
            if (c->flags & CLIENT_MASTER) {
                log_warn("Protocol error in the stream from our master (%s): "
                         "dropping the link", c->parser.errstr);
                client_close_async(c);
                break;
            }
            reply_error(c, c->parser.errstr);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            c->qpos = c->qlen;
            break;
        }
        if (c->parser.argc > 0) {
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            if (hinted >= 0 && w.key[hinted] != NULL) {
                /* Only while this request runs: the bytes stay put. */
                srv->ks.hint_key = w.key[hinted];
                srv->ks.hint_len = w.klen[hinted];
                srv->ks.hint_hash = w.hash[hinted];
                dispatch_command(c);
                srv->ks.hint_key = NULL;
            } else {
                dispatch_command(c);
            }
            c->argc = 0;
            c->argv = NULL;
            if (!(c->flags & (CLIENT_PAUSED | CLIENT_KEYWAIT))) {
                /* CLIENT REPLY SKIP silences the command after it. */
                c->flags &= ~CLIENT_REPLY_SKIP;
                if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
                    c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
                }
            }
        }
        if (c->flags & (CLIENT_PAUSED | CLIENT_KEYWAIT)) {
            /* Held by CLIENT PAUSE or blocked on keys: the frame stays
             * unconsumed and is parsed and dispatched again, checks and
             * all, when the pause ends or a key is ready. */
            break;
        }
        if ((c->flags & CLIENT_MASTER)
            && !multi_master_applied(c, frame, c->parser.consumed)) {
            repl_master_applied(c, frame, c->parser.consumed);
        }
        c->qpos += c->parser.consumed;
        if (c->on_done != NULL && c->parser.argc > 0) {
            c->on_done(c, c->done_arg);
        }
        if (srv->shutdown_asap) {
            break;
        }
    }
    /* Compact: keep the unconsumed tail at the start of the buffer. */
    if (c->qpos > 0) {
        size_t rest = c->qlen - c->qpos;
        if (rest > 0) {
            memmove(c->qbuf, c->qbuf + c->qpos, rest);
        }
        c->qlen = rest;
        c->qpos = 0;
    }
}

static void
after_input(struct client *c)
{
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->ev_read != NULL) {
        event_del(c->ev_read);
    }
    /* Replies leave when the loop is about to wait again (see
     * client_flush_pending); a socket the write event already watches
     * needs nothing more. */
    if (!(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_WRITE_ARMED))
        && (c->bufpos > 0 || c->reply != NULL
            || (c->flags & CLIENT_CLOSE_AFTER_REPLY))) {
        client_queue_write(c);
    }
}

/* Run every complete command in the query buffer.  Pipelined commands
 * share clock readings (see dispatch_call), only within this input:
 * anything between two inputs reads afresh.  now_us, when not 0, is a
 * monotonic reading taken just before (the read that brought the input):
 * the first command starts at it instead of reading the clock again. */
static void
process_input_at(struct client *c, long long now_us)
{
    c->srv->call_clock_us = now_us;
    c->flags |= CLIENT_IN_CALLBACK;
    process_input(c);
    c->flags &= ~CLIENT_IN_CALLBACK;
    c->srv->call_clock_us = 0;
    after_input(c);
}

void
client_process_input(struct client *c)
{
    process_input_at(c, 0);
    CLIENTMEM_TOUCH(c);
}

/* Make room in the query buffer for the next read; returns how many bytes
 * it may take. */
static size_t
read_prepare(struct client *c)
{
    size_t want = READ_CHUNK;
    /* maxmemory-clients on: size the buffer to a big argument as Redis
     * does, since eviction counts it. */
    int tight = c->srv->cmem.on;

    /* Inside a large argument, read up to what the frame still needs (in
     * bounded steps), so the buffer grows with the bytes that arrive, never
     * with a declared length. */
    if (c->parser.need > c->qlen) {
        size_t missing = c->parser.need - c->qlen;
        want = missing < BIG_ARG_READ ? missing : BIG_ARG_READ;
        /* Room for what is missing is enough inside a big argument when
         * client eviction counts the buffer (one that has all but its last
         * bytes does not grow it again); otherwise a read gets at least a
         * chunk of room, which takes the next frame's start in the same
         * read (one read per big argument of a pipeline, not two). */
        if (want < READ_CHUNK && (!tight || c->parser.bulk_len < BIG_ARG_MIN)) {
            want = READ_CHUNK;
        }
    }
    if (c->qcap - c->qlen < want) {
        size_t cap = c->qcap ? c->qcap : READ_CHUNK;
        while (cap - c->qlen < want) {
            cap *= 2;
        }
        /* With eviction on, an argument that is at least half of its frame
         * (a big value on its way) gets room for the frame up to its end,
         * not up to twice that: the client takes what it sends, as Redis
         * sizes its buffer for such an argument.  Growth stays
         * geometric, the frame being twice what came before the argument,
         * and never reaches past what doubling would have allocated. */
        size_t need = c->parser.need;
        if (tight && c->parser.bulk_len >= 0 && (size_t)c->parser.bulk_len >= need / 2
            && need < cap && need >= c->qlen + want) {
            cap = need;
        }
        c->qbuf = mem_realloc(c->qbuf, cap);
        c->qcap = cap;
        /* A big argument on its way counts before the rest of it is read
         * (Redis sizes its buffer for the whole argument at once). */
        CLIENTMEM_CHECK(c);
    }
    return c->qcap - c->qlen;
}

/* What a read into qbuf + qlen returned (n < 0: errno says why): take the
 * bytes and run every complete command in them.  The client may be marked
 * closing on return, never freed. */
static void
read_result(struct client *c, ssize_t n)
{
    struct server *srv = c->srv;
    srv->stats.total_reads++;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (conn_wants(c->conn) == CONN_WANT_WRITE && !c->read_wants_write) {
                /* TLS: the session must send before it can read on. */
                c->read_wants_write = 1;
                if (!(c->flags & CLIENT_WRITE_ARMED)) {
                    event_add(c->ev_write, NULL);
                    c->flags |= CLIENT_WRITE_ARMED;
                }
            }
            return;
        }
        log_debug("Reading from client: %s", strerror(errno));
        client_close_async(c);
        return;
    }
    if (n == 0) {
        log_debug("Client closed connection id=%llu addr=%s",
                  (unsigned long long)c->id, c->addr);
        client_close_async(c);
        return;
    }
    c->qlen += (size_t)n;
    if (c->qlen > c->qbuf_peak) {
        c->qbuf_peak = c->qlen;
    }
    srv->stats.net_input_bytes += n;
    /* One clock reading serves the client's idle time and the first
     * command of the input (at one request per read, a read per turn, it
     * was one of three readings per request). */
    long long now_us = util_monotonic_us();
    c->last_interaction_ms = srv->ks.now_ms = util_clock_ms(&srv->ks.clock, now_us);
    if (srv->cfg.client_query_buffer_limit > 0
        && c->qlen > srv->cfg.client_query_buffer_limit) {
        log_warn("Closing client that reached max query buffer length: id=%llu addr=%s (qbuf initial bytes: %zu)",
                 (unsigned long long)c->id, c->addr, c->qlen);
        srv->stats.client_qbuf_limit_disconnections++;
        client_close_async(c);
        return;
    }
    process_input_at(c, now_us);
    /* Shrink an idle, oversized query buffer, and the argument vector of
     * a command with many arguments (100,000 took 3 MB, kept for the
     * connection's life: Redis's suite saw used_memory stay high after
     * UNLINK of a set made by one SADD). */
    if (c->qlen == 0) {
        if (c->qcap > 4 * READ_CHUNK) {
            mem_free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
        resp_parser_trim(&c->parser, PARSER_KEEP_ARGS);
    }
    /* As Redis before each command: over the limit, clients are evicted
     * before the next client's command runs. */
    CLIENTMEM_CHECK(c);
    /* Bytes TLS already decrypted do not make the socket readable again:
     * come back for them on the next loop turn, or a pipeline stalls. */
    if (!(c->flags & CLIENT_CLOSE_ASAP) && conn_pending(c->conn) > 0
        && event_pending(c->ev_read, EV_READ, NULL)) {
        event_active(c->ev_read, EV_READ, 0);
    }
}

/* One read from the connection, then every complete command in it.  The
 * client may be marked closing on return, never freed. */
static void
client_read(struct client *c)
{
    size_t room = read_prepare(c);
    ssize_t n = conn_read(c->conn, c->qbuf + c->qlen, room);
    read_result(c, n);
}

/* ---- batched reads (io_uring) ---------------------------------------------
 * A readable plain socket is only queued by its event; once the loop has
 * run every callback, client_read_pending reads all the queued sockets in
 * one system call (srv->iobatch; without it, one read each) and then
 * processes each client's input in turn, as the per-event reads would
 * have. */

/* Without a ring (io-uring no, valgrind, a kernel that refuses it) the
 * batch still pays: each socket is read with its own call, but the
 * commands run only once every read is in, after batch_prefetch. */
static int
read_batchable(const struct client *c)
{
    return c->conn != NULL && !conn_is_tls(c->conn);
}

static void
pending_read_unlink(struct client *c)
{
    struct client **pp = &c->srv->pending_reads;
    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->pr_next;
    }
    if (*pp == c) {
        *pp = c->pr_next;
    }
    c->pr_next = NULL;
    c->flags &= ~CLIENT_PENDING_READ;
}

/* A read batch: where each read landed in its client's qbuf, and what it
 * returned.  iobatch_run only records the results; they are handed out
 * (the input parsed and run) afterwards, in queue order.  A command run
 * from one of them may not return for a while (a busy script serves the
 * other clients meanwhile): the client_read_pending it calls first hands
 * out the rest of every enclosing batch, whose bytes have already been
 * read, so those clients get their -BUSY too.  Batches nest, each on its
 * caller's stack, linked from batch_top. */
struct read_batch {
    size_t n;     /* results recorded */
    size_t next;  /* the next one to hand out */
    struct client *c[CLIENT_IO_BATCH];
    int res[CLIENT_IO_BATCH];
    size_t off[CLIENT_IO_BATCH];
    /* batch_prefetch's guess at each client's first key (NULL: none), and
     * its hash, which the lookups take over (keyspace hint_key) */
    const char *key[CLIENT_IO_BATCH];   /* borrowed from the client's qbuf */
    size_t klen[CLIENT_IO_BATCH];
    uint64_t hash[CLIENT_IO_BATCH];
    struct read_batch *outer;
};
static struct read_batch *batch_top;

static void
batch_read_done(void *tag, int res, void *arg)
{
    struct read_batch *rb = arg;
    rb->c[rb->n] = tag;
    rb->res[rb->n] = res;
    rb->key[rb->n] = NULL;
    rb->n++;
}

static void
batch_read_apply(struct client *c, int res, size_t off)
{
    c->flags &= ~CLIENT_PENDING_READ;
    /* Another client's command (CLIENT KILL, a full output buffer...) may
     * have marked this one closing after its bytes arrived. */
    if (c->flags & CLIENT_CLOSE_ASAP) {
        return;
    }
    if (res < 0) {
        errno = -res;
        read_result(c, -1);
        return;
    }
    /* An earlier client's command may have run this one's buffered input
     * meanwhile (a BLPOP served by an LPUSH, the end of a CLIENT PAUSE),
     * which compacts the buffer: the new bytes then sit past its end. */
    if (off != c->qlen && res > 0) {
        memmove(c->qbuf + c->qlen, c->qbuf + off, (size_t)res);
    }
    read_result(c, res);
}

/* Where the bulk string at b[*pos] ("$<len>\r\n<bytes>\r\n") holds its
 * bytes, advancing *pos past it; NULL when it is not whole in b[0..n). */
static const char *
frame_bulk(const char *b, size_t n, size_t *pos, size_t *len)
{
    size_t i = *pos, l = 0;
    if (i >= n || b[i] != '$') {
        return NULL;
    }
    for (i++; i < n && b[i] >= '0' && b[i] <= '9' && l < (1u << 20); i++) {
        l = l * 10 + (size_t)(b[i] - '0');
    }
    if (i + 2 > n || b[i] != '\r' || n - i - 2 < l + 2) {
        return NULL;
    }
    *pos = i + 2 + l + 2;
    *len = l;
    return b + i + 2;
}

/* Before a batch's commands run, one after the other: ask for the
 * keyspace buckets, then the entries, that each client's first command is
 * likely to look up, so that their cache misses overlap instead of
 * stalling each command in turn (with one request per read, two misses
 * per command were half the node's user time).  Only a hint: the key is a
 * guess (the command's first argument), and nothing is changed. */
static void
batch_prefetch(struct read_batch *rb)
{
    if (rb->n - rb->next < 2) {
        return;
    }
    for (size_t i = rb->next; i < rb->n; i++) {
        struct client *c = rb->c[i];
        const char *k = NULL;
        if (rb->res[i] > 0 && rb->off[i] == 0 && c->qlen == 0 && c->db != NULL) {
            frame_scan(c->qbuf, (size_t)rb->res[i], 0, &k, &rb->klen[i]);
        }
        rb->key[i] = k;
        if (k != NULL) {
            rb->hash[i] = dict_hash(k, rb->klen[i]);
            dict_prefetch_bucket(&c->db->dict, rb->hash[i]);
        }
    }
    for (size_t i = rb->next; i < rb->n; i++) {
        if (rb->key[i] != NULL) {
            dict_prefetch_entry(&rb->c[i]->db->dict, rb->hash[i]);
        }
    }
}

static void
batch_hand_out(struct read_batch *rb)
{
    while (rb->next < rb->n) {
        size_t i = rb->next++;
        struct keyspace *ks = &rb->c[i]->srv->ks;
        /* The client's first command parses its key in place, at the very
         * bytes batch_prefetch hashed: its lookups skip hashing them again
         * (about 50 instructions a key, once or twice a request). */
        ks->hint_key = rb->key[i];
        ks->hint_len = rb->klen[i];
        ks->hint_hash = rb->hash[i];
        batch_read_apply(rb->c[i], rb->res[i], rb->off[i]);
        ks->hint_key = NULL;
    }
}

void
client_read_pending(struct server *srv)
{
    /* Events queue at the head: read in the order the loop reported them. */
    struct client *rev = NULL;
    struct read_batch rb;
    while (srv->pending_reads != NULL) {
        struct client *c = srv->pending_reads;
        srv->pending_reads = c->pr_next;
        c->pr_next = rev;
        rev = c;
    }
    srv->pending_reads = rev;
    /* Called from a busy script: first the reads an enclosing batch made. */
    for (struct read_batch *o = batch_top; o != NULL; o = o->outer) {
        batch_hand_out(o);
    }
    while (srv->pending_reads != NULL) {
        /* Clients stay flagged (and unfreed: nothing frees a client until
         * client_free_pending below) while their read is in the batch. */
        unsigned k = 0;
        rb.n = rb.next = 0;
        while (srv->pending_reads != NULL && k < CLIENT_IO_BATCH
               && (srv->iobatch == NULL || iobatch_room(srv->iobatch) > 0)) {
            struct client *c = srv->pending_reads;
            srv->pending_reads = c->pr_next;
            c->pr_next = NULL;
            if (c->flags & CLIENT_CLOSE_ASAP) {
                c->flags &= ~CLIENT_PENDING_READ;
                continue;
            }
            size_t room = read_prepare(c);
            rb.off[k++] = c->qlen;
            if (srv->iobatch == NULL) {
                ssize_t r = conn_read(c->conn, c->qbuf + c->qlen,
                                      room > INT_MAX ? INT_MAX : room);
                batch_read_done(c, r < 0 ? -errno : (int)r, &rb);
                continue;
            }
            iobatch_recv(srv->iobatch, c->fd, c->qbuf + c->qlen, room, c);
        }
        rb.outer = batch_top;
        batch_top = &rb;
        reads_running++;
        int rc = srv->iobatch != NULL ? iobatch_run(srv->iobatch, batch_read_done, &rb) : 0;
        batch_prefetch(&rb);
        batch_hand_out(&rb);
        reads_running--;
        batch_top = rb.outer;
        if (rc != 0) {
            log_warn("Batched socket I/O failed (%s): back to one system call "
                     "per read and write", strerror(errno));
            iobatch_destroy(&srv->iobatch);
            /* Whoever is still queued is read the plain way. */
            while (srv->pending_reads != NULL) {
                struct client *c = srv->pending_reads;
                pending_read_unlink(c);
                if (!(c->flags & CLIENT_CLOSE_ASAP)) {
                    client_read(c);
                }
            }
        }
    }
    client_free_pending(srv);
}

static void
client_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    struct server *srv = c->srv;
    (void)fd;
    (void)what;
    if (read_batchable(c)) {
        if (!(c->flags & CLIENT_PENDING_READ)) {
            c->flags |= CLIENT_PENDING_READ;
            c->pr_next = srv->pending_reads;
            srv->pending_reads = c;
        }
        return;
    }
    client_read(c);
    /* Free whatever this command marked for closing, this client included:
     * nothing of it is on the stack any more. */
    client_free_pending(srv);
}

int
client_select(struct client *c, long long id)
{
    if (id < 0 || id >= c->srv->ks.ndb) {
        return -1;
    }
    c->db = &c->srv->ks.dbs[id];
    return 0;
}

int
client_protected_allowed(const struct client *c, int mode)
{
    const char *colon = strrchr(c->addr, ':');
    size_t iplen = colon ? (size_t)(colon - c->addr) : 0;

    if (mode == PROTECTED_YES) {
        return 1;
    }
    if (mode != PROTECTED_LOCAL) {
        return 0;
    }
    if (c->flags & CLIENT_UNIX_SOCKET) {
        return 1; /* local, as Redis counts it */
    }
    return (iplen == 9 && !memcmp(c->addr, "127.0.0.1", 9))
           || (iplen == 3 && !memcmp(c->addr, "::1", 3));
}

void
client_trim_idle(struct client *c, long long now_ms)
{
    /* As Redis 7.0's clientsCronResizeQueryBuffer: idle for more than two
     * seconds (CLIENT LIST then shows qbuf=0 qbuf-free=0).  A blocked or
     * paused command stays in the buffer, so qlen is not 0 then. */
    if (c->qlen == 0 && now_ms - c->last_interaction_ms > IDLE_TRIM_S * 1000) {
        mem_free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
        c->qpos = 0;
        resp_parser_trim(&c->parser, 0);
    }
}

void
client_redact_arg(struct client *c, size_t i)
{
    if (i < 32) {
        c->redact |= (uint32_t)1 << i;
    }
}

int
client_arg_redacted(const struct client *c, size_t i)
{
    return i < 32 && (c->redact & ((uint32_t)1 << i)) != 0;
}

size_t
client_describe(const struct client *c, char *buf, size_t len)
{
    long long now = util_mstime();
    char flags[20];
    int fi = 0;
    if (c->flags & CLIENT_CLOSE_ASAP) {
        flags[fi++] = 'A';
    }
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
        flags[fi++] = 'c';
    }
    if (c->flags & CLIENT_NO_EVICT) {
        flags[fi++] = 'e';
    }
    if (c->flags & CLIENT_MASTER) {
        flags[fi++] = 'M';
    }
    if (c->flags & CLIENT_REPLICA) {
        flags[fi++] = 'S';
    }
    if (c->flags & CLIENT_BLOCKED) {
        flags[fi++] = 'b';
    }
    if (c->flags & CLIENT_PUBSUB) {
        flags[fi++] = 'P';
    }
    if (c->flags & CLIENT_MULTI) {
        flags[fi++] = 'x';
    }
    if (c->flags & CLIENT_MONITOR) {
        flags[fi++] = 'O';
    }
    if (c->flags & CLIENT_TRACKING) {
        flags[fi++] = 't';
    }
    if (c->flags & CLIENT_NO_TOUCH) {
        flags[fi++] = 'T';
    }
    if (c->flags & CLIENT_UNIX_SOCKET) {
        flags[fi++] = 'U';
    }
    if (fi == 0) {
        flags[fi++] = 'N';
    }
    flags[fi] = '\0';
    size_t obl = c->bufpos, oll = 0, nsub, npsub, nssub;
    size_t qbuf = c->qlen - c->qpos;
    const struct resp_parser *p = &c->parser;
    /* Redis moves a big argument (32 KiB or more) still arriving to the
     * start of its query buffer, and shows what it holds of it: so do we,
     * though our bytes stay where they are. */
    if (p->kind == '*' && !p->done && p->bulk_len >= BIG_ARG_MIN && p->pos <= qbuf
        && qbuf - p->pos <= (size_t)p->bulk_len + 2) {
        qbuf -= p->pos;
    }
    pubsub_client_counts(c, &nsub, &npsub, &nssub);
    for (struct reply_block *b = c->reply; b; b = b->next) {
        oll++;
    }
    int n = snprintf(buf, len,
                     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
                     "flags=%s db=%d sub=%zu psub=%zu ssub=%zu multi=%lld qbuf=%zu "
                     "qbuf-free=%zu argv-mem=0 multi-mem=%zu rbs=%zu rbp=%zu obl=%zu "
                     "oll=%zu omem=%zu tot-mem=%zu events=r%s cmd=%s user=%s "
                     "redir=%lld resp=%d lib-name=%s lib-ver=%s",
                     (unsigned long long)c->id, c->addr, c->laddr, c->fd,
                     c->name ? c->name : "", (now - c->ctime_ms) / 1000,
                     (now - c->last_interaction_ms) / 1000, flags,
                     c->db ? c->db->id : 0, nsub, npsub, nssub,
                     multi_queued_count(c), qbuf,
                     c->qcap - c->qlen, multi_client_mem(c), c->qcap, c->qbuf_peak, obl,
                     oll, c->reply_alloc, clientmem_usage(c),
                     (c->flags & CLIENT_WRITE_ARMED) ? "w" : "",
                     c->lastcmd ? c->lastcmd->fullname : "NULL",
                     c->user ? acl_user_name(c->user) : "(superuser)",
                     tracking_redirect_of(c), c->resp,
                     c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
    return n > 0 ? ((size_t)n < len ? (size_t)n : len - 1) : 0;
}
