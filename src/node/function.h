/* Function libraries (FUNCTION LOAD ... / FCALL): the registry of loaded
 * libraries, their functions and flags, in the libraries' Lua interpreter
 * (scripting.c).  Libraries persist through the snapshot and the AOF as
 * FUNCTION LOAD commands and replicate as the commands that change them. */
#ifndef CACHELY_NODE_FUNCTION_H
#define CACHELY_NODE_FUNCTION_H

#include <stddef.h>

struct server;
struct client;
struct lua_State;

/* redis.register_function, available while a library loads. */
int function_lua_register(struct lua_State *L);
/* How many functions and libraries are loaded, and about how many bytes
 * their registry takes (INFO memory). */
void function_stats(size_t *nfunctions, size_t *nlibraries, size_t *bytes);
/* Forget every library (the interpreter is reset by the caller). */
void function_clear(struct server *srv);
/* Call fn(arg, code, len) for each library's source, in load order (the
 * snapshot and AOF rewrite write them as FUNCTION LOAD commands). */
void function_each_code(struct server *srv,
                        void (*fn)(void *arg, const char *code, size_t len),
                        void *arg);

/* EVAL's and FCALL's numkeys at argv[2]: 0 with *numkeys set, or -1 after
 * replying with Redis's error. */
int function_numkeys(struct client *c, long long *numkeys);

#endif
