/* The connection command family: PING, ECHO, QUIT, RESET, AUTH, HELLO and
 * the CLIENT subcommands.  Behaviour and error strings follow Redis 7.0
 * (CLIENT SETINFO follows 7.2, where it first appeared). */
#include "node/handlers.h"
#include "node/acl.h"
#include "core/alloc.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/multi.h"
#include "node/pubsub.h"
#include "node/tracking.h"
#include "node/monitor.h"
#include "node/pause.h"
#include "node/server.h"

#include <limits.h>
#include <string.h>
#include <strings.h>


/* The user AUTH <password> authenticates as. */
#define CONN_DEFAULT_USER "default"

#define CONN_ERR_BAD_NAME \
    "Client names cannot contain spaces, newlines or special characters."
#define CONN_ERR_WRONGPASS \
    "-WRONGPASS invalid username-password pair or user is disabled."

/* Client types as CLIENT LIST/KILL TYPE name them: our master's link, our
 * replicas' links, and normal clients (there is no pub/sub yet, so that
 * name parses and matches nothing). */
enum conn_client_type {
    CONN_TYPE_NORMAL,
    CONN_TYPE_REPLICA,
    CONN_TYPE_PUBSUB,
    CONN_TYPE_MASTER,
};

/* ---- helpers ----------------------------------------------------------- */

/* Case-insensitive comparison of an argument with a keyword. */
static int
conn_arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

/* Exact comparison of an argument with a C string. */
static int
conn_arg_equals(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && memcmp(a->ptr, s, n) == 0;
}

/* Printable ASCII with no space, as Redis requires for names and library
 * attributes: CLIENT LIST output must stay one space-separated line. */
static int
conn_valid_attr(const struct resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++) {
        if (a->ptr[i] < '!' || a->ptr[i] > '~') {
            return 0;
        }
    }
    return 1;
}

/* Replace an owned string field; an empty value clears it. */
static void
conn_set_attr(char **field, const struct resp_arg *a)
{
    mem_free(*field);
    *field = a->len > 0 ? mem_strndup(a->ptr, a->len) : NULL;
}

static int
conn_type_by_name(const struct resp_arg *a)
{
    if (conn_arg_is(a, "normal")) {
        return CONN_TYPE_NORMAL;
    }
    if (conn_arg_is(a, "slave") || conn_arg_is(a, "replica")) {
        return CONN_TYPE_REPLICA;
    }
    if (conn_arg_is(a, "pubsub")) {
        return CONN_TYPE_PUBSUB;
    }
    if (conn_arg_is(a, "master")) {
        return CONN_TYPE_MASTER;
    }
    return -1;
}

static int
conn_client_type(const struct client *c)
{
    if (c->flags & CLIENT_MASTER) {
        return CONN_TYPE_MASTER;
    }
    if (c->flags & CLIENT_REPLICA) {
        return CONN_TYPE_REPLICA;
    }
    return CONN_TYPE_NORMAL;
}

/* Compare the whole of given with pass in time that depends only on the
 * length of given, so a wrong guess reveals nothing about the password. */
static int
conn_password_matches(const char *pass, const struct resp_arg *given)
{
    size_t plen = strlen(pass);
    unsigned diff = plen != given->len;
    for (size_t i = 0; i < given->len; i++) {
        unsigned char want = i < plen ? (unsigned char)pass[i] : 0;
        diff |= want ^ (unsigned char)given->ptr[i];
    }
    return diff == 0;
}

/* Check credentials for the default user and mark the client authenticated
 * on success.  A failure leaves an authenticated client authenticated, as in
 * Redis.  Returns 0 on success, -1 on a bad user or password. */
static int
conn_authenticate(struct client *c, const struct resp_arg *user,
                  const struct resp_arg *pass)
{
    const char *required = c->srv->cfg.requirepass;
    if (c->srv->acl != NULL) {
        struct acl_user *u =
            acl_authenticate(c->srv, c, user->ptr, user->len, pass->ptr, pass->len);
        if (u == NULL) {
            return -1;
        }
        c->user = u;
        c->flags |= CLIENT_AUTHENTICATED;
        client_update_auth(c);
        return 0;
    }
    if (!conn_arg_equals(user, CONN_DEFAULT_USER)) {
        return -1;
    }
    if (required != NULL && required[0] != '\0'
        && !conn_password_matches(required, pass)) {
        return -1;
    }
    c->flags |= CLIENT_AUTHENTICATED;
    client_update_auth(c);
    return 0;
}

/* Append the CLIENT LIST line of cl, newline included, to *buf (owned,
 * grown as needed). */
static void
conn_append_description(struct rbuf *b, const struct client *cl)
{
    /* The fixed fields take well under 600 bytes; the strings a client
     * chooses come on top. */
    size_t room = 768 + (cl->name ? strlen(cl->name) : 0)
                  + (cl->lib_name ? strlen(cl->lib_name) : 0)
                  + (cl->lib_ver ? strlen(cl->lib_ver) : 0);
    b->len += client_describe(cl, rbuf_room(b, room + 1), room);
    b->p[b->len++] = '\n';
}

static struct client *
conn_find_client(struct server *srv, long long id)
{
    for (struct client *cl = srv->clients; cl; cl = cl->next) {
        if ((long long)cl->id == id) {
            return cl;
        }
    }
    return NULL;
}

/* ---- PING, ECHO, QUIT, RESET ----------------------------------------- */

void
cmd_ping(struct client *c)
{
    /* The table says "at least one" so that the arity error is PING's own
     * check, as in Redis. */
    if (c->argc > 2) {
        reply_arity_error(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        /* Subscribed mode: a reply shaped like the messages around it. */
        reply_array_len(c, 2);
        reply_bulk(c, "pong", 4);
        reply_bulk(c, c->argc == 1 ? "" : c->argv[1].ptr, c->argc == 1 ? 0 : c->argv[1].len);
    } else if (c->argc == 1) {
        reply_status(c, "PONG");
    } else {
        reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
    }
}

void
cmd_echo(struct client *c)
{
    reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

void
cmd_quit(struct client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void
cmd_reset(struct client *c)
{
    /* Back to the state of a fresh connection.  Like Redis 7.0, NO-EVICT and
     * the library attributes survive: they describe the connection's owner,
     * not its session. */
    multi_discard(c);
    pubsub_client_gone(c);
    tracking_client_gone(c);
    monitor_client_gone(c);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT | CLIENT_NO_TOUCH);
    client_select(c, 0);
    c->resp = 2;
    mem_free(c->name);
    c->name = NULL;
    c->flags &= ~CLIENT_AUTHENTICATED;
    if (c->srv->acl != NULL) {
        c->user = acl_default_user(c->srv);
    }
    client_update_auth(c);
    reply_status(c, "RESET");
}

/* ---- AUTH, HELLO ------------------------------------------------------- */

void
cmd_auth(struct client *c)
{
    static const struct resp_arg default_user = {
        CONN_DEFAULT_USER, sizeof(CONN_DEFAULT_USER) - 1
    };
    const char *required = c->srv->cfg.requirepass;

    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    /* Whatever the outcome, the slow log must not show the credentials. */
    for (size_t i = 1; i < c->argc; i++) {
        client_redact_arg(c, i);
    }
    int default_nopass = c->srv->acl != NULL ? acl_user_nopass(acl_default_user(c->srv))
                                             : (required == NULL || required[0] == '\0');
    if (c->argc == 2 && default_nopass) {
        /* The one-argument form is almost always a misconfigured client
         * when the server has no password, so Redis says so. */
        reply_error(c, "AUTH <password> called without any password "
                       "configured for the default user. Are you sure "
                       "your configuration is correct?");
        return;
    }
    const struct resp_arg *user = c->argc == 2 ? &default_user : &c->argv[1];
    const struct resp_arg *pass = &c->argv[c->argc - 1];
    if (conn_authenticate(c, user, pass) != 0) {
        reply_error(c, CONN_ERR_WRONGPASS);
        return;
    }
    reply_ok(c);
}

void
cmd_hello(struct client *c)
{
    long long ver = 0;
    size_t j = 1;
    const struct resp_arg *user = NULL, *pass = NULL, *name = NULL;

    if (c->argc >= 2) {
        if (util_str2ll(c->argv[1].ptr, c->argv[1].len, &ver) != 0) {
            reply_error(c, "Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "-NOPROTO unsupported protocol version");
            return;
        }
        j = 2;
    }
    for (; j < c->argc; j++) {
        size_t more = c->argc - 1 - j;
        if (conn_arg_is(&c->argv[j], "auth") && more >= 2) {
            user = &c->argv[j + 1];
            pass = &c->argv[j + 2];
            client_redact_arg(c, j + 1);
            client_redact_arg(c, j + 2);
            j += 2;
        } else if (conn_arg_is(&c->argv[j], "setname") && more >= 1) {
            name = &c->argv[j + 1];
            j++;
        } else {
            reply_errorf(c, "Syntax error in HELLO option '%.*s'",
                         (int)c->argv[j].len, c->argv[j].ptr);
            return;
        }
    }
    if (user != NULL && conn_authenticate(c, user, pass) != 0) {
        reply_error(c, CONN_ERR_WRONGPASS);
        return;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED)) {
        reply_error(c, "-NOAUTH HELLO must be called with the client already "
                       "authenticated, otherwise the HELLO AUTH <user> <pass> "
                       "option can be used to authenticate the client and "
                       "select the RESP protocol version at the same time");
        return;
    }
    /* The name is checked before the protocol changes, so a bad name
     * leaves the connection as it was. */
    if (name != NULL) {
        if (!conn_valid_attr(name)) {
            reply_error(c, CONN_ERR_BAD_NAME);
            return;
        }
        conn_set_attr(&c->name, name);
    }
    if (ver != 0) {
        c->resp = (int)ver;
    }
    reply_map_len(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, CACHELY_REDIS_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, c->srv->ks.is_replica ? "replica" : "master");
    reply_bulk_cstr(c, "modules");
    reply_array_len(c, 0);
}

/* ---- CLIENT ------------------------------------------------------------ */

void
cmd_client_id(struct client *c)
{
    reply_int(c, (long long)c->id);
}

void
cmd_client_setname(struct client *c)
{
    if (!conn_valid_attr(&c->argv[2])) {
        reply_error(c, CONN_ERR_BAD_NAME);
        return;
    }
    conn_set_attr(&c->name, &c->argv[2]);
    reply_ok(c);
}

void
cmd_client_getname(struct client *c)
{
    reply_bulk_cstr(c, c->name);
}

void
cmd_client_list(struct client *c)
{
    struct server *srv = c->srv;
    struct rbuf out = {0};

    /* Show this command in our own line, as Redis does; dispatch sets the
     * same value once the handler returns. */
    c->lastcmd = c->cmd;
    if (c->argc == 2 || (c->argc == 4 && conn_arg_is(&c->argv[2], "type"))) {
        int type = -1;
        struct client *cl = srv->clients;
        if (c->argc == 4) {
            type = conn_type_by_name(&c->argv[3]);
            if (type < 0) {
                reply_errorf(c, "Unknown client type '%.*s'",
                             (int)c->argv[3].len, c->argv[3].ptr);
                return;
            }
        }
        /* The list is newest first; Redis lists the oldest first. */
        while (cl && cl->next) {
            cl = cl->next;
        }
        for (; cl; cl = cl->prev) {
            if (cl->mem_evicted) {
                continue; /* Redis has freed it already */
            }
            if (type < 0 || conn_client_type(cl) == type) {
                conn_append_description(&out, cl);
            }
        }
    } else if (c->argc > 3 && conn_arg_is(&c->argv[2], "id")) {
        /* Ids are answered in the order asked, repeats included. */
        for (size_t j = 3; j < c->argc; j++) {
            long long id;
            if (util_str2ll(c->argv[j].ptr, c->argv[j].len, &id) != 0) {
                rbuf_free(&out);
                reply_error(c, "Invalid client ID");
                return;
            }
            struct client *cl = conn_find_client(srv, id);
            if (cl != NULL && !cl->mem_evicted) {
                conn_append_description(&out, cl);
            }
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    reply_verbatim(c, out.p ? out.p : "", out.len, "txt");
    rbuf_free(&out);
}

void
cmd_client_info(struct client *c)
{
    struct rbuf out = {0};

    c->lastcmd = c->cmd;
    conn_append_description(&out, c);
    reply_verbatim(c, out.p, out.len, "txt");
    rbuf_free(&out);
}

/* CLIENT KILL filters; a field left at its initial value matches all. */
struct conn_kill_filter {
    long long id;                    /* 0 = any */
    const struct resp_arg *addr;     /* borrowed from argv; NULL = any */
    const struct resp_arg *laddr;    /* borrowed from argv; NULL = any */
    int type;                        /* -1 = any */
    int skipme;
    int by_user;                     /* USER given: only user's clients */
    struct acl_user *user;           /* borrowed from acl.c */
};

/* Parse the new form's option/value pairs; replies and returns -1 on a
 * mistake. */
static int
conn_parse_kill_filter(struct client *c, struct conn_kill_filter *f)
{
    for (size_t i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_syntax_error(c);
            return -1;
        }
        const struct resp_arg *opt = &c->argv[i];
        const struct resp_arg *val = &c->argv[i + 1];
        if (conn_arg_is(opt, "id")) {
            if (util_str2ll(val->ptr, val->len, &f->id) != 0 || f->id < 1) {
                reply_error(c, "client-id should be greater than 0");
                return -1;
            }
        } else if (conn_arg_is(opt, "type")) {
            f->type = conn_type_by_name(val);
            if (f->type < 0) {
                reply_errorf(c, "Unknown client type '%.*s'", (int)val->len,
                             val->ptr);
                return -1;
            }
        } else if (conn_arg_is(opt, "addr")) {
            f->addr = val;
        } else if (conn_arg_is(opt, "laddr")) {
            f->laddr = val;
        } else if (conn_arg_is(opt, "user")) {
            f->by_user = 1;
            f->user = c->srv->acl ? acl_user_find(c->srv, val->ptr, val->len) : NULL;
            if (c->srv->acl ? f->user == NULL : !conn_arg_equals(val, CONN_DEFAULT_USER)) {
                reply_errorf(c, "No such user '%.*s'", (int)val->len, val->ptr);
                return -1;
            }
        } else if (conn_arg_is(opt, "skipme")) {
            if (conn_arg_is(val, "yes")) {
                f->skipme = 1;
            } else if (conn_arg_is(val, "no")) {
                f->skipme = 0;
            } else {
                reply_syntax_error(c);
                return -1;
            }
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    return 0;
}

void
cmd_client_kill(struct client *c)
{
    struct conn_kill_filter f = {0, NULL, NULL, -1, 1, 0, NULL};
    int old_form = c->argc == 3;
    int close_self = 0;
    long long killed = 0;

    if (old_form) {
        /* CLIENT KILL ip:port may name the caller itself. */
        f.addr = &c->argv[2];
        f.skipme = 0;
    } else if (conn_parse_kill_filter(c, &f) != 0) {
        return;
    }
    for (struct client *cl = c->srv->clients; cl; cl = cl->next) {
        if (f.addr && !conn_arg_equals(f.addr, cl->addr)) {
            continue;
        }
        if (f.laddr && !conn_arg_equals(f.laddr, cl->laddr)) {
            continue;
        }
        if (f.type >= 0 && conn_client_type(cl) != f.type) {
            continue;
        }
        if (f.id != 0 && (long long)cl->id != f.id) {
            continue;
        }
        if (f.by_user && c->srv->acl != NULL && cl->user != f.user) {
            continue;
        }
        if (cl == c && f.skipme) {
            continue;
        }
        /* Closing is deferred either way: the caller must still get its
         * reply, and the others are freed once this callback returns. */
        if (cl == c) {
            close_self = 1;
        } else {
            client_close_async(cl);
        }
        killed++;
    }
    if (old_form) {
        if (killed == 0) {
            reply_error(c, "No such client");
        } else {
            reply_ok(c);
        }
    } else {
        reply_int(c, killed);
    }
    if (close_self) {
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    }
}

void
cmd_client_setinfo(struct client *c)
{
    const struct resp_arg *attr = &c->argv[2];
    const struct resp_arg *val = &c->argv[3];
    char **field;

    if (conn_arg_is(attr, "lib-name")) {
        field = &c->lib_name;
    } else if (conn_arg_is(attr, "lib-ver")) {
        field = &c->lib_ver;
    } else {
        reply_errorf(c, "Unrecognized option '%.*s'", (int)attr->len, attr->ptr);
        return;
    }
    if (!conn_valid_attr(val)) {
        reply_errorf(c, "%.*s cannot contain spaces, newlines or special "
                        "characters.", (int)attr->len, attr->ptr);
        return;
    }
    conn_set_attr(field, val);
    reply_ok(c);
}

void
cmd_client_no_evict(struct client *c)
{
    if (conn_arg_is(&c->argv[2], "on")) {
        c->flags |= CLIENT_NO_EVICT;
    } else if (conn_arg_is(&c->argv[2], "off")) {
        c->flags &= ~CLIENT_NO_EVICT;
    } else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c);
}

/* CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing themselves. */
void
cmd_client_reply(struct client *c)
{
    if (conn_arg_is(&c->argv[2], "on")) {
        c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
        reply_ok(c);
    } else if (conn_arg_is(&c->argv[2], "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (conn_arg_is(&c->argv[2], "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) {
            c->flags |= CLIENT_REPLY_SKIP_NEXT;
        }
    } else {
        reply_syntax_error(c);
    }
}

/* CLIENT NO-TOUCH ON|OFF (Redis 7.2): this client's reads, TOUCH aside,
 * leave the keys' LRU/LFU bits alone. */
void
cmd_client_no_touch(struct client *c)
{
    if (conn_arg_is(&c->argv[2], "on")) {
        c->flags |= CLIENT_NO_TOUCH;
    } else if (conn_arg_is(&c->argv[2], "off")) {
        c->flags &= ~CLIENT_NO_TOUCH;
    } else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c);
}

/* CLIENT PAUSE <timeout-ms> [WRITE|ALL], checked in Redis 7.0's order: the
 * argument count, the mode, then the timeout. */
void
cmd_client_pause(struct client *c)
{
    int mode = PAUSE_ALL;
    long long ms, now;

    if (c->argc > 4) {
        reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. "
                     "Try CLIENT HELP.", (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len),
                     c->argv[1].ptr);
        return;
    }
    if (c->argc == 4) {
        if (conn_arg_is(&c->argv[3], "write")) {
            mode = PAUSE_WRITE;
        } else if (!conn_arg_is(&c->argv[3], "all")) {
            reply_error(c, "CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &ms) != 0) {
        reply_error(c, "timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(c, "timeout is negative");
        return;
    }
    /* 0 is a time already past (pauses nothing); a huge one means forever. */
    now = util_mstime();
    pause_start(c->srv, mode, ms == 0 ? 0 : (ms > LLONG_MAX - now ? LLONG_MAX : now + ms));
    reply_ok(c);
}

void
cmd_client_unpause(struct client *c)
{
    pause_end(c->srv);
    reply_ok(c);
}

/* CLIENT UNBLOCK <id> [TIMEOUT|ERROR]: release a client waiting on keys
 * (BLPOP and friends); it answers its timeout reply, or -UNBLOCKED. */
void
cmd_client_unblock(struct client *c)
{
    long long id;
    int with_error = 0;
    if (c->argc > 4) {
        reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. "
                        "Try CLIENT HELP.", (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    /* Redis 7.0's order: the reason, then the id. */
    if (c->argc == 4) {
        const struct resp_arg *how = &c->argv[3];
        if (how->len == 5 && strncasecmp(how->ptr, "error", 5) == 0) {
            with_error = 1;
        } else if (!(how->len == 7 && strncasecmp(how->ptr, "timeout", 7) == 0)) {
            reply_error(c, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &id) != 0) {
        reply_not_integer(c);
        return;
    }
    for (struct client *cl = c->srv->clients; cl != NULL; cl = cl->next) {
        if ((long long)cl->id == id) {
            reply_int(c, block_unblock(cl, with_error));
            return;
        }
    }
    reply_int(c, 0);
}

void
cmd_client_help(struct client *c)
{
    static const char *const lines[] = {
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ID <client-id>",
        "      Kill the connection with this ID.",
        "    * ADDR <ip:port>",
        "      Kill connections made from the specified address",
        "    * LADDR <ip:port>",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients with the specified IDs.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>",
        "    Set client meta attributes. Options are:",
        "    * LIB-NAME <name>",
        "      The name of the client library.",
        "    * LIB-VER <version>",
        "      The version of the client library.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        NULL,
    };
    reply_help(c, "CLIENT", lines);
}
