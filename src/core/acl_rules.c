/* The ACL rule language (core/acl_int.h): selectors and users, the rules
 * that change them (ACL SETUSER, "user" lines), the registry of users by
 * name, and the text ACL LIST, GETUSER and the aclfile print, all as Redis
 * 7.0 writes them. */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>


/* ---- selectors ----------------------------------------------------------- */

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
        if (cmd == NULL && on) {
            /* "+cmd|arg" where cmd has no such subcommand: Redis's
             * first-arg rules, which we do not have.  Its errors, in its
             * order: the part before the last '|' must be a command, not a
             * subcommand, and the argument must not be empty. */
            const char *bar = op + len;
            while (bar > op + 1 && bar[-1] != '|') {
                bar--;
            }
            if (bar > op + 1) {
                size_t clen = (size_t)(bar - 1 - (op + 1));
                const struct command *parent = acl_lookup_command(op + 1, clen);
                errno = parent == NULL                 ? ENOENT
                        : memchr(op + 1, '|', clen)    ? ECHILD
                        : bar == op + len              ? EINVAL
                        : parent->nsubs > 0            ? ENOENT /* no such subcommand */
                                                       : ENOTSUP;
                return -1;
            }
        }
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

void
acl_user_copy(struct acl_user *dst, const struct acl_user *src)
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

void
acl_user_add_hash(struct acl_user *u, const char *hex)
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
            acl_user_add_hash(u, hex);
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
            acl_user_add_hash(u, hex);
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
    case ECHILD:
        return "Allowing first-arg of a subcommand is not supported";
    case ENOTSUP:
        return "Allowing first-arg of a command (+command|arg) is not supported by "
               "cachely-server";
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

struct acl_user *
acl_state_add(struct acl_state *st, const char *name, size_t len)
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

void
acl_user_init_default(struct acl_user *u)
{
    user_clear(u);
    u->on = 1;
    u->nopass = 1;
    u->root.flags = SEL_ALLKEYS | SEL_ALLCHANNELS;
    sel_all_commands(&u->root, 1);
}

/* ---- describing users (ACL LIST, GETUSER, SAVE) ------------------------- */


void
acl_sb_catlen(struct rbuf *b, const char *s, size_t n)
{
    rbuf_add(b, s, n);
    rbuf_nul(b);
}

void
acl_sb_cat(struct rbuf *b, const char *s)
{
    acl_sb_catlen(b, s, strlen(s));
}

void
acl_sb_trim_space(struct rbuf *b)
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
acl_describe_commands(const struct acl_selector *s, struct rbuf *b)
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
                    if (acl_sel_bit(&temp, i)) {
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
        acl_sb_cat(b, acl_category_name(best));
        acl_sb_cat(b, " ");
        applied[best] = 1;
    }
    for (size_t i = 0; i < command_count(); i++) {
        const struct command *cmd = command_at(i);
        int ub = acl_sel_bit(s, cmd->id);
        if (ub != acl_sel_bit(&fake, cmd->id)) {
            acl_sb_cat(b, ub ? "+" : "-");
            acl_sb_cat(b, cmd->fullname);
            acl_sb_cat(b, " ");
            sel_change_command(&fake, cmd, ub);
        }
        for (size_t k = 0; k < cmd->nsubs; k++) {
            const struct command *sub = cmd->subs[k];
            ub = acl_sel_bit(s, sub->id);
            if (ub != acl_sel_bit(&fake, sub->id)) {
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
acl_describe_keys(const struct acl_selector *s, struct rbuf *b)
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
acl_describe_channels(const struct acl_selector *s, struct rbuf *b)
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
describe_selector(const struct acl_selector *s, struct rbuf *b)
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
acl_describe_user(const struct acl_user *u, struct rbuf *b)
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
            struct rbuf b = {NULL, 0, 0};
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
        acl_user_copy(tmp, existing);
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
        existing = acl_state_add(st, name, nlen);
    }
    acl_user_copy(existing, tmp);
    acl_user_free(&tmp);
    return 0;
}

void
acl_user_renew(struct acl_user *u)
{
    user_clear(u);
    if (acl_pubsub_allchannels) {
        u->root.flags |= SEL_ALLCHANNELS;
    }
}

void
acl_set_pubsub_default(int allchannels)
{
    acl_pubsub_allchannels = allchannels;
}
