/* intset: sorted packed integers with width upgrades (see intset.h).
 * Members are read and written through memcpy so that any width is read
 * from the byte array without aliasing or alignment questions. */
#include "ds/intset.h"
#include "core/alloc.h"

#include <string.h>

#define INTSET_HDR sizeof(struct intset)

static inline uint32_t
width_for(int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX) {
        return 8;
    }
    if (v < INT16_MIN || v > INT16_MAX) {
        return 4;
    }
    return 2;
}

static inline int64_t
get_w(const unsigned char *c, size_t pos, uint32_t width)
{
    if (width == 8) {
        int64_t v;
        memcpy(&v, c + pos * 8, 8);
        return v;
    }
    if (width == 4) {
        int32_t v;
        memcpy(&v, c + pos * 4, 4);
        return v;
    }
    int16_t v;
    memcpy(&v, c + pos * 2, 2);
    return v;
}

static inline void
set_w(unsigned char *c, size_t pos, uint32_t width, int64_t v)
{
    if (width == 8) {
        memcpy(c + pos * 8, &v, 8);
    } else if (width == 4) {
        int32_t x = (int32_t)v;
        memcpy(c + pos * 4, &x, 4);
    } else {
        int16_t x = (int16_t)v;
        memcpy(c + pos * 2, &x, 2);
    }
}

int64_t
intset_get(const struct intset *is, size_t pos)
{
    return get_w(is->contents, pos, is->width);
}

int64_t
intset_min(const struct intset *is)
{
    return intset_get(is, 0);
}

int64_t
intset_max(const struct intset *is)
{
    return intset_get(is, is->length - 1);
}

size_t
intset_blob_len(const struct intset *is)
{
    return INTSET_HDR + (size_t)is->length * is->width;
}

size_t
intset_memory(const struct intset *is)
{
    return mem_usable(is);
}

struct intset *
intset_create(void)
{
    struct intset *is = mem_alloc(INTSET_HDR);
    is->width = 2;
    is->length = 0;
    return is;
}

void
intset_destroy(struct intset **isp)
{
    if (*isp != NULL) {
        mem_free(*isp);
        *isp = NULL;
    }
}

struct intset *
intset_copy(const struct intset *is)
{
    size_t n = intset_blob_len(is);
    struct intset *c = mem_alloc(n);
    memcpy(c, is, n);
    return c;
}

/* Binary search: 1 and the position when found, else 0 and the position
 * where v would go. */
static int
search(const struct intset *is, int64_t v, size_t *pos)
{
    size_t lo = 0, hi = is->length;

    if (is->length > 0) {
        /* Appends and prepends are common (ascending loads). */
        if (v > intset_max(is)) {
            *pos = is->length;
            return 0;
        }
        if (v < intset_min(is)) {
            *pos = 0;
            return 0;
        }
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_w(is->contents, mid, is->width);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return 0;
}

int
intset_contains(const struct intset *is, int64_t v)
{
    size_t pos;
    return width_for(v) <= is->width && search(is, v, &pos);
}

static struct intset *
resize(struct intset *is, size_t length, uint32_t width)
{
    return mem_realloc(is, INTSET_HDR + length * width);
}

/* Widen every member to hold v, which is outside the current range, and add
 * it at the front (negative) or the back (positive). */
static struct intset *
upgrade_and_add(struct intset *is, int64_t v)
{
    uint32_t old = is->width, w = width_for(v);
    size_t n = is->length;
    int front = v < 0;

    is = resize(is, n + 1, w);
    is->width = w;
    /* From the back so nothing is overwritten before it is read. */
    for (size_t i = n; i-- > 0;) {
        set_w(is->contents, i + (size_t)front, w, get_w(is->contents, i, old));
    }
    set_w(is->contents, front ? 0 : n, w, v);
    is->length = (uint32_t)(n + 1);
    return is;
}

int
intset_add(struct intset **isp, int64_t v)
{
    struct intset *is = *isp;
    size_t pos;

    if (width_for(v) > is->width) {
        *isp = upgrade_and_add(is, v);
        return 1;
    }
    if (search(is, v, &pos)) {
        return 0;
    }
    is = resize(is, (size_t)is->length + 1, is->width);
    memmove(is->contents + (pos + 1) * is->width, is->contents + pos * is->width,
            ((size_t)is->length - pos) * is->width);
    set_w(is->contents, pos, is->width, v);
    is->length++;
    *isp = is;
    return 1;
}

int
intset_remove(struct intset **isp, int64_t v)
{
    struct intset *is = *isp;
    size_t pos;

    if (width_for(v) > is->width || !search(is, v, &pos)) {
        return 0;
    }
    memmove(is->contents + pos * is->width, is->contents + (pos + 1) * is->width,
            ((size_t)is->length - pos - 1) * is->width);
    is->length--;
    *isp = resize(is, is->length, is->width);
    return 1;
}

int
intset_validate(const void *p, size_t len)
{
    struct intset hdr;
    const unsigned char *c;

    if (len < INTSET_HDR) {
        return 0;
    }
    memcpy(&hdr, p, INTSET_HDR);
    if (hdr.width != 2 && hdr.width != 4 && hdr.width != 8) {
        return 0;
    }
    if ((len - INTSET_HDR) / hdr.width != hdr.length
        || (len - INTSET_HDR) % hdr.width != 0) {
        return 0;
    }
    c = (const unsigned char *)p + INTSET_HDR;
    for (size_t i = 1; i < hdr.length; i++) {
        if (get_w(c, i - 1, hdr.width) >= get_w(c, i, hdr.width)) {
            return 0;
        }
    }
    return 1;
}

struct intset *
intset_from_blob(const void *p, size_t len)
{
    if (!intset_validate(p, len)) {
        return NULL;
    }
    struct intset *is = mem_alloc(len);
    memcpy(is, p, len);
    return is;
}
