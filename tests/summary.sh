#!/usr/bin/env bash
# The end of "make check" (check-local, after automake ran TESTS through
# tests/suite-driver.sh): the ten slowest suites, the failed suites and the
# first lines naming their failed cases, and one closing line
#   tests: N passed, M failed
# which utils/test-all.sh and the CI read.  Also fails a suite in the source
# tree that TESTS does not list (it would never run).
#   summary.sh <srcdir> <the TESTS entries...>
set -u
. "$(dirname "$0")/suite-lib.sh"
S=$1
shift
passed=0
failed=0
failed_suites=()
failed_cases=()
timings=()
declare -A listed=()
for t in "$@"; do
    t=${t#./}
    t=${t#"$S"/}
    listed[$t]=1
    trs=${t%.py}
    trs=${trs%.sh}.trs
    if [ ! -f "$trs" ]; then
        # The driver itself failed (a filtered-out suite has a .trs too).
        echo "!! $t left no result ($trs)"
        failed=$((failed + 1))
        failed_suites+=("$t")
        failed_cases+=("$t: no result (see make's output above)")
        continue
    fi
    grep -q '^:cachely-name:' "$trs" || continue # filtered out by CACHELY_TESTS
    name=$(sed -n 's/^:cachely-name: //p' "$trs")
    p=$(grep -c '^:test-result: PASS' "$trs")
    f=$(grep -c '^:test-result: FAIL' "$trs")
    passed=$((passed + p))
    failed=$((failed + f))
    timings+=("$(sed -n 's/^:cachely-seconds: //p' "$trs") $name")
    if [ "$f" -gt 0 ]; then
        failed_suites+=("$name")
        while IFS= read -r l; do
            failed_cases+=("$l")
        done < <(sed -n 's/^:cachely-note: //p' "$trs")
    fi
done

# Every suite in the source tree is in TESTS (tests/include.am).
for f in "$S"/tests/unit/test_*.c "$S"/tests/integration/test_*.c; do
    [ -f "$f" ] || continue
    t=${f#"$S"/}
    t=${t%.c}
    if [ -z "${listed[$t]:-}" ]; then
        echo "!! $t is not in TESTS (add its name to tests/include.am)"
        failed=$((failed + 1))
        failed_suites+=("$t")
        failed_cases+=("$t: not in TESTS")
    fi
done
for f in "$S"/tests/unit/test_*.sh "$S"/tests/compat/test_*.py "$S"/tests/compat/test_*.sh \
         "$S"/tests/integration/test_*.py; do
    [ -f "$f" ] || continue
    t=${f#"$S"/}
    if [ -z "${listed[$t]:-}" ]; then
        echo "!! $t is not in TESTS (add its name to tests/include.am)"
        failed=$((failed + 1))
        failed_suites+=("$t")
        failed_cases+=("$t: not in TESTS")
    fi
done

suite_report
