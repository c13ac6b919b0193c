/* The keyspace: numbered databases of compact entries, lazy expiry on
 * access, the active expiry cycle, LRU/LFU access bits, and the hit/miss and
 * expiry statistics.  Command handlers call these; nothing here writes
 * replies. */
#ifndef CACHELY_NODE_DB_H
#define CACHELY_NODE_DB_H

#include "core/util.h"
#include "node/dict.h"
#include "node/entry.h"
#include "node/expire.h"

#include <stddef.h>
#include <stdint.h>

struct keyspace;

struct db {
    int id;
    struct dict dict;            /* owns the entries */
    struct expire_index ttl;     /* links the volatile entries */
    size_t volatile_count;
    long double expire_sum;      /* sum of expire_ms of volatile entries (avg_ttl) */
    struct keyspace *ks;         /* borrowed: owner */
};

/* Hook for replication: called for each key the keyspace deletes by itself
 * (expiry, eviction) so the deletion can be propagated as DEL. */
typedef void (*keyspace_delete_hook_fn)(void *ctx, struct db *db,
                                        const char *key, size_t len);

/* The keyspace change signal: every mutation of a key (write, delete,
 * expiry, eviction, rename, move) and every flush or swap of a database
 * calls each listener once, before or right after the change (a listener
 * must only take note, never touch the keyspace).  WATCH, blocked clients,
 * keyspace notifications and tracking hang off it.  key is NULL for
 * KEYSPACE_FLUSHED (the whole database changed). */
enum keyspace_change {
    KEYSPACE_WRITTEN,            /* created or modified (value or TTL) */
    KEYSPACE_DELETED,            /* deleted, expired, evicted, renamed away */
    KEYSPACE_FLUSHED,            /* FLUSHDB/FLUSHALL/SWAPDB: every key */
};
typedef void (*keyspace_change_fn)(void *ctx, struct db *db, const char *key,
                                   size_t len, enum keyspace_change what);
#define KEYSPACE_MAX_LISTENERS 8

/* Events for keyspace notifications that the change signal does not tell
 * apart: a key created ("new"), expired, or evicted.  Called before an
 * expired or evicted key is deleted (the key bytes are still valid). */
enum keyspace_event {
    KEYSPACE_EV_NEW,
    KEYSPACE_EV_EXPIRED,
    KEYSPACE_EV_EVICTED,
    KEYSPACE_EV_MISS,            /* a read lookup (one counted in the stats)
                                    found nothing */
};
typedef void (*keyspace_event_fn)(void *ctx, struct db *db, const char *key,
                                  size_t len, enum keyspace_event ev);

struct keyspace {
    struct db *dbs;              /* owned array of ndb */
    int ndb;
    long long now_ms;            /* cached clock for the current command */
    struct util_clock clock;     /* what dispatch derives now_ms from */
    int lfu;                     /* the eviction policy is an LFU one */
    int lfu_log_factor;
    int lfu_decay_time;          /* minutes */
    int active_expire;           /* DEBUG SET-ACTIVE-EXPIRE */
    int is_replica;              /* replicas hide, but never delete, expired keys */
    int from_master;             /* applying our master's stream: no expiry at all */
    int paused;                  /* CLIENT PAUSE in force: like a replica, hide
                                    expired keys but never delete them */
    struct keyspace_listener {
        keyspace_change_fn fn;
        void *ctx;               /* borrowed */
        const size_t *active;    /* borrowed: the listener has work only
                                    while *active != 0 (NULL: always) */
    } listeners[KEYSPACE_MAX_LISTENERS];
    int nlisteners;
    int no_touch;                /* the running client set CLIENT NO-TOUCH */
    int free_async;              /* deletions now hand big values to lazyfree */
    int lazy_expire, lazy_evict, lazy_server_del;  /* lazyfree-lazy-* options */
    keyspace_delete_hook_fn on_delete;
    void *on_delete_ctx;         /* borrowed */
    keyspace_event_fn on_event;  /* keyspace notifications, or NULL */
    void *on_event_ctx;          /* borrowed */
    long long dirty;             /* count of keyspace changes (propagation, saves) */
    dict_expand_allowed_fn dict_expand_allowed; /* every database's dict's veto */
    void *dict_expand_arg;       /* borrowed */
    /* statistics */
    long long hits, misses;
    long long expired_keys, evicted_keys;
    long long expire_cycle_us;   /* CPU spent in active expiry */
    /* A key hash the read batch already computed for its prefetch (see
     * client.c): the lookups take it for a key at exactly hint_key with
     * hint_len bytes, instead of hashing those bytes again.  Set only
     * while that client's input runs, whose buffer holds the bytes. */
    const char *hint_key;        /* borrowed from a query buffer, or NULL */
    size_t hint_len;
    uint64_t hint_hash;
};

/* Create/destroy the databases.  keyspace_destroy frees every entry. */
void keyspace_init(struct keyspace *ks, int ndb);
/* Every database's dict (now and after a flush) asks fn before it grows. */
void keyspace_set_expand_veto(struct keyspace *ks, dict_expand_allowed_fn fn, void *arg);
void keyspace_destroy(struct keyspace *ks);
/* Refresh the cached clock; call once per command. */
void keyspace_tick(struct keyspace *ks);
/* Total keys, volatile keys. */
size_t keyspace_size(const struct keyspace *ks);

enum lookup_flags {
    LOOKUP_NOTOUCH = 1 << 0,     /* leave LRU/LFU bits alone */
    LOOKUP_NOSTATS = 1 << 1,     /* do not count a hit or miss */
    LOOKUP_WRITE = LOOKUP_NOSTATS,
    LOOKUP_NOEXPIRE = 1 << 2,    /* return logically expired entries too */
};

/* Find a key.  A logically expired key is deleted (on a master) and reported
 * missing.  Returns the link pointing at the entry (stable until the next
 * keyspace change) or NULL. */
struct entry **db_lookup_ref(struct db *db, const char *key, size_t len,
                             int flags);
static inline struct entry *
db_lookup(struct db *db, const char *key, size_t len, int flags)
{
    struct entry **ref = db_lookup_ref(db, key, len, flags);
    return ref ? *ref : NULL;
}

/* Add a listener to the change signal (at most KEYSPACE_MAX_LISTENERS).
 * active (may be NULL: always) points at the listener's count of what it
 * watches (blocked keys, WATCHed keys, tracking clients...): while it is 0
 * the listener is not called, and a write with no active listener skips
 * the signal altogether (one test per listener instead of a call each). */
void keyspace_listen(struct keyspace *ks, keyspace_change_fn fn, void *ctx,
                     const size_t *active);

/* Nonzero when some listener has work: db_signal would call one. */
static inline int
keyspace_listening(const struct keyspace *ks)
{
    for (int i = 0; i < ks->nlisteners; i++) {
        const size_t *a = ks->listeners[i].active;
        if (a == NULL || *a != 0) {
            return 1;
        }
    }
    return 0;
}
/* Fire the change signal for a key.  db_* functions fire it themselves;
 * a command that changes a collection in place (LPUSH onto an existing
 * list, HSET of a field, ...) calls db_signal_modified after the change. */
void db_signal(struct db *db, const char *key, size_t len, enum keyspace_change what);
static inline void
db_signal_modified(struct db *db, const char *key, size_t len)
{
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, len, KEYSPACE_WRITTEN);
    }
}

static inline void
db_event(struct db *db, const char *key, size_t len, enum keyspace_event ev)
{
    if (db->ks->on_event != NULL) {
        db->ks->on_event(db->ks->on_event_ctx, db, key, len, ev);
    }
}

/* Create or overwrite a string key.  expire_ms < 0 means no expiry, unless
 * keepttl keeps the existing one.  Returns the entry. */
struct entry *db_set(struct db *db, const char *key, size_t keylen,
                     const char *val, size_t vallen, long long expire_ms,
                     int keepttl);
/* For a command that builds a string result in place (BITOP): when key
 * holds a string without a TTL whose block fits vallen bytes (db_set's
 * rule for overwriting in place), mark it written (change signal, dirty,
 * access bits) and return it with a value of vallen bytes for the caller
 * to fill, old bytes left in it.  Else NULL, and nothing changed. */
struct entry *db_reuse_string(struct db *db, const char *key, size_t keylen,
                              size_t vallen);
/* Add a fresh entry for an absent key: returns the entry with a value of
 * vallen uninitialised bytes for the caller to fill. */
struct entry *db_add(struct db *db, const char *key, size_t keylen,
                     size_t vallen, long long expire_ms);
/* Add a fresh entry of a non-string type for an absent key, pointing at
 * obj (which the keyspace then owns and frees through the type's table);
 * reports the "new" keyspace event. */
struct entry *db_add_object(struct db *db, const char *key, size_t keylen,
                            unsigned type, void *obj, long long expire_ms);
/* Store obj at key, replacing whatever was there (the STORE forms:
 * SINTERSTORE, SORT ... STORE, ...); "new" is reported only when the key
 * was absent, as Redis's setKey does.  Returns the entry. */
struct entry *db_store_object(struct db *db, const char *key, size_t keylen,
                              unsigned type, void *obj);
/* Add a fresh entry of type (with enc) for an absent key whose value is
 * the vallen bytes at val (an inline object: see entry_obj()); reports the
 * "new" keyspace event and fires the change signal once the value is in. */
struct entry *db_add_value(struct db *db, const char *key, size_t keylen,
                           unsigned type, unsigned enc, const void *val,
                           size_t vallen);
/* Replace the value bytes of the entry at ref with the vallen bytes at val
 * (not pointing into the entry) and set its enc, keeping its type, key, TTL
 * and access bits; the entry may move (*ref follows).  No change signal: the
 * caller signals the change it made (db_signal_modified).  Returns it. */
struct entry *db_set_value(struct db *db, struct entry **ref, unsigned enc,
                           const void *val, size_t vallen);
/* Resize the value of the entry at ref (keeping the first
 * min(old, new) bytes); the entry may move.  Returns it. */
struct entry *db_resize_value(struct db *db, struct entry **ref, size_t vallen);
/* Set (when_ms >= 0) or clear (when_ms < 0) the expiry of the entry at ref;
 * the entry may move.  Returns it. */
struct entry *db_set_expire(struct db *db, struct entry **ref, long long when_ms);
/* Delete a key; returns 1 if it existed. */
int db_delete(struct db *db, const char *key, size_t len);
/* Delete the entry at ref. */
void db_delete_ref(struct db *db, struct entry **ref);
/* db_delete_ref without its KEYSPACE_DELETED signal, which the caller sends
 * afterwards (the evictor: what the deletion freed is measured alone, not
 * with the invalidations the signal queues to tracking clients). */
void db_delete_ref_unsignalled(struct db *db, struct entry **ref);
/* Rename key to newkey within db (RENAME): newkey is deleted first when
 * present; the entry keeps its value, TTL and access bits, and its block is
 * resized in place rather than copied.  The caller has already looked key up
 * (so a logically expired key is gone); newkey must not point into the
 * keyspace.  Returns the renamed entry, or NULL when key is absent. */
struct entry *db_rename(struct db *db, const char *key, size_t keylen,
                        const char *newkey, size_t newlen);
/* Move key from src to dst (MOVE), where the caller has checked it is
 * absent: the entry is relinked, keeping value, TTL and access bits.
 * Returns it, or NULL when key is absent from src. */
struct entry *db_move(struct db *src, struct db *dst, const char *key,
                      size_t keylen);
/* Add newkey to dst with a copy of e's value and TTL and fresh access bits
 * (COPY).  newkey must be absent from dst (the caller deletes it for
 * REPLACE); e stays valid and untouched.  Returns the new entry. */
struct entry *db_copy(struct db *dst, struct entry *e, const char *newkey,
                      size_t newlen);
/* Remove every key (FLUSHDB); returns how many. */
size_t db_flush(struct db *db);
/* The same, freeing the old table and its values in the background
 * (FLUSHDB ASYNC). */
size_t db_flush_async(struct db *db);
/* Swap the contents of two databases (SWAPDB). */
void db_swap(struct db *a, struct db *b);
/* True when the keyspace may delete a logically expired key by itself: not
 * on a replica (it waits for its master's DEL) nor during a client pause
 * (the dataset must not change).  Otherwise such keys are only hidden. */
static inline int
keyspace_deletes_expired(const struct keyspace *ks)
{
    return !ks->is_replica && !ks->paused;
}
/* True when the entry's time has come (now >= expire). */
static inline int
db_entry_expired(const struct db *db, struct entry *e)
{
    return e->volatile_ && entry_expire(e) <= db->ks->now_ms;
}
/* Memory the entry takes (its block and, for collections, its object). */
size_t db_entry_memory(struct entry *e);
/* MEMORY USAGE: the entry's block plus its share of db's bucket arrays. */
size_t db_key_memory(const struct db *db, struct entry *e);

/* Run the active expiry cycle over all databases for at most budget_us;
 * returns 1 while work remains (call again soon). */
int keyspace_active_expire(struct keyspace *ks, long long budget_us);

/* LRU/LFU: mark an access to the entry. */
void db_touch(struct keyspace *ks, struct entry *e);
/* Idle time in ms of an entry under LRU, and its LFU counter after decay. */
long long db_idle_ms(const struct keyspace *ks, struct entry *e);
unsigned db_lfu_counter(const struct keyspace *ks, struct entry *e);
/* RESTORE's IDLETIME/FREQ: under an LFU policy set the counter to freq
 * (when >= 0), else make the entry idle_s seconds idle (when >= 0). */
void db_set_access(struct keyspace *ks, struct entry *e, long long idle_s, int freq);
/* Reset the access bits of a new entry as the policy wants them. */
void db_init_access(struct keyspace *ks, struct entry *e);

#endif
