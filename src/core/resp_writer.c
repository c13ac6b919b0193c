/* The RESP encoding behind core/resp_writer.h: headers, scalars and the
 * RESP2/RESP3 differences, written once over a sink's raw/error/bulk ops. */
#include "core/resp_writer.h"
#include "core/resp.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
resp_writer_init(struct resp_writer *w, const struct resp_writer_ops *ops, void *sink, int proto)
{
    w->ops = ops;
    w->sink = sink;
    w->proto = proto;
}

void
resp_writer_raw(struct resp_writer *w, const char *p, size_t len)
{
    w->ops->raw(w->sink, p, len);
}

static void
prefixed(struct resp_writer *w, char prefix, long long n)
{
    char hdr[RESP_HDR_MAX];
    w->ops->raw(w->sink, hdr, resp_fmt_prefixed(hdr, prefix, n));
}

void
resp_writer_array(struct resp_writer *w, long long n)
{
    prefixed(w, '*', n);
}

void
resp_writer_map(struct resp_writer *w, long long n)
{
    char b[RESP_HDR_MAX];
    w->ops->raw(w->sink, b, resp_fmt_map(b, n, w->proto));
}

void
resp_writer_set(struct resp_writer *w, long long n)
{
    char b[RESP_HDR_MAX];
    w->ops->raw(w->sink, b, resp_fmt_set(b, n, w->proto));
}

void
resp_writer_bulk(struct resp_writer *w, const char *p, size_t len)
{
    if (w->ops->bulk != NULL) {
        w->ops->bulk(w->sink, p, len);
        return;
    }
    prefixed(w, '$', (long long)len);
    w->ops->raw(w->sink, p, len);
    w->ops->raw(w->sink, "\r\n", 2);
}

void
resp_writer_bulk_cstr(struct resp_writer *w, const char *s)
{
    if (s == NULL) {
        resp_writer_null(w);
        return;
    }
    resp_writer_bulk(w, s, strlen(s));
}

void
resp_writer_status(struct resp_writer *w, const char *s)
{
    w->ops->raw(w->sink, "+", 1);
    w->ops->raw(w->sink, s, strlen(s));
    w->ops->raw(w->sink, "\r\n", 2);
}

void
resp_writer_ok(struct resp_writer *w)
{
    w->ops->raw(w->sink, "+OK\r\n", 5);
}

void
resp_writer_error(struct resp_writer *w, const char *msg)
{
    w->ops->error(w->sink, msg, strlen(msg));
}

void
resp_writer_errorf(struct resp_writer *w, const char *fmt, ...)
{
    /* As long as the proxy's error lines; the node's sink cuts at its own
     * limit, as its reply_errorf always did. */
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
        buf[0] = '\0';
    }
    w->ops->error(w->sink, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void
resp_writer_int(struct resp_writer *w, long long v)
{
    prefixed(w, ':', v);
}

void
resp_writer_double(struct resp_writer *w, double d)
{
    char b[RESP_DOUBLE_MAX];
    if (w->proto < 3) {
        /* A bulk of the digits: through the sink's bulk op when it has one. */
        resp_writer_bulk(w, b, util_d2str(b, sizeof(b), d));
        return;
    }
    w->ops->raw(w->sink, b, resp_fmt_double(b, d, w->proto));
}

void
resp_writer_null(struct resp_writer *w)
{
    char b[RESP_HDR_MAX];
    w->ops->raw(w->sink, b, resp_fmt_null(b, w->proto));
}

void
resp_writer_null_array(struct resp_writer *w)
{
    char b[RESP_HDR_MAX];
    w->ops->raw(w->sink, b, resp_fmt_null_array(b, w->proto));
}

void
resp_writer_verbatim(struct resp_writer *w, const char *p, size_t len, const char *ext)
{
    char b[RESP_HDR_MAX];
    if (w->proto < 3) {
        resp_writer_bulk(w, p, len);
        return;
    }
    w->ops->raw(w->sink, b, resp_fmt_verbatim_hdr(b, len, ext, w->proto));
    w->ops->raw(w->sink, p, len);
    w->ops->raw(w->sink, "\r\n", 2);
}

void
resp_writer_bool(struct resp_writer *w, int b)
{
    char buf[RESP_HDR_MAX];
    w->ops->raw(w->sink, buf, resp_fmt_bool(buf, b, w->proto));
}

void
resp_writer_help(struct resp_writer *w, const char *container, const char *const *lines)
{
    long long n = 0;
    while (lines[n] != NULL) {
        n++;
    }
    resp_writer_array(w, n + 3);
    static const char tail[] = " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n";
    w->ops->raw(w->sink, "+", 1);
    w->ops->raw(w->sink, container, strlen(container));
    w->ops->raw(w->sink, tail, sizeof(tail) - 1);
    for (long long i = 0; i < n; i++) {
        resp_writer_status(w, lines[i]);
    }
    resp_writer_status(w, "HELP");
    resp_writer_status(w, "    Prints this help.");
}
