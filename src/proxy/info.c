/* INFO on the proxy: Redis's section selection (INFO [section ...],
 * default, all, everything; unknown sections give nothing) over the
 * proxy's sections.  Server, Clients, Stats, Replication, Cluster (not
 * enabled) and the proxy's own Sentinel and Topology describe the proxy.
 * Memory describes the proxy process (used_memory, used_memory_rss...) and
 * adds nodes_* fields summed over the groups' masters; Keyspace sums the
 * masters' dbN lines; Persistence (the proxy keeps nothing) has Redis's
 * fields over the masters (changes summed, the oldest save time, in
 * progress or failed when one is).  Those three ask every group's master
 * (INFO memory / keyspace / persistence) and answer when all have replied:
 * a master that cannot be reached or fails is left out of the sums, and
 * nodes_reporting in # Memory says how many answered. */
#include "proxy/info.h"
#include "core/command.h"
#include "config.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "core/util.h"
#include "proxy/backend.h"
#include "proxy/client_cmd.h"
#include "proxy/detect.h"
#include "proxy/failover.h"
#include "proxy/proxy.h"
#include "proxy/pubsub.h"
#include "proxy/rbuf.h"
#include "proxy/session.h"
#include "proxy/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#define INFO_MAX_DBS 1024

enum info_group {
    INFO_DEFAULT = 1 << 0,
    INFO_ALL = 1 << 1,
    INFO_EVERYTHING = 1 << 2,
};
#define INFO_D (INFO_DEFAULT | INFO_ALL | INFO_EVERYTHING)

/* What the groups' masters said, for the sections that sum them. */
struct info_nodes {
    size_t asked, answered;
    unsigned long long used_memory, used_memory_rss, maxmemory;
    long long keys[INFO_MAX_DBS], expires[INFO_MAX_DBS];
    double ttl_weighted[INFO_MAX_DBS];   /* avg_ttl * expires, summed */
    unsigned char has_db[INFO_MAX_DBS];
    /* # Persistence over the masters */
    long long rdb_changes;               /* summed */
    long long rdb_last_save_time;        /* the oldest; 0 = none reported */
    int loading, rdb_bgsave, aof_enabled, aof_rewrite; /* any master */
    int rdb_err, aof_rewrite_err, aof_write_err;        /* any master */
};

static void section_server(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_clients(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_memory(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_persistence(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_stats(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_replication(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_cpu(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_cluster(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_sentinel(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_topology(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
static void section_keyspace(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);

#define NEEDS_NODES 1

static void info_render(struct proxy *px, const unsigned char *want,
                        const struct info_nodes *nd, int resp, struct rbuf *out);

static const struct info_section {
    const char *name;
    unsigned groups;
    int needs_nodes;           /* asks the groups' masters */
    void (*render)(struct proxy *px, struct rbuf *b, const struct info_nodes *nd);
} info_sections[] = {
    {"server", INFO_D, 0, section_server},
    {"clients", INFO_D, 0, section_clients},
    {"memory", INFO_D, NEEDS_NODES, section_memory},
    {"persistence", INFO_D, NEEDS_NODES, section_persistence},
    {"stats", INFO_D, 0, section_stats},
    {"replication", INFO_D, 0, section_replication},
    {"cpu", INFO_D, 0, section_cpu},
    {"cluster", INFO_D, 0, section_cluster},
    {"sentinel", INFO_D, 0, section_sentinel},
    {"topology", INFO_D, 0, section_topology},
    {"keyspace", INFO_D, NEEDS_NODES, section_keyspace},
};
#define INFO_NSECTIONS (sizeof(info_sections) / sizeof(info_sections[0]))

/* An INFO waiting for the groups' masters. */
struct info_job {
    struct preq *parent;         /* borrowed: on the session's FIFO */
    int resp;                    /* the session's protocol when asked */
    unsigned char want[INFO_NSECTIONS];
    size_t pending;
    struct info_nodes nodes;
};

static void
bytes_human(char *buf, size_t len, unsigned long long n)
{
    static const char units[] = "KMGTPE";
    double d = (double)n;
    int u = -1;
    if (n < 1024) {
        snprintf(buf, len, "%lluB", n);
        return;
    }
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    snprintf(buf, len, "%.2f%c", d, units[u]);
}

/* ---- sections --------------------------------------------------------------- */

static void
section_server(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    long long up = (util_mstime() - px->start_ms) / 1000;
    struct utsname un;
    (void)nd;
    if (uname(&un) != 0) {
        memset(&un, 0, sizeof(un));
    }
    /* os and arch_bits as Redis gives them: clients read them (redis-py's
     * test suite reads arch_bits before its first test). */
    rbuf_printf(b, "# Server\r\ncachely_proxy_version:%s\r\nredis_version:%s\r\n"
                   "redis_mode:proxy\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                   "process_id:%d\r\nrun_id:%s\r\ntcp_port:%lld\r\n"
                   "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n",
                PACKAGE_VERSION, CACHELY_REDIS_VERSION, un.sysname, un.release, un.machine,
                (int)(sizeof(long) * 8), (int)getpid(), px->runid, px->cfg.port, up,
                up / 86400);
}

/* Redis's cluster_enabled: 0, as the node says; the proxy's shard groups
 * are not Redis Cluster (CLUSTER answers that cluster support is off). */
static void
section_cluster(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)px;
    (void)nd;
    rbuf_printf(b, "# Cluster\r\ncluster_enabled:0\r\n");
}

static void
section_clients(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    size_t pubsub = 0, blocked = 0;
    (void)nd;
    for (struct session *s = px->sessions; s != NULL; s = s->next) {
        pubsub += client_cmd_is_pubsub(s);
        /* Waiting in a blocking command: multiplexed (its tag) or on a
         * dedicated connection; not once its reply only waits for a WAIT. */
        const struct backend *d = s->blocked_on;
        blocked += s->mux_wait != NULL
                   || (d != NULL && d->blocked == s
                       && !(d->head != NULL && d->head->ack_parent != NULL));
    }
    rbuf_printf(b, "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\n"
                   "maxclients:%lld\r\nblocked_clients:%zu\r\ntracking_clients:0\r\n"
                   "pubsub_clients:%zu\r\n",
                px->nsessions, px->cfg.maxclients, blocked, pubsub);
}

static void
section_memory(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    char h_used[32], h_rss[32], h_peak[32], h_nused[32], h_nmax[32];
    size_t used = mem_used(), rss = mem_rss();
    if (used > px->mem_peak) {
        px->mem_peak = used;
    }
    bytes_human(h_used, sizeof(h_used), used);
    bytes_human(h_rss, sizeof(h_rss), rss);
    bytes_human(h_peak, sizeof(h_peak), px->mem_peak);
    bytes_human(h_nused, sizeof(h_nused), nd->used_memory);
    bytes_human(h_nmax, sizeof(h_nmax), nd->maxmemory);
    rbuf_printf(b, "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\n"
                   "used_memory_rss:%zu\r\nused_memory_rss_human:%s\r\n"
                   "used_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
                   "maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n"
                   "mem_allocator:%s\r\n",
                used, h_used, rss, h_rss, px->mem_peak, h_peak, mem_allocator_name());
    rbuf_printf(b, "nodes_used_memory:%llu\r\nnodes_used_memory_human:%s\r\n"
                   "nodes_used_memory_rss:%llu\r\nnodes_maxmemory:%llu\r\n"
                   "nodes_maxmemory_human:%s\r\nnodes_reporting:%zu\r\nnodes_asked:%zu\r\n",
                nd->used_memory, h_nused, nd->used_memory_rss, nd->maxmemory, h_nmax,
                nd->answered, nd->asked);
}

/* Redis's fields, over the masters: clients (phpredis, monitoring) read
 * rdb_changes_since_last_save and rdb_last_save_time to know whether the
 * data was saved; a proxy has no data of its own to describe. */
static void
section_persistence(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)px;
    rbuf_printf(b, "# Persistence\r\nloading:%d\r\nasync_loading:0\r\n"
                   "rdb_changes_since_last_save:%lld\r\nrdb_bgsave_in_progress:%d\r\n"
                   "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
                   "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\n"
                   "aof_last_bgrewrite_status:%s\r\naof_last_write_status:%s\r\n",
                nd->loading, nd->rdb_changes, nd->rdb_bgsave, nd->rdb_last_save_time,
                nd->rdb_err ? "err" : "ok", nd->aof_enabled, nd->aof_rewrite,
                nd->aof_rewrite_err ? "err" : "ok", nd->aof_write_err ? "err" : "ok");
}

static void
section_stats(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)nd;
    rbuf_printf(b, "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                   "rejected_connections:%lld\r\nlocal_commands:%lld\r\nrouted_master:%lld\r\n"
                   "routed_replica:%lld\r\nrouted_fallback_master:%lld\r\nroute_errors:%lld\r\n",
                px->total_connections, px->total_commands, px->rejected_connections,
                px->local_commands, px->routed_master, px->routed_replica, px->routed_fallback,
                px->route_errors);
    rbuf_printf(b, "session_offset_probes:%lld\r\nwrites_acked:%lld\r\nwrites_not_acked:%lld\r\n"
                   "writes_redirected:%lld\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                   "client_query_buffer_limit_disconnections:%lld\r\n"
                   "client_output_buffer_limit_disconnections:%lld\r\n"
                   "client_idle_timeout_disconnections:%lld\r\nevicted_clients:%lld\r\n",
                px->session_offset_probes, px->writes_acked, px->writes_not_acked,
                px->writes_redirected, pubsub_channel_count(px), pubsub_pattern_count(px),
                px->qbuf_limit_kills, px->obuf_limit_kills, px->timeout_kills,
                px->evicted_clients);
}

static void
section_replication(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)px;
    (void)nd;
    rbuf_printf(b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
}

/* The proxy's own CPU, as a node reports its own (exporters read it). */
static void
section_cpu(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    char text[512];
    (void)px;
    (void)nd;
    util_info_cpu(text, sizeof(text));
    rbuf_printf(b, "%s", text);
}

static void
section_sentinel(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)nd;
    rbuf_printf(b, "# Sentinel\r\nsentinel_masters:%zu\r\nsentinel_tilt:0\r\n"
                   "sentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n"
                   "sentinel_simulate_failure_flags:0\r\nrun_id:%s\r\ncurrent_epoch:%lld\r\n"
                   "failover:%s\r\npeers:%zu\r\nquorum:%lld\r\n",
                px->ngroups, px->runid, px->current_epoch, px->cfg.failover ? "yes" : "no",
                px->npeers, failover_quorum(px));
    for (size_t i = 0; i < px->ngroups; i++) {
        struct group *g = &px->groups[i];
        long long reps = 0;
        for (size_t k = 0; k < px->nnodes; k++) {
            reps += px->nodes[k]->group == g && px->nodes[k] != g->master;
        }
        rbuf_printf(b, "master%zu:name=%s,status=%s,address=%s,slaves=%lld,sentinels=%zu,"
                       "config_epoch=%lld,failovers=%lld\r\n",
                    i, failover_group_name(px, g),
                    failover_odown(px, g) ? "odown" : failover_sdown(px, g) ? "sdown" : "ok",
                    g->master ? g->master->name : "none", reps, px->npeers + 1,
                    g->config_epoch, g->switch_count);
    }
}

static void
section_topology(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)nd;
    rbuf_printf(b, "# Topology\r\nread_policy:%s\r\ngroups:%zu\r\nmaster:%s\r\nnodes:%zu\r\n"
                   "fanouts:%lld\r\ncrossslot_errors:%lld\r\nconfig_reloads:%lld\r\n",
                proxy_read_policy_names[px->cfg.read_policy], px->ngroups,
                px->groups[0].master ? px->groups[0].master->name : "none", px->nnodes,
                px->fanouts, px->crossslot_errors, px->reloads);
    /* transactions and scripts (txn.c, script.c) */
    rbuf_printf(b, "transactions:%lld\r\ntransactions_aborted:%lld\r\nnoscript_repairs:%lld\r\n",
                px->txn_execs, px->txn_aborted, px->scripts_repaired);
    for (size_t i = 0; i < px->ngroups; i++) {
        rbuf_printf(b, "group%zu:name=%s,slots=%lld,master=%s\r\n", i, px->groups[i].name,
                    px->groups[i].slots,
                    px->groups[i].master ? px->groups[i].master->name : "none");
    }
    for (size_t i = 0; i < px->nnodes; i++) {
        struct node *n = px->nodes[i];
        long long inflight = 0;
        for (long long k = 0; k < 2 * px->cfg.pool_size; k++) {
            inflight += (long long)n->pool[k].inflight;
        }
        rbuf_printf(b, "node%zu:addr=%s,group=%s,role=%s,up=%d,link=%s,offset=%lld,"
                       "requests=%lld,errors=%lld,avg_latency_us=%lld,inflight=%lld,"
                       "probe_gap_ms=%.0f,probe_gap_max_ms=%.0f,down_bound_ms=%lld\r\n",
                    i, n->name, n->group->name,
                    n->role == NODE_ROLE_MASTER ? "master"
                    : n->role == NODE_ROLE_REPLICA ? "replica" : "unknown",
                    n->up, n->link_up ? "up" : "down", n->offset, n->requests, n->errors,
                    n->requests ? n->latency_us_sum / n->requests : 0, inflight,
                    n->detect.mean_ms, n->detect.max_ms,
                    detect_timeout_ms(&n->detect, topology_detect_floor(px),
                                      px->cfg.down_after_ms));
    }
}

static void
section_keyspace(struct proxy *px, struct rbuf *b, const struct info_nodes *nd)
{
    (void)px;
    rbuf_printf(b, "# Keyspace\r\n");
    for (size_t db = 0; db < INFO_MAX_DBS; db++) {
        if (nd->has_db[db] && nd->keys[db] > 0) {
            long long avg = nd->expires[db] > 0
                                ? (long long)(nd->ttl_weighted[db] / (double)nd->expires[db])
                                : 0;
            rbuf_printf(b, "db%zu:keys=%lld,expires=%lld,avg_ttl=%lld\r\n", db, nd->keys[db],
                        nd->expires[db], avg);
        }
    }
}

/* ---- the masters' replies ------------------------------------------------------ */

static unsigned long long
field_ull(const char *text, size_t len, const char *name)
{
    char v[64];
    return topology_info_field(text, len, name, v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
}

static int
field_is(const char *text, size_t len, const char *name, const char *value)
{
    char v[64];
    return topology_info_field(text, len, name, v, sizeof(v)) && strcmp(v, value) == 0;
}

/* Add one master's INFO memory / keyspace / persistence text to the sums. */
static void
nodes_add(struct info_nodes *nd, const char *text, size_t len)
{
    char v[64];
    nd->used_memory += field_ull(text, len, "used_memory");
    nd->used_memory_rss += field_ull(text, len, "used_memory_rss");
    nd->maxmemory += field_ull(text, len, "maxmemory");
    nd->rdb_changes += (long long)field_ull(text, len, "rdb_changes_since_last_save");
    if (topology_info_field(text, len, "rdb_last_save_time", v, sizeof(v))) {
        long long t = strtoll(v, NULL, 10);
        if (nd->rdb_last_save_time == 0 || t < nd->rdb_last_save_time) {
            nd->rdb_last_save_time = t;
        }
    }
    nd->loading |= field_ull(text, len, "loading") != 0;
    nd->rdb_bgsave |= field_ull(text, len, "rdb_bgsave_in_progress") != 0;
    nd->aof_enabled |= field_ull(text, len, "aof_enabled") != 0;
    nd->aof_rewrite |= field_ull(text, len, "aof_rewrite_in_progress") != 0;
    nd->rdb_err |= field_is(text, len, "rdb_last_bgsave_status", "err");
    nd->aof_rewrite_err |= field_is(text, len, "aof_last_bgrewrite_status", "err");
    nd->aof_write_err |= field_is(text, len, "aof_last_write_status", "err");
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        unsigned db;
        long long keys, expires, ttl;
        char line[160];
        if (ll < sizeof(line) && ll > 2 && p[0] == 'd' && p[1] == 'b') {
            memcpy(line, p, ll);
            line[ll] = '\0';
            if (sscanf(line, "db%u:keys=%lld,expires=%lld,avg_ttl=%lld", &db, &keys, &expires,
                       &ttl) == 4
                && db < INFO_MAX_DBS) {
                nd->has_db[db] = 1;
                nd->keys[db] += keys;
                nd->expires[db] += expires;
                nd->ttl_weighted[db] += (double)ttl * (double)expires;
            }
        }
        p += ll + 1;
    }
}

static void
job_finish(struct info_job *job)
{
    struct preq *parent = job->parent;
    if (parent->s == NULL) {
        session_deliver(parent, "", 0);          /* the client left: frees parent */
    } else {
        struct rbuf out = {0};
        info_render(session_proxy(parent->s), job->want, &job->nodes, job->resp, &out);
        session_deliver(parent, out.p ? out.p : "", out.len);
        rbuf_free(&out);
    }
    mem_free(job);
}

static void
on_master_info(struct preq *r, const char *reply, size_t len)
{
    struct info_job *job = r->ctx;
    if (len > 0 && (reply[0] == '$' || reply[0] == '=')) {
        const char *body = memchr(reply, '\n', len);
        if (body != NULL) {
            body++;
            job->nodes.answered++;
            nodes_add(&job->nodes, body, len - (size_t)(body - reply));
        }
    }
    if (--job->pending == 0) {
        job_finish(job);
    }
}

/* ---- the command -------------------------------------------------------------------- */

static int
name_is(const struct resp_arg *a, const char *name)
{
    return strlen(name) == a->len && strncasecmp(a->ptr, name, a->len) == 0;
}

static void
info_render(struct proxy *px, const unsigned char *want, const struct info_nodes *nd, int resp,
            struct rbuf *out)
{
    struct rbuf text = {0};
    int first = 1;
    for (size_t k = 0; k < INFO_NSECTIONS; k++) {
        if (!want[k]) {
            continue;
        }
        if (!first) {
            rbuf_add(&text, "\r\n", 2);
        }
        first = 0;
        info_sections[k].render(px, &text, nd);
    }
    if (resp >= 3) {
        rbuf_hdr(out, '=', (long long)text.len + 4);
        rbuf_add(out, "txt:", 4);
    } else {
        rbuf_hdr(out, '$', (long long)text.len);
    }
    rbuf_add(out, text.p, text.len);
    rbuf_add(out, "\r\n", 2);
    rbuf_free(&text);
}

void
info_command(struct session *s, size_t argc, const struct resp_arg *argv)
{
    struct proxy *px = s->px;
    struct info_job *job = mem_calloc(sizeof(*job));
    int memory = 0, keyspace = 0, persistence = 0;

    job->resp = s->resp;
    for (size_t k = 0; k < INFO_NSECTIONS; k++) {
        job->want[k] = argc <= 1 && (info_sections[k].groups & INFO_DEFAULT);
    }
    for (size_t i = 1; i < argc; i++) {
        unsigned group = name_is(&argv[i], "default")  ? INFO_DEFAULT
                         : name_is(&argv[i], "all")    ? INFO_ALL
                         : name_is(&argv[i], "everything") ? INFO_EVERYTHING
                                                            : 0;
        for (size_t k = 0; k < INFO_NSECTIONS; k++) {
            if ((info_sections[k].groups & group) || name_is(&argv[i], info_sections[k].name)) {
                job->want[k] = 1;
            }
        }
    }
    for (size_t k = 0; k < INFO_NSECTIONS; k++) {
        if (job->want[k] && info_sections[k].needs_nodes) {
            memory |= !strcmp(info_sections[k].name, "memory");
            keyspace |= !strcmp(info_sections[k].name, "keyspace");
            persistence |= !strcmp(info_sections[k].name, "persistence");
        }
    }
    if (!memory && !keyspace && !persistence) {
        struct rbuf out = {0};
        info_render(px, job->want, &job->nodes, s->resp, &out);
        rbuf_reply(s, &out);
        rbuf_free(&out);
        mem_free(job);
        return;
    }
    /* Ask every group's master; the reply keeps its place in the session's
     * order through the parent request. */
    char frame[96];
    int flen = snprintf(frame, sizeof(frame), "*%d\r\n$4\r\nINFO\r\n%s%s%s",
                        1 + memory + keyspace + persistence, memory ? "$6\r\nmemory\r\n" : "",
                        keyspace ? "$8\r\nkeyspace\r\n" : "",
                        persistence ? "$11\r\npersistence\r\n" : "");
    job->parent = session_new_request(s);
    job->pending = 1;                        /* held while sending */
    for (size_t g = 0; g < px->ngroups; g++) {
        struct node *m = px->groups[g].master;
        job->nodes.asked++;
        if (m == NULL || !m->up) {
            continue;
        }
        struct preq *r = mem_calloc(sizeof(*r));
        r->on_reply = on_master_info;
        r->ctx = job;
        r->affinity = job->parent->affinity;
        job->pending++;
        if (backend_send(px, m, NULL, r, frame, (size_t)flen) != 0) {
            job->pending--;
            mem_free(r);
        }
    }
    if (--job->pending == 0) {
        job_finish(job);
    }
}
