/* Command table rows for streams, spliced into CMD_LIST (core/command.h):
 * X(id, parent id or NONE, name, arity, flags, first key, last key, step,
 *   group, since, summary, node handler), one row per line ending in a backslash. */
#ifndef CACHELY_CORE_CMDTAB_STREAM_H
#define CACHELY_CORE_CMDTAB_STREAM_H

#define CMD_LIST_STREAM(X)                                                                 \
    X(XADD, NONE, "xadd", -5, XW | XM | XF, 1, 1, 1, "stream", "5.0.0", "Append an entry to a stream", xadd) \
    X(XRANGE, NONE, "xrange", -4, XR, 1, 1, 1, "stream", "5.0.0", "Return the entries of a stream in an ID range", xrange) \
    X(XREVRANGE, NONE, "xrevrange", -4, XR, 1, 1, 1, "stream", "5.0.0", "Return the entries of a stream in an ID range, newest first", xrevrange) \
    X(XLEN, NONE, "xlen", 2, XR | XF, 1, 1, 1, "stream", "5.0.0", "Return the number of entries in a stream", xlen) \
    X(XDEL, NONE, "xdel", -3, XW | XF, 1, 1, 1, "stream", "5.0.0", "Delete entries from a stream", xdel) \
    X(XTRIM, NONE, "xtrim", -4, XW, 1, 1, 1, "stream", "5.0.0", "Remove the oldest entries of a stream", xtrim) \
    X(XSETID, NONE, "xsetid", -3, XW | XM | XF, 1, 1, 1, "stream", "5.0.0", "Set a stream's last ID and counters", xsetid) \
    X(XREAD, NONE, "xread", -4, XR | CMD_BLOCKING | CMD_MOVABLEKEYS, 0, 0, 0, "stream", "5.0.0", "Read entries after IDs from streams, optionally blocking", xread) \
    X(XREADGROUP, NONE, "xreadgroup", -7, XW | CMD_BLOCKING | CMD_MOVABLEKEYS, 0, 0, 0, "stream", "5.0.0", "Read entries from streams as a consumer of a group, optionally blocking", xreadgroup) \
    X(XACK, NONE, "xack", -4, XW | XF, 1, 1, 1, "stream", "5.0.0", "Acknowledge entries of a consumer group", xack) \
    X(XPENDING, NONE, "xpending", -3, XR, 1, 1, 1, "stream", "5.0.0", "Inspect the pending entries of a consumer group", xpending) \
    X(XCLAIM, NONE, "xclaim", -6, XW | XF, 1, 1, 1, "stream", "5.0.0", "Take over pending entries of a consumer group", xclaim) \
    X(XAUTOCLAIM, NONE, "xautoclaim", -6, XW | XF, 1, 1, 1, "stream", "6.2.0", "Take over idle pending entries of a consumer group with a cursor", xautoclaim) \
    X(XGROUP, NONE, "xgroup", -2, 0, 0, 0, 0, "stream", "5.0.0", "Manage consumer groups", none) \
    X(XGROUP_CREATE, XGROUP, "create", -5, XW | XM, 2, 2, 1, "stream", "5.0.0", "Create a consumer group", xgroup_create) \
    X(XGROUP_SETID, XGROUP, "setid", -5, XW, 2, 2, 1, "stream", "5.0.0", "Set a consumer group's last delivered ID", xgroup_setid) \
    X(XGROUP_DESTROY, XGROUP, "destroy", 4, XW, 2, 2, 1, "stream", "5.0.0", "Delete a consumer group", xgroup_destroy) \
    X(XGROUP_CREATECONSUMER, XGROUP, "createconsumer", 5, XW | XM, 2, 2, 1, "stream", "6.2.0", "Create a consumer in a group", xgroup_createconsumer) \
    X(XGROUP_DELCONSUMER, XGROUP, "delconsumer", 5, XW, 2, 2, 1, "stream", "5.0.0", "Delete a consumer from a group", xgroup_delconsumer) \
    X(XGROUP_HELP, XGROUP, "help", 2, XL | XS, 0, 0, 0, "stream", "5.0.0", "Describe the XGROUP subcommands", xgroup_help) \
    X(XINFO, NONE, "xinfo", -2, 0, 0, 0, 0, "stream", "5.0.0", "Inspect streams and consumer groups", none) \
    X(XINFO_STREAM, XINFO, "stream", -3, XR, 2, 2, 1, "stream", "5.0.0", "Describe a stream", xinfo_stream) \
    X(XINFO_GROUPS, XINFO, "groups", 3, XR, 2, 2, 1, "stream", "5.0.0", "List a stream's consumer groups", xinfo_groups) \
    X(XINFO_CONSUMERS, XINFO, "consumers", 4, XR, 2, 2, 1, "stream", "5.0.0", "List the consumers of a group", xinfo_consumers) \
    X(XINFO_HELP, XINFO, "help", 2, XL | XS, 0, 0, 0, "stream", "5.0.0", "Describe the XINFO subcommands", xinfo_help)

#endif
