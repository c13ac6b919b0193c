/* A MULTI/EXEC load generator for utils/bench-proxy.sh (redis-benchmark
 * sends one command per request, not a transaction).  Each of C clients
 * sends P transactions "MULTI, INCR txn:<rand>, EXEC" in one write (as a
 * client library's transaction pipeline does), reads their 3 * P replies,
 * and starts again, until N transactions are done.  Prints one CSV line as
 * redis-benchmark --csv does:
 *   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 *   "p95_latency_ms","p99_latency_ms","max_latency_ms"
 * where a request is one transaction and its latency is the round trip of
 * the batch it was in.  Any error reply other than the expected ones fails.
 *
 * Usage (redis-benchmark's options, so bench_measure can run it):
 *   bench-txn [--csv] -h HOST -p PORT -c CLIENTS -P PIPELINE -n N -r KEYSPACE
 * Build: cc -O2 -o bench-txn bench-txn.c $(pkg-config --cflags --libs hiredis) */
#include "bench-client.h"

struct conn {
    int fd;
    redisReader *reader;
    long expect;                 /* replies still due for the batch */
    long long sent_us;
};

static int
send_batch(struct conn *c, long pipeline, long keyspace)
{
    char buf[256 * 64];
    size_t len = 0;
    for (long i = 0; i < pipeline; i++) {
        char key[32];
        int kl = snprintf(key, sizeof(key), "txn:%ld", random() % keyspace);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n"
                                "*1\r\n$4\r\nEXEC\r\n", kl, key);
    }
    if (bench_send_all(c->fd, buf, len) != 0) {
        return -1;
    }
    c->expect = 3 * pipeline;
    c->sent_us = bench_now_us();
    return 0;
}

int
main(int argc, char **argv)
{
    struct bench_opts o;
    if (bench_parse_opts(argc, argv, &o, "[--csv] -h HOST -p PORT -c CLIENTS -P PIPELINE -n N "
                                         "-r KEYSPACE") != 0) {
        return 2;
    }
    long clients = o.clients, pipeline = o.pipeline, total = o.total, keyspace = o.keyspace;
    if (clients < 1 || pipeline < 1 || pipeline > 256 || total < 1 || keyspace < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct conn *cs = calloc((size_t)clients, sizeof(*cs));
    struct pollfd *pfd = calloc((size_t)clients, sizeof(*pfd));
    long long *lat = malloc((size_t)(total / pipeline + clients + 1) * sizeof(long long));
    long nlat = 0, started = 0, done = 0;
    srandom(42);
    for (long i = 0; i < clients; i++) {
        if ((cs[i].fd = bench_connect(&o)) < 0) {
            return 1;
        }
        cs[i].reader = redisReaderCreate();
        pfd[i].fd = cs[i].fd;
        pfd[i].events = POLLIN;
    }
    long long t0 = bench_now_us();
    for (long i = 0; i < clients && started < total; i++) {
        if (send_batch(&cs[i], pipeline, keyspace) != 0) {
            return 1;
        }
        started += pipeline;
    }
    while (done < started) {
        if (bench_poll(pfd, clients) != 0) {
            return 1;
        }
        for (long i = 0; i < clients; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                continue;
            }
            struct conn *c = &cs[i];
            if (bench_feed(c->fd, c->reader) != 0) {
                return 1;
            }
            void *reply;
            while (c->expect > 0 && redisReaderGetReply(c->reader, &reply) == REDIS_OK
                   && reply != NULL) {
                redisReply *r = reply;
                if (r->type == REDIS_REPLY_ERROR) {
                    fprintf(stderr, "error reply: %s\n", r->str);
                    return 1;
                }
                freeReplyObject(reply);
                c->expect--;
            }
            if (c->expect == 0) {
                lat[nlat++] = bench_now_us() - c->sent_us;
                done += pipeline;
                if (started < total) {
                    if (send_batch(c, pipeline, keyspace) != 0) {
                        return 1;
                    }
                    started += pipeline;
                }
            }
        }
    }
    bench_print_csv("MULTI/EXEC", lat, nlat, done, bench_now_us() - t0);
    for (long i = 0; i < clients; i++) {
        redisReaderFree(cs[i].reader);
        close(cs[i].fd);
    }
    free(cs);
    free(pfd);
    free(lat);
    return 0;
}
