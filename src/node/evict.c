/* evict.c: placeholder until eviction is written: reports OOM at the limit. */
#include "node/evict.h"
#include "core/alloc.h"
#include "node/server.h"

unsigned long long
evict_used_memory(const struct server *srv)
{
    (void)srv;
    return mem_used();
}

int
evict_perform(struct server *srv)
{
    return evict_used_memory(srv) > srv->cfg.maxmemory ? -1 : 0;
}
