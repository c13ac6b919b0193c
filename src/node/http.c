/* The HTTP interface: the node's route table, the cache get/set/del handlers
 * over the db module, and the Prometheus exposition of the statistics INFO
 * reports (query strings, replies and dispatch are core/http_util's).  Every
 * request runs on the node's event loop, between RESP commands, against
 * database 0. */
#include "node/http.h"
#include "core/alloc.h"
#include "core/http_util.h"
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

/* More parameters than any endpoint takes: such a query is refused. */
#define HTTP_MAX_PARAMS 16

/* ---- handlers ----------------------------------------------------------- */

/* Each is an http_util_handler_fn: ctx is the struct server, and
 * http_on_request has checked the query string. */

static void
http_cache_get(void *ctx, struct evhttp_request *req, const char *query)
{
    struct server *srv = ctx;
    struct http_util_arg key;
    struct entry *e;

    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    srv->stats.total_commands++;
    /* Counts a hit or miss and touches the key, exactly as GET does. */
    e = db_lookup(&srv->ks.dbs[0], key.val, key.len, 0);
    if (e == NULL) {
        http_util_reply_text(req, HTTP_NOTFOUND, "not found\n");
    } else {
        http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_BINARY, entry_val(e), e->vallen);
    }
    http_util_arg_free(&key);
}

/* The checks and the write of /cache/set; returns the error text of a 400
 * or 507, or NULL once the value is stored. */
static const char *
cache_set(struct server *srv, struct evhttp_request *req, const struct http_util_arg *key,
          const struct http_util_arg *vparam, const struct http_util_arg *ttl, int *code)
{
    const char *val;
    size_t vallen;
    long long expire_ms = -1;

    *code = HTTP_BADREQUEST;
    if (vparam->present) {
        val = vparam->val;
        vallen = vparam->len;
    } else {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
        vallen = evbuffer_get_length(body);
        /* An empty value is legitimate, but only when the client sent a
         * body on purpose; a bare POST is more likely a mistake. */
        if (vallen == 0 && evhttp_find_header(hdrs, "Content-Length") == NULL
            && evhttp_find_header(hdrs, "Transfer-Encoding") == NULL) {
            return "ERR missing 'value' parameter or request body\n";
        }
        val = vallen ? (const char *)evbuffer_pullup(body, -1) : "";
    }
    if (vallen > srv->cfg.proto_max_bulk_len || vallen > UINT32_MAX) {
        return "ERR string exceeds maximum allowed size\n";
    }
    if (ttl->present) {
        long long secs;
        if (util_str2ll(ttl->val, ttl->len, &secs) != 0) {
            return "ERR value is not an integer or out of range\n";
        }
        if (secs <= 0 || secs > (LLONG_MAX - srv->ks.now_ms) / 1000) {
            return "ERR invalid expire time in 'set' command\n";
        }
        expire_ms = srv->ks.now_ms + secs * 1000;
    }
    /* The same memory check dispatch applies to a DENYOOM command. */
    if (srv->cfg.maxmemory > 0 && evict_perform(srv) != 0) {
        *code = 507;
        return "OOM command not allowed when used memory > 'maxmemory'.\n";
    }
    srv->stats.total_commands++;
    db_set(&srv->ks.dbs[0], key->val, key->len, val, vallen, expire_ms, 0);
    return NULL;
}

static void
http_cache_set(void *ctx, struct evhttp_request *req, const char *query)
{
    struct http_util_arg key, vparam, ttl;
    const char *err;
    int code;

    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    /* Cannot fail: http_on_request checked the whole query. */
    http_util_query_arg(query, "value", &vparam);
    http_util_query_arg(query, "ttl", &ttl);
    err = cache_set(ctx, req, &key, &vparam, &ttl, &code);
    http_util_reply_text(req, err ? code : HTTP_OK, err ? err : "OK");
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
    struct server *srv = ctx;
    struct http_util_arg key;

    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    srv->stats.total_commands++;
    http_util_reply_text(req, HTTP_OK,
                         db_delete(&srv->ks.dbs[0], key.val, key.len) ? "1" : "0");
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
