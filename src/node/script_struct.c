/* The scripts' struct library (no Debian package): struct.pack(fmt, ...),
 * struct.unpack(fmt, s [, pos]) and struct.size(fmt), with the format
 * language Redis's struct documents: < > = endianness, ![n] alignment,
 * x padding, b B h H l L T i[n] I[n] integers, f d floats, s
 * zero-terminated strings, c[n] fixed strings (c0: length from the
 * previous value on unpack, the whole string on pack). */
#include "node/script_struct.h"
#include "core/alloc.h"

#include <lauxlib.h>
#include <lua.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define STRUCT_MAXINTSIZE 32
#define STRUCT_MAXALIGN 8

struct fmt_state {
    int little;                  /* little endian */
    int align;                   /* maximum alignment */
};

static int
native_little(void)
{
    const int one = 1;
    return *(const char *)&one == 1;
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static size_t
get_num(const char **fmt, size_t df)
{
    if (!is_digit(**fmt)) {
        return df;
    }
    size_t a = 0;
    do {
        a = a * 10 + (size_t)(*((*fmt)++) - '0');
    } while (is_digit(**fmt) && a <= ((size_t)-1 - 9) / 10);
    return a;
}

/* Size of the option opt (its count already read from fmt). */
static size_t
opt_size(lua_State *L, char opt, const char **fmt)
{
    switch (opt) {
    case 'B': case 'b': return 1;
    case 'H': case 'h': return 2;
    case 'L': case 'l': return 8;
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return get_num(fmt, 1);
    case 'i': case 'I': {
        size_t sz = get_num(fmt, sizeof(int));
        if (sz > STRUCT_MAXINTSIZE) {
            luaL_error(L, "integral size %d is larger than limit of %d", (int)sz,
                       STRUCT_MAXINTSIZE);
        }
        return sz;
    }
    default:
        return 0; /* other options have no size */
    }
}

/* Padding before an item of size sz at offset len. */
static size_t
gettoalign(size_t len, const struct fmt_state *h, char opt, size_t sz)
{
    size_t align;
    if (sz == 0 || opt == 'c') {
        return 0;
    }
    align = sz > (size_t)h->align ? (size_t)h->align : sz;
    return (align - (len & (align - 1))) & (align - 1);
}

/* Options that change the state. */
static void
controloptions(lua_State *L, int opt, const char **fmt, struct fmt_state *h)
{
    switch (opt) {
    case ' ':
        return;
    case '>':
        h->little = 0;
        return;
    case '<':
        h->little = 1;
        return;
    case '=':
        h->little = native_little();
        return;
    case '!': {
        int a = (int)get_num(fmt, STRUCT_MAXALIGN);
        if (a == 0 || (a & (a - 1)) != 0) {
            luaL_error(L, "alignment %d is not a power of 2", a);
        }
        h->align = a;
        return;
    }
    default: {
        const char *msg = lua_pushfstring(L, "invalid format option '%c'", opt);
        luaL_argerror(L, 1, msg);
    }
    }
}

static void
put_int(luaL_Buffer *b, lua_Number n, int little, size_t size)
{
    char buf[STRUCT_MAXINTSIZE];
    uint64_t v = n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
    for (size_t i = 0; i < size; i++) {
        size_t at = little ? i : size - 1 - i;
        buf[at] = (char)(i < 8 ? (v >> (8 * i)) & 0xff : (n < 0 ? 0xff : 0));
    }
    luaL_addlstring(b, buf, size);
}

static void
put_bytes(luaL_Buffer *b, const void *p, size_t size, int little)
{
    char buf[16];
    memcpy(buf, p, size);
    if (little != native_little()) {
        for (size_t i = 0; i < size / 2; i++) {
            char t = buf[i];
            buf[i] = buf[size - 1 - i];
            buf[size - 1 - i] = t;
        }
    }
    luaL_addlstring(b, buf, size);
}

static int
l_pack(lua_State *L)
{
    luaL_Buffer b;
    struct fmt_state h = {native_little(), 1};
    const char *fmt = luaL_checkstring(L, 1);
    int arg = 2;
    size_t totalsize = 0;
    lua_pushnil(L); /* mark to separate arguments from the buffer */
    luaL_buffinit(L, &b);
    while (*fmt != '\0') {
        int opt = *fmt++;
        size_t size = opt_size(L, (char)opt, &fmt);
        size_t toalign = gettoalign(totalsize, &h, (char)opt, size);
        totalsize += toalign;
        while (toalign-- > 0) {
            luaL_addchar(&b, '\0');
        }
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H':
        case 'l': case 'L': case 'T': case 'i': case 'I': {
            lua_Number n = luaL_checknumber(L, arg++);
            put_int(&b, n, h.little, size);
            break;
        }
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            put_bytes(&b, &f, size, h.little);
            break;
        }
        case 'd': {
            double d = (double)luaL_checknumber(L, arg++);
            put_bytes(&b, &d, size, h.little);
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) {
                size = l;
            }
            /* (Redis names the argument after this one) */
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            controloptions(L, opt, &fmt, &h);
        }
        totalsize += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number
get_int(const char *buff, int little, int is_signed, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size && i < 8; i++) {
        size_t at = little ? i : size - 1 - i;
        v |= (uint64_t)(unsigned char)buff[at] << (8 * i);
    }
    if (is_signed && size < 8 && size > 0) {
        uint64_t mask = (uint64_t)1 << (size * 8 - 1);
        v = (v ^ mask) - mask; /* sign-extend */
        return (lua_Number)(int64_t)v;
    }
    if (is_signed) {
        return (lua_Number)(int64_t)v;
    }
    return (lua_Number)v;
}

static void
get_bytes(void *out, const char *p, size_t size, int little)
{
    char buf[16];
    memcpy(buf, p, size);
    if (little != native_little()) {
        for (size_t i = 0; i < size / 2; i++) {
            char t = buf[i];
            buf[i] = buf[size - 1 - i];
            buf[size - 1 - i] = t;
        }
    }
    memcpy(out, buf, size);
}

static int
l_unpack(lua_State *L)
{
    struct fmt_state h = {native_little(), 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    size_t pos = (size_t)luaL_optinteger(L, 3, 1) - 1;
    int n = 0;
    luaL_argcheck(L, pos <= ld, 3, "offset must be 1 or greater");
    while (*fmt) {
        int opt = *fmt++;
        size_t size = opt_size(L, (char)opt, &fmt);
        pos += gettoalign(pos, &h, (char)opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H':
        case 'l': case 'L': case 'T': case 'i': case 'I': {
            int is_signed = islower(opt);
            lua_pushnumber(L, get_int(data + pos, h.little, is_signed, size));
            n++;
            break;
        }
        case 'x':
            break;
        case 'f': {
            float f;
            get_bytes(&f, data + pos, size, h.little);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            get_bytes(&d, data + pos, size, h.little);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1)) {
                    luaL_error(L, "format 'c0' needs a previous size");
                }
                size = (size_t)lua_tonumber(L, -1);
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        case 's': {
            const char *e = memchr(data + pos, '\0', ld - pos);
            if (e == NULL) {
                luaL_error(L, "unfinished string in data");
            }
            size = (size_t)(e - (data + pos));
            lua_pushlstring(L, data + pos, size);
            n++;
            size++; /* the terminating zero */
            break;
        }
        default:
            controloptions(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return n + 1;
}

static int
l_size(lua_State *L)
{
    struct fmt_state h = {native_little(), 1};
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    while (*fmt) {
        int opt = *fmt++;
        size_t size = opt_size(L, (char)opt, &fmt);
        pos += gettoalign(pos, &h, (char)opt, size);
        if (opt == 's') {
            luaL_argerror(L, 1, "option 's' has no fixed size");
        } else if (opt == 'c' && size == 0) {
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        }
        if (size == 0 && !strchr("bBhHlLTiIfdxc", opt)) {
            controloptions(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int
script_struct_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pack", l_pack},
        {"unpack", l_unpack},
        {"size", l_size},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    return 1;
}
