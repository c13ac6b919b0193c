"""Failover run by cachely-proxy and its Sentinel-compatible surface, end to
end on 127.0.0.1: real cachely-server nodes (a master and two replicas) and
one or three real cachely-proxy processes that know each other as peers.

Covers the SENTINEL replies (shapes as Redis Sentinel's), a kill -9 of the
master with one proxy (quorum 1) and with three, the old master coming back
as a replica and converging, python3-redis's redis.sentinel.Sentinel
pointed at the proxies following a failover, the planned switchover
(SENTINEL FAILOVER) losing no acknowledged write, a minority that must not
fail over, a restarted proxy adopting the newer configuration, and the
+switch-master event on the proxies' pub/sub.  The chaos scenarios with
network namespaces are in test_failover.py.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.
CACHELY_SENTINEL_CASES=a,b runs only those cases.
"""
import os
import re
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import servers  # noqa: E402
from cluster import LOCAL, PROXY, Err, Raw, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402
import redis.sentinel  # noqa: E402

# How long a failover may take in these tests (the target is ~1 s; sanitizer
# builds and a loaded CI machine get slack).
BOUND_S = 5.0


class PeerProxy(cluster.Proxy):
    """A cachely-proxy on a port chosen before it starts (peers name it)."""

    def __init__(self, port, nodes, *args):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="cachely-proxy-")
        self.log = os.path.join(self.dir, "proxy.log")
        argv = [PROXY, "--port", str(port), "--bind", LOCAL, "--logfile", self.log,
                "--nodes", nodes] + [str(a) for a in args]
        self.t_start = time.time()
        self.spawn(argv)


class Case(cluster.Case):
    def group(self, *master_args):
        m = self.node(*master_args)
        reps = [self.node("--replicaof", "%s %d" % (LOCAL, m.port)) for _ in range(2)]
        wait_synced(m, *reps)
        return m, reps

    def peer_proxies(self, m, n=3, *args):
        """n proxies that are each other's peers, all watching m's group."""
        ports = [cluster.free_port() for _ in range(n)]
        out = []
        for i, port in enumerate(ports):
            peers = ",".join("%s:%d" % (LOCAL, p) for p in ports if p != port)
            extra = ["--peers", peers] if peers else []
            p = PeerProxy(port, m.addr, *(extra + list(args)))
            self.proxies.append(p)
            out.append(p)
        for p in out:
            wait_for(lambda: master_addr(p) == (LOCAL, m.port), 5, "proxy knows the master")
            # A replica the proxies never heard of cannot be re-pointed
            # after a failover: wait until both are discovered.
            wait_for(lambda: len(client(p).execute_command("SENTINEL", "replicas",
                                                            "mymaster")) == 2,
                     5, "proxy discovered both replicas")
            if n > 1:
                wait_for(lambda: sentinel_ok(p), 5, "proxy reaches its peers")
        if n > 1:
            # Every peer answered a hello (its run id is known): a proxy
            # that tried a peer before it listened retries 200 ms later.
            for p in out:
                wait_for(lambda: all(pairs(x)["runid"] for x in client(p).execute_command(
                    "SENTINEL", "sentinels", "mymaster")), 5, "proxy knows every peer")
        return out


def wait_synced(m, *reps, timeout=10):
    def synced():
        moff = int(info(client(m), "replication")["master_repl_offset"])
        return all(int(info(client(r), "replication").get("slave_repl_offset", -1)) >= moff
                   for r in reps)
    wait_for(synced, timeout, "replicas caught up")


def master_addr(p):
    r = client(p).execute_command("SENTINEL", "get-master-addr-by-name", "mymaster")
    return (r[0], int(r[1])) if r else None


def sentinel_ok(p):
    try:
        return client(p).execute_command("SENTINEL", "ckquorum", "mymaster").startswith("OK")
    except redis.ResponseError:
        return False


def role(n):
    return info(client(n), "replication")


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def writes_resume(p, t0, key="probe"):
    """Time (s) from t0 until a SET through proxy p succeeds."""
    r = client(p, timeout=2)

    def ok():
        try:
            return r.set(key, "x")
        except redis.ResponseError:
            return False
    wait_for(ok, BOUND_S * 2, "writes through the proxy to succeed again", interval=0.01)
    return time.time() - t0


def new_master(nodes, old):
    """The one node, other than old, that reports role:master."""
    masters = [n for n in nodes if n is not old and role(n)["role"] == "master"]
    return masters[0] if len(masters) == 1 else None


# ---- cases --------------------------------------------------------------------


def case_a_sentinel_replies(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3)
    r = client(ps[0])
    myid = r.execute_command("SENTINEL", "myid")
    check(re.fullmatch(r"[0-9a-f]{40}", myid), "myid is 40 hex digits: %r" % myid)
    check(r.execute_command("SENTINEL", "get-master-addr-by-name", "mymaster")
          == [LOCAL, str(m.port)], "get-master-addr-by-name")
    check(r.execute_command("SENTINEL", "get-master-addr-by-name", "nope") is None,
          "unknown name: null")
    masters = r.execute_command("SENTINEL", "masters")
    check(len(masters) == 1, "one master: %r" % masters)
    st = pairs(masters[0])
    check(st["name"] == "mymaster" and st["ip"] == LOCAL and st["port"] == str(m.port),
          "masters[0]: %r" % st)
    check(st["flags"] == "master" and st["num-slaves"] == "2" and st["quorum"] == "2"
          and st["num-other-sentinels"] == "2" and st["config-epoch"] == "0",
          "master state: %r" % st)
    check(pairs(r.execute_command("SENTINEL", "master", "mymaster"))["port"] == str(m.port),
          "SENTINEL master")
    reps_state = [pairs(x) for x in r.execute_command("SENTINEL", "replicas", "mymaster")]
    check(sorted(int(x["port"]) for x in reps_state) == sorted(x.port for x in reps),
          "replicas: %r" % reps_state)
    check(all(x["flags"] == "slave" and x["master-link-status"] == "ok" for x in reps_state),
          "replica flags: %r" % reps_state)
    check(r.execute_command("SENTINEL", "slaves", "mymaster") is not None, "slaves alias")
    sents = [pairs(x) for x in r.execute_command("SENTINEL", "sentinels", "mymaster")]
    ids = {client(p).execute_command("SENTINEL", "myid") for p in ps[1:]}
    check({x["runid"] for x in sents} == ids, "sentinels are the peers: %r" % sents)
    check(r.execute_command("SENTINEL", "ckquorum", "mymaster").startswith(
        "OK 3 usable Sentinels"), "ckquorum")
    for cmd, want in ((("master", "nope"), "No such master with that name"),
                      (("monitor", "x", "1.2.3.4", "1", "1"), "not supported"),
                      (("bogus",), "unknown subcommand"),
                      (("master",), "wrong number of arguments")):
        try:
            r.execute_command("SENTINEL", *cmd)
            check(False, "SENTINEL %r should fail" % (cmd,))
        except redis.ResponseError as e:
            check(want in str(e), "SENTINEL %r: %s" % (cmd, e))
    # RESP3: maps
    raw = cluster.Raw(ps[0].port)
    raw.call("HELLO", "3")
    raw.send(("SENTINEL", "master", "mymaster"))
    raw.fill()
    check(raw.buf.startswith(b"%"), "RESP3 SENTINEL master is a map: %r" % raw.buf[:20])
    raw.close()
    # python3-redis's parser takes our replies
    s = redis.sentinel.Sentinel([(LOCAL, p.port) for p in ps], socket_timeout=2)
    check(s.discover_master("mymaster") == (LOCAL, m.port), "redis-py discover_master")
    check(sorted(s.discover_slaves("mymaster")) == sorted((LOCAL, x.port) for x in reps),
          "redis-py discover_slaves")


def case_b_single_proxy_kill_master(c):
    m, reps = c.group("--appendonly", "yes")
    (p,) = c.peer_proxies(m, 1, "--quorum", "1")
    pc = client(p)
    for i in range(200):
        pc.set("k%d" % i, i)
    wait_synced(m, *reps)
    t0 = time.time()
    m.kill()
    took = writes_resume(p, t0)
    print("      single proxy: writes resumed %.0f ms after kill -9" % (took * 1000))
    check(took < BOUND_S, "writes resumed within %.1f s (took %.2f)" % (BOUND_S, took))
    nm = wait_for(lambda: new_master(reps, m), 5, "one replica promoted")
    other = [x for x in reps if x is not nm][0]
    check(master_addr(p) == (LOCAL, nm.port), "proxy reports the new master")
    check(int(role(nm)["config_epoch"]) >= 1, "the new master holds the new epoch")
    wait_for(lambda: role(other).get("master_port") == str(nm.port)
             and role(other)["master_link_status"] == "up", 5,
             "the other replica follows the new master")
    check(all(pc.get("k%d" % i) == str(i) for i in range(200)), "data kept")
    # the old master comes back (its AOF has the old data) and is turned
    # into a replica of the new one
    m.start()
    wait_for(lambda: role(m)["role"] == "slave" and role(m)["master_port"] == str(nm.port)
             and role(m)["master_link_status"] == "up", BOUND_S, "old master rejoins as replica")
    pc.set("after", "yes")
    wait_synced(nm, m, other)
    digests = {client(x).execute_command("DEBUG", "DIGEST") for x in (nm, m, other)}
    check(len(digests) == 1, "digests converge: %r" % digests)
    check(client(m).get("after") == "yes", "old master has the new write")


def case_c_three_proxies_kill_master(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3)
    t0 = time.time()
    m.kill()
    took = max(writes_resume(p, t0, "probe%d" % i) for i, p in enumerate(ps))
    print("      three proxies: writes through all resumed %.0f ms after kill -9"
          % (took * 1000))
    check(took < BOUND_S, "failover bound (%.2f s)" % took)
    nm = wait_for(lambda: new_master(reps, m), 5, "one replica promoted")
    wait_for(lambda: all(master_addr(p) == (LOCAL, nm.port) for p in ps), 5,
             "every proxy agrees on the new master")
    epochs = {pairs(client(p).execute_command("SENTINEL", "master", "mymaster"))["config-epoch"]
              for p in ps}
    check(len(epochs) == 1 and epochs != {"0"}, "same config epoch everywhere: %r" % epochs)
    masters = [x for x in reps if role(x)["role"] == "master"]
    check(masters == [nm], "exactly one master among the survivors")


def case_d_redis_py_sentinel_client(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3)
    s = redis.sentinel.Sentinel([(LOCAL, p.port) for p in ps], socket_timeout=1)
    w = s.master_for("mymaster", socket_timeout=1, decode_responses=True)
    w.set("before", "1")
    check(w.get("before") == "1", "write through the Sentinel client")
    t0 = time.time()
    m.kill()

    def works():
        try:
            return w.set("after", "2")
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError,
                redis.sentinel.MasterNotFoundError):
            return False
    wait_for(works, BOUND_S * 2, "the Sentinel client writes to the new master", 0.02)
    print("      redis-py Sentinel client: writing again after %.0f ms"
          % ((time.time() - t0) * 1000))
    addr = s.discover_master("mymaster")
    check(addr[1] in [x.port for x in reps], "discovered a former replica: %r" % (addr,))
    check(w.get("before") == "1" and w.get("after") == "2", "data through the new master")


def case_e_planned_switchover(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3, "--write-ack", "all", "--read-policy", "master")
    acked, errors, stop = [], [], threading.Event()

    def writer(p, tag):
        r = client(p, timeout=5)
        i = 0
        while not stop.is_set():
            key = "%s:%d" % (tag, i)
            try:
                r.set(key, i)
                acked.append(key)
            except (redis.ResponseError, redis.ConnectionError) as e:
                errors.append(str(e))
            i += 1
    threads = [threading.Thread(target=writer, args=(p, "w%d" % k)) for k, p in enumerate(ps)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    target = reps[1]
    t0 = time.time()
    check(client(ps[0]).execute_command("SENTINEL", "failover", "mymaster", "TO", LOCAL,
                                        str(target.port)) == "OK", "SENTINEL FAILOVER TO")
    wait_for(lambda: all(master_addr(p) == (LOCAL, target.port) for p in ps), BOUND_S,
             "every proxy switched to the chosen replica")
    took = time.time() - t0
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    print("      switchover: %.0f ms, %d acked writes, %d errors (%s)"
          % (took * 1000, len(acked), len(errors), sorted(set(e[:40] for e in errors))[:3]))
    wait_for(lambda: role(m)["role"] == "slave" and role(m)["master_port"] == str(target.port),
             BOUND_S, "the old master is a replica of the new one")
    tc = client(target)
    missing = [k for k in acked if tc.get(k) is None]
    check(not missing, "acknowledged writes lost: %d, e.g. %r" % (len(missing), missing[:5]))
    check(len(acked) > 100, "writes went on (%d acked)" % len(acked))
    # without TO: the best replica; the old master is a replica now and can
    # be chosen back
    check(client(ps[1]).execute_command("SENTINEL", "failover", "mymaster") == "OK",
          "SENTINEL FAILOVER")
    wait_for(lambda: master_addr(ps[1]) != (LOCAL, target.port), BOUND_S, "second switchover")
    try:
        client(ps[0]).execute_command("SENTINEL", "failover", "nope")
        check(False, "unknown master accepted")
    except redis.ResponseError as e:
        check("No such master" in str(e), str(e))


def switchover_under_writers(c, write_some, stored):
    """Four writer threads through the leading proxy (write_some(r, tag,
    i, acked, errors) writes from number i on and returns the next), a
    SENTINEL FAILOVER in the middle: no client sees an error and every
    acknowledged write is on the promoted replica (stored(value) says
    whether a key's value there is the one written)."""
    m, reps = c.group()
    ps = c.peer_proxies(m, 3, "--read-policy", "master")
    acked, errors, stop = [], [], threading.Event()

    def writer(tag):
        r = client(ps[0], timeout=5)
        i = 0
        while not stop.is_set():
            i = write_some(r, tag, i, acked, errors)
    threads = [threading.Thread(target=writer, args=(tag,)) for tag in ("w0", "w1", "w2", "w3")]
    for t in threads:
        t.start()
    time.sleep(0.3)
    check(client(ps[0]).execute_command("SENTINEL", "failover", "mymaster") == "OK",
          "SENTINEL FAILOVER")
    wait_for(lambda: master_addr(ps[0]) != (LOCAL, m.port), BOUND_S, "switched")
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    st = info(client(ps[0]), "stats")
    print("      %d acked writes, %d errors, %s redirected"
          % (len(acked), len(errors), st.get("writes_redirected")))
    check(not errors, "errors seen by the leader's clients: %r" % errors[:3])
    nm = new_master(reps, m)
    check(nm is not None, "a replica was promoted")
    nc = client(nm)
    missing = [k for k in acked if not stored(k, nc.get(k))]
    check(not missing, "acknowledged writes lost: %d" % len(missing))


def case_e2_switchover_is_a_pause(c):
    """write-ack master: writes held by the paused master and refused once
    it is demoted (-READONLY: they never ran) are re-sent by the proxy to
    the new master, so clients of the proxy leading the switchover see a
    pause, not an error."""
    def one_set(r, tag, i, acked, errors):
        key = "%s:%d" % (tag, i)
        try:
            r.set(key, i)
            acked.append(key)
        except (redis.ResponseError, redis.ConnectionError) as e:
            errors.append(str(e))
        return i + 1
    switchover_under_writers(c, one_set, lambda k, v: v is not None)


def case_e3_pipelined_writes_through_a_switchover(c):
    """As e2 with clients that pipeline 16 SETs at a time: the proxy sends a
    pipeline's writes as one run, and a run held by the paused master and
    refused once it is demoted is split, each write re-sent alone."""
    def sixteen_sets(r, tag, i, acked, errors):
        keys = ["%s:%d" % (tag, i + k) for k in range(16)]
        pl = r.pipeline(transaction=False)
        for k in keys:
            pl.set(k, k)
        try:
            got = pl.execute(raise_on_error=False)
        except redis.ConnectionError as e:
            errors.append(str(e))
            got = []
        for k, g in zip(keys, got):
            if g is True:
                acked.append(k)
            else:
                errors.append(str(g))
        return i + 16
    switchover_under_writers(c, sixteen_sets, lambda k, v: v == k)


def case_f_minority_does_not_fail_over(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3)
    # two proxies stop answering: the third is a minority
    for p in ps[1:]:
        p.proc.send_signal(signal.SIGSTOP)
    try:
        m.kill()
        wait_for(lambda: "s_down" in pairs(client(ps[0]).execute_command(
            "SENTINEL", "master", "mymaster"))["flags"], 5, "the lone proxy sees the master down")
        time.sleep(3.0)
        check(all(role(x)["role"] == "slave" for x in reps),
              "no replica promoted by a minority")
        check(master_addr(ps[0]) == (LOCAL, m.port), "configuration unchanged")
        try:
            msg = client(ps[0]).execute_command("SENTINEL", "ckquorum", "mymaster")
            check(False, "ckquorum should fail: %r" % msg)
        except redis.ResponseError as e:
            check(str(e).startswith("NOQUORUM 1 usable Sentinels"), str(e))
    finally:
        for p in ps[1:]:
            p.proc.send_signal(signal.SIGCONT)
    # the majority is back: the failover happens
    wait_for(lambda: new_master(reps, m), BOUND_S * 2, "failover once a majority is back")


def case_g_restarted_proxy_adopts_newer_config(c):
    m, reps = c.group()
    (p,) = c.peer_proxies(m, 1, "--quorum", "1")
    m.kill()
    nm = wait_for(lambda: new_master(reps, m), BOUND_S, "promotion")
    # A proxy started later, told only of the old (dead) master and one
    # replica, must end up on the new master and must not undo it.
    other = [x for x in reps if x is not nm][0]
    wait_for(lambda: role(other).get("master_port") == str(nm.port), BOUND_S,
             "the other replica follows the new master")
    q = PeerProxy(cluster.free_port(), "%s,%s" % (m.addr, other.addr), "--quorum", "1")
    c.proxies.append(q)
    try:
        wait_for(lambda: master_addr(q) == (LOCAL, nm.port), BOUND_S * 2,
                 "the new proxy adopts the newer master")
    except AssertionError:
        q.dump_log()
        raise
    time.sleep(1.0)
    check(role(nm)["role"] == "master", "the new master stays master")
    check(client(q).set("x", "1"), "writes through the late proxy")
    # a node refuses an older epoch
    try:
        client(nm).execute_command("REPLICAOF", LOCAL, str(other.port), "EPOCH", "0")
        check(False, "older epoch accepted")
    except redis.ResponseError as e:
        check(str(e).startswith("STALE"), str(e))


def case_h_switch_master_event(c):
    m, reps = c.group()
    ps = c.peer_proxies(m, 3)
    subs = []
    for p in ps:
        ps_ = client(p).pubsub()
        ps_.subscribe("+switch-master")
        ps_.psubscribe("*down")
        subs.append(ps_)
    for s in subs:
        wait_for(lambda: s.get_message(timeout=0.1) is None and s.subscribed, 2, "subscribed")
    m.kill()
    nm = wait_for(lambda: new_master(reps, m), BOUND_S, "promotion")
    for s in subs:
        got = {}

        def seen():
            msg = s.get_message(timeout=0.1)
            if msg and msg["type"] in ("message", "pmessage"):
                got[msg["channel"]] = msg["data"]
            return "+switch-master" in got and "+sdown" in got
        wait_for(seen, BOUND_S, "+sdown and +switch-master events")
        check(got["+switch-master"] == "mymaster %s %d %s %d" % (LOCAL, m.port, LOCAL, nm.port),
              "+switch-master message: %r" % got["+switch-master"])
        check(got["+sdown"] == "master mymaster %s %d" % (LOCAL, m.port), "+sdown: %r" % got)
        s.close()


def case_blocked_client_through_a_switchover(c):
    # A client blocked in BLPOP through the proxy on the old master gets an
    # error when a switchover demotes it (it would otherwise wait on a
    # replica that can never serve it), and BLPOP then works on the new one.
    m, reps = c.group()
    ps = c.peer_proxies(m, 1)
    w = Raw(ps[0].port, timeout=30)
    w.send(("BLPOP", "q", "0"))
    wait_for(lambda: int(info(client(m), "clients")["blocked_clients"]) == 1, 10,
             "the client blocked on the master")

    def failover():
        try:
            return client(ps[0]).execute_command("SENTINEL", "failover", "mymaster") == "OK"
        except redis.ResponseError as e:
            # NOGOODSLAVE until the proxy has seen a replica caught up.
            check("NOGOODSLAVE" in str(e), "SENTINEL FAILOVER: %s" % e)
            return False
    wait_for(failover, BOUND_S * 2, "SENTINEL FAILOVER accepted")
    t0 = time.time()
    got = w.reply()
    check(isinstance(got, Err) and "cachely-proxy" in got, "blocked client got %r" % (got,))
    check(time.time() - t0 < BOUND_S, "the error came within the failover bound")
    nm = wait_for(lambda: new_master(reps, m), BOUND_S, "one replica promoted")
    wait_for(lambda: master_addr(ps[0]) == (LOCAL, nm.port), BOUND_S, "the proxy switched")
    w2 = Raw(ps[0].port, timeout=30)
    w2.send(("BLPOP", "q", "0"))
    wait_for(lambda: int(info(client(nm), "clients")["blocked_clients"]) == 1, 10,
             "a new BLPOP blocks on the new master")
    client(ps[0]).rpush("q", "job")
    check(w2.reply() == [b"q", b"job"], "served on the new master")


def log_text(p):
    with open(p.log, errors="replace") as f:
        return f.read()


def case_i_peer_auth(c):
    """peer-auth: a client without the secret can neither announce (SENTINEL
    HELLO) nor vote or ask (is-master-down-by-addr): -NOPERM, logged once per
    connection, nothing adopted; a wrong secret is -WRONGPASS and logged; a
    proxy holding the wrong secret is refused by its peer and logs it once;
    the three proxies sharing it still fail over a killed master."""
    m, reps = c.group()
    secret = "s3cret-peers"
    ps = c.peer_proxies(m, 3, "--peer-auth", secret)
    raw = Raw(ps[0].port)
    r = raw.call("SENTINEL", "HELLO", "99", "mymaster", LOCAL, str(reps[0].port), "99")
    check(isinstance(r, Err) and r.startswith("NOPERM"), "unauthenticated HELLO: %r" % r)
    r = raw.call("SENTINEL", "is-master-down-by-addr", LOCAL, str(m.port), "50", "f" * 40)
    check(isinstance(r, Err) and r.startswith("NOPERM"), "unauthenticated vote: %r" % r)
    check(master_addr(ps[0]) == (LOCAL, m.port), "the refused hello changed nothing")
    check(info(client(ps[0]), "sentinel")["current_epoch"] == "0",
          "no epoch adopted from a refused peer request")
    check(log_text(ps[0]).count("not authenticated as a peer (peer-auth)") == 1,
          "the refusal is logged once for the connection")
    r = raw.call("SENTINEL", "PEER-AUTH", "guess-123")
    check(isinstance(r, Err) and r.startswith("WRONGPASS"), "wrong secret: %r" % r)
    check("Peer authentication from %s:" % LOCAL in log_text(ps[0]), "wrong secret logged")
    check(secret not in log_text(ps[0]) and "guess-123" not in log_text(ps[0]),
          "no secret in the log")
    check(raw.call("SENTINEL", "PEER-AUTH", secret) == "OK", "the right secret")
    r = raw.call("SENTINEL", "is-master-down-by-addr", LOCAL, str(m.port), "0", "*")
    check(r == [0, b"*", 0], "an authenticated peer's query is answered: %r" % r)
    raw.close()
    # A proxy with the wrong secret: ps[0] refuses its hellos; both log it.
    bad = PeerProxy(cluster.free_port(), m.addr, "--peers", ps[0].addr, "--peer-auth", "nope")
    c.proxies.append(bad)
    wait_for(lambda: "refused our peer authentication" in log_text(bad), 5,
             "the proxy with the wrong secret logs its refusal")
    wait_for(lambda: "refused our request: NOPERM" in log_text(bad), 5,
             "and the refusal of its hellos")
    check(log_text(bad).count("refused our peer authentication") == 1, "logged once")
    bad.stop()
    c.proxies.remove(bad)
    # The proxies that share the secret still agree on a failover.
    t0 = time.time()
    m.kill()
    took = writes_resume(ps[1], t0)
    nm = new_master(reps + [m], m)
    check(nm in reps, "a replica was promoted")
    for p in ps:
        wait_for(lambda: master_addr(p) == (LOCAL, nm.port), BOUND_S, "every proxy follows")
    print("     writes resumed %.2f s after the kill, with peer-auth" % took)


def case_j_peer_user(c):
    """peer-user: the proxies authenticate to each other as an ACL user that
    may only run SENTINEL (and PING).  A client as the default user, or
    authenticated as another user, gets -NOPERM for the peer protocol
    (logged once per connection); a session AUTHed as the peer user is
    answered; every link between the proxies authenticated that way (logged);
    they fail over a killed master."""
    m, reps = c.group()
    d = tempfile.mkdtemp(prefix="cachely-sentinel-acl-")
    acl = os.path.join(d, "users.acl")
    with open(acl, "w") as f:
        f.write("user default on nopass ~* &* +@all\n"
                "user peer on >peer-pw-1 +sentinel +ping\n"
                "user app on >app-pw-1 ~* &* +@all\n")
    try:
        ps = c.peer_proxies(m, 3, "--aclfile", acl, "--peer-user", "peer", "--peer-pass", "peer-pw-1")
        raw = Raw(ps[0].port)
        r = raw.call("SENTINEL", "HELLO", "99", "mymaster", LOCAL, str(reps[0].port), "99")
        check(isinstance(r, Err) and r.startswith("NOPERM"), "HELLO as the default user: %r" % r)
        check(raw.call("AUTH", "app", "app-pw-1") == "OK", "AUTH as another user")
        r = raw.call("SENTINEL", "is-master-down-by-addr", LOCAL, str(m.port), "50", "f" * 40)
        check(isinstance(r, Err) and r.startswith("NOPERM"), "a vote as another user: %r" % r)
        check(info(client(ps[0]), "sentinel")["current_epoch"] == "0",
              "no epoch adopted from a refused peer request")
        check(log_text(ps[0]).count("not authenticated as a peer (peer-user)") == 1,
              "the refusal is logged once for the connection")
        check(raw.call("AUTH", "peer", "peer-pw-1") == "OK", "AUTH as the peer user")
        r = raw.call("SENTINEL", "is-master-down-by-addr", LOCAL, str(m.port), "0", "*")
        check(r == [0, b"*", 0], "the peer user's query is answered: %r" % r)
        r = raw.call("GET", "x")
        check(isinstance(r, Err) and r.startswith("NOPERM"), "the peer user may not GET: %r" % r)
        raw.close()
        for p in ps:
            wait_for(lambda: log_text(p).count("authenticated as ACL user peer") >= 2, 5,
                     "%d's two peers authenticated as the ACL user" % p.port)
            check("peer-pw-1" not in log_text(p), "no password in the log")
        t0 = time.time()
        m.kill()
        took = writes_resume(ps[1], t0)
        nm = new_master(reps + [m], m)
        check(nm in reps, "a replica was promoted")
        for p in ps:
            wait_for(lambda: master_addr(p) == (LOCAL, nm.port), BOUND_S, "every proxy follows")
    finally:
        os.remove(acl)
        os.rmdir(d)
    print("     writes resumed %.2f s after the kill, peers as an ACL user" % took)


CASES = [
    ("blk", "a client blocked through the proxy gets an error in a switchover",
     case_blocked_client_through_a_switchover),
    ("a", "SENTINEL replies: shapes, errors, RESP3, redis-py discovery",
     case_a_sentinel_replies),
    ("b", "one proxy, quorum 1: kill -9 master, writes resume, old master rejoins",
     case_b_single_proxy_kill_master),
    ("c", "three proxies: kill -9 master, one promotion, all agree", case_c_three_proxies_kill_master),
    ("d", "redis.sentinel.Sentinel on the proxies follows a failover",
     case_d_redis_py_sentinel_client),
    ("e", "SENTINEL FAILOVER [TO]: planned switchover under write-ack all, no acked write lost",
     case_e_planned_switchover),
    ("e2", "switchover with write-ack master: held writes re-sent, clients see no error",
     case_e2_switchover_is_a_pause),
    ("e3", "switchover: pipelined writes held by the paused master are each re-sent",
     case_e3_pipelined_writes_through_a_switchover),
    ("f", "a minority (1 of 3 proxies) never fails over; the majority does",
     case_f_minority_does_not_fail_over),
    ("g", "a proxy started later adopts the newer configuration; nodes refuse older epochs",
     case_g_restarted_proxy_adopts_newer_config),
    ("h", "+sdown and +switch-master published on every proxy's pub/sub",
     case_h_switch_master_event),
    ("i", "peer-auth: unauthenticated hellos and votes refused and logged; failover works",
     case_i_peer_auth),
    ("j", "peer-user: peers authenticate as an ACL user; others refused; failover works",
     case_j_peer_user),
]


def main():
    if not os.access(PROXY, os.X_OK):
        print("no cachely-proxy at %s" % PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "sentinel_", "CACHELY_SENTINEL_CASES",
                             lambda fn: cluster.run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
