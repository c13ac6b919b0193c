/* The set type: members are binary strings, held in an intset while every
 * member is a canonical 64-bit integer and there are at most
 * set-max-intset-entries of them, else in a strmap without values (Redis
 * 7.0's "intset" and "hashtable" encodings; 7.2's "listpack" for small
 * string sets is not used, as in 7.0).  Conversion is one-way: a set never
 * goes back to an intset, as in Redis.  The command handlers (cmd_set.c)
 * call these; nothing here replies or touches the keyspace. */
#ifndef CACHELY_NODE_T_SET_H
#define CACHELY_NODE_T_SET_H

#include "ds/intset.h"
#include "ds/strmap.h"
#include "node/object.h"

#include <stddef.h>
#include <stdint.h>

enum set_encoding {
    SET_ENC_INTSET,
    SET_ENC_HASHTABLE,
};

struct set {
    int enc;                     /* enum set_encoding */
    union {
        struct intset *is;       /* owned, SET_ENC_INTSET */
        struct strmap *map;      /* owned, SET_ENC_HASHTABLE (keys only) */
    } u;
};

/* The type's table for the object layer (registered by object_setup). */
extern const struct obj_type set_obj_type;

/* One member as bytes: p points into the set (hashtable) or into buf (an
 * intset member formatted in decimal).  Valid until the set changes. */
struct set_elem {
    const char *p;
    size_t len;
    int64_t v;                   /* the value when is_int */
    int is_int;                  /* read from an intset */
    char buf[24];
};

/* 1 when len bytes at p are a canonical integer (what Redis stores in an
 * intset: no '+', no leading zeros, no "-0", no spaces), with its value. */
int set_parse_int(const char *p, size_t len, int64_t *v);

/* An empty set: an intset, or a hashtable presized for hint members when
 * ht is set.  Never NULL. */
struct set *set_create(int ht, size_t hint);
void set_destroy(struct set **sp);
struct set *set_copy(const struct set *s);
static inline size_t
set_card(const struct set *s)
{
    return s->enc == SET_ENC_INTSET ? intset_len(s->u.is) : strmap_size(s->u.map);
}
const char *set_encoding_name(const struct set *s);

/* Add a member; an intset becomes a hashtable when the member is not a
 * canonical integer or the count would pass max_intset.  Returns 1 when
 * added, 0 when already present. */
int set_add(struct set *s, const char *p, size_t len, size_t max_intset);
/* Remove a member; returns 1 when removed. */
int set_remove(struct set *s, const char *p, size_t len);
int set_contains(struct set *s, const char *p, size_t len);
/* Membership of an element read from another set (skips re-parsing). */
int set_contains_elem(struct set *s, const struct set_elem *e);
/* Convert an intset to a hashtable (no-op for a hashtable). */
void set_convert_to_hashtable(struct set *s);

/* Iteration over every member.  The set must not change in between, except
 * that set_iter_remove_current may drop a hashtable's current member. */
struct set_iter {
    struct set *s;               /* borrowed */
    size_t pos;                  /* intset position */
    struct strmap_iter mi;
};
void set_iter_init(struct set_iter *it, struct set *s);
/* The next member in *e; 0 when done. */
int set_iter_next(struct set_iter *it, struct set_elem *e);
void set_iter_done(struct set_iter *it);

/* A uniformly chosen (intset) or nearly so (hashtable) member of a
 * non-empty set. */
void set_random(struct set *s, struct set_elem *e);

/* ---- member vectors: results of pops and set algebra ---- */
struct set_vec {
    char *data;                  /* owned: member bytes, back to back */
    size_t used, cap;
    size_t *off;                 /* owned: start of member i in data */
    size_t *len;                 /* owned: length of member i */
    size_t n, ncap;
};
void set_vec_push(struct set_vec *v, const char *p, size_t len);
void set_vec_release(struct set_vec *v);

/* Remove up to count random members into out (in no particular order);
 * returns how many. */
size_t set_pop(struct set *s, size_t count, struct set_vec *out);
/* SRANDMEMBER with count: count distinct members (all when count >= card)
 * when uniq, else count independent picks (repeats allowed).  Appends to
 * out. */
void set_random_members(struct set *s, size_t count, int uniq, struct set_vec *out);

/* SSCAN: call fn on the members the cursor names and return the next
 * cursor (0 when done).  An intset returns every member at once. */
typedef void (*set_scan_fn)(const char *p, size_t len, void *arg);
unsigned long set_scan(struct set *s, unsigned long cursor, size_t count,
                       set_scan_fn fn, void *arg);
/* SPOP without count: remove one random member of s (not empty), chosen as
 * set_pop chooses, handing it to fn first (its bytes live during the call
 * only): no copy, no allocation. */
void set_pop_one(struct set *s, set_scan_fn fn, void *arg);

/* Set algebra over n sets (NULL entries are missing keys, i.e. empty).
 * The result is a new set (NULL when empty) built as Redis builds it: an
 * intset until a member or the count says otherwise.  SINTER with limit > 0
 * stops counting at limit (for SINTERCARD, with out == NULL: returns the
 * cardinality only). */
enum set_op {
    SET_OP_UNION,
    SET_OP_DIFF,
    SET_OP_INTER,
};
struct set *set_algebra(struct set **sets, size_t n, enum set_op op,
                        size_t max_intset);
size_t set_inter_card(struct set **sets, size_t n, size_t limit);

#endif
