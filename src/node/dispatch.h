/* Command dispatch: table lookup, container subcommands, arity, auth and
 * memory checks, the handler call, and per-command statistics. */
#ifndef CACHELY_NODE_DISPATCH_H
#define CACHELY_NODE_DISPATCH_H

struct client;

/* Execute the command in c->argc/c->argv, writing its reply. */
void dispatch_command(struct client *c);

#endif
