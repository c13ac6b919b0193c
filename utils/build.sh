#!/usr/bin/env bash
# Builds Cachely out of tree: ./build (jemalloc, -O2), or with --sanitizers
# ./build-san (ASan + UBSan, libc malloc), or with --tsan ./build-tsan
# (ThreadSanitizer, libc malloc).  Regenerates configure first when
# it is missing or older than configure.ac / Makefile.am / an include.am.
#   utils/build.sh [--sanitizers|--tsan] [extra configure arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

dir=build
conf=()
if [ "${1:-}" = "--sanitizers" ]; then
    dir=build-san
    conf=(--enable-sanitizers)
    shift
elif [ "${1:-}" = "--tsan" ]; then
    dir=build-tsan
    conf=(--enable-sanitizers=thread)
    shift
fi
conf+=("$@")

stale=0
if [ ! -x configure ] || [ ! -f Makefile.in ]; then
    stale=1
else
    for f in configure.ac Makefile.am src/*/include.am tests/include.am; do
        if [ -f "$f" ] && [ "$f" -nt configure -o "$f" -nt Makefile.in ]; then
            stale=1
        fi
    done
fi
if [ "$stale" = 1 ]; then
    echo "build: ./autogen.sh"
    ./autogen.sh
fi

mkdir -p "$dir"
cd "$dir"
# Configure again when configure changed or the options differ from last time.
want="${conf[*]:-}"
have=$(cat .cachely-configure-args 2>/dev/null || echo "<none>")
if [ ! -f Makefile ] || [ ! -f config.status ] || [ "$top/configure" -nt config.status ] \
    || [ "$want" != "$have" ]; then
    echo "build: configure ${want} (in $dir)"
    "$top/configure" -q "${conf[@]}"
    printf '%s' "$want" > .cachely-configure-args
fi
jobs=$(nproc 2>/dev/null || echo 2)
echo "build: make -j$jobs (in $dir)"
make -j"$jobs"
