/* The node's client input framing (client.c over core/resp.c) with a real
 * server state and real clients: each client is a cachely client on one
 * end of a socketpair, the test writes bytes into the other end (whole,
 * byte by byte, pipelined) and runs the loop's steps as main.c does.
 * Covers inline and multibulk requests, partial reads, pipelines, and the
 * limits that close a connection (Redis 7.0's error texts). */
#include <criterion/criterion.h>

#include "node_rig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct server srv;
static int peer = -1;            /* the test's end of the socketpair */

static void
setup(void)
{
    node_rig_start(&srv);
    node_rig_client(&srv, &peer);
}

static void
teardown(void)
{
    close(peer);
    node_rig_stop(&srv);
}

TestSuite(client, .init = setup, .fini = teardown);

static void
loop_once(void)
{
    node_rig_loop_once(&srv);
}

static void
send_bytes(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(peer, p, len);
        if (n < 0 && errno == EAGAIN) {
            loop_once(); /* the socket buffer is full: let the server read */
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            return; /* closed by the server: expect() says whether rightly */
        }
        cr_assert_gt(n, 0);
        p += n;
        len -= (size_t)n;
    }
}

static void
send_str(const char *s)
{
    send_bytes(s, strlen(s));
}

/* What arrived (appended to got, NUL-terminated); 1 when the server closed
 * its end. */
static int
drain(char *got, size_t cap)
{
    size_t len = strlen(got);
    for (;;) {
        ssize_t n = read(peer, got + len, cap - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            got[len] = '\0';
            if (len == cap - 1) {
                return 0;
            }
            continue;
        }
        got[len] = '\0';
        return n == 0;
    }
}

/* Turn the loop until exactly want arrived (and, when closed, the server
 * closed the connection after it), for up to a second. */
static void
expect(const char *want, int closed)
{
    static char got[8192];
    int eof = 0;
    got[0] = '\0';
    long long deadline = util_mstime() + 1000;
    do {
        loop_once();
        eof = drain(got, sizeof(got));
        if (strlen(got) >= strlen(want) && (eof || !closed)) {
            break;
        }
        usleep(1000);
    } while (util_mstime() < deadline);
    cr_assert_str_eq(got, want);
    if (closed) {
        cr_assert(eof, "the connection stayed open");
    } else {
        cr_assert(!eof, "the connection was closed");
    }
}

Test(client, an_inline_command_is_answered)
{
    send_str("PING\r\n");
    expect("+PONG\r\n", 0);
}

Test(client, an_inline_command_may_end_with_lf_alone)
{
    send_str("ECHO hi\n");
    expect("$2\r\nhi\r\n", 0);
}

Test(client, empty_inline_lines_are_skipped)
{
    send_str("\r\n\n\r\nPING\r\n");
    expect("+PONG\r\n", 0);
}

Test(client, inline_quotes_make_one_argument)
{
    send_str("ECHO \"a b\\x41\"\r\n");
    expect("$4\r\na bA\r\n", 0);
}

Test(client, a_multibulk_sent_byte_by_byte_is_answered_once_complete)
{
    const char *req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva\r\nl\r\n";
    char got[64] = "";
    size_t len = strlen(req);
    for (size_t i = 0; i + 1 < len; i++) {
        send_bytes(req + i, 1);
        loop_once();
        cr_assert_eq(drain(got, sizeof(got)), 0);
        cr_assert_str_eq(got, "", "answered after %zu of %zu bytes", i + 1, len);
    }
    send_bytes(req + len - 1, 1);
    expect("+OK\r\n", 0);
    send_str("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    expect("$5\r\nva\r\nl\r\n", 0);
}

Test(client, a_pipeline_of_both_kinds_is_answered_in_order)
{
    send_str("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO x\r\n*1\r\n$4\r\nPING\r\n");
    expect("+PONG\r\n$2\r\nhi\r\n$1\r\nx\r\n+PONG\r\n", 0);
}

Test(client, a_big_argument_arriving_in_pieces_is_whole)
{
    size_t n = 300000;
    char *v = malloc(n);
    memset(v, 'v', n);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", n);
    send_str(hdr);
    send_bytes(v, n);
    send_str("\r\n*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\n");
    expect("+OK\r\n:300000\r\n", 0);
    free(v);
}

Test(client, a_bulk_longer_than_proto_max_bulk_len_closes_the_connection)
{
    send_str("*2\r\n$4\r\nECHO\r\n$600000000\r\n");
    expect("-ERR Protocol error: invalid bulk length\r\n", 1);
}

Test(client, a_negative_multibulk_length_is_an_empty_request)
{
    send_str("*-1\r\nPING\r\n");
    expect("+PONG\r\n", 0);
}

Test(client, a_bad_multibulk_length_closes_the_connection)
{
    send_str("*x\r\n");
    expect("-ERR Protocol error: invalid multibulk length\r\n", 1);
}

Test(client, a_missing_dollar_closes_the_connection)
{
    send_str("*1\r\n:4\r\n");
    expect("-ERR Protocol error: expected '$', got ':'\r\n", 1);
}

Test(client, an_inline_request_over_64k_closes_the_connection)
{
    size_t n = 70 * 1024;
    char *line = malloc(n);
    memset(line, 'a', n);
    send_bytes(line, n);
    expect("-ERR Protocol error: too big inline request\r\n", 1);
    free(line);
}

Test(client, unbalanced_quotes_close_the_connection)
{
    send_str("ECHO \"abc\r\n");
    expect("-ERR Protocol error: unbalanced quotes in request\r\n", 1);
}

Test(client, requests_before_a_protocol_error_are_answered)
{
    send_str("PING\r\n*x\r\nPING\r\n");
    expect("+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n", 1);
}

Test(client, the_query_buffer_limit_closes_the_connection)
{
    srv.cfg.client_query_buffer_limit = 64 * 1024;
    /* A declared 1 MB argument, sent in part: more than the limit waits in
     * the query buffer. */
    send_str("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n");
    size_t n = 200 * 1024;
    char *v = malloc(n);
    memset(v, 'v', n);
    send_bytes(v, n);
    expect("", 1);
    cr_assert_eq(srv.stats.client_qbuf_limit_disconnections, 1);
    free(v);
}
