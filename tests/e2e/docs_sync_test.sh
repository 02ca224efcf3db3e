#!/usr/bin/env bash
# docs/rules.md is generated from the registry; it must match what the binary prints.
# Regenerate with: kube5xx rules --format markdown > docs/rules.md
set -euo pipefail
: "${KUBE5XX:?}" "${K5_SOURCE_DIR:?}"
if ! diff -u "$K5_SOURCE_DIR/docs/rules.md" <("$KUBE5XX" rules --format markdown); then
    echo "docs/rules.md is stale: run 'kube5xx rules --format markdown > docs/rules.md'" >&2
    exit 1
fi
echo "docs/rules.md matches the registry ($("$KUBE5XX" rules | tail -n +2 | wc -l) rules)"
