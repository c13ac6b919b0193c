/* Server-wide helpers that several modules share. */
#include "node/server.h"
#include "core/log.h"
#include "core/util.h"
#include "ds/xstream.h"

#include <string.h>


void
server_apply_config(struct server *srv)
{
    struct node_config *cfg = &srv->cfg;
    int p = cfg->maxmemory_policy;
    log_current_level = log_level_from_option(cfg->loglevel);
    srv->ks.lfu = p == MAXMEMORY_ALLKEYS_LFU || p == MAXMEMORY_VOLATILE_LFU;
    srv->ks.lfu_log_factor = (int)cfg->lfu_log_factor;
    srv->ks.lfu_decay_time = (int)cfg->lfu_decay_time;
    srv->ks.lazy_expire = cfg->lazyfree_lazy_expire;
    srv->ks.lazy_evict = cfg->lazyfree_lazy_eviction;
    srv->ks.lazy_server_del = cfg->lazyfree_lazy_server_del;
    xstream_set_node_limits((unsigned long long)cfg->stream_node_max_entries,
                            cfg->stream_node_max_bytes);
    clientmem_configure(srv);
}

long long
server_uptime(const struct server *srv)
{
    return (util_mstime() - srv->stats.start_ms) / 1000;
}

void
server_count_error(struct server *srv, const char *msg, size_t len)
{
    struct node_stats *st = &srv->stats;
    st->total_error_replies++;
    if (len >= sizeof(st->errors[0].prefix)) {
        len = sizeof(st->errors[0].prefix) - 1;
    }
    for (int i = 0; i < st->nerrors; i++) {
        if (strlen(st->errors[i].prefix) == len
            && memcmp(st->errors[i].prefix, msg, len) == 0) {
            st->errors[i].count++;
            return;
        }
    }
    /* Redis caps distinct error codes too (128); we keep 32. */
    if (st->nerrors < (int)(sizeof(st->errors) / sizeof(st->errors[0]))) {
        memcpy(st->errors[st->nerrors].prefix, msg, len);
        st->errors[st->nerrors].prefix[len] = '\0';
        st->errors[st->nerrors].count = 1;
        st->nerrors++;
    }
}
