/* The node's pub/sub: channels, glob patterns and shard channels, their
 * subscribers, message delivery in RESP2 (subscribed mode) and RESP3
 * (pushes), and the PUBSUB introspection.  Keyspace notifications and
 * tracking redirects publish through pubsub_publish. */
#ifndef CACHELY_NODE_PUBSUB_H
#define CACHELY_NODE_PUBSUB_H

#include <stddef.h>

struct client;
struct server;
struct pubsub_chan;
struct pubsub_pat;

struct pubsub_table {
    struct pubsub_chan **buckets;  /* owned, with the channels */
    size_t size;                   /* a power of two, or 0 */
    size_t count;
};

struct pubsub {
    struct pubsub_table channels;
    struct pubsub_table shard;
    struct pubsub_pat **pats;      /* owned: every pattern subscription */
    size_t npats, patcap;
};

/* Per-client subscriptions (owned by the client, NULL before the first). */
struct pubsub_client {
    struct pubsub_chan **chans;    /* borrowed from the server's table */
    size_t nchans, chancap;
    struct pubsub_chan **shards;   /* borrowed */
    size_t nshards, shardcap;
    struct pubsub_pat **pats;      /* borrowed from srv->pubsub.pats */
    size_t npats, patcap;
    size_t mem;                    /* what the subscriptions count for (see
                                      pubsub_client_mem) */
};

void pubsub_teardown(struct server *srv);
/* Deliver message to channel's subscribers and matching patterns'.
 * Returns how many clients received it. */
long long pubsub_publish(struct server *srv, const char *chan, size_t clen,
                         const char *msg, size_t mlen);
/* Drop every subscription of c (RESET, closing), without replies. */
void pubsub_client_gone(struct client *c);
/* INFO: channels with subscribers, distinct patterns, shard channels. */
void pubsub_stats(const struct server *srv, long long *channels, long long *patterns,
                  long long *shard);
/* Subscription counts for CLIENT LIST (sub, psub, ssub). */
void pubsub_client_counts(const struct client *c, size_t *sub, size_t *psub,
                          size_t *ssub);
/* Bytes c's subscriptions count for (client eviction, CLIENT LIST's
 * tot-mem): per subscription its entry, name and links. */
size_t pubsub_client_mem(const struct client *c);
/* Call fn for each subscription of c (kind: 0 a channel, 1 a pattern, 2 a
 * shard channel) until it returns nonzero; returns that value, or 0.  The
 * names are borrowed for the call only. */
typedef int (*pubsub_each_fn)(void *arg, int kind, const char *name, size_t len);
int pubsub_client_each(const struct client *c, pubsub_each_fn fn, void *arg);

#endif
