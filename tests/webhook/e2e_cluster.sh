#!/bin/bash
# The webhook with --kubeconfig against the fake API server (tests/webhook/e2e_cluster.py).
: "${WEBHOOK:?WEBHOOK must name the kube5xx-webhook binary}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 "$(dirname "$0")/e2e_cluster.py" "$WEBHOOK"
