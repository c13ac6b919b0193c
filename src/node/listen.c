/* The node's client listeners: one socket per bind address on the port,
 * opened at startup and re-opened by CONFIG SET port / bind. */
#include "node/listen.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"
#include "node/client.h"
#include "node/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct server *srv = arg;
    (void)what;
    /* Accept a bounded batch per wakeup so a connection storm cannot starve
     * the clients already connected. */
    for (int i = 0; i < 64; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                log_warn("Accepting client connection: %s", strerror(errno));
            }
            return;
        }
        evutil_make_socket_closeonexec(fd);
        client_create(srv, fd);
    }
}

static int
listen_on(struct server *srv, const char *addr, int port)
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
        srv->listen_fds = mem_realloc(srv->listen_fds,
                                      (size_t)(srv->nlisten + 1) * sizeof(int));
        srv->listen_events = mem_realloc(srv->listen_events,
                                         (size_t)(srv->nlisten + 1) * sizeof(struct event *));
        srv->listen_fds[srv->nlisten] = fd;
        srv->listen_events[srv->nlisten] =
            event_new(srv->base, fd, EV_READ | EV_PERSIST, on_accept, srv);
        event_add(srv->listen_events[srv->nlisten], NULL);
        srv->nlisten++;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    return rc == 0 || addr[0] == '-' ? 0 : -1;
}

int
listen_setup(struct server *srv)
{
    char *words[16];
    char *scratch;
    int n;

    srv->listen_port = srv->cfg.port;
    if (srv->cfg.port == 0) {
        return 0;
    }
    scratch = mem_alloc(strlen(srv->cfg.bind) + 1);
    n = option_split_line(srv->cfg.bind, scratch, words, 16);
    for (int i = 0; i < n; i++) {
        if (listen_on(srv, words[i], (int)srv->cfg.port) != 0) {
            mem_free(scratch);
            return -1;
        }
    }
    mem_free(scratch);
    return srv->nlisten > 0 ? 0 : -1;
}

void
listen_teardown(struct server *srv)
{
    for (int i = 0; i < srv->nlisten; i++) {
        event_free(srv->listen_events[i]);
        close(srv->listen_fds[i]);
    }
    mem_free(srv->listen_events);
    mem_free(srv->listen_fds);
    srv->listen_events = NULL;
    srv->listen_fds = NULL;
    srv->nlisten = 0;
}

int
listen_rebind(struct server *srv, char *err, size_t errlen)
{
    int *old_fds = srv->listen_fds;
    struct event **old_events = srv->listen_events;
    int old_n = srv->nlisten;
    long long old_port = srv->listen_port;

    if (srv->cfg.port == srv->listen_port) {
        return 0;
    }
    /* Open the new sockets while the old ones still accept: a refused bind
     * then leaves the server listening where it was. */
    srv->listen_fds = NULL;
    srv->listen_events = NULL;
    srv->nlisten = 0;
    if (listen_setup(srv) != 0) {
        listen_teardown(srv);
        srv->listen_fds = old_fds;
        srv->listen_events = old_events;
        srv->nlisten = old_n;
        srv->listen_port = old_port;
        snprintf(err, errlen, "Unable to listen on this port. Check server logs.");
        return -1;
    }
    for (int i = 0; i < old_n; i++) {
        event_free(old_events[i]);
        close(old_fds[i]);
    }
    mem_free(old_events);
    mem_free(old_fds);
    log_info("Listening on port %lld (tcp)", srv->cfg.port);
    return 0;
}
