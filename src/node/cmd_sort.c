/* SORT and SORT_RO over lists, sets and sorted sets, with Redis 7.0's options: BY (a
 * pattern with `*`, hash fields with `->`, or a constant to skip sorting),
 * LIMIT, GET (`#` and patterns), ASC|DESC, ALPHA and STORE.  Elements and
 * the values they sort by are copied into one arena first, so lookups and
 * the STORE overwrite cannot pull bytes out from under the sort.  SORT ...
 * STORE propagates as its effect: DEL of the destination and RPUSHes of the
 * stored list (the BY/GET keys it read may differ on a replica in time). */
#include "node/handlers.h"
#include "core/acl.h"
#include "core/alloc.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_hash.h"
#include "node/t_list.h"
#include "node/t_set.h"
#include "node/t_zset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growing byte arena; items refer to it by offset until it stops moving. */
struct sort_arena {
    char *buf;                   /* owned */
    size_t len, cap;
};

static size_t
sort_arena_put(struct sort_arena *a, const char *p, size_t len)
{
    if (a->len + len + 1 > a->cap) {
        a->cap = (a->len + len + 1) * 2 + 64;
        a->buf = mem_realloc(a->buf, a->cap);
    }
    size_t off = a->len;
    memcpy(a->buf + off, p, len);
    a->buf[off + len] = '\0';    /* strtod reads up to here */
    a->len += len + 1;
    return off;
}

struct sort_item {
    size_t off, len;             /* the element, in the arena */
    size_t cmpoff, cmplen;       /* ALPHA BY: the value sorted by */
    int has_cmp;
    double score;
};

struct sort_ctx {
    const char *base;            /* borrowed: the arena */
    int desc, alpha, bypattern;
};
static struct sort_ctx sort_cur;

static int
sort_bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r != 0) {
        return r;
    }
    return al < bl ? -1 : (al > bl ? 1 : 0);
}

static int
sort_compare(const void *x, const void *y)
{
    const struct sort_item *a = x, *b = y;
    const char *base = sort_cur.base;
    int cmp;

    if (!sort_cur.alpha) {
        if (a->score > b->score) {
            cmp = 1;
        } else if (a->score < b->score) {
            cmp = -1;
        } else {
            /* Equal scores: the elements decide, so the order is one. */
            cmp = sort_bytes_cmp(base + a->off, a->len, base + b->off, b->len);
        }
    } else if (sort_cur.bypattern) {
        if (!a->has_cmp || !b->has_cmp) {
            cmp = a->has_cmp == b->has_cmp ? 0 : (!a->has_cmp ? -1 : 1);
        } else {
            cmp = sort_bytes_cmp(base + a->cmpoff, a->cmplen, base + b->cmpoff, b->cmplen);
        }
    } else {
        cmp = sort_bytes_cmp(base + a->off, a->len, base + b->off, b->len);
    }
    return sort_cur.desc ? -cmp : cmp;
}

/* Redis's lookupKeyByPattern: "#" is the element itself; else the first `*`
 * takes the element, and a `->field` after it reads a hash field instead of
 * a string.  Returns 1 with the value's bytes in *vp and *vl (valid until the
 * keyspace changes), 0 when there is none. */
static int
sort_lookup(struct client *c, const struct resp_arg *pat, const char *el, size_t elen,
            const char **vp, size_t *vl, char *kbuf, size_t kcap, char **kheap)
{
    if (pat->len == 1 && pat->ptr[0] == '#') {
        *vp = el;
        *vl = elen;
        return 1;
    }
    const char *star = memchr(pat->ptr, '*', pat->len);
    if (star == NULL) {
        return 0;
    }
    const char *end = pat->ptr + pat->len, *field = NULL;
    size_t flen = 0;
    for (const char *f = star + 1; f + 1 < end; f++) {
        if (f[0] == '-' && f[1] == '>') {
            if (f + 2 < end) {
                field = f + 2;
                flen = (size_t)(end - field);
            }
            break;
        }
    }
    size_t pre = (size_t)(star - pat->ptr);
    size_t post = (size_t)(end - star - 1) - (field ? flen + 2 : 0);
    size_t klen = pre + elen + post;
    char *k = kbuf;
    if (klen > kcap) {
        *kheap = mem_realloc(*kheap, klen);
        k = *kheap;
    }
    memcpy(k, pat->ptr, pre);
    memcpy(k + pre, el, elen);
    memcpy(k + pre + elen, star + 1, post);
    struct entry *e = db_lookup(c->db, k, klen, 0);
    if (e == NULL) {
        return 0;
    }
    if (field != NULL) {
        struct hash_field hf;
        if (e->type != ENTRY_HASH
            || !hash_get(entry_obj(e), field, flen, hash_now(c->db), &hf)) {
            return 0;
        }
        *vp = hf.value;
        *vl = hf.vlen;
        if (hf.value == hf.vbuf) {
            /* An integer formatted into hf: move it where it outlives hf. */
            memcpy(kbuf, hf.vbuf, hf.vlen < kcap ? hf.vlen : kcap);
            *vp = kbuf;
        }
        return 1;
    }
    if (e->type != ENTRY_STRING) {
        return 0;
    }
    *vp = entry_val(e);
    *vl = entry_vallen(e);
    return 1;
}

static inline int
sort_arg_is(const struct resp_arg *a, const char *name)
{
    size_t n = strlen(name);
    return a->len == n && strncasecmp(a->ptr, name, n) == 0;
}

/* Load the elements to sort into items/arena: all of them, or for an
 * unsorted list the [start, end] window in the requested direction.
 * Returns the count. */
static size_t
sort_load(struct entry *e, int window, long long start, long long count, int desc,
          struct sort_item **itemsp, struct sort_arena *ar)
{
    size_t n = 0, cap = 16;
    struct sort_item *items = mem_alloc(cap * sizeof(*items));
#define SORT_PUSH(P, L)                                                    \
    do {                                                                   \
        if (n == cap) {                                                    \
            cap *= 2;                                                      \
            items = mem_realloc(items, cap * sizeof(*items));              \
        }                                                                  \
        memset(&items[n], 0, sizeof(items[n]));                            \
        items[n].off = sort_arena_put(ar, (P), (L));                       \
        items[n].len = (L);                                                \
        n++;                                                               \
    } while (0)

    if (e != NULL && e->type == ENTRY_LIST) {
        struct quicklist *ql = entry_obj(e);
        struct quicklist_iter it;
        struct listpack_value v;
        long long len = (long long)quicklist_count(ql), idx = 0, want = len;
        int dir = QUICKLIST_HEAD;
        if (window) {
            idx = desc ? len - start - 1 : start;
            dir = desc ? QUICKLIST_TAIL : QUICKLIST_HEAD;
            want = count;
        }
        if (want > 0 && quicklist_iter_at(ql, (long)idx, dir, &it) == 0) {
            while ((long long)n < want && quicklist_next(&it, &v)) {
                char buf[LISTPACK_INT_BUF];
                if (v.is_int) {
                    size_t l = util_ll2str(buf, v.ll);
                    SORT_PUSH(buf, l);
                } else {
                    SORT_PUSH((const char *)v.str, v.len);
                }
            }
        }
    } else if (e != NULL && e->type == ENTRY_ZSET) {
        /* Unsorted: the window by rank, from the top for DESC; else all. */
        struct zset_iter it;
        const char *m;
        size_t ml;
        double score;
        long long len = (long long)zset_length(entry_obj(e));
        long long want = window ? count : len;
        long long rank = !window ? 0 : desc ? len - 1 - start : start;
        zset_iter_init(&it, entry_obj(e), (size_t)rank, window && desc);
        while ((long long)n < want && zset_iter_next(&it, &m, &ml, &score)) {
            SORT_PUSH(m, ml);
        }
    } else if (e != NULL && e->type == ENTRY_SET) {
        struct set_iter it;
        struct set_elem el;
        set_iter_init(&it, entry_obj(e));
        while (set_iter_next(&it, &el)) {
            SORT_PUSH(el.p, el.len);
        }
        set_iter_done(&it);
    }
#undef SORT_PUSH
    *itemsp = items;
    return n;
}

/* SORT ... STORE's effect: DEL dst, then RPUSHes of at most 1024 values.
 * The values are copied: a compressed list's values last only while its
 * iterator stays in one node. */
static void
sort_propagate_store(struct client *c, const struct resp_arg *dst, struct quicklist *ql)
{
    struct resp_arg del[2] = {{"DEL", 3}, *dst};
    propagate_effect(c, 2, del);
    if (ql == NULL) {
        return;
    }
    enum { CHUNK = 1024 };
    struct resp_arg *argv = mem_alloc((CHUNK + 2) * sizeof(*argv));
    size_t *ends = mem_alloc(CHUNK * sizeof(*ends));
    struct rbuf vals = {0};
    struct quicklist_iter it;
    struct listpack_value v;
    size_t n = 0;
    argv[0] = (struct resp_arg){"RPUSH", 5};
    argv[1] = *dst;
    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    for (;;) {
        int more = quicklist_next(&it, &v);
        if (more) {
            char buf[LISTPACK_INT_BUF];
            size_t l;
            const char *s = quicklist_value_str(&v, buf, &l);
            rbuf_add(&vals, s, l);
            ends[n++] = vals.len;
        }
        if ((!more && n > 0) || n == CHUNK) {
            for (size_t i = 0; i < n; i++) {
                size_t from = i > 0 ? ends[i - 1] : 0;
                const char *p = vals.p != NULL ? vals.p + from : "";
                argv[2 + i] = (struct resp_arg){p, ends[i] - from};
            }
            propagate_effect(c, 2 + n, argv);
            n = 0;
            vals.len = 0;
        }
        if (!more) {
            break;
        }
    }
    rbuf_free(&vals);
    mem_free(ends);
    mem_free(argv);
}

static int
sort_reads_allowed(struct client *c)
{
    return acl_check_unrestricted_read(c->user, c->cmd, c->argc, c->argv);
}

static void
sort_generic(struct client *c, int readonly)
{
    const struct resp_arg *sortby = NULL, *store = NULL;
    const struct resp_arg **gets = mem_alloc(c->argc * sizeof(*gets));
    size_t ngets = 0;
    int desc = 0, alpha = 0, dontsort = 0;
    long long lstart = 0, lcount = -1;
    struct sort_item *items = NULL;
    struct sort_arena ar = {NULL, 0, 0};
    char kbuf[256];
    char *kheap = NULL;

    for (size_t j = 2; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        size_t left = c->argc - j - 1;
        if (sort_arg_is(a, "asc")) {
            desc = 0;
        } else if (sort_arg_is(a, "desc")) {
            desc = 1;
        } else if (sort_arg_is(a, "alpha")) {
            alpha = 1;
        } else if (sort_arg_is(a, "limit") && left >= 2) {
            if (util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &lstart) != 0
                || util_str2ll(c->argv[j + 2].ptr, c->argv[j + 2].len, &lcount) != 0) {
                reply_not_integer(c);
                goto out;
            }
            j += 2;
        } else if (!readonly && sort_arg_is(a, "store") && left >= 1) {
            store = &c->argv[++j];
        } else if (sort_arg_is(a, "by") && left >= 1) {
            sortby = &c->argv[++j];
            dontsort = memchr(sortby->ptr, '*', sortby->len) == NULL;
            /* A BY pattern or a GET reads keys the arguments do not name:
             * only for a user who may read every key, as in Redis. */
            if (!dontsort && !sort_reads_allowed(c)) {
                reply_error(c, "BY option of SORT denied due to insufficient ACL permissions.");
                goto out;
            }
        } else if (sort_arg_is(a, "get") && left >= 1) {
            if (!sort_reads_allowed(c)) {
                reply_error(c, "GET option of SORT denied due to insufficient ACL permissions.");
                goto out;
            }
            gets[ngets++] = &c->argv[++j];
        } else {
            reply_syntax_error(c);
            goto out;
        }
    }

    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e != NULL && e->type != ENTRY_LIST && e->type != ENTRY_SET
        && e->type != ENTRY_ZSET) {
        reply_wrongtype(c);
        goto out;
    }
    /* An unsorted set stored (or replicated) must come out in one order:
     * sort it by its elements instead. */
    if (dontsort && e != NULL && e->type == ENTRY_SET && store != NULL) {
        dontsort = 0;
        alpha = 1;
        sortby = NULL;
    }
    /* Redis 7.0 converts a listpack sorted set to its large encoding
     * before sorting it (OBJECT ENCODING then says skiplist). */
    if (e != NULL && e->type == ENTRY_ZSET) {
        zset_convert_to_tree(entry_obj(e));
    }
    long long total = 0;
    if (e != NULL) {
        total = e->type == ENTRY_LIST  ? (long long)quicklist_count(entry_obj(e))
                : e->type == ENTRY_SET ? (long long)set_card(entry_obj(e))
                                       : (long long)zset_length(entry_obj(e));
    }
    /* Both clamped to the length first, as Redis 7.0 does, so that start +
     * count cannot overflow (LIMIT 2 9223372036854775807 crashed the node). */
    long long start = lstart < 0 ? 0 : lstart > total ? total : lstart;
    if (lcount > total) {
        lcount = total;
    }
    long long end = lcount < 0 ? total - 1 : start + lcount - 1;
    if (start >= total) {
        start = total - 1;
        end = total - 2;
    }
    if (end >= total) {
        end = total - 1;
    }
    int window = e != NULL && (e->type == ENTRY_LIST || e->type == ENTRY_ZSET) && dontsort;
    size_t n = sort_load(e, window && end >= start, start, end - start + 1, desc, &items, &ar);
    if (window) {
        end -= start;
        start = 0;
    }

    int conv_error = 0;
    if (!dontsort) {
        for (size_t j = 0; j < n; j++) {
            const char *vp;
            size_t vl;
            if (sortby != NULL) {
                if (!sort_lookup(c, sortby, ar.buf + items[j].off, items[j].len, &vp, &vl,
                                 kbuf, sizeof(kbuf), &kheap)) {
                    continue;
                }
            } else {
                vp = ar.buf + items[j].off;
                vl = items[j].len;
            }
            if (alpha) {
                if (sortby != NULL) {
                    items[j].cmpoff = sort_arena_put(&ar, vp, vl);
                    items[j].cmplen = vl;
                    items[j].has_cmp = 1;
                }
            } else {
                /* As Redis: strtod over the whole value (C string). */
                size_t off = vp == ar.buf + items[j].off ? items[j].off
                                                         : sort_arena_put(&ar, vp, vl);
                char *endp;
                errno = 0;
                items[j].score = strtod(ar.buf + off, &endp);
                if (*endp != '\0' || errno == ERANGE || isnan(items[j].score)) {
                    conv_error = 1;
                }
            }
        }
        sort_cur = (struct sort_ctx){ar.buf, desc, alpha, sortby != NULL};
        qsort(items, n, sizeof(*items), sort_compare);
    }

    long long rows = end - start + 1;
    long long outlen = ngets ? (long long)ngets * rows : rows;
    if (conv_error) {
        reply_error(c, "One or more scores can't be converted into double");
        goto out;
    }
    if (store == NULL) {
        reply_array_len(c, outlen);
        for (long long j = start; j <= end; j++) {
            const char *el = ar.buf + items[j].off;
            if (ngets == 0) {
                reply_bulk(c, el, items[j].len);
            }
            for (size_t g = 0; g < ngets; g++) {
                const char *vp;
                size_t vl;
                if (sort_lookup(c, gets[g], el, items[j].len, &vp, &vl, kbuf, sizeof(kbuf),
                                &kheap)) {
                    reply_bulk(c, vp, vl);
                } else {
                    reply_null(c);
                }
            }
        }
        goto out;
    }
    struct quicklist *ql = list_create(c->srv->cfg.list_max_listpack_size,
                                       c->srv->cfg.list_compress_depth);
    for (long long j = start; j <= end; j++) {
        const char *el = ar.buf + items[j].off;
        if (ngets == 0) {
            quicklist_push(ql, el, items[j].len, QUICKLIST_TAIL);
        }
        for (size_t g = 0; g < ngets; g++) {
            const char *vp;
            size_t vl;
            if (!sort_lookup(c, gets[g], el, items[j].len, &vp, &vl, kbuf, sizeof(kbuf),
                             &kheap)) {
                vp = "";
                vl = 0;
            }
            quicklist_push(ql, vp, vl, QUICKLIST_TAIL);
        }
    }
    if (outlen > 0) {
        db_store_object(c->db, store->ptr, store->len, ENTRY_LIST, ql);
        notify_key(c, NOTIFY_LIST, "sortstore", store);
        sort_propagate_store(c, store, ql);
    } else {
        quicklist_destroy(&ql);
        if (db_delete(c->db, store->ptr, store->len)) {
            notify_key(c, NOTIFY_GENERIC, "del", store);
            sort_propagate_store(c, store, NULL);
        }
    }
    reply_int(c, outlen);
out:
    mem_free(items);
    mem_free(ar.buf);
    mem_free(kheap);
    mem_free(gets);
}

void
cmd_sort(struct client *c)
{
    sort_generic(c, 0);
}

void
cmd_sort_ro(struct client *c)
{
    sort_generic(c, 1);
}
