#!/usr/bin/env bash
# phpredis 5.3.7's own test suite (tests/RedisTest.php, RedisSentinelTest.php)
# with Debian's php-redis extension against a fresh cachely-server, through
# a cachely-proxy (--proxy: node + proxy, read-policy master), or against
# Debian's redis-server 7.0 as the baseline (--redis).  The Redis class
# runs in every mode; the RedisSentinel class runs against the proxy's
# Sentinel API (--proxy) or a redis-sentinel monitoring the baseline server
# (--redis) as "mymaster"; not against the node alone.  Tests of what the
# proxy refuses by design are skipped by name (listed below, with why).
# Prints one line per failed test and a count per class; each test's output
# is kept in the output directory.  Not part of CI: a run takes about a
# minute.  RedisArrayTest (client-side sharding, rehashing) runs too, with
# upstream's runner, against four servers (or four node + proxy pairs).
#
# Each test runs in its own php process (a small runner written into the
# suite's copy, exact test names): upstream's TestSuite::run stops the whole
# suite at the first PHP fatal error (an uncaught TypeError), which would
# hide every test after it.
#
# The suite comes from Debian's archive: the upstream tarball of Debian's
# php-redis 5.3.7+4.3.0 package (sha256 as in its .dsc), unpacked once into
# $PHPREDIS_SUITE_CACHE (default ~/.cache/cachely/phpredis-5.3.7).  The
# copy's tests are patched where they hard-code addresses: the session
# tests' save_path uses the port under test (not 6379), testUnixSocket the
# socket under test (not /tmp/redis.sock), RedisSentinelTest the port under
# test (not 26379).  Needs php-cli and php-redis (installed when root),
# curl.
#
# Usage: utils/suite-phpredis.sh [--proxy|--proxy-ack|--redis] [--out DIR] [test ...]
#   --proxy    through cachely-proxy in front of one node
#   --proxy-ack  the same with a replica behind each proxy, read-policy
#              session and write-ack 1
#   --redis    Debian's redis-server 7.0 (and redis-sentinel), the baseline
#   --out DIR  keep each test's output there (default: a temp dir, printed)
#   test       exact test method names (default: all of both classes)
# Environment: CACHELY_BUILDDIR (default build/ of this tree).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CACHELY_BUILDDIR:-$here/build}
SERVER=$BUILD/src/cachely-server
PROXY=$BUILD/src/cachely-proxy
CACHE=${PHPREDIS_SUITE_CACHE:-$HOME/.cache/cachely/phpredis-5.3.7}
URL=http://deb.debian.org/debian/pool/main/p/php-redis/php-redis_5.3.7+4.3.0.orig.tar.xz
SHA256=28eb4194a703a83d15bf05711e6f8941e3f3acf1c8f59e819ca1a90fe35f41b9

SUITE_PORT_LO=27000 SUITE_PORT_HI=27999
. "$here/utils/suite-lib.sh"
suite_options "$@"
only=("${suite_rest[@]}")
if [ "$redis" = 0 ]; then
    [ -x "$SERVER" ] || { echo "no $SERVER: build first (utils/build.sh)" >&2; exit 1; }
fi
if ! php -m 2>/dev/null | grep -qx redis; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq php-cli php-redis >/dev/null
    else
        echo "php with the redis extension is missing (apt-get install php-cli php-redis)" >&2; exit 1
    fi
fi

# ---- the suite --------------------------------------------------------------
suite=$CACHE/tests
if [ ! -f "$CACHE/.prepared.2" ]; then
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    txz=$(mktemp)
    curl -sSfL -o "$txz" "$URL"
    echo "$SHA256  $txz" | sha256sum -c --quiet -
    tar xJf "$txz" -C "$CACHE" --strip-components=1 redis-5.3.7/tests
    rm -f "$txz"
    python3 - "$suite" <<'EOF'
import sys
d = sys.argv[1]
def patch(name, old, new, count=1):
    p = d + "/" + name
    s = open(p).read()
    assert s.count(old) == count, (name, old)
    open(p, "w").write(s.replace(old, new))
patch("RedisTest.php", "'tcp://' . $host . ':6379'", "'tcp://' . $host . ':' . $this->getPort()")
patch("RedisTest.php", '"/tmp/redis.sock"', "getenv('PHPREDIS_SOCK')", 5)
patch("RedisSentinelTest.php", "new RedisSentinel($this->getHost())",
      "new RedisSentinel($this->getHost(), $this->getPort())")
patch("RedisArrayTest.php", """        $newRing = ["$str_host:6379", "$str_host:6380", "$str_host:6381"];""",
      """        $p = explode(',', getenv('PHPREDIS_RA_PORTS'));
        $newRing = ["$str_host:$p[0]", "$str_host:$p[1]", "$str_host:$p[2]"];""")
patch("RedisArrayTest.php",
      """$serverList = ["$str_host:6379", "$str_host:6380", "$str_host:6381", "$str_host:6382"];""",
      """$serverList = ["$str_host:$p[0]", "$str_host:$p[1]", "$str_host:$p[2]", "$str_host:$p[3]"];""")
EOF
    # One test per process, exact names; a PHP error is a failed test.
    cat > "$suite/cachely-run.php" <<'EOF'
<?php define('PHPREDIS_TESTRUN', true);
/* Written by Cachely's utils/suite-phpredis.sh: runs one test method of
 * Redis_Test or Redis_Sentinel_Test and prints "PASSED|FAILED|SKIPPED name"
 * then the suite's messages; --list prints the test names. */
require_once(dirname($_SERVER['PHP_SELF'])."/TestSuite.php");
require_once(dirname($_SERVER['PHP_SELF'])."/RedisTest.php");
require_once(dirname($_SERVER['PHP_SELF'])."/RedisSentinelTest.php");
error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', '1');
$o = getopt('', ['host:', 'port:', 'class:', 'test:', 'list']);
$class = $o['class'];
if (isset($o['list'])) {
    foreach ((new ReflectionClass($class))->getMethods(ReflectionMethod::IS_PUBLIC) as $m) {
        if (substr($m->name, 0, 4) === 'test') echo $m->name, "\n";
    }
    exit(0);
}
$name = $o['test'];
$t = new $class($o['host'], intval($o['port']), NULL);
try {
    $t->setUp();
    $t->$name();
    $status = count($class::$errors) ? 'FAILED' : 'PASSED';
} catch (TestSkippedException $e) {
    $status = 'SKIPPED';
} catch (Throwable $e) {
    $class::$errors[] = "Uncaught " . get_class($e) . " '" . $e->getMessage() . "' at "
        . $e->getFile() . ":" . $e->getLine() . "\n";
    $status = 'FAILED';
}
echo "$status $name\n", implode('', $class::$errors), implode('', $class::$warnings);
EOF
    touch "$CACHE/.prepared.2"
fi

# ---- skipped by name, each with its reason ----------------------------------
# "node:" entries apply to the node and the proxy, "proxy:" to the proxy only.
declare -A skip=(
    # Refused through the proxy by design (README, "What stays refused"):
    # about one physical node, or meaningless over shared connections.
    ["proxy:testSlowlog"]="SLOWLOG describes one node: refused through the proxy"
    ["proxy:testWait"]="WAIT is refused through the proxy (its write-ack option instead)"
    ["proxy:testSwapDB"]="SWAPDB is refused through the proxy"
)
if [ "${suite_ack:-0}" = 1 ]; then
    # The test expects SENTINEL FAILOVER to fail for want of a replica.
    skip["proxy:testFailover"]="--proxy-ack puts a replica behind the proxy: the failover succeeds"
fi

# ---- servers ----------------------------------------------------------------
out=${out:-$(mktemp -d /tmp/suite-phpredis.XXXXXX)}
mkdir -p "$out"

free_port port
sock=$out/server-$port.sock
sentinel_port=""
if [ "$redis" = 1 ]; then
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
        --unixsocket "$sock" --logfile "$out/redis-$port.log" --enable-debug-command yes &
    pids+=($!)
    wait_ping "$port"
    free_port sentinel_port
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 1\n' \
        "$sentinel_port" "$out" "$port" > "$out/sentinel.conf"
    redis-sentinel "$out/sentinel.conf" --logfile "$out/sentinel-$sentinel_port.log" &
    pids+=($!)
    wait_ping "$sentinel_port"
    target=$port
else
    "$SERVER" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
        --unixsocket "$sock" --logfile "$out/node-$port.log" --enable-debug-command yes &
    pids+=($!)
    wait_ping "$port"
    target=$port
    if [ "$proxy" = 1 ]; then
        free_port target
        suite_proxy_args "$port" "$out"
        "$PROXY" --port "$target" --bind 127.0.0.1 --nodes "127.0.0.1:$port" "${proxy_args[@]}" \
            --logfile "$out/proxy-$target.log" &
        pids+=($!)
        for _ in $(seq 100); do
            redis-cli -p "$target" INFO 2>/dev/null | grep -q "^master:127" && break
            sleep 0.05
        done
        sentinel_port=$target
        sock=""        # the proxy listens on TCP only
    fi
fi

# ---- run --------------------------------------------------------------------
# The session tests start php processes of their own: TEST_PHP_ARGS keeps
# them from loading a locally built extension (Debian's is loaded).
export TEST_PHP_ARGS='-d memory_limit=256M' PHPREDIS_SOCK=$sock
mode=$(if [ "$proxy" = 1 ]; then echo proxy; elif [ "$redis" = 1 ]; then echo redis; else echo node; fi)
classes=(Redis_Test)
[ -z "$sentinel_port" ] || classes+=(Redis_Sentinel_Test)
summary=()
for class in "${classes[@]}"; do
    cport=$target
    [ "$class" = Redis_Test ] || cport=$sentinel_port
    mapfile -t tests < <(cd "$suite" && php cachely-run.php --class "$class" --list)
    ok=0 fail=0 skipped=0 named=0 failed=()
    for t in "${tests[@]}"; do
        if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$t"; then continue; fi
        reason=${skip["$mode:$t"]:-}
        if [ -z "$reason" ] && [ "$mode" = proxy ]; then reason=${skip["node:$t"]:-}; fi
        if [ -n "$reason" ] && [ "$mode" != redis ]; then
            named=$((named + 1))
            echo "skipped by name: $t ($reason)" > "$out/$class.$t.txt"
            continue
        fi
        (cd "$suite" && timeout 120 php cachely-run.php --class "$class" --host 127.0.0.1 \
            --port "$cport" --test "$t" > "$out/$class.$t.txt" 2>&1) || true
        case "$(grep -m1 -o "^\(PASSED\|FAILED\|SKIPPED\) $t\$" "$out/$class.$t.txt" | cut -d' ' -f1)" in
        PASSED) ok=$((ok + 1)) ;;
        SKIPPED) skipped=$((skipped + 1)) ;;
        *) fail=$((fail + 1)); failed+=("$t") ;;
        esac
    done
    for t in "${failed[@]}"; do echo "FAILED $class::$t ($out/$class.$t.txt)"; done
    summary+=("$(printf '%-20s passed %3d  failed %3d  skipped %d  skipped by name %d' \
        "$class" "$ok" "$fail" "$skipped" "$named")")
done
stop_all

# RedisArray (client-side sharding over four servers, rehashing when the
# ring grows; with and without a per-node index): upstream's runner, which
# stops at the first of its five test classes with a failure.  Four
# servers, or four node + proxy pairs.
if [ ${#only[@]} -eq 0 ]; then
    ra_ports=()
    for _ in 1 2 3 4; do
        free_port p
        if [ "$redis" = 1 ]; then
            redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
                --logfile "$out/redis-$p.log" &
            pids+=($!)
        else
            free_port n
            "$SERVER" --port "$n" --bind 127.0.0.1 --save "" --appendonly no --dir "$out" \
                --logfile "$out/node-$n.log" &
            pids+=($!)
            if [ "$proxy" = 1 ]; then
                wait_ping "$n"
                suite_proxy_args "$n" "$out"
                "$PROXY" --port "$p" --bind 127.0.0.1 --nodes "127.0.0.1:$n" "${proxy_args[@]}" \
                    --logfile "$out/proxy-$p.log" &
                pids+=($!)
            else
                p=$n
            fi
        fi
        ra_ports+=("$p")
    done
    for p in "${ra_ports[@]}"; do wait_ping "$p"; done
    (cd "$suite" && PHPREDIS_RA_PORTS=$(IFS=,; echo "${ra_ports[*]}") timeout 600 php TestRedis.php \
        --class RedisArray --host 127.0.0.1 --nocolors > "$out/RedisArray.txt" 2>&1) || true
    ok=$({ grep -o '\[PASSED\]' "$out/RedisArray.txt" || true; } | wc -l)
    fail=$({ grep -o '\[FAILED\]' "$out/RedisArray.txt" || true; } | wc -l)
    if [ "$(grep -c 'All tests passed' "$out/RedisArray.txt" || true)" != 10 ]; then
        fail=$((fail + 1))      # stopped early (a failure, a fatal error)
        echo "FAILED RedisArray ($out/RedisArray.txt)"
    fi
    summary+=("$(printf '%-20s passed %3d  failed %3d' RedisArray "$ok" "$fail")")
fi
printf '%s\n' "${summary[@]}"
echo "($(case $mode in proxy) echo "through cachely-proxy";; redis) echo "redis-server 7.0";; \
    *) echo "cachely-server";; esac); outputs in $out)"
