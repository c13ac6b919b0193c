/* Function libraries and their commands: FUNCTION LOAD/DELETE/FLUSH/DUMP/
 * RESTORE/LIST/STATS/KILL/HELP, FCALL and FCALL_RO. */
#include "node/function.h"
#include "core/resp.h"
#include "node/monitor.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/propagate.h"
#include "node/scripting.h"
#include "node/server.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>

struct function_def {
    char *name;                  /* owned */
    char *desc;                  /* owned or NULL */
    unsigned flags;              /* enum script_flag */
    int ref;                     /* the callback, in the interpreter's registry */
};

struct function_lib {
    char *name;                  /* owned */
    char *code;                  /* owned */
    size_t code_len;
    struct function_def *fns;    /* owned array */
    size_t nfns;
    struct function_lib *next;   /* owned: load order */
};

/* One server per process: the libraries live with its interpreter. */
static struct function_lib *libs;
/* The library being loaded (redis.register_function adds to it). */
static struct function_lib *loading;

void
function_stats(size_t *nfunctions, size_t *nlibraries, size_t *bytes)
{
    *nfunctions = *nlibraries = *bytes = 0;
    for (const struct function_lib *l = libs; l != NULL; l = l->next) {
        (*nlibraries)++;
        *nfunctions += l->nfns;
        *bytes += sizeof(*l) + strlen(l->name) + 1 + l->code_len + l->nfns * sizeof(*l->fns);
        for (size_t i = 0; i < l->nfns; i++) {
            *bytes += strlen(l->fns[i].name) + 1
                      + (l->fns[i].desc != NULL ? strlen(l->fns[i].desc) + 1 : 0);
        }
    }
}

static void
lib_free(struct function_lib *l, lua_State *L)
{
    for (size_t i = 0; i < l->nfns; i++) {
        if (L != NULL) {
            luaL_unref(L, LUA_REGISTRYINDEX, l->fns[i].ref);
        }
        mem_free(l->fns[i].name);
        mem_free(l->fns[i].desc);
    }
    mem_free(l->fns);
    mem_free(l->name);
    mem_free(l->code);
    mem_free(l);
}

void
function_clear(struct server *srv)
{
    (void)srv;
    while (libs != NULL) {
        struct function_lib *next = libs->next;
        lib_free(libs, NULL); /* the interpreter is being reset */
        libs = next;
    }
}

void
function_each_code(struct server *srv, void (*fn)(void *, const char *, size_t), void *arg)
{
    (void)srv;
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        fn(arg, l->code, l->code_len);
    }
}

static struct function_lib *
lib_find(const char *name, size_t len)
{
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        if (strlen(l->name) == len && memcmp(l->name, name, len) == 0) {
            return l;
        }
    }
    return NULL;
}

static struct function_def *
function_find(const char *name, size_t len, struct function_lib *skip)
{
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        if (l == skip) {
            continue;
        }
        for (size_t i = 0; i < l->nfns; i++) {
            /* Function names are case-insensitive across libraries, as in
             * Redis 7.0 (FCALL test finds TEST; a library may not add Test
             * beside another's test). */
            if (strlen(l->fns[i].name) == len && strncasecmp(l->fns[i].name, name, len) == 0) {
                return &l->fns[i];
            }
        }
    }
    return NULL;
}

static int
valid_name(const char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_')) {
            return 0;
        }
    }
    return 1;
}

static int
lua_raise(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushstring(L, msg);
    lua_settable(L, -3);
    return lua_error(L);
}

/* FUNCTION LOAD's time limit for running a library's chunk, as Redis
 * 7.0's (LOAD_TIMEOUT_MS): a chunk that loops forever fails the load
 * instead of hanging the server.  What applies libraries accepted before
 * (snapshot and AOF loading, our master's link: CLIENT_MASTER) has none,
 * so a slower moment cannot drop a library (Redis's RDB load has none). */
#define LOAD_TIMEOUT_US (500 * 1000LL)
static long long load_deadline_us; /* monotonic; 0: no limit */

static void
load_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (load_deadline_us > 0 && util_monotonic_us() > load_deadline_us) {
        /* Every line from now on, in case a pcall caught it. */
        lua_sethook(L, load_hook, LUA_MASKLINE, 0);
        lua_raise(L, "ERR FUNCTION LOAD timeout");
    }
}

/* Where the libraries' globals resolve names: the table registered as
 * "cachely_load_globals" (the load API) while a library's chunk runs, the
 * scripts' globals "cachely_globals" otherwise (see the sandbox). */
static void
load_env_resolve(lua_State *L, const char *table)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "cachely_load_mt");
    lua_pushstring(L, "__index");
    lua_getfield(L, LUA_REGISTRYINDEX, table);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags=, description=} */
int
function_lua_register(lua_State *L)
{
    struct function_lib *l = loading;
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0;
    unsigned flags = 0;
    int argc = lua_gettop(L);

    if (l == NULL) {
        return lua_raise(L, "ERR redis.register_function can only be called on FUNCTION LOAD command");
    }
    if (argc == 1) {
        if (!lua_istable(L, 1)) {
            return lua_raise(L, "ERR calling redis.register_function with a single argument is only "
                                "applicable to Lua table (representing named arguments).");
        }
        /* A callback left by a call that failed after reading it must not
         * stand in for a missing one. */
        lua_pushnil(L);
        lua_setfield(L, LUA_REGISTRYINDEX, "cachely_pending_cb");
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            /* Redis 7.0 takes a number as a string here (and then finds
             * no such argument); names in any case; numbers as names. */
            if (lua_type(L, -2) == LUA_TNUMBER) {
                return lua_raise(L, "ERR unknown argument given to redis.register_function");
            }
            if (lua_type(L, -2) != LUA_TSTRING) {
                return lua_raise(L, "ERR named argument key given to redis.register_function is not a string");
            }
            const char *k = lua_tostring(L, -2);
            if (strcasecmp(k, "function_name") == 0) {
                if (!lua_isstring(L, -1)) {
                    return lua_raise(L, "ERR function_name argument given to redis.register_function must be a string");
                }
                name = lua_tolstring(L, -1, &nlen);
            } else if (strcasecmp(k, "description") == 0) {
                if (!lua_isstring(L, -1)) {
                    return lua_raise(L, "ERR description argument given to redis.register_function must be a string");
                }
                desc = lua_tostring(L, -1);
            } else if (strcasecmp(k, "callback") == 0) {
                if (lua_type(L, -1) != LUA_TFUNCTION) {
                    return lua_raise(L, "ERR callback argument given to redis.register_function must be a function");
                }
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "cachely_pending_cb");
            } else if (strcasecmp(k, "flags") == 0) {
                if (lua_type(L, -1) != LUA_TTABLE) {
                    return lua_raise(L, "ERR flags argument to redis.register_function must be a table representing function flags");
                }
                for (int j = 1;; j++) {
                    lua_rawgeti(L, -1, j);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        break;
                    }
                    size_t fl;
                    const char *f = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &fl) : NULL;
                    int bit = f ? scripting_flag_parse(f, fl) : -1;
                    if (bit < 0) {
                        return lua_raise(L, "ERR unknown flag given");
                    }
                    flags |= (unsigned)bit;
                    lua_pop(L, 1);
                }
            } else {
                return lua_raise(L, "ERR unknown argument given to redis.register_function");
            }
            lua_pop(L, 1);
        }
        if (name == NULL) {
            return lua_raise(L, "ERR redis.register_function must get a function name argument");
        }
        lua_getfield(L, LUA_REGISTRYINDEX, "cachely_pending_cb");
        if (!lua_isfunction(L, -1)) {
            return lua_raise(L, "ERR redis.register_function must get a callback argument");
        }
    } else if (argc == 2) {
        if (!lua_isstring(L, 1)) {
            return lua_raise(L, "ERR first argument to redis.register_function must be a string");
        }
        if (lua_type(L, 2) != LUA_TFUNCTION) {
            return lua_raise(L, "ERR second argument to redis.register_function must be a function");
        }
        name = lua_tolstring(L, 1, &nlen);
        lua_pushvalue(L, 2);
    } else {
        return lua_raise(L, "ERR wrong number of arguments to redis.register_function");
    }
    /* the callback is on top */
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_pending_cb");
    if (!valid_name(name, nlen)) {
        return lua_raise(L, "ERR Library names can only contain letters, numbers, or "
                            "underscores(_) and must be at least one character long");
    }
    for (size_t i = 0; i < l->nfns; i++) {
        if (strlen(l->fns[i].name) == nlen && memcmp(l->fns[i].name, name, nlen) == 0) {
            return lua_raise(L, "ERR Function already exists in the library");
        }
    }
    l->fns = mem_realloc(l->fns, (l->nfns + 1) * sizeof(*l->fns));
    struct function_def *d = &l->fns[l->nfns++];
    d->name = mem_strndup(name, nlen);
    d->desc = desc ? mem_strdup(desc) : NULL;
    d->flags = flags;
    d->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Read a library's first line: its name into name (cap 256).  Returns
 * the line's length, or -1 after writing Redis's error into err. */
static long
library_header(const char *code, size_t len, char *name, char *err, size_t errcap)
{
    const char *nl = memchr(code, '\n', len);
    size_t hlen = nl ? (size_t)(nl - code) : len;

    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errcap, "Missing library metadata");
        return -1;
    }
    /* "#!<engine> name=<lib>": the line split as Redis 7.0 splits it (shell
     * quoting, as in redis-cli), the metadata checked before the name and
     * the name before the engine. */
    if (nl == NULL) {
        snprintf(err, errcap, "Invalid library metadata");
        return -1;
    }
    char engine[256];
    char *buf = mem_alloc(hlen + 1);
    struct resp_arg *parts = mem_alloc((hlen / 2 + 2) * sizeof(*parts));
    long nparts = resp_split_inline(code, hlen, buf, parts);
    int have_name = 0, bad = nparts <= 0;
    if (bad) {
        snprintf(err, errcap, "Invalid library metadata");
    }
    for (long i = 0; !bad && i < nparts; i++) {
        const struct resp_arg *a = &parts[i];
        if (i == 0) {
            snprintf(engine, sizeof(engine), "%.*s", a->len >= 2 ? (int)a->len - 2 : 0,
                     a->len >= 2 ? a->ptr + 2 : "");
        } else if (a->len >= 5 && strncasecmp(a->ptr, "name=", 5) == 0) {
            if (have_name) {
                snprintf(err, errcap, "Invalid metadata value, name argument was given multiple times");
                bad = 1;
            }
            have_name = 1;
            snprintf(name, 256, "%.*s", (int)a->len - 5, a->ptr + 5);
        } else {
            snprintf(err, errcap, "Invalid metadata value given: %.*s", (int)a->len, a->ptr);
            bad = 1;
        }
    }
    mem_free(buf);
    mem_free(parts);
    if (bad) {
        return -1;
    }
    if (!have_name) {
        snprintf(err, errcap, "Library name was not given");
        return -1;
    }
    if (!valid_name(name, strlen(name))) {
        snprintf(err, errcap, "Library names can only contain letters, numbers, or "
                              "underscores(_) and must be at least one character long");
        return -1;
    }
    if (strcasecmp(engine, "lua") != 0) {
        snprintf(err, errcap, "Engine '%s' not found", engine);
        return -1;
    }
    return (long)hlen;
}

/* Load (or replace) a library from its source, its chunk limited in time
 * when timeout is set.  Returns 0, or -1 after writing the error into err. */
static int
library_load(struct server *srv, const char *code, size_t len, int replace, int timeout,
             char *err, size_t errcap, const char **libname)
{
    lua_State *L = scripting_lua(srv, SCRIPTING_FUNCTION);
    char name[256] = "";
    long h = library_header(code, len, name, err, errcap);
    if (h < 0) {
        return -1;
    }
    size_t hlen = (size_t)h;
    struct function_lib *old = lib_find(name, strlen(name));
    if (old != NULL && !replace) {
        snprintf(err, errcap, "Library '%s' already exists", name);
        return -1;
    }
    struct function_lib *l = mem_calloc(sizeof(*l));
    l->name = mem_strdup(name);
    l->code = mem_strndup(code, len);
    l->code_len = len;

    /* Compile with the header commented out by the loader: skip it. */
    if (luaL_loadbuffer(L, code + hlen, len - hlen, "@user_function") != 0) {
        snprintf(err, errcap, "Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        lib_free(l, L);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "cachely_load_env");
    lua_setfenv(L, -2);
    lua_getglobal(L, "cachely_err_handler");
    lua_insert(L, -2);
    loading = l;
    load_env_resolve(L, "cachely_load_globals");
    if (timeout) {
        load_deadline_us = util_monotonic_us() + LOAD_TIMEOUT_US;
        lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    }
    int rc = lua_pcall(L, 0, 0, -2);
    lua_sethook(L, NULL, 0, 0);
    load_deadline_us = 0;
    load_env_resolve(L, "cachely_globals");
    loading = NULL;
    if (rc != 0) {
        const char *msg = "execution failure";
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) {
                msg = lua_tostring(L, -1);
            }
            snprintf(err, errcap, "Error registering functions: %s", msg);
            lua_pop(L, 1);
        } else {
            if (lua_isstring(L, -1)) {
                msg = lua_tostring(L, -1);
            }
            snprintf(err, errcap, "Error registering functions: %s", msg);
        }
        lua_pop(L, 2);
        lib_free(l, L);
        return -1;
    }
    lua_pop(L, 1);
    if (l->nfns == 0) {
        snprintf(err, errcap, "No functions registered");
        lib_free(l, L);
        return -1;
    }
    for (size_t i = 0; i < l->nfns; i++) {
        if (function_find(l->fns[i].name, strlen(l->fns[i].name), old) != NULL) {
            snprintf(err, errcap, "Function %s already exists", l->fns[i].name);
            lib_free(l, L);
            return -1;
        }
    }
    /* The callbacks run with the scripts' globals, not the load API. */
    for (size_t i = 0; i < l->nfns; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, l->fns[i].ref);
        lua_getfield(L, LUA_REGISTRYINDEX, "cachely_env");
        lua_setfenv(L, -2);
        lua_pop(L, 1);
    }
    struct function_lib **pp = &libs;
    if (old != NULL) {
        for (pp = &libs; *pp != old; pp = &(*pp)->next) {
        }
        l->next = old->next;
        *pp = l;
        lib_free(old, L);
    } else {
        while (*pp != NULL) {
            pp = &(*pp)->next;
        }
        *pp = l;
    }
    *libname = l->name;
    return 0;
}

static int
arg_is(const struct client *c, size_t i, const char *word)
{
    return i < c->argc && c->argv[i].len == strlen(word)
           && strncasecmp(c->argv[i].ptr, word, c->argv[i].len) == 0;
}

void
cmd_function_load(struct client *c)
{
    int replace = 0;
    size_t i = c->argc - 1; /* the code is the last argument */
    char err[600];
    const char *name;
    /* Redis 7.0: every argument before the code is an option; REPLACE is
     * the only one (it may repeat). */
    for (size_t k = 2; k < i; k++) {
        if (!arg_is(c, k, "replace")) {
            reply_errorf(c, "Unknown option given: %.*s", (int)c->argv[k].len,
                            c->argv[k].ptr);
            return;
        }
        replace = 1;
    }
    if (library_load(c->srv, c->argv[i].ptr, c->argv[i].len, replace,
                     !(c->flags & CLIENT_MASTER), err,
                     sizeof(err), &name) != 0) {
        reply_error(c, err);
        return;
    }
    c->srv->ks.dirty++;
    reply_bulk_cstr(c, name);
}

void
cmd_function_delete(struct client *c)
{
    struct function_lib *l = lib_find(c->argv[2].ptr, c->argv[2].len);
    if (l == NULL) {
        reply_error(c, "Library not found");
        return;
    }
    struct function_lib **pp = &libs;
    while (*pp != l) {
        pp = &(*pp)->next;
    }
    *pp = l->next;
    lib_free(l, scripting_lua(c->srv, SCRIPTING_FUNCTION));
    c->srv->ks.dirty++;
    reply_ok(c);
}

/* A FUNCTION subcommand given too many arguments: Redis 7.0's wording,
 * the subcommand as it was spelled. */
static void
reply_function_arity(struct client *c)
{
    int n = (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len);
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try FUNCTION HELP.",
                 n, c->argv[1].ptr);
}

void
cmd_function_flush(struct client *c)
{
    if (c->argc > 3) {
        reply_function_arity(c);
        return;
    }
    if (c->argc == 3 && !arg_is(c, 2, "async") && !arg_is(c, 2, "sync")) {
        reply_error(c, "FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    function_clear(c->srv);
    scripting_reset(c->srv, SCRIPTING_FUNCTION);
    c->srv->ks.dirty++;
    reply_ok(c);
}

/* Our own dump format (not Redis's RDB payload): a magic word, then each
 * library's source as a 4-byte big-endian length and the bytes. */
static const char dump_magic[] = "CACHELY-FUNCTIONS-1";

void
cmd_function_dump(struct client *c)
{
    size_t total = sizeof(dump_magic) - 1;
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        total += 4 + l->code_len;
    }
    char *buf = mem_alloc(total);
    size_t off = sizeof(dump_magic) - 1;
    memcpy(buf, dump_magic, off);
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        uint32_t n = (uint32_t)l->code_len;
        unsigned char hdr[4] = {n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff};
        memcpy(buf + off, hdr, 4);
        memcpy(buf + off + 4, l->code, l->code_len);
        off += 4 + l->code_len;
    }
    reply_bulk(c, buf, total);
    mem_free(buf);
}

void
cmd_function_restore(struct client *c)
{
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    const char *p = c->argv[2].ptr;
    size_t len = c->argv[2].len, mlen = sizeof(dump_magic) - 1, off;
    char err[600];
    const char *name;
    if (c->argc > 4) {
        reply_function_arity(c);
        return;
    }
    if (c->argc == 4) {
        if (arg_is(c, 3, "append")) {
            policy = APPEND;
        } else if (arg_is(c, 3, "replace")) {
            policy = REPLACE;
        } else if (arg_is(c, 3, "flush")) {
            policy = FLUSH;
        } else {
            reply_error(c, "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    if (len < mlen || memcmp(p, dump_magic, mlen) != 0) {
        reply_error(c, "DUMP payload version or checksum are wrong");
        return;
    }
    for (off = mlen; off + 4 <= len;) {
        const unsigned char *h = (const unsigned char *)p + off;
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (off + 4 + n > len) {
            break;
        }
        off += 4 + n;
    }
    if (off != len) {
        reply_error(c, "DUMP payload version or checksum are wrong");
        return;
    }
    if (policy == APPEND) {
        /* Redis 7.0 restores all or nothing, and names a library that is
         * already there its own way (no quotes, unlike FUNCTION LOAD). */
        for (off = mlen; off < len;) {
            const unsigned char *h = (const unsigned char *)p + off;
            size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
            char lname[256] = "";
            if (library_header(p + off + 4, n, lname, err, sizeof(err)) >= 0
                && lib_find(lname, strlen(lname)) != NULL) {
                reply_errorf(c, "Library %s already exists", lname);
                return;
            }
            off += 4 + n;
        }
    }
    if (policy == FLUSH) {
        function_clear(c->srv);
        scripting_reset(c->srv, SCRIPTING_FUNCTION);
    }
    for (off = mlen; off < len;) {
        const unsigned char *h = (const unsigned char *)p + off;
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (library_load(c->srv, p + off + 4, n, policy == REPLACE, !(c->flags & CLIENT_MASTER),
                         err, sizeof(err),
                         &name) != 0) {
            reply_error(c, err);
            c->srv->ks.dirty++;
            return;
        }
        off += 4 + n;
    }
    c->srv->ks.dirty++;
    reply_ok(c);
}

static void
reply_flags(struct client *c, unsigned flags)
{
    static const char *const names[] = {"no-writes", "allow-oom", "allow-stale",
                                        "no-cluster", "allow-cross-slot-keys"};
    long long n = 0;
    for (int i = 0; i < 5; i++) {
        n += (flags >> i) & 1;
    }
    reply_set_len(c, n);
    for (int i = 0; i < 5; i++) {
        if (flags & (1u << i)) {
            reply_status(c, names[i]);
        }
    }
}

void
cmd_function_list(struct client *c)
{
    int withcode = 0;
    const char *pattern = NULL;
    size_t plen = 0;
    for (size_t i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "withcode") && !withcode) {
            withcode = 1;
        } else if (arg_is(c, i, "libraryname") && pattern == NULL) {
            if (i + 1 >= c->argc) {
                reply_error(c, "library name argument was not given");
                return;
            }
            pattern = c->argv[++i].ptr;
            plen = c->argv[i].len;
        } else {
            reply_errorf(c, "Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].ptr);
            return;
        }
    }
    long long n = 0;
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        if (pattern == NULL || util_glob_match(pattern, plen, l->name, strlen(l->name), 0)) {
            n++;
        }
    }
    reply_array_len(c, n);
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        if (pattern != NULL && !util_glob_match(pattern, plen, l->name, strlen(l->name), 0)) {
            continue;
        }
        reply_map_len(c, withcode ? 4 : 3);
        reply_bulk_cstr(c, "library_name");
        reply_bulk_cstr(c, l->name);
        reply_bulk_cstr(c, "engine");
        reply_bulk_cstr(c, "LUA");
        reply_bulk_cstr(c, "functions");
        reply_array_len(c, (long long)l->nfns);
        for (size_t i = 0; i < l->nfns; i++) {
            reply_map_len(c, 3);
            reply_bulk_cstr(c, "name");
            reply_bulk_cstr(c, l->fns[i].name);
            reply_bulk_cstr(c, "description");
            if (l->fns[i].desc) {
                reply_bulk_cstr(c, l->fns[i].desc);
            } else {
                reply_null(c);
            }
            reply_bulk_cstr(c, "flags");
            reply_flags(c, l->fns[i].flags);
        }
        if (withcode) {
            reply_bulk_cstr(c, "library_code");
            reply_bulk(c, l->code, l->code_len);
        }
    }
}

void
cmd_function_stats(struct client *c)
{
    const char *name;
    enum scripting_engine_kind kind;
    long long ms;
    struct client *caller = scripting_running(c->srv, &name, &kind, &ms);
    long long nlibs = 0, nfns = 0;
    for (struct function_lib *l = libs; l != NULL; l = l->next) {
        nlibs++;
        nfns += (long long)l->nfns;
    }
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "running_script");
    if (caller == NULL || kind != SCRIPTING_FUNCTION) {
        reply_null(c);
    } else {
        reply_map_len(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, name);
        reply_bulk_cstr(c, "command");
        reply_array_len(c, (long long)caller->argc);
        for (size_t i = 0; i < caller->argc; i++) {
            reply_bulk(c, caller->argv[i].ptr, caller->argv[i].len);
        }
        reply_bulk_cstr(c, "duration_ms");
        reply_int(c, ms);
    }
    reply_bulk_cstr(c, "engines");
    reply_map_len(c, 1);
    reply_bulk_cstr(c, "LUA");
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "libraries_count");
    reply_int(c, nlibs);
    reply_bulk_cstr(c, "functions_count");
    reply_int(c, nfns);
}

void
cmd_function_kill(struct client *c)
{
    scripting_kill(c, SCRIPTING_FUNCTION);
}

void
cmd_function_help(struct client *c)
{
    static const char *const lines[] = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        NULL,
    };
    reply_help(c, "FUNCTION", lines);
}

/* Parse numkeys at argv[2]: 0 and the count, or -1 after replying. */
int
function_numkeys(struct client *c, long long *numkeys)
{
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, numkeys) != 0) {
        reply_not_integer(c);
        return -1;
    }
    if (*numkeys > (long long)c->argc - 3) {
        reply_error(c, "Number of keys can't be greater than number of args");
        return -1;
    }
    if (*numkeys < 0) {
        reply_error(c, "Number of keys can't be negative");
        return -1;
    }
    return 0;
}

static void
fcall(struct client *c, int readonly)
{
    long long numkeys;
    if (c->srv->monitors.n > 0) {
        monitor_feed_now(c); /* before the commands its function runs */
    }
    struct function_def *d = function_find(c->argv[1].ptr, c->argv[1].len, NULL);
    if (d == NULL) {
        reply_error(c, "Function not found");
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &numkeys) != 0) {
        /* FCALL's own wording; EVAL's is the generic not-an-integer. */
        reply_error(c, "Bad number of keys provided");
        return;
    }
    if (function_numkeys(c, &numkeys) != 0) {
        return;
    }
    if (readonly && !(d->flags & SCRIPT_FLAG_NO_WRITES)) {
        reply_error(c, "Can not execute a script with write flag using *_ro command.");
        return;
    }
    lua_State *L = scripting_lua(c->srv, SCRIPTING_FUNCTION);
    lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref);
    scripting_run(c->srv, SCRIPTING_FUNCTION, c, d->name, d->flags, readonly,
                  (size_t)numkeys, c->argv + 3, c->argc - 3 - (size_t)numkeys,
                  c->argv + 3 + numkeys);
}

void
cmd_fcall(struct client *c)
{
    fcall(c, 0);
}

void
cmd_fcall_ro(struct client *c)
{
    fcall(c, 1);
}
