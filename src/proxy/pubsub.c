/* Pub/sub for client sessions: the channels, patterns and shard channels
 * sessions listen to, the SUBSCRIBE family with Redis 7.0's replies, and
 * delivery both of the proxy's own events (Sentinel's +switch-master and
 * +sdown, +config-reloaded) and of the messages the nodes send on the
 * proxy's subscriber links (nodesub.c mirrors this registry onto them).
 * PUBLISH and SPUBLISH are not here: they are routed to a master. */
#include "proxy/pubsub.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/nodesub.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- registry ------------------------------------------------------------ */

/* A growable array of borrowed pointers, kept in insertion order. */
struct pubsub_vec {
    void **v;                        /* owned array; the pointers are borrowed */
    size_t n, cap;
};

/* A channel or a pattern, with the sessions subscribed to it in the order
 * they subscribed, which is the order they receive messages in (Redis's). */
struct pubsub_topic {
    char *name;                      /* owned, NUL-terminated (names are binary safe: len) */
    size_t len;
    uint64_t hash;
    struct pubsub_vec subs;          /* struct pubsub_client *, borrowed */
    struct pubsub_topic *next;       /* bucket chain of its table */
};

/* Topics by name in chained buckets (a power of two of them, at least one
 * per topic).  A topic exists while it has a subscriber, as in Redis, so
 * clients cannot grow the table with channels nobody listens to. */
struct pubsub_table {
    struct pubsub_topic **buckets;   /* owned array of owned chains; NULL when empty */
    size_t nbuckets;
    size_t count;
    enum nodesub_kind kind;          /* what it mirrors on the nodes (nodesub.c) */
};

/* One session's subscriptions. */
struct pubsub_client {
    struct session *s;               /* borrowed: the session owning this */
    struct pubsub_vec channels;      /* struct pubsub_topic *, borrowed from channel_table */
    struct pubsub_vec patterns;      /* struct pubsub_topic *, borrowed from pattern_table */
    struct pubsub_vec shards;        /* struct pubsub_topic *, borrowed from shard_table */
};

/* One registry per process (see pubsub.h). */
static struct pubsub_table channel_table = {.kind = NODESUB_CHANNEL};
static struct pubsub_table pattern_table = {.kind = NODESUB_PATTERN};
static struct pubsub_table shard_table = {.kind = NODESUB_SHARD};

static struct pubsub_table *
table_of(enum nodesub_kind kind)
{
    return kind == NODESUB_SHARD ? &shard_table
           : kind == NODESUB_PATTERN ? &pattern_table : &channel_table;
}

static void
vec_push(struct pubsub_vec *a, void *p)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->v = mem_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = p;
}

static long
vec_index(const struct pubsub_vec *a, const void *p)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i] == p) {
            return (long)i;
        }
    }
    return -1;
}

/* Remove element i, keeping the order of the others. */
static void
vec_remove_at(struct pubsub_vec *a, size_t i)
{
    memmove(a->v + i, a->v + i + 1, (a->n - i - 1) * sizeof(*a->v));
    a->n--;
}

static struct pubsub_topic *
table_find(const struct pubsub_table *t, const char *name, size_t len, uint64_t h)
{
    if (t->nbuckets == 0) {
        return NULL;
    }
    for (struct pubsub_topic *x = t->buckets[h & (t->nbuckets - 1)]; x; x = x->next) {
        if (x->hash == h && x->len == len && memcmp(x->name, name, len) == 0) {
            return x;
        }
    }
    return NULL;
}

static void
table_grow(struct pubsub_table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    struct pubsub_topic **b = mem_calloc(n * sizeof(*b));
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct pubsub_topic *x = t->buckets[i];
        while (x != NULL) {
            struct pubsub_topic *next = x->next;
            size_t k = x->hash & (n - 1);
            x->next = b[k];
            b[k] = x;
            x = next;
        }
    }
    mem_free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static struct pubsub_topic *
table_add(struct pubsub_table *t, const char *name, size_t len, uint64_t h)
{
    struct pubsub_topic *x = mem_calloc(sizeof(*x));
    if (t->count >= t->nbuckets) {
        table_grow(t);
    }
    x->name = mem_alloc(len + 1);
    memcpy(x->name, name, len);
    x->name[len] = '\0';
    x->len = len;
    x->hash = h;
    x->next = t->buckets[h & (t->nbuckets - 1)];
    t->buckets[h & (t->nbuckets - 1)] = x;
    t->count++;
    nodesub_topic(t->kind, x->name, x->len, 1); /* its first subscriber */
    return x;
}

/* Unlink and free x (it has no subscriber left); the last topic out frees
 * the buckets, so an idle proxy holds nothing here. */
static void
table_remove(struct pubsub_table *t, struct pubsub_topic *x)
{
    struct pubsub_topic **pp = &t->buckets[x->hash & (t->nbuckets - 1)];
    while (*pp != x) {
        pp = &(*pp)->next;
    }
    *pp = x->next;
    t->count--;
    nodesub_topic(t->kind, x->name, x->len, 0); /* its last subscriber left */
    mem_free(x->subs.v);
    mem_free(x->name);
    mem_free(x);
    if (t->count == 0) {
        mem_free(t->buckets);
        t->buckets = NULL;
        t->nbuckets = 0;
    }
}

/* Subscribe c to name in t (mine: c's list of that kind).  Returns 1 when
 * c was not subscribed yet, 0 when it was (nothing changes then). */
static int
join(struct pubsub_table *t, struct pubsub_vec *mine, struct pubsub_client *c,
     const char *name, size_t len)
{
    uint64_t h = util_hash(name, len);
    struct pubsub_topic *x = table_find(t, name, len, h);
    if (x == NULL) {
        x = table_add(t, name, len, h);
    } else if (mine->n <= x->subs.n ? vec_index(mine, x) >= 0 : vec_index(&x->subs, c) >= 0) {
        /* already subscribed: searched the shorter of the two lists */
        return 0;
    }
    vec_push(&x->subs, c);
    vec_push(mine, x);
    return 1;
}

/* Unsubscribe c from the i-th topic of its list mine (of table t); the
 * topic is freed when c was its last subscriber. */
static void
leave_at(struct pubsub_table *t, struct pubsub_vec *mine, size_t i, struct pubsub_client *c)
{
    struct pubsub_topic *x = mine->v[i];
    long k = vec_index(&x->subs, c);
    vec_remove_at(mine, i);
    if (k >= 0) {
        vec_remove_at(&x->subs, (size_t)k);
    }
    if (x->subs.n == 0) {
        table_remove(t, x);
    }
}

/* Unsubscribe c from name; nothing when c is not subscribed to it. */
static void
leave(struct pubsub_table *t, struct pubsub_vec *mine, struct pubsub_client *c,
      const char *name, size_t len)
{
    struct pubsub_topic *x = table_find(t, name, len, util_hash(name, len));
    long i = x ? vec_index(mine, x) : -1;
    if (i >= 0) {
        leave_at(t, mine, (size_t)i, c);
    }
}

size_t
pubsub_count(const struct pubsub_client *c)
{
    return c ? c->channels.n + c->patterns.n + c->shards.n : 0;
}

/* The count a (un)subscribe confirmation carries: Redis counts channels
 * and patterns together, shard channels apart. */
static size_t
confirm_count(const struct pubsub_client *c, enum nodesub_kind kind)
{
    if (c == NULL) {
        return 0;
    }
    return kind == NODESUB_SHARD ? c->shards.n : c->channels.n + c->patterns.n;
}

void
pubsub_client_counts(const struct pubsub_client *c, size_t *channels, size_t *patterns)
{
    *channels = c ? c->channels.n : 0;
    *patterns = c ? c->patterns.n : 0;
}

int
pubsub_client_each(const struct pubsub_client *c,
                   int (*fn)(void *arg, int kind, const char *name, size_t len), void *arg)
{
    const struct pubsub_vec *vecs[3];
    if (c == NULL) {
        return 0;
    }
    vecs[0] = &c->channels;
    vecs[1] = &c->patterns;
    vecs[2] = &c->shards;
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < vecs[k]->n; i++) {
            const struct pubsub_topic *t = vecs[k]->v[i];
            int r = fn(arg, k, t->name, t->len);
            if (r != 0) {
                return r;
            }
        }
    }
    return 0;
}

size_t
pubsub_client_shards(const struct pubsub_client *c)
{
    return c ? c->shards.n : 0;
}

void
pubsub_client_destroy(struct pubsub_client **cp)
{
    struct pubsub_client *c = *cp;
    if (c == NULL) {
        return;
    }
    /* From the end: nothing to shift in c's own lists. */
    while (c->channels.n > 0) {
        leave_at(&channel_table, &c->channels, c->channels.n - 1, c);
    }
    while (c->patterns.n > 0) {
        leave_at(&pattern_table, &c->patterns, c->patterns.n - 1, c);
    }
    while (c->shards.n > 0) {
        leave_at(&shard_table, &c->shards, c->shards.n - 1, c);
    }
    mem_free(c->channels.v);
    mem_free(c->patterns.v);
    mem_free(c->shards.v);
    mem_free(c);
    *cp = NULL;
}

size_t
pubsub_channel_count(const struct proxy *px)
{
    (void)px; /* one registry per process */
    return channel_table.count;
}

size_t
pubsub_pattern_count(const struct proxy *px)
{
    (void)px;
    return pattern_table.count;
}

/* ---- replies ---------------------------------------------------------------- */

/* The first three parts of a (un)subscribe confirmation: a push frame in
 * RESP3, an array in RESP2; name NULL is the nil of "unsubscribed from
 * nothing".  The count follows once the change is made. */
static void
confirm_head(struct rbuf *b, int resp, const char *kind, const char *name, size_t len)
{
    rbuf_hdr(b, resp == 3 ? '>' : '*', 3);
    rbuf_bulk(b, kind, strlen(kind));
    if (name != NULL) {
        rbuf_bulk(b, name, len);
    } else {
        rbuf_str(b, resp == 3 ? "_\r\n" : "$-1\r\n");
    }
}

/* An argument as Redis quotes it in an error line: at most 128 bytes, up to
 * a NUL, with CR and LF made spaces so the line stays one line. */
static size_t
error_arg(char *dst, const struct resp_arg *a)
{
    size_t n = 0;
    while (n < a->len && n < 128 && a->ptr[n] != '\0') {
        dst[n] = (a->ptr[n] == '\r' || a->ptr[n] == '\n') ? ' ' : a->ptr[n];
        n++;
    }
    dst[n] = '\0';
    return n;
}

/* ---- commands ------------------------------------------------------------- */

static struct pubsub_client *
client_get(struct session *s, struct pubsub_client **cp)
{
    if (*cp == NULL) {
        *cp = mem_calloc(sizeof(**cp));
        (*cp)->s = s;
    }
    return *cp;
}

static struct pubsub_vec *
mine_of(struct pubsub_client *c, enum nodesub_kind kind)
{
    if (c == NULL) {
        return NULL;
    }
    return kind == NODESUB_SHARD ? &c->shards
           : kind == NODESUB_PATTERN ? &c->patterns : &c->channels;
}

static const char *const confirm_words[NODESUB__COUNT][2] = {
    [NODESUB_CHANNEL] = {"unsubscribe", "subscribe"},
    [NODESUB_PATTERN] = {"punsubscribe", "psubscribe"},
    [NODESUB_SHARD] = {"sunsubscribe", "ssubscribe"},
};

/* Send b's (un)subscription confirmations to s and free b.  They wait
 * until the nodes confirmed what the proxy asked of them for it
 * (nodesub_hold): after SUBSCRIBE a message published reaches the client,
 * after UNSUBSCRIBE a PUBLISH no longer counts the proxy's subscription.
 * Like messages they are pushes, which CLIENT REPLY OFF does not silence
 * (Redis 7.0). */
static void
confirm(struct session *s, struct rbuf *b)
{
    s->pushing = 1;
    if (!nodesub_hold(s, b->p, b->len)) {
        rbuf_reply(s, b);
    }
    s->pushing = 0;
    rbuf_free(b);
}

/* SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, with the
 * session's count after it (a repeated name changes nothing but is
 * confirmed again, as in Redis).  A name new to the proxy is subscribed on
 * the nodes first: the confirmations wait for the nodes' (nodesub_hold),
 * so a message published once the client saw them reaches it. */
static void
subscribe(struct session *s, struct pubsub_client **cp, enum nodesub_kind kind, size_t argc,
          const struct resp_arg *argv)
{
    struct pubsub_client *c = client_get(s, cp);
    struct pubsub_table *t = table_of(kind);
    struct pubsub_vec *mine = mine_of(c, kind);
    struct rbuf b = {0};
    int resp = session_protocol(s);
    for (size_t i = 1; i < argc; i++) {
        join(t, mine, c, argv[i].ptr, argv[i].len);
        confirm_head(&b, resp, confirm_words[kind][1], argv[i].ptr, argv[i].len);
        rbuf_hdr(&b, ':', (long long)confirm_count(c, kind));
    }
    confirm(s, &b);
}

/* UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the names given (each
 * confirmed, subscribed or not), or every one of the kind in subscription
 * order, or, with none, a single confirmation naming nil. */
static void
unsubscribe(struct session *s, struct pubsub_client **cp, enum nodesub_kind kind, size_t argc,
            const struct resp_arg *argv)
{
    struct pubsub_client *c = *cp;
    struct pubsub_table *t = table_of(kind);
    struct pubsub_vec *mine = mine_of(c, kind);
    const char *word = confirm_words[kind][0];
    struct rbuf b = {0};
    int resp = session_protocol(s);
    if (argc == 1 && (mine == NULL || mine->n == 0)) {
        confirm_head(&b, resp, word, NULL, 0);
        rbuf_hdr(&b, ':', (long long)confirm_count(c, kind));
    }
    while (argc == 1 && mine != NULL && mine->n > 0) {
        struct pubsub_topic *x = mine->v[0];
        confirm_head(&b, resp, word, x->name, x->len); /* before x may be freed */
        leave_at(t, mine, 0, c);
        rbuf_hdr(&b, ':', (long long)confirm_count(c, kind));
    }
    for (size_t i = 1; i < argc; i++) {
        if (mine != NULL) {
            leave(t, mine, c, argv[i].ptr, argv[i].len);
        }
        confirm_head(&b, resp, word, argv[i].ptr, argv[i].len);
        rbuf_hdr(&b, ':', (long long)confirm_count(c, kind));
    }
    if (c != NULL && pubsub_count(c) == 0) {
        pubsub_client_destroy(cp); /* a RESP2 session leaves subscribed mode */
    }
    confirm(s, &b);
}

static void
pubsub_help(struct rbuf *b)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    The channels that have subscribers (those matching <pattern> when given).",
        "NUMPAT",
        "    The number of distinct patterns subscribed to.",
        "NUMSUB [<channel> ...]",
        "    The number of subscribers of each channel, pattern subscribers not counted.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    rbuf_hdr(b, '*', (long long)n);
    for (size_t i = 0; i < n; i++) {
        rbuf_str(b, "+");
        rbuf_str(b, lines[i]);
        rbuf_str(b, "\r\n");
    }
}

/* PUBSUB CHANNELS / SHARDCHANNELS: the table's topics matching pattern
 * (all when NULL). */
static void
topic_names(struct rbuf *b, const struct pubsub_table *table, const struct resp_arg *pattern)
{
    struct rbuf names = {0};
    long long found = 0;
    for (size_t i = 0; i < table->nbuckets; i++) {
        for (struct pubsub_topic *x = table->buckets[i]; x; x = x->next) {
            if (pattern && !util_glob_match(pattern->ptr, pattern->len, x->name, x->len, 0)) {
                continue;
            }
            rbuf_bulk(&names, x->name, x->len);
            found++;
        }
    }
    rbuf_hdr(b, '*', found);
    rbuf_add(b, names.p, names.len);
    rbuf_free(&names);
}

/* PUBSUB NUMSUB / SHARDNUMSUB: each name and its subscriber count. */
static void
topic_numsub(struct rbuf *b, const struct pubsub_table *table, size_t n,
             const struct resp_arg *names)
{
    rbuf_hdr(b, '*', (long long)n * 2);
    for (size_t i = 0; i < n; i++) {
        const struct pubsub_topic *x =
            table_find(table, names[i].ptr, names[i].len, util_hash(names[i].ptr, names[i].len));
        rbuf_bulk(b, names[i].ptr, names[i].len);
        rbuf_hdr(b, ':', x ? (long long)x->subs.n : 0);
    }
}

/* PUBSUB CHANNELS [pattern], NUMSUB [channel ...], NUMPAT, HELP: the
 * proxy's own channels, with Redis's errors for the rest. */
static void
pubsub_introspect(struct session *s, size_t argc, const struct resp_arg *argv)
{
    const struct command *sub =
        command_lookup_sub(command_get(CMD_ID_PUBSUB), argv[1].ptr, argv[1].len);
    struct rbuf b = {0};
    char arg[129], line[512];
    int n = 0;

    if (sub == NULL) {
        error_arg(arg, &argv[1]);
        n = snprintf(line, sizeof(line), "-ERR unknown subcommand '%s'. Try PUBSUB HELP.\r\n",
                     arg);
    } else if (!command_arity_ok(sub, argc)) {
        n = snprintf(line, sizeof(line), "-ERR wrong number of arguments for '%s' command\r\n",
                     sub->fullname);
    } else if (sub->id == CMD_ID_PUBSUB_CHANNELS && argc > 3) {
        error_arg(arg, &argv[1]);
        n = snprintf(line, sizeof(line), "-ERR unknown subcommand or wrong number of arguments "
                                         "for '%s'. Try PUBSUB HELP.\r\n", arg);
    }
    if (n > 0) {
        session_reply(s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        return;
    }
    if (sub->id != CMD_ID_PUBSUB_HELP && nodesub_pubsub(s, sub->id, argc, argv)) {
        return; /* answered for the deployment once the masters reply */
    }
    switch (sub->id) {
    case CMD_ID_PUBSUB_CHANNELS:
        topic_names(&b, &channel_table, argc == 3 ? &argv[2] : NULL);
        break;
    case CMD_ID_PUBSUB_NUMSUB:
        topic_numsub(&b, &channel_table, argc - 2, argv + 2);
        break;
    case CMD_ID_PUBSUB_NUMPAT:
        rbuf_hdr(&b, ':', (long long)pattern_table.count);
        break;
    case CMD_ID_PUBSUB_SHARDCHANNELS:
        topic_names(&b, &shard_table, argc == 3 ? &argv[2] : NULL);
        break;
    case CMD_ID_PUBSUB_SHARDNUMSUB:
        topic_numsub(&b, &shard_table, argc - 2, argv + 2);
        break;
    default:
        pubsub_help(&b);
        break;
    }
    rbuf_reply(s, &b);
    rbuf_free(&b);
}

void
pubsub_command(struct proxy *px, struct session *s, struct pubsub_client **cp,
               const struct command *cmd, size_t argc, const struct resp_arg *argv)
{
    (void)px; /* one registry per process */
    switch (cmd->id) {
    case CMD_ID_SUBSCRIBE:
        subscribe(s, cp, NODESUB_CHANNEL, argc, argv);
        break;
    case CMD_ID_PSUBSCRIBE:
        subscribe(s, cp, NODESUB_PATTERN, argc, argv);
        break;
    case CMD_ID_SSUBSCRIBE:
        subscribe(s, cp, NODESUB_SHARD, argc, argv);
        break;
    case CMD_ID_UNSUBSCRIBE:
        unsubscribe(s, cp, NODESUB_CHANNEL, argc, argv);
        break;
    case CMD_ID_PUNSUBSCRIBE:
        unsubscribe(s, cp, NODESUB_PATTERN, argc, argv);
        break;
    case CMD_ID_SUNSUBSCRIBE:
        unsubscribe(s, cp, NODESUB_SHARD, argc, argv);
        break;
    case CMD_ID_PUBLISH:
    case CMD_ID_SPUBLISH:
        nodesub_publish(s, cmd->id == CMD_ID_SPUBLISH, argc, argv);
        break;
    case CMD_ID_PUBSUB:
        pubsub_introspect(s, argc, argv);
        break;
    default: {
        char line[128];
        int n = snprintf(line, sizeof(line), "-ERR internal: '%s' is not a pub/sub command\r\n",
                         cmd->fullname);
        session_reply(s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        break;
    }
    }
}

size_t
pubsub_refuse(const struct command *cmd, size_t argc, const struct resp_arg *argv, char *buf,
              size_t cap)
{
    const struct command *named = cmd;
    int n;
    switch (cmd->id) {
    case CMD_ID_PING:
    case CMD_ID_QUIT:
    case CMD_ID_RESET:
    case CMD_ID_SUBSCRIBE:
    case CMD_ID_UNSUBSCRIBE:
    case CMD_ID_PSUBSCRIBE:
    case CMD_ID_PUNSUBSCRIBE:
    case CMD_ID_SSUBSCRIBE:
    case CMD_ID_SUNSUBSCRIBE:
        return 0;
    default:
        break;
    }
    if (cmd->nsubs > 0 && argc >= 2) {
        /* Redis names the subcommand ('client|id'); an unknown subcommand
         * or a wrong arity is reported before this rule. */
        named = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (named == NULL || !command_arity_ok(named, argc)) {
            return 0;
        }
    }
    n = snprintf(buf, cap, "-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                           "PING / QUIT / RESET are allowed in this context\r\n",
                 named->fullname);
    if (n < 0 || cap == 0) {
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- publishing ------------------------------------------------------------- */

/* b holds a RESP2 message frame: RESP3 sessions get the same bytes as a
 * push frame, which differs only in its first byte. */
static void
deliver(struct pubsub_client *c, struct rbuf *b)
{
    b->p[0] = session_protocol(c->s) == 3 ? '>' : '*';
    c->s->pushing = 1; /* a push: CLIENT REPLY OFF does not silence it */
    session_reply(c->s, b->p, b->len);
    c->s->pushing = 0;
}

long long
pubsub_publish(struct proxy *px, const char *channel, const char *msg, size_t len)
{
    size_t chlen = strlen(channel);
    const struct pubsub_topic *x =
        table_find(&channel_table, channel, chlen, util_hash(channel, chlen));
    struct rbuf b = {0};
    long long receivers = 0;
    (void)px; /* one registry per process */

    if (nodesub_defer_event(channel, msg, len)) {
        return 0; /* delivered once the links carry the subscriptions again */
    }
    /* Delivery appends to each session's output in request order, and
     * touches no subscription, so iterating the lists here is safe. */
    if (x != NULL) {
        rbuf_hdr(&b, '*', 3);
        rbuf_bulk(&b, "message", 7);
        rbuf_bulk(&b, channel, chlen);
        rbuf_bulk(&b, msg, len);
        for (size_t i = 0; i < x->subs.n; i++) {
            deliver(x->subs.v[i], &b);
            receivers++;
        }
    }
    for (size_t i = 0; i < pattern_table.nbuckets; i++) {
        for (const struct pubsub_topic *p = pattern_table.buckets[i]; p; p = p->next) {
            if (!util_glob_match(p->name, p->len, channel, chlen, 0)) {
                continue;
            }
            b.len = 0;
            rbuf_hdr(&b, '*', 4);
            rbuf_bulk(&b, "pmessage", 8);
            rbuf_bulk(&b, p->name, p->len);
            rbuf_bulk(&b, channel, chlen);
            rbuf_bulk(&b, msg, len);
            for (size_t k = 0; k < p->subs.n; k++) {
                deliver(p->subs.v[k], &b);
                receivers++;
            }
        }
    }
    rbuf_free(&b);
    log_debug("Published on %s to %lld subscriber(s): %.*s", channel, receivers,
              (int)(len > 200 ? 200 : len), msg ? msg : "");
    return receivers;
}

/* ---- messages from the nodes (nodesub.c) -------------------------------------- */

void
pubsub_node_message(enum nodesub_kind kind, const char *pattern, size_t plen,
                    const char *channel, size_t clen, const char *msg, size_t mlen)
{
    struct pubsub_table *t = table_of(kind);
    const char *name = kind == NODESUB_PATTERN ? pattern : channel;
    size_t len = kind == NODESUB_PATTERN ? plen : clen;
    const struct pubsub_topic *x = table_find(t, name, len, util_hash(name, len));
    struct rbuf b = {0};
    if (x == NULL) {
        return; /* its last subscriber left while the message travelled */
    }
    if (kind == NODESUB_PATTERN) {
        rbuf_hdr(&b, '*', 4);
        rbuf_bulk(&b, "pmessage", 8);
        rbuf_bulk(&b, pattern, plen);
    } else {
        rbuf_hdr(&b, '*', 3);
        if (kind == NODESUB_SHARD) {
            rbuf_bulk(&b, "smessage", 8);
        } else {
            rbuf_bulk(&b, "message", 7);
        }
    }
    rbuf_bulk(&b, channel, clen);
    rbuf_bulk(&b, msg, mlen);
    /* Delivery only appends to the sessions' output (a session over its
     * output limit is marked closing, not freed): the list stays valid. */
    for (size_t i = 0; i < x->subs.n; i++) {
        deliver(x->subs.v[i], &b);
    }
    rbuf_free(&b);
}

void
pubsub_foreach(enum nodesub_kind kind, void (*fn)(const char *name, size_t len, void *arg),
               void *arg)
{
    const struct pubsub_table *t = table_of(kind);
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (const struct pubsub_topic *x = t->buckets[i]; x; x = x->next) {
            fn(x->name, x->len, arg);
        }
    }
}

size_t
pubsub_subscribers(enum nodesub_kind kind, const char *name, size_t len)
{
    const struct pubsub_topic *x = table_find(table_of(kind), name, len, util_hash(name, len));
    return x ? x->subs.n : 0;
}

void
pubsub_receivers(enum nodesub_kind kind, const char *channel, size_t len, long long *sessions,
                 long long *names)
{
    const struct pubsub_topic *x =
        table_find(table_of(kind), channel, len, util_hash(channel, len));
    *sessions = x ? (long long)x->subs.n : 0;
    *names = x != NULL;
    if (kind == NODESUB_SHARD) {
        return;
    }
    for (size_t i = 0; i < pattern_table.nbuckets; i++) {
        for (const struct pubsub_topic *p = pattern_table.buckets[i]; p; p = p->next) {
            if (util_glob_match(p->name, p->len, channel, len, 0)) {
                *sessions += (long long)p->subs.n;
                (*names)++;
            }
        }
    }
}

size_t
pubsub_topic_count(enum nodesub_kind kind)
{
    return table_of(kind)->count;
}
