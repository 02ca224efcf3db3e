#!/usr/bin/env bash
# Installs what is missing, builds twice (release, then ASan+UBSan) and runs every test:
# unit tests, rule fixtures, end-to-end runs of both binaries (over ../shared when present),
# the shipping tests (helm, kustomize, pre-commit, manifests; each skips cleanly where its
# tool cannot be had), and a short libFuzzer smoke run of every fuzz target with coverage floors.
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

echo "== fuzz smoke (libFuzzer: loader, admission, config, kube; ${K5_FUZZ_SECONDS:-10}s each, coverage floors)"
scripts/fuzz-smoke.sh
echo "== all tests passed"
