/* Command dispatch: table lookup, container subcommands, arity, auth and
 * memory checks, the handler call, and per-command statistics. */
#ifndef CACHELY_NODE_DISPATCH_H
#define CACHELY_NODE_DISPATCH_H

struct client;

struct command;

/* Check and execute the command in c->argc/c->argv, writing its reply (or
 * holding it: CLIENT PAUSE, blocking commands). */
void dispatch_command(struct client *c);
/* Run cmd (already checked) for c with c->argc/c->argv: re-entrant, so EXEC
 * and scripts call it for each command they run. */
void dispatch_call(struct client *c, const struct command *cmd);

#endif
