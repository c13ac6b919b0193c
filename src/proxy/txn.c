/* Transactions through the proxy.  From WATCH or MULTI until EXEC, DISCARD,
 * UNWATCH or RESET a session is pinned to one connection of its own to the
 * master of the group that owns its keys, taken from a bounded pool per
 * node (node->txn, blocking-pool-size of them) and given back at the end.
 * Replies (+QUEUED, EXEC's array, the node's errors) pass through as the
 * node sends them.  A failover or a lost connection fails EXEC with
 * EXECABORT: the node dropped the queue with the connection, so nothing ran,
 * and nothing is ever sent again. */
#include "proxy/proxy.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

enum txn_state {
    TXN_WATCHING = 1,            /* WATCH sent, no MULTI yet */
    TXN_MULTI,                   /* MULTI seen: commands are queued */
    TXN_DONE,                    /* ended; its replies may still be in flight on last */
};

struct txn {
    int state;                   /* enum txn_state */
    int dirty;                   /* the proxy refused a queued command: EXEC aborts */
    int wrote;                   /* a queued command may write: WAIT after EXEC */
    int lost;                    /* the pinned connection failed, or its node stopped
                                    being the master: EXEC aborts */
    struct group *g;             /* borrowed: the group, NULL until a key picks it */
    struct node *node;           /* borrowed: the master the connection goes to */
    struct backend *b;           /* borrowed from node->txn: NULL until pinned */
    struct backend *kept;        /* borrowed from node->txn, still pinned to s: the
                                    connection of an ended transaction whose replies
                                    are awaited; the next transaction of a pipeline
                                    takes it again, so that it runs after */
    struct rbuf early;           /* owned: keyless commands queued (answered +QUEUED)
                                    before a key chose the group */
    size_t *early_end;           /* owned: where each of them ends in early */
    size_t nearly;
    struct preq *multi_reply;    /* borrowed (on s's FIFO): MULTI's reply, not given
                                    yet; the node's own +OK when the MULTI reaches it
                                    in the same input, else the proxy's (txn_drained),
                                    so a pipelined transaction's replies leave in one
                                    write */
};

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

void
txn_drained(struct session *s)
{
    if (s->txn != NULL) {
        answer_multi(s->txn); /* an interactive client waits for it */
    }
}

/* Pin t to g's master: MULTI (when in MULTI) and the early commands go
 * first.  -1 with an error answered when no connection can be had. */
static int
pin(struct session *s, struct txn *t, struct group *g)
{
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
    char err[512];
    struct backend *k = t->kept;
    t->kept = NULL;
    if (k != NULL && k->fd >= 0 && k->node == g->master && k->resp3 == (s->resp == 3)) {
        t->b = k; /* still pinned to s */
    } else {
        if (k != NULL) {
            release_conn(k);
        }
        t->b = take_conn(s, g, err, sizeof(err));
    }
    if (t->b == NULL) {
        session_error(s, "%s", err);
        return -1;
    }
    t->g = g;
    t->node = g->master;
    if (t->state == TXN_MULTI && t->multi_reply != NULL) {
        struct preq *r = t->multi_reply;
        t->multi_reply = NULL;
        if (backend_send(s->px, t->node, t->b, r, multi, sizeof(multi) - 1) != 0) {
            t->lost = 1;
            session_deliver(r, "+OK\r\n", 5);
        }
    } else if (t->state == TXN_MULTI) {
        send_internal(s, t, multi, sizeof(multi) - 1);
    }
    if (t->state == TXN_MULTI) {
        /* One request each: every frame has its reply. */
        for (size_t i = 0, from = 0; i < t->nearly; from = t->early_end[i++]) {
            send_internal(s, t, t->early.p + from, t->early_end[i] - from);
        }
        rbuf_free(&t->early);
        t->nearly = 0;
    }
    return 0;
}

/* ---- state ----------------------------------------------------------------------- */

static void
txn_free(struct txn **tp)
{
    struct txn *t = *tp;
    if (t != NULL) {
        if (t->kept != NULL) {
            release_conn(t->kept);
        }
        rbuf_free(&t->early);
        mem_free(t->early_end);
        mem_free(t);
        *tp = NULL;
    }
}

static struct txn *
txn_begin(struct session *s, int state)
{
    struct txn *t = mem_calloc(sizeof(*t));
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
    answer_multi(t);
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
    rbuf_free(&t->early);
    t->nearly = 0;
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

/* Is any request of s but skip not answered yet: on connection on (when
 * not NULL), or anywhere but on other (when not NULL)? */
static int
undone(const struct session *s, const struct backend *on, const struct backend *other,
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

int
txn_hold(struct session *s, const struct command *cmd)
{
    struct txn *t = s->txn;
    int starts = cmd != NULL && (cmd->id == CMD_ID_MULTI || cmd->id == CMD_ID_WATCH);
    if (t != NULL && t->state == TXN_DONE) {
        if (t->kept != NULL && starts && !undone(s, NULL, t->kept, NULL)) {
            return 0; /* a pipelined transaction: it goes on the kept connection */
        }
        /* What follows a transaction runs after it (on other connections,
         * it could otherwise overtake the EXEC). */
        if (t->kept != NULL && undone(s, t->kept, NULL, NULL)) {
            s->txn_hold = 1;
            return 1;
        }
        txn_free(&s->txn);
        t = NULL;
    }
    /* And a transaction starts after what came before it. */
    if (t == NULL && starts && undone(s, NULL, NULL, NULL)) {
        s->txn_hold = 1;
        return 1;
    }
    return 0;
}

void
txn_progress(struct session *s, const struct preq *r)
{
    struct txn *t = s->txn;
    if (t != NULL && t->state == TXN_DONE && t->kept != NULL
        && !undone(s, t->kept, NULL, r)) {
        /* The ended transaction's replies are in: its connection goes back. */
        release_conn(t->kept);
        t->kept = NULL;
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

static void
handle_exec(struct session *s, struct txn *t, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    static const char discard[] = "*1\r\n$7\r\nDISCARD\r\n";
    if (t->dirty && !t->lost) {
        if (t->b != NULL) {
            send_internal(s, t, discard, sizeof(discard) - 1);
        }
        px->txn_aborted++;
        static const char abort_err[] =
            "-EXECABORT Transaction discarded because of previous errors.\r\n";
        session_reply(s, abort_err, sizeof(abort_err) - 1);
        txn_end(s, t->lost);
        return;
    }
    if (t->b == NULL && !t->lost) {
        /* Only keyless commands: a group chosen deterministically. */
        if (pin(s, t, t->g != NULL ? t->g : &px->groups[0]) != 0) {
            px->txn_aborted++;
            txn_end(s, 0);
            return;
        }
    }
    if (t->lost || t->b == NULL || t->b->fd < 0 || t->g->master != t->node) {
        px->txn_aborted++;
        session_error(s, "EXECABORT cachely-proxy: the transaction's connection to the master "
                      "%s was lost (node failure or failover) before EXEC; nothing was executed",
                      t->node ? t->node->name : "(none)");
        txn_end(s, 1);
        return;
    }
    struct preq *r = send_client(s, t, frame, len);
    px->txn_execs++;
    if (r != NULL && px->cfg.write_ack != 0 && t->wrote) {
        session_ack_after(s, t->g, r);
    }
    if (r != NULL && t->wrote) {
        session_track_write(s, t->node, t->b); /* read-your-writes after EXEC */
    }
    txn_end(s, 0);
}

/* While in MULTI: queue the command on the pinned connection (pinning it
 * when the command's keys name the group), or answer it. */
static void
queue_command(struct session *s, struct txn *t, const struct command *cmd, size_t argc,
              struct resp_arg *argv, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    enum route_kind kind = route_classify(cmd);
    if (kind == ROUTE_LOCAL && cmd->id != CMD_ID_PING && cmd->id != CMD_ID_ECHO) {
        refuse_queued(s, t, "ERR cachely-proxy: '%s' inside MULTI is not supported", cmd->name);
        return;
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
    if (t->b == NULL && !t->lost) {
        if (g == NULL) {
            rbuf_add(&t->early, frame, len);
            t->early_end = mem_realloc(t->early_end, (t->nearly + 1) * sizeof(size_t));
            t->early_end[t->nearly++] = t->early.len;
            session_reply(s, "+QUEUED\r\n", 9);
            return;
        }
        if (pin(s, t, g) != 0) {
            t->dirty = 1; /* answered with the reason; EXEC aborts */
            return;
        }
    }
    send_client(s, t, frame, len);
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
            return 0; /* handle_request answers */
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
        if (t != NULL && t->state == TXN_MULTI) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR MULTI calls can not be nested");
            }
            return 1;
        }
        if (t != NULL) { /* watching: pinned */
            t->state = TXN_MULTI;
            send_client(s, t, frame, len);
            return 1;
        }
        /* Answered by the node with the transaction's first command when
         * it is in the same input, else at the end of the input. */
        txn_begin(s, TXN_MULTI)->multi_reply = session_new_request(s);
        return 1;
    case CMD_ID_WATCH: {
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
            t = txn_begin(s, TXN_WATCHING);
            if (pin(s, t, g) != 0) {
                txn_end(s, 0);
                return 1;
            }
        }
        send_client(s, t, frame, len);
        return 1;
    }
    case CMD_ID_EXEC:
        if (t == NULL || t->state != TXN_MULTI) {
            if (pinned) {
                send_client(s, t, frame, len);
            } else {
                session_error(s, "ERR EXEC without MULTI");
            }
            return 1;
        }
        handle_exec(s, t, frame, len);
        return 1;
    case CMD_ID_DISCARD:
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
            session_reply(s, "+OK\r\n", 5);
            return 1;
        }
        if (t->state == TXN_WATCHING) {
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
    struct preq *r = send_client(s, t, frame, len);
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
        encoded = proxy_encode(argc, argv, &len);
        frame = encoded;
    }
    int rc = txn_dispatch(s, cmd, argc, argv, frame, len);
    mem_free(encoded);
    return rc;
}
