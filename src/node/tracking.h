/* Client-side caching (CLIENT TRACKING): the keys each tracking client read,
 * or its BCAST prefixes, and the invalidation messages the keyspace change
 * signal triggers: RESP3 pushes ">2 invalidate [keys]", or, through a
 * REDIRECT to a RESP2 subscriber, messages on __redis__:invalidate. */
#ifndef CACHELY_NODE_TRACKING_H
#define CACHELY_NODE_TRACKING_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct command;
struct server;
struct tracking_key;
struct tracking_prefix;

struct tracking {
    struct tracking_key **buckets;   /* owned: key -> ids of clients that read it */
    size_t size, count;
    struct tracking_prefix *prefixes; /* owned list (BCAST) */
    struct client **clients;         /* owned array of borrowed: tracking clients */
    size_t nclients, clientcap;
    struct client *current;          /* borrowed: the client whose command runs */
    uint64_t *pending;               /* owned: invalidations for current, after
                                        its reply (key offsets in pbuf) */
    char *pbuf;                      /* owned */
    size_t plen, pcap, npending, pendcap;
    int flush_pending;               /* a flush happened in this command */
    unsigned limit_rounds;           /* calls in a row that left the table over
                                        tracking-table-max-keys */
};

/* Per-client state (owned by the client; NULL when tracking never enabled). */
struct tracking_client {
    unsigned opts;                   /* enum tracking_opt */
    uint64_t redirect;               /* 0: none */
    struct tracking_prefix **prefixes; /* borrowed from the server's list */
    size_t nprefixes, prefixcap;
    size_t prefix_mem;               /* what the prefixes count for */
};

enum tracking_opt {
    TRACKING_ON = 1 << 0,
    TRACKING_BCAST = 1 << 1,
    TRACKING_OPTIN = 1 << 2,
    TRACKING_OPTOUT = 1 << 3,
    TRACKING_NOLOOP = 1 << 4,
    TRACKING_CACHING = 1 << 5,       /* CLIENT CACHING yes/no for the next command */
    TRACKING_BROKEN_REDIR = 1 << 6,
};

void tracking_setup(struct server *srv);
void tracking_teardown(struct server *srv);
/* dispatch_call brackets the outermost command with begin/end: begin notes
 * the running client; end sends the invalidations that concern the running
 * client itself (after its reply, as Redis 7.0 does) and those of a flush.
 * command_done runs after every command, nested ones too: a read command
 * of a tracking client remembers its keys. */
void tracking_call_begin(struct client *c);
void tracking_command_done(struct client *c, const struct command *cmd);
void tracking_call_end(struct client *c, const struct command *cmd);
/* Before the loop sleeps: send the BCAST invalidations collected. */
void tracking_before_sleep(struct server *srv);
/* A closing client stops tracking. */
void tracking_client_gone(struct client *c);
/* INFO: tracking clients, keys, items (key-client pairs), prefixes. */
void tracking_stats(const struct server *srv, long long *clients, long long *keys,
                    long long *items, long long *prefixes);
/* Bytes c's tracking state counts for (client eviction, CLIENT LIST's
 * tot-mem): per BCAST prefix its entry, its name and links. */
size_t tracking_client_mem(const struct client *c);
/* CLIENT LIST's redir= value. */
long long tracking_redirect_of(const struct client *c);

#endif
