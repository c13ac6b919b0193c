/* SCRIPT and FUNCTION on every node (script.c's overview says why): the
 * requests fanned out, the replies merged into one, the libraries a
 * FUNCTION LOAD or RESTORE brought kept; and the FUNCTION LIST parsers
 * script_lookup.c reads the nodes' libraries with. */
#include "proxy/script.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/resp.h"
#include "proxy/backend.h"
#include "proxy/fanout.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/script_int.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

char *
script_dup_reply(const char *p, size_t len)
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

/* The library at q (end excluded) into *l; returns the bytes it takes, 0
 * when it is not a whole library element. */
size_t
script_listed_at(const char *q, const char *end, struct listed_lib *l)
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
char *
script_fns_collect(const struct listed_lib *l, size_t *len)
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
    char *names = script_dup_reply(out.p, out.len);
    *len = out.len;
    rbuf_free(&out);
    return names;
}

/* Is fn one of names (script_fns_collect's)? */
int
script_names_have(const char *names, size_t len, const char *fn, size_t fnlen)
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
        size_t used = script_listed_at(q, end, &l);
        if (used == 0) {
            return learnt;
        }
        if (l.name != NULL && l.code != NULL) {
            size_t fns_len;
            char *fns = script_fns_collect(&l, &fns_len);
            script_lib_learn(px, l.name, l.name_len, l.code, l.code_len, 0, fns, fns_len);
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
            script_lib_forget(rl->px, NULL, 0);
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
    rl->reply = script_dup_reply(reply, len);
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
        size_t used = script_listed_at(q, end, &l);
        if (used == 0) {
            return;
        }
        struct script_lib *own = l.name ? script_lib_find(px, l.name, l.name_len) : NULL;
        if (own != NULL && !own->learned && own->fns == NULL && l.code != NULL
            && own->len == l.code_len && memcmp(own->code, l.code, l.code_len) == 0) {
            own->fns = script_fns_collect(&l, &own->fns_len);
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
        script_lib_learn(f->px, nl + 1, (size_t)nlen, f->learn, f->learn_len, 0, NULL, 0);
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
        f->primary_reply = script_dup_reply(reply, len);
        f->primary_len = len;
    }
    if (len > 0 && reply[0] == '-') {
        /* A node we could not reach says nothing about the scripts. */
        if (f->err == NULL && !lost) {
            f->err = script_dup_reply(reply, len);
            f->err_len = len;
        }
    } else {
        if (f->ok == NULL) {
            f->ok = script_dup_reply(reply, len);
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
            script_cache_learn(px, argv[2].ptr, argv[2].len);
            fan_out(s, argc, argv, MERGE_PRIMARY, 0, NULL, 0);
        } else if (arg_is(&argv[1], "flush")) {
            script_cache_clear(px);
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
        script_misses_clear(px->scripts);
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
            script_lib_forget(px, argv[2].ptr, argv[2].len);
        } else if (arg_is(&argv[1], "flush")) {
            script_lib_forget(px, NULL, 0);
        }
        fan_out(s, argc, argv, MERGE_PRIMARY, 1, NULL, 0);
    } else if (arg_is(&argv[1], "kill")) {
        fan_out(s, argc, argv, MERGE_ANY_OK, 0, NULL, 0);
    } else {
        return 0;
    }
    return 1;
}
