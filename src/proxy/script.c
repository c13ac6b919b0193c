/* Scripts and functions through the proxy.  EVAL/EVALSHA/FCALL are routed
 * like any command by their declared keys (session.c); this file does what
 * one pooled route cannot: SCRIPT LOAD/FLUSH/EXISTS/KILL and FUNCTION
 * LOAD/DELETE/FLUSH/RESTORE/KILL reach every node and their replies are
 * merged into one, and the proxy keeps its own sha -> body cache so that a
 * -NOSCRIPT from a node that missed a load (a restarted node, a replica
 * promoted after the load) is repaired: the body is loaded there and the
 * call sent once more.  That is safe: a script that was not found did not
 * run.  The libraries loaded through the proxy are kept the same way, so a
 * FCALL answered "Function not found" (a node restarted empty) re-loads
 * them there and is sent once more.  A function the proxy never saw loaded
 * (loaded on one node directly) is looked up on the other nodes (FUNCTION
 * LIST WITHCODE) and its library loaded where it is missing: see "functions
 * the proxy never saw loaded" below. */
#include "proxy/script.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/sha1.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/fanout.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCRIPT_BUCKETS 1024
/* The cache stops learning past this many bytes of bodies (a client that
 * EVALs generated scripts must not grow the proxy without bound). */
#define SCRIPT_CACHE_MAX_BYTES (64ULL << 20)

struct script_entry {
    char sha[41];                /* lower-case hex */
    char *body;                  /* owned */
    size_t len;
    struct script_entry *next;   /* the bucket's chain */
};

/* A function library the proxy knows: loaded through it (FUNCTION LOAD,
 * RESTORE), or learned from a node that had it (a lookup, below). */
struct script_lib {
    char *name;                  /* owned: the name the node answered */
    char *code;                  /* owned */
    size_t len;
    int learned;                 /* 0: loaded through the proxy (the missing-
                                    function repair loads it); 1: learned from
                                    a node (loaded before a transaction's FCALL,
                                    never over a node's own library) */
    char *fns;                   /* owned: the names of its functions, each
                                    NUL-terminated; NULL while not known (read
                                    back after a FUNCTION LOAD) */
    size_t fns_len;
    struct script_lib *next;     /* the cache's list */
};

/* Functions the proxy never saw loaded: the lookup of one name on the
 * nodes, and the names recently found nowhere. */
#define FN_LOOKUPS_MAX 32        /* lookups in flight; past it, the node's error */
#define FN_MISSES_MAX 256        /* names remembered as found nowhere */
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

struct fn_miss {
    char *name;                  /* owned, NULL when the slot is free */
    size_t len;
    long long until_ms;
};

struct script_cache {
    struct script_entry *buckets[SCRIPT_BUCKETS]; /* owned chains */
    size_t count;
    unsigned long long bytes;    /* bodies and library code */
    int full_logged;
    struct script_lib *libs;     /* owned list */
    struct fn_lookup *lookups;   /* owned list: one per function name */
    int nlookups;
    struct fn_miss misses[FN_MISSES_MAX]; /* owned names: a ring */
    size_t miss_next;
};

/* ---- the cache ------------------------------------------------------------ */

static size_t
bucket_of(const char *sha)
{
    return (size_t)strtoul((char[]){sha[0], sha[1], sha[2], sha[3], 0}, NULL, 16)
           % SCRIPT_BUCKETS;
}

static int
is_sha(const char *p, size_t len)
{
    if (len != 40) {
        return 0;
    }
    for (size_t i = 0; i < 40; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static struct script_entry *
cache_find(struct proxy *px, const char *sha, size_t len)
{
    char low[41];
    if (px->scripts == NULL || !is_sha(sha, len)) {
        return NULL;
    }
    for (size_t i = 0; i < 40; i++) {
        low[i] = (char)((sha[i] >= 'A' && sha[i] <= 'F') ? sha[i] - 'A' + 'a' : sha[i]);
    }
    low[40] = '\0';
    for (struct script_entry *e = px->scripts->buckets[bucket_of(low)]; e; e = e->next) {
        if (memcmp(e->sha, low, 40) == 0) {
            return e;
        }
    }
    return NULL;
}

static struct script_cache *
cache_of(struct proxy *px)
{
    if (px->scripts == NULL) {
        px->scripts = mem_calloc(sizeof(*px->scripts));
    }
    return px->scripts;
}

static void
cache_learn(struct proxy *px, const char *body, size_t len)
{
    char sha[41];
    sha1_hex(body, len, sha);
    struct script_cache *c = cache_of(px);
    if (cache_find(px, sha, 40) != NULL) {
        return;
    }
    if (c->bytes + len > SCRIPT_CACHE_MAX_BYTES) {
        if (!c->full_logged) {
            log_warn("Script cache full (%llu bytes): new scripts are not kept for NOSCRIPT "
                     "repair", c->bytes);
            c->full_logged = 1;
        }
        return;
    }
    struct script_entry *e = mem_calloc(sizeof(*e));
    memcpy(e->sha, sha, 41);
    e->body = mem_alloc(len ? len : 1);
    memcpy(e->body, body, len);
    e->len = len;
    size_t b = bucket_of(sha);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    c->bytes += len;
}

static void
cache_clear(struct proxy *px)
{
    struct script_cache *c = px->scripts;
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < SCRIPT_BUCKETS; i++) {
        while (c->buckets[i]) {
            struct script_entry *e = c->buckets[i];
            c->buckets[i] = e->next;
            c->bytes -= e->len;
            mem_free(e->body);
            mem_free(e);
        }
    }
    c->count = 0;
    c->full_logged = 0;
}

/* Forget library name (all of them when name is NULL). */
static void
lib_forget(struct proxy *px, const char *name, size_t len)
{
    struct script_cache *c = px->scripts;
    for (struct script_lib **pp = c ? &c->libs : NULL; pp != NULL && *pp != NULL;) {
        struct script_lib *l = *pp;
        if (name == NULL || (strlen(l->name) == len && memcmp(l->name, name, len) == 0)) {
            *pp = l->next;
            c->bytes -= l->len;
            mem_free(l->name);
            mem_free(l->code);
            mem_free(l->fns);
            mem_free(l);
        } else {
            pp = &l->next;
        }
    }
}

static struct script_lib *
lib_find(struct proxy *px, const char *name, size_t len)
{
    for (struct script_lib *l = px->scripts ? px->scripts->libs : NULL; l; l = l->next) {
        if (strlen(l->name) == len && memcmp(l->name, name, len) == 0) {
            return l;
        }
    }
    return NULL;
}

/* Keep library name's code (replacing an older code of that name): loaded
 * through the proxy (FUNCTION LOAD answered with the name, RESTORE read
 * back), or learned from a node, which never replaces a library loaded
 * through the proxy: what the application gave the proxy stays what its
 * repair loads.  fns (owned by the library from now on, freed when not
 * kept): its functions' names, NULL when not known. */
static void
lib_learn(struct proxy *px, const char *name, size_t nlen, const char *code, size_t len,
          int learned, char *fns, size_t fns_len)
{
    struct script_cache *c = cache_of(px);
    struct script_lib *old = lib_find(px, name, nlen);
    if (learned && old != NULL && !old->learned) {
        mem_free(fns);
        return;
    }
    lib_forget(px, name, nlen);
    if (c->bytes + len > SCRIPT_CACHE_MAX_BYTES) {
        log_warn("Script cache full (%llu bytes): library %.*s is not kept for repair",
                 c->bytes, (int)nlen, name);
        mem_free(fns);
        return;
    }
    struct script_lib *l = mem_calloc(sizeof(*l));
    l->name = mem_strndup(name, nlen);
    l->code = mem_alloc(len ? len : 1);
    memcpy(l->code, code, len);
    l->len = len;
    l->learned = learned;
    l->fns = fns;
    l->fns_len = fns_len;
    l->next = c->libs;
    c->libs = l;
    c->bytes += len;
}

static void fn_teardown(struct proxy *px);
static void misses_clear(struct script_cache *c);

void
script_teardown(struct proxy *px)
{
    fn_teardown(px);
    cache_clear(px);
    lib_forget(px, NULL, 0);
    mem_free(px->scripts);
    px->scripts = NULL;
}

/* ---- NOSCRIPT repair --------------------------------------------------------- */

/* The second argument of a multibulk frame (EVALSHA's sha). */
static int
frame_arg1(const char *f, size_t len, const char **p, size_t *n)
{
    const char *end = f + len;
    const char *q = memchr(f, '\n', len); /* "*N\r\n" */
    for (int arg = 0; q != NULL && arg < 2; arg++) {
        q++;
        if (q >= end || *q != '$') {
            return -1;
        }
        long l = strtol(q + 1, NULL, 10);
        q = memchr(q, '\n', (size_t)(end - q));
        if (q == NULL || l < 0 || (size_t)(end - q - 1) < (size_t)l + 2) {
            return -1;
        }
        if (arg == 1) {
            *p = q + 1;
            *n = (size_t)l;
            return 0;
        }
        q += 1 + l + 1; /* the bytes and CR; q at LF */
    }
    return -1;
}

void
script_forwarded(struct session *s, const struct command *cmd, size_t argc,
                 const struct resp_arg *argv, struct preq *r, const char *frame, size_t len)
{
    struct proxy *px = s->px;
    (void)argc;
    if (cmd->id == CMD_ID_EVAL || cmd->id == CMD_ID_EVAL_RO) {
        cache_learn(px, argv[1].ptr, argv[1].len);
        return;
    }
    int evalsha = cmd->id == CMD_ID_EVALSHA || cmd->id == CMD_ID_EVALSHA_RO;
    int fcall = cmd->id == CMD_ID_FCALL || cmd->id == CMD_ID_FCALL_RO;
    /* Every FCALL is armed: a function the proxy never saw loaded may be
     * on another node (a lookup finds it). */
    if (r == NULL || !(evalsha || fcall)
        || (evalsha && cache_find(px, argv[1].ptr, argv[1].len) == NULL)) {
        return;
    }
    r->script_retry = 1;
    if (r->retry_frame == NULL) {
        /* A read (EVALSHA_RO, FCALL_RO), or a write-ack call: keep the
         * frame for the retry only. */
        r->retry_frame = len <= sizeof(r->retry_small) ? r->retry_small : mem_alloc(len);
        memcpy(r->retry_frame, frame, len);
        r->retry_len = len;
        r->script_retry = 2;
    }
}

char *
script_as_eval(struct proxy *px, const struct command *cmd, size_t argc,
               const struct resp_arg *argv, size_t *len)
{
    if (cmd->id != CMD_ID_EVALSHA && cmd->id != CMD_ID_EVALSHA_RO) {
        return NULL;
    }
    struct script_entry *e = cache_find(px, argv[1].ptr, argv[1].len);
    if (e == NULL) {
        return NULL;
    }
    struct resp_arg stack[16];
    struct resp_arg *a = argc <= 16 ? stack : mem_alloc(argc * sizeof(*a));
    memcpy(a, argv, argc * sizeof(*a));
    a[0].ptr = cmd->id == CMD_ID_EVALSHA ? "EVAL" : "EVAL_RO";
    a[0].len = strlen(a[0].ptr);
    a[1].ptr = e->body;
    a[1].len = e->len;
    char *frame = fanout_encode(argc, a, len);
    if (a != stack) {
        mem_free(a);
    }
    return frame;
}

int
script_may_write(const struct command *cmd)
{
    return cmd->id == CMD_ID_EVAL || cmd->id == CMD_ID_EVALSHA || cmd->id == CMD_ID_FCALL;
}

int
script_libs_known(const struct proxy *px)
{
    return px->scripts != NULL && px->scripts->libs != NULL;
}

int
script_load_libs(struct session *s, struct node *n, struct backend *b,
                 void (*on_reply)(struct preq *r, const char *reply, size_t len), void *ctx)
{
    int sent = 0;
    for (struct script_lib *l = s->px->scripts ? s->px->scripts->libs : NULL; l; l = l->next) {
        struct resp_arg load[3] = {{"FUNCTION", 8}, {"LOAD", 4}, {l->code, l->len}};
        size_t flen;
        char *lf = fanout_encode(3, load, &flen);
        struct preq *r = mem_calloc(sizeof(*r));
        r->on_reply = on_reply;
        r->ctx = ctx;
        r->s = s;
        r->affinity = s->id;
        if (backend_send(s->px, n, b, r, lf, flen) == 0) {
            r->inext = s->internal;
            s->internal = r;
            sent++;
        } else {
            mem_free(r);
        }
        mem_free(lf);
    }
    return sent;
}

/* A WAIT that was behind a call repaired since: the new WAIT decides. */
static void
on_stale_wait(struct preq *r, const char *reply, size_t len)
{
    (void)r;
    (void)reply;
    (void)len;
}

static void
on_load_reply(struct preq *r, const char *reply, size_t len)
{
    (void)r;
    if (len > 0 && reply[0] == '-') {
        log_warn("Loading a script or library for a repair failed: %.*s",
                 (int)(len > 2 ? len - 2 : 0), reply + 1);
    }
}

/* Queue argv (a SCRIPT LOAD or FUNCTION LOAD REPLACE) on connection b of
 * node n; its reply is dropped (logged when an error): the call sent
 * again behind it says what happened.  Returns 0 when it went out. */
static int
send_load(struct node *n, struct backend *b, uint64_t affinity, size_t argc,
          const struct resp_arg *argv)
{
    size_t flen;
    char *lf = fanout_encode(argc, argv, &flen);
    struct preq *lr = mem_calloc(sizeof(*lr));
    lr->on_reply = on_load_reply;
    lr->affinity = affinity;
    int rc = backend_send(n->px, n, b, lr, lf, flen);
    mem_free(lf);
    if (rc != 0) {
        mem_free(lr);
        return -1;
    }
    return 0;
}

/* What a repair loads ahead of the call: a script's body, one library's
 * code, or (both NULL) every library loaded through the proxy. */
struct repair_load {
    struct script_entry *script; /* borrowed from the cache */
    const char *code;            /* borrowed */
    size_t code_len;
};

static int
send_repair(struct preq *r, struct node *n, struct backend *b, const struct repair_load *what)
{
    if (what->script != NULL) {
        struct resp_arg load[3] = {{"SCRIPT", 6}, {"LOAD", 4},
                                   {what->script->body, what->script->len}};
        return send_load(n, b, r->affinity, 3, load);
    }
    if (what->code != NULL) {
        struct resp_arg load[4] = {{"FUNCTION", 8}, {"LOAD", 4}, {"REPLACE", 7},
                                   {what->code, what->code_len}};
        return send_load(n, b, r->affinity, 4, load);
    }
    for (struct script_lib *l = n->px->scripts->libs; l != NULL; l = l->next) {
        struct resp_arg load[4] = {{"FUNCTION", 8}, {"LOAD", 4}, {"REPLACE", 7},
                                   {l->code, l->len}};
        if (!l->learned && send_load(n, b, r->affinity, 4, load) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Does the proxy hold libraries loaded through it (the repair's)? */
static int
own_libs_known(const struct proxy *px)
{
    for (struct script_lib *l = px->scripts ? px->scripts->libs : NULL; l; l = l->next) {
        if (!l->learned) {
            return 1;
        }
    }
    return 0;
}

/* write-ack: the WAIT sent behind r's first try would answer before the
 * call runs again; it no longer acknowledges r (a new one will). */
static void
detach_waits(struct preq *r)
{
    for (struct preq *w = r->s->internal; w != NULL; w = w->inext) {
        if (w->ack_parent == r) {
            w->on_reply = on_stale_wait;
            w->ack_parent = NULL;
        }
    }
    r->ack_waiting = 0;
}

/* Send r (a call r->node did not run: NOSCRIPT, or no such function) once
 * more, behind the load of what it missed, on b (the connection that
 * answered; NULL: one is picked).  A replica refuses FUNCTION LOAD (a
 * write): a FCALL_RO's library is loaded on its master (the replicas get
 * it from there) and the call, a read that did not run, runs there.  ack:
 * a write-ack call, followed by a WAIT of its own.  Returns 1 when sent;
 * r's frame stays the caller's. */
static int
resend(struct preq *r, struct backend *b, const struct repair_load *what, int ack)
{
    struct node *n = r->node;
    struct proxy *px = n->px;
    if (what->script == NULL && n->group->master != n) {
        if (n->group->master == NULL || !n->group->master->up) {
            return 0;
        }
        n = n->group->master;
        b = NULL;
    }
    if (b == NULL || b->fd < 0) {
        /* A write-ack call goes on the session's private connection, as
         * the WAIT behind it must. */
        b = ack && n == n->group->master ? session_own_connection(r->s, n->group)
                                         : backend_pick(px, n, r->affinity, r->resp3);
    }
    if (b == NULL || send_repair(r, n, b, what) != 0) {
        return 0;
    }
    r->bnext = NULL;
    if (backend_send(px, n, b, r, r->retry_frame, r->retry_len) != 0) {
        return 0;
    }
    px->scripts_repaired++;
    if (ack) {
        if (r->ack_waiting) {
            detach_waits(r);
        }
        session_ack_after(r->s, n->group, r);
    }
    return 1;
}

static void
drop_frame(struct preq *r)
{
    if (r->retry_frame != r->retry_small) {
        mem_free(r->retry_frame);
    }
    r->retry_frame = NULL;
}

static int fn_hold(struct preq *r, const char *reply, size_t len, int mine);

int
script_deliver(struct preq *r, const char *reply, size_t len)
{
    static const char nofunc[] = "-ERR Function not found";
    int mine = r->script_retry == 2;
    r->script_retry = 0;
    const char *sha;
    size_t shalen;
    struct repair_load what = {0};
    int ok = r->s != NULL && r->node != NULL && r->backend != NULL && r->backend->fd >= 0
             && r->retry_frame != NULL;
    int noscript = ok && len >= 9 && memcmp(reply, "-NOSCRIPT", 9) == 0
                   && frame_arg1(r->retry_frame, r->retry_len, &sha, &shalen) == 0
                   && (what.script = cache_find(r->node->px, sha, shalen)) != NULL;
    int nofunction = ok && !noscript && len >= sizeof(nofunc) - 1
                     && memcmp(reply, nofunc, sizeof(nofunc) - 1) == 0;
    if (noscript) {
        log_info("NOSCRIPT from %s for %.40s: loading it there and calling again",
                 r->node->name, what.script->sha);
    }
    if (nofunction && fn_hold(r, reply, len, mine)) {
        return 1; /* answered when the lookup ends */
    }
    if (nofunction && own_libs_known(r->node->px)) {
        log_info("Function not found on %s: loading the proxy's libraries %s and calling "
                 "again", r->node->name,
                 r->node->group->master == r->node ? "there" : "on its master");
    }
    if ((noscript || (nofunction && own_libs_known(r->node->px)))
        && resend(r, r->backend, &what, r->ack_waiting)) {
        if (mine) {
            drop_frame(r);
        }
        return 1;
    }
    /* The connection just answered, but the master of a replica may be
     * unreachable: the node's error goes to the client. */
    if (mine) {
        drop_frame(r);
    }
    return 0;
}

/* ---- SCRIPT and FUNCTION on every node --------------------------------------- */

enum merge_mode {
    MERGE_PRIMARY, /* the first group's master's reply; else the first success */
    MERGE_ANY_OK,  /* the first success, else the first error (KILL) */
    MERGE_AND,     /* SCRIPT EXISTS: 1 where every node has it */
};

struct script_fan {
    struct preq *parent;         /* borrowed: on the session's FIFO */
    int mode;                    /* enum merge_mode */
    int left;                    /* replies still expected */
    struct node *primary;        /* borrowed */
    char *primary_reply;         /* owned */
    size_t primary_len;
    char *ok, *err;              /* owned: the first success / error */
    size_t ok_len, err_len;
    long long *and;              /* owned: MERGE_AND's running result */
    size_t nand;
    int and_valid;
    struct proxy *px;            /* borrowed */
    char *learn;                 /* owned: FUNCTION LOAD's code, kept when it loads */
    size_t learn_len;
    int restore;                 /* FUNCTION RESTORE: 1, 2 with the FLUSH policy */
    struct node *ok_node;        /* borrowed: the first node that answered a success */
};

/* FUNCTION RESTORE's answer, held while the proxy reads the libraries back
 * from a master that restored them (FUNCTION LIST WITHCODE). */
struct script_relearn {
    struct preq *parent;         /* borrowed: on the session's FIFO */
    char *reply;                 /* owned: RESTORE's merged reply */
    size_t len;
    int flush;                   /* the FLUSH policy: forget the others */
    struct proxy *px;            /* borrowed */
};

static char *
dup_reply(const char *p, size_t len)
{
    char *d = mem_alloc(len ? len : 1);
    memcpy(d, p, len);
    return d;
}

/* Fold one SCRIPT EXISTS reply ("*n\r\n:0\r\n:1\r\n...") into f->and. */
static void
merge_exists(struct script_fan *f, const char *p, size_t len)
{
    const char *end = p + len;
    if (len < 4 || p[0] != '*') {
        return;
    }
    long long n = strtoll(p + 1, NULL, 10);
    if (n < 0 || n > 1000000) {
        return;
    }
    if (!f->and_valid) {
        f->and = mem_alloc((size_t)(n ? n : 1) * sizeof(long long));
        for (long long i = 0; i < n; i++) {
            f->and[i] = 1;
        }
        f->nand = (size_t)n;
        f->and_valid = 1;
    }
    if ((size_t)n != f->nand) {
        return;
    }
    const char *q = memchr(p, '\n', len);
    for (long long i = 0; i < n && q != NULL && q + 1 < end; i++) {
        q++;
        if (*q != ':') {
            return;
        }
        if (q[1] != '1') {
            f->and[i] = 0;
        }
        q = memchr(q, '\n', (size_t)(end - q));
    }
}

/* The bulk string at p (end excluded): its bytes in *s, *n; returns the
 * bytes the element takes, 0 when it is not a whole bulk string. */
static size_t
bulk_at(const char *p, const char *end, const char **str, size_t *n)
{
    const char *nl;
    if (end - p < 4 || *p != '$' || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
        return 0;
    }
    long long l = strtoll(p + 1, NULL, 10);
    if (l < 0 || end - (nl + 1) < l + 2) {
        return 0;
    }
    *str = nl + 1;
    *n = (size_t)l;
    return (size_t)(nl + 1 - p) + (size_t)l + 2;
}

/* The length of the whole reply element at p, 0 when incomplete. */
static size_t
element_len(const char *p, const char *end)
{
    struct resp_scan sc;
    resp_scan_init(&sc);
    return resp_scan_next(&sc, p, (size_t)(end - p)) == 1 ? sc.pos : 0;
}

/* One library of a FUNCTION LIST [WITHCODE] reply (RESP2): pointers into
 * the reply. */
struct listed_lib {
    const char *name, *code;
    size_t name_len, code_len;
    const char *fns;             /* the "functions" array element, or NULL */
    size_t fns_len;
};

/* The library at q (end excluded) into *l; returns the bytes it takes, 0
 * when it is not a whole library element. */
static size_t
listed_at(const char *q, const char *end, struct listed_lib *l)
{
    size_t elen = element_len(q, end);
    const char *lib_end = q + elen, *f = memchr(q, '\n', (size_t)(end - q));
    memset(l, 0, sizeof(*l));
    if (elen == 0 || *q != '*' || f == NULL) {
        return 0;
    }
    long long nf = strtoll(q + 1, NULL, 10);
    f++;
    for (long long k = 0; k + 1 < nf && f < lib_end; k += 2) {
        const char *key, *val;
        size_t klen, vlen, used = bulk_at(f, lib_end, &key, &klen);
        if (used == 0) {
            break;
        }
        f += used;
        size_t vused = bulk_at(f, lib_end, &val, &vlen);
        size_t velen = vused != 0 ? vused : element_len(f, lib_end);
        if (vused != 0 && klen == 12 && memcmp(key, "library_name", 12) == 0) {
            l->name = val;
            l->name_len = vlen;
        } else if (vused != 0 && klen == 12 && memcmp(key, "library_code", 12) == 0) {
            l->code = val;
            l->code_len = vlen;
        } else if (klen == 9 && memcmp(key, "functions", 9) == 0 && *f == '*') {
            l->fns = f;
            l->fns_len = velen;
        }
        if (velen == 0) {
            break;
        }
        f += velen;
    }
    return elen;
}

/* The names of the functions of a listed library, each NUL-terminated,
 * in a new allocation (*len set; NULL when none could be read). */
static char *
fns_collect(const struct listed_lib *l, size_t *len)
{
    const char *end = l->fns + l->fns_len, *q;
    struct rbuf out = {0};
    *len = 0;
    if (l->fns == NULL || (q = memchr(l->fns, '\n', l->fns_len)) == NULL) {
        return NULL;
    }
    long long n = strtoll(l->fns + 1, NULL, 10);
    q++;
    for (long long i = 0; i < n && q < end; i++) {
        size_t elen = element_len(q, end);
        const char *f_end = q + elen, *f = memchr(q, '\n', (size_t)(end - q));
        if (elen == 0 || *q != '*' || f == NULL) {
            break;
        }
        long long nf = strtoll(q + 1, NULL, 10);
        f++;
        for (long long k = 0; k + 1 < nf && f < f_end; k += 2) {
            const char *key, *val;
            size_t klen, vlen, used = bulk_at(f, f_end, &key, &klen);
            if (used == 0) {
                break;
            }
            f += used;
            size_t vused = bulk_at(f, f_end, &val, &vlen);
            if (vused != 0 && klen == 4 && memcmp(key, "name", 4) == 0) {
                rbuf_add(&out, val, vlen);
                rbuf_add(&out, "", 1);
                break;
            }
            size_t velen = vused != 0 ? vused : element_len(f, f_end);
            if (velen == 0) {
                break;
            }
            f += velen;
        }
        q = f_end;
    }
    if (out.len == 0) {
        rbuf_free(&out);
        return NULL;
    }
    char *names = dup_reply(out.p, out.len);
    *len = out.len;
    rbuf_free(&out);
    return names;
}

/* Is fn one of names (fns_collect's)? */
static int
names_have(const char *names, size_t len, const char *fn, size_t fnlen)
{
    for (size_t at = 0; names != NULL && at < len;) {
        size_t n = strlen(names + at);
        if (n == fnlen && memcmp(names + at, fn, fnlen) == 0) {
            return 1;
        }
        at += n + 1;
    }
    return 0;
}

/* Learn every library of a FUNCTION LIST WITHCODE reply (RESP2: an array
 * of flat name/value arrays).  Returns how many. */
static int
learn_listed(struct proxy *px, const char *p, size_t len)
{
    const char *end = p + len, *q;
    int learnt = 0;
    if (len < 4 || p[0] != '*' || (q = memchr(p, '\n', len)) == NULL) {
        return 0;
    }
    long long nlibs = strtoll(p + 1, NULL, 10);
    q++;
    for (long long i = 0; i < nlibs && q < end; i++) {
        struct listed_lib l;
        size_t used = listed_at(q, end, &l);
        if (used == 0) {
            return learnt;
        }
        if (l.name != NULL && l.code != NULL) {
            size_t fns_len;
            char *fns = fns_collect(&l, &fns_len);
            lib_learn(px, l.name, l.name_len, l.code, l.code_len, 0, fns, fns_len);
            learnt++;
        }
        q += used;
    }
    return learnt;
}

static void
on_restore_list(struct preq *r, const char *reply, size_t len)
{
    struct script_relearn *rl = r->ctx;
    if (len > 0 && reply[0] == '*') {
        if (rl->flush) {
            lib_forget(rl->px, NULL, 0);
        }
        int n = learn_listed(rl->px, reply, len);
        log_info("FUNCTION RESTORE: %d libraries kept for the missing-function repair", n);
    } else {
        log_warn("FUNCTION RESTORE: reading the libraries back failed (%.*s); they are not "
                 "kept for the missing-function repair",
                 (int)(len > 2 && len < 200 ? len - 2 : 0), reply);
    }
    session_deliver(rl->parent, rl->reply, rl->len);
    mem_free(rl->reply);
    mem_free(rl);
}

/* After a FUNCTION RESTORE that succeeded: read the libraries back from a
 * master that restored them before answering, so that a FCALL the client
 * sends once it has the answer can be repaired.  Returns 1 when the answer
 * is held for that. */
static int
restore_relearn(struct script_fan *f, const char *reply, size_t len)
{
    static const char list[] = "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLIST\r\n$8\r\nWITHCODE\r\n";
    if (!f->restore || f->ok_node == NULL || len == 0 || reply[0] != '+') {
        return 0;
    }
    struct script_relearn *rl = mem_calloc(sizeof(*rl));
    rl->parent = f->parent;
    rl->reply = dup_reply(reply, len);
    rl->len = len;
    rl->flush = f->restore == 2;
    rl->px = f->px;
    struct preq *r = mem_calloc(sizeof(*r));
    r->on_reply = on_restore_list;
    r->ctx = rl;
    if (backend_send(f->px, f->ok_node, NULL, r, list, sizeof(list) - 1) != 0) {
        mem_free(r);
        mem_free(rl->reply);
        mem_free(rl);
        return 0;
    }
    return 1;
}

static void
on_fns_read_back(struct preq *r, const char *reply, size_t len)
{
    struct proxy *px = r->ctx;
    const char *end = reply + len, *q;
    if (len < 4 || reply[0] != '*' || (q = memchr(reply, '\n', len)) == NULL) {
        return; /* its functions stay unknown (a transaction then looks none up) */
    }
    q++;
    for (long long i = 0, n = strtoll(reply + 1, NULL, 10); i < n && q < end; i++) {
        struct listed_lib l;
        size_t used = listed_at(q, end, &l);
        if (used == 0) {
            return;
        }
        struct script_lib *own = l.name ? lib_find(px, l.name, l.name_len) : NULL;
        if (own != NULL && !own->learned && own->fns == NULL && l.code != NULL
            && own->len == l.code_len && memcmp(own->code, l.code, l.code_len) == 0) {
            own->fns = fns_collect(&l, &own->fns_len);
        }
        q += used;
    }
}

/* A library loaded through the proxy: read its functions' names back from
 * a node that loaded it (FUNCTION LIST answers them, FUNCTION LOAD does
 * not), so a transaction can tell a function the proxy knows from one to
 * look up.  The client's answer does not wait for it. */
static void
fns_read_back(struct script_fan *f, const char *name, size_t len)
{
    if (f->ok_node == NULL) {
        return;
    }
    struct resp_arg a[5] = {{"FUNCTION", 8}, {"LIST", 4}, {"WITHCODE", 8},
                            {"LIBRARYNAME", 11}, {name, len}};
    size_t flen;
    char *frame = fanout_encode(5, a, &flen);
    struct preq *r = mem_calloc(sizeof(*r));
    r->on_reply = on_fns_read_back;
    r->ctx = f->px;
    if (backend_send(f->px, f->ok_node, NULL, r, frame, flen) != 0) {
        mem_free(r);
    }
    mem_free(frame);
}

static void
fan_finish(struct script_fan *f)
{
    struct rbuf out = {0};
    if (f->mode == MERGE_AND && f->and_valid) {
        rbuf_hdr(&out, '*', (long long)f->nand);
        for (size_t i = 0; i < f->nand; i++) {
            rbuf_str(&out, f->and[i] ? ":1\r\n" : ":0\r\n");
        }
    } else if (f->mode == MERGE_PRIMARY && f->primary_reply != NULL) {
        rbuf_add(&out, f->primary_reply, f->primary_len);
    } else if (f->ok != NULL) {
        rbuf_add(&out, f->ok, f->ok_len);
    } else if (f->err != NULL) {
        rbuf_add(&out, f->err, f->err_len);
    } else {
        rbuf_str(&out, "-ERR cachely-proxy: no node is reachable\r\n");
    }
    const char *nl;
    long long nlen;
    if (f->learn != NULL && out.len > 4 && out.p[0] == '$'
        && (nl = memchr(out.p, '\n', out.len)) != NULL
        && (nlen = strtoll(out.p + 1, NULL, 10)) > 0
        && (size_t)(nl + 1 - out.p) + (size_t)nlen <= out.len) {
        lib_learn(f->px, nl + 1, (size_t)nlen, f->learn, f->learn_len, 0, NULL, 0);
        fns_read_back(f, nl + 1, (size_t)nlen);
    }
    mem_free(f->learn);
    if (!restore_relearn(f, out.p, out.len)) {
        session_deliver(f->parent, out.p, out.len);
    }
    rbuf_free(&out);
    mem_free(f->primary_reply);
    mem_free(f->ok);
    mem_free(f->err);
    mem_free(f->and);
    mem_free(f);
}

static void
on_part(struct preq *r, const char *reply, size_t len)
{
    struct script_fan *f = r->ctx;
    int lost = len > 20 && memcmp(reply, "-ERR cachely-proxy:", 19) == 0;
    if (r->node == f->primary && !lost) {
        f->primary_reply = dup_reply(reply, len);
        f->primary_len = len;
    }
    if (len > 0 && reply[0] == '-') {
        /* A node we could not reach says nothing about the scripts. */
        if (f->err == NULL && !lost) {
            f->err = dup_reply(reply, len);
            f->err_len = len;
        }
    } else {
        if (f->ok == NULL) {
            f->ok = dup_reply(reply, len);
            f->ok_len = len;
            f->ok_node = r->node;
        }
        if (f->mode == MERGE_AND) {
            merge_exists(f, reply, len);
        }
    }
    if (--f->left == 0) {
        fan_finish(f);
    }
}

/* Send argv to every node (masters only when masters_only), merging the
 * replies by mode into one answer for s. */
static void
fan_out(struct session *s, size_t argc, const struct resp_arg *argv, int mode, int masters_only,
        const struct resp_arg *learn, int restore)
{
    struct proxy *px = s->px;
    struct script_fan *f = mem_calloc(sizeof(*f));
    f->px = px;
    f->restore = restore;
    if (learn != NULL) {
        f->learn = mem_alloc(learn->len ? learn->len : 1);
        memcpy(f->learn, learn->ptr, learn->len);
        f->learn_len = learn->len;
    }
    size_t flen;
    char *frame = fanout_encode(argc, argv, &flen);
    f->parent = session_new_request(s);
    f->mode = mode;
    f->primary = px->groups[0].master;
    f->left = 1; /* held until every part is sent */
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        if (masters_only && n->group->master != n) {
            continue;
        }
        struct preq *r = mem_calloc(sizeof(*r));
        r->on_reply = on_part;
        r->ctx = f;
        r->affinity = s->id;
        f->left++;
        if (!n->up || backend_send(px, n, NULL, r, frame, flen) != 0) {
            f->left--;
            mem_free(r);
        }
    }
    mem_free(frame);
    if (--f->left == 0) {
        fan_finish(f);
    }
}

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

int
script_command(struct session *s, const struct command *cmd, size_t argc,
               const struct resp_arg *argv)
{
    if (argc < 2 || (cmd->id != CMD_ID_SCRIPT && cmd->id != CMD_ID_FUNCTION)) {
        return 0;
    }
    const struct command *sub = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    if (sub == NULL || !command_arity_ok(sub, argc)) {
        return 0; /* a node gives Redis's error */
    }
    struct proxy *px = s->px;
    if (cmd->id == CMD_ID_SCRIPT) {
        if (arg_is(&argv[1], "load")) {
            cache_learn(px, argv[2].ptr, argv[2].len);
            fan_out(s, argc, argv, MERGE_PRIMARY, 0, NULL, 0);
        } else if (arg_is(&argv[1], "flush")) {
            cache_clear(px);
            fan_out(s, argc, argv, MERGE_PRIMARY, 0, NULL, 0);
        } else if (arg_is(&argv[1], "exists")) {
            fan_out(s, argc, argv, MERGE_AND, 0, NULL, 0);
        } else if (arg_is(&argv[1], "kill")) {
            fan_out(s, argc, argv, MERGE_ANY_OK, 0, NULL, 0);
        } else {
            return 0;
        }
        return 1;
    }
    /* Functions are written on the masters; their replicas get them from
     * the replication stream (a replica refuses FUNCTION LOAD as a write).
     * After a LOAD or RESTORE a name found nowhere may be defined. */
    if (arg_is(&argv[1], "load") || arg_is(&argv[1], "restore")) {
        misses_clear(px->scripts);
    }
    if (arg_is(&argv[1], "load")) {
        /* Kept once a node answers with the library's name: a FCALL that
         * finds no function re-loads it. */
        fan_out(s, argc, argv, MERGE_PRIMARY, 1, &argv[argc - 1], 0);
    } else if (arg_is(&argv[1], "restore")) {
        /* The payload is the node's format: the libraries it brought are
         * read back as code from a master once it restored them. */
        fan_out(s, argc, argv, MERGE_PRIMARY, 1, NULL,
                argc >= 4 && arg_is(&argv[3], "flush") ? 2 : 1);
    } else if (arg_is(&argv[1], "delete") || arg_is(&argv[1], "flush")) {
        if (arg_is(&argv[1], "delete")) {
            lib_forget(px, argv[2].ptr, argv[2].len);
        } else if (arg_is(&argv[1], "flush")) {
            lib_forget(px, NULL, 0);
        }
        fan_out(s, argc, argv, MERGE_PRIMARY, 1, NULL, 0);
    } else if (arg_is(&argv[1], "kill")) {
        fan_out(s, argc, argv, MERGE_ANY_OK, 0, NULL, 0);
    } else {
        return 0;
    }
    return 1;
}

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
 * the repair above, and the library is kept as learned: a transaction's
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
        size_t used = listed_at(q, end, out);
        if (used == 0) {
            return 0;
        }
        *fns = out->name != NULL && out->code != NULL ? fns_collect(out, fns_len) : NULL;
        if (names_have(*fns, *fns_len, fn, fnlen)) {
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

static void
misses_clear(struct script_cache *c)
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
          && resend(r, NULL, what, w->ack))) {
        /* Nothing to load, or it cannot be: the node's own answer. */
        if (w->mine) {
            drop_frame(r);
        }
        session_deliver(r, w->reply, w->len);
    } else if (w->mine) {
        drop_frame(r);
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
        lib_learn(px, lk->lib, lk->lib_len, lk->code, lk->code_len, 1, lk->fns, lk->fns_len);
        lk->fns = NULL;
        log_info("Function %.*s: library %.*s found on %s; loading it where it is missing",
                 (int)lk->len, lk->name, (int)lk->lib_len, lk->lib, lk->best_node);
    } else {
        miss_add(px->scripts, lk->name, lk->len);
        /* The proxy's own libraries may still bring it (a node restarted
         * empty, the only one that had them). */
        repair = own_libs_known(px);
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
            lk->lib = dup_reply(l.name, l.name_len);
            lk->lib_len = l.name_len;
            lk->code = dup_reply(l.code, l.code_len);
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
    struct script_cache *c = cache_of(px);
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
static int
fn_hold(struct preq *r, const char *reply, size_t len, int mine)
{
    const char *fn;
    size_t fnlen;
    struct fn_lookup *lk;
    if (frame_arg1(r->retry_frame, r->retry_len, &fn, &fnlen) != 0
        || (lk = lookup_get(r->node->px, fn, fnlen)) == NULL) {
        return 0;
    }
    struct fn_waiter *w = lookup_wait(lk, r);
    w->reply = dup_reply(reply, len);
    w->len = len;
    w->mine = mine;
    if (r->ack_waiting) {
        /* Its WAIT may answer while r waits here: it must not release r
         * (an error delivered needs none; a call sent again gets its own). */
        detach_waits(r);
        w->ack = 1;
    }
    return 1;
}

/* Does a library the proxy knows define fn, or may one (its functions not
 * read back yet)? */
static int
fn_maybe_known(const struct proxy *px, const char *fn, size_t len)
{
    for (struct script_lib *l = px->scripts ? px->scripts->libs : NULL; l; l = l->next) {
        if (l->fns == NULL || names_have(l->fns, l->fns_len, fn, len)) {
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
    if (fn_maybe_known(s->px, fn, len) || (lk = lookup_get(s->px, fn, len)) == NULL) {
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

static void
fn_teardown(struct proxy *px)
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
                    drop_frame(w->r);
                }
                mem_free(w->r);
            }
            mem_free(w->reply);
            mem_free(w);
        }
        lookup_free(lk);
    }
    misses_clear(c);
}
