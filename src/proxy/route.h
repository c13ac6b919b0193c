/* Which way a command goes through the proxy (route.c). */
#ifndef CACHELY_PROXY_ROUTE_H
#define CACHELY_PROXY_ROUTE_H

#include <stddef.h>

struct command;
struct resp_arg;

enum route_kind {
    ROUTE_LOCAL = 0,    /* answered by the proxy itself */
    ROUTE_MASTER,       /* the group's master */
    ROUTE_READ,         /* per read policy: a replica, else the master */
    ROUTE_REFUSE,       /* not available through the proxy */
};
/* Classify a command (a top-level row of the command table) for the proxy:
 * a pure function of its flags and name, so it can be unit-tested. */
enum route_kind route_classify(const struct command *cmd);
/* OBJECT's subcommands and MEMORY USAGE / HELP read one key: for such a
 * line (cmd is refused as a container) the row to route by, as a read
 * (OBJECT itself when its subcommand is unknown: the node answers the
 * error); NULL for every other line. */
const struct command *route_keyed_sub(const struct command *cmd, size_t argc,
                                      const struct resp_arg *argv);

#endif
