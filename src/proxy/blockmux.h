/* Blocking commands multiplexed on the pooled node connections (blockmux.c):
 * a session's BLPOP... goes as CACHELY.BLOCK <tag> on the connection its
 * other requests use, and its outcome comes back as a tagged push. */
#ifndef CACHELY_PROXY_BLOCKMUX_H
#define CACHELY_PROXY_BLOCKMUX_H

#include "core/resp.h"

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct node;
struct backend;
struct session;
struct command;
struct preq;

/* How many waits one node may carry for this proxy: blocking-pool-size x
 * BLOCKMUX_WAITS_PER_SLOT.  Beyond it a blocking command is refused. */
#define BLOCKMUX_WAITS_PER_SLOT 64

/* Send s's blocking command (frame: a multibulk of argc arguments; r: its
 * request, new at the end of s's FIFO) to n as CACHELY.BLOCK on s's pooled
 * connection; s waits (s->blocked_on) until the push answers r.  Returns 1
 * when r is taken care of (sent, or answered with an error when n cannot
 * take it); 0 when the command takes a dedicated connection instead:
 * blocking-mux is off, or the connection has not confirmed CACHELY.BLOCK
 * (a node without it, or its answer still on the way). */
int blockmux_forward(struct session *s, struct preq *r, struct node *n,
                     const struct command *cmd, size_t argc, const char *frame, size_t len);
/* A push frame read on pooled connection b (frame[0] == '>').  Returns 1
 * when it was a cachely-block push (delivered, or dropped when its tag is
 * unknown), 0 when it is something else. */
int blockmux_push(struct backend *b, const char *frame, size_t len);
/* The same for a push at the start of buf[0..len) (b's unscanned input,
 * buf[0] == '>'), found without scanning its envelope element by element:
 * returns its length when it was a whole cachely-block push (delivered, or
 * dropped), 0 otherwise (then the general scan and blockmux_push judge it;
 * a push not yet whole among them). */
size_t blockmux_take_push(struct backend *b, const char *buf, size_t len);
/* b closed: the waits on it fail with the error its requests get (sent:
 * whether the connection had opened).  From backend_close. */
void blockmux_backend_closed(struct backend *b, const char *why, int sent);
/* n stopped being its group's master: the waits on it fail now and are
 * withdrawn on the node. */
void blockmux_node_demoted(struct proxy *px, struct node *n, const char *why);
/* s is being freed: its wait, if any, is withdrawn on the node
 * (CACHELY.UNBLOCK) and its request freed. */
void blockmux_session_gone(struct session *s);
/* CLIENT UNBLOCK <id> [TIMEOUT|ERROR] from s, for the proxy's sessions. */
void blockmux_client_unblock(struct session *s, size_t argc, const struct resp_arg *argv);
/* Waits outstanding on the nodes (INFO). */
/* The CLIENT ID asked of dedicated connection d is answered (or d stops
 * carrying its session's command, or closes): send the CLIENT UNBLOCK that
 * waited for it, or answer it :0 when its session no longer waits there. */
void blockmux_dedicated_id_known(struct backend *d);

long long blockmux_waits(const struct proxy *px);
void blockmux_teardown(struct proxy *px);

#endif
