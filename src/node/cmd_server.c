/* Server commands: COMMAND (introspection of the command table), TIME, ROLE,
 * INFO, CONFIG, SLOWLOG and SHUTDOWN (DEBUG is in cmd_debug.c).  Everything COMMAND prints is
 * read from the table in core/command.h and everything CONFIG touches from
 * the option table, so neither needs editing when a command or option is
 * added. */
#include "config.h"
#include "node/acl.h"
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/keyspec.h"
#include "core/log.h"
#include "core/option.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/info.h"
#include "node/persist.h"
#include "node/server.h"
#include "node/snapshot.h"
#include "node/slowlog.h"

#include <errno.h>
#include <math.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static int
arg_is(const struct client *c, size_t i, const char *word)
{
    return c->argv[i].len == strlen(word)
           && strncasecmp(c->argv[i].ptr, word, c->argv[i].len) == 0;
}

/* Arguments are not NUL-terminated; the option module wants C strings. */
static char *
arg_dup(const struct client *c, size_t i)
{
    return mem_strndup(c->argv[i].ptr, c->argv[i].len);
}

static int
arg_ll(const struct client *c, size_t i, long long *out)
{
    return util_str2ll(c->argv[i].ptr, c->argv[i].len, out);
}

/* ==== COMMAND ============================================================ */

/* COMMAND describes what this node implements: the shared table also holds
 * rows only the proxy answers (see handlers_implements), left out here. */
static int
listed(const struct command *cmd)
{
    return cmd->parent == CMD_ID_NONE ? handlers_implements(cmd)
                                      : handlers_get(cmd->id) != NULL;
}

static size_t
listed_subs(const struct command *cmd)
{
    size_t n = 0;
    for (size_t i = 0; i < cmd->nsubs; i++) {
        n += (size_t)listed(cmd->subs[i]);
    }
    return n;
}

static size_t
listed_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < command_count(); i++) {
        n += (size_t)listed(command_at(i));
    }
    return n;
}

/* ACL categories come from acl.c (derived from flags and group, with
 * Redis's exceptions); ACL_MAX_CATS bounds one command's list. */
#define ACL_MAX_CATS ACL_CAT_BIT__COUNT

static size_t
command_acl_categories(const struct command *cmd, const char **out)
{
    uint32_t cats = acl_command_categories(cmd);
    size_t n = 0;
    for (int i = 0; i < ACL_CAT_BIT__COUNT; i++) {
        if (cats & (1u << i)) {
            out[n++] = acl_category_name(i);
        }
    }
    return n;
}

static int
command_in_category(const struct command *cmd, const char *cat, size_t len)
{
    const char *cats[ACL_MAX_CATS];
    size_t n = command_acl_categories(cmd, cats);
    for (size_t i = 0; i < n; i++) {
        if (strlen(cats[i]) == len && strncasecmp(cats[i], cat, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* COMMAND INFO's key specs, as Redis 7.0 prints them (core/keyspec.h:
 * Redis's own specs where it has the command, else one range spec from
 * first/last/step), so that clients that route by key specs find the keys
 * redis-server would give them. */
static void
reply_key_specs(struct client *c, const struct command *cmd)
{
    const struct keyspec *specs;
    struct keyspec derived;
    int n = keyspec_specs(cmd, &specs, &derived);

    reply_set_len(c, n);
    for (int i = 0; i < n; i++) {
        const struct keyspec *sp = &specs[i];
        int nflags = 0;
        reply_map_len(c, sp->notes != NULL ? 4 : 3);
        if (sp->notes != NULL) {
            reply_bulk_cstr(c, "notes");
            reply_bulk_cstr(c, sp->notes);
        }
        reply_bulk_cstr(c, "flags");
        for (int bit = 0; bit < KSF_BIT__COUNT; bit++) {
            nflags += (sp->flags >> bit) & 1;
        }
        reply_set_len(c, nflags);
        for (int bit = 0; bit < KSF_BIT__COUNT; bit++) {
            if (sp->flags & (1u << bit)) {
                reply_status(c, keyspec_flag_name(bit));
            }
        }
        reply_bulk_cstr(c, "begin_search");
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "type");
        if (sp->begin == KS_BS_INDEX) {
            reply_bulk_cstr(c, "index");
            reply_bulk_cstr(c, "spec");
            reply_map_len(c, 1);
            reply_bulk_cstr(c, "index");
            reply_int(c, sp->at);
        } else if (sp->begin == KS_BS_KEYWORD) {
            reply_bulk_cstr(c, "keyword");
            reply_bulk_cstr(c, "spec");
            reply_map_len(c, 2);
            reply_bulk_cstr(c, "keyword");
            reply_bulk_cstr(c, sp->keyword);
            reply_bulk_cstr(c, "startfrom");
            reply_int(c, sp->at);
        } else {
            reply_bulk_cstr(c, "unknown");
            reply_bulk_cstr(c, "spec");
            reply_map_len(c, 0);
        }
        reply_bulk_cstr(c, "find_keys");
        reply_map_len(c, 2);
        reply_bulk_cstr(c, "type");
        if (sp->find == KS_FK_UNKNOWN) {
            reply_bulk_cstr(c, "unknown");
            reply_bulk_cstr(c, "spec");
            reply_map_len(c, 0);
            continue;
        }
        int range = sp->find == KS_FK_RANGE;
        reply_bulk_cstr(c, range ? "range" : "keynum");
        reply_bulk_cstr(c, "spec");
        reply_map_len(c, 3);
        reply_bulk_cstr(c, range ? "lastkey" : "keynumidx");
        reply_int(c, sp->a);
        reply_bulk_cstr(c, range ? "keystep" : "firstkey");
        reply_int(c, sp->b);
        reply_bulk_cstr(c, range ? "limit" : "keystep");
        reply_int(c, sp->c);
    }
}

/* The ten-element COMMAND INFO entry of Redis 7.0. */
static void
reply_command_entry(struct client *c, const struct command *cmd)
{
    const char *cats[ACL_MAX_CATS];
    size_t ncats = command_acl_categories(cmd, cats);
    uint32_t shown = cmd->flags & ~(uint32_t)CMD_FLAGS_HIDDEN;
    int nflags = 0;

    reply_array_len(c, 10);
    reply_bulk_cstr(c, cmd->fullname);
    reply_int(c, cmd->arity);
    for (int bit = 0; bit < CMD_FLAG_BIT__COUNT; bit++) {
        nflags += (shown >> bit) & 1;
    }
    reply_set_len(c, nflags);
    for (int bit = 0; bit < CMD_FLAG_BIT__COUNT; bit++) {
        if (shown & (1u << bit)) {
            reply_status(c, command_flag_name(bit));
        }
    }
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    reply_set_len(c, (long long)ncats);
    for (size_t i = 0; i < ncats; i++) {
        char cat[32];
        snprintf(cat, sizeof(cat), "@%s", cats[i]);
        reply_status(c, cat);
    }
    size_t ntips;
    const char *const *tips = keyspec_tips(cmd, &ntips);
    reply_set_len(c, (long long)ntips);
    for (size_t i = 0; i < ntips; i++) {
        reply_bulk_cstr(c, tips[i]);
    }
    reply_key_specs(c, cmd);
    if (cmd->nsubs == 0) {
        reply_set_len(c, 0);
    } else {
        reply_array_len(c, (long long)listed_subs(cmd));
        for (size_t i = 0; i < cmd->nsubs; i++) {
            if (listed(cmd->subs[i])) {
                reply_command_entry(c, cmd->subs[i]);
            }
        }
    }
}

/* "get", "CONFIG", or a full subcommand name "config|get". */
static const struct command *
lookup_fullname(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    const struct command *cmd;
    if (bar == NULL) {
        cmd = command_lookup(name, len);
    } else {
        cmd = command_lookup(name, (size_t)(bar - name));
        if (cmd != NULL) {
            cmd = command_lookup_sub(cmd, bar + 1, len - (size_t)(bar - name) - 1);
        }
    }
    return cmd != NULL && listed(cmd) ? cmd : NULL;
}

static void
reply_all_command_entries(struct client *c)
{
    reply_array_len(c, (long long)listed_count());
    for (size_t i = 0; i < command_count(); i++) {
        if (listed(command_at(i))) {
            reply_command_entry(c, command_at(i));
        }
    }
}

void
cmd_command(struct client *c)
{
    reply_all_command_entries(c);
}

void
cmd_command_count(struct client *c)
{
    reply_int(c, (long long)listed_count());
}

void
cmd_command_info(struct client *c)
{
    if (c->argc == 2) {
        reply_all_command_entries(c);
        return;
    }
    reply_array_len(c, (long long)c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        const struct command *cmd = lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (cmd == NULL) {
            reply_null(c);
        } else {
            reply_command_entry(c, cmd);
        }
    }
}

/* Docs as Redis 7.0 shapes them, without complexity and arguments, which
 * the table does not hold (both are optional in Redis's reply too). */
static void
reply_command_docs(struct client *c, const struct command *cmd)
{
    reply_map_len(c, cmd->nsubs > 0 ? 4 : 3);
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, cmd->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, cmd->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, cmd->group);
    if (cmd->nsubs > 0) {
        reply_bulk_cstr(c, "subcommands");
        reply_map_len(c, (long long)listed_subs(cmd));
        for (size_t i = 0; i < cmd->nsubs; i++) {
            if (listed(cmd->subs[i])) {
                reply_bulk_cstr(c, cmd->subs[i]->fullname);
                reply_command_docs(c, cmd->subs[i]);
            }
        }
    }
}

void
cmd_command_docs(struct client *c)
{
    if (c->argc == 2) {
        reply_map_len(c, (long long)listed_count());
        for (size_t i = 0; i < command_count(); i++) {
            if (listed(command_at(i))) {
                reply_bulk_cstr(c, command_at(i)->fullname);
                reply_command_docs(c, command_at(i));
            }
        }
        return;
    }
    /* Unknown names are left out, so count the known ones first. */
    long long found = 0;
    for (size_t i = 2; i < c->argc; i++) {
        found += lookup_fullname(c->argv[i].ptr, c->argv[i].len) != NULL;
    }
    reply_map_len(c, found);
    for (size_t i = 2; i < c->argc; i++) {
        const struct command *cmd = lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (cmd != NULL) {
            reply_bulk_cstr(c, cmd->fullname);
            reply_command_docs(c, cmd);
        }
    }
}

enum list_filter { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };

static int
list_match(const struct command *cmd, enum list_filter f, const char *arg,
           size_t len)
{
    switch (f) {
    case LIST_ALL:
        return 1;
    case LIST_MODULE:
        return 0; /* no modules */
    case LIST_ACLCAT:
        return command_in_category(cmd, arg, len);
    case LIST_PATTERN:
        return util_glob_match(arg, len, cmd->fullname, strlen(cmd->fullname), 1);
    }
    return 0;
}

void
cmd_command_list(struct client *c)
{
    enum list_filter f = LIST_ALL;
    const char *arg = NULL;
    size_t arglen = 0;
    long long n = 0;

    if (c->argc == 5 && arg_is(c, 2, "filterby")) {
        if (arg_is(c, 3, "module")) {
            f = LIST_MODULE;
        } else if (arg_is(c, 3, "aclcat")) {
            f = LIST_ACLCAT;
        } else if (arg_is(c, 3, "pattern")) {
            f = LIST_PATTERN;
        } else {
            reply_syntax_error(c);
            return;
        }
        arg = c->argv[4].ptr;
        arglen = c->argv[4].len;
    } else if (c->argc != 2) {
        reply_syntax_error(c);
        return;
    }
    /* Two passes, the first counting, so the array length comes first. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            reply_array_len(c, n);
        }
        for (size_t i = 0; i < command_count(); i++) {
            const struct command *cmd = command_at(i);
            for (size_t s = 0; s <= cmd->nsubs; s++) {
                const struct command *x = s == 0 ? cmd : cmd->subs[s - 1];
                if (!listed(x) || !list_match(x, f, arg, arglen)) {
                    continue;
                }
                if (pass == 0) {
                    n++;
                } else {
                    reply_bulk_cstr(c, x->fullname);
                }
            }
        }
    }
}

/* COMMAND GETKEYS and GETKEYSANDFLAGS, as Redis 7.0 answers both: the
 * command (a container's subcommand when a word follows it), whether it
 * has keys at all, then its arity, then the key specs' search
 * (core/keyspec.c). */
static void
command_getkeys_reply(struct client *c, int with_flags)
{
    const struct command *cmd = command_lookup(c->argv[2].ptr, c->argv[2].len);
    size_t argc = c->argc - 2;
    struct keyspec_key *keys;
    size_t n;

    /* A container with a subcommand word resolves to the subcommand; a
     * container alone is judged by its own arity, as Redis does. */
    if (cmd != NULL && cmd->nsubs > 0 && argc >= 2) {
        cmd = command_lookup_sub(cmd, c->argv[3].ptr, c->argv[3].len);
    }
    if (cmd == NULL || !listed(cmd)) {
        reply_error(c, "Invalid command specified");
        return;
    }
    if (!keyspec_has_keys(cmd)) {
        reply_error(c, "The command has no key arguments");
        return;
    }
    if (!command_arity_ok(cmd, argc)) {
        reply_error(c, "Invalid number of arguments specified for command");
        return;
    }
    keys = mem_alloc((argc + 1) * sizeof(*keys));
    n = keyspec_find(cmd, argc, c->argv + 2, keys);
    if (n == 0 && !(cmd->flags & CMD_NO_MANDATORY_KEYS)) {
        reply_error(c, "Invalid arguments specified for command");
    } else {
        reply_array_len(c, (long long)n);
        for (size_t i = 0; i < n; i++) {
            const struct resp_arg *a = &c->argv[2 + keys[i].pos];
            if (!with_flags) {
                reply_bulk(c, a->ptr, a->len);
                continue;
            }
            int nflags = 0;
            reply_array_len(c, 2);
            reply_bulk(c, a->ptr, a->len);
            for (int bit = 0; bit < KSF_BIT__COUNT; bit++) {
                nflags += (keys[i].flags >> bit) & 1;
            }
            reply_set_len(c, nflags);
            for (int bit = 0; bit < KSF_BIT__COUNT; bit++) {
                if (keys[i].flags & (1u << bit)) {
                    reply_status(c, keyspec_flag_name(bit));
                }
            }
        }
    }
    mem_free(keys);
}

void
cmd_command_getkeys(struct client *c)
{
    command_getkeys_reply(c, 0);
}

void
cmd_command_getkeysandflags(struct client *c)
{
    command_getkeys_reply(c, 1);
}

void
cmd_command_help(struct client *c)
{
    static const char *const lines[] = {
        "(no subcommand)",
        "    Describe every command: name, arity, flags, key positions, ACL",
        "    categories, key specs and subcommands.",
        "COUNT",
        "    The number of top-level commands.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Names of the commands and subcommands, optionally filtered.",
        "INFO [<command-name> ...]",
        "    Describe the named commands, or every command when none is named.",
        "DOCS [<command-name> ...]",
        "    Summary, first version and group of the named commands, or of",
        "    every command when none is named.",
        "GETKEYS <full-command>",
        "    The key arguments of a complete command line.",
        "GETKEYSANDFLAGS <full-command>",
        "    The key arguments of a complete command line, each with the flags",
        "    of its key spec (RO, RW, OW, RM, access, update, insert, delete).",
        NULL,
    };
    reply_help(c, "COMMAND", lines);
}

/* ==== LOLWUT ============================================================= */

/* LOLWUT [VERSION v [width [height]]]: a landscape of rolling hills under
 * a sun, its skyline the sum of three waves, drawn in plain ASCII, and the
 * version line Redis ends with, naming Cachely.  Redis draws generative
 * art here; this drawing is our own.  VERSION takes any integer, as in
 * Redis; with 5 or 6 the next two numbers set the width and height. */
static void
lolwut_draw(struct rbuf *b, long long w, long long h)
{
    long long sun_x = w * 3 / 4, sun_y = h / 4;
    for (long long y = 0; y < h; y++) {
        for (long long x = 0; x < w; x++) {
            double t = (double)x / (double)w * 6.283185307179586;
            double ground = 0.55 + 0.18 * sin(2 * t) + 0.08 * sin(5 * t + 1.3)
                            + 0.04 * sin(11 * t + 0.4);
            long long top = (long long)(ground * (double)h);
            long long dx = (x - sun_x) / 2, dy = y - sun_y;
            char ch = ' ';
            if (y > top) {
                ch = (x + y) % 7 == 0 ? '\'' : (y - top) > h / 5 ? '#' : '=';
            } else if (y == top) {
                ch = '_';
            } else if (dx * dx + dy * dy <= (h / 8 + 1) * (h / 8 + 1)) {
                ch = 'O';
            } else if ((x * 7 + y * 13) % 53 == 0 && y < top - 2) {
                ch = '.';
            }
            rbuf_add(b, &ch, 1);
        }
        rbuf_add(b, "\n", 1);
    }
}

/* ---- MODULE: Cachely loads no modules ---------------------------------------
 * LIST answers none; LOAD, LOADEX and UNLOAD answer what a Redis 7.0 answers
 * for a module that does not load or is not there, after the same
 * enable-module-command check (their protected flag in Redis). */

static int
module_allowed(struct client *c)
{
    if (client_protected_allowed(c, c->srv->cfg.enable_module_command)) {
        return 1;
    }
    reply_error(c, "MODULE command not allowed. If the enable-module-command option is set "
                   "to \"local\", you can run it from a local connection, otherwise you need "
                   "to set this option in the configuration file, and then restart the server.");
    return 0;
}

void
cmd_module_list(struct client *c)
{
    reply_array_len(c, 0);
}

void
cmd_module_load(struct client *c)
{
    if (module_allowed(c)) {
        log_warn("MODULE %.*s %.*s refused: Cachely loads no modules",
                    (int)c->argv[1].len, c->argv[1].ptr,
                    (int)(c->argv[2].len > 256 ? 256 : c->argv[2].len), c->argv[2].ptr);
        reply_error(c, "Error loading the extension. Please check the server logs.");
    }
}

void
cmd_module_unload(struct client *c)
{
    if (module_allowed(c)) {
        reply_error(c, "Error unloading module: no such module with that name");
    }
}

void
cmd_module_help(struct client *c)
{
    static const char *const lines[] = {
        "LIST",
        "    The loaded modules: always none, Cachely loads no modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module: fails, Cachely loads no modules.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module with configurations: fails as LOAD does.",
        "UNLOAD <name>",
        "    Unload a module: there is none to unload.",
        NULL,
    };
    reply_help(c, "MODULE", lines);
}

void
cmd_lolwut(struct client *c)
{
    long long version = 0, w = 60, h = 14;
    struct rbuf b = {0};
    /* Redis reads the numbers after the version only for its drawings (5
     * and 6) and ignores them otherwise: so do we, for the errors' sake. */
    if (c->argc >= 3 && arg_is(c, 1, "version")) {
        int bad = arg_ll(c, 2, &version) != 0;
        int sized = !bad && (version == 5 || version == 6);
        if (bad || (sized && c->argc >= 4 && arg_ll(c, 3, &w) != 0)
            || (sized && c->argc >= 5 && arg_ll(c, 4, &h) != 0)) {
            reply_error(c, "value is not an integer or out of range");
            return;
        }
    }
    w = w < 1 ? 1 : w > 200 ? 200 : w;
    h = h < 1 ? 1 : h > 60 ? 60 : h;
    lolwut_draw(&b, w, h);
    rbuf_printf(&b, "\nRolling hills at dusk. Cachely ver. %s\n", PACKAGE_VERSION);
    reply_verbatim(c, b.p, b.len, "txt");
    rbuf_free(&b);
}

/* ==== TIME, ROLE, INFO =================================================== */

void
cmd_time(struct client *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array_len(c, 2);
    reply_bulk_ll(c, (long long)tv.tv_sec);
    reply_bulk_ll(c, (long long)tv.tv_usec);
}

void
cmd_info(struct client *c)
{
    int n = (int)c->argc - 1;
    const char **names = NULL;
    size_t *lens = NULL;
    size_t len;
    char *text;

    if (n > 0) {
        names = mem_alloc((size_t)n * sizeof(*names));
        lens = mem_alloc((size_t)n * sizeof(*lens));
        for (int i = 0; i < n; i++) {
            names[i] = c->argv[i + 1].ptr;
            lens[i] = c->argv[i + 1].len;
        }
    }
    text = info_render(c->srv, names, lens, n, &len);
    reply_verbatim(c, text, len, "txt");
    mem_free(text);
    mem_free(names);
    mem_free(lens);
}

/* ==== CONFIG ============================================================= */

/* CONFIG GET for one name of option d (its name or its alias): 0 when no
 * pattern matches it; else 1, and the name and value are replied when
 * emit is set. */
static int
config_get_one(struct client *c, const struct option_def *d, const char *name,
               int emit)
{
    const struct resp_arg *match = NULL;
    char val[4096];

    for (size_t i = 2; i < c->argc && match == NULL; i++) {
        if (util_glob_match(c->argv[i].ptr, c->argv[i].len, name, strlen(name), 1)) {
            match = &c->argv[i];
        }
    }
    if (d->flags & OPT_FILE_ONLY) {
        return 0;
    }
    if (match != NULL && (d->flags & OPT_EXACT_NAME)
        && (match->len != strlen(name) || strncasecmp(match->ptr, name, match->len) != 0)) {
        return 0;
    }
    if (match == NULL || !emit) {
        return match != NULL;
    }
    option_format(&c->srv->opts, d, val, sizeof(val));
    if ((d->flags & OPT_SENSITIVE) && val[0] != '\0' && strcmp(d->name, "masteruser") != 0) {
        /* A password is never shown (issue 15's safe defaults; Redis
         * would print it): a set one reads "(redacted)", an unset one "". */
        snprintf(val, sizeof(val), "(redacted)");
    }
    /* A plain name is echoed as the client spelled it, as Redis does
     * ("CONFIG GET HZ" answers "HZ"); a pattern's matches use the option's
     * own name. */
    if (memchr(match->ptr, '*', match->len) == NULL
        && memchr(match->ptr, '?', match->len) == NULL
        && memchr(match->ptr, '[', match->len) == NULL
        && memchr(match->ptr, '\\', match->len) == NULL) {
        reply_bulk(c, match->ptr, match->len);
    } else {
        reply_bulk_cstr(c, name);
    }
    reply_bulk_cstr(c, val);
    return 1;
}

/* Table order, each name once however many patterns match it.  An alias is
 * a name of its own, as in Redis 7: "CONFIG GET slaveof" answers slaveof,
 * and "*" lists both replicaof and slaveof. */
void
cmd_config_get(struct client *c)
{
    struct option_table *t = &c->srv->opts;
    long long n = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            reply_map_len(c, n);
        }
        for (const struct option_def *d = t->defs; d->name != NULL; d++) {
            const char *alias = option_alias(t, d);
            n += config_get_one(c, d, d->name, pass);
            if (alias != NULL) {
                n += config_get_one(c, d, alias, pass);
            }
        }
    }
}

/* CONFIG SET is all-or-nothing: every name is checked before anything
 * changes, and when one value is refused the ones already set get their old
 * values back (through option_set, so apply hooks see the restore too). */
void
cmd_config_set(struct client *c)
{
    struct server *srv = c->srv;
    struct option_table *t = &srv->opts;
    size_t npairs = (c->argc - 2) / 2;
    const struct option_def **defs = NULL;
    char **names = NULL, **values = NULL, **olds = NULL;
    size_t set = 0;
    int bulk_len_changed = 0;

    if ((c->argc - 2) % 2 != 0) {
        reply_syntax_error(c);
        return;
    }
    defs = mem_calloc(npairs * sizeof(*defs));
    names = mem_calloc(npairs * sizeof(*names));
    values = mem_calloc(npairs * sizeof(*values));
    olds = mem_calloc(npairs * sizeof(*olds));
    /* Hide every secret value from the slow log before any check can stop
     * the loop below, as Redis does: a refused CONFIG SET is logged too. */
    for (size_t i = 0; i < npairs; i++) {
        char *name = arg_dup(c, 2 + 2 * i);
        const struct option_def *d = option_find(t, name);
        if (d != NULL && (d->flags & OPT_SENSITIVE)) {
            client_redact_arg(c, 3 + 2 * i);
        }
        mem_free(name);
    }
    for (size_t i = 0; i < npairs; i++) {
        names[i] = arg_dup(c, 2 + 2 * i);
        values[i] = arg_dup(c, 3 + 2 * i);
        defs[i] = option_find(t, names[i]);
        if (defs[i] == NULL) {
            reply_errorf(c, "Unknown option or number of arguments for CONFIG SET - '%s'",
                         names[i]);
            goto done;
        }
        if (!(defs[i]->flags & OPT_MUTABLE)) {
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - "
                         "can't set immutable config", names[i]);
            goto done;
        }
        /* Option values are C strings: a password with a NUL byte would
         * be cut there, and its first part alone would then authenticate
         * (Redis keeps requirepass and masterauth binary).  Refused. */
        if ((defs[i]->flags & OPT_SENSITIVE)
            && memchr(c->argv[3 + 2 * i].ptr, '\0', c->argv[3 + 2 * i].len) != NULL) {
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - "
                         "a password with a NUL byte is not supported by cachely-server",
                         names[i]);
            goto done;
        }
        if ((defs[i]->flags & OPT_PROTECTED)
            && !client_protected_allowed(c, srv->cfg.enable_protected_configs)) {
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - "
                         "can't set protected config", names[i]);
            goto done;
        }
        for (size_t k = 0; k < i; k++) {
            if (defs[k] == defs[i]) {
                reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - "
                             "duplicate parameter", names[i]);
                goto done;
            }
        }
    }
    for (size_t i = 0; i < npairs; i++) {
        char buf[4096];
        option_format(t, defs[i], buf, sizeof(buf));
        olds[i] = mem_strdup(buf);
    }
    for (set = 0; set < npairs; set++) {
        char err[512];
        /* Options sharing an apply hook (the tls-* files) are applied once,
         * by the last of them, as Redis does: a new certificate and its
         * key are only valid together. */
        int later = 0;
        for (size_t k = set + 1; k < npairs && defs[set]->apply != NULL; k++) {
            later |= defs[k]->apply == defs[set]->apply;
        }
        if ((later ? option_parse_only(t, defs[set], values[set], err, sizeof(err))
                   : option_set(t, defs[set], values[set], err, sizeof(err))) != 0) {
            char ignored[512];
            size_t failed = set;
            while (set-- > 0) {
                option_parse_only(t, defs[set], olds[set], ignored, sizeof(ignored));
            }
            for (size_t k = 0; k < failed; k++) {
                if (defs[k]->apply != NULL) {
                    option_set(t, defs[k], olds[k], ignored, sizeof(ignored));
                }
            }
            /* A shared hook's failure names the first of its options. */
            size_t named = failed;
            for (size_t k = 0; k < failed && defs[failed]->apply != NULL; k++) {
                if (defs[k]->apply == defs[failed]->apply) {
                    named = k;
                    break;
                }
            }
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%s') - %s",
                         names[named], err);
            goto done;
        }
    }
    for (size_t i = 0; i < npairs; i++) {
        if (!strcmp(defs[i]->name, "proto-max-bulk-len")) {
            bulk_len_changed = 1;
        }
        log_info("CONFIG SET %s %s", defs[i]->name,
                 (defs[i]->flags & OPT_SENSITIVE) ? "(redacted)" : values[i]);
    }
    /* Parsers copy the limit when a client connects; existing clients must
     * follow a change too, or a lowered limit would not protect anything. */
    if (bulk_len_changed) {
        for (struct client *k = srv->clients; k; k = k->next) {
            k->parser.max_bulk_len = (long long)srv->cfg.proto_max_bulk_len;
        }
    }
    reply_ok(c);
done:
    for (size_t i = 0; i < npairs; i++) {
        mem_free(names[i]);
        mem_free(values[i]);
        mem_free(olds[i]);
    }
    mem_free((void *)defs);
    mem_free(names);
    mem_free(values);
    mem_free(olds);
}

void
cmd_config_resetstat(struct client *c)
{
    info_reset_stats(c->srv);
    reply_ok(c);
}

void
cmd_config_rewrite(struct client *c)
{
    char err[512];
    if (option_rewrite(&c->srv->opts, err, sizeof(err)) != 0) {
        log_warn("CONFIG REWRITE failed: %s", err);
        reply_errorf(c, "%s", err);
        return;
    }
    log_info("CONFIG REWRITE executed with success.");
    reply_ok(c);
}

void
cmd_config_help(struct client *c)
{
    static const char *const lines[] = {
        "GET <pattern> [<pattern> ...]",
        "    Options whose names match any of the glob-style patterns, with",
        "    their current values.",
        "SET <option> <value> [<option> <value> ...]",
        "    Change options at run time: either every one changes or none does.",
        "RESETSTAT",
        "    Zero the statistics that INFO reports.",
        "REWRITE",
        "    Write the running configuration back into the config file.",
        NULL,
    };
    reply_help(c, "CONFIG", lines);
}

/* ==== SLOWLOG ============================================================ */

void
cmd_slowlog_get(struct client *c)
{
    struct server *srv = c->srv;
    long long count = 10, n = 0;

    if (c->argc > 3) {
        reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. "
                     "Try SLOWLOG HELP.", (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    if (c->argc == 3 && (arg_ll(c, 2, &count) != 0 || count < -1)) {
        reply_error(c, "count should be greater than or equal to -1");
        return;
    }
    if (count == -1 || count > srv->slowlog_len) {
        count = srv->slowlog_len;
    }
    reply_array_len(c, count);
    for (struct slowlog_entry *e = srv->slowlog; e && n < count; e = e->next, n++) {
        reply_array_len(c, 6);
        reply_int(c, e->id);
        reply_int(c, e->time);
        reply_int(c, e->duration_us);
        reply_array_len(c, e->argc);
        for (int i = 0; i < e->argc; i++) {
            reply_bulk(c, e->argv[i], e->argvlen[i]);
        }
        reply_bulk_cstr(c, e->peer);
        reply_bulk_cstr(c, e->name);
    }
}

void
cmd_slowlog_len(struct client *c)
{
    reply_int(c, c->srv->slowlog_len);
}

void
cmd_slowlog_reset(struct client *c)
{
    slowlog_reset(c->srv);
    reply_ok(c);
}

void
cmd_slowlog_help(struct client *c)
{
    static const char *const lines[] = {
        "GET [<count>]",
        "    The <count> newest entries (default 10, -1 for all).  Each entry is",
        "    id, Unix time, duration in microseconds, arguments, client address",
        "    and client name.",
        "LEN",
        "    The number of entries.",
        "RESET",
        "    Drop every entry.",
        NULL,
    };
    reply_help(c, "SLOWLOG", lines);
}

/* ==== SHUTDOWN =========================================================== */

/* As Redis: a snapshot is written first when save points are configured or
 * SAVE is given (NOSAVE skips it), and a failed one refuses the shutdown
 * unless FORCE; persist_teardown flushes the append-only file on the way
 * out.  NOW only skips waits Cachely never makes.  Success sends no reply:
 * the connection just closes. */
void
cmd_shutdown(struct client *c)
{
    struct server *srv = c->srv;
    int save = 0, nosave = 0, abort_ = 0, force = 0;

    for (size_t i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "nosave")) {
            nosave = 1;
        } else if (arg_is(c, i, "save")) {
            save = 1;
        } else if (arg_is(c, i, "now")) {
            continue;
        } else if (arg_is(c, i, "force")) {
            force = 1;
        } else if (arg_is(c, i, "abort")) {
            abort_ = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((save && nosave) || (abort_ && c->argc != 2)) {
        reply_syntax_error(c);
        return;
    }
    if (abort_) {
        /* Shutdown is immediate, so one is never in progress. */
        reply_error(c, "No shutdown in progress.");
        return;
    }
    if (persist_shutdown(srv, save ? 1 : nosave ? -1 : 0) != 0 && !force) {
        reply_error(c, "Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    log_info("SHUTDOWN requested by client id=%llu addr=%s",
             (unsigned long long)c->id, c->addr);
    srv->shutdown_asap = 1;
    srv->exit_code = 0;
    event_base_loopbreak(srv->base);
}
