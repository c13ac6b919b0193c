/* Access control lists as in Redis 7.0, shared by the node and the proxy:
 * users, their passwords and their selectors (commands, key patterns,
 * channel patterns), the rule language of ACL SETUSER / aclfile / "user"
 * config lines, the permission check, and the ACL LOG's storage.  The state
 * is a struct acl_state the binary owns; a connection points at its user
 * (borrowed from the state).  Clients are the binaries' business: see
 * node/acl.h and proxy/acl.c. */
#ifndef CACHELY_CORE_ACL_H
#define CACHELY_CORE_ACL_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct command;
struct sockaddr;
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

/* A state holding only the default user ("on nopass ~* &* +@all"). */
struct acl_state *acl_state_create(void);
void acl_state_destroy(struct acl_state **stp);
/* A state from the configuration: the default user, requirepass as its
 * password, then the "user" lines (newline-separated, "user name rules...")
 * or the aclfile (not both).  Returns it (the caller owns it), or NULL
 * after logging why (the binary must not start). */
struct acl_state *acl_state_setup(const char *requirepass, const char *lines,
                                  const char *aclfile);
/* requirepass changed: the default user's password follows it ("" or NULL
 * = nopass). */
void acl_state_set_requirepass(struct acl_state *st, const char *pw);
/* The default user (borrowed; NULL when st is NULL). */
struct acl_user *acl_state_default(struct acl_state *st);

/* A user's name (borrowed; "default" for NULL). */
const char *acl_user_name(const struct acl_user *u);
/* Nonzero when the user is on and needs no password: new connections are
 * authenticated as it at once. */
int acl_user_nopass(const struct acl_user *u);
/* May u use this channel (literal: a PSUBSCRIBE pattern, which must equal
 * an allowed pattern)?  Any selector may allow it. */
int acl_user_channel_ok(const struct acl_user *u, const char *name, size_t len, int literal);

/* Check a user name and password: the user (borrowed from st) or NULL. */
struct acl_user *acl_state_authenticate(struct acl_state *st, const char *user, size_t ulen,
                                        const char *pass, size_t plen);

/* May u run cmd with these arguments?  Returns enum acl_result; on a denial
 * *errpos is the index of the offending argument (0 for the command).  A
 * NULL user may do anything (the master link, loaders). */
int acl_check(struct acl_user *u, const struct command *cmd, size_t argc,
              const struct resp_arg *argv, size_t *errpos);
/* Nonzero when one of u's selectors lets it run cmd with these arguments
 * and read every key (allkeys, or a "*" pattern with read access): SORT's
 * BY and GET read keys their arguments do not name, which only such a user
 * may do (Redis 7.0).  A NULL user may. */
int acl_check_unrestricted_read(struct acl_user *u, const struct command *cmd, size_t argc,
                                const struct resp_arg *argv);
/* Redis's error text for denial r (with its leading '-', no CRLF) into msg:
 * NOPERM at top level and in MULTI, the "ACLs rules changed" text for
 * ACL_CTX_EXEC, the script's -ERR text for ACL_CTX_LUA. */
void acl_noperm_text(int r, enum acl_context ctx, const struct command *cmd, char *msg,
                     size_t msglen);
/* Add an ACL LOG entry (reason is enum acl_result; ctx is logged as given,
 * so pass ACL_CTX_MULTI for ACL_CTX_EXEC): an entry with the same reason,
 * context, object and user within 60 s is counted and moved to the front;
 * info is the client's CLIENT LIST line; the log keeps maxlen entries. */
void acl_log_push(struct acl_state *st, int reason, enum acl_context ctx, const char *object,
                  size_t objlen, const char *username, const char *info, long long maxlen);

/* acl-pubsub-default changed: 1 = allchannels, 0 = resetchannels (for
 * users created from now on; process-wide). */
void acl_set_pubsub_default(int allchannels);

/* protected-mode: Redis's refusal, sent before closing (with CRLF). */
extern const char acl_protected_mode_denied[];
/* Nonzero when a connection from this peer must be refused: protected-mode
 * is on, the default user needs no password, and the peer is neither a
 * loopback address (127.0.0.0/8, ::1, ::ffff:127.x) nor a Unix socket.
 * peer may be NULL (unknown: refused when the rest holds). */
int acl_protected_refuses(int protected_mode, int default_nopass, const struct sockaddr *peer);
/* The same for an accepted socket (reads its peer address). */
int acl_protected_refuses_fd(int protected_mode, int default_nopass, int fd);

/* Apply rules (words separated by spaces, selectors in parentheses, as
 * after "user <name>" in an aclfile) to a fresh user "fuzz" of a scratch
 * registry and return its ACL LIST text without "user " (the caller frees
 * it with mem_free), or NULL when a rule is refused.  For tests and the
 * fuzz target: the text must parse back to itself. */
char *acl_describe_rules(const char *rules, size_t len);

/* The "user <name> <rules...>" option of both binaries (an OPT_SPECIAL
 * parse/format pair): each line is appended, as "user ...\n", to the
 * char * the option's offset names, so the lines accumulate; CONFIG GET
 * shows nothing. */
struct option_def;
int acl_option_user_parse(const struct option_def *def, void *values, const char *value,
                          char *err, size_t errlen);
void acl_option_user_format(const struct option_def *def, const void *values, char *buf,
                            size_t len);

#endif
