"""Regression test for issue 9 item 20: "make check" in a sanitizer build
ran the valgrind suite on ASan binaries (two false failures) unless the
caller remembered CACHELY_SANITIZERS=1, and a redis-benchmark could then
spin for 15 minutes against a dead port.

Checks, on throw-away build directories: tests/compat/test_valgrind.sh skips
in a build configured with --enable-sanitizers (told by configure through
the Makefile, or seen in the binary) even with CACHELY_SANITIZERS=0, and
tests/run-all.sh exports the same to every suite; a server that does not
come up under valgrind ends that suite quickly instead of benchmarking a
dead port; every redis-benchmark run in the tests is bounded in requests
(-n) and in time (timeout).  Run with /usr/bin/python3; prints
"N passed, M failed".
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("CACHELY_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALGRIND_SH = os.path.join(SRC, "tests", "compat", "test_valgrind.sh")

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + detail if detail else ""))


def fake_build(makefile_san=None, binary=None):
    """A build directory with just enough in it for the scripts."""
    b = tempfile.mkdtemp(prefix="cachely-sancheck-")
    os.makedirs(os.path.join(b, "src"))
    os.makedirs(os.path.join(b, "tests"))
    if makefile_san is not None:
        with open(os.path.join(b, "Makefile"), "w") as f:
            f.write("SAN_CFLAGS = \nCACHELY_SANITIZER_BUILD = %d\n" % makefile_san)
    if binary is not None:
        path = os.path.join(b, "src", "cachely-server")
        with open(path, "w") as f:
            f.write(binary)
        os.chmod(path, 0o755)
    return b


def run(argv, build, extra_env, timeout):
    env = dict(os.environ)
    for k in ("CACHELY_SANITIZER_BUILD", "CACHELY_TESTS", "LSAN_OPTIONS"):
        env.pop(k, None)
    env.update({"CACHELY_BUILDDIR": build, "CACHELY_SRCDIR": SRC,
                "CACHELY_SANITIZERS": "0"})
    env.update(extra_env)
    start = time.time()
    # Its own process group, so that on a timeout nothing it started (a
    # spinning redis-benchmark) outlives the check.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out, time.time() - start
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out, time.time() - start


def case_valgrind_skips_in_sanitizer_build():
    # configure said --enable-sanitizers (the build's Makefile), the
    # environment says otherwise: still skipped.
    b = fake_build(makefile_san=1, binary="#!/bin/sh\nexit 1\n")
    rc, out, _ = run(["bash", VALGRIND_SH], b, {}, 60)
    check("test_valgrind.sh skips when configure says sanitizers "
          "(CACHELY_SANITIZERS=0)",
          rc == 0 and "skipped: sanitizer build" in out, repr(out[-300:]))
    rc, out, _ = run(["bash", VALGRIND_SH], b,
                     {"CACHELY_SANITIZER_BUILD": "1"}, 60)
    check("test_valgrind.sh skips with CACHELY_SANITIZER_BUILD=1",
          rc == 0 and "skipped: sanitizer build" in out, repr(out[-300:]))
    shutil.rmtree(b)

    # No Makefile (the script run by hand), but an ASan binary.
    b = fake_build(binary="#!/bin/sh\n# __asan_init\nexit 1\n")
    rc, out, _ = run(["bash", VALGRIND_SH], b, {}, 60)
    check("test_valgrind.sh skips an ASan binary (CACHELY_SANITIZERS=0)",
          rc == 0 and "built with sanitizers" in out, repr(out[-300:]))
    shutil.rmtree(b)


def case_run_all_exports_sanitizer_build():
    b = fake_build(makefile_san=1, binary="#!/bin/sh\nexit 1\n")
    rc, out, _ = run(["bash", os.path.join(SRC, "tests", "run-all.sh")], b,
                     {"CACHELY_TESTS": "test_valgrind"}, 120)
    check("run-all.sh tells the suites about a sanitizer build",
          rc == 0 and "skipped: sanitizer build" in out
          and "tests: 0 passed, 0 failed" in out, repr(out[-400:]))
    shutil.rmtree(b)


def case_dead_server_ends_quickly():
    if not shutil.which("valgrind"):
        print("skip: valgrind is not installed")
        return
    # A "server" that exits at once: the suite must fail fast, not run a
    # benchmark against its port.
    b = fake_build(makefile_san=0, binary="#!/bin/sh\nexit 1\n")
    rc, out, secs = run(["bash", VALGRIND_SH], b, {}, 120)
    check("test_valgrind.sh fails fast when the server does not start",
          rc not in (None, 0) and "FAIL server starts under valgrind" in out
          and secs < 60, "rc %r after %.0f s: %r" % (rc, secs, out[-300:]))
    shutil.rmtree(b)


BENCH = re.compile(r"redis-benchmark")


def case_every_benchmark_is_bounded():
    """Each redis-benchmark run in tests/ has a request count and a time
    limit (shell: timeout on the same command; Python: subprocess timeout=)."""
    found = 0
    for root, _, files in os.walk(os.path.join(SRC, "tests")):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith((".sh", ".py", ".c")):
                continue
            text = open(path, errors="replace").read()
            # Join continuation lines so a command is one logical line.
            logical = text.replace("\\\n", " ")
            for m in BENCH.finditer(logical):
                start = logical.rfind("\n", 0, m.start()) + 1
                if name.endswith(".py"):
                    # The whole call: from the line start to the closing
                    # parenthesis that balances subprocess.xxx(.
                    call = logical.find("subprocess.", start, m.start())
                    if call < 0:
                        continue
                    depth, i = 0, logical.index("(", call)
                    while i < len(logical):
                        depth += {"(": 1, ")": -1}.get(logical[i], 0)
                        if depth == 0:
                            break
                        i += 1
                    stmt = logical[call:i + 1]
                    ok = '"-n"' in stmt and re.search(r"timeout\s*=", stmt)
                else:
                    end = logical.find("\n", m.end())
                    stmt = logical[start:end]
                    s = stmt.strip()
                    if s.startswith("#") or "command -v" in s or \
                            re.match(r"^(for|echo|check|printf)\b", s) or \
                            '"redis-benchmark' in s or "'redis-benchmark" in s:
                        continue
                    ok = re.search(r"\btimeout\b", stmt[:stmt.find("redis-benchmark")]) \
                        and re.search(r"\s-n\s", stmt)
                found += 1
                rel = os.path.relpath(path, SRC)
                check("bounded: %s: %s" % (rel, " ".join(stmt.split())[:70]),
                      bool(ok), stmt.strip()[:200])
    check("found the benchmark runs in tests/", found >= 3, "found %d" % found)


def main():
    case_valgrind_skips_in_sanitizer_build()
    case_run_all_exports_sanitizer_build()
    case_dead_server_ends_quickly()
    case_every_benchmark_is_bounded()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
