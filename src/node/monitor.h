/* MONITOR: clients that receive every command the node runs, one status
 * line each: +<sec>.<usec> [<db> <addr>] "arg" "arg"..., secrets shown as
 * "(redacted)", admin commands left out, as Redis 7.0 does. */
#ifndef CACHELY_NODE_MONITOR_H
#define CACHELY_NODE_MONITOR_H

#include <stddef.h>

struct client;
struct command;
struct server;

struct monitors {
    struct client **clients;       /* owned array of borrowed */
    size_t n, cap;
};

/* After a command ran for c: feed the monitors (cheap when there are none). */
void monitor_feed(struct client *c, const struct command *cmd);
/* Feed c's command line to the monitors now, whatever its flags: the
 * script commands (EVAL*, FCALL*, flagged skip_monitor) call it as they
 * start, so that the commands their script runs appear after them, as in
 * Redis 7.0. */
void monitor_feed_now(struct client *c);
/* A closing or RESET client leaves the monitors. */
void monitor_client_gone(struct client *c);
void monitor_teardown(struct server *srv);

#endif
