/* The object layer: what the keyspace needs to know about every value type.
 *
 * A string lives inside its keyspace entry (one allocation per key).  Every
 * other type (list, set, sorted set, hash, stream) hangs off the entry: the
 * entry's value bytes hold one pointer to the type's object, and the
 * type's operations table (struct obj_type) says how to free it, measure it,
 * copy it, name its encoding, fingerprint it for DEBUG DIGEST, and write it
 * out as bounded commands for snapshots, full syncs and AOF rewrites.
 *
 * A type registers its table once, in object.c's registry, from its own
 * type file (t_hash.c, t_list.c, ...); db.c, snapshot.c and the generic key
 * commands (TYPE, OBJECT, MEMORY USAGE, COPY, SCAN TYPE, DEBUG DIGEST) only
 * ever call through the table. */
#ifndef CACHELY_NODE_OBJECT_H
#define CACHELY_NODE_OBJECT_H

#include "core/rbuf.h"
#include "node/entry.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct obj_emitter;

/* Operations of one value type.  Every function takes the object the entry
 * points to (never NULL). */
struct obj_type {
    const char *name;                  /* TYPE's reply: "list", "hash", ... */
    /* Free the object and everything it owns. */
    void (*free)(void *obj);
    /* Bytes the object owns (allocations, by usable size), for MEMORY USAGE. */
    size_t (*memory)(const void *obj);
    /* A deep copy (COPY). */
    void *(*copy)(const void *obj);
    /* OBJECT ENCODING's name for the current representation. */
    const char *(*encoding)(const void *obj);
    /* Elements held (for the lazy-free decision and INFO). */
    size_t (*length)(const void *obj);
    /* An order-independent fingerprint of the contents where the type is
     * unordered (sets, hashes), in order where it is ordered (lists, sorted
     * sets): equal on two nodes holding equal values whatever their
     * encodings.  Fold each element in with obj_digest_* below. */
    void (*digest)(const void *obj, uint64_t h[3]);
    /* Write the value as commands that rebuild it under key, in batches of
     * at most OBJ_REWRITE_BATCH items (see obj_emit_*), so that a huge
     * collection never becomes one giant command. */
    void (*rewrite)(const void *obj, const char *key, size_t keylen,
                    struct obj_emitter *em);
};

/* Items (elements, field/value pairs, score/member pairs) per rewritten
 * command; a batch is also cut when its arguments pass OBJ_REWRITE_BYTES. */
#define OBJ_REWRITE_BATCH 128
#define OBJ_REWRITE_BYTES (64 * 1024)

/* The type table of an entry type, or NULL for strings (which have no
 * object) and unknown types. */
const struct obj_type *obj_type_of(unsigned type);
/* Register a type's table. */
void obj_register(unsigned type, const struct obj_type *ops);
/* Register every type the node has (main and the unit tests call it once
 * at startup).  A new type adds its line there. */
void object_setup(void);
/* TYPE's name for an entry. */
const char *obj_type_name(const struct entry *e);
/* The entry type whose TYPE name is name[0..len), or -1 (SCAN ... TYPE). */
int obj_type_by_name(const char *name, size_t len);

/* Low bits of the object pointer entry_obj() makes for an inline object
 * (enc ENTRY_ENC_INLINE: the entry's value bytes are the object itself; only
 * small hashes use it, see t_hash.c): the entry's own address (16-byte
 * aligned) with these bits set.  The type's functions recognise the tag and
 * read the value bytes through obj_inline_entry(); free() of such an object
 * frees nothing (the entry's block is the keyspace's) and must not touch
 * the entry, which may already be gone (lazy free).  The value bytes hold
 * no pointers, so an entry's copy (COPY) copies them as a string's. */
#define OBJ_INLINE_TAG 3u

/* The object a non-string entry points to (or an inline object's tagged
 * entry address). */
static inline void *
entry_obj(const struct entry *e)
{
    if (e->enc == ENTRY_ENC_INLINE) {
        return (void *)((uintptr_t)e | OBJ_INLINE_TAG);
    }
    void *p;
    memcpy(&p, entry_val(e), sizeof(p));
    return p;
}

/* The entry of an inline object made by entry_obj(). */
static inline struct entry *
obj_inline_entry(const void *obj)
{
    return (struct entry *)((uintptr_t)obj & ~(uintptr_t)OBJ_INLINE_TAG);
}

/* Point a non-string entry at a (new) object; the old one is not freed.
 * Not for an inline entry, whose value bytes are not a pointer: a type
 * with inline objects stores through db_set_value(). */
static inline void
entry_set_obj(struct entry *e, void *obj)
{
    memcpy(entry_val(e), &obj, sizeof(obj));
}

/* Free the object of a non-string entry (nothing for strings). */
void obj_free_entry_value(struct entry *e);
/* Bytes owned by the entry's object (0 for strings). */
size_t obj_entry_value_memory(const struct entry *e);

/* ---- fingerprints ----------------------------------------------------------
 * FNV-1a over bytes, from three fixed bases (the dict's hash is seeded per
 * process and so differs between nodes). */
uint64_t obj_fnv1a(uint64_t h, const void *p, size_t len);
extern const uint64_t obj_digest_bases[3];
/* Fold one element made of up to two parts (member; field and value; member
 * and score text) into h, order-independently (XOR of per-element hashes). */
void obj_digest_unordered(uint64_t h[3], const void *a, size_t alen,
                          const void *b, size_t blen);
/* Fold one element in sequence (lists, sorted sets in order). */
void obj_digest_ordered(uint64_t h[3], const void *a, size_t alen,
                        const void *b, size_t blen);

/* ---- rewriting as commands -------------------------------------------------
 * A type's rewrite() calls obj_emit_begin once with the command that adds
 * items ("RPUSH", "HSET", "ZADD", "SADD", ...), then for each item its
 * arguments with obj_emit_arg*() followed by obj_emit_item_end().  The
 * emitter repeats "CMD key" every OBJ_REWRITE_BATCH items or
 * OBJ_REWRITE_BYTES bytes.  obj_emit_command writes one whole command
 * (for state that is not a list of items, e.g. XGROUP CREATE). */
struct obj_emitter;
typedef void (*obj_emit_write_fn)(void *arg, const char *buf, size_t len);

void obj_emit_begin(struct obj_emitter *em, const char *cmd, const char *key,
                    size_t keylen);
void obj_emit_arg(struct obj_emitter *em, const char *p, size_t len);
void obj_emit_arg_ll(struct obj_emitter *em, long long v);
/* A double that reads back exactly (obj_double_str). */
void obj_emit_arg_double(struct obj_emitter *em, double d);
void obj_emit_item_end(struct obj_emitter *em);
/* Flush the last partial batch; called by the snapshot writer after
 * rewrite() returns (types need not call it). */
void obj_emit_end(struct obj_emitter *em);
void obj_emit_command(struct obj_emitter *em, size_t argc, const char *const *argv,
                      const size_t *lens);

/* For the snapshot writer: an emitter writing through fn.  The emitter is
 * opaque to types; its storage lives here so the writer can keep one. */
struct obj_emitter {
    obj_emit_write_fn write;     /* where finished commands go */
    void *arg;                   /* borrowed: fn's argument */
    char cmd[32];                /* the item command of the open batch */
    size_t cmdlen;
    const char *key;             /* borrowed: during one rewrite() */
    size_t keylen;
    struct rbuf args;            /* RESP-encoded arguments of the batch */
    size_t nargs;                /* arguments in args */
    size_t items;                /* finished items in args */
    size_t item_start;           /* args.len when the open item began */
    size_t item_nargs_start;
};
void obj_emitter_init(struct obj_emitter *em, obj_emit_write_fn fn, void *arg);
void obj_emitter_release(struct obj_emitter *em);

/* Format a double for a command argument so that it reads back as the same
 * double (%.17g; "inf"/"-inf"); returns the length written to buf (at least
 * 32 bytes).  Replies have their own formatting rules (reply_double). */
size_t obj_double_str(char *buf, double d);

#endif
