/* The compact keyspace entry: key, value, TTL and LRU/LFU bits in a single
 * allocation.  A non-volatile 16-byte key with a 32-byte value is one 80-byte
 * jemalloc block; a volatile one adds a 24-byte TTL block (expiry time and the
 * TTL index links) and fits 96 bytes.  Redis spends about 170 bytes on the
 * same key (dictEntry, key sds, robj+embstr, expires dictEntry). */
#ifndef CACHELY_NODE_ENTRY_H
#define CACHELY_NODE_ENTRY_H

#include "core/util.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Value types, numbered as Redis numbers them.  A string's bytes live in
 * the entry; every other type's entry holds one pointer to an object that
 * the type's table in the object layer (node/object.h) manages. */
enum entry_type {
    ENTRY_STRING = 0,
    ENTRY_LIST = 1,
    ENTRY_SET = 2,
    ENTRY_ZSET = 3,
    ENTRY_HASH = 4,
    ENTRY_STREAM = 6,
};

/* What OBJECT ENCODING reports depends on how Redis built the value, not only
 * on its bytes, so the entry remembers which path wrote it:
 *   ENTRY_ENC_AUTO  as SET leaves it: "int" when the value reads as a long
 *                   long, else "embstr" up to 44 bytes, else "raw";
 *   ENTRY_ENC_STR   never "int" (INCRBYFLOAT builds a string: "2" is embstr);
 *   ENTRY_ENC_RAW   "raw" whatever the length: the value was edited in place
 *                   (APPEND to or SETRANGE of an existing value).
 * A snapshot does not keep it: Redis re-encodes what it loads too. */
enum entry_enc {
    ENTRY_ENC_AUTO = 0,
    ENTRY_ENC_STR = 1,
    ENTRY_ENC_RAW = 2,
};

#define ENTRY_EMBSTR_MAX 44     /* longest value Redis stores as embstr */

struct entry_ttl {
    long long expire_ms;        /* absolute Unix time in ms */
    struct entry *ttl_next;     /* borrowed: next entry in its TTL slot */
    struct entry **ttl_pprev;   /* borrowed: the link that points at us */
};

struct entry {
    struct entry *next;         /* borrowed: next entry in the hash chain */
    uint32_t hash;              /* low 32 bits of the key hash */
    uint32_t keylen;
    uint32_t vallen;
    uint32_t lru : 24;          /* LRU clock or LFU (16-bit minutes, 8-bit log counter) */
    uint32_t type : 4;          /* enum entry_type */
    uint32_t volatile_ : 1;     /* has an entry_ttl block */
    uint32_t enc : 2;           /* enum entry_enc */
    uint32_t spare : 1;
    /* then, when volatile_: struct entry_ttl; then key bytes; then value */
    char data[];
};

static inline struct entry_ttl *
entry_ttl(struct entry *e)
{
    return (struct entry_ttl *)(void *)e->data;
}

static inline size_t
entry_header_size(int is_volatile)
{
    return sizeof(struct entry) + (is_volatile ? sizeof(struct entry_ttl) : 0);
}

static inline char *
entry_key(struct entry *e)
{
    return e->data + (e->volatile_ ? sizeof(struct entry_ttl) : 0);
}

static inline char *
entry_val(struct entry *e)
{
    return entry_key(e) + e->keylen;
}

static inline long long
entry_expire(struct entry *e)
{
    return e->volatile_ ? entry_ttl(e)->expire_ms : -1;
}

/* The encoding name Redis 7.0 gives this value (OBJECT ENCODING, DEBUG
 * OBJECT); a static string. */
static inline const char *
entry_encoding(struct entry *e)
{
    long long ll;
    if (e->enc == ENTRY_ENC_RAW) {
        return "raw";
    }
    if (e->enc == ENTRY_ENC_AUTO && e->vallen <= 20
        && util_str2ll(entry_val(e), e->vallen, &ll) == 0) {
        return "int";
    }
    return e->vallen <= ENTRY_EMBSTR_MAX ? "embstr" : "raw";
}

#endif
