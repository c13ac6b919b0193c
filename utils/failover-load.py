#!/usr/bin/python3
"""Write load and failover measurement for utils/bench-failover.sh.

  ready --endpoints P,P,P --master M [--replicas N] [--timeout S]
      wait until every endpoint (a Sentinel, or a cachely-proxy answering
      like one) names 127.0.0.1:M for mymaster and, where it answers
      SENTINEL MASTER, knows N replicas and the other endpoints.
  run --system redis|cachely --ack master|all --endpoints P,P,P
      --nodes M,R,R --master-pid PID --run N [--fault F]
      write unique keys k:<run>:<i> from several clients, inject the fault
      after a random warm-up, time the first write issued after it that is
      acknowledged, keep writing --after seconds, then read every
      acknowledged key from the node that is master now.  Prints one JSON
      object, and a line for people on stderr.  Faults: kill (kill -9 PID),
      stop (SIGSTOP PID; the caller sends SIGCONT when it stops the group),
      partition (packets between the master's network namespace --netns
      and the address --cut-ip dropped both ways, silently for the far
      side), stress (no fault: write for --hold seconds while the caller
      loads the CPUs, then report whether the master changed: a false
      failover).
  table RESULTS
      the table of bench-failover.sh from the JSON lines of the runs.

Redis clients go through redis.sentinel.Sentinel (re-resolving the master
on errors); with --ack all a write is SET then WAIT n (same connection,
one pipeline) and counts only when WAIT reports n replicas, n being the
replicas still running: 2, then 1 once the master is killed (WAIT 2 could
never succeed again).  Cachely clients are plain clients of the proxies,
moving to the next proxy on a connection error; with --ack all the proxies
run --write-ack all and a write counts when the reply is OK.
Needs Debian's python3-redis (run with /usr/bin/python3).
"""
import argparse
import collections
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

import redis
from redis.sentinel import Sentinel

NAME = "mymaster"
HOST = "127.0.0.1"
TIMEOUT_S = 30   # run --timeout's default, named in the table's notes


def ports(text):
    return [int(p) for p in text.split(",") if p]


def endpoint_master(port, timeout=0.5):
    """The master an endpoint names for NAME, as a port; None if it names
    none or does not answer."""
    try:
        r = redis.Redis(HOST, port, socket_timeout=timeout, socket_connect_timeout=timeout)
        addr = r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
        r.close()
    except redis.RedisError:
        return None
    if not addr:
        return None
    return int(addr[1])


def endpoint_state(port):
    """SENTINEL MASTER NAME as a dict of str, or None when not answered."""
    try:
        r = redis.Redis(HOST, port, socket_timeout=0.5, socket_connect_timeout=0.5,
                        decode_responses=True)
        raw = r.execute_command("SENTINEL", "MASTER", NAME)
        r.close()
    except redis.RedisError:
        return None
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(raw[i]): str(raw[i + 1]) for i in range(0, len(raw) - 1, 2)}
    return None


def cmd_ready(a):
    eps = ports(a.endpoints)
    deadline = time.monotonic() + a.timeout
    missing = eps
    while time.monotonic() < deadline:
        missing = []
        for p in eps:
            named = endpoint_master(p)
            if named != a.master:
                missing.append("%d: master %s" % (p, named))
                continue
            st = endpoint_state(p)
            if st is None:
                continue   # answers get-master-addr-by-name only: enough
            slaves = int(st.get("num-slaves", a.replicas))
            others = int(st.get("num-other-sentinels", len(eps) - 1))
            if slaves < a.replicas or others < len(eps) - 1:
                missing.append("%d: %d replicas, %d others" % (p, slaves, others))
        if not missing:
            return 0
        time.sleep(0.05)
    print("not ready after %.0f s: %s" % (a.timeout, "; ".join(missing)), file=sys.stderr)
    return 1


# ---- the load ----------------------------------------------------------------

class State:
    """What the writer threads share; lock guards everything below it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop = False
        self.kill_time = None     # monotonic time of the kill, once done
        self.first_after = None   # ack time of the first write issued after it
        self.need = 2             # replicas a WAIT must reach (redis, --ack all)
        self.acked = []           # keys whose write was acknowledged
        self.attempts = 0
        self.errors = collections.Counter()   # kind -> count, after the kill
        self.errors_before = collections.Counter()   # kind -> count, before it
        self.first_error = {}                 # kind -> first message seen
        self.trace = None         # with --trace: lines of the writes after the kill


def error_kind(e):
    """(kind, message): a RESP error's code (NOTACKED, READONLY...), or for
    a message without one the message up to its first ';' with addresses
    and numbers blanked, or the exception's class."""
    msg = str(e).strip()
    if isinstance(e, redis.ResponseError):
        code = msg.split(" ")[0]
        if code.isupper():
            return code, msg
        return re.sub(r"[0-9][0-9.:]*", "N", msg.split(";")[0])[:60], msg
    return type(e).__name__, msg


class RedisWriter:
    """A Sentinel-aware client: the pool asks the sentinels for the master
    whenever it opens a connection, and a failed connection is dropped."""

    def __init__(self, a, st, idx):
        self.st = st
        self.ack_all = a.ack == "all"
        self.wait_ms = a.wait_ms
        s = Sentinel([(HOST, p) for p in ports(a.endpoints)],
                     socket_timeout=0.5, socket_connect_timeout=0.5)
        self.master = s.master_for(NAME, socket_timeout=a.socket_timeout,
                                   socket_connect_timeout=0.5)

    def write(self, key):
        if not self.ack_all:
            return self.master.set(key, key) is True
        need = self.st.need
        p = self.master.pipeline(transaction=False)
        p.set(key, key)
        p.execute_command("WAIT", need, self.wait_ms)
        _, got = p.execute()
        if got < need:
            raise redis.ResponseError("WAIT %d said %d" % (need, got))
        return True

    def failed(self, e):
        pass   # the pool already dropped the broken connection


class CachelyWriter:
    """A plain client of one proxy; the next proxy on a connection error."""

    def __init__(self, a, st, idx):
        self.eps = ports(a.endpoints)
        self.i = idx % len(self.eps)
        self.timeout = a.socket_timeout
        self.r = None

    def write(self, key):
        if self.r is None:
            self.r = redis.Redis(HOST, self.eps[self.i], socket_timeout=self.timeout,
                                 socket_connect_timeout=0.5)
        return self.r.set(key, key) is True

    def failed(self, e):
        if isinstance(e, (redis.ConnectionError, redis.TimeoutError)):
            if self.r is not None:
                self.r.close()
            self.r = None
            self.i = (self.i + 1) % len(self.eps)


def writer(a, st, idx, counter):
    w = (RedisWriter if a.system == "redis" else CachelyWriter)(a, st, idx)
    while not st.stop:
        with st.lock:
            i = next(counter)
        key = "k:%d:%d" % (a.run, i)
        t0 = time.monotonic()
        err = None
        try:
            ok = w.write(key)
        except Exception as e:   # redis errors mostly; any other is counted too
            w.failed(e)
            ok = False
            err = error_kind(e)
        t1 = time.monotonic()
        with st.lock:
            st.attempts += 1
            kill = st.kill_time
            if ok:
                st.acked.append(key)
                if kill is not None and t0 >= kill and st.first_after is None:
                    st.first_after = t1
            else:
                kind, msg = err or ("not OK", "not OK")
                if kill is None:
                    st.errors_before[kind] += 1
                else:
                    st.errors[kind] += 1
                    st.first_error.setdefault(kind, msg[:120])
            if kill is not None and st.trace is not None and t1 - kill < a.trace_s:
                st.trace.append("%d\t%.1f\t%.1f\t%s" % (
                    idx, (t0 - kill) * 1000, (t1 - kill) * 1000, "OK" if ok else err[1]))
        if not ok:
            time.sleep(a.retry_ms / 1000.0)


def new_master(a, killed):
    """(port, note): the surviving node that is master, by ROLE, preferring
    the one the endpoints name; (None, why) when there is none."""
    survivors = [p for p in ports(a.nodes) if p != killed]
    deadline = time.monotonic() + a.settle
    note = "no surviving node says ROLE master"
    while time.monotonic() < deadline:
        masters = []
        for p in survivors:
            try:
                r = redis.Redis(HOST, p, socket_timeout=1, socket_connect_timeout=0.5)
                role = r.execute_command("ROLE")
                r.close()
            except redis.RedisError:
                continue
            if role and role[0] in (b"master", "master"):
                masters.append(p)
        named = [endpoint_master(p) for p in ports(a.endpoints)]
        named = [p for p in named if p is not None]
        if len(masters) == 1:
            return masters[0], ""
        if len(masters) > 1:
            agreed = [p for p in masters if p in named]
            if agreed:
                return agreed[0], "several masters %s; read from %d named by endpoints" % (
                    masters, agreed[0])
            note = "several masters %s, endpoints name %s" % (masters, named)
        time.sleep(0.1)
    return None, note


def count_lost(port, keys):
    r = redis.Redis(HOST, port, socket_timeout=10)
    lost = 0
    for i in range(0, len(keys), 1000):
        chunk = keys[i:i + 1000]
        lost += sum(1 for v in r.mget(chunk) if v is None)
    r.close()
    return lost


def cmd_run(a):
    rnd = random.Random(a.seed if a.seed is not None else a.run)
    st = State()
    if a.trace:
        st.trace = []
    counter = iter(range(1 << 62))
    threads = [threading.Thread(target=writer, args=(a, st, i, counter), daemon=True)
               for i in range(a.clients)]
    for t in threads:
        t.start()
    out = {"system": a.system, "ack": a.ack, "run": a.run}
    time.sleep(rnd.uniform(a.warmup_min, a.warmup_max))
    with st.lock:
        before = len(st.acked)
    if before == 0:
        st.stop = True
        out["error"] = "no write acknowledged during the warm-up"
        out["errors_before_kill"] = dict(st.errors_before.most_common(4))
        print(json.dumps(out))
        print_run(out)
        return 1

    killed = ports(a.nodes)[0]
    out["fault"] = a.fault
    if a.fault == "stress":
        return stress_hold(a, st, threads, out, killed)
    inject(a)
    with st.lock:
        st.kill_time = time.monotonic()
        st.need = 1
    deadline = st.kill_time + a.timeout
    while time.monotonic() < deadline:
        with st.lock:
            if st.first_after is not None:
                break
        time.sleep(0.005)
    if st.first_after is not None:
        time.sleep(a.after)
    st.stop = True
    for t in threads:
        t.join(a.socket_timeout + 3)

    with st.lock:
        acked = list(st.acked)
        out["failover_ms"] = (None if st.first_after is None
                              else round((st.first_after - st.kill_time) * 1000, 1))
        out["acked"] = len(acked)
        out["acked_before_kill"] = before
        out["attempts"] = st.attempts
        out["errors"] = dict(st.errors.most_common(4))
        out["first_error"] = {k: st.first_error[k] for k in out["errors"]
                              if k in st.first_error}
        out["errors_before_kill"] = dict(st.errors_before.most_common(4))
    if a.trace:
        with open(a.trace, "w") as f:
            f.write("client\tstart_ms\tend_ms\toutcome (times from the kill)\n")
            f.write("".join(line + "\n" for line in st.trace))
    port, note = new_master(a, killed)
    out["new_master"] = port
    if note:
        out["note"] = note
    out["lost"] = None if port is None else count_lost(port, acked)
    print(json.dumps(out))
    print_run(out)
    return 0


def inject(a):
    """The fault of --fault, done when this returns."""
    if a.fault == "kill":
        os.kill(a.master_pid, signal.SIGKILL)
    elif a.fault == "stop":
        os.kill(a.master_pid, signal.SIGSTOP)
    elif a.fault == "partition":
        # In the master's namespace (whose local table comes after pref 10):
        # what arrives from the far side is dropped, what it sends there is
        # refused locally.  The far side hears nothing: a cut cable.
        for rule in (("from", a.cut_ip), ("to", a.cut_ip)):
            subprocess.run(["ip", "-n", a.netns, "rule", "add", "pref", "10", rule[0], rule[1],
                            "blackhole"], check=True, timeout=10)


def stress_hold(a, st, threads, out, master):
    """Write for --hold s with no fault; then did any endpoint, or the
    master itself, stop calling it the master?"""
    time.sleep(a.hold)
    st.stop = True
    for t in threads:
        t.join(a.socket_timeout + 3)
    named = [endpoint_master(p) for p in ports(a.endpoints)]
    role = None
    try:
        r = redis.Redis(a.master_host, master, socket_timeout=2, socket_connect_timeout=2)
        role = r.execute_command("ROLE")[0]
        r.close()
    except redis.RedisError as e:
        role = "error: %s" % e
    if isinstance(role, bytes):
        role = role.decode()
    with st.lock:
        out["acked"] = len(st.acked)
        out["attempts"] = st.attempts
        out["errors"] = dict(st.errors_before.most_common(4))
    out["named"] = named
    out["role"] = role
    out["false_failover"] = role != "master" or any(p != master for p in named)
    out["hold"] = a.hold
    print(json.dumps(out))
    print("%-8s %-17s run %2d: stress %.0f s, %d acked, master %s, endpoints name %s%s" % (
        label(a.system, a.ack) + (a.run, a.hold, out["acked"], role, named,
        "  FALSE FAILOVER" if out["false_failover"] else "")), file=sys.stderr)
    return 0


def label(system, ack):
    if system == "redis":
        return "redis", "sentinel" + (" + WAIT" if ack == "all" else " async")
    return "cachely", "write-ack " + ack


def print_run(o):
    """One line per run on stderr, so that progress shows."""
    sysname, mode = label(o["system"], o["ack"])
    if "error" in o:
        print("%-8s %-17s run %2d: %s %s" % (sysname, mode, o["run"], o["error"],
                                              o.get("errors_before_kill", "")), file=sys.stderr)
        return
    fo = "none in %.0f s" % TIMEOUT_S if o["failover_ms"] is None else "%.0f ms" % o["failover_ms"]
    errs = ", ".join("%s x%d" % kv for kv in o["errors"].items())
    print("%-8s %-17s run %2d: failover %s, %d acked, %s lost, master now %s%s%s" % (
        sysname, mode, o["run"], fo, o["acked"],
        "?" if o["lost"] is None else o["lost"], o["new_master"],
        "; errors after the kill: " + errs if errs else "",
        "; " + o["note"] if o.get("note") else ""), file=sys.stderr)


# ---- the table -----------------------------------------------------------------

def cmd_table(a):
    rows = collections.OrderedDict()
    for line in open(a.results):
        line = line.strip()
        if line:
            o = json.loads(line)
            rows.setdefault((o["system"], o["ack"], o.get("fault", "kill")), []).append(o)
    stress = collections.OrderedDict((k, v) for k, v in rows.items() if k[2] == "stress")
    rows = collections.OrderedDict((k, v) for k, v in rows.items() if k[2] != "stress")
    fmt = "%-8s %-17s %-9s %4s %8s %8s %8s %6s %9s %7s %6s"
    head = fmt % ("system", "mode", "fault", "runs", "p50 ms", "p99 ms", "max ms",
                  "no-fo", "acked", "lost", "failed")
    print(head)
    print("-" * len(head))
    p99s = {}
    p99_fault = {}
    lost_all = {}
    for (system, ack, fault), runs in rows.items():
        ok = [o for o in runs if "error" not in o]
        times = sorted(o["failover_ms"] for o in ok if o["failover_ms"] is not None)
        none = len(ok) - len(times)
        if times and not none:
            p50 = statistics.median(times)
            p99 = times[max(0, math.ceil(0.99 * len(times)) - 1)]
            cells = ("%.0f" % p50, "%.0f" % p99, "%.0f" % times[-1])
            p99_fault[system, ack, fault] = p99
            if fault == "kill":
                p99s[system, ack] = p99
        elif times:
            # Runs with no failover count as slower than any other.
            allv = times + [math.inf] * none
            p50 = allv[(len(allv) - 1) // 2] if len(allv) % 2 else statistics.median(allv)
            p99 = allv[max(0, math.ceil(0.99 * len(allv)) - 1)]
            cells = tuple("none" if v == math.inf else "%.0f" % v for v in (p50, p99, allv[-1]))
            p99_fault[system, ack, fault] = p99
            if fault == "kill":
                p99s[system, ack] = p99
        else:
            cells = ("n/a",) * 3
        unknown = [o for o in ok if o["lost"] is None]
        lost = sum(o["lost"] for o in ok if o["lost"] is not None)
        prev = lost_all.get((system, ack), 0)   # summed over the faults
        lost_all[system, ack] = None if prev is None or unknown or not ok else prev + lost
        sysname, mode = label(system, ack)
        print(fmt % (
            sysname, mode, fault, len(ok), cells[0], cells[1], cells[2], none,
            sum(o["acked"] for o in ok), "%d%s" % (lost, "?" if unknown else ""),
            len(runs) - len(ok)))
    print()
    print("p50 = median of the runs, p99 = nearest rank (the max below 100 runs); no-fo = runs")
    print("with no write acknowledged within %.0f s of the kill; failed = runs whose group did" % TIMEOUT_S)
    print("not start; lost = acknowledged keys missing on the new master (? = no master found).")
    print("faults: kill = kill -9 of the master, stop = SIGSTOP (hung), partition = the master's")
    print("network namespace cut from everyone else (packets dropped), times from the fault.")
    if stress:
        print()
        sfmt = "%-8s %-17s %4s %8s %9s %15s"
        shead = sfmt % ("system", "mode", "runs", "hold s", "acked", "false failovers")
        print(shead)
        print("-" * len(shead))
        for (system, ack, _), runs in stress.items():
            ok = [o for o in runs if "error" not in o]
            sysname, mode = label(system, ack)
            print(sfmt % (sysname, mode, len(ok),
                          "%.0f" % ok[0].get("hold", 0) if ok else "-",
                          sum(o.get("acked", 0) for o in ok),
                          "%d" % sum(1 for o in ok if o.get("false_failover"))))
        print("stress: no fault, CPU hogs (yes) on every core for the hold; a false failover =")
        print("an endpoint naming another master, or the healthy master no longer a master.")

    def ratio(a_, b_):
        x, y = p99s.get(a_), p99s.get(b_)
        if x is None or y is None:
            return "n/a"
        if math.isinf(x) or math.isinf(y) or y == 0:
            return "n/a (a run had no failover)"
        return "%.2f" % (x / y)

    print()
    print("p99 ratio cachely/sentinel: write-ack master vs async %s; write-ack all vs + WAIT %s"
          % (ratio(("cachely", "master"), ("redis", "master")),
             ratio(("cachely", "all"), ("redis", "all"))))
    if ("cachely", "master") in p99s or ("cachely", "all") in p99s:
        for ack, other in (("master", "master"), ("all", "all")):
            x, y = p99s.get(("cachely", ack)), p99s.get(("redis", other))
            if x is None:
                continue
            print("target write-ack %-6s p99 <= 1500 ms: %-3s  below sentinel's: %s" % (
                ack, "yes" if x <= 1500 else "no",
                "n/a" if y is None else ("yes" if x < y else "no")))
    for (system, ack, fault), v in p99_fault.items():
        if system == "cachely" and fault in ("stop", "partition"):
            print("target write-ack %-6s %-9s p99 <= 600 ms: %s (%.0f ms)" % (
                ack, fault, "yes" if v <= 600 else "no", v))
    if ("cachely", "all") in lost_all:
        v = lost_all["cachely", "all"]
        print("target write-ack all  no acknowledged write lost: %s" % (
            "n/a" if v is None else ("yes" if v == 0 else "no (%d)" % v)))
    for (system, ack, _), runs in stress.items():
        if system == "cachely":
            ok = [o for o in runs if "error" not in o]
            n = sum(1 for o in ok if o.get("false_failover"))
            print("target write-ack %-6s no false failover under stress: %s (%d of %d runs)" % (
                ack, "yes" if n == 0 and ok else "no", n, len(ok)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("ready")
    r.add_argument("--endpoints", required=True)
    r.add_argument("--master", type=int, required=True)
    r.add_argument("--replicas", type=int, default=2)
    r.add_argument("--timeout", type=float, default=20)
    w = sub.add_parser("run")
    w.add_argument("--system", choices=("redis", "cachely"), required=True)
    w.add_argument("--ack", choices=("master", "all"), required=True)
    w.add_argument("--endpoints", required=True, help="sentinel or proxy ports")
    w.add_argument("--nodes", required=True, help="master port first, then replicas")
    w.add_argument("--master-pid", type=int, required=True)
    w.add_argument("--fault", choices=("kill", "stop", "partition", "stress"), default="kill")
    w.add_argument("--master-host", default=HOST, help="the master's address (partition)")
    w.add_argument("--netns", help="the master's network namespace (partition)")
    w.add_argument("--cut-ip", help="the far side's address in it (partition)")
    w.add_argument("--hold", type=float, default=5, help="s of load with no fault (stress)")
    w.add_argument("--run", type=int, required=True)
    w.add_argument("--seed", type=int)
    w.add_argument("--clients", type=int, default=4)
    w.add_argument("--warmup-min", type=float, default=1.0)
    w.add_argument("--warmup-max", type=float, default=2.0)
    w.add_argument("--after", type=float, default=1.0, help="s of writing after the first ack")
    w.add_argument("--timeout", type=float, default=TIMEOUT_S,
                   help="s to wait for a write to succeed")
    w.add_argument("--settle", type=float, default=10, help="s to wait for one master")
    w.add_argument("--retry-ms", type=float, default=5)
    w.add_argument("--wait-ms", type=int, default=1000, help="WAIT timeout (redis, --ack all)")
    w.add_argument("--trace", help="write every write that ends within --trace-s of "
                   "the kill to this file (tab-separated)")
    w.add_argument("--trace-s", type=float, default=3)
    w.add_argument("--socket-timeout", type=float, default=5,
                   help="s a client waits for a reply (a proxy may hold writes)")
    t = sub.add_parser("table")
    t.add_argument("results", help="the JSON lines of the runs")
    a = ap.parse_args()
    return {"ready": cmd_ready, "run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
