/* The node's side of the ACL (core/acl.h holds users, rules and checks):
 * the state hangs off the server (srv->acl), clients point at their user
 * (c->user, borrowed), denials are logged with the client's description,
 * and users that go away take their clients with them. */
#ifndef CACHELY_NODE_ACL_H
#define CACHELY_NODE_ACL_H

#include "core/acl.h"
#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct server;
struct client;
struct command;

/* Build the state from the config: requirepass, "user" lines, the aclfile.
 * Returns 0, or -1 after logging why (the server must not start). */
int acl_setup(struct server *srv);
void acl_teardown(struct server *srv);

/* The server's ACL state (NULL before acl_setup). */
struct acl_state *acl_state_of(struct server *srv);
/* The default user (never NULL after acl_setup). */
struct acl_user *acl_default_user(struct server *srv);
/* The user of that name, or NULL (borrowed from the ACL state). */
struct acl_user *acl_user_find(struct server *srv, const char *name, size_t len);

/* Check a user name and password.  On success returns the user (borrowed
 * from the ACL state); on failure NULL and, when c is not NULL, an ACL LOG
 * "auth" entry for c. */
struct acl_user *acl_authenticate(struct server *srv, struct client *c,
                                  const char *user, size_t ulen,
                                  const char *pass, size_t plen);

/* The whole check for a client's command: on a denial adds the ACL LOG
 * entry and writes Redis's NOPERM text (with the leading '-') into msg. */
int acl_check_client(struct client *c, const struct command *cmd, size_t argc,
                     const struct resp_arg *argv, enum acl_context ctx,
                     char *msg, size_t msglen);
/* Add an ACL LOG entry for a denial (reason is enum acl_result). */
void acl_log_add(struct client *c, int reason, enum acl_context ctx,
                 const char *object, size_t objlen, const char *username);

/* requirepass changed: the default user's password follows it. */
void acl_apply_requirepass(struct server *srv);

/* Close the clients authenticated as u (self: after its reply). */
void acl_kill_clients_of(struct server *srv, struct acl_user *u, struct client *self);
/* Close u's clients subscribed to a channel or pattern u may no longer use
 * (self: after its reply). */
void acl_kill_pubsub_clients(struct server *srv, struct acl_user *u, struct client *self);

#endif
