/* CLIENT PAUSE (see pause.h): the pause's mode and end time, its timer, and
 * which commands it holds; the held clients wait in block.c. */
#include "node/pause.h"
#include "core/command.h"
#include "core/log.h"
#include "core/util.h"
#include "node/block.h"
#include "node/client.h"
#include "node/server.h"

#include <event2/event.h>
#include <stdio.h>

static const char *const mode_names[] = {"off", "write", "all"};

const char *
pause_mode_name(int mode)
{
    return mode >= PAUSE_OFF && mode <= PAUSE_ALL ? mode_names[mode] : "?";
}

static void
arm_timer(struct server *srv)
{
    struct pause *p = &srv->pause;
    long long left = p->end_ms - util_mstime();
    struct timeval tv;
    if (left < 0) {
        left = 0;
    }
    tv.tv_sec = (time_t)(left / 1000);
    tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
    event_add(p->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct pause *p = &srv->pause;
    (void)fd;
    (void)what;
    if (p->mode == PAUSE_OFF) {
        return;
    }
    if (util_mstime() >= p->end_ms) {
        pause_end(srv);
    } else {
        arm_timer(srv); /* woke early (clock steps): wait for the rest */
    }
}

void
pause_setup(struct server *srv)
{
    struct pause *p = &srv->pause;
    p->mode = PAUSE_OFF;
    p->end_ms = 0;
    p->timer = event_new(srv->base, -1, 0, on_timer, srv);
}

void
pause_teardown(struct server *srv)
{
    struct pause *p = &srv->pause;
    if (p->timer != NULL) {
        event_free(p->timer);
        p->timer = NULL;
    }
    p->mode = PAUSE_OFF;
    srv->ks.paused = 0;
}

void
pause_start(struct server *srv, int mode, long long end_ms)
{
    struct pause *p = &srv->pause;
    long long now = util_mstime();

    /* A pause that ended by the clock but whose timer has not run yet is
     * over: the new one does not inherit its mode. */
    if (p->mode != PAUSE_OFF && p->end_ms < now) {
        pause_end(srv);
    }
    /* As Redis, an end time already past (CLIENT PAUSE 0) pauses nothing. */
    if (end_ms < now) {
        return;
    }
    if (mode > p->mode) {
        p->mode = mode;
    }
    if (end_ms > p->end_ms) {
        p->end_ms = end_ms;
    }
    srv->ks.paused = 1;
    arm_timer(srv);
    log_info("Clients paused (%s) for %lld ms", pause_mode_name(p->mode), p->end_ms - now);
}

void
pause_end(struct server *srv)
{
    struct pause *p = &srv->pause;
    if (p->mode == PAUSE_OFF) {
        return;
    }
    p->mode = PAUSE_OFF;
    p->end_ms = 0;
    srv->ks.paused = 0;
    event_del(p->timer);
    log_info("Clients unpaused (%zu held clients resume)", block_held_clients(srv));
}

int
pause_active(const struct server *srv)
{
    return srv->pause.mode != PAUSE_OFF;
}

int
pause_holds(const struct server *srv, const struct client *c, const struct command *cmd,
            uint32_t flags)
{
    int mode = srv->pause.mode;
    if (mode == PAUSE_OFF || (c->flags & (CLIENT_MASTER | CLIENT_REPLICA))) {
        return 0;
    }
    /* Redis 7.0 answers QUIT before any check, a pause's included. */
    if (cmd->id == CMD_ID_QUIT) {
        return 0;
    }
    if (mode == PAUSE_ALL) {
        return 1;
    }
    /* WRITE: what may change the dataset or the stream. */
    return (flags & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0;
}
