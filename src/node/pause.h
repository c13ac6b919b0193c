/* CLIENT PAUSE: holding normal clients' commands for a time, as Redis 7.0
 * does.  This module owns the pause (mode, end, timer) and decides what it
 * holds; the held clients wait in the blocking module (block_for_pause).  A
 * held client's command stays in its query buffer, with whatever it
 * pipelined behind it, and runs again from the top of dispatch when the pause
 * ends, so every check (a node demoted meanwhile answers -READONLY) applies
 * to the state at that time.  While a pause lasts the dataset stays as it is:
 * no expiry, no eviction, no stream bytes of the node's own (PING, GETACK),
 * so a master's offset is still while its clients are held. */
#ifndef CACHELY_NODE_PAUSE_H
#define CACHELY_NODE_PAUSE_H

#include <stdint.h>

#include <stddef.h>

struct server;
struct client;
struct command;
struct event;

/* In order of reach: a wider mode holds more. */
enum pause_mode {
    PAUSE_OFF = 0,
    PAUSE_WRITE,   /* commands that may change the dataset */
    PAUSE_ALL,     /* every command */
};

/* Embedded in struct server; only pause.c writes it. */
struct pause {
    int mode;                  /* enum pause_mode */
    long long end_ms;          /* unix ms when it ends (while mode != OFF) */
    struct event *timer;       /* owned; fires at end_ms */
};

/* Setup after the event base exists; teardown after every client is freed. */
void pause_setup(struct server *srv);
void pause_teardown(struct server *srv);

/* CLIENT PAUSE: hold commands as mode says until end_ms (unix ms).  A pause
 * in force is only ever widened and lengthened, never narrowed or cut short
 * (as Redis); an end_ms already past starts nothing. */
void pause_start(struct server *srv, int mode, long long end_ms);
/* CLIENT UNPAUSE, or the end time came: held clients resume, oldest first,
 * from block_before_sleep. */
void pause_end(struct server *srv);
/* True while a pause is in force. */
int pause_active(const struct server *srv);

/* True when c's next command cmd must wait for the pause to end; flags
 * are cmd's with, for EXEC, its queued commands' added.  Our master's link
 * and our replicas' links are never held. */
int pause_holds(const struct server *srv, const struct client *c,
                const struct command *cmd, uint32_t flags);
/* Redis's name of a mode ("write", "all"), for logs. */
const char *pause_mode_name(int mode);

#endif
