/* The sorted set type: its object, its two encodings and the operations the
 * ZSET commands are built from.
 *
 * A small sorted set is one listpack of member, score pairs ordered by
 * score then member bytes ("listpack"); past zset-max-listpack-entries
 * members or a member longer than zset-max-listpack-value bytes it becomes
 * a strmap (member -> score in aux.score, O(1) ZSCORE) plus an
 * order-statistic B+tree (ds/zbtree.h) of the same nodes ordered by
 * (score, member) for O(log n) ranks; OBJECT ENCODING calls it "skiplist",
 * Redis's name for the large encoding.  Every range (by rank, score or lex) is reduced to a run of
 * ranks [first, first + count), walked with struct zset_iter. */
#ifndef CACHELY_NODE_T_ZSET_H
#define CACHELY_NODE_T_ZSET_H

#include "ds/listpack.h"
#include "ds/zbtree.h"
#include "ds/strmap.h"

#include <stddef.h>
#include <stdint.h>

struct obj_type;

struct zset {
    unsigned char *lp;       /* owned: the listpack encoding, or NULL */
    struct strmap *map;      /* owned: member -> score (large encoding) */
    struct zbtree *bt;       /* owned: map's nodes in order (large encoding) */
};

/* Conversion thresholds (zset-max-listpack-entries / -value). */
struct zset_limits {
    size_t max_entries;
    size_t max_value;
};

extern const struct obj_type zset_type;

/* An empty sorted set in the encoding that size_hint members of at most
 * max_len bytes would need (Redis's zsetTypeCreate). */
struct zset *zset_create(const struct zset_limits *lim, size_t size_hint, size_t max_len);
void zset_free(void *obj);
size_t zset_length(const struct zset *z);
/* "listpack" or "skiplist". */
const char *zset_encoding(const struct zset *z);
void zset_convert_to_tree(struct zset *z);
/* Back to a listpack when the set fits the limits (store commands). */
void zset_convert_if_fits(struct zset *z, const struct zset_limits *lim);

/* ZADD's condition flags and outcome. */
enum zset_add_in {
    ZSET_ADD_INCR = 1 << 0,
    ZSET_ADD_NX = 1 << 1,
    ZSET_ADD_XX = 1 << 2,
    ZSET_ADD_GT = 1 << 3,
    ZSET_ADD_LT = 1 << 4,
};
enum zset_add_out {
    ZSET_OUT_ADDED = 1 << 0,
    ZSET_OUT_UPDATED = 1 << 1,
    ZSET_OUT_NOP = 1 << 2,
    ZSET_OUT_NAN = 1 << 3,
};
/* Redis's zsetAdd: add or update member under the flags.  Returns 0, or -1
 * when the score (or INCR's result) is NaN.  *newscore gets the resulting
 * score when the member was added or updated (or would stay). */
int zset_add(struct zset *z, const struct zset_limits *lim, const char *m, size_t len,
             double score, unsigned in, unsigned *out, double *newscore);
/* Score of member: 1 when present. */
int zset_score(struct zset *z, const char *m, size_t len, double *score);
/* Remove member: 1 when it was present. */
int zset_delete(struct zset *z, const char *m, size_t len);
/* 0-based rank from the lowest (or highest when reverse), -1 when absent. */
long long zset_rank(struct zset *z, const char *m, size_t len, int reverse);

/* A score or lex interval. */
struct zset_range {
    int lex;                 /* 0: by score, 1: by member bytes */
    double min, max;         /* by score */
    int minex, maxex;        /* exclusive ends */
    /* by lex: kind -1 = "-", 1 = "+", 0 = the bytes */
    int minkind, maxkind;
    const char *lmin, *lmax; /* borrowed (argv) */
    size_t lminlen, lmaxlen;
};
/* Parse a score range ("(1.5", "-inf", ...) or a lex range ("[a", "(b", "-",
 * "+").  Return 0, or -1 when an end is invalid. */
int zset_parse_score_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                           struct zset_range *r);
int zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                         struct zset_range *r);
/* The run of members inside r: first rank and count. */
void zset_range_ranks(struct zset *z, const struct zset_range *r, size_t *first,
                      size_t *count);
/* Remove count members from rank first. */
void zset_delete_ranks(struct zset *z, size_t first, size_t count);
/* ZPOPMIN/ZPOPMAX of n members from a set in its tree encoding holding
 * more than n: each lowest (highest when max) member is taken out of the
 * tree by rank, handed to fn, then freed (one walk down per member, where
 * reading then deleting took two).  Returns 0, doing nothing, for a
 * listpack or when n covers the whole set: use zset_delete_ranks then. */
typedef void (*zset_member_fn)(void *arg, const char *m, size_t len, double score);
int zset_pop_tree(struct zset *z, int max, size_t n, zset_member_fn fn, void *arg);

/* Walk members from a rank, upward or (reverse) downward. */
struct zset_iter {
    struct zset *z;                 /* borrowed */
    unsigned char *p;               /* listpack: member of the next pair */
    struct zbtree_pos pos;          /* large encoding: the next member */
    int reverse;
    char buf[LISTPACK_INT_BUF];     /* an integer member's text */
};
void zset_iter_init(struct zset_iter *it, struct zset *z, size_t rank, int reverse);
/* The next member (valid until the next call or a change) and its score;
 * 0 when the walk is over. */
int zset_iter_next(struct zset_iter *it, const char **m, size_t *len, double *score);

/* A uniformly random member (the set is not empty). */
void zset_random(struct zset *z, const char **m, size_t *len, double *score,
                 char buf[LISTPACK_INT_BUF]);

/* ZSCAN over the large encoding's map (listpack: the caller walks all). */
unsigned long zset_scan(struct zset *z, unsigned long cursor, strmap_scan_fn fn, void *arg);

/* Plain sets as ZUNION/ZINTER/ZDIFF/ZINTERCARD inputs (every score 1):
 * t_zset.c points zset_set_reader at the sets type's functions when
 * node/t_set.h exists; while it is NULL a set input answers WRONGTYPE. */
struct zset_set_reader {
    size_t (*length)(const void *set);
    int (*contains)(const void *set, const char *m, size_t len);
    void (*foreach)(const void *set, void (*fn)(const char *m, size_t len, void *arg),
                    void *arg);
};
extern const struct zset_set_reader *zset_set_reader;

/* A score as a listpack stores it and ZSCAN prints it (Redis's d2string);
 * buf holds at least 32 bytes.  Returns the length. */
size_t zset_score_text(char *buf, double d);

/* Parse a score as ZADD does ("value is not a valid float"): 0 or -1. */
int zset_parse_score(const char *s, size_t len, double *out);

#endif
