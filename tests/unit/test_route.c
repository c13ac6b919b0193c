#include "proxy/proxy.h"

#include <criterion/criterion.h>
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
