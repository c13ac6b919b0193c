/* The HTTP interface: the node's route table, the cache get/set/del handlers
 * over the db module, and the Prometheus exposition of the statistics INFO
 * reports (query strings, replies and dispatch are core/http_util's).  Every
 * request runs on the node's event loop, between RESP commands, against
 * database 0. */
#include "node/acl.h"
#include "node/http.h"
#include "core/alloc.h"
#include "core/http_util.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "core/resp.h"
#include "node/client.h"
#include "node/db.h"
#include "node/server.h"
#include "node/tls.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* More parameters than any endpoint takes: such a query is refused. */
#define HTTP_MAX_PARAMS 16

/* ---- the cache endpoints ---------------------------------------------------
 * Each request becomes a RESP command run by a fake client through the same
 * call path as a network client's: replicated, written to the append-only
 * file, held by CLIENT PAUSE, refused on a read-only replica, checked
 * against maxmemory and requirepass.  The reply is turned into an HTTP
 * answer when the command has run (at once, or when a pause ends). */

enum http_kind { HTTP_KIND_GET, HTTP_KIND_SET, HTTP_KIND_DEL };

struct http_call {
    struct evhttp_request *req;  /* borrowed until answered */
    enum http_kind kind;
};

/* The HTTP status for a RESP error reply. */
static int
http_status_of_error(const char *err, size_t len)
{
    static const struct {
        const char *prefix;
        int code;
    } map[] = {
        {"NOAUTH", 401}, {"WRONGPASS", 401}, {"NOPERM", 403}, {"OOM", 507},
        {"READONLY", 403}, {"WRONGTYPE", 409}, {"LOADING", 503},
        {"MASTERDOWN", 503}, {"BUSY", 503}, {"NOREPLICAS", 503},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t n = strlen(map[i].prefix);
        if (len > n && memcmp(err, map[i].prefix, n) == 0 && err[n] == ' ') {
            return map[i].code;
        }
    }
    return HTTP_BADREQUEST;
}

/* The fake client's reply, contiguous (owned by the caller). */
static char *
take_reply(struct client *c, size_t *len)
{
    size_t total = c->bufpos + c->reply_bytes, off = c->bufpos;
    char *out = mem_alloc(total + 1);
    memcpy(out, c->buf, c->bufpos);
    for (struct reply_block *b = c->reply; b != NULL; b = b->next) {
        memcpy(out + off, b->data, b->used);
        off += b->used;
    }
    out[off] = '\0';
    *len = off;
    return out;
}

static void
http_call_done(struct client *c, void *arg)
{
    struct http_call *hc = arg;
    struct evhttp_request *req = hc->req;
    size_t len;
    char *r = take_reply(c, &len);
    const char *nl = memchr(r, '\r', len);
    size_t line = nl ? (size_t)(nl - r) : len;

    if (len > 0 && r[0] == '-') {
        char msg[512];
        int code = http_status_of_error(r + 1, line - 1);
        snprintf(msg, sizeof(msg), "%.*s\n", (int)(line - 1 < 500 ? line - 1 : 500), r + 1);
        if (code == 401) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Basic realm=\"cachely\"");
        }
        http_util_reply_text(req, code, msg);
    } else if (hc->kind == HTTP_KIND_GET) {
        long long n = -1;
        if (len > 1 && r[0] == '$') {
            util_str2ll(r + 1, line - 1, &n);
        }
        if (n < 0) {
            http_util_reply_text(req, HTTP_NOTFOUND, "not found\n");
        } else {
            http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_BINARY, r + line + 2, (size_t)n);
        }
    } else if (hc->kind == HTTP_KIND_DEL) {
        http_util_reply_text(req, HTTP_OK, len > 1 && r[1] != '0' ? "1" : "0");
    } else {
        http_util_reply_text(req, HTTP_OK, "OK");
    }
    mem_free(r);
    mem_free(hc);
    c->on_done = NULL;
    client_close_async(c);
}

/* The ACL user a request acts as, in *up: the one its HTTP Basic
 * credentials name, or the default user when it sends none and that user
 * needs no password.  Returns 1 when authenticated (commands then run with
 * that user's permissions), else 0 (*up is the default user, so commands
 * answer NOAUTH). */
static int
http_user(struct server *srv, struct evhttp_request *req, struct acl_user **up)
{
    char buf[1024];
    const char *user, *pass;
    size_t ulen, plen;
    struct acl_user *def = acl_default_user(srv);

    *up = def;
    if (def == NULL) {
        /* no ACL state (unit tests): requirepass alone */
        const char *pw = srv->cfg.requirepass;
        if (pw == NULL || pw[0] == '\0') {
            return 1;
        }
        if (http_util_basic_auth(req, buf, sizeof(buf), &user, &ulen, &pass, &plen) != 0) {
            return 0;
        }
        return util_secure_equals(pass, plen, pw, strlen(pw));
    }
    if (http_util_basic_auth(req, buf, sizeof(buf), &user, &ulen, &pass, &plen) != 0) {
        return acl_user_nopass(def);
    }
    struct acl_user *u = acl_authenticate(srv, NULL, user, ulen, pass, plen);
    if (u == NULL) {
        return 0;
    }
    *up = u;
    return 1;
}

static int
http_authenticated(struct server *srv, struct evhttp_request *req)
{
    struct acl_user *u;
    return http_user(srv, req, &u);
}

/* Run argv for req through the call path and answer when it has run. */
static void
http_call(struct server *srv, struct evhttp_request *req, enum http_kind kind,
          size_t argc, const struct resp_arg *argv)
{
    struct acl_user *user;
    unsigned flags = http_user(srv, req, &user) ? CLIENT_AUTHENTICATED : 0;
    struct client *c = client_create_fake(srv, flags);
    c->user = user; /* the request runs with that user's permissions */
    struct http_call *hc = mem_alloc(sizeof(*hc));
    size_t need = resp_command_len(argc, argv);

    c->qbuf = mem_alloc(need);
    c->qcap = need;
    c->qlen = resp_command_write(c->qbuf, argc, argv);
    snprintf(c->addr, sizeof(c->addr), "http");
    hc->req = req;
    hc->kind = kind;
    c->on_done = http_call_done;
    c->done_arg = hc;
    client_process_input(c);
}

static void
http_cache_get(void *ctx, struct evhttp_request *req, const char *query)
{
    struct http_util_arg key;
    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    struct resp_arg argv[2] = {{"GET", 3}, {key.val, key.len}};
    http_call(ctx, req, HTTP_KIND_GET, 2, argv);
    http_util_arg_free(&key);
}

/* /cache/set's own checks: returns the error text of a 400, or NULL with
 * the value in *val and *vallen. */
static const char *
cache_set_value(struct server *srv, struct evhttp_request *req,
                const struct http_util_arg *vparam, const char **val, size_t *vallen)
{
    if (vparam->present) {
        *val = vparam->val;
        *vallen = vparam->len;
    } else {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
        *vallen = evbuffer_get_length(body);
        /* An empty value is legitimate, but only when the client sent a
         * body on purpose; a bare POST is more likely a mistake. */
        if (*vallen == 0 && evhttp_find_header(hdrs, "Content-Length") == NULL
            && evhttp_find_header(hdrs, "Transfer-Encoding") == NULL) {
            return "ERR missing 'value' parameter or request body\n";
        }
        *val = *vallen ? (const char *)evbuffer_pullup(body, -1) : "";
    }
    if (*vallen > srv->cfg.proto_max_bulk_len || *vallen > UINT32_MAX) {
        return "ERR string exceeds maximum allowed size\n";
    }
    return NULL;
}

static void
http_cache_set(void *ctx, struct evhttp_request *req, const char *query)
{
    struct http_util_arg key, vparam, ttl;
    const char *err, *val = NULL;
    size_t vallen = 0;

    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    /* Cannot fail: http_on_request checked the whole query. */
    http_util_query_arg(query, "value", &vparam);
    http_util_query_arg(query, "ttl", &ttl);
    err = cache_set_value(ctx, req, &vparam, &val, &vallen);
    if (err != NULL) {
        http_util_reply_text(req, HTTP_BADREQUEST, err);
    } else {
        struct resp_arg argv[5] = {{"SET", 3}, {key.val, key.len}, {val, vallen},
                                   {"EX", 2}, {ttl.val, ttl.len}};
        http_call(ctx, req, HTTP_KIND_SET, ttl.present ? 5 : 3, argv);
    }
    http_util_arg_free(&key);
    http_util_arg_free(&vparam);
    http_util_arg_free(&ttl);
}

/* DELETE answers 200 with "1" or "0", the DEL reply, rather than 404 for a
 * missing key: deleting is idempotent, and a client that cares can tell the
 * two cases apart without treating "already gone" as an error. */
static void
http_cache_del(void *ctx, struct evhttp_request *req, const char *query)
{
    struct http_util_arg key;
    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    struct resp_arg argv[2] = {{"DEL", 3}, {key.val, key.len}};
    http_call(ctx, req, HTTP_KIND_DEL, 2, argv);
    http_util_arg_free(&key);
}

static void
http_health(void *ctx, struct evhttp_request *req, const char *query)
{
    struct server *srv = ctx;
    char body[128];
    int n;
    (void)query;
    n = snprintf(body, sizeof(body), "{\"status\":\"OK\",\"uptime_seconds\":%lld}\n",
                 server_uptime(srv));
    http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_JSON, body, (size_t)n);
}

static void
http_metrics(void *ctx, struct evhttp_request *req, const char *query)
{
    struct server *srv = ctx;
    struct evbuffer *b = evbuffer_new();
    struct keyspace *ks = &srv->ks;
    (void)query;
    if (!http_authenticated(srv, req)) {
        if (b != NULL) {
            evbuffer_free(b);
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Basic realm=\"cachely\"");
        http_util_reply_text(req, 401, "NOAUTH Authentication required.\n");
        return;
    }
    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    http_util_metric(b, "cachely_commands_processed_total", "counter",
                     "Commands processed, RESP and HTTP cache requests.",
                     srv->stats.total_commands);
    http_util_metric(b, "cachely_keyspace_hits_total", "counter",
                     "Successful key lookups.", ks->hits);
    http_util_metric(b, "cachely_keyspace_misses_total", "counter",
                     "Key lookups that found nothing.", ks->misses);
    http_util_metric_head(b, "cachely_keys", "gauge", "Keys in each database.");
    for (int i = 0; i < ks->ndb; i++) {
        size_t n = dict_size(&ks->dbs[i].dict);
        /* db 0 always, so the series exists on an empty node. */
        if (i == 0 || n > 0) {
            evbuffer_add_printf(b, "cachely_keys{db=\"%d\"} %zu\n", i, n);
        }
    }
    http_util_metric(b, "cachely_expired_keys_total", "counter",
                     "Keys deleted because their TTL passed.", ks->expired_keys);
    http_util_metric(b, "cachely_evicted_keys_total", "counter",
                     "Keys evicted by the maxmemory policy.", ks->evicted_keys);
    http_util_metric(b, "cachely_memory_used_bytes", "gauge",
                     "Memory allocated for data, tables and client buffers.",
                     (long long)mem_used());
    http_util_metric(b, "cachely_memory_max_bytes", "gauge",
                     "The maxmemory limit (0 = none).", (long long)srv->cfg.maxmemory);
    http_util_metric(b, "cachely_connected_clients", "gauge",
                     "Connected RESP clients.", (long long)srv->nclients);
    http_util_metric(b, "cachely_uptime_seconds", "gauge",
                     "Seconds since the server started.", server_uptime(srv));
    http_util_send(req, HTTP_OK, HTTP_UTIL_CT_PROMETHEUS, b);
    evbuffer_free(b);
}

/* ---- routing ------------------------------------------------------------ */

static const struct http_util_route routes[] = {
    {"/cache/get", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_cache_get},
    {"/cache/set", EVHTTP_REQ_POST, "POST", http_cache_set},
    {"/cache/del", EVHTTP_REQ_DELETE, "DELETE", http_cache_del},
    {"/health", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_health},
    {"/metrics", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_metrics},
};

static void
http_on_request(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    const char *query;
    const struct http_util_route *route =
        http_util_route_find(req, routes, sizeof(routes) / sizeof(routes[0]), &query);
    long nparams;

    if (route == NULL) {
        return;
    }
    /* Every route's query is checked, even where no parameter is read. */
    nparams = http_util_query_count(query);
    if (nparams < 0 || nparams > HTTP_MAX_PARAMS) {
        http_util_reply_text(req, HTTP_BADREQUEST, "ERR malformed query string\n");
        return;
    }
    keyspace_tick(&srv->ks);
    route->fn(srv, req, query);
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
    srv->http = http_util_server_new(srv->base, (long long)srv->cfg.proto_max_bulk_len,
                                     http_on_request, srv);
    if (srv->http == NULL) {
        return -1;
    }
    if (srv->cfg.http_tls) {
        /* tls_setup ran first and built the context for http-tls. */
        if (*tls_server_ctx_ref(srv) == NULL) {
            log_error("http-tls needs the tls-* certificate options");
            http_teardown(srv);
            return -1;
        }
        http_util_set_tls(srv->http, tls_server_ctx_ref(srv));
    }

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
        log_info("HTTP%s interface listening on %s:%lld", srv->cfg.http_tls ? "S" : "", host,
                 srv->cfg.http_port);
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
