/* Replication, both sides (see repl.h): the stream and its backlog, PSYNC
 * and full sync through a forked snapshot writer, ACKs, WAIT, and the
 * replica's link to its master. */
#include "node/repl.h"
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

#define REPL_CRON_MS 10

static const char *link_state_names[] = {
#define REPL_LINK_NAME(sym, name) name,
    REPL_LINK_STATES(REPL_LINK_NAME)
#undef REPL_LINK_NAME
};

static void repl_on_cron(evutil_socket_t fd, short what, void *arg);
static void transfer_failed(struct server *srv);
static void on_sync_child_exit(struct server *srv, pid_t pid, int status, void *arg);
static void send_ack(struct server *srv);
static void link_drop(struct server *srv, const char *why);

const char *
repl_link_state_name(int state)
{
    return state >= 0 && state <= REPL_LINK_CONNECTED ? link_state_names[state] : "?";
}

int
repl_is_replica(const struct server *srv)
{
    return srv->repl.master_host != NULL;
}

int
repl_stream_db(const struct server *srv)
{
    const struct repl *r = &srv->repl;
    if (repl_is_replica(srv)) {
        return r->master ? r->master->db->id : r->master_db;
    }
    return r->stream_db >= 0 ? r->stream_db : 0;
}

/* ---- backlog ------------------------------------------------------------- */

static void
backlog_create(struct server *srv)
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

static void
backlog_free(struct repl *r)
{
    mem_free(r->backlog);
    r->backlog = NULL;
    r->backlog_histlen = 0;
    r->backlog_idx = 0;
}

/* First stream offset the backlog still holds. */
static long long
backlog_first_offset(const struct repl *r)
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
static void
backlog_send_from(struct repl *r, struct client *c, long long from)
{
    size_t skip = (size_t)(from - backlog_first_offset(r));
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

static char *enc_buf;        /* scratch for encoding one command */
static size_t enc_cap, enc_len;

static void
enc_reserve(size_t more)
{
    if (enc_len + more <= enc_cap) {
        return;
    }
    size_t cap = enc_cap ? enc_cap : 4096;
    while (cap < enc_len + more) {
        cap *= 2;
    }
    enc_buf = mem_realloc(enc_buf, cap);
    enc_cap = cap;
}

static void
enc_command(size_t argc, const struct resp_arg *argv)
{
    char hdr[RESP_HDR_MAX];
    size_t h = resp_fmt_prefixed(hdr, '*', (long long)argc);
    enc_reserve(h);
    memcpy(enc_buf + enc_len, hdr, h);
    enc_len += h;
    for (size_t i = 0; i < argc; i++) {
        h = resp_fmt_prefixed(hdr, '$', (long long)argv[i].len);
        enc_reserve(h + argv[i].len + 2);
        memcpy(enc_buf + enc_len, hdr, h);
        memcpy(enc_buf + enc_len + h, argv[i].ptr, argv[i].len);
        enc_len += h + argv[i].len;
        enc_buf[enc_len++] = '\r';
        enc_buf[enc_len++] = '\n';
    }
}

/* Hand bytes of the stream to the backlog and to every replica. */
static void
stream_write(struct server *srv, const char *p, size_t len)
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

void
repl_feed_command(struct server *srv, int dbid, size_t argc,
                  const struct resp_arg *argv)
{
    struct repl *r = &srv->repl;
    if (!stream_active(srv) || repl_is_replica(srv)) {
        return;
    }
    enc_len = 0;
    if (dbid >= 0 && dbid != r->stream_db) {
        char num[24];
        struct resp_arg sel[2] = {{"SELECT", 6}, {num, util_ll2str(num, dbid)}};
        enc_command(2, sel);
        r->stream_db = dbid;
    }
    enc_command(argc, argv);
    stream_write(srv, enc_buf, enc_len);
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
        enc_len = 0;
        enc_command(2, sel);
        r->stream_db = dbid;
        stream_write(srv, enc_buf, enc_len);
    }
    stream_write(srv, cmd, len);
}

void
repl_feed_raw(struct server *srv, const char *buf, size_t len)
{
    if (stream_active(srv)) {
        stream_write(srv, buf, len);
    }
}

/* The deletion hook of the keyspace: expiries and evictions as DEL. */
static void
on_keyspace_delete(void *ctx, struct db *db, const char *key, size_t len)
{
    struct resp_arg argv[2] = {{"DEL", 3}, {key, len}};
    repl_feed_command(ctx, db->id, 2, argv);
}

/* ---- master side: replicas ------------------------------------------------ */

static void
replicas_add(struct repl *r, struct client *c)
{
    if (r->nreplicas == r->replicas_cap) {
        r->replicas_cap = r->replicas_cap ? r->replicas_cap * 2 : 4;
        r->replicas = mem_realloc(r->replicas, r->replicas_cap * sizeof(*r->replicas));
    }
    r->replicas[r->nreplicas++] = c;
}

static void
replicas_remove(struct repl *r, struct client *c)
{
    for (size_t i = 0; i < r->nreplicas; i++) {
        if (r->replicas[i] == c) {
            r->replicas[i] = r->replicas[--r->nreplicas];
            break;
        }
    }
    if (r->nreplicas == 0) {
        r->no_replicas_since = util_mstime();
    }
}

void
repl_client_gone(struct client *c)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    if (c->flags & CLIENT_REPLICA) {
        if (c->repl_child > 0) {
            child_kill(c->repl_child);
            c->repl_child = -1;
        }
        replicas_remove(r, c);
        log_info("Connection with replica %s lost.", c->addr);
    }
    if ((c->flags & CLIENT_MASTER) && r->master == c) {
        r->master = NULL;
        r->master_db = c->db->id;
        if (r->link_state == REPL_LINK_TRANSFER) {
            transfer_failed(srv);
        }
        if (r->link_state >= REPL_LINK_TRANSFER) {
            log_info("Connection with master lost.");
        }
        if (repl_is_replica(srv)) {
            r->link_state = REPL_LINK_CONNECT;
            r->link_down_since_ms = util_mstime();
        }
    }
}

int
repl_good_replicas(struct server *srv)
{
    struct repl *r = &srv->repl;
    long long now = util_mstime();
    int n = 0;
    for (size_t i = 0; i < r->nreplicas; i++) {
        struct client *c = r->replicas[i];
        if (c->repl_state == REPLICA_ONLINE
            && now - c->repl_ack_ms <= srv->cfg.min_replicas_max_lag * 1000) {
            n++;
        }
    }
    return n;
}

int
repl_replicas_acked(struct server *srv, long long offset)
{
    struct repl *r = &srv->repl;
    int n = 0;
    for (size_t i = 0; i < r->nreplicas; i++) {
        if (r->replicas[i]->repl_state == REPLICA_ONLINE
            && r->replicas[i]->repl_ack_off >= offset) {
            n++;
        }
    }
    return n;
}

/* PSYNC/SYNC: resume from the backlog when we can, else a full sync. */
static int
try_partial(struct client *c, const char *replid, size_t idlen, long long from)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    int same = idlen == REPL_ID_LEN && memcmp(replid, r->replid, REPL_ID_LEN) == 0;
    int old = idlen == REPL_ID_LEN && memcmp(replid, r->replid2, REPL_ID_LEN) == 0
              && from <= r->second_replid_offset;
    char line[128];

    if (!same && !old) {
        if (!(idlen == 1 && replid[0] == '?')) {
            log_info("Partial resynchronization not accepted: replication id "
                     "mismatch (replica asked for '%.*s', my ids are '%s' and '%s')",
                     (int)(idlen > 40 ? 40 : idlen), replid, r->replid, r->replid2);
        }
        return -1;
    }
    if (r->backlog == NULL || from < backlog_first_offset(r) || from > r->offset + 1) {
        log_info("Unable to partial resync with replica %s for lack of backlog "
                 "(replica request was: %lld).", c->addr, from);
        return -1;
    }
    int n = snprintf(line, sizeof(line), "+CONTINUE %s\r\n", r->replid);
    reply_raw(c, line, (size_t)n);
    backlog_send_from(r, c, from);
    c->flags |= CLIENT_REPLICA;
    c->repl_state = REPLICA_ONLINE;
    c->repl_ack_ms = util_mstime();
    replicas_add(r, c);
    r->sync_partial_ok++;
    log_info("Partial resynchronization request from %s accepted. Sending %lld "
             "bytes of backlog starting from offset %lld.", c->addr,
             r->offset - from + 1, from);
    return 0;
}

/* The child's "\n" keepalives while it spools a length-framed snapshot. */
struct spool_keepalive {
    int sock;
    long long last_ms;
};

static void
spool_keepalive(void *arg, const char *buf, size_t len)
{
    struct spool_keepalive *ka = arg;
    long long now = util_monotonic_us() / 1000;
    (void)buf;
    (void)len;
    if (now - ka->last_ms >= 1000) {
        ka->last_ms = now;
        (void)util_write_all(ka->sock, "\n", 1, 60000);
    }
}

/* In the snapshot child, for a replica that did not send REPLCONF capa eof
 * (a plain SYNC, old tools and readers): "$<length>\r\n" then exactly that
 * many bytes of commands, as Redis's disk-based transfer frames an RDB.  The
 * length must be known before the first byte, so the commands are spooled
 * to a temporary file in dir first (unlinked at once: nothing is left
 * behind if the child dies), with a "\n" keepalive to the replica every
 * second meanwhile, which Redis also sends while its BGSAVE runs and
 * readers skip.  Returns 0, or -1 on an error. */
static int
write_sized_snapshot(struct server *srv, int sock)
{
    char tmpl[] = "temp-sync-XXXXXX";
    char buf[64 * 1024], hdr[32];
    struct spool_keepalive ka = {sock, util_monotonic_us() / 1000};
    int fd = mkstemp(tmpl), rc = -1, n;
    off_t len;

    if (fd < 0) {
        log_warn("Can't create the temp file for a length-framed sync in %s: %s",
                 srv->cfg.dir, strerror(errno));
        return -1;
    }
    unlink(tmpl);
    if (snapshot_write_commands(srv, fd, spool_keepalive, &ka) != 0
        || (len = lseek(fd, 0, SEEK_END)) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        log_warn("Can't spool the snapshot for a length-framed sync: %s", strerror(errno));
        goto out;
    }
    n = snprintf(hdr, sizeof(hdr), "$%lld\r\n", (long long)len);
    if (util_write_all(sock, hdr, (size_t)n, 60000) != 0) {
        goto out;
    }
    while (len > 0) {
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0 || util_write_all(sock, buf, (size_t)got, 60000) != 0) {
            goto out;
        }
        len -= got;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

static int
start_full_sync(struct client *c, int is_sync)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    char line[128], mark[REPL_EOF_MARK_LEN + 1];
    pid_t pid;

    /* Whatever the replica was sent before must leave first: the child
     * writes to the socket directly. */
    client_flush(c);
    if (client_pending_output(c) > 0) {
        return -1;
    }
    backlog_create(srv);
    r->stream_db = -1;
    /* SYNC, the old handshake, gets the payload without the PSYNC reply. */
    int n = snprintf(line, sizeof(line), "+FULLRESYNC %s %lld\r\n", r->replid, r->offset);
    if (is_sync) {
        n = 0;
    }
    /* A TLS replica's bytes must go through the parent's session: the child
     * writes into a pipe the parent relays (repl_relay.c). */
    int tls = conn_is_tls(c->conn);
    int pipefd[2] = {-1, -1};
    if (tls && (pipe(pipefd) != 0 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0
                || fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0)) {
        log_warn("Can't create the pipe for a TLS full sync: %s", strerror(errno));
        return -1;
    }
    if (!tls && n > 0 && util_write_all(c->fd, line, (size_t)n, 60000) != 0) {
        return -1;
    }
    util_random_hex(mark, REPL_EOF_MARK_LEN);
    pid = child_fork(srv, CHILD_FULL_SYNC, on_sync_child_exit, NULL);
    if (pid < 0) {
        log_warn("Can't fork the snapshot writer: %s", strerror(errno));
        if (tls) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        /* The child: stream the keyspace as it was at fork time. */
        int out = tls ? pipefd[1] : c->fd;
        if (tls) {
            close(pipefd[0]);
        }
        int rc = c->repl_capa_eof ? snapshot_write_stream(srv, out, mark)
                                  : write_sized_snapshot(srv, out);
        _exit(rc == 0 ? 0 : 1);
    }
    if (tls) {
        close(pipefd[1]);
        /* The relay writes through the client's write event from now on. */
        if (c->flags & CLIENT_WRITE_ARMED) {
            event_del(c->ev_write);
            c->flags &= ~CLIENT_WRITE_ARMED;
        }
        if (repl_relay_start(c, line, (size_t)n, pipefd[0]) != 0) {
            child_kill(pid);
            return -1;
        }
    }
    event_del(c->ev_read);
    if (!tls) {
        event_del(c->ev_write);
    }
    c->flags &= ~CLIENT_WRITE_ARMED;
    c->flags |= CLIENT_REPLICA;
    c->repl_state = REPLICA_WAIT_SNAPSHOT;
    c->repl_child = pid;
    c->repl_sync_start_ms = util_mstime();
    replicas_add(r, c);
    r->sync_full++;
    log_info("Starting full sync of replica %s: snapshot writer pid %d, offset %lld, "
             "%s framing", c->addr, (int)pid, r->offset,
             c->repl_capa_eof ? "$EOF" : "$<length>");
    if (tls) {
        log_info("Replica %s is on TLS: its snapshot is relayed through a pipe", c->addr);
    }
    return 0;
}

void
repl_master_psync(struct client *c, const char *replid, size_t idlen,
                  long long from, int is_sync)
{
    struct server *srv = c->srv;
    if (c->flags & CLIENT_REPLICA) {
        return; /* already one; ignore a repeated request */
    }
    if (repl_is_replica(srv) && srv->repl.link_state != REPL_LINK_CONNECTED) {
        reply_error(c, "-NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (!is_sync) {
        if (try_partial(c, replid, idlen, from) == 0) {
            return;
        }
        if (!(idlen == 1 && replid[0] == '?')) {
            srv->repl.sync_partial_err++;
        }
    }
    if (start_full_sync(c, is_sync) != 0) {
        client_close_async(c);
    }
}

/* child.c reaped a replica's snapshot writer: when it finished well the
 * replica goes online with the stream that queued behind the snapshot. */
static void
on_sync_child_exit(struct server *srv, pid_t pid, int status, void *arg)
{
    struct repl *r = &srv->repl;
    (void)arg;
    {
        for (size_t i = 0; i < r->nreplicas; i++) {
            struct client *c = r->replicas[i];
            if (c->repl_child != pid) {
                continue;
            }
            c->repl_child = -1;
            int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            int rr = repl_relay_child_exited(c, ok);
            if (rr == 1) {
                break; /* the relay finishes it once its bytes are out */
            }
            repl_master_sync_done(c, ok && rr == 0);
            break;
        }
    }
}

void
repl_master_sync_done(struct client *c, int ok)
{
    if (ok) {
        c->repl_state = REPLICA_ONLINE;
        c->repl_ack_ms = util_mstime();
        event_add(c->ev_read, NULL);
        client_queue_write(c);
        log_info("Synchronization with replica %s succeeded (%lld ms)",
                 c->addr, util_mstime() - c->repl_sync_start_ms);
    } else {
        log_warn("Snapshot writer for replica %s failed; closing it", c->addr);
        c->repl_state = REPLICA_NONE;
        client_close_async(c);
    }
}

void
repl_master_ack(struct client *c, long long offset)
{
    if (!(c->flags & CLIENT_REPLICA)) {
        return;
    }
    if (offset > c->repl_ack_off) {
        c->repl_ack_off = offset;
    }
    c->repl_ack_ms = util_mstime();
}

/* ---- WAIT ------------------------------------------------------------------ */

void
repl_block_wait(struct client *c, long long offset, long long numreplicas,
                long long timeout_ms)
{
    /* The blocking module holds the wait (deadline, CLIENT UNBLOCK, a
     * disconnect) and answers it from block_before_sleep once
     * repl_replicas_acked reaches numreplicas. */
    block_for_acks(c, offset, numreplicas, timeout_ms);
    c->srv->repl.getack_pending = 1;
}

void
repl_before_sleep(struct server *srv)
{
    struct repl *r = &srv->repl;
    /* As Redis, no GETACK during a client pause: it would move the offset
     * that whoever paused us watches.  It goes once the pause ends. */
    if (r->getack_pending && !pause_active(srv)) {
        if (r->nreplicas > 0) {
            struct resp_arg argv[3] = {{"REPLCONF", 8}, {"GETACK", 6}, {"*", 1}};
            enc_len = 0;
            enc_command(3, argv);
            stream_write(srv, enc_buf, enc_len);
        }
        r->getack_pending = 0;
    }
}

/* ---- replica side: the link ------------------------------------------------ */

static void link_on_event(evutil_socket_t fd, short what, void *arg);

static void
link_close_socket(struct repl *r)
{
    if (r->link_event) {
        event_free(r->link_event);
        r->link_event = NULL;
    }
    if (r->link_conn != NULL) {
        conn_destroy(&r->link_conn); /* closes link_fd */
        r->link_fd = -1;
    r->link_conn = NULL;
    }
    if (r->link_fd >= 0) {
        close(r->link_fd);
        r->link_fd = -1;
    r->link_conn = NULL;
    }
    r->hs_len = 0;
}

static void
link_drop(struct server *srv, const char *why)
{
    struct repl *r = &srv->repl;
    if (why) {
        log_warn("Replication link to %s:%d: %s", r->master_host ? r->master_host : "?",
                 r->master_port, why);
    }
    link_close_socket(r);
    if (r->master) {
        client_close_async(r->master);
        r->master = NULL;
    }
    if (repl_is_replica(srv)) {
        r->link_state = REPL_LINK_CONNECT;
        if (r->link_down_since_ms == 0) {
            r->link_down_since_ms = util_mstime();
        }
    }
}

static void
link_start_connect(struct server *srv)
{
    struct repl *r = &srv->repl;
    int fd;

    r->last_connect_ms = util_mstime();
    fd = util_connect_nonblock(r->master_host, r->master_port);
    if (fd < 0) {
        log_warn("Error condition on socket for SYNC (%s:%d): %s", r->master_host,
                 r->master_port, strerror(errno));
        return;
    }
    r->link_fd = fd;
    r->link_state = REPL_LINK_CONNECTING;
    r->handshake_step = 0;
    r->hs_len = 0;
    r->link_event = event_new(srv->base, fd, EV_WRITE | EV_READ | EV_PERSIST,
                              link_on_event, srv);
    event_add(r->link_event, NULL);
    log_info("Connecting to MASTER %s:%d", r->master_host, r->master_port);
}

static int
link_send(struct repl *r, size_t argc, const struct resp_arg *argv)
{
    enc_len = 0;
    enc_command(argc, argv);
    return conn_write_all(r->link_conn, enc_buf, enc_len, 60000);
}

/* Handshake steps: each sends a command and reads one reply line. */
enum hs_step { HS_PING = 0, HS_AUTH, HS_PORT, HS_CAPA, HS_PSYNC, HS_EOF_HEADER };

static int
hs_send(struct server *srv)
{
    struct repl *r = &srv->repl;
    const char *user = srv->cfg.masteruser, *pass = srv->cfg.masterauth;
    char num[24], num2[24];

    switch (r->handshake_step) {
    case HS_PING: {
        struct resp_arg a[1] = {{"PING", 4}};
        return link_send(r, 1, a);
    }
    case HS_AUTH: {
        if (pass == NULL || pass[0] == '\0') {
            r->handshake_step = HS_PORT;
            return hs_send(srv);
        }
        if (user && user[0]) {
            struct resp_arg a[3] = {{"AUTH", 4}, {user, strlen(user)}, {pass, strlen(pass)}};
            return link_send(r, 3, a);
        }
        struct resp_arg a[2] = {{"AUTH", 4}, {pass, strlen(pass)}};
        return link_send(r, 2, a);
    }
    case HS_PORT: {
        /* As Redis: a replica on TLS announces its tls-port, the one its
         * own replicas and proxies must reach it on. */
        long long p = srv->cfg.replica_announce_port ? srv->cfg.replica_announce_port
                      : srv->cfg.tls_replication && srv->cfg.tls_port ? srv->cfg.tls_port
                                                                    : srv->cfg.port;
        struct resp_arg a[3] = {{"REPLCONF", 8}, {"listening-port", 14},
                                {num, util_ll2str(num, p)}};
        if (link_send(r, 3, a) != 0) {
            return -1;
        }
        if (srv->cfg.replica_announce_ip && srv->cfg.replica_announce_ip[0]) {
            /* One more reply to read: counted by hs_extra. */
            struct resp_arg b[3] = {{"REPLCONF", 8}, {"ip-address", 10},
                                    {srv->cfg.replica_announce_ip,
                                     strlen(srv->cfg.replica_announce_ip)}};
            return link_send(r, 3, b);
        }
        return 0;
    }
    case HS_CAPA: {
        struct resp_arg a[5] = {{"REPLCONF", 8}, {"capa", 4}, {"eof", 3},
                                {"capa", 4}, {"psync2", 6}};
        return link_send(r, 5, a);
    }
    case HS_PSYNC: {
        struct resp_arg a[3] = {{"PSYNC", 5}, {"?", 1}, {"-1", 2}};
        if (r->psync_known) {
            a[1].ptr = r->replid;
            a[1].len = REPL_ID_LEN;
            a[2].ptr = num2;
            a[2].len = util_ll2str(num2, r->offset + 1);
        }
        return link_send(r, 3, a);
    }
    default:
        return 0;
    }
}

/* Start applying the stream: wrap the socket as the master client and hand
 * it the bytes read past the handshake. */
static void
link_become_client(struct server *srv, const char *rest, size_t restlen)
{
    struct repl *r = &srv->repl;
    struct conn *conn = r->link_conn;
    event_free(r->link_event);
    r->link_event = NULL;
    r->link_fd = -1;
    r->link_conn = NULL;
    r->link_conn = NULL;
    struct client *c = client_create_link(srv, conn, CLIENT_MASTER);
    /* A resumed stream carries on in the database it was in: SELECT is only
     * streamed when the database changes. */
    c->db = &srv->ks.dbs[r->master_db >= 0 && r->master_db < srv->ks.ndb ? r->master_db : 0];
    r->master = c;
    r->last_io_ms = util_mstime();
    if (restlen > 0) {
        c->qbuf = mem_alloc(restlen > 16384 ? restlen : 16384);
        c->qcap = mem_usable(c->qbuf);
        memcpy(c->qbuf, rest, restlen);
        c->qlen = restlen;
        client_process_input(c);
    }
}

static void
begin_full_sync(struct server *srv, const char *replid, long long offset)
{
    struct repl *r = &srv->repl;
    memcpy(r->replid, replid, REPL_ID_LEN);
    r->replid[REPL_ID_LEN] = '\0';
    memset(r->replid2, '0', REPL_ID_LEN);
    r->replid2[REPL_ID_LEN] = '\0';
    r->second_replid_offset = -1;
    r->offset = offset;
    r->psync_known = 0;
    r->backlog_histlen = 0;
    r->backlog_idx = 0;
    /* Our replicas followed the old history: they must resync. */
    while (r->nreplicas > 0) {
        struct client *c = r->replicas[0];
        replicas_remove(r, c);
        c->flags &= ~CLIENT_REPLICA;
        client_close_async(c);
    }
    for (int i = 0; i < srv->ks.ndb; i++) {
        db_flush(&srv->ks.dbs[i]);
    }
    r->transfer_start_ms = util_mstime();
    r->transfer_bytes = 0;
    r->master_db = 0;
}

/* A full sync that broke off leaves part of a dataset: forget the history it
 * was given (the next attempt must be a full sync, never a continuation over
 * half a snapshot) and drop the partial data rather than serve a mix. */
static void
transfer_failed(struct server *srv)
{
    struct repl *r = &srv->repl;
    log_warn("MASTER <-> REPLICA sync: transfer interrupted after %lld bytes; "
             "discarding the partial dataset", r->transfer_bytes);
    r->psync_known = 0;
    r->offset = 0;
    util_random_hex(r->replid, REPL_ID_LEN);
    for (int i = 0; i < srv->ks.ndb; i++) {
        db_flush(&srv->ks.dbs[i]);
    }
}

/* One reply line of the handshake arrived. */
static int
hs_on_line(struct server *srv, const char *line, size_t len, const char *rest,
           size_t restlen)
{
    struct repl *r = &srv->repl;
    switch (r->handshake_step) {
    case HS_PING:
        if (line[0] == '-' && strncmp(line, "-NOAUTH", 7) != 0
            && strncmp(line, "-NOPERM", 7) != 0) {
            log_warn("Error reply to PING from master: '%.*s'", (int)len, line);
            return -1;
        }
        r->handshake_step = HS_AUTH;
        return hs_send(srv);
    case HS_AUTH:
        if (line[0] == '-') {
            log_warn("Unable to AUTH to MASTER: %.*s", (int)len, line);
            return -1;
        }
        r->handshake_step = HS_PORT;
        return hs_send(srv);
    case HS_PORT:
        if (line[0] == '-') {
            log_info("(Non critical) Master does not understand REPLCONF "
                     "listening-port: %.*s", (int)len, line);
        }
        if (srv->cfg.replica_announce_ip && srv->cfg.replica_announce_ip[0]
            && r->hs_extra == 0) {
            r->hs_extra = 1; /* the ip-address reply comes next */
            return 0;
        }
        r->hs_extra = 0;
        r->handshake_step = HS_CAPA;
        return hs_send(srv);
    case HS_CAPA:
        r->handshake_step = HS_PSYNC;
        return hs_send(srv);
    case HS_PSYNC:
        if (len > 12 && strncmp(line, "+FULLRESYNC ", 12) == 0) {
            const char *id = line + 12;
            const char *sp = memchr(id, ' ', len - 12);
            if (sp == NULL || sp - id != REPL_ID_LEN) {
                log_warn("Master replied with wrong +FULLRESYNC syntax.");
                return -1;
            }
            long long off = atoll(sp + 1);
            log_info("Full resync from master: %.*s:%lld", REPL_ID_LEN, id, off);
            begin_full_sync(srv, id, off);
            r->handshake_step = HS_EOF_HEADER;
            return 0;
        }
        if (len >= 9 && strncmp(line, "+CONTINUE", 9) == 0) {
            const char *id = line + 9;
            while (*id == ' ') {
                id++;
            }
            if ((size_t)(line + len - id) == REPL_ID_LEN
                && memcmp(id, r->replid, REPL_ID_LEN) != 0) {
                /* The master's history changed (it was promoted): keep the
                 * old id as the second one so our replicas can follow. */
                memcpy(r->replid2, r->replid, REPL_ID_LEN + 1);
                r->second_replid_offset = r->offset + 1;
                memcpy(r->replid, id, REPL_ID_LEN);
                r->replid[REPL_ID_LEN] = '\0';
                log_info("Master replication ID changed to %s", r->replid);
            }
            r->psync_known = 1;
            log_info("Successful partial resynchronization with master.");
            r->link_state = REPL_LINK_CONNECTED;
            r->link_down_since_ms = 0;
            r->connect_backoff_ms = 0;
            link_become_client(srv, rest, restlen);
            send_ack(srv); /* see the end of a full sync */
            return 1;
        }
        log_warn("Unexpected reply to PSYNC from master: %.*s", (int)len, line);
        return -1;
    case HS_EOF_HEADER:
        if (len == 5 + REPL_EOF_MARK_LEN && strncmp(line, "$EOF:", 5) == 0) {
            memcpy(r->eof_mark, line + 5, REPL_EOF_MARK_LEN);
            r->link_state = REPL_LINK_TRANSFER;
            log_info("MASTER <-> REPLICA sync: receiving streamed snapshot");
            link_become_client(srv, rest, restlen);
            return 1;
        }
        if (len == 0) {
            return 0; /* keepalive newlines before the payload */
        }
        log_warn("Bad snapshot header from master: %.*s", (int)len, line);
        return -1;
    }
    return -1;
}

static void
link_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct repl *r = &srv->repl;

    if (r->link_state == REPL_LINK_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (!(what & EV_WRITE)) {
            return;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            log_warn("Error condition on socket for SYNC: %s", strerror(err));
            link_drop(srv, NULL);
            return;
        }
        char peer[300];
        snprintf(peer, sizeof(peer), "%s:%d", r->master_host, r->master_port);
        r->link_conn = srv->cfg.tls_replication ? tls_connect_conn(srv, fd, peer)
                                                : conn_plain_create(fd, peer);
        if (r->link_conn == NULL) {
            link_drop(srv, "could not start a TLS session");
            return;
        }
        log_info("MASTER <-> REPLICA sync started%s",
                 srv->cfg.tls_replication ? " (TLS)" : "");
        event_del(r->link_event);
        event_assign(r->link_event, srv->base, fd, EV_READ | EV_PERSIST,
                     link_on_event, srv);
        event_add(r->link_event, NULL);
        r->link_state = REPL_LINK_HANDSHAKE;
        r->handshake_step = HS_PING;
        if (hs_send(srv) != 0) {
            link_drop(srv, "handshake write failed");
        }
        return;
    }
    if (!(what & EV_READ)) {
        return;
    }
    ssize_t n = conn_read(r->link_conn, r->hs_buf + r->hs_len, sizeof(r->hs_buf) - r->hs_len);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        link_drop(srv, "master closed the connection during the handshake");
        return;
    }
    r->hs_len += (size_t)n;
    r->last_io_ms = util_mstime();
    for (;;) {
        char *nl = memchr(r->hs_buf, '\n', r->hs_len);
        if (nl == NULL) {
            if (r->hs_len == sizeof(r->hs_buf)) {
                link_drop(srv, "handshake reply too long");
            } else if (conn_pending(r->link_conn) > 0) {
                /* TLS holds more decrypted bytes; the socket won't say so. */
                event_active(r->link_event, EV_READ, 0);
            }
            return;
        }
        size_t linelen = (size_t)(nl - r->hs_buf);
        size_t used = linelen + 1;
        if (linelen > 0 && r->hs_buf[linelen - 1] == '\r') {
            linelen--;
        }
        char line[sizeof(r->hs_buf)];
        memcpy(line, r->hs_buf, linelen);
        line[linelen] = '\0';
        int rc = hs_on_line(srv, line, linelen, r->hs_buf + used, r->hs_len - used);
        if (rc < 0) {
            link_drop(srv, "handshake failed");
            return;
        }
        if (rc == 1) {
            r->hs_len = 0;
            return; /* the socket now belongs to the master client */
        }
        memmove(r->hs_buf, r->hs_buf + used, r->hs_len - used);
        r->hs_len -= used;
    }
}

long
repl_master_input(struct client *c, const char *buf, size_t len)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    r->last_io_ms = util_mstime();
    if (r->link_state != REPL_LINK_TRANSFER) {
        return 0;
    }
    if (len == 0) {
        return -1;
    }
    if (buf[0] == '*') {
        return 0;
    }
    /* Between frames of the snapshot only the end mark may appear. */
    size_t n = len < REPL_EOF_MARK_LEN ? len : REPL_EOF_MARK_LEN;
    if (memcmp(buf, r->eof_mark, n) != 0) {
        log_warn("Unexpected bytes in the snapshot from master");
        return -2;
    }
    if (len < REPL_EOF_MARK_LEN) {
        return -1;
    }
    r->link_state = REPL_LINK_CONNECTED;
    r->link_down_since_ms = 0;
    r->connect_backoff_ms = 0;
    r->stream_db = -1;
    r->psync_known = 1;
    c->db = &srv->ks.dbs[0];
    log_info("MASTER <-> REPLICA sync: finished with success (%lld bytes in %lld ms)",
             r->transfer_bytes, util_mstime() - r->transfer_start_ms);
    /* Acknowledge at once: a WAIT on the master need not wait for the
     * once-a-second ACK. */
    send_ack(srv);
    return REPL_EOF_MARK_LEN;
}

void
repl_master_applied(struct client *c, const char *frame, size_t len)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    if (r->link_state == REPL_LINK_TRANSFER) {
        r->transfer_bytes += (long long)len;
        return;
    }
    /* The live stream: our offset is the master's, and our own replicas and
     * backlog receive exactly the bytes we applied. */
    backlog_create(srv);
    stream_write(srv, frame, len);
}

static void
send_ack(struct server *srv)
{
    struct repl *r = &srv->repl;
    struct client *m = r->master;
    char num[24];
    if (m == NULL || r->link_state != REPL_LINK_CONNECTED) {
        return;
    }
    struct resp_arg a[3] = {{"REPLCONF", 8}, {"ACK", 3}, {num, util_ll2str(num, r->offset)}};
    enc_len = 0;
    enc_command(3, a);
    m->flags |= CLIENT_FORCE_REPLY;
    reply_raw(m, enc_buf, enc_len);
    m->flags &= ~CLIENT_FORCE_REPLY;
    client_queue_write(m);
}

void
repl_replica_getack(struct client *c)
{
    if (c->flags & CLIENT_MASTER) {
        send_ack(c->srv);
    }
}

void
repl_set_master(struct server *srv, const char *host, int port)
{
    struct repl *r = &srv->repl;
    int was_replica = repl_is_replica(srv);

    link_close_socket(r);
    if (r->master) {
        r->master->flags &= ~CLIENT_MASTER;
        client_close_async(r->master);
        r->master = NULL;
    }
    mem_free(r->master_host);
    r->master_host = NULL;
    if (host == NULL) {
        srv->ks.is_replica = 0;
        r->link_state = REPL_LINK_NONE;
        r->link_down_since_ms = 0;
        if (was_replica) {
            /* A new history starts here; the old one stays resumable up to
             * this point for the replicas that followed it. */
            memcpy(r->replid2, r->replid, REPL_ID_LEN + 1);
            r->second_replid_offset = r->offset + 1;
            util_random_hex(r->replid, REPL_ID_LEN);
            r->stream_db = -1;
            log_info("MASTER MODE enabled (new replication id %s, keeping %s "
                     "up to offset %lld)", r->replid, r->replid2, r->offset);
        }
        return;
    }
    if (!was_replica) {
        /* Our own history: the new master may be able to continue it (it
         * was our replica and was promoted). */
        r->psync_known = 1;
        r->master_db = r->stream_db >= 0 ? r->stream_db : 0;
    }
    r->master_host = mem_strdup(host);
    r->master_port = port;
    srv->ks.is_replica = 1;
    /* Our replicas must follow whatever history the new master gives us. */
    while (r->nreplicas > 0) {
        struct client *c = r->replicas[0];
        replicas_remove(r, c);
        c->flags &= ~CLIENT_REPLICA;
        client_close_async(c);
    }
    backlog_create(srv);
    r->link_state = REPL_LINK_CONNECT;
    r->link_down_since_ms = util_mstime();
    r->connect_backoff_ms = 0;
    r->last_connect_ms = 0;
    log_info("REPLICAOF %s:%d enabled", host, port);
}

/* ---- the config epoch ------------------------------------------------------ */

int
repl_config_epoch_adopt(struct server *srv, long long epoch)
{
    struct repl *r = &srv->repl;
    if (epoch < r->config_epoch) {
        return STATUS_RANGE;
    }
    if (epoch > r->config_epoch) {
        log_info("Config epoch %lld (was %lld)", epoch, r->config_epoch);
        r->config_epoch = epoch;
        /* Durable as the data is: the AOF records it now, and the save
         * schedule counts it as a change so the next snapshot has it. */
        persist_record_epoch(srv);
        srv->ks.dirty++;
    }
    return STATUS_OK;
}

void
repl_config_epoch_load(struct server *srv, long long epoch)
{
    srv->repl.config_epoch = epoch;
}

void
repl_change_replid(struct server *srv)
{
    struct repl *r = &srv->repl;
    util_random_hex(r->replid, REPL_ID_LEN);
    memset(r->replid2, '0', REPL_ID_LEN);
    r->replid2[REPL_ID_LEN] = '\0';
    r->second_replid_offset = -1;
    log_info("Replication id changed to %s (DEBUG CHANGE-REPL-ID)", r->replid);
}

/* ---- cron -------------------------------------------------------------------- */

static void
repl_on_cron(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct repl *r = &srv->repl;
    long long now = util_mstime();
    struct timeval tv = {0, REPL_CRON_MS * 1000};
    static long long last_second;
    (void)fd;
    (void)what;

    child_reap(srv);  /* every forked child: persistence's and ours */
    if (repl_is_replica(srv)) {
        if (r->link_state == REPL_LINK_CONNECT
            && now - r->last_connect_ms >= r->connect_backoff_ms) {
            /* Reconnect with backoff: 0, 100 ms, doubling to 2 s. */
            r->connect_backoff_ms = r->connect_backoff_ms ? r->connect_backoff_ms * 2 : 100;
            if (r->connect_backoff_ms > 2000) {
                r->connect_backoff_ms = 2000;
            }
            link_start_connect(srv);
        } else if (r->link_state >= REPL_LINK_CONNECTING
                   && now - r->last_io_ms > srv->cfg.repl_timeout * 1000
                   && r->last_io_ms > 0) {
            link_drop(srv, "timeout: no data from master");
        }
    }
    if (now - last_second >= 1000) {
        last_second = now;
        send_ack(srv);
        /* Keep replicas' links alive and their timeouts fed; not during a
         * client pause, whose point is an offset that stays put (a pause
         * longer than repl-timeout makes replicas reconnect and resume). */
        if (!repl_is_replica(srv) && r->nreplicas > 0 && !pause_active(srv)
            && now - r->last_ping_ms >= srv->cfg.repl_ping_replica_period * 1000) {
            struct resp_arg a[1] = {{"PING", 4}};
            r->last_ping_ms = now;
            enc_len = 0;
            enc_command(1, a);
            stream_write(srv, enc_buf, enc_len);
        }
        for (size_t i = 0; i < r->nreplicas; i++) {
            struct client *c = r->replicas[i];
            if (c->repl_state == REPLICA_ONLINE
                && now - c->repl_ack_ms > srv->cfg.repl_timeout * 1000) {
                log_warn("Disconnecting timedout replica %s", c->addr);
                client_close_async(c);
            }
        }
        if (!repl_is_replica(srv) && r->backlog && r->nreplicas == 0
            && srv->cfg.repl_backlog_ttl > 0
            && now - r->no_replicas_since > srv->cfg.repl_backlog_ttl * 1000) {
            log_info("Replication backlog freed after %lld seconds without "
                     "connected replicas.", srv->cfg.repl_backlog_ttl);
            backlog_free(r);
            /* The history cannot be resumed any more: start a new one. */
            util_random_hex(r->replid, REPL_ID_LEN);
        }
    }
    event_add(r->cron, &tv);
}

void
repl_setup(struct server *srv)
{
    struct repl *r = &srv->repl;
    struct timeval tv = {0, REPL_CRON_MS * 1000};
    memset(r, 0, sizeof(*r));
    util_random_hex(r->replid, REPL_ID_LEN);
    memset(r->replid2, '0', REPL_ID_LEN);
    r->replid2[REPL_ID_LEN] = '\0';
    r->second_replid_offset = -1;
    r->stream_db = -1;
    r->link_fd = -1;
    r->link_conn = NULL;
    r->no_replicas_since = util_mstime();
    srv->ks.on_delete = on_keyspace_delete;
    srv->ks.on_delete_ctx = srv;
    r->cron = event_new(srv->base, -1, 0, repl_on_cron, srv);
    event_add(r->cron, &tv);
    if (srv->cfg.replicaof && srv->cfg.replicaof[0]) {
        char host[256];
        int port;
        if (sscanf(srv->cfg.replicaof, "%255s %d", host, &port) == 2) {
            repl_set_master(srv, host, port);
            /* A node just started has no history to continue (unless
             * persist_setup loads one next): ask with PSYNC ? -1. */
            r->psync_known = 0;
        }
    }
}

void
repl_teardown(struct server *srv)
{
    struct repl *r = &srv->repl;
    link_close_socket(r);
    if (r->cron) {
        event_free(r->cron);
        r->cron = NULL;
    }
    backlog_free(r);
    mem_free(r->replicas);
    r->replicas = NULL;
    r->nreplicas = 0;
    mem_free(r->master_host);
    r->master_host = NULL;
    mem_free(enc_buf);
    enc_buf = NULL;
    enc_cap = 0;
}
