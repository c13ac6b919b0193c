/* Transactions through the proxy.  A MULTI ... EXEC that arrives whole (a
 * client library's transaction pipeline) is sent at EXEC as one block on
 * the session's shared pooled connection to the master of the group owning
 * its keys: the node runs a connection's commands in order, so nothing of
 * another session comes between, and the block is batched with the other
 * sessions' traffic.  Otherwise (WATCH, a transaction spread over several
 * reads, write-ack, state commands inside MULTI), from WATCH or MULTI until
 * EXEC, DISCARD, UNWATCH or RESET a session is pinned to one connection of
 * its own to that master, taken from a bounded pool per node (node->txn,
 * blocking-pool-size of them) and given back at the end.
 * Replies (+QUEUED, EXEC's array, the node's errors) pass through as the
 * node sends them.  A failover or a lost connection fails EXEC with
 * EXECABORT: the node dropped the queue with the connection, so nothing ran,
 * and nothing is ever sent again.  The state changes a MULTI queues
 * (SELECT, HELLO, CLIENT SETNAME) are txn_fx.c. */
#include "proxy/txn.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/cursor.h"
#include "proxy/fanout.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/route.h"
#include "proxy/script.h"
#include "proxy/session.h"
#include "proxy/topology.h"
#include "proxy/txn_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the per-node pool ------------------------------------------------------ */

void
txn_node_setup(struct proxy *px, struct node *n)
{
    n->txn = mem_calloc((size_t)(px->cfg.blocking_pool_size + 1) * sizeof(struct backend));
    for (long long i = 0; i < px->cfg.blocking_pool_size; i++) {
        backend_init(&n->txn[i], n);
    }
}

void
txn_node_teardown(struct proxy *px, struct node *n)
{
    for (long long i = 0; n->txn != NULL && i < px->cfg.blocking_pool_size; i++) {
        backend_forget_pending(px, &n->txn[i]);
        backend_close(&n->txn[i], NULL);
    }
    mem_free(n->txn);
    n->txn = NULL;
}

void
txn_drop_node(struct proxy *px, struct node *n)
{
    for (long long i = 0; i < px->cfg.blocking_pool_size; i++) {
        struct backend *b = &n->txn[i];
        if (b->txn_owner != NULL && b->txn_owner->txn != NULL) {
            b->txn_owner->txn->lost = 1;
        }
        backend_close(b, "the node is no longer the group's master");
    }
}

void
txn_cron(struct proxy *px, struct node *n)
{
    for (long long i = 0; i < px->cfg.blocking_pool_size; i++) {
        struct backend *b = &n->txn[i];
        if (b->head != NULL) {
            if (b->txn_owner != NULL && b->txn_owner->txn != NULL
                && px->cfg.backend_timeout_ms > 0
                && util_ustime() - b->head->sent_us > px->cfg.backend_timeout_ms * 1000) {
                b->txn_owner->txn->lost = 1;
            }
            backend_cron(px, b);
        }
    }
}

static int
txn_busy(const struct backend *b)
{
    return b->txn_owner != NULL;
}

/* An idle connection of g's master for s, opened when needed; NULL with
 * err set when there is none. */
static struct backend *
take_conn(struct session *s, struct group *g, char *err, size_t cap)
{
    struct proxy *px = s->px;
    struct node *n = g->master;
    int resp3 = s->resp == 3;

    if (n == NULL) {
        snprintf(err, cap, "ERR cachely-proxy: no master is known for this group (yet)");
        return NULL;
    }
    struct backend *spare = backend_pick_idle(n->txn, px->cfg.blocking_pool_size, resp3, txn_busy);
    if (spare == NULL) {
        snprintf(err, cap, "ERR cachely-proxy: all %lld transaction connections to %s are in "
                 "use (blocking-pool-size)", px->cfg.blocking_pool_size, n->name);
        return NULL;
    }
    if (spare->fd < 0) {
        spare->resp3 = resp3;
        spare->retry_at_ms = 0;
        if (!n->up || backend_open(px, spare) == NULL) {
            snprintf(err, cap, "ERR cachely-proxy: %s is not reachable", n->name);
            return NULL;
        }
    }
    spare->txn_owner = s;
    n->txn_busy++;
    return spare;
}

/* ---- sending ------------------------------------------------------------------ */

static void
on_ignored(struct preq *r, const char *reply, size_t len)
{
    /* MULTI and the early commands (the node flags its own transaction
     * when it refuses one), DISCARD/UNWATCH at the end: nothing to do. */
    (void)r;
    (void)reply;
    (void)len;
}

/* A request of the proxy's own on the pinned connection; its reply is
 * dropped.  s may be NULL (the session is gone). */
static int
send_internal(struct session *s, struct txn *t, const char *frame, size_t len)
{
    struct preq *r = mem_calloc(sizeof(*r));
    r->on_reply = on_ignored;
    if (s != NULL) {
        r->s = s;
        r->affinity = s->id;
        r->select_db = s->db + 1;
    }
    if (t->b == NULL || t->b->fd < 0 || backend_send(t->node->px, t->node, t->b, r, frame, len) != 0) {
        mem_free(r);
        t->lost = 1;
        return -1;
    }
    if (s != NULL) {
        r->inext = s->internal;
        s->internal = r;
    }
    return 0;
}

/* The pinned connection takes the session's protocol (HELLO) and name
 * (CLIENT SETNAME) before a request outside MULTI: changed between WATCH
 * and MULTI, or by an earlier session, they would show in the replies
 * (EXEC's maps, CLIENT GETNAME inside MULTI). */
static void
sync_conn(struct session *s, struct txn *t)
{
    struct backend *b = t->b;
    if (b == NULL || b->fd < 0) {
        return;
    }
    if (b->resp3 != (s->resp == 3)) {
        static const char h2[] = "*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n";
        static const char h3[] = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
        if (send_internal(s, t, s->resp == 3 ? h3 : h2, sizeof(h2) - 1) == 0) {
            b->resp3 = s->resp == 3;
        }
    }
    const char *want = s->name ? s->name : "";
    const char *has = b->name ? b->name : "";
    if (strcmp(want, has) != 0) {
        struct resp_arg a[3] = {{"CLIENT", 6}, {"SETNAME", 7}, {want, strlen(want)}};
        size_t flen;
        char *f = fanout_encode(3, a, &flen);
        if (send_internal(s, t, f, flen) == 0) {
            mem_free(b->name);
            b->name = s->name ? mem_strndup(s->name, strlen(s->name)) : NULL;
        }
        mem_free(f);
    }
}

static void
lost_reply(struct session *s, struct txn *t, struct preq *r)
{
    char err[400];
    int k = snprintf(err, sizeof(err), "-ERR cachely-proxy: the transaction's connection to "
                     "%s was lost; EXEC will fail\r\n", t->node ? t->node->name : "the master");
    t->lost = 1;
    session_deliver(r, err, (size_t)k);
    (void)s;
}

/* A client request on the pinned connection; returns it (NULL when it was
 * answered with an error at once). */
static struct preq *
send_client(struct session *s, struct txn *t, const char *frame, size_t len)
{
    if (t->state != TXN_MULTI) {
        sync_conn(s, t);
    }
    struct preq *r = session_new_request(s);
    if (t->lost || t->b == NULL || t->b->fd < 0
        || backend_send(s->px, t->node, t->b, r, frame, len) != 0) {
        lost_reply(s, t, r);
        return NULL;
    }
    return r;
}

/* Give a pinned connection back to the pool. */
static void
release_conn(struct backend *b)
{
    b->txn_owner = NULL;
    b->node->txn_busy--;
}

/* MULTI's reply, when still owed: the proxy's +OK. */
static void
answer_multi(struct txn *t)
{
    struct preq *r = t->multi_reply;
    if (r != NULL) {
        t->multi_reply = NULL;
        session_deliver(r, "+OK\r\n", 5); /* freed there when the client left */
    }
}

/* Answer MULTI and the buffered commands here (+OK, +QUEUED): a client
 * waits for them before it sends more.  The frames stay buffered. */
static void
answer_locally(struct txn *t)
{
    answer_multi(t);
    for (size_t i = 0; i < t->nearly; i++) {
        struct preq *r = t->early_req[i];
        if (r != NULL) {
            t->early_req[i] = NULL;
            session_deliver(r, "+QUEUED\r\n", 9);
        }
    }
}

/* Keep a command queued while not pinned; r answers it (NULL: answered). */
static void
buffer_frame(struct txn *t, const char *frame, size_t len, struct preq *r)
{
    rbuf_add(&t->early, frame, len);
    t->early_end = mem_realloc(t->early_end, (t->nearly + 1) * sizeof(size_t));
    t->early_req = mem_realloc(t->early_req, (t->nearly + 1) * sizeof(*t->early_req));
    t->early_end[t->nearly] = t->early.len;
    t->early_req[t->nearly++] = r;
    if (r != NULL) {
        r->txn_own = 1;
    }
}

static void
clear_buffer(struct txn *t)
{
    rbuf_free(&t->early);
    t->nearly = 0;
}

/* Is a request of s from before its transaction (but skip) unanswered? */
static int
undone_earlier(const struct session *s, const struct preq *skip)
{
    for (const struct preq *r = s->head; r != NULL; r = r->next) {
        if (!r->done && !r->txn_own && r != skip) {
            return 1;
        }
    }
    return 0;
}

/* Send one frame of t's on b: r's (a client request) or, when r is NULL,
 * the proxy's own (reply dropped).  A failure answers r with an error;
 * returns 0 when sent. */
static int
send_on(struct session *s, struct node *n, struct backend *b, struct preq *r, const char *frame,
        size_t len)
{
    if (r == NULL) {
        r = mem_calloc(sizeof(*r));
        r->on_reply = on_ignored;
        r->s = s;
        r->affinity = s->id;
        r->select_db = s->db + 1;
        if (backend_send(s->px, n, b, r, frame, len) != 0) {
            mem_free(r);
            return -1;
        }
        r->inext = s->internal;
        s->internal = r;
        return 0;
    }
    if (backend_send(s->px, n, b, r, frame, len) != 0) {
        char err[400];
        int k = snprintf(err, sizeof(err), "-ERR cachely-proxy: the connection to %s was lost\r\n",
                         n->name);
        session_deliver(r, err, (size_t)k); /* r may be freed */
        return -1;
    }
    return 0;
}

/* MULTI (when in MULTI) and the buffered commands on t->b, in order. */
static void
flush_buffer(struct session *s, struct txn *t)
{
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
    if (t->state != TXN_MULTI) {
        return;
    }
    struct preq *mr = t->multi_reply;
    t->multi_reply = NULL;
    if (t->libs_before_multi) {
        t->libs_before_multi = 0;
        script_load_libs(s, t->node, t->b, on_ignored, NULL);
    }
    send_on(s, t->node, t->b, mr, multi, sizeof(multi) - 1);
    /* One request each: every frame has its reply. */
    for (size_t i = 0, from = 0; i < t->nearly; from = t->early_end[i++]) {
        send_on(s, t->node, t->b, t->early_req[i], t->early.p + from, t->early_end[i] - from);
    }
    clear_buffer(t);
}

/* Pin t to g's master: MULTI (when in MULTI) and the buffered commands go
 * first.  -1 with err set when no connection can be had. */
static int
pin(struct session *s, struct txn *t, struct group *g, char *err, size_t cap)
{
    struct backend *k = t->kept;
    t->kept = NULL;
    t->pin_deferred = 0;
    if (k != NULL && k->fd >= 0 && k->node == g->master && k->resp3 == (s->resp == 3)) {
        t->b = k; /* still pinned to s */
    } else {
        if (k != NULL) {
            release_conn(k);
        }
        t->b = take_conn(s, g, err, cap);
    }
    if (t->b == NULL) {
        return -1;
    }
    t->g = g;
    t->node = g->master;
    sync_conn(s, t);
    flush_buffer(s, t);
    return 0;
}

/* A transaction left unfinished by the input so far is pinned now (an
 * interactive client waits for its replies), once s's earlier requests are
 * answered (so it cannot overtake them).  Without a group yet, MULTI and
 * its keyless commands are answered here. */
static void
pin_unfinished(struct session *s, struct txn *t, const struct preq *skip)
{
    char err[512];
    if (t->state != TXN_MULTI || t->b != NULL || t->lost
        || (t->multi_reply == NULL && t->nearly == 0)) {
        return;
    }
    if (t->g == NULL || t->dirty) {
        answer_locally(t);
        return;
    }
    if (undone_earlier(s, skip)) {
        t->pin_deferred = 1; /* txn_progress comes back */
        return;
    }
    if (pin(s, t, t->g, err, sizeof(err)) != 0) {
        /* The last command queued gets the reason; EXEC aborts. */
        struct preq *last = t->nearly ? t->early_req[t->nearly - 1] : NULL;
        if (last != NULL) {
            t->early_req[t->nearly - 1] = NULL;
        }
        answer_locally(t);
        if (last != NULL) {
            char line[600];
            int k = snprintf(line, sizeof(line), "-%s\r\n", err);
            session_deliver(last, line, (size_t)k);
        }
        t->dirty = 1;
    }
}

void
txn_drained(struct session *s)
{
    struct txn *t = s->txn;
    if (t == NULL) {
        return;
    }
    if (t->state == TXN_MULTI && t->b == NULL) {
        pin_unfinished(s, t, NULL);
    } else {
        answer_multi(t);
    }
}

/* ---- state ----------------------------------------------------------------------- */

static void
txn_free(struct txn **tp)
{
    struct txn *t = *tp;
    if (t != NULL) {
        if (t->kept != NULL) {
            if (t->fx_pending) {
                /* Its EXEC may still switch the node connection's database
                 * or protocol: it does not go back to the pool as it is. */
                backend_forget_pending(t->kept->node->px, t->kept);
                backend_close(t->kept, NULL);
            }
            release_conn(t->kept);
        }
        txn_fx_free(&t->fx);
        answer_locally(t);
        rbuf_free(&t->early);
        rbuf_free(&t->mon);
        mem_free(t->early_end);
        mem_free(t->early_req);
        mem_free(t);
        *tp = NULL;
    }
}

static struct txn *
txn_begin(struct session *s, int state)
{
    static unsigned long long serial;
    struct txn *t = mem_calloc(sizeof(*t));
    t->serial = ++serial;
    if (s->txn != NULL) {
        /* An ended one: its kept connection goes to the new one. */
        t->kept = s->txn->kept;
        s->txn->kept = NULL;
        txn_free(&s->txn);
    }
    t->state = state;
    s->txn = t;
    return t;
}

/* End s's transaction.  Its connection stays pinned (kept) until its
 * replies are in (txn_progress), or goes back closed when close_conn (the
 * node then forgets the queue and the watches).  The txn stays as
 * TXN_DONE until then. */
static void
txn_end(struct session *s, int close_conn)
{
    struct txn *t = s->txn;
    answer_locally(t);
    if (t->b != NULL && close_conn) {
        release_conn(t->b);
        backend_forget_pending(s->px, t->b);
        backend_close(t->b, NULL);
        t->b = NULL;
    }
    if (t->kept != NULL) {
        release_conn(t->kept);
    }
    t->kept = t->b;
    t->b = NULL;
    t->state = TXN_DONE;
    clear_buffer(t);
    t->nqueued = 0;
    t->mon.len = 0; /* shown when the EXEC went, else never run */
    txn_fx_free(&t->fx); /* handed to the EXEC when it went */
}

size_t
txn_memory(const struct txn *t)
{
    return t == NULL ? 0 : sizeof(*t) + t->early.cap + t->mon.cap;
}

void
txn_session_gone(struct session *s)
{
    static const char discard[] = "*1\r\n$7\r\nDISCARD\r\n";
    static const char unwatch[] = "*1\r\n$7\r\nUNWATCH\r\n";
    struct txn *t = s->txn;
    if (t == NULL) {
        return;
    }
    if (t->b != NULL && t->b->fd >= 0 && t->state != TXN_DONE) {
        /* The connection stays in the pool clean: DISCARD drops the queue
         * and the watches, UNWATCH the watches. */
        if (t->state == TXN_MULTI) {
            send_internal(NULL, t, discard, sizeof(discard) - 1);
        } else {
            send_internal(NULL, t, unwatch, sizeof(unwatch) - 1);
        }
    }
    if (t->state != TXN_DONE) {
        txn_end(s, t->b != NULL && t->b->fd < 0);
    }
    txn_free(&s->txn); /* the kept connection goes back */
}

int
txn_hold(struct session *s, const struct command *cmd)
{
    struct txn *t = s->txn;
    int starts = cmd != NULL && (cmd->id == CMD_ID_MULTI || cmd->id == CMD_ID_WATCH);
    if (t != NULL && t->fn_wait != NULL) {
        /* A FCALL after WATCH may be called again on the pinned connection
         * once its function is found: nothing may go there before it. */
        s->txn_hold = 1;
        return 1;
    }
    if (t != NULL && t->state == TXN_DONE) {
        if (t->kept != NULL && starts && !t->fx_pending && !session_undone(s, NULL, t->kept, NULL)) {
            return 0; /* a pipelined transaction: it goes on the kept connection */
        }
        /* What follows a transaction runs after it (on other connections,
         * it could otherwise overtake the EXEC). */
        if (t->kept != NULL && session_undone(s, t->kept, NULL, NULL)) {
            s->txn_hold = 1;
            return 1;
        }
        txn_free(&s->txn);
        t = NULL;
    }
    /* And a transaction pinned from its start (WATCH) starts after what
     * came before it, as does an EXEC that needs the pinned connection.  A
     * MULTI otherwise goes at EXEC as one block on the session's pooled
     * connection (its private one under write-ack), in order with its other
     * requests there. */
    if ((t == NULL && starts && cmd->id == CMD_ID_WATCH && session_undone(s, NULL, NULL, NULL))
        || (t != NULL && t->state == TXN_MULTI && t->b == NULL && t->want_pin && cmd != NULL
            && cmd->id == CMD_ID_EXEC && undone_earlier(s, NULL))
        || (t != NULL && t->state == TXN_MULTI && t->libs_pending > 0 && cmd != NULL
            && cmd->id == CMD_ID_EXEC)) {
        s->txn_hold = 1;
        return 1;
    }
    return 0;
}

void
txn_progress(struct session *s, const struct preq *r)
{
    struct txn *t = s->txn;
    if (t != NULL && t->fn_wait == r) {
        t->fn_wait = NULL;
    }
    if (t != NULL && t->state == TXN_DONE && t->kept != NULL
        && !session_undone(s, t->kept, NULL, r)) {
        /* The ended transaction's replies are in: its connection goes back. */
        release_conn(t->kept);
        t->kept = NULL;
    }
    if (t != NULL && t->pin_deferred && !undone_earlier(s, r)) {
        t->pin_deferred = 0;
        pin_unfinished(s, t, r);
    }
    if (s->txn_hold) {
        s->txn_hold = 0;
        session_resume(s);
    }
}

/* ---- requests ------------------------------------------------------------------- */

/* The group of every key of the command, or NULL: *nkeys set, and *cross
 * when keys are in several groups. */
static struct group *
keys_group(struct proxy *px, const struct command *cmd, size_t argc, struct resp_arg *argv,
           size_t *nkeys, int *cross)
{
    size_t stack_idx[16];
    size_t *idx = argc <= 16 ? stack_idx : mem_alloc(argc * sizeof(*idx));
    size_t n = command_keys(cmd, argc, argv, idx, argc <= 16 ? 16 : argc);
    struct group *g = NULL;
    *cross = 0;
    for (size_t i = 0; i < n; i++) {
        struct group *k = topology_group_of_key(px, argv[idx[i]].ptr, argv[idx[i]].len);
        if (g != NULL && k != g) {
            *cross = 1;
        }
        g = k;
    }
    if (idx != stack_idx) {
        mem_free(idx);
    }
    *nkeys = n;
    return *cross ? NULL : g;
}

static void
crossslot(struct session *s)
{
    s->px->crossslot_errors++;
    session_error(s, "CROSSSLOT Keys in request don't hash to the same slot");
}

/* A command refused inside MULTI: the error, and EXEC will abort (as a
 * node flags its transaction when it refuses a command). */
static void
refuse_queued(struct session *s, struct txn *t, const char *fmt, const char *name)
{
    t->dirty = 1;
    session_error(s, fmt, name);
}

/* EXEC of a transaction that was not pinned: MULTI, the buffered commands
 * and EXEC (DISCARD when the proxy refused one of them) as one block on
 * the session's pooled connection to g's master. */
static void
exec_block(struct session *s, struct txn *t, struct group *g, const char *frame, size_t len)
{
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
    static const char discard[] = "*1\r\n$7\r\nDISCARD\r\n";
    struct proxy *px = s->px;
    struct node *n = g->master;
    /* Under write-ack the WAIT follows on the session's private
     * connection, as for its other writes. */
    int ack = px->cfg.write_ack != 0 && t->wrote && !t->dirty;
    struct backend *b = NULL;
    if (n != NULL && n->up) {
        /* Without writes, behind the session's acked writes if it has any. */
        b = ack ? session_own_connection(s, g) : session_ordered_connection(s, n);
        if (b == NULL && !ack) {
            b = backend_pick(px, n, s->id, s->resp == 3);
        }
    }
    if (b == NULL) {
        answer_locally(t);
        px->txn_aborted++;
        if (t->dirty) {
            session_error(s, "EXECABORT Transaction discarded because of previous errors.");
        } else {
            session_error(s, "EXECABORT cachely-proxy: the master %s is not reachable; nothing "
                          "was executed", n != NULL ? n->name : "(none known)");
        }
        txn_free(&s->txn);
        return;
    }
    struct preq *mr = t->multi_reply;
    t->multi_reply = NULL;
    if (t->libs_before_multi && !t->dirty) {
        script_load_libs(s, n, b, on_ignored, NULL);
    }
    send_on(s, n, b, mr, multi, sizeof(multi) - 1);
    for (size_t i = 0, from = 0; i < t->nearly; from = t->early_end[i++]) {
        struct preq *r = t->early_req[i];
        t->early_req[i] = NULL;
        send_on(s, n, b, r, t->early.p + from, t->early_end[i] - from);
    }
    clear_buffer(t);
    if (t->dirty) {
        send_on(s, n, b, NULL, discard, sizeof(discard) - 1);
        px->txn_aborted++;
        session_error(s, "EXECABORT Transaction discarded because of previous errors.");
    } else {
        struct preq *r = session_new_request(s);
        if (t->fx != NULL) {
            /* Only PUBLISH and SPUBLISH (a state change pins): their
             * counts are corrected in EXEC's reply. */
            r->txn_fx = t->fx;
            t->fx = NULL;
            txn_fx_sent(r->txn_fx, px, g);
        }
        int sent = send_on(s, n, b, r, frame, len) == 0;
        px->txn_execs++;
        if (ack && sent) {
            session_ack_after(s, g, r);
        }
        if (t->wrote) {
            session_track_write(s, n, b); /* read-your-writes after EXEC */
        }
    }
    txn_free(&s->txn);
}

static void
handle_exec(struct session *s, struct txn *t, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    static const char discard[] = "*1\r\n$7\r\nDISCARD\r\n";
    char err[512];
    if (t->b == NULL && !t->lost && !t->want_pin && t->kept == NULL) {
        monitor_flush(s, &t->mon);
        exec_block(s, t, t->g != NULL ? t->g : &px->groups[0], frame, len);
        return;
    }
    if (t->dirty && !t->lost) {
        if (t->b != NULL) {
            send_internal(s, t, discard, sizeof(discard) - 1);
        }
        px->txn_aborted++;
        static const char abort_err[] =
            "-EXECABORT Transaction discarded because of previous errors.\r\n";
        answer_locally(t);
        session_reply(s, abort_err, sizeof(abort_err) - 1);
        txn_end(s, t->lost);
        return;
    }
    if (t->b == NULL && !t->lost) {
        /* Only keyless commands: a group chosen deterministically. */
        if (pin(s, t, t->g != NULL ? t->g : &px->groups[0], err, sizeof(err)) != 0) {
            answer_locally(t);
            session_error(s, "%s", err);
            px->txn_aborted++;
            txn_end(s, 0);
            return;
        }
    }
    if (t->lost || t->b == NULL || t->b->fd < 0 || t->g->master != t->node) {
        px->txn_aborted++;
        answer_locally(t);
        session_error(s, "EXECABORT cachely-proxy: the transaction's connection to the master "
                      "%s was lost (node failure or failover) before EXEC; nothing was executed",
                      t->node ? t->node->name : "(none)");
        txn_end(s, 1);
        return;
    }
    monitor_flush(s, &t->mon);
    struct preq *r = send_client(s, t, frame, len);
    px->txn_execs++;
    if (r != NULL && t->fx != NULL) {
        r->txn_fx = t->fx;
        t->fx = NULL;
        /* A PUBLISH alone changes no state: nothing waits for it. */
        t->fx_pending = txn_fx_sent(r->txn_fx, px, t->g);
        for (size_t i = 0; i < r->txn_fx->n; i++) {
            if (r->txn_fx->items[i].kind == FX_SELECT) {
                t->b->db = -1; /* unknown until the reply: selected again */
            }
        }
    }
    if (r != NULL && px->cfg.write_ack != 0 && t->wrote) {
        session_ack_after(s, t->g, r);
    }
    if (r != NULL && t->wrote) {
        session_track_write(s, t->node, t->b); /* read-your-writes after EXEC */
    }
    txn_end(s, 0);
}

static void
on_libs_loaded(struct preq *r, const char *reply, size_t len)
{
    struct session *s = r->s;
    struct txn *t = s != NULL ? s->txn : NULL;
    (void)reply;
    (void)len;
    if (t == NULL || t->serial != (unsigned long long)(uintptr_t)r->ctx || t->libs_pending <= 0
        || --t->libs_pending > 0) {
        return;
    }
    if (s->txn_hold) {
        s->txn_hold = 0;
        session_resume(s); /* the EXEC held by txn_hold */
    }
}

/* The lookup of a function no library the proxy knew defined ended: a
 * library learned goes with the others (ahead of MULTI when it is not out
 * yet, else on another connection, EXEC waiting for it). */
static void
on_fn_learned(struct preq *r, const char *reply, size_t len)
{
    struct session *s = r->s;
    struct txn *t = s != NULL ? s->txn : NULL;
    if (t == NULL || t->serial != (unsigned long long)(uintptr_t)r->ctx || t->libs_pending <= 0) {
        return;
    }
    if (len > 0 && reply[0] == '+' && !t->lost && !t->dirty) {
        t->libs_asked = 1;
        if (t->b == NULL) {
            t->libs_before_multi = 1;
        } else {
            t->libs_pending += script_load_libs(s, t->node, NULL, on_libs_loaded,
                                                (void *)(uintptr_t)t->serial);
        }
    }
    if (--t->libs_pending == 0 && s->txn_hold) {
        s->txn_hold = 0;
        session_resume(s); /* the EXEC held by txn_hold */
    }
}

/* A FCALL is queued in t: make sure the master has the proxy's libraries
 * before EXEC runs (FUNCTION LOAD without REPLACE: a library it has stays;
 * "already exists" is the usual answer).  Ahead of MULTI on the same
 * connection when MULTI has not gone out yet; else on another connection to
 * the master, and EXEC waits for the replies.  A transaction that got
 * "Function not found" inside EXEC could not be sent again: the rest of it
 * ran. */
static void
need_libs(struct session *s, struct txn *t)
{
    t->libs_asked = 1;
    if (t->b == NULL) {
        t->libs_before_multi = 1;
        return;
    }
    t->libs_pending += script_load_libs(s, t->node, NULL, on_libs_loaded,
                                        (void *)(uintptr_t)t->serial);
}

/* While in MULTI: queue the command on the pinned connection (pinning it
 * when the command's keys name the group), or answer it. */
static void
queue_command(struct session *s, struct txn *t, const struct command *cmd, size_t argc,
              struct resp_arg *argv, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    enum route_kind kind = route_classify(cmd);
    int fx = FX_NONE;
    if (cmd->nsubs > 0 && argc >= 2
        && command_lookup_sub(cmd, argv[1].ptr, argv[1].len) == NULL) {
        /* As a node does at queue time (and EXEC then aborts), whether the
         * container is the proxy's own or a node's (OBJECT, XINFO): the
         * proxy may be buffering the transaction, not sending it yet. */
        char upper[32];
        size_t n = strlen(cmd->name) < sizeof(upper) - 1 ? strlen(cmd->name) : sizeof(upper) - 1;
        for (size_t i = 0; i < n; i++) {
            upper[i] = (char)toupper((unsigned char)cmd->name[i]);
        }
        upper[n] = '\0';
        t->dirty = 1;
        session_error(s, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                      (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr, upper);
        return;
    }
    /* PING, ECHO and INFO are queued on the node: inside EXEC, INFO is the
     * master's own (the proxy's needs the masters' replies first). */
    int on_node = cmd->id == CMD_ID_PING || cmd->id == CMD_ID_ECHO || cmd->id == CMD_ID_INFO;
    if (kind == ROUTE_LOCAL && !on_node && (fx = txn_fx_kind_of(cmd, argc, argv)) < 0) {
        refuse_queued(s, t, "ERR cachely-proxy: '%s' inside MULTI is not supported", cmd->name);
        return;
    }
    const struct command *keyed;
    if (kind == ROUTE_REFUSE && (keyed = route_keyed_sub(cmd, argc, argv)) != NULL) {
        /* OBJECT ENCODING k, MEMORY USAGE k: queued where the key is, as
         * outside a transaction. */
        cmd = keyed;
        kind = ROUTE_READ;
    }
    if (kind == ROUTE_REFUSE && cmd->id != CMD_ID_WAIT) {
        /* WAIT is refused on shared connections only: it is the pinned
         * connection's own. */
        t->dirty = 1;
        px->route_errors++;
        session_error(s, "ERR '%s' is not supported through cachely-proxy; send it to a "
                         "node directly", cmd->name);
        return;
    }
    if (cursor_spec_of(cmd) != NULL) {
        refuse_queued(s, t, "ERR cachely-proxy: '%s' inside MULTI is not supported (its "
                      "cursor is the proxy's)", cmd->name);
        return;
    }
    size_t nkeys;
    int cross;
    struct group *g = keys_group(px, cmd, argc, argv, &nkeys, &cross);
    if (cross || (g != NULL && t->g != NULL && g != t->g)) {
        t->dirty = 1;
        crossslot(s);
        return;
    }
    if (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) {
        t->wrote = 1;
    }
    if (t->b == NULL && !t->lost && g != NULL) {
        t->g = g;
    }
    if ((kind == ROUTE_LOCAL && !on_node && fx != FX_PUBLISH && fx != FX_SPUBLISH)
        || cmd->id == CMD_ID_WAIT) {
        t->want_pin = 1; /* it concerns the connection itself */
    }
    /* A script the node may have missed (restarted, promoted) runs from the
     * body the proxy knows: a NOSCRIPT inside EXEC could not be repaired. */
    size_t elen;
    char *as_eval = script_as_eval(px, cmd, argc, argv, &elen);
    if (as_eval != NULL) {
        frame = as_eval;
        len = elen;
    }
    if ((cmd->id == CMD_ID_FCALL || cmd->id == CMD_ID_FCALL_RO) && !t->libs_asked
        && !t->lost && script_libs_known(px)) {
        need_libs(s, t);
    }
    /* A function no library the proxy knows defines may be on a node: the
     * proxy looks it up before EXEC runs (EXEC waits). */
    if ((cmd->id == CMD_ID_FCALL || cmd->id == CMD_ID_FCALL_RO) && argc >= 3 && !t->lost
        && script_fn_learn(s, argv[1].ptr, argv[1].len, on_fn_learned,
                           (void *)(uintptr_t)t->serial)) {
        t->libs_pending++;
    }
    if (fx != FX_NONE) {
        txn_fx_add(t, fx, argc, argv);
    }
    monitor_defer(&t->mon, cmd, argc, argv);
    t->nqueued++;
    if (t->b == NULL && !t->lost) {
        buffer_frame(t, frame, len, session_new_request(s));
    } else {
        send_client(s, t, frame, len);
    }
    mem_free(as_eval);
}

/* Error replies of a command a node would refuse with the same words. */
static int
bad_command(struct session *s, const struct command *cmd, size_t argc, struct resp_arg *argv)
{
    if (cmd == NULL) {
        char msg[512];
        command_unknown_error(msg, sizeof(msg), argc, argv);
        session_error(s, "ERR %s", msg);
        return 1;
    }
    if (!command_arity_ok(cmd, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", cmd->name);
        return 1;
    }
    return 0;
}

static int
txn_dispatch(struct session *s, const struct command *cmd, size_t argc, struct resp_arg *argv,
             const char *frame, size_t len)
{
    struct proxy *px = s->px;
    struct txn *t = s->txn;
    static const char discard[] = "*1\r\n$7\r\nDISCARD\r\n";
    static const char unwatch[] = "*1\r\n$7\r\nUNWATCH\r\n";
    if (t != NULL && t->state == TXN_DONE) {
        t = NULL; /* ended by this very request (RESET) */
    }
    int pinned = t != NULL && t->b != NULL;

    if (cmd == NULL || !command_arity_ok(cmd, argc)) {
        /* EXEC's arity error aborts, in a transaction or not (Redis 7.0). */
        if (cmd != NULL && cmd->id == CMD_ID_EXEC) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "EXECABORT Transaction discarded because of: wrong number "
                                 "of arguments for 'exec' command");
            }
            if (t != NULL) {
                txn_end(s, 0);
            }
            return 1;
        }
        if (t == NULL || t->state != TXN_MULTI) {
            return 0; /* session_handle_request answers */
        }
        if (pinned) {
            send_client(s, t, frame, len); /* the node answers and flags it */
        } else {
            t->dirty = 1;
            bad_command(s, cmd, argc, argv);
        }
        return 1;
    }
    switch (cmd->id) {
    case CMD_ID_RESET:
        if (t != NULL && t->state != TXN_DONE) {
            if (pinned) {
                if (t->state == TXN_MULTI) {
                    send_internal(s, t, discard, sizeof(discard) - 1);
                } else {
                    send_internal(s, t, unwatch, sizeof(unwatch) - 1);
                }
            }
            txn_end(s, 0);
        }
        return 0; /* the proxy's RESET goes on */
    case CMD_ID_QUIT:
        return 0;
    case CMD_ID_MULTI:
        /* MONITOR shows what a node runs: MULTI, WATCH, UNWATCH, DISCARD
         * and EXEC (after the commands it runs), their errors too. */
        monitor_feed(s, cmd, argc, argv);
        if (t != NULL && t->state == TXN_MULTI) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR MULTI calls can not be nested");
            }
            return 1;
        }
        if (t != NULL) { /* watching: pinned */
            send_client(s, t, frame, len); /* synced first (HELLO since WATCH) */
            t->state = TXN_MULTI;
            return 1;
        }
        /* Answered by the node with the transaction's first command when
         * it is in the same input, else at the end of the input. */
        t = txn_begin(s, TXN_MULTI);
        t->multi_reply = session_new_request(s);
        t->multi_reply->txn_own = 1;
        return 1;
    case CMD_ID_WATCH: {
        monitor_feed(s, cmd, argc, argv);
        if (t != NULL && t->state == TXN_MULTI) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR WATCH inside MULTI is not allowed");
            }
            return 1;
        }
        size_t nkeys;
        int cross;
        struct group *g = keys_group(px, cmd, argc, argv, &nkeys, &cross);
        if (g == NULL || (t != NULL && g != t->g)) {
            crossslot(s);
            return 1;
        }
        if (t == NULL) {
            char err[512];
            t = txn_begin(s, TXN_WATCHING);
            if (pin(s, t, g, err, sizeof(err)) != 0) {
                session_error(s, "%s", err);
                txn_end(s, 0);
                return 1;
            }
        }
        send_client(s, t, frame, len);
        return 1;
    }
    case CMD_ID_EXEC:
        if (t == NULL || t->state != TXN_MULTI) {
            monitor_feed(s, cmd, argc, argv);
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR EXEC without MULTI");
            }
            return 1;
        }
        handle_exec(s, t, frame, len);
        monitor_feed(s, cmd, argc, argv);
        return 1;
    case CMD_ID_DISCARD:
        monitor_feed(s, cmd, argc, argv);
        if (t == NULL || t->state != TXN_MULTI) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR DISCARD without MULTI");
            }
            return 1;
        }
        if (pinned) {
            send_client(s, t, frame, len);
        } else {
            session_reply(s, "+OK\r\n", 5);
        }
        txn_end(s, 0);
        return 1;
    case CMD_ID_UNWATCH:
        if (t == NULL) {
            monitor_feed(s, cmd, argc, argv);
            session_reply(s, "+OK\r\n", 5);
            return 1;
        }
        if (t->state == TXN_WATCHING) {
            monitor_feed(s, cmd, argc, argv);
            send_client(s, t, frame, len);
            txn_end(s, 0);
            return 1;
        }
        break; /* queued in MULTI */
    default:
        break;
    }
    if (t == NULL) {
        return 0;
    }
    if (t->state == TXN_MULTI) {
        queue_command(s, t, cmd, argc, argv, frame, len);
        return 1;
    }
    /* Watching: a command on the watched group's keys goes on the pinned
     * connection, in order with the WATCH and the EXEC to come; anything
     * else is routed as usual. */
    enum route_kind kind = route_classify(cmd);
    if (kind != ROUTE_MASTER && kind != ROUTE_READ) {
        return 0;
    }
    if (cursor_spec_of(cmd) != NULL || (cmd->flags & CMD_BLOCKING)) {
        /* A blocking command takes a dedicated connection as usual (the
         * pinned one has request timeouts). */
        return 0;
    }
    size_t nkeys;
    int cross;
    struct group *g = keys_group(px, cmd, argc, argv, &nkeys, &cross);
    if (nkeys == 0 || g != t->g) {
        return 0;
    }
    if ((cmd->id == CMD_ID_FCALL || cmd->id == CMD_ID_FCALL_RO) && !t->libs_asked
        && t->b != NULL && t->b->fd >= 0 && script_libs_known(px)) {
        /* Not repaired after the fact: the MULTI that follows may be on
         * the connection by then.  Ahead of it, this covers the FCALLs
         * inside the MULTI too. */
        t->libs_asked = 1;
        script_load_libs(s, t->node, t->b, on_ignored, NULL);
    }
    monitor_feed(s, cmd, argc, argv);
    size_t elen;
    char *as_eval = script_as_eval(px, cmd, argc, argv, &elen);
    struct preq *r = as_eval ? send_client(s, t, as_eval, elen) : send_client(s, t, frame, len);
    mem_free(as_eval);
    if (r != NULL && (cmd->id == CMD_ID_FCALL || cmd->id == CMD_ID_FCALL_RO)) {
        /* Armed as a routed FCALL is: a "Function not found" for a
         * function loaded on another node only is looked up and the call
         * sent again, on this connection (script_lookup.c).  Until then
         * the session's next requests wait (txn_hold): a MULTI pipelined
         * behind would otherwise reach the connection first. */
        script_forwarded(s, cmd, argc, argv, r, frame, len);
        if (!script_fn_maybe_known(px, argv[1].ptr, argv[1].len)) {
            t->fn_wait = r;
        }
    }
    if (r != NULL && px->cfg.write_ack != 0 && (cmd->flags & CMD_WRITE)) {
        session_ack_after(s, t->g, r);
    }
    if (r != NULL && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE))) {
        session_track_write(s, t->node, t->b);
    }
    return 1;
}

int
txn_in_multi(const struct session *s)
{
    return s->txn != NULL && s->txn->state == TXN_MULTI;
}

void
txn_refuse(struct session *s)
{
    if (txn_in_multi(s)) {
        s->txn->dirty = 1;
    }
}

int
txn_early(const struct session *s, const struct command *cmd, size_t argc)
{
    return s->txn != NULL || (cmd != NULL && cmd->id == CMD_ID_EXEC
                              && !command_arity_ok(cmd, argc));
}

int
txn_request(struct session *s, const struct command *cmd, size_t argc, struct resp_arg *argv,
            const char *frame, size_t len)
{
    if (s->txn == NULL
        && (cmd == NULL
            || (cmd->id != CMD_ID_MULTI && cmd->id != CMD_ID_WATCH && cmd->id != CMD_ID_EXEC
                && cmd->id != CMD_ID_DISCARD && cmd->id != CMD_ID_UNWATCH))) {
        return 0;
    }
    /* Inline commands are re-encoded: the node gets a multibulk frame. */
    char *encoded = NULL;
    if (frame[0] != '*') {
        encoded = fanout_encode(argc, argv, &len);
        frame = encoded;
    }
    int rc = txn_dispatch(s, cmd, argc, argv, frame, len);
    mem_free(encoded);
    return rc;
}
