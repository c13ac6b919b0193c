/* The list type: its object-layer table (a quicklist of packed nodes,
 * "quicklist" for OBJECT ENCODING as in Redis 7.0) and the list operations
 * the LPUSH/LRANGE/LPOS/... handlers in cmd_list.c call. */
#ifndef CACHELY_NODE_T_LIST_H
#define CACHELY_NODE_T_LIST_H

#include "ds/quicklist.h"
#include "node/object.h"

#include <stddef.h>

extern const struct obj_type list_type;

/* A new empty list whose nodes follow fill (list-max-listpack-size) and
 * whose nodes beyond depth of either end are compressed
 * (list-compress-depth; 0: none). */
struct quicklist *list_create(long long fill, long long depth);

/* Clamp LRANGE-style start/end (negative from the tail) to a list of len
 * elements; returns how many elements the range holds and sets *first. */
size_t list_range(size_t len, long long start, long long end, size_t *first);

/* LSET: 0, or -1 when index is out of range. */
int list_set(struct quicklist *ql, long long index, const char *s, size_t len);
/* LINSERT: insert s before/after (LISTPACK_BEFORE/AFTER) the first element
 * equal to pivot; returns 1, or 0 when pivot is absent. */
int list_insert(struct quicklist *ql, int where, const char *pivot, size_t plen,
                const char *s, size_t len);
/* LREM: remove up to |count| elements equal to s (count 0: all), from the
 * head when count >= 0, from the tail otherwise; returns how many. */
size_t list_remove(struct quicklist *ql, long long count, const char *s, size_t len);
/* LTRIM: keep only elements start..end (inclusive, negative from the
 * tail).  The list may end up empty. */
void list_trim(struct quicklist *ql, long long start, long long end);

/* LPOS: indexes of elements equal to s.  rank (non-zero; negative searches
 * from the tail) picks the first match to report, count the number of
 * matches to report (0: all), maxlen the elements to compare (0: all).
 * Returns the number of matches written to *out (owned by the caller,
 * mem_free; NULL when none). */
size_t list_pos(struct quicklist *ql, const char *s, size_t len, long long rank,
                long long count, long long maxlen, long long **out);

#endif
