#!/usr/bin/env bash
# Benchmark: `kube5xx lint` over a 10,000-object stream against a parse-only pass
# (libyaml's event loop and nothing else) over the same bytes, in the same run.
# Targets: lint time <= 1.5x parse-only; lint peak RSS <= 4x the input size.
#
# usage: bench/lint_bench.sh [path/to/kube5xx] [objects]
# Needs hyperfine (Debian package) and /usr/bin/time (Debian package "time").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kube5xx=${1:-$here/../out/release/lint/kube5xx}
objects=${2:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_stream.py" "$objects" >"$work/stream.yaml"
cc -O2 -o "$work/parse_only" "$here/parse_only.c" $(pkg-config --cflags --libs yaml-0.1)
bytes=$(stat -c %s "$work/stream.yaml")
echo "input: $objects objects, $bytes bytes"
"$kube5xx" lint --no-config -q "$work/stream.yaml" | tail -1 || true

hyperfine -N --warmup 2 --runs 15 --export-json "$work/h.json" \
    "$work/parse_only $work/stream.yaml" \
    "$kube5xx lint --no-config -q --fail-on never $work/stream.yaml -o /dev/null" >/dev/null
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
p, l = r[0]["median"], r[1]["median"]
print(f"parse-only median {p*1000:.1f} ms, lint median {l*1000:.1f} ms, ratio lint/parse-only = {l/p:.2f} (target <= 1.5)")
PY
rss_kb=$( { /usr/bin/time -f '%M' "$kube5xx" lint --no-config -q --fail-on never -o /dev/null "$work/stream.yaml"; } 2>&1 | tail -1)
python3 -c "import sys; rss=int(sys.argv[1])*1024; b=int(sys.argv[2]); print(f'lint peak RSS {rss/1048576:.1f} MiB = {rss/b:.2f}x the input (target <= 4)')" "$rss_kb" "$bytes"
