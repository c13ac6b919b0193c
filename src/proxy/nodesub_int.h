/* What the subscriber-link files share (nodesub.c: the links, the set,
 * held confirmations; nodesub_pubsub.c: PUBSUB and PUBLISH through them);
 * the rest of the proxy sees only nodesub.h. */
#ifndef CACHELY_PROXY_NODESUB_INT_H
#define CACHELY_PROXY_NODESUB_INT_H

#include "core/resp_scan.h"

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct node;
struct group;
struct event;

/* A subscriber connection to one group's master.  Only RESP2 is spoken on
 * it: pubsub.c re-frames each message for RESP3 sessions. */
struct nodesub_link {
    int tracking;  /* a tracking link (RESP3, CLIENT TRACKING ON BCAST):
                      invalidations, no subscriptions */
    int handshake; /* tracking: replies still expected before the node
                      tracks for us */
    size_t group;      /* index into px->groups */
    struct node *node; /* borrowed: the master it is connected to */
    int fd;            /* -1 when closed */
    int connected;     /* the non-blocking connect finished */
    struct event *rev; /* owned: read, persistent */
    struct event *wev; /* owned: write, armed while out has bytes */
    char *out;         /* owned: commands not yet written */
    size_t out_len, out_cap, out_sent;
    char *in; /* owned: bytes read, not yet scanned */
    size_t in_len, in_cap;
    struct resp_scan scan;
    unsigned gen;   /* bumped at each connect */
    uint64_t sent;  /* (un)subscription confirmations expected in all */
    uint64_t acked; /* ... and received, on this connection */
    uint64_t resub_seq;        /* sent once the whole set went out at connect */
    long long resync_since_ms; /* the whole set sent at connect is not all
                                  confirmed yet, since (0: caught up, or
                                  the link is down) */
    long long retry_at_ms;
    long long idle_since_ms; /* tracking: no session tracks since (0: some do) */
    int backoff_ms;     /* 100 ms doubling to 1 s while connects fail */
    long long messages; /* messages received (statistics) */
};

/* nodesub.c's state (see there) */
extern struct proxy *nodesub_px;
extern struct nodesub_link **nodesub_links;
extern size_t nodesub_nlinks;

/* The group a shard channel's name hashes to. */
struct group *nodesub_shard_group(const char *name, size_t len);

#endif
