/* The stream type: its object-layer table ("stream" for OBJECT ENCODING),
 * stream IDs, and the consumer groups (pending entries lists, consumers)
 * the XADD/XREADGROUP/XACK/... handlers in cmd_stream.c work on.  Entries
 * live in ds/xstream's packed nodes. */
#ifndef CACHELY_NODE_T_STREAM_H
#define CACHELY_NODE_T_STREAM_H

#include "ds/xstream.h"
#include "node/object.h"

#include <stddef.h>
#include <stdint.h>

extern const struct obj_type stream_type;

struct sconsumer {
    char *name;                  /* owned */
    size_t namelen;
    long long seen_time;         /* ms of the last interaction */
    size_t npending;             /* entries of the group's PEL it owns */
};

/* One delivered, unacknowledged entry. */
struct spel {
    struct xid id;
    long long delivery_time;     /* ms */
    uint64_t delivery_count;
    struct sconsumer *consumer;  /* borrowed from the group */
};

struct sgroup {
    char *name;                  /* owned */
    size_t namelen;
    struct xid last_id;          /* last delivered ID */
    long long entries_read;      /* -1: unknown (SCG_INVALID_ENTRIES_READ) */
    struct spel *pel;            /* owned array, in ID order */
    size_t npel, pelcap;
    struct sconsumer **consumers; /* owned array of owned consumers, by name */
    size_t nconsumers;
};

struct stream {
    struct xstream *x;           /* owned: the entries */
    struct xid last_id;          /* greatest ID ever added (or XSETID) */
    struct xid first_id;         /* first live entry (0-0 when empty) */
    struct xid max_deleted_id;   /* greatest ID deleted */
    uint64_t entries_added;      /* entries ever added */
    struct sgroup **groups;      /* owned array of owned groups, by name */
    size_t ngroups;
};

#define STREAM_ID_STRLEN 44

struct stream *stream_create(void);
/* "ms-seq" into buf (STREAM_ID_STRLEN bytes); returns the length. */
size_t stream_id_str(char *buf, const struct xid *id);
/* Parse "ms[-seq]": missing seq takes missing_seq; *seq_given says whether
 * it was given; "-"/"+" when not strict.  "ms-*" when seq_star is not NULL
 * sets *seq_star.  0, or -1 when not an ID. */
int stream_parse_id(const char *s, size_t len, int strict, uint64_t missing_seq,
                    struct xid *id, int *seq_star);
/* ID + 1 / - 1: -1 on overflow. */
int stream_id_incr(struct xid *id);
int stream_id_decr(struct xid *id);

/* Delete id, keeping first_id and max_deleted_id; returns 1 when it was. */
int stream_delete(struct stream *s, const struct xid *id);
void stream_update_first(struct stream *s);
/* Trim as XADD/XTRIM do; returns entries removed. */
size_t stream_trim(struct stream *s, uint64_t maxlen, const struct xid *minid,
                   int approx, long long limit);

/* Groups and consumers (NULL when absent). */
struct sgroup *stream_group_find(const struct stream *s, const char *name, size_t len);
struct sgroup *stream_group_create(struct stream *s, const char *name, size_t len,
                                   const struct xid *last_id, long long entries_read);
void stream_group_destroy(struct stream *s, struct sgroup *g);
struct sconsumer *stream_consumer_find(const struct sgroup *g, const char *name, size_t len);
/* Find or create (*created set when not NULL). */
struct sconsumer *stream_consumer_get(struct sgroup *g, const char *name, size_t len,
                                      long long now, int *created);
/* Delete a consumer and its pending entries; returns how many it had. */
size_t stream_consumer_delete(struct sgroup *g, struct sconsumer *cons);

/* The PEL entry of id, or NULL. */
struct spel *stream_pel_find(const struct sgroup *g, const struct xid *id);
/* Index of the first PEL entry >= id. */
size_t stream_pel_lower(const struct sgroup *g, const struct xid *id);
/* Add id (not present) to the PEL. */
struct spel *stream_pel_add(struct sgroup *g, const struct xid *id, struct sconsumer *c,
                            long long now, uint64_t count);
void stream_pel_remove(struct sgroup *g, struct spel *p);

/* Whether id exists (live) in the stream. */
int stream_entry_exists(const struct stream *s, const struct xid *id);
/* The entries-read estimate of an id as Redis 7.0 computes it: -1 when
 * unknown. */
long long stream_estimate_distance(const struct stream *s, const struct xid *id);
/* The group's lag as Redis 7.0 computes it into *lag; 0 when unknown (a
 * lag can itself be negative: ENTRIESREAD past the entries added). */
int stream_group_lag(const struct stream *s, const struct sgroup *g, long long *lag);

#endif
