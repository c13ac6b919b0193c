/* INFO: the sections Redis prints, with Redis's field names, so exporters
 * and dashboards built for Redis parse them. */
#ifndef CACHELY_NODE_INFO_H
#define CACHELY_NODE_INFO_H

#include <stddef.h>

struct server;

/* Render INFO for the given section names (NULL/0 = default sections).
 * Returns a mem_alloc'd NUL-terminated string the caller frees; *len is set. */
char *info_render(struct server *srv, const char *const *sections,
                  const size_t *lens, int nsections, size_t *len);

#endif
