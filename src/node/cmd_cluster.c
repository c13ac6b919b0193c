/* CLUSTER and the cluster clients' connection commands (READONLY,
 * READWRITE, ASKING).  Cachely has no cluster mode (shard groups are the
 * proxy's), so each answers as a Redis 7.0 started without
 * cluster-enabled does; cluster-aware clients read that error to fall back
 * to a plain connection.  Arity and unknown subcommands are checked by the
 * dispatcher, as for every command. */
#include "node/handlers.h"
#include "node/client.h"

void
cmd_cluster_disabled(struct client *c)
{
    reply_error(c, "This instance has cluster support disabled");
}
