/* The slow log: commands that ran longer than slowlog-log-slower-than. */
#ifndef CACHELY_NODE_SLOWLOG_H
#define CACHELY_NODE_SLOWLOG_H

#include <stddef.h>

struct server;
struct client;

struct slowlog_entry {
    long long id;
    long long time;              /* Unix seconds */
    long long duration_us;
    int argc;
    char **argv;                 /* owned; argv[i] owned, argvlen[i] bytes */
    size_t *argvlen;             /* owned */
    char *peer;                  /* owned */
    char *name;                  /* owned */
    struct slowlog_entry *next;  /* owned: older entries */
};

/* Record c's current command if it took at least the threshold. */
void slowlog_maybe_add(struct server *srv, struct client *c, long long duration_us);
void slowlog_reset(struct server *srv);

#endif
