/* What a push or a pop costs the list type itself, without the server: 2M
 * LPUSH then LPOP, then 2M RPUSH then RPOP, of 32-byte values on one list
 * with list-max-listpack-size -2 (redis-benchmark's lpush/rpush/lpop/rpop
 * grow and shrink one list the same way).  Prints the best of 5 rounds, in
 * ns per operation, thread CPU time: a busy machine moves it little.
 *
 * Build and run from the top of the tree, after ./utils/build.sh:
 *   cc -O2 -Isrc -o /tmp/bench-quicklist utils/bench-quicklist.c \
 *      build/src/ds/libcachely_ds.a build/src/core/libcachely_core.a \
 *      $(pkg-config --libs jemalloc) -lm && /tmp/bench-quicklist        */
#include "ds/quicklist.h"

#include <stdio.h>
#include <time.h>

static double
cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void
sink(void *arg, const struct listpack_value *v)
{
    *(size_t *)arg += v->len;
}

int
main(void)
{
    static const char val[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    const size_t n = 2000000;
    const char *names[4] = {"lpush", "lpop", "rpush", "rpop"};
    double best[4] = {1e18, 1e18, 1e18, 1e18};
    size_t acc = 0;
    for (int r = 0; r < 5; r++) {
        struct quicklist *ql = quicklist_create(-2);
        double t[5];
        t[0] = cpu_ns();
        for (size_t i = 0; i < n; i++) {
            quicklist_push(ql, val, 32, QUICKLIST_HEAD);
        }
        t[1] = cpu_ns();
        for (size_t i = 0; i < n; i++) {
            quicklist_pop_visit(ql, QUICKLIST_HEAD, sink, &acc);
        }
        t[2] = cpu_ns();
        for (size_t i = 0; i < n; i++) {
            quicklist_push(ql, val, 32, QUICKLIST_TAIL);
        }
        t[3] = cpu_ns();
        for (size_t i = 0; i < n; i++) {
            quicklist_pop_visit(ql, QUICKLIST_TAIL, sink, &acc);
        }
        t[4] = cpu_ns();
        for (int k = 0; k < 4; k++) {
            double d = (t[k + 1] - t[k]) / (double)n;
            if (d < best[k]) {
                best[k] = d;
            }
        }
        quicklist_destroy(&ql);
    }
    for (int k = 0; k < 4; k++) {
        printf("%-6s %6.1f ns\n", names[k], best[k]);
    }
    return acc == 2 * 5 * n * 32 ? 0 : 1;
}
