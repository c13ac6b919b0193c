/* CLIENT TRACKING through the proxy (client-side caching).  The nodes track
 * per connection and the proxy's connections are shared, so the proxy
 * tracks for its sessions itself: it remembers the keys each tracking
 * session read (or matches BCAST prefixes) and learns every key written on
 * a master from one tracking connection per group master (nodesub.c, in
 * BCAST mode), then sends each session Redis's invalidation messages.
 * When a tracking connection is lost or its master changes (a failover),
 * every tracking session gets a null invalidation (flush everything): the
 * proxy can no longer vouch for what they cached. */
#ifndef CACHELY_PROXY_TRACKING_H
#define CACHELY_PROXY_TRACKING_H

#include "core/command.h"
#include "core/resp.h"

#include <stddef.h>

struct session;

/* CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO for s (sub: the
 * subcommand's CMD_ID_CLIENT_*, arity checked).  Returns 0 when sub is not
 * one of them. */
int tracking_client_command(struct session *s, int sub, size_t argc,
                            const struct resp_arg *argv);
/* s runs cmd (before it is routed): a read's keys are remembered for a
 * tracking session (per its OPTIN / OPTOUT and CLIENT CACHING), a write's
 * keys noted for NOLOOP. */
void tracking_on_command(struct session *s, const struct command *cmd,
                         size_t argc, const struct resp_arg *argv);
/* s stops tracking (RESET, or it is being freed).  Safe when it was not. */
void tracking_session_gone(struct session *s);
/* Sessions tracking now. */
size_t tracking_session_count(void);
/* keys[0..n) were written on a master (a tracking connection said so, in
 * one push: one event loop of the node). */
void tracking_invalidate(const char *const *keys, const size_t *lens, size_t n);
/* Every tracking session must drop everything it cached (a FLUSHALL on a
 * node).  With all 0 (the proxy can no longer vouch for what sessions
 * cached: its link to a node's invalidations was down or is new), only
 * the sessions that may have cached something hear it: those in BCAST
 * mode and those holding tracked keys; a session that read nothing yet
 * gets no spurious flush (Redis sends none). */
void tracking_flush(int all);

/* The tracking links changed (a handshake answered; now: 0), or the cron
 * ran (now: the time): sessions whose CLIENT TRACKING ON waits for the
 * links get their +OK once every link is up, or at the hold's deadline. */
void tracking_links_changed(long long now);

#endif
