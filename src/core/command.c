/* Command table storage and lookup.  Top-level names go into a small open-
 * addressing table so that dispatch is one hash and one compare. */
#include "core/command.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct command commands[CMD_ID__COUNT] = {
#define CMD_ROW(id, par, nm, ar, fl, fk, lk, st, grp, snc, sum, fn)            \
    [CMD_ID_##id] = {CMD_ID_##id, CMD_ID_##par, nm, NULL, ar, fl, fk,    \
                     lk, st, grp, snc, sum, NULL, 0},
    CMD_LIST(CMD_ROW)
#undef CMD_ROW
};

static const char *flag_names[] = {
#define CMD_FLAG_NAME(sym, name) name,
    CMD_FLAG_LIST(CMD_FLAG_NAME)
#undef CMD_FLAG_NAME
};

/* The name table is sized from the command list at build time: the smallest
 * power of two holding twice as many slots as there are rows (top-level names
 * are a subset), so it stays at most half full and probing stays short
 * however many rows command.h gains.  A fixed size would have made
 * command_setup() probe forever once the names outnumbered the slots. */
enum {
    LOOKUP_MIN = 2 * CMD_ID__COUNT,
    LOOKUP_B0 = LOOKUP_MIN - 1,
    LOOKUP_B1 = LOOKUP_B0 | (LOOKUP_B0 >> 1),
    LOOKUP_B2 = LOOKUP_B1 | (LOOKUP_B1 >> 2),
    LOOKUP_B3 = LOOKUP_B2 | (LOOKUP_B2 >> 4),
    LOOKUP_B4 = LOOKUP_B3 | (LOOKUP_B3 >> 8),
    LOOKUP_B5 = LOOKUP_B4 | (LOOKUP_B4 >> 16),
    LOOKUP_SIZE = LOOKUP_B5 + 1,
};
_Static_assert((LOOKUP_SIZE & (LOOKUP_SIZE - 1)) == 0,
               "the command name table size must be a power of two");
_Static_assert(LOOKUP_SIZE >= 2 * CMD_ID__COUNT,
               "the command name table must stay at most half full");
static const struct command *lookup[LOOKUP_SIZE];
static const struct command *toplevel[CMD_ID__COUNT];
static size_t ntoplevel;
static char *fullnames[CMD_ID__COUNT];

static unsigned char lookup_len[LOOKUP_SIZE]; /* strlen of lookup[h]'s name */
static uint64_t lookup_key[LOOKUP_SIZE][2];   /* name_key of lookup[h]'s name */

/* ASCII case folding, as tolower() in the C locale, without its call: the
 * lookup runs once per request on the node and on the proxy. */
static inline unsigned char
fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* fold() on the eight bytes of x at once: 0x20 added to each byte in
 * 'A'..'Z' (a byte with its high bit set is not ASCII and stays). */
static inline uint64_t
fold8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t low7 = x & (0x7f * ones);
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;      /* high bit: >= 'A' */
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;  /* high bit: > 'Z' */
    uint64_t upper = (ge_a ^ gt_z) & ~x & (0x80 * ones);
    return x | (upper >> 2);
}

static inline uint64_t
load64(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

static inline uint64_t
load32(const char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

/* Two words that, with the length, stand for a name of up to 16 bytes
 * exactly (overlapping loads cover every byte without reading past the
 * name), case-folded; for a longer name, its first 16 bytes.  Dispatch
 * compares these instead of looping over the bytes. */
static inline void
name_key(const char *s, size_t len, uint64_t k[2])
{
    if (len >= 8) {
        k[0] = load64(s);
        k[1] = load64(len <= 16 ? s + len - 8 : s + 8);
    } else if (len >= 4) {
        k[0] = load32(s) | load32(s + len - 4) << 32;
        k[1] = 0;
    } else if (len > 0) {
        k[0] = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len >> 1] << 8
               | (uint64_t)(unsigned char)s[len - 1] << 16;
        k[1] = 0;
    } else {
        k[0] = k[1] = 0;
    }
    k[0] = fold8(k[0]);
    k[1] = fold8(k[1]);
}

static inline unsigned
key_hash(const uint64_t k[2], size_t len)
{
    uint64_t h = (k[0] ^ (k[1] * 0x9e3779b97f4a7c15ULL) ^ len) * 0xc2b2ae3d27d4eb4fULL;
    return (unsigned)(h >> 32);
}

static int
name_eq(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

void
command_setup(void)
{
    if (ntoplevel > 0) {
        return;
    }
    for (int i = 0; i < CMD_ID__COUNT; i++) {
        struct command *c = &commands[i];
        if (c->parent == CMD_ID_NONE) {
            size_t len = strlen(c->name);
            uint64_t k[2];
            name_key(c->name, len, k);
            unsigned h = key_hash(k, len) & (LOOKUP_SIZE - 1);
            while (lookup[h] != NULL) {
                h = (h + 1) & (LOOKUP_SIZE - 1);
            }
            lookup[h] = c;
            lookup_len[h] = (unsigned char)len;
            lookup_key[h][0] = k[0];
            lookup_key[h][1] = k[1];
            toplevel[ntoplevel++] = c;
            c->fullname = c->name;
        } else {
            struct command *p = &commands[c->parent];
            size_t n = strlen(p->name) + strlen(c->name) + 2;
            fullnames[i] = mem_alloc(n);
            snprintf(fullnames[i], n, "%s|%s", p->name, c->name);
            c->fullname = fullnames[i];
            p->subs = mem_realloc((void *)p->subs,
                                  (p->nsubs + 2) * sizeof(*p->subs));
            p->subs[p->nsubs++] = c;
            p->subs[p->nsubs] = NULL;
        }
    }
}

void
command_teardown(void)
{
    for (int i = 0; i < CMD_ID__COUNT; i++) {
        mem_free(fullnames[i]);
        fullnames[i] = NULL;
        mem_free((void *)commands[i].subs);
        commands[i].subs = NULL;
        commands[i].nsubs = 0;
    }
    memset(lookup, 0, sizeof(lookup));
    memset(lookup_len, 0, sizeof(lookup_len));
    memset(lookup_key, 0, sizeof(lookup_key));
    ntoplevel = 0;
}

const struct command *
command_get(enum cmd_id id)
{
    return &commands[id];
}

const struct command *
command_lookup(const char *name, size_t len)
{
    uint64_t k[2];
    name_key(name, len, k);
    unsigned h = key_hash(k, len) & (LOOKUP_SIZE - 1);
    while (lookup[h] != NULL) {
        const struct command *c = lookup[h];
        if (lookup_len[h] == len && lookup_key[h][0] == k[0] && lookup_key[h][1] == k[1]
            && (len <= 16 || name_eq(c->name, name, len))) {
            return c;
        }
        h = (h + 1) & (LOOKUP_SIZE - 1);
    }
    return NULL;
}

const struct command *
command_lookup_sub(const struct command *cmd, const char *name, size_t len)
{
    for (size_t i = 0; i < cmd->nsubs; i++) {
        const struct command *s = cmd->subs[i];
        if (strlen(s->name) == len && strncasecmp(s->name, name, len) == 0) {
            return s;
        }
    }
    return NULL;
}

size_t
command_count(void)
{
    return ntoplevel;
}

const struct command *
command_at(size_t i)
{
    return i < ntoplevel ? toplevel[i] : NULL;
}

const char *
command_flag_name(int bit)
{
    return bit >= 0 && bit < CMD_FLAG_BIT__COUNT ? flag_names[bit] : "";
}

size_t
command_key_positions(const struct command *cmd, size_t argc, size_t *idx,
                      size_t cap)
{
    size_t n = 0;
    long last;
    if (cmd->first_key <= 0) {
        return 0;
    }
    last = cmd->last_key < 0 ? (long)argc + cmd->last_key : cmd->last_key;
    for (long i = cmd->first_key; i <= last && i < (long)argc && n < cap;
         i += cmd->key_step) {
        idx[n++] = (size_t)i;
    }
    return n;
}

/* Commands whose keys move (CMD_MOVABLEKEYS): where to find them beyond the
 * fixed first..last range.  One row per command; both the node (WATCH, ACL
 * key patterns, COMMAND GETKEYS) and the proxy (routing) read it through
 * command_keys(). */
enum movable_kind {
    MOVABLE_NUMKEYS,     /* argv[at] = numkeys, the keys follow it */
    MOVABLE_AFTER_TOKEN, /* after the token (STREAMS), half the rest are keys */
    MOVABLE_SORT_STORE,  /* SORT: the argument after the last STORE, skipping
                            LIMIT's two and GET's and BY's one argument */
    MOVABLE_GEO_STORE,   /* GEORADIUS*: the argument after the first STORE and
                            after the first STOREDIST from argv[at] on (Redis
                            7.0's keyword key specs) */
    MOVABLE_MIGRATE,     /* MIGRATE: argv[3], or with KEYS (argv[3] empty)
                            every argument after it, AUTH's one and AUTH2's
                            two arguments skipped on the way */
};
static const struct movable_keys {
    enum cmd_id id;
    enum movable_kind kind;
    int at;              /* numkeys position, or where the token search starts */
    const char *token;   /* MOVABLE_AFTER_TOKEN */
} movable[] = {
    /* Rows are added with their commands, e.g.
     * {CMD_ID_ZUNIONSTORE, MOVABLE_NUMKEYS, 2, NULL}, */
    /* lists */
    {CMD_ID_LMPOP, MOVABLE_NUMKEYS, 1, NULL},
    {CMD_ID_BLMPOP, MOVABLE_NUMKEYS, 2, NULL},

    /* sets */
    {CMD_ID_SINTERCARD, MOVABLE_NUMKEYS, 1, NULL},

    /* sorted sets */
    {CMD_ID_ZMPOP, MOVABLE_NUMKEYS, 1, NULL},
    {CMD_ID_BZMPOP, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_ZUNION, MOVABLE_NUMKEYS, 1, NULL},
    {CMD_ID_ZINTER, MOVABLE_NUMKEYS, 1, NULL},
    {CMD_ID_ZDIFF, MOVABLE_NUMKEYS, 1, NULL},
    {CMD_ID_ZUNIONSTORE, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_ZINTERSTORE, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_ZDIFFSTORE, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_ZINTERCARD, MOVABLE_NUMKEYS, 1, NULL},

    /* streams */
    {CMD_ID_XREAD, MOVABLE_AFTER_TOKEN, 1, "STREAMS"},
    {CMD_ID_XREADGROUP, MOVABLE_AFTER_TOKEN, 4, "STREAMS"},
    /* SORT (bits and the rest of issue 12) */
    {CMD_ID_SORT, MOVABLE_SORT_STORE, 2, NULL},
    {CMD_ID_GEORADIUS, MOVABLE_GEO_STORE, 6, NULL},
    {CMD_ID_GEORADIUSBYMEMBER, MOVABLE_GEO_STORE, 5, NULL},
    {CMD_ID_MIGRATE, MOVABLE_MIGRATE, 6, NULL},

    /* (end of collections) */
    /* scripts and functions */
    {CMD_ID_EVAL, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_EVALSHA, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_EVAL_RO, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_EVALSHA_RO, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_FCALL, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID_FCALL_RO, MOVABLE_NUMKEYS, 2, NULL},
    {CMD_ID__COUNT, MOVABLE_NUMKEYS, 0, NULL},
};

static const struct movable_keys *
movable_of(const struct command *cmd)
{
    for (size_t i = 0; i < sizeof(movable) / sizeof(movable[0]); i++) {
        if (movable[i].id == cmd->id) {
            return &movable[i];
        }
    }
    return NULL;
}

size_t
command_keys(const struct command *cmd, size_t argc, const struct resp_arg *argv,
             size_t *idx, size_t cap)
{
    size_t n = command_key_positions(cmd, argc, idx, cap);
    const struct movable_keys *m = (cmd->flags & CMD_MOVABLEKEYS) ? movable_of(cmd) : NULL;
    if (m == NULL || argv == NULL) {
        return n;
    }
    if (m->kind == MOVABLE_NUMKEYS) {
        long long numkeys;
        if ((size_t)m->at >= argc
            || util_str2ll(argv[m->at].ptr, argv[m->at].len, &numkeys) != 0
            || numkeys < 0 || (unsigned long long)numkeys > argc - (size_t)m->at - 1) {
            return n;
        }
        for (long long i = 0; i < numkeys && n < cap; i++) {
            idx[n++] = (size_t)m->at + 1 + (size_t)i;
        }
        return n;
    }
    if (m->kind == MOVABLE_SORT_STORE) {
        static const struct {
            const char *name;
            size_t skip;
        } skips[] = {{"limit", 2}, {"get", 1}, {"by", 1}};
        size_t store = 0;
        for (size_t i = (size_t)m->at; i < argc; i++) {
            for (size_t j = 0; j < sizeof(skips) / sizeof(skips[0]); j++) {
                size_t l = strlen(skips[j].name);
                if (argv[i].len == l && strncasecmp(argv[i].ptr, skips[j].name, l) == 0) {
                    i += skips[j].skip;
                    break;
                }
                if (argv[i].len == 5 && strncasecmp(argv[i].ptr, "store", 5) == 0
                    && i + 1 < argc) {
                    store = i + 1;
                    break;
                }
            }
        }
        if (store != 0 && n < cap) {
            idx[n++] = store;
        }
        return n;
    }
    if (m->kind == MOVABLE_MIGRATE) {
        for (size_t i = (size_t)m->at; i < argc; i++) {
            if (argv[i].len == 4 && strncasecmp(argv[i].ptr, "auth", 4) == 0) {
                i += 1;
            } else if (argv[i].len == 5 && strncasecmp(argv[i].ptr, "auth2", 5) == 0) {
                i += 2;
            } else if (argv[i].len == 4 && strncasecmp(argv[i].ptr, "keys", 4) == 0) {
                /* As Redis's callback: KEYS with a key in argv[3] finds
                 * none (the command itself refuses that form). */
                n = 0;
                if (argc > 3 && argv[3].len == 0) {
                    for (size_t k = i + 1; k < argc && n < cap; k++) {
                        idx[n++] = k;
                    }
                }
                break;
            }
        }
        return n;
    }
    if (m->kind == MOVABLE_GEO_STORE) {
        static const char *const words[] = {"store", "storedist"};
        for (size_t w = 0; w < 2; w++) {
            size_t l = strlen(words[w]);
            for (size_t i = (size_t)m->at; i + 1 < argc; i++) {
                if (argv[i].len == l && strncasecmp(argv[i].ptr, words[w], l) == 0) {
                    if (n < cap) {
                        idx[n++] = i + 1;
                    }
                    break;
                }
            }
        }
        return n;
    }
    size_t tlen = strlen(m->token);
    for (size_t i = (size_t)m->at; i < argc; i++) {
        if (argv[i].len == tlen && strncasecmp(argv[i].ptr, m->token, tlen) == 0) {
            size_t rest = argc - i - 1;
            for (size_t k = 0; k < rest / 2 && n < cap; k++) {
                idx[n++] = i + 1 + k;
            }
            break;
        }
    }
    return n;
}

size_t
command_unknown_error(char *buf, size_t cap, size_t argc, const struct resp_arg *argv)
{
    char args[256];
    size_t off = 0;
    int n;
    args[0] = '\0';
    /* Redis quotes the arguments until 128 characters have been shown. */
    for (size_t i = 1; i < argc && off < 128; i++) {
        size_t room = 128 - off;
        n = snprintf(args + off, sizeof(args) - off, "'%.*s' ",
                     (int)(argv[i].len < room ? argv[i].len : room), argv[i].ptr);
        if (n < 0) {
            break;
        }
        off += (size_t)n;
        if (off >= sizeof(args)) {
            off = sizeof(args) - 1;
        }
    }
    n = snprintf(buf, cap, "unknown command '%.*s', with args beginning with: %s",
                 (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr, args);
    size_t len = n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
    /* The text goes into a one-line error: CR and LF become spaces, as
     * Redis does, or they would end the line early. */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\r' || buf[i] == '\n') {
            buf[i] = ' ';
        }
    }
    return len;
}
