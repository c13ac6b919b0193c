"""Defects that Redis 7.0.15's own test files tagged external:skip found
(utils/redis-suite.sh --spawn), each pinned here against a real node:
client-output-buffer-limit counts the reply blocks' memory (a KEYS reply
just over the limit is cut) and a soft limit closes a client that gets no
more output; a password with a NUL byte is refused, never cut short; an
error of a command EXEC runs is that command's failed call, not EXEC's;
the testing option rdb-key-save-delay slows a save down; turning AOF off
logs the rewrite child's kill; a keyspace table does not grow past
maxmemory (evicting keys to pay for its buckets); eviction counts what
each key's deletion freed, not the tracking invalidations it queued; a
second SIGINT during the final save exits at once.
(AUTH by a user without command permissions: tests/compat/acl.cmds.)

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed".  CACHELY_SKIPPED_CASES=a,c runs
only those.
"""
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
from cluster import LOCAL, Case, Raw, check, client, info, run_in, wait_for  # noqa: E402

import redis  # noqa: E402


def case_a_keys_cut_at_hard_limit(c):
    """obuf-limits.tcl "Obuf limit, KEYS stopped mid-run": 1,000 keys of
    100 characters make a KEYS reply of about 112 KB, 96 KB of it past the
    16 KiB buffer; with `normal 100000 0 0` the blocks holding it take
    more than the limit, so the client is closed (Redis counts the blocks'
    size, not the bytes in them)."""
    n = c.node()
    r = client(n)
    prefix = "long-key-name-prefix-of-100-chars" + "-" * 67
    # Redis's numbers need jemalloc's size classes (a 16 KiB block takes
    # 20 KiB); with libc malloc (the sanitizer build) blocks take about what
    # they hold, so 1,100 keys put the bytes themselves over the limit.
    nkeys = 1000 if info(r, "memory")["mem_allocator"].startswith("jemalloc") else 1100
    r.eval("for i=1,%d do redis.call('set', ARGV[1]..i, i) end" % nkeys, 0, prefix)
    r.config_set("client-output-buffer-limit", "normal 100000 0 0")
    k = Raw(n.port)
    k.send(("KEYS", "*"))
    got = b""
    closed = False
    k.sock.settimeout(5)
    try:
        while True:
            data = k.sock.recv(1 << 16)
            if not data:
                closed = True
                break
            got += data
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    check(closed and len(got) < 100000,
          "KEYS answered %d bytes and the connection %s" % (len(got), "closed" if closed
                                                            else "stayed open"))
    check(int(info(r, "stats")["client_output_buffer_limit_disconnections"]) == 1,
          "one disconnection counted")
    check(r.ping(), "the node still serves")


def case_b_soft_limit_without_traffic(c):
    """obuf-limits.tcl "Client output buffer soft limit is not enforced too
    early and is enforced when no traffic": a subscriber over the pubsub
    soft limit is closed once the limit's seconds pass, though nothing more
    is published to it."""
    n = c.node()
    r = client(n)
    r.config_set("client-output-buffer-limit", "pubsub 0 100000 2")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((LOCAL, n.port))
    slow.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$4\r\nslow\r\n"
                 b"*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nfoo\r\n")
    wait_for(lambda: r.pubsub_numsub("foo")[0][1] == 1, 10, "subscribed")

    def omem():
        for line in r.execute_command("CLIENT", "LIST").splitlines():
            if " name=slow " in line:
                return int(line.split(" omem=")[1].split()[0])
        return None

    payload = "x" * 1000
    deadline = time.time() + 20
    while (omem() or 0) <= 100000:
        check(time.time() < deadline, "omem never passed 100000")
        for _ in range(50):
            r.publish("foo", payload)
    over_at = time.time()
    # No more traffic: the cron must close it after about 2 s.
    wait_for(lambda: omem() is None, 6, "the subscriber closed by its soft limit")
    waited = time.time() - over_at
    check(waited >= 1.5, "closed after %.1f s, before the soft limit's 2 s" % waited)
    slow.close()


def case_c_nul_in_password_refused(c):
    """auth.tcl "AUTH fails when binary password is wrong": option values
    are C strings here, so a requirepass with a NUL byte is refused (it
    was cut at the NUL, and its first part alone then authenticated)."""
    n = c.node()
    r = client(n)
    for name in ("requirepass", "masterauth"):
        try:
            r.execute_command("CONFIG", "SET", name, b"abc\x00def")
            check(False, "CONFIG SET %s with a NUL byte accepted" % name)
        except redis.ResponseError as e:
            check(("possibly related to argument '%s'" % name) in str(e)
                  and "NUL byte" in str(e), "error %r" % str(e))
    check(r.config_get("requirepass")["requirepass"] == "", "requirepass unchanged")
    a = Raw(n.port)
    reply = a.call("AUTH", "abc")
    check(reply.startswith("ERR AUTH <password> called without any password configured"),
          "AUTH abc: %r" % reply)


def case_d_exec_failed_calls(c):
    """info.tcl "errorstats: failed call within MULTI/EXEC": the AUTH
    error inside EXEC is AUTH's failed call; EXEC itself did not fail."""
    n = c.node()
    r = client(n)
    r.config_resetstat()
    m = Raw(n.port)
    m.send(("MULTI",), ("SET", "a", "b"), ("AUTH", "a"), ("EXEC",))
    check(m.reply() == "OK", "MULTI")
    check(m.reply() == "QUEUED" and m.reply() == "QUEUED", "queued")
    res = m.reply()
    check(res[0] == "OK" and res[1].startswith("ERR AUTH"), "EXEC's replies %r" % res)
    stats = info(r, "commandstats")
    check(stats["cmdstat_exec"].endswith("rejected_calls=0,failed_calls=0"),
          "cmdstat_exec %r" % stats["cmdstat_exec"])
    check(stats["cmdstat_auth"].endswith("rejected_calls=0,failed_calls=1"),
          "cmdstat_auth %r" % stats["cmdstat_auth"])
    check(stats["cmdstat_set"].endswith("rejected_calls=0,failed_calls=0"),
          "cmdstat_set %r" % stats["cmdstat_set"])
    # EXEC's own error still counts as EXEC's
    check(m.call("EXEC").startswith("ERR EXEC without MULTI"), "EXEC without MULTI")
    stats = info(r, "commandstats")
    check(stats["cmdstat_exec"].endswith("rejected_calls=0,failed_calls=1"),
          "cmdstat_exec after EXEC without MULTI %r" % stats["cmdstat_exec"])


def case_e_rdb_key_save_delay(c):
    """aofrw.tcl, shutdown.tcl and others slow a BGSAVE down with the
    testing option rdb-key-save-delay (microseconds per key): 40 keys at
    25 ms each keep the save running for about a second."""
    n = c.node()
    r = client(n)
    for i in range(40):
        r.set("k%d" % i, i)
    r.config_set("rdb-key-save-delay", "25000")
    check(r.config_get("rdb-key-save-delay") == {"rdb-key-save-delay": "25000"}, "CONFIG GET")
    check("rdb-key-save-delay" not in r.config_get("*"), "not listed by CONFIG GET *")
    r.bgsave()
    time.sleep(0.4)
    check(info(r, "persistence")["rdb_bgsave_in_progress"] == "1", "BGSAVE still running")
    wait_for(lambda: info(r, "persistence")["rdb_bgsave_in_progress"] == "0", 10,
             "BGSAVE done")
    check(info(r, "persistence")["rdb_last_bgsave_status"] == "ok", "BGSAVE ok")
    r.config_set("rdb-key-save-delay", "0")


def case_f_aof_off_kills_rewrite_logged(c):
    """aofrw.tcl "Turning off AOF kills the background writing child if
    any" waits for "Killing ... AOF ... child" in the log."""
    n = c.node()
    r = client(n)
    r.config_set("appendonly", "yes")
    wait_for(lambda: info(r, "persistence")["aof_rewrite_in_progress"] == "0"
             and info(r, "persistence")["aof_enabled"] == "1", 10, "first rewrite done")
    r.set("k", "v")
    r.config_set("rdb-key-save-delay", "10000000")
    r.bgrewriteaof()
    wait_for(lambda: info(r, "persistence")["aof_rewrite_in_progress"] == "1", 10,
             "rewrite running")
    r.config_set("appendonly", "no")
    with open(n.log, errors="replace") as f:
        log = f.read()
    check("Killing running AOF rewrite child: " in log, "no kill line in %r" % log[-600:])
    check(info(r, "persistence")["aof_rewrite_in_progress"] == "0", "rewrite stopped")
    r.config_set("rdb-key-save-delay", "0")


def case_g_no_dict_growth_past_maxmemory(c):
    """maxmemory.tcl "Don't rehash if used memory exceeds maxmemory after
    rehash": 4,096 keys fill the table; with maxmemory 10 KiB above what
    is used, the next key would double the table (a 64 KiB bucket array)
    and evict about a quarter of the keys to pay for it.  The table waits
    instead, as in Redis 7.0, and nothing is evicted."""
    n = c.node()
    r = client(n)
    # as Redis's test: a command's first call would add its latency
    # histogram (about 24 KB) to the memory measured
    r.config_set("latency-tracking", "no")
    r.config_set("maxmemory-policy", "allkeys-random")
    r.eval("for i=0,4095 do redis.call('set', 'key:'..i, 'x') end", 0)
    used = int(info(r, "memory")["used_memory"])
    r.config_set("maxmemory", used + 10 * 1024)
    r.set("k1", "v1")
    r.set("k2", "v2")
    check(r.dbsize() == 4098, "dbsize %d: keys evicted for the table's growth" % r.dbsize())
    check(info(r, "stats")["evicted_keys"] == "0", "evicted_keys %s"
          % info(r, "stats")["evicted_keys"])
    # Past 1.618 keys a bucket the table grows anyway (and eviction pays).
    r.config_set("maxmemory", 0)
    r.eval("for i=4096,6999 do redis.call('set', 'key:'..i, 'x') end", 0)
    check(r.dbsize() == 7002, "without maxmemory every key stays")


def case_h_tracking_no_eviction_feedback(c):
    """maxmemory.tcl "client tracking don't cause eviction feedback loop",
    made certain to bite: 30 RESP3 clients track 300 keys of 1,000-byte
    names, then maxmemory goes 200,000 bytes under what is used, with
    maxmemory-eviction-tenacity 100 (no time limit: one command evicts
    all it must).  Each evicted key queues a 1 KB invalidation to each of
    the 30 clients, so once their 16 KiB buffers are full the used total
    grows with every key evicted; counting that total after each key (as
    the loop did) evicted every key.  Each key now counts what its
    deletion freed, as in Redis (the invalidations and the tracking
    table's own copy of the name are dealt with after the count).  With
    the old loop: 300 of 300 keys."""
    n = c.node()
    r = client(n)
    r.config_set("latency-tracking", "no")
    r.config_set("maxmemory-policy", "allkeys-lru")
    r.config_set("maxmemory-eviction-tenacity", 100)
    keys = ["%d%s" % (j, "x" * 1000) for j in range(300)]
    for k in keys:
        r.set(k, "x")
    trackers = []
    for _ in range(30):
        t = Raw(n.port)
        t.send(("HELLO", "3"), ("CLIENT", "TRACKING", "on"))
        t.reply()
        t.reply()
        t.send(*[("GET", k) for k in keys])
        for _ in keys:
            t.reply()
        trackers.append(t)
    time.sleep(1.1)  # the cron trims the query buffers the GETs grew
    used = int(info(r, "memory")["used_memory"])
    r.config_set("maxmemory", used - 200000)
    evicted = int(info(r, "stats")["evicted_keys"])  # INFO's call evicts
    r.config_set("maxmemory", 0)
    size = r.dbsize()
    # A key with its 1,000-byte name frees about 1 KB: some 190 keys.
    check(100 <= evicted <= 250, "%d keys evicted to free 200,000 bytes" % evicted)
    check(size == 300 - evicted, "dbsize %d after %d evicted" % (size, evicted))
    for t in trackers:
        t.sock.close()


def case_i_second_sigint_during_final_save(c):
    """shutdown.tcl "Temp rdb will be deleted in signal handle": a SIGINT
    starts the final snapshot, slowed down here (rdb-key-save-delay, about
    2 s for 10,000 keys); a second SIGINT exits at once with status 1 and
    removes the temp file, logging Redis's words.  Before, the signal
    waited for the save to end (the loop that reads signals was not
    running), and the process then exited cleanly."""
    n = c.node("--save", "900 1", "--rdb-key-save-delay", "200")
    r = client(n)
    r.eval("for i=1,10000 do redis.call('set','k'..i,'v') end", 0)
    pid = n.proc.pid
    temp = os.path.join(n.dir, "temp-%d.cachely" % pid)
    n.proc.send_signal(signal.SIGINT)
    wait_for(lambda: os.path.exists(temp), 5, "the final save started")
    t0 = time.time()
    n.proc.send_signal(signal.SIGINT)
    try:
        rc = n.proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    n.killed = True  # its status is checked here
    check(rc == 1, "exit status %r %.2f s after the second SIGINT" % (rc, took))
    check(not os.path.exists(temp), "the temp file is left behind")
    with open(n.log, errors="replace") as f:
        log = f.read()
    check("You insist... exiting now." in log, "no insist line in %r" % log[-400:])


CASES = [
    ("a", "a KEYS reply over the hard limit in block memory is cut", case_a_keys_cut_at_hard_limit),
    ("b", "a soft limit closes a client that gets no more output", case_b_soft_limit_without_traffic),
    ("c", "a password with a NUL byte is refused, not cut", case_c_nul_in_password_refused),
    ("d", "an error inside EXEC is the inner command's failed call", case_d_exec_failed_calls),
    ("e", "rdb-key-save-delay slows a BGSAVE down", case_e_rdb_key_save_delay),
    ("f", "turning AOF off logs the rewrite child's kill", case_f_aof_off_kills_rewrite_logged),
    ("g", "the keyspace's table does not grow past maxmemory", case_g_no_dict_growth_past_maxmemory),
    ("h", "tracking invalidations do not feed eviction", case_h_tracking_no_eviction_feedback),
    ("i", "a second SIGINT during the final save exits at once", case_i_second_sigint_during_final_save),
]


def main():
    return cluster.run_cases(CASES, "", "CACHELY_SKIPPED_CASES", lambda fn: run_in(Case(), fn))


if __name__ == "__main__":
    sys.exit(main())
