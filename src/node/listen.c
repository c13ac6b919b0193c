/* The node's client listeners: one socket per bind address on the port
 * (and on tls-port, whose clients get a TLS connection), opened at startup
 * and re-opened by CONFIG SET port / tls-port. */
#include "node/listen.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/option.h"
#include "node/client.h"
#include "node/server.h"
#include "node/tls.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Accept a bounded batch per wakeup so a connection storm cannot starve
 * the clients already connected.  tls is nonzero on the tls-port. */
struct listen_set {
    int **fds;                /* borrowed: the set's sockets */
    struct event ***events;   /* borrowed: one accept event per socket */
    int *n;
    long long *bound_port;
    int tls;
};

static void
accept_batch(struct server *srv, int lfd, int tls)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                log_warn("Accepting client connection: %s", strerror(errno));
            }
            return;
        }
        evutil_make_socket_closeonexec(fd);
        evutil_make_socket_nonblocking(fd);
        struct conn *conn = tls ? tls_accept_conn(srv, fd) : conn_plain_create(fd, NULL);
        if (conn == NULL) {
            close(fd);
            continue;
        }
        client_create(srv, conn);
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

static int
listen_on(struct server *srv, struct listen_set *ls, const char *addr, int port)
{
    struct addrinfo hints, *res, *ai;
    char portstr[16];
    int rc = -1;
    const char *host = addr;

    if (addr[0] == '-') {
        host = addr + 1; /* "-::1": optional address, as Redis allows */
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (!strcmp(host, "*")) {
        host = NULL;
        hints.ai_family = AF_INET;
    }
    if (getaddrinfo(host, portstr, &hints, &res) != 0) {
        log_error("Could not resolve bind address %s", addr);
        return addr[0] == '-' ? 0 : -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
            || listen(fd, (int)srv->cfg.tcp_backlog) != 0) {
            log_error("Could not create server TCP listening socket %s:%d: %s",
                      addr, port, strerror(errno));
            close(fd);
            continue;
        }
        evutil_make_socket_nonblocking(fd);
        *ls->fds = mem_realloc(*ls->fds, (size_t)(*ls->n + 1) * sizeof(int));
        *ls->events = mem_realloc(*ls->events,
                                  (size_t)(*ls->n + 1) * sizeof(struct event *));
        (*ls->fds)[*ls->n] = fd;
        (*ls->events)[*ls->n] = event_new(srv->base, fd, EV_READ | EV_PERSIST,
                                          ls->tls ? on_accept_tls : on_accept, srv);
        event_add((*ls->events)[*ls->n], NULL);
        (*ls->n)++;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    return rc == 0 || addr[0] == '-' ? 0 : -1;
}

/* The listeners of one port: the plain ones live in struct server, the
 * TLS ones in tls.c's state; both are reached through these pointers. */
static void
listen_set_of(struct server *srv, int tls, struct listen_set *ls)
{
    ls->tls = tls;
    if (tls) {
        tls_listeners(srv, &ls->fds, &ls->events, &ls->n, &ls->bound_port);
    } else {
        ls->fds = &srv->listen_fds;
        ls->events = &srv->listen_events;
        ls->n = &srv->nlisten;
        ls->bound_port = &srv->listen_port;
    }
}

static int
listen_open(struct server *srv, struct listen_set *ls, long long port)
{
    char *words[16];
    char *scratch;
    int n;

    *ls->bound_port = port;
    if (port == 0) {
        return 0;
    }
    scratch = mem_alloc(strlen(srv->cfg.bind) + 1);
    n = option_split_line(srv->cfg.bind, scratch, words, 16);
    for (int i = 0; i < n; i++) {
        if (listen_on(srv, ls, words[i], (int)port) != 0) {
            mem_free(scratch);
            return -1;
        }
    }
    mem_free(scratch);
    return *ls->n > 0 ? 0 : -1;
}

static void
listen_close(struct listen_set *ls)
{
    for (int i = 0; i < *ls->n; i++) {
        event_free((*ls->events)[i]);
        close((*ls->fds)[i]);
    }
    mem_free(*ls->events);
    mem_free(*ls->fds);
    *ls->events = NULL;
    *ls->fds = NULL;
    *ls->n = 0;
}

/* Remember the addresses the listeners use now. */
static void
note_bind(struct server *srv)
{
    mem_free(srv->listen_bind);
    srv->listen_bind = mem_strdup(srv->cfg.bind);
}

int
listen_setup(struct server *srv)
{
    struct listen_set ls;
    listen_set_of(srv, 0, &ls);
    note_bind(srv);
    return listen_open(srv, &ls, srv->cfg.port);
}

int
listen_tls_setup(struct server *srv)
{
    struct listen_set ls;
    listen_set_of(srv, 1, &ls);
    return listen_open(srv, &ls, srv->cfg.tls_port);
}

/* unixsocket: a stale socket file is replaced, as Redis does; unixsocketperm
 * (when not 0) sets its mode.  Its clients are plain connections. */
int
listen_unix_setup(struct server *srv)
{
    const char *path = srv->cfg.unixsocket;
    struct sockaddr_un sa;
    int fd;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_error("Failed opening Unix socket: unix socket path too long (%zu), must be "
                  "under %zu", strlen(path), sizeof(sa.sun_path));
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("Failed opening Unix socket: %s", strerror(errno));
        return -1;
    }
    unlink(path); /* a previous run's socket; nothing when there is none */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
        || (srv->cfg.unixsocketperm != 0 && chmod(path, (mode_t)srv->cfg.unixsocketperm) != 0)
        || listen(fd, (int)srv->cfg.tcp_backlog) != 0) {
        log_error("Failed opening Unix socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    srv->unix_fd = fd;
    srv->unix_event = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_accept, srv);
    event_add(srv->unix_event, NULL);
    log_info("The server is now ready to accept connections at %s", path);
    return 0;
}

void
listen_teardown(struct server *srv)
{
    mem_free(srv->listen_bind);
    srv->listen_bind = NULL;
    struct listen_set ls;
    listen_set_of(srv, 0, &ls);
    listen_close(&ls);
    listen_set_of(srv, 1, &ls);
    listen_close(&ls);
    if (srv->unix_event != NULL) {
        event_free(srv->unix_event);
        srv->unix_event = NULL;
        close(srv->unix_fd);
        log_info("Removing the unix socket file.");
        unlink(srv->cfg.unixsocket);
    }
}

static int
rebind(struct server *srv, int tls, long long port, char *err, size_t errlen)
{
    struct listen_set ls;
    listen_set_of(srv, tls, &ls);
    int *old_fds = *ls.fds;
    struct event **old_events = *ls.events;
    int old_n = *ls.n;
    long long old_port = *ls.bound_port;

    if (port == old_port) {
        return 0;
    }
    /* Open the new sockets while the old ones still accept: a refused bind
     * then leaves the server listening where it was. */
    *ls.fds = NULL;
    *ls.events = NULL;
    *ls.n = 0;
    if (listen_open(srv, &ls, port) != 0) {
        listen_close(&ls);
        *ls.fds = old_fds;
        *ls.events = old_events;
        *ls.n = old_n;
        *ls.bound_port = old_port;
        snprintf(err, errlen, "Unable to listen on this port. Check server logs.");
        return -1;
    }
    for (int i = 0; i < old_n; i++) {
        event_free(old_events[i]);
        close(old_fds[i]);
    }
    mem_free(old_events);
    mem_free(old_fds);
    log_info("Listening on port %lld (%s)", port, tls ? "tls" : "tcp");
    return 0;
}

int
listen_rebind(struct server *srv, char *err, size_t errlen)
{
    return rebind(srv, 0, srv->cfg.port, err, errlen);
}

int
listen_tls_rebind(struct server *srv, char *err, size_t errlen)
{
    return rebind(srv, 1, srv->cfg.tls_port, err, errlen);
}

/* One port's listeners onto the addresses of cfg.bind.  The old sockets
 * close first (the new ones want the same port), as in Redis; when an
 * address cannot be bound the old addresses are bound again. */
static int
rebind_addresses(struct server *srv, int tls, char *err, size_t errlen)
{
    struct listen_set ls;
    listen_set_of(srv, tls, &ls);
    long long port = *ls.bound_port;
    if (port == 0) {
        return 0;
    }
    listen_close(&ls);
    if (listen_open(srv, &ls, port) == 0) {
        return 0;
    }
    listen_close(&ls);
    char *wanted = srv->cfg.bind;
    srv->cfg.bind = srv->listen_bind;
    if (listen_open(srv, &ls, port) != 0) {
        log_error("Could not bind the previous addresses again (%s)", srv->listen_bind);
    }
    srv->cfg.bind = wanted;
    snprintf(err, errlen, "Failed to bind to specified addresses.");
    return -1;
}

int
listen_rebind_addresses(struct server *srv, char *err, size_t errlen)
{
    if (srv->listen_bind == NULL || strcmp(srv->listen_bind, srv->cfg.bind) == 0) {
        return 0;   /* at startup, or unchanged */
    }
    if (rebind_addresses(srv, 0, err, errlen) != 0) {
        return -1;
    }
    if (rebind_addresses(srv, 1, err, errlen) != 0) {
        /* Put the plain listeners back where they were too. */
        char ignored[128];
        char *wanted = srv->cfg.bind;
        srv->cfg.bind = srv->listen_bind;
        rebind_addresses(srv, 0, ignored, sizeof(ignored));
        srv->cfg.bind = wanted;
        return -1;
    }
    log_info("Listening on %s", srv->cfg.bind);
    note_bind(srv);
    return 0;
}
