"""Persistence end to end: snapshot files (SAVE, BGSAVE, save schedules,
loading at boot, corrupt and truncated files), the append-only file (kill -9
under appendfsync always, a truncated tail, BGREWRITEAOF) and a replica that
resumes with a partial resync after a restart.

Each case starts its own cachely-server processes on free 127.0.0.1 ports
with a data directory of its own, kept across restarts.  Run with
/usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names the build.
Prints "N passed, M failed".  CACHELY_PERSIST_CASES=a,c runs only those.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster  # noqa: E402  (puts tests/compat on sys.path)
import servers  # noqa: E402
from cluster import LOCAL, check, info, resp, wait_for  # noqa: E402,F401

import redis  # noqa: E402

SNAP = "dump.cachely"
AOF = "appendonly.cachely"

# ---- helpers -----------------------------------------------------------------


def crc64(data, crc=0):
    """CRC-64/XZ, bit by bit: the reference the server's table must match."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xC96C5795D7870F42 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def split_snapshot(data):
    """(header text, body bytes, trailer text) of a snapshot file."""
    m = re.match(rb"\*2\r\n\$4\r\nECHO\r\n\$(\d+)\r\n", data)
    assert m, "no ECHO header"
    n = int(m.group(1))
    header = data[m.end():m.end() + n].decode()
    body_start = m.end() + n + 2
    t = data.rindex(b"*2\r\n$4\r\nECHO\r\n")
    m2 = re.match(rb"\*2\r\n\$4\r\nECHO\r\n\$(\d+)\r\n", data[t:])
    trailer = data[t + m2.end():t + m2.end() + int(m2.group(1))].decode()
    return header, data[body_start:t], trailer


def make_snapshot(body, replid="0" * 40, offset=0):
    head = "CACHELY-SNAPSHOT 1 replid=%s offset=%d db=0 time=%d" % (
        replid, offset, int(time.time() * 1000))
    tail = "CACHELY-END bytes=%d crc64=%016x" % (len(body), crc64(body))
    return resp("ECHO", head) + body + resp("ECHO", tail)


RUNNING = []  # every Node of the current case, stopped after it


class Node:
    """A cachely-server on its own data dir, which outlives restarts."""

    def __init__(self, datadir, *args):
        self.datadir = datadir
        self.args = [str(a) for a in args]
        self.srv = None
        RUNNING.append(self)

    def start(self, *extra):
        self.srv = cluster.Node("--dir", self.datadir, *(self.args + [str(a) for a in extra]))
        return self

    @property
    def port(self):
        return self.srv.port

    def client(self, db=0, decode=True):
        r = redis.Redis(host=LOCAL, port=self.srv.port, db=db,
                        decode_responses=decode, socket_timeout=20)
        # Keep the server's own words, not redis-py's booleans.
        for cmd in ("INFO", "SAVE", "BGSAVE", "BGREWRITEAOF"):
            r.set_response_callback(cmd, lambda resp, **kw: resp)
        return r

    def stop(self, check_status=True):
        """SIGTERM (a clean shutdown), which must exit with status 0 (a
        sanitizer report would not)."""
        if self.srv is None:
            return 0
        rc = self.srv.stop()
        self.srv = None
        if check_status and rc != 0:
            raise AssertionError("server exited with status %r" % rc)
        return rc

    def kill9(self):
        self.srv.kill()
        self.srv.stop()  # the status of a kill -9 is expected; removes its temp dir
        self.srv = None

    def path(self, name):
        return os.path.join(self.datadir, name)


def epoch(r):
    return int(info(r, "replication")["config_epoch"])


def boot_fails(datadir, *args):
    """Start a server expected to refuse to boot; returns (status, log)."""
    log = os.path.join(datadir, "boot-fail.log")
    if os.path.exists(log):
        os.unlink(log)
    argv = [servers.CACHELY, "--port", str(servers.free_port()), "--bind", LOCAL,
            "--dir", datadir, "--logfile", log] + [str(a) for a in args]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "still running"
    with open(log) as f:
        text = f.read()
    return rc, text


# The value shapes every round trip covers: (db, key, value, ttl kind).
BIG = bytes(range(256)) * 4096  # 1 MiB, every byte value


def shapes():
    return [
        (0, b"plain", b"value", None),
        (0, b"bin\x00key\r\n*3\r\n", b"v\x00al\r\nue\r\n$5\r\n", None),
        (0, b"empty", b"", None),
        (0, b"", b"empty key", None),
        (0, b"big", BIG, None),
        (0, b"ttl", b"expires later", "long"),
        (0, b"short", b"expires soon", "short"),
        (3, b"in db 3", b"three", None),
        (15, b"in db 15", b"fifteen", "long"),
        (7, b"\xff\xfe", b"\x00", None),
    ]


def write_shapes(node):
    expect = {}
    for db, k, v, ttl in shapes():
        r = node.client(db, decode=False)
        if ttl == "long":
            r.set(k, v, px=3600 * 1000)
        elif ttl == "short":
            r.set(k, v, px=1500)
        else:
            r.set(k, v)
        expect[(db, k)] = (v, r.execute_command("PEXPIRETIME", k))
    # A key that expired before the save: absent from the file.
    node.client(0).set("gone-before", "x", px=1)
    return expect


def check_shapes(node, expect, short_gone):
    for (db, k), (v, exp) in expect.items():
        r = node.client(db, decode=False)
        if k == b"short" and short_gone:
            check(r.get(k) is None, "expired key came back: %r" % k)
            continue
        got = r.get(k)
        check(got == v, "db %d key %r: got %r bytes" % (db, k, None if got is None else len(got)))
        check(r.execute_command("PEXPIRETIME", k) == exp,
              "db %d key %r: expiry %r, expected %r"
              % (db, k, r.execute_command("PEXPIRETIME", k), exp))
    check(node.client(0).get("gone-before") is None, "a key expired before the save came back")


# ---- cases -------------------------------------------------------------------


def case_a_crc_and_format(tmp):
    """CRC-64 reference check value; the server's file has the format the
    contract says; a file written here (our own CRC) loads."""
    check(crc64(b"123456789") == 0x995DC9BBDF1939FA, "python CRC-64/XZ reference")
    n = Node(tmp).start()
    r = n.client(decode=False)
    r.set(b"k\x00\r\n", b"v" * 1000)
    r.execute_command("SELECT", 2)
    check(r.execute_command("SAVE") == b"OK", "SAVE reply")
    n.stop()
    data = open(n.path(SNAP), "rb").read()
    header, body, trailer = split_snapshot(data)
    check(re.fullmatch(r"CACHELY-SNAPSHOT 3 replid=[0-9a-f]{40} offset=\d+ db=\d+ epoch=0 "
                       r"time=\d{13}", header), "header %r" % header)
    # Version 3: the checksum covers the header frame, then the body.
    sum_ = crc64(body, crc64(resp("ECHO", header)))
    check(trailer == "CACHELY-END bytes=%d crc64=%016x" % (len(body), sum_),
          "trailer %r vs bytes=%d crc64=%016x" % (trailer, len(body), sum_))
    check(body.startswith(resp("SELECT", 0)), "body starts with SELECT 0: %r" % body[:40])
    # Hand-made file: our CRC, binary bytes, a past PXAT (absent after load).
    past = int(time.time() * 1000) - 10000
    future = int(time.time() * 1000) + 3600 * 1000
    body = (resp("SELECT", 5) + resp("SET", b"a\r\nb", b"\x00\x01")
            + resp("SET", "old", "x", "PXAT", past)
            + resp("SET", "new", "y", "PXAT", future))
    with open(n.path(SNAP), "wb") as f:
        f.write(make_snapshot(body))
    n.start()
    r = n.client(5, decode=False)
    check(r.get(b"a\r\nb") == b"\x00\x01", "hand-made snapshot value")
    check(r.get("old") is None, "past PXAT key present")
    check(r.execute_command("PEXPIRETIME", "new") == future, "PXAT preserved")
    check(int(info(r, "persistence")["rdb_last_load_keys_loaded"]) >= 2, "keys loaded")
    n.stop()


def case_b_save_round_trip(tmp):
    n = Node(tmp).start()
    expect = write_shapes(n)
    time.sleep(0.01)
    check(n.client().execute_command("SAVE") == "OK", "SAVE")
    n.stop()
    time.sleep(1.6)  # the 1.5 s key expires while the server is down
    n.start()
    check_shapes(n, expect, short_gone=True)
    n.stop()


def case_c_bgsave_round_trip(tmp):
    n = Node(tmp).start()
    r = n.client()
    expect = write_shapes(n)
    # A key that expires after the fork is a change after the save (Redis
    # counts it too): with active expiry off, and gone-before (1 ms) taken
    # out lazily first, nothing expires between the fork and the check,
    # however slow the machine.
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    time.sleep(0.005)
    check(r.exists("gone-before") == 0, "gone-before expired")
    before = info(r, "persistence")
    check(r.execute_command("BGSAVE") == "Background saving started", "BGSAVE reply")
    wait_for(lambda: int(info(r, "persistence")["rdb_saves"]) > int(before["rdb_saves"])
             and info(r, "persistence")["rdb_bgsave_in_progress"] == "0", 10, "BGSAVE done")
    st = info(r, "persistence")
    check(st["rdb_last_bgsave_status"] == "ok", "bgsave status %r" % st)
    check(st["rdb_changes_since_last_save"] == "0", "changes after bgsave %r"
          % st["rdb_changes_since_last_save"])
    n.stop()
    n.start()
    check_shapes(n, expect, short_gone=False)
    n.stop()


def case_d_save_schedule_and_lastsave(tmp):
    n = Node(tmp, "--save", "1 1").start()
    r = n.client()
    check(r.config_get("save")["save"] == "1 1", "CONFIG GET save")
    first = r.lastsave()
    st = info(r, "persistence")
    check(int(st["rdb_last_save_time"]) == int(first.timestamp()), "LASTSAVE = boot time")
    time.sleep(1.1)  # LASTSAVE has a one-second resolution
    r.set("k", "v")
    wait_for(lambda: os.path.exists(n.path(SNAP)), 10, "the scheduled BGSAVE")
    wait_for(lambda: r.lastsave() > first, 5, "LASTSAVE to advance")
    st = info(r, "persistence")
    check(st["rdb_changes_since_last_save"] == "0", "changes %r" % st)
    # save "" turns the schedule off.
    r.config_set("save", "")
    saves = int(info(r, "persistence")["rdb_saves"])
    r.set("k2", "v")
    time.sleep(2.5)
    check(int(info(r, "persistence")["rdb_saves"]) == saves, "saved with save \"\"")
    try:
        r.config_set("save", "1 x")
        check(False, "bad save accepted")
    except redis.ResponseError as e:
        check("Invalid save parameters" in str(e), "save error %s" % e)
    n.stop()


def case_e_corrupt_and_truncated(tmp):
    n = Node(tmp).start()
    r = n.client()
    for i in range(200):
        r.set("key:%d" % i, "value:%d" % i)
    r.execute_command("SAVE")
    n.stop()
    good = open(n.path(SNAP), "rb").read()
    header, body, _ = split_snapshot(good)
    path = os.path.realpath(n.path(SNAP))
    # A flipped byte inside a value: the checksum catches it.
    pos = good.index(b"value:100")
    bad = bytearray(good)
    bad[pos] ^= 0x20
    open(path, "wb").write(bytes(bad))
    rc, log = boot_fails(tmp)
    check(rc not in (0, "still running"), "corrupt file: exit status %r" % rc)
    m = re.search(r"Bad snapshot file (\S+) at offset (\d+): checksum mismatch", log)
    check(m and m.group(1) == path, "corrupt file log: %r" % log[-600:])
    check(int(m.group(2)) == len(good) - len(resp("ECHO", _tail(good))),
          "checksum error offset %s" % m.group(2))
    # Cut in the middle of a command, then right before the trailer.
    for cut, why in ((len(good) // 2, "truncated"),
                     (len(good) - len(resp("ECHO", _tail(good))), "truncated")):
        open(path, "wb").write(good[:cut])
        rc, log = boot_fails(tmp)
        check(rc not in (0, "still running"), "truncated file: exit status %r" % rc)
        m = re.search(r"Bad snapshot file (\S+) at offset (\d+): (.*)", log)
        check(m and m.group(1) == path and why in m.group(3),
              "truncated file log: %r" % log[-600:])
        check(int(m.group(2)) <= cut, "offset %s past the cut %d" % (m.group(2), cut))
    # The intact file still loads.
    open(path, "wb").write(good)
    n.start()
    check(n.client().get("key:100") == "value:100", "good file after the bad ones")
    n.stop()


def case_l_flipped_header_bytes(tmp):
    """Issue 9 item 18: the header (replication id, offset, epoch) was
    outside the checksum, so a flipped digit loaded silently.  Now every
    byte of the header is covered: a flip stops the boot with the file,
    the offset and the reason.  A body flip still does; files of the
    previous versions (1 and 2, header unchecked) still load."""
    n = Node(tmp).start()
    r = n.client()
    for i in range(50):
        r.set("key:%d" % i, "value:%d" % i)
    check(r.execute_command("REPLICAOF", "NO", "ONE", "EPOCH", 7) == "OK", "EPOCH 7")
    r.execute_command("SAVE")
    n.stop()
    good = open(n.path(SNAP), "rb").read()
    header, body, trailer = split_snapshot(good)
    path = os.path.realpath(n.path(SNAP))
    hstart = good.index(header.encode())
    m = re.search(r"offset=(\d+) db=\d+ epoch=(\d+) time=(\d+)", header)
    flips = [
        ("a replid hex digit", hstart + header.index("replid=") + 7),
        ("an offset digit", hstart + m.start(1)),
        ("an epoch digit", hstart + m.start(2)),
        ("a time digit", hstart + m.start(3) + 5),
    ]
    for what, pos in flips:
        bad = bytearray(good)
        c = bad[pos]
        # Another character of the same class, so the header still parses.
        bad[pos] = ord("1") if c == ord("0") else ord("0") if c in b"123456789" else \
            ord("a") if c != ord("a") else ord("b")
        open(path, "wb").write(bytes(bad))
        rc, log = boot_fails(tmp)
        check(rc not in (0, "still running"), "flipped %s: exit status %r" % (what, rc))
        check(re.search(r"Bad snapshot file %s at offset \d+: checksum mismatch"
                        % re.escape(path), log),
              "flipped %s: log %r" % (what, log[-600:]))
    # A flipped byte in a command name of the body: refused too.
    pos = good.index(b"$3\r\nSET\r\n", hstart) + 6
    bad = bytearray(good)
    bad[pos] = ord("U")
    open(path, "wb").write(bytes(bad))
    rc, log = boot_fails(tmp)
    check(rc not in (0, "still running"), "SET -> SEU in a snapshot: status %r" % rc)
    check(re.search(r"Bad snapshot file %s at offset \d+: unknown command 'SEU'"
                    % re.escape(path), log), "SEU in a snapshot: log %r" % log[-600:])
    # Version 2 and version 1 files (checksum over the body only) load.
    v2 = ("CACHELY-SNAPSHOT 2 replid=%s offset=0 db=0 epoch=7 time=%d"
          % ("0" * 40, int(time.time() * 1000)))
    tail = "CACHELY-END bytes=%d crc64=%016x" % (len(body), crc64(body))
    open(path, "wb").write(resp("ECHO", v2) + body + resp("ECHO", tail))
    n.start()
    r = n.client()
    check(r.get("key:10") == "value:10" and epoch(r) == 7, "a version 2 file loads")
    n.stop()
    open(path, "wb").write(make_snapshot(body))
    n.start()
    check(n.client().get("key:49") == "value:49", "a version 1 file loads")
    n.stop()


def case_m_aof_unknown_command(tmp):
    """Issue 9 item 18: a flipped byte turning SET into SEU in the
    append-only file booted with a warning and lost the key.  Now the boot
    stops, naming the file, the offset and the command, whatever
    aof-load-truncated says; nothing of the file is applied."""
    n = Node(tmp, "--appendonly", "yes").start()
    r = n.client()
    for i in range(20):
        r.set("k%d" % i, "v%d" % i)
    n.stop()
    aof = n.path(AOF)
    good = open(aof, "rb").read()
    pos = good.index(b"$3\r\nSET\r\n$3\r\nk10\r\n")
    frame = good.rindex(b"*3\r\n", 0, pos)
    bad = bytearray(good)
    bad[pos + 6] = ord("U")
    open(aof, "wb").write(bytes(bad))
    for extra in ((), ("--aof-load-truncated", "yes"), ("--aof-load-truncated", "no")):
        rc, log = boot_fails(tmp, "--appendonly", "yes", *extra)
        check(rc not in (0, "still running"), "SEU %r: exit status %r" % (extra, rc))
        check(re.search(r"Bad append-only file %s at offset %d: unknown command 'SEU'"
                        % (re.escape(os.path.realpath(aof)), frame), log),
              "SEU %r: log %r" % (extra, log[-600:]))
    # Wrong arity for a known command (SET with one argument, well framed).
    open(aof, "wb").write(good + resp("SET", "lonely"))
    rc, log = boot_fails(tmp, "--appendonly", "yes")
    check(rc not in (0, "still running"), "SET with 1 argument: status %r" % rc)
    check(re.search(r"Bad append-only file \S+ at offset %d: wrong number of arguments"
                    % len(good), log), "arity: log %r" % log[-600:])
    # A command the writers never write (found while building the loader's
    # fuzz target: a loaded file could run SHUTDOWN, CONFIG SET, DEBUG...).
    open(aof, "wb").write(good + resp("CONFIG", "SET", "dir", "/"))
    rc, log = boot_fails(tmp, "--appendonly", "yes")
    check(rc not in (0, "still running"), "CONFIG SET in the AOF: status %r" % rc)
    check(re.search(r"Bad append-only file \S+ at offset %d: command 'CONFIG' does not "
                    r"belong in a loaded file" % len(good), log), "CONFIG: log %r" % log[-600:])
    # The intact file loads, with the PING and REPLCONF GETACK a master's
    # stream carries.
    open(aof, "wb").write(good + resp("PING") + resp("REPLCONF", "GETACK", "*"))
    n.start()
    check(n.client().get("k10") == "v10", "the intact file loads")
    n.stop()


def _tail(data):
    return split_snapshot(data)[2]


def case_f_aof_always_kill9(tmp):
    n = Node(tmp, "--appendonly", "yes", "--appendfsync", "always").start()
    acked_counters = {}
    acked_sets = {}
    stop = threading.Event()
    errors = []

    def writer(idx):
        r = n.client()
        i = 0
        try:
            while not stop.is_set():
                key = "w%d:%d" % (idx, i)
                r.set(key, "v%d" % i)
                acked_sets[key] = "v%d" % i
                c = "counter:%d" % (i % 5)
                v = r.incr("%s:%d" % (c, idx))
                acked_counters["%s:%d" % (c, idx)] = v
                i += 1
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        except Exception as e:  # noqa
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked_sets) >= 600, 30, "600 acked writes")
    n.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    check(not errors, "writer errors %r" % errors)
    n.start()
    r = n.client()
    missing = [k for k, v in acked_sets.items() if r.get(k) != v]
    check(not missing, "%d acked SETs lost, e.g. %r" % (len(missing), missing[:3]))
    low = [(k, v, r.get(k)) for k, v in acked_counters.items()
           if r.get(k) is None or int(r.get(k)) < v]
    check(not low, "acked INCRs lost: %r" % low[:3])
    check(info(r, "persistence")["aof_enabled"] == "1", "aof_enabled")
    n.stop()


def case_g_aof_truncated_tail(tmp):
    n = Node(tmp, "--appendonly", "yes").start()
    r = n.client()
    for i in range(50):
        r.set("k%d" % i, "v%d" % i)
    r.incr("n")
    n.stop()
    aof = n.path(AOF)
    size = os.path.getsize(aof)
    half = resp("SET", "partial", "x" * 100)[:40]
    with open(aof, "ab") as f:
        f.write(half)
    # aof-load-truncated no: refuses, naming the file and the offset.
    rc, log = boot_fails(tmp, "--appendonly", "yes", "--aof-load-truncated", "no")
    check(rc not in (0, "still running"), "aof-load-truncated no: status %r" % rc)
    check(re.search(r"Bad append-only file %s at offset %d: truncated"
                    % (re.escape(os.path.realpath(aof)), size), log),
          "aof-load-truncated no log: %r" % log[-600:])
    # yes (the default): a warning with the offset, the data before it.
    n.start()
    r = n.client()
    check(r.get("k49") == "v49" and r.get("n") == "1" and r.get("partial") is None,
          "data before the truncated tail")
    log = open(n.srv.log).read()
    check(re.search(r"truncated at offset %d" % size, log), "warning: %r" % log[-600:])
    check(os.path.getsize(aof) >= size, "file size")
    r.set("after", "1")
    n.stop()
    n.start()
    check(n.client().get("after") == "1" and n.client().get("k0") == "v0",
          "writes after the cut survive a restart")
    n.stop()
    # A bad byte in the middle stops the boot whatever aof-load-truncated says.
    data = open(aof, "rb").read()
    pos = data.index(b"*3\r\n$3\r\nSET\r\n$3\r\nk10")
    open(aof, "wb").write(data[:pos] + b"#" + data[pos + 1:])
    rc, log = boot_fails(tmp, "--appendonly", "yes")
    check(rc not in (0, "still running"), "bad AOF: status %r" % rc)
    check(re.search(r"Bad append-only file \S+ at offset %d" % pos, log),
          "bad AOF log: %r" % log[-600:])


def case_h_bgrewriteaof(tmp):
    n = Node(tmp, "--appendonly", "yes", "--auto-aof-rewrite-percentage", "0").start()
    r = n.client()
    p = r.pipeline(transaction=False)
    for i in range(20000):
        p.set("k%d" % (i % 100), "value-%d" % i)
    p.execute()
    r.execute_command("SELECT", 4)
    r.set("in4", "x")
    before = os.path.getsize(n.path(AOF))
    # Writes keep coming while the rewrite runs.
    stop = threading.Event()
    during = {}

    def writer():
        w = n.client(db=2)
        i = 0
        try:
            while not stop.is_set():
                w.set("during:%d" % i, i)
                during["during:%d" % i] = str(i)
                i += 1
        except (redis.ConnectionError, redis.TimeoutError):
            pass

    t = threading.Thread(target=writer)
    t.start()
    wait_for(lambda: len(during) > 50, 10, "writes before the rewrite")
    check(r.execute_command("BGREWRITEAOF")
          == "Background append only file rewriting started", "BGREWRITEAOF reply")
    wait_for(lambda: info(r, "persistence")["aof_rewrites"] == "1"
             and info(r, "persistence")["aof_rewrite_in_progress"] == "0", 20, "the rewrite")
    n0 = len(during)
    wait_for(lambda: len(during) > n0 + 50, 10, "writes after the rewrite")
    stop.set()
    t.join()
    after = os.path.getsize(n.path(AOF))
    check(info(r, "persistence")["aof_last_bgrewrite_status"] == "ok", "rewrite status")
    n.kill9()
    n.start()
    r = n.client()
    check(r.get("k99") == "value-19999", "last overwrite kept: %r" % r.get("k99"))
    check(n.client(4).get("in4") == "x", "db 4 key")
    r2 = n.client(2)
    missing = [k for k, v in during.items() if r2.get(k) != v]
    check(not missing, "%d writes made around the rewrite lost: %r"
          % (len(missing), missing[:3]))
    check(after < before, "the rewrite did not shrink the file: %d -> %d" % (before, after))
    n.stop()


def case_i_replica_restart_partial(tmp):
    mdir = os.path.join(tmp, "master")
    rdir = os.path.join(tmp, "replica")
    os.mkdir(mdir)
    os.mkdir(rdir)
    m = Node(mdir).start()
    mc = m.client()
    for i in range(100):
        mc.set("k%d" % i, "v%d" % i)
    rep = Node(rdir, "--save", "3600 1")
    rep.start("--replicaof", LOCAL, m.port)
    rc = rep.client()
    wait_for(lambda: info(rc, "replication")["master_link_status"] == "up", 10, "link up")
    mc.set("more", "1")
    wait_for(lambda: rc.get("more") == "1", 10, "replica caught up")
    st0 = info(mc, "stats")
    check(rep.stop() == 0, "replica SIGTERM exit status")
    check(os.path.exists(rep.path(SNAP)), "final snapshot of the replica")
    header, _, _ = split_snapshot(open(rep.path(SNAP), "rb").read())
    check(info(mc, "replication")["master_replid"] in header, "replid in %r" % header)
    for i in range(20):
        mc.set("while-down:%d" % i, i)
    mc.delete("k5")
    rep.start("--replicaof", LOCAL, m.port)
    rc = rep.client()
    wait_for(lambda: info(rc, "replication")["master_link_status"] == "up", 10,
             "link up after the restart")
    wait_for(lambda: rc.get("while-down:19") == "19", 10, "writes made while down")
    st1 = info(mc, "stats")
    check(int(st1["sync_partial_ok"]) == int(st0["sync_partial_ok"]) + 1,
          "sync_partial_ok %s -> %s" % (st0["sync_partial_ok"], st1["sync_partial_ok"]))
    check(st1["sync_full"] == st0["sync_full"],
          "sync_full %s -> %s" % (st0["sync_full"], st1["sync_full"]))
    wait_for(lambda: mc.execute_command("DEBUG", "DIGEST")
             == rc.execute_command("DEBUG", "DIGEST"), 10, "equal digests")
    rep.stop()
    m.stop()


def case_j_shutdown_save_nosave(tmp):
    n = Node(tmp, "--save", "3600 1").start()
    r = n.client()
    r.set("a", "1")
    try:
        r.execute_command("SHUTDOWN", "NOSAVE")
    except redis.ConnectionError:
        pass
    n.srv.proc.wait(10)
    check(not os.path.exists(n.path(SNAP)), "SHUTDOWN NOSAVE wrote a snapshot")
    n.stop()
    n.start("--save", "")
    r = n.client()
    r.set("b", "2")
    try:
        r.execute_command("SHUTDOWN", "SAVE")
    except redis.ConnectionError:
        pass
    n.srv.proc.wait(10)
    check(os.path.exists(n.path(SNAP)), "SHUTDOWN SAVE wrote no snapshot")
    n.stop()
    n.start()
    check(n.client().get("b") == "2", "SHUTDOWN SAVE data")
    n.stop()


def case_k_config_set_appendonly_run(tmp):
    n = Node(tmp).start()
    r = n.client()
    for i in range(100):
        r.set("k%d" % i, i)
    check(info(r, "persistence")["aof_enabled"] == "0", "aof off")
    r.config_set("appendonly", "yes")
    wait_for(lambda: info(r, "persistence")["aof_rewrites"] == "1"
             and os.path.exists(n.path(AOF)), 10, "the AOF to be created")
    r.set("after", "x")
    try:
        r.execute_command("BGSAVE", "foo")
        check(False, "BGSAVE foo accepted")
    except redis.ResponseError as e:
        check(str(e) == "syntax error", "BGSAVE foo: %s" % e)
    n.kill9()
    n.start("--appendonly", "yes")
    r = n.client()
    check(r.get("k99") == "99" and r.get("after") == "x", "data from the runtime AOF")
    n.stop()


CASES = [
    ("a", "CRC-64 and the snapshot format", case_a_crc_and_format),
    ("b", "SAVE + restart round trip of every value shape", case_b_save_round_trip),
    ("c", "BGSAVE + restart round trip", case_c_bgsave_round_trip),
    ("d", "save schedule triggers BGSAVE; LASTSAVE advances", case_d_save_schedule_and_lastsave),
    ("e", "corrupt and truncated snapshots stop the boot", case_e_corrupt_and_truncated),
    ("f", "appendfsync always + kill -9 keeps every acked write", case_f_aof_always_kill9),
    ("g", "AOF truncated tail and bad bytes", case_g_aof_truncated_tail),
    ("h", "BGREWRITEAOF shrinks the file, keeps writes made meanwhile", case_h_bgrewriteaof),
    ("i", "replica restart resumes with a partial resync", case_i_replica_restart_partial),
    ("j", "SHUTDOWN SAVE / NOSAVE", case_j_shutdown_save_nosave),
    ("k", "CONFIG SET appendonly yes at run time", case_k_config_set_appendonly_run),
    ("l", "a flipped snapshot header byte stops the boot", case_l_flipped_header_bytes),
    ("m", "an unknown command in the AOF stops the boot", case_m_aof_unknown_command),
]


def run_case(fn):
    """fn(tmp) with a data dir of its own; the servers it left running are
    stopped after it (their logs printed when it failed)."""
    tmp = tempfile.mkdtemp(prefix="cachely-persist-")
    ok = False
    try:
        fn(tmp)
        ok = True
    finally:
        for node in RUNNING:
            if node.srv is not None:
                if not ok:
                    node.srv.dump_log()
                node.stop(check_status=False)
        del RUNNING[:]
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    return cluster.run_cases(CASES, "", "CACHELY_PERSIST_CASES", run_case)


if __name__ == "__main__":
    sys.exit(main())
