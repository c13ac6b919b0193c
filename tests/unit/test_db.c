/* Keyspace operations on compact entries: overwrite in place, resizing and
 * TTL changes that move entries, lazy and active expiry, flush, swap, and
 * the rename/move/copy helpers.  The clock (ks.now_ms) is set by hand
 * except where the active cycle reads the real one. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "core/util.h"
#include "node/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct keyspace ks;

static void
setup(void)
{
    keyspace_init(&ks, 4);
}

static void
teardown(void)
{
    keyspace_destroy(&ks);
}

TestSuite(db, .init = setup, .fini = teardown);

static struct entry *
set(struct db *db, const char *key, const char *val, long long expire_ms)
{
    return db_set(db, key, strlen(key), val, strlen(val), expire_ms, 0);
}

static struct entry *
get(struct db *db, const char *key)
{
    return db_lookup(db, key, strlen(key), LOOKUP_NOSTATS | LOOKUP_NOTOUCH);
}

static void
assert_value(struct db *db, const char *key, const char *val)
{
    struct entry *e = get(db, key);
    cr_assert_not_null(e, "%s missing", key);
    cr_assert_eq(entry_vallen(e), strlen(val), "%s has the wrong length", key);
    cr_assert_eq(memcmp(entry_val(e), val, entry_vallen(e)), 0, "%s has the wrong value", key);
}

/* Entries linked from db's TTL wheel, counted by walking every slot. */
static size_t
ttl_linked(struct db *db)
{
    size_t n = 0;
    for (size_t s = 0; s < EXPIRE_SLOTS; s++) {
        struct entry **pp = &db->ttl.slots[s];
        for (struct entry *e = *pp; e; e = entry_ttl(e)->ttl_next) {
            cr_assert_eq(entry_ttl(e)->ttl_pprev, pp, "back link is stale");
            pp = &entry_ttl(e)->ttl_next;
            n++;
        }
    }
    return n;
}

Test(db, set_then_lookup_and_overwrite)
{
    struct db *db = &ks.dbs[0];
    set(db, "k", "v1", -1);
    assert_value(db, "k", "v1");
    set(db, "k", "a much longer second value", -1);
    assert_value(db, "k", "a much longer second value");
    cr_assert_eq(dict_size(&db->dict), 1);
    cr_assert_null(get(db, "other"));
}

Test(db, same_size_overwrite_reuses_the_block)
{
    struct db *db = &ks.dbs[0];
    struct entry *a = set(db, "key", "0123456789", -1);
    struct entry *b = set(db, "key", "abcdefghij", -1);
    cr_assert_eq(a, b, "overwrite in place");
    assert_value(db, "key", "abcdefghij");
    /* Also for a volatile entry, whose TTL is replaced. */
    long long t = ks.now_ms + 10000;
    a = set(db, "vol", "0123456789", t);
    b = set(db, "vol", "abcdefghij", t + 5000);
    cr_assert_eq(a, b);
    cr_assert_eq(entry_expire(b), t + 5000);
    cr_assert_eq(db->volatile_count, 1);
    cr_assert_eq(ttl_linked(db), 1);
}

Test(db, lookups_count_hits_and_misses)
{
    struct db *db = &ks.dbs[0];
    set(db, "k", "v", -1);
    db_lookup(db, "k", 1, 0);
    db_lookup(db, "nope", 4, 0);
    db_lookup(db, "k", 1, LOOKUP_NOSTATS);
    cr_assert_eq(ks.hits, 1);
    cr_assert_eq(ks.misses, 1);
}

/* The read batch's hash hint (client.c) holds for the bytes at hint_key
 * only: the same key elsewhere is hashed afresh, and a lookup at hint_key
 * takes the hint as given (here a wrong one, to show it is taken). */
Test(db, the_key_hash_hint_applies_to_its_own_bytes_only)
{
    struct db *db = &ks.dbs[0];
    char in_qbuf[] = "key:1", elsewhere[] = "key:1";
    set(db, "key:1", "v", -1);
    ks.hint_key = in_qbuf;
    ks.hint_len = 5;
    ks.hint_hash = dict_hash("key:1", 5);
    cr_assert_not_null(db_lookup(db, in_qbuf, 5, 0));
    ks.hint_hash = ~dict_hash("key:1", 5);
    cr_assert_not_null(db_lookup(db, elsewhere, 5, 0));
    cr_assert_null(db_lookup(db, in_qbuf, 5, 0));
    ks.hint_key = NULL;
    cr_assert_not_null(db_lookup(db, in_qbuf, 5, 0));
}

Test(db, resize_keeps_the_prefix_and_ttl_links)
{
    struct db *db = &ks.dbs[0];
    long long t = ks.now_ms + 60000;
    set(db, "other", "x", t);
    set(db, "k", "hello", t);
    set(db, "third", "y", t);
    struct entry **ref = db_lookup_ref(db, "k", 1, LOOKUP_NOSTATS);
    struct entry *e = db_resize_value(db, ref, 5000);
    memset(entry_val(e) + 5, 'z', 4995);
    struct entry *found = get(db, "k");
    cr_assert_eq(found, e);
    cr_assert_eq(entry_vallen(found), 5000);
    cr_assert_eq(memcmp(entry_val(found), "hellozz", 7), 0);
    cr_assert_eq(entry_expire(found), t);
    cr_assert_eq(ttl_linked(db), 3, "a moved entry stays in the TTL wheel");
    ref = db_lookup_ref(db, "k", 1, LOOKUP_NOSTATS);
    e = db_resize_value(db, ref, 2);
    cr_assert_eq(entry_vallen(e), 2);
    cr_assert_eq(memcmp(entry_val(e), "he", 2), 0);
    cr_assert_eq(ttl_linked(db), 3);
}

Test(db, set_and_clear_expire_move_the_entry)
{
    struct db *db = &ks.dbs[0];
    long long t = ks.now_ms + 5000;
    set(db, "k", "value", -1);
    struct entry **ref = db_lookup_ref(db, "k", 1, LOOKUP_NOSTATS);
    struct entry *e = db_set_expire(db, ref, t);
    cr_assert(e->volatile_);
    cr_assert_eq(entry_expire(e), t);
    cr_assert_eq(db->volatile_count, 1);
    cr_assert_eq(ttl_linked(db), 1);
    assert_value(db, "k", "value");
    /* Changing the time of a volatile entry keeps it where it is. */
    ref = db_lookup_ref(db, "k", 1, LOOKUP_NOSTATS);
    cr_assert_eq(db_set_expire(db, ref, t + 1), e);
    cr_assert_eq(db->volatile_count, 1);
    ref = db_lookup_ref(db, "k", 1, LOOKUP_NOSTATS);
    e = db_set_expire(db, ref, -1);
    cr_assert(!e->volatile_);
    cr_assert_eq(entry_expire(e), -1);
    cr_assert_eq(db->volatile_count, 0);
    cr_assert_eq(ttl_linked(db), 0);
    assert_value(db, "k", "value");
}

Test(db, logically_expired_key_is_deleted_on_lookup)
{
    struct db *db = &ks.dbs[0];
    long long t = ks.now_ms + 100;
    set(db, "k", "v", t);
    cr_assert_not_null(get(db, "k"));
    ks.now_ms = t;
    cr_assert_null(get(db, "k"));
    cr_assert_eq(dict_size(&db->dict), 0);
    cr_assert_eq(db->volatile_count, 0);
    cr_assert_eq(ks.expired_keys, 1);
}

Test(db, replica_hides_but_keeps_expired_keys)
{
    struct db *db = &ks.dbs[0];
    long long t = ks.now_ms + 100;
    set(db, "k", "v", t);
    ks.is_replica = 1;
    ks.now_ms = t + 1;
    cr_assert_null(get(db, "k"));
    cr_assert_eq(dict_size(&db->dict), 1);
    cr_assert_not_null(db_lookup(db, "k", 1, LOOKUP_NOEXPIRE | LOOKUP_NOSTATS));
}

struct deleted {
    int n;
    char last[16];
};

static void
on_delete(void *ctx, struct db *db, const char *key, size_t len)
{
    struct deleted *d = ctx;
    (void)db;
    d->n++;
    memcpy(d->last, key, len < 15 ? len : 15);
    d->last[len < 15 ? len : 15] = '\0';
}

Test(db, active_expiry_deletes_due_keys_and_reports_them)
{
    struct db *db = &ks.dbs[1];
    struct deleted d = {0};
    ks.on_delete = on_delete;
    ks.on_delete_ctx = &d;
    keyspace_tick(&ks);
    set(db, "soon", "v", ks.now_ms + 10);
    set(db, "later", "v", ks.now_ms + 3600 * 1000);
    set(db, "never", "v", -1);
    /* The slot of "soon" is walked once its 64 ms window has passed. */
    long long deadline = util_mstime() + 2000;
    while (dict_size(&db->dict) == 3 && util_mstime() < deadline) {
        usleep(20 * 1000);
        keyspace_active_expire(&ks, 100000);
    }
    cr_assert_eq(dict_size(&db->dict), 2);
    cr_assert_null(db_lookup(db, "soon", 4, LOOKUP_NOEXPIRE));
    cr_assert_not_null(get(db, "later"));
    cr_assert_eq(d.n, 1);
    cr_assert_str_eq(d.last, "soon");
    cr_assert_eq(ks.expired_keys, 1);
}

Test(db, delete_and_flush)
{
    struct db *db = &ks.dbs[0];
    set(db, "a", "1", -1);
    set(db, "b", "2", ks.now_ms + 10000);
    set(db, "c", "3", -1);
    cr_assert_eq(db_delete(db, "a", 1), 1);
    cr_assert_eq(db_delete(db, "a", 1), 0);
    cr_assert_eq(db_flush(db), 2);
    cr_assert_eq(dict_size(&db->dict), 0);
    cr_assert_eq(db->volatile_count, 0);
    cr_assert_eq(ttl_linked(db), 0);
    /* The db works as new afterwards. */
    set(db, "d", "4", ks.now_ms + 10000);
    assert_value(db, "d", "4");
    cr_assert_eq(ttl_linked(db), 1);
}

Test(db, swap_exchanges_keys_and_ttls)
{
    struct db *a = &ks.dbs[0], *b = &ks.dbs[1];
    long long t = ks.now_ms + 10000;
    set(a, "in_a", "1", t);
    set(a, "a2", "1", -1);
    set(b, "in_b", "2", -1);
    db_swap(a, b);
    cr_assert_eq(a->id, 0, "ids stay with the slots");
    cr_assert_eq(dict_size(&a->dict), 1);
    cr_assert_eq(dict_size(&b->dict), 2);
    assert_value(a, "in_b", "2");
    assert_value(b, "in_a", "1");
    cr_assert_null(get(a, "in_a"));
    cr_assert_eq(b->volatile_count, 1);
    cr_assert_eq(a->volatile_count, 0);
    cr_assert_eq(ttl_linked(b), 1);
    /* Lazy expiry now happens in the db that holds the key. */
    ks.now_ms = t;
    cr_assert_null(get(b, "in_a"));
    cr_assert_eq(b->volatile_count, 0);
    cr_assert_eq(ttl_linked(b), 0);
}

Test(db, rename_keeps_value_ttl_and_access_bits)
{
    struct db *db = &ks.dbs[0];
    long long t = ks.now_ms + 10000;
    const char *names[] = {"k", "a much longer name for the same key", "mid"};
    struct entry *e = set(db, "src", "the value", t);
    set(db, "filler", "x", t + 1);
    e->lru = 12345;
    const char *from = "src";
    for (int i = 0; i < 3; i++) {
        e = db_rename(db, from, strlen(from), names[i], strlen(names[i]));
        cr_assert_not_null(e);
        cr_assert_null(get(db, from));
        assert_value(db, names[i], "the value");
        cr_assert_eq(entry_expire(e), t);
        cr_assert_eq(e->lru, 12345);
        cr_assert_eq(dict_size(&db->dict), 2);
        cr_assert_eq(db->volatile_count, 2);
        cr_assert_eq(ttl_linked(db), 2);
        from = names[i];
    }
    cr_assert_null(db_rename(db, "absent", 6, "x", 1));
}

Test(db, rename_replaces_the_target)
{
    struct db *db = &ks.dbs[0];
    set(db, "src", "new", -1);
    set(db, "dst", "old", ks.now_ms + 10000);
    db_rename(db, "src", 3, "dst", 3);
    assert_value(db, "dst", "new");
    cr_assert_eq(entry_expire(get(db, "dst")), -1);
    cr_assert_eq(dict_size(&db->dict), 1);
    cr_assert_eq(db->volatile_count, 0);
    cr_assert_eq(ttl_linked(db), 0);
}

Test(db, move_relinks_the_entry_with_its_ttl)
{
    struct db *a = &ks.dbs[0], *b = &ks.dbs[2];
    long long t = ks.now_ms + 10000;
    struct entry *e = set(a, "k", "v", t);
    struct entry *m = db_move(a, b, "k", 1);
    cr_assert_eq(m, e, "moved, not copied");
    cr_assert_null(get(a, "k"));
    assert_value(b, "k", "v");
    cr_assert_eq(a->volatile_count, 0);
    cr_assert_eq(b->volatile_count, 1);
    cr_assert_eq(ttl_linked(a), 0);
    cr_assert_eq(ttl_linked(b), 1);
    cr_assert_null(db_move(a, b, "k", 1));
}

Test(db, copy_is_independent_of_the_source)
{
    struct db *a = &ks.dbs[0], *b = &ks.dbs[1];
    long long t = ks.now_ms + 10000;
    struct entry *e = set(a, "k", "v", t);
    struct entry *c = db_copy(b, e, "k2", 2);
    cr_assert_neq(c, e);
    assert_value(b, "k2", "v");
    cr_assert_eq(entry_expire(c), t);
    cr_assert_eq(b->volatile_count, 1);
    db_delete(a, "k", 1);
    assert_value(b, "k2", "v");
    /* Same db, no TTL. */
    e = set(a, "p", "persistent", -1);
    c = db_copy(a, e, "p2", 2);
    assert_value(a, "p2", "persistent");
    assert_value(a, "p", "persistent");
    cr_assert_eq(entry_expire(c), -1);
}

Test(db, key_memory_counts_the_block_and_a_bucket_share)
{
    struct db *db = &ks.dbs[0];
    struct entry *small = set(db, "s", "x", -1);
    size_t s = db_key_memory(db, small);
    cr_assert_geq(s, db_entry_memory(small) + sizeof(struct entry *));
    char big[1000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct entry *large = set(db, "l", big, -1);
    cr_assert_gt(db_key_memory(db, large), s + 900);
}

/* ---- the entry's lengths: one byte each up to 255, a 16-bit value length
 * up to 65,535, four bytes each past ---- */

Test(db, short_key_and_32_byte_value_fit_a_64_byte_block)
{
    /* The strings benchmark's key:N keys with 32-byte values: 12 + 2 +
     * 10 + 32 bytes, jemalloc's 64-byte class (80 with 32-bit lengths);
     * a 14-byte key still fits it. */
    cr_assert_eq(entry_size(0, 10, 32), 56);
    cr_assert_eq(entry_size(0, 14, 32), 60);
    cr_assert_eq(entry_size(0, 255, 255), 12 + 2 + 510);
    cr_assert_eq(entry_size(0, 256, 0), 12 + 8 + 256);
    cr_assert_eq(entry_size(1, 10, 300), 12 + 24 + 3 + 310);
    cr_assert_eq(entry_size(0, 10, 65535), 12 + 3 + 65545);
    cr_assert_eq(entry_size(0, 10, 65536), 12 + 8 + 65546);
}

Test(db, volatile_short_key_and_32_byte_value_fit_an_80_byte_block)
{
    /* bench-node's memory part: key:N with a 32-byte value and EX 3600 is
     * 12 + 24 + 2 + 10 + 32 bytes, jemalloc's 80-byte class (it was 84,
     * in the 96-byte class, with a 16-byte header holding the hash). */
    cr_assert_eq(entry_size(1, 10, 32), 80);
}

Test(db, volatile_entry_keeps_expiry_links_and_bytes_apart)
{
    /* The expiry time is split around the aligned TTL links: writing each
     * piece must leave the others, the lengths, the key and the value. */
    struct entry *e = mem_calloc(entry_size(1, 3, 5));
    e->volatile_ = 1;
    entry_init_lens(e, 3, 5);
    memcpy(entry_key(e), "abc", 3);
    memcpy(entry_val(e), "hello", 5);
    cr_assert_eq((uintptr_t)entry_ttl(e) % 8, 0, "links are 8-byte aligned");
    entry_ttl(e)->ttl_next = e;
    entry_ttl(e)->ttl_pprev = &e->next;
    long long when = 0x123456789abcLL;
    entry_set_expire(e, when);
    cr_assert_eq(entry_expire(e), when);
    entry_set_expire(e, 1700000000123LL);
    cr_assert_eq(entry_expire(e), 1700000000123LL);
    entry_set_expire(e, 0);
    cr_assert_eq(entry_expire(e), 0);
    entry_set_expire(e, when);
    cr_assert_eq(entry_ttl(e)->ttl_next, e);
    cr_assert_eq(entry_ttl(e)->ttl_pprev, &e->next);
    cr_assert_eq(entry_keylen(e), 3);
    cr_assert_eq(entry_vallen(e), 5);
    cr_assert_eq(memcmp(entry_key(e), "abc", 3), 0);
    cr_assert_eq(memcmp(entry_val(e), "hello", 5), 0);
    cr_assert_eq(entry_expire(e), when);
    mem_free(e);
}

Test(db, small_hash_listpack_inline_with_its_key_fits_a_320_byte_block)
{
    /* The hashes benchmark: hash:N keys (11 bytes) holding a 289-byte
     * listpack inline take jemalloc's 320-byte class (384 with 32-bit
     * lengths, and a separate 48-byte entry when the value was a pointer). */
    cr_assert_eq(entry_size(0, 11, 289), 315);
}

/* A reference model of a few keys whose key and value lengths cross the
 * 255-byte boundary both ways, driven through set, resize (as APPEND and
 * SETRANGE do), expire on/off, rename and delete, checked against the db
 * after every step: values, TTLs, key counts and the TTL wheel. */
#define MODEL_KEYS 24
struct model_key {
    char key[600];
    size_t keylen;               /* 0: absent */
    char *val;                   /* owned */
    size_t vallen;
    long long when;              /* -1: none */
};

static size_t
pick_len(unsigned *seed)
{
    static const size_t edges[] = {0, 1, 14, 32, 200, 254, 255, 256, 257, 300, 520};
    if (rand_r(seed) % 2) {
        return edges[rand_r(seed) % (sizeof(edges) / sizeof(edges[0]))];
    }
    return (size_t)(rand_r(seed) % 560);
}

/* Value lengths also cross the 16-bit form's 65,535-byte boundary. */
static size_t
pick_vallen(unsigned *seed)
{
    static const size_t big[] = {65535, 65536, 66000};
    if (rand_r(seed) % 8 == 0) {
        return big[rand_r(seed) % (sizeof(big) / sizeof(big[0]))];
    }
    return pick_len(seed);
}

static void
model_name(struct model_key *m, int slot, size_t len)
{
    /* Unique per slot: the slot number up front, then filler. */
    char head[16];
    int n = snprintf(head, sizeof(head), "s%02d:", slot);
    if (len < (size_t)n) {
        len = (size_t)n;
    }
    memcpy(m->key, head, (size_t)n);
    memset(m->key + n, 'k' + slot % 8, len - (size_t)n);
    m->keylen = len;
}

static void
model_check(struct db *db, struct model_key *mk)
{
    size_t present = 0, volatile_n = 0;
    for (int i = 0; i < MODEL_KEYS; i++) {
        struct model_key *m = &mk[i];
        if (m->keylen == 0) {
            continue;
        }
        present++;
        struct entry *e = db_lookup(db, m->key, m->keylen, LOOKUP_NOSTATS | LOOKUP_NOTOUCH);
        cr_assert_not_null(e, "slot %d (key %zu bytes) missing", i, m->keylen);
        cr_assert_eq(entry_keylen(e), m->keylen);
        cr_assert_eq(memcmp(entry_key(e), m->key, m->keylen), 0);
        cr_assert_eq(entry_vallen(e), m->vallen, "slot %d: value length %zu, want %zu",
                     i, entry_vallen(e), m->vallen);
        cr_assert_eq(memcmp(entry_val(e), m->val, m->vallen), 0, "slot %d: value differs", i);
        cr_assert_eq(entry_expire(e), m->when);
        cr_assert_eq(e->lens, entry_lens_for(m->keylen, m->vallen));
        cr_assert_geq(mem_usable(e), entry_size(e->volatile_, m->keylen, m->vallen));
        volatile_n += m->when >= 0;
    }
    cr_assert_eq(dict_size(&db->dict), present);
    cr_assert_eq(db->volatile_count, volatile_n);
    cr_assert_eq(ttl_linked(db), volatile_n);
}

Test(db, random_operations_across_the_length_widths_match_a_model)
{
    struct db *db = &ks.dbs[0];
    struct model_key *mk = calloc(MODEL_KEYS, sizeof(*mk));
    unsigned seed = 20261206;
    for (int step = 0; step < 6000; step++) {
        int i = (int)(rand_r(&seed) % MODEL_KEYS);
        struct model_key *m = &mk[i];
        int op = (int)(rand_r(&seed) % 6);
        if (m->keylen == 0 || op == 0) {
            /* SET, with or without a TTL. */
            size_t vallen = pick_vallen(&seed);
            long long when = rand_r(&seed) % 3 == 0 ? ks.now_ms + 100000 + step : -1;
            if (m->keylen == 0) {
                model_name(m, i, pick_len(&seed));
            }
            m->val = realloc(m->val, vallen + 1);
            for (size_t b = 0; b < vallen; b++) {
                m->val[b] = (char)('a' + (b + (size_t)step) % 26);
            }
            m->vallen = vallen;
            m->when = when;
            db_set(db, m->key, m->keylen, m->val, vallen, when, 0);
        } else if (op == 1 || op == 2) {
            /* Resize: keep the prefix, fill what grew. */
            size_t vallen = pick_vallen(&seed);
            struct entry **ref = db_lookup_ref(db, m->key, m->keylen, LOOKUP_NOSTATS);
            struct entry *e = db_resize_value(db, ref, vallen);
            m->val = realloc(m->val, vallen + 1);
            for (size_t b = m->vallen; b < vallen; b++) {
                m->val[b] = (char)('A' + b % 26);
                entry_val(e)[b] = m->val[b];
            }
            m->vallen = vallen;
        } else if (op == 3) {
            long long when = m->when >= 0 ? -1 : ks.now_ms + 50000 + step;
            struct entry **ref = db_lookup_ref(db, m->key, m->keylen, LOOKUP_NOSTATS);
            db_set_expire(db, ref, when);
            m->when = when;
        } else if (op == 4) {
            /* RENAME to a new length (same slot prefix: never collides). */
            char old[600];
            size_t oldlen = m->keylen;
            memcpy(old, m->key, oldlen);
            model_name(m, i, pick_len(&seed));
            if (m->keylen == oldlen) {
                m->key[oldlen - 1] ^= 1;
            }
            cr_assert_not_null(db_rename(db, old, oldlen, m->key, m->keylen));
        } else {
            cr_assert_eq(db_delete(db, m->key, m->keylen), 1);
            m->keylen = 0;
        }
        model_check(db, mk);
    }
    for (int i = 0; i < MODEL_KEYS; i++) {
        free(mk[i].val);
    }
    free(mk);
}

/* ---- the change signal's listeners --------------------------------------- */

static int heard;

static void
count_heard(void *ctx, struct db *db, const char *key, size_t len, enum keyspace_change what)
{
    (void)ctx;
    (void)db;
    (void)key;
    (void)len;
    (void)what;
    heard++;
}

/* A listener registered with an active count is called only while that
 * count is not 0 (nobody WATCHes, blocks or tracks: writes skip it), and
 * one registered without is always called. */
Test(db, a_listener_is_called_only_while_its_count_is_not_zero)
{
    size_t active = 0;
    heard = 0;
    keyspace_listen(&ks, count_heard, NULL, &active);
    set(&ks.dbs[0], "k", "1", -1);
    set(&ks.dbs[0], "k", "2", -1);
    cr_assert_eq(heard, 0);
    cr_assert_eq(keyspace_listening(&ks), 0);
    active = 1;
    cr_assert_neq(keyspace_listening(&ks), 0);
    set(&ks.dbs[0], "k", "3", -1);
    cr_assert_eq(heard, 1);
    active = 0;
    keyspace_listen(&ks, count_heard, NULL, NULL);
    set(&ks.dbs[0], "k", "4", -1);
    cr_assert_eq(heard, 2);
}
