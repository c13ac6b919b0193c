/* The ACL command's replies (core/acl_reply.h), once for the node and the
 * proxy, as Redis 7.0 writes them: GETUSER's map, LOG's entries, DRYRUN's
 * verdict, CAT, LIST, USERS, and the user changes SETUSER, DELUSER and LOAD
 * make. */
#include "core/acl_reply.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

void
acl_reply_setuser(struct resp_writer *w, struct acl_state *st, size_t argc,
                  const struct resp_arg *argv, const struct acl_reply_hooks *h)
{
    char err[4096]; /* each binary's sink cuts the line at its own limit */
    const struct resp_arg *name = &argv[2];
    if (acl_has_space(name->ptr, name->len)) {
        resp_writer_error(w, "Usernames can't contain spaces or null characters");
        return;
    }
    if (acl_setuser(st, name->ptr, name->len, argv + 3, argc - 3, err, sizeof(err)) != 0) {
        resp_writer_error(w, err);
        return;
    }
    h->narrowed(h->arg, acl_state_find(st, name->ptr, name->len, NULL));
    resp_writer_ok(w);
}

/* A selector's three fields of GETUSER: commands, keys, channels. */
static void
selector_fields(struct resp_writer *w, const struct acl_selector *sel)
{
    struct rbuf t = {NULL, 0, 0};
    resp_writer_bulk_cstr(w, "commands");
    acl_describe_commands(sel, &t);
    resp_writer_bulk(w, t.p ? t.p : "", t.len);
    t.len = 0;
    resp_writer_bulk_cstr(w, "keys");
    acl_describe_keys(sel, &t);
    acl_sb_trim_space(&t);
    resp_writer_bulk(w, t.p ? t.p : "", t.len);
    t.len = 0;
    resp_writer_bulk_cstr(w, "channels");
    acl_describe_channels(sel, &t);
    acl_sb_trim_space(&t);
    resp_writer_bulk(w, t.p ? t.p : "", t.len);
    mem_free(t.p);
}

void
acl_reply_getuser(struct resp_writer *w, struct acl_state *st, const struct resp_arg *name)
{
    struct acl_user *u = acl_state_find(st, name->ptr, name->len, NULL);
    if (u == NULL) {
        resp_writer_null(w);
        return;
    }
    resp_writer_map(w, 6);
    resp_writer_bulk_cstr(w, "flags");
    resp_writer_set(w, 1 + u->nopass + (u->sanitize != 0));
    resp_writer_bulk_cstr(w, u->on ? "on" : "off");
    if (u->nopass) {
        resp_writer_bulk_cstr(w, "nopass");
    }
    if (u->sanitize) {
        resp_writer_bulk_cstr(w, u->sanitize == 2 ? "skip-sanitize-payload"
                                                  : "sanitize-payload");
    }
    resp_writer_bulk_cstr(w, "passwords");
    resp_writer_array(w, (long long)u->npass);
    for (size_t i = 0; i < u->npass; i++) {
        resp_writer_bulk(w, u->pass[i], 64);
    }
    selector_fields(w, &u->root);
    resp_writer_bulk_cstr(w, "selectors");
    resp_writer_array(w, (long long)u->nsels);
    for (size_t i = 0; i < u->nsels; i++) {
        resp_writer_map(w, 3);
        selector_fields(w, &u->sels[i]);
    }
}

void
acl_reply_deluser(struct resp_writer *w, struct acl_state *st, size_t argc,
                  const struct resp_arg *argv, const struct acl_reply_hooks *h)
{
    long long deleted = 0;
    for (size_t i = 2; i < argc; i++) {
        if (argv[i].len == 7 && memcmp(argv[i].ptr, "default", 7) == 0) {
            resp_writer_error(w, "The 'default' user cannot be removed");
            return;
        }
    }
    for (size_t i = 2; i < argc; i++) {
        size_t pos;
        struct acl_user *u = acl_state_find(st, argv[i].ptr, argv[i].len, &pos);
        if (u == NULL) {
            continue;
        }
        h->gone(h->arg, u);
        acl_state_delete_user(st, pos);
        deleted++;
    }
    resp_writer_int(w, deleted);
}

void
acl_reply_list(struct resp_writer *w, struct acl_state *st)
{
    resp_writer_array(w, (long long)st->nusers);
    for (size_t i = 0; i < st->nusers; i++) {
        struct rbuf t = {NULL, 0, 0};
        acl_sb_cat(&t, "user ");
        acl_describe_user(st->users[i], &t);
        resp_writer_bulk(w, t.p, t.len);
        mem_free(t.p);
    }
}

void
acl_reply_users(struct resp_writer *w, struct acl_state *st)
{
    resp_writer_array(w, (long long)st->nusers);
    for (size_t i = 0; i < st->nusers; i++) {
        resp_writer_bulk_cstr(w, st->users[i]->name);
    }
}

/* Counts the commands of category cat (w NULL), or writes their names. */
static long long
cat_commands(struct resp_writer *w, int cat, acl_reply_known_fn known)
{
    long long n = 0;
    for (size_t i = 0; i < command_count(); i++) {
        const struct command *cmd = command_at(i);
        if (known != NULL && !known(cmd)) {
            continue;
        }
        if (acl_command_categories(cmd) & (1u << cat)) {
            if (w != NULL) {
                resp_writer_bulk_cstr(w, cmd->fullname);
            }
            n++;
        }
        for (size_t k = 0; k < cmd->nsubs; k++) {
            const struct command *sub = cmd->subs[k];
            if ((known == NULL || known(sub)) && (acl_command_categories(sub) & (1u << cat))) {
                if (w != NULL) {
                    resp_writer_bulk_cstr(w, sub->fullname);
                }
                n++;
            }
        }
    }
    return n;
}

void
acl_reply_cat(struct resp_writer *w, size_t argc, const struct resp_arg *argv,
              acl_reply_known_fn known)
{
    if (argc == 2) {
        resp_writer_array(w, ACL_CAT_BIT__COUNT);
        for (int i = 0; i < ACL_CAT_BIT__COUNT; i++) {
            resp_writer_bulk_cstr(w, acl_category_name(i));
        }
        return;
    }
    int cat = acl_category_by_name(argv[2].ptr, argv[2].len);
    if (cat < 0) {
        resp_writer_errorf(w, "Unknown category '%.*s'", (int)argv[2].len, argv[2].ptr);
        return;
    }
    /* Two walks of the table, counting then writing: no list to build. */
    resp_writer_array(w, cat_commands(NULL, cat, known));
    cat_commands(w, cat, known);
}

static const char *const acl_reason_names[] = {"", "command", "key", "auth", "channel"};
static const char *const acl_context_names[] = {"toplevel", "multi", "lua", "multi"};

void
acl_reply_log(struct resp_writer *w, struct acl_state *st, size_t argc,
              const struct resp_arg *argv)
{
    long long count = 10, now = util_mstime();
    if (argc == 3) {
        if (arg_is(&argv[2], "reset")) {
            for (size_t i = 0; i < st->nlog; i++) {
                acl_log_entry_free(&st->log[i]);
            }
            st->nlog = 0;
            resp_writer_ok(w);
            return;
        }
        if (util_str2ll(argv[2].ptr, argv[2].len, &count) != 0) {
            resp_writer_error(w, "value is not an integer or out of range");
            return;
        }
        if (count < 0) {
            count = 0;
        }
    }
    size_t n = (size_t)count < st->nlog ? (size_t)count : st->nlog;
    resp_writer_array(w, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct acl_log_entry *e = &st->log[i];
        resp_writer_map(w, 7);
        resp_writer_bulk_cstr(w, "count");
        resp_writer_int(w, e->count);
        resp_writer_bulk_cstr(w, "reason");
        resp_writer_bulk_cstr(w, acl_reason_names[e->reason]);
        resp_writer_bulk_cstr(w, "context");
        resp_writer_bulk_cstr(w, acl_context_names[e->context]);
        resp_writer_bulk_cstr(w, "object");
        resp_writer_bulk(w, e->object, e->objlen);
        resp_writer_bulk_cstr(w, "username");
        resp_writer_bulk_cstr(w, e->username);
        resp_writer_bulk_cstr(w, "age-seconds");
        resp_writer_double(w, (double)(now - e->ctime_ms) / 1000.0);
        resp_writer_bulk_cstr(w, "client-info");
        resp_writer_bulk_cstr(w, e->client_info);
    }
}

static const char acl_no_file[] =
    "This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
    "a Redis configuration file set) in order to store users in the Redis configuration.";

void
acl_reply_save(struct resp_writer *w, struct acl_state *st, const char *path)
{
    char err[4096];
    if (path == NULL || path[0] == '\0') {
        resp_writer_error(w, acl_no_file);
        return;
    }
    if (acl_state_save_file(st, path, err, sizeof(err)) != 0) {
        resp_writer_error(w, err);
        return;
    }
    resp_writer_ok(w);
}

void
acl_reply_load(struct resp_writer *w, struct acl_state *st, const char *path,
               const struct acl_reply_hooks *h)
{
    char err[4096];
    if (path == NULL || path[0] == '\0') {
        resp_writer_error(w, acl_no_file);
        return;
    }
    struct acl_state *fresh = acl_read_file(path, err, sizeof(err));
    if (fresh == NULL) {
        resp_writer_error(w, err);
        return;
    }
    acl_state_replace_users(st, fresh, h->gone, h->arg);
    for (size_t i = 0; i < st->nusers; i++) {
        h->narrowed(h->arg, st->users[i]);
    }
    log_info("ACL users reloaded from %s", path);
    resp_writer_ok(w);
}

void
acl_reply_dryrun(struct resp_writer *w, struct acl_state *st, size_t argc,
                 const struct resp_arg *argv, acl_reply_known_fn known)
{
    struct acl_user *u = acl_state_find(st, argv[2].ptr, argv[2].len, NULL);
    const struct command *cmd;
    size_t pos;
    if (u == NULL) {
        resp_writer_errorf(w, "User '%.*s' not found", (int)argv[2].len, argv[2].ptr);
        return;
    }
    cmd = command_lookup(argv[3].ptr, argv[3].len);
    if (cmd != NULL && known != NULL && !known(cmd)) {
        cmd = NULL;
    }
    if (cmd != NULL && cmd->nsubs > 0 && argc >= 5) {
        cmd = command_lookup_sub(cmd, argv[4].ptr, argv[4].len);
    }
    if (cmd == NULL) {
        resp_writer_errorf(w, "Command '%.*s' not found", (int)argv[3].len, argv[3].ptr);
        return;
    }
    if (!command_arity_ok(cmd, argc - 3)) {
        resp_writer_errorf(w, "wrong number of arguments for '%s' command", cmd->fullname);
        return;
    }
    int r = acl_check(u, cmd, argc - 3, argv + 3, &pos);
    if (r == ACL_OK) {
        resp_writer_ok(w);
        return;
    }
    /* A denial is the answer, not an error: a bulk string saying why. */
    char msg[512];
    if (r == ACL_DENIED_CMD) {
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
                 cmd->fullname);
    } else {
        const struct resp_arg *a = &argv[3 + pos];
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' %s",
                 (int)(a->len > 256 ? 256 : a->len), a->ptr,
                 r == ACL_DENIED_KEY ? "key" : "channel");
    }
    resp_writer_bulk_cstr(w, msg);
}

void
acl_reply_genpass(struct resp_writer *w, size_t argc, const struct resp_arg *argv)
{
    char out[1025];
    size_t len;
    const char *err;
    if (acl_genpass(argc == 3 ? &argv[2] : NULL, out, &len, &err) != 0) {
        resp_writer_error(w, err);
        return;
    }
    resp_writer_bulk(w, out, len);
}

void
acl_reply_help(struct resp_writer *w)
{
    resp_writer_help(w, "ACL", acl_help_lines);
}
