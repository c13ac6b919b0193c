/* Command table rows for sorted sets, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_ZSET_H
#define CACHELY_CORE_CMDTAB_ZSET_H

#define CMD_LIST_ZSET(X)

#endif
