/* The latency monitor (LATENCY, latency-monitor-threshold): per event, the
 * worst latency of each second, 160 seconds kept, and the all-time max. */
#ifndef CACHELY_NODE_LATENCY_H
#define CACHELY_NODE_LATENCY_H

#include <stddef.h>

struct server;
struct latency_event;

#define LATENCY_TS_LEN 160

struct latency {
    struct latency_event *events;  /* owned list, oldest first */
};

/* Record a latency of ms for event when it reaches the threshold (and
 * the monitor is on). */
void latency_add_sample_if_needed(struct server *srv, const char *event, long long ms);
void latency_teardown(struct server *srv);

#endif
