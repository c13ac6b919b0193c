/* Keyspace notifications (see notify.h). */
#include "node/notify.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "node/client.h"
#include "node/db.h"
#include "node/pubsub.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>

static const struct {
    char letter;
    int cls;
} letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING}, {'l', NOTIFY_LIST},
    {'s', NOTIFY_SET},     {'h', NOTIFY_HASH},   {'z', NOTIFY_ZSET},
    {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED}, {'t', NOTIFY_STREAM},
    {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},    {'K', NOTIFY_KEYSPACE},
    {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};

int
notify_parse_classes(const char *s)
{
    int classes = 0;
    for (; *s; s++) {
        if (*s == 'A') {
            classes |= NOTIFY_ALL;
            continue;
        }
        size_t i = 0;
        while (i < sizeof(letters) / sizeof(letters[0]) && letters[i].letter != *s) {
            i++;
        }
        if (i == sizeof(letters) / sizeof(letters[0])) {
            return -1;
        }
        classes |= letters[i].cls;
    }
    return classes;
}

void
notify_format_classes(int classes, char *buf, size_t len)
{
    size_t n = 0;
    if (len == 0) {
        return;
    }
    /* Redis's order: A, or the type letters and n; then K, E, m. */
    if ((classes & NOTIFY_ALL) == NOTIFY_ALL && n + 1 < len) {
        buf[n++] = 'A';
    }
    for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]) && n + 1 < len; i++) {
        int c = letters[i].cls;
        if (!(classes & c)) {
            continue;
        }
        /* Redis 7.0 prints n only with the type letters, never after A. */
        if ((c & (NOTIFY_ALL | NOTIFY_NEW)) && (classes & NOTIFY_ALL) == NOTIFY_ALL) {
            continue;
        }
        buf[n++] = letters[i].letter;
    }
    buf[n] = '\0';
}

/* The publishing half, out of line: the check that comes first runs for
 * every write, and a frame with a 256-byte buffer costs it a prologue. */
static void __attribute__((noinline))
notify_publish(struct server *srv, int classes, const char *event,
               const char *key, size_t keylen, int dbid)
{
    char small[256];
    size_t evlen = strlen(event);
    size_t need = 32 + (keylen > evlen ? keylen : evlen);
    char *chan = need <= sizeof(small) ? small : mem_alloc(need);
    if (classes & NOTIFY_KEYSPACE) {
        int n = snprintf(chan, need, "__keyspace@%d__:", dbid);
        memcpy(chan + n, key, keylen);
        pubsub_publish(srv, chan, (size_t)n + keylen, event, evlen);
    }
    if (classes & NOTIFY_KEYEVENT) {
        int n = snprintf(chan, need, "__keyevent@%d__:", dbid);
        memcpy(chan + n, event, evlen);
        pubsub_publish(srv, chan, (size_t)n + evlen, key, keylen);
    }
    if (chan != small) {
        mem_free(chan);
    }
}

void
notify_keyspace_event(struct server *srv, int type, const char *event,
                      const char *key, size_t keylen, int dbid)
{
    int classes = srv->cfg.notify_keyspace_events;
    if (classes & type) {
        notify_publish(srv, classes, event, key, keylen, dbid);
    }
}

void
notify_key(struct client *c, int type, const char *event, const struct resp_arg *key)
{
    notify_keyspace_event(c->srv, type, event, key->ptr, key->len, c->db->id);
}

static void
on_keyspace_event(void *ctx, struct db *db, const char *key, size_t len,
                  enum keyspace_event ev)
{
    static const struct {
        int cls;
        const char *name;
    } events[] = {
        [KEYSPACE_EV_NEW] = {NOTIFY_NEW, "new"},
        [KEYSPACE_EV_EXPIRED] = {NOTIFY_EXPIRED, "expired"},
        [KEYSPACE_EV_EVICTED] = {NOTIFY_EVICTED, "evicted"},
        [KEYSPACE_EV_MISS] = {NOTIFY_KEY_MISS, "keymiss"},
    };
    notify_keyspace_event(ctx, events[ev].cls, events[ev].name, key, len, db->id);
}

void
notify_setup(struct server *srv)
{
    srv->ks.on_event = on_keyspace_event;
    srv->ks.on_event_ctx = srv;
}
