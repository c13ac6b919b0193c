/* The Lua runtime behind EVAL scripts and FUNCTION libraries: two Lua 5.1
 * interpreters (one for EVAL, one for libraries, as Redis 7 has), the
 * sandbox, the redis.* API, the conversions between Lua values and RESP
 * replies, and the running script (busy state, SCRIPT KILL).  Commands run
 * from a script go through dispatch_call() with a fake client, so their
 * effects join the caller's propagation frame (MULTI/EXEC when several). */
#ifndef CACHELY_NODE_SCRIPTING_H
#define CACHELY_NODE_SCRIPTING_H

#include "core/resp.h"

#include <stddef.h>

struct server;
struct client;
struct command;
struct lua_State;

/* Script flags (the #!lua flags=... of EVAL scripts and the flags of
 * redis.register_function). */
enum script_flag {
    SCRIPT_FLAG_NO_WRITES = 1 << 0,
    SCRIPT_FLAG_ALLOW_OOM = 1 << 1,
    SCRIPT_FLAG_ALLOW_STALE = 1 << 2,
    SCRIPT_FLAG_NO_CLUSTER = 1 << 3,
    SCRIPT_FLAG_ALLOW_CROSS_SLOT = 1 << 4,
    SCRIPT_FLAG_EVAL_COMPAT = 1 << 5, /* an EVAL script without a shebang */
};

enum scripting_engine_kind { SCRIPTING_EVAL = 0, SCRIPTING_FUNCTION = 1 };

/* What INFO memory shows of the scripts: the two interpreters' Lua heaps
 * and the EVAL cache (its count and an estimate of its bytes). */
struct scripting_mem {
    size_t lua_eval, lua_functions;
    size_t cached_scripts;
    size_t scripts_eval;
};
void scripting_memory(struct server *srv, struct scripting_mem *m);

int scripting_setup(struct server *srv);
void scripting_teardown(struct server *srv);
/* The interpreter of kind (EVAL scripts or function libraries).  Reset
 * (re-created) by scripting_reset. */
struct lua_State *scripting_lua(struct server *srv, enum scripting_engine_kind kind);
/* Close and re-create an interpreter (SCRIPT FLUSH, FUNCTION FLUSH). */
void scripting_reset(struct server *srv, enum scripting_engine_kind kind);

/* The EVAL scripts' cache, by SHA-1 (40 lowercase hex digits; emptied by
 * scripting_reset of SCRIPTING_EVAL).  scripting_script_push pushes the
 * script's function on the EVAL interpreter's stack and sets *flags (enum
 * script_flag; flags may be NULL): 0, or -1 with nothing pushed when no
 * such script is cached.  scripting_script_add pops the function on top
 * of that stack and caches it under sha with flags. */
int scripting_script_push(struct server *srv, const char sha[40], unsigned *flags);
int scripting_script_exists(struct server *srv, const char sha[40]);
void scripting_script_add(struct server *srv, const char sha[40], unsigned flags);

/* Parse a flags list: "no-writes,allow-oom" style names, from a table of
 * strings (index at idx) or a comma-separated string.  Returns -1 for an
 * unknown flag. */
int scripting_flag_parse(const char *name, size_t len);

/* Run the function on top of the Lua stack of kind's interpreter for
 * caller, with keys and args (EVAL: as KEYS/ARGV; functions: as its two
 * table arguments), and write its result or error as caller's reply.
 * funcname names it in errors ("f_<sha>" or the function's name); flags are
 * enum script_flag; readonly is EVAL_RO/FCALL_RO.  Pops the function. */
void scripting_run(struct server *srv, enum scripting_engine_kind kind,
                   struct client *caller, const char *funcname, unsigned flags,
                   int readonly, size_t nkeys, const struct resp_arg *keys,
                   size_t nargs, const struct resp_arg *args);

/* While a script has run past busy-reply-threshold, dispatch refuses every
 * command not flagged allow-busy (and SHUTDOWN without NOSAVE): returns the
 * -BUSY error (static text) when c's command is refused, else NULL.  The
 * caller replies (EXEC answers EXECABORT ... because of: BUSY ...). */
const char *scripting_busy_reject(struct client *c, const struct command *cmd);
/* SCRIPT KILL / FUNCTION KILL: writes the reply. */
void scripting_kill(struct client *c, enum scripting_engine_kind kind);
/* The running script's name and command line for FUNCTION STATS (NULL
 * when none runs). */
struct client *scripting_running(struct server *srv, const char **name,
                                 enum scripting_engine_kind *kind,
                                 long long *duration_ms);

#endif
