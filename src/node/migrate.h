/* MIGRATE's connections to target instances (cmd_migrate.c): kept between
 * commands with the database last selected, closed after 10 s unused. */
#ifndef CACHELY_NODE_MIGRATE_H
#define CACHELY_NODE_MIGRATE_H

#include <stddef.h>

struct server;

/* Close the connections unused for 10 s (the server cron). */
void migrate_cron(struct server *srv);
/* INFO stats' migrate_cached_sockets. */
size_t migrate_cached_sockets(const struct server *srv);
/* Close them all (shutdown). */
void migrate_teardown(struct server *srv);

#endif
