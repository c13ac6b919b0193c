/* Failover run by the proxies, as Redis Sentinel runs it.
 *
 * Detection: a group's master is subjectively down (sdown) for this proxy
 * when its probes say so (no valid reply for down-after-ms, a refused
 * connection, or the node reporting itself a replica).  While it is, the
 * proxy asks its peers "SENTINEL is-master-down-by-addr ip port epoch *"
 * every probe interval; it is objectively down (odown) while quorum proxies,
 * this one included, said so within the last second.
 *
 * Agreement: a proxy that sees odown waits its turn (peers ordered by run
 * id, so they rarely compete), increments the epoch and asks for votes with
 * its run id.  A proxy votes once per epoch, only for a candidate whose
 * master it sees down too, and a candidate needs max(quorum, majority of
 * all proxies) votes, itself included: a minority partition never fails
 * over.
 *
 * Promotion: the leader picks a replica (priority, then offset, then run
 * id), sends it REPLICAOF NO ONE EPOCH e, and on success makes it the
 * group's master in the configuration of epoch e, tells its peers
 * (SENTINEL HELLO) and re-points the other nodes with REPLICAOF ... EPOCH e.
 * Every proxy adopts the configuration with the highest epoch, from a
 * peer's hello or from a node reporting a newer epoch, and keeps imposing
 * it: a node that disagrees (an old master back from the dead, a replica
 * of the wrong master) is sent REPLICAOF.  Nodes refuse an older epoch, so
 * a proxy holding a stale configuration cannot undo a newer one.
 *
 * Connections to peers and the one-shot node commands are peerlink.c's
 * (core/conn: TLS to peers with tls-peers, to nodes with tls-backend).
 * With peer-auth set, a peer proves it knows the shared secret
 * (SENTINEL PEER-AUTH) before its votes and hellos count (sentinel.c); with
 * peer-user, a session authenticated as that ACL user counts as a peer, and
 * our links AUTH as it. */
#include "proxy/failover.h"
#include "proxy/failover_env.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "proxy/peerlink.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/topology.h"


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A peer request or connection attempt with no answer for this long is
 * abandoned (the connection is dropped). */
#define PEER_TIMEOUT_MS 1000
/* A peer's "master down" answer counts for this long. */
#define DOWN_REPORT_VALID_MS 1000
#define HELLO_PERIOD_MS 1000
/* Candidates wait rank * this (plus jitter) after odown before trying. */
#define RANK_DELAY_MS 150
/* A node is re-sent a configuration at most this often. */
#define RECONF_PERIOD_MS 1000
#define MAX_PEERS 63

/* A one-shot connection to a node carrying one command; the callback gets
 * the reply or NULL (error, timeout). */
struct admin;
typedef void (*admin_reply_fn)(struct admin *a, const struct peerlink_reply *reply);

struct admin {
    struct proxy *px;            /* borrowed */
    struct peerlink *link;       /* owned; NULL once gone */
    struct node *node;           /* borrowed (nodes live as long as the proxy) */
    struct group *group;         /* borrowed */
    long long epoch;             /* the attempt it belongs to */
    long long deadline_ms;
    int done;                    /* cb ran (or never will) */
    admin_reply_fn cb;
    struct admin *next;
};

/* What a peer request was for. */
enum peer_req_kind { PEER_HELLO, PEER_DOWN_QUERY, PEER_VOTE };

struct peer_req {
    struct peer *p;              /* borrowed */
    const struct peerlink *link; /* the link it went on (compared, never used) */
    enum peer_req_kind kind;
    size_t gi;
    long long epoch;
};

static void group_cron(struct proxy *px, struct group *g, long long now);

/* The clock and the links (failover_env.h): the real ones unless a test
 * set its own.  Failover reads them from its cron and its replies only,
 * never per request. */
static const struct failover_env default_env = {
    .now_ms = util_mstime,
    .link_create = peerlink_create,
    .link_send = peerlink_send,
    .link_state = peerlink_state,
    .link_tls_refused = peerlink_tls_refused,
    .link_replied = peerlink_replied,
    .link_destroy = peerlink_destroy,
};
static const struct failover_env *env = &default_env;

void
failover_set_env(const struct failover_env *e)
{
    env = e != NULL ? e : &default_env;
}

int
failover_peer_alive(const struct peer *p, long long now)
{
    /* Connected is not enough: a stopped process still accepts
     * connections.  It must have answered lately (hellos go every second). */
    return p->connected && p->last_reply_ms != 0
           && now - p->last_reply_ms <= 2 * HELLO_PERIOD_MS + PEER_TIMEOUT_MS / 2;
}

/* ---- events ------------------------------------------------------------------ */

void
failover_event(struct proxy *px, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof(msg)) {
        n = (int)sizeof(msg) - 1;
    }
    log_info("%s %s", type, msg);
    pubsub_publish(px, type, msg, (size_t)n);
}

const char *
failover_group_name(const struct proxy *px, const struct group *g)
{
    if (px->ngroups == 1 && strcmp(g->name, "default") == 0 && px->cfg.name
        && px->cfg.name[0]) {
        return px->cfg.name;
    }
    return g->name;
}

struct group *
failover_group_by_name(struct proxy *px, const char *name, size_t len)
{
    for (size_t i = 0; i < px->ngroups; i++) {
        const char *gn = failover_group_name(px, &px->groups[i]);
        if (strlen(gn) == len && memcmp(gn, name, len) == 0) {
            return &px->groups[i];
        }
    }
    return NULL;
}

static void
master_event(struct proxy *px, const char *type, struct group *g, struct node *m)
{
    failover_event(px, type, "master %s %s %d", failover_group_name(px, g), m->host, m->port);
}

static void
replica_event(struct proxy *px, const char *type, struct group *g, struct node *n)
{
    struct node *m = g->master;
    failover_event(px, type, "slave %s %s %d @ %s %s %d", n->name, n->host, n->port,
                   failover_group_name(px, g), m ? m->host : "?", m ? m->port : 0);
}

/* ---- quorum ------------------------------------------------------------------ */

long long
failover_quorum(const struct proxy *px)
{
    long long all = (long long)px->npeers + 1;
    return px->cfg.quorum > 0 ? px->cfg.quorum : all / 2 + 1;
}

long long
failover_votes_needed(const struct proxy *px)
{
    long long majority = ((long long)px->npeers + 1) / 2 + 1;
    long long q = failover_quorum(px);
    return q > majority ? q : majority;
}

int
failover_sdown(const struct proxy *px, const struct group *g)
{
    (void)px;
    return g->master != NULL && (!g->master->up || g->master->role == NODE_ROLE_REPLICA);
}

int
failover_odown(const struct proxy *px, const struct group *g)
{
    (void)px;
    return g->odown_since_ms != 0;
}

/* ---- node commands ----------------------------------------------------------- */

/* The TLS context for a link to a node / to a peer (NULL: plain). */
static struct conn_tls_ctx *
node_ctx(const struct proxy *px)
{
    return px->cfg.tls_backend ? px->tls_backend_ctx : NULL;
}

static struct conn_tls_ctx *
peer_ctx(const struct proxy *px)
{
    return px->cfg.tls_peers ? px->tls_backend_ctx : NULL;
}

static void
admin_on_reply(void *arg, const struct peerlink_reply *r)
{
    struct admin *a = arg;
    a->done = 1;
    if (a->cb) {
        a->cb(a, r);
    }
    /* Safe inside the link's callback: it is freed once this returns. */
    env->link_destroy(&a->link);
}

/* Send one command to node n on a fresh connection (AUTH first when the
 * nodes need it).  cb runs once, with the reply or NULL. */
static void
admin_command(struct proxy *px, struct node *n, struct group *g, long long epoch,
              admin_reply_fn cb, int argc, const char **argv)
{
    struct admin *a = mem_calloc(sizeof(*a));
    char what[340];
    a->px = px;
    a->node = n;
    a->group = g;
    a->epoch = epoch;
    a->cb = cb;
    a->deadline_ms = env->now_ms() + px->cfg.failover_timeout_ms;
    a->next = px->admins;
    px->admins = a;
    snprintf(what, sizeof(what), "Node %s (failover command)", n->name);
    a->link = env->link_create(px->base, n->host, n->port, node_ctx(px), what);
    if (a->link == NULL) {
        a->done = 1;
        if (cb) {
            cb(a, NULL);
        }
        a->cb = NULL;
        return;
    }
    if (px->cfg.backend_password && px->cfg.backend_password[0]) {
        if (px->cfg.backend_user && px->cfg.backend_user[0]) {
            const char *auth[] = {"AUTH", px->cfg.backend_user, px->cfg.backend_password};
            env->link_send(a->link, 3, auth, NULL, NULL);
        } else {
            const char *auth[] = {"AUTH", px->cfg.backend_password};
            env->link_send(a->link, 2, auth, NULL, NULL);
        }
    }
    env->link_send(a->link, argc, argv, admin_on_reply, a);
}

/* Drop timed-out admin connections (their callback runs with NULL), then
 * free finished ones.  Callbacks may add admins at the head of the list:
 * the first loop only walks forward, the second runs no callback. */
static void
admin_cron(struct proxy *px, long long now)
{
    for (struct admin *a = px->admins; a != NULL; a = a->next) {
        if (a->link != NULL && (now > a->deadline_ms
                                || env->link_state(a->link) == PEERLINK_FAILED)) {
            if (!a->done) {
                log_warn("Node %s: no answer to the proxy's command in time", a->node->name);
            }
            env->link_destroy(&a->link); /* runs the callback with NULL */
        }
    }
    struct admin **pp = &px->admins;
    while (*pp) {
        struct admin *a = *pp;
        if (a->link == NULL && a->done) {
            *pp = a->next;
            mem_free(a);
            continue;
        }
        pp = &a->next;
    }
}

static int
reply_ok(const struct peerlink_reply *r)
{
    return r != NULL && r->type == '+';
}

/* An error reply's text for a log line, else dflt. */
static const char *
reply_error(const struct peerlink_reply *r, char *buf, size_t cap, const char *dflt)
{
    if (r == NULL || r->type != '-') {
        return dflt;
    }
    snprintf(buf, cap, "%.*s", (int)r->len, r->str);
    return buf;
}

/* ---- peers ------------------------------------------------------------------- */

static void peer_on_reply(void *arg, const struct peerlink_reply *r);

static void
peer_on_auth(void *arg, const struct peerlink_reply *r)
{
    struct peer *p = arg;
    if (r != NULL && r->type == '-' && !p->auth_refused_logged) {
        p->auth_refused_logged = 1;
        log_warn("Peer %s refused our peer authentication (check peer-auth, peer-user and "
                 "peer-pass on both): %.*s",
                 p->name, (int)r->len, r->str);
    } else if (r != NULL && r->type == '+') {
        p->auth_refused_logged = 0;
    }
}

static void
peer_connect(struct proxy *px, struct peer *p, long long now)
{
    char what[340];
    snprintf(what, sizeof(what), "Peer %s", p->name);
    p->retry_ms = now + 200;
    p->link = env->link_create(px->base, p->host, p->port, peer_ctx(px), what);
    if (p->link == NULL) {
        return;
    }
    p->connected = 0;
    p->connect_ms = now;
    p->pending = 0;
    p->hello_ms = 0;
    memset(p->asking, 0, TOPOLOGY_MAX_GROUPS);
    if (px->cfg.peer_user && px->cfg.peer_user[0]) {
        /* The peers' ACL user: what it may run is the peer's to say. */
        const char *auth[] = {"AUTH", px->cfg.peer_user,
                              px->cfg.peer_pass ? px->cfg.peer_pass : ""};
        peerlink_send(p->link, 3, auth, peer_on_auth, p);
    } else if (px->cfg.requirepass && px->cfg.requirepass[0]) {
        const char *auth[] = {"AUTH", px->cfg.requirepass};
        env->link_send(p->link, 2, auth, NULL, NULL);
    }
    if (px->cfg.peer_auth && px->cfg.peer_auth[0]) {
        const char *auth[] = {"SENTINEL", "PEER-AUTH", px->cfg.peer_auth};
        env->link_send(p->link, 3, auth, peer_on_auth, p);
    }
}

/* Close p's link (its requests fail) and retry later: soon, unless the
 * TLS handshake was refused (a certificate problem is not fixed in 200 ms,
 * and each attempt is logged by the peer): then 1 s doubling to 30 s. */
static void
peer_drop(struct peer *p, const char *why)
{
    if (p->link == NULL) {
        return;
    }
    int refused = env->link_tls_refused(p->link);
    if (why != NULL) {
        log_warn("Peer %s: %s; reconnecting", p->name, why);
    } else if (p->announced) {
        log_info("Peer %s disconnected", p->name);
    }
    p->connected = 0;
    p->announced = 0;
    env->link_destroy(&p->link); /* pending callbacks run with NULL */
    p->pending = 0;
    memset(p->asking, 0, TOPOLOGY_MAX_GROUPS);
    if (refused) {
        p->tls_backoff_ms = p->tls_backoff_ms ? p->tls_backoff_ms * 2 : 1000;
        if (p->tls_backoff_ms > 30000) {
            p->tls_backoff_ms = 30000;
        }
        if (!p->tls_refused_logged) {
            p->tls_refused_logged = 1;
            log_warn("Peer %s: TLS handshake refused (certificate or CA, see the TLS line "
                     "above or the peer's log); retrying with a growing delay", p->name);
        }
    }
    p->retry_ms = env->now_ms() + (refused ? p->tls_backoff_ms : 200);
}

static int
peer_send(struct peer *p, enum peer_req_kind kind, size_t gi, long long epoch, int argc,
          const char **argv)
{
    if (p->link == NULL) {
        return -1;
    }
    struct peer_req *q = mem_alloc(sizeof(*q));
    q->p = p;
    q->link = p->link;
    q->kind = kind;
    q->gi = gi;
    q->epoch = epoch;
    if (env->link_send(p->link, argc, argv, peer_on_reply, q) != 0) {
        mem_free(q);
        return -1;
    }
    if (p->pending++ == 0) {
        p->pending_since_ms = env->now_ms();
    }
    return 0;
}

static void
send_hello(struct proxy *px, struct peer *p)
{
    for (size_t gi = 0; gi < px->ngroups; gi++) {
        struct group *g = &px->groups[gi];
        char epoch[24], port[16], cepoch[24];
        if (g->master == NULL) {
            continue;
        }
        snprintf(epoch, sizeof(epoch), "%lld", px->current_epoch);
        snprintf(port, sizeof(port), "%d", g->master->port);
        snprintf(cepoch, sizeof(cepoch), "%lld", g->config_epoch);
        const char *argv[] = {"SENTINEL", "HELLO", epoch, failover_group_name(px, g),
                              g->master->host, port, cepoch};
        peer_send(p, PEER_HELLO, gi, 0, 7, argv);
    }
}

static void
adopt_epoch(struct proxy *px, long long epoch)
{
    if (epoch > px->current_epoch) {
        px->current_epoch = epoch;
        failover_event(px, "+new-epoch", "%lld", epoch);
    }
}

static int
reply_is(const struct peerlink_reply *r, size_t i, char type)
{
    return r->element[i].type == type;
}

static void
peer_on_reply(void *arg, const struct peerlink_reply *reply)
{
    struct peer_req *q = arg;
    struct peer *p = q->p;
    struct proxy *px = p->px;
    long long now = env->now_ms();

    if (reply != NULL && p->link == q->link && p->pending > 0) {
        p->pending--;
        p->pending_since_ms = now;
        p->last_reply_ms = now;
    }
    if (q->kind == PEER_DOWN_QUERY && q->gi < TOPOLOGY_MAX_GROUPS) {
        p->asking[q->gi] = 0;
    }
    if (reply == NULL || q->gi >= px->ngroups) {
        mem_free(q);
        return;
    }
    struct group *g = &px->groups[q->gi];
    if (reply->type == '-') {
        /* A refusal (peer authentication, an unknown group): logged once
         * per kind of error until the peer accepts again. */
        if (!p->refusal_logged) {
            p->refusal_logged = 1;
            log_warn("Peer %s refused our request: %.*s", p->name, (int)reply->len, reply->str);
        }
    } else if (q->kind == PEER_HELLO) {
        /* *2: its run id, its current epoch */
        if (reply->type == '*' && reply->elements == 2 && reply_is(reply, 0, '$')
            && reply_is(reply, 1, ':')) {
            snprintf(p->runid, sizeof(p->runid), "%.*s", (int)reply->element[0].len,
                     reply->element[0].str);
            p->epoch = reply->element[1].integer;
            p->refusal_logged = 0;
            adopt_epoch(px, p->epoch);
        }
    } else if (reply->type == '*' && reply->elements == 3 && reply_is(reply, 0, ':')
               && reply_is(reply, 1, '$') && reply_is(reply, 2, ':')) {
        /* *3: down state, leader run id or "*", leader epoch */
        if (reply->element[0].integer == 1) {
            p->down_at[q->gi] = now;
        } else {
            p->down_at[q->gi] = 0;
        }
        p->refusal_logged = 0;
        long long leader_epoch = reply->element[2].integer;
        const struct peerlink_reply *leader = &reply->element[1];
        if (q->kind == PEER_VOTE && g->fo_state == FAILOVER_ELECTION
            && q->epoch == g->fo_epoch && leader_epoch == g->fo_epoch
            && leader->len == strlen(px->runid)
            && memcmp(leader->str, px->runid, leader->len) == 0) {
            g->fo_voters |= 1ull << (size_t)(p - px->peers);
        }
        adopt_epoch(px, leader_epoch);
    }
    mem_free(q);
}

static void
peers_cron(struct proxy *px, long long now)
{
    for (size_t i = 0; i < px->npeers; i++) {
        struct peer *p = &px->peers[i];
        if (p->link == NULL) {
            if (now >= p->retry_ms) {
                peer_connect(px, p, now);
            }
            continue;
        }
        enum peerlink_state st = env->link_state(p->link);
        if (st == PEERLINK_FAILED) {
            peer_drop(p, NULL);
            continue;
        }
        if (st == PEERLINK_UP && !p->connected) {
            p->connected = 1;
        }
        /* Logged at the first reply: in TLS 1.3 the handshake ends on our
         * side before the peer checked our certificate. */
        if (p->connected && !p->announced && env->link_replied(p->link)) {
            p->announced = 1;
            p->tls_refused_logged = 0;
            p->tls_backoff_ms = 0;
            log_info("Peer %s connected", p->name);
        }
        if (!p->connected && now - p->connect_ms > PEER_TIMEOUT_MS) {
            peer_drop(p, "connection timed out");
            continue;
        }
        if (p->pending > 0 && now - p->pending_since_ms > PEER_TIMEOUT_MS) {
            peer_drop(p, "no reply in time");
            continue;
        }
        if (p->connected && now - p->hello_ms >= HELLO_PERIOD_MS) {
            p->hello_ms = now;
            send_hello(px, p);
        }
    }
}

/* Tell every peer our configuration now (after a change). */
static void
hello_now(struct proxy *px)
{
    for (size_t i = 0; i < px->npeers; i++) {
        struct peer *p = &px->peers[i];
        if (p->connected) {
            p->hello_ms = env->now_ms();
            send_hello(px, p);
        } else {
            p->hello_ms = 0;
        }
    }
}

/* ---- what peers ask us ----------------------------------------------------- */

void
failover_vote_request(struct proxy *px, const char *ip, int port, long long epoch,
                      const char *runid, int *down, const char **leader,
                      long long *leader_epoch)
{
    struct group *g = NULL;
    *down = 0;
    *leader = "*";
    *leader_epoch = 0;
    for (size_t i = 0; i < px->ngroups; i++) {
        struct node *m = px->groups[i].master;
        if (m != NULL && m->port == port && strcmp(m->host, ip) == 0) {
            g = &px->groups[i];
            break;
        }
    }
    if (g == NULL) {
        return;
    }
    *down = failover_sdown(px, g);
    if (strcmp(runid, "*") != 0) {
        adopt_epoch(px, epoch);
        /* One vote per epoch, and only for a master we see down too. */
        if (g->leader_epoch < epoch && px->current_epoch <= epoch && *down) {
            snprintf(g->leader, sizeof(g->leader), "%s", runid);
            g->leader_epoch = epoch;
            failover_event(px, "+vote-for-leader", "%s %lld", runid, epoch);
            if (strcmp(runid, px->runid) != 0) {
                /* Leave the candidate time to finish; ours would compete. */
                g->fo_next_try_ms = env->now_ms() + px->cfg.failover_timeout_ms;
                if (g->fo_state == FAILOVER_ELECTION) {
                    g->fo_state = FAILOVER_NONE;
                }
            }
        }
        if (g->leader_epoch > 0) {
            *leader = g->leader;
            *leader_epoch = g->leader_epoch;
        }
    }
}

void
failover_hello(struct proxy *px, long long epoch, const char *group, const char *master_ip,
               int master_port, long long config_epoch)
{
    adopt_epoch(px, epoch);
    struct group *g = failover_group_by_name(px, group, strlen(group));
    if (g == NULL || config_epoch <= g->config_epoch) {
        return;
    }
    struct node *n = topology_add(px, g, master_ip, master_port);
    if (n->group != g) {
        log_warn("Hello: %s is a node of group %s, not %s", n->name, n->group->name, g->name);
        return;
    }
    log_info("Group %s: adopting master %s from a peer (epoch %lld)", g->name, n->name,
             config_epoch);
    if (g->fo_state != FAILOVER_NONE && g->fo_epoch <= config_epoch) {
        g->fo_state = FAILOVER_NONE;
    }
    n->role = NODE_ROLE_MASTER;
    topology_set_master(px, g, n, config_epoch);
}

/* ---- failover steps ------------------------------------------------------- */

static int
better_replica(const struct node *a, const struct node *b)
{
    if (a->priority != b->priority) {
        return a->priority < b->priority;
    }
    if (a->offset != b->offset) {
        return a->offset > b->offset;
    }
    int c = strcmp(a->run_id, b->run_id);
    return c != 0 ? c < 0 : strcmp(a->name, b->name) < 0;
}

struct node *
failover_select_replica(struct proxy *px, struct group *g)
{
    struct node *best = NULL;
    long long now = env->now_ms();
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        if (n->group != g || n == g->master || n->role != NODE_ROLE_REPLICA || !n->up
            || n->priority == 0 || n->sync_in_progress
            || now - n->last_ok_ms > 5 * px->cfg.probe_interval_ms + px->cfg.down_after_ms) {
            continue;
        }
        if (best == NULL || better_replica(n, best)) {
            best = n;
        }
    }
    return best;
}

static void
abort_failover(struct proxy *px, struct group *g, const char *why)
{
    if (g->fo_state == FAILOVER_NONE) {
        return;
    }
    log_warn("Group %s: failover of epoch %lld abandoned: %s", g->name, g->fo_epoch, why);
    if (g->fo_switchover && g->fo_old_master) {
        const char *argv[] = {"CLIENT", "UNPAUSE"};
        admin_command(px, g->fo_old_master, g, g->fo_epoch, NULL, 2, argv);
    }
    g->fo_state = FAILOVER_NONE;
    g->fo_switchover = 0;
    g->fo_wait_until_ms = 0;
    /* Retry after a random delay, so competing candidates spread out. */
    g->fo_next_try_ms = env->now_ms() + px->cfg.failover_timeout_ms / 4
                        + random() % (px->cfg.failover_timeout_ms / 4 + 1);
}

static void
send_replicaof(struct proxy *px, struct group *g, struct node *n, struct node *m,
               long long epoch, admin_reply_fn cb)
{
    char port[16], ep[24];
    snprintf(port, sizeof(port), "%d", m->port);
    snprintf(ep, sizeof(ep), "%lld", epoch);
    const char *argv[] = {"REPLICAOF", m->host, port, "EPOCH", ep};
    n->reconf_sent_ms = env->now_ms();
    admin_command(px, n, g, epoch, cb, 5, argv);
}

static void
on_demoted(struct admin *a, const struct peerlink_reply *r)
{
    (void)r;
    /* The old master is a replica now: its paused writes resume and are
     * refused (-READONLY), never executed. */
    const char *argv[] = {"CLIENT", "UNPAUSE"};
    admin_command(a->px, a->node, a->group, a->epoch, NULL, 2, argv);
}

static void
on_promoted(struct admin *a, const struct peerlink_reply *r)
{
    struct proxy *px = a->px;
    struct group *g = a->group;
    struct node *n = a->node;
    if (g->fo_state != FAILOVER_PROMOTING || g->fo_epoch != a->epoch || g->fo_promoted != n) {
        return;
    }
    if (!reply_ok(r)) {
        char err[256];
        abort_failover(px, g, reply_error(r, err, sizeof(err), "no reply to REPLICAOF NO ONE"));
        return;
    }
    struct node *old = g->fo_old_master;
    int switchover = g->fo_switchover;
    n->role = NODE_ROLE_MASTER;
    n->epoch = a->epoch;
    n->link_up = 1;
    n->sync_in_progress = 0;
    g->fo_state = FAILOVER_NONE;
    g->fo_switchover = 0;
    g->fo_wait_until_ms = 0;
    replica_event(px, "+promoted-slave", g, n);
    topology_set_master(px, g, n, a->epoch);
    hello_now(px);
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *o = px->nodes[i];
        if (o->group != g || o == n || !o->up) {
            continue;
        }
        send_replicaof(px, g, o, n, a->epoch, o == old && switchover ? on_demoted : NULL);
        replica_event(px, o == old ? "+convert-to-slave" : "+slave-reconf-sent", g, o);
    }
    master_event(px, "+failover-end", g, n);
    g->fo_old_master = NULL;
}

static void
promote(struct proxy *px, struct group *g, struct node *n)
{
    char ep[24];
    snprintf(ep, sizeof(ep), "%lld", g->fo_epoch);
    const char *argv[] = {"REPLICAOF", "NO", "ONE", "EPOCH", ep};
    g->fo_promoted = n;
    g->fo_state = FAILOVER_PROMOTING;
    g->fo_start_ms = env->now_ms();
    replica_event(px, "+selected-slave", g, n);
    admin_command(px, n, g, g->fo_epoch, on_promoted, 5, argv);
}

/* A new attempt of ours on g: a new epoch, our own vote in it. */
static void
begin_attempt(struct proxy *px, struct group *g, int switchover, long long now)
{
    px->current_epoch++;
    failover_event(px, "+new-epoch", "%lld", px->current_epoch);
    g->fo_epoch = px->current_epoch;
    g->leader_epoch = g->fo_epoch;
    snprintf(g->leader, sizeof(g->leader), "%s", px->runid);
    g->fo_voters = 0;
    g->fo_start_ms = now;
    g->fo_old_master = g->master;
    g->fo_switchover = switchover;
    master_event(px, "+try-failover", g, g->master);
}

static void
start_election(struct proxy *px, struct group *g, long long now)
{
    struct node *m = g->master;
    char port[16], ep[24];
    begin_attempt(px, g, 0, now);
    g->fo_state = FAILOVER_ELECTION;
    snprintf(port, sizeof(port), "%d", m->port);
    snprintf(ep, sizeof(ep), "%lld", g->fo_epoch);
    const char *argv[] = {"SENTINEL", "is-master-down-by-addr", m->host, port, ep, px->runid};
    for (size_t i = 0; i < px->npeers; i++) {
        peer_send(&px->peers[i], PEER_VOTE, (size_t)(g - px->groups), g->fo_epoch, 6, argv);
    }
}

static int
popcount64(uint64_t v)
{
    int c = 0;
    for (; v; v &= v - 1) {
        c++;
    }
    return c;
}

/* Our place among the proxies we can reach, by run id: 0 tries first. */
static long long
rank_delay(struct proxy *px, long long now)
{
    long long rank = 0;
    for (size_t i = 0; i < px->npeers; i++) {
        const struct peer *p = &px->peers[i];
        rank += failover_peer_alive(p, now) && p->runid[0] && strcmp(p->runid, px->runid) < 0;
    }
    return rank * RANK_DELAY_MS + random() % 50;
}

/* Ask the peers whether they see g's master down. */
static void
ask_peers(struct proxy *px, struct group *g, long long now)
{
    struct node *m = g->master;
    size_t gi = (size_t)(g - px->groups);
    char port[16], ep[24];
    if (now - g->asked_ms < px->cfg.probe_interval_ms) {
        return;
    }
    g->asked_ms = now;
    snprintf(port, sizeof(port), "%d", m->port);
    snprintf(ep, sizeof(ep), "%lld", px->current_epoch);
    const char *argv[] = {"SENTINEL", "is-master-down-by-addr", m->host, port, ep, "*"};
    for (size_t i = 0; i < px->npeers; i++) {
        struct peer *p = &px->peers[i];
        if (p->connected && !p->asking[gi]) {
            if (peer_send(p, PEER_DOWN_QUERY, gi, 0, 6, argv) == 0) {
                p->asking[gi] = 1;
            }
        }
    }
}

/* Keep the nodes of g in line with the configuration: a master that is not
 * ours becomes a replica of ours, a replica of another master is
 * re-pointed.  Nodes refuse an older epoch than theirs. */
static void
impose_config(struct proxy *px, struct group *g, long long now)
{
    struct node *m = g->master;
    if (m == NULL || !m->up || m->role != NODE_ROLE_MASTER || g->fo_state != FAILOVER_NONE) {
        return;
    }
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        if (n->group != g || n == m || !n->up || now - n->reconf_sent_ms < RECONF_PERIOD_MS
            || now - n->last_ok_ms > px->cfg.probe_interval_ms * 3) {
            continue;
        }
        if (n->role == NODE_ROLE_MASTER && n->epoch <= g->config_epoch) {
            replica_event(px, "+convert-to-slave", g, n);
            send_replicaof(px, g, n, m, g->config_epoch, NULL);
        } else if (n->role == NODE_ROLE_REPLICA && n->master_port != 0
                   && (n->master_port != m->port || strcmp(n->master_host, m->host) != 0)) {
            replica_event(px, "+fix-slave-config", g, n);
            send_replicaof(px, g, n, m, g->config_epoch, NULL);
        }
    }
}

static void
on_switchover_offset(struct admin *a, const struct peerlink_reply *r)
{
    struct group *g = a->group;
    if (g->fo_state != FAILOVER_PAUSING || g->fo_epoch != a->epoch) {
        return;
    }
    char v[32];
    if (r == NULL || r->type != '$'
        || !topology_info_field(r->str, r->len, "master_repl_offset", v, sizeof(v))) {
        abort_failover(a->px, g, "no master_repl_offset from the master after CLIENT PAUSE");
        return;
    }
    g->fo_pause_offset = atoll(v);
}

static void
on_paused(struct admin *a, const struct peerlink_reply *r)
{
    struct group *g = a->group;
    if (g->fo_state != FAILOVER_PAUSING || g->fo_epoch != a->epoch) {
        return;
    }
    if (!reply_ok(r)) {
        char err[256];
        abort_failover(a->px, g, reply_error(r, err, sizeof(err), "no reply to CLIENT PAUSE"));
        return;
    }
    /* Writes are held from here on: what the master has now is everything
     * acknowledged. */
    const char *argv[] = {"INFO", "replication"};
    admin_command(a->px, a->node, g, a->epoch, on_switchover_offset, 2, argv);
}

static void
on_replica_offset(struct admin *a, const struct peerlink_reply *r)
{
    char v[32];
    if (r != NULL && r->type == '$'
        && topology_info_field(r->str, r->len, "slave_repl_offset", v, sizeof(v))) {
        a->node->offset = atoll(v);
    }
    a->group->fo_pause_offset_polling = 0;
}

const char *
failover_start_switchover(struct proxy *px, struct group *g, struct node *target)
{
    struct node *m = g->master;
    long long now = env->now_ms();
    if (g->fo_state != FAILOVER_NONE) {
        return "-INPROG Failover already in progress\r\n";
    }
    if (m == NULL) {
        return "-ERR the group has no known master\r\n";
    }
    if (target == NULL) {
        target = failover_select_replica(px, g);
    } else if (target->group != g || target == m || target->role != NODE_ROLE_REPLICA
               || !target->up) {
        return "-ERR the target is not a healthy replica of this master\r\n";
    }
    if (target == NULL) {
        return "-NOGOODSLAVE No suitable replica to promote\r\n";
    }
    /* Forced failover of a master that is down: nothing to drain. */
    begin_attempt(px, g, m->up, now);
    master_event(px, "+elected-leader", g, m);
    if (!m->up) {
        promote(px, g, target);
        return NULL;
    }
    g->fo_promoted = target;
    g->fo_pause_offset = -1;
    g->fo_state = FAILOVER_PAUSING;
    char ms[24];
    snprintf(ms, sizeof(ms), "%lld", px->cfg.failover_timeout_ms);
    const char *argv[] = {"CLIENT", "PAUSE", ms, "WRITE"};
    admin_command(px, m, g, g->fo_epoch, on_paused, 4, argv);
    return NULL;
}

static void
group_cron(struct proxy *px, struct group *g, long long now)
{
    struct node *m = g->master;
    size_t gi = (size_t)(g - px->groups);
    if (m == NULL) {
        return;
    }
    int sdown = failover_sdown(px, g);
    if (sdown && g->sdown_since_ms == 0) {
        g->sdown_since_ms = now;
        master_event(px, "+sdown", g, m);
    } else if (!sdown && g->sdown_since_ms != 0) {
        g->sdown_since_ms = 0;
        master_event(px, "-sdown", g, m);
    }
    if (sdown) {
        ask_peers(px, g, now);
        long long count = 1;
        for (size_t i = 0; i < px->npeers; i++) {
            count += px->peers[i].down_at[gi] != 0
                     && now - px->peers[i].down_at[gi] <= DOWN_REPORT_VALID_MS;
        }
        long long q = failover_quorum(px);
        if (count >= q && g->odown_since_ms == 0) {
            g->odown_since_ms = now;
            failover_event(px, "+odown", "master %s %s %d #quorum %lld/%lld",
                           failover_group_name(px, g), m->host, m->port, count, q);
        } else if (count < q && g->odown_since_ms != 0) {
            g->odown_since_ms = 0;
            master_event(px, "-odown", g, m);
        }
    } else if (g->odown_since_ms != 0) {
        g->odown_since_ms = 0;
        master_event(px, "-odown", g, m);
    }

    switch (g->fo_state) {
    case FAILOVER_NONE:
        if (g->odown_since_ms == 0 || !px->cfg.failover) {
            g->fo_wait_until_ms = 0;
            break;
        }
        if (now < g->fo_next_try_ms) {
            break;
        }
        if (g->fo_wait_until_ms == 0) {
            g->fo_wait_until_ms = now + rank_delay(px, now);
        }
        if (now >= g->fo_wait_until_ms) {
            start_election(px, g, now);
        }
        break;
    case FAILOVER_ELECTION: {
        long long votes = 1 + popcount64(g->fo_voters);
        if (votes >= failover_votes_needed(px)) {
            master_event(px, "+elected-leader", g, m);
            struct node *n = failover_select_replica(px, g);
            if (n == NULL) {
                master_event(px, "-failover-abort-no-good-slave", g, m);
                abort_failover(px, g, "no replica can be promoted");
                break;
            }
            promote(px, g, n);
        } else if (!sdown) {
            abort_failover(px, g, "the master is reachable again");
        } else if (now - g->fo_start_ms > px->cfg.failover_timeout_ms / 3) {
            abort_failover(px, g, "not enough votes");
        }
        break;
    }
    case FAILOVER_PAUSING: {
        struct node *t = g->fo_promoted;
        if (g->fo_pause_offset >= 0 && t->offset >= g->fo_pause_offset) {
            promote(px, g, t);
        } else if (now - g->fo_start_ms > px->cfg.failover_timeout_ms) {
            abort_failover(px, g, "the replica did not catch up in time");
        } else if (g->fo_pause_offset >= 0 && !g->fo_pause_offset_polling) {
            /* Watch the replica directly: probes come every interval. */
            const char *argv[] = {"INFO", "replication"};
            g->fo_pause_offset_polling = 1;
            admin_command(px, t, g, g->fo_epoch, on_replica_offset, 2, argv);
        }
        break;
    }
    case FAILOVER_PROMOTING:
        if (now - g->fo_start_ms > px->cfg.failover_timeout_ms) {
            abort_failover(px, g, "the promotion timed out");
        }
        break;
    default:
        break;
    }
    if (px->cfg.failover) {
        impose_config(px, g, now);
    }
}

void
failover_cron(struct proxy *px)
{
    long long now = env->now_ms();
    peers_cron(px, now);
    for (size_t i = 0; i < px->ngroups; i++) {
        group_cron(px, &px->groups[i], now);
    }
    admin_cron(px, now);
    px->last_cron_ms = now;
}

/* ---- setup ----------------------------------------------------------------- */

int
failover_setup(struct proxy *px)
{
    util_random_hex(px->runid, 40);
    px->runid[40] = '\0';
    if (px->cfg.peers == NULL || px->cfg.peers[0] == '\0') {
        return 0;
    }
    char *list = mem_strdup(px->cfg.peers);
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int port;
        if (topology_parse_addr(tok, &port) != 0) {
            log_error("Bad peer address '%s' (want host:port)", tok);
            mem_free(list);
            return -1;
        }
        if (px->npeers == MAX_PEERS) {
            log_error("At most %d peers", MAX_PEERS);
            mem_free(list);
            return -1;
        }
        px->peers = mem_realloc(px->peers, (px->npeers + 1) * sizeof(*px->peers));
        struct peer *p = &px->peers[px->npeers++];
        memset(p, 0, sizeof(*p));
        p->px = px;
        snprintf(p->host, sizeof(p->host), "%s", tok);
        p->port = port;
        snprintf(p->name, sizeof(p->name), "%s:%d", tok, port);
        p->down_at = mem_calloc(TOPOLOGY_MAX_GROUPS * sizeof(*p->down_at));
        p->asking = mem_calloc(TOPOLOGY_MAX_GROUPS);
    }
    mem_free(list);
    if (px->cfg.quorum > (long long)px->npeers + 1) {
        log_error("quorum %lld is more than the %zu proxies (peers + this one)",
                  px->cfg.quorum, px->npeers + 1);
        return -1;
    }
    log_info("Failover: %zu peer(s), quorum %lld, a leader needs %lld vote(s)", px->npeers,
             failover_quorum(px), failover_votes_needed(px));
    return 0;
}

void
failover_teardown(struct proxy *px)
{
    for (size_t i = 0; i < px->npeers; i++) {
        env->link_destroy(&px->peers[i].link);
    }
    while (px->admins) {
        struct admin *a = px->admins;
        a->cb = NULL;
        env->link_destroy(&a->link);
        px->admins = a->next;
        mem_free(a);
    }
    for (size_t i = 0; i < px->npeers; i++) {
        mem_free(px->peers[i].down_at);
        mem_free(px->peers[i].asking);
    }
    mem_free(px->peers);
    px->peers = NULL;
    px->npeers = 0;
}
