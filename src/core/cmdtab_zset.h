/* Command table rows for sorted sets, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_ZSET_H
#define CACHELY_CORE_CMDTAB_ZSET_H

#define CMD_LIST_ZSET(X) \
    X(ZADD, NONE, "zadd", -4, XW | XM | XF, 1, 1, 1, "sorted-set", "1.2.0", "Add members to a sorted set, or update their scores", zadd) \
    X(ZINCRBY, NONE, "zincrby", 4, XW | XM | XF, 1, 1, 1, "sorted-set", "1.2.0", "Increment the score of a member of a sorted set", zincrby) \
    X(ZSCORE, NONE, "zscore", 3, XR | XF, 1, 1, 1, "sorted-set", "1.2.0", "Return the score of a member of a sorted set", zscore) \
    X(ZMSCORE, NONE, "zmscore", -3, XR | XF, 1, 1, 1, "sorted-set", "6.2.0", "Return the scores of members of a sorted set", zmscore) \
    X(ZCARD, NONE, "zcard", 2, XR | XF, 1, 1, 1, "sorted-set", "1.2.0", "Return the number of members of a sorted set", zcard) \
    X(ZCOUNT, NONE, "zcount", 4, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Count the members of a sorted set within a score range", zcount) \
    X(ZLEXCOUNT, NONE, "zlexcount", 4, XR | XF, 1, 1, 1, "sorted-set", "2.8.9", "Count the members of a sorted set within a lexicographical range", zlexcount) \
    X(ZRANK, NONE, "zrank", 3, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Return the rank of a member, lowest score first", zrank) \
    X(ZREVRANK, NONE, "zrevrank", 3, XR | XF, 1, 1, 1, "sorted-set", "2.0.0", "Return the rank of a member, highest score first", zrevrank) \
    X(ZRANGE, NONE, "zrange", -4, XR, 1, 1, 1, "sorted-set", "1.2.0", "Return members of a sorted set within a range of ranks, scores or members", zrange) \
    X(ZRANGESTORE, NONE, "zrangestore", -5, XW | XM, 1, 2, 1, "sorted-set", "6.2.0", "Store a range of a sorted set in another key", zrangestore) \
    X(ZRANGEBYSCORE, NONE, "zrangebyscore", -4, XR, 1, 1, 1, "sorted-set", "1.0.5", "Return members of a sorted set within a score range", zrangebyscore) \
    X(ZREVRANGEBYSCORE, NONE, "zrevrangebyscore", -4, XR, 1, 1, 1, "sorted-set", "2.2.0", "Return members of a sorted set within a score range, highest first", zrevrangebyscore) \
    X(ZRANGEBYLEX, NONE, "zrangebylex", -4, XR, 1, 1, 1, "sorted-set", "2.8.9", "Return members of a sorted set within a lexicographical range", zrangebylex) \
    X(ZREVRANGEBYLEX, NONE, "zrevrangebylex", -4, XR, 1, 1, 1, "sorted-set", "2.8.9", "Return members of a sorted set within a lexicographical range, reversed", zrevrangebylex) \
    X(ZREVRANGE, NONE, "zrevrange", -4, XR, 1, 1, 1, "sorted-set", "1.2.0", "Return members of a sorted set within a range of ranks, highest first", zrevrange) \
    X(ZREM, NONE, "zrem", -3, XW | XF, 1, 1, 1, "sorted-set", "1.2.0", "Remove members from a sorted set", zrem) \
    X(ZREMRANGEBYRANK, NONE, "zremrangebyrank", 4, XW, 1, 1, 1, "sorted-set", "2.0.0", "Remove the members of a sorted set within a range of ranks", zremrangebyrank) \
    X(ZREMRANGEBYSCORE, NONE, "zremrangebyscore", 4, XW, 1, 1, 1, "sorted-set", "1.2.0", "Remove the members of a sorted set within a score range", zremrangebyscore) \
    X(ZREMRANGEBYLEX, NONE, "zremrangebylex", 4, XW, 1, 1, 1, "sorted-set", "2.8.9", "Remove the members of a sorted set within a lexicographical range", zremrangebylex) \
    X(ZPOPMIN, NONE, "zpopmin", -2, XW | XF, 1, 1, 1, "sorted-set", "5.0.0", "Remove and return the members with the lowest scores", zpopmin) \
    X(ZPOPMAX, NONE, "zpopmax", -2, XW | XF, 1, 1, 1, "sorted-set", "5.0.0", "Remove and return the members with the highest scores", zpopmax) \
    X(ZMPOP, NONE, "zmpop", -4, XW | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Remove and return members from the first non-empty sorted set", zmpop) \
    X(ZRANDMEMBER, NONE, "zrandmember", -2, XR, 1, 1, 1, "sorted-set", "6.2.0", "Return random members of a sorted set", zrandmember) \
    X(ZUNION, NONE, "zunion", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the union of sorted sets", zunion) \
    X(ZINTER, NONE, "zinter", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the intersection of sorted sets", zinter) \
    X(ZDIFF, NONE, "zdiff", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "6.2.0", "Return the difference of sorted sets", zdiff) \
    X(ZUNIONSTORE, NONE, "zunionstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "2.0.0", "Store the union of sorted sets", zunionstore) \
    X(ZINTERSTORE, NONE, "zinterstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "2.0.0", "Store the intersection of sorted sets", zinterstore) \
    X(ZDIFFSTORE, NONE, "zdiffstore", -4, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "sorted-set", "6.2.0", "Store the difference of sorted sets", zdiffstore) \
    X(ZINTERCARD, NONE, "zintercard", -3, XR | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Count the members of the intersection of sorted sets", zintercard) \
    X(ZSCAN, NONE, "zscan", -3, XR, 1, 1, 1, "sorted-set", "2.8.0", "Iterate over the members and scores of a sorted set", zscan) \
    X(BZPOPMIN, NONE, "bzpopmin", -3, XW | XN | CMD_BLOCKING | XF, 1, -2, 1, "sorted-set", "5.0.0", "Pop the lowest-scored member, blocking until one is available", bzpopmin) \
    X(BZPOPMAX, NONE, "bzpopmax", -3, XW | XN | CMD_BLOCKING | XF, 1, -2, 1, "sorted-set", "5.0.0", "Pop the highest-scored member, blocking until one is available", bzpopmax) \
    X(BZMPOP, NONE, "bzmpop", -5, XW | CMD_BLOCKING | CMD_MOVABLEKEYS, 0, 0, 0, "sorted-set", "7.0.0", "Pop members from the first non-empty sorted set, blocking until one is available", bzmpop)

#endif
