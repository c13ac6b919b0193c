/* A small asynchronous RESP client on the proxy's event loop, over
 * core/conn (plain or TLS): the links failover.c keeps to its peer proxies
 * and the one-shot connections it opens to nodes for REPLICAOF, CLIENT
 * PAUSE and INFO.  Requests are encoded with the proxy's encoder, replies
 * found with the reply scanner and decoded into a small tree, then handed
 * to each request's callback in order. */
#ifndef CACHELY_PROXY_PEERLINK_H
#define CACHELY_PROXY_PEERLINK_H

#include <stddef.h>

struct event_base;
struct conn_tls_ctx;
struct peerlink;

/* A decoded reply.  Strings point into the link's input buffer and live
 * only during the callback. */
struct peerlink_reply {
    char type;                   /* '+' status, '-' error, ':' integer, '$' bulk,
                                    '*' array, '_' null (RESP2 nil bulk/array), or
                                    the RESP3 type byte, its line kept in str */
    const char *str;             /* borrowed: status, error or bulk text */
    size_t len;
    long long integer;           /* ':' */
    size_t elements;             /* '*' */
    struct peerlink_reply *element; /* owned by the link: elements entries */
};

/* r is NULL when the request failed: the link broke or was destroyed
 * before its reply came. */
typedef void (*peerlink_reply_fn)(void *arg, const struct peerlink_reply *r);

enum peerlink_state {
    PEERLINK_CONNECTING = 0,     /* TCP connect or TLS handshake under way */
    PEERLINK_UP,                 /* ready; requests written as they come */
    PEERLINK_FAILED,             /* gone: destroy it (pending requests got NULL) */
};

/* Starts connecting to host:port (TLS with ctx, which the link references;
 * NULL for plain).  what names the link in logs ("Peer 10.0.0.2:26379").
 * Returns NULL (logged at debug) when no socket could be made. */
struct peerlink *peerlink_create(struct event_base *base, const char *host, int port,
                                 struct conn_tls_ctx *ctx, const char *what);

/* Queue argv (argc strings) as one command; cb (may be NULL: the reply is
 * dropped) runs once with the reply or NULL.  Requests may be queued while
 * connecting.  Returns 0, or -1 when the link has failed (cb not called). */
int peerlink_send(struct peerlink *l, int argc, const char **argv, peerlink_reply_fn cb,
                  void *arg);

/* Where l stands: connecting, up, or failed (then destroy it). */
enum peerlink_state peerlink_state(const struct peerlink *l);

/* The link failed in its TLS handshake (a certificate refused, either side):
 * the owner may wait longer before retrying. */
int peerlink_tls_refused(const struct peerlink *l);

/* A reply arrived on the link (so its TLS session was accepted). */
int peerlink_replied(const struct peerlink *l);

/* Requests without a reply. */
size_t peerlink_pending(const struct peerlink *l);

/* Closes the link; the pending requests' callbacks run with NULL.  Safe
 * from inside one of the link's own callbacks (the memory goes once it
 * returns).  *lp becomes NULL. */
void peerlink_destroy(struct peerlink **lp);

/* Decode one complete reply (resp_scan found its length) into r; nested
 * arrays are allocated (peerlink_reply_free releases them).  Returns the
 * bytes used, or 0 when the bytes are not a reply.  Exposed for tests. */
size_t peerlink_decode(const char *p, size_t len, struct peerlink_reply *r, int depth);
void peerlink_reply_free(struct peerlink_reply *r);

#endif
