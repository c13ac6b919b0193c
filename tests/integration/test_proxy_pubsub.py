"""cachely-proxy's own pub/sub end to end: real cachely-server and
cachely-proxy processes on free 127.0.0.1 ports (cluster.py's Node and
Proxy, test_proxy.Case), clients over raw sockets (RESP2 and RESP3) and
python3-redis.

What is published is real: after a successful SIGHUP reload the proxy
publishes "+config-reloaded" with "<groups> groups <nodes> nodes" (the
failover module publishes Sentinel's events the same way).  Replies are
checked byte for byte, and one case replays the same script on a real
redis-server 7.0 and the proxy and compares every reply.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_PROXY_PUBSUB_CASES=a,d runs only those cases.
"""
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402

EVENT = "+config-reloaded"
ONLY = ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
        "are allowed in this context")


class Wire(Raw):
    """A Raw connection whose frame() returns the next reply's exact bytes."""

    def __init__(self, port, timeout=10):
        super().__init__(port, timeout)
        self.taken = b""

    def line(self):
        line = super().line()
        self.taken += line + b"\r\n"
        return line

    def exact(self, n):
        data = super().exact(n)
        self.taken += data
        return data

    def frame(self):
        self.taken = b""
        self.reply()
        return self.taken

    def frames(self, n):
        return [self.frame() for _ in range(n)]


def bulk(s):
    s = s if isinstance(s, bytes) else s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def frame(kind, *parts, resp=2):
    """A pub/sub frame: *N (RESP2) or >N (RESP3) of bulks, a trailing int."""
    head = b"%s%d\r\n" % (b">" if resp == 3 else b"*", len(parts) + 1)
    body = b"".join(bulk(p) if not isinstance(p, int) else b":%d\r\n" % p for p in parts)
    return head + bulk(kind) + body


def message(channel, data, resp=2):
    return frame("message", channel, data, resp=resp)


def pmessage(pattern, channel, data, resp=2):
    return frame("pmessage", pattern, channel, data, resp=resp)


def reload(p):
    """SIGHUP: the proxy re-reads its configuration and publishes EVENT."""
    os.kill(p.proc.pid, signal.SIGHUP)


def numsub(p, channel):
    return client(p).pubsub_numsub(channel)[0][1]


def one_node_proxy(c, *args):
    m = c.node()
    return m, c.proxy(m.addr, *args, ready=1)


def expect(w, want, what):
    got = w.frame()
    check(got == want, "%s: %r, want %r" % (what, got, want))


# ---- cases -----------------------------------------------------------------------


def case_a_resp2_messages(c):
    """RESP2: confirmations count channels plus patterns; a reload reaches
    the channel and pattern subscribers as message and pmessage."""
    m, p = one_node_proxy(c)
    w = Wire(p.port)
    w.send(("SUBSCRIBE", EVENT, "other"))
    expect(w, frame("subscribe", EVENT, 1), "SUBSCRIBE first")
    expect(w, frame("subscribe", "other", 2), "SUBSCRIBE second")
    w.send(("PSUBSCRIBE", "+config-*", "+config-*"))
    expect(w, frame("psubscribe", "+config-*", 3), "PSUBSCRIBE")
    expect(w, frame("psubscribe", "+config-*", 3), "PSUBSCRIBE again changes nothing")
    w.send(("SUBSCRIBE", EVENT))
    expect(w, frame("subscribe", EVENT, 3), "SUBSCRIBE again changes nothing")
    reload(p)
    expect(w, message(EVENT, "1 groups 1 nodes"), "message after reload")
    expect(w, pmessage("+config-*", EVENT, "1 groups 1 nodes"), "pmessage after reload")
    check(w.call("PING") == [b"pong", b""], "PING after the messages")
    w.close()


def case_b_event_carries_the_new_topology(c):
    """The event's text is the reloaded topology: a second group and node
    added by the config file show in it; a refused reload publishes
    nothing."""
    a, b = c.node(), c.node()
    conf = os.path.join(tempfile.mkdtemp(prefix="cachely-proxy-conf-"), "p.conf")
    with open(conf, "w") as f:
        f.write('group "a 0-16383 %s"\n' % a.addr)
    p = c.proxy(None, config=conf, ready=1)
    w = Wire(p.port)
    w.call("SUBSCRIBE", EVENT)
    with open(conf, "w") as f:
        f.write('group "a 0-8191 %s"\ngroup "b 8192-16383 %s"\n' % (a.addr, b.addr))
    reload(p)
    expect(w, message(EVENT, "2 groups 2 nodes"), "event after adding a group")
    with open(conf, "w") as f:
        f.write('group "a 0-100 %s"\n' % a.addr)   # leaves slots uncovered: refused
    reload(p)
    wait_for(lambda: int(info(client(p))["config_reloads"]) == 2, 5, "second reload")
    # Had the refused reload published, the event would come before this.
    w.send(("PING",))
    expect(w, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", "nothing published for a refused reload")
    w.close()


def case_c_resp3_push(c):
    """RESP3 (HELLO 3): confirmations and messages are push frames, and any
    command runs while subscribed; HELLO 2 brings the RESP2 rules back."""
    m, p = one_node_proxy(c)
    w = Wire(p.port)
    check(isinstance(w.call("HELLO", "3"), dict), "HELLO 3")
    w.send(("SUBSCRIBE", EVENT))
    expect(w, frame("subscribe", EVENT, 1, resp=3), "SUBSCRIBE in RESP3")
    w.send(("PSUBSCRIBE", "+*"))
    expect(w, frame("psubscribe", "+*", 2, resp=3), "PSUBSCRIBE in RESP3")
    check(w.call("SET", "r3", "v") == "OK", "SET while subscribed (RESP3)")
    check(w.call("GET", "r3") == b"v", "GET while subscribed (RESP3)")
    check(w.call("PING") == "PONG", "PING while subscribed (RESP3)")
    reload(p)
    expect(w, message(EVENT, "1 groups 1 nodes", resp=3), "message push")
    expect(w, pmessage("+*", EVENT, "1 groups 1 nodes", resp=3), "pmessage push")
    w.send(("UNSUBSCRIBE", "nosuch"))
    expect(w, frame("unsubscribe", "nosuch", 2, resp=3), "UNSUBSCRIBE of a channel not held")
    check(isinstance(w.call("HELLO", "2"), list), "HELLO 2 while subscribed (RESP3)")
    e = w.call("GET", "r3")
    check(e == ONLY % "get", "GET after HELLO 2: %r" % e)
    w.close()


def case_d_resp2_subscribed_mode(c):
    """RESP2 with a subscription: only (P)(UN)SUBSCRIBE, PING, QUIT and RESET
    run, others get Redis 7.0's error naming the (sub)command; unknown
    commands and wrong arities are reported first; PING answers as an
    array; once the last subscription goes, everything runs again."""
    m, p = one_node_proxy(c)
    w = Wire(p.port)
    w.call("SUBSCRIBE", "ch")
    for cmd, name in ((("GET", "k"), "get"), (("SET", "k", "v"), "set"),
                      (("CLIENT", "ID"), "client|id"), (("CONFIG", "GET", "x"), "config|get"),
                      (("HELLO", "3"), "hello"), (("PUBLISH", "ch", "x"), "publish"),
                      (("PUBSUB", "NUMPAT"), "pubsub|numpat"), (("INFO",), "info"),
                      (("COMMAND",), "command")):
        e = w.call(*cmd)
        check(isinstance(e, Err) and e == ONLY % name, "%s: %r" % (cmd[0], e))
    e = w.call("NOSUCH", "x")
    check(e.startswith("ERR unknown command 'NOSUCH'"), "unknown command first: %r" % e)
    e = w.call("GET")
    check(e == "ERR wrong number of arguments for 'get' command", "arity first: %r" % e)
    w.send(("PING",))
    expect(w, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", "PING subscribed")
    w.send(("PING", "hi"))
    expect(w, b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n", "PING hi subscribed")
    w.send(("PSUBSCRIBE", "p*"))
    expect(w, frame("psubscribe", "p*", 2), "PSUBSCRIBE in subscribed mode")
    w.send(("UNSUBSCRIBE",))
    expect(w, frame("unsubscribe", "ch", 1), "UNSUBSCRIBE all")
    e = w.call("GET", "k")
    check(e == ONLY % "get", "a pattern left still restricts: %r" % e)
    w.send(("PUNSUBSCRIBE",))
    expect(w, frame("punsubscribe", "p*", 0), "PUNSUBSCRIBE all")
    check(w.call("SET", "k", "v") == "OK", "SET after the last unsubscribe")
    check(w.call("PING") == "PONG", "PING after the last unsubscribe")
    e = client(p).execute_command("PING")
    check(e is True or e == "PONG", "another client unaffected: %r" % e)
    w.close()


def case_e_unsubscribe_all_and_nothing(c):
    """UNSUBSCRIBE / PUNSUBSCRIBE without names: one confirmation per
    subscription in the order they were made, counts going down; with
    nothing subscribed a single confirmation naming nil (RESP2 $-1, RESP3 _)."""
    m, p = one_node_proxy(c)
    w = Wire(p.port)
    w.send(("UNSUBSCRIBE",))
    expect(w, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", "UNSUBSCRIBE with none")
    w.send(("PUNSUBSCRIBE",))
    expect(w, b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n", "PUNSUBSCRIBE with none")
    w.send(("SUBSCRIBE", "c1", "c2", "c3"), ("PSUBSCRIBE", "p1"))
    w.frames(4)
    w.send(("UNSUBSCRIBE",))
    for i, ch in enumerate(("c1", "c2", "c3")):
        expect(w, frame("unsubscribe", ch, 3 - i), "UNSUBSCRIBE all, %s" % ch)
    w.send(("UNSUBSCRIBE",))
    expect(w, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n", "none left but a pattern")
    w.send(("PUNSUBSCRIBE", "p1", "p1"))
    expect(w, frame("punsubscribe", "p1", 0), "PUNSUBSCRIBE p1")
    expect(w, frame("punsubscribe", "p1", 0), "PUNSUBSCRIBE p1 again")
    check(w.call("HELLO", "3") is not None, "HELLO 3")
    w.send(("UNSUBSCRIBE",))
    expect(w, b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n", "RESP3 UNSUBSCRIBE with none")
    w.close()
    wait_for(lambda: info(client(p))["pubsub_channels"] == "0"
             and info(client(p))["pubsub_patterns"] == "0", 5, "registry empty")


# The same lines on a real redis-server and on the proxy: every reply must
# be the same bytes.  (conn, replies, command); conn 3 speaks RESP3 after
# its HELLO, whose reply (server version, id) is not compared.  Redis sends
# the confirmations of an UNSUBSCRIBE without names in its hash table's
# order, so the script only does that with one name left.
SCRIPT = [
    (1, 1, ("UNSUBSCRIBE",)), (1, 1, ("PUNSUBSCRIBE",)),
    (1, 3, ("SUBSCRIBE", "a", "b", "a")), (1, 2, ("PSUBSCRIBE", "x*", "x*")),
    (1, 1, ("GET", "k")), (1, 1, ("PING",)), (1, 1, ("PING", "hi")), (1, 1, ("CLIENT", "ID")),
    (1, 1, ("CONFIG", "GET", "maxmemory")), (1, 1, ("PUBSUB", "NUMPAT")),
    (1, 1, ("PUBLISH", "a", "b")), (1, 1, ("HELLO", "3")), (1, 1, ("NOSUCH",)),
    (1, 1, ("GET",)), (1, 1, ("PING", "a", "b")), (1, 1, ("UNSUBSCRIBE", "zz")),
    (1, 1, ("UNSUBSCRIBE", "a")), (1, 1, ("UNSUBSCRIBE",)), (1, 1, ("UNSUBSCRIBE",)),
    (1, 1, ("PUNSUBSCRIBE",)), (1, 1, ("PUNSUBSCRIBE",)), (1, 1, ("PING",)),
    (1, 1, ("SUBSCRIBE", "q")), (1, 1, ("RESET",)), (1, 1, ("PING",)), (1, 1, ("GET", "k")),
    (2, 2, ("SUBSCRIBE", "a", "b")), (2, 3, ("PSUBSCRIBE", "a*", "b?", "[xy]z")),
    (3, 1, ("SUBSCRIBE", "a")), (3, 1, ("PSUBSCRIBE", "a*")), (3, 1, ("PING",)),
    (3, 1, ("UNSUBSCRIBE",)), (3, 1, ("PUNSUBSCRIBE",)), (3, 1, ("UNSUBSCRIBE",)),
    (4, 1, ("PUBSUB", "NUMSUB", "a", "b", "c")), (4, 1, ("PUBSUB", "NUMPAT")),
    (4, 1, ("PUBSUB", "CHANNELS", "a")), (4, 1, ("PUBSUB", "CHANNELS", "x*")),
    (4, 1, ("PUBSUB", "NUMSUB")), (4, 1, ("PUBSUB", "FOO")), (4, 1, ("PUBSUB", "fo\r\no")),
    (4, 1, ("PUBSUB", "NUMPAT", "x")), (4, 1, ("PUBSUB",)),
    (4, 1, ("PUBSUB", "CHANNELS", "a", "b")), (4, 1, ("PUBSUB", "NUMSUB", "a")),
    (4, 1, ("SUBSCRIBE",)), (4, 1, ("PSUBSCRIBE",)), (4, 1, ("PUBLISH", "a")),
    (2, 1, ("UNSUBSCRIBE", "a")), (4, 1, ("PUBSUB", "NUMSUB", "a", "b")),
    (2, 1, ("QUIT",)),
]


def run_script(port):
    conns = {i: Wire(port) for i in (1, 2, 3, 4)}
    conns[3].call("HELLO", "3")
    out = []
    for n, replies, cmd in SCRIPT:
        conns[n].send(cmd)
        out.append(b"".join(conns[n].frames(replies)))
    for w in conns.values():
        w.close()
    return out


def case_f_same_bytes_as_redis(c):
    """A script of SUBSCRIBE family commands, subscribed-mode refusals, PING,
    RESET, PUBSUB introspection and errors: the proxy's replies are the
    bytes redis-server 7.0 sends."""
    m, p = one_node_proxy(c)
    r = servers.Server("redis")
    try:
        want = run_script(r.port)
    finally:
        servers.terminate(r.proc)
    got = run_script(p.port)
    for (n, _, cmd), a, b in zip(SCRIPT, got, want):
        check(a == b, "conn %d %r: proxy %r, redis %r" % (n, cmd, a, b))


def case_g_reset_leaves_everything(c):
    """RESET unsubscribes from every channel and pattern: PING is +PONG
    again, other clients see no subscriber, and the next event does not
    reach the session."""
    m, p = one_node_proxy(c)
    w = Wire(p.port)
    witness = Wire(p.port)
    witness.call("SUBSCRIBE", EVENT)
    w.send(("SUBSCRIBE", EVENT, "x"), ("PSUBSCRIBE", "+*"))
    w.frames(3)
    check(numsub(p, EVENT) == 2, "two subscribers before RESET")
    check(w.call("RESET") == "RESET", "RESET")
    check(w.call("PING") == "PONG", "PING after RESET is not subscribed-mode")
    check(numsub(p, EVENT) == 1 and client(p).pubsub_numpat() == 0,
          "RESET left subscriptions behind")
    reload(p)
    expect(witness, message(EVENT, "1 groups 1 nodes"), "the witness got the event")
    # The event went out to every subscriber at once: had it reached w, it
    # would come before this PING's reply.
    w.send(("PING",))
    expect(w, b"+PONG\r\n", "nothing for the reset session")
    check(w.call("GET", "nosuch") is None, "GET after RESET")
    w.close()
    witness.close()


def rst_close(sock):
    """Close with a TCP RST (SO_LINGER 0): the proxy sees ECONNRESET."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def case_h_subscribers_vanish(c):
    """Subscribers that close (cleanly, with RST, after QUIT, right after an
    event was queued for them) leave the lists: the counts drop, the next
    events reach exactly the ones left, and the proxy runs on (under ASan
    a freed session still listed would abort it)."""
    m, p = one_node_proxy(c)
    subs = []
    for i in range(40):
        w = Wire(p.port)
        if i % 2:
            w.send(("PSUBSCRIBE", "+config-*"))
        else:
            w.send(("SUBSCRIBE", EVENT))
        w.frame()
        subs.append(w)
    check(numsub(p, EVENT) == 20, "20 channel subscribers")
    for w in subs[0:8]:
        w.close()
    for w in subs[8:16]:
        rst_close(w.sock)
    for w in subs[16:20]:
        check(w.call("QUIT") == "OK", "QUIT while subscribed")
        w.close()
    wait_for(lambda: numsub(p, EVENT) == 10, 5, "closed subscribers leave the channel")
    # Events queued for sessions closing at the same moment.  (Each reload
    # is waited for: two SIGHUPs sent at once may arrive as one.)
    reload(p)
    for w in subs[20:26]:
        rst_close(w.sock)
    wait_for(lambda: int(info(client(p))["config_reloads"]) == 1, 5, "first reload")
    reload(p)
    wait_for(lambda: int(info(client(p))["config_reloads"]) == 2, 5, "second reload")
    left = subs[26:]
    for w in left:
        for _ in range(2):
            got = w.frame()
            check(got in (message(EVENT, "1 groups 1 nodes"),
                          pmessage("+config-*", EVENT, "1 groups 1 nodes")),
                  "event for a subscriber left: %r" % got)
    wait_for(lambda: numsub(p, EVENT) == 7, 5, "channel subscribers after the RSTs")
    for w in left:
        w.close()
    wait_for(lambda: info(client(p))["pubsub_channels"] == "0"
             and info(client(p))["pubsub_patterns"] == "0", 5, "registry empty at the end")
    check(client(p).set("after", "1") is True, "proxy still serves")


def case_i_200_subscribers(c):
    """200 sessions (100 on the channel, 100 on a pattern) all get one event;
    PUBSUB and INFO count them; closing them all empties the registry."""
    m, p = one_node_proxy(c)
    subs = []
    for i in range(200):
        w = Wire(p.port)
        w.send(("SUBSCRIBE", EVENT) if i % 2 == 0 else ("PSUBSCRIBE", "+config-*"))
        subs.append(w)
    for w in subs:
        w.frame()
    pc = client(p)
    check(pc.pubsub_numsub(EVENT) == [(EVENT, 100)], "NUMSUB %r" % pc.pubsub_numsub(EVENT))
    check(pc.pubsub_numpat() == 1, "NUMPAT counts distinct patterns")
    check(pc.pubsub_channels() == [EVENT], "CHANNELS %r" % pc.pubsub_channels())
    d = info(pc)
    check(d["pubsub_channels"] == "1" and d["pubsub_patterns"] == "1", "INFO pubsub fields")
    reload(p)
    for i, w in enumerate(subs):
        want = (message(EVENT, "1 groups 1 nodes") if i % 2 == 0
                else pmessage("+config-*", EVENT, "1 groups 1 nodes"))
        expect(w, want, "subscriber %d" % i)
    for w in subs:
        w.close()
    wait_for(lambda: info(pc)["pubsub_channels"] == "0" and info(pc)["pubsub_patterns"] == "0"
             and info(pc)["connected_clients"] == "1", 5, "all 200 gone")


def case_j_python_redis_pubsub(c):
    """python3-redis's pubsub(): subscribe/psubscribe, get_message and
    listen() see the confirmations, the event and PING's pong; its
    PUBSUB helpers work; publish() reaches them through the node."""
    m, p = one_node_proxy(c)
    r = client(p)
    ps = r.pubsub()
    ps.subscribe(EVENT)
    ps.psubscribe("+config-*")

    def next_message(types):
        def got():
            msg = ps.get_message(timeout=0.2)
            return msg if msg and msg["type"] in types else None
        return wait_for(got, 10, "a %s message" % "/".join(types))

    m1 = next_message(("subscribe",))
    check(m1["channel"] == EVENT and m1["data"] == 1, "subscribe confirmation %r" % m1)
    m2 = next_message(("psubscribe",))
    check(m2["channel"] == "+config-*" and m2["data"] == 2, "psubscribe confirmation %r" % m2)
    check(r.pubsub_numsub(EVENT) == [(EVENT, 1)] and r.pubsub_numpat() == 1, "PUBSUB helpers")
    reload(p)
    seen = {}
    for msg in ps.listen():
        seen[msg["type"]] = msg
        if "message" in seen and "pmessage" in seen:
            break
    check(seen["message"]["channel"] == EVENT and seen["message"]["data"] == "1 groups 1 nodes",
          "message %r" % seen["message"])
    check(seen["pmessage"]["pattern"] == "+config-*"
          and seen["pmessage"]["data"] == "1 groups 1 nodes", "pmessage %r" % seen["pmessage"])
    ps.ping()
    pong = next_message(("pong",))
    check(pong["data"] in ("", b""), "pong %r" % pong)
    # PUBLISH goes to the node, whose messages come back through the
    # proxy's subscriber link (issue 14): the channel and the pattern.
    check(r.publish(EVENT, "x") == 2, "PUBLISH counts the link's channel and pattern")
    m3 = next_message(("message",))
    m4 = next_message(("pmessage",))
    check(m3["data"] == "x" and m4["data"] == "x", "published through the node %r %r" % (m3, m4))
    ps.unsubscribe()
    u = next_message(("unsubscribe",))
    check(u["channel"] == EVENT and u["data"] == 1, "unsubscribe %r" % u)
    ps.punsubscribe()
    u = next_message(("punsubscribe",))
    check(u["data"] == 0, "punsubscribe %r" % u)
    ps.close()
    wait_for(lambda: r.pubsub_numsub(EVENT) == [(EVENT, 0)], 5, "no subscriber after close")


def case_k_message_after_pending_replies(c):
    """A pipeline SET, GET, SUBSCRIBE whose first two wait on a stopped node:
    the event published meanwhile comes after the subscribe confirmation,
    which comes after the two replies (replies keep request order)."""
    m, p = one_node_proxy(c, "--down-after-ms", "10000")
    witness = Wire(p.port)
    witness.call("SUBSCRIBE", EVENT)
    w = Wire(p.port)
    m.proc.send_signal(signal.SIGSTOP)
    try:
        w.send(("SET", "kk", "v"), ("GET", "kk"), ("SUBSCRIBE", EVENT))
        # (PUBSUB NUMSUB asks the stopped node now: CLIENT LIST is the proxy's.)
        wait_for(lambda: len(client(p).client_list(_type="pubsub")) == 2, 5,
                 "the pipelined SUBSCRIBE ran")
        reload(p)
        expect(witness, message(EVENT, "1 groups 1 nodes"), "witness")
        # Everything for w waits behind the SET the node has not answered.
        readable, _, _ = select.select([w.sock], [], [], 0.3)
        check(not readable and not w.buf, "bytes for w before the node answered")
    finally:
        m.proc.send_signal(signal.SIGCONT)
    expect(w, b"+OK\r\n", "SET reply first")
    expect(w, b"$1\r\nv\r\n", "GET reply second")
    expect(w, frame("subscribe", EVENT, 1), "confirmation third")
    expect(w, message(EVENT, "1 groups 1 nodes"), "message last")
    w.close()
    witness.close()


def case_l_node_has_its_own_pubsub(c):
    """cachely-server has pub/sub of its own (issue 13): the rows the proxy
    answers for its events are implemented on the node, COMMAND lists them,
    and a node's channels are not the proxy's."""
    m = c.node()
    r = Raw(m.port)
    sub = Raw(m.port)
    check(sub.call("SUBSCRIBE", "x") == [b"subscribe", b"x", 1], "SUBSCRIBE on the node")
    check(r.call("PUBSUB", "CHANNELS") == [b"x"], "PUBSUB CHANNELS on the node")
    sub.close()
    info = r.call("COMMAND", "INFO", "subscribe", "pubsub|channels")
    check(all(x is not None for x in info), "COMMAND INFO lists pub/sub rows: %r" % info)
    check(r.call("COMMAND", "COUNT") == len(r.call("COMMAND")), "COMMAND COUNT vs COMMAND")
    check(r.call("PING") == "PONG", "node still answers")
    r.close()


def case_m_publish_inside_multi(c):
    """PUBLISH and SPUBLISH inside MULTI (Celery's redis result backend
    stores a result and publishes it in one transaction): queued, run by
    EXEC, every subscriber hears them, and EXEC's array counts the
    receivers as Redis does: the proxy's sessions, not its link."""
    m, p = one_node_proxy(c)
    subs = [Wire(p.port) for _ in range(3)]
    subs[0].send(("SUBSCRIBE", "fw:ch"))
    subs[1].send(("SUBSCRIBE", "fw:ch"))
    subs[2].send(("PSUBSCRIBE", "fw:*"))
    expect(subs[0], frame("subscribe", "fw:ch", 1), "SUBSCRIBE 1")
    expect(subs[1], frame("subscribe", "fw:ch", 1), "SUBSCRIBE 2")
    expect(subs[2], frame("psubscribe", "fw:*", 1), "PSUBSCRIBE")
    direct = Wire(m.port)  # a subscriber on the node itself counts too
    direct.send(("SUBSCRIBE", "fw:ch"))
    expect(direct, frame("subscribe", "fw:ch", 1), "SUBSCRIBE on the node")
    ssub = Wire(p.port)
    ssub.send(("SSUBSCRIBE", "fw:sh"))
    expect(ssub, frame("ssubscribe", "fw:sh", 1), "SSUBSCRIBE")
    w = Wire(p.port)
    w.send(("MULTI",), ("SET", "fw:result", "42"), ("PUBLISH", "fw:ch", "done"),
           ("PUBLISH", "fw:nobody", "x"), ("SPUBLISH", "fw:sh", "s"), ("EXEC",))
    got = w.frames(6)
    want = [b"+OK\r\n"] + [b"+QUEUED\r\n"] * 4 + [b"*4\r\n+OK\r\n:4\r\n:1\r\n:1\r\n"]
    check(got == want, "MULTI/SET/PUBLISH/PUBLISH/SPUBLISH/EXEC: %r, want %r" % (got, want))
    expect(subs[0], message("fw:ch", "done"), "first subscriber")
    expect(subs[1], message("fw:ch", "done"), "second subscriber")
    expect(subs[2], pmessage("fw:*", "fw:ch", "done"), "pattern subscriber")
    expect(subs[2], pmessage("fw:*", "fw:nobody", "x"), "pattern subscriber, second channel")
    expect(direct, message("fw:ch", "done"), "the node's own subscriber")
    expect(ssub, frame("smessage", "fw:sh", "s"), "shard subscriber")
    check(client(p).get("fw:result") == "42", "the SET ran")
    # Wrong arity is refused at queue time and EXEC aborts, as on Redis.
    w.send(("MULTI",), ("PUBLISH", "fw:ch"), ("EXEC",))
    got = w.frames(3)
    want = [b"+OK\r\n",
            b"-ERR wrong number of arguments for 'publish' command\r\n",
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"]
    check(got == want, "PUBLISH with a missing argument: %r, want %r" % (got, want))
    # redis-py's pipeline as Celery uses it.
    r = client(p)
    with r.pipeline() as pipe:
        out = pipe.set("fw:k", "v").publish("fw:ch", "again").execute()
    check(out == [True, 4], "pipeline(): %r" % (out,))
    for x in subs + [direct, ssub, w]:
        x.close()
    # A transaction that arrives whole goes as one block on a pooled
    # connection: PUBLISH does not pin it (every Celery result would take
    # one of blocking-pool-size transaction connections).
    m2 = c.node()
    p1 = c.proxy(m2.addr, "--blocking-pool-size", "1", ready=1)
    sub = Wire(p1.port)
    sub.send(("SUBSCRIBE", "fw:ch"))
    expect(sub, frame("subscribe", "fw:ch", 1), "SUBSCRIBE on the second proxy")
    holder = Raw(p1.port)  # an open transaction holds the one pinned connection
    check(holder.call("MULTI") == "OK" and holder.call("SET", "fw:h", "1") == "QUEUED",
          "a transaction pinned")
    w = Wire(p1.port)
    w.send(("MULTI",), ("SET", "fw:result", "43"), ("PUBLISH", "fw:ch", "block"), ("EXEC",))
    got = w.frames(4)
    want = [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n", b"*2\r\n+OK\r\n:1\r\n"]
    check(got == want, "a whole MULTI/SET/PUBLISH/EXEC while the pool is taken: %r, want %r"
          % (got, want))
    expect(sub, message("fw:ch", "block"), "the second proxy's subscriber")
    check(holder.call("EXEC") == ["OK"], "the pinned transaction")
    for x in (sub, holder, w):
        x.close()


def case_n_publish_right_behind_a_subscribe(c):
    """A PUBLISH the proxy reads right after another session's SUBSCRIBE
    reaches that subscriber, as on one Redis that read the two in that
    order: Django Channels' pub/sub layer subscribes without waiting for
    the confirmation and publishes at once from another connection, and
    through the proxy the PUBLISH used to overtake the subscription on its
    way to the node (about one run in three lost the message; here half of
    the 100 were lost).  Redis itself does not promise this across two
    connections (redis-server 7.0 lost 5-13 of the 100 in this test):
    the proxy reads its sessions in the order their bytes came, and holds
    a PUBLISH behind the subscriptions it read before it."""
    m, p = one_node_proxy(c)
    sub, pub = Wire(p.port, timeout=3), Raw(p.port)
    n = 100
    counts = []
    for i in range(n):
        sub.send(("SUBSCRIBE", "race:%d" % i))
        counts.append(pub.call("PUBLISH", "race:%d" % i, "m%d" % i))
    got = []
    try:
        while len(got) < 2 * n:
            got.append(sub.frame())
    except socket.timeout:
        pass  # the messages lost never come
    confirms = [f for f in got if f.startswith(b"*3\r\n$9\r\nsubscribe")]
    messages = [f for f in got if f.startswith(b"*3\r\n$7\r\nmessage")]
    check(len(confirms) == n, "%d confirmations of %d" % (len(confirms), n))
    check(messages == [message("race:%d" % i, "m%d" % i) for i in range(n)],
          "%d of %d messages reached the subscriber" % (len(messages), n))
    check(counts == [1] * n, "PUBLISH counts %r" % counts)
    # Publishes held behind a subscription and those sent once it is
    # confirmed keep their order.
    ord_sub, other = Wire(p.port), Wire(p.port)
    ord_sub.send(("SUBSCRIBE", "ord"))
    expect(ord_sub, frame("subscribe", "ord", 1), "SUBSCRIBE ord")
    for k in range(5):
        other.send(("SUBSCRIBE", "other:%d" % k))
        pub.send(*[("PUBLISH", "ord", "%d.%d" % (k, i)) for i in range(200)])
        replies = [pub.reply() for _ in range(200)]
        check(replies == [1] * 200, "pipelined PUBLISH replies %r" % replies[:5])
        got = ord_sub.frames(200)
        check(got == [message("ord", "%d.%d" % (k, i)) for i in range(200)],
              "pipelined messages out of order or lost (round %d)" % k)
    for x in (sub, pub, ord_sub, other):
        x.close()


CASES = [
    ("a", "RESP2: confirmation counts; message and pmessage after a reload",
     case_a_resp2_messages),
    ("b", "the event's text is the new topology; a refused reload publishes nothing",
     case_b_event_carries_the_new_topology),
    ("c", "RESP3: push frames, any command while subscribed, HELLO 2 restricts",
     case_c_resp3_push),
    ("d", "RESP2 subscribed mode: Redis's refusal, errors first, PING array",
     case_d_resp2_subscribed_mode),
    ("e", "UNSUBSCRIBE/PUNSUBSCRIBE all, and with nothing subscribed (nil)",
     case_e_unsubscribe_all_and_nothing),
    ("f", "same bytes as redis-server 7.0 for a SUBSCRIBE/PUBSUB script",
     case_f_same_bytes_as_redis),
    ("g", "RESET leaves every channel and pattern", case_g_reset_leaves_everything),
    ("h", "subscribers closing (FIN, RST, QUIT, mid-event) leave the lists",
     case_h_subscribers_vanish),
    ("i", "200 subscribers get one event; PUBSUB and INFO count them", case_i_200_subscribers),
    ("j", "python3-redis pubsub(): get_message, listen, ping, helpers",
     case_j_python_redis_pubsub),
    ("k", "an event after pipelined replies still pending keeps their order",
     case_k_message_after_pending_replies),
    ("l", "cachely-server has pub/sub of its own; COMMAND lists it",
     case_l_node_has_its_own_pubsub),
    ("m", "PUBLISH and SPUBLISH inside MULTI: queued, delivered, counted as Redis does",
     case_m_publish_inside_multi),
    ("n", "a PUBLISH right behind another session's SUBSCRIBE reaches it",
     case_n_publish_right_behind_a_subscribe),
]


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_pubsub_", "CACHELY_PROXY_PUBSUB_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
