/* Hostile and careless clients: malformed frames, absurd declared lengths,
 * huge pipelines, clients that never read, too many clients, clients that
 * vanish mid-frame.  After every case the server must still be alive, serve
 * a new client, and keep the data another client wrote. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1024LL * 1024LL)

static void
suite_init(void)
{
    signal(SIGPIPE, SIG_IGN);
}

TestSuite(abuse, .init = suite_init, .timeout = 120);

/* ------------------------------------------------------------------------
 * Raw sockets
 * ------------------------------------------------------------------------ */

/* Connect to 127.0.0.1:port; rcvbuf > 0 shrinks the receive buffer first
 * (before connect, so the advertised window is small too). */
static int
raw_connect_rcvbuf(int port, int rcvbuf)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    if (rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
                 "connect to %d: %s", port, strerror(errno));
    return fd;
}

static int
raw_connect(int port)
{
    return raw_connect_rcvbuf(port, 0);
}

/* Write all of buf; returns 0, or -1 when the peer is gone. */
static int
raw_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
raw_send_str(int fd, const char *s)
{
    return raw_send(fd, s, strlen(s));
}

/* Read into buf (NUL-terminated, at most cap-1 bytes kept; the rest is
 * counted and dropped) until the peer closes or timeout_ms passes.  *closed
 * tells which; returns the number of bytes received. */
static size_t
raw_read_until_close(int fd, char *buf, size_t cap, int timeout_ms, int *closed)
{
    long long deadline = harness_now_ms() + timeout_ms;
    size_t kept = 0, total = 0;
    char scratch[65536];
    *closed = 0;
    for (;;) {
        int left = (int)(deadline - harness_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0) {
            break;
        }
        if (poll(&p, 1, left) <= 0) {
            continue;
        }
        ssize_t n = recv(fd, scratch, sizeof(scratch), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *closed = 1;   /* EOF or reset: either way the server hung up */
            break;
        }
        total += (size_t)n;
        if (buf && kept + 1 < cap) {
            size_t take = (size_t)n < cap - 1 - kept ? (size_t)n : cap - 1 - kept;
            memcpy(buf + kept, scratch, take);
            kept += take;
        }
    }
    if (buf && cap) {
        buf[kept] = '\0';
    }
    return total;
}

/* Read exactly strlen(expect) bytes (5 s deadline) and compare. */
static int
raw_expect(int fd, const char *expect)
{
    size_t want = strlen(expect), got = 0;
    char buf[4096];
    long long deadline = harness_now_ms() + 5000;
    cr_assert_lt(want, sizeof(buf));
    while (got < want && harness_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        ssize_t n = recv(fd, buf + got, want - got, 0);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (got != want || memcmp(buf, expect, want) != 0) {
        fprintf(stderr, "expected %zu bytes '%s', got %zu bytes '%s'\n", want, expect,
                got, buf);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * Server memory, as the kernel and as INFO see it
 * ------------------------------------------------------------------------ */

/* A field of /proc/<pid>/status in bytes (VmRSS, VmSize), or -1. */
static long long
proc_status_bytes(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t fl = strlen(field);
    long long v = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = atoll(line + fl + 1) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

struct mem_sample {
    long long rss;     /* resident bytes */
    long long vsize;   /* mapped bytes: catches a big malloc never touched */
    long long used;    /* INFO used_memory, -1 while INFO is not there */
};

static struct mem_sample
mem_sample(struct harness_server *s)
{
    struct mem_sample m;
    redisContext *c = harness_connect(s);
    m.rss = proc_status_bytes(s->pid, "VmRSS");
    m.vsize = proc_status_bytes(s->pid, "VmSize");
    m.used = c ? harness_info_field(c, "memory", "used_memory") : -1;
    if (c) {
        redisFree(c);
    }
    return m;
}

/* The server's memory grew by less than limit bytes since base. */
static void
expect_memory_bounded(struct harness_server *s, struct mem_sample base,
                      long long limit, const char *when)
{
    struct mem_sample now = mem_sample(s);
    cr_expect_lt(now.rss - base.rss, limit, "%s: RSS grew by %lld MB", when,
                 (now.rss - base.rss) / MB);
    cr_expect_lt(now.vsize - base.vsize, 4 * limit, "%s: mapped memory grew by %lld MB",
                 when, (now.vsize - base.vsize) / MB);
    if (base.used >= 0 && now.used >= 0) {
        cr_expect_lt(now.used - base.used, limit, "%s: used_memory grew by %lld MB",
                     when, (now.used - base.used) / MB);
    }
}

/* ------------------------------------------------------------------------
 * The invariant every case ends with
 * ------------------------------------------------------------------------ */

#define GUARD_KEY "abuse:guard"

/* Another client's data, written before the abuse starts. */
static void
guard_write(struct harness_server *s, char *value, size_t len)
{
    redisContext *c = harness_connect(s);
    cr_assert_not_null(c);
    snprintf(value, len, "intact-%d-%lld", (int)s->pid, harness_now_ms());
    cr_assert(harness_cmd_equals(c, "OK", "SET %s %s", GUARD_KEY, value));
    redisFree(c);
}

/* The server is alive, a new client is served, the guard value is intact;
 * then stop it and expect a clean exit. */
static void
guard_check_and_stop(struct harness_server *s, const char *value)
{
    redisContext *c = NULL;
    long long deadline = harness_now_ms() + 5000;

    cr_assert(harness_alive(s), "server died");
    while (harness_now_ms() < deadline) {
        c = harness_connect(s);
        if (c == NULL) {
            usleep(10000);
            continue;
        }
        redisReply *r = harness_cmd(c, "PING");
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) {
            freeReplyObject(r);
        }
        if (ok) {
            break;
        }
        /* e.g. maxclients not yet released by a closing client */
        redisFree(c);
        c = NULL;
        usleep(10000);
    }
    if (c == NULL) {
        harness_dump_log(s);
    }
    cr_assert_not_null(c, "a new client is not served");
    cr_expect(harness_cmd_equals(c, value, "GET %s", GUARD_KEY), "guard value lost");
    redisFree(c);
    int status = harness_stop(s);
    cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "server exit status %#x", status);
}

static void
start_server(struct harness_server *s, const char *const *args)
{
    cr_assert_eq(harness_start(s, args), 0, "server did not start");
}

/* Send frame on a fresh connection; the server must answer exactly reply
 * and then close the connection. */
static void
expect_reply_and_close(const void *frame, size_t len, const char *reply)
{
    struct harness_server s;
    char guard[64], got[4096];
    int closed;

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    int fd = raw_connect(s.port);
    cr_assert_eq(raw_send(fd, frame, len), 0);
    raw_read_until_close(fd, got, sizeof(got), 5000, &closed);
    close(fd);
    cr_expect_str_eq(got, reply);
    cr_expect(closed, "connection left open after the protocol error");
    guard_check_and_stop(&s, guard);
}

#define FRAME(lit) lit, sizeof(lit) - 1

/* ------------------------------------------------------------------------
 * Malformed frames: Redis's exact wording, then the connection is closed
 * ------------------------------------------------------------------------ */

Test(abuse, non_numeric_multibulk_length_is_protocol_error)
{
    expect_reply_and_close(FRAME("*abc\r\n"),
                           "-ERR Protocol error: invalid multibulk length\r\n");
}

Test(abuse, multibulk_length_beyond_int_max_is_protocol_error)
{
    expect_reply_and_close(FRAME("*2147483648\r\n"),
                           "-ERR Protocol error: invalid multibulk length\r\n");
}

Test(abuse, non_bulk_element_in_array_is_protocol_error)
{
    expect_reply_and_close(FRAME("*1\r\n+x\r\n"),
                           "-ERR Protocol error: expected '$', got '+'\r\n");
}

Test(abuse, negative_bulk_length_is_protocol_error)
{
    expect_reply_and_close(FRAME("*1\r\n$-5\r\n"),
                           "-ERR Protocol error: invalid bulk length\r\n");
}

Test(abuse, non_numeric_bulk_length_is_protocol_error)
{
    expect_reply_and_close(FRAME("*1\r\n$x\r\n"),
                           "-ERR Protocol error: invalid bulk length\r\n");
}

Test(abuse, unbalanced_double_quotes_inline_is_protocol_error)
{
    expect_reply_and_close(FRAME("SET \"a b\r\n"),
                           "-ERR Protocol error: unbalanced quotes in request\r\n");
}

Test(abuse, unbalanced_single_quotes_inline_is_protocol_error)
{
    expect_reply_and_close(FRAME("SET 'a b\r\n"),
                           "-ERR Protocol error: unbalanced quotes in request\r\n");
}

Test(abuse, commands_before_a_bad_frame_are_answered_first)
{
    expect_reply_and_close(FRAME("PING\r\n*abc\r\nPING\r\n"),
                           "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
}

static void
expect_too_big_header(const char *prefix, const char *reply)
{
    size_t plen = strlen(prefix), n = plen + 70 * 1024;
    char *frame = malloc(n);
    cr_assert_not_null(frame);
    memcpy(frame, prefix, plen);
    memset(frame + plen, prefix[0] == '*' || plen > 1 ? '1' : 'a', n - plen);
    expect_reply_and_close(frame, n, reply);
    free(frame);
}

Test(abuse, inline_request_without_newline_over_64k_is_protocol_error)
{
    expect_too_big_header("a", "-ERR Protocol error: too big inline request\r\n");
}

Test(abuse, multibulk_count_line_over_64k_is_protocol_error)
{
    expect_too_big_header("*", "-ERR Protocol error: too big mbulk count string\r\n");
}

Test(abuse, bulk_length_line_over_64k_is_protocol_error)
{
    expect_too_big_header("*1\r\n$", "-ERR Protocol error: too big bulk count string\r\n");
}

/* ------------------------------------------------------------------------
 * Declared sizes are not allocations
 * ------------------------------------------------------------------------ */

Test(abuse, declared_4gb_bulk_is_rejected_without_allocating)
{
    struct harness_server s;
    char guard[64], got[256];
    int closed;

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    struct mem_sample base = mem_sample(&s);
    int fd = raw_connect(s.port);
    cr_assert_eq(raw_send_str(fd, "*1\r\n$4294967296\r\n"), 0);
    raw_read_until_close(fd, got, sizeof(got), 5000, &closed);
    close(fd);
    cr_expect_str_eq(got, "-ERR Protocol error: invalid bulk length\r\n");
    cr_expect(closed);
    expect_memory_bounded(&s, base, 32 * MB, "after a 4 GB bulk header");
    guard_check_and_stop(&s, guard);
}

Test(abuse, trickled_bulk_under_proto_max_bulk_len_is_not_preallocated)
{
    struct harness_server s;
    char guard[64];
    char chunk[64 * 1024];

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    struct mem_sample base = mem_sample(&s);

    /* 512mb (the default proto-max-bulk-len) minus a little. */
    int fd = raw_connect(s.port);
    cr_assert_eq(raw_send_str(fd, "*3\r\n$3\r\nSET\r\n$11\r\nabuse:never\r\n$536870000\r\n"), 0);
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 1; i <= 64; i++) {         /* 4 MB in 64 KB steps */
        cr_assert_eq(raw_send(fd, chunk, sizeof(chunk)), 0);
        if (i % 16 == 0) {
            usleep(20000);
            expect_memory_bounded(&s, base, 64 * MB, "while a 512 MB bulk trickles in");
        }
    }
    close(fd);

    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    redisReply *r = harness_cmd(c, "GET abuse:never");
    cr_assert_not_null(r);
    cr_expect_eq(r->type, REDIS_REPLY_NIL, "the unfinished SET was applied");
    freeReplyObject(r);
    redisFree(c);
    guard_check_and_stop(&s, guard);
}

Test(abuse, huge_declared_argument_count_is_not_preallocated)
{
    struct harness_server s;
    char guard[64];
    char chunk[7 * 4096 + 1];

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    struct mem_sample base = mem_sample(&s);
    int fd = raw_connect(s.port);
    cr_assert_eq(raw_send_str(fd, "*2147483647\r\n"), 0);
    for (int i = 0; i < 4096; i++) {
        memcpy(chunk + 7 * i, "$1\r\na\r\n", 7);
    }
    for (int i = 0; i < 16; i++) {          /* 64k arguments of 2^31-1 */
        cr_assert_eq(raw_send(fd, chunk, 7 * 4096), 0);
    }
    usleep(50000);
    expect_memory_bounded(&s, base, 64 * MB, "after a 2^31-1 argument header");
    close(fd);
    guard_check_and_stop(&s, guard);
}

/* ------------------------------------------------------------------------
 * Volume
 * ------------------------------------------------------------------------ */

Test(abuse, million_pipelined_commands_answered_in_order)
{
    struct harness_server s;
    char guard[64];
    const int n = 1000000;
    long long t0;

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    struct timeval tv = {60, 0};
    redisSetTimeout(c, tv);

    /* Each GET reads the value the SET just before it wrote, so a reply out
     * of order shows as a wrong value. */
    t0 = harness_now_ms();
    for (int i = 0; i < n; i += 2) {
        cr_assert_eq(redisAppendCommand(c, "SET p:%d %d", i % 1024, i), REDIS_OK);
        cr_assert_eq(redisAppendCommand(c, "GET p:%d", i % 1024), REDIS_OK);
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
            cr_assert_fail("no reply %d of %d: %s", i, n, c->errstr);
        }
        if (i % 2 == 0) {
            if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
                bad++;
            }
        } else {
            char want[16];
            snprintf(want, sizeof(want), "%d", i - 1);
            if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0) {
                if (bad++ < 5) {
                    fprintf(stderr, "reply %d: type %d '%s', want '%s'\n", i, r->type,
                            r->str ? r->str : "", want);
                }
            }
        }
        freeReplyObject(r);
    }
    cr_expect_eq(bad, 0, "%d of %d replies wrong or out of order", bad, n);
    fprintf(stderr, "abuse: %d pipelined commands in %lld ms\n", n, harness_now_ms() - t0);
    redisFree(c);
    guard_check_and_stop(&s, guard);
}

/* A client pipelines GETs of a 100 KB value (about 400 MB of replies) and
 * never reads.  With a 1 MB hard limit it must be cut off early. */
Test(abuse, client_that_never_reads_is_cut_off_at_output_buffer_limit)
{
    struct harness_server s;
    char guard[64];
    const char *args[] = {"--client-output-buffer-limit", "normal 1mb 512kb 1", NULL};
    const size_t vlen = 100 * 1024;
    const int gets = 4000;

    start_server(&s, args);
    guard_write(&s, guard, sizeof(guard));
    redisContext *c = harness_connect(&s);
    cr_assert_not_null(c);
    char *value = malloc(vlen);
    cr_assert_not_null(value);
    memset(value, 'v', vlen);
    redisReply *r = harness_cmd(c, "SET abuse:big %b", value, vlen);
    cr_assert(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    free(value);
    struct mem_sample base = mem_sample(&s);

    int fd = raw_connect_rcvbuf(s.port, 4096);
    static const char get[] = "*2\r\n$3\r\nGET\r\n$9\r\nabuse:big\r\n";
    size_t glen = sizeof(get) - 1;
    char *batch = malloc(glen * (size_t)gets);
    cr_assert_not_null(batch);
    for (int i = 0; i < gets; i++) {
        memcpy(batch + glen * (size_t)i, get, glen);
    }
    raw_send(fd, batch, glen * (size_t)gets);   /* may fail once cut off */
    free(batch);

    /* While the greedy client sits there unread, others are served. */
    usleep(300000);
    expect_memory_bounded(&s, base, 64 * MB, "with a client that never reads");
    cr_expect(harness_cmd_equals(c, "PONG", "PING"));
    redisFree(c);

    int closed;
    size_t got = raw_read_until_close(fd, NULL, 0, 10000, &closed);
    close(fd);
    cr_expect(closed, "the client was not disconnected");
    cr_expect_lt((long long)got, 64 * MB, "the client received %zu bytes", got);
    guard_check_and_stop(&s, guard);
}

/* ------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------ */

Test(abuse, client_beyond_maxclients_is_refused_with_error)
{
    struct harness_server s;
    char guard[64], got[256];
    const char *args[] = {"--maxclients", "20", NULL};
    redisContext *cs[20];
    int closed;

    start_server(&s, args);
    guard_write(&s, guard, sizeof(guard));
    /* The harness's and the guard's connections close asynchronously, so a
     * slot may take a moment to come free. */
    for (int i = 0; i < 20; i++) {
        long long deadline = harness_now_ms() + 5000;
        cs[i] = NULL;
        while (cs[i] == NULL && harness_now_ms() < deadline) {
            redisContext *c = harness_connect(&s);
            redisReply *r = c ? harness_cmd(c, "PING") : NULL;
            if (r && r->type == REDIS_REPLY_STATUS) {
                cs[i] = c;
            } else if (c) {
                redisFree(c);
                usleep(10000);
            }
            if (r) {
                freeReplyObject(r);
            }
        }
        cr_assert_not_null(cs[i], "client %d of 20 was not served", i + 1);
    }

    int fd = raw_connect(s.port);
    raw_read_until_close(fd, got, sizeof(got), 5000, &closed);
    close(fd);
    cr_expect_str_eq(got, "-ERR max number of clients reached\r\n");
    cr_expect(closed, "the refused client was left connected");

    /* The connected ones still work; one leaving makes room for another. */
    for (int i = 0; i < 20; i++) {
        cr_expect(harness_cmd_equals(cs[i], "PONG", "PING"), "client %d", i + 1);
    }
    redisFree(cs[0]);
    cs[0] = NULL;
    for (int i = 1; i < 20; i++) {
        redisFree(cs[i]);
    }
    guard_check_and_stop(&s, guard);
}

static void
vanish_mid_frame(const char *partial, int reset)
{
    struct harness_server s;
    char guard[64];

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    redisContext *other = harness_connect(&s);
    cr_assert_not_null(other);
    cr_assert(harness_cmd_equals(other, "OK", "SET abuse:other before"));

    for (int i = 0; i < 20; i++) {
        int fd = raw_connect(s.port);
        cr_assert_eq(raw_send_str(fd, partial), 0);
        if (reset) {
            struct linger lg = {1, 0};   /* close with RST */
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(fd);
    }
    /* The client connected all along is undisturbed. */
    cr_expect(harness_cmd_equals(other, "before", "GET abuse:other"));
    cr_expect(harness_cmd_equals(other, "OK", "SET abuse:other after"));
    cr_expect(harness_cmd_equals(other, "after", "GET abuse:other"));
    redisReply *r = harness_cmd(other, "GET abuse:half");
    cr_assert_not_null(r);
    cr_expect_eq(r->type, REDIS_REPLY_NIL, "a half-sent SET was applied");
    freeReplyObject(r);
    redisFree(other);
    guard_check_and_stop(&s, guard);
}

Test(abuse, client_closing_mid_bulk_does_not_disturb_others)
{
    vanish_mid_frame("*3\r\n$3\r\nSET\r\n$10\r\nabuse:half\r\n$10\r\nabc", 0);
}

Test(abuse, client_resetting_mid_header_does_not_disturb_others)
{
    vanish_mid_frame("*3\r\n$3\r\nSET\r\n$1", 1);
}

Test(abuse, client_closing_mid_inline_does_not_disturb_others)
{
    vanish_mid_frame("SET abuse:half xyz", 0);
}

/* ------------------------------------------------------------------------
 * Inline commands (telnet style)
 * ------------------------------------------------------------------------ */

Test(abuse, inline_commands_work_over_raw_socket)
{
    struct harness_server s;
    char guard[64];

    start_server(&s, NULL);
    guard_write(&s, guard, sizeof(guard));
    int fd = raw_connect(s.port);
    cr_assert_eq(raw_send_str(fd, "PING\r\n"), 0);
    cr_expect(raw_expect(fd, "+PONG\r\n"));
    cr_assert_eq(raw_send_str(fd, "SET a b\r\n"), 0);
    cr_expect(raw_expect(fd, "+OK\r\n"));
    cr_assert_eq(raw_send_str(fd, "GET a\r\n"), 0);
    cr_expect(raw_expect(fd, "$1\r\nb\r\n"));
    /* Quotes, escapes, bare LF, blank lines, several commands per packet. */
    cr_assert_eq(raw_send_str(fd, "SET q \"hello world\\x21\"\r\n\r\nGET q\nGET 'a'\r\n"), 0);
    cr_expect(raw_expect(fd, "+OK\r\n$12\r\nhello world!\r\n$1\r\nb\r\n"));
    /* A command split across writes. */
    cr_assert_eq(raw_send_str(fd, "PI"), 0);
    usleep(20000);
    cr_assert_eq(raw_send_str(fd, "NG\r\n"), 0);
    cr_expect(raw_expect(fd, "+PONG\r\n"));
    close(fd);
    guard_check_and_stop(&s, guard);
}
