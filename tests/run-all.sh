#!/usr/bin/env bash
# Runs every test suite against a build and prints one closing line
# "tests: N passed, M failed".  Called by "make check" with CACHELY_BUILDDIR
# and CACHELY_SRCDIR set; each suite's own output is shown as it runs.
#   Criterion binaries (unit, integration): counted per test case.
#   tests/unit/test_*.sh, tests/compat/test_*.py (run with /usr/bin/python3)
#   and tests/compat/test_*.sh: each prints its own "N passed, M failed"
#   line, which is added up.
#   The fuzz corpus replay: one case per corpus file.
set -u
B=${CACHELY_BUILDDIR:-$(pwd)}
S=${CACHELY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export CACHELY_BUILDDIR=$B CACHELY_SRCDIR=$S
passed=0
failed=0
failed_suites=()
failed_cases=()   # the first lines naming a failed case, repeated at the end
only=${CACHELY_TESTS:-}   # optional substring filter on suite names

# Under LeakSanitizer, Criterion's runner (libcriterion 2.4.1) leaks a few
# bytes of its own at exit; ignore only leaks allocated inside libcriterion.
# Suppressions match any frame of an allocation's stack, and every test's
# allocations have Criterion frames near the bottom, so the Criterion
# binaries keep only 3 frames per allocation (run_criterion): then only
# allocations made by Criterion itself still show a libcriterion frame.
if [ -z "${LSAN_OPTIONS:-}" ] && [ -d "$B/tests" ]; then
    printf 'leak:libcriterion.so\n' > "$B/tests/lsan.supp"
    export LSAN_OPTIONS="suppressions=$B/tests/lsan.supp:print_suppressions=0"
fi

# A sanitizer build (configure --enable-sanitizers) is one whatever the
# environment says: "make check" passes CACHELY_SANITIZER_BUILD from
# configure; run directly, read it from the build's Makefile.  Suites then
# see CACHELY_SANITIZERS=1 (valgrind skipped, longer deadlines).
if [ -z "${CACHELY_SANITIZER_BUILD:-}" ] && [ -f "$B/Makefile" ]; then
    CACHELY_SANITIZER_BUILD=$(sed -n 's/^CACHELY_SANITIZER_BUILD = //p' "$B/Makefile")
fi
export CACHELY_SANITIZER_BUILD=${CACHELY_SANITIZER_BUILD:-0}
if [ "$CACHELY_SANITIZER_BUILD" = 1 ]; then
    export CACHELY_SANITIZERS=1
fi

wanted() { [ -z "$only" ] || [[ "$1" == *"$only"* ]]; }

timings=()   # "seconds name" per suite, the slowest listed at the end
suite_start=$SECONDS

add_counts() { # suite name, passed, failed
    timings+=("$((SECONDS - suite_start)) $1")
    passed=$((passed + $2))
    failed=$((failed + $3))
    if [ "$3" -gt 0 ]; then failed_suites+=("$1"); fi
}

# note_failures <suite> <output file>: keep up to 5 lines that name a failed
# case (python suites print "FAIL <case>", Criterion "[FAIL]"/"[----]"), so
# the end of a long log still says what failed.
note_failures() {
    local l
    while IFS= read -r l; do
        failed_cases+=("$1: ${l:0:160}")
    done < <(grep -aE '^(FAIL |!! )|\[FAIL\]|CRASH|Assertion failed|AddressSanitizer|runtime error:' "$2" | head -n 5)
}

run_criterion() {
    local bin=$1 name out p f c
    name=${bin#"$B"/}
    wanted "$name" || return 0
    echo "== $name"
    suite_start=$SECONDS
    out=$(mktemp)
    # Criterion runs cases in parallel; integration cases each start their
    # own server on a free port, so that is safe.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}malloc_context_size=3" \
        timeout 600 "$bin" --jobs 2 >"$out" 2>&1
    local rc=$?
    cat "$out"
    local line
    line=$(grep -a 'Synthesis:' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
        f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
        c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
        f=$(( ${f:-0} + ${c:-0} ))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            # Every case passed but the runner itself failed (a sanitizer
            # report at exit, a crash after the summary): count it.
            echo "!! $name exited with $rc after its summary"
            f=1
        fi
        add_counts "$name" "${p:-0}" "$f"
    else
        echo "!! $name exited with $rc and no summary"
        add_counts "$name" 0 1
        f=1
    fi
    [ "$f" -gt 0 ] && note_failures "$name" "$out"
    rm -f "$out"
}

run_counted() { # a script that prints "N passed, M failed"
    local name=$1; shift
    wanted "$name" || return 0
    echo "== $name"
    suite_start=$SECONDS
    local out
    out=$(mktemp)
    timeout 900 "$@" 2>&1 | tee "$out"
    local line
    line=$(grep -aE '^[a-z]*:? *[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        local p f
        p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.*passed, \([0-9][0-9]*\) failed.*/\1/p')
        add_counts "$name" "${p:-0}" "${f:-0}"
        [ "${f:-0}" -gt 0 ] && note_failures "$name" "$out"
    else
        echo "!! $name printed no summary"
        add_counts "$name" 0 1
        note_failures "$name" "$out"
        failed_cases+=("$name: printed no summary")
    fi
    rm -f "$out"
}

for dir in unit integration; do
    for bin in "$B"/tests/$dir/test_*; do
        [ -f "$bin" ] && [ -x "$bin" ] || continue
        case "$bin" in *.c|*.o|*.log|*.trs|*.py|*.sh) continue;; esac
        run_criterion "$bin"
    done
done

# Unit checks that must build code differently (e.g. against a modified
# header) are scripts that print their own counts.
for t in "$S"/tests/unit/test_*.sh; do
    [ -f "$t" ] || continue
    run_counted "unit/$(basename "$t")" bash "$t"
done

# Each libFuzzer target's corpus: tests/fuzz/corpus/<target>/, and for
# fuzz_resp (the first one) the files directly in tests/fuzz/corpus/.
for bin in "$B"/tests/fuzz/fuzz_*_replay; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    target=$(basename "$bin" _replay)
    if [ -d "$S/tests/fuzz/corpus/$target" ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus/$target" -type f | sort)
    elif [ -d "$S/tests/fuzz/corpus/${target#fuzz_}" ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus/${target#fuzz_}" -type f | sort)
    elif [ "$target" = fuzz_resp ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus" -maxdepth 1 -type f | sort)
    else
        echo "!! $target has no corpus in tests/fuzz/corpus/$target"
        add_counts "${target}_replay" 0 1
        continue
    fi
    run_counted "${target}_replay" "$bin" "${seeds[@]}"
done

for bin in "$B"/tests/tsan/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o) continue;; esac
    run_counted "tsan/$(basename "$bin")" "$bin"
done

for t in "$S"/tests/compat/test_*.py; do
    [ -f "$t" ] || continue
    run_counted "compat/$(basename "$t")" /usr/bin/python3 "$t"
done
for t in "$S"/tests/compat/test_*.sh; do
    [ -f "$t" ] || continue
    run_counted "compat/$(basename "$t")" bash "$t"
done
for t in "$S"/tests/integration/test_*.py; do
    [ -f "$t" ] || continue
    run_counted "integration/$(basename "$t")" /usr/bin/python3 "$t"
done

# Where the time goes (CI has a budget): the slowest suites.
printf '%s\n' "${timings[@]}" | sort -rn | head -n 10 \
    | awk '{ printf "slowest: %5d s  %s\n", $1, $2 }'
if [ ${#failed_suites[@]} -gt 0 ]; then
    echo "failed suites: ${failed_suites[*]}"
    printf 'failed: %s\n' "${failed_cases[@]+"${failed_cases[@]}"}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
