/* Redis 7.0's key specs and its COMMAND GETKEYS search over them.  The
 * specs themselves are data (keyspec_table.h, generated from redis-server's
 * COMMAND reply); this file is the search: begin at an index or after a
 * keyword, take a range or a counted run of keys, and, where a spec cannot
 * decide (SORT's STORE, SET's GET, a numkeys that does not parse), the
 * per-command fallback Redis uses, with the flags it gives. */
#include "core/keyspec.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "core/util.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#define KS_MAX_SPECS 3
struct keyspec_row {
    enum cmd_id id;
    int n;
    struct keyspec specs[KS_MAX_SPECS];
};

static const struct keyspec_row rows[] = {
#define KEYSPEC_ROW(id, n, ...) {CMD_ID_##id, n, {__VA_ARGS__}},
#define KEYSPEC_TIPS(id, ...)
#include "core/keyspec_table.h"
#undef KEYSPEC_TIPS
#undef KEYSPEC_ROW
};

#define KS_MAX_TIPS 4
static const struct {
    enum cmd_id id;
    const char *tips[KS_MAX_TIPS + 1]; /* NULL-terminated */
} tip_rows[] = {
#define KEYSPEC_ROW(id, n, ...)
#define KEYSPEC_TIPS(id, ...) {CMD_ID_##id, {__VA_ARGS__, NULL}},
#include "core/keyspec_table.h"
#undef KEYSPEC_TIPS
#undef KEYSPEC_ROW
};

static const char *const flag_names[] = {
#define KEYSPEC_FLAG_NAME(sym, name) name,
    KEYSPEC_FLAG_LIST(KEYSPEC_FLAG_NAME)
#undef KEYSPEC_FLAG_NAME
};

/* Redis's getkeys callbacks, used where the specs fail or, for SET and
 * BITFIELD (variable_flags), always. */
enum ks_fallback {
    FB_NUMKEYS,  /* a count, then the keys; a store key after them (flags 0) */
    FB_SORT,     /* the key, then the argument after the last STORE */
    FB_SORT_RO,  /* the key */
    FB_SET,      /* the key: RW access update with GET, else OW update */
    FB_BITFIELD, /* the key: RO access when only GET/OVERFLOW, else RW */
    FB_MIGRATE,  /* argv[3], or the keys after KEYS (command_keys()) */
    FB_NONE,     /* a callback that finds nothing where the specs failed
                    (XREAD's odd tail; GEORADIUS's keyword specs never fail) */
};
static const struct {
    enum cmd_id id;
    enum ks_fallback kind;
    int store, count, first; /* FB_NUMKEYS: argv indexes (store 0: none) */
} fallbacks[] = {
    {CMD_ID_SET, FB_SET, 0, 0, 0},
    {CMD_ID_BITFIELD, FB_BITFIELD, 0, 0, 0},
    {CMD_ID_SORT, FB_SORT, 0, 0, 0},
    {CMD_ID_SORT_RO, FB_SORT_RO, 0, 0, 0},
    {CMD_ID_LMPOP, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_BLMPOP, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_ZMPOP, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_BZMPOP, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_SINTERCARD, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_ZUNION, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_ZINTER, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_ZDIFF, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_ZINTERCARD, FB_NUMKEYS, 0, 1, 2},
    {CMD_ID_ZUNIONSTORE, FB_NUMKEYS, 1, 2, 3},
    {CMD_ID_ZINTERSTORE, FB_NUMKEYS, 1, 2, 3},
    {CMD_ID_ZDIFFSTORE, FB_NUMKEYS, 1, 2, 3},
    {CMD_ID_EVAL, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_EVALSHA, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_EVAL_RO, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_EVALSHA_RO, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_FCALL, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_FCALL_RO, FB_NUMKEYS, 0, 2, 3},
    {CMD_ID_MIGRATE, FB_MIGRATE, 0, 0, 0},
    {CMD_ID_XREAD, FB_NONE, 0, 0, 0},
    {CMD_ID_XREADGROUP, FB_NONE, 0, 0, 0},
    {CMD_ID_GEORADIUS, FB_NONE, 0, 0, 0},
    {CMD_ID_GEORADIUSBYMEMBER, FB_NONE, 0, 0, 0},
};

static int
fallback_of(const struct command *cmd)
{
    for (size_t i = 0; i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
        if (fallbacks[i].id == cmd->id) {
            return (int)i;
        }
    }
    return -1;
}

/* The command's specs: its generated row, or for a command Redis 7.0 does
 * not have, one range spec from the table's first/last/step (the shape
 * COMMAND INFO prints for it).  Returns the number of specs in *out. */
int
keyspec_specs(const struct command *cmd, const struct keyspec **out, struct keyspec *derived)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].id == cmd->id) {
            *out = rows[i].specs;
            return rows[i].n;
        }
    }
    if (cmd->first_key <= 0) {
        return 0;
    }
    derived->flags = (cmd->flags & CMD_WRITE) ? KSF_RW | KSF_UPDATE : KSF_RO | KSF_ACCESS;
    derived->begin = KS_BS_INDEX;
    derived->at = cmd->first_key;
    derived->keyword = NULL;
    derived->find = KS_FK_RANGE;
    derived->a = cmd->last_key < 0 ? cmd->last_key : cmd->last_key - cmd->first_key;
    derived->b = cmd->key_step;
    derived->c = 0;
    derived->notes = NULL;
    *out = derived;
    return 1;
}

const char *const *
keyspec_tips(const struct command *cmd, size_t *n)
{
    for (size_t i = 0; i < sizeof(tip_rows) / sizeof(tip_rows[0]); i++) {
        if (tip_rows[i].id == cmd->id) {
            size_t k = 0;
            while (tip_rows[i].tips[k] != NULL) {
                k++;
            }
            *n = k;
            return tip_rows[i].tips;
        }
    }
    *n = 0;
    return NULL;
}

int
keyspec_known(const struct command *cmd)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].id == cmd->id) {
            return 1;
        }
    }
    return 0;
}

int
keyspec_has_keys(const struct command *cmd)
{
    const struct keyspec *specs;
    struct keyspec derived;
    int n = keyspec_specs(cmd, &specs, &derived);
    if (fallback_of(cmd) >= 0) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (!(specs[i].flags & KSF_NOT_KEY)) {
            return 1;
        }
    }
    return 0;
}

const char *
keyspec_flag_name(int bit)
{
    return bit >= 0 && bit < KSF_BIT__COUNT ? flag_names[bit] : "";
}

static int
arg_eq(const struct resp_arg *a, const char *word)
{
    size_t l = strlen(word);
    return a->len == l && strncasecmp(a->ptr, word, l) == 0;
}

/* C's atoi() over an argument that is not NUL-terminated, as Redis's
 * fallbacks read numkeys: leading blanks and a sign, digits up to the first
 * other byte ("2x" is 2, "x" is 0), clamped like strtol and then cut to an
 * int as glibc's atoi does. */
static int
arg_atoi(const struct resp_arg *a)
{
    size_t i = 0;
    int neg = 0;
    long v = 0;
    while (i < a->len && (a->ptr[i] == ' ' || (a->ptr[i] >= '\t' && a->ptr[i] <= '\r'))) {
        i++;
    }
    if (i < a->len && (a->ptr[i] == '+' || a->ptr[i] == '-')) {
        neg = a->ptr[i] == '-';
        i++;
    }
    for (; i < a->len && a->ptr[i] >= '0' && a->ptr[i] <= '9'; i++) {
        int d = a->ptr[i] - '0';
        if (v > (LONG_MAX - d) / 10) {
            v = neg ? LONG_MIN : LONG_MAX;
            return (int)v;
        }
        v = v * 10 + d;
    }
    return (int)(neg ? -v : v);
}

/* The specs' search (Redis's getKeysUsingKeySpecs).  Returns the number of
 * keys, or -1 when a spec cannot be followed on this line (a count that
 * does not parse or does not fit, a spec of unknown shape). */
static long
search_specs(const struct keyspec *specs, int nspecs, size_t argc, const struct resp_arg *argv,
             struct keyspec_key *out, size_t cap)
{
    long n = 0;
    long ac = (long)argc;
    for (int s = 0; s < nspecs; s++) {
        const struct keyspec *sp = &specs[s];
        long first = 0, last, step;
        if (sp->flags & KSF_NOT_KEY) {
            continue;
        }
        if (sp->begin == KS_BS_INDEX) {
            first = sp->at;
        } else if (sp->begin == KS_BS_KEYWORD) {
            /* Forwards up to the next-to-last argument, or backwards down
             * to argv[1]: the keyword is never the last argument. */
            long start = sp->at > 0 ? sp->at : ac + sp->at;
            long end = sp->at > 0 ? ac - 1 : 1;
            for (long i = start; i != end; i = start <= end ? i + 1 : i - 1) {
                if (i >= ac || i < 1) {
                    break;
                }
                if (arg_eq(&argv[i], sp->keyword)) {
                    first = i + 1;
                    break;
                }
            }
            if (first == 0) {
                continue; /* no keyword: this spec has no keys */
            }
        } else {
            return -1;
        }
        if (sp->find == KS_FK_RANGE) {
            step = sp->b;
            if (sp->a >= 0) {
                last = first + sp->a;
            } else if (sp->c == 0) {
                last = ac + sp->a;
            } else {
                last = first + ((ac - first) / sp->c + sp->a);
            }
        } else if (sp->find == KS_FK_KEYNUM) {
            long long numkeys;
            step = sp->c;
            if (sp->a >= ac || first + sp->a >= ac
                || util_str2ll(argv[first + sp->a].ptr, argv[first + sp->a].len, &numkeys) != 0
                || numkeys < 0) {
                return -1;
            }
            first += sp->b;
            /* Redis adds the count as an int. */
            last = first + (long)(int)numkeys - 1;
        } else {
            return -1;
        }
        if (last >= ac || last < first || first >= ac) {
            return -1;
        }
        for (long i = first; i <= last && (size_t)n < cap; i += step) {
            out[n].pos = (size_t)i;
            out[n].flags = sp->flags;
            n++;
        }
        if (sp->flags & KSF_INCOMPLETE) {
            return -1;
        }
    }
    return n;
}

/* Redis's callbacks find at most argc + 1 keys; out has that room. */
static size_t
fallback_find(int fb, const struct command *cmd, const struct keyspec *specs, size_t argc,
              const struct resp_arg *argv, struct keyspec_key *out)
{
    switch (fallbacks[fb].kind) {
    case FB_NUMKEYS: {
        int num = arg_atoi(&argv[fallbacks[fb].count]);
        long first = fallbacks[fb].first;
        size_t n = 0;
        if (num < 1 || num > ((long)argc - first)) {
            return 0;
        }
        for (int i = 0; i < num; i++) {
            out[n].pos = (size_t)(first + i);
            out[n++].flags = 0;
        }
        if (fallbacks[fb].store) {
            out[n].pos = (size_t)fallbacks[fb].store;
            out[n++].flags = 0;
        }
        return n;
    }
    case FB_SORT: {
        /* command_keys() walks SORT's options as Redis's callback does. */
        size_t idx[2];
        size_t n = command_keys(cmd, argc, argv, idx, 2);
        for (size_t i = 0; i < n; i++) {
            out[i].pos = idx[i];
            out[i].flags = idx[i] == 1 ? specs[0].flags : specs[2].flags;
        }
        return n;
    }
    case FB_SORT_RO:
        out[0].pos = 1;
        out[0].flags = specs[0].flags;
        return 1;
    case FB_SET:
        out[0].pos = 1;
        out[0].flags = KSF_OW | KSF_UPDATE;
        for (size_t i = 3; i < argc; i++) {
            if (arg_eq(&argv[i], "get")) {
                out[0].flags = KSF_RW | KSF_ACCESS | KSF_UPDATE;
                break;
            }
        }
        return 1;
    case FB_BITFIELD: {
        int readonly = 1;
        for (size_t i = 2; i < argc; i++) {
            size_t rest = argc - i - 1;
            if (arg_eq(&argv[i], "get") && rest >= 2) {
                i += 2;
            } else if ((arg_eq(&argv[i], "set") || arg_eq(&argv[i], "incrby")) && rest >= 3) {
                readonly = 0;
                break;
            } else if (arg_eq(&argv[i], "overflow") && rest >= 1) {
                i += 1;
            } else {
                readonly = 0; /* a syntax error: assume it writes */
                break;
            }
        }
        out[0].pos = 1;
        out[0].flags = readonly ? KSF_RO | KSF_ACCESS : KSF_RW | KSF_ACCESS | KSF_UPDATE;
        return 1;
    }
    case FB_MIGRATE: {
        size_t *idx = mem_alloc((argc + 1) * sizeof(*idx));
        size_t n = command_keys(cmd, argc, argv, idx, argc + 1);
        for (size_t i = 0; i < n; i++) {
            out[i].pos = idx[i];
            out[i].flags = specs[0].flags;
        }
        mem_free(idx);
        return n;
    }
    case FB_NONE:
        return 0;
    }
    return 0;
}

size_t
keyspec_find(const struct command *cmd, size_t argc, const struct resp_arg *argv,
             struct keyspec_key *out)
{
    /* out has room for argc + 1 keys (the header's contract): no table
     * row finds more, and the spec search stops there all the same. */
    size_t cap = argc + 1;
    const struct keyspec *specs;
    struct keyspec derived;
    int nspecs = keyspec_specs(cmd, &specs, &derived);
    int fb = fallback_of(cmd);
    int variable = 0;

    for (int i = 0; i < nspecs; i++) {
        variable |= (specs[i].flags & KSF_VARIABLE_FLAGS) != 0;
    }
    if (!variable) {
        long n = search_specs(specs, nspecs, argc, argv, out, cap);
        if (n >= 0) {
            return (size_t)n;
        }
    }
    return fb >= 0 ? fallback_find(fb, cmd, specs, argc, argv, out) : 0;
}
