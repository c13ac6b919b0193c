/* MONITOR (see monitor.h). */
#include "node/monitor.h"
#include "core/alloc.h"
#include "core/command.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/* A quoted argument as Redis's sdscatrepr writes it. */
static size_t
repr(char *out, const char *s, size_t len)
{
    size_t n = 0;
    out[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\': out[n++] = '\\'; out[n++] = '\\'; break;
        case '"': out[n++] = '\\'; out[n++] = '"'; break;
        case '\n': out[n++] = '\\'; out[n++] = 'n'; break;
        case '\r': out[n++] = '\\'; out[n++] = 'r'; break;
        case '\t': out[n++] = '\\'; out[n++] = 't'; break;
        case '\a': out[n++] = '\\'; out[n++] = 'a'; break;
        case '\b': out[n++] = '\\'; out[n++] = 'b'; break;
        default:
            if (ch >= 32 && ch < 127) {
                out[n++] = (char)ch;
            } else {
                n += (size_t)sprintf(out + n, "\\x%02x", ch);
            }
        }
    }
    out[n++] = '"';
    return n;
}

void
monitor_feed(struct client *c, const struct command *cmd)
{
    if (cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)) {
        return;
    }
    monitor_feed_now(c);
}

void
monitor_feed_now(struct client *c)
{
    struct monitors *m = &c->srv->monitors;
    if (m->n == 0) {
        return;
    }
    size_t cap = 64 + sizeof(c->addr) + 8;
    for (size_t i = 0; i < c->argc; i++) {
        cap += c->argv[i].len * 4 + 16;
    }
    char *line = mem_alloc(cap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    /* A unix socket client reads "unix:<path>", as in Redis. */
    size_t n = (size_t)snprintf(line, cap, "+%ld.%06ld [%d %s%s] ", (long)tv.tv_sec,
                                (long)tv.tv_usec, c->db ? c->db->id : 0,
                                (c->flags & CLIENT_UNIX_SOCKET) ? "unix:" : "",
                                (c->flags & CLIENT_UNIX_SOCKET) ? c->srv->cfg.unixsocket
                                                                : c->addr);
    for (size_t i = 0; i < c->argc; i++) {
        if (client_arg_redacted(c, i)) {
            n += repr(line + n, "(redacted)", 10);
        } else {
            n += repr(line + n, c->argv[i].ptr, c->argv[i].len);
        }
        if (i + 1 < c->argc) {
            line[n++] = ' ';
        }
    }
    line[n++] = '\r';
    line[n++] = '\n';
    for (size_t i = 0; i < m->n; i++) {
        reply_raw(m->clients[i], line, n);
        client_queue_write(m->clients[i]);
    }
    mem_free(line);
}

void
monitor_client_gone(struct client *c)
{
    struct monitors *m = &c->srv->monitors;
    if (!(c->flags & CLIENT_MONITOR)) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->clients[i] == c) {
            memmove(m->clients + i, m->clients + i + 1, (m->n - i - 1) * sizeof(*m->clients));
            m->n--;
            break;
        }
    }
    c->flags &= ~CLIENT_MONITOR;
}

void
monitor_teardown(struct server *srv)
{
    mem_free(srv->monitors.clients);
    memset(&srv->monitors, 0, sizeof(srv->monitors));
}

void
cmd_monitor(struct client *c)
{
    struct monitors *m = &c->srv->monitors;
    if (c->flags & CLIENT_DENY_BLOCKING) {
        reply_error(c, "MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->flags & (CLIENT_MONITOR | CLIENT_REPLICA | CLIENT_MASTER | CLIENT_FAKE)) {
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->clients = mem_realloc(m->clients, m->cap * sizeof(*m->clients));
    }
    m->clients[m->n++] = c;
    c->flags |= CLIENT_MONITOR;
    reply_ok(c);
}
