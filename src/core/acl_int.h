/* ACL internals shared by core/acl.c (users, rules, checks, the aclfile)
 * and the ACL command's handlers of each binary (node/cmd_acl.c,
 * proxy/acl.c).  Everything else uses core/acl.h (node/acl.h). */
#ifndef CACHELY_CORE_ACL_INT_H
#define CACHELY_CORE_ACL_INT_H

#include "core/acl.h"
#include "core/command.h"
#include "core/rbuf.h"

#include <stddef.h>
#include <stdint.h>

enum {
    ACL_PERM_READ = 1,
    ACL_PERM_WRITE = 2,
    ACL_PERM_ALL = 3,
};

enum {
    SEL_ALLKEYS = 1 << 0,
    SEL_ALLCHANNELS = 1 << 1,
    SEL_ALLCOMMANDS = 1 << 2, /* +@all: commands added later are allowed */
};

#define ACL_BITMAP_BYTES ((CMD_ID__COUNT + 7) / 8)

struct acl_pattern {
    char *pat;       /* owned */
    size_t len;
    unsigned perm;   /* ACL_PERM_* (keys); unused for channels */
};

struct acl_selector {
    unsigned flags;                   /* SEL_* */
    uint8_t allowed[ACL_BITMAP_BYTES];
    struct acl_pattern *keys;         /* owned array */
    size_t nkeys;
    struct acl_pattern *chans;        /* owned array */
    size_t nchans;
};

struct acl_user {
    char *name;                       /* owned */
    int on;
    int nopass;
    int sanitize;                     /* 0, or 1 sanitize-payload, 2 skip- */
    char (*pass)[65];                 /* owned: hex SHA-256 of each password */
    size_t npass;
    struct acl_selector root;
    struct acl_selector *sels;        /* owned: the (...) selectors */
    size_t nsels;
};

struct acl_log_entry {
    long long count;
    int reason;                       /* enum acl_result */
    int context;                      /* enum acl_context */
    char *object;                     /* owned */
    size_t objlen;
    char *username;                   /* owned */
    long long ctime_ms;
    char *client_info;                /* owned */
};

struct acl_state {
    struct acl_user **users;          /* owned; sorted by name */
    size_t nusers, cap;
    struct acl_user *def;             /* borrowed from users: "default" */
    struct acl_log_entry *log;        /* owned; newest first */
    size_t nlog;
};

/* Is command id allowed by s's bitmap?  (Inline: the check runs it for
 * every command.) */
static inline int
acl_sel_bit(const struct acl_selector *s, int id)
{
    return (s->allowed[id / 8] >> (id % 8)) & 1;
}

/* The usual check in one test: a user allowed every key and channel (the
 * default user) needs only the command's bit, which is what acl_check
 * would find, without its calls.  0 means "ask acl_check", not "denied". */
static inline int
acl_user_allowed_by_bit(const struct acl_user *u, int id)
{
    return (u->root.flags & (SEL_ALLKEYS | SEL_ALLCHANNELS)) == (SEL_ALLKEYS | SEL_ALLCHANNELS)
           && acl_sel_bit(&u->root, id);
}

/* The rule text is built in a core/rbuf.h buffer kept NUL-terminated. */
void acl_sb_catlen(struct rbuf *b, const char *s, size_t n);
void acl_sb_cat(struct rbuf *b, const char *s);
/* Drop one trailing space. */
void acl_sb_trim_space(struct rbuf *b);

/* Binary search by name; *pos (if not NULL) gets where it is or would go. */
struct acl_user *acl_state_find(struct acl_state *st, const char *name, size_t len,
                                size_t *pos);
/* Whitespace or NUL in p[0..len). */
int acl_has_space(const char *p, size_t len);
/* Category bit of a name ("hash"), or -1. */
int acl_category_by_name(const char *name, size_t len);

/* The text of a selector's commands, keys and channels, and of a whole user
 * as ACL LIST prints it (without "user "), appended to b. */
void acl_describe_commands(const struct acl_selector *s, struct rbuf *b);
void acl_describe_keys(const struct acl_selector *s, struct rbuf *b);
void acl_describe_channels(const struct acl_selector *s, struct rbuf *b);
void acl_describe_user(const struct acl_user *u, struct rbuf *b);

/* ACL SETUSER's work: all rules or none.  Returns 0, or -1 with Redis's
 * message in err. */
int acl_setuser(struct acl_state *st, const char *name, size_t nlen,
                const struct resp_arg *argv, size_t argc, char *err, size_t errlen);
void acl_user_free(struct acl_user **up);
void acl_log_entry_free(struct acl_log_entry *e);
/* Read an aclfile into a new state; NULL with Redis's error text in err. */
struct acl_state *acl_read_file(const char *path, char *err, size_t errlen);
/* Called with each user about to be freed (its connections must go). */
typedef void (*acl_user_gone_fn)(void *arg, struct acl_user *u);
/* Replace st's users with fresh's (consumed); users kept by name stay the
 * same objects, the others go to gone (may be NULL) and are freed. */
void acl_state_replace_users(struct acl_state *st, struct acl_state *fresh,
                             acl_user_gone_fn gone, void *arg);
/* Remove and free the user at index pos of st->users (not the default). */
void acl_state_delete_user(struct acl_state *st, size_t pos);
/* Write ACL LIST's lines to path (through a temp file and rename); -1 with
 * Redis's text in err. */
int acl_state_save_file(struct acl_state *st, const char *path, char *err, size_t errlen);

/* Between the core/acl*.c files (the binaries need none of these). */
/* The user of that name, created (with acl-pubsub-default's channels) if
 * st has none. */
struct acl_user *acl_state_add(struct acl_state *st, const char *name, size_t len);
/* Empty u as a user declared anew starts: off, no passwords, commands or
 * keys, and the channels of acl-pubsub-default. */
void acl_user_renew(struct acl_user *u);
/* Make u the default user's start: on, nopass, ~* &* +@all. */
void acl_user_init_default(struct acl_user *u);
/* Replace dst's rules and passwords with a copy of src's (not its name). */
void acl_user_copy(struct acl_user *dst, const struct acl_user *src);
/* Add a password hash (64 hex digits; a duplicate is ignored). */
void acl_user_add_hash(struct acl_user *u, const char *hex);
/* One "user <name> <rules...>" line into st; -1 with Redis's text naming
 * where (path:lineno) in err.  *seen_default tracks a second "default". */
int acl_file_load_line(struct acl_state *st, const char *line, const char *where, int lineno,
                       char *err, size_t errlen, int *seen_default);

/* ACL HELP's lines between its header and the HELP entry, as Redis 7.0
 * prints them (NULL-terminated). */
extern const char *const acl_help_lines[];
/* ACL GENPASS [bits]: bits NULL for 256; writes (bits + 3) / 4 hex digits
 * to out (room for 1,024) and their count to *len.  -1 with Redis's error
 * text (without "ERR ") in *err. */
int acl_genpass(const struct resp_arg *bits, char *out, size_t *len, const char **err);

#endif
