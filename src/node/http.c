/* The HTTP interface: a route table over evhttp, a binary-safe query-string
 * parser, the cache get/set/del handlers over the db module, and the Prometheus
 * exposition of the statistics INFO reports.  Every request runs on the
 * node's event loop, between RESP commands, against database 0. */
#include "node/http.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "node/db.h"
#include "node/evict.h"
#include "node/server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define HTTP_MAX_PARAMS 16
/* Request line and headers; values larger than this go in the body. */
#define HTTP_MAX_HEADERS_SIZE (1024 * 1024)

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_BINARY "application/octet-stream"
#define CT_JSON "application/json"
#define CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* ---- query strings ------------------------------------------------------ */

/* A decoded name=value pair; both point into the query's buffer and are
 * binary-safe (a %00 in a key or value is kept). */
struct http_param {
    const char *name;
    size_t namelen;
    const char *value;
    size_t valuelen;
};

struct http_query {
    struct http_param params[HTTP_MAX_PARAMS];
    int n;
    char *buf;                      /* owned: decoded bytes */
};

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

/* Decode src[0..len) (%XX escapes, '+' as space, as HTML forms send it)
 * into dst; returns the decoded length or -1 on a malformed escape. */
static long
percent_decode(const char *src, size_t len, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                return -1;
            }
            hi = hex_digit(src[i + 1]);
            lo = hex_digit(src[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (src[i] == '+') {
            dst[o++] = ' ';
        } else {
            dst[o++] = src[i];
        }
    }
    return (long)o;
}

/* Parse a raw query string ("a=1&b=%20x"); NULL is an empty query.
 * Returns 0, or -1 when it is malformed or has too many parameters. */
static int
http_query_parse(struct http_query *q, const char *raw)
{
    size_t len = raw ? strlen(raw) : 0;
    char *out;
    const char *p = raw, *end = raw + len;

    q->n = 0;
    q->buf = mem_alloc(len + 1);
    out = q->buf;
    while (p != NULL && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *nend = eq ? eq : stop;
        long nl, vl = 0;
        if (stop == p) {
            p = stop + 1;           /* "a=1&&b=2": skip the empty pair */
            continue;
        }
        if (q->n == HTTP_MAX_PARAMS) {
            return -1;
        }
        nl = percent_decode(p, (size_t)(nend - p), out);
        if (nl < 0) {
            return -1;
        }
        q->params[q->n].name = out;
        q->params[q->n].namelen = (size_t)nl;
        out += nl;
        if (eq != NULL) {
            vl = percent_decode(eq + 1, (size_t)(stop - eq - 1), out);
            if (vl < 0) {
                return -1;
            }
        }
        q->params[q->n].value = out;
        q->params[q->n].valuelen = (size_t)vl;
        out += vl;
        q->n++;
        p = stop + 1;
    }
    return 0;
}

static void
http_query_free(struct http_query *q)
{
    mem_free(q->buf);
    q->buf = NULL;
    q->n = 0;
}

/* The first parameter called name, or NULL. */
static const struct http_param *
http_query_get(const struct http_query *q, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < q->n; i++) {
        if (q->params[i].namelen == len && memcmp(q->params[i].name, name, len) == 0) {
            return &q->params[i];
        }
    }
    return NULL;
}

/* ---- replies ------------------------------------------------------------ */

/* Send buf (emptied) as the reply body. */
static void
http_send(struct evhttp_request *req, int code, const char *ctype,
          struct evbuffer *buf)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", ctype);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp 2.1 would send the body after a HEAD's headers: announce
         * the length a GET would get and send none. */
        char len[32];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(buf));
        evhttp_add_header(out, "Content-Length", len);
        evbuffer_drain(buf, evbuffer_get_length(buf));
    }
    /* A NULL reason makes evhttp use the standard phrase for the code. */
    evhttp_send_reply(req, code, NULL, buf);
}

static void
http_reply(struct evhttp_request *req, int code, const char *ctype,
           const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add(buf, body, len);
    http_send(req, code, ctype, buf);
    evbuffer_free(buf);
}

static void
http_reply_text(struct evhttp_request *req, int code, const char *text)
{
    http_reply(req, code, CT_TEXT, text, strlen(text));
}

/* ---- handlers ----------------------------------------------------------- */

typedef void (*http_handler_fn)(struct server *srv, struct evhttp_request *req,
                                const struct http_query *q);

/* The key parameter, or NULL after replying 400. */
static const struct http_param *
require_key(struct evhttp_request *req, const struct http_query *q)
{
    const struct http_param *key = http_query_get(q, "key");
    if (key == NULL) {
        http_reply_text(req, HTTP_BADREQUEST, "ERR missing 'key' parameter\n");
    }
    return key;
}

static void
http_cache_get(struct server *srv, struct evhttp_request *req,
               const struct http_query *q)
{
    const struct http_param *key = require_key(req, q);
    struct entry *e;
    if (key == NULL) {
        return;
    }
    srv->stats.total_commands++;
    /* Counts a hit or miss and touches the key, exactly as GET does. */
    e = db_lookup(&srv->ks.dbs[0], key->value, key->valuelen, 0);
    if (e == NULL) {
        http_reply_text(req, HTTP_NOTFOUND, "not found\n");
        return;
    }
    http_reply(req, HTTP_OK, CT_BINARY, entry_val(e), e->vallen);
}

static void
http_cache_set(struct server *srv, struct evhttp_request *req,
               const struct http_query *q)
{
    const struct http_param *key = require_key(req, q);
    const struct http_param *vparam, *ttl;
    const char *val;
    size_t vallen;
    long long expire_ms = -1;

    if (key == NULL) {
        return;
    }
    vparam = http_query_get(q, "value");
    ttl = http_query_get(q, "ttl");
    if (vparam != NULL) {
        val = vparam->value;
        vallen = vparam->valuelen;
    } else {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
        vallen = evbuffer_get_length(body);
        /* An empty value is legitimate, but only when the client sent a
         * body on purpose; a bare POST is more likely a mistake. */
        if (vallen == 0 && evhttp_find_header(hdrs, "Content-Length") == NULL
            && evhttp_find_header(hdrs, "Transfer-Encoding") == NULL) {
            http_reply_text(req, HTTP_BADREQUEST,
                            "ERR missing 'value' parameter or request body\n");
            return;
        }
        val = vallen ? (const char *)evbuffer_pullup(body, -1) : "";
    }
    if (vallen > srv->cfg.proto_max_bulk_len || vallen > UINT32_MAX) {
        http_reply_text(req, HTTP_BADREQUEST, "ERR string exceeds maximum allowed size\n");
        return;
    }
    if (ttl != NULL) {
        long long secs;
        if (util_str2ll(ttl->value, ttl->valuelen, &secs) != 0) {
            http_reply_text(req, HTTP_BADREQUEST,
                            "ERR value is not an integer or out of range\n");
            return;
        }
        if (secs <= 0 || secs > (LLONG_MAX - srv->ks.now_ms) / 1000) {
            http_reply_text(req, HTTP_BADREQUEST,
                            "ERR invalid expire time in 'set' command\n");
            return;
        }
        expire_ms = srv->ks.now_ms + secs * 1000;
    }
    /* The same memory check dispatch applies to a DENYOOM command. */
    if (srv->cfg.maxmemory > 0 && evict_perform(srv) != 0) {
        http_reply_text(req, 507,
                        "OOM command not allowed when used memory > 'maxmemory'.\n");
        return;
    }
    srv->stats.total_commands++;
    db_set(&srv->ks.dbs[0], key->value, key->valuelen, val, vallen, expire_ms, 0);
    http_reply_text(req, HTTP_OK, "OK");
}

/* DELETE answers 200 with "1" or "0", the DEL reply, rather than 404 for a
 * missing key: deleting is idempotent, and a client that cares can tell the
 * two cases apart without treating "already gone" as an error. */
static void
http_cache_del(struct server *srv, struct evhttp_request *req,
               const struct http_query *q)
{
    const struct http_param *key = require_key(req, q);
    if (key == NULL) {
        return;
    }
    srv->stats.total_commands++;
    http_reply_text(req, HTTP_OK,
                    db_delete(&srv->ks.dbs[0], key->value, key->valuelen) ? "1" : "0");
}

static void
http_health(struct server *srv, struct evhttp_request *req,
            const struct http_query *q)
{
    char body[128];
    int n;
    (void)q;
    n = snprintf(body, sizeof(body), "{\"status\":\"OK\",\"uptime_seconds\":%lld}\n",
                 server_uptime(srv));
    http_reply(req, HTTP_OK, CT_JSON, body, (size_t)n);
}

static void
metric(struct evbuffer *b, const char *name, const char *type, const char *help,
       long long v)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help,
                        name, type, name, v);
}

static void
http_metrics(struct server *srv, struct evhttp_request *req,
             const struct http_query *q)
{
    struct evbuffer *b = evbuffer_new();
    struct keyspace *ks = &srv->ks;
    (void)q;
    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    metric(b, "cachely_commands_processed_total", "counter",
           "Commands processed, RESP and HTTP cache requests.", srv->stats.total_commands);
    metric(b, "cachely_keyspace_hits_total", "counter",
           "Successful key lookups.", ks->hits);
    metric(b, "cachely_keyspace_misses_total", "counter",
           "Key lookups that found nothing.", ks->misses);
    evbuffer_add_printf(b, "# HELP cachely_keys Keys in each database.\n"
                           "# TYPE cachely_keys gauge\n");
    for (int i = 0; i < ks->ndb; i++) {
        size_t n = dict_size(&ks->dbs[i].dict);
        /* db 0 always, so the series exists on an empty node. */
        if (i == 0 || n > 0) {
            evbuffer_add_printf(b, "cachely_keys{db=\"%d\"} %zu\n", i, n);
        }
    }
    metric(b, "cachely_expired_keys_total", "counter",
           "Keys deleted because their TTL passed.", ks->expired_keys);
    metric(b, "cachely_evicted_keys_total", "counter",
           "Keys evicted by the maxmemory policy.", ks->evicted_keys);
    metric(b, "cachely_memory_used_bytes", "gauge",
           "Memory allocated for data, tables and client buffers.",
           (long long)mem_used());
    metric(b, "cachely_memory_max_bytes", "gauge",
           "The maxmemory limit (0 = none).", (long long)srv->cfg.maxmemory);
    metric(b, "cachely_connected_clients", "gauge",
           "Connected RESP clients.", (long long)srv->nclients);
    metric(b, "cachely_uptime_seconds", "gauge",
           "Seconds since the server started.", server_uptime(srv));
    http_send(req, HTTP_OK, CT_PROMETHEUS, b);
    evbuffer_free(b);
}

/* ---- routing ------------------------------------------------------------ */

#define READ_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

static const struct http_route {
    const char *path;
    int methods;                    /* enum evhttp_cmd_type bits */
    const char *allow;              /* the Allow header of a 405 */
    http_handler_fn fn;
} routes[] = {
    {"/cache/get", READ_METHODS, "GET, HEAD", http_cache_get},
    {"/cache/set", EVHTTP_REQ_POST, "POST", http_cache_set},
    {"/cache/del", EVHTTP_REQ_DELETE, "DELETE", http_cache_del},
    {"/health", READ_METHODS, "GET, HEAD", http_health},
    {"/metrics", READ_METHODS, "GET, HEAD", http_metrics},
};

static void
http_on_request(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const struct http_route *route = NULL;
    struct http_query q;

    if (path == NULL) {
        http_reply_text(req, HTTP_BADREQUEST, "ERR malformed request URI\n");
        return;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!strcmp(path, routes[i].path)) {
            route = &routes[i];
        }
    }
    if (route == NULL) {
        http_reply_text(req, HTTP_NOTFOUND, "not found\n");
        return;
    }
    if (!(evhttp_request_get_command(req) & route->methods)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", route->allow);
        http_reply_text(req, HTTP_BADMETHOD, "method not allowed\n");
        return;
    }
    if (http_query_parse(&q, evhttp_uri_get_query(uri)) != 0) {
        http_query_free(&q);
        http_reply_text(req, HTTP_BADREQUEST, "ERR malformed query string\n");
        return;
    }
    keyspace_tick(&srv->ks);
    route->fn(srv, req, &q);
    http_query_free(&q);
}

/* ---- setup -------------------------------------------------------------- */

int
http_setup(struct server *srv)
{
    char *words[16];
    char *scratch;
    const char *host = "127.0.0.1";
    int rc = 0;

    if (srv->cfg.http_port == 0) {
        return 0;
    }
    srv->http = evhttp_new(srv->base);
    if (srv->http == NULL) {
        return -1;
    }
    /* Accept every method so the routes, not evhttp, answer 405. */
    evhttp_set_allowed_methods(srv->http,
                               EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD
                                   | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                                   | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE
                                   | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->cfg.proto_max_bulk_len);
    evhttp_set_gencb(srv->http, http_on_request, srv);

    /* The RESP listener's first address, with its notations translated. */
    scratch = mem_alloc(strlen(srv->cfg.bind) + 1);
    if (option_split_line(srv->cfg.bind, scratch, words, 16) > 0) {
        host = words[0][0] == '-' ? words[0] + 1 : words[0];
        if (!strcmp(host, "*")) {
            host = "0.0.0.0";
        } else if (!strcmp(host, "::*")) {
            host = "::";
        }
    }
    if (evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)srv->cfg.http_port)
        == NULL) {
        log_error("Could not create HTTP listening socket %s:%lld", host,
                  srv->cfg.http_port);
        rc = -1;
    } else {
        log_info("HTTP interface listening on %s:%lld", host, srv->cfg.http_port);
    }
    mem_free(scratch);
    if (rc != 0) {
        http_teardown(srv);
    }
    return rc;
}

void
http_teardown(struct server *srv)
{
    /* Frees the bound socket, open connections and pending requests. */
    if (srv->http != NULL) {
        evhttp_free(srv->http);
        srv->http = NULL;
    }
}
