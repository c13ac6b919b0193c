/* Key expiry: lazy deletion on access, the active cycle reclaiming keys
 * nobody reads, and the mass-expiry target: a million keys expiring at the
 * same instant are all reclaimed within 3 s while another client's PING
 * round trips stay under 10 ms at the 99th percentile. */
#include <criterion/criterion.h>
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static long long
wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static long long
reply_int(redisContext *c, const char *cmd)
{
    redisReply *r = harness_cmd(c, cmd);
    long long v;
    cr_assert_not_null(r, "%s: connection lost", cmd);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: reply type %d (%s)", cmd, r->type,
                 r->str ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static int
wall_clock_reached(void *arg)
{
    return wall_ms() >= *(long long *)arg;
}

struct dbsize_wait {
    redisContext *c;
    long long want;
};

static int
dbsize_is(void *arg)
{
    struct dbsize_wait *w = arg;
    return reply_int(w->c, "DBSIZE") == w->want;
}

Test(expiry, ms_ttl_key_vanishes_on_access_when_active_expiry_is_off,
     .timeout = 30)
{
    struct harness_server s;
    cr_assert_eq(harness_start(&s, NULL), 0);
    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    cr_assert(harness_cmd_equals(c, "OK", "DEBUG SET-ACTIVE-EXPIRE 0"));
    long long when = wall_ms() + 50;
    cr_assert(harness_cmd_equals(c, "OK", "SET k v PXAT %lld", when));
    cr_assert(harness_cmd_equals(c, "OK", "SET keep v"));
    /* Well past its time and not accessed: still counted, as in Redis. */
    long long later = when + 300;
    cr_assert(harness_wait_for(wall_clock_reached, &later, 5000));
    cr_assert_eq(reply_int(c, "DBSIZE"), 2);
    /* The access finds it expired and deletes it. */
    redisReply *r = harness_cmd(c, "GET k");
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    cr_assert_eq(reply_int(c, "DBSIZE"), 1);
    cr_assert_eq(harness_info_field(c, "stats", "expired_keys"), 1);
    redisFree(c);
    cr_assert_eq(harness_stop(&s), 0, "server did not exit cleanly");
}

Test(expiry, ms_ttl_keys_vanish_without_access, .timeout = 30)
{
    struct harness_server s;
    cr_assert_eq(harness_start(&s, NULL), 0);
    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    for (int i = 0; i < 100; i++) {
        redisAppendCommand(c, "SET k:%d v PX %d", i, 50 + i);
    }
    for (int i = 0; i < 100; i++) {
        redisReply *r = NULL;
        cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK);
        cr_assert_eq(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    cr_assert(harness_cmd_equals(c, "OK", "SET keep v"));
    /* Only DBSIZE is asked, which never touches a key. */
    struct dbsize_wait w = {c, 1};
    cr_assert(harness_wait_for(dbsize_is, &w, 2000), "active expiry did not reclaim");
    cr_assert_eq(harness_info_field(c, "stats", "expired_keys"), 100);
    cr_assert(harness_cmd_equals(c, "v", "GET keep"));
    redisFree(c);
    cr_assert_eq(harness_stop(&s), 0, "server did not exit cleanly");
}

/* ---- mass expiry -------------------------------------------------------- */

#define MAX_PINGS 400000

struct pinger {
    struct harness_server *s;
    volatile int stop;
    long long from_ms;                  /* wall clock to start pinging at */
    long long starts_ms[MAX_PINGS];     /* wall clock at each send */
    long long rtt_us[MAX_PINGS];
    long n;
    int failed;
};

static long long
mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
pinger_run(void *arg)
{
    struct pinger *p = arg;
    redisContext *c = harness_connect(p->s);
    if (c == NULL) {
        p->failed = 1;
        return NULL;
    }
    /* The samples are for the expiry window: a long wait before it (the
     * load window is sized to the machine) must not fill them up. */
    while (!p->stop && wall_ms() < p->from_ms) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    while (!p->stop && p->n < MAX_PINGS) {
        long long wall = wall_ms();
        long long t0 = mono_us();
        redisReply *r = redisCommand(c, "PING");
        long long t1 = mono_us();
        if (r == NULL || r->type != REDIS_REPLY_STATUS) {
            p->failed = 1;
            if (r) {
                freeReplyObject(r);
            }
            break;
        }
        freeReplyObject(r);
        p->starts_ms[p->n] = wall;
        p->rtt_us[p->n] = t1 - t0;
        p->n++;
    }
    redisFree(c);
    return NULL;
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* A sanitizer build compiles this file with the same flags as the server,
 * so it can tell by itself; CACHELY_SANITIZERS=1 forces the same. */
#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_SANITIZERS 1
#endif
#endif
#ifndef BUILT_WITH_SANITIZERS
#define BUILT_WITH_SANITIZERS 0
#endif

/* Milliseconds the process's main thread has spent runnable but waiting
 * for a CPU (the second field of /proc/<pid>/schedstat), or 0. */
static long long
run_delay_ms(pid_t pid)
{
    char path[64];
    unsigned long long run = 0, wait = 0;
    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%llu %llu", &run, &wait) != 2) {
        wait = 0;
    }
    fclose(f);
    return (long long)(wait / 1000000);
}

/* The target.  Under sanitizers the key count drops to 100,000:
 * ASan makes every allocation and free several times slower, and the point
 * there is memory safety, not speed. */
Test(expiry, a_million_keys_expiring_at_once_are_reclaimed_within_3s_with_low_latency,
     .timeout = 120)
{
    const char *san = getenv("CACHELY_SANITIZERS");
    int sanitized = BUILT_WITH_SANITIZERS || (san && !strcmp(san, "1"));
    long nkeys = sanitized ? 100000 : 1000000;
    struct harness_server s;
    static struct pinger p;     /* large: keep it off the stack */
    pthread_t th;

    cr_assert_eq(harness_start(&s, NULL), 0);
    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    long long base_mem = harness_info_field(c, "memory", "used_memory");
    cr_assert_gt(base_mem, 0);

    /* Every key gets the same absolute expiry, on a whole second far
     * enough away to load them all first: at least 12 s (loading took 4-8 s
     * on a 2-core machine while other suites ran), more when loading a
     * twentieth of them now shows the machine is slower than that (13 s
     * under a load average of 25). */
    long long probe_start = harness_now_ms();
    for (long i = 0; i < nkeys / 20; i++) {
        redisAppendCommand(c, "SET probe:%ld v", i);
    }
    for (long i = 0; i < nkeys / 20; i++) {
        redisReply *r = NULL;
        cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK, "connection lost");
        freeReplyObject(r);
    }
    long long estimate = (harness_now_ms() - probe_start) * 20;
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    long long margin = 2 * estimate + 2000 > 12000 ? 2 * estimate + 2000 : 12000;
    if (margin > 45000) {
        margin = 45000;
    }
    long long expire_at = (wall_ms() + margin) / 1000 * 1000 + 1000;
    long long load_start = harness_now_ms();
    for (long done = 0; done < nkeys;) {
        long batch = nkeys - done < 10000 ? nkeys - done : 10000;
        for (long i = 0; i < batch; i++) {
            redisAppendCommand(c, "SET exp:%ld v PXAT %lld", done + i, expire_at);
        }
        for (long i = 0; i < batch; i++) {
            redisReply *r = NULL;
            cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK, "connection lost");
            cr_assert_eq(r->type, REDIS_REPLY_STATUS, "SET failed: %s",
                         r->str ? r->str : "");
            freeReplyObject(r);
        }
        done += batch;
    }
    long long load_ms = harness_now_ms() - load_start;
    cr_assert_lt(wall_ms(), expire_at - 100, "loading %ld keys took %lld ms: too slow",
                 nkeys, load_ms);
    cr_assert_eq(reply_int(c, "DBSIZE"), nkeys);
    long long loaded_mem = harness_info_field(c, "memory", "used_memory");
    cr_assert_gt(loaded_mem, base_mem);

    memset(&p, 0, sizeof(p));
    p.s = &s;
    p.from_ms = expire_at - 200;
    cr_assert_eq(pthread_create(&th, NULL, pinger_run, &p), 0);

    cr_assert(harness_wait_for(wall_clock_reached, &expire_at, 20000));
    /* Poll from the expiry time on; DBSIZE itself never expires anything,
     * so only the active cycle can bring it to 0.  The 3 s are the server's:
     * time it spent runnable but waiting for a CPU (the machine busy with
     * other suites) extends the deadline, up to 20 s. */
    long long delay_start = run_delay_ms(s.pid), delay = 0;
    long long reclaimed_at = -1;
    while (wall_ms() < expire_at + 3000 + (delay < 20000 ? delay : 20000)) {
        delay = run_delay_ms(s.pid) - delay_start;
        if (reply_int(c, "DBSIZE") == 0) {
            reclaimed_at = wall_ms();
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    p.stop = 1;
    pthread_join(th, NULL);
    cr_assert(!p.failed, "the PING client failed");
    cr_assert_neq(reclaimed_at, -1, "keys left 3 s after their expiry: %lld "
                  "(the server waited %lld ms for a CPU)", reply_int(c, "DBSIZE"), delay);

    long long used = harness_info_field(c, "memory", "used_memory");
    cr_assert_lt(used, base_mem + (loaded_mem - base_mem) / 2,
                 "used_memory %lld after reclaim (base %lld, loaded %lld)", used,
                 base_mem, loaded_mem);
    cr_assert_geq(harness_info_field(c, "stats", "expired_keys"), nkeys);

    /* Latency over the expiry window only: the quiet seconds before it
     * would dilute the percentile. */
    long long *window = malloc(sizeof(long long) * (size_t)(p.n + 1));
    long nw = 0;
    for (long i = 0; i < p.n; i++) {
        if (p.starts_ms[i] >= expire_at) {
            window[nw++] = p.rtt_us[i];
        }
    }
    cr_assert_gt(nw, 10, "too few PINGs during the expiry window (%ld)", nw);
    qsort(window, (size_t)nw, sizeof(long long), cmp_ll);
    long long p99 = window[(nw * 99) / 100];
    long long max = window[nw - 1];
    free(window);
    cr_log_info("%ld keys loaded in %lld ms, reclaimed %lld ms after expiry; "
                "%ld PINGs, p99 %lld us, max %lld us",
                nkeys, load_ms, reclaimed_at - expire_at, nw, p99, max);
    /* A PING's round trip also holds the time the server (or the pinger)
     * waited for a CPU: on a machine that starved the server for over half
     * a second in the window, the percentile measures the machine. */
    if (delay < 500) {
        cr_assert_lt(p99, 10000, "PING p99 %lld us during mass expiry", p99);
    } else {
        cr_log_warn("PING p99 %lld us not checked: the server waited %lld ms for a CPU",
                    p99, delay);
    }

    redisFree(c);
    cr_assert_eq(harness_stop(&s), 0, "server did not exit cleanly");
}
