/* Cursors through the proxy (SCAN, and SSCAN/HSCAN/ZSCAN once the command
 * table has them).  A node's cursor only means something on that node, so
 * the cursor a client sees carries the node (and, for SCAN over several
 * groups, the group) of its iteration; every later call of the iteration
 * goes back to that node, never to another one.  The encoding (53 bits,
 * so that a client holding cursors as IEEE doubles keeps them exact):
 *
 *   bits  0-31  the node's own cursor
 *   bits 32-35  the node's incarnation (mod 16) when the iteration started
 *   bits 36-43  the group index (SCAN goes through the groups in order)
 *   bits 44-52  the node's index within its group + 1 (0: not chosen yet;
 *               the next call picks a node of the group per read policy)
 *
 * A node's incarnation changes when the proxy sees it come back up or
 * restart (a new run_id) or start a full resync: the keys it holds may have
 * moved, so a cursor from before is refused with an error instead of
 * continuing into a silently partial iteration. */
#include "proxy/cursor.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_NODE_BITS 32
#define CURSOR_GEN_SHIFT 32
#define CURSOR_GROUP_SHIFT 36
#define CURSOR_NODEIDX_SHIFT 44
#define CURSOR_NODEIDX_MAX ((unsigned long long)CURSOR_MAX_NODE_INDEX)

/* The commands that iterate with a cursor, by name: the key-routed ones
 * join as soon as the command table has them. */
static const struct cursor_spec cursor_specs[] = {
    {"scan", 1, 1},
    {"sscan", 2, 0},
    {"hscan", 2, 0},
    {"zscan", 2, 0},
};

/* cursor_spec_of's answer per command id, found by name on its first
 * lookup: 0 not yet looked up, 1 none, 2 + k cursor_specs[k]. */
static unsigned char spec_by_id[CMD_ID__COUNT];

/* A command's first lookup, by name (apart, so that the usual path is a
 * leaf that saves no registers). */
static __attribute__((noinline)) unsigned char
spec_find(const struct command *cmd)
{
    unsigned char k = 1;
    for (size_t i = 0; i < sizeof(cursor_specs) / sizeof(cursor_specs[0]); i++) {
        if (strcmp(cmd->name, cursor_specs[i].name) == 0) {
            k = (unsigned char)(2 + i);
        }
    }
    spec_by_id[cmd->id] = k;
    return k;
}

const struct cursor_spec *
cursor_spec_of(const struct command *cmd)
{
    /* Every request asks: after a command's first lookup the answer is one
     * load (the name compare was 5 % of the proxy's instructions on
     * GET/SET, its strlen still 2 %). */
    unsigned char k = spec_by_id[cmd->id];
    if (k == 0) {
        k = spec_find(cmd);
    }
    return k == 1 ? NULL : &cursor_specs[k - 2];
}

int
cursor_decode(const char *p, size_t len, struct cursor *c)
{
    unsigned long v;
    /* Read as Redis reads a cursor (util_scan_cursor: "" is 0); one that
     * names more than the proxy encodes ("-1" is the largest) is not one
     * of ours. */
    if (util_scan_cursor(p, len, &v) != 0 || (unsigned long long)v >> (CURSOR_NODEIDX_SHIFT + 9) != 0) {
        return -1;
    }
    c->node_cursor = v & ((1ULL << CURSOR_NODE_BITS) - 1);
    c->gen = (unsigned)((v >> CURSOR_GEN_SHIFT) & 15);
    c->group = (size_t)((v >> CURSOR_GROUP_SHIFT) & 255);
    c->node = (size_t)((v >> CURSOR_NODEIDX_SHIFT) & CURSOR_NODEIDX_MAX);
    return 0;
}

unsigned long long
cursor_encode(const struct cursor *c)
{
    return c->node_cursor | ((unsigned long long)(c->gen & 15) << CURSOR_GEN_SHIFT)
           | ((unsigned long long)c->group << CURSOR_GROUP_SHIFT)
           | ((unsigned long long)c->node << CURSOR_NODEIDX_SHIFT);
}

size_t
cursor_node_index(const struct proxy *px, const struct node *n)
{
    size_t idx = 0;
    for (size_t i = 0; i < px->nnodes; i++) {
        if (px->nodes[i] == n) {
            return idx + 1;
        }
        idx += px->nodes[i]->group == n->group;
    }
    return 0;
}

struct node *
cursor_node_at(const struct proxy *px, const struct group *g, size_t index)
{
    size_t idx = 0;
    for (size_t i = 0; i < px->nnodes; i++) {
        if (px->nodes[i]->group == g && ++idx == index) {
            return px->nodes[i];
        }
    }
    return NULL;
}

char *
cursor_reply(const struct proxy *px, const struct preq *r, const char *reply, size_t len,
             size_t *outlen)
{
    static const char bad[] = "-ERR cachely-proxy: unexpected reply to a cursor command\r\n";
    static const char big[] = "-ERR cachely-proxy: the node's cursor does not fit the "
                              "proxy's cursor encoding (over 2^32 buckets)\r\n";
    const char *nl, *digits, *cr;
    long long blen;
    unsigned long long v;
    char *out;

    if (len > 0 && reply[0] == '-') {
        out = mem_alloc(len);
        memcpy(out, reply, len);
        *outlen = len;
        return out;
    }
    /* "*2\r\n$<n>\r\n<cursor>\r\n<the elements>" */
    if (len < 6 || memcmp(reply, "*2\r\n$", 5) != 0
        || (nl = memchr(reply + 5, '\n', len - 5)) == NULL
        || util_str2ll(reply + 5, (size_t)(nl - 1 - (reply + 5)), &blen) != 0 || blen <= 0
        || blen > 20 || (size_t)(nl + 1 - reply) + (size_t)blen + 2 > len) {
        goto fail;
    }
    digits = nl + 1;
    cr = digits + blen;
    {
        char buf[24];
        char *end;
        memcpy(buf, digits, (size_t)blen);
        buf[blen] = '\0';
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (end != buf + blen || errno == ERANGE) {
            goto fail;
        }
    }
    if (v >> CURSOR_NODE_BITS != 0) {
        out = mem_alloc(sizeof(big));
        memcpy(out, big, sizeof(big) - 1);
        *outlen = sizeof(big) - 1;
        return out;
    }
    struct cursor next = r->cursor;
    next.node_cursor = v;
    if (v == 0) {
        /* This node's part is done: SCAN moves to the next group (its node
         * not chosen yet), or the iteration ends. */
        if (r->cursor_keyspace && next.group + 1 < px->ngroups) {
            next.group++;
            next.node = 0;
            next.gen = 0;
        } else {
            next.group = next.node = next.gen = 0;
        }
    }
    char num[24], hdr[RESP_HDR_MAX];
    size_t numlen = util_ull2str(num, cursor_encode(&next));
    size_t hlen = resp_fmt_prefixed(hdr, '$', (long long)numlen);
    const char *rest = cr + 2;
    size_t restlen = len - (size_t)(rest - reply);
    out = mem_alloc(4 + hlen + numlen + 2 + restlen);
    memcpy(out, "*2\r\n", 4);
    memcpy(out + 4, hdr, hlen);
    memcpy(out + 4 + hlen, num, numlen);
    memcpy(out + 4 + hlen + numlen, "\r\n", 2);
    memcpy(out + 4 + hlen + numlen + 2, rest, restlen);
    *outlen = 4 + hlen + numlen + 2 + restlen;
    return out;
fail:
    out = mem_alloc(sizeof(bad));
    memcpy(out, bad, sizeof(bad) - 1);
    *outlen = sizeof(bad) - 1;
    return out;
}
