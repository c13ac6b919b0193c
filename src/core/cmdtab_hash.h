/* Command table rows for hashes, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler), one row per line ending in a backslash.
 * Arity, flags and keys as Redis 7.0 (field expiry: as Redis 7.4/8.0). */
#ifndef CACHELY_CORE_CMDTAB_HASH_H
#define CACHELY_CORE_CMDTAB_HASH_H

#define CMD_LIST_HASH(X)                                                                  \
    X(HSET, NONE, "hset", -4, XW | XM | XF, 1, 1, 1, "hash", "2.0.0", "Set fields of a hash", hset) \
    X(HSETNX, NONE, "hsetnx", 4, XW | XM | XF, 1, 1, 1, "hash", "2.0.0", "Set a hash field only when it is absent", hsetnx) \
    X(HGET, NONE, "hget", 3, XR | XF, 1, 1, 1, "hash", "2.0.0", "Return a hash field's value", hget) \
    X(HMGET, NONE, "hmget", -3, XR | XF, 1, 1, 1, "hash", "2.0.0", "Return the values of several hash fields", hmget) \
    X(HMSET, NONE, "hmset", -4, XW | XM | XF, 1, 1, 1, "hash", "2.0.0", "Set fields of a hash (old form of HSET)", hmset) \
    X(HGETALL, NONE, "hgetall", 2, XR, 1, 1, 1, "hash", "2.0.0", "Return every field and value of a hash", hgetall) \
    X(HKEYS, NONE, "hkeys", 2, XR, 1, 1, 1, "hash", "2.0.0", "Return every field of a hash", hkeys) \
    X(HVALS, NONE, "hvals", 2, XR, 1, 1, 1, "hash", "2.0.0", "Return every value of a hash", hvals) \
    X(HLEN, NONE, "hlen", 2, XR | XF, 1, 1, 1, "hash", "2.0.0", "Return the number of fields of a hash", hlen) \
    X(HSTRLEN, NONE, "hstrlen", 3, XR | XF, 1, 1, 1, "hash", "3.2.0", "Return the length of a hash field's value", hstrlen) \
    X(HEXISTS, NONE, "hexists", 3, XR | XF, 1, 1, 1, "hash", "2.0.0", "Tell whether a hash field exists", hexists) \
    X(HDEL, NONE, "hdel", -3, XW | XF, 1, 1, 1, "hash", "2.0.0", "Delete hash fields", hdel) \
    X(HINCRBY, NONE, "hincrby", 4, XW | XM | XF, 1, 1, 1, "hash", "2.0.0", "Add an integer to a hash field's value", hincrby) \
    X(HINCRBYFLOAT, NONE, "hincrbyfloat", 4, XW | XM | XF, 1, 1, 1, "hash", "2.6.0", "Add a floating-point number to a hash field's value", hincrbyfloat) \
    X(HRANDFIELD, NONE, "hrandfield", -2, XR, 1, 1, 1, "hash", "6.2.0", "Return random fields of a hash", hrandfield) \
    X(HSCAN, NONE, "hscan", -3, XR, 1, 1, 1, "hash", "2.8.0", "Iterate over a hash's fields with a cursor", hscan) \
    X(HEXPIRE, NONE, "hexpire", -6, XW | XF, 1, 1, 1, "hash", "7.4.0", "Set hash fields' time to live in seconds", hexpire) \
    X(HPEXPIRE, NONE, "hpexpire", -6, XW | XF, 1, 1, 1, "hash", "7.4.0", "Set hash fields' time to live in milliseconds", hpexpire) \
    X(HEXPIREAT, NONE, "hexpireat", -6, XW | XF, 1, 1, 1, "hash", "7.4.0", "Set hash fields' expiry as a Unix time in seconds", hexpireat) \
    X(HPEXPIREAT, NONE, "hpexpireat", -6, XW | XF, 1, 1, 1, "hash", "7.4.0", "Set hash fields' expiry as a Unix time in milliseconds", hpexpireat) \
    X(HTTL, NONE, "httl", -5, XR | XF, 1, 1, 1, "hash", "7.4.0", "Return hash fields' time to live in seconds", httl) \
    X(HPTTL, NONE, "hpttl", -5, XR | XF, 1, 1, 1, "hash", "7.4.0", "Return hash fields' time to live in milliseconds", hpttl) \
    X(HEXPIRETIME, NONE, "hexpiretime", -5, XR | XF, 1, 1, 1, "hash", "7.4.0", "Return hash fields' expiry as a Unix time in seconds", hexpiretime) \
    X(HPEXPIRETIME, NONE, "hpexpiretime", -5, XR | XF, 1, 1, 1, "hash", "7.4.0", "Return hash fields' expiry as a Unix time in milliseconds", hpexpiretime) \
    X(HPERSIST, NONE, "hpersist", -5, XW | XF, 1, 1, 1, "hash", "7.4.0", "Remove hash fields' expiry", hpersist) \
    X(HGETEX, NONE, "hgetex", -5, XW | XF, 1, 1, 1, "hash", "8.0.0", "Return hash fields' values and set or remove their expiry", hgetex) \
    X(HSETEX, NONE, "hsetex", -6, XW | XM | XF, 1, 1, 1, "hash", "8.0.0", "Set hash fields with an expiry, optionally only when all exist or none does", hsetex) \
    X(HGETDEL, NONE, "hgetdel", -5, XW | XF, 1, 1, 1, "hash", "8.0.0", "Return hash fields' values and delete them", hgetdel)

#endif
