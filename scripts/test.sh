#!/usr/bin/env bash
# Installs what is missing, builds twice (release, then ASan+UBSan) and runs every test:
# unit tests, rule fixtures, end-to-end runs of both binaries (over ../shared when present),
# the shipping tests (helm, kustomize, pre-commit, manifests; each skips cleanly where its
# tool cannot be had), and a short libFuzzer smoke run of the loader.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh --with-fuzz
if [ -x scripts/install-test-tools.sh ]; then
    scripts/install-test-tools.sh || echo "test.sh: some test tools are unavailable; their tests will skip" >&2
fi

echo "== release build"
cmake -S . -B out/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build out/release -j"$jobs"
(cd out/release && ctest --output-on-failure -j"$jobs")

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B out/asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON >/dev/null
cmake --build out/asan -j"$jobs"
(cd out/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j"$jobs")

echo "== fuzz smoke (libFuzzer, ${K5_FUZZ_SECONDS:-20}s)"
if command -v clang >/dev/null; then
    CC=clang cmake -S . -B out/fuzz -DFUZZ=ON -DBUILD_TESTING=OFF -DBUILD_WEBHOOK=OFF >/dev/null
    cmake --build out/fuzz -j"$jobs" --target fuzz_loader >/dev/null
    mkdir -p out/fuzz/corpus
    out/fuzz/tests/fuzz/fuzz_loader -max_total_time="${K5_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
        -artifact_prefix=out/fuzz/ out/fuzz/corpus tests/fuzz/seeds 2>out/fuzz/log.txt ||
        { tail -30 out/fuzz/log.txt; exit 1; }
    tail -1 out/fuzz/log.txt
else
    echo "clang not available: fuzz smoke skipped"
fi
echo "== all tests passed"
