/* EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the script cache (bodies
 * compiled as f_<sha1> functions in the EVAL interpreter's registry) and
 * the #!lua flags=... shebang. */
#include "core/alloc.h"
#include "core/sha1.h"
#include "core/util.h"
#include "node/client.h"
#include "node/function.h"
#include "node/handlers.h"
#include "node/monitor.h"
#include "node/propagate.h"
#include "node/scripting.h"
#include "node/server.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parse "#!lua flags=a,b" on the first line: flags, and where the body
 * starts (the shebang line is left to Lua as a comment: it is replaced by
 * "--").  Returns 0, or -1 after writing err. */
static int
shebang_flags(const char *body, size_t len, unsigned *flags, char *err, size_t cap)
{
    *flags = SCRIPT_FLAG_EVAL_COMPAT;
    if (len < 2 || body[0] != '#' || body[1] != '!') {
        return 0;
    }
    *flags = 0;
    const char *nl = memchr(body, '\n', len);
    size_t hlen = nl ? (size_t)(nl - body) : len;
    char header[1024];
    snprintf(header, sizeof(header), "%.*s", (int)(hlen - 2 < 1000 ? hlen - 2 : 1000), body + 2);
    char *save = NULL;
    char *tok = strtok_r(header, " ", &save);
    if (tok == NULL || strcmp(tok, "lua") != 0) {
        snprintf(err, cap, "Unexpected engine in script shebang: #!%s", tok ? tok : "");
        return -1;
    }
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (strncmp(tok, "flags=", 6) != 0) {
            snprintf(err, cap, "Unknown lua shebang option: %s", tok);
            return -1;
        }
        char *fsave = NULL;
        for (char *f = strtok_r(tok + 6, ",", &fsave); f; f = strtok_r(NULL, ",", &fsave)) {
            int bit = scripting_flag_parse(f, strlen(f));
            if (bit < 0) {
                snprintf(err, cap, "Unexpected flag in script shebang: %s", f);
                return -1;
            }
            *flags |= (unsigned)bit;
        }
    }
    return 0;
}

/* Compile body as f_<sha> unless cached; pushes nothing.  Returns 0, or -1
 * after replying with the error. */
static int
script_create(struct client *c, const char *body, size_t len, char sha[41])
{
    lua_State *L = scripting_lua(c->srv, SCRIPTING_EVAL);
    sha1_hex(body, len, sha);
    if (scripting_script_exists(c->srv, sha)) {
        return 0;
    }
    unsigned flags;
    char err[600];
    if (shebang_flags(body, len, &flags, err, sizeof(err)) != 0) {
        reply_error(c, err);
        return -1;
    }
    const char *code = body;
    size_t clen = len;
    char *copy = NULL;
    if (!(flags & SCRIPT_FLAG_EVAL_COMPAT)) {
        /* the shebang line becomes a comment */
        copy = mem_strndup(body, len);
        copy[0] = '-';
        copy[1] = '-';
        code = copy;
    }
    if (luaL_loadbuffer(L, code, clen, "@user_script") != 0) {
        reply_errorf(c, "Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        mem_free(copy);
        return -1;
    }
    mem_free(copy);
    lua_getfield(L, LUA_REGISTRYINDEX, "cachely_env");
    lua_setfenv(L, -2);
    scripting_script_add(c->srv, sha, flags);
    return 0;
}

/* The 40 bytes of a SHA-1 argument with A-Z lowercased, 8 at a time (a
 * byte at a time was 400 instructions of an EVALSHA).  In each byte's low
 * 7 bits, adding 0x80 - 'A' sets the high bit from 'A' up and adding
 * 0x80 - 'Z' - 1 from past 'Z' (no carry leaves a byte); bytes with the high
 * bit set stay as they are. */
static void
sha_lower(char *dst, const char *src)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    for (int i = 0; i < 40; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        uint64_t a = w & ~high;
        uint64_t upper = (a + (0x80 - 'A') * ones) & ~(a + (0x80 - 'Z' - 1) * ones) & ~w & high;
        w |= upper >> 2;
        memcpy(dst + i, &w, 8);
    }
}

static void
eval_generic(struct client *c, int evalsha, int readonly)
{
    long long numkeys;
    char sha[41];
    unsigned flags;

    if (c->srv->monitors.n > 0) {
        monitor_feed_now(c); /* before the commands its script runs */
    }
    /* As Redis 7.0: an EVALSHA whose SHA cannot match (not 40 bytes) is
     * NOSCRIPT before its key count is even read. */
    if (evalsha && c->argv[1].len != 40) {
        reply_error(c, "-NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    if (function_numkeys(c, &numkeys) != 0) {
        return;
    }
    if (evalsha) {
        sha_lower(sha, c->argv[1].ptr);
        sha[40] = '\0';
    } else if (script_create(c, c->argv[1].ptr, c->argv[1].len, sha) != 0) {
        return;
    }
    /* Pushes the function: scripting_run pops it, every other way out
     * must. */
    if (scripting_script_push(c->srv, sha, &flags) != 0) {
        reply_error(c, "-NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    if (readonly && !(flags & SCRIPT_FLAG_EVAL_COMPAT) && !(flags & SCRIPT_FLAG_NO_WRITES)) {
        lua_pop(scripting_lua(c->srv, SCRIPTING_EVAL), 1);
        reply_error(c, "Can not execute a script with write flag using *_ro command.");
        return;
    }
    scripting_run(c->srv, SCRIPTING_EVAL, c, sha, flags, readonly, (size_t)numkeys,
                  c->argv + 3, c->argc - 3 - (size_t)numkeys, c->argv + 3 + numkeys);
}

void
cmd_eval(struct client *c)
{
    eval_generic(c, 0, 0);
}

void
cmd_evalsha(struct client *c)
{
    eval_generic(c, 1, 0);
}

void
cmd_eval_ro(struct client *c)
{
    eval_generic(c, 0, 1);
}

void
cmd_evalsha_ro(struct client *c)
{
    eval_generic(c, 1, 1);
}

void
cmd_script_load(struct client *c)
{
    char sha[41];
    if (script_create(c, c->argv[2].ptr, c->argv[2].len, sha) != 0) {
        return;
    }
    /* Replicas and the AOF get the script too (EVALSHA on them after a
     * failover finds it). */
    propagate_effect(c, c->argc, c->argv);
    reply_bulk(c, sha, 40);
}

void
cmd_script_exists(struct client *c)
{
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        char sha[40];
        int found = 0;
        if (c->argv[i].len == 40) {
            sha_lower(sha, c->argv[i].ptr);
            found = scripting_script_exists(c->srv, sha);
        }
        reply_int(c, found);
    }
}

void
cmd_script_flush(struct client *c)
{
    if (c->argc > 3) {
        reply_error(c, "SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    if (c->argc == 3) {
        const struct resp_arg *a = &c->argv[2];
        if (!((a->len == 4 && strncasecmp(a->ptr, "sync", 4) == 0)
              || (a->len == 5 && strncasecmp(a->ptr, "async", 5) == 0))) {
            reply_error(c, "SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
    }
    scripting_reset(c->srv, SCRIPTING_EVAL);
    reply_ok(c);
}

void
cmd_script_kill(struct client *c)
{
    scripting_kill(c, SCRIPTING_EVAL);
}

void
cmd_script_help(struct client *c)
{
    static const char *const lines[] = {
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        NULL,
    };
    reply_help(c, "SCRIPT", lines);
}
