/* DUMP and RESTORE's serialized-value format, Redis 7.0's: one RDB type
 * byte, the value in RDB encoding, the RDB version (2 bytes LE, 10) and a
 * CRC-64 (Jones polynomial, reflected; 8 bytes LE) of everything before it.
 *
 * dump_serialize writes a value as redis-server 7.0 RESTOREs it;
 * dump_decode reads every encoding redis-server 7.0 DUMPs for strings,
 * lists, sets, sorted sets, hashes and streams (and the older ziplist and
 * Redis 6 stream forms), validating the whole payload before anything is
 * handed back: a value is built off the keyspace and returned whole, or
 * freed and refused.  Hashes with field expirations are refused (Redis
 * 7.0's format has none).
 * Nothing here touches the keyspace or replies: cmd_dump.c does. */
#ifndef CACHELY_NODE_DUMP_H
#define CACHELY_NODE_DUMP_H

#include "core/rbuf.h"
#include "node/entry.h"

#include <stddef.h>
#include <stdint.h>

/* The RDB version our payloads carry and the newest we accept. */
#define DUMP_RDB_VERSION 10

/* Outcomes of dump_serialize / dump_verify / dump_decode. */
enum dump_status {
    DUMP_OK = 0,
    DUMP_ERR_BAD = -1,           /* malformed payload: "Bad data format" */
    DUMP_ERR_FOOTER = -2,        /* version or checksum wrong */
    DUMP_ERR_HASH_TTL = -3,      /* a hash with field expirations */
};

/* What RESTORE builds objects under (the node's conversion options). */
struct dump_limits {
    long long list_fill;         /* list-max-listpack-size */
    long long list_depth;        /* list-compress-depth */
    size_t set_max_intset;       /* set-max-intset-entries */
    size_t zset_max_entries, zset_max_value;  /* zset-max-listpack-* */
    size_t hash_max_entries, hash_max_value;  /* hash-max-listpack-* */
};

/* A decoded value: a string's bytes (type ENTRY_STRING) or a new object of
 * the type's table (every other type).  Owned until handed to the
 * keyspace; dump_value_release frees what is still held. */
struct dump_value {
    unsigned type;               /* enum entry_type */
    char *str;                   /* owned (strings; NULL when empty) */
    size_t len;
    void *obj;                   /* owned (collections) */
};

/* Append the payload of e's value to out, its strings LZF-compressed as
 * Redis's rdbcompression does when compress is set (else raw).  Returns
 * DUMP_OK, or DUMP_ERR_HASH_TTL (out unchanged) for a hash with field
 * expirations, which has no Redis 7.0 form. */
int dump_serialize(const struct entry *e, int compress, struct rbuf *out);

/* The bytes of e's value in a payload, without the type byte and the
 * footer: what Redis's DEBUG OBJECT calls serializedlength.  Returns -1
 * when dump_serialize refuses the value. */
long long dump_serialized_length(const struct entry *e, int compress);

/* Check the footer: DUMP_OK, or DUMP_ERR_FOOTER when the payload is too
 * short, its version is newer than ours or its checksum does not match. */
int dump_verify(const char *p, size_t len);

/* Decode a payload whose footer dump_verify accepted into *out.  Returns
 * DUMP_OK or DUMP_ERR_BAD (nothing held). */
int dump_decode(const char *p, size_t len, const struct dump_limits *lim,
                struct dump_value *out);
/* Free what *v still owns (the caller clears the fields it took). */
void dump_value_release(struct dump_value *v);

/* ---- codec pieces, public for the unit tests -------------------------- */

/* Redis's crc64 (Jones, reflected, no final xor): crc64(0, "123456789")
 * is 0xe9c6d914c4b8d9ca.  Pass the result back to continue. */
uint64_t dump_crc64(uint64_t crc, const void *p, size_t len);
/* An RDB length (6, 14, 32 or 64 bits). */
void dump_write_len(struct rbuf *b, uint64_t len);
/* Read an RDB length at *p (not past end), advancing *p: 0, or -1 when
 * truncated or an encoded-value marker. */
int dump_read_len(const unsigned char **p, const unsigned char *end, uint64_t *len);
/* An RDB string: a 8/16/32-bit integer encoding for a canonical integer
 * that fits, else (compress set) LZF when longer than 20 bytes and that
 * saves 4 or more, else length and bytes. */
void dump_write_string(struct rbuf *b, const char *s, size_t len, int compress);
/* LZF decompression of in[0..inlen) into exactly outlen bytes (liblzf's):
 * 0, or -1 when the input is malformed or does not make exactly outlen
 * bytes. */
int dump_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out,
                        size_t outlen);

#endif
