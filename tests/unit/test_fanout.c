/* Requests that span groups (src/proxy/fanout.c): a multi-key command is
 * split by the group of each key, each part carrying its keys in the
 * client's order; the parts' replies are merged back into the client's
 * order (MGET), summed (DEL, EXISTS) or reduced to +OK (MSET); an error from
 * one group is the reply.  The groups' masters answer when the test says. */
#include "proxy_rig.h"

#include <stdarg.h>

static const char *const two_groups[] = {"a 0-8191 127.0.0.1:7001",
                                         "b 8192-16383 127.0.0.1:7002", NULL};
static const char *const read_master[] = {"read-policy", "master", NULL};

static char ka1[32], ka2[32], kb1[32], kb2[32];
static struct session *s;
static struct node *na, *nb;

static void
setup(void)
{
    rig_start(two_groups, NULL, read_master);
    rig_master_up(7001);
    rig_master_up(7002);
    rig_plug_all();
    na = rig_node(7001);
    nb = rig_node(7002);
    rig_key(ka1, sizeof(ka1), "a", 0);
    rig_key(ka2, sizeof(ka2), "a", 1);
    rig_key(kb1, sizeof(kb1), "b", 0);
    rig_key(kb2, sizeof(kb2), "b", 1);
    s = rig_client();
}

TestSuite(fanout, .init = setup, .fini = rig_stop);

/* The multibulk frame of words (split on spaces). */
static const char *
frame(const char *words)
{
    static char out[1024];
    char copy[512], *save = NULL;
    struct resp_arg argv[32];
    size_t argc = 0, len;
    snprintf(copy, sizeof(copy), "%s", words);
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        argv[argc].ptr = w;
        argv[argc++].len = strlen(w);
    }
    char *f = fanout_encode(argc, argv, &len);
    memcpy(out, f, len);
    out[len] = '\0';
    mem_free(f);
    return out;
}

static void
send1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
send1(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    const char *cmds[] = {cmd, NULL};
    rig_pipeline(s, cmds);
}

Test(fanout, each_group_gets_its_own_keys_in_the_clients_order)
{
    char want[256];
    send1("MGET %s %s %s %s", ka1, kb1, ka2, kb2);
    snprintf(want, sizeof(want), "MGET %s %s", ka1, ka2);
    cr_assert_str_eq(rig_sent(na), frame(want));
    snprintf(want, sizeof(want), "MGET %s %s", kb1, kb2);
    cr_assert_str_eq(rig_sent(nb), frame(want));
    cr_assert_eq(rig_px->fanouts, 1);
}

Test(fanout, mget_values_come_back_in_the_clients_key_order)
{
    /* Not alternating: a merge by part and position in turn would pass. */
    send1("MGET %s %s %s %s", kb1, ka1, ka2, kb2);
    rig_answer(nb, "*2\r\n$3\r\nvb1\r\n$-1\r\n");
    cr_assert_str_eq(rig_output(s), "", "one part is not the reply");
    rig_answer(na, "*2\r\n$3\r\nva1\r\n$3\r\nva2\r\n");
    cr_assert_str_eq(rig_output(s), "*4\r\n$3\r\nvb1\r\n$3\r\nva1\r\n$3\r\nva2\r\n$-1\r\n");
}

Test(fanout, mset_keeps_each_value_with_its_key_and_answers_ok_once)
{
    char want[256];
    send1("MSET %s 1 %s 2 %s 3", kb1, ka1, kb2);
    snprintf(want, sizeof(want), "MSET %s 2", ka1);
    cr_assert_str_eq(rig_sent(na), frame(want));
    snprintf(want, sizeof(want), "MSET %s 1 %s 3", kb1, kb2);
    cr_assert_str_eq(rig_sent(nb), frame(want));
    rig_answer(na, "+OK\r\n");
    rig_answer(nb, "+OK\r\n");
    cr_assert_str_eq(rig_output(s), "+OK\r\n");
}

Test(fanout, del_and_exists_sum_the_groups_counts)
{
    send1("DEL %s %s %s", ka1, kb1, kb2);
    rig_answer(na, ":1\r\n");
    rig_answer(nb, ":2\r\n");
    cr_assert_str_eq(rig_output(s), ":3\r\n");
    send1("EXISTS %s %s %s", kb1, ka1, ka1);
    rig_answer(nb, ":0\r\n");
    rig_answer(na, ":2\r\n");
    cr_assert_str_eq(rig_output(s), ":3\r\n:2\r\n");
}

Test(fanout, an_error_from_one_group_is_the_reply)
{
    send1("MGET %s %s", ka1, kb1);
    rig_answer(na, "*1\r\n$3\r\nva1\r\n");
    rig_answer(nb, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    cr_assert_str_eq(rig_output(s),
                     "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

Test(fanout, a_group_whose_connection_is_lost_fails_the_request)
{
    send1("DEL %s %s", ka1, kb1);
    rig_answer(na, ":1\r\n");
    rig_lose(nb);
    cr_assert_str_eq(rig_output(s), "-ERR cachely-proxy: connection to 127.0.0.1:7002 lost "
                                    "(closed by the node); the request may or may not have "
                                    "been executed\r\n");
}

Test(fanout, a_split_request_keeps_its_place_in_the_pipeline)
{
    char get[64], mget[128];
    snprintf(get, sizeof(get), "GET %s", kb2);
    snprintf(mget, sizeof(mget), "MGET %s %s", ka1, kb1);
    const char *cmds[] = {get, mget, "PING", NULL};
    rig_pipeline(s, cmds);
    /* b answers its GET, then its MGET part; a answers last. */
    rig_answer(nb, "$2\r\ng1\r\n*1\r\n$3\r\nvb1\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\ng1\r\n");
    rig_answer(na, "*1\r\n$3\r\nva1\r\n");
    cr_assert_str_eq(rig_output(s), "$2\r\ng1\r\n*2\r\n$3\r\nva1\r\n$3\r\nvb1\r\n+PONG\r\n");
}

Test(fanout, keys_in_one_group_are_not_split)
{
    char want[128];
    send1("MGET %s %s", ka1, ka2);
    snprintf(want, sizeof(want), "MGET %s %s", ka1, ka2);
    cr_assert_str_eq(rig_sent(na), frame(want));
    cr_assert_null(rig_busy(nb));
    cr_assert_eq(rig_px->fanouts, 0);
}

Test(fanout, a_command_that_cannot_be_split_is_refused_with_crossslot)
{
    send1("RENAME %s %s", ka1, kb1);
    cr_assert_str_eq(rig_output(s), "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    cr_assert_null(rig_busy(na));
    cr_assert_null(rig_busy(nb));
}

Test(fanout, dbsize_goes_to_every_group_and_is_summed)
{
    send1("DBSIZE");
    cr_assert_str_eq(rig_sent(na), frame("DBSIZE"));
    cr_assert_str_eq(rig_sent(nb), frame("DBSIZE"));
    rig_answer(nb, ":5\r\n");
    rig_answer(na, ":7\r\n");
    cr_assert_str_eq(rig_output(s), ":12\r\n");
}

Test(fanout, keys_concatenates_every_groups_names)
{
    send1("KEYS *");
    rig_answer(na, "*1\r\n$2\r\nxa\r\n");
    rig_answer(nb, "*2\r\n$2\r\nxb\r\n$2\r\nyb\r\n");
    cr_assert_str_eq(rig_output(s), "*3\r\n$2\r\nxa\r\n$2\r\nxb\r\n$2\r\nyb\r\n");
}

/* A group without a master gets no part; the client hears which. */
static void
setup_no_master_b(void)
{
    rig_start(two_groups, NULL, read_master);
    rig_master_up(7001);
    rig_plug_all();
    na = rig_node(7001);
    nb = rig_node(7002);
    rig_key(ka1, sizeof(ka1), "a", 0);
    rig_key(kb1, sizeof(kb1), "b", 0);
    s = rig_client();
}

TestSuite(fanout_partial, .init = setup_no_master_b, .fini = rig_stop);

Test(fanout_partial, a_group_with_no_master_is_named_in_the_error)
{
    send1("DEL %s %s", ka1, kb1);
    rig_answer(na, ":1\r\n");
    cr_assert_str_eq(rig_output(s), "-ERR cachely-proxy: group b is not reachable\r\n");
}

Test(fanout, the_parts_of_a_client_that_left_are_answered_into_the_void)
{
    send1("MGET %s %s", ka1, kb1);
    session_close(s);
    session_free_closed(rig_px);
    s = NULL;
    /* The merged reply has no session to go to: it and the parent are
     * freed (ASan checks) without touching the freed session. */
    rig_answer(na, "*1\r\n$3\r\nva1\r\n");
    rig_answer(nb, "*1\r\n$3\r\nvb1\r\n");
    cr_assert_null(rig_busy(na));
    cr_assert_null(rig_busy(nb));
    cr_assert_null(rig_px->sessions);
}
