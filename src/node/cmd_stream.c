/* The stream commands (XADD ... XINFO, XREAD and XREADGROUP) with Redis
 * 7.0's replies and errors; the other consumer-group commands are
 * cmd_stream_group.c's.  The stream logic is t_stream.c's, the entry
 * storage ds/xstream.c's.  XADD propagates with the ID it generated and an
 * exact XTRIM for what it trimmed; XREADGROUP and XCLAIM/XAUTOCLAIM
 * propagate as XCLAIM ... FORCE JUSTID and XGROUP SETID effects, as Redis
 * does.  XREAD/XREADGROUP BLOCK wait through block.c, which re-runs the
 * command when a key is written; XREAD remembers what `$` meant when it
 * first blocked. */
#include "node/handlers.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/block.h"
#include "node/cmd_stream.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/propagate.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/t_stream.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int stream_range_has_tombstones(const struct stream *s, const struct xid *start);


/* ---- helpers ------------------------------------------------------------------ */

int
xarg_is(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

int
xlookup(struct client *c, const struct resp_arg *key, int flags, struct entry ***refp,
              struct stream **sp)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, flags);
    *sp = NULL;
    if (refp != NULL) {
        *refp = ref;
    }
    if (ref == NULL) {
        return 0;
    }
    if ((*ref)->type != ENTRY_STREAM) {
        reply_wrongtype(c);
        return -1;
    }
    *sp = entry_obj(*ref);
    return 0;
}

int
xparse_ll(struct client *c, const struct resp_arg *a, long long *out)
{
    if (util_str2ll(a->ptr, a->len, out) != 0) {
        reply_not_integer(c);
        return -1;
    }
    return 0;
}

/* A strict ID (no - or +); c NULL: no reply. */
int
xparse_strict_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq,
                struct xid *id, int *seq_star)
{
    if (stream_parse_id(a->ptr, a->len, 1, missing_seq, id, seq_star) != 0) {
        if (c != NULL) {
            reply_error(c, ERR_INVALID_ID);
        }
        return -1;
    }
    return 0;
}

int
xparse_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq, struct xid *id)
{
    if (stream_parse_id(a->ptr, a->len, 0, missing_seq, id, NULL) != 0) {
        reply_error(c, ERR_INVALID_ID);
        return -1;
    }
    return 0;
}

/* An interval bound, "(" for exclusive. */
int
xparse_interval_id(struct client *c, const struct resp_arg *a, uint64_t missing_seq,
                  struct xid *id, int *exclusive)
{
    if (a->len > 1 && a->ptr[0] == '(') {
        struct resp_arg r = {a->ptr + 1, a->len - 1};
        *exclusive = 1;
        return xparse_strict_id(c, &r, missing_seq, id, NULL);
    }
    *exclusive = 0;
    return xparse_id(c, a, missing_seq, id);
}

void
xreply_id(struct client *c, const struct xid *id)
{
    char buf[STREAM_ID_STRLEN];
    reply_bulk(c, buf, stream_id_str(buf, id));
}

void
xreply_entry(struct client *c, const struct xentry *e)
{
    reply_array_len(c, 2);
    xreply_id(c, &e->id);
    reply_array_len(c, (long long)e->nfields * 2);
    const unsigned char *fp = e->fields, *vp = e->values;
    for (size_t i = 0; i < e->nfields; i++) {
        const char *f, *v;
        size_t fl, vl;
        xentry_pair(&fp, &vp, &f, &fl, &v, &vl);
        reply_bulk(c, f, fl);
        reply_bulk(c, v, vl);
    }
}

/* Reply one entry by ID ([id, fields]) or null when it is gone; returns 1
 * when it was there. */
int
xreply_entry_by_id(struct client *c, const struct stream *s, const struct xid *id)
{
    struct xstream_iter it;
    struct xentry e;
    xstream_iter_init(&it, s->x, id, id, 0);
    if (xstream_iter_next(&it, &e)) {
        xreply_entry(c, &e);
        return 1;
    }
    return 0;
}

/* Redis's addReplySubcommandSyntaxError. */
void
xsubcommand_syntax_error(struct client *c, const char *container)
{
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr, container);
}

long long
xnow_ms(void)
{
    return util_mstime();
}

void
xnogroup_key_error(struct client *c, const struct resp_arg *key, const struct resp_arg *grp)
{
    reply_errorf(c, "-NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len,
                 key->ptr, (int)grp->len, grp->ptr);
}

/* ---- XADD / XTRIM ------------------------------------------------------------------ */

struct trim_args {
    int strategy;                /* 0 none, 1 MAXLEN, 2 MINID */
    int approx;
    long long maxlen;
    struct xid minid;
    long long limit;
    int limit_given;
    int nomkstream;
    size_t id_pos;               /* XADD: the ID's argument */
    struct xid id;
    int id_auto, seq_star;
};

static int
parse_trim_args(struct client *c, struct trim_args *a, int xadd)
{
    size_t i;
    memset(a, 0, sizeof(*a));
    a->limit = -1;
    for (i = 2; i < c->argc; i++) {
        size_t moreargs = c->argc - 1 - i;
        const struct resp_arg *o = &c->argv[i];
        if (xadd && o->len == 1 && o->ptr[0] == '*') {
            a->id_auto = 1;
            break;
        } else if (xarg_is(o, "maxlen") && moreargs) {
            a->approx = 0;
            const struct resp_arg *next = &c->argv[i + 1];
            if (moreargs >= 2 && next->len == 1 && (next->ptr[0] == '~' || next->ptr[0] == '=')) {
                a->approx = next->ptr[0] == '~';
                i++;
            }
            if (xparse_ll(c, &c->argv[i + 1], &a->maxlen) != 0) {
                return -1;
            }
            if (a->maxlen < 0) {
                reply_error(c, "The MAXLEN argument must be >= 0.");
                return -1;
            }
            i++;
            a->strategy = 1;
        } else if (xarg_is(o, "minid") && moreargs) {
            a->approx = 0;
            const struct resp_arg *next = &c->argv[i + 1];
            if (moreargs >= 2 && next->len == 1 && (next->ptr[0] == '~' || next->ptr[0] == '=')) {
                a->approx = next->ptr[0] == '~';
                i++;
            }
            if (xparse_strict_id(c, &c->argv[i + 1], 0, &a->minid, NULL) != 0) {
                return -1;
            }
            i++;
            a->strategy = 2;
        } else if (xarg_is(o, "limit") && moreargs) {
            if (xparse_ll(c, &c->argv[i + 1], &a->limit) != 0) {
                return -1;
            }
            if (a->limit < 0) {
                reply_error(c, "The LIMIT argument must be >= 0.");
                return -1;
            }
            a->limit_given = 1;
            i++;
        } else if (xadd && xarg_is(o, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (xparse_strict_id(c, o, 0, &a->id, &a->seq_star) != 0) {
                return -1;
            }
            break;
        } else {
            reply_syntax_error(c);
            return -1;
        }
    }
    a->id_pos = i;
    if (a->limit_given && a->approx == 0) {
        reply_error(c, "syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    if (!xadd && a->strategy == 0) {
        reply_syntax_error(c);
        return -1;
    }
    if (!a->limit_given) {
        /* Redis 7.0: 100 nodes' worth, within 10000 when the entries are
         * unlimited and 1000000 at most. */
        long long per = c->srv->cfg.stream_node_max_entries;
        a->limit = 0;
        if (a->approx) {
            a->limit = per > 0 && per <= 1000000 / 100 ? 100 * per : per > 0 ? 1000000 : 10000;
        }
    }
    return 0;
}

/* Trim as the arguments say; returns entries removed. */
static size_t
apply_trim(struct stream *s, const struct trim_args *a)
{
    if (a->strategy == 0) {
        return 0;
    }
    return stream_trim(s, (uint64_t)a->maxlen, a->strategy == 2 ? &a->minid : NULL, a->approx,
                       a->limit);
}

static void
propagate_trim_exact(struct client *c, const struct resp_arg *key, const struct stream *s)
{
    char nb[32];
    struct resp_arg eff[4] = {{"XTRIM", 5}, *key, {"MAXLEN", 6}, {nb, 0}};
    eff[3].len = (size_t)snprintf(nb, sizeof(nb), "%llu", (unsigned long long)s->x->length);
    propagate_effect(c, 4, eff);
}

void
cmd_xadd(struct client *c)
{
    struct trim_args a;
    const struct resp_arg *key = &c->argv[1];
    if (parse_trim_args(c, &a, 1) != 0) {
        return;
    }
    size_t field_pos = a.id_pos + 1;
    if (field_pos > c->argc || c->argc - field_pos < 2 || (c->argc - field_pos) % 2 == 1) {
        reply_arity_error(c);
        return;
    }
    if (!a.id_auto && !a.seq_star && a.id.ms == 0 && a.id.seq == 0) {
        reply_error(c, "The ID specified in XADD must be greater than 0-0");
        return;
    }
    struct entry **ref;
    struct stream *s;
    if (xlookup(c, key, LOOKUP_WRITE, &ref, &s) != 0) {
        return;
    }
    if (s == NULL && a.nomkstream) {
        reply_null(c);
        return;
    }
    struct xid last = s ? s->last_id : (struct xid){0, 0};
    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        reply_error(c, "The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    struct xid id;
    if (a.id_auto) {
        uint64_t ms = (uint64_t)xnow_ms();
        if (ms > last.ms) {
            id.ms = ms;
            id.seq = 0;
        } else {
            id = last;
            stream_id_incr(&id);
        }
    } else if (a.seq_star) {
        id.ms = a.id.ms;
        if (id.ms == last.ms) {
            if (last.seq == UINT64_MAX) {
                reply_error(c, "The ID specified in XADD is equal or smaller than the target stream top item");
                return;
            }
            id.seq = last.seq + 1;
        } else {
            id.seq = 0;
        }
    } else {
        id = a.id;
    }
    if (xid_cmp(&id, &last) <= 0) {
        reply_error(c, "The ID specified in XADD is equal or smaller than the target stream top item");
        return;
    }
    size_t nf = (c->argc - field_pos) / 2;
    /* Fields then values; on the stack for the usual few fields. */
    const char *fv_small[16];
    size_t fl_small[16];
    const char **fv = nf <= 8 ? fv_small : mem_alloc(2 * nf * sizeof(*fv));
    size_t *fl = nf <= 8 ? fl_small : mem_alloc(2 * nf * sizeof(*fl));
    for (size_t i = 0; i < nf; i++) {
        fv[i] = c->argv[field_pos + 2 * i].ptr;
        fl[i] = c->argv[field_pos + 2 * i].len;
        fv[nf + i] = c->argv[field_pos + 2 * i + 1].ptr;
        fl[nf + i] = c->argv[field_pos + 2 * i + 1].len;
    }
    int created = 0;
    if (s == NULL) {
        s = stream_create();
        created = 1;
    }
    xstream_append(s->x, &id, nf, fv, fl, fv + nf, fl + nf);
    if (fv != fv_small) {
        mem_free(fv);
        mem_free(fl);
    }
    s->last_id = id;
    s->entries_added++;
    if (s->x->length == 1) {
        s->first_id = id;
    }
    if (created) {
        db_add_object(c->db, key->ptr, key->len, ENTRY_STREAM, s, -1);
    } else {
        db_signal_modified(c->db, key->ptr, key->len);
    }
    /* The ID formatted once, for the reply and for the propagated XADD. */
    char idb[STREAM_ID_STRLEN];
    size_t idl = stream_id_str(idb, &id);
    reply_bulk(c, idb, idl);
    notify_key(c, NOTIFY_STREAM, "xadd", key);
    size_t trimmed = apply_trim(s, &a);
    if (trimmed > 0) {
        notify_key(c, NOTIFY_STREAM, "xtrim", key);
    }
    /* The effect: XADD with the ID it got (and the options that matter
     * for an existing stream), then an exact trim. */
    if (!repl_stream_active(c->srv)) {
        return; /* no backlog and no AOF: nothing to encode (see propagate.c) */
    }
    size_t ne = 0;
    struct resp_arg *eff = mem_alloc((c->argc + 4) * sizeof(*eff));
    eff[ne++] = (struct resp_arg){"XADD", 4};
    eff[ne++] = *key;
    eff[ne++] = (struct resp_arg){idb, idl};
    for (size_t i = field_pos; i < c->argc; i++) {
        eff[ne++] = c->argv[i];
    }
    propagate_effect(c, ne, eff);
    mem_free(eff);
    if (trimmed > 0) {
        propagate_trim_exact(c, key, s);
    }
}

void
cmd_xtrim(struct client *c)
{
    struct trim_args a;
    struct stream *s;
    if (parse_trim_args(c, &a, 0) != 0) {
        return;
    }
    if (xlookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s == NULL) {
        reply_int(c, 0);
        return;
    }
    size_t n = apply_trim(s, &a);
    if (n > 0) {
        db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
        notify_key(c, NOTIFY_STREAM, "xtrim", &c->argv[1]);
        propagate_trim_exact(c, &c->argv[1], s);
    }
    reply_int(c, (long long)n);
}

/* ---- XRANGE / XREVRANGE / XLEN / XDEL / XSETID ----------------------------------------- */

static void
range_generic(struct client *c, int rev)
{
    struct xid start, end;
    int sx, ex;
    const struct resp_arg *a_start = &c->argv[rev ? 3 : 2], *a_end = &c->argv[rev ? 2 : 3];
    if (xparse_interval_id(c, a_start, 0, &start, &sx) != 0) {
        return;
    }
    if (sx && stream_id_incr(&start) != 0) {
        reply_error(c, "invalid start ID for the interval");
        return;
    }
    if (xparse_interval_id(c, a_end, UINT64_MAX, &end, &ex) != 0) {
        return;
    }
    if (ex && stream_id_decr(&end) != 0) {
        reply_error(c, "invalid end ID for the interval");
        return;
    }
    long long count = -1;
    for (size_t j = 4; j < c->argc; j++) {
        size_t additional = c->argc - j - 1;
        if (xarg_is(&c->argv[j], "count") && additional >= 1) {
            if (xparse_ll(c, &c->argv[j + 1], &count) != 0) {
                return;
            }
            if (count < 0) {
                count = 0;
            }
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    if (count == 0) {
        reply_null_array(c);
        return;
    }
    struct stream *s;
    if (xlookup(c, &c->argv[1], 0, NULL, &s) != 0) {
        return;
    }
    if (s == NULL) {
        reply_array_len(c, 0);
        return;
    }
    struct xstream_iter it;
    struct xentry e;
    long long n = 0;
    xstream_iter_init(&it, s->x, &start, &end, rev);
    while ((count < 0 || n < count) && xstream_iter_next(&it, &e)) {
        n++;
    }
    reply_array_len(c, n);
    xstream_iter_init(&it, s->x, &start, &end, rev);
    for (long long i = 0; i < n && xstream_iter_next(&it, &e); i++) {
        xreply_entry(c, &e);
    }
}

void cmd_xrange(struct client *c) { range_generic(c, 0); }
void cmd_xrevrange(struct client *c) { range_generic(c, 1); }

void
cmd_xlen(struct client *c)
{
    struct stream *s;
    if (xlookup(c, &c->argv[1], 0, NULL, &s) != 0) {
        return;
    }
    reply_int(c, s ? (long long)s->x->length : 0);
}

void
cmd_xdel(struct client *c)
{
    struct xid id;
    struct stream *s;
    /* As Redis 7.0: the key first (a missing one answers 0 whatever the
     * IDs, a wrong type WRONGTYPE), then every ID before deleting any. */
    if (xlookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s == NULL) {
        reply_int(c, 0);
        return;
    }
    for (size_t j = 2; j < c->argc; j++) {
        if (xparse_strict_id(c, &c->argv[j], 0, &id, NULL) != 0) {
            return;
        }
    }
    long long deleted = 0;
    for (size_t j = 2; j < c->argc; j++) {
        xparse_strict_id(NULL, &c->argv[j], 0, &id, NULL);
        deleted += stream_delete(s, &id);
    }
    if (deleted > 0) {
        db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
        notify_key(c, NOTIFY_STREAM, "xdel", &c->argv[1]);
    }
    reply_int(c, deleted);
}

void
cmd_xsetid(struct client *c)
{
    struct xid id, maxdel = {0, 0};
    long long entries_added = -1;
    int maxdel_given = 0;
    if (xparse_strict_id(c, &c->argv[2], 0, &id, NULL) != 0) {
        return;
    }
    for (size_t i = 3; i < c->argc;) {
        size_t moreargs = c->argc - 1 - i;
        if (xarg_is(&c->argv[i], "entriesadded") && moreargs) {
            if (xparse_ll(c, &c->argv[i + 1], &entries_added) != 0) {
                return;
            }
            if (entries_added < 0) {
                reply_error(c, "entries_added must be positive");
                return;
            }
            i += 2;
        } else if (xarg_is(&c->argv[i], "maxdeletedid") && moreargs) {
            if (xparse_strict_id(c, &c->argv[i + 1], 0, &maxdel, NULL) != 0) {
                return;
            }
            maxdel_given = 1;
            if (xid_cmp(&id, &maxdel) < 0) {
                reply_error(c, "The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    struct stream *s;
    if (xlookup(c, &c->argv[1], LOOKUP_WRITE, NULL, &s) != 0) {
        return;
    }
    if (s == NULL) {
        reply_error(c, "no such key");
        return;
    }
    if (s->x->length > 0) {
        struct xid maxid;
        xstream_last_id(s->x, &maxid);
        if (xid_cmp(&id, &maxid) < 0) {
            reply_error(c, "The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (entries_added != -1 && s->x->length > (uint64_t)entries_added) {
            reply_error(c, "The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s->last_id = id;
    if (entries_added != -1) {
        s->entries_added = (uint64_t)entries_added;
    }
    /* Redis ignores MAXDELETEDID 0-0; it is honoured here because a
     * rewritten stream needs it after deleting its placeholders. */
    if (maxdel_given) {
        s->max_deleted_id = maxdel;
    }
    db_signal_modified(c->db, c->argv[1].ptr, c->argv[1].len);
    notify_key(c, NOTIFY_STREAM, "xsetid", &c->argv[1]);
    reply_ok(c);
}

/* ---- XREAD / XREADGROUP -------------------------------------------------------------------- */

/* What `$` resolved to when an XREAD first blocked, per client, so the
 * re-runs read after it (Redis keeps the resolved IDs in the blocked
 * client's state). */
struct xread_saved {
    uint64_t client_id;
    size_t n;
    struct xid *ids;             /* owned */
};
static struct xread_saved *saved;
static size_t nsaved;

static struct xread_saved *
saved_find(uint64_t cid)
{
    for (size_t i = 0; i < nsaved; i++) {
        if (saved[i].client_id == cid) {
            return &saved[i];
        }
    }
    return NULL;
}

static void
saved_drop(uint64_t cid)
{
    for (size_t i = 0; i < nsaved; i++) {
        if (saved[i].client_id == cid) {
            mem_free(saved[i].ids);
            saved[i] = saved[--nsaved];
            return;
        }
    }
}

static void
saved_put(uint64_t cid, const struct xid *ids, size_t n)
{
    saved_drop(cid);
    saved = mem_realloc(saved, (nsaved + 1) * sizeof(*saved));
    saved[nsaved].client_id = cid;
    saved[nsaved].n = n;
    saved[nsaved].ids = mem_alloc(n * sizeof(*ids));
    memcpy(saved[nsaved].ids, ids, n * sizeof(*ids));
    nsaved++;
}

/* Keys XREADGROUP clients wait on: Redis 7.0 wakes them with an error when
 * the stream is deleted, while block.c wakes waiters only on writes.  A
 * delete of such a key is turned into a wake-up (the re-run then finds the
 * key gone).  Entries of clients that went away only cause a wake-up
 * that finds nobody. */
struct group_waiter {
    uint64_t client_id;
    int dbid;
    char *key;                   /* owned */
    size_t keylen;
};
static struct group_waiter *gwait;
static size_t ngwait;
static int gwait_listening;

static void
gwait_drop(uint64_t cid)
{
    for (size_t i = 0; i < ngwait;) {
        if (gwait[i].client_id == cid) {
            mem_free(gwait[i].key);
            gwait[i] = gwait[--ngwait];
        } else {
            i++;
        }
    }
}

static void
gwait_on_change(void *ctx, struct db *db, const char *key, size_t len,
                enum keyspace_change what)
{
    (void)ctx;
    if (what != KEYSPACE_DELETED || key == NULL) {
        return;
    }
    for (size_t i = 0; i < ngwait; i++) {
        if (gwait[i].dbid == db->id && gwait[i].keylen == len
            && memcmp(gwait[i].key, key, len) == 0) {
            db_signal(db, key, len, KEYSPACE_WRITTEN);
            return;
        }
    }
}

static void
gwait_add(struct client *c, const struct resp_arg *keys, size_t n)
{
    if (!gwait_listening) {
        keyspace_listen(&c->srv->ks, gwait_on_change, NULL, &ngwait);
        gwait_listening = 1;
    }
    gwait_drop(c->id);
    gwait = mem_realloc(gwait, (ngwait + n) * sizeof(*gwait));
    for (size_t i = 0; i < n; i++) {
        gwait[ngwait].client_id = c->id;
        gwait[ngwait].dbid = c->db->id;
        gwait[ngwait].key = mem_alloc(keys[i].len ? keys[i].len : 1);
        memcpy(gwait[ngwait].key, keys[i].ptr, keys[i].len);
        gwait[ngwait].keylen = keys[i].len;
        ngwait++;
    }
}

/* Serve one stream to a group consumer: new entries after start (`>`),
 * or the consumer's history from start.  Replies the entries array. */
static int
serve_group(struct client *c, const struct resp_arg *key, struct stream *s, struct sgroup *g,
            struct sconsumer *cons, const struct xid *after, long long count, int noack,
            int history)
{
    long long now = xnow_ms();
    struct xid start = *after;
    if (stream_id_incr(&start) != 0) {
        reply_array_len(c, 0);
        return 0;
    }
    if (history) {
        /* The consumer's pending entries from start. */
        size_t i = stream_pel_lower(g, &start), n = 0;
        size_t *idx = mem_alloc((g->npel + 1) * sizeof(*idx));
        for (; i < g->npel && (count <= 0 || (long long)n < count); i++) {
            if (g->pel[i].consumer == cons) {
                idx[n++] = i;
            }
        }
        reply_array_len(c, (long long)n);
        for (size_t k = 0; k < n; k++) {
            struct spel *p = &g->pel[idx[k]];
            if (!xreply_entry_by_id(c, s, &p->id)) {
                reply_array_len(c, 2);
                xreply_id(c, &p->id);
                reply_null_array(c);
            }
            p->delivery_time = now;
            p->delivery_count++;
            xpropagate_xclaim(c, key, g, &p->id, p);
        }
        mem_free(idx);
        return n > 0;
    }
    struct xid end = {UINT64_MAX, UINT64_MAX};
    struct xstream_iter it;
    struct xentry e;
    long long n = 0;
    xstream_iter_init(&it, s->x, &start, &end, 0);
    while ((count <= 0 || n < count) && xstream_iter_next(&it, &e)) {
        n++;
    }
    reply_array_len(c, n);
    xstream_iter_init(&it, s->x, &start, &end, 0);
    for (long long k = 0; k < n && xstream_iter_next(&it, &e); k++) {
        if (xid_cmp(&e.id, &g->last_id) > 0) {
            if (g->entries_read != -1 && !stream_range_has_tombstones(s, &e.id)) {
                g->entries_read++;
            } else if (s->entries_added) {
                g->entries_read = stream_estimate_distance(s, &e.id);
            }
            g->last_id = e.id;
        }
        xreply_entry(c, &e);
        if (!noack) {
            struct spel *p = stream_pel_find(g, &e.id);
            if (p != NULL) {
                p->consumer->npending--;
                cons->npending++;
                p->consumer = cons;
                p->delivery_time = now;
                p->delivery_count = 1;
            } else {
                p = stream_pel_add(g, &e.id, cons, now, 1);
            }
            xpropagate_xclaim(c, key, g, &e.id, p);
        }
    }
    if (n > 0) {
        xpropagate_group_id(c, key, g);
    }
    return n > 0;
}

/* The stream at key, or NULL when there is none (or, for a woken reader,
 * another type: it waits on as if the key were missing); no reply. */
static struct stream *
xread_stream(struct client *c, const struct resp_arg *key)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, LOOKUP_WRITE);
    return ref != NULL && (*ref)->type == ENTRY_STREAM ? entry_obj(*ref) : NULL;
}

static void
xread_generic(struct client *c, int group_mode)
{
    long long timeout = -1, count = 0;
    size_t streams_arg = 0, nstreams = 0;
    const struct resp_arg *groupname = NULL, *consname = NULL;
    int noack = 0;
    const char *cmdname = group_mode ? "xreadgroup" : "xread";
    for (size_t i = 1; i < c->argc; i++) {
        size_t moreargs = c->argc - i - 1;
        const struct resp_arg *o = &c->argv[i];
        if (xarg_is(o, "block") && moreargs) {
            if (c->flags & CLIENT_SCRIPT) {
                /* Redis 7.0 refuses the option itself from a script, before
                 * reading the timeout, naming the command as it was
                 * spelled. */
                reply_errorf(c, "%.*s command is not allowed with BLOCK option from scripts",
                             (int)c->argv[0].len, c->argv[0].ptr);
                return;
            }
            i++;
            if (util_str2ll(c->argv[i].ptr, c->argv[i].len, &timeout) != 0) {
                reply_error(c, "timeout is not an integer or out of range");
                return;
            }
            if (timeout < 0) {
                reply_error(c, "timeout is negative");
                return;
            }
        } else if (xarg_is(o, "count") && moreargs) {
            i++;
            if (xparse_ll(c, &c->argv[i], &count) != 0) {
                return;
            }
            if (count < 0) {
                count = 0;
            }
        } else if (xarg_is(o, "streams") && moreargs) {
            streams_arg = i + 1;
            nstreams = c->argc - streams_arg;
            if (nstreams % 2 != 0) {
                if (group_mode) {
                    reply_error(c, "Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.");
                } else {
                    reply_error(c, "Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
                }
                return;
            }
            nstreams /= 2;
            break;
        } else if (xarg_is(o, "group") && moreargs >= 2) {
            if (!group_mode) {
                reply_error(c, "The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            groupname = &c->argv[i + 1];
            consname = &c->argv[i + 2];
            i += 2;
        } else if (xarg_is(o, "noack")) {
            if (!group_mode) {
                reply_error(c, "The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    (void)cmdname;
    if (streams_arg == 0) {
        reply_syntax_error(c);
        return;
    }
    if (group_mode && groupname == NULL) {
        reply_error(c, "Missing GROUP option for XREADGROUP");
        return;
    }
    struct xid *ids = mem_alloc(nstreams * sizeof(*ids));
    struct sgroup **groups = group_mode ? mem_calloc(nstreams * sizeof(*groups)) : NULL;
    struct xread_saved *sv = c->bstate != NULL ? saved_find(c->id) : NULL;
    int has_dollar = 0;
    for (size_t k = 0; k < nstreams; k++) {
        const struct resp_arg *key = &c->argv[streams_arg + k];
        const struct resp_arg *ida = &c->argv[streams_arg + nstreams + k];
        struct stream *s;
        struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len,
                                           group_mode ? LOOKUP_WRITE : 0);
        s = ref != NULL && (*ref)->type == ENTRY_STREAM ? entry_obj(*ref) : NULL;
        if (ref != NULL && s == NULL && c->bstate == NULL) {
            reply_wrongtype(c);
            goto done;
        }
        /* A blocked reader whose key now holds another type: Redis 7.0
         * treats XREAD's as waiting for a stream there, XREADGROUP's as
         * gone (below). */
        if (group_mode) {
            if (s == NULL && c->bstate != NULL) {
                /* Woken because the stream was deleted or replaced by
                 * another type (Redis 7.0). */
                reply_error(c, "-UNBLOCKED the stream key no longer exists");
                gwait_drop(c->id);
                goto done;
            }
            if (s == NULL || (groups[k] = stream_group_find(s, groupname->ptr, groupname->len)) == NULL) {
                reply_errorf(c, "-NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with GROUP option",
                             (int)key->len, key->ptr, (int)groupname->len, groupname->ptr);
                goto done;
            }
        }
        if (ida->len == 1 && ida->ptr[0] == '$') {
            if (group_mode) {
                reply_error(c, "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                goto done;
            }
            has_dollar = 1;
            if (sv != NULL && sv->n == nstreams) {
                ids[k] = sv->ids[k];
            } else if (s != NULL) {
                ids[k] = s->last_id;
            } else {
                ids[k] = (struct xid){0, 0};
            }
            continue;
        }
        if (ida->len == 1 && ida->ptr[0] == '>') {
            if (!group_mode) {
                reply_error(c, "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                goto done;
            }
            ids[k] = (struct xid){UINT64_MAX, UINT64_MAX};
            continue;
        }
        if (xparse_strict_id(c, ida, 0, &ids[k], NULL) != 0) {
            goto done;
        }
    }
    /* Which streams can be served now. */
    size_t nserve = 0;
    int *serve = mem_calloc(nstreams * sizeof(*serve));
    for (size_t k = 0; k < nstreams; k++) {
        struct stream *s = xread_stream(c, &c->argv[streams_arg + k]);
        if (s == NULL) {
            continue;
        }
        struct xid maxid;
        if (group_mode) {
            if (ids[k].ms != UINT64_MAX || ids[k].seq != UINT64_MAX) {
                serve[k] = 2; /* history */
            } else if (s->x->length && xstream_last_id(s->x, &maxid) == 0
                       && xid_cmp(&maxid, &groups[k]->last_id) > 0) {
                serve[k] = 1;
                ids[k] = groups[k]->last_id;
            }
        } else if (s->x->length && xstream_last_id(s->x, &maxid) == 0
                   && xid_cmp(&maxid, &ids[k]) > 0) {
            serve[k] = 1;
        }
        nserve += serve[k] != 0;
    }
    if (nserve > 0) {
        if (c->resp >= 3) {
            reply_map_len(c, (long long)nserve);
        } else {
            reply_array_len(c, (long long)nserve);
        }
        for (size_t k = 0; k < nstreams; k++) {
            if (!serve[k]) {
                continue;
            }
            const struct resp_arg *key = &c->argv[streams_arg + k];
            struct stream *s = xread_stream(c, key);
            if (c->resp < 3) {
                reply_array_len(c, 2);
            }
            reply_bulk(c, key->ptr, key->len);
            if (!group_mode) {
                struct xid start = ids[k], end = {UINT64_MAX, UINT64_MAX};
                struct xstream_iter it;
                struct xentry e;
                long long n = 0;
                stream_id_incr(&start);
                xstream_iter_init(&it, s->x, &start, &end, 0);
                while ((count == 0 || n < count) && xstream_iter_next(&it, &e)) {
                    n++;
                }
                reply_array_len(c, n);
                xstream_iter_init(&it, s->x, &start, &end, 0);
                for (long long i = 0; i < n && xstream_iter_next(&it, &e); i++) {
                    xreply_entry(c, &e);
                }
                continue;
            }
            int created;
            struct sconsumer *cons = stream_consumer_get(groups[k], consname->ptr, consname->len,
                                                         xnow_ms(), &created);
            cons->seen_time = xnow_ms();
            if (created) {
                /* As Redis 7.0: stated only for NOACK, whose reads leave
                 * no XCLAIM to create the consumer on the replica; the
                 * command itself never goes out (propagate_prevent). */
                propagate_prevent(c);
                if (noack) {
                    xpropagate_createconsumer(c, key, groups[k], consname);
                }
                notify_key(c, NOTIFY_STREAM, "xgroup-createconsumer", key);
            }
            /* Only a change counts (a history read of nothing must not
             * propagate the command itself). */
            if (serve_group(c, key, s, groups[k], cons, &ids[k], count, noack, serve[k] == 2)
                || created) {
                db_signal_modified(c->db, key->ptr, key->len);
            }
        }
        mem_free(serve);
        saved_drop(c->id);
        gwait_drop(c->id);
        goto done;
    }
    mem_free(serve);
    if (timeout != -1) {
        if (has_dollar && block_allowed(c)) {
            saved_put(c->id, ids, nstreams);
        }
        if (group_mode && block_allowed(c)) {
            gwait_add(c, &c->argv[streams_arg], nstreams);
        }
        block_on_keys(c, &c->argv[streams_arg], nstreams, timeout, BLOCK_REPLY_NULL_ARRAY);
        goto done;
    }
    reply_null_array(c);
done:
    mem_free(ids);
    mem_free(groups);
}

void cmd_xread(struct client *c) { xread_generic(c, 0); }
void cmd_xreadgroup(struct client *c) { xread_generic(c, 1); }
