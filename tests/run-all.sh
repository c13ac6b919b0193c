#!/usr/bin/env bash
# Runs every test suite against a build, one after the other, and prints one
# closing line "tests: N passed, M failed".  "make check" runs the same
# suites through automake's TESTS (tests/suite-driver.sh, then
# tests/summary.sh); this script is for a build whose programs are made
# (utils/test-all.sh's ThreadSanitizer run) or a run outside make:
#   CACHELY_BUILDDIR=$PWD/build [CACHELY_TESTS=substr] tests/run-all.sh
# Each suite's own output is shown as it runs; tests/suite-lib.sh says how
# each kind of suite is run and counted.
set -u
. "$(dirname "$0")/suite-lib.sh"
suite_setup
passed=0
failed=0
failed_suites=()
failed_cases=()   # the first lines naming a failed case, repeated at the end
timings=()        # "seconds name" per suite, the slowest listed at the end

run() {
    suite_run "$1" || return 0
    timings+=("$suite_seconds $suite_name")
    passed=$((passed + suite_passed))
    failed=$((failed + suite_failed))
    if [ "$suite_failed" -gt 0 ]; then
        failed_suites+=("$suite_name")
        failed_cases+=("${suite_notes[@]+"${suite_notes[@]}"}")
    fi
}

for dir in unit integration; do
    for bin in "$B"/tests/$dir/test_*; do
        [ -f "$bin" ] && [ -x "$bin" ] || continue
        case "$bin" in *.c|*.o|*.log|*.trs|*.py|*.sh) continue;; esac
        run "$bin"
    done
done
# Unit checks that must build code differently (e.g. against a modified
# header) are scripts that print their own counts.
for t in "$S"/tests/unit/test_*.sh; do
    [ -f "$t" ] && run "$t"
done
for bin in "$B"/tests/fuzz/fuzz_*_replay; do
    [ -f "$bin" ] && [ -x "$bin" ] && run "$bin"
done
for bin in "$B"/tests/tsan/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o|*.log|*.trs) continue;; esac
    run "$bin"
done
for t in "$S"/tests/compat/test_*.py "$S"/tests/compat/test_*.sh "$S"/tests/integration/test_*.py; do
    [ -f "$t" ] && run "$t"
done

# Where the time goes (CI has a budget), what failed, and the totals.
suite_report
