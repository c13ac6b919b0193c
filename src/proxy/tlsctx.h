/* TLS on the client port and to the nodes (tlsctx.c). */
#ifndef CACHELY_PROXY_TLSCTX_H
#define CACHELY_PROXY_TLSCTX_H

#include <stddef.h>

struct proxy;
struct proxy_config;
struct option_def;
struct conn;

extern const char *const tlsctx_auth_names[];  /* no, yes, optional */
/* Build the contexts the tls-* options ask for (tls-port: the client
 * port's; tls-backend: the nodes').  Returns 0, or -1 after logging why
 * (the proxy must not start). */
int tlsctx_setup(struct proxy *px);
void tlsctx_teardown(struct proxy *px);
/* Option apply hook (ctx: the proxy): rebuild the contexts from the current
 * tls-* values, swapped in only when all build; open connections keep the
 * old ones.  Returns 0, or -1 with Redis's message in err. */
int tlsctx_apply(const struct option_def *def, void *ctx, char *err, size_t errlen);
/* SIGHUP: take fresh's tls-* files and settings (a configuration just read
 * again; tls-port, tls-backend, tls-peers and http-tls need a restart) and
 * rebuild the contexts, reading the files again even when their names did
 * not change (certificates replaced in place).  On failure nothing changes.
 * fresh keeps what was swapped out, for its owner to free.  Returns 0 or -1
 * (logged). */
int tlsctx_reload(struct proxy *px, struct proxy_config *fresh);
/* A TLS server session over an accepted socket (takes fd), or NULL. */
struct conn *tlsctx_accept(struct proxy *px, int fd);
/* The connection for a socket connecting to a node (takes fd): TLS with
 * tls-backend, else plain.  NULL when OpenSSL fails (fd left open). */
struct conn *tlsctx_connect(struct proxy *px, int fd, const char *peer);

#endif
