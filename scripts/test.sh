#!/usr/bin/env bash
# Installs what is missing, builds twice (release, then ASan+UBSan) and runs every test:
# unit tests, rule fixtures, end-to-end runs of both binaries (over ../shared when present),
# the shipping tests (helm, kustomize, pre-commit, manifests; each skips cleanly where its
# tool cannot be had), and a short libFuzzer smoke run of every fuzz target with coverage floors.
#
#   scripts/test.sh [release] [asan] [fuzz]     (default: all three, in that order)
# KUBE5XX_CTEST_ARGS adds arguments to every ctest run (e.g. "-R e2e_cli"). A ctest run that
# finds no test fails (--no-tests=error), and the builds always configure BUILD_TESTING=ON,
# whatever an earlier ./scripts/demo.sh left in the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
stages=" ${*:-release asan fuzz} "
for s in $stages; do
    case $s in release | asan | fuzz) ;; *) echo "usage: $0 [release] [asan] [fuzz]" >&2; exit 2 ;; esac
done
read -r -a ctest_args <<<"${KUBE5XX_CTEST_ARGS:-}"
ctest_args=(--no-tests=error --output-on-failure -j"$jobs" "${ctest_args[@]}")
scripts/install-deps.sh --with-tests --with-fuzz
if [ -x scripts/install-test-tools.sh ]; then
    scripts/install-test-tools.sh || echo "test.sh: some test tools are unavailable; their tests will skip" >&2
fi

if [[ $stages == *" release "* ]]; then
echo "== release build"
cmake -S . -B out/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build out/release -j"$jobs"
(cd out/release && ctest "${ctest_args[@]}")
fi

if [[ $stages == *" asan "* ]]; then
echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B out/asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON -DBUILD_TESTING=ON >/dev/null
cmake --build out/asan -j"$jobs"
(cd out/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest "${ctest_args[@]}")
fi

[[ $stages == *" fuzz "* ]] || { echo "== all tests passed (stages:$stages)"; exit 0; }
echo "== fuzz smoke (libFuzzer: loader, admission, config, kube; ${K5_FUZZ_SECONDS:-10}s each, coverage floors)"
scripts/fuzz-smoke.sh
echo "== all tests passed"
