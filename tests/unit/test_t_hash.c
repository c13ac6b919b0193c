/* t_hash: the hash object over its three encodings (listpack, listpackex,
 * hashtable): set/get/delete, conversion at the limits, field expiry
 * (conditions, persist, reclaim), iteration, copy and digest equality
 * across encodings, the rewrite, and a randomized run against a naive
 * array model. */
#include <criterion/criterion.h>

#include "node/t_hash.h"
#include "core/alloc.h"
#include "node/object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct hash_limits small = {4, 8};
static const struct hash_limits big = {128, 64};

static void
set_s(void **h, const char *f, const char *v, const struct hash_limits *lim)
{
    hash_set(h, f, strlen(f), v, strlen(v), 0, lim);
}

static int
get_is(const void *h, const char *f, const char *want, long long now)
{
    struct hash_field out;
    if (!hash_get(h, f, strlen(f), now, &out)) {
        return want == NULL;
    }
    return want != NULL && out.vlen == strlen(want) && memcmp(out.value, want, out.vlen) == 0;
}

static void
digest_of(const void *h, uint64_t d[3])
{
    for (int i = 0; i < 3; i++) {
        d[i] = obj_digest_bases[i];
    }
    hash_type.digest(h, d);
}

Test(t_hash, converts_to_hashtable_past_the_field_count)
{
    void *h = hash_new();
    set_s(&h, "a", "1", &small);
    set_s(&h, "b", "2", &small);
    set_s(&h, "c", "3", &small);
    set_s(&h, "d", "4", &small);
    cr_assert_eq(hash_encoding(h), HASH_ENC_LISTPACK);
    set_s(&h, "d", "44", &small);
    cr_assert_eq(hash_encoding(h), HASH_ENC_LISTPACK, "an update adds no field");
    set_s(&h, "e", "5", &small);
    cr_assert_eq(hash_encoding(h), HASH_ENC_HASHTABLE);
    cr_assert_eq(hash_length(h), 5);
    cr_assert(get_is(h, "d", "44", 0));
    cr_assert(get_is(h, "e", "5", 0));
    hash_free(h);
}

Test(t_hash, converts_to_hashtable_past_the_value_length)
{
    void *h = hash_new();
    set_s(&h, "f", "12345678", &small);
    cr_assert_eq(hash_encoding(h), HASH_ENC_LISTPACK);
    set_s(&h, "f", "123456789", &small);
    cr_assert_eq(hash_encoding(h), HASH_ENC_HASHTABLE);
    void *g = hash_new();
    set_s(&g, "123456789", "x", &small);
    cr_assert_eq(hash_encoding(g), HASH_ENC_HASHTABLE, "a long field converts too");
    hash_free(h);
    hash_free(g);
}

Test(t_hash, integers_read_back_as_their_text)
{
    void *h = hash_new();
    set_s(&h, "1", "-9223372036854775808", &big);
    set_s(&h, "007", "12", &big);
    cr_assert(get_is(h, "1", "-9223372036854775808", 0));
    cr_assert(get_is(h, "007", "12", 0));
    cr_assert(get_is(h, "7", NULL, 0), "007 is not 7");
    hash_free(h);
}

Test(t_hash, expiry_conditions_follow_redis)
{
    void *h = hash_new();
    set_s(&h, "a", "1", &big);
    set_s(&h, "b", "2", &big);
    cr_assert_eq(hash_set_expire(&h, "zz", 2, 1000, HASH_COND_NONE, 1), -2);
    cr_assert_eq(hash_set_expire(&h, "a", 1, 1000, HASH_COND_XX, 1), 0);
    cr_assert_eq(hash_set_expire(&h, "a", 1, 1000, HASH_COND_GT, 1), 0,
                 "no expiry counts as infinite for GT");
    cr_assert_eq(hash_set_expire(&h, "a", 1, 1000, HASH_COND_LT, 1), 1);
    cr_assert_eq(hash_encoding(h), HASH_ENC_LISTPACKEX);
    cr_assert_eq(hash_set_expire(&h, "a", 1, 2000, HASH_COND_NX, 1), 0);
    cr_assert_eq(hash_set_expire(&h, "a", 1, 500, HASH_COND_GT, 1), 0);
    cr_assert_eq(hash_set_expire(&h, "a", 1, 3000, HASH_COND_GT, 1), 1);
    cr_assert_eq(hash_field_expire(h, "a", 1, 1), 3000);
    cr_assert_eq(hash_field_expire(h, "b", 1, 1), -1);
    cr_assert_eq(hash_persist(&h, "b", 1, 1), -1);
    cr_assert_eq(hash_persist(&h, "a", 1, 1), 1);
    cr_assert_eq(hash_field_expire(h, "a", 1, 1), -1);
    cr_assert_eq(hash_min_expire(h), 0);
    hash_free(h);
}

Test(t_hash, expired_fields_are_invisible_then_reclaimed)
{
    for (int enc = 0; enc < 2; enc++) {
        void *h = hash_new();
        const struct hash_limits *lim = enc ? &small : &big;
        for (int i = 0; i < 6; i++) {
            char f[8];
            snprintf(f, sizeof(f), "f%d", i);
            set_s(&h, f, "v", lim);
        }
        hash_set_expire(&h, "f1", 2, 100, HASH_COND_NONE, 1);
        hash_set_expire(&h, "f2", 2, 200, HASH_COND_NONE, 1);
        cr_assert(get_is(h, "f1", NULL, 150), "expired at 150");
        cr_assert(get_is(h, "f2", "v", 150));
        cr_assert(get_is(h, "f1", "v", 0), "now 0 applies no expiry");
        cr_assert_eq(hash_length(h), 6, "not reclaimed yet");
        cr_assert_eq(hash_reclaim(&h, 150, 0, NULL, NULL), 1);
        cr_assert_eq(hash_length(h), 5);
        cr_assert_eq(hash_min_expire(h), 200);
        cr_assert_eq(hash_reclaim(&h, 1000, 0, NULL, NULL), 1);
        cr_assert_eq(hash_min_expire(h), 0);
        cr_assert_eq(hash_length(h), 4);
        hash_free(h);
    }
}

Test(t_hash, hset_clears_a_field_ttl_unless_keepttl)
{
    void *h = hash_new();
    set_s(&h, "a", "1", &big);
    hash_set_expire(&h, "a", 1, 5000, HASH_COND_NONE, 1);
    hash_set(&h, "a", 1, "2", 1, HASH_SET_KEEPTTL, &big);
    cr_assert_eq(hash_field_expire(h, "a", 1, 1), 5000);
    hash_set(&h, "a", 1, "3", 1, 0, &big);
    cr_assert_eq(hash_field_expire(h, "a", 1, 1), -1);
    hash_free(h);
}

Test(t_hash, ttl_survives_conversion_and_copy_digests_match)
{
    void *lp = hash_new(), *ht = hash_new();
    for (int i = 0; i < 4; i++) {
        char f[8];
        snprintf(f, sizeof(f), "f%d", i);
        set_s(&lp, f, "v", &big);
        set_s(&ht, f, "v", &big);
    }
    hash_set_expire(&lp, "f2", 2, 7777, HASH_COND_NONE, 1);
    hash_set_expire(&ht, "f2", 2, 7777, HASH_COND_NONE, 1);
    hash_convert_ht(&ht);
    cr_assert_eq(hash_encoding(ht), HASH_ENC_HASHTABLE);
    cr_assert_eq(hash_field_expire(ht, "f2", 2, 1), 7777);
    uint64_t a[3], b[3], c[3];
    digest_of(lp, a);
    digest_of(ht, b);
    cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "digest independent of encoding");
    void *cp = hash_type.copy(ht);
    digest_of(cp, c);
    cr_assert_eq(memcmp(a, c, sizeof(a)), 0, "copy equal");
    hash_set_expire(&lp, "f2", 2, 8888, HASH_COND_NONE, 1);
    digest_of(lp, a);
    cr_assert_neq(memcmp(a, b, sizeof(a)), 0, "a different TTL changes the digest");
    hash_free(lp);
    hash_free(ht);
    hash_free(cp);
}

/* ---- randomized run against a naive model ---- */

#define MODEL_MAX 300

struct model {
    char field[MODEL_MAX][16];
    char value[MODEL_MAX][80];
    long long exp[MODEL_MAX];
    int used[MODEL_MAX];
};

static void
model_check(const struct model *m, const void *h, long long now)
{
    size_t live = 0;
    for (int i = 0; i < MODEL_MAX; i++) {
        int alive = m->used[i] && !(m->exp[i] != 0 && m->exp[i] <= now);
        live += alive;
        cr_assert(get_is(h, m->field[i], alive ? m->value[i] : NULL, now),
                  "field %s disagrees", m->field[i]);
        if (alive) {
            cr_assert_eq(hash_field_expire(h, m->field[i], strlen(m->field[i]), now),
                         m->exp[i] ? m->exp[i] : -1);
        }
    }
    struct hash_iter it;
    struct hash_field f;
    size_t n = 0;
    hash_iter_init(&it, h, now);
    while (hash_iter_next(&it, &f)) {
        n++;
    }
    hash_iter_done(&it);
    cr_assert_eq(n, live, "iteration sees %zu live fields, model %zu", n, live);
}

Test(t_hash, randomized_against_a_model)
{
    srandom(1234);
    for (int round = 0; round < 20; round++) {
        struct model *m = calloc(1, sizeof(*m));
        struct hash_limits lim = {(size_t)(8 + random() % 200), (size_t)(16 + random() % 64)};
        void *h = hash_new();
        long long now = 1000;
        for (int i = 0; i < MODEL_MAX; i++) {
            snprintf(m->field[i], sizeof(m->field[i]), "%s%d", i % 3 ? "f" : "", i);
        }
        for (int op = 0; op < 3000; op++) {
            int i = (int)(random() % MODEL_MAX);
            const char *f = m->field[i];
            size_t flen = strlen(f);
            int alive = m->used[i] && !(m->exp[i] != 0 && m->exp[i] <= now);
            switch (random() % 8) {
            case 0: case 1: case 2: {
                size_t vl = (size_t)(random() % 70);
                for (size_t k = 0; k < vl; k++) {
                    m->value[i][k] = (char)('a' + random() % 26);
                }
                m->value[i][vl] = '\0';
                int added = hash_set(&h, f, flen, m->value[i], vl, 0, &lim);
                cr_assert_eq(added, !m->used[i]);
                m->used[i] = 1;
                m->exp[i] = 0;
                break;
            }
            case 3:
                cr_assert_eq(hash_delete(&h, f, flen), m->used[i]);
                m->used[i] = 0;
                break;
            case 4: {
                long long when = now + 1 + random() % 50;
                int code = hash_set_expire(&h, f, flen, when, HASH_COND_NONE, now);
                cr_assert_eq(code, alive ? 1 : -2);
                if (alive) {
                    m->exp[i] = when;
                }
                break;
            }
            case 5: {
                int code = hash_persist(&h, f, flen, now);
                cr_assert_eq(code, !alive ? -2 : m->exp[i] ? 1 : -1);
                if (alive) {
                    m->exp[i] = 0;
                }
                break;
            }
            case 6:
                now += random() % 5;
                break;
            default: {
                size_t want = 0;
                for (int k = 0; k < MODEL_MAX; k++) {
                    if (m->used[k] && m->exp[k] != 0 && m->exp[k] <= now) {
                        want++;
                        m->used[k] = 0;
                    }
                }
                cr_assert_eq(hash_reclaim(&h, now, 0, NULL, NULL), want);
                break;
            }
            }
            size_t used = 0;
            for (int k = 0; k < MODEL_MAX; k++) {
                used += m->used[k];
            }
            cr_assert_eq(hash_length(h), used);
            if (hash_encoding(h) != HASH_ENC_HASHTABLE) {
                cr_assert_leq(hash_length(h), lim.max_entries, "listpack past the limit");
            }
            if (op % 100 == 0) {
                model_check(m, h, now);
            }
        }
        model_check(m, h, now);
        hash_free(h);
        free(m);
    }
}

static void
count_field(void *arg, const struct hash_field *f)
{
    (void)f;
    (*(size_t *)arg)++;
}

Test(t_hash, scan_and_random_see_only_live_fields)
{
    void *h = hash_new();
    char f[16];
    for (int i = 0; i < 500; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        set_s(&h, f, "v", &big);
        if (i % 2 == 0) {
            hash_set_expire(&h, f, strlen(f), 100, HASH_COND_NONE, 1);
        }
    }
    cr_assert_eq(hash_encoding(h), HASH_ENC_HASHTABLE);
    size_t n = 0;
    unsigned long cursor = 0;
    do {
        cursor = hash_scan(h, cursor, 200, count_field, &n);
    } while (cursor != 0);
    cr_assert_geq(n, 250, "SCAN returns every live field (duplicates allowed)");
    struct hash_field out[64];
    size_t got = hash_random_fields(h, 200, out, 64);
    cr_assert_eq(got, 64);
    for (size_t i = 0; i < got; i++) {
        long idx = strtol(out[i].field + 1, NULL, 10);
        cr_assert_eq(idx % 2, 1, "random picked expired field %.*s",
                     (int)out[i].flen, out[i].field);
    }
    /* Everything expired: no field at all. */
    hash_reclaim(&h, 200, 0, NULL, NULL);
    for (int i = 1; i < 500; i += 2) {
        snprintf(f, sizeof(f), "f%d", i);
        hash_set_expire(&h, f, strlen(f), 300, HASH_COND_NONE, 1);
    }
    cr_assert_eq(hash_random_fields(h, 400, out, 4), 0);
    hash_free(h);
}

/* ---- inline in the key's entry ----
 * A small hash lives inside its keyspace entry; a model of a few keys is
 * driven through hash_add/hash_store and the keyspace operations that move
 * or copy an entry (TTL on/off, rename, copy, delete), checking after every
 * step that the contents match and that a small pair listpack is inline. */
#include "node/db.h"

#define INL_KEYS 6
#define INL_FIELDS 24
struct inl_key {
    int used[INL_FIELDS];
    char value[INL_FIELDS][48];
    int volatile_fields;         /* a field expiry was set: listpackex */
};

static void
inl_check(struct db *db, const char *key, const struct inl_key *m)
{
    struct entry *e = db_lookup(db, key, strlen(key), LOOKUP_NOSTATS | LOOKUP_NOTOUCH);
    size_t want = 0;
    for (int i = 0; i < INL_FIELDS; i++) {
        want += (size_t)m->used[i];
    }
    if (want == 0) {
        cr_assert_null(e, "%s should be gone", key);
        return;
    }
    cr_assert_not_null(e, "%s missing", key);
    cr_assert_eq(e->type, ENTRY_HASH);
    void *h = entry_obj(e);
    cr_assert_eq(hash_length(h), want);
    for (int i = 0; i < INL_FIELDS; i++) {
        char f[16];
        snprintf(f, sizeof(f), "f%d", i);
        cr_assert(get_is(h, f, m->used[i] ? m->value[i] : NULL, 0), "%s %s", key, f);
    }
    if (hash_encoding(h) == HASH_ENC_LISTPACK) {
        cr_assert_eq(e->enc, ENTRY_ENC_INLINE, "%s: a small listpack is inline", key);
        cr_assert_eq(db_entry_memory(e), mem_usable(e), "one block");
    } else {
        cr_assert_neq(e->enc, ENTRY_ENC_INLINE);
    }
}

Test(t_hash, inline_in_the_entry_against_a_model)
{
    struct keyspace ks;
    keyspace_init(&ks, 2);
    object_setup();
    struct hash_limits lim = {16, 40};
    struct inl_key *m = calloc(INL_KEYS, sizeof(*m));
    struct inl_key *copies = calloc(INL_KEYS, sizeof(*copies));
    srandom(20261206);
    for (int op = 0; op < 20000; op++) {
        int k = (int)(random() % INL_KEYS);
        int i = (int)(random() % INL_FIELDS);
        struct db *db = &ks.dbs[0];
        char key[16], f[16];
        snprintf(key, sizeof(key), "hash:%d", k);
        snprintf(f, sizeof(f), "f%d", i);
        struct entry **ref = db_lookup_ref(db, key, strlen(key), LOOKUP_WRITE);
        switch (random() % 10) {
        case 0: case 1: case 2: case 3: {
            /* HSET, sizes straddling the in-place rewrite and the value
             * limit (a longer value converts to hashtable). */
            size_t vl = (size_t)(random() % 44);
            char v[48];
            for (size_t b = 0; b < vl; b++) {
                v[b] = (char)('a' + random() % 26);
            }
            v[vl] = '\0';
            void *h = ref != NULL ? entry_obj(*ref) : hash_new();
            hash_set(&h, f, strlen(f), v, vl, 0, &lim);
            if (ref != NULL) {
                hash_store(db, ref, h);
            } else {
                hash_add(db, key, strlen(key), h);
            }
            m[k].used[i] = 1;
            memcpy(m[k].value[i], v, vl + 1);
            break;
        }
        case 4: case 5:
            if (ref != NULL) {
                void *h = entry_obj(*ref);
                cr_assert_eq(hash_delete(&h, f, strlen(f)), m[k].used[i]);
                hash_store(db, ref, h);
                if (hash_length(entry_obj(*ref)) == 0) {
                    db_delete_ref(db, ref);
                    memset(&m[k], 0, sizeof(m[k]));
                }
                m[k].used[i] = 0;
            }
            break;
        case 6:
            /* A key TTL on or off moves the entry to a new block. */
            if (ref != NULL) {
                db_set_expire(db, ref, (*ref)->volatile_ ? -1 : ks.now_ms + 100000);
            }
            break;
        case 7:
            /* A field expiry (far away) makes it a listpackex: not inline. */
            if (ref != NULL && m[k].used[i] && random() % 4 == 0) {
                void *h = entry_obj(*ref);
                cr_assert_eq(hash_set_expire(&h, f, strlen(f), ks.now_ms + 1000000,
                                             HASH_COND_NONE, ks.now_ms), 1);
                hash_store(db, ref, h);
            }
            break;
        case 8:
            /* RENAME to itself under a longer name and back. */
            if (ref != NULL) {
                char longer[300];
                snprintf(longer, sizeof(longer), "%s-%0280d", key, op);
                cr_assert_not_null(db_rename(db, key, strlen(key), longer, strlen(longer)));
                inl_check(db, longer, &m[k]);
                cr_assert_not_null(db_rename(db, longer, strlen(longer), key, strlen(key)));
            }
            break;
        default:
            /* COPY to db 1, then change the original: they stay apart. */
            if (ref != NULL) {
                db_delete(&ks.dbs[1], key, strlen(key));
                db_copy(&ks.dbs[1], *ref, key, strlen(key));
                copies[k] = m[k];
            }
            break;
        }
        inl_check(db, key, &m[k]);
        inl_check(&ks.dbs[1], key, &copies[k]);
    }
    free(m);
    free(copies);
    keyspace_destroy(&ks);
}
