/* The blocking module (see block.h): a table from (database, key) to a FIFO
 * of waiting clients, a ready list filled by the keyspace change signal, the
 * FIFO of clients in WAIT, the FIFO of clients CLIENT PAUSE holds, a wake
 * list for deadlines, CLIENT UNBLOCK and WAITs whose count is reached, and
 * one pass before the loop sleeps that re-runs or answers the clients
 * concerned; and the connections' tagged waits (CACHELY.BLOCK), each a
 * socket-less waiter that goes through all of that as a client would. */
#include "node/block.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/entry.h"
#include "node/handlers.h"
#include "node/pause.h"
#include "node/repl.h"
#include "node/server.h"

#include <event2/event.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One waiting client on one key. */
struct block_waiter {
    struct client *c;            /* borrowed */
    struct block_key *bk;        /* borrowed: the key it waits on */
    struct block_waiter *prev, *next;  /* borrowed: the key's FIFO */
};

struct block_key {
    struct block_key *chain;     /* borrowed: next in the bucket */
    uint64_t hash;
    int dbid;
    int ready;                   /* on the ready list */
    struct block_waiter *head, *tail;  /* owned FIFO: longest waiting first */
    size_t keylen;
    char key[];
};

enum block_kind {
    BLOCK_ON_KEYS,
    BLOCK_ON_ACKS,               /* WAIT */
};

/* A client's wait, owned by the client (c->bstate). */
struct block_state {
    enum block_kind kind;
    struct client *c;               /* borrowed: the waiting client */
    struct block_waiter **waiters;  /* owned array, one per key (KEYS) */
    size_t nwaiters;
    long long ack_offset;           /* ACKS: replicas must reach it */
    long long ack_replicas;         /* ACKS: how many */
    struct block_state *ack_prev, *ack_next; /* borrowed: the WAIT FIFO */
    long long deadline_ms;          /* 0: forever */
    struct event *timer;            /* owned; NULL without a deadline */
    int timed_out;                  /* the deadline passed: answer timeout */
    int unblock_error;              /* CLIENT UNBLOCK ... ERROR */
    int waking;                     /* on the wake list */
    int collected;                  /* block_unblock_all: already listed */
    int want_type;                  /* KEYS: the enum entry_type a ready key
                                       must hold to wake it; -1: any */
    enum block_timeout_reply reply;
};

/* One CACHELY.BLOCK wait: the waiter's done_arg. */
struct block_tagwait {
    uint64_t tag;
    struct client *owner;           /* borrowed: the connection; NULL once the
                                       wait is answered or dropped */
    struct client *waiter;          /* the fake client running the command;
                                       owned by owner's tag set while owner
                                       is set, then by block.spare or the
                                       close list (with this struct) */
    struct block_tagwait *chain;    /* borrowed: next in the tag set's bucket */
    int answered;                   /* its push waits on block.answered */
};

/* A connection's waits by tag (c->tagset). */
struct block_tagset {
    struct block_tagwait **table;   /* owned array of owned chains */
    size_t size;                    /* buckets, power of two */
    size_t n;                       /* waits */
};

static int waiter_gone(const struct client *c);
static void tagged_refresh(struct client *c);

/* ---- the key table ------------------------------------------------------ */

static uint64_t
key_hash(int dbid, const char *key, size_t len)
{
    return dict_hash(key, len) ^ ((uint64_t)dbid * 0x9e3779b97f4a7c15ULL);
}

static struct block_key **
key_slot(struct block *b, int dbid, const char *key, size_t len, uint64_t h)
{
    struct block_key **pp = &b->table[h & (b->size - 1)];
    while (*pp != NULL) {
        struct block_key *k = *pp;
        if (k->hash == h && k->dbid == dbid && k->keylen == len
            && memcmp(k->key, key, len) == 0) {
            return pp;
        }
        pp = &k->chain;
    }
    return pp;
}

static void
table_grow(struct block *b)
{
    size_t size = b->size ? b->size * 2 : 64;
    struct block_key **t = mem_calloc(size * sizeof(*t));
    for (size_t i = 0; i < b->size; i++) {
        struct block_key *k = b->table[i];
        while (k != NULL) {
            struct block_key *next = k->chain;
            k->chain = t[k->hash & (size - 1)];
            t[k->hash & (size - 1)] = k;
            k = next;
        }
    }
    mem_free(b->table);
    b->table = t;
    b->size = size;
}

static struct block_key *
key_get(struct block *b, int dbid, const char *key, size_t len, int create)
{
    uint64_t h = key_hash(dbid, key, len);
    if (b->size == 0) {
        if (!create) {
            return NULL;
        }
        table_grow(b);
    }
    struct block_key **pp = key_slot(b, dbid, key, len, h);
    if (*pp != NULL || !create) {
        return *pp;
    }
    if (b->nkeys >= b->size) {
        table_grow(b);
        pp = key_slot(b, dbid, key, len, h);
    }
    struct block_key *k = mem_calloc(sizeof(*k) + len);
    k->hash = h;
    k->dbid = dbid;
    k->keylen = len;
    memcpy(k->key, key, len);
    *pp = k;
    b->nkeys++;
    return k;
}

/* Free a key nobody waits on any more (unless the ready list holds it). */
static void
key_release(struct block *b, struct block_key *k)
{
    if (k->head != NULL || k->ready) {
        return;
    }
    struct block_key **pp = key_slot(b, k->dbid, k->key, k->keylen, k->hash);
    *pp = k->chain;
    b->nkeys--;
    mem_free(k);
}

/* ---- the change signal ------------------------------------------------ */

static void
ready_push(struct block *b, struct block_key *k)
{
    if (k->ready) {
        return;
    }
    if (b->nready == b->readycap) {
        b->readycap = b->readycap ? b->readycap * 2 : 16;
        b->ready = mem_realloc(b->ready, b->readycap * sizeof(*b->ready));
    }
    k->ready = 1;
    b->ready[b->nready++] = k;
}

static void
on_keyspace_change(void *ctx, struct db *db, const char *key, size_t len,
                   enum keyspace_change what)
{
    struct server *srv = ctx;
    struct block *b = &srv->block;
    if (b->nkeys == 0 || what == KEYSPACE_DELETED) {
        return;
    }
    if (key != NULL) {
        struct block_key *k = key_get(b, db->id, key, len, 0);
        if (k != NULL && k->head != NULL) {
            ready_push(b, k);
        }
        return;
    }
    /* A flush or swap changed every key of db: each waited-on key there
     * may now hold something (SWAPDB brings a whole other database). */
    for (size_t i = 0; i < b->size; i++) {
        for (struct block_key *k = b->table[i]; k != NULL; k = k->chain) {
            if (k->dbid == db->id && k->head != NULL) {
                ready_push(b, k);
            }
        }
    }
}

void
block_setup(struct server *srv)
{
    memset(&srv->block, 0, sizeof(srv->block));
    keyspace_listen(&srv->ks, on_keyspace_change, srv, &srv->block.nkeys);
}

void
block_teardown(struct server *srv)
{
    struct block *b = &srv->block;
    for (size_t i = 0; i < b->size; i++) {
        struct block_key *k = b->table[i];
        while (k != NULL) {
            struct block_key *next = k->chain;
            struct block_waiter *w = k->head;
            while (w != NULL) {
                struct block_waiter *wn = w->next;
                mem_free(w);
                w = wn;
            }
            mem_free(k);
            k = next;
        }
    }
    mem_free(b->table);
    for (size_t i = 0; i < b->nspare; i++) {
        client_destroy(&b->spare[i]);
    }
    /* Clients are freed before teardown (block_client_gone emptied the WAIT
     * and held lists). */
    mem_free(b->ready);
    mem_free(b->wake);
    mem_free(b->answered);
    memset(b, 0, sizeof(*b));
}

/* ---- a client's wait ------------------------------------------------------ */

#define BLOCK_TIMEOUT_FOREVER_MS (100LL * 365 * 24 * 3600 * 1000)

int
block_parse_timeout(struct client *c, const struct resp_arg *arg,
                    long long *timeout_ms)
{
    long double t;
    if (util_str2ld(arg->ptr, arg->len, &t) != 0 || isnan(t)) {
        reply_error(c, "timeout is not a float or out of range");
        return -1;
    }
    /* Redis rounds up to whole milliseconds, so 0.0001 still blocks for a
     * moment rather than forever (and -0.0001 becomes 0: forever). */
    long double ms = ceill(t * 1000.0L);
    if (ms < 0 || ms >= 9223372036854775807.0L) {
        /* Redis 7.0 converts to a long long, which turns inf and anything
         * past 2^63 ms into LLONG_MIN on x86: "negative". */
        reply_error(c, "timeout is negative");
        return -1;
    }
    /* Anything beyond a century is as good as forever (and keeps the
     * deadline arithmetic from overflowing). */
    *timeout_ms = ms > (long double)BLOCK_TIMEOUT_FOREVER_MS ? 0 : (long long)ms;
    return 0;
}

int
block_allowed(const struct client *c)
{
    return (c->fd >= 0 || (c->flags & CLIENT_TAGWAIT))
           && !(c->flags & (CLIENT_DENY_BLOCKING | CLIENT_MASTER));
}

static void
wake_push(struct server *srv, struct client *c)
{
    struct block *b = &srv->block;
    if (c->bstate->waking) {
        return;
    }
    if (b->nwake == b->wakecap) {
        b->wakecap = b->wakecap ? b->wakecap * 2 : 8;
        b->wake = mem_realloc(b->wake, b->wakecap * sizeof(*b->wake));
    }
    c->bstate->waking = 1;
    b->wake[b->nwake++] = c;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    struct block_state *st = c->bstate;
    (void)fd;
    (void)what;
    if (st == NULL) {
        return;
    }
    /* libevent counts a timer from its cached time, taken when the loop
     * iteration began, so it may fire a few milliseconds early: a 20 ms
     * BLMOVE answered after 16 ms.  Wait out the rest. */
    long long left = st->deadline_ms - util_mstime();
    if (left > 0) {
        struct timeval tv = {left / 1000, (left % 1000) * 1000};
        evtimer_add(st->timer, &tv);
        return;
    }
    st->timed_out = 1;
    wake_push(c->srv, c);
}

static void
reply_timeout(struct client *c, enum block_timeout_reply kind)
{
    if (kind == BLOCK_REPLY_NULL_ARRAY) {
        reply_null_array(c);
    } else {
        reply_null(c);
    }
}

/* Drop c's wait entirely: off every key's FIFO, timer and state freed. */
static void
state_free(struct client *c)
{
    struct block_state *st = c->bstate;
    struct block *b = &c->srv->block;
    if (st == NULL) {
        return;
    }
    if (st->kind == BLOCK_ON_ACKS) {
        if (st->ack_prev) {
            st->ack_prev->ack_next = st->ack_next;
        } else {
            b->acks_head = st->ack_next;
        }
        if (st->ack_next) {
            st->ack_next->ack_prev = st->ack_prev;
        } else {
            b->acks_tail = st->ack_prev;
        }
        b->nacks--;
    }
    for (size_t i = 0; i < st->nwaiters; i++) {
        struct block_waiter *w = st->waiters[i];
        struct block_key *k = w->bk;
        if (w->prev) {
            w->prev->next = w->next;
        } else {
            k->head = w->next;
        }
        if (w->next) {
            w->next->prev = w->prev;
        } else {
            k->tail = w->prev;
        }
        mem_free(w);
        key_release(b, k);
    }
    if (st->waking) {
        for (size_t i = 0; i < b->nwake; i++) {
            if (b->wake[i] == c) {
                b->wake[i] = NULL;
            }
        }
    }
    if (st->timer != NULL) {
        event_free(st->timer);
        b->ntimed--;
    }
    mem_free(st->waiters);
    mem_free(st);
    c->bstate = NULL;
    b->nblocked--;
    c->flags &= ~CLIENT_KEYWAIT;
    if (!(c->flags & CLIENT_PAUSED)) {
        c->flags &= ~CLIENT_BLOCKED;  /* a held client stays held */
    }
}

/* A new wait for c, with its deadline armed (timeout_ms 0: none). */
static struct block_state *
state_new(struct client *c, enum block_kind kind, long long timeout_ms)
{
    struct block *b = &c->srv->block;
    struct block_state *st = mem_calloc(sizeof(*st));
    st->kind = kind;
    st->c = c;
    c->bstate = st;
    b->nblocked++;
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        st->deadline_ms = util_mstime() + timeout_ms;
        st->timer = evtimer_new(c->srv->base, on_deadline, c);
        evtimer_add(st->timer, &tv);
        b->ntimed++;
    }
    return st;
}

/* The type a list or sorted-set pop waits for.  As Redis 7.0, a written
 * key wakes such a waiter only when it holds that type: a transaction that
 * leaves a string under the key (ZADD, DEL, SET) lets it wait on instead of
 * answering WRONGTYPE.  Other waits (streams) run again on any write. */
static int
wanted_type(const struct command *cmd)
{
    if (cmd == NULL) {
        return -1;
    }
    switch (cmd->id) {
    case CMD_ID_BLPOP:
    case CMD_ID_BRPOP:
    case CMD_ID_BLMOVE:
    case CMD_ID_BRPOPLPUSH:
    case CMD_ID_BLMPOP:
        return ENTRY_LIST;
    case CMD_ID_BZPOPMIN:
    case CMD_ID_BZPOPMAX:
    case CMD_ID_BZMPOP:
        return ENTRY_ZSET;
    default:
        return -1;
    }
}

/* Whether a waiter of this type should run again for key in db dbid. */
static int
key_holds(struct server *srv, int dbid, const char *key, size_t keylen, int want)
{
    if (want < 0) {
        return 1;
    }
    struct entry *e = db_lookup(&srv->ks.dbs[dbid], key, keylen,
                                LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_NOEXPIRE);
    return e != NULL && (int)e->type == want;
}

void
block_on_keys(struct client *c, const struct resp_arg *keys, size_t nkeys,
              long long timeout_ms, enum block_timeout_reply reply)
{
    struct server *srv = c->srv;
    struct block *b = &srv->block;
    struct block_state *st = c->bstate;

    if (!block_allowed(c)) {
        reply_timeout(c, reply);
        return;
    }
    if (st != NULL) {
        /* The command ran again after a wake-up and still found nothing:
         * keep its places in the queues and its deadline, unless its time
         * is up. */
        if (st->unblock_error) {
            reply_error(c, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
            return;
        }
        if (st->timed_out || (st->deadline_ms > 0 && st->deadline_ms <= util_mstime())) {
            reply_timeout(c, st->reply);
            return;
        }
        c->flags |= CLIENT_BLOCKED | CLIENT_KEYWAIT;
        return;
    }
    st = state_new(c, BLOCK_ON_KEYS, timeout_ms);
    st->reply = reply;
    st->want_type = wanted_type(c->cmd);
    st->waiters = mem_alloc((nkeys ? nkeys : 1) * sizeof(*st->waiters));
    for (size_t i = 0; i < nkeys; i++) {
        struct block_key *k = key_get(b, c->db->id, keys[i].ptr, keys[i].len, 1);
        int dup = 0;
        for (struct block_waiter *w = k->head; w != NULL && !dup; w = w->next) {
            dup = w->c == c;  /* BLPOP k k: one place is enough */
        }
        if (dup) {
            continue;
        }
        struct block_waiter *w = mem_calloc(sizeof(*w));
        w->c = c;
        w->bk = k;
        w->prev = k->tail;
        if (k->tail) {
            k->tail->next = w;
        } else {
            k->head = w;
        }
        k->tail = w;
        st->waiters[st->nwaiters++] = w;
    }
    c->flags |= CLIENT_BLOCKED | CLIENT_KEYWAIT;
}

/* ---- WAIT --------------------------------------------------------------------- */

void
block_for_acks(struct client *c, long long offset, long long numreplicas,
               long long timeout_ms)
{
    struct block *b = &c->srv->block;
    if (!block_allowed(c) || c->bstate != NULL) {
        /* As Redis 7.0: inside MULTI, WAIT answers the count so far. */
        reply_int(c, repl_replicas_acked(c->srv, offset));
        return;
    }
    /* Beyond a century is forever (and keeps the deadline from overflowing;
     * Redis 7.0 blocks there too). */
    if (timeout_ms > BLOCK_TIMEOUT_FOREVER_MS) {
        timeout_ms = 0;
    }
    struct block_state *st = state_new(c, BLOCK_ON_ACKS, timeout_ms);
    st->ack_offset = offset;
    st->ack_replicas = numreplicas;
    st->ack_prev = b->acks_tail;
    if (b->acks_tail) {
        b->acks_tail->ack_next = st;
    } else {
        b->acks_head = st;
    }
    b->acks_tail = st;
    b->nacks++;
    c->flags |= CLIENT_BLOCKED;
}

size_t
block_ack_waiters(const struct server *srv)
{
    return srv->block.nacks;
}

/* Put the WAITs whose count is reached on the wake list, oldest first. */
static void
acks_check(struct server *srv)
{
    for (struct block_state *st = srv->block.acks_head; st != NULL; st = st->ack_next) {
        if (!st->waking
            && repl_replicas_acked(srv, st->ack_offset) >= st->ack_replicas) {
            wake_push(srv, st->c);
        }
    }
}

/* A WAIT is over (count reached, deadline, CLIENT UNBLOCK): answer it and
 * let the client's pipelined commands run. */
static void
acks_answer(struct client *c)
{
    struct block_state *st = c->bstate;
    long long acked = repl_replicas_acked(c->srv, st->ack_offset);
    int with_error = st->unblock_error;
    state_free(c);
    if (with_error) {
        reply_error(c, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        reply_int(c, acked);
    }
    client_queue_write(c);
    client_process_input(c);
}

/* ---- CLIENT PAUSE holds ----------------------------------------------------- */

void
block_for_pause(struct client *c)
{
    struct block *b = &c->srv->block;
    c->flags |= CLIENT_PAUSED | CLIENT_BLOCKED;
    c->pause_next = NULL;
    c->pause_prev = b->held_tail;
    if (b->held_tail) {
        b->held_tail->pause_next = c;
    } else {
        b->held_head = c;
    }
    b->held_tail = c;
    b->nheld++;
}

static void
held_unlink(struct block *b, struct client *c)
{
    if (c->pause_prev) {
        c->pause_prev->pause_next = c->pause_next;
    } else {
        b->held_head = c->pause_next;
    }
    if (c->pause_next) {
        c->pause_next->pause_prev = c->pause_prev;
    } else {
        b->held_tail = c->pause_prev;
    }
    c->pause_prev = c->pause_next = NULL;
    b->nheld--;
    c->flags &= ~CLIENT_PAUSED;
    if (c->bstate == NULL || !(c->flags & CLIENT_KEYWAIT)) {
        c->flags &= ~CLIENT_BLOCKED;
    }
}

size_t
block_held_clients(const struct server *srv)
{
    return srv->block.nheld;
}

/* When no pause is in force, resume the clients held before this call, in
 * the order they were held (one resumed ahead of the others may pause
 * anew: the rest then wait for that pause's end).  Returns how many ran. */
static size_t
held_resume(struct server *srv)
{
    struct block *b = &srv->block;
    size_t n = b->nheld, ran = 0;
    while (n-- > 0 && !pause_active(srv) && b->held_head != NULL && !srv->shutdown_asap) {
        struct client *c = b->held_head;
        held_unlink(b, c);
        if (waiter_gone(c)) {
            continue;  /* a tagged wait whose connection is closing */
        }
        tagged_refresh(c);
        client_process_input(c);
        ran++;
    }
    return ran;
}

void
block_call_done(struct client *c)
{
    if (c->bstate != NULL && c->bstate->kind == BLOCK_ON_KEYS
        && !(c->flags & CLIENT_KEYWAIT)) {
        state_free(c);
    }
}

void
block_client_gone(struct client *c)
{
    if (c->flags & CLIENT_PAUSED) {
        held_unlink(&c->srv->block, c);
    }
    state_free(c);
}

int
block_unblock(struct client *c, int with_error)
{
    if (c->bstate == NULL || (c->flags & CLIENT_PAUSED)
        || (c->bstate->kind == BLOCK_ON_KEYS && !(c->flags & CLIENT_KEYWAIT))) {
        return 0;
    }
    if (with_error) {
        c->bstate->unblock_error = 1;
    } else {
        c->bstate->timed_out = 1;
    }
    wake_push(c->srv, c);
    return 1;
}

size_t
block_blocked_clients(const struct server *srv)
{
    return srv->block.nblocked;
}

size_t
block_timed_clients(const struct server *srv)
{
    return srv->block.ntimed;
}

size_t
block_blocking_keys(const struct server *srv)
{
    return srv->block.nkeys;
}

/* Run c's held command again (and whatever it pipelined behind it). */
static void
rerun(struct client *c)
{
    c->flags &= ~(CLIENT_BLOCKED | CLIENT_KEYWAIT);
    tagged_refresh(c);
    client_process_input(c);
}

/* Re-run the waiters of the ready keys and the clients on the wake list.
 * Serving a key may write others (BLMOVE pushes), which the lists get at
 * their tails: walk them from the front until quiet, then empty them
 * (consuming from the front one by one would be quadratic when a flush
 * readies thousands of keys or thousands of deadlines pass). */
static void
serve_lists(struct server *srv)
{
    struct block *b = &srv->block;
    struct client **batch = NULL;
    size_t cap = 0;
    size_t rh = 0, wh = 0;

    while (b->nanswered > 0 || rh < b->nready || wh < b->nwake) {
        for (size_t i = 0; i < b->nanswered; i++) {
            struct client *c = b->answered[i];
            if (c != NULL) {
                c->flags &= ~CLIENT_BLOCKED;
                c->on_done(c, c->done_arg);  /* the push (adds no others) */
            }
        }
        b->nanswered = 0;
        while (rh < b->nready) {
            struct block_key *k = b->ready[rh++];
            k->ready = 0;
            /* The FIFO changes while its clients run: take the list of
             * clients first, then re-run each that still waits here. */
            size_t n = 0;
            for (struct block_waiter *w = k->head; w != NULL; w = w->next) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 16;
                    batch = mem_realloc(batch, cap * sizeof(*batch));
                }
                batch[n++] = w->c;
            }
            int dbid = k->dbid;
            char *key = mem_alloc(k->keylen ? k->keylen : 1);
            size_t keylen = k->keylen;
            memcpy(key, k->key, keylen);
            key_release(b, k);
            for (size_t i = 0; i < n; i++) {
                struct client *c = batch[i];
                if (c->bstate == NULL || !(c->flags & CLIENT_KEYWAIT)
                    || (c->flags & CLIENT_PAUSED) || waiter_gone(c)
                    || key_get(b, dbid, key, keylen, 0) == NULL
                    || !key_holds(srv, dbid, key, keylen, c->bstate->want_type)) {
                    continue;
                }
                rerun(c);
            }
            mem_free(key);
        }
        while (wh < b->nwake) {
            struct client *c = b->wake[wh++];
            if (c == NULL || c->bstate == NULL) {
                continue;
            }
            c->bstate->waking = 0;
            if (waiter_gone(c)) {
                continue;  /* block_client_gone frees its wait */
            }
            if (c->bstate->kind == BLOCK_ON_ACKS) {
                acks_answer(c);
            } else if (!(c->flags & CLIENT_PAUSED)) {
                /* A paused client runs again when the pause ends, and
                 * then sees its deadline. */
                rerun(c);
            }
        }
    }
    b->nready = 0;
    b->nwake = 0;
    mem_free(batch);
}

void
block_serve_ready(struct server *srv)
{
    if ((srv->block.nready > 0 || srv->block.nanswered > 0) && !srv->block.serving) {
        srv->block.serving = 1;
        serve_lists(srv);
        srv->block.serving = 0;
    }
}

void
block_before_sleep(struct server *srv)
{
    struct block *b = &srv->block;
    if (b->serving) {
        return;
    }
    b->serving = 1;
    /* Resumed clients may write keys, answer or start WAITs: go round
     * until nothing is left to do. */
    do {
        if (b->nacks > 0) {
            acks_check(srv);
        }
        serve_lists(srv);
    } while (b->nheld > 0 && held_resume(srv) > 0);
    b->serving = 0;
}

/* ---- REPLICAOF: everyone waiting is released -------------------------------- */

void
block_unblock_all(struct server *srv)
{
    static const char msg[] = "-UNBLOCKED force unblock from blocking operation, "
                              "instance state changed (master -> replica?)";
    struct block *b = &srv->block;
    if (b->nblocked == 0) {
        return;
    }
    /* List them first: releasing one frees keys of the table.  Each has
     * one wait state, and nblocked counts them all (keys and WAITs). */
    struct client **list = mem_alloc(b->nblocked * sizeof(*list));
    size_t n = 0;
    for (size_t i = 0; i < b->size; i++) {
        for (struct block_key *k = b->table[i]; k != NULL; k = k->chain) {
            for (struct block_waiter *w = k->head; w != NULL; w = w->next) {
                if (!w->c->bstate->collected) {
                    w->c->bstate->collected = 1;
                    list[n++] = w->c;
                }
            }
        }
    }
    for (struct block_state *st = b->acks_head; st != NULL; st = st->ack_next) {
        list[n++] = st->c;
    }
    for (size_t i = 0; i < n; i++) {
        struct client *c = list[i];
        if (c->flags & CLIENT_PAUSED) {
            /* Woken, then held by CLIENT PAUSE: it runs again from the top
             * when the pause ends (Redis leaves its postponed clients). */
            c->bstate->collected = 0;
            continue;
        }
        state_free(c);
        reply_error(c, msg);
        if (c->flags & CLIENT_TAGWAIT) {
            /* REPLICAOF may run inside EXEC on the very connection: its
             * push goes out in the next pass; the connection stays. */
            if (b->nanswered == b->answeredcap) {
                b->answeredcap = b->answeredcap ? b->answeredcap * 2 : 8;
                b->answered = mem_realloc(b->answered,
                                          b->answeredcap * sizeof(*b->answered));
            }
            c->flags |= CLIENT_BLOCKED;  /* nothing runs it meanwhile */
            ((struct block_tagwait *)c->done_arg)->answered = 1;
            b->answered[b->nanswered++] = c;
        } else if (!(c->flags & CLIENT_CLOSE_ASAP)) {
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            if (c->ev_read != NULL) {
                event_del(c->ev_read);
            }
            client_queue_write(c);
        }
    }
    mem_free(list);
}

/* ---- tagged waits (CACHELY.BLOCK) ------------------------------------------ */

static uint64_t
tag_hash(uint64_t tag)
{
    return (tag ^ (tag >> 29)) * 0xbf58476d1ce4e5b9ULL;
}

static struct block_tagwait **
tagset_slot(struct block_tagset *ts, uint64_t tag)
{
    struct block_tagwait **pp = &ts->table[tag_hash(tag) & (ts->size - 1)];
    while (*pp != NULL && (*pp)->tag != tag) {
        pp = &(*pp)->chain;
    }
    return pp;
}

static struct block_tagwait *
tagset_find(const struct client *c, uint64_t tag)
{
    return c->tagset != NULL ? *tagset_slot(c->tagset, tag) : NULL;
}

static void
tagset_add(struct client *c, struct block_tagwait *tw)
{
    struct block_tagset *ts = c->tagset;
    if (ts == NULL) {
        ts = c->tagset = mem_calloc(sizeof(*ts));
    }
    if (ts->n >= ts->size) {
        size_t size = ts->size ? ts->size * 2 : 8;
        struct block_tagwait **t = mem_calloc(size * sizeof(*t));
        for (size_t i = 0; i < ts->size; i++) {
            struct block_tagwait *e = ts->table[i];
            while (e != NULL) {
                struct block_tagwait *next = e->chain;
                e->chain = t[tag_hash(e->tag) & (size - 1)];
                t[tag_hash(e->tag) & (size - 1)] = e;
                e = next;
            }
        }
        mem_free(ts->table);
        ts->table = t;
        ts->size = size;
    }
    struct block_tagwait **pp = &ts->table[tag_hash(tw->tag) & (ts->size - 1)];
    tw->chain = *pp;
    *pp = tw;
    ts->n++;
    c->srv->block.ntagged++;
}

/* The wait is over for its connection (answered or dropped): off the tag
 * set.  The waiter stays until it is freed. */
static void
tagged_detach(struct block_tagwait *tw)
{
    struct client *owner = tw->owner;
    if (owner == NULL) {
        return;
    }
    struct block_tagwait **pp = tagset_slot(owner->tagset, tw->tag);
    *pp = tw->chain;
    tw->chain = NULL;
    owner->tagset->n--;
    owner->srv->block.ntagged--;
    tw->owner = NULL;
}

/* Append the push >3 "cachely-block" :tag <reply> to c's output, the reply
 * being len bytes at p, or (p NULL) everything the waiter w collected. */
static void
tagged_push(struct client *c, uint64_t tag, const char *p, size_t len,
            const struct client *w)
{
    static const char head[] = ">3\r\n$13\r\ncachely-block\r\n:";
    char hdr[sizeof(head) + 24];
    size_t n = sizeof(head) - 1;
    memcpy(hdr, head, n);
    n += util_ull2str(hdr + n, tag);
    hdr[n++] = '\r';
    hdr[n++] = '\n';
    unsigned pushing = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING;  /* CLIENT REPLY OFF does not silence it */
    reply_raw(c, hdr, n);
    if (p != NULL) {
        reply_raw(c, p, len);
    } else {
        /* An unbuffered waiter: its reply is all in blocks. */
        for (const struct reply_block *rb = w->reply; rb != NULL; rb = rb->next) {
            reply_raw(c, rb->data, rb->used);
        }
    }
    c->flags = (c->flags & ~CLIENT_PUSHING) | pushing;
}

/* Keep an answered waiter w for the next wait, or free it.  It may be on
 * the stack (its own input loop, which then finds nothing more to run):
 * nothing can take it from the spares before that loop returns, as no
 * command runs in between. */
static void
waiter_recycle(struct client *w)
{
    struct block *b = &w->srv->block;
    if (b->nspare == sizeof(b->spare) / sizeof(b->spare[0])
        || (w->flags & CLIENT_CLOSE_ASAP) || w->bstate != NULL || w->reply == NULL
        || w->qcap > 4096) {
        client_close_async(w);
        return;
    }
    struct reply_block *first = w->reply, *rb = first->next;
    while (rb != NULL) {
        struct reply_block *next = rb->next;
        mem_free(rb);
        rb = next;
    }
    first->next = NULL;
    first->used = 0;
    w->reply_tail = first;
    w->reply_bytes = 0;
    w->reply_alloc = mem_usable(first);
    w->obuf_soft_since_ms = 0;
    w->qlen = w->qpos = 0;
    w->flags = CLIENT_FAKE | CLIENT_TAGWAIT;
    w->woff = 0;
    b->spare[b->nspare++] = w;
}

/* A waiter's command returned (its on_done): what it answered goes to its
 * connection, and the waiter is done. */
static void
tagged_done(struct client *w, void *arg)
{
    struct block_tagwait *tw = arg;
    struct client *owner = tw->owner;
    if (owner != NULL) {
        tagged_detach(tw);
        tagged_push(owner, tw->tag, NULL, 0, w);
        /* A WAIT on the connection covers what its wait popped. */
        if (w->woff > owner->woff) {
            owner->woff = w->woff;
        }
    }
    tw->answered = 0;
    waiter_recycle(w);
}

static int
waiter_gone(const struct client *c)
{
    if (c->flags & CLIENT_CLOSE_ASAP) {
        return 1;
    }
    if (c->flags & CLIENT_TAGWAIT) {
        /* Its connection is closing: nothing may be popped for it. */
        const struct block_tagwait *tw = c->done_arg;
        return tw == NULL || tw->owner == NULL
               || (tw->owner->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY));
    }
    return 0;
}

/* Before a waiter's command runs again: the connection may have
 * authenticated as another user since (and the old one may be gone). */
static void
tagged_refresh(struct client *c)
{
    if (c->flags & CLIENT_TAGWAIT) {
        const struct block_tagwait *tw = c->done_arg;
        c->user = tw->owner->user;
    }
}

void
block_tagged_start(struct client *c, uint64_t tag, size_t argc,
                   const struct resp_arg *argv)
{
    struct server *srv = c->srv;
    static const char dup[] = "-ERR duplicate tag\r\n";
    static const char notblocking[] = "-ERR CACHELY.BLOCK takes a blocking command\r\n";
    static const char full[] = "-ERR max number of clients reached\r\n";

    if (tagset_find(c, tag) != NULL) {
        tagged_push(c, tag, dup, sizeof(dup) - 1, NULL);
        return;
    }
    /* An unknown command is answered by dispatch below, as it would be on
     * the connection. */
    const struct command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd != NULL && handlers_implements(cmd) && !(cmd->flags & CMD_BLOCKING)) {
        tagged_push(c, tag, notblocking, sizeof(notblocking) - 1, NULL);
        return;
    }
    /* Each wait stands for a client that would have blocked on a
     * connection of its own: maxclients bounds them all, whatever number
     * of connections carry them (one connection's alone could otherwise
     * be multiplied by every connection's). */
    if ((long long)srv->block.ntagged >= srv->cfg.maxclients) {
        tagged_push(c, tag, full, sizeof(full) - 1, NULL);
        return;
    }

    /* The waiter is the connection as far as the command can tell: its
     * database, user, protocol; a fake connection's waits may not block. */
    unsigned flags = CLIENT_TAGWAIT | (c->flags & (CLIENT_AUTHENTICATED | CLIENT_NO_TOUCH));
    if (c->fd < 0) {
        flags |= CLIENT_DENY_BLOCKING;
    }
    struct block *b = &srv->block;
    struct client *w;
    struct block_tagwait *tw;
    if (b->nspare > 0) {
        w = b->spare[--b->nspare];
        w->flags = flags | CLIENT_FAKE;
        tw = w->done_arg;
    } else {
        w = client_create_fake_unbuffered(srv, flags);
        tw = mem_calloc(sizeof(*tw));
        tw->waiter = w;
        w->on_done = tagged_done;
        w->done_arg = tw;
    }
    w->db = c->db;
    w->user = c->user;
    w->resp = c->resp;
    size_t len = resp_command_len(argc, argv);
    if (w->qcap < len) {
        mem_free(w->qbuf);
        w->qbuf = mem_alloc(len);
        w->qcap = len;
    }
    w->qlen = resp_command_write(w->qbuf, argc, argv);
    tw->tag = tag;
    tw->owner = c;
    tagset_add(c, tw);
    /* Answered now (tagged_done pushes it, in order with c's replies), or
     * left waiting on keys or held by CLIENT PAUSE. */
    client_process_input(w);
}

int
block_tagged_unblock(struct client *c, uint64_t tag, int how)
{
    struct block_tagwait *tw = tagset_find(c, tag);
    if (tw == NULL) {
        return 0;
    }
    if (how != 0) {
        /* Held by CLIENT PAUSE: not released, as CLIENT UNBLOCK leaves a
         * held client (its push comes when it runs).  Already answered
         * (REPLICAOF): its push follows. */
        return tw->answered || block_unblock(tw->waiter, how == 2);
    }
    /* Dropped: the waiter may sit in a batch block_serve_ready is walking
     * (this may be a pipelined command of a client it just served), so it
     * is freed later; closing, it is never run again. */
    tagged_detach(tw);
    client_close_async(tw->waiter);
    return 1;
}

void
block_tagged_gone(struct client *c)
{
    if (c->flags & CLIENT_TAGWAIT) {
        struct block_tagwait *tw = c->done_arg;
        struct block *b = &c->srv->block;
        for (size_t i = 0; i < b->nanswered; i++) {
            if (b->answered[i] == c) {
                b->answered[i] = NULL;  /* freed before its push went */
            }
        }
        if (tw != NULL) {
            tagged_detach(tw);
            mem_free(tw);
            c->done_arg = NULL;
        }
        return;
    }
    struct block_tagset *ts = c->tagset;
    if (ts == NULL) {
        return;
    }
    /* The connection goes: its waits go silently.  (Never from inside a
     * pass of block_before_sleep: clients are freed from the close list.) */
    for (size_t i = 0; i < ts->size; i++) {
        struct block_tagwait *tw = ts->table[i];
        while (tw != NULL) {
            struct block_tagwait *next = tw->chain;
            struct client *w = tw->waiter;
            tw->chain = NULL;
            tw->owner = NULL;
            ts->n--;
            c->srv->block.ntagged--;
            if (!(w->flags & CLIENT_CLOSE_ASAP)) {
                client_destroy(&w);  /* frees tw */
            }
            tw = next;
        }
    }
    mem_free(ts->table);
    mem_free(ts);
    c->tagset = NULL;
}

size_t
block_tagged_waits(const struct server *srv)
{
    return srv->block.ntagged;
}

size_t
block_tagged_blocked(const struct server *srv)
{
    size_t n = 0;
    if (srv->block.ntagged == 0) {
        return 0;
    }
    for (const struct client *c = srv->clients; c != NULL; c = c->next) {
        const struct block_tagset *ts = c->tagset;
        for (size_t i = 0; ts != NULL && i < ts->size; i++) {
            for (const struct block_tagwait *tw = ts->table[i]; tw != NULL; tw = tw->chain) {
                n += (tw->waiter->flags & CLIENT_BLOCKED) != 0;
            }
        }
    }
    return n;
}
