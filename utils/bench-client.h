/* What utils/bench-txn.c and utils/bench-blocking.c share: redis-benchmark's
 * options (so bench_measure in bench-lib.sh runs them as it runs
 * redis-benchmark), a clock, connecting with TCP_NODELAY, a whole write,
 * waiting for and reading replies, and the one CSV line redis-benchmark
 * --csv prints:
 *   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 *   "p95_latency_ms","p99_latency_ms","max_latency_ms"
 * Header only: each client is one file built with cc and hiredis. */
#ifndef CACHELY_UTILS_BENCH_CLIENT_H
#define CACHELY_UTILS_BENCH_CLIENT_H

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

struct bench_opts {
    const char *host;
    int port;
    long clients, pipeline, total, keyspace;
};

static long long
bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* -h -p -c -P -n -r, and --csv (always on), into o (defaults: 127.0.0.1,
 * 6379, 50 clients, -P 1, 100,000 requests, keyspace 100,000).  Returns 0,
 * or 2 after printing "usage: <prog> <usage>" or the unknown option. */
static int
bench_parse_opts(int argc, char **argv, struct bench_opts *o, const char *usage)
{
    *o = (struct bench_opts){"127.0.0.1", 6379, 50, 1, 100000, 100000};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--csv") == 0) {
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "usage: %s %s\n", argv[0], usage);
            return 2;
        }
        if (strcmp(k, "-h") == 0) {
            o->host = v;
        } else if (strcmp(k, "-p") == 0) {
            o->port = atoi(v);
        } else if (strcmp(k, "-c") == 0) {
            o->clients = atol(v);
        } else if (strcmp(k, "-P") == 0) {
            o->pipeline = atol(v);
        } else if (strcmp(k, "-n") == 0) {
            o->total = atol(v);
        } else if (strcmp(k, "-r") == 0) {
            o->keyspace = atol(v);
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
        i++;
    }
    return 0;
}

/* A connected socket with TCP_NODELAY, or -1 after perror. */
static int
bench_connect(const struct bench_opts *o)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    int one = 1;
    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bad host %s\n", o->host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Write all of buf (0), or -1. */
static int
bench_send_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Wait up to 10 s for input on pfd[0..n): 0, or -1 after saying why. */
static int
bench_poll(struct pollfd *pfd, long n)
{
    if (poll(pfd, (nfds_t)n, 10000) <= 0) {
        fprintf(stderr, "no reply for 10 s\n");
        return -1;
    }
    return 0;
}

/* Read what fd has into reader: 0, or -1 after saying why (closed). */
static int
bench_feed(int fd, redisReader *reader)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
        fprintf(stderr, "connection closed\n");
        return -1;
    }
    redisReaderFeed(reader, buf, (size_t)n);
    return 0;
}

static int
bench_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The CSV header and test's line: rps = requests done over wall_us, the
 * latencies (microseconds, sorted here) as ms. */
static void
bench_print_csv(const char *test, long long *lat, long nlat, long done, long long wall_us)
{
    double sum = 0;
    qsort(lat, (size_t)nlat, sizeof(*lat), bench_cmp_ll);
    for (long i = 0; i < nlat; i++) {
        sum += (double)lat[i];
    }
#define BENCH_PCT(p) ((double)lat[(long)((nlat - 1) * (p))] / 1000.0)
    printf("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
           "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n");
    printf("\"%s\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n", test,
           (double)done * 1e6 / (double)wall_us, sum / (double)nlat / 1000.0, BENCH_PCT(0),
           BENCH_PCT(0.5), BENCH_PCT(0.95), BENCH_PCT(0.99), BENCH_PCT(1));
#undef BENCH_PCT
}

#endif
