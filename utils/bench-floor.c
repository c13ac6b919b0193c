/* The floor of a RESP server's CPU per request: a server that does nothing
 * but the socket work Redis does (epoll_wait, then a read and a write per
 * ready connection, replies built in place) and no command work at all.
 * It parses multibulk requests just enough to count them and answers each
 * with a fixed reply of the shape the command expects: +PONG to PING, a
 * 32-byte bulk to GET, :1 to INCR, *0 to CONFIG, +OK to anything else.
 * No keyspace, no allocation per request, no clock, no timers.
 *
 * What it is for: run in place of redis-server under utils/bench-node.sh
 * (same CPU cap, same pinning, interleaved), its CPU per request is the
 * least any server with this I/O model can spend on the row, and its ratio
 * to Redis's is the best "CPU per request, ours/Redis's" such a server can
 * reach.  Issue 16 asks for 0.8 at -P 1.
 *
 *   cc -O2 -o /tmp/bench-floor utils/bench-floor.c
 *   CACHELY_BIN=/tmp/bench-floor utils/bench-node.sh --cpu-cap 50 --pin \
 *       --no-memory --tests set,get,incr
 *
 * Takes redis-server's argument pairs; reads --port, --bind and --pidfile
 * and ignores the rest.  Linux only (epoll). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)
#define MAXCONN 4096

struct conn {
    int fd;
    size_t len;          /* bytes held in in[] */
    char in[BUFSZ];
    char out[BUFSZ];
};

static struct conn *conns[MAXCONN];

/* One parsed line "<c><number>\r\n" at p (n bytes left): returns the
 * number and sets *used, or -1 with *used 0 when the line is incomplete. */
static long
read_num(const char *p, size_t n, size_t *used)
{
    const char *nl = memchr(p, '\n', n);
    *used = 0;
    if (nl == NULL)
        return -1;
    *used = (size_t)(nl - p) + 1;
    return strtol(p + 1, NULL, 10);
}

/* Answers every whole request in c->in; returns the reply bytes in c->out. */
static size_t
serve(struct conn *c)
{
    size_t pos = 0, o = 0;
    static const char bulk32[] = "$32\r\n0123456789abcdef0123456789abcdef\r\n";
    while (pos < c->len && o + 64 < BUFSZ) {
        const char *p = c->in + pos;
        size_t left = c->len - pos, used, at;
        const char *name = NULL;
        size_t namelen = 0;
        if (*p != '*') { /* inline: one line, its first word */
            const char *nl = memchr(p, '\n', left);
            if (nl == NULL)
                break;
            name = p;
            while (namelen < (size_t)(nl - p) && p[namelen] != ' ' && p[namelen] != '\r')
                namelen++;
            at = (size_t)(nl - p) + 1;
        } else {
            long argc = read_num(p, left, &used), i;
            if (used == 0)
                break;
            at = used;
            for (i = 0; i < argc; i++) {
                long blen = read_num(p + at, left - at, &used);
                if (used == 0 || at + used + (size_t)blen + 2 > left)
                    break;
                if (i == 0) {
                    name = p + at + used;
                    namelen = (size_t)blen;
                }
                at += used + (size_t)blen + 2;
            }
            if (i < argc)
                break;
        }
        pos += at;
        if (namelen == 4 && strncasecmp(name, "PING", 4) == 0) {
            memcpy(c->out + o, "+PONG\r\n", 7), o += 7;
        } else if (namelen == 3 && strncasecmp(name, "GET", 3) == 0) {
            memcpy(c->out + o, bulk32, sizeof bulk32 - 1), o += sizeof bulk32 - 1;
        } else if (namelen == 4 && strncasecmp(name, "INCR", 4) == 0) {
            memcpy(c->out + o, ":1\r\n", 4), o += 4;
        } else if (namelen == 6 && strncasecmp(name, "CONFIG", 6) == 0) {
            memcpy(c->out + o, "*0\r\n", 4), o += 4;
        } else {
            memcpy(c->out + o, "+OK\r\n", 5), o += 5;
        }
    }
    memmove(c->in, c->in + pos, c->len - pos);
    c->len -= pos;
    return o;
}

static void
drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

int
main(int argc, char **argv)
{
    int port = 6379, ep, lfd, one = 1, i;
    const char *bind_addr = "127.0.0.1", *pidfile = NULL;
    struct sockaddr_in sa;
    struct epoll_event ev, evs[256];

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--bind") == 0)
            bind_addr = argv[i + 1];
        else if (strcmp(argv[i], "--pidfile") == 0)
            pidfile = argv[i + 1];
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("bench-floor: socket work only, no commands");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if (pidfile != NULL) {
        FILE *f = fopen(pidfile, "w");
        if (f != NULL) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, bind_addr, &sa.sin_addr);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 511) != 0) {
        perror("bench-floor: bind/listen");
        return 1;
    }
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1), k;
        for (k = 0; k < n; k++) {
            int fd = evs[k].data.fd;
            struct conn *c;
            ssize_t r;
            size_t o;
            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (cfd < 0)
                    continue;
                if (cfd >= MAXCONN || (c = calloc(1, sizeof *c)) == NULL) {
                    close(cfd);
                    continue;
                }
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c->fd = cfd;
                conns[cfd] = c;
                ev.events = EPOLLIN;
                ev.data.fd = cfd;
                epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                continue;
            }
            c = conns[fd];
            if (c == NULL)
                continue;
            r = read(fd, c->in + c->len, BUFSZ - c->len);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                drop(ep, c);
                continue;
            }
            if (r < 0)
                continue;
            c->len += (size_t)r;
            o = serve(c);
            /* Replies are small and the client reads them all before its
             * next pipeline, so one write goes whole, as Redis's usually do. */
            if (o > 0 && write(fd, c->out, o) < 0 && errno != EAGAIN)
                drop(ep, c);
            else if (c->len == BUFSZ)
                drop(ep, c); /* a request larger than the buffer: not ours */
        }
    }
}
