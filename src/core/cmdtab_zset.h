/* Command table rows for sorted sets, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_ZSET_H
#define CACHELY_CORE_CMDTAB_ZSET_H

#define CMD_LIST_ZSET(X) \
    X(ZADD, NONE, "zadd", -4, XW | XM | XF, 1, 1, 1, "sorted-set", "1.2.0", "Add members to a sorted set, or update their scores") \
    X(ZINCRBY, NONE, "zincrby", 4, XW | XM | XF, 1, 1, 1, "sorted-set", "1.2.0", "Increment the score of a member of a sorted set") \
    X(ZSCORE, NONE, "zscore", 3, XR | XF, 1, 1, 1, "sorted-set", "1.2.0", "Return the score of a member of a sorted set") \
    X(ZMSCORE, NONE, "zmscore", -3, XR | XF, 1, 1, 1, "sorted-set", "6.2.0", "Return the scores of members of a sorted set") \
    X(ZCARD, NONE, "zcard", 2, XR | XF, 1, 1, 1, "sorted-set", "1.2.0", "Return the number of members of a sorted set") \
    X(ZCOUNT, NONE, "zcount", 4, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Count the members of a sorted set within a score range") \
    X(ZLEXCOUNT, NONE, "zlexcount", 4, XR | XF, 1, 1, 1, "sorted-set", "2.8.9", "Count the members of a sorted set within a lexicographical range") \
    X(ZRANK, NONE, "zrank", 3, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Return the rank of a member, lowest score first") \
    X(ZREVRANK, NONE, "zrevrank", 3, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Return the rank of a member, highest score first") \
    X(ZRANGE, NONE, "zrange", -4, XR, 1, 1, 1, "sorted-set", "1.2.0", "Return members of a sorted set within a range of ranks, scores or members") \
    X(ZRANGESTORE, NONE, "zrangestore", -5, XW | XM, 1, 2, 1, "sorted-set", "6.2.0", "Store a range of a sorted set in another key") \
    X(ZRANGEBYSCORE, NONE, "zrangebyscore", -4, XR, 1, 1, 1, "sorted-set", "1.0.5", "Return members of a sorted set within a score range") \
    X(ZREVRANGEBYSCORE, NONE, "zrevrangebyscore", -4, XR, 1, 1, 1, "sorted-set", "2.2.0", "Return members of a sorted set within a score range, highest first") \
    X(ZRANGEBYLEX, NONE, "zrangebylex", -4, XR, 1, 1, 1, "sorted-set", "2.8.9", "Return members of a sorted set within a lexicographical range") \
    X(ZREVRANGEBYLEX, NONE, "zrevrangebylex", -4, XR, 1, 1, 1, "sorted-set", "2.8.9", "Return members of a sorted set within a lexicographical range, reversed") \
    X(ZREVRANGE, NONE, "zrevrange", -4, XR, 1, 1, 1, "sorted-set", "1.2.0", "Return members of a sorted set within a range of ranks, highest first") \
    X(ZREM, NONE, "zrem", -3, XW | XF, 1, 1, 1, "sorted-set", "1.2.0", "Remove members from a sorted set") \
    X(ZREMRANGEBYRANK, NONE, "zremrangebyrank", 4, XW, 1, 1, 1, "sorted-set", "2.0.0", "Remove the members of a sorted set within a range of ranks") \
    X(ZREMRANGEBYSCORE, NONE, "zremrangebyscore", 4, XW, 1, 1, 1, "sorted-set", "1.2.0", "Remove the members of a sorted set within a score range") \
    X(ZREMRANGEBYLEX, NONE, "zremrangebylex", 4, XW, 1, 1, 1, "sorted-set", "2.8.9", "Remove the members of a sorted set within a lexicographical range") \
    X(ZPOPMIN, NONE, "zpopmin", -2, XW | XF, 1, 1, 1, "sorted-set", "5.0.0", "Remove and return the members with the lowest scores") \
    X(ZPOPMAX, NONE, "zpopmax", -2, XW | XF, 1, 1, 1, "sorted-set", "5.0.0", "Remove and return the members with the highest scores") \
    X(ZMPOP, NONE, "zmpop", -4, XW | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Remove and return members from the first non-empty sorted set") \
    X(ZRANDMEMBER, NONE, "zrandmember", -2, XR, 1, 1, 1, "sorted-set", "6.2.0", "Return random members of a sorted set") \
    X(ZUNION, NONE, "zunion", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the union of sorted sets") \
    X(ZINTER, NONE, "zinter", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the intersection of sorted sets") \
    X(ZDIFF, NONE, "zdiff", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the difference of sorted sets") \
    X(ZUNIONSTORE, NONE, "zunionstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "2.0.0", "Store the union of sorted sets") \
    X(ZINTERSTORE, NONE, "zinterstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "2.0.0", "Store the intersection of sorted sets") \
    X(ZDIFFSTORE, NONE, "zdiffstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "6.2.0", "Store the difference of sorted sets") \
    X(ZINTERCARD, NONE, "zintercard", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Count the members of the intersection of sorted sets") \
    X(ZSCAN, NONE, "zscan", -3, XR, 1, 1, 1, "sorted-set", "2.8.0", "Iterate over the members and scores of a sorted set") \
    X(BZPOPMIN, NONE, "bzpopmin", -3, XW | XN | CMD_BLOCKING | XF, 1, -2, 1, "sorted-set", "5.0.0", "Pop the lowest-scored member, blocking until one is available") \
    X(BZPOPMAX, NONE, "bzpopmax", -3, XW | XN | CMD_BLOCKING | XF, 1, -2, 1, "sorted-set", "5.0.0", "Pop the highest-scored member, blocking until one is available") \
    X(BZMPOP, NONE, "bzmpop", -5, XW | CMD_BLOCKING | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Pop members from the first non-empty sorted set, blocking until one is available")

#endif
