/* The connection layer: one small interface over a socket, with a plain
 * implementation and a TLS one (OpenSSL 3), so the node's clients, the
 * replication link and the proxy's sessions and backends do I/O the same way.
 *
 * Calls mirror read(2)/write(2)/writev(2): they return the byte count, 0 for
 * a closed peer on read, or -1 with errno set (EAGAIN when the connection
 * must wait for an event; conn_wants() then says which one: a TLS write can
 * need the socket readable, a TLS read can need it writable).
 * The process must ignore SIGPIPE (both binaries do): TLS writes go through
 * send(2) without MSG_NOSIGNAL. */
#ifndef CACHELY_CORE_CONN_H
#define CACHELY_CORE_CONN_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn;
struct conn_tls_ctx;
struct ssl_st;

enum conn_want {
    CONN_WANT_NONE = 0,
    CONN_WANT_READ = 1,  /* retry once the socket is readable */
    CONN_WANT_WRITE = 2, /* retry once the socket is writable */
};

/* TLS settings with Redis's option names; NULL or 0 means "not set". */
struct conn_tls_config {
    const char *cert_file;        /* borrowed: tls-cert-file */
    const char *key_file;         /* borrowed: tls-key-file */
    const char *key_file_pass;    /* borrowed: tls-key-file-pass */
    const char *client_cert_file; /* borrowed: tls-client-cert-file */
    const char *client_key_file;  /* borrowed: tls-client-key-file */
    const char *ca_cert_file;     /* borrowed: tls-ca-cert-file */
    const char *ca_cert_dir;      /* borrowed: tls-ca-cert-dir */
    const char *protocols;        /* borrowed: "TLSv1.2 TLSv1.3" */
    const char *ciphers;          /* borrowed: TLSv1.2 cipher list */
    const char *ciphersuites;     /* borrowed: TLSv1.3 suites */
    int auth_clients;             /* CONN_TLS_AUTH_* */
    int prefer_server_ciphers;
    int session_caching;          /* 1 = on (Redis's default) */
    long session_cache_size;      /* 0 = OpenSSL's default */
    long session_cache_timeout;   /* seconds; 0 = OpenSSL's default */
};

enum conn_tls_auth {
    CONN_TLS_AUTH_YES = 0, /* Redis's default: a client certificate is required */
    CONN_TLS_AUTH_NO = 1,
    CONN_TLS_AUTH_OPTIONAL = 2,
};

/* Wraps a connected non-blocking socket; the conn owns fd from now on.
 * peer may be NULL (then it is looked up). Never fails but for memory. */
struct conn *conn_plain_create(int fd, const char *peer);

/* Wraps fd in a TLS session of ctx (server side when accept is nonzero).
 * The handshake runs inside the first conn_read/conn_write calls; until it
 * is done they fail with EAGAIN and conn_wants() tells the event to wait
 * for. Returns NULL (fd not taken) when OpenSSL cannot make a session. */
struct conn *conn_tls_create(int fd, struct conn_tls_ctx *ctx, int accept,
                             const char *peer);

ssize_t conn_read(struct conn *c, void *buf, size_t len);
ssize_t conn_write(struct conn *c, const void *buf, size_t len);
ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt);

/* Drives a TLS handshake without application data (a client that must
 * know the session is up before it writes).  Returns 0 when done (always
 * for plain sockets), or -1 with errno EAGAIN (conn_wants() says which
 * event to wait for) or another errno on failure. */
int conn_handshake(struct conn *c);

/* Writes all of buf, waiting (poll) up to timeout_ms for the socket while
 * the connection says it must (a TLS handshake runs inside).  For short
 * control exchanges (the replication handshake), not for client traffic.
 * Returns 0, or -1 with errno set (ETIMEDOUT when the time ran out). */
int conn_write_all(struct conn *c, const void *buf, size_t len, int timeout_ms);

/* Bytes already inside the connection that a read will return without the
 * socket becoming readable again (always 0 for plain sockets): a reader
 * that stops before draining must come back for them.  Counts 1 for whole
 * records OpenSSL read ahead when the last read filled its buffer first. */
size_t conn_pending(const struct conn *c);

/* After EAGAIN: which socket event the connection waits for. */
enum conn_want conn_wants(const struct conn *c);

/* 1 when the TLS handshake resumed a session: a client context keeps the
 * newest session of each peer name (up to 64) and offers it on the next
 * connection to that peer. */
int conn_tls_resumed(const struct conn *c);

int conn_fd(const struct conn *c);
int conn_is_tls(const struct conn *c);
/* "ip:port" of the peer; owned by the conn. */
const char *conn_peer(const struct conn *c);

/* Sends the TLS close_notify (best effort), closes the socket and frees the
 * conn; *cp becomes NULL. */
void conn_destroy(struct conn **cp);

/* Builds a TLS context from cfg (server side when server is nonzero: the
 * certificate is required there). Returns NULL with a message in err. The
 * context is reference counted: every conn made from it holds a reference,
 * so replacing the context (CONFIG SET tls-cert-file) leaves live
 * connections on the old one until they close. */
struct conn_tls_ctx *conn_tls_ctx_create(const struct conn_tls_config *cfg,
                                         int server, char *err, size_t errlen);
void conn_tls_ctx_destroy(struct conn_tls_ctx **ctxp);

/* A bare OpenSSL session (SSL *) of ctx, server side when accept is
 * nonzero, for a library that drives TLS itself (evhttp over
 * bufferevent_openssl).  The caller owns it (SSL_free); it holds its own
 * reference on the context, so a reload may drop ctx meanwhile.  NULL when
 * OpenSSL cannot make one. */
struct ssl_st *conn_tls_ctx_new_session(struct conn_tls_ctx *ctx, int accept);

#endif
