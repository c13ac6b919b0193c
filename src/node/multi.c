/* Transactions (see multi.h): the per-client queue, EXEC, and the table of
 * watched keys that the keyspace change signal marks dirty. */
#include "node/acl.h"
#include "node/multi.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/dispatch.h"
#include "node/handlers.h"
#include "node/repl.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>

struct multi_cmd {
    const struct command *cmd;   /* borrowed from the command table */
    size_t argc;
    struct resp_arg *argv;       /* owned, with the bytes after it */
};

struct multi_state {
    struct multi_cmd *cmds;      /* owned array */
    size_t count, cap;
    uint32_t flags;              /* union of the queued commands' flags */
    uint32_t inv_flags;          /* union of their flags' complements: a
                                    bit here means some command lacks it */
    struct rbuf raw;             /* the master's block, held */
    size_t queued_mem;           /* bytes the queued commands' copies take */
    size_t watch_mem;            /* bytes the client's watched keys take */
};

struct watch_key {
    struct watch_key *chain;     /* borrowed: next in the bucket */
    struct watch_key *next;      /* owned: next of the same client */
    struct client *c;            /* borrowed: the watcher */
    uint64_t hash;
    int dbid;
    int expired;                 /* logically expired when watched */
    size_t len;
    char key[];
};

/* ---- the watch table ------------------------------------------------------ */

static uint64_t
key_hash(int dbid, const char *key, size_t len)
{
    return util_hash(key, len) ^ ((uint64_t)dbid * 0x9E3779B97F4A7C15ull);
}

static void
table_grow(struct watch_table *t)
{
    size_t size = t->size ? t->size * 2 : 64;
    struct watch_key **b = mem_calloc(size * sizeof(*b));
    for (size_t i = 0; i < t->size; i++) {
        struct watch_key *w = t->buckets[i];
        while (w != NULL) {
            struct watch_key *next = w->chain;
            w->chain = b[w->hash & (size - 1)];
            b[w->hash & (size - 1)] = w;
            w = next;
        }
    }
    mem_free(t->buckets);
    t->buckets = b;
    t->size = size;
}

static void
table_unlink(struct watch_table *t, struct watch_key *w)
{
    struct watch_key **p = &t->buckets[w->hash & (t->size - 1)];
    while (*p != w) {
        p = &(*p)->chain;
    }
    *p = w->chain;
    t->count--;
}

static int
watch_matches(const struct watch_key *w, int dbid, const char *key, size_t len)
{
    return w->dbid == dbid && w->len == len && memcmp(w->key, key, len) == 0;
}

static void
unwatch_all(struct client *c)
{
    struct watch_table *t = &c->srv->watch;
    struct watch_key *w = c->watched;
    while (w != NULL) {
        struct watch_key *next = w->next;
        table_unlink(t, w);
        mem_free(w);
        w = next;
    }
    c->watched = NULL;
    if (c->mstate != NULL) {
        c->mstate->watch_mem = 0;
    }
}

static struct multi_state *state_of(struct client *c);

static void
watch_key(struct client *c, const char *key, size_t len)
{
    struct watch_table *t = &c->srv->watch;
    for (struct watch_key *w = c->watched; w != NULL; w = w->next) {
        if (watch_matches(w, c->db->id, key, len)) {
            return;
        }
    }
    if (t->count >= t->size) {
        table_grow(t);
    }
    struct watch_key *w = mem_alloc(sizeof(*w) + len);
    w->c = c;
    w->dbid = c->db->id;
    w->len = len;
    memcpy(w->key, key, len);
    w->hash = key_hash(w->dbid, key, len);
    /* Redis 7.0: a key already expired when watched is remembered as such,
     * so that its deletion (no logical change) does not abort EXEC. */
    struct entry *e = db_lookup(c->db, key, len,
                                LOOKUP_NOEXPIRE | LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    w->expired = e != NULL && db_entry_expired(c->db, e);
    w->chain = t->buckets[w->hash & (t->size - 1)];
    t->buckets[w->hash & (t->size - 1)] = w;
    t->count++;
    w->next = c->watched;
    c->watched = w;
    state_of(c)->watch_mem += sizeof(*w) + len;
}

static int
key_exists_anywhere(struct server *srv, const char *key, size_t len)
{
    for (int i = 0; i < srv->ks.ndb; i++) {
        if (db_lookup(&srv->ks.dbs[i], key, len,
                      LOOKUP_NOEXPIRE | LOOKUP_NOTOUCH | LOOKUP_NOSTATS) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* The change signal: any change to a watched key aborts its watchers'
 * next EXEC.  A flush or swap (fired before it happens) touches the keys
 * that exist; since a swap's other side is not known here, a key present
 * in any database counts (at worst an EXEC aborts that Redis would run). */
static void
on_keyspace_change(void *ctx, struct db *db, const char *key, size_t len,
                   enum keyspace_change what)
{
    struct server *srv = ctx;
    struct watch_table *t = &srv->watch;
    if (t->count == 0) {
        return;
    }
    if (what == KEYSPACE_FLUSHED) {
        for (size_t i = 0; i < t->size; i++) {
            for (struct watch_key *w = t->buckets[i]; w != NULL; w = w->chain) {
                if (w->dbid != db->id) {
                    continue;
                }
                if (w->expired) {
                    w->expired = 0; /* deleted: no logical change */
                    continue;
                }
                if (key_exists_anywhere(srv, w->key, w->len)) {
                    w->c->flags |= CLIENT_DIRTY_CAS;
                }
            }
        }
        return;
    }
    uint64_t h = key_hash(db->id, key, len);
    for (struct watch_key *w = t->buckets[h & (t->size - 1)]; w != NULL; w = w->chain) {
        if (w->hash != h || !watch_matches(w, db->id, key, len)) {
            continue;
        }
        if (w->expired && what == KEYSPACE_DELETED) {
            w->expired = 0; /* the expired key went away: no logical change */
            continue;
        }
        w->c->flags |= CLIENT_DIRTY_CAS;
    }
}

/* Redis 7.0's EXEC also fails when a watched key expired meanwhile, even
 * if nothing deleted it yet. */
static int
watched_key_expired(struct client *c)
{
    struct server *srv = c->srv;
    for (struct watch_key *w = c->watched; w != NULL; w = w->next) {
        if (w->expired) {
            continue;
        }
        struct db *db = &srv->ks.dbs[w->dbid];
        struct entry *e = db_lookup(db, w->key, w->len,
                                    LOOKUP_NOEXPIRE | LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
        if (e != NULL && db_entry_expired(db, e)) {
            return 1;
        }
    }
    return 0;
}

void
multi_setup(struct server *srv)
{
    memset(&srv->watch, 0, sizeof(srv->watch));
    keyspace_listen(&srv->ks, on_keyspace_change, srv, &srv->watch.count);
}

void
multi_teardown(struct server *srv)
{
    mem_free(srv->watch.buckets);
    memset(&srv->watch, 0, sizeof(srv->watch));
}

/* ---- the queue ------------------------------------------------------------ */

static struct multi_state *
state_of(struct client *c)
{
    if (c->mstate == NULL) {
        c->mstate = mem_calloc(sizeof(*c->mstate));
    }
    return c->mstate;
}

static void
queue_free(struct multi_state *m)
{
    for (size_t i = 0; i < m->count; i++) {
        mem_free(m->cmds[i].argv);
    }
    m->queued_mem = 0;
    m->count = 0;
    m->flags = 0;
    m->inv_flags = 0;
}

int
multi_queue(struct client *c, const struct command *cmd)
{
    if (!(c->flags & CLIENT_MULTI)) {
        return 0;
    }
    switch (cmd->id) {
    case CMD_ID_EXEC:
    case CMD_ID_DISCARD:
    case CMD_ID_MULTI:
    case CMD_ID_WATCH:
    case CMD_ID_QUIT:
    case CMD_ID_RESET:
        return 0;
    default:
        break;
    }
    struct multi_state *m = state_of(c);
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->cmds = mem_realloc(m->cmds, m->cap * sizeof(*m->cmds));
    }
    size_t bytes = 0;
    for (size_t i = 0; i < c->argc; i++) {
        bytes += c->argv[i].len;
    }
    struct resp_arg *argv = mem_alloc(c->argc * sizeof(*argv) + bytes + 1);
    m->queued_mem += c->argc * sizeof(*argv) + bytes + 1;
    char *p = (char *)(argv + c->argc);
    for (size_t i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        argv[i].ptr = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    m->cmds[m->count].cmd = cmd;
    m->cmds[m->count].argc = c->argc;
    m->cmds[m->count].argv = argv;
    m->count++;
    m->flags |= cmd->flags;
    m->inv_flags |= ~cmd->flags;
    reply_raw(c, "+QUEUED\r\n", 9);
    return 1;
}

void
multi_flag_error(struct client *c)
{
    if (c->flags & CLIENT_MULTI) {
        c->flags |= CLIENT_DIRTY_EXEC;
    }
}

uint32_t
multi_queued_flags(const struct client *c)
{
    return (c->flags & CLIENT_MULTI) && c->mstate ? c->mstate->flags : 0;
}

uint32_t
multi_queued_lacking(const struct client *c)
{
    return (c->flags & CLIENT_MULTI) && c->mstate ? c->mstate->inv_flags : 0;
}

long long
multi_queued_count(const struct client *c)
{
    return (c->flags & CLIENT_MULTI) && c->mstate ? (long long)c->mstate->count : -1;
}

size_t
multi_client_mem(const struct client *c)
{
    const struct multi_state *m = c->mstate;
    if (m == NULL) {
        return 0;
    }
    return sizeof(*m) + m->cap * sizeof(*m->cmds) + m->queued_mem + m->watch_mem;
}

void
multi_discard(struct client *c)
{
    if (c->mstate != NULL) {
        queue_free(c->mstate);
    }
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatch_all(c);
}

void
multi_exec_abort(struct client *c, const char *msg)
{
    char buf[512];
    multi_discard(c);
    snprintf(buf, sizeof(buf), "-EXECABORT Transaction discarded because of: %s",
             msg[0] == '-' ? msg + 1 : msg);
    reply_error(c, buf);
}

void
multi_client_gone(struct client *c)
{
    multi_discard(c);
    if (c->mstate != NULL) {
        mem_free(c->mstate->cmds);
        rbuf_free(&c->mstate->raw);
        mem_free(c->mstate);
        c->mstate = NULL;
    }
}

int
multi_master_applied(struct client *c, const char *frame, size_t len)
{
    struct multi_state *m = c->mstate;
    if (c->flags & CLIENT_MULTI) {
        rbuf_add(&state_of(c)->raw, frame, len);
        return 1;
    }
    if (m == NULL || m->raw.len == 0) {
        return 0;
    }
    /* The frame that ended the block (EXEC, or DISCARD): relay it all. */
    rbuf_add(&m->raw, frame, len);
    repl_master_applied(c, m->raw.p, m->raw.len);
    m->raw.len = 0;
    if (m->raw.cap > 64 * 1024) {
        rbuf_free(&m->raw);
    }
    return 1;
}

/* ---- handlers ------------------------------------------------------------- */

void
cmd_multi(struct client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "MULTI calls can not be nested");
        return;
    }
    state_of(c);
    c->flags |= CLIENT_MULTI;
    reply_ok(c);
}

void
cmd_discard(struct client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "DISCARD without MULTI");
        return;
    }
    multi_discard(c);
    reply_ok(c);
}

void
cmd_watch(struct client *c)
{
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "WATCH inside MULTI is not allowed");
        return;
    }
    /* Redis 7.0: a watch that already failed need not watch more. */
    if (!(c->flags & CLIENT_DIRTY_CAS)) {
        for (size_t i = 1; i < c->argc; i++) {
            watch_key(c, c->argv[i].ptr, c->argv[i].len);
        }
    }
    reply_ok(c);
}

void
cmd_unwatch(struct client *c)
{
    unwatch_all(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(c);
}

void
cmd_exec(struct client *c)
{
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c)) {
        c->flags |= CLIENT_DIRTY_CAS;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        multi_discard(c);
        reply_error(c, "-EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    if (c->flags & CLIENT_DIRTY_CAS) {
        multi_discard(c);
        reply_null_array(c);
        return;
    }
    /* The queue is taken out of the client first: a command inside may
     * not touch it (MULTI inside EXEC is refused at queue time anyway). */
    struct multi_state *m = c->mstate;
    struct multi_cmd *cmds = m->cmds;
    size_t count = m->count;
    m->cmds = NULL;
    m->count = m->cap = 0;
    m->queued_mem = 0;
    m->flags = 0;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatch_all(c);

    size_t saved_argc = c->argc;
    struct resp_arg *saved_argv = c->argv;
    unsigned deny = c->flags & CLIENT_DENY_BLOCKING;
    c->flags |= CLIENT_DENY_BLOCKING;
    reply_array_len(c, (long long)count);
    for (size_t i = 0; i < count; i++) {
        c->argc = cmds[i].argc;
        c->argv = cmds[i].argv;
        if (!(c->flags & CLIENT_AUTHENTICATED)) {
            /* its user was deleted by an earlier command of this EXEC */
            reply_error(c, "-NOAUTH Authentication required.");
            continue;
        }
        if (c->user != NULL) {
            /* The user's rules may have changed since the command was
             * queued: check again, as Redis does. */
            char msg[512];
            if (acl_check_client(c, cmds[i].cmd, c->argc, c->argv, ACL_CTX_EXEC, msg,
                                 sizeof(msg)) != ACL_OK) {
                reply_error(c, msg);
                continue;
            }
        }
        dispatch_call(c, cmds[i].cmd);
    }
    c->flags = (c->flags & ~CLIENT_DENY_BLOCKING) | deny;
    c->argc = saved_argc;
    c->argv = saved_argv;
    for (size_t i = 0; i < count; i++) {
        mem_free(cmds[i].argv);
    }
    mem_free(cmds);
}
