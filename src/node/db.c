/* Keyspace operations over the compact entry: allocation, overwrite in
 * place when the block is big enough, TTL index upkeep, lazy and active
 * expiry, and the LRU/LFU access bits. */
#include "node/db.h"
#include "core/alloc.h"
#include "core/util.h"
#include "node/lazyfree.h"
#include "node/object.h"

#include <stdlib.h>
#include <string.h>

#define LRU_CLOCK_MAX ((1 << 24) - 1)
#define LFU_INIT_VAL 5

/* An empty dict for db, with the keyspace's veto on growing. */
static void
db_dict_init(struct db *db)
{
    dict_init(&db->dict);
    db->dict.expand_allowed = db->ks->dict_expand_allowed;
    db->dict.expand_arg = db->ks->dict_expand_arg;
}

void
keyspace_set_expand_veto(struct keyspace *ks, dict_expand_allowed_fn fn, void *arg)
{
    ks->dict_expand_allowed = fn;
    ks->dict_expand_arg = arg;
    for (int i = 0; i < ks->ndb; i++) {
        ks->dbs[i].dict.expand_allowed = fn;
        ks->dbs[i].dict.expand_arg = arg;
    }
}

void
keyspace_init(struct keyspace *ks, int ndb)
{
    memset(ks, 0, sizeof(*ks));
    ks->ndb = ndb;
    ks->dbs = mem_calloc((size_t)ndb * sizeof(struct db));
    ks->now_ms = util_mstime();
    ks->active_expire = 1;
    ks->lfu_log_factor = 10;
    ks->lfu_decay_time = 1;
    for (int i = 0; i < ndb; i++) {
        ks->dbs[i].id = i;
        ks->dbs[i].ks = ks;
        dict_init(&ks->dbs[i].dict);
        expire_index_init(&ks->dbs[i].ttl, ks->now_ms);
    }
}

/* dict_clear's callback: an entry and the object it points to. */
static void
entry_free_all(struct entry *e, void *arg)
{
    (void)arg;
    obj_free_entry_value(e);
    mem_free(e);
}

void
keyspace_destroy(struct keyspace *ks)
{
    for (int i = 0; i < ks->ndb; i++) {
        dict_clear(&ks->dbs[i].dict, entry_free_all, NULL);
        expire_index_free(&ks->dbs[i].ttl);
    }
    mem_free(ks->dbs);
    ks->dbs = NULL;
    ks->ndb = 0;
}

void
keyspace_tick(struct keyspace *ks)
{
    ks->now_ms = util_mstime();
}

size_t
keyspace_size(const struct keyspace *ks)
{
    size_t n = 0;
    for (int i = 0; i < ks->ndb; i++) {
        n += dict_size(&ks->dbs[i].dict);
    }
    return n;
}

/* ---- access bits ------------------------------------------------------ */

static inline uint32_t
lru_clock(const struct keyspace *ks)
{
    return (uint32_t)((ks->now_ms / 1000) & LRU_CLOCK_MAX);
}

static inline uint32_t
lfu_minutes(const struct keyspace *ks)
{
    return (uint32_t)((ks->now_ms / 60000) & 0xFFFF);
}

long long
db_idle_ms(const struct keyspace *ks, struct entry *e)
{
    uint32_t now = lru_clock(ks);
    uint32_t t = e->lru;
    long long secs = now >= t ? (long long)(now - t)
                              : (long long)(LRU_CLOCK_MAX - t + now);
    return secs * 1000;
}

unsigned
db_lfu_counter(const struct keyspace *ks, struct entry *e)
{
    uint32_t ldt = e->lru >> 8;
    unsigned counter = e->lru & 0xFF;
    uint32_t now = lfu_minutes(ks);
    uint32_t elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    if (ks->lfu_decay_time > 0) {
        uint32_t periods = elapsed / (uint32_t)ks->lfu_decay_time;
        counter = periods > counter ? 0 : counter - periods;
    }
    return counter;
}

void
db_touch(struct keyspace *ks, struct entry *e)
{
    if (!ks->lfu) {
        e->lru = lru_clock(ks);
        return;
    }
    unsigned counter = db_lfu_counter(ks, e);
    if (counter < 255) {
        /* Logarithmic increment: the higher the counter, the less likely. */
        double r = (double)random() / RAND_MAX;
        double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        double p = 1.0 / (base * ks->lfu_log_factor + 1);
        if (r < p) {
            counter++;
        }
    }
    e->lru = (lfu_minutes(ks) << 8) | counter;
}

void
db_init_access(struct keyspace *ks, struct entry *e)
{
    e->lru = ks->lfu ? (lfu_minutes(ks) << 8) | LFU_INIT_VAL : lru_clock(ks);
}

void
db_set_access(struct keyspace *ks, struct entry *e, long long idle_s, int freq)
{
    if (ks->lfu) {
        if (freq >= 0) {
            e->lru = (lfu_minutes(ks) << 8) | (uint32_t)(freq & 0xFF);
        }
        return;
    }
    if (idle_s >= 0) {
        /* As Redis: an idle time reaching past the start of the wrapping
         * clock becomes a time half a clock away. */
        long long now = lru_clock(ks);
        long long t = idle_s > now ? -1 : now - idle_s;
        if (t < 0) {
            t = (now + LRU_CLOCK_MAX / 2) % LRU_CLOCK_MAX;
        }
        e->lru = (uint32_t)t;
    }
}

/* ---- entries ---------------------------------------------------------- */

size_t
db_entry_memory(struct entry *e)
{
    return mem_usable(e) + obj_entry_value_memory(e);
}

/* ---- the change signal ------------------------------------------------- */

void
keyspace_listen(struct keyspace *ks, keyspace_change_fn fn, void *ctx,
                const size_t *active)
{
    if (ks->nlisteners < KEYSPACE_MAX_LISTENERS) {
        ks->listeners[ks->nlisteners].fn = fn;
        ks->listeners[ks->nlisteners].ctx = ctx;
        ks->listeners[ks->nlisteners].active = active;
        ks->nlisteners++;
    }
}

void
db_signal(struct db *db, const char *key, size_t len, enum keyspace_change what)
{
    struct keyspace *ks = db->ks;
    for (int i = 0; i < ks->nlisteners; i++) {
        const size_t *a = ks->listeners[i].active;
        if (a == NULL || *a != 0) {
            ks->listeners[i].fn(ks->listeners[i].ctx, db, key, len, what);
        }
    }
}

static struct entry *
entry_new(struct keyspace *ks, const char *key, size_t keylen, size_t vallen,
          int is_volatile)
{
    struct entry *e = mem_alloc(entry_size(is_volatile, keylen, vallen));
    e->next = NULL;
    e->type = ENTRY_STRING;
    e->volatile_ = is_volatile ? 1 : 0;
    e->enc = ENTRY_ENC_AUTO;
    entry_init_lens(e, keylen, vallen);
    memcpy(entry_key(e), key, keylen);
    db_init_access(ks, e);
    return e;
}

static void
ttl_link(struct db *db, struct entry *e, long long when)
{
    entry_set_expire(e, when);
    expire_index_add(&db->ttl, e);
    db->volatile_count++;
    db->expire_sum += (long double)when;
}

static void
ttl_unlink(struct db *db, struct entry *e)
{
    expire_index_remove(e);
    db->volatile_count--;
    db->expire_sum -= (long double)entry_expire(e);
    if (db->volatile_count == 0) {
        db->expire_sum = 0;
    }
}

/* Free an entry's block (not its object: a moved entry's copy points at
 * the same one). */
static void
entry_free(struct db *db, struct entry *e)
{
    if (e->volatile_) {
        ttl_unlink(db, e);
    }
    mem_free(e);
}

/* Free a collection's object, in the background when the deletion is an
 * asynchronous one (UNLINK, the lazyfree-lazy-* options) and it is big. */
static void
free_value(struct keyspace *ks, struct entry *e, int async)
{
    const struct obj_type *t = obj_type_of(e->type);
    if (t == NULL) {
        return;
    }
    if (async) {
        lazyfree_object(t, entry_obj(e));
    } else {
        t->free(entry_obj(e));
    }
    (void)ks;
}

static void
delete_ref(struct db *db, struct entry **ref, int signal)
{
    struct entry *e = dict_unlink(&db->dict, ref);
    db->ks->dirty++;
    if (signal && keyspace_listening(db->ks)) {
        db_signal(db, entry_key(e), entry_keylen(e), KEYSPACE_DELETED);
    }
    free_value(db->ks, e, db->ks->free_async);
    entry_free(db, e);
}

void
db_delete_ref(struct db *db, struct entry **ref)
{
    delete_ref(db, ref, 1);
}

void
db_delete_ref_unsignalled(struct db *db, struct entry **ref)
{
    delete_ref(db, ref, 0);
}

static void
expire_now(struct db *db, struct entry **ref)
{
    struct entry *e = *ref;
    struct keyspace *ks = db->ks;
    int saved = ks->free_async;
    ks->expired_keys++;
    db_event(db, entry_key(e), entry_keylen(e), KEYSPACE_EV_EXPIRED);
    if (ks->on_delete) {
        ks->on_delete(ks->on_delete_ctx, db, entry_key(e), entry_keylen(e));
    }
    ks->free_async = ks->lazy_expire;
    db_delete_ref(db, ref);
    ks->free_async = saved;
}

/* dict_hash, or the hash the read batch left for these very bytes. */
static inline uint64_t
key_hash(const struct keyspace *ks, const char *key, size_t len)
{
    if (key == ks->hint_key && len == ks->hint_len) {
        return ks->hint_hash;
    }
    return dict_hash(key, len);
}

struct entry **
db_lookup_ref(struct db *db, const char *key, size_t len, int flags)
{
    uint64_t h = key_hash(db->ks, key, len);
    struct entry **ref = dict_find_ref(&db->dict, key, len, h);
    struct keyspace *ks = db->ks;

    /* The master's stream is authoritative: a key it writes exists for it
     * even when our clock says its TTL has passed. */
    if (ref != NULL && !(flags & LOOKUP_NOEXPIRE) && !ks->from_master
        && db_entry_expired(db, *ref)) {
        if (keyspace_deletes_expired(ks)) {
            expire_now(db, ref);
        }
        ref = NULL;
    }
    if (ref == NULL) {
        if (!(flags & LOOKUP_NOSTATS)) {
            ks->misses++;
            db_event(db, key, len, KEYSPACE_EV_MISS);
        }
        return NULL;
    }
    if (!(flags & LOOKUP_NOSTATS)) {
        ks->hits++;
    }
    if (!(flags & LOOKUP_NOTOUCH) && !ks->no_touch) {
        db_touch(ks, *ref);
    }
    return ref;
}

/* db_add without the change signal: callers fire it once the value is in
 * place, so a listener sees the entry as it will stay. */
static struct entry *
add_quiet(struct db *db, const char *key, size_t keylen, size_t vallen,
          long long expire_ms)
{
    uint64_t h = key_hash(db->ks, key, keylen);
    db->ks->dirty++;
    if (!keyspace_deletes_expired(db->ks)) {
        /* A replica (or a paused node) hides expired keys without deleting
         * them, so "absent" to the caller may still be in the table: remove
         * it first. */
        struct entry **old = dict_find_ref(&db->dict, key, keylen, h);
        if (old != NULL) {
            db_delete_ref(db, old);
        }
    }
    struct entry *e = entry_new(db->ks, key, keylen, vallen, expire_ms >= 0);
    dict_insert(&db->dict, e, h);
    if (expire_ms >= 0) {
        ttl_link(db, e, expire_ms);
    }
    return e;
}

struct entry *
db_reuse_string(struct db *db, const char *key, size_t keylen, size_t vallen)
{
    struct entry **ref = db_lookup_ref(db, key, keylen, LOOKUP_WRITE | LOOKUP_NOTOUCH);
    struct entry *e = ref ? *ref : NULL;
    if (e == NULL || e->type != ENTRY_STRING || e->volatile_ || vallen > UINT32_MAX) {
        return NULL;
    }
    size_t need = entry_size(0, keylen, vallen);
    size_t have = mem_usable(e);
    if (need > have || need * 2 < have) {
        return NULL;
    }
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_WRITTEN);
    }
    entry_set_vallen(e, vallen);
    e->enc = ENTRY_ENC_AUTO;
    db_init_access(db->ks, e);
    return e;
}

struct entry *
db_add(struct db *db, const char *key, size_t keylen, size_t vallen,
       long long expire_ms)
{
    struct entry *e = add_quiet(db, key, keylen, vallen, expire_ms);
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_WRITTEN);
    }
    db_event(db, key, keylen, KEYSPACE_EV_NEW);
    return e;
}

static struct entry *
add_object(struct db *db, const char *key, size_t keylen, unsigned type,
           void *obj, long long expire_ms)
{
    struct entry *e = add_quiet(db, key, keylen, sizeof(obj), expire_ms);
    e->type = type;
    entry_set_obj(e, obj);
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_WRITTEN);
    }
    return e;
}

struct entry *
db_add_object(struct db *db, const char *key, size_t keylen, unsigned type,
              void *obj, long long expire_ms)
{
    struct entry *e = add_object(db, key, keylen, type, obj, expire_ms);
    db_event(db, key, keylen, KEYSPACE_EV_NEW);
    return e;
}

struct entry *
db_store_object(struct db *db, const char *key, size_t keylen, unsigned type, void *obj)
{
    int existed = db_delete(db, key, keylen);
    struct entry *e = add_object(db, key, keylen, type, obj, -1);
    if (!existed) {
        db_event(db, key, keylen, KEYSPACE_EV_NEW);
    }
    return e;
}

struct entry *
db_add_value(struct db *db, const char *key, size_t keylen, unsigned type,
             unsigned enc, const void *val, size_t vallen)
{
    struct entry *e = add_quiet(db, key, keylen, vallen, -1);
    e->type = type;
    e->enc = enc;
    memcpy(entry_val(e), val, vallen);
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_WRITTEN);
    }
    db_event(db, key, keylen, KEYSPACE_EV_NEW);
    return e;
}

struct entry *
db_set_value(struct db *db, struct entry **ref, unsigned enc, const void *val,
             size_t vallen)
{
    struct entry *e = *ref;
    size_t keylen = entry_keylen(e), oldlen = entry_vallen(e);
    size_t need = entry_size(e->volatile_, keylen, vallen);
    size_t oldsize = entry_size(e->volatile_, keylen, oldlen);
    size_t have = mem_usable(e);
    struct entry *n = e;
    if (need <= have && need * 2 >= have) {
        entry_set_vallen(e, vallen);
    } else if (need < oldsize) {
        /* Shrinking: the lengths' form may narrow, which moves the key
         * down while the block still holds the old size. */
        entry_set_vallen(e, vallen);
        n = mem_realloc(e, need);
    } else {
        /* Exact size, no growth slack: a collection held inline is rewritten
         * as a whole, not appended to byte by byte as APPEND does. */
        n = mem_realloc(e, need);
        entry_set_vallen(n, vallen);
    }
    if (n != e) {
        dict_replace_at(ref, n);
        if (n->volatile_) {
            expire_index_moved(n);
        }
    }
    memcpy(entry_val(n), val, vallen);
    n->enc = enc;
    return n;
}

struct entry *
db_set(struct db *db, const char *key, size_t keylen, const char *val,
       size_t vallen, long long expire_ms, int keepttl)
{
    uint64_t h = key_hash(db->ks, key, keylen);
    struct entry **ref = dict_find_ref(&db->dict, key, keylen, h);
    struct entry *e;
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_WRITTEN);
    }

    if (ref == NULL) {
        e = entry_new(db->ks, key, keylen, vallen, expire_ms >= 0);
        memcpy(entry_val(e), val, vallen);
        dict_insert(&db->dict, e, h);
        db_event(db, key, keylen, KEYSPACE_EV_NEW);
        if (expire_ms >= 0) {
            ttl_link(db, e, expire_ms);
        }
        return e;
    }
    e = *ref;
    if (e->type != ENTRY_STRING) {
        /* SET over another type: the old value goes, the block stays. */
        free_value(db->ks, e, db->ks->lazy_server_del);
        e->type = ENTRY_STRING;
        e->enc = ENTRY_ENC_AUTO;
    }
    if (keepttl && expire_ms < 0 && e->volatile_) {
        expire_ms = entry_expire(e);
    }
    int want_volatile = expire_ms >= 0;
    size_t need = entry_size(want_volatile, keylen, vallen);
    size_t have = mem_usable(e);
    /* Overwrite in place when the block fits and is not much too large:
     * the common cache pattern of rewriting a key with a same-size value
     * then costs no allocation at all.  (A change of the lengths' width
     * moves the old value too, so the block must hold the old size.) */
    if (want_volatile == (int)e->volatile_ && need <= have && need * 2 >= have
        && entry_lens_for(keylen, vallen) == e->lens) {
        entry_init_lens(e, keylen, vallen);
        e->enc = ENTRY_ENC_AUTO;
        memmove(entry_val(e), val, vallen);
        if (e->volatile_) {
            ttl_unlink(db, e);
            ttl_link(db, e, expire_ms);
        }
        db_init_access(db->ks, e);
        return e;
    }
    struct entry *n = entry_new(db->ks, key, keylen, vallen, want_volatile);
    memcpy(entry_val(n), val, vallen);
    n->next = e->next;
    dict_replace_at(ref, n);
    entry_free(db, e);
    if (want_volatile) {
        ttl_link(db, n, expire_ms);
    }
    return n;
}

struct entry *
db_resize_value(struct db *db, struct entry **ref, size_t vallen)
{
    struct entry *e = *ref;
    size_t keylen = entry_keylen(e), oldlen = entry_vallen(e);
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, entry_key(e), keylen, KEYSPACE_WRITTEN);
    }
    if (vallen == oldlen) {
        return e; /* INCR of a counter of as many digits: nothing moves */
    }
    size_t need = entry_size(e->volatile_, keylen, vallen);
    size_t oldsize = entry_size(e->volatile_, keylen, oldlen);
    if (need <= mem_usable(e) && (vallen >= oldlen || need * 2 >= mem_usable(e))) {
        entry_set_vallen(e, vallen);
        return e;
    }
    /* Grow geometrically so repeated APPENDs are amortised O(1). */
    size_t alloc = need;
    if (vallen > oldlen && vallen < 64 * 1024 * 1024) {
        alloc = need + need / 2;
    }
    struct entry *n;
    if (alloc < oldsize) {
        /* Shrinking: narrow the lengths (which moves the key and value
         * down) while the block still holds the old size. */
        entry_set_vallen(e, vallen);
        n = mem_realloc(e, alloc);
    } else {
        n = mem_realloc(e, alloc);
        entry_set_vallen(n, vallen);
    }
    if (n != e) {
        dict_replace_at(ref, n);
        if (n->volatile_) {
            expire_index_moved(n);
        }
    }
    return n;
}

struct entry *
db_set_expire(struct db *db, struct entry **ref, long long when_ms)
{
    struct entry *e = *ref;
    int want = when_ms >= 0;
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, entry_key(e), entry_keylen(e), KEYSPACE_WRITTEN);
    }
    if (want && e->volatile_) {
        ttl_unlink(db, e);
        ttl_link(db, e, when_ms);
        return e;
    }
    if (!want && !e->volatile_) {
        return e;
    }
    size_t keylen = entry_keylen(e), vallen = entry_vallen(e);
    struct entry *n = mem_alloc(entry_size(want, keylen, vallen));
    memcpy(n, e, ENTRY_HEADER_SIZE);
    n->volatile_ = want ? 1 : 0;
    entry_init_lens(n, keylen, vallen);
    memcpy(entry_key(n), entry_key(e), keylen + vallen);
    dict_replace_at(ref, n);
    entry_free(db, e);
    if (want) {
        ttl_link(db, n, when_ms);
    }
    return n;
}

int
db_delete(struct db *db, const char *key, size_t len)
{
    struct entry **ref = db_lookup_ref(db, key, len, LOOKUP_WRITE | LOOKUP_NOTOUCH);
    if (ref == NULL) {
        return 0;
    }
    db_delete_ref(db, ref);
    return 1;
}

struct entry *
db_rename(struct db *db, const char *key, size_t keylen, const char *newkey,
          size_t newlen)
{
    uint64_t h = dict_hash(newkey, newlen);
    db->ks->dirty++;
    struct entry **ref = dict_find_ref(&db->dict, key, keylen,
                                       dict_hash(key, keylen));
    if (ref == NULL) {
        return NULL;
    }
    struct entry *e = dict_unlink(&db->dict, ref);
    long long when = entry_expire(e);
    if (keyspace_listening(db->ks)) {
        db_signal(db, key, keylen, KEYSPACE_DELETED);
    }
    if (e->volatile_) {
        ttl_unlink(db, e);
    }
    /* Look the target up only once the source is out of the table: a find
     * may take a rehash step, which would leave the source's link stale. */
    ref = dict_find_ref(&db->dict, newkey, newlen, h);
    if (ref != NULL) {
        int saved = db->ks->free_async;
        db->ks->free_async = db->ks->lazy_server_del;
        db_delete_ref(db, ref);
        db->ks->free_async = saved;
    }
    /* The key sits between the lengths and the value, whose offsets change
     * with the key's length (and the lengths' width): build a new block.
     * Its TTL block (already unlinked) is filled by ttl_link below. */
    size_t vallen = entry_vallen(e);
    struct entry *n = mem_alloc(entry_size(e->volatile_, newlen, vallen));
    memcpy(n, e, ENTRY_HEADER_SIZE);
    entry_init_lens(n, newlen, vallen);
    memcpy(entry_key(n), newkey, newlen);
    memcpy(entry_val(n), entry_val(e), vallen);
    mem_free(e);
    e = n;
    dict_insert(&db->dict, e, h);
    if (when >= 0) {
        ttl_link(db, e, when);
    }
    if (keyspace_listening(db->ks)) {
        db_signal(db, newkey, newlen, KEYSPACE_WRITTEN);
    }
    db_event(db, newkey, newlen, KEYSPACE_EV_NEW);
    return e;
}

struct entry *
db_move(struct db *src, struct db *dst, const char *key, size_t keylen)
{
    uint64_t h = dict_hash(key, keylen);
    src->ks->dirty++;
    struct entry **ref = dict_find_ref(&src->dict, key, keylen, h);
    if (ref == NULL) {
        return NULL;
    }
    struct entry *e = dict_unlink(&src->dict, ref);
    long long when = entry_expire(e);
    if (e->volatile_) {
        ttl_unlink(src, e);
    }
    dict_insert(&dst->dict, e, h);
    if (when >= 0) {
        ttl_link(dst, e, when);
    }
    if (keyspace_listening(src->ks)) {
        db_signal(src, key, keylen, KEYSPACE_DELETED);
        db_signal(dst, key, keylen, KEYSPACE_WRITTEN);
    }
    db_event(dst, key, keylen, KEYSPACE_EV_NEW);
    return e;
}

struct entry *
db_copy(struct db *dst, struct entry *e, const char *newkey, size_t newlen)
{
    /* An inline object's bytes hold no pointers: copied as a string's. */
    const struct obj_type *t = e->enc == ENTRY_ENC_INLINE ? NULL : obj_type_of(e->type);
    struct entry *n = add_quiet(dst, newkey, newlen, entry_vallen(e), entry_expire(e));
    if (t != NULL) {
        entry_set_obj(n, t->copy(entry_obj(e)));
    } else {
        memcpy(entry_val(n), entry_val(e), entry_vallen(e));
    }
    n->type = e->type;
    n->enc = e->enc;            /* COPY keeps the encoding, as in Redis */
    if (keyspace_listening(dst->ks)) {
        db_signal(dst, newkey, newlen, KEYSPACE_WRITTEN);
    }
    /* Even over a replaced key: Redis's COPY deletes, then adds. */
    db_event(dst, newkey, newlen, KEYSPACE_EV_NEW);
    return n;
}

size_t
db_key_memory(const struct db *db, struct entry *e)
{
    const struct dict *d = &db->dict;
    size_t buckets = (d->t[0].size + d->t[1].size) * sizeof(struct entry *);
    size_t n = dict_size(d) > 0 ? dict_size(d) : 1;
    return db_entry_memory(e) + (buckets + n - 1) / n;
}

size_t
db_flush(struct db *db)
{
    size_t n = dict_size(&db->dict);
    if (n > 0) {
        db->ks->dirty++;
    }
    if (keyspace_listening(db->ks)) {
        db_signal(db, NULL, 0, KEYSPACE_FLUSHED);
    }
    dict_clear(&db->dict, entry_free_all, NULL);
    db_dict_init(db);
    expire_index_reset(&db->ttl, db->ks->now_ms);
    db->volatile_count = 0;
    db->expire_sum = 0;
    return n;
}

size_t
db_flush_async(struct db *db)
{
    size_t n = dict_size(&db->dict);
    if (n == 0) {
        return 0;
    }
    db->ks->dirty++;
    if (keyspace_listening(db->ks)) {
        db_signal(db, NULL, 0, KEYSPACE_FLUSHED);
    }
    struct dict *old = mem_alloc(sizeof(*old));
    *old = db->dict;
    db_dict_init(db);
    expire_index_reset(&db->ttl, db->ks->now_ms);
    db->volatile_count = 0;
    db->expire_sum = 0;
    lazyfree_dict(old);
    return n;
}

void
db_swap(struct db *a, struct db *b)
{
    struct db tmp = *a;
    a->ks->dirty++;
    if (keyspace_listening(a->ks)) {
        db_signal(a, NULL, 0, KEYSPACE_FLUSHED);
        db_signal(b, NULL, 0, KEYSPACE_FLUSHED);
    }
    /* The TTL lists' first elements point back at their slot heads, which
     * live in the slot arrays: swapping the arrays (pointers) keeps those
     * addresses valid.  The pending list head lives in the struct, so fix
     * its first element's back link after the swap. */
    a->dict = b->dict;
    a->ttl = b->ttl;
    a->volatile_count = b->volatile_count;
    a->expire_sum = b->expire_sum;
    b->dict = tmp.dict;
    b->ttl = tmp.ttl;
    b->volatile_count = tmp.volatile_count;
    b->expire_sum = tmp.expire_sum;
    if (a->ttl.pending) {
        entry_ttl(a->ttl.pending)->ttl_pprev = &a->ttl.pending;
    }
    if (b->ttl.pending) {
        entry_ttl(b->ttl.pending)->ttl_pprev = &b->ttl.pending;
    }
}

/* ---- active expiry ---------------------------------------------------- */

struct expire_ctx {
    struct db *db;
};

static void
active_expire_one(struct entry *e, void *arg)
{
    struct expire_ctx *ctx = arg;
    struct db *db = ctx->db;
    struct entry **ref = dict_find_ref(&db->dict, entry_key(e), entry_keylen(e),
                                       dict_hash(entry_key(e), entry_keylen(e)));
    if (ref != NULL && *ref == e) {
        expire_now(db, ref);
    } else {
        /* Cannot happen: every indexed entry is in the dict. */
        expire_index_remove(e);
    }
}

int
keyspace_active_expire(struct keyspace *ks, long long budget_us)
{
    long long start = util_monotonic_us();
    int more = 0;
    if (!ks->active_expire || !keyspace_deletes_expired(ks)) {
        return 0;
    }
    keyspace_tick(ks);
    for (int i = 0; i < ks->ndb; i++) {
        struct db *db = &ks->dbs[i];
        struct expire_ctx ctx = {db};
        long long left = budget_us - (util_monotonic_us() - start);
        if (left <= 0) {
            more = 1;
            break;
        }
        if (db->volatile_count == 0) {
            /* Nothing indexed (every slot is empty): just advance. */
            db->ttl.next_tick = ks->now_ms >> EXPIRE_SLOT_SHIFT;
            continue;
        }
        more |= expire_index_cycle(&db->ttl, ks->now_ms, left,
                                   active_expire_one, &ctx, NULL);
    }
    ks->expire_cycle_us += util_monotonic_us() - start;
    return more;
}
