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
 * CLIENT GETNAME, which only reads the name), or -1 when it stays refused
 * (the proxy's own commands, HELLO with AUTH). */
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
    default:
        return -1;
    }
}

/* Remember a state change queued as element t->nqueued of EXEC's array. */
void
txn_fx_add(struct txn *t, int kind, size_t argc, const struct resp_arg *argv)
{
    struct txn_fx_item it = {t->nqueued, kind, 0, NULL, 0};
    if (kind == FX_SELECT) {
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

void
txn_exec_replied(struct preq *r, const char *reply, size_t len)
{
    struct txn_fx *fx = r->txn_fx;
    struct session *s = r->s;
    struct backend *b = r->backend;
    long long n = -1;
    const char *nl;
    r->txn_fx = NULL;
    if (s != NULL && s->txn != NULL) {
        s->txn->fx_pending = 0;
    }
    /* An array (not "*-1", an error or RESP3's null): the transaction ran. */
    if (b != NULL && len > 3 && reply[0] == '*' && reply[1] != '-'
        && (nl = memchr(reply, '\n', len)) != NULL) {
        n = strtoll(reply + 1, NULL, 10);
        size_t off = (size_t)(nl + 1 - reply);
        for (long long i = 0; i < n && off < len; i++) {
            struct resp_scan sc;
            resp_scan_init(&sc);
            if (resp_scan_next(&sc, reply + off, len - off) != 1) {
                break;
            }
            for (size_t k = 0; k < fx->n; k++) {
                if (fx->items[k].index == (size_t)i && sc.type != '-') {
                    fx_apply(s, b, &fx->items[k]);
                }
            }
            off += sc.pos;
        }
    }
    txn_fx_free(&fx);
}
