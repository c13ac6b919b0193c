/* The Lua runtime shared by EVAL scripts and FUNCTION libraries: the
 * sandboxed interpreters, the redis.* API, RESP <-> Lua conversions, and
 * the running script with its busy and kill handling. */
#include "node/acl.h"
#include "node/scripting.h"
#include "node/script_convert.h"
#include "node/script_msgpack.h"
#include "node/script_struct.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/sha1.h"
#include "core/util.h"
#include "node/client.h"
#include "node/dispatch.h"
#include "node/evict.h"
#include "node/function.h"
#include "node/handlers.h"
#include "node/repl.h"
#include "node/server.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <lua-bitop.h>
#include <lua-cjson.h>

#include <event2/event.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOOK_INSTRUCTIONS 100000
#define MAX_NESTING 64

/* The script being run (one at a time: scripts do not nest). */
struct script_run {
    enum scripting_engine_kind kind;
    struct client *caller;       /* borrowed */
    const char *funcname;        /* borrowed from the caller's frame */
    unsigned flags;              /* enum script_flag */
    int readonly;                /* EVAL_RO / FCALL_RO / no-writes */
    int resp;                    /* redis.setresp: 2 or 3 */
    int wrote;                   /* a command changed the dataset */
    int killed;                  /* SCRIPT KILL / FUNCTION KILL */
    int busy;                    /* past busy-reply-threshold */
    long long start_ms;
};

/* One EVAL script in the cache: its compiled function is held in the EVAL
 * interpreter's registry by ref. */
struct script_slot {
    char sha[40];                /* lowercase hex; sha[0] == 0: empty slot */
    int ref;                     /* luaL_ref in the EVAL registry */
    unsigned flags;              /* enum script_flag */
};

/* Registry refs of what every run reads, per interpreter: looked up by
 * number rather than by name (a name is hashed and interned each time). */
struct lua_refs {
    int err_handler;             /* cachely_err_handler */
    int globals;                 /* the raw globals table S */
    int env;                     /* the proxy P scripts see (cachely_env) */
    int keys_name, argv_name;    /* the strings "KEYS" and "ARGV" */
};

struct scripting {
    struct server *srv;          /* borrowed */
    lua_State *lua[2];           /* owned: EVAL's and the libraries' */
    struct lua_refs refs[2];     /* into lua[kind]'s registry */
    struct client *fake;         /* owned: runs the scripts' commands */
    struct script_run *run;      /* borrowed from scripting_run's frame */
    unsigned long long runs;     /* scripts run (paces the GC steps) */
    int gc_live_kb[2];           /* lua[kind]'s heap after its last full GC cycle */
    /* The EVAL scripts by SHA-1: open addressing, at most half full.  An
     * EVALSHA finds its function and flags here with one hash of the SHA
     * and one registry index, instead of formatting "f_<sha>" and "F_<sha>"
     * and looking both up as Lua strings (a sixth of a small script's
     * cost).  Emptied with the interpreter (SCRIPT FLUSH). */
    struct script_slot *scripts; /* owned */
    size_t nscripts, scripts_cap;
};

/* The hook and the C functions reach the state through this (one server
 * per process). */
static struct scripting *current;

/* ---- the interpreters' allocator -----------------------------------------
 * Every run makes and its GC frees a few small blocks (the KEYS and ARGV
 * tables and strings, the call's values): freed blocks of up to 256 bytes
 * wait in lists by 16-byte class for the next run, up to 64 KB in all,
 * instead of a malloc and a free each.  Lua gives every block's size back
 * when it frees or resizes it. */
#define LPOOL_CLASSES 16
#define LPOOL_MAX_BYTES (64 * 1024)

struct lpool {
    void *free[LPOOL_CLASSES]; /* singly linked through each block's first word */
    size_t bytes;              /* held in the lists */
};

static void
lpool_put(struct lpool *p, void *ptr, size_t size)
{
    if (size > LPOOL_CLASSES * 16) {
        free(ptr);
        return;
    }
    size_t c = (size - 1) / 16, bsize = (c + 1) * 16;
    if (p->bytes + bsize > LPOOL_MAX_BYTES) {
        free(ptr);
        return;
    }
    *(void **)ptr = p->free[c];
    p->free[c] = ptr;
    p->bytes += bsize;
}

static void *
lpool_get(struct lpool *p, size_t size)
{
    if (size > LPOOL_CLASSES * 16) {
        return malloc(size);
    }
    size_t c = (size - 1) / 16;
    void *b = p->free[c];
    if (b != NULL) {
        p->free[c] = *(void **)b;
        p->bytes -= (c + 1) * 16;
        return b;
    }
    return malloc((c + 1) * 16);
}

static void *
lpool_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lpool *p = ud;
    const size_t small = LPOOL_CLASSES * 16;
    if (nsize == 0) {
        if (ptr != NULL) {
            lpool_put(p, ptr, osize);
        }
        return NULL;
    }
    if (ptr == NULL) {
        return lpool_get(p, nsize);
    }
    if (osize > small && nsize > small) {
        return realloc(ptr, nsize);
    }
    if (osize <= small && nsize <= small && (osize - 1) / 16 == (nsize - 1) / 16) {
        return ptr; /* the same class: the block has the room */
    }
    void *b = lpool_get(p, nsize);
    if (b == NULL) {
        /* Lua requires a shrink never to fail: keep the larger block (a
         * later free files it by the smaller size, which it has room for). */
        return nsize < osize ? ptr : NULL;
    }
    memcpy(b, ptr, osize < nsize ? osize : nsize);
    lpool_put(p, ptr, osize);
    return b;
}

static int
lpool_panic(lua_State *L)
{
    log_error("Lua: unprotected error in call to Lua API (%s)",
              lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    return 0;
}

static lua_State *
lpool_newstate(void)
{
    struct lpool *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    lua_State *L = lua_newstate(lpool_alloc, p);
    if (L == NULL) {
        free(p);
        return NULL;
    }
    lua_atpanic(L, lpool_panic);
    return L;
}

/* Close L, then free its allocator's lists. */
static void
lpool_close(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    lua_close(L);
    struct lpool *p = ud;
    for (size_t c = 0; c < LPOOL_CLASSES; c++) {
        while (p->free[c] != NULL) {
            void *b = p->free[c];
            p->free[c] = *(void **)b;
            free(b);
        }
    }
    free(p);
}

/* ---- the sandbox ---------------------------------------------------------
 * Scripts see a read-only view of a globals table (S, in the registry as
 * "cachely_globals") through a proxy: reading a name that does not exist
 * and writing any name are errors, with Redis 7's messages, and the
 * libraries are read-only views too.  KEYS and ARGV are set in S by C
 * before each EVAL.  The error handler turns every error into Redis's
 * {err=, source=, line=} table. */
static const char sandbox_src[] =
    "local dbg, G = debug, _G\n"
    "local setmetatable, rawget, error, tostring, type, pairs, setfenv ="
    " setmetatable, rawget, error, tostring, type, pairs, setfenv\n"
    "local loadstring, load = loadstring, load\n"
    "G.cachely_err_handler = function(err)\n"
    "  local lv = 2\n"
    "  local i = dbg.getinfo(lv, 'nSl')\n"
    "  while i and (i.what == 'C' or i.source == '=sandbox') do\n"
    "    lv = lv + 1\n"
    "    i = dbg.getinfo(lv, 'nSl')\n"
    "  end\n"
    "  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end\n"
    "  if i then err.source = i.source; err.line = i.currentline end\n"
    "  return err\n"
    "end\n"
    "local proxies = setmetatable({}, {__mode = 'k'})\n"
    "-- A read goes to t as a table __index, without a Lua call per read\n"
    "-- (a function __index was a fifth of a small script's time); strict,\n"
    "-- t itself raises on a name it lacks.\n"
    "local function missing(_, k)\n"
    "  error(\"Script attempted to access nonexistent global variable '\""
    " .. tostring(k) .. \"'\", 2)\n"
    "end\n"
    "local function ro(t, strict)\n"
    "  local p = {}\n"
    "  proxies[p] = true\n"
    "  if strict then setmetatable(t, {__index = missing, __metatable = false}) end\n"
    "  return setmetatable(p, {\n"
    "    __index = t,\n"
    "    __newindex = function() error('Attempt to modify a readonly table', 2) end,\n"
    "    __metatable = false})\n"
    "end\n"
    "G.cachely_ro = ro\n"
    "-- the strings' metatable is shared by every script: scripts see a\n"
    "-- read-only view of it\n"
    "local smt = dbg.getmetatable('')\n"
    "smt.__metatable = ro(smt, false)\n"
    "local hidden = {debug=1, os=1, io=1, loadfile=1, dofile=1, require=1,"
    " module=1, package=1, getfenv=1, setfenv=1, newproxy=1, print=1,"
    " gcinfo=1, cachely_err_handler=1, cachely_ro=1, cachely_lib_api=1}\n"
    "local libs = {string=1, table=1, math=1, bit=1, cjson=1, cmsgpack=1, struct=1, redis=1,"
    " coroutine=1}\n"
    "local S = {}\n"
    "local P = ro(S, true)\n"
    "for k, v in pairs(G) do\n"
    "  if not hidden[k] then\n"
    "    if libs[k] then S[k] = ro(v, false) else S[k] = v end\n"
    "  end\n"
    "end\n"
    "S._G = P\n"
    "local rawset_, setmetatable_ = rawset, setmetatable\n"
    "S.rawset = function(t, k, v)\n"
    "  if proxies[t] then error('Attempt to modify a readonly table', 0) end\n"
    "  return rawset_(t, k, v)\n"
    "end\n"
    "S.setmetatable = function(t, mt)\n"
    "  if proxies[t] then error('Attempt to modify a readonly table', 0) end\n"
    "  return setmetatable_(t, mt)\n"
    "end\n"
    "-- Precompiled (binary) chunks are refused: Redis's Lua reads every\n"
    "-- chunk as text, and bytecode can break out of the sandbox.  A chunk\n"
    "-- starting with the signature byte (27) goes to the text parser behind\n"
    "-- a space, under its own chunk name: Redis's very error.\n"
    "-- argument errors raised at the script's line, as the C functions'\n"
    "local function badarg(fname, want, n, v)\n"
    "  error('bad argument #1 to \\'' .. fname .. '\\' (' .. want .. ' expected, got ' ..\n"
    "        (n == 0 and 'no value' or type(v)) .. ')', 3)\n"
    "end\n"
    "S.loadstring = function(...)\n"
    "  local s, name = ...\n"
    "  local t = type(s)\n"
    "  if t ~= 'string' and t ~= 'number' then badarg('loadstring', 'string', select('#', ...), s) end\n"
    "  if type(s) == 'string' and s:byte(1) == 27 then\n"
    "    return loadstring(' ' .. s, name or s)\n"
    "  end\n"
    "  local f, e = loadstring(s, name)\n"
    "  if f then setfenv(f, P) end\n"
    "  return f, e\n"
    "end\n"
    "S.load = function(...)\n"
    "  local fn, name = ...\n"
    "  if type(fn) ~= 'function' then badarg('load', 'function', select('#', ...), fn) end\n"
    "  local rd\n"
    "  do\n"
    "    local first = true\n"
    "    rd = function()\n"
    "      local piece = fn()\n"
    "      if first and type(piece) == 'string' and piece ~= '' then\n"
    "        first = false\n"
    "        if piece:byte(1) == 27 then return ' ' .. piece end\n"
    "      end\n"
    "      return piece\n"
    "    end\n"
    "  end\n"
    "  local f, e = load(rd, name)\n"
    "  if f then setfenv(f, P) end\n"
    "  return f, e\n"
    "end\n"
    "-- A library's code runs in LP, one table for its load and its calls,\n"
    "-- as Redis 7.0's: while FUNCTION LOAD runs the chunk, names resolve in\n"
    "-- L (the library API alone: redis.register_function, redis.log...);\n"
    "-- afterwards, in S.  C switches LPmt.__index (function.c), so a local\n"
    "-- function defined at load time finds the runtime redis when called.\n"
    "local L = {}\n"
    "if G.cachely_lib_api then L.redis = ro(G.cachely_lib_api, true) end\n"
    "setmetatable(L, {__index = missing, __metatable = false})\n"
    "local LPmt = {__index = S,\n"
    "  __newindex = function() error('Attempt to modify a readonly table', 2) end,\n"
    "  __metatable = false}\n"
    "local LP = setmetatable({}, LPmt)\n"
    "proxies[LP] = true\n"
    "return S, P, LP, L, LPmt\n";

/* ---- redis.* --------------------------------------------------------------- */

/* Raise {err = msg} (Redis's error tables; the handler adds the place). */
static int
raise_error(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushstring(L, msg);
    lua_settable(L, -3);
    return lua_error(L);
}

static void
push_error_table(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushstring(L, msg);
    lua_settable(L, -3);
}

/* A Lua number as Redis 7.0 writes it in a command argument (%.17g). */
static size_t
number_arg(lua_Number num, char *buf, size_t cap)
{
    int n = 0;
    n = snprintf(buf, cap, "%.17g", (double)num);
    return n < 0 ? 0 : (size_t)n;
}

/* The reply text of the fake client, contiguous. */
static char *
fake_reply(struct client *f, size_t *len)
{
    size_t total = f->bufpos + f->reply_bytes, off = f->bufpos;
    char *out = mem_alloc(total + 1);
    memcpy(out, f->buf, f->bufpos);
    for (struct reply_block *b = f->reply; b != NULL; b = b->next) {
        memcpy(out + off, b->data, b->used);
        off += b->used;
    }
    out[off] = '\0';
    *len = off;
    return out;
}

/* A redis.call's arguments read off the Lua stack: strings point into
 * Lua's strings (valid while they stay on the stack), numbers are written
 * as Redis 7.0 writes them (%.17g, whatever their position) into num. */
struct lua_args {
    int argc;
    struct resp_arg *argv;   /* small, or owned when argc > 16 */
    char (*num)[32];         /* small_num, or owned: the numbers' text */
    struct resp_arg small[16];
    char small_num[16][32];
};

static void
lua_args_free(struct lua_args *a)
{
    if (a->argv != a->small) {
        mem_free(a->argv);
        mem_free(a->num);
    }
    a->argv = NULL;
    a->num = NULL;
}

/* Read the argc > 0 values on L's stack into a.  Returns 0, or -1 (a freed)
 * when one is neither a string nor a number. */
static int
lua_args_read(lua_State *L, int argc, struct lua_args *a)
{
    a->argc = argc;
    if (argc <= 16) {
        a->argv = a->small;
        a->num = a->small_num;
    } else {
        a->argv = mem_alloc(sizeof(*a->argv) * (size_t)argc);
        a->num = mem_alloc(sizeof(*a->num) * (size_t)argc);
    }
    for (int i = 0; i < argc; i++) {
        int t = lua_type(L, i + 1);
        if (t == LUA_TNUMBER) {
            a->argv[i].len = number_arg(lua_tonumber(L, i + 1), a->num[i], sizeof(a->num[i]));
            a->argv[i].ptr = a->num[i];
        } else if (t == LUA_TSTRING) {
            size_t len;
            a->argv[i].ptr = (char *)lua_tolstring(L, i + 1, &len);
            a->argv[i].len = len;
        } else {
            lua_args_free(a);
            return -1;
        }
    }
    return 0;
}

/* Check and run one command for the running script; pushes its reply (or
 * an error table).  Returns 1 when the reply is an error. */
static int
script_command(lua_State *L)
{
    struct scripting *s = current;
    struct script_run *run = s->run;
    struct server *srv = s->srv;
    struct client *f = s->fake;
    int argc = lua_gettop(L);
    struct lua_args args;

    if (run == NULL) {
        push_error_table(L, "ERR redis.call is only available while a script runs");
        return 1;
    }
    if (argc == 0) {
        push_error_table(L, "ERR Please specify at least one argument for this redis lib call");
        return 1;
    }
    if (lua_args_read(L, argc, &args) != 0) {
        lua_settop(L, 0);
        push_error_table(L, "ERR Lua redis lib command arguments must be strings or integers");
        return 1;
    }
    struct resp_arg *argv = args.argv;
    const struct command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    const char *err = NULL;
    char aclmsg[512];
    if (cmd != NULL && !handlers_implements(cmd)) {
        cmd = NULL;
    }
    if (cmd != NULL && cmd->nsubs > 0 && argc >= 2) {
        const struct command *sub = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (sub == NULL || handlers_get(sub->id) == NULL) {
            cmd = NULL;
        } else {
            cmd = sub;
        }
    }
    if (cmd != NULL && cmd->nsubs > 0 && argc < 2) {
        /* A container alone (XINFO): its own arity fails first, as in
         * Redis. */
        err = "ERR Wrong number of args calling Redis command from script";
    } else if (cmd == NULL || (handlers_get(cmd->id) == NULL)) {
        err = "ERR Unknown Redis command called from script";
    } else if (!command_arity_ok(cmd, (size_t)argc)) {
        err = "ERR Wrong number of args calling Redis command from script";
    } else if (cmd->flags & CMD_NOSCRIPT) {
        err = "ERR This Redis command is not allowed from script";
    } else if (!(run->caller->flags & CLIENT_AUTHENTICATED)) {
        err = "NOAUTH Authentication required."; /* the caller's user was deleted */
    } else if (run->caller->user != NULL
               && acl_check_client(run->caller, cmd, (size_t)argc, argv, ACL_CTX_LUA,
                                   aclmsg, sizeof(aclmsg)) != ACL_OK) {
        err = aclmsg + 1;
    } else if (cmd->flags & CMD_WRITE) {
        if (run->readonly) {
            err = "ERR Write commands are not allowed from read-only scripts.";
        } else if (repl_is_replica(srv) && !(run->caller->flags & CLIENT_MASTER)) {
            err = "READONLY You can't write against a read only replica.";
        } else if (!repl_is_replica(srv) && srv->cfg.min_replicas_to_write > 0
                   && repl_good_replicas(srv) < srv->cfg.min_replicas_to_write) {
            /* What an EVAL without flags finds only when it writes. */
            err = "NOREPLICAS Not enough good replicas to write.";
        } else if ((cmd->flags & CMD_DENYOOM) && !run->wrote
                   && !(run->flags & SCRIPT_FLAG_ALLOW_OOM)
                   && srv->cfg.maxmemory > 0 && evict_perform(srv) != 0) {
            err = "OOM command not allowed when used memory > 'maxmemory'.";
        }
    }
    if (err != NULL) {
        if (cmd != NULL) {
            /* Redis counts a known command a script could not run as a
             * rejected call of that command (INFO commandstats). */
            srv->cmdstats[cmd->id].rejected_calls++;
        }
        lua_args_free(&args);
        /* The arguments may fill the C stack to Lua's limit (unpack of
         * thousands): make room for the reply by dropping them. */
        lua_settop(L, 0);
        push_error_table(L, err);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "cachely_counted");
        server_count_error(srv, err, strcspn(err, " "));
        return 1;
    }

    long long dirty = srv->ks.dirty;
    f->argc = (size_t)argc;
    f->argv = argv;
    f->resp = run->resp;
    dispatch_call(f, cmd);
    if (srv->ks.dirty != dirty) {
        run->wrote = 1;
    }
    lua_args_free(&args);
    f->argc = 0;
    f->argv = NULL;
    lua_settop(L, 0); /* the arguments are done with: room for the reply */
    if (f->reply == NULL) {
        /* The whole reply is in the client's buffer: read it there. */
        script_resp_to_lua(L, f->buf, f->buf + f->bufpos, 0);
        client_discard_reply(f);
    } else {
        size_t len;
        char *out = fake_reply(f, &len);
        client_discard_reply(f);
        script_resp_to_lua(L, out, out + len, 0);
        mem_free(out);
    }
    if (lua_istable(L, -1) && script_table_field(L, "err", LUA_TSTRING)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "cachely_counted");
        return 1;
    }
    return 0;
}

static int
l_call(lua_State *L)
{
    if (script_command(L)) {
        return lua_error(L);
    }
    return 1;
}

static int
l_pcall(lua_State *L)
{
    script_command(L);
    return 1;
}

/* The global pcall, as Redis 7.0 replaces it: an error table (what
 * redis.call and the API raise) is caught as its "err" string, the way
 * scripts written for Redis before 7 expect.  Called with nothing, Redis's
 * calls its own placeholder and catches "attempt to call a boolean value":
 * so does this. */
static int
l_lua_pcall(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc == 0) {
        lua_pushboolean(L, 1);
        argc = 1;
    }
    lua_pushboolean(L, 1); /* the result's place */
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) {
                lua_replace(L, -2);
            }
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* redis.acl_check_cmd(cmd, args...): may the script's caller run that
 * command with those arguments?  A pure check, as Redis 7.0's: nothing
 * goes to ACL LOG, and arity is not looked at. */
static int
l_acl_check_cmd(lua_State *L)
{
    struct scripting *s = current;
    struct lua_args args;
    int argc = lua_gettop(L);
    if (s->run == NULL) {
        return raise_error(L, "ERR redis.acl_check_cmd can only be called inside a script invocation");
    }
    if (argc == 0) {
        lua_settop(L, 0);
        return raise_error(L, "ERR Please specify at least one argument for this redis lib call");
    }
    if (lua_args_read(L, argc, &args) != 0) {
        lua_settop(L, 0);
        return raise_error(L, "ERR Lua redis lib command arguments must be strings or integers");
    }
    const struct command *cmd = command_lookup(args.argv[0].ptr, args.argv[0].len);
    if (cmd != NULL && cmd->nsubs > 0 && argc >= 2) {
        cmd = command_lookup_sub(cmd, args.argv[1].ptr, args.argv[1].len);
    }
    int allowed = 0;
    if (cmd != NULL) {
        size_t pos;
        allowed = acl_check(s->run->caller->user, cmd, (size_t)argc, args.argv, &pos) == ACL_OK;
    }
    lua_args_free(&args);
    lua_settop(L, 0);
    if (cmd == NULL) {
        return raise_error(L, "ERR Invalid command passed to redis.acl_check_cmd()");
    }
    lua_pushboolean(L, allowed);
    return 1;
}

static int
l_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        push_error_table(L, "ERR wrong number or type of arguments");
        return 1;
    }
    /* Redis 7.0's reading: the code is what comes before the first space
     * (ERR when there is none), the message after it with CR/LF trimmed at
     * both ends; '' gives "ERR ". */
    size_t len;
    const char *msg = lua_tolstring(L, 1, &len);
    if (len > 0 && msg[0] == '-') {
        msg++;
        len--;
    }
    const char *sp = memchr(msg, ' ', len);
    const char *code = sp != NULL ? msg : "ERR";
    size_t codelen = sp != NULL ? (size_t)(sp - msg) : 3;
    if (sp != NULL) {
        len -= (size_t)(sp + 1 - msg);
        msg = sp + 1;
    }
    while (len > 0 && (msg[0] == '\r' || msg[0] == '\n')) {
        msg++;
        len--;
    }
    while (len > 0 && (msg[len - 1] == '\r' || msg[len - 1] == '\n')) {
        len--;
    }
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushlstring(L, code, codelen);
    lua_pushliteral(L, " ");
    lua_pushlstring(L, msg, len);
    lua_concat(L, 3);
    lua_settable(L, -3);
    return 1;
}

static int
l_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
        push_error_table(L, "ERR wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushstring(L, "ok");
    lua_pushvalue(L, 1);
    lua_settable(L, -3);
    return 1;
}

static int
l_sha1hex(lua_State *L)
{
    size_t len;
    char hex[41];
    if (lua_gettop(L) != 1) {
        return raise_error(L, "ERR wrong number of arguments");
    }
    const char *s = lua_tolstring(L, 1, &len);
    sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

enum { LUA_LOG_DEBUG = 0, LUA_LOG_VERBOSE, LUA_LOG_NOTICE, LUA_LOG_WARNING };

static int
l_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) {
        return raise_error(L, "ERR redis.log() requires two arguments or more.");
    }
    if (!lua_isnumber(L, 1)) {
        return raise_error(L, "ERR First argument must be a number (log level).");
    }
    int level = (int)lua_tonumber(L, 1);
    if (level < LUA_LOG_DEBUG || level > LUA_LOG_WARNING) {
        return raise_error(L, "ERR Invalid debug level.");
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (s == NULL) {
            continue;
        }
        if (i > 2) {
            luaL_addchar(&b, ' ');
        }
        luaL_addlstring(&b, s, len);
    }
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    switch (level) {
    case LUA_LOG_DEBUG:
    case LUA_LOG_VERBOSE:
        log_debug("%s", msg);
        break;
    case LUA_LOG_NOTICE:
        log_info("%s", msg);
        break;
    default:
        log_warn("%s", msg);
        break;
    }
    return 0;
}

static int
l_setresp(lua_State *L)
{
    if (lua_gettop(L) != 1) {
        return raise_error(L, "ERR redis.setresp() requires one argument.");
    }
    int v = (int)lua_tonumber(L, 1);
    if (v != 2 && v != 3) {
        return raise_error(L, "ERR RESP version must be 2 or 3.");
    }
    if (current->run != NULL) {
        current->run->resp = v;
    }
    return 0;
}

static int
l_set_repl(lua_State *L)
{
    if (lua_gettop(L) != 1) {
        return raise_error(L, "ERR redis.set_repl() requires one argument.");
    }
    int v = (int)lua_tonumber(L, 1);
    if (v < 0 || v > 3) {
        return raise_error(L, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    }
    return 0; /* effects are always replicated, as in Redis 7 */
}

static int
l_true(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int
l_false(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static int
l_nothing(lua_State *L)
{
    return 0;
}

static void
set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushstring(L, name);
    lua_pushcfunction(L, fn);
    lua_settable(L, -3);
}

static void
set_num(lua_State *L, const char *name, lua_Number v)
{
    lua_pushstring(L, name);
    lua_pushnumber(L, v);
    lua_settable(L, -3);
}

/* Fill the table on top with what both the runtime and the library-load
 * API have (Redis 7.0's load API: the log and the version, no more). */
static void
common_api(lua_State *L)
{
    set_fn(L, "log", l_log);
    set_num(L, "LOG_DEBUG", LUA_LOG_DEBUG);
    set_num(L, "LOG_VERBOSE", LUA_LOG_VERBOSE);
    set_num(L, "LOG_NOTICE", LUA_LOG_NOTICE);
    set_num(L, "LOG_WARNING", LUA_LOG_WARNING);
    lua_pushstring(L, "REDIS_VERSION");
    lua_pushstring(L, "7.0.15");
    lua_settable(L, -3);
    set_num(L, "REDIS_VERSION_NUM", 0x07000f);
}

static lua_State *
lua_create(enum scripting_engine_kind kind)
{
    lua_State *L = lpool_newstate();
    static const luaL_Reg libs[] = {
        {"", luaopen_base},       {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_DBLIBNAME, luaopen_debug},   {"cjson", luaopen_cjson},
        {"bit", luaopen_bit},     {"cmsgpack", script_msgpack_open},
        {"struct", script_struct_open}, {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->func; l++) {
        lua_pushcfunction(L, l->func);
        lua_pushstring(L, l->name);
        lua_call(L, 1, 1);
        if (l->name[0] != '\0' && lua_istable(L, -1)) {
            lua_setglobal(L, l->name); /* cjson does not set its global */
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pushcfunction(L, l_lua_pcall);
    lua_setglobal(L, "pcall");
    /* redis */
    lua_newtable(L);
    common_api(L);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "call", l_call);
    set_fn(L, "pcall", l_pcall);
    set_fn(L, "acl_check_cmd", l_acl_check_cmd);
    set_fn(L, "set_repl", l_set_repl);
    set_fn(L, "replicate_commands", l_true);
    set_fn(L, "breakpoint", l_false);
    set_fn(L, "debug", l_nothing);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", 1);
    set_num(L, "REPL_SLAVE", 2);
    set_num(L, "REPL_REPLICA", 2);
    set_num(L, "REPL_ALL", 3);
    lua_setglobal(L, "redis");
    if (kind == SCRIPTING_FUNCTION) {
        lua_newtable(L);
        common_api(L);
        lua_pushstring(L, "register_function");
        lua_pushcfunction(L, function_lua_register);
        lua_settable(L, -3);
        lua_setglobal(L, "cachely_lib_api");
    }
    if (luaL_loadbuffer(L, sandbox_src, sizeof(sandbox_src) - 1, "=sandbox") != 0
        || lua_pcall(L, 0, 5, 0) != 0) {
        log_error("Lua sandbox setup failed: %s", lua_tostring(L, -1));
        abort();
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_load_mt");
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_load_globals");
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_load_env");
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_env");
    lua_setfield(L, LUA_REGISTRYINDEX, "cachely_globals");
    return L;
}

/* ---- setup ------------------------------------------------------------------ */

static int
ref_field(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static int
ref_string(lua_State *L, const char *s)
{
    lua_pushstring(L, s);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Create kind's interpreter and take the refs of what each run reads. */
static void
interp_open(struct scripting *s, enum scripting_engine_kind kind)
{
    lua_State *L = lua_create(kind);
    struct lua_refs *r = &s->refs[kind];
    lua_getglobal(L, "cachely_err_handler");
    r->err_handler = luaL_ref(L, LUA_REGISTRYINDEX);
    r->globals = ref_field(L, "cachely_globals");
    r->env = ref_field(L, "cachely_env");
    r->keys_name = ref_string(L, "KEYS");
    r->argv_name = ref_string(L, "ARGV");
    s->lua[kind] = L;
    s->gc_live_kb[kind] = 0;
}

static void
scripts_clear(struct scripting *s)
{
    mem_free(s->scripts);
    s->scripts = NULL;
    s->nscripts = 0;
    s->scripts_cap = 0;
}

void
scripting_memory(struct server *srv, struct scripting_mem *m)
{
    struct scripting *s = srv->scripting;
    m->lua_eval = (size_t)lua_gc(s->lua[SCRIPTING_EVAL], LUA_GCCOUNT, 0) * 1024
                  + (size_t)lua_gc(s->lua[SCRIPTING_EVAL], LUA_GCCOUNTB, 0);
    m->lua_functions = (size_t)lua_gc(s->lua[SCRIPTING_FUNCTION], LUA_GCCOUNT, 0) * 1024
                       + (size_t)lua_gc(s->lua[SCRIPTING_FUNCTION], LUA_GCCOUNTB, 0);
    m->cached_scripts = s->nscripts;
    m->scripts_eval = s->scripts_cap * sizeof(*s->scripts);
}

int
scripting_setup(struct server *srv)
{
    struct scripting *s = mem_calloc(sizeof(*s));
    s->srv = srv;
    current = s;
    srv->scripting = s;
    interp_open(s, SCRIPTING_EVAL);
    interp_open(s, SCRIPTING_FUNCTION);
    s->fake = client_create_fake(srv, CLIENT_DENY_BLOCKING | CLIENT_AUTHENTICATED | CLIENT_SCRIPT);
    snprintf(s->fake->addr, sizeof(s->fake->addr), "lua");
    return 0;
}

void
scripting_teardown(struct server *srv)
{
    struct scripting *s = srv->scripting;
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (s->lua[i] != NULL) {
            lpool_close(s->lua[i]);
        }
    }
    scripts_clear(s);
    client_destroy(&s->fake);
    mem_free(s);
    srv->scripting = NULL;
    if (current == s) {
        current = NULL;
    }
}

lua_State *
scripting_lua(struct server *srv, enum scripting_engine_kind kind)
{
    return srv->scripting->lua[kind];
}

void
scripting_reset(struct server *srv, enum scripting_engine_kind kind)
{
    struct scripting *s = srv->scripting;
    lpool_close(s->lua[kind]);
    if (kind == SCRIPTING_EVAL) {
        scripts_clear(s); /* their refs died with the interpreter */
    }
    interp_open(s, kind);
}

/* ---- the EVAL scripts' cache ------------------------------------------------ */

static struct script_slot *
script_slot(struct scripting *s, const char sha[40])
{
    if (s->scripts_cap == 0) {
        return NULL;
    }
    size_t mask = s->scripts_cap - 1;
    for (size_t h = (size_t)util_hash(sha, 40) & mask;; h = (h + 1) & mask) {
        struct script_slot *slot = &s->scripts[h];
        if (slot->sha[0] == '\0' || memcmp(slot->sha, sha, 40) == 0) {
            return slot;
        }
    }
}

int
scripting_script_push(struct server *srv, const char sha[40], unsigned *flags)
{
    struct scripting *s = srv->scripting;
    struct script_slot *slot = script_slot(s, sha);
    if (slot == NULL || slot->sha[0] == '\0') {
        return -1;
    }
    if (flags != NULL) {
        *flags = slot->flags;
    }
    lua_rawgeti(s->lua[SCRIPTING_EVAL], LUA_REGISTRYINDEX, slot->ref);
    return 0;
}

int
scripting_script_exists(struct server *srv, const char sha[40])
{
    struct script_slot *slot = script_slot(srv->scripting, sha);
    return slot != NULL && slot->sha[0] != '\0';
}

void
scripting_script_add(struct server *srv, const char sha[40], unsigned flags)
{
    struct scripting *s = srv->scripting;
    lua_State *L = s->lua[SCRIPTING_EVAL];
    if ((s->nscripts + 1) * 2 > s->scripts_cap) {
        struct script_slot *old = s->scripts;
        size_t oldcap = s->scripts_cap;
        s->scripts_cap = oldcap ? oldcap * 2 : 16;
        s->scripts = mem_calloc(s->scripts_cap * sizeof(*s->scripts));
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i].sha[0] != '\0') {
                *script_slot(s, old[i].sha) = old[i];
            }
        }
        mem_free(old);
    }
    struct script_slot *slot = script_slot(s, sha);
    if (slot->sha[0] != '\0') {
        luaL_unref(L, LUA_REGISTRYINDEX, slot->ref);
    } else {
        s->nscripts++;
        memcpy(slot->sha, sha, 40);
    }
    slot->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    slot->flags = flags;
}

static const struct {
    const char *name;
    unsigned flag;
} flag_names[] = {
    {"no-writes", SCRIPT_FLAG_NO_WRITES},
    {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SCRIPT_FLAG_ALLOW_STALE},
    {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_FLAG_ALLOW_CROSS_SLOT},
};

int
scripting_flag_parse(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (strlen(flag_names[i].name) == len && memcmp(flag_names[i].name, name, len) == 0) {
            return (int)flag_names[i].flag;
        }
    }
    return -1;
}

/* ---- running ---------------------------------------------------------------- */

/* Serve the other clients while a script is busy.  libevent's loop cannot
 * be entered again from inside one of its callbacks, so this polls the
 * listeners and the clients' sockets itself and calls their read callbacks
 * (dispatch answers -BUSY to all but the allow-busy commands).  The
 * caller's and our master's input wait: they resume after the script. */
static void
busy_serve(struct server *srv, struct script_run *run)
{
    size_t cap = (size_t)srv->nlisten + srv->nclients + 1, n = 0;
    struct pollfd *pfd = mem_alloc(cap * sizeof(*pfd));
    struct event **evs = mem_alloc(cap * sizeof(*evs));
    struct client **who = mem_alloc(cap * sizeof(*who)); /* NULL: a listener */
    /* A callback may mark other clients (and the caller) closing: none is
     * freed before the script is over, so the pointers below stay good. */
    client_hold_frees(1);
    for (int i = 0; i < srv->nlisten && n < cap; i++) {
        who[n] = NULL;
        evs[n++] = srv->listen_events[i];
    }
    for (struct client *c = srv->clients; c != NULL && n < cap; c = c->next) {
        if (c == run->caller || c == srv->repl.master || c->ev_read == NULL
            || (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_BLOCKED | CLIENT_CLOSE_AFTER_REPLY))) {
            continue;
        }
        who[n] = c;
        evs[n++] = c->ev_read;
    }
    for (size_t i = 0; i < n; i++) {
        pfd[i].fd = event_get_fd(evs[i]);
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
    }
    if (poll(pfd, n, 0) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (pfd[i].revents != 0
                && (who[i] == NULL || !(who[i]->flags & CLIENT_CLOSE_ASAP))) {
                event_callback_fn cb = event_get_callback(evs[i]);
                cb(pfd[i].fd, EV_READ, event_get_callback_arg(evs[i]));
            }
        }
    }
    mem_free(pfd);
    mem_free(evs);
    mem_free(who);
    /* The read callbacks only queue plain sockets for a batched read. */
    client_read_pending(srv);
    client_flush_pending(srv);
    client_hold_frees(0);
}

static void
kill_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    raise_error(L, "ERR Script killed by user with SCRIPT KILL...");
}

static void
count_hook(lua_State *L, lua_Debug *ar)
{
    struct scripting *s = current;
    struct script_run *run = s->run;
    struct server *srv = s->srv;
    (void)ar;
    if (run == NULL) {
        return;
    }
    long long elapsed = util_mstime() - run->start_ms;
    if (!run->busy && elapsed >= srv->cfg.busy_reply_threshold) {
        log_warn("Slow script detected: still in execution after %lld milliseconds. "
                 "You can try killing the script using the %s command. "
                 "Script name is: %s.",
                 elapsed, run->kind == SCRIPTING_EVAL ? "SCRIPT KILL" : "FUNCTION KILL",
                 run->funcname);
        run->busy = 1;
    }
    if (!run->busy) {
        return;
    }
    /* Keep answering: only allow-busy commands run (dispatch checks). */
    busy_serve(srv, run);
    if (srv->shutdown_asap) {
        /* SHUTDOWN NOSAVE: nothing of this script may reach the AOF or
         * the replicas. */
        srv->prop.nops = 0;
        srv->prop.buf.len = 0;
        run->killed = 1;
    }
    if (run->killed) {
        /* Also fire on the next line, in case a pcall catches this.  L may
         * be a coroutine whose resume catches the error: the script's main
         * thread gets the hook too, or a loop resuming fresh coroutines
         * would only meet a count hook every HOOK_INSTRUCTIONS of its own. */
        lua_sethook(L, kill_hook, LUA_MASKLINE, 0);
        lua_sethook(s->lua[run->kind], kill_hook, LUA_MASKLINE, 0);
        raise_error(L, "ERR Script killed by user with SCRIPT KILL...");
    }
}

/* Push a new array of the n strings of a (its size known up front: no
 * rehash as it fills); with name_ref, store it in the globals table S under
 * that name instead. */
static void
set_array(lua_State *L, const struct lua_refs *r, int name_ref, size_t n,
          const struct resp_arg *a)
{
    if (name_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->globals);
        lua_rawgeti(L, LUA_REGISTRYINDEX, name_ref);
    }
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushlstring(L, a[i].ptr, a[i].len);
        lua_rawseti(L, -2, (int)i + 1);
    }
    if (name_ref != LUA_NOREF) {
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
}

void
scripting_run(struct server *srv, enum scripting_engine_kind kind,
              struct client *caller, const char *funcname, unsigned flags,
              int readonly, size_t nkeys, const struct resp_arg *keys,
              size_t nargs, const struct resp_arg *args)
{
    struct scripting *s = srv->scripting;
    lua_State *L = s->lua[kind];
    struct script_run run;
    int nparams = 0;

    /* Checks before a script starts, as Redis 7 does: any script without
     * allow-stale on a replica whose link is down (when stale data may not
     * be served); one that declares flags (a shebang, or any function) and
     * may write, on a read-only replica, without allow-oom over maxmemory,
     * and on a master short of min-replicas-to-write good replicas. */
    if (!(caller->flags & CLIENT_MASTER)) {
        const char *err = NULL;
        int declared = !(flags & SCRIPT_FLAG_EVAL_COMPAT);
        int may_write = declared && !(flags & SCRIPT_FLAG_NO_WRITES) && !readonly;
        if (!(flags & SCRIPT_FLAG_ALLOW_STALE) && repl_is_replica(srv)
            && srv->repl.link_state != REPL_LINK_CONNECTED
            && !srv->cfg.replica_serve_stale_data) {
            err = "-MASTERDOWN Link with MASTER is down and "
                  "replica-serve-stale-data is set to 'no'.";
        } else if (may_write && repl_is_replica(srv) && srv->cfg.replica_read_only) {
            err = "-READONLY You can't write against a read only replica.";
        } else if (may_write && !(flags & SCRIPT_FLAG_ALLOW_OOM) && srv->cfg.maxmemory > 0
                   && evict_perform(srv) != 0) {
            err = "-OOM command not allowed when used memory > 'maxmemory'.";
        } else if (may_write && !repl_is_replica(srv) && srv->cfg.min_replicas_to_write > 0
                   && repl_good_replicas(srv) < srv->cfg.min_replicas_to_write) {
            /* Redis 7.0 refuses a script that may write, as a write
             * command, before it starts. */
            err = "-NOREPLICAS Not enough good replicas to write.";
        }
        if (err != NULL) {
            lua_pop(L, 1);
            reply_error(caller, err);
            return;
        }
    }
    memset(&run, 0, sizeof(run));
    run.kind = kind;
    run.caller = caller;
    run.funcname = funcname;
    run.flags = flags;
    run.readonly = readonly || (flags & SCRIPT_FLAG_NO_WRITES);
    run.resp = 2;
    run.start_ms = util_mstime();

    /* function on top: put the error handler under it */
    const struct lua_refs *r = &s->refs[kind];
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->err_handler);
    lua_insert(L, -2);
    int errfunc = lua_gettop(L) - 1;
    if (kind == SCRIPTING_EVAL) {
        set_array(L, r, r->keys_name, nkeys, keys);
        set_array(L, r, r->argv_name, nargs, args);
    } else {
        set_array(L, r, LUA_NOREF, nkeys, keys);
        set_array(L, r, LUA_NOREF, nargs, args);
        nparams = 2;
    }
    s->fake->db = caller->db;
    s->fake->resp = 2;
    s->run = &run;
    unsigned saved_flags = caller->flags;
    caller->flags |= CLIENT_DENY_BLOCKING;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    int rc = lua_pcall(L, nparams, 1, errfunc);
    lua_sethook(L, NULL, 0, 0);
    caller->flags = (caller->flags & ~CLIENT_DENY_BLOCKING)
                    | (saved_flags & CLIENT_DENY_BLOCKING);
    s->run = NULL;

    if (rc != 0) {
        if (!lua_istable(L, -1)) {
            const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
            reply_errorf(caller, "Error running script %s, %.100s", funcname, msg);
        } else {
            char buf[512];
            const char *msg = "", *source = NULL;
            long long line = 0;
            if (script_table_field(L, "err", LUA_TSTRING)) {
                msg = lua_tostring(L, -1);
                lua_pop(L, 1);
            }
            if (script_table_field(L, "source", LUA_TSTRING)) {
                source = lua_tostring(L, -1);
                lua_pop(L, 1);
            }
            if (script_table_field(L, "line", LUA_TNUMBER)) {
                line = (long long)lua_tonumber(L, -1);
                lua_pop(L, 1);
            }
            if (source != NULL && line > 0) {
                snprintf(buf, sizeof(buf), "-%s script: %s, on %s:%lld.", msg,
                         funcname, source, line);
            } else {
                snprintf(buf, sizeof(buf), "-%s", msg);
            }
            if (script_error_counted(L)) {
                script_reply_error_uncounted(caller, buf);
            } else {
                reply_error(caller, buf);
            }
        }
    } else {
        script_reply_resp = run.resp;
        script_lua_to_reply(caller, L, 0);
    }
    lua_pop(L, 2); /* result or error, and the error handler */
    /* A script's writes to its proxy's raw table (rawset) are undone. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->env);
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, -2)) {
            break;
        }
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
    /* An incremental collection step every 50 runs, as Redis does (one
     * per run costs a fifth of a small script's time), once the heap has
     * grown by half its live size since the last cycle ended: a step of 50
     * runs a whole cycle, which marks every live object, and one that
     * reclaimed the few KB 50 small scripts leave was 18 % of an EVALSHA.
     * The heap stays under 1.5 x its live size plus 50 runs' garbage (and
     * Lua's own collector starts a cycle at 2 x). */
    if (++s->runs % 50 == 0) {
        int kb = lua_gc(L, LUA_GCCOUNT, 0);
        int live = s->gc_live_kb[kind];
        if (kb - live >= live / 2) {
            if (lua_gc(L, LUA_GCSTEP, 50)) {
                s->gc_live_kb[kind] = lua_gc(L, LUA_GCCOUNT, 0);
            }
        }
    }
}

/* ---- busy ----------------------------------------------------------------- */

const char *
scripting_busy_reject(struct client *c, const struct command *cmd)
{
    struct scripting *s = c->srv->scripting;
    if (s == NULL || s->run == NULL || !s->run->busy) {
        return NULL;
    }
    if (cmd->flags & CMD_ALLOW_BUSY) {
        if (cmd->id != CMD_ID_SHUTDOWN) {
            return NULL;
        }
        /* only SHUTDOWN NOSAVE while a script runs */
        if (c->argc == 2 && c->argv[1].len == 6
            && strncasecmp(c->argv[1].ptr, "nosave", 6) == 0) {
            return NULL;
        }
    }
    if (s->run->kind == SCRIPTING_EVAL) {
        return "-BUSY Redis is busy running a script. You can only call "
               "SCRIPT KILL or SHUTDOWN NOSAVE.";
    }
    return "-BUSY Redis is busy running a script. You can only call "
           "FUNCTION KILL or SHUTDOWN NOSAVE.";
}

void
scripting_kill(struct client *c, enum scripting_engine_kind kind)
{
    struct scripting *s = c->srv->scripting;
    struct script_run *run = s->run;
    if (run == NULL) {
        reply_error(c, "-NOTBUSY No scripts in execution right now.");
        return;
    }
    if (run->caller->flags & CLIENT_MASTER) {
        reply_error(c, "-UNKILLABLE The busy script was sent by a master instance "
                       "in the context of replication and cannot be killed.");
        return;
    }
    if (run->wrote) {
        reply_error(c, "-UNKILLABLE Sorry the script already executed write "
                       "commands against the dataset. You can either wait the "
                       "script termination or kill the server in a hard way "
                       "using the SHUTDOWN NOSAVE command.");
        return;
    }
    if (run->kind != kind) {
        /* SCRIPT KILL does not stop a function, nor FUNCTION KILL a script */
        if (run->kind == SCRIPTING_FUNCTION) {
            reply_error(c, "-BUSY Redis is busy running a script. You can only "
                           "call FUNCTION KILL or SHUTDOWN NOSAVE.");
        } else {
            reply_error(c, "-BUSY Redis is busy running a script. You can only "
                           "call SCRIPT KILL or SHUTDOWN NOSAVE.");
        }
        return;
    }
    run->killed = 1;
    reply_ok(c);
}

struct client *
scripting_running(struct server *srv, const char **name,
                  enum scripting_engine_kind *kind, long long *duration_ms)
{
    struct scripting *s = srv->scripting;
    if (s == NULL || s->run == NULL) {
        return NULL;
    }
    *name = s->run->funcname;
    *kind = s->run->kind;
    *duration_ms = util_mstime() - s->run->start_ms;
    return s->run->caller;
}

