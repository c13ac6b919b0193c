/* Blocking commands on the pooled connections.  A session's BLPOP (or any
 * CMD_BLOCKING command) goes to the owning master as
 * CACHELY.BLOCK <tag> <its arguments> on the pooled connection the
 * session's other requests use.  The node answers it with no in-order
 * reply, only one push, >3 cachely-block <tag> <reply>, whenever the wait
 * ends; the push's reply goes to the session as it is (the connection
 * speaks the session's protocol).  A wait is a tag in one table: the push
 * finds its session there, and a session, a connection or a master that
 * goes away finds its waits there.  Nodes without the command keep the
 * dedicated connections (backend.c: backend_take_blocking). */
#include "proxy/blockmux.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/session_int.h"
#include "proxy/topology.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One outstanding CACHELY.BLOCK. */
struct bmux_wait {
    uint64_t tag;
    struct session *s;           /* borrowed: the waiting session (its mux_wait) */
    struct preq *r;              /* borrowed from s's FIFO: answered by the push */
    struct backend *b;           /* borrowed: the pooled connection it went on */
    struct bmux_wait *next;      /* in the spare list, once freed */
    /* Sent before its connection's probe answered (provisional): the
     * client's frame, to send on a dedicated connection if refused. */
    char *frame;                 /* owned, or NULL */
    size_t frame_len;
    const struct command *cmd;   /* borrowed from the command table */
};

/* The proxy's waits by tag: open addressing, linear probing.  Tags come
 * from a counter, so tag & mask spreads them evenly and a wait mostly sits
 * in its home slot.  A removed wait leaves a tombstone: the live tags are
 * a sliding window, one run of slots, which a backward-shift removal
 * would walk to its end every time. */
struct blockmux {
    uint64_t next_tag;           /* the last tag given; never reused */
    struct bmux_wait **slots;    /* owned array of cap (the waits: owned), NULL
                                    or TOMBSTONE where there is none */
    size_t cap, count, dead;     /* dead: tombstones */
    struct bmux_wait *spare;     /* owned list (next) of freed waits: a wait
                                    per exchange made malloc/free a tenth of the
                                    proxy's instructions per BLPOP */
    size_t nspare;
};

/* Keep up to this many freed waits for reuse. */
#define BLOCKMUX_SPARE_MAX 256

static struct bmux_wait tombstone;
#define TOMBSTONE (&tombstone)

static struct blockmux *
table_of(struct proxy *px)
{
    if (px->bmux == NULL) {
        px->bmux = mem_calloc(sizeof(*px->bmux));
    }
    return px->bmux;
}

static void
table_insert(struct blockmux *t, struct bmux_wait *w)
{
    if (2 * (t->count + t->dead + 1) > t->cap) {
        /* Rebuilt without tombstones; grown when the waits fill half. */
        size_t old_cap = t->cap;
        struct bmux_wait **old = t->slots;
        t->cap = old_cap == 0 ? 64 : 4 * (t->count + 1) > old_cap ? old_cap * 2 : old_cap;
        t->slots = mem_calloc(t->cap * sizeof(*t->slots));
        t->count = t->dead = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i] != NULL && old[i] != TOMBSTONE) {
                table_insert(t, old[i]);
            }
        }
        mem_free(old);
    }
    /* A new tag is in no slot: the first free one of its run takes it. */
    size_t mask = t->cap - 1, i = (size_t)w->tag & mask;
    while (t->slots[i] != NULL && t->slots[i] != TOMBSTONE) {
        i = (i + 1) & mask;
    }
    t->dead -= t->slots[i] == TOMBSTONE;
    t->slots[i] = w;
    t->count++;
}

/* The slot of tag, or cap when there is no such wait. */
static size_t
table_find(const struct blockmux *t, uint64_t tag)
{
    if (t == NULL || t->count == 0) {
        return t ? t->cap : 0;
    }
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)tag & mask;; i = (i + 1) & mask) {
        if (t->slots[i] == NULL) {
            return t->cap;
        }
        if (t->slots[i] != TOMBSTONE && t->slots[i]->tag == tag) {
            return i;
        }
    }
}

static void
table_remove_at(struct blockmux *t, size_t i)
{
    t->slots[i] = TOMBSTONE;
    t->count--;
    t->dead++;
}

/* Forget w (found at slot i): its session waits no more. */
static void
wait_forget(struct blockmux *t, size_t i)
{
    struct bmux_wait *w = t->slots[i];
    table_remove_at(t, i);
    w->b->node->mux_waits--;
    mem_free(w->frame);
    w->frame = NULL;
    if (w->s != NULL && w->s->mux_wait == w) {
        w->s->mux_wait = NULL;
        if (w->s->blocked_on == w->b) {
            w->s->blocked_on = NULL;
        }
    }
    if (t->nspare < BLOCKMUX_SPARE_MAX) {
        w->next = t->spare;
        t->spare = w;
        t->nspare++;
    } else {
        mem_free(w);
    }
}

static int
in_pool(const struct proxy *px, const struct backend *b)
{
    const struct node *n = b->node;
    return n->pool != NULL && b >= n->pool && b < n->pool + 2 * px->cfg.pool_size;
}

static void wait_forget(struct blockmux *t, size_t i);

/* A CACHELY.BLOCK sent behind the probe, on the node's word (INFO's
 * tagged_waits), keeps a place in the in-order list: should the probe be
 * refused, the node answers it in order too, and this takes that reply
 * (the command did not run).  Removed once the probe is answered :0.
 * ctx: the connection; probe_seq: the wait's tag. */
static void
on_provisional_reply(struct preq *m, const char *reply, size_t len)
{
    struct backend *b = m->ctx;
    struct proxy *px = b->node->px;
    struct blockmux *t = px->bmux;
    size_t i = table_find(t, m->probe_seq);
    if (b->fd < 0 || t == NULL || i == t->cap || t->slots[i]->b != b) {
        return; /* closed (the waits got its error), or the client left */
    }
    /* Refused before anything ran: the command goes on a dedicated
     * connection, as it would have from the start. */
    struct bmux_wait *w = t->slots[i];
    struct session *s = w->s;
    struct preq *r = w->r;
    struct node *n = b->node;
    const struct command *cmd = w->cmd;
    char *frame = w->frame;
    size_t flen = w->frame_len;
    w->frame = NULL;
    wait_forget(t, i);
    int exhausted = 0;
    struct backend *d = n->up && frame != NULL ? backend_take_blocking(px, n, s, &exhausted)
                                               : NULL;
    if (d != NULL && backend_send(px, n, d, r, frame, flen) == 0) {
        mem_free(frame);
        return;
    }
    if (d != NULL) {
        backend_release_blocking(d);
    }
    mem_free(frame);
    char err[400];
    int k = exhausted
                ? snprintf(err, sizeof(err), "-ERR cachely-proxy: all %lld blocking connections "
                           "to %s are in use (blocking-pool-size); '%s' refused\r\n",
                           px->cfg.blocking_pool_size, n->name, cmd->name)
                : snprintf(err, sizeof(err), "-ERR cachely-proxy: %s refused CACHELY.BLOCK "
                           "(%.*s); the command was not executed\r\n", n->name,
                           (int)(len > 3 ? (len > 100 ? 100 : len - 3) : 0), reply + 1);
    n->errors++;
    session_deliver(r, err, (size_t)k);
    if (s != NULL) {
        session_resume(s);
    }
}

/* The second half of the probe (CACHELY.UNBLOCK 0): its :0 is the reply
 * on_probe_reply sees when the first half was accepted. */
static void
on_probe_tail(struct preq *r, const char *reply, size_t len)
{
    (void)r;
    (void)reply;
    (void)len;
}

/* The in-order reply after the probe's CACHELY.BLOCK: when the node took
 * it, that command's outcome was a push (dropped: tag 0 is never a wait's)
 * and this is the :0 of the CACHELY.UNBLOCK behind it; otherwise it is its
 * error (unknown command, NOPERM for the proxy's user), and the node's
 * blocking commands keep dedicated connections. */
static void
on_probe_reply(struct preq *r, const char *reply, size_t len)
{
    struct backend *b = r->ctx;
    if (b == NULL || r->backend != b || b->fd < 0) {
        return;
    }
    b->mux_probing = 0;
    b->mux_ready = len >= 2 && reply[0] == ':';
    if (b->mux_ready && b->head != NULL && b->head->on_reply == on_probe_tail) {
        struct preq *tail = b->head; /* answered: that was its reply */
        b->head = tail->bnext;
        if (b->tail == tail) {
            b->tail = NULL;
        }
        b->inflight--;
        mem_free(tail);
    }
    if (!b->mux_ready) {
        if (!b->node->mux_refused) {
            log_warn("Node %s refused CACHELY.BLOCK (%.*s): its blocking commands use "
                     "dedicated connections", b->node->name,
                     (int)(len > 2 ? (len > 80 ? 80 : len - 2) : 0), reply);
        }
        b->node->mux_refused = 1;
        return;
    }
    b->node->mux_refused = 0;
    /* The provisional places behind the probe get no reply: out. */
    struct preq *prev = NULL, *q = b->head;
    while (q != NULL) {
        struct preq *next = q->bnext;
        if (q->on_reply == on_provisional_reply) {
            if (prev != NULL) {
                prev->bnext = next;
            } else {
                b->head = next;
            }
            if (b->tail == q) {
                b->tail = prev;
            }
            b->inflight--;
            mem_free(q);
        } else {
            prev = q;
        }
        q = next;
    }
}

/* Before b's first CACHELY.BLOCK: ask the node whether this connection may
 * carry it: CACHELY.BLOCK 0 XREAD STREAMS <key> 0 (answered at once, by a
 * push, where the command exists and the proxy's user may run it; by an
 * in-order error otherwise), and CACHELY.UNBLOCK 0 (:0) behind it.  Asked
 * by the first blocking command, not at connect: connections that never
 * carry one (replicas') never see it. */
static void
probe(struct proxy *px, struct backend *b)
{
    static const char probe[] = "*6\r\n$13\r\nCACHELY.BLOCK\r\n$1\r\n0\r\n$5\r\nXREAD\r\n"
                                "$7\r\nSTREAMS\r\n$19\r\ncachely-proxy:probe\r\n$1\r\n0\r\n";
    static const char probe_tail[] = "*2\r\n$15\r\nCACHELY.UNBLOCK\r\n$1\r\n0\r\n";
    if (!in_pool(px, b)) {
        return; /* dedicated, transaction and write-ack connections never carry it */
    }
    struct preq *r = mem_calloc(sizeof(*r)), *t = mem_calloc(sizeof(*t));
    r->on_reply = on_probe_reply;
    r->ctx = b;
    t->on_reply = on_probe_tail;
    if (backend_send(px, b->node, b, r, probe, sizeof(probe) - 1) != 0) {
        mem_free(r);
        mem_free(t);
        return;
    }
    if (backend_send(px, b->node, b, t, probe_tail, sizeof(probe_tail) - 1) != 0) {
        mem_free(t); /* cannot happen: the first one went */
    }
    b->mux_probing = 1;
}

long long
blockmux_waits(const struct proxy *px)
{
    return px->bmux ? (long long)px->bmux->count : 0;
}

/* The node's in-order reply to our CACHELY.UNBLOCK: nothing to do (with
 * :0 the push came earlier, or comes, and is dropped as unknown). */
static void
on_unblock_reply(struct preq *r, const char *reply, size_t len)
{
    (void)r;
    (void)reply;
    (void)len;
}

/* Queue CACHELY.UNBLOCK <tag> [mode] on b; r carries its reply (the
 * caller's, or an internal one). */
static int
send_unblock(struct proxy *px, struct backend *b, struct preq *r, uint64_t tag,
             const char *mode)
{
    char frame[128], num[24];
    size_t nl = util_ull2str(num, tag);
    int k = mode ? snprintf(frame, sizeof(frame), "*3\r\n$15\r\nCACHELY.UNBLOCK\r\n$%zu\r\n%s\r\n"
                            "$%zu\r\n%s\r\n", nl, num, strlen(mode), mode)
                 : snprintf(frame, sizeof(frame), "*2\r\n$15\r\nCACHELY.UNBLOCK\r\n$%zu\r\n%s\r\n",
                            nl, num);
    r->select_db = 0; /* any database */
    return backend_send(px, b->node, b, r, frame, (size_t)k);
}

static void
withdraw(struct proxy *px, struct bmux_wait *w)
{
    if (w->b->fd < 0) {
        return; /* closed: the node dropped the wait with the connection */
    }
    struct preq *u = mem_calloc(sizeof(*u));
    u->on_reply = on_unblock_reply;
    if (send_unblock(px, w->b, u, w->tag, NULL) != 0) {
        mem_free(u);
    }
}

/* Remove r (the tail of b's in-flight list, just queued) from that list:
 * the node gives CACHELY.BLOCK no in-order reply.  A provisional place
 * (marker, when not NULL) takes its position instead. */
static void
untrack(struct backend *b, struct preq *r, struct preq *before, struct preq *marker)
{
    struct preq *prev = NULL;
    for (struct preq *q = before ? before : b->head; q != r; q = q->bnext) {
        prev = q;
    }
    if (marker != NULL) {
        marker->node = r->node;
        marker->backend = b;
        marker->sent_us = r->sent_us;
        marker->bnext = NULL;
    }
    if (prev != NULL) {
        prev->bnext = marker;
    } else {
        b->head = marker;
    }
    b->tail = marker != NULL ? marker : prev;
    b->inflight -= marker == NULL;
}

int
blockmux_forward(struct session *s, struct preq *r, struct node *n, const struct command *cmd,
                 size_t argc, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    long long limit = px->cfg.blocking_pool_size * BLOCKMUX_WAITS_PER_SLOT;
    char err[400];
    int k;

    if (!px->cfg.blocking_mux || !n->up) {
        return 0;
    }
    /* A connection whose probe is still out goes on the node's word (its
     * INFO), as the probe's failure closes it (on_probe_reply). */
    /* Under write-ack a write's WAIT blocks the connection it follows on:
     * such a command goes on the session's private connection, as its
     * other writes do, so that no other session's requests wait behind it. */
    struct backend *b = r->block_ack ? session_own_connection(s, n->group)
                                     : backend_pick(px, n, r->affinity, r->resp3);
    if (b != NULL && !b->mux_ready && !b->mux_probing && n->mux_ok && !n->mux_refused) {
        probe(px, b);
    }
    if (b == NULL || !(b->mux_ready || (b->mux_probing && n->mux_ok && !n->mux_refused))) {
        return 0;
    }
    struct blockmux *t = table_of(px);
    if (n->mux_waits >= limit) {
        px->route_errors++;
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %lld blocking commands already "
                     "wait on %s (blocking-pool-size x %d); '%s' refused\r\n", n->mux_waits,
                     n->name, BLOCKMUX_WAITS_PER_SLOT, cmd->name);
        session_deliver(r, err, (size_t)k);
        return 1;
    }
    const char *args = memchr(frame, '\n', len);
    if (args == NULL) {
        return 0; /* cannot happen: a multibulk frame */
    }
    args++;
    /* *<argc + 2> CACHELY.BLOCK <tag>, then the client's arguments as sent
     * (spelled out: snprintf was a sixth of the proxy's instructions per
     * BLPOP/LPUSH exchange). */
    uint64_t tag = ++t->next_tag;
    char head[96], num[24];
    size_t nl = util_ull2str(num, tag), hl = 0;
    head[hl++] = '*';
    if (argc + 2 < 10) {
        head[hl++] = (char)('0' + argc + 2); /* the usual case: no conversion */
    } else {
        hl += util_ull2str(head + hl, argc + 2);
    }
    static const char name[] = "\r\n$13\r\nCACHELY.BLOCK\r\n$";
    memcpy(head + hl, name, sizeof(name) - 1);
    hl += sizeof(name) - 1;
    if (nl >= 10) {
        head[hl++] = (char)('0' + nl / 10); /* a tag has at most 20 digits */
    }
    head[hl++] = (char)('0' + nl % 10);
    head[hl++] = '\r';
    head[hl++] = '\n';
    memcpy(head + hl, num, nl);
    hl += nl;
    head[hl++] = '\r';
    head[hl++] = '\n';
    size_t rest = len - (size_t)(args - frame), total = hl + rest;
    char stack[512];
    char *msg = total <= sizeof(stack) ? stack : mem_alloc(total);
    memcpy(msg, head, hl);
    memcpy(msg + hl, args, rest);
    struct preq *before = b->tail;
    int rc = backend_send(px, n, b, r, msg, total);
    if (msg != stack) {
        mem_free(msg);
    }
    if (rc != 0) {
        px->route_errors++;
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n", n->name);
        session_deliver(r, err, (size_t)k);
        return 1;
    }
    struct preq *marker = NULL;
    if (!b->mux_ready) {
        marker = mem_calloc(sizeof(*marker));
        marker->on_reply = on_provisional_reply;
        marker->ctx = b;
        marker->probe_seq = tag;
    }
    untrack(b, r, before, marker);
    struct bmux_wait *w = t->spare;
    if (w != NULL) {
        t->spare = w->next;
        t->nspare--;
    } else {
        w = mem_alloc(sizeof(*w));
    }
    w->tag = tag;
    w->frame = NULL;
    w->cmd = cmd;
    if (marker != NULL) {
        w->frame = mem_alloc(len);
        memcpy(w->frame, frame, len);
        w->frame_len = len;
    }
    w->s = s;
    w->r = r;
    w->b = b;
    table_insert(t, w);
    n->mux_waits++;
    s->mux_wait = w;
    s->blocked_on = b; /* its input waits for the push */
    px->routed_master++;
    return 1;
}

/* The push of tag, read on b, answers its wait with reply (its bytes). */
static void
push_deliver(struct backend *b, uint64_t tag, const char *reply, size_t len)
{
    struct proxy *px = b->node->px;
    struct blockmux *t = px->bmux;
    size_t i = table_find(t, tag);
    if (t == NULL || i == t->cap || t->slots[i]->b != b) {
        /* Withdrawn (the client left or an error answered it): dropped. */
        return;
    }
    struct bmux_wait *w = t->slots[i];
    struct session *s = w->s;
    struct preq *r = w->r;
    wait_forget(t, i);
    session_deliver(r, reply, len);
    if (s != NULL) {
        session_resume(s);
    }
}

/* The envelope's fixed head, up to the tag's digits. */
static const char push_env[] = ">3\r\n$13\r\ncachely-block\r\n:";

/* After the envelope's head at frame[0..len): the tag and where the reply
 * starts, or NULL when the tag line is not whole and plain. */
static inline const char *
push_tag(const char *frame, size_t len, uint64_t *tag)
{
    const char *p = frame + sizeof(push_env) - 1, *end = frame + len;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
        return NULL;
    }
    *tag = v;
    return p + 2;
}

int
blockmux_push(struct backend *b, const char *frame, size_t len)
{
    uint64_t tag;
    const char *p;
    if (len <= sizeof(push_env) - 1 || memcmp(frame, push_env, sizeof(push_env) - 1) != 0
        || (p = push_tag(frame, len, &tag)) == NULL) {
        return 0; /* not ours after all: an in-order reply breaks the connection */
    }
    push_deliver(b, tag, p, (size_t)(frame + len - p));
    return 1;
}

size_t
blockmux_take_push(struct backend *b, const char *buf, size_t len)
{
    uint64_t tag;
    const char *p;
    struct resp_scan sc;
    if (len <= sizeof(push_env) + 2 || memcmp(buf, push_env, sizeof(push_env) - 1) != 0
        || (p = push_tag(buf, len, &tag)) == NULL) {
        return 0;
    }
    resp_scan_init(&sc);
    if (resp_scan_next(&sc, p, (size_t)(buf + len - p)) != 1) {
        return 0; /* not whole yet (or not RESP): the general scan judges it */
    }
    size_t total = (size_t)(p - buf) + sc.pos;
    push_deliver(b, tag, p, sc.pos);
    return total;
}

/* Answer every wait that match() selects with err and forget it; withdraw
 * it on the node first when asked. */
static void
fail_waits(struct proxy *px, int (*match)(const struct bmux_wait *w, const void *arg),
           const void *arg, const char *err, size_t errlen, int do_withdraw)
{
    struct blockmux *t = px->bmux;
    if (t == NULL || t->count == 0) {
        return;
    }
    /* Collected first (by tag: answering one may end others, and a freed
     * wait is reused). */
    size_t n = 0;
    uint64_t *hit = mem_alloc(t->count * sizeof(*hit));
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != NULL && t->slots[i] != TOMBSTONE && match(t->slots[i], arg)) {
            hit[n++] = t->slots[i]->tag;
        }
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = table_find(t, hit[k]);
        if (i == t->cap) {
            continue;
        }
        struct bmux_wait *w = t->slots[i];
        struct session *s = w->s;
        struct preq *r = w->r;
        struct node *node = w->b->node;
        if (do_withdraw) {
            withdraw(px, w);
        }
        wait_forget(t, i);
        node->errors++;
        session_deliver(r, err, errlen);
        if (s != NULL) {
            session_resume(s);
        }
    }
    mem_free(hit);
}

static int
on_backend(const struct bmux_wait *w, const void *arg)
{
    return w->b == arg;
}

static int
on_node(const struct bmux_wait *w, const void *arg)
{
    return w->b->node == arg;
}

void
blockmux_backend_closed(struct backend *b, const char *why, int sent)
{
    struct proxy *px = b->node->px;
    /* The next connection asks again (the node may come back as another
     * version, or with other ACL rules). */
    b->mux_ready = b->mux_probing = 0;
    if (px->bmux == NULL || px->bmux->count == 0) {
        return;
    }
    char err[512];
    size_t n = backend_lost_error(b, why, sent, err, sizeof(err));
    fail_waits(px, on_backend, b, err, n, 0);
}

void
blockmux_node_demoted(struct proxy *px, struct node *n, const char *why)
{
    if (px->bmux == NULL || px->bmux->count == 0) {
        return;
    }
    char err[512];
    int k = snprintf(err, sizeof(err), "-ERR cachely-proxy: connection to %s lost (%s); "
                     "the request may or may not have been executed\r\n", n->name, why);
    fail_waits(px, on_node, n, err, (size_t)k, 1);
}

void
blockmux_session_gone(struct session *s)
{
    struct bmux_wait *w = s->mux_wait;
    if (w == NULL) {
        return;
    }
    struct proxy *px = s->px;
    struct preq *r = w->r;
    withdraw(px, w);
    wait_forget(px->bmux, table_find(px->bmux, w->tag));
    /* Its request is in no backend's list: nobody else frees it. */
    if (r->s == NULL) {
        mem_free(r);
    }
}

static const char unreachable_err[] = "-ERR cachely-proxy: the blocked client's node is not "
                                      "reachable\r\n";

/* CLIENT UNBLOCK of dedicated connection d's node-side client, sent on a
 * pooled connection of its node; the node's :1 or :0 answers r, and the
 * waiter's reply comes on d. */
static void
send_dedicated_unblock(struct proxy *px, struct backend *d, struct preq *r, int error)
{
    char frame[128], num[24];
    const char *mode = error ? "ERROR" : "TIMEOUT";
    size_t nl = util_ll2str(num, d->node_client_id);
    int k = snprintf(frame, sizeof(frame), "*4\r\n$6\r\nCLIENT\r\n$7\r\nUNBLOCK\r\n"
                     "$%zu\r\n%s\r\n$%zu\r\n%s\r\n", nl, num, strlen(mode), mode);
    r->select_db = 0; /* any database */
    if (backend_send(px, d->node, NULL, r, frame, (size_t)k) != 0) {
        session_deliver(r, unreachable_err, sizeof(unreachable_err) - 1);
    }
}

void
blockmux_dedicated_id_known(struct backend *d)
{
    struct preq *r = d->unblock_pending;
    if (r == NULL) {
        return;
    }
    d->unblock_pending = NULL;
    if (d->blocked == NULL || d->node_client_id <= 0 || d->fd < 0
        || (d->head != NULL && d->head->ack_parent != NULL)) {
        session_deliver(r, ":0\r\n", 4);
        return;
    }
    send_dedicated_unblock(d->node->px, d, r, d->unblock_error);
}

void
blockmux_client_unblock(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = s->px;
    long long id;
    const char *mode = "TIMEOUT";
    if (argc > 4) {
        session_error(s, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                         "Try CLIENT HELP.", (int)argv[1].len, argv[1].ptr);
        return;
    }
    /* Redis's order: the reason, then the id. */
    if (argc == 4) {
        if (argv[3].len == 5 && strncasecmp(argv[3].ptr, "error", 5) == 0) {
            mode = "ERROR";
        } else if (!(argv[3].len == 7 && strncasecmp(argv[3].ptr, "timeout", 7) == 0)) {
            session_error(s, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    if (util_str2ll(argv[2].ptr, argv[2].len, &id) != 0) {
        session_error(s, "ERR value is not an integer or out of range");
        return;
    }
    struct session *target = px->sessions;
    while (target != NULL && (long long)target->id != id) {
        target = target->next;
    }
    if (target == NULL || target->blocked_on == NULL || (target->flags & SESSION_CLOSING)) {
        session_reply(s, ":0\r\n", 4);
        return;
    }
    if (target->mux_wait == NULL) {
        /* On a dedicated connection: the node's CLIENT UNBLOCK for it.  Not
         * once its reply is in and only its write-ack WAIT is out (it waits
         * no more).  Before the node's id for it is known (its CLIENT ID is
         * answered before its command runs), the request waits for the id;
         * a second one meanwhile answers :0, as it would once the first
         * released the client. */
        struct backend *d = target->blocked_on;
        if (d->blocked != target || (d->head != NULL && d->head->ack_parent != NULL)
            || d->unblock_pending != NULL) {
            session_reply(s, ":0\r\n", 4);
            return;
        }
        struct preq *r = session_preq_new(s);
        if (d->node_client_id <= 0) {
            d->unblock_pending = r;
            d->unblock_error = mode[0] == 'E';
            return;
        }
        send_dedicated_unblock(px, d, r, mode[0] == 'E');
        return;
    }
    /* The node's :1 or :0 is the answer; the wait's push (the timeout's
     * null or -UNBLOCKED) reaches the waiting session, before or after. */
    struct bmux_wait *w = target->mux_wait;
    struct preq *r = session_preq_new(s);
    if (send_unblock(px, w->b, r, w->tag, mode) != 0) {
        session_deliver(r, unreachable_err, sizeof(unreachable_err) - 1);
    }
}

void
blockmux_teardown(struct proxy *px)
{
    struct blockmux *t = px->bmux;
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != TOMBSTONE) {
            mem_free(t->slots[i]);
        }
    }
    mem_free(t->slots);
    while (t->spare != NULL) {
        struct bmux_wait *w = t->spare;
        t->spare = w->next;
        mem_free(w);
    }
    mem_free(t);
    px->bmux = NULL;
}
