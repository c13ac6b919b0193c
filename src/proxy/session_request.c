/* What a client request does once session.c has framed it: the checks
 * (arity, AUTH, ACL, pub/sub context), the commands the proxy answers
 * itself (PING, HELLO, AUTH, SELECT...), and routing the rest to a node:
 * by key to its group, a replica or the master per read policy, cursors,
 * blocking commands on dedicated connections, write-ack (WAIT behind a
 * write) and the session read policy's ROLE probes. */
#include "proxy/session.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/access.h"
#include "proxy/backend.h"
#include "proxy/blockmux.h"
#include "proxy/client_cmd.h"
#include "proxy/config_cmd.h"
#include "proxy/cursor.h"
#include "proxy/fanout.h"
#include "proxy/info.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/route.h"
#include "proxy/script.h"
#include "proxy/sentinel.h"
#include "proxy/session_int.h"
#include "proxy/topology.h"
#include "proxy/tracking.h"
#include "proxy/txn.h"

#include <limits.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
local_replyf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
local_replyf(struct session *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    session_local_reply(s, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void
local_bulk(struct session *s, const char *p, size_t len)
{
    char hdr[RESP_HDR_MAX];
    size_t h = resp_fmt_prefixed(hdr, '$', (long long)len);
    char *buf = mem_alloc(h + len + 2);
    memcpy(buf, hdr, h);
    memcpy(buf + h, p, len);
    memcpy(buf + h + len, "\r\n", 2);
    session_local_reply(s, buf, h + len + 2);
    mem_free(buf);
}

/* ---- local commands ------------------------------------------------------- */

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

static void
cmd_hello(struct session *s, size_t argc, struct resp_arg *argv)
{
    long long ver = s->resp;
    size_t i = 1;
    if (argc >= 2) {
        if (util_str2ll(argv[1].ptr, argv[1].len, &ver) != 0) {
            session_error(s, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            session_error(s, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    for (; i < argc; i++) {
        if (arg_is(&argv[i], "auth") && i + 2 < argc) {
            if (access_authenticate(s, &argv[i + 1], &argv[i + 2]) == NULL) {
                session_error(s, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            i += 2;
        } else if (arg_is(&argv[i], "setname") && i + 1 < argc) {
            /* The name shows in CLIENT LIST: same rule as CLIENT SETNAME. */
            for (size_t k = 0; k < argv[i + 1].len; k++) {
                if (argv[i + 1].ptr[k] <= ' ' || argv[i + 1].ptr[k] > '~') {
                    session_error(s, "ERR Client names cannot contain spaces, newlines or "
                                     "special characters.");
                    return;
                }
            }
            mem_free(s->name);
            s->name = argv[i + 1].len ? mem_strndup(argv[i + 1].ptr, argv[i + 1].len) : NULL;
            i += 1;
        } else {
            session_error(s, "ERR Syntax error in HELLO option '%.*s'",
                          (int)(argv[i].len > 64 ? 64 : argv[i].len), argv[i].ptr);
            return;
        }
    }
    if (!(s->flags & SESSION_AUTHENTICATED)) {
        session_error(s, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO <proto> AUTH <user> <pass> option can be used "
                         "to authenticate the client and select the RESP protocol version at "
                         "the same time");
        return;
    }
    s->resp = (int)ver;
    char id[24];
    int idl = (int)util_ull2str(id, s->id);
    if (s->resp == 3) {
        local_replyf(s, "%%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$%d\r\n%s\r\n"
                        "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:%.*s\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                        "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
                     (int)strlen(CACHELY_REDIS_VERSION), CACHELY_REDIS_VERSION, idl, id);
    } else {
        local_replyf(s, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$%d\r\n%s\r\n"
                        "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:%.*s\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                        "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
                     (int)strlen(CACHELY_REDIS_VERSION), CACHELY_REDIS_VERSION, idl, id);
    }
}

static void
cmd_auth(struct session *s, size_t argc, struct resp_arg *argv)
{
    static const struct resp_arg def = {"default", 7};
    if (argc > 3) {
        session_error(s, "ERR syntax error");
        return;
    }
    if (argc == 2 && access_no_password(s->px)) {
        session_error(s, "ERR AUTH <password> called without any password configured for "
                         "the default user. Are you sure your configuration is correct?");
        return;
    }
    if (access_authenticate(s, argc == 3 ? &argv[1] : &def, &argv[argc - 1]) == NULL) {
        session_error(s, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    local_replyf(s, "+OK\r\n");
}

static void
run_local(struct session *s, const struct command *cmd, size_t argc, struct resp_arg *argv)
{
    struct proxy *px = s->px;
    px->local_commands++;
    switch (cmd->id) {
    case CMD_ID_PING:
        if (argc <= 2 && s->resp == 2 && pubsub_count(s->pubsub) > 0) {
            /* RESP2 subscribed mode: "pong" and the argument, as Redis does. */
            local_replyf(s, "*2\r\n$4\r\npong\r\n");
            local_bulk(s, argc == 2 ? argv[1].ptr : "", argc == 2 ? argv[1].len : 0);
        } else if (argc == 1) {
            local_replyf(s, "+PONG\r\n");
        } else if (argc == 2) {
            local_bulk(s, argv[1].ptr, argv[1].len);
        } else {
            session_error(s, "ERR wrong number of arguments for 'ping' command");
        }
        break;
    case CMD_ID_ECHO:
        local_bulk(s, argv[1].ptr, argv[1].len);
        break;
    case CMD_ID_QUIT:
        local_replyf(s, "+OK\r\n");
        s->flags |= SESSION_CLOSE_AFTER_REPLY;
        s->flags &= ~SESSION_EOF; /* nothing after QUIT runs */
        break;
    case CMD_ID_RESET:
        s->resp = 2;
        s->db = 0;
        s->reply_off = s->reply_skip = s->cur_silent = 0; /* CLIENT REPLY ON */
        mem_free(s->name);
        s->name = NULL;
        pubsub_client_destroy(&s->pubsub);
        monitor_session_gone(s);
        tracking_session_gone(s);
        access_session_start(s); /* back to the default user, as Redis does */
        local_replyf(s, "+RESET\r\n");
        break;
    case CMD_ID_AUTH:
        cmd_auth(s, argc, argv);
        break;
    case CMD_ID_HELLO:
        cmd_hello(s, argc, argv);
        break;
    case CMD_ID_SUBSCRIBE:
    case CMD_ID_UNSUBSCRIBE:
    case CMD_ID_PSUBSCRIBE:
    case CMD_ID_PUNSUBSCRIBE:
    case CMD_ID_SSUBSCRIBE:
    case CMD_ID_SUNSUBSCRIBE:
    case CMD_ID_PUBLISH:
    case CMD_ID_SPUBLISH:
    case CMD_ID_PUBSUB:
        pubsub_command(px, s, &s->pubsub, cmd, argc, argv);
        break;
    case CMD_ID_MONITOR:
        monitor_command(s);
        break;
    case CMD_ID_SELECT: {
        /* Per session: each request carries its database, and a backend
         * connection is switched (SELECT) before a request of another one. */
        long long db;
        if (util_str2ll(argv[1].ptr, argv[1].len, &db) != 0) {
            session_error(s, "ERR value is not an integer or out of range");
        } else if (db < INT_MIN || db > INT_MAX) {
            /* Redis's words for a number past an int (the node's too). */
            session_error(s, "ERR value is out of range, value must between -2147483648 "
                             "and 2147483647");
        } else if (db < 0 || db >= px->cfg.databases) {
            session_error(s, "ERR DB index is out of range");
        } else {
            s->db = (int)db;
            local_replyf(s, "+OK\r\n");
        }
        break;
    }
    case CMD_ID_CLIENT:
        client_cmd_run(s, argc, argv);
        break;
    case CMD_ID_INFO:
        info_command(s, argc, argv);
        break;
    case CMD_ID_SENTINEL:
        sentinel_command(s, argc, argv);
        break;
    case CMD_ID_CONFIG:
        config_cmd_run(s, argc, argv);
        break;
    case CMD_ID_ACL:
        access_acl_command(s, argc, argv);
        break;
    case CMD_ID_ROLE:
        local_replyf(s, "*3\r\n$6\r\nmaster\r\n:%lld\r\n*0\r\n",
                     px->groups[0].master ? px->groups[0].master->offset : 0);
        break;
    default:
        session_error(s, "ERR internal: no local handler for '%s'", cmd->fullname);
        break;
    }
}

/* ---- requests -------------------------------------------------------------- */

/* s's read-your-writes state in group index gi (allocated for the other
 * groups on the first write there). */
static struct ryw *
ryw_of(struct session *s, size_t gi)
{
    if (gi == 0) {
        return &s->ryw;
    }
    if (s->ryw_more == NULL) {
        s->ryw_more = mem_calloc(TOPOLOGY_MAX_GROUPS * sizeof(*s->ryw_more));
    }
    return &s->ryw_more[gi];
}

/* The offset a replica of g must hold to serve s's reads (-1: none may). */
static inline long long
ryw_offset(const struct session *s, const struct group *g)
{
    size_t gi = (size_t)(g - s->px->groups);
    return gi == 0 ? s->ryw.offset : s->ryw_more != NULL ? s->ryw_more[gi].offset : 0;
}

/* Where a read of s in g goes: a replica known to hold s's last write
 * there (read-policy session), any caught-up replica (replicas), else the
 * master; only the master when read is 0. */
static struct node *
read_target(const struct session *s, struct group *g, int read)
{
    int policy = s->px->cfg.read_policy;
    long long need = policy == READ_SESSION ? ryw_offset(s, g) : 0;
    int replica_ok = read && (policy == READ_REPLICAS || (policy == READ_SESSION && need >= 0));
    return topology_read_target(s->px, g, replica_ok, need);
}

/* The ROLE reply after a write: "*3\r\n$6\r\nmaster\r\n:<offset>\r\n...". */
static void
on_role_reply(struct preq *r, const char *reply, size_t len)
{
    static const char prefix[] = "*3\r\n$6\r\nmaster\r\n:";
    long long off;
    struct session *s = r->s;
    /* Only the probe of the session's last write (in that group) decides:
     * an earlier write's probe answered while a later one is out (on
     * another pooled connection, or before the later reply) gives an
     * offset the later write is not under, and a replica there would not
     * have it (node-redis 5's 2,000 pipelined SET/GET pairs read one stale
     * value that way). */
    if (s == NULL) {
        return;
    }
    struct ryw *w = ryw_of(s, r->probe_group);
    if (r->probe_seq != w->seq) {
        return;
    }
    const char *p = reply + sizeof(prefix) - 1;
    const char *cr;
    if (len <= sizeof(prefix) || memcmp(reply, prefix, sizeof(prefix) - 1) != 0
        || (cr = memchr(p, '\r', len - (sizeof(prefix) - 1))) == NULL
        || util_str2ll(p, (size_t)(cr - p), &off) != 0) {
        /* Not a master any more: reads stay on the master until the
         * topology settles, which is the safe side. */
        w->offset = -1;
        return;
    }
    w->offset = off;
}

/* In session mode, ask the master for its offset right behind a write on
 * the same connection: once a replica's offset reaches it, the replica has
 * the write.  Until the answer arrives the session's reads in that group
 * go to the master (its offset is set to "unknown"). */
static void
track_write(struct session *s, struct node *master, struct backend *on)
{
    static const char role[] = "*1\r\n$4\r\nROLE\r\n";
    struct preq *r = mem_calloc(sizeof(*r));
    size_t gi = (size_t)(master->group - s->px->groups);
    struct ryw *w = ryw_of(s, gi);
    r->s = s;
    r->affinity = s->id;
    r->on_reply = on_role_reply;
    r->probe_group = gi;
    r->probe_seq = ++w->seq;
    w->offset = -1;
    if (backend_send(s->px, master, on, r, role, sizeof(role) - 1) != 0) {
        /* No probe: reads stay on the master until a later write's probe
         * is answered. */
        mem_free(r);
        return;
    }
    r->inext = s->internal;
    s->internal = r;
    s->px->session_offset_probes++;
}

void
session_track_write(struct session *s, struct node *master, struct backend *on)
{
    if (s->px->cfg.read_policy == READ_SESSION) {
        track_write(s, master, on);
    }
}

/* WAIT answered for a write-ack write: release the write's reply, or
 * replace it with -NOTACKED when too few replicas acknowledged in time. */
static void
on_wait_reply(struct preq *w, const char *reply, size_t len)
{
    struct preq *wr = w->ack_parent;
    struct session *s = wr->s; /* NULL for a part of a split write (fanout.c) */
    struct proxy *px = wr->node->px;
    long long acked = -1;
    char err[256];
    if (len > 3 && reply[0] == ':') {
        acked = atoll(reply + 1);
    }
    wr->ack_waiting = 0;
    if (!wr->ack_held) {
        /* Cannot happen (replies come in order); fail safe. */
        return;
    }
    char *held = wr->reply;
    size_t held_len = wr->reply_len;
    /* wr is delivered afresh below, and held again when an earlier request
     * of s is still out: its reply buffer starts empty. */
    wr->reply = NULL;
    wr->reply_len = 0;
    wr->ack_held = 0;
    if (s == NULL && wr->fan == NULL) {
        mem_free(held);
        mem_free(wr);
        return;
    }
    if (held_len > 0 && held[0] == '-') {
        session_deliver(wr, held, held_len);          /* the write failed */
    } else if (acked >= wr->ack_need) {
        px->writes_acked++;
        session_deliver(wr, held, held_len);
    } else {
        int n = acked < 0
                    ? snprintf(err, sizeof(err), "-NOTACKED the write was applied on the master, "
                               "but acknowledging it failed: %.*s\r\n",
                               (int)(len > 2 ? (len > 100 ? 100 : len - 2) : 0), reply)
                    : snprintf(err, sizeof(err), "-NOTACKED the write was applied on the master "
                               "and acknowledged by %lld of %lld replicas within %lld ms\r\n",
                               acked, wr->ack_need, px->cfg.write_ack_timeout_ms);
        px->writes_not_acked++;
        session_deliver(wr, err, (size_t)n);
    }
    mem_free(held);
}

/* The private connection of session s to group g's master (write-ack). */
static struct backend *
own_connection(struct session *s, struct group *g)
{
    struct proxy *px = s->px;
    size_t gi = (size_t)(g - px->groups);
    if (s->own == NULL) {
        /* Room for every group a reload may add. */
        s->own = mem_calloc(TOPOLOGY_MAX_GROUPS * sizeof(*s->own));
    }
    struct backend *b = s->own[gi];
    if (b != NULL && (b->node != g->master || b->resp3 != (s->resp == 3))) {
        /* The master changed (WAIT must go to the new one), or the session's
         * protocol did (HELLO). */
        backend_forget_pending(px, b);
        backend_close(b, NULL);
        mem_free(b);
        b = s->own[gi] = NULL;
    }
    if (b == NULL) {
        b = s->own[gi] = mem_alloc(sizeof(*b));
        backend_init(b, g->master);
        b->resp3 = s->resp == 3;
        b->retry_at_ms = 0;
    }
    return b;
}

struct backend *
session_own_connection(struct session *s, struct group *g)
{
    return g->master ? backend_open(s->px, own_connection(s, g)) : NULL;
}

/* Send a write on the session's private connection followed by WAIT;
 * returns its request, or NULL when it was answered with an error. */
static struct preq *
forward_acked(struct session *s, struct group *g, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    struct preq *wr = session_preq_new(s);
    struct backend *own = g->master ? backend_open(px, own_connection(s, g)) : NULL;
    if (own == NULL || backend_send(px, g->master, own, wr, frame, len) != 0) {
        static const char err[] = "-ERR cachely-proxy: the master is not reachable\r\n";
        px->route_errors++;
        session_deliver(wr, err, sizeof(err) - 1);
        return NULL;
    }
    session_ack_after(s, g, wr);
    /* Read-your-writes: the session's reads go to the master until the
     * ROLE behind the WAIT says which replicas hold the write. */
    session_track_write(s, g->master, own);
    return wr;
}

void
session_ack_after(struct session *s, struct group *g, struct preq *wr)
{
    struct proxy *px = s->px;
    char wait[96], num[24], tmo[24];
    long long need = px->cfg.write_ack;
    if (need < 0) {
        /* "all": every replica the topology knows for the group now. */
        need = 0;
        for (size_t i = 0; i < px->nnodes; i++) {
            need += px->nodes[i]->group == g && px->nodes[i]->role == NODE_ROLE_REPLICA;
        }
    }
    size_t nl = util_ll2str(num, need), tl = util_ll2str(tmo, px->cfg.write_ack_timeout_ms);
    int wl = snprintf(wait, sizeof(wait), "*3\r\n$4\r\nWAIT\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                      nl, num, tl, tmo);
    struct preq *w = mem_calloc(sizeof(*w));
    w->s = s;
    w->on_reply = on_wait_reply;
    w->ack_parent = wr;
    wr->ack_need = need;
    wr->ack_waiting = 1;
    if (backend_send(px, wr->node, wr->backend, w, wait, (size_t)wl) != 0) {
        wr->ack_waiting = 0;
        mem_free(w);
        return;
    }
    w->inext = s->internal;
    s->internal = w;
}

/* The connection a request of s to n goes on: under write-ack, s's
 * private connection to n once s has one (its writes and their WAITs go
 * there), so that n runs s's requests in the order s sent them (on a pooled
 * connection a read could run before the write sent ahead of it, or after
 * one sent behind it, as the proxy writes its connections in any order);
 * otherwise NULL (s's pooled connection).  A read behind a write waits for
 * the write's WAIT, as its reply would anyway. */
struct backend *
session_ordered_connection(const struct session *s, const struct node *n)
{
    if (s->own == NULL || n->group == NULL || s->px->cfg.write_ack == 0) {
        return NULL;
    }
    struct backend *b = s->own[n->group - s->px->groups];
    return b != NULL && b->node == n && b->fd >= 0 && b->resp3 == (s->resp == 3) ? b : NULL;
}

/* May a read (write: a write) of s sent to n join s's run (s->run, the
 * request of the reads, or writes, just before it, the last thing on its
 * connection)?  Its reply then follows theirs on the same connection, as a
 * request of its own would. */
static inline int
run_joins(const struct session *s, const struct node *n, int write)
{
    const struct preq *p = s->run;
    return p != NULL && p == s->tail && p->node == n && p->backend != NULL
           && p->backend->tail == p && p->backend->fd >= 0 && p->select_db == s->db + 1
           && p->resp3 == (s->resp == 3) && (p->retry_frame != NULL) == (write != 0);
}

/* A write joins run p: its frame is kept with the run's (for the -READONLY
 * redirect, session_run_split). */
static void
run_keep(struct preq *p, const char *frame, size_t len)
{
    if (!p->run_kept || p->retry_cap - p->retry_len < len) {
        size_t cap = p->run_kept ? p->retry_cap * 2 : 1024;
        while (cap - p->retry_len < len) {
            cap *= 2;
        }
        if (p->run_kept) {
            p->retry_frame = mem_realloc(p->retry_frame, cap);
        } else {
            char *k = mem_alloc(cap);
            memcpy(k, p->retry_frame, p->retry_len);
            if (p->retry_frame != p->retry_small) {
                mem_free(p->retry_frame);
            }
            p->retry_frame = k;
            p->run_kept = 1;
        }
        p->retry_cap = cap;
    }
    memcpy(p->retry_frame + p->retry_len, frame, len);
    p->retry_len += len;
}

/* Forward the frame to node n; when n is a replica that cannot be reached,
 * the read goes to the group's master instead; when nothing can take it,
 * answer with an error.  write: 0 a read; 1 a write, whose frame is kept
 * for a -READONLY redirect; 2 the same, the frame in an allocation of its
 * own.  run: a plain read or write (nothing attaches to its request after
 * this), which may join the run of reads, or of writes, before it: one
 * request, its frame added to theirs (a pipeline's reads cost one request,
 * not one each).  Returns the connection it went on, or NULL. */
static struct backend *
forward(struct session *s, struct node *n, const char *frame, size_t len, int write, int run)
{
    if (run && run_joins(s, n, write)) {
        struct preq *p = s->run;
        backend_extend(s->px, p->backend, p, frame, len);
        if (write) {
            run_keep(p, frame, len);
        }
        s->pending++;
        return p->backend;
    }
    struct preq *r = session_preq_new(s);
    if (n != NULL && backend_send(s->px, n, session_ordered_connection(s, n), r, frame, len) == 0) {
        if (run) {
            s->run = r;
        }
        if (n != n->group->master) {
            r->on_replica = 1;
            s->replica_reads++;
        }
        if (write) {
            /* A short frame is kept in the request itself, except where
             * script.c may take the frame over (and free it): a
             * movable-keys command (write == 2). */
            r->retry_frame = write == 1 && len <= sizeof(r->retry_small) ? r->retry_small
                                                                         : mem_alloc(len);
            memcpy(r->retry_frame, frame, len);
            r->retry_len = len;
        }
        return r->backend;
    }
    if (n != NULL && n->group->master != NULL && n != n->group->master) {
        s->px->routed_fallback++;
        if (backend_send(s->px, n->group->master, NULL, r, frame, len) == 0) {
            return r->backend;
        }
    }
    char err[320];
    int k = n ? snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n",
                         n->name)
              : snprintf(err, sizeof(err), "-ERR cachely-proxy: no master is known for "
                                           "this group (yet)\r\n");
    s->px->route_errors++;
    session_deliver(r, err, (size_t)k);
    return NULL;
}

/* The group a request goes to.  With several groups, a multi-key command
 * whose keys live in different groups is split (or refused with
 * CROSSSLOT), and a keyless one that concerns the whole dataset is spread
 * over every group; both are answered here and NULL is returned. */
static struct group *
route_group(struct session *s, const struct command *cmd, size_t argc,
            struct resp_arg *argv, const char *frame, size_t framelen)
{
    struct proxy *px = s->px;
    if (px->ngroups == 1) {
        return &px->groups[0];
    }
    /* Every key, movable ones too (ZUNIONSTORE's numkeys, LMPOP, EVAL). */
    size_t stack_idx[16];
    size_t *idx = argc <= 16 ? stack_idx : mem_alloc(argc * sizeof(*idx));
    size_t nkeys = command_keys(cmd, argc, argv, idx, argc <= 16 ? 16 : argc);
    struct group *g = NULL;
    if (nkeys == 0) {
        if (idx != stack_idx) {
            mem_free(idx);
        }
        if (fanout_can_spread(cmd)) {
            fanout_spread(px, session_preq_new(s), cmd, frame, framelen);
            return NULL;
        }
        if (cmd->id == CMD_ID_RANDOMKEY) {
            return &px->groups[(size_t)random() % px->ngroups];
        }
        return &px->groups[0];
    }
    g = topology_group_of_key(px, argv[idx[0]].ptr, argv[idx[0]].len);
    for (size_t i = 1; i < nkeys && g != NULL; i++) {
        if (topology_group_of_key(px, argv[idx[i]].ptr, argv[idx[i]].len) != g) {
            if (fanout_can_split(cmd)) {
                fanout_split(px, session_preq_new(s), cmd, argc, argv);
            } else {
                px->crossslot_errors++;
                session_error(s, "CROSSSLOT Keys in request don't hash to the same slot");
            }
            g = NULL;
        }
    }
    if (idx != stack_idx) {
        mem_free(idx);
    }
    return g;
}

/* One call of a cursor iteration (SCAN, SSCAN...): it goes to the node the
 * cursor names (chosen per read policy when the iteration starts in a
 * group), with the node's own cursor in place of the proxy's.  When that
 * node failed or changed since, the call fails: another node's keys would
 * make a silently partial iteration. */
static void
forward_cursor(struct session *s, const struct cursor_spec *spec, size_t argc,
               struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct cursor c;
    struct group *g;
    struct node *n;

    if (cursor_decode(argv[spec->arg].ptr, argv[spec->arg].len, &c) != 0) {
        session_error(s, "ERR invalid cursor");
        return;
    }
    if (spec->keyspace) {
        if (c.group >= px->ngroups) {
            session_error(s, "ERR invalid cursor");
            return;
        }
        g = &px->groups[c.group];
    } else {
        g = topology_group_of_key(px, argv[1].ptr, argv[1].len);
        c.group = (size_t)(g - px->groups);
    }
    if (c.node == 0) {
        n = read_target(s, g, 1);
        if (n == NULL) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: no master is known for this group (yet)");
            return;
        }
        c.node = cursor_node_index(px, n);
        c.gen = n->incarnation & 15;
        if (c.node > CURSOR_MAX_NODE_INDEX) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: %s cannot be named in a cursor (more than "
                             "%d nodes in its group)", n->name, CURSOR_MAX_NODE_INDEX);
            return;
        }
    } else {
        n = cursor_node_at(px, g, c.node);
        if (n == NULL || !n->up || (n->incarnation & 15) != c.gen) {
            px->route_errors++;
            session_error(s, "ERR cachely-proxy: the node of this %s iteration (%s) failed "
                             "or restarted since it began; start again from cursor 0",
                          spec->name, n ? n->name : "unknown");
            return;
        }
    }
    char num[24];
    struct resp_arg saved = argv[spec->arg];
    argv[spec->arg].ptr = num;
    argv[spec->arg].len = util_ull2str(num, c.node_cursor);
    size_t len;
    char *frame = fanout_encode(argc, argv, &len);
    argv[spec->arg] = saved;
    struct preq *r = session_preq_new(s);
    r->cursor_cmd = 1;
    r->cursor_keyspace = spec->keyspace;
    r->cursor = c;
    if (backend_send(px, n, NULL, r, frame, len) != 0) {
        char err[400];
        int k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable; the %s "
                         "iteration cannot go on elsewhere\r\n", n->name, spec->name);
        r->cursor_cmd = 0;
        px->route_errors++;
        session_deliver(r, err, (size_t)k);
    }
    mem_free(frame);
}

/* A blocking command (BLPOP...) holds a connection until it completes, so
 * it runs on one of the owning master's dedicated connections, never on a
 * shared one; its timeout is the node's to keep. */
static void
forward_blocking(struct session *s, struct group *g, const struct command *cmd,
                 const char *frame, size_t len)
{
    struct proxy *px = s->px;
    struct node *n = g->master;
    struct preq *r = session_preq_new(s);
    int exhausted = 0;
    struct backend *b = NULL;
    char err[400];
    int k;

    /* A blocking write (all but XREAD) that serves follows write-ack as
     * other writes do: session_deliver sends the WAIT once it answers. */
    r->block_write = (cmd->flags & CMD_WRITE) != 0;
    r->block_ack = px->cfg.write_ack != 0 && r->block_write;

    if (n != NULL && blockmux_forward(s, r, n, cmd, s->parser.argc, frame, len)) {
        return; /* on the pooled connection, as CACHELY.BLOCK (blockmux.c) */
    }
    if (n != NULL && n->up) {
        b = backend_take_blocking(px, n, s, &exhausted);
    }
    if (b != NULL && backend_send(px, n, b, r, frame, len) == 0) {
        px->routed_master++;
        return;
    }
    if (b != NULL) {
        backend_release_blocking(b);
    }
    px->route_errors++;
    if (n == NULL) {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: no master is known for this "
                                       "group (yet)\r\n");
    } else if (exhausted) {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: all %lld blocking connections "
                     "to %s are in use (blocking-pool-size); '%s' refused\r\n",
                     px->cfg.blocking_pool_size, n->name, cmd->name);
    } else {
        k = snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n",
                     n->name);
    }
    session_deliver(r, err, (size_t)k);
}

/* The command argv[0] names.  A client sends the same few names, spelled
 * the same way, over and over: the last one found is kept per session
 * (with its route and cursor kind) and compared byte for byte first
 * (cheaper than the table's hash). */
static inline const struct command *
lookup_command(struct session *s, const struct resp_arg *a)
{
    if (a->len == s->seen_len) {
        /* A byte loop: names are a few bytes, shorter than memcmp's call. */
        size_t i = 0;
        while (i < a->len && a->ptr[i] == s->seen_name[i]) {
            i++;
        }
        if (i == a->len) {
            return s->seen_cmd;
        }
    }
    const struct command *cmd = command_lookup(a->ptr, a->len);
    if (cmd != NULL && a->len <= sizeof(s->seen_name)) {
        memcpy(s->seen_name, a->ptr, a->len);
        s->seen_len = a->len;
        s->seen_cmd = cmd;
        s->seen_kind = (int)route_classify(cmd);
        s->seen_cspec = cursor_spec_of(cmd);
    }
    return cmd;
}

static void handle_request(struct session *s, const struct command *cmd, int txn,
                           const char *frame, size_t framelen);

/* Must cmd wait (parsed again once s's earlier replies are in) so that
 * the nodes run s's requests in s's order, although they go over several
 * connections?  (txn: the transaction module takes cmd.) */
static int
waits_for_earlier(const struct session *s, const struct command *cmd, int txn)
{
    if (cmd == NULL) {
        return 0;
    }
    /* A write waits for the session's reads out on replicas: sent now, the
     * master could apply it and a replica receive it before that replica
     * runs an earlier read, which would see the later write.  (Inside MULTI
     * only EXEC sends anything.) */
    if (s->replica_reads > 0 && s->px->cfg.read_policy == READ_SESSION
        && (!txn || cmd->id == CMD_ID_EXEC)
        && ((cmd->flags & CMD_WRITE) || cmd->id == CMD_ID_EXEC || script_may_write(cmd))) {
        return 1;
    }
    if (txn) {
        return 0;
    }
    /* A blocking command goes on a connection of its own (or the
     * multiplexed one): sent now, the node could run it before the
     * session's earlier requests (a BLMOVE before the RPUSH pipelined ahead
     * of it); it runs after them on one Redis connection.  A PUBLISH goes
     * to one group's master: a write the session sent ahead of it to
     * another group runs first (a subscriber that hears it and reads the
     * key finds the write). */
    int ordered = (cmd->flags & CMD_BLOCKING)
                  || (s->px->ngroups > 1
                      && (cmd->id == CMD_ID_PUBLISH || cmd->id == CMD_ID_SPUBLISH));
    return ordered && session_undone(s, NULL, NULL, NULL);
}

void
session_handle_request(struct session *s, const char *frame, size_t framelen)
{
    const struct command *cmd = lookup_command(s, &s->parser.argv[0]);
    int txn = txn_concerns(s->txn, cmd);

    if (txn && txn_hold(s, cmd)) {
        return; /* s->txn_hold: parsed again once s's earlier replies are in */
    }
    if (waits_for_earlier(s, cmd, txn)) {
        s->txn_hold = 1; /* parsed again once s's earlier replies are in */
        return;
    }
    /* CLIENT REPLY OFF or SKIP: this request's replies are dropped (its
     * local ones in session_local_reply, a node's through its request). */
    s->cur_silent = s->reply_off || s->reply_skip;
    s->reply_skip = 0;
    handle_request(s, cmd, txn, frame, framelen);
    s->cur_silent = 0;
}

static void
handle_request(struct session *s, const struct command *cmd, int txn, const char *frame,
               size_t framelen)
{
    struct proxy *px = s->px;
    size_t argc = s->parser.argc;
    struct resp_arg *argv = s->parser.argv;
    char *encoded = NULL;

    px->total_commands++;
    /* The session's ACL user, before anything is routed or queued (Redis's
     * order: unknown command, arity, NOAUTH, then the ACL).  A refusal in
     * MULTI makes EXEC abort, as on a node. */
    if (cmd != NULL && command_arity_ok(cmd, argc) && (s->flags & SESSION_AUTHENTICATED)) {
        s->lastcmd = cmd; /* the ACL LOG's client-info names it, as Redis's does */
        if (access_check(s, cmd, argc, argv) != 0) {
            txn_refuse(s);
            return;
        }
    }
    /* Inside MULTI everything (unknown commands too) is the transaction's. */
    if (txn && txn_early(s, cmd, argc) && txn_request(s, cmd, argc, argv, frame, framelen)) {
        return;
    }
    /* s->last_ms: set by the read that brought the request. */
    if (cmd == NULL) {
        char msg[512];
        command_unknown_error(msg, sizeof(msg), argc, argv);
        session_error(s, "ERR %s", msg);
        return;
    }
    if (!command_arity_ok(cmd, argc)) {
        session_error(s, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    s->lastcmd = cmd;
    if (!(s->flags & SESSION_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
        session_error(s, "NOAUTH Authentication required.");
        return;
    }
    if (s->resp == 2 && s->pubsub != NULL && pubsub_count(s->pubsub) > 0) {
        char err[256];
        size_t n = pubsub_refuse(cmd, argc, argv, err, sizeof(err));
        if (n > 0) {
            session_local_reply(s, err, n);
            return;
        }
    }
    if ((txn && txn_request(s, cmd, argc, argv, frame, framelen))
        || ((cmd->id == CMD_ID_SCRIPT || cmd->id == CMD_ID_FUNCTION)
            && script_command(s, cmd, argc, argv))) {
        return;
    }
    /* (Both answers depend on the command alone: kept with the name.) */
    enum route_kind kind = cmd == s->seen_cmd ? (enum route_kind)s->seen_kind
                                              : route_classify(cmd);
    if (kind == ROUTE_LOCAL) {
        run_local(s, cmd, argc, argv);
        monitor_feed(s, cmd, argc, argv); /* after: SELECT shows its new db */
        return;
    }
    monitor_feed(s, cmd, argc, argv);
    if (s->tracking != NULL) {
        tracking_on_command(s, cmd, argc, argv);
    }
    const struct command *keyed;
    if (kind == ROUTE_REFUSE && (keyed = route_keyed_sub(cmd, argc, argv)) != NULL) {
        /* They go where the key lives, as reads (the node answers arity
         * and unknown subcommands with its own errors). */
        cmd = keyed;
        kind = ROUTE_READ;
    }
    if (kind == ROUTE_REFUSE) {
        px->route_errors++;
        session_error(s, "ERR '%s' is not supported through cachely-proxy; send it "
                         "to a node directly", cmd->name);
        return;
    }
    /* Inline commands are re-encoded; multibulk frames go as they came. */
    if (frame[0] != '*') {
        encoded = fanout_encode(argc, argv, &framelen);
        frame = encoded;
    }
    const struct cursor_spec *cspec = cmd == s->seen_cmd ? s->seen_cspec : cursor_spec_of(cmd);
    if (cspec != NULL) {
        forward_cursor(s, cspec, argc, argv);
        mem_free(encoded);
        return;
    }
    struct group *g = route_group(s, cmd, argc, argv, frame, framelen);
    if (g == NULL) {
        mem_free(encoded);
        return; /* answered: split, spread, or refused */
    }
    if (cmd->flags & CMD_BLOCKING) {
        forward_blocking(s, g, cmd, frame, framelen);
        mem_free(encoded);
        return;
    }
    if (kind == ROUTE_MASTER && px->cfg.write_ack != 0
        && ((cmd->flags & CMD_WRITE) || script_may_write(cmd))) {
        px->routed_master++;
        struct preq *wr = forward_acked(s, g, frame, framelen);
        if (wr != NULL && script_may_write(cmd)) {
            script_forwarded(s, cmd, argc, argv, wr, frame, framelen);
        }
        mem_free(encoded);
        return;
    }
    int policy = px->cfg.read_policy;
    /* In session mode a read waits for nothing: it goes to a replica known
     * to hold the session's last write, else to the master. */
    struct node *target = read_target(s, g, kind == ROUTE_READ);
    int write = kind != ROUTE_MASTER ? 0 : (cmd->flags & CMD_MOVABLEKEYS) ? 2 : 1;
    int run = write != 2 && !(cmd->flags & CMD_MOVABLEKEYS) && s->tracking == NULL
              && !s->cur_silent;
    struct backend *used = forward(s, target, frame, framelen, write, run);
    if (used != NULL && (cmd->flags & CMD_MOVABLEKEYS) && argc >= 3) {
        script_forwarded(s, cmd, argc, argv, s->tail, frame, framelen);
    }
    if (kind == ROUTE_MASTER && policy == READ_SESSION && used != NULL) {
        track_write(s, target, used);
    }
    mem_free(encoded);
}
