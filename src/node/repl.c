/* Replication (see repl.h): state shared by both sides, the config epoch,
 * the replication cron, setup and teardown.  The stream and backlog are in
 * repl_stream.c, the master side in repl_master.c, the replica side in
 * repl_replica.c; what they share is in repl_int.h. */
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

#define REPL_CRON_MS 10

static const char *link_state_names[] = {
#define REPL_LINK_NAME(sym, name) name,
    REPL_LINK_STATES(REPL_LINK_NAME)
#undef REPL_LINK_NAME
};

static void repl_on_cron(evutil_socket_t fd, short what, void *arg);

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
            repl_link_start_connect(srv);
        } else if (r->link_state >= REPL_LINK_CONNECTING
                   && now - r->last_io_ms > srv->cfg.repl_timeout * 1000
                   && r->last_io_ms > 0) {
            repl_link_drop(srv, "timeout: no data from master");
        }
    }
    if (now - last_second >= 1000) {
        last_second = now;
        repl_send_ack(srv);
        /* Keep replicas' links alive and their timeouts fed; not during a
         * client pause, whose point is an offset that stays put (a pause
         * longer than repl-timeout makes replicas reconnect and resume). */
        if (!repl_is_replica(srv) && r->nreplicas > 0 && !pause_active(srv)
            && now - r->last_ping_ms >= srv->cfg.repl_ping_replica_period * 1000) {
            struct resp_arg a[1] = {{"PING", 4}};
            r->last_ping_ms = now;
            repl_enc.len = 0;
            repl_enc_command(1, a);
            repl_stream_write(srv, repl_enc.p, repl_enc.len);
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
            repl_backlog_free(r);
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
    srv->ks.on_delete = repl_on_keyspace_delete;
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
    repl_link_close_socket(r);
    if (r->cron) {
        event_free(r->cron);
        r->cron = NULL;
    }
    repl_backlog_free(r);
    mem_free(r->replicas);
    r->replicas = NULL;
    r->nreplicas = 0;
    mem_free(r->master_host);
    r->master_host = NULL;
    rbuf_free(&repl_enc);
}
