/* cachely-proxy's optional HTTP interface (http-port): /cache/get, /cache/set
 * and /cache/del routed like the RESP commands they stand for, /health,
 * Prometheus /metrics and /topology as JSON, served by evhttp on the proxy's
 * event loop.  A cache request becomes an internal struct preq on a pooled
 * backend connection; its reply completes the HTTP request asynchronously. */
#include "proxy/http.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/http_util.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/access.h"
#include "proxy/backend.h"
#include "proxy/fanout.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Redis's default proto-max-bulk-len: a larger value would be refused by
 * the node anyway. */
#define HTTP_MAX_BODY_SIZE (512LL * 1024 * 1024)

/* Upper bounds of the node latency histogram's buckets, in microseconds;
 * one more bucket (+Inf) follows.  NODE_LATENCY_BUCKETS in topology.h is the
 * number of entries here plus one. */
static const long long latency_bounds_us[NODE_LATENCY_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000,
};

struct http_port {
    struct evhttp *evh;              /* owned */
    uint64_t affinity;               /* spreads cache requests over the pool */
};

/* ---- cache requests ------------------------------------------------------ */

enum http_op { HTTP_OP_GET, HTTP_OP_SET, HTTP_OP_DEL };

/* A cache request in flight.  It begins with its preq, which the backend
 * owns once sent: session_deliver frees the preq right after on_reply, and
 * with it the whole call.  evhttp owns req; the connection's close callback
 * (set while the call waits) clears req when evhttp frees it, so a reply
 * arriving later is dropped instead of touching freed memory. */
struct http_call {
    struct preq r;                   /* first member: see above */
    struct evhttp_request *req;      /* borrowed from evhttp; NULL once gone */
    enum http_op op;
};

static void
http_on_close(struct evhttp_connection *conn, void *arg)
{
    struct http_call *c = arg;
    struct evhttp_request *req = c->req;
    (void)conn;
    c->req = NULL;
    /* evhttp detaches (rather than frees) a request the user has not
     * answered when its client leaves: it is then ours to free.  An
     * attached one is freed by evhttp right after this callback. */
    if (req != NULL && evhttp_request_get_connection(req) == NULL) {
        evhttp_request_free(req);
    }
}

/* The node's reply, a whole RESP2 frame, as an HTTP answer. */
static void
http_on_reply(struct preq *r, const char *reply, size_t len)
{
    struct http_call *c = (struct http_call *)r;
    struct evhttp_request *req = c->req;
    const char *cr = len > 0 ? memchr(reply, '\r', len) : NULL;
    long long n;

    if (req == NULL) {
        return;                      /* the client is gone */
    }
    c->req = NULL;
    if (evhttp_request_get_connection(req) != NULL) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
    }
    if (cr == NULL) {
        http_util_replyf(req, 502, "ERR cachely-proxy: malformed reply from %s\n", r->node->name);
    } else if (reply[0] == '-') {
        http_util_replyf(req, 502, "%.*s\n", (int)(cr - reply - 1), reply + 1);
    } else if (c->op == HTTP_OP_GET && reply[0] == '$'
               && util_str2ll(reply + 1, (size_t)(cr - reply - 1), &n) == 0) {
        size_t hdr = (size_t)(cr - reply) + 2;
        if (n < 0) {
            http_util_replyf(req, HTTP_NOTFOUND, "not found\n");
        } else if (hdr + (size_t)n + 2 <= len) {
            http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_BINARY, reply + hdr, (size_t)n);
        } else {
            http_util_replyf(req, 502, "ERR cachely-proxy: truncated reply from %s\n",
                             r->node->name);
        }
    } else if (c->op == HTTP_OP_SET && reply[0] == '+') {
        http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_TEXT, reply + 1, (size_t)(cr - reply - 1));
    } else if (c->op == HTTP_OP_DEL && reply[0] == ':') {
        http_util_reply(req, HTTP_OK, HTTP_UTIL_CT_TEXT, reply + 1, (size_t)(cr - reply - 1));
    } else {
        http_util_replyf(req, 502, "ERR cachely-proxy: unexpected reply from %s: %.*s\n",
                         r->node->name, (int)(cr - reply > 64 ? 64 : cr - reply), reply);
    }
}

/* ---- credentials ------------------------------------------------------------ */

/* The proxy's ACL user a request acts as: the one its HTTP Basic
 * credentials name (an empty name is "default"), or the default user when
 * it sends none and that user needs no password.  NULL after answering 401
 * (the node's words and header). */
static struct acl_user *
http_user(struct proxy *px, struct evhttp_request *req)
{
    char buf[1024];
    const char *user, *pass;
    size_t ulen, plen;
    struct acl_user *u = NULL;
    if (http_util_basic_auth(req, buf, sizeof(buf), &user, &ulen, &pass, &plen) != 0) {
        u = access_no_password(px) ? acl_state_default(px->acl) : NULL;
    } else {
        if (ulen == 0) {
            user = "default";
            ulen = 7;
        }
        u = acl_state_authenticate(px->acl, user, ulen, pass, plen);
    }
    if (u == NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Basic realm=\"cachely\"");
        http_util_reply_text(req, 401, "NOAUTH Authentication required.\n");
    }
    return u;
}

/* May the request's user run argv?  0, or -1 after answering 401 or 403
 * (a denial goes to the proxy's ACL LOG as the RESP path logs it). */
static int
http_allowed(struct proxy *px, struct evhttp_request *req, size_t argc,
             const struct resp_arg *argv)
{
    struct acl_user *u = http_user(px, req);
    const struct command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    char msg[512], info[400];
    size_t pos;
    int r;
    if (u == NULL) {
        return -1;
    }
    r = acl_check(u, cmd, argc, argv, &pos);
    if (r == ACL_OK) {
        return 0;
    }
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn != NULL) {
        evhttp_connection_get_peer(conn, &peer, &port);
    }
    snprintf(info, sizeof(info), "id=0 addr=%s:%u laddr= fd=-1 name=http cmd=%s user=%s",
             peer ? peer : "?", (unsigned)port, cmd->fullname, acl_user_name(u));
    if (r == ACL_DENIED_CMD) {
        acl_log_push(px->acl, r, ACL_CTX_TOPLEVEL, cmd->fullname, strlen(cmd->fullname),
                     acl_user_name(u), info, px->cfg.acllog_max_len);
    } else {
        acl_log_push(px->acl, r, ACL_CTX_TOPLEVEL, argv[pos].ptr, argv[pos].len,
                     acl_user_name(u), info, px->cfg.acllog_max_len);
    }
    acl_noperm_text(r, ACL_CTX_TOPLEVEL, cmd, msg, sizeof(msg));
    http_util_replyf(req, 403, "%s\n", msg + 1);
    return -1;
}

/* Route argv (whose argv[1] is the key) as session.c routes a RESP command:
 * a read to a replica per read-policy (an HTTP request is a fresh client:
 * under "session" it has no write to wait for), else the group's master. */
static void
http_cache_send(struct proxy *px, struct evhttp_request *req, enum http_op op,
                size_t argc, const struct resp_arg *argv)
{
    struct group *g = topology_group_of_key(px, argv[1].ptr, argv[1].len);
    struct node *target;
    struct http_call *c;
    char *frame;
    size_t len;
    int rc = -1;

    if (http_allowed(px, req, argc, argv) != 0) {
        return;
    }
    px->total_commands++;
    target = topology_read_target(px, g, op == HTTP_OP_GET && px->cfg.read_policy != READ_MASTER,
                                  0);
    if (target == NULL) {
        px->route_errors++;
        http_util_replyf(req, 502, "ERR cachely-proxy: no master is known for group %s (yet)\n",
                         g->name);
        return;
    }
    c = mem_calloc(sizeof(*c));
    c->r.affinity = px->http->affinity++;
    c->r.select_db = 1;          /* an HTTP request works on database 0 */
    c->r.on_reply = http_on_reply;
    c->req = req;
    c->op = op;
    frame = fanout_encode(argc, argv, &len);
    rc = backend_send(px, target, NULL, &c->r, frame, len);
    if (rc != 0 && target != g->master && g->master != NULL) {
        px->routed_fallback++;
        rc = backend_send(px, g->master, NULL, &c->r, frame, len);
    }
    mem_free(frame);
    if (rc != 0) {
        px->route_errors++;
        mem_free(c);
        http_util_replyf(req, 502, "ERR cachely-proxy: %s is not reachable\n", target->name);
        return;
    }
    /* Until the reply: evhttp tells us if it frees the request first. */
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), http_on_close, c);
}

/* GET or DEL (cmd, three letters) of the key parameter. */
static void
http_cache_key_cmd(struct proxy *px, struct evhttp_request *req, const char *query,
                   enum http_op op, const char *cmd)
{
    struct http_util_arg key;
    if (http_util_query_require(req, query, "key", &key) != 0) {
        return;
    }
    struct resp_arg argv[2] = {{cmd, 3}, {key.val, key.len}};
    http_cache_send(px, req, op, 2, argv);
    http_util_arg_free(&key);
}

static void
http_cache_get(void *ctx, struct evhttp_request *req, const char *query)
{
    http_cache_key_cmd(ctx, req, query, HTTP_OP_GET, "GET");
}

static void
http_cache_del(void *ctx, struct evhttp_request *req, const char *query)
{
    http_cache_key_cmd(ctx, req, query, HTTP_OP_DEL, "DEL");
}

static void
http_cache_set(void *ctx, struct evhttp_request *req, const char *query)
{
    struct http_util_arg key, value, ttl;
    struct resp_arg argv[5] = {{"SET", 3}};
    size_t argc = 3;
    long long secs;
    const char *err = NULL;

    memset(&value, 0, sizeof(value));
    memset(&ttl, 0, sizeof(ttl));
    if (http_util_query_arg(query, "key", &key) != 0
        || http_util_query_arg(query, "value", &value) != 0
        || http_util_query_arg(query, "ttl", &ttl) != 0) {
        err = "malformed query string";
    } else if (!key.present) {
        err = "missing 'key' parameter";
    } else if (ttl.present && util_str2ll(ttl.val, ttl.len, &secs) != 0) {
        err = "value is not an integer or out of range";
    } else if (ttl.present && (secs <= 0 || secs > (LLONG_MAX - util_mstime()) / 1000)) {
        err = "invalid expire time in 'set' command";
    }
    argv[1] = (struct resp_arg){key.val, key.len};
    if (err == NULL && value.present) {
        argv[2] = (struct resp_arg){value.val, value.len};
    } else if (err == NULL) {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
        size_t len = evbuffer_get_length(body);
        /* An empty body is a legitimate empty value only when sent on
         * purpose; a bare POST is more likely a mistake. */
        if (len == 0 && evhttp_find_header(hdrs, "Content-Length") == NULL
            && evhttp_find_header(hdrs, "Transfer-Encoding") == NULL) {
            err = "missing 'value' parameter or request body";
        }
        argv[2] = (struct resp_arg){len ? (const char *)evbuffer_pullup(body, -1) : "", len};
    }
    if (err != NULL) {
        http_util_replyf(req, HTTP_BADREQUEST, "ERR %s\n", err);
    } else {
        if (ttl.present) {
            argv[3] = (struct resp_arg){"EX", 2};
            argv[4] = (struct resp_arg){ttl.val, ttl.len};
            argc = 5;
        }
        http_cache_send(ctx, req, HTTP_OP_SET, argc, argv);
    }
    http_util_arg_free(&key);
    http_util_arg_free(&value);
    http_util_arg_free(&ttl);
}

/* ---- status endpoints ---------------------------------------------------- */

static const char *
role_name(const struct node *n)
{
    return n->role == NODE_ROLE_MASTER    ? "master"
           : n->role == NODE_ROLE_REPLICA ? "replica"
                                          : "unknown";
}

/* s as the inside of a JSON string (or a Prometheus label value: both
 * escape '\\' and '"' the same way; control bytes only occur in JSON). */
static void
add_escaped(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            evbuffer_add_printf(b, "\\%c", ch);
        } else if (ch == '\n') {
            evbuffer_add(b, "\\n", 2);
        } else if (ch < 0x20) {
            evbuffer_add_printf(b, "\\u%04x", ch);
        } else {
            evbuffer_add(b, s, 1);
        }
    }
}

/* Groups with a master that is known, up and still a master. */
static size_t
masters_known(const struct proxy *px)
{
    size_t m = 0;
    for (size_t i = 0; i < px->ngroups; i++) {
        const struct node *n = px->groups[i].master;
        m += n != NULL && n->up && n->role == NODE_ROLE_MASTER;
    }
    return m;
}

static void
http_health(void *ctx, struct evhttp_request *req, const char *query)
{
    struct proxy *px = ctx;
    char body[160];
    size_t m = masters_known(px);
    int ok = m == px->ngroups;
    (void)query;
    int n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"groups\":%zu,\"masters_known\":%zu}\n",
                     ok ? "ok" : "degraded", px->ngroups, m);
    http_util_reply(req, ok ? HTTP_OK : HTTP_SERVUNAVAIL, HTTP_UTIL_CT_JSON, body, (size_t)n);
}

static void
http_topology(void *ctx, struct evhttp_request *req, const char *query)
{
    struct proxy *px = ctx;
    struct evbuffer *b;
    (void)query;
    if (http_user(px, req) == NULL) {
        return; /* answered 401, as the node's /metrics */
    }
    b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add_printf(b, "{\"groups\":[");
    for (size_t i = 0; i < px->ngroups; i++) {
        const struct group *g = &px->groups[i];
        evbuffer_add_printf(b, "%s{\"name\":\"", i ? "," : "");
        add_escaped(b, g->name);
        evbuffer_add_printf(b, "\",\"slots\":%lld,\"master\":", g->slots);
        if (g->master != NULL) {
            evbuffer_add(b, "\"", 1);
            add_escaped(b, g->master->name);
            evbuffer_add(b, "\"}", 2);
        } else {
            evbuffer_add_printf(b, "null}");
        }
    }
    evbuffer_add_printf(b, "],\"nodes\":[");
    for (size_t i = 0; i < px->nnodes; i++) {
        const struct node *n = px->nodes[i];
        evbuffer_add_printf(b, "%s{\"addr\":\"", i ? "," : "");
        add_escaped(b, n->name);
        evbuffer_add_printf(b, "\",\"group\":\"");
        add_escaped(b, n->group->name);
        evbuffer_add_printf(b, "\",\"role\":\"%s\",\"up\":%s,\"link_up\":%s,\"offset\":%lld,"
                               "\"requests\":%lld,\"errors\":%lld}",
                            role_name(n), n->up ? "true" : "false",
                            n->link_up ? "true" : "false", n->offset, n->requests, n->errors);
    }
    evbuffer_add_printf(b, "]}\n");
    http_util_send(req, HTTP_OK, HTTP_UTIL_CT_JSON, b);
    evbuffer_free(b);
}

/* name{node="h:p",group="g",role="r"<extra>} for node n. */
static void
node_series(struct evbuffer *b, const char *name, const struct node *n, const char *extra)
{
    evbuffer_add_printf(b, "%s{node=\"", name);
    add_escaped(b, n->name);
    evbuffer_add_printf(b, "\",group=\"");
    add_escaped(b, n->group->name);
    evbuffer_add_printf(b, "\",role=\"%s\"%s} ", role_name(n), extra);
}

static long long
node_inflight(const struct proxy *px, const struct node *n)
{
    long long inflight = 0;
    for (long long k = 0; k < 2 * px->cfg.pool_size; k++) {
        inflight += (long long)n->pool[k].inflight;
    }
    return inflight;
}

static long long
node_up(const struct proxy *px, const struct node *n)
{
    (void)px;
    return n->up;
}

static long long
node_requests(const struct proxy *px, const struct node *n)
{
    (void)px;
    return n->requests;
}

static long long
node_errors(const struct proxy *px, const struct node *n)
{
    (void)px;
    return n->errors;
}

/* The per-node series of /metrics, one row each. */
static const struct node_metric {
    const char *name;
    const char *type;
    const char *help;
    long long (*value)(const struct proxy *px, const struct node *n);
} node_metrics[] = {
    {"cachely_proxy_node_up", "gauge",
     "1 when the node answered a probe within down-after-ms.", node_up},
    {"cachely_proxy_node_requests_total", "counter", "Requests sent to the node.",
     node_requests},
    {"cachely_proxy_node_errors_total", "counter",
     "Error replies from the node and requests failed by a lost connection.", node_errors},
    {"cachely_proxy_node_inflight", "gauge",
     "Requests sent to the node and not answered yet.", node_inflight},
};

static void
http_metrics(void *ctx, struct evhttp_request *req, const char *query)
{
    struct proxy *px = ctx;
    struct evbuffer *b;
    (void)query;
    if (http_user(px, req) == NULL) {
        return; /* answered 401, as the node's /metrics */
    }
    b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    http_util_metric(b, "cachely_proxy_connected_clients", "gauge", "Connected RESP clients.",
                     (long long)px->nsessions);
    http_util_metric(b, "cachely_proxy_commands_total", "counter",
                     "Commands received, RESP and HTTP cache requests.", px->total_commands);
    http_util_metric_head(b, "cachely_proxy_routed_total", "counter",
                          "Commands routed: to a master, to a replica, or to the master because no "
                          "replica qualified or could be reached.");
    evbuffer_add_printf(b, "cachely_proxy_routed_total{target=\"master\"} %lld\n"
                           "cachely_proxy_routed_total{target=\"replica\"} %lld\n"
                           "cachely_proxy_routed_total{target=\"fallback\"} %lld\n",
                        px->routed_master, px->routed_replica, px->routed_fallback);
    http_util_metric(b, "cachely_proxy_route_errors_total", "counter",
                     "Commands answered with an error because no node could take them.",
                     px->route_errors);
    http_util_metric(b, "cachely_proxy_fanouts_total", "counter",
                     "Commands split or spread over several groups.", px->fanouts);
    http_util_metric(b, "cachely_proxy_groups", "gauge", "Groups (shards) configured.",
                     (long long)px->ngroups);
    http_util_metric(b, "cachely_proxy_masters_known", "gauge",
                     "Groups whose master is known and up.", (long long)masters_known(px));

    for (size_t m = 0; m < sizeof(node_metrics) / sizeof(node_metrics[0]); m++) {
        const struct node_metric *nm = &node_metrics[m];
        http_util_metric_head(b, nm->name, nm->type, nm->help);
        for (size_t i = 0; i < px->nnodes; i++) {
            node_series(b, nm->name, px->nodes[i], "");
            evbuffer_add_printf(b, "%lld\n", nm->value(px, px->nodes[i]));
        }
    }
    http_util_metric_head(b, "cachely_proxy_node_latency_seconds", "histogram",
                          "Time from sending a request to the node to its reply.");
    for (size_t i = 0; i < px->nnodes; i++) {
        const struct node *n = px->nodes[i];
        long long cum = 0;
        char le[48];
        for (int k = 0; k < NODE_LATENCY_BUCKETS; k++) {
            cum += n->latency_buckets[k];
            if (k < NODE_LATENCY_BUCKETS - 1) {
                snprintf(le, sizeof(le), ",le=\"%g\"", (double)latency_bounds_us[k] / 1e6);
            } else {
                snprintf(le, sizeof(le), ",le=\"+Inf\"");
            }
            node_series(b, "cachely_proxy_node_latency_seconds_bucket", n, le);
            evbuffer_add_printf(b, "%lld\n", cum);
        }
        node_series(b, "cachely_proxy_node_latency_seconds_sum", n, "");
        evbuffer_add_printf(b, "%.6f\n", (double)n->latency_us_sum / 1e6);
        node_series(b, "cachely_proxy_node_latency_seconds_count", n, "");
        evbuffer_add_printf(b, "%lld\n", cum);
    }
    http_util_metric_head(b, "cachely_proxy_node_latency_seconds_avg", "gauge",
                          "Average reply time of the node since the proxy started.");
    for (size_t i = 0; i < px->nnodes; i++) {
        const struct node *n = px->nodes[i];
        long long count = 0;
        for (int k = 0; k < NODE_LATENCY_BUCKETS; k++) {
            count += n->latency_buckets[k];
        }
        node_series(b, "cachely_proxy_node_latency_seconds_avg", n, "");
        evbuffer_add_printf(b, "%.6f\n", count ? (double)n->latency_us_sum / 1e6 / (double)count : 0.0);
    }
    http_util_send(req, HTTP_OK, HTTP_UTIL_CT_PROMETHEUS, b);
    evbuffer_free(b);
}

int
http_observe_latency(struct node *n, long long us)
{
    int k = 0;
    while (k < NODE_LATENCY_BUCKETS - 1 && us > latency_bounds_us[k]) {
        k++;
    }
    n->latency_buckets[k]++;
    return k;
}

/* ---- routing ------------------------------------------------------------ */

static const struct http_util_route routes[] = {
    {"/cache/get", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_cache_get},
    {"/cache/set", EVHTTP_REQ_POST, "POST", http_cache_set},
    {"/cache/del", EVHTTP_REQ_DELETE, "DELETE", http_cache_del},
    {"/health", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_health},
    {"/metrics", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_metrics},
    {"/topology", HTTP_UTIL_READ_METHODS, "GET, HEAD", http_topology},
};

static void
http_on_request(struct evhttp_request *req, void *arg)
{
    const char *query;
    const struct http_util_route *route =
        http_util_route_find(req, routes, sizeof(routes) / sizeof(routes[0]), &query);
    if (route != NULL) {
        route->fn(arg, req, query);
    }
}

/* ---- setup -------------------------------------------------------------- */

int
http_setup(struct proxy *px)
{
    if (px->cfg.http_port == 0) {
        return 0;
    }
    px->http = mem_calloc(sizeof(*px->http));
    px->http->evh = http_util_server_new(px->base, HTTP_MAX_BODY_SIZE, http_on_request, px);
    if (px->http->evh == NULL) {
        http_teardown(px);
        return -1;
    }
    if (px->cfg.http_tls) {
        http_util_set_tls(px->http->evh, &px->tls_ctx); /* built by tlsctx_setup */
    }
    if (evhttp_bind_socket_with_handle(px->http->evh, px->cfg.bind,
                                       (ev_uint16_t)px->cfg.http_port) == NULL) {
        log_error("Could not listen for HTTP on %s:%lld", px->cfg.bind, px->cfg.http_port);
        http_teardown(px);
        return -1;
    }
    log_info("HTTP%s interface listening on %s:%lld", px->cfg.http_tls ? "S" : "", px->cfg.bind,
             px->cfg.http_port);
    return 0;
}

void
http_teardown(struct proxy *px)
{
    if (px->http == NULL) {
        return;
    }
    /* Frees the listener, the connections and their requests; the close
     * callbacks detach calls still waiting for a node, which the backends
     * free when topology_teardown closes them. */
    if (px->http->evh != NULL) {
        evhttp_free(px->http->evh);
    }
    mem_free(px->http);
    px->http = NULL;
}
