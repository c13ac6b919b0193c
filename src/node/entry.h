/* The compact keyspace entry: key, value, TTL and LRU/LFU bits in a single
 * allocation.  A non-volatile 10-byte key with a 32-byte value is a 56-byte
 * block in jemalloc's 64-byte class; a volatile one adds a 24-byte TTL block
 * (expiry time and the TTL index links) and is 80 bytes, the 80-byte class.
 * Redis spends about 120 bytes on the non-volatile key (dictEntry, key sds,
 * robj+embstr) and about 170 on the volatile one (plus the expires
 * dictEntry). */
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
/* struct entry keeps the type in 3 bits. */
_Static_assert(ENTRY_STREAM < 8, "entry types fit struct entry's type field");

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

/* The TTL index's links, 8-byte aligned at offset 16 of a volatile entry. */
struct entry_ttl {
    struct entry *ttl_next;     /* borrowed: next entry in its TTL slot */
    struct entry **ttl_pprev;   /* borrowed: the link that points at us */
};

/* A 12-byte header, then the variable part:
 *   [the TTL block, 24 bytes, when volatile_: the expiry time's low 32
 *    bits, struct entry_ttl, its high 32 bits]
 *   [key and value lengths, in one of three forms (enum entry_lens)]
 *   [key bytes][value bytes]
 * The expiry time is split around the links so that they stay aligned with
 * no padding: a volatile 10-byte key with a 32-byte value is 80 bytes, where
 * a 16-byte header and a whole 24-byte block made it 84, in the 96-byte
 * class (16 MiB more per million such keys).  The entry keeps no hash: the
 * table hashes the key again when it moves the entry to a bigger table, and
 * compares lengths and bytes on lookup (the bytes share the header's cache
 * line for short keys).
 * The lengths take two bytes for the usual key shorter than 256 bytes with a
 * value shorter than 256 bytes, so a 10-byte key with a 32-byte value is a
 * 56-byte block (jemalloc's 64-byte class; with the 16-byte header that
 * held the hash, fixed 32-bit lengths made it 66 bytes, the 80-byte class);
 * three bytes (a 16-bit value length) up to 64 KiB, so a small hash held
 * inline (a 289-byte listpack under an 11-byte key) is 315 bytes, jemalloc's
 * 320-byte class; eight past that.
 * Read the lengths with entry_keylen() and entry_vallen(); change them only
 * through entry_init_lens() (a new block) or entry_set_vallen() (moves the
 * key when the form changes). */
enum entry_lens {
    ENTRY_LENS_NARROW = 0,      /* u8 key length, u8 value length */
    ENTRY_LENS_MID = 1,         /* u8 key length, u16 value length */
    ENTRY_LENS_WIDE = 2,        /* u32 key length, u32 value length */
};

struct entry {
    struct entry *next;         /* borrowed: next entry in the hash chain */
    uint32_t lru : 24;          /* LRU clock or LFU (16-bit minutes, 8-bit log counter) */
    uint32_t type : 3;          /* enum entry_type */
    uint32_t volatile_ : 1;     /* has an entry_ttl block */
    uint32_t enc : 2;           /* enum entry_enc; ENTRY_ENC_INLINE for objects */
    uint32_t lens : 2;          /* enum entry_lens */
    char data[];
};

/* enc of a non-string entry whose value bytes are the object itself rather
 * than a pointer to it (a small hash's listpack: one allocation, no pointer;
 * see entry_obj() in node/object.h).  Strings never use it. */
#define ENTRY_ENC_INLINE 3

/* Where the variable part starts (sizeof(struct entry) pads it to 16), and
 * the size of the TTL block and of its pieces' offsets. */
#define ENTRY_HEADER_SIZE offsetof(struct entry, data)
#define ENTRY_TTL_SIZE 24
#define ENTRY_TTL_LINKS 16      /* offset of struct entry_ttl in the entry */
#define ENTRY_TTL_HIGH 32       /* offset of the expiry's high 32 bits */
_Static_assert(offsetof(struct entry, data) == 12, "a 12-byte entry header");
_Static_assert(ENTRY_TTL_LINKS % 8 == 0 && ENTRY_TTL_LINKS >= 12 + 4, "links aligned");
_Static_assert(ENTRY_TTL_HIGH == ENTRY_TTL_LINKS + sizeof(struct entry_ttl), "layout");

#define ENTRY_NARROW_MAX 255    /* longest key or value with 1-byte lengths */
#define ENTRY_MID_MAX 65535     /* longest value with the 16-bit form */

/* The TTL links of a volatile entry. */
static inline struct entry_ttl *
entry_ttl(struct entry *e)
{
    return (struct entry_ttl *)(void *)((char *)e + ENTRY_TTL_LINKS);
}

/* The form of the lengths for a key and value this long. */
static inline unsigned
entry_lens_for(size_t keylen, size_t vallen)
{
    if (keylen > ENTRY_NARROW_MAX || vallen > ENTRY_MID_MAX) {
        return ENTRY_LENS_WIDE;
    }
    return vallen > ENTRY_NARROW_MAX ? ENTRY_LENS_MID : ENTRY_LENS_NARROW;
}

/* Bytes the lengths take in a form. */
static inline size_t
entry_lens_size(unsigned lens)
{
    return lens == ENTRY_LENS_WIDE ? 8 : 2 + lens;
}

/* Bytes before the key: the header, the TTL block and the lengths. */
static inline size_t
entry_prefix_size(int is_volatile, unsigned lens)
{
    return ENTRY_HEADER_SIZE + (is_volatile ? ENTRY_TTL_SIZE : 0) + entry_lens_size(lens);
}

/* Bytes a block for this key and value needs. */
static inline size_t
entry_size(int is_volatile, size_t keylen, size_t vallen)
{
    return entry_prefix_size(is_volatile, entry_lens_for(keylen, vallen)) + keylen
           + vallen;
}

static inline unsigned char *
entry_lens(const struct entry *e)
{
    return (unsigned char *)e->data + (e->volatile_ ? ENTRY_TTL_SIZE : 0);
}

static inline size_t
entry_keylen(const struct entry *e)
{
    const unsigned char *l = entry_lens(e);
    if (e->lens == ENTRY_LENS_WIDE) {
        uint32_t v;
        memcpy(&v, l, sizeof(v));
        return v;
    }
    return l[0];
}

static inline size_t
entry_vallen(const struct entry *e)
{
    const unsigned char *l = entry_lens(e);
    switch (e->lens) {
    case ENTRY_LENS_NARROW:
        return l[1];
    case ENTRY_LENS_MID:
        return (size_t)l[1] | (size_t)l[2] << 8;
    default: {
        uint32_t v;
        memcpy(&v, l + 4, sizeof(v));
        return v;
    }
    }
}

static inline char *
entry_key(const struct entry *e)
{
    return (char *)entry_lens(e) + entry_lens_size(e->lens);
}

static inline char *
entry_val(const struct entry *e)
{
    return entry_key(e) + entry_keylen(e);
}

/* Lay out the lengths of a new block (volatile_ already set; the block has
 * entry_size() bytes); the caller copies the key and value in after. */
static inline void
entry_init_lens(struct entry *e, size_t keylen, size_t vallen)
{
    unsigned char *l = entry_lens(e);
    e->lens = entry_lens_for(keylen, vallen);
    switch (e->lens) {
    case ENTRY_LENS_NARROW:
        l[0] = (unsigned char)keylen;
        l[1] = (unsigned char)vallen;
        break;
    case ENTRY_LENS_MID:
        l[0] = (unsigned char)keylen;
        l[1] = (unsigned char)vallen;
        l[2] = (unsigned char)(vallen >> 8);
        break;
    default: {
        uint32_t k = (uint32_t)keylen, v = (uint32_t)vallen;
        memcpy(l, &k, sizeof(k));
        memcpy(l + 4, &v, sizeof(v));
        break;
    }
    }
}

/* Change the value's length, keeping the key and the first
 * min(old, new) value bytes; when the lengths' form changes the key and
 * value move by the difference, so the block must hold both the old and
 * the new size. */
static inline void
entry_set_vallen(struct entry *e, size_t vallen)
{
    size_t keylen = entry_keylen(e);
    unsigned lens = entry_lens_for(keylen, vallen);
    if (lens != e->lens) {
        size_t old = entry_vallen(e);
        char *from = entry_key(e);
        size_t keep = keylen + (old < vallen ? old : vallen);
        /* Move first: wider lengths overwrite the key's first bytes. */
        memmove(entry_lens(e) + entry_lens_size(lens), from, keep);
    }
    entry_init_lens(e, keylen, vallen);
}

/* The absolute expiry time in Unix ms of a volatile entry, -1 for others. */
static inline long long
entry_expire(const struct entry *e)
{
    uint32_t lo, hi;
    if (!e->volatile_) {
        return -1;
    }
    memcpy(&lo, e->data, sizeof(lo));
    memcpy(&hi, (const char *)e + ENTRY_TTL_HIGH, sizeof(hi));
    return (long long)((uint64_t)hi << 32 | lo);
}

/* Store the expiry time of a volatile entry. */
static inline void
entry_set_expire(struct entry *e, long long ms)
{
    uint64_t v = (uint64_t)ms;
    uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
    memcpy(e->data, &lo, sizeof(lo));
    memcpy((char *)e + ENTRY_TTL_HIGH, &hi, sizeof(hi));
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
    size_t vallen = entry_vallen(e);
    if (e->enc == ENTRY_ENC_AUTO && vallen <= 20
        && util_str2ll(entry_val(e), vallen, &ll) == 0) {
        return "int";
    }
    return vallen <= ENTRY_EMBSTR_MAX ? "embstr" : "raw";
}

#endif
