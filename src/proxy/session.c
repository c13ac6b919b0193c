/* Client sessions: parse request frames, route them, and release replies in
 * request order.  A request is a struct preq on the session's FIFO; replies
 * for the FIFO's head go straight to the output buffer, later ones wait in
 * their preq until everything before them is answered.  Commands the proxy
 * answers itself (PING, HELLO, AUTH, INFO...) take the same FIFO, so order
 * holds for them too.  What a request does (local answer or routing) is
 * session_request.c. */
#include "proxy/session.h"
#include "proxy/sockio.h"
#include "config.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/resp_scan.h"
#include "core/status.h"
#include "core/util.h"
#include "proxy/blockmux.h"
#include "proxy/access.h"
#include "proxy/backend.h"
#include "proxy/client_cmd.h"
#include "proxy/cursor.h"
#include "proxy/fanout.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/script.h"
#include "proxy/session_int.h"
#include "proxy/tlsctx.h"
#include "proxy/topology.h"
#include "proxy/tracking.h"
#include "proxy/txn.h"

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
    /* (A session with no subscription is no pub/sub client: no call.) */
    int pubsub = s->pubsub != NULL && client_cmd_is_pubsub(s);
    const struct proxy_cob *lim = &px->cfg.cob[pubsub ? PROXY_COB_PUBSUB : PROXY_COB_NORMAL];
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

int
session_undone(const struct session *s, const struct backend *on, const struct backend *other,
               const struct preq *skip)
{
    for (const struct preq *r = s->head; r != NULL; r = r->next) {
        if (!r->done && r != skip && (on == NULL || r->backend == on)
            && (other == NULL || r->backend != other)) {
            return 1;
        }
    }
    return 0;
}

size_t
session_memory(const struct session *s)
{
    return sizeof(*s) + s->qcap + s->out.cap + s->held + txn_memory(s->txn);
}

/* Stop counting s (it closes, or the limit went off). */
static void
uncount_memory(struct session *s)
{
    struct proxy *px = s->px;
    px->clients_mem -= s->mem_counted;
    if (!(s->flags & SESSION_NO_EVICT)) {
        px->clients_mem_evictable -= s->mem_counted;
    }
    s->mem_counted = 0;
}

/* With maxmemory-clients on, s's share of the total follows what it takes
 * now (nothing is counted when it is off: no cost on the request path). */
static inline void
count_memory(struct session *s)
{
    struct proxy *px = s->px;
    if (px->cfg.maxmemory_clients > 0 && !(s->flags & SESSION_CLOSING)) {
        uncount_memory(s);
        s->mem_counted = session_memory(s);
        px->clients_mem += s->mem_counted;
        if (!(s->flags & SESSION_NO_EVICT)) {
            px->clients_mem_evictable += s->mem_counted;
        }
    }
}

void
session_set_no_evict(struct session *s, int on)
{
    uncount_memory(s); /* counted again under its new flag */
    s->flags = on ? s->flags | SESSION_NO_EVICT : s->flags & ~SESSION_NO_EVICT;
    count_memory(s);
}

int
session_count_all(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct proxy *px = ctx;
    (void)def;
    (void)err;
    (void)errlen;
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        uncount_memory(s);
        count_memory(s);
    }
    return 0;
}

static int
by_memory_desc(const void *a, const void *b)
{
    size_t x = (*(struct session *const *)a)->mem_counted;
    size_t y = (*(struct session *const *)b)->mem_counted;
    return x < y ? 1 : x > y ? -1 : 0;
}

void
session_evict(struct proxy *px)
{
    unsigned long long limit = px->cfg.maxmemory_clients;
    if (limit == 0 || px->clients_mem <= limit) {
        px->clients_over_logged = 0;
        return;
    }
    if (px->clients_mem_evictable == 0) {
        /* Only NO-EVICT clients' memory is left: said once, not at every
         * loop turn (Redis's words). */
        if (!px->clients_over_logged) {
            log_warn("Over client maxmemory after evicting all evictable clients");
            px->clients_over_logged = 1;
        }
        return;
    }
    /* Rare (the clients outgrew the limit): every candidate, the largest
     * first.  Never a client with NO-EVICT on. */
    size_t n = 0, cap = 64;
    struct session **all = mem_alloc(cap * sizeof(*all));
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        if (!(s->flags & (SESSION_CLOSING | SESSION_NO_EVICT))) {
            if (n == cap) {
                cap *= 2;
                all = mem_realloc(all, cap * sizeof(*all));
            }
            all[n++] = s;
        }
    }
    qsort(all, n, sizeof(*all), by_memory_desc);
    for (size_t i = 0; i < n && px->clients_mem > limit; i++) {
        struct session *s = all[i];
        log_info("Evicting client: id=%llu addr=%s tot-mem=%zu (maxmemory-clients %llu, "
                 "clients take %zu)", (unsigned long long)s->id, s->addr, s->mem_counted,
                 limit, px->clients_mem);
        px->evicted_clients++;
        uncount_memory(s);
        session_close(s);
    }
    mem_free(all);
}

/* check_output_limit after a reply, without the call when no limit can
 * apply: a session with no subscription under a normal class with no
 * limits (Redis's default, 0 0 0). */
static inline void
after_output(struct session *s)
{
    count_memory(s);
    const struct proxy_cob *normal = &s->px->cfg.cob[PROXY_COB_NORMAL];
    if (s->pubsub == NULL && normal->hard == 0 && normal->soft == 0) {
        s->obuf_soft_since_ms = 0;
        return;
    }
    check_output_limit(s);
}

static void
out_append(struct session *s, const char *p, size_t len)
{
    if (s->flags & SESSION_CLOSING) {
        return; /* nobody will read it */
    }
    rbuf_add(&s->out, p, len);
    after_output(s);
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
    uncount_memory(s); /* its memory goes at once for maxmemory-clients */
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
    /* Cleared 64 bytes at a time: GCC 12 makes one memset of this size
     * (236 bytes) a rep stosq, 17-18 ns here against 4 for the vector
     * stores it makes of these, on every request. */
    char *p = (char *)r;
    size_t n = offsetof(struct preq, retry_small), i = 0;
    for (; i + 64 <= n; i += 64) {
        memset(p + i, 0, 64);
    }
    memset(p + i, 0, n - i);
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

static void run_flush(struct session *s, struct preq *r);

/* Release every answered request at the head of the FIFO (and the replies
 * a run that is first now holds). */
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
    if (s->head != NULL && s->head->more > 0 && s->head->reply != NULL) {
        run_flush(s, s->head);
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

/* Keep a reply of r, which an earlier request of s holds back, after
 * those r holds already (a run's). */
static void
hold_reply(struct session *s, struct preq *r, const char *reply, size_t len)
{
    if (r->reply == NULL) {
        r->reply = mem_alloc(len ? len : 1);
    } else if (len > 0) {
        r->reply = mem_realloc(r->reply, r->reply_len + len);
    }
    memcpy(r->reply + r->reply_len, reply, len);
    r->reply_len += len;
    s->held += len;
    after_output(s);
}

/* The replies a run's request held while it was not first go out. */
static void
run_flush(struct session *s, struct preq *r)
{
    s->held -= r->reply_len;
    out_append(s, r->reply, r->reply_len);
    mem_free(r->reply);
    r->reply = NULL;
    r->reply_len = 0;
}

/* One reply of a run that is not its last: out at once when the run is
 * first in s's FIFO, else held in it. */
static void
run_reply(struct session *s, struct preq *r, const char *reply, size_t len)
{
    r->more--;
    if (s->head == r) {
        if (r->reply != NULL) {
            run_flush(s, r);
        }
        out_append(s, reply, len);
        queue_write(s);
        return;
    }
    if (!(s->flags & SESSION_CLOSING)) {
        hold_reply(s, r, reply, len);
    }
}

/* Did a blocking command's reply serve (write something)?  Not its
 * timeout's null (*-1, $-1 or RESP3's _) nor an error (-UNBLOCKED...). */
static int
blocking_served(const char *reply, size_t len)
{
    if (len == 0 || reply[0] == '-' || reply[0] == '_') {
        return 0;
    }
    return !(len == 5 && (reply[0] == '*' || reply[0] == '$') && reply[1] == '-'
             && reply[2] == '1');
}

/* A write-ack write answered: its reply waits in r until its WAIT answers
 * (on_wait_reply). */
static void
hold_for_ack(struct preq *r, const char *reply, size_t len)
{
    r->reply = mem_alloc(len ? len : 1);
    memcpy(r->reply, reply, len);
    r->reply_len = len;
    r->ack_held = 1;
}

void
session_deliver(struct preq *r, const char *reply, size_t len)
{
    struct session *s = r->s;
    if (r->more > 0) {
        /* A run's reply, not its last (a run is a plain request: none of
         * the cases below is one; a write run's frames stay kept). */
        if (s == NULL) {
            r->more--; /* an orphan waits for its last */
            return;
        }
        s->pending--;
        run_reply(s, r, reply, len);
        return;
    }
    if (r->on_replica) {
        /* (A write held behind it goes on: txn_progress, below.) */
        r->on_replica = 0;
        if (s != NULL) {
            s->replica_reads--;
        }
    }
    if (r->txn_fx != NULL) {
        size_t n;
        char *fixed = txn_exec_replied(r, reply, len, &n);
        if (fixed != NULL) { /* r->txn_fx is gone: delivered as any reply */
            session_deliver(r, fixed, n);
            mem_free(fixed);
            return;
        }
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
        if (r->ack_waiting && !r->ack_held) {
            hold_for_ack(r, reply, len); /* a split write's part */
            return;
        }
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
    if (r->block_write) {
        int ack = r->block_ack;
        r->block_write = r->block_ack = 0;
        if (s != NULL && blocking_served(reply, len)) {
            /* It popped (or moved to the PEL): the WAIT goes behind it on
             * its connection, which the node's WAIT then covers, and the
             * session's reads go to the master until a replica has it. */
            if (ack) {
                session_ack_after(s, r->node->group, r);
            }
            session_track_write(s, r->node, ack ? r->backend : NULL);
        }
    }
    if (r->ack_waiting && !r->ack_held) {
        hold_for_ack(r, reply, len);
        return;
    }
    if (s == NULL) {
        /* The client left; the reply has nobody to go to. */
        mem_free(r->reply);
        mem_free(r);
        return;
    }
    s->pending--;
    if (s->txn_hold || s->txn != NULL) {
        txn_progress(s, r);
    }
    if (r->silent) {
        len = 0; /* CLIENT REPLY OFF/SKIP: in order, but nothing */
    }
    if (s->head == r) {
        s->head = r->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        if (r->reply != NULL) {
            run_flush(s, r); /* a run's earlier replies */
        }
        out_append(s, reply, len);
        preq_release(s->px, r);
        release_ready(s);
        return;
    }
    if (s->flags & SESSION_CLOSING) {
        len = 0; /* nobody will read it */
    }
    hold_reply(s, r, reply, len);
    r->done = 1;
}

void
session_deliver_run(struct preq *r, const char *replies, size_t len, unsigned n)
{
    struct session *s = r->s;
    if (n <= r->more) {
        /* Not its last: r stays for more. */
        r->more -= n;
        if (s != NULL) {
            s->pending -= n;
            r->more++; /* run_reply counts one */
            run_reply(s, r, replies, len);
        }
        return;
    }
    if (s != NULL) {
        s->pending -= n - 1; /* session_deliver counts the last */
    }
    r->more = 0;
    session_deliver(r, replies, len);
}

struct preq *
session_run_split(struct preq *r)
{
    struct session *s = r->s;
    struct backend *b = r->backend;
    size_t left = (size_t)r->more + 1, total = 0, off = 0;
    struct resp_scan sc;
    /* The frames kept: the first (total - left) were answered. */
    while (off < r->retry_len) {
        resp_scan_init(&sc);
        if (resp_scan_next(&sc, r->retry_frame + off, r->retry_len - off) != 1) {
            break; /* cannot happen: the proxy wrote them whole */
        }
        off += sc.pos;
        total++;
    }
    if (total < left) {
        return r; /* (as above) the run goes on as it is */
    }
    off = 0;
    for (size_t i = 0; i < total - left; i++) {
        resp_scan_init(&sc);
        resp_scan_next(&sc, r->retry_frame + off, r->retry_len - off);
        off += sc.pos;
    }
    struct preq *first = NULL, *last = NULL;
    for (size_t i = 0; i < left; i++) {
        resp_scan_init(&sc);
        resp_scan_next(&sc, r->retry_frame + off, r->retry_len - off);
        struct preq *q = preq_alloc(s->px);
        q->s = s;
        q->affinity = r->affinity;
        q->select_db = r->select_db;
        q->resp3 = r->resp3;
        q->node = r->node;
        q->backend = b;
        q->sent_us = r->sent_us;
        q->retry_frame = sc.pos <= sizeof(q->retry_small) ? q->retry_small : mem_alloc(sc.pos);
        memcpy(q->retry_frame, r->retry_frame + off, sc.pos);
        q->retry_len = sc.pos;
        off += sc.pos;
        if (last != NULL) {
            last->bnext = q;
            last->next = q;
        } else {
            first = q;
        }
        last = q;
    }
    /* In r's place on the connection, right after it in the FIFO. */
    last->bnext = r->bnext;
    b->head = first;
    if (b->tail == r) {
        b->tail = last;
    }
    r->bnext = NULL;
    last->next = r->next;
    r->next = first;
    if (s->tail == r) {
        s->tail = last;
    }
    if (s->run == r) {
        s->run = NULL;
    }
    mem_free(r->retry_frame);
    r->retry_frame = NULL;
    r->run_kept = 0;
    r->more = 0;
    /* r is answered with what it had. */
    if (s->head == r) {
        if (r->reply != NULL) {
            run_flush(s, r);
        }
        s->head = first;
        preq_release(s->px, r);
    } else {
        if (r->reply == NULL) {
            r->reply = mem_alloc(1);
        }
        r->done = 1;
    }
    return first;
}

struct preq *
session_preq_new(struct session *s)
{
    struct preq *r = preq_alloc(s->px);
    r->s = s;
    r->affinity = s->id;
    r->select_db = s->db + 1;
    r->resp3 = s->resp == 3;
    r->silent = s->cur_silent && !s->pushing;
    s->run = NULL; /* a request after a run ends it (forward makes r one) */
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
    return session_preq_new(s);
}

/* A reply the proxy makes itself, in request order. */
void
session_local_reply(struct session *s, const char *p, size_t len)
{
    if (s->cur_silent && !s->pushing) {
        return; /* CLIENT REPLY OFF/SKIP */
    }
    if (s->head == NULL) {
        out_append(s, p, len);
        queue_write(s);
        return;
    }
    struct preq *r = session_preq_new(s);
    session_deliver(r, p, len);
}

void
session_reply(struct session *s, const char *p, size_t len)
{
    session_local_reply(s, p, len);
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
    session_local_reply(s, buf, n);
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

void
session_hold_input(struct session *s, int on)
{
    s->input_held = on;
    if (!on) {
        session_resume(s);
    }
}

static void
process_input(struct session *s)
{
    /* After a blocking command nothing more runs until it completes, as on
     * one Redis connection (session_resume goes on). */
    while (!(s->flags & SESSION_CLOSING)
           && (!(s->flags & SESSION_CLOSE_AFTER_REPLY) || (s->flags & SESSION_EOF))
           && s->blocked_on == NULL && !s->input_held) {
        const char *frame = s->qbuf + s->qpos;
        /* Redis's limits, read each time (a reload or an AUTH changes them):
         * before AUTH only small frames, as the node allows. */
        s->parser.max_bulk_len = (long long)s->px->cfg.proto_max_bulk_len;
        s->parser.unauthenticated = !(s->flags & SESSION_AUTHENTICATED);
        int rc = resp_parser_next_quick(&s->parser, frame, s->qlen - s->qpos);
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
            session_handle_request(s, frame, s->parser.consumed);
            if (s->txn_hold) {
                break; /* held (txn.c): parsed again when resumed */
            }
        }
        s->qpos += s->parser.consumed;
    }
    s->run = NULL; /* a run is this input's */
    if (s->txn != NULL) {
        txn_drained(s);
    }
    count_memory(s);
    if (s->qpos > 0 && s->qpos == s->qlen) {
        s->qlen = s->qpos = 0; /* all consumed, the usual case */
    } else if (s->qpos > 0) {
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
    /* The usual case after a write, reading with nothing to wait for, as
     * the event already is: decided from the flags at once. */
    if (!want_write && !s->read_wants_write
        && !(s->flags & (SESSION_CLOSE_AFTER_REPLY | SESSION_READ_OFF | SESSION_WRITE_ARMED))) {
        return;
    }
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
        s->last_ms = proxy_turn_us(s->px) / 1000;
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
        s->last_ms = proxy_turn_us(s->px) / 1000;
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
    s->last_ms = proxy_turn_us(s->px) / 1000;
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
    s->ctime_ms = s->last_ms = proxy_turn_us(s->px) / 1000;
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
    blockmux_session_gone(s); /* a multiplexed one: CACHELY.UNBLOCK (blockmux.c) */
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
    mem_free(s->ryw_more);
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
        count_memory(s); /* (replies released since: held for order no more) */
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
