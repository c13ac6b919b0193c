/* Propagation by effects (see propagate.h). */
#include "node/propagate.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/repl.h"
#include "node/server.h"

#include <string.h>

static void
op_push(struct propagate *p, int dbid, size_t off, size_t len)
{
    if (p->nops == p->opscap) {
        p->opscap = p->opscap ? p->opscap * 2 : 8;
        p->ops = mem_realloc(p->ops, p->opscap * sizeof(*p->ops));
    }
    p->ops[p->nops].dbid = dbid;
    p->ops[p->nops].off = off;
    p->ops[p->nops].len = len;
    p->nops++;
}

void
propagate_effect_db(struct server *srv, int dbid, size_t argc,
                    const struct resp_arg *argv)
{
    struct propagate *p = &srv->prop;
    size_t off = p->buf.len;
    if (!repl_stream_active(srv)) {
        /* No backlog and no AOF: the flush would drop it (the same reason
         * propagate_call_end does not encode a verbatim command then). */
        return;
    }
    char *dst = rbuf_room(&p->buf, resp_command_len(argc, argv));
    p->buf.len += resp_command_write(dst, argc, argv);
    op_push(p, dbid, off, p->buf.len - off);
}

void
propagate_effect(struct client *c, size_t argc, const struct resp_arg *argv)
{
    propagate_effect_db(c->srv, c->db->id, argc, argv);
}

void
propagate_prevent(struct client *c)
{
    op_push(&c->srv->prop, c->db->id, c->srv->prop.buf.len, 0);
}

void
propagate_key_state(struct client *c, const struct resp_arg *key)
{
    if (!repl_stream_active(c->srv)) {
        return; /* see propagate_effect_db */
    }
    struct entry *e = db_lookup(c->db, key->ptr, key->len,
                                LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    if (e == NULL) {
        struct resp_arg argv[2] = {{"DEL", 3}, *key};
        propagate_effect(c, 2, argv);
        return;
    }
    char when[24];
    struct resp_arg argv[5] = {{"SET", 3}, *key, {entry_val(e), entry_vallen(e)},
                               {"PXAT", 4}, {when, 0}};
    if (e->volatile_) {
        argv[4].len = util_ll2str(when, entry_expire(e));
        propagate_effect(c, 5, argv);
    } else {
        propagate_effect(c, 3, argv);
    }
}

void
propagate_expire_state(struct client *c, const struct resp_arg *key)
{
    if (!repl_stream_active(c->srv)) {
        return; /* see propagate_effect_db */
    }
    struct entry *e = db_lookup(c->db, key->ptr, key->len,
                                LOOKUP_NOTOUCH | LOOKUP_NOSTATS);
    char when[24];
    struct resp_arg argv[3] = {{"PEXPIREAT", 9}, *key, {when, 0}};
    if (e == NULL) {
        argv[0] = (struct resp_arg){"DEL", 3};
        propagate_effect(c, 2, argv);
    } else if (!e->volatile_) {
        argv[0] = (struct resp_arg){"PERSIST", 7};
        propagate_effect(c, 2, argv);
    } else {
        argv[2].len = util_ll2str(when, entry_expire(e));
        propagate_effect(c, 3, argv);
    }
}

size_t
propagate_call_begin(struct server *srv)
{
    srv->prop.depth++;
    return srv->prop.nops;
}

/* Write the collected effects to the stream: one alone as it is, several
 * between MULTI and EXEC. */
static void
flush_ops(struct server *srv)
{
    struct propagate *p = &srv->prop;
    size_t real = 0;
    for (size_t i = 0; i < p->nops; i++) {
        real += p->ops[i].len > 0;
    }
    if (real > 0) {
        static const struct resp_arg multi = {"MULTI", 5}, exec = {"EXEC", 4};
        int first_db = -1;
        for (size_t i = 0; i < p->nops && first_db < 0; i++) {
            if (p->ops[i].len > 0) {
                first_db = p->ops[i].dbid;
            }
        }
        if (real > 1) {
            repl_feed_command(srv, first_db, 1, &multi);
        }
        for (size_t i = 0; i < p->nops; i++) {
            if (p->ops[i].len > 0) {
                repl_feed_encoded(srv, p->ops[i].dbid, p->buf.p + p->ops[i].off,
                                  p->ops[i].len);
            }
        }
        if (real > 1) {
            repl_feed_command(srv, -1, 1, &exec);
        }
    }
    p->nops = 0;
    p->buf.len = 0;
}

void
propagate_call_end(struct client *c, size_t mark, long long dirty_before)
{
    struct server *srv = c->srv;
    struct propagate *p = &srv->prop;
    const struct command *cmd = c->cmd;
    int is_replica = repl_is_replica(srv);

    if (c->flags & CLIENT_MASTER) {
        /* Our master's stream or a loader: what it applies is never
         * propagated by us, whatever its handlers stated (a nested load,
         * e.g. DEBUG RELOAD, must not leak into the caller's frame). */
        if (p->nops > mark) {
            p->buf.len = p->ops[mark].off;
            p->nops = mark;
        }
    } else if (p->nops == mark && !is_replica
        && srv->ks.dirty != dirty_before && cmd != NULL && (cmd->flags & CMD_WRITE)
        && c->cmd_errors == 0 && repl_stream_active(srv)) {
        /* With no backlog and no AOF the flush would drop it: not encoding
         * it was 5 % of an LPUSH at -P 16.  (Nothing turns the stream on
         * between here and the flush but CONFIG SET appendonly in a
         * transaction, whose rewrite's snapshot already holds this
         * command's effect.) */
        propagate_effect(c, c->argc, c->argv);
    }
    if (--p->depth > 0) {
        return;
    }
    if (is_replica || (c->flags & CLIENT_MASTER)) {
        /* A replica relays its master's bytes; a loader feeds nothing. */
        p->nops = 0;
        p->buf.len = 0;
        return;
    }
    if (p->nops > 0) {
        flush_ops(srv);
        c->woff = srv->repl.offset;
    }
}

void
propagate_teardown(struct server *srv)
{
    rbuf_free(&srv->prop.buf);
    mem_free(srv->prop.ops);
    memset(&srv->prop, 0, sizeof(srv->prop));
}
