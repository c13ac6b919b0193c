/* CLIENT on the proxy: answered for the proxy's own client sessions (the
 * nodes only see the proxy's pooled connections), in Redis's formats and
 * with Redis's errors: ID, SETNAME, GETNAME, SETINFO, LIST, INFO, KILL,
 * NO-EVICT and HELP.  PAUSE/UNPAUSE concern a node and are refused. */
#include "proxy/client_cmd.h"
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/blockmux.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"
#include "proxy/tracking.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum client_type { CLIENT_TYPE_NORMAL, CLIENT_TYPE_REPLICA, CLIENT_TYPE_PUBSUB,
                   CLIENT_TYPE_MASTER };

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

static int
arg_equals(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

static int
type_by_name(const struct resp_arg *a)
{
    if (arg_is(a, "normal")) {
        return CLIENT_TYPE_NORMAL;
    }
    if (arg_is(a, "slave") || arg_is(a, "replica")) {
        return CLIENT_TYPE_REPLICA;
    }
    if (arg_is(a, "pubsub")) {
        return CLIENT_TYPE_PUBSUB;
    }
    if (arg_is(a, "master")) {
        return CLIENT_TYPE_MASTER;
    }
    return -1;
}

/* A session is a pubsub client while subscribed to anything (Redis's
 * client-output-buffer-limit class too). */
static int
type_of(const struct session *s)
{
    return pubsub_count(s->pubsub) > 0 ? CLIENT_TYPE_PUBSUB : CLIENT_TYPE_NORMAL;
}

int
client_cmd_is_pubsub(const struct session *s)
{
    return type_of(s) == CLIENT_TYPE_PUBSUB;
}

void
client_cmd_describe(struct rbuf *b, const struct session *s)
{
    long long now = util_mstime();
    size_t sub = 0, psub = 0;
    pubsub_client_counts(s->pubsub, &sub, &psub);
    rbuf_printf(b, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s "
                   "db=%d sub=%zu psub=%zu ssub=%zu multi=-1 qbuf=%zu qbuf-free=%zu ",
                (unsigned long long)s->id, s->addr, s->laddr, s->fd, s->name ? s->name : "",
                (now - s->ctime_ms) / 1000, (now - s->last_ms) / 1000,
                type_of(s) == CLIENT_TYPE_PUBSUB ? (s->flags & SESSION_NO_EVICT ? "Pe" : "P")
                                                 : (s->flags & SESSION_NO_EVICT ? "e" : "N"),
                s->db, sub, psub,
                pubsub_client_shards(s->pubsub),
                s->qlen - s->qpos, s->qcap - s->qlen);
    rbuf_printf(b, "argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=%zu oll=0 omem=%zu tot-mem=%zu "
                   "events=r%s cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
                s->out.len - s->out_sent, s->out.cap,
                session_memory(s), (s->flags & SESSION_WRITE_ARMED) ? "w" : "",
                s->lastcmd ? s->lastcmd->fullname : "NULL", acl_user_name(s->user), s->resp,
                s->lib_name ? s->lib_name : "", s->lib_ver ? s->lib_ver : "");
}

/* A text reply: a bulk string in RESP2, verbatim "txt" in RESP3. */
static void
reply_text(struct session *s, struct rbuf *text)
{
    struct rbuf b = {0};
    if (session_protocol(s) >= 3) {
        rbuf_hdr(&b, '=', (long long)text->len + 4);
        rbuf_add(&b, "txt:", 4);
    } else {
        rbuf_hdr(&b, '$', (long long)text->len);
    }
    rbuf_add(&b, text->p, text->len);
    rbuf_add(&b, "\r\n", 2);
    rbuf_reply(s, &b);
    rbuf_free(&b);
}

static struct session *
find_session(struct proxy *px, long long id)
{
    for (struct session *x = px->sessions; x != NULL; x = x->next) {
        if ((long long)x->id == id && !(x->flags & SESSION_CLOSING)) {
            return x;
        }
    }
    return NULL;
}

static void
cmd_list(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct rbuf text = {0};
    if (argc == 2 || (argc == 4 && arg_is(&argv[2], "type"))) {
        int type = -1;
        if (argc == 4 && (type = type_by_name(&argv[3])) < 0) {
            session_error(s, "ERR Unknown client type '%.*s'", (int)argv[3].len, argv[3].ptr);
            return;
        }
        /* The list is newest first; Redis lists the oldest first. */
        struct session *x = px->sessions;
        while (x != NULL && x->next != NULL) {
            x = x->next;
        }
        for (; x != NULL; x = x->prev) {
            if (!(x->flags & SESSION_CLOSING) && (type < 0 || type_of(x) == type)) {
                client_cmd_describe(&text, x);
            }
        }
    } else if (argc > 3 && arg_is(&argv[2], "id")) {
        /* Ids are answered in the order asked, repeats included. */
        for (size_t j = 3; j < argc; j++) {
            long long id;
            if (util_str2ll(argv[j].ptr, argv[j].len, &id) != 0) {
                rbuf_free(&text);
                session_error(s, "ERR Invalid client ID");
                return;
            }
            struct session *x = find_session(px, id);
            if (x != NULL) {
                client_cmd_describe(&text, x);
            }
        }
    } else {
        session_error(s, "ERR syntax error");
        return;
    }
    reply_text(s, &text);
    rbuf_free(&text);
}

/* CLIENT KILL's filters; a field left at its initial value matches all. */
struct kill_filter {
    long long id;                    /* 0 = any */
    const struct resp_arg *addr;     /* borrowed from argv; NULL = any */
    const struct resp_arg *laddr;    /* borrowed from argv; NULL = any */
    int type;                        /* -1 = any */
    int skipme;
    int by_user;                     /* USER given: only user's sessions */
    const struct acl_user *user;     /* borrowed from px->acl */
};

static int
parse_kill_filter(struct session *s, size_t argc, const struct resp_arg *argv,
                  struct kill_filter *f)
{
    for (size_t i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            session_error(s, "ERR syntax error");
            return -1;
        }
        const struct resp_arg *opt = &argv[i], *val = &argv[i + 1];
        if (arg_is(opt, "id")) {
            if (util_str2ll(val->ptr, val->len, &f->id) != 0 || f->id < 1) {
                session_error(s, "ERR client-id should be greater than 0");
                return -1;
            }
        } else if (arg_is(opt, "type")) {
            if ((f->type = type_by_name(val)) < 0) {
                session_error(s, "ERR Unknown client type '%.*s'", (int)val->len, val->ptr);
                return -1;
            }
        } else if (arg_is(opt, "addr")) {
            f->addr = val;
        } else if (arg_is(opt, "laddr")) {
            f->laddr = val;
        } else if (arg_is(opt, "user")) {
            /* One of the proxy's users (ACL SETUSER through the proxy
             * makes them). */
            f->by_user = 1;
            f->user = s->px->acl ? acl_state_find(s->px->acl, val->ptr, val->len, NULL) : NULL;
            if (s->px->acl ? f->user == NULL : !arg_equals(val, "default")) {
                session_error(s, "ERR No such user '%.*s'", (int)val->len, val->ptr);
                return -1;
            }
        } else if (arg_is(opt, "skipme")) {
            if (arg_is(val, "yes")) {
                f->skipme = 1;
            } else if (arg_is(val, "no")) {
                f->skipme = 0;
            } else {
                session_error(s, "ERR syntax error");
                return -1;
            }
        } else {
            session_error(s, "ERR syntax error");
            return -1;
        }
    }
    return 0;
}

static void
cmd_kill(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct kill_filter f = {0, NULL, NULL, -1, 1, 0, NULL};
    int old_form = argc == 3;
    long long killed = 0;
    if (old_form) {
        /* CLIENT KILL ip:port may name the caller itself. */
        f.addr = &argv[2];
        f.skipme = 0;
    } else if (parse_kill_filter(s, argc, argv, &f) != 0) {
        return;
    }
    for (struct session *x = s->px->sessions; x != NULL; x = x->next) {
        if ((x->flags & SESSION_CLOSING) || (f.addr && !arg_equals(f.addr, x->addr))
            || (f.laddr && !arg_equals(f.laddr, x->laddr)) || (f.type >= 0 && type_of(x) != f.type)
            || (f.id != 0 && (long long)x->id != f.id) || (x == s && f.skipme)
            || (f.by_user && s->px->acl && x->user != f.user)) {
            continue;
        }
        /* The caller still gets its reply; the others go at once. */
        if (x == s) {
            s->flags |= SESSION_CLOSE_AFTER_REPLY;
        } else {
            session_close(x);
        }
        killed++;
    }
    if (!old_form) {
        char line[32];
        int n = snprintf(line, sizeof(line), ":%lld\r\n", killed);
        session_reply(s, line, (size_t)n);
    } else if (killed == 0) {
        session_error(s, "ERR No such client");
    } else {
        session_reply(s, "+OK\r\n", 5);
    }
}

/* Client names and library attributes: printable ASCII, no spaces. */
static int
valid_attr(const struct resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++) {
        if (a->ptr[i] <= ' ' || a->ptr[i] > '~') {
            return 0;
        }
    }
    return 1;
}

static void
set_attr(char **field, const struct resp_arg *val)
{
    mem_free(*field);
    *field = val->len ? mem_strndup(val->ptr, val->len) : NULL;
}

static const char *const help_lines[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ID", "    Return the ID of the current connection.",
    "GETNAME", "    Return the name of the current connection.",
    "SETNAME <name>", "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>", "    Record the client library's name or version.",
    "INFO", "    Return information about the current client connection.",
    "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
    "    Return information about client connections of this proxy.",
    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are: ID <id>, TYPE (NORMAL|MASTER|REPLICA|PUBSUB), "
    "USER <username>, ADDR <ip:port>, LADDR <ip:port>, SKIPME (YES|NO).",
    "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
    "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
    "HELP", "    Print this help.",
};

void
client_cmd_run(struct session *s, size_t argc, const struct resp_arg *argv)
{
    const struct command *sub = command_lookup_sub(command_get(CMD_ID_CLIENT), argv[1].ptr,
                                                   argv[1].len);
    if (sub == NULL) {
        session_error(s, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
                      (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr);
        return;
    }
    if (!command_arity_ok(sub, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", sub->fullname);
        return;
    }
    s->lastcmd = sub;
    switch (sub->id) {
    case CMD_ID_CLIENT_ID: {
        char line[32];
        int n = snprintf(line, sizeof(line), ":%llu\r\n", (unsigned long long)s->id);
        session_reply(s, line, (size_t)n);
        break;
    }
    case CMD_ID_CLIENT_SETNAME:
        if (!valid_attr(&argv[2])) {
            session_error(s, "ERR Client names cannot contain spaces, newlines or special "
                             "characters.");
            return;
        }
        set_attr(&s->name, &argv[2]);
        session_reply(s, "+OK\r\n", 5);
        break;
    case CMD_ID_CLIENT_GETNAME:
        if (s->name != NULL) {
            struct rbuf b = {0};
            rbuf_bulk(&b, s->name, strlen(s->name));
            rbuf_reply(s, &b);
            rbuf_free(&b);
        } else {
            session_reply(s, session_protocol(s) >= 3 ? "_\r\n" : "$-1\r\n",
                          session_protocol(s) >= 3 ? 3 : 5);
        }
        break;
    case CMD_ID_CLIENT_SETINFO: {
        char **field;
        if (arg_is(&argv[2], "lib-name")) {
            field = &s->lib_name;
        } else if (arg_is(&argv[2], "lib-ver")) {
            field = &s->lib_ver;
        } else {
            session_error(s, "ERR Unrecognized option '%.*s'", (int)argv[2].len, argv[2].ptr);
            return;
        }
        if (!valid_attr(&argv[3])) {
            session_error(s, "ERR %.*s cannot contain spaces, newlines or special characters.",
                          (int)argv[2].len, argv[2].ptr);
            return;
        }
        set_attr(field, &argv[3]);
        session_reply(s, "+OK\r\n", 5);
        break;
    }
    case CMD_ID_CLIENT_LIST:
        cmd_list(s, argc, argv);
        break;
    case CMD_ID_CLIENT_INFO: {
        struct rbuf text = {0};
        client_cmd_describe(&text, s);
        reply_text(s, &text);
        rbuf_free(&text);
        break;
    }
    case CMD_ID_CLIENT_KILL:
        cmd_kill(s, argc, argv);
        break;
    case CMD_ID_CLIENT_UNBLOCK:
        blockmux_client_unblock(s, argc, argv);
        break;
    case CMD_ID_CLIENT_REPLY:
        /* The session's own replies: ON answers +OK, OFF and SKIP nothing
         * (session_request.c drops the replies they cover). */
        if (arg_is(&argv[2], "on")) {
            s->reply_off = s->reply_skip = s->cur_silent = 0;
            session_reply(s, "+OK\r\n", 5);
        } else if (arg_is(&argv[2], "off")) {
            s->reply_off = 1;
        } else if (arg_is(&argv[2], "skip")) {
            if (!s->reply_off) {
                s->reply_skip = 1;
            }
        } else {
            session_error(s, "ERR syntax error");
        }
        break;
    case CMD_ID_CLIENT_NO_EVICT:
        if (arg_is(&argv[2], "on") || arg_is(&argv[2], "off")) {
            session_set_no_evict(s, arg_is(&argv[2], "on"));
            session_reply(s, "+OK\r\n", 5);
        } else {
            session_error(s, "ERR syntax error");
        }
        break;
    case CMD_ID_CLIENT_HELP: {
        struct rbuf b = {0};
        size_t n = sizeof(help_lines) / sizeof(help_lines[0]);
        rbuf_hdr(&b, '*', (long long)n);
        rbuf_status_lines(&b, help_lines, n);
        rbuf_reply(s, &b);
        rbuf_free(&b);
        break;
    }
    default:
        if (tracking_client_command(s, sub->id, argc, argv)) {
            break; /* TRACKING, CACHING, GETREDIR, TRACKINGINFO */
        }
        session_error(s, "ERR 'client|%s' is not supported through cachely-proxy; send it "
                         "to a node directly", sub->name);
        break;
    }
}
