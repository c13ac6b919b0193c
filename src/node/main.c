/* cachely-server: option loading, process setup, timers, and the module
 * setup/teardown order. */
#include "config.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/iobatch.h"
#include "node/migrate.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "node/acl.h"
#include "node/client.h"
#include "node/notify.h"
#include "node/db.h"
#include "node/evict.h"
#include "node/http.h"
#include "node/info.h"
#include "node/lazyfree.h"
#include "node/listen.h"
#include "node/object.h"
#include "node/options.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/scripting.h"
#include "node/server.h"
#include "node/tls.h"
#include "node/slowlog.h"
#include "node/snapfile.h"
#include "node/t_hash.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct server server;

static void
stats_sample(struct server *srv)
{
    struct node_stats *st = &srv->stats;
    long long now = util_mstime();
    long long dt = now - st->ops_sample_time_ms;
    if (dt < 100) {
        return;
    }
    int i = st->ops_sample_idx;
    st->ops_samples[i] = (srv->stats.total_commands - st->ops_sample_count) * 1000 / dt;
    st->net_in_samples[i] = (st->net_input_bytes - st->net_in_last) * 1000 / dt;
    st->net_out_samples[i] = (st->net_output_bytes - st->net_out_last) * 1000 / dt;
    st->ops_sample_idx = (i + 1) % 16;
    st->ops_sample_time_ms = now;
    st->ops_sample_count = srv->stats.total_commands;
    st->net_in_last = st->net_input_bytes;
    st->net_out_last = st->net_output_bytes;
}

static void
clients_cron(struct server *srv)
{
    long long now = util_mstime();
    int trim = srv->cronloops % (srv->cfg.hz > 0 ? srv->cfg.hz : 1) == 0;
    /* One walk: once a second the idle buffers, every tick the output
     * limits (a soft limit closes a client no further output reaches)
     * and the idle timeout. */
    for (struct client *c = srv->clients; c; c = c->next) {
        if (trim) {
            client_trim_idle(c, now);
        }
        client_check_output_limits(c);
        /* Output that grew while nothing of the client ran (a slow
         * subscriber) is in the total by the next check. */
        CLIENTMEM_TOUCH(c);
        /* As Redis, a client waiting in WAIT or held by CLIENT PAUSE is
         * not idle. */
        if (srv->cfg.timeout > 0 && now - c->last_interaction_ms > srv->cfg.timeout * 1000
            && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_BLOCKED))) {
            log_debug("Closing idle client id=%llu", (unsigned long long)c->id);
            client_close_async(c);
        }
    }
}

static void
schedule_cron(struct server *srv)
{
    struct timeval tv = {0, (int)(1000000 / srv->cfg.hz)};
    event_add(srv->cron_event, &tv);
}

static void
on_cron(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    (void)fd;
    (void)what;
    if (srv->cron_paused) {
        schedule_cron(srv);
        return;
    }
    srv->cronloops++;
    keyspace_tick(&srv->ks);
    stats_sample(srv);
    info_sample_peak(srv);
    persist_cron(srv);
    clients_cron(srv);
    migrate_cron(srv);
    /* Incremental rehash and shrinking: 1 ms per database at most. */
    for (int i = 0; i < srv->ks.ndb; i++) {
        struct dict *d = &srv->ks.dbs[i].dict;
        dict_maybe_shrink(d);
        dict_rehash_ms(d, 1);
    }
    schedule_cron(srv);
}

/* Active expiry runs in short slices: a slice spends at most about a
 * millisecond (times active-expire-effort) and, while keys remain due, the
 * next slice is queued right behind the clients' events instead of waiting
 * for the next tick.  So a mass expiry is reclaimed within a second or two
 * and no client waits more than a slice. */
static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct timeval tv;
    (void)fd;
    (void)what;
    int more = keyspace_active_expire(&srv->ks, 1000 * srv->cfg.active_expire_effort);
    more |= hash_active_expire(srv, 250 * srv->cfg.active_expire_effort); /* hashes: field expiry */
    if (more) {
        tv.tv_sec = 0;
        tv.tv_usec = 0;
    } else {
        tv.tv_sec = 0;
        tv.tv_usec = (int)(1000000 / srv->cfg.hz);
    }
    event_add(srv->expire_event, &tv);
}

static void
on_close_pending(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_free_pending(arg);
}

/* SIGTERM and SIGINT shut down as SHUTDOWN with the flags of
 * shutdown-on-sigterm / shutdown-on-sigint would: a final snapshot when
 * save points are set or "save" is given, none with "nosave", and a failed
 * one keeps the server running unless "force" (as Redis 7.0 does).  "now"
 * changes nothing: the shutdown never waits for replicas. */
static char insist_temp[64]; /* the final snapshot's temp file */

/* A second SIGINT while the final snapshot is being written: as Redis, exit
 * at once (status 1, not a clean shutdown) and remove the temp file.  The
 * loop that reads signals does not run during the save, so without this
 * the signal waited for the save's end. */
static void
on_insist(int sig)
{
    (void)sig;
    log_from_handler("You insist... exiting now.");
    unlink(insist_temp);
    _exit(1);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    int flags = sig == SIGINT ? srv->cfg.shutdown_on_sigint : srv->cfg.shutdown_on_sigterm;
    int save = (flags & SHUTDOWN_FLAG_SAVE) ? 1 : (flags & SHUTDOWN_FLAG_NOSAVE) ? -1 : 0;
    struct sigaction insist, old;
    (void)what;
    log_info("Received %s, scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    snapfile_temp_name(getpid(), insist_temp, sizeof(insist_temp));
    memset(&insist, 0, sizeof(insist));
    insist.sa_handler = on_insist;
    sigemptyset(&insist.sa_mask);
    sigaction(SIGINT, &insist, &old);
    int rc = persist_shutdown(srv, save);
    sigaction(SIGINT, &old, NULL);
    if (rc != 0 && !(flags & SHUTDOWN_FLAG_FORCE)) {
        log_warn("Errors trying to shut down the server. Check the logs for more "
                 "information.");
        return;
    }
    srv->shutdown_asap = 1;
    event_base_loopbreak(srv->base);
}

/* Once, at startup: the Redis options set here that change nothing (they
 * are kept for CONFIG GET and REWRITE; README, "Redis 7.0 options"). */
static void
log_no_effect_options(struct server *srv)
{
    char list[2048];
    int n = option_no_effect_list(&srv->opts, list, sizeof(list));
    if (n > 0) {
        log_warn("%d Redis option%s set here with no effect in cachely-server "
                 "(accepted for compatibility): %s", n, n == 1 ? " is" : "s are", list);
    }
}

/* SIGHUP (which Redis ignores): read the TLS certificates and keys again,
 * with the current tls-* settings, as CONFIG SET of one of them does: files
 * replaced in place reach new handshakes, open connections keep theirs.
 * Nothing else is reloaded; without TLS it does nothing. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    char err[256];
    (void)sig;
    (void)what;
    log_info("Received SIGHUP, reloading the TLS certificates");
    (void)tls_apply_config(NULL, srv, err, sizeof(err)); /* logs the outcome */
}

/* always-show-logo yes: a short banner of our own at startup, before "Ready
 * to accept connections", with the "Port: N" and "PID: N" lines Redis's logo
 * has (Redis's test suite waits for " PID: <pid>" in a server's output). */
static void
show_banner(struct server *srv)
{
    char text[512];
    snprintf(text, sizeof(text),
             "\n    cachely-server %s (%s), a Redis-compatible cache node\n"
             "    Port: %lld\n"
             "    PID: %d\n\n",
             PACKAGE_VERSION, mem_allocator_name(), srv->cfg.port, (int)getpid());
    log_raw(text);
}

static void
write_pidfile(const char *path)
{
    FILE *f;
    if (path == NULL || path[0] == '\0') {
        return;
    }
    f = fopen(path, "w");
    if (f == NULL) {
        log_warn("Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void
daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0) {
        exit(0);
    }
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) {
            close(fd);
        }
    }
}

static void
usage_exit(struct server *srv, const char *prog, const char *msg)
{
    if (msg) {
        fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (cachely %s) ***\n%s\n",
                PACKAGE_VERSION, msg);
        exit(1);
    }
    option_print_help(&srv->opts, prog);
    exit(0);
}

static void
free_all_clients(struct server *srv)
{
    while (srv->clients) {
        struct client *c = srv->clients;
        client_flush(c);
        client_destroy(&c);
    }
    srv->close_list = NULL;
}

int
main(int argc, char **argv)
{
    struct server *srv = &server;
    char err[1024];
    int argi = 1;
    uint8_t seed[16];

    memset(srv, 0, sizeof(*srv));
    srv->opts.defs = node_options;
    srv->opts.values = &srv->cfg;
    srv->opts.aliases = node_option_aliases;
    srv->opts.refusals = node_option_refusals;
    srv->opts.ctx = NULL;
    if (option_defaults(&srv->opts) != 0) {
        return 1;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("cachely-server v=%s malloc=%s\n", PACKAGE_VERSION, mem_allocator_name());
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage_exit(srv, argv[0], NULL);
    }
    if (argc >= 2 && strncmp(argv[1], "--", 2) != 0) {
        if (option_load_file(&srv->opts, argv[1], err, sizeof(err)) != 0) {
            char msg[1200];
            snprintf(msg, sizeof(msg), "Reading the configuration file %s: %s",
                     argv[1], err);
            usage_exit(srv, argv[0], msg);
        }
        argi = 2;
    }
    if (option_load_args(&srv->opts, argc - argi, argv + argi, err, sizeof(err)) != 0) {
        usage_exit(srv, argv[0], err);
    }
    if (realpath(argv[0], srv->executable) == NULL) {
        snprintf(srv->executable, sizeof(srv->executable), "%s", argv[0]);
    }
    if (srv->cfg.dir && srv->cfg.dir[0] && chdir(srv->cfg.dir) != 0) {
        fprintf(stderr, "Can't chdir to '%s': %s\n", srv->cfg.dir, strerror(errno));
        return 1;
    }
    if (srv->cfg.daemonize) {
        daemonize();
    }
    log_setup(srv->cfg.logfile, LOG_LEVEL_INFO);
    signal(SIGPIPE, SIG_IGN);
    util_random_bytes(seed, sizeof(seed));
    util_hash_seed(seed);
    srandom((unsigned)(seed[0] | seed[1] << 8 | seed[2] << 16) ^ (unsigned)getpid());
    util_random_hex(srv->run_id, 40);
    command_setup();

    srv->stats.start_ms = util_mstime();
    srv->stats.ops_sample_time_ms = srv->stats.start_ms;
    keyspace_init(&srv->ks, (int)srv->cfg.databases);
    keyspace_set_expand_veto(&srv->ks, evict_dict_expand_allowed, srv);
    srv->opts.ctx = srv;
    server_apply_config(srv);
    log_no_effect_options(srv);
    if (acl_setup(srv) != 0) {
        return 1;
    }

    srv->base = event_base_new();
    if (srv->base == NULL) {
        log_error("Could not create the event loop");
        return 1;
    }
    if (listen_setup(srv) != 0) {
        log_error("Failed listening on port %lld (tcp), aborting.", srv->cfg.port);
        return 1;
    }
    if (listen_unix_setup(srv) != 0) {
        return 1;
    }
    if (tls_setup(srv) != 0) {
        return 1;
    }
    if (http_setup(srv) != 0) {
        log_error("Failed listening on http-port %lld, aborting.", srv->cfg.http_port);
        return 1;
    }
    repl_setup(srv);
    pause_setup(srv);
    block_setup(srv);
    multi_setup(srv);
    notify_setup(srv);
    tracking_setup(srv);
    lazyfree_setup();
    object_setup();
    hash_setup(srv); /* hashes: field expiry follows renamed/copied keys */
    scripting_setup(srv);
    if (persist_setup(srv) != 0) {
        return 1;
    }
    if (srv->cfg.io_uring) {
        srv->iobatch = iobatch_create(CLIENT_IO_BATCH);
        if (srv->iobatch == NULL) {
            log_info("io_uring unavailable (%s): one system call per socket "
                     "read and write", strerror(errno));
        }
    }
    srv->cron_event = event_new(srv->base, -1, 0, on_cron, srv);
    srv->expire_event = event_new(srv->base, -1, 0, on_expire, srv);
    srv->close_event = event_new(srv->base, -1, 0, on_close_pending, srv);
    srv->sig_events[0] = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->sig_events[1] = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->sig_events[2] = evsignal_new(srv->base, SIGHUP, on_hup, srv);
    event_add(srv->sig_events[0], NULL);
    event_add(srv->sig_events[1], NULL);
    event_add(srv->sig_events[2], NULL);
    schedule_cron(srv);
    {
        struct timeval tv = {0, 100000};
        event_add(srv->expire_event, &tv);
    }
    write_pidfile(srv->cfg.pidfile);
    if (srv->cfg.always_show_logo) {
        show_banner(srv);
    }
    log_info("cachely-server %s (%s) started, pid=%d, port=%lld, run_id=%s",
             PACKAGE_VERSION, mem_allocator_name(), (int)getpid(), srv->cfg.port,
             srv->run_id);
    log_info("Ready to accept connections tcp");

    /* The loop: wait for events, run every ready callback, then write all
     * replies produced meanwhile before waiting again. */
    while (!srv->shutdown_asap) {
        block_before_sleep(srv);
        repl_before_sleep(srv);
        persist_before_sleep(srv);
        client_flush_pending(srv);
        if (srv->cmem.on) {
            clientmem_before_sleep(srv);
        }
        if (event_base_loop(srv->base, EVLOOP_ONCE) < 0) {
            log_error("Event loop failed");
            break;
        }
        client_read_pending(srv);
    }

    log_info("User requested shutdown...");
    free_all_clients(srv);
    pause_teardown(srv);
    block_teardown(srv);
    multi_teardown(srv);
    pubsub_teardown(srv);
    tracking_teardown(srv);
    monitor_teardown(srv);
    latency_teardown(srv);
    lazyfree_teardown();
    propagate_teardown(srv);
    persist_teardown(srv);
    scripting_teardown(srv);
    repl_teardown(srv);
    http_teardown(srv);
    listen_teardown(srv);
    tls_teardown(srv);
    for (int i = 0; i < 3; i++) {
        if (srv->sig_events[i]) {
            event_free(srv->sig_events[i]);
        }
    }
    event_free(srv->cron_event);
    event_free(srv->expire_event);
    event_free(srv->close_event);
    event_base_free(srv->base);
    iobatch_destroy(&srv->iobatch);
    migrate_teardown(srv);
    slowlog_reset(srv);
    keyspace_destroy(&srv->ks);
    command_teardown();
    if (srv->cfg.pidfile && srv->cfg.pidfile[0]) {
        unlink(srv->cfg.pidfile);
    }
    acl_teardown(srv);
    option_free_values(&srv->opts);
    log_info("cachely-server is now ready to exit, bye bye...");
    log_teardown();
    return srv->exit_code;
}
