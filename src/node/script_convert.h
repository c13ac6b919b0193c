/* Lua <-> RESP conversions for scripts and functions (script_convert.c),
 * used by the Lua runtime in scripting.c. */
#ifndef CACHELY_NODE_SCRIPT_CONVERT_H
#define CACHELY_NODE_SCRIPT_CONVERT_H

#include <lua.h>

struct client;

/* redis.setresp of the running script: 2 or 3 (booleans convert by it). */
extern int script_reply_resp;

/* Push the RESP reply in [p, end) as a Lua value; returns the end of the
 * reply, or NULL when it is malformed or nested deeper than allowed. */
const char *script_resp_to_lua(lua_State *L, const char *p, const char *end, int depth);

/* Reply to c with the Lua value on top of L's stack (popped). */
void script_lua_to_reply(struct client *c, lua_State *L, int depth);

/* Nonzero when the table on top has a field `name` of Lua type `type`,
 * pushed on the stack; otherwise nothing is left pushed. */
int script_table_field(lua_State *L, const char *name, int type);

/* Nonzero when the error table on top came from a command's reply (already
 * counted in errorstats). */
int script_error_counted(lua_State *L);

/* Reply an error without counting it in errorstats again. */
void script_reply_error_uncounted(struct client *c, const char *msg);

#endif
