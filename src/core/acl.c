/* ACL users and the permission check.  A user is a name, on/off, a set of
 * password hashes and selectors; a selector is a bitmap of allowed command
 * ids plus key patterns (with read/write flags) and channel patterns.  The
 * rule language and the text ACL LIST / GETUSER print are Redis 7.0's, so
 * an aclfile written by one server loads on the other.  Shared by the node
 * and the proxy: it knows users and commands, not clients (the binaries'
 * glue adds the client side: node/acl.c, proxy/acl.c). */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/option.h"
#include "core/sha256.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

/* ---- categories ---------------------------------------------------------- */

static const char *const acl_cat_names[] = {
#define ACL_CAT_NAME(sym, name) name,
    ACL_CAT_LIST(ACL_CAT_NAME)
#undef ACL_CAT_NAME
};

#define CAT(sym) (1u << ACL_CAT_BIT_##sym)

const char *
acl_category_name(int bit)
{
    return bit >= 0 && bit < ACL_CAT_BIT__COUNT ? acl_cat_names[bit] : NULL;
}

int
acl_category_by_name(const char *name, size_t len)
{
    for (int i = 0; i < ACL_CAT_BIT__COUNT; i++) {
        if (strlen(acl_cat_names[i]) == len && strncasecmp(acl_cat_names[i], name, len) == 0) {
            return i;
        }
    }
    return -1;
}

/* Redis assigns categories by hand in its command JSON files.  Most follow
 * from our flags and group; the rows below add or remove what does not
 * (checked against redis-server 7.0's COMMAND INFO). */
static const struct acl_cat_fix {
    enum cmd_id id;
    uint32_t add, del;
} acl_cat_fixes[] = {
#include "core/acl_catfix.h"
    {CMD_ID__COUNT, 0, 0},
};

static uint32_t acl_cats[CMD_ID__COUNT];
static int acl_cats_ready;

static uint32_t
acl_derive_categories(const struct command *cmd)
{
    uint32_t f = cmd->flags, cats = 0;
    const char *g = cmd->group;
    static const struct {
        const char *group;
        uint32_t cat;
    } type_cats[] = {
        {"set", CAT(SET)}, {"sorted-set", CAT(SORTEDSET)}, {"list", CAT(LIST)},
        {"hash", CAT(HASH)}, {"string", CAT(STRING)}, {"stream", CAT(STREAM)},
        {"bitmap", CAT(BITMAP)}, {"hyperloglog", CAT(HYPERLOGLOG)}, {"geo", CAT(GEO)},
        {"transactions", CAT(TRANSACTION)}, {"scripting", CAT(SCRIPTING)},
        {"connection", CAT(CONNECTION)},
    };

    if (cmd->nsubs > 0 && f == 0) {
        return CAT(SLOW); /* a container only routes to its subcommands */
    }
    if (!strcmp(g, "generic")) {
        cats |= CAT(KEYSPACE);
    }
    if (f & CMD_READONLY) {
        cats |= CAT(READ);
    }
    if (f & CMD_WRITE) {
        cats |= CAT(WRITE);
    }
    for (size_t i = 0; i < sizeof(type_cats) / sizeof(type_cats[0]); i++) {
        if (!strcmp(g, type_cats[i].group)) {
            cats |= type_cats[i].cat;
        }
    }
    if (f & CMD_PUBSUB) {
        cats |= CAT(PUBSUB);
    }
    if (f & CMD_ADMIN) {
        cats |= CAT(ADMIN) | CAT(DANGEROUS);
    }
    cats |= (f & CMD_FAST) ? CAT(FAST) : CAT(SLOW);
    if (f & CMD_BLOCKING) {
        cats |= CAT(BLOCKING);
    }
    return cats;
}

static void
acl_cats_init(void)
{
    if (acl_cats_ready) {
        return;
    }
    for (int i = 0; i < CMD_ID__COUNT; i++) {
        acl_cats[i] = acl_derive_categories(command_get((enum cmd_id)i));
    }
    for (size_t i = 0; acl_cat_fixes[i].id != CMD_ID__COUNT; i++) {
        uint32_t *c = &acl_cats[acl_cat_fixes[i].id];
        *c = (*c | acl_cat_fixes[i].add) & ~acl_cat_fixes[i].del;
    }
    acl_cats_ready = 1;
}

uint32_t
acl_command_categories(const struct command *cmd)
{
    acl_cats_init();
    return acl_cats[cmd->id];
}

/* ---- selectors ----------------------------------------------------------- */

static int
sel_bit(const struct acl_selector *s, int id)
{
    return (s->allowed[id / 8] >> (id % 8)) & 1;
}

static void
sel_set_bit(struct acl_selector *s, int id, int on)
{
    if (on) {
        s->allowed[id / 8] |= (uint8_t)(1u << (id % 8));
    } else {
        s->allowed[id / 8] &= (uint8_t)~(1u << (id % 8));
    }
}

static void
patterns_free(struct acl_pattern **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        mem_free((*v)[i].pat);
    }
    mem_free(*v);
    *v = NULL;
    *n = 0;
}

static void
patterns_copy(struct acl_pattern **dst, size_t *dn, const struct acl_pattern *src, size_t sn)
{
    *dst = sn ? mem_alloc(sn * sizeof(**dst)) : NULL;
    for (size_t i = 0; i < sn; i++) {
        (*dst)[i].pat = mem_strndup(src[i].pat, src[i].len);
        (*dst)[i].len = src[i].len;
        (*dst)[i].perm = src[i].perm;
    }
    *dn = sn;
}

/* Add a pattern; an identical one only gains the new permissions. */
static void
patterns_add(struct acl_pattern **v, size_t *n, const char *p, size_t len, unsigned perm)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*v)[i].len == len && memcmp((*v)[i].pat, p, len) == 0) {
            (*v)[i].perm |= perm;
            return;
        }
    }
    *v = mem_realloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].pat = mem_strndup(p, len);
    (*v)[*n].len = len;
    (*v)[*n].perm = perm;
    (*n)++;
}

static void
sel_clear(struct acl_selector *s)
{
    patterns_free(&s->keys, &s->nkeys);
    patterns_free(&s->chans, &s->nchans);
    memset(s, 0, sizeof(*s));
}

static void
sel_copy(struct acl_selector *dst, const struct acl_selector *src)
{
    dst->flags = src->flags;
    memcpy(dst->allowed, src->allowed, sizeof(dst->allowed));
    patterns_copy(&dst->keys, &dst->nkeys, src->keys, src->nkeys);
    patterns_copy(&dst->chans, &dst->nchans, src->chans, src->nchans);
}

/* Allow or deny a command and, for a container, all its subcommands. */
static void
sel_change_command(struct acl_selector *s, const struct command *cmd, int on)
{
    sel_set_bit(s, cmd->id, on);
    for (size_t i = 0; i < cmd->nsubs; i++) {
        sel_set_bit(s, cmd->subs[i]->id, on);
    }
}

static void
sel_change_category(struct acl_selector *s, int cat, int on)
{
    for (int i = 0; i < CMD_ID__COUNT; i++) {
        if (acl_command_categories(command_get((enum cmd_id)i)) & (1u << cat)) {
            sel_set_bit(s, i, on);
        }
    }
}

static void
sel_all_commands(struct acl_selector *s, int on)
{
    memset(s->allowed, on ? 0xff : 0, sizeof(s->allowed));
    if (on) {
        s->flags |= SEL_ALLCOMMANDS;
    } else {
        s->flags &= ~(unsigned)SEL_ALLCOMMANDS;
    }
}

/* Resolve "name" or "parent|sub" to a command row; NULL when unknown. */
static const struct command *
acl_lookup_command(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    const struct command *cmd;
    if (bar == NULL) {
        return command_lookup(name, len);
    }
    cmd = command_lookup(name, (size_t)(bar - name));
    if (cmd == NULL || cmd->nsubs == 0) {
        return NULL;
    }
    return command_lookup_sub(cmd, bar + 1, len - (size_t)(bar - name) - 1);
}

int
acl_has_space(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (isspace((unsigned char)p[i]) || p[i] == 0) {
            return 1;
        }
    }
    return 0;
}

static int
op_is(const char *op, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(op, word, len) == 0;
}

/* Apply one selector rule.  Returns 0, or -1 with errno set as Redis does
 * (the caller turns it into the message). */
static int
sel_apply(struct acl_selector *s, const char *op, size_t len)
{
    if (len == 0) {
        return 0; /* an empty rule changes nothing, as in Redis */
    }
    if (op_is(op, len, "allkeys") || (len == 2 && op[0] == '~' && op[1] == '*')) {
        s->flags |= SEL_ALLKEYS;
        patterns_free(&s->keys, &s->nkeys);
        return 0;
    }
    if (op_is(op, len, "resetkeys")) {
        s->flags &= ~(unsigned)SEL_ALLKEYS;
        patterns_free(&s->keys, &s->nkeys);
        return 0;
    }
    if (op_is(op, len, "allchannels") || (len == 2 && op[0] == '&' && op[1] == '*')) {
        s->flags |= SEL_ALLCHANNELS;
        patterns_free(&s->chans, &s->nchans);
        return 0;
    }
    if (op_is(op, len, "resetchannels")) {
        s->flags &= ~(unsigned)SEL_ALLCHANNELS;
        patterns_free(&s->chans, &s->nchans);
        return 0;
    }
    if (op_is(op, len, "allcommands") || op_is(op, len, "+@all")) {
        sel_all_commands(s, 1);
        return 0;
    }
    if (op_is(op, len, "nocommands") || op_is(op, len, "-@all")) {
        sel_all_commands(s, 0);
        return 0;
    }
    if (op[0] == '~' || op[0] == '%') {
        unsigned perm = 0;
        size_t off = 1;
        if (s->flags & SEL_ALLKEYS) {
            errno = EEXIST;
            return -1;
        }
        if (op[0] == '%') {
            for (; off < len; off++) {
                char ch = (char)toupper((unsigned char)op[off]);
                if (ch == 'R' && !(perm & ACL_PERM_READ)) {
                    perm |= ACL_PERM_READ;
                } else if (ch == 'W' && !(perm & ACL_PERM_WRITE)) {
                    perm |= ACL_PERM_WRITE;
                } else if (op[off] == '~') {
                    off++;
                    break;
                } else {
                    errno = EINVAL;
                    return -1;
                }
            }
            if (perm == 0) {
                errno = EINVAL;
                return -1;
            }
        } else {
            perm = ACL_PERM_ALL;
        }
        if (acl_has_space(op + off, len - off)) {
            errno = EINVAL;
            return -1;
        }
        if (perm == ACL_PERM_ALL && len - off == 1 && op[off] == '*') {
            s->flags |= SEL_ALLKEYS;
            patterns_free(&s->keys, &s->nkeys);
            return 0;
        }
        patterns_add(&s->keys, &s->nkeys, op + off, len - off, perm);
        return 0;
    }
    if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) {
            errno = EISDIR;
            return -1;
        }
        if (acl_has_space(op + 1, len - 1)) {
            errno = EINVAL;
            return -1;
        }
        patterns_add(&s->chans, &s->nchans, op + 1, len - 1, 0);
        return 0;
    }
    if ((op[0] == '+' || op[0] == '-') && len > 1 && op[1] != '@') {
        int on = op[0] == '+';
        const struct command *cmd = acl_lookup_command(op + 1, len - 1);
        if (cmd == NULL) {
            errno = ENOENT;
            return -1;
        }
        sel_change_command(s, cmd, on);
        return 0;
    }
    if ((op[0] == '+' || op[0] == '-') && len > 2 && op[1] == '@') {
        int cat = acl_category_by_name(op + 2, len - 2);
        if (cat < 0) {
            errno = ENOENT;
            return -1;
        }
        sel_change_category(s, cat, op[0] == '+');
        return 0;
    }
    errno = EINVAL;
    return -1;
}

/* ---- users ------------------------------------------------------------- */

static struct acl_user *
user_create(const char *name, size_t len)
{
    struct acl_user *u = mem_calloc(sizeof(*u));
    u->name = mem_strndup(name, len);
    return u;
}

static void
user_clear(struct acl_user *u)
{
    mem_free(u->pass);
    u->pass = NULL;
    u->npass = 0;
    sel_clear(&u->root);
    for (size_t i = 0; i < u->nsels; i++) {
        sel_clear(&u->sels[i]);
    }
    mem_free(u->sels);
    u->sels = NULL;
    u->nsels = 0;
    u->on = 0;
    u->nopass = 0;
    u->sanitize = 0;
}

void
acl_user_free(struct acl_user **up)
{
    if (*up == NULL) {
        return;
    }
    user_clear(*up);
    mem_free((*up)->name);
    mem_free(*up);
    *up = NULL;
}

static void
user_copy(struct acl_user *dst, const struct acl_user *src)
{
    user_clear(dst);
    dst->on = src->on;
    dst->nopass = src->nopass;
    dst->sanitize = src->sanitize;
    if (src->npass) {
        dst->pass = mem_alloc(src->npass * sizeof(*dst->pass));
        memcpy(dst->pass, src->pass, src->npass * sizeof(*dst->pass));
    }
    dst->npass = src->npass;
    sel_copy(&dst->root, &src->root);
    if (src->nsels) {
        dst->sels = mem_calloc(src->nsels * sizeof(*dst->sels));
        for (size_t i = 0; i < src->nsels; i++) {
            sel_copy(&dst->sels[i], &src->sels[i]);
        }
    }
    dst->nsels = src->nsels;
}

static void
user_add_hash(struct acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npass; i++) {
        if (!strcmp(u->pass[i], hex)) {
            return;
        }
    }
    u->pass = mem_realloc(u->pass, (u->npass + 1) * sizeof(*u->pass));
    memcpy(u->pass[u->npass], hex, 65);
    u->npass++;
}

static int
user_del_hash(struct acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npass; i++) {
        if (!strcmp(u->pass[i], hex)) {
            memmove(&u->pass[i], &u->pass[i + 1], (u->npass - i - 1) * sizeof(*u->pass));
            u->npass--;
            return 0;
        }
    }
    return -1;
}

static int
valid_hash(const char *p, size_t len)
{
    if (len != 64) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* The channel rule new users start with (acl-pubsub-default). */
static int acl_pubsub_allchannels;

/* Apply one user rule (selector rules go to the root selector).  Returns 0
 * or -1 with errno set. */
static int
user_apply(struct acl_user *u, const char *op, size_t len)
{
    char hex[65];
    if (op_is(op, len, "on")) {
        u->on = 1;
    } else if (op_is(op, len, "off")) {
        u->on = 0;
    } else if (op_is(op, len, "nopass")) {
        u->nopass = 1;
        mem_free(u->pass);
        u->pass = NULL;
        u->npass = 0;
    } else if (op_is(op, len, "resetpass")) {
        u->nopass = 0;
        mem_free(u->pass);
        u->pass = NULL;
        u->npass = 0;
    } else if (op_is(op, len, "skip-sanitize-payload")) {
        u->sanitize = 2; /* recorded only: RESTORE payloads are always checked */
    } else if (op_is(op, len, "sanitize-payload")) {
        u->sanitize = 1;
    } else if (op_is(op, len, "clearselectors")) {
        for (size_t i = 0; i < u->nsels; i++) {
            sel_clear(&u->sels[i]);
        }
        mem_free(u->sels);
        u->sels = NULL;
        u->nsels = 0;
    } else if (op_is(op, len, "reset")) {
        user_clear(u);
        u->sanitize = 1;
        if (acl_pubsub_allchannels) {
            u->root.flags |= SEL_ALLCHANNELS;
        }
    } else if (len >= 1 && (op[0] == '>' || op[0] == '<')) {
        sha256_hex(op + 1, len - 1, hex);
        if (op[0] == '>') {
            user_add_hash(u, hex);
            u->nopass = 0;
        } else if (user_del_hash(u, hex) != 0) {
            errno = ENODEV;
            return -1;
        }
    } else if (len >= 1 && (op[0] == '#' || op[0] == '!')) {
        if (!valid_hash(op + 1, len - 1)) {
            errno = EBADMSG;
            return -1;
        }
        memcpy(hex, op + 1, 64);
        hex[64] = '\0';
        if (op[0] == '#') {
            user_add_hash(u, hex);
            u->nopass = 0;
        } else if (user_del_hash(u, hex) != 0) {
            errno = ENODEV;
            return -1;
        }
    } else if (len >= 2 && op[0] == '(' && op[len - 1] == ')') {
        struct acl_selector s;
        memset(&s, 0, sizeof(s));
        if (acl_pubsub_allchannels) {
            s.flags |= SEL_ALLCHANNELS;
        }
        size_t i = 1, end = len - 1;
        while (i < end) {
            while (i < end && op[i] == ' ') {
                i++;
            }
            size_t j = i;
            while (j < end && op[j] != ' ') {
                j++;
            }
            /* A rule ending in ')' would end the selector early when ACL
             * LIST's text is read back (ACL SAVE, then LOAD). */
            if (j > i && op[j - 1] == ')') {
                sel_clear(&s);
                errno = EINVAL;
                return -1;
            }
            if (j > i && sel_apply(&s, op + i, j - i) != 0) {
                int e = errno;
                sel_clear(&s);
                errno = e;
                return -1;
            }
            i = j;
        }
        u->sels = mem_realloc(u->sels, (u->nsels + 1) * sizeof(*u->sels));
        u->sels[u->nsels++] = s;
    } else {
        return sel_apply(&u->root, op, len);
    }
    return 0;
}

static const char *
acl_errno_text(int e)
{
    switch (e) {
    case ENOENT:
        return "Unknown command or category name in ACL";
    case EINVAL:
        return "Syntax error";
    case EEXIST:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
               "and does not have any effect. Try 'resetkeys' to start with an empty list "
               "of patterns";
    case EISDIR:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
               "valid and does not have any effect. Try 'resetchannels' to start with an "
               "empty list of channels";
    case ENODEV:
        return "The password you are trying to remove from the user does not exist";
    case EBADMSG:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case EALREADY:
        return "Duplicate user found. A user can only be defined once in config files";
    default:
        return "Unknown error";
    }
}

/* ---- the registry -------------------------------------------------------- */

struct acl_user *
acl_state_find(struct acl_state *st, const char *name, size_t len, size_t *pos)
{
    size_t lo = 0, hi = st->nusers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *n = st->users[mid]->name;
        size_t nl = strlen(n);
        int c = memcmp(n, name, nl < len ? nl : len);
        if (c == 0) {
            c = nl < len ? -1 : nl > len;
        }
        if (c == 0) {
            if (pos) {
                *pos = mid;
            }
            return st->users[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (pos) {
        *pos = lo;
    }
    return NULL;
}

static struct acl_user *
state_add(struct acl_state *st, const char *name, size_t len)
{
    size_t pos;
    struct acl_user *u = acl_state_find(st, name, len, &pos);
    if (u != NULL) {
        return u;
    }
    if (st->nusers == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 8;
        st->users = mem_realloc(st->users, st->cap * sizeof(*st->users));
    }
    memmove(&st->users[pos + 1], &st->users[pos], (st->nusers - pos) * sizeof(*st->users));
    u = user_create(name, len);
    if (acl_pubsub_allchannels) {
        u->root.flags |= SEL_ALLCHANNELS;
    }
    st->users[pos] = u;
    st->nusers++;
    return u;
}

static void
default_user_init(struct acl_user *u)
{
    user_clear(u);
    u->on = 1;
    u->nopass = 1;
    u->root.flags = SEL_ALLKEYS | SEL_ALLCHANNELS;
    sel_all_commands(&u->root, 1);
}

/* ---- describing users (ACL LIST, GETUSER, SAVE) ------------------------- */


void
acl_sb_catlen(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) {
            b->cap = b->cap ? b->cap * 2 : 256;
        }
        b->p = mem_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
acl_sb_cat(struct sbuf *b, const char *s)
{
    acl_sb_catlen(b, s, strlen(s));
}

void
acl_sb_trim_space(struct sbuf *b)
{
    if (b->len > 0 && b->p[b->len - 1] == ' ') {
        b->p[--b->len] = '\0';
    }
}

/* The command rules of a selector, rebuilt from its bitmap as Redis 7.0
 * does: start from +@all or -@all, greedily apply the category that fits
 * best while it fits more commands than it misfits, then name the single
 * commands (and subcommands) still different. */
void
acl_describe_commands(const struct acl_selector *s, struct sbuf *b)
{
    int additive = !(s->flags & SEL_ALLCOMMANDS);
    struct acl_selector fake, temp;
    char applied[ACL_CAT_BIT__COUNT];

    memset(&fake, 0, sizeof(fake));
    memset(&temp, 0, sizeof(temp));
    memset(applied, 0, sizeof(applied));
    sel_all_commands(&fake, !additive);
    memcpy(temp.allowed, s->allowed, sizeof(temp.allowed));
    acl_sb_cat(b, additive ? "-@all " : "+@all ");
    for (;;) {
        int best = -1;
        unsigned long mindiff = ULONG_MAX, maxsame = 0;
        for (int j = 0; j < ACL_CAT_BIT__COUNT; j++) {
            unsigned long on = 0, off = 0;
            if (applied[j]) {
                continue;
            }
            for (int i = 0; i < CMD_ID__COUNT; i++) {
                if (acl_command_categories(command_get((enum cmd_id)i)) & (1u << j)) {
                    if (sel_bit(&temp, i)) {
                        on++;
                    } else {
                        off++;
                    }
                }
            }
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) {
            break;
        }
        sel_change_category(&fake, best, additive);
        sel_change_category(&temp, best, !additive);
        acl_sb_cat(b, additive ? "+@" : "-@");
        acl_sb_cat(b, acl_cat_names[best]);
        acl_sb_cat(b, " ");
        applied[best] = 1;
    }
    for (size_t i = 0; i < command_count(); i++) {
        const struct command *cmd = command_at(i);
        int ub = sel_bit(s, cmd->id);
        if (ub != sel_bit(&fake, cmd->id)) {
            acl_sb_cat(b, ub ? "+" : "-");
            acl_sb_cat(b, cmd->fullname);
            acl_sb_cat(b, " ");
            sel_change_command(&fake, cmd, ub);
        }
        for (size_t k = 0; k < cmd->nsubs; k++) {
            const struct command *sub = cmd->subs[k];
            ub = sel_bit(s, sub->id);
            if (ub != sel_bit(&fake, sub->id)) {
                acl_sb_cat(b, ub ? "+" : "-");
                acl_sb_cat(b, sub->fullname);
                acl_sb_cat(b, " ");
                sel_set_bit(&fake, sub->id, ub);
            }
        }
    }
    acl_sb_trim_space(b);
}

void
acl_describe_keys(const struct acl_selector *s, struct sbuf *b)
{
    if (s->flags & SEL_ALLKEYS) {
        acl_sb_cat(b, "~* ");
        return;
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct acl_pattern *p = &s->keys[i];
        acl_sb_cat(b, p->perm == ACL_PERM_ALL ? "~" : p->perm == ACL_PERM_READ ? "%R~" : "%W~");
        acl_sb_catlen(b, p->pat, p->len);
        acl_sb_cat(b, " ");
    }
}

void
acl_describe_channels(const struct acl_selector *s, struct sbuf *b)
{
    if (s->flags & SEL_ALLCHANNELS) {
        acl_sb_cat(b, "&* ");
        return;
    }
    for (size_t i = 0; i < s->nchans; i++) {
        acl_sb_cat(b, "&");
        acl_sb_catlen(b, s->chans[i].pat, s->chans[i].len);
        acl_sb_cat(b, " ");
    }
}

static void
describe_selector(const struct acl_selector *s, struct sbuf *b)
{
    acl_describe_keys(s, b);
    if (!(s->flags & SEL_ALLCHANNELS)) {
        acl_sb_cat(b, "resetchannels ");
    }
    acl_describe_channels(s, b);
    acl_describe_commands(s, b);
}

/* The rules that recreate u, as ACL LIST prints them (without "user "). */
void
acl_describe_user(const struct acl_user *u, struct sbuf *b)
{
    acl_sb_cat(b, u->name);
    acl_sb_cat(b, u->on ? " on" : " off");
    if (u->nopass) {
        acl_sb_cat(b, " nopass");
    }
    if (u->sanitize) {
        acl_sb_cat(b, u->sanitize == 2 ? " skip-sanitize-payload" : " sanitize-payload");
    }
    for (size_t i = 0; i < u->npass; i++) {
        acl_sb_cat(b, " #");
        acl_sb_cat(b, u->pass[i]);
    }
    acl_sb_cat(b, " ");
    describe_selector(&u->root, b);
    for (size_t i = 0; i < u->nsels; i++) {
        acl_sb_cat(b, " (");
        describe_selector(&u->sels[i], b);
        acl_sb_cat(b, ")");
    }
}

/* ---- checking ------------------------------------------------------------ */

/* Write commands that also return (read) their keys' data: a user needs
 * both read and write access to the key for them. */
static int
writes_and_reads(enum cmd_id id)
{
    switch (id) {
    case CMD_ID_GETDEL: case CMD_ID_GETSET: case CMD_ID_GETEX:
    case CMD_ID_INCR: case CMD_ID_DECR: case CMD_ID_INCRBY: case CMD_ID_DECRBY:
    case CMD_ID_INCRBYFLOAT:
    case CMD_ID_LPOP: case CMD_ID_RPOP: case CMD_ID_BLPOP: case CMD_ID_BRPOP:
    case CMD_ID_LMPOP: case CMD_ID_BLMPOP: case CMD_ID_LMOVE: case CMD_ID_BLMOVE:
    case CMD_ID_RPOPLPUSH: case CMD_ID_BRPOPLPUSH:
    case CMD_ID_SPOP: case CMD_ID_SMOVE:
    case CMD_ID_ZPOPMIN: case CMD_ID_ZPOPMAX: case CMD_ID_BZPOPMIN: case CMD_ID_BZPOPMAX:
    case CMD_ID_ZMPOP: case CMD_ID_BZMPOP: case CMD_ID_ZINCRBY:
    case CMD_ID_HINCRBY: case CMD_ID_HINCRBYFLOAT:
    case CMD_ID_RENAME: case CMD_ID_RENAMENX: case CMD_ID_SETBIT:
        return 1;
    default:
        return 0;
    }
}

/* Commands whose first key is written and whose other keys are only read
 * (the *STORE family). */
static int
store_first(enum cmd_id id)
{
    switch (id) {
    case CMD_ID_SINTERSTORE: case CMD_ID_SUNIONSTORE: case CMD_ID_SDIFFSTORE:
    case CMD_ID_ZUNIONSTORE: case CMD_ID_ZINTERSTORE: case CMD_ID_ZDIFFSTORE:
    case CMD_ID_ZRANGESTORE: case CMD_ID_BITOP:
        return 1;
    default:
        return 0;
    }
}

/* Reads of a key's metadata only (its existence, type, length, encoding):
 * Redis's key specs give them no access flag, so any key pattern, %R~ or
 * %W~, lets them through. */
static int
metadata_only(enum cmd_id id)
{
    switch (id) {
    case CMD_ID_EXISTS: case CMD_ID_TYPE: case CMD_ID_STRLEN: case CMD_ID_TOUCH:
    case CMD_ID_LLEN: case CMD_ID_SCARD: case CMD_ID_HLEN: case CMD_ID_ZCARD:
    case CMD_ID_XLEN: case CMD_ID_HSTRLEN: case CMD_ID_HEXISTS: case CMD_ID_SISMEMBER:
    case CMD_ID_OBJECT_ENCODING: case CMD_ID_OBJECT_FREQ: case CMD_ID_OBJECT_IDLETIME:
    case CMD_ID_OBJECT_REFCOUNT: case CMD_ID_MEMORY_USAGE:
        return 1;
    default:
        return 0;
    }
}

/* BITFIELD writes only with SET or INCRBY; with GETs alone it is a read. */
static int
bitfield_writes(size_t argc, const struct resp_arg *argv)
{
    for (size_t i = 2; i < argc; i++) {
        if ((argv[i].len == 3 && strncasecmp(argv[i].ptr, "set", 3) == 0)
            || (argv[i].len == 6 && strncasecmp(argv[i].ptr, "incrby", 6) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* The permission a command needs on its n-th key (ACL_PERM_*, 0 for none).
 * Redis reads this from per-key specs; our table has one flag per command,
 * refined by the lists above (checked against redis-server 7.0). */
static unsigned
key_perm(const struct command *cmd, size_t n, size_t argc, const struct resp_arg *argv)
{
    if (metadata_only(cmd->id)) {
        return 0;
    }
    if (cmd->id == CMD_ID_BITFIELD) {
        return bitfield_writes(argc, argv) ? ACL_PERM_ALL : ACL_PERM_READ;
    }
    if (cmd->id == CMD_ID_PFMERGE) {
        return n == 0 ? ACL_PERM_ALL : ACL_PERM_READ; /* it reads its target too */
    }
    if (cmd->id == CMD_ID_SORT) {
        return n == 0 ? ACL_PERM_READ : ACL_PERM_WRITE;
    }
    if (cmd->id == CMD_ID_COPY) {
        return n == 0 ? ACL_PERM_READ : ACL_PERM_WRITE;
    }
    if (!(cmd->flags & CMD_WRITE)) {
        return ACL_PERM_READ;
    }
    if (store_first(cmd->id)) {
        return n == 0 ? ACL_PERM_WRITE : ACL_PERM_READ;
    }
    return writes_and_reads(cmd->id) ? ACL_PERM_ALL : ACL_PERM_WRITE;
}

static int
is_shard_channel_command(enum cmd_id id)
{
    return id == CMD_ID_SSUBSCRIBE || id == CMD_ID_SUNSUBSCRIBE || id == CMD_ID_SPUBLISH;
}

static int
sel_key_ok(const struct acl_selector *s, const char *key, size_t len, unsigned perm)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct acl_pattern *p = &s->keys[i];
        if ((p->perm & perm) == perm && util_glob_match(p->pat, p->len, key, len, 0)) {
            return 1;
        }
    }
    return 0;
}

/* literal: PSUBSCRIBE's patterns must equal an allowed pattern. */
static int
sel_channel_ok(const struct acl_selector *s, const char *ch, size_t len, int literal)
{
    for (size_t i = 0; i < s->nchans; i++) {
        const struct acl_pattern *p = &s->chans[i];
        if (literal ? (p->len == len && memcmp(p->pat, ch, len) == 0)
                    : util_glob_match(p->pat, p->len, ch, len, 0)) {
            return 1;
        }
    }
    return 0;
}

static int
sel_check(const struct acl_selector *s, const struct command *cmd, size_t argc,
          const struct resp_arg *argv, size_t *errpos)
{
    if (!sel_bit(s, cmd->id)) {
        *errpos = 0;
        return ACL_DENIED_CMD;
    }
    if (!(s->flags & SEL_ALLKEYS) && argv != NULL && !is_shard_channel_command(cmd->id)
        && (cmd->first_key > 0 || (cmd->flags & CMD_MOVABLEKEYS))) {
        size_t idx[256];
        size_t n = command_keys(cmd, argc, argv, idx, 256);
        for (size_t i = 0; i < n; i++) {
            if (!sel_key_ok(s, argv[idx[i]].ptr, argv[idx[i]].len, key_perm(cmd, i, argc, argv))) {
                *errpos = idx[i];
                return ACL_DENIED_KEY;
            }
        }
    }
    if (!(s->flags & SEL_ALLCHANNELS) && argv != NULL) {
        size_t from = 0, to = 0;
        int literal = 0;
        switch (cmd->id) {
        case CMD_ID_PUBLISH:
        case CMD_ID_SPUBLISH:
            from = 1;
            to = 2;
            break;
        case CMD_ID_SUBSCRIBE:
        case CMD_ID_SSUBSCRIBE:
            from = 1;
            to = argc;
            break;
        case CMD_ID_PSUBSCRIBE:
            from = 1;
            to = argc;
            literal = 1;
            break;
        default:
            break;
        }
        for (size_t i = from; i < to && i < argc; i++) {
            if (!sel_channel_ok(s, argv[i].ptr, argv[i].len, literal)) {
                *errpos = i;
                return ACL_DENIED_CHANNEL;
            }
        }
    }
    return ACL_OK;
}

int
acl_check(struct acl_user *u, const struct command *cmd, size_t argc,
          const struct resp_arg *argv, size_t *errpos)
{
    int relevant = ACL_DENIED_CMD;
    size_t last = 0, pos = 0;
    int r;

    *errpos = 0;
    if (u == NULL) {
        return ACL_OK;
    }
    r = sel_check(&u->root, cmd, argc, argv, &pos);
    if (r == ACL_OK) {
        return ACL_OK;
    }
    relevant = r;
    last = pos;
    for (size_t i = 0; i < u->nsels; i++) {
        r = sel_check(&u->sels[i], cmd, argc, argv, &pos);
        if (r == ACL_OK) {
            return ACL_OK;
        }
        if (r > relevant || (r == relevant && pos > last)) {
            relevant = r;
            last = pos;
        }
    }
    *errpos = last;
    return relevant;
}

void
acl_noperm_text(int r, enum acl_context ctx, const struct command *cmd, char *msg,
                size_t msglen)
{
    if (ctx == ACL_CTX_LUA) {
        snprintf(msg, msglen, "-ERR %s",
                 r == ACL_DENIED_CMD ? "The user executing the script can't run this command "
                                       "or subcommand"
                 : r == ACL_DENIED_KEY ? "The user executing the script can't access at least "
                                         "one of the keys mentioned in the command arguments"
                                       : "The user executing the script can't publish to the "
                                         "channel mentioned in the command");
    } else if (ctx == ACL_CTX_EXEC) {
        snprintf(msg, msglen,
                 "-NOPERM ACLs rules changed between the moment the transaction was "
                 "accumulated and the EXEC call. This command is no longer allowed for the "
                 "following reason: %s",
                 r == ACL_DENIED_CMD ? "no permission to execute the command or subcommand"
                 : r == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                                       : "no permission to access one of the channels used "
                                         "as arguments");
    } else if (r == ACL_DENIED_CMD) {
        snprintf(msg, msglen, "-NOPERM this user has no permissions to run the '%s' command",
                 cmd->fullname);
    } else if (r == ACL_DENIED_KEY) {
        snprintf(msg, msglen, "-NOPERM this user has no permissions to access one of the "
                              "keys used as arguments");
    } else {
        snprintf(msg, msglen, "-NOPERM this user has no permissions to access one of the "
                              "channels used as arguments");
    }
}

/* ---- ACL LOG ------------------------------------------------------------- */

#define ACL_LOG_GROUPING_MS 60000

void
acl_log_entry_free(struct acl_log_entry *e)
{
    mem_free(e->object);
    mem_free(e->username);
    mem_free(e->client_info);
}

static void
log_trim(struct acl_state *st, long long max)
{
    while ((long long)st->nlog > (max < 0 ? 0 : max)) {
        acl_log_entry_free(&st->log[--st->nlog]);
    }
}

void
acl_log_push(struct acl_state *st, int reason, enum acl_context ctx, const char *object,
             size_t objlen, const char *username, const char *info, long long maxlen)
{
    long long now = util_mstime();
    struct acl_log_entry e;

    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->nlog; i++) {
        struct acl_log_entry *x = &st->log[i];
        if (x->reason == reason && x->context == (int)ctx && x->objlen == objlen
            && memcmp(x->object, object, objlen) == 0 && !strcmp(x->username, username)
            && now - x->ctime_ms < ACL_LOG_GROUPING_MS) {
            e = *x;
            e.count++;
            e.ctime_ms = now;
            mem_free(e.client_info);
            e.client_info = mem_strdup(info);
            memmove(&st->log[1], &st->log[0], i * sizeof(*st->log));
            st->log[0] = e;
            return;
        }
    }
    if (maxlen <= 0) {
        return;
    }
    e.count = 1;
    e.reason = reason;
    e.context = (int)ctx;
    e.object = mem_strndup(object, objlen);
    e.objlen = objlen;
    e.username = mem_strdup(username);
    e.ctime_ms = now;
    e.client_info = mem_strdup(info);
    st->log = mem_realloc(st->log, (st->nlog + 1) * sizeof(*st->log));
    memmove(&st->log[1], &st->log[0], st->nlog * sizeof(*st->log));
    st->log[0] = e;
    st->nlog++;
    log_trim(st, maxlen);
}

/* ---- channels a user may use -------------------------------------------- */

int
acl_user_channel_ok(const struct acl_user *u, const char *name, size_t len, int literal)
{
    if ((u->root.flags & SEL_ALLCHANNELS) || sel_channel_ok(&u->root, name, len, literal)) {
        return 1;
    }
    for (size_t i = 0; i < u->nsels; i++) {
        if ((u->sels[i].flags & SEL_ALLCHANNELS)
            || sel_channel_ok(&u->sels[i], name, len, literal)) {
            return 1;
        }
    }
    return 0;
}

/* ---- authentication ---------------------------------------------------- */

struct acl_user *
acl_state_default(struct acl_state *st)
{
    return st ? st->def : NULL;
}

const char *
acl_user_name(const struct acl_user *u)
{
    return u ? u->name : "default";
}

int
acl_user_nopass(const struct acl_user *u)
{
    return u != NULL && u->on && u->nopass;
}

/* Compare in time that depends only on the lengths. */
static int
hash_equal(const char *a, const char *b)
{
    unsigned diff = 0;
    for (size_t i = 0; i < 64; i++) {
        diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
    }
    return diff == 0;
}

struct acl_user *
acl_state_authenticate(struct acl_state *st, const char *user, size_t ulen, const char *pass,
                       size_t plen)
{
    struct acl_user *u = st ? acl_state_find(st, user, ulen, NULL) : NULL;
    if (u != NULL && u->on) {
        if (u->nopass) {
            return u;
        }
        char hex[65];
        int ok = 0;
        sha256_hex(pass, plen, hex);
        for (size_t i = 0; i < u->npass; i++) {
            ok |= hash_equal(u->pass[i], hex);
        }
        if (ok) {
            return u;
        }
    }
    return NULL;
}

/* ---- applying rule lists ------------------------------------------------- */

/* Split rules given as separate words, joining a selector "(a b c)" that
 * spans several words.  Returns the number of ops written to ops (owned
 * strings), or -1 with the unmatched word's text in err. */
static int
merge_selector_args(const struct resp_arg *argv, size_t argc, char ***opsp, size_t **lensp,
                    char *err, size_t errlen)
{
    char **ops = mem_alloc((argc + 1) * sizeof(*ops));
    size_t *lens = mem_alloc((argc + 1) * sizeof(*lens));
    size_t n = 0;
    for (size_t i = 0; i < argc; i++) {
        const struct resp_arg *a = &argv[i];
        if (a->len > 0 && a->ptr[0] == '(' && a->ptr[a->len - 1] != ')') {
            struct sbuf b = {NULL, 0, 0};
            size_t j = i;
            acl_sb_catlen(&b, a->ptr, a->len);
            while (++j < argc) {
                acl_sb_cat(&b, " ");
                acl_sb_catlen(&b, argv[j].ptr, argv[j].len);
                if (argv[j].len > 0 && argv[j].ptr[argv[j].len - 1] == ')') {
                    break;
                }
            }
            if (j >= argc) {
                snprintf(err, errlen, "Unmatched parenthesis in acl selector starting at '%.*s'.",
                         (int)a->len, a->ptr);
                mem_free(b.p);
                for (size_t k = 0; k < n; k++) {
                    mem_free(ops[k]);
                }
                mem_free(ops);
                mem_free(lens);
                return -1;
            }
            ops[n] = b.p;
            lens[n++] = b.len;
            i = j;
        } else {
            ops[n] = mem_strndup(a->ptr, a->len);
            lens[n++] = a->len;
        }
    }
    *opsp = ops;
    *lensp = lens;
    return (int)n;
}

static void
free_ops(char **ops, size_t *lens, int n)
{
    for (int i = 0; i < n; i++) {
        mem_free(ops[i]);
    }
    mem_free(ops);
    mem_free(lens);
}

/* ACL SETUSER's work: apply the rules to a copy of the user (a new one when
 * absent) and keep it only if every rule applied.  Returns 0, or -1 with
 * Redis's message in err. */
int
acl_setuser(struct acl_state *st, const char *name, size_t nlen, const struct resp_arg *argv,
            size_t argc, char *err, size_t errlen)
{
    char **ops;
    size_t *lens;
    int n = merge_selector_args(argv, argc, &ops, &lens, err, errlen);
    struct acl_user *existing, *tmp;

    if (n < 0) {
        return -1;
    }
    existing = acl_state_find(st, name, nlen, NULL);
    tmp = user_create(name, nlen);
    if (existing != NULL) {
        user_copy(tmp, existing);
    } else if (acl_pubsub_allchannels) {
        tmp->root.flags |= SEL_ALLCHANNELS;
    }
    for (int i = 0; i < n; i++) {
        if (user_apply(tmp, ops[i], lens[i]) != 0) {
            snprintf(err, errlen, "Error in ACL SETUSER modifier '%s': %s", ops[i],
                     acl_errno_text(errno));
            acl_user_free(&tmp);
            free_ops(ops, lens, n);
            return -1;
        }
    }
    free_ops(ops, lens, n);
    if (existing == NULL) {
        existing = state_add(st, name, nlen);
    }
    user_copy(existing, tmp);
    acl_user_free(&tmp);
    return 0;
}

/* One "user <name> <rules...>" line of an aclfile or the config file, into
 * st.  Returns 0 or -1 with Redis's text for the error (naming where:
 * path:lineno) in err. */
static int
acl_load_line(struct acl_state *st, const char *line, const char *where, int lineno,
              char *err, size_t errlen, int *seen_default)
{
    size_t len = strlen(line);
    char *scratch = mem_alloc(len + 1);
    char **words = mem_alloc((len / 2 + 2) * sizeof(*words));
    int n = option_split_line(line, scratch, words, (int)(len / 2 + 2));
    int rc = 0;

    if (n < 0) {
        snprintf(err, errlen, "%s:%d: unbalanced quotes in acl line. ", where, lineno);
        rc = -1;
    } else if (n < 2 || strcmp(words[0], "user") != 0) {
        snprintf(err, errlen, "%s:%d should start with user keyword followed by the "
                              "username. ", where, lineno);
        rc = -1;
    } else if (acl_has_space(words[1], strlen(words[1]))) {
        snprintf(err, errlen, "%s:%d: username '%s' contains invalid characters. ", where,
                 lineno, words[1]);
        rc = -1;
    } else if (acl_state_find(st, words[1], strlen(words[1]), NULL) != NULL
               && !(strcmp(words[1], "default") == 0 && !*seen_default)) {
        snprintf(err, errlen, "WARNING: Duplicate user '%s' found on line %d. ", words[1],
                 lineno);
        rc = -1;
    } else {
        struct resp_arg *args = mem_alloc((size_t)n * sizeof(*args));
        char msg[512];
        for (int i = 2; i < n; i++) {
            args[i - 2].ptr = words[i];
            args[i - 2].len = strlen(words[i]);
        }
        if (strcmp(words[1], "default") == 0) {
            *seen_default = 1;
            /* A declared default user starts from nothing, like any other. */
            struct acl_user *d = acl_state_find(st, "default", 7, NULL);
            user_clear(d);
            if (acl_pubsub_allchannels) {
                d->root.flags |= SEL_ALLCHANNELS;
            }
        }
        if (acl_setuser(st, words[1], strlen(words[1]), args, (size_t)n - 2, msg,
                        sizeof(msg)) != 0) {
            /* "Error in ACL SETUSER modifier 'x': reason" */
            const char *r = strstr(msg, "': ");
            const char *q = strchr(msg, '\'');
            if (r == NULL || q == NULL || strcmp(r + 3, "Syntax error") == 0) {
                snprintf(err, errlen, "%s:%d: %.400s. ", where, lineno, r ? r + 3 : msg);
            } else {
                snprintf(err, errlen, "%s:%d: Error in applying operation %.400s. ", where,
                         lineno, q);
            }
            /* The name counts as declared: a second line for it is a
             * duplicate, as in Redis (the state is thrown away anyway). */
            state_add(st, words[1], strlen(words[1]));
            rc = -1;
        }
        mem_free(args);
    }
    mem_free(words);
    mem_free(scratch);
    return rc;
}

struct acl_state *
acl_state_create(void)
{
    struct acl_state *st = mem_calloc(sizeof(*st));
    st->def = state_add(st, "default", 7);
    default_user_init(st->def);
    return st;
}

void
acl_state_destroy(struct acl_state **stp)
{
    struct acl_state *st = *stp;
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->nusers; i++) {
        acl_user_free(&st->users[i]);
    }
    mem_free(st->users);
    for (size_t i = 0; i < st->nlog; i++) {
        acl_log_entry_free(&st->log[i]);
    }
    mem_free(st->log);
    mem_free(st);
    *stp = NULL;
}

/* Read the aclfile into a fresh state (the default user on nopass +@all
 * unless the file declares it).  Returns it, or NULL with every error
 * ("file:line: reason. ") in err. */
struct acl_state *
acl_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct acl_state *st;
    char *line = NULL;
    size_t cap = 0, off = 0;
    ssize_t got;
    int lineno = 0, seen_default = 0;

    err[0] = '\0';
    if (f == NULL) {
        snprintf(err, errlen, "Error loading ACLs, opening file '%s': %s", path,
                 strerror(errno));
        return NULL;
    }
    st = acl_state_create();
    while ((got = getline(&line, &cap, f)) >= 0) {
        char why[512];
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) {
            line[--got] = '\0';
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            continue;
        }
        if (acl_load_line(st, p, path, lineno, why, sizeof(why), &seen_default) != 0
            && off < errlen) {
            int w = snprintf(err + off, errlen - off, "%s", why);
            off += w > 0 ? (size_t)w : 0;
        }
    }
    free(line);
    fclose(f);
    if (err[0] != '\0') {
        snprintf(err + off, off < errlen ? errlen - off : 0, "%s",
                 "WARNING: ACL errors detected, no change to the previously active ACL rules "
                 "was performed");
        acl_state_destroy(&st);
        return NULL;
    }
    return st;
}

/* Swap in a new set of users: users that still exist keep their identity
 * (clients stay authenticated as them), the others are passed to gone
 * (when not NULL) before they are freed. */
void
acl_state_replace_users(struct acl_state *st, struct acl_state *fresh, acl_user_gone_fn gone,
                        void *arg)
{
    for (size_t i = 0; i < st->nusers; i++) {
        struct acl_user *old = st->users[i];
        struct acl_user *nu = acl_state_find(fresh, old->name, strlen(old->name), NULL);
        if (nu != NULL) {
            user_copy(old, nu);
            /* keep the old object: swap it into the fresh registry */
            size_t pos;
            acl_state_find(fresh, old->name, strlen(old->name), &pos);
            acl_user_free(&fresh->users[pos]);
            fresh->users[pos] = old;
            if (fresh->def == nu) {
                fresh->def = old;
            }
        } else {
            if (gone != NULL) {
                gone(arg, old);
            }
            acl_user_free(&st->users[i]);
        }
        st->users[i] = NULL;
    }
    mem_free(st->users);
    st->users = fresh->users;
    st->nusers = fresh->nusers;
    st->cap = fresh->cap;
    st->def = fresh->def;
    fresh->users = NULL;
    fresh->nusers = 0;
    acl_state_destroy(&fresh);
}

void
acl_state_delete_user(struct acl_state *st, size_t pos)
{
    acl_user_free(&st->users[pos]);
    memmove(&st->users[pos], &st->users[pos + 1], (st->nusers - pos - 1) * sizeof(*st->users));
    st->nusers--;
}

int
acl_state_save_file(struct acl_state *st, const char *path, char *err, size_t errlen)
{
    struct sbuf b = {NULL, 0, 0};
    char tmp[4096];
    FILE *f;

    for (size_t i = 0; i < st->nusers; i++) {
        acl_sb_cat(&b, "user ");
        acl_describe_user(st->users[i], &b);
        acl_sb_cat(&b, "\n");
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    f = fopen(tmp, "w");
    if (f == NULL || (b.len > 0 && fwrite(b.p, 1, b.len, f) != b.len) || fflush(f) != 0
        || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
        log_warn("Opening temp ACL file for ACL SAVE: %s", strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        unlink(tmp);
        mem_free(b.p);
        return -1;
    }
    fclose(f);
    mem_free(b.p);
    if (rename(tmp, path) != 0) {
        log_warn("Renaming ACL file for ACL SAVE: %s", strerror(errno));
        unlink(tmp);
        snprintf(err, errlen, "There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
        return -1;
    }
    return 0;
}

/* ---- setup --------------------------------------------------------------- */

void
acl_state_set_requirepass(struct acl_state *st, const char *pw)
{
    if (st == NULL) {
        return;
    }
    mem_free(st->def->pass);
    st->def->pass = NULL;
    st->def->npass = 0;
    if (pw == NULL || pw[0] == '\0') {
        st->def->nopass = 1;
    } else {
        char hex[65];
        sha256_hex(pw, strlen(pw), hex);
        st->def->nopass = 0;
        user_add_hash(st->def, hex);
    }
}

struct acl_state *
acl_state_setup(const char *requirepass, const char *lines, const char *aclfile)
{
    int has_lines = lines != NULL && lines[0] != '\0';
    struct acl_state *st;
    acl_cats_init();
    st = acl_state_create();
    if (requirepass && requirepass[0]) {
        acl_state_set_requirepass(st, requirepass);
    }
    if (has_lines && aclfile && aclfile[0]) {
        log_error("Configuring Redis with users defined in redis.conf and at the same "
                  "setting an ACL file path is invalid. This setup is very likely to lead "
                  "to configuration errors and security holes, please define either an ACL "
                  "file or declare users directly in your redis.conf, but not both.");
        acl_state_destroy(&st);
        return NULL;
    }
    if (has_lines) {
        int seen_default = 0, lineno = 0;
        const char *p = lines;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            char *line = mem_strndup(p, l);
            char why[512];
            if (acl_load_line(st, line, "config", ++lineno, why, sizeof(why),
                              &seen_default) != 0) {
                /* The line may hold a password: only where and why. */
                log_error("Error in user declaration: %s", why);
                mem_free(line);
                acl_state_destroy(&st);
                return NULL;
            }
            mem_free(line);
            p += l + (nl ? 1 : 0);
        }
    }
    if (aclfile && aclfile[0]) {
        char err[2048];
        struct acl_state *fresh = acl_read_file(aclfile, err, sizeof(err));
        if (fresh == NULL) {
            log_error("Aborting Redis startup because of ACL errors: %s", err);
            acl_state_destroy(&st);
            return NULL;
        }
        acl_state_replace_users(st, fresh, NULL, NULL);
    }
    return st;
}

void
acl_set_pubsub_default(int allchannels)
{
    acl_pubsub_allchannels = allchannels;
}

/* ---- for tests and the fuzz target ---------------------------------------- */

char *
acl_describe_rules(const char *rules, size_t len)
{
    struct acl_state *st = acl_state_create();
    struct resp_arg *args = mem_alloc((len / 2 + 1) * sizeof(*args));
    size_t n = 0, i = 0;
    char err[512];
    char *out = NULL;

    while (i < len) {
        while (i < len && rules[i] == ' ') {
            i++;
        }
        size_t j = i;
        while (j < len && rules[j] != ' ') {
            j++;
        }
        if (j > i) {
            args[n].ptr = (char *)rules + i;
            args[n].len = j - i;
            n++;
        }
        i = j;
    }
    if (acl_setuser(st, "fuzz", 4, args, n, err, sizeof(err)) == 0) {
        struct sbuf b = {NULL, 0, 0};
        acl_describe_user(acl_state_find(st, "fuzz", 4, NULL), &b);
        out = b.p;
    }
    mem_free(args);
    acl_state_destroy(&st);
    return out;
}

/* ---- protected mode ------------------------------------------------------ */

/* Redis 7.0's text, word for word (tools match it). */
const char acl_protected_mode_denied[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: 1) Just disable protected mode sending the "
    "command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    "Redis from the same host the server is running, however MAKE SURE Redis is not "
    "publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    "permanent. 2) Alternatively you can just disable the protected mode by editing the "
    "Redis configuration file, and setting the protected mode option to 'no', and then "
    "restarting the server. 3) If you started the server manually just for testing, "
    "restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    "password for the default user. NOTE: You only need to do one of the above things in "
    "order for the server to start accepting connections from the outside.\r\n";

int
acl_protected_refuses(int protected_mode, int default_nopass, const struct sockaddr *peer)
{
    if (!protected_mode || !default_nopass) {
        return 0;
    }
    if (peer == NULL) {
        return 1;
    }
    if (peer->sa_family == AF_UNIX) {
        return 0;
    }
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)peer;
        return (ntohl(in->sin_addr.s_addr) >> 24) != 127;
    }
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)peer;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            return 0;
        }
        return !(IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
    }
    return 1;
}

int
acl_protected_refuses_fd(int protected_mode, int default_nopass, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (!protected_mode || !default_nopass) {
        return 0;
    }
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        return 1;
    }
    return acl_protected_refuses(protected_mode, default_nopass, (struct sockaddr *)&ss);
}

/* ---- what both binaries' ACL commands answer alike ---------------------- */

const char *const acl_help_lines[] = {
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    NULL,
};

int
acl_genpass(const struct resp_arg *arg, char *out, size_t *len, const char **err)
{
    static const char hex[] = "0123456789abcdef";
    long long bits = 256;
    if (arg != NULL) {
        if (util_str2ll(arg->ptr, arg->len, &bits) != 0) {
            *err = "value is not an integer or out of range";
            return -1;
        }
        if (bits <= 0 || bits > 4096) {
            *err = "ACL GENPASS argument must be the number of bits for the output password, "
                   "a positive number up to 4096";
            return -1;
        }
    }
    size_t chars = (size_t)(bits + 3) / 4;
    uint8_t raw[512];
    util_random_bytes(raw, (chars + 1) / 2);
    for (size_t i = 0; i < chars; i++) {
        uint8_t x = raw[i / 2];
        out[i] = hex[(i % 2) ? (x & 15) : (x >> 4)];
    }
    *len = chars;
    return 0;
}

int
acl_option_user_parse(const struct option_def *def, void *values, const char *value,
                      char *err, size_t errlen)
{
    char **lines = (char **)((char *)values + def->offset);
    size_t old = *lines ? strlen(*lines) : 0;
    if (value[0] == '\0') {
        if (*lines == NULL) {
            *lines = mem_strdup("");
        }
        return 0; /* the default */
    }
    if (strchr(value, '\n') != NULL) {
        snprintf(err, errlen, "a user line can't contain newlines");
        return -1;
    }
    *lines = mem_realloc(*lines, old + strlen(value) + 8);
    snprintf(*lines + old, strlen(value) + 8, "user %s\n", value);
    return 0;
}

void
acl_option_user_format(const struct option_def *def, const void *values, char *buf,
                       size_t len)
{
    (void)def;
    (void)values;
    if (len > 0) {
        buf[0] = '\0';
    }
}
