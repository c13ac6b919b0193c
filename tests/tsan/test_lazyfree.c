/* The lazy-free thread: big values, detached tables and big bucket arrays
 * are freed off the calling thread, small ones at once, and drain waits for
 * everything.
 *
 * A plain program rather than a Criterion suite because it is the test the
 * ThreadSanitizer build runs (utils/build.sh --tsan; test-all.sh
 * --sanitizers), and Criterion's runner cannot start under TSan (its
 * inheritable arena cannot be mapped).  It prints "N passed, M failed". */

#include "core/alloc.h"
#include "node/db.h"
#include "node/dict.h"
#include "node/lazyfree.h"
#include "node/object.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct blob {
    size_t n;
    char *payload;               /* owned */
};

static pthread_mutex_t freed_lock = PTHREAD_MUTEX_INITIALIZER;
static long freed;
static long freed_off_caller;
static pthread_t caller;

static void
blob_free(void *obj)
{
    struct blob *b = obj;
    pthread_mutex_lock(&freed_lock);
    freed++;
    if (!pthread_equal(pthread_self(), caller)) {
        freed_off_caller++;
    }
    pthread_mutex_unlock(&freed_lock);
    mem_free(b->payload);
    mem_free(b);
}

static size_t
blob_memory(const void *obj)
{
    return mem_usable(obj);
}

static void *
blob_copy(const void *obj)
{
    (void)obj;
    return NULL;
}

static const char *
blob_encoding(const void *obj)
{
    (void)obj;
    return "blob";
}

static size_t
blob_length(const void *obj)
{
    return ((const struct blob *)obj)->n;
}

static void
blob_digest(const void *obj, uint64_t h[3])
{
    (void)obj;
    (void)h;
}

static void
blob_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    (void)obj;
    (void)key;
    (void)keylen;
    (void)em;
}

static const struct obj_type blob_type = {
    "set", blob_free, blob_memory, blob_copy, blob_encoding, blob_length, blob_digest,
    blob_rewrite,
};

static struct blob *
blob_new(size_t n)
{
    struct blob *b = mem_alloc(sizeof(*b));
    b->n = n;
    b->payload = mem_alloc(n * 16 + 1);
    memset(b->payload, 'x', n * 16);
    return b;
}

static void
setup(void)
{
    caller = pthread_self();
    freed = freed_off_caller = 0;
    obj_register(ENTRY_SET, &blob_type);
    lazyfree_setup();
}

static void
teardown(void)
{
    lazyfree_teardown();
    obj_register(ENTRY_SET, NULL);
}

static int failures;

#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static void
small_values_are_freed_at_once(void)
{
    lazyfree_object(&blob_type, blob_new(LAZYFREE_THRESHOLD));
    pthread_mutex_lock(&freed_lock);
    CHECK_EQ(freed, 1);
    CHECK_EQ(freed_off_caller, 0);
    pthread_mutex_unlock(&freed_lock);
}

static void
big_values_are_freed_by_the_thread(void)
{
    long before = lazyfree_done();
    for (int i = 0; i < 200; i++) {
        lazyfree_object(&blob_type, blob_new(LAZYFREE_THRESHOLD + 1 + (size_t)i));
    }
    lazyfree_drain();
    CHECK_EQ(lazyfree_pending(), 0);
    CHECK_EQ(lazyfree_done() - before, 200);
    pthread_mutex_lock(&freed_lock);
    CHECK_EQ(freed, 200);
    CHECK_EQ(freed_off_caller, 200);
    pthread_mutex_unlock(&freed_lock);
}

static void
a_detached_table_and_its_values_go_to_the_thread(void)
{
    struct keyspace ks;
    keyspace_init(&ks, 1);
    for (int i = 0; i < 1000; i++) {
        char key[32];
        int n = snprintf(key, sizeof(key), "k%d", i);
        if (i % 10 == 0) {
            db_add_object(&ks.dbs[0], key, (size_t)n, ENTRY_SET, blob_new(3), -1);
        } else {
            db_set(&ks.dbs[0], key, (size_t)n, "v", 1, -1, 0);
        }
    }
    CHECK_EQ(db_flush_async(&ks.dbs[0]), 1000);
    CHECK_EQ(dict_size(&ks.dbs[0].dict), 0);
    /* The database is usable at once while the old table is freed. */
    db_set(&ks.dbs[0], "after", 5, "v", 1, -1, 0);
    lazyfree_drain();
    pthread_mutex_lock(&freed_lock);
    CHECK_EQ(freed, 100);
    CHECK_EQ(freed_off_caller, 100);
    pthread_mutex_unlock(&freed_lock);
    keyspace_destroy(&ks);
}

/* A hash table's old bucket array: from LAZYFREE_PAGES_MIN up the thread
 * gives it back (it counts as a job done), below that the caller does;
 * used memory is exact either way, while the caller allocates meanwhile. */
static void
big_arrays_are_given_back_by_the_thread(void)
{
    size_t used = mem_used();
    long before = lazyfree_done();
    char *small = mem_calloc_large(MEM_LARGE_MIN);
    char *big = mem_calloc_large(LAZYFREE_PAGES_MIN);
    memset(big, 1, LAZYFREE_PAGES_MIN);
    lazyfree_large(small, MEM_LARGE_MIN);
    CHECK_EQ(lazyfree_done(), before);
    CHECK_EQ(lazyfree_pending(), 0);
    lazyfree_large(big, LAZYFREE_PAGES_MIN);
    for (int i = 0; i < 1000; i++) {
        mem_free(mem_alloc(64 + (size_t)i));
    }
    lazyfree_drain();
    CHECK_EQ(lazyfree_done() - before, 1);
    CHECK_EQ(mem_used(), used);
}

int
main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"small_values_are_freed_at_once", small_values_are_freed_at_once},
        {"big_values_are_freed_by_the_thread", big_values_are_freed_by_the_thread},
        {"a_detached_table_and_its_values_go_to_the_thread",
         a_detached_table_and_its_values_go_to_the_thread},
        {"big_arrays_are_given_back_by_the_thread", big_arrays_are_given_back_by_the_thread},
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int before = failures;
        setup();
        cases[i].fn();
        teardown();
        if (failures == before) {
            passed++;
            printf("ok   lazyfree %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL lazyfree %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
