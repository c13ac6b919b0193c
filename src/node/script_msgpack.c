/* The scripts' cmsgpack library (Debian has no package of it): MessagePack
 * pack/unpack of Lua values with the encodings Redis's cmsgpack chooses
 * (smallest integer form, float32 when exact, arrays for tables keyed
 * 1..n, maps otherwise; tables nested deeper than 16 pack as nil). */
#include "node/script_msgpack.h"
#include "core/alloc.h"

#include <lauxlib.h>
#include <lua.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MSGPACK_MAX_NESTING 16

/* luaL_Buffer cannot be used here: packing reads values with lua_next,
 * which needs the stack while the buffer holds pieces on it.  A growing
 * C string collects the bytes instead. */
struct mp_buf {
    char *p;
    size_t len, cap;
};


static void
put(struct mp_buf *b, const void *p, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 64;
        b->p = mem_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
}

static void
put_be(struct mp_buf *b, unsigned char tag, uint64_t v, int bytes)
{
    unsigned char buf[9];
    buf[0] = tag;
    for (int i = 0; i < bytes; i++) {
        buf[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    }
    put(b, buf, (size_t)bytes + 1);
}

static void
pack_int(struct mp_buf *b, int64_t n)
{
    unsigned char c;
    if (n >= 0) {
        if (n <= 127) {
            c = (unsigned char)n;
            put(b, &c, 1);
        } else if (n <= 0xff) {
            put_be(b, 0xcc, (uint64_t)n, 1);
        } else if (n <= 0xffff) {
            put_be(b, 0xcd, (uint64_t)n, 2);
        } else if (n <= 0xffffffffLL) {
            put_be(b, 0xce, (uint64_t)n, 4);
        } else {
            put_be(b, 0xcf, (uint64_t)n, 8);
        }
    } else {
        if (n >= -32) {
            c = (unsigned char)(int8_t)n;
            put(b, &c, 1);
        } else if (n >= -128) {
            put_be(b, 0xd0, (uint64_t)n & 0xff, 1);
        } else if (n >= -32768) {
            put_be(b, 0xd1, (uint64_t)n & 0xffff, 2);
        } else if (n >= -2147483648LL) {
            put_be(b, 0xd2, (uint64_t)n & 0xffffffffULL, 4);
        } else {
            put_be(b, 0xd3, (uint64_t)n, 8);
        }
    }
}

static void
pack_number(struct mp_buf *b, lua_Number n)
{
    if (n == floor(n) && n >= -9.2e18 && n <= 9.2e18 && !isinf(n)) {
        pack_int(b, (int64_t)n);
        return;
    }
    float f = (float)n;
    if ((lua_Number)f == n) {
        uint32_t u;
        memcpy(&u, &f, 4);
        put_be(b, 0xca, u, 4);
    } else {
        uint64_t u;
        double d = (double)n;
        memcpy(&u, &d, 8);
        put_be(b, 0xcb, u, 8);
    }
}

static void
pack_string(struct mp_buf *b, const char *s, size_t len)
{
    unsigned char c;
    if (len < 32) {
        c = (unsigned char)(0xa0 | len);
        put(b, &c, 1);
    } else if (len <= 0xff) {
        put_be(b, 0xd9, len, 1);
    } else if (len <= 0xffff) {
        put_be(b, 0xda, len, 2);
    } else {
        put_be(b, 0xdb, len, 4);
    }
    put(b, s, len);
}

/* Number of elements when the table at idx is an array keyed 1..n, else
 * -1 (and *pairs set to its number of keys). */
static long long
array_len(lua_State *L, int idx, long long *pairs)
{
    long long count = 0, max = 0;
    int array = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_Number k = lua_tonumber(L, -1);
            if (k > 0 && k == floor(k)) {
                if ((long long)k > max) {
                    max = (long long)k;
                }
                continue;
            }
        }
        array = 0;
    }
    *pairs = count;
    return array && count == max ? count : -1;
}

static void pack_value(lua_State *L, struct mp_buf *b, int idx, int level);

static void
pack_table(lua_State *L, struct mp_buf *b, int idx, int level)
{
    long long pairs;
    long long n = array_len(L, idx, &pairs);
    unsigned char c;
    if (n >= 0) {
        if (n < 16) {
            c = (unsigned char)(0x90 | n);
            put(b, &c, 1);
        } else if (n <= 0xffff) {
            put_be(b, 0xdc, (uint64_t)n, 2);
        } else {
            put_be(b, 0xdd, (uint64_t)n, 4);
        }
        for (long long i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            pack_value(L, b, lua_gettop(L), level + 1);
            lua_pop(L, 1);
        }
        return;
    }
    if (pairs < 16) {
        c = (unsigned char)(0x80 | pairs);
        put(b, &c, 1);
    } else if (pairs <= 0xffff) {
        put_be(b, 0xde, (uint64_t)pairs, 2);
    } else {
        put_be(b, 0xdf, (uint64_t)pairs, 4);
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int top = lua_gettop(L);
        pack_value(L, b, top - 1, level + 1);
        pack_value(L, b, top, level + 1);
        lua_pop(L, 1);
    }
}

static void
pack_value(lua_State *L, struct mp_buf *b, int idx, int level)
{
    unsigned char c;
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        c = lua_toboolean(L, idx) ? 0xc3 : 0xc2;
        put(b, &c, 1);
        break;
    case LUA_TNUMBER:
        pack_number(b, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        pack_string(b, s, len);
        break;
    case LUA_TTABLE:
        if (level < MSGPACK_MAX_NESTING) {
            pack_table(L, b, idx, level);
            break;
        }
        /* too deep: packs as nil */
        c = 0xc0;
        put(b, &c, 1);
        break;
    default:
        c = 0xc0;
        put(b, &c, 1);
        break;
    }
}

static int
l_pack(lua_State *L)
{
    int n = lua_gettop(L);
    struct mp_buf b = {NULL, 0, 0};
    if (n == 0) {
        return luaL_argerror(L, 0, "MessagePack pack needs input.");
    }
    for (int i = 1; i <= n; i++) {
        pack_value(L, &b, i, 0);
    }
    lua_pushlstring(L, b.p ? b.p : "", b.len);
    mem_free(b.p);
    return 1;
}

/* ---- unpack ---------------------------------------------------------------- */

struct mp_cur {
    const unsigned char *p;
    size_t left;
    int err;                    /* 1 = missing bytes, 2 = bad format */
};

static uint64_t
take_be(struct mp_cur *c, int bytes)
{
    uint64_t v = 0;
    if (c->left < (size_t)bytes) {
        c->err = 1;
        return 0;
    }
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | c->p[i];
    }
    c->p += bytes;
    c->left -= (size_t)bytes;
    return v;
}

static void unpack_value(lua_State *L, struct mp_cur *c, int depth);

static void
unpack_str(lua_State *L, struct mp_cur *c, size_t len)
{
    if (c->left < len) {
        c->err = 1;
        lua_pushnil(L);
        return;
    }
    lua_pushlstring(L, (const char *)c->p, len);
    c->p += len;
    c->left -= len;
}

static void
unpack_array(lua_State *L, struct mp_cur *c, size_t n, int depth)
{
    lua_newtable(L);
    for (size_t i = 1; i <= n && !c->err; i++) {
        unpack_value(L, c, depth + 1);
        lua_rawseti(L, -2, (int)i);
    }
}

static void
unpack_map(lua_State *L, struct mp_cur *c, size_t n, int depth)
{
    lua_newtable(L);
    for (size_t i = 0; i < n && !c->err; i++) {
        unpack_value(L, c, depth + 1);
        unpack_value(L, c, depth + 1);
        if (c->err || lua_isnil(L, -2)) {
            lua_pop(L, 2);
            continue;
        }
        lua_settable(L, -3);
    }
}

static void
unpack_value(lua_State *L, struct mp_cur *c, int depth)
{
    if (c->left == 0) {
        c->err = 1;
        lua_pushnil(L);
        return;
    }
    if (depth > 64 || !lua_checkstack(L, 4)) {
        c->err = 2;
        lua_pushnil(L);
        return;
    }
    unsigned char t = *c->p++;
    c->left--;
    if (t <= 0x7f) {
        lua_pushnumber(L, t);
    } else if (t >= 0xe0) {
        lua_pushnumber(L, (int8_t)t);
    } else if ((t & 0xe0) == 0xa0) {
        unpack_str(L, c, t & 0x1f);
    } else if ((t & 0xf0) == 0x90) {
        unpack_array(L, c, t & 0x0f, depth);
    } else if ((t & 0xf0) == 0x80) {
        unpack_map(L, c, t & 0x0f, depth);
    } else {
        uint64_t v;
        switch (t) {
        case 0xc0: lua_pushnil(L); break;
        case 0xc2: lua_pushboolean(L, 0); break;
        case 0xc3: lua_pushboolean(L, 1); break;
        case 0xcc: lua_pushnumber(L, (lua_Number)take_be(c, 1)); break;
        case 0xcd: lua_pushnumber(L, (lua_Number)take_be(c, 2)); break;
        case 0xce: lua_pushnumber(L, (lua_Number)take_be(c, 4)); break;
        case 0xcf: lua_pushnumber(L, (lua_Number)take_be(c, 8)); break;
        case 0xd0: lua_pushnumber(L, (int8_t)take_be(c, 1)); break;
        case 0xd1: lua_pushnumber(L, (int16_t)take_be(c, 2)); break;
        case 0xd2: lua_pushnumber(L, (int32_t)take_be(c, 4)); break;
        case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)take_be(c, 8)); break;
        case 0xca: {
            uint32_t u = (uint32_t)take_be(c, 4);
            float f;
            memcpy(&f, &u, 4);
            lua_pushnumber(L, f);
            break;
        }
        case 0xcb: {
            v = take_be(c, 8);
            double d;
            memcpy(&d, &v, 8);
            lua_pushnumber(L, d);
            break;
        }
        case 0xd9: case 0xc4: v = take_be(c, 1); c->err ? lua_pushnil(L) : unpack_str(L, c, v); break;
        case 0xda: case 0xc5: v = take_be(c, 2); c->err ? lua_pushnil(L) : unpack_str(L, c, v); break;
        case 0xdb: case 0xc6: v = take_be(c, 4); c->err ? lua_pushnil(L) : unpack_str(L, c, v); break;
        case 0xdc: v = take_be(c, 2); c->err ? lua_pushnil(L) : unpack_array(L, c, v, depth); break;
        case 0xdd: v = take_be(c, 4); c->err ? lua_pushnil(L) : unpack_array(L, c, v, depth); break;
        case 0xde: v = take_be(c, 2); c->err ? lua_pushnil(L) : unpack_map(L, c, v, depth); break;
        case 0xdf: v = take_be(c, 4); c->err ? lua_pushnil(L) : unpack_map(L, c, v, depth); break;
        default:
            c->err = 2;
            lua_pushnil(L);
            break;
        }
    }
}

/* unpack(s): every value in s; unpack_one(s, [offset]) and
 * unpack_limit(s, limit, [offset]): the next offset (-1 at the end) then
 * the values. */
static int
unpack_generic(lua_State *L, long long limit, long long offset, int with_offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (offset < 0 || (size_t)offset > len) {
        return luaL_error(L, "Start offset %lld greater than input length %zu.", offset, len);
    }
    struct mp_cur c = {(const unsigned char *)s + offset, len - (size_t)offset, 0};
    int base = lua_gettop(L);
    if (with_offset) {
        lua_pushnil(L); /* placeholder */
    }
    long long n = 0;
    while (c.left > 0 && (limit <= 0 || n < limit)) {
        unpack_value(L, &c, 0);
        if (c.err) {
            lua_settop(L, base);
            return luaL_error(L, c.err == 1 ? "Missing bytes in input."
                                            : "Bad data format in input.");
        }
        n++;
    }
    if (with_offset) {
        lua_pushnumber(L, c.left == 0 ? -1 : (lua_Number)(len - c.left));
        lua_replace(L, base + 1);
    }
    return lua_gettop(L) - base;
}

static int
l_unpack(lua_State *L)
{
    return unpack_generic(L, 0, 0, 0);
}

static int
l_unpack_one(lua_State *L)
{
    long long offset = (long long)luaL_optnumber(L, 2, 0);
    lua_settop(L, 1);
    return unpack_generic(L, 1, offset, 1);
}

static int
l_unpack_limit(lua_State *L)
{
    long long limit = (long long)luaL_checknumber(L, 2);
    long long offset = (long long)luaL_optnumber(L, 3, 0);
    lua_settop(L, 1);
    return unpack_generic(L, limit, offset, 1);
}

int
script_msgpack_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pack", l_pack},
        {"unpack", l_unpack},
        {"unpack_one", l_unpack_one},
        {"unpack_limit", l_unpack_limit},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    lua_pushstring(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
