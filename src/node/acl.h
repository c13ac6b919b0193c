/* Access control lists as in Redis 7.0: users, their passwords and their
 * selectors (commands, key patterns, channel patterns), the rule language
 * of ACL SETUSER / aclfile / "user" config lines, the permission check run
 * before every command, and the ACL LOG.  The state hangs off the server
 * (srv->acl); clients point at their user (c->user, borrowed). */
#ifndef CACHELY_NODE_ACL_H
#define CACHELY_NODE_ACL_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct server;
struct client;
struct command;
struct acl_user;
struct acl_state;

/* Categories in Redis's order (ACL CAT lists them so). */
#define ACL_CAT_LIST(X)                                                     \
    X(KEYSPACE, "keyspace")                                                 \
    X(READ, "read")                                                         \
    X(WRITE, "write")                                                       \
    X(SET, "set")                                                           \
    X(SORTEDSET, "sortedset")                                               \
    X(LIST, "list")                                                         \
    X(HASH, "hash")                                                         \
    X(STRING, "string")                                                     \
    X(BITMAP, "bitmap")                                                     \
    X(HYPERLOGLOG, "hyperloglog")                                           \
    X(GEO, "geo")                                                           \
    X(STREAM, "stream")                                                     \
    X(PUBSUB, "pubsub")                                                     \
    X(ADMIN, "admin")                                                       \
    X(FAST, "fast")                                                         \
    X(SLOW, "slow")                                                         \
    X(BLOCKING, "blocking")                                                 \
    X(DANGEROUS, "dangerous")                                               \
    X(CONNECTION, "connection")                                             \
    X(TRANSACTION, "transaction")                                           \
    X(SCRIPTING, "scripting")

enum acl_cat_bit {
#define ACL_CAT_BIT(sym, name) ACL_CAT_BIT_##sym,
    ACL_CAT_LIST(ACL_CAT_BIT)
#undef ACL_CAT_BIT
    ACL_CAT_BIT__COUNT
};

/* Outcome of a permission check (the order is Redis's: when no selector
 * allows a command, the highest-ranked denial is reported). */
enum acl_result {
    ACL_OK = 0,
    ACL_DENIED_CMD = 1,
    ACL_DENIED_KEY = 2,
    ACL_DENIED_AUTH = 3,
    ACL_DENIED_CHANNEL = 4,
};

/* Where a denied command was: the ACL LOG's "context" field. */
enum acl_context {
    ACL_CTX_TOPLEVEL,
    ACL_CTX_MULTI, /* queued inside MULTI: logged as "multi" */
    ACL_CTX_LUA,   /* redis.call / redis.pcall */
    ACL_CTX_EXEC,  /* re-checked at EXEC: logged as "multi", with Redis's
                    * "ACLs rules changed" text */
};

/* Category bits (1 << enum acl_cat_bit) of a command-table row, as Redis
 * 7.0's COMMAND INFO lists them. */
uint32_t acl_command_categories(const struct command *cmd);
/* Name of category bit i ("keyspace"...), or NULL past the last. */
const char *acl_category_name(int bit);

/* Create the default user ("on nopass ~* &* +@all"), then apply the config:
 * requirepass, "user" lines, the aclfile.  Returns 0, or -1 after logging
 * why (the server must not start). */
int acl_setup(struct server *srv);
void acl_teardown(struct server *srv);

/* The default user (never NULL after acl_setup). */
struct acl_user *acl_default_user(struct server *srv);
/* The user of that name, or NULL (borrowed from the ACL state). */
struct acl_user *acl_user_find(struct server *srv, const char *name, size_t len);
/* A user's name (borrowed). */
const char *acl_user_name(const struct acl_user *u);
/* Nonzero when the user is on and needs no password: new connections are
 * authenticated as it at once. */
int acl_user_nopass(const struct acl_user *u);

/* Check a user name and password.  On success returns the user (borrowed
 * from the ACL state); on failure NULL and, when c is not NULL, an ACL LOG
 * "auth" entry for c. */
struct acl_user *acl_authenticate(struct server *srv, struct client *c,
                                  const char *user, size_t ulen,
                                  const char *pass, size_t plen);

/* May u run cmd with these arguments?  Returns enum acl_result; on a denial
 * *errpos is the index of the offending argument (0 for the command).  A
 * NULL user may do anything (the master link, loaders). */
int acl_check(struct acl_user *u, const struct command *cmd, size_t argc,
              const struct resp_arg *argv, size_t *errpos);
/* The whole check for a client's command: on a denial adds the ACL LOG
 * entry and writes Redis's NOPERM text (without the leading '-') into msg. */
int acl_check_client(struct client *c, const struct command *cmd, size_t argc,
                     const struct resp_arg *argv, enum acl_context ctx,
                     char *msg, size_t msglen);
/* Add an ACL LOG entry for a denial (reason is enum acl_result). */
void acl_log_add(struct client *c, int reason, enum acl_context ctx,
                 const char *object, size_t objlen, const char *username);

/* acl-pubsub-default changed: 1 = allchannels, 0 = resetchannels. */
void acl_set_pubsub_default(int allchannels);
/* requirepass changed: the default user's password follows it. */
void acl_apply_requirepass(struct server *srv);

/* Apply rules (words separated by spaces, selectors in parentheses, as
 * after "user <name>" in an aclfile) to a fresh user "fuzz" of a scratch
 * registry and return its ACL LIST text without "user " (the caller frees
 * it with mem_free), or NULL when a rule is refused.  For tests and the
 * fuzz target: the text must parse back to itself. */
char *acl_describe_rules(const char *rules, size_t len);

#endif
