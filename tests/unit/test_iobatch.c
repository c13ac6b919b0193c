/* Unit tests for core/iobatch: a batch smaller than IOBATCH_MIN_RING (run
 * as plain calls) and one past it (run through the ring) give the same
 * results for recv with data, recv with none, recv from a closed peer,
 * send and a two-buffer sendmsg. */
#include "core/iobatch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXN (IOBATCH_MIN_RING * 2)

struct result {
    int res[MAXN * 2];
    void *tag[MAXN * 2];
    int n;
};

static void
record(void *tag, int res, void *arg)
{
    struct result *r = arg;
    r->tag[r->n] = tag;
    r->res[r->n] = res;
    r->n++;
}

/* n socket pairs; pair i: peer wrote "hello<i%10>" when i % 3 == 0, wrote
 * nothing when i % 3 == 1, closed when i % 3 == 2.  min_ring > 0 is passed
 * to iobatch_set_min_ring (0 keeps the default). */
static void
check_batch(unsigned n, unsigned min_ring)
{
    int sv[MAXN][2];
    char buf[MAXN][16];
    struct iobatch *b = iobatch_create(64);
    struct result r;

    if (b == NULL) {
        cr_skip_test("io_uring unavailable: %s", strerror(errno));
    }
    if (min_ring > 0) {
        iobatch_set_min_ring(b, min_ring);
    }
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
        if (i % 3 == 0) {
            char m[6] = {'h', 'e', 'l', 'l', 'o', (char)('0' + i % 10)};
            cr_assert_eq(write(sv[i][1], m, 6), 6);
        } else if (i % 3 == 2) {
            close(sv[i][1]);
        }
        cr_assert_eq(iobatch_recv(b, sv[i][0], buf[i], sizeof(buf[i]), &sv[i]), 0);
    }
    cr_assert_eq(iobatch_queued(b), n);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(iobatch_run(b, record, &r), 0);
    cr_assert_eq(r.n, (int)n);
    cr_assert_eq(iobatch_queued(b), 0);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(r.tag[i], &sv[i], "results come in queue order");
        if (i % 3 == 0) {
            cr_assert_eq(r.res[i], 6, "pair %u read %d", i, r.res[i]);
            cr_assert_eq(memcmp(buf[i], "hello", 5), 0);
            cr_assert_eq(buf[i][5], '0' + i % 10);
        } else if (i % 3 == 1) {
            cr_assert_eq(r.res[i], -EAGAIN, "pair %u without data: %d", i, r.res[i]);
        } else {
            cr_assert_eq(r.res[i], 0, "pair %u whose peer closed: %d", i, r.res[i]);
        }
    }

    /* Sends on the pairs whose peer is open: one buffer, or two. */
    struct iovec iov[MAXN][2];
    unsigned sends = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i % 3 == 2) {
            continue;
        }
        iov[i][0].iov_base = "+O";
        iov[i][0].iov_len = 2;
        iov[i][1].iov_base = "K\r\n";
        iov[i][1].iov_len = 3;
        if (i % 2 == 0) {
            iov[i][0].iov_base = "+OK\r\n";
            iov[i][0].iov_len = 5;
        }
        cr_assert_eq(iobatch_send(b, sv[i][0], iov[i], i % 2 == 0 ? 1 : 2, &sv[i]), 0);
        sends++;
    }
    memset(&r, 0, sizeof(r));
    cr_assert_eq(iobatch_run(b, record, &r), 0);
    cr_assert_eq(r.n, (int)sends);
    for (int k = 0; k < r.n; k++) {
        cr_assert_eq(r.res[k], 5, "send %d: %d", k, r.res[k]);
    }
    for (unsigned i = 0; i < n; i++) {
        if (i % 3 != 2) {
            char got[8] = {0};
            cr_assert_eq(read(sv[i][1], got, sizeof(got)), 5);
            cr_assert_str_eq(got, "+OK\r\n");
            close(sv[i][1]);
        }
        close(sv[i][0]);
    }
    iobatch_destroy(&b);
    cr_assert_null(b);
}

Test(iobatch, a_small_batch_runs_as_plain_calls_with_the_same_results)
{
    check_batch(3, 0);
    check_batch(IOBATCH_MIN_RING - 1, 0);
}

Test(iobatch, a_large_batch_runs_through_the_ring)
{
    check_batch(IOBATCH_MIN_RING, 0);
    check_batch(MAXN, 0);
}

Test(iobatch, a_small_batch_forced_through_the_ring)
{
    check_batch(1, 1);
    check_batch(3, 1);
}
