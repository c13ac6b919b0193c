/* CACHELY.BLOCK and CACHELY.UNBLOCK, Cachely's own commands for a caller
 * (the proxy) that multiplexes blocking commands on one connection: the
 * envelope is checked here; the waits themselves are block.c's. */
#include "node/handlers.h"
#include "node/block.h"
#include "node/client.h"

#include <stdint.h>
#include <strings.h>

/* A tag: an unsigned 64-bit decimal, digits only. */
static int
parse_tag(const struct resp_arg *a, uint64_t *tag)
{
    uint64_t v = 0;
    if (a->len == 0 || a->len > 20) {
        return -1;
    }
    for (size_t i = 0; i < a->len; i++) {
        unsigned d = (unsigned char)a->ptr[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *tag = v;
    return 0;
}

/* CACHELY.BLOCK <tag> <command> [arg ...]: no in-order reply once the tag
 * parses; the outcome is the wait's push. */
void
cmd_cachely_block(struct client *c)
{
    uint64_t tag;
    if (parse_tag(&c->argv[1], &tag) != 0) {
        reply_error(c, "invalid tag");
        return;
    }
    block_tagged_start(c, tag, c->argc - 2, c->argv + 2);
}

/* CACHELY.UNBLOCK <tag> [TIMEOUT|ERROR]: :1 when the wait was there. */
void
cmd_cachely_unblock(struct client *c)
{
    uint64_t tag;
    int how = 0;
    if (c->argc > 3) {
        reply_arity_error(c);
        return;
    }
    if (parse_tag(&c->argv[1], &tag) != 0) {
        reply_error(c, "invalid tag");
        return;
    }
    if (c->argc == 3) {
        const struct resp_arg *a = &c->argv[2];
        if (a->len == 5 && strncasecmp(a->ptr, "error", 5) == 0) {
            how = 2;
        } else if (a->len == 7 && strncasecmp(a->ptr, "timeout", 7) == 0) {
            how = 1;
        } else {
            reply_error(c, "CACHELY.UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    reply_int(c, block_tagged_unblock(c, tag, how));
}
