/* The HTTP interface (http-port): every endpoint and its error answers,
 * the Prometheus exposition, and that HTTP and RESP see the same keyspace.
 * Requests go over a plain socket, one per connection (Connection: close),
 * so what is checked is exactly what is on the wire. */
#include <criterion/criterion.h>
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct http_response {
    int status;
    char headers[4096];             /* raw header block, NUL-terminated */
    char *body;                     /* malloc'd, NUL-terminated */
    size_t bodylen;
};

static struct harness_server srv;
static int http_port;
static redisContext *rc;

static void
start_server(void)
{
    char port[16];
    http_port = harness_free_port();
    snprintf(port, sizeof(port), "%d", http_port);
    const char *args[] = {"--http-port", port, NULL};
    cr_assert_eq(harness_start(&srv, args), 0, "server did not start");
    rc = harness_connect(&srv);
    cr_assert_not_null(rc);
}

static void
stop_server(void)
{
    if (rc) {
        redisFree(rc);
        rc = NULL;
    }
    /* A clean exit: under sanitizers that also means nothing leaked,
     * evhttp's connections and buffers included. */
    cr_assert_eq(harness_stop(&srv), 0, "server did not exit cleanly");
}

static void
response_free(struct http_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* Send one request; body may be NULL (no Content-Length then).  Returns 0
 * with *r filled, or -1 on a connection error or a 5 s timeout. */
static int
http_request(const char *method, const char *target, const char *body,
             size_t bodylen, struct http_response *r)
{
    struct sockaddr_in sa;
    char head[2048];
    size_t cap = 65536, len = 0;
    char *buf;
    int fd, n;
    long long deadline = harness_now_ms() + 5000;

    memset(r, 0, sizeof(*r));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)http_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    if (body != NULL) {
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n", method, target, bodylen);
    } else {
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                     method, target);
    }
    if (write(fd, head, (size_t)n) != n
        || (bodylen > 0 && write(fd, body, bodylen) != (ssize_t)bodylen)) {
        close(fd);
        return -1;
    }
    buf = malloc(cap);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(deadline - harness_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            free(buf);
            close(fd);
            return -1;
        }
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0) {
            free(buf);
            close(fd);
            return -1;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    size_t hl = (size_t)(sep - buf);
    if (hl >= sizeof(r->headers)) {
        hl = sizeof(r->headers) - 1;
    }
    memcpy(r->headers, buf, hl);
    r->headers[hl] = '\0';
    r->bodylen = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->bodylen + 1);
    memcpy(r->body, sep + 4, r->bodylen);
    r->body[r->bodylen] = '\0';
    free(buf);
    return 0;
}

/* The value of header name (case-insensitive), copied into out. */
static int
header_value(const struct http_response *r, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->headers, "\r\n");
    while (p != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *end = strstr(v, "\r\n");
            size_t vl = end ? (size_t)(end - v) : strlen(v);
            while (vl > 0 && *v == ' ') {
                v++;
                vl--;
            }
            if (vl >= outlen) {
                vl = outlen - 1;
            }
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        p = strstr(p, "\r\n");
    }
    return 0;
}

static void
expect(const char *method, const char *target, const char *body, int status,
       struct http_response *r)
{
    cr_assert_eq(http_request(method, target, body, body ? strlen(body) : 0, r), 0,
                 "%s %s: no response", method, target);
    cr_assert_eq(r->status, status, "%s %s: status %d, want %d (body: %s)", method,
                 target, r->status, status, r->body);
}

/* The value of a sample line "name value" or "name{labels} value" in a
 * metrics body; -1 when absent. */
static long long
metric_value(const char *body, const char *series)
{
    size_t sl = strlen(series);
    const char *p = body;
    while (p && *p) {
        if (strncmp(p, series, sl) == 0 && p[sl] == ' ') {
            return atoll(p + sl + 1);
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return -1;
}

TestSuite(http, .init = start_server, .fini = stop_server, .timeout = 30);

Test(http, health_answers_200_ok)
{
    struct http_response r;
    char ct[128];
    expect("GET", "/health", NULL, 200, &r);
    cr_assert(strstr(r.body, "OK") != NULL, "body: %s", r.body);
    cr_assert(header_value(&r, "Content-Type", ct, sizeof(ct)));
    cr_assert_str_eq(ct, "application/json");
    response_free(&r);
}

Test(http, get_returns_the_raw_value_set_over_resp)
{
    struct http_response r;
    char ct[128];
    static const char value[] = "bin\0ary\r\nvalue";
    redisReply *rep = harness_cmd(rc, "SET %s %b", "k1", value, sizeof(value) - 1);
    cr_assert_not_null(rep);
    freeReplyObject(rep);
    expect("GET", "/cache/get?key=k1", NULL, 200, &r);
    cr_assert_eq(r.bodylen, sizeof(value) - 1);
    cr_assert_eq(memcmp(r.body, value, r.bodylen), 0);
    cr_assert(header_value(&r, "Content-Type", ct, sizeof(ct)));
    cr_assert_str_eq(ct, "application/octet-stream");
    response_free(&r);
}

Test(http, get_of_a_missing_key_is_404)
{
    struct http_response r;
    expect("GET", "/cache/get?key=nosuchkey", NULL, 404, &r);
    response_free(&r);
}

Test(http, set_from_query_is_visible_over_resp)
{
    struct http_response r;
    /* Percent-escapes and '+' decode in both the key and the value. */
    expect("POST", "/cache/set?key=a%20key&value=hello+w%6Frld", NULL, 200, &r);
    cr_assert_str_eq(r.body, "OK");
    response_free(&r);
    cr_assert(harness_cmd_equals(rc, "hello world", "GET %s", "a key"));
}

Test(http, set_takes_the_body_when_no_value_parameter)
{
    struct http_response r;
    expect("POST", "/cache/set?key=fromBody", "body\nbytes", 200, &r);
    response_free(&r);
    cr_assert(harness_cmd_equals(rc, "body\nbytes", "GET fromBody"));
    /* An explicitly empty body stores the empty string. */
    expect("POST", "/cache/set?key=empty", "", 200, &r);
    response_free(&r);
    cr_assert(harness_cmd_equals(rc, "", "GET empty"));
}

Test(http, set_with_ttl_gives_the_key_an_expiry)
{
    struct http_response r;
    expect("POST", "/cache/set?key=t&value=v&ttl=100", NULL, 200, &r);
    response_free(&r);
    redisReply *rep = harness_cmd(rc, "TTL t");
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, REDIS_REPLY_INTEGER, "TTL reply type %d", rep->type);
    cr_assert(rep->integer > 90 && rep->integer <= 100, "TTL %lld", rep->integer);
    freeReplyObject(rep);
}

Test(http, set_without_ttl_clears_an_existing_expiry)
{
    struct http_response r;
    expect("POST", "/cache/set?key=p&value=v&ttl=100", NULL, 200, &r);
    response_free(&r);
    expect("POST", "/cache/set?key=p&value=w", NULL, 200, &r);
    response_free(&r);
    redisReply *rep = harness_cmd(rc, "TTL p");
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, REDIS_REPLY_INTEGER);
    cr_assert_eq(rep->integer, -1);
    freeReplyObject(rep);
}

Test(http, del_answers_1_then_0)
{
    struct http_response r;
    cr_assert(harness_cmd_equals(rc, "OK", "SET gone v"));
    expect("DELETE", "/cache/del?key=gone", NULL, 200, &r);
    cr_assert_str_eq(r.body, "1");
    response_free(&r);
    expect("DELETE", "/cache/del?key=gone", NULL, 200, &r);
    cr_assert_str_eq(r.body, "0");
    response_free(&r);
    redisReply *rep = harness_cmd(rc, "GET gone");
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, REDIS_REPLY_NIL);
    freeReplyObject(rep);
}

Test(http, bad_requests_are_400)
{
    struct http_response r;
    expect("GET", "/cache/get", NULL, 400, &r);
    response_free(&r);
    expect("GET", "/cache/get?key=%zz", NULL, 400, &r);
    response_free(&r);
    expect("GET", "/cache/get?key=%4", NULL, 400, &r);
    response_free(&r);
    expect("POST", "/cache/set?value=v", NULL, 400, &r);
    response_free(&r);
    expect("POST", "/cache/set?key=k", NULL, 400, &r);
    response_free(&r);
    expect("POST", "/cache/set?key=k&value=v&ttl=abc", NULL, 400, &r);
    response_free(&r);
    expect("POST", "/cache/set?key=k&value=v&ttl=0", NULL, 400, &r);
    cr_assert(strstr(r.body, "invalid expire time") != NULL, "body: %s", r.body);
    response_free(&r);
    expect("POST", "/cache/set?key=k&value=v&ttl=-5", NULL, 400, &r);
    response_free(&r);
    expect("DELETE", "/cache/del", NULL, 400, &r);
    response_free(&r);
    /* None of these may have written anything. */
    redisReply *rep = harness_cmd(rc, "GET k");
    cr_assert_not_null(rep);
    cr_assert_eq(rep->type, REDIS_REPLY_NIL);
    freeReplyObject(rep);
}

Test(http, wrong_method_is_405_with_allow)
{
    struct http_response r;
    char allow[64];
    expect("POST", "/cache/get?key=k", "", 405, &r);
    cr_assert(header_value(&r, "Allow", allow, sizeof(allow)));
    cr_assert(strstr(allow, "GET") != NULL);
    response_free(&r);
    expect("GET", "/cache/set?key=k&value=v", NULL, 405, &r);
    cr_assert(header_value(&r, "Allow", allow, sizeof(allow)));
    cr_assert_str_eq(allow, "POST");
    response_free(&r);
    expect("GET", "/cache/del?key=k", NULL, 405, &r);
    response_free(&r);
    expect("PUT", "/cache/set?key=k&value=v", "", 405, &r);
    response_free(&r);
    expect("DELETE", "/metrics", NULL, 405, &r);
    response_free(&r);
}

Test(http, unknown_path_is_404)
{
    struct http_response r;
    expect("GET", "/cache", NULL, 404, &r);
    response_free(&r);
    expect("GET", "/nope", NULL, 404, &r);
    response_free(&r);
}

/* Every line is a comment (# HELP / # TYPE) or "name[{labels}] number", and
 * every sample's family has a TYPE line before it. */
Test(http, metrics_parse_as_prometheus_text)
{
    struct http_response r;
    char ct[128];
    char typed[32][128];
    int ntyped = 0;
    static const char *const want[] = {
        "cachely_commands_processed_total", "cachely_keyspace_hits_total",
        "cachely_keyspace_misses_total", "cachely_keys{db=\"0\"}",
        "cachely_expired_keys_total", "cachely_evicted_keys_total",
        "cachely_memory_used_bytes", "cachely_memory_max_bytes",
        "cachely_connected_clients", "cachely_uptime_seconds",
    };

    expect("GET", "/metrics", NULL, 200, &r);
    cr_assert(header_value(&r, "Content-Type", ct, sizeof(ct)));
    cr_assert(strncmp(ct, "text/plain", 10) == 0, "Content-Type %s", ct);
    cr_assert(strstr(ct, "version=0.0.4") != NULL, "Content-Type %s", ct);
    cr_assert(r.bodylen > 0 && r.body[r.bodylen - 1] == '\n');

    char *save = NULL;
    for (char *line = strtok_r(r.body, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[128], type[32];
        if (line[0] == '#') {
            if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
                cr_assert(!strcmp(type, "counter") || !strcmp(type, "gauge"),
                          "type %s", type);
                cr_assert_lt(ntyped, 32);
                strcpy(typed[ntyped++], name);
            } else {
                cr_assert(strncmp(line, "# HELP ", 7) == 0, "comment: %s", line);
            }
            continue;
        }
        size_t nl = strspn(line, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
        cr_assert(nl > 0, "line: %s", line);
        const char *rest = line + nl;
        if (*rest == '{') {
            rest = strchr(rest, '}');
            cr_assert_not_null(rest, "line: %s", line);
            rest++;
        }
        cr_assert_eq(*rest, ' ', "line: %s", line);
        char *end;
        strtod(rest + 1, &end);
        cr_assert(end != rest + 1 && *end == '\0', "value in: %s", line);
        int found = 0;
        for (int i = 0; i < ntyped; i++) {
            if (strlen(typed[i]) == nl && !strncmp(typed[i], line, nl)) {
                found = 1;
            }
        }
        cr_assert(found, "sample without a TYPE line: %s", line);
    }
    response_free(&r);

    expect("GET", "/metrics", NULL, 200, &r);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cr_assert_geq(metric_value(r.body, want[i]), 0, "missing %s", want[i]);
    }
    cr_assert_geq(metric_value(r.body, "cachely_connected_clients"), 1);
    response_free(&r);
}

Test(http, requests_count_keyspace_hits_and_misses)
{
    struct http_response r;
    long long hits, misses, keys, cmds;
    cr_assert(harness_cmd_equals(rc, "OK", "SET hit v"));
    expect("GET", "/metrics", NULL, 200, &r);
    hits = metric_value(r.body, "cachely_keyspace_hits_total");
    misses = metric_value(r.body, "cachely_keyspace_misses_total");
    cmds = metric_value(r.body, "cachely_commands_processed_total");
    keys = metric_value(r.body, "cachely_keys{db=\"0\"}");
    cr_assert_eq(keys, 1);
    response_free(&r);

    expect("GET", "/cache/get?key=hit", NULL, 200, &r);
    response_free(&r);
    expect("GET", "/cache/get?key=miss", NULL, 404, &r);
    response_free(&r);
    expect("GET", "/cache/get?key=miss2", NULL, 404, &r);
    response_free(&r);

    expect("GET", "/metrics", NULL, 200, &r);
    cr_assert_eq(metric_value(r.body, "cachely_keyspace_hits_total"), hits + 1);
    cr_assert_eq(metric_value(r.body, "cachely_keyspace_misses_total"), misses + 2);
    cr_assert_geq(metric_value(r.body, "cachely_commands_processed_total"), cmds + 3);
    response_free(&r);
}

Test(http, head_request_gets_headers_only)
{
    struct http_response r;
    cr_assert(harness_cmd_equals(rc, "OK", "SET h value"));
    char cl[32];
    expect("HEAD", "/cache/get?key=h", NULL, 200, &r);
    cr_assert_eq(r.bodylen, 0);
    cr_assert(header_value(&r, "Content-Length", cl, sizeof(cl)));
    cr_assert_str_eq(cl, "5");
    response_free(&r);
}
