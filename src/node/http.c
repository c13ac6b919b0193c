/* http.c: placeholder until the HTTP interface is written. */
#include "node/http.h"
#include "node/server.h"

int
http_setup(struct server *srv)
{
    return srv->cfg.http_port == 0 ? 0 : -1;
}

void
http_teardown(struct server *srv)
{
    (void)srv;
}
