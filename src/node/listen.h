/* Client listeners: the sockets cachely-server accepts clients on. */
#ifndef CACHELY_NODE_LISTEN_H
#define CACHELY_NODE_LISTEN_H

#include <stddef.h>

struct server;

/* Listen on every address of cfg.bind at cfg.port (nothing when the port is
 * 0).  Returns 0, or -1 when an address that is not optional ("-addr")
 * could not be bound (the sockets already opened stay open). */
int listen_setup(struct server *srv);
/* Listen on unixsocket when it is set.  Returns 0, or -1 (logged). */
int listen_unix_setup(struct server *srv);
/* Close every listener (plain and TLS). */
void listen_teardown(struct server *srv);
/* Move the listeners to the current cfg.port / cfg.bind: the new sockets
 * are opened before the old ones close, so when binding fails the server
 * keeps listening where it was.  Returns 0, or -1 with Redis's error text
 * in err. */
int listen_rebind(struct server *srv, char *err, size_t errlen);
/* CONFIG SET bind: close the listeners (plain and TLS) and listen on the
 * addresses of cfg.bind at the same ports, as Redis 7.0 does; when one
 * cannot be bound, listen on the previous addresses again and return -1
 * with "Failed to bind to specified addresses." in err. */
int listen_rebind_addresses(struct server *srv, char *err, size_t errlen);
/* The same for cfg.tls_port: its clients get TLS connections (tls.c's
 * context must exist first). */
int listen_tls_setup(struct server *srv);
int listen_tls_rebind(struct server *srv, char *err, size_t errlen);

#endif
