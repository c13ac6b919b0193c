"""cachely-proxy regressions for the defects of issue 9, each case named after
its bug: real cachely-server nodes, a real cachely-proxy (started with its
DEFAULT options unless the case is about an option) and, where the exact
bytes matter, a real redis-server 7.0 to compare with.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_PROXY_DEFECT_CASES=crlf,...
runs only those cases.
"""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import Err, Raw, check, client, info, wait_for  # noqa: E402,F401

import redis  # noqa: E402

# Under AddressSanitizer freed memory sits in a quarantine (256 MB by
# default), which the RSS bounds below would count: keep it small for the
# processes this suite starts.
os.environ["ASAN_OPTIONS"] = ":".join(
    x for x in (os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16") if x)


def exact_replies(port, data, n):
    """Send data on a fresh connection; the bytes of its first n replies."""
    w = Raw(port)
    w.sendraw(data)
    out = []
    for _ in range(n):
        taken = []
        orig_line, orig_exact = w.line, w.exact

        def line():
            x = orig_line()
            taken.append(x + b"\r\n")
            return x

        def exact(k):
            x = orig_exact(k)
            taken.append(x)
            return x
        w.line, w.exact = line, exact
        w.reply()
        w.line, w.exact = orig_line, orig_exact
        out.append(b"".join(taken))
    w.close()
    return out


def same_bytes_as_redis(port, commands, n, what):
    """Send commands (argument tuples) pipelined to port and to a fresh
    redis-server: the first n replies must be the same bytes.  Returns
    port's."""
    r = servers.Server("redis")
    try:
        data = b"".join(cluster.resp(*a) for a in commands)
        want = exact_replies(r.port, data, n)
        got = exact_replies(port, data, n)
    finally:
        r.stop()
    check(got == want, "%s: proxy %r, redis-server %r" % (what, got, want))
    return got


# ---- 1: CR/LF inside an argument desynchronises the reply stream ---------------

CRLF_SCRIPTS = [
    # unknown command whose argument holds CRLF, then PING
    (b"*2\r\n$9\r\nNOSUCHCMD\r\n$4\r\na\r\nb\r\n*1\r\n$4\r\nPING\r\n", 2),
    # a bare CR and a bare LF, in the name and in an argument
    (b"*3\r\n$4\r\nNO\rX\r\n$3\r\nx\ny\r\n$1\r\nz\r\n*1\r\n$4\r\nPING\r\n", 2),
    # HELLO with an unknown option that holds CRLF
    (b"*3\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$5\r\nfo\r\no\r\n*1\r\n$4\r\nPING\r\n", 2),
]


def case_crlf_in_argument_desyncs_replies(c):
    """Every error the proxy builds from client text stays one line: the
    PING after it gets its own +PONG, and the bytes are redis-server's."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    r = servers.Server("redis")
    try:
        for data, k in CRLF_SCRIPTS:
            want = exact_replies(r.port, data, k)
            got = exact_replies(p.port, data, k)
            check(got == want, "script %r: proxy %r, redis-server %r" % (data, got, want))
    finally:
        r.stop()
    # Errors of the proxy's own (no Redis equivalent) with client text.
    for args, prefix in [((b"SENTINEL", b"a\r\nb"), b"-ERR unknown subcommand 'a  b'"),
                         ((b"SENTINEL", b"reset\n"), b"-ERR unknown subcommand 'reset '"),
                         ((b"CLIENT", b"x\r\ny"), b"-ERR unknown subcommand 'x  y'")]:
        data = cluster.resp(*args) + cluster.resp("PING")
        got = exact_replies(p.port, data, 2)
        check(got[0].startswith(prefix) and got[0].count(b"\r\n") == 1
              and got[1] == b"+PONG\r\n", "%r -> %r" % (args, got))
    # python3-redis keeps working on the same connection.
    pc = client(p)
    try:
        pc.execute_command("NOSUCHCMD", "a\r\nb")
        check(False, "unknown command accepted")
    except redis.ResponseError:
        pass
    check(pc.ping() is True and pc.set("k", "v") and pc.get("k") == "v",
          "connection out of step after the error")


# ---- CLIENT REPLY ON/OFF/SKIP through the proxy --------------------------------

CLIENT_REPLY_SCRIPT = [
    ("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"), ("NOSUCH",),
    ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"),
    ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("GET", "a"), ("CLIENT", "REPLY", "foo"),
    ("CLIENT", "REPLY", "OFF"), ("MGET", "a", "b"), ("INCR", "n"), ("EVAL", "return 1", "0"),
    ("CLIENT", "REPLY", "ON"), ("GET", "n"),
    ("CLIENT", "REPLY", "SKIP"), ("PING",), ("RESET",), ("PING",),
]


def case_client_reply(c):
    """CLIENT REPLY through the proxy: the bytes of redis-server, pipelined;
    a subscriber with replies OFF still gets its messages."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    got = same_bytes_as_redis(p.port, CLIENT_REPLY_SCRIPT, 7, "CLIENT REPLY")
    check(got[-1] == b"+PONG\r\n", "the last reply is the PING's: %r" % got)
    # Pub/sub confirmations and messages are pushes: CLIENT REPLY OFF does
    # not silence them (redis-server sends them too).
    sub = Raw(p.port)
    sub.send(("CLIENT", "REPLY", "OFF"))
    sub.send(("SUBSCRIBE", "ch"))
    check(sub.reply() == [b"subscribe", b"ch", 1], "the SUBSCRIBE confirmation")
    pc = client(p)
    check(pc.publish("ch", "hi") == 1, "one subscriber")
    check(sub.reply() == [b"message", b"ch", b"hi"], "the message")
    sub.send(("UNSUBSCRIBE",))
    check(sub.reply() == [b"unsubscribe", b"ch", 0], "the UNSUBSCRIBE confirmation")
    # Once it is confirmed the node no longer counts the proxy's
    # subscription: PUBLISH says nobody heard it, as a node would.
    check(pc.publish("ch", "again") == 0, "PUBLISH after UNSUBSCRIBE counts nobody")


def case_object_and_memory_usage_route_by_key(c):
    """OBJECT's subcommands and MEMORY USAGE read one key: through the proxy
    they reach the key's node (redis-server's bytes where they are
    deterministic); MEMORY STATS describes one node and stays refused."""
    nodes = [c.node() for _ in range(3)]
    p = c.proxy(*[n.addr for n in nodes], ready=1)
    script = [("SET", "k:int", "12"), ("SET", "k:str", "hello"), ("RPUSH", "k:list", "a"),
              ("OBJECT", "ENCODING", "k:int"), ("OBJECT", "ENCODING", "k:str"),
              ("OBJECT", "ENCODING", "k:list"), ("OBJECT", "ENCODING", "nosuch"),
              ("OBJECT", "REFCOUNT", "nosuch"), ("OBJECT", "FREQ", "k:int"),
              ("OBJECT", "ENCODING"), ("OBJECT", "NOSUCH", "x"), ("MEMORY", "USAGE", "nosuch"),
              ("MEMORY", "USAGE"), ("PING",)]
    same_bytes_as_redis(p.port, script, len(script), "OBJECT / MEMORY USAGE")
    w = Raw(p.port)
    for k in ("k:int", "k:list"):
        check(w.call("OBJECT", "IDLETIME", k) >= 0, "IDLETIME " + k)
        check(w.call("MEMORY", "USAGE", k) > 0, "MEMORY USAGE " + k)
    check(len(w.call("OBJECT", "HELP")) > 4, "OBJECT HELP")
    rep = w.call("MEMORY", "STATS")
    check(isinstance(rep, Err) and "not supported through cachely-proxy" in rep,
          "MEMORY STATS: %r" % (rep,))


def case_deeply_nested_reply(c):
    """A reply nested deeper than the proxy's old scanner allowed (32): a
    Lua table that holds itself comes back nested to the script engine's
    stack limit.  The proxy passes the node's bytes, and the pooled
    connection it came on (other sessions' requests ride it) stays up."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    data = cluster.resp("EVAL", "local a = {}; local b = {a}; a[1] = b; return a", "0")
    want = exact_replies(n.port, data, 1)
    got = exact_replies(p.port, data, 1)
    check(want[0].count(b"*1\r\n") > 32, "the node nests it deeper than 32: %d"
          % want[0].count(b"*1\r\n"))
    check(got == want, "proxy %r..., node %r..." % (got[0][-60:], want[0][-60:]))
    pc = client(p)
    check(pc.set("after", "1") and pc.get("after") == "1", "the proxy serves on")
    with open(p.log) as fh:
        log = fh.read()
    check("protocol error" not in log, "no backend connection lost to a protocol error")


# ---- 2: out of the box a client does not read its own writes -------------------


def case_default_proxy_reads_own_writes(c):
    """A proxy with default options in front of a master and two replicas:
    2,000 pipelined SET/GET pairs (each GET right behind its SET) all read
    the value just written."""
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    check(tp.topology(pc)[0]["read_policy"] == "session", "default read-policy is not session")
    pipe = pc.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("ryw:%d" % i, "v%d" % i)
        pipe.get("ryw:%d" % i)
    got = pipe.execute()
    misses = [i for i in range(2000) if got[2 * i + 1] != "v%d" % i]
    check(not misses, "%d of 2000 GETs missed their SET; first ryw:%d -> %r"
          % (len(misses), misses[0], got[2 * misses[0] + 1]) if misses else "")


def case_earlier_probe_does_not_reopen_replica_reads(c):
    """The proxy probes the master's offset (ROLE) behind each write and lets
    the session read from a replica that has reached it.  Two slow writes
    (scripts of 0.3 s and 1.5 s), the second sent while the first runs: the
    first one's probe is answered while the second still runs, and a read
    sent then must wait for the master, not go to a replica that has the
    first write but not the second."""
    m, reps = c.group()
    p = c.proxy(m.addr, "--failover", "no")
    r = Raw(p.port, timeout=30)
    slow = ("local t = redis.call('TIME') local stop_at = t[1] * 1000000 + t[2] + ARGV[1] "
            "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop_at "
            "return redis.call('SET', KEYS[1], ARGV[2])")
    r.send(("EVAL", slow, "1", "k1", "300000", "v1"))
    time.sleep(0.1)
    r.send(("EVAL", slow, "1", "k2", "1500000", "v2"))
    time.sleep(0.9)
    r.send(("GET", "k2"))
    got = [r.reply() for _ in range(3)]
    check(got[:2] == ["OK", "OK"], "the slow writes: %r" % (got,))
    check(got[2] == b"v2", "GET behind the running write read %r (a replica without it)"
          % (got[2],))

# ---- 3: SCAN through the proxy loses and repeats keys --------------------------

NODE_OF_CURSOR = 44          # cursor.c: bits 44-52 hold the node index + 1


def cli_scan(p, *extra):
    out = subprocess.run(["redis-cli", "-p", str(p.port), "--scan"] + list(extra),
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, "redis-cli --scan: %r" % out.stderr)
    return out.stdout.split()


def scan_everything(c, pc, p, n):
    """n keys written through the proxy: redis-cli --scan and scan_iter
    (with COUNT) return each exactly once; MATCH and TYPE pass through."""
    pipe = pc.pipeline(transaction=False)
    for i in range(n):
        pipe.set("scan:%d" % i, i)
    pipe.execute()
    want = {"scan:%d" % i for i in range(n)}
    keys = cli_scan(p)
    check(len(keys) == n and set(keys) == want,
          "redis-cli --scan: %d keys, %d distinct, %d missing"
          % (len(keys), len(set(keys)), len(want - set(keys))))
    for count in (None, 7, 1000):
        got = list(pc.scan_iter(count=count) if count else pc.scan_iter())
        check(len(got) == n and set(got) == want,
              "scan_iter(count=%r): %d keys, %d distinct" % (count, len(got), len(set(got))))
    got = list(pc.scan_iter(match="scan:1*", count=50))
    check(sorted(got) == sorted(k for k in want if k.startswith("scan:1")), "MATCH")
    check(sorted(cli_scan(p, "--pattern", "scan:2?")) == sorted("scan:2%d" % i
                                                                for i in range(10)),
          "redis-cli --pattern")
    check(len(list(pc.scan_iter(_type="string", count=100))) == n, "TYPE string")
    check(list(pc.scan_iter(_type="hash")) == [], "TYPE hash")
    try:
        pc.execute_command("SCAN", "abc")
        check(False, "SCAN abc accepted")
    except redis.ResponseError as e:
        check(str(e) == "invalid cursor", str(e))


def case_scan_loses_and_repeats_keys(c):
    """One group (a master and two caught-up replicas, default proxy), then
    three groups: a full SCAN through the proxy returns every key once."""
    m, reps = c.group()
    p = c.proxy(m.addr)
    pc = client(p)
    scan_everything(c, pc, p, 3000)
    tp.wait_synced(m, *reps)
    # A client that never wrote reads from the replicas: the iteration of a
    # fresh connection must stay on the one replica it started on.
    fresh = client(p)
    cur, seen = 0, []
    while True:
        cur, keys = fresh.scan(cur, count=100)
        seen += keys
        if cur == 0:
            break
    check(len(seen) == 3000 and len(set(seen)) == 3000, "fresh client: %d keys" % len(seen))
    g = [c.node() for _ in range(3)]
    p3 = c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                 "--group", "b 5461-10922 %s" % g[1].addr,
                 "--group", "c 10923-16383 %s" % g[2].addr, ready=3)
    pc3 = client(p3)
    scan_everything(c, pc3, p3, 3000)
    per = [client(x).dbsize() for x in g]
    check(all(x > 500 for x in per) and sum(per) == 3000, "keys per group %r" % per)


def case_scan_node_fails_midway(c):
    """The replica an iteration runs on is killed mid-way: the next call
    fails with an error (no other node's keys); restarted, its old cursors
    are still refused; a new iteration from 0 works."""
    m, reps = c.group()
    prewrite = m, reps
    mc = client(m)
    pipe = mc.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("f:%d" % i, i)
    pipe.execute()
    tp.wait_synced(m, *reps)
    p = c.proxy(m.addr)
    pc = client(p)
    cur, _ = pc.scan(0, count=50)
    check(cur != 0, "one page held every key")
    idx = cur >> NODE_OF_CURSOR
    nodes = [m] + reps
    _, topo = tp.topology(pc)
    # node index within the group follows the proxy's INFO node order
    order = [v["addr"] for k, v in sorted(
        ((k, cluster.fields(v)) for k, v in info(pc).items()
         if k.startswith("node") and k[4:].isdigit()), key=lambda kv: int(kv[0][4:]))]
    victim = [x for x in nodes if x.addr == order[idx - 1]][0]
    check(victim is not m, "a fresh client's SCAN went to the master")
    victim.kill()
    try:
        pc.scan(cur, count=50)
        check(False, "SCAN went on after its node died")
    except redis.ResponseError as e:
        check("cachely-proxy" in str(e), "error %r" % e)
    victim.start()
    wait_for(lambda: tp.topology(pc)[1][victim.addr]["up"] == "1", 10, "victim back up")
    try:
        pc.scan(cur, count=50)
        check(False, "a cursor from before the restart was accepted")
    except redis.ResponseError as e:
        check("start again from cursor 0" in str(e), "error %r" % e)
    tp.wait_synced(m, *reps)
    check(len(set(pc.scan_iter(count=100))) == 2000, "a new iteration")


# ---- 4: CLIENT LIST / CLIENT INFO / CLIENT KILL are refused --------------------

CLIENT_ERRORS = [
    ("CLIENT", "KILL", "1.2.3.4:5"),
    ("CLIENT", "KILL", "ID", "0"),
    ("CLIENT", "KILL", "ID", "abc"),
    ("CLIENT", "KILL", "foo", "bar"),
    ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "maybe"),
    ("CLIENT", "KILL", "USER", "nobody"),
    ("CLIENT", "KILL", "TYPE", "foo"),
    ("CLIENT", "KILL", "ID", "12345"),
    ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "ID"),
    ("CLIENT", "KILL"),
    ("CLIENT", "LIST", "TYPE", "foo"),
    ("CLIENT", "LIST", "ID", "1", "abc"),
    ("CLIENT", "LIST", "ID", "99999"),
    ("CLIENT", "LIST", "foo"),
    ("CLIENT", "INFO", "x"),
    ("CLIENT", "NOSUCH"),
]


def line_fields(line):
    return dict(kv.split("=", 1) for kv in line.split(" "))


def case_client_list_info_kill_refused(c):
    """CLIENT LIST / INFO / KILL answer for the proxy's own sessions, in
    Redis's format (the field names of redis-server 7.0, plus 7.2's lib-name
    and lib-ver) and with Redis's errors byte for byte."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    r = servers.Server("redis")
    try:
        script = b"".join(cluster.resp(*a) for a in CLIENT_ERRORS)
        want = exact_replies(r.port, script, len(CLIENT_ERRORS))
        got = exact_replies(p.port, script, len(CLIENT_ERRORS))
        for a, w, g in zip(CLIENT_ERRORS, want, got):
            check(w == g, "%r: proxy %r, redis-server %r" % (a, g, w))
        rline = Raw(r.port).call("CLIENT", "INFO").decode().strip()
    finally:
        r.stop()
    rnames = [kv.split("=", 1)[0] for kv in rline.split(" ")]
    # A job-queue worker: SETNAME then LIST (python3-redis parses it).
    w = client(p)
    check(w.client_setname("worker-1"), "CLIENT SETNAME")
    w.execute_command("CLIENT", "SETINFO", "LIB-NAME", "mylib")
    lst = w.client_list()
    me = [x for x in lst if x["name"] == "worker-1"]
    check(len(me) == 1, "CLIENT LIST: %r" % lst)
    me = me[0]
    check(me["id"] == str(w.client_id()) and me["laddr"] == "127.0.0.1:%d" % p.port
          and me["db"] == "0" and me["cmd"] == "client|list" and me["flags"] == "N"
          and me["user"] == "default" and me["resp"] == "2" and me["lib-name"] == "mylib",
          "CLIENT LIST line %r" % me)
    raw = Raw(p.port)
    info_line = raw.call("CLIENT", "INFO").decode().strip()
    names = [kv.split("=", 1)[0] for kv in info_line.split(" ")]
    check(names == rnames + ["lib-name", "lib-ver"], "fields %r, redis %r" % (names, rnames))
    f = line_fields(info_line)
    sock_addr = "%s:%d" % raw.sock.getsockname()
    check(f["addr"] == sock_addr and f["cmd"] == "client|info" and f["name"] == "",
          "CLIENT INFO %r (socket %s)" % (f, sock_addr))
    check(raw.call("CLIENT", "LIST", "ID", f["id"], w.client_id()).count(b"\n") == 2,
          "CLIENT LIST ID")
    sub = Raw(p.port)
    sub.call("SUBSCRIBE", "ch")
    ps = raw.call("CLIENT", "LIST", "TYPE", "pubsub").decode().strip().split("\n")
    check(len(ps) == 1 and line_fields(ps[0])["flags"] == "P"
          and line_fields(ps[0])["sub"] == "1", "TYPE pubsub: %r" % ps)
    check(raw.call("CLIENT", "KILL", "TYPE", "pubsub") == 1 and sub.at_eof(), "KILL TYPE pubsub")
    # KILL by ID, by ADDR, old-style ip:port, SKIPME, USER default.
    victims = [Raw(p.port) for _ in range(4)]
    ids = [v.call("CLIENT", "ID") for v in victims]
    addrs = ["%s:%d" % v.sock.getsockname() for v in victims]
    check(raw.call("CLIENT", "KILL", "ID", ids[0]) == 1, "KILL ID")
    check(raw.call("CLIENT", "KILL", "ADDR", addrs[1], "USER", "default") == 1, "KILL ADDR")
    check(raw.call("CLIENT", "KILL", addrs[2]) == "OK", "KILL ip:port")
    check(raw.call("CLIENT", "KILL", "ID", f["id"], "SKIPME", "yes") == 0, "SKIPME yes")
    for v in victims[:3]:
        check(v.at_eof(), "killed client still connected")
    check(victims[3].call("PING") == "PONG", "bystander killed")
    check(raw.call("CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % p.port, "SKIPME", "yes") >= 2,
          "KILL LADDR")
    check(victims[3].at_eof(), "KILL LADDR left a client")
    # HELLO SETNAME follows CLIENT SETNAME's rule (a name is one field).
    h = Raw(p.port)
    check(h.call("HELLO", "2", "SETNAME", "a b\r\nid=1") ==
          "ERR Client names cannot contain spaces, newlines or special characters.",
          "HELLO SETNAME with a space")
    check(b"name=a " not in raw.call("CLIENT", "LIST"), "a name with a space listed")
    check(raw.call("CLIENT", "KILL", "ID", f["id"], "SKIPME", "no") == 1, "KILL myself")
    check(raw.at_eof(), "KILL of myself did not close after the reply")


# ---- 5: INFO ignores its section argument and has no keyspace or memory --------


def sections(text):
    if isinstance(text, bytes):
        text = text.decode()
    return [ln[2:] for ln in text.split("\r\n") if ln.startswith("# ")]


def case_info_ignores_sections(c):
    """INFO [section ...] as Redis selects them; # Keyspace sums the groups'
    masters (3 groups), # Memory has the proxy's own used_memory and the
    masters' sums; exporters' parsers (python3-redis's INFO) read them."""
    g = [c.node() for _ in range(3)]
    p = c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                "--group", "b 5461-10922 %s" % g[1].addr,
                "--group", "c 10923-16383 %s" % g[2].addr, ready=3)
    # python3-redis's own INFO parser, as exporters use it
    pc = redis.Redis(host=cluster.LOCAL, port=p.port, decode_responses=True, socket_timeout=20)
    pipe = pc.pipeline(transaction=False)
    for i in range(300):
        if i % 3 == 0:
            pipe.set("ks:%d" % i, i, ex=1000)
        else:
            pipe.set("ks:%d" % i, i)
    pipe.execute()
    raw = Raw(p.port)
    check(sections(raw.call("INFO", "keyspace")) == ["Keyspace"], "INFO keyspace")
    check(sections(raw.call("INFO", "keyspace", "SERVER", "clients"))
          == ["Server", "Clients", "Keyspace"], "INFO keyspace server clients: Redis's order")
    check(raw.call("INFO", "nosuchsection") == b"", "INFO of an unknown section")
    default = sections(raw.call("INFO"))
    for name in ("Server", "Clients", "Memory", "Stats", "Replication", "CPU", "Keyspace",
                 "Sentinel", "Topology"):
        check(name in default, "INFO lacks # %s: %r" % (name, default))
    # The proxy's own CPU, with Redis's field names (exporters read them).
    cpu = pc.info("cpu")
    check(sorted(cpu) == sorted("used_cpu_%s%s" % (k, t) for k in ("sys", "user")
                                for t in ("", "_children", "_main_thread"))
          and cpu["used_cpu_user"] >= 0, "INFO cpu %r" % cpu)
    for arg in ("default", "all", "everything"):
        check(sections(raw.call("INFO", arg)) == default, "INFO %s" % arg)
    ks = pc.info("keyspace")
    check(ks.get("db0", {}).get("keys") == 300 and ks["db0"]["expires"] == 100
          and 900000 <= ks["db0"]["avg_ttl"] <= 1000000, "keyspace %r" % ks)
    check(sum(client(x).dbsize() for x in g) == 300, "nodes' key count")
    mem = pc.info("memory")
    node_used = sum(int(info(client(x), "memory")["used_memory"]) for x in g)
    pid = int(pc.info("server")["process_id"])
    check(pid == p.proc.pid, "process_id")
    with open("/proc/%d/statm" % pid) as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    check(mem["nodes_reporting"] == 3 and mem["nodes_asked"] == 3, "nodes_reporting %r" % mem)
    check(0 < mem["used_memory"] <= mem["used_memory_rss"]
          and abs(mem["used_memory_rss"] - rss) < 8 << 20, "proxy memory %r (rss %d)" % (mem, rss))
    check(abs(mem["nodes_used_memory"] - node_used) < 1 << 20,
          "nodes_used_memory %d, nodes say %d" % (mem["nodes_used_memory"], node_used))
    # RESP3: a verbatim string.
    r3 = Raw(p.port)
    r3.call("HELLO", "3")
    r3.send(("INFO", "keyspace"))
    check(r3.line().startswith(b"="), "RESP3 INFO is not verbatim")
    # A group whose master is gone: the others still answer.
    g[2].kill()
    wait_for(lambda: tp.topology(client(p))[1][g[2].addr]["up"] == "0", 10, "group c down")
    mem = pc.info("memory")
    check(mem["nodes_reporting"] == 2 and pc.info("keyspace")["db0"]["keys"]
          == sum(client(x).dbsize() for x in g[:2]), "with a master down: %r" % mem)


# ---- 6: SELECT is refused --------------------------------------------------------

SELECT_ERRORS = [("SELECT", "abc"), ("SELECT", "16"), ("SELECT", "-1"),
                 ("SELECT", "99999999999999999999"), ("SELECT", "1", "2"), ("SELECT", "15")]


def case_select_refused(c):
    """SELECT n per session: sessions on different databases share pooled
    backend connections without seeing each other's keys; pipelines that
    switch databases stay correct; replicas, write-ack private connections,
    fan-out over groups and SCAN all work in the session's database."""
    m, reps = c.group()
    p = c.proxy(m.addr)
    same_bytes_as_redis(p.port, SELECT_ERRORS, len(SELECT_ERRORS), "SELECT errors")
    # Six sessions, one per database, over pool-size 2: each sees its own.
    sess = [client(p, db=d) for d in range(6)]
    for d, sc in enumerate(sess):
        sc.set("shared", "db%d" % d)
    for rnd in range(3):
        for d, sc in enumerate(sess):
            check(sc.get("shared") == "db%d" % d, "db %d read %r" % (d, sc.get("shared")))
    mc = client(m)
    for d in range(6):
        check(client(m, db=d).get("shared") == "db%d" % d, "node db %d" % d)
    # Pipelines that switch databases, interleaved with another session's.
    a, b = Raw(p.port), Raw(p.port)
    cmds_a, want_a = [], []
    cmds_b, want_b = [], []
    for i in range(500):
        db = i % 4
        cmds_a += [("SELECT", db), ("SET", "mix:%d" % i, "a%d" % db), ("GET", "mix:%d" % i),
                   ("SELECT", (db + 1) % 4), ("GET", "mix:%d" % i)]
        want_a += ["OK", "OK", b"a%d" % db, "OK", None]
        # b runs concurrently with a: it reads only what was written before.
        cmds_b += [("SELECT", 9), ("INCR", "counter"), ("SELECT", db), ("GET", "shared")]
        want_b += ["OK", i + 1, "OK", b"db%d" % db]
    a.send(*cmds_a)
    b.send(*cmds_b)
    got_a = [a.reply() for _ in cmds_a]
    got_b = [b.reply() for _ in cmds_b]
    bad = [k for k in range(len(cmds_a)) if got_a[k] != want_a[k]]
    check(not bad, "pipeline a: %d wrong, first %r -> %r" % (
        len(bad), cmds_a[bad[0]], got_a[bad[0]]) if bad else "")
    bad = [k for k in range(len(cmds_b)) if got_b[k] != want_b[k]]
    check(not bad, "pipeline b: %d wrong, first %r -> %r want %r" % (
        len(bad), cmds_b[bad[0]], got_b[bad[0]], want_b[bad[0]]) if bad else "")
    check(client(m, db=9).get("counter") == "500", "INCRs in db 9")
    # A fresh session reads from a replica, in its database.
    tp.wait_synced(m, *reps)
    rc = client(p, db=3)
    g0 = sum(tp.cmdstat(client(x), "get") for x in reps)
    check(all(rc.get("shared") == "db3" for _ in range(20)), "replica read in db 3")
    check(sum(tp.cmdstat(client(x), "get") for x in reps) - g0 == 20, "reads not on replicas")
    # SCAN and INFO keyspace per database.
    check(sorted(client(p, db=9).scan_iter()) == ["counter"], "SCAN in db 9")
    ks = info(client(p), "keyspace")
    check(ks.get("db9", "").startswith("keys=1,") and "db5" in ks, "INFO keyspace %r" % ks)
    # RESET goes back to database 0.
    rr = Raw(p.port)
    rr.call("SELECT", "4")
    rr.call("RESET")
    check(rr.call("GET", "shared") == b"db0", "RESET left the database")
    # write-ack: the session's private connection to the master.
    p2 = c.proxy(m.addr, "--write-ack", "all")
    w = client(p2, db=11)
    check(w.set("acked", "yes") and client(m, db=11).get("acked") == "yes"
          and mc.get("acked") is None, "write-ack write not in db 11")
    # Three groups: split and spread commands in the session's database.
    g = [c.node() for _ in range(3)]
    p3 = c.proxy(None, "--group", "a 0-5460 %s" % g[0].addr,
                 "--group", "b 5461-10922 %s" % g[1].addr,
                 "--group", "c 10923-16383 %s" % g[2].addr, ready=3)
    f = client(p3, db=2)
    keys = ["foo", "bar", "hello", "somekey"]
    f.mset({k: k.upper() for k in keys})
    check(f.mget(keys) == [k.upper() for k in keys] and f.dbsize() == 4
          and client(p3).dbsize() == 0 and client(p3).mget(keys) == [None] * 4,
          "fan-out in db 2")
    check(sum(client(x, db=2).dbsize() for x in g) == 4, "nodes' db 2")


# ---- 16: the proxy has no input or output limits -------------------------------


def vm(pid, field):
    """VmRSS / VmHWM (peak RSS) of a process, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def push(sock, data, total, deadline=30):
    """Send total bytes (data repeated) until the peer stops reading or
    closes; returns the bytes sent."""
    sock.settimeout(2)
    sent = 0
    end = time.time() + deadline
    try:
        while sent < total and time.time() < end:
            sent += sock.send(data[:min(len(data), total - sent)])
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    return sent


def stats(p):
    return info(client(p), "stats")


def case_unauthenticated_big_bulks(c):
    """With requirepass, a client that has not authenticated may not send
    big bulks or long multibulks (Redis's and the node's limits): a frame of
    3 x 400 MB bulks is refused at its first header and the proxy's peak RSS
    stays small while the client pushes 200 MB."""
    n = c.node()
    p = c.proxy(n.addr, "--requirepass", "pw", ready=0)
    base = vm(p.proc.pid, "VmHWM")
    w = Raw(p.port)
    w.sendraw(b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$419430400\r\n")
    sent = push(w.sock, b"x" * (1 << 20), 200 << 20)
    w.sock.settimeout(10)
    check(w.reply() == "ERR Protocol error: unauthenticated bulk length", "bulk refused")
    check(w.at_eof(), "connection left open")
    peak = vm(p.proc.pid, "VmHWM")
    print("     pushed %d MB before the proxy stopped reading; peak RSS %d -> %d MB"
          % (sent >> 20, base >> 20, peak >> 20))
    check(peak - base < 32 << 20, "peak RSS grew by %d MB" % ((peak - base) >> 20))
    w = Raw(p.port)
    w.sendraw(b"*11\r\n")
    check(w.reply() == "ERR Protocol error: unauthenticated multibulk length", "multibulk")
    # Authenticated, the same client may send a 1 MB value.
    a = client(p, password="pw")
    check(a.set("big", "v" * (1 << 20)) and len(a.get("big")) == 1 << 20, "after AUTH")


def case_query_buffer_and_bulk_limits(c):
    """client-query-buffer-limit closes a client whose unparsed frame grows
    past it; proto-max-bulk-len refuses a bulk header over it."""
    n = c.node()
    p = c.proxy(n.addr, "--client-query-buffer-limit", "2mb", "--proto-max-bulk-len", "4mb",
                ready=1)
    w = Raw(p.port)
    w.sendraw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n")
    push(w.sock, b"x" * 65536, 3 << 20)
    check(w.at_eof(10), "client over client-query-buffer-limit still connected")
    check(stats(p)["client_query_buffer_limit_disconnections"] == "1", "not counted")
    w = Raw(p.port)
    w.sendraw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000000\r\n")
    check(w.reply() == "ERR Protocol error: invalid bulk length", "proto-max-bulk-len")
    check(client(p).set("ok", "x" * 1000000), "a 1 MB value under both limits")


def nonreading(port, frame, count, batch=10):
    """A client that sends up to count frames, batch at a time every 20 ms,
    and never reads (small receive buffer); it stops sending once the proxy
    closes it.  Returns its socket and how many frames it sent.  (Sending
    in batches keeps the node from building every reply at once: the
    replies still pile up in the proxy faster than anyone reads them.)"""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((cluster.LOCAL, port))
    sent = 0
    sock.settimeout(5)
    try:
        while sent < count:
            sock.sendall(frame * min(batch, count - sent))
            sent += min(batch, count - sent)
            time.sleep(0.02)
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    return sock, sent


def closed_by_peer(sock, timeout):
    """True once the peer closed (reading what is buffered meanwhile)."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(1 << 20):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def case_nonreading_client_output_limit(c):
    """A client that never reads 1,000 replies of 1 MB is closed at the
    normal class's hard limit, and the proxy's peak RSS stays bounded; under
    the default (normal 0 0 0, as Redis) it is not closed."""
    n = c.node()
    p = c.proxy(n.addr, "--client-output-buffer-limit", "normal 16mb 8mb 10", ready=1)
    client(p).set("big", "x" * (1 << 20))
    base = vm(p.proc.pid, "VmHWM")
    sock, sent = nonreading(p.port, cluster.resp("GET", "big"), 1000)
    wait_for(lambda: stats(p)["client_output_buffer_limit_disconnections"] == "1", 30,
             "the non-reading client closed")
    print("     the client had sent %d of its 1,000 GETs when the proxy closed it" % sent)
    check(closed_by_peer(sock, 10), "socket still open")
    peak = vm(p.proc.pid, "VmHWM")
    print("     peak RSS %d -> %d MB" % (base >> 20, peak >> 20))
    check(peak - base < 100 << 20, "peak RSS grew by %d MB" % ((peak - base) >> 20))
    # The replies the closed client asked for still drain from the node on
    # the shared backend connection; then the proxy serves as before.
    def serves():
        try:
            return client(p).get("big") is not None
        except redis.ResponseError:
            return False
    wait_for(serves, 30, "the proxy serving again")
    # Defaults: normal 0 0 0 -> no limit for normal clients (40 replies).
    p2 = c.proxy(n.addr, ready=1)
    sock, _ = nonreading(p2.port, cluster.resp("GET", "big"), 40)
    time.sleep(0.5)  # let the replies pile up; nothing may close it
    check(stats(p2)["client_output_buffer_limit_disconnections"] == "0", "default closed it")
    sock.close()


def case_nonreading_subscriber_output_limit(c):
    """A subscriber that never reads (its PING replies and events pile up)
    is closed at the pubsub class's default hard limit, 32 MB; peak RSS
    stays bounded."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    base = vm(p.proc.pid, "VmHWM")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((cluster.LOCAL, p.port))
    sock.sendall(cluster.resp("SUBSCRIBE", "+switch-master"))
    ping = cluster.resp("PING", "p" * (1 << 20))
    # Up to 300 PINGs of 1 MB, until the proxy closes the subscriber (a
    # loaded machine may stall a send for seconds: no short timeout).
    sock.settimeout(20)
    sent = 0
    try:
        while sent < 300:
            sock.sendall(ping)
            sent += 1
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    wait_for(lambda: stats(p)["client_output_buffer_limit_disconnections"] == "1", 30,
             "the non-reading subscriber closed (%d PINGs of 1 MB sent)" % sent)
    check(closed_by_peer(sock, 10), "subscriber socket still open")
    peak = vm(p.proc.pid, "VmHWM")
    print("     closed after %d PINGs of 1 MB; peak RSS %d -> %d MB"
          % (sent, base >> 20, peak >> 20))
    check(peak - base < 150 << 20, "peak RSS grew by %d MB" % ((peak - base) >> 20))


def case_idle_timeout(c):
    """timeout N closes a client idle for N seconds; an active client and a
    subscriber stay."""
    n = c.node()
    p = c.proxy(n.addr, "--timeout", "1", ready=1)
    idle, busy, sub = Raw(p.port), Raw(p.port), Raw(p.port)
    idle.call("PING")
    sub.call("SUBSCRIBE", "+sdown")
    t0 = time.time()
    while time.time() - t0 < 2.5:
        check(busy.call("PING") == "PONG", "active client closed")
        time.sleep(0.2)
    check(idle.at_eof(5), "idle client still open after 2.5 s")
    check(stats(p)["client_idle_timeout_disconnections"] == "1", "not counted")
    sub.send(("PING",))
    check(sub.reply() == [b"pong", b""], "subscriber closed by the idle timeout")
    # Default 0: never; a SIGHUP reload that sets it applies at once.
    conf = os.path.join(p.dir, "reload.conf")
    with open(conf, "w") as f:
        f.write("timeout 0\n")
    p2 = c.proxy(n.addr, config=conf, ready=1)
    r = Raw(p2.port)
    time.sleep(1.5)
    check(r.call("PING") == "PONG", "timeout 0 closed a client")
    with open(conf, "w") as f:
        f.write("timeout 1\n")
    p2.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: info(client(p2), "topology")["config_reloads"] == "1", 10, "reload")
    check(r.at_eof(5), "timeout set by a reload did not close an idle client")


def case_client_eviction(c):
    """maxmemory-clients: when the sessions' buffers together pass it, the
    proxy closes sessions, the largest first, only until they are below
    it; CLIENT NO-EVICT on spares one; CONFIG SET changes it at runtime
    (the proxy evicted nobody, and had no such option)."""
    n = c.node()
    p = c.proxy(n.addr, ready=1)
    pc = client(p)
    check(pc.config_set("maxmemory-clients", "3000000"), "CONFIG SET maxmemory-clients")
    check(pc.config_get("maxmemory-clients") == {"maxmemory-clients": "3000000"}, "CONFIG GET")
    try:
        pc.config_set("maxmemory-clients", "5%")
        check(False, "a percentage was taken (the proxy has no maxmemory)")
    except redis.ResponseError:
        pass

    def partial(nbytes, name, no_evict=False):
        """A session named name whose input buffer holds nbytes of a bulk
        that never ends."""
        r = Raw(p.port)
        check(r.call("CLIENT", "SETNAME", name) == "OK", "SETNAME")
        if no_evict:
            check(r.call("CLIENT", "NO-EVICT", "on") == "OK", "NO-EVICT on")
        r.sendraw(b"*2\r\n$3\r\nGET\r\n$%d\r\n" % (nbytes + 100) + b"v" * nbytes)
        return r

    def tot_mem(name):
        for line in pc.execute_command("CLIENT", "LIST").splitlines():
            if "name=%s " % name in line:
                return int(line.split("tot-mem=")[1].split()[0])
        return None

    evicted = lambda: int(stats(p)["evicted_clients"])  # noqa: E731
    # Under the limit: counted (tot-mem covers the input buffer), kept.
    a = partial(1000000, "a")
    wait_for(lambda: (tot_mem("a") or 0) >= 1000000, 10, "tot-mem counts the input")
    check(evicted() == 0, "evicted under the limit")
    # Over it: the larger of two goes, the smaller stays (below once it left).
    b = partial(2200000, "b")
    wait_for(lambda: evicted() == 1, 10, "one client evicted")
    check(closed_by_peer(b.sock, 5), "the larger client is still open")
    check(tot_mem("a") is not None and tot_mem("b") is None, "the smaller one was evicted")
    # A client that never reads its replies grows too.
    pc.set("big", "x" * 400000)
    sock, _ = nonreading(p.port, cluster.resp("GET", "big"), 40)
    wait_for(lambda: evicted() == 2, 10, "the non-reading client evicted")
    check(closed_by_peer(sock, 5), "the non-reading client is still open")
    # NO-EVICT on spares a client: with the limit lowered below what a, d
    # and this test's client take together, a goes (d is NO-EVICT), and
    # eviction stops there.
    d = partial(1000000, "d", no_evict=True)
    wait_for(lambda: (tot_mem("d") or 0) >= 1000000, 10, "d's input counted")
    check("flags=e " in [x for x in pc.execute_command("CLIENT", "LIST").splitlines()
                         if "name=d " in x][0], "CLIENT LIST flags e")
    time.sleep(0.2)
    check(evicted() == 2, "evicted under the limit (%d)" % evicted())
    check(pc.config_set("maxmemory-clients", "2000000"), "lower the limit")
    wait_for(lambda: evicted() == 3, 10, "lowering the limit evicts")
    check(closed_by_peer(a.sock, 5), "a is still open")
    time.sleep(0.2)
    check(evicted() == 3 and tot_mem("d") is not None, "d (NO-EVICT) was evicted")
    # Off: nobody is evicted whatever the clients take.
    check(pc.config_set("maxmemory-clients", "0"), "limit off")
    e = partial(3000000, "e")
    time.sleep(0.3)
    check(evicted() == 3 and tot_mem("e") is not None, "evicted with the limit off")
    check(pc.ping(), "the proxy serves")
    for r in (d, e):
        r.close()


CASES = [
    ("crlf", "CR/LF in an argument: errors stay one line (redis-server's bytes)",
     case_crlf_in_argument_desyncs_replies),
    ("reply", "CLIENT REPLY ON/OFF/SKIP: redis-server's bytes; pushes still arrive",
     case_client_reply),
    ("object", "OBJECT and MEMORY USAGE reach the key's node (three groups)",
     case_object_and_memory_usage_route_by_key),
    ("deep", "a reply nested deeper than 32 passes whole; the connection stays up",
     case_deeply_nested_reply),
    ("ryw", "default proxy: 2,000 pipelined SET/GET pairs, zero misses",
     case_default_proxy_reads_own_writes),
    ("ryw2", "a read behind a write still running waits for it (no earlier probe reopens replicas)",
     case_earlier_probe_does_not_reopen_replica_reads),
    ("scan", "SCAN: 3,000 keys once each (redis-cli, scan_iter), 1 and 3 groups",
     case_scan_loses_and_repeats_keys),
    ("scanfail", "SCAN: the iteration's node dies mid-way -> an error, not partial",
     case_scan_node_fails_midway),
    ("client", "CLIENT LIST/INFO/KILL: Redis's fields, filters and errors",
     case_client_list_info_kill_refused),
    ("info", "INFO [section ...]; # Keyspace and # Memory summed over groups",
     case_info_ignores_sections),
    ("select", "SELECT per session: pooled connections, pipelines, replicas, fan-out",
     case_select_refused),
    ("unauth", "unauthenticated big bulks refused; RSS stays small",
     case_unauthenticated_big_bulks),
    ("qbuf", "client-query-buffer-limit and proto-max-bulk-len",
     case_query_buffer_and_bulk_limits),
    ("obuf", "non-reading client closed at client-output-buffer-limit; RSS bounded",
     case_nonreading_client_output_limit),
    ("obufsub", "non-reading subscriber closed at the pubsub class's 32 MB",
     case_nonreading_subscriber_output_limit),
    ("timeout", "idle timeout closes idle clients, not active ones or subscribers",
     case_idle_timeout),
    ("evict", "maxmemory-clients evicts the largest clients until below it; NO-EVICT spares",
     case_client_eviction),
]


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_defects_", "CACHELY_PROXY_DEFECT_CASES",
                             lambda fn: cluster.run_in(tp.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
