/* Command table rows for hashes, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_HASH_H
#define CACHELY_CORE_CMDTAB_HASH_H

#define CMD_LIST_HASH(X)

#endif
