/* libFuzzer target for the listpack (ds/listpack.c), two modes chosen by
 * the first byte:
 *   even: the rest is untrusted listpack bytes (as a snapshot loader would
 *         read them).  listpack_validate must never read outside them; when
 *         it accepts, the copy must walk the same count both ways, decode
 *         every element, and survive a delete and an append.
 *   odd:  the rest is a program of mutations (append, prepend, insert,
 *         replace, delete, delete_range, find, seek) run against an array
 *         model; contents are compared both ways after every operation.
 * Built by "make fuzz" with clang; the corpus (tests/fuzz/corpus/listpack)
 * is replayed under "make check" through replay_main.c. */
#include "ds/listpack.h"
#include "core/alloc.h"
#include "core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_listpack: invariant failed: %s (%s:%d)\n",  \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define FUZZ_MAX_ELEMENTS 512
#define FUZZ_LONG_STR 5000

/* ---- mode 1: untrusted bytes ---------------------------------------- */

static void
walk_valid(const uint8_t *data, size_t size, size_t count)
{
    /* A valid buffer is usable as a listpack once it is in a mem_alloc'd
     * block (mutators realloc it). */
    unsigned char *copy = mem_alloc(size);
    memcpy(copy, data, size);
    size_t n = 0;
    char buf[LISTPACK_INT_BUF];
    for (unsigned char *p = listpack_first(copy); p;
         p = listpack_next(copy, p)) {
        struct listpack_value v;
        size_t len;
        listpack_get(p, &v);
        const char *s = listpack_get_str(p, buf, &len);
        FUZZ_CHECK(listpack_compare(p, s, len));
        FUZZ_CHECK(listpack_find(copy, p, s, len, 0) == p);
        if (!v.is_int) {
            FUZZ_CHECK(v.len == len && (len == 0 || s == (const char *)v.str));
        }
        n++;
    }
    FUZZ_CHECK(n == count);
    n = 0;
    for (unsigned char *p = listpack_last(copy); p;
         p = listpack_prev(copy, p)) {
        n++;
    }
    FUZZ_CHECK(n == count);
    FUZZ_CHECK(listpack_length(copy) == count);
    if (count > 0) {
        FUZZ_CHECK(listpack_seek(copy, -1) == listpack_last(copy));
        FUZZ_CHECK(listpack_seek(copy, 0) == listpack_first(copy));
        unsigned char *p = listpack_first(copy);
        copy = listpack_delete(copy, &p);
        count--;
    }
    copy = listpack_append(copy, "appended", 8);
    count++;
    FUZZ_CHECK(listpack_validate(copy, listpack_used_bytes(copy), &n) == 0);
    FUZZ_CHECK(n == count);
    listpack_free(copy);
}

static void
fuzz_bytes(const uint8_t *data, size_t size)
{
    /* An exactly sized copy so ASan flags any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    size_t count = 0;
    memcpy(buf, data, size);
    if (listpack_validate(buf, size, &count) == 0) {
        walk_valid(buf, size, count);
    }
    free(buf);
}

/* ---- mode 2: a mutation program against a model ---------------------- */

struct model {
    char *items[FUZZ_MAX_ELEMENTS];     /* owned */
    size_t lens[FUZZ_MAX_ELEMENTS];
    size_t n;
};

struct reader {
    const uint8_t *p;
    size_t left;
};

static unsigned
rd_byte(struct reader *r)
{
    if (r->left == 0) {
        return 0;
    }
    r->left--;
    return *r->p++;
}

/* A value: integers of every width (formatted, so they go through the
 * string path), strings taken from the input, or long repeated strings. */
static size_t
rd_value(struct reader *r, char *out)
{
    unsigned v = rd_byte(r);
    if (v < 0x40) {
        unsigned width = 1 + v % 8;
        unsigned long long u = 0;
        for (unsigned i = 0; i < width; i++) {
            u = u << 8 | rd_byte(r);
        }
        long long x = (long long)u;
        if (width < 8 && (v & 0x20)) {
            x = -x;
        }
        return util_ll2str(out, x);
    }
    if (v >= 0xF0) {
        size_t len = 64 + (size_t)(v - 0xF0) * 300 + rd_byte(r);
        memset(out, 'a' + (int)(v & 7), len);
        return len;
    }
    size_t len = v & 0x3F;
    if (len > r->left) {
        len = r->left;
    }
    memcpy(out, r->p, len);
    r->p += len;
    r->left -= len;
    return len;
}

static void
model_insert(struct model *m, size_t at, const char *s, size_t len)
{
    memmove(m->items + at + 1, m->items + at, (m->n - at) * sizeof(char *));
    memmove(m->lens + at + 1, m->lens + at, (m->n - at) * sizeof(size_t));
    m->items[at] = malloc(len ? len : 1);
    memcpy(m->items[at], s, len);
    m->lens[at] = len;
    m->n++;
}

static void
model_delete(struct model *m, size_t at, size_t count)
{
    if (count > m->n - at) {
        count = m->n - at;
    }
    for (size_t i = 0; i < count; i++) {
        free(m->items[at + i]);
    }
    memmove(m->items + at, m->items + at + count,
            (m->n - at - count) * sizeof(char *));
    memmove(m->lens + at, m->lens + at + count,
            (m->n - at - count) * sizeof(size_t));
    m->n -= count;
}

static int
elem_eq(const unsigned char *p, const char *s, size_t len)
{
    char buf[LISTPACK_INT_BUF];
    size_t l;
    const char *e = listpack_get_str(p, buf, &l);
    return l == len && memcmp(e, s, len) == 0;
}

static void
check_model(const unsigned char *lp, const struct model *m)
{
    size_t count = 0;
    FUZZ_CHECK(listpack_validate(lp, listpack_used_bytes(lp), &count) == 0);
    FUZZ_CHECK(count == m->n && listpack_length(lp) == m->n);
    unsigned char *p = listpack_first(lp);
    for (size_t i = 0; i < m->n; i++) {
        FUZZ_CHECK(p != NULL && elem_eq(p, m->items[i], m->lens[i]));
        p = listpack_next(lp, p);
    }
    FUZZ_CHECK(p == NULL);
    p = listpack_last(lp);
    for (size_t i = m->n; i-- > 0;) {
        FUZZ_CHECK(p != NULL && elem_eq(p, m->items[i], m->lens[i]));
        p = listpack_prev(lp, p);
    }
    FUZZ_CHECK(p == NULL);
}

/* An index in [0, n) from one byte, or n when n is 0. */
static size_t
rd_index(struct reader *r, size_t n)
{
    unsigned b = rd_byte(r);
    return n ? b % n : 0;
}

static void
fuzz_ops(const uint8_t *data, size_t size)
{
    struct model *m = calloc(1, sizeof(*m));
    struct reader r = {data, size};
    unsigned char *lp = listpack_new();
    char *val = malloc(FUZZ_LONG_STR);

    while (r.left > 0) {
        unsigned op = rd_byte(&r) % 9;
        size_t len = 0;
        if (op <= 3 || op == 6) {
            len = rd_value(&r, val);
        }
        if (m->n >= FUZZ_MAX_ELEMENTS - 1 && op <= 2) {
            op = 4;
        }
        switch (op) {
        case 0:
            lp = listpack_append(lp, val, len);
            model_insert(m, m->n, val, len);
            break;
        case 1:
            lp = listpack_prepend(lp, val, len);
            model_insert(m, 0, val, len);
            break;
        case 2: {
            size_t at = rd_index(&r, m->n);
            int where = rd_byte(&r) & 1 ? LISTPACK_AFTER : LISTPACK_BEFORE;
            unsigned char *p = listpack_seek(lp, (long)at), *np = NULL;
            lp = listpack_insert(lp, p, val, len, where, &np);
            FUZZ_CHECK(np != NULL && elem_eq(np, val, len));
            if (p == NULL) {
                at = where == LISTPACK_AFTER ? m->n : 0;
            } else if (where == LISTPACK_AFTER) {
                at++;
            }
            model_insert(m, at, val, len);
            break;
        }
        case 3:
            if (m->n) {
                size_t at = rd_index(&r, m->n);
                unsigned char *p = listpack_seek(lp, (long)at);
                lp = listpack_replace(lp, &p, val, len);
                FUZZ_CHECK(elem_eq(p, val, len));
                model_delete(m, at, 1);
                model_insert(m, at, val, len);
            }
            break;
        case 4:
            if (m->n) {
                size_t at = rd_index(&r, m->n);
                unsigned char *p = listpack_seek(lp, (long)at);
                lp = listpack_delete(lp, &p);
                model_delete(m, at, 1);
                FUZZ_CHECK(at < m->n ? p != NULL
                                           && elem_eq(p, m->items[at],
                                                      m->lens[at])
                                     : p == NULL);
            }
            break;
        case 5: {
            long idx = (long)(signed char)rd_byte(&r);
            size_t count = rd_byte(&r) % 8;
            lp = listpack_delete_range(lp, idx, count);
            long norm = idx < 0 ? idx + (long)m->n : idx;
            if (norm >= 0 && norm < (long)m->n) {
                model_delete(m, (size_t)norm, count);
            }
            break;
        }
        case 6: {
            unsigned skip = rd_byte(&r) % 3;
            size_t from = rd_index(&r, m->n);
            /* Half the time look for an element that is there. */
            if ((rd_byte(&r) & 1) && m->n) {
                size_t pick = rd_index(&r, m->n);
                memcpy(val, m->items[pick], m->lens[pick]);
                len = m->lens[pick];
            }
            size_t want = m->n;
            for (size_t i = from; i < m->n; i += skip + 1) {
                if (m->lens[i] == len
                    && memcmp(m->items[i], val, len) == 0) {
                    want = i;
                    break;
                }
            }
            unsigned char *got = listpack_find(
                lp, listpack_seek(lp, (long)from), val, len, skip);
            FUZZ_CHECK(want == m->n ? got == NULL
                                    : got == listpack_seek(lp, (long)want));
            break;
        }
        case 7: {
            long idx = (long)(signed char)rd_byte(&r);
            long norm = idx < 0 ? idx + (long)m->n : idx;
            unsigned char *p = listpack_seek(lp, idx);
            if (norm < 0 || norm >= (long)m->n) {
                FUZZ_CHECK(p == NULL);
            } else {
                FUZZ_CHECK(p && elem_eq(p, m->items[norm], m->lens[norm]));
            }
            break;
        }
        default:
            /* Move an element within the listpack (aliasing source). */
            if (m->n) {
                size_t from = rd_index(&r, m->n);
                unsigned char *p = listpack_seek(lp, (long)from);
                char buf[LISTPACK_INT_BUF];
                const char *s = listpack_get_str(p, buf, &len);
                char *copy = malloc(len ? len : 1);
                memcpy(copy, s, len);
                lp = listpack_prepend(lp, s, len);
                model_insert(m, 0, copy, len);
                free(copy);
                if (m->n >= FUZZ_MAX_ELEMENTS - 1) {
                    p = listpack_last(lp);
                    lp = listpack_delete(lp, &p);
                    model_delete(m, m->n - 1, 1);
                }
            }
            break;
        }
        check_model(lp, m);
    }
    model_delete(m, 0, m->n);
    free(m);
    free(val);
    listpack_free(lp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_ops(data + 1, size - 1);
    } else {
        fuzz_bytes(data + 1, size - 1);
    }
    return 0;
}
