/* Failover among proxies (failover.c): down detection agreed with the
 * peers, elections, promotion and reconfiguration, Sentinel's events. */
#ifndef CACHELY_PROXY_FAILOVER_H
#define CACHELY_PROXY_FAILOVER_H

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct group;
struct node;
struct peerlink;

enum failover_state {
    FAILOVER_NONE = 0,
    FAILOVER_ELECTION,           /* asked the peers for votes */
    FAILOVER_PAUSING,            /* switchover: pausing the master, waiting for the replica */
    FAILOVER_PROMOTING,          /* REPLICAOF NO ONE sent */
};

/* Another proxy (a peer) as this one sees it. */
struct peer {
    struct proxy *px;            /* borrowed */
    char host[256];
    int port;
    char name[300];              /* host:port */
    char runid[41];              /* from its HELLO reply; "" until known */
    long long epoch;             /* its current epoch, as it last said */
    struct peerlink *link;       /* owned (peerlink.c), NULL between attempts */
    int connected;               /* the link is up (TCP, and TLS with tls-peers) */
    int announced;               /* it answered: "connected" was logged */
    int tls_refused_logged;      /* a refused TLS handshake was logged */
    long long tls_backoff_ms;    /* retry delay after refused handshakes (0: none) */
    int auth_refused_logged;     /* its refusal of our peer-auth was logged */
    int refusal_logged;          /* an error reply to our request was logged */
    long long connect_ms;        /* when the connection attempt started */
    long long retry_ms;
    int pending;                 /* requests without a reply */
    long long pending_since_ms;
    long long last_reply_ms;
    long long hello_ms;          /* last HELLO sent */
    long long *down_at;          /* owned, per group: when it last said "master down" */
    unsigned char *asking;       /* owned, per group: a down query is in flight */
};

/* Parse peers, set the run id and the events; -1 (logged) on bad options. */
int failover_setup(struct proxy *px);
void failover_teardown(struct proxy *px);
/* Detection, agreement, elections, promotions, reconfiguration; from the
 * cron after topology_cron. */
void failover_cron(struct proxy *px);
/* The peer answered lately (usable for quorum and votes). */
int failover_peer_alive(const struct peer *p, long long now);
/* The quorum and the votes a leader needs. */
long long failover_quorum(const struct proxy *px);
long long failover_votes_needed(const struct proxy *px);
/* The master of g is subjectively / objectively down (as this proxy sees it). */
int failover_sdown(const struct proxy *px, const struct group *g);
int failover_odown(const struct proxy *px, const struct group *g);
/* A peer's "SENTINEL is-master-down-by-addr ip port epoch runid|*": sets
 * *down, and the leader we voted for (or "*") and its epoch. */
void failover_vote_request(struct proxy *px, const char *ip, int port, long long epoch,
                           const char *runid, int *down, const char **leader,
                           long long *leader_epoch);
/* A peer's hello: its epoch and what it holds as g's master.  Adopts a
 * newer configuration. */
void failover_hello(struct proxy *px, long long epoch, const char *group,
                    const char *master_ip, int master_port, long long config_epoch);
/* SENTINEL FAILOVER: a planned switchover of g (to target when not NULL).
 * NULL when started, else an error reply line. */
const char *failover_start_switchover(struct proxy *px, struct group *g, struct node *target);
/* The replica a failover of g would promote, or NULL. */
struct node *failover_select_replica(struct proxy *px, struct group *g);
/* Publish a Sentinel event ("+sdown", "master mymaster 127.0.0.1 6379"). */
void failover_event(struct proxy *px, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The group whose master name is name (its Sentinel name), or NULL. */
struct group *failover_group_by_name(struct proxy *px, const char *name, size_t len);
/* g's Sentinel name: the name option for the one group of --nodes, else
 * the group's own name. */
const char *failover_group_name(const struct proxy *px, const struct group *g);

#endif
