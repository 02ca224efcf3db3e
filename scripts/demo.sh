#!/usr/bin/env bash
# Installs what is missing, builds kube5xx, and lints the bundled examples: a shop whose
# configuration causes 502/503/504 (findings expected), then the same shop fixed (clean).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B out/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build out/release -j"$(nproc)" >/dev/null
echo "== kube5xx lint docs/examples/broken/   (a shop that will serve 5xx)"
out/release/lint/kube5xx lint docs/examples/broken/ && rc=0 || rc=$?
echo "   exit status $rc (1: findings at or above --fail-on error)"
echo
echo "== kube5xx lint docs/examples/fixed/    (the same shop, fixed)"
out/release/lint/kube5xx lint docs/examples/fixed/
echo
echo "Binaries: out/release/lint/kube5xx, out/release/webhook/kube5xx-webhook"
echo "Next: out/release/lint/kube5xx explain service-target-port-mismatch"
