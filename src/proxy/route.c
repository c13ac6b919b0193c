/* Command classification for the proxy: the command table's flags decide
 * (writes to the master, reads per policy), and a small override table says
 * which commands the proxy answers itself and which make no sense through a
 * pooled, shared connection. */
#include "proxy/route.h"
#include "core/command.h"
#include "core/resp.h"

#include <string.h>

static const unsigned char overrides[CMD_ID__COUNT] = {
    /* answered by the proxy: connection state lives in the session */
    [CMD_ID_PING] = ROUTE_LOCAL + 1,
    [CMD_ID_ECHO] = ROUTE_LOCAL + 1,
    [CMD_ID_QUIT] = ROUTE_LOCAL + 1,
    [CMD_ID_RESET] = ROUTE_LOCAL + 1,
    [CMD_ID_AUTH] = ROUTE_LOCAL + 1,
    [CMD_ID_HELLO] = ROUTE_LOCAL + 1,
    [CMD_ID_SELECT] = ROUTE_LOCAL + 1,
    [CMD_ID_CLIENT] = ROUTE_LOCAL + 1,
    [CMD_ID_INFO] = ROUTE_LOCAL + 1,
    [CMD_ID_ROLE] = ROUTE_LOCAL + 1,
    [CMD_ID_SENTINEL] = ROUTE_LOCAL + 1,
    [CMD_ID_CONFIG] = ROUTE_LOCAL + 1, /* the proxy's own options (config_cmd.c) */
    [CMD_ID_ACL] = ROUTE_LOCAL + 1, /* the proxy's own users (access.c) */
    /* pub/sub (pubsub.c, nodesub.c): sessions subscribe in the proxy, which
     * subscribes on the masters for them; PUBLISH goes to group 0's master
     * (every master carries every channel's subscriptions), SPUBLISH to its
     * channel's group, their counts corrected for the proxy's sessions */
    [CMD_ID_SUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_UNSUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_PSUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_PUNSUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_SSUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_SUNSUBSCRIBE] = ROUTE_LOCAL + 1,
    [CMD_ID_PUBLISH] = ROUTE_LOCAL + 1,
    [CMD_ID_SPUBLISH] = ROUTE_LOCAL + 1,
    [CMD_ID_PUBSUB] = ROUTE_LOCAL + 1,
    /* MONITOR: a stream of what passes through the proxy (monitor.c) */
    [CMD_ID_MONITOR] = ROUTE_LOCAL + 1,
    /* per-connection state on a node: transactions are pinned to a
     * connection of their own by txn.c before routing */
    [CMD_ID_MULTI] = ROUTE_MASTER + 1,
    [CMD_ID_EXEC] = ROUTE_MASTER + 1,
    [CMD_ID_DISCARD] = ROUTE_MASTER + 1,
    [CMD_ID_WATCH] = ROUTE_MASTER + 1,
    [CMD_ID_UNWATCH] = ROUTE_MASTER + 1,
    /* the command table is the same on every node */
    [CMD_ID_COMMAND] = ROUTE_READ + 1,
    [CMD_ID_TIME] = ROUTE_READ + 1,
    /* meaningless or unsafe over shared backend connections, or node
     * administration that must go to a node directly */
    [CMD_ID_WAIT] = ROUTE_REFUSE + 1,
    [CMD_ID_MOVE] = ROUTE_REFUSE + 1,
    [CMD_ID_SWAPDB] = ROUTE_REFUSE + 1,
    [CMD_ID_DEBUG] = ROUTE_REFUSE + 1,
    [CMD_ID_SHUTDOWN] = ROUTE_REFUSE + 1,
    [CMD_ID_SLOWLOG] = ROUTE_REFUSE + 1,
    [CMD_ID_MEMORY] = ROUTE_REFUSE + 1,
    [CMD_ID_OBJECT] = ROUTE_REFUSE + 1,
    [CMD_ID_REPLICAOF] = ROUTE_REFUSE + 1,
    [CMD_ID_SLAVEOF] = ROUTE_REFUSE + 1,
    [CMD_ID_PSYNC] = ROUTE_REFUSE + 1,
    [CMD_ID_SYNC] = ROUTE_REFUSE + 1,
    [CMD_ID_REPLCONF] = ROUTE_REFUSE + 1,
    [CMD_ID_SAVE] = ROUTE_REFUSE + 1,
    [CMD_ID_BGSAVE] = ROUTE_REFUSE + 1,
    [CMD_ID_BGREWRITEAOF] = ROUTE_REFUSE + 1,
    [CMD_ID_LASTSAVE] = ROUTE_REFUSE + 1,
    /* the proxy's own protocol with the nodes (blockmux.c): a client's
     * would put a reply-less request on a shared connection */
    [CMD_ID_CACHELY_BLOCK] = ROUTE_REFUSE + 1,
    [CMD_ID_CACHELY_UNBLOCK] = ROUTE_REFUSE + 1,
};

const struct command *
route_keyed_sub(const struct command *cmd, size_t argc, const struct resp_arg *argv)
{
    if (argc < 2 || (cmd->id != CMD_ID_OBJECT && cmd->id != CMD_ID_MEMORY)) {
        return NULL;
    }
    const struct command *sub = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    if (cmd->id == CMD_ID_OBJECT) {
        return sub != NULL ? sub : cmd;
    }
    if (sub != NULL && (sub->id == CMD_ID_MEMORY_USAGE || sub->id == CMD_ID_MEMORY_HELP)) {
        return sub;
    }
    return NULL; /* MEMORY's others describe one node */
}

enum route_kind
route_classify(const struct command *cmd)
{
    if (overrides[cmd->id]) {
        return (enum route_kind)(overrides[cmd->id] - 1);
    }
    if (cmd->flags & CMD_WRITE) {
        return ROUTE_MASTER;
    }
    if (cmd->flags & CMD_READONLY) {
        return ROUTE_READ;
    }
    if (cmd->flags & CMD_ADMIN) {
        return ROUTE_REFUSE;
    }
    return ROUTE_MASTER;
}
