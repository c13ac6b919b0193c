/* The proxy's ACL glue over core/acl.c: its own users (requirepass, "user"
 * lines, an aclfile), AUTH and HELLO AUTH, the check every session's
 * command passes before it is routed, ACL LOG entries, and the ACL command
 * answered here for the proxy's users (never forwarded: the nodes have
 * theirs, and the proxy talks to them as backend-user). */
#include "proxy/access.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/client_cmd.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"
#include "proxy/txn.h"

#include <stdio.h>
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

int
access_check(struct session *s, const struct command *cmd, size_t argc,
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

static void
bulk_cstr(struct rbuf *b, const char *p)
{
    rbuf_bulk(b, p, strlen(p));
}

static void
selector_fields(struct rbuf *b, const struct acl_selector *sel)
{
    struct sbuf t = {NULL, 0, 0};
    bulk_cstr(b, "commands");
    acl_describe_commands(sel, &t);
    rbuf_bulk(b, t.p ? t.p : "", t.len);
    t.len = 0;
    bulk_cstr(b, "keys");
    acl_describe_keys(sel, &t);
    acl_sb_trim_space(&t);
    rbuf_bulk(b, t.p ? t.p : "", t.len);
    t.len = 0;
    bulk_cstr(b, "channels");
    acl_describe_channels(sel, &t);
    acl_sb_trim_space(&t);
    rbuf_bulk(b, t.p ? t.p : "", t.len);
    mem_free(t.p);
}

static void
cmd_getuser(struct session *s, struct rbuf *b, const struct resp_arg *name)
{
    int r3 = session_protocol(s) >= 3;
    struct acl_user *u = acl_state_find(s->px->acl, name->ptr, name->len, NULL);
    if (u == NULL) {
        rbuf_str(b, r3 ? "_\r\n" : "$-1\r\n");
        return;
    }
    rbuf_hdr(b, r3 ? '%' : '*', r3 ? 6 : 12);
    bulk_cstr(b, "flags");
    rbuf_hdr(b, r3 ? '~' : '*', 1 + u->nopass + (u->sanitize != 0));
    bulk_cstr(b, u->on ? "on" : "off");
    if (u->nopass) {
        bulk_cstr(b, "nopass");
    }
    if (u->sanitize) {
        bulk_cstr(b, u->sanitize == 2 ? "skip-sanitize-payload" : "sanitize-payload");
    }
    bulk_cstr(b, "passwords");
    rbuf_hdr(b, '*', (long long)u->npass);
    for (size_t i = 0; i < u->npass; i++) {
        rbuf_bulk(b, u->pass[i], 64);
    }
    selector_fields(b, &u->root);
    bulk_cstr(b, "selectors");
    rbuf_hdr(b, '*', (long long)u->nsels);
    for (size_t i = 0; i < u->nsels; i++) {
        rbuf_hdr(b, r3 ? '%' : '*', r3 ? 3 : 6);
        selector_fields(b, &u->sels[i]);
    }
}

static void
cmd_log(struct session *s, struct rbuf *b, size_t argc, const struct resp_arg *argv)
{
    static const char *const reasons[] = {"", "command", "key", "auth", "channel"};
    static const char *const contexts[] = {"toplevel", "multi", "lua", "multi"};
    struct acl_state *st = s->px->acl;
    int r3 = session_protocol(s) >= 3;
    long long count = 10, now = util_mstime();
    if (argc == 3) {
        if (arg_is(&argv[2], "reset")) {
            for (size_t i = 0; i < st->nlog; i++) {
                acl_log_entry_free(&st->log[i]);
            }
            st->nlog = 0;
            rbuf_str(b, "+OK\r\n");
            return;
        }
        if (util_str2ll(argv[2].ptr, argv[2].len, &count) != 0) {
            session_error(s, "ERR value is not an integer or out of range");
            return;
        }
        if (count < 0) {
            count = 0;
        }
    }
    size_t n = (size_t)count < st->nlog ? (size_t)count : st->nlog;
    rbuf_hdr(b, '*', (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct acl_log_entry *e = &st->log[i];
        char age[64];
        rbuf_hdr(b, r3 ? '%' : '*', r3 ? 7 : 14);
        bulk_cstr(b, "count");
        rbuf_hdr(b, ':', e->count);
        bulk_cstr(b, "reason");
        bulk_cstr(b, reasons[e->reason]);
        bulk_cstr(b, "context");
        bulk_cstr(b, contexts[e->context]);
        bulk_cstr(b, "object");
        rbuf_bulk(b, e->object, e->objlen);
        bulk_cstr(b, "username");
        bulk_cstr(b, e->username);
        bulk_cstr(b, "age-seconds");
        size_t al = util_d2str(age, sizeof(age), (double)(now - e->ctime_ms) / 1000.0);
        if (r3) {
            rbuf_add(b, ",", 1);
            rbuf_add(b, age, al);
            rbuf_add(b, "\r\n", 2);
        } else {
            rbuf_bulk(b, age, al);
        }
        bulk_cstr(b, "client-info");
        bulk_cstr(b, e->client_info);
    }
}

static const char no_aclfile[] =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
    "a Redis configuration file set) in order to store users in the Redis configuration.";

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
cmd_dryrun(struct session *s, struct rbuf *b, size_t argc, const struct resp_arg *argv)
{
    struct acl_user *u = acl_state_find(s->px->acl, argv[2].ptr, argv[2].len, NULL);
    const struct command *cmd;
    size_t pos;
    if (u == NULL) {
        session_error(s, "ERR User '%.*s' not found", (int)argv[2].len, argv[2].ptr);
        return;
    }
    cmd = command_lookup(argv[3].ptr, argv[3].len);
    if (cmd != NULL && cmd->nsubs > 0 && argc >= 5) {
        cmd = command_lookup_sub(cmd, argv[4].ptr, argv[4].len);
    }
    if (cmd == NULL) {
        session_error(s, "ERR Command '%.*s' not found", (int)argv[3].len, argv[3].ptr);
        return;
    }
    if (!command_arity_ok(cmd, argc - 3)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", cmd->fullname);
        return;
    }
    int r = acl_check(u, cmd, argc - 3, argv + 3, &pos);
    char msg[512];
    if (r == ACL_OK) {
        rbuf_str(b, "+OK\r\n");
        return;
    }
    if (r == ACL_DENIED_CMD) {
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
                 cmd->fullname);
    } else {
        const struct resp_arg *a = &argv[3 + pos];
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' %s",
                 (int)(a->len > 256 ? 256 : a->len), a->ptr,
                 r == ACL_DENIED_KEY ? "key" : "channel");
    }
    bulk_cstr(b, msg);
}

static void
cmd_genpass(struct session *s, struct rbuf *b, size_t argc, const struct resp_arg *argv)
{
    char out[1025];
    size_t len;
    const char *err;
    if (acl_genpass(argc == 3 ? &argv[2] : NULL, out, &len, &err) != 0) {
        session_error(s, "ERR %s", err);
        return;
    }
    rbuf_bulk(b, out, len);
}

void
access_acl_command(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct acl_state *st = px->acl;
    const struct resp_arg *sub = &argv[1];
    struct rbuf b = {0};
    char err[4096];
    const struct command *row = command_lookup_sub(command_get(CMD_ID_ACL), sub->ptr, sub->len);

    /* The command table's arity first, as the node's dispatch checks it. */
    if (row != NULL && !command_arity_ok(row, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", row->fullname);
        return;
    }
    if (arg_is(sub, "setuser") && argc >= 3) {
        if (acl_has_space(argv[2].ptr, argv[2].len)) {
            session_error(s, "ERR Usernames can't contain spaces or null characters");
            return;
        }
        if (acl_setuser(st, argv[2].ptr, argv[2].len, argv + 3, argc - 3, err,
                        sizeof(err)) != 0) {
            session_error(s, "ERR %s", err);
            return;
        }
        kill_pubsub_sessions(px, acl_state_find(st, argv[2].ptr, argv[2].len, NULL), s);
        rbuf_str(&b, "+OK\r\n");
    } else if (arg_is(sub, "getuser") && argc == 3) {
        cmd_getuser(s, &b, &argv[2]);
    } else if (arg_is(sub, "deluser") && argc >= 3) {
        long long deleted = 0;
        for (size_t i = 2; i < argc; i++) {
            if (argv[i].len == 7 && memcmp(argv[i].ptr, "default", 7) == 0) {
                session_error(s, "ERR The 'default' user cannot be removed");
                return;
            }
        }
        for (size_t i = 2; i < argc; i++) {
            size_t pos;
            struct acl_user *u = acl_state_find(st, argv[i].ptr, argv[i].len, &pos);
            if (u != NULL) {
                kill_sessions_of(px, u, s);
                acl_state_delete_user(st, pos);
                deleted++;
            }
        }
        rbuf_hdr(&b, ':', deleted);
    } else if (arg_is(sub, "list") && argc == 2) {
        rbuf_hdr(&b, '*', (long long)st->nusers);
        for (size_t i = 0; i < st->nusers; i++) {
            struct sbuf t = {NULL, 0, 0};
            acl_sb_cat(&t, "user ");
            acl_describe_user(st->users[i], &t);
            rbuf_bulk(&b, t.p, t.len);
            mem_free(t.p);
        }
    } else if (arg_is(sub, "users") && argc == 2) {
        rbuf_hdr(&b, '*', (long long)st->nusers);
        for (size_t i = 0; i < st->nusers; i++) {
            bulk_cstr(&b, st->users[i]->name);
        }
    } else if (arg_is(sub, "whoami") && argc == 2) {
        bulk_cstr(&b, acl_user_name(s->user));
    } else if (arg_is(sub, "cat") && argc <= 3) {
        if (argc == 2) {
            rbuf_hdr(&b, '*', ACL_CAT_BIT__COUNT);
            for (int i = 0; i < ACL_CAT_BIT__COUNT; i++) {
                bulk_cstr(&b, acl_category_name(i));
            }
        } else {
            int cat = acl_category_by_name(argv[2].ptr, argv[2].len);
            struct rbuf names = {0};
            long long n = 0;
            if (cat < 0) {
                session_error(s, "ERR Unknown category '%.*s'", (int)argv[2].len, argv[2].ptr);
                return;
            }
            /* Every command of the table: the proxy forwards what it does
             * not answer itself. */
            for (size_t i = 0; i < command_count(); i++) {
                const struct command *cmd = command_at(i);
                if (acl_command_categories(cmd) & (1u << cat)) {
                    bulk_cstr(&names, cmd->fullname);
                    n++;
                }
                for (size_t k = 0; k < cmd->nsubs; k++) {
                    if (acl_command_categories(cmd->subs[k]) & (1u << cat)) {
                        bulk_cstr(&names, cmd->subs[k]->fullname);
                        n++;
                    }
                }
            }
            rbuf_hdr(&b, '*', n);
            rbuf_add(&b, names.p, names.len);
            rbuf_free(&names);
        }
    } else if (arg_is(sub, "log") && argc <= 3) {
        cmd_log(s, &b, argc, argv);
    } else if (arg_is(sub, "save") && argc == 2) {
        if (px->cfg.aclfile == NULL || px->cfg.aclfile[0] == '\0') {
            session_error(s, "%s", no_aclfile);
            return;
        }
        if (acl_state_save_file(st, px->cfg.aclfile, err, sizeof(err)) != 0) {
            session_error(s, "ERR %s", err);
            return;
        }
        rbuf_str(&b, "+OK\r\n");
    } else if (arg_is(sub, "load") && argc == 2) {
        struct gone_ctx g = {px, s};
        struct acl_state *fresh;
        if (px->cfg.aclfile == NULL || px->cfg.aclfile[0] == '\0') {
            session_error(s, "%s", no_aclfile);
            return;
        }
        fresh = acl_read_file(px->cfg.aclfile, err, sizeof(err));
        if (fresh == NULL) {
            session_error(s, "ERR %s", err);
            return;
        }
        acl_state_replace_users(st, fresh, user_gone, &g);
        for (size_t i = 0; i < st->nusers; i++) {
            kill_pubsub_sessions(px, st->users[i], s);
        }
        log_info("ACL users reloaded from %s", px->cfg.aclfile);
        rbuf_str(&b, "+OK\r\n");
    } else if (arg_is(sub, "dryrun") && argc >= 4) {
        cmd_dryrun(s, &b, argc, argv);
    } else if (arg_is(sub, "genpass") && argc <= 3) {
        cmd_genpass(s, &b, argc, argv);
    } else if (arg_is(sub, "help") && argc == 2) {
        size_t n = 0;
        while (acl_help_lines[n] != NULL) {
            n++;
        }
        rbuf_hdr(&b, '*', (long long)n + 3);
        rbuf_str(&b, "+ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n");
        rbuf_status_lines(&b, acl_help_lines, n);
        rbuf_str(&b, "+HELP\r\n+    Prints this help.\r\n");
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
