/* Command table rows for lists, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_LIST_H
#define CACHELY_CORE_CMDTAB_LIST_H

#define CMD_LIST_LIST(X)                                                                   \
    X(LPUSH, NONE, "lpush", -3, XW | XM | XF, 1, 1, 1, "list", "1.0.0", "Prepend elements to a list", lpush) \
    X(RPUSH, NONE, "rpush", -3, XW | XM | XF, 1, 1, 1, "list", "1.0.0", "Append elements to a list", rpush) \
    X(LPUSHX, NONE, "lpushx", -3, XW | XM | XF, 1, 1, 1, "list", "2.2.0", "Prepend elements to a list only when it exists", lpushx) \
    X(RPUSHX, NONE, "rpushx", -3, XW | XM | XF, 1, 1, 1, "list", "2.2.0", "Append elements to a list only when it exists", rpushx) \
    X(LPOP, NONE, "lpop", -2, XW | XF, 1, 1, 1, "list", "1.0.0", "Remove and return the first elements of a list", lpop) \
    X(RPOP, NONE, "rpop", -2, XW | XF, 1, 1, 1, "list", "1.0.0", "Remove and return the last elements of a list", rpop) \
    X(LLEN, NONE, "llen", 2, XR | XF, 1, 1, 1, "list", "1.0.0", "Return the length of a list", llen) \
    X(LRANGE, NONE, "lrange", 4, XR, 1, 1, 1, "list", "1.0.0", "Return a range of elements of a list", lrange) \
    X(LINDEX, NONE, "lindex", 3, XR, 1, 1, 1, "list", "1.0.0", "Return the element at an index of a list", lindex) \
    X(LSET, NONE, "lset", 4, XW | XM, 1, 1, 1, "list", "1.0.0", "Set the element at an index of a list", lset) \
    X(LINSERT, NONE, "linsert", 5, XW | XM, 1, 1, 1, "list", "2.2.0", "Insert an element before or after another in a list", linsert) \
    X(LREM, NONE, "lrem", 4, XW, 1, 1, 1, "list", "1.0.0", "Remove elements equal to a value from a list", lrem) \
    X(LTRIM, NONE, "ltrim", 4, XW, 1, 1, 1, "list", "1.0.0", "Keep only a range of elements of a list", ltrim) \
    X(LPOS, NONE, "lpos", -3, XR, 1, 1, 1, "list", "6.0.6", "Return the indexes of elements equal to a value in a list", lpos) \
    X(LMOVE, NONE, "lmove", 5, XW | XM, 1, 2, 1, "list", "6.2.0", "Pop an element from one list and push it onto another", lmove) \
    X(RPOPLPUSH, NONE, "rpoplpush", 3, XW | XM, 1, 2, 1, "list", "1.2.0", "Pop the last element of a list and prepend it to another", rpoplpush) \
    X(LMPOP, NONE, "lmpop", -4, XW | CMD_MOVABLEKEYS, 0, 0, 0, "list", "7.0.0", "Pop elements from the first non-empty of several lists", lmpop) \
    X(BLPOP, NONE, "blpop", -3, XW | XN | CMD_BLOCKING, 1, -2, 1, "list", "2.0.0", "Pop the first element of the first non-empty list, or block until there is one", blpop) \
    X(BRPOP, NONE, "brpop", -3, XW | XN | CMD_BLOCKING, 1, -2, 1, "list", "2.0.0", "Pop the last element of the first non-empty list, or block until there is one", brpop) \
    X(BLMOVE, NONE, "blmove", 6, XW | XM | XN | CMD_BLOCKING, 1, 2, 1, "list", "6.2.0", "Pop an element from a list and push it onto another, or block until there is one", blmove) \
    X(BRPOPLPUSH, NONE, "brpoplpush", 4, XW | XM | XN | CMD_BLOCKING, 1, 2, 1, "list", "2.2.0", "Pop the last element of a list and prepend it to another, or block until there is one", brpoplpush) \
    X(BLMPOP, NONE, "blmpop", -5, XW | CMD_BLOCKING | CMD_MOVABLEKEYS, 0, 0, 0, "list", "7.0.0", "Pop elements from the first non-empty of several lists, or block until there is one", blmpop)

#endif
