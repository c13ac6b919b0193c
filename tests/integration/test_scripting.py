"""Scripts and functions against real cachely-server processes: a busy
script answered -BUSY to others and stopped by SCRIPT KILL, UNKILLABLE after
a write and SHUTDOWN NOSAVE then, functions surviving a restart through the
AOF, a kill -9 in the middle of a script with appendfsync always (all or
nothing), and a replica receiving functions and script effects.

Run with /usr/bin/python3 (Debian's python3-redis); CACHELY_BUILDDIR names
the build.  Prints "N passed, M failed"."""
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "compat"))
from servers import Results, Server  # noqa: E402

import redis  # noqa: E402


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except redis.exceptions.BusyLoadingError:
            pass
        except redis.exceptions.ResponseError:
            pass
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def client(srv, **kw):
    return redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=20, **kw)


def run_in_thread(fn):
    out = {}

    def body():
        try:
            out["reply"] = fn()
        except Exception as e:  # the script's error is the result
            out["error"] = str(e)
    t = threading.Thread(target=body)
    t.start()
    return t, out


def busy_error(r):
    try:
        r.ping()
    except redis.exceptions.ResponseError as e:
        return str(e).startswith("BUSY Redis is busy running a script")
    except redis.exceptions.BusyLoadingError:
        return True
    return False


def case_busy_script_kill():
    srv = Server("cachely", ["--busy-reply-threshold", "100"])
    try:
        a, b = client(srv), client(srv)
        t, out = run_in_thread(lambda: a.eval("while true do end", 0))
        wait_for(lambda: busy_error(b), what="-BUSY")
        try:
            b.execute_command("FUNCTION", "KILL")
            raise AssertionError("FUNCTION KILL stopped a script")
        except (redis.exceptions.ResponseError, redis.exceptions.BusyLoadingError) as e:
            assert "You can only call SCRIPT KILL" in str(e), e
        assert b.execute_command("SCRIPT", "KILL") in (b"OK", "OK", True)
        t.join(10)
        assert not t.is_alive()
        assert "Script killed by user with SCRIPT KILL" in out.get("error", ""), out
        assert b.ping()
        # a script that wrote cannot be killed; SHUTDOWN NOSAVE stops it all
        t, out = run_in_thread(lambda: a.eval(
            "redis.call('set', 'k', 'v') while true do end", 0))
        wait_for(lambda: busy_error(b), what="-BUSY")
        try:
            b.execute_command("SCRIPT", "KILL")
            raise AssertionError("SCRIPT KILL after a write succeeded")
        except redis.exceptions.ResponseError as e:
            assert str(e).startswith("UNKILLABLE"), e
        try:
            b.execute_command("SHUTDOWN", "NOSAVE")
        except redis.exceptions.ConnectionError:
            pass
        srv.proc.wait(10)
        t.join(10)
        assert srv.proc.returncode is not None
    finally:
        srv.stop()


def case_busy_script_in_coroutines_killed_promptly():
    """SCRIPT KILL of a script that spends its time inside coroutines: each
    kill raised in a coroutine is caught by its resume, so the main thread
    must be stopped too, within a moment, not after millions of its own
    instructions (it took seconds before the main thread got the hook)."""
    srv = Server("cachely", ["--busy-reply-threshold", "100"])
    try:
        a, b = client(srv), client(srv)
        t, out = run_in_thread(lambda: a.eval(
            "while true do local co = coroutine.create(function() "
            "while true do end end) coroutine.resume(co) end", 0))
        wait_for(lambda: busy_error(b), what="-BUSY")
        t0 = time.time()
        assert b.execute_command("SCRIPT", "KILL") in (b"OK", "OK", True)
        t.join(10)
        took = time.time() - t0
        assert not t.is_alive()
        assert "Script killed by user with SCRIPT KILL" in out.get("error", ""), out
        assert took < 0.3, "the script ran %.2f s after SCRIPT KILL" % took
        assert b.ping()
    finally:
        srv.stop()


def case_busy_function_kill():
    srv = Server("cachely", ["--busy-reply-threshold", "100"])
    try:
        a, b = client(srv), client(srv)
        a.execute_command("FUNCTION", "LOAD",
                          "#!lua name=spin\nredis.register_function('spin', "
                          "function() while true do end end)")
        t, out = run_in_thread(lambda: a.execute_command("FCALL", "spin", 0))
        wait_for(lambda: busy_error(b), what="-BUSY")
        try:
            b.get("x")
        except redis.exceptions.ResponseError as e:
            assert "FUNCTION KILL or SHUTDOWN NOSAVE" in str(e), e
        stats = b.execute_command("FUNCTION", "STATS")
        assert b"spin" in repr(stats).encode(), stats
        try:
            b.execute_command("SCRIPT", "KILL")
            raise AssertionError("SCRIPT KILL stopped a function")
        except (redis.exceptions.ResponseError, redis.exceptions.BusyLoadingError) as e:
            assert "You can only call FUNCTION KILL" in str(e), e
        assert b.execute_command("FUNCTION", "KILL") in (b"OK", "OK", True)
        t.join(10)
        assert out.get("error", "").startswith(
            "Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."), out
        assert a.ping() and b.ping()
    finally:
        srv.stop()


def case_functions_survive_restart_aof():
    srv = Server("cachely", ["--appendonly", "yes", "--appendfsync", "always"])
    try:
        r = client(srv)
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=lib\nredis.register_function('f', "
                          "function(k) return redis.call('incr', k[1]) end)")
        assert r.execute_command("FCALL", "f", 1, "n") == 2 - 1
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        args = ["--appendonly", "yes", "--dir", srv.dir]
        srv2 = Server("cachely", args)
        try:
            r2 = client(srv2)
            assert r2.execute_command("FCALL", "f", 1, "n") == 2
        finally:
            srv2.stop()
    finally:
        srv.stop()


def case_stale_replica_runs_only_allow_stale_scripts():
    import socket
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]  # bound, never listening: the link stays down
    srv = Server("cachely", ["--replicaof", "127.0.0.1", str(port),
                             "--replica-serve-stale-data", "no"])
    try:
        r = client(srv)
        for script in ("return 1", "#!lua flags=no-writes\nreturn 1"):
            try:
                r.eval(script, 0)
                raise AssertionError("ran on a stale replica: " + script)
            except redis.exceptions.ResponseError as e:
                assert "Link with MASTER is down" in str(e), e
        assert r.eval("#!lua flags=no-writes,allow-stale\nreturn 7", 0) == 7
    finally:
        srv.stop()
        dead.close()


def case_script_error_stats_match_redis():
    """INFO commandstats and errorstats after scripts whose commands fail,
    against a real redis-server (ext suite scripting 'Consistent eval error
    reporting'): a command a script could not run counts as a rejected call
    of it.  Before, the SET refused for OOM inside EVAL counted nothing."""
    def stats(r):
        out = {}
        for sec in ("commandstats", "errorstats"):
            for k, v in r.info(sec).items():
                if isinstance(v, dict):
                    v = {f: v[f] for f in ("calls", "rejected_calls", "failed_calls", "count")
                         if f in v}
                out[k] = v
        out["total_error_replies"] = r.info("stats")["total_error_replies"]
        return out

    def scenario(r):
        seen = []
        steps = [
            ("CONFIG", "SET", "maxmemory", "1"),
            ("EVAL", "return redis.call('set','x','y')", 1, "x"),
            ("EVAL", "local t = redis.pcall('set','x','y') return t['err']", 1, "x"),
            ("EVAL", "return redis.pcall('set','x','y')", 1, "x"),
            ("CONFIG", "SET", "maxmemory", "0"),
            ("EVAL", "return redis.call('select',99)", 0),
            ("EVAL", "return redis.pcall('select',99)", 0),
            ("EVAL", "return redis.call('get')", 0),
            ("EVAL", "return redis.call('nosuchcmd')", 0),
            ("EVAL", "return redis.call('config', 'nosuchsub')", 0),
            ("EVAL", "return redis.call('client', 'list', 'x', 'y')", 0),
        ]
        for step in steps:
            if step[0] == "CONFIG" and step[3] == "1":
                r.execute_command("CONFIG", "RESETSTAT")
            try:
                rep = r.execute_command(*step)
            except redis.exceptions.ResponseError as e:
                rep = "ERR:" + str(e).split(" script:")[0]
            seen.append(rep)
            if step[0] == "EVAL":
                seen.append(stats(r))
        return seen

    mine, theirs = Server("cachely"), Server("redis")
    try:
        a, b = scenario(client(mine)), scenario(client(theirs))
        for x, y in zip(a, b):
            assert x == y, "cachely %r\n   redis %r" % (x, y)
    finally:
        mine.stop()
        theirs.stop()


def case_info_memory_script_fields_match_redis():
    """INFO memory's script lines, as redis-server names and orders them,
    with the same counts (ext suite scripting 'SCRIPTING FLUSH ASYNC' reads
    number_of_cached_scripts; before, INFO memory had none of them)."""
    names = ["used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human",
             "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
             "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total",
             "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
             "used_memory_scripts_human"]

    def lines(r):
        info = r.info("memory")  # an ordered dict: the server's line order
        return [k for k in info if k in names], info

    def scenario(r):
        out = []
        for j in range(100):
            r.script_load("return %d" % j)
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=ml\nredis.register_function('m1', function() return 1 end)"
                          "\nredis.register_function('m2', function() return 2 end)")
        order, v = lines(r)
        out.append((order, v["number_of_cached_scripts"], v["number_of_functions"],
                    v["number_of_libraries"]))
        r.execute_command("SCRIPT", "FLUSH", "ASYNC")
        r.execute_command("FUNCTION", "FLUSH")
        order, v = lines(r)
        out.append((order, v["number_of_cached_scripts"], v["number_of_functions"],
                    v["number_of_libraries"]))
        return out

    mine, theirs = Server("cachely"), Server("redis")
    try:
        a, b = scenario(client(mine)), scenario(client(theirs))
        assert a == b, "cachely %r\n   redis %r" % (a, b)
    finally:
        mine.stop()
        theirs.stop()


def case_function_restore_collision():
    """FUNCTION RESTORE (APPEND) of a payload holding a library that exists:
    Redis 7.0's 'Library lib1 already exists' (no quotes), and nothing of
    the payload restored (ext suite functions 'test function restore with
    function name collision').  Before, LOAD's quoted wording, and the
    libraries before it in the payload were restored."""
    srv = Server("cachely")
    try:
        r = client(srv)
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=lib0\nredis.register_function('f0', function() return 0 end)")
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)")
        payload = r.execute_command("FUNCTION", "DUMP")
        r.execute_command("FUNCTION", "DELETE", "lib0")
        try:
            r.execute_command("FUNCTION", "RESTORE", payload)
            raise AssertionError("restored over lib1")
        except redis.exceptions.ResponseError as e:
            assert str(e) == "Library lib1 already exists", e
        libs = sorted(x[1] for x in r.execute_command("FUNCTION", "LIST"))
        assert libs == [b"lib1"], libs
        assert r.execute_command("FUNCTION", "RESTORE", payload, "REPLACE") == b"OK"
        assert r.execute_command("FCALL", "f0", 0) == 0
    finally:
        srv.stop()


def case_functions_survive_aof_rewrite():
    srv = Server("cachely", ["--appendonly", "yes", "--appendfsync", "always"])
    try:
        r = client(srv)
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=rw\nredis.register_function('rwf', "
                          "function() return 'after the rewrite' end)")
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=gone\nredis.register_function('gonef', "
                          "function() return 1 end)")
        r.execute_command("FUNCTION", "DELETE", "gone")
        r.execute_command("BGREWRITEAOF")
        wait_for(lambda: r.info("persistence")["aof_rewrites"] >= 1
                 and r.info("persistence")["aof_rewrite_in_progress"] == 0,
                 what="the AOF rewrite")
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv2 = Server("cachely", ["--appendonly", "yes", "--dir", srv.dir])
        try:
            r2 = client(srv2)
            assert r2.execute_command("FCALL", "rwf", 0) == b"after the rewrite"
            try:
                r2.execute_command("FCALL", "gonef", 0)
                raise AssertionError("a deleted library came back")
            except redis.exceptions.ResponseError as e:
                assert "Function not found" in str(e), e
        finally:
            srv2.stop()
    finally:
        srv.stop()


def case_functions_survive_restart_snapshot():
    srv = Server("cachely", ["--appendonly", "no"])
    try:
        r = client(srv)
        r.execute_command("FUNCTION", "LOAD",
                          "#!lua name=snaplib\nredis.register_function{function_name='g', "
                          "callback=function() return 'from the snapshot' end, "
                          "flags={'no-writes'}}")
        r.set("key", "v")
        r.execute_command("SAVE")
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv2 = Server("cachely", ["--appendonly", "no", "--dir", srv.dir])
        try:
            r2 = client(srv2)
            assert r2.execute_command("FCALL_RO", "g", 0) == b"from the snapshot"
            assert r2.get("key") == b"v"
        finally:
            srv2.stop()
    finally:
        srv.stop()


def case_kill9_mid_script_all_or_nothing():
    srv = Server("cachely", ["--appendonly", "yes", "--appendfsync", "always",
                             "--busy-reply-threshold", "100000"])
    try:
        a = client(srv)
        t, out = run_in_thread(lambda: a.eval(
            "redis.call('set', 'x1', 1) redis.call('set', 'x2', 2) "
            "while true do end", 0))
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        t.join(10)
        srv2 = Server("cachely", ["--appendonly", "yes", "--dir", srv.dir])
        try:
            r2 = client(srv2)
            assert r2.exists("x1", "x2") == 0, "half a script survived"
            r2.eval("redis.call('set', 'y1', 1) redis.call('set', 'y2', 2)", 0)
            srv2.proc.send_signal(signal.SIGKILL)
            srv2.proc.wait()
            srv3 = Server("cachely", ["--appendonly", "yes", "--dir", srv.dir])
            try:
                assert client(srv3).exists("y1", "y2") == 2
            finally:
                srv3.stop()
        finally:
            srv2.stop()
    finally:
        srv.stop()


def case_replica_gets_functions_and_effects():
    master = Server("cachely")
    replica = Server("cachely", ["--replicaof", "127.0.0.1", str(master.port)])
    try:
        m, s = client(master), client(replica)
        wait_for(lambda: s.info("replication")["master_link_status"] == "up",
                 what="replica link")
        m.execute_command("FUNCTION", "LOAD",
                          "#!lua name=lib\nredis.register_function('f', "
                          "function(k, a) redis.call('set', k[1], a[1]) "
                          "return redis.call('incr', k[2]) end)")
        m.execute_command("FCALL", "f", 2, "a", "b", "hello")
        m.eval("redis.call('append', 'l', 'x') redis.call('expire', 'l', 100) "
               "return redis.call('set', 'c', 'd')", 0)
        wait_for(lambda: s.get("c") == b"d", what="script effects on the replica")
        assert s.get("a") == b"hello" and s.get("b") == b"1"
        try:
            s.eval("return redis.call('set', 'z', 1)", 0)
            raise AssertionError("a script wrote on a replica")
        except redis.exceptions.ResponseError as e:
            assert "read only replica" in str(e), e
        # a script declaring it may write is refused before it starts
        try:
            s.eval("#!lua\nreturn 1", 0)
            raise AssertionError("a may-write script started on a replica")
        except redis.exceptions.ResponseError as e:
            assert "read only replica" in str(e), e
        assert s.eval("#!lua flags=no-writes\nreturn 1", 0) == 1
        assert m.execute_command("DEBUG", "DIGEST") == s.execute_command("DEBUG", "DIGEST")
    finally:
        replica.stop()
        master.stop()


def main():
    res = Results()
    for name, fn in sorted(globals().items()):
        if name.startswith("case_"):
            res.run(name, fn)
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
