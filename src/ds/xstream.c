/* Stream entry storage (see xstream.h): nodes of delta-encoded records.
 *
 * A node's buf: varint nmaster, the master field names (varint length and
 * bytes each), then one record per appended entry: a flags byte
 * (XREC_DELETED, XREC_OWNFIELDS), varint ms - first.ms, varint seq, when
 * XREC_OWNFIELDS a varint field count and the field names, then the
 * values (as many as fields). */
#include "ds/xstream.h"
#include "core/alloc.h"

#include <string.h>

#define XREC_DELETED 1
#define XREC_OWNFIELDS 2

int
xid_cmp(const struct xid *a, const struct xid *b)
{
    if (a->ms != b->ms) {
        return a->ms < b->ms ? -1 : 1;
    }
    if (a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }
    return 0;
}

/* ---- varints -------------------------------------------------------------- */

static size_t
varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static uint64_t
varint_get(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            break;
        }
        shift += 7;
    }
    *pp = p;
    return v;
}

/* Bounds-checked varint for validation: -1 on overrun. */
static int
varint_get_safe(const unsigned char **pp, const unsigned char *end, uint64_t *out)
{
    const unsigned char *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end) {
            return -1;
        }
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

static const unsigned char *
skip_strings(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t l = varint_get(&p);
        p += l;
    }
    return p;
}

/* ---- nodes ----------------------------------------------------------------- */

static void
node_reserve(struct xnode *n, size_t extra)
{
    if (n->len + extra <= n->cap) {
        return;
    }
    size_t cap = n->cap ? n->cap : 64;
    while (cap < n->len + extra) {
        cap *= 2;
    }
    n->buf = mem_realloc(n->buf, cap);
    n->cap = (uint32_t)cap;
}

static void
node_free(struct xnode *n)
{
    mem_free(n->buf);
    mem_free(n);
}

static size_t
node_nmaster(const struct xnode *n, const unsigned char **fields)
{
    const unsigned char *p = n->buf;
    size_t nm = (size_t)varint_get(&p);
    *fields = p;
    return nm;
}

static const unsigned char *
node_records(const struct xnode *n)
{
    const unsigned char *f;
    size_t nm = node_nmaster(n, &f);
    return skip_strings(f, nm);
}

/* Decode the record at p into e (deleted flag in *flags); returns the
 * record's end. */
static const unsigned char *
node_record(const struct xnode *n, const unsigned char *p, struct xentry *e, int *flags)
{
    const unsigned char *master;
    size_t nm = node_nmaster(n, &master);
    *flags = *p++;
    e->id.ms = n->first.ms + varint_get(&p);
    e->id.seq = varint_get(&p);
    if (*flags & XREC_OWNFIELDS) {
        e->nfields = (size_t)varint_get(&p);
        e->fields = p;
        p = skip_strings(p, e->nfields);
    } else {
        e->nfields = nm;
        e->fields = master;
    }
    e->values = p;
    return skip_strings(p, e->nfields);
}

static int
fields_equal_master(const struct xnode *n, size_t nfields, const char *const *fields,
                    const size_t *flens)
{
    const unsigned char *p;
    size_t nm = node_nmaster(n, &p);
    if (nm != nfields) {
        return 0;
    }
    for (size_t i = 0; i < nfields; i++) {
        uint64_t l = varint_get(&p);
        if (l != flens[i] || memcmp(p, fields[i], l) != 0) {
            return 0;
        }
        p += l;
    }
    return 1;
}

static size_t
strings_size(size_t n, const size_t *lens)
{
    size_t sz = 0;
    for (size_t i = 0; i < n; i++) {
        sz += 10 + lens[i];
    }
    return sz;
}

static void
put_strings(struct xnode *n, size_t cnt, const char *const *s, const size_t *lens)
{
    for (size_t i = 0; i < cnt; i++) {
        n->len += (uint32_t)varint_put(n->buf + n->len, lens[i]);
        memcpy(n->buf + n->len, s[i], lens[i]);
        n->len += (uint32_t)lens[i];
    }
}

/* ---- the stream ------------------------------------------------------------- */

struct xstream *
xstream_create(void)
{
    return mem_calloc(sizeof(struct xstream));
}

void
xstream_destroy(struct xstream **sp)
{
    struct xstream *s = *sp;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nnodes; i++) {
        node_free(s->nodes[i]);
    }
    mem_free(s->nodes);
    mem_free(s);
    *sp = NULL;
}

struct xstream *
xstream_copy(const struct xstream *s)
{
    struct xstream *d = mem_calloc(sizeof(*d));
    *d = *s;
    d->cap = s->nnodes;
    d->nodes = s->nnodes ? mem_alloc(s->nnodes * sizeof(*d->nodes)) : NULL;
    for (size_t i = 0; i < s->nnodes; i++) {
        struct xnode *n = mem_alloc(sizeof(*n));
        *n = *s->nodes[i];
        n->cap = n->len;
        n->buf = mem_alloc(n->len);
        memcpy(n->buf, s->nodes[i]->buf, n->len);
        d->nodes[i] = n;
    }
    return d;
}

size_t
xstream_memory(const struct xstream *s)
{
    size_t m = mem_usable(s);
    if (s->nodes != NULL) {
        m += mem_usable(s->nodes);
    }
    for (size_t i = 0; i < s->nnodes; i++) {
        m += mem_usable(s->nodes[i]) + (s->nodes[i]->buf ? mem_usable(s->nodes[i]->buf) : 0);
    }
    return m;
}

static void
node_shrink(struct xnode *n)
{
    if (n->cap > n->len) {
        n->buf = mem_realloc(n->buf, n->len);
        n->cap = n->len;
    }
}

static unsigned long long node_max_entries = XSTREAM_NODE_ENTRIES;
static unsigned long long node_max_bytes = XSTREAM_NODE_BYTES;

void
xstream_set_node_limits(unsigned long long max_entries, unsigned long long max_bytes)
{
    node_max_entries = max_entries;
    node_max_bytes = max_bytes == 0 || max_bytes > XSTREAM_NODE_BYTES_MAX
                         ? XSTREAM_NODE_BYTES_MAX : max_bytes;
}

void
xstream_append(struct xstream *s, const struct xid *id, size_t nfields,
               const char *const *fields, const size_t *flens,
               const char *const *values, const size_t *vlens)
{
    struct xnode *n = s->nnodes ? s->nodes[s->nnodes - 1] : NULL;
    size_t vsize = strings_size(nfields, vlens);
    size_t fsize = strings_size(nfields, flens);
    if (n != NULL
        && ((node_max_entries > 0 && n->total >= node_max_entries)
            || (n->len + vsize + 21 > node_max_bytes && n->total > 0))) {
        node_shrink(n);
        n = NULL;
    }
    if (n == NULL) {
        n = mem_calloc(sizeof(*n));
        n->first = *id;
        node_reserve(n, 10 + fsize);
        n->len += (uint32_t)varint_put(n->buf, nfields);
        put_strings(n, nfields, fields, flens);
        if (s->nnodes == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->nodes = mem_realloc(s->nodes, s->cap * sizeof(*s->nodes));
        }
        s->nodes[s->nnodes++] = n;
    }
    int own = !fields_equal_master(n, nfields, fields, flens);
    node_reserve(n, 1 + 20 + vsize + (own ? 10 + fsize : 0));
    n->buf[n->len++] = own ? XREC_OWNFIELDS : 0;
    n->len += (uint32_t)varint_put(n->buf + n->len, id->ms - n->first.ms);
    n->len += (uint32_t)varint_put(n->buf + n->len, id->seq);
    if (own) {
        n->len += (uint32_t)varint_put(n->buf + n->len, nfields);
        put_strings(n, nfields, fields, flens);
    }
    put_strings(n, nfields, values, vlens);
    n->last = *id;
    n->live++;
    n->total++;
    s->length++;
}

static void
remove_nodes(struct xstream *s, size_t at, size_t count)
{
    for (size_t i = at; i < at + count; i++) {
        node_free(s->nodes[i]);
    }
    memmove(s->nodes + at, s->nodes + at + count,
            (s->nnodes - at - count) * sizeof(*s->nodes));
    s->nnodes -= count;
}

/* The first node whose last ID is >= id (nnodes when none). */
static size_t
node_search(const struct xstream *s, const struct xid *id)
{
    size_t lo = 0, hi = s->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xid_cmp(&s->nodes[mid]->last, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
xstream_delete(struct xstream *s, const struct xid *id)
{
    size_t i = node_search(s, id);
    if (i == s->nnodes || xid_cmp(&s->nodes[i]->first, id) > 0) {
        return 0;
    }
    struct xnode *n = s->nodes[i];
    const unsigned char *p = node_records(n), *end = n->buf + n->len;
    while (p < end) {
        struct xentry e;
        int flags;
        unsigned char *rec = (unsigned char *)p;
        p = node_record(n, p, &e, &flags);
        int c = xid_cmp(&e.id, id);
        if (c == 0) {
            if (flags & XREC_DELETED) {
                return 0;
            }
            *rec |= XREC_DELETED;
            n->live--;
            s->length--;
            if (n->live == 0) {
                remove_nodes(s, i, 1);
            }
            return 1;
        }
        if (c > 0) {
            break;
        }
    }
    return 0;
}

static int
node_edge_id(const struct xnode *n, int last, struct xid *id)
{
    const unsigned char *p = node_records(n), *end = n->buf + n->len;
    int found = 0;
    while (p < end) {
        struct xentry e;
        int flags;
        p = node_record(n, p, &e, &flags);
        if (!(flags & XREC_DELETED)) {
            *id = e.id;
            found = 1;
            if (!last) {
                break;
            }
        }
    }
    return found ? 0 : -1;
}

int
xstream_first_id(const struct xstream *s, struct xid *id)
{
    return s->nnodes ? node_edge_id(s->nodes[0], 0, id) : -1;
}

int
xstream_last_id(const struct xstream *s, struct xid *id)
{
    return s->nnodes ? node_edge_id(s->nodes[s->nnodes - 1], 1, id) : -1;
}

size_t
xstream_trim(struct xstream *s, uint64_t maxlen, const struct xid *minid, int approx,
             long long limit)
{
    size_t removed = 0;
    size_t drop = 0;
    while (drop < s->nnodes) {
        struct xnode *n = s->nodes[drop];
        if (limit > 0 && removed + n->live > (unsigned long long)limit) {
            break;
        }
        int whole = minid ? xid_cmp(&n->last, minid) < 0
                          : s->length - removed - n->live >= maxlen;
        if (!whole) {
            break;
        }
        removed += n->live;
        drop++;
    }
    remove_nodes(s, 0, drop);
    s->length -= removed;
    if (approx || s->nnodes == 0) {
        return removed;
    }
    /* Exact: flag entries of the first node. */
    struct xnode *n = s->nodes[0];
    unsigned char *p = (unsigned char *)node_records(n), *end = n->buf + n->len;
    while (p < end) {
        if (minid == NULL && s->length <= maxlen) {
            break;
        }
        if (limit > 0 && removed >= (unsigned long long)limit) {
            break;
        }
        struct xentry e;
        int flags;
        unsigned char *rec = p;
        p = (unsigned char *)node_record(n, p, &e, &flags);
        if (minid != NULL && xid_cmp(&e.id, minid) >= 0) {
            break;
        }
        if (!(flags & XREC_DELETED)) {
            *rec |= XREC_DELETED;
            n->live--;
            s->length--;
            removed++;
        }
    }
    if (n->live == 0) {
        remove_nodes(s, 0, 1);
    }
    return removed;
}

/* ---- iteration ---------------------------------------------------------------- */

void
xstream_iter_init(struct xstream_iter *it, const struct xstream *s, const struct xid *start,
                  const struct xid *end, int rev)
{
    memset(it, 0, offsetof(struct xstream_iter, offs));
    it->s = s;
    it->start = *start;
    it->end = *end;
    it->rev = rev;
    it->noffs = 0;
    it->more = 0;
    it->started = 0;
    it->done = 0;
    if (xid_cmp(start, end) > 0 || s->nnodes == 0) {
        it->done = 1;
        return;
    }
    if (!rev) {
        it->node = node_search(s, start);
    } else {
        size_t i = node_search(s, end);
        if (i == s->nnodes) {
            i--;
        }
        it->node = i;
    }
}

/* Reverse: hold the offsets of the last XSTREAM_ITER_WINDOW records that
 * start before byte offset limit (records can only be walked forward).  A
 * node within the default limits fits one window; a longer one costs a
 * walk from its start per window. */
static void
iter_load_window(struct xstream_iter *it, const struct xnode *n, size_t limit)
{
    const unsigned char *p = node_records(n), *end = n->buf + limit;
    uint32_t ring[XSTREAM_ITER_WINDOW];
    size_t count = 0;
    while (p < end) {
        struct xentry e;
        int flags;
        ring[count % XSTREAM_ITER_WINDOW] = (uint32_t)(p - n->buf);
        count++;
        p = node_record(n, p, &e, &flags);
    }
    if (count <= XSTREAM_ITER_WINDOW) {
        memcpy(it->offs, ring, count * sizeof(*ring));
        it->noffs = count;
        it->more = 0;
    } else {
        size_t head = count % XSTREAM_ITER_WINDOW, k = XSTREAM_ITER_WINDOW - head;
        memcpy(it->offs, ring + head, k * sizeof(*ring));
        memcpy(it->offs + k, ring, head * sizeof(*ring));
        it->noffs = XSTREAM_ITER_WINDOW;
        it->more = 1;
    }
    it->pos = it->noffs;
}

static void
iter_load_node(struct xstream_iter *it)
{
    const struct xnode *n = it->s->nodes[it->node];
    if (!it->rev) {
        it->pos = (size_t)(node_records(n) - n->buf);
        return;
    }
    iter_load_window(it, n, n->len);
}

int
xstream_iter_next(struct xstream_iter *it, struct xentry *e)
{
    while (!it->done) {
        if (it->node >= it->s->nnodes) {
            it->done = 1;
            break;
        }
        const struct xnode *n = it->s->nodes[it->node];
        if (!it->started) {
            iter_load_node(it);
            it->started = 1;
        }
        int flags;
        if (!it->rev) {
            if (it->pos >= n->len) {
                it->node++;
                it->started = 0;
                continue;
            }
            const unsigned char *p = node_record(n, n->buf + it->pos, e, &flags);
            it->pos = (size_t)(p - n->buf);
            if (xid_cmp(&e->id, &it->end) > 0) {
                it->done = 1;
                break;
            }
            if ((flags & XREC_DELETED) || xid_cmp(&e->id, &it->start) < 0) {
                continue;
            }
            return 1;
        }
        if (it->pos == 0) {
            if (it->more) {
                iter_load_window(it, n, it->offs[0]);
                continue;
            }
            if (it->node == 0) {
                it->done = 1;
                break;
            }
            it->node--;
            it->started = 0;
            continue;
        }
        node_record(n, n->buf + it->offs[--it->pos], e, &flags);
        if (xid_cmp(&e->id, &it->start) < 0) {
            it->done = 1;
            break;
        }
        if ((flags & XREC_DELETED) || xid_cmp(&e->id, &it->end) > 0) {
            continue;
        }
        return 1;
    }
    return 0;
}

void
xentry_pair(const unsigned char **fp, const unsigned char **vp, const char **f,
            size_t *flen, const char **v, size_t *vlen)
{
    *flen = (size_t)varint_get(fp);
    *f = (const char *)*fp;
    *fp += *flen;
    *vlen = (size_t)varint_get(vp);
    *v = (const char *)*vp;
    *vp += *vlen;
}

int
xstream_node_validate(const unsigned char *buf, size_t len, uint32_t total)
{
    const unsigned char *p = buf, *end = buf + len;
    uint64_t nm, l, n;
    if (varint_get_safe(&p, end, &nm) != 0 || nm > len) {
        return -1;
    }
    for (uint64_t i = 0; i < nm; i++) {
        if (varint_get_safe(&p, end, &l) != 0 || l > (uint64_t)(end - p)) {
            return -1;
        }
        p += l;
    }
    uint32_t count = 0;
    while (p < end) {
        unsigned flags = *p++;
        if (flags & ~3u) {
            return -1;
        }
        if (varint_get_safe(&p, end, &l) != 0 || varint_get_safe(&p, end, &l) != 0) {
            return -1;
        }
        n = nm;
        if (flags & XREC_OWNFIELDS) {
            if (varint_get_safe(&p, end, &n) != 0 || n > len) {
                return -1;
            }
            for (uint64_t i = 0; i < n; i++) {
                if (varint_get_safe(&p, end, &l) != 0 || l > (uint64_t)(end - p)) {
                    return -1;
                }
                p += l;
            }
        }
        for (uint64_t i = 0; i < n; i++) {
            if (varint_get_safe(&p, end, &l) != 0 || l > (uint64_t)(end - p)) {
                return -1;
            }
            p += l;
        }
        count++;
    }
    return count == total ? 0 : -1;
}
