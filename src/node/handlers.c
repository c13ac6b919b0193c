/* Binds command ids to handlers, from the command table's handler column
 * (core/command.h).  A command whose column is "none" answers the
 * unknown-command error on the node. */
#include "node/handlers.h"

const cmd_handler_fn handlers_by_id[CMD_ID__COUNT] = {
#define HANDLER_ROW(id, par, nm, ar, fl, fk, lk, st, grp, snc, sum, fn)        \
    [CMD_ID_##id] = cmd_##fn,
    CMD_LIST(HANDLER_ROW)
#undef HANDLER_ROW
};

/* What a row whose handler column is "none" binds: never called, since
 * handlers_get answers NULL for it (handlers.h). */
void
cmd_none(struct client *c)
{
    (void)c;
}

int
handlers_implements(const struct command *cmd)
{
    if (handlers_get(cmd->id) != NULL) {
        return 1;
    }
    for (size_t i = 0; i < cmd->nsubs; i++) {
        if (handlers_get(cmd->subs[i]->id) != NULL) {
            return 1;
        }
    }
    return 0;
}
