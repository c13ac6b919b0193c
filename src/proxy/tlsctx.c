/* cachely-proxy's TLS contexts, built at startup from the same tls-* options
 * as the node: the client port's (tls-port) and the nodes' (tls-backend, a
 * client context presenting tls-client-cert-file, else tls-cert-file, and
 * verifying the nodes with tls-ca-cert-file), rebuilt by CONFIG SET of a
 * tls-* option while open connections keep theirs.  core/conn does the
 * rest. */
#include "proxy/tlsctx.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/option.h"
#include "proxy/proxy.h"

#include <stdio.h>
#include <string.h>

const char *const tlsctx_auth_names[] = {"no", "yes", "optional", NULL};
static const int tlsctx_auth_modes[] = {CONN_TLS_AUTH_NO, CONN_TLS_AUTH_YES,
                                           CONN_TLS_AUTH_OPTIONAL};

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Builds the contexts the options ask for and swaps them in only when all
 * could be built: connections made from the old ones keep their own
 * references, so nothing open is dropped.  Returns 0, or -1 with err set. */
static int
tlsctx_build(struct proxy *px, char *err, size_t errlen)
{
    const struct proxy_config *cfg = &px->cfg;
    struct conn_tls_config tc;
    struct conn_tls_ctx *sctx = NULL, *bctx = NULL;

    /* Served on tls-port and, with http-tls, on the HTTP port. */
    int serve = cfg->tls_port != 0 || (cfg->http_port != 0 && cfg->http_tls);
    if (!serve && !cfg->tls_backend && !cfg->tls_peers) {
        return 0;
    }
    memset(&tc, 0, sizeof(tc));
    tc.cert_file = nonempty(cfg->tls_cert_file);
    tc.key_file = nonempty(cfg->tls_key_file);
    tc.key_file_pass = nonempty(cfg->tls_key_file_pass);
    tc.client_cert_file = nonempty(cfg->tls_client_cert_file);
    tc.client_key_file = nonempty(cfg->tls_client_key_file);
    tc.ca_cert_file = nonempty(cfg->tls_ca_cert_file);
    tc.ca_cert_dir = nonempty(cfg->tls_ca_cert_dir);
    tc.protocols = nonempty(cfg->tls_protocols);
    tc.ciphers = nonempty(cfg->tls_ciphers);
    tc.ciphersuites = nonempty(cfg->tls_ciphersuites);
    tc.auth_clients = tlsctx_auth_modes[cfg->tls_auth_clients];
    tc.prefer_server_ciphers = cfg->tls_prefer_server_ciphers;
    tc.session_caching = cfg->tls_session_caching;
    tc.session_cache_size = cfg->tls_session_cache_size;
    tc.session_cache_timeout = cfg->tls_session_cache_timeout;
    if (serve && (sctx = conn_tls_ctx_create(&tc, 1, err, errlen)) == NULL) {
        return -1;
    }
    /* the nodes' context also serves failover.c's links with tls-peers */
    if ((cfg->tls_backend || cfg->tls_peers)
        && (bctx = conn_tls_ctx_create(&tc, 0, err, errlen)) == NULL) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " (the nodes' context)");
        conn_tls_ctx_destroy(&sctx);
        return -1;
    }
    conn_tls_ctx_destroy(&px->tls_ctx);
    conn_tls_ctx_destroy(&px->tls_backend_ctx);
    px->tls_ctx = sctx;
    px->tls_backend_ctx = bctx;
    return 0;
}

int
tlsctx_setup(struct proxy *px)
{
    char err[512];
    if (tlsctx_build(px, err, sizeof(err)) != 0) {
        log_error("Failed to configure TLS: %s", err);
        return -1;
    }
    return 0;
}

int
tlsctx_apply(const struct option_def *def, void *ctx, char *err, size_t errlen)
{
    struct proxy *px = ctx;
    char why[512];
    (void)def;
    if (tlsctx_build(px, why, sizeof(why)) != 0) {
        log_warn("Unable to update TLS configuration: %s", why);
        snprintf(err, errlen, "Unable to update TLS configuration. Check server logs.");
        return -1;
    }
    if (px->tls_ctx != NULL || px->tls_backend_ctx != NULL) {
        log_info("TLS configuration reloaded");
    }
    return 0;
}

/* Swaps the reloadable tls-* values of a and b. */
static void
tlsctx_swap_settings(struct proxy_config *a, struct proxy_config *b)
{
#define SWAP(field)                                                         \
    do {                                                                    \
        __typeof__(a->field) tmp_ = a->field;                               \
        a->field = b->field;                                                \
        b->field = tmp_;                                                    \
    } while (0)
    SWAP(tls_cert_file);
    SWAP(tls_key_file);
    SWAP(tls_key_file_pass);
    SWAP(tls_ca_cert_file);
    SWAP(tls_ca_cert_dir);
    SWAP(tls_client_cert_file);
    SWAP(tls_client_key_file);
    SWAP(tls_protocols);
    SWAP(tls_ciphers);
    SWAP(tls_ciphersuites);
    SWAP(tls_auth_clients);
    SWAP(tls_prefer_server_ciphers);
    SWAP(tls_session_caching);
    SWAP(tls_session_cache_size);
    SWAP(tls_session_cache_timeout);
#undef SWAP
}

int
tlsctx_reload(struct proxy *px, struct proxy_config *fresh)
{
    char why[512];
    if (fresh->tls_port != px->cfg.tls_port || fresh->tls_backend != px->cfg.tls_backend
        || fresh->tls_peers != px->cfg.tls_peers || fresh->http_tls != px->cfg.http_tls) {
        log_warn("Reload: tls-port, tls-backend, tls-peers and http-tls changes need a "
                 "restart");
    }
    tlsctx_swap_settings(&px->cfg, fresh);
    if (tlsctx_build(px, why, sizeof(why)) != 0) {
        tlsctx_swap_settings(&px->cfg, fresh);
        log_error("Reload: the TLS certificates were not changed: %s", why);
        return -1;
    }
    if (px->tls_ctx != NULL || px->tls_backend_ctx != NULL) {
        log_info("TLS configuration reloaded");
    }
    return 0;
}

void
tlsctx_teardown(struct proxy *px)
{
    conn_tls_ctx_destroy(&px->tls_ctx);
    conn_tls_ctx_destroy(&px->tls_backend_ctx);
}

struct conn *
tlsctx_accept(struct proxy *px, int fd)
{
    if (px->tls_ctx == NULL) {
        return NULL;
    }
    return conn_tls_create(fd, px->tls_ctx, 1, NULL);
}

struct conn *
tlsctx_connect(struct proxy *px, int fd, const char *peer)
{
    if (!px->cfg.tls_backend) {
        return conn_plain_create(fd, peer);
    }
    if (px->tls_backend_ctx == NULL) {
        return NULL;
    }
    return conn_tls_create(fd, px->tls_backend_ctx, 0, peer);
}
