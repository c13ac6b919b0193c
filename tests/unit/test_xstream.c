/* xstream: append with master-field sharing and node cuts, delete, exact
 * and approximate trims (MAXLEN, MINID, LIMIT), forward and reverse range
 * iteration, copy, node validation, and a randomized run of every
 * operation against an array model. */
#include <criterion/criterion.h>

#include "ds/xstream.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model: live entries in ID order, each with its fields ---- */

struct mentry {
    struct xid id;
    int nf;
    char f[3][16], v[3][16];
};

static struct mentry model[20000];
static size_t nmodel;

static void
add(struct xstream *s, uint64_t ms, uint64_t seq, int nf, int variant)
{
    struct mentry *m = &model[nmodel++];
    const char *fv[3], *vv[3];
    size_t fl[3], vl[3];
    m->id.ms = ms;
    m->id.seq = seq;
    m->nf = nf;
    for (int i = 0; i < nf; i++) {
        snprintf(m->f[i], sizeof(m->f[i]), variant ? "g%d" : "f%d", i);
        snprintf(m->v[i], sizeof(m->v[i]), "v%llu.%d", (unsigned long long)ms, i);
        fv[i] = m->f[i];
        fl[i] = strlen(m->f[i]);
        vv[i] = m->v[i];
        vl[i] = strlen(m->v[i]);
    }
    xstream_append(s, &m->id, (size_t)nf, fv, fl, vv, vl);
}

static void
check_entry(const struct xentry *e, const struct mentry *m)
{
    cr_assert_eq(xid_cmp(&e->id, &m->id), 0, "id %llu-%llu vs %llu-%llu",
                 (unsigned long long)e->id.ms, (unsigned long long)e->id.seq,
                 (unsigned long long)m->id.ms, (unsigned long long)m->id.seq);
    cr_assert_eq(e->nfields, (size_t)m->nf);
    const unsigned char *fp = e->fields, *vp = e->values;
    for (int i = 0; i < m->nf; i++) {
        const char *f, *v;
        size_t flen, vlen;
        xentry_pair(&fp, &vp, &f, &flen, &v, &vlen);
        cr_assert_eq(flen, strlen(m->f[i]));
        cr_assert_eq(memcmp(f, m->f[i], flen), 0);
        cr_assert_eq(vlen, strlen(m->v[i]));
        cr_assert_eq(memcmp(v, m->v[i], vlen), 0);
    }
}

/* Compare the range [lo, hi] both ways with the model. */
static void
check_range(const struct xstream *s, struct xid lo, struct xid hi)
{
    struct xstream_iter it;
    struct xentry e;
    size_t i = 0;
    xstream_iter_init(&it, s, &lo, &hi, 0);
    for (size_t k = 0; k < nmodel; k++) {
        if (xid_cmp(&model[k].id, &lo) < 0 || xid_cmp(&model[k].id, &hi) > 0) {
            continue;
        }
        cr_assert(xstream_iter_next(&it, &e), "forward: missing entry %zu", k);
        check_entry(&e, &model[k]);
        i++;
    }
    cr_assert_not(xstream_iter_next(&it, &e), "forward: extra entries");
    xstream_iter_init(&it, s, &lo, &hi, 1);
    for (size_t k = nmodel; k-- > 0;) {
        if (xid_cmp(&model[k].id, &lo) < 0 || xid_cmp(&model[k].id, &hi) > 0) {
            continue;
        }
        cr_assert(xstream_iter_next(&it, &e), "reverse: missing entry %zu", k);
        check_entry(&e, &model[k]);
    }
    cr_assert_not(xstream_iter_next(&it, &e), "reverse: extra entries");
    (void)i;
}

static void
check_all(const struct xstream *s)
{
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    cr_assert_eq(s->length, nmodel);
    check_range(s, lo, hi);
    for (size_t i = 0; i < s->nnodes; i++) {
        cr_assert_eq(xstream_node_validate(s->nodes[i]->buf, s->nodes[i]->len,
                                           s->nodes[i]->total), 0);
        cr_assert_gt(s->nodes[i]->live, 0, "no empty node kept");
    }
}

static void
model_delete_at(size_t k)
{
    memmove(&model[k], &model[k + 1], (nmodel - k - 1) * sizeof(model[0]));
    nmodel--;
}

/* ---- cases ---- */

Test(xstream, node_limits_set_the_cut_and_big_nodes_read_both_ways)
{
    /* stream-node-max-entries 0 (no count limit) and max-bytes 0 (1 GB):
     * one node of 1000 entries, more than a reverse iterator's window, so
     * a reverse read goes window by window; then 1 entry a node. */
    struct xstream *s = xstream_create();
    nmodel = 0;
    xstream_set_node_limits(0, 0);
    for (uint64_t i = 1; i <= 1000; i++) {
        add(s, i, 0, 2, (int)(i % 7 == 0));
    }
    cr_assert_eq(s->nnodes, 1);
    check_all(s);
    struct xid lo = {3, 0}, hi = {700, 0};
    check_range(s, lo, hi);
    lo.ms = 129;
    hi.ms = 257;
    check_range(s, lo, hi);
    cr_assert_eq(xstream_delete(s, &model[500].id), 1);
    model_delete_at(500);
    check_all(s);
    xstream_set_node_limits(1, 4096);
    for (uint64_t i = 1001; i <= 1005; i++) {
        add(s, i, 0, 1, 0);
    }
    cr_assert_eq(s->nnodes, 6);
    check_all(s);
    xstream_set_node_limits(XSTREAM_NODE_ENTRIES, XSTREAM_NODE_BYTES);
    xstream_destroy(&s);
}

Test(xstream, nodes_cut_at_entry_count_and_share_master_fields)
{
    struct xstream *s = xstream_create();
    nmodel = 0;
    for (uint64_t i = 1; i <= 250; i++) {
        add(s, i, 0, 3, 0);
    }
    cr_assert_eq(s->nnodes, 3);
    cr_assert_eq(s->nodes[0]->total, XSTREAM_NODE_ENTRIES);
    /* 100 entries of 3 values like "v12.0" with shared fields: well under
     * 30 bytes an entry. */
    cr_assert_lt(s->nodes[0]->len, 100 * 30);
    check_all(s);
    xstream_destroy(&s);
    cr_assert_null(s);
}

Test(xstream, entries_with_other_fields_keep_their_own)
{
    struct xstream *s = xstream_create();
    nmodel = 0;
    add(s, 1, 0, 3, 0);
    add(s, 1, 1, 2, 0);
    add(s, 2, 0, 3, 1);
    add(s, 3, 0, 1, 1);
    check_all(s);
    xstream_destroy(&s);
}

Test(xstream, delete_and_first_last)
{
    struct xstream *s = xstream_create();
    struct xid id;
    nmodel = 0;
    for (uint64_t i = 1; i <= 150; i++) {
        add(s, i * 10, 0, 2, 0);
    }
    struct xid d = {10, 0}, absent = {15, 0};
    cr_assert_eq(xstream_delete(s, &d), 1);
    cr_assert_eq(xstream_delete(s, &d), 0, "twice");
    cr_assert_eq(xstream_delete(s, &absent), 0);
    model_delete_at(0);
    cr_assert_eq(xstream_first_id(s, &id), 0);
    cr_assert_eq(id.ms, 20);
    cr_assert_eq(xstream_last_id(s, &id), 0);
    cr_assert_eq(id.ms, 1500);
    /* Emptying a node frees it. */
    size_t before = s->nnodes;
    for (uint64_t i = 101; i <= 150; i++) {
        struct xid x = {i * 10, 0};
        cr_assert_eq(xstream_delete(s, &x), 1);
    }
    nmodel -= 50;
    cr_assert_eq(s->nnodes, before - 1);
    check_all(s);
    xstream_destroy(&s);
}

Test(xstream, trims_exact_and_approximate)
{
    struct xstream *s = xstream_create();
    nmodel = 0;
    for (uint64_t i = 1; i <= 350; i++) {
        add(s, i, 0, 1, 0);
    }
    /* Approximate: whole nodes only; 350 - 100 >= 240 but not twice. */
    cr_assert_eq(xstream_trim(s, 240, NULL, 1, 0), 100);
    for (int i = 0; i < 100; i++) {
        model_delete_at(0);
    }
    check_all(s);
    /* Approximate with LIMIT below a node: nothing. */
    cr_assert_eq(xstream_trim(s, 0, NULL, 1, 50), 0);
    /* Exact. */
    cr_assert_eq(xstream_trim(s, 205, NULL, 0, 0), 45);
    for (int i = 0; i < 45; i++) {
        model_delete_at(0);
    }
    check_all(s);
    /* MINID exact. */
    struct xid minid = {260, 0};
    size_t expect = 0;
    while (nmodel && model[0].id.ms < 260) {
        model_delete_at(0);
        expect++;
    }
    cr_assert_eq(xstream_trim(s, 0, &minid, 0, 0), expect);
    check_all(s);
    cr_assert_eq(xstream_trim(s, 0, NULL, 0, 0), nmodel);
    nmodel = 0;
    cr_assert_eq(s->nnodes, 0);
    check_all(s);
    xstream_destroy(&s);
}

Test(xstream, copy_is_deep)
{
    struct xstream *s = xstream_create();
    nmodel = 0;
    for (uint64_t i = 1; i <= 120; i++) {
        add(s, i, 0, 3, 0);
    }
    struct xstream *d = xstream_copy(s);
    struct xid x = {5, 0};
    xstream_delete(s, &x);
    check_all(d);
    cr_assert_eq(s->length, 119);
    cr_assert_gt(xstream_memory(d), 120 * 10);
    xstream_destroy(&s);
    xstream_destroy(&d);
}

Test(xstream, validate_rejects_truncated_and_bad_flags)
{
    struct xstream *s = xstream_create();
    nmodel = 0;
    add(s, 1, 0, 3, 0);
    add(s, 2, 0, 3, 1);
    const struct xnode *n = s->nodes[0];
    cr_assert_eq(xstream_node_validate(n->buf, n->len, n->total), 0);
    for (uint32_t cut = 1; cut < n->len; cut++) {
        cr_assert_neq(xstream_node_validate(n->buf, cut, n->total), 0, "cut at %u", cut);
    }
    unsigned char bad[512];
    memcpy(bad, n->buf, n->len);
    /* The first record's flags byte follows the master fields. */
    size_t at = 1;
    for (int i = 0; i < 3; i++) {
        at += 1 + bad[at];
    }
    bad[at] = 0x80;
    cr_assert_neq(xstream_node_validate(bad, n->len, n->total), 0);
    xstream_destroy(&s);
}

Test(xstream, randomized_against_model)
{
    struct xstream *s = xstream_create();
    uint64_t ms = 1, seq = 0;
    nmodel = 0;
    srand(12345);
    for (int step = 0; step < 20000; step++) {
        int op = rand() % 100;
        if (op < 70 || nmodel == 0) {
            if (rand() % 3 == 0) {
                seq++;
            } else {
                ms += 1 + (uint64_t)(rand() % 1000);
                seq = 0;
            }
            if (nmodel < sizeof(model) / sizeof(model[0])) {
                add(s, ms, seq, 1 + rand() % 3, rand() % 5 == 0);
            }
        } else if (op < 85) {
            size_t k = (size_t)rand() % nmodel;
            struct xid id = model[k].id;
            cr_assert_eq(xstream_delete(s, &id), 1);
            model_delete_at(k);
        } else if (op < 90) {
            struct xid id = {ms + 1, 0};
            cr_assert_eq(xstream_delete(s, &id), 0);
        } else if (op < 95) {
            uint64_t maxlen = nmodel > 10 ? nmodel - (size_t)rand() % 10 : nmodel;
            int approx = rand() % 2;
            size_t removed = xstream_trim(s, maxlen, NULL, approx, 0);
            cr_assert(approx || nmodel - removed <= maxlen);
            cr_assert(nmodel - removed >= maxlen || nmodel < maxlen);
            for (size_t i = 0; i < removed; i++) {
                model_delete_at(0);
            }
        } else {
            size_t k = (size_t)rand() % nmodel;
            struct xid minid = model[k].id;
            int approx = rand() % 2;
            size_t removed = xstream_trim(s, 0, &minid, approx, rand() % 2 ? 0 : 50);
            for (size_t i = 0; i < removed; i++) {
                cr_assert_lt(xid_cmp(&model[0].id, &minid), 0);
                model_delete_at(0);
            }
        }
        if (step % 500 == 0) {
            check_all(s);
            if (nmodel > 2) {
                size_t a = (size_t)rand() % nmodel, b = (size_t)rand() % nmodel;
                struct xid lo = model[a < b ? a : b].id, hi = model[a < b ? b : a].id;
                check_range(s, lo, hi);
                lo.seq++;
                check_range(s, lo, hi);
            }
        }
    }
    check_all(s);
    xstream_destroy(&s);
}
