/* The node's command handlers: one per command table row, named in the
 * row's last column (core/command.h).  A handler reads c->argc/c->argv
 * (arity already checked; arguments are NOT NUL-terminated: always use
 * .len) and writes exactly one reply. */
#ifndef CACHELY_NODE_HANDLERS_H
#define CACHELY_NODE_HANDLERS_H

#include "core/command.h"

struct client;
typedef void (*cmd_handler_fn)(struct client *c);

/* The handler bound to a command id, or NULL when the node has none. */
cmd_handler_fn handlers_get(enum cmd_id id);
/* True when the node implements cmd: a handler is bound to it or, for a
 * container, to one of its subcommands.  The shared table also holds rows
 * only the proxy answers (SENTINEL): on the node they are unknown
 * commands, and COMMAND does not list them. */
int handlers_implements(const struct command *cmd);

/* Every handler's prototype, from that column: cmd_<column> for each row.
 * Rows whose column is "none" declare cmd_none, which handlers.c binds to
 * nothing. */
#define HANDLER_DECL(id, par, nm, ar, fl, fk, lk, st, grp, snc, sum, fn)       \
    void cmd_##fn(struct client *c);
CMD_LIST(HANDLER_DECL)
#undef HANDLER_DECL

#endif
