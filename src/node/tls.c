/* The node's TLS state (see tls.h): contexts built from the tls-* options,
 * rebuilt on CONFIG SET, and the tls-port listeners. */
#include "node/tls.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "node/listen.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>

/* In the order Redis lists them in its error message. */
const char *const tls_auth_clients_names[] = {"no", "yes", "optional", NULL};
static const int tls_auth_clients_modes[] = {CONN_TLS_AUTH_NO, CONN_TLS_AUTH_YES,
                                             CONN_TLS_AUTH_OPTIONAL};

struct tls_state {
    struct conn_tls_ctx *server_ctx; /* owned reference; NULL without tls-port */
    struct conn_tls_ctx *client_ctx; /* owned reference; for tls-replication */
    int *fds;                        /* owned: tls-port sockets */
    struct event **events;           /* owned: their accept events */
    int n;
    long long bound_port;
};

static struct tls_state *
tls_state_of(struct server *srv)
{
    if (srv->tls == NULL) {
        srv->tls = mem_calloc(sizeof(*srv->tls));
    }
    return srv->tls;
}

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void
tls_config_from(const struct node_config *cfg, struct conn_tls_config *tc)
{
    memset(tc, 0, sizeof(*tc));
    tc->cert_file = nonempty(cfg->tls_cert_file);
    tc->key_file = nonempty(cfg->tls_key_file);
    tc->key_file_pass = nonempty(cfg->tls_key_file_pass);
    tc->client_cert_file = nonempty(cfg->tls_client_cert_file);
    tc->client_key_file = nonempty(cfg->tls_client_key_file);
    tc->ca_cert_file = nonempty(cfg->tls_ca_cert_file);
    tc->ca_cert_dir = nonempty(cfg->tls_ca_cert_dir);
    tc->protocols = nonempty(cfg->tls_protocols);
    tc->ciphers = nonempty(cfg->tls_ciphers);
    tc->ciphersuites = nonempty(cfg->tls_ciphersuites);
    tc->auth_clients = tls_auth_clients_modes[cfg->tls_auth_clients];
    tc->prefer_server_ciphers = cfg->tls_prefer_server_ciphers;
    tc->session_caching = cfg->tls_session_caching;
    tc->session_cache_size = cfg->tls_session_cache_size;
    tc->session_cache_timeout = cfg->tls_session_cache_timeout;
}

/* Builds the contexts and swaps them in only when both could be built.
 * As in Redis, nothing is loaded (nor checked) while TLS is off: no
 * tls-port, no tls-replication, no tls-cluster; when it is on, the
 * certificate is required.  Returns 0, or -1 with err set. */
static int
tls_build(struct server *srv, char *err, size_t errlen)
{
    struct tls_state *t = tls_state_of(srv);
    struct conn_tls_config tc;
    struct conn_tls_ctx *sctx = NULL, *cctx = NULL;

    if (srv->cfg.tls_port == 0 && !srv->cfg.tls_replication && !srv->cfg.tls_cluster
        && !(srv->cfg.http_port != 0 && srv->cfg.http_tls)) {
        return 0;
    }
    tls_config_from(&srv->cfg, &tc);
    sctx = conn_tls_ctx_create(&tc, 1, err, errlen);
    if (sctx == NULL) {
        return -1;
    }
    if (nonempty(srv->cfg.tls_client_cert_file)) {
        tc.key_file_pass = nonempty(srv->cfg.tls_client_key_file_pass);
    }
    cctx = conn_tls_ctx_create(&tc, 0, err, errlen);
    if (cctx == NULL) {
        conn_tls_ctx_destroy(&sctx);
        return -1;
    }
    /* Connections made from the old contexts hold their own references. */
    conn_tls_ctx_destroy(&t->server_ctx);
    conn_tls_ctx_destroy(&t->client_ctx);
    t->server_ctx = sctx;
    t->client_ctx = cctx;
    return 0;
}

int
tls_setup(struct server *srv)
{
    char err[512];
    tls_state_of(srv);
    if (tls_build(srv, err, sizeof(err)) != 0) {
        log_error("Failed to configure TLS: %s", err);
        return -1;
    }
    if (srv->cfg.tls_port != 0) {
        if (listen_tls_setup(srv) != 0) {
            log_error("Failed listening on tls-port %lld, aborting.", srv->cfg.tls_port);
            return -1;
        }
        log_info("Listening on port %lld (tls)", srv->cfg.tls_port);
    }
    return 0;
}

void
tls_teardown(struct server *srv)
{
    struct tls_state *t = srv->tls;
    if (t == NULL) {
        return;
    }
    /* listen_teardown closed the sockets. */
    conn_tls_ctx_destroy(&t->server_ctx);
    conn_tls_ctx_destroy(&t->client_ctx);
    mem_free(t);
    srv->tls = NULL;
}

struct conn *
tls_accept_conn(struct server *srv, int fd)
{
    struct tls_state *t = srv->tls;
    if (t == NULL || t->server_ctx == NULL) {
        return NULL;
    }
    struct conn *c = conn_tls_create(fd, t->server_ctx, 1, NULL);
    if (c == NULL) {
        log_warn("Could not create a TLS session for an accepted connection");
    }
    return c;
}

struct conn_tls_ctx *const *
tls_server_ctx_ref(struct server *srv)
{
    return &tls_state_of(srv)->server_ctx;
}

struct conn *
tls_connect_conn(struct server *srv, int fd, const char *peer)
{
    struct tls_state *t = srv->tls;
    if (t == NULL || t->client_ctx == NULL) {
        log_warn("tls-replication is on but TLS is not configured");
        return NULL;
    }
    return conn_tls_create(fd, t->client_ctx, 0, peer);
}

void
tls_listeners(struct server *srv, int ***fds, struct event ****events, int **n,
              long long **bound_port)
{
    struct tls_state *t = tls_state_of(srv);
    *fds = &t->fds;
    *events = &t->events;
    *n = &t->n;
    *bound_port = &t->bound_port;
}

int
tls_apply_config(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    char why[512];
    (void)def;
    if (tls_build(srv, why, sizeof(why)) != 0) {
        log_warn("Unable to update TLS configuration: %s", why);
        snprintf(err, errlen, "Unable to update TLS configuration. Check server logs.");
        return -1;
    }
    if (srv->tls->server_ctx != NULL) {
        log_info("TLS configuration reloaded");
    }
    return 0;
}

int
tls_apply_port(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct server *srv = ctx;
    if (srv->cfg.tls_port != 0 && tls_apply_config(def, ctx, err, errlen) != 0) {
        return -1;
    }
    return listen_tls_rebind(srv, err, errlen);
}
