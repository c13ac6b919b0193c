/* DUMP/RESTORE payloads in Redis 7.0's format (see dump.h): the RDB pieces
 * they need (lengths, strings with integer and LZF encodings, binary and
 * text doubles, Redis's listpack, ziplist and intset blobs), the writer and
 * the validating reader; streams are dump_stream.c's.  Written from the format's description; no code
 * is shared with Redis. */
#include "node/dump.h"
#include "core/crc64.h"

#include "node/dump_int.h"

#include "core/alloc.h"
#include "core/util.h"
#include "ds/quicklist.h"
#include "node/object.h"
#include "node/t_hash.h"
#include "node/t_list.h"
#include "node/t_set.h"
#include "node/t_zset.h"

#include <limits.h>
#include <lzf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* String encodings after an 11xxxxxx length byte. */
enum { RDB_ENC_INT8 = 0, RDB_ENC_INT16 = 1, RDB_ENC_INT32 = 2, RDB_ENC_LZF = 3 };

/* Quicklist 2 node containers. */
enum { QL_CONTAINER_PLAIN = 1, QL_CONTAINER_PACKED = 2 };

/* Longest string a payload may decompress to (Redis's proto-max-bulk-len
 * default and string limit), so a forged LZF length cannot ask for more. */
#define DUMP_MAX_STRING (512ULL * 1024 * 1024)
/* Redis 7.0's quicklist sizes: a listpack node of a list with fill -1..-5
 * holds up to 4..64 KiB; with a count fill, at most 8 KiB. */
#define DUMP_NODE_SAFETY_BYTES 8192
/* Largest size hint a payload's count may give a new set: past it the set
 * grows as members arrive, so a forged count cannot reserve memory that
 * its bytes do not back with members. */
#define DUMP_MAX_HINT 65536

static size_t
size_hint(uint64_t n)
{
    return n < DUMP_MAX_HINT ? (size_t)n : DUMP_MAX_HINT;
}

/* ---- CRC-64 (Jones) -------------------------------------------------------- */

static struct crc64_table jones = CRC64_TABLE(0x95ac9329ac4bc9b5ULL);

uint64_t
dump_crc64(uint64_t crc, const void *p, size_t len)
{
    return crc64_update(&jones, crc, p, len);
}

/* ---- little helpers ----------------------------------------------------- */

uint64_t
dump_get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

void
dump_put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* Sign-extend the low bits of v. */
static int64_t
sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v & (1ULL << (bits - 1)))) {
        v |= ~0ULL << bits;
    }
    return (int64_t)v;
}

/* A canonical decimal integer (what Redis stores as one): no sign but '-',
 * no leading zeros, no "-0", at most 20 bytes. */
int
dump_canonical_ll(const char *s, size_t len, long long *v)
{
    char buf[LISTPACK_INT_BUF];
    if (len == 0 || len > 20 || util_str2ll(s, len, v) != 0) {
        return 0;
    }
    return util_ll2str(buf, *v) == len && memcmp(buf, s, len) == 0;
}

/* ---- writing ------------------------------------------------------------ */

void
dump_put_type(struct rbuf *out, unsigned char type)
{
    rbuf_add(out, &type, 1);
}

void
dump_write_len(struct rbuf *b, uint64_t len)
{
    unsigned char buf[9];
    if (len < 64) {
        buf[0] = (unsigned char)len;
        rbuf_add(b, buf, 1);
    } else if (len < 16384) {
        buf[0] = (unsigned char)(0x40 | (len >> 8));
        buf[1] = (unsigned char)len;
        rbuf_add(b, buf, 2);
    } else if (len <= 0xffffffffULL) {
        buf[0] = 0x80;
        for (int i = 0; i < 4; i++) {
            buf[1 + i] = (unsigned char)(len >> (8 * (3 - i)));
        }
        rbuf_add(b, buf, 5);
    } else {
        buf[0] = 0x81;
        for (int i = 0; i < 8; i++) {
            buf[1 + i] = (unsigned char)(len >> (8 * (7 - i)));
        }
        rbuf_add(b, buf, 9);
    }
}

/* Redis's rdbcompression: a string past 20 bytes (shorter ones never
 * gain) as RDB_ENC_LZF, when LZF saves at least 4 bytes: its output may
 * take len - 4 bytes at most.  Returns 1 when written, 0 when the string
 * is to be written raw. */
static int
write_lzf(struct rbuf *b, const char *s, size_t len)
{
    if (len <= 20 || len > UINT_MAX) {
        return 0;
    }
    unsigned char *z = mem_alloc(len - 4);
    unsigned zlen = lzf_compress(s, (unsigned)len, z, (unsigned)(len - 4));
    if (zlen > 0) {
        unsigned char enc = 0xC0 | RDB_ENC_LZF;
        rbuf_add(b, &enc, 1);
        dump_write_len(b, zlen);
        dump_write_len(b, len);
        rbuf_add(b, z, zlen);
    }
    mem_free(z);
    return zlen > 0;
}

void
dump_write_string(struct rbuf *b, const char *s, size_t len, int compress)
{
    long long v;
    unsigned char buf[5];
    /* As Redis: a short canonical integer that fits 32 bits is stored as
     * one (so "12" dumps as the same bytes on both servers). */
    if (len <= 11 && dump_canonical_ll(s, len, &v) && v >= INT32_MIN && v <= INT32_MAX) {
        if (v >= -128 && v <= 127) {
            buf[0] = 0xC0 | RDB_ENC_INT8;
            buf[1] = (unsigned char)(v & 0xff);
            rbuf_add(b, buf, 2);
        } else if (v >= -32768 && v <= 32767) {
            buf[0] = 0xC0 | RDB_ENC_INT16;
            dump_put_le(buf + 1, (uint64_t)v, 2);
            rbuf_add(b, buf, 3);
        } else {
            buf[0] = 0xC0 | RDB_ENC_INT32;
            dump_put_le(buf + 1, (uint64_t)v, 4);
            rbuf_add(b, buf, 5);
        }
        return;
    }
    if (compress && write_lzf(b, s, len)) {
        return;
    }
    dump_write_len(b, len);
    rbuf_add(b, s, len);
}

/* Redis's listpack backlen: the entry's size in 7-bit groups, the first
 * (leftmost) byte holding the highest bits with bit 7 clear, the others
 * with it set, so that it reads from the right. */
static size_t
lp_backlen(unsigned char *buf, uint64_t l)
{
    size_t n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char g = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        buf[i] = i == 0 ? g : (unsigned char)(g | 128);
    }
    return n;
}


void
dump_lpw_init(struct dump_lpw *w)
{
    memset(w, 0, sizeof(*w));
    unsigned char hdr[6] = {0};
    rbuf_add(&w->b, hdr, 6);
}

void
dump_lpw_add(struct dump_lpw *w, const char *s, size_t len)
{
    unsigned char hdr[9], back[5];
    size_t hl;
    long long v;
    if (dump_canonical_ll(s, len, &v)) {
        /* Integers as Redis's lpAppend stores them: the smallest form. */
        if (v >= 0 && v <= 127) {
            hdr[0] = (unsigned char)v;
            hl = 1;
        } else if (v >= -4096 && v <= 4095) {
            uint64_t u = (uint64_t)v & 0x1fff;
            hdr[0] = (unsigned char)(0xC0 | (u >> 8));
            hdr[1] = (unsigned char)u;
            hl = 2;
        } else if (v >= -32768 && v <= 32767) {
            hdr[0] = 0xF1;
            dump_put_le(hdr + 1, (uint64_t)v, 2);
            hl = 3;
        } else if (v >= -8388608 && v <= 8388607) {
            hdr[0] = 0xF2;
            dump_put_le(hdr + 1, (uint64_t)v, 3);
            hl = 4;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            hdr[0] = 0xF3;
            dump_put_le(hdr + 1, (uint64_t)v, 4);
            hl = 5;
        } else {
            hdr[0] = 0xF4;
            dump_put_le(hdr + 1, (uint64_t)v, 8);
            hl = 9;
        }
        rbuf_add(&w->b, hdr, hl);
        rbuf_add(&w->b, back, lp_backlen(back, hl));
    } else {
        if (len < 64) {
            hdr[0] = (unsigned char)(0x80 | len);
            hl = 1;
        } else if (len < 4096) {
            hdr[0] = (unsigned char)(0xE0 | (len >> 8));
            hdr[1] = (unsigned char)len;
            hl = 2;
        } else {
            hdr[0] = 0xF0;
            dump_put_le(hdr + 1, len, 4);
            hl = 5;
        }
        rbuf_add(&w->b, hdr, hl);
        rbuf_add(&w->b, s, len);
        rbuf_add(&w->b, back, lp_backlen(back, hl + len));
    }
    w->count++;
}

/* Close the listpack and write it as an RDB string to out. */
void
dump_lpw_finish(struct dump_lpw *w, struct rbuf *out, int compress)
{
    unsigned char end = 0xFF;
    rbuf_add(&w->b, &end, 1);
    dump_put_le((unsigned char *)w->b.p, w->b.len, 4);
    dump_put_le((unsigned char *)w->b.p + 4, w->count < 65535 ? w->count : 65535, 2);
    dump_write_string(out, w->b.p, w->b.len, compress);
    rbuf_free(&w->b);
}

/* Whether Redis 7.0 would start a new node rather than push an element of
 * len bytes at the tail of a node of count elements and lp_bytes bytes of
 * listpack, in a list of that fill: the node's bytes, plus the element's,
 * plus 8 for its encoding, past the fill's size (fill -1..-5), or, for a
 * count fill, the count reached or past 8 KiB.  A list built by RPUSH is
 * laid out this way, so its DUMP is Redis's byte for byte; other histories
 * (LPUSH, inserts, deletes) leave Redis nodes this does not reproduce. */
static int
dump_node_full(int fill, size_t lp_bytes, size_t len, size_t count)
{
    size_t new_sz = lp_bytes + len + 8;
    if (fill < 0) {
        int level = -fill - 1 < 4 ? -fill - 1 : 4;
        return new_sz > ((size_t)4096 << level);
    }
    return new_sz > DUMP_NODE_SAFETY_BYTES || count >= (size_t)(fill > 0 ? fill : 1);
}

static void
dump_list(struct quicklist *ql, struct rbuf *out, int compress)
{
    struct rbuf nodes = {0};
    size_t nnodes = 0;
    struct quicklist_iter it;
    struct listpack_value v;
    struct dump_lpw w;
    char buf[LISTPACK_INT_BUF];
    int open = 0;

    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        size_t len;
        const char *s = quicklist_value_str(&v, buf, &len);
        /* w.b has no end byte yet: Redis's size counts it. */
        if (open && dump_node_full(ql->fill, w.b.len + 1, len, w.count)) {
            dump_write_len(&nodes, QL_CONTAINER_PACKED);
            dump_lpw_finish(&w, &nodes, compress);
            nnodes++;
            open = 0;
        }
        if (!open) {
            dump_lpw_init(&w);
            open = 1;
        }
        dump_lpw_add(&w, s, len);
    }
    if (open) {
        dump_write_len(&nodes, QL_CONTAINER_PACKED);
        dump_lpw_finish(&w, &nodes, compress);
        nnodes++;
    }
    dump_put_type(out, RDB_TYPE_LIST_QUICKLIST_2);
    dump_write_len(out, nnodes);
    rbuf_add(out, nodes.p, nodes.len);
    rbuf_free(&nodes);
}

static void
dump_set(struct set *s, struct rbuf *out, int compress)
{
    struct set_iter it;
    struct set_elem e;
    if (s->enc == SET_ENC_INTSET) {
        /* The intset blob as Redis lays it out: width, count, members
         * ascending, little-endian (the width is the set's own, as Redis
         * never narrows it either). */
        size_t width = s->u.is->width, n = set_card(s);
        size_t bloblen = 8 + width * n;
        unsigned char *blob = mem_alloc(bloblen);
        dump_put_le(blob, width, 4);
        dump_put_le(blob + 4, n, 4);
        size_t i = 0;
        set_iter_init(&it, s);
        while (set_iter_next(&it, &e)) {
            dump_put_le(blob + 8 + width * i++, (uint64_t)e.v, (int)width);
        }
        set_iter_done(&it);
        dump_put_type(out, RDB_TYPE_SET_INTSET);
        dump_write_string(out, (const char *)blob, bloblen, compress);
        mem_free(blob);
        return;
    }
    dump_put_type(out, RDB_TYPE_SET);
    dump_write_len(out, set_card(s));
    set_iter_init(&it, s);
    while (set_iter_next(&it, &e)) {
        dump_write_string(out, e.p, e.len, compress);
    }
    set_iter_done(&it);
}

static void
dump_zset(struct zset *z, struct rbuf *out, int compress)
{
    struct zset_iter it;
    const char *m;
    size_t len;
    double score;
    if (z->lp != NULL) {
        /* As Redis 7.0 dumps a small sorted set: a listpack of member,
         * score pairs in order, scores as text. */
        struct dump_lpw w;
        char sbuf[64];
        dump_lpw_init(&w);
        zset_iter_init(&it, z, 0, 0);
        while (zset_iter_next(&it, &m, &len, &score)) {
            dump_lpw_add(&w, m, len);
            dump_lpw_add(&w, sbuf, zset_score_text(sbuf, score));
        }
        dump_put_type(out, RDB_TYPE_ZSET_LISTPACK);
        dump_lpw_finish(&w, out, compress);
        return;
    }
    dump_put_type(out, RDB_TYPE_ZSET_2);
    dump_write_len(out, zset_length(z));
    /* Highest first, as Redis writes it (a load then appends in order). */
    zset_iter_init(&it, z, zset_length(z) - 1, 1);
    while (zset_iter_next(&it, &m, &len, &score)) {
        unsigned char d[8];
        uint64_t bits;
        memcpy(&bits, &score, 8);
        dump_put_le(d, bits, 8);
        dump_write_string(out, m, len, compress);
        rbuf_add(out, d, 8);
    }
}

static void
dump_hash(const void *h, struct rbuf *out, int compress)
{
    struct hash_iter it;
    struct hash_field f;
    if (hash_encoding(h) == HASH_ENC_LISTPACK) {
        struct dump_lpw w;
        dump_lpw_init(&w);
        hash_iter_init(&it, h, 0);
        while (hash_iter_next(&it, &f)) {
            dump_lpw_add(&w, f.field, f.flen);
            dump_lpw_add(&w, f.value, f.vlen);
        }
        hash_iter_done(&it);
        dump_put_type(out, RDB_TYPE_HASH_LISTPACK);
        dump_lpw_finish(&w, out, compress);
        return;
    }
    dump_put_type(out, RDB_TYPE_HASH);
    dump_write_len(out, hash_length(h));
    hash_iter_init(&it, h, 0);
    while (hash_iter_next(&it, &f)) {
        dump_write_string(out, f.field, f.flen, compress);
        dump_write_string(out, f.value, f.vlen, compress);
    }
    hash_iter_done(&it);
}

int
dump_serialize(const struct entry *e, int compress, struct rbuf *out)
{
    size_t start = out->len;
    void *obj = e->type == ENTRY_STRING ? NULL : entry_obj(e);
    if (e->type == ENTRY_HASH && hash_has_expiry(obj)) {
        return DUMP_ERR_HASH_TTL;
    }
    switch (e->type) {
    case ENTRY_STRING:
        dump_put_type(out, RDB_TYPE_STRING);
        dump_write_string(out, entry_val(e), entry_vallen(e), compress);
        break;
    case ENTRY_LIST:
        dump_list(obj, out, compress);
        break;
    case ENTRY_SET:
        dump_set(obj, out, compress);
        break;
    case ENTRY_ZSET:
        dump_zset(obj, out, compress);
        break;
    case ENTRY_HASH:
        dump_hash(obj, out, compress);
        break;
    case ENTRY_STREAM:
        dump_stream_write(obj, out, compress);
        break;
    default:
        return DUMP_ERR_BAD;
    }
    unsigned char foot[10];
    dump_put_le(foot, DUMP_RDB_VERSION, 2);
    rbuf_add(out, foot, 2);
    dump_put_le(foot, dump_crc64(0, out->p + start, out->len - start), 8);
    rbuf_add(out, foot, 8);
    return DUMP_OK;
}

long long
dump_serialized_length(const struct entry *e, int compress)
{
    struct rbuf out = {0};
    long long n = -1;
    if (dump_serialize(e, compress, &out) == DUMP_OK) {
        n = (long long)out.len - 1 - 10;     /* the type byte, the footer */
    }
    rbuf_free(&out);
    return n;
}

/* ---- reading: RDB pieces ------------------------------------------------- */

int
dump_read_len(const unsigned char **pp, const unsigned char *end, uint64_t *len)
{
    const unsigned char *p = *pp;
    if (p >= end) {
        return -1;
    }
    unsigned b = *p++;
    switch (b >> 6) {
    case 0:
        *len = b & 0x3F;
        break;
    case 1:
        if (p >= end) {
            return -1;
        }
        *len = ((uint64_t)(b & 0x3F) << 8) | *p++;
        break;
    case 2: {
        int n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (n == 0 || end - p < n) {
            return -1;
        }
        uint64_t v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | p[i];
        }
        p += n;
        *len = v;
        break;
    }
    default:
        return -1;               /* an encoded value where a length belongs */
    }
    *pp = p;
    return 0;
}

int
dump_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out,
                    size_t outlen)
{
    /* liblzf checks both ends (Debian builds it with CHECK_INPUT) and
     * answers 0 for input that is malformed or does not fit; fewer bytes
     * than declared is as bad. */
    if (inlen > UINT_MAX || outlen > UINT_MAX || outlen == 0) {
        return -1;
    }
    return lzf_decompress(in, (unsigned)inlen, out, (unsigned)outlen) == outlen ? 0 : -1;
}

void
dump_rstr_release(struct dump_rstr *s)
{
    mem_free(s->own);
    s->own = NULL;
}

int
dump_read_string(struct dump_reader *r, struct dump_rstr *s)
{
    s->own = NULL;
    if (r->p >= r->end) {
        return -1;
    }
    unsigned b = *r->p;
    if ((b >> 6) != 3) {
        uint64_t len;
        if (dump_read_len(&r->p, r->end, &len) != 0 || len > (uint64_t)(r->end - r->p)) {
            return -1;
        }
        s->p = (const char *)r->p;
        s->len = (size_t)len;
        r->p += len;
        return 0;
    }
    r->p++;
    int n;
    switch (b & 0x3F) {
    case RDB_ENC_INT8:
        n = 1;
        break;
    case RDB_ENC_INT16:
        n = 2;
        break;
    case RDB_ENC_INT32:
        n = 4;
        break;
    case RDB_ENC_LZF: {
        uint64_t clen, len;
        if (dump_read_len(&r->p, r->end, &clen) != 0
            || dump_read_len(&r->p, r->end, &len) != 0
            || clen > (uint64_t)(r->end - r->p) || len == 0 || len > DUMP_MAX_STRING
            || len / 128 > clen) {
            /* (LZF makes at most about 88 bytes per input byte.) */
            return -1;
        }
        s->own = mem_alloc((size_t)len);
        if (dump_lzf_decompress(r->p, (size_t)clen, (unsigned char *)s->own,
                                (size_t)len) != 0) {
            dump_rstr_release(s);
            return -1;
        }
        r->p += clen;
        s->p = s->own;
        s->len = (size_t)len;
        return 0;
    }
    default:
        return -1;
    }
    if (r->end - r->p < n) {
        return -1;
    }
    int64_t v = sign_extend(dump_get_le(r->p, n), 8 * n);
    r->p += n;
    s->len = util_ll2str(s->ibuf, v);
    s->p = s->ibuf;
    return 0;
}

/* The count of a collection: at least one element (Redis refuses empty
 * keys) and no more than the bytes left could hold. */
static int
read_count(struct dump_reader *r, uint64_t *n)
{
    if (dump_read_len(&r->p, r->end, n) != 0 || *n == 0
        || *n > (uint64_t)(r->end - r->p)) {
        return -1;
    }
    return 0;
}

/* ---- reading: packed blobs --------------------------------------------- */


int
dump_blob_iter_init(struct dump_blob_iter *it, const char *b, size_t len, int ziplist)
{
    memset(it, 0, sizeof(*it));
    it->b = (const unsigned char *)b;
    it->len = len;
    it->ziplist = ziplist;
    size_t hdr = ziplist ? 10 : 6;
    if (len < hdr + 1 || dump_get_le(it->b, 4) != len || it->b[len - 1] != 0xFF) {
        return -1;
    }
    uint64_t cnt = dump_get_le(it->b + (ziplist ? 8 : 4), 2);
    it->count = cnt == (ziplist ? 0xFFFF : 65535) ? SIZE_MAX : (size_t)cnt;
    it->pos = hdr;
    it->last_off = hdr;
    return 0;
}

/* The next element into (*p, *len), an integer formatted in buf.  Returns
 * 1, 0 at the end (after checking the count), -1 when malformed. */
int
dump_blob_next(struct dump_blob_iter *it, const char **p, size_t *len, char buf[LISTPACK_INT_BUF])
{
    const unsigned char *b = it->b;
    size_t pos = it->pos, room = it->len - 1 - pos;  /* before the 0xFF */
    if (b[pos] == 0xFF) {
        if (pos != it->len - 1 || (it->count != SIZE_MAX && it->seen != it->count)) {
            return -1;
        }
        if (it->ziplist && dump_get_le(b + 4, 4) != it->last_off) {
            return -1;
        }
        return 0;
    }
    size_t off = 0, slen = 0;     /* within the entry: data start, length */
    int is_int = 0, intlen = 0, intbits = 0;
    int64_t iv = 0;
    if (it->ziplist) {
        /* prevlen, then the encoding. */
        size_t prev, pl;
        if (b[pos] < 254) {
            prev = b[pos];
            pl = 1;
        } else if (b[pos] == 254 && room >= 5) {
            prev = (size_t)dump_get_le(b + pos + 1, 4);
            pl = 5;
        } else {
            return -1;
        }
        if (prev != it->prev_raw || room < pl + 1) {
            return -1;
        }
        unsigned e = b[pos + pl];
        off = pl + 1;
        if ((e >> 6) == 0) {
            slen = e & 0x3F;
        } else if ((e >> 6) == 1) {
            if (room < pl + 2) {
                return -1;
            }
            slen = ((size_t)(e & 0x3F) << 8) | b[pos + pl + 1];
            off = pl + 2;
        } else if ((e >> 6) == 2) {
            if (room < pl + 5) {
                return -1;
            }
            slen = (size_t)((uint64_t)b[pos + pl + 1] << 24 | (uint64_t)b[pos + pl + 2] << 16
                            | (uint64_t)b[pos + pl + 3] << 8 | b[pos + pl + 4]);
            off = pl + 5;
        } else {
            is_int = 1;
            switch (e) {
            case 0xC0: intlen = 2; break;
            case 0xD0: intlen = 4; break;
            case 0xE0: intlen = 8; break;
            case 0xF0: intlen = 3; break;
            case 0xFE: intlen = 1; break;
            default:
                if (e >= 0xF1 && e <= 0xFD) {
                    intlen = 0;
                    iv = (int64_t)(e & 0x0F) - 1;
                } else {
                    return -1;
                }
            }
            intbits = 8 * intlen;
        }
    } else {
        unsigned e = b[pos];
        off = 1;
        if ((e & 0x80) == 0) {
            is_int = 1;
            iv = e;
        } else if ((e & 0xC0) == 0x80) {
            slen = e & 0x3F;
        } else if ((e & 0xE0) == 0xC0) {
            if (room < 2) {
                return -1;
            }
            is_int = 1;
            iv = sign_extend(((uint64_t)(e & 0x1F) << 8) | b[pos + 1], 13);
            off = 2;
        } else if ((e & 0xF0) == 0xE0) {
            if (room < 2) {
                return -1;
            }
            slen = ((size_t)(e & 0x0F) << 8) | b[pos + 1];
            off = 2;
        } else if (e == 0xF0) {
            if (room < 5) {
                return -1;
            }
            slen = (size_t)dump_get_le(b + pos + 1, 4);
            off = 5;
        } else if (e >= 0xF1 && e <= 0xF4) {
            is_int = 1;
            intlen = e == 0xF1 ? 2 : e == 0xF2 ? 3 : e == 0xF3 ? 4 : 8;
            intbits = 8 * intlen;
        } else {
            return -1;
        }
    }
    size_t datalen = is_int ? (size_t)intlen : slen;
    if (off > room || datalen > room - off) {
        return -1;
    }
    size_t entry = off + datalen;  /* ziplist: whole entry; listpack: w/o backlen */
    if (is_int && intlen > 0) {
        iv = sign_extend(dump_get_le(b + pos + off, intlen), intbits);
    }
    if (!it->ziplist) {
        unsigned char back[5];
        size_t bl = lp_backlen(back, entry);
        if (bl > room - entry || memcmp(back, b + pos + entry, bl) != 0) {
            return -1;
        }
        it->pos = pos + entry + bl;
    } else {
        it->prev_raw = entry;
        it->last_off = pos;
        it->pos = pos + entry;
    }
    it->seen++;
    if (is_int) {
        *len = util_ll2str(buf, iv);
        *p = buf;
    } else {
        *p = (const char *)b + pos + off;
        *len = slen;
    }
    return 1;
}

/* ---- reading: the types --------------------------------------------------- */

static struct zset_limits
zlim_of(const struct dump_limits *lim)
{
    struct zset_limits z = {lim->zset_max_entries, lim->zset_max_value};
    return z;
}

static struct hash_limits
hlim_of(const struct dump_limits *lim)
{
    struct hash_limits h = {lim->hash_max_entries, lim->hash_max_value};
    return h;
}

/* Push every element of a packed list node (listpack or ziplist). */
static int
list_add_blob(struct quicklist *ql, const char *b, size_t len, int ziplist)
{
    struct dump_blob_iter it;
    const char *p;
    size_t n;
    char buf[LISTPACK_INT_BUF];
    int rc;
    if (dump_blob_iter_init(&it, b, len, ziplist) != 0) {
        return -1;
    }
    while ((rc = dump_blob_next(&it, &p, &n, buf)) == 1) {
        quicklist_push(ql, p, n, QUICKLIST_TAIL);
    }
    return rc;
}

static int
load_list(struct dump_reader *r, int type, const struct dump_limits *lim, void **out)
{
    struct quicklist *ql = list_create(lim->list_fill, lim->list_depth);
    struct dump_rstr s;
    uint64_t n, container = QL_CONTAINER_PACKED;
    *out = ql;
    if (type == RDB_TYPE_LIST_ZIPLIST) {
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        int rc = list_add_blob(ql, s.p, s.len, 1);
        dump_rstr_release(&s);
        return rc == 0 && quicklist_count(ql) > 0 ? 0 : -1;
    }
    if (read_count(r, &n) != 0) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (type == RDB_TYPE_LIST_QUICKLIST_2
            && (dump_read_len(&r->p, r->end, &container) != 0
                || (container != QL_CONTAINER_PLAIN && container != QL_CONTAINER_PACKED))) {
            return -1;
        }
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        int rc = 0;
        if (type == RDB_TYPE_LIST) {
            quicklist_push(ql, s.p, s.len, QUICKLIST_TAIL);
        } else if (container == QL_CONTAINER_PLAIN) {
            quicklist_push(ql, s.p, s.len, QUICKLIST_TAIL);
        } else {
            /* An empty node is skipped, as Redis does; an empty list is
             * refused below. */
            rc = list_add_blob(ql, s.p, s.len, type == RDB_TYPE_LIST_QUICKLIST);
        }
        dump_rstr_release(&s);
        if (rc != 0) {
            return -1;
        }
    }
    return quicklist_count(ql) > 0 ? 0 : -1;
}

static int
load_set(struct dump_reader *r, int type, const struct dump_limits *lim, void **out)
{
    struct dump_rstr s;
    uint64_t n;
    if (type == RDB_TYPE_SET_INTSET) {
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        const unsigned char *b = (const unsigned char *)s.p;
        uint64_t width = s.len >= 8 ? dump_get_le(b, 4) : 0;
        uint64_t cnt = s.len >= 8 ? dump_get_le(b + 4, 4) : 0;
        if ((width != 2 && width != 4 && width != 8) || cnt == 0
            || s.len != 8 + width * cnt) {
            dump_rstr_release(&s);
            return -1;
        }
        struct set *set = set_create(cnt > lim->set_max_intset, size_hint(cnt));
        *out = set;
        int64_t prev = 0;
        for (uint64_t i = 0; i < cnt; i++) {
            int64_t v = sign_extend(dump_get_le(b + 8 + width * i, (int)width), (int)(8 * width));
            char buf[LISTPACK_INT_BUF];
            /* Strictly ascending: no duplicates, as an intset must be. */
            if (i > 0 && v <= prev) {
                dump_rstr_release(&s);
                return -1;
            }
            prev = v;
            set_add(set, buf, util_ll2str(buf, v), lim->set_max_intset);
        }
        dump_rstr_release(&s);
        return 0;
    }
    if (read_count(r, &n) != 0) {
        *out = set_create(0, 0);
        return -1;
    }
    struct set *set = set_create(n > lim->set_max_intset, size_hint(n));
    *out = set;
    for (uint64_t i = 0; i < n; i++) {
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        int added = set_add(set, s.p, s.len, lim->set_max_intset);
        dump_rstr_release(&s);
        if (!added) {
            return -1;           /* a duplicate member */
        }
    }
    return 0;
}

/* An RDB_TYPE_ZSET score: a length byte (253 nan, 254 +inf, 255 -inf)
 * then that many characters. */
static int
read_text_double(struct dump_reader *r, double *d)
{
    if (r->p >= r->end) {
        return -1;
    }
    unsigned n = *r->p++;
    if (n == 253) {
        return -1;               /* NaN: not a score */
    }
    if (n == 254 || n == 255) {
        *d = n == 254 ? INFINITY : -INFINITY;
        return 0;
    }
    if ((size_t)(r->end - r->p) < n || util_str2d((const char *)r->p, n, d) != 0) {
        return -1;
    }
    r->p += n;
    return 0;
}

static int
zset_add_new(struct zset *z, const struct zset_limits *zl, const char *m, size_t len,
             double score)
{
    unsigned res = 0;
    double ns;
    if (isnan(score) || zset_add(z, zl, m, len, score, ZSET_ADD_NX, &res, &ns) != 0
        || !(res & ZSET_OUT_ADDED)) {
        return -1;               /* NaN, or a duplicate member */
    }
    return 0;
}

static int
load_zset(struct dump_reader *r, int type, const struct dump_limits *lim, void **out)
{
    struct zset_limits zl = zlim_of(lim);
    struct dump_rstr s;
    uint64_t n;
    if (type == RDB_TYPE_ZSET_LISTPACK || type == RDB_TYPE_ZSET_ZIPLIST) {
        struct zset *z = zset_create(&zl, 0, 0);
        struct dump_blob_iter it;
        const char *m, *sc;
        size_t mlen, sclen;
        char mbuf[LISTPACK_INT_BUF], sbuf[LISTPACK_INT_BUF];
        int rc;
        *out = z;
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        if (dump_blob_iter_init(&it, s.p, s.len, type == RDB_TYPE_ZSET_ZIPLIST) != 0) {
            dump_rstr_release(&s);
            return -1;
        }
        while ((rc = dump_blob_next(&it, &m, &mlen, mbuf)) == 1) {
            double d;
            if (dump_blob_next(&it, &sc, &sclen, sbuf) != 1 || util_str2d(sc, sclen, &d) != 0
                || zset_add_new(z, &zl, m, mlen, d) != 0) {
                rc = -1;
                break;
            }
        }
        dump_rstr_release(&s);
        return rc == 0 && zset_length(z) > 0 ? 0 : -1;
    }
    if (read_count(r, &n) != 0) {
        *out = zset_create(&zl, 0, 0);
        return -1;
    }
    struct zset *z = zset_create(&zl, size_hint(n), 0);
    *out = z;
    for (uint64_t i = 0; i < n; i++) {
        double d;
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        int rc;
        if (type == RDB_TYPE_ZSET_2) {
            if (r->end - r->p < 8) {
                rc = -1;
            } else {
                uint64_t bits = dump_get_le(r->p, 8);
                memcpy(&d, &bits, 8);
                r->p += 8;
                rc = 0;
            }
        } else {
            rc = read_text_double(r, &d);
        }
        if (rc == 0) {
            rc = zset_add_new(z, &zl, s.p, s.len, d);
        }
        dump_rstr_release(&s);
        if (rc != 0) {
            return -1;
        }
    }
    /* As Redis: a small enough set built in the tree goes back to a
     * listpack. */
    zset_convert_if_fits(z, &zl);
    return 0;
}

static int
load_hash(struct dump_reader *r, int type, const struct dump_limits *lim, void **out)
{
    struct hash_limits hl = hlim_of(lim);
    void *h = hash_new();
    uint64_t n;
    *out = h;
    if (type == RDB_TYPE_HASH_LISTPACK || type == RDB_TYPE_HASH_ZIPLIST) {
        struct dump_rstr s;
        struct dump_blob_iter it;
        const char *f, *v;
        size_t flen, vlen;
        char fbuf[LISTPACK_INT_BUF], vbuf[LISTPACK_INT_BUF];
        int rc;
        if (dump_read_string(r, &s) != 0) {
            return -1;
        }
        if (dump_blob_iter_init(&it, s.p, s.len, type == RDB_TYPE_HASH_ZIPLIST) != 0) {
            dump_rstr_release(&s);
            return -1;
        }
        while ((rc = dump_blob_next(&it, &f, &flen, fbuf)) == 1) {
            if (dump_blob_next(&it, &v, &vlen, vbuf) != 1
                || hash_set(&h, f, flen, v, vlen, 0, &hl) != 1) {
                rc = -1;
                break;
            }
        }
        *out = h;
        dump_rstr_release(&s);
        return rc == 0 && hash_length(h) > 0 ? 0 : -1;
    }
    if (read_count(r, &n) != 0) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct dump_rstr f, v;
        if (dump_read_string(r, &f) != 0) {
            return -1;
        }
        if (dump_read_string(r, &v) != 0) {
            dump_rstr_release(&f);
            return -1;
        }
        int added = hash_set(&h, f.p, f.len, v.p, v.len, 0, &hl);
        *out = h;
        dump_rstr_release(&f);
        dump_rstr_release(&v);
        if (added != 1) {
            return -1;           /* a duplicate field */
        }
    }
    return 0;
}

int
dump_verify(const char *p, size_t len)
{
    const unsigned char *b = (const unsigned char *)p;
    if (len < 10) {
        return DUMP_ERR_FOOTER;
    }
    if (dump_get_le(b + len - 10, 2) > DUMP_RDB_VERSION) {
        return DUMP_ERR_FOOTER;
    }
    if (dump_crc64(0, b, len - 8) != dump_get_le(b + len - 8, 8)) {
        return DUMP_ERR_FOOTER;
    }
    return DUMP_OK;
}

static void
free_obj(unsigned type, void *obj)
{
    if (obj == NULL) {
        return;
    }
    if (type == ENTRY_HASH) {
        hash_free(obj);
        return;
    }
    obj_type_of(type)->free(obj);
}

int
dump_decode(const char *p, size_t len, const struct dump_limits *lim,
            struct dump_value *out)
{
    struct dump_reader r = {(const unsigned char *)p, (const unsigned char *)p + len - 10};
    int rc;
    memset(out, 0, sizeof(*out));
    if (len < 11) {
        return DUMP_ERR_BAD;
    }
    int type = *r.p++;
    void *obj = NULL;
    switch (type) {
    case RDB_TYPE_STRING: {
        struct dump_rstr s;
        if (dump_read_string(&r, &s) != 0) {
            return DUMP_ERR_BAD;
        }
        if (r.p != r.end) {
            dump_rstr_release(&s);
            return DUMP_ERR_BAD;
        }
        out->type = ENTRY_STRING;
        out->len = s.len;
        if (s.own != NULL) {
            out->str = s.own;
        } else if (s.len > 0) {
            out->str = mem_alloc(s.len);
            memcpy(out->str, s.p, s.len);
        }
        return DUMP_OK;
    }
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2:
        out->type = ENTRY_LIST;
        rc = load_list(&r, type, lim, &obj);
        break;
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
        out->type = ENTRY_SET;
        rc = load_set(&r, type, lim, &obj);
        break;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_ZSET_ZIPLIST:
        out->type = ENTRY_ZSET;
        rc = load_zset(&r, type, lim, &obj);
        break;
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_HASH_ZIPLIST:
        out->type = ENTRY_HASH;
        rc = load_hash(&r, type, lim, &obj);
        break;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        out->type = ENTRY_STREAM;
        rc = dump_stream_load(&r, type, &obj);
        break;
    default:
        return DUMP_ERR_BAD;     /* modules, zipmaps, unknown types */
    }
    /* The value must end exactly where the footer starts. */
    if (rc != 0 || r.p != r.end) {
        free_obj(out->type, obj);
        out->type = 0;
        return DUMP_ERR_BAD;
    }
    out->obj = obj;
    return DUMP_OK;
}

void
dump_value_release(struct dump_value *v)
{
    mem_free(v->str);
    v->str = NULL;
    if (v->obj != NULL) {
        free_obj(v->type, v->obj);
        v->obj = NULL;
    }
}
