#include "core/alloc.h"
#include "core/command.h"
#include "proxy/cursor.h"
#include "proxy/proxy.h"
#include "proxy/route.h"
#include "proxy/session.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum route_kind
route_of(const char *name)
{
    const struct command *cmd = command_lookup(name, strlen(name));
    cr_assert_not_null(cmd, "command %s", name);
    return route_classify(cmd);
}

static void
setup(void)
{
    command_setup();
}

TestSuite(route, .init = setup);

Test(route, writes_go_to_the_master)
{
    const char *writes[] = {"set", "incr", "del", "mset", "expire", "getdel", "flushdb",
                            "append", "setex", "rename"};
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        cr_assert_eq(route_of(writes[i]), ROUTE_MASTER, "%s", writes[i]);
    }
}

Test(route, reads_follow_the_read_policy)
{
    const char *reads[] = {"get", "mget", "exists", "ttl", "strlen", "getrange", "scan",
                           "keys", "type", "dbsize", "command", "time"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        cr_assert_eq(route_of(reads[i]), ROUTE_READ, "%s", reads[i]);
    }
}

Test(route, connection_state_is_answered_by_the_proxy)
{
    const char *local[] = {"ping", "echo", "quit", "reset", "auth", "hello", "select",
                           "client", "info", "role"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        cr_assert_eq(route_of(local[i]), ROUTE_LOCAL, "%s", local[i]);
    }
}

Test(route, pubsub_is_answered_by_the_proxy)
{
    /* Subscriptions live in the proxy (which subscribes on the masters over
     * its own links): none may reach a shared backend connection. */
    const char *local[] = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                           "ssubscribe", "sunsubscribe", "pubsub"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        cr_assert_eq(route_of(local[i]), ROUTE_LOCAL, "%s", local[i]);
    }
}

Test(route, monitor_is_answered_by_the_proxy)
{
    /* MONITOR is admin on the node; through the proxy it is its own stream. */
    cr_assert_eq(route_of("monitor"), ROUTE_LOCAL);
}

Test(route, config_and_acl_are_the_proxys_own)
{
    /* config_cmd.c answers CONFIG for the proxy's options, access.c ACL
     * for its users: neither reaches a node. */
    cr_assert_eq(route_of("config"), ROUTE_LOCAL);
    cr_assert_eq(route_of("acl"), ROUTE_LOCAL);
}

Test(route, publish_is_sent_by_the_proxy)
{
    /* nodesub.c sends it to the master and corrects the node's count. */
    cr_assert_eq(route_of("publish"), ROUTE_LOCAL);
    cr_assert_eq(route_of("spublish"), ROUTE_LOCAL);
}

Test(route, node_administration_and_connection_bound_commands_are_refused)
{
    const char *refused[] = {"wait", "debug", "shutdown", "replicaof", "psync",
                             "move", "swapdb", "save", "slowlog"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        cr_assert_eq(route_of(refused[i]), ROUTE_REFUSE, "%s", refused[i]);
    }
}

Test(route, every_command_has_a_route)
{
    for (size_t i = 0; i < command_count(); i++) {
        enum route_kind k = route_classify(command_at(i));
        cr_assert(k >= ROUTE_LOCAL && k <= ROUTE_REFUSE, "%s", command_at(i)->name);
    }
}

Test(route, cursor_round_trips_within_53_bits)
{
    struct cursor c = {.node_cursor = 0xfffffffful, .gen = 15, .group = 254,
                       .node = CURSOR_MAX_NODE_INDEX};
    struct cursor d;
    char buf[32];
    unsigned long long v = cursor_encode(&c);
    cr_assert_lt(v, 1ULL << 53, "a cursor must stay exact as a double");
    cr_assert_eq(cursor_decode(buf, (size_t)snprintf(buf, sizeof(buf), "%llu", v), &d), 0);
    cr_assert(d.node_cursor == c.node_cursor && d.gen == c.gen && d.group == c.group
              && d.node == c.node);
}

Test(route, cursor_rejects_what_redis_calls_invalid)
{
    struct cursor d;
    /* Redis's invalid ones, and "-1" and 2^53, past what the proxy encodes */
    const char *bad[] = {"abc", "-1", " 1", "1x", "+", "18446744073709551616",
                         "9007199254740992"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_neq(cursor_decode(bad[i], strlen(bad[i]), &d), 0, "%s", bad[i]);
    }
    /* what Redis reads as 0 */
    const char *zero[] = {"0", "", "+0", "-0", "000"};
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        cr_assert_eq(cursor_decode(zero[i], strlen(zero[i]), &d), 0, "%s", zero[i]);
        cr_assert(d.node_cursor == 0 && d.node == 0 && d.group == 0);
    }
    cr_assert_eq(cursor_decode("0\0x", 3, &d), 0);
}

Test(route, scan_is_a_cursor_command)
{
    const struct command *scan = command_lookup("scan", 4);
    const struct command *get = command_lookup("get", 3);
    cr_assert_not_null(cursor_spec_of(scan));
    cr_assert_eq(cursor_spec_of(scan)->arg, 1);
    cr_assert_null(cursor_spec_of(get));
}

Test(route, cursor_reply_moves_to_the_next_group_when_a_node_is_done)
{
    struct proxy px;
    struct preq r;
    size_t n;
    memset(&px, 0, sizeof(px));
    memset(&r, 0, sizeof(r));
    px.ngroups = 3;
    r.cursor_keyspace = 1;
    r.cursor.group = 0;
    r.cursor.node = 2;
    r.cursor.gen = 5;
    static const char done[] = "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n";
    char *out = cursor_reply(&px, &r, done, sizeof(done) - 1, &n);
    char want[64];
    int wl = snprintf(want, sizeof(want), "*2\r\n$%d\r\n%llu\r\n*1\r\n$1\r\nk\r\n",
                      (int)snprintf(NULL, 0, "%llu", 1ULL << 36), 1ULL << 36);
    cr_assert_eq(n, (size_t)wl);
    cr_assert(memcmp(out, want, n) == 0, "%.*s", (int)n, out);
    mem_free(out);
    /* a node cursor keeps the node, the incarnation and the group */
    static const char more[] = "*2\r\n$2\r\n17\r\n*0\r\n";
    out = cursor_reply(&px, &r, more, sizeof(more) - 1, &n);
    struct cursor d;
    const char *num = (const char *)memchr(out + 5, '\n', n - 5) + 1;
    const char *cr = memchr(num, '\r', n - (size_t)(num - out));
    cr_assert_eq(cursor_decode(num, (size_t)(cr - num), &d), 0);
    cr_assert(d.node_cursor == 17 && d.node == 2 && d.gen == 5 && d.group == 0);
    mem_free(out);
    /* the last group's end is the end of the iteration; errors pass */
    r.cursor.group = 2;
    out = cursor_reply(&px, &r, done, sizeof(done) - 1, &n);
    cr_assert(n > 12 && memcmp(out, "*2\r\n$1\r\n0\r\n", 11) == 0);
    mem_free(out);
    out = cursor_reply(&px, &r, "-ERR x\r\n", 8, &n);
    cr_assert(n == 8 && memcmp(out, "-ERR x\r\n", 8) == 0);
    mem_free(out);
}

static size_t
error_line(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = session_error_line(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* Regression (issue 9): client text with CR/LF inside an error reply. */
Test(route, error_lines_never_carry_cr_or_lf)
{
    char buf[64];
    size_t n = error_line(buf, sizeof(buf), "ERR unknown '%s'", "a\r\nb\nc\r");
    cr_assert_eq(n, strlen("-ERR unknown 'a  b c '\r\n"));
    cr_assert_str_eq(buf, "-ERR unknown 'a  b c '\r\n");
    /* truncated, still one terminated line */
    n = error_line(buf, 16, "ERR %s", "0123456789abcdefghij");
    cr_assert_eq(n, 15);
    cr_assert(memcmp(buf + n - 2, "\r\n", 2) == 0 && memchr(buf, '\n', n - 1) == NULL);
}

Test(route, transactions_are_not_refused_by_name)
{
    /* txn.c pins them to a connection of their own before routing. */
    const char *txn[] = {"multi", "exec", "discard", "watch", "unwatch"};
    for (size_t i = 0; i < sizeof(txn) / sizeof(txn[0]); i++) {
        const struct command *cmd = command_lookup(txn[i], strlen(txn[i]));
        cr_assert_neq(route_classify(cmd), ROUTE_REFUSE, "%s", txn[i]);
    }
}
