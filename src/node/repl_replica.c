/* Replication, the replica side (see repl.h, repl_int.h): the link to this
 * node's master, its non-blocking handshake (PING, AUTH, REPLCONF, PSYNC),
 * the snapshot transfer, the live stream applied through the call path, and
 * the ACKs sent back. */
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


/* ---- replica side: the link ------------------------------------------------ */

static void link_on_event(evutil_socket_t fd, short what, void *arg);

void
repl_link_close_socket(struct repl *r)
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

void
repl_link_drop(struct server *srv, const char *why)
{
    struct repl *r = &srv->repl;
    if (why) {
        log_warn("Replication link to %s:%d: %s", r->master_host ? r->master_host : "?",
                 r->master_port, why);
    }
    repl_link_close_socket(r);
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

void
repl_link_start_connect(struct server *srv)
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
    r->last_io_ms = r->last_connect_ms; /* repl-timeout bounds the connect too */
    r->link_state = REPL_LINK_CONNECTING;
    r->handshake_step = 0;
    r->hs_len = 0;
    r->link_event = event_new(srv->base, fd, EV_WRITE | EV_READ | EV_PERSIST,
                              link_on_event, srv);
    event_add(r->link_event, NULL);
    log_info("Connecting to MASTER %s:%d", r->master_host, r->master_port);
}

/* The commands of a handshake step go out in one write (one TLS record). */
static void
link_queue(size_t argc, const struct resp_arg *argv)
{
    repl_enc_command(argc, argv);
}

static int
link_flush(struct repl *r)
{
    return conn_write_all(r->link_conn, repl_enc.p, repl_enc.len, 60000);
}

/* Handshake steps.  As in Redis 7.0, AUTH and the REPLCONFs are sent in one
 * go once PING answered, and their replies read in order; PSYNC follows the
 * capa reply: three round trips to the stream instead of five, which is what
 * a reconnect after a failover waits on (write-ack's WAIT with it). */
enum hs_step { HS_PING = 0, HS_AUTH, HS_PORT, HS_CAPA, HS_PSYNC, HS_EOF_HEADER };

static int
hs_send(struct server *srv)
{
    struct repl *r = &srv->repl;
    const char *user = srv->cfg.masteruser, *pass = srv->cfg.masterauth;
    char num[24], num2[24];

    repl_enc.len = 0;
    switch (r->handshake_step) {
    case HS_PING: {
        struct resp_arg a[1] = {{"PING", 4}};
        link_queue(1, a);
        return link_flush(r);
    }
    case HS_AUTH: {
        if (pass == NULL || pass[0] == '\0') {
            r->handshake_step = HS_PORT; /* no reply to wait for */
        } else if (user && user[0]) {
            struct resp_arg a[3] = {{"AUTH", 4}, {user, strlen(user)}, {pass, strlen(pass)}};
            link_queue(3, a);
        } else {
            struct resp_arg a[2] = {{"AUTH", 4}, {pass, strlen(pass)}};
            link_queue(2, a);
        }
        /* As Redis: a replica on TLS announces its tls-port, the one its
         * own replicas and proxies must reach it on. */
        long long p = srv->cfg.replica_announce_port ? srv->cfg.replica_announce_port
                      : srv->cfg.tls_replication && srv->cfg.tls_port ? srv->cfg.tls_port
                                                                    : srv->cfg.port;
        struct resp_arg b[3] = {{"REPLCONF", 8}, {"listening-port", 14},
                                {num, util_ll2str(num, p)}};
        link_queue(3, b);
        if (srv->cfg.replica_announce_ip && srv->cfg.replica_announce_ip[0]) {
            /* One more reply to read: counted by hs_extra. */
            struct resp_arg c[3] = {{"REPLCONF", 8}, {"ip-address", 10},
                                    {srv->cfg.replica_announce_ip,
                                     strlen(srv->cfg.replica_announce_ip)}};
            link_queue(3, c);
        }
        struct resp_arg d[5] = {{"REPLCONF", 8}, {"capa", 4}, {"eof", 3},
                                {"capa", 4}, {"psync2", 6}};
        link_queue(5, d);
        return link_flush(r);
    }
    case HS_PSYNC: {
        struct resp_arg a[3] = {{"PSYNC", 5}, {"?", 1}, {"-1", 2}};
        if (r->psync_known) {
            a[1].ptr = r->replid;
            a[1].len = REPL_ID_LEN;
            a[2].ptr = num2;
            a[2].len = util_ll2str(num2, r->offset + 1);
        }
        link_queue(3, a);
        return link_flush(r);
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

/* Close our own replicas' links, so that they reconnect and learn our
 * replication ID (Redis's disconnectSlaves). */
static void
drop_replicas(struct repl *r)
{
    while (r->nreplicas > 0) {
        struct client *c = r->replicas[0];
        repl_replicas_remove(r, c);
        c->flags &= ~CLIENT_REPLICA;
        client_close_async(c);
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
    drop_replicas(r);
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
void
repl_transfer_failed(struct server *srv)
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
        r->handshake_step = HS_PORT; /* its REPLCONF went with the AUTH */
        return 0;
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
        r->handshake_step = HS_CAPA; /* sent with the listening-port */
        return 0;
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
                /* Our replicas must hear of it: they reconnect and resume
                 * with the old id as our second one. */
                drop_replicas(r);
            }
            r->psync_known = 1;
            log_info("Successful partial resynchronization with master.");
            r->link_state = REPL_LINK_CONNECTED;
            r->link_down_since_ms = 0;
            r->connect_backoff_ms = 0;
            link_become_client(srv, rest, restlen);
            repl_send_ack(srv); /* see the end of a full sync */
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

/* The link while it connects: the TCP connect, then (tls-replication) the
 * TLS handshake, each driven by socket events so that the node goes on
 * serving its clients and the proxies' probes meanwhile: a handshake with a
 * master that is slow to answer (loaded, paused) must not stall the event
 * loop.  Once the session is up the replication handshake starts. */
static void
link_on_connecting(struct server *srv, evutil_socket_t fd, short what)
{
    struct repl *r = &srv->repl;

    if (r->link_conn == NULL) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (!(what & EV_WRITE)) {
            return;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            log_warn("Error condition on socket for SYNC: %s", strerror(err));
            repl_link_drop(srv, NULL);
            return;
        }
        char peer[300];
        snprintf(peer, sizeof(peer), "%s:%d", r->master_host, r->master_port);
        r->link_conn = srv->cfg.tls_replication ? tls_connect_conn(srv, fd, peer)
                                                : conn_plain_create(fd, peer);
        if (r->link_conn == NULL) {
            repl_link_drop(srv, "could not start a TLS session");
            return;
        }
        r->last_io_ms = util_mstime();
    }
    if (conn_handshake(r->link_conn) != 0) {
        if (errno != EAGAIN) {
            repl_link_drop(srv, "TLS handshake failed");
            return;
        }
        event_del(r->link_event);
        event_assign(r->link_event, srv->base, fd,
                     EV_PERSIST | (conn_wants(r->link_conn) == CONN_WANT_WRITE ? EV_WRITE
                                                                               : EV_READ),
                     link_on_event, srv);
        event_add(r->link_event, NULL);
        return;
    }
    log_info("MASTER <-> REPLICA sync started%s", srv->cfg.tls_replication ? " (TLS)" : "");
    event_del(r->link_event);
    event_assign(r->link_event, srv->base, fd, EV_READ | EV_PERSIST, link_on_event, srv);
    event_add(r->link_event, NULL);
    r->last_io_ms = util_mstime();
    r->link_state = REPL_LINK_HANDSHAKE;
    r->handshake_step = HS_PING;
    if (hs_send(srv) != 0) {
        repl_link_drop(srv, "handshake write failed");
    }
}

static void
link_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct repl *r = &srv->repl;

    if (r->link_state == REPL_LINK_CONNECTING) {
        link_on_connecting(srv, fd, what);
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
        repl_link_drop(srv, "master closed the connection during the handshake");
        return;
    }
    r->hs_len += (size_t)n;
    r->last_io_ms = util_mstime();
    for (;;) {
        char *nl = memchr(r->hs_buf, '\n', r->hs_len);
        if (nl == NULL) {
            if (r->hs_len == sizeof(r->hs_buf)) {
                repl_link_drop(srv, "handshake reply too long");
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
            repl_link_drop(srv, "handshake failed");
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
    repl_send_ack(srv);
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
    repl_backlog_create(srv);
    repl_stream_write(srv, frame, len);
}

void
repl_send_ack(struct server *srv)
{
    struct repl *r = &srv->repl;
    struct client *m = r->master;
    char num[24];
    if (m == NULL || r->link_state != REPL_LINK_CONNECTED) {
        return;
    }
    struct resp_arg a[3] = {{"REPLCONF", 8}, {"ACK", 3}, {num, util_ll2str(num, r->offset)}};
    repl_enc.len = 0;
    repl_enc_command(3, a);
    m->flags |= CLIENT_FORCE_REPLY;
    reply_raw(m, repl_enc.p, repl_enc.len);
    m->flags &= ~CLIENT_FORCE_REPLY;
    client_queue_write(m);
}

void
repl_replica_getack(struct client *c)
{
    if (c->flags & CLIENT_MASTER) {
        repl_send_ack(c->srv);
    }
}

void
repl_set_master(struct server *srv, const char *host, int port)
{
    struct repl *r = &srv->repl;
    int was_replica = repl_is_replica(srv);

    repl_link_close_socket(r);
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
            /* As Redis: our replicas reconnect to learn the new ID (they
             * resume with the old one as our second). */
            drop_replicas(r);
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
    /* Clients blocked on the master it was are released (Redis 7.0). */
    block_unblock_all(srv);
    r->master_host = mem_strdup(host);
    r->master_port = port;
    srv->ks.is_replica = 1;
    /* Our replicas stay connected, as in Redis 7.0: they may be able to
     * continue with us.  They are dropped when the new master gives us a
     * new history (a full sync or a changed replication ID), and get
     * nothing meanwhile: what this node ran before becoming a replica was
     * streamed to them, and what it runs after (the rest of a transaction
     * that demoted it) is not. */
    repl_backlog_create(srv);
    r->link_state = REPL_LINK_CONNECT;
    r->link_down_since_ms = util_mstime();
    r->connect_backoff_ms = 0;
    r->last_connect_ms = 0;
    log_info("REPLICAOF %s:%d enabled", host, port);
}
