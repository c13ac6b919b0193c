/* Category corrections for node/acl.c (rows of acl_cat_fixes): where
 * Redis 7.0's COMMAND INFO differs from what flags and group give.
 * {id, categories to add, categories to remove} */
{CMD_ID_COMMAND, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_COUNT, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_DOCS, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_GETKEYS, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_GETKEYSANDFLAGS, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_HELP, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_INFO, CAT(CONNECTION), 0},
{CMD_ID_COMMAND_LIST, CAT(CONNECTION), 0},
{CMD_ID_DBSIZE, CAT(KEYSPACE), 0},
/* the cluster group's connection commands */
{CMD_ID_READONLY, CAT(CONNECTION), 0},
{CMD_ID_READWRITE, CAT(CONNECTION), 0},
{CMD_ID_ASKING, CAT(CONNECTION), 0},
/* read-only scripts are not @read in Redis: what they read is checked
 * command by command */
{CMD_ID_EVAL_RO, 0, CAT(READ)},
{CMD_ID_EVALSHA_RO, 0, CAT(READ)},
{CMD_ID_FCALL_RO, 0, CAT(READ)},
{CMD_ID_FLUSHALL, CAT(KEYSPACE) | CAT(DANGEROUS), 0},
{CMD_ID_FLUSHDB, CAT(KEYSPACE) | CAT(DANGEROUS), 0},
{CMD_ID_SWAPDB, CAT(KEYSPACE) | CAT(DANGEROUS), 0},
{CMD_ID_INFO, CAT(DANGEROUS), 0},
{CMD_ID_KEYS, CAT(DANGEROUS), 0},
{CMD_ID_LASTSAVE, CAT(ADMIN) | CAT(DANGEROUS), 0},
{CMD_ID_ROLE, CAT(ADMIN) | CAT(DANGEROUS), 0},
{CMD_ID_SORT, CAT(SET) | CAT(SORTEDSET) | CAT(LIST) | CAT(DANGEROUS), CAT(KEYSPACE)},
{CMD_ID_SORT_RO, CAT(SET) | CAT(SORTEDSET) | CAT(LIST) | CAT(DANGEROUS), CAT(KEYSPACE)},
{CMD_ID_WAIT, CAT(CONNECTION), CAT(KEYSPACE)},
/* Cachely's tagged waits: blocking commands, though neither blocks its
 * connection (so neither carries the blocking flag the proxy routes by) */
{CMD_ID_CACHELY_BLOCK, CAT(BLOCKING), 0},
{CMD_ID_CACHELY_UNBLOCK, CAT(BLOCKING), 0},
