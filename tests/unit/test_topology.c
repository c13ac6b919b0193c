/* The groups and their nodes (src/proxy/topology.c), fed probe replies
 * without a socket: slots to groups, roles and the group's master from
 * INFO, nodes discovered from INFO, a node seen down and up again,
 * set_master moving the role, and where reads go per read policy. */
#include "proxy_rig.h"
#include "core/util.h"

#include <time.h>

static const char *const two_groups[] = {"a 0-8191 127.0.0.1:7001",
                                         "b 8192-16383 127.0.0.1:7002", NULL};
static const char *const read_master[] = {"read-policy", "master", NULL};
static const char *const read_replicas[] = {"read-policy", "replicas", NULL};

TestSuite(topology, .fini = rig_stop);

/* ---- groups ----------------------------------------------------------------- */

Test(topology, groups_own_the_slots_their_lines_name)
{
    char k[32];
    rig_start(two_groups, NULL, NULL);
    cr_assert_eq(rig_px->ngroups, 2);
    cr_assert_eq(rig_px->groups[0].slots, 8192);
    cr_assert_eq(rig_px->groups[1].slots, 8192);
    cr_assert_eq(rig_node(7001)->group, &rig_px->groups[0]);
    cr_assert_eq(rig_node(7002)->group, &rig_px->groups[1]);
    /* CRC16 mod 16384: "k2" is in slot 449 (a), "k0" in 8579 (b) */
    cr_assert_str_eq(topology_group_of_key(rig_px, "k2", 2)->name, "a");
    cr_assert_str_eq(topology_group_of_key(rig_px, "k0", 2)->name, "b");
    /* a hash tag routes by the tag */
    snprintf(k, sizeof(k), "{k0}x");
    cr_assert_str_eq(topology_group_of_key(rig_px, k, strlen(k))->name, "b");
}

Test(topology, nodes_alone_make_one_group_that_owns_every_slot)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    cr_assert_eq(rig_px->ngroups, 1);
    cr_assert_str_eq(rig_px->groups[0].name, "default");
    cr_assert_eq(rig_px->groups[0].slots, 16384);
    cr_assert_eq(rig_px->nnodes, 2);
    cr_assert_eq(rig_node(7002)->group, &rig_px->groups[0]);
}

Test(topology, a_topology_that_leaves_a_slot_unowned_changes_nothing)
{
    rig_start(two_groups, NULL, NULL);
    cr_assert_eq(topology_apply(rig_px, "a 0-8191 127.0.0.1:7001;b 8192-16000 127.0.0.1:7002;",
                                NULL),
                 -1);
    cr_assert_eq(rig_px->groups[1].slots, 8192, "the old slot map stays");
    cr_assert_str_eq(topology_group_of_key(rig_px, "k0", 2)->name, "b");
}

Test(topology, a_reload_moves_slots_to_another_group)
{
    rig_start(two_groups, NULL, NULL);
    cr_assert_eq(topology_apply(rig_px, "a 0-16383 127.0.0.1:7001;", NULL), 0);
    cr_assert_eq(rig_px->groups[0].slots, 16384);
    cr_assert_eq(rig_px->groups[1].slots, 0);
    cr_assert_str_eq(topology_group_of_key(rig_px, "k0", 2)->name, "a");
}

/* ---- roles from probes ----------------------------------------------------- */

Test(topology, a_node_that_says_master_becomes_its_groups_master)
{
    rig_start(two_groups, NULL, NULL);
    struct node *n = rig_node(7002);
    cr_assert_null(rig_px->groups[1].master);
    rig_master_up(7002);
    cr_assert_eq(n->role, NODE_ROLE_MASTER);
    cr_assert(n->up);
    cr_assert_eq(n->offset, 1000);
    cr_assert_eq(rig_px->groups[1].master, n);
    cr_assert_null(rig_px->groups[0].master, "another group's master is not touched");
}

Test(topology, a_node_that_says_slave_is_a_replica_with_its_link_and_offset)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    rig_master_up(7001);
    rig_replica_up(7002, 7001, 900);
    struct node *r = rig_node(7002);
    cr_assert_eq(r->role, NODE_ROLE_REPLICA);
    cr_assert(r->link_up);
    cr_assert_eq(r->offset, 900);
    cr_assert_eq(rig_px->groups[0].master, rig_node(7001));
}

Test(topology, a_masters_replicas_are_discovered_from_its_info)
{
    rig_start(NULL, "127.0.0.1:7001", NULL);
    rig_probe_reply(rig_node(7001), "role:master\r\nmaster_repl_offset:5\r\nconnected_slaves:2\r\n"
                                    "slave0:ip=127.0.0.1,port=7003,state=online,offset=5,lag=0\r\n"
                                    "slave1:ip=127.0.0.1,port=7004,state=online,offset=5,lag=0\r\n");
    cr_assert_eq(rig_px->nnodes, 3);
    cr_assert_eq(rig_node(7003)->group, &rig_px->groups[0]);
    cr_assert_eq(rig_node(7004)->group, &rig_px->groups[0]);
}

Test(topology, a_replicas_master_is_discovered_from_its_info)
{
    rig_start(NULL, "127.0.0.1:7002", NULL);
    rig_replica_up(7002, 7009, 10);
    cr_assert_eq(rig_px->nnodes, 2);
    cr_assert_eq(rig_node(7009)->group, &rig_px->groups[0]);
}

Test(topology, a_master_from_a_newer_epoch_replaces_the_current_one)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    rig_master_up(7001);
    rig_probe_reply(rig_node(7002), "role:master\r\nconfig_epoch:3\r\n");
    cr_assert_eq(rig_px->groups[0].master, rig_node(7002));
    cr_assert_eq(rig_px->groups[0].config_epoch, 3);
    cr_assert_eq(rig_px->groups[0].switch_count, 1);
    cr_assert_eq(rig_px->current_epoch, 3);
}

Test(topology, a_second_master_of_the_same_epoch_does_not_displace_a_working_one)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    rig_master_up(7001);
    rig_master_up(7002);
    cr_assert_eq(rig_px->groups[0].master, rig_node(7001));
}

Test(topology, a_master_from_an_older_epoch_is_never_adopted)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    rig_master_up(7001);
    topology_set_master(rig_px, &rig_px->groups[0], rig_node(7002), 5);
    rig_node(7002)->up = 0; /* even with the current master down */
    rig_probe_reply(rig_node(7001), "role:master\r\nconfig_epoch:2\r\n");
    cr_assert_eq(rig_px->groups[0].master, rig_node(7002));
}

/* ---- down and up ------------------------------------------------------------- */

static long long
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One node that answered a probe at once, its probe connection a
 * descriptor that is never written and still owing a reply: the cron
 * sends nothing more and only measures its silence. */
static struct node *
silent_node(void)
{
    static const char *const opts[] = {"probe-interval-ms", "10", "down-after-ms", "300", NULL};
    rig_start(NULL, "127.0.0.1:7001", opts);
    struct node *n = rig_node(7001);
    rig_master_up(7001);
    n->probe_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    n->probe_connected = 1;
    n->probe_waiting = 2;
    return n;
}

/* The ms the node stayed up for, calling the cron until it is down. */
static long long
time_to_down(struct node *n)
{
    long long start = mono_ms();
    while (n->up && mono_ms() - start < 10000) {
        topology_cron(rig_px);
        usleep(2000);
    }
    return mono_ms() - start;
}

Test(topology, a_node_that_just_answered_is_up)
{
    struct node *n = silent_node();
    topology_cron(rig_px);
    cr_assert(n->up);
    cr_assert_geq(n->probe_fd, 0, "its probe connection stays");
}

Test(topology, a_node_silent_for_down_after_ms_is_marked_down)
{
    struct node *n = silent_node();
    long long took = time_to_down(n);
    /* Measured from its last reply, on the clock topology.c reads: a slow
     * machine between the reply and the first cron cannot make it flaky. */
    long long silence = util_mstime() - n->last_ok_ms;
    cr_assert_not(n->up, "still up after %lld ms", took);
    cr_assert_geq(silence, 300, "down after %lld ms of silence, before its bound", silence);
    cr_assert_eq(n->probe_fd, -1, "a hung probe connection is replaced");
}

Test(topology, a_node_that_answers_again_is_up_with_a_new_incarnation)
{
    struct node *n = silent_node();
    unsigned before = n->incarnation;
    time_to_down(n);
    cr_assert_not(n->up);
    rig_master_up(7001);
    cr_assert(n->up);
    cr_assert_eq(n->incarnation, before + 1, "cursors from before the outage are refused");
}

Test(topology, loading_counts_as_alive)
{
    rig_start(NULL, "127.0.0.1:7001", NULL);
    struct node *n = rig_node(7001);
    static const char reply[] = "-LOADING Redis is loading the dataset in memory\r\n"
                                "$11\r\nrole:master\r\n";
    n->probe_in = mem_alloc(sizeof(reply));
    n->probe_cap = sizeof(reply);
    memcpy(n->probe_in, reply, sizeof(reply) - 1);
    n->probe_len = sizeof(reply) - 1;
    n->probe_waiting = 2;
    cr_assert_eq(topology_probe_consume(rig_px, n), 0);
    cr_assert(n->up);
}

Test(topology, a_malformed_probe_reply_is_refused)
{
    rig_start(NULL, "127.0.0.1:7001", NULL);
    struct node *n = rig_node(7001);
    static const char reply[] = "+PONG\r\n$x\r\n";
    n->probe_in = mem_alloc(sizeof(reply));
    n->probe_cap = sizeof(reply);
    memcpy(n->probe_in, reply, sizeof(reply) - 1);
    n->probe_len = sizeof(reply) - 1;
    n->probe_waiting = 2;
    cr_assert_eq(topology_probe_consume(rig_px, n), -1);
}

/* ---- set_master --------------------------------------------------------------- */

static struct session *
one_group_client(const char *const *opts)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", opts);
    rig_master_up(7001);
    rig_replica_up(7002, 7001, 1000);
    rig_plug_all();
    return rig_client();
}

Test(topology, set_master_moves_the_role_and_counts_the_switch)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002", NULL);
    rig_master_up(7001);
    struct group *g = &rig_px->groups[0];
    topology_set_master(rig_px, g, rig_node(7002), 4);
    cr_assert_eq(g->master, rig_node(7002));
    cr_assert_eq(g->config_epoch, 4);
    cr_assert_eq(g->switch_count, 1);
    cr_assert_eq(g->off_time[g->off_idx], 0, "the old master's offset samples are gone");
}

Test(topology, requests_on_a_down_master_fail_when_another_takes_its_place)
{
    const char *cmds[] = {"GET k0", NULL};
    struct session *s = one_group_client(read_master);
    rig_pipeline(s, cmds);
    cr_assert_not_null(rig_busy(rig_node(7001)));
    rig_node(7001)->up = 0;
    topology_set_master(rig_px, &rig_px->groups[0], rig_node(7002), 1);
    cr_assert_str_eq(rig_output(s), "-ERR cachely-proxy: connection to 127.0.0.1:7001 lost (the "
                                    "node is no longer the group's master); the request may or "
                                    "may not have been executed\r\n");
    rig_pipeline(s, cmds);
    cr_assert_not_null(rig_busy(rig_node(7002)), "the next request goes to the new master");
}

Test(topology, requests_on_a_master_that_is_up_wait_for_its_answer)
{
    /* A switchover: the old master answers (or refuses with -READONLY and
     * the write is re-sent); nothing is failed early. */
    const char *cmds[] = {"GET k0", NULL};
    struct session *s = one_group_client(read_master);
    rig_pipeline(s, cmds);
    topology_set_master(rig_px, &rig_px->groups[0], rig_node(7002), 1);
    cr_assert_str_eq(rig_output(s), "");
    rig_answer(rig_node(7001), "$1\r\nv\r\n");
    cr_assert_str_eq(rig_output(s), "$1\r\nv\r\n");
}

/* ---- reads per read policy ------------------------------------------------------- */

static struct group *
group_with_replicas(const char *const *opts)
{
    rig_start(NULL, "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", opts);
    rig_master_up(7001);
    rig_replica_up(7002, 7001, 1000);
    rig_replica_up(7003, 7001, 1000);
    return &rig_px->groups[0];
}

Test(topology, a_read_that_may_not_go_to_a_replica_goes_to_the_master)
{
    struct group *g = group_with_replicas(NULL);
    cr_assert_eq(topology_read_target(rig_px, g, 0, 0), rig_node(7001));
    cr_assert_eq(rig_px->routed_master, 1);
}

Test(topology, reads_rotate_over_the_caught_up_replicas)
{
    struct group *g = group_with_replicas(NULL);
    struct node *first = topology_read_target(rig_px, g, 1, 0);
    struct node *second = topology_read_target(rig_px, g, 1, 0);
    cr_assert(first == rig_node(7002) || first == rig_node(7003));
    cr_assert(second == rig_node(7002) || second == rig_node(7003));
    cr_assert_neq(first, second);
    cr_assert_eq(topology_read_target(rig_px, g, 1, 0), first);
    cr_assert_eq(rig_px->routed_replica, 3);
}

Test(topology, a_replica_behind_the_master_is_not_read_from)
{
    struct group *g = group_with_replicas(NULL);
    rig_replica_up(7002, 7001, 999);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(topology_pick_replica(rig_px, g, 0), rig_node(7003));
    }
}

Test(topology, a_replica_down_unlinked_or_syncing_is_not_read_from)
{
    struct group *g = group_with_replicas(NULL);
    rig_node(7003)->up = 0;
    rig_probe_reply(rig_node(7002), "role:slave\r\nmaster_link_status:down\r\n");
    cr_assert_null(topology_pick_replica(rig_px, g, 0));
    rig_probe_reply(rig_node(7002), "role:slave\r\nmaster_link_status:up\r\n"
                                    "master_sync_in_progress:1\r\n");
    cr_assert_null(topology_pick_replica(rig_px, g, 0));
    rig_probe_reply(rig_node(7002), "role:slave\r\nmaster_sync_in_progress:0\r\n");
    cr_assert_eq(topology_pick_replica(rig_px, g, 0), rig_node(7002));
}

Test(topology, without_a_usable_replica_a_read_falls_back_to_the_master)
{
    struct group *g = group_with_replicas(NULL);
    rig_node(7002)->up = 0;
    rig_node(7003)->up = 0;
    cr_assert_eq(topology_read_target(rig_px, g, 1, 0), rig_node(7001));
    cr_assert_eq(rig_px->routed_fallback, 1);
}

Test(topology, a_replica_without_the_sessions_last_write_is_not_read_from)
{
    struct group *g = group_with_replicas(NULL);
    cr_assert_null(topology_pick_replica(rig_px, g, 1001));
    cr_assert_not_null(topology_pick_replica(rig_px, g, 1000));
}

Test(topology, read_policy_replicas_sends_reads_to_a_replica_and_writes_to_the_master)
{
    const char *cmds[] = {"GET k0", "SET k0 v", NULL};
    group_with_replicas(read_replicas);
    rig_plug_all();
    struct session *s = rig_client();
    rig_pipeline(s, cmds);
    cr_assert_str_eq(rig_sent(rig_node(7001)), "*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\n");
    cr_assert(rig_busy(rig_node(7002)) != NULL || rig_busy(rig_node(7003)) != NULL);
}

Test(topology, read_policy_master_sends_reads_to_the_master)
{
    const char *cmds[] = {"GET k0", NULL};
    group_with_replicas(read_master);
    rig_plug_all();
    struct session *s = rig_client();
    rig_pipeline(s, cmds);
    cr_assert_str_eq(rig_sent(rig_node(7001)), "*2\r\n$3\r\nGET\r\n$2\r\nk0\r\n");
    cr_assert_null(rig_busy(rig_node(7002)));
    cr_assert_null(rig_busy(rig_node(7003)));
}
