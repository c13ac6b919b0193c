/* Command table rows for sets, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_SET_H
#define CACHELY_CORE_CMDTAB_SET_H

#define CMD_LIST_SET(X)                                                            \
    X(SADD, NONE, "sadd", -3, XW | XM | XF, 1, 1, 1, "set", "1.0.0", "Add members to a set", sadd) \
    X(SREM, NONE, "srem", -3, XW | XF, 1, 1, 1, "set", "1.0.0", "Remove members from a set", srem) \
    X(SMEMBERS, NONE, "smembers", 2, XR, 1, 1, 1, "set", "1.0.0", "Return every member of a set", smembers) \
    X(SISMEMBER, NONE, "sismember", 3, XR | XF, 1, 1, 1, "set", "1.0.0", "Tell whether a value is a member of a set", sismember) \
    X(SMISMEMBER, NONE, "smismember", -3, XR | XF, 1, 1, 1, "set", "6.2.0", "Tell whether each of several values is a member of a set", smismember) \
    X(SCARD, NONE, "scard", 2, XR | XF, 1, 1, 1, "set", "1.0.0", "Return the number of members of a set", scard) \
    X(SPOP, NONE, "spop", -2, XW | XF, 1, 1, 1, "set", "1.0.0", "Remove and return random members of a set", spop) \
    X(SRANDMEMBER, NONE, "srandmember", -2, XR, 1, 1, 1, "set", "1.0.0", "Return random members of a set", srandmember) \
    X(SMOVE, NONE, "smove", 4, XW | XF, 1, 2, 1, "set", "1.0.0", "Move a member from one set to another", smove) \
    X(SINTER, NONE, "sinter", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the intersection of sets", sinter) \
    X(SINTERCARD, NONE, "sintercard", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "set", "7.0.0", "Return the size of the intersection of sets", sintercard) \
    X(SINTERSTORE, NONE, "sinterstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the intersection of sets in a key", sinterstore) \
    X(SUNION, NONE, "sunion", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the union of sets", sunion) \
    X(SUNIONSTORE, NONE, "sunionstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the union of sets in a key", sunionstore) \
    X(SDIFF, NONE, "sdiff", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the members of the first set absent from the others", sdiff) \
    X(SDIFFSTORE, NONE, "sdiffstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the difference of sets in a key", sdiffstore) \
    X(SSCAN, NONE, "sscan", -3, XR, 1, 1, 1, "set", "2.8.0", "Iterate over the members of a set with a cursor", sscan)

#endif
