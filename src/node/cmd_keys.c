/* cmd_keys.c: placeholder handlers until the family is written. */
#include "node/handlers.h"
#include "node/client.h"

void
cmd_del(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_unlink(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_exists(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_touch(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_type(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_rename(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_renamenx(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_expire(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_pexpire(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_expireat(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_pexpireat(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_ttl(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_pttl(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_expiretime(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_pexpiretime(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_persist(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_keys(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_scan(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_randomkey(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_dbsize(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_flushdb(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_flushall(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_select(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_swapdb(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_move(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_copy(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_object_encoding(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_object_freq(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_object_idletime(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_object_refcount(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_object_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_memory_usage(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_memory_stats(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_memory_help(struct client *c)
{
    reply_error(c, "not implemented yet");
}
