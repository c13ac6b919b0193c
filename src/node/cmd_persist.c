/* cmd_persist.c: placeholder handlers until persistence is written. */
#include "node/client.h"
#include "node/handlers.h"

void
cmd_save(struct client *c)
{
    reply_error(c, "persistence is not implemented yet");
}

void
cmd_bgsave(struct client *c)
{
    reply_error(c, "persistence is not implemented yet");
}

void
cmd_lastsave(struct client *c)
{
    reply_error(c, "persistence is not implemented yet");
}

void
cmd_bgrewriteaof(struct client *c)
{
    reply_error(c, "persistence is not implemented yet");
}
