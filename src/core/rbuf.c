/* A growable byte buffer with RESP helpers (see rbuf.h). */
#include "core/rbuf.h"
#include "core/alloc.h"
#include "core/resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char *
rbuf_grow(struct rbuf *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            cap *= 2;
        }
        b->p = mem_realloc(b->p, cap);
        b->cap = cap;
    }
    return b->p + b->len;
}

void
rbuf_add(struct rbuf *b, const void *p, size_t len)
{
    if (len == 0) {
        return;
    }
    memcpy(rbuf_room(b, len), p, len);
    b->len += len;
}

void
rbuf_str(struct rbuf *b, const char *s)
{
    rbuf_add(b, s, strlen(s));
}

void
rbuf_printf(struct rbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        rbuf_add(b, tmp, (size_t)n);
        return;
    }
    /* Longer than the stack buffer (a long client name...): format again
     * into the buffer itself. */
    rbuf_grow(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
rbuf_hdr(struct rbuf *b, char prefix, long long n)
{
    char hdr[RESP_HDR_MAX];
    rbuf_add(b, hdr, resp_fmt_prefixed(hdr, prefix, n));
}

void
rbuf_bulk(struct rbuf *b, const char *p, size_t len)
{
    rbuf_hdr(b, '$', (long long)len);
    rbuf_add(b, p, len);
    rbuf_add(b, "\r\n", 2);
}

void
rbuf_status_lines(struct rbuf *b, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rbuf_add(b, "+", 1);
        rbuf_str(b, lines[i]);
        rbuf_add(b, "\r\n", 2);
    }
}

void
rbuf_nul(struct rbuf *b)
{
    *rbuf_room(b, 1) = '\0';
}

void
rbuf_free(struct rbuf *b)
{
    mem_free(b->p);
    memset(b, 0, sizeof(*b));
}
