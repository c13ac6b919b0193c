/* libFuzzer target for strmap (ds/strmap.c): the input is a program of
 * operations (add, add_or_find, delete, unlink, set_value, find, random,
 * sample, expand, an iteration that deletes some of what it returns, and a
 * SCAN with adds and deletes between its calls) run against a model of
 * 1024 possible keys.  The first byte picks a keys-only map (odd), a scored
 * map (bit 1 set) or a map with values.  strmap decodes no untrusted bytes; this hunts for rehash, shrink,
 * iterator and cursor bugs.  Built by "make fuzz"; the corpus
 * (tests/fuzz/corpus/strmap) replays under "make check". */
#include "ds/strmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_strmap: invariant failed: %s (%s:%d)\n",    \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define KEYS 1024

struct model {
    int keys_only;              /* KEYS or SCORED: no values */
    int kind;                   /* enum strmap_kind */
    unsigned char present[KEYS];
    unsigned char vlen[KEYS];
    unsigned char val[KEYS][255];
    size_t count;
};

struct reader {
    const uint8_t *p;
    size_t left;
};

static unsigned
rd(struct reader *r)
{
    if (r->left == 0) {
        return 0;
    }
    r->left--;
    return *r->p++;
}

static unsigned
rd_key(struct reader *r)
{
    unsigned hi = rd(r);
    return ((hi << 8) | rd(r)) % KEYS;
}

/* Keys of varied lengths (so nodes land in different size classes). */
static size_t
key_of(unsigned k, char *buf)
{
    return (size_t)snprintf(buf, 32, "%0*u", (int)(1 + k % 23), k);
}

static unsigned
key_id(const struct strmap_node *n)
{
    char buf[32];
    FUZZ_CHECK(strmap_node_keylen(n) < sizeof(buf));
    memcpy(buf, strmap_node_key(n), strmap_node_keylen(n));
    buf[strmap_node_keylen(n)] = '\0';
    unsigned k = (unsigned)strtoul(buf, NULL, 10);
    FUZZ_CHECK(k < KEYS);
    char again[32];
    FUZZ_CHECK(key_of(k, again) == strmap_node_keylen(n)
               && memcmp(again, buf, strmap_node_keylen(n)) == 0);
    return k;
}

static void
check_node(const struct model *m, const struct strmap_node *n)
{
    unsigned k = key_id(n);
    FUZZ_CHECK(m->present[k]);
    FUZZ_CHECK(strmap_node_kind(n) == (enum strmap_kind)m->kind);
    if (m->kind == STRMAP_SCORED) {
        FUZZ_CHECK(strmap_node_score(n) == k * 1.5);
    } else if (m->kind == STRMAP_FULL) {
        FUZZ_CHECK(n->vallen == m->vlen[k]);
        FUZZ_CHECK(memcmp(strmap_node_val(n), m->val[k], n->vallen) == 0);
    }
}

static void
model_set(struct model *m, unsigned k, const unsigned char *v, size_t len)
{
    if (!m->present[k]) {
        m->present[k] = 1;
        m->count++;
    }
    m->vlen[k] = (unsigned char)len;
    if (len) {
        memcpy(m->val[k], v, len);
    }
}

static void
model_del(struct model *m, unsigned k)
{
    if (m->present[k]) {
        m->present[k] = 0;
        m->count--;
    }
}

/* Add key k with no value (and, in a scored map, its score). */
static void
add_plain(struct model *m, struct strmap *map, unsigned k, const char *kb,
          size_t klen)
{
    struct strmap_node *n = strmap_add(map, kb, klen, NULL, 0);
    if (m->kind == STRMAP_SCORED) {
        strmap_node_set_score(n, k * 1.5);
    }
    model_set(m, k, NULL, 0);
}

struct scan_state {
    struct model *m;
    unsigned char seen[KEYS];
};

static void
scan_cb(const struct strmap_node *n, void *arg)
{
    struct scan_state *s = arg;
    unsigned k = key_id(n);
    FUZZ_CHECK(s->m->present[k]);
    s->seen[k] = 1;
}

static void
check_all(struct strmap *map, const struct model *m)
{
    char kb[32];
    FUZZ_CHECK(strmap_size(map) == m->count);
    for (unsigned k = 0; k < KEYS; k++) {
        struct strmap_node *n = strmap_find(map, kb, key_of(k, kb));
        FUZZ_CHECK((n != NULL) == m->present[k]);
        if (n) {
            check_node(m, n);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model *m = calloc(1, sizeof(*m));
    struct scan_state *ss = calloc(1, sizeof(*ss));
    struct reader r = {data, size};
    unsigned char val[255];
    char kb[32];

    unsigned first = rd(&r);
    m->kind = (first & 1) ? STRMAP_KEYS : (first & 2) ? STRMAP_SCORED : STRMAP_FULL;
    m->keys_only = m->kind != STRMAP_FULL;
    struct strmap *map = m->kind == STRMAP_KEYS     ? strmap_create_keys_only()
                         : m->kind == STRMAP_SCORED ? strmap_create_scored()
                                                    : strmap_create();
    while (r.left > 0) {
        unsigned op = rd(&r) % 11;
        unsigned k = rd_key(&r);
        size_t klen = key_of(k, kb);
        size_t vlen = 0;
        if (!m->keys_only) {
            vlen = rd(&r) % 64;
            for (size_t i = 0; i < vlen; i++) {
                val[i] = (unsigned char)(k + i);
            }
        }
        switch (op) {
        case 0:   /* add (only when absent, as the contract requires) */
            if (!m->present[k]) {
                struct strmap_node *n = strmap_add(
                    map, kb, klen, vlen ? (char *)val : NULL, vlen);
                if (m->kind == STRMAP_SCORED) {
                    strmap_node_set_score(n, k * 1.5);
                }
                model_set(m, k, val, vlen);
                check_node(m, n);
            }
            break;
        case 1: {
            int added;
            struct strmap_node *n = strmap_add_or_find(
                map, kb, klen, vlen ? (char *)val : NULL, vlen, &added);
            FUZZ_CHECK(added == !m->present[k]);
            if (added) {
                if (m->kind == STRMAP_SCORED) {
                    strmap_node_set_score(n, k * 1.5);
                }
                model_set(m, k, val, vlen);
            }
            check_node(m, n);
            break;
        }
        case 2:
            FUZZ_CHECK(strmap_delete(map, kb, klen) == m->present[k]);
            model_del(m, k);
            break;
        case 3: {
            struct strmap_node *n = strmap_find(map, kb, klen);
            FUZZ_CHECK((n != NULL) == m->present[k]);
            if (n) {
                strmap_unlink_node(map, n);
                model_del(m, k);
            }
            break;
        }
        case 4: {
            struct strmap_node *n = strmap_find(map, kb, klen);
            FUZZ_CHECK((n != NULL) == m->present[k]);
            if (n && !m->keys_only) {
                n = strmap_set_value(map, n, vlen ? (char *)val : NULL,
                                     vlen);
                model_set(m, k, val, vlen);
                FUZZ_CHECK(strmap_find(map, kb, klen) == n);
                check_node(m, n);
            }
            break;
        }
        case 5: {
            struct strmap_node *n = strmap_random(map);
            FUZZ_CHECK((n != NULL) == (m->count > 0));
            if (n) {
                check_node(m, n);
            }
            break;
        }
        case 6: {
            struct strmap_node *out[64];
            size_t want = k % 64;
            size_t got = strmap_sample(map, out, want);
            FUZZ_CHECK(got == (want < m->count ? want : m->count));
            for (size_t i = 0; i < got; i++) {
                check_node(m, out[i]);
                for (size_t j = 0; j < i; j++) {
                    FUZZ_CHECK(out[i] != out[j]);
                }
            }
            break;
        }
        case 7:
            strmap_expand(map, k * 4);
            break;
        case 8: {
            /* Iterate, deleting the returned node when its id has the
             * chosen bit, and adding a node now and then. */
            struct strmap_iter it;
            struct strmap_node *n;
            /* got: returned since the key's node was created; orig: its
             * original node (present at init) was returned. */
            unsigned char before[KEYS], got[KEYS] = {0}, orig[KEYS] = {0};
            unsigned char readded[KEYS] = {0};
            unsigned bit = 1u << (k % 8);
            memcpy(before, m->present, KEYS);
            strmap_iter_init(&it, map);
            while ((n = strmap_iter_next(&it)) != NULL) {
                unsigned id = key_id(n);
                FUZZ_CHECK(!got[id]);
                got[id] = 1;
                if (!readded[id]) {
                    orig[id] = 1;
                }
                check_node(m, n);
                if (id & bit) {
                    strmap_unlink_node(map, n);
                    model_del(m, id);
                }
                unsigned add = (id * 7 + k) % KEYS;
                if ((id & 3) == 0 && !m->present[add]) {
                    size_t alen = key_of(add, kb);
                    add_plain(m, map, add, kb, alen);
                    got[add] = 0;   /* a new node: may be returned */
                    readded[add] = 1;
                }
            }
            strmap_iter_done(&it);
            for (unsigned i = 0; i < KEYS; i++) {
                FUZZ_CHECK(!before[i] || orig[i]);
            }
            break;
        }
        case 9: {
            /* SCAN with changes between calls: whatever is present from
             * start to end must be seen. */
            unsigned char stable[KEYS];
            memcpy(stable, m->present, KEYS);
            memset(ss->seen, 0, KEYS);
            ss->m = m;
            unsigned long cursor = 0;
            do {
                cursor = strmap_scan(map, cursor, scan_cb, ss);
                if (r.left == 0) {
                    continue;
                }
                unsigned c = rd(&r);
                unsigned ck = (c * 131 + k) % KEYS;
                size_t clen = key_of(ck, kb);
                if (c & 1) {
                    if (!m->present[ck]) {
                        add_plain(m, map, ck, kb, clen);
                    }
                } else if (c & 2) {
                    if (strmap_delete(map, kb, clen)) {
                        model_del(m, ck);
                        stable[ck] = 0;
                    }
                }
            } while (cursor != 0);
            for (unsigned i = 0; i < KEYS; i++) {
                FUZZ_CHECK(!(stable[i] && m->present[i]) || ss->seen[i]);
            }
            break;
        }
        default:
            FUZZ_CHECK(strmap_size(map) == m->count);
            break;
        }
    }
    check_all(map, m);
    strmap_destroy(&map);
    free(ss);
    free(m);
    return 0;
}
