/* Conversions between a script's Lua values and RESP (see script_convert.h):
 * a command's reply into Lua for redis.call, and a script's return value
 * (or error table) into the reply to its caller, with Redis's rules for
 * each type in RESP2 and RESP3. */
#include "node/script_convert.h"
#include "core/util.h"
#include "node/client.h"
#include "node/server.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NESTING 64

/* ---- conversions: RESP -> Lua -------------------------------------------- */

static const char *
line_end(const char *p, const char *end)
{
    const char *q = memchr(p, '\r', (size_t)(end - p));
    return q != NULL && q + 1 < end ? q : NULL;
}

static void
push_kv_table(lua_State *L, const char *field)
{
    /* {field = <value on top>} */
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    lua_remove(L, -2);
}

/* Push the Lua value of the reply at p; returns the position after it, or
 * NULL on a malformed reply (pushes nil). */
const char *
script_resp_to_lua(lua_State *L, const char *p, const char *end, int depth)
{
    const char *e;
    long long n;
    if (p >= end || (e = line_end(p, end)) == NULL || depth > MAX_NESTING
        || !lua_checkstack(L, 8)) {
        lua_pushnil(L);
        return NULL;
    }
    char type = *p;
    const char *body = p + 1;
    size_t blen = (size_t)(e - body);
    const char *next = e + 2;

    switch (type) {
    case '+':
        lua_pushlstring(L, body, blen);
        push_kv_table(L, "ok");
        return next;
    case '-':
    case '!':
        if (type == '!') {
            /* blob error: the message follows */
            util_str2ll(body, blen, &n);
            lua_pushlstring(L, next, (size_t)n);
            push_kv_table(L, "err");
            return next + n + 2;
        }
        lua_pushlstring(L, body, blen);
        push_kv_table(L, "err");
        return next;
    case ':':
        util_str2ll(body, blen, &n);
        lua_pushnumber(L, (lua_Number)n);
        return next;
    case '$':
    case '=':
        util_str2ll(body, blen, &n);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        if (type == '=') {
            /* verbatim: "txt:" then the text */
            lua_newtable(L);
            lua_pushstring(L, "format");
            lua_pushlstring(L, next, n >= 3 ? 3 : (size_t)n);
            lua_settable(L, -3);
            lua_pushstring(L, "string");
            lua_pushlstring(L, next + (n >= 4 ? 4 : n), n >= 4 ? (size_t)n - 4 : 0);
            lua_settable(L, -3);
            push_kv_table(L, "verbatim_string");
            return next + n + 2;
        }
        lua_pushlstring(L, next, (size_t)n);
        return next + n + 2;
    case '_':
        lua_pushnil(L);
        return next;
    case '#':
        lua_pushboolean(L, blen > 0 && body[0] == 't');
        return next;
    case ',': {
        char tmp[64];
        size_t k = blen < sizeof(tmp) - 1 ? blen : sizeof(tmp) - 1;
        memcpy(tmp, body, k);
        tmp[k] = '\0';
        lua_pushnumber(L, strtod(tmp, NULL));
        push_kv_table(L, "double");
        return next;
    }
    case '(':
        lua_pushlstring(L, body, blen);
        push_kv_table(L, "big_number");
        return next;
    case '*':
    case '>':
    case '~':
    case '%':
    case '|': {
        util_str2ll(body, blen, &n);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        if (type == '|') {
            /* attributes: skipped, the reply follows */
            for (long long i = 0; i < 2 * n && next != NULL; i++) {
                next = script_resp_to_lua(L, next, end, depth + 1);
                lua_pop(L, 1);
            }
            return next ? script_resp_to_lua(L, next, end, depth + 1) : NULL;
        }
        lua_newtable(L);
        for (long long i = 0; i < n && next != NULL; i++) {
            if (type == '%') {
                next = script_resp_to_lua(L, next, end, depth + 1);
                if (next == NULL) {
                    lua_pop(L, 1);
                    break;
                }
                next = script_resp_to_lua(L, next, end, depth + 1);
                lua_settable(L, -3);
            } else if (type == '~') {
                next = script_resp_to_lua(L, next, end, depth + 1);
                lua_pushboolean(L, 1);
                lua_settable(L, -3);
            } else {
                next = script_resp_to_lua(L, next, end, depth + 1);
                lua_rawseti(L, -2, (int)i + 1);
            }
        }
        if (type == '%') {
            push_kv_table(L, "map");
        } else if (type == '~') {
            push_kv_table(L, "set");
        }
        return next;
    }
    default:
        lua_pushnil(L);
        return NULL;
    }
}

/* ---- conversions: Lua -> RESP -------------------------------------------- */

/* The string field name of the table on top, or NULL (value left popped). */
int
script_table_field(lua_State *L, const char *name, int type)
{
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == type) {
        return 1;
    }
    lua_pop(L, 1);
    return 0;
}

/* The running script's redis.setresp (booleans convert by it). */
int script_reply_resp = 2;

/* Reply an error without counting it in errorstats again: an error a
 * command of the script returned was counted when it was replied to the
 * script, and Redis counts it once. */
void
script_reply_error_uncounted(struct client *c, const char *msg)
{
    struct node_stats *st = &c->srv->stats;
    long long total = st->total_error_replies;
    int nerrors = st->nerrors;
    long long counts[32];
    for (int i = 0; i < nerrors && i < 32; i++) {
        counts[i] = st->errors[i].count;
    }
    reply_error(c, msg);
    st->total_error_replies = total;
    st->nerrors = nerrors;
    for (int i = 0; i < nerrors && i < 32; i++) {
        st->errors[i].count = counts[i];
    }
}

/* Nonzero when the error table on top came from a command's reply. */
int
script_error_counted(lua_State *L)
{
    lua_getfield(L, -1, "cachely_counted");
    int counted = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return counted;
}

static void
error_table_reply(struct client *c, lua_State *L)
{
    /* table on top with a string err field */
    char buf[512];
    size_t len;
    script_table_field(L, "err", LUA_TSTRING);
    const char *msg = lua_tolstring(L, -1, &len);
    snprintf(buf, sizeof(buf), "-%.*s", (int)(len < 500 ? len : 500), msg);
    lua_pop(L, 1);
    if (script_error_counted(L)) {
        script_reply_error_uncounted(c, buf);
    } else {
        reply_error(c, buf);
    }
}

void
script_lua_to_reply(struct client *c, lua_State *L, int depth)
{
    size_t len;
    const char *s;
    if (depth > MAX_NESTING || !lua_checkstack(L, 4)) {
        reply_error(c, "reached lua stack limit");
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &len);
        reply_bulk(c, s, len);
        return;
    case LUA_TBOOLEAN:
        if (script_reply_resp == 2) {
            if (lua_toboolean(L, -1)) {
                reply_int(c, 1);
            } else {
                reply_null(c);
            }
        } else {
            reply_bool(c, lua_toboolean(L, -1));
        }
        return;
    case LUA_TNUMBER:
        reply_int(c, (long long)lua_tonumber(L, -1));
        return;
    case LUA_TTABLE:
        break;
    default:
        reply_null(c);
        return;
    }
    if (script_table_field(L, "err", LUA_TSTRING)) {
        lua_pop(L, 1);
        error_table_reply(c, L);
        return;
    }
    if (script_table_field(L, "ok", LUA_TSTRING)) {
        char buf[512];
        s = lua_tolstring(L, -1, &len);
        snprintf(buf, sizeof(buf), "%.*s", (int)(len < 500 ? len : 500), s);
        for (char *q = buf; *q; q++) {
            if (*q == '\r' || *q == '\n') {
                *q = ' ';
            }
        }
        reply_status(c, buf);
        lua_pop(L, 1);
        return;
    }
    if (script_table_field(L, "double", LUA_TNUMBER)) {
        reply_double(c, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    if (script_table_field(L, "big_number", LUA_TSTRING)) {
        s = lua_tolstring(L, -1, &len);
        reply_bignum(c, s, len);
        lua_pop(L, 1);
        return;
    }
    if (script_table_field(L, "verbatim_string", LUA_TTABLE)) {
        if (script_table_field(L, "string", LUA_TSTRING)) {
            if (script_table_field(L, "format", LUA_TSTRING)) {
                const char *fmt = lua_tostring(L, -1);
                char ext[4] = "txt";
                snprintf(ext, sizeof(ext), "%s", fmt);
                s = lua_tolstring(L, -2, &len);
                reply_verbatim(c, s, len, ext);
                lua_pop(L, 3);
                return;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (script_table_field(L, "map", LUA_TTABLE)) {
        long long n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            n++;
            lua_pop(L, 1);
        }
        reply_map_len(c, n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            script_lua_to_reply(c, L, depth + 1);
            lua_pop(L, 1);
            script_lua_to_reply(c, L, depth + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        return;
    }
    if (script_table_field(L, "set", LUA_TTABLE)) {
        long long n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            n++;
            lua_pop(L, 1);
        }
        reply_set_len(c, n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            script_lua_to_reply(c, L, depth + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        return;
    }
    /* An array, up to the first nil. */
    long long n = 0;
    for (;;) {
        lua_rawgeti(L, -1, (int)n + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) {
            break;
        }
        n++;
    }
    reply_array_len(c, n);
    for (long long i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        script_lua_to_reply(c, L, depth + 1);
        lua_pop(L, 1);
    }
}
