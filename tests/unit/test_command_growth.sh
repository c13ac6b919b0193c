#!/usr/bin/env bash
# Regression (issue 9 item 14): the command name table had a fixed 256 slots,
# so a command list with more top-level names than that made command_setup()
# probe forever.  This builds src/core/command.c against a copy of command.h
# with 600 extra rows (about five times today's list) and checks that every
# name is found; with the fixed table it hangs and the timeout fails it.
# Prints "N passed, M failed" like the other script suites.
set -u
B=${CACHELY_BUILDDIR:-$(pwd)}
S=${CACHELY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${CC:-cc}
tmp=$(mktemp -d /tmp/cachely-cmdgrow-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/core"
awk '
    { print }
    /^#define CMD_LIST\(X\)/ {
        for (i = 0; i < 600; i++) {
            printf "    X(FAKE%d, NONE, \"fake-%d\", 1, 0, 0, 0, 0, \"server\", \"1.0.0\", \"x\", none) \\\n", i, i
        }
    }
' "$S/src/core/command.h" > "$tmp/core/command.h"

cat > "$tmp/main.c" <<'C'
#include "core/command.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* command.c's only allocations: plain libc here. */
void *mem_alloc(size_t n) { return malloc(n); }
void *mem_realloc(void *p, size_t n) { return realloc(p, n); }
void mem_free(void *p) { free(p); }
/* and its only helper from core/util (movable keys' numkeys). */
int
util_str2ll(const char *s, size_t len, long long *v)
{
    char b[32], *end;
    if (len == 0 || len >= sizeof(b)) {
        return -1;
    }
    memcpy(b, s, len);
    b[len] = '\0';
    *v = strtoll(b, &end, 10);
    return *end ? -1 : 0;
}
int
main(void)
{
    char name[32];
    int missing = 0;
    command_setup();
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "FAKE-%d", i);
        missing += command_lookup(name, strlen(name)) == NULL;
    }
    missing += command_lookup("get", 3) == NULL;
    missing += command_lookup("nosuchcommand", 13) != NULL;
    printf("%d\n", missing);
    return 0;
}
C

passed=0
failed=0
if ! "$CC" -std=gnu11 -I"$tmp" -I"$B" -I"$S/src" -o "$tmp/grow" "$tmp/main.c" \
        "$S/src/core/command.c" 2>"$tmp/cc.log"; then
    echo "FAIL command.c does not build with a 737-command list:"
    cat "$tmp/cc.log"
    failed=1
else
    out=$(timeout 20 "$tmp/grow")
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$out" = "0" ]; then
        passed=1
    else
        echo "FAIL lookups with a 737-command list: status $rc, $out names wrong"
        failed=1
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
