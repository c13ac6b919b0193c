/* Blocking commands multiplexed on the pooled connections
 * (src/proxy/blockmux.c), on the socketless rig: the bytes sent to the
 * node (the probe, CACHELY.BLOCK, CACHELY.UNBLOCK), pushes routed by tag
 * while in-order replies keep matching their requests, and what a refusal,
 * a lost connection or a client that leaves does to the waits. */
#include "proxy_rig.h"
#include "proxy/blockmux.h"

#include <errno.h>

static const char *const one_group[] = {"a 0-16383 127.0.0.1:7001", NULL};
static const char *const read_master[] = {"read-policy", "master", "pool-size", "1", NULL};

static const char probe[] =
    "*6\r\n$13\r\nCACHELY.BLOCK\r\n$1\r\n0\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n"
    "$19\r\ncachely-proxy:probe\r\n$1\r\n0\r\n*2\r\n$15\r\nCACHELY.UNBLOCK\r\n$1\r\n0\r\n";
/* The node's answers to it when it takes CACHELY.BLOCK: the XREAD's push
 * (tag 0, dropped), then CACHELY.UNBLOCK's :0. */
static const char probe_taken[] = ">3\r\n$13\r\ncachely-block\r\n:0\r\n*-1\r\n:0\r\n";

static struct node *na;
static struct backend *pooled;

static void
setup(void)
{
    rig_start(one_group, NULL, read_master);
    rig_probe_reply(rig_node(7001), "# Replication\r\nrole:master\r\nmaster_repl_offset:1\r\n"
                                    "# Clients\r\ntagged_waits:0\r\n");
    rig_plug_all();
    na = rig_node(7001);
    pooled = &na->pool[0]; /* pool-size 1: every RESP2 session's */
}

TestSuite(blockmux, .init = setup, .fini = rig_stop);

/* The node answers bytes on the pooled connection (one read's worth). */
static void
node_says(const char *bytes)
{
    size_t room, len = strlen(bytes);
    char *buf = backend_read_buf(pooled, &room);
    memcpy(buf, bytes, len);
    backend_read_done(pooled, (int)len);
}

/* What was sent on the pooled connection since the last call. */
static const char *
sent(void)
{
    static char out[65536];
    size_t len = pooled->out_len;
    cr_assert_lt(len, sizeof(out));
    memcpy(out, pooled->out ? pooled->out : "", len);
    out[len] = '\0';
    pooled->out_len = pooled->out_sent = 0;
    return out;
}

static const char *
block_frame(unsigned tag, const char *key)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "*5\r\n$13\r\nCACHELY.BLOCK\r\n$%d\r\n%u\r\n$5\r\nBLPOP\r\n$%zu\r\n"
             "%s\r\n$1\r\n0\r\n", tag < 10 ? 1 : tag < 100 ? 2 : 3, tag, strlen(key), key);
    return buf;
}

static const char *
push(unsigned tag, const char *reply)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), ">3\r\n$13\r\ncachely-block\r\n:%u\r\n%s", tag, reply);
    return buf;
}

Test(blockmux, the_first_blocking_command_goes_behind_the_probe_and_its_push_answers_it)
{
    struct session *s = rig_client();
    const char *cmds[] = {"BLPOP q 0", "GET k", NULL};
    rig_pipeline(s, cmds);
    char want[512];
    snprintf(want, sizeof(want), "%s%s", probe, block_frame(1, "q"));
    cr_assert_str_eq(sent(), want, "the GET waits for the BLPOP, as on one Redis connection");
    cr_assert_eq(s->blocked_on, pooled);
    cr_assert_eq(blockmux_waits(rig_px), 1);
    node_says(probe_taken);
    cr_assert(pooled->mux_ready);
    cr_assert_null(pooled->head, "no in-order reply is awaited for CACHELY.BLOCK");
    node_says(push(1, "*2\r\n$1\r\nq\r\n$1\r\nv\r\n"));
    cr_assert_str_eq(rig_output(s), "*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    cr_assert_null(s->blocked_on);
    cr_assert_eq(blockmux_waits(rig_px), 0);
    /* The session reads on (as its resumed read event does): the GET goes now. */
    session_read_done(s, -EAGAIN, s->qlen);
    cr_assert_str_eq(sent(), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

Test(blockmux, pushes_and_in_order_replies_interleave_on_one_connection)
{
    struct session *w = rig_client();
    const char *block[] = {"BLPOP q 0", NULL};
    rig_pipeline(w, block);
    node_says(probe_taken);
    sent();
    int fds[2] = {rig_pipe[0], rig_pipe[1]};
    struct session *g = rig_client();
    const char *gets[] = {"GET a", "GET b", NULL};
    rig_pipeline(g, gets);
    /* A's reply, the push, a push for a tag nobody waits on, B's reply. */
    node_says("$1\r\n1\r\n");
    node_says(push(1, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n"));
    node_says(push(77, "*-1\r\n"));
    node_says("$1\r\n2\r\n");
    cr_assert_str_eq(rig_output(g), "$1\r\n1\r\n$1\r\n2\r\n");
    cr_assert_str_eq(rig_output(w), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    close(fds[0]);
}

Test(blockmux, a_client_that_leaves_withdraws_its_wait)
{
    struct session *s = rig_client();
    const char *cmds[] = {"BLPOP q 0", NULL};
    rig_pipeline(s, cmds);
    node_says(probe_taken);
    sent();
    session_close(s);
    session_free_closed(rig_px);
    cr_assert_str_eq(sent(), "*2\r\n$15\r\nCACHELY.UNBLOCK\r\n$1\r\n1\r\n");
    cr_assert_eq(blockmux_waits(rig_px), 0);
    node_says(":1\r\n");
    cr_assert_null(pooled->head);
    node_says(push(1, "*-1\r\n")); /* had it been served meanwhile: dropped */
    cr_assert_eq(pooled->fd >= 0, 1, "the connection stays in step");
}

Test(blockmux, a_lost_connection_answers_every_wait_on_it)
{
    struct session *s = rig_client();
    const char *cmds[] = {"BLPOP q 0", NULL};
    rig_pipeline(s, cmds);
    node_says(probe_taken);
    backend_read_done(pooled, 0);
    cr_assert_str_eq(rig_output(s), "-ERR cachely-proxy: connection to 127.0.0.1:7001 lost "
                                    "(closed by the node); the request may or may not have "
                                    "been executed\r\n");
    cr_assert_null(s->blocked_on);
    cr_assert_eq(blockmux_waits(rig_px), 0);
    cr_assert_eq(na->mux_waits, 0);
}

Test(blockmux, a_refused_probe_sends_the_command_on_a_dedicated_connection)
{
    struct session *s = rig_client();
    const char *cmds[] = {"BLPOP q 0", NULL};
    rig_pipeline(s, cmds);
    sent();
    /* The probe's error, CACHELY.UNBLOCK's, then the BLPOP's own. */
    node_says("-NOPERM this user has no permissions to run the 'cachely.block' command\r\n"
              "-NOPERM this user has no permissions to run the 'cachely.unblock' command\r\n"
              "-NOPERM this user has no permissions to run the 'cachely.block' command\r\n");
    cr_assert_str_eq(rig_output(s), "", "not an error: it waits elsewhere");
    cr_assert(na->mux_refused);
    cr_assert_eq(blockmux_waits(rig_px), 0);
    cr_assert_not_null(s->blocked_on);
    cr_assert(s->blocked_on->dedicated, "on one of the node's blocking connections");
    cr_assert_null(pooled->head, "nothing left in flight on the pooled one");
}

Test(blockmux, many_waits_answered_in_any_order_find_their_sessions)
{
    /* Past the table's first size (64) and through its tombstones. */
    enum { N = 150 };
    struct session *ss[N];
    int rd[N];
    for (int i = 0; i < N; i++) {
        ss[i] = rig_client();
        rd[i] = rig_pipe[0];
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "BLPOP q%d 0", i);
        const char *cmds[] = {cmd, NULL};
        rig_pipeline(ss[i], cmds);
        if (i == 0) {
            node_says(probe_taken);
        }
    }
    cr_assert_eq(blockmux_waits(rig_px), N);
    cr_assert_eq(na->mux_waits, N);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < N; k++) {
            int i = (k * 7 + round) % N; /* 7 is prime to 150: each once */
            char reply[64];
            snprintf(reply, sizeof(reply), "*2\r\n$%d\r\nq%d\r\n$1\r\n%d\r\n",
                     i < 10 ? 2 : i < 100 ? 3 : 4, i, round);
            node_says(push((unsigned)(1 + round * N + i), reply));
            cr_assert_str_eq(rig_output(ss[i]) + (strlen(rig_output(ss[i])) - strlen(reply)),
                             reply, "session %d, round %d", i, round);
            cr_assert_null(ss[i]->blocked_on);
        }
        cr_assert_eq(blockmux_waits(rig_px), 0);
        if (round < 2) {
            for (int i = 0; i < N; i++) {
                char cmd[32];
                snprintf(cmd, sizeof(cmd), "BLPOP q%d 0", i);
                const char *cmds[] = {cmd, NULL};
                rig_pipeline(ss[i], cmds);
            }
        }
    }
    for (int i = 0; i < N; i++) {
        close(rd[i]);
    }
    rig_pipe[0] = -1;
}
