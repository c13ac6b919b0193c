/* Keyspace notifications (notify-keyspace-events): an event about a key is
 * published on __keyspace@<db>__:<key> (message: the event name) and on
 * __keyevent@<db>__:<event> (message: the key), as the option's classes
 * allow.  Expired, evicted and new keys are reported by the keyspace
 * itself; command handlers report their own events. */
#ifndef CACHELY_NODE_NOTIFY_H
#define CACHELY_NODE_NOTIFY_H

#include <stddef.h>

struct client;
struct resp_arg;
struct server;

/* Redis's classes; the letters of notify-keyspace-events. */
enum notify_class {
    NOTIFY_KEYSPACE = 1 << 0,    /* K */
    NOTIFY_KEYEVENT = 1 << 1,    /* E */
    NOTIFY_GENERIC = 1 << 2,     /* g: DEL, EXPIRE, RENAME, ... */
    NOTIFY_STRING = 1 << 3,      /* $ */
    NOTIFY_LIST = 1 << 4,        /* l */
    NOTIFY_SET = 1 << 5,         /* s */
    NOTIFY_HASH = 1 << 6,        /* h */
    NOTIFY_ZSET = 1 << 7,        /* z */
    NOTIFY_EXPIRED = 1 << 8,     /* x */
    NOTIFY_EVICTED = 1 << 9,     /* e */
    NOTIFY_STREAM = 1 << 10,     /* t */
    NOTIFY_KEY_MISS = 1 << 11,   /* m (not part of A) */
    NOTIFY_MODULE = 1 << 12,     /* d */
    NOTIFY_NEW = 1 << 13,        /* n (not part of A) */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET
                 | NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED
                 | NOTIFY_STREAM | NOTIFY_MODULE,   /* A */
};

/* Parse the option's letters into classes; returns -1 on a bad letter. */
int notify_parse_classes(const char *s);
/* The option's canonical text (as CONFIG GET shows it) into buf. */
void notify_format_classes(int classes, char *buf, size_t len);

/* Hook the keyspace's own events (expired, evicted, new). */
void notify_setup(struct server *srv);

/* Publish event (e.g. "lpush") about key in database dbid when the
 * configured classes include type (one NOTIFY_* class bit).  Call it after
 * the change, once per key changed; cheap when notifications are off. */
void notify_keyspace_event(struct server *srv, int type, const char *event,
                           const char *key, size_t keylen, int dbid);

/* The same about key (a command argument) in c's current database. */
void notify_key(struct client *c, int type, const char *event, const struct resp_arg *key);

#endif
