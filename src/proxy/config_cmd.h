/* The CONFIG command on the proxy (config_cmd.c). */
#ifndef CACHELY_PROXY_CONFIG_CMD_H
#define CACHELY_PROXY_CONFIG_CMD_H

#include "core/resp.h"

#include <stddef.h>

struct session;

/* CONFIG <subcommand> for session s (argc >= 2): the proxy's own options. */
void config_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv);

#endif
