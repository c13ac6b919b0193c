/* Functions the proxy never saw loaded (script.c's overview): a FCALL
 * answered "Function not found" held while the nodes are asked which
 * library defines the function, then repaired or answered. */
#include "proxy/script.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/proxy.h"
#include "proxy/script_int.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Functions the proxy never saw loaded: the lookup of one name on the
 * nodes, and the names recently found nowhere. */
#define FN_LOOKUPS_MAX 32        /* lookups in flight; past it, the node's error */
#define FN_MISS_TTL_MS 1000      /* ... for this long: a function loaded on a
                                    node later is found after at most this */

struct fn_waiter {
    struct preq *r;              /* borrowed: a client's FCALL on its session's
                                    FIFO (r->s NULL once the session left: then
                                    ours to free, through session_deliver); or
                                    a transaction's internal request, answered
                                    "+OK" when a library was learned */
    int internal;                /* r is a transaction's internal request */
    char *reply;                 /* owned: the node's "Function not found" */
    size_t len;
    int mine;                    /* r->retry_frame is script.c's (freed here) */
    int ack;                     /* write-ack: r's first WAIT was detached; a
                                    new one follows the call sent again */
    struct backend *pinned;      /* borrowed: the transaction connection r came
                                    back on (a FCALL between WATCH and MULTI),
                                    NULL when pooled; the call goes again on
                                    it, or not at all */
    struct fn_waiter *next;
};

struct fn_lookup {
    char *name;                  /* owned: the function */
    size_t len;
    int phase;                   /* 1: the groups' masters; 2: the replicas */
    int left;                    /* FUNCTION LIST replies still expected */
    long long best;              /* rank of the node that defines it (lower
                                    wins), -1 while none */
    char *lib, *code, *fns;      /* owned: the best node's library, its
                                    functions' names */
    size_t lib_len, code_len, fns_len;
    char best_node[300];         /* for the log */
    struct fn_waiter *waiters;   /* owned list, oldest first */
    struct fn_waiter **wtail;
    struct proxy *px;            /* borrowed */
    struct fn_lookup *next;      /* the cache's list */
};

/* ---- functions the proxy never saw loaded -------------------------------------- */

/* A FCALL answered "Function not found" for a function no library loaded
 * through the proxy defines: the library may have been loaded on one node
 * directly (redis-cli to a master), or the node restarted without it.  The
 * proxy asks the deployment: FUNCTION LIST WITHCODE of every group's master,
 * then, when none defines the function, of every replica.  The code is the
 * library's source as loaded, so FUNCTION LOAD REPLACE of it on the node
 * that lacks it gives a byte-exact library (FUNCTION DUMP's payload would
 * bring every library of the node, over the ones the node has).  When
 * nodes disagree, the one ranked first wins, the same on every proxy: the
 * masters in group order, then the replicas in the order configured (a
 * replica's copy came from its master).  The version loaded is one that
 * defines the function called; the proxy's copy of a library loaded
 * through it stays what its own repair loads (a learned library does not
 * replace it).  The call, which did not run, is then sent once more, as
 * script.c's repair, and the library is kept as learned: a transaction's
 * FCALL loads it on the master before EXEC (without REPLACE) as the
 * proxy's own.
 *
 * Bounded: one lookup per function name at a time (later calls wait on
 * it), at most FN_LOOKUPS_MAX of them, each request bounded by
 * backend-timeout-ms (a node that does not answer closes its connection,
 * which fails the request); a name found nowhere is remembered for
 * FN_MISS_TTL_MS, during which its calls get the node's error with no
 * extra round trip; a FUNCTION LOAD or RESTORE through the proxy forgets
 * them. */

static const char fn_list[] = "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLIST\r\n$8\r\nWITHCODE\r\n";

/* The library of a FUNCTION LIST WITHCODE reply that defines fn: 1 and
 * *out set, with its functions' names in *fns (owned by the caller), when
 * one does. */
static int
listed_find(const char *p, size_t len, const char *fn, size_t fnlen, struct listed_lib *out,
            char **fns, size_t *fns_len)
{
    const char *end = p + len, *q;
    if (len < 4 || p[0] != '*' || (q = memchr(p, '\n', len)) == NULL) {
        return 0;
    }
    long long nlibs = strtoll(p + 1, NULL, 10);
    q++;
    for (long long i = 0; i < nlibs && q < end; i++) {
        size_t used = script_listed_at(q, end, out);
        if (used == 0) {
            return 0;
        }
        *fns = out->name != NULL && out->code != NULL ? script_fns_collect(out, fns_len) : NULL;
        if (script_names_have(*fns, *fns_len, fn, fnlen)) {
            return 1;
        }
        mem_free(*fns);
        *fns = NULL;
        q += used;
    }
    return 0;
}

static struct fn_miss *
miss_find(struct script_cache *c, const char *name, size_t len)
{
    for (size_t i = 0; i < FN_MISSES_MAX; i++) {
        struct fn_miss *m = &c->misses[i];
        if (m->name != NULL && m->len == len && memcmp(m->name, name, len) == 0) {
            return m;
        }
    }
    return NULL;
}

/* Remember name as found nowhere (the oldest slot goes when all are
 * taken). */
static void
miss_add(struct script_cache *c, const char *name, size_t len)
{
    struct fn_miss *m = miss_find(c, name, len);
    if (m == NULL) {
        m = &c->misses[c->miss_next];
        c->miss_next = (c->miss_next + 1) % FN_MISSES_MAX;
        mem_free(m->name);
        m->name = mem_strndup(name, len);
        m->len = len;
    }
    m->until_ms = util_mstime() + FN_MISS_TTL_MS;
}

void
script_misses_clear(struct script_cache *c)
{
    for (size_t i = 0; c != NULL && i < FN_MISSES_MAX; i++) {
        mem_free(c->misses[i].name);
        c->misses[i].name = NULL;
    }
}

static void on_list_reply(struct preq *q, const char *reply, size_t len);

/* Ask every node of this phase (masters, or replicas) that is up; returns
 * how many requests went out. */
static int
lookup_send(struct fn_lookup *lk)
{
    struct proxy *px = lk->px;
    int sent = 0;
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        int master = n->group->master == n;
        if (!n->up || (lk->phase == 1) != master) {
            continue;
        }
        struct preq *q = mem_calloc(sizeof(*q));
        q->on_reply = on_list_reply;
        q->ctx = lk;
        lk->left++;
        if (backend_send(px, n, NULL, q, fn_list, sizeof(fn_list) - 1) != 0) {
            lk->left--;
            mem_free(q);
            continue;
        }
        sent++;
    }
    return sent;
}

static void
waiter_answer(struct fn_waiter *w, const struct repair_load *what, int repair)
{
    struct preq *r = w->r;
    if (w->internal) {
        static const char ok[] = "+OK\r\n", none[] = "-ERR Function not found\r\n";
        if (what->code != NULL) {
            session_deliver(r, ok, sizeof(ok) - 1);
        } else {
            session_deliver(r, none, sizeof(none) - 1);
        }
    } else if (!(repair && r->s != NULL && r->node->px->shutdown_asap == 0
                 && (w->pinned == NULL
                     || (w->pinned->fd >= 0 && w->pinned->txn_owner == r->s))
                 && script_resend(r, w->pinned, what, w->ack))) {
        /* Nothing to load, or it cannot be: the node's own answer. */
        if (w->mine) {
            script_drop_frame(r);
        }
        session_deliver(r, w->reply, w->len);
    } else if (w->mine) {
        script_drop_frame(r);
    }
    mem_free(w->reply);
    mem_free(w);
}

static void
lookup_free(struct fn_lookup *lk)
{
    struct script_cache *c = lk->px->scripts;
    for (struct fn_lookup **pp = &c->lookups; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == lk) {
            *pp = lk->next;
            c->nlookups--;
            break;
        }
    }
    mem_free(lk->name);
    mem_free(lk->lib);
    mem_free(lk->code);
    mem_free(lk->fns);
    mem_free(lk);
}

/* Every node asked has answered: load what was found on each waiter's
 * node and call again, or answer with the node's error. */
static void
lookup_finish(struct fn_lookup *lk)
{
    struct proxy *px = lk->px;
    struct repair_load what = {0};
    int found = lk->best >= 0, repair = found;
    if (found) {
        what.code = lk->code;
        what.code_len = lk->code_len;
        script_lib_learn(px, lk->lib, lk->lib_len, lk->code, lk->code_len, 1, lk->fns, lk->fns_len);
        lk->fns = NULL;
        log_info("Function %.*s: library %.*s found on %s; loading it where it is missing",
                 (int)lk->len, lk->name, (int)lk->lib_len, lk->lib, lk->best_node);
    } else {
        miss_add(px->scripts, lk->name, lk->len);
        /* The proxy's own libraries may still bring it (a node restarted
         * empty, the only one that had them). */
        repair = script_own_libs_known(px);
        log_debug("Function %.*s found on no node", (int)lk->len, lk->name);
    }
    while (lk->waiters != NULL) {
        struct fn_waiter *w = lk->waiters;
        lk->waiters = w->next;
        waiter_answer(w, &what, repair);
    }
    lookup_free(lk);
}

static void
on_list_reply(struct preq *q, const char *reply, size_t len)
{
    struct fn_lookup *lk = q->ctx;
    struct proxy *px = lk->px;
    struct listed_lib l;
    char *fns;
    size_t fns_len;
    if (q->node != NULL && listed_find(reply, len, lk->name, lk->len, &l, &fns, &fns_len)) {
        long long rank = 0;
        if (lk->phase == 1) {
            rank = (long long)(q->node->group - px->groups);
        } else {
            for (size_t i = 0; i < px->nnodes && px->nodes[i] != q->node; i++) {
                rank = (long long)i + 1;
            }
        }
        if (lk->best < 0 || rank < lk->best) {
            lk->best = rank;
            mem_free(lk->lib);
            mem_free(lk->code);
            lk->lib = script_dup_reply(l.name, l.name_len);
            lk->lib_len = l.name_len;
            lk->code = script_dup_reply(l.code, l.code_len);
            lk->code_len = l.code_len;
            mem_free(lk->fns);
            lk->fns = fns;
            lk->fns_len = fns_len;
            fns = NULL;
            snprintf(lk->best_node, sizeof(lk->best_node), "%s", q->node->name);
        }
        mem_free(fns);
    }
    if (--lk->left > 0) {
        return;
    }
    if (lk->best < 0 && lk->phase == 1 && !px->shutdown_asap) {
        lk->phase = 2;
        lk->left++; /* held while the requests go out */
        lookup_send(lk);
        if (--lk->left > 0) {
            return;
        }
    }
    lookup_finish(lk);
}

/* The lookup of function fn: the one in flight, else a new one.  NULL
 * when none is worth it: the name was found nowhere a moment ago, too many
 * lookups are in flight, or no node can be asked. */
static struct fn_lookup *
lookup_get(struct proxy *px, const char *fn, size_t fnlen)
{
    struct script_cache *c = script_cache_of(px);
    if (px->shutdown_asap) {
        return NULL;
    }
    struct fn_miss *m = miss_find(c, fn, fnlen);
    if (m != NULL && m->until_ms > util_mstime()) {
        return NULL;
    }
    struct fn_lookup *lk = c->lookups;
    while (lk != NULL && !(lk->len == fnlen && memcmp(lk->name, fn, fnlen) == 0)) {
        lk = lk->next;
    }
    if (lk != NULL) {
        return lk;
    }
    if (c->nlookups >= FN_LOOKUPS_MAX) {
        return NULL;
    }
    lk = mem_calloc(sizeof(*lk));
    lk->px = px;
    lk->name = mem_strndup(fn, fnlen);
    lk->len = fnlen;
    lk->phase = 1;
    lk->best = -1;
    lk->wtail = &lk->waiters;
    lk->left = 1; /* held while the requests go out */
    lookup_send(lk);
    if (lk->left == 1) {
        lk->phase = 2;
        lookup_send(lk);
    }
    lk->left--;
    if (lk->left == 0) {
        mem_free(lk->name);
        mem_free(lk);
        return NULL;
    }
    lk->next = c->lookups;
    c->lookups = lk;
    c->nlookups++;
    return lk;
}

static struct fn_waiter *
lookup_wait(struct fn_lookup *lk, struct preq *r)
{
    struct fn_waiter *w = mem_calloc(sizeof(*w));
    w->r = r;
    *lk->wtail = w;
    lk->wtail = &w->next;
    return w;
}

/* r got "Function not found" (reply) for a function the proxy may never
 * have seen loaded: hold it on the lookup of that name.  Returns 0 when r
 * is not held (lookup_get found none worth it). */
int
script_fn_hold(struct preq *r, const char *reply, size_t len, int mine)
{
    const char *fn;
    size_t fnlen;
    struct fn_lookup *lk;
    if (script_frame_arg1(r->retry_frame, r->retry_len, &fn, &fnlen) != 0
        || (lk = lookup_get(r->node->px, fn, fnlen)) == NULL) {
        return 0;
    }
    struct fn_waiter *w = lookup_wait(lk, r);
    w->reply = script_dup_reply(reply, len);
    w->len = len;
    w->mine = mine;
    if (r->backend != NULL && r->backend->txn_owner != NULL && r->backend->txn_owner == r->s) {
        /* Watching: the call runs again in order on its transaction's
         * connection (the session's next requests wait for it: txn.c), never
         * on another one, where it could follow the EXEC. */
        w->pinned = r->backend;
    }
    if (r->ack_waiting) {
        /* Its WAIT may answer while r waits here: it must not release r
         * (an error delivered needs none; a call sent again gets its own). */
        script_detach_waits(r);
        w->ack = 1;
    }
    return 1;
}

int
script_fn_maybe_known(const struct proxy *px, const char *fn, size_t len)
{
    for (struct script_lib *l = px->scripts ? px->scripts->libs : NULL; l; l = l->next) {
        if (l->fns == NULL || script_names_have(l->fns, l->fns_len, fn, len)) {
            return 1;
        }
    }
    return 0;
}

int
script_fn_learn(struct session *s, const char *fn, size_t len,
                void (*on_reply)(struct preq *r, const char *reply, size_t len), void *ctx)
{
    struct fn_lookup *lk;
    if (script_fn_maybe_known(s->px, fn, len) || (lk = lookup_get(s->px, fn, len)) == NULL) {
        return 0;
    }
    struct preq *r = mem_calloc(sizeof(*r));
    r->on_reply = on_reply;
    r->ctx = ctx;
    r->s = s;
    r->affinity = s->id;
    r->inext = s->internal;
    s->internal = r;
    lookup_wait(lk, r)->internal = 1;
    return 1;
}

void
script_fn_teardown(struct proxy *px)
{
    struct script_cache *c = px->scripts;
    if (c == NULL) {
        return;
    }
    /* The backends closed first answered every lookup request; what is
     * left (nothing, normally) belongs to sessions already gone. */
    while (c->lookups != NULL) {
        struct fn_lookup *lk = c->lookups;
        while (lk->waiters != NULL) {
            struct fn_waiter *w = lk->waiters;
            lk->waiters = w->next;
            if (w->r->s == NULL) {
                if (!w->internal) {
                    script_drop_frame(w->r);
                }
                mem_free(w->r);
            }
            mem_free(w->reply);
            mem_free(w);
        }
        lookup_free(lk);
    }
    script_misses_clear(c);
}
