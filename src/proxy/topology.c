/* The group's nodes and their health.  Each node gets a probe connection
 * that sends PING and INFO replication every probe-interval-ms; a node is
 * down once silent for longer than its detector (detect.h) allows, a bound
 * learned from the node's own reply gaps (at least 3 probe intervals, at
 * most down-after-ms).  INFO tells the role, the replication offset, a
 * replica's link state, and a master's replicas, which are added as nodes
 * (so --nodes may name the master alone). */
#include "proxy/topology.h"
#include "core/alloc.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/resp_scan.h"
#include "core/slot.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/blockmux.h"
#include "proxy/detect.h"
#include "proxy/failover.h"
#include "proxy/fanout.h"
#include "proxy/nodesub.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/tlsctx.h"
#include "proxy/txn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char probe_request[] =
    "*1\r\n$4\r\nPING\r\n*4\r\n$4\r\nINFO\r\n$6\r\nserver\r\n$11\r\nreplication\r\n"
    "$7\r\nclients\r\n";

static void probe_on_event(evutil_socket_t fd, short what, void *arg);
static void probe_send(struct proxy *px, struct node *n);

struct node *
topology_add(struct proxy *px, struct group *g, const char *host, int port)
{
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        if (n->port == port && strcmp(n->host, host) == 0) {
            return n;
        }
    }
    struct node *n = mem_calloc(sizeof(*n));
    n->px = px;
    n->group = g;
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    snprintf(n->name, sizeof(n->name), "%s:%d", host, port);
    n->probe_fd = -1;
    detect_init(&n->detect);
    /* pool_size RESP2 connections, then pool_size RESP3 ones (HELLO 3) for
     * the sessions that said HELLO 3: their replies pass through unchanged. */
    n->pool = mem_calloc((size_t)(2 * px->cfg.pool_size) * sizeof(struct backend));
    for (long long i = 0; i < 2 * px->cfg.pool_size; i++) {
        backend_init(&n->pool[i], n);
        n->pool[i].resp3 = i >= px->cfg.pool_size;
    }
    n->blocking = mem_calloc((size_t)(px->cfg.blocking_pool_size + 1) * sizeof(struct backend));
    for (long long i = 0; i < px->cfg.blocking_pool_size; i++) {
        backend_init(&n->blocking[i], n);
        n->blocking[i].dedicated = 1;
    }
    txn_node_setup(px, n);
    px->nodes = mem_realloc(px->nodes, (px->nnodes + 1) * sizeof(*px->nodes));
    px->nodes[px->nnodes++] = n;
    log_info("Node %s added to group %s", n->name, g->name);
    return n;
}

int
topology_parse_addr(char *tok, int *port)
{
    char *colon = strrchr(tok, ':');
    long long p;
    if (colon == NULL || util_str2ll(colon + 1, strlen(colon + 1), &p) != 0 || p <= 0
        || p > 65535) {
        return -1;
    }
    *colon = '\0';
    *port = (int)p;
    return 0;
}

/* "host:port,host:port" into group g. */
static int
add_node_list(struct proxy *px, struct group *g, const char *spec)
{
    char *list = mem_strdup(spec);
    char *save = NULL;
    int count = 0;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int port;
        if (topology_parse_addr(tok, &port) != 0) {
            log_error("Bad node address '%s' (want host:port)", tok);
            mem_free(list);
            return -1;
        }
        topology_add(px, g, tok, port);
        count++;
    }
    mem_free(list);
    if (count == 0) {
        log_error("Group %s has no nodes", g->name);
        return -1;
    }
    return 0;
}

/* "0-8191" or "0-100,200,300-400" assigned to group index gi in map. */
static int
assign_slots(struct proxy *px, unsigned char *map, size_t gi, const char *spec)
{
    char *list = mem_strdup(spec);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long long lo, hi;
        char *dash = strchr(tok, '-');
        if (dash) {
            *dash = '\0';
        }
        if (util_str2ll(tok, strlen(tok), &lo) != 0
            || (dash && util_str2ll(dash + 1, strlen(dash + 1), &hi) != 0)) {
            log_error("Bad slot range '%s' for group %s", spec, px->groups[gi].name);
            mem_free(list);
            return -1;
        }
        if (!dash) {
            hi = lo;
        }
        if (lo < 0 || hi >= SLOT_COUNT || lo > hi) {
            log_error("Slot range %lld-%lld of group %s is outside 0-16383", lo, hi,
                      px->groups[gi].name);
            mem_free(list);
            return -1;
        }
        for (long long sl = lo; sl <= hi; sl++) {
            if (map[sl] != 0xff) {
                log_error("Slot %lld is assigned twice (groups %s and %s)", sl,
                          px->groups[map[sl]].name, px->groups[gi].name);
                mem_free(list);
                return -1;
            }
            map[sl] = (unsigned char)gi;
        }
    }
    mem_free(list);
    return 0;
}

static struct group *
group_find_or_add(struct proxy *px, const char *name)
{
    for (size_t i = 0; i < px->ngroups; i++) {
        if (strcmp(px->groups[i].name, name) == 0) {
            return &px->groups[i];
        }
    }
    if (px->ngroups == TOPOLOGY_MAX_GROUPS) {
        log_error("At most %d groups", TOPOLOGY_MAX_GROUPS);
        return NULL;
    }
    struct group *g = &px->groups[px->ngroups++];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    log_info("Group %s added", name);
    return g;
}

/* Apply a topology: group lines ("name slots nodes;...") or, without any,
 * one group "default" of nodes owning every slot.  Groups and nodes are
 * added, slots (re)assigned; nothing is removed (requests may be in flight
 * to it).  The slot map changes only when the new one covers every slot. */
int
topology_apply(struct proxy *px, const char *groups_spec, const char *nodes_spec)
{
    unsigned char *map = mem_alloc(SLOT_COUNT);
    int rc = 0;
    memset(map, 0xff, SLOT_COUNT);
    if (groups_spec == NULL || groups_spec[0] == '\0') {
        if (nodes_spec == NULL || nodes_spec[0] == '\0') {
            log_error("No nodes: give --nodes host:port[,host:port...] or group lines");
            mem_free(map);
            return -1;
        }
        struct group *g = group_find_or_add(px, "default");
        memset(map, (int)(g - px->groups), SLOT_COUNT);
        rc = add_node_list(px, g, nodes_spec);
    } else {
        if (nodes_spec && nodes_spec[0]) {
            log_error("Give either --nodes (one group) or group lines, not both");
            mem_free(map);
            return -1;
        }
        char *all = mem_strdup(groups_spec);
        char *save = NULL;
        for (char *line = strtok_r(all, ";", &save); line && rc == 0;
             line = strtok_r(NULL, ";", &save)) {
            char name[64], slots[4096], nodes[4096];
            struct group *g;
            if (sscanf(line, "%63s %4095s %4095s", name, slots, nodes) != 3) {
                log_error("Bad group line '%s' (want: <name> <slots> <host:port,...>)", line);
                rc = -1;
            } else if ((g = group_find_or_add(px, name)) == NULL
                       || assign_slots(px, map, (size_t)(g - px->groups), slots) != 0
                       || add_node_list(px, g, nodes) != 0) {
                rc = -1;
            }
        }
        mem_free(all);
    }
    for (int sl = 0; rc == 0 && sl < SLOT_COUNT; sl++) {
        if (map[sl] == 0xff) {
            log_error("Slot %d is not assigned to any group", sl);
            rc = -1;
        }
    }
    if (rc == 0) {
        memcpy(px->slot_group, map, SLOT_COUNT);
        for (size_t i = 0; i < px->ngroups; i++) {
            px->groups[i].slots = 0;
        }
        for (int sl = 0; sl < SLOT_COUNT; sl++) {
            px->groups[map[sl]].slots++;
        }
        for (size_t i = 0; i < px->ngroups; i++) {
            if (px->groups[i].slots == 0) {
                log_warn("Group %s owns no slots now: it receives no requests",
                         px->groups[i].name);
            }
        }
    }
    mem_free(map);
    return rc;
}

int
topology_setup(struct proxy *px)
{
    /* Fixed capacity: nodes point at their group, so the array never moves
     * (a reload may add groups). */
    px->groups = mem_calloc(TOPOLOGY_MAX_GROUPS * sizeof(struct group));
    px->ngroups = 0;
    px->slot_group = mem_alloc(SLOT_COUNT);
    memset(px->slot_group, 0xff, SLOT_COUNT);
    return topology_apply(px, px->cfg.groups, px->cfg.nodes);
}

struct group *
topology_group_of_key(struct proxy *px, const char *key, size_t len)
{
    return &px->groups[px->slot_group[slot_of_key(key, len)]];
}

static void
probe_close(struct node *n)
{
    if (n->probe_ev) {
        event_free(n->probe_ev);
        n->probe_ev = NULL;
    }
    if (n->probe_conn != NULL) {
        conn_destroy(&n->probe_conn); /* closes probe_fd */
    } else if (n->probe_fd >= 0) {
        close(n->probe_fd);
    }
    n->probe_fd = -1;
    n->probe_len = 0;
    n->probe_waiting = 0;
    n->probe_auth_pending = 0;
    n->probe_connected = 0;
}

void
topology_teardown(struct proxy *px)
{
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        probe_close(n);
        for (long long k = 0; k < 2 * px->cfg.pool_size; k++) {
            backend_close(&n->pool[k], NULL);
        }
        for (long long k = 0; k < px->cfg.blocking_pool_size; k++) {
            backend_close(&n->blocking[k], NULL);
        }
        txn_node_teardown(px, n);
        mem_free(n->pool);
        mem_free(n->blocking);
        mem_free(n->probe_in);
        mem_free(n);
    }
    mem_free(px->nodes);
    px->nodes = NULL;
    px->nnodes = 0;
    mem_free(px->groups);
    px->groups = NULL;
    px->ngroups = 0;
    mem_free(px->slot_group);
    px->slot_group = NULL;
}

char *
topology_auth_frame(const struct proxy *px, size_t *len)
{
    const char *user = px->cfg.backend_user, *pass = px->cfg.backend_password;
    struct resp_arg a[3] = {{"AUTH", 4}, {user, user ? strlen(user) : 0},
                            {pass, pass ? strlen(pass) : 0}};
    if (pass == NULL || pass[0] == '\0') {
        return NULL;
    }
    if (user == NULL || user[0] == '\0') {
        a[1] = a[2];
        return fanout_encode(2, a, len);
    }
    return fanout_encode(3, a, len);
}


int
topology_info_field(const char *text, size_t len, const char *field, char *out, size_t outlen)
{
    size_t fl = strlen(field);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        if ((size_t)(eol - p) > fl && memcmp(p, field, fl) == 0 && p[fl] == ':') {
            size_t n = (size_t)(eol - p) - fl - 1;
            if (n > 0 && p[fl + n] == '\r') {
                n--;
            }
            if (n >= outlen) {
                n = outlen - 1;
            }
            memcpy(out, p + fl + 1, n);
            out[n] = '\0';
            return 1;
        }
        p = eol + 1;
    }
    return 0;
}

static void
apply_info(struct proxy *px, struct node *n, const char *text, size_t len)
{
    char v[512];
    long long now = util_mstime();
    if (topology_info_field(text, len, "role", v, sizeof(v))) {
        int role = strcmp(v, "master") == 0 ? NODE_ROLE_MASTER : NODE_ROLE_REPLICA;
        if (role != n->role) {
            log_info("Node %s is now a %s", n->name, v);
        }
        n->role = role;
    }
    if (topology_info_field(text, len, "run_id", v, sizeof(v))) {
        if (n->run_id[0] != '\0' && strncmp(n->run_id, v, 40) != 0) {
            n->incarnation++; /* restarted: its SCAN cursors mean nothing now */
        }
        snprintf(n->run_id, sizeof(n->run_id), "%.40s", v);
    }
    if (topology_info_field(text, len, "config_epoch", v, sizeof(v))) {
        n->epoch = atoll(v);
        /* A proxy that restarted (its epoch back at 0) must not start
         * elections in epochs the nodes would refuse as stale. */
        if (n->epoch > px->current_epoch) {
            px->current_epoch = n->epoch;
        }
    }
    /* tagged_waits (Clients): the node has CACHELY.BLOCK (blockmux.c). */
    n->mux_ok = topology_info_field(text, len, "tagged_waits", v, sizeof(v));
    n->priority = 100;
    if (topology_info_field(text, len, "slave_priority", v, sizeof(v))) {
        n->priority = atoll(v);
    }
    if (n->role == NODE_ROLE_MASTER) {
        struct group *g = n->group;
        if (topology_info_field(text, len, "master_repl_offset", v, sizeof(v))) {
            n->offset = atoll(v);
        }
        n->link_up = 1;
        n->sync_in_progress = 0;
        n->master_host[0] = '\0';
        n->master_port = 0;
        if (g->master != n) {
            /* A master promoted in a newer epoch than the configuration's
             * wins (whoever promoted it); otherwise a master is adopted
             * only when the group has none that works, and never one from
             * an older epoch (an old master back from the dead). */
            if (n->epoch > g->config_epoch) {
                log_info("Master of group %s: %s (epoch %lld)", g->name, n->name, n->epoch);
                topology_set_master(px, g, n, n->epoch);
            } else if (n->epoch == g->config_epoch
                       && (g->master == NULL || g->master->role != NODE_ROLE_MASTER
                           || !g->master->up)
                       && g->fo_state == FAILOVER_NONE) {
                log_info("Master of group %s: %s", g->name, n->name);
                topology_set_master(px, g, n, n->epoch);
            }
        }
        if (g->master == n) {
            g->off_idx = (g->off_idx + 1) % 64;
            g->off_time[g->off_idx] = now;
            g->off_value[g->off_idx] = n->offset;
        }
        /* Discover replicas: slaveN:ip=...,port=...,state=...,offset=... */
        for (int i = 0; i < 64; i++) {
            char key[16], ip[256];
            int port;
            snprintf(key, sizeof(key), "slave%d", i);
            if (!topology_info_field(text, len, key, v, sizeof(v))) {
                break;
            }
            if (sscanf(v, "ip=%255[^,],port=%d", ip, &port) == 2 && port > 0) {
                topology_add(px, n->group, ip, port);
            }
        }
    } else {
        /* A replica whose link went down or that loads a full sync may
         * hold a different keyspace: SCAN cursors from before are refused. */
        if (topology_info_field(text, len, "master_link_status", v, sizeof(v))) {
            int up = strcmp(v, "up") == 0;
            n->incarnation += n->link_up && !up;
            n->link_up = up;
        }
        if (topology_info_field(text, len, "master_sync_in_progress", v, sizeof(v))) {
            int syncing = atoi(v);
            n->incarnation += !n->sync_in_progress && syncing;
            n->sync_in_progress = syncing;
        }
        if (topology_info_field(text, len, "slave_repl_offset", v, sizeof(v))) {
            n->offset = atoll(v);
        }
        if (topology_info_field(text, len, "master_host", v, sizeof(v))) {
            snprintf(n->master_host, sizeof(n->master_host), "%.255s", v);
        }
        if (topology_info_field(text, len, "master_port", v, sizeof(v))) {
            n->master_port = atoi(v);
        }
        /* Discover upwards too: a proxy that knows only replicas (or an old
         * master) finds the master they follow. */
        if (n->master_host[0] && n->master_port > 0) {
            topology_add(px, n->group, n->master_host, n->master_port);
        }
    }
}

void
topology_set_master(struct proxy *px, struct group *g, struct node *n, long long epoch)
{
    struct node *old = g->master;
    g->config_epoch = epoch;
    if (old == n) {
        return;
    }
    g->master = n;
    /* The subscriber links move first: the sessions hear of the new
     * master (+switch-master below) once it carries their subscriptions. */
    nodesub_master_changed(px, g);
    /* The offset samples were the old master's. */
    memset(g->off_time, 0, sizeof(g->off_time));
    memset(g->off_value, 0, sizeof(g->off_value));
    if (old != NULL) {
        /* No request goes to the old master from now on.  When it is down,
         * what is in flight there fails with an error (it may or may not
         * have run there; it is never sent again): a stopped master that
         * wakes up cannot then acknowledge a write the group no longer has.
         * A master that is up (a switchover) holds our writes paused and
         * refuses them with -READONLY once demoted; they are re-sent to the
         * new master (redirect_write in session.c). */
        if (!old->up) {
            for (long long k = 0; k < 2 * px->cfg.pool_size; k++) {
                backend_close(&old->pool[k], "the node is no longer the group's master");
            }
            session_drop_node(px, old);
        }
        /* A client blocked on the old master gets an error now, down or
         * demoted: a replica never serves its pop (and a demoted master's
         * pop would be undone by the resync), so it would wait forever. */
        for (long long k = 0; k < px->cfg.blocking_pool_size; k++) {
            backend_close(&old->blocking[k], "the node is no longer the group's master");
        }
        blockmux_node_demoted(px, old, "the node is no longer the group's master");
        /* Transactions pinned to it fail at EXEC (txn.c). */
        txn_drop_node(px, old);
        g->switch_count++;
        failover_event(px, "+switch-master", "%s %s %d %s %d", failover_group_name(px, g),
                       old->host, old->port, n->host, n->port);
    }
}

/* Consume probe replies: +PONG (or -LOADING/-MASTERDOWN, which Sentinel
 * also counts as alive), then the INFO bulk.  Public so that the unit
 * tests feed it replies without a socket. */
int
topology_probe_consume(struct proxy *px, struct node *n)
{
    while (n->probe_auth_pending) {
        struct resp_scan sc;
        resp_scan_init(&sc);
        int rc = resp_scan_next(&sc, n->probe_in, n->probe_len);
        if (rc <= 0) {
            return rc;
        }
        if (n->probe_in[0] == '-') {
            log_warn("Node %s refused the proxy's AUTH: %.*s", n->name,
                     (int)(sc.pos > 2 ? sc.pos - 2 : 0), n->probe_in + 1);
        }
        n->probe_auth_pending = 0;
        memmove(n->probe_in, n->probe_in + sc.pos, n->probe_len - sc.pos);
        n->probe_len -= sc.pos;
    }
    while (n->probe_waiting > 0) {
        struct resp_scan sc;
        resp_scan_init(&sc);
        int rc = resp_scan_next(&sc, n->probe_in, n->probe_len);
        if (rc == 0) {
            return 0;
        }
        if (rc < 0) {
            return -1;
        }
        const char *r = n->probe_in;
        if (n->probe_waiting == 2) {
            int alive = (sc.pos >= 5 && memcmp(r, "+PONG", 5) == 0)
                        || (sc.pos >= 8 && memcmp(r, "-LOADING", 8) == 0)
                        || (sc.pos >= 11 && memcmp(r, "-MASTERDOWN", 11) == 0);
            if (alive) {
                topology_node_alive(px, n, util_mstime());
            }
        } else if (r[0] == '$' || r[0] == '=') {
            const char *body = memchr(r, '\n', sc.pos);
            if (body) {
                body++;
                apply_info(px, n, body, sc.pos - (size_t)(body - r));
            }
        }
        n->probe_waiting--;
        memmove(n->probe_in, n->probe_in + sc.pos, n->probe_len - sc.pos);
        n->probe_len -= sc.pos;
    }
    return 0;
}

/* A probe request is small: it is written at once (the handshake is over)
 * or the connection is useless. */
static int
probe_write(struct proxy *px, struct node *n, const char *buf, size_t len)
{
    (void)px;
    if (!conn_is_tls(n->probe_conn)) {
        return util_write_all(n->probe_fd, buf, len, 0);
    }
    return conn_write_all(n->probe_conn, buf, len, 0);
}

static void
probe_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;
    struct proxy *px = n->px;

    if (!n->probe_connected) {
        if (n->probe_conn == NULL) {
            int err = 0;
            socklen_t el = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err != 0) {
                /* Nothing listens there: the node is gone, not slow. */
                if (err == ECONNREFUSED && n->up) {
                    log_warn("Node %s refused the probe connection: marking it down",
                             n->name);
                    n->up = 0;
                }
                probe_close(n);
                return;
            }
            n->probe_conn = tlsctx_connect(px, fd, n->name);
            if (n->probe_conn == NULL) {
                probe_close(n);
                return;
            }
        }
        /* With tls-backend the handshake runs first, event-driven; a node
         * that never finishes it is closed by probe_send's deadline. */
        if (conn_handshake(n->probe_conn) != 0) {
            if (errno != EAGAIN) {
                probe_close(n);
                return;
            }
            event_del(n->probe_ev);
            event_assign(n->probe_ev, px->base, fd,
                         EV_PERSIST | (conn_wants(n->probe_conn) == CONN_WANT_WRITE
                                       ? EV_WRITE : EV_READ),
                         probe_on_event, n);
            event_add(n->probe_ev, NULL);
            return;
        }
        n->probe_connected = 1;
        event_del(n->probe_ev);
        event_assign(n->probe_ev, px->base, fd, EV_READ | EV_PERSIST, probe_on_event, n);
        event_add(n->probe_ev, NULL);
        /* Authenticate once per probe connection; its reply comes first. */
        size_t alen;
        char *auth = topology_auth_frame(px, &alen);
        if (auth != NULL) {
            if (probe_write(px, n, auth, alen) != 0) {
                mem_free(auth);
                probe_close(n);
                return;
            }
            mem_free(auth);
            n->probe_auth_pending = 1;
        }
        /* Probe at once: a node just added (at start, or discovered from
         * its master's INFO) should not wait a whole interval. */
        probe_send(px, n);
        return;
    }
    if (!(what & EV_READ)) {
        return;
    }
    if (n->probe_cap - n->probe_len < 4096) {
        n->probe_cap = n->probe_cap ? n->probe_cap * 2 : 8192;
        n->probe_in = mem_realloc(n->probe_in, n->probe_cap);
    }
    ssize_t r = conn_read(n->probe_conn, n->probe_in + n->probe_len,
                          n->probe_cap - n->probe_len);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        probe_close(n);
        return;
    }
    n->probe_len += (size_t)r;
    if (topology_probe_consume(px, n) != 0) {
        log_warn("Bad probe reply from %s", n->name);
        probe_close(n);
        return;
    }
    /* Bytes TLS already decrypted do not make the socket readable. */
    if (conn_pending(n->probe_conn) > 0) {
        event_active(n->probe_ev, EV_READ, 0);
    }
}

static void
probe_send(struct proxy *px, struct node *n)
{
    long long now = util_mstime();
    if (n->probe_fd < 0) {
        n->probe_fd = util_connect_nonblock(n->host, n->port);
        if (n->probe_fd < 0) {
            return;
        }
        n->probe_connected = 0;
        n->probe_ev = event_new(px->base, n->probe_fd, EV_WRITE | EV_PERSIST,
                                probe_on_event, n);
        event_add(n->probe_ev, NULL);
        return;
    }
    if (!n->probe_connected) {
        if (now - n->probe_sent_ms > px->cfg.down_after_ms) {
            probe_close(n);
        }
        return;
    }
    /* One probe at a time: a node still owing replies is not sent more
     * (its silence is what down-after-ms measures). */
    if (n->probe_waiting > 0) {
        return;
    }
    if (probe_write(px, n, probe_request, sizeof(probe_request) - 1) != 0) {
        probe_close(n);
        return;
    }
    n->probe_waiting = 2;
    n->probe_sent_ms = now;
}

/* The shortest silence that may mark a node down: three probe intervals,
 * so that one late reply never does. */
long long
topology_detect_floor(const struct proxy *px)
{
    return 3 * px->cfg.probe_interval_ms;
}

void
topology_node_alive(struct proxy *px, struct node *n, long long now)
{
    if (!n->up) {
        log_info("Node %s is up", n->name);
        n->incarnation++; /* back from down: maybe restarted */
    }
    detect_reply(&n->detect, now, n->up, px->cfg.down_after_ms);
    n->up = 1;
    n->last_ok_ms = now;
}

int
topology_check_down(struct proxy *px, struct node *n, long long now)
{
    if (!n->up
        || !detect_down(&n->detect, now, topology_detect_floor(px), px->cfg.down_after_ms)) {
        return 0;
    }
    log_warn("Node %s is down: no valid reply for %lld ms (its bound: %lld ms)", n->name,
             now - n->last_ok_ms,
             detect_timeout_ms(&n->detect, topology_detect_floor(px), px->cfg.down_after_ms));
    n->up = 0;
    return 1;
}

void
topology_cron(struct proxy *px)
{
    long long now = util_mstime();
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        if (n->probe_fd < 0 || now - n->probe_sent_ms >= px->cfg.probe_interval_ms) {
            if (n->probe_fd < 0) {
                n->probe_sent_ms = now;
            }
            probe_send(px, n);
        }
        if (topology_check_down(px, n, now)) {
            /* A hung probe connection is replaced. */
            probe_close(n);
        }
        for (long long k = 0; k < 2 * px->cfg.pool_size; k++) {
            backend_cron(px, &n->pool[k]);
        }
        txn_cron(px, n);
    }
}

/* The master's offset as it was max_lag_ms ago (or its oldest sample). */
static long long
master_offset_before(struct group *g, long long max_lag_ms)
{
    long long limit = util_mstime() - max_lag_ms;
    long long best = -1;
    for (int k = 0; k < 64; k++) {
        int i = (g->off_idx - k + 64) % 64;
        if (g->off_time[i] == 0) {
            break;
        }
        best = g->off_value[i];
        if (g->off_time[i] <= limit) {
            break;
        }
    }
    return best;
}

struct node *
topology_pick_replica(struct proxy *px, struct group *g, long long min_offset)
{
    long long need;
    if (g->master == NULL || px->nnodes == 0) {
        return NULL;
    }
    /* A replica is caught up when it holds at least what the master had
     * max-replica-lag-ms ago. */
    need = master_offset_before(g, px->cfg.max_replica_lag_ms);
    if (min_offset > need) {
        need = min_offset;
    }
    for (size_t k = 0; k < px->nnodes; k++) {
        struct node *n = px->nodes[(g->rr + k) % px->nnodes];
        if (n->group != g || n == g->master || n->role != NODE_ROLE_REPLICA || !n->up
            || !n->link_up || n->sync_in_progress || n->offset < need) {
            continue;
        }
        g->rr = (g->rr + k + 1) % px->nnodes;
        return n;
    }
    return NULL;
}

struct node *
topology_read_target(struct proxy *px, struct group *g, int replica_ok, long long min_offset)
{
    if (!replica_ok) {
        px->routed_master++;
        return g->master;
    }
    struct node *rep = topology_pick_replica(px, g, min_offset);
    if (rep != NULL) {
        px->routed_replica++;
        return rep;
    }
    px->routed_fallback++;
    return g->master;
}
