/* The SENTINEL command on the proxy's client port, with Redis Sentinel's
 * reply shapes, so Sentinel-aware clients can use the proxies as their
 * Sentinels; and the two subcommands proxies use among themselves
 * (is-master-down-by-addr, as Sentinel does, and HELLO, which Sentinel does
 * over pub/sub on the nodes instead). */
#include "proxy/sentinel.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/resp_writer.h"
#include "core/util.h"
#include "proxy/failover.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/rbuf_writer.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One instance's fields: a flat array in RESP2, a map in RESP3.  The
 * pairs are written first (their number is known only at the end), then
 * fields_emit puts the header before them. */
struct fields {
    struct rbuf body;     /* owned: the pairs so far */
    struct resp_writer w; /* writes into body */
    int count;
};

static void
fields_init(struct fields *f)
{
    memset(&f->body, 0, sizeof(f->body));
    rbuf_writer_init(&f->w, &f->body, 2); /* bulk strings only: any protocol */
    f->count = 0;
}

static void
field(struct fields *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
field(struct fields *f, const char *name, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    resp_writer_bulk_cstr(&f->w, name);
    resp_writer_bulk_cstr(&f->w, v);
    f->count++;
}

static void
fields_emit(struct resp_writer *out, struct fields *f)
{
    resp_writer_map(out, f->count);
    resp_writer_raw(out, f->body.p, f->body.len);
    rbuf_free(&f->body);
    f->count = 0;
}

static long long
since(long long ms, long long now)
{
    return ms ? now - ms : 0;
}

static void
master_fields(struct proxy *px, struct group *g, struct resp_writer *out)
{
    struct fields f;
    struct node *m = g->master;
    long long now = util_mstime();
    long long replicas = 0;
    char flags[64];
    fields_init(&f);
    for (size_t i = 0; i < px->nnodes; i++) {
        replicas += px->nodes[i]->group == g && px->nodes[i] != m
                    && px->nodes[i]->role == NODE_ROLE_REPLICA;
    }
    snprintf(flags, sizeof(flags), "master%s%s%s", failover_sdown(px, g) ? ",s_down" : "",
             failover_odown(px, g) ? ",o_down" : "",
             g->fo_state != FAILOVER_NONE ? ",failover_in_progress" : "");
    field(&f, "name", "%s", failover_group_name(px, g));
    field(&f, "ip", "%s", m ? m->host : "");
    field(&f, "port", "%d", m ? m->port : 0);
    field(&f, "runid", "%s", m ? m->run_id : "");
    field(&f, "flags", "%s", flags);
    field(&f, "link-pending-commands", "%d", 0);
    field(&f, "link-refcount", "%d", 1);
    field(&f, "last-ping-sent", "%d", 0);
    field(&f, "last-ok-ping-reply", "%lld", m ? since(m->last_ok_ms, now) : 0);
    field(&f, "last-ping-reply", "%lld", m ? since(m->last_ok_ms, now) : 0);
    if (g->sdown_since_ms) {
        field(&f, "s-down-time", "%lld", now - g->sdown_since_ms);
    }
    if (g->odown_since_ms) {
        field(&f, "o-down-time", "%lld", now - g->odown_since_ms);
    }
    field(&f, "down-after-milliseconds", "%lld", px->cfg.down_after_ms);
    field(&f, "info-refresh", "%lld", m ? since(m->last_ok_ms, now) : 0);
    field(&f, "role-reported", "%s",
          m && m->role == NODE_ROLE_REPLICA ? "slave" : "master");
    field(&f, "role-reported-time", "%lld", now - px->start_ms);
    field(&f, "config-epoch", "%lld", g->config_epoch);
    field(&f, "num-slaves", "%lld", replicas);
    field(&f, "num-other-sentinels", "%zu", px->npeers);
    field(&f, "quorum", "%lld", failover_quorum(px));
    field(&f, "failover-timeout", "%lld", px->cfg.failover_timeout_ms);
    field(&f, "parallel-syncs", "%zu", px->nnodes);
    fields_emit(out, &f);
}

static void
replica_fields(struct proxy *px, struct group *g, struct node *n, struct resp_writer *out)
{
    struct fields f;
    long long now = util_mstime();
    fields_init(&f);
    field(&f, "name", "%s", n->name);
    field(&f, "ip", "%s", n->host);
    field(&f, "port", "%d", n->port);
    field(&f, "runid", "%s", n->run_id);
    field(&f, "flags", "slave%s%s", n->up ? "" : ",s_down", n->link_up ? "" : ",master_link_down");
    field(&f, "link-pending-commands", "%d", 0);
    field(&f, "link-refcount", "%d", 1);
    field(&f, "last-ping-sent", "%d", 0);
    field(&f, "last-ok-ping-reply", "%lld", since(n->last_ok_ms, now));
    field(&f, "last-ping-reply", "%lld", since(n->last_ok_ms, now));
    field(&f, "down-after-milliseconds", "%lld", px->cfg.down_after_ms);
    field(&f, "info-refresh", "%lld", since(n->last_ok_ms, now));
    field(&f, "role-reported", "slave");
    field(&f, "role-reported-time", "%lld", now - px->start_ms);
    field(&f, "master-link-down-time", "%d", 0);
    field(&f, "master-link-status", "%s", n->link_up ? "ok" : "err");
    field(&f, "master-host", "%s", n->master_host[0] ? n->master_host
                                   : (g->master ? g->master->host : "?"));
    field(&f, "master-port", "%d", n->master_port ? n->master_port
                                   : (g->master ? g->master->port : 0));
    field(&f, "slave-priority", "%lld", n->priority);
    field(&f, "slave-repl-offset", "%lld", n->offset);
    field(&f, "replica-announced", "%d", 1);
    fields_emit(out, &f);
}

static void
peer_fields(struct proxy *px, struct group *g, struct peer *p, struct resp_writer *out)
{
    struct fields f;
    long long now = util_mstime();
    fields_init(&f);
    field(&f, "name", "%s", p->runid[0] ? p->runid : p->name);
    field(&f, "ip", "%s", p->host);
    field(&f, "port", "%d", p->port);
    field(&f, "runid", "%s", p->runid);
    field(&f, "flags", "%s",
          failover_peer_alive(p, now) ? "sentinel"
          : p->connected              ? "sentinel,s_down"
                                      : "sentinel,s_down,disconnected");
    field(&f, "link-pending-commands", "%d", p->pending);
    field(&f, "link-refcount", "%d", 1);
    field(&f, "last-ping-sent", "%d", 0);
    field(&f, "last-ok-ping-reply", "%lld", since(p->last_reply_ms, now));
    field(&f, "last-ping-reply", "%lld", since(p->last_reply_ms, now));
    field(&f, "down-after-milliseconds", "%lld", px->cfg.down_after_ms);
    field(&f, "last-hello-message", "%lld", since(p->hello_ms, now));
    field(&f, "voted-leader", "%s", g->leader_epoch ? g->leader : "?");
    field(&f, "voted-leader-epoch", "%lld", g->leader_epoch);
    fields_emit(out, &f);
}

static void
reply_sb(struct session *s, struct rbuf *b)
{
    rbuf_reply(s, b);
    rbuf_free(b);
}

static void
reply_str(struct session *s, const char *line)
{
    session_reply(s, line, strlen(line));
}

static int
sub_is(const struct resp_arg *a, const char *w)
{
    return a->len == strlen(w) && strncasecmp(a->ptr, w, a->len) == 0;
}

/* An argument as a C string (bounded). */
static void
arg_str(const struct resp_arg *a, char *dst, size_t cap)
{
    size_t n = a->len < cap - 1 ? a->len : cap - 1;
    memcpy(dst, a->ptr, n);
    dst[n] = '\0';
}

static struct group *
named_group(struct session *s, const struct resp_arg *a)
{
    struct group *g = failover_group_by_name(session_proxy(s), a->ptr, a->len);
    if (g == NULL) {
        reply_str(s, "-ERR No such master with that name\r\n");
    }
    return g;
}

static void
wrong_arity(struct session *s, const struct resp_arg *sub)
{
    char name[64];
    arg_str(sub, name, sizeof(name));
    for (char *c = name; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    session_error(s, "ERR wrong number of arguments for 'sentinel|%s' command", name);
}

static void
cmd_ckquorum(struct session *s, struct group *g)
{
    struct proxy *px = session_proxy(s);
    long long usable = 1;
    char line[400];
    (void)g;
    for (size_t i = 0; i < px->npeers; i++) {
        usable += failover_peer_alive(&px->peers[i], util_mstime());
    }
    long long q = failover_quorum(px), need = failover_votes_needed(px);
    if (usable >= q && usable >= need) {
        snprintf(line, sizeof(line),
                 "+OK %lld usable Sentinels. Quorum and failover authorization can be "
                 "reached\r\n", usable);
    } else {
        snprintf(line, sizeof(line), "-NOQUORUM %lld usable Sentinels.%s%s\r\n", usable,
                 usable < q ? " Not enough available Sentinels to reach the specified "
                              "quorum for this master."
                            : "",
                 usable < need ? " Not enough available Sentinels to reach the majority "
                                 "and authorize a failover"
                               : "");
    }
    reply_str(s, line);
}

static void
cmd_failover(struct session *s, size_t argc, const struct resp_arg *argv, struct group *g)
{
    struct proxy *px = session_proxy(s);
    struct node *target = NULL;
    if (argc == 6 && sub_is(&argv[3], "to")) {
        char host[256];
        long long port;
        arg_str(&argv[4], host, sizeof(host));
        if (util_str2ll(argv[5].ptr, argv[5].len, &port) != 0 || port <= 0 || port > 65535) {
            reply_str(s, "-ERR Invalid port\r\n");
            return;
        }
        for (size_t i = 0; i < px->nnodes; i++) {
            if (px->nodes[i]->port == port && strcmp(px->nodes[i]->host, host) == 0) {
                target = px->nodes[i];
            }
        }
        if (target == NULL) {
            reply_str(s, "-ERR No such replica\r\n");
            return;
        }
    } else if (argc != 3) {
        reply_str(s, "-ERR syntax error\r\n");
        return;
    }
    const char *err = failover_start_switchover(px, g, target);
    reply_str(s, err ? err : "+OK\r\n");
}

/* With peer-auth or peer-user set, the peer protocol (HELLO,
 * is-master-down-by-addr) is only for sessions that proved the secret or
 * authenticated as the peer-user ACL user: anyone else's announcements and
 * votes would steer failovers.  Returns 1 when s may speak it, else
 * answers the refusal (logged once per session). */
static int
peer_allowed(struct session *s, const struct resp_arg *sub)
{
    struct proxy *px = session_proxy(s);
    const char *pu = px->cfg.peer_user;
    int secret = px->cfg.peer_auth != NULL && px->cfg.peer_auth[0] != '\0';
    int by_user = pu != NULL && pu[0] != '\0';
    if ((!secret && !by_user) || (s->flags & SESSION_PEER)) {
        return 1;
    }
    if (by_user && s->user != NULL && strcmp(acl_user_name(s->user), pu) == 0) {
        log_info("Peer %s authenticated as ACL user %s", s->addr, pu);
        s->flags |= SESSION_PEER;
        return 1;
    }
    if (!(s->flags & SESSION_PEER_REFUSED)) {
        s->flags |= SESSION_PEER_REFUSED;
        log_warn("Refused SENTINEL %.*s from %s: not authenticated as a peer (%s)",
                 (int)sub->len, sub->ptr, s->addr,
                 secret && by_user ? "peer-auth or peer-user" : secret ? "peer-auth"
                                                                      : "peer-user");
    }
    reply_str(s, secret ? "-NOPERM this proxy requires peer authentication: "
                          "SENTINEL PEER-AUTH <secret> first\r\n"
                        : "-NOPERM this proxy requires peer authentication: "
                          "AUTH as its peer-user first\r\n");
    return 0;
}

/* SENTINEL PEER-AUTH <secret>: compared in constant time. */
static void
cmd_peer_auth(struct session *s, const struct resp_arg *secret)
{
    struct proxy *px = session_proxy(s);
    const char *want = px->cfg.peer_auth ? px->cfg.peer_auth : "";
    size_t wlen = strlen(want);
    if (wlen == 0) {
        reply_str(s, "+OK\r\n"); /* nothing to prove here */
        return;
    }
    unsigned char diff = secret->len != wlen;
    for (size_t i = 0; i < secret->len; i++) {
        diff |= (unsigned char)(secret->ptr[i] ^ want[i % wlen]);
    }
    if (diff != 0) {
        s->flags &= ~SESSION_PEER;
        log_warn("Peer authentication from %s failed: wrong peer-auth secret", s->addr);
        reply_str(s, "-WRONGPASS invalid peer-auth secret\r\n");
        return;
    }
    if (!(s->flags & SESSION_PEER)) {
        log_info("Peer %s authenticated", s->addr);
    }
    s->flags |= SESSION_PEER;
    reply_str(s, "+OK\r\n");
}

void
sentinel_command(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    int resp = session_protocol(s);
    struct rbuf b = {NULL, 0, 0};
    struct resp_writer w;
    const struct resp_arg *sub = &argv[1];
    struct group *g;

    rbuf_writer_init(&w, &b, resp);

    if (sub_is(sub, "myid")) {
        resp_writer_bulk_cstr(&w, px->runid);
        reply_sb(s, &b);
    } else if (sub_is(sub, "get-master-addr-by-name")) {
        if (argc != 3) {
            wrong_arity(s, sub);
            return;
        }
        g = failover_group_by_name(px, argv[2].ptr, argv[2].len);
        if (g == NULL || g->master == NULL) {
            resp_writer_null_array(&w);
            reply_sb(s, &b);
            return;
        }
        char port[16];
        snprintf(port, sizeof(port), "%d", g->master->port);
        resp_writer_array(&w, 2);
        resp_writer_bulk_cstr(&w, g->master->host);
        resp_writer_bulk_cstr(&w, port);
        reply_sb(s, &b);
    } else if (sub_is(sub, "masters")) {
        resp_writer_array(&w, (long long)px->ngroups);
        for (size_t i = 0; i < px->ngroups; i++) {
            master_fields(px, &px->groups[i], &w);
        }
        reply_sb(s, &b);
    } else if (sub_is(sub, "master")) {
        if (argc != 3) {
            wrong_arity(s, sub);
        } else if ((g = named_group(s, &argv[2])) != NULL) {
            master_fields(px, g, &w);
            reply_sb(s, &b);
        }
    } else if (sub_is(sub, "replicas") || sub_is(sub, "slaves")) {
        if (argc != 3) {
            wrong_arity(s, sub);
        } else if ((g = named_group(s, &argv[2])) != NULL) {
            size_t count = 0;
            for (size_t i = 0; i < px->nnodes; i++) {
                struct node *n = px->nodes[i];
                count += n->group == g && n != g->master;
            }
            resp_writer_array(&w, (long long)count);
            for (size_t i = 0; i < px->nnodes; i++) {
                struct node *n = px->nodes[i];
                if (n->group == g && n != g->master) {
                    replica_fields(px, g, n, &w);
                }
            }
            reply_sb(s, &b);
        }
    } else if (sub_is(sub, "sentinels")) {
        if (argc != 3) {
            wrong_arity(s, sub);
        } else if ((g = named_group(s, &argv[2])) != NULL) {
            resp_writer_array(&w, (long long)px->npeers);
            for (size_t i = 0; i < px->npeers; i++) {
                peer_fields(px, g, &px->peers[i], &w);
            }
            reply_sb(s, &b);
        }
    } else if (sub_is(sub, "ckquorum")) {
        if (argc != 3) {
            wrong_arity(s, sub);
        } else if ((g = named_group(s, &argv[2])) != NULL) {
            cmd_ckquorum(s, g);
        }
    } else if (sub_is(sub, "failover")) {
        if (argc < 3) {
            wrong_arity(s, sub);
        } else if ((g = named_group(s, &argv[2])) != NULL) {
            cmd_failover(s, argc, argv, g);
        }
    } else if (sub_is(sub, "peer-auth")) {
        if (argc != 3) {
            wrong_arity(s, sub);
            return;
        }
        cmd_peer_auth(s, &argv[2]);
    } else if (sub_is(sub, "is-master-down-by-addr")) {
        char ip[256], runid[64];
        long long port, epoch;
        int down;
        const char *leader;
        long long leader_epoch;
        if (argc != 6) {
            wrong_arity(s, sub);
            return;
        }
        if (!peer_allowed(s, sub)) {
            return;
        }
        arg_str(&argv[2], ip, sizeof(ip));
        arg_str(&argv[5], runid, sizeof(runid));
        if (util_str2ll(argv[3].ptr, argv[3].len, &port) != 0
            || util_str2ll(argv[4].ptr, argv[4].len, &epoch) != 0) {
            reply_str(s, "-ERR value is not an integer or out of range\r\n");
            return;
        }
        failover_vote_request(px, ip, (int)port, epoch, runid, &down, &leader, &leader_epoch);
        resp_writer_array(&w, 3);
        resp_writer_int(&w, down);
        resp_writer_bulk_cstr(&w, leader);
        resp_writer_int(&w, leader_epoch);
        reply_sb(s, &b);
    } else if (sub_is(sub, "hello")) {
        /* SENTINEL HELLO <epoch> <name> <master-ip> <master-port> <config-epoch> */
        char name[128], ip[256];
        long long epoch, port, cepoch;
        if (argc != 7) {
            wrong_arity(s, sub);
            return;
        }
        if (!peer_allowed(s, sub)) {
            return;
        }
        arg_str(&argv[3], name, sizeof(name));
        arg_str(&argv[4], ip, sizeof(ip));
        if (util_str2ll(argv[2].ptr, argv[2].len, &epoch) != 0
            || util_str2ll(argv[5].ptr, argv[5].len, &port) != 0
            || util_str2ll(argv[6].ptr, argv[6].len, &cepoch) != 0 || port <= 0
            || port > 65535) {
            reply_str(s, "-ERR value is not an integer or out of range\r\n");
            return;
        }
        failover_hello(px, epoch, name, ip, (int)port, cepoch);
        resp_writer_array(&w, 2);
        resp_writer_bulk_cstr(&w, px->runid);
        resp_writer_int(&w, px->current_epoch);
        reply_sb(s, &b);
    } else if (sub_is(sub, "flushconfig")) {
        /* Sentinel saves its state (epochs, what it learned) to its config
         * file.  The proxy's lives on the nodes (config_epoch) and its
         * groups in its configuration, which nothing here changes: there
         * is nothing to save, and clients (phpredis) expect +OK. */
        if (argc != 2) {
            wrong_arity(s, sub);
            return;
        }
        reply_str(s, "+OK\r\n");
    } else if (sub_is(sub, "reset") || sub_is(sub, "monitor") || sub_is(sub, "remove")
               || sub_is(sub, "set") || sub_is(sub, "config")
               || sub_is(sub, "simulate-failure") || sub_is(sub, "debug")
               || sub_is(sub, "info-cache") || sub_is(sub, "pending-scripts")) {
        char name[64];
        arg_str(sub, name, sizeof(name));
        session_error(s, "ERR SENTINEL %s is not supported by cachely-proxy: the monitored "
                         "groups come from its configuration (--nodes, group lines)", name);
    } else {
        char name[64];
        arg_str(sub, name, sizeof(name));
        session_error(s, "ERR unknown subcommand '%s'. Try SENTINEL HELP.", name);
    }
}
