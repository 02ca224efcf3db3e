#!/usr/bin/env bash
# The fuzz smoke run (called by scripts/test.sh): builds the libFuzzer targets with clang
# (FUZZ=ON: every library instrumented, ASan+UBSan), runs each briefly over its seeds, and
# fails when a target crashes or when its coverage ends below the floor in
# tests/fuzz/coverage-floors (a blind fuzzer passes nothing).
#   K5_FUZZ_SECONDS  seconds per target (default 10; targets run one per core, so with the
#                    build the stage stays near 90 s)
#   K5_FUZZ_BUILD    build directory (default out/fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${K5_FUZZ_SECONDS:-10}
build=${K5_FUZZ_BUILD:-out/fuzz}
floors=tests/fuzz/coverage-floors

if ! command -v clang >/dev/null; then
    echo "fuzz-smoke: clang not available: fuzz smoke skipped"
    exit 0
fi
CC=clang cmake -S . -B "$build" -DFUZZ=ON -DBUILD_TESTING=OFF -DBUILD_WEBHOOK=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_loader fuzz_admission fuzz_config fuzz_kube >/dev/null

# Seeds per target: our own inputs only, so the coverage at start does not depend on ../shared.
seeds_loader="tests/fuzz/seeds/loader tests/fuzz/regressions/loader tests/fixtures"
seeds_admission="tests/fuzz/seeds/admission tests/fuzz/regressions/admission tests/webhook/fixtures"
seeds_config="tests/fuzz/seeds/config tests/fuzz/regressions/config"
seeds_kube="tests/fuzz/seeds/kube tests/fuzz/regressions/kube"

targets="loader admission config kube"
for t in $targets; do
    if [ -z "$(awk -v t="$t" '$1 == t { print $2 }' "$floors")" ]; then
        echo "fuzz-smoke: no floor for $t in $floors" >&2
        exit 1
    fi
done

# The targets run side by side, one per core: the floors compare coverage, not executions,
# so this halves the stage's wall time without weakening it.
run() {
    local t=$1 work=$build/smoke/$1 var=seeds_$1
    rm -rf "$work"
    mkdir -p "$work/corpus"
    local rc=0
    # shellcheck disable=SC2086 # the seed lists are word lists
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work/corpus" ${!var} >"$work/log.txt" 2>&1 || rc=$?
    echo "$rc" >"$work/rc"
}
jobs_max=$(nproc)
running=0
for t in $targets; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs_max" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

fail=0
for t in $targets; do
    floor=$(awk -v t="$t" '$1 == t { print $2 }' "$floors")
    work=$build/smoke/$t
    if [ "$(cat "$work/rc" 2>/dev/null)" != 0 ]; then
        echo "fuzz-smoke: fuzz_$t found a crash (input in $work/):" >&2
        tail -40 "$work/log.txt" >&2
        fail=1
        continue
    fi
    start=$(grep -o 'INITED cov: [0-9]*' "$work/log.txt" | awk '{ print $3 }' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | awk '{ print $2 }' | tail -1)
    execs=$(grep -o '^Done [0-9]* runs' "$work/log.txt" | awk '{ print $2 }')
    if [ -z "$cov" ] || [ "$cov" -lt "$floor" ]; then
        echo "fuzz-smoke: fuzz_$t is (nearly) blind: cov ${cov:-?} is below its floor $floor" \
            "($floors); is every library it links built with -fsanitize=fuzzer-no-link?" >&2
        grep 'cov:' "$work/log.txt" | tail -3 >&2
        fail=1
        continue
    fi
    echo "fuzz-smoke: fuzz_$t cov ${start:-?} at start, $cov after ${secs}s ($execs runs; floor $floor)"
done
exit $fail
