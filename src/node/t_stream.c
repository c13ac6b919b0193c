/* The stream type: object-layer table, IDs, consumer groups and their
 * pending entries lists.  The handlers are in cmd_stream.c; the entries in
 * ds/xstream.c. */
#include "node/t_stream.h"
#include "core/alloc.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- IDs ---------------------------------------------------------------------- */

size_t
stream_id_str(char *buf, const struct xid *id)
{
    /* Not snprintf: XADD formats its new ID for the reply and for the
     * propagated command, and snprintf was half of XADD's instructions. */
    size_t n = util_ull2str(buf, id->ms);
    buf[n++] = '-';
    return n + util_ull2str(buf + n, id->seq);
}

static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno == ERANGE) {
        return -1;
    }
    *out = v;
    return 0;
}

int
stream_parse_id(const char *s, size_t len, int strict, uint64_t missing_seq, struct xid *id,
                int *seq_star)
{
    if (seq_star != NULL) {
        *seq_star = 0;
    }
    if (len > 127) {
        return -1;
    }
    if (!strict && len == 1 && (s[0] == '-' || s[0] == '+')) {
        id->ms = s[0] == '-' ? 0 : UINT64_MAX;
        id->seq = s[0] == '-' ? 0 : UINT64_MAX;
        return 0;
    }
    const char *dot = memchr(s, '-', len);
    if (dot == NULL) {
        id->seq = missing_seq;
        return parse_u64(s, len, &id->ms);
    }
    if (parse_u64(s, (size_t)(dot - s), &id->ms) != 0) {
        return -1;
    }
    size_t rest = len - (size_t)(dot - s) - 1;
    if (seq_star != NULL && rest == 1 && dot[1] == '*') {
        *seq_star = 1;
        id->seq = 0;
        return 0;
    }
    return parse_u64(dot + 1, rest, &id->seq);
}

int
stream_id_incr(struct xid *id)
{
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) {
            return -1;
        }
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

int
stream_id_decr(struct xid *id)
{
    if (id->seq == 0) {
        if (id->ms == 0) {
            return -1;
        }
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

/* ---- the object ----------------------------------------------------------------- */

struct stream *
stream_create(void)
{
    struct stream *s = mem_calloc(sizeof(*s));
    s->x = xstream_create();
    return s;
}

static void
group_free(struct sgroup *g)
{
    for (size_t i = 0; i < g->nconsumers; i++) {
        mem_free(g->consumers[i]->name);
        mem_free(g->consumers[i]);
    }
    mem_free(g->consumers);
    mem_free(g->pel);
    mem_free(g->name);
    mem_free(g);
}

static void
stream_free(void *obj)
{
    struct stream *s = obj;
    xstream_destroy(&s->x);
    for (size_t i = 0; i < s->ngroups; i++) {
        group_free(s->groups[i]);
    }
    mem_free(s->groups);
    mem_free(s);
}

static size_t
stream_memory(const void *obj)
{
    const struct stream *s = obj;
    size_t m = mem_usable(s) + xstream_memory(s->x);
    if (s->groups != NULL) {
        m += mem_usable(s->groups);
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        m += mem_usable(g) + mem_usable(g->name);
        if (g->pel != NULL) {
            m += mem_usable(g->pel);
        }
        if (g->consumers != NULL) {
            m += mem_usable(g->consumers);
        }
        for (size_t j = 0; j < g->nconsumers; j++) {
            m += mem_usable(g->consumers[j]) + mem_usable(g->consumers[j]->name);
        }
    }
    return m;
}

static char *
dupbytes(const char *p, size_t len)
{
    char *d = mem_alloc(len + 1);
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

static void *
stream_copy(const void *obj)
{
    const struct stream *s = obj;
    struct stream *d = mem_calloc(sizeof(*d));
    *d = *s;
    d->x = xstream_copy(s->x);
    d->groups = s->ngroups ? mem_alloc(s->ngroups * sizeof(*d->groups)) : NULL;
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        struct sgroup *h = mem_calloc(sizeof(*h));
        *h = *g;
        h->name = dupbytes(g->name, g->namelen);
        h->consumers = g->nconsumers ? mem_alloc(g->nconsumers * sizeof(*h->consumers)) : NULL;
        for (size_t j = 0; j < g->nconsumers; j++) {
            struct sconsumer *c = mem_alloc(sizeof(*c));
            *c = *g->consumers[j];
            c->name = dupbytes(c->name, c->namelen);
            h->consumers[j] = c;
        }
        h->pelcap = g->npel;
        h->pel = g->npel ? mem_alloc(g->npel * sizeof(*h->pel)) : NULL;
        for (size_t j = 0; j < g->npel; j++) {
            h->pel[j] = g->pel[j];
            for (size_t k = 0; k < g->nconsumers; k++) {
                if (g->consumers[k] == g->pel[j].consumer) {
                    h->pel[j].consumer = h->consumers[k];
                }
            }
        }
        d->groups[i] = h;
    }
    return d;
}

static const char *
stream_encoding(const void *obj)
{
    (void)obj;
    return "stream";
}

static size_t
stream_length(const void *obj)
{
    const struct stream *s = obj;
    return (size_t)s->x->length;
}

static void
digest_id(uint64_t h[3], const struct xid *id)
{
    char buf[STREAM_ID_STRLEN];
    size_t n = stream_id_str(buf, id);
    obj_digest_ordered(h, buf, n, NULL, 0);
}

static void
stream_digest(const void *obj, uint64_t h[3])
{
    const struct stream *s = obj;
    struct xstream_iter it;
    struct xentry e;
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    xstream_iter_init(&it, s->x, &lo, &hi, 0);
    while (xstream_iter_next(&it, &e)) {
        digest_id(h, &e.id);
        const unsigned char *fp = e.fields, *vp = e.values;
        for (size_t i = 0; i < e.nfields; i++) {
            const char *f, *v;
            size_t fl, vl;
            xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
            obj_digest_ordered(h, f, fl, v, vl);
        }
    }
    digest_id(h, &s->last_id);
    digest_id(h, &s->max_deleted_id);
    char n[32];
    obj_digest_ordered(h, n, (size_t)snprintf(n, sizeof(n), "%" PRIu64, s->entries_added),
                       NULL, 0);
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        obj_digest_ordered(h, g->name, g->namelen, NULL, 0);
        digest_id(h, &g->last_id);
        obj_digest_ordered(h, n, (size_t)snprintf(n, sizeof(n), "%lld", g->entries_read),
                           NULL, 0);
        for (size_t j = 0; j < g->nconsumers; j++) {
            obj_digest_ordered(h, g->consumers[j]->name, g->consumers[j]->namelen, NULL, 0);
        }
        for (size_t j = 0; j < g->npel; j++) {
            digest_id(h, &g->pel[j].id);
            obj_digest_ordered(h, g->pel[j].consumer->name, g->pel[j].consumer->namelen, n,
                               (size_t)snprintf(n, sizeof(n), "%" PRIu64,
                                                g->pel[j].delivery_count));
        }
    }
}

static void
emit(struct obj_emitter *em, size_t argc, const char *const *argv, const size_t *lens)
{
    obj_emit_command(em, argc, argv, lens);
}

static int
xid_qsort_cmp(const void *a, const void *b)
{
    return xid_cmp(a, b);
}

/* IDs pending in some group whose entry is gone (deleted or trimmed),
 * sorted and unique; *n set.  Owned by the caller. */
static struct xid *
pending_without_entry(const struct stream *s, size_t *n)
{
    size_t cap = 0, cnt = 0;
    struct xid *out = NULL;
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        for (size_t j = 0; j < g->npel; j++) {
            if (stream_entry_exists(s, &g->pel[j].id)) {
                continue;
            }
            if (cnt == cap) {
                cap = cap ? cap * 2 : 16;
                out = mem_realloc(out, cap * sizeof(*out));
            }
            out[cnt++] = g->pel[j].id;
        }
    }
    if (cnt > 1) {
        qsort(out, cnt, sizeof(*out), xid_qsort_cmp);
        size_t w = 1;
        for (size_t i = 1; i < cnt; i++) {
            if (xid_cmp(&out[i], &out[w - 1]) != 0) {
                out[w++] = out[i];
            }
        }
        cnt = w;
    }
    *n = cnt;
    return out;
}

static void
emit_placeholder(struct obj_emitter *em, const char *key, size_t keylen, const struct xid *id)
{
    char idb[STREAM_ID_STRLEN];
    const char *a[] = {"XADD", key, idb, "x", "y"};
    size_t l[] = {4, keylen, stream_id_str(idb, id), 1, 1};
    emit(em, 5, a, l);
}

/* XADD per entry, then per group XGROUP CREATE ... ENTRIESREAD, XGROUP
 * CREATECONSUMER and XCLAIM ... FORCE JUSTID per pending entry (as Redis's
 * AOF rewrite writes a stream), then XSETID with the counters.  A pending
 * entry whose stream entry is gone (XDEL, XTRIM) would be dropped by
 * XCLAIM, so it is claimed against a placeholder entry added in ID order
 * and deleted again before the XSETID: every message stays pending. */
static void
stream_rewrite(const void *obj, const char *key, size_t keylen, struct obj_emitter *em)
{
    const struct stream *s = obj;
    struct xstream_iter it;
    struct xentry e;
    struct xid lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    char idb[STREAM_ID_STRLEN], id2[STREAM_ID_STRLEN], nb[32], nb2[32];
    size_t cap = 16, nmissing, mi = 0, emitted = 0;
    struct xid *missing = pending_without_entry(s, &nmissing);
    const char **argv = mem_alloc(cap * sizeof(*argv));
    size_t *lens = mem_alloc(cap * sizeof(*lens));
    xstream_iter_init(&it, s->x, &lo, &hi, 0);
    while (xstream_iter_next(&it, &e)) {
        while (mi < nmissing && xid_cmp(&missing[mi], &e.id) < 0) {
            emit_placeholder(em, key, keylen, &missing[mi++]);
            emitted++;
        }
        size_t need = 3 + 2 * e.nfields;
        if (need > cap) {
            cap = need;
            argv = mem_realloc(argv, cap * sizeof(*argv));
            lens = mem_realloc(lens, cap * sizeof(*lens));
        }
        argv[0] = "XADD";
        lens[0] = 4;
        argv[1] = key;
        lens[1] = keylen;
        lens[2] = stream_id_str(idb, &e.id);
        argv[2] = idb;
        const unsigned char *fp = e.fields, *vp = e.values;
        for (size_t i = 0; i < e.nfields; i++) {
            xentry_pair(&fp, &vp, &argv[3 + 2 * i], &lens[3 + 2 * i], &argv[4 + 2 * i],
                        &lens[4 + 2 * i]);
        }
        emit(em, need, argv, lens);
        emitted++;
    }
    while (mi < nmissing) {
        emit_placeholder(em, key, keylen, &missing[mi++]);
        emitted++;
    }
    if (emitted == 0) {
        /* An empty stream still exists: add and trim away one entry. */
        const char *a[] = {"XADD", key, "MAXLEN", "0", idb, "x", "y"};
        size_t l[] = {4, keylen, 6, 1, 1, 1, 1};
        l[4] = stream_id_str(idb, s->last_id.ms || s->last_id.seq ? &s->last_id
                                                                   : &(struct xid){0, 1});
        emit(em, 7, a, l);
    }
    for (size_t i = 0; i < s->ngroups; i++) {
        const struct sgroup *g = s->groups[i];
        const char *a[] = {"XGROUP", "CREATE", key, g->name, idb, "ENTRIESREAD", nb};
        size_t l[] = {6, 6, keylen, g->namelen, stream_id_str(idb, &g->last_id), 11,
                      (size_t)snprintf(nb, sizeof(nb), "%lld", g->entries_read)};
        emit(em, 7, a, l);
        for (size_t j = 0; j < g->nconsumers; j++) {
            const char *b[] = {"XGROUP", "CREATECONSUMER", key, g->name,
                               g->consumers[j]->name};
            size_t bl[] = {6, 14, keylen, g->namelen, g->consumers[j]->namelen};
            emit(em, 5, b, bl);
        }
        for (size_t j = 0; j < g->npel; j++) {
            const struct spel *p = &g->pel[j];
            const char *b[] = {"XCLAIM", key, g->name, p->consumer->name, "0", idb, "TIME",
                               nb, "RETRYCOUNT", nb2, "JUSTID", "FORCE"};
            size_t bl[] = {6, keylen, g->namelen, p->consumer->namelen, 1,
                           stream_id_str(idb, &p->id), 4,
                           (size_t)snprintf(nb, sizeof(nb), "%lld", p->delivery_time), 10,
                           (size_t)snprintf(nb2, sizeof(nb2), "%" PRIu64, p->delivery_count),
                           6, 5};
            emit(em, 12, b, bl);
        }
    }
    for (size_t k = 0; k < nmissing; k++) {
        const char *a[] = {"XDEL", key, idb};
        size_t l[] = {4, keylen, stream_id_str(idb, &missing[k])};
        emit(em, 3, a, l);
    }
    {
        const char *a[] = {"XSETID", key, idb, "ENTRIESADDED", nb, "MAXDELETEDID", id2};
        size_t l[] = {6, keylen, stream_id_str(idb, &s->last_id), 12,
                      (size_t)snprintf(nb, sizeof(nb), "%" PRIu64, s->entries_added), 12,
                      stream_id_str(id2, &s->max_deleted_id)};
        emit(em, 7, a, l);
    }
    mem_free(missing);
    mem_free(argv);
    mem_free(lens);
}

const struct obj_type stream_type = {
    .name = "stream",
    .free = stream_free,
    .memory = stream_memory,
    .copy = stream_copy,
    .encoding = stream_encoding,
    .length = stream_length,
    .digest = stream_digest,
    .rewrite = stream_rewrite,
};

/* ---- entries ----------------------------------------------------------------------- */

void
stream_update_first(struct stream *s)
{
    if (xstream_first_id(s->x, &s->first_id) != 0) {
        s->first_id.ms = 0;
        s->first_id.seq = 0;
    }
}

int
stream_delete(struct stream *s, const struct xid *id)
{
    if (!xstream_delete(s->x, id)) {
        return 0;
    }
    if (xid_cmp(id, &s->max_deleted_id) > 0) {
        s->max_deleted_id = *id;
    }
    if (xid_cmp(id, &s->first_id) == 0) {
        stream_update_first(s);
    }
    return 1;
}

size_t
stream_trim(struct stream *s, uint64_t maxlen, const struct xid *minid, int approx,
            long long limit)
{
    size_t n = xstream_trim(s->x, maxlen, minid, approx, limit);
    if (n > 0) {
        stream_update_first(s);
    }
    return n;
}

int
stream_entry_exists(const struct stream *s, const struct xid *id)
{
    struct xstream_iter it;
    struct xentry e;
    xstream_iter_init(&it, s->x, id, id, 0);
    return xstream_iter_next(&it, &e);
}

/* ---- groups ------------------------------------------------------------------------- */

static int
name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0) {
        return c;
    }
    return al < bl ? -1 : (al > bl ? 1 : 0);
}

struct sgroup *
stream_group_find(const struct stream *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        if (name_cmp(s->groups[i]->name, s->groups[i]->namelen, name, len) == 0) {
            return s->groups[i];
        }
    }
    return NULL;
}

struct sgroup *
stream_group_create(struct stream *s, const char *name, size_t len, const struct xid *last_id,
                    long long entries_read)
{
    struct sgroup *g = mem_calloc(sizeof(*g));
    g->name = dupbytes(name, len);
    g->namelen = len;
    g->last_id = *last_id;
    g->entries_read = entries_read;
    size_t at = 0;
    while (at < s->ngroups && name_cmp(s->groups[at]->name, s->groups[at]->namelen, name, len) < 0) {
        at++;
    }
    s->groups = mem_realloc(s->groups, (s->ngroups + 1) * sizeof(*s->groups));
    memmove(s->groups + at + 1, s->groups + at, (s->ngroups - at) * sizeof(*s->groups));
    s->groups[at] = g;
    s->ngroups++;
    return g;
}

void
stream_group_destroy(struct stream *s, struct sgroup *g)
{
    for (size_t i = 0; i < s->ngroups; i++) {
        if (s->groups[i] == g) {
            memmove(s->groups + i, s->groups + i + 1, (s->ngroups - i - 1) * sizeof(*s->groups));
            s->ngroups--;
            break;
        }
    }
    group_free(g);
}

struct sconsumer *
stream_consumer_find(const struct sgroup *g, const char *name, size_t len)
{
    for (size_t i = 0; i < g->nconsumers; i++) {
        if (name_cmp(g->consumers[i]->name, g->consumers[i]->namelen, name, len) == 0) {
            return g->consumers[i];
        }
    }
    return NULL;
}

struct sconsumer *
stream_consumer_get(struct sgroup *g, const char *name, size_t len, long long now, int *created)
{
    struct sconsumer *c = stream_consumer_find(g, name, len);
    if (created != NULL) {
        *created = c == NULL;
    }
    if (c != NULL) {
        return c;
    }
    c = mem_calloc(sizeof(*c));
    c->name = dupbytes(name, len);
    c->namelen = len;
    c->seen_time = now;
    size_t at = 0;
    while (at < g->nconsumers
           && name_cmp(g->consumers[at]->name, g->consumers[at]->namelen, name, len) < 0) {
        at++;
    }
    g->consumers = mem_realloc(g->consumers, (g->nconsumers + 1) * sizeof(*g->consumers));
    memmove(g->consumers + at + 1, g->consumers + at,
            (g->nconsumers - at) * sizeof(*g->consumers));
    g->consumers[at] = c;
    g->nconsumers++;
    return c;
}

size_t
stream_consumer_delete(struct sgroup *g, struct sconsumer *cons)
{
    size_t had = cons->npending, w = 0;
    for (size_t i = 0; i < g->npel; i++) {
        if (g->pel[i].consumer != cons) {
            g->pel[w++] = g->pel[i];
        }
    }
    g->npel = w;
    for (size_t i = 0; i < g->nconsumers; i++) {
        if (g->consumers[i] == cons) {
            memmove(g->consumers + i, g->consumers + i + 1,
                    (g->nconsumers - i - 1) * sizeof(*g->consumers));
            g->nconsumers--;
            break;
        }
    }
    mem_free(cons->name);
    mem_free(cons);
    return had;
}

size_t
stream_pel_lower(const struct sgroup *g, const struct xid *id)
{
    size_t lo = 0, hi = g->npel;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xid_cmp(&g->pel[mid].id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct spel *
stream_pel_find(const struct sgroup *g, const struct xid *id)
{
    size_t i = stream_pel_lower(g, id);
    if (i < g->npel && xid_cmp(&g->pel[i].id, id) == 0) {
        return &g->pel[i];
    }
    return NULL;
}

struct spel *
stream_pel_add(struct sgroup *g, const struct xid *id, struct sconsumer *c, long long now,
               uint64_t count)
{
    size_t at = stream_pel_lower(g, id);
    if (g->npel == g->pelcap) {
        g->pelcap = g->pelcap ? g->pelcap * 2 : 8;
        g->pel = mem_realloc(g->pel, g->pelcap * sizeof(*g->pel));
    }
    memmove(g->pel + at + 1, g->pel + at, (g->npel - at) * sizeof(*g->pel));
    g->npel++;
    struct spel *p = &g->pel[at];
    p->id = *id;
    p->consumer = c;
    p->delivery_time = now;
    p->delivery_count = count;
    c->npending++;
    return p;
}

void
stream_pel_remove(struct sgroup *g, struct spel *p)
{
    size_t at = (size_t)(p - g->pel);
    p->consumer->npending--;
    memmove(g->pel + at, g->pel + at + 1, (g->npel - at - 1) * sizeof(*g->pel));
    g->npel--;
}

/* ---- lag (Redis 7.0's estimates) ------------------------------------------------------ */

static int
id_is_zero(const struct xid *id)
{
    return id->ms == 0 && id->seq == 0;
}

long long
stream_estimate_distance(const struct stream *s, const struct xid *id)
{
    if (s->entries_added == 0) {
        return 0;
    }
    if (s->x->length == 0 && xid_cmp(id, &s->last_id) < 1) {
        return (long long)s->entries_added;
    }
    int cmp_last = xid_cmp(id, &s->last_id);
    if (cmp_last == 0) {
        return (long long)s->entries_added;
    }
    if (cmp_last > 0) {
        return -1;
    }
    int cmp_id_first = xid_cmp(id, &s->first_id);
    int cmp_xdel_first = xid_cmp(&s->max_deleted_id, &s->first_id);
    if (id_is_zero(&s->max_deleted_id) || cmp_xdel_first < 0) {
        if (cmp_id_first < 0) {
            return (long long)(s->entries_added - s->x->length);
        }
        if (cmp_id_first == 0) {
            return (long long)(s->entries_added - s->x->length + 1);
        }
    }
    return -1;
}

/* Whether the stream has deleted entries at or after start (a deletion
 * before the first live entry does not count). */
static int
range_has_tombstones(const struct stream *s, const struct xid *start)
{
    if (s->x->length == 0 || id_is_zero(&s->max_deleted_id)
        || xid_cmp(&s->first_id, &s->max_deleted_id) > 0) {
        return 0;
    }
    return xid_cmp(start, &s->max_deleted_id) <= 0;
}

int
stream_group_lag(const struct stream *s, const struct sgroup *g, long long *lag)
{
    if (s->entries_added == 0) {
        *lag = 0;
        return 1;
    }
    if (g->entries_read != -1 && !range_has_tombstones(s, &g->last_id)) {
        *lag = (long long)s->entries_added - g->entries_read;
        return 1;
    }
    long long er = stream_estimate_distance(s, &g->last_id);
    if (er == -1) {
        return 0;
    }
    *lag = (long long)s->entries_added - er;
    return 1;
}

/* Exported for cmd_stream.c's XREADGROUP bookkeeping. */
int stream_range_has_tombstones(const struct stream *s, const struct xid *start);
int
stream_range_has_tombstones(const struct stream *s, const struct xid *start)
{
    return range_has_tombstones(s, start);
}
