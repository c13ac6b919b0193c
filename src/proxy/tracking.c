/* CLIENT TRACKING through the proxy (see tracking.h): the tracking sessions,
 * the keys they read, and the invalidation messages they get. */
#include "proxy/tracking.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/nodesub.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
    TR_ON = 1 << 0,
    TR_BCAST = 1 << 1,
    TR_OPTIN = 1 << 2,
    TR_OPTOUT = 1 << 3,
    TR_NOLOOP = 1 << 4,
    TR_CACHING = 1 << 5,      /* CLIENT CACHING yes/no for the next command */
    TR_BROKEN_REDIR = 1 << 6, /* the redirect target left (said once) */
};

struct tr_key;

/* One tracking session.  The session owns it through its tracking field. */
struct tr_client {
    struct session *s;        /* borrowed: its session */
    unsigned opts;
    uint64_t redirect;        /* 0: none */
    char **prefixes;          /* owned array of owned strings (BCAST) */
    size_t *plens;            /* owned */
    size_t nprefixes;
    struct tr_key **keys;     /* owned array of borrowed keys it read */
    size_t nkeys, capkeys;
    char **wrote;             /* owned: NOLOOP, keys it wrote lately (owned) */
    size_t *wlens;            /* owned */
    size_t nwrote, capwrote;
    struct preq *held;        /* borrowed: CLIENT TRACKING ON's +OK, held (and the
                                 session's input with it) until the node
                                 tracks for the proxy: else what it reads
                                 meanwhile could change unannounced */
    long long held_until_ms;
};

/* A key some session read, with those sessions. */
struct tr_key {
    char *name;               /* owned */
    size_t len;
    uint64_t hash;
    struct tr_client **subs;  /* owned array of borrowed clients */
    size_t nsubs, capsubs;
    struct tr_key *next;      /* bucket chain */
};

static struct tr_client **clients; /* owned array of owned clients */
static size_t nclients, capclients;
static struct tr_key **buckets;    /* owned array of owned chains */
static size_t nbuckets, nkeys;
static size_t nheld;               /* clients whose TRACKING ON's +OK is held */

#define TR_NOLOOP_KEEP 64         /* written keys remembered per NOLOOP session */

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return p;
    }
    *cap = *cap ? *cap * 2 : 8;
    while (*cap < need) {
        *cap *= 2;
    }
    return mem_realloc(p, *cap * size);
}

static int
arg_is(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

/* ---- the key table ------------------------------------------------------------ */

static struct tr_key *
key_find(const char *name, size_t len, uint64_t h)
{
    if (nbuckets == 0) {
        return NULL;
    }
    for (struct tr_key *k = buckets[h & (nbuckets - 1)]; k; k = k->next) {
        if (k->hash == h && k->len == len && memcmp(k->name, name, len) == 0) {
            return k;
        }
    }
    return NULL;
}

static struct tr_key *
key_add(const char *name, size_t len, uint64_t h)
{
    if (nkeys >= nbuckets) {
        size_t n = nbuckets ? nbuckets * 2 : 64;
        struct tr_key **b = mem_calloc(n * sizeof(*b));
        for (size_t i = 0; i < nbuckets; i++) {
            while (buckets[i] != NULL) {
                struct tr_key *k = buckets[i];
                buckets[i] = k->next;
                k->next = b[k->hash & (n - 1)];
                b[k->hash & (n - 1)] = k;
            }
        }
        mem_free(buckets);
        buckets = b;
        nbuckets = n;
    }
    struct tr_key *k = mem_calloc(sizeof(*k));
    k->name = mem_alloc(len ? len : 1);
    memcpy(k->name, name, len);
    k->len = len;
    k->hash = h;
    k->next = buckets[h & (nbuckets - 1)];
    buckets[h & (nbuckets - 1)] = k;
    nkeys++;
    return k;
}

static void
ptr_remove(void **v, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == p) {
            v[i] = v[--*n];
            return;
        }
    }
}

/* Unlink k (its subscribers' lists no longer name it) and free it. */
static void
key_free(struct tr_key *k)
{
    struct tr_key **pp = &buckets[k->hash & (nbuckets - 1)];
    while (*pp != k) {
        pp = &(*pp)->next;
    }
    *pp = k->next;
    nkeys--;
    mem_free(k->subs);
    mem_free(k->name);
    mem_free(k);
}

/* c read key: remember it (once). */
static void
remember(struct tr_client *c, const char *name, size_t len)
{
    uint64_t h = util_hash(name, len);
    struct tr_key *k = key_find(name, len, h);
    if (k == NULL) {
        k = key_add(name, len, h);
    } else {
        for (size_t i = 0; i < k->nsubs; i++) {
            if (k->subs[i] == c) {
                return;
            }
        }
    }
    k->subs = grow(k->subs, &k->capsubs, k->nsubs + 1, sizeof(*k->subs));
    k->subs[k->nsubs++] = c;
    c->keys = grow(c->keys, &c->capkeys, c->nkeys + 1, sizeof(*c->keys));
    c->keys[c->nkeys++] = k;
}

/* c forgets every key it read. */
static void
forget_keys(struct tr_client *c)
{
    for (size_t i = 0; i < c->nkeys; i++) {
        struct tr_key *k = c->keys[i];
        ptr_remove((void **)k->subs, &k->nsubs, c);
        if (k->nsubs == 0) {
            key_free(k);
        }
    }
    c->nkeys = 0;
}

/* ---- messages ------------------------------------------------------------------ */

static struct session *
session_by_id(struct proxy *px, uint64_t id)
{
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        if (s->id == id && !(s->flags & SESSION_CLOSING)) {
            return s;
        }
    }
    return NULL;
}

/* Tell c that key (NULL: everything) changed, as Redis does: a push to a
 * RESP3 session, or a message on __redis__:invalidate to the RESP2 session
 * it redirects to (when that one is subscribed). */
static void send_invalidation_keys(struct tr_client *c, const char *const *keys,
                                   const size_t *lens, size_t n);

static void
send_invalidation(struct tr_client *c, const char *key, size_t len)
{
    send_invalidation_keys(c, key != NULL ? &key : NULL, &len, key != NULL);
}

/* Tell c that keys[0..n) changed (keys NULL: everything), in one message. */
static void
send_invalidation_keys(struct tr_client *c, const char *const *keys, const size_t *lens,
                       size_t n)
{
    struct session *to = c->s;
    struct rbuf b = {0};
    if (c->redirect != 0) {
        to = session_by_id(session_proxy(c->s), c->redirect);
        if (to == NULL) {
            if (!(c->opts & TR_BROKEN_REDIR) && session_protocol(c->s) == 3) {
                rbuf_hdr(&b, '>', 2);
                rbuf_bulk(&b, "tracking-redir-broken", 21);
                rbuf_hdr(&b, ':', (long long)c->redirect);
                session_reply(c->s, b.p, b.len);
                rbuf_free(&b);
            }
            c->opts |= TR_BROKEN_REDIR;
            return;
        }
    }
    if (session_protocol(to) == 3) {
        rbuf_hdr(&b, '>', 2);
    } else if (c->redirect != 0 && pubsub_count(to->pubsub) > 0) {
        rbuf_hdr(&b, '*', 3);
        rbuf_bulk(&b, "message", 7);
        rbuf_bulk(&b, "__redis__:invalidate", 20);
    } else {
        return; /* RESP2 without a subscribed redirect: no way to say it */
    }
    if (session_protocol(to) == 3) {
        rbuf_bulk(&b, "invalidate", 10);
    }
    if (keys == NULL) {
        rbuf_str(&b, session_protocol(to) == 3 ? "_\r\n" : "$-1\r\n");
    } else {
        rbuf_hdr(&b, '*', (long long)n);
        for (size_t i = 0; i < n; i++) {
            rbuf_bulk(&b, keys[i], lens[i]);
        }
    }
    session_reply(to, b.p, b.len);
    rbuf_free(&b);
}

/* NOLOOP: c wrote key lately (the invalidation is its own write's). */
static int
own_write(struct tr_client *c, const char *key, size_t len)
{
    for (size_t i = 0; i < c->nwrote; i++) {
        if (c->wlens[i] == len && memcmp(c->wrote[i], key, len) == 0) {
            mem_free(c->wrote[i]);
            c->wrote[i] = c->wrote[--c->nwrote];
            c->wlens[i] = c->wlens[c->nwrote];
            return 1;
        }
    }
    return 0;
}

void
tracking_invalidate(const char *const *keys, const size_t *lens, size_t n)
{
    /* Default mode: each reader of a key is told once, in a message of its
     * own per key (Redis's trackingInvalidateKey), then must read again. */
    for (size_t j = 0; j < n; j++) {
        struct tr_key *k = key_find(keys[j], lens[j], util_hash(keys[j], lens[j]));
        if (k == NULL) {
            continue;
        }
        for (size_t i = 0; i < k->nsubs; i++) {
            struct tr_client *c = k->subs[i];
            ptr_remove((void **)c->keys, &c->nkeys, k);
            if (!((c->opts & TR_NOLOOP) && own_write(c, keys[j], lens[j]))) {
                send_invalidation(c, keys[j], lens[j]);
            }
        }
        key_free(k);
    }
    /* BCAST: one message per prefix with every key of the batch under it,
     * as Redis sends them once per event loop (the node's push is one
     * loop's keys). */
    const char **got = NULL;
    size_t *glens = NULL;
    for (size_t i = 0; i < nclients; i++) {
        struct tr_client *c = clients[i];
        if (!(c->opts & TR_BCAST)) {
            continue;
        }
        for (size_t p = 0; p < c->nprefixes; p++) {
            size_t m = 0;
            for (size_t j = 0; j < n; j++) {
                if (lens[j] < c->plens[p] || memcmp(keys[j], c->prefixes[p], c->plens[p]) != 0
                    || ((c->opts & TR_NOLOOP) && own_write(c, keys[j], lens[j]))) {
                    continue;
                }
                if (got == NULL) {
                    got = mem_alloc(n * sizeof(*got));
                    glens = mem_alloc(n * sizeof(*glens));
                }
                got[m] = keys[j];
                glens[m++] = lens[j];
            }
            if (m > 0) {
                send_invalidation_keys(c, got, glens, m);
            }
        }
    }
    mem_free(got);
    mem_free(glens);
}

void
tracking_flush(int all)
{
    for (size_t i = 0; i < nclients; i++) {
        if (!all && !(clients[i]->opts & TR_BCAST) && clients[i]->nkeys == 0) {
            continue;
        }
        forget_keys(clients[i]);
        send_invalidation(clients[i], NULL, 0);
    }
}

/* ---- sessions --------------------------------------------------------------------- */

static void
client_free_state(struct tr_client *c)
{
    if (c->held != NULL) {
        c->held->done = 1; /* answered nothing: freed with its session's queue */
        c->held = NULL;
        nheld--;
    }
    forget_keys(c);
    for (size_t i = 0; i < c->nprefixes; i++) {
        mem_free(c->prefixes[i]);
    }
    for (size_t i = 0; i < c->nwrote; i++) {
        mem_free(c->wrote[i]);
    }
    mem_free(c->prefixes);
    mem_free(c->plens);
    mem_free(c->keys);
    mem_free(c->wrote);
    mem_free(c->wlens);
}

void
tracking_session_gone(struct session *s)
{
    struct tr_client *c = s->tracking;
    if (c == NULL) {
        return;
    }
    ptr_remove((void **)clients, &nclients, c);
    client_free_state(c);
    mem_free(c);
    s->tracking = NULL;
}

size_t
tracking_session_count(void)
{
    return nclients;
}

void
tracking_on_command(struct session *s, const struct command *cmd, size_t argc,
                    const struct resp_arg *argv)
{
    struct tr_client *c = s->tracking;
    if (c == NULL || !(c->opts & TR_ON)) {
        return;
    }
    unsigned caching = c->opts & TR_CACHING;
    c->opts &= ~TR_CACHING; /* CLIENT CACHING covers the next command only */
    int write = (cmd->flags & CMD_WRITE) != 0;
    int read = (cmd->flags & CMD_READONLY) != 0;
    if (!write && !read) {
        return;
    }
    if (read && (c->opts & TR_BCAST)) {
        return; /* BCAST: prefixes, not reads */
    }
    if (read && (((c->opts & TR_OPTIN) && !caching) || ((c->opts & TR_OPTOUT) && caching))) {
        return;
    }
    if (write && !(c->opts & TR_NOLOOP)) {
        return;
    }
    size_t stack_idx[16];
    size_t *idx = argc <= 16 ? stack_idx : mem_alloc(argc * sizeof(*idx));
    size_t n = command_keys(cmd, argc, argv, idx, argc <= 16 ? 16 : argc);
    for (size_t i = 0; i < n; i++) {
        const struct resp_arg *k = &argv[idx[i]];
        if (read) {
            remember(c, k->ptr, k->len);
        } else if (c->nwrote < TR_NOLOOP_KEEP) {
            c->wrote = grow(c->wrote, &c->capwrote, c->nwrote + 1, sizeof(*c->wrote));
            c->wlens = mem_realloc(c->wlens, c->capwrote * sizeof(*c->wlens));
            c->wrote[c->nwrote] = mem_alloc(k->len ? k->len : 1);
            memcpy(c->wrote[c->nwrote], k->ptr, k->len);
            c->wlens[c->nwrote++] = k->len;
        }
    }
    if (idx != stack_idx) {
        mem_free(idx);
    }
}

/* ---- CLIENT subcommands -------------------------------------------------------------- */

static int
overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
    return memcmp(a, b, alen < blen ? alen : blen) == 0;
}

/* CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT]
 * [NOLOOP], with Redis 7.0's checks in its order (the node's words). */
static void
cmd_tracking(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = session_proxy(s);
    unsigned opts = 0;
    long long redir = 0;
    size_t prefixes[64], nprefix = 0;
    for (size_t j = 3; j < argc; j++) {
        int more = j + 1 < argc;
        if (arg_is(&argv[j], "redirect") && more) {
            j++;
            if (redir != 0) {
                session_error(s, "ERR A client can only redirect to a single other client");
                return;
            }
            if (util_str2ll(argv[j].ptr, argv[j].len, &redir) != 0) {
                session_error(s, "ERR value is not an integer or out of range");
                return;
            }
            if (session_by_id(px, (uint64_t)redir) == NULL) {
                session_error(s, "ERR The client ID you want redirect to does not exist");
                return;
            }
        } else if (arg_is(&argv[j], "bcast")) {
            opts |= TR_BCAST;
        } else if (arg_is(&argv[j], "optin")) {
            opts |= TR_OPTIN;
        } else if (arg_is(&argv[j], "optout")) {
            opts |= TR_OPTOUT;
        } else if (arg_is(&argv[j], "noloop")) {
            opts |= TR_NOLOOP;
        } else if (arg_is(&argv[j], "prefix") && more && nprefix < 64) {
            prefixes[nprefix++] = ++j;
        } else {
            session_error(s, "ERR syntax error");
            return;
        }
    }
    struct tr_client *c = s->tracking;
    unsigned cur = c ? c->opts : 0;
    if (arg_is(&argv[2], "off")) {
        tracking_session_gone(s);
        session_reply(s, "+OK\r\n", 5);
        return;
    }
    if (!arg_is(&argv[2], "on")) {
        session_error(s, "ERR syntax error");
        return;
    }
    if (!(opts & TR_BCAST) && nprefix > 0) {
        session_error(s, "ERR PREFIX option requires BCAST mode to be enabled");
        return;
    }
    if ((cur & TR_ON) && !!(cur & TR_BCAST) != !!(opts & TR_BCAST)) {
        session_error(s, "ERR You can't switch BCAST mode on/off before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.");
        return;
    }
    if ((opts & TR_BCAST) && (opts & (TR_OPTIN | TR_OPTOUT))) {
        session_error(s, "ERR OPTIN and OPTOUT are not compatible with BCAST");
        return;
    }
    if ((opts & TR_OPTIN) && (opts & TR_OPTOUT)) {
        session_error(s, "ERR You can't specify both OPTIN mode and OPTOUT mode");
        return;
    }
    if (((opts & TR_OPTIN) && (cur & TR_OPTOUT)) || ((opts & TR_OPTOUT) && (cur & TR_OPTIN))) {
        session_error(s, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.");
        return;
    }
    for (size_t i = 0; i < nprefix; i++) {
        const struct resp_arg *a = &argv[prefixes[i]];
        for (size_t k = 0; c != NULL && k < c->nprefixes; k++) {
            if (overlaps(a->ptr, a->len, c->prefixes[k], c->plens[k])
                && a->len != c->plens[k]) {
                session_error(s, "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                                 "Prefixes for a single client must not overlap.",
                              (int)a->len, a->ptr, (int)c->plens[k], c->prefixes[k]);
                return;
            }
        }
        for (size_t k = i + 1; k < nprefix; k++) {
            const struct resp_arg *b = &argv[prefixes[k]];
            if (overlaps(a->ptr, a->len, b->ptr, b->len)) {
                session_error(s, "ERR Prefix '%.*s' overlaps with another provided prefix "
                                 "'%.*s'. Prefixes for a single client must not overlap.",
                              (int)a->len, a->ptr, (int)b->len, b->ptr);
                return;
            }
        }
    }
    if (c == NULL) {
        c = s->tracking = mem_calloc(sizeof(*c));
        c->s = s;
        clients = grow(clients, &capclients, nclients + 1, sizeof(*clients));
        clients[nclients++] = c;
    }
    c->opts = (c->opts & ~(TR_BCAST | TR_OPTIN | TR_OPTOUT | TR_NOLOOP | TR_BROKEN_REDIR))
              | opts | TR_ON;
    c->redirect = (uint64_t)redir;
    /* BCAST with no prefix: every key (the empty prefix). */
    size_t add = (opts & TR_BCAST) && nprefix == 0 && c->nprefixes == 0 ? 1 : nprefix;
    for (size_t i = 0; (opts & TR_BCAST) && i < add; i++) {
        const char *p = nprefix ? argv[prefixes[i]].ptr : "";
        size_t len = nprefix ? argv[prefixes[i]].len : 0;
        int have = 0;
        for (size_t k = 0; k < c->nprefixes && !have; k++) {
            have = c->plens[k] == len && memcmp(c->prefixes[k], p, len) == 0;
        }
        if (!have) {
            c->prefixes = mem_realloc(c->prefixes, (c->nprefixes + 1) * sizeof(*c->prefixes));
            c->plens = mem_realloc(c->plens, (c->nprefixes + 1) * sizeof(*c->plens));
            c->prefixes[c->nprefixes] = mem_alloc(len + 1);
            memcpy(c->prefixes[c->nprefixes], p, len);
            c->plens[c->nprefixes++] = len;
        }
    }
    if (c->held == NULL && !nodesub_tracking_ready()) {
        /* The nodes do not track for the proxy yet (the links connect
         * lazily): hold the session until they do, so that nothing it
         * reads escapes them and it needs no flush once they are up. */
        nodesub_tracking_kick();
        c->held = session_new_request(s);
        c->held_until_ms = util_mstime() + nodesub_hold_limit_ms();
        nheld++;
        session_hold_input(s, 1);
        return;
    }
    session_reply(s, "+OK\r\n", 5);
}

void
tracking_links_changed(long long now)
{
    int ready = -1;
    for (size_t i = 0; nheld > 0 && i < nclients; i++) {
        struct tr_client *c = clients[i];
        if (c->held == NULL) {
            continue;
        }
        if (ready < 0) {
            ready = nodesub_tracking_ready();
        }
        if (!ready && (now == 0 || now < c->held_until_ms)) {
            continue;
        }
        struct preq *r = c->held;
        c->held = NULL;
        nheld--;
        session_hold_input(c->s, 0);
        session_deliver(r, "+OK\r\n", 5);
    }
}

static void
cmd_caching(struct session *s, const struct resp_arg *arg)
{
    struct tr_client *c = s->tracking;
    if (c == NULL || !(c->opts & TR_ON)) {
        session_error(s, "ERR CLIENT CACHING can be called only when the client is in "
                         "tracking mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(arg, "yes")) {
        if (!(c->opts & TR_OPTIN)) {
            session_error(s, "ERR CLIENT CACHING YES is only valid when tracking is enabled "
                             "in OPTIN mode.");
            return;
        }
    } else if (arg_is(arg, "no")) {
        if (!(c->opts & TR_OPTOUT)) {
            session_error(s, "ERR CLIENT CACHING NO is only valid when tracking is enabled "
                             "in OPTOUT mode.");
            return;
        }
    } else {
        session_error(s, "ERR syntax error");
        return;
    }
    c->opts |= TR_CACHING;
    session_reply(s, "+OK\r\n", 5);
}

static long long
redirect_of(const struct session *s)
{
    const struct tr_client *c = s->tracking;
    if (c == NULL || !(c->opts & TR_ON)) {
        return -1;
    }
    return (long long)c->redirect;
}

static void
cmd_trackinginfo(struct session *s)
{
    const struct tr_client *c = s->tracking;
    unsigned o = c ? c->opts : 0;
    const char *flags[8];
    long long n = 0;
    int resp3 = session_protocol(s) == 3;
    struct rbuf b = {0};
    flags[n++] = (o & TR_ON) ? "on" : "off";
    if (o & TR_BCAST) {
        flags[n++] = "bcast";
    }
    if (o & TR_OPTIN) {
        flags[n++] = "optin";
        if (o & TR_CACHING) {
            flags[n++] = "caching-yes";
        }
    }
    if (o & TR_OPTOUT) {
        flags[n++] = "optout";
        if (o & TR_CACHING) {
            flags[n++] = "caching-no";
        }
    }
    if (o & TR_NOLOOP) {
        flags[n++] = "noloop";
    }
    if (o & TR_BROKEN_REDIR) {
        flags[n++] = "broken_redirect";
    }
    rbuf_hdr(&b, resp3 ? '%' : '*', resp3 ? 3 : 6);
    rbuf_bulk(&b, "flags", 5);
    rbuf_hdr(&b, resp3 ? '~' : '*', n);
    for (long long i = 0; i < n; i++) {
        rbuf_bulk(&b, flags[i], strlen(flags[i]));
    }
    rbuf_bulk(&b, "redirect", 8);
    rbuf_hdr(&b, ':', redirect_of(s));
    rbuf_bulk(&b, "prefixes", 8);
    size_t np = (o & TR_ON) && c ? c->nprefixes : 0;
    rbuf_hdr(&b, '*', (long long)np);
    for (size_t i = 0; i < np; i++) {
        rbuf_bulk(&b, c->prefixes[i], c->plens[i]);
    }
    rbuf_reply(s, &b);
    rbuf_free(&b);
}

int
tracking_client_command(struct session *s, int sub, size_t argc, const struct resp_arg *argv)
{
    char line[32];
    switch (sub) {
    case CMD_ID_CLIENT_TRACKING:
        cmd_tracking(s, argc, argv);
        return 1;
    case CMD_ID_CLIENT_CACHING:
        cmd_caching(s, &argv[2]);
        return 1;
    case CMD_ID_CLIENT_GETREDIR: {
        int k = snprintf(line, sizeof(line), ":%lld\r\n", redirect_of(s));
        session_reply(s, line, (size_t)k);
        return 1;
    }
    case CMD_ID_CLIENT_TRACKINGINFO:
        cmd_trackinginfo(s);
        return 1;
    default:
        return 0;
    }
}
