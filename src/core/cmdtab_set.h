/* Command table rows for sets, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_SET_H
#define CACHELY_CORE_CMDTAB_SET_H

#define CMD_LIST_SET(X)                                                            \
    X(SADD, NONE, "sadd", -3, XW | XM | XF, 1, 1, 1, "set", "1.0.0", "Add members to a set") \
    X(SREM, NONE, "srem", -3, XW | XF, 1, 1, 1, "set", "1.0.0", "Remove members from a set") \
    X(SMEMBERS, NONE, "smembers", 2, XR, 1, 1, 1, "set", "1.0.0", "Return every member of a set") \
    X(SISMEMBER, NONE, "sismember", 3, XR | XF, 1, 1, 1, "set", "1.0.0", "Tell whether a value is a member of a set") \
    X(SMISMEMBER, NONE, "smismember", -3, XR | XF, 1, 1, 1, "set", "6.2.0", "Tell whether each of several values is a member of a set") \
    X(SCARD, NONE, "scard", 2, XR | XF, 1, 1, 1, "set", "1.0.0", "Return the number of members of a set") \
    X(SPOP, NONE, "spop", -2, XW | XF, 1, 1, 1, "set", "1.0.0", "Remove and return random members of a set") \
    X(SRANDMEMBER, NONE, "srandmember", -2, XR, 1, 1, 1, "set", "1.0.0", "Return random members of a set") \
    X(SMOVE, NONE, "smove", 4, XW | XF, 1, 2, 1, "set", "1.0.0", "Move a member from one set to another") \
    X(SINTER, NONE, "sinter", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the intersection of sets") \
    X(SINTERCARD, NONE, "sintercard", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "set", "7.0.0", "Return the size of the intersection of sets") \
    X(SINTERSTORE, NONE, "sinterstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the intersection of sets in a key") \
    X(SUNION, NONE, "sunion", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the union of sets") \
    X(SUNIONSTORE, NONE, "sunionstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the union of sets in a key") \
    X(SDIFF, NONE, "sdiff", -2, XR, 1, -1, 1, "set", "1.0.0", "Return the members of the first set absent from the others") \
    X(SDIFFSTORE, NONE, "sdiffstore", -3, XW | XM, 1, -1, 1, "set", "1.0.0", "Store the difference of sets in a key") \
    X(SSCAN, NONE, "sscan", -3, XR, 1, 1, 1, "set", "2.8.0", "Iterate over the members of a set with a cursor")

#endif
