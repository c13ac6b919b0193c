/* MONITOR through the proxy: a session that sent MONITOR receives a line
 * for every command any session of this proxy runs, in Redis's format
 * (+<seconds>.<micros> [<db> <client addr>] "arg" "arg"...).  What the
 * proxy itself sends to the nodes (probes, AUTH, subscriber links) is not
 * shown: a node's own MONITOR shows that. */
#ifndef CACHELY_PROXY_MONITOR_H
#define CACHELY_PROXY_MONITOR_H

#include "core/command.h"
#include "core/resp.h"

#include <stddef.h>

struct session;
struct rbuf;

/* MONITOR: s becomes a monitor (+OK; a second MONITOR changes nothing). */
void monitor_command(struct session *s);
/* s ran cmd (arity and authentication checked): one line to each monitor.
 * Commands flagged admin or skip_monitor are left out, as in Redis, and
 * AUTH's and HELLO's credentials show as "(redacted)". */
void monitor_feed(struct session *s, const struct command *cmd, size_t argc,
                  const struct resp_arg *argv);
/* A command queued in MULTI: its line is kept in lines (when someone
 * monitors now), for monitor_flush when its EXEC goes, as a node shows a
 * transaction's commands when EXEC runs them. */
void monitor_defer(struct rbuf *lines, const struct command *cmd, size_t argc,
                   const struct resp_arg *argv);
/* The lines kept by monitor_defer to every monitor now, as s's; empties
 * lines. */
void monitor_flush(struct session *s, struct rbuf *lines);
/* s stops monitoring (RESET, or it is being freed).  Safe when it was not
 * a monitor. */
void monitor_session_gone(struct session *s);
/* Sessions monitoring now. */
size_t monitor_count(void);

#endif
