/* cmd_conn.c: placeholder handlers until the family is written. */
#include "node/handlers.h"
#include "node/client.h"

void
cmd_ping(struct client *c)
{
    reply_status(c, "PONG");
}

void
cmd_echo(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_quit(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_reset(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_auth(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_hello(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_id(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_setname(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_getname(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_list(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_info(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_kill(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_setinfo(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_no_evict(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_client_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}
