"""cachely-proxy's HTTP interface (--http-port) end to end: a real master,
a replica and a proxy on free 127.0.0.1 ports; every endpoint, its errors,
and the same keys seen over HTTP and RESP.  The processes are cluster.py's
(Node, Proxy; test_proxy.Case), stopped by their own Popen objects.

Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_PROXY_HTTP_CASES=a,d runs only those cases.
"""
import http.client
import json
import os
import re
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
import test_proxy as tp  # noqa: E402
from cluster import LOCAL, check, wait_for  # noqa: E402

import redis  # noqa: E402


def hreq(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection(LOCAL, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class Setup:
    """A master, one replica, and a proxy with the HTTP port on."""

    def __init__(self, c, *proxy_args):
        self.m = c.node()
        self.r = c.node("--replicaof", "%s %d" % (LOCAL, self.m.port))
        tp.wait_synced(self.m, self.r)
        self.hport = servers.free_port()
        self.p = c.proxy(self.m.addr, "--http-port", self.hport, *proxy_args, ready=2)
        self.pc = tp.client(self.p)
        self.mc = tp.client(self.m)

    def get(self, path, **kw):
        return hreq(self.hport, "GET", path, **kw)


# ---- cases ---------------------------------------------------------------------


def case_cache_roundtrip(c):
    s = Setup(c)
    st, h, body = hreq(s.hport, "POST", "/cache/set?key=h1&value=one")
    check((st, body) == (200, b"OK"), "set: %r %r" % (st, body))
    # Written on the master; visible through the proxy's RESP side.
    check(s.mc.get("h1") == "one", "h1 not on the master")
    wait_for(lambda: s.pc.get("h1") == "one", 5, "h1 via RESP through the proxy")
    # And the other way round.
    s.pc.set("r1", "from-resp")
    wait_for(lambda: s.get("/cache/get?key=r1")[2] == b"from-resp", 5, "r1 via HTTP")
    st, h, body = s.get("/cache/get?key=r1")
    check(st == 200 and h.get("content-type") == "application/octet-stream",
          "get: %r %r" % (st, h))
    # A missing key: 404.
    st, _, _ = s.get("/cache/get?key=nope")
    check(st == 404, "missing key: %d" % st)
    # DELETE answers DEL's count.
    st, _, body = hreq(s.hport, "DELETE", "/cache/del?key=h1")
    check((st, body) == (200, b"1"), "del: %r %r" % (st, body))
    st, _, body = hreq(s.hport, "DELETE", "/cache/del?key=h1")
    check((st, body) == (200, b"0"), "del again: %r %r" % (st, body))
    check(s.mc.get("h1") is None, "h1 still on the master")
    wait_for(lambda: s.get("/cache/get?key=h1")[0] == 404, 5, "h1 gone over HTTP")
    # HEAD: the headers of a GET, no body.
    st, h, body = hreq(s.hport, "HEAD", "/cache/get?key=r1")
    check(st == 200 and body == b"" and h.get("content-length") == "9",
          "HEAD: %r %r %r" % (st, h, body))


def case_binary_body_and_ttl(c):
    s = Setup(c)
    # %00 in key and value, '+' as space, a value from the body.
    st, _, body = hreq(s.hport, "POST", "/cache/set?key=b%00in+k&value=v%00%ff%0d%0a")
    check(st == 200, "binary set: %r %r" % (st, body))
    raw = redis.Redis(host=LOCAL, port=s.m.port)
    check(raw.get(b"b\x00in k") == b"v\x00\xff\r\n", "binary value on the master: %r"
          % raw.get(b"b\x00in k"))
    wait_for(lambda: s.get("/cache/get?key=b%00in%20k")[2] == b"v\x00\xff\r\n", 5,
             "binary value over HTTP")
    payload = bytes(range(256)) * 40
    st, _, _ = hreq(s.hport, "POST", "/cache/set?key=bodykey&ttl=60", body=payload)
    check(st == 200, "body set: %d" % st)
    check(raw.get(b"bodykey") == payload, "body value on the master")
    ttl = raw.ttl(b"bodykey")
    check(0 < ttl <= 60, "ttl %r" % ttl)
    # An empty body sent on purpose is an empty value.
    st, _, _ = hreq(s.hport, "POST", "/cache/set?key=empty", body=b"")
    check(st == 200 and raw.get(b"empty") == b"", "empty body set: %d" % st)


def case_bad_requests(c):
    s = Setup(c)
    bad = [
        ("GET", "/cache/get"),                          # no key
        ("GET", "/cache/get?key=%zz"),                  # malformed escape
        ("GET", "/cache/get?key=a&x=%4"),               # truncated escape elsewhere
        ("DELETE", "/cache/del?value=1"),
        ("POST", "/cache/set?value=1"),
        ("POST", "/cache/set?key=a&value=1&ttl=abc"),
        ("POST", "/cache/set?key=a&value=1&ttl=0"),
        ("POST", "/cache/set?key=a&value=1&ttl=-5"),
        ("POST", "/cache/set?key=a"),                   # neither value nor body
    ]
    for method, path in bad:
        conn = http.client.HTTPConnection(LOCAL, s.hport, timeout=10)
        # http.client adds Content-Length: 0 to a bodiless POST; send none.
        conn.putrequest(method, path)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        conn.close()
        check(r.status == 400 and body.startswith(b"ERR "),
              "%s %s: %d %r" % (method, path, r.status, body))
    for method, path, allow in [("PUT", "/cache/get?key=a", "GET, HEAD"),
                                ("GET", "/cache/set?key=a&value=1", "POST"),
                                ("POST", "/cache/del?key=a", "DELETE"),
                                ("POST", "/metrics", "GET, HEAD"),
                                ("DELETE", "/health", "GET, HEAD")]:
        st, h, _ = hreq(s.hport, method, path)
        check(st == 405 and h.get("allow") == allow, "%s %s: %d %r" % (method, path, st, h))
    st, _, _ = s.get("/nowhere")
    check(st == 404, "unknown path: %d" % st)
    check(s.mc.get("a") is None, "a bad request wrote something")


LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\\n])*"'
METRIC_LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
                         r'(?:\{(?P<labels>' + LABEL + r'(?:,' + LABEL + r')*)?\})?'
                         r' (?P<value>-?[0-9.]+(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)$')


def parse_metrics(text):
    """{family: type}, [(name, labels dict, value)]; raises on a bad line."""
    types, helps, samples = {}, set(), []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            check(typ in ("counter", "gauge", "histogram", "summary", "untyped"),
                  "bad type line %r" % line)
            types[name] = typ
        else:
            m = METRIC_LINE.match(line)
            check(m is not None, "not a Prometheus sample line: %r" % line)
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"',
                                     m.group("labels") or ""))
            samples.append((m.group("name"), labels, float(m.group("value"))))
    for name, _, _ in samples:
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        check(family in types and family in helps, "%s has no # TYPE/# HELP" % name)
    return types, samples


def case_metrics_topology_health(c):
    s = Setup(c)
    for i in range(20):
        hreq(s.hport, "POST", "/cache/set?key=m%d&value=%d" % (i, i))
        s.get("/cache/get?key=m%d" % i)
    st, h, body = s.get("/metrics")
    check(st == 200 and h.get("content-type", "").startswith("text/plain"), "metrics %d" % st)
    types, samples = parse_metrics(body.decode())
    names = {n for n, _, _ in samples}
    for want in ["cachely_proxy_connected_clients", "cachely_proxy_commands_total",
                 "cachely_proxy_routed_total", "cachely_proxy_route_errors_total",
                 "cachely_proxy_fanouts_total", "cachely_proxy_node_up",
                 "cachely_proxy_node_requests_total", "cachely_proxy_node_errors_total",
                 "cachely_proxy_node_latency_seconds_bucket",
                 "cachely_proxy_node_latency_seconds_count",
                 "cachely_proxy_node_latency_seconds_avg", "cachely_proxy_node_inflight"]:
        check(want in names, "metric %s missing" % want)
    check(types["cachely_proxy_node_latency_seconds"] == "histogram", "histogram type")
    targets = {lb.get("target") for n, lb, _ in samples if n == "cachely_proxy_routed_total"}
    check(targets == {"master", "replica", "fallback"}, "routed targets %r" % targets)
    up = {lb["node"]: (lb["role"], v) for n, lb, v in samples if n == "cachely_proxy_node_up"}
    check(up == {s.m.addr: ("master", 1.0), s.r.addr: ("replica", 1.0)}, "node_up %r" % up)
    req = {lb["node"]: v for n, lb, v in samples if n == "cachely_proxy_node_requests_total"}
    check(req[s.m.addr] >= 20, "master requests %r" % req)
    cmds = [v for n, _, v in samples if n == "cachely_proxy_commands_total"][0]
    check(cmds >= 40, "commands_total %r" % cmds)
    # The +Inf bucket of each node equals its _count, buckets never decrease.
    for node in (s.m.addr, s.r.addr):
        buckets = [v for n, lb, v in samples
                   if n == "cachely_proxy_node_latency_seconds_bucket" and lb["node"] == node]
        count = [v for n, lb, v in samples
                 if n == "cachely_proxy_node_latency_seconds_count" and lb["node"] == node][0]
        check(buckets == sorted(buckets) and buckets[-1] == count, "histogram of %s" % node)

    st, h, body = s.get("/topology")
    check(st == 200 and h.get("content-type") == "application/json", "topology %d" % st)
    topo = json.loads(body)
    check([g["name"] for g in topo["groups"]] == ["default"]
          and topo["groups"][0]["slots"] == 16384
          and topo["groups"][0]["master"] == s.m.addr, "groups %r" % topo["groups"])
    nodes = {n["addr"]: n for n in topo["nodes"]}
    check(set(nodes) == {s.m.addr, s.r.addr}, "nodes %r" % list(nodes))
    check(nodes[s.m.addr]["role"] == "master" and nodes[s.r.addr]["role"] == "replica",
          "roles")
    for n in nodes.values():
        check(n["up"] is True and n["link_up"] is True and n["group"] == "default"
              and isinstance(n["offset"], int) and isinstance(n["requests"], int)
              and isinstance(n["errors"], int), "node fields %r" % n)

    st, h, body = s.get("/health")
    check(st == 200 and json.loads(body) == {"status": "ok", "groups": 1, "masters_known": 1},
          "health %d %r" % (st, body))


def case_node_errors_are_502(c):
    # No master at all: the proxy's nodes point at a port nobody listens on.
    hport = servers.free_port()
    dead = "%s:%d" % (LOCAL, servers.free_port())
    c.proxy(dead, "--http-port", hport, ready=0)
    st, _, body = hreq(hport, "GET", "/cache/get?key=a")
    check(st == 502 and b"no master" in body, "no master: %d %r" % (st, body))
    st, _, body = hreq(hport, "POST", "/cache/set?key=a&value=b")
    check(st == 502, "no master set: %d %r" % (st, body))
    st, _, body = hreq(hport, "GET", "/health")
    check(st == 503 and json.loads(body) == {"status": "degraded", "groups": 1,
                                             "masters_known": 0}, "health %d %r" % (st, body))
    # The node answers an error: it is full (maxmemory 1 byte, noeviction).
    full = c.node("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    hport2 = servers.free_port()
    c.proxy(full.addr, "--http-port", hport2, ready=1)
    st, _, body = hreq(hport2, "POST", "/cache/set?key=a&value=b")
    check(st == 502 and body.startswith(b"OOM"), "node error: %d %r" % (st, body))


def case_paused_master(c):
    # Without failover: this case is about a master that stays paused.
    s = Setup(c, "--backend-timeout-ms", "1500", "--failover", "no")
    check(s.get("/health")[0] == 200, "healthy at start")
    os.kill(s.m.proc.pid, signal.SIGSTOP)
    try:
        # A client that leaves before its answer: the proxy must survive it.
        early = socket.create_connection((LOCAL, s.hport))
        early.sendall(b"POST /cache/set?key=gone&value=1 HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 0\r\n\r\n")
        time.sleep(0.1)
        early.close()
        # Past down-after-ms: degraded.
        t0 = time.time()
        wait_for(lambda: s.get("/health")[0] == 503, 5, "health 503")
        st, _, body = s.get("/health")
        check(json.loads(body) == {"status": "degraded", "groups": 1, "masters_known": 0},
              "degraded body %r" % body)
        check(time.time() - t0 < 3, "503 took %.1fs" % (time.time() - t0))
        # A write to the paused master times out: 502 with the reason.
        st, _, body = hreq(s.hport, "POST", "/cache/set?key=w&value=1")
        check(st == 502 and b"timed out" in body, "paused master set: %d %r" % (st, body))
        # A request still waiting when the proxy stops (stop_all stops the
        # proxy first): the proxy must exit cleanly.
        pending = socket.create_connection((LOCAL, s.hport))
        pending.sendall(b"DELETE /cache/del?key=w HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        os.kill(s.m.proc.pid, signal.SIGCONT)
        wait_for(lambda: s.get("/health")[0] == 200, 5, "health 200 after SIGCONT")
        check(hreq(s.hport, "POST", "/cache/set?key=after&value=1")[0] == 200, "set after")
        pending.close()
    finally:
        os.kill(s.m.proc.pid, signal.SIGCONT)


def case_pending_at_shutdown(c):
    s = Setup(c)
    os.kill(s.m.proc.pid, signal.SIGSTOP)
    pending = socket.create_connection((LOCAL, s.hport))
    pending.sendall(b"POST /cache/set?key=p&value=1 HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 0\r\n\r\n")
    time.sleep(0.2)
    # stop_all: the proxy gets SIGTERM with the request waiting on the
    # paused master, and must exit 0; Node.stop sends SIGCONT.
    c.pending_socket = pending


CASES = [
    ("a", "set/get/del over HTTP, visible over RESP and back", case_cache_roundtrip),
    ("b", "binary keys and values, body values, ttl", case_binary_body_and_ttl),
    ("c", "400 on bad input, 405 with Allow, 404 on unknown paths", case_bad_requests),
    ("d", "/metrics (Prometheus), /topology (JSON), /health", case_metrics_topology_health),
    ("e", "502: no master known, node error reply; 503 health", case_node_errors_are_502),
    ("f", "paused master: 503 health, 502 timeout, early close", case_paused_master),
    ("g", "a request pending at shutdown: clean exit", case_pending_at_shutdown),
]


def run_case(fn):
    c = tp.Case()
    try:
        cluster.run_in(c, fn)
    finally:
        if getattr(c, "pending_socket", None):
            c.pending_socket.close()


def main():
    if not os.access(cluster.PROXY, os.X_OK):
        print("no cachely-proxy at %s" % cluster.PROXY)
        print("0 passed, 1 failed")
        return 1
    return cluster.run_cases(CASES, "proxy_http_", "CACHELY_PROXY_HTTP_CASES", run_case)


if __name__ == "__main__":
    sys.exit(main())
