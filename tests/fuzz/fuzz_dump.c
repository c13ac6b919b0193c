/* libFuzzer target for RESTORE's decoder (node/dump.c).
 *
 * The first byte of an input chooses how the rest is read:
 *   bit 0  0: as a whole payload (its own footer: most inputs stop at the
 *          version/checksum check), 1: as the body only, with a valid
 *          version-10 footer put around it so that the decoder sees it;
 *   bit 1  small conversion limits (every collection converts early);
 *   bit 2  DUMP again with rdbcompression no (else yes: LZF strings).
 * A refused payload must hold nothing afterwards (ASan/LSan see leaks).
 * An accepted one becomes a key, is DUMPed again, and that payload must
 * decode to a value with the same fingerprint (the types' DEBUG DIGEST).
 * Built by "make fuzz" with clang; the corpus (tests/fuzz/corpus/dump,
 * real redis-server 7.0 payloads and malformed ones) replays under
 * "make check" through replay_main.c. */
#include "core/alloc.h"
#include "core/util.h"
#include "node/db.h"
#include "node/dump.h"
#include "node/object.h"
#include "node/t_hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_dump: invariant failed: %s (%s:%d)\n",      \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

static int ready;

/* The value's fingerprint: the type's digest, or the bytes of a string. */
static void
fingerprint(const struct entry *e, uint64_t h[3])
{
    memcpy(h, obj_digest_bases, sizeof(uint64_t) * 3);
    if (e->type == ENTRY_STRING) {
        obj_digest_ordered(h, entry_val(e), entry_vallen(e), NULL, 0);
        return;
    }
    obj_type_of(e->type)->digest(entry_obj(e), h);
}

/* Put v in db as key, returning its entry. */
static struct entry *
add_key(struct db *db, const char *key, struct dump_value *v)
{
    struct entry *e;
    if (v->type == ENTRY_STRING) {
        e = db_set(db, key, strlen(key), v->str != NULL ? v->str : "", v->len, -1, 0);
        mem_free(v->str);
        v->str = NULL;
        return e;
    }
    if (v->type == ENTRY_HASH) {
        e = hash_add(db, key, strlen(key), v->obj);
    } else {
        e = db_add_object(db, key, strlen(key), v->type, v->obj, -1);
    }
    v->obj = NULL;
    return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        uint8_t seed[16] = {9};
        util_hash_seed(seed);
        object_setup();
        ready = 1;
    }
    if (size < 1) {
        return 0;
    }
    unsigned mode = data[0];
    data++;
    size--;
    struct dump_limits lim = {
        .list_fill = -2, .set_max_intset = 512, .zset_max_entries = 128,
        .zset_max_value = 64, .hash_max_entries = 128, .hash_max_value = 64,
    };
    if (mode & 2) {
        lim = (struct dump_limits){
            .list_fill = 2, .set_max_intset = 2, .zset_max_entries = 2,
            .zset_max_value = 4, .hash_max_entries = 2, .hash_max_value = 4,
        };
    }
    /* An exactly sized copy, so that ASan sees reads past the end. */
    size_t len = size + ((mode & 1) ? 10 : 0);
    char *p = malloc(len ? len : 1);
    FUZZ_CHECK(p != NULL);
    memcpy(p, data, size);
    if (mode & 1) {
        p[size] = DUMP_RDB_VERSION;
        p[size + 1] = 0;
        uint64_t crc = dump_crc64(0, p, size + 2);
        for (int i = 0; i < 8; i++) {
            p[size + 2 + i] = (char)(crc >> (8 * i));
        }
    }
    struct dump_value v;
    if (dump_verify(p, len) != DUMP_OK || dump_decode(p, len, &lim, &v) != DUMP_OK) {
        free(p);
        return 0;
    }
    free(p);

    struct keyspace ks;
    keyspace_init(&ks, 1);
    struct entry *e = add_key(&ks.dbs[0], "a", &v);
    uint64_t h1[3], h2[3];
    fingerprint(e, h1);
    struct rbuf out = {0};
    int rc = dump_serialize(e, !(mode & 4), &out);
    FUZZ_CHECK(rc == DUMP_OK);
    FUZZ_CHECK(dump_verify(out.p, out.len) == DUMP_OK);
    FUZZ_CHECK(dump_decode(out.p, out.len, &lim, &v) == DUMP_OK);
    e = add_key(&ks.dbs[0], "b", &v);
    fingerprint(e, h2);
    FUZZ_CHECK(memcmp(h1, h2, sizeof(h1)) == 0);
    rbuf_free(&out);
    keyspace_destroy(&ks);
    return 0;
}
