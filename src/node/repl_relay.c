/* The parent's side of a full sync to a TLS replica (see repl_relay.h):
 * pipe -> a 64 KiB buffer -> the replica's TLS connection, reading the pipe
 * only when the buffer is empty so a slow replica slows the child down. */
#include "node/repl_relay.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "node/client.h"
#include "node/repl.h"
#include "node/server.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <unistd.h>

#define RELAY_BUF (64 * 1024)

struct sync_relay {
    int pipe_fd;              /* owned; -1 after EOF */
    struct event *pipe_ev;    /* owned */
    int pipe_armed;
    int sock_armed;           /* the client's write event is ours */
    int eof;                  /* the child closed its end */
    int failed;               /* reading the pipe failed */
    int child_known, child_ok;
    size_t off, len;
    char buf[RELAY_BUF];
};

static void relay_pump(struct client *c);

static void
relay_on_pipe(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    relay_pump(arg);
}

int
repl_relay_start(struct client *c, const char *head, size_t headlen, int pipe_fd)
{
    struct sync_relay *r;
    if (headlen > RELAY_BUF) {
        close(pipe_fd);
        return -1;
    }
    r = mem_calloc(sizeof(*r));
    r->pipe_fd = pipe_fd;
    r->pipe_ev = event_new(c->srv->base, pipe_fd, EV_READ | EV_PERSIST, relay_on_pipe, c);
    memcpy(r->buf, head, headlen);
    r->len = headlen;
    evutil_make_socket_nonblocking(pipe_fd);
    c->relay = r;
    relay_pump(c);
    return 0;
}

void
repl_relay_free(struct client *c)
{
    struct sync_relay *r = c->relay;
    if (r == NULL) {
        return;
    }
    if (r->sock_armed) {
        event_del(c->ev_write);
    }
    event_free(r->pipe_ev);
    if (r->pipe_fd >= 0) {
        close(r->pipe_fd);
    }
    mem_free(r);
    c->relay = NULL;
}

/* Every byte is out (or the relay failed): hand the replica back to
 * repl.c once the child's fate is known too. */
static void
relay_maybe_done(struct client *c)
{
    struct sync_relay *r = c->relay;
    if (!r->child_known) {
        return;
    }
    int ok = r->child_ok && !r->failed;
    repl_relay_free(c);
    repl_master_sync_done(c, ok);
}

static void
relay_pump(struct client *c)
{
    struct sync_relay *r = c->relay;
    for (;;) {
        if (r->off < r->len) {
            ssize_t w = conn_write(c->conn, r->buf + r->off, r->len - r->off);
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (r->pipe_armed) {
                    event_del(r->pipe_ev);
                    r->pipe_armed = 0;
                }
                if (!r->sock_armed) {
                    event_add(c->ev_write, NULL);
                    r->sock_armed = 1;
                }
                return;
            }
            if (w < 0) {
                log_warn("Writing the snapshot to replica %s: %s", c->addr, strerror(errno));
                r->failed = 1;
                r->child_known = 1; /* the child is killed when the client goes */
                r->child_ok = 0;
                relay_maybe_done(c);
                return;
            }
            r->off += (size_t)w;
            c->srv->stats.net_output_bytes += w;
            c->tot_net_out += w;
            continue;
        }
        r->off = r->len = 0;
        if (r->sock_armed) {
            event_del(c->ev_write);
            r->sock_armed = 0;
        }
        if (r->eof) {
            relay_maybe_done(c);
            return;
        }
        ssize_t n = read(r->pipe_fd, r->buf, sizeof(r->buf));
        if (n > 0) {
            r->len = (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!r->pipe_armed) {
                event_add(r->pipe_ev, NULL);
                r->pipe_armed = 1;
            }
            return;
        }
        if (n < 0) {
            r->failed = 1;
        }
        r->eof = 1;
        if (r->pipe_armed) {
            event_del(r->pipe_ev);
            r->pipe_armed = 0;
        }
        close(r->pipe_fd);
        r->pipe_fd = -1;
        relay_maybe_done(c);
        return;
    }
}

void
repl_relay_on_writable(struct client *c)
{
    relay_pump(c);
}

int
repl_relay_child_exited(struct client *c, int ok)
{
    struct sync_relay *r = c->relay;
    if (r == NULL) {
        return 0;
    }
    r->child_known = 1;
    r->child_ok = ok;
    if (r->eof && r->off >= r->len) {
        ok = ok && !r->failed;
        repl_relay_free(c);
        r = NULL;
        /* The caller finishes: tell it the combined outcome. */
        return ok ? 0 : -1;
    }
    return 1;
}
