/* The list type (see t_list.h): the object-layer table over a quicklist,
 * and the list operations that walk it (LSET, LINSERT, LREM, LTRIM, LPOS). */
#include "node/t_list.h"
#include "core/alloc.h"

#include <limits.h>
#include <string.h>

/* Largest per-node count a quicklist takes (Redis's FILL_MAX). */
#define LIST_FILL_MAX 32767

/* ---- the object-layer table ---------------------------------------------- */

static void
list_free(void *obj)
{
    struct quicklist *ql = obj;
    quicklist_destroy(&ql);
}

static size_t
list_memory(const void *obj)
{
    return quicklist_bytes(obj);
}

static void *
list_copy(const void *obj)
{
    return quicklist_dup(obj);
}

static const char *
list_encoding(const void *obj)
{
    (void)obj;
    return "quicklist";  /* Redis 7.0 names every list so */
}

static size_t
list_length(const void *obj)
{
    return quicklist_count(obj);
}

static void
list_digest(const void *obj, uint64_t h[3])
{
    struct quicklist_iter it;
    struct listpack_value v;
    char buf[LISTPACK_INT_BUF];
    quicklist_iter_at((struct quicklist *)obj, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        size_t len;
        const char *s = quicklist_value_str(&v, buf, &len);
        obj_digest_ordered(h, s, len, NULL, 0);
    }
}

static void
list_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    struct quicklist_iter it;
    struct listpack_value v;
    obj_emit_begin(em, "RPUSH", key, keylen);
    quicklist_iter_at((struct quicklist *)obj, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        if (v.is_int) {
            obj_emit_arg_ll(em, v.ll);
        } else {
            obj_emit_arg(em, (const char *)v.str, v.len);
        }
        obj_emit_item_end(em);
    }
}

const struct obj_type list_type = {
    .name = "list",
    .free = list_free,
    .memory = list_memory,
    .copy = list_copy,
    .encoding = list_encoding,
    .length = list_length,
    .digest = list_digest,
    .rewrite = list_rewrite,
};

/* ---- operations ----------------------------------------------------------- */

struct quicklist *
list_create(long long fill, long long depth)
{
    if (fill > LIST_FILL_MAX) {
        fill = LIST_FILL_MAX;
    }
    return quicklist_create_compressed(fill < INT_MIN ? INT_MIN : (int)fill,
                                       depth < 0 ? 0 : (unsigned long)depth);
}

size_t
list_range(size_t len, long long start, long long end, size_t *first)
{
    long long n = (long long)len;
    if (start < 0) {
        start += n;
    }
    if (end < 0) {
        end += n;
    }
    if (start < 0) {
        start = 0;
    }
    *first = (size_t)start;
    if (start > end || start >= n) {
        return 0;
    }
    if (end >= n) {
        end = n - 1;
    }
    return (size_t)(end - start + 1);
}

int
list_set(struct quicklist *ql, long long index, const char *s, size_t len)
{
    struct quicklist_iter it;
    struct listpack_value v;
    if (index < LONG_MIN || index > LONG_MAX
        || quicklist_iter_at(ql, (long)index, QUICKLIST_HEAD, &it) != 0
        || !quicklist_next(&it, &v)) {
        return -1;
    }
    quicklist_iter_replace(&it, s, len);
    return 0;
}

int
list_insert(struct quicklist *ql, int where, const char *pivot, size_t plen,
            const char *s, size_t len)
{
    struct quicklist_iter it;
    struct listpack_value v;
    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        if (quicklist_value_equals(&v, pivot, plen)) {
            quicklist_iter_insert(&it, s, len, where);
            return 1;
        }
    }
    return 0;
}

size_t
list_remove(struct quicklist *ql, long long count, const char *s, size_t len)
{
    struct quicklist_iter it;
    struct listpack_value v;
    size_t removed = 0;
    unsigned long long limit;
    if (count < 0) {
        limit = (unsigned long long)(-(count + 1)) + 1;
        quicklist_iter_at(ql, -1, QUICKLIST_TAIL, &it);
    } else {
        limit = (unsigned long long)count;
        quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    }
    while (quicklist_next(&it, &v)) {
        if (quicklist_value_equals(&v, s, len)) {
            quicklist_iter_delete(&it);
            removed++;
            if (limit != 0 && removed == limit) {
                break;
            }
        }
    }
    return removed;
}

void
list_trim(struct quicklist *ql, long long start, long long end)
{
    size_t len = quicklist_count(ql);
    size_t first;
    size_t keep = list_range(len, start, end, &first);
    if (keep == 0) {
        quicklist_delete_range(ql, 0, len);
        return;
    }
    size_t tail = len - first - keep;
    if (tail > 0) {
        quicklist_delete_range(ql, first + keep, tail);
    }
    if (first > 0) {
        quicklist_delete_range(ql, 0, first);
    }
}

size_t
list_pos(struct quicklist *ql, const char *s, size_t len, long long rank,
         long long count, long long maxlen, long long **out)
{
    struct quicklist_iter it;
    struct listpack_value v;
    size_t llen = quicklist_count(ql);
    int dir = QUICKLIST_HEAD;
    size_t n = 0, cap = 0;
    long long index = 0, matches = 0;

    *out = NULL;
    if (rank < 0) {
        /* Redis negates with two's-complement wrap: LLONG_MIN stays put
         * and then matches from the first match on. */
        rank = (long long)(0ULL - (unsigned long long)rank);
        dir = QUICKLIST_TAIL;
    }
    quicklist_iter_at(ql, dir == QUICKLIST_HEAD ? 0 : -1, dir, &it);
    while ((maxlen == 0 || index < maxlen) && quicklist_next(&it, &v)) {
        if (quicklist_value_equals(&v, s, len)) {
            matches++;
            if (matches >= rank) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    *out = mem_realloc(*out, cap * sizeof(**out));
                }
                (*out)[n++] = dir == QUICKLIST_HEAD ? index : (long long)llen - index - 1;
                long long reported = (long long)((unsigned long long)matches
                                                 - (unsigned long long)rank + 1ULL);
                if (count == 0 ? 0 : reported >= count) {
                    break;
                }
            }
        }
        index++;
    }
    return n;
}
