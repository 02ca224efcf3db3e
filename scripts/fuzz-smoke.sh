#!/usr/bin/env bash
# shellcheck disable=SC2034 # seeds_* and dicts_* are read through ${!var}
# The fuzz smoke run (called by scripts/test.sh): builds the libFuzzer targets with clang
# (FUZZ=ON: every library instrumented, ASan+UBSan), runs each briefly over its seeds, and
# fails when a target crashes or when its coverage ends below the floor in
# tests/fuzz/coverage-floors (a blind fuzzer passes nothing). Each target starts from its seeds
# and every past finding (tests/fuzz/regressions/<target>), with its committed dictionaries
# joined into one (libFuzzer takes one -dict). A crash prints the input's path, the command
# that replays it, and the input itself (base64, when small) so a CI log alone reproduces it.
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
mkdir -p "$build"
# Quiet when it works, the reason when it does not (set -e alone would end the stage silently).
if ! { CC=clang cmake -S . -B "$build" -DFUZZ=ON -DBUILD_TESTING=OFF -DBUILD_WEBHOOK=ON &&
    cmake --build "$build" -j"$(nproc)" --target fuzz_loader fuzz_admission fuzz_config \
        fuzz_kube; } >"$build/smoke-build.log" 2>&1; then
    echo "fuzz-smoke: the fuzz targets did not build ($build/smoke-build.log):" >&2
    tail -30 "$build/smoke-build.log" >&2
    exit 1
fi

# Seeds per target: our own inputs only, so the coverage at start does not depend on ../shared.
seeds_loader="tests/fuzz/seeds/loader tests/fuzz/regressions/loader tests/fixtures"
seeds_admission="tests/fuzz/seeds/admission tests/fuzz/regressions/admission tests/webhook/fixtures"
seeds_config="tests/fuzz/seeds/config tests/fuzz/regressions/config"
seeds_kube="tests/fuzz/seeds/kube tests/fuzz/regressions/kube"
# Dictionaries per target, joined into one file per run.
dicts_loader="tests/fuzz/loader-json.dict tests/fuzz/loader-yaml.dict"
dicts_admission="tests/fuzz/loader-json.dict tests/fuzz/admission.dict"
dicts_config="tests/fuzz/loader-yaml.dict tests/fuzz/config.dict"
dicts_kube="tests/fuzz/kube.dict"

targets="loader admission config kube"
for t in $targets; do
    if [ -z "$(awk -v t="$t" '$1 == t { print $2 }' "$floors")" ]; then
        echo "fuzz-smoke: no floor for $t in $floors" >&2
        exit 1
    fi
    # A missing seed, regression or dictionary path would start the target from less than
    # it should (or stop libFuzzer with a terse error): name it instead.
    var=seeds_$t dvar=dicts_$t
    for p in ${!var} ${!dvar}; do
        if [ ! -e "$p" ]; then
            echo "fuzz-smoke: $p (listed for fuzz_$t) does not exist" >&2
            exit 1
        fi
    done
done

# The targets run side by side, one per core: the floors compare coverage, not executions,
# so this halves the stage's wall time without weakening it.
run() {
    local t=$1 work=$build/smoke/$1 var=seeds_$1 dvar=dicts_$1
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/crash"
    # shellcheck disable=SC2086 # the dictionary lists are word lists
    cat ${!dvar} >"$work/dict"
    local rc=0
    # shellcheck disable=SC2086 # the seed lists are word lists
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -dict="$work/dict" -artifact_prefix="$work/crash/" "$work/corpus" ${!var} \
        >"$work/log.txt" 2>&1 || rc=$?
    echo "$rc" >"$work/rc"
}

# What a failed target left: the sanitizer's words, each input with the command that replays
# it, and the input itself in base64 when small (CI keeps its log, not its out/ directory).
report_crash() {
    local t=$1 work=$build/smoke/$1 rc=$2 found=0 a
    echo "fuzz-smoke: fuzz_$t FAILED (exit $rc); log: $work/log.txt" >&2
    grep -E 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^SUMMARY:' \
        "$work/log.txt" | head -5 | sed 's/^/    /' >&2 || true
    echo "--- last lines of the log:" >&2
    tail -40 "$work/log.txt" >&2
    echo "---" >&2
    for a in "$work"/crash/*; do
        [ -f "$a" ] || continue
        found=1
        echo "fuzz-smoke: fuzz_$t input: $a ($(wc -c <"$a") bytes)" >&2
        echo "    replay (clang, from the checkout's root): $build/tests/fuzz/fuzz_$t $a" >&2
        echo "    keep it (then fix it):                     cp $a tests/fuzz/regressions/$t/<what-it-found>" >&2
        echo "    replay in the ctest builds:                ctest -R fuzz_replay_$t (GCC: ASan+UBSan build)" >&2
        if [ "$(wc -c <"$a")" -le 4096 ]; then
            echo "    the input, base64 (base64 -d >FILE to recreate it):" >&2
            base64 -w 76 "$a" | sed 's/^/    /' >&2
        fi
    done
    if [ "$found" = 0 ]; then
        echo "fuzz-smoke: fuzz_$t left no input in $work/crash/: it did not start or died" \
            "outside an input (see the log above)" >&2
    fi
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
    rc=$(cat "$work/rc" 2>/dev/null || echo "?")
    if [ "$rc" != 0 ]; then
        report_crash "$t" "$rc"
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
    dict=$(grep -o 'Dictionary: [0-9]* entries' "$work/log.txt" | awk '{ print $2 }' | head -1)
    echo "fuzz-smoke: fuzz_$t cov ${start:-?} at start, $cov after ${secs}s ($execs runs;" \
        "floor $floor; ${dict:-no} dictionary entries)"
done
exit $fail
