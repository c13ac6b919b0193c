/* ACL internals shared by acl.c (users, rules, checks, the aclfile) and
 * cmd_acl.c (the ACL command's handlers).  Nothing else includes it: the
 * rest of the node uses acl.h. */
#ifndef CACHELY_NODE_ACL_INT_H
#define CACHELY_NODE_ACL_INT_H

#include "core/command.h"
#include "node/acl.h"

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

/* A growing NUL-terminated string for the rule text. */
struct sbuf {
    char *p;      /* owned; NUL-terminated */
    size_t len, cap;
};

void acl_sb_catlen(struct sbuf *b, const char *s, size_t n);
void acl_sb_cat(struct sbuf *b, const char *s);
/* Drop one trailing space. */
void acl_sb_trim_space(struct sbuf *b);

/* The server's ACL state (NULL before acl_setup). */
struct acl_state *acl_state_of(struct server *srv);
/* Binary search by name; *pos (if not NULL) gets where it is or would go. */
struct acl_user *acl_state_find(struct acl_state *st, const char *name, size_t len,
                                size_t *pos);
/* Whitespace or NUL in p[0..len). */
int acl_has_space(const char *p, size_t len);
/* Category bit of a name ("hash"), or -1. */
int acl_category_by_name(const char *name, size_t len);

/* The text of a selector's commands, keys and channels, and of a whole user
 * as ACL LIST prints it (without "user "), appended to b. */
void acl_describe_commands(const struct acl_selector *s, struct sbuf *b);
void acl_describe_keys(const struct acl_selector *s, struct sbuf *b);
void acl_describe_channels(const struct acl_selector *s, struct sbuf *b);
void acl_describe_user(const struct acl_user *u, struct sbuf *b);

/* ACL SETUSER's work: all rules or none.  Returns 0, or -1 with Redis's
 * message in err. */
int acl_setuser(struct acl_state *st, const char *name, size_t nlen,
                const struct resp_arg *argv, size_t argc, char *err, size_t errlen);
void acl_user_free(struct acl_user **up);
void acl_log_entry_free(struct acl_log_entry *e);
/* Close the clients authenticated as u (self: after its reply). */
void acl_kill_clients_of(struct server *srv, struct acl_user *u, struct client *self);
/* Read an aclfile into a new state; NULL with Redis's error text in err. */
struct acl_state *acl_read_file(const char *path, char *err, size_t errlen);
/* Replace the users with fresh's (consumed); users kept by name stay the
 * same objects, the others' clients are closed. */
void acl_state_replace_users(struct server *srv, struct acl_state *fresh,
                             struct client *self);
/* Close u's clients subscribed to a channel or pattern u may no longer use
 * (self: after its reply). */
void acl_kill_pubsub_clients(struct server *srv, struct acl_user *u, struct client *self);
/* Write ACL LIST's lines to path (through a temp file and rename). */
int acl_save_file(struct server *srv, const char *path, char *err, size_t errlen);

#endif
