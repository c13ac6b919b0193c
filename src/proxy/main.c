/* cachely-proxy: options, listener, timers and the event loop. */
#include "config.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "proxy/access.h"
#include "proxy/backend.h"
#include "proxy/blockmux.h"
#include "proxy/failover.h"
#include "proxy/http.h"
#include "proxy/nodesub.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/script.h"
#include "proxy/session.h"
#include "proxy/sockio.h"
#include "proxy/tlsctx.h"
#include "proxy/topology.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct proxy proxy;


static void
accept_batch(struct proxy *px, int lfd, int tls)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            return;
        }
        evutil_make_socket_closeonexec(fd);
        session_accept(px, fd, tls);
    }
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    accept_batch(arg, lfd, 0);
}

static void
on_accept_tls(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    accept_batch(arg, lfd, 1);
}

/* One listening socket on cfg.bind:port; *fdp and *evp receive it. */
static int
listen_port(struct proxy *px, long long portnum, int *fdp, struct event **evp,
            event_callback_fn cb)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    int one = 1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%lld", portnum);
    if (getaddrinfo(px->cfg.bind, port, &hints, &res) != 0 || res == NULL) {
        return -1;
    }
    *fdp = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fdp < 0) {
        freeaddrinfo(res);
        return -1;
    }
    setsockopt(*fdp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(*fdp, res->ai_addr, res->ai_addrlen) != 0 || listen(*fdp, 511) != 0) {
        log_error("Could not listen on %s:%lld: %s", px->cfg.bind, portnum, strerror(errno));
        freeaddrinfo(res);
        close(*fdp);
        *fdp = -1;
        return -1;
    }
    freeaddrinfo(res);
    evutil_make_socket_nonblocking(*fdp);
    *evp = event_new(px->base, *fdp, EV_READ | EV_PERSIST, cb, px);
    event_add(*evp, NULL);
    return 0;
}

static int
listen_setup(struct proxy *px)
{
    /* port 0, as in Redis: no plain listener (then tls-port is the only one). */
    if (px->cfg.port == 0 && px->cfg.tls_port == 0) {
        log_error("port 0 needs a tls-port: the proxy would listen nowhere");
        return -1;
    }
    if (px->cfg.port != 0
        && listen_port(px, px->cfg.port, &px->listen_fd, &px->listen_ev, on_accept) != 0) {
        return -1;
    }
    if (px->cfg.tls_port != 0) {
        if (listen_port(px, px->cfg.tls_port, &px->tls_listen_fd, &px->tls_listen_ev,
                        on_accept_tls) != 0) {
            return -1;
        }
        log_info("Listening on port %lld (tls)", px->cfg.tls_port);
    }
    return 0;
}

static void
on_cron(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    struct timeval tv = {0, 10000};
    (void)fd;
    (void)what;
    topology_cron(px);
    failover_cron(px);
    session_cron(px);
    nodesub_cron(px);
    event_add(px->cron, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    (void)what;
    log_info("Received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    px->shutdown_asap = 1;
    event_base_loopbreak(px->base);
}

/* SIGHUP: read the config file and command line again.  Routing and timing
 * options apply at once, and so do the topology (groups and nodes added,
 * slots reassigned) and the TLS certificates and settings (the files are
 * read again); what needs a restart is logged and left as it is. */
static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    struct proxy_config fresh;
    struct option_table t = {proxy_options, &fresh, NULL, NULL, NULL, NULL};
    char err[1024];
    (void)sig;
    (void)what;
    memset(&fresh, 0, sizeof(fresh));
    log_info("SIGHUP: reloading the configuration");
    if (option_defaults(&t) != 0
        || (px->config_path && option_load_file(&t, px->config_path, err, sizeof(err)) != 0)
        || option_load_args(&t, px->argc, px->argv, err, sizeof(err)) != 0) {
        log_error("Reload failed, keeping the running configuration: %s", err);
        mem_free(fresh.groups);
        option_free_values(&t);
        return;
    }
    if (fresh.port != px->cfg.port || strcmp(fresh.bind, px->cfg.bind) != 0
        || fresh.pool_size != px->cfg.pool_size
        || fresh.blocking_pool_size != px->cfg.blocking_pool_size
        || fresh.daemonize != px->cfg.daemonize) {
        log_warn("Reload: port, bind, pool-size, blocking-pool-size and daemonize changes "
                 "need a restart");
    }
    px->cfg.read_policy = fresh.read_policy;
    px->cfg.max_replica_lag_ms = fresh.max_replica_lag_ms;
    px->cfg.probe_interval_ms = fresh.probe_interval_ms;
    px->cfg.down_after_ms = fresh.down_after_ms;
    px->cfg.backend_timeout_ms = fresh.backend_timeout_ms;
    px->cfg.write_ack = fresh.write_ack;
    px->cfg.write_ack_timeout_ms = fresh.write_ack_timeout_ms;
    px->cfg.maxclients = fresh.maxclients;
    px->cfg.databases = fresh.databases;
    px->cfg.timeout = fresh.timeout;
    px->cfg.client_query_buffer_limit = fresh.client_query_buffer_limit;
    px->cfg.proto_max_bulk_len = fresh.proto_max_bulk_len;
    memcpy(px->cfg.cob, fresh.cob, sizeof(px->cfg.cob));
    px->cfg.loglevel = fresh.loglevel;
    px->cfg.quorum = fresh.quorum;
    px->cfg.failover = fresh.failover;
    px->cfg.failover_timeout_ms = fresh.failover_timeout_ms;
    log_current_level = log_level_from_option(fresh.loglevel);
    mem_free(px->cfg.requirepass);
    px->cfg.requirepass = fresh.requirepass;
    fresh.requirepass = NULL;
    mem_free(px->cfg.acl_users);
    px->cfg.acl_users = fresh.acl_users;
    fresh.acl_users = NULL;
    mem_free(px->cfg.aclfile);
    px->cfg.aclfile = fresh.aclfile;
    fresh.aclfile = NULL;
    px->cfg.acllog_max_len = fresh.acllog_max_len;
    px->cfg.acl_pubsub_default = fresh.acl_pubsub_default;
    px->cfg.protected_mode = fresh.protected_mode;
    if (access_reload(px) != 0) {
        log_error("Reload: the ACL users were not changed (see above)");
    }
    /* Certificates replaced in place are read again: new handshakes get
     * them, open connections keep theirs. */
    (void)tlsctx_reload(px, &fresh);
    int applied = topology_apply(px, fresh.groups, fresh.nodes) == 0;
    if (!applied) {
        log_error("Reload: the new topology was not applied (see above)");
    }
    px->reloads++;
    if (applied) {
        /* An event on the proxy's pub/sub, for whoever watches it. */
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "%zu groups %zu nodes", px->ngroups, px->nnodes);
        pubsub_publish(px, "+config-reloaded", msg, (size_t)n);
    }
    mem_free(fresh.groups);
    option_free_values(&t);
}

static void
daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        exit(1);
    }
    if (pid > 0) {
        exit(0);
    }
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) {
            close(fd);
        }
    }
}

int
main(int argc, char **argv)
{
    struct proxy *px = &proxy;
    char err[1024];
    int argi = 1;
    struct timeval tv = {0, 10000};

    memset(px, 0, sizeof(*px));
    px->listen_fd = -1;
    px->tls_listen_fd = -1;
    px->opts.defs = proxy_options;
    px->opts.values = &px->cfg;
    if (option_defaults(&px->opts) != 0) {
        return 1;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("cachely-proxy v=%s\n", PACKAGE_VERSION);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        option_print_help(&px->opts, argv[0]);
        return 0;
    }
    if (argc >= 2 && strncmp(argv[1], "--", 2) != 0) {
        if (option_load_file(&px->opts, argv[1], err, sizeof(err)) != 0) {
            fprintf(stderr, "cachely-proxy: %s: %s\n", argv[1], err);
            return 1;
        }
        px->config_path = mem_strdup(px->opts.config_file);
        argi = 2;
    }
    px->argc = argc - argi;
    px->argv = argv + argi;
    if (option_load_args(&px->opts, argc - argi, argv + argi, err, sizeof(err)) != 0) {
        fprintf(stderr, "cachely-proxy: %s\n", err);
        return 1;
    }
    px->opts.ctx = px; /* from now on CONFIG SET runs the apply hooks */
    if (px->cfg.daemonize) {
        daemonize();
    }
    log_setup(px->cfg.logfile, log_level_from_option(px->cfg.loglevel));
    signal(SIGPIPE, SIG_IGN);
    command_setup();
    px->start_ms = util_mstime();
    px->base = event_base_new();
    if (sockio_setup(px) != 0
        || access_setup(px) != 0 || tlsctx_setup(px) != 0 || topology_setup(px) != 0 || failover_setup(px) != 0
        || listen_setup(px) != 0
        || http_setup(px) != 0) {
        return 1;
    }
    px->cron = event_new(px->base, -1, 0, on_cron, px);
    event_add(px->cron, &tv);
    px->sig_events[0] = evsignal_new(px->base, SIGTERM, on_signal, px);
    px->sig_events[1] = evsignal_new(px->base, SIGINT, on_signal, px);
    px->sig_events[2] = evsignal_new(px->base, SIGHUP, on_reload, px);
    event_add(px->sig_events[0], NULL);
    event_add(px->sig_events[1], NULL);
    event_add(px->sig_events[2], NULL);
    topology_cron(px);
    nodesub_cron(px); /* set up before the first session can subscribe */
    if (px->cfg.pidfile && px->cfg.pidfile[0]) {
        FILE *f = fopen(px->cfg.pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    log_info("cachely-proxy %s listening on %s:%lld, %zu node(s) configured", PACKAGE_VERSION,
             px->cfg.bind, px->cfg.port, px->nnodes);

    while (!px->shutdown_asap) {
        sockio_flush(px); /* backend_flush_pending, session_flush_pending */
        session_evict(px); /* maxmemory-clients */
        session_free_closed(px);
        px->turn_us = -1; /* the next turn reads the clock once, on waking */
        if (event_base_loop(px->base, EVLOOP_ONCE) < 0) {
            break;
        }
        sockio_read_pending(px);
    }

    session_destroy_all(px);
    nodesub_teardown(px);
    http_teardown(px);
    failover_teardown(px);
    topology_teardown(px);
    blockmux_teardown(px);
    script_teardown(px);
    access_teardown(px);
    sockio_teardown(px);
    mem_free(px->pending_backends);
    event_free(px->cron);
    if (px->listen_fd >= 0) {
        event_free(px->listen_ev);
        close(px->listen_fd);
    }
    if (px->tls_listen_fd >= 0) {
        event_free(px->tls_listen_ev);
        close(px->tls_listen_fd);
    }
    tlsctx_teardown(px);
    event_free(px->sig_events[0]);
    event_free(px->sig_events[1]);
    event_free(px->sig_events[2]);
    mem_free(px->config_path);
    event_base_free(px->base);
    command_teardown();
    if (px->cfg.pidfile && px->cfg.pidfile[0]) {
        unlink(px->cfg.pidfile);
    }
    mem_free(px->cfg.groups);
    px->cfg.groups = NULL;
    option_free_values(&px->opts);
    log_info("cachely-proxy stopped");
    log_teardown();
    return 0;
}
