/* The state changes a transaction queues (SELECT, HELLO, CLIENT SETNAME
 * inside MULTI): which commands they are, remembered by their place in
 * EXEC's array, and applied to the session and its connection once EXEC's
 * reply says they ran. */
#include "proxy/txn.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"
#include "proxy/txn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
txn_fx_free(struct txn_fx **fxp)
{
    struct txn_fx *fx = *fxp;
    if (fx != NULL) {
        for (size_t i = 0; i < fx->n; i++) {
            mem_free(fx->items[i].name);
            mem_free(fx->items[i].channel);
        }
        mem_free(fx->items);
        mem_free(fx);
        *fxp = NULL;
    }
}

static int
arg_is(const struct resp_arg *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

/* Which state change a local command inside MULTI is: FX_* (FX_NONE for
 * CLIENT GETNAME, which only reads the name; FX_PUBLISH for PUBLISH and
 * SPUBLISH, which go to the master like any other command but whose count
 * the proxy corrects), or -1 when it stays refused (the proxy's own
 * commands, HELLO with AUTH). */
int
txn_fx_kind_of(const struct command *cmd, size_t argc, const struct resp_arg *argv)
{
    switch (cmd->id) {
    case CMD_ID_SELECT:
        return FX_SELECT;
    case CMD_ID_CLIENT:
        if (argc == 3 && arg_is(&argv[1], "setname")) {
            return FX_SETNAME;
        }
        return argc == 2 && arg_is(&argv[1], "getname") ? FX_NONE : -1;
    case CMD_ID_HELLO:
        for (size_t i = 2; i < argc; i++) {
            if (arg_is(&argv[i], "auth")) {
                return -1; /* the node's users are not the proxy's */
            }
        }
        return FX_HELLO;
    case CMD_ID_PUBLISH:
        return FX_PUBLISH;
    case CMD_ID_SPUBLISH:
        return FX_SPUBLISH;
    default:
        return -1;
    }
}

/* Remember a state change queued as element t->nqueued of EXEC's array. */
void
txn_fx_add(struct txn *t, int kind, size_t argc, const struct resp_arg *argv)
{
    struct txn_fx_item it;
    memset(&it, 0, sizeof(it));
    it.index = t->nqueued;
    it.kind = kind;
    if (kind == FX_PUBLISH || kind == FX_SPUBLISH) {
        if (argc != 3) {
            return; /* refused before it is queued */
        }
        it.channel = mem_strndup(argv[1].ptr, argv[1].len);
        it.channel_len = argv[1].len;
    } else if (kind == FX_SELECT) {
        if (util_str2ll(argv[1].ptr, argv[1].len, &it.value) != 0) {
            return; /* the node answers with an error: nothing changes */
        }
    } else if (kind == FX_SETNAME) {
        it.name = mem_strndup(argv[2].ptr, argv[2].len);
        it.has_name = 1;
    } else if (kind == FX_HELLO) {
        if (argc >= 2 && util_str2ll(argv[1].ptr, argv[1].len, &it.value) != 0) {
            return;
        }
        for (size_t i = 2; i + 1 < argc; i++) {
            if (arg_is(&argv[i], "setname")) {
                mem_free(it.name);
                it.name = mem_strndup(argv[i + 1].ptr, argv[i + 1].len);
                it.has_name = 1;
                i++;
            }
        }
    } else {
        return;
    }
    if (t->fx == NULL) {
        t->fx = mem_calloc(sizeof(*t->fx));
    }
    t->fx->items = mem_realloc(t->fx->items, (t->fx->n + 1) * sizeof(*t->fx->items));
    t->fx->items[t->fx->n++] = it;
}

static void
set_name(char **dst, const struct txn_fx_item *it)
{
    mem_free(*dst);
    *dst = it->name != NULL && it->name[0] != '\0' ? mem_strndup(it->name, strlen(it->name))
                                                    : NULL;
}

static void
fx_apply(struct session *s, struct backend *b, const struct txn_fx_item *it)
{
    struct proxy *px = b->node->px;
    switch (it->kind) {
    case FX_SELECT:
        if (it->value >= 0 && it->value < px->cfg.databases) {
            if (s != NULL) {
                s->db = (int)it->value;
            }
            if (b->fd >= 0) {
                b->db = (int)it->value;
            }
        }
        break;
    case FX_HELLO:
        if (it->value == 2 || it->value == 3) {
            if (s != NULL) {
                s->resp = (int)it->value;
            }
            b->resp3 = it->value == 3; /* the node switched the connection */
        }
        break;
    default:
        break;
    }
    if (it->has_name) { /* CLIENT SETNAME, HELLO ... SETNAME */
        if (s != NULL) {
            set_name(&s->name, it);
        }
        if (b->fd >= 0) {
            set_name(&b->name, it);
        }
    }
}

static int
is_publish(const struct txn_fx_item *it)
{
    return it->kind == FX_PUBLISH || it->kind == FX_SPUBLISH;
}

int
txn_fx_sent(struct txn_fx *fx, struct proxy *px, const struct group *g)
{
    int state = 0;
    for (size_t i = 0; i < fx->n; i++) {
        struct txn_fx_item *it = &fx->items[i];
        if (is_publish(it)) {
            nodesub_count_now(px, g, it->kind == FX_SPUBLISH, it->channel, it->channel_len,
                              &it->count);
        } else {
            state = 1;
        }
    }
    return state;
}

char *
txn_exec_replied(struct preq *r, const char *reply, size_t len, size_t *outlen)
{
    struct txn_fx *fx = r->txn_fx;
    struct session *s = r->s;
    struct backend *b = r->backend;
    long long n = -1;
    const char *nl;
    char *out = NULL;
    size_t o = 0;
    r->txn_fx = NULL;
    size_t publishes = 0;
    for (size_t k = 0; k < fx->n; k++) {
        publishes += is_publish(&fx->items[k]);
    }
    if (s != NULL && s->txn != NULL && publishes < fx->n) {
        s->txn->fx_pending = 0; /* set by txn_fx_sent for this EXEC */
    }
    /* An array (not "*-1", an error or RESP3's null): the transaction ran. */
    if (b != NULL && len > 3 && reply[0] == '*' && reply[1] != '-'
        && (nl = memchr(reply, '\n', len)) != NULL) {
        n = strtoll(reply + 1, NULL, 10);
        size_t off = (size_t)(nl + 1 - reply);
        if (publishes > 0) {
            /* A count is at most 22 bytes (":" LLONG_MIN "\r\n"). */
            out = mem_alloc(len + publishes * 24);
            memcpy(out, reply, off);
            o = off;
        }
        for (long long i = 0; i < n && off < len; i++) {
            struct resp_scan sc;
            resp_scan_init(&sc);
            if (resp_scan_next(&sc, reply + off, len - off) != 1) {
                break;
            }
            int fixed = 0;
            for (size_t k = 0; k < fx->n; k++) {
                const struct txn_fx_item *it = &fx->items[k];
                if (it->index != (size_t)i || sc.type == '-') {
                    continue;
                }
                if (is_publish(it) && sc.type == ':') {
                    long long c =
                        nodesub_count_fix(&it->count, strtoll(reply + off + 1, NULL, 10));
                    o += (size_t)snprintf(out + o, 24, ":%lld\r\n", c);
                    fixed = 1;
                } else {
                    fx_apply(s, b, it);
                }
            }
            if (out != NULL && !fixed) {
                memcpy(out + o, reply + off, sc.pos);
                o += sc.pos;
            }
            off += sc.pos;
        }
        if (out != NULL) {
            memcpy(out + o, reply + off, len - off); /* nothing, for a whole reply */
            o += len - off;
        }
    }
    txn_fx_free(&fx);
    *outlen = o;
    return out;
}
