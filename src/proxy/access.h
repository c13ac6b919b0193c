/* The proxy's own users (access.c): AUTH, ACL checks before routing, the
 * ACL command and ACL LOG. */
#ifndef CACHELY_PROXY_ACCESS_H
#define CACHELY_PROXY_ACCESS_H

#include "core/resp.h"

#include <stddef.h>

struct proxy;
struct session;
struct command;
struct acl_user;

/* The users from requirepass, "user" lines or aclfile; -1 (logged) when
 * they are malformed. */
int access_setup(struct proxy *px);
void access_teardown(struct proxy *px);
/* The configuration was reloaded (SIGHUP): rebuild the users; users kept by
 * name keep their sessions.  -1 (logged) leaves the old users. */
int access_reload(struct proxy *px);
/* A new or RESET session: the default user, authenticated when nopass. */
void access_session_start(struct session *s);
/* The default user needs no password (protected-mode applies). */
int access_no_password(const struct proxy *px);
/* AUTH / HELLO AUTH: on success s becomes the user (returned); NULL after
 * an ACL LOG "auth" entry. */
struct acl_user *access_authenticate(struct session *s, const struct resp_arg *user,
                                     const struct resp_arg *pass);
/* May s's user run this command?  0, or -1 after the NOPERM reply and the
 * ACL LOG entry. */
int access_check(struct session *s, const struct command *cmd, size_t argc,
                 const struct resp_arg *argv);
/* ACL <subcommand> for the proxy's own users. */
void access_acl_command(struct session *s, size_t argc, const struct resp_arg *argv);

#endif
