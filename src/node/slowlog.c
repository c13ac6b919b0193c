/* Slow log storage: a newest-first list capped at slowlog-max-len, each
 * entry keeping at most 32 arguments of at most 128 bytes, as Redis does. */
#include "node/slowlog.h"
#include "core/alloc.h"
#include "node/client.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128

static void
entry_free(struct slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++) {
        mem_free(e->argv[i]);
    }
    mem_free(e->argv);
    mem_free(e->argvlen);
    mem_free(e->peer);
    mem_free(e->name);
    mem_free(e);
}

static void
trim(struct server *srv)
{
    struct slowlog_entry **pp = &srv->slowlog;
    long long n = 0;
    while (*pp && n < srv->cfg.slowlog_max_len) {
        pp = &(*pp)->next;
        n++;
    }
    while (*pp) {
        struct slowlog_entry *e = *pp;
        *pp = e->next;
        entry_free(e);
        srv->slowlog_len--;
    }
}

void
slowlog_maybe_add(struct server *srv, struct client *c, long long duration_us)
{
    struct slowlog_entry *e;
    int argc = (int)c->argc;

    if (srv->cfg.slowlog_max_len <= 0) {
        return;
    }
    if (argc > SLOWLOG_MAX_ARGC) {
        argc = SLOWLOG_MAX_ARGC;
    }
    e = mem_calloc(sizeof(*e));
    e->id = srv->slowlog_next_id++;
    e->time = (long long)time(NULL);
    e->duration_us = duration_us;
    e->argc = argc;
    e->argv = mem_alloc((size_t)argc * sizeof(char *));
    e->argvlen = mem_alloc((size_t)argc * sizeof(size_t));
    for (int i = 0; i < argc; i++) {
        char buf[SLOWLOG_MAX_ARGLEN + 64];
        size_t len = c->argv[i].len;
        if (argc != (int)c->argc && i == argc - 1) {
            len = (size_t)snprintf(buf, sizeof(buf), "... (%d more arguments)",
                                   (int)c->argc - argc + 1);
            e->argv[i] = mem_strndup(buf, len);
        } else if (client_arg_redacted(c, (size_t)i)) {
            len = sizeof("(redacted)") - 1;
            e->argv[i] = mem_strndup("(redacted)", len);
        } else if (len > SLOWLOG_MAX_ARGLEN) {
            memcpy(buf, c->argv[i].ptr, SLOWLOG_MAX_ARGLEN);
            len = SLOWLOG_MAX_ARGLEN
                  + (size_t)snprintf(buf + SLOWLOG_MAX_ARGLEN, 64,
                                     "... (%zu more bytes)",
                                     c->argv[i].len - SLOWLOG_MAX_ARGLEN);
            e->argv[i] = mem_strndup(buf, len);
        } else {
            e->argv[i] = mem_strndup(c->argv[i].ptr, len);
        }
        e->argvlen[i] = len;
    }
    e->peer = mem_strdup(c->addr);
    e->name = mem_strdup(c->name ? c->name : "");
    e->next = srv->slowlog;
    srv->slowlog = e;
    srv->slowlog_len++;
    trim(srv);
}

void
slowlog_reset(struct server *srv)
{
    while (srv->slowlog) {
        struct slowlog_entry *e = srv->slowlog;
        srv->slowlog = e->next;
        entry_free(e);
    }
    srv->slowlog_len = 0;
}
