/* Scripts and functions through the proxy.  EVAL/EVALSHA/FCALL are routed
 * like any command by their declared keys (session.c); this file does what
 * one pooled route cannot: SCRIPT LOAD/FLUSH/EXISTS/KILL and FUNCTION
 * LOAD/DELETE/FLUSH/RESTORE/KILL reach every node and their replies are
 * merged into one, and the proxy keeps its own sha -> body cache so that a
 * -NOSCRIPT from a node that missed a load (a restarted node, a replica
 * promoted after the load) is repaired: the body is loaded there and the
 * call sent once more.  That is safe: a script that was not found did not
 * run. */
#include "proxy/proxy.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/sha1.h"

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

struct script_cache {
    struct script_entry *buckets[SCRIPT_BUCKETS]; /* owned chains */
    size_t count;
    unsigned long long bytes;
    int full_logged;
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

static void
cache_learn(struct proxy *px, const char *body, size_t len)
{
    char sha[41];
    sha1_hex(body, len, sha);
    if (px->scripts == NULL) {
        px->scripts = mem_calloc(sizeof(*px->scripts));
    }
    struct script_cache *c = px->scripts;
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
            mem_free(e->body);
            mem_free(e);
        }
    }
    c->count = 0;
    c->bytes = 0;
    c->full_logged = 0;
}

void
script_teardown(struct proxy *px)
{
    cache_clear(px);
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
    if ((cmd->id != CMD_ID_EVALSHA && cmd->id != CMD_ID_EVALSHA_RO) || r == NULL
        || cache_find(px, argv[1].ptr, argv[1].len) == NULL) {
        return;
    }
    r->script_retry = 1;
    if (r->retry_frame == NULL) {
        /* A read (EVALSHA_RO): keep the frame for the retry only. */
        r->retry_frame = mem_alloc(len);
        memcpy(r->retry_frame, frame, len);
        r->retry_len = len;
        r->script_retry = 2;
    }
}

int
script_may_write(const struct command *cmd)
{
    return cmd->id == CMD_ID_EVAL || cmd->id == CMD_ID_EVALSHA || cmd->id == CMD_ID_FCALL;
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

int
script_deliver(struct preq *r, const char *reply, size_t len)
{
    int mine = r->script_retry == 2;
    r->script_retry = 0;
    const char *sha;
    size_t shalen;
    struct script_entry *e = NULL;
    int repair = r->s != NULL && r->node != NULL && r->backend != NULL && r->backend->fd >= 0
                 && r->retry_frame != NULL && len >= 9 && memcmp(reply, "-NOSCRIPT", 9) == 0
                 && frame_arg1(r->retry_frame, r->retry_len, &sha, &shalen) == 0
                 && (e = cache_find(r->node->px, sha, shalen)) != NULL;
    if (repair) {
        struct proxy *px = r->node->px;
        struct node *n = r->node;
        struct backend *b = r->backend;
        struct resp_arg load[3] = {{"SCRIPT", 6}, {"LOAD", 4}, {e->body, e->len}};
        size_t flen;
        char *lf = proxy_encode(3, load, &flen);
        /* Its reply (the sha, or an error) is dropped; the call behind it
         * says what happened. */
        struct preq *lr = mem_calloc(sizeof(*lr));
        lr->on_reply = on_load_reply;
        log_info("NOSCRIPT from %s for %.40s: loading it there and calling again", n->name,
                 e->sha);
        if (backend_send(px, n, b, lr, lf, flen) == 0
            && backend_send(px, n, b, r, r->retry_frame, r->retry_len) == 0) {
            px->scripts_repaired++;
            mem_free(lf);
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
        mem_free(lf);
        /* Cannot happen (the connection just answered); fall through. */
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
    session_deliver(f->parent, out.p, out.len);
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
fan_out(struct session *s, size_t argc, const struct resp_arg *argv, int mode, int masters_only)
{
    struct proxy *px = s->px;
    struct script_fan *f = mem_calloc(sizeof(*f));
    size_t flen;
    char *frame = proxy_encode(argc, argv, &flen);
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
            fan_out(s, argc, argv, MERGE_PRIMARY, 0);
        } else if (arg_is(&argv[1], "flush")) {
            cache_clear(px);
            fan_out(s, argc, argv, MERGE_PRIMARY, 0);
        } else if (arg_is(&argv[1], "exists")) {
            fan_out(s, argc, argv, MERGE_AND, 0);
        } else if (arg_is(&argv[1], "kill")) {
            fan_out(s, argc, argv, MERGE_ANY_OK, 0);
        } else {
            return 0;
        }
        return 1;
    }
    /* Functions are written on the masters; their replicas get them from
     * the replication stream (a replica refuses FUNCTION LOAD as a write). */
    if (arg_is(&argv[1], "load") || arg_is(&argv[1], "delete") || arg_is(&argv[1], "flush")
        || arg_is(&argv[1], "restore")) {
        fan_out(s, argc, argv, MERGE_PRIMARY, 1);
    } else if (arg_is(&argv[1], "kill")) {
        fan_out(s, argc, argv, MERGE_ANY_OK, 0);
    } else {
        return 0;
    }
    return 1;
}
