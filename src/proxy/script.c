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
 * them there and is sent once more. */
#include "proxy/script.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "core/sha1.h"
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

/* A function library loaded through the proxy (FUNCTION LOAD). */
struct script_lib {
    char *name;                  /* owned: the name the node answered */
    char *code;                  /* owned */
    size_t len;
    struct script_lib *next;     /* the cache's list */
};

struct script_cache {
    struct script_entry *buckets[SCRIPT_BUCKETS]; /* owned chains */
    size_t count;
    unsigned long long bytes;    /* bodies and library code */
    int full_logged;
    struct script_lib *libs;     /* owned list */
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
            mem_free(l);
        } else {
            pp = &l->next;
        }
    }
}

/* FUNCTION LOAD of code answered with library name: keep it (replacing an
 * older code of that name). */
static void
lib_learn(struct proxy *px, const char *name, size_t nlen, const char *code, size_t len)
{
    struct script_cache *c = cache_of(px);
    lib_forget(px, name, nlen);
    if (c->bytes + len > SCRIPT_CACHE_MAX_BYTES) {
        log_warn("Script cache full (%llu bytes): library %.*s is not kept for repair",
                 c->bytes, (int)nlen, name);
        return;
    }
    struct script_lib *l = mem_calloc(sizeof(*l));
    l->name = mem_strndup(name, nlen);
    l->code = mem_alloc(len ? len : 1);
    memcpy(l->code, code, len);
    l->len = len;
    l->next = c->libs;
    c->libs = l;
    c->bytes += len;
}

void
script_teardown(struct proxy *px)
{
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
    if (r == NULL || !(evalsha || fcall)
        || (evalsha && cache_find(px, argv[1].ptr, argv[1].len) == NULL)
        || (fcall && (px->scripts == NULL || px->scripts->libs == NULL))) {
        return;
    }
    r->script_retry = 1;
    if (r->retry_frame == NULL) {
        /* A read (EVALSHA_RO), or a write-ack call: keep the frame for the
         * retry only. */
        r->retry_frame = mem_alloc(len);
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
        log_warn("SCRIPT LOAD for a NOSCRIPT repair failed: %.*s",
                 (int)(len > 2 ? len - 2 : 0), reply + 1);
    }
}

/* Queue the repair of r's call on connection b of node n: for a NOSCRIPT,
 * its script's body (e); for a missing function, every library the proxy
 * loaded.  Their replies are dropped (logged when errors); the call sent
 * again behind them says what happened.  Returns 0 when all went out. */
static int
send_repair(struct preq *r, struct node *n, struct backend *b, struct script_entry *e)
{
    struct proxy *px = n->px;
    struct script_lib *l = e == NULL ? px->scripts->libs : NULL;
    do {
        struct resp_arg load[4] = {{"SCRIPT", 6}, {"LOAD", 4}, {NULL, 0}, {NULL, 0}};
        size_t argc = 3, flen;
        if (e != NULL) {
            load[2].ptr = e->body;
            load[2].len = e->len;
        } else {
            load[0] = (struct resp_arg){"FUNCTION", 8};
            load[2] = (struct resp_arg){"REPLACE", 7};
            load[3] = (struct resp_arg){l->code, l->len};
            argc = 4;
            l = l->next;
        }
        char *lf = fanout_encode(argc, load, &flen);
        struct preq *lr = mem_calloc(sizeof(*lr));
        lr->on_reply = on_load_reply;
        lr->affinity = r->affinity;
        int rc = backend_send(px, n, b, lr, lf, flen);
        mem_free(lf);
        if (rc != 0) {
            mem_free(lr);
            return -1;
        }
    } while (l != NULL);
    return 0;
}

int
script_deliver(struct preq *r, const char *reply, size_t len)
{
    static const char nofunc[] = "-ERR Function not found";
    int mine = r->script_retry == 2;
    r->script_retry = 0;
    const char *sha;
    size_t shalen;
    struct script_entry *e = NULL;
    int ok = r->s != NULL && r->node != NULL && r->backend != NULL && r->backend->fd >= 0
             && r->retry_frame != NULL;
    int noscript = ok && len >= 9 && memcmp(reply, "-NOSCRIPT", 9) == 0
                   && frame_arg1(r->retry_frame, r->retry_len, &sha, &shalen) == 0
                   && (e = cache_find(r->node->px, sha, shalen)) != NULL;
    int nofunction = ok && !noscript && len >= sizeof(nofunc) - 1
                     && memcmp(reply, nofunc, sizeof(nofunc) - 1) == 0
                     && r->node->px->scripts != NULL && r->node->px->scripts->libs != NULL;
    if (noscript || nofunction) {
        struct proxy *px = r->node->px;
        struct node *n = r->node;
        struct backend *b = r->backend;
        if (noscript) {
            log_info("NOSCRIPT from %s for %.40s: loading it there and calling again", n->name,
                     e->sha);
        } else if (n->group->master != n && n->group->master != NULL
                   && n->group->master->up) {
            /* A replica refuses FUNCTION LOAD (a write): the libraries
             * are loaded on its master (they replicate from there) and the
             * FCALL_RO, a read that did not run, runs there. */
            log_info("Function not found on replica %s: loading the proxy's libraries on "
                     "its master %s and calling there", n->name, n->group->master->name);
            n = n->group->master;
            b = backend_pick(px, n, r->affinity, r->resp3);
        } else {
            log_info("Function not found on %s: loading the proxy's libraries there and "
                     "calling again", n->name);
        }
        if (b != NULL && send_repair(r, n, b, e) == 0
            && backend_send(px, n, b, r, r->retry_frame, r->retry_len) == 0) {
            px->scripts_repaired++;
            if (r->ack_waiting) {
                /* write-ack: the WAIT sent behind the first try would answer
                 * before the call runs; a new one follows it instead. */
                for (struct preq *w = r->s->internal; w != NULL; w = w->inext) {
                    if (w->ack_parent == r) {
                        w->on_reply = on_stale_wait;
                        w->ack_parent = NULL;
                    }
                }
                r->ack_waiting = 0;
                session_ack_after(r->s, n->group, r);
            }
            if (mine) {
                mem_free(r->retry_frame);
                r->retry_frame = NULL;
            }
            return 1;
        }
        /* The connection just answered, but the master of a replica may
         * be unreachable: the node's error goes to the client. */
    }
    if (mine) {
        mem_free(r->retry_frame);
        r->retry_frame = NULL;
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
        size_t elen = element_len(q, end);
        const char *lib_end = q + elen, *f = memchr(q, '\n', (size_t)(end - q));
        if (elen == 0 || *q != '*' || f == NULL) {
            return learnt;
        }
        long long nf = strtoll(q + 1, NULL, 10);
        const char *name = NULL, *code = NULL;
        size_t name_len = 0, code_len = 0;
        f++;
        for (long long k = 0; k + 1 < nf && f < lib_end; k += 2) {
            const char *key, *val;
            size_t klen, vlen, used = bulk_at(f, lib_end, &key, &klen);
            if (used == 0) {
                break;
            }
            f += used;
            size_t vused = bulk_at(f, lib_end, &val, &vlen);
            if (vused != 0 && klen == 12 && memcmp(key, "library_name", 12) == 0) {
                name = val;
                name_len = vlen;
            } else if (vused != 0 && klen == 12 && memcmp(key, "library_code", 12) == 0) {
                code = val;
                code_len = vlen;
            }
            f += vused != 0 ? vused : element_len(f, lib_end);
        }
        if (name != NULL && code != NULL) {
            lib_learn(px, name, name_len, code, code_len);
            learnt++;
        }
        q = lib_end;
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
        lib_learn(f->px, nl + 1, (size_t)nlen, f->learn, f->learn_len);
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
     * the replication stream (a replica refuses FUNCTION LOAD as a write). */
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
