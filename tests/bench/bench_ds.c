/* Microbenchmark for ds/ (not part of make check): listpack appends, seeks
 * and finds at collection-sized lengths, and strmap add/find/delete with
 * bytes per member.  Build and run: make -C build bench-ds &&
 * build/tests/bench/bench_ds [members]. */
#include "ds/listpack.h"
#include "ds/strmap.h"
#include "core/alloc.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time, not wall time: the build machine is shared, and a loaded
 * machine should slow the figures as little as possible. */
static long long
cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static double
ns_per(long long us, long long ops)
{
    return ops ? (double)us * 1000.0 / (double)ops : 0;
}

static void
bench_listpack(void)
{
    char val[32];
    const int lens[] = {16, 128, 512};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        int n = lens[li];
        int rounds = 2000000 / n;
        long long t0 = cpu_us();
        size_t bytes = 0;
        for (int r = 0; r < rounds; r++) {
            unsigned char *lp = listpack_new();
            for (int i = 0; i < n; i++) {
                size_t len = (size_t)snprintf(val, sizeof(val),
                                              "value-%08d", i);
                lp = listpack_append(lp, val, len);
            }
            bytes = listpack_bytes(lp);
            listpack_free(lp);
        }
        long long t1 = cpu_us();

        unsigned char *lp = listpack_new();
        for (int i = 0; i < n; i++) {
            size_t len = (size_t)snprintf(val, sizeof(val), "field-%d", i);
            lp = listpack_append(lp, val, len);
            lp = listpack_append_int(lp, i);
        }
        long long found = 0, t2 = cpu_us();
        for (int r = 0; r < 200000; r++) {
            size_t len = (size_t)snprintf(val, sizeof(val), "field-%d",
                                          r % n);
            found += listpack_find(lp, listpack_first(lp), val, len, 1)
                     != NULL;
        }
        long long t3 = cpu_us();
        for (int r = 0; r < 200000; r++) {
            found += listpack_seek(lp, r % (2 * n)) != NULL;
        }
        long long t4 = cpu_us();
        listpack_free(lp);
        printf("listpack n=%-4d append %6.1f ns/elem  %5zu bytes (%.1f/elem)"
               "  hash-find %7.1f ns  seek %6.1f ns  (%lld)\n",
               n, ns_per(t1 - t0, (long long)rounds * n), bytes,
               (double)bytes / n, ns_per(t3 - t2, 200000),
               ns_per(t4 - t3, 200000), found);
    }
}

static void
bench_strmap(int n, int keys_only)
{
    char key[32];
    size_t before = mem_used();
    struct strmap *m = keys_only ? strmap_create_keys_only()
                                 : strmap_create();
    long long t0 = cpu_us();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "member:%09d", i);   /* 16 bytes */
        strmap_add(m, key, 16, NULL, 0);
    }
    long long t1 = cpu_us();
    long long hits = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "member:%09d", (int)((i * 7919LL) % n));
        hits += strmap_find(m, key, 16) != NULL;
    }
    long long t2 = cpu_us();
    size_t mem = strmap_memory(m);
    size_t used = mem_used() - before;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "member:%09d", i);
        strmap_delete(m, key, 16);
    }
    long long t3 = cpu_us();
    strmap_destroy(&m);
    printf("strmap%s n=%d 16-byte members: add %.1f ns  find %.1f ns  "
           "delete %.1f ns  %.1f bytes/member (mem_used %.1f)  hits %lld\n",
           keys_only ? " (keys-only)" : "", n, ns_per(t1 - t0, n),
           ns_per(t2 - t1, n), ns_per(t3 - t2, n),
           (double)mem / n, (double)used / n, hits);
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000000;
    uint8_t seed[16];
    util_random_bytes(seed, sizeof(seed));
    util_hash_seed(seed);
    printf("allocator: %s\n", mem_allocator_name());
    bench_listpack();
    bench_strmap(n, 0);
    bench_strmap(n, 1);
    return 0;
}
