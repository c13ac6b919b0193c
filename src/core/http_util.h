/* HTTP plumbing that cachely-server and cachely-proxy share over evhttp:
 * binary-safe query strings, replies that answer HEAD correctly, Prometheus
 * text, and route tables whose lookup answers 400/404/405 itself.  What an
 * endpoint does stays in the binary's own http.c. */
#ifndef CACHELY_CORE_HTTP_UTIL_H
#define CACHELY_CORE_HTTP_UTIL_H

#include <stddef.h>

struct conn_tls_ctx;
struct event_base;
struct evbuffer;
struct evhttp;
struct evhttp_request;

#define HTTP_UTIL_CT_TEXT "text/plain; charset=utf-8"
#define HTTP_UTIL_CT_BINARY "application/octet-stream"
#define HTTP_UTIL_CT_JSON "application/json"
#define HTTP_UTIL_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* ---- listener ------------------------------------------------------------ */

/* A new evhttp on base that hands every request to cb(req, arg).  It accepts
 * every method, so that a route, not evhttp, answers 405; request line and
 * headers may take 1 MiB, a body max_body_size bytes.  Returns the evhttp
 * (owned by the caller, freed with evhttp_free) or NULL. */
struct evhttp *http_util_server_new(struct event_base *base, long long max_body_size,
                                    void (*cb)(struct evhttp_request *, void *),
                                    void *arg);

/* Serve HTTPS on evh from now on: every accepted connection runs a TLS
 * server session of the context *ctxp holds when it arrives, so a context
 * swapped in by a reload reaches new connections while open ones keep
 * theirs.  ctxp is borrowed and must stay valid, and *ctxp non-NULL, as long
 * as evh lives.  A connection whose session cannot be made is closed at
 * once: never served in plain text. */
void http_util_set_tls(struct evhttp *evh, struct conn_tls_ctx *const *ctxp);

/* ---- query strings ------------------------------------------------------- */

/* Percent-decode src[0..len) into dst ('+' is a space, as HTML forms send
 * it), or only measure it when dst is NULL.  Binary-safe: %00 becomes a NUL
 * byte, where evhttp's own decoder stops.  Returns the decoded length (at
 * most len), or -1 on a malformed escape. */
long http_util_decode(const char *src, size_t len, char *dst);

/* Check every escape of a raw query string (NULL is an empty query) and
 * count its name=value pairs; empty pairs ("a=1&&b=2") are not counted.
 * Returns the count, or -1 when any pair is malformed. */
long http_util_query_count(const char *raw);

/* A decoded query parameter. */
struct http_util_arg {
    int present;                     /* the query has the parameter */
    char *val;                       /* owned: the value, NUL-terminated for
                                      * convenience (it may hold NULs); NULL
                                      * when absent */
    size_t len;                      /* of val, without the terminating NUL */
};

/* Decode the value of the first parameter called name in a raw query string
 * (NULL is an empty query) into *out.  Returns 0, out->present saying whether
 * the parameter was there (free *out with http_util_arg_free), or -1 when any
 * pair of the query is malformed (*out is then empty). */
int http_util_query_arg(const char *raw, const char *name, struct http_util_arg *out);

/* http_util_query_arg for a parameter the request cannot do without.
 * Returns 0 (free *out with http_util_arg_free), or -1 after answering 400
 * ("ERR malformed query string" or "ERR missing '<name>' parameter"); *out
 * is then empty. */
int http_util_query_require(struct evhttp_request *req, const char *raw, const char *name,
                            struct http_util_arg *out);

/* Free a's value; a is then empty (and may be freed again). */
void http_util_arg_free(struct http_util_arg *a);

/* ---- replies ------------------------------------------------------------- */

/* Answer req with code (a NULL reason: evhttp's standard phrase), header
 * Content-Type: ctype and the bytes of body, which are moved out (body stays
 * the caller's, empty).  A HEAD gets the Content-Length a GET would get and
 * no body: libevent 2.1.12 would send the body after a HEAD's headers. */
void http_util_send(struct evhttp_request *req, int code, const char *ctype,
                    struct evbuffer *body);

/* http_util_send with body[0..len) (answers 500 if no buffer can be had). */
void http_util_reply(struct evhttp_request *req, int code, const char *ctype,
                     const char *body, size_t len);

/* A text/plain reply of the string text. */
void http_util_reply_text(struct evhttp_request *req, int code, const char *text);

/* A text/plain reply formatted as printf does; cut at 511 bytes. */
void http_util_replyf(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- authentication ------------------------------------------------------ */

/* The credentials of an "Authorization: Basic <base64 user:password>"
 * header: decoded into buf (cap bytes), with *user and *pass pointing into it
 * (the user may be empty).  Returns 0, or -1 when the request has no such
 * header or it is malformed or too long. */
int http_util_basic_auth(struct evhttp_request *req, char *buf, size_t cap,
                         const char **user, size_t *ulen, const char **pass,
                         size_t *plen);

/* Base64-decode src[0..len) (standard alphabet, '=' padding optional) into
 * dst, which has room for len * 3 / 4 bytes.  Returns the decoded length, or
 * -1 on a character outside the alphabet. */
long http_util_base64_decode(const char *src, size_t len, unsigned char *dst);

/* ---- Prometheus text ----------------------------------------------------- */

/* The "# HELP name help" and "# TYPE name type" lines of a metric family. */
void http_util_metric_head(struct evbuffer *b, const char *name, const char *type,
                           const char *help);

/* A family of one unlabelled sample: its head, then "name v". */
void http_util_metric(struct evbuffer *b, const char *name, const char *type,
                      const char *help, long long v);

/* ---- routes -------------------------------------------------------------- */

/* A route's handler.  ctx is what the caller dispatching to it passes (the
 * node's struct server, the proxy's struct proxy); query is the raw query
 * string, NULL when the URI has none, borrowed from req. */
typedef void (*http_util_handler_fn)(void *ctx, struct evhttp_request *req,
                                     const char *query);

/* The methods GET and HEAD, for a read-only route (needs <event2/http.h>). */
#define HTTP_UTIL_READ_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

struct http_util_route {
    const char *path;                /* borrowed: static, matched exactly */
    int methods;                     /* enum evhttp_cmd_type bits */
    const char *allow;               /* borrowed: the Allow header of a 405 */
    http_util_handler_fn fn;
};

/* The route of routes[0..n) for req's path, with *query set to the raw query
 * string (NULL when there is none, borrowed from req).  Returns NULL after
 * answering 400 (no path in the URI), 404 (no such route) or 405 with an
 * Allow header (a method the route does not take). */
const struct http_util_route *http_util_route_find(struct evhttp_request *req,
                                                   const struct http_util_route *routes,
                                                   size_t n, const char **query);

#endif
