/* The list commands (LPUSH ... LMPOP) and the blocking pops (BLPOP, BRPOP,
 * BLMOVE, BRPOPLPUSH, BLMPOP), with Redis 7.0's replies and errors.  The
 * handlers parse and reply; the list logic is t_list.c's and the quicklist's.
 * A served blocking pop states its effect (LPOP, LMOVE, LMPOP) for the
 * replication stream; block.c re-runs a blocked command from the top when
 * one of its keys is written. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/server.h"
#include "node/t_list.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* ---- shared helpers ---------------------------------------------------------- */

/* Look key up as a list.  Returns 0 with *qlp the list (NULL when absent)
 * and *refp its link (when refp is not NULL), or -1 after replying
 * WRONGTYPE. */
static int
list_lookup(struct client *c, const struct resp_arg *key, int flags,
            struct entry ***refp, struct quicklist **qlp)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, flags);
    *qlp = NULL;
    if (refp != NULL) {
        *refp = ref;
    }
    if (ref == NULL) {
        return 0;
    }
    if ((*ref)->type != ENTRY_LIST) {
        reply_wrongtype(c);
        return -1;
    }
    *qlp = entry_obj(*ref);
    return 0;
}

/* After changing the list at ref in place: publish event, then delete the
 * key when the list is now empty (and publish "del", Redis's order), else
 * signal the change. */
static void
list_changed(struct client *c, const struct resp_arg *key, struct entry **ref,
             struct quicklist *ql, const char *event)
{
    notify_key(c, NOTIFY_LIST, event, key);
    if (quicklist_count(ql) == 0) {
        db_delete_ref(c->db, ref);
        notify_key(c, NOTIFY_GENERIC, "del", key);
    } else {
        db_signal_modified(c->db, key->ptr, key->len);
    }
}

static void
reply_value(struct client *c, const struct listpack_value *v)
{
    if (v->is_int) {
        reply_bulk_ll(c, v->ll);
    } else {
        reply_bulk(c, (const char *)v->str, v->len);
    }
}

/* Values up to this size are formatted straight into the output (larger
 * ones go through reply_bulk, whose copy costs more than its calls). */
#define INPLACE_MAX 1024

/* Bulk replies written straight into reserved output, counted once per
 * reserved span: LRANGE's elements cost a format and a copy each. */
struct bulk_writer {
    struct client *c;  /* borrowed */
    char *o;           /* borrowed from c's output: the span */
    size_t room;       /* bytes of the span */
    size_t used;       /* bytes written, not yet committed */
};

static void
bulk_writer_flush(struct bulk_writer *w)
{
    if (w->used > 0) {
        reply_commit(w->c, w->used);
    }
    w->o = NULL;
    w->room = w->used = 0;
}

/* Write v as a bulk string; -1 when the client's replies are dropped
 * (nothing more need be written). */
static int
bulk_writer_value(struct bulk_writer *w, const struct listpack_value *v)
{
    char num[LISTPACK_INT_BUF];
    const char *s = (const char *)v->str;
    size_t len = v->len;
    if (v->is_int) {
        len = util_ll2str(num, v->ll);
        s = num;
    } else if (len > INPLACE_MAX) {
        bulk_writer_flush(w);
        reply_value(w->c, v);
        return 0;
    }
    /* '$', at most 4 length digits, CRLF, the bytes, CRLF. */
    size_t need = len + 9;
    if (w->room - w->used < need) {
        bulk_writer_flush(w);
        w->o = reply_reserve(w->c, need, &w->room);
        if (w->o == NULL) {
            return -1;
        }
    }
    char *o = w->o + w->used;
    size_t k = 1;
    o[0] = '$';
    if (len < 10) {
        o[k++] = (char)('0' + len);
    } else {
        k += util_ull2str(o + 1, len);
    }
    o[k++] = '\r';
    o[k++] = '\n';
    memcpy(o + k, s, len);
    k += len;
    o[k++] = '\r';
    o[k++] = '\n';
    w->used += k;
    return 0;
}

static int
parse_ll(struct client *c, const struct resp_arg *a, long long *out)
{
    if (util_str2ll(a->ptr, a->len, out) != 0) {
        reply_not_integer(c);
        return -1;
    }
    return 0;
}

/* LEFT/RIGHT as QUICKLIST_HEAD/TAIL; -1 after a syntax error. */
static int
parse_side(struct client *c, const struct resp_arg *a)
{
    if (a->len == 4 && strncasecmp(a->ptr, "left", 4) == 0) {
        return QUICKLIST_HEAD;
    }
    if (a->len == 5 && strncasecmp(a->ptr, "right", 5) == 0) {
        return QUICKLIST_TAIL;
    }
    reply_syntax_error(c);
    return -1;
}

static const struct resp_arg side_names[2] = {{"LEFT", 4}, {"RIGHT", 5}};

static void
pop_reply_fn(void *arg, const struct listpack_value *v)
{
    reply_value(arg, v);
}

/* Pop one element from where, replying it as a bulk string (one walk to
 * the element, not a peek and a pop). */
static void
pop_reply(struct client *c, struct quicklist *ql, int where)
{
    quicklist_pop_visit(ql, where, pop_reply_fn, c);
}

static void
pop_write_fn(void *arg, const struct listpack_value *v)
{
    bulk_writer_value(arg, v);  /* replies dropped: the pops go on */
}

/* Pop n elements from where, replying each (the count forms). */
static void
pop_reply_n(struct client *c, struct quicklist *ql, int where, size_t n)
{
    struct bulk_writer w = {c, NULL, 0, 0};
    for (size_t i = 0; i < n; i++) {
        quicklist_pop_visit(ql, where, pop_write_fn, &w);
    }
    bulk_writer_flush(&w);
}

/* ---- pushes -------------------------------------------------------------------- */

/* LPUSH/RPUSH (only_existing 0) and LPUSHX/RPUSHX (1). */
static void
push_generic(struct client *c, int where, int only_existing)
{
    const struct resp_arg *key = &c->argv[1];
    struct entry **ref;
    struct quicklist *ql;
    if (list_lookup(c, key, LOOKUP_WRITE, &ref, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        if (only_existing) {
            reply_int(c, 0);
            return;
        }
        ql = list_create(c->srv->cfg.list_max_listpack_size,
                         c->srv->cfg.list_compress_depth);
        for (size_t i = 2; i < c->argc; i++) {
            quicklist_push(ql, c->argv[i].ptr, c->argv[i].len, where);
        }
        db_add_object(c->db, key->ptr, key->len, ENTRY_LIST, ql, -1);
    } else {
        for (size_t i = 2; i < c->argc; i++) {
            quicklist_push(ql, c->argv[i].ptr, c->argv[i].len, where);
        }
        db_signal_modified(c->db, key->ptr, key->len);
    }
    notify_key(c, NOTIFY_LIST, where == QUICKLIST_HEAD ? "lpush" : "rpush", key);
    reply_int(c, (long long)quicklist_count(ql));
}

void cmd_lpush(struct client *c) { push_generic(c, QUICKLIST_HEAD, 0); }
void cmd_rpush(struct client *c) { push_generic(c, QUICKLIST_TAIL, 0); }
void cmd_lpushx(struct client *c) { push_generic(c, QUICKLIST_HEAD, 1); }
void cmd_rpushx(struct client *c) { push_generic(c, QUICKLIST_TAIL, 1); }

/* ---- pops ------------------------------------------------------------------------ */

static void
pop_generic(struct client *c, int where)
{
    const struct resp_arg *key = &c->argv[1];
    long long count = 0;
    int has_count = c->argc == 3;
    struct entry **ref;
    struct quicklist *ql;

    if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    if (has_count && (util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) != 0
                      || count < 0)) {
        reply_error(c, "value is out of range, must be positive");
        return;
    }
    if (list_lookup(c, key, LOOKUP_WRITE, &ref, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        if (has_count) {
            reply_null_array(c);
        } else {
            reply_null(c);
        }
        return;
    }
    if (!has_count) {
        pop_reply(c, ql, where);
    } else {
        size_t n = (unsigned long long)count < quicklist_count(ql) ? (size_t)count
                                                                 : quicklist_count(ql);
        reply_array_len(c, (long long)n);
        if (n == 0) {
            return;  /* nothing changed */
        }
        pop_reply_n(c, ql, where, n);
    }
    list_changed(c, key, ref, ql, where == QUICKLIST_HEAD ? "lpop" : "rpop");
}

void cmd_lpop(struct client *c) { pop_generic(c, QUICKLIST_HEAD); }
void cmd_rpop(struct client *c) { pop_generic(c, QUICKLIST_TAIL); }

/* ---- reads ------------------------------------------------------------------------ */

void
cmd_llen(struct client *c)
{
    struct quicklist *ql;
    if (list_lookup(c, &c->argv[1], 0, NULL, &ql) == 0) {
        reply_int(c, ql ? (long long)quicklist_count(ql) : 0);
    }
}

void
cmd_lrange(struct client *c)
{
    long long start, end;
    struct quicklist *ql;
    if (parse_ll(c, &c->argv[2], &start) != 0 || parse_ll(c, &c->argv[3], &end) != 0
        || list_lookup(c, &c->argv[1], 0, NULL, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        reply_array_len(c, 0);
        return;
    }
    size_t first;
    size_t n = list_range(quicklist_count(ql), start, end, &first);
    reply_array_len(c, (long long)n);
    if (n == 0) {
        return;
    }
    struct quicklist_iter it;
    struct listpack_value v;
    quicklist_iter_at(ql, (long)first, QUICKLIST_HEAD, &it);
    struct bulk_writer w = {c, NULL, 0, 0};
    for (size_t i = 0; i < n && quicklist_next(&it, &v); i++) {
        if (bulk_writer_value(&w, &v) != 0) {
            return;  /* replies dropped: the rest would be too */
        }
    }
    bulk_writer_flush(&w);
}

void
cmd_lindex(struct client *c)
{
    long long index;
    struct quicklist *ql;
    if (list_lookup(c, &c->argv[1], 0, NULL, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        reply_null(c);
        return;
    }
    if (parse_ll(c, &c->argv[2], &index) != 0) {
        return;
    }
    struct quicklist_iter it;
    struct listpack_value v;
    if (index < LONG_MIN || index > LONG_MAX
        || quicklist_iter_at(ql, (long)index, QUICKLIST_HEAD, &it) != 0
        || !quicklist_next(&it, &v)) {
        reply_null(c);
        return;
    }
    reply_value(c, &v);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
void
cmd_lpos(struct client *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    struct quicklist *ql;

    for (size_t j = 3; j < c->argc; j += 2) {
        const struct resp_arg *opt = &c->argv[j];
        if (j + 1 >= c->argc) {
            reply_syntax_error(c);
            return;
        }
        const struct resp_arg *val = &c->argv[j + 1];
        if (opt->len == 4 && strncasecmp(opt->ptr, "rank", 4) == 0) {
            if (parse_ll(c, val, &rank) != 0) {
                return;
            }
            if (rank == 0) {
                reply_error(c, "RANK can't be zero: use 1 to start from the first match, "
                               "2 from the second ... or use negative to start from the "
                               "end of the list");
                return;
            }
        } else if (opt->len == 5 && strncasecmp(opt->ptr, "count", 5) == 0) {
            if (util_str2ll(val->ptr, val->len, &count) != 0 || count < 0) {
                reply_error(c, "COUNT can't be negative");
                return;
            }
        } else if (opt->len == 6 && strncasecmp(opt->ptr, "maxlen", 6) == 0) {
            if (util_str2ll(val->ptr, val->len, &maxlen) != 0 || maxlen < 0) {
                reply_error(c, "MAXLEN can't be negative");
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (list_lookup(c, &c->argv[1], 0, NULL, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        if (count >= 0) {
            reply_array_len(c, 0);
        } else {
            reply_null(c);
        }
        return;
    }
    long long *found;
    size_t n = list_pos(ql, c->argv[2].ptr, c->argv[2].len, rank, count >= 0 ? count : 1,
                        maxlen, &found);
    if (count >= 0) {
        reply_array_len(c, (long long)n);
        for (size_t i = 0; i < n; i++) {
            reply_int(c, found[i]);
        }
    } else if (n > 0) {
        reply_int(c, found[0]);
    } else {
        reply_null(c);
    }
    mem_free(found);
}

/* ---- in-place edits ------------------------------------------------------------- */

void
cmd_lset(struct client *c)
{
    long long index;
    struct entry **ref;
    struct quicklist *ql;
    if (list_lookup(c, &c->argv[1], LOOKUP_WRITE, &ref, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        reply_error(c, "no such key");
        return;
    }
    if (parse_ll(c, &c->argv[2], &index) != 0) {
        return;
    }
    if (list_set(ql, index, c->argv[3].ptr, c->argv[3].len) != 0) {
        reply_error(c, "index out of range");
        return;
    }
    db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
    notify_key(c, NOTIFY_LIST, "lset", &c->argv[1]);
    reply_ok(c);
}

/* LINSERT key BEFORE|AFTER pivot element */
void
cmd_linsert(struct client *c)
{
    int where;
    struct quicklist *ql;
    const struct resp_arg *w = &c->argv[2];
    if (w->len == 6 && strncasecmp(w->ptr, "before", 6) == 0) {
        where = LISTPACK_BEFORE;
    } else if (w->len == 5 && strncasecmp(w->ptr, "after", 5) == 0) {
        where = LISTPACK_AFTER;
    } else {
        reply_syntax_error(c);
        return;
    }
    if (list_lookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        reply_int(c, 0);
        return;
    }
    if (!list_insert(ql, where, c->argv[3].ptr, c->argv[3].len, c->argv[4].ptr,
                     c->argv[4].len)) {
        reply_int(c, -1);
        return;
    }
    db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
    notify_key(c, NOTIFY_LIST, "linsert", &c->argv[1]);
    reply_int(c, (long long)quicklist_count(ql));
}

void
cmd_lrem(struct client *c)
{
    long long count;
    struct entry **ref;
    struct quicklist *ql;
    if (parse_ll(c, &c->argv[2], &count) != 0
        || list_lookup(c, &c->argv[1], LOOKUP_WRITE, &ref, &ql) != 0) {
        return;
    }
    if (ql == NULL) {
        reply_int(c, 0);
        return;
    }
    size_t removed = list_remove(ql, count, c->argv[3].ptr, c->argv[3].len);
    if (removed > 0) {
        list_changed(c, &c->argv[1], ref, ql, "lrem");
    }
    reply_int(c, (long long)removed);
}

void
cmd_ltrim(struct client *c)
{
    long long start, end;
    struct entry **ref;
    struct quicklist *ql;
    if (parse_ll(c, &c->argv[2], &start) != 0 || parse_ll(c, &c->argv[3], &end) != 0
        || list_lookup(c, &c->argv[1], LOOKUP_WRITE, &ref, &ql) != 0) {
        return;
    }
    if (ql != NULL) {
        size_t before = quicklist_count(ql);
        list_trim(ql, start, end);
        if (quicklist_count(ql) != before) {
            list_changed(c, &c->argv[1], ref, ql, "ltrim");
        } else {
            /* Redis publishes ltrim even when nothing was cut. */
            notify_key(c, NOTIFY_LIST, "ltrim", &c->argv[1]);
        }
    }
    reply_ok(c);
}

/* ---- moves ------------------------------------------------------------------------ */

/* Move one element from the non-empty list at src (side from) to dst (side
 * to) and reply it.  Returns 0, or -1 after replying WRONGTYPE for dst
 * (nothing moved). */
static int
move_serve(struct client *c, const struct resp_arg *src, struct quicklist *sql,
           const struct resp_arg *dst, int from, int to)
{
    struct quicklist *dql;
    if (list_lookup(c, dst, LOOKUP_WRITE, NULL, &dql) != 0) {
        return -1;
    }
    /* The value points into src's node, which the pop frees: copy it. */
    struct listpack_value v;
    char small[256];
    char *val = small;
    size_t len;
    quicklist_peek(sql, from, &v);
    if (v.is_int) {
        len = util_ll2str(small, v.ll);
    } else {
        len = v.len;
        if (len > sizeof(small)) {
            val = mem_alloc(len);
        }
        memcpy(val, v.str, len);
    }
    quicklist_pop(sql, from);
    reply_bulk(c, val, len);
    if (dql == NULL) {
        dql = list_create(c->srv->cfg.list_max_listpack_size,
                          c->srv->cfg.list_compress_depth);
        quicklist_push(dql, val, len, to);
        db_add_object(c->db, dst->ptr, dst->len, ENTRY_LIST, dql, -1);
    } else {
        quicklist_push(dql, val, len, to);
        db_signal_modified(c->db, dst->ptr, dst->len);
    }
    if (val != small) {
        mem_free(val);
    }
    /* Redis's order: the push on dst, the pop on src, src's deletion. */
    notify_key(c, NOTIFY_LIST, to == QUICKLIST_HEAD ? "lpush" : "rpush", dst);
    notify_key(c, NOTIFY_LIST, from == QUICKLIST_HEAD ? "lpop" : "rpop", src);
    if (dql != sql) {
        /* Adding dst may have moved src's link: look it up again. */
        if (quicklist_count(sql) == 0) {
            db_delete(c->db, src->ptr, src->len);
            notify_key(c, NOTIFY_GENERIC, "del", src);
        } else {
            db_signal_modified(c->db, src->ptr, src->len);
        }
    }
    return 0;
}

static void
move_generic(struct client *c, int from, int to)
{
    struct quicklist *sql;
    if (list_lookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &sql) != 0) {
        return;
    }
    if (sql == NULL) {
        reply_null(c);
        return;
    }
    move_serve(c, &c->argv[1], sql, &c->argv[2], from, to);
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT */
void
cmd_lmove(struct client *c)
{
    int from, to;
    if ((from = parse_side(c, &c->argv[3])) < 0 || (to = parse_side(c, &c->argv[4])) < 0) {
        return;
    }
    move_generic(c, from, to);
}

void
cmd_rpoplpush(struct client *c)
{
    move_generic(c, QUICKLIST_TAIL, QUICKLIST_HEAD);
}

/* ---- LMPOP ------------------------------------------------------------------------- */

struct mpop_args {
    const struct resp_arg *keys;  /* borrowed from c->argv */
    size_t nkeys;
    int where;
    long long count;
};

/* Parse "numkeys key... LEFT|RIGHT [COUNT count]" from argv[at]; 0, or -1
 * after replying. */
static int
mpop_parse(struct client *c, size_t at, struct mpop_args *a)
{
    long long numkeys;
    if (util_str2ll(c->argv[at].ptr, c->argv[at].len, &numkeys) != 0 || numkeys < 1) {
        reply_error(c, "numkeys should be greater than 0");
        return -1;
    }
    size_t where_at = at + 1;
    if ((unsigned long long)numkeys >= c->argc - where_at) {
        reply_syntax_error(c);
        return -1;
    }
    where_at += (size_t)numkeys;
    a->keys = &c->argv[at + 1];
    a->nkeys = (size_t)numkeys;
    if ((a->where = parse_side(c, &c->argv[where_at])) < 0) {
        return -1;
    }
    a->count = -1;
    for (size_t j = where_at + 1; j < c->argc; j++) {
        const struct resp_arg *opt = &c->argv[j];
        if (a->count == -1 && j + 1 < c->argc && opt->len == 5
            && strncasecmp(opt->ptr, "count", 5) == 0) {
            const struct resp_arg *v = &c->argv[++j];
            if (util_str2ll(v->ptr, v->len, &a->count) != 0 || a->count < 1) {
                reply_error(c, "count should be greater than 0");
                return -1;
            }
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    if (a->count == -1) {
        a->count = 1;
    }
    return 0;
}

/* Pop up to count elements of the non-empty list at key, replying
 * [key, [elements]].  Propagated as Redis 7.0 does: LPOP/RPOP key n, n the
 * number popped. */
static void
mpop_serve(struct client *c, const struct resp_arg *key, struct entry **ref,
           struct quicklist *ql, int where, long long count)
{
    size_t n = (unsigned long long)count < quicklist_count(ql) ? (size_t)count
                                                             : quicklist_count(ql);
    reply_array_len(c, 2);
    reply_bulk(c, key->ptr, key->len);
    reply_array_len(c, (long long)n);
    pop_reply_n(c, ql, where, n);
    list_changed(c, key, ref, ql, where == QUICKLIST_HEAD ? "lpop" : "rpop");
    char nbuf[24];
    struct resp_arg eff[3] = {{where == QUICKLIST_HEAD ? "LPOP" : "RPOP", 4}, *key,
                              {nbuf, util_ll2str(nbuf, (long long)n)}};
    propagate_effect(c, 3, eff);
}

/* The first non-empty list of a's keys, skipping the wrong-typed ones when
 * skip_wrong (a blocked command re-run: Redis 7.0 keeps waiting); NULL when
 * none, or -1 through *err after replying WRONGTYPE. */
static struct quicklist *
first_nonempty(struct client *c, const struct resp_arg *keys, size_t nkeys,
               int skip_wrong, size_t *which, struct entry ***refp, int *err)
{
    *err = 0;
    for (size_t i = 0; i < nkeys; i++) {
        struct entry **ref = db_lookup_ref(c->db, keys[i].ptr, keys[i].len, LOOKUP_WRITE);
        if (ref == NULL) {
            continue;
        }
        if ((*ref)->type != ENTRY_LIST) {
            if (skip_wrong) {
                continue;
            }
            reply_wrongtype(c);
            *err = -1;
            return NULL;
        }
        struct quicklist *ql = entry_obj(*ref);
        *which = i;
        *refp = ref;
        return ql;
    }
    return NULL;
}

void
cmd_lmpop(struct client *c)
{
    struct mpop_args a;
    size_t which;
    struct entry **ref;
    int err;
    if (mpop_parse(c, 1, &a) != 0) {
        return;
    }
    struct quicklist *ql = first_nonempty(c, a.keys, a.nkeys, 0, &which, &ref, &err);
    if (err != 0) {
        return;
    }
    if (ql == NULL) {
        reply_null_array(c);
        return;
    }
    mpop_serve(c, &a.keys[which], ref, ql, a.where, a.count);
}

/* ---- blocking pops ------------------------------------------------------------------ */

/* BLPOP/BRPOP key [key ...] timeout */
static void
bpop_generic(struct client *c, int where)
{
    long long timeout;
    size_t nkeys = c->argc - 2;
    size_t which;
    struct entry **ref;
    int err;
    if (block_parse_timeout(c, &c->argv[c->argc - 1], &timeout) != 0) {
        return;
    }
    struct quicklist *ql = first_nonempty(c, &c->argv[1], nkeys, c->bstate != NULL,
                                          &which, &ref, &err);
    if (err != 0) {
        return;
    }
    if (ql == NULL) {
        block_on_keys(c, &c->argv[1], nkeys, timeout, BLOCK_REPLY_NULL_ARRAY);
        return;
    }
    const struct resp_arg *key = &c->argv[1 + which];
    reply_array_len(c, 2);
    reply_bulk(c, key->ptr, key->len);
    pop_reply(c, ql, where);
    list_changed(c, key, ref, ql, where == QUICKLIST_HEAD ? "lpop" : "rpop");
    struct resp_arg eff[2] = {{where == QUICKLIST_HEAD ? "LPOP" : "RPOP", 4}, *key};
    propagate_effect(c, 2, eff);
}

void cmd_blpop(struct client *c) { bpop_generic(c, QUICKLIST_HEAD); }
void cmd_brpop(struct client *c) { bpop_generic(c, QUICKLIST_TAIL); }

/* BLMOVE/BRPOPLPUSH: the source at argv[1], the destination at argv[2]. */
static void
bmove_generic(struct client *c, int from, int to, const struct resp_arg *timeout_arg)
{
    long long timeout;
    struct quicklist *sql;
    if (block_parse_timeout(c, timeout_arg, &timeout) != 0) {
        return;
    }
    struct entry **ref = db_lookup_ref(c->db, c->argv[1].ptr, c->argv[1].len, LOOKUP_WRITE);
    if (ref != NULL && (*ref)->type != ENTRY_LIST && c->bstate == NULL) {
        reply_wrongtype(c);
        return;
    }
    if (ref == NULL || (*ref)->type != ENTRY_LIST) {
        /* Redis 7.0 answers a null bulk where it may not block, but a null
         * array at the timeout. */
        if (!block_allowed(c)) {
            reply_null(c);
            return;
        }
        block_on_keys(c, &c->argv[1], 1, timeout, BLOCK_REPLY_NULL_ARRAY);
        return;
    }
    sql = entry_obj(*ref);
    if (move_serve(c, &c->argv[1], sql, &c->argv[2], from, to) != 0) {
        return;
    }
    struct resp_arg eff[5] = {{"LMOVE", 5}, c->argv[1], c->argv[2], side_names[from],
                              side_names[to]};
    propagate_effect(c, 5, eff);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
void
cmd_blmove(struct client *c)
{
    int from, to;
    if ((from = parse_side(c, &c->argv[3])) < 0 || (to = parse_side(c, &c->argv[4])) < 0) {
        return;
    }
    bmove_generic(c, from, to, &c->argv[5]);
}

void
cmd_brpoplpush(struct client *c)
{
    bmove_generic(c, QUICKLIST_TAIL, QUICKLIST_HEAD, &c->argv[3]);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
void
cmd_blmpop(struct client *c)
{
    struct mpop_args a;
    long long timeout;
    size_t which;
    struct entry **ref;
    int err;
    if (mpop_parse(c, 2, &a) != 0 || block_parse_timeout(c, &c->argv[1], &timeout) != 0) {
        return;
    }
    struct quicklist *ql = first_nonempty(c, a.keys, a.nkeys, c->bstate != NULL, &which,
                                          &ref, &err);
    if (err != 0) {
        return;
    }
    if (ql == NULL) {
        block_on_keys(c, a.keys, a.nkeys, timeout, BLOCK_REPLY_NULL_ARRAY);
        return;
    }
    const struct resp_arg key = a.keys[which];
    mpop_serve(c, &key, ref, ql, a.where, a.count);
}
