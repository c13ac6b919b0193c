/* Client-side caching (see tracking.h).  The table maps a key (whatever its
 * database, as in Redis) to the ids of the clients that read it; an entry
 * goes once its invalidation is sent.  BCAST clients register prefixes
 * instead: changed keys are collected per prefix and sent before the loop
 * sleeps, one message per prefix and client. */
#include "node/tracking.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/db.h"
#include "node/handlers.h"
#include "node/server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tracking_key {
    struct tracking_key *chain;      /* borrowed: next in the bucket */
    uint64_t hash;
    uint64_t *ids;                   /* owned: clients that read the key */
    size_t nids, idcap;
    size_t len;
    char key[];
};

struct bcast_key {
    size_t off, len;                 /* in the prefix's buf */
    uint64_t changer;                /* id of the client that changed it, or 0 */
};

struct tracking_prefix {
    struct tracking_prefix *next;    /* owned: the server's list */
    struct client **clients;         /* owned array of borrowed */
    size_t nclients, clientcap;
    char *buf;                       /* owned: changed keys */
    size_t blen, bcap;
    struct bcast_key *keys;          /* owned */
    size_t nkeys, keycap;
    size_t len;
    char prefix[];
};

static void *
grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return p;
    }
    size_t cap2 = *cap ? *cap * 2 : 8;
    while (cap2 < need) {
        cap2 *= 2;
    }
    *cap = cap2;
    return mem_realloc(p, cap2 * elem);
}

/* ---- finding clients ---------------------------------------------------------- */

static struct client *
tracking_client_by_id(struct server *srv, uint64_t id)
{
    struct tracking *t = &srv->tracking;
    for (size_t i = 0; i < t->nclients; i++) {
        if (t->clients[i]->id == id) {
            return t->clients[i];
        }
    }
    return NULL;
}

static struct client *
any_client_by_id(struct server *srv, uint64_t id)
{
    for (struct client *c = srv->clients; c != NULL; c = c->next) {
        if (c->id == id && !(c->flags & CLIENT_CLOSE_ASAP)) {
            return c;
        }
    }
    return NULL;
}

/* ---- messages ----------------------------------------------------------------- */

/* Start an invalidation for tracking client c: returns the connection to
 * write the keys to, or NULL when nothing can be sent (RESP2 without a
 * subscribed redirect; a redirect gone, which RESP3 clients are told). */
static struct client *
message_begin(struct client *c)
{
    struct tracking_client *tc = c->tracking;
    struct client *target = c;
    int redirected = 0;
    if (tc == NULL) {
        return NULL; /* RESET or closing: nothing to send */
    }
    if (tc->redirect != 0) {
        target = any_client_by_id(c->srv, tc->redirect);
        if (target == NULL) {
            tc->opts |= TRACKING_BROKEN_REDIR;
            if (c->resp > 2) {
                unsigned pushing = c->flags & CLIENT_PUSHING;
                c->flags |= CLIENT_PUSHING;
                reply_push_len(c, 2);
                reply_bulk(c, "tracking-redir-broken", 21);
                reply_int(c, (long long)tc->redirect);
                c->flags = (c->flags & ~CLIENT_PUSHING) | pushing;
                client_queue_write(c);
            }
            return NULL;
        }
        redirected = 1;
    }
    /* Pushes pass CLIENT REPLY OFF; message_end clears the mark. */
    target->flags |= CLIENT_PUSHING;
    if (target->resp > 2) {
        reply_push_len(target, 2);
        reply_bulk(target, "invalidate", 10);
    } else if (redirected && (target->flags & CLIENT_PUBSUB)) {
        reply_array_len(target, 3);
        reply_bulk(target, "message", 7);
        reply_bulk(target, "__redis__:invalidate", 20);
    } else {
        target->flags &= ~CLIENT_PUSHING;
        return NULL;
    }
    return target;
}

static void
message_end(struct client *target)
{
    target->flags &= ~CLIENT_PUSHING;
    client_queue_write(target);
}

static void
send_key(struct client *c, const char *key, size_t len)
{
    struct client *target = message_begin(c);
    if (target != NULL) {
        reply_array_len(target, 1);
        reply_bulk(target, key, len);
        message_end(target);
    }
}

static void
send_null(struct client *c)
{
    struct client *target = message_begin(c);
    if (target != NULL) {
        /* The null as the tracking client's protocol spells it (Redis). */
        if (c->resp > 2) {
            reply_raw(target, "_\r\n", 3);
        } else {
            reply_raw(target, "$-1\r\n", 5);
        }
        message_end(target);
    }
}

/* ---- the table ---------------------------------------------------------------- */

static struct tracking_key *
table_find(struct tracking *t, const char *key, size_t len, uint64_t h,
           struct tracking_key ***where)
{
    if (t->size == 0) {
        return NULL;
    }
    struct tracking_key **p = &t->buckets[h & (t->size - 1)];
    for (; *p != NULL; p = &(*p)->chain) {
        if ((*p)->hash == h && (*p)->len == len && memcmp((*p)->key, key, len) == 0) {
            if (where) {
                *where = p;
            }
            return *p;
        }
    }
    return NULL;
}

static void
table_grow(struct tracking *t)
{
    size_t size = t->size ? t->size * 2 : 64;
    struct tracking_key **b = mem_calloc(size * sizeof(*b));
    for (size_t i = 0; i < t->size; i++) {
        struct tracking_key *k = t->buckets[i];
        while (k != NULL) {
            struct tracking_key *next = k->chain;
            k->chain = b[k->hash & (size - 1)];
            b[k->hash & (size - 1)] = k;
            k = next;
        }
    }
    mem_free(t->buckets);
    t->buckets = b;
    t->size = size;
}

static void
table_clear(struct tracking *t)
{
    for (size_t i = 0; i < t->size; i++) {
        struct tracking_key *k = t->buckets[i];
        while (k != NULL) {
            struct tracking_key *next = k->chain;
            mem_free(k->ids);
            mem_free(k);
            k = next;
        }
        t->buckets[i] = NULL;
    }
    t->count = 0;
}

static void
remember_key(struct tracking *t, uint64_t id, const char *key, size_t len)
{
    uint64_t h = util_hash(key, len);
    struct tracking_key *k = table_find(t, key, len, h, NULL);
    if (k == NULL) {
        if (t->count >= t->size) {
            table_grow(t);
        }
        k = mem_calloc(sizeof(*k) + len);
        k->hash = h;
        k->len = len;
        memcpy(k->key, key, len);
        k->chain = t->buckets[h & (t->size - 1)];
        t->buckets[h & (t->size - 1)] = k;
        t->count++;
    }
    for (size_t i = 0; i < k->nids; i++) {
        if (k->ids[i] == id) {
            return;
        }
    }
    k->ids = grow(k->ids, &k->idcap, k->nids + 1, sizeof(*k->ids));
    k->ids[k->nids++] = id;
}

static void
pending_add(struct tracking *t, const char *key, size_t len)
{
    t->pbuf = grow(t->pbuf, &t->pcap, t->plen + len, 1);
    memcpy(t->pbuf + t->plen, key, len);
    t->pending = grow(t->pending, &t->pendcap, t->npending + 1, sizeof(*t->pending));
    t->pending[t->npending++] = ((uint64_t)t->plen << 32) | len;
    t->plen += len;
}

static void
bcast_collect(struct tracking *t, const char *key, size_t len)
{
    for (struct tracking_prefix *p = t->prefixes; p != NULL; p = p->next) {
        if (len < p->len || memcmp(key, p->prefix, p->len) != 0) {
            continue;
        }
        p->buf = grow(p->buf, &p->bcap, p->blen + len, 1);
        memcpy(p->buf + p->blen, key, len);
        p->keys = grow(p->keys, &p->keycap, p->nkeys + 1, sizeof(*p->keys));
        p->keys[p->nkeys].off = p->blen;
        p->keys[p->nkeys].len = len;
        p->keys[p->nkeys].changer = t->current ? t->current->id : 0;
        p->nkeys++;
        p->blen += len;
    }
}

static void drop_key(struct server *srv, struct tracking_key *k,
                     struct tracking_key **where);

static void
invalidate_key(struct server *srv, const char *key, size_t len)
{
    struct tracking *t = &srv->tracking;
    if (t->prefixes != NULL) {
        bcast_collect(t, key, len);
    }
    struct tracking_key **where = NULL;
    struct tracking_key *k = table_find(t, key, len, util_hash(key, len), &where);
    if (k == NULL) {
        return;
    }
    drop_key(srv, k, where);
}

/* tracking-table-max-keys: over the limit, keys chosen at random are
 * invalidated (their readers told, as if they changed) until the table is
 * back under it, as Redis does before each command; at most 100 keys per
 * call more for each call in a row that could not finish, so that lowering
 * the limit on a big table does not stall one command. */
static void
limit_table(struct server *srv)
{
    struct tracking *t = &srv->tracking;
    size_t max = (size_t)srv->cfg.tracking_table_max_keys;
    long effort;

    if (max == 0 || t->count <= max) {
        t->limit_rounds = 0;
        return;
    }
    effort = 100L * (long)(t->limit_rounds + 1);
    while (effort-- > 0 && t->count > max) {
        size_t b = (size_t)random() & (t->size - 1);
        while (t->buckets[b] == NULL) {
            b = (b + 1) & (t->size - 1);
        }
        drop_key(srv, t->buckets[b], &t->buckets[b]);
    }
    t->limit_rounds = t->count > max ? t->limit_rounds + 1 : 0;
}

/* Unlink k (at *where) and send its invalidation to the clients that read
 * it; the running command's client hears it after its reply. */
static void
drop_key(struct server *srv, struct tracking_key *k, struct tracking_key **where)
{
    struct tracking *t = &srv->tracking;
    *where = k->chain;
    t->count--;
    for (size_t i = 0; i < k->nids; i++) {
        struct client *target = tracking_client_by_id(srv, k->ids[i]);
        if (target == NULL || (target->tracking->opts & TRACKING_BCAST)) {
            continue;
        }
        if (target == t->current) {
            if (!(target->tracking->opts & TRACKING_NOLOOP)) {
                pending_add(t, k->key, k->len);
            }
            continue;
        }
        send_key(target, k->key, k->len);
    }
    mem_free(k->ids);
    mem_free(k);
}

static void
on_keyspace_change(void *ctx, struct db *db, const char *key, size_t len,
                   enum keyspace_change what)
{
    struct server *srv = ctx;
    struct tracking *t = &srv->tracking;
    (void)db;
    if (t->nclients == 0) {
        return;
    }
    if (what == KEYSPACE_FLUSHED) {
        table_clear(t);
        if (t->current != NULL) {
            t->flush_pending = 1;
        } else {
            for (size_t i = 0; i < t->nclients; i++) {
                send_null(t->clients[i]);
            }
        }
        return;
    }
    invalidate_key(srv, key, len);
}

/* ---- the call path ------------------------------------------------------------- */

void
tracking_call_begin(struct client *c)
{
    struct tracking *t = &c->srv->tracking;
    if (t->count > 0 && c->srv->cfg.tracking_table_max_keys > 0
        && t->count > (size_t)c->srv->cfg.tracking_table_max_keys) {
        limit_table(c->srv);
    }
    t->current = c;
}

void
tracking_command_done(struct client *c, const struct command *cmd)
{
    struct tracking_client *tc = c->tracking;
    if (tc == NULL || !(tc->opts & TRACKING_ON) || (tc->opts & TRACKING_BCAST)
        || !(cmd->flags & CMD_READONLY) || c->cmd_errors > 0) {
        return;
    }
    int caching = (tc->opts & TRACKING_CACHING) != 0;
    if (((tc->opts & TRACKING_OPTIN) && !caching) || ((tc->opts & TRACKING_OPTOUT) && caching)) {
        return;
    }
    size_t idx[64];
    size_t *pos = c->argc <= 64 ? idx : mem_alloc(c->argc * sizeof(*pos));
    size_t n = command_keys(cmd, c->argc, c->argv, pos, c->argc <= 64 ? 64 : c->argc);
    for (size_t i = 0; i < n; i++) {
        remember_key(&c->srv->tracking, c->id, c->argv[pos[i]].ptr, c->argv[pos[i]].len);
    }
    if (pos != idx) {
        mem_free(pos);
    }
}

/* tracking_call_end's work when there is some, out of line so that the
 * usual call (nobody tracks, nothing to send) costs no prologue. */
static void __attribute__((noinline))
call_end_send(struct client *c, const struct command *cmd, struct tracking *t)
{
    if (t->flush_pending) {
        t->flush_pending = 0;
        for (size_t i = 0; i < t->nclients; i++) {
            send_null(t->clients[i]);
        }
    }
    for (size_t i = 0; i < t->npending; i++) {
        send_key(c, t->pbuf + (t->pending[i] >> 32), (size_t)(t->pending[i] & 0xffffffffu));
    }
    t->npending = 0;
    t->plen = 0;
    /* CLIENT CACHING applies to the next command only. */
    if (c->tracking != NULL && cmd != NULL && cmd->id != CMD_ID_CLIENT_CACHING
        && !(c->flags & CLIENT_MULTI)) {
        c->tracking->opts &= ~TRACKING_CACHING;
    }
}

void
tracking_call_end(struct client *c, const struct command *cmd)
{
    struct tracking *t = &c->srv->tracking;
    t->current = NULL;
    if (!t->flush_pending && t->npending == 0 && c->tracking == NULL) {
        t->plen = 0;
        return;
    }
    call_end_send(c, cmd, t);
}

void
tracking_before_sleep(struct server *srv)
{
    for (struct tracking_prefix *p = srv->tracking.prefixes; p != NULL; p = p->next) {
        if (p->nkeys == 0) {
            continue;
        }
        for (size_t i = 0; i < p->nclients; i++) {
            struct client *c = p->clients[i];
            int noloop = (c->tracking->opts & TRACKING_NOLOOP) != 0;
            size_t n = 0;
            for (size_t j = 0; j < p->nkeys; j++) {
                n += !(noloop && p->keys[j].changer == c->id);
            }
            if (n == 0) {
                continue;
            }
            struct client *target = message_begin(c);
            if (target == NULL) {
                continue;
            }
            reply_array_len(target, (long long)n);
            for (size_t j = 0; j < p->nkeys; j++) {
                if (!(noloop && p->keys[j].changer == c->id)) {
                    reply_bulk(target, p->buf + p->keys[j].off, p->keys[j].len);
                }
            }
            message_end(target);
        }
        p->nkeys = 0;
        p->blen = 0;
    }
}

/* ---- enabling and disabling ----------------------------------------------------- */

static struct tracking_prefix *
prefix_get(struct tracking *t, const char *s, size_t len)
{
    for (struct tracking_prefix *p = t->prefixes; p != NULL; p = p->next) {
        if (p->len == len && memcmp(p->prefix, s, len) == 0) {
            return p;
        }
    }
    struct tracking_prefix *p = mem_calloc(sizeof(*p) + len);
    p->len = len;
    memcpy(p->prefix, s, len);
    p->next = t->prefixes;
    t->prefixes = p;
    return p;
}

static void
prefix_drop_client(struct tracking *t, struct tracking_prefix *p, struct client *c)
{
    for (size_t i = 0; i < p->nclients; i++) {
        if (p->clients[i] == c) {
            memmove(p->clients + i, p->clients + i + 1,
                    (p->nclients - i - 1) * sizeof(*p->clients));
            p->nclients--;
            break;
        }
    }
    if (p->nclients > 0) {
        return;
    }
    struct tracking_prefix **pp = &t->prefixes;
    while (*pp != p) {
        pp = &(*pp)->next;
    }
    *pp = p->next;
    mem_free(p->clients);
    mem_free(p->buf);
    mem_free(p->keys);
    mem_free(p);
}

static void
disable(struct client *c)
{
    struct tracking *t = &c->srv->tracking;
    struct tracking_client *tc = c->tracking;
    if (tc == NULL || !(tc->opts & TRACKING_ON)) {
        return;
    }
    for (size_t i = 0; i < tc->nprefixes; i++) {
        prefix_drop_client(t, tc->prefixes[i], c);
    }
    tc->nprefixes = 0;
    tc->prefix_mem = 0;
    tc->opts = 0;
    tc->redirect = 0;
    for (size_t i = 0; i < t->nclients; i++) {
        if (t->clients[i] == c) {
            t->clients[i] = t->clients[--t->nclients];
            break;
        }
    }
    c->flags &= ~CLIENT_TRACKING;
}

void
tracking_client_gone(struct client *c)
{
    if (c->tracking == NULL) {
        return;
    }
    disable(c);
    if (c->srv->tracking.current == c) {
        c->srv->tracking.current = NULL;
    }
    mem_free(c->tracking->prefixes);
    mem_free(c->tracking);
    c->tracking = NULL;
}

size_t
tracking_client_mem(const struct client *c)
{
    const struct tracking_client *tc = c->tracking;
    if (tc == NULL) {
        return 0;
    }
    return sizeof(*tc) + tc->prefixcap * sizeof(*tc->prefixes) + tc->prefix_mem;
}

void
tracking_stats(const struct server *srv, long long *clients, long long *keys,
               long long *items, long long *prefixes)
{
    const struct tracking *t = &srv->tracking;
    *clients = (long long)t->nclients;
    *keys = (long long)t->count;
    *items = 0;
    for (size_t i = 0; i < t->size; i++) {
        for (const struct tracking_key *k = t->buckets[i]; k != NULL; k = k->chain) {
            *items += (long long)k->nids;
        }
    }
    *prefixes = 0;
    for (const struct tracking_prefix *p = t->prefixes; p != NULL; p = p->next) {
        (*prefixes)++;
    }
}

long long
tracking_redirect_of(const struct client *c)
{
    if (c->tracking == NULL || !(c->tracking->opts & TRACKING_ON)) {
        return -1;
    }
    return (long long)c->tracking->redirect;
}

static int
arg_is(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static int
overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    return memcmp(a, b, n) == 0;
}

/* CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT]
 * [NOLOOP], with Redis 7.0's checks in its order. */
void
cmd_client_tracking(struct client *c)
{
    struct server *srv = c->srv;
    unsigned opts = 0;
    long long redir = 0;
    size_t prefixes[64], nprefix = 0;

    for (size_t j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (arg_is(&c->argv[j], "redirect") && more) {
            j++;
            if (redir != 0) {
                reply_error(c, "A client can only redirect to a single other client");
                return;
            }
            if (util_str2ll(c->argv[j].ptr, c->argv[j].len, &redir) != 0) {
                reply_error(c, "value is not an integer or out of range");
                return;
            }
            if (any_client_by_id(srv, (uint64_t)redir) == NULL) {
                reply_error(c, "The client ID you want redirect to does not exist");
                return;
            }
        } else if (arg_is(&c->argv[j], "bcast")) {
            opts |= TRACKING_BCAST;
        } else if (arg_is(&c->argv[j], "optin")) {
            opts |= TRACKING_OPTIN;
        } else if (arg_is(&c->argv[j], "optout")) {
            opts |= TRACKING_OPTOUT;
        } else if (arg_is(&c->argv[j], "noloop")) {
            opts |= TRACKING_NOLOOP;
        } else if (arg_is(&c->argv[j], "prefix") && more && nprefix < 64) {
            prefixes[nprefix++] = ++j;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    struct tracking_client *tc = c->tracking;
    unsigned cur = tc ? tc->opts : 0;
    if (arg_is(&c->argv[2], "off")) {
        disable(c);
        reply_ok(c);
        return;
    }
    if (!arg_is(&c->argv[2], "on")) {
        reply_syntax_error(c);
        return;
    }
    if (!(opts & TRACKING_BCAST) && nprefix > 0) {
        reply_error(c, "PREFIX option requires BCAST mode to be enabled");
        return;
    }
    if ((cur & TRACKING_ON) && !!(cur & TRACKING_BCAST) != !!(opts & TRACKING_BCAST)) {
        reply_error(c, "You can't switch BCAST mode on/off before disabling tracking for "
                       "this client, and then re-enabling it with a different mode.");
        return;
    }
    if ((opts & TRACKING_BCAST) && (opts & (TRACKING_OPTIN | TRACKING_OPTOUT))) {
        reply_error(c, "OPTIN and OPTOUT are not compatible with BCAST");
        return;
    }
    if ((opts & TRACKING_OPTIN) && (opts & TRACKING_OPTOUT)) {
        reply_error(c, "You can't specify both OPTIN mode and OPTOUT mode");
        return;
    }
    if (((opts & TRACKING_OPTIN) && (cur & TRACKING_OPTOUT))
        || ((opts & TRACKING_OPTOUT) && (cur & TRACKING_OPTIN))) {
        reply_error(c, "You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                       "this client, and then re-enabling it with a different mode.");
        return;
    }
    if (opts & TRACKING_BCAST) {
        for (size_t i = 0; i < nprefix; i++) {
            const struct resp_arg *a = &c->argv[prefixes[i]];
            for (size_t k = 0; tc != NULL && k < tc->nprefixes; k++) {
                const struct tracking_prefix *p = tc->prefixes[k];
                if (overlaps(a->ptr, a->len, p->prefix, p->len)
                    && !(a->len == p->len)) {
                    reply_errorf(c, "Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                                    "Prefixes for a single client must not overlap.",
                                 (int)a->len, a->ptr, (int)p->len, p->prefix);
                    return;
                }
            }
            for (size_t k = i + 1; k < nprefix; k++) {
                const struct resp_arg *b = &c->argv[prefixes[k]];
                if (overlaps(a->ptr, a->len, b->ptr, b->len)) {
                    reply_errorf(c, "Prefix '%.*s' overlaps with another provided prefix "
                                    "'%.*s'. Prefixes for a single client must not overlap.",
                                 (int)a->len, a->ptr, (int)b->len, b->ptr);
                    return;
                }
            }
        }
    }
    if (tc == NULL) {
        tc = c->tracking = mem_calloc(sizeof(*tc));
    }
    struct tracking *t = &srv->tracking;
    if (!(tc->opts & TRACKING_ON)) {
        t->clients = grow(t->clients, &t->clientcap, t->nclients + 1, sizeof(*t->clients));
        t->clients[t->nclients++] = c;
    }
    tc->opts = (tc->opts & ~(TRACKING_BCAST | TRACKING_OPTIN | TRACKING_OPTOUT | TRACKING_NOLOOP
                             | TRACKING_BROKEN_REDIR)) | opts | TRACKING_ON;
    tc->redirect = (uint64_t)redir;
    c->flags |= CLIENT_TRACKING;
    if (opts & TRACKING_BCAST) {
        if (nprefix == 0 && tc->nprefixes == 0) {
            struct tracking_prefix *p = prefix_get(t, "", 0);
            p->clients = grow(p->clients, &p->clientcap, p->nclients + 1, sizeof(*p->clients));
            p->clients[p->nclients++] = c;
            tc->prefixes = grow(tc->prefixes, &tc->prefixcap, tc->nprefixes + 1,
                                sizeof(*tc->prefixes));
            tc->prefixes[tc->nprefixes++] = p;
            tc->prefix_mem += sizeof(*p) + 2 * sizeof(void *);
        }
        for (size_t i = 0; i < nprefix; i++) {
            const struct resp_arg *a = &c->argv[prefixes[i]];
            struct tracking_prefix *p = prefix_get(t, a->ptr, a->len);
            int have = 0;
            for (size_t k = 0; k < tc->nprefixes && !have; k++) {
                have = tc->prefixes[k] == p;
            }
            if (have) {
                continue;
            }
            p->clients = grow(p->clients, &p->clientcap, p->nclients + 1, sizeof(*p->clients));
            p->clients[p->nclients++] = c;
            tc->prefixes = grow(tc->prefixes, &tc->prefixcap, tc->nprefixes + 1,
                                sizeof(*tc->prefixes));
            tc->prefixes[tc->nprefixes++] = p;
            tc->prefix_mem += sizeof(*p) + p->len + 2 * sizeof(void *);
        }
    }
    reply_ok(c);
}

void
cmd_client_caching(struct client *c)
{
    struct tracking_client *tc = c->tracking;
    if (tc == NULL || !(tc->opts & TRACKING_ON)) {
        reply_error(c, "CLIENT CACHING can be called only when the client is in tracking "
                       "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(&c->argv[2], "yes")) {
        if (!(tc->opts & TRACKING_OPTIN)) {
            reply_error(c, "CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.");
            return;
        }
    } else if (arg_is(&c->argv[2], "no")) {
        if (!(tc->opts & TRACKING_OPTOUT)) {
            reply_error(c, "CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.");
            return;
        }
    } else {
        reply_syntax_error(c);
        return;
    }
    tc->opts |= TRACKING_CACHING;
    reply_ok(c);
}

void
cmd_client_getredir(struct client *c)
{
    reply_int(c, tracking_redirect_of(c));
}

void
cmd_client_trackinginfo(struct client *c)
{
    struct tracking_client *tc = c->tracking;
    unsigned o = tc ? tc->opts : 0;
    const char *flags[8];
    long long n = 0;
    flags[n++] = (o & TRACKING_ON) ? "on" : "off";
    if (o & TRACKING_BCAST) {
        flags[n++] = "bcast";
    }
    if (o & TRACKING_OPTIN) {
        flags[n++] = "optin";
        if (o & TRACKING_CACHING) {
            flags[n++] = "caching-yes";
        }
    }
    if (o & TRACKING_OPTOUT) {
        flags[n++] = "optout";
        if (o & TRACKING_CACHING) {
            flags[n++] = "caching-no";
        }
    }
    if (o & TRACKING_NOLOOP) {
        flags[n++] = "noloop";
    }
    if (o & TRACKING_BROKEN_REDIR) {
        flags[n++] = "broken_redirect";
    }
    reply_map_len(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_set_len(c, n);
    for (long long i = 0; i < n; i++) {
        reply_bulk_cstr(c, flags[i]);
    }
    reply_bulk_cstr(c, "redirect");
    reply_int(c, tracking_redirect_of(c));
    reply_bulk_cstr(c, "prefixes");
    size_t np = (o & TRACKING_ON) && tc ? tc->nprefixes : 0;
    reply_array_len(c, (long long)np);
    for (size_t i = 0; i < np; i++) {
        reply_bulk(c, tc->prefixes[i]->prefix, tc->prefixes[i]->len);
    }
}

void
tracking_setup(struct server *srv)
{
    memset(&srv->tracking, 0, sizeof(srv->tracking));
    keyspace_listen(&srv->ks, on_keyspace_change, srv, &srv->tracking.nclients);
}

void
tracking_teardown(struct server *srv)
{
    struct tracking *t = &srv->tracking;
    table_clear(t);
    mem_free(t->buckets);
    while (t->prefixes != NULL) {
        struct tracking_prefix *p = t->prefixes;
        t->prefixes = p->next;
        mem_free(p->clients);
        mem_free(p->buf);
        mem_free(p->keys);
        mem_free(p);
    }
    mem_free(t->clients);
    mem_free(t->pending);
    mem_free(t->pbuf);
    memset(t, 0, sizeof(*t));
}
