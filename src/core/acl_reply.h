/* The ACL command's replies, written once for both binaries over a
 * core/resp_writer.h writer: node/cmd_acl.c and proxy/access.c check the
 * subcommand's arity, then call one of these.  What differs between the
 * binaries (which commands exist, whose connections close when a user goes
 * or loses channels) comes in as a callback. */
#ifndef CACHELY_CORE_ACL_REPLY_H
#define CACHELY_CORE_ACL_REPLY_H

#include "core/acl_int.h"
#include "core/resp.h"
#include "core/resp_writer.h"

#include <stddef.h>

struct command;

/* Does this binary answer cmd?  NULL: every command of the table (the
 * proxy forwards what it does not answer itself). */
typedef int (*acl_reply_known_fn)(const struct command *cmd);

/* Whose connections follow a change of users, called during the command
 * (self, the caller's own connection, should close after its reply). */
struct acl_reply_hooks {
    acl_user_gone_fn gone;     /* u is about to be freed: close its clients */
    acl_user_gone_fn narrowed; /* u's channels may have shrunk: close its
                                  subscribers to channels it lost */
    void *arg;                 /* passed to both */
};

/* The rest of each line's arguments is argv as the client sent it, with
 * argv[0] "ACL" and argv[1] the subcommand. */
void acl_reply_setuser(struct resp_writer *w, struct acl_state *st, size_t argc,
                       const struct resp_arg *argv, const struct acl_reply_hooks *h);
void acl_reply_getuser(struct resp_writer *w, struct acl_state *st, const struct resp_arg *name);
void acl_reply_deluser(struct resp_writer *w, struct acl_state *st, size_t argc,
                       const struct resp_arg *argv, const struct acl_reply_hooks *h);
void acl_reply_list(struct resp_writer *w, struct acl_state *st);
void acl_reply_users(struct resp_writer *w, struct acl_state *st);
/* ACL CAT [category] (argc 2 or 3). */
void acl_reply_cat(struct resp_writer *w, size_t argc, const struct resp_arg *argv,
                   acl_reply_known_fn known);
/* ACL LOG [count|RESET] (argc 2 or 3). */
void acl_reply_log(struct resp_writer *w, struct acl_state *st, size_t argc,
                   const struct resp_arg *argv);
/* ACL SAVE / ACL LOAD with the binary's aclfile path (NULL or "": none). */
void acl_reply_save(struct resp_writer *w, struct acl_state *st, const char *path);
void acl_reply_load(struct resp_writer *w, struct acl_state *st, const char *path,
                    const struct acl_reply_hooks *h);
/* ACL DRYRUN user command [arg ...] (argc >= 4). */
void acl_reply_dryrun(struct resp_writer *w, struct acl_state *st, size_t argc,
                      const struct resp_arg *argv, acl_reply_known_fn known);
/* ACL GENPASS [bits] (argc 2 or 3). */
void acl_reply_genpass(struct resp_writer *w, size_t argc, const struct resp_arg *argv);
void acl_reply_help(struct resp_writer *w);

#endif
