/* The proxies' failover (src/proxy/failover.c) driven by hand: a clock the
 * test moves (failover_env.h) and links whose requests the test answers
 * with RESP bytes, decoded by peerlink.c's own decoder.  Probes are played
 * through topology.c's own functions (a node answers or stays silent), so
 * no socket is opened and nothing sleeps. */
#include "proxy/failover_env.h"
#include "proxy/failover.h"
#include "proxy/proxy.h"
#include "proxy/topology.h"
#include "core/alloc.h"
#include "core/log.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define T0 1000000LL      /* the clock at the start */
#define DOWN_AFTER 1000   /* down-after-ms */
#define PROBE 100         /* probe-interval-ms */
#define FO_TIMEOUT 3000   /* failover-timeout-ms */

/* Run ids, in the order that ranks proxies: ME tries before both peers. */
#define RUNID_ME "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define RUNID_P0 "cccccccccccccccccccccccccccccccccccccccc"
#define RUNID_P1 "dddddddddddddddddddddddddddddddddddddddd"
#define RUNID_X "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

/* ---- the fake links ------------------------------------------------------ */

struct fake_req {
    int argc;
    char *argv[8];               /* owned copies */
    peerlink_reply_fn cb;
    void *arg;
    struct fake_req *next;
};

/* This file's own link (peerlink.c's struct is never seen here). */
struct peerlink {
    char host[64];
    int port;
    enum peerlink_state state;
    int replied;
    int busy;                    /* inside one of its callbacks */
    int destroyed;
    struct fake_req *head;       /* owned: requests without a reply, in order */
    struct peerlink *next;       /* the live links */
};

static struct peerlink *live_links;
static long long now_ms;

static long long
fake_now(void)
{
    return now_ms;
}

static struct peerlink *
fake_create(struct event_base *base, const char *host, int port, struct conn_tls_ctx *ctx,
            const char *what)
{
    (void)base;
    (void)ctx;
    (void)what;
    struct peerlink *l = calloc(1, sizeof(*l));
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->port = port;
    l->state = PEERLINK_UP; /* connects at once */
    l->next = live_links;
    live_links = l;
    return l;
}

static int
fake_send(struct peerlink *l, int argc, const char **argv, peerlink_reply_fn cb, void *arg)
{
    if (l->state == PEERLINK_FAILED) {
        return -1;
    }
    cr_assert_leq(argc, 8);
    struct fake_req *q = calloc(1, sizeof(*q));
    q->argc = argc;
    for (int i = 0; i < argc; i++) {
        q->argv[i] = strdup(argv[i]);
    }
    q->cb = cb;
    q->arg = arg;
    struct fake_req **pp = &l->head;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = q;
    return 0;
}

static enum peerlink_state
fake_state(const struct peerlink *l)
{
    return l->state;
}

static int
fake_tls_refused(const struct peerlink *l)
{
    (void)l;
    return 0;
}

static int
fake_replied(const struct peerlink *l)
{
    return l->replied;
}

static void
req_free(struct fake_req *q)
{
    for (int i = 0; i < q->argc; i++) {
        free(q->argv[i]);
    }
    free(q);
}

static void
link_free(struct peerlink *l)
{
    for (struct peerlink **pp = &live_links; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    free(l);
}

/* As peerlink_destroy: pending callbacks get NULL; safe inside a callback. */
static void
fake_destroy(struct peerlink **lp)
{
    struct peerlink *l = *lp;
    *lp = NULL;
    if (l == NULL || l->destroyed) {
        return;
    }
    l->destroyed = 1;
    l->state = PEERLINK_FAILED;
    l->busy++;
    while (l->head) {
        struct fake_req *q = l->head;
        l->head = q->next;
        if (q->cb) {
            q->cb(q->arg, NULL);
        }
        req_free(q);
    }
    l->busy--;
    if (l->busy == 0) {
        link_free(l);
    }
}

static const struct failover_env fake_env = {
    .now_ms = fake_now,
    .link_create = fake_create,
    .link_send = fake_send,
    .link_state = fake_state,
    .link_tls_refused = fake_tls_refused,
    .link_replied = fake_replied,
    .link_destroy = fake_destroy,
};

/* The live link to port, or NULL. */
static struct peerlink *
link_to(int port)
{
    for (struct peerlink *l = live_links; l; l = l->next) {
        if (l->port == port && !l->destroyed) {
            return l;
        }
    }
    return NULL;
}

/* The first request on l whose arguments start with a0 (and a1 and, when
 * last is given, end with it); NULL when none. */
static struct fake_req *
find_req(struct peerlink *l, const char *a0, const char *a1, const char *last)
{
    for (struct fake_req *q = l ? l->head : NULL; q; q = q->next) {
        if (strcasecmp(q->argv[0], a0) == 0 && (a1 == NULL || (q->argc > 1
                                                               && strcasecmp(q->argv[1], a1) == 0))
            && (last == NULL || strcmp(q->argv[q->argc - 1], last) == 0)) {
            return q;
        }
    }
    return NULL;
}

/* Answer request q of l with the reply resp (RESP bytes). */
static void
answer(struct peerlink *l, struct fake_req *q, const char *resp)
{
    struct fake_req **pp = &l->head;
    while (*pp != q) {
        cr_assert_not_null(*pp, "request not on the link");
        pp = &(*pp)->next;
    }
    *pp = q->next;
    struct peerlink_reply r;
    cr_assert_eq(peerlink_decode(resp, strlen(resp), &r, 0), strlen(resp), "reply %s", resp);
    l->replied = 1;
    l->busy++;
    if (q->cb) {
        q->cb(q->arg, &r);
    }
    l->busy--;
    peerlink_reply_free(&r);
    req_free(q);
    if (l->destroyed && l->busy == 0) {
        link_free(l);
    }
}

/* Answer every pending request on l that find_req matches; returns how many. */
static int
answer_all(struct peerlink *l, const char *a0, const char *a1, const char *last,
           const char *resp)
{
    int n = 0;
    struct fake_req *q;
    while (l != NULL && !l->destroyed && (q = find_req(l, a0, a1, last)) != NULL) {
        answer(l, q, resp);
        n++;
    }
    return n;
}

/* ---- a proxy with one group and two peers ------------------------------------ */

static struct proxy px;
static struct group *g;
static struct node *m, *r1, *r2;
static int silent[8];            /* per node index: the node does not answer probes */
static char peers_two[] = "127.0.0.1:26380,127.0.0.1:26381";

static struct node *
add_node(int port, int role, long long priority, long long offset)
{
    struct node *n = topology_add(&px, g, "127.0.0.1", port);
    n->role = role;
    n->priority = priority;
    n->offset = offset;
    n->link_up = 1;
    n->epoch = 1;
    if (role == NODE_ROLE_REPLICA) {
        snprintf(n->master_host, sizeof(n->master_host), "127.0.0.1");
        n->master_port = 7000;
    }
    topology_node_alive(&px, n, now_ms);
    return n;
}

/* peers: NULL for none; quorum 0: the majority. */
static void
start(char *peers, long long quorum, int failover)
{
    /* Each step is logged at info: shown with CACHELY_TEST_VERBOSE=1. */
    log_current_level = getenv("CACHELY_TEST_VERBOSE") ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR;
    memset(&px, 0, sizeof(px));
    memset(silent, 0, sizeof(silent));
    live_links = NULL;
    now_ms = T0;
    failover_set_env(&fake_env);
    px.cfg.peers = peers;
    px.cfg.quorum = quorum;
    px.cfg.failover = failover;
    px.cfg.failover_timeout_ms = FO_TIMEOUT;
    px.cfg.down_after_ms = DOWN_AFTER;
    px.cfg.probe_interval_ms = PROBE;
    px.cfg.pool_size = 1;
    px.groups = mem_calloc(sizeof(*px.groups));
    px.ngroups = 1;
    g = &px.groups[0];
    snprintf(g->name, sizeof(g->name), "g1");
    cr_assert_eq(failover_setup(&px), 0);
    memcpy(px.runid, RUNID_ME, sizeof(px.runid));
    m = add_node(7000, NODE_ROLE_MASTER, 100, 1000);
    r1 = add_node(7001, NODE_ROLE_REPLICA, 100, 1000);
    r2 = add_node(7002, NODE_ROLE_REPLICA, 100, 1000);
    topology_set_master(&px, g, m, 1);
    px.current_epoch = 1;
}

static void
stop(void)
{
    failover_teardown(&px);
    topology_teardown(&px);
    failover_set_env(NULL);
    cr_assert_null(live_links, "a link was never destroyed");
}

static const char *const peer_runids[] = {RUNID_P0, RUNID_P1};

/* The peers answer our hellos (sent at the last tick) with their run ids,
 * as live proxies do: they stay alive however long a test runs. */
static void
peers_answer_hellos(void)
{
    for (size_t i = 0; i < px.npeers; i++) {
        char resp[128];
        snprintf(resp, sizeof(resp), "*2\r\n$40\r\n%s\r\n:1\r\n", peer_runids[i]);
        answer_all(px.peers[i].link, "SENTINEL", "HELLO", NULL, resp);
    }
}

/* One cron tick at now_ms + ms: the peers' hello replies, the probes
 * (nodes not silent answer; a silent one may be marked down), then
 * failover's cron, as main.c runs topology_cron then failover_cron. */
static void
tick(long long ms)
{
    now_ms += ms;
    peers_answer_hellos();
    for (size_t i = 0; i < px.nnodes; i++) {
        if (!silent[i]) {
            topology_node_alive(&px, px.nodes[i], now_ms);
        }
        topology_check_down(&px, px.nodes[i], now_ms);
    }
    failover_cron(&px);
}

static struct peerlink *
peer_link(int i)
{
    return px.peers[i].link;
}

/* Both peers connect and answer our hellos. */
static void
connect_peers(void)
{
    tick(0); /* connect */
    tick(0); /* connected: hello */
    tick(0); /* answered */
    for (size_t i = 0; i < px.npeers; i++) {
        cr_assert(failover_peer_alive(&px.peers[i], now_ms), "peer %zu", i);
        cr_assert_str_eq(px.peers[i].runid, peer_runids[i]);
    }
}

/* The master stops answering; tick until this proxy sees it down. */
static void
master_goes_silent(void)
{
    silent[0] = 1;
    for (int i = 0; i < 20 && !failover_sdown(&px, g); i++) {
        tick(PROBE);
    }
    cr_assert(failover_sdown(&px, g));
}

/* Peer i answers its pending "is the master down?" queries with down. */
static int
peer_reports(int i, int down)
{
    char resp[64];
    snprintf(resp, sizeof(resp), "*3\r\n:%d\r\n$1\r\n*\r\n:0\r\n", down);
    return answer_all(peer_link(i), "SENTINEL", "is-master-down-by-addr", "*", resp);
}

/* Peer i answers our vote request: it voted for runid in epoch. */
static int
peer_votes(int i, const char *runid, long long epoch)
{
    char resp[128];
    snprintf(resp, sizeof(resp), "*3\r\n:1\r\n$40\r\n%s\r\n:%lld\r\n", runid, epoch);
    return answer_all(peer_link(i), "SENTINEL", "is-master-down-by-addr", RUNID_ME, resp);
}

/* From a connected pair of peers to our election: the master goes silent,
 * peer 0 confirms, our turn comes.  Returns the election's epoch. */
static long long
reach_election(void)
{
    connect_peers();
    master_goes_silent();
    cr_assert_eq(peer_reports(0, 1), 1);
    for (int i = 0; i < 5 && g->fo_state != FAILOVER_ELECTION; i++) {
        tick(PROBE);
        peer_reports(0, 1);
    }
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION);
    return g->fo_epoch;
}

/* ---- detection ----------------------------------------------------------------- */

Test(failover, a_silent_master_is_sdown_only_after_down_after_ms)
{
    start(NULL, 0, 0);
    long long last = now_ms; /* its last reply; the detector is not warm yet */
    silent[0] = 1;
    now_ms = last + DOWN_AFTER - 1;
    tick(1); /* exactly down-after-ms of silence */
    cr_assert_eq(g->sdown_since_ms, 0);
    cr_assert(!failover_sdown(&px, g));
    tick(1);
    cr_assert(failover_sdown(&px, g));
    cr_assert_eq(g->sdown_since_ms, last + DOWN_AFTER + 1);
    stop();
}

Test(failover, a_master_answering_again_is_no_longer_sdown)
{
    start(NULL, 0, 0);
    master_goes_silent();
    silent[0] = 0;
    tick(PROBE);
    cr_assert(!failover_sdown(&px, g));
    cr_assert_eq(g->sdown_since_ms, 0);
    stop();
}

Test(failover, odown_needs_quorum_proxies)
{
    start(peers_two, 3, 0);
    connect_peers();
    master_goes_silent();
    cr_assert_eq(peer_reports(0, 1), 1);
    tick(PROBE);
    cr_assert(!failover_odown(&px, g), "2 of a quorum of 3");
    cr_assert_eq(peer_reports(1, 1), 1);
    tick(PROBE);
    cr_assert(failover_odown(&px, g));
    cr_assert_eq(g->odown_since_ms, now_ms);
    stop();
}

Test(failover, a_peer_saying_up_does_not_count_toward_odown)
{
    start(peers_two, 2, 0);
    connect_peers();
    master_goes_silent();
    cr_assert_eq(peer_reports(0, 0), 1);
    cr_assert_eq(peer_reports(1, 0), 1);
    tick(PROBE);
    cr_assert(!failover_odown(&px, g));
    stop();
}

Test(failover, a_down_report_counts_for_one_second)
{
    start(peers_two, 2, 0);
    connect_peers();
    master_goes_silent();
    cr_assert_eq(peer_reports(0, 1), 1);
    long long reported = now_ms;
    tick(0);
    cr_assert(failover_odown(&px, g));
    /* No further report: still odown 1 s after, not later. */
    while (now_ms + PROBE <= reported + 1000) {
        tick(PROBE);
        cr_assert(failover_odown(&px, g), "at +%lld ms", now_ms - reported);
    }
    now_ms = reported + 1000;
    tick(1);
    cr_assert(!failover_odown(&px, g));
    stop();
}

/* ---- votes (this proxy as a voter) ------------------------------------------- */

static void
vote(long long epoch, const char *runid, const char **leader, long long *leader_epoch)
{
    int down;
    failover_vote_request(&px, "127.0.0.1", 7000, epoch, runid, &down, leader, leader_epoch);
}

Test(failover, a_proxy_votes_once_per_epoch)
{
    start(peers_two, 0, 0);
    master_goes_silent();
    const char *leader;
    long long le;
    vote(5, RUNID_P0, &leader, &le);
    cr_assert_str_eq(leader, RUNID_P0);
    vote(5, RUNID_P1, &leader, &le);
    cr_assert_str_eq(leader, RUNID_P0, "the second candidate of epoch 5 got our vote");
    cr_assert_eq(le, 5);
    stop();
}

Test(failover, a_higher_epoch_gets_a_new_vote)
{
    start(peers_two, 0, 0);
    master_goes_silent();
    const char *leader;
    long long le;
    vote(5, RUNID_P0, &leader, &le);
    vote(6, RUNID_P1, &leader, &le);
    cr_assert_str_eq(leader, RUNID_P1);
    cr_assert_eq(le, 6);
    cr_assert_eq(px.current_epoch, 6);
    stop();
}

Test(failover, a_vote_request_of_a_stale_epoch_gets_no_vote)
{
    start(peers_two, 0, 0);
    master_goes_silent();
    const char *leader;
    long long le;
    vote(6, RUNID_P1, &leader, &le);
    vote(5, RUNID_P0, &leader, &le);
    cr_assert_str_eq(leader, RUNID_P1);
    cr_assert_eq(le, 6);
    stop();
}

Test(failover, a_stale_epoch_gets_no_vote_even_before_any_vote)
{
    start(peers_two, 0, 0);
    master_goes_silent();
    px.current_epoch = 7; /* heard from a peer's hello */
    const char *leader;
    long long le;
    vote(6, RUNID_P0, &leader, &le);
    cr_assert_str_eq(leader, "*");
    cr_assert_eq(g->leader_epoch, 0);
    stop();
}

Test(failover, no_vote_for_a_master_this_proxy_sees_up)
{
    start(peers_two, 0, 0);
    const char *leader;
    long long le;
    int down = -1;
    failover_vote_request(&px, "127.0.0.1", 7000, 5, RUNID_P0, &down, &leader, &le);
    cr_assert_eq(down, 0);
    cr_assert_str_eq(leader, "*");
    stop();
}

Test(failover, voting_for_another_candidate_ends_our_election)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    const char *leader;
    long long le;
    vote(e + 1, RUNID_P0, &leader, &le);
    cr_assert_str_eq(leader, RUNID_P0);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    cr_assert_eq(g->fo_next_try_ms, now_ms + FO_TIMEOUT);
    stop();
}

/* ---- elections (this proxy as the candidate) ------------------------------- */

Test(failover, odown_starts_an_election_in_a_new_epoch_with_our_own_vote)
{
    start(peers_two, 0, 1);
    long long before = px.current_epoch;
    long long e = reach_election();
    cr_assert_eq(e, before + 1);
    cr_assert_eq(px.current_epoch, e);
    cr_assert_eq(g->leader_epoch, e);
    cr_assert_str_eq(g->leader, RUNID_ME);
    char ep[24];
    snprintf(ep, sizeof(ep), "%lld", e);
    struct fake_req *q = find_req(peer_link(1), "SENTINEL", "is-master-down-by-addr", RUNID_ME);
    cr_assert_not_null(q, "no vote request to peer 1");
    cr_assert_str_eq(q->argv[4], ep);
    stop();
}

Test(failover, one_peer_vote_makes_a_majority_of_three)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION, "elected with our own vote only");
    cr_assert_eq(peer_votes(0, RUNID_ME, e), 1);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_PROMOTING);
    stop();
}

Test(failover, a_vote_for_another_candidate_does_not_count)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    cr_assert_eq(peer_votes(0, RUNID_X, e), 1);
    cr_assert_eq(peer_votes(1, RUNID_X, e), 1);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION);
    cr_assert_eq(g->fo_voters, 0);
    stop();
}

Test(failover, a_vote_given_in_an_older_epoch_does_not_count)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    /* The peer's vote for us is from our previous attempt. */
    cr_assert_eq(peer_votes(0, RUNID_ME, e - 1), 1);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION);
    cr_assert_eq(g->fo_voters, 0);
    stop();
}

Test(failover, an_election_without_majority_is_abandoned_after_a_third_of_the_timeout)
{
    start(peers_two, 0, 1);
    reach_election();
    long long started = g->fo_start_ms;
    peer_votes(0, RUNID_X, g->fo_epoch);
    peer_votes(1, RUNID_X, g->fo_epoch);
    now_ms = started + FO_TIMEOUT / 3 - 1;
    tick(1);
    peer_reports(0, 1);
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION, "abandoned at exactly timeout/3");
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    /* The next attempt waits a random quarter to half of the timeout. */
    cr_assert_geq(g->fo_next_try_ms, now_ms + FO_TIMEOUT / 4);
    cr_assert_leq(g->fo_next_try_ms, now_ms + FO_TIMEOUT / 2);
    stop();
}

Test(failover, an_abandoned_election_is_retried_in_a_higher_epoch)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    peer_votes(0, RUNID_X, e);
    peer_votes(1, RUNID_X, e);
    now_ms = g->fo_start_ms + FO_TIMEOUT / 3;
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    long long next = g->fo_next_try_ms;
    /* The peers keep confirming the master is down. */
    while (now_ms + PROBE < next) {
        peer_reports(0, 1);
        tick(PROBE);
        cr_assert_eq(g->fo_state, FAILOVER_NONE, "retried before its time");
    }
    for (int i = 0; i < 3 && g->fo_state == FAILOVER_NONE; i++) {
        peer_reports(0, 1);
        tick(PROBE);
    }
    cr_assert_eq(g->fo_state, FAILOVER_ELECTION);
    cr_assert_eq(g->fo_epoch, e + 1);
    stop();
}

Test(failover, a_newer_configuration_from_a_peer_ends_our_attempt)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    failover_hello(&px, e, "g1", "127.0.0.1", 7001, e);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    cr_assert_eq(g->master, r1);
    cr_assert_eq(g->config_epoch, e);
    stop();
}

Test(failover, a_hello_with_a_stale_config_epoch_is_ignored)
{
    start(peers_two, 0, 0);
    failover_hello(&px, 1, "g1", "127.0.0.1", 7001, 1);
    cr_assert_eq(g->master, m);
    failover_hello(&px, 3, "g1", "127.0.0.1", 7001, 3);
    cr_assert_eq(g->master, r1);
    failover_hello(&px, 3, "g1", "127.0.0.1", 7002, 2);
    cr_assert_eq(g->master, r1, "epoch 2 undid epoch 3");
    cr_assert_eq(g->config_epoch, 3);
    stop();
}

/* ---- promotion ------------------------------------------------------------------ */

Test(failover, the_elected_leader_promotes_and_reconfigures_the_others)
{
    start(peers_two, 0, 1);
    r2->offset = 2000; /* r2 has more of the stream */
    long long e = reach_election();
    peer_votes(0, RUNID_ME, e);
    tick(PROBE);
    char ep[24];
    snprintf(ep, sizeof(ep), "%lld", e);
    struct fake_req *q = find_req(link_to(7002), "REPLICAOF", "NO", ep);
    cr_assert_not_null(q, "REPLICAOF NO ONE EPOCH %s not sent to 7002", ep);
    cr_assert_null(link_to(7001), "the other replica was sent something first");
    answer(link_to(7002), q, "+OK\r\n");
    cr_assert_eq(g->master, r2);
    cr_assert_eq(g->config_epoch, e);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    q = find_req(link_to(7001), "REPLICAOF", "127.0.0.1", ep);
    cr_assert_not_null(q, "7001 not re-pointed at the new master");
    cr_assert_str_eq(q->argv[2], "7002");
    answer(link_to(7001), q, "+OK\r\n");
    tick(PROBE);
    stop();
}

Test(failover, a_refused_promotion_is_abandoned)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    peer_votes(0, RUNID_ME, e);
    tick(PROBE);
    struct node *t = g->fo_promoted;
    cr_assert_not_null(t);
    struct peerlink *l = link_to(t->port);
    answer(l, find_req(l, "REPLICAOF", "NO", NULL), "-ERR epoch refused\r\n");
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    cr_assert_eq(g->master, m);
    tick(PROBE);
    stop();
}

Test(failover, an_unanswered_promotion_times_out_after_failover_timeout)
{
    start(peers_two, 0, 1);
    long long e = reach_election();
    peer_votes(0, RUNID_ME, e);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_PROMOTING);
    long long started = g->fo_start_ms;
    now_ms = started + FO_TIMEOUT - 1;
    peer_reports(0, 1);
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_PROMOTING, "abandoned at exactly failover-timeout");
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    cr_assert_eq(g->master, m);
    stop();
}

Test(failover, the_replica_with_the_lowest_priority_number_is_chosen)
{
    start(NULL, 0, 0);
    r1->priority = 10;
    r1->offset = 100;
    r2->priority = 50;
    r2->offset = 9000;
    cr_assert_eq(failover_select_replica(&px, g), r1);
    stop();
}

Test(failover, among_equal_priorities_the_largest_offset_is_chosen)
{
    start(NULL, 0, 0);
    r1->offset = 100;
    r2->offset = 9000;
    cr_assert_eq(failover_select_replica(&px, g), r2);
    r1->offset = 9001;
    cr_assert_eq(failover_select_replica(&px, g), r1);
    stop();
}

Test(failover, priority_0_down_syncing_or_silent_replicas_are_never_chosen)
{
    start(NULL, 0, 0);
    r2->offset = 9000;
    r2->priority = 0;
    cr_assert_eq(failover_select_replica(&px, g), r1, "priority 0");
    r2->priority = 100;
    r2->sync_in_progress = 1;
    cr_assert_eq(failover_select_replica(&px, g), r1, "syncing");
    r2->sync_in_progress = 0;
    r2->up = 0;
    cr_assert_eq(failover_select_replica(&px, g), r1, "down");
    r2->up = 1;
    r2->last_ok_ms = now_ms - 5 * PROBE - DOWN_AFTER - 1;
    cr_assert_eq(failover_select_replica(&px, g), r1, "no valid probe reply lately");
    r1->up = 0;
    cr_assert_null(failover_select_replica(&px, g));
    stop();
}

/* ---- switchover (SENTINEL FAILOVER) ----------------------------------------- */

/* Answer the INFO replication sent to port with a bulk holding
 * "field:value". */
static void
answer_info(int port, const char *field, long long value)
{
    char text[128], resp[160];
    snprintf(text, sizeof(text), "# Replication\r\n%s:%lld\r\n", field, value);
    snprintf(resp, sizeof(resp), "$%zu\r\n%s\r\n", strlen(text), text);
    struct peerlink *l = link_to(port);
    struct fake_req *q = find_req(l, "INFO", "replication", NULL);
    cr_assert_not_null(q, "no INFO replication to %d", port);
    answer(l, q, resp);
}

/* The master is paused (its CLIENT PAUSE answered) and says its offset. */
static void
switchover_paused(long long master_offset)
{
    cr_assert_null(failover_start_switchover(&px, g, NULL));
    cr_assert_eq(g->fo_state, FAILOVER_PAUSING);
    struct peerlink *l = link_to(7000);
    struct fake_req *q = find_req(l, "CLIENT", "PAUSE", "WRITE");
    cr_assert_not_null(q, "the master was not paused");
    answer(l, q, "+OK\r\n");
    answer_info(7000, "master_repl_offset", master_offset);
    cr_assert_eq(g->fo_pause_offset, master_offset);
}

Test(failover, a_switchover_promotes_once_the_replica_has_the_paused_offset)
{
    start(NULL, 0, 1);
    r2->offset = 4000; /* the best replica, still behind */
    switchover_paused(5000);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_PAUSING, "promoted a replica that lags");
    cr_assert_null(find_req(link_to(7002), "REPLICAOF", "NO", NULL));
    answer_info(7002, "slave_repl_offset", 5000);
    tick(PROBE);
    cr_assert_eq(g->fo_state, FAILOVER_PROMOTING);
    cr_assert_not_null(find_req(link_to(7002), "REPLICAOF", "NO", NULL));
    stop();
}

Test(failover, a_switchover_whose_replica_never_catches_up_is_abandoned_and_unpaused)
{
    start(NULL, 0, 1);
    r2->offset = 4000;
    switchover_paused(5000);
    long long started = g->fo_start_ms;
    now_ms = started + FO_TIMEOUT - 1;
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_PAUSING);
    tick(1);
    cr_assert_eq(g->fo_state, FAILOVER_NONE);
    cr_assert_eq(g->master, m);
    cr_assert_not_null(find_req(link_to(7000), "CLIENT", "UNPAUSE", NULL),
                       "the master stays paused");
    stop();
}
