/* A proxy for unit tests, with no socket anywhere: its real topology,
 * sessions and backends, but every node's pooled connections hold a
 * /dev/null descriptor ("connected", never flushed), so requests queue in
 * the backend's output buffer, where a test reads them, and a test answers
 * them by putting reply bytes where a read would have put them
 * (backend_read_done).  A client is a session accepted on one end of a pipe;
 * its requests arrive through session_read_done and its replies are read
 * from its output buffer before any flush.  Shared by test_topology.c,
 * test_fanout.c and test_session.c. */
#ifndef CACHELY_TESTS_PROXY_RIG_H
#define CACHELY_TESTS_PROXY_RIG_H

#include "proxy/access.h"
#include "proxy/backend.h"
#include "proxy/blockmux.h"
#include "proxy/fanout.h"
#include "proxy/proxy.h"
#include "proxy/session.h"
#include "proxy/topology.h"
#include "proxy/sockio.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/log.h"
#include "core/option.h"

#include <criterion/criterion.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static struct proxy *rig_px;
static int rig_pipe[2] = {-1, -1};

/* Set option name to value (as a config line would). */
static inline void
rig_option(const char *name, const char *value)
{
    char err[256];
    const struct option_def *def = option_find(&rig_px->opts, name);
    cr_assert_not_null(def, "option %s", name);
    cr_assert_eq(option_set(&rig_px->opts, def, value, err, sizeof(err)), 0, "%s %s: %s", name,
                 value, err);
}

/* A proxy with the default options, then each "name value" pair of opts
 * (NULL-terminated), and the topology: group lines (given one by one, as
 * "group" options) or, when groups is NULL, nodes as one group. */
static inline void
rig_start(const char *const *groups, const char *nodes, const char *const *opts)
{
    log_current_level = LOG_LEVEL_WARN; /* what the tests provoke, not the setup */
    rig_px = mem_calloc(sizeof(*rig_px));
    rig_px->listen_fd = rig_px->tls_listen_fd = -1;
    rig_px->opts.defs = proxy_options;
    rig_px->opts.values = &rig_px->cfg;
    cr_assert_eq(option_defaults(&rig_px->opts), 0);
    rig_option("protected-mode", "no"); /* a pipe has no peer address */
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) {
        rig_option(opts[i], opts[i + 1]);
    }
    for (size_t i = 0; groups != NULL && groups[i] != NULL; i++) {
        rig_option("group", groups[i]);
    }
    if (nodes != NULL) {
        rig_option("nodes", nodes);
    }
    command_setup();
    rig_px->base = event_base_new();
    cr_assert_not_null(rig_px->base);
    cr_assert_eq(access_setup(rig_px), 0);
    cr_assert_eq(topology_setup(rig_px), 0);
}

/* Give every pooled connection of every node a descriptor that is never
 * written (the output stays queued) and call it connected: a request sent
 * there "may or may not have been executed" when the connection is lost. */
static inline void
rig_plug_all(void)
{
    for (size_t i = 0; i < rig_px->nnodes; i++) {
        struct node *n = rig_px->nodes[i];
        for (long long k = 0; k < 2 * rig_px->cfg.pool_size; k++) {
            if (n->pool[k].fd < 0) {
                n->pool[k].fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                cr_assert_geq(n->pool[k].fd, 0);
                n->pool[k].connected = 1;
            }
        }
    }
}

static inline struct node *
rig_node(int port)
{
    for (size_t i = 0; i < rig_px->nnodes; i++) {
        if (rig_px->nodes[i]->port == port) {
            return rig_px->nodes[i];
        }
    }
    cr_assert_fail("no node on port %d", port);
    return NULL;
}

/* Feed n the probe replies of one probe (PONG, then INFO's text). */
static inline void
rig_probe_reply(struct node *n, const char *info)
{
    char *buf = mem_alloc(strlen(info) + 64);
    int len = sprintf(buf, "+PONG\r\n$%zu\r\n%s\r\n", strlen(info), info);
    if (n->probe_cap < n->probe_len + (size_t)len) {
        n->probe_cap = n->probe_len + (size_t)len;
        n->probe_in = mem_realloc(n->probe_in, n->probe_cap);
    }
    memcpy(n->probe_in + n->probe_len, buf, (size_t)len);
    n->probe_len += (size_t)len;
    n->probe_waiting = 2; /* what probe_send expects after PING + INFO */
    mem_free(buf);
    cr_assert_eq(topology_probe_consume(rig_px, n), 0);
    cr_assert_eq(n->probe_len, 0, "both replies consumed");
}

static inline void
rig_master_up(int port)
{
    rig_probe_reply(rig_node(port), "# Replication\r\nrole:master\r\nmaster_repl_offset:1000\r\n");
}

static inline void
rig_replica_up(int port, int master_port, long long offset)
{
    char info[512];
    snprintf(info, sizeof(info),
             "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:%d\r\n"
             "master_link_status:up\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:%lld\r\n",
             master_port, offset);
    rig_probe_reply(rig_node(port), info);
}

/* The nth key name ("k<i>") owned by the group called group, into buf. */
static inline const char *
rig_key(char *buf, size_t cap, const char *group, int nth)
{
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, cap, "k%d", i);
        if (strcmp(topology_group_of_key(rig_px, buf, strlen(buf))->name, group) == 0
            && nth-- == 0) {
            return buf;
        }
    }
    cr_assert_fail("no key in group %s", group);
    return NULL;
}

/* A client: a session accepted on the write end of a pipe. */
static inline struct session *
rig_client(void)
{
    cr_assert_eq(pipe(rig_pipe), 0);
    session_accept(rig_px, rig_pipe[1], 0);
    cr_assert_not_null(rig_px->sessions);
    cr_assert_eq(rig_px->sessions->fd, rig_pipe[1]);
    return rig_px->sessions;
}

/* The client sends bytes (one read's worth). */
static inline void
rig_send(struct session *s, const char *bytes)
{
    size_t room, len = strlen(bytes);
    char *buf = session_read_buf(s, &room);
    cr_assert_geq(room, len);
    memcpy(buf, bytes, len);
    session_read_done(s, (int)len, s->qlen);
}

/* The client sends a pipeline, in one read: each of cmds (NULL-terminated)
 * split on spaces and sent as a multibulk frame. */
static inline void
rig_pipeline(struct session *s, const char *const *cmds)
{
    static char all[16384];
    size_t used = 0;
    for (size_t c = 0; cmds[c] != NULL; c++) {
        char words[1024], *save = NULL;
        struct resp_arg argv[64];
        size_t argc = 0, len;
        snprintf(words, sizeof(words), "%s", cmds[c]);
        for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
            argv[argc].ptr = w;
            argv[argc++].len = strlen(w);
        }
        char *frame = fanout_encode(argc, argv, &len);
        cr_assert_lt(used + len, sizeof(all));
        memcpy(all + used, frame, len);
        used += len;
        mem_free(frame);
    }
    all[used] = '\0';
    rig_send(s, all);
}

/* What the client has been answered so far (not yet written), as a
 * string the test must not keep. */
static inline const char *
rig_output(struct session *s)
{
    static char out[65536];
    size_t n = s->out.len - s->out_sent;
    cr_assert_lt(n, sizeof(out));
    memcpy(out, s->out.p ? s->out.p + s->out_sent : "", n);
    out[n] = '\0';
    return out;
}

/* The connection of n that carries requests now (the one with a request in
 * flight), or NULL. */
static inline struct backend *
rig_busy(struct node *n)
{
    for (long long k = 0; k < 2 * rig_px->cfg.pool_size; k++) {
        if (n->pool[k].head != NULL) {
            return &n->pool[k];
        }
    }
    return NULL;
}

/* What has been sent to n, as a string the test must not keep. */
static inline const char *
rig_sent(struct node *n)
{
    static char out[65536];
    struct backend *b = rig_busy(n);
    size_t len = b != NULL ? b->out_len : 0;
    cr_assert_lt(len, sizeof(out));
    memcpy(out, b != NULL ? b->out : "", len);
    out[len] = '\0';
    return out;
}

/* n answers with bytes (one read's worth) on its busy connection. */
static inline void
rig_answer(struct node *n, const char *bytes)
{
    struct backend *b = rig_busy(n);
    size_t room, len = strlen(bytes);
    cr_assert_not_null(b, "nothing in flight on %s", n->name);
    char *buf = backend_read_buf(b, &room);
    memcpy(buf, bytes, len);
    backend_read_done(b, (int)len);
}

/* n's busy connection is closed by the node. */
static inline void
rig_lose(struct node *n)
{
    struct backend *b = rig_busy(n);
    cr_assert_not_null(b, "nothing in flight on %s", n->name);
    backend_read_done(b, 0);
}

static inline void
rig_stop(void)
{
    if (rig_px == NULL) {
        return;
    }
    session_destroy_all(rig_px);
    topology_teardown(rig_px);
    blockmux_teardown(rig_px);
    access_teardown(rig_px);
    mem_free(rig_px->pending_backends);
    event_base_free(rig_px->base);
    command_teardown();
    mem_free(rig_px->cfg.groups);
    rig_px->cfg.groups = NULL;
    option_free_values(&rig_px->opts);
    mem_free(rig_px);
    rig_px = NULL;
    if (rig_pipe[0] >= 0) {
        close(rig_pipe[0]); /* rig_pipe[1] was the session's */
        rig_pipe[0] = rig_pipe[1] = -1;
    }
}

#endif
