/* RESP reply scanner; see resp_scan.h. */
#include "core/resp_scan.h"
#include "core/util.h"

#include <limits.h>
#include <string.h>

void
resp_scan_init(struct resp_scan *s)
{
    s->pos = 0;
    s->left = 1;
    s->type = 0;
    s->error = 0;
}

/* One element finished.  Returns 1 when the whole reply is complete. */
static inline int
element_done(struct resp_scan *s)
{
    return --s->left == 0;
}

/* A count line "<t><digits>\r\n" read in one pass, when its digits are
 * plain: at most 18 of them (no overflow), no sign, no leading zero but
 * "0".  Sets *n and *linelen (up to the CR) and returns 1; returns 0 for
 * anything else, incomplete lines included, which the general path (memchr
 * and util_str2ll) then judges exactly as before.  Most lines of a reply
 * are such counts ("$3", "*2"): this saves both calls on each. */
static inline int
plain_count(const char *line, size_t avail, long long *n, size_t *linelen)
{
    size_t i = 1;
    long long v = 0;
    while (i < avail && i <= 18 && line[i] >= '0' && line[i] <= '9') {
        v = v * 10 + (line[i] - '0');
        i++;
    }
    if (i == 1 || i + 1 >= avail || line[i] != '\r' || line[i + 1] != '\n'
        || (line[1] == '0' && i > 2)) {
        return 0;
    }
    *n = v;
    *linelen = i;
    return 1;
}

/* The general scanner: any reply, resumable (resp_scan_next's slow path,
 * apart so that the fast one saves no registers). */
static __attribute__((noinline)) int
scan_general(struct resp_scan *s, const char *buf, size_t len)
{
    if (s->error) {
        return -1;
    }
    for (;;) {
        const char *line = buf + s->pos;
        size_t avail = len - s->pos;
        size_t linelen;
        long long n = 0;

        if (avail < 3) {
            return 0;
        }
        char t = line[0];
        int counted = (t == '$' || t == '*') && plain_count(line, avail, &n, &linelen);
        size_t i = 0; /* bytes known to hold no CR */
        if (!counted && (t == '+' || t == ':')) {
            /* A short status or integer (+OK, :1): its CR found by hand,
             * cheaper than a call; a long one goes on with memchr. */
            i = 1;
            while (i < avail && i < 24 && line[i] != '\r') {
                i++;
            }
        }
        if (!counted && i > 0 && i < avail && line[i] == '\r') {
            if (i + 1 >= avail) {
                return 0;
            }
            if (line[i + 1] != '\n') {
                s->error = 1;
                return -1;
            }
            linelen = i;
        } else if (!counted) {
            const char *cr = memchr(line + i, '\r', avail - i);
            if (cr == NULL || (size_t)(cr - line) + 1 >= avail) {
                return 0;
            }
            if (cr[1] != '\n') {
                s->error = 1;
                return -1;
            }
            linelen = (size_t)(cr - line);
        }
        if (s->pos == 0) {
            s->type = t;
        }
        switch (t) {
        case '+': case '-': case ':': case ',': case '#': case '_': case '(':
            s->pos += linelen + 2;
            if (element_done(s)) {
                return 1;
            }
            continue;
        case '$': case '=': case '!':
            if (!counted && (util_str2ll(line + 1, linelen - 1, &n) != 0 || n < -1)) {
                s->error = 1;
                return -1;
            }
            if (n == -1) {
                s->pos += linelen + 2;
            } else {
                if (avail < linelen + 2 + (size_t)n + 2) {
                    return 0;
                }
                s->pos += linelen + 2 + (size_t)n + 2;
            }
            if (element_done(s)) {
                return 1;
            }
            continue;
        case '*': case '~': case '>': case '%': case '|':
            if (!counted && (util_str2ll(line + 1, linelen - 1, &n) != 0 || n < -1)) {
                s->error = 1;
                return -1;
            }
            s->pos += linelen + 2;
            if (n <= 0) {
                if (element_done(s)) {
                    return 1;
                }
                continue;
            }
            /* A map or attribute of n pairs holds 2n elements: a count that
             * overflows the total is no reply a server could send. */
            if (((t == '%' || t == '|') && n > LLONG_MAX / 2)
                || ((t == '%' || t == '|') ? n * 2 : n) > LLONG_MAX - s->left) {
                s->error = 1;
                return -1;
            }
            /* An aggregate's n elements take its place; an attribute's come
             * before the element it annotates, which is still expected. */
            s->left += (t == '%' || t == '|') ? n * 2 : n;
            if (t != '|') {
                s->left--;
            }
            continue;
        default:
            s->error = 1;
            return -1;
        }
    }
}

int
resp_scan_next(struct resp_scan *s, const char *buf, size_t len)
{
    /* Most replies are one bulk string (GET) or one short status line
     * (SET's +OK), whole in buf on the first call: found here without
     * the general loop's setup.  Anything else, or a reply not yet whole,
     * goes the general way, which judges it as before. */
    if (s->pos == 0 && !s->error && len >= 4) {
        long long n;
        size_t linelen;
        if (buf[0] == '$' && plain_count(buf, len, &n, &linelen)
            && len - linelen - 2 >= (size_t)n + 2) {
            s->type = '$';
            s->pos = linelen + 2 + (size_t)n + 2;
            s->left = 0;
            return 1;
        }
        if (buf[0] == '+') {
            size_t i = 1;
            while (i < 16 && i + 1 < len && buf[i] != '\r') {
                i++;
            }
            if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') {
                s->type = '+';
                s->pos = i + 2;
                s->left = 0;
                return 1;
            }
        }
    }
    return scan_general(s, buf, len);
}
