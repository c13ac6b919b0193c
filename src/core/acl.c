/* ACL users: the state of a binary (create, set up from requirepass, "user"
 * lines and the aclfile, replace on ACL LOAD), command categories,
 * authentication, protected-mode's decision, GENPASS and the "user" option.
 * A user is a name, on/off, a set of password hashes and selectors; a
 * selector is a bitmap of allowed command ids plus key patterns (with
 * read/write flags) and channel patterns.  Shared by the node and the proxy:
 * it knows users and commands, not clients (the binaries' glue adds the
 * client side: node/acl.c, proxy/access.c).  The rule language lives in
 * acl_rules.c, the check in acl_check.c, ACL LOG in acl_log.c, the aclfile
 * in acl_file.c, the ACL command's replies in acl_reply.c. */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"
#include "core/sha256.h"
#include "core/util.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

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

struct acl_state *
acl_state_create(void)
{
    struct acl_state *st = mem_calloc(sizeof(*st));
    st->def = acl_state_add(st, "default", 7);
    acl_user_init_default(st->def);
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
            acl_user_copy(old, nu);
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
        acl_user_add_hash(st->def, hex);
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
            if (acl_file_load_line(st, line, "config", ++lineno, why, sizeof(why),
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
        struct rbuf b = {NULL, 0, 0};
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
