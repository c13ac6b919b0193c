/* The call path.  dispatch_command checks a client's command in Redis's
 * order (lookup, unknown subcommand, arity, authentication, memory, role,
 * pause) and then calls it; dispatch_call runs one command for any client
 * (network, our master's stream, the loaders, HTTP, and later EXEC and
 * scripts): clock, propagation of its effects, blocking bookkeeping,
 * statistics and the slow log. */
#include "node/dispatch.h"
#include "node/acl.h"
#include "core/acl_int.h"
#include "core/command.h"
#include "core/util.h"
#include "node/client.h"
#include "node/evict.h"
#include "core/log.h"
#include "node/handlers.h"
#include "node/multi.h"
#include "node/tracking.h"
#include "node/monitor.h"
#include "node/latency.h"
#include "ds/lathist.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/block.h"
#include "node/propagate.h"
#include "node/repl.h"
#include "node/scripting.h"
#include "node/server.h"
#include "node/slowlog.h"

#include <stdio.h>
#include <string.h>

static void
reply_unknown_command(struct client *c)
{
    char msg[512];
    command_unknown_error(msg, sizeof(msg), c->argc, c->argv);
    reply_error(c, msg);
}

/* Role checks, in Redis's order: a master short of good replicas refuses
 * writes; a read-only replica refuses client writes (whatever its link is
 * doing, so a write held by CLIENT PAUSE on a master demoted meanwhile is
 * always answered -READONLY); a replica receiving a full sync answers
 * -LOADING as Redis does while loading; a replica whose link is down
 * refuses what cannot be served stale when told so.  flags are the
 * command's, with EXEC's queued commands' added.  Returns the error or
 * NULL. */
static const char *
reject_by_role(struct client *c, uint32_t flags)
{
    struct server *srv = c->srv;
    if (!repl_is_replica(srv)) {
        if ((flags & CMD_WRITE) && srv->cfg.min_replicas_to_write > 0
            && repl_good_replicas(srv) < srv->cfg.min_replicas_to_write) {
            return "-NOREPLICAS Not enough good replicas to write.";
        }
        return NULL;
    }
    if ((flags & CMD_WRITE) && srv->cfg.replica_read_only) {
        return "-READONLY You can't write against a read only replica.";
    }
    if (srv->repl.link_state == REPL_LINK_TRANSFER && !(flags & CMD_LOADING)) {
        /* The dataset is being replaced by the master's snapshot. */
        return "-LOADING Redis is loading the dataset in memory";
    }
    if (srv->repl.link_state != REPL_LINK_CONNECTED
        && !srv->cfg.replica_serve_stale_data && !(flags & CMD_STALE)) {
        return "-MASTERDOWN Link with MASTER is down and "
               "replica-serve-stale-data is set to 'no'.";
    }
    return NULL;
}

static void
reject(struct client *c, const struct command *cmd)
{
    multi_flag_error(c);
    if (cmd) {
        c->srv->cmdstats[cmd->id].rejected_calls++;
    }
}

/* A check refused the command: inside MULTI the transaction is flagged so
 * that EXEC aborts, and EXEC itself aborts with the reason (as Redis 7.0
 * does, even outside MULTI). */
static void
reject_with(struct client *c, const struct command *cmd, const char *msg)
{
    if (cmd != NULL && cmd->id == CMD_ID_EXEC) {
        multi_exec_abort(c, msg);
    } else {
        reply_error(c, msg);
    }
    reject(c, cmd);
}

/* RESP2's subscribed mode lets only these through (RESP3 has no limit). */
static int
allowed_when_subscribed(const struct command *cmd)
{
    switch (cmd->id) {
    case CMD_ID_PING:
    case CMD_ID_SUBSCRIBE:
    case CMD_ID_SSUBSCRIBE:
    case CMD_ID_UNSUBSCRIBE:
    case CMD_ID_SUNSUBSCRIBE:
    case CMD_ID_PSUBSCRIBE:
    case CMD_ID_PUNSUBSCRIBE:
    case CMD_ID_QUIT:
    case CMD_ID_RESET:
        return 1;
    default:
        return 0;
    }
}

/* Inside MULTI every command but the ones that end it is refused when
 * memory is short: the queue itself would grow without bound. */
static int
oom_rejects(const struct client *c, const struct command *cmd, uint32_t flags)
{
    if (flags & CMD_DENYOOM) {
        return 1;
    }
    if (!(c->flags & CLIENT_MULTI)) {
        return 0;
    }
    return cmd->id != CMD_ID_EXEC && cmd->id != CMD_ID_DISCARD
           && cmd->id != CMD_ID_QUIT && cmd->id != CMD_ID_RESET;
}

void
dispatch_command(struct client *c)
{
    struct server *srv = c->srv;
    const struct command *cmd = command_lookup(c->argv[0].ptr, c->argv[0].len);
    cmd_handler_fn fn;
    const char *err;

    c->cmd = NULL;
    if (cmd != NULL && !handlers_implements(cmd)) {
        cmd = NULL; /* a row only the proxy answers (SENTINEL) */
    }
    /* DEBUG is refused before its subcommand is even looked up, as Redis
     * refuses it (unless enable-debug-command allows this client). */
    if (cmd != NULL && cmd->id == CMD_ID_DEBUG && command_arity_ok(cmd, c->argc)
        && !client_protected_allowed(c, srv->cfg.enable_debug_command)) {
        c->cmd = cmd;
        reply_error(c, "DEBUG command not allowed. If the enable-debug-command "
                       "option is set to \"local\", you can run it from a local "
                       "connection, otherwise you need to set this option in the "
                       "configuration file, and then restart the server.");
        reject(c, cmd);
        return;
    }
    if (cmd != NULL && cmd->nsubs > 0 && c->argc >= 2) {
        const struct command *sub =
            command_lookup_sub(cmd, c->argv[1].ptr, c->argv[1].len);
        if (sub == NULL || handlers_get(sub->id) == NULL) {
            c->cmd = cmd;
            reply_subcommand_error(c);
            reject(c, cmd);
            return;
        }
        cmd = sub;
    }
    fn = cmd ? handlers_get(cmd->id) : NULL;
    if (cmd == NULL || (fn == NULL && cmd->nsubs == 0)) {
        reply_unknown_command(c);
        reject(c, NULL);
        return;
    }
    c->cmd = cmd;
    if (!command_arity_ok(cmd, c->argc)) {
        if (cmd->id == CMD_ID_EXEC) {
            multi_exec_abort(c, "wrong number of arguments for 'exec' command");
        } else {
            reply_arity_error(c);
        }
        reject(c, cmd);
        return;
    }
    uint32_t flags = cmd->flags;
    if (cmd->id == CMD_ID_EXEC) {
        flags |= multi_queued_flags(c);
        /* As Redis 7.0: EXEC may run on a stale replica only when every
         * queued command may (GET or PING queued before the link went
         * down makes it answer EXECABORT ... MASTERDOWN). */
        flags &= ~(multi_queued_lacking(c) & CMD_STALE);
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH)) {
        reject_with(c, cmd, "-NOAUTH Authentication required.");
        return;
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        reject_with(c, cmd, "Command not allowed inside a transaction");
        return;
    }
    /* The usual case tested here, without acl_check_client's call (and the
     * callee-saved register frame its slow path needs). */
    if (c->user != NULL && !acl_user_allowed_by_bit(c->user, cmd->id)) {
        char msg[512];
        if (acl_check_client(c, cmd, c->argc, c->argv,
                             (c->flags & CLIENT_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
                             msg, sizeof(msg)) != ACL_OK) {
            reject_with(c, cmd, msg);
            return;
        }
    }
    /* As Redis: clients over maxmemory-clients go before keys do (a
     * pipeline's replies so far count), this one too perhaps. */
    if (srv->cfg.maxmemory > 0 && srv->cmem.on) {
        CLIENTMEM_CHECK(c);
        if (c->flags & CLIENT_CLOSE_ASAP) {
            return;
        }
    }
    /* The master's stream is never refused: a replica evicting by its own
     * maxmemory (replica-ignore-maxmemory no) must still apply it. */
    if (srv->cfg.maxmemory > 0 && evict_perform(srv) != 0
        && oom_rejects(c, cmd, flags) && !(c->flags & CLIENT_MASTER)) {
        reject_with(c, cmd, "-OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    /* stop-writes-on-bgsave-error: after a failed BGSAVE, writes (and PING,
     * which health checks send) get -MISCONF until one succeeds.  The
     * master's stream still applies (Redis would stop the replica unless
     * replica-ignore-disk-write-errors). */
    if (!srv->persist.last_bgsave_ok /* almost always set: no call per write */
        && ((flags & CMD_WRITE) || cmd->id == CMD_ID_PING) && !(c->flags & CLIENT_MASTER)
        && persist_writes_denied(srv)) {
        reject_with(c, cmd, "-MISCONF Redis is configured to save RDB snapshots, but it's "
                    "currently unable to persist to disk. Commands that may modify the data "
                    "set are disabled, because this instance is configured to report errors "
                    "during writes if RDB snapshotting fails (stop-writes-on-bgsave-error "
                    "option). Please check the Redis logs for details about the RDB error.");
        return;
    }
    if (!(c->flags & CLIENT_MASTER) && (err = reject_by_role(c, flags)) != NULL) {
        reject_with(c, cmd, err);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2 && !allowed_when_subscribed(cmd)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Can't execute '%s': only (P|S)SUBSCRIBE / "
                 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                 cmd->fullname);
        reject_with(c, cmd, msg);
        return;
    }
    /* A replica's link, and a MONITOR (which Redis marks as a replica),
     * may not touch the keyspace. */
    if ((c->flags & (CLIENT_REPLICA | CLIENT_MONITOR))
        && (flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE))) {
        reject_with(c, cmd, "Replica can't interact with the keyspace");
        return;
    }
    /* While a script runs past busy-reply-threshold only allow-busy
     * commands (SCRIPT KILL, SHUTDOWN NOSAVE...) are answered. */
    const char *busy = scripting_busy_reject(c, cmd);
    if (busy != NULL) {
        reject_with(c, cmd, busy);
        return;
    }
    /* Last, as Redis: a client whose command is held by CLIENT PAUSE has
     * had its errors for bad arguments at once; the command itself comes
     * back here, from the top, when the pause ends. */
    if (pause_holds(srv, c, cmd, flags)) {
        block_for_pause(c);
        return;
    }
    if (multi_queue(c, cmd)) {
        return;
    }

    dispatch_call(c, cmd);
}

void
dispatch_call(struct client *c, const struct command *cmd)
{
    struct server *srv = c->srv;
    cmd_handler_fn fn = handlers_get(cmd->id);
    /* Per-call state is saved and restored, not reset, so that a call made
     * from inside another (EXEC, a script) leaves its caller's intact. */
    int saved_from_master = srv->ks.from_master;
    int saved_no_touch = srv->ks.no_touch;
    long long saved_now = srv->ks.now_ms;
    long long saved_errors = c->cmd_errors;
    const struct command *saved_cmd = c->cmd;
    int nested = srv->prop.depth > 0;
    /* The previous command of the same input ended a moment ago: its end
     * reading is this one's start (one clock read per command, not two). */
    long long start = !nested && srv->call_clock_us != 0 ? srv->call_clock_us
                                                         : util_monotonic_us();
    long long dirty_before = srv->ks.dirty;
    size_t mark = propagate_call_begin(srv);
    int from_master = (c->flags & CLIENT_MASTER) != 0;

    if (!nested) {
        /* Nested calls see their caller's clock: a transaction or script
         * runs at one instant. */
        srv->ks.now_ms = util_clock_ms(&srv->ks.clock, start);
        tracking_call_begin(c);
    }
    srv->ks.from_master = from_master;
    srv->ks.no_touch = (c->flags & CLIENT_NO_TOUCH) && cmd->id != CMD_ID_TOUCH;
    c->cmd = cmd;
    c->cmd_errors = 0;
    c->redact = 0;
    fn(c);
    srv->ks.no_touch = saved_no_touch;
    if (srv->monitors.n > 0) {
        monitor_feed(c, cmd);
    }
    tracking_command_done(c, cmd);
    if (!nested) {
        tracking_call_end(c, cmd);
    }
    long long end = util_monotonic_us();
    long long dur = end - start;
    if (!nested && (c->flags & CLIENT_IN_CALLBACK)) {
        srv->call_clock_us = end;
    }
    if (srv->cfg.latency_monitor_threshold > 0) {
        latency_add_sample_if_needed(srv, (cmd->flags & CMD_FAST) ? "fast-command" : "command",
                                     dur / 1000);
    }
    if (from_master && c->cmd_errors > 0) {
        log_warn("Command '%s' from our master failed", cmd->fullname);
    }
    propagate_call_end(c, mark, dirty_before);
    block_call_done(c);

    struct command_stats *st = &srv->cmdstats[cmd->id];
    /* A command that blocked on keys counts when it is served or times out
     * (its re-run), not also when it blocked: one call, as Redis 7.0's
     * commandstats, total_commands_processed and slowlog have it. */
    int keywait = (c->flags & CLIENT_KEYWAIT) != 0;
    if (!keywait) {
        st->calls++;
        st->usec += dur;
        srv->stats.total_commands++;
        if (srv->cfg.latency_tracking) {
            if (st->hist == NULL) {
                st->hist = lathist_create();
            }
            lathist_record_us(st->hist, dur);
        }
    }
    if (c->cmd_errors > 0) {
        st->failed_calls++;
    }
    c->lastcmd = cmd;
    if (!nested && !keywait && dur >= srv->cfg.slowlog_log_slower_than
        && srv->cfg.slowlog_log_slower_than >= 0) {
        slowlog_maybe_add(srv, c, dur);
    }
    srv->ks.from_master = saved_from_master;
    if (nested) {
        srv->ks.now_ms = saved_now;
        c->cmd = saved_cmd;
        /* An error of a command EXEC runs is that command's failed call,
         * not EXEC's (Redis 7.0's commandstats): the caller keeps only the
         * errors it replied itself. */
        c->cmd_errors = saved_errors;
    } else {
        /* Clients blocked on keys this command wrote are served now, before
         * the writer's next pipelined command (as Redis 7.0 does). */
        block_serve_ready(srv);
    }
}
