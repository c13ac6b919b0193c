/* What one request costs the server's side of a loopback TCP connection
 * with plain recv/send calls against core/iobatch's ring, at batch sizes
 * 1 to 64: the figure IOBATCH_MIN_RING (src/core/iobatch.h) comes from.
 * K connections; each round, every client sends a 75-byte SET, the server
 * side reads them all and answers +OK to each (plain: a recv and a send per
 * connection; ring: one batch of k recvs, one of k sends), the clients read
 * their replies.  Prints the thread's CPU time per request for both; the
 * client's part is the same in both, so the difference is the server's.
 * CPU time, not wall time, so a busy machine moves it little.  An idle
 * second thread stands for the server's background thread: with it the
 * kernel takes a reference on the file for every plain call, as it does
 * in the server.
 *
 * Build and run from the top of the tree, after ./utils/build.sh:
 *   cc -O2 -Isrc -o /tmp/bench-iobatch utils/bench-iobatch.c \
 *      build/src/core/libcachely_core.a $(pkg-config --libs jemalloc) -lpthread && \
 *   /tmp/bench-iobatch [requests]                                          */
#include "core/iobatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXK 64

static double
cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *
idle_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

static void
check_done(void *tag, int res, void *arg)
{
    (void)tag;
    (void)arg;
    if (res <= 0) {
        fprintf(stderr, "an operation failed: %d\n", res);
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n"
                              "$32\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
    int cl[MAXK], sv[MAXK], one = 1;
    char rbuf[MAXK][128], buf[128];
    struct iovec iov[MAXK];
    struct sockaddr_in a = {0};
    socklen_t al = sizeof(a);
    long n = argc > 1 ? atol(argv[1]) : 128000;
    int ls = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0
        || getsockname(ls, (struct sockaddr *)&a, &al) != 0 || listen(ls, MAXK) != 0) {
        perror("listen");
        return 1;
    }
    for (int i = 0; i < MAXK; i++) {
        cl[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cl[i], (struct sockaddr *)&a, sizeof(a)) != 0
            || (sv[i] = accept(ls, NULL, NULL)) < 0) {
            perror("connect");
            return 1;
        }
        setsockopt(cl[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    pthread_t idle;
    pthread_create(&idle, NULL, idle_thread, NULL);
    struct iobatch *b = iobatch_create(256);
    if (b == NULL) {
        perror("io_uring");
        return 1;
    }
    iobatch_set_min_ring(b, 1);
    printf("batch  plain ns/request  ring ns/request\n");
    for (int k = 1; k <= MAXK; k *= 2) {
        double ns[2];
        for (int ring = 0; ring < 2; ring++) {
            double t0 = cpu_ns();
            for (long r = 0; r < n / k; r++) {
                for (int j = 0; j < k; j++) {
                    if (send(cl[j], req, sizeof(req) - 1, 0) != (ssize_t)sizeof(req) - 1) {
                        perror("send");
                        return 1;
                    }
                }
                if (!ring) {
                    for (int j = 0; j < k; j++) {
                        check_done(NULL, (int)recv(sv[j], rbuf[j], sizeof(rbuf[j]), MSG_DONTWAIT), NULL);
                    }
                    for (int j = 0; j < k; j++) {
                        check_done(NULL, (int)send(sv[j], "+OK\r\n", 5, MSG_DONTWAIT | MSG_NOSIGNAL),
                                   NULL);
                    }
                } else {
                    for (int j = 0; j < k; j++) {
                        iobatch_recv(b, sv[j], rbuf[j], sizeof(rbuf[j]), NULL);
                    }
                    iobatch_run(b, check_done, NULL);
                    for (int j = 0; j < k; j++) {
                        iov[j].iov_base = "+OK\r\n";
                        iov[j].iov_len = 5;
                        iobatch_send(b, sv[j], &iov[j], 1, NULL);
                    }
                    iobatch_run(b, check_done, NULL);
                }
                for (int j = 0; j < k; j++) {
                    if (recv(cl[j], buf, sizeof(buf), 0) != 5) {
                        perror("client recv");
                        return 1;
                    }
                }
            }
            ns[ring] = (cpu_ns() - t0) / (double)(n / k * k);
        }
        printf("%5d  %18.0f  %15.0f\n", k, ns[0], ns[1]);
    }
    iobatch_destroy(&b);
    return 0;
}
