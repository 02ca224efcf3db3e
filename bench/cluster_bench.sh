#!/bin/bash
# Admission decision time with a full cluster cache: p50/p99 of
# wh_admission_review_cached over 50,000 cached objects, and the same reviews
# without the cache in the same run (the ratio is what to compare between runs
# on a shared machine). Target (issue #11): p99 <= 300 us. Then the cost of a review in a
# namespace of 256 workloads under 0 to 256 NetworkPolicies, as a ratio to no policies.
#   bench/cluster_bench.sh [OBJECTS [REVIEWS [POLICY_REVIEWS]]]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/out/bench}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWEBHOOK_BENCH=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" -j2 --target wh-bench-cluster >/dev/null
exec nice -n 19 /usr/bin/time -f "peak RSS %M KiB" "$BUILD/webhook/wh-bench-cluster" "${1:-50000}" "${2:-20000}" "${3:-2000}"
