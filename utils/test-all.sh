#!/usr/bin/env bash
# Second command of the README: install the Debian packages, build, and run
# "make check" in ./build.  With --sanitizers, also build ./build-san (ASan +
# UBSan) and run "make check" there.  Ends with one line
#   tests: N passed, M failed
# summing both runs, and exits non-zero when anything failed.
# With --sanitizers the default and the sanitizer build's suites run at the
# same time (most suites wait on servers and timers, not on a CPU: the two
# runs together took about as long as the sanitizer run alone), each into
# its own log, printed whole when both are done; --serial runs them one
# after the other, with their output as it comes.
#   utils/test-all.sh [--sanitizers] [--serial] [--no-deps]
#   CACHELY_TESTS=substr utils/test-all.sh    only suites whose name matches
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
start=$SECONDS

sanitizers=0
serial=0
deps=1
for a in "$@"; do
    case "$a" in
        --sanitizers) sanitizers=1 ;;
        --no-deps) deps=0 ;;
        --serial) serial=1 ;;
        *) echo "usage: $0 [--sanitizers] [--serial] [--no-deps]" >&2; exit 2 ;;
    esac
done

total_passed=0
total_failed=0
notes=()

finish() {
    local n
    for n in "${notes[@]+"${notes[@]}"}"; do
        echo "$n"
    done
    echo "test-all: took $((SECONDS - start)) s"
    echo "tests: $total_passed passed, $total_failed failed"
    [ "$total_failed" -eq 0 ] && [ "$1" -eq 0 ]
    exit $?
}

if [ "$deps" = 1 ] && ! ./deps/install.sh; then
    echo "test-all: installing dependencies failed" >&2
    total_failed=1
    finish 1
fi

# run_check <build dir> <label> [VAR=value...]: make check there, with those
# variables in the environment, and add its counts.
run_check() {
    local dir=$1 label=$2 log rc
    shift 2
    log=$(mktemp)
    echo "==== make check in $dir ($label)"
    if [ "${RUN_ONLY:-}" = 1 ]; then
        # The programs are built: run the suites without building the rest.
        env "$@" CACHELY_BUILDDIR="$top/$dir" CACHELY_SRCDIR="$top" \
            bash "$top/tests/run-all.sh" 2>&1 | tee "$log"
    else
        env "$@" make -C "$top/$dir" -j"$(nproc 2>/dev/null || echo 2)" check 2>&1 | tee "$log"
    fi
    rc=${PIPESTATUS[0]}
    count_check "$label" "$log" "$rc"
}

# run_suites_bg <build dir> <log> [VAR=value...]: run the built suites of
# that build in the background, output and exit status into <log> and
# <log>.rc.  The programs must be built (make check-programs).
run_suites_bg() {
    local dir=$1 log=$2
    shift 2
    (
        env "$@" CACHELY_BUILDDIR="$top/$dir" CACHELY_SRCDIR="$top" \
            bash "$top/tests/run-all.sh" >"$log" 2>&1
        echo $? >"$log.rc"
    ) &
}

# count_check <label> <log> <exit status>: add a run's counts and the names
# of what failed; removes the log.
count_check() {
    local label=$1 log=$2 rc=$3 line l p f
    line=$(grep -aE '^tests: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    # What failed goes to the end of the output too, where a tail sees it.
    while IFS= read -r l; do
        notes+=("test-all: $label: $l")
    done < <(grep -aE '^failed( suites)?: ' "$log" | head -n 20)
    rm -f "$log"
    if [ -z "$line" ]; then
        notes+=("test-all: $label: make check exited $rc without a summary (counted as 1 failure)")
        total_failed=$((total_failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/^tests: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # make failed after the summary: do not report a clean run
    fi
    notes+=("test-all: $label: $p passed, $f failed")
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
}

# LeakSanitizer needs to stop the process's threads with ptrace-like calls,
# which some containers forbid; probe it once and say so instead of failing
# every test.
lsan_works() {
    local d out
    d=$(mktemp -d)
    printf '#include <stdlib.h>\nint main(void) { void *volatile p = malloc(33); p = 0; return 0; }\n' \
        > "$d/leak.c"
    if ! cc -fsanitize=address -g "$d/leak.c" -o "$d/leak" 2>/dev/null; then
        rm -rf "$d"
        return 1
    fi
    out=$(ASAN_OPTIONS=detect_leaks=1 "$d/leak" 2>&1)
    rm -rf "$d"
    [[ "$out" == *"LeakSanitizer: detected memory leaks"* ]]
}

san_env=(CACHELY_SANITIZERS=1 ASAN_OPTIONS="abort_on_error=1"
         UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
san_leaks() {
    # tests/run-all.sh sets LSAN_OPTIONS (a suppression for Criterion's own
    # leak at exit).
    local leaks=1
    if ! lsan_works; then
        leaks=0
        notes+=("test-all: LeakSanitizer does not work here (ptrace not allowed?); leak checks are off")
    fi
    san_env[1]="ASAN_OPTIONS=detect_leaks=$leaks:abort_on_error=1"
}

if [ "$sanitizers" = 1 ] && [ "$serial" = 0 ]; then
    # Build everything first (the compilers would slow the suites), then
    # run the two builds' suites side by side.
    built=()
    if ./utils/build.sh && make -C build -s -j2 check-programs >/dev/null; then
        built+=(build)
    else
        notes+=("test-all: default build: build failed (counted as 1 failure)")
        total_failed=$((total_failed + 1))
    fi
    if ./utils/build.sh --sanitizers && make -C build-san -s -j2 check-programs >/dev/null; then
        built+=(build-san)
        san_leaks
    else
        notes+=("test-all: sanitizer build: build failed (counted as 1 failure)")
        total_failed=$((total_failed + 1))
    fi
    logs=$(mktemp -d)
    for dir in "${built[@]}"; do
        if [ "$dir" = build ]; then
            run_suites_bg build "$logs/build.log"
        else
            run_suites_bg build-san "$logs/build-san.log" "${san_env[@]}"
        fi
    done
    echo "==== the default and the sanitizer build's suites, side by side (logs follow)"
    wait
    for dir in "${built[@]}"; do
        label="default build"
        [ "$dir" = build-san ] && label="sanitizer build"
        echo "==== make check in $dir ($label)"
        cat "$logs/$dir.log"
        count_check "$label" "$logs/$dir.log" "$(cat "$logs/$dir.log.rc" 2>/dev/null || echo 1)"
    done
    rm -rf "$logs"
elif ./utils/build.sh; then
    run_check build "default build"
else
    notes+=("test-all: default build: build failed (counted as 1 failure)")
    total_failed=$((total_failed + 1))
fi

if [ "$sanitizers" = 1 ]; then
    if [ "$serial" = 1 ]; then
        if ./utils/build.sh --sanitizers; then
            san_leaks
            run_check build-san "sanitizer build" "${san_env[@]}"
        else
            notes+=("test-all: sanitizer build: build failed (counted as 1 failure)")
            total_failed=$((total_failed + 1))
        fi
    fi
    # Code that runs on a thread (lazy free) under ThreadSanitizer: only the
    # plain programs in tests/tsan (Criterion cannot start under TSan, and
    # the servers fork, which TSan handles poorly).
    if ./utils/build.sh --tsan >/dev/null && make -C build-tsan -s -j2 tsan-programs >/dev/null; then
        RUN_ONLY=1 run_check build-tsan "ThreadSanitizer build" CACHELY_TESTS=tsan/ \
            TSAN_OPTIONS="halt_on_error=1"
    else
        notes+=("test-all: ThreadSanitizer build: build failed (counted as 1 failure)")
        total_failed=$((total_failed + 1))
    fi
fi
finish 0
