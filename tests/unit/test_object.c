/* The object layer's pieces that need no server: the batching command
 * emitter (bounded commands for snapshots), fingerprints that do not
 * depend on element order, a toy type going through db.c (free on delete,
 * overwrite and flush; copy; the change signal), and movable key finding. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/status.h"
#include "node/db.h"
#include "node/object.h"

#include <stdio.h>
#include <string.h>

/* ---- the emitter ---------------------------------------------------------- */

struct sink {
    char buf[1 << 20];
    size_t len;
};

static void
sink_write(void *arg, const char *p, size_t len)
{
    struct sink *s = arg;
    cr_assert_lt(s->len + len, sizeof(s->buf));
    memcpy(s->buf + s->len, p, len);
    s->len += len;
}

/* How many commands (top-level arrays) the RESP text holds, and the largest
 * argument count among them. */
static size_t
count_commands(const char *p, size_t len, long *max_argc)
{
    struct resp_parser parser;
    size_t n = 0, off = 0;
    resp_parser_init(&parser);
    *max_argc = 0;
    while (off < len) {
        int rc = resp_parser_next(&parser, p + off, len - off);
        cr_assert_eq(rc, STATUS_OK, "unparsable emitter output at %zu", off);
        if ((long)parser.argc > *max_argc) {
            *max_argc = (long)parser.argc;
        }
        off += parser.consumed;
        n++;
    }
    resp_parser_free(&parser);
    return n;
}

static struct sink sink;

Test(object, emitter_cuts_batches_of_items)
{
    struct obj_emitter em;
    long max_argc;
    sink.len = 0;
    obj_emitter_init(&em, sink_write, &sink);
    obj_emit_begin(&em, "HSET", "h", 1);
    for (int i = 0; i < 300; i++) {
        obj_emit_arg_ll(&em, i);
        obj_emit_arg(&em, "v", 1);
        obj_emit_item_end(&em);
    }
    obj_emit_end(&em);
    obj_emitter_release(&em);
    /* 300 pairs: two full batches of 128 and one of 44. */
    cr_assert_eq(count_commands(sink.buf, sink.len, &max_argc), 3);
    cr_assert_eq(max_argc, 2 + 2 * OBJ_REWRITE_BATCH);
    cr_assert(strncmp(sink.buf, "*258\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\n0\r\n", 30) == 0);
}

Test(object, emitter_cuts_on_bytes_without_splitting_an_item)
{
    struct obj_emitter em;
    long max_argc;
    static char big[40000];
    memset(big, 'x', sizeof(big));
    sink.len = 0;
    obj_emitter_init(&em, sink_write, &sink);
    obj_emit_begin(&em, "ZADD", "z", 1);
    for (int i = 0; i < 5; i++) {
        obj_emit_arg(&em, "1", 1);
        obj_emit_arg(&em, big, sizeof(big));
        obj_emit_item_end(&em);
    }
    obj_emit_end(&em);
    obj_emitter_release(&em);
    /* Each command stays near OBJ_REWRITE_BYTES and holds whole pairs. */
    size_t n = count_commands(sink.buf, sink.len, &max_argc);
    cr_assert_geq(n, 3);
    cr_assert_eq((max_argc - 2) % 2, 0);
}

Test(object, emitter_writes_nothing_for_no_items)
{
    struct obj_emitter em;
    sink.len = 0;
    obj_emitter_init(&em, sink_write, &sink);
    obj_emit_begin(&em, "SADD", "s", 1);
    obj_emit_end(&em);
    obj_emitter_release(&em);
    cr_assert_eq(sink.len, 0);
}

Test(object, double_text_reads_back_exactly)
{
    char buf[32];
    double vals[] = {0.1, 1.0 / 3, -2.5e-300, 1e308, 3.0};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        obj_double_str(buf, vals[i]);
        cr_assert_eq(strtod(buf, NULL), vals[i], "%s", buf);
    }
    obj_double_str(buf, 1.0 / 0.0);
    cr_assert_str_eq(buf, "inf");
    obj_double_str(buf, -1.0 / 0.0);
    cr_assert_str_eq(buf, "-inf");
}

Test(object, unordered_digest_ignores_order)
{
    uint64_t a[3] = {0, 0, 0}, b[3] = {0, 0, 0}, o1[3] = {0, 0, 0}, o2[3] = {0, 0, 0};
    obj_digest_unordered(a, "x", 1, "1", 1);
    obj_digest_unordered(a, "y", 1, "2", 1);
    obj_digest_unordered(b, "y", 1, "2", 1);
    obj_digest_unordered(b, "x", 1, "1", 1);
    cr_assert(memcmp(a, b, sizeof(a)) == 0);
    obj_digest_ordered(o1, "x", 1, NULL, 0);
    obj_digest_ordered(o1, "y", 1, NULL, 0);
    obj_digest_ordered(o2, "y", 1, NULL, 0);
    obj_digest_ordered(o2, "x", 1, NULL, 0);
    cr_assert(memcmp(o1, o2, sizeof(o1)) != 0);
    /* Splitting an element differently is a different element. */
    uint64_t s1[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    obj_digest_unordered(s1, "ab", 2, "c", 1);
    obj_digest_unordered(s2, "a", 1, "bc", 2);
    cr_assert(memcmp(s1, s2, sizeof(s1)) != 0);
}

/* ---- a toy type through the keyspace ------------------------------------- */

static int toy_frees;

struct toy {
    size_t n;
};

static void
toy_free(void *obj)
{
    toy_frees++;
    mem_free(obj);
}

static size_t
toy_memory(const void *obj)
{
    return mem_usable(obj);
}

static void *
toy_copy(const void *obj)
{
    struct toy *t = mem_alloc(sizeof(*t));
    *t = *(const struct toy *)obj;
    return t;
}

static const char *
toy_encoding(const void *obj)
{
    (void)obj;
    return "toy";
}

static size_t
toy_length(const void *obj)
{
    return ((const struct toy *)obj)->n;
}

static void
toy_digest(const void *obj, uint64_t h[3])
{
    obj_digest_ordered(h, obj, sizeof(struct toy), NULL, 0);
}

static void
toy_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    (void)obj;
    obj_emit_begin(em, "RPUSH", key, keylen);
    obj_emit_arg(em, "a", 1);
    obj_emit_item_end(em);
}

static const struct obj_type toy_type = {
    "list", toy_free, toy_memory, toy_copy, toy_encoding, toy_length, toy_digest,
    toy_rewrite,
};

static struct keyspace ks;
static int signals[3];

static void
count_signal(void *ctx, struct db *db, const char *key, size_t len,
             enum keyspace_change what)
{
    (void)ctx;
    (void)db;
    (void)key;
    (void)len;
    signals[what]++;
}

static void
setup(void)
{
    keyspace_init(&ks, 2);
    obj_register(ENTRY_LIST, &toy_type);
    toy_frees = 0;
    memset(signals, 0, sizeof(signals));
    keyspace_listen(&ks, count_signal, NULL, NULL);
}

static void
teardown(void)
{
    keyspace_destroy(&ks);
    obj_register(ENTRY_LIST, NULL);
}

static struct entry *
add_toy(struct db *db, const char *key)
{
    struct toy *t = mem_alloc(sizeof(*t));
    t->n = 3;
    return db_add_object(db, key, strlen(key), ENTRY_LIST, t, -1);
}

Test(object, collection_is_freed_on_delete_overwrite_and_flush, .init = setup,
     .fini = teardown)
{
    struct db *db = &ks.dbs[0];
    add_toy(db, "a");
    add_toy(db, "b");
    add_toy(db, "c");
    cr_assert_eq(db_delete(db, "a", 1), 1);
    cr_assert_eq(toy_frees, 1);
    db_set(db, "b", 1, "str", 3, -1, 0);
    cr_assert_eq(toy_frees, 2);
    struct entry *e = db_lookup(db, "b", 1, LOOKUP_NOSTATS);
    cr_assert_eq(e->type, ENTRY_STRING);
    cr_assert_str_eq(obj_type_name(e), "string");
    db_flush(db);
    cr_assert_eq(toy_frees, 3);
}

Test(object, copy_is_deep_and_rename_keeps_the_object, .init = setup, .fini = teardown)
{
    struct db *db = &ks.dbs[0];
    struct entry *e = add_toy(db, "a");
    void *obj = entry_obj(e);
    struct entry *c = db_copy(&ks.dbs[1], e, "a2", 2);
    cr_assert_neq(entry_obj(c), obj);
    cr_assert_eq(c->type, ENTRY_LIST);
    e = db_rename(db, "a", 1, "z", 1);
    cr_assert_eq(entry_obj(e), obj);
    cr_assert_eq(toy_frees, 0);
    cr_assert_str_eq(obj_type_name(e), "list");
    cr_assert_gt(db_entry_memory(e), mem_usable(e));
}

Test(object, every_mutation_fires_the_change_signal, .init = setup, .fini = teardown)
{
    struct db *db = &ks.dbs[0];
    add_toy(db, "a");
    cr_assert_eq(signals[KEYSPACE_WRITTEN], 1);
    db_signal_modified(db, "a", 1);
    cr_assert_eq(signals[KEYSPACE_WRITTEN], 2);
    db_rename(db, "a", 1, "b", 1);
    cr_assert_eq(signals[KEYSPACE_DELETED], 1);
    cr_assert_eq(signals[KEYSPACE_WRITTEN], 3);
    db_delete(db, "b", 1);
    cr_assert_eq(signals[KEYSPACE_DELETED], 2);
    db_set(db, "s", 1, "v", 1, -1, 0);
    db_flush(db);
    cr_assert_eq(signals[KEYSPACE_FLUSHED], 1);
}

Test(object, type_names_for_scan)
{
    obj_register(ENTRY_LIST, &toy_type);
    cr_assert_eq(obj_type_by_name("LIST", 4), ENTRY_LIST);
    cr_assert_eq(obj_type_by_name("string", 6), ENTRY_STRING);
    cr_assert_eq(obj_type_by_name("nosuch", 6), -1);
    obj_register(ENTRY_LIST, NULL);
}
