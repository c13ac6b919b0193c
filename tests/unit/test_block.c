/* The blocking module with a real server state and real clients: each
 * client is a cachely client on one end of a socketpair, the test writes
 * commands into the other end and runs the loop's steps (read callbacks,
 * block_before_sleep, the reply flush) as main.c does.  Covers the four
 * kinds of wait: on keys, in WAIT, held by CLIENT PAUSE, and tagged
 * (CACHELY.BLOCK). */
#include <criterion/criterion.h>

#include "node_rig.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static struct server srv;

#define MAX_PEERS 4
/* The test's ends of the socketpairs, and the server's clients. */
static int peer[MAX_PEERS];
static struct client *cl[MAX_PEERS];

static void
setup(void)
{
    node_rig_start(&srv);
    for (int i = 0; i < MAX_PEERS; i++) {
        cl[i] = node_rig_client(&srv, &peer[i]);
    }
}

static void
teardown(void)
{
    for (int i = 0; i < MAX_PEERS; i++) {
        close(peer[i]);
    }
    node_rig_stop(&srv);
}

static void
loop_once(void)
{
    node_rig_loop_once(&srv);
}

/* Send one command (words separated by spaces) from peer i. */
static void
send_cmd(int i, const char *line)
{
    char buf[512], copy[256];
    const char *words[16];
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *w = strtok(copy, " "); w != NULL && n < 16; w = strtok(NULL, " ")) {
        words[n++] = w;
    }
    int len = snprintf(buf, sizeof(buf), "*%d\r\n", n);
    for (int k = 0; k < n; k++) {
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "$%zu\r\n%s\r\n",
                        strlen(words[k]), words[k]);
    }
    cr_assert_eq(write(peer[i], buf, (size_t)len), len);
}

/* Everything peer i received so far (NUL-terminated, static). */
static const char *
received(int i)
{
    static char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(peer[i], buf + len, sizeof(buf) - 1 - len)) > 0) {
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Turn the loop until peer i received exactly want, for up to ms. */
static void
expect_reply(int i, const char *want, int ms)
{
    char got[4096] = "";
    long long deadline = util_mstime() + ms;
    do {
        loop_once();
        strncat(got, received(i), sizeof(got) - strlen(got) - 1);
        if (strlen(got) >= strlen(want)) {
            break;
        }
        usleep(1000);
    } while (util_mstime() < deadline);
    cr_assert_str_eq(got, want);
}

/* Turn the loop for ms and check peer i received nothing. */
static void
expect_silence(int i, int ms)
{
    long long deadline = util_mstime() + ms;
    while (util_mstime() < deadline) {
        loop_once();
        usleep(1000);
    }
    cr_assert_str_eq(received(i), "");
}

TestSuite(block, .init = setup, .fini = teardown);

/* ---- WAIT ----------------------------------------------------------------- */

Test(block, wait_answers_its_count_at_the_deadline)
{
    send_cmd(0, "WAIT 1 60");
    expect_silence(0, 20);
    cr_assert_eq(block_ack_waiters(&srv), 1);
    cr_assert_eq(block_timed_clients(&srv), 1);
    cr_assert(cl[0]->flags & CLIENT_BLOCKED);
    expect_reply(0, ":0\r\n", 2000);
    cr_assert_eq(block_ack_waiters(&srv), 0);
    cr_assert_eq(block_timed_clients(&srv), 0);
    cr_assert_eq(block_blocked_clients(&srv), 0);
    cr_assert_not(cl[0]->flags & CLIENT_BLOCKED);
}

Test(block, commands_pipelined_behind_a_wait_run_after_it)
{
    send_cmd(0, "WAIT 1 0");
    send_cmd(0, "SET k v");
    expect_silence(0, 20);
    cr_assert_eq(db_lookup(&srv.ks.dbs[0], "k", 1, 0), NULL);
    cr_assert_eq(block_unblock(cl[0], 0), 1);
    expect_reply(0, ":0\r\n+OK\r\n", 2000);
}

Test(block, client_unblock_answers_a_wait_with_its_count_or_an_error)
{
    send_cmd(0, "WAIT 2 0");
    expect_silence(0, 10);
    cr_assert_eq(block_unblock(cl[0], 0), 1);
    expect_reply(0, ":0\r\n", 2000);
    cr_assert_eq(block_unblock(cl[0], 0), 0); /* no longer waiting */
    send_cmd(0, "WAIT 2 0");
    expect_silence(0, 10);
    cr_assert_eq(block_unblock(cl[0], 1), 1);
    expect_reply(0, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", 2000);
    cr_assert_eq(block_blocked_clients(&srv), 0);
}

Test(block, a_wait_inside_multi_answers_at_once)
{
    send_cmd(0, "MULTI");
    send_cmd(0, "WAIT 1 0");
    send_cmd(0, "EXEC");
    expect_reply(0, "+OK\r\n+QUEUED\r\n*1\r\n:0\r\n", 2000);
    cr_assert_eq(block_ack_waiters(&srv), 0);
}

Test(block, a_client_gone_while_in_wait_leaves_nothing)
{
    send_cmd(0, "WAIT 1 5000");
    send_cmd(1, "WAIT 1 0");
    expect_silence(0, 10);
    cr_assert_eq(block_ack_waiters(&srv), 2);
    client_destroy(&cl[0]);
    cr_assert_eq(block_ack_waiters(&srv), 1);
    cr_assert_eq(block_timed_clients(&srv), 0);
    client_destroy(&cl[1]);
    cr_assert_eq(block_ack_waiters(&srv), 0);
    cr_assert_eq(block_blocked_clients(&srv), 0);
    loop_once();
}

/* ---- CLIENT PAUSE holds ------------------------------------------------------- */

Test(block, held_clients_resume_in_the_order_they_were_held)
{
    pause_start(&srv, PAUSE_WRITE, util_mstime() + 60000);
    send_cmd(0, "SET k a");
    expect_silence(0, 10);
    send_cmd(1, "APPEND k b");
    send_cmd(2, "GET k"); /* reads are not held */
    expect_reply(2, "$-1\r\n", 2000);
    expect_silence(1, 10);
    cr_assert_eq(block_held_clients(&srv), 2);
    cr_assert(cl[0]->flags & CLIENT_PAUSED);
    /* CLIENT UNBLOCK does not release a held client. */
    cr_assert_eq(block_unblock(cl[0], 0), 0);
    pause_end(&srv);
    expect_reply(0, "+OK\r\n", 2000);
    expect_reply(1, ":2\r\n", 2000);
    send_cmd(2, "GET k");
    expect_reply(2, "$2\r\nab\r\n", 2000);
    cr_assert_eq(block_held_clients(&srv), 0);
}

Test(block, a_held_client_gone_leaves_nothing_and_its_write_never_runs)
{
    pause_start(&srv, PAUSE_WRITE, util_mstime() + 60000);
    send_cmd(0, "SET k a");
    send_cmd(1, "SET j b");
    expect_silence(0, 10);
    cr_assert_eq(block_held_clients(&srv), 2);
    client_destroy(&cl[0]);
    cr_assert_eq(block_held_clients(&srv), 1);
    pause_end(&srv);
    expect_reply(1, "+OK\r\n", 2000);
    cr_assert_eq(db_lookup(&srv.ks.dbs[0], "k", 1, 0), NULL);
    cr_assert_neq(db_lookup(&srv.ks.dbs[0], "j", 1, 0), NULL);
}

/* ---- keys -------------------------------------------------------------------- */

Test(block, a_written_key_serves_its_waiters_longest_waiting_first)
{
    send_cmd(0, "BLPOP q 0");
    expect_silence(0, 10);
    send_cmd(1, "BLPOP q 0");
    expect_silence(1, 10);
    cr_assert_eq(block_blocking_keys(&srv), 1);
    cr_assert_eq(block_blocked_clients(&srv), 2);
    send_cmd(2, "RPUSH q x y");
    expect_reply(2, ":2\r\n", 2000);
    expect_reply(0, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n", 2000);
    expect_reply(1, "*2\r\n$1\r\nq\r\n$1\r\ny\r\n", 2000);
    cr_assert_eq(block_blocking_keys(&srv), 0);
    cr_assert_eq(block_blocked_clients(&srv), 0);
}

Test(block, a_key_wait_times_out_and_can_be_unblocked)
{
    send_cmd(0, "BLPOP q 0.05");
    expect_silence(0, 10);
    cr_assert_eq(block_timed_clients(&srv), 1);
    expect_reply(0, "*-1\r\n", 2000);
    send_cmd(0, "BLPOP q 0");
    expect_silence(0, 10);
    cr_assert_eq(block_unblock(cl[0], 1), 1);
    expect_reply(0, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", 2000);
    cr_assert_eq(block_blocking_keys(&srv), 0);
}

/* ---- tagged waits (CACHELY.BLOCK) ----------------------------------------------- */

#define PUSH(tag) ">3\r\n$13\r\ncachely-block\r\n:" tag "\r\n"

Test(block, a_tagged_wait_leaves_its_connection_running_and_pushes_when_served)
{
    send_cmd(0, "CACHELY.BLOCK 7 BLPOP q 0");
    send_cmd(0, "PING");
    expect_reply(0, "+PONG\r\n", 2000);
    cr_assert_eq(block_tagged_waits(&srv), 1);
    cr_assert_eq(block_tagged_blocked(&srv), 1);
    cr_assert_eq(block_blocking_keys(&srv), 1);
    cr_assert_not(cl[0]->flags & CLIENT_BLOCKED);
    send_cmd(1, "RPUSH q x");
    expect_reply(1, ":1\r\n", 2000);
    expect_reply(0, PUSH("7") "*2\r\n$1\r\nq\r\n$1\r\nx\r\n", 2000);
    cr_assert_eq(block_tagged_waits(&srv), 0);
    cr_assert_eq(block_blocked_clients(&srv), 0);
    cr_assert_eq(block_blocking_keys(&srv), 0);
}

Test(block, tagged_waits_go_with_their_connection_and_pop_nothing)
{
    send_cmd(0, "CACHELY.BLOCK 1 BLPOP q 0");
    send_cmd(0, "CACHELY.BLOCK 2 BLPOP q 5");
    expect_silence(0, 10);
    cr_assert_eq(block_tagged_waits(&srv), 2);
    cr_assert_eq(block_timed_clients(&srv), 1);
    close(peer[0]);
    peer[0] = -1;
    for (int i = 0; i < 20 && block_tagged_waits(&srv) > 0; i++) {
        loop_once();
        usleep(1000);
    }
    cr_assert_eq(block_tagged_waits(&srv), 0);
    cr_assert_eq(block_blocked_clients(&srv), 0);
    cr_assert_eq(block_timed_clients(&srv), 0);
    cr_assert_eq(block_blocking_keys(&srv), 0);
    send_cmd(1, "RPUSH q x");
    expect_reply(1, ":1\r\n", 2000);
    cr_assert_neq(db_lookup(&srv.ks.dbs[0], "q", 1, 0), NULL);
}

Test(block, a_tagged_wait_released_by_tag_or_dropped)
{
    send_cmd(0, "CACHELY.BLOCK 3 BLPOP q 0");
    expect_silence(0, 10);
    cr_assert_eq(block_tagged_unblock(cl[0], 4, 1), 0);
    cr_assert_eq(block_tagged_unblock(cl[0], 3, 1), 1);
    expect_reply(0, PUSH("3") "*-1\r\n", 2000);
    send_cmd(0, "CACHELY.BLOCK 3 BLPOP q 0");
    expect_silence(0, 10);
    cr_assert_eq(block_tagged_unblock(cl[0], 3, 0), 1);
    expect_silence(0, 10);
    cr_assert_eq(block_tagged_waits(&srv), 0);
    cr_assert_eq(block_blocking_keys(&srv), 0);
}
