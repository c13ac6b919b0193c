/* info.c: placeholder until INFO is written. */
#include "node/info.h"
#include "core/alloc.h"

char *
info_render(struct server *srv, const char *const *sections, const size_t *lens,
            int nsections, size_t *len)
{
    (void)srv; (void)sections; (void)lens; (void)nsections;
    *len = 0;
    return mem_strdup("");
}

