/* Helpers shared by the stream handler files (cmd_stream.c,
 * cmd_stream_group.c); not for other families. */
#ifndef CACHELY_NODE_CMD_STREAM_H
#define CACHELY_NODE_CMD_STREAM_H

#include "core/resp.h"
#include "node/t_stream.h"

#include <stdint.h>

struct client;
struct entry;

#define ERR_INVALID_ID "Invalid stream ID specified as stream command argument"

/* a is the word s (case-insensitive). */
int xarg_is(const struct resp_arg *a, const char *s);
/* Look key up with db_lookup_ref flags: *sp is NULL when absent (*refp, when
 * refp is not NULL, the entry's slot).  Returns -1 after replying
 * WRONGTYPE. */
int xlookup(struct client *c, const struct resp_arg *key, int flags, struct entry ***refp,
            struct stream **sp);
/* An integer argument: 0, or -1 after replying. */
int xparse_ll(struct client *c, const struct resp_arg *a, long long *out);
/* A strict ID (no - or +); c NULL: no reply.  0, or -1 after replying. */
int xparse_strict_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq,
                     struct xid *id, int *seq_star);
/* An ID, - and + allowed.  0, or -1 after replying. */
int xparse_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq, struct xid *id);
/* An interval bound, "(" for exclusive.  0, or -1 after replying. */
int xparse_interval_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq,
                       struct xid *id, int *exclusive);
void xreply_id(struct client *c, const struct xid *id);
/* One entry as [id, [field, value, ...]]. */
void xreply_entry(struct client *c, const struct xentry *e);
/* Reply one entry by ID ([id, fields]) or nothing when it is gone; returns
 * 1 when it was there. */
int xreply_entry_by_id(struct client *c, const struct stream *s, const struct xid *id);
/* Redis's addReplySubcommandSyntaxError. */
void xsubcommand_syntax_error(struct client *c, const char *container);
long long xnow_ms(void);
/* -NOGROUP No such key ... or consumer group ... */
void xnogroup_key_error(struct client *c, const struct resp_arg *key, const struct resp_arg *grp);

/* Effects group commands state (propagate.c). */
/* XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID l */
void xpropagate_xclaim(struct client *c, const struct resp_arg *key, const struct sgroup *g,
                       const struct xid *id, const struct spel *p);
/* XGROUP SETID key group id ENTRIESREAD n */
void xpropagate_group_id(struct client *c, const struct resp_arg *key, const struct sgroup *g);
/* XGROUP CREATECONSUMER key group consumer */
void xpropagate_createconsumer(struct client *c, const struct resp_arg *key,
                               const struct sgroup *g, const struct resp_arg *cons);

#endif
