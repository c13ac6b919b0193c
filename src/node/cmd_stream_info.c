/* XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO
 * HELP, with Redis 7.0's fields in its order (the helpers are cmd_stream.h's). */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/block.h"
#include "node/cmd_stream.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_stream.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int stream_range_has_tombstones(const struct stream *s, const struct xid *start);


/* ---- XINFO ------------------------------------------------------------------------------------------ */

static int
info_target(struct client *c, struct stream **sp)
{
    if (xlookup(c, &c->argv[2], 0, NULL, sp) != 0) {
        return -1;
    }
    if (*sp == NULL) {
        reply_error(c, "no such key");
        return -1;
    }
    return 0;
}

static void
reply_lag(struct client *c, const struct stream *s, const struct sgroup *g)
{
    long long lag;
    if (stream_group_lag(s, g, &lag)) {
        reply_int(c, lag);
    } else {
        reply_null(c);
    }
}

static void
reply_entries_read(struct client *c, const struct sgroup *g)
{
    if (g->entries_read != -1) {
        reply_int(c, g->entries_read);
    } else {
        reply_null(c);
    }
}

void
cmd_xinfo_stream(struct client *c)
{
    int full = 0;
    long long count = 10;
    struct stream *s;
    /* The key first (no such key, WRONGTYPE), then the options, as Redis
     * 7.0 checks them. */
    if (info_target(c, &s) != 0) {
        return;
    }
    if (c->argc > 3) {
        if (!xarg_is(&c->argv[3], "full")) {
            xsubcommand_syntax_error(c, "XINFO");
            return;
        }
        full = 1;
        if (c->argc == 6 && xarg_is(&c->argv[4], "count")) {
            if (xparse_ll(c, &c->argv[5], &count) != 0) {
                return;
            }
            if (count < 0) {
                count = 10;
            }
        } else if (c->argc != 4) {
            xsubcommand_syntax_error(c, "XINFO");
            return;
        }
    }
    reply_map_len(c, full ? 9 : 10);
    reply_bulk_cstr(c, "length");
    reply_int(c, (long long)s->x->length);
    reply_bulk_cstr(c, "radix-tree-keys");
    reply_int(c, (long long)s->x->nnodes);
    reply_bulk_cstr(c, "radix-tree-nodes");
    reply_int(c, (long long)s->x->nnodes + 1);
    reply_bulk_cstr(c, "last-generated-id");
    xreply_id(c, &s->last_id);
    reply_bulk_cstr(c, "max-deleted-entry-id");
    xreply_id(c, &s->max_deleted_id);
    reply_bulk_cstr(c, "entries-added");
    reply_int(c, (long long)s->entries_added);
    reply_bulk_cstr(c, "recorded-first-entry-id");
    xreply_id(c, &s->first_id);
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    struct xstream_iter it;
    struct xentry e;
    if (!full) {
        reply_bulk_cstr(c, "groups");
        reply_int(c, (long long)s->ngroups);
        reply_bulk_cstr(c, "first-entry");
        xstream_iter_init(&it, s->x, &lo, &hi, 0);
        if (xstream_iter_next(&it, &e)) {
            xreply_entry(c, &e);
        } else {
            reply_null(c);
        }
        reply_bulk_cstr(c, "last-entry");
        xstream_iter_init(&it, s->x, &lo, &hi, 1);
        if (xstream_iter_next(&it, &e)) {
            xreply_entry(c, &e);
        } else {
            reply_null(c);
        }
        return;
    }
    long long now = xnow_ms();
    reply_bulk_cstr(c, "entries");
    long long n = 0;
    xstream_iter_init(&it, s->x, &lo, &hi, 0);
    while ((count == 0 || n < count) && xstream_iter_next(&it, &e)) {
        n++;
    }
    reply_array_len(c, n);
    xstream_iter_init(&it, s->x, &lo, &hi, 0);
    for (long long i = 0; i < n && xstream_iter_next(&it, &e); i++) {
        xreply_entry(c, &e);
    }
    reply_bulk_cstr(c, "groups");
    reply_array_len(c, (long long)s->ngroups);
    for (size_t gi = 0; gi < s->ngroups; gi++) {
        const struct sgroup *g = s->groups[gi];
        reply_map_len(c, 7);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, g->name, g->namelen);
        reply_bulk_cstr(c, "last-delivered-id");
        xreply_id(c, &g->last_id);
        reply_bulk_cstr(c, "entries-read");
        reply_entries_read(c, g);
        reply_bulk_cstr(c, "lag");
        reply_lag(c, s, g);
        reply_bulk_cstr(c, "pel-count");
        reply_int(c, (long long)g->npel);
        reply_bulk_cstr(c, "pending");
        size_t np = g->npel;
        if (count != 0 && (size_t)count < np) {
            np = (size_t)count;
        }
        reply_array_len(c, (long long)np);
        for (size_t k = 0; k < np; k++) {
            reply_array_len(c, 4);
            xreply_id(c, &g->pel[k].id);
            reply_bulk(c, g->pel[k].consumer->name, g->pel[k].consumer->namelen);
            reply_int(c, g->pel[k].delivery_time);
            reply_int(c, (long long)g->pel[k].delivery_count);
        }
        reply_bulk_cstr(c, "consumers");
        reply_array_len(c, (long long)g->nconsumers);
        for (size_t ci = 0; ci < g->nconsumers; ci++) {
            const struct sconsumer *cons = g->consumers[ci];
            reply_map_len(c, 4);
            reply_bulk_cstr(c, "name");
            reply_bulk(c, cons->name, cons->namelen);
            reply_bulk_cstr(c, "seen-time");
            reply_int(c, cons->seen_time);
            reply_bulk_cstr(c, "pel-count");
            reply_int(c, (long long)cons->npending);
            reply_bulk_cstr(c, "pending");
            size_t cn = cons->npending;
            if (count != 0 && (size_t)count < cn) {
                cn = (size_t)count;
            }
            reply_array_len(c, (long long)cn);
            for (size_t k = 0, w = 0; k < g->npel && w < cn; k++) {
                if (g->pel[k].consumer != cons) {
                    continue;
                }
                w++;
                reply_array_len(c, 3);
                xreply_id(c, &g->pel[k].id);
                reply_int(c, g->pel[k].delivery_time);
                reply_int(c, (long long)g->pel[k].delivery_count);
            }
        }
    }
    (void)now;
}

void
cmd_xinfo_groups(struct client *c)
{
    struct stream *s;
    if (info_target(c, &s) != 0) {
        return;
    }
    reply_array_len(c, (long long)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        reply_map_len(c, 6);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, g->name, g->namelen);
        reply_bulk_cstr(c, "consumers");
        reply_int(c, (long long)g->nconsumers);
        reply_bulk_cstr(c, "pending");
        reply_int(c, (long long)g->npel);
        reply_bulk_cstr(c, "last-delivered-id");
        xreply_id(c, &g->last_id);
        reply_bulk_cstr(c, "entries-read");
        reply_entries_read(c, g);
        reply_bulk_cstr(c, "lag");
        reply_lag(c, s, g);
    }
}

void
cmd_xinfo_consumers(struct client *c)
{
    struct stream *s;
    if (info_target(c, &s) != 0) {
        return;
    }
    struct sgroup *g = stream_group_find(s, c->argv[3].ptr, c->argv[3].len);
    if (g == NULL) {
        reply_errorf(c, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                     (int)c->argv[3].len, c->argv[3].ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    long long now = xnow_ms();
    reply_array_len(c, (long long)g->nconsumers);
    for (size_t i = 0; i < g->nconsumers; i++) {
        const struct sconsumer *cons = g->consumers[i];
        long long idle = now - cons->seen_time;
        reply_map_len(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk(c, cons->name, cons->namelen);
        reply_bulk_cstr(c, "pending");
        reply_int(c, (long long)cons->npending);
        reply_bulk_cstr(c, "idle");
        reply_int(c, idle < 0 ? 0 : idle);
    }
}

void
cmd_xinfo_help(struct client *c)
{
    static const char *const lines[] = {
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        NULL,
    };
    reply_help(c, "XINFO", lines);
}
