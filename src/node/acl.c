/* The node's ACL glue over core/acl.c: the state on the server, the check
 * and ACL LOG entries for a client, and closing the clients of users that
 * are deleted or lose the channels they are subscribed to. */
#include "node/acl.h"
#include "core/acl_int.h"
#include "core/log.h"
#include "node/client.h"
#include "node/pubsub.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>

struct acl_state *
acl_state_of(struct server *srv)
{
    return srv->acl;
}

int
acl_setup(struct server *srv)
{
    acl_set_pubsub_default(srv->cfg.acl_pubsub_default == 0);
    srv->acl = acl_state_setup(srv->cfg.requirepass, srv->cfg.acl_users, srv->cfg.aclfile);
    return srv->acl != NULL ? 0 : -1;
}

void
acl_teardown(struct server *srv)
{
    acl_state_destroy(&srv->acl);
}

void
acl_apply_requirepass(struct server *srv)
{
    acl_state_set_requirepass(srv->acl, srv->cfg.requirepass);
}

struct acl_user *
acl_default_user(struct server *srv)
{
    return acl_state_default(srv->acl);
}

struct acl_user *
acl_user_find(struct server *srv, const char *name, size_t len)
{
    return srv->acl ? acl_state_find(srv->acl, name, len, NULL) : NULL;
}

void
acl_log_add(struct client *c, int reason, enum acl_context ctx, const char *object,
            size_t objlen, const char *username)
{
    char info[2048];
    if (c->srv->acl == NULL) {
        return;
    }
    client_describe(c, info, sizeof(info));
    acl_log_push(c->srv->acl, reason, ctx, object, objlen, username, info,
                 c->srv->cfg.acllog_max_len);
}

struct acl_user *
acl_authenticate(struct server *srv, struct client *c, const char *user, size_t ulen,
                 const char *pass, size_t plen)
{
    struct acl_user *u = acl_state_authenticate(srv->acl, user, ulen, pass, plen);
    if (u == NULL && c != NULL) {
        char name[256];
        size_t n = ulen < sizeof(name) - 1 ? ulen : sizeof(name) - 1;
        memcpy(name, user, n);
        name[n] = '\0';
        acl_log_add(c, ACL_DENIED_AUTH,
                    (c->flags & CLIENT_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
                    "AUTH", 4, name);
    }
    return u;
}

int
acl_check_client(struct client *c, const struct command *cmd, size_t argc,
                 const struct resp_arg *argv, enum acl_context ctx, char *msg,
                 size_t msglen)
{
    size_t pos;
    if (acl_user_allowed_by_bit(c->user, cmd->id)) {
        return ACL_OK;
    }
    int r = acl_check(c->user, cmd, argc, argv, &pos);
    enum acl_context logged = ctx == ACL_CTX_EXEC ? ACL_CTX_MULTI : ctx;
    if (r == ACL_OK) {
        return r;
    }
    if (r == ACL_DENIED_CMD) {
        acl_log_add(c, r, logged, cmd->fullname, strlen(cmd->fullname), c->user->name);
    } else {
        acl_log_add(c, r, logged, argv[pos].ptr, argv[pos].len, c->user->name);
    }
    acl_noperm_text(r, ctx, cmd, msg, msglen);
    return r;
}

/* Disconnect every client authenticated as u (it is being deleted). */
void
acl_kill_clients_of(struct server *srv, struct acl_user *u, struct client *self)
{
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        if (c->user == u) {
            c->user = NULL;
            c->flags &= ~(unsigned)CLIENT_AUTHENTICATED;
            if (c == self) {
                c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            } else {
                client_close_async(c);
            }
        }
    }
}

static int
subscription_denied(void *arg, int kind, const char *name, size_t len)
{
    return !acl_user_channel_ok(arg, name, len, kind == 1);
}

void
acl_kill_pubsub_clients(struct server *srv, struct acl_user *u, struct client *self)
{
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        if (c->user != u || c->pubsub == NULL
            || !pubsub_client_each(c, subscription_denied, u)) {
            continue;
        }
        /* As Redis 7.0: a subscriber may not keep a channel it lost. */
        if (c == self) {
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        } else {
            client_close_async(c);
        }
    }
}
