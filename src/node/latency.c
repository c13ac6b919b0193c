/* The latency monitor and the per-command latency histograms (see
 * latency.h). */
#include "node/latency.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/option.h"
#include "core/rbuf.h"
#include "core/util.h"
#include "ds/lathist.h"
#include "node/client.h"
#include "node/handlers.h"
#include "node/server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
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
    latency_reset_histograms(srv);
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

/* How long ago, short: "45s", "12m", "3h". */
static void
age_text(char *buf, size_t len, long long secs)
{
    if (secs < 120) {
        snprintf(buf, len, "%llds", secs);
    } else if (secs < 7200) {
        snprintf(buf, len, "%lldm", secs / 60);
    } else {
        snprintf(buf, len, "%lldh", secs / 3600);
    }
}

#define GRAPH_ROWS 8

/* LATENCY GRAPH <event>: the event's samples (one per second that had
 * one, oldest on the left) as columns of '#' scaled to the highest, with
 * the highest and lowest latencies on the left edge and the ages of the
 * first and last samples under them. */
void
cmd_latency_graph(struct client *c)
{
    struct latency_event *e = find(&c->srv->latency, c->argv[2].ptr, c->argv[2].len);
    struct rbuf b = {0};
    long long hi = 0, lo = -1, now = (long long)time(NULL);
    int order[LATENCY_TS_LEN];
    int n = 0;

    if (e != NULL) {
        for (int j = 0; j < LATENCY_TS_LEN; j++) {
            int i = (e->idx + j) % LATENCY_TS_LEN;
            if (e->samples[i].time != 0) {
                order[n++] = i;
                hi = e->samples[i].ms > hi ? e->samples[i].ms : hi;
                lo = lo < 0 || e->samples[i].ms < lo ? e->samples[i].ms : lo;
            }
        }
    }
    if (n == 0) {
        reply_errorf(c, "No samples available for event '%.*s'", (int)c->argv[2].len,
                     c->argv[2].ptr);
        return;
    }
    rbuf_printf(&b, "%s: %d sample%s, highest %lld ms, lowest %lld ms "
                    "(all-time high %lld ms)\n\n",
                e->name, n, n == 1 ? "" : "s", hi, lo, e->max);
    for (int row = GRAPH_ROWS; row >= 1; row--) {
        if (row == GRAPH_ROWS) {
            rbuf_printf(&b, "%8lld ms |", hi);
        } else if (row == 1) {
            rbuf_printf(&b, "%8lld ms |", lo);
        } else {
            rbuf_printf(&b, "%11s |", "");
        }
        for (int k = 0; k < n; k++) {
            long long ms = e->samples[order[k]].ms;
            /* A column's height: its share of the highest, at least one. */
            long long h = hi > 0 ? (ms * GRAPH_ROWS + hi - 1) / hi : 1;
            rbuf_printf(&b, "%c", h >= row || (row == 1 && ms > 0) ? '#' : ' ');
        }
        rbuf_printf(&b, "\n");
    }
    rbuf_printf(&b, "%11s +", "");
    for (int k = 0; k < n; k++) {
        rbuf_printf(&b, "-");
    }
    char first[32], last[32];
    age_text(first, sizeof(first), now - e->samples[order[0]].time);
    age_text(last, sizeof(last), now - e->samples[order[n - 1]].time);
    rbuf_printf(&b, "\n%11s  oldest %s ago, newest %s ago\n", "", first, last);
    reply_verbatim(c, b.p, b.len, "txt");
    rbuf_free(&b);
}

/* ==== latency tracking ================================================== */

void
latency_reset_histograms(struct server *srv)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        if (srv->cmdstats[id].hist != NULL) {
            lathist_destroy(&srv->cmdstats[id].hist);
        }
    }
}

/* A percentile as Redis names it: "%f" without its trailing zeros. */
static void
percentile_name(char *buf, size_t len, double p)
{
    size_t n = (size_t)snprintf(buf, len, "%f", p);
    if (n >= len) {
        n = len - 1;
    }
    if (memchr(buf, '.', n) != NULL) {
        while (n > 0 && buf[n - 1] == '0') {
            n--;
        }
        if (n > 0 && buf[n - 1] == '.') {
            n--;
        }
    }
    buf[n] = '\0';
}

void
latency_info_stats(struct server *srv, struct rbuf *b)
{
    rbuf_printf(b, "# Latencystats\r\n");
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct lathist *h = srv->cmdstats[id].hist;
        if (h == NULL) {
            continue;
        }
        rbuf_printf(b, "latency_percentiles_usec_%s:", command_get((enum cmd_id)id)->fullname);
        for (int j = 0; j < srv->cfg.latency_npercentiles; j++) {
            char name[64];
            double p = srv->cfg.latency_percentiles[j];
            percentile_name(name, sizeof(name), p);
            rbuf_printf(b, "%sp%s=%.3f", j ? "," : "", name,
                        (double)lathist_percentile(h, p) / 1000.0);
        }
        rbuf_printf(b, "\r\n");
    }
}

int
latency_percentiles_parse(const struct option_def *def, void *values, const char *value,
                          char *err, size_t errlen)
{
    struct node_config *cfg = values;
    double ps[LATENCY_PERCENTILES_MAX];
    int n = 0;
    const char *p = value;
    (void)def;
    /* Single spaces separate the numbers, as Redis splits the value: two
     * in a row make an empty number, which is refused. */
    while (*value != '\0') {
        const char *end = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        double d;
        if (n == LATENCY_PERCENTILES_MAX || util_str2d(p, len, &d) != 0) {
            snprintf(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
            return -1;
        }
        if (d > 100.0 || d < 0.0) {
            snprintf(err, errlen, "latency-tracking-info-percentiles parameters should sit "
                                  "between [0.0,100.0]");
            return -1;
        }
        ps[n++] = d;
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    memcpy(cfg->latency_percentiles, ps, sizeof(ps[0]) * (size_t)n);
    cfg->latency_npercentiles = n;
    return 0;
}

void
latency_percentiles_format(const struct option_def *def, const void *values, char *buf,
                           size_t len)
{
    const struct node_config *cfg = values;
    size_t off = 0;
    (void)def;
    buf[0] = '\0';
    for (int j = 0; j < cfg->latency_npercentiles && off < len; j++) {
        char name[64];
        percentile_name(name, sizeof(name), cfg->latency_percentiles[j]);
        off += (size_t)snprintf(buf + off, len - off, "%s%s", j ? " " : "", name);
    }
}

/* One command's entry: calls, then the cumulative rows by power of two. */
static void
reply_histogram(struct client *c, const struct command *cmd, const struct lathist *h)
{
    long long us[40];
    uint64_t cum[40];
    size_t n = lathist_rows(h, us, cum, 40);
    reply_bulk_cstr(c, cmd->fullname);
    reply_map_len(c, 2);
    reply_bulk_cstr(c, "calls");
    reply_int(c, (long long)lathist_total(h));
    reply_bulk_cstr(c, "histogram_usec");
    reply_map_len(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        reply_int(c, us[i]);
        reply_int(c, (long long)cum[i]);
    }
}

/* "get", "config" (with its subcommands), or "config|get". */
static const struct command *
lookup_fullname(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (bar == NULL) {
        return command_lookup(name, len);
    }
    const struct command *cmd = command_lookup(name, (size_t)(bar - name));
    return cmd == NULL ? NULL
                       : command_lookup_sub(cmd, bar + 1, len - (size_t)(bar - name) - 1);
}

/* Each named command with a histogram, then its subcommands that have one
 * (every command when none is named); names that are no command are
 * skipped, as Redis does. */
static long long
histogram_entries(struct client *c, int write)
{
    struct server *srv = c->srv;
    long long n = 0;
    size_t first = c->argc > 2 ? 2 : 0;
    size_t count = c->argc > 2 ? c->argc - 2 : command_count();
    for (size_t i = 0; i < count; i++) {
        const struct command *cmd = first ? lookup_fullname(c->argv[first + i].ptr,
                                                            c->argv[first + i].len)
                                          : command_at(i);
        if (cmd == NULL) {
            continue;
        }
        for (size_t s = 0; s <= cmd->nsubs; s++) {
            const struct command *x = s == 0 ? cmd : cmd->subs[s - 1];
            const struct lathist *h = srv->cmdstats[x->id].hist;
            if (h != NULL) {
                n++;
                if (write) {
                    reply_histogram(c, x, h);
                }
            }
        }
    }
    return n;
}

void
cmd_latency_histogram(struct client *c)
{
    reply_map_len(c, histogram_entries(c, 0));
    histogram_entries(c, 1);
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
