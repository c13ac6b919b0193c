/* Requests that span groups.  Multi-key commands whose keys live in several
 * groups (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) are split into one
 * request per group; keyless commands that concern the whole dataset
 * (DBSIZE, FLUSHDB, FLUSHALL, KEYS) go to every group.  The parts' replies
 * are merged into one, in the client's key order, and released through the
 * parent request, which keeps its place in the session's reply order.  A
 * split is not atomic: some groups may apply their part while another
 * fails; the merged reply is then the first error. */
#include "proxy/fanout.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fan_mode { FAN_NONE = 0, FAN_MGET, FAN_SUM, FAN_ALL_OK, FAN_CONCAT };

/* How a command is split (keys over groups) or spread (keyless). */
static const unsigned char split_modes[CMD_ID__COUNT] = {
    [CMD_ID_MGET] = FAN_MGET,
    [CMD_ID_MSET] = FAN_ALL_OK,
    [CMD_ID_DEL] = FAN_SUM,
    [CMD_ID_UNLINK] = FAN_SUM,
    [CMD_ID_EXISTS] = FAN_SUM,
    [CMD_ID_TOUCH] = FAN_SUM,
};
static const unsigned char spread_modes[CMD_ID__COUNT] = {
    [CMD_ID_DBSIZE] = FAN_SUM,
    [CMD_ID_FLUSHDB] = FAN_ALL_OK,
    [CMD_ID_FLUSHALL] = FAN_ALL_OK,
    [CMD_ID_KEYS] = FAN_CONCAT,
};

struct fanout {
    struct preq *parent;         /* borrowed: on the session's FIFO */
    int mode;
    size_t nparts;
    size_t pending;
    char **replies;              /* owned, one per part */
    size_t *lens;
    size_t nkeys;                /* MGET: where each key's value is */
    int *key_part;               /* owned */
    int *key_pos;                /* owned */
};

int
fanout_can_split(const struct command *cmd)
{
    return split_modes[cmd->id] != FAN_NONE;
}

int
fanout_can_spread(const struct command *cmd)
{
    return spread_modes[cmd->id] != FAN_NONE;
}

char *
fanout_encode(size_t argc, const struct resp_arg *argv, size_t *lenp)
{
    return resp_command_encode(argc, argv, lenp);
}

static void
fanout_free(struct fanout *f)
{
    for (size_t i = 0; i < f->nparts; i++) {
        mem_free(f->replies[i]);
    }
    mem_free(f->replies);
    mem_free(f->lens);
    mem_free(f->key_part);
    mem_free(f->key_pos);
    mem_free(f);
}

/* Parse an array reply's header; returns the element count and sets *body,
 * or -1 when the reply is not an array. */
static long long
array_header(const char *r, size_t len, const char **body)
{
    const char *cr = memchr(r, '\r', len);
    long long n;
    if (len < 4 || r[0] != '*' || cr == NULL
        || util_str2ll(r + 1, (size_t)(cr - r - 1), &n) != 0 || n < 0) {
        return -1;
    }
    *body = cr + 2;
    return n;
}

static void
fanout_finish(struct fanout *f)
{
    struct preq *parent = f->parent;
    char *out = NULL;
    size_t outlen = 0;
    char small[64];

    /* The first error wins: the client learns the split did not fully
     * succeed (parts may still have been applied). */
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->lens[i] > 0 && f->replies[i][0] == '-') {
            session_deliver(parent, f->replies[i], f->lens[i]);
            fanout_free(f);
            return;
        }
    }
    switch (f->mode) {
    case FAN_SUM: {
        long long sum = 0, v;
        for (size_t i = 0; i < f->nparts; i++) {
            if (f->lens[i] > 3 && f->replies[i][0] == ':'
                && util_str2ll(f->replies[i] + 1, f->lens[i] - 3, &v) == 0) {
                sum += v;
            }
        }
        outlen = (size_t)snprintf(small, sizeof(small), ":%lld\r\n", sum);
        session_deliver(parent, small, outlen);
        break;
    }
    case FAN_ALL_OK:
        session_deliver(parent, "+OK\r\n", 5);
        break;
    case FAN_CONCAT: {
        long long total = 0;
        size_t cap = 32;
        for (size_t i = 0; i < f->nparts; i++) {
            const char *body;
            long long n = array_header(f->replies[i], f->lens[i], &body);
            total += n > 0 ? n : 0;
            cap += f->lens[i];
        }
        out = mem_alloc(cap);
        outlen = resp_fmt_prefixed(out, '*', total);
        for (size_t i = 0; i < f->nparts; i++) {
            const char *body;
            if (array_header(f->replies[i], f->lens[i], &body) > 0) {
                size_t n = f->lens[i] - (size_t)(body - f->replies[i]);
                memcpy(out + outlen, body, n);
                outlen += n;
            }
        }
        session_deliver(parent, out, outlen);
        break;
    }
    case FAN_MGET: {
        /* Element boundaries of each part's array, then the values in the
         * client's key order. */
        const char ***elems = mem_calloc(f->nparts * sizeof(*elems));
        size_t **elens = mem_calloc(f->nparts * sizeof(*elens));
        size_t cap = 32;
        for (size_t i = 0; i < f->nparts; i++) {
            const char *body;
            long long n = array_header(f->replies[i], f->lens[i], &body);
            cap += f->lens[i];
            if (n <= 0) {
                continue;
            }
            elems[i] = mem_alloc((size_t)n * sizeof(char *));
            elens[i] = mem_alloc((size_t)n * sizeof(size_t));
            const char *p = body, *end = f->replies[i] + f->lens[i];
            for (long long k = 0; k < n; k++) {
                struct resp_scan sc;
                resp_scan_init(&sc);
                if (resp_scan_next(&sc, p, (size_t)(end - p)) != 1) {
                    break;
                }
                elems[i][k] = p;
                elens[i][k] = sc.pos;
                p += sc.pos;
            }
        }
        out = mem_alloc(cap);
        outlen = resp_fmt_prefixed(out, '*', (long long)f->nkeys);
        for (size_t k = 0; k < f->nkeys; k++) {
            int part = f->key_part[k], pos = f->key_pos[k];
            if (elems[part] != NULL && elens[part][pos] > 0) {
                memcpy(out + outlen, elems[part][pos], elens[part][pos]);
                outlen += elens[part][pos];
            } else {
                memcpy(out + outlen, "$-1\r\n", 5);
                outlen += 5;
            }
        }
        for (size_t i = 0; i < f->nparts; i++) {
            mem_free((void *)elems[i]);
            mem_free(elens[i]);
        }
        mem_free(elems);
        mem_free(elens);
        session_deliver(parent, out, outlen);
        break;
    }
    default:
        session_deliver(parent, "-ERR internal fan-out error\r\n", 29);
        break;
    }
    mem_free(out);
    fanout_free(f);
}

void
fanout_part_done(struct preq *r, const char *reply, size_t len)
{
    struct fanout *f = r->fan;
    f->replies[r->fan_idx] = mem_alloc(len ? len : 1);
    memcpy(f->replies[r->fan_idx], reply, len);
    f->lens[r->fan_idx] = len;
    if (--f->pending == 0) {
        fanout_finish(f);
    }
}

/* Send one part to group g's master (writes) or per read policy (reads). */
static void
send_part(struct proxy *px, struct fanout *f, int idx, struct group *g, int is_write,
          const char *frame, size_t len)
{
    struct preq *r = mem_calloc(sizeof(*r));
    struct session *s = f->parent->s;
    struct node *target =
        topology_read_target(px, g, !is_write && px->cfg.read_policy == READ_REPLICAS, 0);
    r->fan = f;
    r->fan_idx = idx;
    r->affinity = f->parent->affinity;
    r->select_db = f->parent->select_db;
    /* Under write-ack a write part goes on the session's private
     * connection to the master, its WAIT behind it, as the session's other
     * writes (and a read part follows them there): the master runs them in
     * the session's order.  Their replies (+OK, integers) read the same in
     * RESP2 and RESP3, whatever that connection speaks. */
    int acked = is_write && s != NULL && px->cfg.write_ack != 0;
    struct backend *on = NULL;
    if (target != NULL && s != NULL) {
        on = acked ? session_own_connection(s, g) : session_ordered_connection(s, target);
    }
    if (target == NULL || (acked && on == NULL)
        || backend_send(px, target, on, r, frame, len) != 0) {
        char err[320];
        int n = snprintf(err, sizeof(err), "-ERR cachely-proxy: group %s is not reachable\r\n",
                         g->name);
        fanout_part_done(r, err, (size_t)n);
        mem_free(r);
        return;
    }
    if (is_write && s != NULL) {
        if (acked) {
            session_ack_after(s, g, r);
        }
        session_track_write(s, target, r->backend); /* read-your-writes */
    }
}

static struct fanout *
fanout_new(struct preq *parent, int mode, size_t nparts)
{
    struct fanout *f = mem_calloc(sizeof(*f));
    f->parent = parent;
    f->mode = mode;
    f->nparts = nparts;
    /* One extra count while parts are being sent, so a part that fails at
     * once cannot finish the fan-out under our feet. */
    f->pending = nparts + 1;
    f->replies = mem_calloc(nparts * sizeof(char *));
    f->lens = mem_calloc(nparts * sizeof(size_t));
    return f;
}

static void
fanout_sent(struct fanout *f)
{
    if (--f->pending == 0) {
        fanout_finish(f);
    }
}

void
fanout_split(struct proxy *px, struct preq *parent, const struct command *cmd, size_t argc,
             const struct resp_arg *argv)
{
    size_t step = (size_t)cmd->key_step, nkeys = (argc - 1) / step;
    int *gidx = mem_alloc(nkeys * sizeof(int));
    int *part_of_group = mem_alloc(px->ngroups * sizeof(int));
    size_t nparts = 0;

    for (size_t g = 0; g < px->ngroups; g++) {
        part_of_group[g] = -1;
    }
    for (size_t k = 0; k < nkeys; k++) {
        const struct resp_arg *key = &argv[1 + k * step];
        gidx[k] = (int)(topology_group_of_key(px, key->ptr, key->len) - px->groups);
        if (part_of_group[gidx[k]] < 0) {
            part_of_group[gidx[k]] = (int)nparts++;
        }
    }
    struct fanout *f = fanout_new(parent, split_modes[cmd->id], nparts);
    f->nkeys = nkeys;
    f->key_part = mem_alloc(nkeys * sizeof(int));
    f->key_pos = mem_alloc(nkeys * sizeof(int));
    /* Build each part: the command name, then its keys (and values) in the
     * client's order. */
    struct resp_arg *args = mem_alloc((1 + nkeys * step) * sizeof(*args));
    int *count = mem_calloc(nparts * sizeof(int));
    for (size_t k = 0; k < nkeys; k++) {
        int part = part_of_group[gidx[k]];
        f->key_part[k] = part;
        f->key_pos[k] = count[part]++;
    }
    px->fanouts++;
    for (size_t g = 0; g < px->ngroups; g++) {
        int part = part_of_group[g];
        if (part < 0) {
            continue;
        }
        size_t n = 0;
        args[n++] = argv[0];
        for (size_t k = 0; k < nkeys; k++) {
            if (gidx[k] == (int)g) {
                for (size_t j = 0; j < step; j++) {
                    args[n++] = argv[1 + k * step + j];
                }
            }
        }
        size_t len;
        char *frame = fanout_encode(n, args, &len);
        send_part(px, f, part, &px->groups[g], (cmd->flags & CMD_WRITE) != 0, frame, len);
        mem_free(frame);
    }
    mem_free(count);
    mem_free(args);
    mem_free(part_of_group);
    mem_free(gidx);
    fanout_sent(f);
}

void
fanout_spread(struct proxy *px, struct preq *parent, const struct command *cmd,
              const char *frame, size_t len)
{
    struct fanout *f = fanout_new(parent, spread_modes[cmd->id], px->ngroups);
    px->fanouts++;
    for (size_t g = 0; g < px->ngroups; g++) {
        send_part(px, f, (int)g, &px->groups[g], (cmd->flags & CMD_WRITE) != 0, frame, len);
    }
    fanout_sent(f);
}
