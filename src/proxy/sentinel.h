/* The SENTINEL command (sentinel.c): Sentinel's view of the groups, and
 * the requests peers send each other. */
#ifndef CACHELY_PROXY_SENTINEL_H
#define CACHELY_PROXY_SENTINEL_H

#include "core/resp.h"

#include <stddef.h>

struct session;

/* The SENTINEL command on a client session. */
void sentinel_command(struct session *s, size_t argc, const struct resp_arg *argv);

#endif
