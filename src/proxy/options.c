/* Every cachely-proxy option; conf/cachely-proxy.conf documents the same
 * list. */
#include "proxy/proxy.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"
#include "core/util.h"
#include "proxy/session.h"
#include "proxy/tlsctx.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const proxy_read_policy_names[] = {"master", "replicas", "session", NULL};

static const char *const acl_pubsub_names[] = {"allchannels", "resetchannels", NULL};

/* "group <name> <slots> <nodes>" may be given many times (config lines or
 * --group arguments): each occurrence is appended. */
static int
groups_parse(const struct option_def *def, void *values, const char *value, char *err,
             size_t errlen)
{
    struct proxy_config *cfg = values;
    size_t old = cfg->groups ? strlen(cfg->groups) : 0;
    (void)def;
    if (value[0] == '\0') {
        return 0;
    }
    if (strchr(value, ';') != NULL) {
        snprintf(err, errlen, "a group line cannot contain ';'");
        return -1;
    }
    cfg->groups = mem_realloc(cfg->groups, old + strlen(value) + 2);
    snprintf(cfg->groups + old, strlen(value) + 2, "%s;", value);
    return 0;
}

static void
groups_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct proxy_config *cfg = values;
    (void)def;
    snprintf(buf, len, "%s", cfg->groups ? cfg->groups : "");
}

/* write-ack: "master", a number of replicas, or "all". */
static int
write_ack_parse(const struct option_def *def, void *values, const char *value, char *err,
                size_t errlen)
{
    struct proxy_config *cfg = values;
    char *end;
    long n;
    (void)def;
    if (!strcmp(value, "master") || !strcmp(value, "0")) {
        cfg->write_ack = 0;
        return 0;
    }
    if (!strcmp(value, "all")) {
        cfg->write_ack = -1;
        return 0;
    }
    n = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || n < 1 || n > 1000) {
        snprintf(err, errlen, "argument must be master, all, or a number of replicas (1-1000)");
        return -1;
    }
    cfg->write_ack = (int)n;
    return 0;
}

static void
write_ack_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct proxy_config *cfg = values;
    (void)def;
    if (cfg->write_ack == 0) {
        snprintf(buf, len, "master");
    } else if (cfg->write_ack < 0) {
        snprintf(buf, len, "all");
    } else {
        snprintf(buf, len, "%d", cfg->write_ack);
    }
}

static const char *const cob_class_names[] = {"normal", "replica", "pubsub"};

/* client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...], as
 * Redis reads it ("slave" names the replica class too). */
static int
cob_parse(const struct option_def *def, void *values, const char *value, char *err,
          size_t errlen)
{
    struct proxy_config *cfg = values;
    char *words[64];
    char scratch[1024];
    struct proxy_cob tmp[PROXY_COB__COUNT];
    int n;
    (void)def;
    if (strlen(value) >= sizeof(scratch)
        || (n = option_split_line(value, scratch, words, 64)) <= 0 || n % 4 != 0) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    memcpy(tmp, cfg->cob, sizeof(tmp));
    for (int i = 0; i < n; i += 4) {
        int cls = strcasecmp(words[i], "slave") == 0 ? PROXY_COB_REPLICA : -1;
        unsigned long long hard, soft;
        long long secs;
        for (int k = 0; k < PROXY_COB__COUNT; k++) {
            if (strcasecmp(words[i], cob_class_names[k]) == 0) {
                cls = k;
            }
        }
        if (cls < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        if (util_memtoull(words[i + 1], &hard) != 0 || util_memtoull(words[i + 2], &soft) != 0
            || util_str2ll(words[i + 3], strlen(words[i + 3]), &secs) != 0 || secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit "
                                  "configuration.");
            return -1;
        }
        tmp[cls].hard = hard;
        tmp[cls].soft = soft;
        tmp[cls].soft_seconds = secs;
    }
    memcpy(cfg->cob, tmp, sizeof(tmp));
    return 0;
}

static void
cob_format(const struct option_def *def, const void *values, char *buf, size_t len)
{
    const struct proxy_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int k = 0; k < PROXY_COB__COUNT && off < len; k++) {
        int w = snprintf(buf + off, len - off, "%s%s %llu %llu %lld", k ? " " : "",
                         k == PROXY_COB_REPLICA ? "slave" : cob_class_names[k], cfg->cob[k].hard,
                         cfg->cob[k].soft, cfg->cob[k].soft_seconds);
        off += w > 0 ? (size_t)w : 0;
    }
}

#define OFF(f) offsetof(struct proxy_config, f)
#define MUT OPT_MUTABLE /* CONFIG SET may change it (the tls-* files: tlsctx_apply) */

const struct option_def proxy_options[] = {
    {"port", OPT_INT, 0, "7000", 0, 65535, NULL, OFF(port), NULL, NULL, NULL,
     "TCP port clients connect to (0 = none: only tls-port)"},
    {"bind", OPT_STRING, 0, "127.0.0.1", 0, 0, NULL, OFF(bind), NULL, NULL, NULL,
     "address to listen on"},
    /* TLS on the client port (tlsctx.c), with the node's names */
    {"tls-port", OPT_INT, 0, "0", 0, 65535, NULL, OFF(tls_port), NULL, NULL, NULL,
     "TCP port for TLS clients, beside port (0 = none)"},
    {"tls-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_cert_file), NULL, NULL, tlsctx_apply,
     "the proxy's certificate (PEM)"},
    {"tls-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_key_file), NULL, NULL, tlsctx_apply,
     "private key of tls-cert-file"},
    {"tls-key-file-pass", OPT_STRING, MUT | OPT_SENSITIVE, "", 0, 0, NULL, OFF(tls_key_file_pass),
     NULL, NULL, tlsctx_apply, "passphrase of tls-key-file"},
    {"tls-ca-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_file), NULL, NULL,
     tlsctx_apply, "CA bundle that verifies client certificates"},
    {"tls-ca-cert-dir", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ca_cert_dir), NULL, NULL,
     tlsctx_apply, "directory of CA certificates"},
    {"tls-auth-clients", OPT_ENUM, MUT, "yes", 0, 0, tlsctx_auth_names,
     OFF(tls_auth_clients), NULL, NULL, tlsctx_apply,
     "client certificates: yes (required), no, optional"},
    {"tls-protocols", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_protocols), NULL, NULL, tlsctx_apply,
     "\"TLSv1.2 TLSv1.3\" (empty = TLSv1.2 and up)"},
    {"tls-ciphers", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphers), NULL, NULL, tlsctx_apply,
     "TLSv1.2 cipher list"},
    {"tls-ciphersuites", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_ciphersuites), NULL, NULL,
     tlsctx_apply, "TLSv1.3 cipher suites"},
    {"tls-prefer-server-ciphers", OPT_BOOL, MUT, "no", 0, 0, NULL,
     OFF(tls_prefer_server_ciphers), NULL, NULL, tlsctx_apply, "server's cipher preference"},
    {"tls-session-caching", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(tls_session_caching), NULL,
     NULL, tlsctx_apply, "let clients resume TLS sessions"},
    {"tls-session-cache-size", OPT_INT, MUT, "20480", 0, INT_MAX, NULL,
     OFF(tls_session_cache_size), NULL, NULL, tlsctx_apply, "TLS sessions kept"},
    {"tls-session-cache-timeout", OPT_INT, MUT, "300", 0, INT_MAX, NULL,
     OFF(tls_session_cache_timeout), NULL, NULL, tlsctx_apply,
     "seconds a TLS session stays resumable"},
    {"tls-backend", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(tls_backend), NULL, NULL, NULL,
     "connect to the nodes (requests, probes) with TLS: list their tls-ports"},
    {"tls-client-cert-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_cert_file), NULL,
     NULL, tlsctx_apply, "certificate shown to the nodes (default tls-cert-file)"},
    {"tls-client-key-file", OPT_STRING, MUT, "", 0, 0, NULL, OFF(tls_client_key_file), NULL,
     NULL, tlsctx_apply, "private key of tls-client-cert-file"},
    {"http-tls", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(http_tls), NULL, NULL, NULL,
     "serve HTTPS on http-port with the tls-* certificates (reloads reach new connections)"},
    {"http-port", OPT_INT, 0, "0", 0, 65535, NULL, OFF(http_port), NULL, NULL, NULL,
     "HTTP interface port on the same address: /cache/get, /cache/set, /cache/del, "
     "/health, /metrics, /topology (0 = off)"},
    {"nodes", OPT_STRING, 0, "", 0, 0, NULL, OFF(nodes), NULL, NULL, NULL,
     "host:port[,host:port...] of the group's nodes; roles are learned from "
     "the nodes, and a master's replicas are discovered from its INFO"},
    {"group", OPT_SPECIAL, 0, "", 0, 0, NULL, 0, groups_parse, groups_format, NULL,
     "\"<name> <slots> <nodes>\", repeated for each shard: slots like 0-8191 or "
     "0-100,200-300, nodes host:port[,host:port...]; every slot needs a group. "
     "Without any, --nodes makes one group owning every slot"},
    {"backend-password", OPT_STRING, OPT_SENSITIVE, "", 0, 0, NULL, OFF(backend_password),
     NULL, NULL, NULL, "password the proxy AUTHs with on every node connection "
     "(the nodes' requirepass; empty = none)"},
    {"backend-user", OPT_STRING, 0, "", 0, 0, NULL, OFF(backend_user), NULL, NULL, NULL,
     "user name sent with backend-password (AUTH user password); empty = AUTH password"},
    {"requirepass", OPT_STRING, OPT_SENSITIVE, "", 0, 0, NULL, OFF(requirepass), NULL,
     NULL, NULL, "the default user's password (empty = nopass)"},
    {"aclfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(aclfile), NULL, NULL, NULL,
     "file of the proxy's ACL users (ACL LOAD / ACL SAVE); exclusive with user lines"},
    {"user", OPT_SPECIAL, OPT_FILE_ONLY | OPT_SENSITIVE | OPT_HIDDEN | OPT_OWNS_STRING, "", 0,
     0, NULL, OFF(acl_users), acl_option_user_parse, acl_option_user_format, NULL,
     "<name> <rules...>: one of the proxy's ACL users (repeatable)"},
    {"acllog-max-len", OPT_INT, 0, "128", 0, LLONG_MAX, NULL, OFF(acllog_max_len), NULL,
     NULL, NULL, "ACL LOG entries kept"},
    {"acl-pubsub-default", OPT_ENUM, 0, "resetchannels", 0, 0, acl_pubsub_names,
     OFF(acl_pubsub_default), NULL, NULL, NULL,
     "channel rule new ACL users start with: resetchannels or allchannels"},
    {"protected-mode", OPT_BOOL, 0, "yes", 0, 0, NULL, OFF(protected_mode), NULL, NULL, NULL,
     "refuse clients from non-loopback addresses while the default user has no password"},
    {"pool-size", OPT_INT, 0, "2", 1, 64, NULL, OFF(pool_size), NULL, NULL, NULL,
     "backend connections per node, shared by all clients"},
    {"blocking-pool-size", OPT_INT, 0, "64", 0, 100000, NULL, OFF(blocking_pool_size), NULL,
     NULL, NULL, "dedicated backend connections per node for blocking commands (BLPOP...): "
     "each blocked client holds one until its command completes; when all are in use a "
     "blocking command is refused at once (0 = refuse every blocking command); as many "
     "again for transactions (WATCH/MULTI to EXEC)"},
    {"blocking-mux", OPT_BOOL, MUT, "yes", 0, 0, NULL, OFF(blocking_mux), NULL, NULL, NULL,
     "send blocking commands as CACHELY.BLOCK on the pooled connections to nodes that "
     "know it (at most blocking-pool-size x 64 waits per node); no: a dedicated "
     "connection per blocked client, as for nodes without it"},
    {"read-policy", OPT_ENUM, 0, "session", 0, 0, proxy_read_policy_names,
     OFF(read_policy), NULL, NULL, NULL,
     "session (default): reads go round robin to healthy replicas caught up within "
     "max-replica-lag-ms, but a client's reads only to replicas that have its last "
     "write (read-your-writes), else the master; replicas: the same without "
     "read-your-writes (a read may miss the client's own write of a moment before); "
     "master: every command goes to the master"},
    {"write-ack", OPT_SPECIAL, 0, "master", 0, 0, NULL, 0, write_ack_parse, write_ack_format,
     NULL, "master: a write is answered when the master applied it; N or all: only "
     "once N (or all known) replicas acknowledged it, else -NOTACKED (the write is on "
     "the master, fewer replicas have it)"},
    {"write-ack-timeout-ms", OPT_INT, 0, "1000", 1, 3600000, NULL, OFF(write_ack_timeout_ms),
     NULL, NULL, NULL, "how long a write-ack write waits for its replicas"},
    {"max-replica-lag-ms", OPT_INT, 0, "1000", 0, 3600000, NULL, OFF(max_replica_lag_ms),
     NULL, NULL, NULL, "a replica serves reads only if it holds what the master had this long ago"},
    {"probe-interval-ms", OPT_INT, 0, "100", 10, 60000, NULL, OFF(probe_interval_ms), NULL,
     NULL, NULL, "how often each node is probed (PING + INFO replication)"},
    {"down-after-ms", OPT_INT, 0, "1000", 10, 3600000, NULL, OFF(down_after_ms), NULL, NULL,
     NULL, "the longest silence before a node is down (the learned bound, "
     "at least 3 probe intervals, is usually shorter)"},
    {"backend-timeout-ms", OPT_INT, 0, "5000", 0, 3600000, NULL, OFF(backend_timeout_ms),
     NULL, NULL, NULL, "a backend connection whose oldest request waits this long is replaced "
     "(its requests get errors); 0 = never"},
    {"databases", OPT_INT, 0, "16", 1, 1024, NULL, OFF(databases), NULL, NULL, NULL,
     "databases a client may SELECT (0 to databases-1); set it to the nodes' databases"},
    {"timeout", OPT_INT, MUT, "0", 0, 2147483647, NULL, OFF(timeout), NULL, NULL, NULL,
     "close clients idle for this many seconds (0 = never); subscribers are exempt"},
    {"maxmemory-clients", OPT_MEMORY, MUT, "0", 0, LLONG_MAX, NULL, OFF(maxmemory_clients),
     NULL, NULL, session_count_all,
     "when all clients' buffers (input, replies waiting, a MULTI's queue) take more than "
     "this, disconnect clients, the largest first, until they take less; 0 = no limit "
     "(CLIENT NO-EVICT on exempts a client; the proxy has no maxmemory to take a "
     "percentage of)"},
    {"client-query-buffer-limit", OPT_MEMORY, 0, "1gb", 1024 * 1024, LLONG_MAX, NULL,
     OFF(client_query_buffer_limit), NULL, NULL, NULL,
     "close a client whose unparsed input exceeds this"},
    {"proto-max-bulk-len", OPT_MEMORY, 0, "512mb", 1024 * 1024, LLONG_MAX, NULL,
     OFF(proto_max_bulk_len), NULL, NULL, NULL, "largest bulk string a client may send"},
    {"client-output-buffer-limit", OPT_SPECIAL, 0,
     "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, 0, cob_parse,
     cob_format, NULL,
     "<class> <hard> <soft> <soft-seconds>: close clients whose replies waiting to be read "
     "exceed hard, or soft for soft-seconds (0 = no limit); classes normal, replica (none on "
     "the proxy) and pubsub (subscribed clients, Sentinel event subscribers included)"},
    {"maxclients", OPT_INT, 0, "10000", 1, 1000000, NULL, OFF(maxclients), NULL, NULL, NULL,
     "maximum simultaneous client connections"},
    {"io-uring", OPT_BOOL, 0, "yes", 0, 0, NULL, OFF(io_uring), NULL, NULL, NULL,
     "batch the socket reads and writes of a loop turn (sessions and backend connections) "
     "into one io_uring system call each (plain connections; falls back when the kernel "
     "refuses)"},
    {"name", OPT_STRING, 0, "mymaster", 0, 0, NULL, OFF(name), NULL, NULL, NULL,
     "the master name Sentinel clients ask for (SENTINEL get-master-addr-by-name) when "
     "--nodes makes one group; with group lines each group's name is its master name"},
    {"peers", OPT_STRING, 0, "", 0, 0, NULL, OFF(peers), NULL, NULL, NULL,
     "host:port[,host:port...] of the other proxies (their client ports) that agree on "
     "failovers; empty = this proxy decides alone"},
    {"quorum", OPT_INT, 0, "0", 0, 64, NULL, OFF(quorum), NULL, NULL, NULL,
     "proxies (this one included) that must see a master down before it is failed over; "
     "0 = a majority of the proxies. A leader also needs votes from a majority"},
    {"failover", OPT_BOOL, 0, "yes", 0, 0, NULL, OFF(failover), NULL, NULL, NULL,
     "promote a replica when a master is objectively down, and turn nodes that disagree "
     "with the current configuration into replicas of its master"},
    {"failover-timeout-ms", OPT_INT, 0, "3000", 100, 3600000, NULL, OFF(failover_timeout_ms),
     NULL, NULL, NULL, "how long an election, a promotion or a switchover may take before it "
     "is abandoned; an abandoned attempt is retried after a random delay"},
    {"tls-peers", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(tls_peers), NULL, NULL, NULL,
     "connect to the peers with TLS (client certificate and CA as tls-backend): list their "
     "tls-ports in peers"},
    {"peer-auth", OPT_STRING, OPT_SENSITIVE, "", 0, 0, NULL, OFF(peer_auth), NULL, NULL, NULL,
     "secret shared by the proxies: a peer proves it (SENTINEL PEER-AUTH) before its hellos "
     "and votes count; empty = any client may speak the peer protocol"},
    {"peer-user", OPT_STRING, 0, "", 0, 0, NULL, OFF(peer_user), NULL, NULL, NULL,
     "ACL user of the peers: a session authenticated as it may speak the peer protocol "
     "(beside peer-auth's secret), and our links to the peers AUTH as it with peer-pass"},
    {"peer-pass", OPT_STRING, OPT_SENSITIVE, "", 0, 0, NULL, OFF(peer_pass), NULL, NULL, NULL,
     "password of peer-user, sent by our links to the peers"},
    {"loglevel", OPT_ENUM, 0, "notice", 0, 0, log_option_names, OFF(loglevel), NULL, NULL,
     NULL, "debug, verbose, notice or warning"},
    {"logfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(logfile), NULL, NULL, NULL,
     "log file path (empty = standard error)"},
    {"pidfile", OPT_STRING, 0, "", 0, 0, NULL, OFF(pidfile), NULL, NULL, NULL,
     "write the process id to this file"},
    {"daemonize", OPT_BOOL, 0, "no", 0, 0, NULL, OFF(daemonize), NULL, NULL, NULL,
     "run in the background"},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
