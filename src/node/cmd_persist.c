/* Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF.  The work is
 * persist.c's; these check arguments and give Redis 7.0's replies. */
#include "node/client.h"
#include "node/handlers.h"
#include "node/persist.h"
#include "node/server.h"

#include <strings.h>

void
cmd_save(struct client *c)
{
    switch (persist_save(c->srv)) {
    case PERSIST_OK:
        reply_ok(c);
        break;
    case PERSIST_IN_PROGRESS:
        reply_error(c, "Background save already in progress");
        break;
    default:
        reply_error(c, "-ERR"); /* Redis's bare shared.err */
        break;
    }
}

void
cmd_bgsave(struct client *c)
{
    int schedule = 0;
    if (c->argc > 1) {
        if (c->argc == 2 && c->argv[1].len == 8
            && strncasecmp(c->argv[1].ptr, "schedule", 8) == 0) {
            schedule = 1;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    switch (persist_bgsave(c->srv, schedule)) {
    case PERSIST_OK:
        reply_status(c, "Background saving started");
        break;
    case PERSIST_SCHEDULED:
        reply_status(c, "Background saving scheduled");
        break;
    case PERSIST_IN_PROGRESS:
        reply_error(c, "Background save already in progress");
        break;
    case PERSIST_CHILD_BUSY:
        reply_error(c, "Another child process is active (AOF?): can't BGSAVE right now. "
                       "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        break;
    default:
        reply_error(c, "-ERR");
        break;
    }
}

void
cmd_lastsave(struct client *c)
{
    reply_int(c, persist_lastsave(c->srv));
}

void
cmd_bgrewriteaof(struct client *c)
{
    switch (persist_bgrewriteaof(c->srv)) {
    case PERSIST_OK:
        reply_status(c, "Background append only file rewriting started");
        break;
    case PERSIST_SCHEDULED:
        reply_status(c, "Background append only file rewriting scheduled");
        break;
    case PERSIST_IN_PROGRESS:
        reply_error(c, "Background append only file rewriting already in progress");
        break;
    default:
        reply_error(c, "Can't execute an AOF background rewriting. Please check the "
                       "server logs for more information.");
        break;
    }
}
