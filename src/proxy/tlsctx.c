/* cachely-proxy's TLS contexts, built at startup from the same tls-* options
 * as the node: the client port's (tls-port) and the nodes' (tls-backend, a
 * client context presenting tls-client-cert-file, else tls-cert-file, and
 * verifying the nodes with tls-ca-cert-file).  core/conn does the rest. */
#include "proxy/proxy.h"
#include "core/conn.h"
#include "core/log.h"

#include <string.h>

const char *const tlsctx_auth_names[] = {"no", "yes", "optional", NULL};
static const int tlsctx_auth_modes[] = {CONN_TLS_AUTH_NO, CONN_TLS_AUTH_YES,
                                           CONN_TLS_AUTH_OPTIONAL};

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

int
tlsctx_setup(struct proxy *px)
{
    const struct proxy_config *cfg = &px->cfg;
    struct conn_tls_config tc;
    char err[512];

    if (cfg->tls_port == 0 && !cfg->tls_backend && !cfg->tls_peers) {
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
    if (cfg->tls_port != 0) {
        px->tls_ctx = conn_tls_ctx_create(&tc, 1, err, sizeof(err));
        if (px->tls_ctx == NULL) {
            log_error("Failed to configure TLS: %s", err);
            return -1;
        }
    }
    if (cfg->tls_backend || cfg->tls_peers) { /* tls-peers: failover.c's links */
        px->tls_backend_ctx = conn_tls_ctx_create(&tc, 0, err, sizeof(err));
        if (px->tls_backend_ctx == NULL) {
            log_error("Failed to configure TLS to the nodes: %s", err);
            return -1;
        }
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
