/* Replication, the master side (see repl.h, repl_int.h): attached replicas,
 * PSYNC (partial from the backlog, or a full sync through a forked snapshot
 * writer), their ACKs, and WAIT. */
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


static void on_sync_child_exit(struct server *srv, pid_t pid, int status, void *arg);

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

void
repl_replicas_remove(struct repl *r, struct client *c)
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
        repl_replicas_remove(r, c);
        log_info("Connection with replica %s lost.", c->addr);
    }
    if ((c->flags & CLIENT_MASTER) && r->master == c) {
        r->master = NULL;
        r->master_db = c->db->id;
        if (r->link_state == REPL_LINK_TRANSFER) {
            repl_transfer_failed(srv);
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
    if (r->backlog == NULL || from < repl_backlog_first_offset(r) || from > r->offset + 1) {
        log_info("Unable to partial resync with replica %s for lack of backlog "
                 "(replica request was: %lld).", c->addr, from);
        return -1;
    }
    int n = snprintf(line, sizeof(line), "+CONTINUE %s\r\n", r->replid);
    reply_raw(c, line, (size_t)n);
    repl_backlog_send_from(r, c, from);
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
    repl_backlog_create(srv);
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
            repl_enc.len = 0;
            repl_enc_command(3, argv);
            repl_stream_write(srv, repl_enc.p, repl_enc.len);
        }
        r->getack_pending = 0;
    }
}
