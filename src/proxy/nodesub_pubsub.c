/* PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARD* for the whole deployment (every
 * group master asked, the replies merged, this proxy's links counted as
 * its sessions) and PUBLISH/SPUBLISH with the node's receiver count
 * corrected the same way.  The links themselves are nodesub.c's. */
#include "proxy/nodesub.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/fanout.h"
#include "proxy/nodesub_int.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PUBSUB for the deployment ------------------------------------------------ */

/* One PUBSUB asked of every group master, merged when the last answers. */
struct view {
    struct preq *parent; /* borrowed: the session's request, answered here */
    int sub;             /* CMD_ID_PUBSUB_* */
    size_t nparts, left;
    char **replies; /* owned: each master's reply (NULL: none) */
    size_t *lens;
    size_t argc;
    struct resp_arg *argv; /* owned copies of the names asked (argv[2..]) */
    char *args;            /* owned: their bytes */
};

struct view_part {
    struct view *v; /* borrowed */
    size_t idx;
};

/* Walk a RESP2 array reply: fn(i, ptr, len, integer) per element (bulks
 * give ptr/len, integers their value).  Returns -1 when not an array. */
static long long
view_walk(const char *r, size_t len,
          void (*fn)(size_t i, const char *p, size_t n, long long v, void *arg),
          void *arg)
{
    const char *p = r, *end = r + len;
    long long n = 0;
    if (len < 4 || *p != '*') {
        return -1;
    }
    n = strtoll(p + 1, NULL, 10);
    p = memchr(p, '\n', (size_t)(end - p));
    for (long long i = 0; p != NULL && i < n; i++) {
        p++;
        if (p >= end) {
            return -1;
        }
        long long v = strtoll(p + 1, NULL, 10);
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            return -1;
        }
        if (*p == '$' && v >= 0 && eol + 1 + v + 2 <= end) {
            fn((size_t)i, eol + 1, (size_t)v, 0, arg);
            p = eol + 1 + v + 1;
        } else if (*p == ':') {
            fn((size_t)i, NULL, 0, v, arg);
            p = eol;
        } else {
            return -1;
        }
    }
    return n;
}

struct names {
    struct resp_arg *v; /* borrowed pointers into replies / the registry */
    size_t n, cap;
};

static void
names_add(struct names *ns, const char *p, size_t len)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 16;
        ns->v = mem_realloc(ns->v, ns->cap * sizeof(*ns->v));
    }
    ns->v[ns->n].ptr = (char *)p;
    ns->v[ns->n].len = len;
    ns->n++;
}

static void
names_from_reply(size_t i, const char *p, size_t n, long long v, void *arg)
{
    (void)i;
    (void)v;
    if (p != NULL) {
        names_add(arg, p, n);
    }
}

struct glob_ctx {
    struct names *ns;
    const struct resp_arg *pattern; /* NULL: every name */
};

static void
names_from_registry(const char *p, size_t n, void *arg)
{
    struct glob_ctx *g = arg;
    if (g->pattern == NULL
        || util_glob_match(g->pattern->ptr, g->pattern->len, p, n, 0)) {
        names_add(g->ns, p, n);
    }
}

static int
arg_cmp(const void *a, const void *b)
{
    const struct resp_arg *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

struct count_ctx {
    size_t want; /* the element index whose integer we need */
    long long v;
};

static void
count_at(size_t i, const char *p, size_t n, long long v, void *arg)
{
    struct count_ctx *c = arg;
    (void)p;
    (void)n;
    if (i == c->want) {
        c->v = v;
    }
}

/* Whether this proxy's link to group gi carries name now (it then counts
 * as one subscriber in that master's NUMSUB). */
static int
ours(size_t gi, enum nodesub_kind kind, const char *name, size_t len)
{
    if (gi >= nodesub_nlinks || nodesub_links[gi]->fd < 0 || !nodesub_links[gi]->connected
        || pubsub_subscribers(kind, name, len) == 0) {
        return 0;
    }
    if (kind == NODESUB_SHARD) {
        struct group *g = nodesub_shard_group(name, len);
        return g != NULL && (size_t)(g - nodesub_px->groups) == gi;
    }
    return 1;
}

static void
view_finish(struct view *v)
{
    struct rbuf b = {0};
    int shard = v->sub == CMD_ID_PUBSUB_SHARDCHANNELS
                || v->sub == CMD_ID_PUBSUB_SHARDNUMSUB;
    enum nodesub_kind kind = shard ? NODESUB_SHARD : NODESUB_CHANNEL;
    if (v->sub == CMD_ID_PUBSUB_CHANNELS
        || v->sub == CMD_ID_PUBSUB_SHARDCHANNELS) {
        /* The union of the masters' lists and this proxy's own names. */
        struct names ns = {0};
        struct glob_ctx g = {&ns, v->argc > 0 ? &v->argv[0] : NULL};
        for (size_t i = 0; i < v->nparts; i++) {
            if (v->replies[i] != NULL) {
                view_walk(v->replies[i], v->lens[i], names_from_reply, &ns);
            }
        }
        pubsub_foreach(kind, names_from_registry, &g);
        if (ns.n > 1) {
            qsort(ns.v, ns.n, sizeof(*ns.v), arg_cmp);
        }
        size_t uniq = 0;
        for (size_t i = 0; i < ns.n; i++) {
            if (uniq == 0 || arg_cmp(&ns.v[uniq - 1], &ns.v[i]) != 0) {
                ns.v[uniq++] = ns.v[i];
            }
        }
        rbuf_hdr(&b, '*', (long long)uniq);
        for (size_t i = 0; i < uniq; i++) {
            rbuf_bulk(&b, ns.v[i].ptr, ns.v[i].len);
        }
        mem_free(ns.v);
    } else if (v->sub == CMD_ID_PUBSUB_NUMPAT) {
        /* Every proxy subscribes its patterns on group 0's master, which
         * counts distinct patterns: its count is the deployment's (plus
         * clients connected to that node itself). */
        long long n = (long long)pubsub_topic_count(NODESUB_PATTERN);
        if (v->replies[0] != NULL && v->replies[0][0] == ':') {
            long long node = strtoll(v->replies[0] + 1, NULL, 10);
            n = node > n ? node : n;
        }
        rbuf_hdr(&b, ':', n);
    } else {
        /* NUMSUB / SHARDNUMSUB: this proxy's sessions, plus what each
         * master counts besides this proxy's link (another proxy's link
         * counts once).  Plain channels: group 0's master, where every
         * proxy subscribes; shard channels: the owning group's. */
        rbuf_hdr(&b, '*', (long long)v->argc * 2);
        for (size_t k = 0; k < v->argc; k++) {
            const char *name = v->argv[k].ptr;
            size_t len = v->argv[k].len;
            size_t gi = 0;
            if (shard) {
                struct group *g = nodesub_shard_group(name, len);
                gi = g ? (size_t)(g - nodesub_px->groups) : 0;
            }
            long long n = (long long)pubsub_subscribers(kind, name, len);
            if (gi < v->nparts && v->replies[gi] != NULL) {
                struct count_ctx c = {k * 2 + 1, 0};
                view_walk(v->replies[gi], v->lens[gi], count_at, &c);
                c.v -= ours(gi, kind, name, len);
                n += c.v > 0 ? c.v : 0;
            }
            rbuf_bulk(&b, name, len);
            rbuf_hdr(&b, ':', n);
        }
    }
    session_deliver(v->parent, b.p, b.len);
    rbuf_free(&b);
    for (size_t i = 0; i < v->nparts; i++) {
        mem_free(v->replies[i]);
    }
    mem_free(v->replies);
    mem_free(v->lens);
    mem_free(v->argv);
    mem_free(v->args);
    mem_free(v);
}

static void
view_part_reply(struct preq *r, const char *reply, size_t len)
{
    struct view_part *part = r->ctx;
    struct view *v = part->v;
    if (len > 0 && reply[0] != '-') {
        v->replies[part->idx] = mem_alloc(len + 1);
        memcpy(v->replies[part->idx], reply, len);
        v->replies[part->idx][len] = '\0'; /* strtoll stops there */
        v->lens[part->idx] = len;
    }
    mem_free(part);
    if (--v->left == 0) {
        view_finish(v);
    }
}

int
nodesub_pubsub(struct session *s, int sub, size_t argc,
               const struct resp_arg *argv)
{
    struct proxy *px = nodesub_px;
    if (px == NULL) {
        return 0;
    }
    struct view *v = mem_calloc(sizeof(*v));
    size_t total = 0, flen;
    v->sub = sub;
    v->nparts = px->ngroups;
    v->left =
        1; /* released after the sends: a part failing at once cannot finish early */
    v->replies = mem_calloc(v->nparts * sizeof(*v->replies));
    v->lens = mem_calloc(v->nparts * sizeof(*v->lens));
    v->argc = argc - 2;
    v->argv = mem_calloc((v->argc ? v->argc : 1) * sizeof(*v->argv));
    for (size_t i = 2; i < argc; i++) {
        total += argv[i].len;
    }
    v->args = mem_alloc(total ? total : 1);
    total = 0;
    for (size_t i = 2; i < argc; i++) {
        memcpy(v->args + total, argv[i].ptr, argv[i].len);
        v->argv[i - 2].ptr = v->args + total;
        v->argv[i - 2].len = argv[i].len;
        total += argv[i].len;
    }
    v->parent = session_new_request(s);
    char *frame = fanout_encode(argc, argv, &flen);
    for (size_t i = 0; i < v->nparts; i++) {
        struct node *m = px->groups[i].master;
        /* NUMPAT and NUMSUB read group 0's master only; SHARDNUMSUB the
         * owning groups' (every group: the names may spread). */
        if (m == NULL
            || (i > 0
                && (sub == CMD_ID_PUBSUB_NUMPAT
                    || sub == CMD_ID_PUBSUB_NUMSUB))) {
            continue;
        }
        struct view_part *part = mem_calloc(sizeof(*part));
        struct preq *r = mem_calloc(sizeof(*r));
        part->v = v;
        part->idx = i;
        r->on_reply = view_part_reply;
        r->ctx = part;
        r->affinity = s->id;
        r->s = s;
        v->left++;
        if (backend_send(px, m, NULL, r, frame, flen) != 0) {
            v->left--;
            mem_free(r);
            mem_free(part);
            continue;
        }
        r->inext = s->internal;
        s->internal = r;
    }
    mem_free(frame);
    if (--v->left == 0) {
        view_finish(v);
    }
    return 1;
}

/* ---- PUBLISH / SPUBLISH --------------------------------------------------------- */

/* A PUBLISH on its way to a master: the node's count is corrected to
 * count this proxy's sessions instead of its link. */
struct publish {
    struct preq *parent; /* borrowed: the session's request, answered here */
    struct proxy *px;    /* borrowed */
    size_t group;        /* px->groups index (SIZE_MAX: none) */
    int shard;           /* SPUBLISH */
    char *channel;       /* owned */
    size_t channel_len;
    char *frame;         /* owned until sent */
    size_t flen;
    struct nodesub_count count;
};

static void
publish_free(struct publish *p)
{
    mem_free(p->channel);
    mem_free(p->frame);
    mem_free(p);
}

/* Whether link l has every name of the set confirmed by its node: then a
 * PUBLISH sent now is counted by the node once per matching name of ours.
 * Otherwise some may be on their way, and the node's count is not
 * corrected (counting the sessions of a name the node does not have yet
 * told the client a message was delivered that never would be). */
static int
link_settled(const struct nodesub_link *l)
{
    return l->fd >= 0 && l->connected && l->acked == l->sent
           && l->resync_since_ms == 0;
}

void
nodesub_count_now(struct proxy *px, const struct group *g, int shard, const char *channel,
                  size_t len, struct nodesub_count *c)
{
    memset(c, 0, sizeof(*c));
    c->group = g ? (size_t)(g - px->groups) : 0;
    if (c->group < nodesub_nlinks && link_settled(nodesub_links[c->group])) {
        /* Counted now: the node runs the PUBLISH after every confirmed
         * subscription, so it counts each name of ours that matches. */
        c->subst = 1;
        c->gen = nodesub_links[c->group]->gen;
        pubsub_receivers(shard ? NODESUB_SHARD : NODESUB_CHANNEL, channel, len, &c->sessions,
                         &c->names);
    }
}

long long
nodesub_count_fix(const struct nodesub_count *c, long long node)
{
    if (c->subst && c->group < nodesub_nlinks && nodesub_links[c->group]->gen == c->gen
        && nodesub_links[c->group]->fd >= 0) {
        /* what the link received stands for the sessions */
        node = (node > c->names ? node - c->names : 0) + c->sessions;
    }
    return node;
}

static void
publish_reply(struct preq *r, const char *reply, size_t len)
{
    struct publish *p = r->ctx;
    if (len > 0 && reply[0] == ':') {
        long long node = nodesub_count_fix(&p->count, strtoll(reply + 1, NULL, 10));
        char out[32];
        int n = snprintf(out, sizeof(out), ":%lld\r\n", node);
        session_deliver(p->parent, out, (size_t)n);
    } else {
        session_deliver(p->parent, reply, len);
    }
    publish_free(p);
}

/* Send p's PUBLISH now (go), or answer it with an error (the proxy stops
 * while it waits, or its master is not there). */
static void
publish_go(void *ctx, int go)
{
    struct publish *p = ctx;
    struct proxy *px = p->px;
    struct session *s = p->parent->s; /* NULL once the client left */
    struct group *g = p->group < px->ngroups ? &px->groups[p->group] : NULL;
    struct node *m = go && g != NULL ? g->master : NULL;
    struct preq *r = mem_calloc(sizeof(*r));
    nodesub_count_now(px, g, p->shard, p->channel, p->channel_len, &p->count);
    r->on_reply = publish_reply;
    r->ctx = p;
    r->affinity = s != NULL ? s->id : 0;
    r->s = s;
    /* Under write-ack on the session's private connection when it has one,
     * behind its writes and their WAITs: subscribers hear it once the
     * writes before it are acknowledged. */
    struct backend *on = s != NULL && m != NULL ? session_ordered_connection(s, m) : NULL;
    if (m != NULL && backend_send(px, m, on, r, p->frame, p->flen) == 0) {
        if (s != NULL) {
            r->inext = s->internal;
            s->internal = r;
        }
        px->routed_master++;
        mem_free(p->frame);
        p->frame = NULL;
        return;
    }
    char err[320];
    int k = !go    ? snprintf(err, sizeof(err), "-ERR cachely-proxy: the proxy is stopping\r\n")
            : m    ? snprintf(err, sizeof(err), "-ERR cachely-proxy: %s is not reachable\r\n",
                              m->name)
                   : snprintf(err, sizeof(err), "-ERR cachely-proxy: no master is known for "
                                                "this group (yet)\r\n");
    px->route_errors++;
    mem_free(r);
    session_deliver(p->parent, err, (size_t)k);
    publish_free(p);
}

void
nodesub_publish(struct session *s, int shard, size_t argc,
                const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    struct group *g = shard
                          ? topology_group_of_key(px, argv[1].ptr, argv[1].len)
                          : &px->groups[0];
    struct publish *p = mem_calloc(sizeof(*p));
    p->parent = session_new_request(s);
    p->px = px;
    p->group = g != NULL ? (size_t)(g - px->groups) : SIZE_MAX;
    p->shard = shard;
    p->channel = mem_strndup(argv[1].ptr, argv[1].len);
    p->channel_len = argv[1].len;
    p->frame = fanout_encode(argc, argv, &p->flen);
    /* Behind the subscriptions the proxy received before it, as one Redis
     * would run it (nothing is held when every link is caught up). */
    if (!nodesub_after(publish_go, p)) {
        publish_go(p, 1);
    }
}
