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
#        scripts/accuracy.sh --table BEFORE.tsv AFTER.tsv
#   prints the Markdown table of docs/accuracy.md: per rule and severity, the counts on
#   each source, before -> after (only the sources where a count changed are listed
#   per row; the totals column counts all of them).
set -eu
if [ "${1:-}" = "--table" ]; then
    exec python3 - "$2" "$3" <<'PY'
import sys, collections
def load(path):
    d = collections.defaultdict(dict)
    for line in open(path):
        src, rule, sev, n = line.rstrip("\n").split("\t")
        if not rule.startswith("("):
            d["%s (%s)" % (rule, sev)][src] = int(n)
    return d
before, after = load(sys.argv[1]), load(sys.argv[2])
print("| rule (severity) | total before -> after | sources that changed (before -> after) |")
print("|---|---|---|")
for k in sorted(set(before) | set(after)):
    b, a = before.get(k, {}), after.get(k, {})
    ch = ["%s %d -> %d" % (s, b.get(s, 0), a.get(s, 0)) for s in sorted(set(b) | set(a))
          if b.get(s, 0) != a.get(s, 0)]
    print("| %s | %d -> %d | %s |" % (k, sum(b.values()), sum(a.values()), ", ".join(ch) or "-"))
PY
fi
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
