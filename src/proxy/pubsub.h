/* The proxy's pub/sub as client sessions use it: the pub/sub commands, the
 * rule of RESP2 subscribed mode, and leaving every subscription on RESET or
 * when the session goes away, and pubsub_publish(), which the proxy's own
 * events call.
 *
 * A session's subscriptions are a struct pubsub_client that the session owns
 * through one pointer (NULL until its first subscription); the channels and
 * patterns with their subscribers are this module's, one registry for the
 * process, as there is one proxy per process. */
#ifndef CACHELY_PROXY_PUBSUB_H
#define CACHELY_PROXY_PUBSUB_H

#include "core/command.h"
#include "core/resp.h"
#include "proxy/nodesub.h"

#include <stddef.h>

struct proxy;
struct session;
struct pubsub_client;

/* Run SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH or PUBSUB
 * (cmd: the top-level row, arity already checked) for session s, whose
 * subscriptions *cp holds: created at the first subscription, freed (and
 * *cp set to NULL) when none is left.  Replies with session_reply(). */
void pubsub_command(struct proxy *px, struct session *s, struct pubsub_client **cp,
                    const struct command *cmd, size_t argc, const struct resp_arg *argv);

/* Channels plus patterns c is subscribed to (0 for NULL): in RESP2 a
 * session with any is in subscribed mode. */
size_t pubsub_count(const struct pubsub_client *c);

/* The channels and the patterns c is subscribed to (0 for NULL). */
void pubsub_client_counts(const struct pubsub_client *c, size_t *channels, size_t *patterns);
/* The shard channels c is subscribed to (0 for NULL). */
size_t pubsub_client_shards(const struct pubsub_client *c);

/* Whether a RESP2 session in subscribed mode may run cmd (a top-level row;
 * argv names the subcommand of a container).  When it may not, writes
 * Redis's error line ("-ERR Can't execute 'get': only ...\r\n") into buf
 * and returns its length; returns 0 when it may, and when the command's own
 * error (an unknown subcommand, a wrong arity) comes first, as in Redis. */
size_t pubsub_refuse(const struct command *cmd, size_t argc, const struct resp_arg *argv,
                     char *buf, size_t cap);

/* Call fn for each channel (kind 0), pattern (1) and shard channel (2) c
 * is subscribed to until it returns nonzero; returns that value, or 0 (also
 * for c NULL).  Names are borrowed for the call (access.c: ACL changes). */
int pubsub_client_each(const struct pubsub_client *c,
                       int (*fn)(void *arg, int kind, const char *name, size_t len), void *arg);

/* Leave every channel and pattern without replying (RESET, the session
 * closing) and free *cp; sets *cp to NULL.  Safe with *cp NULL. */
void pubsub_client_destroy(struct pubsub_client **cp);

/* Channels with subscribers and distinct patterns subscribed to (INFO's
 * pubsub_channels and pubsub_patterns). */
size_t pubsub_channel_count(const struct proxy *px);
size_t pubsub_pattern_count(const struct proxy *px);

/* A message a node sent on the proxy's subscriber link (nodesub.c): kind
 * NODESUB_CHANNEL ("message"), NODESUB_PATTERN ("pmessage", pattern set)
 * or NODESUB_SHARD ("smessage").  Delivered to this proxy's subscribers of
 * that channel / pattern / shard channel, in their RESP version. */
void pubsub_node_message(enum nodesub_kind kind, const char *pattern, size_t plen,
                         const char *channel, size_t clen, const char *msg, size_t mlen);
/* Call fn for each name of the kind that has a subscriber (fn must not
 * change subscriptions). */
void pubsub_foreach(enum nodesub_kind kind, void (*fn)(const char *name, size_t len, void *arg),
                    void *arg);
/* This proxy's sessions subscribed to name (of the kind). */
size_t pubsub_subscribers(enum nodesub_kind kind, const char *name, size_t len);
/* A message on channel (kind NODESUB_CHANNEL: channel and pattern
 * subscribers; NODESUB_SHARD: shard ones): *sessions is how many
 * deliveries this proxy makes (Redis's PUBLISH count), *names how many of
 * its names match (what its subscriber link counts on the node). */
void pubsub_receivers(enum nodesub_kind kind, const char *channel, size_t len,
                      long long *sessions, long long *names);
/* How many names of the kind have a subscriber. */
size_t pubsub_topic_count(enum nodesub_kind kind);

/* The proxy's own pub/sub: clients SUBSCRIBE/PSUBSCRIBE to its event
 * channels (Sentinel's +switch-master, +sdown, ...).  Deliver msg on channel
 * to every subscriber (pattern subscribers too); returns how many got it
 * (0 when held back while a subscriber link re-subscribes after a
 * failover: nodesub_defer_event). */
long long pubsub_publish(struct proxy *px, const char *channel, const char *msg, size_t len);

#endif
