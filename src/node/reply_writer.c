/* The node's sink for core/resp_writer.h: each op is the reply_* function
 * that node handlers call, so CLIENT REPLY OFF, the output limits and the
 * errorstats apply to shared replies as to any other. */
#include "node/reply_writer.h"
#include "node/client.h"

static void
sink_raw(void *sink, const char *p, size_t len)
{
    reply_raw(sink, p, len);
}

static void
sink_error(void *sink, const char *msg, size_t len)
{
    (void)len; /* NUL-terminated, as reply_error wants */
    reply_error(sink, msg);
}

static void
sink_bulk(void *sink, const char *p, size_t len)
{
    reply_bulk(sink, p, len);
}

static const struct resp_writer_ops client_ops = {
    .raw = sink_raw,
    .error = sink_error,
    .bulk = sink_bulk,
};

void
reply_writer_init(struct resp_writer *w, struct client *c)
{
    resp_writer_init(w, &client_ops, c, c->resp);
}
