/* Pub/sub on the node (see pubsub.h).  Channels live in hash tables of
 * their subscribers, kept in subscription order (delivery order); pattern
 * subscriptions are one list scanned per message, as Redis does. */
#include "node/pubsub.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/propagate.h"
#include "node/repl.h"
#include "node/server.h"

#include <string.h>

struct pubsub_chan {
    struct pubsub_chan *chain;     /* borrowed: next in the bucket */
    uint64_t hash;
    struct client **subs;          /* owned array of borrowed clients */
    size_t nsubs, cap;
    size_t len;
    char name[];
};

struct pubsub_pat {
    struct client *c;              /* borrowed: the subscriber */
    size_t len;
    char pat[];
};

enum sub_kind { SUB_CHANNEL, SUB_PATTERN, SUB_SHARD };

/* What one subscription counts for in its client's memory (CLIENT LIST's
 * tot-mem, client eviction): the entry that holds the name (a channel's is
 * shared by its subscribers, but each is charged for it, as the client that
 * stays subscribed keeps it alive), the name, and the two slots that link
 * the client and the entry. */
static size_t
sub_cost(enum sub_kind kind, size_t len)
{
    size_t entry = kind == SUB_PATTERN ? sizeof(struct pubsub_pat) : sizeof(struct pubsub_chan);
    return entry + len + 2 * sizeof(void *);
}

/* ---- tables ------------------------------------------------------------------ */

static struct pubsub_chan *
table_find(struct pubsub_table *t, const char *name, size_t len, uint64_t h)
{
    if (t->size == 0) {
        return NULL;
    }
    for (struct pubsub_chan *ch = t->buckets[h & (t->size - 1)]; ch; ch = ch->chain) {
        if (ch->hash == h && ch->len == len && memcmp(ch->name, name, len) == 0) {
            return ch;
        }
    }
    return NULL;
}

static void
table_grow(struct pubsub_table *t)
{
    size_t size = t->size ? t->size * 2 : 16;
    struct pubsub_chan **b = mem_calloc(size * sizeof(*b));
    for (size_t i = 0; i < t->size; i++) {
        struct pubsub_chan *ch = t->buckets[i];
        while (ch != NULL) {
            struct pubsub_chan *next = ch->chain;
            ch->chain = b[ch->hash & (size - 1)];
            b[ch->hash & (size - 1)] = ch;
            ch = next;
        }
    }
    mem_free(t->buckets);
    t->buckets = b;
    t->size = size;
}

static struct pubsub_chan *
table_add(struct pubsub_table *t, const char *name, size_t len, uint64_t h)
{
    if (t->count >= t->size) {
        table_grow(t);
    }
    struct pubsub_chan *ch = mem_calloc(sizeof(*ch) + len);
    ch->hash = h;
    ch->len = len;
    memcpy(ch->name, name, len);
    ch->chain = t->buckets[h & (t->size - 1)];
    t->buckets[h & (t->size - 1)] = ch;
    t->count++;
    return ch;
}

static void
table_remove(struct pubsub_table *t, struct pubsub_chan *ch)
{
    struct pubsub_chan **p = &t->buckets[ch->hash & (t->size - 1)];
    while (*p != ch) {
        p = &(*p)->chain;
    }
    *p = ch->chain;
    t->count--;
    mem_free(ch->subs);
    mem_free(ch);
}

static void
table_free(struct pubsub_table *t)
{
    for (size_t i = 0; i < t->size; i++) {
        struct pubsub_chan *ch = t->buckets[i];
        while (ch != NULL) {
            struct pubsub_chan *next = ch->chain;
            mem_free(ch->subs);
            mem_free(ch);
            ch = next;
        }
    }
    mem_free(t->buckets);
    memset(t, 0, sizeof(*t));
}

static void
ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = mem_realloc(*arr, *cap * sizeof(void *));
    }
    (*arr)[(*n)++] = p;
}

/* Remove p from arr keeping the order; returns 1 when it was there. */
static int
ptr_remove(void **arr, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == p) {
            memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof(void *));
            (*n)--;
            return 1;
        }
    }
    return 0;
}

void
pubsub_teardown(struct server *srv)
{
    struct pubsub *ps = &srv->pubsub;
    table_free(&ps->channels);
    table_free(&ps->shard);
    for (size_t i = 0; i < ps->npats; i++) {
        mem_free(ps->pats[i]);
    }
    mem_free(ps->pats);
    memset(ps, 0, sizeof(*ps));
}

/* ---- subscriptions ----------------------------------------------------------- */

static struct pubsub_client *
client_subs(struct client *c)
{
    if (c->pubsub == NULL) {
        c->pubsub = mem_calloc(sizeof(*c->pubsub));
    }
    return c->pubsub;
}

static size_t
sub_count(const struct client *c, enum sub_kind kind)
{
    const struct pubsub_client *s = c->pubsub;
    if (s == NULL) {
        return 0;
    }
    /* Redis counts channels and patterns together, shard channels apart. */
    return kind == SUB_SHARD ? s->nshards : s->nchans + s->npats;
}

static void
update_flag(struct client *c)
{
    const struct pubsub_client *s = c->pubsub;
    if (s != NULL && s->nchans + s->npats + s->nshards > 0) {
        c->flags |= CLIENT_PUBSUB;
    } else {
        c->flags &= ~CLIENT_PUBSUB;
    }
}

/* The reply to one (un)subscription: [kind, name or null, count]. */
static void
reply_sub(struct client *c, const char *kind, const char *name, size_t len,
          size_t count)
{
    unsigned pushing = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING;
    if (c->resp >= 3) {
        reply_push_len(c, 3);
    } else {
        reply_array_len(c, 3);
    }
    reply_bulk_cstr(c, kind);
    if (name != NULL) {
        reply_bulk(c, name, len);
    } else {
        reply_null(c);
    }
    reply_int(c, (long long)count);
    c->flags = (c->flags & ~CLIENT_PUSHING) | pushing;
}

static struct pubsub_table *
table_of(struct server *srv, enum sub_kind kind)
{
    return kind == SUB_SHARD ? &srv->pubsub.shard : &srv->pubsub.channels;
}

static void
subscribe_chan(struct client *c, enum sub_kind kind, const char *name, size_t len)
{
    struct pubsub_table *t = table_of(c->srv, kind);
    struct pubsub_client *s = client_subs(c);
    uint64_t h = util_hash(name, len);
    struct pubsub_chan *ch = table_find(t, name, len, h);
    struct pubsub_chan ***mine = kind == SUB_SHARD ? &s->shards : &s->chans;
    size_t *n = kind == SUB_SHARD ? &s->nshards : &s->nchans;
    size_t *cap = kind == SUB_SHARD ? &s->shardcap : &s->chancap;
    int have = 0;
    if (ch == NULL) {
        ch = table_add(t, name, len, h);
    } else {
        for (size_t i = 0; i < *n && !have; i++) {
            have = (*mine)[i] == ch;
        }
    }
    if (!have) {
        ptr_push((void ***)&ch->subs, &ch->nsubs, &ch->cap, c);
        ptr_push((void ***)mine, n, cap, ch);
        s->mem += sub_cost(kind, len);
    }
    update_flag(c);
    reply_sub(c, kind == SUB_SHARD ? "ssubscribe" : "subscribe", name, len,
              sub_count(c, kind));
}

/* Leave ch; returns 1 when c was subscribed. */
static int
leave_chan(struct client *c, enum sub_kind kind, struct pubsub_chan *ch)
{
    struct pubsub_client *s = c->pubsub;
    struct pubsub_chan **mine = kind == SUB_SHARD ? s->shards : s->chans;
    size_t *n = kind == SUB_SHARD ? &s->nshards : &s->nchans;
    if (!ptr_remove((void **)mine, n, ch)) {
        return 0;
    }
    ptr_remove((void **)ch->subs, &ch->nsubs, c);
    s->mem -= sub_cost(kind, ch->len);
    if (ch->nsubs == 0) {
        table_remove(table_of(c->srv, kind), ch);
    }
    return 1;
}

static void
unsubscribe_chan(struct client *c, enum sub_kind kind, const char *name, size_t len,
                 int notify)
{
    struct pubsub_table *t = table_of(c->srv, kind);
    struct pubsub_chan *ch = table_find(t, name, len, util_hash(name, len));
    if (ch != NULL && c->pubsub != NULL) {
        leave_chan(c, kind, ch);
    }
    update_flag(c);
    if (notify) {
        reply_sub(c, kind == SUB_SHARD ? "sunsubscribe" : "unsubscribe", name, len,
                  sub_count(c, kind));
    }
}

static void
unsubscribe_all_chans(struct client *c, enum sub_kind kind, int notify)
{
    struct pubsub_client *s = c->pubsub;
    const char *what = kind == SUB_SHARD ? "sunsubscribe" : "unsubscribe";
    size_t n = s == NULL ? 0 : (kind == SUB_SHARD ? s->nshards : s->nchans);
    if (n == 0) {
        if (notify) {
            reply_sub(c, what, NULL, 0, sub_count(c, kind));
        }
        return;
    }
    while (kind == SUB_SHARD ? s->nshards > 0 : s->nchans > 0) {
        struct pubsub_chan *ch = kind == SUB_SHARD ? s->shards[0] : s->chans[0];
        char name[256];
        size_t len = ch->len;
        char *big = NULL;
        const char *p = name;
        /* ch may be freed by leave_chan: keep its name for the reply. */
        if (len <= sizeof(name)) {
            memcpy(name, ch->name, len);
        } else {
            big = mem_alloc(len);
            memcpy(big, ch->name, len);
            p = big;
        }
        leave_chan(c, kind, ch);
        update_flag(c);
        if (notify) {
            reply_sub(c, what, p, len, sub_count(c, kind));
        }
        mem_free(big);
    }
}

static void
subscribe_pat(struct client *c, const char *pat, size_t len)
{
    struct pubsub_client *s = client_subs(c);
    struct pubsub *ps = &c->srv->pubsub;
    int have = 0;
    for (size_t i = 0; i < s->npats && !have; i++) {
        have = s->pats[i]->len == len && memcmp(s->pats[i]->pat, pat, len) == 0;
    }
    if (!have) {
        struct pubsub_pat *p = mem_alloc(sizeof(*p) + len);
        p->c = c;
        p->len = len;
        memcpy(p->pat, pat, len);
        ptr_push((void ***)&ps->pats, &ps->npats, &ps->patcap, p);
        ptr_push((void ***)&s->pats, &s->npats, &s->patcap, p);
        s->mem += sub_cost(SUB_PATTERN, len);
    }
    update_flag(c);
    reply_sub(c, "psubscribe", pat, len, sub_count(c, SUB_PATTERN));
}

static void
leave_pat(struct client *c, struct pubsub_pat *p)
{
    ptr_remove((void **)c->pubsub->pats, &c->pubsub->npats, p);
    ptr_remove((void **)c->srv->pubsub.pats, &c->srv->pubsub.npats, p);
    c->pubsub->mem -= sub_cost(SUB_PATTERN, p->len);
    mem_free(p);
}

static void
unsubscribe_pat(struct client *c, const char *pat, size_t len)
{
    struct pubsub_client *s = c->pubsub;
    for (size_t i = 0; s != NULL && i < s->npats; i++) {
        if (s->pats[i]->len == len && memcmp(s->pats[i]->pat, pat, len) == 0) {
            leave_pat(c, s->pats[i]);
            break;
        }
    }
    update_flag(c);
    reply_sub(c, "punsubscribe", pat, len, sub_count(c, SUB_PATTERN));
}

static void
unsubscribe_all_pats(struct client *c, int notify)
{
    struct pubsub_client *s = c->pubsub;
    if (s == NULL || s->npats == 0) {
        if (notify) {
            reply_sub(c, "punsubscribe", NULL, 0, sub_count(c, SUB_PATTERN));
        }
        return;
    }
    while (s->npats > 0) {
        struct pubsub_pat *p = s->pats[0];
        ptr_remove((void **)s->pats, &s->npats, p);
        ptr_remove((void **)c->srv->pubsub.pats, &c->srv->pubsub.npats, p);
        s->mem -= sub_cost(SUB_PATTERN, p->len);
        update_flag(c);
        if (notify) {
            reply_sub(c, "punsubscribe", p->pat, p->len, sub_count(c, SUB_PATTERN));
        }
        mem_free(p);
    }
}

void
pubsub_client_gone(struct client *c)
{
    struct pubsub_client *s = c->pubsub;
    if (s == NULL) {
        return;
    }
    unsubscribe_all_chans(c, SUB_CHANNEL, 0);
    unsubscribe_all_chans(c, SUB_SHARD, 0);
    unsubscribe_all_pats(c, 0);
    mem_free(s->chans);
    mem_free(s->shards);
    mem_free(s->pats);
    mem_free(s);
    c->pubsub = NULL;
    c->flags &= ~CLIENT_PUBSUB;
}

void
pubsub_client_counts(const struct client *c, size_t *sub, size_t *psub, size_t *ssub)
{
    const struct pubsub_client *s = c->pubsub;
    *sub = s ? s->nchans : 0;
    *psub = s ? s->npats : 0;
    *ssub = s ? s->nshards : 0;
}

size_t
pubsub_client_mem(const struct client *c)
{
    const struct pubsub_client *s = c->pubsub;
    if (s == NULL) {
        return 0;
    }
    return sizeof(*s) + (s->chancap + s->shardcap + s->patcap) * sizeof(void *) + s->mem;
}

int
pubsub_client_each(const struct client *c, pubsub_each_fn fn, void *arg)
{
    const struct pubsub_client *s = c->pubsub;
    int r = 0;
    for (size_t i = 0; s != NULL && r == 0 && i < s->nchans; i++) {
        r = fn(arg, 0, s->chans[i]->name, s->chans[i]->len);
    }
    for (size_t i = 0; s != NULL && r == 0 && i < s->npats; i++) {
        r = fn(arg, 1, s->pats[i]->pat, s->pats[i]->len);
    }
    for (size_t i = 0; s != NULL && r == 0 && i < s->nshards; i++) {
        r = fn(arg, 2, s->shards[i]->name, s->shards[i]->len);
    }
    return r;
}

/* ---- delivery ---------------------------------------------------------------- */

static void
deliver_head(struct client *c, long long n)
{
    c->flags |= CLIENT_PUSHING;
    if (c->resp >= 3) {
        reply_push_len(c, n);
    } else {
        reply_array_len(c, n);
    }
}

static void
deliver_done(struct client *c)
{
    /* A subscriber is not the running client: its bytes leave with the
     * next flush of pending writes. */
    c->flags &= ~CLIENT_PUSHING;
    client_queue_write(c);
}

static long long
publish_table(struct pubsub_table *t, const char *kind, size_t klen, const char *chan,
              size_t clen, const char *msg, size_t mlen)
{
    struct pubsub_chan *ch = table_find(t, chan, clen, util_hash(chan, clen));
    if (ch == NULL) {
        return 0;
    }
    for (size_t i = 0; i < ch->nsubs; i++) {
        struct client *c = ch->subs[i];
        deliver_head(c, 3);
        reply_bulk(c, kind, klen);
        reply_bulk(c, chan, clen);
        reply_bulk(c, msg, mlen);
        deliver_done(c);
    }
    return (long long)ch->nsubs;
}

long long
pubsub_publish(struct server *srv, const char *chan, size_t clen, const char *msg,
               size_t mlen)
{
    struct pubsub *ps = &srv->pubsub;
    long long n = publish_table(&ps->channels, "message", 7, chan, clen, msg, mlen);
    for (size_t i = 0; i < ps->npats; i++) {
        struct pubsub_pat *p = ps->pats[i];
        if (!util_glob_match(p->pat, p->len, chan, clen, 0)) {
            continue;
        }
        struct client *c = p->c;
        deliver_head(c, 4);
        reply_bulk(c, "pmessage", 8);
        reply_bulk(c, p->pat, p->len);
        reply_bulk(c, chan, clen);
        reply_bulk(c, msg, mlen);
        deliver_done(c);
        n++;
    }
    return n;
}

/* ---- handlers ---------------------------------------------------------------- */

void
cmd_subscribe(struct client *c)
{
    for (size_t i = 1; i < c->argc; i++) {
        subscribe_chan(c, SUB_CHANNEL, c->argv[i].ptr, c->argv[i].len);
    }
}

void
cmd_ssubscribe(struct client *c)
{
    for (size_t i = 1; i < c->argc; i++) {
        subscribe_chan(c, SUB_SHARD, c->argv[i].ptr, c->argv[i].len);
    }
}

void
cmd_unsubscribe(struct client *c)
{
    if (c->argc == 1) {
        unsubscribe_all_chans(c, SUB_CHANNEL, 1);
        return;
    }
    for (size_t i = 1; i < c->argc; i++) {
        unsubscribe_chan(c, SUB_CHANNEL, c->argv[i].ptr, c->argv[i].len, 1);
    }
}

void
cmd_sunsubscribe(struct client *c)
{
    if (c->argc == 1) {
        unsubscribe_all_chans(c, SUB_SHARD, 1);
        return;
    }
    for (size_t i = 1; i < c->argc; i++) {
        unsubscribe_chan(c, SUB_SHARD, c->argv[i].ptr, c->argv[i].len, 1);
    }
}

void
cmd_psubscribe(struct client *c)
{
    for (size_t i = 1; i < c->argc; i++) {
        subscribe_pat(c, c->argv[i].ptr, c->argv[i].len);
    }
}

void
cmd_punsubscribe(struct client *c)
{
    if (c->argc == 1) {
        unsubscribe_all_pats(c, 1);
        return;
    }
    for (size_t i = 1; i < c->argc; i++) {
        unsubscribe_pat(c, c->argv[i].ptr, c->argv[i].len);
    }
}

void
cmd_publish(struct client *c)
{
    long long n = pubsub_publish(c->srv, c->argv[1].ptr, c->argv[1].len,
                                 c->argv[2].ptr, c->argv[2].len);
    /* Replicas deliver it to their own subscribers. */
    propagate_effect(c, c->argc, c->argv);
    reply_int(c, n);
}

void
cmd_spublish(struct client *c)
{
    long long n = publish_table(&c->srv->pubsub.shard, "smessage", 8, c->argv[1].ptr,
                                c->argv[1].len, c->argv[2].ptr, c->argv[2].len);
    propagate_effect(c, c->argc, c->argv);
    reply_int(c, n);
}

static void
list_channels(struct client *c, struct pubsub_table *t)
{
    const struct resp_arg *pat = c->argc > 2 ? &c->argv[2] : NULL;
    long long n = 0;
    if (c->argc > 3) {
        reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.*s'. "
                        "Try PUBSUB HELP.", (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len),
                     c->argv[1].ptr);
        return;
    }
    for (size_t i = 0; i < t->size; i++) {
        for (struct pubsub_chan *ch = t->buckets[i]; ch; ch = ch->chain) {
            n += pat == NULL || util_glob_match(pat->ptr, pat->len, ch->name, ch->len, 0);
        }
    }
    reply_array_len(c, n);
    for (size_t i = 0; i < t->size; i++) {
        for (struct pubsub_chan *ch = t->buckets[i]; ch; ch = ch->chain) {
            if (pat == NULL || util_glob_match(pat->ptr, pat->len, ch->name, ch->len, 0)) {
                reply_bulk(c, ch->name, ch->len);
            }
        }
    }
}

/* A flat array of channel, count pairs in RESP3 too: Redis 7.0 answers
 * no map here. */
static void
num_subs(struct client *c, struct pubsub_table *t)
{
    reply_array_len(c, (long long)(c->argc - 2) * 2);
    for (size_t i = 2; i < c->argc; i++) {
        const struct resp_arg *a = &c->argv[i];
        struct pubsub_chan *ch = table_find(t, a->ptr, a->len, util_hash(a->ptr, a->len));
        reply_bulk(c, a->ptr, a->len);
        reply_int(c, ch ? (long long)ch->nsubs : 0);
    }
}

void
cmd_pubsub_channels(struct client *c)
{
    list_channels(c, &c->srv->pubsub.channels);
}

void
cmd_pubsub_shardchannels(struct client *c)
{
    list_channels(c, &c->srv->pubsub.shard);
}

void
cmd_pubsub_numsub(struct client *c)
{
    num_subs(c, &c->srv->pubsub.channels);
}

void
cmd_pubsub_shardnumsub(struct client *c)
{
    num_subs(c, &c->srv->pubsub.shard);
}

static long long
distinct_patterns(const struct pubsub *ps)
{
    long long n = 0;
    for (size_t i = 0; i < ps->npats; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = ps->pats[j]->len == ps->pats[i]->len
                   && memcmp(ps->pats[j]->pat, ps->pats[i]->pat, ps->pats[i]->len) == 0;
        }
        n += !seen;
    }
    return n;
}

void
pubsub_stats(const struct server *srv, long long *channels, long long *patterns,
             long long *shard)
{
    *channels = (long long)srv->pubsub.channels.count;
    *patterns = distinct_patterns(&srv->pubsub);
    *shard = (long long)srv->pubsub.shard.count;
}

void
cmd_pubsub_numpat(struct client *c)
{
    /* Distinct patterns, as Redis counts its pattern dictionary. */
    reply_int(c, distinct_patterns(&c->srv->pubsub));
}

void
cmd_pubsub_help(struct client *c)
{
    static const char *const lines[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        NULL,
    };
    reply_help(c, "PUBSUB", lines);
}
