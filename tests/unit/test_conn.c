/* core/conn: plain sockets behave as read/write, and a TLS pair over a
 * socketpair handshakes, carries bytes, and refuses a client without a
 * certificate when tls-auth-clients is yes. */
#include "core/conn.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[] = "/tmp/cachely-conn-XXXXXX";
static char ca[256], crt[256], key[256];

static void
make_certs(void)
{
    char cmd[2048];
    /* As in the binaries: a close_notify to a closed peer must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(crt, sizeof(crt), "%s/s.crt", dir);
    snprintf(key, sizeof(key), "%s/s.key", dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ca"
             " -keyout ca.key -out ca.crt >/dev/null 2>&1"
             " && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost"
             " -keyout s.key -out s.csr >/dev/null 2>&1"
             " && openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
             " -days 1 -out s.crt >/dev/null 2>&1", dir);
    cr_assert_eq(system(cmd), 0, "openssl could not make certificates");
}

static void
cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

static void
pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

Test(conn, plain_socket_reads_what_was_written)
{
    int sv[2];
    pair(sv);
    struct conn *a = conn_plain_create(sv[0], "a:1");
    struct conn *b = conn_plain_create(sv[1], NULL);
    struct iovec iov[2] = {{"PI", 2}, {"NG", 2}};
    char buf[8];
    cr_assert_eq(conn_writev(a, iov, 2), 4);
    cr_assert_eq(conn_read(b, buf, sizeof(buf)), 4);
    cr_assert_eq(memcmp(buf, "PING", 4), 0);
    cr_assert_eq(conn_read(b, buf, sizeof(buf)), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(conn_pending(b), 0);
    cr_assert_str_eq(conn_peer(a), "a:1");
    conn_destroy(&a);
    cr_assert_null(a);
    cr_assert_eq(conn_read(b, buf, sizeof(buf)), 0);
    conn_destroy(&b);
}

/* Pumps both sides until b reads want bytes or either fails. */
static ssize_t
tls_exchange(struct conn *a, struct conn *b, const char *msg, char *out, size_t cap)
{
    size_t sent = 0, got = 0, want = strlen(msg);
    for (int i = 0; i < 1000 && got < want; i++) {
        if (sent < want) {
            ssize_t w = conn_write(a, msg + sent, want - sent);
            if (w > 0) {
                sent += (size_t)w;
            } else if (errno != EAGAIN) {
                return -1;
            }
        }
        ssize_t r = conn_read(b, out + got, cap - got);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0 || errno != EAGAIN) {
            return -1;
        }
    }
    return (ssize_t)got;
}

Test(conn, tls_pair_handshakes_and_carries_bytes, .fini = cleanup)
{
    make_certs();
    char err[256];
    struct conn_tls_config scfg = {.cert_file = crt, .key_file = key,
                                   .ca_cert_file = ca,
                                   .auth_clients = CONN_TLS_AUTH_NO,
                                   .session_caching = 1};
    struct conn_tls_config ccfg = {.ca_cert_file = ca};
    struct conn_tls_ctx *sctx = conn_tls_ctx_create(&scfg, 1, err, sizeof(err));
    cr_assert_not_null(sctx, "%s", err);
    struct conn_tls_ctx *cctx = conn_tls_ctx_create(&ccfg, 0, err, sizeof(err));
    cr_assert_not_null(cctx, "%s", err);
    int sv[2];
    pair(sv);
    struct conn *s = conn_tls_create(sv[0], sctx, 1, "s:1");
    struct conn *c = conn_tls_create(sv[1], cctx, 0, "c:1");
    /* The context outlives its owner's reference while conns hold one. */
    conn_tls_ctx_destroy(&sctx);
    conn_tls_ctx_destroy(&cctx);
    char buf[64] = {0};
    cr_assert_eq(tls_exchange(c, s, "*1\r\n$4\r\nPING\r\n", buf, sizeof(buf)), 14);
    cr_assert_str_eq(buf, "*1\r\n$4\r\nPING\r\n");
    cr_assert(conn_is_tls(s));
    conn_destroy(&s);
    conn_destroy(&c);
}

/* Regression (read-ahead, one read(2) per request): records OpenSSL read
 * from the socket but has not decrypted are invisible to SSL_pending; a
 * read whose buffer fills first must report them through conn_pending, or
 * a pipeline would wait for a socket event that never comes. */
Test(conn, tls_records_read_ahead_count_as_pending, .fini = cleanup)
{
    make_certs();
    char err[256];
    struct conn_tls_config scfg = {.cert_file = crt, .key_file = key,
                                   .auth_clients = CONN_TLS_AUTH_NO};
    struct conn_tls_config ccfg = {.ca_cert_file = ca};
    struct conn_tls_ctx *sctx = conn_tls_ctx_create(&scfg, 1, err, sizeof(err));
    struct conn_tls_ctx *cctx = conn_tls_ctx_create(&ccfg, 0, err, sizeof(err));
    cr_assert(sctx != NULL && cctx != NULL, "%s", err);
    int sv[2];
    pair(sv);
    struct conn *s = conn_tls_create(sv[0], sctx, 1, "s:1");
    struct conn *c = conn_tls_create(sv[1], cctx, 0, "c:1");
    conn_tls_ctx_destroy(&sctx);
    conn_tls_ctx_destroy(&cctx);
    char buf[64] = {0};
    cr_assert_eq(tls_exchange(c, s, "PING", buf, sizeof(buf)), 4);
    /* Three records in the socket at once, each "abcdefgh". */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(conn_write(c, "abcdefgh", 8), 8);
    }
    /* The first read takes them all from the socket; an 8-byte buffer is
     * full after one record, and the two whole records left must count as
     * pending although nothing is decrypted (SSL_pending is 0). */
    cr_assert_eq(conn_read(s, buf, 8), 8);
    cr_assert_gt(conn_pending(s), 0);
    size_t got = 8;
    while (conn_pending(s) > 0) {
        ssize_t r = conn_read(s, buf + got, 8);
        cr_assert_gt(r, 0, "pending bytes must read without the socket");
        got += (size_t)r;
    }
    cr_assert_eq(got, 24);
    cr_assert_eq(memcmp(buf, "abcdefghabcdefghabcdefgh", 24), 0);
    cr_assert_eq(conn_read(s, buf, sizeof(buf)), -1);
    cr_assert_eq(errno, EAGAIN);
    conn_destroy(&s);
    conn_destroy(&c);
}

Test(conn, tls_refuses_client_without_certificate_when_auth_required,
     .fini = cleanup)
{
    make_certs();
    char err[256];
    struct conn_tls_config scfg = {.cert_file = crt, .key_file = key,
                                   .ca_cert_file = ca,
                                   .auth_clients = CONN_TLS_AUTH_YES};
    struct conn_tls_config ccfg = {.ca_cert_file = ca};
    struct conn_tls_ctx *sctx = conn_tls_ctx_create(&scfg, 1, err, sizeof(err));
    struct conn_tls_ctx *cctx = conn_tls_ctx_create(&ccfg, 0, err, sizeof(err));
    cr_assert_not_null(sctx);
    cr_assert_not_null(cctx);
    int sv[2];
    pair(sv);
    struct conn *s = conn_tls_create(sv[0], sctx, 1, NULL);
    struct conn *c = conn_tls_create(sv[1], cctx, 0, NULL);
    char buf[64];
    cr_assert_eq(tls_exchange(c, s, "PING\r\n", buf, sizeof(buf)), -1);
    conn_destroy(&s);
    conn_destroy(&c);
    conn_tls_ctx_destroy(&sctx);
    conn_tls_ctx_destroy(&cctx);
}

Test(conn, tls_server_context_needs_a_certificate)
{
    char err[256] = "";
    struct conn_tls_config cfg = {0};
    cr_assert_null(conn_tls_ctx_create(&cfg, 1, err, sizeof(err)));
    cr_assert_str_eq(err, "tls-cert-file is not set");
}

/* A client context resumes the session of the peer name it talked to last
 * (a reconnect after a failover costs half the handshake's CPU); another
 * peer name gets a full handshake. */
Test(conn, tls_client_resumes_the_last_session_of_a_peer, .fini = cleanup)
{
    make_certs();
    char err[256];
    struct conn_tls_config scfg = {.cert_file = crt, .key_file = key,
                                   .auth_clients = CONN_TLS_AUTH_NO,
                                   .session_caching = 1};
    struct conn_tls_config ccfg = {.ca_cert_file = ca};
    struct conn_tls_ctx *sctx = conn_tls_ctx_create(&scfg, 1, err, sizeof(err));
    struct conn_tls_ctx *cctx = conn_tls_ctx_create(&ccfg, 0, err, sizeof(err));
    cr_assert(sctx != NULL && cctx != NULL, "%s", err);
    const char *peers[] = {"node:1", "node:1", "other:2"};
    const int resumed[] = {0, 1, 0};
    for (int k = 0; k < 3; k++) {
        int sv[2];
        pair(sv);
        struct conn *s = conn_tls_create(sv[0], sctx, 1, "s:1");
        struct conn *c = conn_tls_create(sv[1], cctx, 0, peers[k]);
        char buf[64] = {0};
        cr_assert_eq(tls_exchange(c, s, "PING", buf, sizeof(buf)), 4);
        /* The server's answer carries TLS 1.3's tickets to the client. */
        cr_assert_eq(tls_exchange(s, c, "PONG", buf, sizeof(buf)), 4);
        cr_assert_eq(conn_tls_resumed(c), resumed[k], "connection %d to %s", k, peers[k]);
        cr_assert_eq(conn_tls_resumed(s), resumed[k]);
        conn_destroy(&s);
        conn_destroy(&c);
    }
    conn_tls_ctx_destroy(&sctx);
    conn_tls_ctx_destroy(&cctx);
}
