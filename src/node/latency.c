/* The latency monitor (see latency.h). */
#include "node/latency.h"
#include "core/alloc.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct latency_event {
    struct latency_event *next;    /* owned */
    char name[32];
    struct {
        long long time;            /* unix seconds */
        long long ms;
    } samples[LATENCY_TS_LEN];
    int idx;
    long long max;
};

static struct latency_event *
find(struct latency *l, const char *name, size_t len)
{
    for (struct latency_event *e = l->events; e != NULL; e = e->next) {
        if (strlen(e->name) == len && memcmp(e->name, name, len) == 0) {
            return e;
        }
    }
    return NULL;
}

void
latency_add_sample_if_needed(struct server *srv, const char *event, long long ms)
{
    long long threshold = srv->cfg.latency_monitor_threshold;
    if (threshold <= 0 || ms < threshold) {
        return;
    }
    struct latency *l = &srv->latency;
    struct latency_event *e = find(l, event, strlen(event));
    long long now = (long long)time(NULL);
    if (e == NULL) {
        struct latency_event **tail = &l->events;
        while (*tail != NULL) {
            tail = &(*tail)->next;
        }
        e = mem_calloc(sizeof(*e));
        snprintf(e->name, sizeof(e->name), "%s", event);
        *tail = e;
    }
    if (ms > e->max) {
        e->max = ms;
    }
    /* One sample per second: the worst of that second. */
    int prev = (e->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (e->samples[prev].time == now) {
        if (ms > e->samples[prev].ms) {
            e->samples[prev].ms = ms;
        }
        return;
    }
    e->samples[e->idx].time = now;
    e->samples[e->idx].ms = ms;
    e->idx = (e->idx + 1) % LATENCY_TS_LEN;
}

void
latency_teardown(struct server *srv)
{
    while (srv->latency.events != NULL) {
        struct latency_event *e = srv->latency.events;
        srv->latency.events = e->next;
        mem_free(e);
    }
}

void
cmd_latency_latest(struct client *c)
{
    long long n = 0;
    for (struct latency_event *e = c->srv->latency.events; e != NULL; e = e->next) {
        n++;
    }
    reply_array_len(c, n);
    for (struct latency_event *e = c->srv->latency.events; e != NULL; e = e->next) {
        int last = (e->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        reply_array_len(c, 4);
        reply_bulk_cstr(c, e->name);
        reply_int(c, e->samples[last].time);
        reply_int(c, e->samples[last].ms);
        reply_int(c, e->max);
    }
}

void
cmd_latency_history(struct client *c)
{
    struct latency_event *e = find(&c->srv->latency, c->argv[2].ptr, c->argv[2].len);
    long long n = 0;
    if (e == NULL) {
        reply_array_len(c, 0);
        return;
    }
    for (int i = 0; i < LATENCY_TS_LEN; i++) {
        n += e->samples[i].time != 0;
    }
    reply_array_len(c, n);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        int i = (e->idx + j) % LATENCY_TS_LEN;
        if (e->samples[i].time == 0) {
            continue;
        }
        reply_array_len(c, 2);
        reply_int(c, e->samples[i].time);
        reply_int(c, e->samples[i].ms);
    }
}

void
cmd_latency_reset(struct client *c)
{
    struct latency *l = &c->srv->latency;
    long long n = 0;
    struct latency_event **p = &l->events;
    while (*p != NULL) {
        struct latency_event *e = *p;
        int drop = c->argc == 2;
        for (size_t i = 2; i < c->argc && !drop; i++) {
            drop = strlen(e->name) == c->argv[i].len
                   && memcmp(e->name, c->argv[i].ptr, c->argv[i].len) == 0;
        }
        if (drop) {
            *p = e->next;
            mem_free(e);
            n++;
        } else {
            p = &e->next;
        }
    }
    reply_int(c, n);
}

void
cmd_latency_doctor(struct client *c)
{
    char buf[4096];
    size_t n = 0;
    struct latency *l = &c->srv->latency;
    if (l->events == NULL) {
        n = (size_t)snprintf(buf, sizeof(buf),
                             "Dave, no latency spike was observed during the lifetime of this "
                             "Redis instance, not in the slightest bit. I honestly think you "
                             "ought to sleep a little more, don't worry, I'll just go ahead "
                             "and run all the commands you want.\n");
    } else {
        n = (size_t)snprintf(buf, sizeof(buf),
                             "Latency spikes were observed (latency-monitor-threshold is "
                             "%lld milliseconds):\n\n",
                             c->srv->cfg.latency_monitor_threshold);
        int i = 1;
        for (struct latency_event *e = l->events; e != NULL && n < sizeof(buf) - 256; e = e->next) {
            int last = (e->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
            n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                                  "%d. %s: latest %lld milliseconds at %lld, all time high "
                                  "%lld milliseconds.\n", i++, e->name, e->samples[last].ms,
                                  e->samples[last].time, e->max);
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                              "\nI have no advice: look at SLOWLOG GET for the slow commands, "
                              "and at INFO for memory, persistence and eviction.\n");
    }
    reply_verbatim(c, buf, n, "txt");
}

void
cmd_latency_help(struct client *c)
{
    static const char *const lines[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        NULL,
    };
    reply_help(c, "LATENCY", lines);
}
