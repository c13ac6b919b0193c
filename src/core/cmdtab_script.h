/* Command table rows for scripts and functions (EVAL, SCRIPT, FUNCTION,
 * FCALL), spliced into CMD_LIST (core/command.h), with Redis 7.0's arity
 * and flags.  EVAL and FCALL keys are movable: numkeys at argv[2]. */
#ifndef CACHELY_CORE_CMDTAB_SCRIPT_H
#define CACHELY_CORE_CMDTAB_SCRIPT_H

#define XSCR (CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_MOVABLEKEYS)

#define CMD_LIST_SCRIPT(X)                                                                 \
    X(EVAL, NONE, "eval", -3, XSCR | CMD_MAY_REPLICATE | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "2.6.0", "Run a Lua script", eval) \
    X(EVALSHA, NONE, "evalsha", -3, XSCR | CMD_MAY_REPLICATE | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "2.6.0", "Run a cached Lua script by its SHA1", evalsha) \
    X(EVAL_RO, NONE, "eval_ro", -3, XSCR | XR | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "7.0.0", "Run a read-only Lua script", eval_ro) \
    X(EVALSHA_RO, NONE, "evalsha_ro", -3, XSCR | XR | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "7.0.0", "Run a cached read-only Lua script by its SHA1", evalsha_ro) \
    X(SCRIPT, NONE, "script", -2, 0, 0, 0, 0, "scripting", "2.6.0", "Manage the script cache", none) \
    X(SCRIPT_LOAD, SCRIPT, "load", 3, XN | XS, 0, 0, 0, "scripting", "2.6.0", "Cache a script and return its SHA1", script_load) \
    X(SCRIPT_EXISTS, SCRIPT, "exists", -3, XN, 0, 0, 0, "scripting", "2.6.0", "Tell which SHA1s are cached", script_exists) \
    X(SCRIPT_FLUSH, SCRIPT, "flush", -2, XN, 0, 0, 0, "scripting", "2.6.0", "Empty the script cache", script_flush) \
    X(SCRIPT_KILL, SCRIPT, "kill", 2, XN | XB, 0, 0, 0, "scripting", "2.6.0", "Stop the running script if it has not written", script_kill) \
    X(SCRIPT_HELP, SCRIPT, "help", 2, XL | XS, 0, 0, 0, "scripting", "5.0.0", "Describe the SCRIPT subcommands", script_help) \
    X(FUNCTION, NONE, "function", -2, 0, 0, 0, 0, "scripting", "7.0.0", "Manage function libraries", none) \
    X(FUNCTION_LOAD, FUNCTION, "load", -3, XW | XM | XN, 0, 0, 0, "scripting", "7.0.0", "Create or replace a library", function_load) \
    X(FUNCTION_DELETE, FUNCTION, "delete", 3, XW | XN, 0, 0, 0, "scripting", "7.0.0", "Delete a library", function_delete) \
    X(FUNCTION_FLUSH, FUNCTION, "flush", -2, XW | XN, 0, 0, 0, "scripting", "7.0.0", "Delete every library", function_flush) \
    X(FUNCTION_DUMP, FUNCTION, "dump", 2, XN, 0, 0, 0, "scripting", "7.0.0", "Serialize the libraries", function_dump) \
    X(FUNCTION_RESTORE, FUNCTION, "restore", -3, XW | XM | XN, 0, 0, 0, "scripting", "7.0.0", "Restore libraries from FUNCTION DUMP's payload", function_restore) \
    X(FUNCTION_LIST, FUNCTION, "list", -2, XN, 0, 0, 0, "scripting", "7.0.0", "List the libraries and their functions", function_list) \
    X(FUNCTION_STATS, FUNCTION, "stats", 2, XN | XB, 0, 0, 0, "scripting", "7.0.0", "Describe the running function and the engines", function_stats) \
    X(FUNCTION_KILL, FUNCTION, "kill", 2, XN | XB, 0, 0, 0, "scripting", "7.0.0", "Stop the running function if it has not written", function_kill) \
    X(FUNCTION_HELP, FUNCTION, "help", 2, XL | XS, 0, 0, 0, "scripting", "7.0.0", "Describe the FUNCTION subcommands", function_help) \
    X(FCALL, NONE, "fcall", -3, XSCR | CMD_MAY_REPLICATE | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "7.0.0", "Call a library function", fcall) \
    X(FCALL_RO, NONE, "fcall_ro", -3, XSCR | XR | CMD_NO_MANDATORY_KEYS, 0, 0, 0, "scripting", "7.0.0", "Call a read-only library function", fcall_ro)

#endif
