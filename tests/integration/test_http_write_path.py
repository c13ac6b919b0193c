"""Regression tests for the defect "HTTP writes bypass the write path": the
node's /cache/set and /cache/del wrote the keyspace directly, so they were
not replicated, not in the append-only file, not held by CLIENT PAUSE, not
refused on a read-only replica, and not behind requirepass.  They now run as
RESP commands through the node's call path (a fake client).

Run with /usr/bin/python3 (Debian's python3-redis)."""
import base64
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import check, client, wait_for  # noqa: E402


def http(port, method, path, data=None, password=None, timeout=10):
    """(status, body bytes, headers) of one request."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                 method=method)
    if password is not None:
        token = base64.b64encode(("default:%s" % password).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def node_with_http(c, *args):
    hp = cluster.free_port()
    n = c.node("--http-port", hp, *args)
    n.http_port = hp
    return n


def case_a_http_set_replicates(c):
    m = node_with_http(c)
    r = node_with_http(c, "--replicaof", "127.0.0.1 %d" % m.port)
    rc = client(r)
    wait_for(lambda: cluster.info(rc, "replication").get("master_link_status") == "up", 10,
             "replica link up")
    st, body, _ = http(m.http_port, "POST", "/cache/set?key=h1&value=v1")
    check(st == 200 and body == b"OK", "set answered %r %r" % (st, body))
    st, body, _ = http(m.http_port, "POST", "/cache/set?key=h2&value=v2&ttl=100")
    check(st == 200, "set with ttl answered %r" % st)
    wait_for(lambda: rc.get("h1") == "v1" and rc.get("h2") == "v2", 10,
             "HTTP writes reached the replica")
    check(0 < rc.ttl("h2") <= 100, "ttl replicated: %r" % rc.ttl("h2"))
    st, body, _ = http(m.http_port, "DELETE", "/cache/del?key=h1")
    check(st == 200 and body == b"1", "del answered %r %r" % (st, body))
    wait_for(lambda: rc.get("h1") is None, 10, "HTTP delete reached the replica")


def case_b_replica_refuses_http_writes(c):
    m = node_with_http(c)
    r = node_with_http(c, "--replicaof", "127.0.0.1 %d" % m.port)
    rc = client(r)
    wait_for(lambda: cluster.info(rc, "replication").get("master_link_status") == "up", 10,
             "replica link up")
    st, body, _ = http(r.http_port, "POST", "/cache/set?key=x&value=1")
    check(st == 403 and body.startswith(b"READONLY"), "replica answered %r %r" % (st, body))
    check(client(m).get("x") is None and rc.get("x") is None, "the write happened")
    st, _, _ = http(r.http_port, "DELETE", "/cache/del?key=x")
    check(st == 403, "replica delete answered %r" % st)


def case_c_requirepass_applies_to_http(c):
    n = node_with_http(c, "--requirepass", "s3cret")
    st, body, hdrs = http(n.http_port, "POST", "/cache/set?key=k&value=v")
    check(st == 401 and body.startswith(b"NOAUTH"), "no password: %r %r" % (st, body))
    check("Basic" in (hdrs.get("WWW-Authenticate") or ""), "no WWW-Authenticate header")
    st, _, _ = http(n.http_port, "GET", "/cache/get?key=k", password="wrong")
    check(st == 401, "wrong password: %r" % st)
    st, body, _ = http(n.http_port, "POST", "/cache/set?key=k&value=v", password="s3cret")
    check(st == 200, "right password: %r %r" % (st, body))
    st, body, _ = http(n.http_port, "GET", "/cache/get?key=k", password="s3cret")
    check(st == 200 and body == b"v", "get: %r %r" % (st, body))


def case_d_http_write_held_by_client_pause(c):
    n = node_with_http(c)
    rc = client(n)
    rc.execute_command("CLIENT", "PAUSE", "600", "WRITE")
    t0 = time.time()
    st, _, _ = http(n.http_port, "POST", "/cache/set?key=p&value=1")
    waited = time.time() - t0
    check(st == 200, "set after the pause answered %r" % st)
    check(waited >= 0.4, "the HTTP write was not held by CLIENT PAUSE (%.3fs)" % waited)
    check(rc.get("p") == "1", "held write lost")
    # Reads are not held by a WRITE pause.
    rc.execute_command("CLIENT", "PAUSE", "2000", "WRITE")
    t0 = time.time()
    st, body, _ = http(n.http_port, "GET", "/cache/get?key=p")
    check(st == 200 and body == b"1" and time.time() - t0 < 1.5, "read held by a write pause")
    rc.execute_command("CLIENT", "UNPAUSE")


def case_e_http_writes_reach_the_aof(c):
    n = node_with_http(c, "--appendonly", "yes", "--appendfsync", "always")
    st, _, _ = http(n.http_port, "POST", "/cache/set?key=durable&value=yes")
    check(st == 200, "set answered %r" % st)
    n.kill()
    n.start()
    check(client(n).get("durable") == "yes", "an HTTP write was missing from the AOF")


def case_f_errors_map_to_statuses(c):
    n = node_with_http(c)
    rc = client(n)
    st, body, _ = http(n.http_port, "POST", "/cache/set?key=t&value=v&ttl=abc")
    check(st == 400 and body == b"ERR value is not an integer or out of range\n",
          "bad ttl: %r %r" % (st, body))
    st, body, _ = http(n.http_port, "POST", "/cache/set?key=t&value=v&ttl=0")
    check(st == 400 and body == b"ERR invalid expire time in 'set' command\n",
          "zero ttl: %r %r" % (st, body))
    # Fill first, then lower maxmemory below what the data takes: every
    # write is refused from then on (noeviction), whatever the allocator.
    big = "x" * 200000
    for i in range(20):
        rc.set("fill%d" % i, big)
    rc.config_set("maxmemory", "1mb")
    st, body, _ = http(n.http_port, "POST", "/cache/set?key=oom", data=b"y" * 100)
    check(st == 507 and body.startswith(b"OOM"), "over maxmemory: %r %r" % (st, body))


CASES = [
    ("a", "HTTP SET/DEL on a master replicate (regression: HTTP bypassed the write path)",
     case_a_http_set_replicates),
    ("b", "a replica's HTTP port refuses writes with READONLY (403)",
     case_b_replica_refuses_http_writes),
    ("c", "requirepass protects the HTTP API (Basic auth, 401)", case_c_requirepass_applies_to_http),
    ("d", "HTTP writes are held by CLIENT PAUSE WRITE, reads are not",
     case_d_http_write_held_by_client_pause),
    ("e", "HTTP writes are in the append-only file", case_e_http_writes_reach_the_aof),
    ("f", "RESP errors map to HTTP statuses (400, 507)", case_f_errors_map_to_statuses),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_HTTP_PATH_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
