/* Connection commands against a real server: PING/ECHO/QUIT/RESET, AUTH and
 * HELLO with and without requirepass, the pre-auth protocol limits, and the
 * CLIENT subcommands.  hiredis 0.14 cannot parse RESP3, so RESP3 replies
 * (and anything where the exact bytes matter) are read from a plain socket
 * and compared as bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <criterion/criterion.h>
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASSWORD "s3cret"
#define BAD_NAME \
    "ERR Client names cannot contain spaces, newlines or special characters."

static struct harness_server srv;

static void
start_plain(void)
{
    cr_assert_eq(harness_start(&srv, NULL), 0, "server did not start");
}

static void
start_with_password(void)
{
    static const char *const args[] = {"--requirepass", PASSWORD, NULL};
    cr_assert_eq(harness_start(&srv, args), 0, "server did not start");
}

static void
stop_server(void)
{
    harness_stop(&srv);
}

/* ---- a raw RESP connection ------------------------------------------- */

struct raw_conn {
    int fd;
    size_t len;          /* bytes buffered in buf */
    char buf[64 * 1024];
};

static struct raw_conn *
raw_connect(void)
{
    struct raw_conn *rc = calloc(1, sizeof(*rc));
    struct sockaddr_in sa;
    cr_assert_not_null(rc);
    rc->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(rc->fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(rc->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
                 "connect: %s", strerror(errno));
    return rc;
}

static void
raw_close(struct raw_conn **rcp)
{
    if (*rcp) {
        close((*rcp)->fd);
        free(*rcp);
        *rcp = NULL;
    }
}

static void
raw_send(struct raw_conn *rc, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(rc->fd, s, len);
        cr_assert_gt(n, 0, "write: %s", strerror(errno));
        s += n;
        len -= (size_t)n;
    }
}

static void
raw_send_str(struct raw_conn *rc, const char *s)
{
    raw_send(rc, s, strlen(s));
}

/* Read more bytes, waiting at most 5 s.  Returns the count, 0 on EOF, -1 on
 * timeout or error. */
static ssize_t
raw_fill(struct raw_conn *rc)
{
    struct pollfd p = {rc->fd, POLLIN, 0};
    if (rc->len == sizeof(rc->buf) || poll(&p, 1, 5000) <= 0) {
        return -1;
    }
    ssize_t n = read(rc->fd, rc->buf + rc->len, sizeof(rc->buf) - rc->len);
    if (n > 0) {
        rc->len += (size_t)n;
    }
    return n < 0 ? -1 : n;
}

/* End offset of the complete reply starting at pos, reading as needed;
 * -1 when the connection ends or stalls first. */
static long
raw_reply_end(struct raw_conn *rc, size_t pos)
{
    char *crlf;
    while ((crlf = pos < rc->len ? memmem(rc->buf + pos, rc->len - pos, "\r\n", 2)
                                 : NULL) == NULL) {
        if (raw_fill(rc) <= 0) {
            return -1;
        }
    }
    size_t line_end = (size_t)(crlf - rc->buf) + 2;
    char type = rc->buf[pos];
    long long n = atoll(rc->buf + pos + 1);
    if (type == '$' || type == '=' || type == '!') {
        if (n < 0) {
            return (long)line_end;
        }
        while (rc->len < line_end + (size_t)n + 2) {
            if (raw_fill(rc) <= 0) {
                return -1;
            }
        }
        return (long)(line_end + (size_t)n + 2);
    }
    if (type == '*' || type == '%' || type == '~' || type == '>') {
        long end = (long)line_end;
        long long items = type == '%' ? n * 2 : n;
        for (long long i = 0; i < items; i++) {
            end = raw_reply_end(rc, (size_t)end);
            if (end < 0) {
                return -1;
            }
        }
        return end;
    }
    return (long)line_end;
}

/* Take one whole reply into out (NUL-terminated); returns its length.
 * Fails the test when none arrives. */
static size_t
raw_reply(struct raw_conn *rc, char *out, size_t cap)
{
    long end = raw_reply_end(rc, 0);
    cr_assert_gt(end, 0, "no complete reply (have %zu bytes: '%.*s')", rc->len,
                 (int)rc->len, rc->buf);
    cr_assert_lt((size_t)end, cap, "reply too long for the test buffer");
    memcpy(out, rc->buf, (size_t)end);
    out[end] = '\0';
    memmove(rc->buf, rc->buf + end, rc->len - (size_t)end);
    rc->len -= (size_t)end;
    return (size_t)end;
}

/* Send a command and check that the next reply is exactly expect. */
static void
raw_expect(struct raw_conn *rc, const char *cmd, const char *expect)
{
    char got[8192];
    raw_send_str(rc, cmd);
    raw_reply(rc, got, sizeof(got));
    cr_assert_str_eq(got, expect, "reply to %s", cmd);
}

/* True when the server closes the connection (after any pending bytes). */
static int
raw_closed_by_server(struct raw_conn *rc)
{
    ssize_t n;
    while ((n = raw_fill(rc)) > 0) {
        rc->len = 0;
    }
    return n == 0;
}

/* The HELLO reply for this server, as RESP3 or RESP2 bytes. */
static void
hello_bytes(char *out, size_t cap, int proto, long long id)
{
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), ":%lld\r\n", id);
    snprintf(out, cap,
             "%s$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
             "$5\r\nproto\r\n:%d\r\n$2\r\nid\r\n%s$4\r\nmode\r\n$10\r\nstandalone\r\n"
             "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
             proto == 3 ? "%7\r\n" : "*14\r\n", proto, idbuf);
}

static long long
raw_client_id(struct raw_conn *rc)
{
    char got[64];
    raw_send_str(rc, "CLIENT ID\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(got[0], ':', "CLIENT ID replied %s", got);
    return atoll(got + 1);
}

/* The value of field in a CLIENT INFO/LIST line ("" when absent). */
static void
line_field(const char *line, const char *field, char *out, size_t cap)
{
    char key[64];
    const char *p;
    snprintf(key, sizeof(key), " %s=", field);
    p = strstr(line, key);
    if (p == NULL && strncmp(line, key + 1, strlen(key + 1)) == 0) {
        p = line - 1;
    }
    out[0] = '\0';
    if (p != NULL) {
        p += strlen(key);
        size_t n = strcspn(p, " \n");
        snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    }
}

static redisContext *
connect_or_fail(void)
{
    redisContext *c = harness_connect(&srv);
    cr_assert_not_null(c, "cannot connect");
    return c;
}

/* ---- PING, ECHO, QUIT -------------------------------------------------- */

Test(conn, ping_replies_pong_or_its_argument, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_expect(rc, "PING hello\r\n", "$5\r\nhello\r\n");
    raw_expect(rc, "PING a b\r\n",
               "-ERR wrong number of arguments for 'ping' command\r\n");
    raw_close(&rc);
}

Test(conn, ping_in_resp3_replies_the_same_types, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[1024];
    raw_send_str(rc, "HELLO 3\r\n");
    raw_reply(rc, got, sizeof(got));
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_expect(rc, "PING x\r\n", "$1\r\nx\r\n");
    raw_close(&rc);
}

Test(conn, echo_returns_binary_argument, .init = start_plain, .fini = stop_server)
{
    redisContext *c = connect_or_fail();
    redisReply *r = harness_cmd(c, "ECHO %b", "a\0b\r\n", (size_t)5);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_eq(r->len, 5);
    cr_assert_eq(memcmp(r->str, "a\0b\r\n", 5), 0);
    freeReplyObject(r);
    redisFree(c);
}

Test(conn, quit_replies_ok_then_closes, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    /* The PING pipelined after QUIT must not be answered. */
    raw_expect(rc, "QUIT\r\nPING\r\n", "+OK\r\n");
    cr_assert(raw_closed_by_server(rc));
    cr_assert_eq(rc->len, 0, "bytes after +OK: %.*s", (int)rc->len, rc->buf);
    raw_close(&rc);
}

/* ---- HELLO ------------------------------------------------------------- */

Test(conn, hello_3_switches_to_resp3_and_replies_a_map, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    long long id = raw_client_id(rc);
    char expect[512];
    hello_bytes(expect, sizeof(expect), 3, id);
    raw_expect(rc, "HELLO 3\r\n", expect);
    /* RESP3 nulls from now on. */
    raw_expect(rc, "CLIENT GETNAME\r\n", "_\r\n");
    raw_close(&rc);
}

Test(conn, hello_2_replies_a_flat_array, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    long long id = raw_client_id(rc);
    char expect[512];
    hello_bytes(expect, sizeof(expect), 3, id);
    raw_expect(rc, "HELLO 3\r\n", expect);
    hello_bytes(expect, sizeof(expect), 2, id);
    raw_expect(rc, "HELLO 2\r\n", expect);
    raw_expect(rc, "CLIENT GETNAME\r\n", "$-1\r\n");
    raw_close(&rc);
}

Test(conn, hello_without_version_keeps_the_protocol, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    long long id = raw_client_id(rc);
    char expect[512];
    hello_bytes(expect, sizeof(expect), 2, id);
    raw_expect(rc, "HELLO\r\n", expect);
    raw_close(&rc);
}

Test(conn, hello_rejects_bad_versions_and_options, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n");
    raw_expect(rc, "HELLO 1\r\n", "-NOPROTO unsupported protocol version\r\n");
    raw_expect(rc, "HELLO three\r\n",
               "-ERR Protocol version is not an integer or out of range\r\n");
    raw_expect(rc, "HELLO 3 foo\r\n", "-ERR Syntax error in HELLO option 'foo'\r\n");
    raw_expect(rc, "HELLO 3 AUTH default\r\n",
               "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    raw_expect(rc, "HELLO 3 SETNAME\r\n",
               "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    raw_expect(rc, "HELLO 3 SETNAME \"a b\"\r\n",
               "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    /* None of the failures changed the protocol. */
    raw_expect(rc, "CLIENT GETNAME\r\n", "$-1\r\n");
    raw_close(&rc);
}

Test(conn, hello_setname_names_the_connection, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[1024];
    raw_send_str(rc, "HELLO 3 SETNAME first SETNAME second\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(got[0], '%');
    raw_expect(rc, "CLIENT GETNAME\r\n", "$6\r\nsecond\r\n");
    raw_close(&rc);
}

/* ---- RESP3 shapes ------------------------------------------------------ */

Test(conn, client_info_is_verbatim_in_resp3_and_bulk_in_resp2, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096], v[64];
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(got[0], '$', "RESP2 reply: %s", got);
    cr_assert(strstr(got, "\r\nid=") != NULL, "%s", got);
    cr_assert(strstr(got, "\n\r\n") != NULL, "line ends with a newline: %s", got);
    line_field(strstr(got, "\r\n") + 2, "resp", v, sizeof(v));
    cr_assert_str_eq(v, "2");

    raw_send_str(rc, "HELLO 3\r\n");
    raw_reply(rc, got, sizeof(got));
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(got[0], '=', "RESP3 reply: %s", got);
    const char *body = strstr(got, "\r\n") + 2;
    cr_assert_eq(strncmp(body, "txt:id=", 7), 0, "%s", got);
    /* The declared length counts "txt:" and the body. */
    cr_assert_eq((size_t)atoll(got + 1), strlen(body) - 2);
    line_field(body + 4, "resp", v, sizeof(v));
    cr_assert_str_eq(v, "3");
    line_field(body + 4, "cmd", v, sizeof(v));
    cr_assert_str_eq(v, "client|info");
    raw_close(&rc);
}

Test(conn, client_list_is_verbatim_in_resp3, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096];
    raw_send_str(rc, "HELLO 3\r\n");
    raw_reply(rc, got, sizeof(got));
    raw_expect(rc, "CLIENT LIST TYPE pubsub\r\n", "=4\r\ntxt:\r\n");
    raw_send_str(rc, "CLIENT LIST\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(strncmp(got, "=", 1), 0, "%s", got);
    cr_assert(strstr(got, "\r\ntxt:id=") != NULL, "%s", got);
    raw_close(&rc);
}

/* ---- RESET ------------------------------------------------------------- */

Test(conn, reset_restores_a_fresh_connection_state, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096], v[64];
    raw_send_str(rc, "HELLO 3 SETNAME worker\r\n");
    raw_reply(rc, got, sizeof(got));
    raw_expect(rc, "SELECT 2\r\n", "+OK\r\n");
    raw_expect(rc, "CLIENT NO-EVICT on\r\n", "+OK\r\n");
    raw_expect(rc, "RESET\r\n", "+RESET\r\n");
    raw_expect(rc, "CLIENT GETNAME\r\n", "$-1\r\n");
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(got[0], '$', "back to RESP2: %s", got);
    line_field(strstr(got, "\r\n") + 2, "db", v, sizeof(v));
    cr_assert_str_eq(v, "0");
    line_field(strstr(got, "\r\n") + 2, "resp", v, sizeof(v));
    cr_assert_str_eq(v, "2");
    /* Redis 7.0 keeps the no-evict flag across RESET. */
    line_field(strstr(got, "\r\n") + 2, "flags", v, sizeof(v));
    cr_assert_str_eq(v, "e");
    raw_close(&rc);
}

/* ---- AUTH without a password ----------------------------------------- */

Test(conn, auth_without_requirepass_explains_the_mistake, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "AUTH foo\r\n",
               "-ERR AUTH <password> called without any password configured "
               "for the default user. Are you sure your configuration is correct?\r\n");
    /* The default user has no password: any password logs it in. */
    raw_expect(rc, "AUTH default anything\r\n", "+OK\r\n");
    raw_expect(rc, "AUTH bob anything\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "AUTH a b c\r\n", "-ERR syntax error\r\n");
    raw_close(&rc);
}

/* ---- AUTH and HELLO with requirepass --------------------------------- */

Test(conn, commands_need_auth_when_a_password_is_set, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    raw_expect(rc, "GET k\r\n", "-NOAUTH Authentication required.\r\n");
    raw_expect(rc, "CLIENT ID\r\n", "-NOAUTH Authentication required.\r\n");
    raw_expect(rc, "AUTH wrong\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "AUTH bob " PASSWORD "\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "AUTH " PASSWORD "x\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    raw_expect(rc, "AUTH " PASSWORD "\r\n", "+OK\r\n");
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    /* A failed AUTH does not log an authenticated client out. */
    raw_expect(rc, "AUTH wrong\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_close(&rc);
}

Test(conn, auth_accepts_the_default_user_form, .init = start_with_password, .fini = stop_server)
{
    redisContext *c = connect_or_fail();
    cr_assert(harness_cmd_equals(c, "OK", "AUTH default %s", PASSWORD));
    cr_assert(harness_cmd_equals(c, "OK", "SET k v"));
    cr_assert(harness_cmd_equals(c, "v", "GET k"));
    redisFree(c);
}

Test(conn, hello_needs_auth_when_a_password_is_set, .init = start_with_password, .fini = stop_server)
{
    static const char noauth[] =
        "-NOAUTH HELLO must be called with the client already authenticated, "
        "otherwise the HELLO AUTH <user> <pass> option can be used to "
        "authenticate the client and select the RESP protocol version at the "
        "same time\r\n";
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "HELLO 3\r\n", noauth);
    raw_expect(rc, "HELLO 3 SETNAME x\r\n", noauth);
    raw_expect(rc, "HELLO 3 AUTH default nope\r\n",
               "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw_expect(rc, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    raw_close(&rc);
}

Test(conn, hello_auth_logs_in_and_switches_protocol, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[1024];
    raw_send_str(rc, "HELLO 3 AUTH default " PASSWORD " SETNAME app\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_eq(strncmp(got, "%7\r\n$6\r\nserver\r\n", 16), 0, "%s", got);
    raw_expect(rc, "CLIENT GETNAME\r\n", "$3\r\napp\r\n");
    raw_expect(rc, "GET nosuchkey\r\n", "_\r\n");
    raw_close(&rc);
}

Test(conn, reset_logs_out_when_a_password_is_set, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "AUTH " PASSWORD "\r\n", "+OK\r\n");
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_expect(rc, "RESET\r\n", "+RESET\r\n");
    raw_expect(rc, "PING\r\n", "-NOAUTH Authentication required.\r\n");
    /* The small pre-auth limits are back too. */
    raw_expect(rc, "*11\r\n",
               "-ERR Protocol error: unauthenticated multibulk length\r\n");
    cr_assert(raw_closed_by_server(rc));
    raw_close(&rc);
}

Test(conn, unauthenticated_multibulk_limit_closes_the_connection, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "*20\r\n",
               "-ERR Protocol error: unauthenticated multibulk length\r\n");
    cr_assert(raw_closed_by_server(rc));
    raw_close(&rc);
}

Test(conn, unauthenticated_bulk_limit_closes_the_connection, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "*2\r\n$20000\r\n",
               "-ERR Protocol error: unauthenticated bulk length\r\n");
    cr_assert(raw_closed_by_server(rc));
    raw_close(&rc);
}

Test(conn, authenticated_clients_lose_the_pre_auth_limits, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char cmd[40000];
    size_t n;
    raw_expect(rc, "AUTH " PASSWORD "\r\n", "+OK\r\n");
    /* Twelve arguments and a 20000-byte value, both over the pre-auth
     * limits. */
    n = (size_t)snprintf(cmd, sizeof(cmd),
                         "*12\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
                         "$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n"
                         "$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n"
                         "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$20000\r\n");
    memset(cmd + n, 'x', 20000);
    n += 20000;
    memcpy(cmd + n, "\r\n", 2);
    n += 2;
    raw_send(rc, cmd, n);
    char got[64];
    raw_reply(rc, got, sizeof(got));
    cr_assert_str_eq(got, ":0\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_str_eq(got, "+OK\r\n");
    raw_expect(rc, "STRLEN big\r\n", ":20000\r\n");
    raw_close(&rc);
}

Test(conn, auth_in_a_pipeline_lifts_the_limits_for_what_follows, .init = start_with_password, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[64];
    raw_send_str(rc, "AUTH " PASSWORD "\r\n*11\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n"
                     "$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n"
                     "$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_str_eq(got, "+OK\r\n");
    raw_reply(rc, got, sizeof(got));
    cr_assert_str_eq(got, ":0\r\n");
    raw_close(&rc);
}

/* ---- CLIENT ------------------------------------------------------------ */

Test(conn, client_id_matches_hello, .init = start_plain, .fini = stop_server)
{
    redisContext *c = connect_or_fail();
    redisReply *a = harness_cmd(c, "CLIENT ID");
    redisReply *h = harness_cmd(c, "HELLO 2");
    cr_assert_eq(a->type, REDIS_REPLY_INTEGER);
    cr_assert_eq(h->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(h->elements, 14);
    cr_assert_str_eq(h->element[6]->str, "id");
    cr_assert_eq(h->element[7]->integer, a->integer);
    cr_assert_str_eq(h->element[2]->str, "version");
    cr_assert_str_eq(h->element[3]->str, "7.0.15");
    freeReplyObject(a);
    freeReplyObject(h);
    redisFree(c);
}

Test(conn, client_setname_validates_and_getname_returns_it, .init = start_plain, .fini = stop_server)
{
    redisContext *c = connect_or_fail();
    redisReply *r = harness_cmd(c, "CLIENT GETNAME");
    cr_assert_eq(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    cr_assert(harness_cmd_equals(c, "OK", "CLIENT SETNAME abc~!"));
    cr_assert(harness_cmd_equals(c, "abc~!", "CLIENT GETNAME"));
    cr_assert(harness_cmd_equals(c, BAD_NAME, "CLIENT SETNAME %s", "a b"));
    cr_assert(harness_cmd_equals(c, BAD_NAME, "CLIENT SETNAME %s", "a\nb"));
    cr_assert(harness_cmd_equals(c, BAD_NAME, "CLIENT SETNAME %s", "caf\xc3\xa9"));
    cr_assert(harness_cmd_equals(c, "abc~!", "CLIENT GETNAME"), "failures keep the name");
    /* An empty name clears it. */
    cr_assert(harness_cmd_equals(c, "OK", "CLIENT SETNAME %s", ""));
    r = harness_cmd(c, "CLIENT GETNAME");
    cr_assert_eq(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisFree(c);
}

Test(conn, client_list_shows_every_connection_with_its_name, .init = start_plain, .fini = stop_server)
{
    redisContext *a = connect_or_fail();
    redisContext *b = connect_or_fail();
    cr_assert(harness_cmd_equals(a, "OK", "CLIENT SETNAME alpha"));
    cr_assert(harness_cmd_equals(b, "OK", "CLIENT SETNAME beta"));
    redisReply *r = harness_cmd(a, "CLIENT LIST");
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert(strstr(r->str, " name=alpha ") != NULL, "%s", r->str);
    cr_assert(strstr(r->str, " name=beta ") != NULL, "%s", r->str);
    /* Oldest connection first, one line each. */
    cr_assert(strstr(r->str, "name=alpha") < strstr(r->str, "name=beta"), "%s", r->str);
    cr_assert(strstr(r->str, " cmd=client|list ") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(a);
    redisFree(b);
}

Test(conn, client_list_filters_by_type_and_id, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    struct raw_conn *other = raw_connect();
    long long me = raw_client_id(rc);
    long long them = raw_client_id(other);
    char cmd[128], got[4096], v[32];

    raw_expect(rc, "CLIENT LIST TYPE pubsub\r\n", "$0\r\n\r\n");
    raw_expect(rc, "CLIENT LIST TYPE replica\r\n", "$0\r\n\r\n");
    raw_expect(rc, "CLIENT LIST TYPE master\r\n", "$0\r\n\r\n");
    raw_expect(rc, "CLIENT LIST TYPE foo\r\n", "-ERR Unknown client type 'foo'\r\n");
    raw_expect(rc, "CLIENT LIST ID abc\r\n", "-ERR Invalid client ID\r\n");
    raw_expect(rc, "CLIENT LIST ID\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT LIST foo bar\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT LIST ID 99999\r\n", "$0\r\n\r\n");

    snprintf(cmd, sizeof(cmd), "CLIENT LIST ID %lld\r\n", them);
    raw_send_str(rc, cmd);
    raw_reply(rc, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "id", v, sizeof(v));
    cr_assert_eq(atoll(v), them, "%s", got);
    cr_assert_eq(strchr(strstr(got, "\r\n") + 2, '\n'), got + strlen(got) - 3,
                 "one line: %s", got);

    raw_send_str(rc, "CLIENT LIST TYPE NORMAL\r\n");
    raw_reply(rc, got, sizeof(got));
    snprintf(cmd, sizeof(cmd), "id=%lld ", me);
    cr_assert(strstr(got, cmd) != NULL, "%s", got);
    snprintf(cmd, sizeof(cmd), "id=%lld ", them);
    cr_assert(strstr(got, cmd) != NULL, "%s", got);
    raw_close(&rc);
    raw_close(&other);
}

Test(conn, client_kill_old_form_closes_that_address, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *victim = raw_connect();
    struct raw_conn *rc = raw_connect();
    char got[4096], addr[64], cmd[128];

    raw_send_str(victim, "CLIENT INFO\r\n");
    raw_reply(victim, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "addr", addr, sizeof(addr));
    cr_assert_neq(addr[0], '\0', "%s", got);

    raw_expect(rc, "CLIENT KILL 127.0.0.1:1\r\n", "-ERR No such client\r\n");
    snprintf(cmd, sizeof(cmd), "CLIENT KILL %s\r\n", addr);
    raw_expect(rc, cmd, "+OK\r\n");
    cr_assert(raw_closed_by_server(victim));
    /* The killer carries on. */
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_close(&victim);
    raw_close(&rc);
}

Test(conn, client_kill_filters_count_the_connections_closed, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *v1 = raw_connect();
    struct raw_conn *v2 = raw_connect();
    struct raw_conn *rc = raw_connect();
    long long id1 = raw_client_id(v1);
    char cmd[128];

    raw_expect(v2, "PING\r\n", "+PONG\r\n");
    raw_expect(rc, "CLIENT KILL ID 99999\r\n", ":0\r\n");
    snprintf(cmd, sizeof(cmd), "CLIENT KILL ID %lld\r\n", id1);
    raw_expect(rc, cmd, ":1\r\n");
    cr_assert(raw_closed_by_server(v1));
    raw_expect(v2, "PING\r\n", "+PONG\r\n");
    /* SKIPME defaults to yes: only v2 goes. */
    raw_expect(rc, "CLIENT KILL TYPE normal USER default\r\n", ":1\r\n");
    cr_assert(raw_closed_by_server(v2));
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_close(&v1);
    raw_close(&v2);
    raw_close(&rc);
}

Test(conn, client_kill_rejects_bad_filters, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    raw_expect(rc, "CLIENT KILL ID abc\r\n", "-ERR client-id should be greater than 0\r\n");
    raw_expect(rc, "CLIENT KILL ID 0\r\n", "-ERR client-id should be greater than 0\r\n");
    raw_expect(rc, "CLIENT KILL TYPE foo\r\n", "-ERR Unknown client type 'foo'\r\n");
    raw_expect(rc, "CLIENT KILL SKIPME maybe\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT KILL USER nobody\r\n", "-ERR No such user 'nobody'\r\n");
    raw_expect(rc, "CLIENT KILL MAXAGE 5\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT KILL ID 1 SKIPME\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT KILL ADDR 1.2.3.4:5 LADDR 1.2.3.4:6\r\n", ":0\r\n");
    raw_expect(rc, "PING\r\n", "+PONG\r\n");
    raw_close(&rc);
}

Test(conn, client_kill_of_self_replies_then_closes, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    long long id = raw_client_id(rc);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "CLIENT KILL ID %lld SKIPME no\r\nPING\r\n", id);
    raw_expect(rc, cmd, ":1\r\n");
    cr_assert(raw_closed_by_server(rc));
    cr_assert_eq(rc->len, 0);
    raw_close(&rc);
}

Test(conn, client_kill_old_form_may_name_the_caller, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096], addr[64], cmd[128];
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "addr", addr, sizeof(addr));
    snprintf(cmd, sizeof(cmd), "CLIENT KILL %s\r\n", addr);
    raw_expect(rc, cmd, "+OK\r\n");
    cr_assert(raw_closed_by_server(rc));
    raw_close(&rc);
}

Test(conn, client_setinfo_records_library_attributes, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096], v[64];
    raw_expect(rc, "CLIENT SETINFO LIB-NAME hiredis\r\n", "+OK\r\n");
    raw_expect(rc, "CLIENT SETINFO lib-ver 0.14.1\r\n", "+OK\r\n");
    raw_expect(rc, "CLIENT SETINFO lib-foo x\r\n", "-ERR Unrecognized option 'lib-foo'\r\n");
    raw_expect(rc, "CLIENT SETINFO lib-name \"a b\"\r\n",
               "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n");
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "lib-name", v, sizeof(v));
    cr_assert_str_eq(v, "hiredis");
    line_field(strstr(got, "\r\n") + 2, "lib-ver", v, sizeof(v));
    cr_assert_str_eq(v, "0.14.1");
    raw_close(&rc);
}

Test(conn, client_no_evict_sets_the_flag, .init = start_plain, .fini = stop_server)
{
    struct raw_conn *rc = raw_connect();
    char got[4096], v[16];
    raw_expect(rc, "CLIENT NO-EVICT maybe\r\n", "-ERR syntax error\r\n");
    raw_expect(rc, "CLIENT NO-EVICT ON\r\n", "+OK\r\n");
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "flags", v, sizeof(v));
    cr_assert_str_eq(v, "e");
    raw_expect(rc, "CLIENT NO-EVICT off\r\n", "+OK\r\n");
    raw_send_str(rc, "CLIENT INFO\r\n");
    raw_reply(rc, got, sizeof(got));
    line_field(strstr(got, "\r\n") + 2, "flags", v, sizeof(v));
    cr_assert_str_eq(v, "N");
    raw_close(&rc);
}

Test(conn, client_help_lists_the_subcommands, .init = start_plain, .fini = stop_server)
{
    redisContext *c = connect_or_fail();
    redisReply *r = harness_cmd(c, "CLIENT HELP");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_str_eq(r->element[0]->str,
                     "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    cr_assert_str_eq(r->element[r->elements - 2]->str, "HELP");
    cr_assert_str_eq(r->element[r->elements - 1]->str, "    Prints this help.");
    int found = 0;
    for (size_t i = 0; i < r->elements; i++) {
        found += strcmp(r->element[i]->str, "NO-EVICT (ON|OFF)") == 0;
    }
    cr_assert_eq(found, 1);
    freeReplyObject(r);
    redisFree(c);
}
