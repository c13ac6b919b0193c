/* cmd_string.c: placeholder handlers until the family is written. */
#include "node/handlers.h"
#include "node/client.h"
#include "node/db.h"

void
cmd_get(struct client *c)
{
    struct entry *e = db_lookup(c->db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e == NULL) {
        reply_null(c);
        return;
    }
    reply_bulk(c, entry_val(e), e->vallen);
}

void
cmd_set(struct client *c)
{
    db_set(c->db, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len, -1, 0);
    reply_ok(c);
}

void
cmd_setnx(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_setex(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_psetex(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_getset(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_getdel(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_getex(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_mget(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_mset(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_msetnx(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_append(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_strlen(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_getrange(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_setrange(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_incr(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_decr(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_incrby(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_decrby(struct client *c)
{
    reply_error(c, "not implemented yet");
}

void
cmd_incrbyfloat(struct client *c)
{
    reply_error(c, "not implemented yet");
}
