/* The consumer-group commands of streams: XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM and XGROUP, with Redis 7.0's replies and errors, and the
 * effects group commands propagate (XCLAIM ... FORCE JUSTID, XGROUP SETID,
 * XGROUP CREATECONSUMER), which XREADGROUP in cmd_stream.c states too. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/client.h"
#include "node/cmd_stream.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_stream.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- consumer-group effects ---------------------------------------------------------------- */

/* XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID l */
void
xpropagate_xclaim(struct client *c, const struct resp_arg *key, const struct sgroup *g,
                 const struct xid *id, const struct spel *p)
{
    char idb[STREAM_ID_STRLEN], tb[32], nb[32], lb[STREAM_ID_STRLEN];
    struct resp_arg eff[14] = {
        {"XCLAIM", 6}, *key, {g->name, g->namelen},
        {p->consumer->name, p->consumer->namelen}, {"0", 1},
        {idb, stream_id_str(idb, id)}, {"TIME", 4},
        {tb, (size_t)snprintf(tb, sizeof(tb), "%lld", p->delivery_time)},
        {"RETRYCOUNT", 10},
        {nb, (size_t)snprintf(nb, sizeof(nb), "%llu", (unsigned long long)p->delivery_count)},
        {"FORCE", 5}, {"JUSTID", 6}, {"LASTID", 6}, {lb, stream_id_str(lb, &g->last_id)},
    };
    propagate_effect(c, 14, eff);
}

/* XGROUP SETID key group id ENTRIESREAD n */
void
xpropagate_group_id(struct client *c, const struct resp_arg *key, const struct sgroup *g)
{
    char idb[STREAM_ID_STRLEN], nb[32];
    struct resp_arg eff[7] = {
        {"XGROUP", 6}, {"SETID", 5}, *key, {g->name, g->namelen},
        {idb, stream_id_str(idb, &g->last_id)}, {"ENTRIESREAD", 11},
        {nb, (size_t)snprintf(nb, sizeof(nb), "%lld", g->entries_read)},
    };
    propagate_effect(c, 7, eff);
}

void
xpropagate_createconsumer(struct client *c, const struct resp_arg *key, const struct sgroup *g,
                         const struct resp_arg *cons)
{
    struct resp_arg eff[5] = {{"XGROUP", 6}, {"CREATECONSUMER", 14}, *key,
                              {g->name, g->namelen}, *cons};
    propagate_effect(c, 5, eff);
}


/* ---- XACK / XPENDING -------------------------------------------------------------------------- */

void
cmd_xack(struct client *c)
{
    struct stream *s;
    struct sgroup *g = NULL;
    if (xlookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s != NULL) {
        g = stream_group_find(s, c->argv[2].ptr, c->argv[2].len);
    }
    if (g == NULL) {
        reply_int(c, 0);
        return;
    }
    struct xid id;
    for (size_t j = 3; j < c->argc; j++) {
        if (xparse_strict_id(c, &c->argv[j], 0, &id, NULL) != 0) {
            return;
        }
    }
    long long acked = 0;
    for (size_t j = 3; j < c->argc; j++) {
        xparse_strict_id(NULL, &c->argv[j], 0, &id, NULL);
        struct spel *p = stream_pel_find(g, &id);
        if (p != NULL) {
            stream_pel_remove(g, p);
            acked++;
        }
    }
    if (acked > 0) {
        db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
    }
    reply_int(c, acked);
}

void
cmd_xpending(struct client *c)
{
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2], *consname = NULL;
    int justinfo = c->argc == 3;
    long long minidle = 0, count = 0;
    struct xid start = {0, 0}, end = {UINT64_MAX, UINT64_MAX};
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc >= 6) {
        size_t si = 3;
        int sx, ex;
        if (xarg_is(&c->argv[3], "idle")) {
            if (xparse_ll(c, &c->argv[4], &minidle) != 0) {
                return;
            }
            if (c->argc < 8) {
                reply_syntax_error(c);
                return;
            }
            si += 2;
        }
        if (xparse_ll(c, &c->argv[si + 2], &count) != 0) {
            return;
        }
        if (count < 0) {
            count = 0;
        }
        if (xparse_interval_id(c, &c->argv[si], 0, &start, &sx) != 0) {
            return;
        }
        if (sx && stream_id_incr(&start) != 0) {
            reply_error(c, "invalid start ID for the interval");
            return;
        }
        if (xparse_interval_id(c, &c->argv[si + 1], UINT64_MAX, &end, &ex) != 0) {
            return;
        }
        if (ex && stream_id_decr(&end) != 0) {
            reply_error(c, "invalid end ID for the interval");
            return;
        }
        if (si + 3 < c->argc) {
            consname = &c->argv[si + 3];
        }
    }
    struct stream *s;
    struct sgroup *g = NULL;
    if (xlookup(c, key, 0, NULL, &s) != 0) {
        return;
    }
    if (s == NULL || (g = stream_group_find(s, grp->ptr, grp->len)) == NULL) {
        xnogroup_key_error(c, key, grp);
        return;
    }
    if (justinfo) {
        reply_array_len(c, 4);
        reply_int(c, (long long)g->npel);
        if (g->npel == 0) {
            reply_null(c);
            reply_null(c);
            reply_null_array(c);
            return;
        }
        xreply_id(c, &g->pel[0].id);
        xreply_id(c, &g->pel[g->npel - 1].id);
        long long n = 0;
        for (size_t i = 0; i < g->nconsumers; i++) {
            n += g->consumers[i]->npending > 0;
        }
        reply_array_len(c, n);
        for (size_t i = 0; i < g->nconsumers; i++) {
            if (g->consumers[i]->npending == 0) {
                continue;
            }
            reply_array_len(c, 2);
            reply_bulk(c, g->consumers[i]->name, g->consumers[i]->namelen);
            reply_bulk_ll(c, (long long)g->consumers[i]->npending);
        }
        return;
    }
    struct sconsumer *cons = NULL;
    if (consname != NULL) {
        cons = stream_consumer_find(g, consname->ptr, consname->len);
        if (cons == NULL) {
            reply_array_len(c, 0);
            return;
        }
    }
    long long now = xnow_ms();
    size_t *idx = mem_alloc((g->npel + 1) * sizeof(*idx)), n = 0;
    for (size_t i = stream_pel_lower(g, &start); count && i < g->npel
                                                 && xid_cmp(&g->pel[i].id, &end) <= 0; i++) {
        if (cons != NULL && g->pel[i].consumer != cons) {
            continue;
        }
        if (minidle && now - g->pel[i].delivery_time < minidle) {
            continue;
        }
        idx[n++] = i;
        count--;
    }
    reply_array_len(c, (long long)n);
    for (size_t k = 0; k < n; k++) {
        const struct spel *p = &g->pel[idx[k]];
        long long elapsed = now - p->delivery_time;
        reply_array_len(c, 4);
        xreply_id(c, &p->id);
        reply_bulk(c, p->consumer->name, p->consumer->namelen);
        reply_int(c, elapsed < 0 ? 0 : elapsed);
        reply_int(c, (long long)p->delivery_count);
    }
    mem_free(idx);
}

/* ---- XCLAIM / XAUTOCLAIM ------------------------------------------------------------------------ */

static int
parse_ll_msg(struct client *c, const struct resp_arg *a, long long *out, const char *msg)
{
    if (util_str2ll(a->ptr, a->len, out) != 0) {
        reply_error(c, msg);
        return -1;
    }
    return 0;
}

/* XCLAIM/XAUTOCLAIM's consumer, created at its first claim (with Redis's
 * xgroup-createconsumer event). */
static struct sconsumer *
claim_consumer(struct client *c, const struct resp_arg *key, struct sgroup *g,
               const struct resp_arg *name, long long now)
{
    int created;
    struct sconsumer *cons = stream_consumer_get(g, name->ptr, name->len, now, &created);
    if (created) {
        notify_key(c, NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    return cons;
}

void
cmd_xclaim(struct client *c)
{
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2], *name = &c->argv[3];
    struct stream *s;
    struct sgroup *g = NULL;
    if (xlookup(c, key, LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s != NULL) {
        g = stream_group_find(s, grp->ptr, grp->len);
    }
    if (g == NULL) {
        xnogroup_key_error(c, key, grp);
        return;
    }
    long long minidle, deliverytime = -1, retrycount = -1;
    int force = 0, justid = 0, propagate_last = 0, changed = 0;
    if (parse_ll_msg(c, &c->argv[4], &minidle, "Invalid min-idle-time argument for XCLAIM") != 0) {
        return;
    }
    if (minidle < 0) {
        minidle = 0;
    }
    size_t j;
    struct xid id, last_id = {0, 0};
    for (j = 5; j < c->argc; j++) {
        if (xparse_strict_id(NULL, &c->argv[j], 0, &id, NULL) != 0) {
            break;
        }
    }
    size_t last_id_arg = j - 1;
    long long now = xnow_ms();
    for (; j < c->argc; j++) {
        size_t moreargs = c->argc - 1 - j;
        const struct resp_arg *o = &c->argv[j];
        if (xarg_is(o, "force")) {
            force = 1;
        } else if (xarg_is(o, "justid")) {
            justid = 1;
        } else if (xarg_is(o, "idle") && moreargs) {
            j++;
            if (parse_ll_msg(c, &c->argv[j], &deliverytime, "Invalid IDLE option argument for XCLAIM") != 0) {
                return;
            }
            deliverytime = now - deliverytime;
        } else if (xarg_is(o, "time") && moreargs) {
            j++;
            if (parse_ll_msg(c, &c->argv[j], &deliverytime, "Invalid TIME option argument for XCLAIM") != 0) {
                return;
            }
        } else if (xarg_is(o, "retrycount") && moreargs) {
            j++;
            if (parse_ll_msg(c, &c->argv[j], &retrycount, "Invalid RETRYCOUNT option argument for XCLAIM") != 0) {
                return;
            }
        } else if (xarg_is(o, "lastid") && moreargs) {
            j++;
            if (xparse_strict_id(c, &c->argv[j], 0, &last_id, NULL) != 0) {
                return;
            }
        } else {
            reply_errorf(c, "Unrecognized XCLAIM option '%.*s'", (int)o->len, o->ptr);
            return;
        }
    }
    if (xid_cmp(&last_id, &g->last_id) > 0) {
        g->last_id = last_id;
        propagate_last = 1;
        changed = 1;
    }
    if (deliverytime != -1) {
        if (deliverytime < 0 || deliverytime > now) {
            deliverytime = now;
        }
    } else {
        deliverytime = now;
    }
    struct sconsumer *cons = NULL;
    /* Two passes: the first decides and applies, collecting the IDs to
     * reply; the reply needs its length first. */
    size_t nids = last_id_arg >= 5 ? last_id_arg - 4 : 0, nout = 0;
    struct xid *out = mem_alloc((nids + 1) * sizeof(*out));
    for (j = 5; j <= last_id_arg; j++) {
        xparse_strict_id(NULL, &c->argv[j], 0, &id, NULL);
        struct spel *p = stream_pel_find(g, &id);
        if (!stream_entry_exists(s, &id)) {
            if (p != NULL) {
                xpropagate_xclaim(c, key, g, &id, p);
                propagate_last = 0;
                stream_pel_remove(g, p);
                changed = 1;
            }
            continue;
        }
        int fresh = 0;
        if (force && p == NULL) {
            if (cons == NULL) {
                cons = claim_consumer(c, key, g, name, now);
            }
            p = stream_pel_add(g, &id, cons, now, 1);
            fresh = 1;
        }
        if (p == NULL) {
            continue;
        }
        if (!fresh && minidle && now - p->delivery_time < minidle) {
            continue;
        }
        if (cons == NULL) {
            cons = claim_consumer(c, key, g, name, now);
        }
        cons->seen_time = now;
        if (p->consumer != cons) {
            p->consumer->npending--;
            cons->npending++;
            p->consumer = cons;
        }
        p->delivery_time = deliverytime;
        if (retrycount >= 0) {
            p->delivery_count = (uint64_t)retrycount;
        } else if (!justid && !fresh) {
            p->delivery_count++;
        } else if (!justid && fresh) {
            p->delivery_count++;
        }
        out[nout++] = id;
        xpropagate_xclaim(c, key, g, &id, p);
        propagate_last = 0;
        changed = 1;
    }
    if (propagate_last) {
        xpropagate_group_id(c, key, g);
    }
    reply_array_len(c, (long long)nout);
    for (size_t k = 0; k < nout; k++) {
        if (justid) {
            xreply_id(c, &out[k]);
        } else if (!xreply_entry_by_id(c, s, &out[k])) {
            reply_null(c);
        }
    }
    mem_free(out);
    if (changed) {
        db_signal_modified(c->db, key->ptr, key->len);
    }
}

void
cmd_xautoclaim(struct client *c)
{
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2], *name = &c->argv[3];
    long long minidle, count = 100;
    struct xid start;
    int sx, justid = 0;
    if (parse_ll_msg(c, &c->argv[4], &minidle, "Invalid min-idle-time argument for XAUTOCLAIM") != 0) {
        return;
    }
    if (minidle < 0) {
        minidle = 0;
    }
    if (xparse_interval_id(c, &c->argv[5], 0, &start, &sx) != 0) {
        return;
    }
    if (sx && stream_id_incr(&start) != 0) {
        reply_error(c, "invalid start ID for the interval");
        return;
    }
    for (size_t j = 6; j < c->argc; j++) {
        size_t moreargs = c->argc - 1 - j;
        if (xarg_is(&c->argv[j], "count") && moreargs) {
            long long max_count = LONG_MAX / 16;
            if (util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &count) != 0 || count < 1
                || count > max_count) {
                reply_error(c, "COUNT must be > 0");
                return;
            }
            j++;
        } else if (xarg_is(&c->argv[j], "justid")) {
            justid = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    struct stream *s;
    struct sgroup *g = NULL;
    if (xlookup(c, key, LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s != NULL) {
        g = stream_group_find(s, grp->ptr, grp->len);
    }
    if (g == NULL) {
        xnogroup_key_error(c, key, grp);
        return;
    }
    long long attempts = count * 10, now = xnow_ms();
    struct sconsumer *cons = NULL;
    /* At most min(COUNT, PEL size) IDs come back: size for that, not for
     * a huge COUNT. */
    size_t room = (size_t)count < g->npel ? (size_t)count : g->npel;
    struct xid *claimed = mem_alloc((room + 1) * sizeof(*claimed));
    struct xid *deleted = mem_alloc((room + 1) * sizeof(*deleted));
    size_t nclaimed = 0, ndeleted = 0;
    size_t i = stream_pel_lower(g, &start);
    int changed = 0;
    while (attempts-- && count && i < g->npel) {
        struct spel *p = &g->pel[i];
        struct xid id = p->id;
        if (!stream_entry_exists(s, &id)) {
            xpropagate_xclaim(c, key, g, &id, p);
            stream_pel_remove(g, p);
            deleted[ndeleted++] = id;
            count--;
            changed = 1;
            continue;
        }
        if (minidle && now - p->delivery_time < minidle) {
            i++;
            continue;
        }
        if (cons == NULL) {
            cons = claim_consumer(c, key, g, name, now);
            cons->seen_time = now;
        }
        if (p->consumer != cons) {
            p->consumer->npending--;
            cons->npending++;
            p->consumer = cons;
        }
        p->delivery_time = now;
        if (!justid) {
            p->delivery_count++;
        }
        claimed[nclaimed++] = id;
        count--;
        xpropagate_xclaim(c, key, g, &id, p);
        changed = 1;
        i++;
    }
    struct xid next = {0, 0};
    if (i < g->npel) {
        next = g->pel[i].id;
    }
    reply_array_len(c, 3);
    xreply_id(c, &next);
    reply_array_len(c, (long long)nclaimed);
    for (size_t k = 0; k < nclaimed; k++) {
        if (justid) {
            xreply_id(c, &claimed[k]);
        } else if (!xreply_entry_by_id(c, s, &claimed[k])) {
            reply_null(c);
        }
    }
    reply_array_len(c, (long long)ndeleted);
    for (size_t k = 0; k < ndeleted; k++) {
        xreply_id(c, &deleted[k]);
    }
    mem_free(claimed);
    mem_free(deleted);
    if (changed) {
        db_signal_modified(c->db, key->ptr, key->len);
    }
}

/* ---- XGROUP --------------------------------------------------------------------------------------- */

/* Parse [MKSTREAM] [ENTRIESREAD n] from argv[5]; -1 after replying. */
static int
parse_group_opts(struct client *c, int allow_mkstream, int *mkstream, long long *entries_read)
{
    for (size_t i = 5; i < c->argc;) {
        if (allow_mkstream && xarg_is(&c->argv[i], "mkstream")) {
            *mkstream = 1;
            i++;
        } else if (xarg_is(&c->argv[i], "entriesread") && i + 1 < c->argc) {
            if (xparse_ll(c, &c->argv[i + 1], entries_read) != 0) {
                return -1;
            }
            if (*entries_read < 0 && *entries_read != -1) {
                reply_error(c, "value for ENTRIESREAD must be positive or -1");
                return -1;
            }
            i += 2;
        } else {
            xsubcommand_syntax_error(c, "XGROUP");
            return -1;
        }
    }
    return 0;
}

/* The stream and group an XGROUP subcommand works on; -1 after replying. */
static int
group_target(struct client *c, int mkstream, int need_group, struct stream **sp,
             struct sgroup **gp)
{
    *gp = NULL;
    if (xlookup(c, &c->argv[2], LOOKUP_WRITE, NULL, sp) != 0) {
        return -1;
    }
    if (*sp != NULL) {
        *gp = stream_group_find(*sp, c->argv[3].ptr, c->argv[3].len);
    }
    if (mkstream) {
        return 0;
    }
    if (*sp == NULL) {
        reply_error(c, "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
        return -1;
    }
    if (*gp == NULL && need_group) {
        reply_errorf(c, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return -1;
    }
    return 0;
}

void
cmd_xgroup_create(struct client *c)
{
    int mkstream = 0;
    long long entries_read = -1;
    struct stream *s;
    struct sgroup *g;
    if (c->argc > 8) {
        xsubcommand_syntax_error(c, "XGROUP");
        return;
    }
    if (parse_group_opts(c, 1, &mkstream, &entries_read) != 0
        || group_target(c, mkstream, 0, &s, &g) != 0) {
        return;
    }
    struct xid id;
    if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') {
        id = s ? s->last_id : (struct xid){0, 0};
    } else if (xparse_strict_id(c, &c->argv[4], 0, &id, NULL) != 0) {
        return;
    }
    if (s == NULL) {
        s = stream_create();
        db_add_object(c->db, c->argv[2].ptr, c->argv[2].len, ENTRY_STREAM, s, -1);
    }
    if (g != NULL) {
        reply_error(c, "-BUSYGROUP Consumer Group name already exists");
        return;
    }
    stream_group_create(s, c->argv[3].ptr, c->argv[3].len, &id, entries_read);
    db_signal_modified(c->db, c->argv[2].ptr, c->argv[2].len);
    notify_key(c, NOTIFY_STREAM, "xgroup-create", &c->argv[2]);
    reply_ok(c);
}

void
cmd_xgroup_setid(struct client *c)
{
    int mkstream = 0;
    long long entries_read = -1;
    struct stream *s;
    struct sgroup *g;
    if (c->argc != 5 && c->argc != 7) {
        if (parse_group_opts(c, 0, &mkstream, &entries_read) != 0) {
            return;
        }
        xsubcommand_syntax_error(c, "XGROUP");
        return;
    }
    if (parse_group_opts(c, 0, &mkstream, &entries_read) != 0
        || group_target(c, 0, 1, &s, &g) != 0) {
        return;
    }
    struct xid id;
    if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') {
        id = s->last_id;
    } else if (xparse_id(c, &c->argv[4], 0, &id) != 0) {
        return;
    }
    g->last_id = id;
    g->entries_read = entries_read;
    db_signal_modified(c->db, c->argv[2].ptr, c->argv[2].len);
    notify_key(c, NOTIFY_STREAM, "xgroup-setid", &c->argv[2]);
    reply_ok(c);
}

void
cmd_xgroup_destroy(struct client *c)
{
    struct stream *s;
    struct sgroup *g;
    if (group_target(c, 0, 0, &s, &g) != 0) {
        return;
    }
    if (g == NULL) {
        reply_int(c, 0);
        return;
    }
    stream_group_destroy(s, g);
    /* Also wakes XREADGROUP waiters, which then answer NOGROUP. */
    db_signal_modified(c->db, c->argv[2].ptr, c->argv[2].len);
    notify_key(c, NOTIFY_STREAM, "xgroup-destroy", &c->argv[2]);
    reply_int(c, 1);
}

void
cmd_xgroup_createconsumer(struct client *c)
{
    struct stream *s;
    struct sgroup *g;
    int created;
    if (group_target(c, 0, 1, &s, &g) != 0) {
        return;
    }
    stream_consumer_get(g, c->argv[4].ptr, c->argv[4].len, xnow_ms(), &created);
    if (created) {
        db_signal_modified(c->db, c->argv[2].ptr, c->argv[2].len);
        notify_key(c, NOTIFY_STREAM, "xgroup-createconsumer", &c->argv[2]);
    }
    reply_int(c, created);
}

void
cmd_xgroup_delconsumer(struct client *c)
{
    struct stream *s;
    struct sgroup *g;
    if (group_target(c, 0, 1, &s, &g) != 0) {
        return;
    }
    struct sconsumer *cons = stream_consumer_find(g, c->argv[4].ptr, c->argv[4].len);
    long long pending = 0;
    if (cons != NULL) {
        pending = (long long)stream_consumer_delete(g, cons);
        db_signal_modified(c->db, c->argv[2].ptr, c->argv[2].len);
        notify_key(c, NOTIFY_STREAM, "xgroup-delconsumer", &c->argv[2]);
    }
    reply_int(c, pending);
}

void
cmd_xgroup_help(struct client *c)
{
    static const char *const lines[] = {
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        NULL,
    };
    reply_help(c, "XGROUP", lines);
}
