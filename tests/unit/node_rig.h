/* A node's server state for unit tests that drive real clients without a
 * listening socket: the modules main.c sets up (command table, options,
 * keyspace, replication, pauses, blocking, MULTI, notifications, tracking,
 * object types) around an event base, clients on socketpairs, and one turn
 * of the main loop.  Included by one test file each (static functions). */
#ifndef CACHELY_TESTS_NODE_RIG_H
#define CACHELY_TESTS_NODE_RIG_H

#include <criterion/criterion.h>

#include "core/command.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/option.h"
#include "node/block.h"
#include "node/client.h"
#include "node/db.h"
#include "node/multi.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/options.h"
#include "node/pause.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/slowlog.h"
#include "node/tracking.h"

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

/* As main.c: clients closed by the server are freed from this event. */
static void
node_rig_on_close_pending(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_free_pending(arg);
}

/* Set srv up with the default options, as main.c does before listening. */
static void
node_rig_start(struct server *srv)
{
    log_setup("/dev/null", LOG_LEVEL_ERROR);
    signal(SIGPIPE, SIG_IGN); /* writing to a connection the server closed */
    command_setup();
    memset(srv, 0, sizeof(*srv));
    srv->opts.defs = node_options;
    srv->opts.values = &srv->cfg;
    cr_assert_eq(option_defaults(&srv->opts), 0);
    keyspace_init(&srv->ks, (int)srv->cfg.databases);
    srv->opts.ctx = srv;
    server_apply_config(srv);
    srv->base = event_base_new();
    cr_assert_not_null(srv->base);
    srv->close_event = event_new(srv->base, -1, 0, node_rig_on_close_pending, srv);
    repl_setup(srv);
    pause_setup(srv);
    block_setup(srv);
    multi_setup(srv);
    notify_setup(srv);
    tracking_setup(srv);
    object_setup();
}

/* A client of srv on one end of a socketpair; *peer is the test's end
 * (non-blocking, the test closes it). */
static struct client *
node_rig_client(struct server *srv, int *peer)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    *peer = sv[0];
    struct client *c = client_create(srv, conn_plain_create(sv[1], "unix"));
    cr_assert_not_null(c);
    return c;
}

/* One turn of the main loop: callbacks ready now, then what main.c does
 * before sleeping.  EVLOOP_ONCE as in main.c: a read event only queues its
 * client for client_read_pending, so its socket stays readable, and
 * EVLOOP_NONBLOCK alone would run the callbacks again and again. */
static void
node_rig_loop_once(struct server *srv)
{
    event_base_loop(srv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    client_read_pending(srv);
    block_before_sleep(srv);
    repl_before_sleep(srv);
    client_flush_pending(srv);
}

/* Free srv's clients and modules (the test closed its peers first). */
static void
node_rig_stop(struct server *srv)
{
    while (srv->clients) {
        struct client *c = srv->clients;
        client_destroy(&c);
    }
    client_free_pending(srv);
    pause_teardown(srv);
    block_teardown(srv);
    multi_teardown(srv);
    tracking_teardown(srv);
    repl_teardown(srv);
    event_free(srv->close_event);
    event_base_free(srv->base);
    slowlog_reset(srv);
    keyspace_destroy(&srv->ks);
    command_teardown();
    option_free_values(&srv->opts);
}

#endif
