"""Regression test for issue 9 item 21 (repository hygiene): configure~ was
tracked, built binaries and data files were one "git add -A" away from a
commit, and STYLE.md promised a .clang-format that did not exist.

Checks the source tree named by CACHELY_SRCDIR (default: this checkout):
no tracked autotools backup, nothing tracked that .gitignore ignores, every
kind of file the builds, tests, fuzzers and quickstart produce is ignored
while the sources next to them are not, and .clang-format encodes STYLE's
layout.  Outside a git checkout (a tarball) the git checks are skipped.
Run with /usr/bin/python3; prints "N passed, M failed".
"""
import os
import shutil
import subprocess
import sys

SRC = os.environ.get("CACHELY_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What ./utils/build.sh (in and out of tree), make check, make fuzz, a server
# started in the tree and utils/quickstart.sh leave behind.
PRODUCED = [
    "configure~", "configure", "Makefile.in", "config.log", "autom4te.cache/x",
    "build/src/cachely-server", "build-san/tests/unit/test_db",
    "src/cachely-server", "src/cachely-proxy", "src/node/db.o",
    "src/core/libcachely_core.a", "tests/unit/test_db",
    "tests/integration/test_basic", "tests/integration/libharness.a",
    "tests/fuzz/fuzz_resp", "tests/fuzz/fuzz_resp_replay",
    "tests/fuzz/fuzz_config", "tests/fuzz/fuzz_loader_replay",
    "crash-0123abcd", "leak-0123abcd", "timeout-0123abcd",
    "dump.cachely", "appendonly.cachely", "temp-1234.cachely",
    "temp-rewriteaof-1234.cachely", "run/master.pid", "run/ports",
    "node_modules/redis/index.js", "tests/compat/__pycache__/servers.pyc",
]
# Sources that sit next to them and must stay visible.
SOURCES = [
    "tests/fuzz/fuzz_resp.c", "tests/fuzz/replay_main.c",
    "tests/fuzz/corpus/mbulk_get", "tests/integration/test_basic.c",
    "tests/integration/test_persistence.py", "tests/unit/test_db.c",
    "src/node/main.c", "utils/build.sh", "conf/cachely.conf",
]

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


def git(*args):
    return subprocess.run(["git", "-C", SRC] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def ignored(path):
    return git("check-ignore", "-q", "--no-index", path).returncode == 0


def main():
    is_git = shutil.which("git") and \
        git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    if is_git:
        tracked = git("ls-files").stdout.split("\n")
        check("configure~ is not tracked", "configure~" not in tracked)
        check("no tracked autotools or editor backup (*~)",
              not [f for f in tracked if f.endswith("~")],
              ", ".join(f for f in tracked if f.endswith("~")))
        bad = git("ls-files", "-ci", "--exclude-standard").stdout.split()
        check("nothing tracked is ignored", not bad, ", ".join(bad))
        for p in PRODUCED:
            check("ignored: " + p, ignored(p))
        for p in SOURCES:
            check("not ignored: " + p, not ignored(p))
    else:
        print("not a git checkout: git checks skipped")

    path = os.path.join(SRC, ".clang-format")
    check(".clang-format exists", os.path.isfile(path))
    if os.path.isfile(path):
        conf = {}
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if ":" in line:
                k, v = line.split(":", 1)
                conf[k.strip()] = v.strip()
        want = {"IndentWidth": "4", "UseTab": "Never", "ColumnLimit": "80",
                "BreakBeforeBraces": "Linux",
                "AlwaysBreakAfterDefinitionReturnType": "All"}
        for k, v in want.items():
            check(".clang-format %s: %s" % (k, v), conf.get(k) == v,
                  "found %r" % conf.get(k))
        if shutil.which("clang-format"):
            # The file parses, and a definition comes out in STYLE's layout.
            src = "static int f(int a){if(a)return 1;return 0;}\n"
            out = subprocess.run(
                ["clang-format", "--style=file",
                 "--assume-filename=" + os.path.join(SRC, "x.c")],
                input=src, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                universal_newlines=True)
            check("clang-format accepts .clang-format", out.returncode == 0,
                  out.stderr.strip())
            check("return type on its own line, brace on the next",
                  out.stdout.startswith("static int\nf(int a)\n{\n    if"),
                  repr(out.stdout))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
