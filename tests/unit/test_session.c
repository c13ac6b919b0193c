/* Client sessions (src/proxy/session.c) over two groups whose masters
 * answer when the test says so: replies leave in the client's request
 * order whatever order the backends answer in, a request lost with its
 * backend connection is answered in its place, and the output limit counts
 * the replies held back for order. */
#include "proxy_rig.h"

static const char *const two_groups[] = {"a 0-8191 127.0.0.1:7001",
                                         "b 8192-16383 127.0.0.1:7002", NULL};
static const char *const read_master[] = {"read-policy", "master", NULL};

static char ka[32], ka2[32], kb[32];
static struct session *s;
static struct node *na, *nb;

static void
start(const char *const *opts)
{
    rig_start(two_groups, NULL, opts);
    rig_master_up(7001);
    rig_master_up(7002);
    rig_plug_all();
    na = rig_node(7001);
    nb = rig_node(7002);
    rig_key(ka, sizeof(ka), "a", 0);
    rig_key(ka2, sizeof(ka2), "a", 1);
    rig_key(kb, sizeof(kb), "b", 0);
    s = rig_client();
}

static void
setup(void)
{
    start(read_master);
}

TestSuite(session, .init = setup, .fini = rig_stop);

/* "GET <key>" */
static const char *
get(const char *key)
{
    static char buf[4][64];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "GET %s", key);
    return buf[i];
}

Test(session, requests_go_to_the_master_of_their_keys_group)
{
    const char *cmds[] = {get(ka), get(kb), NULL};
    char want[128];
    rig_pipeline(s, cmds);
    snprintf(want, sizeof(want), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(ka), ka);
    cr_assert_str_eq(rig_sent(na), want);
    snprintf(want, sizeof(want), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(kb), kb);
    cr_assert_str_eq(rig_sent(nb), want);
    cr_assert_eq(s->pending, 2);
}

Test(session, a_later_reply_that_arrives_first_is_held_until_the_earlier_one)
{
    const char *cmds[] = {get(ka), get(kb), NULL};
    rig_pipeline(s, cmds);
    rig_answer(nb, "$2\r\nvb\r\n");
    cr_assert_str_eq(rig_output(s), "", "b's reply must wait for a's");
    cr_assert_eq(s->held, 8);
    rig_answer(na, "$2\r\nva\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\nva\r\n$2\r\nvb\r\n");
    cr_assert_eq(s->held, 0);
    cr_assert_eq(s->pending, 0);
    cr_assert_null(s->head);
}

Test(session, replies_in_order_are_released_at_once)
{
    const char *cmds[] = {get(ka), get(kb), NULL};
    rig_pipeline(s, cmds);
    rig_answer(na, "$2\r\nva\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\nva\r\n");
    rig_answer(nb, "$-1\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\nva\r\n$-1\r\n");
}

Test(session, a_reply_the_proxy_makes_itself_waits_its_turn)
{
    const char *cmds[] = {get(ka), "PING", get(kb), NULL};
    rig_pipeline(s, cmds);
    cr_assert_str_eq(rig_output(s), "", "PONG must not overtake GET");
    rig_answer(nb, ":1\r\n");
    cr_assert_str_eq(rig_output(s), "");
    rig_answer(na, "$2\r\nva\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\nva\r\n+PONG\r\n:1\r\n");
}

Test(session, a_request_lost_with_its_connection_is_answered_in_its_place)
{
    const char *cmds[] = {get(ka), get(kb), get(ka2), NULL};
    static const char lost[] = "-ERR cachely-proxy: connection to 127.0.0.1:7001 lost "
                               "(closed by the node); the request may or may not have been "
                               "executed\r\n";
    char want[512];
    rig_pipeline(s, cmds);
    rig_answer(nb, "$2\r\nvb\r\n");
    rig_lose(na);
    snprintf(want, sizeof(want), "%s$2\r\nvb\r\n%s", lost, lost);
    cr_assert_str_eq(rig_output(s), want);
    cr_assert_eq(s->pending, 0);
    cr_assert_null(rig_busy(na), "nothing may stay in flight on a closed connection");
    cr_assert_eq(na->errors, 2);
}

Test(session, a_connection_lost_before_it_opened_says_the_request_did_not_run)
{
    const char *cmds[] = {get(ka), NULL};
    rig_pipeline(s, cmds);
    rig_busy(na)->connected = 0; /* the connect never finished */
    rig_lose(na);
    cr_assert_str_eq(rig_output(s), "-ERR cachely-proxy: could not connect to 127.0.0.1:7001 "
                                    "(closed by the node); the request was not executed\r\n");
}

Test(session, a_reply_for_a_client_that_left_goes_nowhere)
{
    const char *cmds[] = {get(ka), NULL};
    rig_pipeline(s, cmds);
    session_close(s);
    session_free_closed(rig_px);
    s = NULL;
    cr_assert_null(rig_px->sessions);
    /* The orphaned request is still in flight; its reply must be dropped
     * (and freed: ASan checks) without touching the freed session. */
    rig_answer(na, "$2\r\nva\r\n");
    cr_assert_null(rig_busy(na));
}

/* ---- output limit ---------------------------------------------------------- */

static void
setup_limit(void)
{
    static const char *const opts[] = {"read-policy", "master", "client-output-buffer-limit",
                                       "normal 64 0 0", NULL};
    start(opts);
}

TestSuite(session_limit, .init = setup_limit, .fini = rig_stop);

static char big_reply[128];

static const char *
big(void)
{
    char body[101];
    memset(body, 'x', 100);
    body[100] = '\0';
    snprintf(big_reply, sizeof(big_reply), "$100\r\n%s\r\n", body);
    return big_reply;
}

Test(session_limit, replies_held_for_order_count_against_the_output_limit)
{
    const char *cmds[] = {get(ka), get(kb), NULL};
    rig_pipeline(s, cmds);
    rig_answer(nb, big());
    cr_assert(s->flags & SESSION_CLOSING, "106 bytes held is over a 64-byte hard limit");
    cr_assert_eq(rig_px->obuf_limit_kills, 1);
    /* The earlier reply still arrives: it is dropped with the session. */
    rig_answer(na, "$2\r\nva\r\n");
    cr_assert_eq(rig_px->obuf_limit_kills, 1);
}

Test(session_limit, unwritten_output_counts_against_the_output_limit)
{
    const char *cmds[] = {get(ka), NULL};
    rig_pipeline(s, cmds);
    rig_answer(na, big());
    cr_assert(s->flags & SESSION_CLOSING);
    cr_assert_eq(rig_px->obuf_limit_kills, 1);
}

Test(session_limit, replies_under_the_limit_keep_the_client)
{
    const char *cmds[] = {get(ka), get(kb), NULL};
    rig_pipeline(s, cmds);
    rig_answer(nb, "$10\r\n0123456789\r\n");
    rig_answer(na, "$10\r\n0123456789\r\n");
    cr_assert_not(s->flags & SESSION_CLOSING);
    cr_assert_eq(rig_px->obuf_limit_kills, 0);
    cr_assert_eq(strlen(rig_output(s)), 34);
}

/* ---- a switchover under a pipeline ------------------------------------------- */

static void
setup_switch(void)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", read_master);
    rig_master_up(7001);
    rig_replica_up(7002, 7001, 1000);
    rig_plug_all();
    na = rig_node(7001);
    nb = rig_node(7002);
    s = rig_client();
}

TestSuite(session_switch, .init = setup_switch, .fini = rig_stop);

Test(session_switch, a_write_refused_by_a_demoted_master_is_resent_to_the_new_one_in_its_place)
{
    const char *cmds[] = {"SET k0 v", "PING", NULL};
    rig_pipeline(s, cmds);
    topology_set_master(rig_px, &rig_px->groups[0], nb, 1); /* 7001 stays up */
    rig_answer(na, "-READONLY You can't write against a read only replica.\r\n");
    cr_assert_str_eq(rig_output(s), "", "the refusal is not the reply");
    cr_assert_str_eq(rig_sent(nb), "*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\n");
    cr_assert_eq(rig_px->writes_redirected, 1);
    rig_answer(nb, "+OK\r\n");
    cr_assert_str_eq(rig_output(s), "+OK\r\n+PONG\r\n");
}

Test(session_switch, a_readonly_refusal_from_the_current_master_is_the_reply)
{
    const char *cmds[] = {"SET k0 v", NULL};
    rig_pipeline(s, cmds);
    rig_answer(na, "-READONLY You can't write against a read only replica.\r\n");
    cr_assert_str_eq(rig_output(s), "-READONLY You can't write against a read only replica.\r\n");
    cr_assert_eq(rig_px->writes_redirected, 0);
}
