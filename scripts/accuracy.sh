#!/bin/sh
# Per-rule finding counts on each source of ../shared/corpus, each source
# directory linted on its own as a user lints a repository:
#   kube5xx lint --no-config --format json <dir>
# Prints one line per (source, rule, severity): "source<TAB>rule<TAB>severity<TAB>count",
# then per source the number of load errors and notices, so two runs (before and
# after a change) can be compared with diff(1) or join(1).
#
# usage: scripts/accuracy.sh [KUBE5XX] [CORPUS]
#   KUBE5XX  the binary (default: out/release/lint/kube5xx)
#   CORPUS   the corpus (default: ../shared/corpus)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/out/release/lint/kube5xx}
corpus=${2:-$here/../shared/corpus}
command -v jq >/dev/null || { echo "accuracy.sh: needs jq" >&2; exit 2; }
[ -x "$bin" ] || { echo "accuracy.sh: no binary at $bin (build first)" >&2; exit 2; }
[ -d "$corpus" ] || { echo "accuracy.sh: no corpus at $corpus" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$corpus"/*/; do
    src=$(basename "$dir")
    # Exit 1 (findings) and 2 (a file failed to load) are expected on real repositories.
    "$bin" lint --no-config --format json "$dir" >"$tmp/out.json" 2>"$tmp/err.txt" || true
    jq -r --arg s "$src" '.findings[] | select(.suppressed != true)
        | [$s, .rule, .severity] | @tsv' "$tmp/out.json" | sort | uniq -c |
        awk -v OFS='\t' '{ print $2, $3, $4, $1 }'
    printf '%s\t(load-errors)\t-\t%s\n' "$src" "$(jq '.errors | length' "$tmp/out.json")"
    printf '%s\t(notices)\t-\t%s\n' "$src" "$(grep -c ': notice: ' "$tmp/err.txt" || true)"
done
