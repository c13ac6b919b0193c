/* The proxy's ACL glue over core/acl.c: its own users (requirepass, "user"
 * lines, an aclfile), AUTH and HELLO AUTH, the check every session's
 * command passes before it is routed, ACL LOG entries, and the ACL command
 * answered here for the proxy's users (never forwarded: the nodes have
 * theirs, and the proxy talks to them as backend-user). */
#include "proxy/access.h"
#include "core/acl_int.h"
#include "core/acl_reply.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/client_cmd.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/rbuf_writer.h"
#include "proxy/session.h"
#include "proxy/txn.h"

#include <string.h>
#include <strings.h>

int
access_setup(struct proxy *px)
{
    acl_set_pubsub_default(px->cfg.acl_pubsub_default == 0);
    px->acl = acl_state_setup(px->cfg.requirepass, px->cfg.acl_users, px->cfg.aclfile);
    return px->acl != NULL ? 0 : -1;
}

void
access_teardown(struct proxy *px)
{
    acl_state_destroy(&px->acl);
}

/* A session that loses its user (deleted, or gone from a reloaded aclfile)
 * is closed, as Redis closes the clients of a deleted user. */
struct gone_ctx {
    struct proxy *px;
    struct session *self;
};

static void
kill_sessions_of(struct proxy *px, struct acl_user *u, struct session *self)
{
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        if (s->user != u) {
            continue;
        }
        s->user = NULL;
        s->flags &= ~(unsigned)SESSION_AUTHENTICATED;
        if (s == self) {
            s->flags |= SESSION_CLOSE_AFTER_REPLY;
        } else {
            session_close(s);
        }
    }
}

static void
user_gone(void *arg, struct acl_user *u)
{
    struct gone_ctx *g = arg;
    kill_sessions_of(g->px, u, g->self);
}

int
access_reload(struct proxy *px)
{
    struct gone_ctx g = {px, NULL};
    struct acl_state *fresh;
    acl_set_pubsub_default(px->cfg.acl_pubsub_default == 0);
    fresh = acl_state_setup(px->cfg.requirepass, px->cfg.acl_users, px->cfg.aclfile);
    if (fresh == NULL) {
        return -1; /* logged; the old users stay */
    }
    acl_state_replace_users(px->acl, fresh, user_gone, &g);
    return 0;
}

void
access_session_start(struct session *s)
{
    struct acl_user *def = acl_state_default(s->px->acl);
    s->user = def;
    if (acl_user_nopass(def)) {
        s->flags |= SESSION_AUTHENTICATED;
    } else {
        s->flags &= ~(unsigned)SESSION_AUTHENTICATED;
    }
}

int
access_no_password(const struct proxy *px)
{
    return acl_user_nopass(acl_state_default(px->acl));
}

static void
log_denial(struct session *s, int reason, enum acl_context ctx, const char *object,
           size_t objlen, const char *username)
{
    struct rbuf info = {0};
    client_cmd_describe(&info, s);
    /* CLIENT LIST's line without its newline, as the node logs it. */
    if (info.len > 0 && info.p[info.len - 1] == '\n') {
        info.p[--info.len] = '\0';
    }
    rbuf_add(&info, "", 1);
    acl_log_push(s->px->acl, reason, ctx, object, objlen, username, info.p,
                 s->px->cfg.acllog_max_len);
    rbuf_free(&info);
}

struct acl_user *
access_authenticate(struct session *s, const struct resp_arg *user, const struct resp_arg *pass)
{
    struct acl_user *u = acl_state_authenticate(s->px->acl, user->ptr, user->len, pass->ptr,
                                                pass->len);
    if (u == NULL) {
        char name[256];
        size_t n = user->len < sizeof(name) - 1 ? user->len : sizeof(name) - 1;
        memcpy(name, user->ptr, n);
        name[n] = '\0';
        log_denial(s, ACL_DENIED_AUTH, txn_in_multi(s) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
                   "AUTH", 4, name);
        return NULL;
    }
    s->user = u;
    s->flags |= SESSION_AUTHENTICATED;
    return u;
}

/* No user (no ACL), or acl_user_allowed_by_bit. */
static inline int
allowed_by_bit(const struct acl_user *u, const struct command *cmd)
{
    return u == NULL || acl_user_allowed_by_bit(u, cmd->id);
}

/* access_check for a container, or a user the bit alone does not clear
 * (apart, so that the usual check is a leaf with no stack frame). */
static __attribute__((noinline)) int
check_slow(struct session *s, const struct command *cmd, size_t argc,
           const struct resp_arg *argv)
{
    size_t pos;
    char msg[512];
    /* A container's subcommand is what the rules name (ACL LIST, CONFIG
     * GET); an unknown one is left to whoever answers the container. */
    if (cmd->nsubs > 0 && argc >= 2) {
        const struct command *sub = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (sub != NULL) {
            cmd = sub;
        }
    }
    if (allowed_by_bit(s->user, cmd)) {
        return 0;
    }
    int r = acl_check(s->user, cmd, argc, argv, &pos);
    if (r == ACL_OK) {
        return 0;
    }
    enum acl_context ctx = txn_in_multi(s) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL;
    const char *uname = acl_user_name(s->user);
    if (r == ACL_DENIED_CMD) {
        log_denial(s, r, ctx, cmd->fullname, strlen(cmd->fullname), uname);
    } else {
        log_denial(s, r, ctx, argv[pos].ptr, argv[pos].len, uname);
    }
    acl_noperm_text(r, ctx, cmd, msg, sizeof(msg));
    session_error(s, "%s", msg + 1);
    return -1;
}

int
access_check(struct session *s, const struct command *cmd, size_t argc,
             const struct resp_arg *argv)
{
    /* Every request: a command with no subcommands by a user its bit
     * clears is decided here. */
    if (cmd->nsubs == 0 && allowed_by_bit(s->user, cmd)) {
        return 0;
    }
    return check_slow(s, cmd, argc, argv);
}

/* ---- the ACL command -------------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

static void
reply_arity(struct session *s, const struct resp_arg *sub)
{
    int n = (int)(sub->len > 128 ? 128 : sub->len);
    session_error(s, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "ACL HELP.", n, sub->ptr);
}

/* Close the sessions of u subscribed to a channel u may no longer use. */
static int
subscription_denied(void *arg, int kind, const char *name, size_t len)
{
    return !acl_user_channel_ok(arg, name, len, kind == 1);
}

static void
kill_pubsub_sessions(struct proxy *px, struct acl_user *u, struct session *self)
{
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        if (s->user != u || s->pubsub == NULL
            || !pubsub_client_each(s->pubsub, subscription_denied, u)) {
            continue;
        }
        if (s == self) {
            s->flags |= SESSION_CLOSE_AFTER_REPLY;
        } else {
            session_close(s);
        }
    }
}

static void
user_narrowed(void *arg, struct acl_user *u)
{
    struct gone_ctx *g = arg;
    kill_pubsub_sessions(g->px, u, g->self);
}

void
access_acl_command(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct acl_state *st = px->acl;
    const struct resp_arg *sub = &argv[1];
    struct gone_ctx g = {px, s};
    struct acl_reply_hooks h = {user_gone, user_narrowed, &g};
    struct rbuf b = {0};
    struct resp_writer w;
    const struct command *row = command_lookup_sub(command_get(CMD_ID_ACL), sub->ptr, sub->len);

    /* The command table's arity first, as the node's dispatch checks it. */
    if (row != NULL && !command_arity_ok(row, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", row->fullname);
        return;
    }
    rbuf_writer_init(&w, &b, session_protocol(s));
    if (arg_is(sub, "setuser") && argc >= 3) {
        acl_reply_setuser(&w, st, argc, argv, &h);
    } else if (arg_is(sub, "getuser") && argc == 3) {
        acl_reply_getuser(&w, st, &argv[2]);
    } else if (arg_is(sub, "deluser") && argc >= 3) {
        acl_reply_deluser(&w, st, argc, argv, &h);
    } else if (arg_is(sub, "list") && argc == 2) {
        acl_reply_list(&w, st);
    } else if (arg_is(sub, "users") && argc == 2) {
        acl_reply_users(&w, st);
    } else if (arg_is(sub, "whoami") && argc == 2) {
        resp_writer_bulk_cstr(&w, acl_user_name(s->user));
    } else if (arg_is(sub, "cat") && argc <= 3) {
        /* Every command of the table: the proxy forwards what it does not
         * answer itself. */
        acl_reply_cat(&w, argc, argv, NULL);
    } else if (arg_is(sub, "log") && argc <= 3) {
        acl_reply_log(&w, st, argc, argv);
    } else if (arg_is(sub, "save") && argc == 2) {
        acl_reply_save(&w, st, px->cfg.aclfile);
    } else if (arg_is(sub, "load") && argc == 2) {
        acl_reply_load(&w, st, px->cfg.aclfile, &h);
    } else if (arg_is(sub, "dryrun") && argc >= 4) {
        acl_reply_dryrun(&w, st, argc, argv, NULL);
    } else if (arg_is(sub, "genpass") && argc <= 3) {
        acl_reply_genpass(&w, argc, argv);
    } else if (arg_is(sub, "help") && argc == 2) {
        acl_reply_help(&w);
    } else if (arg_is(sub, "setuser") || arg_is(sub, "getuser") || arg_is(sub, "deluser")
               || arg_is(sub, "list") || arg_is(sub, "users") || arg_is(sub, "whoami")
               || arg_is(sub, "cat") || arg_is(sub, "log") || arg_is(sub, "save")
               || arg_is(sub, "load") || arg_is(sub, "dryrun") || arg_is(sub, "genpass")
               || arg_is(sub, "help")) {
        reply_arity(s, sub);
        return;
    } else {
        int n = (int)(sub->len > 128 ? 128 : sub->len);
        session_error(s, "ERR unknown subcommand '%.*s'. Try ACL HELP.", n, sub->ptr);
        return;
    }
    rbuf_reply(s, &b);
    rbuf_free(&b);
}
