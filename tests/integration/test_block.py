"""The blocking module's other waits, end to end: WAIT (its deadline, its
release by replicas' ACKs, CLIENT UNBLOCK of a WAIT) and CLIENT PAUSE holds
(writes held then released, in order), and a client disconnecting while it
waits in either.  Blocking on keys has its own cases in test_lists.py.

Each case starts its own cachely-server processes on free 127.0.0.1 ports.
Run with /usr/bin/python3; CACHELY_BUILDDIR names the build.  Prints
"N passed, M failed".  CACHELY_BLOCK_CASES=a,c runs only those.
"""
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Raw, Err, check, info, wait_for  # noqa: E402

UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"


def blocked(r):
    return int(info(r, "clients")["blocked_clients"])


def timed(r):
    return int(info(r, "clients")["clients_in_timeout_table"])


def wait_blocked(r, n):
    wait_for(lambda: blocked(r) == n, 10, "%d blocked clients" % n)


def nothing_within(raw, seconds):
    """True when raw receives no byte for seconds."""
    raw.sock.settimeout(seconds)
    try:
        data = raw.sock.recv(1 << 16)
    except OSError:
        return True
    finally:
        raw.sock.settimeout(10)
    raw.buf += data
    return False


# ---- WAIT ------------------------------------------------------------------------


def case_a_wait_timeout(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    check(r.execute_command("WAIT", 0, 0) == 0, "WAIT 0 0 answers at once")
    # No replica ever acknowledges: the deadline answers the count, 0.
    w = Raw(n.port)
    t0 = time.time()
    w.send(("SET", "k", "v"), ("WAIT", 1, 400), ("PING",))
    check(w.reply() == "OK", "SET")
    wait_blocked(r, 1)
    check(timed(r) == 1, "the WAIT's deadline is in the timeout table")
    check(w.reply() == 0, "WAIT's timeout reply is the count")
    el = (time.time() - t0) * 1000
    check(390 <= el <= 3000, "WAIT 1 400 returned after %.0f ms" % el)
    check(w.reply() == "PONG", "the pipelined PING ran after the WAIT")
    check(blocked(r) == 0 and timed(r) == 0, "nothing left blocked")
    # A WAIT's timeout is milliseconds, an integer, not negative.
    check(w.call("WAIT", 1, -1) == Err("ERR timeout is negative"), "negative timeout")
    check(w.call("WAIT", 1, "0.5") == Err("ERR timeout is not an integer or out of range"),
          "float timeout")
    # The largest timeout blocks (no overflow into a past deadline).
    wid = w.call("CLIENT", "ID")
    w.send(("WAIT", 1, 9223372036854775807))
    wait_blocked(r, 1)
    check(nothing_within(w, 0.3), "WAIT with the largest timeout answered")
    check(timed(r) == 0, "a century or more is no deadline")
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 1, "unblock it")
    check(w.reply() == 0, "its count")
    w.close()


def case_b_wait_released_by_acks(c):
    m = c.node("--save", "")
    a = c.node("--save", "", "--replicaof", "%s %d" % (LOCAL, m.port))
    mc, ac = cluster.client(m), cluster.client(a)
    mc.set("s", "1")
    wait_for(lambda: ac.get("s") == "1", 20, "the replica synced")
    check(mc.execute_command("WAIT", 1, 2000) == 1, "a live replica acknowledges")
    a.proc.send_signal(signal.SIGSTOP)
    try:
        w = Raw(m.port)
        w.send(("SET", "k", "v"), ("WAIT", 1, 0), ("GET", "k"))
        check(w.reply() == "OK", "SET")
        wait_blocked(mc, 1)
        check(nothing_within(w, 0.5), "WAIT answered while the replica was stopped")
        check(timed(mc) == 0, "WAIT 1 0 has no deadline")
    finally:
        a.proc.send_signal(signal.SIGCONT)
    t0 = time.time()
    check(w.reply() == 1, "the replica's ACK releases the WAIT with 1")
    check(time.time() - t0 < 5, "released %.1f s after SIGCONT" % (time.time() - t0))
    check(w.reply() == b"v", "the pipelined GET ran after the WAIT")
    check(blocked(mc) == 0, "nothing left blocked")
    w.close()


def case_c_client_unblock_wait(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    w = Raw(n.port)
    wid = w.call("CLIENT", "ID")
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 0, "not waiting: 0")
    # TIMEOUT (the default): the WAIT answers its count so far.
    w.send(("WAIT", 1, 0), ("PING",))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 1, "unblock: 1")
    check(w.reply() == 0, "WAIT answers its count so far")
    check(w.reply() == "PONG", "the pipelined PING ran")
    wait_blocked(r, 0)
    w.send(("WAIT", 2, 60000))
    wait_blocked(r, 1)
    check(timed(r) == 1, "deadline registered")
    check(r.execute_command("CLIENT", "UNBLOCK", wid, "TIMEOUT") == 1, "unblock timeout")
    check(w.reply() == 0, "WAIT answers 0")
    check(timed(r) == 0, "the deadline is gone with the wait")
    # ERROR: -UNBLOCKED.
    w.send(("WAIT", 1, 0))
    wait_blocked(r, 1)
    check(r.execute_command("CLIENT", "UNBLOCK", wid, "ERROR") == 1, "unblock error")
    got = w.reply()
    check(isinstance(got, Err) and got == UNBLOCKED, "error reply: %r" % got)
    check(blocked(r) == 0, "no state left")
    check(r.execute_command("CLIENT", "UNBLOCK", wid) == 0, "released: 0 again")
    check(w.call("PING") == "PONG", "connection usable")
    w.close()


def case_d_wait_in_multi(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    w = Raw(n.port)
    # Inside a transaction WAIT never blocks: it answers the count so far.
    check(w.call("MULTI") == "OK", "MULTI")
    check(w.call("WAIT", 1, 0) == "QUEUED", "queued")
    t0 = time.time()
    check(w.call("EXEC") == [0], "EXEC answers WAIT's count at once")
    check(time.time() - t0 < 2, "EXEC took %.1f s" % (time.time() - t0))
    check(blocked(r) == 0, "nothing blocked")
    w.close()


# ---- CLIENT PAUSE ------------------------------------------------------------


def case_e_pause_write_holds_then_releases(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    r.set("k", "0")
    check(r.execute_command("CLIENT", "PAUSE", 60000, "WRITE") == "OK", "pause")
    w1, w2 = Raw(n.port), Raw(n.port)
    w1.send(("APPEND", "order", "a"), ("GET", "order"))
    wait_blocked(r, 1)
    w2.send(("APPEND", "order", "b"))
    wait_blocked(r, 2)
    # Reads go on; the held writes have not run.
    check(r.get("k") == "0" and r.get("order") is None, "held writes ran")
    check(nothing_within(w1, 0.3), "a held client got a reply")
    # A held client is not released by CLIENT UNBLOCK (Redis 7.0 crashes).
    listing = r.execute_command("CLIENT", "LIST")
    ids = [int(line.split("id=")[1].split()[0]) for line in listing.splitlines()
           if " flags=b " in line]
    check(len(ids) == 2, "two held clients in CLIENT LIST: %r" % listing)
    for i in ids:
        check(r.execute_command("CLIENT", "UNBLOCK", i) == 0, "unblock of a held client")
    check(blocked(r) == 2, "still held")
    check(r.execute_command("CLIENT", "UNPAUSE") == "OK", "unpause")
    # They resume in the order they were held, each with its pipeline.
    check(w1.reply() == 1, "first APPEND")
    check(w1.reply() == b"a", "GET behind the first APPEND")
    check(w2.reply() == 2, "second APPEND")
    check(r.get("order") == "ab", "order %r" % r.get("order"))
    check(blocked(r) == 0, "nothing left held")
    # A pause that ends by the clock releases too.
    check(r.execute_command("CLIENT", "PAUSE", 400, "WRITE") == "OK", "timed pause")
    t0 = time.time()
    check(w1.call("INCR", "k") == 1, "INCR after the pause")
    el = (time.time() - t0) * 1000
    check(el >= 300, "the INCR waited only %.0f ms" % el)
    w1.close()
    w2.close()


def case_f_disconnect_while_waiting(c):
    n = c.node("--save", "")
    r = cluster.client(n)
    # In WAIT, with and without a deadline.
    for timeout in (0, 60000):
        w = Raw(n.port)
        w.send(("WAIT", 1, timeout))
        wait_blocked(r, 1)
        w.close()
        wait_blocked(r, 0)
        check(timed(r) == 0, "a deadline left behind (WAIT %d)" % timeout)
    # Held by CLIENT PAUSE: the held write never runs.
    r.execute_command("CLIENT", "PAUSE", 60000, "WRITE")
    w = Raw(n.port)
    w.send(("SET", "gone", "1"))
    k = Raw(n.port)
    kid = k.call("CLIENT", "ID")
    k.send(("SET", "killed", "1"))
    wait_blocked(r, 2)
    w.close()
    check(r.execute_command("CLIENT", "KILL", "ID", kid) == 1, "kill the held client")
    wait_blocked(r, 0)
    r.execute_command("CLIENT", "UNPAUSE")
    check(r.exists("gone", "killed") == 0, "a gone client's held write ran")
    # Many waiters of both kinds leaving at once leave nothing either.
    r.execute_command("CLIENT", "PAUSE", 60000, "WRITE")
    ws = []
    for i in range(20):
        w = Raw(n.port)
        w.send(("WAIT", 1, 0) if i % 2 else ("SET", "x%d" % i, "1"))
        ws.append(w)
    wait_blocked(r, 20)
    for w in ws:
        w.close()
    wait_blocked(r, 0)
    r.execute_command("CLIENT", "UNPAUSE")
    check(r.dbsize() == 0, "dbsize %d" % r.dbsize())
    check(r.ping(), "server alive")


def case_g_wrong_type_does_not_wake_a_pop(c):
    """Regression (Redis's unit/type/zset and list "ZADD + DEL + SET should
    not awake blocked client"): a transaction that left a string under the
    key a BZPOPMIN or BLPOP waited on woke it with WRONGTYPE; Redis 7.0
    wakes such a waiter only for a key of its type, so it waits on and pops
    what a later ZADD / LPUSH brings."""
    n = c.node("--save", "")
    r = cluster.client(n)
    for pop, push, want in (("BZPOPMIN", ("ZADD", "k", "1", "bar"), [b"k", b"bar", b"1"]),
                            ("BLPOP", ("LPUSH", "k", "bar"), [b"k", b"bar"])):
        w = Raw(n.port)
        w.send((pop, "k", 0))
        wait_blocked(r, 1)
        x = Raw(n.port)
        x.call("MULTI")
        x.call(*push)
        x.call("DEL", "k")
        x.call("SET", "k", "foo")
        check(x.call("EXEC") == [1, 1, "OK"], "EXEC")
        check(nothing_within(w, 0.2), "%s woken by a string: %r" % (pop, w.buf))
        check(blocked(r) == 1, "%s still blocked" % pop)
        x.call("DEL", "k")
        x.call(*push)
        got = w.reply()
        check(got == want, "%s popped %r" % (pop, got))
        w.close()
        x.close()


def case_h_blocked_command_counts_once(c):
    """A command that blocked on keys is one call in INFO commandstats and
    total_commands_processed, whether it is served or times out, as in
    Redis 7.0 (ext suite stream-cgroups 'XGROUP DESTROY should unblock
    XREADGROUP with -NOGROUP' reads calls=1).  Before, the call that blocked
    counted too: calls=2."""
    n = c.node("--save", "")
    r = cluster.client(n)
    r.execute_command("CONFIG", "RESETSTAT")

    def stat(cmd):
        v = info(r, "commandstats").get("cmdstat_" + cmd, "calls=0,")
        return dict(kv.split("=") for kv in v.split(",") if "=" in kv)

    def total():
        return int(info(r, "stats")["total_commands_processed"])

    w = Raw(n.port)
    w.send(("BLPOP", "bl", 0))
    wait_blocked(r, 1)
    r.rpush("bl", "a")
    rep = w.reply()
    check(rep is not None and "a" in str(rep), "served: %r" % rep)
    check(stat("blpop")["calls"] == "1", "served BLPOP: one call: %r" % stat("blpop"))
    w.send(("BLPOP", "bl2", "0.05"))
    check(w.reply() is None, "timed out")
    check(stat("blpop")["calls"] == "2", "timed-out BLPOP: one call: %r" % stat("blpop"))
    r.xgroup_create("xs", "g", id="$", mkstream=True)
    w.send(("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "xs", ">"))
    wait_blocked(r, 1)
    r.xgroup_destroy("xs", "g")
    rep = w.reply()
    check("NOGROUP" in str(rep), "NOGROUP: %r" % rep)
    st = stat("xreadgroup")
    check(st["calls"] == "1" and st["failed_calls"] == "1", "XREADGROUP: %r" % st)
    # total_commands_processed: the BLPOP once, with the RPUSH and the INFO
    # that reads it.
    w.send(("BLPOP", "bl4", 0))
    wait_blocked(r, 1)
    mark = total()
    r.rpush("bl4", "y")
    w.reply()
    check(total() - mark == 3, "RPUSH + one BLPOP + INFO: %d" % (total() - mark))
    w.close()


CASES = [
    ("h", "a command blocked on keys is one call in the stats", case_h_blocked_command_counts_once),
    ("a", "WAIT times out with its count and keeps the pipeline", case_a_wait_timeout),
    ("b", "WAIT released by a replica's ACK", case_b_wait_released_by_acks),
    ("c", "CLIENT UNBLOCK of a WAIT (timeout and error)", case_c_client_unblock_wait),
    ("d", "WAIT inside MULTI answers at once", case_d_wait_in_multi),
    ("e", "CLIENT PAUSE WRITE holds writes, then releases them in order",
     case_e_pause_write_holds_then_releases),
    ("f", "a disconnect while in WAIT or held leaves nothing", case_f_disconnect_while_waiting),
    ("g", "BZPOPMIN / BLPOP are not woken by a key of another type",
     case_g_wrong_type_does_not_wake_a_pop),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_BLOCK_CASES",
                             lambda fn: cluster.run_in(cluster.Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
