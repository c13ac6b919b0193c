/* The keyspace hash table: lookups through an incremental rehash, and the
 * SCAN guarantee (every key present throughout a full iteration is returned)
 * while the table grows and shrinks between calls. */
#include <criterion/criterion.h>

#include "config.h"
#include "core/alloc.h"
#include "node/dict.h"
#include "node/entry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static struct entry *
make_entry(const char *key)
{
    size_t len = strlen(key);
    struct entry *e = mem_calloc(entry_size(0, len, 0));
    entry_init_lens(e, len, 0);
    memcpy(entry_key(e), key, len);
    return e;
}

static void
key_name(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "key:%d", i);
}

static void
insert_n(struct dict *d, int from, int to)
{
    char k[32];
    for (int i = from; i < to; i++) {
        key_name(k, sizeof(k), i);
        dict_insert(d, make_entry(k), dict_hash(k, strlen(k)));
    }
}

static struct entry **
find_ref(struct dict *d, int i)
{
    char k[32];
    key_name(k, sizeof(k), i);
    return dict_find_ref(d, k, strlen(k), dict_hash(k, strlen(k)));
}

static void
remove_key(struct dict *d, int i)
{
    struct entry **ref = find_ref(d, i);
    cr_assert_not_null(ref, "key:%d missing before removal", i);
    mem_free(dict_unlink(d, ref));
}

Test(dict, insert_find_and_unlink)
{
    struct dict d;
    dict_init(&d);
    cr_assert_null(find_ref(&d, 1), "empty dict finds nothing");
    insert_n(&d, 0, 100);
    cr_assert_eq(dict_size(&d), 100);
    for (int i = 0; i < 100; i++) {
        struct entry **ref = find_ref(&d, i);
        cr_assert_not_null(ref, "key:%d not found", i);
        char k[32];
        key_name(k, sizeof(k), i);
        cr_assert_eq(entry_keylen((*ref)), strlen(k));
        cr_assert_eq(memcmp(entry_key(*ref), k, strlen(k)), 0);
    }
    for (int i = 0; i < 100; i += 2) {
        remove_key(&d, i);
    }
    cr_assert_eq(dict_size(&d), 50);
    for (int i = 0; i < 100; i++) {
        if (i % 2 == 0) {
            cr_assert_null(find_ref(&d, i), "key:%d still found", i);
        } else {
            cr_assert_not_null(find_ref(&d, i), "key:%d lost", i);
        }
    }
    cr_assert_null(find_ref(&d, 1000));
    dict_clear(&d, NULL, NULL);
    cr_assert_eq(dict_size(&d), 0);
}

Test(dict, every_key_is_findable_during_an_incremental_rehash)
{
    struct dict d;
    int n = 0;
    dict_init(&d);
    /* Grow until an insert starts a rehash, then keep the dict mid-rehash. */
    while (d.rehash_idx == -1 || n < 200) {
        insert_n(&d, n, n + 1);
        n++;
    }
    cr_assert_neq(d.rehash_idx, -1, "a rehash is in progress");
    d.pause_rehash++;          /* hold it mid-way while we look */
    for (int i = 0; i < n; i++) {
        cr_assert_not_null(find_ref(&d, i), "key:%d lost mid-rehash", i);
    }
    d.pause_rehash--;
    /* Step the rehash one bucket at a time, checking every key each step. */
    int steps = 0;
    while (dict_rehash(&d, 1)) {
        if (++steps % 16 == 0) {
            d.pause_rehash++;
            for (int i = 0; i < n; i++) {
                cr_assert_not_null(find_ref(&d, i), "key:%d lost at step %d",
                                   i, steps);
            }
            d.pause_rehash--;
        }
    }
    cr_assert_eq(d.rehash_idx, -1);
    cr_assert_eq(dict_size(&d), (size_t)n);
    for (int i = 0; i < n; i++) {
        cr_assert_not_null(find_ref(&d, i));
    }
    dict_clear(&d, NULL, NULL);
}

/* Bucket arrays from 256 KiB up are mapped pages: a grown table is counted
 * once, the ones a resize left behind are not counted (they went back to
 * the kernel), and clearing the dict returns the count to where it was.
 * 100,000 keys take the table through the mapped sizes (2^15 to 2^17
 * buckets) and through a rehash that ends with the old table unmapped. */
static size_t entries_bytes;

static void
count_entry(struct entry *e, void *arg)
{
    (void)arg;
    entries_bytes += mem_usable(e);
}

Test(dict, a_resized_table_gives_its_old_buckets_back)
{
    enum { N = 100000 };
    struct dict d;
    size_t before = mem_used();
    dict_init(&d);
    /* Grow until a rehash leaves a mapped table behind. */
    int n = 0;
    while (d.rehash_idx == -1 || d.t[0].size * sizeof(struct entry *) < MEM_LARGE_MIN) {
        insert_n(&d, n, n + 1);
        n++;
    }
    void *old = d.t[0].buckets;
    insert_n(&d, n, N);
    while (dict_rehash(&d, 1000)) {
    }
#ifdef USE_JEMALLOC
    /* Its pages are no longer mapped at all (libc malloc keeps them). */
    unsigned char vec[1];
    cr_assert_eq(mincore(old, 4096, vec), -1, "the old table is still mapped");
    cr_assert_eq(errno, ENOMEM);
#else
    (void)old;
#endif
    cr_assert_eq(d.t[1].size, 0);
    cr_assert_geq(d.t[0].size * sizeof(struct entry *), MEM_LARGE_MIN,
                  "the table reached the mapped sizes");
    entries_bytes = 0;
    dict_foreach(&d, count_entry, NULL);
    size_t table = mem_used() - before - entries_bytes;
    size_t want = d.t[0].size * sizeof(struct entry *);
    /* libc malloc (sanitizer builds) may round a block up a little. */
    cr_assert(table >= want && table < want + 4096,
              "counted %zu bytes of buckets for a %zu-byte table", table, want);
    for (int i = 0; i < N; i += 997) {
        cr_assert_not_null(find_ref(&d, i), "key:%d lost", i);
    }
    dict_clear(&d, NULL, NULL);
    cr_assert_eq(mem_used(), before, "clearing gives every byte back");
}

/* SCAN bookkeeping: how often each of the first n keys was returned. */
struct seen {
    int *count;                /* owned, indexed by key number */
    int n;
};

static void
mark_seen(struct entry *e, void *arg)
{
    struct seen *s = arg;
    char k[32];
    int i;
    size_t len = entry_keylen(e) < sizeof(k) - 1 ? entry_keylen(e) : sizeof(k) - 1;
    memcpy(k, entry_key(e), len);
    k[len] = '\0';
    if (sscanf(k, "key:%d", &i) == 1 && i >= 0 && i < s->n) {
        s->count[i]++;
    }
}

Test(dict, scan_returns_every_key_while_the_table_grows)
{
    enum { KEEP = 300, MAX = 5000 };
    struct dict d;
    struct seen s = {mem_calloc(MAX * sizeof(int)), MAX};
    unsigned long cursor = 0;
    int next = KEEP, calls = 0;

    dict_init(&d);
    insert_n(&d, 0, KEEP);
    do {
        cursor = dict_scan(&d, cursor, mark_seen, &s);
        calls++;
        /* Between calls the table keeps growing, so the scan crosses
         * several resizes, some of them while a rehash is half done. */
        if (next + 20 <= MAX) {
            insert_n(&d, next, next + 20);
            next += 20;
        }
        dict_rehash(&d, 3);
    } while (cursor != 0);
    cr_assert_gt(calls, 1);
    for (int i = 0; i < KEEP; i++) {
        cr_assert_geq(s.count[i], 1, "key:%d present throughout but not returned", i);
    }
    dict_clear(&d, NULL, NULL);
    mem_free(s.count);
}

Test(dict, scan_returns_every_key_while_the_table_shrinks)
{
    enum { KEEP = 40, MAX = 4096 };
    struct dict d;
    struct seen s = {mem_calloc(MAX * sizeof(int)), MAX};
    unsigned long cursor = 0;
    int removed = KEEP, shrinks = 0;

    dict_init(&d);
    insert_n(&d, 0, MAX);
    while (dict_rehash(&d, 100)) {
    }
    do {
        cursor = dict_scan(&d, cursor, mark_seen, &s);
        /* Delete the keys not kept, a batch per call, and let the table
         * shrink (incrementally) as it empties. */
        for (int j = 0; j < 400 && removed < MAX; j++) {
            remove_key(&d, removed++);
        }
        size_t before = d.t[0].size;
        dict_maybe_shrink(&d);
        if (d.rehash_idx != -1 && d.t[1].size < before) {
            shrinks++;
        }
        dict_rehash(&d, 2);
    } while (cursor != 0);
    cr_assert_geq(shrinks, 1, "the table shrank during the scan");
    for (int i = 0; i < KEEP; i++) {
        cr_assert_geq(s.count[i], 1, "key:%d present throughout but not returned", i);
    }
    dict_clear(&d, NULL, NULL);
    mem_free(s.count);
}

Test(dict, scan_of_a_stable_table_returns_each_key_once)
{
    enum { N = 1000 };
    struct dict d;
    struct seen s = {mem_calloc(N * sizeof(int)), N};
    unsigned long cursor = 0;
    dict_init(&d);
    insert_n(&d, 0, N);
    while (dict_rehash(&d, 100)) {
    }
    do {
        cursor = dict_scan(&d, cursor, mark_seen, &s);
    } while (cursor != 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(s.count[i], 1, "key:%d returned %d times", i, s.count[i]);
    }
    dict_clear(&d, NULL, NULL);
    mem_free(s.count);
}

Test(dict, sample_returns_entries_of_the_dict)
{
    struct dict d;
    struct entry *out[16];
    dict_init(&d);
    cr_assert_eq(dict_sample(&d, out, 16), 0);
    cr_assert_null(dict_random(&d));
    insert_n(&d, 0, 1000);
    size_t got = dict_sample(&d, out, 16);
    cr_assert_eq(got, 16);
    for (size_t i = 0; i < got; i++) {
        struct entry *e = out[i];
        cr_assert_eq(dict_find(&d, entry_key(e), entry_keylen(e), dict_hash(entry_key(e), entry_keylen(e))), e,
                     "sampled entry is in the dict");
    }
    /* A single entry is always the one sampled. */
    struct dict one;
    dict_init(&one);
    insert_n(&one, 7, 8);
    struct entry *e = dict_random(&one);
    cr_assert_not_null(e);
    cr_assert_eq(e, *find_ref(&one, 7));
    dict_clear(&one, NULL, NULL);
    dict_clear(&d, NULL, NULL);
}

Test(dict, sample_covers_the_table_mid_rehash)
{
    struct dict d;
    struct entry *out[8];
    int hits[64] = {0};
    dict_init(&d);
    insert_n(&d, 0, 64);
    /* Grow so a rehash is under way, then sample repeatedly: every key
     * should come up, wherever it sits. */
    insert_n(&d, 64, 65);
    cr_assert_neq(d.rehash_idx, -1);
    dict_rehash(&d, 20);
    d.pause_rehash++;
    cr_assert_neq(d.rehash_idx, -1, "keys are split between the tables");
    for (int round = 0; round < 2000; round++) {
        size_t got = dict_sample(&d, out, 8);
        for (size_t i = 0; i < got; i++) {
            int k;
            char buf[32];
            size_t len = entry_keylen(out[i]);
            memcpy(buf, entry_key(out[i]), len);
            buf[len] = '\0';
            if (sscanf(buf, "key:%d", &k) == 1 && k < 64) {
                hits[k]++;
            }
        }
    }
    for (int i = 0; i < 64; i++) {
        cr_assert_gt(hits[i], 0, "key:%d never sampled", i);
    }
    d.pause_rehash--;
    dict_clear(&d, NULL, NULL);
}
