/* A BLPOP/LPUSH ping-pong load generator for utils/bench-proxy.sh
 * (redis-benchmark has no blocking test).  C connections make C/2 pairs;
 * each pair plays over two lists of its own, A's and B's: B waits in
 * BLPOP on its list, A pushes to it with LPUSH and, once the push is
 * acknowledged, waits in BLPOP on its own list; B, served, pushes to A's
 * list and waits on its own again, and so on.  Every command waits for its
 * reply before the next is sent, as a worker written with a plain client
 * library does.  An exchange is one BLPOP served by the other side's push;
 * its latency runs from the LPUSH being sent to the BLPOP's reply being
 * read on the other connection (the hand-off a blocked worker sees).  A
 * pair stops after its share of N exchanges, with one more push (not
 * counted) that releases the side still waiting, so every connection ends
 * idle.  Prints one CSV line as redis-benchmark --csv does:
 *   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 *   "p95_latency_ms","p99_latency_ms","max_latency_ms"
 * where rps is exchanges per second.  Any unexpected reply fails.
 *
 * Usage (redis-benchmark's options, so bench_measure can run it):
 *   bench-blocking [--csv] -h HOST -p PORT -c CONNECTIONS -n N [-P 1] [-r ignored]
 * Build: cc -O2 -o bench-blocking bench-blocking.c $(pkg-config --cflags --libs hiredis) */
#include "bench-client.h"

enum waiting { W_NONE, W_LPUSH, W_BLPOP };

struct conn {
    int fd;
    redisReader *reader;
    enum waiting waiting;        /* the reply due, W_NONE when idle */
    char mine[64];               /* the list this side pops */
    char theirs[64];             /* the list this side pushes to */
    struct conn *peer;           /* borrowed: the other side of the pair */
    long long pushed_us;         /* when the peer's last push to mine was sent */
    long quota;                  /* exchanges the pair still has to make */
    int last;                    /* this side's pop was the pair's last: its next
                                    push only releases the peer */
};

static int
send_cmd(struct conn *c, enum waiting what)
{
    char buf[256];
    const char *key = what == W_LPUSH ? c->theirs : c->mine;
    int len = what == W_LPUSH
                  ? snprintf(buf, sizeof(buf), "*3\r\n$5\r\nLPUSH\r\n$%zu\r\n%s\r\n$1\r\nx\r\n",
                             strlen(key), key)
                  : snprintf(buf, sizeof(buf), "*3\r\n$5\r\nBLPOP\r\n$%zu\r\n%s\r\n$1\r\n0\r\n",
                             strlen(key), key);
    if (what == W_LPUSH) {
        c->peer->pushed_us = bench_now_us();
    }
    c->waiting = what;
    return bench_send_all(c->fd, buf, (size_t)len);
}

int
main(int argc, char **argv)
{
    struct bench_opts o;
    if (bench_parse_opts(argc, argv, &o, "[--csv] -h HOST -p PORT -c CONNECTIONS -n N [-P 1]") != 0) {
        return 2;
    }
    long conns = o.clients, pipeline = o.pipeline, total = o.total;
    if (pipeline != 1) {
        fprintf(stderr, "a ping-pong pair has one exchange in flight: -P 1 only\n");
        return 2;
    }
    long pairs = conns / 2;
    if (pairs < 1 || total < pairs) {
        fprintf(stderr, "bad arguments: -c is at least 2, -n at least -c / 2\n");
        return 2;
    }
    conns = pairs * 2;
    struct conn *cs = calloc((size_t)conns, sizeof(*cs));
    struct pollfd *pfd = calloc((size_t)conns, sizeof(*pfd));
    long long *lat = malloc((size_t)total * sizeof(long long));
    long nlat = 0, finished = 0;
    if (cs == NULL || pfd == NULL || lat == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    for (long i = 0; i < conns; i++) {
        struct conn *c = &cs[i];
        if ((c->fd = bench_connect(&o)) < 0) {
            return 1;
        }
        c->reader = redisReaderCreate();
        pfd[i].fd = c->fd;
        pfd[i].events = POLLIN;
        /* Lists of this run only: nothing left by an earlier one is popped. */
        snprintf(c->mine, sizeof(c->mine), "bpp:%ld:%ld:%c", (long)getpid(), i / 2,
                 i % 2 ? 'b' : 'a');
        snprintf(c->theirs, sizeof(c->theirs), "bpp:%ld:%ld:%c", (long)getpid(), i / 2,
                 i % 2 ? 'a' : 'b');
        c->peer = &cs[i ^ 1];
        c->quota = total / pairs + (i / 2 < total % pairs);
    }
    long long t0 = bench_now_us();
    /* B blocks first; A's push may still reach the node before B's BLPOP
     * does (through a proxy they travel on different connections), which
     * is then served at once: the pair's exchanges go on the same way. */
    for (long i = 0; i < pairs; i++) {
        if (send_cmd(&cs[2 * i + 1], W_BLPOP) != 0 || send_cmd(&cs[2 * i], W_LPUSH) != 0) {
            fprintf(stderr, "write failed\n");
            return 1;
        }
    }
    while (finished < conns) {
        if (bench_poll(pfd, conns) != 0) {
            return 1;
        }
        for (long i = 0; i < conns; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                continue;
            }
            struct conn *c = &cs[i];
            if (bench_feed(c->fd, c->reader) != 0) {
                return 1;
            }
            void *reply;
            while (redisReaderGetReply(c->reader, &reply) == REDIS_OK && reply != NULL) {
                redisReply *r = reply;
                long long now = bench_now_us();
                int ok = c->waiting == W_LPUSH ? r->type == REDIS_REPLY_INTEGER
                         : c->waiting == W_BLPOP
                             ? r->type == REDIS_REPLY_ARRAY && r->elements == 2
                                   && strcmp(r->element[0]->str, c->mine) == 0
                             : 0;
                if (!ok) {
                    fprintf(stderr, "unexpected reply (type %d): %s\n", r->type,
                            r->type == REDIS_REPLY_ERROR ? r->str : "");
                    return 1;
                }
                freeReplyObject(reply);
                enum waiting was = c->waiting;
                c->waiting = W_NONE;
                int rc = 0;
                if (was == W_LPUSH) {
                    /* Acknowledged: wait for the answer (the peer's next push,
                     * or its releasing one), unless this was the release. */
                    if (c->last) {
                        finished++;
                    } else {
                        rc = send_cmd(c, W_BLPOP);
                    }
                } else if (c->quota > 0) {
                    lat[nlat++] = now - c->pushed_us;
                    c->quota--;
                    c->peer->quota--;
                    /* The pair's last pop still pushes once, to release the
                     * other side's BLPOP; that one is not counted. */
                    c->last = c->quota == 0;
                    rc = send_cmd(c, W_LPUSH);
                } else {
                    finished++; /* released by the last push */
                }
                if (rc != 0) {
                    fprintf(stderr, "write failed\n");
                    return 1;
                }
            }
        }
    }
    bench_print_csv("BLPOP/LPUSH", lat, nlat, nlat, bench_now_us() - t0);
    for (long i = 0; i < conns; i++) {
        redisReaderFree(cs[i].reader);
        close(cs[i].fd);
    }
    free(cs);
    free(pfd);
    free(lat);
    return 0;
}
