/* The CLIENT command on the proxy (client_cmd.c). */
#ifndef CACHELY_PROXY_CLIENT_CMD_H
#define CACHELY_PROXY_CLIENT_CMD_H

#include "core/resp.h"

#include <stddef.h>

struct session;
struct rbuf;

/* CLIENT <subcommand> for session s (argc >= 2). */
void client_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv);
/* Append s's CLIENT LIST line (with its newline) to b. */
void client_cmd_describe(struct rbuf *b, const struct session *s);
/* s is subscribed to something: Redis's pubsub client class. */
int client_cmd_is_pubsub(const struct session *s);

#endif
