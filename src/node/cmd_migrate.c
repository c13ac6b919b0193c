/* MIGRATE: move keys to another instance.  Each key goes as a RESTORE of
 * its DUMP payload (Redis 7.0's format, so the target may be redis-server
 * as well as cachely-server), and is deleted here once the target says OK;
 * the deletions go to replicas and the AOF as one DEL.
 *
 * As in Redis, the command runs synchronously: the node waits for the
 * target, each connect, write and reply bounded by the command's timeout.
 * Making it asynchronous would let the moved keys change between the DUMP
 * and the delete, which is exactly what MIGRATE promises cannot happen.
 * Connections to targets are kept for the next MIGRATE (with the database
 * last selected on them) and closed after 10 s unused, as Redis keeps its
 * migrate_cached_sockets. */
#include "node/migrate.h"

#include "node/handlers.h"

#include "core/alloc.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/dump.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIGRATE_CACHE_SIZE 64      /* Redis's MIGRATE_SOCKET_CACHE_ITEMS */
#define MIGRATE_CACHE_TTL_MS 10000 /* and its MIGRATE_SOCKET_CACHE_TTL */
#define MIGRATE_LINE_MAX 1024      /* a reply line longer than this is cut */
#define MIGRATE_CHUNK (64 * 1024)  /* each write: at most this, one timeout */

struct migrate_conn {
    char *name;                    /* "host:port" as the command spelled it */
    int fd;
    int last_dbid;                 /* the database SELECTed on it, -1: unknown */
    long long last_use_ms;
};

struct migrate_cache {
    struct migrate_conn conns[MIGRATE_CACHE_SIZE];
    size_t n;
};

static long long
now_ms(void)
{
    return util_monotonic_us() / 1000;
}

static struct migrate_cache *
cache_of(struct server *srv)
{
    if (srv->migrate == NULL) {
        srv->migrate = mem_calloc(sizeof(*srv->migrate));
    }
    return srv->migrate;
}

static void
conn_drop(struct migrate_cache *mc, size_t i)
{
    close(mc->conns[i].fd);
    mem_free(mc->conns[i].name);
    mc->conns[i] = mc->conns[--mc->n];
}

size_t
migrate_cached_sockets(const struct server *srv)
{
    return srv->migrate != NULL ? srv->migrate->n : 0;
}

void
migrate_cron(struct server *srv)
{
    struct migrate_cache *mc = srv->migrate;
    long long now = now_ms();
    for (size_t i = 0; mc != NULL && i < mc->n;) {
        if (now - mc->conns[i].last_use_ms > MIGRATE_CACHE_TTL_MS) {
            conn_drop(mc, i);
        } else {
            i++;
        }
    }
}

void
migrate_teardown(struct server *srv)
{
    struct migrate_cache *mc = srv->migrate;
    while (mc != NULL && mc->n > 0) {
        conn_drop(mc, mc->n - 1);
    }
    mem_free(mc);
    srv->migrate = NULL;
}

/* ---- blocking I/O with a timeout ---------------------------------------- */

/* Wait until fd is ready for events, at most timeout_ms.  Returns 0, or -1
 * with errno set (ETIMEDOUT when the time ran out). */
static int
wait_fd(int fd, short events, long long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* A non-blocking TCP connection to host:port established within
 * timeout_ms: its descriptor; -1 when none could be started or the time
 * ran out; -2 when the attempt ended with an error in time (errno set,
 * e.g. ECONNREFUSED).  Redis reports the
 * last case when it first writes ("error or timeout writing"), so the
 * caller does the same. */
static int
connect_timeout(const char *host, const char *port, long long timeout_ms)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        return -1;
    }
    int fd = -1, refused = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        int err = errno;
        socklen_t len = sizeof(err);
        if (err == EINPROGRESS && wait_fd(fd, POLLOUT, timeout_ms) == 0
            && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
            if (err == 0) {
                break;
            }
            refused = err; /* the attempt ended with an error, in time */
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errno = refused;
        return refused != 0 ? -2 : -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Write all of p, each chunk of at most MIGRATE_CHUNK bytes within
 * timeout_ms.  Returns 0 or -1. */
static int
write_all(int fd, const char *p, size_t len, long long timeout_ms)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off > MIGRATE_CHUNK ? MIGRATE_CHUNK : len - off;
        size_t done = 0;
        long long deadline = now_ms() + timeout_ms;
        while (done < chunk) {
            ssize_t n = send(fd, p + off + done, chunk - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return -1;
            }
            if (wait_fd(fd, POLLOUT, deadline - now_ms()) != 0) {
                return -1;
            }
        }
        off += chunk;
    }
    return 0;
}

/* Read one reply line (without its CRLF) into line, within timeout_ms.
 * Reads a byte at a time, so nothing after the line is taken from the
 * socket.  Returns its length (> 0), or -1 (errno set; an empty line or the
 * peer closing count as errors, as for Redis). */
static int
read_line(int fd, char *line, size_t cap, long long timeout_ms)
{
    size_t n = 0;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char ch;
        ssize_t r = recv(fd, &ch, 1, 0);
        if (r == 1) {
            if (ch == '\n') {
                break;
            }
            if (n + 1 < cap) {
                line[n++] = ch;
            }
            continue;
        }
        if (r == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
        if (wait_fd(fd, POLLIN, deadline - now_ms()) != 0) {
            return -1;
        }
    }
    if (n > 0 && line[n - 1] == '\r') {
        n--;
    }
    line[n] = '\0';
    if (n == 0) {
        errno = EPROTO;
        return -1;
    }
    return (int)n;
}

/* ---- the cached connections --------------------------------------------- */

static struct migrate_conn *
cached_conn(struct server *srv, const char *name)
{
    struct migrate_cache *mc = srv->migrate;
    for (size_t i = 0; mc != NULL && i < mc->n; i++) {
        if (strcmp(mc->conns[i].name, name) == 0) {
            return &mc->conns[i];
        }
    }
    return NULL;
}

static void
forget_conn(struct server *srv, const char *name)
{
    struct migrate_conn *mcn = cached_conn(srv, name);
    if (mcn != NULL) {
        conn_drop(srv->migrate, (size_t)(mcn - srv->migrate->conns));
    }
}

/* The cached connection to host:port, or a new one (the least recently
 * used goes when the cache is full).  NULL when the connection fails:
 * *refused is then the error a refused attempt ended with, 0 for a
 * timeout or an address that does not resolve. */
static struct migrate_conn *
get_conn(struct server *srv, const char *host, const char *port, const char *name,
         long long timeout_ms, int *refused)
{
    struct migrate_conn *mcn = cached_conn(srv, name);
    *refused = 0;
    if (mcn != NULL) {
        mcn->last_use_ms = now_ms();
        return mcn;
    }
    int fd = connect_timeout(host, port, timeout_ms);
    if (fd < 0) {
        *refused = fd == -2 ? errno : 0;
        return NULL;
    }
    struct migrate_cache *mc = cache_of(srv);
    if (mc->n == MIGRATE_CACHE_SIZE) {
        size_t oldest = 0;
        for (size_t i = 1; i < mc->n; i++) {
            if (mc->conns[i].last_use_ms < mc->conns[oldest].last_use_ms) {
                oldest = i;
            }
        }
        conn_drop(mc, oldest);
    }
    mcn = &mc->conns[mc->n++];
    mcn->name = mem_strdup(name);
    mcn->fd = fd;
    mcn->last_dbid = -1;
    mcn->last_use_ms = now_ms();
    return mcn;
}

/* ---- the command --------------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

struct migrate_req {
    const struct resp_arg *user, *pass; /* AUTH / AUTH2, or NULL */
    int copy, replace;
    size_t first, nkeys;                /* the keys: argv[first ..] */
    long long dbid, timeout_ms;
};

/* The options after the timeout, in Redis 7.0's order of checks.  Returns
 * 0, or -1 after replying the error. */
static int
parse_options(struct client *c, struct migrate_req *r)
{
    r->first = 3;
    r->nkeys = 1;
    for (size_t j = 6; j < c->argc; j++) {
        size_t more = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "copy")) {
            r->copy = 1;
        } else if (arg_is(&c->argv[j], "replace")) {
            r->replace = 1;
        } else if (arg_is(&c->argv[j], "auth")) {
            if (more < 1) {
                reply_syntax_error(c);
                return -1;
            }
            r->pass = &c->argv[++j];
            client_redact_arg(c, j);
        } else if (arg_is(&c->argv[j], "auth2")) {
            if (more < 2) {
                reply_syntax_error(c);
                return -1;
            }
            r->user = &c->argv[++j];
            client_redact_arg(c, j);
            r->pass = &c->argv[++j];
            client_redact_arg(c, j);
        } else if (arg_is(&c->argv[j], "keys")) {
            if (c->argv[3].len != 0) {
                reply_error(c, "When using MIGRATE KEYS option, the key argument must "
                               "be set to the empty string");
                return -1;
            }
            r->first = j + 1;
            r->nkeys = c->argc - j - 1;
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (util_str2ll(c->argv[5].ptr, c->argv[5].len, &r->timeout_ms) != 0
        || util_str2ll(c->argv[4].ptr, c->argv[4].len, &r->dbid) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (r->timeout_ms <= 0) {
        r->timeout_ms = 1000;
    }
    return 0;
}

/* AUTH, SELECT when needed, and one RESTORE per key still there (keys whose
 * TTL has passed meanwhile are dropped from keys[]).  Returns the number of
 * RESTOREs, or -1 after replying the error (a value DUMP cannot carry). */
static long
build_requests(struct client *c, const struct migrate_req *r, const struct resp_arg **keys,
               size_t nkeys, int select, struct rbuf *out)
{
    struct keyspace *ks = &c->srv->ks;
    if (r->pass != NULL) {
        rbuf_hdr(out, '*', r->user != NULL ? 3 : 2);
        rbuf_bulk(out, "AUTH", 4);
        if (r->user != NULL) {
            rbuf_bulk(out, r->user->ptr, r->user->len);
        }
        rbuf_bulk(out, r->pass->ptr, r->pass->len);
    }
    if (select) {
        char num[24];
        rbuf_hdr(out, '*', 2);
        rbuf_bulk(out, "SELECT", 6);
        rbuf_bulk(out, num, util_ll2str(num, r->dbid));
    }
    long n = 0;
    struct rbuf payload = {0};
    for (size_t j = 0; j < nkeys; j++) {
        struct entry *e = db_lookup(c->db, keys[j]->ptr, keys[j]->len,
                                    LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_NOEXPIRE);
        long long ttl = 0;
        if (e == NULL) {
            continue;
        }
        if (e->volatile_) {
            ttl = entry_expire(e) - ks->now_ms;
            if (ttl < 0) {
                continue;
            }
            if (ttl < 1) {
                ttl = 1;
            }
        }
        payload.len = 0;
        if (dump_serialize(e, c->srv->cfg.rdbcompression, &payload) != DUMP_OK) {
            rbuf_free(&payload);
            reply_error(c, "MIGRATE of a hash with field expirations is not supported "
                           "(Redis 7.0's DUMP format has none)");
            return -1;
        }
        char num[24];
        rbuf_hdr(out, '*', r->replace ? 5 : 4);
        rbuf_bulk(out, "RESTORE", 7);
        rbuf_bulk(out, keys[j]->ptr, keys[j]->len);
        rbuf_bulk(out, num, util_ll2str(num, ttl));
        rbuf_bulk(out, payload.p, payload.len);
        if (r->replace) {
            rbuf_bulk(out, "REPLACE", 7);
        }
        keys[n++] = keys[j];
    }
    rbuf_free(&payload);
    return n;
}

/* Read the replies and delete (unless COPY) each key the target took.
 * Returns 0 when every reply was read (*target_err set when the target
 * refused something, the error already replied), or -1 on a socket error
 * (*first_read_failed: before any reply). */
static int
read_replies(struct client *c, const struct migrate_req *r, struct migrate_conn *mcn,
             const struct resp_arg **keys, long nkeys, int select, int *target_err,
             int *first_read_failed, struct resp_arg *del, size_t *ndel)
{
    char auth_line[MIGRATE_LINE_MAX], select_line[MIGRATE_LINE_MAX], line[MIGRATE_LINE_MAX];
    *first_read_failed = 1;
    if (r->pass != NULL && read_line(mcn->fd, auth_line, sizeof(auth_line), r->timeout_ms) < 0) {
        return -1;
    }
    if (select && read_line(mcn->fd, select_line, sizeof(select_line), r->timeout_ms) < 0) {
        return -1;
    }
    for (long j = 0; j < nkeys; j++) {
        if (read_line(mcn->fd, line, sizeof(line), r->timeout_ms) < 0) {
            *first_read_failed = j == 0;
            return -1;
        }
        const char *err = NULL;
        if (r->pass != NULL && auth_line[0] == '-') {
            err = auth_line;
        } else if (select && select_line[0] == '-') {
            err = select_line;
        } else if (line[0] == '-') {
            err = line;
        }
        if (err != NULL) {
            if (!*target_err) {
                char msg[MIGRATE_LINE_MAX + 64];
                mcn->last_dbid = -1;
                snprintf(msg, sizeof(msg), "Target instance replied with error: %s", err + 1);
                reply_error(c, msg);
                *target_err = 1;
            }
        } else if (!r->copy && db_delete(c->db, keys[j]->ptr, keys[j]->len)) {
            notify_key(c, NOTIFY_GENERIC, "del", keys[j]);
            del[(*ndel)++] = *keys[j];
        }
    }
    *first_read_failed = 0;
    return 0;
}

void
cmd_migrate(struct client *c)
{
    struct server *srv = c->srv;
    struct migrate_req r = {0};
    if (parse_options(c, &r) != 0) {
        return;
    }
    /* The keys that are here; none: +NOKEY (not an error: a key often
     * expires between the caller's check and the MIGRATE). */
    const struct resp_arg **keys = mem_alloc((r.nkeys + 1) * sizeof(*keys));
    size_t nkeys = 0;
    for (size_t j = 0; j < r.nkeys; j++) {
        const struct resp_arg *k = &c->argv[r.first + j];
        if (db_lookup(c->db, k->ptr, k->len, 0) != NULL) {
            keys[nkeys++] = k;
        }
    }
    if (nkeys == 0) {
        mem_free(keys);
        reply_raw(c, "+NOKEY\r\n", 8);
        return;
    }

    char *host = mem_strndup(c->argv[1].ptr, c->argv[1].len);
    char *port = mem_strndup(c->argv[2].ptr, c->argv[2].len);
    char *name = mem_alloc(c->argv[1].len + c->argv[2].len + 2);
    snprintf(name, c->argv[1].len + c->argv[2].len + 2, "%s:%s", host, port);
    /* DEL and the deleted keys, for replicas and the AOF. */
    struct resp_arg *del = mem_alloc((nkeys + 1) * sizeof(*del));
    size_t ndel = 1;
    del[0].ptr = "DEL";
    del[0].len = 3;

    int may_retry = 1;
    for (;;) {
        int refused;
        struct migrate_conn *mcn = get_conn(srv, host, port, name, r.timeout_ms, &refused);
        if (mcn == NULL && !refused) {
            reply_error(c, "-IOERR error or timeout connecting to the client");
            break;
        }
        int select = mcn == NULL || mcn->last_dbid != r.dbid;
        struct rbuf out = {0};
        long n = build_requests(c, &r, keys, nkeys, select, &out);
        if (n < 0) {
            rbuf_free(&out);
            break;
        }
        nkeys = (size_t)n;
        /* A refused connection fails as its first write would. */
        int err = refused;
        int write_error = mcn == NULL || write_all(mcn->fd, out.p, out.len, r.timeout_ms) != 0;
        if (mcn != NULL) {
            err = errno;
        }
        rbuf_free(&out);
        int target_err = 0, first_read_failed = 0;
        if (!write_error
            && read_replies(c, &r, mcn, keys, n, select, &target_err, &first_read_failed,
                            del, &ndel) == 0) {
            if (!target_err) {
                mcn->last_dbid = (int)r.dbid;
                reply_ok(c);
            }
            break;
        }
        /* A socket error: the connection is closed and, when nothing can
         * have been applied (a write error, or no reply read yet) and it
         * was not a timeout, tried once more on a new connection: a cached
         * connection the target has since closed is the usual cause. */
        if (!write_error) {
            err = errno;
        }
        int timed_out = err == ETIMEDOUT;
        forget_conn(srv, name);
        if (may_retry && !timed_out && (write_error || first_read_failed) && ndel == 1) {
            may_retry = 0;
            continue;
        }
        if (!target_err) {
            char msg[96];
            snprintf(msg, sizeof(msg), "-IOERR error or timeout %s to target instance",
                     write_error ? "writing" : "reading");
            reply_error(c, msg);
        }
        break;
    }
    if (ndel > 1) {
        propagate_effect(c, ndel, del);
    }
    mem_free(del);
    mem_free(name);
    mem_free(port);
    mem_free(host);
    mem_free(keys);
}
