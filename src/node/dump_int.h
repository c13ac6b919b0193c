/* What dump.c and dump_stream.c share: the RDB type numbers, the payload
 * reader and its strings, the Redis-format listpack writer and blob
 * iterator, and the stream entry points.  Private to the two files. */
#ifndef CACHELY_NODE_DUMP_INT_H
#define CACHELY_NODE_DUMP_INT_H

#include "core/rbuf.h"
#include "ds/listpack.h"

#include <stddef.h>
#include <stdint.h>

struct stream;

/* RDB value types (Redis 7.0's numbering). */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* A reader over the payload's value part. */
struct dump_reader {
    const unsigned char *p, *end; /* borrowed: the payload, up to its footer */
};

/* A string read from the payload: bytes in the payload, in ibuf (an
 * integer encoding) or owned (LZF). */
struct dump_rstr {
    const char *p;               /* borrowed: the payload, ibuf or own */
    size_t len;
    char *own;                   /* owned, or NULL */
    char ibuf[LISTPACK_INT_BUF];
};

/* A Redis-format listpack being built in an rbuf. */
struct dump_lpw {
    struct rbuf b;
    size_t count;
};

/* An iterator over the elements of a Redis listpack or ziplist blob,
 * checking the structure as it goes. */
struct dump_blob_iter {
    const unsigned char *b;      /* borrowed: the blob */
    size_t len, pos;
    size_t count, seen;          /* header count (SIZE_MAX: unknown), read */
    int ziplist;
    size_t prev_raw;             /* ziplist: the previous entry's size */
    size_t last_off;             /* ziplist: offset of the last entry */
};

/* Little-endian integers of n bytes. */
uint64_t dump_get_le(const unsigned char *p, int n);
void dump_put_le(unsigned char *p, uint64_t v, int n);
/* 1 when s is a canonical decimal integer (no '+', leading zeros, "-0"). */
int dump_canonical_ll(const char *s, size_t len, long long *v);
void dump_put_type(struct rbuf *out, unsigned char type);

/* A listpack: start, add elements (canonical integers as integers), then
 * write it to out as an RDB string, LZF-compressed when compress says so
 * and it pays (the writer's buffer is freed). */
void dump_lpw_init(struct dump_lpw *w);
void dump_lpw_add(struct dump_lpw *w, const char *s, size_t len);
void dump_lpw_finish(struct dump_lpw *w, struct rbuf *out, int compress);

/* An RDB string at r (advancing it): 0, or -1 when malformed; release
 * what it owns with dump_rstr_release. */
int dump_read_string(struct dump_reader *r, struct dump_rstr *s);
void dump_rstr_release(struct dump_rstr *s);

/* Walk a listpack (ziplist 0) or ziplist blob: init returns -1 on a bad
 * header; next gives 1 and the element (an integer formatted in buf), 0
 * at a well-formed end, -1 when malformed. */
int dump_blob_iter_init(struct dump_blob_iter *it, const char *b, size_t len, int ziplist);
int dump_blob_next(struct dump_blob_iter *it, const char **p, size_t *len,
                   char buf[LISTPACK_INT_BUF]);

/* dump_stream.c: write a stream (type STREAM_LISTPACKS_2; compress as
 * dump_serialize's), and read one
 * of RDB type 15 or 19 into a new stream at *out (freed by the caller
 * through the type's table on failure too): 0 or -1. */
void dump_stream_write(struct stream *s, struct rbuf *out, int compress);
int dump_stream_load(struct dump_reader *r, int type, void **out);

#endif
