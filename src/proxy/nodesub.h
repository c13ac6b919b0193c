/* The proxy's subscriptions on the data nodes: one subscriber connection
 * (a "link") per group master, shared by every session.  pubsub.c owns who
 * is subscribed to what; this module mirrors the set of channels, patterns
 * and shard channels that have at least one subscriber onto the links, and
 * hands the messages the nodes send back to pubsub.c to fan out.
 *
 * Plain channels and patterns are subscribed on the master of EVERY group
 * (a message published on any master reaches the proxy's subscribers once:
 * PUBLISH through the proxy goes to group 0's master only); shard channels
 * only on the master of the group owning the channel's slot.  After a link
 * fails or its group's master changes (a failover), the link reconnects to
 * the group's current master and subscribes to the whole set again. */
#ifndef CACHELY_PROXY_NODESUB_H
#define CACHELY_PROXY_NODESUB_H

#include "core/resp.h"

#include <stddef.h>

struct proxy;
struct session;

enum nodesub_kind {
    NODESUB_CHANNEL = 0,
    NODESUB_PATTERN,
    NODESUB_SHARD,
    NODESUB__COUNT
};

/* Connect, reconnect and follow each group's master; release confirmations
 * held too long.  From the proxy's cron (the first call sets the module up). */
void nodesub_cron(struct proxy *px);
/* Close the links and answer every held confirmation; after
 * session_destroy_all. */
void nodesub_teardown(struct proxy *px);

/* g's master changed (topology_set_master, before the sessions hear of
 * it): the links leave the old master and connect to the new one at once,
 * subscribing the whole set again there. */
struct group;
void nodesub_master_changed(struct proxy *px, struct group *g);

/* One of the proxy's own events (channel, msg of len bytes) is about to
 * be delivered: while a link subscribes its whole set again after a
 * (re)connect (a failover), the event is queued, copied, and delivered in
 * order once every link is caught up (at most backend-timeout-ms later),
 * so a session told of a new master finds its subscriptions there.
 * Returns 1 when queued, 0 when the caller delivers it now. */
int nodesub_defer_event(const char *channel, const char *msg, size_t len);

/* name got its first subscriber (on = 1) or lost its last one (on = 0):
 * (un)subscribe on the links concerned.  No-op before the first cron. */
void nodesub_topic(enum nodesub_kind kind, const char *name, size_t len,
                   int on);

/* Hold a subscribe confirmation for s until the nodes confirmed every
 * subscription sent to them so far (so a message published right after the
 * client saw it is not missed); a link that reconnects meanwhile is waited
 * for until its new connection confirmed the whole set; a link whose
 * master is down is not waited for; at most backend-timeout-ms in all.
 * reply is copied.  Returns 1 when held (it goes out in s's request
 * order), 0 when nothing is pending: the caller replies itself. */
int nodesub_hold(struct session *s, const char *reply, size_t len);

/* Call fn(ctx, 1) once the nodes confirmed every subscription sent to them
 * so far, with the same waits and limits as nodesub_hold (a PUBLISH that
 * arrives right behind another session's SUBSCRIBE reaches that
 * subscriber, as on one Redis that read the two in that order), and after
 * every call deferred before; fn(ctx, 0) when the proxy stops first.
 * Returns 1 when deferred, 0 when nothing is pending: the caller goes on
 * now (fn is not called). */
typedef void nodesub_after_fn(void *ctx, int go);
int nodesub_after(nodesub_after_fn *fn, void *ctx);

/* PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB (sub:
 * its CMD_ID_PUBSUB_*, arguments checked) for the deployment: asked of the
 * group masters and merged with this proxy's own subscriptions; the reply
 * goes to s in request order.  Returns 0 (nothing done) before the first
 * cron. */
int nodesub_pubsub(struct session *s, int sub, size_t argc,
                   const struct resp_arg *argv);

/* PUBLISH (shard 0: to group 0's master) or SPUBLISH (shard 1: to the
 * master owning the channel's slot), argc 3 checked; the reply, the node's
 * count with this proxy's link replaced by the sessions it serves, goes to
 * s in request order. */
void nodesub_publish(struct session *s, int shard, size_t argc,
                     const struct resp_arg *argv);

/* What a PUBLISH (shard 0) or SPUBLISH (shard 1) to g's master sent now
 * will count of this proxy's subscribers: nodesub_count_now() when it is
 * sent (alone, or the EXEC of a transaction queueing it), then
 * nodesub_count_fix() turns the node's count into Redis's, the proxy's
 * link replaced by the sessions it serves (unchanged when the link was not
 * settled or has reconnected since). */
struct nodesub_count {
    size_t group;
    int subst;          /* the link carried every name when sent: the node
                           counts it once per matching name (names) */
    unsigned gen;       /* ... on this connection of the link */
    long long sessions; /* the sessions those names stand for */
    long long names;
};
void nodesub_count_now(struct proxy *px, const struct group *g, int shard, const char *channel,
                       size_t len, struct nodesub_count *c);
long long nodesub_count_fix(const struct nodesub_count *c, long long node);

/* Links up and subscriptions they carry, for INFO / tests. */
size_t nodesub_links_up(void);

/* Every reachable group master tracks keys for the proxy (its tracking
 * link is connected and its CLIENT TRACKING answered): 1, else 0. */
int nodesub_tracking_ready(void);
/* Connect the tracking links that are down now, not at the next cron. */
void nodesub_tracking_kick(void);
/* How long a session waits for the links (backend-timeout-ms). */
long long nodesub_hold_limit_ms(void);

#endif
