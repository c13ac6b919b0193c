/* persist.c: placeholder until persistence is written (see persist.h). */
#include "node/persist.h"
#include "node/server.h"

int
persist_setup(struct server *srv)
{
    (void)srv;
    return 0;
}

void
persist_teardown(struct server *srv)
{
    (void)srv;
}

int
persist_aof_on(const struct server *srv)
{
    (void)srv;
    return 0;
}

void
persist_feed(struct server *srv, const char *buf, size_t len)
{
    (void)srv;
    (void)buf;
    (void)len;
}

void
persist_before_sleep(struct server *srv)
{
    (void)srv;
}

void
persist_cron(struct server *srv)
{
    (void)srv;
}

int
persist_child_exited(struct server *srv, pid_t pid, int status)
{
    (void)srv;
    (void)pid;
    (void)status;
    return 0;
}
