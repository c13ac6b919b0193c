# Running one test suite and counting its cases: sourced by tests/run-all.sh
# (every suite, one after the other) and by tests/suite-driver.sh (automake's
# LOG_DRIVER: one suite per TESTS entry).  Needs bash.
#
# suite_setup: the environment every suite sees (CACHELY_BUILDDIR/SRCDIR,
#   the sanitizer flag, LeakSanitizer's suppression of Criterion's leak).
# suite_run <path>: runs the suite at <path> (a built program or a script in
#   the source tree), showing its output, and sets
#     suite_name     the name CACHELY_TESTS filters on and failures are
#                    reported under ("tests/unit/test_db", "compat/test_x.py")
#     suite_passed, suite_failed   its case counts
#     suite_notes    up to 5 lines naming failed cases (array)
#     suite_seconds  how long it took
#   Returns 1 when the suite was filtered out by CACHELY_TESTS (nothing run).
#
# Criterion binaries are counted per case; scripts (python, shell) and the
# plain programs print their own "N passed, M failed" line; a fuzz corpus
# replay counts one case per corpus file.

suite_setup() {
    B=${CACHELY_BUILDDIR:-$(pwd)}
    S=${CACHELY_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
    export CACHELY_BUILDDIR=$B CACHELY_SRCDIR=$S

    # Under LeakSanitizer, Criterion's runner (libcriterion 2.4.1) leaks a
    # few bytes of its own at exit; ignore only leaks allocated inside
    # libcriterion.  Suppressions match any frame of an allocation's stack,
    # and every test's allocations have Criterion frames near the bottom, so
    # the Criterion binaries keep only 3 frames per allocation
    # (suite_criterion): then only allocations made by Criterion itself
    # still show a libcriterion frame.
    if [ -z "${LSAN_OPTIONS:-}" ] && [ -d "$B/tests" ]; then
        [ -f "$B/tests/lsan.supp" ] || printf 'leak:libcriterion.so\n' > "$B/tests/lsan.supp"
        export LSAN_OPTIONS="suppressions=$B/tests/lsan.supp:print_suppressions=0"
    fi

    # A sanitizer build (configure --enable-sanitizers) is one whatever the
    # environment says: "make check" passes CACHELY_SANITIZER_BUILD from
    # configure; run directly, read it from the build's Makefile.  Suites
    # then see CACHELY_SANITIZERS=1 (valgrind skipped, longer deadlines).
    if [ -z "${CACHELY_SANITIZER_BUILD:-}" ] && [ -f "$B/Makefile" ]; then
        CACHELY_SANITIZER_BUILD=$(sed -n 's/^CACHELY_SANITIZER_BUILD = //p' "$B/Makefile")
    fi
    export CACHELY_SANITIZER_BUILD=${CACHELY_SANITIZER_BUILD:-0}
    if [ "$CACHELY_SANITIZER_BUILD" = 1 ]; then
        export CACHELY_SANITIZERS=1
    fi
}

suite_wanted() { [ -z "${CACHELY_TESTS:-}" ] || [[ "$1" == *"$CACHELY_TESTS"* ]]; }

# suite_note_failures <output file>: keep up to 5 lines that name a failed
# case (python suites print "FAIL <case>", Criterion "[FAIL]"/"[----]"), so
# the end of a long log still says what failed.
suite_note_failures() {
    local l
    while IFS= read -r l; do
        suite_notes+=("$suite_name: ${l:0:160}")
    done < <(grep -aE '^(FAIL |!! )|\[FAIL\]|CRASH|Assertion failed|AddressSanitizer|runtime error:' "$1" | head -n 5)
}

suite_criterion() { # bin
    local bin=$1 out p f rc line
    out=$(mktemp)
    # Criterion runs cases in parallel; integration cases each start their
    # own server on a free port, so that is safe.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}malloc_context_size=3" \
        timeout 600 "$bin" --jobs 2 >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(grep -a 'Synthesis:' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
        f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
        # Criterion's "Failing" already counts the crashed cases ("Tested: 3
        # | Passing: 1 | Failing: 2 | Crashing: 1"): adding "Crashing" to it
        # counted a crash twice.
        f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            # Every case passed but the runner itself failed (a sanitizer
            # report at exit, a crash after the summary): count it.
            echo "!! $suite_name exited with $rc after its summary"
            f=1
        fi
        suite_passed=${p:-0}
        suite_failed=$f
    else
        echo "!! $suite_name exited with $rc and no summary"
        suite_passed=0
        suite_failed=1
    fi
    [ "$suite_failed" -gt 0 ] && suite_note_failures "$out"
    rm -f "$out"
}

suite_counted() { # command...: a script that prints "N passed, M failed"
    local out line
    out=$(mktemp)
    timeout 900 "$@" 2>&1 | tee "$out"
    line=$(grep -aE '^[a-z]*:? *[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        suite_passed=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
        suite_failed=$(echo "$line" | sed -n 's/.*passed, \([0-9][0-9]*\) failed.*/\1/p')
        suite_passed=${suite_passed:-0}
        suite_failed=${suite_failed:-0}
        [ "$suite_failed" -gt 0 ] && suite_note_failures "$out"
    else
        echo "!! $suite_name printed no summary"
        suite_passed=0
        suite_failed=1
        suite_note_failures "$out"
        suite_notes+=("$suite_name: printed no summary")
    fi
    rm -f "$out"
}

# Each libFuzzer target's corpus: tests/fuzz/corpus/<target>/, and for
# fuzz_resp (the first one) the files directly in tests/fuzz/corpus/.
suite_fuzz_replay() { # bin
    local bin=$1 target seeds
    target=$(basename "$bin" _replay)
    if [ -d "$S/tests/fuzz/corpus/$target" ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus/$target" -type f | sort)
    elif [ -d "$S/tests/fuzz/corpus/${target#fuzz_}" ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus/${target#fuzz_}" -type f | sort)
    elif [ "$target" = fuzz_resp ]; then
        mapfile -t seeds < <(find "$S/tests/fuzz/corpus" -maxdepth 1 -type f | sort)
    else
        echo "!! $target has no corpus in tests/fuzz/corpus/$target"
        suite_passed=0
        suite_failed=1
        suite_notes+=("$suite_name: no corpus in tests/fuzz/corpus/$target")
        return
    fi
    suite_counted "$bin" "${seeds[@]}"
}

# suite_name_of <path>: sets suite_name (and suite_kind, "dir/base") from
# where the suite lives; no subprocess.
suite_name_of() {
    local path=$1 base dir
    base=${path##*/}
    dir=${path%/*}
    dir=${dir##*/}
    suite_kind="$dir/$base"
    case "$suite_kind" in
        fuzz/fuzz_*_replay) suite_name=${base} ;;
        unit/*.sh | compat/*.py | compat/*.sh | integration/*.py | tsan/*)
            suite_name="$dir/$base" ;;
        *) suite_name="tests/$dir/$base" ;;
    esac
}

suite_run() { # path
    local path=$1 start
    suite_name_of "$path"
    suite_passed=0
    suite_failed=0
    suite_notes=()
    suite_seconds=0
    suite_wanted "$suite_name" || return 1
    echo "== $suite_name"
    start=$SECONDS
    case "$suite_kind" in
        fuzz/fuzz_*_replay) suite_fuzz_replay "$path" ;;
        */*.py) suite_counted /usr/bin/python3 "$path" ;;
        */*.sh) suite_counted bash "$path" ;;
        tsan/*) suite_counted "$path" ;;
        *) suite_criterion "$path" ;;
    esac
    suite_seconds=$((SECONDS - start))
    return 0
}

# suite_report: the closing lines of a whole run from the globals passed,
# failed, timings ("seconds name"), failed_suites and failed_cases: the ten
# slowest suites, what failed, and "tests: N passed, M failed" (which
# utils/test-all.sh and the CI read).  Returns 1 when anything failed.
suite_report() {
    if [ ${#timings[@]} -gt 0 ]; then
        printf '%s\n' "${timings[@]}" | sort -rn | head -n 10 \
            | awk '{ printf "slowest: %5d s  %s\n", $1, $2 }'
    fi
    if [ ${#failed_suites[@]} -gt 0 ]; then
        echo "failed suites: ${failed_suites[*]}"
        printf 'failed: %s\n' "${failed_cases[@]+"${failed_cases[@]}"}"
    fi
    echo "tests: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
