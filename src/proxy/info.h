/* INFO on the proxy (info.c). */
#ifndef CACHELY_PROXY_INFO_H
#define CACHELY_PROXY_INFO_H

#include "core/resp.h"

#include <stddef.h>

struct session;

/* INFO [section ...] for session s (see info.c for the sections). */
void info_command(struct session *s, size_t argc, const struct resp_arg *argv);

#endif
