#!/usr/bin/env bash
# Installs the Debian packages Cachely needs to build, test and run its tools.
# Only packages that are missing are installed.  Runs as root, or through sudo
# when run as another user.  Non-interactive: safe under CI with no stdin.
#
#   deps/install.sh            install what is missing
#   deps/install.sh --check    only report what is missing (exit 1 if any)
set -euo pipefail

PACKAGES=(
    # build
    build-essential autoconf automake libtool pkg-config
    # libevent-dev brings libevent_openssl (HTTPS) too
    libevent-dev libevent-openssl-2.1-7 libhiredis-dev libjemalloc-dev libssl-dev
    liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
    # LZF, Redis's compression (list nodes, DUMP and snapshot strings)
    liblzf-dev
    # TLS tests make their own CA and certificates
    openssl
    # tests
    libcriterion-dev redis-server redis-sentinel redis-tools python3 python3-redis
    netcat-openbsd iproute2 procps valgrind nutcracker
    # real frameworks for tests/integration/test_frameworks.py and
    # test_proxy_frameworks.py: job queues (RQ, Celery, Sidekiq), Django's
    # cache and sessions (django-redis), Django Channels' layers, rate
    # limits (limits)
    python3-rq python3-celery python3-django-redis python3-channels-redis
    python3-limits ruby-sidekiq
    # libFuzzer target (make fuzz)
    clang
    # Node.js clients (ioredis, node-redis) in tests/integration/test_proxy_clients.py
    nodejs
)
# npm comes with nodejs from some sources (NodeSource) and as its own
# package in Debian: installed only when no npm command is found.
if ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(npm)
fi

# ioredis, node-redis and the Node.js frameworks from the npm registry, as
# tests/clients/package.json and its package-lock.json pin them, into
# tests/clients/node_modules.
node_clients() {
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/clients"
    # Every dependency package.json names (a checkout that installed them
    # before one was added installs again).
    if command -v node >/dev/null 2>&1 && (cd "$dir" && node -e '
        const fs = require("fs");
        const deps = Object.keys(require("./package.json").dependencies);
        process.exit(deps.every((d) => fs.existsSync("node_modules/" + d + "/package.json")) ? 0 : 1);
        '); then
        echo "deps: Node.js test clients are installed"
        return 0
    fi
    if [ "$check_only" = 1 ]; then
        echo "deps: missing: Node.js test clients (npm install in tests/clients)"
        return 1
    fi
    if ! (cd "$dir" && npm install --no-audit --no-fund); then
        echo "deps: npm install in $dir failed (is the npm registry reachable?)" >&2
        return 1
    fi
    echo "deps: installed the Node.js test clients"
}

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps/install.sh: this script needs a Debian-based system (dpkg, apt-get)." >&2
    echo "Install the equivalents of: ${PACKAGES[*]}" >&2
    exit 1
fi

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PACKAGES[@]} packages are installed"
    node_clients
    exit $?
fi
echo "deps: missing: ${missing[*]}"
if [ "$check_only" = 1 ]; then
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
        # -n fails instead of prompting when no stdin is there to answer.
        if [ -t 0 ]; then
            SUDO=(sudo)
        fi
    else
        echo "deps: not root and sudo is not available; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null

still=()
for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
done
if [ ${#still[@]} -gt 0 ]; then
    echo "deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
node_clients
