/* cmsgpack for scripts: pack, unpack, unpack_one, unpack_limit. */
#ifndef CACHELY_NODE_SCRIPT_MSGPACK_H
#define CACHELY_NODE_SCRIPT_MSGPACK_H

struct lua_State;

/* Push the cmsgpack table (a lua_CFunction). */
int script_msgpack_open(struct lua_State *L);

#endif
