/* The proxy's sink for core/resp_writer.h: bytes go into an rbuf, which the
 * caller hands to rbuf_reply (also here); errors become the line session_error would
 * have written (same length limit, CR/LF made spaces). */
#include "proxy/rbuf_writer.h"
#include "proxy/proxy.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"

#include <string.h>

static void
sink_raw(void *sink, const char *p, size_t len)
{
    rbuf_add(sink, p, len);
}

static void
sink_error(void *sink, const char *msg, size_t len)
{
    /* session_error's line: at most 1,020 bytes after the '-'. */
    char line[1024];
    size_t n = 1;
    line[0] = '-';
    if (len > 0 && msg[0] == '-') {
        msg++;
        len--;
    } else {
        memcpy(line + 1, "ERR ", 4);
        n += 4;
    }
    if (len > sizeof(line) - 3 - n) {
        len = sizeof(line) - 3 - n;
    }
    for (size_t i = 0; i < len; i++) {
        line[n++] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    }
    line[n++] = '\r';
    line[n++] = '\n';
    rbuf_add(sink, line, n);
}

static const struct resp_writer_ops rbuf_ops = {
    .raw = sink_raw,
    .error = sink_error,
    .bulk = NULL,
};

void
rbuf_writer_init(struct resp_writer *w, struct rbuf *b, int proto)
{
    resp_writer_init(w, &rbuf_ops, b, proto);
}

void
rbuf_reply(struct session *s, struct rbuf *b)
{
    session_reply(s, b->p, b->len);
    b->len = 0;
}
