"""Debian's python3-redis doing ordinary cache work against cachely-server.

Each case is one behaviour a Python application relies on.  Run with
/usr/bin/python3; prints "N passed, M failed".  With --against-redis the same
cases run against a real redis-server, to check the expectations themselves.
"""
import inspect
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Results, Server  # noqa: E402

import redis  # noqa: E402


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def case_ping(r):
    eq(r.ping(), True, "ping")


def case_set_get(r):
    eq(r.set("c:k", "v"), True, "set")
    eq(r.get("c:k"), b"v", "get")
    eq(r.get("c:missing"), None, "get missing")


def case_set_ex_px(r):
    eq(r.set("c:ex", "1", ex=100), True, "set ex")
    ttl = r.ttl("c:ex")
    if not 98 <= ttl <= 100:
        raise AssertionError("ttl after ex=100 is %r" % ttl)
    eq(r.set("c:px", "1", px=100000), True, "set px")
    pttl = r.pttl("c:px")
    if not 98000 <= pttl <= 100000:
        raise AssertionError("pttl after px=100000 is %r" % pttl)
    eq(r.set("c:short", "1", px=50), True, "set px 50")
    time.sleep(0.12)
    eq(r.get("c:short"), None, "expired by px")


def case_set_nx_xx(r):
    eq(r.set("c:nx", "a", nx=True), True, "first nx")
    eq(r.set("c:nx", "b", nx=True), None, "second nx")
    eq(r.get("c:nx"), b"a", "value after nx")
    eq(r.set("c:xx-missing", "a", xx=True), None, "xx on missing")
    eq(r.set("c:nx", "c", xx=True), True, "xx on existing")
    eq(r.get("c:nx"), b"c", "value after xx")
    eq(r.setnx("c:setnx", "1"), True, "setnx")
    eq(r.setnx("c:setnx", "2"), False, "setnx again")


def case_mset_mget(r):
    eq(r.mset({"c:m1": "1", "c:m2": "2", "c:m3": "3"}), True, "mset")
    eq(r.mget(["c:m1", "c:m2", "c:nosuch", "c:m3"]), [b"1", b"2", None, b"3"], "mget")


def case_incr(r):
    eq(r.incr("c:n"), 1, "incr new")
    eq(r.incr("c:n"), 2, "incr")
    eq(r.incrby("c:n", 40), 42, "incrby")
    eq(r.decr("c:n"), 41, "decr")
    eq(r.incrbyfloat("c:f", 1.5), 1.5, "incrbyfloat")
    r.set("c:notnum", "abc")
    try:
        r.incr("c:notnum")
    except redis.ResponseError as e:
        eq(str(e), "value is not an integer or out of range", "incr error")
    else:
        raise AssertionError("incr on a non-number did not fail")


def case_delete_exists(r):
    r.mset({"c:d1": "1", "c:d2": "2"})
    eq(r.exists("c:d1", "c:d2", "c:dx"), 2, "exists")
    eq(r.delete("c:d1", "c:d2", "c:dx"), 2, "delete")
    eq(r.exists("c:d1"), 0, "exists after delete")


def case_expire_ttl(r):
    r.set("c:e", "1")
    eq(r.ttl("c:e"), -1, "ttl without expiry")
    eq(r.ttl("c:nosuch"), -2, "ttl missing key")
    eq(r.expire("c:e", 50), True, "expire")
    ttl = r.ttl("c:e")
    if not 48 <= ttl <= 50:
        raise AssertionError("ttl after expire 50 is %r" % ttl)
    eq(r.persist("c:e"), True, "persist")
    eq(r.ttl("c:e"), -1, "ttl after persist")
    eq(r.pexpire("c:e", 50), True, "pexpire")
    time.sleep(0.12)
    eq(r.exists("c:e"), 0, "expired")
    eq(r.expire("c:nosuch", 10), False, "expire missing key")


def case_pipeline_1000(r):
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("c:p:%d" % i, i)
        p.get("c:p:%d" % i)
    out = p.execute()
    eq(len(out), 1000, "replies")
    for i in range(500):
        eq(out[2 * i], True, "set %d" % i)
        eq(out[2 * i + 1], str(i).encode(), "get %d" % i)


def case_scan_iter_and_keys(r):
    r.mset({"c:scan:%d" % i: i for i in range(300)})
    r.mset({"c:other:%d" % i: i for i in range(20)})
    found = set(r.scan_iter(match="c:scan:*", count=50))
    eq(len(found), 300, "scan_iter match count")
    eq(found, {("c:scan:%d" % i).encode() for i in range(300)}, "scan_iter keys")
    eq(sorted(r.keys("c:other:1*")),
       sorted(("c:other:%d" % i).encode() for i in [1] + list(range(10, 20))), "keys")


def case_type(r):
    r.set("c:t", "x")
    eq(r.type("c:t"), b"string", "type string")
    eq(r.type("c:nosuch"), b"none", "type none")


def case_binary_value_with_nul(r):
    value = b"\x00\x01binary\x00\r\n\xff" * 100
    key = b"c:bin\x00key"
    eq(r.set(key, value), True, "set binary")
    eq(r.get(key), value, "get binary")
    eq(r.strlen(key), len(value), "strlen binary")


def case_info(r):
    info = r.info()
    for field in ("redis_version", "connected_clients", "used_memory", "uptime_in_seconds"):
        if field not in info:
            raise AssertionError("INFO lacks %s" % field)
    mem = r.info("memory")
    if "used_memory" not in mem:
        raise AssertionError("INFO memory lacks used_memory")
    ks = r.info("keyspace")
    if not isinstance(ks, dict):
        raise AssertionError("INFO keyspace is %r" % ks)


def case_config_get(r):
    cfg = r.config_get("maxmemory*")
    for name in ("maxmemory", "maxmemory-policy"):
        if name not in cfg:
            raise AssertionError("CONFIG GET maxmemory* lacks %s: %r" % (name, cfg))
    eq(cfg["maxmemory-policy"], "noeviction", "maxmemory-policy")
    eq(r.config_set("maxmemory-policy", "allkeys-lru"), True, "config set")
    eq(r.config_get("maxmemory-policy")["maxmemory-policy"], "allkeys-lru", "after set")
    r.config_set("maxmemory-policy", "noeviction")


def case_client_name(r):
    eq(r.client_getname(), None, "no name yet")
    eq(r.client_setname("cachely-test"), True, "setname")
    eq(r.client_getname(), "cachely-test", "getname")
    if not isinstance(r.client_id(), int):
        raise AssertionError("client id is not an integer")


def case_flushdb(r):
    r.mset({"c:f1": "1", "c:f2": "2"})
    if r.dbsize() < 2:
        raise AssertionError("dbsize below 2 after mset")
    eq(r.flushdb(), True, "flushdb")
    eq(r.dbsize(), 0, "dbsize after flushdb")


def case_getex_getdel(r):
    r.set("c:g", "v")
    eq(r.getex("c:g", ex=100), b"v", "getex")
    if not 98 <= r.ttl("c:g") <= 100:
        raise AssertionError("getex did not set the ttl")
    eq(r.getdel("c:g"), b"v", "getdel")
    eq(r.exists("c:g"), 0, "gone after getdel")


def case_connection_pool_reuse(r):
    # A pool of clients hammering a counter from several connections.
    pool = redis.ConnectionPool(host="127.0.0.1", port=r.connection_pool.connection_kwargs["port"],
                                max_connections=8)
    clients = [redis.Redis(connection_pool=pool) for _ in range(8)]
    for _ in range(25):
        for c in clients:
            c.incr("c:pool")
    eq(int(r.get("c:pool")), 200, "counter")
    pool.disconnect()


def resp3_supported():
    return "protocol" in inspect.signature(redis.Redis.__init__).parameters


def case_resp3(port):
    r3 = redis.Redis(host="127.0.0.1", port=port, protocol=3)
    r3.set("c:r3", "v")
    eq(r3.get("c:r3"), b"v", "resp3 get")
    eq(r3.ping(), True, "resp3 ping")
    r3.close()


CASES = [
    case_ping, case_set_get, case_set_ex_px, case_set_nx_xx, case_mset_mget, case_incr,
    case_delete_exists, case_expire_ttl, case_pipeline_1000, case_scan_iter_and_keys,
    case_type, case_binary_value_with_nul, case_info, case_config_get, case_client_name,
    case_getex_getdel, case_connection_pool_reuse, case_flushdb,
]


def main():
    kind = "redis" if "--against-redis" in sys.argv else "cachely"
    res = Results()
    print("python3-redis %s against %s" % (redis.__version__, kind))
    srv = Server(kind)
    try:
        for fn in CASES:
            # A fresh connection per case, so CLIENT SETNAME and friends start clean.
            r = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=10)
            res.run(fn.__name__[5:], fn, r)
            r.close()
        if resp3_supported():
            res.run("resp3", case_resp3, srv.port)
        else:
            print("note: python3-redis %s has no protocol=3; RESP3 case skipped"
                  % redis.__version__)
    except BaseException:
        srv.stop()
        raise
    if res.failed:
        srv.dump_log()
    status = srv.stop()   # prints the log itself when the exit is not clean
    res.check("server exits cleanly on SIGTERM", status == 0, "status %r" % status)
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
