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
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    redisReader *reader;
    long expect;                 /* replies still due for the batch */
    long long sent_us;
};

static long long
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

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
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(c->fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        off += (size_t)n;
    }
    c->expect = 3 * pipeline;
    c->sent_us = now_us();
    return 0;
}

int
main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 6379;
    long clients = 50, pipeline = 1, total = 100000, keyspace = 100000;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--csv") == 0) {
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "usage: %s [--csv] -h HOST -p PORT -c CLIENTS -P PIPELINE -n N "
                    "-r KEYSPACE\n", argv[0]);
            return 2;
        }
        if (strcmp(o, "-h") == 0) {
            host = v;
        } else if (strcmp(o, "-p") == 0) {
            port = atoi(v);
        } else if (strcmp(o, "-c") == 0) {
            clients = atol(v);
        } else if (strcmp(o, "-P") == 0) {
            pipeline = atol(v);
        } else if (strcmp(o, "-n") == 0) {
            total = atol(v);
        } else if (strcmp(o, "-r") == 0) {
            keyspace = atol(v);
        } else {
            fprintf(stderr, "unknown option %s\n", o);
            return 2;
        }
        i++;
    }
    if (clients < 1 || pipeline < 1 || pipeline > 256 || total < 1 || keyspace < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct conn *cs = calloc((size_t)clients, sizeof(*cs));
    struct pollfd *pfd = calloc((size_t)clients, sizeof(*pfd));
    long long *lat = malloc((size_t)(total / pipeline + clients + 1) * sizeof(long long));
    long nlat = 0, started = 0, done = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    srandom(42);
    for (long i = 0; i < clients; i++) {
        int one = 1;
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            perror("connect");
            return 1;
        }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        cs[i].reader = redisReaderCreate();
        pfd[i].fd = cs[i].fd;
        pfd[i].events = POLLIN;
    }
    long long t0 = now_us();
    for (long i = 0; i < clients && started < total; i++) {
        if (send_batch(&cs[i], pipeline, keyspace) != 0) {
            return 1;
        }
        started += pipeline;
    }
    while (done < started) {
        if (poll(pfd, (nfds_t)clients, 10000) <= 0) {
            fprintf(stderr, "no reply for 10 s\n");
            return 1;
        }
        for (long i = 0; i < clients; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                continue;
            }
            struct conn *c = &cs[i];
            char buf[65536];
            ssize_t n = read(c->fd, buf, sizeof(buf));
            if (n <= 0) {
                fprintf(stderr, "connection closed\n");
                return 1;
            }
            redisReaderFeed(c->reader, buf, (size_t)n);
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
                lat[nlat++] = now_us() - c->sent_us;
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
    long long wall = now_us() - t0;
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_ll);
    double sum = 0;
    for (long i = 0; i < nlat; i++) {
        sum += (double)lat[i];
    }
#define PCT(p) ((double)lat[(long)((nlat - 1) * (p))] / 1000.0)
    printf("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
           "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n");
    printf("\"MULTI/EXEC\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
           (double)done * 1e6 / (double)wall, sum / nlat / 1000.0, PCT(0), PCT(0.5),
           PCT(0.95), PCT(0.99), PCT(1));
    for (long i = 0; i < clients; i++) {
        redisReaderFree(cs[i].reader);
        close(cs[i].fd);
    }
    free(cs);
    free(pfd);
    free(lat);
    return 0;
}
