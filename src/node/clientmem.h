/* Client memory and client eviction (maxmemory-clients, Redis 7.0): what a
 * connection takes (CLIENT LIST's tot-mem), a running total over normal and
 * pub/sub clients, and closing the largest evictable ones, before the loop
 * sleeps, while that total is over the limit.  With maxmemory-clients 0
 * nothing is counted: the hooks in client.c test one flag. */
#ifndef CACHELY_NODE_CLIENTMEM_H
#define CACHELY_NODE_CLIENTMEM_H

#include <stddef.h>

struct client;
struct server;

struct clientmem {
    int on;             /* a limit is in force: sizes are being counted */
    size_t limit;       /* clientmem_limit(), kept by clientmem_configure */
    size_t total;       /* counted sizes of normal and pub/sub clients */
    size_t evictable;   /* the part of total that eviction may close */
    int over_logged;    /* "over the limit, nothing to evict" was logged */
};

/* The memory c takes now, as CLIENT LIST's tot-mem shows it: the client
 * itself, its query buffer and parser arrays, its reply blocks, its MULTI
 * queue, WATCHed keys, subscriptions and tracking prefixes. */
size_t clientmem_usage(const struct client *c);
/* The limit in bytes (maxmemory-clients, or its percentage of maxmemory),
 * at least 128 KiB as in Redis; 0 when there is none. */
size_t clientmem_limit(const struct server *srv);
/* Count c again (its size may have changed).  Call only when srv->cmem.on. */
void clientmem_update(struct client *c);
/* Take c out of the total (it is closing or being freed). */
void clientmem_forget(struct client *c);
/* After maxmemory or maxmemory-clients changed: start counting every client
 * (eviction is then checked before the loop sleeps) or stop and forget. */
void clientmem_configure(struct server *srv);
/* While the total is over the limit, close evictable clients, the largest
 * first: marked closing (client_close_async), freed by whoever frees the
 * close list next.  self (or NULL) is the client whose input is being
 * handled, which may be evicted; another client with a command on the
 * stack (a busy script's caller) is not.  Called through clientmem_check
 * after a client's input ran or its query buffer grew, before a command
 * when maxmemory is set, and before the loop sleeps. */
void clientmem_evict(struct server *srv, const struct client *self);
/* Before the loop sleeps: what clientmem_check does, and the "nothing left
 * to evict" warning is re-armed once the total is within the limit. */
void clientmem_before_sleep(struct server *srv);

static inline void
clientmem_check(struct server *srv, struct clientmem *cm, const struct client *self)
{
    if (cm->total > cm->limit) {
        clientmem_evict(srv, self);
    }
}

/* The hook client.c calls where a client's size may have changed. */
#define CLIENTMEM_TOUCH(c)                                                  \
    do {                                                                    \
        if ((c)->srv->cmem.on) {                                            \
            clientmem_update(c);                                            \
        }                                                                   \
    } while (0)

/* The same, then evict while over the limit (c itself may go: check its
 * CLIENT_CLOSE_ASAP after). */
#define CLIENTMEM_CHECK(c)                                                  \
    do {                                                                    \
        if ((c)->srv->cmem.on) {                                            \
            clientmem_update(c);                                            \
            clientmem_check((c)->srv, &(c)->srv->cmem, (c));                \
        }                                                                   \
    } while (0)

#endif
