/* libFuzzer target for the quicklist (ds/quicklist.c): the input is a
 * program of list operations (push, pop, insert, set, delete while walking
 * either way, range delete, index) run against an array model under a fill
 * the first byte picks; contents are compared both ways after every
 * operation and the list's invariants checked (quicklist_check decodes
 * every packed element, compressed nodes included, checks each node's
 * skip index and, at a compress depth, each node's form).  Built by "make fuzz" with
 * clang; the corpus (tests/fuzz/corpus/quicklist) is replayed under
 * "make check" through replay_main.c. */
#include "ds/quicklist.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_quicklist: invariant failed: %s (%s:%d)\n",  \
                    #cond, __FILE__, __LINE__);                                \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define FUZZ_MAX_ELEMENTS 400
#define FUZZ_VAL_MAX 3000

struct model {
    char *items[FUZZ_MAX_ELEMENTS];
    size_t lens[FUZZ_MAX_ELEMENTS];
    size_t n;
};

struct reader {
    const uint8_t *p;
    size_t left;
};

static unsigned
next_byte(struct reader *r)
{
    if (r->left == 0) {
        return 0;
    }
    r->left--;
    return *r->p++;
}

/* A value from the program: a small integer, a short string, or (rarely)
 * a long run of one byte that forces a node of its own. */
static size_t
next_value(struct reader *r, char *buf)
{
    unsigned kind = next_byte(r);
    unsigned b = next_byte(r);
    switch (kind % 6) {
    case 0:
        return (size_t)snprintf(buf, FUZZ_VAL_MAX, "%d", (int)b - 128);
    case 1:
        return (size_t)snprintf(buf, FUZZ_VAL_MAX, "%u", b * 1000003u);
    case 5: {
        size_t len = (size_t)(b * 11) % FUZZ_VAL_MAX;
        memset(buf, 'a' + b % 26, len);
        return len;
    }
    default:
        return (size_t)snprintf(buf, FUZZ_VAL_MAX, "v%u", b % 16);
    }
}

static size_t
value_str(const struct listpack_value *v, char *out)
{
    if (v->is_int) {
        return (size_t)snprintf(out, 32, "%lld", v->ll);
    }
    memcpy(out, v->str, v->len);
    return v->len;
}

static void
model_insert(struct model *m, size_t i, const char *s, size_t len)
{
    memmove(m->items + i + 1, m->items + i, (m->n - i) * sizeof(*m->items));
    memmove(m->lens + i + 1, m->lens + i, (m->n - i) * sizeof(*m->lens));
    m->items[i] = malloc(len ? len : 1);
    memcpy(m->items[i], s, len);
    m->lens[i] = len;
    m->n++;
}

static void
model_delete(struct model *m, size_t i)
{
    free(m->items[i]);
    memmove(m->items + i, m->items + i + 1, (m->n - i - 1) * sizeof(*m->items));
    memmove(m->lens + i, m->lens + i + 1, (m->n - i - 1) * sizeof(*m->lens));
    m->n--;
}

static int
model_eq(const struct model *m, size_t i, const char *s, size_t len)
{
    return m->lens[i] == len && memcmp(m->items[i], s, len) == 0;
}

struct popped {
    const struct model *m;
    size_t index;    /* model index of the element popped */
    int seen;        /* times the callback ran */
};

static void
popped_check(void *arg, const struct listpack_value *v)
{
    static char out[FUZZ_VAL_MAX + 32];
    struct popped *pv = arg;
    size_t len = value_str(v, out);
    FUZZ_CHECK(model_eq(pv->m, pv->index, out, len));
    pv->seen++;
}

static void
compare(struct quicklist *ql, const struct model *m)
{
    static char buf[FUZZ_VAL_MAX + 32];
    struct quicklist_iter it;
    struct listpack_value v;
    size_t i = 0;
    FUZZ_CHECK(quicklist_check(ql) == 0);
    FUZZ_CHECK(quicklist_count(ql) == m->n);
    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        FUZZ_CHECK(i < m->n);
        size_t len = value_str(&v, buf);
        FUZZ_CHECK(model_eq(m, i, buf, len));
        i++;
    }
    FUZZ_CHECK(i == m->n);
    quicklist_iter_at(ql, -1, QUICKLIST_TAIL, &it);
    while (quicklist_next(&it, &v)) {
        FUZZ_CHECK(i > 0);
        i--;
        size_t len = value_str(&v, buf);
        FUZZ_CHECK(model_eq(m, i, buf, len));
    }
    FUZZ_CHECK(i == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int fills[] = {1, 2, 3, 5, 16, 128, -1, -2, -5, 0, -9};
    static char val[FUZZ_VAL_MAX + 32];
    static char buf[FUZZ_VAL_MAX + 32];
    struct reader r = {data, size};
    struct model m;
    m.n = 0;
    /* The first byte picks the fill (b % 11) and the compress depth
     * ((b / 11) % 4: 0 below 11, so older corpus files keep depth 0). */
    unsigned first = next_byte(&r);
    struct quicklist *ql = quicklist_create_compressed(fills[first % 11], (first / 11) % 4);

    while (r.left > 0) {
        unsigned op = next_byte(&r) % 8;
        size_t len = next_value(&r, val);
        size_t at = m.n ? next_byte(&r) % m.n : 0;
        struct quicklist_iter it;
        struct listpack_value v;
        switch (op) {
        case 0:
        case 1:
            if (m.n < FUZZ_MAX_ELEMENTS) {
                quicklist_push(ql, val, len, op == 0 ? QUICKLIST_HEAD : QUICKLIST_TAIL);
                model_insert(&m, op == 0 ? 0 : m.n, val, len);
            }
            break;
        case 2:
        case 3:
            if (m.n == 0) {
                FUZZ_CHECK(quicklist_peek(ql, QUICKLIST_HEAD, &v) == -1);
                break;
            }
            FUZZ_CHECK(quicklist_peek(ql, op == 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL, &v) == 0);
            len = value_str(&v, buf);
            FUZZ_CHECK(model_eq(&m, op == 2 ? 0 : m.n - 1, buf, len));
            if (len & 1) {
                quicklist_pop(ql, op == 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL);
            } else {
                /* The visited value is the one peeked. */
                struct popped pv = {&m, op == 2 ? 0 : m.n - 1, 0};
                quicklist_pop_visit(ql, op == 2 ? QUICKLIST_HEAD : QUICKLIST_TAIL,
                                    popped_check, &pv);
                FUZZ_CHECK(pv.seen == 1);
            }
            model_delete(&m, op == 2 ? 0 : m.n - 1);
            break;
        case 4: /* insert before/after element at */
            if (m.n == 0 || m.n >= FUZZ_MAX_ELEMENTS) {
                break;
            }
            FUZZ_CHECK(quicklist_iter_at(ql, (long)at, QUICKLIST_HEAD, &it) == 0);
            FUZZ_CHECK(quicklist_next(&it, &v));
            quicklist_iter_insert(&it, val, len, (len & 1) ? LISTPACK_AFTER : LISTPACK_BEFORE);
            model_insert(&m, at + (len & 1), val, len);
            break;
        case 5: /* set, indexed from the tail */
            if (m.n == 0) {
                FUZZ_CHECK(quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it) == -1);
                break;
            }
            FUZZ_CHECK(quicklist_iter_at(ql, (long)at - (long)m.n, QUICKLIST_HEAD, &it) == 0);
            FUZZ_CHECK(quicklist_next(&it, &v));
            quicklist_iter_replace(&it, val, len);
            free(m.items[at]);
            m.items[at] = malloc(len ? len : 1);
            memcpy(m.items[at], val, len);
            m.lens[at] = len;
            break;
        case 6: { /* delete every other element from at, walking either way */
            if (m.n == 0) {
                break;
            }
            int dir = (len & 1) ? QUICKLIST_TAIL : QUICKLIST_HEAD;
            size_t i = at, k = 0;
            quicklist_iter_at(ql, (long)at, dir, &it);
            while (quicklist_next(&it, &v)) {
                size_t l = value_str(&v, buf);
                FUZZ_CHECK(model_eq(&m, i, buf, l));
                if (k++ % 2 == 0) {
                    quicklist_iter_delete(&it);
                    model_delete(&m, i);
                    if (dir == QUICKLIST_TAIL) {
                        if (i == 0) {
                            break;
                        }
                        i--;
                    }
                } else if (dir == QUICKLIST_HEAD) {
                    i++;
                } else {
                    if (i == 0) {
                        break;
                    }
                    i--;
                }
                if (k > 9) {
                    break;
                }
            }
            break;
        }
        default: /* range delete */
            if (m.n == 0) {
                break;
            }
            {
                size_t count = 1 + len % (m.n - at);
                quicklist_delete_range(ql, at, count);
                for (size_t i = 0; i < count; i++) {
                    model_delete(&m, at);
                }
            }
            break;
        }
        compare(ql, &m);
    }
    struct quicklist *copy = quicklist_dup(ql);
    compare(copy, &m);
    quicklist_destroy(&copy);
    quicklist_destroy(&ql);
    while (m.n > 0) {
        model_delete(&m, m.n - 1);
    }
    return 0;
}
