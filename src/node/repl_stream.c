/* Replication, the stream (see repl.h, repl_int.h): every effective write
 * encoded as the command that reproduces it, appended to the backlog and
 * written to each online replica; the backlog serves partial resyncs. */
#include "node/repl.h"
#include "node/repl_int.h"
#include "node/repl_relay.h"
#include "node/tls.h"
#include "core/conn.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/status.h"
#include "core/util.h"
#include "node/block.h"
#include "node/child.h"
#include "node/client.h"
#include "node/db.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/server.h"
#include "node/snapshot.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>


/* ---- backlog ------------------------------------------------------------- */

void
repl_backlog_create(struct server *srv)
{
    struct repl *r = &srv->repl;
    if (r->backlog != NULL) {
        return;
    }
    r->backlog_size = (size_t)srv->cfg.repl_backlog_size;
    r->backlog = mem_alloc(r->backlog_size);
    r->backlog_idx = 0;
    r->backlog_histlen = 0;
    /* A new backlog starts a new history unless we keep one: the stream
     * database is unknown, so the next command selects one. */
    r->stream_db = -1;
}

void
repl_backlog_free(struct repl *r)
{
    mem_free(r->backlog);
    r->backlog = NULL;
    r->backlog_histlen = 0;
    r->backlog_idx = 0;
}

/* First stream offset the backlog still holds. */
long long
repl_backlog_first_offset(const struct repl *r)
{
    return r->offset - (long long)r->backlog_histlen + 1;
}

static void
backlog_append(struct repl *r, const char *p, size_t len)
{
    r->offset += (long long)len;
    if (len >= r->backlog_size) {
        p += len - r->backlog_size;
        len = r->backlog_size;
    }
    while (len > 0) {
        size_t room = r->backlog_size - r->backlog_idx;
        size_t n = len < room ? len : room;
        memcpy(r->backlog + r->backlog_idx, p, n);
        r->backlog_idx = (r->backlog_idx + n) % r->backlog_size;
        r->backlog_histlen += n;
        p += n;
        len -= n;
    }
    if (r->backlog_histlen > r->backlog_size) {
        r->backlog_histlen = r->backlog_size;
    }
}

/* Send the backlog from stream offset `from` to a replica. */
void
repl_backlog_send_from(struct repl *r, struct client *c, long long from)
{
    size_t skip = (size_t)(from - repl_backlog_first_offset(r));
    size_t len = r->backlog_histlen - skip;
    size_t start = (r->backlog_idx + r->backlog_size - r->backlog_histlen + skip)
                   % r->backlog_size;
    while (len > 0) {
        size_t n = r->backlog_size - start;
        if (n > len) {
            n = len;
        }
        reply_raw(c, r->backlog + start, n);
        start = (start + n) % r->backlog_size;
        len -= n;
    }
}

/* ---- the stream ------------------------------------------------------------ */

struct rbuf repl_enc;      /* scratch for encoding commands */

void
repl_enc_command(size_t argc, const struct resp_arg *argv)
{
    char *dst = rbuf_room(&repl_enc, resp_command_len(argc, argv));
    repl_enc.len += resp_command_write(dst, argc, argv);
}

/* Hand bytes of the stream to the backlog and to every replica. */
void
repl_stream_write(struct server *srv, const char *p, size_t len)
{
    struct repl *r = &srv->repl;
    if (r->backlog != NULL) {
        backlog_append(r, p, len);
    }
    if (persist_aof_on(srv)) {
        persist_feed(srv, p, len);
    }
    for (size_t i = 0; i < r->nreplicas; i++) {
        struct client *c = r->replicas[i];
        reply_raw(c, p, len);
        client_queue_write(c);
    }
}

/* The stream flows only where someone can use it: while replicas are
 * attached, the backlog keeps a history for them to resume, or the
 * append-only file records it. */
static int
stream_active(const struct server *srv)
{
    return srv->repl.backlog != NULL || persist_aof_on(srv);
}

int
repl_stream_active(const struct server *srv)
{
    return stream_active(srv);
}

void
repl_feed_command(struct server *srv, int dbid, size_t argc,
                  const struct resp_arg *argv)
{
    struct repl *r = &srv->repl;
    if (!stream_active(srv) || repl_is_replica(srv)) {
        return;
    }
    repl_enc.len = 0;
    if (dbid >= 0 && dbid != r->stream_db) {
        char num[24];
        struct resp_arg sel[2] = {{"SELECT", 6}, {num, util_ll2str(num, dbid)}};
        repl_enc_command(2, sel);
        r->stream_db = dbid;
    }
    repl_enc_command(argc, argv);
    repl_stream_write(srv, repl_enc.p, repl_enc.len);
}

void
repl_feed_encoded(struct server *srv, int dbid, const char *cmd, size_t len)
{
    struct repl *r = &srv->repl;
    if (!stream_active(srv) || repl_is_replica(srv)) {
        return;
    }
    if (dbid >= 0 && dbid != r->stream_db) {
        char num[24];
        struct resp_arg sel[2] = {{"SELECT", 6}, {num, util_ll2str(num, dbid)}};
        repl_enc.len = 0;
        repl_enc_command(2, sel);
        r->stream_db = dbid;
        repl_stream_write(srv, repl_enc.p, repl_enc.len);
    }
    repl_stream_write(srv, cmd, len);
}

void
repl_feed_raw(struct server *srv, const char *buf, size_t len)
{
    if (stream_active(srv)) {
        repl_stream_write(srv, buf, len);
    }
}

/* The deletion hook of the keyspace: expiries and evictions as DEL. */
void
repl_on_keyspace_delete(void *ctx, struct db *db, const char *key, size_t len)
{
    struct resp_arg argv[2] = {{"DEL", 3}, {key, len}};
    repl_feed_command(ctx, db->id, 2, argv);
}
