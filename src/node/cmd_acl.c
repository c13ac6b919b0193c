/* The ACL command: thin handlers over core/acl_reply.c, which writes the
 * replies of both binaries (ACL SETUSER, GETUSER, DELUSER, LIST, USERS,
 * CAT, LOG, SAVE, LOAD, DRYRUN, GENPASS, HELP); here is what only the node
 * knows: its clients, its command handlers, its aclfile option. */
#include "node/acl.h"
#include "core/acl_reply.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/reply_writer.h"
#include "node/server.h"

/* A known ACL subcommand with the wrong number of arguments. */
static void
reply_acl_arity(struct client *c)
{
    int n = (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len);
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
                 n, c->argv[1].ptr);
}

/* The hooks' argument: the server and the client running the command. */
struct acl_cmd_ctx {
    struct server *srv;
    struct client *self;
};

static void
user_gone(void *arg, struct acl_user *u)
{
    struct acl_cmd_ctx *x = arg;
    acl_kill_clients_of(x->srv, u, x->self);
}

static void
user_narrowed(void *arg, struct acl_user *u)
{
    struct acl_cmd_ctx *x = arg;
    acl_kill_pubsub_clients(x->srv, u, x->self);
}

void
cmd_acl_setuser(struct client *c)
{
    struct acl_cmd_ctx x = {c->srv, c};
    struct acl_reply_hooks h = {user_gone, user_narrowed, &x};
    struct resp_writer w;
    /* Redis keeps the user name and the rules (passwords among them) out
     * of the slow log and MONITOR, whether they apply or not. */
    for (size_t i = 2; i < c->argc; i++) {
        client_redact_arg(c, i);
    }
    reply_writer_init(&w, c);
    acl_reply_setuser(&w, acl_state_of(c->srv), c->argc, c->argv, &h);
}

void
cmd_acl_getuser(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_getuser(&w, acl_state_of(c->srv), &c->argv[2]);
}

void
cmd_acl_deluser(struct client *c)
{
    struct acl_cmd_ctx x = {c->srv, c};
    struct acl_reply_hooks h = {user_gone, user_narrowed, &x};
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_deluser(&w, acl_state_of(c->srv), c->argc, c->argv, &h);
}

void
cmd_acl_list(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_list(&w, acl_state_of(c->srv));
}

void
cmd_acl_users(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_users(&w, acl_state_of(c->srv));
}

void
cmd_acl_whoami(struct client *c)
{
    reply_bulk_cstr(c, acl_user_name(c->user));
}

void
cmd_acl_cat(struct client *c)
{
    struct resp_writer w;
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    reply_writer_init(&w, c);
    acl_reply_cat(&w, c->argc, c->argv, handlers_implements);
}

void
cmd_acl_log(struct client *c)
{
    struct resp_writer w;
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    reply_writer_init(&w, c);
    acl_reply_log(&w, acl_state_of(c->srv), c->argc, c->argv);
}

void
cmd_acl_save(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_save(&w, acl_state_of(c->srv), c->srv->cfg.aclfile);
}

void
cmd_acl_load(struct client *c)
{
    struct acl_cmd_ctx x = {c->srv, c};
    struct acl_reply_hooks h = {user_gone, user_narrowed, &x};
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_load(&w, acl_state_of(c->srv), c->srv->cfg.aclfile, &h);
}

void
cmd_acl_dryrun(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_dryrun(&w, acl_state_of(c->srv), c->argc, c->argv, handlers_implements);
}

void
cmd_acl_genpass(struct client *c)
{
    struct resp_writer w;
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    reply_writer_init(&w, c);
    acl_reply_genpass(&w, c->argc, c->argv);
}

void
cmd_acl_help(struct client *c)
{
    struct resp_writer w;
    reply_writer_init(&w, c);
    acl_reply_help(&w);
}
