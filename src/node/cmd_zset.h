/* Helpers shared by the sorted set handler files (cmd_zset.c,
 * cmd_zsetop.c); not for other families. */
#ifndef CACHELY_NODE_CMD_ZSET_H
#define CACHELY_NODE_CMD_ZSET_H

#include "core/resp.h"
#include "node/t_zset.h"

struct client;

/* a is the option word (case-insensitive). */
int zarg_is(const struct resp_arg *a, const char *word);
/* The client's server's zset-max-listpack-entries / -value. */
struct zset_limits zset_limits_of(const struct client *c);
/* Redis's getLongFromObjectOrReply: 0, or -1 after replying. */
int zparse_long(struct client *c, const struct resp_arg *a, long long *out);
/* Look key up for reading: *zp is NULL when absent.  Returns -1 after
 * replying WRONGTYPE. */
int zlookup_read(struct client *c, const struct resp_arg *key, struct zset **zp);
/* Store z (owned) under dst, replacing any value, and publish event; an
 * empty z deletes dst (publishing del).  Replies the resulting
 * cardinality. */
void zset_store(struct client *c, const struct resp_arg *dst, struct zset *z,
                const char *event);
/* One member of a reply, with its score when withscores ([member, score]
 * in RESP3). */
void reply_score_pair(struct client *c, const char *m, size_t len, double score,
                      int withscores);

#endif
