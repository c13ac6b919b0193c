/* The reply writers the handlers call (reply_ok ... reply_subcommand_error):
 * RESP2/RESP3 framing over client.c's output buffer (reply_raw), with
 * Redis's error wording and error statistics. */
#include "node/client.h"
#include "core/resp.h"
#include "core/util.h"
#include "node/client_int.h"
#include "node/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
reply_ok(struct client *c)
{
    reply_raw(c, "+OK\r\n", 5);
}

void
reply_status(struct client *c, const char *s)
{
    size_t len = strlen(s);
    char line[64];
    /* One append for the usual short status (PONG, QUEUED, ...). */
    if (len <= sizeof(line) - 3) {
        line[0] = '+';
        memcpy(line + 1, s, len);
        line[len + 1] = '\r';
        line[len + 2] = '\n';
        reply_raw(c, line, len + 3);
        return;
    }
    reply_raw(c, "+", 1);
    reply_raw(c, s, len);
    reply_raw(c, "\r\n", 2);
}

static void
reply_error_len(struct client *c, const char *msg, size_t len)
{
    char clean[512];
    size_t n = 0;
    /* An error is one line: newlines inside would break the protocol. */
    for (size_t i = 0; i < len && n < sizeof(clean) - 1; i++) {
        clean[n++] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    }
    if (n == 0 || clean[0] != '-') {
        reply_raw(c, "-ERR ", 5);
        server_count_error(c->srv, "ERR", 3);
    } else {
        size_t p = 1;
        while (p < n && clean[p] != ' ') {
            p++;
        }
        server_count_error(c->srv, clean + 1, p - 1);
    }
    reply_raw(c, clean, n);
    reply_raw(c, "\r\n", 2);
    c->cmd_errors++;
}

void
reply_error(struct client *c, const char *msg)
{
    reply_error_len(c, msg, strlen(msg));
}

void
reply_errorf(struct client *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    reply_error_len(c, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Where n bytes of a reply can be written straight into the client's
 * buffer (no reply block yet, room left, a client that gets its replies),
 * the client queued for writing; NULL when reply_raw's general path must
 * take them.  The caller adds what it wrote to c->bufpos. */
static inline char *
reply_inplace(struct client *c, size_t n)
{
    if (c->reply != NULL || c->bufpos + n > CLIENT_BUF_SIZE
        || (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_MASTER | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP))) {
        return NULL;
    }
    client_queue_at_first_byte(c);
    return c->buf + c->bufpos;
}

static inline void
reply_prefixed(struct client *c, char prefix, long long n)
{
    char *o = reply_inplace(c, RESP_HDR_MAX);
    if (o != NULL) {
        if ((unsigned long long)n < 10) {
            /* One digit (:0, :1, *0, *2...): no formatter call. */
            o[0] = prefix;
            o[1] = (char)('0' + n);
            o[2] = '\r';
            o[3] = '\n';
            c->bufpos += 4;
            return;
        }
        c->bufpos += resp_fmt_prefixed(o, prefix, n);
        return;
    }
    char hdr[RESP_HDR_MAX];
    reply_raw(c, hdr, resp_fmt_prefixed(hdr, prefix, n));
}

void
reply_int(struct client *c, long long v)
{
    reply_prefixed(c, ':', v);
}

void
reply_bulk(struct client *c, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    size_t h = resp_fmt_prefixed(hdr, '$', (long long)len);
    /* Small values: one copy of header, body and CRLF into the buffer. */
    char *o = reply_inplace(c, h + len + 2);
    if (o != NULL) {
        memcpy(o, hdr, h);
        memcpy(o + h, p, len);
        o[h + len] = '\r';
        o[h + len + 1] = '\n';
        c->bufpos += h + len + 2;
        return;
    }
    reply_raw(c, hdr, h);
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void
reply_bulk_cstr(struct client *c, const char *s)
{
    if (s == NULL) {
        reply_null(c);
        return;
    }
    reply_bulk(c, s, strlen(s));
}

void
reply_bulk_ll(struct client *c, long long v)
{
    char buf[32];
    size_t n = util_ll2str(buf, v);
    reply_bulk(c, buf, n);
}

void
reply_null(struct client *c)
{
    /* In place as reply_prefixed (SPOP, LPOP, GET of an absent key). */
    char *o = reply_inplace(c, RESP_HDR_MAX);
    if (o != NULL) {
        c->bufpos += resp_fmt_null(o, c->resp);
        return;
    }
    char b[RESP_HDR_MAX];
    reply_raw(c, b, resp_fmt_null(b, c->resp));
}

void
reply_null_array(struct client *c)
{
    char b[RESP_HDR_MAX];
    reply_raw(c, b, resp_fmt_null_array(b, c->resp));
}

void
reply_array_len(struct client *c, long long n)
{
    reply_prefixed(c, '*', n);
}

void
reply_map_len(struct client *c, long long n)
{
    char b[RESP_HDR_MAX];
    reply_raw(c, b, resp_fmt_map(b, n, c->resp));
}

void
reply_set_len(struct client *c, long long n)
{
    char b[RESP_HDR_MAX];
    reply_raw(c, b, resp_fmt_set(b, n, c->resp));
}

void
reply_double(struct client *c, double d)
{
    char b[RESP_DOUBLE_MAX];
    reply_raw(c, b, resp_fmt_double(b, d, c->resp));
}

void
reply_bool(struct client *c, int b)
{
    char buf[RESP_HDR_MAX];
    reply_raw(c, buf, resp_fmt_bool(buf, b, c->resp));
}

void
reply_verbatim(struct client *c, const char *p, size_t len, const char *ext)
{
    char b[RESP_HDR_MAX];
    reply_raw(c, b, resp_fmt_verbatim_hdr(b, len, ext, c->resp));
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void
reply_bignum(struct client *c, const char *digits, size_t len)
{
    if (c->resp < 3) {
        reply_bulk(c, digits, len);
        return;
    }
    reply_raw(c, "(", 1);
    reply_raw(c, digits, len);
    reply_raw(c, "\r\n", 2);
}

int
reply_attribute_len(struct client *c, long long n)
{
    if (c->resp < 3) {
        return 0;
    }
    reply_prefixed(c, '|', n);
    return 1;
}

void
reply_push_len(struct client *c, long long n)
{
    reply_prefixed(c, '>', n);
}

void
reply_syntax_error(struct client *c)
{
    reply_error(c, "syntax error");
}

void
reply_wrongtype(struct client *c)
{
    reply_error(c, "-WRONGTYPE Operation against a key holding the wrong kind of value");
}

void
reply_not_integer(struct client *c)
{
    reply_error(c, "value is not an integer or out of range");
}

void
reply_arity_error(struct client *c)
{
    reply_errorf(c, "wrong number of arguments for '%s' command",
                 c->cmd ? c->cmd->fullname : "?");
}

void
reply_help(struct client *c, const char *container, const char *const *lines)
{
    long long n = 0;
    char head[128];
    while (lines[n]) {
        n++;
    }
    snprintf(head, sizeof(head),
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             container);
    reply_array_len(c, n + 3);
    reply_status(c, head);
    for (long long i = 0; i < n; i++) {
        reply_status(c, lines[i]);
    }
    reply_status(c, "HELP");
    reply_status(c, "    Prints this help.");
}

void
reply_subcommand_error(struct client *c)
{
    const struct command *parent = c->cmd;
    char upper[64];
    size_t i;
    if (parent && parent->parent != CMD_ID_NONE) {
        parent = command_get(parent->parent);
    }
    for (i = 0; parent && parent->name[i] && i < sizeof(upper) - 1; i++) {
        upper[i] = (char)(parent->name[i] >= 'a' && parent->name[i] <= 'z'
                              ? parent->name[i] - 32 : parent->name[i]);
    }
    upper[i] = '\0';
    int sublen = c->argc > 1 ? (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len) : 0;
    reply_errorf(c, "unknown subcommand '%.*s'. Try %s HELP.", sublen,
                 c->argc > 1 ? c->argv[1].ptr : "", upper);
}
