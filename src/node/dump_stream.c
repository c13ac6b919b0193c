/* DUMP/RESTORE payloads of streams, Redis 7.0's STREAM_LISTPACKS_2 (and
 * Redis 6's STREAM_LISTPACKS on RESTORE): the entries in listpack nodes,
 * the stream's IDs and counters, the consumer groups with their pending
 * entries and consumers.  Built on dump.c's pieces (dump_int.h). */
#include "node/dump_int.h"

#include "core/alloc.h"
#include "core/util.h"
#include "node/dump.h"
#include "node/t_stream.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing: streams ------------------------------------------------------
 * Redis 7.0's STREAM_LISTPACKS_2: nodes of up to 100 entries, each a
 * 16-byte big-endian key (its master ID, the first entry's) and a
 * listpack: [count, deleted, master field count, master fields..., 0],
 * then per entry [flags, ms-diff, seq-diff, (field count, field, value |
 * value when the fields are the master's: SAMEFIELDS) ..., element
 * count]; then length, last/first/max-deleted IDs, entries added, and the
 * groups with their PELs and consumers. */

#define STREAM_NODE_ENTRIES 100
#define STREAM_FLAG_DELETED 1
#define STREAM_FLAG_SAMEFIELDS 2

static void
lpw_add_ll(struct dump_lpw *w, long long v)
{
    char buf[LISTPACK_INT_BUF];
    dump_lpw_add(w, buf, util_ll2str(buf, v));
}

static void
put_raw_id(struct rbuf *b, const struct xid *id)
{
    unsigned char k[16];
    for (int i = 0; i < 8; i++) {
        k[i] = (unsigned char)(id->ms >> (8 * (7 - i)));
        k[8 + i] = (unsigned char)(id->seq >> (8 * (7 - i)));
    }
    rbuf_add(b, k, 16);
}

static void
put_ms_time(struct rbuf *b, long long t)
{
    unsigned char d[8];
    dump_put_le(d, (uint64_t)t, 8);
    rbuf_add(b, d, 8);
}

/* Whether entry e's fields are exactly the master's. */
static int
same_fields(const struct xentry *e, const struct xentry *master)
{
    if (e->nfields != master->nfields) {
        return 0;
    }
    const unsigned char *fp = e->fields, *vp = e->values;
    const unsigned char *mfp = master->fields, *mvp = master->values;
    for (size_t i = 0; i < e->nfields; i++) {
        const char *f, *v, *mf, *mv;
        size_t fl, vl, mfl, mvl;
        xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
        xentry_pair(&mfp, &mvp, &mf, &mfl, &mv, &mvl);
        if (fl != mfl || memcmp(f, mf, fl) != 0) {
            return 0;
        }
    }
    return 1;
}

static void
stream_node_write(const struct xentry *ents, size_t n, struct rbuf *nodes, int compress)
{
    const struct xentry *m = &ents[0];
    struct dump_lpw w;
    const unsigned char *fp, *vp;
    const char *f, *v;
    size_t fl, vl;

    dump_lpw_init(&w);
    lpw_add_ll(&w, (long long)n);
    lpw_add_ll(&w, 0);
    lpw_add_ll(&w, (long long)m->nfields);
    fp = m->fields;
    vp = m->values;
    for (size_t i = 0; i < m->nfields; i++) {
        xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
        dump_lpw_add(&w, f, fl);
    }
    lpw_add_ll(&w, 0);
    for (size_t j = 0; j < n; j++) {
        const struct xentry *e = &ents[j];
        int same = same_fields(e, m);
        lpw_add_ll(&w, same ? STREAM_FLAG_SAMEFIELDS : 0);
        lpw_add_ll(&w, (long long)(e->id.ms - m->id.ms));
        lpw_add_ll(&w, (long long)(e->id.seq - m->id.seq));
        if (!same) {
            lpw_add_ll(&w, (long long)e->nfields);
        }
        fp = e->fields;
        vp = e->values;
        for (size_t i = 0; i < e->nfields; i++) {
            xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
            if (!same) {
                dump_lpw_add(&w, f, fl);
            }
            dump_lpw_add(&w, v, vl);
        }
        lpw_add_ll(&w, (long long)(same ? e->nfields + 3 : 2 * e->nfields + 4));
    }
    dump_write_len(nodes, 16);
    put_raw_id(nodes, &m->id);
    dump_lpw_finish(&w, nodes, compress);
}

void
dump_stream_write(struct stream *s, struct rbuf *out, int compress)
{
    struct rbuf nodes = {0};
    struct xentry ents[STREAM_NODE_ENTRIES];
    size_t n = 0, nnodes = 0;
    struct xstream_iter it;
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};

    xstream_iter_init(&it, s->x, &lo, &hi, 0);
    while (xstream_iter_next(&it, &ents[n])) {
        if (++n == STREAM_NODE_ENTRIES) {
            stream_node_write(ents, n, &nodes, compress);
            nnodes++;
            n = 0;
        }
    }
    if (n > 0) {
        stream_node_write(ents, n, &nodes, compress);
        nnodes++;
    }
    dump_put_type(out, RDB_TYPE_STREAM_LISTPACKS_2);
    dump_write_len(out, nnodes);
    rbuf_add(out, nodes.p, nodes.len);
    rbuf_free(&nodes);
    dump_write_len(out, s->x->length);
    dump_write_len(out, s->last_id.ms);
    dump_write_len(out, s->last_id.seq);
    dump_write_len(out, s->first_id.ms);
    dump_write_len(out, s->first_id.seq);
    dump_write_len(out, s->max_deleted_id.ms);
    dump_write_len(out, s->max_deleted_id.seq);
    dump_write_len(out, s->entries_added);
    dump_write_len(out, s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        dump_write_string(out, g->name, g->namelen, compress);
        dump_write_len(out, g->last_id.ms);
        dump_write_len(out, g->last_id.seq);
        dump_write_len(out, (uint64_t)g->entries_read);   /* -1: unknown */
        dump_write_len(out, g->npel);
        for (size_t j = 0; j < g->npel; j++) {
            put_raw_id(out, &g->pel[j].id);
            put_ms_time(out, g->pel[j].delivery_time);
            dump_write_len(out, g->pel[j].delivery_count);
        }
        dump_write_len(out, g->nconsumers);
        for (size_t c = 0; c < g->nconsumers; c++) {
            const struct sconsumer *cons = g->consumers[c];
            dump_write_string(out, cons->name, cons->namelen, compress);
            put_ms_time(out, cons->seen_time);
            dump_write_len(out, cons->npending);
            for (size_t j = 0; j < g->npel; j++) {
                if (g->pel[j].consumer == cons) {
                    put_raw_id(out, &g->pel[j].id);
                }
            }
        }
    }
}

/* ---- reading: streams ----------------------------------------------------- */

/* A growable list of byte strings copied out of a node (a listpack's
 * integers are formatted into temporary buffers, so they are copied). */
struct strvec {
    struct rbuf bytes;
    size_t *off, *len;
    size_t n, cap;
};

static void
strvec_push(struct strvec *v, const char *p, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->off = mem_realloc(v->off, v->cap * sizeof(*v->off));
        v->len = mem_realloc(v->len, v->cap * sizeof(*v->len));
    }
    v->off[v->n] = v->bytes.len;
    v->len[v->n] = len;
    v->n++;
    rbuf_add(&v->bytes, p, len);
}

static void
strvec_free(struct strvec *v)
{
    rbuf_free(&v->bytes);
    mem_free(v->off);
    mem_free(v->len);
    memset(v, 0, sizeof(*v));
}

static const char *
strvec_at(const struct strvec *v, size_t i)
{
    return v->bytes.p != NULL ? v->bytes.p + v->off[i] : "";
}

/* The next listpack element as an integer. */
static int
blob_next_ll(struct dump_blob_iter *it, long long *v)
{
    const char *p;
    size_t len;
    char buf[LISTPACK_INT_BUF];
    return dump_blob_next(it, &p, &len, buf) == 1 && dump_canonical_ll(p, len, v) ? 0 : -1;
}

static int
read_raw_id(struct dump_reader *r, struct xid *id)
{
    if (r->end - r->p < 16) {
        return -1;
    }
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = (id->ms << 8) | r->p[i];
        id->seq = (id->seq << 8) | r->p[8 + i];
    }
    r->p += 16;
    return 0;
}

static int
read_ms_time(struct dump_reader *r, long long *t)
{
    if (r->end - r->p < 8) {
        return -1;
    }
    *t = (long long)dump_get_le(r->p, 8);
    r->p += 8;
    return 0;
}

static int
read_id(struct dump_reader *r, struct xid *id)
{
    return dump_read_len(&r->p, r->end, &id->ms) == 0
                   && dump_read_len(&r->p, r->end, &id->seq) == 0
               ? 0 : -1;
}

/* One node: its entries go into s in order, after *prev (*have_prev). */
static int
load_stream_node(struct stream *s, const struct xid *master, const char *lp, size_t lplen,
                 struct xid *prev, int *have_prev)
{
    struct dump_blob_iter it;
    struct strvec mf = {0}, kv = {0};
    long long count, deleted, nmaster, zero, v;
    long long live = 0, dead = 0;
    const char **fields = NULL, **values = NULL;
    size_t *flens = NULL, *vlens = NULL, cap = 0;
    int rc = -1;

    if (dump_blob_iter_init(&it, lp, lplen, 0) != 0 || blob_next_ll(&it, &count) != 0
        || blob_next_ll(&it, &deleted) != 0 || blob_next_ll(&it, &nmaster) != 0
        || nmaster < 0 || (size_t)nmaster > lplen) {
        goto out;
    }
    for (long long i = 0; i < nmaster; i++) {
        const char *p;
        size_t len;
        char buf[LISTPACK_INT_BUF];
        if (dump_blob_next(&it, &p, &len, buf) != 1) {
            goto out;
        }
        strvec_push(&mf, p, len);
    }
    if (blob_next_ll(&it, &zero) != 0 || zero != 0) {
        goto out;
    }
    for (;;) {
        long long flags, msd, seqd, nf;
        const char *p;
        size_t len;
        char buf[LISTPACK_INT_BUF];
        int more = dump_blob_next(&it, &p, &len, buf);
        if (more == 0) {
            break;
        }
        if (more < 0 || !dump_canonical_ll(p, len, &flags) || flags < 0 || flags > 3
            || blob_next_ll(&it, &msd) != 0 || blob_next_ll(&it, &seqd) != 0) {
            goto out;
        }
        int same = (flags & STREAM_FLAG_SAMEFIELDS) != 0;
        if (same) {
            nf = nmaster;
        } else if (blob_next_ll(&it, &nf) != 0 || nf < 1 || (size_t)nf > lplen) {
            goto out;
        }
        if (nf < 1) {
            goto out;
        }
        struct xid id = {master->ms + (uint64_t)msd, master->seq + (uint64_t)seqd};
        kv.n = 0;
        kv.bytes.len = 0;
        for (long long i = 0; i < nf; i++) {
            if (same) {
                strvec_push(&kv, strvec_at(&mf, (size_t)i), mf.len[i]);
            } else if (dump_blob_next(&it, &p, &len, buf) != 1) {
                goto out;
            } else {
                strvec_push(&kv, p, len);
            }
            if (dump_blob_next(&it, &p, &len, buf) != 1) {
                goto out;
            }
            strvec_push(&kv, p, len);
        }
        if (blob_next_ll(&it, &v) != 0 || v != (same ? nf + 3 : 2 * nf + 4)) {
            goto out;
        }
        /* IDs ascend strictly across nodes, deleted entries included. */
        if (*have_prev && xid_cmp(&id, prev) <= 0) {
            goto out;
        }
        *prev = id;
        *have_prev = 1;
        if (flags & STREAM_FLAG_DELETED) {
            dead++;
            continue;
        }
        if ((size_t)nf > cap) {
            cap = (size_t)nf;
            fields = mem_realloc(fields, cap * sizeof(*fields));
            values = mem_realloc(values, cap * sizeof(*values));
            flens = mem_realloc(flens, cap * sizeof(*flens));
            vlens = mem_realloc(vlens, cap * sizeof(*vlens));
        }
        for (size_t i = 0; i < (size_t)nf; i++) {
            fields[i] = strvec_at(&kv, 2 * i);
            flens[i] = kv.len[2 * i];
            values[i] = strvec_at(&kv, 2 * i + 1);
            vlens[i] = kv.len[2 * i + 1];
        }
        xstream_append(s->x, &id, (size_t)nf, fields, flens, values, vlens);
        live++;
    }
    /* The master entry's counts agree, and the node is not empty. */
    if (count == live && deleted == dead && live + dead > 0) {
        rc = 0;
    }
out:
    strvec_free(&mf);
    strvec_free(&kv);
    mem_free(fields);
    mem_free(values);
    mem_free(flens);
    mem_free(vlens);
    return rc;
}

/* A group's PEL as read, before the consumers claim its entries. */
struct pel_stash {
    struct xid id;
    long long time;
    uint64_t count;
    struct sconsumer *owner;
};

static struct pel_stash *
stash_find(struct pel_stash *a, size_t n, const struct xid *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = xid_cmp(&a[mid].id, id);
        if (c == 0) {
            return &a[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Names in t_stream.c's order (bytes, then length), for the sorted group
 * and consumer arrays. */
static int
name_order(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c != 0 ? c : (al < bl ? -1 : al > bl);
}

static int
group_order(const void *a, const void *b)
{
    const struct sgroup *x = *(const struct sgroup *const *)a;
    const struct sgroup *y = *(const struct sgroup *const *)b;
    return name_order(x->name, x->namelen, y->name, y->namelen);
}

static int
consumer_order(const void *a, const void *b)
{
    const struct sconsumer *x = *(const struct sconsumer *const *)a;
    const struct sconsumer *y = *(const struct sconsumer *const *)b;
    return name_order(x->name, x->namelen, y->name, y->namelen);
}

static char *
name_dup(const struct dump_rstr *n)
{
    char *d = mem_alloc(n->len + 1);
    memcpy(d, n->p, n->len);
    d[n->len] = '\0';
    return d;
}

/* Read one group into *gp (a new group, not yet in the stream, owned by
 * the caller even on failure).  Its consumers are built into one array
 * and sorted once (t_stream.c inserts one at a time, in O(n) each: a
 * payload of a million consumers must not take O(n^2)). */
static int
load_stream_group(struct dump_reader *r, struct stream *s, int v2, struct sgroup **gp)
{
    struct dump_rstr name;
    uint64_t er = UINT64_MAX, npel, ncons;
    struct pel_stash *pel = NULL;
    int rc = -1;

    *gp = NULL;
    if (dump_read_string(r, &name) != 0) {
        return -1;
    }
    struct sgroup *g = mem_calloc(sizeof(*g));
    g->name = name_dup(&name);
    g->namelen = name.len;
    dump_rstr_release(&name);
    *gp = g;
    if (read_id(r, &g->last_id) != 0 || (v2 && dump_read_len(&r->p, r->end, &er) != 0)
        || dump_read_len(&r->p, r->end, &npel) != 0
        || npel > (uint64_t)(r->end - r->p) / 17) {
        return -1;
    }
    /* entries_read: (uint64)-1 is Redis's "unknown", as ours is -1; a
     * Redis 6 group has none, and gets 7.0's estimate on load. */
    g->entries_read = er > (uint64_t)LLONG_MAX ? -1 : (long long)er;
    if (!v2) {
        g->entries_read = stream_estimate_distance(s, &g->last_id);
    }
    if (npel > 0) {
        pel = mem_alloc((size_t)npel * sizeof(*pel));
    }
    for (uint64_t i = 0; i < npel; i++) {
        if (read_raw_id(r, &pel[i].id) != 0 || read_ms_time(r, &pel[i].time) != 0
            || dump_read_len(&r->p, r->end, &pel[i].count) != 0
            || (i > 0 && xid_cmp(&pel[i].id, &pel[i - 1].id) <= 0)) {
            goto out;
        }
        pel[i].owner = NULL;
    }
    /* Each consumer takes at least 10 bytes. */
    if (dump_read_len(&r->p, r->end, &ncons) != 0
        || ncons > (uint64_t)(r->end - r->p) / 10) {
        goto out;
    }
    if (ncons > 0) {
        g->consumers = mem_alloc((size_t)ncons * sizeof(*g->consumers));
    }
    for (uint64_t i = 0; i < ncons; i++) {
        struct dump_rstr cname;
        uint64_t nown;
        if (dump_read_string(r, &cname) != 0) {
            goto out;
        }
        struct sconsumer *c = mem_calloc(sizeof(*c));
        c->name = name_dup(&cname);
        c->namelen = cname.len;
        dump_rstr_release(&cname);
        g->consumers[g->nconsumers++] = c;
        if (read_ms_time(r, &c->seen_time) != 0
            || dump_read_len(&r->p, r->end, &nown) != 0 || nown > npel) {
            goto out;
        }
        for (uint64_t j = 0; j < nown; j++) {
            struct xid id;
            struct pel_stash *p;
            if (read_raw_id(r, &id) != 0 || (p = stash_find(pel, (size_t)npel, &id)) == NULL
                || p->owner != NULL) {
                goto out;
            }
            p->owner = c;
        }
    }
    if (g->nconsumers > 1) {
        qsort(g->consumers, g->nconsumers, sizeof(*g->consumers), consumer_order);
        for (size_t i = 1; i < g->nconsumers; i++) {
            if (consumer_order(&g->consumers[i - 1], &g->consumers[i]) == 0) {
                goto out;        /* a consumer named twice */
            }
        }
    }
    /* Every pending entry has its consumer (Redis's sanitizer's rule). */
    for (uint64_t i = 0; i < npel; i++) {
        if (pel[i].owner == NULL) {
            goto out;
        }
    }
    for (uint64_t i = 0; i < npel; i++) {
        struct spel *p = stream_pel_add(g, &pel[i].id, pel[i].owner, pel[i].time,
                                        pel[i].count);
        p->delivery_time = pel[i].time;
    }
    rc = 0;
out:
    mem_free(pel);
    return rc;
}

int
dump_stream_load(struct dump_reader *r, int type, void **out)
{
    struct stream *s = stream_create();
    uint64_t nnodes, length, ngroups;
    struct xid prev = {0, 0}, last;
    int have_prev = 0, v2 = type == RDB_TYPE_STREAM_LISTPACKS_2;
    *out = s;

    if (dump_read_len(&r->p, r->end, &nnodes) != 0 || nnodes > (uint64_t)(r->end - r->p)) {
        return -1;
    }
    for (uint64_t i = 0; i < nnodes; i++) {
        struct dump_rstr key, lp;
        struct xid master;
        if (dump_read_string(r, &key) != 0) {
            return -1;
        }
        int ok = key.len == 16;
        if (ok) {
            struct dump_reader kr = {(const unsigned char *)key.p,
                                (const unsigned char *)key.p + 16};
            read_raw_id(&kr, &master);
        }
        dump_rstr_release(&key);
        if (!ok || dump_read_string(r, &lp) != 0) {
            return -1;
        }
        /* The node's first entry is its master: the key names it. */
        struct xid before = prev;
        int had = have_prev;
        int rc = load_stream_node(s, &master, lp.p, lp.len, &prev, &have_prev);
        dump_rstr_release(&lp);
        if (rc != 0 || (had && xid_cmp(&master, &before) <= 0)) {
            return -1;
        }
    }
    if (dump_read_len(&r->p, r->end, &length) != 0 || length != s->x->length
        || read_id(r, &last) != 0 || (have_prev && xid_cmp(&last, &prev) < 0)) {
        return -1;
    }
    s->last_id = last;
    if (v2) {
        if (read_id(r, &s->first_id) != 0 || read_id(r, &s->max_deleted_id) != 0
            || dump_read_len(&r->p, r->end, &s->entries_added) != 0) {
            return -1;
        }
    } else {
        /* Redis 6's streams: what 7.0 derives on load. */
        if (xstream_first_id(s->x, &s->first_id) != 0) {
            s->first_id.ms = s->first_id.seq = 0;
        }
        s->entries_added = length;
    }
    /* Each group takes at least 5 bytes.  The groups are read into one
     * array, attached to the stream (which frees them) whatever happens,
     * and sorted once. */
    if (dump_read_len(&r->p, r->end, &ngroups) != 0
        || ngroups > (uint64_t)(r->end - r->p) / 5) {
        return -1;
    }
    if (ngroups == 0) {
        return 0;
    }
    s->groups = mem_alloc((size_t)ngroups * sizeof(*s->groups));
    for (uint64_t i = 0; i < ngroups; i++) {
        struct sgroup *g;
        int rc = load_stream_group(r, s, v2, &g);
        if (g != NULL) {
            s->groups[s->ngroups++] = g;
        }
        if (rc != 0) {
            return -1;
        }
    }
    qsort(s->groups, s->ngroups, sizeof(*s->groups), group_order);
    for (size_t i = 1; i < s->ngroups; i++) {
        if (group_order(&s->groups[i - 1], &s->groups[i]) == 0) {
            return -1;           /* a group named twice */
        }
    }
    return 0;
}

