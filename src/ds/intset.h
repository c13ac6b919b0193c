/* intset: a sorted array of distinct 64-bit integers packed at the
 * narrowest width (16, 32 or 64 bits) that holds every member, in one
 * allocation.  The small encoding of sets whose members are all integers
 * (Redis's "intset"): binary search for lookups, memmove for changes, and
 * an upgrade of every member to a wider width when a value needs it (never
 * a downgrade, as in Redis).  Members are stored in host byte order; a blob
 * from outside (a snapshot, the network) must pass intset_validate first. */
#ifndef CACHELY_DS_INTSET_H
#define CACHELY_DS_INTSET_H

#include <stddef.h>
#include <stdint.h>

struct intset {
    uint32_t width;             /* bytes per member: 2, 4 or 8 */
    uint32_t length;            /* members */
    unsigned char contents[];   /* packed members, width bytes each */
};

/* An empty set of 16-bit width (mem_alloc'd; never NULL). */
struct intset *intset_create(void);
/* Free; sets *isp = NULL.  NULL *isp is fine. */
void intset_destroy(struct intset **isp);
/* A copy of is. */
struct intset *intset_copy(const struct intset *is);

/* Add v; the set may move (*isp is updated).  Returns 1 when added, 0 when
 * already present. */
int intset_add(struct intset **isp, int64_t v);
/* Remove v; the set may move.  Returns 1 when removed, 0 when absent. */
int intset_remove(struct intset **isp, int64_t v);
/* 1 when v is a member. */
int intset_contains(const struct intset *is, int64_t v);
/* Members. */
static inline size_t
intset_len(const struct intset *is)
{
    return is->length;
}
/* The member at position pos (0 <= pos < length), in ascending order. */
int64_t intset_get(const struct intset *is, size_t pos);
/* The smallest and largest members of an empty set are undefined. */
int64_t intset_min(const struct intset *is);
int64_t intset_max(const struct intset *is);
/* Bytes of the blob (header and members). */
size_t intset_blob_len(const struct intset *is);
/* Bytes allocated (usable size). */
size_t intset_memory(const struct intset *is);

/* Check that len bytes at p form a valid intset blob: a known width, a
 * length that matches len exactly, and strictly ascending members.  Never
 * reads outside p[0..len).  Returns 1 when valid. */
int intset_validate(const void *p, size_t len);
/* A new intset from a blob that passed intset_validate (NULL otherwise). */
struct intset *intset_from_blob(const void *p, size_t len);

#endif
