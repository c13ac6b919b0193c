/* Replication commands: REPLICAOF/SLAVEOF, PSYNC/SYNC, REPLCONF, WAIT. */
#include "core/status.h"
#include "core/util.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/repl.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
arg_is(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/* With EPOCH, the order is obeyed only when its epoch is not older than the
 * node's (see repl_config_epoch_adopt); checks on the arguments come first,
 * so a refused order changes nothing, the epoch included. */
static int
replicaof_adopt_epoch(struct client *c, long long epoch)
{
    if (epoch < 0) {
        return 0; /* no EPOCH: as Redis, the epoch is left alone */
    }
    if (repl_config_epoch_adopt(c->srv, epoch) != STATUS_OK) {
        reply_errorf(c, "-STALE epoch %lld is older than this node's epoch %lld", epoch,
                     c->srv->repl.config_epoch);
        return -1;
    }
    return 0;
}

/* REPLICAOF host port | NO ONE, as Redis, plus an optional EPOCH <n>. */
void
cmd_replicaof(struct client *c)
{
    struct server *srv = c->srv;
    char host[256];
    long long port, epoch = -1;

    /* Any other shape is Redis's arity error (REPLICAOF takes exactly two
     * arguments there). */
    if (c->argc != 3 && (c->argc != 5 || !arg_is(&c->argv[3], "epoch"))) {
        reply_arity_error(c);
        return;
    }
    if (c->argc == 5
        && (util_str2ll(c->argv[4].ptr, c->argv[4].len, &epoch) != 0 || epoch < 0)) {
        reply_not_integer(c);
        return;
    }
    if (arg_is(&c->argv[1], "no") && arg_is(&c->argv[2], "one")) {
        if (replicaof_adopt_epoch(c, epoch) != 0) {
            return;
        }
        if (repl_is_replica(srv)) {
            repl_set_master(srv, NULL, 0);
        }
        reply_ok(c);
        return;
    }
    if (c->flags & CLIENT_REPLICA) {
        reply_error(c, "Command is not valid when client is a replica.");
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &port) != 0 || port < 0
        || port > 65535) {
        reply_error(c, "Invalid master port");
        return;
    }
    if (c->argv[1].len >= sizeof(host) || c->argv[1].len == 0) {
        reply_error(c, "Invalid master host");
        return;
    }
    memcpy(host, c->argv[1].ptr, c->argv[1].len);
    host[c->argv[1].len] = '\0';
    if (replicaof_adopt_epoch(c, epoch) != 0) {
        return;
    }
    if (repl_is_replica(srv) && srv->repl.master_port == port
        && strcasecmp(srv->repl.master_host, host) == 0) {
        reply_status(c, "OK Already connected to specified master");
        return;
    }
    repl_set_master(srv, host, (int)port);
    reply_ok(c);
}

void
cmd_psync(struct client *c)
{
    long long offset;
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &offset) != 0) {
        reply_not_integer(c);
        return;
    }
    repl_master_psync(c, c->argv[1].ptr, c->argv[1].len, offset, 0);
}

void
cmd_sync(struct client *c)
{
    repl_master_psync(c, "?", 1, -1, 1);
}

void
cmd_replconf(struct client *c)
{
    long long v;
    if (c->argc % 2 == 0) {
        reply_syntax_error(c);
        return;
    }
    for (size_t i = 1; i < c->argc; i += 2) {
        const struct resp_arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (arg_is(opt, "ack")) {
            /* ACKs get no reply: the replica is not reading any. */
            if (util_str2ll(val->ptr, val->len, &v) == 0) {
                repl_master_ack(c, v);
            }
            return;
        } else if (arg_is(opt, "getack")) {
            repl_replica_getack(c);
            return;
        } else if (arg_is(opt, "listening-port")) {
            if (util_str2ll(val->ptr, val->len, &v) != 0 || v < 0 || v > 65535) {
                reply_not_integer(c);
                return;
            }
            c->repl_listening_port = (int)v;
        } else if (arg_is(opt, "ip-address")) {
            size_t n = val->len < sizeof(c->repl_ip) - 1 ? val->len : sizeof(c->repl_ip) - 1;
            memcpy(c->repl_ip, val->ptr, n);
            c->repl_ip[n] = '\0';
        } else if (arg_is(opt, "capa") && arg_is(val, "eof")) {
            c->repl_capa_eof = 1;
        } else if (arg_is(opt, "capa") || arg_is(opt, "rdb-only")
                   || arg_is(opt, "rdb-filter-only")) {
            /* Capabilities we do not need to act on. */
        } else {
            reply_errorf(c, "Unrecognized REPLCONF option: %.*s",
                         (int)(opt->len > 64 ? 64 : opt->len), opt->ptr);
            return;
        }
    }
    reply_ok(c);
}

void
cmd_wait(struct client *c)
{
    struct server *srv = c->srv;
    long long numreplicas, timeout;
    int acked;

    if (repl_is_replica(srv)) {
        reply_error(c, "WAIT cannot be used with replica instances. Please also note "
                       "that since Redis 4.0 if a replica is configured to be writable "
                       "(which is not the default) writes to replicas are just local "
                       "and are not propagated.");
        return;
    }
    if (util_str2ll(c->argv[1].ptr, c->argv[1].len, &numreplicas) != 0) {
        reply_not_integer(c);
        return;
    }
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, &timeout) != 0) {
        reply_error(c, "timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        reply_error(c, "timeout is negative");
        return;
    }
    acked = repl_replicas_acked(srv, c->woff);
    if (acked >= numreplicas) {
        reply_int(c, acked);
        return;
    }
    repl_block_wait(c, c->woff, numreplicas, timeout);
}

/* ROLE as Redis answers it: ["master", offset, [[ip, port, acked]...]] or
 * ["slave", host, port, link state, processed offset]. */
void
cmd_role(struct client *c)
{
    struct server *srv = c->srv;
    struct repl *r = &srv->repl;
    char num[24];

    if (repl_is_replica(srv)) {
        reply_array_len(c, 5);
        reply_bulk_cstr(c, "slave");
        reply_bulk_cstr(c, r->master_host);
        reply_int(c, r->master_port);
        reply_bulk_cstr(c, repl_link_state_name(r->link_state));
        reply_int(c, r->link_state == REPL_LINK_CONNECTED ? r->offset : -1);
        return;
    }
    reply_array_len(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, r->offset);
    reply_array_len(c, (long long)r->nreplicas);
    for (size_t i = 0; i < r->nreplicas; i++) {
        struct client *rc = r->replicas[i];
        char ip[64];
        const char *colon = strrchr(rc->addr, ':');
        snprintf(ip, sizeof(ip), "%.*s", colon ? (int)(colon - rc->addr) : 0, rc->addr);
        reply_array_len(c, 3);
        reply_bulk_cstr(c, rc->repl_ip[0] ? rc->repl_ip : ip);
        reply_bulk(c, num, util_ll2str(num, rc->repl_listening_port));
        reply_bulk(c, num, util_ll2str(num, rc->repl_ack_off));
    }
}
