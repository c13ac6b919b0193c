"""Real frameworks through cachely-proxy while the master is killed (issue 14):
a master, one replica and three peer proxies (write-ack all, automatic
failover), and a kill -9 of the master in the middle of each run:
  - bee-queue (npm): a job queue whose worker blocks in BRPOPLPUSH on a
    dedicated proxy connection; every job whose save was acknowledged ends
    'succeeded' after the failover (stalled-job checks put back the jobs the
    kill cut);
  - BullMQ (npm): the same with its Queue and Worker (Lua scripts, a worker
    blocked in BZPOPMIN, job locks of 2 s and the stalled-job check);
  - rate-limiter-flexible (npm): consumes through all three proxies before
    and after the kill; it never lets more than its limit through;
  - redis-py's Lock: threads contend through different proxies; the lock is
    never held by two at once, and it keeps working after the failover.
  - an application on ioredis, then on node-redis (npm): plain writes,
    MULTI/EXEC, EVALSHA, WATCH/MULTI/EXEC through two proxies and a
    subscriber on the third;
    every acknowledged write is on the new master, no transaction is half
    applied or applied twice, every error is a RESP error reply, the clients
    go on after the failover and every message published after the
    subscriber heard +switch-master reaches it.
The blocking stream worker (XREADGROUP) through a failover is
test_proxy_collections.py case j.

The cases named "via-<name>" run test_frameworks.py's workload <name> (RQ,
Celery, Sidekiq, bull, Django's cache and sessions, socket.io's adapter,
redlock, ...) through a cachely-proxy with --read-policy master in front of
one node, with no failover.

Run with /usr/bin/python3.  Prints "N passed, M failed";
CACHELY_PROXY_FW_CASES=a,b runs only those cases.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import test_frameworks as tf  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import LOCAL, check, client, info, wait_for  # noqa: E402

import redis  # noqa: E402

CLIENTS = os.path.join(os.path.dirname(HERE), "clients")
NODE = shutil.which("node") or "/usr/bin/node"


class PeerProxy(cluster.Proxy):
    """A cachely-proxy on a port chosen before it starts (its peers name it)."""

    def __init__(self, port, nodes, *args):
        import tempfile
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="cachely-proxy-")
        self.log = os.path.join(self.dir, "proxy.log")
        argv = [cluster.PROXY, "--port", str(port), "--bind", LOCAL, "--logfile", self.log,
                "--nodes", nodes] + [str(a) for a in args]
        self.t_start = time.time()
        self.spawn(argv)


def deployment(c, n_proxies=3):
    """A master, one replica and n peer proxies under write-ack all."""
    m = c.node()
    rep = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
    tp.wait_synced(m, rep)
    ports = [cluster.free_port() for _ in range(n_proxies)]
    ps = []
    for port in ports:
        peers = ",".join("%s:%d" % (LOCAL, q) for q in ports if q != port)
        p = PeerProxy(port, m.addr, "--peers", peers, "--write-ack", "all",
                      "--write-ack-timeout-ms", "2000", "--down-after-ms", "500")
        c.proxies.append(p)
        ps.append(p)
    for p in ps:
        tp.wait_topology(client(p), 2, timeout=10)
    return m, rep, ps


def wait_failover(rep, ps):
    wait_for(lambda: info(client(rep), "replication")["role"] == "master", 15,
             "the replica promoted")
    for p in ps:
        wait_for(lambda: tp.topology(client(p))[0].get("master") == rep.addr, 15,
                 "proxy %d follows the new master" % p.port)


def run_node(which, m, rep, ps, quiet=False):
    """Run a workload of proxy_frameworks.js; kill m when it says "half"."""
    import test_proxy_clients as tpc
    tpc.ensure_node_clients()
    proc = subprocess.Popen([NODE, os.path.join(CLIENTS, "proxy_frameworks.js"), which]
                            + [str(p.port) for p in ps], cwd=CLIENTS, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, killed_at = None, None
    try:
        for line in proc.stdout:
            line = line.strip()
            if line == "half":
                m.kill()
                killed_at = time.time()
                proc.stdin.write("killed\n")
                proc.stdin.flush()
            elif line.startswith("{"):
                out = json.loads(line)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    check(killed_at is not None, "the master was not killed: %r %s" % (out, err[-2000:]))
    check(out is not None and out.get("ok"), "%s: %r %s" % (which, out, err[-2000:]))
    if not quiet:
        print("     %s: %s" % (which, json.dumps(out)))
    wait_failover(rep, ps)
    return out


def case_bee_queue_jobs_survive_a_failover(c):
    m, rep, ps = deployment(c)
    out = run_node("beequeue", m, rep, ps)
    check(out["acked"] == 60, "60 jobs acknowledged: %r" % out)
    check(out["done"] == out["acked"], "every acknowledged job succeeded: %r" % out)


def case_bullmq_jobs_survive_a_failover(c):
    m, rep, ps = deployment(c)
    out = run_node("bullmq", m, rep, ps)
    check(out["acked"] == 60, "60 jobs acknowledged: %r" % out)
    check(out["done"] == out["acked"], "every acknowledged job completed: %r" % out)


def case_rate_limiter_through_a_failover(c):
    m, rep, ps = deployment(c)
    out = run_node("ratelimit", m, rep, ps)
    check(out["allowed"] <= out["limit"], "let through more than the limit: %r" % out)
    # A consume cut by the kill may have counted on the new master without
    # being let through; nothing else is lost.
    check(out["allowed"] >= out["limit"] - out["errors"], "points lost: %r" % out)
    check(out["refusedAfter"] > 0 and out["allowedAfter"] > 0,
          "the limiter worked after the failover: %r" % out)


def case_lock_never_held_twice(c):
    m, rep, ps = deployment(c)
    held, overlap, acquired, errors = [0], [0], [0], []
    mutex = threading.Lock()
    stop = threading.Event()
    after_kill = [0]
    killed = threading.Event()

    def worker(p):
        r = client(p, timeout=5)
        while not stop.is_set():
            lk = r.lock("pfw:lock", timeout=2, blocking_timeout=0.5, sleep=0.005)
            try:
                if not lk.acquire():
                    continue
            except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError) as e:
                errors.append(str(e))
                time.sleep(0.05)
                continue
            with mutex:
                held[0] += 1
                overlap[0] += held[0] > 1
                acquired[0] += 1
                after_kill[0] += killed.is_set()
            time.sleep(0.002)
            with mutex:
                held[0] -= 1
            try:
                lk.release()
            except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError,
                    redis.exceptions.LockError) as e:
                errors.append(str(e))  # it expires (2 s)

    ts = [threading.Thread(target=worker, args=(ps[i % len(ps)],), daemon=True)
          for i in range(4)]
    for t in ts:
        t.start()
    wait_for(lambda: acquired[0] >= 30, 10, "30 acquisitions before the kill")
    m.kill()
    killed.set()
    wait_failover(rep, ps)
    wait_for(lambda: after_kill[0] >= 30, 15, "30 acquisitions after the kill")
    stop.set()
    for t in ts:
        t.join(10)
    print("     %d acquisitions (%d after the kill), %d errors around the failover"
          % (acquired[0], after_kill[0], len(errors)))
    check(overlap[0] == 0, "the lock was held by two at once %d times" % overlap[0])


def app_across_a_failover(c, lib):
    m, rep, ps = deployment(c)
    out = run_node(lib, m, rep, ps, quiet=True)
    print("     %s: %d rounds (%d after the switch), acknowledged %d SET, %d MULTI, %d EVALSHA,"
          " %d WATCH/MULTI (%d aborted);"
          " %d/%d messages after the switch; %d said not executed; errors %s"
          % (lib, out["rounds"], out["roundsAfterSwitch"], len(out["sets"]), len(out["txs"]),
             len(out["evals"]), len(out["watched"]), out["watchAborted"],
             out["afterSwitchReceived"], out["afterSwitchPublished"],
             len(out["setsNotRun"]) + len(out["txsNotRun"]) + len(out["evalsNotRun"])
             + len(out["watchedNotRun"]),
             json.dumps(out["replyErrors"])))
    check(not out["otherErrors"], "errors that are not RESP error replies: %r" % out)
    check(out["switchHeard"], "the subscriber never heard +switch-master: %r" % out)
    check(out["roundsAfterSwitch"] >= 10, "the app did not go on: %r" % out)
    check(out["afterSwitchReceived"] == out["afterSwitchPublished"] == 30,
          "messages published after +switch-master lost: %r" % out)
    # Read back on the new master itself.
    r = client(rep)
    for i in out["sets"]:
        check(r.get("{pfw}k:%d" % i) == "v%d" % i, "acknowledged SET %d lost" % i)
    txl = [int(x) for x in r.lrange("{pfw}txl", 0, -1)]
    check(len(txl) == len(set(txl)), "a transaction ran twice: %r" % txl)
    check(set(out["txs"]) <= set(txl), "acknowledged transactions lost: %r"
          % sorted(set(out["txs"]) - set(txl)))
    # all three writes of a transaction, or none
    txkeys = set(int(k.split(":")[1]) for k in r.keys("{pfw}tx:*"))
    check(txkeys == set(txl), "transactions half applied: %r"
          % sorted(txkeys.symmetric_difference(txl)))
    check(int(r.get("{pfw}txctr") or 0) == len(txl), "transaction counter != list")
    ctr = int(r.get("{pfw}ctr") or 0)
    check(out["incrAcked"] <= ctr <= out["incrAcked"] + out["incrFailed"],
          "INCR count %d outside [acked, acked + failed]: %r" % (ctr, out))
    fields = set(int(f) for f in r.hkeys("{pfw}h"))
    check(set(out["evals"]) <= fields, "acknowledged EVALSHA writes lost: %r"
          % sorted(set(out["evals"]) - fields))
    # WATCH/GET/MULTI/EXEC increments: each one that ran did both writes.
    wl = [int(x) for x in r.lrange("{pfw}wl", 0, -1)]
    check(len(wl) == len(set(wl)), "a WATCH transaction ran twice: %r" % wl)
    check(set(out["watched"]) <= set(wl), "acknowledged WATCH transactions lost: %r"
          % sorted(set(out["watched"]) - set(wl)))
    check(int(r.get("{pfw}w") or 0) == len(wl), "WATCH counter %r != %d pushes"
          % (r.get("{pfw}w"), len(wl)))
    check(not set(out["watchedNotRun"]) & set(wl), "WATCH transactions said not executed, "
          "but ran: %r" % sorted(set(out["watchedNotRun"]) & set(wl)))
    # An error that says the command did not run is true.
    for i in out["setsNotRun"]:
        check(r.exists("{pfw}k:%d" % i) == 0, "SET %d said not executed, but ran" % i)
    check(not set(out["txsNotRun"]) & set(txl), "transactions said not executed, but ran: %r"
          % sorted(set(out["txsNotRun"]) & set(txl)))
    check(not set(out["evalsNotRun"]) & fields, "EVALSHA said not executed, but ran: %r"
          % sorted(set(out["evalsNotRun"]) & fields))


def case_ioredis_app(c):
    app_across_a_failover(c, "ioredis")


def case_node_redis_app(c):
    app_across_a_failover(c, "node-redis")


CASES = [
    ("a", "bee-queue: every acknowledged job succeeds across a kill -9 of the master",
     case_bee_queue_jobs_survive_a_failover),
    ("f", "BullMQ: every acknowledged job completes across a kill -9 of the master",
     case_bullmq_jobs_survive_a_failover),
    ("b", "rate-limiter-flexible: never more than the limit across a kill -9",
     case_rate_limiter_through_a_failover),
    ("c", "redis-py Lock through three proxies: never held twice across a kill -9",
     case_lock_never_held_twice),
    ("d", "ioredis app (writes, MULTI/EXEC, WATCH, EVALSHA, pub/sub) across a kill -9",
     case_ioredis_app),
    ("e", "node-redis app (writes, MULTI/EXEC, WATCH, EVALSHA, pub/sub) across a kill -9",
     case_node_redis_app),
]


def through_proxy(fn):
    """test_frameworks.py's case fn, its server a proxy in front of a node."""
    def case(c):
        c.via_proxy = True
        fn(c)
    return case


CASES += [("via-" + name, what + " (through a proxy)", through_proxy(fn))
          for name, what, fn in tf.CASES]


def main():
    return cluster.run_cases(CASES, "proxy_frameworks_", "CACHELY_PROXY_FW_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
