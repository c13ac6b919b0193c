"""Read-your-writes through cachely-proxy under every write path.

With --read-policy session (the default) a client's read never returns
data older than its own last write, whatever the write was: a plain
command, a blocking command served at once, a script, a transaction, a
write split over groups, with or without --write-ack.  Each case sends
random pipelines of writes, each followed by reads of what it wrote,
through a proxy in front of masters with replicas, and checks every read
against a model of the data.  Replicas get the reads whenever the proxy
thinks they hold the session's last write, so a path that forgets to track
its write is caught at once (a read pipelined right behind a write reaches
a replica before the write does).  Real processes, raw RESP.

Run with /usr/bin/python3.  Prints "N passed, M failed";
CACHELY_PROXY_RYW_CASES=a,b runs only those cases.
"""
import hashlib
import os
import os
import random
import select
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import LOCAL, Err, Raw, check, client, info  # noqa: E402

SET_SCRIPT = "redis.call('SET', KEYS[1], ARGV[1]) return 1"
SET_SHA = hashlib.sha1(SET_SCRIPT.encode()).hexdigest()


class Model:
    """The keys' values as the client wrote them, and the reads to check."""

    def __init__(self, rnd, keys):
        self.rnd = rnd
        self.keys = keys           # string keys (several groups when sharded)
        self.strings = {}
        self.lists = {"{l}a": [], "{l}b": []}
        self.cmds = []             # (command tuple, expected reply or None)
        self.n = 0

    def send(self, cmd, want=None, check_it=False):
        self.cmds.append((cmd, want, check_it))

    def read_string(self, k):
        self.send(("GET", k), self.strings.get(k), True)

    def read_lists(self):
        for k, v in self.lists.items():
            self.send(("LRANGE", k, "0", "-1"), list(v), True)

    def step(self):
        self.n += 1
        v = "v%d" % self.n
        k = self.rnd.choice(self.keys)
        op = self.rnd.choice(["set", "incr", "rpush", "blmove", "blpop", "eval", "multi",
                              "del", "mset", "multiread", "watch", "evalsha", "select"])
        if op == "set":
            self.send(("SET", k, v))
            self.strings[k] = v
            self.read_string(k)
        elif op == "incr":
            cur = self.strings.get(k)
            if cur is not None and not cur.isdigit():
                self.send(("SET", k, "0"))
                cur = "0"
            self.send(("INCR", k))
            self.strings[k] = str(int(cur or 0) + 1)
            self.read_string(k)
        elif op == "rpush":
            src = self.rnd.choice(list(self.lists))
            self.send(("RPUSH", src, v))
            self.lists[src].append(v)
            self.read_lists()
        elif op in ("blmove", "blpop"):
            src = self.rnd.choice(list(self.lists))
            if not self.lists[src]:
                self.send(("RPUSH", src, v))
                self.lists[src].append(v)
            if op == "blmove":
                dst = [x for x in self.lists if x != src][0]
                self.send(("BLMOVE", src, dst, "LEFT", "RIGHT", "0"))
                self.lists[dst].append(self.lists[src].pop(0))
            else:
                self.send(("BLPOP", src, "0"))
                self.lists[src].pop(0)
            self.read_lists()
        elif op == "eval":
            self.send(("EVAL", SET_SCRIPT, "1", k, v))
            self.strings[k] = v
            self.read_string(k)
        elif op == "multi":
            # One group: the string shares the lists' hash tag.
            self.send(("MULTI",))
            self.send(("SET", "{l}s", v))
            self.send(("RPUSH", "{l}a", v))
            self.send(("EXEC",))
            self.strings["{l}s"] = v
            self.lists["{l}a"].append(v)
            self.read_string("{l}s")
            self.read_lists()
        elif op == "watch":
            # A transaction pinned from its WATCH (its own connection).
            self.send(("WATCH", "{l}s"))
            self.send(("MULTI",))
            self.send(("SET", "{l}s", v))
            self.send(("RPUSH", "{l}a", v))
            self.strings["{l}s"] = v
            self.lists["{l}a"].append(v)
            self.send(("EXEC",), ["OK", len(self.lists["{l}a"])], True)
            self.read_string("{l}s")
            self.read_lists()
        elif op == "evalsha":
            self.send(("EVALSHA", SET_SHA, "1", k, v))
            self.strings[k] = v
            self.read_string(k)
        elif op == "select":
            # Another database: its own keys, written and read there.
            self.send(("SELECT", "3"))
            self.send(("SET", "db3:" + k, v))
            self.send(("GET", "db3:" + k), v, True)
            self.send(("SELECT", "0"))
            self.read_string(k)
        elif op == "multiread":
            # A transaction of reads: it runs after the writes before it.
            self.send(("MULTI",))
            self.send(("GET", "{l}s"))
            self.send(("LRANGE", "{l}a", "0", "-1"))
            self.send(("EXEC",), [self.strings.get("{l}s"), list(self.lists["{l}a"])], True)
        elif op == "del":
            self.send(("DEL", k))
            self.strings.pop(k, None)
            self.read_string(k)
        elif op == "mset":
            # Keys in several groups when sharded: the proxy splits it.
            ks = self.rnd.sample(self.keys, 3)
            args = []
            for i, x in enumerate(ks):
                args += [x, "%s.%d" % (v, i)]
                self.strings[x] = "%s.%d" % (v, i)
            self.send(("MSET",) + tuple(args))
            for x in ks:
                self.read_string(x)


def decoded(rep):
    if isinstance(rep, bytes):
        return rep.decode()
    if isinstance(rep, list):
        return [decoded(x) for x in rep]
    return rep


def run_pipelines(pc_port, rnd, keys, rounds=30, per=25):
    model = Model(rnd, keys)
    stale = []
    w = Raw(pc_port)
    check(w.call("SCRIPT", "LOAD", SET_SCRIPT) == SET_SHA.encode(), "SCRIPT LOAD")
    for _ in range(rounds):
        # Probes every 10 ms: after a pause the replicas hold the session's
        # last write, and its next reads go to them.
        time.sleep(0.03)
        model.cmds = []
        # Reads first: they may go to replicas (and the writes behind them
        # must not overtake them there).
        for k in keys:
            model.read_string(k)
        model.read_lists()
        for _ in range(per):
            model.step()
        w.send(*[c for c, _, _ in model.cmds])
        for cmd, want, check_it in model.cmds:
            got = decoded(w.reply())
            check(not isinstance(got, Err), "%r answered %r" % (cmd, got))
            if check_it and got != want:
                stale.append((cmd, got, want))
    w.close()
    check(not stale, "%d reads did not see the session's own write, e.g. %r"
          % (len(stale), stale[:4]))


def replica_reads(reps):
    """GETs and LRANGEs the replicas ran."""
    n = 0
    for r in reps:
        st = info(client(r), "commandstats")
        for k in ("cmdstat_get", "cmdstat_lrange"):
            if k in st:
                n += int(st[k].split("calls=")[1].split(",")[0])
    return n


def checked(p, reps, seed, keys):
    run_pipelines(p.port, random.Random(seed), keys)
    # The replicas served some of the reads: the checks covered them.
    n = replica_reads(reps)
    check(n > 50, "only %d reads went to the replicas" % n)


def one_group(c, *args):
    m, reps = c.group()
    return c.proxy(m.addr, "--probe-interval-ms", "10", *args), reps


def case_a_plain(c):
    checked(*one_group(c), 1, ["s%d" % i for i in range(6)])


def case_b_write_ack_one(c):
    checked(*one_group(c, "--write-ack", "1", "--write-ack-timeout-ms", "2000"), 2,
            ["s%d" % i for i in range(6)])


def case_c_write_ack_all(c):
    checked(*one_group(c, "--write-ack", "all", "--write-ack-timeout-ms", "2000"), 3,
            ["s%d" % i for i in range(6)])


def two_groups(c, *args, probe_ms=10):
    ms = []
    for _ in range(2):
        m = c.node()
        r = c.node("--replicaof", "%s %d" % (LOCAL, m.port))
        tp.wait_synced(m, r)
        ms.append((m, r))
    p = c.proxy(None, "--group", "a 0-8191 %s" % ms[0][0].addr,
                "--group", "b 8192-16383 %s" % ms[1][0].addr,
                "--probe-interval-ms", str(probe_ms), *args, ready=4)
    return p, [r for _, r in ms]


def sharded_keys():
    # Keys in both groups; the lists share a hash tag ({l}: one group).
    return ["s%d" % i for i in range(8)]


def case_d_sharded(c):
    checked(*two_groups(c), 4, sharded_keys())


def case_e_sharded_write_ack(c):
    checked(*two_groups(c, "--write-ack", "1", "--write-ack-timeout-ms", "2000"), 5,
            sharded_keys())


def publish_after_writes(p, where, rounds=300, stopped=None):
    """A client pipelines SET n:<key> i then PUBLISH i; whoever hears
    message i reads the key where(key) says: it must hold i or later.
    stopped(key, i): a node to hold (SIGSTOP) for 50 ms while round i is
    sent."""
    sub = Raw(p.port)
    sub.send(("SUBSCRIBE", "ryw-ch"))
    sub.reply()
    pub = Raw(p.port)
    late = []
    keys = ["n:%d" % i for i in range(4)]
    direct = {k: client(where(k)) for k in keys}
    for i in range(1, rounds + 1):
        k = keys[i % len(keys)]
        node = stopped(k, i) if stopped else None
        if node is not None:
            os.kill(node.proc.pid, signal.SIGSTOP)
        pub.send(("SET", k, str(i)), ("PUBLISH", "ryw-ch", "%s %d" % (k, i)))
        if node is not None:
            # The SET cannot run while its node is stopped: the message
            # must not come meanwhile.
            early = select.select([sub.sock], [], [], 0.05)[0]
            os.kill(node.proc.pid, signal.SIGCONT)
            if early:
                late.append((k, str(i), "heard while the SET's node was stopped"))
        msg = sub.reply()
        key, n = msg[2].decode().split()
        have = direct[key].get(key)
        if have is None or int(have) < int(n):
            late.append((key, n, have))
        got = (pub.reply(), pub.reply())
        check(got == ("OK", 1), "SET and PUBLISH answered %r" % (got,))
    check(not late, "%d messages arrived before the write sent ahead of them, e.g. %r"
          % (len(late), late[:4]))


def case_f_publish_after_write_ack(c):
    # Under write-ack all the PUBLISH follows the write's WAIT: whoever
    # hears it finds the write on every replica.
    m, reps = c.group()
    p = c.proxy(m.addr, "--write-ack", "all", "--write-ack-timeout-ms", "2000")
    publish_after_writes(p, lambda k: reps[0])


def case_g_publish_after_writes_in_another_group(c):
    # The PUBLISH goes to the first group's master; a SET to the other
    # group, whose master is stopped now and then, runs before it.
    # (Probes every 100 ms: a master stopped for 50 ms is not taken for
    # down.)
    p, _ = two_groups(c, probe_ms=100)
    pc = client(p)
    masters = [n for n in c.nodes if info(client(n), "replication")["role"] == "master"]
    owner = {}
    for i in range(4):
        k = "n:%d" % i
        pc.set(k, "0")
        owner[k] = [n for n in masters if client(n).get(k) == "0"][0]
    publish_after_writes(p, lambda k: owner[k], rounds=100,
                         stopped=lambda k, i: owner[k] if i % 10 == 0 else None)


CASES = [
    ("a", "read-your-writes after every write path (write-ack master)", case_a_plain),
    ("b", "read-your-writes after every write path (write-ack 1)", case_b_write_ack_one),
    ("c", "read-your-writes after every write path (write-ack all)", case_c_write_ack_all),
    ("d", "read-your-writes with two groups, split MSET (write-ack master)", case_d_sharded),
    ("e", "read-your-writes with two groups, split MSET (write-ack 1)",
     case_e_sharded_write_ack),
    ("f", "write-ack: a PUBLISH behind a write reaches subscribers after the write ran",
     case_f_publish_after_write_ack),
    ("g", "two groups: a PUBLISH behind a write in another group follows it",
     case_g_publish_after_writes_in_another_group),
]


def main():
    return cluster.run_cases(CASES, "proxy_ryw_", "CACHELY_PROXY_RYW_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
