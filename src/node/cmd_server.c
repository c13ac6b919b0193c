/* cmd_server.c: placeholder handlers until the family is written. */
#include "node/handlers.h"
#include "node/client.h"

void
cmd_command(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_count(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_info(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_docs(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_list(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_getkeys(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_command_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_time(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_role(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_info(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_config_get(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_config_set(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_config_resetstat(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_config_rewrite(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_config_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_slowlog_get(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_slowlog_len(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_slowlog_reset(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_slowlog_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_shutdown(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_debug(struct client *c)
{
    reply_error(c, "not implemented yet");
}
