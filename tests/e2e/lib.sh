# Shared helpers for the end-to-end scripts. Source it; it sets up $T (a temp dir).
set -uo pipefail
: "${KUBE5XX:?set KUBE5XX to the kube5xx binary}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }
# run NAME EXPECTED_RC CMD...: runs with a time bound, keeps stdout/stderr in $T/out, $T/err.
run() {
    local name=$1 want=$2
    shift 2
    timeout 60 "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        bad "$name: exit $rc, want $want"
        sed 's/^/    /' "$T/err" | head -5 >&2
    else
        ok
    fi
    if grep -qE 'Sanitizer|runtime error' "$T/err"; then
        bad "$name: sanitizer report"
        head -20 "$T/err" >&2
    fi
}
has() { # has NAME FILE REGEX
    if grep -qE -- "$3" "$2"; then ok; else bad "$1: '$3' not in $2"; sed 's/^/    /' "$2" | head -5 >&2; fi
}
hasnt() {
    if grep -qE -- "$3" "$2"; then bad "$1: '$3' unexpectedly in $2"; else ok; fi
}
finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
