"""Pub/sub end to end: subscribers on a replica receive what is published on
its master; a subscriber that does not read is disconnected by
client-output-buffer-limit pubsub (Redis's default 32mb 8mb 60) while the
node's memory stays bounded; many subscribers all receive a message.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_PUBSUB_CASES=a,c runs only
those.
"""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Case, Raw, check, client, info, run_in, wait_for  # noqa: E402


def case_a_replica_subscribers(c):
    """PUBLISH on the master reaches subscribers of the replica (the
    command propagates), pattern subscribers included."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    rc = client(rep)
    wait_for(lambda: info(rc, "replication").get("master_link_status") == "up", 20,
             "replica link up")
    s = Raw(rep.port)
    check(s.call("SUBSCRIBE", "events") == [b"subscribe", b"events", 1], "SUBSCRIBE")
    s.send(("PSUBSCRIBE", "ev*"))
    check(s.reply() == [b"psubscribe", b"ev*", 2], "PSUBSCRIBE")
    mc = client(m)
    n = mc.publish("events", "hello")
    check(n == 0, "no subscriber on the master itself: %r" % n)
    check(s.reply() == [b"message", b"events", b"hello"], "message on the replica")
    check(s.reply() == [b"pmessage", b"ev*", b"events", b"hello"], "pmessage on the replica")
    # Shard channels too.
    s2 = Raw(rep.port)
    check(s2.call("SSUBSCRIBE", "sh") == [b"ssubscribe", b"sh", 1], "SSUBSCRIBE")
    mc.execute_command("SPUBLISH", "sh", "x")
    check(s2.reply() == [b"smessage", b"sh", b"x"], "smessage on the replica")


def case_b_slow_subscriber(c):
    """A subscriber that never reads is cut at the pubsub class's hard limit
    (the default 32mb), and used_memory stays bounded meanwhile."""
    n = c.node()
    r = client(n)
    check(r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
          .endswith("pubsub 33554432 8388608 60"), "default pubsub limit")
    slow = socket.create_connection((LOCAL, n.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n")
    wait_for(lambda: r.pubsub_numsub("feed")[0][1] == 1, 10, "subscribed")
    base = int(info(r, "memory")["used_memory"])
    payload = "p" * 65536
    peak = 0
    cut = False
    for i in range(2000):  # 128 MiB published at most
        got = r.publish("feed", payload)
        if i % 20 == 0:
            peak = max(peak, int(info(r, "memory")["used_memory"]) - base)
        if got == 0:
            cut = True
            break
    check(cut, "the slow subscriber was never disconnected")
    st = info(r, "stats")
    check(int(st["client_output_buffer_limit_disconnections"]) >= 1,
          "client_output_buffer_limit_disconnections %r"
          % st.get("client_output_buffer_limit_disconnections"))
    check(peak < 48 * 1024 * 1024, "memory grew by %d bytes" % peak)
    wait_for(lambda: int(info(r, "memory")["used_memory"]) - base < 8 * 1024 * 1024, 10,
             "memory released after the disconnection")
    print("   memory growth peak while flooding: %.1f MiB" % (peak / 1048576.0))
    slow.close()


def case_c_many_subscribers(c):
    """PUBLISH to 100 subscribers: each receives the message once, the
    reply counts them."""
    n = c.node()
    subs = []
    for i in range(100):
        s = Raw(n.port)
        s.send(("SUBSCRIBE", "fan"))
        subs.append(s)
    for s in subs:
        check(s.reply()[0] == b"subscribe", "subscribed")
    r = client(n)
    check(int(info(r, "stats")["pubsub_channels"]) == 1, "INFO pubsub_channels")
    check(r.publish("fan", "m1") == 100, "PUBLISH counts 100 receivers")
    for s in subs:
        check(s.reply() == [b"message", b"fan", b"m1"], "message received")
    for s in subs:
        s.close()
    wait_for(lambda: r.pubsub_numsub("fan")[0][1] == 0, 10, "subscribers gone on close")


def case_d_notifications_expired_evicted(c):
    """Keyspace notifications for keys the server deletes by itself: an
    expired key ("expired", class x) and an evicted one ("evicted", e)."""
    n = c.node("--notify-keyspace-events", "Exe", "--maxmemory-policy", "allkeys-random")
    r = client(n)
    s = Raw(n.port)
    check(s.call("SUBSCRIBE", "__keyevent@0__:expired")[0] == b"subscribe", "SUBSCRIBE")
    r.set("short", "1", px=20)
    check(s.reply() == [b"message", b"__keyevent@0__:expired", b"short"],
          "expired event")
    s2 = Raw(n.port)
    check(s2.call("SUBSCRIBE", "__keyevent@0__:evicted")[0] == b"subscribe", "SUBSCRIBE")
    for i in range(200):
        r.set("fill:%d" % i, "x" * 10000)
    used = int(info(r, "memory")["used_memory"])
    r.config_set("maxmemory", str(used - 500000))
    r.set("trigger", "1")
    m = s2.reply()
    check(m[:2] == [b"message", b"__keyevent@0__:evicted"] and m[2].startswith(b"fill:")
          or m[2] == b"trigger", "evicted event: %r" % (m,))
    r.config_set("maxmemory", "0")


def readiness_order(socks, send, timeout=10):
    """Send with send(), then the order in which socks became readable:
    Linux's epoll lists sockets in that order, which is the order of the
    server's writes."""
    import select
    ep = select.epoll()
    try:
        for sk in socks:
            ep.register(sk.fileno(), select.EPOLLIN)
        send()
        got = []
        deadline = time.time() + timeout
        while len(got) < len(socks) and time.time() < deadline:
            for fd, _ in ep.poll(0.5):
                if fd not in got:
                    got.append(fd)
                    ep.unregister(fd)
    finally:
        ep.close()
    return [[sk.fileno() for sk in socks].index(fd) for fd in got]


def case_e_reply_order_as_redis(c):
    """Regression (issue 13): replies leave in Redis 7.0's order, a client
    being queued for writing at its first reply byte and the newest queued
    written first.  PUBLISH and EVAL: the publisher's reply first; MULTI
    ... EXEC (its +OK came first): the subscriber's message first; a push
    that serves a blocked BRPOPLPUSH: the waiter's reply first (bee-queue,
    on Node, lost job events in the other orders)."""
    n = c.node()
    r = client(n)
    cases = [
        ("PUBLISH", [[("PUBLISH", "ch", "m")]], [1, 0]),
        ("EVAL", [[("EVAL", "return redis.call('publish','ch','m')", 0)]], [1, 0]),
        ("MULTI/EXEC", [[("MULTI",), ("PUBLISH", "ch", "m"), ("EXEC",)]], [0, 1]),
        ("MULTI, then EXEC", [[("MULTI",), ("PUBLISH", "ch", "m")], [("EXEC",)]], [0, 1]),
    ]
    for name, steps, want in cases:
        sub, pub = Raw(n.port), Raw(n.port)
        check(sub.call("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1], "SUBSCRIBE")
        for step in steps[:-1]:
            pub.send(*step)
            for _ in step:
                pub.reply()
        order = readiness_order([sub.sock, pub.sock], lambda: pub.send(*steps[-1]))
        check(order == want, "%s: written in the order %r, Redis's is %r" % (name, order, want))
    for name, cmds in (("LPUSH", [("LPUSH", "q", "v")]),
                       ("EVAL", [("EVAL", "return redis.call('lpush', KEYS[1], 'v')", 1, "q")])):
        waiter, writer = Raw(n.port), Raw(n.port)
        waiter.send(("BRPOPLPUSH", "q", "active", 0))
        wait_for(lambda: int(info(r, "clients")["blocked_clients"]) == 1, 10, "blocked")
        order = readiness_order([waiter.sock, writer.sock], lambda: writer.send(*cmds))
        check(order == [0, 1], "%s: waiter and writer written in the order %r" % (name, order))
        check(waiter.reply() == b"v", "%s: the waiter got the element" % name)


CASES = [
    ("a", "subscribers on a replica receive the master's PUBLISH", case_a_replica_subscribers),
    ("b", "a slow subscriber is disconnected; memory stays bounded", case_b_slow_subscriber),
    ("c", "PUBLISH to 100 subscribers", case_c_many_subscribers),
    ("d", "notifications for expired and evicted keys", case_d_notifications_expired_evicted),
    ("e", "replies leave in Redis's order (publisher, subscriber, served waiter)",
     case_e_reply_order_as_redis),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_PUBSUB_CASES", lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
