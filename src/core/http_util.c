/* HTTP plumbing shared by the node and the proxy: the evhttp listener's
 * settings, a binary-safe query-string decoder, replies that handle HEAD,
 * Prometheus headers and route lookup with its 400/404/405 answers. */
#include "core/http_util.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Request line and headers; values larger than this go in the body. */
#define HTTP_UTIL_MAX_HEADERS_SIZE (1024 * 1024)

/* ---- listener ------------------------------------------------------------ */

struct evhttp *
http_util_server_new(struct event_base *base, long long max_body_size,
                     void (*cb)(struct evhttp_request *, void *), void *arg)
{
    struct evhttp *evh = evhttp_new(base);
    if (evh == NULL) {
        return NULL;
    }
    evhttp_set_allowed_methods(evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD
                                        | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                                        | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE
                                        | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(evh, HTTP_UTIL_MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(evh, (ev_ssize_t)max_body_size);
    evhttp_set_gencb(evh, cb, arg);
    return evh;
}

/* A failed HTTPS handshake, logged once with the peer's address: evhttp
 * owns the bufferevent's callbacks and closes the connection without a
 * word, so the session's own info callback watches the handshake.  OpenSSL
 * calls it when SSL_do_handshake returns; a return that put an error on
 * the queue (not a want-read) is a failure: plain HTTP, no or an untrusted
 * client certificate, a client that refused ours.  A peer that just closes
 * is not logged (as for the tls-port).  The callback is removed once it
 * logged or the handshake finished. */
static void
http_util_tls_info(const SSL *ssl, int where, int ret)
{
    if (where & SSL_CB_HANDSHAKE_DONE) {
        SSL_set_info_callback((SSL *)ssl, NULL);
        return;
    }
    if (!(where & SSL_CB_ACCEPT_EXIT) || ret > 0
        || SSL_get_error(ssl, ret) != SSL_ERROR_SSL) {
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?", msg[256];
    int port = 0, fd = SSL_get_fd(ssl);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
            port = ntohs(s4->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
            port = ntohs(s6->sin6_port);
        }
    }
    /* Peeked, not taken: the bufferevent collects the errors itself. */
    ERR_error_string_n(ERR_peek_last_error(), msg, sizeof(msg));
    log_warn("HTTPS handshake with %s:%d failed: %s", ip, port, msg);
    SSL_set_info_callback((SSL *)ssl, NULL);
}

/* evhttp's bevcb: the connection's bufferevent, TLS over a session of the
 * current context (evhttp sets the socket on it afterwards). */
static struct bufferevent *
http_util_tls_bev(struct event_base *base, void *arg)
{
    struct conn_tls_ctx *const *ctxp = arg;
    struct ssl_st *ssl = *ctxp != NULL ? conn_tls_ctx_new_session(*ctxp, 1) : NULL;
    if (ssl == NULL) {
        /* evhttp would serve a NULL as plain HTTP: hand it one end of a
         * pair whose other end is gone instead, which takes no socket and
         * never reads a byte (evhttp's timeout closes the connection). */
        struct bufferevent *pair[2];
        log_warn("HTTPS: no TLS session could be made for a new connection");
        if (bufferevent_pair_new(base, 0, pair) != 0) {
            return NULL; /* out of memory: so is evhttp's own fallback */
        }
        bufferevent_free(pair[1]);
        return pair[0];
    }
    SSL_set_info_callback(ssl, http_util_tls_info);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev != NULL) {
        /* curl and most clients close without close_notify. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
    return bev;
}

void
http_util_set_tls(struct evhttp *evh, struct conn_tls_ctx *const *ctxp)
{
    evhttp_set_bevcb(evh, http_util_tls_bev, (void *)ctxp);
}

/* ---- query strings ------------------------------------------------------- */

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The byte that src[*i] begins (a %XX escape, '+' or itself), moving *i past
 * it; -1 on a malformed escape. */
static int
decode_byte(const char *src, size_t len, size_t *i)
{
    char c = src[*i];
    if (c == '%') {
        int hi, lo;
        if (len - *i < 3) {
            return -1;
        }
        hi = hex_digit(src[*i + 1]);
        lo = hex_digit(src[*i + 2]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        *i += 3;
        return hi << 4 | lo;
    }
    *i += 1;
    return c == '+' ? ' ' : (unsigned char)c;
}

long
http_util_decode(const char *src, size_t len, char *dst)
{
    size_t i = 0, o = 0;
    while (i < len) {
        int c = decode_byte(src, len, &i);
        if (c < 0) {
            return -1;
        }
        if (dst != NULL) {
            dst[o] = (char)c;
        }
        o++;
    }
    return (long)o;
}

/* Whether src[0..len), known to be well formed, decodes to name[0..namelen). */
static int
decodes_to(const char *src, size_t len, const char *name, size_t namelen)
{
    size_t i = 0, o = 0;
    while (i < len) {
        int c = decode_byte(src, len, &i);
        if (o == namelen || c != (unsigned char)name[o]) {
            return 0;
        }
        o++;
    }
    return o == namelen;
}

/* One name=value pair of a raw query, still encoded; both point into it. */
struct query_pair {
    const char *name;
    size_t namelen;
    const char *value;               /* empty when the pair has no '=' */
    size_t valuelen;
};

/* Split the next non-empty pair off [*pos, end) into *pr and move *pos past
 * it.  Returns 1, or 0 when no pair is left. */
static int
query_next(const char **pos, const char *end, struct query_pair *pr)
{
    const char *p = *pos;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq;
        if (stop == p) {
            p++;                     /* "a=1&&b=2": skip the empty pair */
            continue;
        }
        eq = memchr(p, '=', (size_t)(stop - p));
        pr->name = p;
        pr->namelen = (size_t)((eq ? eq : stop) - p);
        pr->value = eq ? eq + 1 : stop;
        pr->valuelen = (size_t)(stop - pr->value);
        *pos = amp ? amp + 1 : end;
        return 1;
    }
    *pos = end;
    return 0;
}

long
http_util_query_count(const char *raw)
{
    const char *p = raw ? raw : "";
    const char *end = p + strlen(p);
    struct query_pair pr;
    long n = 0;
    while (query_next(&p, end, &pr)) {
        if (http_util_decode(pr.name, pr.namelen, NULL) < 0
            || http_util_decode(pr.value, pr.valuelen, NULL) < 0) {
            return -1;
        }
        n++;
    }
    return n;
}

int
http_util_query_arg(const char *raw, const char *name, struct http_util_arg *out)
{
    const char *p = raw ? raw : "";
    const char *end = p + strlen(p);
    size_t want = strlen(name);
    struct query_pair pr;

    memset(out, 0, sizeof(*out));
    /* Every pair is checked, not only those before the match, so that a
     * malformed query is refused whatever parameter is asked for. */
    while (query_next(&p, end, &pr)) {
        long nl = http_util_decode(pr.name, pr.namelen, NULL);
        long vl = http_util_decode(pr.value, pr.valuelen, NULL);
        if (nl < 0 || vl < 0) {
            http_util_arg_free(out);
            return -1;
        }
        if (!out->present && (size_t)nl == want
            && decodes_to(pr.name, pr.namelen, name, want)) {
            out->present = 1;
            out->val = mem_alloc((size_t)vl + 1);
            http_util_decode(pr.value, pr.valuelen, out->val);
            out->val[vl] = '\0';
            out->len = (size_t)vl;
        }
    }
    return 0;
}

int
http_util_query_require(struct evhttp_request *req, const char *raw, const char *name,
                        struct http_util_arg *out)
{
    if (http_util_query_arg(raw, name, out) != 0) {
        http_util_reply_text(req, HTTP_BADREQUEST, "ERR malformed query string\n");
        return -1;
    }
    if (!out->present) {
        http_util_replyf(req, HTTP_BADREQUEST, "ERR missing '%s' parameter\n", name);
        return -1;
    }
    return 0;
}

void
http_util_arg_free(struct http_util_arg *a)
{
    mem_free(a->val);
    a->val = NULL;
    a->len = 0;
    a->present = 0;
}

/* ---- replies ------------------------------------------------------------- */

void
http_util_send(struct evhttp_request *req, int code, const char *ctype,
               struct evbuffer *body)
{
    struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdrs, "Content-Type", ctype);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp 2.1 would send the body after a HEAD's headers: announce
         * the length a GET would get and send none. */
        char len[32];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
        evhttp_add_header(hdrs, "Content-Length", len);
        evbuffer_drain(body, evbuffer_get_length(body));
    }
    /* A NULL reason makes evhttp use the standard phrase for the code. */
    evhttp_send_reply(req, code, NULL, body);
}

void
http_util_reply(struct evhttp_request *req, int code, const char *ctype,
                const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add(buf, body, len);
    http_util_send(req, code, ctype, buf);
    evbuffer_free(buf);
}

void
http_util_reply_text(struct evhttp_request *req, int code, const char *text)
{
    http_util_reply(req, code, HTTP_UTIL_CT_TEXT, text, strlen(text));
}

void
http_util_replyf(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    http_util_reply(req, code, HTTP_UTIL_CT_TEXT, text,
                    (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

/* ---- Prometheus text ----------------------------------------------------- */

void
http_util_metric_head(struct evbuffer *b, const char *name, const char *type,
                      const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
http_util_metric(struct evbuffer *b, const char *name, const char *type, const char *help,
                 long long v)
{
    http_util_metric_head(b, name, type, help);
    evbuffer_add_printf(b, "%s %lld\n", name, v);
}

/* ---- routes -------------------------------------------------------------- */

const struct http_util_route *
http_util_route_find(struct evhttp_request *req, const struct http_util_route *routes,
                     size_t n, const char **query)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

    *query = NULL;
    if (path == NULL) {
        http_util_reply_text(req, HTTP_BADREQUEST, "ERR malformed request URI\n");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(path, routes[i].path) != 0) {
            continue;
        }
        if (!(evhttp_request_get_command(req) & routes[i].methods)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                              routes[i].allow);
            http_util_reply_text(req, HTTP_BADMETHOD, "method not allowed\n");
            return NULL;
        }
        *query = evhttp_uri_get_query(uri);
        return &routes[i];
    }
    http_util_reply_text(req, HTTP_NOTFOUND, "not found\n");
    return NULL;
}

/* ---- authentication ------------------------------------------------------ */

static int
b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+') {
        return 62;
    }
    if (ch == '/') {
        return 63;
    }
    return -1;
}

long
http_util_base64_decode(const char *src, size_t len, unsigned char *dst)
{
    unsigned acc = 0;
    int bits = 0;
    long out = 0;
    while (len > 0 && src[len - 1] == '=') {
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)src[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[out++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    return out;
}

int
http_util_basic_auth(struct evhttp_request *req, char *buf, size_t cap,
                     const char **user, size_t *ulen, const char **pass, size_t *plen)
{
    struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
    const char *h = hdrs ? evhttp_find_header(hdrs, "Authorization") : NULL;
    const char *colon;
    size_t len;
    long n;

    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0) {
        return -1;
    }
    h += 6;
    while (*h == ' ') {
        h++;
    }
    len = strlen(h);
    while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t')) {
        len--;
    }
    if (len / 4 * 3 + 3 > cap) {
        return -1;
    }
    n = http_util_base64_decode(h, len, (unsigned char *)buf);
    if (n < 0) {
        return -1;
    }
    colon = memchr(buf, ':', (size_t)n);
    if (colon == NULL) {
        return -1;
    }
    *user = buf;
    *ulen = (size_t)(colon - buf);
    *pass = colon + 1;
    *plen = (size_t)n - *ulen - 1;
    return 0;
}
