/* The ACL permission check: may a user run a command with these arguments
 * (its command bit, each key with its read/write use, each channel), the
 * NOPERM text of a refusal, and the channels a user may keep. */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>


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

/* SET ... GET returns the old value: a read as well as a write. */
static int
set_reads(size_t argc, const struct resp_arg *argv)
{
    for (size_t i = 3; i < argc; i++) {
        if (argv[i].len == 3 && strncasecmp(argv[i].ptr, "get", 3) == 0) {
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
    if (cmd->id == CMD_ID_SET) {
        return set_reads(argc, argv) ? ACL_PERM_ALL : ACL_PERM_WRITE;
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
    /* As in Redis, the commands a connection may run before it
     * authenticates (AUTH, HELLO, QUIT, RESET) need no command permission:
     * a user without -@all or +auth can still switch users. */
    if (!(cmd->flags & CMD_NO_AUTH) && !acl_sel_bit(s, cmd->id)) {
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

static int
sel_reads_all_keys(const struct acl_selector *s)
{
    if (s->flags & SEL_ALLKEYS) {
        return 1;
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct acl_pattern *p = &s->keys[i];
        if ((p->perm & ACL_PERM_READ) && p->len == 1 && p->pat[0] == '*') {
            return 1;
        }
    }
    return 0;
}

int
acl_check_unrestricted_read(struct acl_user *u, const struct command *cmd, size_t argc,
                            const struct resp_arg *argv)
{
    size_t pos;
    if (u == NULL) {
        return 1;
    }
    if (sel_check(&u->root, cmd, argc, argv, &pos) == ACL_OK && sel_reads_all_keys(&u->root)) {
        return 1;
    }
    for (size_t i = 0; i < u->nsels; i++) {
        if (sel_check(&u->sels[i], cmd, argc, argv, &pos) == ACL_OK
            && sel_reads_all_keys(&u->sels[i])) {
            return 1;
        }
    }
    return 0;
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
