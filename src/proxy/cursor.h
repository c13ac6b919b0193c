/* Cursors through the proxy (cursor.c): SCAN and the key iterators carry
 * the group and node a cursor belongs to, so the next call goes back there. */
#ifndef CACHELY_PROXY_CURSOR_H
#define CACHELY_PROXY_CURSOR_H

#include <stddef.h>

struct command;
struct proxy;
struct node;
struct group;
struct preq;

/* A proxy cursor, decoded (cursor.c explains the encoding). */
struct cursor {
    unsigned long long node_cursor;  /* the node's own cursor */
    unsigned gen;                /* the node's incarnation mod 16 */
    size_t group;                /* group index */
    size_t node;                 /* node index within the group + 1; 0 = not chosen */
};

/* A command that iterates with a cursor. */
struct cursor_spec {
    const char *name;
    int arg;                     /* argv index of the cursor */
    int keyspace;                /* 1: the whole keyspace (SCAN) goes through
                                    every group; 0: the key (argv[1]) routes */
};

#define CURSOR_MAX_NODE_INDEX 511    /* nodes per group a cursor can name */
/* The cursor spec of cmd (SCAN, SSCAN...), or NULL when it has no cursor. */
const struct cursor_spec *cursor_spec_of(const struct command *cmd);
/* Decode a client's cursor; -1 when it is not one (Redis's "invalid cursor"). */
int cursor_decode(const char *p, size_t len, struct cursor *c);
unsigned long long cursor_encode(const struct cursor *c);
/* n's index within its group + 1 (what a cursor holds), and back (NULL when
 * the group has no such node). */
size_t cursor_node_index(const struct proxy *px, const struct node *n);
struct node *cursor_node_at(const struct proxy *px, const struct group *g, size_t index);
/* The reply of one call of an iteration made on r's node, with the node's
 * cursor replaced by the proxy's (an error reply is copied as it is).
 * Returns a mem_alloc'd reply of *outlen bytes. */
char *cursor_reply(const struct proxy *px, const struct preq *r, const char *reply, size_t len,
                   size_t *outlen);

#endif
