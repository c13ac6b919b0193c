/* The latency monitor (LATENCY, latency-monitor-threshold): per event, the
 * worst latency of each second, 160 seconds kept, and the all-time max. */
#ifndef CACHELY_NODE_LATENCY_H
#define CACHELY_NODE_LATENCY_H

#include <stddef.h>

struct server;
struct latency_event;

#define LATENCY_TS_LEN 160
/* Most values latency-tracking-info-percentiles takes. */
#define LATENCY_PERCENTILES_MAX 32

struct rbuf;
struct option_def;

struct latency {
    struct latency_event *events;  /* owned list, oldest first */
};

/* Record a latency of ms for event when it reaches the threshold (and
 * the monitor is on). */
void latency_add_sample_if_needed(struct server *srv, const char *event, long long ms);
void latency_teardown(struct server *srv);

/* Per-command latency tracking (latency-tracking): dispatch_call records
 * each call's duration in its command row's histogram (ds/lathist). */
/* INFO's "# Latencystats" section: the configured percentiles of every
 * command row with a histogram. */
void latency_info_stats(struct server *srv, struct rbuf *b);
/* Drop every command's histogram (CONFIG RESETSTAT, shutdown). */
void latency_reset_histograms(struct server *srv);
/* latency-tracking-info-percentiles as an option (node/options.c): numbers
 * 0..100 separated by single spaces, "" for none; Redis's errors. */
int latency_percentiles_parse(const struct option_def *def, void *values, const char *value,
                              char *err, size_t errlen);
void latency_percentiles_format(const struct option_def *def, const void *values, char *buf,
                                size_t len);

#endif
