/* RESP request parser: multibulk and inline frames, Redis's limits and error
 * strings.  See resp.h for the buffer contract. */
#include "core/resp.h"
#include "core/alloc.h"
#include "core/status.h"
#include "core/util.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

void
resp_parser_init(struct resp_parser *p)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = RESP_DEFAULT_MAX_BULK;
    p->max_multibulk_len = INT_MAX;
    p->bulk_len = -1;
}

void
resp_parser_free(struct resp_parser *p)
{
    mem_free(p->argv);
    mem_free(p->offs);
    mem_free(p->scratch);
    p->argv = NULL;
    p->offs = NULL;
    p->scratch = NULL;
    p->argv_cap = 0;
    p->scratch_cap = 0;
}

void
resp_parser_trim(struct resp_parser *p, size_t max_args)
{
    if (p->kind != 0 && !p->done) {
        return;     /* inside a frame: offs and argv are in use */
    }
    if (p->argv_cap > max_args) {
        mem_free(p->argv);
        mem_free(p->offs);
        p->argv = NULL;
        p->offs = NULL;
        p->argv_cap = 0;
        p->argc = 0;
    }
    if (p->scratch_cap > max_args * 16) {
        mem_free(p->scratch);
        p->scratch = NULL;
        p->scratch_cap = 0;
    }
}

void
resp_parser_reset(struct resp_parser *p)
{
    p->kind = 0;
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->pos = 0;
    p->argc = 0;
    p->consumed = 0;
    p->need = 0;
    p->done = 0;
    p->error = 0;
    p->errstr[0] = '\0';
}

static int
parser_fail(struct resp_parser *p, const char *msg)
{
    p->error = 1;
    snprintf(p->errstr, sizeof(p->errstr), "Protocol error: %s", msg);
    return STATUS_ERR;
}

static void
parser_grow(struct resp_parser *p, size_t n)
{
    size_t cap = p->argv_cap ? p->argv_cap : 8;
    while (cap < n) {
        cap *= 2;
    }
    p->argv = mem_realloc(p->argv, cap * sizeof(*p->argv));
    p->offs = mem_realloc(p->offs, cap * sizeof(*p->offs));
    p->argv_cap = cap;
}

static inline void
parser_reserve(struct resp_parser *p, size_t n)
{
    if (n > p->argv_cap) {
        parser_grow(p, n);
    }
}

/* The length at buf+from when it is the common case: "0" or up to 18
 * digits without a sign or a leading zero, then '\r' with a byte after it
 * in the buffer (find_crlf's condition).  Sets *v and returns the offset
 * of the '\r'; else -1, and the caller takes the general path, which
 * also finds every error.  Saves a memchr and a util_str2ll for each of
 * a request's lengths. */
static inline long
fast_len(const char *buf, size_t len, size_t from, long long *v)
{
    /* One or two digits, nearly every count and length, without the loop:
     * the same answers as the loop below gives them. */
    if (from + 3 < len) {
        unsigned d0 = (unsigned)(unsigned char)buf[from] - (unsigned)'1';
        unsigned d1 = (unsigned)(unsigned char)buf[from + 1] - (unsigned)'0';
        if (d0 < 9) {
            if (buf[from + 1] == '\r') {
                *v = d0 + 1;
                return (long)from + 1;
            }
            if (d1 < 10 && buf[from + 2] == '\r') {
                *v = (long long)(d0 + 1) * 10 + d1;
                return (long)from + 2;
            }
        }
    }
    size_t i = from, end = from + 18 < len ? from + 18 : len;
    long long n = 0;
    if (i >= len) {
        return -1;
    }
    if (buf[i] == '0') {
        i++;
    } else {
        while (i < end && (unsigned char)(buf[i] - '0') < 10) {
            n = n * 10 + (buf[i] - '0');
            i++;
        }
        if (i == from) {
            return -1;
        }
    }
    if (i + 1 >= len || buf[i] != '\r') {
        return -1;
    }
    *v = n;
    return (long)i;
}

/* Find "\r\n" terminating a line that starts at buf+from; returns the offset
 * of '\r' or -1. */
static long
find_crlf(const char *buf, size_t len, size_t from)
{
    const char *nl;
    if (from >= len) {
        return -1;
    }
    nl = memchr(buf + from, '\r', len - from);
    if (nl == NULL || (size_t)(nl - buf) + 1 >= len) {
        return -1;
    }
    return nl - buf;
}

/* The usual request: the whole frame in buf, at most 64 arguments, every
 * length on the fast path and within the limits.  Parsed in one pass with
 * the state in locals; the state it leaves is the general path's after a
 * whole frame.  Returns STATUS_OK, or STATUS_AGAIN when the general path
 * must take the frame from its start (nothing in p changed but argv's
 * capacity), which also finds any error. */
static int
parse_whole(struct resp_parser *p, const char *buf, size_t len)
{
    long long n, ll;
    long cr = fast_len(buf, len, 1, &n);
    if (cr < 0 || n <= 0 || n > 64 || n > p->max_multibulk_len
        || (n > RESP_UNAUTH_MAX_MULTIBULK && p->unauthenticated)) {
        return STATUS_AGAIN;
    }
    parser_reserve(p, (size_t)n);
    size_t pos = (size_t)cr + 2;
    for (long long i = 0; i < n; i++) {
        if (pos >= len || buf[pos] != '$') {
            return STATUS_AGAIN;
        }
        cr = fast_len(buf, len, pos + 1, &ll);
        if (cr < 0 || ll > p->max_bulk_len
            || (ll > RESP_UNAUTH_MAX_BULK && p->unauthenticated)) {
            return STATUS_AGAIN;
        }
        pos = (size_t)cr + 2;
        if (len - pos < (size_t)ll + 2) {
            return STATUS_AGAIN;
        }
        p->offs[i] = pos;
        p->argv[i].ptr = buf + pos;
        p->argv[i].len = (size_t)ll;
        pos += (size_t)ll + 2;
    }
    p->kind = '*';
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->argc = (size_t)n;
    p->pos = pos;
    p->consumed = pos;
    p->done = 1;
    return STATUS_OK;
}

static int
parse_inline(struct resp_parser *p, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    size_t linelen;
    long n;

    /* Redis finds the end of an inline line with strchr: a NUL byte before
     * the newline hides it, and the request waits for more input until it
     * is too big.  A TLS ClientHello sent to a plain port is such a line:
     * Redis stays silent and the client's handshake times out (redis-rb's
     * test_connection_to_non_ssl_server), where an error reply made the
     * client report a TLS "wrong version number". */
    if (nl != NULL && memchr(buf, '\0', (size_t)(nl - buf)) != NULL) {
        nl = NULL;
    }
    if (nl == NULL) {
        if (len > RESP_MAX_INLINE) {
            return parser_fail(p, "too big inline request");
        }
        p->need = len + 1;
        return STATUS_AGAIN;
    }
    linelen = (size_t)(nl - buf);
    p->consumed = linelen + 1;
    if (linelen > 0 && buf[linelen - 1] == '\r') {
        linelen--;
    }
    if (p->scratch_cap < linelen + 1) {
        mem_free(p->scratch);
        p->scratch_cap = linelen + 1;
        p->scratch = mem_alloc(p->scratch_cap);
    }
    parser_reserve(p, linelen / 2 + 2);
    n = resp_split_inline(buf, linelen, p->scratch, p->argv);
    if (n < 0) {
        return parser_fail(p, "unbalanced quotes in request");
    }
    p->argc = (size_t)n;
    p->done = 1;
    return STATUS_OK;
}

int
resp_parser_next(struct resp_parser *p, const char *buf, size_t len)
{
    long long ll;
    long cr;

    if (p->error) {
        return STATUS_ERR;
    }
    if (p->done) {
        p->kind = 0;
        p->pos = 0;
        p->argc = 0;
        p->done = 0;
    }
    p->need = 0;
    if (len == 0) {
        p->need = 1;
        return STATUS_AGAIN;
    }
    if (p->kind == 0) {
        if (buf[0] != '*') {
            return parse_inline(p, buf, len);
        }
        if (parse_whole(p, buf, len) == STATUS_OK) {
            return STATUS_OK;
        }
        cr = fast_len(buf, len, 1, &ll);
        if (cr < 0) {
            cr = find_crlf(buf, len, 1);
            if (cr < 0) {
                if (len > RESP_MAX_INLINE) {
                    return parser_fail(p, "too big mbulk count string");
                }
                p->need = len + 1;
                return STATUS_AGAIN;
            }
            if (util_str2ll(buf + 1, (size_t)cr - 1, &ll) != 0) {
                return parser_fail(p, "invalid multibulk length");
            }
        }
        if (ll > p->max_multibulk_len) {
            return parser_fail(p, "invalid multibulk length");
        }
        if (ll > RESP_UNAUTH_MAX_MULTIBULK && p->unauthenticated) {
            return parser_fail(p, "unauthenticated multibulk length");
        }
        p->pos = (size_t)cr + 2;
        if (ll <= 0) {
            p->consumed = p->pos;
            p->argc = 0;
            p->done = 1;
            return STATUS_OK;
        }
        p->kind = '*';
        p->multibulk_left = ll;
        p->bulk_len = -1;
        p->argc = 0;
    }

    while (p->multibulk_left > 0) {
        if (p->bulk_len < 0) {
            if (p->pos >= len) {
                p->need = p->pos + 1;
                return STATUS_AGAIN;
            }
            if (buf[p->pos] != '$') {
                char msg[48];
                snprintf(msg, sizeof(msg), "expected '$', got '%c'",
                         buf[p->pos]);
                return parser_fail(p, msg);
            }
            cr = fast_len(buf, len, p->pos + 1, &ll);
            if (cr < 0) {
                cr = find_crlf(buf, len, p->pos + 1);
                if (cr < 0) {
                    if (len - p->pos > RESP_MAX_INLINE) {
                        return parser_fail(p, "too big bulk count string");
                    }
                    p->need = len + 1;
                    return STATUS_AGAIN;
                }
                if (util_str2ll(buf + p->pos + 1, (size_t)cr - p->pos - 1, &ll) != 0
                    || ll < 0) {
                    return parser_fail(p, "invalid bulk length");
                }
            }
            if (ll > p->max_bulk_len) {
                return parser_fail(p, "invalid bulk length");
            }
            if (ll > RESP_UNAUTH_MAX_BULK && p->unauthenticated) {
                return parser_fail(p, "unauthenticated bulk length");
            }
            p->bulk_len = ll;
            p->pos = (size_t)cr + 2;
        }
        if (len - p->pos < (size_t)p->bulk_len + 2) {
            p->need = p->pos + (size_t)p->bulk_len + 2;
            return STATUS_AGAIN;
        }
        parser_reserve(p, p->argc + 1);
        p->offs[p->argc] = p->pos;
        p->argv[p->argc].len = (size_t)p->bulk_len;
        p->argc++;
        p->pos += (size_t)p->bulk_len + 2;
        p->bulk_len = -1;
        p->multibulk_left--;
    }
    for (size_t i = 0; i < p->argc; i++) {
        p->argv[i].ptr = buf + p->offs[i];
    }
    p->consumed = p->pos;
    p->done = 1;
    return STATUS_OK;
}

/* The proxy's entry: one tight pass over the frame proxies see all the
 * time (a whole multibulk frame of 1 to 9 arguments, each length written
 * in at most 9 digits without a leading zero, within the limits), which
 * fills argc/argv/consumed without the general path's resumable state or
 * argument offsets.  Anything else, and any frame it is not sure of, goes
 * to resp_parser_next from the frame's start, so results, errors and
 * limits are resp_parser_next's (tests/fuzz/fuzz_resp.c compares them). */
int
resp_parser_next_quick(struct resp_parser *p, const char *buf, size_t len)
{
    if (p->error || (p->kind != 0 && !p->done) || len < 8 || buf[0] != '*') {
        return resp_parser_next(p, buf, len);
    }
    unsigned d0 = (unsigned)(unsigned char)buf[1] - (unsigned)'1';
    if (d0 > 8 || buf[2] != '\r' || buf[3] != '\n'
        || (long long)d0 + 1 > p->max_multibulk_len) {
        return resp_parser_next(p, buf, len);
    }
    size_t n = (size_t)d0 + 1; /* <= 9: under the pre-AUTH count limit too */
    long long lim = p->max_bulk_len;
    if (p->unauthenticated && lim > RESP_UNAUTH_MAX_BULK) {
        lim = RESP_UNAUTH_MAX_BULK;
    }
    parser_reserve(p, n);
    struct resp_arg *av = p->argv;
    size_t pos = 4;
    for (size_t i = 0; i < n; i++) {
        /* pos <= len here: "$", a digit, CR, LF at least */
        if (len - pos < 4 || buf[pos] != '$') {
            return resp_parser_next(p, buf, len);
        }
        const char *q = buf + pos + 1;
        size_t room = len - pos - 1; /* bytes from q on, >= 3 */
        size_t l = (size_t)(unsigned char)q[0] - '0';
        size_t k; /* digits; q[k] is the CR */
        if (l > 9) {
            return resp_parser_next(p, buf, len);
        }
        if (q[1] == '\r') {
            k = 1; /* one digit, "0" included */
        } else if (l == 0) {
            return resp_parser_next(p, buf, len); /* a leading zero */
        } else if (q[2] == '\r' && (unsigned)(unsigned char)q[1] - '0' < 10) {
            l = l * 10 + (size_t)((unsigned char)q[1] - '0');
            k = 2;
        } else {
            k = 1;
            while (k < 9 && k < room && (unsigned)(unsigned char)q[k] - '0' < 10) {
                l = l * 10 + (size_t)((unsigned char)q[k] - '0');
                k++;
            }
            if (k >= room || q[k] != '\r') {
                return resp_parser_next(p, buf, len);
            }
        }
        /* The data starts after the LF's place and needs its own CRLF's
         * place in the buffer, as resp_parser_next wants. */
        if (room < k + 4 + l || (long long)l > lim) {
            return resp_parser_next(p, buf, len);
        }
        av[i].ptr = q + k + 2;
        av[i].len = l;
        pos += 1 + k + 2 + l + 2;
    }
    p->kind = '*';
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->argc = n;
    p->pos = pos;
    p->consumed = pos;
    p->need = 0;
    p->done = 1;
    return STATUS_OK;
}

size_t
resp_fmt_prefixed(char *dst, char prefix, long long n)
{
    size_t k;
    dst[0] = prefix;
    k = 1 + util_ll2str(dst + 1, n);
    dst[k++] = '\r';
    dst[k++] = '\n';
    return k;
}

static size_t
fmt_lit(char *dst, const char *lit, size_t len)
{
    memcpy(dst, lit, len);
    return len;
}

size_t
resp_fmt_null(char *dst, int proto)
{
    return proto >= 3 ? fmt_lit(dst, "_\r\n", 3) : fmt_lit(dst, "$-1\r\n", 5);
}

size_t
resp_fmt_null_array(char *dst, int proto)
{
    return proto >= 3 ? fmt_lit(dst, "_\r\n", 3) : fmt_lit(dst, "*-1\r\n", 5);
}

size_t
resp_fmt_bool(char *dst, int b, int proto)
{
    if (proto >= 3) {
        return fmt_lit(dst, b ? "#t\r\n" : "#f\r\n", 4);
    }
    return fmt_lit(dst, b ? ":1\r\n" : ":0\r\n", 4);
}

size_t
resp_fmt_map(char *dst, long long n, int proto)
{
    return proto >= 3 ? resp_fmt_prefixed(dst, '%', n) : resp_fmt_prefixed(dst, '*', n * 2);
}

size_t
resp_fmt_set(char *dst, long long n, int proto)
{
    return resp_fmt_prefixed(dst, proto >= 3 ? '~' : '*', n);
}

size_t
resp_fmt_verbatim_hdr(char *dst, size_t len, const char *ext, int proto)
{
    if (proto < 3) {
        return resp_fmt_prefixed(dst, '$', (long long)len);
    }
    size_t k = resp_fmt_prefixed(dst, '=', (long long)len + 4);
    memcpy(dst + k, ext, 3);
    dst[k + 3] = ':';
    return k + 4;
}

size_t
resp_fmt_double(char *dst, double d, int proto)
{
    char num[64];
    size_t n = util_d2str(num, sizeof(num), d);
    size_t k;
    if (proto >= 3) {
        dst[0] = ',';
        k = 1;
    } else {
        k = resp_fmt_prefixed(dst, '$', (long long)n);
    }
    memcpy(dst + k, num, n);
    k += n;
    dst[k++] = '\r';
    dst[k++] = '\n';
    return k;
}

/* The bytes of "<prefix><n>\r\n" for n >= 0. */
static size_t
prefixed_len(unsigned long long n)
{
    size_t digits = 1;
    while (n >= 10) {
        n /= 10;
        digits++;
    }
    return 1 + digits + 2;
}

size_t
resp_command_len(size_t argc, const struct resp_arg *argv)
{
    size_t len = prefixed_len(argc);
    for (size_t i = 0; i < argc; i++) {
        len += prefixed_len(argv[i].len) + argv[i].len + 2;
    }
    return len;
}

size_t
resp_command_write(char *dst, size_t argc, const struct resp_arg *argv)
{
    size_t len = resp_fmt_prefixed(dst, '*', (long long)argc);
    for (size_t i = 0; i < argc; i++) {
        len += resp_fmt_prefixed(dst + len, '$', (long long)argv[i].len);
        memcpy(dst + len, argv[i].ptr, argv[i].len);
        len += argv[i].len;
        dst[len++] = '\r';
        dst[len++] = '\n';
    }
    return len;
}

char *
resp_command_encode(size_t argc, const struct resp_arg *argv, size_t *len)
{
    char *out = mem_alloc(resp_command_len(argc, argv));
    *len = resp_command_write(out, argc, argv);
    return out;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

long
resp_split_inline(const char *line, size_t len, char *out,
                  struct resp_arg *args)
{
    size_t i = 0;
    long argc = 0;
    char *o = out;
    const char *nul = memchr(line, '\0', len);

    /* Redis splits the line as a C string, so a NUL byte ends it.  Without
     * this, an unquoted NUL made an empty argument without advancing: an
     * endless loop writing past args (found by tests/fuzz/fuzz_resp). */
    if (nul != NULL) {
        len = (size_t)(nul - line);
    }
    for (;;) {
        while (i < len && isspace((unsigned char)line[i])) {
            i++;
        }
        if (i >= len) {
            return argc;
        }
        char *start = o;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            char c = i < len ? line[i] : '\0';
            if (inq) {
                if (i >= len) {
                    return -1;
                }
                if (c == '\\' && i + 3 < len && line[i + 1] == 'x'
                    && hexval((unsigned char)line[i + 2]) >= 0
                    && hexval((unsigned char)line[i + 3]) >= 0) {
                    *o++ = (char)(hexval((unsigned char)line[i + 2]) * 16
                                  + hexval((unsigned char)line[i + 3]));
                    i += 3;
                } else if (c == '\\' && i + 1 < len) {
                    char e = line[++i];
                    switch (e) {
                    case 'n': *o++ = '\n'; break;
                    case 'r': *o++ = '\r'; break;
                    case 't': *o++ = '\t'; break;
                    case 'b': *o++ = '\b'; break;
                    case 'a': *o++ = '\a'; break;
                    default: *o++ = e; break;
                    }
                } else if (c == '"') {
                    /* closing quote must be followed by a space or end */
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1])) {
                        return -1;
                    }
                    done = 1;
                } else {
                    *o++ = c;
                }
            } else if (insq) {
                if (i >= len) {
                    return -1;
                }
                if (c == '\\' && i + 1 < len && line[i + 1] == '\'') {
                    i++;
                    *o++ = '\'';
                } else if (c == '\'') {
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1])) {
                        return -1;
                    }
                    done = 1;
                } else {
                    *o++ = c;
                }
            } else {
                if (i >= len || c == ' ' || c == '\n' || c == '\r'
                    || c == '\t' || c == '\0') {
                    done = 1;
                    continue;
                } else if (c == '"') {
                    inq = 1;
                } else if (c == '\'') {
                    insq = 1;
                } else {
                    *o++ = c;
                }
            }
            if (i < len) {
                i++;
            }
        }
        args[argc].ptr = start;
        args[argc].len = (size_t)(o - start);
        argc++;
    }
}
