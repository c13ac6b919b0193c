/* The DUMP/RESTORE codec's pieces that are easy to get wrong: Redis's
 * crc64 check value, RDB length forms at their boundaries, string integer
 * encodings, LZF decompression of a redis-server payload and of malformed
 * input, footers, and payloads decoded into values (redis-server's bytes,
 * duplicates, empty collections, truncations) and written back, streams
 * included. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "core/util.h"
#include "ds/quicklist.h"
#include "node/db.h"
#include "node/dump.h"
#include "node/object.h"
#include "node/t_set.h"

#include <string.h>

static void
setup(void)
{
    uint8_t seed[16] = {3};
    util_hash_seed(seed);
    object_setup();
}

TestSuite(dump, .init = setup);

static const struct dump_limits lim = {
    .list_fill = -2, .set_max_intset = 512, .zset_max_entries = 128,
    .zset_max_value = 64, .hash_max_entries = 128, .hash_max_value = 64,
};

/* body (type byte and value) with a version-10 footer. */
static size_t
with_footer(const char *body, size_t len, char *out)
{
    memcpy(out, body, len);
    out[len] = 10;
    out[len + 1] = 0;
    uint64_t crc = dump_crc64(0, out, len + 2);
    for (int i = 0; i < 8; i++) {
        out[len + 2 + i] = (char)(crc >> (8 * i));
    }
    return len + 10;
}

/* The decoded value v, stored in a keyspace and DUMPed again, gives
 * exactly the payload p (v's object moves into the keyspace). */
static void
assert_dumps_to(int type, struct dump_value *v, const char *p, size_t len)
{
    struct keyspace ks;
    keyspace_init(&ks, 1);
    struct entry *e = db_add_object(&ks.dbs[0], "k", 1, type, v->obj, -1);
    v->obj = NULL;
    struct rbuf out = {0};
    cr_assert_eq(dump_serialize(e, 1, &out), DUMP_OK);
    cr_assert_eq(out.len, len);
    cr_assert(memcmp(out.p, p, out.len) == 0);
    rbuf_free(&out);
    keyspace_destroy(&ks);
}

Test(dump, crc64_check_value_is_redis_s)
{
    cr_assert_eq(dump_crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
    /* Continuing a checksum equals one pass. */
    cr_assert_eq(dump_crc64(dump_crc64(0, "1234", 4), "56789", 5), 0xe9c6d914c4b8d9caULL);
}

Test(dump, lengths_round_trip_at_every_boundary)
{
    static const uint64_t v[] = {0, 63, 64, 16383, 16384, 0xffffffffULL,
                                 0x100000000ULL, UINT64_MAX};
    static const size_t sz[] = {1, 1, 2, 2, 5, 5, 9, 9};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct rbuf b = {0};
        dump_write_len(&b, v[i]);
        cr_assert_eq(b.len, sz[i], "length %llu takes %zu bytes", (unsigned long long)v[i], b.len);
        const unsigned char *p = (const unsigned char *)b.p;
        uint64_t got;
        cr_assert_eq(dump_read_len(&p, p + b.len, &got), 0);
        cr_assert_eq(got, v[i]);
        cr_assert_eq((const char *)p, b.p + b.len);
        /* One byte short is refused. */
        p = (const unsigned char *)b.p;
        if (b.len > 1) {
            cr_assert_eq(dump_read_len(&p, p + b.len - 1, &got), -1);
        }
        rbuf_free(&b);
    }
    /* 14-bit form is big-endian; 0xC0 (an encoded value) is no length. */
    const unsigned char two[] = {0x41, 0x02}, enc[] = {0xC0};
    const unsigned char *p = two;
    uint64_t got;
    cr_assert_eq(dump_read_len(&p, two + 2, &got), 0);
    cr_assert_eq(got, 0x102);
    p = enc;
    cr_assert_eq(dump_read_len(&p, enc + 1, &got), -1);
}

Test(dump, strings_use_redis_s_integer_encodings)
{
    struct {
        const char *s;
        const char *bytes;
        size_t n;
    } cases[] = {
        {"12", "\xc0\x0c", 2},
        {"-128", "\xc0\x80", 2},
        {"-300", "\xc1\xd4\xfe", 3},
        {"70000", "\xc2\x70\x11\x01\x00", 5},
        {"2147483648", "\x0a" "2147483648", 11},   /* past 32 bits */
        {"007", "\x03" "007", 4},                  /* not canonical */
        {"-0", "\x02-0", 3},
        {"", "\x00", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rbuf b = {0};
        dump_write_string(&b, cases[i].s, strlen(cases[i].s), 1);
        cr_assert_eq(b.len, cases[i].n, "%s", cases[i].s);
        cr_assert(memcmp(b.p, cases[i].bytes, b.len) == 0, "%s", cases[i].s);
        rbuf_free(&b);
    }
}

Test(dump, writes_long_strings_lzf_compressed_as_redis)
{
    /* redis-server 7.0's bytes (rdbcompression yes) for runs of 'a' and
     * for a 25-byte string LZF cannot shrink by 4. */
    static const struct {
        size_t n;
        const char *bytes;
        size_t len;
    } runs[] = {
        {20, "\x14" "aaaaaaaaaaaaaaaaaaaa", 21},      /* 20 bytes: never tried */
        {21, "\xc3\x06\x15\x01\x61\x61\xe0\x0a\x00", 9},
        {24, "\xc3\x09\x18\x01\x61\x61\xe0\x0b\x00\x01\x61\x61", 12},
        {100, "\xc3\x09\x40\x64\x01\x61\x61\xe0\x57\x00\x01\x61\x61", 13},
    };
    char a[100];
    memset(a, 'a', sizeof(a));
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct rbuf b = {0};
        dump_write_string(&b, a, runs[i].n, 1);
        cr_assert_eq(b.len, runs[i].len, "%zu", runs[i].n);
        cr_assert(memcmp(b.p, runs[i].bytes, b.len) == 0, "%zu", runs[i].n);
        rbuf_free(&b);
    }
    const char *flat = "abcdefghijklmnopqrstuvwxy";
    struct rbuf b = {0};
    dump_write_string(&b, flat, 25, 1);
    cr_assert_eq(b.len, 26);
    cr_assert(b.p[0] == 25 && memcmp(b.p + 1, flat, 25) == 0);
    rbuf_free(&b);
}

Test(dump, writes_strings_raw_without_compression)
{
    char a[100];
    memset(a, 'a', sizeof(a));
    struct rbuf b = {0};
    dump_write_string(&b, a, sizeof(a), 0);
    cr_assert_eq(b.len, 102);
    cr_assert(memcmp(b.p, "\x40\x64", 2) == 0 && memcmp(b.p + 2, a, 100) == 0);
    rbuf_free(&b);
}

Test(dump, lzf_decompresses_redis_s_output)
{
    /* redis-server 7.0's LZF of "abc" x 14 (from a DUMP payload). */
    const unsigned char in[] = {0x03, 0x61, 0x62, 0x63, 0x61, 0xe0, 0x1b, 0x02,
                                0x01, 0x62, 0x63};
    unsigned char out[42];
    cr_assert_eq(dump_lzf_decompress(in, sizeof(in), out, sizeof(out)), 0);
    for (int i = 0; i < 42; i++) {
        cr_assert_eq(out[i], "abc"[i % 3]);
    }
    /* Too little room, too much room, a truncated literal run, a back
     * reference before the start: all refused. */
    unsigned char big[64];
    cr_assert_eq(dump_lzf_decompress(in, sizeof(in), out, 41), -1);
    cr_assert_eq(dump_lzf_decompress(in, sizeof(in), big, 43), -1);
    cr_assert_eq(dump_lzf_decompress(in, 3, big, 3), -1);
    /* A literal run past the input's end with room for it in the output:
     * liblzf must check its input (it would read in[3] otherwise). */
    cr_assert_eq(dump_lzf_decompress(in, 3, big, 4), -1);
    const unsigned char backref[] = {0x00, 0x61, 0x20, 0x05};
    cr_assert_eq(dump_lzf_decompress(backref, sizeof(backref), big, 4), -1);
}

Test(dump, footer_checks_version_and_checksum)
{
    char buf[64];
    size_t n = with_footer("\x00\x02hi", 4, buf);
    cr_assert_eq(dump_verify(buf, n), DUMP_OK);
    buf[n - 1] ^= 1;
    cr_assert_eq(dump_verify(buf, n), DUMP_ERR_FOOTER);
    buf[n - 1] ^= 1;
    buf[4] = 11;   /* version 11 (Redis 7.2) */
    cr_assert_eq(dump_verify(buf, n), DUMP_ERR_FOOTER);
    cr_assert_eq(dump_verify(buf, 9), DUMP_ERR_FOOTER);
}

Test(dump, decodes_redis_s_listpack_list)
{
    /* redis-server 7.0: RPUSH list a b 1 -5000; DUMP list */
    static const char p[] = "\x12\x01\x02\x13\x13\x00\x00\x00\x04\x00\x81\x61\x02\x81\x62\x02"
                            "\x01\x01\xf1\x78\xec\x03\xff\x0a\x00\xb2\xcb\xfd\x35\x9d\xa8\x3f\x40";
    struct dump_value v;
    cr_assert_eq(dump_verify(p, sizeof(p) - 1), DUMP_OK);
    cr_assert_eq(dump_decode(p, sizeof(p) - 1, &lim, &v), DUMP_OK);
    cr_assert_eq(v.type, ENTRY_LIST);
    struct quicklist *ql = v.obj;
    cr_assert_eq(quicklist_count(ql), 4);
    struct quicklist_iter it;
    struct listpack_value lv;
    const char *want[] = {"a", "b", "1", "-5000"};
    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    for (int i = 0; quicklist_next(&it, &lv); i++) {
        cr_assert(quicklist_value_equals(&lv, want[i], strlen(want[i])));
    }
    /* Written back, the payload is the same bytes. */
    assert_dumps_to(ENTRY_LIST, &v, p, sizeof(p) - 1);
}

Test(dump, refuses_duplicates_empty_and_truncated_collections)
{
    char buf[64];
    struct dump_value v;
    static const struct {
        const char *body;
        size_t len;
    } bad[] = {
        {"\x02\x00", 2},                                   /* empty set */
        {"\x02\x02\x01" "a\x01" "a", 6},                   /* duplicate member */
        {"\x04\x02\x01" "a\x01" "b\x01" "a\x01" "c", 10},  /* duplicate field */
        {"\x02\x02\x01" "a", 4},                           /* one member short */
        {"\x00\x05" "ab", 4},                              /* string runs into footer */
        {"\x00\x01" "ab", 4},                              /* trailing byte */
        {"\x03\x01\x01" "a\xfd", 5},                       /* NaN score */
        {"\x0b\x0a\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00", 12},  /* intset: short */
        {"\x08\x01" "a", 3},                               /* module/unknown type */
        {"\x12\x01\x03\x01" "a", 5},                       /* bad quicklist container */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = with_footer(bad[i].body, bad[i].len, buf);
        cr_assert_eq(dump_verify(buf, n), DUMP_OK);
        cr_assert_eq(dump_decode(buf, n, &lim, &v), DUMP_ERR_BAD, "case %zu", i);
    }
    /* A stream with no nodes that stops before its length. */
    size_t n = with_footer("\x13\x00", 2, buf);
    cr_assert_eq(dump_decode(buf, n, &lim, &v), DUMP_ERR_BAD);
}

Test(dump, intset_payload_converts_past_the_limit)
{
    /* An intset of 3 members 1, 2, 3 (16-bit), loaded with a limit of 2:
     * a hashtable, as Redis converts. */
    char buf[64];
    struct dump_value v;
    struct dump_limits small = lim;
    small.set_max_intset = 2;
    size_t n = with_footer("\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00",
                           16, buf);
    cr_assert_eq(dump_decode(buf, n, &small, &v), DUMP_OK);
    cr_assert_eq(v.type, ENTRY_SET);
    cr_assert_eq(((struct set *)v.obj)->enc, SET_ENC_HASHTABLE);
    cr_assert_eq(set_card(v.obj), 3);
    dump_value_release(&v);
    cr_assert_eq(dump_decode(buf, n, &lim, &v), DUMP_OK);
    cr_assert_eq(((struct set *)v.obj)->enc, SET_ENC_INTSET);
    dump_value_release(&v);
}

Test(dump, stream_from_redis_round_trips_to_the_same_bytes)
{
    /* redis-server 7.0: XADD xs 1-1 a 1; DUMP xs */
    static const char p[] =
        "\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x1c"
        "\x1c\x00\x00\x00\x0a\x00\x01\x01\x00\x01\x01\x01\x81\x61\x02\x00\x01\x02\x01\x00"
        "\x01\x00\x01\x01\x01\x04\x01\xff\x01\x01\x01\x01\x01\x00\x00\x01\x00\x0a\x00\x29"
        "\x7d\x78\x0f\xd8\x8a\xa6\x2c";
    struct dump_value v;
    cr_assert_eq(dump_verify(p, sizeof(p) - 1), DUMP_OK);
    cr_assert_eq(dump_decode(p, sizeof(p) - 1, &lim, &v), DUMP_OK);
    cr_assert_eq(v.type, ENTRY_STREAM);
    assert_dumps_to(ENTRY_STREAM, &v, p, sizeof(p) - 1);
}
