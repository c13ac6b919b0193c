/* struct for scripts: pack, unpack, size. */
#ifndef CACHELY_NODE_SCRIPT_STRUCT_H
#define CACHELY_NODE_SCRIPT_STRUCT_H

struct lua_State;

/* Push the struct table (a lua_CFunction). */
int script_struct_open(struct lua_State *L);

#endif
