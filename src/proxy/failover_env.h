/* What failover.c reads from outside itself: the clock and its links to
 * peers and nodes.  The proxy runs on the defaults (util_mstime and
 * peerlink.c); the unit tests (tests/unit/test_failover.c) put in a clock
 * they move by hand and links whose requests they answer themselves, so
 * detection, elections and promotions run with no socket and no sleep. */
#ifndef CACHELY_PROXY_FAILOVER_ENV_H
#define CACHELY_PROXY_FAILOVER_ENV_H

#include "proxy/peerlink.h"

/* Milliseconds, on the wall clock's scale (peers compare none of them:
 * every time failover.c keeps is its own). */
typedef long long (*failover_clock_fn)(void);

/* Each member has the contract of the peerlink.c function it stands for. */
struct failover_env {
    failover_clock_fn now_ms;
    struct peerlink *(*link_create)(struct event_base *base, const char *host, int port,
                                    struct conn_tls_ctx *ctx, const char *what);
    int (*link_send)(struct peerlink *l, int argc, const char **argv, peerlink_reply_fn cb,
                     void *arg);
    enum peerlink_state (*link_state)(const struct peerlink *l);
    int (*link_tls_refused)(const struct peerlink *l);
    int (*link_replied)(const struct peerlink *l);
    void (*link_destroy)(struct peerlink **lp);
};

/* Use env (borrowed: it must outlive its use; NULL: the defaults) from now
 * on.  Change it only while failover.c holds no link (before
 * failover_setup, after failover_teardown): links are destroyed by the
 * functions that made them. */
void failover_set_env(const struct failover_env *env);

#endif
