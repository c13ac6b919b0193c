/* Allocation wrappers with memory accounting.  Every allocation the cache
 * makes for data goes through here so that used memory (for maxmemory and
 * INFO memory) is the sum of allocator-usable sizes.  With jemalloc the
 * allocator's own statistics are also readable; under sanitizers libc malloc
 * is used and accounting relies on malloc_usable_size. */
#ifndef CACHELY_CORE_ALLOC_H
#define CACHELY_CORE_ALLOC_H

#include <stddef.h>

/* Allocate; abort the process on allocation failure (as Redis does: a cache
 * out of address space cannot do anything sensible). */
void *mem_alloc(size_t size);
void *mem_calloc(size_t size);
void *mem_realloc(void *ptr, size_t size);
void mem_free(void *ptr);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
/* Zeroed memory for a big array that is freed whole, such as a hash
 * table's buckets.  From MEM_LARGE_MIN bytes up (and only with jemalloc) it
 * is mapped straight from the kernel, so that mem_free_large gives the
 * pages back at once: jemalloc keeps a freed extent that size resident
 * until its decay runs, which happens only on later allocator activity,
 * and does not cut small blocks out of it, so the tables a growing hash
 * table leaves behind stayed in the RSS (8 MiB of 77 at 1,000,000 keys).
 * Otherwise it is mem_calloc.  Counted in mem_used like any block, and
 * in mem_allocator_stats' figures as if jemalloc held it.
 * mem_free_large needs the size the block was allocated with. */
#define MEM_LARGE_MIN ((size_t)256 * 1024)
void *mem_calloc_large(size_t size);
void mem_free_large(void *ptr, size_t size);

/* Usable size of a block from mem_alloc (>= the size asked for). */
size_t mem_usable(const void *ptr);

/* Bytes currently allocated through this module. */
size_t mem_used(void);
/* Process resident set size in bytes, read from /proc (0 if unknown). */
size_t mem_rss(void);
/* Allocator statistics: allocated, active, resident, retained (jemalloc);
 * each 0 when unavailable.  Refreshes the allocator's epoch. */
struct mem_allocator_stats {
    size_t allocated;
    size_t active;
    size_t resident;
    size_t retained;
};
void mem_allocator_stats(struct mem_allocator_stats *st);
/* The allocator's own statistics report (jemalloc's malloc_stats_print
 * text, MEMORY MALLOC-STATS), NUL-terminated, its length in *len; NULL when
 * the allocator has none (libc).  Owned by the caller: mem_free(). */
char *mem_allocator_report(size_t *len);
/* Give the allocator's unused dirty pages back to the system (MEMORY
 * PURGE): jemalloc purges every arena, libc trims its heap.  0 or -1. */
int mem_allocator_purge(void);
/* Name of the allocator, e.g. "jemalloc-5.3.0" or "libc". */
const char *mem_allocator_name(void);

#endif
