/* CONFIG for the proxy's own options (the table in options.c): GET with
 * glob patterns, SET of the options marked mutable (today the tls-* files
 * and settings, rebuilt live by tlsctx.c), REWRITE and HELP.  The nodes'
 * options are not reachable through the proxy: send CONFIG to a node. */
#include "proxy/config_cmd.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/option.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"

#include <stdio.h>
#include <string.h>

static const char *const help_lines[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern> [<pattern> ...]",
    "    The proxy's options whose names match any of the glob-style patterns,",
    "    with their values (a set password reads \"(redacted)\").",
    "SET <option> <value> [<option> <value> ...]",
    "    Change the proxy's options at run time, all or none: the tls-* files and",
    "    settings (not tls-port, tls-backend) reload live; open connections keep",
    "    the certificates they started with.",
    "REWRITE",
    "    Write the running configuration back into the config file.",
    "HELP",
    "    Print this help.",
};

static char *
arg_dup(const struct resp_arg *a)
{
    char *s = mem_alloc(a->len + 1);
    memcpy(s, a->ptr, a->len);
    s[a->len] = '\0';
    return s;
}

/* The first pattern of argv[2..argc) that matches name, or NULL. */
static const struct resp_arg *
config_match(size_t argc, const struct resp_arg *argv, const char *name)
{
    for (size_t i = 2; i < argc; i++) {
        if (util_glob_match(argv[i].ptr, argv[i].len, name, strlen(name), 1)) {
            return &argv[i];
        }
    }
    return NULL;
}

/* Table order, each option once however many patterns match it; a plain
 * name is echoed as the client spelled it, as Redis does. */
static void
config_get(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    struct rbuf body = {0}, out = {0};
    long long n = 0;
    char val[4096];

    for (const struct option_def *d = px->opts.defs; d->name != NULL; d++) {
        const struct resp_arg *m = config_match(argc, argv, d->name);
        if (m == NULL || (d->flags & OPT_FILE_ONLY)) {
            continue;
        }
        option_format(&px->opts, d, val, sizeof(val));
        if ((d->flags & OPT_SENSITIVE) && val[0] != '\0') {
            snprintf(val, sizeof(val), "(redacted)");
        }
        if (memchr(m->ptr, '*', m->len) || memchr(m->ptr, '?', m->len)
            || memchr(m->ptr, '[', m->len) || memchr(m->ptr, '\\', m->len)) {
            rbuf_bulk(&body, d->name, strlen(d->name));
        } else {
            rbuf_bulk(&body, m->ptr, m->len);
        }
        rbuf_bulk(&body, val, strlen(val));
        n++;
    }
    if (session_protocol(s) == 3) {
        rbuf_hdr(&out, '%', n);
    } else {
        rbuf_hdr(&out, '*', 2 * n);
    }
    rbuf_add(&out, body.p, body.len);
    rbuf_reply(s, &out);
    rbuf_free(&out);
    rbuf_free(&body);
}

static void
config_set(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    size_t n = (argc - 2) / 2;
    char err[1024];

    if ((argc - 2) % 2 != 0) {
        session_error(s, "ERR syntax error");
        return;
    }
    char **names = mem_calloc(n * sizeof(*names));
    char **values = mem_calloc(n * sizeof(*values));
    for (size_t i = 0; i < n; i++) {
        names[i] = arg_dup(&argv[2 + 2 * i]);
        values[i] = arg_dup(&argv[3 + 2 * i]);
    }
    if (option_set_many(&px->opts, n, names, values, err, sizeof(err)) != 0) {
        /* Redis's words, and why: a node's settings (save, maxmemory, the
         * encodings...) are not the proxy's to set. */
        int unknown = strncmp(err, "Unknown option", 14) == 0;
        session_error(s, "ERR %s%s", err,
                      unknown ? " (cachely-proxy's own options only: set a node's settings "
                                "on the node directly)"
                              : "");
    } else {
        for (size_t i = 0; i < n; i++) {
            const struct option_def *d = option_find(&px->opts, names[i]);
            log_info("CONFIG SET %s %s", d->name,
                     (d->flags & OPT_SENSITIVE) ? "(redacted)" : values[i]);
        }
        session_reply(s, "+OK\r\n", 5);
    }
    for (size_t i = 0; i < n; i++) {
        mem_free(names[i]);
        mem_free(values[i]);
    }
    mem_free(names);
    mem_free(values);
}

void
config_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    const struct command *sub = command_lookup_sub(command_get(CMD_ID_CONFIG), argv[1].ptr,
                                                   argv[1].len);
    if (sub == NULL) {
        session_error(s, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.",
                      (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr);
        return;
    }
    if (!command_arity_ok(sub, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", sub->fullname);
        return;
    }
    s->lastcmd = sub;
    switch (sub->id) {
    case CMD_ID_CONFIG_GET:
        config_get(s, argc, argv);
        break;
    case CMD_ID_CONFIG_SET:
        config_set(s, argc, argv);
        break;
    case CMD_ID_CONFIG_REWRITE: {
        char err[512];
        if (option_rewrite(&px->opts, err, sizeof(err)) != 0) {
            log_warn("CONFIG REWRITE failed: %s", err);
            session_error(s, "ERR %s", err);
        } else {
            log_info("CONFIG REWRITE executed with success.");
            session_reply(s, "+OK\r\n", 5);
        }
        break;
    }
    case CMD_ID_CONFIG_HELP: {
        struct rbuf b = {0};
        size_t n = sizeof(help_lines) / sizeof(help_lines[0]);
        rbuf_hdr(&b, '*', (long long)n);
        rbuf_status_lines(&b, help_lines, n);
        rbuf_reply(s, &b);
        rbuf_free(&b);
        break;
    }
    default:
        session_error(s, "ERR 'config|%s' is not supported through cachely-proxy; send it "
                         "to a node directly", sub->name);
        break;
    }
}
