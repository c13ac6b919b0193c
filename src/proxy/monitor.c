/* MONITOR through the proxy (see monitor.h): the list of monitoring
 * sessions and the line each command becomes. */
#include "proxy/monitor.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static struct session **monitors; /* owned array; the sessions are borrowed */
static size_t nmonitors, capmonitors;

static long
index_of(const struct session *s)
{
    for (size_t i = 0; i < nmonitors; i++) {
        if (monitors[i] == s) {
            return (long)i;
        }
    }
    return -1;
}

void
monitor_command(struct session *s)
{
    static const char ok[] = "+OK\r\n";
    if (index_of(s) >= 0) {
        return; /* Redis answers nothing to a second MONITOR */
    }
    if (nmonitors == capmonitors) {
        capmonitors = capmonitors ? capmonitors * 2 : 4;
        monitors = mem_realloc(monitors, capmonitors * sizeof(*monitors));
    }
    monitors[nmonitors++] = s;
    session_reply(s, ok, sizeof(ok) - 1);
}

void
monitor_session_gone(struct session *s)
{
    long i = index_of(s);
    if (i < 0) {
        return;
    }
    memmove(monitors + i, monitors + i + 1,
            (nmonitors - (size_t)i - 1) * sizeof(*monitors));
    nmonitors--;
    if (nmonitors == 0) {
        mem_free(monitors);
        monitors = NULL;
        capmonitors = 0;
    }
}

size_t
monitor_count(void)
{
    return nmonitors;
}

/* An argument quoted as Redis's sdscatrepr quotes it. */
static void
repr(struct rbuf *b, const char *p, size_t len)
{
    rbuf_add(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char esc[8];
        switch (ch) {
        case '\\':
            rbuf_add(b, "\\\\", 2);
            break;
        case '"':
            rbuf_add(b, "\\\"", 2);
            break;
        case '\n':
            rbuf_add(b, "\\n", 2);
            break;
        case '\r':
            rbuf_add(b, "\\r", 2);
            break;
        case '\t':
            rbuf_add(b, "\\t", 2);
            break;
        case '\a':
            rbuf_add(b, "\\a", 2);
            break;
        case '\b':
            rbuf_add(b, "\\b", 2);
            break;
        default:
            if (ch >= 32 && ch < 127) {
                rbuf_add(b, p + i, 1);
            } else {
                snprintf(esc, sizeof(esc), "\\x%02x", ch);
                rbuf_add(b, esc, 4);
            }
        }
    }
    rbuf_add(b, "\"", 1);
}

/* Redis redacts AUTH's arguments and HELLO's AUTH username and password. */
static int
redacted(const struct command *cmd, size_t argc, const struct resp_arg *argv,
         size_t i)
{
    if (cmd->id == CMD_ID_AUTH) {
        return i >= 1;
    }
    if (cmd->id == CMD_ID_HELLO) {
        for (size_t j = 2; j + 2 < argc; j++) {
            if (argv[j].len == 4 && strncasecmp(argv[j].ptr, "auth", 4) == 0) {
                return i == j + 1 || i == j + 2;
            }
        }
    }
    return 0;
}

/* Whether cmd (with its subcommand) is shown: a container's subcommand
 * decides, as in Redis: ACL SETUSER (its rules hold passwords) is admin and
 * never shown. */
static int
shown(const struct command *cmd, size_t argc, const struct resp_arg *argv)
{
    if (cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)) {
        return 0;
    }
    if (cmd->nsubs > 0 && argc >= 2) {
        const struct command *sub = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (sub != NULL && (sub->flags & (CMD_ADMIN | CMD_SKIP_MONITOR))) {
            return 0;
        }
    }
    return 1;
}

/* The arguments part of a line, with its CRLF. */
static void
format_args(struct rbuf *b, const struct command *cmd, size_t argc,
            const struct resp_arg *argv)
{
    for (size_t i = 0; i < argc; i++) {
        if (redacted(cmd, argc, argv, i)) {
            repr(b, "(redacted)", 10);
        } else {
            repr(b, argv[i].ptr, argv[i].len);
        }
        if (i + 1 < argc) {
            rbuf_add(b, " ", 1);
        }
    }
    rbuf_add(b, "\r\n", 2);
}

/* One line (args: the arguments part, CRLF included) to every monitor. */
static void
send_line(struct session *s, const char *args, size_t len)
{
    struct rbuf b = {0};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    rbuf_printf(&b, "+%ld.%06ld [%d %s] ", (long)tv.tv_sec, (long)tv.tv_usec,
                s->db, s->addr);
    rbuf_add(&b, args, len);
    /* Replying never frees a session (a limit only marks it closing). */
    for (size_t i = 0; i < nmonitors; i++) {
        session_reply(monitors[i], b.p, b.len);
    }
    rbuf_free(&b);
}

/* monitor_feed's work when someone monitors (apart, so that the usual
 * call, with no monitor, is a leaf that saves no registers). */
static __attribute__((noinline)) void
feed(struct session *s, const struct command *cmd, size_t argc, const struct resp_arg *argv)
{
    if (!shown(cmd, argc, argv)) {
        return;
    }
    struct rbuf b = {0};
    format_args(&b, cmd, argc, argv);
    send_line(s, b.p, b.len);
    rbuf_free(&b);
}

void
monitor_defer(struct rbuf *lines, const struct command *cmd, size_t argc,
              const struct resp_arg *argv)
{
    if (nmonitors > 0 && shown(cmd, argc, argv)) {
        format_args(lines, cmd, argc, argv);
    }
}

void
monitor_flush(struct session *s, struct rbuf *lines)
{
    size_t at = 0;
    while (nmonitors > 0 && at < lines->len) {
        /* Arguments are quoted: CR and LF inside show as \r and \n. */
        const char *end = memchr(lines->p + at, '\n', lines->len - at);
        size_t n = end ? (size_t)(end - (lines->p + at)) + 1 : lines->len - at;
        send_line(s, lines->p + at, n);
        at += n;
    }
    lines->len = 0;
}

void
monitor_feed(struct session *s, const struct command *cmd, size_t argc,
             const struct resp_arg *argv)
{
    if (nmonitors > 0 && !(cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR))) {
        feed(s, cmd, argc, argv);
    }
}
