/* Scripts and functions through the proxy.  EVAL/EVALSHA/FCALL are routed
 * like any command by their declared keys (session.c); the script files do what
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
 * LIST WITHCODE) and its library loaded where it is missing: see
 * script_lookup.c.  Three files share script_int.h: this one (the caches,
 * the NOSCRIPT and missing-function repair, delivery), script_fan.c
 * (SCRIPT and FUNCTION on every node, the FUNCTION LIST parsers) and
 * script_lookup.c (functions the proxy never saw loaded). */
#include "proxy/script.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/sha1.h"
#include "proxy/backend.h"
#include "proxy/fanout.h"
#include "proxy/proxy.h"
#include "proxy/script_int.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdlib.h>
#include <string.h>

/* The cache stops learning past this many bytes of bodies (a client that
 * EVALs generated scripts must not grow the proxy without bound). */
#define SCRIPT_CACHE_MAX_BYTES (64ULL << 20)

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

struct script_cache *
script_cache_of(struct proxy *px)
{
    if (px->scripts == NULL) {
        px->scripts = mem_calloc(sizeof(*px->scripts));
    }
    return px->scripts;
}

void
script_cache_learn(struct proxy *px, const char *body, size_t len)
{
    char sha[41];
    sha1_hex(body, len, sha);
    struct script_cache *c = script_cache_of(px);
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

void
script_cache_clear(struct proxy *px)
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
void
script_lib_forget(struct proxy *px, const char *name, size_t len)
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

struct script_lib *
script_lib_find(struct proxy *px, const char *name, size_t len)
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
void
script_lib_learn(struct proxy *px, const char *name, size_t nlen, const char *code,
                 size_t len, int learned, char *fns, size_t fns_len)
{
    struct script_cache *c = script_cache_of(px);
    struct script_lib *old = script_lib_find(px, name, nlen);
    if (learned && old != NULL && !old->learned) {
        mem_free(fns);
        return;
    }
    script_lib_forget(px, name, nlen);
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

void
script_teardown(struct proxy *px)
{
    script_fn_teardown(px);
    script_cache_clear(px);
    script_lib_forget(px, NULL, 0);
    mem_free(px->scripts);
    px->scripts = NULL;
}

/* ---- NOSCRIPT repair --------------------------------------------------------- */

/* The second argument of a multibulk frame (EVALSHA's sha). */
int
script_frame_arg1(const char *f, size_t len, const char **p, size_t *n)
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
        script_cache_learn(px, argv[1].ptr, argv[1].len);
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
int
script_own_libs_known(const struct proxy *px)
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
void
script_detach_waits(struct preq *r)
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
int
script_resend(struct preq *r, struct backend *b, const struct repair_load *what, int ack)
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
            script_detach_waits(r);
        }
        session_ack_after(r->s, n->group, r);
    }
    return 1;
}

void
script_drop_frame(struct preq *r)
{
    if (r->retry_frame != r->retry_small) {
        mem_free(r->retry_frame);
    }
    r->retry_frame = NULL;
}

int
script_deliver(struct preq *r, const char *reply, size_t len)
{
    static const char nofunc[] = "-ERR Function not found";
    int mine = r->script_retry == 2;
    r->script_retry = 0;
    const char *sha;
    size_t shalen;
    struct repair_load what = {0};
    /* A call is sent again only when no later request of its session went
     * out behind it: a repair then cannot run it after a command the client
     * sent later (a client that pipelined more gets Redis's NOSCRIPT, and
     * retries as it would against Redis). */
    int ok = r->s != NULL && r->node != NULL && r->backend != NULL && r->backend->fd >= 0
             && r->retry_frame != NULL && r->next == NULL;
    int noscript = ok && len >= 9 && memcmp(reply, "-NOSCRIPT", 9) == 0
                   && script_frame_arg1(r->retry_frame, r->retry_len, &sha, &shalen) == 0
                   && (what.script = cache_find(r->node->px, sha, shalen)) != NULL;
    int nofunction = ok && !noscript && len >= sizeof(nofunc) - 1
                     && memcmp(reply, nofunc, sizeof(nofunc) - 1) == 0;
    if (noscript) {
        log_info("NOSCRIPT from %s for %.40s: loading it there and calling again",
                 r->node->name, what.script->sha);
    }
    if (nofunction && script_fn_hold(r, reply, len, mine)) {
        return 1; /* answered when the lookup ends */
    }
    if (nofunction && script_own_libs_known(r->node->px)) {
        log_info("Function not found on %s: loading the proxy's libraries %s and calling "
                 "again", r->node->name,
                 r->node->group->master == r->node ? "there" : "on its master");
    }
    if ((noscript || (nofunction && script_own_libs_known(r->node->px)))
        && script_resend(r, r->backend, &what, r->ack_waiting)) {
        if (mine) {
            script_drop_frame(r);
        }
        return 1;
    }
    /* The connection just answered, but the master of a replica may be
     * unreachable: the node's error goes to the client. */
    if (mine) {
        script_drop_frame(r);
    }
    return 0;
}
