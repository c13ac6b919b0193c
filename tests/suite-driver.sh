#!/usr/bin/env bash
# automake's LOG_DRIVER for every entry of TESTS (tests/include.am): runs one
# suite with tests/suite-lib.sh, shows its output as it runs (and keeps it
# in the .log), and writes one ":test-result:" per case into the .trs, so
# automake's totals count cases, not suites.  The .trs also carries what
# tests/summary.sh prints at the end of "make check" (":cachely-...:").
#   suite-driver.sh --test-name N --log-file F.log --trs-file F.trs [...] -- cmd... suite
# A suite CACHELY_TESTS filters out runs nothing and is recorded as SKIP
# with no case.
set -u
log_file= trs_file=
while [ $# -gt 0 ]; do
    case $1 in
        --log-file) log_file=$2; shift ;;
        --trs-file) trs_file=$2; shift ;;
        --test-name|--color-tests|--expect-failure|--enable-hard-errors|--collect-skipped-logs)
            shift ;;
        --) shift; break ;;
        *) echo "suite-driver.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$log_file" ] || [ -z "$trs_file" ] || [ $# -eq 0 ]; then
    echo "usage: suite-driver.sh --log-file F --trs-file F -- [compiler] suite" >&2
    exit 2
fi
suite=${!#} # the last word; a compiler (python3, bash) may come before it
. "${0%/*}/suite-lib.sh"
suite_name_of "$suite"
if ! suite_wanted "$suite_name"; then
    printf ':global-test-result: SKIP\n:recheck: no\n:copy-in-global-log: no\n' > "$trs_file"
    : > "$log_file"
    exit 0
fi
suite_setup

state=$(mktemp)
trap 'rm -f "$state"' EXIT
# The suite runs in the pipeline's subshell: its counts come back in $state.
{
    if suite_run "$suite"; then
        {
            echo "ran"
            echo "$suite_name"
            echo "$suite_passed $suite_failed $suite_seconds"
            printf '%s\n' "${suite_notes[@]+"${suite_notes[@]}"}"
        } > "$state"
    fi
} 2>&1 | tee "$log_file"

if [ "$(head -n 1 "$state")" != ran ]; then
    printf ':global-test-result: SKIP\n:recheck: no\n:copy-in-global-log: no\n' > "$trs_file"
    exit 0
fi
name=$(sed -n 2p "$state")
read -r passed failed seconds < <(sed -n 3p "$state")
{
    for ((i = 0; i < passed; i++)); do echo ":test-result: PASS"; done
    for ((i = 0; i < failed; i++)); do echo ":test-result: FAIL"; done
    if [ "$failed" -gt 0 ]; then
        echo ":global-test-result: FAIL"
        echo ":recheck: yes"
        echo ":copy-in-global-log: yes"
    else
        echo ":global-test-result: PASS"
        echo ":recheck: no"
        echo ":copy-in-global-log: no"
    fi
    echo ":cachely-name: $name"
    echo ":cachely-seconds: $seconds"
    sed -n '4,$p' "$state" | grep -v '^$' | sed 's/^/:cachely-note: /'
} > "$trs_file"
if [ "$failed" -gt 0 ]; then
    echo "FAIL: $name ($passed passed, $failed failed, $seconds s)"
else
    echo "PASS: $name ($passed passed, $seconds s)"
fi
exit 0
