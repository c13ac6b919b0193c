/* The node's command handlers: one per command table row, named in the
 * row's last column (core/command.h).  A handler reads c->argc/c->argv
 * (arity already checked; arguments are NOT NUL-terminated: always use
 * .len) and writes exactly one reply. */
#ifndef CACHELY_NODE_HANDLERS_H
#define CACHELY_NODE_HANDLERS_H

#include "core/command.h"

struct client;
typedef void (*cmd_handler_fn)(struct client *c);

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

/* The handler bound to each command id, cmd_none for none.  Read through
 * handlers_get, inline: dispatch asks twice per command. */
extern const cmd_handler_fn handlers_by_id[CMD_ID__COUNT];

/* The handler bound to a command id, or NULL when the node has none (a row
 * only the proxy answers, or a container whose subcommands have them). */
static inline cmd_handler_fn
handlers_get(enum cmd_id id)
{
    cmd_handler_fn fn = (unsigned)id < (unsigned)CMD_ID__COUNT ? handlers_by_id[id] : NULL;
    return fn == cmd_none ? NULL : fn;
}

#endif
