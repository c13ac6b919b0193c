/* Client memory accounting and client eviction (see clientmem.h).  Each
 * counted client remembers the size it was last counted at (mem_counted),
 * so the total follows it by differences: updated after the client's input
 * ran, after its output was written, when a reply block is added to it
 * (output it gets without acting: a subscriber, a tracking redirect), in
 * the cron, and taken out when it closes. */
#include "node/clientmem.h"
#include "core/alloc.h"
#include "core/log.h"
#include "node/client.h"
#include "node/multi.h"
#include "node/pubsub.h"
#include "node/server.h"
#include "node/tracking.h"

#include <stdlib.h>

/* Redis refuses to go lower, so a bad setting cannot lock everyone out. */
#define CLIENTMEM_MIN_LIMIT (128 * 1024)

size_t
clientmem_usage(const struct client *c)
{
    const struct resp_parser *p = &c->parser;
    size_t m = sizeof(*c) + c->qcap + c->reply_alloc;
    m += p->argv_cap * (sizeof(*p->argv) + sizeof(*p->offs)) + p->scratch_cap;
    m += multi_client_mem(c);
    m += pubsub_client_mem(c);
    m += tracking_client_mem(c);
    return m;
}

size_t
clientmem_limit(const struct server *srv)
{
    long long v = srv->cfg.maxmemory_clients;
    unsigned long long lim;
    if (v < 0) {
        if (srv->cfg.maxmemory == 0) {
            return 0;
        }
        lim = (unsigned long long)((double)srv->cfg.maxmemory * (double)-v / 100);
    } else if (v > 0) {
        lim = (unsigned long long)v;
    } else {
        return 0;
    }
    if (lim < CLIENTMEM_MIN_LIMIT) {
        lim = CLIENTMEM_MIN_LIMIT;
    }
    return lim > SIZE_MAX ? SIZE_MAX : (size_t)lim;
}

/* Redis's client types: our master's link and replicas are never counted
 * nor evicted, nor are fake clients (no connection to close). */
static int
counted(const struct client *c)
{
    return !(c->flags & (CLIENT_FAKE | CLIENT_MASTER | CLIENT_REPLICA | CLIENT_CLOSE_ASAP));
}

void
clientmem_forget(struct client *c)
{
    struct clientmem *cm = &c->srv->cmem;
    cm->total -= c->mem_counted;
    if (c->mem_evictable) {
        cm->evictable -= c->mem_counted;
    }
    c->mem_counted = 0;
    c->mem_evictable = 0;
}

void
clientmem_update(struct client *c)
{
    struct clientmem *cm = &c->srv->cmem;
    clientmem_forget(c);
    if (!counted(c)) {
        return;
    }
    c->mem_counted = clientmem_usage(c);
    c->mem_evictable = !(c->flags & CLIENT_NO_EVICT);
    cm->total += c->mem_counted;
    if (c->mem_evictable) {
        cm->evictable += c->mem_counted;
    }
}

void
clientmem_configure(struct server *srv)
{
    struct clientmem *cm = &srv->cmem;
    cm->limit = clientmem_limit(srv);
    int on = cm->limit != 0;
    if (on == cm->on) {
        return;
    }
    cm->on = on;
    cm->over_logged = 0;
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        if (on) {
            clientmem_update(c);
        } else {
            clientmem_forget(c);
        }
    }
    if (!on) {
        cm->total = cm->evictable = 0;
    }
}

static int
by_size_desc(const void *a, const void *b)
{
    const struct client *x = *(struct client *const *)a;
    const struct client *y = *(struct client *const *)b;
    if (x->mem_counted != y->mem_counted) {
        return x->mem_counted > y->mem_counted ? -1 : 1;
    }
    /* the same size: the older connection first, so the order is stable */
    return x->id < y->id ? -1 : x->id > y->id;
}

void
clientmem_before_sleep(struct server *srv)
{
    struct clientmem *cm = &srv->cmem;
    if (cm->total <= cm->limit) {
        cm->over_logged = 0;
        return;
    }
    clientmem_evict(srv, NULL);
    client_free_pending(srv);
}

void
clientmem_evict(struct server *srv, const struct client *self)
{
    struct clientmem *cm = &srv->cmem;
    size_t limit = cm->limit;
    if (limit == 0 || cm->total <= limit) {
        return;
    }
    if (cm->evictable == 0) {
        /* Only clients that may not be evicted (CLIENT NO-EVICT) are left:
         * said once, not at every loop turn. */
        if (!cm->over_logged) {
            log_warn("Over client maxmemory after evicting all evictable clients");
            cm->over_logged = 1;
        }
        return;
    }
    /* Rare (the limit was crossed): one walk, sorted by size. */
    size_t n = 0;
    struct client **v = mem_alloc(srv->nclients * sizeof(*v) + sizeof(*v));
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        if (c->mem_evictable && c->mem_counted > 0
            && (c == self || !(c->flags & CLIENT_IN_CALLBACK))) {
            v[n++] = c;
        }
    }
    qsort(v, n, sizeof(*v), by_size_desc);
    for (size_t i = 0; i < n && cm->total > limit; i++) {
        struct client *c = v[i];
        char desc[2048];
        client_describe(c, desc, sizeof(desc));
        log_info("Evicting client: %s", desc);
        srv->stats.evicted_clients++;
        /* Gone for CLIENT LIST at once, as Redis frees it at once; and
         * its output goes now (the rest once the stack unwinds), or a read
         * batch's next commands would still see that memory used (and
         * evict keys for it). */
        c->mem_evicted = 1;
        client_close_async(c); /* takes it out of the total */
        client_discard_reply(c);
    }
    mem_free(v);
    if (cm->total > limit && !cm->over_logged) {
        log_warn("Over client maxmemory after evicting all evictable clients");
        cm->over_logged = 1;
    }
}
