/* The node's TLS state: the server context for clients of tls-port, the
 * client context for the replication link (tls-replication), the tls-port
 * listeners, and live reloads when CONFIG SET changes a tls-* option. */
#ifndef CACHELY_NODE_TLS_H
#define CACHELY_NODE_TLS_H

#include <stddef.h>

struct server;
struct conn;
struct conn_tls_ctx;
struct event;
struct option_def;

/* Build the contexts the configuration asks for and open tls-port.
 * Returns 0, or -1 after logging why (the server must not start). */
int tls_setup(struct server *srv);
/* Close the listeners and drop the contexts (live connections keep theirs). */
void tls_teardown(struct server *srv);

/* A TLS server session over an accepted socket (takes fd on success);
 * NULL when no context exists or OpenSSL fails (fd is left to the caller). */
struct conn *tls_accept_conn(struct server *srv, int fd);
/* Where the current server context lives (HTTPS reads it for each new
 * connection; a reload swaps it).  Valid until tls_teardown. */
struct conn_tls_ctx *const *tls_server_ctx_ref(struct server *srv);
/* A TLS client session over a socket connecting to our master (takes fd on
 * success); NULL with the reason logged (fd left to the caller). */
struct conn *tls_connect_conn(struct server *srv, int fd, const char *peer);

/* Where listen.c keeps the tls-port sockets (the pointers stay valid). */
void tls_listeners(struct server *srv, int ***fds, struct event ****events,
                   int **n, long long **bound_port);

/* Option apply hooks: rebuild the contexts from the current tls-* values
 * (connections already open keep the old context until they close), and
 * move tls-port.  Return 0, or -1 with Redis's error text in err. */
int tls_apply_config(const struct option_def *def, void *ctx, char *err, size_t errlen);
int tls_apply_port(const struct option_def *def, void *ctx, char *err, size_t errlen);

/* The tls-auth-clients names: no, yes, optional. */
extern const char *const tls_auth_clients_names[];

#endif
