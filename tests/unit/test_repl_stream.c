/* The replication stream and its backlog (repl_stream.c), with a real
 * server state: random writes are checked against a reference copy of the
 * whole stream, so every partial resync the backlog can serve must give
 * exactly the bytes a replica missed, across wrap-arounds and writes larger
 * than the backlog.  Also: SELECT is streamed when the database changes and
 * only then, and nothing is streamed when nobody can use it. */
#include <criterion/criterion.h>

#include "core/command.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/options.h"
#include "node/repl.h"
#include "node/repl_int.h"
#include "node/server.h"

#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct server srv;
static int peer = -1;          /* the test's end of the replica's socket */
static struct client *replica; /* a client the backlog is sent to */

static void
setup(void)
{
    log_setup("/dev/null", LOG_LEVEL_ERROR);
    command_setup();
    memset(&srv, 0, sizeof(srv));
    srv.opts.defs = node_options;
    srv.opts.values = &srv.cfg;
    cr_assert_eq(option_defaults(&srv.opts), 0);
    keyspace_init(&srv.ks, (int)srv.cfg.databases);
    srv.opts.ctx = &srv;
    server_apply_config(&srv);
    srv.base = event_base_new();
    cr_assert_not_null(srv.base);
    repl_setup(&srv);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    /* Room for the largest backlog the tests send in one go. */
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    peer = sv[0];
    replica = client_create(&srv, conn_plain_create(sv[1], "unix"));
    cr_assert_not_null(replica);
}

static void
teardown(void)
{
    while (srv.clients) {
        struct client *c = srv.clients;
        client_destroy(&c);
    }
    client_free_pending(&srv);
    close(peer);
    repl_teardown(&srv);
    event_base_free(srv.base);
    keyspace_destroy(&srv.ks);
    command_teardown();
    option_free_values(&srv.opts);
}

/* What the backlog sends from stream offset `from`, as the replica gets it;
 * *len is its length. */
static char *
backlog_from(long long from, size_t *len)
{
    repl_backlog_send_from(&srv.repl, replica, from);
    client_queue_write(replica);
    client_flush_pending(&srv);
    size_t cap = srv.repl.backlog_size + 1, n = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    ssize_t r;
    while (n < cap && (r = read(peer, out + n, cap - n)) > 0) {
        n += (size_t)r;
    }
    *len = n;
    return out;
}

TestSuite(repl_stream, .init = setup, .fini = teardown);

/* A backlog of 1,000 bytes takes 3,000 random writes of 0 to 1,500 bytes;
 * after each, its window is the stream's last min(total, 1000) bytes and a
 * resync from any offset in it (and from just past its end) gives the
 * stream's bytes from there on. */
Test(repl_stream, backlog_serves_exactly_the_missed_bytes)
{
    const size_t size = 1000;
    srv.cfg.repl_backlog_size = (long long)size;
    repl_backlog_create(&srv);
    struct repl *r = &srv.repl;
    cr_assert_eq(r->backlog_size, size);

    long long base = r->offset; /* the stream's bytes start after this */
    size_t total = 0, cap = 1 << 22;
    char *ref = malloc(cap);
    char chunk[1500];
    cr_assert_not_null(ref);
    srand(12345);
    for (int step = 0; step < 3000; step++) {
        size_t n = (size_t)(rand() % 4 == 0 ? rand() % 1500 : rand() % 120);
        for (size_t i = 0; i < n; i++) {
            chunk[i] = (char)('a' + (total + i) % 23 + (rand() % 3));
        }
        cr_assert_lt(total + n, cap);
        memcpy(ref + total, chunk, n);
        total += n;
        repl_stream_write(&srv, chunk, n);

        size_t held = total < size ? total : size;
        cr_assert_eq(r->offset, base + (long long)total, "step %d", step);
        cr_assert_eq(r->backlog_histlen, held, "step %d", step);
        cr_assert_eq(repl_backlog_first_offset(r), r->offset - (long long)held + 1);

        if (step % 7 != 0) {
            continue;
        }
        /* the window's first byte, a random one, and just past the end */
        long long first = repl_backlog_first_offset(r);
        long long froms[3] = {first, first + (held ? rand() % (long long)held : 0),
                              r->offset + 1};
        for (int k = 0; k < 3; k++) {
            size_t got_len;
            char *got = backlog_from(froms[k], &got_len);
            size_t want_at = (size_t)(froms[k] - base - 1);
            size_t want_len = total - want_at;
            cr_assert_eq(got_len, want_len, "step %d from %lld", step, froms[k]);
            cr_assert(memcmp(got, ref + want_at, want_len) == 0, "step %d from %lld", step,
                      froms[k]);
            free(got);
        }
    }
    free(ref);
}

/* The stream names the database only when it changes, and a new backlog
 * (a new history) names it again. */
Test(repl_stream, select_streamed_when_the_database_changes)
{
    srv.cfg.repl_backlog_size = 4096;
    repl_backlog_create(&srv);
    struct resp_arg set[3] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    repl_feed_command(&srv, 0, 3, set);
    repl_feed_command(&srv, 0, 3, set);
    repl_feed_command(&srv, 3, 3, set);
    repl_feed_encoded(&srv, 3, "*1\r\n$4\r\nPING\r\n", 14);
    repl_feed_encoded(&srv, 0, "*1\r\n$4\r\nPING\r\n", 14);

    size_t len;
    char *got = backlog_from(repl_backlog_first_offset(&srv.repl), &len);
    const char *want = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                       "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                       "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                       "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
                       "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                       "*1\r\n$4\r\nPING\r\n"
                       "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                       "*1\r\n$4\r\nPING\r\n";
    cr_assert_eq(len, strlen(want));
    cr_assert(memcmp(got, want, len) == 0, "got %.*s", (int)len, got);
    free(got);

    /* a new history does not assume the replica's database */
    repl_backlog_free(&srv.repl);
    repl_backlog_create(&srv);
    repl_feed_command(&srv, 0, 3, set);
    got = backlog_from(repl_backlog_first_offset(&srv.repl), &len);
    cr_assert(len > 12 && memcmp(got, "*2\r\n$6\r\nSELECT", 14) == 0);
    free(got);
}

/* With no backlog and no AOF nobody can use the stream: nothing is encoded
 * and the offset stays; a replica never feeds its own writes. */
Test(repl_stream, nothing_streamed_when_nobody_can_use_it)
{
    struct resp_arg set[3] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    cr_assert_null(srv.repl.backlog);
    long long before = srv.repl.offset;
    repl_feed_command(&srv, 0, 3, set);
    repl_feed_raw(&srv, "*1\r\n$4\r\nPING\r\n", 14);
    cr_assert_eq(srv.repl.offset, before);

    srv.cfg.repl_backlog_size = 4096;
    repl_backlog_create(&srv);
    srv.repl.master_host = strdup("127.0.0.1"); /* a replica now */
    repl_feed_command(&srv, 0, 3, set);
    cr_assert_eq(srv.repl.offset, before);
    free(srv.repl.master_host);
    srv.repl.master_host = NULL;
    repl_feed_command(&srv, 0, 3, set);
    cr_assert_gt(srv.repl.offset, before);
}
