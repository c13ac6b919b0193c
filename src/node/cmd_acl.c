/* The ACL command: thin handlers over acl.c (ACL SETUSER, GETUSER, DELUSER,
 * LIST, USERS, WHOAMI, CAT, LOG, SAVE, LOAD, DRYRUN, GENPASS, HELP), with
 * Redis 7.0's replies and error strings. */
#include "node/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A known ACL subcommand with the wrong number of arguments. */
static void
reply_acl_arity(struct client *c)
{
    int n = (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len);
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
                 n, c->argv[1].ptr);
}

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

void
cmd_acl_setuser(struct client *c)
{
    char err[512];
    const struct resp_arg *name = &c->argv[2];
    /* Redis keeps the rules (passwords among them) out of the slow log and
     * MONITOR, whether they apply or not. */
    for (size_t i = 3; i < c->argc; i++) {
        client_redact_arg(c, i);
    }
    if (acl_has_space(name->ptr, name->len)) {
        reply_error(c, "Usernames can't contain spaces or null characters");
        return;
    }
    if (acl_setuser(acl_state_of(c->srv), name->ptr, name->len, c->argv + 3, c->argc - 3, err,
                    sizeof(err)) != 0) {
        reply_error(c, err);
        return;
    }
    acl_kill_pubsub_clients(c->srv, acl_state_find(acl_state_of(c->srv), name->ptr, name->len,
                                                   NULL),
                            c);
    reply_ok(c);
}

static void
reply_selector_fields(struct client *c, const struct acl_selector *s)
{
    struct sbuf b = {NULL, 0, 0};
    reply_bulk_cstr(c, "commands");
    acl_describe_commands(s, &b);
    reply_bulk(c, b.p, b.len);
    b.len = 0;
    reply_bulk_cstr(c, "keys");
    acl_describe_keys(s, &b);
    acl_sb_trim_space(&b);
    reply_bulk(c, b.p ? b.p : "", b.len);
    b.len = 0;
    reply_bulk_cstr(c, "channels");
    acl_describe_channels(s, &b);
    acl_sb_trim_space(&b);
    reply_bulk(c, b.p ? b.p : "", b.len);
    mem_free(b.p);
}

void
cmd_acl_getuser(struct client *c)
{
    struct acl_user *u = acl_state_find(acl_state_of(c->srv), c->argv[2].ptr, c->argv[2].len, NULL);
    if (u == NULL) {
        reply_null(c);
        return;
    }
    reply_map_len(c, 6);
    reply_bulk_cstr(c, "flags");
    reply_set_len(c, 1 + u->nopass + (u->sanitize != 0));
    reply_bulk_cstr(c, u->on ? "on" : "off");
    if (u->nopass) {
        reply_bulk_cstr(c, "nopass");
    }
    if (u->sanitize) {
        reply_bulk_cstr(c, u->sanitize == 2 ? "skip-sanitize-payload" : "sanitize-payload");
    }
    reply_bulk_cstr(c, "passwords");
    reply_array_len(c, (long long)u->npass);
    for (size_t i = 0; i < u->npass; i++) {
        reply_bulk(c, u->pass[i], 64);
    }
    reply_selector_fields(c, &u->root);
    reply_bulk_cstr(c, "selectors");
    reply_array_len(c, (long long)u->nsels);
    for (size_t i = 0; i < u->nsels; i++) {
        reply_map_len(c, 3);
        reply_selector_fields(c, &u->sels[i]);
    }
}

void
cmd_acl_deluser(struct client *c)
{
    struct acl_state *st = acl_state_of(c->srv);
    long long deleted = 0;
    for (size_t i = 2; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "default") && !memcmp(c->argv[i].ptr, "default", 7)) {
            reply_error(c, "The 'default' user cannot be removed");
            return;
        }
    }
    for (size_t i = 2; i < c->argc; i++) {
        size_t pos;
        struct acl_user *u = acl_state_find(st, c->argv[i].ptr, c->argv[i].len, &pos);
        if (u == NULL) {
            continue;
        }
        acl_kill_clients_of(c->srv, u, c);
        acl_state_delete_user(st, pos);
        deleted++;
    }
    reply_int(c, deleted);
}

void
cmd_acl_list(struct client *c)
{
    struct acl_state *st = acl_state_of(c->srv);
    reply_array_len(c, (long long)st->nusers);
    for (size_t i = 0; i < st->nusers; i++) {
        struct sbuf b = {NULL, 0, 0};
        acl_sb_cat(&b, "user ");
        acl_describe_user(st->users[i], &b);
        reply_bulk(c, b.p, b.len);
        mem_free(b.p);
    }
}

void
cmd_acl_users(struct client *c)
{
    struct acl_state *st = acl_state_of(c->srv);
    reply_array_len(c, (long long)st->nusers);
    for (size_t i = 0; i < st->nusers; i++) {
        reply_bulk_cstr(c, st->users[i]->name);
    }
}

void
cmd_acl_whoami(struct client *c)
{
    reply_bulk_cstr(c, acl_user_name(c->user));
}

void
cmd_acl_cat(struct client *c)
{
    if (c->argc == 2) {
        reply_array_len(c, ACL_CAT_BIT__COUNT);
        for (int i = 0; i < ACL_CAT_BIT__COUNT; i++) {
            reply_bulk_cstr(c, acl_category_name(i));
        }
        return;
    }
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    int cat = acl_category_by_name(c->argv[2].ptr, c->argv[2].len);
    if (cat < 0) {
        reply_errorf(c, "Unknown category '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    long long n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            reply_array_len(c, n);
        }
        for (size_t i = 0; i < command_count(); i++) {
            const struct command *cmd = command_at(i);
            if (!handlers_implements(cmd)) {
                continue;
            }
            if (acl_command_categories(cmd) & (1u << cat)) {
                if (pass == 0) {
                    n++;
                } else {
                    reply_bulk_cstr(c, cmd->fullname);
                }
            }
            for (size_t k = 0; k < cmd->nsubs; k++) {
                const struct command *sub = cmd->subs[k];
                if (handlers_get(sub->id) != NULL
                    && (acl_command_categories(sub) & (1u << cat))) {
                    if (pass == 0) {
                        n++;
                    } else {
                        reply_bulk_cstr(c, sub->fullname);
                    }
                }
            }
        }
    }
}

static const char *const acl_reason_names[] = {"", "command", "key", "auth", "channel"};
static const char *const acl_context_names[] = {"toplevel", "multi", "lua", "multi"};

void
cmd_acl_log(struct client *c)
{
    struct acl_state *st = acl_state_of(c->srv);
    long long count = 10, now = util_mstime();
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(&c->argv[2], "reset")) {
            for (size_t i = 0; i < st->nlog; i++) {
                acl_log_entry_free(&st->log[i]);
            }
            st->nlog = 0;
            reply_ok(c);
            return;
        }
        if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) != 0) {
            reply_error(c, "value is not an integer or out of range");
            return;
        }
        if (count < 0) {
            count = 0;
        }
    }
    size_t n = (size_t)count < st->nlog ? (size_t)count : st->nlog;
    reply_array_len(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct acl_log_entry *e = &st->log[i];
        reply_map_len(c, 7);
        reply_bulk_cstr(c, "count");
        reply_int(c, e->count);
        reply_bulk_cstr(c, "reason");
        reply_bulk_cstr(c, acl_reason_names[e->reason]);
        reply_bulk_cstr(c, "context");
        reply_bulk_cstr(c, acl_context_names[e->context]);
        reply_bulk_cstr(c, "object");
        reply_bulk(c, e->object, e->objlen);
        reply_bulk_cstr(c, "username");
        reply_bulk_cstr(c, e->username);
        reply_bulk_cstr(c, "age-seconds");
        reply_double(c, (double)(now - e->ctime_ms) / 1000.0);
        reply_bulk_cstr(c, "client-info");
        reply_bulk_cstr(c, e->client_info);
    }
}

static const char acl_no_file[] =
    "This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
    "a Redis configuration file set) in order to store users in the Redis configuration.";

void
cmd_acl_save(struct client *c)
{
    char err[512];
    const char *path = c->srv->cfg.aclfile;
    if (path == NULL || path[0] == '\0') {
        reply_error(c, acl_no_file);
        return;
    }
    if (acl_state_save_file(acl_state_of(c->srv), path, err, sizeof(err)) != 0) {
        reply_error(c, err);
        return;
    }
    reply_ok(c);
}

void
cmd_acl_load(struct client *c)
{
    char err[4096];
    const char *path = c->srv->cfg.aclfile;
    if (path == NULL || path[0] == '\0') {
        reply_error(c, acl_no_file);
        return;
    }
    struct acl_state *fresh = acl_read_file(path, err, sizeof(err));
    if (fresh == NULL) {
        reply_error(c, err);
        return;
    }
    acl_replace_users(c->srv, fresh, c);
    struct acl_state *st = acl_state_of(c->srv);
    for (size_t i = 0; i < st->nusers; i++) {
        acl_kill_pubsub_clients(c->srv, st->users[i], c);
    }
    log_info("ACL users reloaded from %s", path);
    reply_ok(c);
}

void
cmd_acl_dryrun(struct client *c)
{
    struct acl_user *u = acl_state_find(acl_state_of(c->srv), c->argv[2].ptr, c->argv[2].len, NULL);
    const struct command *cmd;
    size_t pos;
    if (u == NULL) {
        reply_errorf(c, "User '%.*s' not found", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    cmd = command_lookup(c->argv[3].ptr, c->argv[3].len);
    if (cmd != NULL && !handlers_implements(cmd)) {
        cmd = NULL;
    }
    if (cmd != NULL && cmd->nsubs > 0 && c->argc >= 5) {
        const struct command *sub = command_lookup_sub(cmd, c->argv[4].ptr, c->argv[4].len);
        cmd = sub;
    }
    if (cmd == NULL) {
        reply_errorf(c, "Command '%.*s' not found", (int)c->argv[3].len, c->argv[3].ptr);
        return;
    }
    if (!command_arity_ok(cmd, c->argc - 3)) {
        reply_errorf(c, "wrong number of arguments for '%s' command", cmd->fullname);
        return;
    }
    int r = acl_check(u, cmd, c->argc - 3, c->argv + 3, &pos);
    if (r == ACL_OK) {
        reply_ok(c);
        return;
    }
    char msg[512];
    if (r == ACL_DENIED_CMD) {
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
                 cmd->fullname);
    } else {
        const struct resp_arg *a = &c->argv[3 + pos];
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' %s",
                 (int)(a->len > 256 ? 256 : a->len), a->ptr,
                 r == ACL_DENIED_KEY ? "key" : "channel");
    }
    reply_bulk_cstr(c, msg);
}

void
cmd_acl_genpass(struct client *c)
{
    if (c->argc > 3) {
        reply_acl_arity(c);
        return;
    }
    char out[1025];
    size_t len;
    const char *err;
    if (acl_genpass(c->argc == 3 ? &c->argv[2] : NULL, out, &len, &err) != 0) {
        reply_error(c, err);
        return;
    }
    reply_bulk(c, out, len);
}

void
cmd_acl_help(struct client *c)
{
    reply_help(c, "ACL", acl_help_lines);
}
