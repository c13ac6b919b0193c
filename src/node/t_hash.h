/* The hash type: field/value maps with optional per-field expiry.
 *
 * A hash object is ONE tagged pointer (the entry's value), so a small hash
 * costs its listpack and nothing else:
 *   tag 0  a listpack of field,value pairs          ("listpack")
 *   tag 1  a listpack of field,value,expire triplets, expire 0 = none
 *                                                    ("listpackex", as 7.4)
 *   tag 2  a struct hash_ht around a strmap, the value inline in the node
 *          and the field's expiry in aux.expire_ms   ("hashtable")
 *   tag 3  tag 0 held inline in the key's entry      ("listpack")
 * Mutators take `void **hp` and may replace *hp (listpack moves, encoding
 * conversions); the caller stores the result back with hash_store().
 *
 * Field expiry: a field whose expiry is <= now is logically gone.  Readers
 * pass `now` (0 = apply no expiry, as on a replica applying its master's
 * stream) and never see such fields; hash_reclaim() deletes them.  The
 * keyspace side (lazy reclaim on lookup, the active cycle, HDEL
 * propagation) is hash_lookup_write()/hash_active_expire() below. */
#ifndef CACHELY_NODE_T_HASH_H
#define CACHELY_NODE_T_HASH_H

#include "ds/listpack.h"
#include "ds/strmap.h"

#include <stddef.h>

struct server;
struct db;
struct entry;
struct strmap;

/* OBJECT ENCODING names. */
#define HASH_ENC_LISTPACK 0
#define HASH_ENC_LISTPACKEX 1
#define HASH_ENC_HASHTABLE 2

/* Conversion thresholds (hash-max-listpack-entries / -value). */
struct hash_limits {
    size_t max_entries;
    size_t max_value;
};

/* One field, as hash_get/the iterator hand it out.  Pointers are borrowed
 * from the object (or from ibuf/vbuf for listpack integers) and valid until
 * the next mutation. */
struct hash_field {
    const char *field;
    size_t flen;
    const char *value;
    size_t vlen;
    long long expire_ms;          /* 0 = no expiry */
    char fbuf[LISTPACK_INT_BUF];
    char vbuf[LISTPACK_INT_BUF];
};

/* ---- objects ---- */

/* A new empty hash (listpack encoding). */
void *hash_new(void);
void hash_free(void *h);
int hash_encoding(const void *h);
/* Fields held, counting expired ones not yet reclaimed (as Redis's HLEN). */
size_t hash_length(const void *h);
/* 1 when some field has an expiry (a reclaim or the active cycle may have
 * work). */
int hash_has_expiry(const void *h);
/* The earliest expiry of any field, 0 when none.  For the hashtable
 * encoding this is a lower bound (deletions do not raise it). */
long long hash_min_expire(const void *h);

/* ---- fields ---- */

/* Find field; returns 1 and fills *out, or 0 when absent or expired at
 * now. */
int hash_get(const void *h, const char *field, size_t flen, long long now,
             struct hash_field *out);
/* Flags for hash_set. */
#define HASH_SET_KEEPTTL 1        /* keep an existing field's expiry */
/* Set field to value (the field's expiry is cleared unless KEEPTTL);
 * converts to the hashtable encoding past the limits.  Returns 1 when the
 * field was added, 0 when it was updated. */
int hash_set(void **hp, const char *field, size_t flen, const char *val,
             size_t vlen, int flags, const struct hash_limits *lim);
/* Delete field; returns 1 when it was there. */
int hash_delete(void **hp, const char *field, size_t flen);
/* Would a field or value this long exceed the listpack limit? */
int hash_too_long(const struct hash_limits *lim, size_t len);
/* Convert to the hashtable encoding (no-op when already). */
void hash_convert_ht(void **hp);

/* ---- field expiry ---- */

/* Conditions of HEXPIRE & co. */
enum hash_expire_cond {
    HASH_COND_NONE, HASH_COND_NX, HASH_COND_XX, HASH_COND_GT, HASH_COND_LT,
};
/* Give a live field (at now) the expiry when_ms (> now), under cond.
 * Returns -2 (no such field), 0 (condition not met) or 1 (set). */
int hash_set_expire(void **hp, const char *field, size_t flen, long long when_ms,
                    enum hash_expire_cond cond, long long now);
/* Remove a live field's expiry: -2 no such field, -1 it had none, 1 done. */
int hash_persist(void **hp, const char *field, size_t flen, long long now);
/* The expiry of a live field: -2 no such field, -1 none, else ms. */
long long hash_field_expire(const void *h, const char *field, size_t flen,
                            long long now);
/* Delete every field expired at now (now > 0), calling fn for each before it
 * goes (fn may be NULL), at most max fields (0 = no limit).  Returns how
 * many were deleted. */
typedef void (*hash_expired_fn)(void *arg, const char *field, size_t flen);
size_t hash_reclaim(void **hp, long long now, size_t max, hash_expired_fn fn,
                    void *arg);

/* ---- iteration ---- */

struct hash_iter {
    const void *h;                /* borrowed */
    unsigned char *p;             /* listpack position */
    long long now;
    int started;
    struct strmap_iter mi;        /* hashtable encoding */
};
/* Iterate over every live field at now (0 = all).  The hash must not be
 * changed during the iteration; call hash_iter_done at the end. */
void hash_iter_init(struct hash_iter *it, const void *h, long long now);
int hash_iter_next(struct hash_iter *it, struct hash_field *out);
void hash_iter_done(struct hash_iter *it);

/* ---- random and scan ---- */

/* Fill out[0..n) with n fields picked at random, each independently (may
 * repeat); live fields only.  Returns how many (0 when none is live). */
size_t hash_random_fields(const void *h, long long now, struct hash_field *out,
                          size_t n);
/* SCAN: call fn for the live fields of the bucket(s) cursor names; returns
 * the next cursor.  Listpack encodings return everything and cursor 0. */
typedef void (*hash_scan_fn)(void *arg, const struct hash_field *f);
unsigned long hash_scan(void *h, unsigned long cursor, long long now,
                        hash_scan_fn fn, void *arg);

/* ---- keeping a hash in its entry ----
 * A small listpack hash is held inline: its listpack is the entry's value
 * (entry_obj() then names the entry; see HASH_INLINE_MAX in t_hash.c).  A
 * mutator moves an inline hash's listpack to the heap before changing its
 * size, so after changing a hash a caller puts it back with one of these
 * (never entry_set_obj()); either one takes h over. */

/* Add h as the new key in db (absent); returns the entry. */
struct entry *hash_add(struct db *db, const char *key, size_t keylen, void *h);
/* Store h, the changed hash of the entry at ref, back into it, inline when
 * it fits; the entry may move (*ref follows).  No change signal.  Returns
 * the entry (entry_obj() of it is the hash from now on). */
struct entry *hash_store(struct db *db, struct entry **ref, void *h);

/* ---- the type table ---- */

extern const struct obj_type hash_type;

/* ---- keyspace side: lazy and active reclaim ---- */

/* The field expiry clock for db: 0 while applying a master's stream (a
 * replica deletes nothing by itself and shows everything its master
 * sent), else the cached time. */
long long hash_now(const struct db *db);
/* Delete the expired fields of the hash at *ref when the keyspace may
 * delete (a master, not paused), propagating each as HDEL; deletes the key
 * when it empties.  Returns the (possibly NULL) ref. */
struct entry **hash_reclaim_entry(struct server *srv, struct db *db,
                                  struct entry **ref);
/* Note that key in db holds a hash with field expiries, the earliest at
 * min_expire ms, for the active cycle. */
void hash_track(struct db *db, const char *key, size_t keylen, long long min_expire);
/* The active cycle: reclaim expired fields of tracked hashes for at most
 * budget_us.  Returns 1 while work remains. */
int hash_active_expire(struct server *srv, long long budget_us);
/* Hook the keyspace change signal (keys renamed, moved or copied keep
 * being tracked).  Called once at startup. */
void hash_setup(struct server *srv);

#endif
