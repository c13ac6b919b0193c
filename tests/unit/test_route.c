#include "proxy/proxy.h"

#include <criterion/criterion.h>
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
    /* The proxy's own event channels; the nodes have no pub/sub, so none of
     * these may reach a backend connection. */
    const char *local[] = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                           "publish", "pubsub"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        cr_assert_eq(route_of(local[i]), ROUTE_LOCAL, "%s", local[i]);
    }
}

Test(route, node_administration_and_connection_bound_commands_are_refused)
{
    const char *refused[] = {"wait", "config", "debug", "shutdown", "replicaof", "psync",
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
    const char *bad[] = {"", "abc", "-1", " 1", "1x", "18446744073709551616",
                         "9007199254740992"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_neq(cursor_decode(bad[i], strlen(bad[i]), &d), 0, "%s", bad[i]);
    }
    cr_assert_eq(cursor_decode("0", 1, &d), 0);
    cr_assert(d.node_cursor == 0 && d.node == 0 && d.group == 0);
}

Test(route, scan_is_a_cursor_command)
{
    const struct command *scan = command_lookup("scan", 4);
    const struct command *get = command_lookup("get", 3);
    cr_assert_not_null(cursor_spec_of(scan));
    cr_assert_eq(cursor_spec_of(scan)->arg, 1);
    cr_assert_null(cursor_spec_of(get));
}
