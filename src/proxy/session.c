/* Client sessions: parse request frames, route them, and release replies in
 * request order.  A request is a struct preq on the session's FIFO; replies
 * for the FIFO's head go straight to the output buffer, later ones wait in
 * their preq until everything before them is answered.  Commands the proxy
 * answers itself (PING, HELLO, AUTH, INFO...) take the same FIFO, so order
 * holds for them too. */
#include "proxy/proxy.h"
#include "proxy/sockio.h"
#include "config.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/status.h"
#include "core/util.h"
#include "proxy/monitor.h"
#include "proxy/pubsub.h"
#include "proxy/tracking.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SESSION_READ 16384

static void session_on_event(evutil_socket_t fd, short what, void *arg);
static void session_write(struct session *s);

/* ---- output -------------------------------------------------------------- */

/* Redis's client-output-buffer-limit for s's class (pubsub while it is
 * subscribed, else normal) over the replies waiting for the client: the
 * unwritten output and the replies held back for order.  Closes s when the
 * hard limit is reached or the soft one has been for soft-seconds; returns
 * 1 when it did. */
static int
check_output_limit(struct session *s)
{
    struct proxy *px = s->px;
    const struct proxy_cob *lim =
        &px->cfg.cob[client_cmd_is_pubsub(s) ? PROXY_COB_PUBSUB : PROXY_COB_NORMAL];
    size_t used = s->out.len - s->out_sent + s->held;
    int over = lim->hard > 0 && used >= lim->hard;
    if (lim->soft > 0 && used >= lim->soft) {
        long long now = util_mstime();
        if (s->obuf_soft_since_ms == 0) {
            s->obuf_soft_since_ms = now;
        } else if (now - s->obuf_soft_since_ms >= lim->soft_seconds * 1000) {
            over = 1;
        }
    } else {
        s->obuf_soft_since_ms = 0;
    }
    if (!over) {
        return 0;
    }
    log_warn("Client id=%llu addr=%s closed for overcoming of output buffer limits "
             "(%zu bytes waiting)", (unsigned long long)s->id, s->addr, used);
    px->obuf_limit_kills++;
    session_close(s);
    return 1;
}

static void
out_append(struct session *s, const char *p, size_t len)
{
    if (s->flags & SESSION_CLOSING) {
        return; /* nobody will read it */
    }
    rbuf_add(&s->out, p, len);
    check_output_limit(s);
}

static void
queue_write(struct session *s)
{
    if (s->flags & (SESSION_PENDING_WRITE | SESSION_CLOSING)) {
        return;
    }
    s->flags |= SESSION_PENDING_WRITE;
    s->pw_next = s->px->pending_writes;
    s->px->pending_writes = s;
}

void
session_close(struct session *s)
{
    if (s->flags & SESSION_CLOSING) {
        return;
    }
    s->flags |= SESSION_CLOSING;
    event_del(s->ev);
    s->close_next = s->px->close_list;
    s->px->close_list = s;
}

/* A session's request comes from, and goes back to, a pool of freed ones:
 * a request costs a malloc and a free otherwise, a tenth of the proxy's own
 * instructions per request (callgrind).  Requests freed elsewhere with
 * mem_free (fan-out parts, orphans) are plain allocations all the same. */
#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer every request is freed, so that a request used
 * after its release, or released twice, is reported. */
#define PREQ_POOL_MAX 0
#else
#define PREQ_POOL_MAX 4096
#endif
static const size_t preq_pool_max = PREQ_POOL_MAX; /* (0: no -Wtype-limits) */

static struct preq *
preq_alloc(struct proxy *px)
{
    struct preq *r = px->preq_pool;
    if (r == NULL) {
        return mem_calloc(sizeof(*r));
    }
    px->preq_pool = r->next;
    px->npreq_pool--;
    memset(r, 0, offsetof(struct preq, retry_small));
    return r;
}

static void
preq_release(struct proxy *px, struct preq *r)
{
    if (px->npreq_pool >= preq_pool_max) {
        mem_free(r);
        return;
    }
    r->next = px->preq_pool;
    px->preq_pool = r;
    px->npreq_pool++;
}

/* Release every answered request at the head of the FIFO. */
static void
release_ready(struct session *s)
{
    while (s->head && s->head->done) {
        struct preq *r = s->head;
        s->head = r->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        s->held -= r->reply_len;
        out_append(s, r->reply, r->reply_len);
        mem_free(r->reply);
        preq_release(s->px, r);
    }
    queue_write(s);
}

/* A write refused by a node that stopped being its group's master while
 * the write waited (held by a switchover's CLIENT PAUSE, then refused with
 * -READONLY: it never ran) goes once to the new master.  Returns 1 when it
 * was re-sent. */
static int
redirect_write(struct preq *r, const char *reply, size_t len)
{
    struct node *was = r->node;
    char *frame = r->retry_frame;
    r->retry_frame = NULL;
    if (frame == NULL) {
        return 0;
    }
    int sent = 0;
    if (r->s != NULL && len >= 9 && memcmp(reply, "-READONLY", 9) == 0 && was != NULL
        && was->group->master != NULL && was->group->master != was) {
        struct proxy *px = was->px;
        r->node = NULL;
        r->backend = NULL;
        r->bnext = NULL;
        if (backend_send(px, was->group->master, NULL, r, frame, r->retry_len) == 0) {
            px->writes_redirected++;
            sent = 1;
        }
    }
    if (frame != r->retry_small) {
        mem_free(frame);
    }
    return sent;
}

void
session_deliver(struct preq *r, const char *reply, size_t len)
{
    struct session *s = r->s;
    if (r->txn_fx != NULL) {
        txn_exec_replied(r, reply, len);
    }
    if (r->script_retry && script_deliver(r, reply, len)) {
        return;
    }
    if (r->retry_frame != NULL && redirect_write(r, reply, len)) {
        return;
    }
    if (r->cursor_cmd && r->node != NULL) {
        /* The node's cursor becomes the proxy's (node and group in it). */
        size_t n;
        char *rewritten = cursor_reply(r->node->px, r, reply, len, &n);
        r->cursor_cmd = 0;
        session_deliver(r, rewritten, n);
        mem_free(rewritten);
        return;
    }
    if (r->fan != NULL) {
        fanout_part_done(r, reply, len);
        mem_free(r);
        return;
    }
    if (r->on_reply != NULL) {
        if (s != NULL) {
            struct preq **pp = &s->internal;
            while (*pp && *pp != r) {
                pp = &(*pp)->inext;
            }
            if (*pp) {
                *pp = r->inext;
            }
        }
        /* Called even when the session is gone (r->s is then NULL): a WAIT
         * must still release the write it holds. */
        r->on_reply(r, reply, len);
        mem_free(r);
        return;
    }
    if (r->ack_waiting && !r->ack_held) {
        /* A write-ack write: hold its reply until its WAIT answers. */
        r->reply = mem_alloc(len ? len : 1);
        memcpy(r->reply, reply, len);
        r->reply_len = len;
        r->ack_held = 1;
        return;
    }
    if (s == NULL) {
        /* The client left; the reply has nobody to go to. */
        mem_free(r);
        return;
    }
    s->pending--;
    if (s->txn_hold || s->txn != NULL) {
        txn_progress(s, r);
    }
    if (s->head == r) {
        s->head = r->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        out_append(s, reply, len);
        preq_release(s->px, r);
        release_ready(s);
        return;
    }
    if (s->flags & SESSION_CLOSING) {
        len = 0; /* nobody will read it */
    }
    r->reply = mem_alloc(len ? len : 1);
    memcpy(r->reply, reply, len);
    r->reply_len = len;
    r->done = 1;
    s->held += len;
    check_output_limit(s);
}

static struct preq *
preq_new(struct session *s)
{
    struct preq *r = preq_alloc(s->px);
    r->s = s;
    r->affinity = s->id;
    r->select_db = s->db + 1;
    r->resp3 = s->resp == 3;
    if (s->tail) {
        s->tail->next = r;
    } else {
        s->head = r;
    }
    s->tail = r;
    s->pending++;
    return r;
}

struct preq *
session_new_request(struct session *s)
{
    return preq_new(s);
}

/* A reply the proxy makes itself, in request order. */
static void
local_reply(struct session *s, const char *p, size_t len)
{
    if (s->head == NULL) {
        out_append(s, p, len);
        queue_write(s);
        return;
    }
    struct preq *r = preq_new(s);
    session_deliver(r, p, len);
}

void
session_reply(struct session *s, const char *p, size_t len)
{
    local_reply(s, p, len);
}

void
rbuf_add(struct rbuf *b, const void *p, size_t len)
{
    if (len == 0) {
        return;
    }
    if (b->cap - b->len < len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            cap *= 2;
        }
        b->p = mem_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
}

void
rbuf_str(struct rbuf *b, const char *s)
{
    rbuf_add(b, s, strlen(s));
}

void
rbuf_printf(struct rbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        rbuf_add(b, tmp, (size_t)n);
        return;
    }
    /* Longer than the stack buffer (a long client name...): format again
     * into the buffer itself. */
    if (b->cap - b->len <= (size_t)n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= (size_t)n) {
            cap *= 2;
        }
        b->p = mem_realloc(b->p, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
rbuf_hdr(struct rbuf *b, char prefix, long long n)
{
    char hdr[RESP_HDR_MAX];
    rbuf_add(b, hdr, resp_fmt_prefixed(hdr, prefix, n));
}

void
rbuf_bulk(struct rbuf *b, const char *p, size_t len)
{
    rbuf_hdr(b, '$', (long long)len);
    rbuf_add(b, p, len);
    rbuf_add(b, "\r\n", 2);
}

void
rbuf_status_lines(struct rbuf *b, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rbuf_add(b, "+", 1);
        rbuf_str(b, lines[i]);
        rbuf_add(b, "\r\n", 2);
    }
}

void
rbuf_reply(struct session *s, struct rbuf *b)
{
    session_reply(s, b->p, b->len);
    b->len = 0;
}

void
rbuf_free(struct rbuf *b)
{
    mem_free(b->p);
    memset(b, 0, sizeof(*b));
}

int
session_protocol(const struct session *s)
{
    return s->resp;
}

struct proxy *
session_proxy(const struct session *s)
{
    return s->px;
}

static void
local_replyf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
local_replyf(struct session *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    local_reply(s, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

size_t
session_error_line(char *buf, size_t cap, const char *fmt, va_list ap)
{
    if (cap < 4) {
        return 0;
    }
    int n = vsnprintf(buf + 1, cap - 3, fmt, ap);
    size_t len = n < 0 ? 0 : ((size_t)n < cap - 3 ? (size_t)n : cap - 4);
    buf[0] = '-';
    /* An error is one line: a CR or LF from the client's text would end
     * it early and desynchronise every later reply. */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '\r' || buf[i] == '\n') {
            buf[i] = ' ';
        }
    }
    memcpy(buf + 1 + len, "\r\n", 3);
    return len + 3;
}

void
session_error(struct session *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t n = session_error_line(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    local_reply(s, buf, n);
}

static void
local_bulk(struct session *s, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    size_t h = resp_fmt_prefixed(hdr, '$', (long long)len);
    char *buf = mem_alloc(h + len + 2);
    memcpy(buf, hdr, h);
    memcpy(buf + h, p, len);
    memcpy(buf + h + len, "\r\n", 2);
    local_reply(s, buf, h + len + 2);
    mem_free(buf);
}

/* ---- local commands ------------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

static void
cmd_hello(struct session *s, size_t argc, struct resp_arg *argv)
{
    long long ver = s->resp;
    size_t i = 1;
    if (argc >= 2) {
        if (util_str2ll(argv[1].ptr, argv[1].len, &ver) != 0) {
            session_error(s, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            session_error(s, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    for (; i < argc; i++) {
        if (arg_is(&argv[i], "auth") && i + 2 < argc) {
            if (access_authenticate(s, &argv[i + 1], &argv[i + 2]) == NULL) {
                session_error(s, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            i += 2;
        } else if (arg_is(&argv[i], "setname") && i + 1 < argc) {
            /* The name shows in CLIENT LIST: same rule as CLIENT SETNAME. */
            for (size_t k = 0; k < argv[i + 1].len; k++) {
                if (argv[i + 1].ptr[k] <= ' ' || argv[i + 1].ptr[k] > '~') {
                    session_error(s, "ERR Client names cannot contain spaces, newlines or "
                                     "special characters.");
                    return;
                }
            }
            mem_free(s->name);
            s->name = argv[i + 1].len ? mem_strndup(argv[i + 1].ptr, argv[i + 1].len) : NULL;
            i += 1;
        } else {
            session_error(s, "ERR Syntax error in HELLO option '%.*s'",
                          (int)(argv[i].len > 64 ? 64 : argv[i].len), argv[i].ptr);
            return;
        }
    }
    if (!(s->flags & SESSION_AUTHENTICATED)) {
        session_error(s, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO <proto> AUTH <user> <pass> option can be used "
                         "to authenticate the client and select the RESP protocol version at "
                         "the same time");
        return;
    }
    s->resp = (int)ver;
    char id[24];
    int idl = (int)util_ull2str(id, s->id);
    if (s->resp == 3) {
        local_replyf(s, "%%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
                        "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:%.*s\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                        "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n", idl, id);
    } else {
        local_replyf(s, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
                        "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:%.*s\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                        "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n", idl, id);
    }
}

static void
cmd_auth(struct session *s, size_t argc, struct resp_arg *argv)
{
    static const struct resp_arg def = {"default", 7};
    if (argc > 3) {
        session_error(s, "ERR syntax error");
        return;
    }
    if (argc == 2 && access_no_password(s->px)) {
        session_error(s, "ERR AUTH <password> called without any password configured for "
                         "the default user. Are you sure your configuration is correct?");
        return;
    }
    if (access_authenticate(s, argc == 3 ? &argv[1] : &def, &argv[argc - 1]) == NULL) {
        session_error(s, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    local_replyf(s, "+OK\r\n");
}

static void
run_local(struct session *s, const struct command *cmd, size_t argc, struct resp_arg *argv)
{
    struct proxy *px = s->px;
    px->local_commands++;
    switch (cmd->id) {
    case CMD_ID_PING:
        if (argc <= 2 && s->resp == 2 && pubsub_count(s->pubsub) > 0) {
            /* RESP2 subscribed mode: "pong" and the argument, as Redis does. */
            local_replyf(s, "*2\r\n$4\r\npong\r\n");
            local_bulk(s, argc == 2 ? argv[1].ptr : "", argc == 2 ? argv[1].len : 0);
        } else if (argc == 1) {
            local_replyf(s, "+PONG\r\n");
        } else if (argc == 2) {
            local_bulk(s, argv[1].ptr, argv[1].len);
        } else {
            session_error(s, "ERR wrong number of arguments for 'ping' command");
        }
        break;
    case CMD_ID_ECHO:
        local_bulk(s, argv[1].ptr, argv[1].len);
        break;
    case CMD_ID_QUIT:
        local_replyf(s, "+OK\r\n");
        s->flags |= SESSION_CLOSE_AFTER_REPLY;
        s->flags &= ~SESSION_EOF; /* nothing after QUIT runs */
        break;
    case CMD_ID_RESET:
        s->resp = 2;
        s->db = 0;
        mem_free(s->name);
        s->name = NULL;
        pubsub_client_destroy(&s->pubsub);
        monitor_session_gone(s);
        tracking_session_gone(s);
        access_session_start(s); /* back to the default user, as Redis does */
        local_replyf(s, "+RESET\r\n");
        break;
    case CMD_ID_AUTH:
        cmd_auth(s, argc, argv);
        break;
    case CMD_ID_HELLO:
        cmd_hello(s, argc, argv);
        break;
    case CMD_ID_SUBSCRIBE:
    case CMD_ID_UNSUBSCRIBE:
    case CMD_ID_PSUBSCRIBE:
    case CMD_ID_PUNSUBSCRIBE:
    case CMD_ID_SSUBSCRIBE:
    case CMD_ID_SUNSUBSCRIBE:
    case CMD_ID_PUBLISH:
    case CMD_ID_SPUBLISH:
    case CMD_ID_PUBSUB:
        pubsub_command(px, s, &s->pubsub, cmd, argc, argv);
        break;
    case CMD_ID_MONITOR:
        monitor_command(s);
        break;
    case CMD_ID_SELECT: {
        /* Per session: each request carries its database, and a backend
         * connection is switched (SELECT) before a request of another one. */
        long long db;
        if (util_str2ll(argv[1].ptr, argv[1].len, &db) != 0) {
            session_error(s, "ERR value is not an integer or out of range");
        } else if (db < INT_MIN || db > INT_MAX) {
            /* Redis's words for a number past an int (the node's too). */
            session_error(s, "ERR value is out of range, value must between -2147483648 "
                             "and 2147483647");
        } else if (db < 0 || db >= px->cfg.databases) {
            session_error(s, "ERR DB index is out of range");
        } else {
            s->db = (int)db;
            local_replyf(s, "+OK\r\n");
        }
        break;
    }
    case CMD_ID_CLIENT:
        client_cmd_run(s, argc, argv);
        break;
    case CMD_ID_INFO:
        info_command(s, argc, argv);
        break;
    case CMD_ID_SENTINEL:
        sentinel_command(s, argc, argv);
        break;
    case CMD_ID_CONFIG:
        config_cmd_run(s, argc, argv);
        break;
    case CMD_ID_ACL:
        access_acl_command(s, argc, argv);
        break;
    case CMD_ID_ROLE:
        local_replyf(s, "*3\r\n$6\r\nmaster\r\n:%lld\r\n*0\r\n",
                     px->groups[0].master ? px->groups[0].master->offset : 0);
        break;
    default:
        session_error(s, "ERR internal: no local handler for '%s'", cmd->fullname);
        break;
    }
}

/* ---- requests -------------------------------------------------------------- */

/* The ROLE reply after a write: "*3\r\n$6\r\nmaster\r\n:<offset>\r\n...". */
static void
on_role_reply(struct preq *r, const char *reply, size_t len)
{
    static const char prefix[] = "*3\r\n$6\r\nmaster\r\n:";
    long long off;
    struct session *s = r->s;
    /* Only the probe of the session's last write decides: an earlier
     * write's probe answered while a later one is out (on another pooled
     * connection, or before the later reply) gives an offset the later
     * write is not under, and a replica there would not have it
     * (node-redis 5's 2,000 pipelined SET/GET pairs read one stale value
     * that way). */
    if (s == NULL || r->probe_seq != s->write_seq) {
        return;
    }
    const char *p = reply + sizeof(prefix) - 1;
    const char *cr;
    if (len <= sizeof(prefix) || memcmp(reply, prefix, sizeof(prefix) - 1) != 0
        || (cr = memchr(p, '\r', len - (sizeof(prefix) - 1))) == NULL
        || util_str2ll(p, (size_t)(cr - p), &off) != 0) {
        /* Not a master any more: reads stay on the master until the
         * topology settles, which is the safe side. */
        s->write_offset = -1;
        return;
    }
    s->write_offset = off;
}

/* In session mode, ask the master for its offset right behind a write on
 * the same connection: once a replica's offset reaches it, the replica has
 * the write.  Until the answer arrives the session's reads go to the
 * master (write_offset is set to "unknown"). */
static void
track_write(struct session *s, struct node *master, struct backend *on)
{
    static const char role[] = "*1\r\n$4\r\nROLE\r\n";
    struct preq *r = mem_calloc(sizeof(*r));
    r->s = s;
    r->affinity = s->id;
    r->on_reply = on_role_reply;
    r->probe_seq = ++s->write_seq;
    s->write_offset = -1;
    if (backend_send(s->px, master, on, r, role, sizeof(role) - 1) != 0) {
        /* No probe: reads stay on the master until a later write's probe
         * is answered. */
        mem_free(r);
        return;
    }
    r->inext = s->internal;
    s->internal = r;
    s->px->session_offset_probes++;
}

void
session_track_write(struct session *s, struct node *master, struct backend *on)
{
    if (s->px->cfg.read_policy == READ_SESSION) {
        track_write(s, master, on);
    }
}

/* WAIT answered for a write-ack write: release the write's reply, or
 * replace it with -NOTACKED when too few replicas acknowledged in time. */
static void
on_wait_reply(struct preq *w, const char *reply, size_t len)
{
    struct preq *wr = w->ack_parent;
    struct session *s = wr->s;
    long long acked = -1;
    char err[256];
    if (len > 3 && reply[0] == ':') {
        acked = atoll(reply + 1);
    }
    wr->ack_waiting = 0;
    if (!wr->ack_held) {
        /* Cannot happen (replies come in order); fail safe. */
        return;
    }
    char *held = wr->reply;
    size_t held_len = wr->reply_len;
    wr->reply = NULL;
    wr->ack_held = 0;
    if (s == NULL) {
        mem_free(held);
        mem_free(wr);
        return;
    }
    if (held_len > 0 && held[0] == '-') {
        session_deliver(wr, held, held_len);          /* the write failed */
    } else if (acked >= wr->ack_need) {
        s->px->writes_acked++;
        session_deliver(wr, held, held_len);
    } else {
        int n = acked < 0
                    ? snprintf(err, sizeof(err), "-NOTACKED the write was applied on the master, "
                               "but acknowledging it failed: %.*s\r\n",
                               (int)(len > 2 ? (len > 100 ? 100 : len - 2) : 0), reply)
                    : snprintf(err, sizeof(err), "-NOTACKED the write was applied on the master "
                               "and acknowledged by %lld of %lld replicas within %lld ms\r\n",
                               acked, wr->ack_need, s->px->cfg.write_ack_timeout_ms);
        s->px->writes_not_acked++;
        session_deliver(wr, err, (size_t)n);
    }
    mem_free(held);
}

/* The private connection of session s to group g's master (write-ack). */
static struct backend *
own_connection(struct session *s, struct group *g)
{
    struct proxy *px = s->px;
    size_t gi = (size_t)(g - px->groups);
    if (s->own == NULL) {
        /* Room for every group a reload may add. */
        s->own = mem_calloc(TOPOLOGY_MAX_GROUPS * sizeof(*s->own));
    }
    struct backend *b = s->own[gi];
    if (b != NULL && (b->node != g->master || b->resp3 != (s->resp == 3))) {
        /* The master changed (WAIT must go to the new one), or the session's
         * protocol did (HELLO). */
        backend_forget_pending(px, b);
        backend_close(b, NULL);
        mem_free(b);
        b = s->own[gi] = NULL;
    }
    if (b == NULL) {
        b = s->own[gi] = mem_alloc(sizeof(*b));
        backend_init(b, g->master);
        b->resp3 = s->resp == 3;
        b->retry_at_ms = 0;
    }
    return b;
}

struct backend *
session_own_connection(struct session *s, struct group *g)
{
    return g->master ? backend_open(s->px, own_connection(s, g)) : NULL;
}

/* Send a write on the session's private connection followed by WAIT;
 * returns its request, or NULL when it was answered with an error. */
static struct preq *
forward_acked(struct session *s, struct group *g, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    struct preq *wr = preq_new(s);
    struct backend *own = g->master ? backend_open(px, own_connection(s, g)) : NULL;
    if (own == NULL || backend_send(px, g->master, own, wr, frame, len) != 0) {
        static const char err[] = "-ERR cachely-proxy: the master is not reachable\r\n";
        px->route_errors++;
        session_deliver(wr, err, sizeof(err) - 1);
        return NULL;
    }
    session_ack_after(s, g, wr);
    return wr;
}

void
session_ack_after(struct session *s, struct group *g, struct preq *wr)
{
    struct proxy *px = s->px;
    char wait[96], num[24], tmo[24];
    long long need = px->cfg.write_ack;
    if (need < 0) {
        /* "all": every replica the topology knows for the group now. */
        need = 0;
        for (size_t i = 0; i < px->nnodes; i++) {
            need += px->nodes[i]->group == g && px->nodes[i]->role == NODE_ROLE_REPLICA;
        }
    }
    size_t nl = util_ll2str(num, need), tl = util_ll2str(tmo, px->cfg.write_ack_timeout_ms);
    int wl = snprintf(wait, sizeof(wait), "*3\r\n$4\r\nWAIT\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                      nl, num, tl, tmo);
    struct preq *w = mem_calloc(sizeof(*w));
    w->s = s;
    w->on_reply = on_wait_reply;
    w->ack_parent = wr;
    wr->ack_need = need;
    wr->ack_waiting = 1;
    if (backend_send(px, wr->node, wr->backend, w, wait, (size_t)wl) != 0) {
        wr->ack_waiting = 0;
        mem_free(w);
        return;
    }
    w->inext = s->internal;
    s->internal = w;
}

/* Forward the frame to node n; when n is a replica that cannot be reached,
 * the read goes to the group's master instead; when nothing can take it,
 * answer with an error.  write: 0 a read; 1 a write, whose frame is kept
 * for a -READONLY redirect; 2 the same, the frame in an allocation of its
 * own.  Returns the connection it went on, or NULL. */
static struct backend *
forward(struct session *s, struct node *n, const char *frame, size_t len, int write)
{
    struct preq *r = preq_new(s);
    if (n != NULL && backend_send(s->px, n, NULL, r, frame, len) == 0) {
        if (write) {
            /* A short frame is kept in the request itself, except where
             * script.c may take the frame over (and free it): a
             * movable-keys command (write == 2). */
            r->retry_frame = write == 1 && len <= sizeof(r->retry_small) ? r->retry_small
                                                                         : mem_alloc(len);
            memcpy(r->retry_frame, frame, len);
            r->retry_len = len;
        }
        return r->backend;
    }
    if (n != NULL && n->group->master != NULL && n != n->group->master) {
        s->px->routed_fallback++;
        if (backend_send(s->px, n->group->master, NULL, r, frame, len) == 0) {
            return r->backend;
        }
    }
    char err[320];
    int k = n ? snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n",
                         n->name)
              : snprintf(err, sizeof(err), "-ERR cachely-proxy: no master is known for "
                                           "this group (yet)\r\n");
    s->px->route_errors++;
    session_deliver(r, err, (size_t)k);
    return NULL;
}

/* The group a request goes to.  With several groups, a multi-key command
 * whose keys live in different groups is split (or refused with
 * CROSSSLOT), and a keyless one that concerns the whole dataset is spread
 * over every group; both are answered here and NULL is returned. */
static struct group *
route_group(struct session *s, const struct command *cmd, size_t argc,
            struct resp_arg *argv, const char *frame, size_t framelen)
{
    struct proxy *px = s->px;
    if (px->ngroups == 1) {
        return &px->groups[0];
    }
    /* Every key, movable ones too (ZUNIONSTORE's numkeys, LMPOP, EVAL). */
    size_t stack_idx[16];
    size_t *idx = argc <= 16 ? stack_idx : mem_alloc(argc * sizeof(*idx));
    size_t nkeys = command_keys(cmd, argc, argv, idx, argc <= 16 ? 16 : argc);
    struct group *g = NULL;
    if (nkeys == 0) {
        if (idx != stack_idx) {
            mem_free(idx);
        }
        if (fanout_can_spread(cmd)) {
            fanout_spread(px, preq_new(s), cmd, frame, framelen);
            return NULL;
        }
        if (cmd->id == CMD_ID_RANDOMKEY) {
            return &px->groups[(size_t)random() % px->ngroups];
        }
        return &px->groups[0];
    }
    g = topology_group_of_key(px, argv[idx[0]].ptr, argv[idx[0]].len);
    for (size_t i = 1; i < nkeys && g != NULL; i++) {
        if (topology_group_of_key(px, argv[idx[i]].ptr, argv[idx[i]].len) != g) {
            if (fanout_can_split(cmd)) {
                fanout_split(px, preq_new(s), cmd, argc, argv);
            } else {
                px->crossslot_errors++;
                session_error(s, "CROSSSLOT Keys in request don't hash to the same slot");
            }
            g = NULL;
        }
    }
    if (idx != stack_idx) {
        mem_free(idx);
    }
    return g;
}

/* One call of a cursor iteration (SCAN, SSCAN...): it goes to the node the
 * cursor names (chosen per read policy when the iteration starts in a
 * group), with the node's own cursor in place of the proxy's.  When that
 * node failed or changed since, the call fails: another node's keys would
 * make a silently partial iteration. */
static void
forward_cursor(struct session *s, const struct cursor_spec *spec, size_t argc,
               struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct cursor c;
    struct group *g;
    struct node *n;

    if (cursor_decode(argv[spec->arg].ptr, argv[spec->arg].len, &c) != 0) {
        session_error(s, "ERR invalid cursor");
        return;
    }
    if (spec->keyspace) {
        if (c.group >= px->ngroups) {
            session_error(s, "ERR invalid cursor");
            return;
        }
        g = &px->groups[c.group];
    } else {
        g = topology_group_of_key(px, argv[1].ptr, argv[1].len);
        c.group = (size_t)(g - px->groups);
    }
    if (c.node == 0) {
        int policy = px->cfg.read_policy;
        int replica_ok = policy == READ_REPLICAS
                         || (policy == READ_SESSION && s->write_offset >= 0);
        n = topology_read_target(px, g, replica_ok,
                                 policy == READ_SESSION ? s->write_offset : 0);
        if (n == NULL) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: no master is known for this group (yet)");
            return;
        }
        c.node = cursor_node_index(px, n);
        c.gen = n->incarnation & 15;
        if (c.node > CURSOR_MAX_NODE_INDEX) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: %s cannot be named in a cursor (more than "
                             "%d nodes in its group)", n->name, CURSOR_MAX_NODE_INDEX);
            return;
        }
    } else {
        n = cursor_node_at(px, g, c.node);
        if (n == NULL || !n->up || (n->incarnation & 15) != c.gen) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: the node of this %s iteration (%s) failed "
                             "or restarted since it began; start again from cursor 0",
                          spec->name, n ? n->name : "unknown");
            return;
        }
    }
    char num[24];
    struct resp_arg saved = argv[spec->arg];
    argv[spec->arg].ptr = num;
    argv[spec->arg].len = util_ull2str(num, c.node_cursor);
    size_t len;
    char *frame = proxy_encode(argc, argv, &len);
    argv[spec->arg] = saved;
    struct preq *r = preq_new(s);
    r->cursor_cmd = 1;
    r->cursor_keyspace = spec->keyspace;
    r->cursor = c;
    if (backend_send(px, n, NULL, r, frame, len) != 0) {
        char err[400];
        int k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable; the %s "
                         "iteration cannot go on elsewhere\r\n", n->name, spec->name);
        r->cursor_cmd = 0;
        px->route_errors++;
        session_deliver(r, err, (size_t)k);
    }
    mem_free(frame);
}

/* A blocking command (BLPOP...) holds a connection until it completes, so
 * it runs on one of the owning master's dedicated connections, never on a
 * shared one; its timeout is the node's to keep. */
static void
forward_blocking(struct session *s, struct group *g, const struct command *cmd,
                 const char *frame, size_t len)
{
    struct proxy *px = s->px;
    struct node *n = g->master;
    struct preq *r = preq_new(s);
    int exhausted = 0;
    struct backend *b = NULL;
    char err[400];
    int k;

    if (n != NULL && n->up) {
        b = backend_take_blocking(px, n, s, &exhausted);
    }
    if (b != NULL && backend_send(px, n, b, r, frame, len) == 0) {
        px->routed_master++;
        return;
    }
    if (b != NULL) {
        backend_release_blocking(b);
    }
    px->route_errors++;
    if (n == NULL) {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: no master is known for this "
                                       "group (yet)\r\n");
    } else if (exhausted) {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: all %lld blocking connections "
                     "to %s are in use (blocking-pool-size); '%s' refused\r\n",
                     px->cfg.blocking_pool_size, n->name, cmd->name);
    } else {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n",
                     n->name);
    }
    session_deliver(r, err, (size_t)k);
}

/* Its blocking command completed: the session's waiting input runs (from
 * the event loop, not inside the backend's reply handling). */
void
session_resume(struct session *s)
{
    if (!(s->flags & SESSION_CLOSING) && s->qlen > 0) {
        event_active(s->ev, EV_READ, 0);
    }
}

static void
handle_request(struct session *s, const char *frame, size_t framelen)
{
    struct proxy *px = s->px;
    size_t argc = s->parser.argc;
    struct resp_arg *argv = s->parser.argv;
    const struct command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    char *encoded = NULL;

    if (txn_hold(s, cmd)) {
        return; /* s->txn_hold: parsed again once s's earlier replies are in */
    }
    px->total_commands++;
    /* The session's ACL user, before anything is routed or queued (Redis's
     * order: unknown command, arity, NOAUTH, then the ACL).  A refusal in
     * MULTI makes EXEC abort, as on a node. */
    if (cmd != NULL && command_arity_ok(cmd, argc) && (s->flags & SESSION_AUTHENTICATED)) {
        s->lastcmd = cmd; /* the ACL LOG's client-info names it, as Redis's does */
        if (access_check(s, cmd, argc, argv) != 0) {
            txn_refuse(s);
            return;
        }
    }
    /* Inside MULTI everything (unknown commands too) is the transaction's. */
    if (txn_early(s, cmd, argc) && txn_request(s, cmd, argc, argv, frame, framelen)) {
        return;
    }
    /* s->last_ms: set by the read that brought the request. */
    if (cmd == NULL) {
        char msg[512];
        command_unknown_error(msg, sizeof(msg), argc, argv);
        session_error(s, "ERR %s", msg);
        return;
    }
    if (!command_arity_ok(cmd, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    s->lastcmd = cmd;
    if (!(s->flags & SESSION_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
        session_error(s, "NOAUTH Authentication required.");
        return;
    }
    if (s->resp == 2 && pubsub_count(s->pubsub) > 0) {
        char err[256];
        size_t n = pubsub_refuse(cmd, argc, argv, err, sizeof(err));
        if (n > 0) {
            local_reply(s, err, n);
            return;
        }
    }
    if (txn_request(s, cmd, argc, argv, frame, framelen)
        || script_command(s, cmd, argc, argv)) {
        return;
    }
    enum route_kind kind = route_classify(cmd);
    if (kind == ROUTE_LOCAL) {
        run_local(s, cmd, argc, argv);
        monitor_feed(s, cmd, argc, argv); /* after: SELECT shows its new db */
        return;
    }
    monitor_feed(s, cmd, argc, argv);
    tracking_on_command(s, cmd, argc, argv);
    if (kind == ROUTE_REFUSE) {
        px->route_errors++;
        session_error(s, "ERR '%s' is not supported through cachely-proxy; send it "
                         "to a node directly", cmd->name);
        return;
    }
    /* Inline commands are re-encoded; multibulk frames go as they came. */
    if (frame[0] != '*') {
        encoded = proxy_encode(argc, argv, &framelen);
        frame = encoded;
    }
    const struct cursor_spec *cspec = cursor_spec_of(cmd);
    if (cspec != NULL) {
        forward_cursor(s, cspec, argc, argv);
        mem_free(encoded);
        return;
    }
    struct group *g = route_group(s, cmd, argc, argv, frame, framelen);
    if (g == NULL) {
        mem_free(encoded);
        return; /* answered: split, spread, or refused */
    }
    if (cmd->flags & CMD_BLOCKING) {
        forward_blocking(s, g, cmd, frame, framelen);
        mem_free(encoded);
        return;
    }
    if (kind == ROUTE_MASTER && px->cfg.write_ack != 0
        && ((cmd->flags & CMD_WRITE) || script_may_write(cmd))) {
        px->routed_master++;
        struct preq *wr = forward_acked(s, g, frame, framelen);
        if (wr != NULL && script_may_write(cmd)) {
            script_forwarded(s, cmd, argc, argv, wr, frame, framelen);
        }
        mem_free(encoded);
        return;
    }
    int policy = px->cfg.read_policy;
    /* In session mode a read waits for nothing: it goes to a replica known
     * to hold the session's last write, else to the master. */
    int replica_ok = kind == ROUTE_READ
                     && (policy == READ_REPLICAS
                         || (policy == READ_SESSION && s->write_offset >= 0));
    struct node *target = topology_read_target(
        px, g, replica_ok, policy == READ_SESSION ? s->write_offset : 0);
    int write = kind != ROUTE_MASTER ? 0 : (cmd->flags & CMD_MOVABLEKEYS) ? 2 : 1;
    struct backend *used = forward(s, target, frame, framelen, write);
    if (used != NULL && (cmd->flags & CMD_MOVABLEKEYS) && argc >= 3) {
        script_forwarded(s, cmd, argc, argv, s->tail, frame, framelen);
    }
    if (kind == ROUTE_MASTER && policy == READ_SESSION && used != NULL) {
        track_write(s, target, used);
    }
    mem_free(encoded);
}

static void
process_input(struct session *s)
{
    /* After a blocking command nothing more runs until it completes, as on
     * one Redis connection (session_resume goes on). */
    while (!(s->flags & SESSION_CLOSING)
           && (!(s->flags & SESSION_CLOSE_AFTER_REPLY) || (s->flags & SESSION_EOF))
           && s->blocked_on == NULL) {
        const char *frame = s->qbuf + s->qpos;
        /* Redis's limits, read each time (a reload or an AUTH changes them):
         * before AUTH only small frames, as the node allows. */
        s->parser.max_bulk_len = (long long)s->px->cfg.proto_max_bulk_len;
        s->parser.unauthenticated = !(s->flags & SESSION_AUTHENTICATED);
        int rc = resp_parser_next(&s->parser, frame, s->qlen - s->qpos);
        if (rc == STATUS_AGAIN) {
            break;
        }
        if (rc == STATUS_ERR) {
            session_error(s, "ERR %s", s->parser.errstr);
            s->flags |= SESSION_CLOSE_AFTER_REPLY;
            s->qpos = s->qlen;
            break;
        }
        if (s->parser.argc > 0) {
            handle_request(s, frame, s->parser.consumed);
            if (s->txn_hold) {
                break; /* held (txn.c): parsed again when resumed */
            }
        }
        s->qpos += s->parser.consumed;
    }
    if (s->txn != NULL) {
        txn_drained(s);
    }
    if (s->qpos > 0) {
        memmove(s->qbuf, s->qbuf + s->qpos, s->qlen - s->qpos);
        s->qlen -= s->qpos;
        s->qpos = 0;
    }
}

/* Watch for reads unless the session stopped reading (QUIT, a protocol
 * error, or the client's half-close), and for writability while output
 * waits. */
static void
session_set_events(struct session *s, int want_write)
{
    int want_read = !(s->flags & SESSION_CLOSE_AFTER_REPLY);
    int have_read = !(s->flags & SESSION_READ_OFF);
    int have_write = !!(s->flags & SESSION_WRITE_ARMED);
    want_write = want_write || s->read_wants_write;
    if (want_read == have_read && want_write == have_write) {
        return;
    }
    event_del(s->ev);
    event_assign(s->ev, s->px->base, s->fd,
                 EV_PERSIST | (want_read ? EV_READ : 0) | (want_write ? EV_WRITE : 0),
                 session_on_event, s);
    if (want_read || want_write) {
        event_add(s->ev, NULL);
    }
    s->flags = (s->flags & ~(SESSION_READ_OFF | SESSION_WRITE_ARMED))
               | (want_read ? 0 : SESSION_READ_OFF) | (want_write ? SESSION_WRITE_ARMED : 0);
    /* event_del dropped an activation for bytes TLS holds decrypted. */
    if (want_read && conn_pending(s->conn) > 0) {
        event_active(s->ev, EV_READ, 0);
    }
}

/* After a write: close once the last reply of a closing session is out,
 * else watch for writability while output waits. */
static void
write_finish(struct session *s)
{
    int pending = s->out_sent < s->out.len;
    if (!pending) {
        s->out.len = s->out_sent = 0;
    }
    if (!pending && s->head == NULL && (s->flags & SESSION_CLOSE_AFTER_REPLY)) {
        session_close(s);
        return;
    }
    session_set_events(s, pending);
}

static void
session_write(struct session *s)
{
    while (s->out_sent < s->out.len) {
        ssize_t n = conn_write(s->conn, s->out.p + s->out_sent, s->out.len - s->out_sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            session_close(s);
            return;
        }
        s->out_sent += (size_t)n;
        s->last_ms = util_mstime();
    }
    write_finish(s);
}

void
session_write_plain(struct session *s)
{
    session_write(s);
}

void
session_write_done(struct session *s, int res)
{
    if (res == -EINTR) {
        session_write(s);
        return;
    }
    if (res < 0 && res != -EAGAIN && res != -EWOULDBLOCK) {
        session_close(s);
        return;
    }
    if (res > 0) {
        s->out_sent += (size_t)res;
        s->last_ms = util_mstime();
    }
    /* A short send filled the socket: the write event goes on. */
    write_finish(s);
}

char *
session_read_buf(struct session *s, size_t *room)
{
    if (s->qcap - s->qlen < SESSION_READ) {
        size_t cap = s->qcap ? s->qcap : SESSION_READ;
        while (cap - s->qlen < SESSION_READ) {
            cap *= 2;
        }
        s->qbuf = mem_realloc(s->qbuf, cap);
        s->qcap = cap;
    }
    *room = s->qcap - s->qlen;
    if (*room > (size_t)1 << 30) {
        *room = (size_t)1 << 30; /* a read's result fits an int */
    }
    return s->qbuf + s->qlen;
}

static void
session_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    if (what & EV_WRITE) {
        if (s->read_wants_write) {
            /* A TLS read that waited for writability: retry it. */
            s->read_wants_write = 0;
            what |= EV_READ;
        }
        session_write(s);
    }
    if (!(what & EV_READ) || (s->flags & SESSION_CLOSING)) {
        return;
    }
    if (sockio_session_read_later(s)) {
        return; /* read with the loop turn's batch */
    }
    size_t room;
    char *buf = session_read_buf(s, &room);
    ssize_t n = conn_read(s->conn, buf, room);
    session_read_done(s, n < 0 ? -errno : (int)n, s->qlen);
}

void
session_read_done(struct session *s, int n, size_t off)
{
    /* Input consumed since the read was queued (a transaction or a
     * blocking command resumed it) moved the rest down. */
    if (off != s->qlen && n > 0) {
        memmove(s->qbuf + s->qlen, s->qbuf + off, (size_t)n);
    }
    if (n < 0) {
        if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) {
            if (conn_wants(s->conn) == CONN_WANT_WRITE) {
                s->read_wants_write = 1;
                session_set_events(s, 1);
            }
            if (s->qlen > 0 && s->blocked_on == NULL) {
                process_input(s); /* resumed after a blocking command */
            }
            return;
        }
        session_close(s);
        return;
    }
    if (n == 0 && s->blocked_on != NULL) {
        session_close(s); /* as Redis: a blocked client that leaves is gone */
        return;
    }
    if (n == 0) {
        /* The client finished sending (maybe only half-closed): answer what
         * it asked, then close.  Input held for a transaction runs when its
         * turn comes (txn_progress resumes here). */
        if (!(s->flags & SESSION_CLOSE_AFTER_REPLY)) {
            s->flags |= SESSION_EOF; /* not after QUIT or a protocol error */
        }
        s->flags |= SESSION_CLOSE_AFTER_REPLY;
        if (s->qlen > 0 && s->blocked_on == NULL && !s->txn_hold) {
            process_input(s);
        }
        session_write(s);
        return;
    }
    s->qlen += (size_t)n;
    s->last_ms = util_mstime();
    if (s->qlen - s->qpos > s->px->cfg.client_query_buffer_limit) {
        log_warn("Closing client that reached max query buffer length: id=%llu addr=%s "
                 "(qbuf initial bytes: %zu)", (unsigned long long)s->id, s->addr, s->qlen);
        s->px->qbuf_limit_kills++;
        session_close(s);
        return;
    }
    process_input(s);
    if (s->flags & SESSION_CLOSE_AFTER_REPLY) {
        session_write(s);
    }
    /* Bytes TLS already decrypted do not make the socket readable again. */
    if (!(s->flags & (SESSION_CLOSING | SESSION_READ_OFF)) && conn_pending(s->conn) > 0) {
        event_active(s->ev, EV_READ, 0);
    }
}

/* "ip:port" of the peer (local = 0) or of our end, as Redis writes it
 * ("[ip]:port" for IPv6). */
static void
session_format_addr(int fd, int local, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    int rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
                   : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (rc == 0 && ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", ip, port);
        return;
    }
    snprintf(out, cap, "%s:%d", ip, port);
}

void
session_accept(struct proxy *px, int fd, int tls)
{
    int one = 1;
    evutil_make_socket_nonblocking(fd);
    struct conn *conn = tls ? tlsctx_accept(px, fd) : conn_plain_create(fd, NULL);
    if (conn == NULL) {
        close(fd);
        return;
    }
    if ((long long)px->nsessions >= px->cfg.maxclients) {
        static const char err[] = "-ERR max number of clients reached\r\n";
        px->rejected_connections++;
        ssize_t ignored = conn_write(conn, err, sizeof(err) - 1);
        (void)ignored;
        conn_destroy(&conn);
        return;
    }
    if (acl_protected_refuses_fd(px->cfg.protected_mode, access_no_password(px), fd)) {
        px->rejected_connections++;
        ssize_t ignored = conn_write(conn, acl_protected_mode_denied,
                                     strlen(acl_protected_mode_denied));
        (void)ignored;
        conn_destroy(&conn);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct session *s = mem_calloc(sizeof(*s));
    s->id = ++px->next_session_id;
    s->fd = fd;
    s->conn = conn;
    s->px = px;
    s->resp = 2;
    s->ctime_ms = s->last_ms = util_mstime();
    session_format_addr(fd, 0, s->addr, sizeof(s->addr));
    session_format_addr(fd, 1, s->laddr, sizeof(s->laddr));
    resp_parser_init(&s->parser);
    access_session_start(s);
    s->ev = event_new(px->base, fd, EV_READ | EV_PERSIST, session_on_event, s);
    event_add(s->ev, NULL);
    s->next = px->sessions;
    if (px->sessions) {
        px->sessions->prev = s;
    }
    px->sessions = s;
    px->nsessions++;
    px->total_connections++;
}

static void
session_free(struct session *s)
{
    struct proxy *px = s->px;
    pubsub_client_destroy(&s->pubsub); /* no message may reach s once it is freed */
    monitor_session_gone(s);
    tracking_session_gone(s);
    while (s->internal) {
        struct preq *r = s->internal;
        s->internal = r->inext;
        r->s = NULL;
    }
    /* Requests still in flight become orphans the backends free. */
    while (s->head) {
        struct preq *r = s->head;
        s->head = r->next;
        if (r->done) {
            mem_free(r->reply);
            mem_free(r);
        } else {
            r->s = NULL;
        }
    }
    txn_session_gone(s);
    /* A blocking command still waiting: closing its connection unblocks it
     * on the node (the connection goes back to the node's blocking pool). */
    struct backend *blocked_on = s->blocked_on;
    s->blocked_on = NULL;
    if (blocked_on != NULL) {
        backend_close(blocked_on, NULL);
    }
    /* Private write-ack connections close last: their in-flight requests,
     * already orphaned above, are answered into the void. */
    for (size_t g = 0; s->own && g < TOPOLOGY_MAX_GROUPS; g++) {
        if (s->own[g]) {
            backend_forget_pending(px, s->own[g]);
            backend_close(s->own[g], NULL);
            mem_free(s->own[g]);
        }
    }
    mem_free(s->own);
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        px->sessions = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    px->nsessions--;
    if (s->flags & SESSION_PENDING_READ) {
        sockio_forget(px, s);
    }
    event_free(s->ev);
    conn_destroy(&s->conn);
    resp_parser_free(&s->parser);
    mem_free(s->qbuf);
    rbuf_free(&s->out);
    mem_free(s->name);
    mem_free(s->lib_name);
    mem_free(s->lib_ver);
    mem_free(s);
}

void
session_cron(struct proxy *px)
{
    long long now = util_mstime();
    /* Ten times a second is plenty for limits counted in seconds. */
    if (now - px->sessions_cron_ms < 100) {
        return;
    }
    px->sessions_cron_ms = now;
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        if (s->flags & SESSION_CLOSING) {
            continue;
        }
        /* Idle: nothing read, written or waited for; subscribers are
         * exempt, as in Redis. */
        if (px->cfg.timeout > 0 && s->head == NULL && !client_cmd_is_pubsub(s)
            && now - s->last_ms > px->cfg.timeout * 1000) {
            log_info("Closing idle client id=%llu addr=%s", (unsigned long long)s->id, s->addr);
            px->timeout_kills++;
            session_close(s);
            continue;
        }
        if (s->obuf_soft_since_ms != 0) {
            check_output_limit(s);
        }
    }
}

void
session_flush_pending(struct proxy *px)
{
    while (px->pending_writes) {
        struct session *s = px->pending_writes;
        px->pending_writes = s->pw_next;
        s->flags &= ~SESSION_PENDING_WRITE;
        if (!(s->flags & SESSION_CLOSING)) {
            session_write(s);
        }
    }
}

void
session_free_closed(struct proxy *px)
{
    /* A closing session may still be on the pending-write list. */
    struct session **pp = &px->pending_writes;
    while (*pp) {
        if ((*pp)->flags & SESSION_CLOSING) {
            (*pp)->flags &= ~SESSION_PENDING_WRITE;
            *pp = (*pp)->pw_next;
        } else {
            pp = &(*pp)->pw_next;
        }
    }
    while (px->close_list) {
        struct session *s = px->close_list;
        px->close_list = s->close_next;
        session_free(s);
    }
}

void
session_destroy_all(struct proxy *px)
{
    while (px->sessions) {
        session_close(px->sessions);
        session_free_closed(px);
    }
    while (px->preq_pool) {
        struct preq *r = px->preq_pool;
        px->preq_pool = r->next;
        mem_free(r);
    }
    px->npreq_pool = 0;
}

void
session_drop_node(struct proxy *px, struct node *n)
{
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        for (size_t gi = 0; s->own != NULL && gi < px->ngroups; gi++) {
            struct backend *b = s->own[gi];
            if (b != NULL && b->node == n) {
                backend_forget_pending(px, b);
                backend_close(b, "the node is no longer the group's master");
                mem_free(b);
                s->own[gi] = NULL;
            }
        }
    }
}
