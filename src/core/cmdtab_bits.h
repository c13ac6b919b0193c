/* Command table rows for bitmaps, HyperLogLog and LCS, spliced into CMD_LIST
 * (core/command.h): X(id, parent id or NONE, name, arity, flags, first key,
 * last key, step, group, since, summary, node handler). */
#ifndef CACHELY_CORE_CMDTAB_BITS_H
#define CACHELY_CORE_CMDTAB_BITS_H

#define CMD_LIST_BITS(X)                                                                   \
    X(SETBIT, NONE, "setbit", 4, XW | XM, 1, 1, 1, "bitmap", "2.2.0", "Set or clear the bit at an offset of a string", setbit) \
    X(GETBIT, NONE, "getbit", 3, XR | XF, 1, 1, 1, "bitmap", "2.2.0", "Return the bit at an offset of a string", getbit) \
    X(BITCOUNT, NONE, "bitcount", -2, XR, 1, 1, 1, "bitmap", "2.6.0", "Count the set bits of a string", bitcount) \
    X(BITPOS, NONE, "bitpos", -3, XR, 1, 1, 1, "bitmap", "2.8.7", "Find the first set or clear bit of a string", bitpos) \
    X(BITOP, NONE, "bitop", -4, XW | XM, 2, -1, 1, "bitmap", "2.6.0", "Store a bitwise operation over strings", bitop) \
    X(BITFIELD, NONE, "bitfield", -2, XW | XM, 1, 1, 1, "bitmap", "3.2.0", "Read and write integer fields of a string", bitfield) \
    X(BITFIELD_RO, NONE, "bitfield_ro", -2, XR | XF, 1, 1, 1, "bitmap", "6.0.0", "Read integer fields of a string", bitfield_ro) \
    X(PFADD, NONE, "pfadd", -2, XW | XM | XF, 1, 1, 1, "hyperloglog", "2.8.9", "Add elements to a HyperLogLog", pfadd) \
    X(PFCOUNT, NONE, "pfcount", -2, XR | CMD_MAY_REPLICATE, 1, -1, 1, "hyperloglog", "2.8.9", "Estimate the distinct elements of HyperLogLogs", pfcount) \
    X(PFMERGE, NONE, "pfmerge", -2, XW | XM, 1, -1, 1, "hyperloglog", "2.8.9", "Merge HyperLogLogs into one", pfmerge) \
    X(PFDEBUG, NONE, "pfdebug", 3, XW | XM | XA, 2, 2, 1, "hyperloglog", "2.8.9", "Inspect a HyperLogLog's internals", pfdebug) \
    X(PFSELFTEST, NONE, "pfselftest", 1, XA, 0, 0, 0, "hyperloglog", "2.8.9", "Run the HyperLogLog self test", pfselftest) \
    X(SORT, NONE, "sort", -2, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "generic", "1.0.0", "Sort the elements of a list, set or sorted set", sort) \
    X(SORT_RO, NONE, "sort_ro", -2, XR | CMD_MOVABLEKEYS, 1, 1, 1, "generic", "7.0.0", "Sort the elements of a list, set or sorted set (read-only)", sort_ro) \
    X(GEOADD, NONE, "geoadd", -5, XW | XM, 1, 1, 1, "geo", "3.2.0", "Add points to a geospatial index", geoadd) \
    X(GEOPOS, NONE, "geopos", -2, XR, 1, 1, 1, "geo", "3.2.0", "Return the positions of members of a geospatial index", geopos) \
    X(GEODIST, NONE, "geodist", -4, XR, 1, 1, 1, "geo", "3.2.0", "Return the distance between two members of a geospatial index", geodist) \
    X(GEOHASH, NONE, "geohash", -2, XR, 1, 1, 1, "geo", "3.2.0", "Return members of a geospatial index as geohash strings", geohash) \
    X(GEOSEARCH, NONE, "geosearch", -7, XR, 1, 1, 1, "geo", "6.2.0", "Return members of a geospatial index inside a circle or a box", geosearch) \
    X(GEOSEARCHSTORE, NONE, "geosearchstore", -8, XW | XM, 1, 2, 1, "geo", "6.2.0", "Store members of a geospatial index inside a circle or a box", geosearchstore) \
    X(GEORADIUS, NONE, "georadius", -6, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "geo", "3.2.0", "Return (or STORE) members of a geospatial index within a radius of a point", georadius) \
    X(GEORADIUSBYMEMBER, NONE, "georadiusbymember", -5, XW | XM | CMD_MOVABLEKEYS, 1, 1, 1, "geo", "3.2.0", "Return (or STORE) members of a geospatial index within a radius of a member", georadiusbymember) \
    X(GEORADIUS_RO, NONE, "georadius_ro", -6, XR, 1, 1, 1, "geo", "3.2.10", "Return members of a geospatial index within a radius of a point", georadius_ro) \
    X(GEORADIUSBYMEMBER_RO, NONE, "georadiusbymember_ro", -5, XR, 1, 1, 1, "geo", "3.2.10", "Return members of a geospatial index within a radius of a member", georadiusbymember_ro) \
    X(LCS, NONE, "lcs", -3, XR, 1, 2, 1, "string", "7.0.0", "Find the longest common subsequence of two strings", lcs)

#endif
