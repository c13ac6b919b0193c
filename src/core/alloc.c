/* Allocation wrappers and the used-memory counter.  The counter is updated
 * with relaxed atomics: the event loop allocates, and the lazy-free thread
 * frees (it only needs to be exact, not ordered). */
#include "config.h"
#include "core/alloc.h"

/* The libFuzzer targets (make fuzz) allocate with libc malloc, whose every
 * block AddressSanitizer watches, even when the build uses jemalloc. */
#ifdef CACHELY_FUZZ_LIBC_MALLOC
#undef USE_JEMALLOC
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#define usable_size(p) malloc_usable_size((void *)(p))
#else
#include <malloc.h>
#define usable_size(p) malloc_usable_size((void *)(p))
#endif

static size_t used_memory;
static size_t mapped_memory;    /* the part of used_memory mem_calloc_large mapped */

static void
mem_oom(size_t size)
{
    fprintf(stderr, "cachely: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *
mem_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        mem_oom(size);
    }
    __atomic_add_fetch(&used_memory, usable_size(p), __ATOMIC_RELAXED);
    return p;
}

void *
mem_calloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p == NULL) {
        mem_oom(size);
    }
    __atomic_add_fetch(&used_memory, usable_size(p), __ATOMIC_RELAXED);
    return p;
}

void *
mem_realloc(void *ptr, size_t size)
{
    size_t old = ptr ? usable_size(ptr) : 0;
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) {
        mem_oom(size);
    }
    __atomic_add_fetch(&used_memory, usable_size(p) - old, __ATOMIC_RELAXED);
    return p;
}

void
mem_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    __atomic_sub_fetch(&used_memory, usable_size(ptr), __ATOMIC_RELAXED);
    free(ptr);
}

/* Whether a large block of this size is mapped rather than malloc'ed.
 * Under the sanitizers (libc malloc) every block stays a malloc block, so
 * AddressSanitizer keeps watching it. */
static int
large_is_mapped(size_t size)
{
#ifdef USE_JEMALLOC
    return size >= MEM_LARGE_MIN;
#else
    (void)size;
    return 0;
#endif
}

static size_t
page_round(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) & ~(page - 1);
}

void *
mem_calloc_large(size_t size)
{
    if (!large_is_mapped(size)) {
        return mem_calloc(size);
    }
    size_t len = page_round(size);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        mem_oom(size);
    }
    __atomic_add_fetch(&used_memory, len, __ATOMIC_RELAXED);
    __atomic_add_fetch(&mapped_memory, len, __ATOMIC_RELAXED);
    return p;
}

void
mem_free_large(void *ptr, size_t size)
{
    if (ptr == NULL) {
        return;
    }
    if (!large_is_mapped(size)) {
        mem_free(ptr);
        return;
    }
    size_t len = page_round(size);
    __atomic_sub_fetch(&used_memory, len, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&mapped_memory, len, __ATOMIC_RELAXED);
    munmap(ptr, len);
}

char *
mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *
mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

size_t
mem_usable(const void *ptr)
{
    return ptr ? usable_size(ptr) : 0;
}

size_t
mem_used(void)
{
    return __atomic_load_n(&used_memory, __ATOMIC_RELAXED);
}

size_t
mem_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

void
mem_allocator_stats(struct mem_allocator_stats *st)
{
    memset(st, 0, sizeof(*st));
#ifdef USE_JEMALLOC
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(size_t);
    mallctl("stats.allocated", &st->allocated, &sz, NULL, 0);
    mallctl("stats.active", &st->active, &sz, NULL, 0);
    mallctl("stats.resident", &st->resident, &sz, NULL, 0);
    mallctl("stats.retained", &st->retained, &sz, NULL, 0);
    /* The mapped arrays are allocations too, all of them touched (a hash
     * table's buckets), though jemalloc never sees them. */
    size_t mapped = __atomic_load_n(&mapped_memory, __ATOMIC_RELAXED);
    st->allocated += mapped;
    st->active += mapped;
    st->resident += mapped;
#endif
}

#ifdef USE_JEMALLOC
struct report_buf {
    char *p;      /* owned */
    size_t len, cap;
};

/* malloc_stats_print's writer: jemalloc calls it with each piece of text
 * (allocating here is allowed: Redis's own writer does). */
static void
report_write(void *ctx, const char *s)
{
    struct report_buf *b = ctx;
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->p = mem_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}
#endif

char *
mem_allocator_report(size_t *len)
{
#ifdef USE_JEMALLOC
    struct report_buf b = {NULL, 0, 0};
    malloc_stats_print(report_write, &b, NULL);
    if (b.p == NULL) {
        report_write(&b, "");
    }
    *len = b.len;
    return b.p;
#else
    *len = 0;
    return NULL;
#endif
}

int
mem_allocator_purge(void)
{
#ifdef USE_JEMALLOC
    unsigned narenas = 0;
    size_t sz = sizeof(narenas);
    char name[64];
    /* arena.<narenas>.purge is jemalloc's "every arena" (MALLCTL_ARENAS_ALL). */
    if (mallctl("arenas.narenas", &narenas, &sz, NULL, 0) != 0) {
        return -1;
    }
    snprintf(name, sizeof(name), "arena.%u.purge", narenas);
    return mallctl(name, NULL, NULL, NULL, 0) == 0 ? 0 : -1;
#else
    malloc_trim(0);
    return 0;
#endif
}

const char *
mem_allocator_name(void)
{
#ifdef USE_JEMALLOC
    static char name[64];
    if (name[0] == '\0') {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v != NULL) {
            char ver[32];
            snprintf(ver, sizeof(ver), "%s", v);
            char *dash = strchr(ver, '-');
            if (dash) {
                *dash = '\0';
            }
            snprintf(name, sizeof(name), "jemalloc-%s", ver);
        } else {
            snprintf(name, sizeof(name), "jemalloc");
        }
    }
    return name;
#else
    return "libc";
#endif
}
