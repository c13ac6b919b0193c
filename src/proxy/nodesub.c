/* The proxy's subscriber connections to the group masters (see nodesub.h):
 * what to (un)subscribe on which link, reconnection after a failure or a
 * failover, and the confirmations held until the nodes confirmed.  PUBSUB
 * and PUBLISH through the links are nodesub_pubsub.c. */
#include "proxy/nodesub.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/resp_scan.h"
#include "core/util.h"
#include "proxy/nodesub_int.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/session.h"
#include "proxy/topology.h"
#include "proxy/tracking.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nodesub_hold {
    struct preq *r; /* borrowed: the session's request (answered here);
                       NULL for a call (fn) */
    char *reply;    /* owned */
    size_t len;
    nodesub_after_fn *fn; /* or called, with ctx (nodesub_after) */
    void *ctx;
    long long deadline_ms;
    size_t nlinks;
    uint64_t *want; /* owned: per link, acked needed (0: nothing; a link
                       that was down: its next connection's resub_seq) */
    unsigned *gen;  /* owned: per link, the connection want counts on */
    struct nodesub_hold *next;
};

/* One of the proxy's own events (failover_event, +config-reloaded) held
 * while a link subscribes its whole set again (see nodesub_defer_event). */
struct nodesub_event {
    char *channel; /* owned, NUL-terminated */
    char *msg;     /* owned */
    size_t len;
    struct nodesub_event *next;
};

struct proxy *nodesub_px; /* borrowed; NULL until nodesub_cron's first
                             call (main.c makes it before serving) */
/* owned arrays of owned links, one per group (nodesub_nlinks of each) */
struct nodesub_link **nodesub_links; /* subscriber links */
static struct nodesub_link **tlinks; /* tracking links */
size_t nodesub_nlinks;
static struct nodesub_hold *holds; /* owned list */
static struct nodesub_hold **holds_tail = &holds; /* its last next */
static size_t calls_held; /* holds with a call (nodesub_after) */
static struct nodesub_event *events; /* owned FIFO */
static struct nodesub_event **events_tail = &events;
static int releasing_events; /* pubsub_publish called from release_events */

/* How long a confirmation waits for a node, and events for a link's
 * re-subscription: backend-timeout-ms, as any request to a node, or this
 * when that is 0 (the bound was a fixed 2 s, which a loaded machine
 * overran: the client was then told it was subscribed before the node
 * was, and missed the message it published next). */
#define HOLD_MAX_MS 5000
#define TRACKING_IDLE_MS 10000
#define NAMES_PER_COMMAND 128

static void link_on_read(evutil_socket_t fd, short what, void *arg);
static void link_on_write(evutil_socket_t fd, short what, void *arg);

/* ---- output ----------------------------------------------------------------- */

static void
out_add(struct nodesub_link *l, const void *p, size_t len)
{
    if (l->out_cap - l->out_len < len) {
        size_t cap = l->out_cap ? l->out_cap : 1024;
        while (cap - l->out_len < len) {
            cap *= 2;
        }
        l->out = mem_realloc(l->out, cap);
        l->out_cap = cap;
    }
    memcpy(l->out + l->out_len, p, len);
    l->out_len += len;
}

static void
out_hdr(struct nodesub_link *l, char prefix, size_t n)
{
    char tmp[32];
    int k = snprintf(tmp, sizeof(tmp), "%c%zu\r\n", prefix, n);
    out_add(l, tmp, (size_t)k);
}

static void
out_bulk(struct nodesub_link *l, const char *p, size_t len)
{
    out_hdr(l, '$', len);
    out_add(l, p, len);
    out_add(l, "\r\n", 2);
}

static void
arm_write(struct nodesub_link *l)
{
    if (l->fd >= 0 && l->out_len > l->out_sent) {
        event_add(l->wev, NULL);
    }
}

static const char *const verbs[NODESUB__COUNT][2] = {
    [NODESUB_CHANNEL] = {"UNSUBSCRIBE", "SUBSCRIBE"},
    [NODESUB_PATTERN] = {"PUNSUBSCRIBE", "PSUBSCRIBE"},
    [NODESUB_SHARD] = {"SUNSUBSCRIBE", "SSUBSCRIBE"},
};

/* One command of n names: n confirmations will come back. */
static void
send_names(struct nodesub_link *l, enum nodesub_kind kind, int on, size_t n,
           const char *const *names, const size_t *lens)
{
    const char *verb = verbs[kind][on ? 1 : 0];
    out_hdr(l, '*', n + 1);
    out_bulk(l, verb, strlen(verb));
    for (size_t i = 0; i < n; i++) {
        out_bulk(l, names[i], lens[i]);
    }
    l->sent += n;
    arm_write(l);
}

/* ---- the whole set, at connect ---------------------------------------------- */

struct batch {
    struct nodesub_link *l;
    enum nodesub_kind kind;
    const char *names[NAMES_PER_COMMAND];
    size_t lens[NAMES_PER_COMMAND];
    size_t n;
};

struct group *
nodesub_shard_group(const char *name, size_t len)
{
    return topology_group_of_key(nodesub_px, name, len);
}

static void
batch_flush(struct batch *b)
{
    if (b->n > 0) {
        send_names(b->l, b->kind, 1, b->n, b->names, b->lens);
        b->n = 0;
    }
}

static void
batch_add(const char *name, size_t len, void *arg)
{
    struct batch *b = arg;
    if (b->kind == NODESUB_SHARD) {
        struct group *g = nodesub_shard_group(name, len);
        if (g == NULL || (size_t)(g - nodesub_px->groups) != b->l->group) {
            return;
        }
    }
    /* The names stay valid until the walk ends: nothing is freed meanwhile. */
    b->names[b->n] = name;
    b->lens[b->n] = len;
    if (++b->n == NAMES_PER_COMMAND) {
        batch_flush(b);
    }
}

static void
resubscribe_all(struct nodesub_link *l)
{
    struct batch b;
    for (int k = 0; k < NODESUB__COUNT; k++) {
        b.l = l;
        b.kind = (enum nodesub_kind)k;
        b.n = 0;
        pubsub_foreach((enum nodesub_kind)k, batch_add, &b);
        batch_flush(&b);
    }
}

/* ---- connection ------------------------------------------------------------- */

static void check_holds(long long now, int force);

static void
link_close(struct nodesub_link *l, const char *why)
{
    int was_connected = l->connected;
    if (l->tracking && l->fd >= 0 && l->handshake == 0) {
        /* Writes from now until the next link are not announced: what the
         * sessions cached can no longer be vouched for. */
        tracking_flush(0);
    }
    l->handshake = 0;
    if (l->fd >= 0) {
        /* Retrying a master that is down fails every attempt: said once. */
        if (l->connected) {
            log_warn("Subscriber link to %s closed: %s",
                     l->node ? l->node->name : "?", why);
        } else {
            log_debug("Subscriber link to %s failed: %s",
                      l->node ? l->node->name : "?", why);
        }
        event_free(l->rev);
        event_free(l->wev);
        l->rev = l->wev = NULL;
        close(l->fd);
        l->fd = -1;
    }
    l->connected = 0;
    l->node = NULL;
    l->resync_since_ms = 0; /* down: nothing to wait for until it is back */
    l->out_len = l->out_sent = 0;
    l->in_len = 0;
    resp_scan_init(&l->scan);
    l->backoff_ms =
        was_connected || l->backoff_ms == 0 ? 100 : l->backoff_ms * 2;
    if (l->backoff_ms > 1000) {
        l->backoff_ms = 1000;
    }
    l->retry_at_ms = util_mstime() + l->backoff_ms;
}

static void
link_connect(struct proxy *px, struct nodesub_link *l, struct node *n)
{
    int one = 1;
    l->fd = util_connect_nonblock(n->host, n->port);
    if (l->fd < 0) {
        l->retry_at_ms = util_mstime() + 100;
        return;
    }
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    l->node = n;
    l->connected = 0;
    l->gen++;
    l->sent = l->acked = 0;
    l->rev = event_new(px->base, l->fd, EV_READ | EV_PERSIST, link_on_read, l);
    l->wev = event_new(px->base, l->fd, EV_WRITE, link_on_write, l);
    event_add(l->rev, NULL);
    size_t alen;
    char *auth = topology_auth_frame(px, &alen);
    if (auth != NULL) {
        out_add(l, auth, alen);
        mem_free(auth);
    }
    /* Named, so that CLIENT LIST on the node tells it from applications. */
    static const char setname[] = "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$"
                                  "24\r\ncachely-proxy-subscriber\r\n";
    static const char tracking[] =
        "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$22\r\ncachely-proxy-tracking\r\n"
        "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
        "*4\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON\r\n$5\r\nBCAST\r\n";
    if (l->tracking) {
        /* Every key written on the master is announced to us; what the
         * sessions cached before the node tracks for us is flushed once
         * it does (tracking_flush when the handshake is answered). */
        out_add(l, tracking, sizeof(tracking) - 1);
        l->handshake = 3 + (auth != NULL);
    } else {
        out_add(l, setname, sizeof(setname) - 1);
        resubscribe_all(l);
        /* Until the node confirmed all of it, a confirmation held for a
         * session waits for this connection, and so do the proxy's own
         * events (a +switch-master is told once the new master carries
         * the subscriptions). */
        l->resub_seq = l->sent;
        l->resync_since_ms = l->sent > 0 ? util_mstime() : 0;
    }
    event_add(l->wev, NULL); /* writability tells when the connect finished */
    log_debug("Subscriber link to %s (group %s) connecting", n->name,
              px->groups[l->group].name);
}

static void
link_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct nodesub_link *l = arg;
    (void)what;
    if (!l->connected) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
            link_close(l, strerror(err ? err : errno));
            return;
        }
        l->connected = 1;
        log_info("Subscriber link to %s up: subscribing to %llu name(s)",
                 l->node->name, (unsigned long long)l->sent);
    }
    while (l->out_sent < l->out_len) {
        ssize_t n = write(fd, l->out + l->out_sent, l->out_len - l->out_sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            link_close(l, strerror(errno));
            return;
        }
        l->out_sent += (size_t)n;
    }
    if (l->out_sent == l->out_len) {
        l->out_len = l->out_sent = 0;
    } else {
        event_add(l->wev, NULL);
    }
}

/* The elements of a RESP2 array of bulk strings and integers (what a node
 * sends on a subscriber connection), up to max; returns how many, or -1
 * when frame is not such an array.  frame is complete (resp_scan said so). */
static int
frame_parts(const char *frame, size_t len, const char **ptr, size_t *plen,
            int max)
{
    const char *p = frame, *end = frame + len;
    long long n = 0;
    if (len < 4 || *p != '*') {
        return -1;
    }
    p++;
    while (p < end && *p != '\r') {
        n = n * 10 + (*p++ - '0');
    }
    p += 2;
    for (long long i = 0; i < n; i++) {
        char t = *p++;
        long long v = 0;
        const char *start = p;
        while (p < end && *p != '\r') {
            v = v * 10 + (*p - '0');
            p++;
        }
        if (t == ':') {
            if (i < max) {
                ptr[i] = start;
                plen[i] = (size_t)(p - start);
            }
            p += 2;
        } else if (t == '$' && v >= 0) {
            p += 2;
            if (i < max) {
                ptr[i] = p;
                plen[i] = (size_t)v;
            }
            p += v + 2;
        } else {
            return -1;
        }
        if (p > end) {
            return -1;
        }
    }
    return (int)(n < max ? n : max);
}

static int
word_is(const char *p, size_t len, const char *w)
{
    return len == strlen(w) && memcmp(p, w, len) == 0;
}

/* A tracking link's frame: a push ">2 invalidate [keys]|null", or a reply
 * of the handshake. */
static void
tracking_frame(struct nodesub_link *l, const char *frame, size_t len)
{
    static const char inv[] = ">2\r\n$10\r\ninvalidate\r\n";
    if (frame[0] != '>') {
        if (frame[0] == '-') {
            log_warn("Tracking link to %s: %.*s", l->node->name,
                     (int)(len > 2 ? len - 2 : 0), frame + 1);
        }
        if (l->handshake > 0 && --l->handshake == 0) {
            tracking_flush(0); /* the node tracks for us from now on */
            tracking_links_changed(0);
        }
        return;
    }
    if (len < sizeof(inv) - 1 || memcmp(frame, inv, sizeof(inv) - 1) != 0) {
        return;
    }
    const char *p = frame + sizeof(inv) - 1, *end = frame + len;
    if (*p != '*') {
        tracking_flush(1); /* null: FLUSHALL / FLUSHDB on the node */
        return;
    }
    long long n = strtoll(p + 1, NULL, 10);
    p = memchr(p, '\n', (size_t)(end - p)) + 1;
    if (n <= 0) {
        return;
    }
    /* The frame is whole (resp_scan): at most one key per 4 bytes of it. */
    size_t cap = (size_t)n < len / 4 + 1 ? (size_t)n : len / 4 + 1, k = 0;
    const char **keys = mem_alloc(cap * sizeof(*keys));
    size_t *lens = mem_alloc(cap * sizeof(*lens));
    for (long long i = 0; i < n && k < cap && p < end && *p == '$'; i++) {
        long long klen = strtoll(p + 1, NULL, 10);
        p = memchr(p, '\n', (size_t)(end - p)) + 1;
        if (klen < 0 || p + klen > end) {
            break;
        }
        keys[k] = p;
        lens[k++] = (size_t)klen;
        p += klen + 2;
    }
    tracking_invalidate(keys, lens, k);
    mem_free(keys);
    mem_free(lens);
}

static void
handle_frame(struct nodesub_link *l, const char *frame, size_t len)
{
    if (l->tracking) {
        tracking_frame(l, frame, len);
        return;
    }
    const char *ptr[4];
    size_t plen[4];
    int n = frame_parts(frame, len, ptr, plen, 4);
    if (n < 0) {
        if (frame[0] == '-') {
            log_warn("Subscriber link to %s: %.*s", l->node->name,
                     (int)(len > 2 ? len - 2 : 0), frame + 1);
        }
        return; /* AUTH's +OK */
    }
    if (n == 3 && word_is(ptr[0], plen[0], "message")) {
        l->messages++;
        pubsub_node_message(NODESUB_CHANNEL, NULL, 0, ptr[1], plen[1], ptr[2],
                            plen[2]);
    } else if (n == 4 && word_is(ptr[0], plen[0], "pmessage")) {
        l->messages++;
        pubsub_node_message(NODESUB_PATTERN, ptr[1], plen[1], ptr[2], plen[2],
                            ptr[3], plen[3]);
    } else if (n == 3 && word_is(ptr[0], plen[0], "smessage")) {
        l->messages++;
        pubsub_node_message(NODESUB_SHARD, NULL, 0, ptr[1], plen[1], ptr[2],
                            plen[2]);
    } else if (n == 3 && plen[0] >= 9
               && memcmp(ptr[0] + plen[0] - 9, "subscribe", 9) == 0) {
        l->acked++;
    }
}

static void
link_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct nodesub_link *l = arg;
    (void)what;
    if (l->in_cap - l->in_len < 16384) {
        size_t cap = l->in_cap ? l->in_cap : 16384;
        while (cap - l->in_len < 16384) {
            cap *= 2;
        }
        l->in = mem_realloc(l->in, cap);
        l->in_cap = cap;
    }
    ssize_t n = read(fd, l->in + l->in_len, l->in_cap - l->in_len);
    if (n == 0
        || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
            && errno != EINTR)) {
        link_close(l, n == 0 ? "closed by the node" : strerror(errno));
        check_holds(util_mstime(), 0);
        return;
    }
    if (n < 0) {
        return;
    }
    l->in_len += (size_t)n;
    size_t pos = 0;
    uint64_t acked = l->acked;
    for (;;) {
        int rc = resp_scan_next(&l->scan, l->in + pos, l->in_len - pos);
        if (rc < 0) {
            link_close(l, "protocol error");
            check_holds(util_mstime(), 0);
            return;
        }
        if (rc == 0) {
            break;
        }
        size_t flen = l->scan.pos;
        resp_scan_init(&l->scan);
        handle_frame(l, l->in + pos, flen);
        pos += flen;
    }
    if (pos > 0) {
        memmove(l->in, l->in + pos, l->in_len - pos);
        l->in_len -= pos;
    }
    if (l->acked != acked) {
        if (l->resync_since_ms != 0 && l->acked >= l->resub_seq) {
            log_info(
                "Subscriber link to %s: %llu name(s) subscribed in %lld ms",
                l->node->name, (unsigned long long)l->resub_seq,
                util_mstime() - l->resync_since_ms);
            l->resync_since_ms = 0;
        }
        check_holds(util_mstime(), 0);
    }
}

/* ---- held confirmations and events -------------------------------------- */

static int
anything_subscribed(void)
{
    size_t n = 0;
    for (int k = 0; k < NODESUB__COUNT; k++) {
        n += pubsub_topic_count((enum nodesub_kind)k);
    }
    return n > 0;
}

static long long
hold_limit_ms(void)
{
    long long t = nodesub_px != NULL ? nodesub_px->cfg.backend_timeout_ms : 0;
    return t > 0 ? t : HOLD_MAX_MS;
}

/* Whether link i's group has a master the proxy thinks is up: a link to a
 * master that is down cannot confirm anything, and waiting for it would
 * only delay the client (it subscribes there once the master is back, or
 * on the new one after a failover: the gap Redis's semantics allow). */
static int
link_reachable(const struct nodesub_link *l)
{
    const struct node *m = nodesub_px->groups[l->group].master;
    return m != NULL && m->up;
}

/* A hold is released when every link it waits on confirmed all it had
 * been sent when the hold was made.  A link that reconnected meanwhile
 * subscribed the whole set again: the hold then waits for that.  Only a
 * link whose master is down, or the deadline, releases it unconfirmed. */
static int
hold_ready(struct nodesub_hold *h, long long now)
{
    for (size_t i = 0; i < h->nlinks && i < nodesub_nlinks; i++) {
        const struct nodesub_link *l = nodesub_links[i];
        if (h->want[i] == 0) {
            continue;
        }
        if (l->fd < 0) {
            if (!link_reachable(l)) {
                continue;
            }
            goto waiting;
        }
        if (l->gen != h->gen[i]) {
            h->gen[i] = l->gen;
            h->want[i] = l->resub_seq;
        }
        if (l->acked < h->want[i]) {
            goto waiting;
        }
    }
    return 1;
waiting:
    if (now >= h->deadline_ms) {
        log_warn(
            "A subscription confirmation waited %lld ms for the nodes: sent "
            "unconfirmed (a message published right after it may be missed)",
            hold_limit_ms());
        return 1;
    }
    return 0;
}

/* Whether a subscriber link is subscribing its whole set again after a
 * (re)connect to a master the probes see up (bounded: a node that does
 * not answer does not hold the proxy's events for longer than a request
 * would wait; retries on a master that is down hold nothing: +sdown and
 * the failover's steps go out as they happen). */
static int
any_resyncing(long long now)
{
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        const struct nodesub_link *l = nodesub_links[i];
        if (l->fd >= 0 && l->resync_since_ms != 0 && link_reachable(l)
            && now - l->resync_since_ms < hold_limit_ms()) {
            return 1;
        }
    }
    return 0;
}

static void
release_events(long long now, int force)
{
    if (events == NULL || (!force && any_resyncing(now))) {
        return;
    }
    releasing_events = 1;
    while (events != NULL) {
        struct nodesub_event *e = events;
        events = e->next;
        if (events == NULL) {
            events_tail = &events;
        }
        if (nodesub_px != NULL && !force) {
            pubsub_publish(nodesub_px, e->channel, e->msg, e->len);
        }
        mem_free(e->channel);
        mem_free(e->msg);
        mem_free(e);
    }
    releasing_events = 0;
}

int
nodesub_defer_event(const char *channel, const char *msg, size_t len)
{
    long long now = util_mstime();
    if (nodesub_px == NULL || releasing_events
        || (events == NULL && !any_resyncing(now))) {
        return 0;
    }
    struct nodesub_event *e = mem_calloc(sizeof(*e));
    e->channel = mem_strdup(channel);
    e->msg = mem_alloc(len ? len : 1);
    memcpy(e->msg, msg, len);
    e->len = len;
    *events_tail = e;
    events_tail = &e->next;
    return 1;
}

/* Release the holds that are ready (force: all, at teardown) in the order
 * they were made, then the events once no link is re-subscribing.  A call
 * (nodesub_after) waits for every call before it, ready or not. */
static void
check_holds(long long now, int force)
{
    struct nodesub_hold **pp = &holds;
    int call_waits = 0;
    while (*pp != NULL) {
        struct nodesub_hold *h = *pp;
        if (!force && ((h->fn != NULL && call_waits) || !hold_ready(h, now))) {
            call_waits |= h->fn != NULL;
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        if (*pp == NULL) {
            holds_tail = pp;
        }
        if (h->fn != NULL) {
            calls_held--;
            h->fn(h->ctx, !force);
        } else {
            session_deliver(h->r, h->reply, h->len);
        }
        mem_free(h->reply);
        mem_free(h->want);
        mem_free(h->gen);
        mem_free(h);
    }
    release_events(now, force);
}

/* Appended: released in the order made (session_deliver keeps each
 * session's order anyway). */
static void
hold_append(struct nodesub_hold *h)
{
    *holds_tail = h;
    holds_tail = &h->next;
}

/* A hold on every link with (un)subscriptions not confirmed yet, appended
 * to holds (released in the order made); NULL when nothing is pending. */
static struct nodesub_hold *
hold_new(void)
{
    int pending = 0;
    if (nodesub_px == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        const struct nodesub_link *l = nodesub_links[i];
        pending |= l->fd >= 0 ? l->acked < l->sent
                              : link_reachable(l) && anything_subscribed();
    }
    if (!pending) {
        return NULL;
    }
    struct nodesub_hold *h = mem_calloc(sizeof(*h));
    h->deadline_ms = util_mstime() + hold_limit_ms();
    h->nlinks = nodesub_nlinks;
    h->want = mem_calloc(nodesub_nlinks * sizeof(*h->want));
    h->gen = mem_calloc(nodesub_nlinks * sizeof(*h->gen));
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        const struct nodesub_link *l = nodesub_links[i];
        h->gen[i] = l->gen;
        if (l->fd >= 0 && l->acked < l->sent) {
            h->want[i] = l->sent;
        } else if (l->fd < 0 && link_reachable(l)) {
            /* Down for now (its reconnection is under way): the next
             * connection's gen differs, and its whole set is waited for. */
            h->want[i] = UINT64_MAX;
        }
    }
    hold_append(h);
    return h;
}

int
nodesub_hold(struct session *s, const char *reply, size_t len)
{
    struct nodesub_hold *h = hold_new();
    if (h == NULL) {
        return 0;
    }
    h->r = session_new_request(s);
    h->reply = mem_alloc(len ? len : 1);
    memcpy(h->reply, reply, len);
    h->len = len;
    return 1;
}

int
nodesub_after(nodesub_after_fn *fn, void *ctx)
{
    struct nodesub_hold *h = hold_new();
    if (h == NULL && calls_held > 0) {
        /* Nothing to wait for, but an earlier call still is: after it. */
        h = mem_calloc(sizeof(*h));
        hold_append(h);
    }
    if (h == NULL) {
        return 0;
    }
    h->fn = fn;
    h->ctx = ctx;
    calls_held++;
    return 1;
}

/* ---- the set, as it changes ------------------------------------------------- */

/* Subscribe name on link l: a link not connected yet is connected now
 * (its connect subscribes to the whole set, name included), so that the
 * confirmation held for the client waits for it. */
static void
link_topic(struct nodesub_link *l, enum nodesub_kind kind, const char *name,
           size_t len, int on)
{
    struct node *master = nodesub_px->groups[l->group].master;
    if (l->fd >= 0) {
        send_names(l, kind, on, 1, &name, &len);
    } else if (on && master != NULL
               && (master->up || util_mstime() >= l->retry_at_ms)) {
        /* A master the probes see up is tried at once, backoff or not. */
        link_connect(nodesub_px, l, master);
    }
}

void
nodesub_topic(enum nodesub_kind kind, const char *name, size_t len, int on)
{
    if (nodesub_px == NULL) {
        return;
    }
    if (kind == NODESUB_SHARD) {
        struct group *g = nodesub_shard_group(name, len);
        size_t gi = g ? (size_t)(g - nodesub_px->groups) : nodesub_nlinks;
        if (gi < nodesub_nlinks) {
            link_topic(nodesub_links[gi], kind, name, len, on);
        }
        return;
    }
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        link_topic(nodesub_links[i], kind, name, len, on);
    }
}

/* Keep link l on its group's current master while it is wanted. */
static void
link_follow(struct proxy *px, struct nodesub_link *l, long long now)
{
    struct node *master = px->groups[l->group].master;
    int wanted =
        l->tracking ? tracking_session_count() > 0 : anything_subscribed();
    if (l->fd >= 0 && l->node != master) {
        /* A failover (or the master unknown now): subscribe again on the
         * new master; messages published meanwhile are the gap. */
        link_close(l, "the group's master changed");
        l->retry_at_ms = now;
    }
    if (l->tracking) {
        /* Kept a while after the last tracking session left: a session
         * turning tracking off and on again would otherwise get the
         * new connection's flush. */
        l->idle_since_ms = wanted             ? 0
                           : l->idle_since_ms ? l->idle_since_ms
                                              : now;
        if (l->fd >= 0 && !wanted
            && now - l->idle_since_ms >= TRACKING_IDLE_MS) {
            link_close(l, "no session tracks keys any more");
        }
    }
    if (l->fd < 0 && wanted && master != NULL && now >= l->retry_at_ms) {
        link_connect(px, l, master);
    }
}

void
nodesub_cron(struct proxy *px)
{
    long long now = util_mstime();
    nodesub_px = px;
    if (nodesub_nlinks < px->ngroups) {
        /* New groups (a reload): links of their own. */
        nodesub_links = mem_realloc(nodesub_links, px->ngroups * sizeof(*nodesub_links));
        tlinks = mem_realloc(tlinks, px->ngroups * sizeof(*tlinks));
        for (size_t i = nodesub_nlinks; i < px->ngroups; i++) {
            nodesub_links[i] = mem_calloc(sizeof(**nodesub_links));
            nodesub_links[i]->group = i;
            nodesub_links[i]->fd = -1;
            resp_scan_init(&nodesub_links[i]->scan);
            tlinks[i] = mem_calloc(sizeof(**tlinks));
            tlinks[i]->group = i;
            tlinks[i]->fd = -1;
            tlinks[i]->tracking = 1;
            resp_scan_init(&tlinks[i]->scan);
        }
        nodesub_nlinks = px->ngroups;
    }
    for (size_t i = 0; i < 2 * nodesub_nlinks; i++) {
        link_follow(px, i < nodesub_nlinks ? nodesub_links[i] : tlinks[i - nodesub_nlinks], now);
    }
    if (holds != NULL || events != NULL) {
        check_holds(now, 0);
    }
    tracking_links_changed(now);
}

void
nodesub_master_changed(struct proxy *px, struct group *g)
{
    size_t gi = (size_t)(g - px->groups);
    if (nodesub_px == NULL || gi >= nodesub_nlinks) {
        return;
    }
    /* The old master's connect backoff does not apply to the new one. */
    nodesub_links[gi]->retry_at_ms = tlinks[gi]->retry_at_ms = 0;
    nodesub_links[gi]->backoff_ms = tlinks[gi]->backoff_ms = 0;
    link_follow(px, nodesub_links[gi], util_mstime());
    link_follow(px, tlinks[gi], util_mstime());
}

void
nodesub_teardown(struct proxy *px)
{
    (void)px;
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        link_close(nodesub_links[i], "the proxy is stopping");
        link_close(tlinks[i], "the proxy is stopping");
    }
    check_holds(util_mstime(), 1);
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        mem_free(nodesub_links[i]->out);
        mem_free(nodesub_links[i]->in);
        mem_free(nodesub_links[i]);
        mem_free(tlinks[i]->out);
        mem_free(tlinks[i]->in);
        mem_free(tlinks[i]);
    }
    mem_free(nodesub_links);
    mem_free(tlinks);
    nodesub_links = NULL;
    tlinks = NULL;
    nodesub_nlinks = 0;
    nodesub_px = NULL;
}

size_t
nodesub_links_up(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nodesub_nlinks; i++) {
        n += nodesub_links[i]->fd >= 0 && nodesub_links[i]->connected;
    }
    return n;
}

int
nodesub_tracking_ready(void)
{
    for (size_t i = 0; nodesub_px != NULL && i < nodesub_nlinks; i++) {
        const struct nodesub_link *l = tlinks[i];
        if (link_reachable(l) && !(l->fd >= 0 && l->handshake == 0)) {
            return 0;
        }
    }
    return 1;
}

void
nodesub_tracking_kick(void)
{
    for (size_t i = 0; nodesub_px != NULL && i < nodesub_nlinks; i++) {
        struct nodesub_link *l = tlinks[i];
        if (l->fd < 0) {
            l->retry_at_ms = 0; /* wanted now: a session waits for it */
            link_follow(nodesub_px, l, util_mstime());
        }
    }
}

long long
nodesub_hold_limit_ms(void)
{
    return hold_limit_ms();
}
