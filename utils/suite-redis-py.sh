#!/usr/bin/env bash
# redis-py 4.3.4's own test suite (tests/ of redis-py at tag v4.3.4, the
# version of Debian's python3-redis) against a fresh cachely-server, or
# with --proxy through a cachely-proxy (read-policy master) in front of
# one, or with --redis against Debian's redis-server 7.0 as the baseline.
# It runs the INSTALLED python3-redis (/usr/bin/python3 -m pytest from a
# directory holding only the suite's tests/), not the repository's redis
# package.  Prints passed, failed, errors and skipped, and the failing
# tests by name; the outputs are kept in the output directory (pytest.txt,
# junit.xml, failed.txt: one failing test id a line, to compare runs with
# diff).  Not part of CI: it takes several minutes.
#
# What runs: pytest -m 'not onlycluster and not redismod and not ssl and
# not replica' and without tests/test_ssl.py (the upstream standalone run
# without the module server, the TLS tunnel and its certificates, and the
# replica on port 6380 that its tox.ini starts),
# asyncio tests in auto mode (pytest-asyncio 0.20), a 60 s timeout per
# test.  Tests that skip by server version (skip_if_server_version_lt)
# read INFO's redis_version, 7.0.x on all three targets.  Tests of what
# Cachely deliberately lacks or does differently are skipped by name
# (listed below, each with why); through the proxy also what the proxy
# refuses by design.  They are not skipped with --redis.
#
# The suite: `git archive v4.3.4 tests` of the redis-py mirror at
# $REDIS_PY_MIRROR (default /work/.mirror/redis+redis-py/repo, a bare git
# directory with tags), else of a redis-py git checkout named by
# $REDIS_PY_SRC, else Debian's source tarball python-redis_4.3.4.orig.tar.gz
# (sha256 checked) from deb.debian.org; extracted once into
# $REDIS_PY_CACHE (default ~/.cache/cachely/redis-py-4.3.4).  Needs
# python3-pytest, python3-pytest-asyncio, python3-pytest-timeout and
# python3-mock (installed with apt-get when root).
#
# Usage: utils/suite-redis-py.sh [--proxy|--redis] [--out DIR] [pytest args]
#   --proxy    through cachely-proxy in front of one node
#   --proxy-ack  the same with a replica behind it, read-policy session and
#              write-ack 1 (reads on the replica, writes acknowledged)
#   --redis    Debian's /usr/bin/redis-server (the baseline)
#   --out DIR  keep the outputs there (default: a temp dir, printed)
#   pytest args  passed on, e.g. tests/test_commands.py or -k hset
#              (default: the whole of tests/)
# Environment: CACHELY_BUILDDIR (default build/ of this tree),
# SUITE_PORT_BASE (default 26000: the servers take free ports from there).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=$BUILD/src/cachely-server
PROXY=$BUILD/src/cachely-proxy
PY=/usr/bin/python3
CACHE=${REDIS_PY_CACHE:-$HOME/.cache/cachely/redis-py-4.3.4}
MIRROR=${REDIS_PY_MIRROR:-/work/.mirror/redis+redis-py/repo}
DEB_URL=http://deb.debian.org/debian/pool/main/p/python-redis/python-redis_4.3.4.orig.tar.gz
DEB_SHA256=a3d3b6e86cc73c253fd5c02d174098abf3fa043dfdcb29689eb928f60a552fd6

target=node out="" suite_ack=0
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --proxy) target=proxy ;;
    --proxy-ack) target=proxy suite_ack=1 ;;
    --redis) target=redis ;;
    --out) out=$2; shift ;;
    -h|--help) awk 'NR == 1 { next } !/^#/ { exit } { print }' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1") ;;
    esac
    shift
done
if [ "$target" = redis ]; then
    [ -x /usr/bin/redis-server ] || { echo "no /usr/bin/redis-server (apt-get install redis-server)" >&2; exit 1; }
else
    [ -x "$SERVER" ] || { echo "no $SERVER: build first (utils/build.sh)" >&2; exit 1; }
fi
if ! "$PY" -c 'import pytest, pytest_asyncio, pytest_timeout, mock, redis' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pytest \
            python3-pytest-asyncio python3-pytest-timeout python3-mock python3-redis >/dev/null
    else
        echo "missing: apt-get install python3-pytest python3-pytest-asyncio python3-pytest-timeout python3-mock python3-redis" >&2
        exit 1
    fi
fi

# ---- the suite --------------------------------------------------------------
if [ ! -f "$CACHE/tests/conftest.py" ]; then
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    if git -C "$MIRROR" rev-parse -q --verify v4.3.4 >/dev/null 2>&1; then
        git -C "$MIRROR" archive v4.3.4 tests | tar x -C "$CACHE"
    elif [ -n "${REDIS_PY_SRC:-}" ] && git -C "$REDIS_PY_SRC" rev-parse -q --verify v4.3.4 >/dev/null 2>&1; then
        git -C "$REDIS_PY_SRC" archive v4.3.4 tests | tar x -C "$CACHE"
    else
        tgz=$(mktemp)
        if curl -sSfL -o "$tgz" "$DEB_URL" && echo "$DEB_SHA256  $tgz" | sha256sum -c --quiet -; then
            tar xzf "$tgz" -C "$CACHE" --strip-components=1 --wildcards '*/tests'
            rm -f "$tgz"
        else
            rm -f "$tgz"; rm -rf "$CACHE"
            cat >&2 <<EOF
redis-py v4.3.4's tests are needed and none of these had them:
  - a bare git mirror of redis-py with its tags at $MIRROR (REDIS_PY_MIRROR)
  - a redis-py git clone with tag v4.3.4 at REDIS_PY_SRC
    (git clone https://github.com/redis/redis-py; REDIS_PY_SRC=<it>)
  - Debian's $DEB_URL
Or put redis-py 4.3.4's tests/ directory at $CACHE/tests yourself.
EOF
            exit 1
        fi
    fi
fi
# Our pytest configuration (upstream's tox.ini markers; asyncio in auto
# mode, which pytest-asyncio 0.20 wants for the suite's async fixtures)
# and a plugin that skips the tests named in $SUITE_SKIPS with reasons.
cat > "$CACHE/pytest.ini" <<'EOF'
[pytest]
markers =
    redismod: run only the redis module tests
    pipeline: pipeline tests
    onlycluster: marks tests to be run only with cluster mode redis
    onlynoncluster: marks tests to be run only with standalone redis
    ssl: marker for only the ssl tests
    asyncio: marker for async tests
    replica: replica tests
    experimental: run only experimental tests
asyncio_mode = auto
EOF
cat > "$CACHE/cachely_skips.py" <<'EOF'
# Skips the tests listed in $SUITE_SKIPS ("<test id>|<reason>" a line; a
# test id without [params] also names every parametrisation of it).
import os
import pytest

def pytest_collection_modifyitems(config, items):
    path = os.environ.get("SUITE_SKIPS")
    if not path:
        return
    skips = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            tid, _, why = line.partition("|")
            skips[tid.strip()] = why.strip()
    for item in items:
        why = skips.get(item.nodeid, skips.get(item.nodeid.split("[")[0]))
        if why is not None:
            item.add_marker(pytest.mark.skip(reason="cachely: " + why))
EOF

# ---- skips ------------------------------------------------------------------
# "<test id>|<reason>": what Cachely deliberately lacks or does differently.
node_skip=(
    # LOLWUT draws Cachely's own picture and says "Cachely ver." (README)
    "tests/test_commands.py::TestRedisCommands::test_lolwut|LOLWUT names Cachely, not Redis"
)
# Through the proxy, beside node_skip: what the proxy refuses by design
# (README, Proxy: "What stays refused"), and CONFIG, which answers the
# proxy's own options there.
proxy_skip=()
for t in test_busy_loading_disconnects_socket test_busy_loading_from_pipeline_immediate_command \
         test_busy_loading_from_pipeline test_read_only_error \
         test_connect_no_auth_supplied_when_required test_connect_invalid_password_supplied; do
    # each fakes a reply with DEBUG ERROR, refused through the proxy
    proxy_skip+=("tests/test_connection_pool.py::TestConnection::$t|DEBUG is refused through the proxy"
                 "tests/test_asyncio/test_connection_pool.py::TestConnection::$t|DEBUG is refused through the proxy")
done
# CONFIG GET/SET name the proxy's options (maxmemory, timeout... are the
# nodes'; the proxy's timeout is fixed at startup)
for t in test_config_get_multi_params test_config_set test_config_set_multi_params; do
    proxy_skip+=("tests/test_commands.py::TestRedisCommands::$t|CONFIG is the proxy's own options")
done
for t in test_config_get test_config_set; do
    proxy_skip+=("tests/test_asyncio/test_commands.py::TestRedisCommands::$t|CONFIG is the proxy's own options")
done
for t in test_slowlog_get test_slowlog_get_limit test_slowlog_length; do
    # SLOWLOG is one node's (and slowlog-log-slower-than a node option)
    proxy_skip+=("tests/test_commands.py::TestRedisCommands::$t|SLOWLOG is refused through the proxy"
                 "tests/test_asyncio/test_commands.py::TestRedisCommands::$t|SLOWLOG is refused through the proxy")
done
for t in test_config_resetstat test_lastsave test_memory_stats test_client_pause; do
    proxy_skip+=("tests/test_commands.py::TestRedisCommands::$t|refused through the proxy (one node's)"
                 "tests/test_asyncio/test_commands.py::TestRedisCommands::$t|refused through the proxy (one node's)")
done
for t in test_client_pause_all test_client_unpause test_bgsave test_memory_malloc_stats test_replicaof; do
    proxy_skip+=("tests/test_commands.py::TestRedisCommands::$t|refused through the proxy (one node's)")
done
proxy_skip+=(
    # CONFIG SET requirepass: the proxy's requirepass is fixed at startup
    "tests/test_commands.py::TestRedisCommands::test_auth|the proxy's requirepass is not settable live"
    # MONITOR through the proxy shows what its sessions send, not the
    # commands a script runs on a node (README: a node's MONITOR has them)
    "tests/test_monitor.py::TestMonitor::test_lua_script|a script's commands show on the node's MONITOR only"
    "tests/test_asyncio/test_monitor.py::TestMonitor::test_lua_script|a script's commands show on the node's MONITOR only"
)

out=${out:-$(mktemp -d /tmp/suite-redis-py.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/skips.txt"
if [ "$target" != redis ]; then
    for s in "${node_skip[@]}"; do echo "$s" >> "$out/skips.txt"; done
fi
if [ "$target" = proxy ]; then
    for s in "${proxy_skip[@]}"; do echo "$s" >> "$out/skips.txt"; done
fi

SUITE_PORT_LO=${SUITE_PORT_BASE:-26000} SUITE_PORT_HI=$(( ${SUITE_PORT_BASE:-26000} + 999 ))
. "$here/utils/suite-lib.sh"

free_port port
if [ "$target" = redis ]; then
    /usr/bin/redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
        --logfile "$out/redis-$port.log" --enable-debug-command yes &
    pids+=($!)
else
    "$SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
        --logfile "$out/node-$port.log" --enable-debug-command yes &
    pids+=($!)
fi
for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.05; done
url_port=$port
if [ "$target" = proxy ]; then
    suite_proxy_args "$port" "$out"
    free_port url_port
    "$PROXY" --port "$url_port" --bind 127.0.0.1 --nodes "127.0.0.1:$port" "${proxy_args[@]}" \
        --logfile "$out/proxy-$url_port.log" &
    pids+=($!)
    for _ in $(seq 100); do
        redis-cli -p "$url_port" INFO 2>/dev/null | grep -q "^master:127" && break
        sleep 0.05
    done
fi

if [ ${#args[@]} -eq 0 ]; then args=(tests); fi
set +e
(cd "$CACHE" && SUITE_SKIPS="$out/skips.txt" PYTHONDONTWRITEBYTECODE=1 timeout 3600 \
    "$PY" -m pytest -p cachely_skips -p no:cacheprovider \
    --redis-url "redis://127.0.0.1:$url_port/9" \
    -m 'not onlycluster and not redismod and not ssl and not replica' \
    --ignore tests/test_ssl.py --timeout 60 -q -rfE --junitxml "$out/junit.xml" "${args[@]}") > "$out/pytest.txt" 2>&1
rc=$?
set -e
"$PY" - "$out" "$target" "$rc" <<'EOF'
import sys, xml.etree.ElementTree as ET
out, target, rc = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    root = ET.parse(out + "/junit.xml").getroot()
except Exception as e:
    print(f"no junit.xml ({e}); pytest exited {rc}: see {out}/pytest.txt")
    sys.exit(1)
counts = dict(passed=0, failed=0, error=0, skipped=0)
failed = []
for tc in root.iter("testcase"):
    tid = tc.get("classname", "").replace(".", "/") + ".py"
    # classname is "tests.test_x.TestClass" or "tests.test_x"
    parts = tc.get("classname", "").split(".")
    mod = [p for p in parts if p[:1].islower()]
    cls = [p for p in parts if p[:1].isupper()]
    tid = "/".join(mod) + ".py" + "".join("::" + c for c in cls) + "::" + tc.get("name")
    kinds = [c.tag for c in tc]
    if "failure" in kinds:
        counts["failed"] += 1; failed.append(("FAILED", tid, tc.find("failure").get("message", "")))
    elif "error" in kinds:
        counts["error"] += 1; failed.append(("ERROR", tid, tc.find("error").get("message", "")))
    elif "skipped" in kinds:
        counts["skipped"] += 1
    else:
        counts["passed"] += 1
with open(out + "/failed.txt", "w") as f:
    for kind, tid, msg in failed:
        f.write(tid + "\n")
for kind, tid, msg in failed:
    print(f"{kind:6} {tid}: {msg.splitlines()[0][:160] if msg else ''}")
what = {"node": "cachely-server", "proxy": "through cachely-proxy", "redis": "redis-server 7.0"}[target]
print(f"redis-py 4.3.4 ({what}): {counts['passed']} passed, {counts['failed']} failed, "
      f"{counts['error']} errors, {counts['skipped']} skipped   (outputs in {out})")
EOF
